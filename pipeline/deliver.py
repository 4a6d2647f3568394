"""Deliver: one e-mail per unit to its director, plain text and HTML.

Every message is always written to the outbox folder as ``<unit code>.eml``
(open it in Thunderbird or Outlook to check). Mail is sent over SMTP only when
asked (``--send``) and an SMTP host is configured; otherwise the outbox is the
dry run.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Callable, Mapping

from jinja2 import Environment

from pipeline.errors import ConfigError, DeliveryError
from pipeline.render import render_text

log = logging.getLogger(__name__)

SUBJECT, TEXT, HTML = "email_subject.txt", "school_email.txt", "school_email.html"


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send; read from the environment so secrets stay out of files."""

    host: str
    port: int = 587
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "SmtpSettings | None":
        env = os.environ if environ is None else environ
        host = env.get("DEVPLAN_SMTP_HOST", "").strip()
        if not host:
            return None
        password = env.get("DEVPLAN_SMTP_PASSWORD", "")
        password_file = env.get("DEVPLAN_SMTP_PASSWORD_FILE", "")
        if password_file:
            try:
                password = Path(password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"อ่านไฟล์รหัสผ่าน SMTP {password_file} (DEVPLAN_SMTP_PASSWORD_FILE) ไม่ได้",
                    "ตรวจว่าไฟล์มีอยู่และผู้ใช้ที่รันโปรแกรมอ่านได้",
                ) from exc
        port_text = env.get("DEVPLAN_SMTP_PORT", "587").strip()
        if not port_text.isdigit():
            raise ConfigError(
                f"DEVPLAN_SMTP_PORT ต้องเป็นตัวเลข (ได้ '{port_text}')", "ตั้งเป็น 587 หรือพอร์ตที่ผู้ดูแลอีเมลกำหนด"
            )
        starttls = env.get("DEVPLAN_SMTP_STARTTLS", "1").strip().lower() not in ("0", "no", "false", "")
        return cls(host, int(port_text), env.get("DEVPLAN_SMTP_USER", ""), password, starttls)


@dataclass
class Delivery:
    outbox: Path
    written: list[Path] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    #: unit code -> why no mail went to it
    skipped: dict[str, str] = field(default_factory=dict)


def build_message(env: Environment, summary: dict[str, Any], sender: str) -> EmailMessage:
    """The e-mail for one unit, addressed to its director."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = render_text(env, SUBJECT, summary).strip()
    message["From"] = sender
    message["To"] = summary["unit"]["director_email"]
    message["Date"] = formatdate(localtime=True)
    domain = parseaddr(sender)[1].partition("@")[2] or "devplan.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(render_text(env, TEXT, summary))
    message.add_alternative(render_text(env, HTML, summary), subtype="html")
    return message


def deliver(
    env: Environment,
    unit_summaries: dict[str, dict[str, Any]],
    sender: str,
    outbox: Path,
    smtp: SmtpSettings | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Delivery:
    """Write every unit's e-mail to the outbox, and send it when ``smtp`` is given."""
    outbox.mkdir(parents=True, exist_ok=True)
    result = Delivery(outbox)
    messages: dict[str, EmailMessage] = {}
    for code, summary in unit_summaries.items():
        address = summary["unit"]["director_email"]
        if "@" not in parseaddr(address)[1]:
            result.skipped[code] = f"ไม่มีอีเมลผู้อำนวยการที่ใช้ได้ ('{address}')"
            continue
        message = build_message(env, summary, sender)
        path = outbox / f"{code}.eml"
        path.write_bytes(message.as_bytes())
        result.written.append(path)
        messages[code] = message
    if smtp is not None:
        _send(messages, smtp, result, progress)
    return result


def _send(
    messages: dict[str, EmailMessage], smtp: SmtpSettings, result: Delivery,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=60) as server:
            if smtp.starttls:
                server.starttls(context=ssl.create_default_context())
            if smtp.user:
                try:
                    server.login(smtp.user, smtp.password)
                except UnicodeEncodeError:
                    raise ConfigError(
                        "ชื่อผู้ใช้หรือรหัสผ่าน SMTP มีอักขระที่ไม่ใช่ภาษาอังกฤษ ซึ่งส่งผ่าน SMTP ไม่ได้",
                        "ตั้งรหัสผ่านอีเมลให้ใช้เฉพาะตัวอักษรภาษาอังกฤษ ตัวเลข และเครื่องหมาย",
                    ) from None
            for number, (code, message) in enumerate(messages.items(), start=1):
                try:
                    server.send_message(message)
                    result.sent.append(code)
                except smtplib.SMTPRecipientsRefused as exc:
                    result.skipped[code] = f"เซิร์ฟเวอร์อีเมลปฏิเสธผู้รับ {message['To']} ({exc.recipients})"
                if progress:
                    progress("deliver", number, len(messages))
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"ส่งอีเมลผ่าน {smtp.host}:{smtp.port} ไม่สำเร็จ หลังส่งไปแล้ว {len(result.sent)} ฉบับ "
            f"({exc.__class__.__name__})",
            "ตรวจ DEVPLAN_SMTP_HOST, DEVPLAN_SMTP_PORT, ชื่อผู้ใช้และรหัสผ่าน แล้วสั่งรันใหม่; "
            f"อีเมลทุกฉบับยังอยู่ในโฟลเดอร์ {result.outbox}",
        ) from exc
