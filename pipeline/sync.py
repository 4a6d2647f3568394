"""The run: collect → normalize → indicators → summaries → render → publish → deliver.

The only place the stages meet. ``prepare`` wires collect → normalize →
measure → summarise, once, for every command that needs the area's figures
(``sync``, ``check``, ``report``); ``run_sync`` adds publish and deliver. Each
stage is a function of its inputs. Whether anything is written is decided here,
once: a check hands publish a writer and deliver a postbox that write nothing.

Where a service's quota makes reads wait (Google), a sync writes the summaries
of the units already read while the next reads wait (``Overlap``): reads and
writes each run at their own quota, so a full sync takes about as long as the
longer of the two, not their sum. What is finally written is the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Callable, Iterator

from jinja2 import Environment

from pipeline.collect import Collected, read_idplans, read_sources
from pipeline.config import Settings
from pipeline.deliver import (
    Delivery, DryRun, MailCommands, Postbox, SendPolicy, SmtpSettings, check_send_log, mailing_marker, plan_mail,
    post_mail, read_mailed, unaccounted_mailing,
)
from pipeline.errors import ConfigError, PipelineError, SourceError
from pipeline.indicators import Indicator, Scores, load_indicators, measure
from pipeline.needs import measure_needs
from pipeline.normalize import (
    Normalized, Rosters, leave_out, normalize, normalize_idplans, normalize_rosters, office_code_problem, unit_codes,
)
from pipeline.plan_progress import OwnPlans, own_plans
from pipeline.publish import DASHBOARD_TABS, NoWriter, Published, WorkbookWriter, Writer, publish, unit_tabs, up_to_date
from pipeline.render import build_environment, keep_unit_codes
from pipeline.spending import Spending, measure_spending
from pipeline.state import State
from pipeline.summaries import AreaSummary, RunFacts, UnitSummary, area_summary, run_facts, unit_summaries
from pipeline.topics import TopicVocabulary
from pipeline.unchanged import find_unchanged, find_unchanged_dashboard, remember_outputs, run_context
from pipeline.workbook import RequestCounts, WaitHook, Workbook
from pipeline.workbook.factory import open_workbook
from pipeline.workbook.reads import LoggedWorkbook, ReadLog

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class Prepared:
    """The area as one fiscal year sees it: read, matched, measured and summarised.

    Of what was read, only where each unit's spreadsheet is and how many reads it took are kept: the
    rows themselves live on in ``data``, matched (a large area's raw rows would otherwise stay in memory
    through publish and deliver, its peak).
    """

    #: unit code -> ID Plan spreadsheet key, for every unit whose spreadsheet was read
    idplan_keys: dict[str, str]
    read_calls: int
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
    settings: Settings, book: Workbook, *, progress: Progress | None = None, today: date | None = None,
    overlap: Overlap | None = None,
) -> Prepared:
    """collect → normalize → measure → summarise, for ``settings.area.fiscal_year``.

    A unit whose spreadsheet could not be read is left out of every figure and named in ``problems``.
    ``overlap`` writes the units already read while reads wait for the quota.
    """
    indicators = load_indicators(settings.indicators.file, settings.vocabulary.development_kinds)
    env = build_environment(settings.output.templates)
    raw = read_sources(book, settings)
    wrong_office = office_code_problem(raw, settings)
    if wrong_office is not None:  # every office row and office staff would be unusable: stop before any of it
        raise ConfigError(*wrong_office)
    codes = unit_codes(raw.units, settings.area.office_code)
    keep_unit_codes(env, codes)
    facts = run_facts(settings, today or date.today())
    topics = TopicVocabulary.from_settings(settings)
    between = None if overlap is None else overlap.between(env, indicators, facts, topics)
    raw = read_idplans(book, settings, raw, codes, progress, between)
    problems: dict[str, PipelineError] = dict(raw.unit_problems)
    keys = {code: settings.sources.idplan.key_for(code) for code in problems}
    data = leave_out(normalize(raw, settings), {c: str(e) for c, e in problems.items()}, keys)
    log.info("normalized: %d staff, %d quarantined rows, %d notes", len(data.staff), len(data.quarantine), len(data.notes))
    scores, own, spent, units = unit_figures(data, settings, indicators, facts, topics, raw.record_extras)
    needs = measure_needs(
        data, topics, settings.area.fiscal_year, districts=settings.area.districts, forms=settings.vocabulary.survey_methods
    )
    area = area_summary(data, scores, facts, settings, needs, own, spent)
    return Prepared(raw.idplan_keys, raw.read_calls, data, indicators, scores, facts, units, area, problems, env, topics)


def unit_figures(
    data: Normalized, settings: Settings, indicators: list[Indicator], facts: RunFacts, topics: TopicVocabulary,
    extras: dict[str, frozenset[str]],
) -> tuple[Scores, OwnPlans, Spending | None, dict[str, UnitSummary]]:
    """measure → summarise for the units of ``data``: their scores, own plans, spending and summaries."""
    scores = measure(data, indicators, settings.area.fiscal_year, topics)
    own = own_plans(data, facts.fiscal_year, facts.generated_on, topics)
    spent = measure_spending(data, settings.spending, settings.vocabulary.positions, facts.fiscal_year, extras)
    return scores, own, spent, unit_summaries(data, scores, facts, own, spent)


class Overlap:
    """While Google's read quota makes the next read wait, write the summaries of the units already read.

    A unit's summary tab is a function of the rosters, the survey and the ID Plan
    rows credited to its staff, which are its own spreadsheet's rows, except when a
    row in another unit's spreadsheet names one of its people. So a tab written
    here, from the rosters and the units read so far, is what the run will write
    unless a spreadsheet read later credits that unit; ``publish``, with every
    spreadsheet read, writes only the tabs whose content then differs (and the
    dashboard, last). Nothing is computed unless a read would wait and a write
    could go sooner.
    """

    def __init__(
        self, settings: Settings, book: Workbook, writer: Writer, state: State, allowed: Callable[[], bool],
    ) -> None:
        self.settings, self.book, self.writer, self.state = settings, book, writer, state
        #: asked once, before the first early write: may this run write before everything is read?
        self.allowed = allowed
        self.may: bool | None = None
        self.rosters: Rosters | None = None
        self.seen: set[str] = set()
        self.queue: list[tuple[str, dict[str, Any], str]] = []

    def between(
        self, env: Environment, indicators: list[Indicator], facts: RunFacts, topics: TopicVocabulary
    ) -> Callable[..., None]:
        """The hook ``read_idplans`` calls before each read."""

        def hook(so_far: Callable[[], Collected]) -> None:
            wait = self.book.pace("read")
            if wait <= 0 or self.book.pace("write") >= wait:
                return  # the read goes now, or no write could go sooner
            if self.may is None:
                self.may = self.allowed()
            if not self.may:
                return
            raw = so_far()
            new = [code for code in raw.idplan_keys if code not in self.seen]
            if new:
                self.seen.update(new)
                self.queue += self._jobs(raw, new, env, indicators, facts, topics)
            while self.queue and self.book.pace("write") < self.book.pace("read"):
                key, tabs, print_ = self.queue.pop(0)
                try:
                    self.writer.write(key, tabs, print_)
                except PipelineError as exc:  # publish tries it again, and reports it
                    log.info("early write of %s failed: %s", key, exc.message)

        return hook

    def _jobs(
        self, raw: Collected, codes: list[str], env: Environment, indicators: list[Indicator], facts: RunFacts,
        topics: TopicVocabulary,
    ) -> list[tuple[str, dict[str, Any], str]]:
        """The summary tabs of ``codes`` as the units read so far give them, where they changed."""
        if self.rosters is None:
            self.rosters = normalize_rosters(raw, self.settings)
        plans, records = raw.plans[raw.plans["_unit"].isin(codes)], raw.records[raw.records["_unit"].isin(codes)]
        extras = {code: raw.record_extras[code] for code in codes if code in raw.record_extras}
        data = normalize_idplans(self.rosters, plans, records, self.settings, extras)
        part = replace(data, units=data.units[data.units["code"].isin(codes)],
                       staff=data.staff[data.staff["unit_code"].isin(codes)])
        jobs = []
        for code, summary in unit_figures(part, self.settings, indicators, facts, topics, extras)[3].items():
            key = raw.idplan_keys[code]
            tabs, print_ = unit_tabs(env, summary, self.settings.output.summary_tab)
            if not up_to_date(self.state, self.book, key, print_):
                jobs.append((key, dict(tabs), print_))
        return jobs


def run_alone(
    settings: Settings, *, say: Callable[[str], None], wait: bool = False, dry_run: bool = False, **options: Any
) -> SyncResult:
    """``run_sync`` (``options``) while holding the state file's lock, its progress shown on stderr.

    Another run holds the lock: ``BusyError`` at once, or with ``wait`` its turn (``say`` says so).
    A check takes the lock too: it may cache what it reads in the state file.
    """
    from pipeline.lock import RunLock

    assert settings.storage.state is not None  # load_settings puts it beside the config file
    with RunLock(settings.storage.state, wait=wait, on_wait=say):
        return run_shown(settings, say=say, dry_run=dry_run, **options)


def run_shown(settings: Settings, *, say: Callable[[str], None], dry_run: bool = False, **options: Any) -> SyncResult:
    """``run_sync`` (``options``) with what it works on said first and its progress shown on stderr.
    The caller holds the state file's lock."""
    from pipeline.progress import CHECK_STAGES, SYNC_STAGES, Progress

    progress = Progress(CHECK_STAGES if dry_run else SYNC_STAGES)
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
        learned: list[bool] = []

        def learn() -> None:  # the dashboard's record of the last mailing, read once a run
            if not learned:
                learn_last_mailing(inner, settings.output.dashboard, state)
                learned.append(True)

        def may_write_early() -> bool:
            # A run that mails the directors is refused, before anything is written, when the state file
            # cannot account for the last mailing: early writes wait until that is ruled out.
            if not postbox.sending or send_policy.test_to or send_policy.new_state:
                return True
            learn()
            return unaccounted_mailing(state) is None

        overlap = None if dry_run else Overlap(settings, book, writer, state, may_write_early)
        ready = prepare(settings, book, progress=progress, today=today, overlap=overlap)
        # Units whose tab and e-mail cannot have changed since devplan made them are not made again.
        context = run_context(settings, ready.env, ready.facts.generated_on)
        same = find_unchanged(state, book, postbox, ready.units, ready.idplan_keys, context, full=full)
        # Which mail is due is known before anything is written, so a send the state file cannot account
        # for is refused while nothing has been done yet.
        mail, letters = plan_mail(
            ready.env, ready.units, settings.mail.sender, postbox, state=state, policy=send_policy,
            today=ready.facts.generated_on, commands=MailCommands(settings.source_file, settings.area.fiscal_year),
            known=same.letters,
        )
        sending = (postbox.sending or dry_run) and not send_policy.test_to and bool(mail.due)
        if sending or not state.dashboard_read():
            learn()
        check_send_log(state, mail, send_policy, settings.output.dashboard, now or datetime.now())
        area = dataclasses.replace(ready.area, mailed=mailing_marker(state),
                                   mail_in_doubt={code: mail.skipped[code] for code in mail.in_doubt})
        find_unchanged_dashboard(state, book, same, ready.env, area, settings.output.dashboard, context, full=full)
        published = publish(
            book, ready.env, ready.units, ready.idplan_keys, area,
            settings.output.summary_tab, settings.output.dashboard, state, writer, progress, known=same.tabs,
            dashboard_known=same.dashboard,
        )
        problems = {**ready.problems, **published.failed}
        delivery = post_mail(mail, letters, postbox, progress, state=state, policy=send_policy, left_out=published.failed)
        if writer.writes:
            remember_outputs(state, same, ready.idplan_keys, settings.output.dashboard, published, postbox, delivery)
        return SyncResult(
            settings, ready.data, ready.scores, area, published, delivery, ready.read_calls, reads,
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
