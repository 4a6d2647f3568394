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
from typing import Any, Callable, Iterable

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
    _cut: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def cut(self, name: str, make: Callable[[], Any]) -> Any:
        """``make()``, remembered under ``name``: every unit's row reads the same grouping, made once."""
        if name not in self._cut:
            self._cut[name] = make()
        return self._cut[name]

    def costs_of(self, codes: list[str]) -> pd.DataFrame:
        """The cost rows of the units ``codes``, in their order in ``costs`` (one unit: from a grouping made once)."""
        if len(codes) == 1:
            by_unit = self.cut("costs", lambda: dict(tuple(self.costs.groupby("unit_code", sort=False))))
            return by_unit.get(codes[0], self.costs.iloc[0:0])
        return self.costs[self.costs["unit_code"].isin(codes)]

    def teachers_of(self, codes: list[str]) -> pd.DataFrame:
        """The teachers of the units ``codes``, in reading order (one unit: from a grouping made once)."""
        if len(codes) == 1:
            by_unit = self.cut("teachers", lambda: dict(tuple(self.teachers.groupby("unit_code", sort=False))))
            return by_unit.get(codes[0], self.teachers.iloc[0:0])
        return self.teachers[self.teachers["unit_code"].isin(codes)]


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


def _sources(spent: Spending, costs: pd.DataFrame) -> list[SourceAmount]:
    groups = costs[costs["cost"] > 0].groupby("funding")["cost"]
    count, total = groups.size(), groups.sum()
    return [
        SourceAmount(source=s, records=int(count[s]), amount=float(total[s]), allocation=s in spent.allocation_sources)
        for s in spent.order if s in count.index
    ]


def _teachers(spent: Spending, codes: Iterable[str], unit_names: dict[str, str]) -> list[TeacherAllocation]:
    """The teachers of ``codes`` (unit by unit, each in reading order), with what they used of their allocation."""
    place = {code: i for i, code in enumerate(codes)}

    def charged_to_allocation() -> tuple[pd.Series, pd.Series]:
        costs = spent.costs
        charged = costs[costs["funding"].isin(spent.allocation_sources) & (costs["cost"] > 0)].groupby("staff_id")["cost"]
        return charged.sum(), charged.size()

    used, count = spent.cut("charged", charged_to_allocation)
    teachers = spent.teachers_of(list(place))
    teachers = teachers.assign(_place=teachers["unit_code"].map(place)).sort_values("_place", kind="stable")
    found = []
    for t in teachers.itertuples():
        spent_here = float(used.get(t.staff_id, 0.0))
        found.append(TeacherAllocation(
            name=t.display_name, masked_id=mask_national_id(t.staff_id), position=t.position,
            unit_code=t.unit_code, unit_name=unit_names.get(t.unit_code, ""), allocation=spent.allocation,
            used=spent_here, balance=spent.allocation - spent_here, records=int(count.get(t.staff_id, 0)),
        ))
    return found


def spending_row(
    spent: Spending, name: str, codes: Iterable[str], unit_names: dict[str, str], code: str = "", district: str = "",
) -> SpendingRow:
    """The spending of the units ``codes`` (those recording costs count)."""
    codes = list(codes)
    counted = [c for c in codes if c in spent.recording]
    costs = spent.costs_of(counted)
    by_source = costs.groupby("funding")["cost"].sum()
    teachers = _teachers(spent, counted, unit_names)
    allocation = spent.allocation * len(teachers)
    used = sum(t.used for t in teachers)
    return SpendingRow(
        name=name, units_recording=len(counted), units=len(codes), records=int((costs["cost"] > 0).sum()),
        free=int((costs["cost"] == 0).sum()), total=float(costs["cost"].sum()),
        by_source=[float(by_source.get(s, 0.0)) for s in spent.order], teachers=len(teachers),
        allocation=allocation, used=used, balance=allocation - used,
        used_percent=used / allocation * 100 if allocation else None, over=sum(t.over for t in teachers),
        code=code, district=district,
    )


def unit_spending(spent: Spending | None, code: str, name: str) -> UnitSpending | None:
    """A unit's own spending; None when its record tab has no cost column (or nobody's has)."""
    if spent is None or code not in spent.recording:
        return None
    costs = spent.costs_of([code])
    return UnitSpending(
        sources=_sources(spent, costs), totals=spending_row(spent, name, [code], {code: name}, code=code),
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
        sources=_sources(spent, spent.costs),
        area=spending_row(spent, area_name, every, names),
        districts=[spending_row(spent, group, codes, names) for group, codes in groups.items()],
        units=[spending_row(spent, names[c], [c], names, code=c, district=district_of.get(c, "")) for c in every],
        not_recording=[names[c] for c in every if c not in spent.recording],
        teachers=_teachers(spent, every, names), allocation=spent.allocation,
        allocation_sources=spent.allocation_sources,
    )
