"""predictor: ionic conductivity and electrochemical window of solid electrolytes from composition."""

from predictor.composition import parse_formula
from predictor.errors import CompositionError, DataNotFoundError, ModelLoadError, PredictorError
from predictor.estimators import ConductivityRegressor
from predictor.predictor import Predictor

__version__ = "0.1.0"

__all__ = [
    "CompositionError",
    "ConductivityRegressor",
    "DataNotFoundError",
    "ModelLoadError",
    "Predictor",
    "PredictorError",
    "parse_formula",
    "__version__",
]
