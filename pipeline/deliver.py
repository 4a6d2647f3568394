"""Deliver: one e-mail per unit to its director, plain text and HTML.

Every message is always written to the outbox folder as ``<unit code>.eml``
(open it in Thunderbird or Outlook to check). Mail is sent over SMTP only when
asked (``--send``) and an SMTP host is configured; otherwise the outbox is the
dry run.

Every message the server accepts is logged in the state file at once (unit,
recipient, content hash, time, the server's answer). A director is sent a
summary only if it differs from the last one they were sent (the hash leaves
out the run's date), and no more often than ``mail.cadence`` allows; so a run
the server cut short is finished by the next one, which sends only the rest.
``--resend`` sends everything again; ``--to`` sends everything to one test
address instead, logged as a test and not as sent to the directors.
"""

from __future__ import annotations

import dataclasses
import email
import hashlib
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from jinja2 import Environment

from pipeline.errors import ConfigError, DeliveryError
from pipeline.render import render_text
from pipeline.state import State

if TYPE_CHECKING:
    from pipeline.summaries import UnitSummary

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


def smtp_for_send() -> SmtpSettings:
    """The mail server ``--send`` sends through; a ConfigError saying what to set when there is none."""
    smtp = SmtpSettings.from_environ()
    if smtp is None:
        raise ConfigError(
            "สั่ง --send แต่ยังไม่ได้ตั้งค่าเซิร์ฟเวอร์อีเมล",
            "ตั้งตัวแปรสภาพแวดล้อม DEVPLAN_SMTP_HOST (และ DEVPLAN_SMTP_USER, DEVPLAN_SMTP_PASSWORD) "
            "หรือสั่งรันโดยไม่ใส่ --send เพื่อเขียนอีเมลลง outbox",
        )
    return smtp


@dataclass(frozen=True)
class SendPolicy:
    """Which of the run's messages go out."""

    #: send every message again, even an unchanged one, whatever the cadence
    resend: bool = False
    #: at most one message per this many days to a director; None: whenever changed
    cadence_days: int | None = None
    #: send every message to this address instead (a test), not to the directors
    test_to: str | None = None


@dataclass
class Delivery:
    outbox: Path
    written: list[Path] = field(default_factory=list)
    #: units whose message the server accepted in this run
    sent: list[str] = field(default_factory=list)
    #: unit code -> why no mail can go to it (a person must act)
    skipped: dict[str, str] = field(default_factory=dict)
    #: units not sent to because their director already has this very summary
    unchanged: list[str] = field(default_factory=list)
    #: unit code -> the first day mail.cadence lets it be sent again
    held: dict[str, date] = field(default_factory=dict)
    #: units that would be sent (with --send) or were to be sent in this run
    due: list[str] = field(default_factory=list)
    #: the test address everything went to (--to), if any
    test_to: str | None = None
    #: False for a dry run (no SMTP server given)
    sending: bool = False
    #: unit code -> the director's address of every message built (written or, in a dry run, not)
    recipients: dict[str, str] = field(default_factory=dict)


class Postbox:
    """Where ``deliver``'s messages go: each written to the outbox folder, and sent over SMTP when
    ``smtp`` is given (``--send``); the state file's send log kept as they go."""

    def __init__(self, outbox: Path, smtp: SmtpSettings | None = None) -> None:
        self.outbox = outbox
        self.smtp = smtp

    @property
    def sending(self) -> bool:
        return self.smtp is not None

    def open(self) -> None:
        """Before the first message: the outbox folder exists."""
        self.outbox.mkdir(parents=True, exist_ok=True)

    def keep(self, code: str, message: EmailMessage) -> Path | None:
        """Write ``code``'s message to the outbox; the file written."""
        path = self.outbox / f"{code}.eml"
        path.write_bytes(message.as_bytes())
        return path

    def forget_unconfirmed(self, state: State, code: str) -> None:
        """A send never confirmed is settled: the summary changed, or it is sent again on purpose."""
        state.clear_sending(code)

    def send(
        self, messages: dict[str, tuple[EmailMessage, str]], result: Delivery,
        progress: Callable[[str, int, int], None] | None, state: State | None, policy: SendPolicy,
    ) -> None:
        if self.smtp is not None:
            _send(messages, self.smtp, result, progress, state, policy)


class DryRun(Postbox):
    """``devplan check``'s postbox: every message is built and counted, none is written or sent,
    and the send log is only read."""

    def __init__(self, outbox: Path) -> None:
        super().__init__(outbox, None)

    def open(self) -> None:
        pass

    def keep(self, code: str, message: EmailMessage) -> Path | None:
        return None

    def forget_unconfirmed(self, state: State, code: str) -> None:
        pass


def content_hash(env: Environment, summary: UnitSummary) -> str:
    """The fingerprint of a unit's e-mail as its director reads it, leaving out the run's date."""
    undated = dataclasses.replace(summary, run=dataclasses.replace(summary.run, generated_on=date(2000, 1, 1)))
    digest = hashlib.sha256()
    for name in (SUBJECT, TEXT, HTML):
        digest.update(render_text(env, name, undated).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def build_message(env: Environment, summary: UnitSummary, sender: str) -> EmailMessage:
    """The e-mail for one unit, addressed to its director."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = render_text(env, SUBJECT, summary).strip()
    message["From"] = sender
    message["To"] = summary.unit.director_email
    message["Date"] = formatdate(localtime=True)
    domain = parseaddr(sender)[1].partition("@")[2] or "devplan.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(render_text(env, TEXT, summary))
    message.add_alternative(render_text(env, HTML, summary), subtype="html")
    return message


def deliver(
    env: Environment,
    unit_summaries: dict[str, UnitSummary],
    sender: str,
    postbox: Postbox,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    state: State | None = None,
    policy: SendPolicy = SendPolicy(),
    today: date | None = None,
) -> Delivery:
    """Put every unit's e-mail in ``postbox``: written to the outbox, and the due ones sent if it sends.

    Without ``state`` nothing is remembered: every message is due. ``recipients`` says
    to whom each message is addressed, whether or not the postbox keeps it (a check's does not).
    """
    postbox.open()
    today = today or date.today()
    result = Delivery(postbox.outbox, test_to=policy.test_to, sending=postbox.sending)
    messages: dict[str, tuple[EmailMessage, str]] = {}
    for code, summary in unit_summaries.items():
        address = summary.unit.director_email
        if "@" not in parseaddr(address)[1]:
            result.skipped[code] = f"ไม่มีอีเมลผู้อำนวยการที่ใช้ได้ ('{address}')"
            continue
        message = build_message(env, summary, sender)
        result.recipients[code] = address
        path = postbox.keep(code, message)
        if path is not None:
            result.written.append(path)
        fingerprint = content_hash(env, summary)
        if policy.test_to or _due(code, address, fingerprint, state, policy, today, result, postbox):
            messages[code] = (message, fingerprint)
            result.due.append(code)
    postbox.send(messages, result, progress, state, policy)
    return result


def _due(
    code: str, address: str, fingerprint: str, state: State | None, policy: SendPolicy, today: date,
    result: Delivery, postbox: Postbox,
) -> bool:
    """Whether ``code``'s director should be sent this message now (else noted in ``result``)."""
    pending = state.unconfirmed(code) if state is not None else None
    if pending is not None and state is not None:
        if pending[1] == fingerprint and not policy.resend:
            result.skipped[code] = (
                f"ไม่แน่ใจว่าอีเมลถึง {pending[0]} ส่งสำเร็จหรือไม่: การส่งเมื่อ {pending[2]} หยุดกลางคัน "
                "ตรวจในกล่องอีเมลที่ส่งแล้ว (Sent) ของผู้ส่ง ถ้ายังไม่ได้ส่ง ให้สั่งรันด้วย --send --resend"
            )
            return False
        postbox.forget_unconfirmed(state, code)  # resent on purpose, or another summary altogether
    last = state.last_sent(code) if state is not None else None
    if last is None or policy.resend:
        return True
    if last.content_hash == fingerprint and last.recipient.lower() == parseaddr(address)[1].lower():
        result.unchanged.append(code)
        return False
    if policy.cadence_days:
        next_day = last.sent_at.date() + timedelta(days=policy.cadence_days)
        if today < next_day:
            result.held[code] = next_day
            return False
    return True


class _SMTP(smtplib.SMTP):
    """smtplib's client, keeping the server's answer to each message's data."""

    last_answer = ""

    def data(self, msg: Any) -> tuple[int, bytes]:
        code, answer = super().data(msg)
        self.last_answer = f"{code} {answer.decode('utf-8', 'replace')}"
        return code, answer


def _send(
    messages: dict[str, tuple[EmailMessage, str]], smtp: SmtpSettings, result: Delivery,
    progress: Callable[[str, int, int], None] | None, state: State | None, policy: SendPolicy,
) -> None:
    if not messages:
        return
    marked: str | None = None
    try:
        with _SMTP(smtp.host, smtp.port, timeout=60) as server:
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
            for number, (code, (message, fingerprint)) in enumerate(messages.items(), start=1):
                if policy.test_to:
                    message = _to_test_address(message, policy.test_to)
                elif state is not None:
                    state.mark_sending(code, parseaddr(message["To"])[1], fingerprint)
                    marked = code
                try:
                    server.send_message(message)
                except smtplib.SMTPRecipientsRefused as exc:
                    if state is not None:
                        state.clear_sending(code)  # refused outright: certainly not delivered
                    refused = "; ".join(
                        f"{code_} {text.decode('utf-8', 'replace')}" for code_, text in exc.recipients.values()
                    )
                    result.skipped[code] = f"เซิร์ฟเวอร์อีเมลปฏิเสธผู้รับ {message['To']} ({refused})"
                else:
                    marked = None
                    result.sent.append(code)
                    if state is not None:
                        state.record_sent(
                            code, parseaddr(message["To"])[1], fingerprint, server.last_answer,
                            test=bool(policy.test_to),
                        )
                if progress:
                    progress("deliver", number, len(messages))
    except (OSError, smtplib.SMTPException) as exc:
        answer = ""
        if isinstance(exc, smtplib.SMTPResponseException):
            answer = f": {exc.smtp_code} {_text(exc.smtp_error)}"
            if marked is not None and state is not None:
                state.clear_sending(marked)  # the server said no: that message was not accepted
        left = len(messages) - len(result.sent) - sum(1 for c in messages if c in result.skipped)
        raise DeliveryError(
            f"ส่งอีเมลผ่าน {smtp.host}:{smtp.port} ไม่สำเร็จ ({exc.__class__.__name__}{answer}) "
            f"ส่งแล้ว {len(result.sent)} ฉบับ ยังไม่ได้ส่ง {left} ฉบับ",
            "ตรวจ DEVPLAN_SMTP_HOST, DEVPLAN_SMTP_PORT, ชื่อผู้ใช้และรหัสผ่าน หรือรอให้เซิร์ฟเวอร์รับอีเมลได้อีก "
            "แล้วสั่งรันใหม่: ฉบับที่ส่งแล้วบันทึกไว้ในไฟล์สถานะ จะส่งเฉพาะฉบับที่ยังไม่ได้ส่ง; "
            f"อีเมลทุกฉบับยังอยู่ในโฟลเดอร์ {result.outbox}",
        ) from exc


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _to_test_address(message: EmailMessage, address: str) -> EmailMessage:
    """A copy of ``message`` for the test address, its subject saying whose it was."""
    copy = email.message_from_bytes(message.as_bytes(), policy=SMTP)
    director = copy["To"]
    del copy["To"]
    copy["To"] = address
    subject = copy["Subject"]
    del copy["Subject"]
    copy["Subject"] = f"[ทดสอบ ถึง {director}] {subject}"
    return copy
