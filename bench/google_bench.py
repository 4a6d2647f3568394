"""Google backend: requests and wall time of three nights, against the fake Google on loopback.

For a full sync, a sync where nothing changed, and a sync after staff edited one
school's ID Plan, prints the requests devplan made next to the lower bound (one
read per source spreadsheet that changed, one write per summary that changed,
the Drive listing) and next to a naive gspread script (open every spreadsheet,
``get_all_values`` each tab, ``update`` each output tab: the same every night),
and the wall time next to the quota bound (how long the quota alone forces) and
the goal for a full sync: 1.15 × the longer of its reads and its writes at the
quota's rate (reads and writes overlap: ``pipeline.sync.Overlap``).

The fake enforces the quota (60 reads and 60 writes per window and user) and the
window is scaled (``--window``, default 6 s instead of Google's 60 s) so a
full-size area runs in about a minute; the wall time at Google's real quota is
then the run's own work plus its quota waits scaled back to a minute.

    .venv/bin/python bench/google_bench.py [--schools 165] [--window 6]
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
from pipeline.sync import run_sync  # noqa: E402
from pipeline.workbook.local import LocalWorkbook  # noqa: E402
from tests.fake_google import FakeGoogle  # noqa: E402
from tests.google_area import google_config, upload  # noqa: E402

LIMIT = 60  # Sheets requests per minute per user, reads and writes each


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


def night(fake: FakeGoogle, settings, day: int) -> tuple[Counter, float, object]:
    fake.clear_log()
    started = time.perf_counter()
    result = run_sync(settings, today=date(2019, 9, day))
    took = time.perf_counter() - started
    counts = Counter(r.kind for r in fake.requests(api="sheets")) + Counter(drive=len(fake.requests(api="drive")))
    counts["429"] = sum(1 for r in fake.requests() if r.status == 429)
    return counts, took, result


def goal(reads: int, writes: int, window: float) -> float:
    """The issue's bound for a full sync: 1.15 × max(reads, writes) at ``LIMIT`` per ``window``."""
    return 1.15 * max(reads, writes) / LIMIT * window


def quota_bound(reads: int, writes: int, window: float) -> float:
    """Seconds the quota alone forces: the first ``LIMIT`` of each kind go at once, then one window per ``LIMIT``."""
    return max(max(0, math.ceil(n / LIMIT) - 1) * window for n in (reads, writes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=165)
    parser.add_argument("--window", type=float, default=6.0, help="quota window in seconds (Google: 60)")
    args = parser.parse_args()
    scale = 60.0 / args.window
    work = Path(tempfile.mkdtemp(prefix="devplan-gbench-"))
    try:
        local = load_settings(REPO / "config" / "demo.toml", {"storage.path": str(work / "sheets"),
                                                              "output.outbox": str(work / "outbox")})
        generate_area(LocalWorkbook(local.storage.path), local, schools=args.schools, seed=2562)
        with FakeGoogle() as fake:
            fake.quota.window = args.window
            fake.quota.read_limit = fake.quota.write_limit = LIMIT
            os.environ["DEVPLAN_GOOGLE_API_BASE"] = fake.base_url
            folder = fake.add_folder("bench", shared_drive=True, shared_with=[None])
            ids = upload(fake, local.storage.path, folder)
            config = google_config(work, folder, name="bench.toml",
                                   quota=f"window_seconds = {args.window}\nbackoff_base = 1.0\nmax_backoff = 10")
            settings = load_settings(config)
            sources = len(ids)
            units = sum(1 for k in ids if k.startswith("idplan-"))

            rows = []
            full, full_time, first = night(fake, settings, 1)
            rows.append(("full", full, full_time, first.requests.waited, (sources, units + 1, 2)))
            same, same_time, second = night(fake, settings, 2)
            rows.append(("no change", same, same_time, second.requests.waited, (0, 0, 1)))
            school = sorted(k for k in ids if k.startswith("idplan-"))[0]
            plan_tab = settings.sources.idplan.plan_tab
            height = len(fake.values(ids[school], plan_tab))
            fake.staff_edit(ids[school], plan_tab, height, 1, "2562")
            one, one_time, third = night(fake, settings, 3)
            rows.append(("one school edited", one, one_time, third.requests.waited, (1, 2, 1)))

            folder2 = fake.add_folder("naive", shared_drive=True, shared_with=[None])
            naive_ids = upload(fake, local.storage.path, folder2)
            fake.quota.read_limit = fake.quota.write_limit = 10**9  # count only
            plain = naive(fake, naive_ids, settings)

        print(f"{args.schools} schools, {sources} source spreadsheets ({units} ID Plans), "
              f"quota {LIMIT}/min reads and writes, window scaled to {args.window:g} s")
        print(f"{'night':<20}{'reads':>7}{'writes':>8}{'drive':>7}{'total':>7}   {'lower bound':>12}"
              f"   {'naive gspread':>14}   {'wall here':>10}   {'at 60/min':>10}   {'quota bound':>12}"
              f"   {'goal':>8}   429s")
        naive_total = plain["read"] + plain["write"] + plain["drive"]
        for name, c, took, waited, (lo_r, lo_w, lo_d) in rows:
            total = c["read"] + c["write"] + c["drive"]
            bound = quota_bound(c["read"], c["write"], args.window) * scale
            real = took - waited + waited * scale
            target = goal(c["read"], c["write"], 60.0)
            print(f"{name:<20}{c['read']:>7}{c['write']:>8}{c['drive']:>7}{total:>7}   "
                  f"{lo_r + lo_w + lo_d:>12}   {naive_total:>14}   {took:>8.1f} s   {real:>8.0f} s   "
                  f"{bound:>10.0f} s   {target:>6.0f} s   {c['429']}")
        print(f"naive gspread script per night: {plain['read']} reads, {plain['write']} writes, "
              f"{plain['drive']} Drive; at the quota at least "
              f"{quota_bound(plain['read'], plain['write'], 60):.0f} s, every night")
        print("lower bound: one read per changed source spreadsheet, one write per changed summary "
              "(and the dashboard), one Drive listing (and creating the dashboard on the first night)")
        c, took, waited = rows[0][1], rows[0][2], rows[0][3]
        real, target = took - waited + waited * scale, goal(rows[0][1]["read"], rows[0][1]["write"], 60.0)
        print(f"full sync at 60/min: {real:.0f} s = {real / target * 1.15:.2f} × max(reads, writes)/60 min "
              f"(goal ≤ 1.15: {'met' if real <= target else 'NOT met'}); "
              f"its own work {took - waited:.1f} s, quota waits {waited:.1f} s here = {waited * scale:.0f} s at 60/min")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
