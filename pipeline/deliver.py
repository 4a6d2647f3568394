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
address instead, logged as a test and not as sent to the directors; ``--unit``
restricts a send to the units named.

A message the server may or may not have taken (the connection dropped while it
was on its way) is "in doubt": never sent again by itself, and named with both
ways out (``MailCommands.in_doubt``): once the school has said whether it arrived,
``devplan confirm-sent --unit CODE`` records that it did (``confirm_arrival``: in
the send log as confirmed, not as a send; nothing is sent), or
``devplan sync --send --resend --unit CODE`` sends it again to that director alone.

Each unit has one recipient: the one address its director's cell in the roster
names. A cell holding a list, or no address at all, is that unit's problem: it
is named with the reason and the fix, and nothing is sent to it. A unit whose
summary tab could not be written is not mailed either (see ``post_mail``).

Before mail goes out, the state file must account for every mailing the
dashboard records (``check_send_log``): devplan writes the time of the last
mailing into the dashboard, so a state file that was deleted, moved aside or
restored from an older backup is noticed, and nothing is sent until a person
says so (``--new-state``), since its send log no longer says who has been sent what.
"""

from __future__ import annotations

import email
import functools
import hashlib
import io
import logging
import os
import re
import shlex
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from pipeline.errors import ConfigError, DeliveryError, write_failed
from pipeline.state import SentMail, State
from pipeline.thai import THAI_MONTHS, BE_OFFSET

if TYPE_CHECKING:
    from jinja2 import Environment

    from pipeline.summaries import UnitSummary

log = logging.getLogger(__name__)

SUBJECT, TEXT, HTML = "email_subject.txt", "school_email.txt", "school_email.html"


#: seconds to wait for the mail server to answer, unless DEVPLAN_SMTP_TIMEOUT says otherwise
SMTP_TIMEOUT = 60.0


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send; read from the environment so secrets stay out of files."""

    host: str
    port: int = 587
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True
    #: seconds to wait for the server to answer before giving up (DEVPLAN_SMTP_TIMEOUT)
    timeout: float = SMTP_TIMEOUT
    #: a CA certificate file trusted besides the system's (DEVPLAN_SMTP_CA_FILE), for a server
    #: whose certificate the office issued itself
    ca_file: str = ""

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
        timeout_text = env.get("DEVPLAN_SMTP_TIMEOUT", "").strip()
        try:
            timeout = float(timeout_text) if timeout_text else SMTP_TIMEOUT
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 3600:
            raise ConfigError(
                f"DEVPLAN_SMTP_TIMEOUT ต้องเป็นจำนวนวินาทีมากกว่า 0 และไม่เกิน 3600 (ได้ '{timeout_text}')",
                f"ลบตัวแปรนี้ออก (ค่าเริ่มต้น {SMTP_TIMEOUT:g} วินาที) หรือตั้งเป็นตัวเลข เช่น 120",
            )
        ca_file = env.get("DEVPLAN_SMTP_CA_FILE", "").strip()
        if ca_file and not Path(ca_file).is_file():
            raise ConfigError(
                f"ไม่พบไฟล์ใบรับรอง {ca_file} (DEVPLAN_SMTP_CA_FILE)",
                "ตั้งเป็นไฟล์ .pem ของผู้ออกใบรับรอง (CA) ของเซิร์ฟเวอร์อีเมล หรือลบตัวแปรนี้ออก",
            )
        starttls = env.get("DEVPLAN_SMTP_STARTTLS", "1").strip().lower() not in ("0", "no", "false", "")
        return cls(host, int(port_text), env.get("DEVPLAN_SMTP_USER", ""), password, starttls, timeout, ca_file)


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
    #: send only to these units (``--unit``); empty: every unit
    units: frozenset[str] = frozenset()
    #: send although the state file does not account for a mailing the dashboard records (``--new-state``)
    new_state: bool = False


@dataclass(frozen=True)
class MailCommands:
    """The commands devplan's advice about mail names, for the area's config file and fiscal year,
    written so that a person can type (or paste) them as they are."""

    config: Path | None = None
    year: int | None = None

    def _config(self) -> str:
        return f" --config {shlex.quote(str(self.config))}" if self.config else ""

    def resend(self, codes: Iterable[str]) -> str:
        """Sends the summaries of ``codes`` again, to those directors alone."""
        year = f" --year {self.year}" if self.year else ""
        units = "".join(f" --unit {shlex.quote(code)}" for code in codes)
        return f"devplan sync{self._config()}{year} --send --resend{units}"

    def confirm(self, code: str) -> str:
        """Records that ``code``'s message in doubt arrived; sends nothing."""
        return f"devplan confirm-sent{self._config()} --unit {shlex.quote(code)}"

    def in_doubt(self, code: str) -> str:
        """What to do about ``code``'s message in doubt: ask the school, then confirm it or send it again."""
        return (
            "ตรวจกับโรงเรียน (หรือดูในกล่องอีเมลที่ส่งแล้ว (Sent) ของผู้ส่ง) ว่าได้รับฉบับนี้หรือไม่: "
            f"ถ้าได้รับแล้ว ให้บันทึกว่าถึงแล้วด้วยคำสั่ง {self.confirm(code)} (ไม่ส่งอีเมลใด ๆ); "
            f"ถ้ายังไม่ได้รับ ให้ส่งฉบับนี้อีกครั้งถึงผู้อำนวยการคนนี้คนเดียวด้วยคำสั่ง {self.resend([code])}"
        )


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
    #: units whose last message may or may not have reached the director (the send was cut off):
    #: not sent again by themselves; a person confirms it arrived or sends it again (``commands``)
    in_doubt: list[str] = field(default_factory=list)
    #: units due but not among those ``--unit`` named
    not_chosen: list[str] = field(default_factory=list)
    #: why ``sync --send`` would refuse to send (a check says so beforehand), or ""
    refusal: str = ""
    #: the commands the advice names (the run's config file and year)
    commands: MailCommands = field(default_factory=MailCommands)
    #: unit code -> the content hash of its message (the send log's, run date left out)
    hashes: dict[str, str] = field(default_factory=dict)


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
        try:
            self.outbox.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_failed(self.outbox, exc, "โฟลเดอร์ outbox") from exc

    def path(self, code: str) -> Path:
        """Where ``code``'s message is kept in the outbox."""
        return self.outbox / f"{code}.eml"

    def kept(self, code: str) -> Path | None:
        """``code``'s message, already in the outbox as this run would write it (``pipeline.unchanged``)."""
        return self.path(code)

    def keep(self, code: str, message: EmailMessage) -> Path | None:
        """Write ``code``'s message to the outbox, whole or not at all; the file written."""
        path = self.path(code)
        partial = self.outbox / f".{code}.eml.part"
        try:
            partial.write_bytes(message_bytes(message))
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise write_failed(path, exc, "ไฟล์อีเมล") from exc
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

    def kept(self, code: str) -> Path | None:
        return None

    def keep(self, code: str, message: EmailMessage) -> Path | None:
        return None

    def forget_unconfirmed(self, state: State, code: str) -> None:
        pass


@dataclass(frozen=True)
class Letter:
    """A unit's e-mail, each template rendered once: as sent, and its fingerprint (without the run's date)."""

    subject: str
    text: str
    html: str
    fingerprint: str


def letter(env: Environment, summary: UnitSummary) -> Letter:
    """Subject, text and HTML of ``summary``'s e-mail, and the hash of them on ``UNDATED`` (the send log's)."""
    from pipeline.render import render_dated  # jinja2 and pandas: not for a night that renders nothing

    parts = [render_dated(env, name, summary) for name in (SUBJECT, TEXT, HTML)]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.undated.encode("utf-8"))
        digest.update(b"\0")
    subject, text, html = (part.shown for part in parts)
    return Letter(subject, text, html, digest.hexdigest())


def director_address(cell: str) -> tuple[str, str]:
    """The one address a unit's director cell names, and "" ; or "" and why no mail can go to it.

    ``a@school.go.th``, ``ผอ.สมชาย <a@school.go.th>`` and ``mailto:a@...`` name one address. A cell
    naming two or more (``"x" <a@...>, list@...``, or separated by ``;`` or a line break) is refused:
    one school, one recipient, the one the roster names.
    """
    text = cell.strip()
    outside_quotes = re.sub(r'"[^"]*"', "", text)
    if outside_quotes.count("@") > 1:
        shown = ", ".join(re.findall(r"[^\s<>,;\"']+@[^\s<>,;\"']+", outside_quotes))
        return "", (
            f"ช่องอีเมลผู้อำนวยการในทะเบียนมีหลายที่อยู่ ({shown}): devplan ส่งสรุปผลถึงที่อยู่เดียวที่ทะเบียนระบุ "
            "จึงไม่ส่งถึงหน่วยงานนี้; วิธีแก้: แก้ช่องนี้ในทะเบียนหน่วยงานให้เหลือที่อยู่ของผู้อำนวยการที่อยู่เดียว "
            "(ถ้าต้องการให้คนอื่นได้รับด้วย ให้ตั้งการส่งต่อในระบบอีเมลของโรงเรียน)"
        )
    found = [(name, address) for name, address in getaddresses([text]) if address]
    if len(found) == 1:
        name, address = found[0]
        local, _, domain = address.partition("@")
        if local and domain and not re.search(r"[\s<>(),;:\"\[\]]", address):
            try:
                return str(Address(display_name=name, addr_spec=address)), ""
            except (ValueError, IndexError):
                pass
    return "", f"ไม่มีอีเมลผู้อำนวยการที่ใช้ได้ ('{cell}')"


def build_message(
    env: Environment, summary: UnitSummary, sender: str, to: str = "", written: Letter | None = None
) -> EmailMessage:
    """The e-mail for one unit, addressed to ``to`` (its director's one address); ``written``: its
    templates already rendered (``letter``)."""
    written = written or letter(env, summary)
    message = EmailMessage(policy=_POLICY)
    _encoded_header(message, "Subject", written.subject.strip())
    _encoded_header(message, "From", sender, address=True)
    _encoded_header(message, "To", to or summary.unit.director_email, address=True)
    # Both written as they are (the email package would parse them only to write them back the same)
    message.set_raw("Date", formatdate(localtime=True))
    domain = parseaddr(sender)[1].partition("@")[2] or "devplan.local"
    message.set_raw("Message-ID", make_msgid(domain=domain))
    message.set_content(written.text)
    message.add_alternative(written.html, subtype="html")
    return message


def _encoded_header(message: EmailMessage, name: str, value: str, address: bool = False) -> None:
    """Set a header, Thai text already encoded and folded (RFC 2047) so that writing the message does not
    refold it: the email package's refolding of a long Thai header is most of the cost of a message.
    ``address``: the value is one address with a display name (``ชื่อ <a@b>``); only the name is encoded."""
    encoded = _encoded(name, value, address)
    if encoded is None:
        message[name] = value
    else:
        message.set_raw(name, encoded)


@functools.lru_cache(maxsize=256)
def _encoded(name: str, value: str, address: bool) -> str | None:
    """``value`` encoded for header ``name`` (see ``_encoded_header``); None: for the email package to set.
    Remembered: the sender is the same in every message."""
    if value.isascii():
        return None
    if address:
        shown, where = parseaddr(value)
        if not where or not where.isascii():
            return None
        return f"{Header(shown, 'utf-8', header_name=name).encode()} <{where}>"
    return Header(value, "utf-8", header_name=name).encode()


class _RememberedHeaders(HeaderRegistry):
    """The email package's headers, each (name, value) parsed once: every message repeats the same
    Content-Type, Content-Transfer-Encoding and MIME-Version, and parsing them is most of building one.
    A header is an immutable string, so one can stand in every message."""

    def __init__(self) -> None:
        super().__init__()
        self._known: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: str) -> BaseHeader:
        key = (name, value)
        header = self._known.get(key)
        if header is None:
            if len(self._known) >= 1024:
                self._known.clear()  # the unique ones (a multipart's boundary) would pile up
            header = self._known[key] = super().__call__(name, value)
        return header


#: the SMTP policy (CRLF, 8-bit clean), its headers remembered (``_RememberedHeaders``)
_POLICY = SMTP.clone(header_factory=_RememberedHeaders())


def message_bytes(message: EmailMessage) -> bytes:
    """``message.as_bytes()``, written by ``MessageWriter``."""
    out = io.BytesIO()
    MessageWriter(out, mangle_from_=False).flatten(message)
    return out.getvalue()


class MessageWriter(BytesGenerator):
    """The generator ``as_bytes`` uses, a body written in one piece: it writes one line at a time (two
    calls a line, a fifth of the cost of writing one of devplan's messages)."""

    def _write_lines(self, lines: str) -> None:
        # the line break the policy writes, set by ``flatten`` (not in the type stubs)
        self.write(_LINE_BREAK.sub(self._NL, lines))  # type: ignore[attr-defined]


#: what the email package takes for a line break in a body (``email.generator.NLCRE``)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

#: unit code -> (the message, or None when the outbox already holds it as it would be built; its content hash)
Letters = dict[str, tuple[EmailMessage | None, str]]


def plan_mail(
    env: Environment,
    unit_summaries: Mapping[str, UnitSummary],
    sender: str,
    postbox: Postbox,
    *,
    state: State | None = None,
    policy: SendPolicy = SendPolicy(),
    today: date | None = None,
    commands: MailCommands | None = None,
    known: Mapping[str, str] | None = None,
) -> tuple[Delivery, Letters]:
    """Every unit's e-mail, built, and which of them are due (nothing is written or sent yet).

    Without ``state`` nothing is remembered: every message is due. ``recipients`` says
    to whom each message is addressed, whether or not the postbox keeps it (a check's does not).
    A ``--unit`` code the roster does not have stops here, before anything is written.
    ``commands``: how the advice names the commands (the run's config file and year).
    ``known``: unit code -> the content hash of its message, for units whose message the outbox
    already holds as it would be built (``pipeline.unchanged``): built only if it is sent now.
    """
    unknown = sorted(set(policy.units) - set(unit_summaries))
    if unknown:
        raise ConfigError(
            f"ไม่มีหน่วยงานรหัส {', '.join(unknown)} ในทะเบียนหน่วยงาน (--unit)",
            "ใส่รหัสหน่วยงานตามทะเบียน (ดูรหัสได้ในแท็บ 'รายหน่วยงาน' ของแดชบอร์ด หรือในข้อความของ devplan ที่แนะนำคำสั่งนี้)",
        )
    today = today or date.today()
    result = Delivery(postbox.outbox, test_to=policy.test_to, sending=postbox.sending,
                      commands=commands or MailCommands())
    known = known or {}
    letters: Letters = {}
    for code, summary in unit_summaries.items():
        address, problem = director_address(summary.unit.director_email)
        if problem:
            result.skipped[code] = problem
            continue
        written = None if code in known else letter(env, summary)
        fingerprint = known[code] if written is None else written.fingerprint
        result.recipients[code] = address
        result.hashes[code] = fingerprint
        if policy.units and code not in policy.units:
            result.not_chosen.append(code)
        elif policy.test_to or mail_due(code, address, fingerprint, state, policy, today, result, postbox):
            result.due.append(code)
            if postbox.sending:  # it goes out now: built with today's date
                written = written or letter(env, summary)
        message = None if written is None else build_message(env, summary, sender, address, written)
        letters[code] = (message, fingerprint)
    return result, letters


def post_mail(
    result: Delivery,
    letters: Letters,
    postbox: Postbox,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    state: State | None = None,
    policy: SendPolicy = SendPolicy(),
    left_out: Iterable[str] = (),
) -> Delivery:
    """Write every planned message to the outbox and send the due ones (if the postbox sends).

    ``left_out``: units whose summary tab could not be written: they are not mailed (their
    director would be told of a tab that is not there), and are reported as left out elsewhere.
    """
    for code in left_out:
        letters.pop(code, None)
        result.recipients.pop(code, None)
        result.due = [c for c in result.due if c != code]
    postbox.open()
    built: dict[str, tuple[EmailMessage, str]] = {}
    for code, (message, fingerprint) in letters.items():
        path = postbox.kept(code) if message is None else postbox.keep(code, message)
        if path is not None:
            result.written.append(path)
        if message is not None:
            built[code] = (message, fingerprint)
    # every message due was built (``plan_mail`` builds those it sends); with nothing to send, perhaps not
    postbox.send({code: built[code] for code in result.due if code in built}, result, progress, state, policy)
    return result


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
    """Put every unit's e-mail in ``postbox``: written to the outbox, and the due ones sent if it sends."""
    result, letters = plan_mail(env, unit_summaries, sender, postbox, state=state, policy=policy, today=today)
    return post_mail(result, letters, postbox, progress, state=state, policy=policy)


def mail_due(
    code: str, address: str, fingerprint: str, state: State | None, policy: SendPolicy, today: date,
    result: Delivery, postbox: Postbox,
) -> bool:
    """Whether ``code``'s director should be sent this message now (else noted in ``result``)."""
    pending = state.unconfirmed(code) if state is not None else None
    if pending is not None and state is not None:
        if pending[1] == fingerprint and not policy.resend:
            result.in_doubt.append(code)
            result.skipped[code] = (
                f"ไม่แน่ใจว่าอีเมลถึง {pending[0]} ส่งสำเร็จหรือไม่: การส่งเมื่อ {datetime.fromisoformat(pending[2]):%Y-%m-%d %H:%M} ถูกตัดกลางคัน "
                f"devplan จึงไม่ส่งซ้ำเอง; {result.commands.in_doubt(code)}"
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


# --- the dashboard's record of the last mailing ------------------------------------------

#: the dashboard row (first tab) that says when devplan last mailed the directors
MAILED_LABEL = "ส่งอีเมลถึงผู้อำนวยการครั้งล่าสุด"
_MAILED = re.compile(r"^(\d{1,2}) (\S+) (\d{4}) เวลา (\d{1,2}):(\d{2}) น\.$")


def format_mailed(moment: datetime) -> str:
    """``1 ตุลาคม 2562 เวลา 14:05 น.``: the last mailing as the dashboard shows it."""
    return f"{moment.day} {THAI_MONTHS[moment.month - 1]} {moment.year + BE_OFFSET} เวลา {moment:%H:%M} น."


#: the dashboard rows (first tab, below the last mailing) naming each message in doubt and what to do
IN_DOUBT_LABEL = "อีเมลที่ไม่แน่ใจว่าถึงผู้รับหรือไม่"


def mailed_row(moment: datetime | None, in_doubt: Mapping[str, str] | None = None) -> list[list[Any]]:
    """The rows devplan adds to the dashboard's first tab: a blank row, the last mailing (none before any),
    and each message in doubt (``in_doubt``: unit code -> what happened and what to do)."""
    rows: list[list[Any]] = [] if moment is None else [[MAILED_LABEL, format_mailed(moment)]]
    rows += [[IN_DOUBT_LABEL, code, why] for code, why in (in_doubt or {}).items()]
    return [[], *rows] if rows else []


def read_mailed(rows: Iterable[Iterable[Any]]) -> datetime | None:
    """The last mailing a dashboard tab records (``mailed_row``), or None."""
    for row in rows:
        cells = [c for c in row]
        if len(cells) >= 2 and cells[0] == MAILED_LABEL:
            match = _MAILED.match(str(cells[1] or "").strip())
            if match and match.group(2) in THAI_MONTHS:
                day, month, year = int(match.group(1)), THAI_MONTHS.index(match.group(2)) + 1, int(match.group(3))
                try:
                    return datetime(year - BE_OFFSET, month, day, int(match.group(4)), int(match.group(5)))
                except ValueError:
                    return None
    return None


def unaccounted_mailing(state: State) -> tuple[datetime, datetime | None] | None:
    """(the dashboard's last mailing, this state file's) when the state file's send log does not account
    for the mailing the dashboard records (compared to the minute, as the dashboard shows it)."""
    seen, last = state.dashboard_mailing(), state.last_mailing()
    if seen is None or (last is not None and last.replace(second=0, microsecond=0) >= seen.replace(second=0, microsecond=0)):
        return None
    return seen, last


def check_send_log(state: State, result: Delivery, policy: SendPolicy, dashboard: str, now: datetime) -> None:
    """Before mail goes to the directors: refuse when the state file does not account for the area's
    last mailing (``unaccounted_mailing``) unless ``--new-state`` says so; then note this mailing.

    A check (``result.sending`` False) is told in ``result.refusal`` what ``sync --send`` would refuse.
    """
    if policy.test_to or not result.due:
        return
    gap = unaccounted_mailing(state)
    if gap is not None and not policy.new_state:
        seen, last = gap
        had = ("ไม่มีบันทึกการส่งเลย (เป็นไฟล์ใหม่ หรือไฟล์เดิมถูกลบหรือย้ายไป)" if last is None else
               f"มีบันทึกถึงแค่ {format_mailed(last)} (อาจคืนมาจากสำเนาสำรองที่เก่ากว่า)")
        message = (
            f"ไม่ส่งอีเมล: แดชบอร์ด '{dashboard}' บันทึกว่า devplan ส่งอีเมลถึงผู้อำนวยการในเขตนี้ครั้งล่าสุดเมื่อ "
            f"{format_mailed(seen)} แต่ไฟล์สถานะ {state.path} {had}: ถ้าส่งตอนนี้ ผู้อำนวยการที่ได้รับสรุปผลไปแล้วจะได้รับซ้ำ"
        )
        hint = (
            "คืนไฟล์สถานะล่าสุดจากสำเนาสำรอง (ถ้ามี) แล้วสั่งรันใหม่; หรือถ้าตั้งใจใช้ไฟล์สถานะนี้ สั่งคำสั่งเดิมพร้อม "
            f"--new-state: devplan จะส่งสรุปผล {len(result.due)} ฉบับ ถึงผู้อำนวยการทุกคนที่ไฟล์สถานะนี้ไม่มีบันทึกว่า"
            "ได้รับฉบับนี้แล้ว (บางคนอาจได้รับซ้ำ; ใส่ --unit รหัสหน่วยงาน เพื่อส่งเฉพาะบางหน่วยงาน)"
        )
        if not result.sending:
            result.refusal = f"{message} (วิธีแก้: {hint})"
            return
        raise DeliveryError(message + " รอบนี้ยังไม่ได้เขียนหรือส่งสิ่งใด", hint)
    if result.sending:
        state.note_mailing(now)


def mailing_marker(state: State) -> datetime | None:
    """What the dashboard should say of the last mailing: the later of this state file's and the one
    the dashboard said before (so a run with a new state file never erases it)."""
    times = [t for t in (state.last_mailing(), state.dashboard_mailing()) if t is not None]
    return max(times) if times else None


# --- a message in doubt that the school says arrived ------------------------------------------


def confirm_arrival(
    state_path: Path, unit: str, *, wait: bool = False, say: Callable[[str], None] | None = None,
    now: datetime | None = None,
) -> SentMail:
    """``devplan confirm-sent``: the office has checked with the school that ``unit``'s message in doubt arrived.

    The send log records it as that director's last message, confirmed by a person (``State.confirm_sent``),
    so it is in doubt no more and not sent again; nothing is sent. Taken under the state file's lock (a
    sync may be sending). A unit with nothing in doubt is refused, saying what the send log knows of it.
    """
    from pipeline.lock import RunLock

    if not state_path.is_file():
        raise ConfigError(
            f"ไม่พบไฟล์สถานะ {state_path}: ไม่มีบันทึกการส่งอีเมล จึงไม่มีอีเมลที่ไม่แน่ใจให้ยืนยัน ไม่ได้บันทึกสิ่งใด",
            "ตรวจว่าใช้ไฟล์ตั้งค่า (--config) เดียวกับที่ใช้สั่ง sync --send (ไฟล์สถานะอยู่ที่ storage.state ของไฟล์นั้น)",
        )
    with RunLock(state_path, wait=wait, on_wait=say), State(state_path) as state:
        confirmed = state.confirm_sent(unit, now)
        if confirmed is not None:
            return confirmed
        last = state.last_sent(unit)
    if last is None:
        known = f"ไฟล์สถานะ {state_path} ไม่มีบันทึกการส่งอีเมลถึงหน่วยงานนี้เลย"
    elif last.confirmed_at is not None:
        known = (f"ฉบับล่าสุดถึง {last.recipient} (ส่งเมื่อ {last.sent_at:%Y-%m-%d %H:%M}) "
                 f"บันทึกไว้แล้วว่าถึงผู้รับเมื่อ {last.confirmed_at:%Y-%m-%d %H:%M}")
    else:
        known = f"ฉบับล่าสุดถึง {last.recipient} เซิร์ฟเวอร์อีเมลรับไปแล้วเมื่อ {last.sent_at:%Y-%m-%d %H:%M}"
    raise ConfigError(
        f"หน่วยงาน {unit} ไม่มีอีเมลที่ไม่แน่ใจว่าถึงผู้รับหรือไม่ จึงไม่มีอะไรให้ยืนยัน ({known}) ไม่ได้บันทึกสิ่งใด",
        "confirm-sent ใช้เฉพาะกับหน่วยงานที่ devplan แจ้งว่าไม่แน่ใจว่าอีเมลถึงผู้รับหรือไม่ "
        "(รายงานของ sync บอกรหัสหน่วยงานพร้อมคำสั่งนี้): ตรวจรหัสหน่วยงานอีกครั้ง",
        codes=[unit] if last is not None else [],
    )


class _SMTP(smtplib.SMTP):
    """smtplib's client, keeping the server's answer to each message's data and a refused login."""

    last_answer = ""
    #: the server's refusal of a login attempt (smtplib tries the next method and may hide it)
    auth_refused: smtplib.SMTPAuthenticationError | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        code, answer = super().data(msg)
        self.last_answer = f"{code} {answer.decode('utf-8', 'replace')}"
        return code, answer

    def auth(self, mechanism: str, authobject: Any, *, initial_response_ok: bool = True) -> tuple[int, bytes]:
        try:
            return super().auth(mechanism, authobject, initial_response_ok=initial_response_ok)
        except smtplib.SMTPAuthenticationError as exc:
            self.auth_refused = exc
            raise


def tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    """The system's trusted certificates, and the office's own CA if DEVPLAN_SMTP_CA_FILE names one."""
    context = ssl.create_default_context()
    if smtp.ca_file:
        try:
            context.load_verify_locations(cafile=smtp.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"ใช้ไฟล์ใบรับรอง {smtp.ca_file} (DEVPLAN_SMTP_CA_FILE) ไม่ได้ ({exc})",
                "ตั้งเป็นไฟล์ใบรับรองของผู้ออก (CA) แบบ PEM (ข้อความขึ้นต้นด้วย -----BEGIN CERTIFICATE-----)",
            ) from exc
    return context


def _send(
    messages: dict[str, tuple[EmailMessage, str]], smtp: SmtpSettings, result: Delivery,
    progress: Callable[[str, int, int], None] | None, state: State | None, policy: SendPolicy,
) -> None:
    if not messages:
        return
    marked: str | None = None
    stage = "connect"
    server: _SMTP | None = None
    try:
        with _SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as server:
            if smtp.starttls:
                stage = "starttls"
                server.starttls(context=tls_context(smtp))
            if smtp.user:
                stage = "login"
                try:
                    server.login(smtp.user, smtp.password)
                except UnicodeEncodeError:
                    raise ConfigError(
                        "ชื่อผู้ใช้หรือรหัสผ่าน SMTP มีอักขระที่ไม่ใช่ภาษาอังกฤษ ซึ่งส่งผ่าน SMTP ไม่ได้",
                        "ตั้งรหัสผ่านอีเมลให้ใช้เฉพาะตัวอักษรภาษาอังกฤษ ตัวเลข และเครื่องหมาย",
                    ) from None
            stage = "send"
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
                    marked = None
                    refused = "; ".join(
                        f"{code_} {text.decode('utf-8', 'replace')}" for code_, text in exc.recipients.values()
                    )
                    result.skipped[code] = f"เซิร์ฟเวอร์อีเมลปฏิเสธผู้รับ {message['To']} ({refused})"
                except smtplib.SMTPDataError as exc:
                    if exc.smtp_code < 500:
                        raise  # "try again later": for every message after this one too
                    if state is not None:
                        state.clear_sending(code)  # refused for good: this message, not the others
                    marked = None
                    result.skipped[code] = (f"เซิร์ฟเวอร์อีเมลไม่รับฉบับถึง {message['To']} "
                                            f"({exc.smtp_code} {_text(exc.smtp_error)})")
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
        if isinstance(exc, smtplib.SMTPResponseException) and marked is not None and state is not None:
            state.clear_sending(marked)  # the server said no: that message was not accepted
            marked = None
        if marked is not None:
            result.in_doubt.append(marked)
        raise _smtp_failure(exc, stage, smtp, server, messages, result, marked) from exc


def _smtp_failure(
    exc: BaseException, stage: str, smtp: SmtpSettings, server: _SMTP | None,
    messages: Mapping[str, tuple[EmailMessage, str]], result: Delivery, in_doubt: str | None,
) -> DeliveryError:
    """What went wrong with the mail server, in Thai: the cause, not only smtplib's class name."""
    where = f"{smtp.host}:{smtp.port}"
    timed_out = isinstance(exc, (TimeoutError, socket.timeout)) or (
        isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc))
    env_names = "DEVPLAN_SMTP_HOST, DEVPLAN_SMTP_PORT"
    if timed_out:
        doing = {"connect": "หลังเชื่อมต่อ", "starttls": "ระหว่างเริ่มการเข้ารหัส (STARTTLS)",
                 "login": "ระหว่างเข้าสู่ระบบ", "send": "ระหว่างส่งอีเมล"}[stage]
        cause = f"เซิร์ฟเวอร์ไม่ตอบภายใน {smtp.timeout:g} วินาที {doing}"
        fix = (f"ตรวจ {env_names} และว่าไฟร์วอลล์ไม่ได้กั้นพอร์ตนี้; ถ้าเซิร์ฟเวอร์ช้า ตั้ง DEVPLAN_SMTP_TIMEOUT ให้นานขึ้น")
        if smtp.port == 465:
            fix += "; พอร์ต 465 ใช้ TLS ตั้งแต่ต้น ซึ่ง devplan ไม่รองรับ: ใช้พอร์ต 587 (STARTTLS)"
    elif isinstance(exc, socket.gaierror):
        cause = f"ไม่รู้จักชื่อเครื่อง '{smtp.host}' (ค้นชื่อใน DNS ไม่พบ: {exc.strerror or exc})"
        fix = "ตรวจการสะกด DEVPLAN_SMTP_HOST และว่าเครื่องนี้ค้นชื่อเครื่องอื่น (DNS) และออกอินเทอร์เน็ตได้"
    elif isinstance(exc, ConnectionRefusedError):
        cause = f"เครื่อง {smtp.host} ปฏิเสธการเชื่อมต่อที่พอร์ต {smtp.port} (ไม่มีโปรแกรมรับอีเมลที่พอร์ตนี้)"
        fix = f"ตรวจ {env_names} (มักเป็นพอร์ต 587) และว่าเซิร์ฟเวอร์อีเมลทำงานอยู่"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        cause = (f"ใบรับรอง (certificate) ของเซิร์ฟเวอร์ {smtp.host} ไม่น่าเชื่อถือ "
                 f"({exc.verify_message or exc.reason}) devplan จึงไม่ส่งรหัสผ่านและอีเมลไปที่นั่น")
        fix = ("ถ้าเซิร์ฟเวอร์ใช้ใบรับรองที่หน่วยงานออกเอง ให้นำไฟล์ใบรับรองของผู้ออก (CA แบบ .pem) มาไว้บนเครื่องนี้แล้วตั้ง "
               "DEVPLAN_SMTP_CA_FILE=<ไฟล์นั้น> (หรือติดตั้งเข้าระบบด้วย update-ca-certificates); ถ้าชื่อเครื่องไม่ตรงกับ"
               "ใบรับรอง ให้ตั้ง DEVPLAN_SMTP_HOST เป็นชื่อที่อยู่ในใบรับรอง")
    elif isinstance(exc, ssl.SSLError):
        cause = f"เริ่มการเข้ารหัส (TLS) กับเซิร์ฟเวอร์ไม่สำเร็จ ({exc.reason or exc})"
        fix = f"ตรวจ {env_names} และ DEVPLAN_SMTP_STARTTLS ตามที่ผู้ดูแลอีเมลกำหนด (มักเป็นพอร์ต 587 กับ STARTTLS)"
    elif isinstance(exc, smtplib.SMTPNotSupportedError) and stage == "starttls":
        cause = "เซิร์ฟเวอร์ไม่รองรับการเข้ารหัส (STARTTLS)"
        fix = ("ใช้พอร์ตที่รองรับ STARTTLS (มักเป็น 587); ถ้าเป็นเซิร์ฟเวอร์ในเครือข่ายภายในที่ไม่เข้ารหัส ตั้ง "
               "DEVPLAN_SMTP_STARTTLS=0 (รหัสผ่านจะถูกส่งโดยไม่เข้ารหัส)")
    elif isinstance(exc, smtplib.SMTPNotSupportedError) and stage == "login":
        cause = "เซิร์ฟเวอร์ไม่รองรับการเข้าสู่ระบบ (AUTH)"
        fix = ("หลายเซิร์ฟเวอร์เปิดการเข้าสู่ระบบเฉพาะหลังเข้ารหัส: ตั้ง DEVPLAN_SMTP_STARTTLS=1; "
               "ถ้าเซิร์ฟเวอร์ไม่ต้องเข้าสู่ระบบ ให้ลบ DEVPLAN_SMTP_USER")
    elif stage == "login" and (isinstance(exc, smtplib.SMTPAuthenticationError) or
                               (server is not None and server.auth_refused is not None)):
        refused = exc if isinstance(exc, smtplib.SMTPAuthenticationError) else server.auth_refused  # type: ignore[union-attr]
        assert refused is not None
        cause = (f"เซิร์ฟเวอร์ไม่ยอมรับชื่อผู้ใช้หรือรหัสผ่าน ({refused.smtp_code} {_text(refused.smtp_error)})"
                 + ("" if refused is exc else " แล้วปิดการเชื่อมต่อ"))
        fix = ("ตรวจ DEVPLAN_SMTP_USER และ DEVPLAN_SMTP_PASSWORD (หรือไฟล์ DEVPLAN_SMTP_PASSWORD_FILE); "
               "บัญชี Gmail หรือ Google Workspace ต้องใช้รหัสผ่านสำหรับแอป (App Password) ไม่ใช่รหัสผ่านปกติ")
    elif isinstance(exc, smtplib.SMTPServerDisconnected) and stage == "login":
        cause = "เซิร์ฟเวอร์ปิดการเชื่อมต่อระหว่างเข้าสู่ระบบ (มักเป็นเพราะชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง)"
        fix = "ตรวจ DEVPLAN_SMTP_USER และ DEVPLAN_SMTP_PASSWORD (หรือไฟล์ DEVPLAN_SMTP_PASSWORD_FILE)"
    elif isinstance(exc, smtplib.SMTPSenderRefused) and exc.smtp_code >= 500:
        cause = f"เซิร์ฟเวอร์ไม่รับผู้ส่ง {exc.sender!r} ({exc.smtp_code} {_text(exc.smtp_error)})"
        fix = "แก้ sender ในส่วน [mail] ของไฟล์ตั้งค่าให้เป็นที่อยู่ที่บัญชี DEVPLAN_SMTP_USER ส่งในนามได้"
    elif isinstance(exc, smtplib.SMTPResponseException):
        temporary = 400 <= exc.smtp_code < 500
        cause = (f"เซิร์ฟเวอร์ไม่รับอีเมล ({exc.smtp_code} {_text(exc.smtp_error)})"
                 + (": เป็นการปฏิเสธชั่วคราว เช่น ถึงโควตาการส่งต่อวัน" if temporary else ""))
        fix = "รอให้เซิร์ฟเวอร์รับอีเมลได้อีก (เช่น วันถัดไปเมื่อโควตาการส่งเริ่มใหม่)" if temporary else (
            f"ตรวจ {env_names}, ชื่อผู้ใช้และรหัสผ่าน และถามผู้ดูแลอีเมลถึงคำตอบนี้ของเซิร์ฟเวอร์")
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        cause = "เซิร์ฟเวอร์ปิดการเชื่อมต่อ" + (" ระหว่างส่งอีเมล" if stage == "send" else "")
        fix = f"ตรวจ {env_names} หรือรอให้เซิร์ฟเวอร์กลับมาทำงาน"
    elif isinstance(exc, OSError):
        cause = f"เชื่อมต่อเครื่อง {smtp.host} ไม่ได้ ({exc.strerror or exc})"
        fix = f"ตรวจ {env_names} และว่าเครื่องนี้ต่อเครือข่ายถึงเซิร์ฟเวอร์อีเมลได้"
    else:
        cause = f"{exc.__class__.__name__}: {exc}"
        fix = f"ตรวจ {env_names}, ชื่อผู้ใช้และรหัสผ่าน"
    left = len(messages) - len(result.sent) - sum(1 for c in messages if c in result.skipped) - (1 if in_doubt else 0)
    doubt = ""
    if in_doubt is not None:
        doubt = (f" ฉบับถึง {in_doubt} ({result.recipients.get(in_doubt, '')}) ถูกตัดระหว่างส่ง อาจถึงผู้รับแล้วหรือไม่ก็ได้: "
                 "devplan จะไม่ส่งซ้ำเอง")
    hint = (f"{fix} แล้วสั่งรันใหม่: ฉบับที่ส่งแล้วบันทึกไว้ในไฟล์สถานะ จะส่งเฉพาะฉบับที่ยังไม่ได้ส่ง; "
            f"อีเมลทุกฉบับยังอยู่ในโฟลเดอร์ {result.outbox}")
    if in_doubt is not None:
        hint += f"; ฉบับถึง {in_doubt}: {result.commands.in_doubt(in_doubt)}"
    return DeliveryError(
        f"ส่งอีเมลผ่าน {where} ไม่สำเร็จ: {cause} (ส่งแล้ว {len(result.sent)} ฉบับ ยังไม่ได้ส่ง {left} ฉบับ){doubt}",
        hint, codes=messages,
    )


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
