"""Idle nights (pipeline/idle.py): nothing changed since the last sync, so nothing is read, written or sent.

Behaviour, not timings: an idle night writes nothing and prints what the full path would; a file
touched but not changed is still idle; an edit, a date across 1 April, a failed or partial last run,
mail due under --send and ``--full`` all take the full path. Real files, the real state file, the CLI.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.idle import NIGHT, run_night
from pipeline.state import State
from pipeline.thai import ENDED, FIRST_HALF, SECOND_HALF, fiscal_phase
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area

IDLE = "ไม่มีสิ่งใดเปลี่ยนตั้งแต่ครั้งก่อน"


def sync(config_file: Path, *flags: str):
    return CliRunner().invoke(cli, ["sync", "--config", str(config_file), *flags])


def files(settings) -> dict[str, tuple[int, str]]:
    """Every file of the area's folder and outbox: its modification time and content."""
    found = {}
    for folder in (Path(settings.storage.path), Path(settings.output.outbox)):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                found[str(path)] = (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def night(settings, day: date, **options):
    """One ``devplan sync`` night on ``day`` (the library's entry, so the date can be given)."""
    said: list[str] = []
    return run_night(settings, say=said.append, today=day, **options), said


def edit_hours(settings, code: str, hours: int) -> None:
    """A person's edit: the first record's hours in unit ``code``'s ID Plan."""
    book = LocalWorkbook(settings.storage.path)
    idplan = settings.sources.idplan
    key = idplan.key_for(code)
    rows = book.read(key, [idplan.record_tab])[idplan.record_tab]
    rows[1][rows[0].index(idplan.record_columns.hours)] = hours
    book.write(key, {idplan.record_tab: rows})


def test_fiscal_phase_by_hand():
    # FY 2562 runs 1 Oct 2018 – 30 Sep 2019; its midpoint is 1 April 2019
    assert fiscal_phase(2562, date(2018, 9, 30)) == "before"
    assert fiscal_phase(2562, date(2018, 10, 1)) == FIRST_HALF
    assert fiscal_phase(2562, date(2019, 3, 31)) == FIRST_HALF
    assert fiscal_phase(2562, date(2019, 4, 1)) == SECOND_HALF
    assert fiscal_phase(2562, date(2019, 9, 30)) == SECOND_HALF
    assert fiscal_phase(2562, date(2019, 10, 1)) == ENDED


def test_an_idle_night_writes_nothing_and_prints_what_the_full_path_would(area, config_file):
    first = sync(config_file)
    assert first.exit_code == 1, first.output  # the hand area's bad rows need a person
    before = files(area)
    idle = sync(config_file)
    assert IDLE in idle.stderr
    assert files(area) == before  # no spreadsheet, no e-mail, nothing in the outbox touched
    assert idle.exit_code == 1
    full = sync(config_file, "--full")  # the full path on the same unchanged area, for comparison
    assert IDLE not in full.stderr and "เริ่มประมวลผล" in full.stderr
    assert idle.stdout == full.stdout
    assert "เขียนแท็บสรุปผลลง 0 สเปรดชีต" in idle.stdout and "ไม่ต้องเขียนใหม่" in idle.stdout
    status = CliRunner().invoke(cli, ["status", "--config", str(config_file), "--last", "3"])
    assert status.stdout.count("เขียนแท็บสรุปผล 0 สเปรดชีต") == 2  # the idle night and the --full one


def test_a_file_touched_but_unchanged_is_still_idle(area, config_file):
    assert sync(config_file).exit_code == 1
    school = Path(area.storage.path) / f"{area.sources.idplan.key_for(hand_area.SCHOOL_A)}.xlsx"
    stamp = school.stat().st_mtime_ns + 5_000_000_000
    os.utime(school, ns=(stamp, stamp))  # saved again without a change
    before = files(area)
    again = sync(config_file)
    assert IDLE in again.stderr
    assert files(area) == before
    later = sync(config_file)
    assert IDLE in later.stderr


def test_one_edited_school_is_picked_up(area, config_file):
    assert sync(config_file).exit_code == 1
    edit_hours(area, hand_area.SCHOOL_A, 13)
    before = files(area)
    edited = sync(config_file)
    assert IDLE not in edited.stderr
    changed = {Path(p).name for p, seen in files(area).items() if before.get(p) != seen}
    assert f"{area.sources.idplan.key_for(hand_area.SCHOOL_A)}.xlsx" in changed  # its summary tab rewritten
    assert IDLE in sync(config_file).stderr  # and the night after is idle again


def test_a_one_byte_edit_of_the_same_size_is_picked_up(area, config_file):
    edit_hours(area, hand_area.SCHOOL_A, 10)
    assert sync(config_file).exit_code == 1
    school = Path(area.storage.path) / f"{area.sources.idplan.key_for(hand_area.SCHOOL_A)}.xlsx"
    size, content = school.stat().st_size, school.read_bytes()
    for hours in range(11, 99):  # an edit that leaves the file its size: only its content tells
        edit_hours(area, hand_area.SCHOOL_A, hours)
        if school.stat().st_size == size and school.read_bytes() != content:
            break
    else:
        raise AssertionError("no edit of the same size")
    assert sum(a != b for a, b in zip(school.read_bytes(), content)) >= 1
    assert IDLE not in sync(config_file).stderr


def test_a_date_across_1_april_is_not_idle(area):
    first, _ = night(area, date(2019, 3, 31))
    assert first.result is not None
    same, said = night(area, date(2019, 3, 31))
    assert same.quiet is not None and IDLE in said[0]
    april, said = night(area, date(2019, 4, 1))  # who is behind their plan is judged anew
    assert april.quiet is None and april.result is not None
    assert night(area, date(2019, 4, 2))[0].quiet is not None
    assert night(area, date(2019, 10, 1))[0].quiet is None  # the year has ended


def test_after_a_failed_run_the_night_runs_in_full(area, config_file):
    assert sync(config_file).exit_code == 1
    outbox = Path(area.output.outbox)
    kept = outbox.with_name("outbox-kept")
    outbox.rename(kept)
    outbox.write_text("not a folder")  # the e-mails are gone and the outbox cannot be written
    failed = sync(config_file)
    assert IDLE not in failed.stderr and failed.exit_code == 4, failed.output
    with State(area.storage.state) as state:
        assert state.meta(NIGHT) is None  # the failed run left no record
    outbox.unlink()
    kept.rename(outbox)  # every file as the last good run left it, but that run is not the last one
    after = sync(config_file)
    assert IDLE not in after.stderr and after.exit_code == 1
    assert IDLE in sync(config_file).stderr


def test_a_unit_left_out_is_not_idle_the_night_after(area, config_file):
    key = area.sources.idplan.key_for(hand_area.SCHOOL_A)
    school = Path(area.storage.path) / f"{key}.xlsx"
    school.rename(school.with_name("moved-away.xlsx"))
    assert sync(config_file).exit_code == 1  # the unit is left out, named in the report
    again = sync(config_file)
    assert IDLE not in again.stderr
    assert f"หน่วยงาน {hand_area.SCHOOL_A} ตกหล่น" in again.stdout


def test_full_bypasses_the_idle_night(area, config_file):
    assert sync(config_file).exit_code == 1
    full = sync(config_file, "--full")
    assert IDLE not in full.stderr and "เริ่มประมวลผล" in full.stderr


def test_a_night_that_sends_due_mail_runs_in_full(server, area, config_file):
    assert sync(config_file).exit_code == 1  # mail written to the outbox, none sent
    idle = sync(config_file)
    assert IDLE in idle.stderr and "จะส่ง" in idle.stdout  # a dry night says what --send would send
    sent = sync(config_file, "--send")
    assert IDLE not in sent.stderr  # due mail: built and sent by the full path
    assert sorted(server.recipients()) == sorted(hand_area.DIRECTORS.values())
    quiet = sync(config_file, "--send")  # nothing due any more: idle, and nobody hears twice
    assert IDLE in quiet.stderr
    assert f"ไม่ส่งซ้ำ {len(hand_area.DIRECTORS)} ฉบับ" in quiet.stdout
    assert len(server.recipients()) == len(hand_area.DIRECTORS)


def test_changed_settings_are_not_idle(area, config_file):
    assert sync(config_file).exit_code == 1
    text = config_file.read_text(encoding="utf-8").replace('"อื่น ๆ",\n]', '"อื่น ๆ", "โค้ชชิ่ง",\n]')
    assert text != config_file.read_text(encoding="utf-8")
    config_file.write_text(text, encoding="utf-8")
    assert IDLE not in sync(config_file).stderr


def test_an_idle_night_decides_before_pandas_is_imported(area, config_file):
    assert sync(config_file).exit_code == 1
    probe = ("import atexit, sys; atexit.register(lambda: print('pandas' in sys.modules, file=sys.stderr)); "
             f"sys.argv = ['devplan', 'sync', '--config', {str(config_file)!r}]; from pipeline.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 1, done.stderr
    assert IDLE in done.stderr
    assert done.stderr.strip().endswith("False")  # pandas never loaded
