"""Every page of the workbench in real Chromium, found by following links from the header (so a
page added later is checked too), on a workspace holding one of everything: it loads without a
script error, every form control has a label, and at 1280×800 and in a 380 px wide window the page
does not scroll sideways (wide tables scroll inside their own box)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlparse

import pytest

from critic.data import import_dataset
from critic.deploy import create_deployment
from critic.evaluate import evaluate
from critic.experiments.canvas import save_graph, tables_of
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from tests.conftest import sentiment_rows

SKIP = re.compile(r"^/(static|logout|login|docs|openapi|v1|healthz)|\.(csv|png|toml|json)$")
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && !el.closest('[hidden]'))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.title)
  .map(el => el.outerHTML.slice(0, 120))"""


@pytest.fixture
def one_of_everything(workspace, tmp_path):
    source = tmp_path / "moods.csv"
    source.write_text(
        "review,mood\n" + "".join(f'"{t}",{m}\n' for t, m in sentiment_rows(120, classes=3))
    )
    ref = import_dataset("moods", source, label="mood", progress=False).version.ref
    train_experiment(build_config(ref, preset="linear"), name="moods-linear")
    evaluate("moods-linear", subset="validation", progress=False)
    create_deployment("moods-linear", name="moods")
    save_graph("my-cnn", tables_of("cnn-1d"))
    return ref


def pages_of(page) -> list[str]:
    """The workbench's URLs reachable within two clicks from the home page, one per path shape."""
    seen, shapes, frontier = [], set(), ["/"]
    for _ in range(2):
        following = []
        for url in frontier:
            page.goto(page.base + url)
            for href in page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))"
            ):
                link = urlparse(urljoin(url, href))
                if link.netloc or SKIP.search(link.path) or link.path == "/tester":
                    continue
                shape = (
                    re.sub(r"/[^/]*\d[^/]*", "/N", link.path)
                    + "?"
                    + "&".join(sorted(re.findall(r"([a-z_]+)=", link.query)))
                )
                if shape not in shapes:
                    shapes.add(shape)
                    target = link.path + (f"?{link.query}" if link.query else "")
                    seen.append(target)
                    following.append(target)
        frontier = following
    return seen


def test_every_page_loads_labelled_and_fits_a_narrow_window(one_of_everything, page):
    urls = pages_of(page)
    for path in ("/datasets", "/models", "/experiments", "/evaluations", "/deployments"):
        assert path in urls, f"the header has no link to {path}: {urls}"
    for path in ("/datasets/moods/1", "/experiments/moods-linear", "/deployments/moods"):
        assert path in urls, f"no page links to {path}: {urls}"
    problems = []
    for url in urls:
        for width in (1280, 380):
            page.set_viewport_size({"width": width, "height": 800})
            answer = page.goto(page.base + url)
            if answer.status != 200:
                problems.append(f"{url}: HTTP {answer.status}")
                break
            page.wait_for_load_state("networkidle")
            if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"):
                wide = page.evaluate("document.documentElement.scrollWidth")
                problems.append(f"{url} at {width} px: the page is {wide} px wide")
            if width == 1280 and (unlabelled := page.evaluate(UNLABELLED)):
                problems.append(f"{url}: controls without a label: {unlabelled}")
    assert not problems, "\n".join(problems)
