"""The gradient-boosted family: bags of LightGBM models (:mod:`.bagging`) for conductivity
(:mod:`.model`), the window limits (through :class:`predictor.estimators.WindowRegressor`) and the
activation energy (:mod:`.activation_energy`)."""
