"""The Evaluation pages through TestClient: the list and the run form (versions offered by the
same-classes rule, a mismatched version refused in words, a job queued), one evaluation's page
(cards, confusion matrix whose cells link to their errors, per-class table, pictures), the error
browser's filters, search, order and paging limits, and the files it serves.

One workspace is trained and evaluated once per module (a 3-class linear model on noisy labels,
so every off-diagonal cell has errors) and copied into each test's CRITIC_HOME. The app runs no
job pool here: a queued job stays queued."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import sentiment_rows, write_csv
from tests.workbench.conftest import csrf_of

EXPERIMENT = "moods"
OWN, OTHER, TWO = "moods-data@1", "elsewhere@1", "binary@1"
PAGE = f"/evaluations/{EXPERIMENT}/best/{OWN}/test"


def noisy_rows(n: int, seed: int, flip: float = 0.3) -> list[tuple[str, str]]:
    """3-class rows whose labels are wrong `flip` of the time (so there are errors of every kind);
    every 7th text long enough to be folded in the error browser."""
    rng = random.Random(seed)
    classes = ["negative", "neutral", "positive"]
    rows = []
    for i, (text, label) in enumerate(sentiment_rows(n, classes=3, seed=seed)):
        if rng.random() < flip:
            label = rng.choice([c for c in classes if c != label])
        if i % 7 == 0:
            text = text + " and then it went on" * 12
        rows.append((text, label))
    return rows


def build_home(root: Path) -> None:
    """A workspace at `root`: moods-data@1 (3 classes; train / validation / test), elsewhere@1
    (the same classes), binary@1 (two classes), the experiment `moods` trained on the first and
    evaluated on its test subset."""
    from critic.data import SplitSettings, import_dataset
    from critic.evaluate import evaluate
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRITIC_HOME", str(root))
        split = SplitSettings(test_fraction=0.3)
        src = root.parent / "sources"
        src.mkdir(parents=True, exist_ok=True)
        own = write_csv(src / "own.csv", noisy_rows(240, seed=3))
        import_dataset("moods-data", own, split=split, progress=False)
        other = write_csv(src / "other.csv", noisy_rows(90, seed=5))
        import_dataset("elsewhere", other, split=split, progress=False)
        two = write_csv(src / "two.csv", sentiment_rows(60, classes=2))
        import_dataset("binary", two, split=split, progress=False)
        train_experiment(build_config(OWN, preset="linear"), name=EXPERIMENT)
        evaluate(EXPERIMENT, subset="test", progress=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evaluations") / "home"
    build_home(root)
    return root


@pytest.fixture(autouse=True)
def _no_pool(monkeypatch):
    """The jobs these tests queue stay queued: no pool thread in the app starts them (the browser
    test runs one for real)."""
    monkeypatch.setenv("CRITIC_JOBS_POOL", "0")


@pytest.fixture
def home(trained, workspace):
    shutil.copytree(trained, workspace.root, dirs_exist_ok=True)
    return workspace


def _cells(html: str) -> list[dict]:
    """The confusion matrix's cells: true, pred, count, and the link when there is one."""
    found = []
    for m in re.finditer(
        r'data-true="([^"]+)" data-pred="([^"]+)" data-count="(\d+)">\s*(?:<a href="([^"]+)")?',
        html,
    ):
        link = m.group(4).replace("&amp;", "&") if m.group(4) else None
        found.append(dict(true=m.group(1), pred=m.group(2), count=int(m.group(3)), link=link))
    return found


def _error_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr class="ev-error" data-true="([^"]+)" data-pred="([^"]+)">', html)


def test_the_list_shows_the_evaluation_and_offers_versions_with_the_same_classes(home, logged_in):
    page = logged_in.get("/evaluations")
    assert page.status_code == 200
    html = page.text
    assert f'href="{PAGE}"' in html and "moods-data@1" in html
    options = re.findall(
        r'<option value="([^"]+)"', html.split('id="ev-dataset"')[1].split("</select>")[0]
    )
    assert options == [OWN, OTHER]  # binary@1 has two classes: not offered
    assert "binary@1" in html and "not offered" in html
    preselected = logged_in.get(f"/evaluations?experiment={EXPERIMENT}")
    assert f'<option value="{EXPERIMENT}" selected>' in preselected.text
    unknown = logged_in.get("/evaluations?experiment=nobody")
    assert unknown.status_code == 200 and "no trained experiment nobody" in unknown.text


def test_a_version_with_other_classes_is_refused_in_words(home, logged_in):
    token = csrf_of(logged_in)
    answer = logged_in.post(
        "/evaluations",
        data={"experiment": EXPERIMENT, "checkpoint": "best", "dataset": TWO, "subset": "test"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_settings"
    assert "binary@1 has the classes ['negative', 'positive']" in body["message"]
    assert "same classes" in body["message"]
    from critic.jobs import list_jobs

    assert list_jobs(home) == []  # nothing queued


def test_an_evaluation_is_queued_as_a_job(home, logged_in):
    token = csrf_of(logged_in)
    answer = logged_in.post(
        "/evaluations",
        data={"experiment": EXPERIMENT, "checkpoint": "last", "dataset": OTHER, "subset": "all"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["job"]
    assert answer.json()["redirect"].startswith(
        f"/evaluations?experiment={EXPERIMENT}&job={job_id}"
    )
    from critic.jobs import get_job

    job = get_job(job_id, home)
    assert job.kind == "evaluate" and job.state == "queued" and job.user == "alice"
    assert job.argv == (
        "evaluate",
        EXPERIMENT,
        "--checkpoint",
        "last",
        "--subset",
        "all",
        "--dataset",
        OTHER,
    )
    state = logged_in.get(f"/evaluations/jobs/{job_id}").json()
    assert state["state"] == "queued" and state["results"] == [] and not state["finished"]
    assert state["dataset"] == OTHER and state["subset"] == "all"
    listed = logged_in.get(f"/evaluations?job={job_id}").text
    assert f'id="job-{job_id}"' in listed and 'data-finished="no"' in listed
    # its own dataset when none is named; a bad name or checkpoint is refused before queueing
    own = logged_in.post(
        "/evaluations",
        data={"experiment": EXPERIMENT, "subset": "validation"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert get_job(own.json()["job"], home).argv[-1] == OWN
    for bad, status in (
        ({"experiment": "../etc"}, 400),
        ({"experiment": "nobody"}, 404),
        ({"experiment": EXPERIMENT, "checkpoint": "worst"}, 422),
        ({"experiment": EXPERIMENT, "subset": "train"}, 422),
        ({"experiment": EXPERIMENT, "dataset": "nothing@3"}, 404),
    ):
        refused = logged_in.post(
            "/evaluations", data=bad, headers={"X-CSRF-Token": token, "Accept": "application/json"}
        )
        assert refused.status_code == status, (bad, refused.text)
        assert refused.json()["message"]


def test_the_evaluation_page_shows_cards_matrix_and_pictures(home, logged_in):
    from critic.evaluations import load_evaluation

    metrics = load_evaluation(EXPERIMENT, "best", OWN, "test", home).metrics()
    page = logged_in.get(PAGE)
    assert page.status_code == 200
    html = page.text
    assert f'data-metric="accuracy">{metrics["accuracy"]:.1%}<' in html
    assert 'data-metric="macro-f1"' in html and 'data-metric="loss"' in html
    cells = _cells(html)
    classes = list(metrics["per_class"])
    assert [(c["true"], c["pred"], c["count"]) for c in cells] == [
        (t, p, metrics["confusion_matrix"][i][j])
        for i, t in enumerate(classes)
        for j, p in enumerate(classes)
    ]
    for c in cells:  # a link on every off-diagonal cell with errors, and only there
        assert (c["link"] is not None) == (c["true"] != c["pred"] and c["count"] > 0)
        if c["link"]:
            query = parse_qs(urlsplit(c["link"]).query)
            assert query == {"true": [c["true"]], "pred": [c["pred"]]}
    assert "Recall" in html and "Precision" in html
    for name in ("history.png", "reliability.png", "correct_incorrect.png"):
        assert f"{PAGE}/files/{name}" in html
        image = logged_in.get(f"{PAGE}/files/{name}")
        assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    assert "roc_pr.png" not in html and "drawn for two classes" in html


def test_a_cells_link_shows_only_its_errors(home, logged_in):
    cells = [c for c in _cells(logged_in.get(PAGE).text) if c["link"]]
    assert cells
    for cell in cells:
        html = logged_in.get(cell["link"]).text
        rows = _error_rows(html)
        assert rows and set(rows) == {(cell["true"], cell["pred"])}
        shown = re.search(r'id="errors-count">([\d,]+) of', html).group(1)
        assert int(shown.replace(",", "")) == cell["count"] == len(rows)  # under a page: all shown


def test_the_error_browser_searches_orders_and_pages(home, logged_in):
    url = f"{PAGE}/errors"
    every = logged_in.get(url, params={"size": 100}).json()
    assert every["total"] == every["of"] == len(every["rows"]) > 10
    confidences = [r["probability"] for r in every["rows"]]
    assert confidences == sorted(confidences, reverse=True)
    rising = logged_in.get(url, params={"size": 100, "order": "asc"}).json()["rows"]
    assert [r["probability"] for r in rising] == sorted(confidences)
    first, second = (logged_in.get(url, params={"size": 5, "page": p}).json() for p in (1, 2))
    assert first["pages"] == -(-every["total"] // 5) and len(first["rows"]) == 5
    assert [r["row"] for r in first["rows"] + second["rows"]] == [
        r["row"] for r in every["rows"][:10]
    ]
    long = next(r for r in every["rows"] if len(r["text"]) > 140)
    word = "went on"
    found = logged_in.get(url, params={"q": word.upper(), "size": 100}).json()
    assert long["row"] in {r["row"] for r in found["rows"]}
    assert all(word in r["text"] for r in found["rows"])
    # the page: the whole text inside a details element, the pager's links keep the filters
    html = logged_in.get(PAGE, params={"size": 5, "q": word}).text
    assert "<details><summary>" in html and 'class="ev-whole"' in html
    next_link = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(next_link).query) == {"q": [word], "size": ["5"], "page": ["2"]}
    past = logged_in.get(PAGE, params={"page": 999})
    assert past.status_code == 200 and "past the last" in past.text
    nothing = logged_in.get(PAGE, params={"q": "zzz-no-such-text"})
    assert "No error matches these filters" in nothing.text


@pytest.mark.parametrize(
    "params,status,words",
    [
        ({"size": 101}, 422, "1 to 100 rows"),
        ({"size": 0}, 422, ""),
        ({"page": 0}, 422, ""),
        ({"true": "angry"}, 422, "no class 'angry'"),
        ({"order": "up"}, 422, "no order"),
        ({"q": "x" * 201}, 422, ""),
    ],
)
def test_the_error_browser_refuses_what_it_cannot_show(home, logged_in, params, status, words):
    answer = logged_in.get(f"{PAGE}/errors", params=params, headers={"Accept": "application/json"})
    assert answer.status_code == status and words in answer.json()["message"]


@pytest.mark.parametrize(
    "path,status",
    [
        (f"/evaluations/nobody/best/{OWN}/test", 404),
        (f"/evaluations/{EXPERIMENT}/best/{OWN}/validation", 404),  # not evaluated yet
        (f"/evaluations/{EXPERIMENT}/best/{OTHER}/test", 404),
        (f"/evaluations/{EXPERIMENT}/worst/{OWN}/test", 422),
        (f"/evaluations/{EXPERIMENT}/best/bad..name/test", 400),
        (f"{PAGE}/files/report.html", 404),
        (f"{PAGE}/files/roc_pr.png", 404),
        (f"{PAGE}/files/..%2Fmetrics.json", 404),
        ("/evaluations/jobs/job-nothing", 404),
    ],
)
def test_what_is_not_there_is_a_404_in_words(home, logged_in, path, status):
    answer = logged_in.get(path, headers={"Accept": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.json()["message"]
    page = logged_in.get(path, headers={"Accept": "text/html"})
    assert page.status_code == status and 'id="error-message"' in page.text


def test_downloads(home, logged_in):
    errors = logged_in.get(f"{PAGE}/files/errors.csv")
    assert errors.status_code == 200 and errors.text.startswith("row,origin,true_label")
    assert "attachment" in errors.headers["content-disposition"]
    assert logged_in.get(f"{PAGE}/files/metrics.json").json()["experiment"] == EXPERIMENT


def test_logged_out_nothing_is_shown(home, client):
    for path in ("/evaluations", PAGE, f"{PAGE}/errors", f"{PAGE}/files/errors.csv"):
        assert client.get(path, headers={"Accept": "application/json"}).status_code == 401
    assert client.post("/evaluations", data={"experiment": EXPERIMENT}).status_code in (401, 403)


def test_a_failed_job_says_why_and_a_done_one_links_its_results(home, logged_in):
    from critic.catalog import open_catalog
    from critic.jobs import submit

    argv = ["evaluate", EXPERIMENT, "--checkpoint", "best", "--subset", "all", "--dataset", OWN]
    failed, done = (submit("evaluate", argv, workspace=home) for _ in range(2))
    catalog = open_catalog(home)
    catalog.end_job(
        failed.id, "failed", "2026-12-02T00:00:01", error="boom: no memory", was=("queued",)
    )
    catalog.end_job(done.id, "done", "2026-12-02T00:00:02", exit_code=0, was=("queued",))
    shown = logged_in.get(f"/evaluations/jobs/{failed.id}").json()
    assert shown["state"] == "failed" and shown["finished"] and "boom" in shown["error"]
    assert shown["results"] == []
    links = logged_in.get(f"/evaluations/jobs/{done.id}").json()["results"]
    assert links == [
        {"subset": s, "url": f"/evaluations/{EXPERIMENT}/best/{OWN}/{s}"}
        for s in ("validation", "test")
    ]
    html = logged_in.get("/evaluations").text
    assert (
        "boom: no memory" in html
        and f'href="/evaluations/{EXPERIMENT}/best/{OWN}/validation"' in html
    )
    train = submit("train", ["train", "--dataset", OWN, "--preset", "linear"], workspace=home)
    assert logged_in.get(f"/evaluations/jobs/{train.id}").status_code == 404


def test_two_classes_show_roc_and_precision_recall(workspace, tiny_dataset, logged_in):
    from critic.evaluate import evaluate
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    train_experiment(build_config(tiny_dataset, preset="linear"), name="two")
    evaluate("two", subset="validation", progress=False)
    url = f"/evaluations/two/best/{tiny_dataset}/validation"
    html = logged_in.get(url).text
    assert 'data-metric="roc-auc"' in html and 'data-metric="average-precision"' in html
    assert f"{url}/files/roc_pr.png" in html and "drawn for two classes" not in html
    assert logged_in.get(f"{url}/files/roc_pr.png").content[:4] == b"\x89PNG"


def test_an_evaluation_job_is_cancelled(home, logged_in):
    from critic.jobs import submit

    argv = ["evaluate", EXPERIMENT, "--subset", "test"]
    job = submit("evaluate", argv, workspace=home)
    assert 'data-cancel="' + job.id + '"' in logged_in.get("/evaluations").text
    headers = {"X-CSRF-Token": csrf_of(logged_in), "Accept": "application/json"}
    cancelled = logged_in.post(f"/evaluations/jobs/{job.id}/cancel", headers=headers).json()
    assert cancelled["state"] == "cancelled" and cancelled["finished"]
    assert 'data-cancel="' + job.id + '"' not in logged_in.get("/evaluations").text
    refused = logged_in.post(f"/evaluations/jobs/{job.id}/cancel")  # no CSRF token
    assert refused.status_code == 403


def test_an_empty_workspace_says_what_to_do(workspace, logged_in):
    html = logged_in.get("/evaluations").text
    assert "No trained experiment yet" in html and "No evaluation yet" in html
    assert 'id="run-form"' not in html
