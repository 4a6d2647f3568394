"""Each person's own plan: the fiscal year's ID Plan rows against the developments completed.

For every person with ID Plan rows for the fiscal year: the hours they planned and the hours of
their completed developments (records with a done status dated in that fiscal year), the planned
topics not yet started (no record of the year in that topic, done or not), the topics completed
that were not planned, and whether they are behind their own plan on the run's date:

- before the fiscal year begins (1 October), nobody is behind;
- from 1 October: a person with a plan and no completed development yet is behind;
- from the year's midpoint, 1 April (FY 2562: 1 April 2019), also a person whose completed hours
  are under half of their planned hours (exactly half is on track);
- after 30 September the year is judged as it ended, by the same rule as after the midpoint.

People without a plan for the year are not "behind": there is no plan of theirs to be behind,
and they already fail the ID Plan indicator, named in the staff list. A plan that gives no hours
(blank or 0 on every row) is judged by the first rule only. The date is the run's
(``RunFacts.generated_on``); only the phase it falls in reaches the outputs, so a tab changes on
1 April because its list changes, never because the date did.

Topics are compared through the run's topic vocabulary (``pipeline.topics``), the one place
that decides when two texts name the same topic.

Pure: frames, a fiscal year, a date and the vocabulary in, dataclasses out; national IDs are masked here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

import pandas as pd

from pipeline.normalize import Normalized, frame_rows
from pipeline.thai import BEFORE, ENDED, FIRST_HALF, SECOND_HALF, clean_text, fiscal_phase, fiscal_year_bounds, mask_national_id, thai_date
from pipeline.topics import TopicVocabulary

NO_DEVELOPMENT, UNDER_HALF = "no_development", "under_half"


@dataclass(frozen=True)
class Checkpoint:
    """Where the run's date falls in the fiscal year, and the rule that follows from it."""

    fiscal_year: int
    start: date
    #: 1 April: from this day, under half of the planned hours is behind
    midpoint: date
    end: date
    #: BEFORE, FIRST_HALF, SECOND_HALF or ENDED
    phase: str
    #: the rule applied, as the tab, e-mail and dashboard state it
    rule: str

    @property
    def hours_count(self) -> bool:
        """Whether the hours rule applies (from the midpoint on)."""
        return self.phase in (SECOND_HALF, ENDED)


def checkpoint(fiscal_year: int, today: date) -> Checkpoint:
    """The phase of ``fiscal_year`` on ``today`` (1 Oct – 31 Mar, 1 Apr – 30 Sep, before or after)."""
    start, end = fiscal_year_bounds(fiscal_year)
    midpoint = date(end.year, 4, 1)
    phase = fiscal_phase(fiscal_year, today)  # the one rule, which an idle night compares too (pipeline.idle)
    return Checkpoint(fiscal_year, start, midpoint, end, phase, _rule(fiscal_year, phase, start, midpoint, end))


def _rule(year: int, phase: str, start: date, midpoint: date, end: date) -> str:
    if phase == BEFORE:
        return f"ปีงบประมาณ {year} ยังไม่เริ่ม (เริ่ม {thai_date(start)}) จึงยังไม่มีผู้ที่ไม่เป็นไปตามแผน"
    if phase == FIRST_HALF:
        return (f"ก่อนกลางปีงบประมาณ ({thai_date(midpoint)}) นับผู้ที่มีแผนแต่ยังไม่มีการพัฒนาที่เสร็จสิ้นเลย "
                f"ตั้งแต่ {thai_date(midpoint)} จะนับผู้ที่ชั่วโมงพัฒนาที่เสร็จสิ้นยังไม่ถึงครึ่งหนึ่งของชั่วโมงตามแผนด้วย")
    if phase == SECOND_HALF:
        return (f"ตั้งแต่กลางปีงบประมาณ ({thai_date(midpoint)}) นับผู้ที่มีแผนแต่ยังไม่มีการพัฒนาที่เสร็จสิ้นเลย "
                "หรือชั่วโมงพัฒนาที่เสร็จสิ้นยังไม่ถึงครึ่งหนึ่งของชั่วโมงตามแผน")
    return (f"ปีงบประมาณ {year} สิ้นสุดแล้ว ({thai_date(end)}) จึงเป็นผลเมื่อสิ้นปี นับผู้ที่มีแผนแต่ไม่มีการพัฒนาที่เสร็จสิ้นเลย "
            "หรือชั่วโมงพัฒนาที่เสร็จสิ้นไม่ถึงครึ่งหนึ่งของชั่วโมงตามแผน")


@dataclass(frozen=True)
class PersonPlan:
    """One person's own plan for the fiscal year against what they completed."""

    name: str
    masked_id: str
    position: str
    work_group: str
    #: None when no plan row gives hours
    planned_hours: float | int | None
    done_hours: float | int
    done_count: int
    #: done / planned hours × 100; None without planned hours
    percent: float | None
    planned_topics: list[str]
    #: planned topics with no record of the year, done or not
    not_started: list[str]
    #: topics of completed developments that match no planned topic
    unplanned: list[str]
    #: "" (on track), NO_DEVELOPMENT or UNDER_HALF
    behind: str
    #: what is missing, for the director ("" when on track)
    missing: str


@dataclass(frozen=True)
class ProgressRow:
    """Own-plan progress of a unit, a district or the area, in counts and percentages."""

    name: str
    staff: int
    with_plan: int
    on_track: int
    behind: int
    no_development: int
    under_half: int
    #: behind / with_plan × 100; None when nobody has a plan
    behind_percent: float | None
    #: hours of the people whose plan gives hours: planned, and completed by them
    planned_hours: float | int
    done_hours: float | int
    hours_percent: float | None
    code: str = ""
    district: str = ""

    @property
    def without_plan(self) -> int:
        return self.staff - self.with_plan


@dataclass(frozen=True)
class UnitProgress:
    """What a unit's director sees: everyone's own plan, and who is behind it."""

    checkpoint: Checkpoint
    totals: ProgressRow
    #: everyone of the unit with a plan for the year, in the staff list's order
    people: list[PersonPlan]
    behind: list[PersonPlan]


@dataclass(frozen=True)
class AreaProgress:
    """The office's view: counts per district and unit, no names."""

    checkpoint: Checkpoint
    area: ProgressRow
    districts: list[ProgressRow]
    units: list[ProgressRow]


def topic_names(text: object, kind: object, topics: TopicVocabulary) -> tuple[str, ...]:
    """The topics a plan row or record names, read as every user of topics reads them
    (``TopicVocabulary.record_topics``: its text's topics, and its kind's where the kind is a topic's name,
    so a classroom-research record titled by its research is การวิจัยในชั้นเรียน); a text that names none
    stands for itself (never guessed)."""
    named = topics.record_topics([text], [kind])[0]
    return named or ((clean_text(text),) if clean_text(text) else ())


class _Remembered:
    """``topic_names`` and ``TopicVocabulary.same_topic`` of one vocabulary, each text or pair worked out once
    (a run meets each plan topic and record kind many times)."""

    def __init__(self, vocabulary: TopicVocabulary) -> None:
        self.vocabulary = vocabulary
        self._names: dict[tuple[object, object], tuple[str, ...]] = {}
        self._same: dict[tuple[object, object], bool] = {}

    def names(self, text: object, kind: object) -> tuple[str, ...]:
        key = (_typed(text), _typed(kind))
        if key not in self._names:
            self._names[key] = topic_names(text, kind, self.vocabulary)
        return self._names[key]

    def same_topic(self, a: object, b: object) -> bool:
        key = (_typed(a), _typed(b))
        if key not in self._same:
            self._same[key] = self.vocabulary.same_topic(a, b)
        return self._same[key]


def _typed(value: object) -> object:
    """A cache key that tells apart values Python holds equal (1, 1.0, True) and keeps NaN one key."""
    return (type(value), "nan" if isinstance(value, float) and value != value else value)


def person_plans(data: Normalized, point: Checkpoint, topics: TopicVocabulary) -> dict[str, PersonPlan]:
    """Staff ID -> own plan, for every person in the staff roster with plan rows for the fiscal year.

    Topics are compared through ``topics`` (``TopicVocabulary.same_topic``): "STEM" in a record meets
    "สะเต็มศึกษา (STEM Education)" in a plan; texts that name no known topic meet when one stands in the other.
    """
    year = point.fiscal_year
    roster = data.staff[["staff_id", "display_name", "position", "work_group"]]
    staff = {p["staff_id"]: p for p in frame_rows(roster)}
    planned_rows = _by_person(data.plans[data.plans["fiscal_year"] == year])
    record_rows = _by_person(data.records[data.records["fiscal_year"] == year])
    remembered = _Remembered(topics)
    return {
        sid: _person_plan(sid, staff[sid], rows, record_rows.get(sid, []), point, remembered)
        for sid, rows in sorted(planned_rows.items()) if sid in staff
    }


def _by_person(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Each person's rows of ``frame``, in the frame's order (one pass, no frame per person)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in frame_rows(frame):
        found.setdefault(row["staff_id"], []).append(row)
    return found


def _person_plan(
    sid: str, person: dict[str, Any], plans: list[dict[str, Any]], records: list[dict[str, Any]], point: Checkpoint,
    vocabulary: _Remembered,
) -> PersonPlan:
    done = [r for r in records if bool(r["done"])]
    planned = _number(sum(float(r["hours"]) for r in plans))
    planned_hours = planned if planned else None
    done_hours = _number(sum(float(r["hours"]) for r in done))

    def named(rows: list[dict[str, Any]]) -> list[str]:
        """Each topic the rows name, once (a record's kind counts as ``topic_names`` says)."""
        found = (vocabulary.names(row["topic"], row.get("kind")) for row in rows)  # a plan row has no kind
        return list(dict.fromkeys(name for names in found for name in names))

    def among(topic: str, others: list[str]) -> bool:
        return any(vocabulary.same_topic(topic, other) for other in others)

    topics = named(plans)
    started = named(records)
    not_started = [t for t in topics if not among(t, started)]
    unplanned = [t for t in named(done) if not among(t, topics)]
    percent = None if planned_hours is None else done_hours / planned_hours * 100
    behind = ""
    if point.phase != BEFORE and not done:
        behind = NO_DEVELOPMENT
    elif point.hours_count and planned_hours is not None and done_hours < planned_hours / 2:
        behind = UNDER_HALF
    return PersonPlan(
        name=person["display_name"], masked_id=mask_national_id(sid), position=person["position"],
        work_group=person["work_group"], planned_hours=planned_hours, done_hours=done_hours, done_count=len(done),
        percent=percent, planned_topics=topics, not_started=not_started, unplanned=unplanned, behind=behind,
        missing=_missing(behind, planned_hours, done_hours, not_started),
    )


def _missing(behind: str, planned: float | int | None, done: float | int, not_started: list[str]) -> str:
    """What a behind person still needs, in the director's words."""
    if not behind:
        return ""
    if behind == NO_DEVELOPMENT:
        text = "ยังไม่มีการพัฒนาที่เสร็จสิ้นในปีงบประมาณนี้"
        if planned is not None:
            text += f" (แผน {_shown(planned)} ชั่วโมง)"
    else:
        assert planned is not None
        text = (f"พัฒนาแล้ว {_shown(done)} จาก {_shown(planned)} ชั่วโมงตามแผน "
                f"ขาดอีก {_shown(planned / 2 - done)} ชั่วโมงจึงถึงครึ่งหนึ่งของแผน")
    if not_started:
        text += "; เรื่องตามแผนที่ยังไม่เริ่ม: " + ", ".join(not_started)
    return text


def tally(name: str, people: Iterable[PersonPlan], staff: int, code: str = "", district: str = "") -> ProgressRow:
    """Counts and percentages of ``people`` (those with a plan) among ``staff`` people."""
    people = list(people)
    behind = [p for p in people if p.behind]
    with_hours = [p for p in people if p.planned_hours is not None]
    planned = _number(sum(float(p.planned_hours or 0) for p in with_hours))
    done = _number(sum(float(p.done_hours) for p in with_hours))
    return ProgressRow(
        name=name, staff=staff, with_plan=len(people), on_track=len(people) - len(behind), behind=len(behind),
        no_development=sum(p.behind == NO_DEVELOPMENT for p in behind),
        under_half=sum(p.behind == UNDER_HALF for p in behind),
        behind_percent=len(behind) / len(people) * 100 if people else None,
        planned_hours=planned, done_hours=done, hours_percent=done / planned * 100 if planned else None,
        code=code, district=district,
    )


def unit_progress(point: Checkpoint, name: str, people: list[PersonPlan], staff: int) -> UnitProgress:
    """A unit's own-plan section; ``people`` in the order its staff list shows them."""
    return UnitProgress(point, tally(name, people, staff), people, [p for p in people if p.behind])


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 1)


def _shown(value: float | int) -> str:
    number = _number(value)
    return f"{number:,}"


@dataclass(frozen=True)
class OwnPlans:
    """Everyone's own plan for one fiscal year, on the run's date."""

    checkpoint: Checkpoint
    #: staff ID -> own plan, for everyone with plan rows for the year
    people: dict[str, PersonPlan]


def own_plans(data: Normalized, fiscal_year: int, today: date, topics: TopicVocabulary | None = None) -> OwnPlans:
    """Everyone's own plan for ``fiscal_year`` as it stands on ``today``; topics compared through ``topics``."""
    point = checkpoint(fiscal_year, today)
    return OwnPlans(point, person_plans(data, point, topics or TopicVocabulary()))


def area_progress(
    own: OwnPlans, area_name: str, groups: dict[str, list[str]], staff: pd.DataFrame, units: pd.DataFrame,
    district_of: dict[str, str],
) -> AreaProgress:
    """Counts for the area, each district (``groups``: name -> unit codes) and each unit of ``units``."""
    ids_of = {code: list(ids) for code, ids in staff.groupby("unit_code")["staff_id"]}

    def row(name: str, codes: list[str], code: str = "", district: str = "") -> ProgressRow:
        ids = [sid for c in codes for sid in ids_of.get(c, [])]
        return tally(name, (own.people[s] for s in ids if s in own.people), len(ids), code, district)

    every = list(units["code"])
    return AreaProgress(
        checkpoint=own.checkpoint,
        area=row(area_name, every),
        districts=[row(name, codes) for name, codes in groups.items()],
        units=[row(u.name, [u.code], u.code, district_of.get(u.code, "")) for u in units.itertuples()],
    )
