"""Google backend: requests and wall time of three nights, against the fake Google on loopback.

For a full sync, a sync where nothing changed, and a sync after staff edited one
school's ID Plan, prints the requests devplan made next to the lower bound (one
read per source spreadsheet that changed, one write per summary that changed,
the Drive listing) and next to a naive gspread script (open every spreadsheet,
``get_all_values`` each tab, ``update`` each output tab: the same every night),
and the time at Google's quota next to the quota bound (how long the quota alone
forces) and the goal for a full sync: 1.15 × the longer of its reads and its
writes at the quota's rate (reads and writes overlap: ``pipeline.sync.Overlap``).

The fake enforces the quota (60 reads and 60 writes per 60 s window and user, 429
past it) in a virtual clock that devplan's pacing shares: a wait for the quota
passes at once, and the clock tells how long the quota made the run wait. So the
bench runs in about a minute at Google's real window, and a night at 60/min takes
at most its quota timeline (the virtual clock at the end) plus its own work (the
real time it took here, on loopback; Google's answers add their own latency, which
like the work overlaps the quota's waits).

    .venv/bin/python bench/google_bench.py [--schools 165]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.config import load_settings  # noqa: E402
from pipeline.sample import generate_area  # noqa: E402
from pipeline.state import State  # noqa: E402
from pipeline.sync import run_sync  # noqa: E402
from pipeline.workbook.google import GoogleWorkbook  # noqa: E402
from pipeline.workbook.google_http import Pacing  # noqa: E402
from pipeline.workbook.local import LocalWorkbook  # noqa: E402
from tests.fake_google import FakeGoogle  # noqa: E402
from tests.google_area import google_config, upload  # noqa: E402

LIMIT = 60  # Sheets requests per minute per user, reads and writes each
WINDOW = 60.0


class VirtualClock:
    """Time that passes only when devplan waits: the fake's quota and devplan's pacing count in it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def naive(fake: FakeGoogle, ids: dict[str, str], settings) -> Counter:
    """What a plain gspread script costs for one night: open, get_all_values, update."""
    client = fake.gspread_client()
    fake.clear_log()
    src = settings.sources
    for key, sid in ids.items():
        book = client.open_by_key(sid)
        if key.startswith("idplan-"):
            tabs = [src.idplan.plan_tab, src.idplan.record_tab]
        elif key == src.units.spreadsheet:
            tabs = [src.units.tab, src.staff.tab]
        else:
            tabs = [src.survey.tab]
        for tab in tabs:
            book.worksheet(tab).get_all_values()
        if key.startswith("idplan-"):
            sheet = book.add_worksheet("naive summary", rows=60, cols=10)
            sheet.update([["x"] * 10] * 60, "A1", raw=True)
    return Counter(r.kind for r in fake.requests(api="sheets")) + Counter(drive=len(fake.requests(api="drive")))


def night(fake: FakeGoogle, settings, folder: str, clock: VirtualClock, day: int) -> tuple[Counter, float, float]:
    """One sync: (requests by kind, its own work in real seconds, its quota timeline in virtual seconds)."""
    fake.clear_log()
    book = GoogleWorkbook(folder, State(settings.storage.state), api_base=fake.base_url,
                          pacing=Pacing(reads=LIMIT, writes=LIMIT, window=WINDOW), clock=clock, sleep=clock.sleep)
    started, began = time.perf_counter(), clock.now
    run_sync(settings, workbook=book, today=date(2019, 9, day))
    took = time.perf_counter() - started
    counts = Counter(r.kind for r in fake.requests(api="sheets")) + Counter(drive=len(fake.requests(api="drive")))
    counts["429"] = sum(1 for r in fake.requests() if r.status == 429)
    return counts, took, clock.now - began


def goal(reads: int, writes: int, window: float) -> float:
    """The issue's bound for a full sync: 1.15 × max(reads, writes) at ``LIMIT`` per ``window``."""
    return 1.15 * max(reads, writes) / LIMIT * window


def quota_bound(reads: int, writes: int, window: float) -> float:
    """Seconds the quota alone forces: the first ``LIMIT`` of each kind go at once, then one window per ``LIMIT``."""
    return max(max(0, math.ceil(n / LIMIT) - 1) * window for n in (reads, writes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=165)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="devplan-gbench-"))
    try:
        local = load_settings(REPO / "config" / "demo.toml", {"storage.path": str(work / "sheets"),
                                                              "output.outbox": str(work / "outbox")})
        generate_area(LocalWorkbook(local.storage.path), local, schools=args.schools, seed=2562)
        with FakeGoogle() as fake:
            clock = VirtualClock()
            fake.quota.clock, fake.quota.window = clock, WINDOW
            fake.quota.read_limit = fake.quota.write_limit = LIMIT
            os.environ["DEVPLAN_GOOGLE_API_BASE"] = fake.base_url
            folder = fake.add_folder("bench", shared_drive=True, shared_with=[None])
            ids = upload(fake, local.storage.path, folder)
            config = google_config(work, folder, name="bench.toml")
            settings = load_settings(config)
            sources = len(ids)
            units = sum(1 for k in ids if k.startswith("idplan-"))

            rows = []
            rows.append(("full", *night(fake, settings, folder, clock, 1), (sources, units + 1, 2)))
            rows.append(("no change", *night(fake, settings, folder, clock, 2), (0, 0, 1)))
            school = sorted(k for k in ids if k.startswith("idplan-"))[0]
            plan_tab = settings.sources.idplan.plan_tab
            height = len(fake.values(ids[school], plan_tab))
            fake.staff_edit(ids[school], plan_tab, height, 1, "2562")
            rows.append(("one school edited", *night(fake, settings, folder, clock, 3), (1, 2, 1)))

            folder2 = fake.add_folder("naive", shared_drive=True, shared_with=[None])
            naive_ids = upload(fake, local.storage.path, folder2)
            fake.quota.read_limit = fake.quota.write_limit = None  # count only
            plain = naive(fake, naive_ids, settings)

        print(f"{args.schools} schools, {sources} source spreadsheets ({units} ID Plans), "
              f"quota {LIMIT} reads and {LIMIT} writes per {WINDOW:g} s (virtual clock)")
        print(f"{'night':<20}{'reads':>7}{'writes':>8}{'drive':>7}{'total':>7}   {'lower bound':>12}"
              f"   {'naive gspread':>14}   {'own work':>9}   {'quota timeline':>15}   {'at 60/min':>10}"
              f"   {'quota bound':>12}   {'goal':>7}   429s")
        naive_total = plain["read"] + plain["write"] + plain["drive"]
        for name, c, took, timeline, (lo_r, lo_w, lo_d) in rows:
            total = c["read"] + c["write"] + c["drive"]
            print(f"{name:<20}{c['read']:>7}{c['write']:>8}{c['drive']:>7}{total:>7}   "
                  f"{lo_r + lo_w + lo_d:>12}   {naive_total:>14}   {took:>7.1f} s   {timeline:>13.0f} s   "
                  f"{timeline + took:>8.0f} s   {quota_bound(c['read'], c['write'], WINDOW):>10.0f} s   "
                  f"{goal(c['read'], c['write'], WINDOW):>5.0f} s   {c['429']}")
        print(f"naive gspread script per night: {plain['read']} reads, {plain['write']} writes, "
              f"{plain['drive']} Drive; at the quota at least "
              f"{quota_bound(plain['read'], plain['write'], WINDOW):.0f} s, every night")
        print("lower bound: one read per changed source spreadsheet, one write per changed summary "
              "(and the dashboard), one Drive listing (and creating the dashboard on the first night)")
        _, c, took, timeline, _ = rows[0]
        ratio = (timeline + took) / (max(c["read"], c["write"]) / LIMIT * WINDOW)
        print(f"full sync at 60/min: at most {timeline:.0f} s of quota timeline + {took:.1f} s of its own work "
              f"= {timeline + took:.0f} s = {ratio:.2f} × max(reads, writes)/60 min "
              f"(goal ≤ 1.15: {'met' if ratio <= 1.15 else 'NOT met'}); reads then writes would take "
              f"{2 * quota_bound(c['read'], c['write'], WINDOW):.0f} s of quota timeline")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
