"""The Liverpool ionics database (Hargreaves et al., npj Comput. Mater. 2023).

820 measurements of Li conductors at stated temperatures. Only measurements at room
temperature, 20-30 °C (:data:`predictor.loaders.ROOM_TEMPERATURE_RANGE_C`, with its reason), are
kept as labels; when one composition from one paper was measured at several temperatures in
that range, the one closest to 25 °C is kept.
"""

from __future__ import annotations

import logging

import pandas as pd

from predictor.loaders import LABEL_TEMPERATURE_C, ROOM_TEMPERATURE_RANGE_C
from predictor.paths import data_file

log = logging.getLogger(__name__)


def clean_formula(text: str) -> str:
    """Undo the quoting and spaces of glass formulas such as ``"(LiCl)0.5 (P2O5)0.5"``."""
    return "".join(str(text).strip().strip('"').split())


def load_liiondb(room_temperature_range_C: tuple[float, float] = ROOM_TEMPERATURE_RANGE_C) -> pd.DataFrame:
    """Room-temperature measurements of the Liverpool database as a tidy table.

    Parameters
    ----------
    room_temperature_range_C : (float, float), default=(20, 30)
        Inclusive temperature window (°C) of the measurements kept.

    Returns
    -------
    pandas.DataFrame
        Columns ``formula``, ``log10_sigma`` (log10 S/cm), ``T_C`` (°C), ``source`` ("liiondb"),
        ``doi``, ``family``.
    """
    raw = pd.read_csv(data_file("liiondb", "LiIonDatabase.csv"), encoding="utf-8-sig")
    low, high = room_temperature_range_C
    kept = raw[raw["temperature"].between(low, high)].copy()
    kept["formula"] = kept["composition"].map(clean_formula)
    kept["distance_to_25C"] = (kept["temperature"] - LABEL_TEMPERATURE_C).abs()
    kept = kept.sort_values("distance_to_25C", kind="stable").drop_duplicates(["formula", "source"])
    table = pd.DataFrame(
        {
            "formula": kept["formula"],
            "log10_sigma": kept["log_target"].astype(float),
            "T_C": kept["temperature"].astype(float),
            "source": "liiondb",
            "doi": kept["source"].fillna("").astype(str),
            "family": kept["family"].fillna("").astype(str),
        }
    ).sort_index().reset_index(drop=True)
    log.info("Liverpool database: %d of %d measurements within %g-%g °C", len(table), len(raw), low, high)
    return table
