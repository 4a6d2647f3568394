"""The state file is the send log: a damaged, missing, new or older one never makes devplan mail anyone twice.

devplan writes when it last mailed the directors into the dashboard it owns (the area tab's last
row). A state file whose send log does not account for that mailing (deleted, moved aside, replaced
by a new one, restored from an older backup) refuses ``--send`` until ``--new-state`` confirms it; a
state file SQLite finds damaged is refused outright, with advice that mails nobody twice.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.deliver import MAILED_LABEL, SmtpSettings, format_mailed, read_mailed
from pipeline.errors import DeliveryError
from pipeline.sync import run_sync
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.hand_area import DIRECTORS
from tests.smtp_server import sent_rows
from tests.test_send_log import add_done_record, sync


@pytest.fixture
def mailed(config_file, server):
    """The hand area, after one ``sync --send`` that mailed all three directors."""
    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    assert sync(config_file, "--send").exit_code == 1  # the hand area's bad rows need a person
    assert sorted(server.recipients()) == sorted(DIRECTORS.values())
    return settings


def dashboard_mailed(settings):
    """What the dashboard's area tab says of the last mailing, read with openpyxl (not devplan)."""
    book = load_workbook(settings.storage.path / f"{settings.output.dashboard}.xlsx", read_only=True)
    rows = [[c for c in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    found = [row[1] for row in rows if row and row[0] == MAILED_LABEL]
    return found[0] if found else None


def sheets(settings) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(settings.storage.path.glob("*.xlsx"))}


def damage(path) -> None:
    """Scribble over the cell pointers of one b-tree page at a time until SQLite itself calls the file
    malformed (checked here with sqlite3, not with devplan)."""
    size = path.stat().st_size
    original = path.read_bytes()
    for page in range(size // 4096 - 1, 1, -1):
        data = bytearray(original)
        data[page * 4096 + 8: page * 4096 + 200] = b"\x55" * 192
        path.write_bytes(bytes(data))
        with sqlite3.connect(path) as db:
            try:
                if db.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
                    return
            except sqlite3.DatabaseError:
                return
    raise AssertionError("no page damaged enough for SQLite to notice")


# --- the dashboard's record -----------------------------------------------------------------


def test_the_dashboard_records_the_last_mailing_and_devplan_reads_it_back(mailed):
    shown = dashboard_mailed(mailed)
    last = max(datetime.fromisoformat(at) for _, _, _, at, _, _ in sent_rows(mailed))
    assert shown == format_mailed(last)  # to the minute, as the dashboard shows it
    assert format_mailed(datetime(2019, 10, 1, 14, 5, 59)) == "1 ตุลาคม 2562 เวลา 14:05 น."
    assert read_mailed([["x"], [], [MAILED_LABEL, "1 ตุลาคม 2562 เวลา 14:05 น."]]) == datetime(2019, 10, 1, 14, 5)
    assert read_mailed([[MAILED_LABEL, "เมื่อวาน"]]) is None and read_mailed([]) is None


def test_an_area_never_mailed_has_no_record(config_file):
    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    assert sync(config_file).exit_code == 1  # the outbox only: nobody mailed
    assert dashboard_mailed(settings) is None


# --- a missing or new state file ------------------------------------------------------------------


def test_a_new_state_file_in_a_mailed_area_refuses_to_send_until_told(mailed, config_file, server):
    os.rename(mailed.storage.state, f"{mailed.storage.state}.old")  # moved aside (or deleted)
    before = sheets(mailed)

    refused = sync(config_file, "--send")
    assert refused.exit_code == 5, refused.output
    assert (f"ไม่ส่งอีเมล: แดชบอร์ด '{mailed.output.dashboard}' บันทึกว่า devplan ส่งอีเมลถึงผู้อำนวยการในเขตนี้"
            f"ครั้งล่าสุดเมื่อ {dashboard_mailed(mailed)}") in refused.stderr
    assert f"ไฟล์สถานะ {mailed.storage.state} ไม่มีบันทึกการส่งเลย" in refused.stderr
    assert "--new-state: devplan จะส่งสรุปผล 3 ฉบับ" in refused.stderr
    assert "รอบนี้ยังไม่ได้เขียนหรือส่งสิ่งใด" in refused.stderr
    assert len(server.messages) == 3 and sent_rows(mailed) == []
    assert sheets(mailed) == before  # nothing written

    check = CliRunner().invoke(cli, ["check", "--config", str(config_file)])
    assert check.exit_code == 1, check.output
    assert "ปัญหา: sync --send จะยังไม่ส่งอีเมล: ไม่ส่งอีเมล: แดชบอร์ด" in check.stdout

    told = sync(config_file, "--send", "--new-state")  # what the message says it does: all three again
    assert told.exit_code == 1, told.output
    assert sorted(server.recipients()) == sorted([*DIRECTORS.values(), *DIRECTORS.values()])
    again = sync(config_file, "--send")  # and from now on the new send log is the truth
    assert again.exit_code == 1 and "ส่งแล้ว 0 ฉบับ, ไม่ส่งซ้ำ 3 ฉบับ" in again.stdout
    assert len(server.messages) == 6


def test_a_sync_without_send_on_a_new_state_file_keeps_the_record(mailed, config_file, server):
    shown = dashboard_mailed(mailed)
    os.remove(mailed.storage.state)
    assert sync(config_file).exit_code == 1  # writes tabs, the outbox; no mail
    assert dashboard_mailed(mailed) == shown  # not erased: the next --send still knows
    refused = sync(config_file, "--send")
    assert refused.exit_code == 5 and "--new-state" in refused.stderr
    assert len(server.messages) == 3


def test_a_state_file_restored_from_an_older_backup_is_noticed(mailed, server, tmp_path):
    smtp = SmtpSettings.from_environ()
    backup = tmp_path / "backup.sqlite"
    shutil.copy(mailed.storage.state, backup)  # last night's backup
    later = datetime.now() + timedelta(hours=2)
    add_done_record(mailed, hand_area.SCHOOL_B, "B2")
    assert run_sync(mailed, smtp=smtp, now=later).delivery.sent == [hand_area.SCHOOL_B]
    assert dashboard_mailed(mailed) == format_mailed(later)

    shutil.copy(backup, mailed.storage.state)  # the disk died; the backup is older than the last mailing
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{mailed.storage.state}{suffix}"):
            os.remove(f"{mailed.storage.state}{suffix}")
    with pytest.raises(DeliveryError) as refused:
        run_sync(mailed, smtp=smtp, now=later + timedelta(hours=1))
    assert f"ครั้งล่าสุดเมื่อ {format_mailed(later)}" in refused.value.message
    assert "มีบันทึกถึงแค่" in refused.value.message and "อาจคืนมาจากสำเนาสำรองที่เก่ากว่า" in refused.value.message
    assert "--new-state: devplan จะส่งสรุปผล 1 ฉบับ" in refused.value.hint  # B's new summary, unknown to the backup
    assert len(server.messages) == 4


# --- a damaged state file ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["a damaged page", "not a database at all"])
def test_a_damaged_state_file_is_refused_and_its_advice_mails_nobody_twice(mailed, config_file, server, tmp_path, how):
    state = mailed.storage.state
    backup = tmp_path / "backup.sqlite"
    shutil.copy(state, backup)
    if how == "a damaged page":
        damage(state)
    else:
        state.write_bytes(b"this was overwritten by a careless copy " * 200)
    broken = state.read_bytes()

    result = sync(config_file, "--send")
    assert result.exit_code == 2, result.output
    assert f"ไฟล์สถานะ {state} เสียหาย (SQLite:" in result.stderr
    assert "อย่าลบทิ้ง: คืนไฟล์จากสำเนาสำรองล่าสุด" in result.stderr and f"mv {state} {state}.damaged" in result.stderr
    assert state.read_bytes() == broken  # never used, never "repaired"
    assert len(server.messages) == 3
    status = CliRunner().invoke(cli, ["status", "--config", str(config_file)])
    assert status.exit_code == 2 and "เสียหาย" in status.stderr

    # The advice, first way: the backup. Nobody is mailed again.
    shutil.copy(backup, state)
    restored = sync(config_file, "--send")
    assert restored.exit_code == 1, restored.output
    assert "ส่งแล้ว 0 ฉบับ, ไม่ส่งซ้ำ 3 ฉบับ" in restored.stdout and len(server.messages) == 3

    # The second way: moved aside as the message says. devplan sees the dashboard's record and waits.
    state.write_bytes(broken)
    os.rename(state, f"{state}.damaged")
    aside = sync(config_file, "--send")
    assert aside.exit_code == 5 and "--new-state" in aside.stderr
    assert len(server.messages) == 3


def test_a_state_file_from_before_confirmations_gains_the_column_and_keeps_its_send_log(tmp_path):
    from pipeline.state import SentMail, State

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the send log as devplan wrote it before confirm-sent
        db.executescript(
            "CREATE TABLE sent (id INTEGER PRIMARY KEY AUTOINCREMENT, unit TEXT NOT NULL, recipient TEXT NOT NULL, "
            "content_hash TEXT NOT NULL, sent_at TEXT NOT NULL, answer TEXT NOT NULL, test INTEGER NOT NULL DEFAULT 0);"
            "INSERT INTO sent (unit, recipient, content_hash, sent_at, answer) "
            "VALUES ('1067000001', 'a@school.test', 'abc', '2019-10-01T14:05:00', '250 queued');"
        )
    db.close()
    with State(path) as state:
        assert state.last_sent("1067000001") == SentMail(
            "1067000001", "a@school.test", "abc", datetime(2019, 10, 1, 14, 5), "250 queued", False, None)
        state.mark_sending("1067000002", "b@school.test", "def")
        confirmed = state.confirm_sent("1067000002", datetime(2019, 10, 2, 9, 0))
        assert confirmed is not None and confirmed.confirmed_at == datetime(2019, 10, 2, 9, 0)
        assert state.unconfirmed("1067000002") is None and state.confirm_sent("1067000002") is None
    with State(path) as state:  # opened again: the column is there once
        assert state.last_sent("1067000002") == confirmed
