"""Benchmark: the workbench's pages on a full workspace (issue 25), on 2 cores.

    .venv/bin/python bench/workbench.py [--workspace DIR] [--repeats 20] [--only populate|pages,live,upload]

1. A workspace like a busy user's (built once, kept in --workspace, default
   /tmp/critic-bench-workbench): the full IMDB (../shared/data/aclImdb_v1.tar.gz) imported and split
   into 20 dataset versions (statistics computed for the first); 100 experiments, all trained for
   real: a linear model on the full IMDB (evaluated and deployed), and 99 on a 2,000-review sample
   (linear and embedding-mlp, 1 epoch); evaluations of a few of them.
2. pages: `critic serve` in a child process; every page the workbench links to, found by following
   its links from the header's pages (one URL per route), is fetched --repeats times by a logged-in
   client; the server time of each is its `Server-Timing` header. Target: median ≤ 300 ms.
3. live: a training job on the full IMDB queued through the server's pool; a watcher reads the
   run's events.jsonl every 20 ms (when the loop wrote each line), while a client polls the
   experiment page's events route as the page's script does (every second): the delay from the
   loop's line to the page's point. Target: ≤ 2 s.
4. upload: the full IMDB written as one CSV (~130 MB) and uploaded through the datasets page's
   upload route; the server's RSS sampled every 50 ms. Target: it grows by ≤ 300 MB.

Prints a table and saves bench/results/workbench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
IMDB = ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"
CRITIC = str(Path(sys.executable).with_name("critic"))
USER, PASSWORD = "bench", "bench-password-123"
VERSIONS, EXPERIMENTS = 20, 100
TARGETS = {"page_ms": 300, "live_s": 2.0, "upload_mb": 300}
POLL = 1.0  # seconds between the experiment page's polls (static/wb/experiments.js)


# --- 1. the workspace -------------------------------------------------------------------------


def populate(home: Path) -> dict:
    """Build the workspace once (a marker file says it is complete); return what it holds."""
    marker = home / "bench-workspace.json"
    if marker.exists():
        return json.loads(marker.read_text())
    os.environ["CRITIC_HOME"] = str(home)
    from critic.data import import_dataset, load_version
    from critic.data.importer import resplit
    from critic.data.split import SplitSettings
    from critic.data.stats import dataset_stats
    from critic.deploy import create_deployment
    from critic.evaluate import evaluate
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment
    from critic.users import add_user

    started = time.perf_counter()
    add_user(USER, PASSWORD, admin=True)
    full = import_dataset("imdb", IMDB, progress=False).version.ref
    dataset_stats(full, progress=False)
    for seed in range(1, VERSIONS):
        resplit(full, SplitSettings(validation_fraction=0.1 + seed / 100, seed=seed))
    frame = load_version(full).frame(["text", "label", "subset"])
    sample = frame[frame["subset"] == "train"].sample(2000, random_state=0)[["text", "label"]]
    csv = home / "imdb-2k.csv"
    sample.to_csv(csv, index=False)
    small = import_dataset("imdb-2k", csv, progress=False).version.ref
    dataset_stats(small, progress=False)
    train_experiment(build_config(full, preset="linear"), name="imdb-linear")
    evaluate("imdb-linear", subset="test", progress=False)
    create_deployment("imdb-linear", name="imdb")
    for i in range(EXPERIMENTS - 1):
        preset = ("linear", "embedding-mlp")[i % 2]
        train = {} if preset == "linear" else {"epochs": 1}
        train_experiment(build_config(small, preset=preset, train=train), name=f"small-{i:02d}")
        if i < 4:
            evaluate(f"small-{i:02d}", subset="validation", progress=False)
    held = {
        "versions": VERSIONS + 1,
        "experiments": EXPERIMENTS,
        "built_seconds": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps(held))
    return held


# --- the server and a logged-in client ---------------------------------------------------------


class Server:
    """`critic serve` on a free port of 127.0.0.1, in a child process (its RSS is ours to read)."""

    def __init__(self, home: Path, **env):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {**os.environ, "CRITIC_HOME": str(home), **env}
        self.process = subprocess.Popen(
            [CRITIC, "serve", "--port", str(self.port)],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        import httpx

        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("critic serve did not start in 120 s")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def logged_in(server: Server):
    import httpx

    client = httpx.Client(base_url=server.url, timeout=120, headers={"Origin": server.url})
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"csrf": csrf, "name": USER, "password": PASSWORD})
    if answer.status_code not in (200, 303) or "critic_session" not in client.cookies:
        raise RuntimeError(f"could not log in: {answer.status_code}")
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    client.headers["X-CSRF-Token"] = token
    return client


# --- 2. pages ----------------------------------------------------------------------------------

# beside what the crawl finds: the full IMDB's version page (statistics of 50,000 texts), its
# coverage field's answer, and a comparison of three experiments
EXTRA = {
    "GET /datasets/{name}/{version} (imdb@1)": "/datasets/imdb/1",
    "GET /datasets/{name}/{version}/coverage (imdb@1)": "/datasets/imdb/1/coverage?length=400",
    "GET /experiments/compare (3)": "/experiments/compare?names=imdb-linear&names=small-00"
    "&names=small-01",
    "GET /experiments/{name} (imdb-linear)": "/experiments/imdb-linear",
    "GET /evaluations/... (IMDB test, 25,000 rows)": "/evaluations/imdb-linear/best/imdb@1/test",
    "GET /evaluations/... (IMDB test, filtered, searched)": "/evaluations/imdb-linear/best/imdb@1"
    "/test?true=positive&pred=negative&q=boring",
}
_SKIP = re.compile(r"^/(static|logout|login|tester|docs|openapi|v1|healthz)|\.(csv|png|toml)$")


def route_of(app_routes, path: str) -> str | None:
    """The route template a path matches (so each route is timed once)."""
    from starlette.routing import Match

    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    for route in app_routes:
        if route.matches(scope)[0] == Match.FULL:
            return route.path
    return None


def crawl(client, routes) -> dict[str, str]:
    """One URL per route template: the workbench's pages and the pages they link to (depth 2)."""
    found: dict[str, str] = {}
    frontier = ["/"]
    for _depth in range(3):
        following = []
        for url in frontier:
            answer = client.get(url)
            if answer.status_code != 200 or "text/html" not in answer.headers["content-type"]:
                continue
            for href in re.findall(r'href="([^"#]+)"', answer.text):
                link = urljoin(url, href.replace("&amp;", "&"))
                parsed = urlparse(link)
                if parsed.netloc or _SKIP.search(parsed.path):
                    continue
                template = route_of(routes, parsed.path)
                key = f"{template}?{'&'.join(sorted(re.findall(r'([a-z_]+)=', parsed.query)))}"
                if template and key not in found:
                    found[key] = link
                    following.append(link)
        frontier = following
    return found


def time_pages(home: Path, repeats: int) -> list[dict]:
    from critic.serve import ServeSettings, create_app
    from critic.workspace import Workspace

    app = create_app(Workspace.at(home), ServeSettings(refresh_seconds=0), workbench=True)
    routes = [r for r in _flat(app.routes)]
    server = Server(home, CRITIC_JOBS_POOL="0")
    try:
        client = logged_in(server)
        rows = []
        found = {f"GET {k.rstrip('?')}": url for k, url in crawl(client, routes).items()}
        for key, url in sorted(found.items()) + list(EXTRA.items()):
            times, status = [], None
            for _ in range(repeats):
                answer = client.get(url)
                status = answer.status_code
                times.append(float(answer.headers["server-timing"].split("dur=")[1]))
            rows.append(
                {
                    "target": key,
                    "url": url,
                    "status": status,
                    "median_ms": round(statistics.median(times), 1),
                    "max_ms": round(max(times), 1),
                    "bytes": len(answer.content),
                }
            )
        return rows
    finally:
        server.stop()


def _flat(routes):
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return routes
    return list(iter_route_contexts(routes))


# --- 3. live curves ----------------------------------------------------------------------------


def live_delay(home: Path, events_route: str, seconds: float = 300.0) -> dict:
    """Queue a kim-cnn run on the full IMDB through the server's pool; compare when each batch
    line reached events.jsonl with when the page's poll first returned it."""
    from critic.jobs import cancel, submit
    from critic.workspace import Workspace

    workspace = Workspace.at(home)
    name = f"live-{int(time.time())}"
    server = Server(home)  # with its job pool: the pool starts the run
    job = None
    try:
        client = logged_in(server)
        job = submit("train", ["train", "--dataset", "imdb@1", "--preset", "kim-cnn",
                               "--epochs", "1", "--name", name], workspace=workspace)  # fmt: skip
        path = workspace.experiments / name / "events.jsonl"
        written: dict[str, float] = {}  # line → when the watcher first saw it
        done = threading.Event()

        def watch():
            while not done.is_set():
                if path.exists():
                    for line in path.read_text().splitlines():
                        written.setdefault(line, time.monotonic())
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        delays, offset, deadline = [], 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            answer = client.get(events_route.format(name=name), params={"offset": offset})
            seen = time.monotonic()
            if answer.status_code == 200:
                body = answer.json()
                offset = body.get("offset", offset)
                for event in body.get("events", []):
                    if event.get("event") != "batch":
                        continue
                    line = next(
                        (k for k in list(written) if f'"t": {event["t"]}, "run"' in k), None
                    )
                    if line is not None:
                        delays.append(seen - written[line])
            if len(delays) >= 20:
                break
            time.sleep(POLL)
        done.set()
        return {
            "target": "live curve: loop's line → page's point",
            "points": len(delays),
            "median_s": round(statistics.median(delays), 2) if delays else None,
            "max_s": round(max(delays), 2) if delays else None,
        }
    finally:
        if job is not None:
            try:
                cancel(job.id, workspace=workspace)
            except Exception:  # noqa: BLE001 - already ended
                pass
        server.stop()


# --- 4. upload ---------------------------------------------------------------------------------


def write_imdb_csv(tarball: Path, csv_path: Path) -> None:
    """Every review of the tarball, the 50,000 unlabelled ones too (label left empty), as one CSV
    (text, label, subset): ~130 MB. Streamed member by member."""
    import csv
    import tarfile

    member = re.compile(r"aclImdb/(train|test)/(pos|neg|unsup)/\d+_\d+\.txt$")
    with tarfile.open(tarball, "r:gz") as tar, open(csv_path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "label", "subset"])
        for info in tar:
            found = member.match(info.name)
            if found and info.isfile():
                text = tar.extractfile(info).read().decode("utf-8")
                label = "" if found.group(2) == "unsup" else found.group(2)
                writer.writerow([text, label, found.group(1)])


def upload_growth(home: Path, upload_route: str) -> dict:
    """Upload the full IMDB as one CSV; the server's RSS before, at its peak, after."""

    csv = home / "imdb-all.csv"
    if not csv.exists():
        write_imdb_csv(IMDB, csv)
    size_mb = csv.stat().st_size / 2**20
    server = Server(home, CRITIC_JOBS_POOL="0")
    try:
        client = logged_in(server)
        before = peak = server.rss_mb()
        stop = threading.Event()

        def sample():
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, server.rss_mb())
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        with open(csv, "rb") as f:  # the raw body, streamed (as the page's XMLHttpRequest sends it)
            answer = client.post(
                upload_route,
                params={"filename": "imdb-full.csv"},
                content=iter(lambda: f.read(2**20), b""),
                headers={"Content-Type": "text/csv"},
                timeout=600,
            )
        seconds = time.perf_counter() - started
        preview_started = time.perf_counter()  # then its preview: the first rows, guessed columns
        preview = client.get(answer.json()["redirect"])
        preview_ms = (time.perf_counter() - preview_started) * 1000
        stop.set()
        sampler.join()
        return {
            "target": f"upload {size_mb:.0f} MB CSV, then its preview",
            "status": f"{answer.status_code}, {preview.status_code}",
            "preview_ms": round(preview_ms),
            "rss_before_mb": round(before),
            "rss_peak_mb": round(peak),
            "growth_mb": round(peak - before),
            "seconds": round(seconds, 1),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/critic-bench-workbench"))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", default="pages,live,upload")
    parser.add_argument("--fresh", action="store_true", help="rebuild the workspace")
    parser.add_argument("--events-route", default="/experiments/{name}/events")
    parser.add_argument("--upload-route", default="/datasets/-/upload")
    args = parser.parse_args()
    if args.fresh and args.workspace.exists():
        shutil.rmtree(args.workspace)
    args.workspace.mkdir(parents=True, exist_ok=True)
    held = populate(args.workspace.resolve())
    print(f"workspace: {held}", file=sys.stderr)
    stages = set(args.only.split(","))
    if stages == {"populate"}:
        return
    pages = time_pages(args.workspace, args.repeats) if "pages" in stages else []
    if pages:
        harness.table(
            pages,
            ["target", "status", ("median ms", "median_ms", ".1f"), ("max ms", "max_ms", ".1f"),
             ("bytes", "bytes", ",")],
            title=f"workbench pages: server time over {args.repeats} requests "
            f"({held['experiments']} experiments, {held['versions']} dataset versions)",
        )  # fmt: skip
    live = [live_delay(args.workspace, args.events_route)] if "live" in stages else []
    upload = [upload_growth(args.workspace, args.upload_route)] if "upload" in stages else []
    for row in live + upload:
        print(json.dumps(row))
    slowest = max((r["median_ms"] for r in pages), default=None)
    harness.save(
        "workbench",
        pages + live + upload,
        benchmark="workbench",
        workspace=held,
        targets=TARGETS,
        met={
            "pages": slowest is not None and slowest <= TARGETS["page_ms"],
            "live": bool(live) and (live[0]["max_s"] or 99) <= TARGETS["live_s"],
            "upload": bool(upload) and upload[0]["growth_mb"] <= TARGETS["upload_mb"],
        },
    )


if __name__ == "__main__":
    main()
