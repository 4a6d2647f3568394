"""When mail goes wrong, devplan says why, and following its advice mails nobody twice and skips nobody.

Each fault is made real: an aiosmtpd server on loopback that never answers, refuses the login
(and hangs up), offers a self-signed certificate, or drops the connection while a message is on
its way; a director cell holding a list. Each test checks the exit code, the message, the send
log, and what a rerun (the one the message advises) sends: every director exactly once.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import shlex
import socket
import sqlite3
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.deliver import director_address
from pipeline.publish import DASHBOARD_TABS
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.conftest import free_port
from tests.hand_area import DIRECTORS
from tests.smtp_server import CountingServer, every_director_once, sent_rows, serving
from tests.test_send_log import sync

PASSWORD = "s3cret-Passw0rd-42"


def smtp_env(port: int, **more: str) -> None:
    os.environ.update({"DEVPLAN_SMTP_HOST": "127.0.0.1", "DEVPLAN_SMTP_PORT": str(port), "DEVPLAN_SMTP_STARTTLS": "0",
                       **more})


@pytest.fixture
def inbox():
    """A working server on loopback (no TLS, no login): where each rerun's mail is counted."""
    handler = CountingServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


# --- the server's cause, not smtplib's class name --------------------------------------------


def test_a_server_that_never_answers_is_a_timeout_after_the_configured_seconds(area, config_file, inbox):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        smtp_env(silent.getsockname()[1], DEVPLAN_SMTP_TIMEOUT="0.5")
        result = sync(config_file, "--send")
    assert result.exit_code == 5, result.output
    assert "เซิร์ฟเวอร์ไม่ตอบภายใน 0.5 วินาที หลังเชื่อมต่อ" in result.stderr
    assert "DEVPLAN_SMTP_TIMEOUT" in result.stderr and "SMTPServerDisconnected" not in result.stderr
    assert "(ส่งแล้ว 0 ฉบับ ยังไม่ได้ส่ง 3 ฉบับ)" in result.stderr
    assert sent_rows(area) == []

    handler, port = inbox
    smtp_env(port)
    assert sync(config_file, "--send").exit_code == 1  # the hand area's bad rows need a person
    every_director_once(handler, area)


@pytest.mark.parametrize("setting", ["abc", "0", "-1"])
def test_a_wrong_timeout_names_the_variable(area, config_file, setting):
    smtp_env(free_port(), DEVPLAN_SMTP_TIMEOUT=setting)
    result = sync(config_file, "--send")
    assert result.exit_code == 2
    assert f"DEVPLAN_SMTP_TIMEOUT ต้องเป็นจำนวนวินาทีมากกว่า 0 และไม่เกิน 3600 (ได้ '{setting}')" in result.stderr


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


class HangsUpAfterRefusal(SMTPServer):
    """A server as strict as many real ones: a failed login is answered 535 and the line is closed,
    so smtplib's next login method meets a closed connection (SMTPServerDisconnected)."""

    async def smtp_AUTH(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's name
        await super().smtp_AUTH(arg)
        if not self.session.authenticated:
            self.transport.close()


class HangingUpController(Controller):
    def factory(self):
        return HangsUpAfterRefusal(self.handler, **self.SMTP_kwargs)


@pytest.mark.parametrize("hangs_up", [False, True], ids=["answers-535", "answers-535-and-hangs-up"])
def test_a_wrong_password_says_the_server_refused_the_login(area, config_file, hangs_up):
    kind = HangingUpController if hangs_up else Controller
    handler = CountingServer()
    with serving(handler, kind, authenticator=_authenticate, auth_require_tls=False):
        os.environ.update(DEVPLAN_SMTP_USER="hrd", DEVPLAN_SMTP_PASSWORD="wrong-password-xyz")
        result = sync(config_file, "--send")
        assert result.exit_code == 5, result.output
        said = "เซิร์ฟเวอร์ไม่ยอมรับชื่อผู้ใช้หรือรหัสผ่าน (535 5.7.8 Authentication credentials invalid)"
        assert said + (" แล้วปิดการเชื่อมต่อ" if hangs_up else "") in result.stderr
        assert "DEVPLAN_SMTP_PASSWORD" in result.stderr and "App Password" in result.stderr
        assert "wrong-password-xyz" not in result.output
        assert sent_rows(area) == [] and handler.messages == []

        os.environ["DEVPLAN_SMTP_PASSWORD"] = PASSWORD  # the fix the message names
        assert sync(config_file, "--send").exit_code == 1  # the hand area's bad rows need a person
        every_director_once(handler, area)


def test_a_refused_connection_and_an_unknown_host_say_so(area, config_file, monkeypatch):
    smtp_env(free_port())
    refused = sync(config_file, "--send")
    assert refused.exit_code == 5
    assert "เครื่อง 127.0.0.1 ปฏิเสธการเชื่อมต่อที่พอร์ต" in refused.stderr and "DEVPLAN_SMTP_PORT" in refused.stderr

    def no_such_host(host, *args, **kwargs):  # the resolver's answer for a name that does not exist
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    os.environ["DEVPLAN_SMTP_HOST"] = "mail.no-such-office.invalid"
    unknown = sync(config_file, "--send")
    assert unknown.exit_code == 5
    assert "ไม่รู้จักชื่อเครื่อง 'mail.no-such-office.invalid' (ค้นชื่อใน DNS ไม่พบ" in unknown.stderr
    assert sent_rows(area) == []


def test_debug_adds_a_traceback_and_keeps_exit_5(area, config_file):
    smtp_env(free_port())
    result = CliRunner().invoke(cli, ["--debug", "sync", "--config", str(config_file), "--send"])
    assert result.exit_code == 5
    assert "Traceback (most recent call last)" in result.stderr and "ConnectionRefusedError" in result.stderr
    assert "ปฏิเสธการเชื่อมต่อ" in result.stderr


# --- a certificate nobody vouches for ----------------------------------------------------------


def self_signed(tmp_path):
    """A self-signed certificate for 127.0.0.1 (as an office's own mail server might have) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.area.test")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "mail-ca.pem", tmp_path / "mail-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


def test_an_untrusted_certificate_says_how_to_trust_it_and_that_way_works(tmp_path, area, config_file):
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    handler = CountingServer()
    with serving(handler, tls_context=context, require_starttls=True, authenticator=_authenticate):
        os.environ.update(DEVPLAN_SMTP_STARTTLS="1", DEVPLAN_SMTP_USER="hrd", DEVPLAN_SMTP_PASSWORD=PASSWORD)
        result = sync(config_file, "--send")
        assert result.exit_code == 5, result.output
        assert "ใบรับรอง (certificate) ของเซิร์ฟเวอร์ 127.0.0.1 ไม่น่าเชื่อถือ (self-signed certificate)" in result.stderr
        assert "DEVPLAN_SMTP_CA_FILE" in result.stderr
        assert handler.messages == [] and sent_rows(area) == []

        os.environ["DEVPLAN_SMTP_CA_FILE"] = str(cert_file)  # the fix the message gives
        trusted = sync(config_file, "--send")
        assert trusted.exit_code == 1, trusted.output
        every_director_once(handler, area)


def test_a_ca_file_that_is_not_there_names_the_variable(area, config_file, tmp_path):
    smtp_env(free_port(), DEVPLAN_SMTP_CA_FILE=str(tmp_path / "none.pem"))
    result = sync(config_file, "--send")
    assert result.exit_code == 2
    assert f"ไม่พบไฟล์ใบรับรอง {tmp_path / 'none.pem'} (DEVPLAN_SMTP_CA_FILE)" in result.stderr


# --- a connection cut while a message is on its way ----------------------------------------------


class DropsTheLine(CountingServer):
    """Takes the message for ``drop`` and hangs up before answering: did it arrive? devplan cannot know."""

    def __init__(self, drop: str) -> None:
        super().__init__()
        self.drop = drop

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.drop in envelope.rcpt_tos:
            self.drop = ""
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
            server.transport.close()
            return "250 OK"
        return await super().handle_DATA(server, session, envelope)


def advised(text: str) -> dict[str, list[list[str]]]:
    """The commands the advice on a message in doubt names in ``text``, split as a shell would:
    the one that records it arrived, and the one that sends it again."""
    confirm = re.findall(r"ด้วยคำสั่ง (devplan confirm-sent .*?) \(ไม่ส่งอีเมลใด ๆ\)", text)
    resend = re.findall(r"ด้วยคำสั่ง (devplan sync .*)$", text, re.M)
    return {"confirm": [shlex.split(c) for c in confirm], "resend": [shlex.split(c) for c in resend]}


def test_a_dropped_connection_advises_a_resend_of_that_unit_only(area, config_file):
    handler = DropsTheLine("b@school.test")
    with serving(handler):
        first = sync(config_file, "--send")
        assert first.exit_code == 5, first.output
        assert "เซิร์ฟเวอร์ปิดการเชื่อมต่อ ระหว่างส่งอีเมล" in first.stderr
        b = hand_area.SCHOOL_B
        assert f"ฉบับถึง {b} (b@school.test) ถูกตัดระหว่างส่ง อาจถึงผู้รับแล้วหรือไม่ก็ได้" in first.stderr
        assert f"--send --resend --unit {b}" in first.stderr
        assert [unit for unit, *_ in sent_rows(area)] == [hand_area.SCHOOL_A]

        second = sync(config_file, "--send")  # the plain rerun: the rest, and not b again
        assert second.exit_code == 1, second.output
        assert sorted(handler.recipients()) == sorted(DIRECTORS.values())  # b's one copy is the first run's
        assert "ส่งแล้ว 1 ฉบับ, ไม่ส่งซ้ำ 1 ฉบับ" in second.stdout
        advice = advised(second.stdout)["resend"]
        assert len(advice) == 1, second.stdout
        for text in (first.output, second.output):  # no advice anywhere resends to everyone
            assert all(f"--unit {b}" in line for line in text.splitlines() if "--resend" in line), text

        # The person checked: b never got it. The printed command, as printed, sends b alone.
        command = advice[0]
        assert command[:2] == ["devplan", "sync"]
        third = CliRunner().invoke(cli, command[1:])
        assert third.exit_code == 1, third.output
        assert handler.recipients()[3:] == ["b@school.test"]
        assert "ส่งแล้ว 1 ฉบับ, ไม่ได้อยู่ใน --unit 2 ฉบับ (ไม่ส่งรอบนี้)" in third.stdout
        assert sorted((unit, to) for unit, to, *_ in sent_rows(area)) == sorted(DIRECTORS.items())

        fourth = sync(config_file, "--send")
        assert "ส่งแล้ว 0 ฉบับ, ไม่ส่งซ้ำ 3 ฉบับ" in fourth.stdout and len(handler.messages) == 4


def in_doubt_rows(settings) -> list[list]:
    """The dashboard's rows naming a message in doubt (its first tab, below the last mailing)."""
    tab = next(iter(DASHBOARD_TABS))
    rows = LocalWorkbook(settings.storage.path).read(settings.output.dashboard, [tab])[tab]
    return [row for row in rows if row and row[0] == "อีเมลที่ไม่แน่ใจว่าถึงผู้รับหรือไม่"]


def send_log(settings) -> tuple[list[tuple], list[tuple]]:
    """The state file's send log with its confirmations, and the sends in doubt, read with sqlite3."""
    with sqlite3.connect(settings.storage.state) as db:
        log = db.execute("SELECT unit, recipient, content_hash, sent_at, answer, test, confirmed_at FROM sent "
                         "ORDER BY id").fetchall()
        return log, db.execute("SELECT unit, recipient, content_hash, started_at FROM sending").fetchall()


def confirm(config_file, *flags: str):
    return CliRunner().invoke(cli, ["confirm-sent", "--config", str(config_file), *flags])


def test_a_message_in_doubt_the_school_received_is_confirmed_and_never_sent_again(area, config_file):
    office = hand_area.OFFICE
    handler = DropsTheLine("office@area.test")  # the run's last message
    with serving(handler):
        first = sync(config_file, "--send")
        assert first.exit_code == 5, first.output
        advice = advised(first.stderr)  # both ways out, for that unit alone
        assert [c[:2] + c[-2:] for c in advice["confirm"]] == [["devplan", "confirm-sent", "--unit", office]]
        assert [c[:2] + c[-4:] for c in advice["resend"]] == [["devplan", "sync", "--send", "--resend", "--unit", office]]
        log, (pending,) = send_log(area)
        assert pending[:2] == (office, "office@area.test") and len(log) == 2

        second = sync(config_file, "--send")  # the next night: still in doubt, sent to nobody, the same advice
        assert second.exit_code == 1, second.output
        assert len(handler.messages) == 3  # a, b and the office's one copy
        started = dt.datetime.fromisoformat(pending[3])  # shown to the minute, as every other time devplan shows
        assert (f"ไม่ได้ส่งถึง {office}: ไม่แน่ใจว่าอีเมลถึง office@area.test ส่งสำเร็จหรือไม่: "
                f"การส่งเมื่อ {started:%Y-%m-%d %H:%M} ถูกตัดกลางคัน") in second.stdout
        assert "หน่วยงานที่ตกหล่น (ไม่ได้รับอีเมลสรุปผล) 1 แห่ง" in second.stdout
        assert advised(second.stdout) == advice
        (row,) = in_doubt_rows(area)  # the dashboard says the same
        assert row[1] == office and advised(row[2]) == advice

        # The school says it arrived: the printed command, as printed.
        done = CliRunner().invoke(cli, advice["confirm"][0][1:])
        assert done.exit_code == 0, done.output
        assert f"บันทึกแล้ว: อีเมลสรุปผลถึง {office} (office@area.test) ที่ส่งเมื่อ " in done.stdout
        assert "ไม่ได้ส่งอีเมลใด ๆ" in done.stdout
        assert len(handler.messages) == 3
        log, doubts = send_log(area)
        assert doubts == []
        # in the send log as a confirmation: the message in doubt, when it went out, no server answer
        *_, (unit, recipient, content_hash, sent_at, answer, test, confirmed_at) = log
        assert (unit, recipient, content_hash, sent_at, answer, test) == (*pending, "", 0)
        assert dt.datetime.fromisoformat(confirmed_at) >= dt.datetime.fromisoformat(sent_at)

        again = confirm(config_file, "--unit", office)  # twice: nothing is in doubt any more
        assert again.exit_code == 2, again.output
        assert f"หน่วยงาน {office} ไม่มีอีเมลที่ไม่แน่ใจว่าถึงผู้รับหรือไม่" in again.stderr
        assert "บันทึกไว้แล้วว่าถึงผู้รับเมื่อ" in again.stderr

        # the run history keeps both: who was recorded as mailed, and the refusal after it (newest first)
        status = CliRunner().invoke(cli, ["status", "--config", str(config_file), "--last", "2"])
        assert status.exit_code == 0, status.output
        refused, recorded = [block for block in status.stdout.split("ครั้งที่ ")[1:]]
        assert "confirm-sent (บันทึกว่าอีเมลที่ไม่แน่ใจถึงผู้รับแล้ว)" in recorded and "รหัสออก 0 (เรียบร้อย)" in recorded
        sent = dt.datetime.fromisoformat(pending[3])
        assert (f"อีเมลสรุปผลถึง {office} (office@area.test) ที่ส่งเมื่อ {sent:%Y-%m-%d %H:%M} ถึงผู้รับแล้ว "
                "ตามที่สำนักงานยืนยัน (ไม่ได้ส่งอีเมลใด ๆ)") in recorded
        assert "confirm-sent" in refused and "รหัสออก 2 (ไฟล์ตั้งค่า)" in refused
        assert f"ข้อผิดพลาด: หน่วยงาน {office} ไม่มีอีเมลที่ไม่แน่ใจ" in refused

        third = sync(config_file, "--send")  # the night after: run in full (the send log changed), nobody mailed
        assert "ไม่มีสิ่งใดเปลี่ยนตั้งแต่ครั้งก่อน" not in third.stderr
        assert len(handler.messages) == 3
        assert "ส่งแล้ว 0 ฉบับ, ไม่ส่งซ้ำ 3 ฉบับ" in third.stdout
        assert "ไม่แน่ใจ" not in third.stdout and "ไม่ได้ส่งถึง" not in third.stdout
        # what is left is the hand area's own rows to fix (exit 1), no unit and no other problem
        assert "หน่วยงานที่ตกหล่น (ไม่ได้รับอีเมลสรุปผล) 0 แห่ง" in third.stdout and "ปัญหา" not in third.stdout
        assert third.exit_code == 1, third.output
        assert in_doubt_rows(area) == []
        assert send_log(area)[0] == log

        fourth = sync(config_file, "--send")  # and then an idle night (pipeline.idle) that says the same
        assert "ไม่มีสิ่งใดเปลี่ยนตั้งแต่ครั้งก่อน" in fourth.stderr
        assert (fourth.exit_code, len(handler.messages)) == (third.exit_code, 3)
        assert "ส่งแล้ว 0 ฉบับ, ไม่ส่งซ้ำ 3 ฉบับ" in fourth.stdout and "ไม่แน่ใจ" not in fourth.stdout


def test_confirm_sent_refuses_a_unit_with_nothing_in_doubt(area, config_file, inbox):
    handler, port = inbox
    missing = CliRunner().invoke(cli, ["confirm-sent", "--config", str(config_file)])
    assert missing.exit_code == 2 and "Missing option '--unit'" in missing.output
    before_any = confirm(config_file, "--unit", hand_area.SCHOOL_A)
    assert before_any.exit_code == 2, before_any.output
    assert f"ไม่พบไฟล์สถานะ {area.storage.state}" in before_any.stderr
    assert not area.storage.state.exists()  # not made by asking

    smtp_env(port)
    assert sync(config_file, "--send").exit_code == 1
    log = send_log(area)
    sent_a = next(row for row in log[0] if row[0] == hand_area.SCHOOL_A)
    refused = confirm(config_file, "--unit", hand_area.SCHOOL_A)
    assert refused.exit_code == 2, refused.output
    assert (f"ข้อผิดพลาด: หน่วยงาน {hand_area.SCHOOL_A} ไม่มีอีเมลที่ไม่แน่ใจว่าถึงผู้รับหรือไม่ จึงไม่มีอะไรให้ยืนยัน "
            f"(ฉบับล่าสุดถึง a@school.test เซิร์ฟเวอร์อีเมลรับไปแล้วเมื่อ "
            f"{dt.datetime.fromisoformat(sent_a[3]):%Y-%m-%d %H:%M}) ไม่ได้บันทึกสิ่งใด") in refused.stderr
    assert "วิธีแก้: confirm-sent ใช้เฉพาะกับหน่วยงานที่ devplan แจ้งว่าไม่แน่ใจ" in refused.stderr
    unknown = confirm(config_file, "--unit", "1067009999")
    assert unknown.exit_code == 2
    # no send log row names it, so it may be anything typed: masked as any long number
    assert "หน่วยงาน xxxxxxx999 ไม่มีอีเมลที่ไม่แน่ใจ" in unknown.stderr and "ไม่มีบันทึกการส่งอีเมลถึงหน่วยงานนี้เลย" in unknown.stderr
    assert send_log(area) == log and len(handler.messages) == 3  # nothing recorded, nothing sent


def test_unit_needs_send_and_a_code_the_roster_has(area, config_file, inbox):
    assert "--unit ใช้ได้เฉพาะคู่กับ --send" in sync(config_file, "--unit", hand_area.SCHOOL_A).output
    smtp_env(inbox[1])
    result = sync(config_file, "--send", "--unit", "1067009999")
    assert result.exit_code == 2
    # not a roster code, so masked as any long number would be: its last three digits say which
    assert "ไม่มีหน่วยงานรหัส xxxxxxx999 ในทะเบียนหน่วยงาน (--unit)" in result.stderr
    assert inbox[0].messages == [] and not area.output.outbox.exists()  # stopped before anything was written


# --- one school, one recipient -------------------------------------------------------------------


@pytest.mark.parametrize("cell, shown", [
    ('"ผอ. บ้านบี" <b@school.test>, list@elsewhere.test', "b@school.test, list@elsewhere.test"),
    ("b@school.test; list@elsewhere.test", "b@school.test, list@elsewhere.test"),
    ("b@school.test\nlist@elsewhere.test", "b@school.test, list@elsewhere.test"),
    ("b@school.test list@elsewhere.test", "b@school.test, list@elsewhere.test"),
])
def test_a_director_cell_holding_a_list_is_that_schools_problem(area, config_file, inbox, cell, shown):
    book, units = LocalWorkbook(area.storage.path), area.sources.units
    tabs = book.read(units.spreadsheet, [units.tab, area.sources.staff.tab])
    column = tabs[units.tab][0].index(units.columns.director_email)
    tabs[units.tab][2][column] = cell  # school B's row
    book.write(units.spreadsheet, tabs)

    handler, port = inbox
    smtp_env(port)
    result = sync(config_file, "--send")
    assert result.exit_code == 1, result.output
    assert sorted(handler.recipients()) == ["a@school.test", "office@area.test"]  # nobody on the list
    assert [to for _, to, *_ in sent_rows(area)] == handler.recipients()  # the log records what was sent
    assert f"ไม่ได้ส่งถึง {hand_area.SCHOOL_B}: ช่องอีเมลผู้อำนวยการในทะเบียนมีหลายที่อยู่ ({shown})" in result.stdout
    assert "แก้ช่องนี้ในทะเบียนหน่วยงานให้เหลือที่อยู่ของผู้อำนวยการที่อยู่เดียว" in result.stdout
    assert not (area.output.outbox / f"{hand_area.SCHOOL_B}.eml").exists()

    tabs[units.tab][2][column] = '"ผอ. บ้านบี" <b@school.test>'  # the fix: one address, a name is fine
    book.write(units.spreadsheet, tabs)
    again = sync(config_file, "--send")
    assert again.exit_code == 1, again.output
    every_director_once(handler, area)


@pytest.mark.parametrize("cell, address", [
    ("b@school.test", "b@school.test"),
    ("  b@school.test ", "b@school.test"),
    ("ผอ.บุญมี <b@school.test>", '"ผอ.บุญมี" <b@school.test>'),  # a dot in a name is quoted (RFC 5322)
    ('"บุญมี, ผอ." <b@school.test>', '"บุญมี, ผอ." <b@school.test>'),
    ("mailto:b@school.test", "b@school.test"),
    ("<b@school.test>", "b@school.test"),
])
def test_one_address_however_it_is_written(cell, address):
    assert director_address(cell) == (address, "")


@pytest.mark.parametrize("cell", ["", "ยังไม่มี", "b@", "@school.test", "a@@school.test"])
def test_no_usable_address(cell):
    assert director_address(cell)[0] == ""
    assert "ไม่มีอีเมลผู้อำนวยการที่ใช้ได้" in director_address(cell)[1] or "หลายที่อยู่" in director_address(cell)[1]


# --- a school whose tab could not be written -----------------------------------------------------


def test_a_read_only_school_file_is_neither_written_nor_mailed_and_every_output_says_so(area, config_file, inbox):
    key = area.sources.idplan.key_for(hand_area.SCHOOL_A)
    path = area.storage.path / f"{key}.xlsx"
    before = path.read_bytes()
    path.chmod(0o444)  # a person made it read-only: devplan leaves it alone, even as root
    handler, port = inbox
    smtp_env(port)
    result = sync(config_file, "--send")
    assert result.exit_code == 1, result.output
    a = hand_area.SCHOOL_A
    assert f"หน่วยงาน {a} ตกหล่น (ไม่ได้เขียนแท็บสรุปผลและไม่ได้ส่งอีเมล): ไฟล์ {path} ถูกตั้งเป็นอ่านอย่างเดียว" in result.stdout
    assert "หน่วยงานที่ตกหล่น (ไม่ได้รับอีเมลสรุปผล) 1 แห่ง" in result.stdout
    assert sorted(handler.recipients()) == ["b@school.test", "office@area.test"]  # and so it is: not mailed
    assert a not in [unit for unit, *_ in sent_rows(area)]
    assert not (area.output.outbox / f"{a}.eml").exists() and "ส่งแล้ว 2 ฉบับ" in result.stdout
    assert path.read_bytes() == before
    status = CliRunner().invoke(cli, ["status", "--config", str(config_file)])
    assert f"- {a}: ไฟล์ {path} ถูกตั้งเป็นอ่านอย่างเดียว" in status.stdout

    path.chmod(0o644)
    again = sync(config_file, "--send")
    assert again.exit_code == 1, again.output
    every_director_once(handler, area)
    assert "ส่งแล้ว 1 ฉบับ, ไม่ส่งซ้ำ 2 ฉบับ" in again.stdout


class RefusesOneMessage(CountingServer):
    """Answers one director's message with a permanent refusal of that message (552: too big, say)."""

    def __init__(self, refuse: str) -> None:
        super().__init__()
        self.refuse = refuse

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse in envelope.rcpt_tos:
            return "552 5.3.4 Message size exceeds fixed limit"
        return await super().handle_DATA(server, session, envelope)


def test_a_message_the_server_refuses_for_good_is_that_units_problem(area, config_file):
    handler = RefusesOneMessage("b@school.test")
    with serving(handler):
        result = sync(config_file, "--send")
        assert result.exit_code == 1, result.output  # the others went: one school's mail is its own problem
        assert sorted(handler.recipients()) == ["a@school.test", "office@area.test"]
        assert (f"ไม่ได้ส่งถึง {hand_area.SCHOOL_B}: เซิร์ฟเวอร์อีเมลไม่รับฉบับถึง b@school.test "
                "(552 5.3.4 Message size exceeds fixed limit)") in result.stdout
        assert sorted(unit for unit, *_ in sent_rows(area)) == [hand_area.SCHOOL_A, hand_area.OFFICE]

        handler.refuse = ""
        again = sync(config_file, "--send")
        assert again.exit_code == 1 and "ส่งแล้ว 1 ฉบับ, ไม่ส่งซ้ำ 2 ฉบับ" in again.stdout
        every_director_once(handler, area)
