"""Fitting a bag of LightGBM models, one model per job on one thread, in worker processes
(:func:`predictor.estimators.parallel.run_jobs`).

A job (:func:`fit_member`: one LightGBM model, returned as its model text) needs only NumPy
arrays, so that a worker imports LightGBM, not the featurisers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

def fit_member(features: np.ndarray, y: np.ndarray, params: dict, n_rounds: int, min_data_in_bin: int,
               noise_scale: np.ndarray | None = None, noise_seed: int = 0) -> str:
    """One LightGBM model on one thread, as LightGBM's model text.

    ``noise_scale`` (per descriptor, shape (n_features,)): the standard deviation of the Gaussian
    noise added to every training descriptor value, drawn anew for each member (``noise_seed``).
    """
    import lightgbm as lgb

    if noise_scale is not None:
        features = features + noise_scale * np.random.default_rng(noise_seed).standard_normal(features.shape)
    data = lgb.Dataset(features, label=y, free_raw_data=True,
                       params={"verbosity": -1, "min_data_in_bin": int(min_data_in_bin)})
    booster = lgb.train({**params, "num_threads": 1}, data, num_boost_round=int(n_rounds))
    return booster.model_to_string()


def load_boosters(model_texts: Iterable[str]) -> list:
    """LightGBM boosters from model texts."""
    import lightgbm as lgb

    return [lgb.Booster(model_str=text) for text in model_texts]


def finite_leaves(text: str) -> bool:
    """True when no ``leaf_value=`` line of a LightGBM model text holds nan or inf (LightGBM writes them so).

    A line-by-line search with ``str.find``: a regular expression took 0.6 s on the shipped models'
    24 MB of model text, this 0.03 s.
    """
    start = text.find("\nleaf_value=")
    while start != -1:
        end = text.find("\n", start + 1)
        line = text[start:end].lower()
        if "nan" in line or "inf" in line:
            return False
        start = text.find("\nleaf_value=", end)
    return True


def parse_boosters(model_texts: Sequence[str], names: Sequence[str]) -> list:
    """LightGBM boosters from model texts, each checked for LightGBM's header and end marker first.

    Raises
    ------
    ValueError
        Naming the first text that is not a complete LightGBM model (LightGBM's own parser
        reports a damaged file with an obscure message, or not at all), or whose leaf values
        are not finite numbers (a tree would predict NaN).
    """
    for text, name in zip(model_texts, names):
        if not (text.startswith("tree\n") and "\nversion=" in text[:200] and "\nend of trees\n" in text):
            raise ValueError(f"{name} is not a complete LightGBM model text")
        if not finite_leaves(text):
            raise ValueError(f"{name} holds leaf values that are not finite numbers (NaN or infinite)")
    return load_boosters(model_texts)


def bag_predictions(boosters: Sequence, booster_input: np.ndarray) -> np.ndarray:
    """Every member's prediction, shape (n_members, n_samples), one thread each."""
    return np.stack([b.predict(booster_input, num_threads=1) for b in boosters])
