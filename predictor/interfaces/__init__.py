"""The ways in: the command line (:mod:`.cli`, its text tables in :mod:`.formatting` and figures in
:mod:`.plots`), the MLflow model and its server (:mod:`.serving`) and Dask clusters
(:mod:`.distributed`)."""
