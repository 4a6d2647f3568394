"""The area progress report: the plan's own table, with this year's results, per district and area.

The spreadsheets are read and normalized once; the indicators are then measured
for every fiscal year that has data (up to the report's year), so each row can
show a trend. The report is one self-contained HTML page (inline CSS and SVG,
autoescaped by Jinja); the PDF is that page printed by ``pipeline.pdf`` (WeasyPrint,
or headless Chromium where asked for).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from pipeline.config import Settings
from pipeline.indicators import Indicator, Scores, measure
from pipeline.indicators.compute import AREA, OFFICE_GROUP
from pipeline.needs import NO_FORM, Needs
from pipeline.normalize import Normalized
from pipeline.pdf import check_engine, choose_engine, print_pdf
from pipeline.plan_progress import AreaProgress
from pipeline.render import render_text
from pipeline.spending import AreaSpending
from pipeline.summaries import AreaSummary, Counts, RunFacts
from pipeline.sync import Prepared, opened, prepare
from pipeline.workbook import Workbook

log = logging.getLogger(__name__)

TEMPLATE = "report.html"
#: Names of the plan's strategies (ส่วนที่ ๓), by number; a number not listed is shown by number only.
STRATEGY_NAMES = {
    2: "การพัฒนาคุณภาพผู้เรียน และส่งเสริมการจัดการศึกษาเพื่อสร้างขีดความสามารถในการแข่งขัน",
    3: "ส่งเสริมการพัฒนาครูและบุคลากรทางการศึกษา",
}
#: The trend shows at most this many fiscal years, the latest ones.
TREND_YEARS = 6


@dataclass
class YearlyScores:
    """The run's data measured once per fiscal year."""

    #: the report's year, prepared as a sync prepares it (a unit left out there is left out here)
    prepared: Prepared
    #: fiscal year -> scores, oldest first; always holds the report's year
    by_year: dict[int, Scores]

    @property
    def year(self) -> int:
        return self.prepared.facts.fiscal_year

    @property
    def data(self) -> Normalized:
        return self.prepared.data

    @property
    def indicators(self) -> list[Indicator]:
        return self.prepared.indicators


def collect_and_measure(
    settings: Settings, workbook: Workbook | None = None, today: date | None = None
) -> YearlyScores:
    """``prepare`` the report's year (as a sync does), then measure every earlier fiscal year with data."""
    with opened(settings, workbook) as (_, book):
        ready = prepare(settings, book, today=today)
    year = settings.area.fiscal_year
    years = trend_years(ready.data, ready.indicators, year)
    log.info("report: measuring fiscal years %s", years)
    by_year = {y: ready.scores if y == year else measure(ready.data, ready.indicators, y, ready.topics) for y in years}
    return YearlyScores(ready, by_year)


def trend_years(data: Normalized, indicators: list[Indicator], year: int) -> list[int]:
    """Fiscal years with plan or done-development rows, not after ``year`` nor before the plan."""
    done = data.records.loc[data.records["done"].astype(bool), "fiscal_year"]
    with_data = {int(y) for y in pd.concat([data.plans["fiscal_year"], done]).dropna()}
    planned = {y for ind in indicators for y in ind.targets}
    first = min(planned) if planned else min(with_data | {year})
    return sorted(y for y in with_data | {year} if first <= y <= year)[-TREND_YEARS:]


@dataclass(frozen=True)
class YearResult:
    """One indicator's result in one fiscal year, for one table."""

    year: int
    population: int
    met: int
    percent: float | None
    target: float | None
    status: str


@dataclass(frozen=True)
class PlanRow:
    """One indicator's row of the plan's table: its wording, targets, this year's result and its trend."""

    id: str
    project: str
    name: str
    short_name: str
    unit: str
    targets: dict[int, float]
    result: YearResult
    trend: list[YearResult]


@dataclass
class Strategy:
    number: int
    name: str
    rows: list[PlanRow] = field(default_factory=list)


@dataclass(frozen=True)
class Section:
    """One table of the plan's shape: the area, a district or the office."""

    title: str
    level: str
    key: str
    schools: int
    staff: int
    is_office: bool
    strategies: list[Strategy]


@dataclass(frozen=True)
class NeedRow:
    """One topic of the ranked "ความต้องการที่ยังไม่ได้รับการพัฒนา" section."""

    rank: int
    topic: str
    asked: int
    met: int
    unmet: int
    percent_met: float | None
    #: (district, people still waiting) where someone waits, most first
    districts: list[tuple[str, int]]
    #: (form, people still waiting who want it), most first; "ไม่ระบุ" last
    forms: list[tuple[str, int]]


@dataclass(frozen=True)
class NeedsPart:
    """The report's needs section: topics someone asked for, most people still waiting first."""

    people: int
    people_waiting: int
    rows: list[NeedRow]
    #: the longest bar of the chart: the most people asking for one topic
    most_asked: int
    #: topic texts that name no topic, and the rows using them (counted in no topic)
    unmatched: int
    unmatched_rows: int


@dataclass(frozen=True)
class ReportPage:
    """Everything the report template shows."""

    run: RunFacts
    counts: Counts
    plan_years: list[int]
    trend_years: list[int]
    sections: list[Section]
    first_plan_year: int
    last_plan_year: int
    needs: NeedsPart
    #: own-plan progress per district (plan against completed developments)
    plan: AreaProgress
    #: spending per source and district; None when no record tab has the cost column
    spending: AreaSpending | None


def report_context(measured: YearlyScores) -> ReportPage:
    """Everything the report template shows."""
    year = measured.year
    summary: AreaSummary = measured.prepared.area
    plan_years = sorted({y for ind in measured.indicators for y in ind.targets} | {year})
    sections = [_section("ภาพรวมเขตพื้นที่", AREA, AREA, summary.counts.schools, summary.counts.staff, measured)]
    sections += [_section(d.name, "district", d.name, d.schools, d.staff, measured) for d in summary.districts]
    return ReportPage(
        run=measured.prepared.facts, counts=summary.counts, plan_years=plan_years,
        trend_years=list(measured.by_year), sections=sections,
        first_plan_year=plan_years[0], last_plan_year=plan_years[-1], needs=needs_part(summary.needs),
        plan=summary.plan, spending=summary.spending,
    )


def needs_part(needs: Needs) -> NeedsPart:
    """The ranked needs of the year, with where people wait and the forms they want."""
    rows = []
    for t in needs.asked_topics:
        districts = sorted(((d, c.unmet) for d, c in zip(needs.districts, t.by_district) if c.unmet),
                           key=lambda pair: -pair[1])
        forms = sorted(((f, n) for f, n in zip(needs.forms, t.waiting_by_form) if n),
                       key=lambda pair: (pair[0] == NO_FORM, -pair[1]))
        rows.append(NeedRow(t.rank, t.topic, t.asked, t.met, t.unmet, t.percent_met, districts, forms))
    return NeedsPart(
        people=needs.people, people_waiting=needs.people_waiting, rows=rows,
        most_asked=max((r.asked for r in rows), default=0),
        unmatched=len(needs.unmatched), unmatched_rows=needs.unmatched_rows,
    )


def _section(title: str, level: str, key: str, schools: int, staff: int, measured: YearlyScores) -> Section:
    """One table of the plan's shape: strategies, each with its projects and indicators."""
    tables = {y: s.for_level(level, key).set_index("indicator") for y, s in measured.by_year.items()}
    strategies: list[Strategy] = []
    for ind in measured.indicators:
        if not strategies or strategies[-1].number != ind.strategy:
            strategies.append(Strategy(ind.strategy, STRATEGY_NAMES.get(ind.strategy, "")))
        trend = [_result(tables[y], ind, y) for y in measured.by_year]
        strategies[-1].rows.append(PlanRow(
            id=ind.id, project=ind.project, name=ind.name, short_name=ind.short_name, unit=ind.unit,
            targets=dict(ind.targets), result=trend[-1], trend=trend,
        ))
    return Section(title, level, key, schools, staff, key == OFFICE_GROUP, strategies)


def _result(table: pd.DataFrame, ind: Indicator, year: int) -> YearResult:
    row = table.loc[ind.id]
    percent = None if pd.isna(row["percent"]) else float(row["percent"])
    return YearResult(year, int(row["population"]), int(row["met"]), percent, ind.target(year), row["status"])


def render_report(measured: YearlyScores) -> str:
    return render_text(measured.prepared.env, TEMPLATE, report_context(measured))


def default_output(year: int, fmt: str) -> Path:
    return Path(f"devplan-report-{year}.{fmt}")


def write_report(
    settings: Settings, fmt: str = "pdf", out: Path | None = None, *,
    workbook: Workbook | None = None, today: date | None = None, engine: str | None = None,
) -> Path:
    """Write the report for ``settings.area.fiscal_year`` as HTML or PDF; returns the file written.

    ``engine`` prints the PDF (``pipeline.pdf.ENGINES``); None: DEVPLAN_PDF_ENGINE, else WeasyPrint.
    """
    year = settings.area.fiscal_year
    out = out or default_output(year, fmt)
    if fmt == "pdf":
        engine = choose_engine(engine)
        check_engine(engine)  # before the slow part
    measured = collect_and_measure(settings, workbook, today)
    html = render_report(measured)
    if fmt == "html":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
        return out
    assert engine is not None
    print_pdf(html, out, engine)
    return out
