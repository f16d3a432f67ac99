"""Benchmark: prediction replicas. One `critic serve --api-only` process against two on one
PostgreSQL catalog, behind a plain round-robin client, on this machine (127.0.0.1 only, bounded).

    .venv/bin/python bench/replicas.py [--source ../shared/data/aclImdb_v1.tar.gz]
        [--requests 10000] [--concurrency 64] [--postgres postgresql://…/postgres]

Sets up a fresh workspace whose catalog is a new database on a PostgreSQL server (a throwaway
cluster on 127.0.0.1 from tests/services.py unless --postgres names one): imports IMDB, trains
the linear preset, deploys it. Then, for one replica and for two, starts the replicas (each one
worker, its own port, CRITIC_DATABASE_URL and CRITIC_HOME shared) and drives them with bench/serve.py's
keep-alive HTTP/1.1 client: `--concurrency` connections dealt round-robin over the replicas
(connection i goes to replica i mod N, as a layer-4 balancer deals them), each request a real
IMDB test review. Warm-up of 1,000 requests first, not counted. A request is an error unless it
is a 200 with a label. Prints a table (requests/s, p50, p99, errors) and saves
bench/results/replicas.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402
import serve  # noqa: E402  (bench/serve.py: the load client)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"
DEPLOYMENT = "bench-replicas"


def prepare(source: str) -> dict:
    """In a child: import IMDB, train the linear preset, deploy it; the token and test texts."""
    from critic.data import import_dataset, load_version
    from critic.deploy import create_deployment
    from critic.experiments.configure import build_config
    from critic.experiments.run import train_experiment

    ref = import_dataset("imdb", source, progress=False).version.ref
    train_experiment(build_config(ref, preset="linear"), name="lin")
    created = create_deployment("lin", name=DEPLOYMENT)
    texts = load_version(ref).subset("test", ["text"])["text"].sample(n=2000, random_state=0)
    return {"token": created.token, "field": created.deployment.input_name, "texts": texts.tolist()}


@contextmanager
def replicas(n: int, env: dict):
    """n `critic serve --api-only` processes, one worker each; their ports once they answer."""
    ports = [harness.free_port() for _ in range(n)]
    procs = [
        subprocess.Popen(
            ["timeout", "900", sys.executable, "-m", "critic.cli", "serve", "--api-only"]
            + ["--port", str(port), "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for port in ports
    ]
    try:
        for port in ports:
            harness.wait_until_serving(port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _check_one(port: int, request: bytes) -> None:
    """One request before the load: a refused one stops the bench with the server's answer."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request)
        answer = conn.recv(65536)
    if b" 200 " not in answer.split(b"\r\n", 1)[0]:
        raise SystemExit(f"the replica refused the bench's request: {answer[-600:]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(DEFAULT_SOURCE))
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--postgres", help="a PostgreSQL superuser URL (default: a throwaway)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.services import create_database, throwaway_postgres

    rows = []
    with ExitStack() as stack:
        admin = args.postgres or stack.enter_context(throwaway_postgres())
        home = stack.enter_context(tempfile.TemporaryDirectory(prefix="critic-bench-replicas-"))
        env = {
            **os.environ,
            "CRITIC_HOME": home,
            "CRITIC_DATABASE_URL": create_database(admin, prefix="critic_bench"),
        }
        print("importing IMDB and training the linear preset ...", file=sys.stderr)
        ready = harness.in_child("replicas:prepare", args.source, env=env, timeout=1800)
        requests = [
            serve._request(
                f"/v1/deployments/{DEPLOYMENT}/predict", ready["token"], ready["field"], t, "json"
            )
            for t in ready["texts"]
        ]
        for n in (1, 2):
            with replicas(n, env) as ports:
                _check_one(ports[0], requests[0])
                asyncio.run(serve._load(ports, requests, 1000, args.concurrency, 120))  # warm-up
                result = asyncio.run(
                    serve._load(ports, requests, args.requests, args.concurrency, 300)
                )
            rows.append({"replicas": n, "concurrency": args.concurrency, **result})
            print(f"{n} replica(s): {result}", file=sys.stderr)
    harness.table(
        rows,
        [
            ("replicas", "replicas", "d"),
            ("concurrency", "concurrency", "d"),
            ("requests", "requests", "d"),
            ("requests/s", "requests_per_s", ".1f"),
            ("p50 ms", "p50_ms", ".1f"),
            ("p99 ms", "p99_ms", ".1f"),
            ("errors", "errors", "d"),
        ],
        title="linear model: one replica against two behind a round-robin client",
    )
    # other work on the machine moves these numbers: the load average is saved with them
    print(harness.save("replicas", rows, load_average_after=os.getloadavg()))


if __name__ == "__main__":
    main()
