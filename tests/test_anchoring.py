"""Predictions anchored to a lab's measurements: the kernel, the posterior, the API and the command line."""

import io
import logging

import numpy as np
import pandas as pd
import pytest

from predictor import ModelLoadError, Predictor
from predictor.prediction.anchoring import ResidualKernel, anchor
from predictor.errors import LabelsError

FAR = "Li7La3Zr2O12"  # an oxide garnet: nothing in common with a chloride's measurement


def test_kernel_recovers_the_shared_part_of_one_papers_errors():
    rng = np.random.default_rng(0)
    papers, per_paper, offset_sd, noise_sd = 80, 5, 0.7, 0.7  # half the error variance shared within a paper
    centres = rng.normal(0, 20, (papers, 3))
    descriptors = np.concatenate([c + rng.normal(0, 0.3, (per_paper, 3)) for c in centres])
    residuals = np.repeat(rng.normal(0, offset_sd, papers), per_paper) + rng.normal(0, noise_sd, papers * per_paper)
    std = np.full(len(residuals), np.hypot(offset_sd, noise_sd))
    names = [{f"paper {i // per_paper}"} for i in range(papers * per_paper)]
    kernel = ResidualKernel.fit(descriptors, residuals, std, names)
    assert kernel.pairs == papers * per_paper * (per_paper - 1) // 2
    assert kernel.correlation == pytest.approx(0.5, abs=0.15)
    assert kernel.length >= 1.0  # the shared part reaches across the whole paper (distances ~0.4)
    unrelated = ResidualKernel.fit(descriptors, rng.permutation(residuals), std, names)
    assert unrelated.correlation < 0.15


def test_anchor_moves_neighbours_narrows_them_and_leaves_far_ones_alone():
    kernel = ResidualKernel(length=1.0, correlation=0.6)
    query = np.array([[0.0, 0.0], [0.5, 0.0], [30.0, 0.0]])
    mean, std = np.array([-3.0, -3.2, -5.0]), np.array([0.8, 0.8, 1.0])
    measured, residual = np.array([[0.0, 0.0]]), np.array([1.0])  # measured 1 decade above the model
    new_mean, new_std = anchor(query, mean, std, measured, residual, np.array([0.8]), kernel, lab_std=0.15)
    shift = 0.6 * 0.8**2 / (0.8**2 + 0.15**2)  # correlation * s^2 / (s^2 + lab^2) of the residual
    assert new_mean[0] - mean[0] == pytest.approx(shift)
    assert 0 < new_mean[1] - mean[1] < shift and new_std[1] < std[1]
    assert new_mean[2] == pytest.approx(mean[2]) and new_std[2] == pytest.approx(std[2])
    # a second, disagreeing measurement at the same place pulls the other way
    two, _ = anchor(query, mean, std, np.array([[0.0, 0.0], [0.0, 0.1]]), np.array([1.0, -1.0]),
                    np.array([0.8, 0.8]), kernel, lab_std=0.15)
    assert abs(two[0] - mean[0]) < 0.15


def test_with_measurements_returns_the_measurement_and_corrects_neighbours_only(caplog):
    predictor = Predictor.load()
    if predictor.measured.kernel is None:
        pytest.skip("the shipped models predate the residual kernel")
    lab = pd.DataFrame({"formula": ["Li3YCl6", "Li6Y2Cl12", "Xx2Cl"], "sigma_S_cm": [1e-2, 2e-2, 1e-3]})
    with caplog.at_level(logging.WARNING, logger="predictor"):
        anchored = predictor.with_measurements(lab, lab_std=0.2)
    assert any("row 3 (Xx2Cl) not used: unknown element 'Xx'" in m for m in caplog.messages)
    formulas = ["Li3YCl6", "Li2.9Y0.9Zr0.1Cl6", FAR]
    before, after = predictor.predict(formulas), anchored.predict(formulas)
    measured = np.log10([1e-2, 2e-2]).mean()
    assert after.at[0, "log10_sigma"] == pytest.approx(measured)
    assert after.at[0, "log10_sigma_std"] == pytest.approx(0.2 / np.sqrt(2))
    assert after.at[0, "measured_refs"] == "your measurements (rows 1, 2)" and after.at[0, "measured_n"] == 2
    assert after.at[0, "log10_sigma_lo90"] < measured < after.at[0, "log10_sigma_hi90"]
    residual = measured - before.at[0, "log10_sigma"]
    moved = after.at[1, "log10_sigma"] - before.at[1, "log10_sigma"]
    assert np.sign(moved) == np.sign(residual) and abs(moved) < abs(residual)
    assert after.at[1, "log10_sigma_std"] < before.at[1, "log10_sigma_std"]
    assert after.at[2, "log10_sigma"] == pytest.approx(before.at[2, "log10_sigma"], abs=0.01)
    assert after.at[2, "log10_sigma_hi90"] == pytest.approx(before.at[2, "log10_sigma_hi90"], abs=0.02)
    assert predictor.predict(formulas)["log10_sigma"].equals(before["log10_sigma"])  # the original is unchanged


def test_with_measurements_refuses_a_table_without_a_usable_row_and_old_models(tmp_path):
    predictor = Predictor.load()
    if predictor.measured.kernel is not None:
        with pytest.raises(LabelsError, match="row 1 .Xx2Cl.: unknown element 'Xx'"):
            predictor.with_measurements(pd.DataFrame({"formula": ["Xx2Cl"], "sigma_S_cm": [1e-3]}))
    predictor.measured.kernel, kept = None, predictor.measured.kernel
    try:
        with pytest.raises(ModelLoadError, match="no residual kernel.*retrain"):
            predictor.with_measurements(pd.DataFrame({"formula": ["Li3YCl6"], "sigma_S_cm": [1e-3]}))
    finally:
        predictor.measured.kernel = kept


def test_measured_on_the_command_line(tmp_path, capsys):
    from predictor.interfaces.cli import main

    if Predictor.load().measured.kernel is None:
        pytest.skip("the shipped models predate the residual kernel")
    lab = tmp_path / "lab.csv"
    lab.write_text("formula,sigma_S_cm,T_C\nLi3YCl6,1e-2,25\nLi2ZrCl6,1e-6,\n")
    assert main(["predict", "--format", "csv", "--measured", str(lab), "Li3YCl6", "Li2ZrCl6", FAR]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table["sigma_S_cm"].tolist()[:2] == pytest.approx([1e-2, 1e-6])
    assert main(["predict", "--measured", str(tmp_path / "missing.csv"), "Li3YCl6"]) == 2
    assert "missing.csv" in capsys.readouterr().err


def test_a_trace_of_dopant_moves_continuously_away_from_a_measurement():
    predictor = Predictor.load()
    if predictor.measured.kernel is None:
        pytest.skip("the shipped models predate the residual kernel")
    anchored = predictor.with_measurements(pd.DataFrame({"formula": ["Li3YCl6"], "sigma_S_cm": [3e-2]}))
    x = [0.0, 0.001, 0.01, 0.03, 0.1]
    formulas = [f"Li{3 - v:g}Y{1 - v:g}Zr{v:g}Cl6" if v else "Li3YCl6" for v in x]
    values = anchored.predict(formulas)["log10_sigma"].to_numpy()
    assert values[0] == pytest.approx(np.log10(3e-2))
    # a trace: next to the measurement (no jump), closer the smaller it is
    assert abs(values[1] - values[0]) < 0.05 and abs(values[1] - values[0]) < abs(values[2] - values[0])
    assert np.all(np.abs(np.diff(values)) < 0.5)


@pytest.mark.parametrize("lab_std", [0.0, -0.1, float("nan"), "a lot"])
def test_a_lab_spread_that_is_not_a_positive_number_is_refused(lab_std):
    predictor = Predictor.load()
    if predictor.measured.kernel is None:
        pytest.skip("the shipped models predate the residual kernel")
    with pytest.raises(ValueError, match="lab_std"):
        predictor.with_measurements(pd.DataFrame({"formula": ["Li3YCl6"], "sigma_S_cm": [1e-3]}), lab_std=lab_std)
