"""Failures on Google that say what to do, through the command line and the fake Google over HTTP.

A key Google refuses, a sign-in service or an API that does not answer, a Google that hangs or is
slow, a long ``Retry-After``, a wrong folder ID, a spreadsheet renamed or moved since the last run.
Each test asserts the exit code, the message a person reads (what happened, where, what to do) and
that no staff tab changed. Time is the test's own: a virtual clock that moves only when devplan
sleeps or when the fake says a request took time, never this machine's speed (the one exception,
a request that never answers, uses a half-second timeout set in the config).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.workbook import google_http
from tests.conftest import free_port
from tests.fake_google import FakeGoogle
from tests.google_area import SUMMARY, GoogleArea, VirtualClock, build_area, staff_tabs

SA = "devplan@devplan-pbn2.iam.gserviceaccount.com"


def run(*args: Any):
    return CliRunner().invoke(cli, [str(a) for a in args])


def schools(area: GoogleArea) -> list[str]:
    return sorted(k for k in area.ids if k.startswith("idplan-"))


def with_quota(area: GoogleArea, **values: Any) -> None:
    """Add ``[storage.quota]`` settings to the area's config."""
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
    text = area.config.read_text(encoding="utf-8").replace("[storage.quota]\n", "[storage.quota]\n" + lines)
    area.config.write_text(text, encoding="utf-8")


def with_key(fake: FakeGoogle, area: GoogleArea, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A service-account key whose token_uri is the fake's, named in the config; the folder shared with it."""
    info = fake.service_account_info(SA)
    key = tmp_path / "key.json"
    key.write_text(json.dumps(info), encoding="utf-8")
    fake.share(area.folder, SA, "writer")
    text = area.config.read_text(encoding="utf-8").replace("[storage.quota]", f'credentials = "{key}"\n[storage.quota]')
    area.config.write_text(text, encoding="utf-8")
    return key, info


@pytest.fixture
def clock(monkeypatch) -> VirtualClock:
    """Every Google client the command line opens counts its quota, retries and deadline in this clock."""
    virtual = VirtualClock()
    monkeypatch.setattr(google_http, "default_clock", virtual)
    monkeypatch.setattr(google_http, "default_sleep", virtual.sleep)
    return virtual


# --- signing in ----------------------------------------------------------------------------------


def test_a_deleted_key_is_exit_2_naming_the_key_file_the_account_and_a_new_key(fake_google, tmp_path):
    area = build_area(fake_google, tmp_path, schools=3)
    key, info = with_key(fake_google, area, tmp_path)
    before = staff_tabs(fake_google, area)
    fake_google.revoked_keys.add(info["private_key_id"])  # deleted in the Cloud Console

    result = run("sync", "--config", area.config)
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert str(key) in message and SA in message and "storage.credentials" in message
    assert "invalid_grant: Invalid JWT Signature." in message
    assert "สร้างกุญแจใหม่" in message and "Keys → Add key" in message  # what to do first
    assert "นาฬิกา" in message  # and the other cause of invalid_grant
    assert "Traceback" not in result.output and "ไม่คาดคิด" not in result.output
    # refused at the token endpoint: not one request reached Sheets or Drive, nothing changed
    assert [r.api for r in fake_google.requests()] == ["token"]
    assert staff_tabs(fake_google, area) == before


def test_a_clock_hours_off_is_exit_2_saying_to_set_the_clock_first(tmp_path):
    # Google's clock (the fake's) is two hours ahead of this machine's: the key's JWT looks expired.
    with FakeGoogle(now=lambda: time.time() + 2 * 3600) as fake:
        area = build_area(fake, tmp_path, schools=3)
        key, _ = with_key(fake, area, tmp_path)
        before = staff_tabs(fake, area)
        result = run("check", "--config", area.config)
        assert result.exit_code == 2, result.output
        message = result.stderr
        assert "Token must be a short-lived token" in message and str(key) in message and SA in message
        hint = message[message.index("วิธีแก้"):]
        assert hint.index("ตั้งนาฬิกาของเครื่องนี้") < hint.index("สร้างกุญแจใหม่")  # the clock first
        assert "timedatectl set-ntp true" in hint
        assert staff_tabs(fake, area) == before
        assert not fake.bugs


@pytest.mark.parametrize("how", ["dropped", "refused"])
def test_an_unreachable_sign_in_service_is_exit_3_naming_its_address(fake_google, tmp_path, how):
    area = build_area(fake_google, tmp_path, schools=3)
    key, info = with_key(fake_google, area, tmp_path)
    with_quota(area, max_tries=3)
    if how == "dropped":  # the token endpoint closes the connection unanswered
        fake_google.token_mode = "unreachable"
        address = fake_google.base_url.removeprefix("http://")
    else:  # nothing listens where the key says the token endpoint is
        port = free_port()
        info["token_uri"] = f"http://127.0.0.1:{port}/token"
        key.write_text(json.dumps(info), encoding="utf-8")
        address = f"127.0.0.1:{port}"
    before = staff_tabs(fake_google, area)

    result = run("sync", "--config", area.config)
    assert result.exit_code == 3, result.output
    message = result.stderr
    assert f"ติดต่อบริการลงชื่อเข้าใช้ของ Google ที่ {address} ไม่ได้" in message
    assert f"token_uri ในไฟล์กุญแจ {key}" in message
    assert f"ตรวจการเชื่อมต่ออินเทอร์เน็ตของเครื่องนี้ ว่าออกไปที่ {address} ได้" in message
    assert message.count("ลองใหม่ครั้งที่") == 2  # three tries in all, each said
    assert "Traceback" not in result.output
    assert [r for r in fake_google.requests() if r.api != "token"] == []
    assert staff_tabs(fake_google, area) == before


# --- no answer: the address tried ------------------------------------------------------------------


def test_a_closed_emulator_address_names_it_and_the_variable_that_set_it(fake_google, tmp_path, monkeypatch):
    area = build_area(fake_google, tmp_path, schools=3)
    with_quota(area, max_tries=2)
    port = free_port()
    monkeypatch.setenv("DEVPLAN_GOOGLE_API_BASE", f"http://127.0.0.1:{port}")
    result = run("sync", "--config", area.config)
    assert result.exit_code == 3, result.output
    message = result.stderr
    assert f"ติดต่อ 127.0.0.1:{port} ไม่ได้" in message
    assert f"DEVPLAN_GOOGLE_API_BASE (http://127.0.0.1:{port})" in message
    assert "ลบตัวแปร DEVPLAN_GOOGLE_API_BASE" in message
    assert fake_google.requests() == []


def test_no_network_names_the_google_address_tried(fake_google, tmp_path, monkeypatch):
    area = build_area(fake_google, tmp_path, schools=3)
    with_key(fake_google, area, tmp_path)  # signing in works (the fake's token endpoint)
    with_quota(area, max_tries=2)
    monkeypatch.delenv("DEVPLAN_GOOGLE_API_BASE")  # so the API is Google's own, which this machine cannot reach
    before = staff_tabs(fake_google, area)
    result = run("sync", "--config", area.config)
    assert result.exit_code == 3, result.output
    message = result.stderr
    assert "ติดต่อ Google ที่ www.googleapis.com:443 ไม่ได้" in message  # the Drive listing comes first
    assert "ตรวจการเชื่อมต่ออินเทอร์เน็ตของเครื่องนี้ ว่าออกไปที่ www.googleapis.com:443 ได้" in message
    assert "DEVPLAN_GOOGLE_API_BASE" not in message
    assert staff_tabs(fake_google, area) == before


# --- time: a request that never answers, a slow Google, Retry-After --------------------------------


def test_a_spreadsheet_that_never_answers_is_left_out_after_bounded_tries(fake_google, tmp_path):
    area = build_area(fake_google, tmp_path, schools=3)
    with_quota(area, read_timeout=0.5, max_tries=2)
    stuck = schools(area)[1]
    fake_google.faults.hanging = {area.ids[stuck]}
    before = staff_tabs(fake_google, area)

    result = run("sync", "--config", area.config)
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith(f"หน่วยงาน {stuck.removeprefix('idplan-')} "))
    assert "ไม่ตอบภายในเวลาที่กำหนด" in line and stuck in line and fake_google.base_url.removeprefix("http://") in line
    assert "ลองใหม่ครั้งที่ 2/2" in result.stderr and "ลองใหม่ครั้งที่ 3" not in result.stderr
    # every other school read and written
    for title in schools(area):
        assert (SUMMARY in fake_google.tab_names(area.ids[title])) == (title != stuck)
    fake_google.faults.release()
    assert staff_tabs(fake_google, area) == before


def test_a_timeout_each_request_is_the_configured_one(tmp_path, monkeypatch):
    from pipeline.config import load_settings
    from pipeline.state import State
    from pipeline.workbook.factory import open_workbook
    from tests.google_area import google_config

    monkeypatch.setenv("DEVPLAN_GOOGLE_API_BASE", f"http://127.0.0.1:{free_port()}")  # nothing is sent
    config = google_config(tmp_path, "1" + "a" * 32, quota="connect_timeout = 4\nread_timeout = 30\ndeadline_minutes = 20")
    settings = load_settings(config)
    with State(None) as state:
        book: Any = open_workbook(settings.storage, state)
        assert book.http.timeout == (4.0, 30.0)
        assert book.http.pacing.deadline == 20 * 60
    defaults = load_settings(google_config(tmp_path, "1" + "a" * 32, name="d.toml")).storage.quota
    assert (defaults.connect_timeout, defaults.read_timeout, defaults.deadline_minutes) == (10.0, 60.0, 45.0)


def test_every_request_slow_ends_at_the_deadline_naming_what_was_not_done(fake_google, tmp_path, clock):
    area = build_area(fake_google, tmp_path, schools=4)
    with_quota(area, deadline_minutes=2)
    fake_google.faults.tick = lambda: setattr(clock, "now", clock.now + 20)  # every request takes 20 s
    before = staff_tabs(fake_google, area)

    result = run("sync", "--config", area.config)
    assert result.exit_code == 1, result.output
    # Worked out by hand: the listing ends at 20 s, the roster at 40, the survey at 60, then one ID Plan
    # every 20 s: the third starts at 100 s and ends at 120, the deadline. Nothing more is sent.
    reads = fake_google.requests(api="sheets", kind="read")
    assert [r.spreadsheet for r in reads][:2] == [area.ids["roster"], area.ids["needs-survey"]]
    assert len(reads) == 5 and fake_google.requests(api="sheets", kind="write") == []
    read = {title for title, sid in area.ids.items() if sid in {r.spreadsheet for r in reads}}
    assert len(read & set(schools(area))) == 3
    # every school is named: two were not read, three were read but not written; the dashboard as it was
    out = result.stdout
    for title in schools(area):
        line = next(x for x in out.splitlines() if x.startswith(f"หน่วยงาน {title.removeprefix('idplan-')} "))
        assert "หมดเวลาของรอบนี้ (รอบหนึ่งใช้เวลาได้ไม่เกิน 2 นาที" in line
        assert ("อ่านสเปรดชีต" if title not in read else "เขียนแท็บสรุปผลลงสเปรดชีต") in line
    assert "ปัญหา: แดชบอร์ด 'dashboard': " in out and fake_google.find("dashboard") == []
    assert "deadline_minutes" in out
    assert staff_tabs(fake_google, area) == before

    # the next run (no longer slow) reads only what it did not read, and writes everything
    fake_google.faults.tick = None
    fake_google.clear_log()
    again = run("sync", "--config", area.config)
    assert again.exit_code == 1, again.output  # the sample's spoiled rows
    reads = {r.spreadsheet for r in fake_google.requests(api="sheets", kind="read")}
    assert reads == {area.ids[t] for t in set(schools(area)) - read}
    assert all(SUMMARY in fake_google.tab_names(area.ids[t]) for t in schools(area))
    assert staff_tabs(fake_google, area) == before


def test_retry_after_is_honoured_in_full_and_said(fake_google, tmp_path, clock):
    area = build_area(fake_google, tmp_path, schools=3)  # its config caps the backoff at 0.2 s
    fake_google.faults.apis = ("sheets",)
    fake_google.faults.retry_after = 150
    fake_google.faults.fail_next(429, 1)
    before = staff_tabs(fake_google, area)
    result = run("sync", "--config", area.config)
    assert result.exit_code == 1, result.output  # the sample's spoiled rows only
    assert "ตกหล่น (ไม่ได้เขียนแท็บสรุปผลและไม่ได้ส่งอีเมล)" not in result.stdout
    assert 150 in clock.slept  # not capped at max_backoff, not sooner than asked
    assert "รอ 150 วินาที: Google ตอบ 429 (RESOURCE_EXHAUSTED) และขอให้รอ 150 วินาที (Retry-After)" in result.stderr
    assert [r.status for r in fake_google.requests(api="sheets")][:2] == [429, 200]
    assert staff_tabs(fake_google, area) == before


def test_retry_after_longer_than_the_run_has_left_stops_and_says_when_to_run_again(fake_google, tmp_path, clock):
    area = build_area(fake_google, tmp_path, schools=3)
    fake_google.faults.apis = ("sheets",)
    fake_google.faults.retry_after = 3600  # an hour; the run has 45 minutes
    fake_google.faults.fail_next(429, 1)  # the first read: the roster
    before = staff_tabs(fake_google, area)
    result = run("sync", "--config", area.config)
    assert result.exit_code == 1, result.output
    message = result.stderr
    assert "อ่านสเปรดชีต 'roster'" in message
    assert "Google ขอให้รอ 60 นาที (Retry-After) ซึ่งเกินเวลาที่เหลือของรอบนี้" in message
    assert "สั่งรันใหม่หลังเวลา" in message
    assert clock.slept == [] and len(fake_google.requests(api="sheets")) == 1  # not waited, not asked again
    assert staff_tabs(fake_google, area) == before


def test_retry_after_past_the_deadline_on_one_school_leaves_the_rest_of_the_reads_out(fake_google, tmp_path, clock):
    area = build_area(fake_google, tmp_path, schools=4)
    fake_google.faults.retry_after = 3600
    refused = schools(area)[0]
    fake_google.fail(area.ids[refused], 429)  # Google's read quota says: come back in an hour
    before = staff_tabs(fake_google, area)
    result = run("sync", "--config", area.config)
    assert result.exit_code == 1, result.output
    reads = [r.spreadsheet for r in fake_google.requests(api="sheets", kind="read")]
    assert reads.count(area.ids[refused]) == 1
    after = reads[reads.index(area.ids[refused]) + 1:]
    assert after == []  # no read asked after Google said to wait
    read_ok = {t for t in schools(area) if area.ids[t] in reads and t != refused}
    lines = result.stdout.splitlines()
    for title in schools(area):
        left_out = [x for x in lines if x.startswith(f"หน่วยงาน {title.removeprefix('idplan-')} ")]
        if title in read_ok:  # read before: written as usual
            assert left_out == [] and SUMMARY in fake_google.tab_names(area.ids[title])
        else:
            assert len(left_out) == 1 and "Google ขอให้รอ 60 นาที (Retry-After)" in left_out[0]
    assert fake_google.find("dashboard")  # writes were not asked to wait: the dashboard names those left out
    assert staff_tabs(fake_google, area) == before


# --- booleans ----------------------------------------------------------------------------------------


def test_boolean_query_parameters_go_out_as_true(fake_google, tmp_path):
    from pipeline.workbook.google_http import query

    assert query({"supportsAllDrives": True, "x": False, "pageSize": 1000}) == {
        "supportsAllDrives": "true", "x": "false", "pageSize": 1000}
    area = build_area(fake_google, tmp_path, schools=3)
    assert run("sync", "--config", area.config).exit_code == 1
    flags = [(k, v) for r in fake_google.requests(api="drive") for k, v in r.query.items()
             if k in ("supportsAllDrives", "includeItemsFromAllDrives")]
    assert {k for k, _ in flags} == {"supportsAllDrives", "includeItemsFromAllDrives"}
    assert all(v == ["true"] for _, v in flags)


# --- a wrong folder ID, a spreadsheet renamed or moved ----------------------------------------------


def test_a_folder_id_that_finds_nothing_is_suspected_with_how_to_copy_it(fake_google, tmp_path):
    area = build_area(fake_google, tmp_path, schools=3)
    before = staff_tabs(fake_google, area)
    wrong = "1" + "Q" * 32
    area.config.write_text(area.config.read_text(encoding="utf-8").replace(area.folder, wrong), encoding="utf-8")
    result = run("sync", "--config", area.config)
    assert result.exit_code == 3, result.output
    assert "ไม่พบสเปรดชีตชื่อ 'roster'" in result.stderr
    assert f"รหัสโฟลเดอร์ {wrong} (storage.folder) อาจผิด" in result.stderr
    assert "https://drive.google.com/drive/folders/<รหัสโฟลเดอร์>" in result.stderr

    # the ID of a spreadsheet where the folder's should be
    roster = area.ids["roster"]
    area.config.write_text(area.config.read_text(encoding="utf-8").replace(wrong, roster), encoding="utf-8")
    result = run("sync", "--config", area.config)
    assert result.exit_code == 3, result.output
    assert f"รหัส {roster} ใน storage.folder เป็นไฟล์ 'roster' ไม่ใช่โฟลเดอร์" in result.stderr
    assert staff_tabs(fake_google, area) == before


def test_a_school_spreadsheet_renamed_moved_or_deleted_is_told_as_what_happened(fake_google, tmp_path):
    from datetime import date

    area = build_area(fake_google, tmp_path, schools=4)
    assert run("sync", "--config", area.config).exit_code == 1
    seen = date.today().strftime("%d/%m/%Y")
    renamed, moved, deleted = schools(area)[:3]
    before = staff_tabs(fake_google, area)
    fake_google.rename(area.ids[renamed], f"{renamed} (สำเนา)")
    elsewhere = fake_google.add_folder("elsewhere", shared_with=[None])
    fake_google.move(area.ids[moved], elsewhere)
    fake_google.delete(area.ids[deleted])
    ids = dict(area.ids)
    before = {key: tabs for key, tabs in before.items() if key[0] != area.ids[deleted]}  # gone: its tabs with it
    del area.ids[deleted]
    fake_google.clear_log()

    result = run("sync", "--config", area.config)
    assert result.exit_code == 1, result.output
    lines = {x.split()[1]: x for x in result.stdout.splitlines() if x.startswith("หน่วยงาน ") and "ตกหล่น (ไม่ได้เขียนแท็บสรุปผลและไม่ได้ส่งอีเมล)" in x}
    hints = result.stdout
    was = "เคยพบในโฟลเดอร์นี้เมื่อวันที่ {} ชื่อ '{}' รหัส {}"
    for title in (renamed, moved, deleted):
        assert was.format(seen, title, ids[title]) in lines[title.removeprefix("idplan-")]
        assert "สร้างสเปรดชีตชื่อ" not in lines[title.removeprefix("idplan-")]
    assert f"ถูกเปลี่ยนชื่อเป็น '{renamed} (สำเนา)'" in lines[renamed.removeprefix("idplan-")]
    assert f"เปลี่ยนชื่อสเปรดชีตนี้กลับเป็น '{renamed}'" in hints
    assert "ถูกย้ายออกจากโฟลเดอร์นี้" in lines[moved.removeprefix("idplan-")]
    assert f"ย้ายกลับเข้าโฟลเดอร์ {area.folder}" in hints
    assert "มองไม่เห็นแล้ว: ถูกลบ หรือเลิกแชร์" in lines[deleted.removeprefix("idplan-")]
    assert "ถังขยะ" in hints
    # the renamed one is still in the folder (told from the listing); the others cost one lookup each
    lookups = [r.path for r in fake_google.requests(api="drive") if r.path != "/drive/v3/files"]
    assert sorted(lookups) == sorted(f"/drive/v3/files/{ids[t]}" for t in (moved, deleted))
    for title in (renamed, moved):
        assert SUMMARY in fake_google.tab_names(area.ids[title])  # last night's tab, left as it was
    assert staff_tabs(fake_google, area) == before


def test_a_renamed_roster_stops_the_run_saying_its_new_name(fake_google, tmp_path):
    area = build_area(fake_google, tmp_path, schools=3)
    assert run("check", "--config", area.config).exit_code == 1  # a check sees the spreadsheets too
    fake_google.rename(area.ids["roster"], "ทะเบียน 2562")
    result = run("sync", "--config", area.config)
    assert result.exit_code == 3, result.output
    assert f"ชื่อ 'roster' รหัส {area.ids['roster']} ตอนนี้ถูกเปลี่ยนชื่อเป็น 'ทะเบียน 2562'" in result.stderr
    assert "เปลี่ยนชื่อสเปรดชีตนี้กลับเป็น 'roster'" in result.stderr
