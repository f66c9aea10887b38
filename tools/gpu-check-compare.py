#!/usr/bin/env python3
"""Compares the quickstart run on cuda:0 with the one on cpu (part of tools/gpu-check.sh).

Reads two `studies export` folders. For each method (schedule x model.kind) it takes the
report's headline metric (sigma_min_best_cut) on the test split at the best epoch, averaged over
the masses, for every seed; the cuda run agrees when its seed mean lies within the cpu run's seed
spread (max - min over seeds) of the cpu seed mean. Prints one line per method and a verdict line;
exits 1 when a method disagrees or a run is incomplete. Standard library only.
"""
import csv
import os
import sys
from collections import defaultdict

METRIC = "sigma_min_best_cut"


def per_trial(folder):
    """trial_id -> mean of METRIC over masses (test split, best epoch); and trial_id -> method, seed."""
    with open(os.path.join(folder, "trials.csv"), newline="") as f:
        trials = {row["trial_id"]: row for row in csv.DictReader(f)}
    values = defaultdict(list)
    with open(os.path.join(folder, "mass_metrics.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["metric"] == METRIC and row["split"] == "test" and row["epoch_kind"] == "best":
                v = float(row["value"])
                if v == v:  # not NaN
                    values[row["trial_id"]].append(v)
    by_method = defaultdict(dict)
    incomplete = [t for t, row in trials.items() if row["state"] != "completed"]
    for trial_id, row in trials.items():
        if trial_id in values:
            method = f'{row.get("schedule", "?")} / {row.get("model.kind", "?")}'
            by_method[method][row.get("seed", "?")] = sum(values[trial_id]) / len(values[trial_id])
    return by_method, incomplete


def main():
    if len(sys.argv) != 3:
        print("usage: gpu-check-compare.py CPU_EXPORT CUDA_EXPORT", file=sys.stderr)
        return 2
    cpu, cpu_incomplete = per_trial(sys.argv[1])
    cuda, cuda_incomplete = per_trial(sys.argv[2])
    agree = 0
    print(f"{METRIC} (test, best epoch, mean over masses) per method: cpu seeds / cuda seeds")
    for method in sorted(cpu):
        c = list(cpu[method].values())
        g = list(cuda.get(method, {}).values())
        if not g:
            print(f"  {method}: no cuda result")
            continue
        mean_c, mean_g = sum(c) / len(c), sum(g) / len(g)
        spread = max(c) - min(c)
        ok = abs(mean_g - mean_c) <= spread
        agree += ok
        print(f"  {method}: cpu {' '.join(f'{v:.4f}' for v in c)} (spread {spread:.4f}); "
              f"cuda {' '.join(f'{v:.4f}' for v in g)}; |difference of means| {abs(mean_g - mean_c):.4f} "
              f"{'within' if ok else 'OUTSIDE'} the cpu seed spread")
    if cpu_incomplete or cuda_incomplete:
        print(f"  not completed: {len(cpu_incomplete)} cpu trial(s), {len(cuda_incomplete)} cuda trial(s)")
    verdict = agree == len(cpu) and not cpu_incomplete and not cuda_incomplete
    print(f"quickstart on cuda:0: {'completed, ' if not cuda_incomplete else 'INCOMPLETE, '}"
          f"{agree} of {len(cpu)} methods within the seed spread of the cpu run")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
