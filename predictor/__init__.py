"""predictor: ionic conductivity and electrochemical window of solid electrolytes from composition."""

from predictor.composition import parse_formula
from predictor.errors import CompositionError, DataNotFoundError, ModelLoadError, PredictorError

__version__ = "0.1.0"

__all__ = [
    "CompositionError",
    "DataNotFoundError",
    "ModelLoadError",
    "PredictorError",
    "parse_formula",
    "__version__",
]
