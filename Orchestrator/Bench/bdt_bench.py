"""One XGBoost side of `studies bench bdt`: reads the training and test arrays the C# side wrote
(raw little-endian float32 / uint8 files, read with numpy.fromfile, so both sides train on
bit-identical values), trains with the hist method on the same settings, writes the test
margins and prints {"seconds": ...} as its last line. Seconds cover the DMatrix and the boosting,
as the C# side's cover building ML.NET's data view and the fit."""
import json
import sys
import time

import numpy as np
import xgboost as xgb

a = json.loads(sys.argv[1])
cols = a["columns"]
x = np.fromfile(a["x_train"], dtype="<f4").reshape(-1, cols)
y = np.fromfile(a["y_train"], dtype=np.uint8).astype(np.float32)
w = np.fromfile(a["w_train"], dtype="<f4")
xt = np.fromfile(a["x_test"], dtype="<f4").reshape(-1, cols)
params = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "grow_policy": "depthwise",
    "max_depth": a["depth"],
    "eta": a["learning_rate"],
    "max_bin": a["bins"],
    "nthread": a["threads"],
    "lambda": 1.0,
    "min_child_weight": 1.0,
    "base_score": 0.5,
    "seed": 1,
}
start = time.perf_counter()
train = xgb.DMatrix(x, label=y, weight=w, nthread=a["threads"])
booster = xgb.train(params, train, num_boost_round=a["trees"])
seconds = time.perf_counter() - start
margins = booster.predict(xgb.DMatrix(xt, nthread=a["threads"]), output_margin=True).astype("<f8")
margins.tofile(a["out"])
print(json.dumps({"seconds": seconds, "trees": a["trees"]}))
