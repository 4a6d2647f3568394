"""The run history: what each ``sync``, ``check`` and ``confirm-sent`` did, kept in the state file's ``runs`` table.

A command wraps its work in ``recording(kind, settings)``, which yields the
run's ``RunLog``; the command hands ``run.reads`` to ``run_sync`` (which notes
there what it read, and from where) and puts the finished run's result in
``run.result``. When the block ends, however it ends (a normal return,
``sys.exit``, an error), one row is written with the exit code that the command
line will give: a failed run is recorded too.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterator

from pipeline.config import Settings
from pipeline.errors import EXIT_UNEXPECTED, PipelineError
from pipeline.state import RunRecord, SentMail, State
from pipeline.thai import mask_ids_in_text, normalize_national_id
from pipeline.workbook.reads import ReadLog

if TYPE_CHECKING:
    from pipeline.idle import QuietNight
    from pipeline.sync import SyncResult

log = logging.getLogger(__name__)


@dataclass
class RunLog:
    kind: str
    started: datetime
    clock: float
    #: filled by ``run_sync`` as it reads
    reads: ReadLog = field(default_factory=ReadLog)
    #: the finished run, when it finished
    result: SyncResult | None = None
    #: the exit code of a run that finished (its report says why); one that raised is recorded by what it raised
    exit_code: int = 0
    #: an idle night instead (nothing changed since the last sync: ``pipeline.idle``)
    quiet: QuietNight | None = None
    #: what ``confirm-sent`` recorded: the message in doubt that a person said arrived
    confirmed: SentMail | None = None


def exit_code_of(exc: BaseException | None) -> int:
    """The exit code the command line gives for a run that ended with ``exc`` (None: normally)."""
    if exc is None:
        return 0
    if isinstance(exc, SystemExit):
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    if isinstance(exc, PipelineError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return 130
    return EXIT_UNEXPECTED


@contextlib.contextmanager
def recording(kind: str, settings: Settings, *, only_existing: bool = False) -> Iterator[RunLog]:
    """Record one run of ``kind`` ("sync", "check", "confirm-sent") in the state file, however it ends.

    ``only_existing``: a command that refuses without a state file records nothing then (it makes none).
    """
    existed = settings.storage.state is not None and Path(settings.storage.state).exists()
    run = RunLog(kind, datetime.now(), time.monotonic())
    failure: BaseException | None = None
    try:
        yield run
    except BaseException as exc:
        failure = exc
        raise
    finally:
        if existed or not only_existing:
            _record(run, failure, settings)


def _record(run: RunLog, failure: BaseException | None, settings: Settings) -> None:
    """Write ``run``'s row (exit code, masked details); a failure to write it is only logged."""
    code = exit_code_of(failure) if failure is not None else run.exit_code
    keep = unit_codes(run) | (set(failure.codes) if isinstance(failure, PipelineError) else set())
    details = masked(describe(run, failure, settings), keep)
    record = RunRecord(run.kind, run.started, round(time.monotonic() - run.clock, 3), code, details)
    try:
        with State(settings.storage.state) as state:
            _mask_older_runs(state, keep, state.record_run(record))
    except Exception as exc:  # the history must never hide the run's own outcome
        log.warning("could not record the run in the state file: %s", exc)


def unit_codes(run: RunLog) -> set[str]:
    """The roster's unit codes a run knows (codes, not IDs: the history keeps them as they are)."""
    result = run.result
    if run.confirmed is not None:
        return {normalize_national_id(run.confirmed.unit)}
    if result is None:
        return {normalize_national_id(code) for code in run.quiet.codes} if run.quiet else set()
    return {normalize_national_id(code) for code in [*result.data.units["code"], *result.unit_problems]}


def masked(value: Any, keep: Collection[str]) -> Any:
    """``value`` (plain JSON) with every number that could be a national ID masked, in keys and values.

    ``keep`` is frozen once for all of them: ``mask_ids_in_text`` remembers its results by text and codes,
    so a set frozen anew for each of a large area's thousands of values would keep as many copies of its
    thousands of codes (hundreds of megabytes at 3,000 schools)."""
    return _masked(value, keep if isinstance(keep, frozenset) else frozenset(keep))


def _masked(value: Any, keep: frozenset[str]) -> Any:
    if isinstance(value, str):
        return mask_ids_in_text(value, keep)
    if isinstance(value, dict):
        return {_masked(k, keep): _masked(v, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, keep) for v in value]
    return value


#: the state file's note of the last run whose row ``_mask_older_runs`` has seen
MASKED_UP_TO = "history_masked_up_to"


def _mask_older_runs(state: State, keep: set[str], newest: int) -> None:
    """Rows an older devplan stored unmasked are masked now (unit codes named as failed units stay).

    Each row is looked at once: the rows up to ``newest`` (this run's, masked as it was stored) are noted
    as seen, so a long history is not read and masked again every night."""
    seen = int(state.meta(MASKED_UP_TO) or 0)
    for run in state.runs(last=1000, after=seen):
        codes = keep | {normalize_national_id(c) for c in run.details.get("failed") or {}}
        clean = masked(run.details, codes)
        if clean != run.details and run.number is not None:
            state.rewrite_run(run.number, clean)
    state.set_meta(MASKED_UP_TO, str(newest))


def describe(run: RunLog, failure: BaseException | None, settings: Settings) -> dict[str, Any]:
    """What the run did, as plain JSON: read, cached, written, mailed, failed, requests."""
    details: dict[str, Any] = {
        "fiscal_year": settings.area.fiscal_year,
        "location": settings.storage.location,
        "config": str(settings.source_file or ""),
    }
    counts = run.reads.requests()
    if counts is not None:  # the run got as far as opening its workbook
        details["read"] = list(run.reads.fresh)
        details["cached"] = list(run.reads.cached)
        if counts.total:  # a service was asked (Google); local files take no requests
            details["requests"] = counts.as_dict()
    if run.quiet is not None:
        details.update(run.quiet.details)
    result = run.result
    if result is not None:
        details["written"] = sorted(result.published.written)
        details["unchanged"] = len(result.published.unchanged)
        delivery = result.delivery
        details["mails_written"] = len(delivery.written)
        details["mails_sent"] = len(delivery.sent)
        details["quarantined"] = result.area.counts.quarantined
        failed = {code: problem.message for code, problem in result.unit_problems.items()}
        failed.update({code: why for code, why in delivery.skipped.items() if code not in failed})
        details["failed"] = failed
        if run.kind == "check":
            details["mails_due"] = len(delivery.due)
    if run.confirmed is not None:
        sent = run.confirmed
        details["confirmed"] = {"unit": sent.unit, "recipient": sent.recipient, "sent_at": f"{sent.sent_at:%Y-%m-%d %H:%M}"}
    if failure is not None and not isinstance(failure, SystemExit):
        message = failure.message if isinstance(failure, PipelineError) else f"{failure.__class__.__name__}: {failure}"
        details["error"] = str(message)
    return details


# --- devplan status -----------------------------------------------------------------

KIND_NAMES = {"sync": "sync (ประมวลผล)", "check": "check (ตรวจอย่างเดียว ไม่เขียน)",
              "confirm-sent": "confirm-sent (บันทึกว่าอีเมลที่ไม่แน่ใจถึงผู้รับแล้ว)"}
EXIT_MEANINGS = {
    0: "เรียบร้อย", 1: "ต้องมีคนดูแล", 2: "ไฟล์ตั้งค่า", 3: "สเปรดชีตต้นทาง", 4: "เขียนผลลัพธ์",
    5: "ส่งอีเมล", 70: "ข้อผิดพลาดที่ไม่คาดคิด", 75: "มี devplan อีกชุดทำงานอยู่", 130: "ผู้ใช้สั่งหยุด",
}


def duration(seconds: float) -> str:
    """Seconds as a person reads them: "8.2 วินาที", "3 นาที 5 วินาที", "1 ชั่วโมง 2 นาที"."""
    if seconds < 60:
        return f"{seconds:.1f} วินาที"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} นาที {secs} วินาที"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} ชั่วโมง {minutes} นาที"


def last_runs(settings: Settings, last: int) -> tuple[str, set[str]]:
    """``devplan status``: the last ``last`` runs in Thai, and the unit codes the text names (not IDs to mask).

    Looking creates nothing: without a state file, it says there is no history yet.
    """
    path = settings.storage.state
    if path is None or not Path(path).exists():
        return f"ยังไม่มีประวัติการทำงาน (ยังไม่มีไฟล์สถานะ {path}): สั่ง devplan check หรือ devplan sync ก่อน", set()
    with State(path) as state:
        runs = state.runs(last)
    codes = {code for run in runs for code in (run.details.get("failed") or {})}
    header = f"ประวัติการทำงาน {len(runs)} ครั้งล่าสุด (ไฟล์สถานะ {path})"
    return header + "\n" + format_runs(runs, settings.output.dashboard), codes


def format_runs(runs: list[RunRecord], dashboard: str = "dashboard") -> str:
    """The ``devplan status`` listing, newest run first, in Thai."""
    if not runs:
        return "ยังไม่มีประวัติการทำงาน (สั่ง devplan check หรือ devplan sync ก่อน)"
    lines: list[str] = []
    for run in runs:
        d = run.details
        meaning = EXIT_MEANINGS.get(run.exit_code, "ผิดพลาด")
        lines.append(
            f"ครั้งที่ {run.number}  {KIND_NAMES.get(run.kind, run.kind)}  "
            f"{run.started_at:%Y-%m-%d %H:%M:%S}  ใช้เวลา {duration(run.seconds)}  "
            f"รหัสออก {run.exit_code} ({meaning})"
        )
        if "read" in d:
            lines.append(
                f"    อ่านสเปรดชีตใหม่ {len(d['read'])} ไฟล์, ใช้ข้อมูลเดิมจากไฟล์สถานะ {len(d['cached'])} ไฟล์ "
                "(ไม่มีการแก้ไขตั้งแต่ครั้งก่อน)"
            )
        if "requests" in d:
            r = d["requests"]
            lines.append(
                f"    คำขอถึง Google: อ่าน {r['sheets_read']}, เขียน {r['sheets_write']}, Drive {r['drive']}"
                + (f", ลองใหม่ {r['retries']}" if r.get("retries") else "")
            )
        if "written" in d:
            verb = "จะเขียน" if run.kind == "check" else "เขียน"
            units = [k for k in d["written"] if k != dashboard]
            lines.append(
                f"    {verb}แท็บสรุปผล {len(units)} สเปรดชีต"
                + (" และแดชบอร์ด" if dashboard in d["written"] else "")
                + f", ไม่ต้องเขียนใหม่ {d.get('unchanged', 0)} สเปรดชีต"
            )
        if run.kind == "check" and "mails_due" in d:
            lines.append(f"    อีเมลที่จะส่ง (เมื่อสั่ง sync --send) {d['mails_due']} ฉบับ")
        elif "mails_written" in d:
            lines.append(f"    อีเมลใน outbox {d['mails_written']} ฉบับ, ส่งแล้ว {d['mails_sent']} ฉบับ")
        if "confirmed" in d:
            c = d["confirmed"]
            lines.append(f"    อีเมลสรุปผลถึง {c['unit']} ({c['recipient']}) ที่ส่งเมื่อ {c['sent_at']} "
                         "ถึงผู้รับแล้ว ตามที่สำนักงานยืนยัน (ไม่ได้ส่งอีเมลใด ๆ)")
        if d.get("quarantined"):
            lines.append(f"    แถวที่ใช้ไม่ได้ (ต้องแก้ไข) {d['quarantined']} แถว")
        failed = d.get("failed") or {}
        if failed:
            lines.append(f"    หน่วยงานที่ไม่สำเร็จ {len(failed)} แห่ง:")
            lines += [f"      - {code}: {why}" for code, why in list(failed.items())[:10]]
            if len(failed) > 10:
                lines.append(f"      ... และอีก {len(failed) - 10} แห่ง")
        if d.get("error"):
            lines.append(f"    ข้อผิดพลาด: {d['error']}")
    return "\n".join(lines)
