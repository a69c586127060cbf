# Workload "scikit-learn": fits and predicts a random forest, an SVM, a logistic regression and k-means on
# tiny synthetic data, one model per step in turn. READY after one round, then loops until killed.
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

warnings.filterwarnings("ignore")
rng = np.random.default_rng(2)
X = rng.normal(size=(40, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
models = [
    lambda: RandomForestClassifier(n_estimators=2, max_depth=3, n_jobs=1, random_state=0),
    lambda: SVC(kernel="rbf", C=1.0),
    lambda: LogisticRegression(max_iter=20),
    lambda: KMeans(n_clusters=2, n_init=1, max_iter=5, random_state=0),
]


def step(i):
    m = models[i % len(models)]()
    m.fit(X, y)
    return m.predict(X[:5])


for i in range(len(models)):
    step(i)
print("READY", flush=True)
i = 0
while True:
    step(i)
    i += 1
