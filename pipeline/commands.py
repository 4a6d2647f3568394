"""What each command does once its options are parsed: the library's calls in order, and what to print.

``pipeline.cli`` parses a command's options, calls its function here and prints the ``Shown`` it
returns: the text (masked where it may name a person: any number that could be a national ID, but
the unit codes it names) and the exit code. What the text says is written by ``pipeline.present``; progress and steps go
to ``say`` (stderr). Heavy libraries are imported inside the functions, so ``devplan --help``
stays instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection

if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.history import RunLog
    from pipeline.init import Ask

Say = Callable[[str], None]


@dataclass(frozen=True)
class Shown:
    """What a command prints on stdout, and its exit code."""

    text: str
    exit_code: int = 0
    #: the roster's unit codes ``text`` names: shown as they are where other long numbers are masked
    codes: Collection[str] = ()
    #: False for text that names no person (paths, spreadsheets, access): printed as it is
    mask: bool = True


def sync_area(
    settings: Settings, *, say: Say, send: bool, resend: bool, units: Collection[str], test_to: str | None,
    new_state: bool, full: bool, wait: bool,
) -> Shown:
    """``devplan sync``: the run, mailing the directors with ``send`` (``resend``, ``units``, ``test_to`` and
    ``new_state`` say which messages go and where), then its report; one row in the run history, even if it fails."""
    from pipeline.deliver import SendPolicy, smtp_for_send
    from pipeline.history import recording
    from pipeline.thai import normalize_code

    with recording("sync", settings) as run:
        smtp = smtp_for_send() if send else None
        policy = SendPolicy(resend=resend, cadence_days=settings.mail.cadence, test_to=test_to,
                            units=frozenset(normalize_code(u) for u in units), new_state=new_state)
        return sync_night(settings, run, say=say, smtp=smtp, send_policy=policy, full=full, wait=wait)


def sync_night(settings: Settings, run: RunLog, *, say: Say, **options: Any) -> Shown:
    """A sync, or an idle night when nothing changed since the last one (``pipeline.idle``), then its report:
    the same report, and the same exit code, as the full run would give."""
    from pipeline.idle import run_night

    night = run_night(settings, say=say, reads=run.reads, **options)
    if night.quiet is not None:
        run.quiet, run.exit_code = night.quiet, night.quiet.exit_code
        return Shown(night.quiet.report, night.quiet.exit_code, night.quiet.codes)
    from pipeline.present import format_report, needs_a_person, unit_codes

    assert night.result is not None
    attention = needs_a_person(night.result)
    run.result, run.exit_code = night.result, attention.exit_code
    return Shown(format_report(night.result, attention), attention.exit_code, unit_codes(night.result))


def check_area(settings: Settings, *, say: Say, full: bool, wait: bool) -> Shown:
    """``devplan check``: a run that writes nothing, then what a sync would do; in the run history as a check."""
    from pipeline.history import recording

    with recording("check", settings) as run:
        return run_and_report(settings, run, say=say, full=full, wait=wait, dry_run=True)


def run_and_report(settings: Settings, run: RunLog | None = None, *, say: Say, dry_run: bool = False,
                   **options: Any) -> Shown:
    """A sync (or, ``dry_run``, a check) under the state file's lock, then its report; exit 0 when nothing
    needs a person, 1 when something does (the same rule for both). ``run``: the run history's record, if kept."""
    from pipeline.present import format_check, format_report, needs_a_person, unit_codes
    from pipeline.sync import run_alone

    result = run_alone(settings, say=say, dry_run=dry_run, reads=run.reads if run else None, **options)
    attention = needs_a_person(result)
    if run is not None:
        run.result, run.exit_code = result, attention.exit_code
    report = format_check(result, attention) if dry_run else format_report(result, attention)
    return Shown(report, attention.exit_code, unit_codes(result))


def demo(out: Path, schools: int | None, seed: int, *, say: Say) -> Shown:
    """``devplan demo``: a sample area in ``out``, synced; exit 0, since its rows to fix are there on purpose."""
    from pipeline.config import load_settings
    from pipeline.defaults import DEMO_CONFIG
    from pipeline.sample import demo_paths, make_sample

    settings = load_settings(DEMO_CONFIG, demo_paths(out))
    manifest = make_sample(out, settings, schools, seed)
    say(f"สร้างเขตตัวอย่างแล้วที่ {out / 'sheets'} (รายการข้อมูลที่จงใจทำให้ผิด: {manifest})")
    report = run_and_report(settings, say=say)
    return Shown(report.text, 0, report.codes)


def sample(out: Path, config: Path, schools: int | None, seed: int) -> Shown:
    """``devplan sample``: a sample area's spreadsheets in ``out/sheets`` (``config``'s sources, columns and
    answers), and where its spoiled rows are listed."""
    from pipeline.config import load_settings
    from pipeline.sample import demo_paths, make_sample

    manifest = make_sample(out, load_settings(config, demo_paths(out)), schools, seed)
    return Shown(f"สร้างเขตตัวอย่างแล้วที่ {out / 'sheets'}\nรายการข้อมูลที่จงใจทำให้ผิด: {manifest}", mask=False)


def confirm_sent(settings: Settings, unit: str, *, say: Say, wait: bool) -> Shown:
    """``devplan confirm-sent``: ``unit``'s message in doubt arrived (``deliver.confirm_arrival``); nothing is sent."""
    from pipeline.deliver import confirm_arrival
    from pipeline.present import format_confirmed
    from pipeline.thai import normalize_code

    from pipeline.history import recording

    assert settings.storage.state is not None  # load_settings puts it beside the config file
    with recording("confirm-sent", settings, only_existing=True) as run:
        run.confirmed = confirm_arrival(settings.storage.state, normalize_code(unit), wait=wait, say=say)
    return Shown(format_confirmed(run.confirmed), 0, [run.confirmed.unit])


def write_area_report(settings: Settings, fmt: str, out: Path | None, engine: str | None, *, say: Say) -> Shown:
    """``devplan report``: the plan's progress report for the settings' fiscal year, as PDF or HTML."""
    from pipeline.report import write_report

    say(f"ทำรายงาน ปีงบประมาณ {settings.area.fiscal_year} จาก {settings.storage.location}")
    return Shown(f"เขียนรายงานแล้ว: {write_report(settings, fmt, out, engine=engine)}", mask=False)


def init_area(folder: Path, ask: Ask, *, say: Say, force: bool, assume_yes: bool, **given: Any) -> Shown:
    """``devplan init``: the answers (``given`` as flags, else asked), the config written into ``folder``, then
    whether devplan can reach every spreadsheet: exit 0 when it can, 1 when some must be shared or fixed."""
    from pipeline.access import AnswerChecks, check_access
    from pipeline.config import load_settings
    from pipeline.init import DEFAULT_SENDER, interview, write_config
    from pipeline.present import format_access, init_next_steps

    answers = interview(
        ask, folder=folder, force=force, assume_yes=assume_yes, today=date.today(), checks=AnswerChecks(),
        tell=lambda problem: say(f"ใช้ไม่ได้: {problem}\nลองใหม่อีกครั้ง"), **given,
    )
    path = write_config(folder, answers, force=force)
    say(f"เขียนไฟล์ตั้งค่าแล้ว: {path}\nตรวจการเข้าถึงสเปรดชีต ...")
    access = check_access(load_settings(path))
    text = format_access(access) + "\n\n" + init_next_steps(path, access.ok, answers.sender == DEFAULT_SENDER)
    return Shown(text, 0 if access.ok else 1, mask=False)
