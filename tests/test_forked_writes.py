"""Writes side by side in forked processes (``pipeline.workbook.forked``): the same outcomes, in the same
order, as one write after another; one school's broken file stays that school's problem."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.errors import PublishError, SourceError
from pipeline.workbook import forked
from pipeline.workbook.forked import in_order
from pipeline.workbook.local import LocalWorkbook

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="devplan forks its writers on Linux only")


def _children() -> set[int]:
    """This process's living children (Linux /proc), to see that none is left behind."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def _no_children_left() -> bool:
    if not Path(f"/proc/{os.getpid()}/task").is_dir():
        pytest.skip("needs Linux /proc to see child processes")
    return not _children()


def _school_folder(folder: Path, keys: list[str]) -> Path:
    """Each school's file as a person keeps it (their own tab), the fourth one cut short."""
    folder.mkdir()
    book = LocalWorkbook(folder, processes=1)
    for key in keys:
        book.write(key, {"แผนพัฒนาตนเอง": [["ชื่อ", "ชั่วโมง"], [f"ครู {key}", 12]]})
    (folder / "idplan-4.xlsx").write_bytes(b"PK\x03\x04 this download was cut short")
    return folder


def test_a_broken_school_file_is_that_school_alone_and_the_rest_are_written(tmp_path):
    keys = [f"idplan-{n}" for n in range(1, 8)]
    writes = [(key, {"สรุปผล": [["หน่วยงาน", "ผล"], [key, n * 10]]}) for n, key in enumerate(keys)]
    serial_folder = _school_folder(tmp_path / "serial", keys)
    folder = _school_folder(tmp_path / "forked", keys)
    broken = folder / "idplan-4.xlsx"
    before = broken.read_bytes()

    outcomes = list(LocalWorkbook(folder, processes=3).write_many(writes, own=True))
    serial = list(LocalWorkbook(serial_folder, processes=1).write_many(writes, own=True))

    assert [o is None for o in outcomes] == [True, True, True, False, True, True, True]
    error = outcomes[3]
    assert isinstance(error, SourceError) and str(broken) in error.message and error.hint
    assert (type(error), error.message.replace(str(folder), "F"), error.hint.replace(str(folder), "F")) == (
        type(serial[3]), serial[3].message.replace(str(serial_folder), "F"), serial[3].hint.replace(str(serial_folder), "F"))
    assert broken.read_bytes() == before
    for n, key in enumerate(keys):
        if key == "idplan-4":
            continue
        assert (folder / f"{key}.xlsx").read_bytes() == (serial_folder / f"{key}.xlsx").read_bytes()
        sheets = load_workbook(folder / f"{key}.xlsx")
        assert sheets.sheetnames == ["แผนพัฒนาตนเอง", "สรุปผล"]
        assert [list(r) for r in sheets["สรุปผล"].iter_rows(values_only=True)] == [["หน่วยงาน", "ผล"], [key, n * 10]]
        assert [list(r) for r in sheets["แผนพัฒนาตนเอง"].iter_rows(values_only=True)] == [
            ["ชื่อ", "ชั่วโมง"], [f"ครู {key}", 12]]
    assert not [p for p in folder.iterdir() if p.name.startswith(".devplan-tmp-")]
    assert _no_children_left()


def _note_pid(folder: Path):
    def work(item: int) -> None:
        (folder / f"{item}.pid").write_text(str(os.getpid()))
        if item % 3 == 1:
            raise PublishError(f"ไฟล์ {item} เขียนไม่ได้", f"แก้ไฟล์ {item}", codes=[str(item)])
        if item == 5:
            raise SourceError(f"อ่านไฟล์ {item} ไม่ได้")
    return work


def test_outcomes_come_in_order_from_other_processes_as_one_by_one_gives_them(tmp_path):
    items = list(range(12))
    (tmp_path / "serial").mkdir()
    serial = list(forked.one_by_one(_note_pid(tmp_path / "serial"), items))
    side_by_side = list(in_order(_note_pid(tmp_path), items, workers=3))

    def described(outcomes):
        return [None if o is None else (type(o).__name__, o.message, o.hint, sorted(o.codes)) for o in outcomes]

    assert described(side_by_side) == described(serial)
    # worked out by hand: 1, 4, 7, 10 refused (PublishError), 5 unreadable (SourceError), the rest done
    assert [i for i, o in enumerate(side_by_side) if o is not None] == [1, 4, 5, 7, 10]
    pids = {int((tmp_path / f"{i}.pid").read_text()) for i in items}
    assert os.getpid() not in pids and len(pids) > 1  # the work was done by more than one other process
    assert _no_children_left()


def test_a_worker_that_dies_leaves_its_items_to_the_parent(tmp_path):
    parent = os.getpid()

    def work(item: int) -> None:
        if item == 2 and os.getpid() != parent:
            os._exit(9)  # killed mid-item, as the OOM killer would
        (tmp_path / f"{item}.done").write_text(str(os.getpid()))

    outcomes = list(in_order(work, list(range(8)), workers=2))

    assert outcomes == [None] * 8
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{i}.done" for i in range(8))
    # worker 0's share was 0, 2, 4, 6: after it died at 2, the parent did the rest of it
    assert [int((tmp_path / f"{i}.done").read_text()) == parent for i in range(8)] == [
        False, False, True, False, True, False, True, False]
    assert _no_children_left()


def test_anything_else_a_write_raises_is_raised_in_the_parent_and_the_workers_are_gone():
    def work(item: int) -> None:
        if item == 3:
            raise ValueError("a bug, not a school's problem")

    outcomes = in_order(work, list(range(10)), workers=2)
    assert [next(outcomes) for _ in range(3)] == [None, None, None]
    with pytest.raises(ValueError, match="a bug") as raised:
        next(outcomes)
    assert any("raised in a writing process" in note for note in raised.value.__notes__)
    assert _no_children_left()


def test_a_caller_that_stops_early_waits_for_the_workers_and_no_item_starts_after(tmp_path):
    release = tmp_path / "release"

    def work(item: int) -> None:
        if item >= 4:  # the workers' third items wait (at most 30 s) until the test lets them go
            for _ in range(3000):
                if release.exists():
                    break
                time.sleep(0.01)
        (tmp_path / f"{item}.done").touch()

    outcomes = in_order(work, list(range(40)), workers=2)
    assert next(outcomes) is None
    threading.Timer(1.0, release.touch).start()  # after the close below has cut the workers' lines
    outcomes.close()  # the caller's own failure (the state file) stops the run here
    assert _no_children_left()
    done = {int(p.name.split(".")[0]) for p in tmp_path.glob("*.done")}
    # worker 0 has items 0, 2, 4, ...; worker 1 items 1, 3, 5, ...: each finished the item in hand, no more
    assert 0 in done and done <= {0, 1, 2, 3, 4, 5}
    with pytest.raises(StopIteration):
        next(outcomes)


def test_with_another_thread_running_the_work_stays_in_this_process(tmp_path):
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        outcomes = list(in_order(_note_pid(tmp_path), list(range(4)), workers=2))
    finally:
        stop.set()
        thread.join()
    assert [o is None for o in outcomes] == [True, False, True, True]
    assert {int((tmp_path / f"{i}.pid").read_text()) for i in range(4)} == {os.getpid()}

