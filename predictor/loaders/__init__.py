"""Loaders of conductivity and window labels (OBELiX, Liverpool database, curated datasets).

Modules: :mod:`.combined` (one table of conductivity labels from every source),
:mod:`.window_labels` (window labels), :mod:`.obelix`, :mod:`.liiondb` and :mod:`.curated`
(one per source).
"""

#: Conductivity sources, in order of precedence when a composition appears in several.
SOURCES = ("obelix", "curated", "liiondb")
#: Every conductivity source ``--sources`` accepts: the default ones and the Laskowski table.
ALL_SOURCES = (*SOURCES, "laskowski")

#: Room temperature (°C, inclusive): the measurements every loader takes as room-temperature labels.
#: Why 25 ± 5 °C: it is what papers mean by "room temperature", and over it the temperature
#: alone moves log10 sigma by at most 0.14 (sigma*T Arrhenius law with Ea = 0.5 eV: 0.027 per K
#: at 25 °C), a third or less of the 0.4-1 decade by which the same composition differs between
#: labs. A 15-35 °C range doubles that to 0.28, for 22 more of the Liverpool database's 820
#: measurements (465 in 15-35 °C, 443 in 20-30 °C; the curated set has none in between).
ROOM_TEMPERATURE_RANGE_C = (20.0, 30.0)
#: The temperature a room-temperature label stands for (°C): Arrhenius estimates are made at it.
LABEL_TEMPERATURE_C = 25.0
