"""The PyTorch side of `studies bench engine`: the identical training on the identical data.

Called by the C# benchmark with a JSON case description; prints one JSON line with the mean
seconds per timed epoch. Uses the same libtorch (Debian's python3-torch over libtorch1.13).
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    case = json.loads(sys.argv[1])
    torch.set_num_threads(case["threads"])
    torch.manual_seed(case["seed"])
    n, d = case["events"], case["features"]
    x = torch.from_numpy(np.fromfile(case["x_path"], dtype=np.float32).reshape(n, d))
    y = torch.from_numpy(np.fromfile(case["y_path"], dtype=np.float32).reshape(n, 1))

    layers = []
    widths = [d] + case["hidden"] + [1]
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(torch.nn.Tanh() if case["activation"] == "tanh" else torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    if case["optimizer"] == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=case["lr"])
    else:
        opt = torch.optim.Adam(net.parameters(), lr=case["lr"])

    batch = case["batch"] or n

    def epoch():
        order = torch.randperm(n)
        for start in range(0, n, batch):
            if batch == n:
                xb, yb = x, y
            else:
                idx = order.narrow(0, start, min(batch, n - start))
                xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(net(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()

    for _ in range(case["warmup"]):
        epoch()
    start = time.perf_counter()
    for _ in range(case["epochs"]):
        last = epoch()
    seconds = (time.perf_counter() - start) / case["epochs"]
    print(json.dumps({"seconds_per_epoch": seconds, "last_loss": last}))


if __name__ == "__main__":
    main()
