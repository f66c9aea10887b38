"""The PyTorch + Optuna side of `studies bench fusion`.

The same seed x learning-rate scan as the C# side: per seed the C# side writes the standardised
training, validation (trained masses) and test events of that seed's split with their BCE weights
(seed<S>_{train,selection,test}.csv); each trial trains the identical 16-8-1 tanh net (Kaiming-normal
weights, N(0,1) biases, as the dnn kind), Adam at the trial's learning rate, batch 1,024 from a seeded
shuffle, the weighted BCE sum_j w_j BCE_j / sum_j w_j, the validation loss every epoch with the best
epoch's weights kept, and at the end the ROC AUC of each mass on the test events at the best and the
last epoch (a lighter evaluation than the C# trials' per-mass metrics). An Optuna GridSampler over the
same seeds and learning rates drives it, in two processes sharing one SQLite storage.

usage: fusion_bench.py DIR STORAGE_URL STUDY SEEDS LRS EPOCHS
"""
import copy
import sys

import numpy as np
import optuna
import torch

torch.set_num_threads(1)
optuna.logging.set_verbosity(optuna.logging.WARNING)

folder, storage, name, seeds, lrs, epochs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
seeds = [int(s) for s in seeds.split(",")]
lrs = [float(x) for x in lrs.split(",")]
cache = {}


def load(seed, part):
    key = (seed, part)
    if key not in cache:
        a = np.loadtxt(f"{folder}/seed{seed}_{part}.csv", delimiter=",", skiprows=1, dtype=np.float32)
        cache[key] = (torch.from_numpy(a[:, :-3].copy()), torch.from_numpy(a[:, -3:-2].copy()), torch.from_numpy(a[:, -2:-1].copy()), a[:, -1].copy())
    return cache[key]


def auc(score, label, weight):
    order = np.argsort(score, kind="stable")
    s, w = label[order] == 1, weight[order]
    bkg_below = np.cumsum(np.where(s, 0.0, w))
    total_s, total_b = w[s].sum(), w[~s].sum()
    return float((w[s] * bkg_below[s]).sum() / (total_s * total_b)) if total_s > 0 and total_b > 0 else float("nan")


def objective(trial):
    seed = trial.suggest_categorical("seed", seeds)
    lr = trial.suggest_categorical("lr", lrs)
    torch.manual_seed(seed)
    x, y, w, _ = load(seed, "train")
    xv, yv, wv, _ = load(seed, "selection")
    xt, yt, wt, mt = load(seed, "test")
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 16), torch.nn.Tanh(), torch.nn.Linear(16, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    for layer in net:
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.kaiming_normal_(layer.weight)
            torch.nn.init.normal_(layer.bias)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    best, best_state = float("inf"), None
    for _ in range(epochs):
        net.train()
        for batch in torch.randperm(len(x)).split(1024):
            opt.zero_grad()
            wb = w[batch]
            loss = bce(net(x[batch]), y[batch], wb, reduction="sum") / wb.sum()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            validation = (bce(net(xv), yv, wv, reduction="sum") / wv.sum()).item()
        if validation < best:
            best, best_state = validation, copy.deepcopy(net.state_dict())
    results = []
    for state in (None, best_state):
        if state is not None:
            net.load_state_dict(state)
        with torch.no_grad():
            score = net(xt).numpy()[:, 0]
        per_mass = []
        for m in np.unique(mt[~np.isnan(mt)]):
            at = (mt == m) | np.isnan(mt)  # the mass's signal against all background
            per_mass.append(auc(score[at], yt.numpy()[at, 0], wt.numpy()[at, 0]))
        results.append(per_mass)
    return float(np.nanmean(results[1]))


study = optuna.load_study(study_name=name, storage=storage, sampler=optuna.samplers.GridSampler({"seed": seeds, "lr": lrs}))
study.optimize(objective, n_trials=len(seeds) * len(lrs))
