"""Benchmark: files made to hurt an importer (issue 24), each imported by `critic data import` in a
child process with a fresh workspace: refused or imported, rows kept and rejected, wall time and
peak RSS.

    .venv/bin/python bench/hostile_inputs.py [--label after] [--only "zip-400mb-field;..."] [--timeout 600]

The files are written into a temporary folder, streamed (the bench itself never holds them):
- zip-400mb-field:  a ~400 KB zip (deflate) whose CSV holds one 400 MB text field
                    (`text,label\\n"` + 400 MB of "a" + `",pos\\n`), then 20 good rows;
- tar-gz-1gb:       an aclImdb .tar.gz whose member aclImdb/train/pos/0_9.txt inflates to 1 GB,
                    beside 20 good reviews;
- csv-gz-1gb:       a .csv.gz whose first row is 1 GB, then 20 good rows;
- jsonl-deep:       a JSONL file with one row nested 50,000 deep among 20 good rows;
- csv-10mb-header:  a CSV whose header line is 10 MB (one 10 MB column name), then 20 good rows;
- csv-100k-columns: a CSV with 100,000 columns (text, label and 99,998 more), 20 rows.

Each bomb is imported a second time with CRITIC_MAX_COMPRESSION_RATIO out of the way ("ratio
unlimited"), to see the next defence: the huge row rejected unread (CRITIC_MAX_TEXT_CHARS), the 20
good rows imported; and the 100,000 columns with the header line unlimited, to meet
CRITIC_MAX_COLUMNS.

Targets: the 400 MB-field zip and the 1 GB gzips are refused, each within 300 MB of peak RSS (and
within 300 MB with the ratio unlimited, the huge row rejected); the deep JSONL imports its 20 good
rows and rejects the deep one; no run prints a traceback or meets a bug.

Each child runs under an address-space limit of 8 GiB (RLIMIT_AS) and a timeout, so a reader
without limits fails there instead of taking the machine down. Rows are saved under --label
(default "after"; a run with the readers of an older commit, e.g. PYTHONPATH=<its src>, is saved
as --label "before (<commit>)"): bench/results/hostile_inputs.json keeps one set of rows per label.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared harness
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MB = 2**20
CHUNK = 4 * MB
ADDRESS_SPACE = 8 * 2**30  # RLIMIT_AS of every child
TARGET_MB = 300  # issue 24: the bombs are refused within this peak RSS
GOOD = [(f"good review number {i}, well worth a look", ("pos", "neg")[i % 2]) for i in range(20)]
# the child: limit its address space, then become `critic` (os.wait4 still sees the same pid)
LIMITED = (
    "import os, resource, sys; "
    "resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1]))); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


# -- the files ------------------------------------------------------------------------------------


def repeated(n: int, byte: bytes = b"a"):
    """n bytes of one character, in chunks of CHUNK."""
    block = byte * CHUNK
    while n > 0:
        yield block[: min(n, CHUNK)]
        n -= CHUNK


def good_csv() -> bytes:
    return "".join(f'"{t}",{y}\n' for t, y in GOOD).encode()


def zip_400mb_field(folder: Path) -> Path:
    path = folder / "field-400mb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("reviews.csv", "w", force_zip64=True) as member:
            member.write(b'text,label\n"')
            for block in repeated(400 * MB):
                member.write(block)
            member.write(b'",pos\n' + good_csv())
    return path


class _Stream(io.RawIOBase):
    """A read-only file of `n` bytes of "a" (a tar member's content without holding it)."""

    def __init__(self, n: int):
        self._chunks, self._left = repeated(n), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self._left:
            self._left = next(self._chunks, b"")
        n = min(len(buffer), len(self._left))
        buffer[:n], self._left = self._left[:n], self._left[n:]
        return n


def tar_gz_1gb(folder: Path) -> Path:
    path = folder / "aclImdb-1gb.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        info = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
        info.size = 2**30
        tar.addfile(info, io.BufferedReader(_Stream(info.size), CHUNK))
        for i, (text, label) in enumerate(GOOD):
            subset = ("train", "test")[i % 4 == 3]
            data = text.encode()
            info = tarfile.TarInfo(
                f"aclImdb/{subset}/{label}/{i + 1}_{8 if label == 'pos' else 2}.txt"
            )
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def csv_gz_1gb(folder: Path) -> Path:
    path = folder / "row-1gb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"text,label\n")
        for block in repeated(2**30):
            out.write(block)
        out.write(b",pos\n" + good_csv())
    return path


def jsonl_deep(folder: Path, depth: int = 50_000) -> Path:
    path = folder / "deep.jsonl"
    lines = [json.dumps({"text": t, "label": y}) for t, y in GOOD]
    deep = '{"text": ' + "[" * depth + "]" * depth + ', "label": "pos"}'
    path.write_text("\n".join(lines[:10] + [deep] + lines[10:]) + "\n")
    return path


def csv_10mb_header(folder: Path) -> Path:
    path = folder / "header-10mb.csv"
    with open(path, "wb") as out:
        out.write(b"text,label,")
        for block in repeated(10 * MB, b"x"):
            out.write(block)
        out.write(b"\n" + b"".join(f'"{t}",{y},\n'.encode() for t, y in GOOD))
    return path


def csv_100k_columns(folder: Path, columns: int = 100_000) -> Path:
    path = folder / "columns-100k.csv"
    extra = columns - 2
    with open(path, "w") as out:
        out.write("text,label," + ",".join(f"c{i}" for i in range(extra)) + "\n")
        for text, label in GOOD:
            out.write(f'"{text}",{label},' + ",".join("0" * extra) + "\n")
    return path


NO_RATIO = {"CRITIC_MAX_COMPRESSION_RATIO": "1000000"}  # the second line of defence alone
# case → (the file, what must happen: refused, imported or either, the settings of the import)
CASES = {
    "zip-400mb-field": (zip_400mb_field, "refused", {}),
    "tar-gz-1gb": (tar_gz_1gb, "refused", {}),
    "csv-gz-1gb": (csv_gz_1gb, "refused", {}),
    "jsonl-deep": (jsonl_deep, "imported", {}),
    "csv-10mb-header": (csv_10mb_header, None, {}),
    "csv-100k-columns": (csv_100k_columns, None, {}),
    # with the ratio limit out of the way, the longest text stops the huge row, unread
    "zip-400mb-field, ratio unlimited": (zip_400mb_field, "imported", NO_RATIO),
    "tar-gz-1gb, ratio unlimited": (tar_gz_1gb, "imported", NO_RATIO),
    "csv-gz-1gb, ratio unlimited": (csv_gz_1gb, "imported", NO_RATIO),
    # with the header line unlimited, the column count stops the 100,000 columns
    "csv-100k-columns, header unlimited": (
        csv_100k_columns,
        "refused",
        {"CRITIC_MAX_HEADER_CHARS": "100000000"},
    ),
}
BOMBS = ("zip-400mb-field", "tar-gz-1gb", "csv-gz-1gb")  # and their "ratio unlimited" runs


# -- importing one ----------------------------------------------------------------------------------


def critic_argv() -> list[str]:
    exe = Path(sys.executable).with_name("critic")
    return (
        [str(exe)]
        if exe.exists()
        else [sys.executable, "-c", "from critic.cli import main; main()"]
    )


def limited(argv: list[str]) -> list[str]:
    return [sys.executable, "-c", LIMITED, str(ADDRESS_SPACE), *argv]


def import_one(name: str, source: Path, timeout: float, settings: dict) -> dict:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "CRITIC_HOME": home, "COLUMNS": "200", "NO_COLOR": "1", **settings}
        done = harness.run_child(
            limited([*critic_argv(), "data", "import", "hostile", "--source", source, "-q"]),
            env=env,
            timeout=timeout,
        )
        output = done["stdout"] + done["stderr"]
        row = {
            "case": name,
            "settings": settings,
            "file_mb": round(source.stat().st_size / MB, 2),
            "rc": done["rc"],
            "outcome": _outcome(done, output),
            "message": _message(output),
            "traceback": "Traceback (most recent call last)" in output,
            "wall_s": round(done["wall_s"], 2),
            "peak_rss_mb": round(done["peak_rss_mb"], 1),
            "accepted": None,
            "rejected": None,
        }
        if row["outcome"] == "imported":
            shown = harness.run_child(
                [*critic_argv(), "data", "show", "hostile"], env=env, timeout=120
            )
            row.update(_counts(done["stdout"], shown["stdout"]))
        return row


def _outcome(done: dict, output: str) -> str:
    """imported (exit 0), refused (exit 2: a CriticError's one line), crashed (a traceback, or
    exit 1: critic's line for a bug, its traceback in a log file), killed (timeout or signal)."""
    if "Traceback (most recent call last)" in output:
        return f"crashed (exit {done['rc']}, traceback)"
    if done["rc"] < 0:
        return f"killed (signal {-done['rc']})"
    return {0: "imported", 2: "refused", 1: "crashed (a bug)"}.get(
        done["rc"], f"failed ({done['rc']})"
    )


def _message(output: str) -> str:
    """The line a user reads: the error line if there is one, else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "imported", "critic:"))]
    return ((errors or lines or [""])[-1])[:300]


def _counts(imported: str, shown: str) -> dict:
    """Rows kept and rejected: from `data import`'s summary line, checked against `data show`."""
    kept = re.search(r"([\d,]+) rows?\b", imported)
    rejected = re.search(r"^\s*rejected\s+([\d,]+)", shown, re.M)
    number = lambda m: int(m.group(1).replace(",", "")) if m else None  # noqa: E731
    return {"accepted": number(kept), "rejected": number(rejected) or 0}


def met(row: dict) -> bool:
    """The targets: the outcome the case wants; bombs within TARGET_MB; the one bad row of a
    file that imports rejected and the 20 good ones kept."""
    want = CASES[row["case"]][1]
    ok = row["outcome"] in ("imported", "refused")
    if want:
        ok = ok and row["outcome"] == want
    if row["case"].split(",")[0] in BOMBS:
        ok = ok and row["peak_rss_mb"] <= TARGET_MB
    if want == "imported":
        ok = ok and row["accepted"] == len(GOOD) and row["rejected"] == 1
    return ok


# -- main -------------------------------------------------------------------------------------------


def source_commit() -> str:
    """The commit the readers come from (with '+dirty' when src/ has changes nobody committed)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "?"
    return commit + ("+dirty" if dirty else "")


def critic_source() -> str:
    done = subprocess.run(
        [sys.executable, "-c", "import critic; print(critic.__file__)"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def main() -> None:
    os.environ.setdefault("COLUMNS", "150")  # the table, when stdout is not a terminal
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--label", default="after", help="the name these rows are saved under")
    parser.add_argument("--only", default=";".join(CASES), help="cases, separated by ;")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per import")
    parser.add_argument(
        "--commit", help="the commit the readers come from, when PYTHONPATH names another tree"
    )
    args = parser.parse_args()
    commit = args.commit or source_commit()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(";"):
            make, _, settings = CASES[name]
            print(f"{name}: writing ...", file=sys.stderr, flush=True)
            source = make(Path(tmp))
            print(f"{name}: importing {source.name} ...", file=sys.stderr, flush=True)
            row = import_one(name, source, args.timeout, settings)
            row["met"] = met(row)
            rows.append(row)
            source.unlink()
    harness.table(
        rows,
        [
            "case",
            ("file MB", "file_mb"),
            "outcome",
            ("accepted", "accepted"),
            ("rejected", "rejected"),
            ("wall s", "wall_s", ".1f"),
            ("peak RSS MB", "peak_rss_mb", ",.0f"),
            ("traceback", "traceback"),
            ("target", lambda r: "met" if r["met"] else "NOT met"),
        ],
        title=f"hostile inputs ({args.label}, readers of {commit})",
    )
    for row in rows:
        print(f"{row['case']}: {row['message']}")
    saved = harness.load("hostile_inputs").get("runs", {})
    saved[args.label] = {
        "commit": commit,
        "critic": critic_source(),
        "created": harness.now(),
        "rows": rows,
    }
    harness.save(
        "hostile_inputs",
        rows,
        benchmark="hostile_inputs",
        label=args.label,
        address_space_limit=ADDRESS_SPACE,
        runs=saved,
    )


if __name__ == "__main__":
    main()
