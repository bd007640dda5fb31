#!/usr/bin/env bash
# record_one.sh FILE TAG ARGS...: one `record` of bench/lib.sh (for xargs -P parallel sweeps).
cd "$(dirname "$0")/.."
source bench/lib.sh
record "$@"
