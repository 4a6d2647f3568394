"""Publish: write the summary tab into each unit's spreadsheet, and the area dashboard.

One write call per spreadsheet. Only tabs devplan owns are replaced; the tabs
staff edit are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from jinja2 import Environment

from pipeline.render import render_sheet
from pipeline.workbook import Table, Workbook

SCHOOL_SHEET = "school_sheet.tsv"
#: dashboard tab name -> template
DASHBOARD_TABS = {
    "ภาพรวมเขตพื้นที่": "dashboard_area.tsv",
    "รายอำเภอ": "dashboard_districts.tsv",
    "รายหน่วยงาน": "dashboard_units.tsv",
    "ข้อมูลที่ต้องแก้ไข": "dashboard_issues.tsv",
    "ปรับแก้อัตโนมัติ": "dashboard_notes.tsv",
}


@dataclass
class Published:
    #: spreadsheet key -> tabs written
    written: dict[str, list[str]] = field(default_factory=dict)

    @property
    def write_calls(self) -> int:
        return len(self.written)


def render_dashboard(env: Environment, summary: dict[str, Any]) -> dict[str, Table]:
    return {tab: render_sheet(env, template, summary) for tab, template in DASHBOARD_TABS.items()}


def publish(
    workbook: Workbook,
    env: Environment,
    unit_summaries: dict[str, dict[str, Any]],
    unit_keys: dict[str, str],
    area: dict[str, Any],
    summary_tab: str,
    dashboard_key: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> Published:
    """Write every unit's summary tab and the dashboard; return what was written where."""
    done = Published()
    for number, (code, summary) in enumerate(unit_summaries.items(), start=1):
        key = unit_keys[code]
        tabs = {summary_tab: render_sheet(env, SCHOOL_SHEET, summary)}
        workbook.write(key, tabs)
        done.written[key] = list(tabs)
        if progress:
            progress("publish", number, len(unit_summaries))
    tabs = render_dashboard(env, area)
    workbook.write(dashboard_key, tabs)
    done.written[dashboard_key] = list(tabs)
    return done
