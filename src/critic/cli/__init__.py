"""The `critic` command: a thin layer over importable functions. Each command parses its options,
calls one library function, and renders the result with rich.

    app.py          the root command, --version, shell completion, main()
    data.py         critic data import | split | list | show | stats
    train.py        critic train
    experiments.py  critic experiments list | show | compare
    evaluate.py     critic evaluate, critic predict
    export.py       critic export (a checkpoint as ONNX + tokenizer + export.json)
    deploy.py       critic deploy create | list | show | enable | disable | rotate-token | delete
    serve.py        critic serve (and the address it records for printed URLs)
    models.py       critic models list | show
    sweep.py        critic sweep create | show | list | cancel (and the hidden trial)
    db.py           critic db status | upgrade
    quickstart.py   critic quickstart
    render.py       the rich tables and lines the commands share
    base.py         the Typer app class (flags shown as flags)
    defaults.py     defaults shown in --help, copied from heavy modules

Importing this package loads typer and rich only (see app.py)."""

from critic.cli.app import app, main
from critic.cli.render import console

__all__ = ["app", "main", "console"]
