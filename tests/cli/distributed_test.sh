#!/usr/bin/env bash
# Multi-process training end to end (docs/DISTRIBUTED.md): 2-3 processes of the rkhs binary on 127.0.0.1 with
# bounded timeouts. The same curve as one process; rank 0 alone writes; --resume with the same world size; and
# the faults: a peer that never arrives, a port in use, ranks with different configurations, a killed rank, a
# command or optimizer that is not data-parallel. Usage: distributed_test.sh PATH/TO/rkhs [SECTION...]: the sections
# named (classify, systems, optimizers), all without one; CTest runs each as its own entry (distributed_SECTION).
# Section bodies are not indented, to keep their lines short.
set -u
RKHS="$1"
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
last_json() { tail -n 1 "$1"; }

# compare_runs NAME ONE.json MANY.json: the same epochs, training losses within 1e-5 (relative), the same
# accuracies up to one example, world sizes 1 and >1.
compare_runs() {
  local why
  why=$($PY - "$2" "$3" <<'EOF'
import json, sys
a = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
b = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
msgs = []
if a["world_size"] != 1 or b["world_size"] < 2: msgs.append("world sizes %s, %s" % (a["world_size"], b["world_size"]))
if len(a["history"]) != len(b["history"]): msgs.append("epochs differ")
for x, y in zip(a["history"], b["history"]):
    if abs(x["train_loss"] - y["train_loss"]) > 1e-5 * max(1.0, abs(x["train_loss"])):
        msgs.append("epoch %d loss %r vs %r" % (x["epoch"], x["train_loss"], y["train_loss"]))
    if abs(x["train_accuracy"] - y["train_accuracy"]) > 1.5 / a["train"]["n"]:
        msgs.append("epoch %d train accuracy %r vs %r" % (x["epoch"], x["train_accuracy"], y["train_accuracy"]))
if abs(a["test_accuracy"] - b["test_accuracy"]) > 1.5 / a["test"]["n"]: msgs.append("test accuracy differs")
if not (b["comm_seconds"] > 0 and b["examples_per_second_per_rank"] > 0): msgs.append("no throughput/communication")
print("; ".join(msgs))
EOF
)
  [ -z "$why" ] && ok || bad "$1: $why"
}

# expect_line NAME PATTERN FILE RC: a command that ended with code RC = 1 and wrote one line matching PATTERN to FILE.
expect_line() {
  local name="$1" pattern="$2" file="$3" rc="$4"
  if [ "$rc" -ne 1 ]; then bad "$name: exit code $rc ($(head -c 300 "$file"))"; return; fi
  if [ "$(wc -l <"$file")" -ne 1 ]; then bad "$name: not one line: $(cat "$file")"; return; fi
  grep -qE "$pattern" "$file" && ok || bad "$name: '$(cat "$file")' does not match '$pattern'"
}

# A constant rate: a run resumed with more epochs than its first part follows the same schedule as one run.
ARGS=(classify --data sphere --train-size 1200 --test-size 1000 --epochs 3 --lr 0.05 --schedule constant --batch-size 100
      --seed 3 --json)

# Batches of 33 leave uneven shares to 2 and 3 processes.
UNEVEN=(classify --data sphere --model mlp --hidden 16 --train-size 500 --test-size 301 --epochs 2 --lr 0.05
        --batch-size 33 --seed 4 --json)

# ---- classify: the curve of 1, 2 and 3 processes, --resume, and the faults
section_classify() {
# 1. One process vs two and three: the same curve (each rank takes its share of each global batch). The MLP
#    backbone has no batch norm, so the curves agree up to summation order; batch 33 leaves uneven shares.
"$RKHS" "${ARGS[@]}" >"$TMP/one.json" 2>"$TMP/one.err" || bad "one process: $(cat "$TMP/one.err")"
"$RKHS" launch --nproc 2 -- "${ARGS[@]}" --out "$TMP/run2" >"$TMP/two.json" 2>"$TMP/two.err" \
  || bad "launch 2: $(tail -n 3 "$TMP/two.err")"
compare_runs "1 vs 2 processes" "$TMP/one.json" "$TMP/two.json"
[ "$(grep -c '^{' "$TMP/two.json")" -eq 1 ] && ok || bad "launch 2: $(grep -c '^{' "$TMP/two.json") JSON lines, expected 1 (rank 0 only)"
[ -f "$TMP/run2/config.json" ] && [ -f "$TMP/run2/model.pt" ] && ok || bad "launch 2: rank 0 did not write the run folder"
"$RKHS" "${UNEVEN[@]}" >"$TMP/u1.json" 2>/dev/null || bad "uneven: one process failed"
"$RKHS" launch --nproc 3 --threads-per-proc 1 -- "${UNEVEN[@]}" >"$TMP/u3.json" 2>"$TMP/u3.err" \
  || bad "launch 3: $(tail -n 3 "$TMP/u3.err")"
compare_runs "1 vs 3 processes, uneven shares" "$TMP/u1.json" "$TMP/u3.json"
# The gradients summed after the backward pass (--no-dist-overlap) instead of during it (c10d's Reducer, the
# default above): the same curve. A global batch of 2 in 3 processes leaves one rank an empty share each step.
"$RKHS" launch --nproc 2 --threads-per-proc 1 -- "${UNEVEN[@]}" --no-dist-overlap >"$TMP/u2.json" 2>"$TMP/u2.err" \
  || bad "--no-dist-overlap: $(tail -n 3 "$TMP/u2.err")"
compare_runs "1 vs 2 processes, --no-dist-overlap" "$TMP/u1.json" "$TMP/u2.json"
TINY=(classify --data sphere --model mlp --hidden 8 --train-size 40 --test-size 101 --epochs 2 --lr 0.05 --batch-size 2
      --seed 4 --json)
"$RKHS" "${TINY[@]}" >"$TMP/t1.json" 2>/dev/null || bad "batch of 2: one process failed"
"$RKHS" launch --nproc 3 --threads-per-proc 1 -- "${TINY[@]}" >"$TMP/t3.json" 2>"$TMP/t3.err" \
  || bad "batch of 2 in 3 processes: $(tail -n 3 "$TMP/t3.err")"
compare_runs "1 vs 3 processes, a batch of 2 (an empty share)" "$TMP/t1.json" "$TMP/t3.json"

# 2. --resume with the same world size continues the curve; another world size is one readable line.
CK=(classify --data sphere --train-size 1200 --test-size 1000 --lr 0.05 --schedule constant --batch-size 100 --seed 3 --json
    --checkpoint "$TMP/ck.pt")
"$RKHS" launch --nproc 2 -- "${CK[@]}" --epochs 2 >/dev/null 2>&1 || bad "checkpointed run failed"
"$RKHS" launch --nproc 2 -- "${CK[@]}" --epochs 3 --resume >"$TMP/resumed.json" 2>"$TMP/resumed.err" \
  || bad "resume: $(tail -n 2 "$TMP/resumed.err")"
$PY -c "import json,sys; j=json.loads(open('$TMP/resumed.json').read().splitlines()[-1]); sys.exit(not (j['epochs_run']==1 and len(j['history'])==3))" \
  && ok || bad "resume: not 1 more epoch of 3"
compare_runs "resumed 2-process run vs one process" "$TMP/one.json" "$TMP/resumed.json"
"$RKHS" "${CK[@]}" --epochs 3 --resume >/dev/null 2>"$TMP/e"
[ $? -eq 1 ] && grep -q "same world size" "$TMP/e" && ok || bad "resume with another world size: $(cat "$TMP/e")"

# 3. A peer that never arrives (WORLD_SIZE=2, one process): an error within the timeout, on either side.
PORT=$(free_port)
start=$(date +%s)
WORLD_SIZE=2 RANK=0 MASTER_PORT=$PORT timeout 60 "$RKHS" "${ARGS[@]}" --dist-timeout 2 >/dev/null 2>"$TMP/e"
expect_line "rank 0 alone" "did all WORLD_SIZE=2 ranks start" "$TMP/e" $?
WORLD_SIZE=2 RANK=1 MASTER_PORT=$PORT timeout 60 "$RKHS" "${ARGS[@]}" --dist-timeout 2 >/dev/null 2>"$TMP/e"
expect_line "rank 1 alone" "rendezvous at 127.0.0.1:$PORT failed within 2 s.*is rank 0 running" "$TMP/e" $?
[ $(($(date +%s) - start)) -lt 40 ] && ok || bad "the missing peers took $(($(date +%s) - start)) s to report"
WORLD_SIZE=2 "$RKHS" "${ARGS[@]}" >/dev/null 2>"$TMP/e"
expect_line "WORLD_SIZE without RANK" "RANK is not" "$TMP/e" $?
WORLD_SIZE=2 RANK=2 "$RKHS" "${ARGS[@]}" >/dev/null 2>"$TMP/e"
expect_line "RANK out of range" "RANK='2'" "$TMP/e" $?

# 4. A port in use.
$PY - "$RKHS" >"$TMP/e" 2>&1 <<'EOF'
import os, socket, subprocess, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
env = dict(os.environ, WORLD_SIZE="2", RANK="0", MASTER_PORT=str(s.getsockname()[1]))
r = subprocess.run([sys.argv[1], "classify", "--data", "sphere", "--epochs", "1", "--dist-timeout", "5"], env=env,
                   capture_output=True, text=True, timeout=60)
sys.stderr.write(r.stderr); sys.exit(r.returncode)
EOF
expect_line "port in use" "port is in use" "$TMP/e" $?

# 5. Ranks with different configurations: each stops, naming the difference.
PORT=$(free_port)
WORLD_SIZE=2 RANK=1 MASTER_PORT=$PORT timeout 60 "$RKHS" "${ARGS[@]}" --lr 0.2 --dist-timeout 20 >/dev/null 2>"$TMP/e1" &
WORLD_SIZE=2 RANK=0 MASTER_PORT=$PORT timeout 60 "$RKHS" "${ARGS[@]}" --dist-timeout 20 >/dev/null 2>"$TMP/e0"
rc0=$?
wait $!
rc1=$?
expect_line "mismatch, rank 0" "rank 1's configuration differs.*\"lr\":0.2" "$TMP/e0" $rc0
expect_line "mismatch, rank 1" "rank 1's configuration differs" "$TMP/e1" $rc1

# 6. A killed rank: the launcher reports it, stops the others and exits non-zero; rank 0 names the failure.
LONG=(classify --data sphere --train-size 20000 --test-size 1000 --epochs 500 --lr 0.05 --dist-timeout 60)
start=$(date +%s)
"$RKHS" launch --nproc 2 --threads-per-proc 1 -- "${LONG[@]}" >"$TMP/k.out" 2>"$TMP/k.err" &
launcher=$!
(sleep 100; kill "$launcher" 2>/dev/null) &
watchdog=$!
for _ in $(seq 1 100); do grep -q "epoch 1/" "$TMP/k.err" 2>/dev/null && break; sleep 0.2; done
victim=""
for _ in $(seq 1 50); do  # the launcher's child whose environment has RANK=1
  victim=$(pgrep -P "$launcher" | while read -r p; do tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx RANK=1 && echo "$p"; done)
  [ -n "$victim" ] && break
  sleep 0.2
done
if [ -n "$victim" ]; then kill -9 "$victim"; else bad "killed rank: rank 1 not found"; fi
wait "$launcher"
rc=$?
kill "$watchdog" 2>/dev/null
[ "$rc" -ne 0 ] && [ "$rc" -ne 143 ] && ok || bad "killed rank: launcher exit code $rc"
grep -q "rank 1 exited with code 137" "$TMP/k.err" && ok || bad "killed rank: launcher did not name rank 1: $(tail -n 3 "$TMP/k.err")"
# Rank 0 either reports the broken collective itself or is stopped by the launcher's SIGTERM first (a race under
# load); either way it has ended: no "[rank 0]" line may follow the launcher's.
if grep -qE "^\[rank 0\] rkhs: error: distributed: .*failed on rank 0 of 2" "$TMP/k.err" ||
   [ "$(sed -n '/rkhs launch: rank 1 exited/,$p' "$TMP/k.err" | grep -c '^\[rank 0\] epoch')" -eq 0 ]; then ok
else bad "killed rank: rank 0 went on: $(tail -n 3 "$TMP/k.err")"; fi
[ $(($(date +%s) - start)) -lt 90 ] && ok || bad "killed rank: took $(($(date +%s) - start)) s"

# 6b. The same without the launcher (as under a cluster's own scheduler): nobody stops rank 0, so it must notice
# the dead peer by itself and end with code 1 and one line naming the failed collective, within the timeout.
NOLAUNCH=(classify --data sphere --train-size 20000 --test-size 1000 --epochs 500 --lr 0.05 --threads 1 --dist-timeout 20)
PORT=$(free_port)
WORLD_SIZE=2 RANK=1 MASTER_PORT=$PORT "$RKHS" "${NOLAUNCH[@]}" >/dev/null 2>"$TMP/n1" &
peer=$!
WORLD_SIZE=2 RANK=0 MASTER_PORT=$PORT timeout 100 "$RKHS" "${NOLAUNCH[@]}" >/dev/null 2>"$TMP/n0" &
rank0=$!
for _ in $(seq 1 250); do grep -q "epoch 1/" "$TMP/n0" 2>/dev/null && break; sleep 0.2; done
grep -q "epoch 1/" "$TMP/n0" && ok || bad "no launcher: rank 0 did not start training: $(tail -n 2 "$TMP/n0")"
start=$(date +%s)
kill -9 "$peer"
wait "$peer" 2>/dev/null
wait "$rank0"
rc=$?
[ "$rc" -eq 1 ] && ok || bad "no launcher: rank 0 exit code $rc (124: it hung until timeout stopped it)"
[ "$(grep -c "rkhs: error" "$TMP/n0")" -eq 1 ] && grep -qE "^rkhs: error: distributed: .*failed on rank 0 of 2" "$TMP/n0" \
  && ok || bad "no launcher: rank 0 did not name the failure: $(tail -n 2 "$TMP/n0")"
[ $(($(date +%s) - start)) -lt 40 ] && ok || bad "no launcher: rank 0 took $(($(date +%s) - start)) s to stop"
}

# ---- ckn, embed, eigen and recommend in 1 vs several processes
section_systems() {
# 7. rkhs ckn in 1 vs 2 and 3 processes: each rank samples the patches of its chunks of 256 images, assigns its share
#    of them in k-means and extracts its share of the features; the filters, the cross-validation and the
#    accuracies are one process's up to summation order. Rank 0 alone reports.
awk 'BEGIN { srand(5); for (n = 0; n < 700; n++) { c = n % 2; ph = rand() * 6.28; line = c;
  for (i = 0; i < 8; i++) for (j = 0; j < 8; j++) line = line "," sprintf("%.4f", sin((c ? j : i) * 1.57 + ph) + 0.6 * (rand() - 0.5));
  print line } }' >"$TMP/stripes.csv"
CKN=(ckn --data "csv:$TMP/stripes.csv" --image-shape 1x8x8 --filters 4,8 --patch 3 --subsample 2,2 --patches 1500
     --lambdas 0.01,0.001 --seed 2 --json)
"$RKHS" "${CKN[@]}" --out "$TMP/ckn1" >"$TMP/c1.json" 2>"$TMP/c1.err" || bad "ckn, one process: $(tail -n 2 "$TMP/c1.err")"
for np in 2 3; do
  "$RKHS" launch --nproc $np -- "${CKN[@]}" --out "$TMP/ckn$np" >"$TMP/c$np.json" 2>"$TMP/c$np.err" \
    || bad "ckn, $np processes: $(tail -n 2 "$TMP/c$np.err")"
  why=$($PY - "$TMP/c1.json" "$TMP/c$np.json" "$TMP/ckn1/filters.dat" "$TMP/ckn$np/filters.dat" $np <<'EOF2'
import json, math, sys
a, b = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:3])
fa, fb = ([float(v) for v in open(f).read().split() if v != "NaN"] for f in sys.argv[3:5])
msgs = []
if a["world_size"] != 1 or b["world_size"] != int(sys.argv[5]) or not b["comm_seconds"] > 0: msgs.append("world sizes/comm")
if any(abs(x - y) > 1e-5 for x, y in zip(a["kmeans_cosine"], b["kmeans_cosine"])): msgs.append("k-means %r vs %r" % (a["kmeans_cosine"], b["kmeans_cosine"]))
if len(fa) != len(fb) or max(abs(x - y) for x, y in zip(fa, fb)) > 1e-4: msgs.append("first-layer filters differ")
if a["lambda"] != b["lambda"]: msgs.append("lambda %r vs %r" % (a["lambda"], b["lambda"]))
if abs(a["test_accuracy"] - b["test_accuracy"]) > 1.5 / a["test_size"]: msgs.append("test accuracy %r vs %r" % (a["test_accuracy"], b["test_accuracy"]))
print("; ".join(msgs))
EOF2
)
  [ -z "$why" ] && ok || bad "ckn 1 vs $np processes: $why"
  [ "$(grep -c '^{' "$TMP/c$np.json")" -eq 1 ] && ok || bad "ckn, $np processes: not one JSON line"
done
# The supervised CKN: each rank takes its share of every batch of 64 (10 images a rank for the last one); the
# refitted classifier is rank 0's on every rank; the loss of each epoch is one process's.
SUP=("${CKN[@]}" --mode supervised --epochs 2 --batch-size 64 --lambdas 0.01 --validation-fraction 0.2)
"$RKHS" "${SUP[@]}" >"$TMP/s1.json" 2>"$TMP/s1.err" || bad "supervised ckn, one process: $(tail -n 2 "$TMP/s1.err")"
"$RKHS" launch --nproc 2 -- "${SUP[@]}" >"$TMP/s2.json" 2>"$TMP/s2.err" || bad "supervised ckn, 2 processes: $(tail -n 2 "$TMP/s2.err")"
why=$($PY - "$TMP/s1.json" "$TMP/s2.json" <<'EOF2'
import json, sys
a, b = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:3])
msgs = []
if b["world_size"] != 2: msgs.append("world size %r" % b["world_size"])
for key in ("supervised_loss", "supervised_start_loss"):
    if len(a[key]) != 2 or any(abs(x - y) > 1e-4 * max(1.0, abs(x)) for x, y in zip(a[key], b[key])):
        msgs.append("%s %r vs %r" % (key, a[key], b[key]))
if a["supervised_best_epoch"] != b["supervised_best_epoch"]: msgs.append("best epochs differ")
if abs(a["test_accuracy"] - b["test_accuracy"]) > 1.5 / a["test_size"]: msgs.append("test accuracy %r vs %r" % (a["test_accuracy"], b["test_accuracy"]))
print("; ".join(msgs))
EOF2
)
[ -z "$why" ] && ok || bad "supervised ckn 1 vs 2 processes: $why"
"$RKHS" launch --nproc 2 -- "${CKN[@]}" --baseline linear >/dev/null 2>"$TMP/e"
[ $? -eq 1 ] && grep -q "runs in one process only" "$TMP/e" && ok || bad "ckn baseline under launch: $(cat "$TMP/e")"

# 8. rkhs embed in 1 vs 2 processes: the same loss per epoch (each rank takes its share of each batch of 100) and
#    the same test accuracy; rank 0 alone writes the embedding.
EMB=(embed --data moons --train-size 700 --test-size 300 --epochs 2 --batch-size 100 --grid 4 --encoder 8 --decoder 8 --seed 5
     --json)
"$RKHS" "${EMB[@]}" --out "$TMP/emb1" >"$TMP/m1.json" 2>"$TMP/m1.err" || bad "embed, one process: $(tail -n 2 "$TMP/m1.err")"
"$RKHS" launch --nproc 2 -- "${EMB[@]}" --out "$TMP/emb2" >"$TMP/m2.json" 2>"$TMP/m2.err" \
  || bad "embed, 2 processes: $(tail -n 2 "$TMP/m2.err")"
why=$($PY - "$TMP/m1.json" "$TMP/m2.json" <<'EOF2'
import json, sys
a, b = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:3])
msgs = []
if a["world_size"] != 1 or b["world_size"] != 2: msgs.append("world sizes")
if len(a["train_loss"]) != 2 or any(abs(x - y) > 1e-4 * max(1.0, abs(x)) for x, y in zip(a["train_loss"], b["train_loss"])):
    msgs.append("losses %r vs %r" % (a["train_loss"], b["train_loss"]))
if abs(a["test_accuracy"] - b["test_accuracy"]) > 1.5 / 300: msgs.append("test accuracy %r vs %r" % (a["test_accuracy"], b["test_accuracy"]))
print("; ".join(msgs))
EOF2
)
[ -z "$why" ] && ok || bad "embed 1 vs 2 processes: $why"
[ -f "$TMP/emb2/embedding.csv" ] && [ "$(grep -c '^{' "$TMP/m2.json")" -eq 1 ] && ok || bad "embed, 2 processes: rank 0's outputs"

# 9. rkhs eigen in 1 vs several processes. NeuralEF (2 and 3 processes): each rank forwards its share of every
#    batch of 100 points; the L2BN norms, R = Psi^T K Psi and the norms' part of the gradient are summed over the
#    ranks (the one-process run takes the hand-written backward, CPU loops and CpuAdam; several processes take
#    autograd and LibTorch's Adam, so this also checks one path against the other). SpIN: Sigma, Pi and their
#    Jacobians summed over the ranks' rows. Nystrom with a Monte Carlo kernel:
#    the reference's features by row blocks, gathered. The EMA eigenvalues, the final and the reference ones are
#    one process's up to summation order.
EIG=(eigen --kernel rbf --data uniform1d --n 400 --k 3 --iterations 200 --batch-size 100 --seed 1 --json)
SPIN=(eigen --method spin --kernel rbf --data uniform1d --n 400 --k 3 --iterations 100 --batch-size 100 --seed 1 --json)
NYS=(eigen --method nystrom --kernel nngp-mlp --mc-samples 300 --data uniform1d --n 301 --heldout 50 --k 3 --seed 1 --json)
check_eigen() {  # name, one-process JSON, N-process JSON, N, keys...
  local name=$1 one=$2 many=$3 np=$4
  shift 4
  why=$($PY - "$one" "$many" "$np" "$@" <<'EOF2'
import json, sys
a, b = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:3])
msgs = []
if a["world_size"] != 1 or b["world_size"] != int(sys.argv[3]): msgs.append("world sizes")
for key in sys.argv[4:]:
    if len(a[key]) != 3 or any(abs(x - y) > 1e-3 * abs(x) for x, y in zip(a[key], b[key])):
        msgs.append("%s %r vs %r" % (key, a[key], b[key]))
print("; ".join(msgs))
EOF2
)
  [ -z "$why" ] && ok || bad "$name 1 vs $np processes: $why"
  [ "$(grep -c '^{' "$many")" -eq 1 ] && ok || bad "$name, $np processes: not one JSON line"
}
run_eigen() {  # name, tag, nproc, command...
  local name=$1 tag=$2 np=$3
  shift 3
  if [ "$np" -eq 1 ]; then "$RKHS" "$@" >"$TMP/$tag$np.json" 2>"$TMP/$tag$np.err"
  else "$RKHS" launch --nproc "$np" -- "$@" >"$TMP/$tag$np.json" 2>"$TMP/$tag$np.err"; fi \
    || bad "$name, $np processes: $(tail -n 2 "$TMP/$tag$np.err")"
}
run_eigen eigen g 1 "${EIG[@]}"
for np in 2 3; do
  run_eigen eigen g $np "${EIG[@]}"
  check_eigen eigen "$TMP/g1.json" "$TMP/g$np.json" $np ema_eigenvalues eigenvalues
done
for np in 1 2; do run_eigen spin p $np "${SPIN[@]}"; done
check_eigen spin "$TMP/p1.json" "$TMP/p2.json" 2 ema_eigenvalues eigenvalues
for np in 1 3; do run_eigen nystrom y $np "${NYS[@]}"; done
check_eigen "nystrom (Monte Carlo kernel)" "$TMP/y1.json" "$TMP/y3.json" 3 reference_eigenvalues eigenvalues

# 10. rkhs recommend in 1 vs 2 processes: each rank's squared errors are those of its share of the items (the
#     AutoRec's rows); the summed objective and gradient drive the same L-BFGS on every rank, through the default
#     lambda2 search: the same loss per outer loop, chosen lambda2 and test RMSE.
{
  echo "userId,movieId,rating,timestamp"
  for u in $(seq 1 30); do for i in $(seq 1 41); do
    [ $(((u + i) % 3)) -ne 0 ] && echo "$u,$((i * 10)),$((1 + (u * 7 + i * 3) % 5)),1000"
  done; done
} >"$TMP/ratings.csv"
REC=(recommend --data "movielens:$TMP/ratings.csv" --model sparse-fc --layers 1 --hidden 8 --outer-loops 2
     --lbfgs-iterations 10 --validation-fraction 0.2 --seed 2 --json)
"$RKHS" "${REC[@]}" >"$TMP/r1.json" 2>"$TMP/r1.err" || bad "recommend, one process: $(tail -n 2 "$TMP/r1.err")"
"$RKHS" launch --nproc 2 -- "${REC[@]}" >"$TMP/r2.json" 2>"$TMP/r2.err" || bad "recommend, 2 processes: $(tail -n 2 "$TMP/r2.err")"
why=$($PY - "$TMP/r1.json" "$TMP/r2.json" <<'EOF2'
import json, sys
a, b = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:3])
msgs = []
if a["world_size"] != 1 or b["world_size"] != 2: msgs.append("world sizes")
la, lb = [h["loss"] for h in a["history"]], [h["loss"] for h in b["history"]]
if not la or len(la) != len(lb) or any(abs(x - y) > 1e-3 * abs(x) for x, y in zip(la, lb)): msgs.append("losses %r vs %r" % (la, lb))
if a["lambda2"] != b["lambda2"]: msgs.append("lambda2 %r vs %r" % (a["lambda2"], b["lambda2"]))
if abs(a["test_rmse"] - b["test_rmse"]) > 1e-3: msgs.append("test RMSE %r vs %r" % (a["test_rmse"], b["test_rmse"]))
print("; ".join(msgs))
EOF2
)
[ -z "$why" ] && ok || bad "recommend 1 vs 2 processes: $why"
}

# ---- the optimizers of paper 001 and L-BFGS; what does not run data-parallel
section_optimizers() {
# 11. What does not run data-parallel says so; the launcher exits with its workers' code.
WORLD_SIZE=2 RANK=0 "$RKHS" demo >/dev/null 2>"$TMP/e"
expect_line "demo is single-process" "one process only" "$TMP/e" $?
# Kernel SGD: the summed gradient preconditioned by the global batch's inverse kernel matrix on every rank, with
# the paper's fixed batches (inverses computed once) and with fresh batches (one inverse per step): one process's
# curve. ESGD and AdaHessian: rank 0's probe vectors, the Hessian-vector products summed with the gradients;
# L-BFGS: the objective and gradient of every evaluation summed. The same curves as one process too. L-BFGS is
# checked on one batch (its first step, up to 20 evaluations): over many mini-batches its path branches on
# summation-order differences (a rejected curvature pair, a tolerance met one evaluation earlier), measured.
ONE_BATCH=(classify --data sphere --model mlp --hidden 16 --train-size 33 --test-size 301 --epochs 2 --lr 0.05
           --batch-size 33 --weight-decay 0 --seed 4 --json)
for opt in "kernel-sgd" "kernel-sgd --kernel-sgd-fresh-batches" "esgd --esgd-update-every 2" adahessian lbfgs; do
  args=("${UNEVEN[@]}")
  [ "$opt" = lbfgs ] && args=("${ONE_BATCH[@]}")
  # shellcheck disable=SC2086
  "$RKHS" "${args[@]}" --optimizer $opt >"$TMP/k1.json" 2>/dev/null || bad "$opt: one process failed"
  # shellcheck disable=SC2086
  "$RKHS" launch --nproc 2 -- "${args[@]}" --optimizer $opt >"$TMP/k2.json" 2>"$TMP/k2.err" \
    || bad "$opt, 2 processes: $(tail -n 2 "$TMP/k2.err")"
  compare_runs "$opt, 1 vs 2 processes" "$TMP/k1.json" "$TMP/k2.json"
done
"$RKHS" launch --nproc 2 -- classify --data nosuch >/dev/null 2>"$TMP/e"
rc=$?
[ "$rc" -eq 1 ] && grep -q "^\[rank 1\] rkhs: error: unknown data" "$TMP/e" && ok || bad "launch of a bad command: rc $rc $(cat "$TMP/e")"
"$RKHS" launch --nproc 2 >/dev/null 2>&1
[ $? -ne 0 ] && ok || bad "launch without a command accepted"
}

run_sections "classify systems optimizers" -- "${@:2}"
report "distributed: "
