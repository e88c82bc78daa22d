"""The user-facing predictor: formulas in, a table of predictions with uncertainty out."""

from __future__ import annotations

import logging
import numbers
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Composition
from tqdm.auto import tqdm

from predictor.prediction.anchoring import standardised_descriptors
from predictor.artifacts import check_model_folder, load_estimator, read_json
from predictor.composition import REFERENCE_ELECTRODES, describe, parse_formula
from predictor.errors import CompositionError, ModelLoadError
from predictor.estimators.registry import load_saved
from predictor.estimators.window import WindowRegressor
from predictor.featurizers import CompositionFeaturizer
from predictor.prediction.measured import MeasuredValues
from predictor.model_layout import (ACTIVATION_DIR, AVERAGED_FAMILIES, CONDUCTIVITY_DIR, CONDUCTIVITY_TARGET,
                                    FAMILIES_FILE, GRADIENT_BOOSTED, MEASURED_DIR, MODEL_FAMILIES, PREDICTION_FILES,
                                    PROPERTY_PARTS, STORED_FAMILIES, WINDOWS_DIR, family_part, part_holds)
from predictor.paths import models_dir
from predictor.prediction.temperature import REFERENCE_TEMPERATURE_C, check_temperature_C, propagate

log = logging.getLogger(__name__)

COLUMNS = [
    "formula", "reduced_formula", "carrier", "anion_family",
    "log10_sigma", "log10_sigma_std", "log10_sigma_lo90", "log10_sigma_hi90", "sigma_S_cm", "conductivity_model",
    "temperature_C", "Ea_eV", "Ea_eV_std", "Ea_in_domain", "temperature_note",
    "reduction_limit_V", "reduction_limit_V_std", "oxidation_limit_V", "oxidation_limit_V_std",
    "window_reference", "window_model",
    "measured_log10_sigma", "measured_n", "measured_refs",
    "in_domain", "domain_notes", "error",
]
#: Column types of the prediction table (the numbers are float, NaN where not predicted).
COLUMN_TYPES = {column: float for column in COLUMNS} | {
    "formula": object, "reduced_formula": object, "carrier": object, "anion_family": object,
    "conductivity_model": object, "Ea_in_domain": bool, "temperature_note": object, "window_reference": object, "window_model": object, "in_domain": bool,
    "measured_n": int, "measured_refs": object, "domain_notes": object, "error": object,
}


def empty_table() -> pd.DataFrame:
    """A prediction table with no rows and the column types of :meth:`Predictor.predict`."""
    return pd.DataFrame(columns=COLUMNS).astype(COLUMN_TYPES)


def unpredicted_row(formula, temperature_C: float) -> dict:
    """A row of :meth:`Predictor.predict` before anything is predicted: numbers NaN, text empty, flags off."""
    row = dict.fromkeys(COLUMNS, np.nan)
    row.update(formula=formula, carrier=None, reduced_formula="", anion_family="", window_reference="",
               conductivity_model="", window_model="", measured_n=0, measured_refs="", in_domain=False,
               domain_notes="", error="", temperature_C=temperature_C, Ea_in_domain=False, temperature_note="")
    return row


def formula_inputs(formulas) -> Iterable:
    """The formulas of any accepted input, one element per row to predict.

    Accepted: a single formula (str or Composition), a list, tuple or other 1-D sequence, a
    pandas Series or Index, a 1-D NumPy array, an iterator or generator, and a DataFrame by
    its ``formula`` column. An element that is not a formula (a number, a list, None) is not
    refused here: it becomes a row whose ``error`` says so.

    Raises
    ------
    TypeError
        For a dict, bytes, a set, a 2-D array or anything that is not iterable, naming the type.
    ValueError
        For a DataFrame without a ``formula`` column, naming its columns, or with several.
    """
    if isinstance(formulas, (str, Composition)):
        return [formulas]
    if isinstance(formulas, pd.DataFrame):
        found = int((formulas.columns == "formula").sum())
        if found == 0:
            columns = ", ".join(map(str, formulas.columns[:20])) or "none"
            raise ValueError(f"the DataFrame has no 'formula' column (columns: {columns})")
        if found > 1:
            raise ValueError(f"the DataFrame has {found} 'formula' columns: keep one (rename or drop the others)")
        return formulas["formula"].tolist()
    if isinstance(formulas, (pd.Series, pd.Index)):
        return formulas.tolist()
    if isinstance(formulas, np.ndarray):
        if formulas.ndim != 1:
            raise TypeError(f"formulas must be 1-D, got a {formulas.ndim}-D array of shape {formulas.shape}")
        return formulas.tolist()
    if isinstance(formulas, (bytes, bytearray, memoryview)):
        raise TypeError(f"formulas must be text, got {type(formulas).__name__}: decode it first")
    if isinstance(formulas, (Mapping, AbstractSet)):
        raise TypeError(f"formulas must be a sequence of formulas, got a {type(formulas).__name__} "
                        "(no row order): pass a list")
    if not isinstance(formulas, Iterable):
        raise TypeError(f"formulas must be a formula or a sequence of formulas, got {type(formulas).__name__}")
    return formulas


#: Formulas featurised at a time by default.
BATCH_SIZE = 10_000


def check_batch_size(batch_size) -> int:
    """``batch_size`` as an int, or a clear error naming it.

    Raises
    ------
    TypeError
        For anything that is not a whole number (1.5, "2", None, a bool).
    ValueError
        For a number below 1.
    """
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be a whole number of formulas, got {batch_size!r} "
                        f"({type(batch_size).__name__})")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be at least 1")
    return int(batch_size)


def default_families(folder: str | Path) -> dict[str, str]:
    """The model family of each property (``conductivity``, ``windows``) a model folder predicts with by default.

    Read from the folder's ``families.json`` (written by training from ``TrainConfig.default_families``),
    verified by the folder's manifest first (:func:`predictor.artifacts.check_model_folder`);
    gradient-boosted for a property it does not name (older folders have no such file).

    Raises
    ------
    ModelLoadError
        When the file is not the one the folder's manifest lists, is unreadable or names an
        unknown family.
    """
    check_model_folder(folder, PREDICTION_FILES)
    path = Path(folder) / FAMILIES_FILE
    defaults = dict.fromkeys(PROPERTY_PARTS, GRADIENT_BOOSTED)
    if not path.is_file():
        return defaults
    document = read_json(path, what="a readable families file")
    chosen = document.get("default") if isinstance(document, dict) else None
    if not isinstance(chosen, dict):
        raise ModelLoadError(f"{path} is not a readable families file: expected an object with a 'default' object")
    for part, family in chosen.items():
        if part not in defaults or family not in MODEL_FAMILIES:
            raise ModelLoadError(f"{path}: {part!r}: {family!r} is not a property and model family this version "
                                 f"of predictor knows ({', '.join(PROPERTY_PARTS)}; {', '.join(MODEL_FAMILIES)})")
        defaults[part] = family
    return defaults


def available_families(folder: str | Path) -> list[str]:
    """The model families a model folder holds for both properties (an average when it holds its members)."""
    folder = Path(folder)
    stored = [family for family in STORED_FAMILIES
              if all((folder / family_part(family, part)).is_dir() for part in PROPERTY_PARTS)]
    return stored + [family for family, members in AVERAGED_FAMILIES.items() if set(members) <= set(stored)]


def load_property_model(folder: Path, family: str, part: str):
    """The ``part`` model ("conductivity" or "windows") of ``family`` in a model folder, calibrated.

    Raises
    ------
    ModelLoadError
        When the folder has no such model, or it cannot be loaded, or it has no calibrated uncertainty.
    """
    if family in AVERAGED_FAMILIES:
        from predictor.estimators.family_average import FamilyAverage

        members = [load_property_model(folder, member, part) for member in AVERAGED_FAMILIES[family]]
        if part == CONDUCTIVITY_DIR:
            return FamilyAverage(members)
        windows = WindowRegressor()
        windows.models_ = {limit: FamilyAverage([m.models_[limit] for m in members]) for limit in members[0].models_}
        return windows
    where = folder / family_part(family, part)
    if not where.is_dir():
        available = ", ".join(available_families(folder)) or "none"
        raise ModelLoadError(f"{folder} has no {family} {part} model ({where} is missing; families with both "
                             f"properties here: {available}); retrain with `predictor train`")
    # each part's manifest must name what this place of the layout holds (WindowRegressor checks its limits)
    model = (load_saved(where, holds=part_holds(CONDUCTIVITY_TARGET)) if part == CONDUCTIVITY_DIR
             else load_estimator(WindowRegressor, where))
    checked = {"": model} if part == CONDUCTIVITY_DIR else {f"/{k}": m for k, m in model.models_.items()}
    for name, part_model in checked.items():
        if getattr(part_model, "calibration_", None) is None:
            raise ModelLoadError(f"{where}{name}/estimator.json has no uncertainty calibration; the predictor "
                                 "reports calibrated uncertainties only: retrain with `predictor train`")
    return model


class Descriptors:
    """The descriptors of a batch of compositions, computed once per descriptor set and shared by the models."""

    def __init__(self, compositions: list):
        self.compositions = compositions
        self._features = {}

    def get(self, feature_sets) -> np.ndarray:
        """Descriptors ``feature_sets`` of the compositions, shape (n_compositions, n_features)."""
        key = tuple(feature_sets)
        if key not in self._features:
            self._features[key] = CompositionFeaturizer(key).transform(self.compositions)
        return self._features[key]


class Predictor:
    """Predicts room-temperature ionic conductivity and the electrochemical window from formulas.

    Every number comes with a calibrated uncertainty.

    Parameters
    ----------
    conductivity_model : PropertyRegressor
        A fitted conductivity model of any family (the protocol of
        :class:`predictor.estimators.base.PropertyRegressor`).
    window_model : WindowRegressor
        A fitted window model (either family).
    measured : MeasuredValues, optional
        The conductivity labels the model was trained on, reported beside the predictions of
        the compositions they cover (``measured_*`` columns); without it those stay empty.
    activation_model : ArrheniusModel, optional
        The activation-energy model (:mod:`predictor.estimators.gbm.activation_energy`); without it the
        ``Ea_*`` columns are NaN and only 25 °C can be predicted.

    Examples
    --------
    >>> from predictor import Predictor
    >>> table = Predictor.load().predict(["Li3YCl6", "Na3YCl6", "Li2ZrCl6"])
    >>> graph = Predictor.load(model_family="graph-network")  # both properties by the graph network
    """

    def __init__(self, conductivity_model, window_model: WindowRegressor,
                 measured: MeasuredValues | None = None, activation_model=None):
        self.activation_model = activation_model
        self.conductivity_model = conductivity_model
        self.window_model = window_model
        self.measured = measured
        #: A lab's measurements anchoring the conductivity predictions (:meth:`with_measurements`).
        self.anchors = None

    @classmethod
    def load(cls, path: str | Path | None = None, model_family: str | None = None) -> "Predictor":
        """Load the shipped models (``models/``, or ``$PREDICTOR_MODELS_DIR``, or ``path``).

        Parameters
        ----------
        path : str or Path, optional
            A model folder (written by ``predictor train``).
        model_family : {"gradient-boosted", "graph-network", "average"}, optional
            Predict both properties with this model family ("average": the mean of the other
            two, :mod:`predictor.estimators.family_average`); default: the family the folder's
            ``families.json`` names for each property (gradient-boosted for the shipped models:
            docs/method.md, "Model families", says why).

        Raises
        ------
        ModelLoadError
            When the files are missing, corrupted, were written by an incompatible version, or
            the folder has no models of ``model_family``.
        ValueError
            For a ``model_family`` this version of predictor does not know.
        """
        folder = Path(path) if path is not None else models_dir()
        if model_family is not None and model_family not in MODEL_FAMILIES:
            raise ValueError(f"model_family={model_family!r} is not one of {', '.join(MODEL_FAMILIES)}")
        if not folder.is_dir():
            raise ModelLoadError(f"model folder {folder} does not exist; run `predictor train` or pass the path")
        if model_family is None:
            families = default_families(folder)  # verifies the folder's top-level files first
        else:
            check_model_folder(folder, PREDICTION_FILES)
            families = dict.fromkeys(PROPERTY_PARTS, model_family)
        conductivity = load_property_model(folder, families[CONDUCTIVITY_DIR], CONDUCTIVITY_DIR)
        windows = load_property_model(folder, families[WINDOWS_DIR], WINDOWS_DIR)
        if not (folder / MEASURED_DIR).is_dir():
            raise ModelLoadError(f"{folder / MEASURED_DIR} is missing (the training labels reported beside "
                                 "predictions); retrain with `predictor train`")
        return cls(conductivity, windows, MeasuredValues.load(folder / MEASURED_DIR), load_activation_model(folder))

    def with_measurements(self, measurements, lab_std: float | None = None) -> Predictor:
        """This predictor with its conductivity predictions anchored to a lab's own measurements.

        Without retraining: each measured composition's error (measured minus predicted) moves
        the predictions of the compositions near it in descriptor space, and narrows their
        interval, by how much the model's held-out errors of one paper's compositions go
        together (:mod:`predictor.prediction.anchoring`); far from every measurement nothing changes. A
        measured composition itself returns its measurement (mean of its repeats) with the
        lab's spread (``lab_std / sqrt(n)`` for n repeats), and its ``measured_*`` columns name
        the rows; a trace of a dopant in it moves away from the measurement continuously. The
        kernel comes from the gradient-boosted model's held-out errors and is used for every
        model family.

        Parameters
        ----------
        measurements : path of a CSV file, or DataFrame
            The schema of ``predictor train --labels``: ``formula``, ``sigma_S_cm`` (S/cm) or
            ``log10_sigma``, optional ``T_C`` (°C, default 25; other temperatures need ``Ea_eV``),
            ``reference``, ``lab``, ``notes``.
        lab_std : float, optional
            Spread of the lab's repeated measurements of one composition (log10 S/cm); default
            :data:`predictor.prediction.anchoring.DEFAULT_LAB_STD`.

        Returns
        -------
        Predictor
            A new predictor; this one is unchanged.

        Raises
        ------
        LabelsError
            When the table cannot be read or no row is usable (each row's reason).
        ModelLoadError
            When the model folder predates anchoring (no ``measured/residual_kernel.json``).
        """
        import copy

        from predictor.prediction.anchoring import DEFAULT_LAB_STD, MeasurementAnchors, measurements_table

        kernel = getattr(self.measured, "kernel", None)
        if kernel is None:
            raise ModelLoadError("these models have no residual kernel (measured/residual_kernel.json): retrain "
                                 "with `predictor train` to anchor predictions to measurements")
        table = measurements_table(measurements)
        for row in table.attrs["rejected"].itertuples():
            log.warning("measurement row %s (%s) not used: %s", row.row, row.formula or "no formula", row.reason)
        compositions = [parse_formula(f) for f in table["formula"]]
        model, domain = self.conductivity_model, _descriptor_domain(self.conductivity_model)
        features = Descriptors(compositions).get(model.feature_sets)
        anchored = copy.copy(self)
        anchored.anchors = MeasurementAnchors(table, model.predict_distribution(compositions, features),
                                              standardised_descriptors(domain, features), kernel,
                                              DEFAULT_LAB_STD if lab_std is None else lab_std)
        return anchored

    def predict(self, formulas: Iterable[str] | str, batch_size: int = BATCH_SIZE,
                progress: bool = False, *, temperature_C: float = REFERENCE_TEMPERATURE_C) -> pd.DataFrame:
        """Predict every formula; one row per input, in input order.

        Parameters
        ----------
        formulas : str, sequence of str, pandas Series, 1-D array, iterator, or DataFrame
            The formulas; a DataFrame by its ``formula`` column (see :func:`formula_inputs`).
            A non-string element gives a row with an error.
        batch_size : int, default=10000
            Formulas featurised and predicted at a time (bounds the working memory).
        progress : bool, default=False
            Show a progress bar (formulas predicted).
        temperature_C : float, default=25
            Temperature (°C) of the conductivity columns. Away from 25 °C they are the
            room-temperature prediction moved with the predicted activation energy, the
            uncertainty of both propagated (:mod:`predictor.prediction.temperature`); at 25 °C they are the
            room-temperature prediction itself.

        Returns
        -------
        pandas.DataFrame
            Columns: ``formula`` (as given), ``reduced_formula``, ``carrier`` ("Li", "Na" or
            None), ``anion_family``, ``log10_sigma`` (log10 S/cm), ``log10_sigma_std``,
            ``log10_sigma_lo90`` and ``log10_sigma_hi90`` (calibrated 90 % interval),
            ``sigma_S_cm`` (S/cm), all at ``temperature_C``, ``conductivity_model`` (the model family behind the
            conductivity, e.g. "gradient-boosted"), ``temperature_C`` (°C), ``Ea_eV`` and
            ``Ea_eV_std`` (predicted activation energy and its calibrated std, eV; NaN without an
            activation-energy model), ``Ea_in_domain`` (the composition is inside the
            activation-energy model's domain), ``temperature_note`` (why the Ea or the
            temperature is less trustworthy: outside the Ea model's domain, a temperature outside
            what the Ea labels cover, or no Ea model), ``reduction_limit_V`` and
            ``oxidation_limit_V`` (V vs ``window_reference``, "Li+/Li" or "Na+/Na") with their
            calibrated ``_std``, ``window_model``, ``measured_log10_sigma`` (log10 S/cm: the
            label the model was trained on, when the composition is in the training data: the
            same composition by :func:`predictor.composition.same_composition`; NaN otherwise), ``measured_n`` (reports merged into
            it, 0 when not measured), ``measured_refs`` (their DOIs or references),
            ``in_domain`` (bool), ``domain_notes`` (why a row is out of domain), ``error`` (empty, or why the row could not be predicted;
            its numbers are then NaN). A bad formula never spoils the other rows.

        Raises
        ------
        TypeError, ValueError
            For formulas of a refused type (:func:`formula_inputs`), a ``batch_size`` that is not
            a whole number of at least 1, or a temperature as in :meth:`iter_predict`; before any
            formula is read.
        """
        batch_size = check_batch_size(batch_size)
        temperature_C = self.check_temperature(temperature_C)
        formulas = list(formula_inputs(formulas))
        tables = list(self._iter_batches(formulas, batch_size, progress, temperature_C))
        if len(tables) <= 1:  # the common case: skip concat's copy
            return tables[0] if tables else empty_table()
        return pd.concat(tables, ignore_index=True)

    def iter_predict(self, formulas: Iterable[str], batch_size: int = BATCH_SIZE,
                     progress: bool = False, *, temperature_C: float = REFERENCE_TEMPERATURE_C) -> Iterator[pd.DataFrame]:
        """Predict formulas lazily, one table per batch of ``batch_size`` (see :meth:`predict`).

        Memory stays bounded for any number of formulas: read, predict and write a batch at a
        time (``predictor predict --input`` does this).

        Raises
        ------
        TypeError, ValueError
            At the call, before any formula is read: for a temperature that is not a number, not
            finite, or at or below -273.15 °C, a ``batch_size`` that is not a whole number of at
            least 1, or formulas of a refused type (:func:`formula_inputs`).
        ModelLoadError
            For a temperature other than 25 °C without an activation-energy model.
        """
        temperature_C = self.check_temperature(temperature_C)
        batch_size = check_batch_size(batch_size)
        return self._iter_batches(formula_inputs(formulas), batch_size, progress, temperature_C)

    def _iter_batches(self, formulas: Iterable, batch_size: int, progress: bool,
                      temperature_C: float) -> Iterator[pd.DataFrame]:
        total = len(formulas) if hasattr(formulas, "__len__") else None
        iterator = iter(formulas)
        with tqdm(total=total, desc="predicting", unit="formula", disable=not progress) as bar:
            while batch := list(islice(iterator, batch_size)):
                yield self._predict_batch(batch, temperature_C)
                bar.update(len(batch))

    def check_temperature(self, temperature_C) -> float:
        """The temperature (°C) as a float, or a clear error (see :meth:`iter_predict`)."""
        temperature_C = check_temperature_C(temperature_C)
        if temperature_C != REFERENCE_TEMPERATURE_C and self.activation_model is None:
            raise ModelLoadError(f"temperature_C={temperature_C:g}: conductivity away from 25 °C needs the "
                                 f"activation-energy model ({ACTIVATION_DIR}/ in the model folder), which these "
                                 "models do not have; retrain with `predictor train`")
        return temperature_C

    def _predict_batch(self, formulas: list, temperature_C: float = REFERENCE_TEMPERATURE_C) -> pd.DataFrame:
        rows, compositions, good = [], [], []
        for i, formula in enumerate(formulas):
            row = unpredicted_row(formula, temperature_C)
            try:
                composition = parse_formula(formula)
            except CompositionError as exc:
                row["error"] = str(exc)
            else:
                info = describe(composition)
                row.update(reduced_formula=info.reduced_formula, carrier=info.carrier, anion_family=info.anion_family,
                           window_reference=REFERENCE_ELECTRODES.get(info.carrier, ""))
                row["domain_notes"] = "; ".join(info.chemical_domain_notes)
                compositions.append(composition)
                good.append(i)
            rows.append(row)

        if compositions:
            model = self.conductivity_model
            descriptors = Descriptors(compositions)
            features = descriptors.get(model.feature_sets)
            result = model.predict_distribution(compositions, features)
            yours = None
            if self.anchors is not None:
                domain = _descriptor_domain(model)

                def predict_versions(versions):
                    version_features = Descriptors(versions).get(model.feature_sets)
                    prediction = model.predict_distribution(versions, version_features)
                    return prediction["mean"], prediction["std"], standardised_descriptors(domain, version_features)

                result, yours = self.anchors.correct(compositions, standardised_descriptors(domain, features), result,
                                                     predict_versions, getattr(model, "interval_ceiling", None))
            window_features = descriptors.get(self.window_model.feature_sets)
            windows = self.window_model.predict_distribution(compositions, window_features)
            notes = model.domain_notes(compositions, features, result)
            window_notes = self.window_model.domain_notes(compositions, window_features, windows)
            elements = [{e.symbol for e in c.elements} for c in compositions]
            result, activation, temperature_notes = self._at_temperature(result, descriptors, elements, temperature_C)
            for lookup in (self.measured.lookup(compositions) if self.measured is not None else None, yours):
                for k, measured in enumerate([] if lookup is None else lookup.to_dict("records")):
                    if measured["measured_n"]:  # a lab's measurement comes after, and over, the training label
                        rows[good[k]].update(measured)
            for k, i in enumerate(good):
                row = rows[i]
                row.update(
                    log10_sigma=result["mean"][k], log10_sigma_std=result["std"][k],
                    log10_sigma_lo90=result["lo"][k], log10_sigma_hi90=result["hi"][k],
                    sigma_S_cm=10.0 ** result["mean"][k], conductivity_model=model.model_family,
                    Ea_eV=activation["mean"][k], Ea_eV_std=activation["std"][k],
                    Ea_in_domain=not activation["notes"][k], temperature_note="; ".join(temperature_notes[k]),
                )
                if row["window_reference"]:
                    for limit, prediction in windows.items():
                        row[limit], row[f"{limit}_std"] = prediction["mean"][k], prediction["std"][k]
                    row["window_model"] = self.window_model.model_family
                window_row_notes = [f"window model: {n}" for n in window_notes[k]] if row["window_reference"] else []
                all_notes = [n for n in (row["domain_notes"], *notes[k], *window_row_notes) if n]
                row["domain_notes"] = "; ".join(all_notes)
                row["in_domain"] = not all_notes

        # fromiter: an input element that is itself a sequence (a per-row error) stays one element
        return pd.DataFrame({c: np.fromiter((row[c] for row in rows), dtype=COLUMN_TYPES[c], count=len(rows))
                             for c in COLUMNS})

    def _at_temperature(self, result: dict, descriptors: Descriptors, elements: list[set[str]],
                        temperature_C: float) -> tuple[dict, dict, list[list[str]]]:
        """The conductivity prediction moved to ``temperature_C``, the Ea prediction and the notes per row."""
        n = len(descriptors.compositions)
        if self.activation_model is None:
            missing = "activation energy not predicted: the model folder has no activation-energy model"
            nan = np.full(n, np.nan)
            return result, {"mean": nan, "std": nan, "notes": [(missing,)] * n}, [[missing] for _ in range(n)]
        features = descriptors.get(self.activation_model.ea_model.feature_sets)
        activation = self.activation_model.predict_distribution(descriptors.compositions, features)
        domain = self.activation_model.ea_model.domain_.notes(features, elements, distance=activation["distance"])
        moved = propagate(result["mean"], result["std"], result["lo"], result["hi"], activation["mean"],
                          activation["std"], self.activation_model.correlation, temperature_C)
        note = self.activation_model.temperature_note(temperature_C)
        notes = [[f"activation-energy model: {d}" for d in row] + ([note] if note else []) for row in domain]
        return {**result, **moved}, {**activation, "notes": domain}, notes


def _descriptor_domain(model):
    """The descriptor domain of a conductivity model (of its first member for the family average)."""
    domain = getattr(model, "domain_", None)
    if domain is None and getattr(model, "models", None):
        domain = getattr(model.models[0], "domain_", None)
    if domain is None:
        raise ModelLoadError(f"the {model.model_family} conductivity model has no descriptor domain to anchor in")
    return domain


def load_activation_model(folder: Path):
    """The activation-energy model of a model folder, or None when the folder has none (older models).

    Raises
    ------
    ModelLoadError
        When the folder has one that cannot be loaded, or without calibrated uncertainty.
    """
    from predictor.estimators.gbm.activation_energy import ArrheniusModel

    path = Path(folder) / ACTIVATION_DIR
    if not path.exists():
        log.info("%s has no activation-energy model: conductivity at 25 °C only", folder)
        return None
    model = load_estimator(ArrheniusModel, path)
    if model.ea_model.calibration_ is None:
        raise ModelLoadError(f"{path} has no uncertainty calibration; the predictor reports calibrated "
                             "uncertainties only: retrain with `predictor train`")
    return model
