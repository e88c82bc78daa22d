"""Doping-series screening: enumeration with charge compensation, ranking, CLI."""

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Composition

from predictor import Predictor
from predictor.interfaces.cli import main
from predictor.prediction.screening import Dopant, acquisition, enumerate_candidates, screen, x_grid


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


def amounts(formula: str) -> dict[str, float]:
    return {el.symbol: round(float(n), 6) for el, n in Composition(formula).items()}


def test_x_grid():
    np.testing.assert_allclose(x_grid("0:0.5:0.1"), [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(x_grid("0.1, 0.3"), [0.1, 0.3])
    for bad in ("0:1:0", "1:0:0.1", "a:b:c", "-0.1,0.2", ""):
        with pytest.raises(ValueError, match="x grid"):
            x_grid(bad)


def test_dopant_oxidation_states():
    assert Dopant.parse("Nb") == Dopant("Nb", 5)
    assert Dopant.parse("Zr4+") == Dopant("Zr", 4)
    assert Dopant.parse("O2-") == Dopant("O", -2)
    assert str(Dopant.parse("Br-")) == "Br1-"
    for bad in ("Xx", "nb", "Nb5", "O"):
        with pytest.raises(ValueError, match="dopant"):
            Dopant.parse(bad)


def test_mobile_ion_compensation():
    table = enumerate_candidates("Li3YCl6", "Y", "Zr", [0, 0.5, 1.0])
    assert table["error"].eq("").all() and table["charge_balanced"].all()
    assert amounts(table.loc[1, "formula"]) == {"Li": 2.5, "Y": 0.5, "Zr": 0.5, "Cl": 6}
    assert amounts(table.loc[2, "formula"]) == {"Li": 2, "Zr": 1, "Cl": 6}
    assert table.loc[0, "formula"] == "Li3YCl6"
    oxy = enumerate_candidates("Li3InCl6", "Cl", "O2-", [0.5])
    assert amounts(oxy.loc[0, "formula"]) == {"Li": 3.5, "In": 1, "Cl": 5.5, "O": 0.5}


def test_site_vacancy_isovalent_and_impossible_candidates():
    vacancy = enumerate_candidates("Li3YCl6", "Y", "Zr", [0.3], compensation="site-vacancy")
    assert amounts(vacancy.loc[0, "formula"]) == {"Li": 3, "Y": 0.6, "Zr": 0.3, "Cl": 6}
    isovalent = enumerate_candidates("Na3YCl6", "Y", "Er", [0.5], compensation="none")
    assert amounts(isovalent.loc[0, "formula"]) == {"Na": 3, "Y": 0.5, "Er": 0.5, "Cl": 6}
    unbalanced = enumerate_candidates("Li3YCl6", "Y", "Zr", [0.2], compensation="none")
    assert "not charge balanced" in unbalanced.loc[0, "error"]
    too_much = enumerate_candidates("Li2ZrCl6", "Zr", "Nb", [0.5, 1.5])
    assert too_much.loc[0, "error"] == ""
    assert "negative amount of Zr" in too_much.loc[1, "error"] and too_much.loc[1, "formula"] == ""


def test_series_that_cannot_exist_are_refused():
    with pytest.raises(ValueError, match="site 'Sc' is not an element"):
        enumerate_candidates("Li3YCl6", "Sc", "Zr", [0.1])
    with pytest.raises(ValueError, match="opposite charge"):
        enumerate_candidates("Li3YCl6", "Y", "O2-", [0.1])
    with pytest.raises(ValueError, match="no Li or Na"):
        enumerate_candidates("YCl3", "Y", "Zr", [0.1])
    with pytest.raises(ValueError, match="already in the parent"):
        enumerate_candidates("Li3YCl6", "Y", "Li+", [0.1])
    with pytest.raises(ValueError, match="parent"):
        enumerate_candidates("Li3QCl6", "Y", "Zr", [0.1])


def test_screen_ranks_by_the_stated_rule(predictor):
    table = screen(predictor, "Li2ZrCl6", "Zr", ["Nb", "Ta"], x_grid("0:0.6:0.2"))
    ranked = table[table["rank"] > 0]
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    np.testing.assert_allclose(ranked["score"], ranked["log10_sigma_lo90"])
    assert ranked["score"].is_monotonic_decreasing
    direct = predictor.predict(ranked["formula"].tolist())
    np.testing.assert_allclose(ranked["log10_sigma"], direct["log10_sigma"])
    assert table.attrs["parent_log10_sigma"] == pytest.approx(predictor.predict("Li2ZrCl6").loc[0, "log10_sigma"])


def test_screen_constraint_and_bad_candidates_stay_in_the_table(predictor):
    table = screen(predictor, "Li3YCl6", "Y", "Zr", [0.2, 0.5, 1.5], min_oxidation_limit_V=4.0,
                   rank_by="expected-improvement")
    assert len(table) == 3
    bad = table[table["rank"] == 0]
    assert len(bad) == 1 and "negative amount" in bad["error"].iloc[0]
    good = table[table["rank"] > 0]
    assert (good["meets_constraints"] == (good["oxidation_limit_V"] >= 4.0)).all()
    # candidates meeting the constraint come first
    meets = good["meets_constraints"].to_numpy()
    assert (np.diff(meets.astype(int)) <= 0).all()
    assert (good["score"] >= 0).all()


def test_expected_improvement():
    table = pd.DataFrame({"log10_sigma": [-3.0, -3.0, -2.0], "log10_sigma_std": [0.5, 1.0, 0.5],
                          "log10_sigma_lo90": [-4.0, -5.0, -3.0]})
    ei = acquisition(table, "expected-improvement", parent_log10_sigma=-3.0)
    np.testing.assert_allclose(ei[:2], [0.5 * 0.3989423, 1.0 * 0.3989423], rtol=1e-6)
    assert ei[2] > 1.0 - 1e-3
    with pytest.raises(ValueError, match="rank rule"):
        acquisition(table, "best", -3.0)


def test_cli_screen_writes_csv_and_plot(tmp_path, capsys):
    output = tmp_path / "series.csv"
    code = main(["screen", "Li2ZrCl6", "--site", "Zr", "--dopant", "Nb", "--x", "0:0.5:0.05", "-o", str(output)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "ranked by lower90" in printed and "Li1.8Zr0.8Nb0.2Cl6" in printed
    table = pd.read_csv(output)
    assert len(table) == 11 and set(table["dopant"]) == {"Nb5+"}
    assert output.with_suffix(".png").stat().st_size > 10_000


def test_cli_screen_reports_bad_input(capsys):
    assert main(["screen", "Li2ZrCl6", "--site", "Y", "--dopant", "Nb", "--x", "0:0.5:0.1", "--no-plot"]) == 2
    assert "site 'Y' is not an element of the parent" in capsys.readouterr().err
    assert main(["screen", "Li2ZrCl6", "--site", "Zr", "--dopant", "Nb", "--x", "0.5:0:0.1", "--no-plot"]) == 2
    assert "x grid" in capsys.readouterr().err


def test_screening_plot_draws_the_measured_values_beside_the_curve(predictor):
    from predictor.interfaces.plots import plot_screening

    table = screen(predictor, "Li3YCl6", "Y", ["Zr"], x_grid("0:0.5:0.5"))
    measured = table[table["measured_log10_sigma"].notna()]
    assert len(measured), "Li3YCl6 and Li2.5Y0.5Zr0.5Cl6 are training compositions"
    figure = plot_screening(table)
    stars = [line for line in figure.axes[0].get_lines() if line.get_marker() == "*"]
    assert len(stars) == 1
    assert sorted(stars[0].get_ydata()) == pytest.approx(sorted(measured["measured_log10_sigma"]))
