"""The area progress report: the plan's own table, with this year's results, per district and area.

The spreadsheets are read and normalized once; the indicators are then measured
for every fiscal year that has data (up to the report's year), so each row can
show a trend. The report is one self-contained HTML page (inline CSS and SVG,
autoescaped by Jinja); the PDF is that page printed by ``pipeline.pdf`` (WeasyPrint,
or headless Chromium where asked for).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.collect import read_idplans, read_sources
from pipeline.config import Settings
from pipeline.indicators import Indicator, Scores, load_indicators, measure
from pipeline.indicators.compute import AREA, OFFICE_GROUP
from pipeline.normalize import Normalized, leave_out, normalize, unit_codes
from pipeline.pdf import check_engine, choose_engine, print_pdf
from pipeline.render import build_environment, render_text
from pipeline.state import State
from pipeline.summaries import RunFacts, area_summary
from pipeline.workbook import Workbook, open_workbook

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

    data: Normalized
    indicators: list[Indicator]
    #: fiscal year -> scores, oldest first; always holds the report's year
    by_year: dict[int, Scores]
    year: int

    @property
    def scores(self) -> Scores:
        return self.by_year[self.year]


def collect_and_measure(settings: Settings, year: int, workbook: Workbook | None = None) -> YearlyScores:
    """collect → normalize once (as ``pipeline.sync`` does), then measure every fiscal year up to ``year``."""
    indicators = load_indicators(settings.indicators.file, settings.vocabulary.development_kinds)
    with State(settings.storage.state) as state:
        book = workbook or open_workbook(settings.storage, state)
        raw = read_sources(book, settings)
        raw = read_idplans(book, settings, raw, unit_codes(raw.units, settings.area.office_code))
    # A unit whose spreadsheet could not be read is left out, exactly as in the sync's figures.
    problems = {code: str(error) for code, error in raw.unit_problems.items()}
    keys = {code: settings.sources.idplan.key_for(code) for code in problems}
    data = leave_out(normalize(raw, settings), problems, keys)
    years = trend_years(data, indicators, year)
    log.info("report: measuring fiscal years %s", years)
    return YearlyScores(data, indicators, {y: measure(data, indicators, y) for y in years}, year)


def trend_years(data: Normalized, indicators: list[Indicator], year: int) -> list[int]:
    """Fiscal years with plan or done-development rows, not after ``year`` nor before the plan."""
    done = data.records.loc[data.records["done"].astype(bool), "fiscal_year"]
    with_data = {int(y) for y in pd.concat([data.plans["fiscal_year"], done]).dropna()}
    planned = {y for ind in indicators for y in ind.targets}
    first = min(planned) if planned else min(with_data | {year})
    return sorted(y for y in with_data | {year} if first <= y <= year)[-TREND_YEARS:]


def report_context(
    settings: Settings, measured: YearlyScores, today: date | None = None
) -> dict[str, Any]:
    """Everything the report template shows."""
    year = measured.year
    facts = RunFacts(
        fiscal_year=year, generated_on=today or date.today(), area_name=settings.area.name,
        area_short_name=settings.area.short_name or settings.area.name, summary_tab=settings.output.summary_tab,
    )
    summary = area_summary(measured.data, measured.scores, facts, settings)
    plan_years = sorted({y for ind in measured.indicators for y in ind.targets} | {year})
    sections = [
        _section("ภาพรวมเขตพื้นที่", AREA, AREA, summary["counts"]["schools"], summary["counts"]["staff"], measured)
    ]
    sections += [
        _section(d["name"], "district", d["name"], d["schools"], d["staff"], measured) for d in summary["districts"]
    ]
    return {
        "run": facts,
        "counts": summary["counts"],
        "plan_years": plan_years,
        "trend_years": list(measured.by_year),
        "sections": sections,
        "first_plan_year": plan_years[0],
        "last_plan_year": plan_years[-1],
    }


def _section(title: str, level: str, key: str, schools: int, staff: int, measured: YearlyScores) -> dict[str, Any]:
    """One table of the plan's shape: strategies, each with its projects and indicators."""
    tables = {y: s.for_level(level, key).set_index("indicator") for y, s in measured.by_year.items()}
    strategies: list[dict[str, Any]] = []
    for ind in measured.indicators:
        if not strategies or strategies[-1]["number"] != ind.strategy:
            strategies.append({"number": ind.strategy, "name": STRATEGY_NAMES.get(ind.strategy, ""), "rows": []})
        trend = [_result(tables[y], ind, y) for y in measured.by_year]
        strategies[-1]["rows"].append(
            {
                "id": ind.id, "project": ind.project, "name": ind.name, "short_name": ind.short_name,
                "unit": ind.unit, "targets": dict(ind.targets), "result": trend[-1], "trend": trend,
            }
        )
    return {"title": title, "level": level, "key": key, "schools": schools, "staff": staff,
            "is_office": key == OFFICE_GROUP, "strategies": strategies}


def _result(table: pd.DataFrame, ind: Indicator, year: int) -> dict[str, Any]:
    row = table.loc[ind.id]
    percent = None if pd.isna(row["percent"]) else float(row["percent"])
    return {"year": year, "population": int(row["population"]), "met": int(row["met"]), "percent": percent,
            "target": ind.target(year), "status": row["status"]}


def render_report(settings: Settings, context: dict[str, Any]) -> str:
    return render_text(build_environment(settings.output.templates), TEMPLATE, context)


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
    measured = collect_and_measure(settings, year, workbook)
    html = render_report(settings, report_context(settings, measured, today))
    if fmt == "html":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
        return out
    assert engine is not None
    print_pdf(html, out, engine)
    return out
