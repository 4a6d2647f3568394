"""Measure each indicator per person or unit, then add up per unit, district and area.

Pure: takes the normalized frames, the definitions and a fiscal year; returns frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.indicators.definitions import Indicator
from pipeline.normalize import Normalized, frame_rows
from pipeline.topics import TopicVocabulary, contains_either

OFFICE_GROUP = "สำนักงานเขตพื้นที่การศึกษา"
AREA = "area"

STATUS_MET = "ผ่าน"
STATUS_NOT_MET = "ยังไม่ผ่าน"
STATUS_NO_TARGET = "ไม่มีเป้าหมาย"
STATUS_EMPTY = "ไม่มีผู้อยู่ในกลุ่มเป้าหมาย"

TABLE_COLUMNS = ["level", "key", "indicator", "population", "met", "percent", "target", "status"]


@dataclass
class Scores:
    fiscal_year: int
    indicators: list[Indicator]
    #: one row per (person, staff indicator) the person is counted in: staff_id, unit_code, indicator, met
    people: pd.DataFrame
    #: one row per (unit, unit indicator): unit_id, unit_code, indicator, met
    units: pd.DataFrame
    #: totals: level ("unit" | "district" | "area"), key, indicator, population, met, percent, target, status
    table: pd.DataFrame
    _totals: dict[tuple[str, str], dict[str, dict[str, Any]]] | None = field(default=None, init=False, repr=False, compare=False)

    def for_level(self, level: str, key: str | None = None) -> pd.DataFrame:
        rows = self.table[self.table["level"] == level]
        return rows if key is None else rows[rows["key"] == key]

    def totals_of(self, level: str, key: str) -> dict[str, dict[str, Any]]:
        """Indicator ID -> its totals row for one unit, district or the area (the table grouped once)."""
        if self._totals is None:
            self._totals = {}
            for row in frame_rows(self.table):
                self._totals.setdefault((row["level"], row["key"]), {})[row["indicator"]] = row
        return self._totals.get((level, key), {})


def measure(
    data: Normalized, indicators: list[Indicator], fiscal_year: int, topics: TopicVocabulary | None = None
) -> Scores:
    """Every indicator for ``fiscal_year`` (Buddhist era).

    ``topics`` decides when a development's topic is a survey need (``matches_survey_need``);
    without one, a topic matches a need when either names the other (``topic_matches``).
    """
    topics = topics or TopicVocabulary()
    people, units = [], []
    unit_ids = _unit_ids(data)
    for ind in indicators:
        if ind.unit == "staff":
            counted = _staff_population(data, ind)
            met = _staff_evidence(data, ind, fiscal_year, topics)
            people.append(
                counted[["staff_id", "unit_code"]].assign(
                    indicator=ind.id, met=counted["staff_id"].isin(met)
                )
            )
        else:
            counted = _unit_population(unit_ids, ind)
            met = _unit_evidence(data, ind, fiscal_year)
            units.append(counted.assign(indicator=ind.id, met=counted["unit_id"].isin(met)))
    people_df = _concat(people, ["staff_id", "unit_code", "indicator", "met"])
    units_df = _concat(units, ["unit_id", "unit_code", "indicator", "met"])
    table = _totals(data, indicators, fiscal_year, people_df, units_df)
    return Scores(fiscal_year, indicators, people_df, units_df, table)


def _staff_population(data: Normalized, ind: Indicator) -> pd.DataFrame:
    """The people an indicator counts: of its positions, in units of its kind and flag (all when unset)."""
    staff, pop, units = data.staff, ind.population, data.units
    if pop.positions:
        staff = staff[staff["position"].isin(pop.positions)]
    if pop.unit_kind:
        staff = staff[staff["unit_code"].isin(units.loc[units["kind"] == pop.unit_kind, "code"])]
    if pop.unit_flag == "stem":
        staff = staff[staff["unit_code"].isin(units.loc[units["stem"].astype(bool), "code"])]
    return staff


def _done_in_year(data: Normalized, fiscal_year: int) -> pd.DataFrame:
    records = data.records
    return records[(records["fiscal_year"] == fiscal_year) & records["done"]]


def _staff_evidence(data: Normalized, ind: Indicator, fiscal_year: int, topics: TopicVocabulary) -> set[str]:
    rule = ind.evidence.rule
    if rule == "has_id_plan":
        return set(data.plans.loc[data.plans["fiscal_year"] == fiscal_year, "staff_id"])
    done = _done_in_year(data, fiscal_year)
    if rule == "completed_kinds":
        return set(done.loc[done["kind"].isin(ind.evidence.kinds), "staff_id"])
    if rule == "matches_survey_need":
        needs = {sid: answers for sid, answers in zip(data.survey["staff_id"], data.survey["topics"])}
        return {
            sid for sid, topic, kind in zip(done["staff_id"], done["topic"], done["kind"])
            if any(topics.same_topic(topic, need) or topics.kind_names(kind, need) for need in needs.get(sid, ()))
        }
    raise ValueError(f"rule {rule!r} does not measure staff")


def topic_matches(done_topic: str, need: str) -> bool:
    """A development matches a need, when neither names a known topic: one stands in the other
    as a whole word or phrase (``pipeline.topics.contains_either``)."""
    return contains_either(done_topic, need)


def _unit_ids(data: Normalized) -> pd.DataFrame:
    """Every countable unit: each school, and each work group of the office."""
    schools = data.units[data.units["kind"] == "school"]
    rows = [{"unit_id": c, "unit_code": c, "kind": "school", "stem": s} for c, s in zip(schools["code"], schools["stem"])]
    office_codes = set(data.units.loc[data.units["kind"] == "office", "code"])
    office_staff = data.staff[data.staff["unit_code"].isin(office_codes)]
    for unit_id, code in sorted(set(zip(office_staff["unit_id"], office_staff["unit_code"]))):
        rows.append({"unit_id": unit_id, "unit_code": code, "kind": "office", "stem": False})
    return pd.DataFrame(rows, columns=["unit_id", "unit_code", "kind", "stem"])


def _unit_population(unit_ids: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    """The units an indicator counts: of its kind and flag (all when unset)."""
    units, pop = unit_ids, ind.population
    if pop.unit_kind:
        units = units[units["kind"] == pop.unit_kind]
    if pop.unit_flag == "stem":
        units = units[units["stem"].astype(bool)]
    return units[["unit_id", "unit_code"]]


def _unit_evidence(data: Normalized, ind: Indicator, fiscal_year: int) -> set[str]:
    done = _done_in_year(data, fiscal_year)
    who = set(done.loc[done["kind"].isin(ind.evidence.kinds), "staff_id"])
    return set(data.staff.loc[data.staff["staff_id"].isin(who), "unit_id"])


def _totals(
    data: Normalized, indicators: list[Indicator], fiscal_year: int,
    people: pd.DataFrame, units: pd.DataFrame,
) -> pd.DataFrame:
    group_of = {
        code: (district if kind == "school" else OFFICE_GROUP)
        for code, kind, district in zip(data.units["code"], data.units["kind"], data.units["district"])
    }
    rows = []
    for ind in indicators:
        counted = people if ind.unit == "staff" else units
        mine = counted[counted["indicator"] == ind.id]
        per_unit = mine.groupby("unit_code")["met"].agg(["size", "sum"])
        pairs = {code: (int(size), int(met)) for code, size, met in zip(per_unit.index, per_unit["size"], per_unit["sum"])}
        target = ind.target(fiscal_year)
        groups: dict[str, list[int]] = {}
        for code in data.units["code"]:
            pop, met = pairs.get(code, (0, 0))
            rows.append(_row("unit", code, ind.id, pop, met, target))
            total = groups.setdefault(group_of[code], [0, 0])
            total[0] += pop
            total[1] += met
        for group, (pop, met) in groups.items():
            rows.append(_row("district", group, ind.id, pop, met, target))
        rows.append(_row(AREA, AREA, ind.id, len(mine), int(mine["met"].sum()), target))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _row(level: str, key: str, ind: str, population: int, met: int, target: float | None) -> dict:
    percent = round(100 * met / population, 1) if population else None
    if not population:
        status = STATUS_EMPTY
    elif target is None:
        status = STATUS_NO_TARGET
    else:
        status = STATUS_MET if 100 * met >= target * population else STATUS_NOT_MET
    return {"level": level, "key": key, "indicator": ind, "population": population,
            "met": met, "percent": percent, "target": target, "status": status}


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
