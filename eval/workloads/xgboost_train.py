# Workload "xgboost": trains a few boosting rounds on tiny synthetic data (no download) and predicts,
# again and again. READY after the first model, then loops until killed.
import numpy as np
import xgboost as xgb

rng = np.random.default_rng(3)
X = rng.normal(size=(64, 4))
y = (X[:, 0] * X[:, 2] > 0).astype(float)
dtrain = xgb.DMatrix(X, label=y)
params = {"max_depth": 2, "eta": 0.5, "objective": "binary:logistic", "nthread": 1, "verbosity": 0}


def step():
    booster = xgb.train(params, dtrain, num_boost_round=3)
    return booster.predict(dtrain)


step()
print("READY", flush=True)
while True:
    step()
