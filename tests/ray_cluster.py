"""A local Ray head for the tests that run jobs on Ray: `ray start --head` with 2 CPUs, its
dashboard (the Job Submission API) on 127.0.0.1 at a free port, its files under pytest's temporary
folder; started once per session and stopped at its end, even when a test fails. Skipped when ray
is not installed, except under CRITIC_REQUIRE_SERVICES=1 (CI), where that fails.

Ray's own processes (GCS, raylet, agents, workers) bind to every interface and take the host's
address even when given 127.0.0.1 (Ray's `resolve_ip_for_localhost`); only the dashboard can be
held to 127.0.0.1. The head is stopped by its own processes, not by `ray stop`, which would stop
every Ray cluster of this machine: `ray start` runs in a session of its own, which every process
of the head and its workers keeps, and the session is sent SIGTERM, then SIGKILL."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["RayHead", "ray_cluster"]

_START_TIMEOUT = 120  # seconds for `ray start` on a busy 2-core machine (~10 s idle)
_STOP_WAIT = (
    3.0  # seconds between SIGTERM and SIGKILL (the GCS may ignore SIGTERM; its data is throwaway)
)
_SOCKET_PATH_ROOM = 40  # Ray's socket paths add ~60 characters; Unix allows 107 in all


@dataclass(frozen=True)
class RayHead:
    address: str  # the dashboard's URL, what CRITIC_RAY_ADDRESS takes
    temp_dir: Path  # Ray's session files and logs
    session: int  # the session id of its processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli() -> Path | None:
    """The `ray` command beside this interpreter, when ray (with its dashboard) is installed."""
    cli = Path(sys.executable).parent / "ray"
    found = importlib.util.find_spec("ray") and importlib.util.find_spec("aiohttp")
    return cli if found and cli.exists() else None


def _session_members(session: int) -> list[int]:
    """Live processes of a session (a zombie is not one)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] not in "ZX" and int(fields[3]) == session:
            found.append(int(entry.name))
    return found


def listening_addresses(session: int) -> set[str]:
    """The local addresses on which the processes of a session listen for TCP connections, read
    from /proc (the listening sockets of /proc/net/tcp and tcp6, matched to the processes' file
    descriptors by inode): "127.0.0.1", "::1", "0.0.0.0", a host address..."""
    inodes: dict[str, str] = {}
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            raw = bytes.fromhex(fields[1].split(":")[0])
            # the kernel prints each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            address = ipaddress.ip_address(words if width == 32 else words[:4])
            mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
            inodes[fields[9]] = str(mapped or address)
    found = set()
    for pid in _session_members(session):
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        found |= {inodes[link[8:-1]] for link in links if link.startswith("socket:[")
                  and link[8:-1] in inodes}  # fmt: skip
    return found


def _stop(session: int) -> None:
    """SIGTERM to every process of the head's session, SIGKILL to those left after _STOP_WAIT.
    (A job's own processes live in sessions Ray gives them; Ray kills them with their job's
    supervisor, a worker of this session.)"""
    for signum, wait in ((signal.SIGTERM, _STOP_WAIT), (signal.SIGKILL, 5.0)):
        for pid in _session_members(session):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while _session_members(session) and time.monotonic() < deadline:
            time.sleep(0.2)


def _temp_dir(tmp_path_factory) -> Path:
    """Under pytest's temporary folder, unless that path leaves no room for Ray's socket paths."""
    path = tmp_path_factory.mktemp("ray")
    if len(str(path)) > _SOCKET_PATH_ROOM:
        path = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    return path


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """A Ray head on 127.0.0.1 (2 CPUs) for the whole session; a RayHead."""
    cli = _ray_cli()
    if cli is None:
        if os.environ.get("CRITIC_REQUIRE_SERVICES") == "1":
            pytest.fail("CRITIC_REQUIRE_SERVICES=1 but ray is not installed (critic[cluster])")
        pytest.skip("ray is not installed: pip install 'critic[cluster]'; CI runs these")
    temp_dir, port = _temp_dir(tmp_path_factory), _free_port()
    argv = [str(cli), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port)]
    argv += ["--dashboard-host", "127.0.0.1", "--dashboard-port", str(_free_port())]
    argv += ["--num-cpus", "2", "--num-gpus", "0", "--include-dashboard", "true"]
    argv += ["--temp-dir", str(temp_dir), "--disable-usage-stats"]
    # the nodes run `python -m critic.jobs.runner`: this interpreter, as on a cluster whose nodes
    # have critic installed
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"):  # they would override ours
        env.pop(name, None)
    # 127.0.0.1 only: Ray replaces a loopback --node-ip-address by the host's own address and
    # binds its core processes (GCS, raylet, client server) to it, unless it is told this is not a
    # cluster (the setting Ray reads for macOS and Windows, where that is its default); checked
    # with `ss -ltnp`: every Ray socket then listens on 127.0.0.1
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    started = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the head's processes keep this session: _stop finds them
    )
    try:
        output, _ = started.communicate(timeout=_START_TIMEOUT)
        if started.returncode != 0:
            pytest.fail(f"ray start failed (exit code {started.returncode}):\n{output[-3000:]}")
        address = f"http://127.0.0.1:{argv[argv.index('--dashboard-port') + 1]}"
        _wait_for_jobs_api(address)
        yield RayHead(address, temp_dir, started.pid)
    finally:
        if started.returncode is None:
            started.kill()
        _stop(started.pid)


def _wait_for_jobs_api(address: str, seconds: float = 60.0) -> None:
    """Until the dashboard answers the Job Submission API (it may start after `ray start` ends)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{address}/api/version", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the Ray dashboard at {address} did not answer within {seconds:.0f} s")
        time.sleep(0.2)
