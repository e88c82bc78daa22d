"""OBELiX: 599 Li solid electrolytes with room-temperature ionic conductivity (Therrien et al.).

Read with the ``obelix-data`` package's own loader from ``<data dir>/obelix``. Entries measured
below the detection limit are written ``<1E-10`` (36 entries) or ``<1E-8`` (1 entry) in the
source; the loader maps both to ``censored_sigma_S_cm`` (default 1e-15 S/cm, the value OBELiX's
own benchmarks use, i.e. log10 sigma = -15), marks them ``censored=True`` and keeps the bound
itself in ``censor_bound_log10`` (-10 or -8), so that training and evaluation can treat them
explicitly.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from predictor.errors import DataNotFoundError
from predictor.paths import data_file

log = logging.getLogger(__name__)

OBELIX_CENSORED_SIGMA_S_CM = 1e-15
_SIGMA_COLUMN = "Ionic conductivity (S cm-1)"


def load_obelix(censored_sigma_S_cm: float = OBELIX_CENSORED_SIGMA_S_CM) -> pd.DataFrame:
    """OBELiX as a tidy table, one row per entry, with the official train/test split.

    Parameters
    ----------
    censored_sigma_S_cm : float, default=1e-15
        Conductivity (S/cm) assigned to entries reported only as ``<1E-10`` or ``<1E-8``.

    Returns
    -------
    pandas.DataFrame
        Columns ``formula``, ``log10_sigma`` (log10 S/cm), ``T_C`` (NaN: reported as room
        temperature), ``source`` ("obelix"), ``doi``, ``split`` ("train"/"test"), ``censored``,
        ``censor_bound_log10`` (log10 of the detection bound of censored entries, else NaN),
        ``obelix_id``, ``family``, ``space_group``.
    """
    folder = data_file("obelix")
    if not (folder / "all.csv").exists():
        # The obelix package would try to download a missing folder; we never do.
        raise DataNotFoundError(f"{folder / 'all.csv'} not found")
    from obelix import OBELiX

    raw = pd.read_csv(folder / "all.csv", index_col="ID", dtype={_SIGMA_COLUMN: str})
    text = raw[_SIGMA_COLUMN].fillna("")
    bounds = text[text.str.startswith("<")].str.lstrip("<").astype(float)

    dataset = OBELiX(str(folder), no_cifs=True, unspecified_low_value=censored_sigma_S_cm)
    frame = dataset.dataframe
    test_ids = set(dataset.test_dataset.dataframe.index)
    sigma = frame[_SIGMA_COLUMN].astype(float)

    table = pd.DataFrame(
        {
            "formula": frame["True Composition"].astype(str),
            "log10_sigma": np.log10(sigma.to_numpy()),
            "T_C": np.nan,
            "source": "obelix",
            "doi": frame["DOI"].fillna("").astype(str),
            "split": ["test" if i in test_ids else "train" for i in frame.index],
            "censored": frame.index.isin(bounds.index),
            "censor_bound_log10": np.log10(bounds.reindex(frame.index).to_numpy()),
            "obelix_id": frame.index.astype(str),
            "family": frame["Family"].fillna("").astype(str),
            "space_group": frame["Space group"].fillna("").astype(str),
        }
    ).reset_index(drop=True)
    log.info("OBELiX: %d entries (%d censored, %d test)", len(table), table.censored.sum(), len(test_ids))
    return table
