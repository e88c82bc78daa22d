"""Stand-in models for testing evaluation protocols: the protocols, not a model, are under test."""

import numpy as np


class MeanModel:
    """Predicts the mean of its training targets, ±1 as its interval; remembers what it was fitted on."""

    fitted_on: list = []

    def fit(self, X, y, groups=None):
        self.mean_ = float(np.mean(y))
        MeanModel.fitted_on.append(list(X))
        return self

    def predict_distribution(self, X):
        mean = np.full(len(X), self.mean_)
        return {"mean": mean, "lo": mean - 1.0, "hi": mean + 1.0, "std": np.full(len(X), 0.6)}

    def predict(self, X):
        return self.predict_distribution(X)["mean"]
