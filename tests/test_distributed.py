"""Batch prediction on a local Dask cluster (worker processes), as on a real one."""

import pandas as pd
import pytest

from predictor import Predictor

dd = pytest.importorskip("dask.dataframe", reason="dask is in the dev extra: pip install -e '.[dev]'")
distributed = pytest.importorskip("dask.distributed")

from predictor.interfaces.distributed import predict_dask  # noqa: E402

FORMULAS = ["Li3YCl6", "Na3YCl6", "Li2ZrCl6", "not a formula", "Li2.5Y0.5Zr0.5Cl6", "Li3InCl6", "Na2ZrCl6",
            "Li3YBr6", "LiCl", "Li1.8Zr0.8Nb0.2Cl6", "Xx3YCl6", "Li3ScCl6"]


@pytest.mark.slow
def test_local_cluster_predicts_every_row_like_the_predictor():
    frame = pd.DataFrame({"formula": FORMULAS * 3, "batch": range(3 * len(FORMULAS))})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        result = predict_dask(dd.from_pandas(frame, npartitions=4)).compute()
    expected = Predictor.load().predict(frame["formula"].tolist())
    assert len(result) == len(frame)
    pd.testing.assert_frame_equal(result.reset_index(drop=True), expected)
    assert (result["error"] != "").sum() == 2 * 3


def test_series_input_and_clear_errors():
    series = dd.from_pandas(pd.Series(FORMULAS[:4], name="formula"), npartitions=2)
    result = predict_dask(series).compute(scheduler="synchronous")
    assert result["formula"].tolist() == FORMULAS[:4]
    with pytest.raises(ValueError, match="no 'formula' column"):
        predict_dask(dd.from_pandas(pd.DataFrame({"f": FORMULAS}), npartitions=1))
    with pytest.raises(TypeError, match="Dask DataFrame or Series"):
        predict_dask(FORMULAS)
    with pytest.raises(ValueError, match="temperature_C=-300 °C is at or below absolute zero"):
        predict_dask(series, temperature_C=-300)
