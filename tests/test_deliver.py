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
