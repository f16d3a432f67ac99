"""`critic --help`, `--version` and shell completion start without the heavy libraries; the
defaults the help shows are the library's own."""

import os
import subprocess
import sys
import time

import pytest

HEAVY = (
    "critic.train",
    "critic.experiments.run",
    "torch",
    "pandas",
    "numpy",
    "matplotlib",
    "sklearn",
    "transformers",
    "fastapi",
    "uvicorn",
)


def _python(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "120", **(env or {})},
    )


def test_importing_the_cli_loads_no_heavy_library():
    done = _python("-c", "import sys, critic.cli; print(' '.join(m for m in sys.modules))")
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "critic.cli.app" in loaded
    assert [m for m in HEAVY if m in loaded] == []


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["data", "--help"], ["train", "--help"]]
)
def test_help_and_version_start_fast(args):
    start = time.perf_counter()
    done = _python("-m", "critic.cli", *args)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert (
        seconds < 2.0
    )  # loosely: 0.2-0.3 s measured (bench/cli_startup.py); torch alone takes 1.5 s or more
    assert (
        done.stdout.startswith("critic ")
        if args == ["--version"]
        else "Usage: critic" in done.stdout
    )


def test_help_imports_no_heavy_library_even_for_commands_that_use_them():
    code = (
        "import sys\nfrom critic.cli import main\nsys.argv = ['critic', 'train', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])"
    )
    done = _python("-c", code)
    assert "LOADED []" in done.stdout, done.stdout[-500:] + done.stderr


def test_the_help_defaults_are_the_libraries_own():
    from critic.cli import defaults
    from critic.data.download import IMDB_URL
    from critic.data.split import SUBSETS
    from critic.data.stats import COVERAGE_LENGTHS

    assert (defaults.IMDB_URL, defaults.COVERAGE_LENGTHS, defaults.SUBSETS) == (
        IMDB_URL,
        COVERAGE_LENGTHS,
        SUBSETS,
    )
