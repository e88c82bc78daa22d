"""Fitting a bag of LightGBM models in worker processes.

Why processes: LightGBM parallelises one model over OpenMP threads, which wait on each other
as soon as another CPU-bound process shares the cores (measured on 2 cores: a 2-member fit took
50 s with 2 threads beside other work against 2.5 s with 1). Here every model is fitted on one
thread and the models of a bag (and of the calibration folds) are spread over ``n_jobs``
processes, the scikit-learn way: ``n_jobs=None`` or 1 fits in the calling process, -1 uses
every core the process may run on.

A job (:func:`fit_member`: one LightGBM model, returned as its model text) needs only NumPy
arrays, so that a worker imports LightGBM, not the featurisers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

import numpy as np

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
    first job fitted trees and whose second imported PyTorch was restarted after every such job
    (measured: 6 such jobs took as long on 2 processes as on 1). Imported at start, the
    libraries are part of the reference size.
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
