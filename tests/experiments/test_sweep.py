"""Sweeps: the search space (parsed, checked against the preset, every refusal naming its
setting), a run stopped by its own `log` left stopped, and a real sweep of 4 trials run 2 at a
time as jobs, one of them pruned, stored in the catalog's database, shown with its best trial,
importances and pictures, its trials side by side in `experiments compare`; cancelling."""

from __future__ import annotations

from datetime import datetime

import pytest

from critic.data import import_dataset
from critic.data.split import SplitSettings
from critic.errors import InvalidName, RunStopped, SettingsError, SweepNotFound
from critic.experiments.compare import compare_experiments
from critic.experiments.configure import build_config
from critic.experiments.run import resume_experiment, train_experiment
from critic.experiments.store import get_experiment
from critic.experiments.sweep import (
    SweepSettings,
    create_sweep,
    list_sweeps,
    load_sweep,
    report_sweep,
    run_sweep,
    storage_url,
)
from critic.experiments.sweep_space import (
    apply_settings,
    check_space,
    example_spaces,
    load_space,
    parse_space,
    read_toml,
    space_toml,
)
from critic.jobs.commands import check_command, kind_of, target_of
from tests.conftest import sentiment_rows, write_csv
from tests.test_cli import run

LR = "train.learning_rate"
# multi-hot-mlp on tiny@1 (64 train, 16 validation), batch 16, one thread: the validation loss
# after epochs 1-3 is 0.660, 0.531, 0.242 at lr 0.01; 0.655, 0.492, 0.147 at lr 0.012 (better at
# every epoch); 0.690 flat at lr 1e-6. Trials 0 and 1 are the same run (neither is ever worse
# than the other, whichever ends first), trial 2 is cut after epoch 1 by the median of any
# finished trial (it starts only when one has ended: 2 at a time), trial 3 is better than all.
FIRST = [{LR: 0.01}, {LR: 0.01}, {LR: 1e-6}, {LR: 0.012}]
SPACE = {
    "train": {
        "learning_rate": {"float": [1e-6, 0.1], "log": True},
        "epochs": 3,
        "batch_size": 16,
        "threads": 1,
    }
}


def _error(tables) -> str:
    with pytest.raises(SettingsError) as caught:
        parse_space(tables, where="space.toml")
    return str(caught.value)


# -- the search space -----------------------------------------------------------------------------


def test_a_space_file_gives_ranges_choices_and_fixed_settings(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        "[train.learning_rate]\nfloat = [1e-4, 1e-2]\nlog = true\n\n"
        "[train.batch_size]\nchoice = [16, 32, 64]\n\n"
        "[model.ngram_max]\nint = [1, 3]\n\n"
        "[model.dropout.rate]\nfloat = [0.0, 0.5]\nstep = 0.1\n\n"
        "[train]\nepochs = 4\n"
    )
    space = load_space(path)
    assert space.keys() == [LR, "train.batch_size", "model.ngram_max", "model.dropout.rate"]
    lr, batch, ngram, dropout = space.params
    assert (lr.kind, lr.low, lr.high, lr.log, lr.step) == ("float", 1e-4, 1e-2, True, None)
    assert (batch.kind, batch.choices) == ("choice", (16, 32, 64))
    assert (ngram.kind, ngram.low, ngram.high) == ("int", 1, 3)
    assert (dropout.step, dropout.values_to_check()) == (0.1, (0.0, 0.5))
    assert space.fixed == {"train.epochs": 4}
    d = space.distributions()
    assert (
        d[LR].log
        and d["model.ngram_max"].high == 3
        and d["train.batch_size"].choices == (16, 32, 64)
    )


@pytest.mark.parametrize(
    "tables, named",
    [
        (
            {"dataset": {"x": 1}, "train": {"epochs": {"int": [1, 3]}}},
            "unknown table(s) ['dataset']",
        ),
        (
            {"train": {"learning_rate": {"float": [1e-4, 1e-2], "int": [1, 2]}}},
            "[train.learning_rate] gives float and int",
        ),
        (
            {"train": {"learning_rate": {"float": [1e-4]}}},
            "[train.learning_rate]: float is two numbers",
        ),
        (
            {"train": {"learning_rate": {"float": [0.1, 0.01]}}},
            "[train.learning_rate]: low must be below high",
        ),
        (
            {"train": {"learning_rate": {"float": [0.0, 0.1], "log": True}}},
            "[train.learning_rate]: a log scale needs low > 0",
        ),
        (
            {"train": {"learning_rate": {"float": [1e-4, 0.1], "scale": "log"}}},
            "[train.learning_rate]: unknown key(s) ['scale']",
        ),
        ({"train": {"epochs": {"int": [1.5, 3]}}}, "[train.epochs]: int is two whole numbers"),
        ({"train": {"batch_size": {"choice": []}}}, "[train.batch_size]: choice is a list"),
        (
            {"train": {"batch_size": {"choice": [16, 16]}}},
            "[train.batch_size]: choice lists a value twice",
        ),
        (
            {"train": {"batch_size": {"choice": [16, 32], "log": True}}},
            "[train.batch_size]: log and step go with float or int",
        ),
        ({"model": {"dropout": {}}}, "[model.dropout] is empty"),
        ({"train": {"epochs": 3}}, "nothing to search"),
    ],
)
def test_a_malformed_space_is_refused_in_one_line_naming_the_setting(tables, named):
    message = _error(tables)
    assert named in message and message.startswith("space.toml") and "\n" not in message


def test_each_setting_is_tried_against_the_preset_at_both_ends():
    mlp = build_config("tiny@1", preset="multi-hot-mlp")
    linear = build_config("tiny@1", preset="linear")
    cases = [
        (
            mlp,
            {"train": {"lr": {"float": [1e-4, 0.1]}}},
            "[train.lr] = 0.0001: unknown train setting(s) ['lr']",
        ),
        (
            mlp,
            {"train": {"batch_size": {"int": [0, 32]}}},
            "[train.batch_size] = 0: epochs and batch_size must be at least 1",
        ),
        (
            mlp,
            {"model": {"conv": {"filters": {"int": [8, 16]}}}},
            "the model has no block 'conv'; its blocks: dense, dropout",
        ),
        (mlp, {"model": {"dropout": {"units": {"int": [8, 16]}}}}, "[model.dropout.units] = 8"),
        (
            linear,
            {"model": {"ngram_max": {"int": [1, 5]}}},
            "[model.ngram_max] = 5: n-gram range must satisfy",
        ),
        (
            linear,
            {"train": {"learning_rate": {"float": [1e-4, 0.1]}}},
            "does not use train.learning_rate; search its own settings: model.ngram_min",
        ),
        (linear, {"encoder": {"max_words": {"int": [100, 200]}}}, "takes no encoder settings"),
        (
            linear,
            {"model": {"C": {"float": [0.1, 1.0]}}, "train": {"epochs": 3}},
            "space.toml: the linear model is fitted in one pass and does not use train.epochs",
        ),
    ]
    for config, tables, named in cases:
        with pytest.raises(SettingsError) as caught:
            check_space(parse_space(tables, "space.toml"), config, "space.toml")
        assert named in str(caught.value) and "\n" not in str(caught.value), (
            tables,
            str(caught.value),
        )


def test_settings_reach_the_train_encoder_and_model_tables():
    mlp = build_config("tiny@1", preset="multi-hot-mlp")
    done = apply_settings(
        mlp,
        {LR: 0.02, "encoder.max_words": 500, "model.dropout.rate": 0.1, "model.dense2.units": 8},
    )
    blocks = {b.id: b.params for b in done.model.blocks}
    assert done.train.learning_rate == 0.02 and done.encoder.max_words == 500
    assert blocks["dropout"].rate == 0.1 and blocks["dense2"].units == 8
    assert blocks["dropout2"].rate == 0.2 and done.preset == "multi-hot-mlp.v1"  # the rest kept
    linear = apply_settings(
        build_config("tiny@1", preset="linear"), {"model.C": 0.5, "model.ngram_max": 2}
    )
    assert linear.model.C == (0.5,) and linear.model.ngram_max == 2 and linear.preset == "linear.v2"


def test_a_space_is_written_back_as_it_reads_and_every_preset_has_an_example():
    tables = {
        "train": {"epochs": 3, "learning_rate": {"float": [1e-6, 0.1], "log": True}},
        "model": {
            "dropout": {"rate": 0.2, "units": {"int": [8, 64], "step": 8}},
            "x": {"choice": [True, "a", 1.5]},
        },
    }
    text = space_toml(tables)
    assert text.startswith(
        "[train]\nepochs = 3\n\n[model]\ndropout.rate = 0.2\n\n[train.learning_rate]\n"
    )
    assert parse_space(read_toml(text, "x")) == parse_space(tables)
    examples = example_spaces()
    assert set(examples) >= {"linear", "kim-cnn", "multi-hot-mlp", "bert"}
    for preset, example in examples.items():
        config = build_config("tiny@1", preset=preset) if preset in ("linear", "kim-cnn") else None
        space = parse_space(read_toml(example, preset))
        if config is not None:
            check_space(space, config, preset)  # the example fits its preset
    assert parse_space(read_toml(examples["linear"], "linear")).keys() == [
        "model.C",
        "model.ngram_max",
    ]


# -- a run stopped by its own log -----------------------------------------------------------------


def test_a_run_its_log_stops_is_left_stopped_and_resumable(workspace, tiny_dataset):
    def stop_after_first_epoch(event):
        if event["event"] == "epoch_start" and event["epoch"] == 2:
            raise RunStopped("pruned after epoch 1 (val_loss 0.7)")

    config = build_config(tiny_dataset, preset="multi-hot-mlp", train={"epochs": 2})
    with pytest.raises(RunStopped):
        train_experiment(config, name="cut", log=stop_after_first_epoch)
    cut = get_experiment("cut")
    assert cut.status == "stopped" and cut.record.epochs_done == 1
    assert (
        cut.record.error
        == "pruned after epoch 1 (val_loss 0.7); continue with critic train --resume cut"
    )
    assert resume_experiment("cut").record.epochs_done == 2


# -- sweeps ---------------------------------------------------------------------------------------


def test_the_trial_job_is_an_allowed_command_named_after_its_sweep():
    argv = ("sweep", "trial", "s1")
    assert kind_of(argv) == "trial" and check_command("trial", argv) == argv
    assert target_of("trial", argv) == "s1"
    with pytest.raises(InvalidName):
        check_command("trial", ("sweep", "trial", "../s1"))


@pytest.mark.both_engines
def test_a_sweep_runs_its_trials_two_at_a_time_and_prunes_one(
    workspace, tiny_dataset, monkeypatch, capsys
):
    settings = SweepSettings(trials=4, parallel=2, prune_from_epoch=1, prune_after_trials=1)
    space = parse_space(SPACE)
    created = create_sweep(tiny_dataset, "multi-hot-mlp", space, settings, name="s1", first=FIRST)
    assert (
        created.status == "queued"
        and [j.argv for j in created.jobs] == [("sweep", "trial", "s1")] * 4
    )
    assert [t.state for t in created.trials] == ["waiting"] * 4
    assert load_space(created.folder / "space.toml") == space  # kept as given, for --space again

    rounds = []
    sweep = run_sweep("s1", workspace=workspace, interval=0.2, on_round=rounds.append)

    why = [(j.state, j.exit_code, j.error) for j in sweep.jobs if j.state != "done"]
    assert sweep.status == "done" and not why, why  # a failed job's last log lines, if any
    assert {t.number: t.state for t in sweep.trials} == {
        0: "complete",
        1: "complete",
        2: "pruned",
        3: "complete",
    }
    assert [t.experiment for t in sweep.trials] == [f"s1-t00{i}" for i in range(4)]
    assert sweep.best.number == 3 and sweep.best.params == {LR: 0.012}
    assert sweep.trials[0].value == sweep.trials[1].value > sweep.best.value  # the same run twice
    assert sweep.trials[2].epochs.keys() == {1} and sweep.trials[2].value is None
    assert _most_at_once(sweep.jobs) == 2  # two at a time, never more
    assert any(r.count("running") == 2 for r in rounds)

    pruned = get_experiment("s1-t002")
    assert pruned.status == "stopped" and pruned.record.epochs_done == 1
    assert pruned.record.error.startswith("pruned after epoch 1 (val_loss 0.6")
    for n in (0, 1, 3):
        done = get_experiment(f"s1-t00{n}")
        assert done.status == "done" and done.record.epochs_done == 3
        assert done.record.config["train"]["checkpoint_metric"] == "val_loss"
        best = next(e for e in done.record.epochs if e["epoch"] == done.record.best_epoch)
        assert sweep.trials[n].value == pytest.approx(best["val_loss"])
    assert _studies(workspace) == ["s1"]  # in the catalog's own database

    shown = report_sweep("s1")
    assert shown.importances == {LR: pytest.approx(1.0)}
    assert sorted(p.name for p in shown.plots) == [
        "epochs.png",
        "history.png",
        "importances.png",
        "settings.png",
    ]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in shown.plots)
    assert shown.folder == workspace.root / "sweeps" / "s1"
    assert [s.name for s in list_sweeps()] == ["s1"]

    comparison = compare_experiments([t.experiment for t in sweep.trials])
    assert dict(comparison.settings)[LR] == ["0.01", "0.01", "1e-06", "0.012"]

    code, out, err = run(monkeypatch, capsys, "sweep", "show", "s1")
    assert code == 0, err
    assert "best: t003 (s1-t003)  val_loss" in out and "pruned" in out
    assert "importances (PED-ANOVA): train.learning_rate 100%" in out
    assert "critic experiments compare s1-t000 s1-t001 s1-t002 s1-t003" in out


def test_cancelling_a_sweep_cancels_its_jobs(workspace, tiny_dataset):
    create_sweep(
        tiny_dataset, "multi-hot-mlp", parse_space(SPACE), SweepSettings(trials=3), name="s2"
    )

    def interrupt(sweep):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep("s2", parallel=1, workspace=workspace, on_round=interrupt)
    sweep = load_sweep("s2")
    assert sweep.status == "cancelled" and [j.state for j in sweep.jobs] == ["cancelled"] * 3
    assert all(t.state == "failed" for t in sweep.trials)  # the started one, told or settled


def test_a_sweep_is_refused_before_anything_is_queued(workspace, tiny_dataset, tmp_path):
    space = parse_space(SPACE)
    no_validation = import_dataset(
        "whole",
        write_csv(tmp_path / "whole.csv", sentiment_rows(20)),
        split=SplitSettings(validation_fraction=0.0),
        progress=False,
    ).version.ref
    with pytest.raises(SettingsError, match="has no validation subset, and a sweep judges"):
        create_sweep(no_validation, "multi-hot-mlp", space, name="s3")
    with pytest.raises(SettingsError, match="leave out train.checkpoint_metric"):
        create_sweep(
            tiny_dataset,
            "multi-hot-mlp",
            parse_space(
                {**SPACE, "train": {**SPACE["train"], "checkpoint_metric": "val_accuracy"}}
            ),
        )
    with pytest.raises(SettingsError, match="unknown preset"):
        create_sweep(tiny_dataset, "nope", space)
    with pytest.raises(SettingsError, match="not in the search space"):
        create_sweep(tiny_dataset, "multi-hot-mlp", space, first=[{"train.batch_size": 8}])
    with pytest.raises(SettingsError, match="--parallel must be at least 1"):
        SweepSettings(parallel=0)
    with pytest.raises(SweepNotFound, match="no sweep 'nope'"):
        load_sweep("nope")
    assert list_sweeps() == []
    first = create_sweep(tiny_dataset, "multi-hot-mlp", space, SweepSettings(trials=1))
    assert first.name == "tiny-multi-hot-mlp-1" and len(first.jobs) == 1
    with pytest.raises(SettingsError, match="a sweep named 'tiny-multi-hot-mlp-1' exists"):
        create_sweep(tiny_dataset, "multi-hot-mlp", space, name=first.name)
    with pytest.raises(InvalidName, match="with its suffix -tNNN"):
        create_sweep(tiny_dataset, "multi-hot-mlp", space, name="x" * 62)


def test_the_cli_creates_a_sweep_for_a_pool_to_run(
    workspace, tiny_dataset, tmp_path, monkeypatch, capsys
):
    path = tmp_path / "space.toml"
    path.write_text("[model.dropout.rate]\nfloat = [0.0, 0.5]\n")
    args = ["sweep", "create", "-d", tiny_dataset, "-p", "multi-hot-mlp", "--space", str(path)]
    code, out, err = run(monkeypatch, capsys, *args, "--trials", "2", "--no-wait", "--name", "s4")
    assert code == 0, err
    assert "sweep s4: 2 trials of multi-hot-mlp.v1 on tiny@1, by val_loss (minimize)" in out
    assert "queued 2 jobs" in out
    code, out, err = run(monkeypatch, capsys, "sweep", "list")
    assert code == 0 and "s4" in out and "of 2" in out
    code, out, err = run(monkeypatch, capsys, "sweep", "cancel", "s4")
    assert code == 0 and "s4: cancelled" in out
    path.write_text("[model.dropout.rate]\nfloat = [0.0, 1.5]\n")
    code, out, err = run(monkeypatch, capsys, *args)
    assert code == 2 and "[model.dropout.rate] = 1.5" in err + out


def test_storage_urls():
    assert storage_url("sqlite:////w/catalog.sqlite") == "sqlite:////w/catalog.sqlite"
    assert (
        storage_url("postgresql://u:p@127.0.0.1:5432/c")
        == "postgresql+psycopg://u:p@127.0.0.1:5432/c"
    )
    assert storage_url("postgres://u@h/c") == "postgresql+psycopg://u@h/c"


def _most_at_once(jobs) -> int:
    """The most jobs that ran at one time, from their start and end times."""
    edges = sorted(
        (datetime.fromisoformat(t), step)
        for j in jobs
        for t, step in ((j.started, 1), (j.ended, -1))
    )
    most = running = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        running += step
        most = max(most, running)
    return most


def _studies(workspace) -> list[str]:
    """The study names in the catalog's database, read beside its experiments table."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(storage_url(workspace.database_url))
    try:
        with engine.connect() as conn:
            experiments = conn.execute(sqlalchemy.text("SELECT COUNT(*) FROM experiments")).scalar()
            assert experiments == 4
            return [r[0] for r in conn.execute(sqlalchemy.text("SELECT study_name FROM studies"))]
    finally:
        engine.dispose()
