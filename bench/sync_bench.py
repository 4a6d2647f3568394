"""Time a full sync on sample areas of growing size (not part of the test suite).

    .venv/bin/python bench/sync_bench.py [--schools 165 330 660]

Prints, per size: spreadsheets read and written, and seconds for sample, sync.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pipeline.config import load_settings
from pipeline.sample import generate_area
from pipeline.sync import run_sync
from pipeline.workbook.local import LocalWorkbook

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schools", type=int, nargs="+", default=[165, 330])
    args = parser.parse_args()
    print(f"{'schools':>8} {'staff':>6} {'reads':>6} {'writes':>7} {'sample s':>9} {'sync s':>7}")
    for schools in args.schools:
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings(
                DEMO, {"storage.path": f"{folder}/sheets", "output.outbox": f"{folder}/outbox"}
            )
            start = time.perf_counter()
            manifest = generate_area(LocalWorkbook(settings.storage.path), settings, schools=schools)
            sampled = time.perf_counter()
            result = run_sync(settings)
            synced = time.perf_counter()
            print(
                f"{schools:>8} {manifest['counts']['staff']:>6} {result.read_calls:>6} "
                f"{result.published.write_calls:>7} {sampled - start:>9.1f} {synced - sampled:>7.1f}"
            )


if __name__ == "__main__":
    main()
