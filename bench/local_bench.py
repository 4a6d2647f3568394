"""Time local syncs beside the I/O floor (not part of the test suite; README "Benchmarks" comes from here).

    .venv/bin/python bench/local_bench.py [--schools 165] [--repeat 3] [--growth 80 165 330 1000 3000 10000]
                                          [--growth-repeat 3] [--profile 25] [--areas DIR]

Every time is the best (minimum) of ``--repeat`` runs, wall and CPU (user + system) side by side:
the machine is shared, so CPU time is the steadier figure, and the load average is printed at the
start and the end. It prints:

1. **Nights** on ``--schools`` schools, each a real ``devplan sync`` in a child process (start-up,
   imports and all): the first (full) night on a new state file, an idle night (nothing changed since),
   and a night with one school's file edited; beside each, its I/O floor: the storage work alone
   (calamine read of every tab the night reads, the lossless rewrite of what it writes), and for the
   idle night ``python -c pass``, the least a run can cost.
2. **Stages** of a full sync in this process (no start-up): CPU and wall per stage, and the share of CPU.
   Here the schools' files are written one after another in this process (a real sync writes them in a
   few forked processes, ``pipeline.workbook.forked``), so each stage's CPU is all counted.
3. With ``--profile N``: the N functions with the most CPU of their own in one full sync (cProfile).
4. **Growth** of a full night from 80 to 10,000 schools (the sample generator's cap lifted here only):
   wall, CPU, the largest resident memory, CPU per school, and the I/O floor at each size.

Generated areas are kept in ``--areas DIR`` when given (generating 10,000 schools takes minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo.toml"
DEVPLAN = Path(sys.executable).with_name("devplan")


@dataclass
class Timing:
    wall: float
    cpu: float
    rss_mb: float = 0.0

    @staticmethod
    def best(timings: list["Timing"]) -> "Timing":
        return Timing(min(t.wall for t in timings), min(t.cpu for t in timings), max(t.rss_mb for t in timings))


# --- areas ------------------------------------------------------------------------------


def env_for(folder: Path) -> dict[str, str]:
    """The environment that points ``devplan sync --config config/demo.toml`` at ``folder``."""
    return {**os.environ, "DEVPLAN_STORAGE_PATH": str(folder / "sheets"), "DEVPLAN_OUTBOX": str(folder / "outbox"),
            "DEVPLAN_STATE": str(folder / "state.sqlite")}


def settings_for(folder: Path) -> Any:
    from pipeline.config import load_settings

    return load_settings(DEMO, {"storage.path": str(folder / "sheets"), "output.outbox": str(folder / "outbox"),
                                "storage.state": str(folder / "state.sqlite")})


def area(schools: int, areas: Path) -> Path:
    """A generated sample area of ``schools`` schools (made once, kept in ``areas``)."""
    from pipeline.sample import generate_area
    from pipeline.workbook.local import LocalWorkbook

    folder = areas / f"area-{schools}"
    if not (folder / "done").exists():
        shutil.rmtree(folder, ignore_errors=True)
        settings = settings_for(folder)
        generate_area(LocalWorkbook(settings.storage.path), settings, schools=schools, limit=None)
        (folder / "done").write_text("")
    return folder


def fresh_copy(pristine: Path, work: Path) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine / "sheets", work / "sheets")
    return work


# --- measuring ----------------------------------------------------------------------------


#: ``devplan`` started as its console script does, telling at exit its own peak resident memory (VmHWM).
#: Not the rusage of wait4: a child forked from this process inherits its size, and Linux keeps that peak
#: across exec, so a small night would show the bench's own memory.
LAUNCH = ("import atexit, os, sys\n"
          "def peak():\n"
          "    with open('/proc/self/status') as status, open(os.environ['DEVPLAN_BENCH_PEAK'], 'w') as out:\n"
          "        out.write(next(line.split()[1] for line in status if line.startswith('VmHWM:')))\n"
          "atexit.register(peak)\n"
          "sys.argv = ['devplan', *sys.argv[1:]]\n"
          "from pipeline.cli import main\n"
          "main()\n")


def child(command: list[str], env: dict[str, str] | None = None) -> Timing:
    """Run ``command``; its wall time and CPU time (from wait4's rusage), and for a ``devplan`` command its
    largest resident memory (its own VmHWM, see ``LAUNCH``)."""
    with tempfile.NamedTemporaryFile(prefix="devplan-bench-peak-") as peak:
        devplan = command[0] == str(DEVPLAN)
        if devplan:
            command = [sys.executable, "-c", LAUNCH, *command[1:]]
            env = {**(env or os.environ), "DEVPLAN_BENCH_PEAK": peak.name}
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):  # 1: the sample's spoiled rows need a person, as they should
            raise SystemExit(f"{' '.join(command)} exited {code}:\n{errors.decode('utf-8', 'replace')[-2000:]}")
        kb = Path(peak.name).read_text().strip() if devplan else ""
    return Timing(wall, usage.ru_utime + usage.ru_stime, int(kb) / 1024 if kb else 0.0)


def sync(folder: Path, *flags: str) -> Timing:
    return child([str(DEVPLAN), "sync", "--config", str(DEMO), *flags], env_for(folder))


@contextlib.contextmanager
def one_process() -> Iterator[None]:
    """Every write in this process, where its CPU is counted (a sync writes in a few forked processes)."""
    from pipeline.workbook import forked

    side_by_side = forked.workers_here
    forked.workers_here = lambda: 1
    try:
        yield
    finally:
        forked.workers_here = side_by_side


@contextlib.contextmanager
def timed(into: list[Timing]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    into.append(Timing(time.perf_counter() - wall, time.process_time() - cpu))


def edit_one_school(folder: Path, round_: int) -> None:
    """A person's edit: one record's hours in the first school's ID Plan, a different value each round."""
    from pipeline.workbook.local import LocalWorkbook

    settings = settings_for(folder)
    book = LocalWorkbook(settings.storage.path)
    key = next(k for k in book.keys() if k.startswith("idplan-") and not k.endswith(settings.area.office_code))
    tab = settings.sources.idplan.record_tab
    rows = book.read(key, [tab])[tab]
    column = rows[0].index(settings.sources.idplan.record_columns.hours)
    rows[1][column] = 7 + round_
    book.write(key, {tab: rows})


# --- the I/O floor --------------------------------------------------------------------------


def floor(folder: Path, written: dict[str, dict[str, Any]], read_all: bool = True) -> Timing:
    """The storage work alone: calamine read of every tab (``read_all``), then the lossless write of ``written``."""
    from pipeline.workbook.local import LocalWorkbook

    book = LocalWorkbook(folder / "sheets")
    spent: list[Timing] = []
    with timed(spent):
        if read_all:
            for key in book.keys():
                book.read(key, book.tabs(key))
        for key, tabs in written.items():
            book.write(key, tabs)
    return spent[0]


def written_by_sync(folder: Path) -> dict[str, dict[str, Any]]:
    """What a full sync of ``folder`` writes, read back: the floor writes exactly these tabs."""
    from pipeline.sync import run_sync
    from pipeline.workbook.local import LocalWorkbook

    result = run_sync(settings_for(folder))
    book = LocalWorkbook(folder / "sheets")
    return {key: book.read(key, tabs) for key, tabs in result.published.written.items()}


# --- stages -----------------------------------------------------------------------------------

#: stage -> the functions (module, name) whose calls it is made of, as ``pipeline.sync`` calls them
STAGES: dict[str, list[tuple[str, str]]] = {
    "collect": [("pipeline.sync", "read_sources"), ("pipeline.sync", "read_idplans"),
                ("pipeline.sync", "learn_last_mailing")],
    "normalize": [("pipeline.sync", "normalize"), ("pipeline.sync", "leave_out"),
                  ("pipeline.sync", "office_code_problem"), ("pipeline.sync", "unit_codes")],
    "measure (indicators)": [("pipeline.sync", "measure")],
    "needs": [("pipeline.sync", "measure_needs")],
    "own plans": [("pipeline.sync", "own_plans")],
    "spending": [("pipeline.sync", "measure_spending")],
    "summaries": [("pipeline.sync", "unit_summaries"), ("pipeline.sync", "area_summary")],
    "publish": [("pipeline.sync", "publish")],
    "deliver": [("pipeline.sync", "plan_mail"), ("pipeline.sync", "post_mail"), ("pipeline.sync", "check_send_log")],
}
#: parts shown under their stage: (stage, part) -> functions
PARTS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("publish", "render"): [("pipeline.publish", "unit_tabs"), ("pipeline.publish", "render_dashboard")],
    ("publish", "storage write"): [("pipeline.workbook.local", "LocalWorkbook._write")],
    ("deliver", "render"): [("pipeline.deliver", "letter")],
    ("deliver", "message build"): [("pipeline.deliver", "build_message")],
    ("deliver", "outbox write"): [("pipeline.deliver", "Postbox.keep")],
    ("collect", "storage read"): [("pipeline.workbook.local", "LocalWorkbook.read")],
}


class StageClock:
    """Wraps the named functions so each call's CPU and wall time add to its stage (outermost call only)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.depth: dict[str, int] = {}
        self.undo: list[Callable[[], None]] = []

    def wrap(self, name: str, module: str, attr: str) -> None:
        import importlib

        owner: Any = importlib.import_module(module)
        *path, leaf = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = owner.__dict__.get(leaf) if isinstance(owner, type) else getattr(owner, leaf, None)
        if original is None:  # renamed in pipeline/: the table would quietly lose a stage
            raise SystemExit(f"bench: {module}.{attr} (stage {name!r}) is gone; update STAGES or PARTS")

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            if self.depth.get(name):
                return original(*args, **kwargs)
            self.depth[name] = 1
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.depth[name] = 0
                self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
                self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall

        setattr(owner, leaf, timed_call)
        self.undo.append(lambda: setattr(owner, leaf, original))

    def __enter__(self) -> "StageClock":
        for stage, functions in STAGES.items():
            for module, attr in functions:
                self.wrap(stage, module, attr)
        for (stage, part), functions in PARTS.items():
            for module, attr in functions:
                self.wrap(f"{stage}/{part}", module, attr)
        return self

    def __exit__(self, *exc: Any) -> None:
        for undo in reversed(self.undo):
            undo()


def stages(pristine: Path, work: Path, repeat: int) -> tuple[dict[str, Timing], Timing]:
    """Each stage's best CPU and wall over ``repeat`` full syncs in this process, and the whole sync's."""
    from pipeline.sync import run_sync

    runs: list[StageClock] = []
    totals: list[Timing] = []
    for _ in range(repeat):
        settings = settings_for(fresh_copy(pristine, work))
        with one_process(), StageClock() as clock, timed(totals):
            run_sync(settings)
        runs.append(clock)
    ordered = [n for stage in STAGES for n in [stage, *(f"{s}/{p}" for s, p in PARTS if s == stage)]]
    names = [n for n in ordered if any(n in c.cpu for c in runs)]
    best = {n: Timing(min(c.wall.get(n, 0.0) for c in runs), min(c.cpu.get(n, 0.0) for c in runs)) for n in names}
    return best, Timing.best(totals)


def profile(pristine: Path, work: Path, top: int) -> str:
    from pipeline.sync import run_sync

    settings = settings_for(fresh_copy(pristine, work))
    profiler = cProfile.Profile()
    with one_process():
        profiler.runcall(run_sync, settings)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- printing ---------------------------------------------------------------------------------


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min) / {five:.1f} (5 min)"


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=165)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--growth", type=int, nargs="*", default=[80, 165, 330, 1000])
    parser.add_argument("--growth-repeat", type=int, default=None, help="repeats per growth size (default --repeat)")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--areas", type=Path, default=None, help="keep generated areas here (default: a temp dir)")
    args = parser.parse_args()
    print(f"devplan local bench: {os.cpu_count()} cores, load average at start {load()}; "
          f"best of {args.repeat}; times in seconds", flush=True)
    with tempfile.TemporaryDirectory(prefix="devplan-bench-") as temp:
        areas = args.areas or Path(temp)
        areas.mkdir(parents=True, exist_ok=True)
        work = Path(temp) / "work"
        pristine = area(args.schools, areas)
        nights(pristine, work, args.schools, args.repeat)
        table, whole = stages(pristine, work, args.repeat)
        print_stages(table, whole, args.schools)
        if args.profile:
            print(profile(pristine, work, args.profile))
        if args.growth:
            growth(args.growth, areas, work, args.growth_repeat or args.repeat)
    print(f"load average at the end {load()}")


def nights(pristine: Path, work: Path, schools: int, repeat: int) -> None:
    files = sorted((pristine / "sheets").glob("*.xlsx"))
    size = sum(f.stat().st_size for f in files)
    print(f"\n## {schools} schools: {len(files)} files ({size / 1e6:.1f} MB), `devplan sync` in a child process\n")
    written = written_by_sync(fresh_copy(pristine, work))
    full, full_floor, idle, edited, edited_floor = [], [], [], [], []
    for round_ in range(repeat):
        full.append(sync(fresh_copy(pristine, work)))
        idle.append(sync(work))
        edit_one_school(work, round_)
        edited.append(sync(work))
        full_floor.append(floor(fresh_copy(pristine, work), written))
        edited_floor.append(floor(work, {k: v for k, v in list(written.items())[:1]} | _dashboard(written), False))
    start = [child([sys.executable, "-c", "pass"]) for _ in range(repeat)]
    imports = [child([sys.executable, "-c", "import pipeline.sync"]) for _ in range(repeat)]
    print(row(["night", "wall", "CPU", "max RSS MB", "I/O floor wall", "floor CPU"]))
    print(row(["---"] * 6))
    lines = [("full (first night)", full, full_floor), ("idle (nothing changed)", idle, start),
             ("one school edited", edited, edited_floor)]
    for name, timings, floor_ in lines:
        t, f = Timing.best(timings), Timing.best(floor_)
        print(row([name, f"{t.wall:.2f}", f"{t.cpu:.2f}", f"{t.rss_mb:.0f}", f"{f.wall:.2f}", f"{f.cpu:.2f}"]))
    s, i = Timing.best(start), Timing.best(imports)
    print(f"\nstart-up: `python -c pass` {s.wall:.2f} s wall ({s.cpu:.2f} CPU); "
          f"`import pipeline.sync` {i.wall:.2f} s wall ({i.cpu:.2f} CPU)")
    print("floors: full = calamine read of every tab of every file + lossless rewrite of every file a full sync "
          "writes; edited = the lossless rewrite of one school's file and the dashboard; idle = `python -c pass`")


def _dashboard(written: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in written.items() if k == "dashboard"}


def print_stages(table: dict[str, Timing], whole: Timing, schools: int) -> None:
    print(f"\n## Stages of a full sync, {schools} schools, in-process (no start-up)\n")
    print(row(["stage", "CPU", "share of CPU", "wall"]))
    print(row(["---"] * 4))
    for name, t in table.items():
        shown = f"  {name.split('/')[1]}" if "/" in name else name
        print(row([shown, f"{t.cpu:.3f}", f"{100 * t.cpu / whole.cpu:.0f}%", f"{t.wall:.3f}"]))
    staged = sum(t.cpu for n, t in table.items() if "/" not in n)
    print(row(["other (state file, wiring)", f"{max(0.0, whole.cpu - staged):.3f}",
               f"{100 * max(0.0, whole.cpu - staged) / whole.cpu:.0f}%", ""]))
    print(row(["**whole sync**", f"{whole.cpu:.3f}", "100%", f"{whole.wall:.3f}"]))


def growth(sizes: list[int], areas: Path, work: Path, repeat: int) -> None:
    print(f"\n## Growth: full night (`devplan sync`, new state file), best of {repeat}\n")
    print(row(["schools", "staff", "wall", "CPU", "max RSS MB", "CPU ms/school", "I/O floor wall", "floor CPU",
               "load"]))
    print(row(["---"] * 9))
    for schools in sizes:
        pristine = area(schools, areas)
        manifest_staff = _staff(pristine)
        written = written_by_sync(fresh_copy(pristine, work))
        runs, floors = [], []
        for _ in range(repeat):
            runs.append(sync(fresh_copy(pristine, work)))
            floors.append(floor(fresh_copy(pristine, work), written))
        t, f = Timing.best(runs), Timing.best(floors)
        print(row([f"{schools:,}", f"{manifest_staff:,}", f"{t.wall:.2f}", f"{t.cpu:.2f}", f"{t.rss_mb:.0f}",
                   f"{1000 * t.cpu / schools:.1f}", f"{f.wall:.2f}", f"{f.cpu:.2f}", f"{os.getloadavg()[0]:.1f}"]),
              flush=True)


def _staff(folder: Path) -> int:
    from pipeline.workbook.local import LocalWorkbook

    settings = settings_for(folder)
    staff = settings.sources.staff
    return len(LocalWorkbook(settings.storage.path).read(staff.spreadsheet, [staff.tab])[staff.tab]) - 1


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
