"""The shared harness of critic's benchmarks: child processes with their own wall time and peak RSS,
the machine they ran on, and one JSON result per benchmark.

Every script in bench/ and bench/research/ runs as `.venv/bin/python bench/NAME.py` (or
bench/research/NAME.py) and makes this module importable with the same first lines:

    sys.path.insert(0, str(Path(__file__).resolve().parent))       # bench/ (parents[1] from bench/research/)
    import harness

API
    machine() -> dict                          CPU model, cores, memory, Python, torch, critic, platform
    run_child(argv, *, env, timeout, cwd)      one child process: rc, wall_s, peak_rss_mb, stdout, stderr
    repeat(argv, n, **kw)                      n runs: each run, and min / median / max of wall_s and RSS
    in_child("module:function", *args)         a bench function in a fresh interpreter: its JSON result
                                               plus wall_s and peak_rss_mb
    save(name, rows, **meta) -> Path           bench/results/<name>.json with machine, command and time
    load(name) -> dict, write(name, data)      a results file read and written whole ({} when missing): for
                                               files of several parts, such as one file per research question
    table(rows, columns, title=None)           a rich table (plain text when rich is missing)

Results go to bench/results/ unless CRITIC_BENCH_RESULTS names another folder (for trial runs that
must not replace the saved ones). `python bench/harness.py --self-test` checks the harness itself
in a few seconds.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = Path(
    os.environ.get("CRITIC_BENCH_RESULTS") or BENCH / "results"
)  # another folder for trial runs
__all__ = [
    "BENCH",
    "RESULTS",
    "ChildFailed",
    "machine",
    "run_child",
    "repeat",
    "in_child",
    "save",
    "load",
    "write",
    "now",
    "table",
]


class ChildFailed(RuntimeError):
    """A child process ended with a non-zero status; `.result` is run_child's dict (stderr included)."""

    def __init__(self, result: dict):
        tail = (result.get("stderr") or "").strip().splitlines()[-1:] or [f"exit {result['rc']}"]
        super().__init__(
            f"{' '.join(map(str, result['argv']))[:200]} failed (exit {result['rc']}): {tail[0][:300]}"
        )
        self.result = result


def machine() -> dict:
    """Where a result was measured. Cheap: reads /proc and package metadata, imports neither torch nor critic."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "critic": _version("critic"),
        "platform": platform.platform(),
    }


def _cpu_model() -> str:
    """The CPU's model name: CPU training is deterministic on one kind of CPU, not across kinds."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    return next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
        platform.processor() or platform.machine(),
    )


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_child(
    argv: list[str],
    *,
    env: dict | None = None,
    timeout: float | None = None,
    cwd=None,
    stderr: str = "capture",
) -> dict:
    """Run `argv` as a child process and wait for it.

    Returns {"argv", "rc", "wall_s", "peak_rss_mb", "stdout", "stderr"}. The peak RSS is the
    kernel's for this child and the children it waited for (os.wait4 on its pid), so it is exact
    per child whatever else this process runs. `stderr="inherit"` lets the child's stderr reach the
    terminal (live progress bars) instead of capturing it ("stderr" is then ""). After `timeout`
    seconds the child is killed and rc is -9. A failure is returned, not raised: see ChildFailed."""
    argv = [str(a) for a in argv]
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        text=True,
        stderr=subprocess.PIPE if stderr == "capture" else None,
    )
    out: dict[str, str] = {}
    readers = [
        threading.Thread(
            target=lambda name=name, pipe=pipe: out.__setitem__(name, pipe.read()), daemon=True
        )
        for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr))
        if pipe is not None
    ]
    for (
        reader
    ) in readers:  # both pipes drained at once, so a chatty child never blocks on a full pipe
        reader.start()
    killer = threading.Timer(timeout, proc.kill) if timeout else None
    if killer:
        killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if killer:
            killer.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    for reader in readers:
        reader.join()
    return {
        "argv": argv,
        "rc": proc.returncode,
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "stdout": out.get("stdout", ""),
        "stderr": out.get("stderr", ""),
    }


def repeat(argv: list[str], n: int, **kw) -> dict:
    """`n` runs of run_child(argv, **kw), one after the other: every run, and the spread of wall
    time and peak RSS over them."""
    runs = [run_child(argv, **kw) for _ in range(n)]
    return {
        "runs": runs,
        "wall_s": _spread(r["wall_s"] for r in runs),
        "peak_rss_mb": _spread(r["peak_rss_mb"] for r in runs),
    }


def _spread(values) -> dict:
    values = list(values)
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def in_child(
    func_path: str,
    *args,
    env: dict | None = None,
    timeout: float | None = None,
    cwd=None,
    stderr: str = "capture",
) -> dict:
    """Call `module:function(*args)` of a bench script in a fresh interpreter, so each contender's
    imports, memory and threads are its own. The module is found on bench/ and bench/research/;
    the arguments and the result must be JSON-serialisable, and the result a dict. Returns the
    result plus "wall_s" (the child's whole life, interpreter start-up included) and "peak_rss_mb".
    Anything the function prints goes to stderr, so stdout carries only the result's JSON line.
    Raises ChildFailed when the child fails."""
    done = run_child(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--call",
            func_path,
            json.dumps(list(args)),
        ],
        env=env,
        timeout=timeout,
        cwd=cwd,
        stderr=stderr,
    )
    if done["rc"] != 0:
        raise ChildFailed(done)
    lines = done["stdout"].strip().splitlines()
    if not lines:
        raise ChildFailed(
            {**done, "rc": done["rc"] or 1, "stderr": done["stderr"] + "\nno result on stdout"}
        )
    return {**json.loads(lines[-1]), "wall_s": done["wall_s"], "peak_rss_mb": done["peak_rss_mb"]}


def _call(func_path: str, args_json: str) -> None:
    """The child's side of in_child: import, call, print one JSON line on the real stdout."""
    for folder in (BENCH / "research", BENCH):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    module_name, _, function_name = func_path.partition(":")
    result_fd = os.dup(1)
    os.dup2(2, 1)  # whatever the function prints (progress, tables) goes to stderr
    sys.stdout = sys.stderr
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(*json.loads(args_json))
    sys.stdout.flush()
    with os.fdopen(result_fd, "w") as out:
        out.write(json.dumps(result, default=str) + "\n")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now (servers the benches start use it)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(port: int, seconds: float = 120) -> None:
    """Return once `critic serve` on 127.0.0.1:`port` answers GET /healthz with 200 (every
    enabled deployment loaded); SystemExit after `seconds`."""
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("critic serve did not start")


def test_accuracy(checkpoint, dataset: str) -> float:
    """Accuracy of a checkpoint folder on the test subset of `dataset` (a NAME@V of the current
    workspace), through the one Predictor: what a bench reports beside its own figures."""
    from critic.data import load_version
    from critic.predictor import Predictor

    predictor = Predictor.from_checkpoint(Path(checkpoint))
    test = load_version(dataset).subset("test", ["text", "label"])
    truth = test["label"].map({c: i for i, c in enumerate(predictor.classes)}).to_numpy()
    return float((predictor.predict_proba(test["text"].tolist()).argmax(1) == truth).mean())


def probs_cache(experiment: str) -> Path:
    """Where a bench keeps an experiment's best-checkpoint PyTorch probabilities on the whole
    test subset (.npy, in the workspace): export.py writes it, ensemble.py reads it, so MiniLM
    predicts the 25,000 reviews once."""
    from critic.workspace import Workspace

    folder = Workspace.from_env().root / "bench-probs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{experiment}-test.npy"


def save(name: str, rows: list[dict], **meta) -> Path:
    """Write bench/results/<name>.json: the machine, the command, the time, `meta` and the rows.
    A name may hold a folder ("research/x") or be an absolute path without ".json"."""
    return write(
        name, {"machine": machine(), "command": sys.argv, "created": now(), **meta, "rows": rows}
    )


def now() -> str:
    """The time a result is saved, as saved (UTC, ISO 8601, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _path(name: str) -> Path:
    return RESULTS / f"{name}.json"  # an absolute name replaces RESULTS


def load(name: str) -> dict:
    """bench/results/<name>.json, or {} when it was never saved."""
    path = _path(name)
    return json.loads(path.read_text()) if path.exists() else {}


def write(name: str, data: dict) -> Path:
    """Write `data` whole to bench/results/<name>.json and return its path."""
    path = _path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def table(rows: list[dict], columns, title: str | None = None) -> None:
    """Print rows as a table. `columns` is a list of keys, or of (heading, key or function of the row,
    format spec) tuples: ("test acc", "test_accuracy", ".2%"). A missing value prints as "-"."""
    spec = [(c, c, "") if isinstance(c, str) else (tuple(c) + ("",))[:3] for c in columns]
    cells = [[_cell(row, key, fmt) for _, key, fmt in spec] for row in rows]
    headings = [heading for heading, _, _ in spec]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headings)]
        if title:
            print(title)
        for line in [headings, *cells]:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
        return
    out = Table(title=title)
    for heading in headings:
        out.add_column(heading)
    for line in cells:
        out.add_row(*line)
    Console().print(out)


def _cell(row: dict, key, fmt: str) -> str:
    value = key(row) if callable(key) else row.get(key)
    if value is None:
        return "-"
    return format(value, fmt) if fmt else str(value)


def _self_test() -> None:
    """A few seconds: a child's RSS, rc, timeout, repeat, in_child and save (into a temporary folder)."""
    import tempfile

    grow = "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); print('ok')"
    big, small = (
        run_child([sys.executable, "-c", grow]),
        run_child([sys.executable, "-c", "print('ok')"]),
    )
    assert (
        big["rc"] == 0
        and big["stdout"] == "ok\n"
        and big["peak_rss_mb"] > small["peak_rss_mb"] + 150
    ), (big, small)
    failed = run_child([sys.executable, "-c", "import sys; sys.exit('boom')"])
    assert failed["rc"] == 1 and "boom" in failed["stderr"], failed
    slow = run_child([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert slow["rc"] == -9 and slow["wall_s"] < 10, slow
    spread = repeat([sys.executable, "-c", "pass"], 3)
    assert (
        len(spread["runs"]) == 3
        and spread["wall_s"]["min"] <= spread["wall_s"]["median"] <= spread["wall_s"]["max"]
    )
    result = in_child("harness:_echo", 2, "x")
    assert result["args"] == [2, "x"] and result["peak_rss_mb"] > 0 and result["wall_s"] > 0, result
    try:
        in_child("harness:_echo_missing")
    except ChildFailed as error:
        assert "AttributeError" in error.result["stderr"]
    else:
        raise AssertionError("in_child of a missing function did not raise")
    global RESULTS
    kept, RESULTS = RESULTS, Path(tempfile.mkdtemp())
    try:
        path = save("research/self-test", [{"a": 1}], note="n")
        saved = json.loads(path.read_text())
        assert (
            saved["rows"] == [{"a": 1}]
            and saved["note"] == "n"
            and saved["machine"]["cores"] == os.cpu_count()
        )
        assert load("research/self-test") == saved and load("missing") == {}
    finally:
        RESULTS = kept
    table([{"name": "a", "x": 0.5}], ["name", ("share", "x", ".1%")], title="self-test")
    print("harness self-test: ok", machine())


def _echo(*args) -> dict:
    print("this goes to stderr, not into the result")
    return {"args": list(args)}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--call"]:
        _call(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["--self-test"]:
        _self_test()
    else:
        print(__doc__)
