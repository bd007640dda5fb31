#!/usr/bin/env python3
"""Training time vs N (paper 002, Figure 2 right) from bench/neuralef_1d.sh's JSONL: NeuralEF (2000 iterations,
mean over seeds) and the Nystrom method (kernel matrix + eigendecomposition) for the RBF and polynomial kernels,
log-log, written with gnuplot to the given PNG.
Usage: python3 bench/plot_neuralef_time.py bench/results/neuralef_1d.jsonl docs/img/neuralef_time_vs_n.png"""
import os
import statistics
import sys
import tempfile
from collections import defaultdict

from runs import read_runs

SERIES = ["neuralef-rbf", "nystrom-rbf", "neuralef-polynomial", "nystrom-polynomial"]


def main(path, png):
    times = defaultdict(list)
    for rec in read_runs(path):
        if rec["tag"] in SERIES:
            times[(rec["tag"], rec["result"]["n"])].append(rec["result"]["train_seconds"])
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for i, tag in enumerate(SERIES):
            rows = sorted((n, statistics.mean(ts)) for (t, n), ts in times.items() if t == tag)
            if not rows:
                continue
            dat = os.path.join(tmp, tag + ".dat")
            with open(dat, "w") as f:
                for n, t in rows:
                    f.write(f"{n} {max(t, 1e-3)}\n")
            style = "lp pt 7" if tag.startswith("neuralef") else "lp pt 5 dt 2"
            plots.append(f"'{dat}' using 1:2 with {style} lc {1 + i // 2} title '{tag}'")
        script = (f"set terminal pngcairo size 800,500 noenhanced\nset output '{png}'\nset logscale xy\n"
                  "set xlabel 'N (training points)'\nset ylabel 'seconds'\nset key left top\nset grid\n"
                  "set title 'Training time vs N: NeuralEF (2000 iterations) and Nystrom (floor 1 ms)'\n"
                  "plot " + ", ".join(plots) + "\n")
        gp = os.path.join(tmp, "plot.gp")
        with open(gp, "w") as f:
            f.write(script)
        # os.system, not subprocess: bench/select.py shadows the standard library's select module here.
        if os.system(f"gnuplot '{gp}'") != 0:
            sys.exit("gnuplot failed")
    print(png)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
