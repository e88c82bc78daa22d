"""The project's curated literature datasets: halide conductivities and electrochemical windows.

Two CSV files live in ``datasets/`` (see ``datasets/README.md`` for the datasheet):

``halide_conductivity.csv``
    One row per reported ionic-conductivity measurement (or activation energy), with the
    verbatim quote, the DOI or full reference, and every cleaning decision in ``notes``.
``electrochemical_windows.csv``
    One row per reported reduction/oxidation limit, converted to V vs Li+/Li or Na+/Na when the
    source states the reference electrode (or the value is computed against the metal).

One module per job: :mod:`.tables` reads them with fixed dtypes, :mod:`.schema` checks them
against the schema rules (:func:`validate_conductivity`, :func:`validate_windows`) and reads
the files refused unless they pass them (:func:`checked_conductivity_table`, :func:`checked_window_table`),
:mod:`.conductivity_labels` derives one room-temperature conductivity per composition
(:func:`room_temperature_conductivity`) and :mod:`.window_aggregation` one window per
composition and method (:func:`room_temperature_windows`). Their public names are all
available from this package (``from predictor.loaders import curated; curated.read_window_table()``).
"""

from predictor.loaders.curated.conductivity_labels import (
    LABEL_ARRHENIUS,
    LABEL_COMPUTED,
    LABEL_MEASURED,
    LABEL_PRIORITY,
    LABEL_UNSTATED,
    ROOM_TEMPERATURE_COLUMNS,
    room_temperature_conductivity,
    room_temperature_labels,
)
from predictor.loaders.curated.schema import (
    ANION_FAMILIES,
    BOUNDS,
    CARRIERS,
    CONDUCTIVITY_VALUE_KINDS,
    STRUCTURE_TYPES,
    WINDOW_METHOD_FAMILIES,
    WINDOW_VALUE_KINDS,
    checked_conductivity_table,
    checked_window_table,
    validate_conductivity,
    validate_windows,
)
from predictor.loaders.curated.tables import (
    CONDUCTIVITY_COLUMNS,
    CONDUCTIVITY_FILE,
    WINDOW_COLUMNS,
    WINDOWS_FILE,
    read_conductivity_table,
    read_window_table,
)
from predictor.loaders.curated.window_aggregation import WINDOW_LABEL_COLUMNS, room_temperature_windows

__all__ = [
    "ANION_FAMILIES", "BOUNDS", "CARRIERS", "CONDUCTIVITY_COLUMNS", "CONDUCTIVITY_FILE", "CONDUCTIVITY_VALUE_KINDS",
    "LABEL_ARRHENIUS", "LABEL_COMPUTED", "LABEL_MEASURED", "LABEL_PRIORITY", "LABEL_UNSTATED",
    "ROOM_TEMPERATURE_COLUMNS", "STRUCTURE_TYPES", "WINDOWS_FILE", "WINDOW_COLUMNS", "WINDOW_LABEL_COLUMNS",
    "WINDOW_METHOD_FAMILIES", "WINDOW_VALUE_KINDS", "read_conductivity_table",
    "checked_conductivity_table", "checked_window_table", "read_window_table", "room_temperature_conductivity",
    "room_temperature_labels", "room_temperature_windows",
    "validate_conductivity", "validate_windows",
]
