"""The shipped models predict a fixed batch exactly as recorded.

Moving code between modules must not change a prediction (up to 1e-4, below any meaningful change, above the
float32 rounding of the graph network on another CPU). ``tests/data/shipped_predictions.csv``
holds what the shipped models (``models/``) predicted for a fixed batch; after a deliberate
change of the models (a retrain that changes them), rewrite it with::

    python tests/test_shipped_predictions.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

EXPECTED = Path(__file__).parent / "data" / "shipped_predictions.csv"

# Hosts, doping series, Na, mixed anions, a trace dopant, an oxide, a sulfide, a bad formula.
BATCH = [
    "Li3YCl6", "Li3InCl6", "Li2ZrCl6", "Li2.5Y0.5Zr0.5Cl6", "Li1.8Zr0.8Nb0.2Cl6", "Li1.725Zr0.725Ta0.275Cl6",
    "Na3YCl6", "Na3Y0.5Er0.5Cl6", "Na2.4Y0.4Zr0.6Cl6", "Li3YBr3Cl3", "LiTaOCl4", "Li3YCl5.99F0.01",
    "Li2.999Y0.999Zr0.001Cl6", "Li7La3Zr2O12", "Li6PS5Cl", "Li3YCl6.2H2O",
]
# (model family or None for the default, temperature in °C)
RUNS = [(None, 25.0), (None, 80.0), ("graph-network", 25.0)]
COLUMNS = [
    "log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "log10_sigma_hi90", "Ea_eV", "Ea_eV_std",
    "reduction_limit_V", "reduction_limit_V_std", "oxidation_limit_V", "oxidation_limit_V_std",
    "in_domain", "conductivity_model", "window_model", "error",
]


def shipped_predictions() -> pd.DataFrame:
    from predictor import Predictor

    tables = []
    for family, temperature_C in RUNS:
        table = Predictor.load(model_family=family).predict(BATCH, temperature_C=temperature_C)
        table = table[["formula", *COLUMNS]].copy()
        table.insert(0, "run", f"{family or 'default'} at {temperature_C:g} C")
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def test_shipped_models_predict_the_recorded_batch():
    expected = pd.read_csv(EXPECTED, keep_default_na=False, na_values=[""])
    got = shipped_predictions()
    assert list(got["run"] + " " + got["formula"]) == list(expected["run"] + " " + expected["formula"])
    for column in COLUMNS:
        want, have = expected[column], got[column]
        if column == "in_domain":
            assert list(have.astype(bool)) == list(want.astype(str) == "True"), column
        elif pd.api.types.is_numeric_dtype(have):
            np.testing.assert_allclose(have.to_numpy(float), want.to_numpy(float), rtol=0, atol=1e-4,
                                       equal_nan=True, err_msg=column)
        else:
            assert list(have.fillna("").astype(str)) == list(want.fillna("").astype(str)), column
    assert got["error"].fillna("").str.contains("hydrate").sum() == len(RUNS), "the bad formula is an error row"


if __name__ == "__main__":
    shipped_predictions().to_csv(EXPECTED, index=False, float_format="%.10g")
    print(f"wrote {EXPECTED}")
