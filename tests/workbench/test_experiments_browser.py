"""Issue 25, test 3 in headless Chromium: run a 2-epoch experiment from the New form and watch its
curves gain points without a reload; start a second and cancel it; restart the server during a
third run and see the page follow the job to its end; compare two. Screenshots:
workbench-experiments.png, -experiment-new.png, -experiment-live.png, -experiments-compare.png."""

from __future__ import annotations

import re
import threading
import time

import pytest

from critic.experiments.canvas import save_graph
from critic.jobs import cancel, get_job, list_jobs
from critic.serve import ServeSettings, create_app
from tests.conftest import sentiment_rows, write_csv
from tests.workbench.conftest import shot

expect = pytest.importorskip("playwright.sync_api").expect

# small enough to train in seconds, big enough (2,000 rows, batch 8: ~200 batches an epoch) that
# an epoch lasts a few polls of the page
GRAPH = {
    "encoder": {"kind": "words", "max_words": 500, "sequence_length": 32},
    "model": {
        "blocks": [
            {"type": "Embedding", "dim": 16},
            {"type": "GlobalMaxPool1D"},
            {"type": "Output"},
        ]
    },
    "train": {"epochs": 2, "batch_size": 8},
}
RUN_TIMEOUT = 120_000  # ms: a job's process start (torch) and its run, on a busy 2-core machine


class SamePort:
    """The workbench served again on a port a stopped server used (what a restart does)."""

    def __init__(self, app, port: int):
        import uvicorn

        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "no restart"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def points(page, chart: str = "#chart-loss") -> int:
    return int(page.locator(chart).get_attribute("data-points"))


def narrow(page) -> None:
    """At 380 px the page itself does not scroll sideways (wide tables scroll inside)."""
    page.set_viewport_size({"width": 380, "height": 800})
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 380, f"{page.url} is {width} px wide at 380 px"
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})


def new_run(page, name: str, epochs: int) -> None:
    page.goto(page.base + "/experiments/new")
    page.select_option("#model", "graph:tiny")
    expect(page.locator("#defaults-state")).to_contain_text("tiny are filled in")
    expect(page.locator("#s-batch_size")).to_have_value("8")
    page.fill("#name", name)
    page.fill("#s-epochs", str(epochs))
    page.click("#run")
    page.wait_for_url(f"{page.base}/experiments/{name}")


def test_run_watch_through_a_restart_cancel_and_compare(page, live_workbench, workspace, tmp_path):
    from critic.data import import_dataset
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    rows = [  # one label in eight flipped: curves that are not at 100 % after a few steps
        (text, ("positive" if label == "negative" else "negative") if i % 8 == 0 else label)
        for i, (text, label) in enumerate(sentiment_rows(800))
    ]
    import_dataset("reviews", write_csv(tmp_path / "r.csv", rows), progress=False)
    save_graph("tiny", GRAPH, workspace)
    baseline = build_config("reviews", config_file=workspace.graphs / "tiny.toml")
    train_experiment(baseline, name="baseline", workspace=workspace)  # one to compare with
    restarted = None
    try:
        # the New form: a model's settings filled in, a bad value refused in the form
        page.goto(page.base + "/experiments")
        page.click("#new-experiment")
        page.wait_for_url(page.base + "/experiments/new")
        page.select_option("#model", "preset:linear")
        expect(page.locator("#s-epochs")).to_be_disabled()
        expect(page.locator("#linear-note")).to_be_visible()
        page.select_option("#model", "graph:tiny")
        expect(page.locator("#s-epochs")).to_be_enabled()
        expect(page.locator("#s-batch_size")).to_have_value("8")
        page.fill("#s-learning_rate", "fast")
        page.click("#run")
        expect(page.locator("#new-form [data-error]")).to_contain_text(
            "learning rate must be a number"
        )
        page.fill("#s-learning_rate", "0.01")
        page.fill("#s-epochs", "12")  # long enough to be running still when the server stops
        page.fill("#name", "first")
        shot(page, "experiment-new")
        page.click("#run")

        # the live page: points come while it trains; the server restarts meanwhile, the job
        # goes on in its own process, and the open page (no reload) follows it to its end
        page.wait_for_url(page.base + "/experiments/first")
        expect(page.locator("#chart-loss")).not_to_have_attribute(
            "data-points", "0", timeout=RUN_TIMEOUT
        )
        page.wait_for_function(  # more points, no reload (or, on a fast machine, its end)
            "n => +document.querySelector('#chart-loss').dataset.points > n"
            " || document.querySelector('#status').textContent.trim() === 'done'",
            arg=points(page),
            timeout=RUN_TIMEOUT,
        )
        shot(page, "experiment-live")  # mid-run: progress, samples/s, time left
        live_workbench.stop()
        job = next(j for j in list_jobs(workspace) if j.target == "first")
        # running (or, on a fast machine, already done): either way nothing stops it now
        assert get_job(job.id, workspace).state in ("running", "done")
        restarted = SamePort(
            create_app(workspace, ServeSettings(refresh_seconds=0), workbench=True),
            live_workbench.port,
        )
        page.reload()  # the restarted server: the run carried on in its own process
        expect(page.locator("#status")).to_have_text("done", timeout=RUN_TIMEOUT)
        assert get_job(job.id, workspace).state == "done"
        expect(page.locator("#m-epoch")).to_have_text("12 / 12")
        expect(page.locator("#log")).to_contain_text("epoch 2")
        expect(page.locator("#evaluate")).to_be_visible()
        expect(page.locator("#settings")).to_contain_text("train.learning_rate")
        narrow(page)

        # a second run, cancelled once it has begun, then resumed
        new_run(page, "second", 200)
        expect(page.locator("#settings")).to_contain_text("train.epochs", timeout=RUN_TIMEOUT)
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#cancel")
        expect(page.locator("#status")).to_have_text("cancelled", timeout=30_000)
        assert next(j for j in list_jobs(workspace) if j.target == "second").state == "cancelled"
        page.click("#resume")
        expect(page.locator("#status")).to_have_text(re.compile("queued|running"))
        resumed = [j for j in list_jobs(workspace) if j.target == "second"][-1]
        assert resumed.argv == ("train", "--resume", "second")
        cancel(resumed.id, workspace=workspace, grace=2.0)
        page.reload()
        expect(page.locator("#status")).to_have_text("cancelled")

        # the list, and two compared
        page.goto(page.base + "/experiments")
        expect(page.locator("#experiments tbody tr")).to_have_count(3)
        expect(page.locator("tr[data-status=cancelled]")).to_contain_text("second")
        shot(page, "experiments")
        narrow(page)
        expect(page.locator("#compare")).to_be_disabled()
        page.check("input[value=first]")
        page.check("input[value=baseline]")
        page.click("#compare")
        page.wait_for_url("**/experiments/compare?names=*")
        expect(page.locator("#settings-diff")).to_contain_text("train.learning_rate")
        expect(page.locator("#metrics")).to_contain_text("baseline")
        assert points(page, "#cmp-loss") == 12  # epochs of the longer run (first: 12)
        shot(page, "experiments-compare")
        narrow(page)
    finally:
        for job in list_jobs(workspace):
            if not job.finished:
                cancel(job.id, workspace=workspace, grace=2.0)
        if restarted is not None:
            restarted.stop()
