"""What development cost: spending per funding source, per unit and district, and each teacher's
use of the per-teacher allocation (the plan's policy ๑: OBEC's 10,000 baht a teacher for the
full-cycle training, given once the teacher has registered).

Only when the record tabs carry the optional cost column: a unit whose sheet has no such column is
left out of every figure here (its costs are unknown, not zero) and the parts about costs are left
out of its own outputs; with no unit recording costs there is no spending summary at all.

What is counted: every record of the fiscal year that gives a cost, whether or not the development is
done yet (the money is committed when a person registers; a cancelled one's cost should be cleared),
under the person's own unit. Costs are read by ``pipeline.money``; a cost that could not be read is a
row to fix and counts nowhere. A teacher's allocation is used by the costs whose source is one of
``spending.allocation_sources``; who is a teacher is ``spending.allocation_positions``.

Pure: frames and settings in, dataclasses out; national IDs are masked here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable

import numpy as np
import pandas as pd

from pipeline.config import SpendingSettings
from pipeline.money import DEFAULT_FUNDING_SOURCES, NO_SOURCE, funding_table, read_funding
from pipeline.normalize import Normalized, reading_order
from pipeline.thai import clean_text, mask_national_id, position_key, position_table


@dataclass(frozen=True)
class SourceAmount:
    """Spending from one funding source."""

    source: str
    #: records with a cost above 0 from this source
    records: int
    amount: float
    #: True when these costs are taken from the per-teacher allocation
    allocation: bool


@dataclass(frozen=True)
class SpendingRow:
    """A unit's, a district's or the area's spending, and its teachers' use of the allocation."""

    name: str
    #: units counted (those whose record tab has the cost column), of all units here
    units_recording: int
    units: int
    #: records of the year with a cost above 0, and those that say nothing was spent (0, "-")
    records: int
    free: int
    total: float
    #: spending per source, in the order of ``AreaSpending.sources``
    by_source: list[float]
    #: people here who receive the allocation, their allocation together, what they used and have left
    teachers: int
    allocation: float
    used: float
    balance: float
    used_percent: float | None
    #: teachers who used more than their allocation
    over: int
    code: str = ""
    district: str = ""


@dataclass(frozen=True)
class TeacherAllocation:
    """One teacher's use of the per-teacher allocation in the fiscal year."""

    name: str
    masked_id: str
    position: str
    unit_code: str
    unit_name: str
    allocation: float
    used: float
    balance: float
    #: records of the year whose cost is taken from the allocation
    records: int

    @property
    def over(self) -> bool:
        return self.used > self.allocation


@dataclass(frozen=True)
class UnitSpending:
    """A unit's own spending: per source, totals, and each of its teachers' allocation."""

    sources: list[SourceAmount]
    totals: SpendingRow
    teachers: list[TeacherAllocation]
    allocation: float
    allocation_sources: list[str]


@dataclass(frozen=True)
class AreaSpending:
    """The office's view: per source, per district and unit, and every teacher's allocation."""

    #: every source with a cost somewhere in the area, in the outputs' order
    sources: list[SourceAmount]
    area: SpendingRow
    districts: list[SpendingRow]
    #: every unit (``units_recording`` 0: its record tab has no cost column)
    units: list[SpendingRow]
    #: names of the units whose record tab has no cost column
    not_recording: list[str]
    teachers: list[TeacherAllocation]
    allocation: float
    allocation_sources: list[str]


@dataclass(frozen=True)
class Spending:
    """Spending of one fiscal year, ready to be cut per unit and district."""

    #: records of the year that give a cost (0 included), of recording units: staff_id, unit_code, funding, cost
    costs: pd.DataFrame
    #: unit codes whose record tab has the cost column
    recording: frozenset[str]
    #: source names in the outputs' order
    order: list[str]
    allocation_sources: list[str]
    allocation: float
    #: everyone who receives the allocation (staff_id, display_name, position, unit_code), in reading order
    teachers: pd.DataFrame
    #: worked out once, on first use: what was charged to the allocation per person, each unit's rows
    _cut: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def cut(self, name: Hashable, make: Callable[[], Any]) -> Any:
        """``make()``, remembered under ``name``: every unit's row reads the same grouping, made once."""
        if name not in self._cut:
            self._cut[name] = make()
        return self._cut[name]

    def costs_of(self, codes: list[str]) -> pd.DataFrame:
        """The cost rows of the units ``codes``, in their order in ``costs``."""
        return self.costs[self.costs["unit_code"].isin(codes)]

    def unit_costs(self) -> dict[str, _Costs]:
        """What each recording unit's cost rows add up to (units with no cost row have none), grouped once:
        the same reductions ``_Costs.of`` makes on one unit's rows, so the same figures to the last bit."""
        return self.cut("unit costs", lambda: _unit_costs(self.costs))

    def teachers_by_unit(self) -> dict[str, list[tuple[str, str, str]]]:
        """Each unit's teachers (staff_id, display_name, position), in reading order."""

        def make() -> dict[str, list[tuple[str, str, str]]]:
            found: dict[str, list[tuple[str, str, str]]] = {}
            t = self.teachers
            for staff_id, name, position, code in zip(t["staff_id"], t["display_name"], t["position"], t["unit_code"]):
                found.setdefault(code, []).append((staff_id, name, position))
            return found

        return self.cut("teachers", make)


@dataclass(frozen=True)
class _Costs:
    """What some cost rows add up to."""

    #: rows with a cost above 0, rows that say nothing was spent, the sum of every cost
    records: int
    free: int
    total: float
    #: funding source -> the sum of its costs (0 included)
    by_source: dict[str, float]
    #: funding source -> rows with a cost above 0, and their sum
    paid_records: dict[str, int]
    paid: dict[str, float]

    @classmethod
    def of(cls, costs: pd.DataFrame) -> _Costs:
        positive = costs[costs["cost"] > 0].groupby("funding")["cost"]
        return cls(
            records=int((costs["cost"] > 0).sum()), free=int((costs["cost"] == 0).sum()), total=float(costs["cost"].sum()),
            by_source={s: float(v) for s, v in costs.groupby("funding")["cost"].sum().items()},
            paid_records={s: int(v) for s, v in positive.size().items()},
            paid={s: float(v) for s, v in positive.sum().items()},
        )


#: what the cost rows of units with none add up to
NO_COSTS = _Costs(records=0, free=0, total=0.0, by_source={}, paid_records={}, paid={})


def _unit_costs(costs: pd.DataFrame) -> dict[str, _Costs]:
    """``_Costs.of`` each unit's rows, for every unit at once: a group's sum adds the same values in the same
    order as the unit's own grouping would, and a unit's total is numpy's sum of its costs in their order, as
    ``Series.sum`` is."""
    if costs.empty:
        return {}
    values = costs["cost"].to_numpy()
    totals = {code: float(np.sum(values[at])) for code, at in costs.groupby("unit_code", sort=False).indices.items()}
    positive = costs[costs["cost"] > 0].groupby(["unit_code", "funding"], sort=False)["cost"]
    by_source, paid_records, paid = (
        _nested(costs.groupby(["unit_code", "funding"], sort=False)["cost"].sum(), float),
        _nested(positive.size(), int), _nested(positive.sum(), float),
    )
    cost, unit = costs["cost"], costs["unit_code"]
    records = (cost > 0).groupby(unit, sort=False).sum()
    free = (cost == 0).groupby(unit, sort=False).sum()
    return {
        code: _Costs(records=int(records[code]), free=int(free[code]), total=total, by_source=by_source.get(code, {}),
                     paid_records=paid_records.get(code, {}), paid=paid.get(code, {}))
        for code, total in totals.items()
    }


def _nested(series: pd.Series, kind: Callable[[Any], Any]) -> dict[str, dict[str, Any]]:
    """A series indexed by (unit code, source) as unit code -> source -> value."""
    found: dict[str, dict[str, Any]] = {}
    for (code, source), value in series.items():
        found.setdefault(code, {})[source] = kind(value)
    return found


def measure_spending(
    data: Normalized, settings: SpendingSettings, positions: dict[str, list[str]], fiscal_year: int,
    extras: dict[str, frozenset[str]],
) -> Spending | None:
    """The year's costs, or None when no unit's record tab has the cost column (the parts are left out)."""
    recording = frozenset(code for code, have in extras.items() if "cost" in have) & set(data.units["code"])
    if not recording or "cost" not in data.records.columns:
        return None
    unit_of = dict(zip(data.staff["staff_id"], data.staff["unit_code"]))
    records = data.records[(data.records["fiscal_year"] == fiscal_year) & data.records["cost"].notna()]
    costs = pd.DataFrame({
        "staff_id": records["staff_id"], "unit_code": records["staff_id"].map(unit_of),
        "funding": records["funding"].map(lambda s: s or NO_SOURCE), "cost": records["cost"].astype(float),
    })
    costs = costs[costs["unit_code"].isin(recording)]
    table = funding_table(settings.sources)
    allocation_sources = [read_funding(s, table)[0] for s in settings.allocation_sources]
    wanted = {position_table(positions)[position_key(p)] for p in settings.allocation_positions}
    staff = reading_order(data.staff)
    teachers = staff[staff["position"].isin(wanted) & staff["unit_code"].isin(recording)]
    return Spending(
        costs=costs.reset_index(drop=True), recording=recording,
        order=_order(costs, [*DEFAULT_FUNDING_SOURCES, *(clean_text(s) for s in settings.sources)]),
        allocation_sources=allocation_sources, allocation=float(settings.allocation),
        teachers=teachers[["staff_id", "display_name", "position", "unit_code"]].reset_index(drop=True),
    )


def _order(costs: pd.DataFrame, known: list[str]) -> list[str]:
    """Sources something was paid from: known ones in their configured order, then sources as typed
    (largest first), then "no source"."""
    amounts = costs[costs["cost"] > 0].groupby("funding")["cost"].sum()
    named = [s for s in dict.fromkeys(known) if s in amounts.index]
    typed = sorted((s for s in amounts.index if s not in known and s != NO_SOURCE), key=lambda s: (-amounts[s], s))
    return named + typed + ([NO_SOURCE] if NO_SOURCE in amounts.index else [])


def _sources(spent: Spending, costs: _Costs) -> list[SourceAmount]:
    return [
        SourceAmount(source=s, records=costs.paid_records[s], amount=costs.paid[s], allocation=s in spent.allocation_sources)
        for s in spent.order if s in costs.paid_records
    ]


def _teachers(spent: Spending, codes: Iterable[str], unit_names: dict[str, str]) -> list[TeacherAllocation]:
    """The teachers of ``codes`` (unit by unit, each in reading order), with what they used of their allocation."""
    place = {code: i for i, code in enumerate(codes)}

    def charged_to_allocation() -> tuple[dict[str, float], dict[str, int]]:
        costs = spent.costs
        charged = costs[costs["funding"].isin(spent.allocation_sources) & (costs["cost"] > 0)].groupby("staff_id")["cost"]
        return charged.sum().to_dict(), charged.size().to_dict()

    used, count = spent.cut("charged", charged_to_allocation)
    by_unit = spent.teachers_by_unit()

    def of_unit(code: str, unit_name: str) -> list[TeacherAllocation]:
        found = []
        for staff_id, name, position in by_unit.get(code, []):
            spent_here = float(used.get(staff_id, 0.0))
            found.append(TeacherAllocation(
                name=name, masked_id=mask_national_id(staff_id), position=position,
                unit_code=code, unit_name=unit_name, allocation=spent.allocation,
                used=spent_here, balance=spent.allocation - spent_here, records=int(count.get(staff_id, 0)),
            ))
        return found

    found: list[TeacherAllocation] = []
    for code in sorted(place, key=place.__getitem__):
        name = unit_names.get(code, "")  # each unit's teachers made once (a unit's rows, tabs and the dashboard share them)
        found += spent.cut(("teachers of", code, name), lambda: of_unit(code, name))  # noqa: B023 (called at once)
    return found


def _costs_of(spent: Spending, codes: list[str]) -> _Costs:
    """What the cost rows of the units ``codes`` add up to (one unit's: from the grouping made once)."""
    if len(codes) == 1:
        return spent.unit_costs().get(codes[0], NO_COSTS)
    return _Costs.of(spent.costs_of(codes)) if codes else NO_COSTS


def spending_row(
    spent: Spending, name: str, codes: Iterable[str], unit_names: dict[str, str], code: str = "", district: str = "",
) -> SpendingRow:
    """The spending of the units ``codes`` (those recording costs count)."""
    codes = list(codes)
    counted = [c for c in codes if c in spent.recording]
    costs = _costs_of(spent, counted)
    teachers = _teachers(spent, counted, unit_names)
    allocation = spent.allocation * len(teachers)
    used = sum(t.used for t in teachers)
    return SpendingRow(
        name=name, units_recording=len(counted), units=len(codes), records=costs.records,
        free=costs.free, total=costs.total,
        by_source=[costs.by_source.get(s, 0.0) for s in spent.order], teachers=len(teachers),
        allocation=allocation, used=used, balance=allocation - used,
        used_percent=used / allocation * 100 if allocation else None, over=sum(t.over for t in teachers),
        code=code, district=district,
    )


def unit_spending(spent: Spending | None, code: str, name: str) -> UnitSpending | None:
    """A unit's own spending; None when its record tab has no cost column (or nobody's has)."""
    if spent is None or code not in spent.recording:
        return None
    return UnitSpending(
        sources=_sources(spent, _costs_of(spent, [code])), totals=spending_row(spent, name, [code], {code: name}, code=code),
        teachers=_teachers(spent, [code], {code: name}), allocation=spent.allocation,
        allocation_sources=spent.allocation_sources,
    )


def area_spending(
    spent: Spending | None, area_name: str, groups: dict[str, list[str]], units: pd.DataFrame, district_of: dict[str, str],
) -> AreaSpending | None:
    """The office's spending summary; ``groups`` maps each district (and the office's group) to its unit codes."""
    if spent is None:
        return None
    names = dict(zip(units["code"], units["name"]))
    every = list(units["code"])
    return AreaSpending(
        sources=_sources(spent, _Costs.of(spent.costs)),
        area=spending_row(spent, area_name, every, names),
        districts=[spending_row(spent, group, codes, names) for group, codes in groups.items()],
        units=[spending_row(spent, names[c], [c], names, code=c, district=district_of.get(c, "")) for c in every],
        not_recording=[names[c] for c in every if c not in spent.recording],
        teachers=_teachers(spent, every, names), allocation=spent.allocation,
        allocation_sources=spent.allocation_sources,
    )
