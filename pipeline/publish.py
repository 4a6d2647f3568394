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
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Callable, Mapping

from jinja2 import Environment

from pipeline.errors import PipelineError, PublishError
from pipeline.render import render_tab
from pipeline.state import State
from pipeline.workbook import Workbook
from pipeline.workbook.layout import AnyTab, FormattedTab, as_tab

SCHOOL_SHEET = "school_sheet.tsv"
#: dashboard tab name -> template
DASHBOARD_TABS = {
    "ภาพรวมเขตพื้นที่": "dashboard_area.tsv",
    "รายอำเภอ": "dashboard_districts.tsv",
    "รายหน่วยงาน": "dashboard_units.tsv",
    "ข้อมูลที่ต้องแก้ไข": "dashboard_issues.tsv",
    "ปรับแก้อัตโนมัติ": "dashboard_notes.tsv",
}
FIXED_DATE = date(2000, 1, 1)

log = logging.getLogger(__name__)


@dataclass
class Published:
    #: spreadsheet key -> tabs written
    written: dict[str, list[str]] = field(default_factory=dict)
    #: spreadsheet keys whose tabs were already up to date (same content, untouched since)
    unchanged: list[str] = field(default_factory=list)
    #: unit code -> the Thai reason its summary could not be written
    failed: dict[str, PublishError] = field(default_factory=dict)

    @property
    def write_calls(self) -> int:
        return len(self.written)


def render_dashboard(env: Environment, summary: dict[str, Any]) -> dict[str, FormattedTab]:
    return {tab: render_tab(env, template, summary) for tab, template in DASHBOARD_TABS.items()}


def fingerprint(tabs: Mapping[str, AnyTab]) -> str:
    """A hash of what devplan would write, look included: equal hashes mean equal tabs."""
    described = {name: as_tab(tab).describe() for name, tab in tabs.items()}
    text = json.dumps(described, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def without_run_date(summary: dict[str, Any]) -> dict[str, Any]:
    """The same summary on a fixed date, so the date alone never makes a tab look changed."""
    return {**summary, "run": replace(summary["run"], generated_on=FIXED_DATE)}


def publish(
    workbook: Workbook,
    env: Environment,
    unit_summaries: dict[str, dict[str, Any]],
    unit_keys: dict[str, str],
    area: dict[str, Any],
    summary_tab: str,
    dashboard_key: str,
    state: State,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    dry_run: bool = False,
) -> Published:
    """Write every unit's summary tab and the dashboard, where they changed.

    ``dry_run``: write nothing and remember nothing; ``written`` lists what would be written.

    A unit whose spreadsheet refuses the write is that unit's problem: it is
    recorded in ``failed`` and every other unit is still written. The
    dashboard, written last, is the area's: its failure stops the run.
    """
    done = Published()
    jobs: list[tuple[str | None, str, dict[str, FormattedTab], str]] = []
    for code, summary in unit_summaries.items():
        tabs = {summary_tab: render_tab(env, SCHOOL_SHEET, summary)}
        stable = {summary_tab: render_tab(env, SCHOOL_SHEET, without_run_date(summary))}
        jobs.append((code, unit_keys[code], tabs, fingerprint(stable)))
    jobs.append((None, dashboard_key, render_dashboard(env, area),
                 fingerprint(render_dashboard(env, without_run_date(area)))))
    try:
        for number, (unit, key, tabs, print_) in enumerate(jobs, start=1):
            last = state.published(key)
            if last is not None and last[0] == print_ and last[1] is not None and last[1] == workbook.version(key):
                done.unchanged.append(key)
            elif dry_run:
                done.written[key] = list(tabs)  # would be written
            else:
                try:
                    workbook.write(key, tabs)
                except PublishError as exc:
                    if unit is None:
                        raise _partly_done(exc, done) from exc
                    done.failed[unit] = exc
                    continue
                state.record_published(key, print_)
                done.written[key] = list(tabs)
            if progress and unit is not None:
                progress("publish", number, len(jobs) - 1)
    finally:
        # Even after a failure: what was written is remembered, so a rerun writes only the rest.
        if not dry_run:
            _settle(workbook, state, done)
    return done


def _partly_done(exc: PublishError, done: Published) -> PublishError:
    """The dashboard failed: say exactly which spreadsheets this run already changed."""
    if not done.written:
        return exc
    shown = ", ".join(list(done.written)[:10]) + (f" และอีก {len(done.written) - 10} ไฟล์" if len(done.written) > 10 else "")
    return PublishError(
        f"{exc.message} (รอบนี้เขียนแท็บสรุปผลใหม่แล้ว {len(done.written)} สเปรดชีต: {shown}; ยังไม่ได้ส่งอีเมล)",
        f"{exc.hint} เมื่อแก้แล้วสั่งรันใหม่: devplan จะเขียนเฉพาะส่วนที่ยังไม่ได้เขียนและส่งอีเมลที่ยังไม่ได้ส่ง".strip(),
    )


def _settle(workbook: Workbook, state: State, done: Published) -> None:
    """Learn and keep the version each written spreadsheet now has."""
    try:
        workbook.finish()
    except PipelineError as exc:  # the versions stay unknown: those tabs are simply written again
        log.warning("could not learn the versions of the spreadsheets written: %s", exc.message)
        return
    for key in done.written:
        version = workbook.version(key)
        if version is not None:
            state.record_version(key, version)
