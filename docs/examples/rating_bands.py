"""Make a small three-class CSV from the IMDB tarball, for the README's walkthrough and
bench/cross_dataset.py: each review's star rating (in its file name) grouped into a band.

    .venv/bin/python docs/examples/rating_bands.py ../shared/data/aclImdb_v1.tar.gz rating_bands.csv [--per-class 1000]

Bands: "bad" (1–3 stars), "middling" (4 or 7 stars; aclImdb has no 5 or 6), "great" (8–10 stars).
Columns: review, band. Rows are sampled with a fixed seed, the same number per band.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import tarfile

BANDS = {
    1: "bad",
    2: "bad",
    3: "bad",
    4: "middling",
    7: "middling",
    8: "great",
    9: "great",
    10: "great",
}
NAME = re.compile(r"aclImdb/(?:train|test)/(?:pos|neg)/\d+_(\d+)\.txt$")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("tarball")
    parser.add_argument("output")
    parser.add_argument("--per-class", type=int, default=1000)
    args = parser.parse_args()
    by_band: dict[str, list[str]] = {b: [] for b in sorted(set(BANDS.values()))}
    with tarfile.open(args.tarball, "r:gz") as tar:
        for member in tar:
            match = NAME.search(member.name)
            if match and member.isfile():
                text = tar.extractfile(member).read().decode("utf-8")
                by_band[BANDS[int(match.group(1))]].append(text)
    rng = random.Random(0)
    rows = [
        (text, band)
        for band, texts in by_band.items()
        for text in rng.sample(texts, args.per_class)
    ]
    rng.shuffle(rows)
    with open(args.output, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "band"])
        writer.writerows(rows)
    print(
        f"wrote {len(rows):,} rows ({args.per_class:,} per band: {', '.join(by_band)}) to {args.output}"
    )


if __name__ == "__main__":
    main()
