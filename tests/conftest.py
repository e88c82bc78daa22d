import warnings

import pytest

from predictor.paths import data_dir

warnings.filterwarnings("ignore", module="pymatgen")

needs_shared_data = pytest.mark.skipif(
    data_dir() is None,
    reason="third-party data directory not found (../shared/data beside the checkout or $PREDICTOR_DATA_DIR)",
)

# A small, chemically varied fixture: (formula, log10 sigma in S/cm), values of the order reported.
SMALL_SET = [
    ("Li3YCl6", -3.3), ("Li3YBr6", -2.8), ("Li3InCl6", -2.9), ("Li3ScCl6", -3.5), ("Li2ZrCl6", -3.4),
    ("Li3ErCl6", -3.5), ("Li3HoCl6", -3.7), ("Li2.5Y0.5Zr0.5Cl6", -2.9), ("Li2.6Y0.6Zr0.4Cl6", -3.0),
    ("Li3InBr6", -3.0), ("LiTaOCl4", -1.9), ("LiNbOCl4", -2.0), ("Li3YBr3Cl3", -2.7), ("Li2Sc2/3Cl4", -2.8),
    ("Na3YCl6", -5.0), ("Na2ZrCl6", -5.7), ("Na3InCl6", -5.5), ("Na3ErCl6", -5.2), ("NaTaCl6", -3.4),
    ("Li7La3Zr2O12", -3.6), ("Li6.4La3Zr1.4Ta0.6O12", -3.0), ("Li10GeP2S12", -2.0), ("Li6PS5Cl", -2.7),
    ("Li3PS4", -3.8), ("Li1.3Al0.3Ti1.7P3O12", -3.1), ("Li0.34La0.51TiO2.94", -3.0), ("Li3N", -3.2),
    ("LiI", -7.0), ("LiCl", -9.0), ("LiBr", -8.5), ("Li2OHCl", -6.5), ("Li3OCl", -5.5),
    ("LiAlCl4", -5.9), ("Li2ZnCl4", -6.5), ("LiGaCl4", -5.5), ("Li4SiO4", -8.0), ("Li2SO4", -9.5),
    ("LiTi2P3O12", -5.5), ("Li3BO3", -9.0), ("LiPON", -5.6),
]


@pytest.fixture(scope="session")
def small_set():
    formulas, targets = zip(*SMALL_SET)
    return list(formulas), list(targets)


@pytest.fixture(scope="session")
def small_model(small_set):
    from predictor import ConductivityRegressor

    formulas, targets = small_set
    return ConductivityRegressor(n_members=3, n_estimators=60, calibration_folds=4, random_state=0).fit(formulas, targets)


@pytest.fixture(scope="session")
def shipped_mlflow_model(tmp_path_factory):
    """The MLflow model of the shipped models, built as ``predictor serve`` builds it."""
    from predictor.interfaces.serving import save_model
    from predictor.paths import models_dir

    return save_model(models_dir(), tmp_path_factory.mktemp("mlflow-model") / "mlflow_model")
