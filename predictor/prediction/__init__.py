"""What a trained model folder offers beside :class:`predictor.Predictor`.

:mod:`.temperature` (conductivity at any temperature: the Arrhenius conversion and its
uncertainty), :mod:`.arrhenius` (curves and their plot), :mod:`.measured` (the training labels shown
beside predictions), :mod:`.anchoring` (predictions anchored to a lab's measurements) and
:mod:`.screening` (doping series enumerated and ranked).
"""
