"""Benchmark: `critic serve` under load on 127.0.0.1 (bounded in requests and time).

    .venv/bin/python bench/serve.py --linear EXPERIMENT [--kim EXPERIMENT] [--home ~/.critic] [--workers 2]

Deploys the experiments' best checkpoints (fresh deployments, deleted at the end), starts
`critic serve --workers N` in a child process, and drives it with a small asyncio HTTP/1.1
keep-alive client (raw sockets: an HTTP library would spend more CPU than the server on these
2 cores). Each request carries one real IMDB test review (cycled) and the deployment's token; a
request counts as an error unless it returns 200 with a label. Latency is measured per request
from sending to the last byte of the answer. Prints a table and saves bench/results/serve.json.
Bars (issue 7): linear p50 ≤ 3 ms and p99 ≤ 15 ms at concurrency 1, ≥ 800 requests/s at
concurrency 16; Kim CNN p50 ≤ 20 ms; 10,000 requests at concurrency 64 with zero errors.
--transformer EXP deploys a BERT-style experiment once per --runtimes (torch, torch-bf16, onnx,
onnx-int8) and sends it 200 reviews one at a time (issue 28: MiniLM p50 ≤ 30 ms through the API).
Issue 10's load drill: that run's memory stays flat (the server's RSS, all processes, after the
run ≤ after its warm-up + 10 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402


def _request(path: str, token: str, field: str, text: str, kind: str) -> bytes:
    if kind == "json":
        body, content_type = json.dumps({field: text}).encode(), "application/json"
    elif kind == "form":
        boundary = uuid.uuid4().hex
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{text}\r\n--{boundary}--\r\n'
        ).encode()
        content_type = f"multipart/form-data; boundary={boundary}"
    else:
        body, content_type = (
            urllib.parse.urlencode({field: text}).encode(),
            "application/x-www-form-urlencoded",
        )
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def _one_connection(
    port: int, requests: list[bytes], queue: asyncio.Queue, latencies: list, errors: list
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            try:
                writer.write(requests[i % len(requests)])
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                if b" 200 " not in status_line or b'"label"' not in body:
                    errors.append(status_line.decode(errors="replace").strip())
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                errors.append(repr(exc))
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def _load(
    port: int | list[int], requests: list[bytes], total: int, concurrency: int, max_seconds: float
) -> dict:
    """`total` requests over `concurrency` keep-alive connections; with several ports (replicas),
    connection i goes to ports[i % len(ports)], as a layer-4 balancer deals them."""
    ports = port if isinstance(port, list) else [port]
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    tasks = [
        asyncio.create_task(
            _one_connection(ports[i % len(ports)], requests, queue, latencies, errors)
        )
        for i in range(concurrency)
    ]
    done, pending = await asyncio.wait(tasks, timeout=max_seconds)
    for task in pending:
        task.cancel()
    wall = time.perf_counter() - start
    for task in done:
        if task.exception():
            errors.append(repr(task.exception()))
    latencies.sort()

    def q(f: float) -> float:  # the f-quantile in ms
        return (
            latencies[min(len(latencies) - 1, int(f * len(latencies)))] * 1000
            if latencies
            else float("nan")
        )

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "seconds": wall,
        "requests_per_s": len(latencies) / wall,
        "p50_ms": q(0.50),
        "p90_ms": q(0.90),
        "p99_ms": q(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
        "timed_out": bool(pending),
    }


def _deploy(env: dict, experiment: str, name: str, runtime: str = "torch") -> list[str]:
    """[token, input name] of a fresh deployment `name` of the experiment on `runtime`, made in
    the workspace of `env`."""
    return harness.in_child("serve:deploy", experiment, name, runtime, env=env)["deployment"]


def deploy(experiment: str, name: str, runtime: str = "torch") -> dict:
    """Runs in a child process: (re)create the deployment."""
    from critic.deploy import DeploymentNotFound, create_deployment, delete_deployment

    try:
        delete_deployment(name)
    except DeploymentNotFound:
        pass
    created = create_deployment(experiment, name=name, runtime=runtime)
    return {"deployment": [created.token, created.deployment.input_name]}


def _texts(env: dict, experiment: str, n: int = 2000) -> list[str]:
    return harness.in_child("serve:sample_texts", experiment, n, env=env)["texts"]


def sample_texts(experiment: str, n: int) -> dict:
    """Runs in a child process: n test reviews of the experiment's dataset version (a fixed sample)."""
    from critic.data import load_version
    from critic.experiments.store import get_experiment

    texts = load_version(get_experiment(experiment).record.dataset).subset("test", ["text"])["text"]
    return {"texts": texts.sample(n=n, random_state=0).tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--linear", required=True, help="a trained linear experiment")
    parser.add_argument("--kim", help="a trained kim-cnn experiment")
    parser.add_argument(
        "--home", default=os.environ.get("CRITIC_HOME", str(Path.home() / ".critic"))
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--transformer", help="a trained BERT-style experiment (minilm), served on each --runtimes"
    )
    parser.add_argument("--runtimes", default="torch,torch-bf16,onnx,onnx-int8")
    args = parser.parse_args()
    env = {**os.environ, "CRITIC_HOME": args.home}
    texts = _texts(env, args.linear)
    deployments = {
        "linear": (
            args.linear,
            *_deploy(env, args.linear, "bench-serve-linear"),
            "bench-serve-linear",
        )
    }
    if args.kim:
        deployments["kim-cnn"] = (
            args.kim,
            *_deploy(env, args.kim, "bench-serve-kim"),
            "bench-serve-kim",
        )
    for runtime in args.runtimes.split(",") if args.transformer else ():
        name = f"bench-serve-transformer-{runtime}"
        deployments[f"transformer ({runtime})"] = (
            args.transformer,
            *_deploy(env, args.transformer, name, runtime),
            name,
        )
    port = harness.free_port()
    server = subprocess.Popen(
        [
            "timeout",
            "900",
            sys.executable,
            "-m",
            "critic.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    rows = []
    try:
        harness.wait_until_serving(port)

        def scenario(
            model: str, kind: str, concurrency: int, total: int, max_seconds: float = 120
        ) -> None:
            _, token, field, name = deployments[model]
            requests = [
                _request(f"/v1/deployments/{name}/predict", token, field, t, kind) for t in texts
            ]
            asyncio.run(
                _load(port, requests, min(1000, total), concurrency, max_seconds)
            )  # warm-up, not counted
            warm = _tree_rss_mb(server.pid)
            result = asyncio.run(_load(port, requests, total, concurrency, max_seconds))
            rows.append(
                {
                    "model": model,
                    "body": kind,
                    "concurrency": concurrency,
                    **result,
                    "rss_after_warmup_mb": warm,
                    "rss_after_mb": _tree_rss_mb(server.pid),
                }
            )
            _print_row(rows[-1])

        _print_header()
        scenario("linear", "json", 1, 2000)
        scenario("linear", "form", 1, 2000)
        scenario("linear", "json", 16, 10000)
        scenario("linear", "form", 16, 10000)
        scenario("linear", "json", 64, 10000)
        if args.kim:
            scenario("kim-cnn", "json", 1, 500)
            scenario("kim-cnn", "json", 16, 2000)
        for model in (m for m in deployments if m.startswith("transformer")):
            scenario(model, "json", 1, 200, max_seconds=300)  # one review at a time: p50
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        for _, _, _, name in deployments.values():
            harness.run_child(
                [sys.executable, "-m", "critic.cli", "deploy", "delete", name], env=env
            )
    bars = _bars(rows)
    for bar, met in bars.items():
        print(f"  {bar}: {'met' if met else 'NOT met'}")
    harness.save(
        "serve",
        rows,
        benchmark="serve",
        workers=args.workers,
        experiments={k: v[0] for k, v in deployments.items()},
        bars=bars,
    )


def _tree_rss_mb(group: int) -> float:
    """Resident memory of every process in the server's process group (uvicorn and its workers), MB."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if (
                int(fields[2]) == group
            ):  # field 5 of /proc/PID/stat (pgrp), counted after "pid (comm)"
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # field 24: rss in pages
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we looked
    return total / 2**20


def _find(rows: list, model: str, body: str, concurrency: int) -> dict | None:
    return next(
        (
            r
            for r in rows
            if (r["model"], r["body"], r["concurrency"]) == (model, body, concurrency)
        ),
        None,
    )


def _bars(rows: list) -> dict:
    bars = {}
    one = _find(rows, "linear", "json", 1)
    if one:
        bars["linear p50 ≤ 3 ms at concurrency 1"] = one["p50_ms"] <= 3
        bars["linear p99 ≤ 15 ms at concurrency 1"] = one["p99_ms"] <= 15
    sixteen = _find(rows, "linear", "json", 16)
    if sixteen:
        bars["linear ≥ 800 requests/s at concurrency 16"] = sixteen["requests_per_s"] >= 800
    many = _find(rows, "linear", "json", 64)
    if many:
        bars["10,000 requests at concurrency 64, zero errors"] = (
            many["requests"] == 10000 and many["errors"] == 0
        )
        bars["memory flat at concurrency 64 (RSS after ≤ after warm-up + 10 %)"] = (
            many["rss_after_mb"] <= many["rss_after_warmup_mb"] * 1.10
        )
    kim = _find(rows, "kim-cnn", "json", 1)
    if kim:
        bars["Kim CNN p50 ≤ 20 ms"] = kim["p50_ms"] <= 20
    for row in rows:
        if row["model"].startswith("transformer"):
            bars[f"{row['model']} p50 ≤ 30 ms"] = row["p50_ms"] <= 30
    return bars


def _print_header() -> None:
    print(
        f"{'model':<8} {'body':<5} {'conc':>4} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p90 ms':>7} "
        f"{'p99 ms':>7} {'seconds':>7} {'RSS warm → after':>17}"
    )


def _print_row(r: dict) -> None:
    print(
        f"{r['model']:<8} {r['body']:<5} {r['concurrency']:>4} {r['requests']:>8,} "
        f"{r['errors']:>6} {r['requests_per_s']:>7.0f} "
        f"{r['p50_ms']:>7.2f} {r['p90_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['seconds']:>7.1f} "
        f"{r['rss_after_warmup_mb']:>7.0f} → {r['rss_after_mb']:>4.0f} MB",
        flush=True,
    )


if __name__ == "__main__":
    main()
