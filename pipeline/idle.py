"""An idle night: nothing changed since the last sync, so nothing is read, computed, written or sent.

``run_night`` is what ``devplan sync`` runs. Under the state file's lock it first asks
``quiet_night``, which decides from the state file and the files' fingerprints alone (before
pandas, the templates or the storage backend are imported) whether a full run could change
anything. If it could not, the night's report is the last sync's findings and what this night did:
nothing written, and the mail the send log says is due (``pipeline.deliver``'s own rule). Else the
full run goes ahead (``pipeline.sync.run_sync``), and at its end ``remember`` keeps in the state file
what the next night compares.

"Nothing changed" means all of this (else the night runs in full):

- the same devplan (its version, the content of its code and templates, the libraries it runs on:
  ``fingerprints.program_parts``), the same settings (the whole config as loaded, the indicators
  file) and the same command (``--send``, ``--unit``, ``--new-state``; ``--full``, ``--resend`` and
  ``--to`` always run in full), on a local folder
  (a Google night already costs one request: the Drive listing that tells what changed);
- every file the last sync read or wrote (the rosters, the survey, each unit's ID Plan, the
  dashboard) and every e-mail it left in the outbox: the same size and modification time, or else
  the same content (a file saved without a change is still the same file);
- the date-dependent inputs of the outputs: the fiscal-year phase of the run's date
  (``thai.fiscal_phase``: who is behind their plan is judged differently before 1 April, from it,
  and after the year), and which e-mails are due (``mail.cadence``'s window may have opened);
- the last sync finished with every unit written and the dashboard written, and every file it read or
  wrote is still as it read it or as its own write left it (``ReadLog.watch``): a sync that failed, left a
  unit out, or during which someone saved a file it had read keeps no record, so the night after it runs
  in full;
- no send in doubt in the send log, the dashboard's last mailing already read, and nothing due when
  the night sends (``--send``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pipeline.config import Settings
from pipeline.fingerprints import digest, file_content, file_stat, program_parts
from pipeline.deliver import Delivery, MailCommands, Postbox, SendPolicy, SmtpSettings, check_send_log, mail_due
from pipeline.state import State
from pipeline.thai import fiscal_phase

if TYPE_CHECKING:
    from pipeline.present import Attention
    from pipeline.sync import SyncResult
    from pipeline.workbook.reads import ReadLog

#: the state file's meta key of what the last sync leaves for the next night to compare
NIGHT = "idle_night"


@dataclass
class QuietNight:
    """A night that changed nothing: its report, exit code, and what the run history keeps of it."""

    report: str
    exit_code: int
    #: the roster's unit codes (codes, not IDs: left as they are when the report is masked)
    codes: list[str]
    #: the run history's details (``pipeline.history.describe``)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Night:
    """What ``run_night`` did: a full run (``result``) or an idle night (``quiet``)."""

    result: SyncResult | None = None
    quiet: QuietNight | None = None


def run_night(
    settings: Settings, *, say: Callable[[str], None], wait: bool = False, full: bool = False,
    smtp: SmtpSettings | None = None, send_policy: SendPolicy = SendPolicy(), reads: ReadLog | None = None,
    today: date | None = None,
) -> Night:
    """``devplan sync``: an idle night when nothing changed (``quiet_night``), else the full run, remembered."""
    from pipeline.lock import RunLock

    assert settings.storage.state is not None  # load_settings puts it beside the config file
    with RunLock(settings.storage.state, wait=wait, on_wait=say):
        day = today or date.today()
        if not full:
            with State(settings.storage.state) as state:
                quiet = quiet_night(settings, state, send_policy, smtp, day)
            if quiet is not None:
                say(f"ไม่มีสิ่งใดเปลี่ยนตั้งแต่ครั้งก่อน: ปีงบประมาณ {settings.area.fiscal_year} จาก "
                    f"{settings.storage.location} (ไม่ต้องอ่าน คำนวณ หรือเขียนใหม่)")
                return Night(quiet=quiet)
        from pipeline.workbook.read_cache import read_early, stop_early
        from pipeline.workbook.reads import ReadLog

        reads = reads if reads is not None else ReadLog()
        if settings.storage.backend == "local":  # what the run saw of each file, for ``remember``
            reads.watch = lambda key: _version(settings, key)
        if not full:
            read_early(settings)  # the files are read meanwhile into the state file's cache
        try:
            from pipeline.present import findings, needs_a_person
            from pipeline.sync import run_shown

            with State(settings.storage.state) as state:
                forget(state)  # a run that fails from here on leaves no record: the next night runs in full
            result = run_shown(settings, say=say, smtp=smtp, today=day, full=full, send_policy=send_policy,
                               reads=reads)
        finally:
            stop_early()  # a run that stopped before reading leaves no reader behind
        with State(settings.storage.state) as state:
            remember(state, settings, result, findings(result), needs_a_person(result), send_policy, smtp, day)
        return Night(result=result)


# --- what a night compares ----------------------------------------------------------------


def inputs(settings: Settings, policy: SendPolicy, smtp: SmtpSettings | None) -> str:
    """A hash of everything but the files and the date a night's outputs depend on."""
    return digest({
        **program_parts(settings),
        "command": [smtp is not None, sorted(policy.units), policy.new_state, policy.cadence_days,
                    [smtp.host, smtp.port, smtp.user, smtp.starttls] if smtp else None],
    })


def watched(settings: Settings, keys: list[str], codes: list[str]) -> list[Path]:
    """The files a night's outputs depend on: every spreadsheet read or written, every e-mail in the outbox."""
    from pipeline.workbook.factory import local_files

    return [*local_files(settings.storage, keys), *(Path(settings.output.outbox) / f"{c}.eml" for c in codes)]


def forget(state: State) -> None:
    """No record: the next night runs in full."""
    state.set_meta(NIGHT, None)


def remember(
    state: State, settings: Settings, result: SyncResult, lines: list[str], attention: Attention,
    policy: SendPolicy, smtp: SmtpSettings | None, today: date,
) -> None:
    """After a full sync: what the next night compares, or nothing if this one left work undone.

    A sync that left a unit out, could not write the dashboard, sent mail to a test address, or has a send
    in doubt keeps no record (the next night runs in full), nor does one on Google Sheets.
    """
    delivery = result.delivery
    if (settings.storage.backend != "local" or result.unit_problems or result.published.dashboard is not None
            or policy.test_to or policy.resend or delivery.in_doubt):
        return
    keys = sorted({*result.reads.fresh, *result.reads.cached, *result.published.written, *result.published.unchanged})
    letters = {code: [address, delivery.hashes[code]] for code, address in delivery.recipients.items()}
    files = {str(path): [*(file_stat(path) or []), file_content(path)] for path in watched(settings, keys, list(letters))
             if path.is_file()}
    if not _as_seen(state, settings, result.reads, keys):
        return
    record = {
        "inputs": inputs(settings, policy, smtp),
        "phase": fiscal_phase(settings.area.fiscal_year, today),
        "files": files,
        "findings": lines,
        "rows": attention.rows,
        "problems": [p for p in attention.problems if not p.startswith("sync --send ")],
        "published": sorted({*result.published.written, *result.published.unchanged}),
        "letters": letters,
        "skipped": dict(delivery.skipped),
        "codes": [str(code) for code in result.data.units["code"]],
        "read": keys,
    }
    state.set_meta(NIGHT, json.dumps(record, ensure_ascii=False))


def _version(settings: Settings, key: str) -> str | None:
    """A local spreadsheet's version as ``LocalWorkbook.version`` gives it."""
    from pipeline.workbook.factory import local_files
    from pipeline.workbook.local_files import file_version

    return file_version(local_files(settings.storage, [key])[0])


def _as_seen(state: State, settings: Settings, reads: ReadLog, keys: list[str]) -> bool:
    """Whether every spreadsheet the run read or wrote is now the file the run saw:
    as it read it, or as devplan's own write left it. A save by someone else during the run (after the
    read, or between the read and devplan's write) leaves no record: the outputs came from the file
    before it, so the next night runs in full and reads it."""
    from pipeline.workbook.factory import local_files
    from pipeline.workbook.local_files import file_version

    if reads.watch is None or reads.moved:  # not watched (never on a local night), or saved meanwhile
        return False
    for key, path in zip(keys, local_files(settings.storage, keys)):
        last = state.published(key)
        seen = reads.written[key] if key in reads.written else reads.seen.get(key, last[1] if last else None)
        if seen != file_version(path):
            return False
    return True


# --- the idle night ---------------------------------------------------------------------------


def quiet_night(
    settings: Settings, state: State, policy: SendPolicy, smtp: SmtpSettings | None, today: date,
) -> QuietNight | None:
    """The night's report when nothing changed since the last sync (see the module's docstring); else None."""
    if settings.storage.backend != "local" or policy.resend or policy.test_to:
        return None
    text = state.meta(NIGHT)
    if not text:
        return None
    record = json.loads(text)
    if record["phase"] != fiscal_phase(settings.area.fiscal_year, today) or not state.dashboard_read():
        return None
    if record["inputs"] != inputs(settings, policy, smtp) or not _same_files(state, record):
        return None
    delivery = Delivery(Path(settings.output.outbox), test_to=None, sending=smtp is not None,
                        commands=MailCommands(settings.source_file, settings.area.fiscal_year))
    delivery.skipped = dict(record["skipped"])
    postbox = Postbox(Path(settings.output.outbox), smtp)
    for code, (address, fingerprint) in record["letters"].items():
        if state.unconfirmed(code) is not None:
            return None  # a send in doubt: the full path says so
        delivery.recipients[code] = address
        delivery.written.append(Path(settings.output.outbox) / f"{code}.eml")
        if policy.units and code not in policy.units:
            delivery.not_chosen.append(code)
        elif mail_due(code, address, fingerprint, state, policy, today, delivery, postbox):
            delivery.due.append(code)
    if delivery.sending and delivery.due:
        return None  # mail to send: the full path builds and sends it
    check_send_log(state, delivery, policy, settings.output.dashboard, datetime.now())
    return _report(settings, record, delivery)


def _same_files(state: State, record: dict[str, Any]) -> bool:
    """Whether every watched file is as the last sync left it: by size and time, else by content.

    A file touched but not changed is noted with its new time, so the next night needs no hash.
    """
    touched = {}
    for name, (size, mtime, content) in record["files"].items():
        now = file_stat(Path(name))
        if now is None or now[0] != size:
            return False
        if now[1] != mtime:
            if file_content(Path(name)) != content:
                return False
            touched[name] = now
    for name, (size, mtime) in touched.items():
        old = record["files"][name]
        record["files"][name] = [size, mtime, old[2]]
        _retag(state, Path(name), f"{old[1]}:{old[0]}", f"{mtime}:{size}")
    if touched:
        state.set_meta(NIGHT, json.dumps(record, ensure_ascii=False))
    return True


def _retag(state: State, path: Path, old: str, new: str) -> None:
    """A spreadsheet saved without a change keeps devplan's record of its own write (the local version)."""
    written = state.published(path.stem)
    if written is not None and written[1] == old:
        state.record_version(path.stem, new)


def _report(settings: Settings, record: dict[str, Any], delivery: Delivery) -> QuietNight:
    from pipeline.present import Attention, Outcome, outcome
    from pipeline.workbook import RequestCounts

    problems = list(record["problems"])
    if delivery.refusal:
        problems.append(f"sync --send จะยังไม่ส่งอีเมล: {delivery.refusal}")
    attention = Attention(record["rows"], dict(delivery.skipped), problems, dict(delivery.skipped))
    night = Outcome({}, len(record["published"]), RequestCounts(), delivery, {})
    report = "\n".join([*record["findings"], *outcome(settings, night, attention)])
    details = {
        "read": [], "cached": record["read"], "written": [], "unchanged": len(record["published"]),
        "mails_written": len(delivery.written), "mails_sent": 0, "quarantined": record["rows"],
        "failed": dict(delivery.skipped), "idle": True,
    }
    return QuietNight(report, attention.exit_code, record["codes"], details)
