# Shared by cli_test.sh and distributed_test.sh (sourced after they set TMP): the check counters, a guard against
# commands not found, and running the named sections of a script.
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# A command that is not found (say a helper defined in another section) fails the run instead of skipping a check;
# bash runs this handler in a subshell, hence the file.
command_not_found_handle() { echo "FAIL: command not found: $1" | tee -a "$TMP/not_found" >&2; return 127; }

# run_sections DEFAULTS -- [SECTION...]: calls section_NAME for each section named after --, or for each of the
# space-separated DEFAULTS when none is; an unknown name ends the script with code 2.
run_sections() {
  local defaults=$1
  shift 2
  local name names=("$@")
  # shellcheck disable=SC2206
  [ ${#names[@]} -gt 0 ] || names=($defaults)
  for name in "${names[@]}"; do
    declare -F "section_$name" >/dev/null || { echo "$(basename "$0"): unknown section '$name'"; exit 2; }
    "section_$name"
  done
}

# report PREFIX: prints the counts; fails when a check failed or a command was not found.
report() {
  [ -s "$TMP/not_found" ] && bad "$(wc -l <"$TMP/not_found") commands not found"
  echo "$1$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
