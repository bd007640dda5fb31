#!/usr/bin/env bash
# Exports the 100,004 real MovieLens ratings shipped in Debian's r-cran-dslabs (the `movielens` data frame:
# 671 users, 9,066 movies, half-star ratings 0.5-5) to OUT_DIR/ratings.csv in the GroupLens ml-latest format
# (header userId,movieId,rating,timestamp). Installs r-cran-dslabs when it is missing (scripts/setup.sh
# --movielens does the same). Usage: scripts/export_dslabs_movielens.sh [OUT_DIR]   (default data/dslabs)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-data/dslabs}
if ! Rscript -e 'library(dslabs)' >/dev/null 2>&1; then
  bash scripts/setup.sh --movielens
fi
mkdir -p "$OUT"
tmp="$OUT/ratings.csv.tmp.$$"
Rscript -e '
suppressMessages(library(dslabs))
data(movielens)
r <- movielens[, c("userId", "movieId", "rating", "timestamp")]
r <- r[order(r$userId, r$movieId), ]
write.csv(r, file = commandArgs(trailingOnly = TRUE)[1], row.names = FALSE, quote = FALSE)
' "$tmp"
mv "$tmp" "$OUT/ratings.csv"
echo "wrote $OUT/ratings.csv ($(($(wc -l <"$OUT/ratings.csv") - 1)) ratings)"
