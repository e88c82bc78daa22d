"""Every model family servable (issue 12): the protocol, family choice in Predictor, CLI and MLflow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_SET
from sklearn.base import clone

from predictor import ConductivityRegressor
from predictor.artifacts import write_folder_manifest
from predictor.errors import ModelLoadError
from predictor.estimators import WindowRegressor
from predictor.estimators.base import PropertyRegressor
from predictor.estimators.graph.regressor import GraphConductivityRegressor, GraphWindowLimitRegressor
from predictor.prediction.measured import MeasuredValues
from predictor.model_layout import FAMILIES_FILE, GRAPH_NETWORK, family_part
from predictor.paths import models_dir
from predictor.predictor import Predictor, available_families, default_families

TINY_GBM = {"n_members": 2, "n_estimators": 20, "calibration_folds": 3, "random_state": 0, "n_jobs": 1}
TINY_GRAPH = {"n_members": 3, "epochs": 2, "random_state": 0, "n_jobs": 1}
CARRIER_SET = [(f, y) for f, y in SMALL_SET if "Li" in f or "Na" in f]


def _windows(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    reduction = 0.5 + rng.normal(0, 0.3, n)
    return np.column_stack([reduction, reduction + 3.0 + rng.normal(0, 0.3, n)])


@pytest.fixture(scope="module")
def two_families(tmp_path_factory) -> Path:
    """A small model folder with both families; windows by the graph network by default."""
    folder = tmp_path_factory.mktemp("families") / "models"
    formulas, targets = map(list, zip(*CARRIER_SET))
    windows = _windows(len(formulas))
    ConductivityRegressor(**TINY_GBM).fit(formulas, targets).save(folder / "conductivity")
    WindowRegressor(limit_params=TINY_GBM).fit(formulas, windows).save(folder / "windows")
    GraphConductivityRegressor(**TINY_GRAPH).fit(formulas, targets).save(folder / family_part(GRAPH_NETWORK, "conductivity"))
    WindowRegressor(estimator=GraphWindowLimitRegressor(**TINY_GRAPH)).fit(formulas, windows).save(
        folder / family_part(GRAPH_NETWORK, "windows"))
    MeasuredValues(pd.DataFrame({"formula": formulas, "measured_log10_sigma": targets, "measured_n": 1,
                                 "measured_refs": "test"})).save(folder / "measured")
    (folder / FAMILIES_FILE).write_text(json.dumps({"default": {"conductivity": "gradient-boosted",
                                                                "windows": "graph-network"}}))
    write_folder_manifest(folder)  # as training does: the folder's manifest covers families.json
    return folder


def test_every_family_implements_the_protocol(two_families):
    predictor = Predictor.load(two_families, model_family=GRAPH_NETWORK)
    for model in (predictor.conductivity_model, *predictor.window_model.models_.values()):
        assert isinstance(model, PropertyRegressor)
    gbm = Predictor.load(two_families, model_family="gradient-boosted")
    assert isinstance(gbm.conductivity_model, PropertyRegressor)


def test_graph_family_predicts_both_properties_with_uncertainty(two_families):
    table = Predictor.load(two_families, model_family=GRAPH_NETWORK).predict(["Li3YCl6", "Na3InCl6", "garbage"])
    good = table.iloc[:2]
    assert good["conductivity_model"].tolist() == ["graph-network"] * 2
    assert good["window_model"].tolist() == ["graph-network"] * 2
    for column in ("log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "reduction_limit_V", "reduction_limit_V_std",
                   "oxidation_limit_V", "oxidation_limit_V_std"):
        assert np.isfinite(good[column]).all(), column
    assert (good["log10_sigma_std"] > 0).all() and (good["oxidation_limit_V"] > good["reduction_limit_V"]).all()
    assert table.iloc[2]["error"]


def test_average_family_is_the_mean_of_the_other_two(two_families):
    formulas = ["Li3YCl6", "Li2.5Y0.5Zr0.5Cl6", "Na3InCl6"]
    gbm, graph, average = (Predictor.load(two_families, model_family=f).predict(formulas)
                           for f in ("gradient-boosted", "graph-network", "average"))
    assert average["conductivity_model"].tolist() == ["average"] * 3 and average["window_model"].tolist() == ["average"] * 3
    for column in ("log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "log10_sigma_hi90"):
        assert np.allclose(average[column], (gbm[column] + graph[column]) / 2), column
    # the window rules apply to the averaged limits: mixtures between their end members still hold
    assert np.isfinite(average[["reduction_limit_V", "oxidation_limit_V"]].to_numpy()).all()


def test_default_family_per_property_comes_from_the_folder(two_families):
    assert default_families(two_families) == {"conductivity": "gradient-boosted", "windows": "graph-network"}
    table = Predictor.load(two_families).predict(["Li3YCl6"])
    assert table[["conductivity_model", "window_model"]].iloc[0].tolist() == ["gradient-boosted", "graph-network"]
    assert available_families(two_families) == ["gradient-boosted", "graph-network", "average"]


def test_missing_or_unknown_family_is_a_clear_error(two_families, tmp_path):
    with pytest.raises(ValueError, match="model_family='forest' is not one of"):
        Predictor.load(two_families, model_family="forest")
    folder = Path(shutil.copytree(two_families, tmp_path / "models"))
    shutil.rmtree(folder / "families")
    with pytest.raises(ModelLoadError, match="has no graph-network windows model.*families with both properties here: "
                                             "gradient-boosted"):
        Predictor.load(folder)
    (folder / FAMILIES_FILE).write_text('{"default": {"windows": "magic"}}')
    write_folder_manifest(folder)
    with pytest.raises(ModelLoadError, match="'magic' is not a property and model family"):
        Predictor.load(folder)


def test_graph_window_model_clones_and_round_trips(two_families):
    loaded = WindowRegressor.load(two_families / family_part(GRAPH_NETWORK, "windows"))
    assert loaded.model_family == "graph-network"
    fresh = clone(loaded)
    assert isinstance(fresh.estimator, GraphWindowLimitRegressor) and not hasattr(fresh, "models_")
    with pytest.raises(ValueError, match="either estimator or limit_params"):
        WindowRegressor(limit_params={"n_members": 2}, estimator=GraphWindowLimitRegressor()).fit(
            ["Li3YCl6", "LiCl"], np.ones((2, 2)))


def test_cli_chooses_the_model_family(two_families, capsys):
    from predictor.interfaces.cli import main

    assert main(["predict", "Li3YCl6", "--models", str(two_families), "--model-family", "graph-network",
                 "--format", "csv", "--columns", "formula,conductivity_model,window_model"]) == 0
    assert "Li3YCl6,graph-network,graph-network" in capsys.readouterr().out


def test_pyfunc_serves_the_model_family_parameter(two_families):
    from predictor.interfaces.serving import PredictorModel

    model = PredictorModel()  # as load_context would set it up on the two-family folder
    model.folder, model.predictors = str(two_families), {"default": Predictor.load(two_families)}
    table = model.predict(None, pd.DataFrame({"formula": ["Li3YCl6"]}), params={"model_family": "graph-network"})
    assert table[["conductivity_model", "window_model"]].iloc[0].tolist() == ["graph-network", "graph-network"]
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="model_family='forest'"):
        model.predict(None, pd.DataFrame({"formula": ["Li3YCl6"]}), params={"model_family": "forest"})


def test_shipped_graph_network_family():
    """The acceptance call of issue 12 on the shipped models."""
    if not (models_dir() / family_part(GRAPH_NETWORK, "conductivity")).is_dir():
        pytest.fail("the shipped models have no graph-network family: run `predictor train`")
    table = Predictor.load(model_family="graph-network").predict(["Li3YCl6"])
    row = table.iloc[0]
    assert row["conductivity_model"] == row["window_model"] == "graph-network"
    assert np.isfinite(row[["log10_sigma", "log10_sigma_std", "reduction_limit_V_std", "oxidation_limit_V_std"]]
                       .astype(float)).all()
    assert row["in_domain"]
