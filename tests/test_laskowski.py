"""The Laskowski table loader: repairs what is unambiguous, rejects the rest with the reason."""

import math

import pandas as pd
import pytest
from conftest import needs_shared_data

from predictor.loaders.laskowski import load_laskowski, repair_formula

OVERLINE = "\u0305"


@pytest.fixture
def table_folder(tmp_path):
    rows = [
        f"Li7BiO6,8.80E-07,0.58{OVERLINE},P-1,2,,155950,3",        # 1: stray overline on Ea
        "Li MgCl  2 4,1.0E-6,0.50,Fd-3m,227,,12345,1",              # 2: subscripts pushed to the end
        "Li 7.22 Si 1.5 P 0.5 O8,1.64E-7,0.48,P21/m,11,,238602,1",  # 3: spaces inside
        "Li4SiO4,P21/m,0.55,11,,238603,1,",                         # 4: shifted: a space group as conductivity
        "Li3PS4,1.6E-4,3.5,Pnma,62,,,2",                             # 5: Ea out of range, conductivity fine
        "Li4P2O7,<1E-10,1.617,P1,2,,248414,2",                       # 6: a bound: no conductivity, Ea fine
        "0.75Li2S-0.25P2S5,3E-4,0.35,,,,,2",                          # 7: a glass of two compounds
        '"",,,,,β-,,',                                                # 8: continuation line
        "Li MgCl 4,1E-6,,,,,,1",                                      # 9: one subscript for two places
        "Y2O3,1E-9,0.9,,,,,1",                                        # 10: no Li
        "Li3YCl6,5E-4,0.40,C2/m,12,,,9",                              # 11: a reference without a DOI
        "Li3PS4 – 20 wt% Al2O3,1E-4,0.3,,,,,2",                      # 12: a composite by weight
        "(Li0.16Sr0.69)(Ga0.25Ta0.75,,,,,,,1",                       # 13-15: one entry over three lines
        ",3.69E-6,0.359,Pm-3m,221,,291520,",
        ")O3,,,,,,,",
        "β-Li3PS4,1.6E-4,0.36,,,,,1",                                # 16: a polymorph prefix
    ]
    (tmp_path / "laskowski_semi-fromatted.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "doi_lookup_table.csv").write_text("ref. number,DOI\n1,10.1/one\n2,10.1/two.s001\n2,10.1/Two\n"
                                                   "3,10.1/three\n")
    return tmp_path


def test_malformed_rows_are_repaired_or_rejected_with_their_reason(table_folder):
    data = load_laskowski(table_folder)
    labels = data.labels.set_index("row")
    rejected = {(r.row, r.label): r.reason for r in data.rejected.itertuples()}

    assert labels.at[1, "Ea_eV"] == pytest.approx(0.58) and labels.at[1, "doi"] == "10.1/three"
    assert labels.at[2, "formula"] == "Li2MgCl4" and labels.at[2, "repaired"] == "subscripts moved back into the formula"
    assert labels.at[3, "formula"] == "Li7.22Si1.5P0.5O8" and labels.at[3, "repaired"] == "spaces removed from the formula"
    assert rejected[(4, "conductivity")] == "conductivity 'P21/m' is not a number (a shifted column?)"
    assert labels.at[4, "Ea_eV"] == pytest.approx(0.55) and math.isnan(labels.at[4, "log10_sigma"])
    assert rejected[(5, "Ea")] == "Ea 3.5 eV outside 0.05..2 eV"
    assert labels.at[5, "log10_sigma"] == pytest.approx(math.log10(1.6e-4)) and math.isnan(labels.at[5, "Ea_eV"])
    assert rejected[(6, "conductivity")] == "conductivity '<1E-10' is a bound, not a value"
    assert labels.at[6, "doi"] == "10.1/two"  # the supplementary-file DOI, repaired, and its duplicate merged
    assert labels.at[7, "formula"] == "Li1.5P0.5S2"  # a glass: the composition of the whole
    assert labels.at[7, "repaired"] == "a mixture read as the sum of its components"
    assert rejected[(12, "row")] == "a composite or glass whose components cannot be read as amounts of compounds"
    assert labels.at[14, "formula"] == "(Li0.16Sr0.69)(Ga0.25Ta0.75)O3" and labels.at[14, "doi"] == "10.1/one"
    assert labels.at[14, "Ea_eV"] == pytest.approx(0.359)
    assert rejected[(13, "row")] == rejected[(15, "row")] == "part of the formula of row 14, joined to it"
    assert labels.at[16, "formula"] == "Li3PS4" and labels.at[16, "repaired"] == "polymorph prefix dropped"
    assert rejected[(8, "row")] == "continuation line of the row above (no formula)"
    assert "cannot be placed unambiguously" in rejected[(9, "row")]
    assert rejected[(10, "row")] == "no Li in the formula"
    assert labels.at[11, "doi"] == "" and labels.at[11, "reference"].endswith("ref. 9")
    assert sorted(labels.index) == [1, 2, 3, 4, 5, 6, 7, 11, 14, 16]


@pytest.mark.parametrize("text, expected", [
    ("Li0.91Hf2.022(PO )  4 3", "Li0.91Hf2.022(PO4)3"),
    ("Li La Zr O 7 3 2 12", "Li7La3Zr2O12"),
    ("Li 6.4 La Zr 3 1.4 Ta0.6O12", "Li6.4La3Zr1.4Ta0.6O12"),
    ("(La 0.5 Li 0.5 ) 0.75 Sr0.25TiO3", "(La0.5Li0.5)0.75Sr0.25TiO3"),
    ("LiYO  2", "LiYO2"),
])
def test_displaced_subscripts_go_back_one_per_place(text, expected):
    assert repair_formula(text)[0] == expected


def test_a_missing_folder_says_where_it_looked(tmp_path):
    from predictor.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="laskowski_semi-fromatted.csv not found"):
        load_laskowski(tmp_path)


@needs_shared_data
def test_no_obelix_test_composition_or_doi_reaches_the_obelix_split_training():
    from predictor.training.evaluation import _normalised_dois, obelix_split
    from predictor.loaders.combined import load_conductivity_data

    table = load_conductivity_data(("obelix", "curated", "liiondb", "laskowski")).table
    assert (table["source"] == "laskowski").sum() > 100
    train, test = obelix_split(table, extra_sources=True)
    extra = train[train["split"] == "extra"]  # the rows other sources add to OBELiX's own training split
    assert not set(extra["composition_key"]) & set(test["composition_key"])
    test_dois = set().union(*map(_normalised_dois, test["doi"]))
    assert not any(_normalised_dois(doi) & test_dois for doi in extra["doi"])
    assert (extra["source"] == "laskowski").sum() > 100


@needs_shared_data
def test_the_shared_table_gives_the_activation_labels_the_issue_asks_for():
    data = load_laskowski()
    assert data.labels["Ea_eV"].notna().sum() >= 500 and data.labels["log10_sigma"].notna().sum() >= 800
    assert (data.labels["doi"] != "").mean() > 0.9
    assert pd.Series(data.rejected["reason"]).str.len().gt(0).all()
