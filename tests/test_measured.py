"""The measured values beside predictions: looked up by the package's rule of composition identity."""

import numpy as np
import pandas as pd

from predictor import parse_formula
from predictor.prediction.measured import MeasuredValues


def _table():
    return pd.DataFrame({"formula": ["Li3InCl6", "La0.55Li0.36Ti0.995Al0.005O3", "Li3YCl6"],
                         "measured_log10_sigma": [-2.9, -3.5, -3.3], "measured_n": [4, 1, 2],
                         "measured_refs": ["10.1/a", "10.1/b", "10.1/c"]})


def test_lookup_matches_scaled_and_rounded_formulas_but_not_other_doping_levels():
    measured = MeasuredValues(_table())
    queries = ["Li6In2Cl12", "Li2In0.666Cl4", "La0.55Li0.36Ti0.992Al0.008O3", "Li3YBr6", "Li3Y0.5In0.5Cl6"]
    found = measured.lookup([parse_formula(f) for f in queries])
    assert found["measured_log10_sigma"].iloc[:2].tolist() == [-2.9, -2.9]
    assert found["measured_n"].tolist() == [4, 4, 0, 0, 0]
    assert np.isnan(found["measured_log10_sigma"].iloc[2:]).all() and (found["measured_refs"].iloc[2:] == "").all()


def test_save_and_load_keep_the_table(tmp_path):
    MeasuredValues(_table()).save(tmp_path / "measured")
    loaded = MeasuredValues.load(tmp_path / "measured")
    pd.testing.assert_frame_equal(loaded.table, _table())
    assert loaded.lookup([parse_formula("Li3YCl6")])["measured_refs"].tolist() == ["10.1/c"]
