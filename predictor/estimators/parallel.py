"""Fitting the members of an ensemble in worker processes.

Why processes: LightGBM (and PyTorch) parallelise one model over OpenMP threads, which wait on
each other as soon as another CPU-bound process shares the cores (measured on 2 cores: a
2-member LightGBM fit took 50 s with 2 threads beside other work against 2.5 s with 1). Here
every member is fitted on one thread and the members of an ensemble (and of the calibration
folds) are spread over ``n_jobs`` processes, the scikit-learn way: ``n_jobs=None`` or 1 fits in
the calling process, -1 uses every core the process may run on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence


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
