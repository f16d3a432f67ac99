"""A run's events.jsonl: written as the run goes, batches throttled, read incrementally by offset."""

import json

from critic.experiments.configure import build_config
from critic.experiments.events import EVENTS_FILE, EventWriter, read_events
from critic.experiments.run import resume_experiment, train_experiment


def test_a_run_writes_its_events_and_a_reader_gets_only_new_lines(tiny_dataset):
    config = build_config(tiny_dataset, preset="cnn-1d", train={"epochs": 2, "batch_size": 8})
    experiment = train_experiment(config, name="cnn")
    path = experiment.path / EVENTS_FILE
    events, offset = read_events(path)
    kinds = [e["event"] for e in events]
    assert kinds.count("epoch_start") == 2 and kinds.count("epoch_end") == 2 and kinds[-1] == "end"
    assert events[-1]["status"] == "done" and all(e["run"] == 0 for e in events)
    ends = [e for e in events if e["event"] == "epoch_end"]
    assert ends[1]["val_accuracy"] is not None and ends[0]["t"] <= ends[1]["t"]
    # every epoch's last batch is kept, whatever the throttle
    batches = [e for e in events if e["event"] == "batch"]
    assert sum(e["batch"] + 1 == e["batches"] for e in batches) == 2
    assert read_events(path, offset) == ([], offset)
    resume_experiment("cnn", epochs=3)
    more, _ = read_events(path, offset)
    assert {e["run"] for e in more} == {1} and more[-1] == {
        **more[-1],
        "event": "end",
        "status": "done",
    }


def test_batches_are_throttled_and_non_finite_numbers_become_null(tmp_path):
    path = tmp_path / EVENTS_FILE
    seen = []
    writer = EventWriter(path, then=seen.append, interval=60)
    for i in range(100):
        writer({"event": "batch", "batch": i, "batches": 100, "loss": float("nan")})
    events, _ = read_events(path)
    assert len(seen) == 100 and [e["batch"] for e in events] == [0, 99]
    assert (
        events[0]["loss"] is None and json.loads(path.read_text().splitlines()[0])["loss"] is None
    )


def test_a_half_written_line_waits_for_the_next_read(tmp_path):
    path = tmp_path / EVENTS_FILE
    path.write_text('{"event": "phase"}\n{"event": "ba')
    events, offset = read_events(path)
    assert events == [{"event": "phase"}] and offset == len('{"event": "phase"}\n')
