"""Optuna's side of `studies bench search`: the same searches on the same table as Studies' side.

Reads the tabular benchmark (search-table.csv: one row per grid point and validation epoch) and
runs, for each seed, an Optuna study of BUDGET trials whose objective replays the table: the
suggested point is snapped to the nearest grid point exactly as Studies snaps it (SearchBenchmark.cs),
each validation epoch is reported, and with a pruner `should_prune` may stop it. Prints one JSON
line per search: {"sampler", "pruner", "seed", "best", "epochs"}.

A trial's value is its best validation value over its epochs, as a Studies search scores a trial
(what keep_best keeps).

Usage: search_bench.py TABLE BUDGET SEEDS SAMPLER PRUNER [FIRST_SEED]
  SAMPLER: tpe | random
  PRUNER:  none | asha:MIN_RESOURCE:REDUCTION | median:STARTUP_TRIALS:WARMUP_STEPS
"""
import csv
import json
import math
import sys

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)

LR_GRID = [3.0e-4, 1.0e-3, 3.0e-3, 1.0e-2, 3.0e-2]
WIDTH_GRID = [8, 32]
BATCH_GRID = [256, 2048]
SCHEDULES = ["bce", "punzi"]


def nearest_log(value, grid):
    return min(grid, key=lambda g: (abs(math.log(value) - math.log(g)), g))


def load(path):
    curves = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["schedule"], float(row["lr"]), int(row["width"]), int(row["depth"]), int(row["batch"]))
            value = float(row["val_headline"]) if row["val_headline"] not in ("", "nan", "NaN") else float("nan")
            curves.setdefault(key, []).append((int(row["step"]), value))
    return {k: [v for _, v in sorted(c)] for k, c in curves.items()}


def make_pruner(text):
    kind, *args = text.split(":")
    if kind == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=int(args[0]), reduction_factor=int(args[1]))
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=int(args[0]), n_warmup_steps=int(args[1]))
    return optuna.pruners.NopPruner()


def main():
    table, budget, seeds, sampler_name, pruner_name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    curves = load(table)
    for seed in range(first, first + seeds):
        epochs = 0

        def objective(trial):
            nonlocal epochs
            key = (
                trial.suggest_categorical("schedule", SCHEDULES),
                nearest_log(trial.suggest_float("lr", 3.0e-4, 3.0e-2, log=True), LR_GRID),
                nearest_log(trial.suggest_int("width", 8, 32, log=True), WIDTH_GRID),
                trial.suggest_int("depth", 1, 3),
                nearest_log(trial.suggest_int("batch", 256, 2048, log=True), BATCH_GRID),
            )
            curve = curves[key]
            best = float("inf")
            for step, value in enumerate(curve, start=1):
                epochs += 1
                if math.isnan(value):
                    return float("nan")
                best = min(best, value)
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return best

        if sampler_name == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
        else:
            sampler = optuna.samplers.RandomSampler(seed=seed)
        pruner = make_pruner(pruner_name)
        study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
        study.optimize(objective, n_trials=budget, catch=())
        done = [t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and not math.isnan(t.value)]
        print(json.dumps({"sampler": sampler_name, "pruner": pruner_name, "seed": seed, "best": min(done) if done else None, "epochs": epochs}), flush=True)


if __name__ == "__main__":
    main()
