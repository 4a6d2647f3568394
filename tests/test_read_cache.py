"""Cached local reads (pipeline/workbook/read_cache.py): a file read before gives the same rows without calamine.

Each test compares what the caching workbook returns with a plain ``LocalWorkbook`` read of the same file
(the second method), on real ``.xlsx`` files and the real state file; and shows each input the cached rows
depend on is seen: the file's bytes (an edit, a same-size edit with its old time put back), the size bounds,
the reading code, ``--full``, and after devplan's own write of its tab, a person's edit of a source tab.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.errors import SourceError
from pipeline.state import State
from pipeline.workbook import CellError
from pipeline.workbook import read_cache
from pipeline.workbook.local import LocalWorkbook
from pipeline.workbook.read_cache import CachedLocalWorkbook
from pipeline.workbook.xlsx import Package, put_tabs
from pipeline.workbook.xlsx_zip import Limits

PLAN, RECORD = "แผนพัฒนาตนเอง", "บันทึกการพัฒนา"


def odd_file(path) -> None:
    """Values of every kind a person's file holds: Thai text, numbers, dates, a time, a bool, errors, gaps."""
    book = Workbook()
    plan = book.active
    plan.title = PLAN
    plan.append(["ชื่อ-นามสกุล", "ชั่วโมง", "วันที่", "เวลา", "ผ่าน", "หมายเหตุ"])
    plan.append(["นางสาวบุษบา ใจดี", 12, datetime(2019, 1, 10), time(9, 30), True, None])
    plan.append(["  ครู  ", 7.25, date(2018, 10, 1), None, False, "0812345678"])
    plan.append([None, 2**60, None, None, None, "=1+1"])
    plan["B5"] = "#N/A"
    plan["F5"] = "#NAME?"
    record = book.create_sheet(RECORD)
    record.append(["วันที่", "สถานะ"])
    record.append([datetime(2019, 1, 10, 14, 5), "เสร็จสิ้น"])
    book.save(path)


@pytest.fixture
def state(tmp_path):
    with State(tmp_path / "state.sqlite") as opened:
        yield opened


def plain(folder, key, tabs=(PLAN, RECORD)):
    return LocalWorkbook(folder).read(key, list(tabs))


def test_a_cached_read_gives_what_calamine_gives(tmp_path, state):
    odd_file(tmp_path / "school.xlsx")
    book = CachedLocalWorkbook(tmp_path, state)
    first = book.read("school", [PLAN, RECORD])
    version = book.content("school")
    assert state.cached_tabs("school", version, [PLAN, RECORD]) == first  # kept
    second = CachedLocalWorkbook(tmp_path, state).read("school", [PLAN, RECORD])  # a later run, from the cache
    expected = plain(tmp_path, "school")
    assert first == second == expected
    for got, want in zip(second[PLAN], expected[PLAN]):  # same types too (1 == 1.0 == True would hide a change)
        assert [type(v) for v in got] == [type(v) for v in want]
    assert CellError("#N/A") in second[PLAN][4]


def poison(state, book, key):
    """Put rows no file has under ``key``'s current version: a read that returns them came from the cache."""
    state.store_tabs(key, book.content(key), {PLAN: [["จากแคช"]], RECORD: [["จากแคช"]]})


def test_the_cache_answers_only_for_the_same_bytes(tmp_path, state):
    odd_file(tmp_path / "school.xlsx")
    book = CachedLocalWorkbook(tmp_path, state)
    poison(state, book, "school")
    assert book.read("school", [PLAN])[PLAN] == [["จากแคช"]]  # this is how a hit is seen below
    # a person's edit of the same size, with the file's old time put back: the content still tells
    path = tmp_path / "school.xlsx"
    info = path.stat()
    data = bytearray(path.read_bytes())
    rows = plain(tmp_path, "school")
    LocalWorkbook(tmp_path).write("school", {RECORD: [["วันที่", "สถานะ"], [datetime(2019, 1, 10, 14, 5), "ยกเลิก"]]})
    assert CachedLocalWorkbook(tmp_path, state).read("school", [PLAN, RECORD]) == {
        PLAN: rows[PLAN], RECORD: [["วันที่", "สถานะ"], [datetime(2019, 1, 10, 14, 5), "ยกเลิก"]]}
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    poison(state, book, "school")
    flipped = bytearray(data)
    at = flipped.index(b"PK\x01\x02")  # one byte of the zip's central directory (its "made by" version)
    flipped[at + 4] ^= 1
    path.write_bytes(bytes(flipped))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_size == info.st_size and path.stat().st_mtime_ns == info.st_mtime_ns
    assert CachedLocalWorkbook(tmp_path, state).read("school", [PLAN]) == {PLAN: rows[PLAN]}


def test_other_bounds_or_another_reader_are_a_miss(tmp_path, state, monkeypatch):
    odd_file(tmp_path / "school.xlsx")
    book = CachedLocalWorkbook(tmp_path, state)
    poison(state, book, "school")
    expected = plain(tmp_path, "school", [PLAN])
    assert CachedLocalWorkbook(tmp_path, state, Limits(part=10**8)).read("school", [PLAN]) == expected
    poison(state, book, "school")
    changed = tmp_path / "reader.py"
    changed.write_text("# the reading code, changed\n", encoding="utf-8")
    monkeypatch.setattr(read_cache, "READER", [*read_cache.READER, changed])
    read_cache.reader_fingerprint.cache_clear()
    try:
        assert CachedLocalWorkbook(tmp_path, state).read("school", [PLAN]) == expected
    finally:
        read_cache.reader_fingerprint.cache_clear()


def test_full_reads_the_file_again_and_keeps_what_it_read(tmp_path, state):
    odd_file(tmp_path / "school.xlsx")
    book = CachedLocalWorkbook(tmp_path, state)
    poison(state, book, "school")
    expected = plain(tmp_path, "school")
    assert CachedLocalWorkbook(tmp_path, state, full=True).read("school", [PLAN, RECORD]) == expected
    assert CachedLocalWorkbook(tmp_path, state).read("school", [PLAN, RECORD]) == expected  # the poison replaced


def test_a_tab_not_read_before_is_read(tmp_path, state):
    odd_file(tmp_path / "school.xlsx")
    CachedLocalWorkbook(tmp_path, state).read("school", [PLAN])
    assert CachedLocalWorkbook(tmp_path, state).read("school", [PLAN, RECORD]) == plain(tmp_path, "school")


def test_a_file_that_cannot_be_read_is_never_cached(tmp_path, state):
    (tmp_path / "school.xlsx").write_bytes(b"PK\x03\x04 not really a spreadsheet")
    book = CachedLocalWorkbook(tmp_path, state)
    for _ in range(2):
        with pytest.raises(SourceError):
            book.read("school", [PLAN])
    assert state.db.execute("SELECT count(*) FROM sources").fetchone() == (0,)
    with pytest.raises(SourceError, match="ไม่พบสเปรดชีต"):
        book.read("missing", [PLAN])


def test_devplans_own_write_keeps_the_rows_and_a_later_edit_is_seen(tmp_path, state):
    odd_file(tmp_path / "school.xlsx")
    book = CachedLocalWorkbook(tmp_path, state)
    before = book.read("school", [PLAN, RECORD])
    outcomes = book.write_many([("school", {"สรุปผล": [["สรุป"], ["ครบ"]]})], own=True)
    assert list(outcomes) == [None]
    after = book.content("school")
    assert state.cached_tabs("school", after, [PLAN, RECORD]) == before  # the same rows, under the new bytes
    assert CachedLocalWorkbook(tmp_path, state).read("school", [PLAN, RECORD]) == plain(tmp_path, "school") == before
    # a person then edits a source tab: its part changes, so it is read again
    edited = [["วันที่", "สถานะ"], [datetime(2019, 1, 11), "เสร็จสิ้น"]]
    LocalWorkbook(tmp_path).write("school", {RECORD: edited})
    assert CachedLocalWorkbook(tmp_path, state).read("school", [PLAN, RECORD])[RECORD] == edited


def test_a_write_of_a_tab_that_was_read_drops_its_rows(tmp_path, state):
    odd_file(tmp_path / "school.xlsx")
    book = CachedLocalWorkbook(tmp_path, state)
    book.read("school", [PLAN, RECORD])
    book.write("school", {RECORD: [["วันที่", "สถานะ"], ["ใหม่", "ใหม่"]]})
    assert state.cached_tabs("school", book.content("school"), [PLAN, RECORD]) is None
    assert book.read("school", [RECORD])[RECORD] == [["วันที่", "สถานะ"], ["ใหม่", "ใหม่"]]


def test_a_change_between_read_and_write_keeps_nothing(tmp_path, state):
    odd_file(tmp_path / "school.xlsx")
    book = CachedLocalWorkbook(tmp_path, state)
    book.read("school", [PLAN])
    LocalWorkbook(tmp_path).write("school", {PLAN: [["ชื่อ-นามสกุล"], ["คนใหม่"]]})  # a person, meanwhile
    book.write("school", {"สรุปผล": [["สรุป"]]}, own=True)
    assert state.cached_tabs("school", book.content("school"), [PLAN]) is None
    assert book.read("school", [PLAN])[PLAN] == [["ชื่อ-นามสกุล"], ["คนใหม่"]]


class SavedRightAfter(CachedLocalWorkbook):
    """A folder where a person saves a new plan tab into the file just after each of devplan's writes."""

    def _write(self, key, tabs, own):
        super()._write(key, tabs, own)
        LocalWorkbook(self.folder).write(key, {PLAN: [["ชื่อ-นามสกุล"], ["บันทึกทันทีหลังเขียน"]]})


def test_an_edit_right_after_devplans_write_is_seen(tmp_path, state):
    odd_file(tmp_path / "school.xlsx")
    book = SavedRightAfter(tmp_path, state, processes=1)
    book.read("school", [PLAN, RECORD])
    assert list(book.write_many([("school", {"สรุปผล": [["สรุป"]]})], own=True)) == [None]
    assert state.cached_tabs("school", book.content("school"), [PLAN, RECORD]) is None
    assert CachedLocalWorkbook(tmp_path, state).read("school", [PLAN])[PLAN] == [["ชื่อ-นามสกุล"], ["บันทึกทันทีหลังเขียน"]]


def cache_after_writes(folder, state, processes: int) -> tuple[list[bool], dict[str, object]]:
    """Six schools read, then written at once (``processes``): one saved by a person between the read and
    the write, one whose read tab devplan writes, one broken after it was read. Each write's outcome (done
    or not), and what the cache then gives for each file as it is."""
    folder.mkdir()
    keys = school_files(folder, 6)
    book = CachedLocalWorkbook(folder, state, processes=processes)
    for key in keys:
        book.read(key, [PLAN, RECORD])
    LocalWorkbook(folder).write(keys[1], {PLAN: [["ชื่อ-นามสกุล"], ["คนใหม่"]]})  # a person, meanwhile
    (folder / f"{keys[3]}.xlsx").write_bytes(b"PK\x03\x04 cut short")
    writes = [(key, {"สรุปผล": [["สรุป", key]]}) for key in keys]
    writes[2] = (keys[2], {RECORD: [["วันที่", "สถานะ"], ["ใหม่", keys[2]]]})
    done = [outcome is None for outcome in book.write_many(writes)]
    return done, {key: state.cached_tabs(key, book.content(key), [PLAN, RECORD]) for key in keys}


def test_writes_in_other_processes_keep_in_the_cache_what_writes_one_by_one_keep(tmp_path):
    with State(tmp_path / "forked.sqlite") as forked_state, State(tmp_path / "serial.sqlite") as serial_state:
        forked = cache_after_writes(tmp_path / "forked", forked_state, processes=3)
        serial = cache_after_writes(tmp_path / "serial", serial_state, processes=1)
    assert forked == serial
    done, cached = forked
    assert done == [True, True, True, False, True, True]
    keys = sorted(cached)
    assert [cached[key] is not None for key in keys] == [True, False, False, False, True, True]
    for key in keys[0], keys[4], keys[5]:  # the rows read before devplan's write are the written file's
        assert cached[key] == plain(tmp_path / "forked", key)


class SavedRightAfterEach(CachedLocalWorkbook):
    """``SavedRightAfter`` for writes side by side: the person's save does not sweep the folder first (as a
    run's first write does), which could take the other writer's temp file in the instant before it locks it."""

    def _write(self, key, tabs, own):
        super()._write(key, tabs, own)
        LocalWorkbook(self.folder)._write(key, {PLAN: [["ชื่อ-นามสกุล"], ["บันทึกทันทีหลังเขียน"]]}, False)


def test_an_edit_right_after_a_write_in_another_process_is_seen(tmp_path, state):
    keys = school_files(tmp_path, 4)
    book = SavedRightAfterEach(tmp_path, state, processes=2)
    for key in keys:
        book.read(key, [PLAN, RECORD])
    assert list(book.write_many([(key, {"สรุปผล": [["สรุป"]]}) for key in keys], own=True)) == [None] * 4
    for key in keys:
        assert state.cached_tabs(key, book.content(key), [PLAN, RECORD]) is None
        assert CachedLocalWorkbook(tmp_path, state).read(key, [PLAN])[PLAN] == [["ชื่อ-นามสกุล"], ["บันทึกทันทีหลังเขียน"]]


def test_only_a_tab_whose_part_is_copied_raw_counts_as_unchanged(tmp_path):
    odd_file(tmp_path / "school.xlsx")
    with open(tmp_path / "school.xlsx", "rb") as source:
        package = Package.open(source)
        put_tabs(package, {"สรุปผล": [["สรุป"]]})
        assert read_cache._copied(package, [PLAN, RECORD])
        put_tabs(package, {RECORD: [["ใหม่"]]})
        assert read_cache._copied(package, [PLAN]) and not read_cache._copied(package, [PLAN, RECORD])
        assert not read_cache._copied(package, ["ไม่มีแท็บนี้"])


def school_files(folder, count: int) -> list[str]:
    """``count`` schools' files, each with its own values (one with formula errors)."""
    keys = []
    for n in range(count):
        book = Workbook()
        plan = book.active
        plan.title = PLAN
        plan.append(["ชื่อ-นามสกุล", "ชั่วโมง", "วันที่"])
        plan.append([f"ครู {n}", n * 1.5, datetime(2019, 1, 1 + n)])
        if n == 3:
            plan["B3"] = "#DIV/0!"
        book.create_sheet(RECORD).append(["วันที่", "สถานะ", n])
        keys.append(f"school-{n:02d}")
        book.save(folder / f"{keys[-1]}.xlsx")
    return keys


def outcomes(book, keys, tabs=(PLAN, RECORD)):
    """What reading each key gives: its rows, or the error's message and hint."""
    found = {}
    for key in keys:
        try:
            found[key] = book.read(key, list(tabs))
        except SourceError as exc:
            found[key] = (exc.message, exc.hint)
    return found


def test_reading_ahead_gives_what_reading_one_by_one_gives(tmp_path, state):
    keys = school_files(tmp_path, 12)
    (tmp_path / "school-10.xlsx").write_bytes(b"PK\x03\x04 broken")  # in the forked reader's share
    keys.append("school-missing")
    expected = outcomes(LocalWorkbook(tmp_path), keys)
    book = CachedLocalWorkbook(tmp_path, state, processes=2)
    with book.reading(keys, [PLAN, RECORD]):
        assert book._ahead is not None  # the files are read in a forked process
        assert outcomes(book, keys) == expected
    assert book._ahead is None
    with book.reading(keys, [PLAN, RECORD]):  # every good file now in the cache: nothing to read ahead
        assert book._ahead is None
        assert outcomes(book, keys) == expected


def test_a_file_edited_while_others_are_read_ahead_is_read_as_it_is(tmp_path, state):
    keys = school_files(tmp_path, 12)
    book = CachedLocalWorkbook(tmp_path, state, processes=2)
    edited = [["วันที่", "สถานะ"], ["แก้แล้ว", "แก้แล้ว"]]
    with book.reading(keys, [PLAN, RECORD]):
        first = outcomes(book, keys[:11])
        LocalWorkbook(tmp_path).write(keys[11], {RECORD: edited})  # after the reader may have read it
        last = book.read(keys[11], [PLAN, RECORD])
    assert last == plain(tmp_path, keys[11]) and last[RECORD] == edited
    assert first == outcomes(LocalWorkbook(tmp_path), keys[:11])


def test_a_read_left_unfinished_leaves_no_reader(tmp_path, state):
    keys = school_files(tmp_path, 12)
    book = CachedLocalWorkbook(tmp_path, state, processes=2)
    with pytest.raises(RuntimeError):
        with book.reading(keys, [PLAN, RECORD]):
            pid = book._ahead.pid
            book.read(keys[0], [PLAN, RECORD])
            raise RuntimeError("a run stopped midway")
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already waited for: gone


def run_reads(settings):
    """What a run reads of the hand area: (key, tabs), the rosters first (``read_cache._run_reads``)."""
    return [(key, tabs) for key, tabs, _ in read_cache._run_reads(settings, Path(settings.storage.path))]


def test_the_early_reader_fills_the_cache_with_what_a_read_gives(area):
    reads = run_reads(area)
    idplans = [key for key, _ in reads if key.startswith("idplan-")]
    assert len(idplans) >= 3 and reads[0][0] != idplans[0]  # the rosters, then every ID Plan file
    assert read_cache._early is None  # no reader left by an earlier run
    read_cache.read_early(area, processes=2)
    pid = read_cache._early.pid
    os.waitpid(pid, 0)  # let it finish every file
    read_cache.stop_early()
    assert read_cache._early is None
    folder = Path(area.storage.path)
    with State(area.storage.state) as state:
        book = CachedLocalWorkbook(folder, state)
        for key, tabs in reads:
            try:
                expected = LocalWorkbook(folder).read(key, tabs)
            except SourceError:
                continue  # a file the run cannot read is never cached
            assert state.cached_tabs(key, book.content(key), tabs) == expected  # a hit, and the same rows


def test_the_early_reader_stops_when_told(area):
    read_cache.read_early(area, processes=2)
    pid = read_cache._early.pid
    read_cache.stop_early()  # at once: it stops after the file in hand
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # gone, and waited for
    with State(area.storage.state) as state:  # the state file is whole
        assert state.db.execute("PRAGMA quick_check").fetchone() == ("ok",)


def test_a_sync_leaves_no_reader_behind_however_it_ends(area, config_file):
    from click.testing import CliRunner

    from pipeline.cli import cli

    Path(area.storage.path, "roster.xlsx").write_bytes(b"PK\x03\x04 broken")  # the run stops at the rosters
    failed = CliRunner().invoke(cli, ["sync", "--config", str(config_file)])
    assert failed.exit_code == 3, failed.output
    assert read_cache._early is None
    assert not [p for p in Path(f"/proc/{os.getpid()}/task").glob("*/children") if p.read_text().split()]
