"""Experiments: a dataset version + encoder + model graph + training settings → a folder of
checkpoints and per-epoch metrics, registered in the catalog.

    store.py      records and lookups (light: what serving and deployments read)
    configure.py  preset + config file + overrides → a resolved ExperimentConfig
    run.py        train and resume (the one training loop, checkpoints, metrics)
    compare.py    experiments side by side

This file imports none of them, so finding a checkpoint never loads the training code."""
