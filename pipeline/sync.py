"""The run: collect → normalize → indicators → summaries → render → publish → deliver.

The only place the stages meet. ``prepare`` wires collect → normalize →
measure → summarise, once, for every command that needs the area's figures
(``sync``, ``check``, ``report``); ``run_sync`` adds publish and deliver. Each
stage is a function of its inputs. Whether anything is written is decided here,
once: a check hands publish a writer and deliver a postbox that write nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterator

from jinja2 import Environment

from pipeline.collect import Collected, read_idplans, read_sources
from pipeline.config import Settings
from pipeline.deliver import (
    Delivery, DryRun, Postbox, SendPolicy, SmtpSettings, check_send_log, mailing_marker, plan_mail, post_mail,
    read_mailed,
)
from pipeline.errors import ConfigError, PipelineError, SourceError
from pipeline.indicators import Indicator, Scores, load_indicators, measure
from pipeline.needs import measure_needs
from pipeline.normalize import Normalized, leave_out, normalize, office_code_problem, unit_codes
from pipeline.plan_progress import own_plans
from pipeline.publish import DASHBOARD_TABS, NoWriter, Published, WorkbookWriter, Writer, publish
from pipeline.render import build_environment, keep_unit_codes
from pipeline.spending import measure_spending
from pipeline.state import State
from pipeline.summaries import AreaSummary, RunFacts, UnitSummary, area_summary, run_facts, unit_summaries
from pipeline.topics import TopicVocabulary
from pipeline.workbook import RequestCounts, WaitHook, Workbook
from pipeline.workbook.factory import open_workbook
from pipeline.workbook.reads import LoggedWorkbook, ReadLog

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class Prepared:
    """The area as one fiscal year sees it: read, matched, measured and summarised."""

    raw: Collected
    data: Normalized
    indicators: list[Indicator]
    scores: Scores
    facts: RunFacts
    units: dict[str, UnitSummary]
    area: AreaSummary
    #: unit code -> why it was left out (its spreadsheet could not be read)
    problems: dict[str, PipelineError]
    #: the templates, told which digit runs are the roster's unit codes (every other long number is masked)
    env: Environment
    #: the development topics and their aliases: how free-text topics are read
    topics: TopicVocabulary


@dataclass
class SyncResult:
    settings: Settings
    data: Normalized
    scores: Scores
    area: AreaSummary
    published: Published
    delivery: Delivery
    read_calls: int
    #: what was read, and whether from the spreadsheet or the state file's cache
    reads: ReadLog
    #: unit code -> why it was left out (its spreadsheet could not be read or written)
    unit_problems: dict[str, PipelineError] = field(default_factory=dict)
    #: requests sent to the storage's service (all zero for local files)
    requests: RequestCounts = field(default_factory=RequestCounts)
    #: spreadsheet key -> where a person finds it, for every spreadsheet written (or, in a check, to be)
    addresses: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def opened(
    settings: Settings, workbook: Workbook | None = None, *, full: bool = False, on_wait: WaitHook | None = None
) -> Iterator[tuple[State, Workbook]]:
    """The state file, open for the run, and the configured workbook (or ``workbook``)."""
    with State(settings.storage.state) as state:
        yield state, workbook or open_workbook(settings.storage, state, full=full, on_wait=on_wait)


def prepare(
    settings: Settings, book: Workbook, *, progress: Progress | None = None, today: date | None = None
) -> Prepared:
    """collect → normalize → measure → summarise, for ``settings.area.fiscal_year``.

    A unit whose spreadsheet could not be read is left out of every figure and named in ``problems``.
    """
    indicators = load_indicators(settings.indicators.file, settings.vocabulary.development_kinds)
    env = build_environment(settings.output.templates)
    raw = read_sources(book, settings)
    wrong_office = office_code_problem(raw, settings)
    if wrong_office is not None:  # every office row and office staff would be unusable: stop before any of it
        raise ConfigError(*wrong_office)
    codes = unit_codes(raw.units, settings.area.office_code)
    keep_unit_codes(env, codes)
    raw = read_idplans(book, settings, raw, codes, progress)
    problems: dict[str, PipelineError] = dict(raw.unit_problems)
    keys = {code: settings.sources.idplan.key_for(code) for code in problems}
    data = leave_out(normalize(raw, settings), {c: str(e) for c, e in problems.items()}, keys)
    log.info("normalized: %d staff, %d quarantined rows, %d notes", len(data.staff), len(data.quarantine), len(data.notes))
    topics = TopicVocabulary.from_settings(settings)
    scores = measure(data, indicators, settings.area.fiscal_year, topics)
    facts = run_facts(settings, today or date.today())
    own = own_plans(data, facts.fiscal_year, facts.generated_on, topics)
    spent = measure_spending(
        data, settings.spending, settings.vocabulary.positions, facts.fiscal_year, raw.record_extras
    )
    units = unit_summaries(data, scores, facts, own, spent)
    needs = measure_needs(
        data, topics, settings.area.fiscal_year, districts=settings.area.districts, forms=settings.vocabulary.survey_methods
    )
    area = area_summary(data, scores, facts, settings, needs, own, spent)
    return Prepared(raw, data, indicators, scores, facts, units, area, problems, env, topics)


def run_alone(
    settings: Settings, *, say: Callable[[str], None], wait: bool = False, dry_run: bool = False, **options: Any
) -> SyncResult:
    """``run_sync`` (``options``) while holding the state file's lock, its progress shown on stderr.

    Another run holds the lock: ``BusyError`` at once, or with ``wait`` its turn (``say`` says so).
    A check takes the lock too: it may cache what it reads in the state file.
    """
    from pipeline.lock import RunLock
    from pipeline.progress import CHECK_STAGES, SYNC_STAGES, Progress

    progress = Progress(CHECK_STAGES if dry_run else SYNC_STAGES)
    assert settings.storage.state is not None  # load_settings puts it beside the config file
    with RunLock(settings.storage.state, wait=wait, on_wait=say):
        where = f"ปีงบประมาณ {settings.area.fiscal_year} จาก {settings.storage.location}"
        say(f"ตรวจ {where} (ไม่เขียนสิ่งใด)" if dry_run else f"เริ่มประมวลผล {where}")
        return run_sync(settings, progress=progress.show, on_wait=progress.waiting, dry_run=dry_run, **options)


def run_sync(
    settings: Settings,
    *,
    workbook: Workbook | None = None,
    smtp: SmtpSettings | None = None,
    today: date | None = None,
    progress: Progress | None = None,
    full: bool = False,
    on_wait: WaitHook | None = None,
    send_policy: SendPolicy = SendPolicy(),
    dry_run: bool = False,
    reads: ReadLog | None = None,
    now: datetime | None = None,
) -> SyncResult:
    """One full run. Mail is sent only when ``smtp`` is given; it is always written to the outbox.

    ``full`` reads every spreadsheet again even if the state file says it has not changed.
    ``send_policy`` says which messages go out; the state file's send log says what each
    director was sent before. The caller holds the state file's lock (``pipeline.lock``).
    ``dry_run`` (``devplan check``) reads and computes everything but writes nothing: no
    spreadsheet, no outbox, no mail; ``published.written`` then lists what would be written.
    ``reads`` is filled as the run reads (the run history keeps it even if the run fails).
    ``now`` is when this run mails, as the dashboard records it (default: the clock's time).
    A unit whose summary tab could not be written is not mailed.
    """
    reads = reads if reads is not None else ReadLog()
    with opened(settings, workbook, full=full, on_wait=on_wait) as (state, inner):
        book = LoggedWorkbook(inner, reads)
        # The one place that decides whether anything is written: a check's writer and postbox write nothing.
        writer: Writer = NoWriter(book) if dry_run else WorkbookWriter(book, state)
        postbox = DryRun(settings.output.outbox) if dry_run else Postbox(settings.output.outbox, smtp)
        ready = prepare(settings, book, progress=progress, today=today)
        # Which mail is due is known before anything is written, so a send the state file cannot account
        # for is refused while nothing has been done yet.
        mail, letters = plan_mail(
            ready.env, ready.units, settings.mail.sender, postbox,
            state=state, policy=send_policy, today=ready.facts.generated_on,
        )
        sending = (postbox.sending or dry_run) and not send_policy.test_to and bool(mail.due)
        if sending or not state.dashboard_read():
            learn_last_mailing(inner, settings.output.dashboard, state)
        check_send_log(state, mail, send_policy, settings.output.dashboard, now or datetime.now())
        area = dataclasses.replace(ready.area, mailed=mailing_marker(state))
        published = publish(
            book, ready.env, ready.units, ready.raw.idplan_keys, area,
            settings.output.summary_tab, settings.output.dashboard, state, writer, progress,
        )
        problems = {**ready.problems, **published.failed}
        delivery = post_mail(mail, letters, postbox, progress, state=state, policy=send_policy, left_out=published.failed)
        return SyncResult(
            settings, ready.data, ready.scores, area, published, delivery, ready.raw.read_calls, reads,
            problems, book.requests(), writer.where,
        )


def learn_last_mailing(book: Workbook, dashboard: str, state: State) -> None:
    """Note in the state file the last mailing the dashboard records (``pipeline.deliver.read_mailed``).

    Read when the state file has not read it yet (so a run with a new state file keeps the record in
    the dashboard) and before mail goes out (so a state file older than the last mailing is noticed).
    """
    tab = next(iter(DASHBOARD_TABS))
    try:
        rows = book.read(dashboard, [tab])[tab] if book.exists(dashboard) else []
    except SourceError as exc:
        try:
            missing = tab not in book.tabs(dashboard)
        except PipelineError:
            missing = False
        if not missing:
            log.warning("could not read the last mailing from the dashboard: %s", exc.message)
            return
        rows = []
    state.note_dashboard_mailing(read_mailed(rows))
