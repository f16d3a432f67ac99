"""critic.jobs is read by the web server and by `critic jobs`: it loads no training, no CLI and
no heavy library (the command a job runs imports those, in its own process)."""

import subprocess
import sys

HEAVY = (
    "torch",
    "pandas",
    "numpy",
    "sklearn",
    "matplotlib",
    "fastapi",
    "critic.train",
    "critic.cli",
)


def test_importing_the_jobs_loads_nothing_heavy():
    code = "import sys, critic.jobs, critic.jobs.runner; print(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY[-2:])] == []
