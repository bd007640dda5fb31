#!/usr/bin/env bash
# Exports real tabular classification sets shipped in Debian's r-cran-mlbench to OUT_DIR/NAME.csv in the format of
# `--data csv:PATH`: a header, the class as an integer 0..C-1 in the first column (R's factor levels in order,
# unused levels dropped), then the features as numbers (factors by their level index; rows with a missing value
# dropped). Installs r-cran-mlbench when it is missing (scripts/setup.sh --mlbench does the same).
# Usage: scripts/export_mlbench.sh [OUT_DIR]   (default data/mlbench)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-data/mlbench}
SETS="Sonar Ionosphere PimaIndiansDiabetes BreastCancer Glass Vehicle Vowel Satellite LetterRecognition"
if ! Rscript -e 'library(mlbench)' >/dev/null 2>&1; then
  bash scripts/setup.sh --mlbench
fi
mkdir -p "$OUT"
Rscript -e '
suppressMessages(library(mlbench))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
for (name in args[-1]) {
  data(list = name)
  d <- get(name)
  d <- d[complete.cases(d), ]
  if ("Id" %in% names(d)) d$Id <- NULL              # BreastCancer: the sample code number is not a feature
  label_col <- if ("Class" %in% names(d)) "Class" else if ("classes" %in% names(d)) "classes" else
    if ("diabetes" %in% names(d)) "diabetes" else if ("Type" %in% names(d)) "Type" else
    if ("lettr" %in% names(d)) "lettr" else stop(paste("no class column in", name))
  y <- as.integer(droplevels(as.factor(d[[label_col]]))) - 1L
  x <- d[, setdiff(names(d), label_col), drop = FALSE]
  x[] <- lapply(x, function(v) if (is.factor(v)) as.numeric(as.integer(v)) else as.numeric(v))
  tmp <- file.path(out, paste0(name, ".csv.tmp"))
  write.csv(cbind(label = y, x), file = tmp, row.names = FALSE, quote = FALSE)
  file.rename(tmp, file.path(out, paste0(name, ".csv")))
  cat(sprintf("wrote %s/%s.csv (%d rows, %d features, %d classes)\n", out, name, nrow(x), ncol(x), length(unique(y))))
}
' "$OUT" $SETS
