"""Development needs and the training plan: who asked for which topic, who got it, who is still waiting.

The plan (policy item ๓) has the office plan its trainings "ตามความต้องการพัฒนา". A person's
needs for a fiscal year are the topics they ticked in the needs survey and the topics of their
ID Plan rows for that year, each read through the topic vocabulary (``pipeline.topics``). A need
is met when the person has a completed development (a record with a done status, dated in the
fiscal year) in that topic: the record's topic names it, or its kind does (a kind such as "STEM"
or "วิจัยในชั้นเรียน" that is itself a topic or an alias of one). What is not met yet is the
office's training plan: per topic, the people still waiting, by district and by the forms of
development they prefer.

A topic text that names no topic counts for none, and is listed once in ``Needs.unmatched``
with where it was typed, for a person to add as an alias.

Pure: frames + vocabulary + fiscal year in, dataclasses out. No national ID leaves this module.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pandas as pd

from pipeline.indicators.compute import OFFICE_GROUP
from pipeline.normalize import Normalized, frame_rows
from pipeline.thai import clean_text, compare_key
from pipeline.topics import TopicVocabulary, topic_key

#: where a need came from, as the cohort tab says it
FROM_SURVEY = "แบบสำรวจ"
FROM_PLAN = "ID Plan"
#: the sources of a topic text, as the unmatched tab names them
SOURCE_NAMES = {"survey": "แบบสำรวจ", "plans": "แผนพัฒนาตนเอง", "records": "บันทึกการพัฒนา"}
#: forms a waiting person typed as the survey's "Other" answer, counted together
OTHER_FORM = "อื่น ๆ"
#: a waiting person who named no form of development
NO_FORM = "ไม่ระบุ"
#: group kinds of ``GroupDemand.by``
BY_DISTRICT, BY_POSITION, BY_UNIT = "อำเภอ", "ตำแหน่ง/วิทยฐานะ", "หน่วยงาน"
#: places shown for one unmatched text
EXAMPLES = 3


@dataclass(frozen=True)
class Count:
    """Asked, met and still waiting, for one topic in one group (or the whole area)."""

    asked: int
    met: int

    @property
    def unmet(self) -> int:
        return self.asked - self.met

    @property
    def percent_met(self) -> float | None:
        return round(100 * self.met / self.asked, 1) if self.asked else None


@dataclass(frozen=True)
class TopicDemand:
    """One topic over the area: how many asked, met, wait; where they wait; what forms they want."""

    topic: str
    #: 1 for the topic with the most people still waiting
    rank: int
    total: Count
    #: one per ``Needs.districts``, in that order
    by_district: list[Count]
    #: people still waiting who want each of ``Needs.forms`` (in that order)
    waiting_by_form: list[int]

    @property
    def asked(self) -> int:
        return self.total.asked

    @property
    def met(self) -> int:
        return self.total.met

    @property
    def unmet(self) -> int:
        return self.total.unmet

    @property
    def percent_met(self) -> float | None:
        return self.total.percent_met


@dataclass(frozen=True)
class GroupDemand:
    """One topic in one district, position/standing or unit."""

    #: ``BY_DISTRICT``, ``BY_POSITION`` or ``BY_UNIT``
    by: str
    group: str
    #: the unit's code (``BY_UNIT`` rows), else ""
    code: str
    #: the district the unit is in (``BY_UNIT`` rows), else ""
    district: str
    topic: str
    asked: int
    met: int
    unmet: int


@dataclass(frozen=True)
class Waiting:
    """One person still waiting for one topic: a row of the cohort the office invites."""

    topic: str
    district: str
    unit_code: str
    unit_name: str
    name: str
    position: str
    standing: str
    work_group: str
    #: preferred forms of development, joined with ", "; ``NO_FORM`` when none was named
    forms: str
    #: ``FROM_SURVEY``, ``FROM_PLAN`` or both, joined with ", "
    source: str
    email: str


@dataclass(frozen=True)
class UnmatchedTopic:
    """A topic text that names no topic in the vocabulary, listed once with where it was typed."""

    #: as it was typed most often
    text: str
    rows: int
    #: source name (``SOURCE_NAMES``) -> rows, in that order
    sources: dict[str, int]
    #: up to ``EXAMPLES`` places: "spreadsheet › tab › แถว n"
    examples: list[str]


@dataclass(frozen=True)
class Needs:
    """The area's development needs for one fiscal year."""

    fiscal_year: int
    #: people with at least one need
    people: int
    #: people with at least one need still waiting
    people_waiting: int
    #: every topic of the vocabulary (and none other), most people waiting first
    topics: list[TopicDemand]
    #: the districts of ``TopicDemand.by_district``; the office's staff are its own group, last
    districts: list[str]
    #: the forms of ``TopicDemand.waiting_by_form``: the survey's options, ``OTHER_FORM``, ``NO_FORM``
    forms: list[str]
    #: every (district | position/standing | unit) × topic someone asked for
    groups: list[GroupDemand]
    #: the cohorts: one row per person and topic still waiting, by topic rank, district, unit, name
    waiting: list[Waiting]
    #: topic texts that name no topic, most rows first
    unmatched: list[UnmatchedTopic]

    @property
    def asked_topics(self) -> list[TopicDemand]:
        """The topics someone asked for, ranked."""
        return [t for t in self.topics if t.asked]

    @property
    def unmatched_rows(self) -> int:
        return sum(u.rows for u in self.unmatched)


@dataclass
class _Unmatched:
    spellings: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, text: str, source: str, row: Any) -> None:
        self.spellings[text] += 1
        self.sources[source] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(f"{row['_sheet']} › {row['_tab']} › แถว {int(row['_row'])}")


def measure_needs(
    data: Normalized,
    topics: TopicVocabulary,
    fiscal_year: int,
    *,
    districts: Sequence[str] = (),
    forms: Sequence[str] = (),
) -> Needs:
    """Needs, met and unmet per topic, group and person for ``fiscal_year``.

    ``districts`` orders the districts (others follow by name, the office last); ``forms`` are the
    survey's options of forms of development, which also read an ID Plan row's method.
    """
    people = _people(data)
    unmatched: dict[str, _Unmatched] = {}

    def unknown(text: Any, source: str, row: Any) -> None:
        shown = clean_text(text)
        if shown:
            unmatched.setdefault(topic_key(shown), _Unmatched()).add(shown, source, row)

    asked: dict[tuple[str, str], set[str]] = {}
    preferred: dict[str, list[str]] = {}
    for row in frame_rows(data.survey):
        sid = row["staff_id"]
        for answer in row["topics"]:
            found = topics.topics_in(answer)
            if not found:
                unknown(answer, "survey", row)
            for topic in found:
                asked.setdefault((sid, topic), set()).add(FROM_SURVEY)
        preferred[sid] = [clean_text(m) for m in row.get("methods") or () if clean_text(m)]

    known_forms = {compare_key(f): clean_text(f) for f in forms}
    planned_forms: dict[tuple[str, str], list[str]] = {}
    plans = data.plans[data.plans["fiscal_year"] == fiscal_year]
    for row, found in zip(frame_rows(plans), topics.topics_of(plans["topic"])):
        if not found:
            unknown(row["topic"], "plans", row)
        form = known_forms.get(compare_key(row.get("method")))
        for topic in found:
            asked.setdefault((row["staff_id"], topic), set()).add(FROM_PLAN)
            if form:
                planned_forms.setdefault((row["staff_id"], topic), []).append(form)

    records = data.records[data.records["fiscal_year"] == fiscal_year]
    done: set[tuple[str, str]] = set()
    for row, found in zip(frame_rows(records), topics.record_topics(records["topic"], records["kind"])):
        if not found:
            unknown(row["topic"], "records", row)
        if row["done"]:
            done.update((row["staff_id"], topic) for topic in found)

    option_place = {clean_text(o): n for n, o in enumerate(forms)}
    needs = pd.DataFrame(
        [
            {"staff_id": sid, "topic": topic, "met": (sid, topic) in done, "sources": sources,
             "forms": _forms(preferred.get(sid, []), planned_forms.get((sid, topic), []), option_place),
             **people[sid]}
            for (sid, topic), sources in asked.items() if sid in people
        ],
        columns=["staff_id", "topic", "met", "sources", "forms", *_PERSON_FIELDS],
    ).astype({"met": bool})  # so ~met selects rows even when nobody asked for anything
    order = _district_order(data, districts)
    ranked = _rank(needs, topics.topics)
    form_columns = [clean_text(f) for f in forms] + [OTHER_FORM, NO_FORM]
    return Needs(
        fiscal_year=fiscal_year,
        people=needs["staff_id"].nunique(),
        people_waiting=needs.loc[~needs["met"], "staff_id"].nunique(),
        topics=_topic_demands(needs, ranked, order, form_columns),
        districts=order,
        forms=form_columns,
        groups=_groups(needs, ranked, order),
        waiting=_waiting(needs, ranked, order),
        unmatched=_unmatched(unmatched),
    )


_PERSON_FIELDS = ["name", "position", "standing", "role", "unit_code", "unit_name", "district", "work_group", "email"]


def _people(data: Normalized) -> dict[str, dict[str, str]]:
    """staff_id -> what the outputs show of a person: no ID."""
    units = {code: (kind, name, district) for code, kind, name, district
             in zip(data.units["code"], data.units["kind"], data.units["name"], data.units["district"])}
    people = {}
    for p in frame_rows(data.staff):
        code = p["unit_code"]
        kind, name, district = units.get(code, ("", code, ""))
        people[p["staff_id"]] = {
            "name": p["display_name"], "position": p["position"], "standing": p["standing"] or "",
            "role": clean_text(f"{p['position']} {p['standing'] or ''}"),
            "unit_code": code, "unit_name": name,
            "district": OFFICE_GROUP if kind == "office" else (district if kind else ""),
            "work_group": p.get("work_group") or "", "email": p.get("email") or "",
        }
    return people


def _forms(survey: list[str], planned: list[str], position: dict[str, int]) -> tuple[str, ...]:
    """A person's preferred forms for one topic: the survey's answer and their plan's methods, options first
    (``position``: each option's place among the survey's options)."""
    chosen = list(dict.fromkeys([*survey, *planned]))
    return tuple(sorted(chosen, key=lambda f: (position.get(f, len(position)), chosen.index(f))))


def _district_order(data: Normalized, configured: Sequence[str]) -> list[str]:
    """The configured districts, then other school districts by name, then the office."""
    schools = set(data.units.loc[data.units["kind"] == "school", "district"])
    order = [d for d in configured if d in schools]
    order += sorted(schools - set(order))
    if (data.units["kind"] == "office").any():
        order.append(OFFICE_GROUP)
    return order


def _rank(needs: pd.DataFrame, vocabulary: Iterable[str]) -> list[str]:
    """Every topic, most people still waiting first, then most asking, then the vocabulary's order."""
    topics = list(vocabulary)
    asked = needs.groupby("topic").size()
    unmet = needs[~needs["met"]].groupby("topic").size()
    return sorted(topics, key=lambda t: (-int(unmet.get(t, 0)), -int(asked.get(t, 0)), topics.index(t)))


def _topic_demands(needs: pd.DataFrame, ranked: list[str], districts: list[str], forms: list[str]) -> list[TopicDemand]:
    """Every topic of ``ranked``, in that order: asked and met over the area and per district, and the forms
    the people still waiting want."""
    total, by_district = _counts(needs, ["topic"]), _counts(needs, ["topic", "district"])
    per_form: dict[str, Counter[str]] = {}
    waiting = needs[~needs["met"]]
    for topic, chosen in zip(waiting["topic"], waiting["forms"]):
        # a form that is no column (an "Other" answer) counts under OTHER_FORM, once a person
        per_form.setdefault(topic, Counter()).update(
            dict.fromkeys((f if f in forms else OTHER_FORM for f in chosen or (NO_FORM,)), 1)
        )
    none = Count(asked=0, met=0)
    return [
        TopicDemand(
            topic=topic, rank=rank, total=total.get(topic, none),
            by_district=[by_district.get((topic, d), none) for d in districts],
            waiting_by_form=[per_form.get(topic, Counter()).get(f, 0) for f in forms],
        )
        for rank, topic in enumerate(ranked, start=1)
    ]


def _counts(needs: pd.DataFrame, by: list[str]) -> dict[Any, Count]:
    """Asked and met per group of ``needs`` by the columns ``by`` (a group's key: a tuple when ``by`` has two
    columns or more), in the order of the keys."""
    grouped = needs.groupby(by)["met"].agg(["size", "sum"])
    return {key: Count(asked=int(size), met=int(met)) for key, size, met in zip(grouped.index, grouped["size"], grouped["sum"])}


def _groups(needs: pd.DataFrame, ranked: list[str], districts: list[str]) -> list[GroupDemand]:
    """Asked/met/unmet per district, position/standing and unit, for each topic someone there asked for."""
    topic_rank = {t: n for n, t in enumerate(ranked)}
    district_rank = {d: n for n, d in enumerate(districts)}
    role_size = needs.groupby("role").size()

    def counted(by: str, group: str, code: str, district: str, topic: str, count: Count) -> GroupDemand:
        return GroupDemand(by=by, group=group, code=code, district=district, topic=topic,
                           asked=count.asked, met=count.met, unmet=count.unmet)

    by_district = [
        counted(BY_DISTRICT, district, "", "", topic, count)
        for (district, topic), count in _counts(needs, ["district", "topic"]).items()
    ]
    by_district.sort(key=lambda g: (district_rank.get(g.group, len(districts)), g.group, topic_rank[g.topic]))
    by_role = [counted(BY_POSITION, role, "", "", topic, count)
               for (role, topic), count in _counts(needs, ["role", "topic"]).items()]
    by_role.sort(key=lambda g: (-int(role_size[g.group]), g.group, topic_rank[g.topic]))  # most common first
    by_unit = [
        counted(BY_UNIT, name, code, district, topic, count)
        for (district, name, code, topic), count in _counts(needs, ["district", "unit_name", "unit_code", "topic"]).items()
    ]
    by_unit.sort(key=lambda g: (district_rank.get(g.district, len(districts)), g.group, g.code, topic_rank[g.topic]))
    return by_district + by_role + by_unit


def _waiting(needs: pd.DataFrame, ranked: list[str], districts: list[str]) -> list[Waiting]:
    topic_rank = {t: n for n, t in enumerate(ranked)}
    district_rank = {d: n for n, d in enumerate(districts)}
    waiting = frame_rows(needs[~needs["met"]])
    waiting.sort(key=lambda w: (topic_rank[w["topic"]], district_rank.get(w["district"], len(districts)),
                                w["unit_name"], w["unit_code"], w["work_group"], w["name"]))
    return [
        Waiting(
            topic=w["topic"], district=w["district"], unit_code=w["unit_code"], unit_name=w["unit_name"],
            name=w["name"], position=w["position"], standing=w["standing"], work_group=w["work_group"],
            forms=", ".join(w["forms"]) or NO_FORM,
            source=", ".join(s for s in (FROM_SURVEY, FROM_PLAN) if s in w["sources"]),
            email=w["email"],
        )
        for w in waiting
    ]


def _unmatched(found: dict[str, _Unmatched]) -> list[UnmatchedTopic]:
    listed = [
        UnmatchedTopic(
            text=u.spellings.most_common(1)[0][0], rows=sum(u.sources.values()),
            sources={SOURCE_NAMES[s]: u.sources[s] for s in SOURCE_NAMES if u.sources[s]},
            examples=list(u.examples),
        )
        for u in found.values()
    ]
    return sorted(listed, key=lambda u: (-u.rows, u.text))
