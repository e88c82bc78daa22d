"""Thermodynamic electrochemical stability windows from phase diagrams.

>>> from predictor.electrochem import ThermodynamicWindow
>>> ThermodynamicWindow().compute("Li3InCl6").oxidation_limit_V  # doctest: +SKIP
4.30

Modules: :mod:`~predictor.electrochem.energies` (energy tables and the mixing rule),
:mod:`~predictor.electrochem.alignment` (experimental enthalpies onto the MP scale),
:mod:`~predictor.electrochem.diagrams` (phase diagrams cached per chemical system),
:mod:`~predictor.electrochem.profile` (limits along the carrier line),
:mod:`~predictor.electrochem.checks` (sanity notes on products),
:mod:`~predictor.electrochem.thermodynamic_window` (public API), :mod:`~predictor.electrochem.generate`
(the ``datasets/thermodynamic_windows.csv`` script).
"""

from predictor.electrochem.energies import EnergyTable, default_energy_table
from predictor.electrochem.thermodynamic_window import ThermodynamicWindow, WindowResult, choose_carrier

__all__ = ["EnergyTable", "ThermodynamicWindow", "WindowResult", "choose_carrier", "default_energy_table"]
