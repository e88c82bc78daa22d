"""Conductivity at other temperatures: Arrhenius rules, Ea labels, propagation, API, CLI, pyfunc.

Tests named ``*_shipped_*`` need the shipped models to hold the activation-energy model
(``models/activation/``, written by ``predictor train``); the others build a tiny Ea model on
the curated labels (no third-party data) beside the shipped conductivity and window models.
"""

import math
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import needs_shared_data

from predictor import ModelLoadError, Predictor
from predictor.estimators.gbm.activation_energy import ActivationEnergyRegressor, ArrheniusModel, residual_correlation
from predictor.loaders.activation_labels import (EA_RANGE_EV, METHOD_FIT, arrhenius_reports, consistency_checks,
                                                 load_activation_labels, merge_reports)
from predictor.paths import models_dir
from predictor.prediction.temperature import (BOLTZMANN_EV_PER_K, ZERO_CELSIUS_K, arrhenius_coefficient, check_temperature_C,
                                              convert_log10_sigma, fit_arrhenius, propagate)
from predictor.model_layout import ACTIVATION_DIR

TINY = {"n_members": 2, "n_estimators": 20, "calibration_folds": 3, "random_state": 0, "n_jobs": 1}
BAD_TEMPERATURES = [(-273.15, ValueError, "absolute zero"), (-300.0, ValueError, "absolute zero"),
                    (float("nan"), ValueError, "not a finite"), (float("inf"), ValueError, "not a finite"),
                    ("25", TypeError, "'25'"), ("warm", TypeError, "'warm'"), (None, TypeError, "None"),
                    (True, TypeError, "True")]


def synthetic_series(Ea_eV: float, log10_sigma_25: float, temperatures_C, noise: float = 0.0, seed: int = 0):
    """log10 sigma (S/cm) of sigma*T = A*exp(-Ea/kT) through log10_sigma_25 at 25 °C."""
    rng = np.random.default_rng(seed)
    t_k = np.asarray(temperatures_C, float) + ZERO_CELSIUS_K
    t0 = 25.0 + ZERO_CELSIUS_K
    log10_sigma_t = (log10_sigma_25 + math.log10(t0)) - Ea_eV / (BOLTZMANN_EV_PER_K * math.log(10)) * (1 / t_k - 1 / t0)
    return log10_sigma_t - np.log10(t_k) + rng.normal(0, noise, len(t_k))


# -- Arrhenius rules ----------------------------------------------------------------------------

def test_fit_recovers_the_activation_energy_of_a_synthetic_series():
    temperatures = [-20, 0, 25, 40, 60, 80, 100]
    exact = fit_arrhenius(temperatures, synthetic_series(0.42, -3.3, temperatures))
    assert exact.Ea_eV == pytest.approx(0.42, abs=1e-9)
    assert exact.log10_sigma_25 == pytest.approx(-3.3, abs=1e-9)
    assert exact.Ea_se_eV < 1e-9 and (exact.T_min_C, exact.T_max_C, exact.n_points) == (-20, 100, 7)
    noisy = fit_arrhenius(temperatures, synthetic_series(0.42, -3.3, temperatures, noise=0.05))
    # the standard error describes the scatter: the truth within 3 standard errors, and the error is not zero
    assert 0.001 < noisy.Ea_se_eV < 0.05
    assert abs(noisy.Ea_eV - 0.42) < 3 * noisy.Ea_se_eV
    two = fit_arrhenius([25, 80], synthetic_series(0.3, -4.0, [25, 80]))
    assert two.Ea_eV == pytest.approx(0.3) and math.isnan(two.Ea_se_eV)


def test_fit_refuses_a_single_temperature_and_non_finite_values():
    with pytest.raises(ValueError, match="two distinct temperatures"):
        fit_arrhenius([25, 25], [-3.0, -3.1])
    with pytest.raises(ValueError, match="finite"):
        fit_arrhenius([25, 60], [-3.0, float("nan")])


def test_conversion_inverts_the_fit_and_round_trips():
    for log10_sigma, t, ea, target in [(-3.0, 80.0, 0.4, 25.0), (-5.0, -20.0, 0.6, 60.0)]:
        there = convert_log10_sigma(log10_sigma, ea, target, reference_C=t)
        assert convert_log10_sigma(there, ea, t, reference_C=target) == pytest.approx(log10_sigma)
    temperatures = np.array([-30.0, 25.0, 100.0])
    assert convert_log10_sigma(-3.3, 0.42, temperatures) == pytest.approx(synthetic_series(0.42, -3.3, temperatures))
    assert arrhenius_coefficient(25.0) == 0.0 and arrhenius_coefficient(-20.0) < 0 < arrhenius_coefficient(60.0)


@pytest.mark.parametrize("value, error, message", BAD_TEMPERATURES)
def test_bad_temperatures_are_refused_naming_the_input(value, error, message):
    with pytest.raises(error, match=message):
        check_temperature_C(value)
    with pytest.raises(error, match="temperature_C"):
        check_temperature_C(value)


def test_good_temperatures_pass():
    assert check_temperature_C(60) == 60.0 and check_temperature_C(np.float32(-20.5)) == pytest.approx(-20.5)
    assert check_temperature_C(-273.0) == -273.0


# -- propagation --------------------------------------------------------------------------------

def test_propagation_is_identity_at_25_C_and_matches_sampling_elsewhere():
    mean, std, lo, hi = np.array([-3.3, -5.0]), np.array([0.8, 1.2]), np.array([-4.6, -7.1]), np.array([-2.0, -3.0])
    ea, ea_std = np.array([0.4, 0.55]), np.array([0.07, 0.1])
    same = propagate(mean, std, lo, hi, ea, ea_std, -0.3, 25.0)
    for key, value in (("mean", mean), ("std", std), ("lo", lo), ("hi", hi)):
        np.testing.assert_array_equal(same[key], value)
    rng = np.random.default_rng(0)
    for rho in (-0.6, 0.0, 0.5):
        for temperature in (-20.0, 60.0):
            moved = propagate(mean, std, lo, hi, ea, ea_std, rho, temperature)
            z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=200_000)
            samples = convert_log10_sigma(mean[0] + std[0] * z[:, 0], ea[0] + ea_std[0] * z[:, 1], temperature)
            assert moved["mean"][0] == pytest.approx(samples.mean(), abs=0.01)
            assert moved["std"][0] == pytest.approx(samples.std(), rel=0.01)
            # the calibrated interval is scaled with the std around the moved mean
            ratio = moved["std"] / std
            np.testing.assert_allclose(moved["hi"] - moved["mean"], (hi - mean) * ratio)
            np.testing.assert_allclose(moved["mean"] - moved["lo"], (mean - lo) * ratio)
    with pytest.raises(ValueError, match="correlation"):
        propagate(mean, std, lo, hi, ea, ea_std, 1.5, 60.0)


def test_residual_correlation_matches_keys():
    keys = [f"k{i}" for i in range(50)]
    rng = np.random.default_rng(1)
    a = rng.normal(size=50)
    b = -a + rng.normal(scale=0.1, size=50)
    r, n = residual_correlation(keys, a, list(reversed(keys)), list(reversed(b)))
    assert n == 50 and r < -0.95
    r, n = residual_correlation(keys[:2], a[:2], keys[:2], b[:2])
    assert n == 2 and math.isnan(r)


# -- labels ------------------------------------------------------------------------------------

def test_arrhenius_reports_fit_each_series_and_reject_with_reasons():
    rows = []
    for formula, ea, temperatures in (("Li3YCl6", 0.40, [25, 50, 75, 100]), ("Li3InCl6", 0.33, [30, 90]),
                                      ("LiCl", 0.5, [25, 30]), ("Li2ZrCl6", -0.2, [25, 100]),
                                      ("Li3ScCl6", 0.35, [25, 60, 400])):
        values = synthetic_series(ea, -3.5, temperatures)
        rows += [{"formula": formula, "doi": "10.1/x", "T_C": t, "log10_sigma": v} for t, v in zip(temperatures, values)]
    reports, rejected = arrhenius_reports(pd.DataFrame(rows), "test", max_T_C=200.0, min_span_K=20.0)
    fitted = reports.set_index("formula")
    assert set(fitted.index) == {"Li3YCl6", "Li3InCl6", "Li3ScCl6"}
    assert fitted.loc["Li3YCl6", "Ea_eV"] == pytest.approx(0.40) and fitted.loc["Li3InCl6", "Ea_eV"] == pytest.approx(0.33)
    assert fitted.loc["Li3ScCl6", "T_max_C"] == 60  # 400 °C is above the fit range
    assert (fitted["method"] == METHOD_FIT).all()
    reasons = rejected.set_index("formula")["reason"]
    assert "span" in reasons["LiCl"] and f"{EA_RANGE_EV[0]:g}" in reasons["Li2ZrCl6"]


def test_merge_takes_the_median_per_composition_and_rejects_bad_formulas():
    reports = pd.DataFrame({
        "formula": ["Li3YCl6", "Li6Y2Cl12", "Li3YCl6", "Xx2Cl"], "Ea_eV": [0.3, 0.4, 0.5, 0.3],
        "Ea_se_eV": [np.nan, 0.02, np.nan, np.nan], "T_min_C": [np.nan, 25, np.nan, np.nan],
        "T_max_C": [np.nan, 100, np.nan, np.nan], "n_points": [0, 4, 0, 0],
        "method": ["reported", METHOD_FIT, "reported", "reported"], "source": ["curated", "liiondb", "curated", "curated"],
        "doi": ["10.1/a", "10.1/b", "", "10.1/c"], "reference": ""})
    table, rejected = merge_reports(reports)
    assert len(table) == 1 and table.loc[0, "Ea_eV"] == pytest.approx(0.4) and table.loc[0, "n_reports"] == 3
    assert table.loc[0, "Ea_spread_eV"] == pytest.approx(0.2) and table.loc[0, "doi"] == "10.1/a; 10.1/b"
    assert table.loc[0, "group"] == "Cl-Li-Y"
    assert rejected["formula"].tolist() == ["Xx2Cl"]


def test_consistency_check_flags_a_reported_Ea_that_the_conductivities_contradict():
    values = 10 ** synthetic_series(0.4, -3.0, [25, 80])
    base = {"value_kind": "experimental", "composite": False, "bound": "", "reference": ""}
    table = pd.DataFrame([
        {**base, "formula": "Li3YCl6", "doi": "10.1/a", "sigma_S_cm": values[0], "T_C": 25.0, "Ea_eV": 0.4},
        {**base, "formula": "Li3YCl6", "doi": "10.1/a", "sigma_S_cm": values[1], "T_C": 80.0, "Ea_eV": np.nan},
        {**base, "formula": "Li3InCl6", "doi": "10.1/b", "sigma_S_cm": values[0], "T_C": 25.0, "Ea_eV": 0.6},
        {**base, "formula": "Li3InCl6", "doi": "10.1/b", "sigma_S_cm": values[1], "T_C": 80.0, "Ea_eV": np.nan},
        {**base, "formula": "Li2ZrCl6", "doi": "10.1/c", "sigma_S_cm": values[0], "T_C": 25.0, "Ea_eV": 0.3},
    ])
    checks = consistency_checks(table).set_index("formula")
    assert set(checks.index) == {"Li3YCl6", "Li3InCl6"}  # Li2ZrCl6: one temperature, nothing to check
    assert checks.loc["Li3YCl6", "consistent"] and not checks.loc["Li3InCl6", "consistent"]
    assert checks.loc["Li3InCl6", "difference_eV"] == pytest.approx(-0.2)


@needs_shared_data
def test_liverpool_series_add_fitted_labels_and_rejections_say_why():
    data = load_activation_labels()
    assert {"curated", "liiondb"} <= set(data.reports["source"])
    fitted = data.reports[data.reports["method"] == METHOD_FIT]
    assert len(fitted) > 50 and (fitted["T_max_C"] - fitted["T_min_C"] >= 20).all() and (fitted["T_max_C"] <= 200).all()
    assert (fitted.loc[fitted["n_points"] > 2, "Ea_se_eV"] > 0).all()
    assert len(data.rejected) and data.rejected["reason"].str.len().gt(0).all()
    assert len(data.table) == data.table["composition_key"].nunique() > len(load_activation_labels(("curated",)).table)


def test_curated_labels_need_no_third_party_data():
    data = load_activation_labels(("curated",))
    table = data.table
    assert len(table) > 100 and table["composition_key"].is_unique
    assert table["Ea_eV"].between(*EA_RANGE_EV).all() and (table["source"] == "curated").all()
    assert table["group"].str.contains("-").all()


# -- model and predictor -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_arrhenius():
    labels = load_activation_labels(("curated",)).table
    model = ActivationEnergyRegressor(**TINY).fit(labels["formula"].tolist(), labels["Ea_eV"].to_numpy(float),
                                                   groups=labels["group"])
    return ArrheniusModel(model, correlation=-0.3, correlation_estimate=-0.3, correlation_pairs=40,
                          label_temperature_range_C=(-10.0, 120.0))


@pytest.fixture(scope="module")
def shipped():
    return Predictor.load()


@pytest.fixture(scope="module")
def with_tiny(shipped, tiny_arrhenius):
    return Predictor(shipped.conductivity_model, shipped.window_model, shipped.measured, tiny_arrhenius)


@pytest.fixture(scope="module")
def without_activation(shipped):
    return Predictor(shipped.conductivity_model, shipped.window_model, shipped.measured)


def test_arrhenius_model_round_trip(tiny_arrhenius, tmp_path):
    folder = tiny_arrhenius.save(tmp_path / "activation")
    loaded = ArrheniusModel.load(folder)
    assert loaded.correlation == -0.3 and loaded.label_temperature_range_C == (-10.0, 120.0)
    formulas = ["Li3YCl6", "Na3InCl6"]
    np.testing.assert_allclose(loaded.ea_model.predict_distribution(formulas)["std"],
                               tiny_arrhenius.ea_model.predict_distribution(formulas)["std"])
    (folder / "arrhenius.json").write_text('{"correlation": 0.9}\n')
    with pytest.raises(ModelLoadError, match="arrhenius.json"):
        ArrheniusModel.load(folder)


def test_conductivity_columns_at_25_C_are_unchanged_by_the_Ea_model(with_tiny, without_activation):
    formulas = ["Li3YCl6", "Na3YCl6", "Li2ZrCl6", "garbage"]
    today = without_activation.predict(formulas)
    with_ea = with_tiny.predict(formulas, temperature_C=25.0)
    columns = ["log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "log10_sigma_hi90", "sigma_S_cm"]
    pd.testing.assert_frame_equal(with_ea[columns], today[columns])
    assert np.isfinite(with_ea.loc[:2, ["Ea_eV", "Ea_eV_std"]].to_numpy(float)).all()
    assert (with_ea.loc[:2, "Ea_eV_std"] > 0).all() and math.isnan(with_ea.loc[3, "Ea_eV"])
    assert (with_ea["temperature_C"] == 25.0).all()


def test_Li3YCl6_conductivity_rises_with_temperature_and_its_interval_widens_in_the_cold(with_tiny):
    check_li3ycl6_temperatures(with_tiny)


def check_li3ycl6_temperatures(predictor):
    rows = {t: predictor.predict(["Li3YCl6"], temperature_C=t).iloc[0] for t in (-20.0, 25.0, 60.0)}
    assert rows[-20.0]["sigma_S_cm"] < rows[25.0]["sigma_S_cm"] < rows[60.0]["sigma_S_cm"]
    width = {t: row["log10_sigma_hi90"] - row["log10_sigma_lo90"] for t, row in rows.items()}
    assert width[-20.0] > width[25.0]
    for row in rows.values():
        assert row["log10_sigma_lo90"] < row["log10_sigma"] < row["log10_sigma_hi90"]
        assert row["sigma_S_cm"] == pytest.approx(10 ** row["log10_sigma"])
    expected = convert_log10_sigma(rows[25.0]["log10_sigma"], rows[25.0]["Ea_eV"], 60.0)
    assert rows[60.0]["log10_sigma"] == pytest.approx(expected)


def test_temperature_outside_the_label_range_is_noted(with_tiny):
    table = with_tiny.predict(["Li3YCl6"], temperature_C=300.0)
    assert "300 °C is outside" in table.loc[0, "temperature_note"]
    assert "outside" not in with_tiny.predict(["Li3YCl6"], temperature_C=60.0).loc[0, "temperature_note"]


@pytest.mark.parametrize("value, error, message", BAD_TEMPERATURES)
def test_predict_refuses_bad_temperatures(with_tiny, value, error, message):
    with pytest.raises(error, match=message):
        with_tiny.predict(["Li3YCl6"], temperature_C=value)


def test_without_an_Ea_model_25_C_works_and_other_temperatures_say_why(without_activation):
    table = without_activation.predict(["Li3YCl6"])
    assert np.isfinite(table.loc[0, "log10_sigma"]) and math.isnan(table.loc[0, "Ea_eV"])
    assert "no activation-energy model" in table.loc[0, "temperature_note"] and not table.loc[0, "Ea_in_domain"]
    with pytest.raises(ModelLoadError, match="activation-energy model"):
        without_activation.predict(["Li3YCl6"], temperature_C=60.0)


def test_model_folder_without_activation_loads(tmp_path):
    folder = tmp_path / "models"
    for part in ("conductivity", "windows", "measured"):
        shutil.copytree(models_dir() / part, folder / part)
    predictor = Predictor.load(folder)
    assert predictor.activation_model is None
    assert np.isfinite(predictor.predict("Li3YCl6").loc[0, "log10_sigma"])


def test_screen_ranks_at_a_chosen_temperature(with_tiny):
    from predictor.prediction.screening import screen, x_grid

    warm = screen(with_tiny, "Li2ZrCl6", "Zr", ["Nb"], x_grid("0:0.2:0.1"), temperature_C=60.0)
    room = screen(with_tiny, "Li2ZrCl6", "Zr", ["Nb"], x_grid("0:0.2:0.1"))
    assert warm.attrs["temperature_C"] == 60.0 and (warm["temperature_C"] == 60.0).all()
    assert warm.attrs["parent_log10_sigma"] > room.attrs["parent_log10_sigma"]


def test_arrhenius_plot_from_python(with_tiny, tmp_path):
    from predictor.prediction.arrhenius import arrhenius_table, plot_arrhenius, temperature_grid

    grid = temperature_grid(-30, 100, 6)
    assert 25.0 in grid and grid[0] == -30 and grid[-1] == 100
    table = arrhenius_table(with_tiny, ["Li3YCl6", "Xx2Cl", "Li2ZrCl6"], grid)
    assert table["formula"].drop_duplicates().tolist() == ["Li3YCl6", "Xx2Cl", "Li2ZrCl6"]
    li3ycl6 = table[table["formula"] == "Li3YCl6"]
    assert (np.diff(li3ycl6["log10_sigma"]) > 0).all()
    path = tmp_path / "arrhenius.png"
    figure = plot_arrhenius(table)
    figure.savefig(path)
    assert path.stat().st_size > 10_000
    stars = [line for line in figure.axes[0].get_lines() if line.get_marker() == "*"]
    measured = li3ycl6["measured_log10_sigma"].iloc[0]  # its training label, drawn at 25 °C
    assert len(stars) == 2 and stars[0].get_ydata()[0] == pytest.approx(measured)
    assert stars[0].get_xdata()[0] == pytest.approx(1000 / 298.15)
    with pytest.raises(ValueError, match="below"):
        temperature_grid(100, -30)


# -- MLflow pyfunc with the temperature parameter -----------------------------------------------

@pytest.mark.slow
def test_pyfunc_takes_the_temperature_as_a_parameter(tiny_arrhenius, tmp_path):
    import mlflow
    from mlflow.exceptions import MlflowException

    from predictor.interfaces.serving import save_model

    folder = tmp_path / "models"
    for part in ("conductivity", "windows", "measured"):
        shutil.copytree(models_dir() / part, folder / part)
    tiny_arrhenius.save(folder / ACTIVATION_DIR)
    model = mlflow.pyfunc.load_model(str(save_model(folder, tmp_path / "mlflow_model")))
    assert (tmp_path / "mlflow_model" / "data" / "models" / ACTIVATION_DIR / "manifest.json").is_file()
    request = pd.DataFrame({"formula": ["Li3YCl6"]})
    room, warm = model.predict(request), model.predict(request, params={"temperature_C": 60.0})
    assert warm.loc[0, "temperature_C"] == 60.0 and warm.loc[0, "log10_sigma"] > room.loc[0, "log10_sigma"]
    with pytest.raises(MlflowException, match="absolute zero"):
        model.predict(request, params={"temperature_C": -300.0})
    for bad in ("warm", float("nan")):  # a string is refused by MLflow's parameter schema, NaN by the predictor
        with pytest.raises(MlflowException, match="temperature_C"):
            model.predict(request, params={"temperature_C": bad})


# -- command line --------------------------------------------------------------------------------

def run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "predictor", *args], capture_output=True, text=True, **kwargs)


@pytest.mark.parametrize("command", [["predict", "Li3YCl6"], ["screen", "Li2ZrCl6", "--site", "Zr", "--dopant", "Nb",
                                                                 "--x", "0:0.1:0.1", "--no-plot"]])
@pytest.mark.parametrize("value, message", [("warm", "invalid float value: 'warm'"), ("nan", "not a finite"),
                                            ("-300", "absolute zero")])
def test_cli_refuses_bad_temperatures(command, value, message, capsys, tmp_path, monkeypatch):
    from predictor.interfaces.cli import main

    monkeypatch.chdir(tmp_path)
    try:
        code = main([*command, f"--temperature-C={value}"])
    except SystemExit as exc:  # argparse refuses what is not a number
        code = exc.code
    stderr = capsys.readouterr().err
    assert code == 2 and message in stderr and "temperature" in stderr.lower()
    assert not list(tmp_path.iterdir())  # nothing written


# -- with the shipped activation-energy model (after `predictor train`) ---------------------------

def test_shipped_models_predict_Li3YCl6_at_other_temperatures(shipped):
    assert shipped.activation_model is not None, "models/activation/ missing: retrain with `predictor train`"
    check_li3ycl6_temperatures(shipped)
    assert -1 <= shipped.activation_model.correlation <= 1 and shipped.activation_model.correlation_pairs >= 10


@pytest.mark.slow
def test_shipped_cli_predicts_at_a_temperature_and_draws_an_arrhenius_plot(tmp_path):
    table = run("predict", "Li3YCl6", "--temperature-C", "60", "--format", "csv",
                "--columns", "formula,temperature_C,log10_sigma,Ea_eV")
    assert table.returncode == 0, table.stderr
    row = pd.read_csv(pd.io.common.StringIO(table.stdout)).iloc[0]
    assert row["temperature_C"] == 60.0 and 0.1 < row["Ea_eV"] < 0.8
    plot = tmp_path / "arrhenius.png"
    result = run("arrhenius", "Li3YCl6", "Li2ZrCl6", "-o", str(plot), "--csv", str(tmp_path / "arrhenius.csv"))
    assert result.returncode == 0, result.stderr
    assert plot.stat().st_size > 10_000
    from predictor.prediction.arrhenius import temperature_grid

    assert len(pd.read_csv(tmp_path / "arrhenius.csv")) == 2 * len(temperature_grid())


@pytest.mark.slow
def test_shipped_pyfunc_takes_the_temperature(shipped_mlflow_model):
    import mlflow

    model = mlflow.pyfunc.load_model(str(shipped_mlflow_model))
    request = pd.DataFrame({"formula": ["Li3YCl6"]})
    cold = model.predict(request, params={"temperature_C": -20.0})
    assert cold.loc[0, "log10_sigma"] < model.predict(request).loc[0, "log10_sigma"]


# -- evaluation protocols (with a stand-in model: the protocols, not the model, are tested) --------

class _LinearInLithium:
    """Predicts Ea from the Li fraction by least squares: enough to tell the protocols apart."""

    def fit(self, formulas, y, groups=None):
        from predictor.composition import parse_formula

        x = np.array([parse_formula(f).get_atomic_fraction("Li") for f in formulas])
        self.coefficients_ = np.polyfit(x, np.asarray(y, float), 1) if np.ptp(x) > 0 else np.array([0.0, np.median(y)])
        self.train_formulas_ = set(formulas)
        return self

    def predict(self, formulas):
        from predictor.composition import parse_formula

        return np.polyval(self.coefficients_, [parse_formula(f).get_atomic_fraction("Li") for f in formulas])

    def predict_distribution(self, formulas):
        mean = self.predict(formulas)
        return {"mean": mean, "std": np.full(len(mean), 0.05), "lo": mean - 0.08, "hi": mean + 0.08}


def _toy_labels():
    from predictor.loaders.combined import annotate

    formulas = ["Li3YCl6", "Li3InCl6", "Li3ScCl6", "Li2ZrCl6", "Li2HfCl6", "LiTaCl6", "Li3ErCl6", "LiNbOCl4",
                "Li4SiO4", "Li2SO4", "LiI", "Li3N"]
    frame = pd.DataFrame({"formula": formulas, "source": "curated", "doi": ["10.1/a"] * 4 + ["10.1/b"] * 4 + [""] * 4})
    table, _ = annotate(frame)
    li = np.array([parse(f) for f in table["formula"]])
    return table.assign(Ea_eV=0.2 + 0.5 * li).reset_index(drop=True)


def parse(formula):
    from predictor.composition import parse_formula

    return parse_formula(formula).get_atomic_fraction("Li")


def test_activation_cv_is_scored_beside_the_median_of_the_other_folds():
    from predictor.training.activation import activation_cv_scores

    labels = _toy_labels()
    y = labels["Ea_eV"].to_numpy()
    fold = np.arange(len(labels)) % 3

    class Fitted:  # a model whose folds predicted every held-out Ea exactly
        held_out_ = {"mean": y, "std": np.full(len(y), 0.01), "lo": y - 0.02, "hi": y + 0.02, "fold": fold}

    cv = activation_cv_scores(Fitted(), labels)
    assert cv["all"]["mae"] < 1e-9 < cv["median_baseline"]["mae"]
    assert cv["all"]["coverage90"] == 1.0 and len(cv["predictions"]) == len(labels)
    assert cv["median_baseline"]["mae"] == pytest.approx(np.mean([abs(y[i] - np.median(y[fold != fold[i]]))
                                                                   for i in range(len(y))]))


def test_leave_one_paper_out_drops_the_paper_and_scores_within_it():
    from predictor.training.activation import evaluate_activation_papers

    labels = _toy_labels()
    fitted = []

    class Recording(_LinearInLithium):
        def fit(self, formulas, y, groups=None):
            fitted.append(set(formulas))
            return super().fit(formulas, y, groups)

    result = evaluate_activation_papers(Recording, labels, min_labels=4)
    assert result["papers"] == 2 and [p["paper"] for p in result["per_paper"]] == ["10.1/a", "10.1/b"]
    paper_a = set(labels.loc[labels["doi"] == "10.1/a", "formula"])
    assert not (fitted[0] & paper_a) and len(fitted[0]) == len(labels) - 4
    assert result["median_mae"] < 1e-9 < result["median_mae_baseline"]
