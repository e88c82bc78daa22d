"""Exceptions raised for bad user input and unusable artifacts."""

from __future__ import annotations


class PredictorError(Exception):
    """Base class of every error this package raises on purpose."""


class CompositionError(PredictorError, ValueError):
    """A formula that cannot be turned into a valid composition.

    The message always names the offending input and the reason.
    """

    def __init__(self, formula: object, reason: str):
        self.formula = formula
        self.reason = reason
        super().__init__(f"{shorten(repr(formula))}: {reason}")


#: Characters of an input echoed in an error message; longer inputs end in "...".
MAX_ECHO = 60


def shorten(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters plus "..." when longer (inputs echoed in messages)."""
    return text if len(text) <= limit else text[:limit] + "..."


class ModelLoadError(PredictorError, RuntimeError):
    """Model artifacts that are missing, corrupted or from an incompatible version."""


class DataNotFoundError(PredictorError, FileNotFoundError):
    """A third-party data set that is not in the configured data directory."""


class FewerSourcesError(PredictorError, RuntimeError):
    """Training would replace models trained on more data sources with models trained on fewer."""


class LabelsError(PredictorError, ValueError):
    """A lab's labels table cannot be used as a whole (unreadable, no formula column, unknown columns)."""


class TableError(PredictorError, ValueError):
    """A data table with rows that cannot be used; the message names every one.

    ``problems`` holds one line per bad row and rule, each naming the table, the row (its id
    or number), the column, the value and the reason.
    """

    def __init__(self, problems: list[str], what: str = "the table"):
        self.problems = list(problems)
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(f"{what}: {count}\n" + "\n".join(f"  {line}" for line in self.problems))
