"""Time the local backend on a sample area (not part of the test suite).

    .venv/bin/python bench/local_bench.py [--schools 165] [--repeat 3]

On the same generated files it prints, in seconds (best of ``--repeat``):

- ``sync``: a full ``run_sync`` with today's backend (calamine read, lossless write);
- ``floor``: the storage work alone: calamine read of every tab of every file,
  plus the lossless zip rewrite of every file the sync writes (the same tabs);
- ``sync (openpyxl)``: a full ``run_sync`` with the previous backend (openpyxl
  read-only read, full load and save to write), on a fresh copy of the files;
- ``floor (openpyxl)``: that backend's read of every file plus its writes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from openpyxl import Workbook as XlsxWorkbook
from openpyxl import load_workbook

from pipeline.config import Settings, load_settings
from pipeline.sample import generate_area
from pipeline.sync import run_sync
from pipeline.workbook import Table
from pipeline.workbook.local import LocalWorkbook, _trim

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.toml"


class OpenpyxlWorkbook(LocalWorkbook):
    """The backend before the lossless rewrite, kept here only to compare timings."""

    def tabs(self, key: str) -> list[str]:
        book = load_workbook(self.path(key), read_only=True)
        try:
            return list(book.sheetnames)
        finally:
            book.close()

    def read(self, key: str, tabs: Sequence[str]) -> dict[str, Table]:
        book = load_workbook(self.path(key), read_only=True, data_only=True)
        try:
            return {t: _trim([list(r) for r in book[t].iter_rows(values_only=True)]) for t in tabs}
        finally:
            book.close()

    def write(self, key: str, tabs: Mapping[str, Table]) -> None:
        path = self.path(key)
        if path.is_file():
            book = load_workbook(path)
        else:
            book = XlsxWorkbook()
            book.remove(book.active)
        for name, rows in tabs.items():
            index = book.sheetnames.index(name) if name in book.sheetnames else None
            if index is not None:
                book.remove(book[name])
            sheet = book.create_sheet(name, index)
            for row in rows:
                sheet.append(row)
            for line in sheet.iter_rows():
                for cell in line:
                    if cell.data_type == "f":
                        cell.data_type = "s"
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsx", dir=path.parent)
        os.close(fd)
        book.save(tmp)
        os.replace(tmp, path)


def best(repeat: int, prepare: Callable[[], Any], work: Callable[[Any], None]) -> float:
    """Fastest of ``repeat`` timings of ``work``, each on what ``prepare`` returns."""
    times = []
    for _ in range(repeat):
        state = prepare()
        start = time.perf_counter()
        work(state)
        times.append(time.perf_counter() - start)
    return min(times)


def settings_for(folder: Path) -> Settings:
    return load_settings(DEMO, {
        "storage.path": str(folder / "sheets"), "output.outbox": str(folder / "outbox"),
        "storage.state": str(folder / "state.sqlite"),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schools", type=int, default=165)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        root_path = Path(root)
        pristine = root_path / "pristine"
        settings = settings_for(pristine)
        generate_area(LocalWorkbook(settings.storage.path), settings, schools=args.schools)
        files = sorted(settings.storage.path.glob("*.xlsx"))
        size = sum(f.stat().st_size for f in files)

        def fresh_copy() -> Settings:
            work = root_path / "work"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(pristine, work)
            return settings_for(work)

        # What one sync writes, captured once, so the floor writes exactly the same tabs.
        probe = fresh_copy()
        result = run_sync(probe)
        probe_book = LocalWorkbook(probe.storage.path)
        writes = {key: probe_book.read(key, tabs) for key, tabs in result.published.written.items()}

        def floor(backend: type[LocalWorkbook]) -> Callable[[Settings], None]:
            def run(s: Settings) -> None:
                book = backend(s.storage.path)
                for key in book.keys():
                    book.read(key, book.tabs(key))
                for key, tabs in writes.items():
                    book.write(key, tabs)
            return run

        timings = {
            "sync": best(args.repeat, fresh_copy, lambda s: run_sync(s)),
            "floor": best(args.repeat, fresh_copy, floor(LocalWorkbook)),
            "sync (openpyxl)": best(args.repeat, fresh_copy,
                                    lambda s: run_sync(s, workbook=OpenpyxlWorkbook(s.storage.path))),
            "floor (openpyxl)": best(args.repeat, fresh_copy, floor(OpenpyxlWorkbook)),
        }
    print(f"{args.schools} schools: {len(files)} files ({size / 1e6:.1f} MB) read, "
          f"{len(writes)} written; best of {args.repeat}, {os.cpu_count()} cores")
    for name, seconds in timings.items():
        print(f"{name:>18}: {seconds:6.2f} s")


if __name__ == "__main__":
    main()
