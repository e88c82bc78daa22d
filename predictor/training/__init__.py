"""Training a model folder and measuring it.

:mod:`.pipeline` (``predictor train``: :class:`TrainConfig`, :func:`train`), :mod:`.evaluation`
(grouped cross-validation, the OBELiX split, metrics), :mod:`.held_out_papers` (the held-out halide
papers protocol), :mod:`.activation` (the Ea model), :mod:`.model_card`
(``models/README.md``) and :mod:`.tracking` (MLflow runs).
"""

from __future__ import annotations

__all__ = ["TrainConfig", "train"]

#: The properties ``predictor train`` can retrain, each with the model parts (every family) it writes.
PROPERTIES = ("conductivity", "windows", "activation")
#: Values of ``TrainConfig.evaluate``: the grouped CV of the fits themselves, or the heavy benchmarks too.
EVALUATIONS = ("cv", "full")


def __getattr__(name: str):
    # Imported on first use: the modules above import one another through this package.
    if name in __all__:
        from predictor.training import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'predictor.training' has no attribute {name!r}")
