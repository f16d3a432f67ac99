"""`critic train`: a preset or a block graph from a config file, trained on a dataset version,
in this process, in `--nproc` processes, or as one rank of a group torchrun started."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer

from critic.cli.failure import say
from critic.cli.render import print_experiment

__all__ = ["train_command"]

# escaped: rich would take [model] for markup and drop it
_NEURAL = "(neural models; the linear model takes its settings from its \\[model] table)"


def train_command(
    dataset: str | None = typer.Option(
        None, "--dataset", "-d", help="NAME or NAME@VERSION to train on."
    ),
    preset: str | None = typer.Option(
        None, "--preset", "-p", help="A model preset (see `critic models list`)."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="TOML (or YAML) file with encoder, model (blocks) and train tables.",
    ),
    name: str | None = typer.Option(None, "--name", help="Experiment name (default: PRESET-N)."),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue this experiment from its last finished epoch."
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", help=f"Passes over the train subset {_NEURAL}."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Texts per optimizer step."),
    learning_rate: float | None = typer.Option(
        None, "--learning-rate", "--lr", help="The optimizer's step size."
    ),
    optimizer: str | None = typer.Option(
        None, "--optimizer", help="adam, adamw, sgd, rmsprop or adadelta."
    ),
    weight_decay: float | None = typer.Option(
        None, "--weight-decay", help="L2 penalty (AdamW: decoupled decay); 0 = none."
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        help="Seeds the weights, dropout and batch order: the same seed gives the same run on one machine.",
    ),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    threads: int | None = typer.Option(
        None, "--threads", help="CPU threads for torch (0 = its default)."
    ),
    checkpoint_metric: str | None = typer.Option(
        None, "--checkpoint-metric", help="val_loss (default) or val_accuracy."
    ),
    early_stopping: int | None = typer.Option(
        None, "--early-stopping", help="Patience in epochs (0 = off)."
    ),
    class_weight: str | None = typer.Option(
        None, "--class-weight", help="none, balanced, or LABEL=W,LABEL=W."
    ),
    sequence_length: int | None = typer.Option(
        None,
        "--sequence-length",
        help="Tokens kept per text by the word or WordPiece encoder; longer texts are cut, shorter ones padded.",
    ),
    max_words: int | None = typer.Option(
        None,
        "--max-words",
        help="Vocabulary of the word encoders: the most frequent words of the train subset.",
    ),
    pretrained: str | None = typer.Option(
        None,
        "--pretrained",
        help="For BERT-style presets: a local model directory or hub name to use instead of the preset's.",
    ),
    nproc: int = typer.Option(
        1,
        "--nproc",
        help="Processes to train one model in (DistributedDataParallel: gloo on CPU, nccl on GPUs, "
        "one GPU each); --batch-size stays the global batch. Neural models only; not under torchrun.",
    ),
) -> None:
    """Train a model on a dataset version: a preset, or your own block graph from --config."""
    from critic.distributed import check_nproc, crowding, joined_from_env
    from critic.errors import SettingsError
    from critic.experiments.configure import build_config
    from critic.experiments.run import resume_experiment, train_experiment
    from critic.progress import TrainingView

    train = _given(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        weight_decay=weight_decay,
        seed=seed,
        device=device,
        threads=threads,
        checkpoint_metric=checkpoint_metric,
        early_stopping=early_stopping,
        class_weight=class_weights(class_weight) if class_weight else None,
    )
    check_nproc(nproc)
    if warning := crowding(nproc):
        say(f"warning: {warning}", error=False)
    with joined_from_env() as ranks, TrainingView() if ranks.leads else nullcontext(_quiet) as view:
        if resume:
            if set(train) - {"epochs"} or dataset or preset or config or pretrained:
                raise SettingsError(
                    "--resume continues with the run's saved settings; only --epochs may change"
                )
            experiment = resume_experiment(resume, log=view, epochs=epochs, nproc=nproc)
        else:
            if not dataset:
                raise SettingsError("name the data with --dataset NAME (see `critic data list`)")
            encoder = _given(sequence_length=sequence_length, max_words=max_words)
            cfg = build_config(
                dataset,
                preset=preset,
                config_file=config,
                train=train,
                encoder=encoder,
                pretrained=pretrained,
            )
            experiment = train_experiment(cfg, name=name, log=view, nproc=nproc)
    if experiment is not None:  # None: a rank other than 0 of a torchrun group
        print_experiment(experiment)


def _quiet(event: dict) -> None:
    """The progress view of a rank other than 0: rank 0 shows the run."""


def _given(**options) -> dict:
    """The options given on the command line (None: not given, so the preset's or the file's value stays)."""
    return {k: v for k, v in options.items() if v is not None}


def class_weights(text: str) -> str | dict[str, float]:
    """--class-weight: none, balanced, or LABEL=WEIGHT,... → {label: weight}."""
    from critic.config import parse_class_weight

    return parse_class_weight(text)
