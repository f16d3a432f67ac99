"""Benchmark: word-level explanations on IMDB (issue 27): are they faithful, and what do they cost.

    .venv/bin/python bench/explain.py EXPERIMENT [EXPERIMENT ...] [--home ~/.critic] [--n 1000]
        [--seed 0] [--sweep 100] [--api 500] [--threads 1] [--no-faithfulness]
        [--pictures EXPERIMENT EXPERIMENT]

Faithfulness, each experiment (its best checkpoint) in its own process (harness.in_child): `--n`
reviews of its test subset sampled with the seed. For each review, the predicted class c, p_c(x),
and three rankings of the words the model read: the explanation's (`Predictor.explain`: the linear
model's exact contributions, Integrated Gradients for the neural ones; highest score toward c
first), plain occlusion's (`critic.explain.occlusion`: each word taken out in turn, by how much the
log-odds of c fall) and a random one (seeded). For k = 5, 10 and 20 % of those words (at least one):

    comprehensiveness = p_c(x) − p_c(x without its top k words)    higher: the words mattered
    sufficiency       = p_c(x) − p_c(its top k words alone)        lower: they are enough

(DeYoung et al. 2020, ERASER), averaged over the reviews, per ranking. A word is taken out as
`critic.explain.spans.erase` does (a space in its place); kept as `keep_only` does.

Cost, in the same process: seconds per explained review (p50, p95), Integrated Gradients' steps and
completeness error (p50, p95, max); `--sweep` reviews explained again at a fixed number of steps
(8 to 128) for the steps-against-error table. The linear model through the API too: `critic serve
--api-only` in a child process, `--api` requests one at a time (http.client, keep-alive), p50 with
and without "explain" (the difference is the explanation's cost).

`--pictures A B`: docs/images/explain-MODEL.png, the tester page (Chromium) explaining an example
review of the sample with each experiment (a positive one for A, a negative one for B).

Targets (issue 27, 2 cores): linear ≤ 2 ms an explained review at p50 through the API; Kim CNN
(Integrated Gradients) ≤ 250 ms at p50; for every model, removing the top-attributed words moves the
probability far more than removing as many random words. Prints tables and saves
bench/results/explain.json (the rows of experiments not measured this time are kept).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

FRACTIONS = (0.05, 0.10, 0.20)
RANKINGS = ("explanation", "occlusion", "random")
SWEEP_STEPS = (8, 16, 32, 64, 128)
TARGETS = {"linear_api_p50_ms": 2.0, "kim_cnn_p50_ms": 250.0}


# -- in the child: one experiment ------------------------------------------------------------------


def measure(
    name: str,
    n: int,
    seed: int,
    sweep: int,
    subset: str = "test",
    threads: int = 0,
    faithfulness: bool = True,
) -> dict:
    """Faithfulness and cost of one experiment's explanations on `n` sampled test reviews."""
    import numpy as np
    import torch

    if threads:
        torch.set_num_threads(threads)

    from critic.experiments.store import get_experiment
    from critic.explain.occlusion import OcclusionExplainer
    from critic.predictor import Predictor

    experiment = get_experiment(name)
    predictor = Predictor.from_checkpoint(experiment.checkpoint("best"))
    texts = _sample(experiment.record.dataset, n, seed, subset)
    rng = np.random.default_rng(seed)
    occlusion = OcclusionExplainer(predictor)
    predictor.explain(texts[:2])  # warm: imports (Captum), the explainer, the first batches
    per_review, seconds, cpu, steps, errors, words = [], [], [], [], [], []
    started = time.perf_counter()
    for i, text in enumerate(texts):
        t, c = time.perf_counter(), time.process_time()
        (ex,) = predictor.explain([text])
        seconds.append(time.perf_counter() - t)
        cpu.append(
            time.process_time() - c
        )  # this process's CPU: what a busy machine cannot inflate
        words.append(len(ex.spans))
        if ex.steps is not None:
            steps.append(ex.steps)
            errors.append(ex.completeness_error)
        if faithfulness:
            target = predictor.classes.index(ex.target)
            p = np.array([ex.probabilities[c] for c in predictor.classes])
            occluded = occlusion.explain(text, target, predictor.classes, p)
            per_review.append(_deletions(predictor, text, ex, occluded, target, rng))
        if (i + 1) % 100 == 0:
            print(f"{name}: {i + 1}/{len(texts)} reviews, {time.perf_counter() - started:.0f} s")
    return {
        "experiment": name,
        "model": experiment.record.model,
        "n": len(texts),
        "words_read_p50": statistics.median(words),
        "faithfulness": _means(per_review) if per_review else None,
        "faithfulness_n": len(per_review),
        "seconds": _quantiles(seconds),
        "cpu_seconds": _quantiles(cpu),
        "steps": _quantiles(steps) if steps else None,
        "completeness_error": _quantiles(errors) if errors else None,
        "method": ex.method,
        "torch_threads": torch.get_num_threads(),
        "sweep": _sweep(predictor, texts[:sweep]) if steps and sweep else None,
        "example": _example(predictor, texts),
    }


def _sample(dataset: str, n: int, seed: int, subset: str = "test") -> list[str]:
    from critic.data.store import load_version

    rows = load_version(dataset).subset(subset, ["text"])
    if not len(rows):
        raise SystemExit(f"{dataset} has no {subset} rows")
    return rows.sample(n=min(n, len(rows)), random_state=seed)["text"].tolist()


def _deletions(predictor, text: str, ex, occluded, target: int, rng) -> dict:
    """Comprehensiveness and sufficiency at each fraction for each ranking, one review: the
    perturbed texts predicted in one batch."""
    from critic.explain.spans import erase, keep_only

    spans = [(s.start, s.end) for s in ex.spans]
    by_score = lambda found: [  # noqa: E731
        (s.start, s.end) for s in sorted(found.spans, key=lambda s: (-s.score, s.start))
    ]
    order = {
        "explanation": by_score(ex),
        "occlusion": by_score(occluded),
        "random": [spans[i] for i in rng.permutation(len(spans))],
    }
    perturbed, keys = [], []
    for ranking, ranked in order.items():
        for fraction in FRACTIONS:
            top = ranked[: max(1, round(fraction * len(spans)))] if spans else []
            perturbed += [erase(text, top), keep_only(text, top)]
            keys += [(ranking, fraction, "comprehensiveness"), (ranking, fraction, "sufficiency")]
    p = ex.probabilities[ex.target]
    changed = predictor.predict_proba(perturbed)[:, target]
    out = {"words": len(spans)}
    for key, q in zip(keys, changed):
        out[key] = float(p - q)
    return out


def _means(per_review: list[dict]) -> dict:
    """ranking → fraction → {comprehensiveness, sufficiency}: means over the reviews."""
    table = {}
    for ranking in RANKINGS:
        table[ranking] = {
            f"{fraction:.0%}": {
                measure: statistics.fmean(r[(ranking, fraction, measure)] for r in per_review)
                for measure in ("comprehensiveness", "sufficiency")
            }
            for fraction in FRACTIONS
        }
    return table


def _quantiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50": statistics.median(ordered),
        "p95": at(0.95),
        "max": ordered[-1],
        "n": len(ordered),
    }


def _sweep(predictor, texts: list[str]) -> list[dict]:
    """Integrated Gradients at a fixed number of steps (no doubling): its completeness error and
    seconds per review."""
    from critic.explain import explain, explainer_for
    from critic.explain.gradients import Steps

    rows = []
    for n in SWEEP_STEPS:
        explainer = explainer_for(predictor, steps=Steps(steps=n, tolerance=1.0, max_steps=n))
        seconds, errors = [], []
        for text in texts:
            t = time.perf_counter()
            (ex,) = explain(predictor, [text], explainer=explainer)
            seconds.append(time.perf_counter() - t)
            errors.append(ex.completeness_error)
        rows.append({"steps": n, "seconds": _quantiles(seconds), "error": _quantiles(errors)})
        print(f"  sweep {n} steps: error p95 {rows[-1]['error']['p95']:.3%}")
    return rows


def _example(predictor, texts: list[str]) -> dict:
    """For the README's pictures: of the sample's reviews of 250 to 600 characters, the shortest
    the model calls each class, explained."""
    short = sorted((t for t in texts if 250 <= len(t) <= 600), key=len) or texts[:1]
    found = {}
    for text, p in zip(short, predictor.predict_proba(short)):
        found.setdefault(predictor.classes[int(p.argmax())], text)
    return {
        label: predictor.explain([text])[0].answer() | {"text": text}
        for label, text in found.items()
    }


# -- pictures: the tester page in Chromium ----------------------------------------------------------


def pictures(env: dict, shots: list[tuple[str, str, str]], folder: Path) -> list[str]:
    """(experiment, text, file name) → a picture of the tester's explanation of `text` by the
    experiment's best checkpoint (Chromium through Playwright, `critic serve --api-only` in a
    child process), reduced to 128 colours like the README's other screenshots."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    names = [f"bench-explain-picture-{i}" for i in range(len(shots))]
    tokens = [
        harness.in_child("explain:deploy", experiment, name, env=env)["deployment"]
        for (experiment, _, _), name in zip(shots, names)
    ]
    port = harness.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "critic.cli", "serve", "--api-only", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    made = []
    try:
        harness.wait_until_serving(port)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=os.environ.get("CRITIC_CHROMIUM", "/usr/bin/chromium"),
                headless=True,
                args=["--no-sandbox"],
            )
            page = browser.new_page(viewport={"width": 980, "height": 900}, device_scale_factor=1)
            for (_, text, file), name, (token, field) in zip(shots, names, tokens):
                url = f"http://127.0.0.1:{port}/v1/deployments/{name}/predict"
                query = urllib.parse.urlencode({"url": url, "input": field})
                page.goto(f"http://127.0.0.1:{port}/tester?{query}")
                page.fill("#token", token)
                page.fill("#text", text)
                page.click("#play")
                page.wait_for_selector("#why:not([hidden])", timeout=60_000)
                path = folder / file
                top, why = (
                    page.locator("#result").bounding_box(),
                    page.locator("#why").bounding_box(),
                )
                clip = {
                    "x": 0,
                    "y": top["y"] - 8,
                    "width": 980,
                    "height": why["y"] + why["height"] - top["y"] + 16,
                }
                page.screenshot(path=str(path), clip=clip, full_page=True)  # answer and explanation
                Image.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)
                made.append(str(path))
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        for name in names:
            harness.run_child(
                [sys.executable, "-m", "critic.cli", "deploy", "delete", name], env=env
            )
    return made


# -- the linear model through the API ---------------------------------------------------------------


def api_latency(env: dict, name: str, texts: list[str], threads: int = 0) -> dict:
    """p50 / p95 ms of one request at a time to `critic serve --api-only`, with and without explain."""
    deployment = "bench-explain-linear"
    token, field = harness.in_child("explain:deploy", name, deployment, env=env)["deployment"]
    port = harness.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "critic.cli", "serve", "--api-only", "--port", str(port)],
        env={**env, **({"CRITIC_TORCH_THREADS": str(threads)} if threads else {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        harness.wait_until_serving(port)
        path = f"/v1/deployments/{deployment}/predict"
        result = {}
        for explain in (False, True, False, True):  # each twice: the second is the one kept
            key = "explain" if explain else "plain"
            result[key] = _requests(port, path, token, field, texts, explain)
        return result
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        harness.run_child(
            [sys.executable, "-m", "critic.cli", "deploy", "delete", deployment], env=env
        )


def deploy(experiment: str, name: str) -> dict:
    """Runs in a child process: (re)create the deployment; its token and input name."""
    from critic.deploy import create_deployment, delete_deployment
    from critic.errors import DeploymentNotFound

    try:
        delete_deployment(name)
    except DeploymentNotFound:
        pass
    created = create_deployment(experiment, name=name)
    return {"deployment": [created.token, created.deployment.input_name]}


def sample_texts(experiment: str, n: int, seed: int, subset: str) -> dict:
    """Runs in a child process: n test reviews of the experiment's dataset version."""
    from critic.experiments.store import get_experiment

    return {"texts": _sample(get_experiment(experiment).record.dataset, n, seed, subset)}


def _requests(
    port: int, path: str, token: str, field: str, texts: list[str], explain: bool
) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    ms, size = [], []
    for text in texts:
        body = json.dumps({field: text, **({"explain": True} if explain else {})})
        t = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse().read()
        ms.append(1000 * (time.perf_counter() - t))
        size.append(len(answer))
    connection.close()
    return {**_quantiles(ms), "bytes_p50": statistics.median(size)}


# -- the parent: tables and the results file -------------------------------------------------------


def _print(rows: list[dict]) -> None:
    faithful = []
    for r in (r for r in rows if r["faithfulness"]):
        for fraction in (f"{f:.0%}" for f in FRACTIONS):
            cells = {"model": r["model"].split(".v")[0], "k": fraction}
            for ranking in RANKINGS:
                got = r["faithfulness"][ranking][fraction]
                cells[f"comp {ranking}"] = got["comprehensiveness"]
                cells[f"suff {ranking}"] = got["sufficiency"]
            faithful.append(cells)
    columns = [("model", "model"), ("words", "k")]
    columns += [(f"comp. {k}", f"comp {k}", ".3f") for k in RANKINGS]
    columns += [(f"suff. {k}", f"suff {k}", ".3f") for k in RANKINGS]
    harness.table(
        faithful, columns, title="Faithfulness (ERASER): comprehensiveness ↑, sufficiency ↓"
    )
    cost = [
        {
            "model": r["model"].split(".v")[0],
            "n": r["n"],
            "method": r["method"],
            "p50 ms": 1000 * r["seconds"]["p50"],
            "p95 ms": 1000 * r["seconds"]["p95"],
            "CPU p50 ms": 1000 * r.get("cpu_seconds", {}).get("p50", float("nan")),
            "steps p50": (r["steps"] or {}).get("p50"),
            "steps max": (r["steps"] or {}).get("max"),
            "err p95": (r["completeness_error"] or {}).get("p95"),
            "err max": (r["completeness_error"] or {}).get("max"),
        }
        for r in rows
    ]
    harness.table(
        cost,
        [
            "model",
            "n",
            "method",
            ("p50 ms", "p50 ms", ".1f"),
            ("p95 ms", "p95 ms", ".1f"),
            ("CPU p50 ms", "CPU p50 ms", ".1f"),
            "steps p50",
            "steps max",
            ("err p95", "err p95", ".2%"),
            ("err max", "err max", ".2%"),
        ],
        title="Cost per explained review (in process, 2 cores)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "experiments",
        nargs="*",
        help="experiments to measure (none: only --pictures, from the saved rows)",
    )
    parser.add_argument(
        "--home", default=os.environ.get("CRITIC_HOME", str(Path.home() / ".critic"))
    )
    parser.add_argument("--n", type=int, default=1000, help="reviews sampled (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", type=int, default=100, help="reviews in the steps sweep")
    parser.add_argument("--api", type=int, default=500, help="requests per API measurement")
    parser.add_argument("--subset", default="test", help="the subset sampled (default test)")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (default: torch's; the server's too)"
    )
    parser.add_argument(
        "--pictures",
        nargs="*",
        metavar="EXPERIMENT",
        help="after measuring: docs/images/explain-MODEL.png, the tester's explanation of an "
        "example review by each of these experiments (their rows' examples: a positive one for "
        "the first, a negative one for the second, ...)",
    )
    parser.add_argument(
        "--no-faithfulness",
        action="store_true",
        help="cost only: each review explained, no deletions and no occlusion",
    )
    args = parser.parse_args()
    env = {**os.environ, "CRITIC_HOME": args.home}
    # the rows of experiments measured before (another run) stay, those measured now replace theirs
    before = {r["experiment"]: r for r in harness.load("explain").get("rows", [])}
    kept = [r for name, r in before.items() if name not in args.experiments]
    rows = []
    for name in args.experiments:
        try:
            row = harness.in_child(
                "explain:measure",
                name,
                args.n,
                args.seed,
                args.sweep,
                args.subset,
                args.threads,
                not args.no_faithfulness,
                env=env,
                stderr="inherit",
            )
        except harness.ChildFailed as failed:
            print(f"{name} failed: {failed}")
            continue
        row["run"] = {
            "command": sys.argv,
            "created": harness.now(),
        }  # rows of several runs meet here
        if row["faithfulness"] is None and name in before:  # --no-faithfulness: the last measured
            row["faithfulness"] = before[name].get("faithfulness")
            row["faithfulness_n"] = before[name].get("faithfulness_n", before[name]["n"])
        if row["model"].startswith("linear") and args.api:
            texts = harness.in_child(
                "explain:sample_texts", name, args.api, args.seed, args.subset, env=env
            )
            row["api_ms"] = api_latency(env, name, texts["texts"], args.threads)
        rows.append(row)
        harness.save("explain", kept + rows, benchmark="explain", seed=args.seed)  # so far
    rows = kept + rows
    _print(rows)
    for row in rows:
        if "api_ms" in row:
            api = row["api_ms"]
            print(
                f"{row['experiment']} through the API: {api['explain']['p50']:.2f} ms p50 explained, "
                f"{api['plain']['p50']:.2f} ms without (target ≤ {TARGETS['linear_api_p50_ms']} ms)"
            )
        if row["model"].startswith("kim-cnn."):
            print(
                f"{row['experiment']}: {1000 * row['seconds']['p50']:.0f} ms p50 an explained review "
                f"(target ≤ {TARGETS['kim_cnn_p50_ms']:.0f} ms)"
            )
    if args.experiments:
        harness.save("explain", rows, benchmark="explain", seed=args.seed, targets=TARGETS)
    if args.pictures:
        by_name = {r["experiment"]: r for r in rows}
        shots = []
        for i, name in enumerate(args.pictures):
            examples = by_name[name]["example"]
            label = sorted(examples)[::-1][i % len(examples)]  # positive, then negative, ...
            model = by_name[name]["model"].split(".v")[0]
            shots.append((name, examples[label]["text"], f"explain-{model}.png"))
        docs = harness.BENCH.parent / "docs" / "images"
        for path in pictures(env, shots, docs):
            print(f"picture: {path}")


if __name__ == "__main__":
    main()
