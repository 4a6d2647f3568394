"""The send log: a real aiosmtpd server on loopback, the real state file, and the CLI.

Nothing of the staff's is lost and no director hears the same thing twice: every
accepted message is logged at once; a rerun after the server refused sends only
the rest; an unchanged summary is not sent again (unless --resend); mail.cadence
limits how often a director hears from devplan; --to sends to a test address.
"""

from __future__ import annotations

import email
from datetime import date, timedelta
from email.policy import default as default_policy

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.deliver import SendPolicy, SmtpSettings
from pipeline.sync import run_sync
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.conftest import write_config
from tests.smtp_server import sent_rows

DIRECTORS = hand_area.DIRECTORS


def sync(config_file, *flags: str):
    return CliRunner().invoke(cli, ["sync", "--config", str(config_file), *flags])


def add_done_record(settings, code: str, person: str) -> None:
    """A staff edit: one more finished training for ``person`` in unit ``code``'s ID Plan."""
    book = LocalWorkbook(settings.storage.path)
    idplan = settings.sources.idplan
    key = idplan.key_for(code)
    tabs = book.read(key, [idplan.record_tab])
    rows = tabs[idplan.record_tab]
    columns = idplan.record_columns
    values = {
        columns.date: "15/3/2562", columns.national_id: hand_area.nid(person), columns.full_name: hand_area.full_name(person),
        columns.kind: "อบรม", columns.topic: "การวัดผล", columns.hours: 6, columns.status: "เสร็จสิ้น",
    }
    rows.append([values.get(header, "") for header in rows[0]])
    book.write(key, tabs)


# --- what is logged ----------------------------------------------------------


def test_every_message_sent_is_logged_with_the_servers_answer(server, area, config_file):
    result = sync(config_file, "--send")
    assert result.exit_code == 1, result.output  # sent; the hand area's 4 bad rows need a person
    assert sorted(server.recipients()) == sorted(DIRECTORS.values())

    rows = sent_rows(area)
    assert sorted((unit, recipient) for unit, recipient, *_ in rows) == sorted(DIRECTORS.items())
    answers = {answer for *_, answer, _ in rows}
    assert answers == {"250 2.0.0 Ok: queued as Q0001", "250 2.0.0 Ok: queued as Q0002", "250 2.0.0 Ok: queued as Q0003"}
    for _, _, content_hash, sent_at, _, test in rows:
        assert len(content_hash) == 64 and int(content_hash, 16) >= 0  # sha256 hex
        assert sent_at[:10] == date.today().isoformat()
        assert test == 0
    assert len({h for _, _, h, *_ in rows}) == 3  # each unit's summary is its own
    assert "ส่งแล้ว 3 ฉบับ" in result.stdout


def test_a_rerun_sends_nothing_when_no_summary_changed(server, area, config_file):
    assert sync(config_file, "--send").exit_code == 1
    result = sync(config_file, "--send")
    assert result.exit_code == 1, result.output
    assert len(server.messages) == 3  # still only the first run's three
    assert "ส่งแล้ว 0 ฉบับ, ไม่ส่งซ้ำ 3 ฉบับ (สรุปผลเหมือนฉบับที่ส่งไปแล้ว)" in result.stdout
    assert len(sent_rows(area)) == 3


def test_only_the_changed_summary_is_sent_again(server, area, config_file):
    assert sync(config_file, "--send").exit_code == 1
    add_done_record(area, hand_area.SCHOOL_B, "B2")
    result = sync(config_file, "--send")
    assert result.exit_code == 1, result.output
    assert len(server.messages) == 4
    assert server.recipients()[3:] == ["b@school.test"]
    assert "ส่งแล้ว 1 ฉบับ, ไม่ส่งซ้ำ 2 ฉบับ" in result.stdout
    hashes = [(unit, h) for unit, _, h, *_ in sent_rows(area)]
    b_hashes = [h for unit, h in hashes if unit == hand_area.SCHOOL_B]
    assert len(b_hashes) == 2 and b_hashes[0] != b_hashes[1]


def test_the_run_date_alone_is_not_a_change(server, area):
    """The same data on the next day: the e-mail's date line differs, but nothing is sent."""
    smtp = SmtpSettings.from_environ()
    today = date.today()
    first = run_sync(area, smtp=smtp, today=today)
    second = run_sync(area, smtp=smtp, today=today + timedelta(days=1))
    assert sorted(first.delivery.sent) == sorted(DIRECTORS)
    assert second.delivery.sent == [] and sorted(second.delivery.unchanged) == sorted(DIRECTORS)
    months = ["มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
              "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม"]
    outbox = area.output.outbox / f"{hand_area.SCHOOL_A}.eml"

    def dated(day: date) -> bool:
        message = email.message_from_bytes(outbox.read_bytes(), policy=default_policy)
        return f"(ข้อมูล ณ {day.day} {months[day.month - 1]} {day.year + 543})" in message.get_body(("plain",)).get_content()

    # Nothing in it changed, so the outbox keeps the message made the day before (pipeline/unchanged.py) ...
    assert dated(today)
    # ... and one made again carries the new date: the hash leaves it out on purpose.
    outbox.unlink()
    later = today + timedelta(days=2)
    third = run_sync(area, smtp=smtp, today=later)
    assert third.delivery.sent == [] and sorted(third.delivery.unchanged) == sorted(DIRECTORS)
    assert dated(later)
    assert len(server.messages) == 3


def test_resend_sends_every_summary_again(server, area, config_file):
    assert sync(config_file, "--send").exit_code == 1
    result = sync(config_file, "--send", "--resend")
    assert result.exit_code == 1, result.output
    assert sorted(server.recipients()) == sorted([*DIRECTORS.values(), *DIRECTORS.values()])
    assert len(sent_rows(area)) == 6


def test_resend_and_to_need_send(area, config_file):
    for flags in (["--resend"], ["--to", "test@area.test"]):
        result = sync(config_file, *flags)
        assert result.exit_code == 2
        assert "ใช้ได้เฉพาะคู่กับ --send" in result.output


# --- the server refuses part way ------------------------------------------------


def test_refused_after_50_of_166_the_rerun_sends_the_other_116(tmp_path, server):
    """The issue's own numbers: the sample area (165 schools and the office)."""
    assert CliRunner().invoke(cli, ["sample", "--out", str(tmp_path)]).exit_code == 0
    config_file = write_config(tmp_path)
    settings = load_settings(config_file)
    units = load_workbook(settings.storage.path / "roster.xlsx", read_only=True)[settings.sources.units.tab]
    header, *rows = [list(r) for r in units.iter_rows(values_only=True)]
    column = header.index(settings.sources.units.columns.director_email)
    addresses = [r[column] for r in rows if r[column] and "@" in r[column]]
    assert len(addresses) == 166 == len(set(addresses))

    server.refuse_after = 50
    first = sync(config_file, "--send")
    assert first.exit_code == 5, first.output
    assert "ส่งแล้ว 50 ฉบับ ยังไม่ได้ส่ง 116 ฉบับ" in first.stderr
    assert "421" in first.stderr
    assert len(server.messages) == 50 and len(sent_rows(settings)) == 50

    server.refuse_after = None
    second = sync(config_file, "--send")
    assert second.exit_code == 1, second.output  # the sample's spoiled rows need a person
    assert "ส่งแล้ว 116 ฉบับ, ไม่ส่งซ้ำ 50 ฉบับ" in second.stdout
    assert len(server.messages) == 166
    assert sorted(server.recipients()) == sorted(addresses)  # everyone once, nobody twice

    third = sync(config_file, "--send")
    assert "ส่งแล้ว 0 ฉบับ, ไม่ส่งซ้ำ 166 ฉบับ" in third.stdout
    assert len(server.messages) == 166


def test_a_refused_recipient_is_a_unit_left_out_and_is_tried_again_next_run(server, area, config_file):
    server.refuse_rcpt = {"b@school.test"}
    result = sync(config_file, "--send")
    assert result.exit_code == 1, result.output
    assert sorted(server.recipients()) == ["a@school.test", "office@area.test"]
    assert f"ไม่ได้ส่งถึง {hand_area.SCHOOL_B}: เซิร์ฟเวอร์อีเมลปฏิเสธผู้รับ b@school.test (550 5.1.1 No such user here)" in result.stdout
    assert "หน่วยงานที่ตกหล่น (ไม่ได้รับอีเมลสรุปผล) 1 แห่ง" in result.stdout

    server.refuse_rcpt = set()
    again = sync(config_file, "--send")
    assert server.recipients()[2:] == ["b@school.test"]
    assert "ส่งแล้ว 1 ฉบับ, ไม่ส่งซ้ำ 2 ฉบับ" in again.stdout


# --- cadence --------------------------------------------------------------------


@pytest.mark.parametrize("cadence, days", [('"weekly"', 7), ('"daily"', 1), ('"monthly"', 30), ("3", 3)])
def test_cadence_holds_a_changed_summary_until_its_day(tmp_path, server, cadence, days):
    config_file = write_config(tmp_path, **{"# cadence = \"weekly\"": f"cadence = {cadence}"})
    settings = load_settings(config_file)
    assert settings.mail.cadence == days
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    smtp, today = SmtpSettings.from_environ(), date.today()
    policy = SendPolicy(cadence_days=settings.mail.cadence)
    assert len(run_sync(settings, smtp=smtp, send_policy=policy, today=today).delivery.sent) == 3
    add_done_record(settings, hand_area.SCHOOL_A, "A2")

    early = run_sync(settings, smtp=smtp, send_policy=policy, today=today + timedelta(days=days - 1))
    assert early.delivery.sent == []
    assert early.delivery.held == {hand_area.SCHOOL_A: today + timedelta(days=days)}
    assert sorted(early.delivery.unchanged) == sorted([hand_area.OFFICE, hand_area.SCHOOL_B])

    due = run_sync(settings, smtp=smtp, send_policy=policy, today=today + timedelta(days=days))
    assert due.delivery.sent == [hand_area.SCHOOL_A]
    assert server.recipients()[3:] == ["a@school.test"]


def test_without_cadence_a_changed_summary_goes_the_same_day(server, area):
    smtp = SmtpSettings.from_environ()
    run_sync(area, smtp=smtp)
    add_done_record(area, hand_area.SCHOOL_A, "A2")
    assert run_sync(area, smtp=smtp).delivery.sent == [hand_area.SCHOOL_A]


def test_cadence_is_reported_in_thai_by_the_cli(tmp_path, server):
    config_file = write_config(tmp_path, **{"# cadence = \"weekly\"": 'cadence = "weekly"'})
    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    assert sync(config_file, "--send").exit_code == 1
    add_done_record(settings, hand_area.SCHOOL_A, "A2")
    result = sync(config_file, "--send")
    next_day = (date.today() + timedelta(days=7)).isoformat()
    assert f"ส่งแล้ว 0 ฉบับ, ไม่ส่งซ้ำ 2 ฉบับ (สรุปผลเหมือนฉบับที่ส่งไปแล้ว), รอรอบส่ง (mail.cadence) 1 ฉบับ (ส่งได้อีกตั้งแต่ {next_day})" in result.stdout


@pytest.mark.parametrize("bad", ['"fortnightly"', "0", "-7", "true"])
def test_a_wrong_cadence_names_the_key(tmp_path, bad):
    config_file = write_config(tmp_path, **{"# cadence = \"weekly\"": f"cadence = {bad}"})
    result = sync(config_file)
    assert result.exit_code == 2
    assert "mail.cadence" in result.stderr and "weekly" in result.stderr


# --- a test address ---------------------------------------------------------------


def test_to_sends_everything_to_the_test_address_and_not_as_sent_to_directors(server, area, config_file):
    result = sync(config_file, "--send", "--to", "tester@area.test")
    assert result.exit_code == 1, result.output
    assert server.recipients() == ["tester@area.test"] * 3
    subjects = sorted(
        email.message_from_bytes(content, policy=default_policy)["Subject"] for _, content in server.messages
    )
    for address in DIRECTORS.values():
        assert sum(s.startswith(f"[ทดสอบ ถึง {address}] [") for s in subjects) == 1
    assert "ส่งไปที่อีเมลทดสอบ tester@area.test แล้ว 3 ฉบับ (ไม่นับว่าส่งถึงผู้อำนวยการ)" in result.stdout
    assert {(recipient, test) for _, recipient, _, _, _, test in sent_rows(area)} == {("tester@area.test", 1)}
    # The outbox is still the directors' own mail.
    eml = email.message_from_bytes((area.output.outbox / f"{hand_area.SCHOOL_A}.eml").read_bytes(), policy=default_policy)
    assert eml["To"] == "a@school.test"

    # The directors have not been sent anything yet: a real --send sends all three.
    real = sync(config_file, "--send")
    assert sorted(server.recipients()[3:]) == sorted(DIRECTORS.values())
    assert "ส่งแล้ว 3 ฉบับ" in real.stdout


def test_to_must_be_an_address(area, config_file):
    result = sync(config_file, "--send", "--to", "nobody")
    assert result.exit_code == 2
    assert "--to" in result.output


def test_dry_run_says_how_many_would_be_sent(server, area, config_file):
    assert sync(config_file, "--send").exit_code == 1
    add_done_record(area, hand_area.SCHOOL_B, "B2")
    result = sync(config_file)
    assert "ยังไม่ได้ส่ง: ใช้ --send เพื่อส่งจริง (จะส่ง 1 ฉบับ, ไม่ส่งซ้ำ 2 ฉบับ" in result.stdout
    assert len(server.messages) == 3
