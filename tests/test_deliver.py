"""E-mail: sent over real SMTP to an aiosmtpd server on loopback, and written to the outbox."""

from __future__ import annotations

import email
import os
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from pipeline.cli import cli
from tests.conftest import free_port

PASSWORD = "s3cret-Passw0rd-42"


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"hrd" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535



@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(),
        authenticator=_authenticate, auth_require_tls=False,
    )
    controller.start()
    yield controller, inbox
    controller.stop()


def _smtp_env(controller, password=PASSWORD):
    os.environ.update(
        DEVPLAN_SMTP_HOST="127.0.0.1", DEVPLAN_SMTP_PORT=str(controller.port),
        DEVPLAN_SMTP_USER="hrd", DEVPLAN_SMTP_PASSWORD=password, DEVPLAN_SMTP_STARTTLS="0",
    )


def test_send_delivers_one_message_per_unit_to_its_director(smtp_server, area, config_file):
    controller, inbox = smtp_server
    _smtp_env(controller)
    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file), "--send"])
    assert result.exit_code == 1, result.output  # sent; the hand area's 4 bad rows need a person
    recipients = sorted(r for rcpts, _ in inbox.messages for r in rcpts)
    assert recipients == ["a@school.test", "b@school.test", "office@area.test"]
    for rcpts, content in inbox.messages:
        message = email.message_from_bytes(content, policy=default_policy)
        assert message["To"] == rcpts[0]
        assert "ปีงบประมาณ 2562" in message["Subject"]
        assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None
    assert "ส่งแล้ว 3 ฉบับ" in result.output
    assert PASSWORD not in result.output + (result.stderr or "")


def test_without_send_nothing_is_sent_and_the_outbox_is_the_dry_run(smtp_server, area, config_file):
    controller, inbox = smtp_server
    _smtp_env(controller)
    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file)])
    assert result.exit_code == 1, result.output  # sent; the hand area's 4 bad rows need a person
    assert inbox.messages == []
    assert len(list(area.output.outbox.glob("*.eml"))) == 3
    assert "--send" in result.output


def test_wrong_password_is_a_clear_error_that_keeps_the_outbox(smtp_server, area, config_file):
    controller, inbox = smtp_server
    _smtp_env(controller, password="wrong-password-xyz")
    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file), "--send"])
    assert result.exit_code == 5
    assert "ส่งอีเมลผ่าน 127.0.0.1" in result.output and "Traceback" not in result.output
    assert "wrong-password-xyz" not in result.output
    assert len(list(area.output.outbox.glob("*.eml"))) == 3  # nothing lost
    assert inbox.messages == []


def test_unreachable_server_is_a_clear_error(area, config_file):
    os.environ.update(DEVPLAN_SMTP_HOST="127.0.0.1", DEVPLAN_SMTP_PORT=str(free_port()), DEVPLAN_SMTP_STARTTLS="0")
    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file), "--send"])
    assert result.exit_code == 5
    assert "DEVPLAN_SMTP_HOST" in result.output


def test_password_file_is_read_and_never_written(tmp_path, smtp_server, area, config_file):
    controller, inbox = smtp_server
    _smtp_env(controller, password="")
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    os.environ["DEVPLAN_SMTP_PASSWORD_FILE"] = str(secret)
    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file), "--send"])
    assert result.exit_code == 1, result.output  # sent; the hand area's 4 bad rows need a person
    assert len(inbox.messages) == 3
    assert area.storage.state.exists()  # the send log is there, and holds no secret either
    for path in [*area.output.outbox.glob("*.eml"), *area.storage.path.glob("*.xlsx"), area.storage.state]:
        assert PASSWORD.encode() not in path.read_bytes()


@pytest.mark.parametrize("subject, text, html", [
    ("สรุปผลการพัฒนา ปีงบประมาณ 2569 — " * 3, "เรียน ผู้อำนวยการ\n" + "ยาวมาก" * 40 + "\n", "<p>สวัสดี</p>\n"),
    ("Plain subject", "hello\nworld\n", "<p>hi</p>"),
    ("S " * 60, ("word " * 40 + "\n") * 3, "<p>" + "x" * 300 + "</p>"),
    ("Café", "café au lait\r\nบรรทัดสอง\r\n", ""),
])
@pytest.mark.parametrize("sender, to", [
    ("กลุ่มงานพัฒนาครู <hrd@school.go.th>", "ผอ.สมชาย ใจดี <dir@school.go.th>"),
    ("hrd@" + "a" * 75 + ".go.th", "a@b.c"),
])
def test_a_message_is_what_the_email_package_makes_of_it(monkeypatch, subject, text, html, sender, to):
    """``build_message`` takes shortcuts (headers parsed once, date and ID written raw); the bytes must be
    what the email package writes when every header is set the plain way."""
    import random
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import parseaddr

    from pipeline import deliver

    monkeypatch.setattr(deliver, "formatdate", lambda localtime=False: "Mon, 07 Dec 2026 08:38:24 +0700")
    monkeypatch.setattr(deliver, "make_msgid", lambda domain=None: f"<179663270425.17727.556778299049@{domain}>")
    built = deliver.build_message(None, None, sender, to, deliver.Letter(subject, text, html, "-"))
    plain = EmailMessage(policy=SMTP)
    for name, value in built.raw_items():  # Thai names as devplan encodes them (RFC 2047, folded once)
        if name in ("Subject", "From", "To"):
            plain.set_raw(name, value)
    plain["Date"] = "Mon, 07 Dec 2026 08:38:24 +0700"
    plain["Message-ID"] = f"<179663270425.17727.556778299049@{sender.rpartition('@')[2].rstrip('>')}>"
    plain.set_content(text)
    plain.add_alternative(html, subtype="html")
    random.seed(15)  # the multipart boundary
    built_bytes = built.as_bytes()
    random.seed(15)
    assert built_bytes == plain.as_bytes()
    again = email.message_from_bytes(built_bytes, policy=default_policy)
    assert again["Subject"] == subject.strip() and parseaddr(str(again["To"])) == parseaddr(to)


def test_a_message_written_by_devplan_is_its_as_bytes():
    """``message_bytes`` writes a body in one piece; whatever its line breaks, the bytes are ``as_bytes``'."""
    from email.message import EmailMessage
    from email.policy import SMTP

    from pipeline.deliver import message_bytes

    for body in ("a\rb\r\nc\nd", "no break at the end", "\n\nblank lines first\n\n", "", "ไทย\r\n" * 3):
        if body.isascii():  # a body as it is, its line breaks untouched
            message = EmailMessage(policy=SMTP)
            message["Subject"] = "x"
            message.set_payload(body)
            assert message_bytes(message) == message.as_bytes()
        multipart = EmailMessage(policy=SMTP)
        multipart.set_content(body + "\n")
        multipart.add_alternative("<p>" + body + "</p>", subtype="html")
        if body.isascii():
            multipart.preamble = multipart.epilogue = body
        assert message_bytes(multipart) == multipart.as_bytes()
