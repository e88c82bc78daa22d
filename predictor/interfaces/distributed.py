"""Batch prediction on a Dask cluster, for candidate lists that outgrow one machine.

Each partition of a Dask collection of formulas is predicted by :class:`Predictor` on the
worker that holds it; a worker process loads the models once and reuses them for every
partition. Nothing is computed until the result is written or ``.compute()``-d, and each
worker holds one partition's predictions at a time.

    import dask.dataframe as dd
    from dask.distributed import Client
    from predictor.interfaces.distributed import predict_dask

    client = Client("tcp://scheduler:8786")          # or Client() for a local cluster
    formulas = dd.read_csv("candidates-*.csv")       # a column "formula"
    predict_dask(formulas).to_parquet("predictions/")

The workers need this package installed (``pip install "predictor[distributed]"``) and the
model folder: the shipped ``models/`` of the installation, or ``models`` = a path every
worker can read.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from predictor.predictor import Predictor, empty_table


@lru_cache(maxsize=4)
def _predictor(models: str | None, model_family: str | None = None) -> Predictor:
    return Predictor.load(models, model_family=model_family)


def _predict_partition(partition: pd.DataFrame | pd.Series, column: str, models: str | None,
                       temperature_C: float = 25.0, model_family: str | None = None) -> pd.DataFrame:
    formulas = partition if isinstance(partition, pd.Series) else partition[column]
    table = _predictor(models, model_family).predict(formulas.tolist(), temperature_C=temperature_C)
    table.index = partition.index
    return table


def predict_dask(formulas, column: str = "formula", models: str | None = None, temperature_C: float = 25.0,
                 model_family: str | None = None):
    """Predict a Dask DataFrame (with a formula column) or Series of formulas, lazily.

    Parameters
    ----------
    formulas : dask.dataframe.DataFrame or dask.dataframe.Series
    column : str, default="formula"
        The formula column of a DataFrame.
    models : str, optional
        Model folder readable by every worker (default: the installation's shipped models).
    temperature_C : float, default=25
        Temperature (°C) of the conductivity columns (see :meth:`Predictor.predict`); checked
        here, before any work is sent to the cluster.
    model_family : str, optional
        Model family of both properties (see :meth:`Predictor.load`); default: the folder's
        default per property.

    Returns
    -------
    dask.dataframe.DataFrame
        The columns of :meth:`Predictor.predict`, one row per input row, same partitions
        and index; bad formulas are rows with an ``error``, never dropped.
    """
    import dask.dataframe as dd

    if isinstance(formulas, dd.DataFrame):
        if column not in formulas.columns:
            raise ValueError(f"the Dask DataFrame has no {column!r} column (columns: {', '.join(formulas.columns)})")
    elif not isinstance(formulas, dd.Series):
        raise TypeError(f"expected a Dask DataFrame or Series of formulas, got {type(formulas).__name__}")
    from predictor.prediction.temperature import check_temperature_C

    from predictor.model_layout import MODEL_FAMILIES

    temperature_C = check_temperature_C(temperature_C)
    if model_family is not None and model_family not in MODEL_FAMILIES:
        raise ValueError(f"model_family={model_family!r} is not one of {', '.join(MODEL_FAMILIES)}")
    return formulas.map_partitions(_predict_partition, column, models, temperature_C, model_family,
                                   meta=empty_table())
