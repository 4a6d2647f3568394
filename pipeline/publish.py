"""Publish: write the summary tab into each unit's spreadsheet, and the area dashboard.

One write call per spreadsheet, and none where nothing changed: a tab whose
content (run date aside) equals what devplan wrote last, in a spreadsheet
nobody has touched since, is left as it is. Only tabs devplan owns are
replaced; the tabs staff edit are never touched.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Callable, Generator, Iterable, Iterator, Mapping, Protocol, Sequence

from jinja2 import Environment

from pipeline.deliver import mailed_row
from pipeline.errors import NotFinished, PipelineError, PublishError
from pipeline.render import parse_dated, render_dated
from pipeline.state import State
from pipeline.summaries import AreaSummary, UnitSummary
from pipeline.workbook import Need, Workbook
from pipeline.workbook.forked import Outcome, Outcomes, attempt, one_by_one
from pipeline.workbook.layout import AnyTab, FormattedTab, as_tab

SCHOOL_SHEET = "school_sheet.tsv"
NEEDS_TAB, COHORTS_TAB, UNMATCHED_TAB = "ความต้องการพัฒนา", "กลุ่มรอพัฒนา", "หัวข้อที่ยังไม่จับคู่"
#: dashboard tab name -> template
DASHBOARD_TABS = {
    "ภาพรวมเขตพื้นที่": "dashboard_area.tsv",
    "รายอำเภอ": "dashboard_districts.tsv",
    "รายหน่วยงาน": "dashboard_units.tsv",
    "ข้อมูลที่ต้องแก้ไข": "dashboard_issues.tsv",
    "ปรับแก้อัตโนมัติ": "dashboard_notes.tsv",
    NEEDS_TAB: "dashboard_needs.tsv",
    COHORTS_TAB: "dashboard_cohorts.tsv",
    "ความต้องการรายกลุ่ม": "dashboard_needs_groups.tsv",
    UNMATCHED_TAB: "dashboard_unmatched.tsv",
    "ความก้าวหน้าตามแผนรายบุคคล": "dashboard_plan.tsv",
}
#: dashboard tabs about costs: written only when the record tabs carry the cost column (``AreaSummary.spending``)
SPENDING_TABS = {
    "ค่าใช้จ่ายการพัฒนา": "dashboard_spending.tsv",
    "วงเงินพัฒนารายบุคคล": "dashboard_allocation.tsv",
}

log = logging.getLogger(__name__)


@dataclass
class Published:
    #: spreadsheet key -> tabs written
    written: dict[str, list[str]] = field(default_factory=dict)
    #: spreadsheet keys whose tabs were already up to date (same content, untouched since)
    unchanged: list[str] = field(default_factory=list)
    #: unit code -> the Thai reason its summary could not be written (its file refused, or is unusable)
    failed: dict[str, PipelineError] = field(default_factory=dict)
    #: why the dashboard was not written: the run ran out of time, or (a check) a sync could not write it
    dashboard: PipelineError | None = None
    #: spreadsheet key -> the fingerprint of its tabs as they are now (written or unchanged)
    fingerprints: dict[str, str] = field(default_factory=dict)
    #: the dashboard's tab -> its fingerprint (``combined``, they are its ``fingerprints`` entry)
    dashboard_tabs: dict[str, str] = field(default_factory=dict)

    @property
    def write_calls(self) -> int:
        return len(self.written)


@dataclass(frozen=True)
class DashboardTabs:
    """What is known of the dashboard's tabs before it is rendered (``pipeline.unchanged``)."""

    #: tab -> its fingerprint, for the tabs known unchanged: not rendered
    known: dict[str, str] = field(default_factory=dict)
    #: tab -> its fingerprint as devplan last wrote it, when nobody has touched the dashboard since
    written: dict[str, str] = field(default_factory=dict)


class Writer(Protocol):
    """Where ``publish`` puts the tabs that changed: the workbook (a sync) or nowhere (a check)."""

    #: spreadsheet key -> where a person finds it, for every spreadsheet written (or, in a check, to be)
    where: dict[str, str]
    #: whether it really writes (a sync) or only says what a sync would do (a check)
    writes: bool
    #: spreadsheet key -> fingerprint of what this run wrote there (early writes included)
    wrote: dict[str, str]

    def write(self, key: str, tabs: Mapping[str, AnyTab], fingerprint: str) -> None:
        """Write ``tabs`` into spreadsheet ``key`` and remember their fingerprint; ``PublishError`` if refused."""
        ...

    def write_many(self, writes: Sequence[tuple[str, Mapping[str, AnyTab], str]]) -> Outcomes:
        """``write`` each (key, tabs, fingerprint), as ``Workbook.write_many`` (perhaps started at once);
        each outcome read is None (written and remembered) or the ``PublishError``/``SourceError`` that
        stopped it."""
        ...

    def settle(self, written: Iterable[str]) -> None:
        """After the run's writes (even a failed run's): remember the version each written spreadsheet now has."""
        ...


class WorkbookWriter:
    """A sync's writer: the workbook, with what was written remembered in the state file."""

    writes = True

    def __init__(self, workbook: Workbook, state: State) -> None:
        self.workbook = workbook
        self.state = state
        self.where: dict[str, str] = {}
        self.wrote: dict[str, str] = {}

    def write(self, key: str, tabs: Mapping[str, AnyTab], fingerprint: str) -> None:
        self.workbook.write(key, tabs, own=True)
        self._wrote(key, fingerprint)

    def write_many(self, writes: Sequence[tuple[str, Mapping[str, AnyTab], str]]) -> Outcomes:
        outcomes = self.workbook.write_many([(key, tabs) for key, tabs, _ in writes], own=True)
        return Outcomes(self._remembered(writes, outcomes), outcomes.close)

    def _remembered(self, writes: Sequence[tuple[str, Mapping[str, AnyTab], str]],
                    outcomes: Iterator[Outcome]) -> Generator[Outcome, None, None]:
        for (key, _, fingerprint), outcome in zip(writes, outcomes):
            if outcome is None:
                self._wrote(key, fingerprint)
            yield outcome

    def _wrote(self, key: str, fingerprint: str) -> None:
        self.state.record_published(key, fingerprint)
        self.wrote[key] = fingerprint
        self.where[key] = self.workbook.address(key)

    def settle(self, written: Iterable[str]) -> None:
        try:
            self.workbook.finish()
        except PipelineError as exc:  # the versions stay unknown: those tabs are simply written again
            log.warning("could not learn the versions of the spreadsheets written: %s", exc.message)
            return
        for key in written:
            version = self.workbook.version(key)
            if version is not None:
                self.state.record_version(key, version)


class NoWriter:
    """A check's writer: writes and remembers nothing, only where each spreadsheet is (or would be made),
    and, as ``PublishError``, what would stop a sync writing it (asked of the storage as ``devplan init``
    asks it, so init, check and sync say one thing)."""

    writes = False

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self.where: dict[str, str] = {}
        self.wrote: dict[str, str] = {}

    def write(self, key: str, tabs: Mapping[str, AnyTab], fingerprint: str) -> None:
        access = self.workbook.check_access(Need(key, key, write=True, create=True))
        if not access.ok:
            raise PublishError(f"sync จะเขียน '{key}' ไม่ได้: {access.status}", access.hint)
        self.where[key] = self.workbook.address(key)

    def write_many(self, writes: Sequence[tuple[str, Mapping[str, AnyTab], str]]) -> Outcomes:
        return one_by_one(lambda write: self.write(*write), writes)

    def settle(self, written: Iterable[str]) -> None:
        pass


def dashboard_tabs(summary: AreaSummary) -> dict[str, str]:
    """The dashboard's tabs (name -> template) for this summary: the spending tabs only when it has spending."""
    return {**DASHBOARD_TABS, **(SPENDING_TABS if summary.spending is not None else {})}


def up_to_date(state: State, workbook: Workbook, key: str, print_: str) -> bool:
    """True if devplan's last write to ``key`` had this fingerprint and nobody has touched it since."""
    last = state.published(key)
    return last is not None and last[0] == print_ and last[1] is not None and last[1] == workbook.version(key)


def fingerprint(tabs: Mapping[str, AnyTab]) -> str:
    """A hash of what devplan would write, look included: equal hashes mean equal tabs."""
    described = {name: as_tab(tab).describe() for name, tab in tabs.items()}
    text = json.dumps(described, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def unit_tabs(env: Environment, summary: UnitSummary, summary_tab: str) -> tuple[dict[str, FormattedTab], str]:
    """A unit's summary tab and the fingerprint of its content (taken on ``UNDATED``: run date aside), its
    template rendered once."""
    shown, undated = parse_dated(render_dated(env, SCHOOL_SHEET, summary))
    return {summary_tab: shown}, fingerprint({summary_tab: undated})


def render_dashboard(
    env: Environment, area: AreaSummary, known: Mapping[str, str] | None = None,
) -> tuple[dict[str, FormattedTab], dict[str, str]]:
    """The dashboard's tabs (the spending ones only when there is spending), each template rendered once,
    and each tab's fingerprint (taken on ``UNDATED``); a tab in ``known`` (tab -> its fingerprint, for tabs
    known unchanged: ``pipeline.unchanged``) is not rendered. The first tab ends with when the directors
    were last mailed (whatever the templates say: devplan reads it back before it sends, see
    ``pipeline.deliver.check_send_log``)."""
    known = known or {}
    first = next(iter(DASHBOARD_TABS))
    tabs: dict[str, FormattedTab] = {}
    prints: dict[str, str] = {}
    for tab, template in dashboard_tabs(area).items():
        if tab in known:
            prints[tab] = known[tab]
            continue
        shown, undated = parse_dated(render_dated(env, template, area))
        if tab == first:
            for each in (shown, undated):
                each.rows.extend(mailed_row(area.mailed, area.mail_in_doubt))
        tabs[tab] = shown
        prints[tab] = fingerprint({tab: undated})
    return tabs, prints


def combined(prints: Mapping[str, str]) -> str:
    """A spreadsheet's fingerprint from its tabs' (tab -> fingerprint): equal when every tab is."""
    return hashlib.sha256(json.dumps(sorted(prints.items()), ensure_ascii=False).encode("utf-8")).hexdigest()


def publish(
    workbook: Workbook,
    env: Environment,
    unit_summaries: dict[str, UnitSummary],
    unit_keys: dict[str, str],
    area: AreaSummary,
    summary_tab: str,
    dashboard_key: str,
    state: State,
    writer: Writer,
    progress: Callable[[str, int, int], None] | None = None,
    known: Mapping[str, str] | None = None,
    dashboard_known: DashboardTabs | None = None,
) -> Published:
    """Write every unit's summary tab and the dashboard through ``writer``, where they changed.

    A tab is unchanged when its fingerprint and the spreadsheet's version are what
    ``state`` remembers from devplan's last write; one this run already wrote early
    (``sync.Overlap``) with the same fingerprint is not written again. ``known``: unit
    code -> the fingerprint of its tab, for units known unchanged (``pipeline.unchanged``):
    not rendered. ``dashboard_known``: the same for the dashboard's tabs, and what each tab of
    devplan's last write of it was: only the tabs that changed are written (every tab when
    someone saved the dashboard since).

    A unit whose spreadsheet refuses the write is that unit's problem: it is
    recorded in ``failed`` and every other unit is still written. The
    dashboard, written last, is the area's: its failure stops the run, unless
    the run only ran out of time (or only checks): then it is kept in ``dashboard``.
    """
    done = Published()
    known = known or {}
    jobs: list[tuple[str | None, str, dict[str, FormattedTab], str]] = []
    for code, summary in unit_summaries.items():
        if code in known:
            jobs.append((code, unit_keys[code], {}, known[code]))
        else:
            jobs.append((code, unit_keys[code], *unit_tabs(env, summary, summary_tab)))
    # What each spreadsheet needs is decided first, so the units' writes can go together (``write_many``):
    # local files are being written from here on, while the dashboard is rendered.
    needs = [UNCHANGED if unit in known else _need(writer, state, workbook, key, print_)
             for unit, key, _, print_ in jobs]
    units = writer.write_many([(key, tabs, print_) for (_, key, tabs, print_), need in zip(jobs, needs) if need is WRITE])
    try:
        memory = dashboard_known or DashboardTabs()
        dashboard, done.dashboard_tabs = render_dashboard(env, area, memory.known)
        dashboard_print = combined(done.dashboard_tabs)
        # the other tabs are as devplan last wrote them (``DashboardTabs.written``): only those that changed
        dashboard = {tab: rows for tab, rows in dashboard.items() if memory.written.get(tab) != done.dashboard_tabs[tab]}
        needs.append(_need(writer, state, workbook, dashboard_key, dashboard_print))
        if not dashboard and needs[-1] is WRITE:  # only which tabs there are changed: all are written again
            dashboard, done.dashboard_tabs = render_dashboard(env, area)
        jobs.append((None, dashboard_key, dashboard, dashboard_print))
        for number, ((unit, key, tabs, print_), need) in enumerate(zip(jobs, needs), start=1):
            if need is EARLY:
                done.written[key] = list(tabs)  # written early this run, and still what it should be
                done.fingerprints[key] = print_
            elif need is UNCHANGED:
                done.unchanged.append(key)
                done.fingerprints[key] = print_
            else:
                if unit is None and len(tabs) < len(done.dashboard_tabs) and not up_to_date(
                        state, workbook, key, combined(memory.written)):
                    # saved by someone since it was found devplan's own: the tabs not written would be theirs
                    tabs, done.dashboard_tabs = render_dashboard(env, area)
                # A unit's failure is its own; the state file's (StateWriteError) is the whole run's and raised.
                outcome = next(units) if unit is not None else attempt(writer.write, key, tabs, print_)
                if outcome is None:
                    done.written[key] = list(tabs)
                    done.fingerprints[key] = print_
                elif unit is not None:
                    done.failed[unit] = outcome
                    continue
                elif isinstance(outcome, NotFinished) or not writer.writes:
                    done.dashboard = outcome
                    continue
                else:
                    raise _partly_done(outcome, done) from outcome
            if progress and unit is not None:
                progress("publish", number, len(jobs) - 1)
    finally:
        # A run stopped early (a state file it cannot write, a bug): the writes under way end first. A unit
        # written but not yet read out of ``units`` is not remembered: the next run writes it again, the same.
        units.close()
        # Even after a failure: what was written is remembered, so a rerun writes only the rest.
        writer.settle(done.written)
    return done


def _need(writer: Writer, state: State, workbook: Workbook, key: str, print_: str) -> str:
    """What spreadsheet ``key`` needs this run: nothing (``EARLY``, ``UNCHANGED``) or a ``WRITE``."""
    if writer.wrote.get(key) == print_:
        return EARLY
    return UNCHANGED if up_to_date(state, workbook, key, print_) else WRITE


#: what a spreadsheet needs this run: nothing (written early this run, or unchanged since), or a write
EARLY, UNCHANGED, WRITE = "early", "unchanged", "write"


def _partly_done(exc: PipelineError, done: Published) -> PipelineError:
    """The dashboard failed: say exactly which spreadsheets this run already changed."""
    if not done.written:
        return exc
    shown = ", ".join(list(done.written)[:10]) + (f" และอีก {len(done.written) - 10} ไฟล์" if len(done.written) > 10 else "")
    return exc.__class__(
        f"{exc.message} (รอบนี้เขียนแท็บสรุปผลใหม่แล้ว {len(done.written)} สเปรดชีต: {shown}; ยังไม่ได้ส่งอีเมล)",
        f"{exc.hint} เมื่อแก้แล้วสั่งรันใหม่: devplan จะเขียนเฉพาะส่วนที่ยังไม่ได้เขียนและส่งอีเมลที่ยังไม่ได้ส่ง".strip(),
    )
