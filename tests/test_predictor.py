import shutil

import numpy as np
import pandas as pd
import pytest

from predictor import ModelLoadError, Predictor
from predictor.predictor import COLUMNS


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


def test_shipped_models_load_and_predict_known_halides(predictor):
    table = predictor.predict(["Li3YCl6", "Na3YCl6", "Li2ZrCl6"])
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns[: len(COLUMNS)]) == COLUMNS
    assert table["error"].eq("").all()
    assert table["carrier"].tolist() == ["Li", "Na", "Li"]
    for column in ("log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "log10_sigma_hi90", "sigma_S_cm"):
        assert np.isfinite(table[column]).all(), column
    assert (table["log10_sigma_lo90"] < table["log10_sigma"]).all()
    assert (table["log10_sigma"] < table["log10_sigma_hi90"]).all()
    np.testing.assert_allclose(table["sigma_S_cm"], 10 ** table["log10_sigma"])
    # Li3YCl6 is a ~0.1-1 mS/cm conductor: the shipped model must place it in the fast-ion range
    assert -4.5 < table.loc[0, "log10_sigma"] < -2.0
    assert table["window_reference"].tolist() == ["Li+/Li", "Na+/Na", "Li+/Li"]
    assert table["conductivity_model"].eq("gradient-boosted").all() and table["window_model"].eq("gradient-boosted").all()
    for limit in ("reduction_limit_V", "oxidation_limit_V"):
        assert np.isfinite(table[limit]).all() and (table[f"{limit}_std"] > 0).all()
    assert (table["reduction_limit_V"] < table["oxidation_limit_V"]).all()


def test_window_physics_of_shipped_model(predictor):
    table = predictor.predict(["Li3YCl6", "Li3InCl6", "Li3YBr6", "Li3YF6"]).set_index("formula")
    # the anion sets the oxidation limit, the framework cation the reduction limit
    assert table.loc["Li3YBr6", "oxidation_limit_V"] < table.loc["Li3YCl6", "oxidation_limit_V"] - 0.5
    assert table.loc["Li3YF6", "oxidation_limit_V"] > table.loc["Li3YCl6", "oxidation_limit_V"] + 0.5
    assert table.loc["Li3InCl6", "reduction_limit_V"] > table.loc["Li3YCl6", "reduction_limit_V"] + 1.0
    assert abs(table.loc["Li3YCl6", "oxidation_limit_V"] - 4.21) < 0.3


def test_one_row_per_input_in_order_with_bad_rows_reported(predictor):
    inputs = ["Li3YCl6", "garbage", "Li2ZrCl6", "", "Xx2Cl", "Na3YCl6", "Li3YCl6"]
    table = predictor.predict(inputs)
    assert table["formula"].tolist() == inputs
    errors = table["error"].tolist()
    assert [bool(e) for e in errors] == [False, True, False, True, True, False, False]
    assert "garbage" in errors[1] and "empty" in errors[3] and "unknown element 'Xx'" in errors[4]
    assert table.loc[[1, 3, 4], "log10_sigma"].isna().all()
    assert table.loc[[1, 3, 4], "oxidation_limit_V"].isna().all()
    assert not table.loc[[1, 3, 4], "in_domain"].any()
    assert table.loc[0, "log10_sigma"] == table.loc[6, "log10_sigma"]


def test_single_string_and_empty_batch(predictor):
    assert len(predictor.predict("Li3InCl6")) == 1
    empty = predictor.predict([])
    assert len(empty) == 0 and list(empty.columns) == COLUMNS


def test_out_of_domain_flags(predictor):
    table = predictor.predict(["Mg2SiO4", "Li7La3Zr2O12", "Li3YCl6"]).set_index("formula")
    assert not table.loc["Mg2SiO4", "in_domain"]
    assert "no Li or Na" in table.loc["Mg2SiO4", "domain_notes"]
    assert "no halogen" in table.loc["Li7La3Zr2O12", "domain_notes"]
    assert np.isfinite(table.loc["Mg2SiO4", "log10_sigma"])  # predicted, but flagged


def test_batch_matches_single_predictions(predictor):
    formulas = ["Li3YCl6", "Li2.5Y0.5Zr0.5Cl6", "Li1.8Zr0.8Nb0.2Cl6", "Na3Y0.5Er0.5Cl6"]
    batch = predictor.predict(formulas)
    singles = pd.concat([predictor.predict([f]) for f in formulas], ignore_index=True)
    np.testing.assert_allclose(batch["log10_sigma"], singles["log10_sigma"], rtol=1e-12)
    np.testing.assert_allclose(batch["log10_sigma_std"], singles["log10_sigma_std"], rtol=1e-6)  # float32 kNN distances


def test_load_refuses_missing_or_corrupted_models(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        Predictor.load(tmp_path / "nothing")
    copy = tmp_path / "models"
    shutil.copytree(Predictor.load.__globals__["models_dir"](), copy)
    (copy / "conductivity" / "domain.npz").write_bytes(b"not an npz")
    with pytest.raises(ModelLoadError, match="hash"):
        Predictor.load(copy)


def test_every_shipped_model_file_is_committed():
    """A model file left out of git would pass here and fail on a fresh clone."""
    import subprocess

    from predictor.paths import REPO_ROOT, models_dir

    if models_dir().resolve() != (REPO_ROOT / "models").resolve() or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout with its own models/ folder")
    listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "models"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    assert listed == [], f"untracked files in models/ (commit them or ignore them): {listed}"


def test_batched_prediction_matches_one_batch(predictor):
    formulas = ["Li3YCl6", "garbage", "Li2ZrCl6", "Na3YCl6", "Li3InCl6"]
    whole = predictor.predict(formulas)
    batched = predictor.predict(formulas, batch_size=2)
    pd.testing.assert_frame_equal(whole, batched)
    parts = list(predictor.iter_predict(iter(formulas), batch_size=2))
    assert [len(p) for p in parts] == [2, 2, 1]
    with pytest.raises(ValueError, match="batch_size"):
        predictor.predict(formulas, batch_size=0)
