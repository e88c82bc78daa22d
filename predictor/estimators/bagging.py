"""Fitting a bag of LightGBM models and its smooth surrogate, in worker processes.

Why processes: LightGBM parallelises one model over OpenMP threads, which wait on each other
as soon as another CPU-bound process shares the cores (measured on 2 cores: a 2-member fit took
50 s with 2 threads beside other work against 2.5 s with 1). Here every model is fitted on one
thread and the models of a bag (and of the calibration folds) are spread over ``n_jobs``
processes, the scikit-learn way: ``n_jobs=None`` or 1 fits in the calling process, -1 uses
every core the process may run on.

The work is split into jobs that only need NumPy arrays and model text, so that a worker
imports LightGBM (and PyTorch for the surrogate), not the featurisers:

- :func:`fit_member`: one LightGBM model, returned as its model text;
- :func:`fit_surrogate`: the smooth surrogate of a bag (:mod:`.smooth`) from the bag's model
  texts and the descriptors of the points it learns on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

import numpy as np

#: Added to the ensemble spread before its logarithm is learnt by the surrogate (target units).
SPREAD_FLOOR = 1e-3


def effective_n_jobs(n_jobs: int | None) -> int:
    """Worker processes for ``n_jobs`` (None -> 1, -1 -> every usable core, -2 -> all but one)."""
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs=0 is not a number of processes: use None or 1 (serial), k > 1 or -1 (all cores)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores + 1 + n_jobs) if n_jobs < 0 else n_jobs


def run_jobs(function: Callable, jobs: Sequence[tuple], n_jobs: int | None,
             on_done: Callable[[], None] | None = None, preload: Sequence[str] = ()) -> list:
    """``[function(*job) for job in jobs]``, in ``n_jobs`` worker processes; results in job order.

    ``on_done`` is called once per finished job (progress bars). ``preload``: modules each
    worker imports when it starts. Why: loky, the process pool used here, restarts a worker
    whose memory grew by more than 300 MB since its first job (its leak check); a worker whose
    first job fitted trees and whose second imported PyTorch and the featurisers was restarted
    after every such job (measured: the 6 surrogate fits of a conductivity model took as long on
    2 processes as on 1). Imported at start, the libraries are part of the reference size.
    """
    workers = min(effective_n_jobs(n_jobs), len(jobs))
    if workers <= 1:
        results = []
        for job in jobs:
            results.append(function(*job))
            if on_done:
                on_done()
        return results
    from concurrent.futures import as_completed

    from joblib.externals.loky import get_reusable_executor

    executor = get_reusable_executor(max_workers=workers, initializer=_preload, initargs=(tuple(preload),))
    futures = {executor.submit(function, *job): k for k, job in enumerate(jobs)}
    results = [None] * len(jobs)
    for future in as_completed(futures):
        results[futures[future]] = future.result()
        if on_done:
            on_done()
    return results


def _preload(modules: tuple[str, ...]) -> None:
    import importlib

    for module in modules:
        importlib.import_module(module)


#: What the workers of a gradient-boosted fit import: the trees, and the surrogate with its featurisers.
GBM_WORKER_MODULES = ("lightgbm", "torch", "predictor.featurizers", "predictor.estimators.smooth")


def fit_member(features: np.ndarray, y: np.ndarray, params: dict, n_rounds: int, min_data_in_bin: int) -> str:
    """One LightGBM model on one thread, as LightGBM's model text."""
    import lightgbm as lgb

    data = lgb.Dataset(features, label=y, free_raw_data=True,
                       params={"verbosity": -1, "min_data_in_bin": int(min_data_in_bin)})
    booster = lgb.train({**params, "num_threads": 1}, data, num_boost_round=int(n_rounds))
    return booster.model_to_string()


def load_boosters(model_texts: Iterable[str]) -> list:
    """LightGBM boosters from model texts."""
    import lightgbm as lgb

    return [lgb.Booster(model_str=text) for text in model_texts]


class LazyBoosters(Sequence):
    """LightGBM boosters parsed from their model texts on first use.

    Parsing a bag takes most of the time of loading a model (0.7 of 1.5 s for the shipped
    models), and a smooth model predicts without its boosters. The texts are checked for
    LightGBM's header and end marker at once, so that a damaged file is refused when the model
    is loaded, not when it is first used.
    """

    def __init__(self, model_texts: Sequence[str], names: Sequence[str] | None = None):
        self._texts = list(model_texts)
        self._boosters = None
        for text, name in zip(self._texts, names or [f"member {k}" for k in range(len(self._texts))]):
            if not (text.startswith("tree\n") and "\nversion=" in text[:200] and "\nend of trees\n" in text):
                raise ValueError(f"{name} is not a complete LightGBM model text")

    def _parsed(self) -> list:
        if self._boosters is None:
            self._boosters = load_boosters(self._texts)
        return self._boosters

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, index):
        return self._parsed()[index]


def bag_predictions(boosters: Sequence, booster_input: np.ndarray) -> np.ndarray:
    """Every member's prediction, shape (n_members, n_samples), one thread each."""
    return np.stack([b.predict(booster_input, num_threads=1) for b in boosters])


def fit_surrogate(model_texts: Sequence[str], features: np.ndarray, neighbours: Sequence, feature_sets: tuple[str, ...],
                  feature_shift: np.ndarray, seed: int, epochs: int, held_out: np.ndarray | None = None) -> tuple:
    """The smooth surrogate of a bag, and what it and the bag predict on ``held_out``.

    The surrogate learns the bag on its training compositions and their neighbourhood.

    Parameters
    ----------
    model_texts : sequence of str
        The bag (LightGBM model texts).
    features : ndarray, shape (n_samples, n_features)
        Descriptors of the bag's training compositions, unshifted.
    neighbours : sequence of Composition
        Their neighbourhood (:func:`.smooth.neighbourhood`), featurised here.
    feature_sets : tuple of str
        The descriptor families of ``features``.
    feature_shift : ndarray, shape (n_features,)
        Added to descriptors before the boosters see them.
    seed : int
    epochs : int
        Passes of the surrogate's training over its points.
    held_out : ndarray, shape (n_held, n_features), optional
        Descriptors to predict (a calibration fold's held-out compositions).

    Returns
    -------
    surrogate : SmoothSurrogate
    held : dict or None
        With ``held_out``: ``mean`` and ``spread`` of the surrogate and ``bag_mean`` of the
        bag, each shape (n_held,).
    """
    from predictor.estimators.smooth import SmoothSurrogate
    from predictor.featurizers import CompositionFeaturizer

    points = np.vstack([features, CompositionFeaturizer(tuple(feature_sets)).transform(neighbours)]) if len(neighbours) else features
    boosters = load_boosters(model_texts)
    teacher = bag_predictions(boosters, points + feature_shift)
    targets = np.column_stack([teacher.mean(axis=0), np.log(teacher.std(axis=0) + SPREAD_FLOOR)])
    surrogate = SmoothSurrogate(seed=seed, epochs=epochs).fit(points, targets)
    if held_out is None:
        return surrogate, None
    mean, spread = surrogate_outputs(surrogate, held_out)
    bag = bag_predictions(boosters, held_out + feature_shift)
    return surrogate, {"mean": mean, "spread": spread, "bag_mean": bag.mean(axis=0)}


def surrogate_outputs(surrogate, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and ensemble spread of the bag as its surrogate predicts them."""
    outputs = surrogate.predict(features)
    return outputs[:, 0], np.maximum(np.exp(outputs[:, 1]) - SPREAD_FLOOR, 0.0)
