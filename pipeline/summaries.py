"""Summaries: the plain values each template receives, built from the run's frames.

Pure and template-agnostic: one ``UnitSummary`` per unit (its own staff only)
and one ``AreaSummary``, dataclasses whose fields a template reads as it would
a dict's keys (``{{ unit.name }}``). National IDs are masked here, so no
template can show one whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from pipeline.config import Settings
from pipeline.indicators import Indicator, Scores
from pipeline.indicators.compute import AREA, OFFICE_GROUP
from pipeline.needs import Needs
from pipeline.normalize import Normalized, frame_rows, reading_order
from pipeline.plan_progress import AreaProgress, OwnPlans, UnitProgress, area_progress, unit_progress
from pipeline.spending import AreaSpending, Spending, UnitSpending, area_spending, unit_spending
from pipeline.thai import clean_text, mask_ids_in_text, mask_national_id
from pipeline.workbook.layout import clip

#: the most characters of a staff cell a reason quotes (enough to find it; a pasted essay is cut, visibly)
QUOTED = 1000


@dataclass
class RunFacts:
    """What every summary shows about the run itself."""

    fiscal_year: int
    generated_on: date
    area_name: str
    area_short_name: str
    #: the tab devplan writes into each unit's spreadsheet, named in the e-mail
    summary_tab: str


def run_facts(settings: Settings, today: date) -> RunFacts:
    """The run's facts for ``settings.area.fiscal_year``, dated ``today``."""
    return RunFacts(
        fiscal_year=settings.area.fiscal_year,
        generated_on=today,
        area_name=settings.area.name,
        area_short_name=settings.area.short_name or settings.area.name,
        summary_tab=settings.output.summary_tab,
    )


@dataclass(frozen=True)
class IndicatorRow:
    """One indicator's result for one unit, district or the area."""

    id: str
    strategy: int
    name: str
    short_name: str
    #: what is counted: "staff" or "unit"
    unit: str
    population: int
    met: int
    #: None when nobody is counted
    percent: float | None
    #: the year's target; None when the plan sets none
    target: float | None
    status: str
    #: the plan's target for every fiscal year, oldest first
    targets: dict[int, float]


@dataclass(frozen=True)
class Person:
    """One member of staff as their director sees them."""

    name: str
    masked_id: str
    position: str
    standing: str
    work_group: str
    has_plan: bool
    done_count: int
    hours: float | int
    surveyed: bool
    #: short names of the indicators that count them and are not met
    missing: list[str]


@dataclass(frozen=True)
class Issue:
    """A row that could not be used (or was repaired), where it is and why."""

    sheet: str
    tab: str
    row: int
    unit_code: str
    reason: str
    value: str


@dataclass(frozen=True)
class Unit:
    """A school or the office, as its summary names it."""

    code: str
    name: str
    kind: str
    district: str
    director_email: str
    stem: bool
    students: int
    classrooms: int
    #: ``โรงเรียนบ้านนา``: the name as it is written to the director
    full_name: str
    #: whom the e-mail is addressed to
    addressee: str


@dataclass(frozen=True)
class UnitSummary:
    """Everything one unit's director sees: its indicators, its own staff, its rows to fix."""

    run: RunFacts
    unit: Unit
    indicators: list[IndicatorRow]
    #: only the indicators that count someone in this unit (the mail leaves the others out)
    indicators_counted: list[IndicatorRow]
    staff: list[Person]
    issues: list[Issue]
    notes: list[Issue]
    #: each person's own plan against what they completed, and who is behind it
    plan: UnitProgress
    #: what development cost; None when the unit's record tab has no cost column
    spending: UnitSpending | None


@dataclass(frozen=True)
class Counts:
    """The area's sizes, and how many rows need a person or were repaired."""

    schools: int
    units: int
    staff: int
    students: int
    classrooms: int
    survey: int
    plans: int
    records: int
    quarantined: int
    notes: int


@dataclass(frozen=True)
class DistrictRow:
    name: str
    schools: int
    staff: int
    indicators: list[IndicatorRow]


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    district: str
    kind: str
    staff: int
    issues: int
    indicators: list[IndicatorRow]


@dataclass(frozen=True)
class AreaSummary:
    """The dashboard's values: the area, each district, each unit, and every row to fix."""

    run: RunFacts
    indicators: list[IndicatorRow]
    definitions: list[Indicator]
    counts: Counts
    districts: list[DistrictRow]
    units: list[UnitRow]
    issues: list[Issue]
    notes: list[Issue]
    #: development needs: demand per topic, cohorts still waiting, topic texts to map (pipeline.needs)
    needs: Needs
    #: own-plan progress per district and unit, in counts
    plan: AreaProgress
    #: spending per source, district, unit and teacher; None when no record tab has a cost column
    spending: AreaSpending | None
    #: when devplan last mailed the directors (the dashboard says so; see ``pipeline.deliver``)
    mailed: datetime | None = None
    #: unit code -> its message in doubt (a send cut off on its way) and what to do, as the run's report says it
    mail_in_doubt: dict[str, str] = field(default_factory=dict)


def indicator_rows(scores: Scores, level: str, key: str) -> list[IndicatorRow]:
    """The indicator table of one unit, district or the area, in the plan's order."""
    table = scores.totals_of(level, key)
    rows = []
    for ind in scores.indicators:
        total = table[ind.id]
        rows.append(
            IndicatorRow(
                id=ind.id, strategy=ind.strategy, name=ind.name, short_name=ind.short_name,
                unit=ind.unit, population=int(total["population"]), met=int(total["met"]),
                percent=_maybe(total["percent"]), target=_maybe(total["target"]),
                status=total["status"], targets=dict(sorted(ind.targets.items())),
            )
        )
    return rows


def unit_summaries(
    data: Normalized, scores: Scores, facts: RunFacts, own: OwnPlans, spent: Spending | None
) -> dict[str, UnitSummary]:
    """One summary per unit, keyed by unit code; per-person figures and rows to fix are worked out once."""
    people = _people(data, scores, facts.fiscal_year)
    issues, notes = _issues_by_unit(data.quarantine), _issues_by_unit(data.notes)
    return {
        unit["code"]: unit_summary(unit, people.get(unit["code"], []), scores, facts, own, spent,
                                   issues.get(unit["code"], []), notes.get(unit["code"], []))
        for unit in frame_rows(data.units)
    }


def _people(data: Normalized, scores: Scores, fiscal_year: int) -> dict[str, list[dict[str, Any]]]:
    """Every person with the figures their director sees, by unit code, in reading order within a unit."""
    plans = set(data.plans.loc[data.plans["fiscal_year"] == fiscal_year, "staff_id"])
    done = data.records[(data.records["fiscal_year"] == fiscal_year) & data.records["done"].astype(bool)]
    done_count = done.groupby("staff_id").size().to_dict()
    hours = done.groupby("staff_id")["hours"].sum().to_dict()
    surveyed = set(data.survey["staff_id"])
    short = {i.id: i.short_name for i in scores.indicators}
    unmet = scores.people[~scores.people["met"].astype(bool)]
    missing = unmet.groupby("staff_id")["indicator"].agg(list).to_dict()
    found: dict[str, list[dict[str, Any]]] = {}
    for p in frame_rows(reading_order(data.staff)):
        sid = p["staff_id"]
        found.setdefault(p["unit_code"], []).append({
            "staff_id": sid, "name": p["display_name"], "masked_id": mask_national_id(sid),
            "position": p["position"], "standing": p["standing"], "work_group": p["work_group"],
            "has_plan": sid in plans, "done_count": int(done_count.get(sid, 0)),
            "hours": _hours(hours.get(sid, 0)), "surveyed": sid in surveyed,
            "missing": [short[i] for i in missing.get(sid, [])],
        })
    return found


#: How a school's name is sometimes shortened in front of the village name.
SCHOOL_PREFIXES = ("โรงเรียน", "ร.ร.", "รร.")


def full_unit_name(name: str, kind: str) -> str:
    """A school's name as it is written to its director: ``โรงเรียนบ้านนา`` (never doubled)."""
    name = clean_text(name)
    if kind != "school":
        return name
    for prefix in SCHOOL_PREFIXES:
        if name.startswith(prefix):
            return "โรงเรียน" + name[len(prefix):].lstrip()
    return "โรงเรียน" + name


def addressee(name: str, kind: str) -> str:
    """Whom a unit's e-mail is addressed to: the school's or the area office's director."""
    return "ผู้อำนวยการ" + full_unit_name(name, kind)


def unit_summary(
    unit: dict[str, Any], people: list[dict[str, Any]], scores: Scores, facts: RunFacts,
    own: OwnPlans, spent: Spending | None, issues: list[Issue], notes: list[Issue],
) -> UnitSummary:
    """Everything one unit's director sees: its indicators, its own staff (``people``), its rows to fix."""
    code = unit["code"]
    indicators = indicator_rows(scores, "unit", code)
    plans = [own.people[p["staff_id"]] for p in people if p["staff_id"] in own.people]
    return UnitSummary(
        run=facts,
        unit=Unit(
            code=code, name=unit["name"], kind=unit["kind"], district=unit["district"],
            director_email=unit["director_email"], stem=bool(unit["stem"]),
            students=int(unit["students"]), classrooms=int(unit["classrooms"]),
            full_name=full_unit_name(unit["name"], unit["kind"]),
            addressee=addressee(unit["name"], unit["kind"]),
        ),
        indicators=indicators,
        indicators_counted=[row for row in indicators if row.population > 0],
        staff=[Person(**{k: v for k, v in person.items() if k != "staff_id"}) for person in people],
        issues=issues,
        notes=notes,
        plan=unit_progress(own.checkpoint, unit["name"], plans, len(people)),
        spending=unit_spending(spent, code, unit["name"]),
    )


def area_summary(
    data: Normalized, scores: Scores, facts: RunFacts, settings: Settings, needs: Needs, own: OwnPlans,
    spent: Spending | None,
) -> AreaSummary:
    """The dashboard's values: the area, each district, each unit, and every row to fix."""
    groups = [*settings.area.districts]
    groups += [g for g in scores.for_level("district")["key"].unique() if g not in groups]
    units_by_group: dict[str, pd.DataFrame] = {}
    for group in groups:
        if group == OFFICE_GROUP:
            units_by_group[group] = data.units[data.units["kind"] == "office"]
        else:
            units_by_group[group] = data.units[(data.units["kind"] == "school") & (data.units["district"] == group)]
    units_by_group = {g: m for g, m in units_by_group.items() if not scores.for_level("district", g).empty}
    staff_count = data.staff.groupby("unit_code").size()
    issue_count = data.quarantine.groupby("unit_code").size()
    districts = [
        DistrictRow(
            name=group, schools=int((members["kind"] == "school").sum()),
            staff=int(sum(staff_count.get(c, 0) for c in members["code"])),
            indicators=indicator_rows(scores, "district", group),
        )
        for group, members in units_by_group.items()
    ]
    codes_by_group = {group: list(members["code"]) for group, members in units_by_group.items()}
    district_of = {u.code: u.district if u.kind == "school" else OFFICE_GROUP for u in data.units.itertuples()}
    units = [
        UnitRow(
            code=u.code, name=u.name, district=district_of[u.code],
            kind=u.kind, staff=int(staff_count.get(u.code, 0)),
            issues=int(issue_count.get(u.code, 0)),
            indicators=indicator_rows(scores, "unit", u.code),
        )
        for u in data.units.itertuples()
    ]
    return AreaSummary(
        run=facts,
        indicators=indicator_rows(scores, AREA, AREA),
        definitions=scores.indicators,
        counts=Counts(
            schools=int((data.units["kind"] == "school").sum()),
            units=len(data.units), staff=len(data.staff),
            students=int(data.units["students"].sum()), classrooms=int(data.units["classrooms"].sum()),
            survey=len(data.survey), plans=len(data.plans), records=len(data.records),
            quarantined=len(data.quarantine), notes=len(data.notes),
        ),
        districts=districts,
        units=units,
        issues=_issues(data.quarantine),
        notes=_issues(data.notes),
        needs=needs,
        plan=area_progress(own, facts.area_name, codes_by_group, data.staff, data.units, district_of),
        spending=area_spending(spent, facts.area_name, codes_by_group, data.units, district_of),
    )


def _issues(frame: pd.DataFrame) -> list[Issue]:
    """Every row of a quarantine or notes frame, by sheet, tab and row."""
    return [
        Issue(sheet=r["_sheet"], tab=r["_tab"], row=int(r["_row"]), unit_code=r["unit_code"],
              reason=mask_ids_in_text(r["reason"]), value=clip(mask_ids_in_text(clean_text(r["value"])), QUOTED))
        for r in frame_rows(frame.sort_values(["_sheet", "_tab", "_row"]))
    ]


def _issues_by_unit(frame: pd.DataFrame) -> dict[str, list[Issue]]:
    """``_issues`` of each unit code, sorted once for all units."""
    found: dict[str, list[Issue]] = {}
    for issue in _issues(frame):
        found.setdefault(issue.unit_code, []).append(issue)
    return found


def _maybe(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _hours(value: Any) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else round(number, 1)
