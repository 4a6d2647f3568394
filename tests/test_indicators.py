"""The indicators' rules at their edges, on frames built by hand.

Each expectation is worked out by hand from the few rows a test builds: a unit, a
district and the area at exactly their target are met; a development's topic matches
a survey need when either names the other; every built-in alias of a position names it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline import thai
from pipeline.indicators import Indicator, measure
from pipeline.indicators.compute import (
    AREA,
    OFFICE_GROUP,
    STATUS_EMPTY,
    STATUS_MET,
    STATUS_NO_TARGET,
    STATUS_NOT_MET,
    TABLE_COLUMNS,
    topic_matches,
)
from pipeline.indicators.definitions import Evidence
from pipeline.normalize import Normalized
from pipeline.topics import TopicVocabulary

S1, S2, OFFICE = "1067000001", "1067000002", "1067000000"
YEAR = 2562


def indicator(**fields) -> Indicator:
    base = {"id": "x", "strategy": 3, "name": "ตัวชี้วัด", "short_name": "ตัวชี้วัด", "unit": "staff",
            "evidence": {"rule": "completed_kinds", "kinds": ["อบรม"]}, "targets": {YEAR: 75}}
    return Indicator.model_validate({**base, **fields})


def area(staff: list[tuple[str, str, str]], records: list[tuple[str, str, str]] = (),
         survey: dict[str, list[str]] | None = None, plans: list[str] = ()) -> Normalized:
    """staff: (staff_id, unit_code, position); records: (staff_id, kind, topic), all done in YEAR."""
    units = pd.DataFrame([
        {"code": S1, "kind": "school", "stem": False, "district": "หล่มสัก"},
        {"code": S2, "kind": "school", "stem": False, "district": "หล่มเก่า"},
        {"code": OFFICE, "kind": "office", "stem": False, "district": ""},
    ])
    people = pd.DataFrame(
        [{"staff_id": sid, "unit_code": unit, "unit_id": unit if unit != OFFICE else f"{unit}:กลุ่มบริหารงานบุคคล",
          "position": position} for sid, unit, position in staff],
        columns=["staff_id", "unit_code", "unit_id", "position"],
    )
    done = pd.DataFrame(
        [{"staff_id": sid, "fiscal_year": YEAR, "done": True, "kind": kind, "topic": topic}
         for sid, kind, topic in records],
        columns=["staff_id", "fiscal_year", "done", "kind", "topic"],
    )
    needs = pd.DataFrame([{"staff_id": sid, "topics": topics} for sid, topics in (survey or {}).items()],
                         columns=["staff_id", "topics"])
    plan_rows = pd.DataFrame([{"staff_id": sid, "fiscal_year": YEAR} for sid in plans],
                             columns=["staff_id", "fiscal_year"])
    return Normalized(units, people, needs, plan_rows, done, pd.DataFrame(), pd.DataFrame())


def row(scores, level: str, key: str) -> dict:
    found = scores.table[(scores.table["level"] == level) & (scores.table["key"] == key)]
    assert len(found) == 1, (level, key)
    return found.iloc[0].to_dict()


def teachers(unit: str, count: int, start: int = 0) -> list[tuple[str, str, str]]:
    return [(f"{unit}-{n}", unit, thai.TEACHER) for n in range(start, start + count)]


# --- a target is met when reached exactly -------------------------------------------------


def test_a_unit_at_exactly_its_target_is_met_and_one_person_less_is_not():
    # S1: 3 of 4 trained = 75 % against 75; S2: 2 of 4 = 50 %
    data = area(teachers(S1, 4) + teachers(S2, 4),
                [(f"{S1}-{n}", "อบรม", "") for n in range(3)] + [(f"{S2}-{n}", "อบรม", "") for n in range(2)])
    scores = measure(data, [indicator()], YEAR)
    found = row(scores, "unit", S1)
    assert (found["population"], found["met"], found["percent"], found["status"]) == (4, 3, 75.0, STATUS_MET)
    assert (row(scores, "unit", S2)["percent"], row(scores, "unit", S2)["status"]) == (50.0, STATUS_NOT_MET)
    # the area: 5 of 8 = 62.5 % < 75
    assert (row(scores, AREA, AREA)["met"], row(scores, AREA, AREA)["status"]) == (5, STATUS_NOT_MET)


def test_a_district_and_the_area_at_exactly_their_target_are_met():
    # 7 of 10 teachers against 70: the district (all in S1) and the area sit exactly on the target
    data = area(teachers(S1, 10), [(f"{S1}-{n}", "อบรม", "") for n in range(7)])
    scores = measure(data, [indicator(targets={YEAR: 70})], YEAR)
    for level, key in (("unit", S1), ("district", "หล่มสัก"), (AREA, AREA)):
        found = row(scores, level, key)
        assert (found["population"], found["met"], found["percent"], found["status"]) == (10, 7, 70.0, STATUS_MET)
    # one fewer: 6 of 10 = 60 % misses 70 everywhere
    data = area(teachers(S1, 10), [(f"{S1}-{n}", "อบรม", "") for n in range(6)])
    scores = measure(data, [indicator(targets={YEAR: 70})], YEAR)
    assert {row(scores, lv, k)["status"] for lv, k in (("unit", S1), ("district", "หล่มสัก"), (AREA, AREA))} == {
        STATUS_NOT_MET}


def test_a_unit_a_fraction_of_a_percent_under_its_target_is_not_met():
    # 75 of 101 = 74.26 % against 75: shown as 74.3, not met (75 of 100 would be)
    data = area(teachers(S1, 101), [(f"{S1}-{n}", "อบรม", "") for n in range(75)])
    found = row(measure(data, [indicator()], YEAR), "unit", S1)
    assert (found["population"], found["met"], found["percent"], found["status"]) == (101, 75, 74.3, STATUS_NOT_MET)


def test_a_hundred_percent_target_needs_everyone():
    data = area(teachers(S1, 3), [(f"{S1}-{n}", "อบรม", "") for n in range(3)])
    assert row(measure(data, [indicator(targets={YEAR: 100})], YEAR), "unit", S1)["status"] == STATUS_MET
    data = area(teachers(S1, 3), [(f"{S1}-{n}", "อบรม", "") for n in range(2)])
    assert row(measure(data, [indicator(targets={YEAR: 100})], YEAR), "unit", S1)["status"] == STATUS_NOT_MET


def test_units_counted_at_exactly_their_target():
    # unit_has_kinds over 4 units (2 schools, 2 office work groups): 3 with research = 75 % against 75
    staff = [(f"{S1}-0", S1, thai.TEACHER), (f"{S2}-0", S2, thai.TEACHER),
             ("o-1", OFFICE, thai.SUPERVISOR), ("o-2", OFFICE, thai.SUPERVISOR)]
    data = area(staff, [(f"{S1}-0", "วิจัย", ""), (f"{S2}-0", "วิจัย", ""), ("o-1", "วิจัย", "")])
    data.staff.loc[data.staff["staff_id"] == "o-2", "unit_id"] = f"{OFFICE}:กลุ่มนโยบายและแผน"
    unit_indicator = indicator(unit="unit", evidence={"rule": "unit_has_kinds", "kinds": ["วิจัย"]})
    scores = measure(data, [unit_indicator], YEAR)
    found = row(scores, AREA, AREA)
    assert (found["population"], found["met"], found["status"]) == (4, 3, STATUS_MET)
    assert (row(scores, "district", OFFICE_GROUP)["met"], row(scores, "district", OFFICE_GROUP)["status"]) == (
        1, STATUS_NOT_MET)  # 1 of the office's 2 groups = 50 %


def test_a_unit_population_counts_only_the_units_it_names():
    # 2 schools (S1 runs STEM) and 2 office work groups; research done in S1, S2 and one group
    staff = [(f"{S1}-0", S1, thai.TEACHER), (f"{S2}-0", S2, thai.TEACHER),
             ("o-1", OFFICE, thai.SUPERVISOR), ("o-2", OFFICE, thai.SUPERVISOR)]
    data = area(staff, [(f"{S1}-0", "วิจัย", ""), (f"{S2}-0", "วิจัย", ""), ("o-1", "วิจัย", "")])
    data.staff.loc[data.staff["staff_id"] == "o-2", "unit_id"] = f"{OFFICE}:กลุ่มนโยบายและแผน"
    data.units.loc[data.units["code"] == S1, "stem"] = True
    evidence = {"rule": "unit_has_kinds", "kinds": ["วิจัย"]}
    counted = {
        "everyone": {},
        "schools": {"unit_kind": "school"},
        "office": {"unit_kind": "office"},
        "stem": {"unit_flag": "stem"},
    }
    found = {}
    for name, population in counted.items():
        scores = measure(data, [indicator(unit="unit", population=population, evidence=evidence)], YEAR)
        total = row(scores, AREA, AREA)
        found[name] = (total["population"], total["met"])
    assert found == {"everyone": (4, 3), "schools": (2, 2), "office": (2, 1), "stem": (1, 1)}


def test_a_staff_population_counts_the_positions_and_units_it_names():
    # S1 runs STEM: a teacher and its director; S2: a teacher; the office: a supervisor.
    # Trained: S1's teacher and director, the supervisor (S2's teacher is not).
    staff = [(f"{S1}-0", S1, thai.TEACHER), (f"{S1}-1", S1, thai.SCHOOL_DIRECTOR), (f"{S2}-0", S2, thai.TEACHER),
             ("o-1", OFFICE, thai.SUPERVISOR)]
    data = area(staff, [(f"{S1}-0", "อบรม", ""), (f"{S1}-1", "อบรม", ""), ("o-1", "อบรม", "")])
    data.units.loc[data.units["code"] == S1, "stem"] = True
    counted = {
        "everyone": {},
        "teachers": {"positions": [thai.TEACHER]},
        "schools": {"unit_kind": "school"},
        "office": {"unit_kind": "office"},
        "stem": {"unit_flag": "stem"},
        "teachers in schools": {"positions": [thai.TEACHER], "unit_kind": "school"},
        "teachers in STEM schools": {"positions": [thai.TEACHER], "unit_flag": "stem"},
    }
    found = {}
    for name, population in counted.items():
        total = row(measure(data, [indicator(population=population)], YEAR), AREA, AREA)
        found[name] = (total["population"], total["met"])
    assert found == {"everyone": (4, 3), "teachers": (2, 1), "schools": (3, 2), "office": (1, 1), "stem": (2, 2),
                     "teachers in schools": (2, 1), "teachers in STEM schools": (1, 1)}


def test_a_staff_indicator_given_a_rule_that_measures_units_is_refused_by_name():
    # The definitions refuse this pairing when read (tests/test_config.py); measure refuses it too,
    # so a rule added to the definitions but not to compute stops with its name.
    unit_rule = Evidence.model_construct(rule="unit_has_kinds", kinds=["อบรม"])
    wrong = indicator().model_copy(update={"evidence": unit_rule})
    with pytest.raises(ValueError, match="^rule 'unit_has_kinds' does not measure staff$"):
        measure(area(teachers(S1, 1)), [wrong], YEAR)


def test_the_scores_keep_each_person_and_unit_counted_numbered_row_by_row():
    # Two schools, two office work groups; research by S1's and S2's teachers and o-1 (group บริหารงานบุคคล)
    staff = [(f"{S1}-0", S1, thai.TEACHER), (f"{S2}-0", S2, thai.TEACHER),
             ("o-1", OFFICE, thai.SUPERVISOR), ("o-2", OFFICE, thai.SUPERVISOR)]
    data = area(staff, [(f"{S1}-0", "วิจัย", ""), (f"{S2}-0", "วิจัย", ""), ("o-1", "วิจัย", "")])
    data.staff.loc[data.staff["staff_id"] == "o-2", "unit_id"] = f"{OFFICE}:กลุ่มนโยบายและแผน"
    teachers_trained = indicator(id="t", population={"positions": [thai.TEACHER]}, evidence={
        "rule": "completed_kinds", "kinds": ["วิจัย"]})
    everyone_trained = indicator(id="e", evidence={"rule": "completed_kinds", "kinds": ["วิจัย"]})
    units_researching = indicator(id="u", unit="unit", evidence={"rule": "unit_has_kinds", "kinds": ["วิจัย"]})
    scores = measure(data, [teachers_trained, everyone_trained, units_researching], YEAR)
    assert scores.fiscal_year == YEAR
    people = set(zip(scores.people["staff_id"], scores.people["indicator"], scores.people["met"]))
    assert people == {(f"{S1}-0", "t", True), (f"{S2}-0", "t", True), (f"{S1}-0", "e", True), (f"{S2}-0", "e", True),
                      ("o-1", "e", True), ("o-2", "e", False)}
    units = set(zip(scores.units["unit_id"], scores.units["unit_code"], scores.units["met"]))
    assert units == {(S1, S1, True), (S2, S2, True), (f"{OFFICE}:กลุ่มบริหารงานบุคคล", OFFICE, True),
                     (f"{OFFICE}:กลุ่มนโยบายและแผน", OFFICE, False)}
    assert list(scores.people.index) == list(range(6)) and list(scores.units.index) == list(range(4))


def test_a_unit_nobody_is_counted_in_has_nothing_met_and_adds_nothing_to_its_district():
    # S2 has only its director: no teacher counted there, none met; S2's district (หล่มเก่า) has no one either
    data = area(teachers(S1, 2) + [(f"{S2}-0", S2, thai.SCHOOL_DIRECTOR)],
                [(f"{S1}-0", "อบรม", ""), (f"{S2}-0", "อบรม", "")])
    scores = measure(data, [indicator(population={"positions": [thai.TEACHER]}, targets={YEAR: 50})], YEAR)
    figures = {(level, key): (found["population"], found["met"], found["status"])
               for level, key in (("unit", S1), ("unit", S2), ("district", "หล่มสัก"), ("district", "หล่มเก่า"),
                                  (AREA, AREA))
               for found in [row(scores, level, key)]}
    assert figures == {
        ("unit", S1): (2, 1, STATUS_MET), ("unit", S2): (0, 0, STATUS_EMPTY),
        ("district", "หล่มสัก"): (2, 1, STATUS_MET), ("district", "หล่มเก่า"): (0, 0, STATUS_EMPTY),
        (AREA, AREA): (2, 1, STATUS_MET),
    }


def test_a_district_adds_up_every_school_in_it():
    # S1 (3 of 4) and S2 (1 of 2) both in หล่มสัก: the district is 4 of 6 = 66.7 % against 60
    data = area(teachers(S1, 4) + teachers(S2, 2),
                [(f"{S1}-{n}", "อบรม", "") for n in range(3)] + [(f"{S2}-0", "อบรม", "")])
    data.units.loc[data.units["code"] == S2, "district"] = "หล่มสัก"
    found = row(measure(data, [indicator(targets={YEAR: 60})], YEAR), "district", "หล่มสัก")
    assert (found["population"], found["met"], found["percent"], found["status"]) == (6, 4, 66.7, STATUS_MET)


def test_an_indicator_nobody_is_counted_in_still_gives_every_row():
    # no assistant teacher anywhere: every unit, district and the area have nobody counted
    scores = measure(area(teachers(S1, 2)), [indicator(population={"positions": [thai.ASSISTANT_TEACHER]})], YEAR)
    assert list(scores.people.columns) == ["staff_id", "unit_code", "indicator", "met"] and scores.people.empty
    assert len(scores.table) == 3 + 3 + 1  # 3 units, 3 groups (2 districts and the office), the area
    assert set(scores.table["status"]) == {STATUS_EMPTY}


def test_an_empty_area_or_no_indicators_measure_to_tables_with_their_columns():
    empty = area([])
    empty.units = empty.units.iloc[0:0]
    unit_indicator = indicator(unit="unit", evidence={"rule": "unit_has_kinds", "kinds": ["วิจัย"]})
    scores = measure(empty, [unit_indicator], YEAR)
    assert list(scores.units.columns) == ["unit_id", "unit_code", "indicator", "met"] and scores.units.empty
    assert scores.table[["level", "population", "status"]].values.tolist() == [[AREA, 0, STATUS_EMPTY]]
    none = measure(area(teachers(S1, 1)), [], YEAR)
    assert list(none.table.columns) == TABLE_COLUMNS and none.table.empty and none.for_level(AREA).empty
    assert none.totals_of(AREA, AREA) == {}


def test_a_units_totals_are_its_rows_of_the_table_by_indicator():
    # S1: 1 of 2 teachers trained (50 % against 75); research nowhere
    data = area(teachers(S1, 2), [(f"{S1}-0", "อบรม", "")])
    research = indicator(id="r", evidence={"rule": "completed_kinds", "kinds": ["วิจัย"]})
    scores = measure(data, [indicator(), research], YEAR)
    found = {ind: (r["population"], r["met"], r["status"]) for ind, r in scores.totals_of("unit", S1).items()}
    assert found == {"x": (2, 1, STATUS_NOT_MET), "r": (2, 0, STATUS_NOT_MET)}
    assert scores.totals_of("unit", "1067009999") == {}  # a code the area does not have


def test_nobody_counted_and_no_target_have_their_own_status():
    data = area(teachers(S1, 2), [(f"{S1}-0", "อบรม", "")])
    scores = measure(data, [indicator(targets={2561: 75})], YEAR)  # no target for 2562
    assert (row(scores, "unit", S1)["status"], row(scores, "unit", S1)["target"]) == (STATUS_NO_TARGET, None)
    assert row(scores, "unit", S2)["status"] == STATUS_EMPTY and pd.isna(row(scores, "unit", S2)["percent"])


# --- a development matches a survey need when either names the other ---------------------


@pytest.mark.parametrize(("done", "need"), [
    ("การวิจัยในชั้นเรียน", "การวิจัยในชั้นเรียน"),                 # the same
    ("อบรมการวิจัยในชั้นเรียน รุ่นที่ 2", "การวิจัยในชั้นเรียน"),      # the need inside the development
    ("สะเต็ม", "การจัดการเรียนรู้แบบสะเต็มศึกษา"),                   # the development inside the need
    ("  Active   Learning ", "active learning"),                     # case and spacing ignored
])
def test_a_topic_matches_a_need_that_names_it_either_way(done, need):
    assert topic_matches(done, need)


@pytest.mark.parametrize(("done", "need"), [
    ("การวิจัยในชั้นเรียน", "สะเต็มศึกษา"),
    ("", "สะเต็มศึกษา"),
    ("สะเต็มศึกษา", ""),
    ("", ""),
])
def test_a_topic_does_not_match_an_unrelated_or_empty_need(done, need):
    assert not topic_matches(done, need)


def test_the_survey_rule_counts_a_person_whose_development_names_their_own_need():
    staff = teachers(S1, 4)
    survey = {f"{S1}-0": ["สะเต็มศึกษา"], f"{S1}-1": ["การวิจัยในชั้นเรียน", "PLC"],
              f"{S1}-2": ["การวัดและประเมินผล"], f"{S1}-3": ["สะเต็มศึกษา"]}
    records = [
        (f"{S1}-0", "อบรม", "อบรมสะเต็มศึกษาเบื้องต้น"),       # need inside the topic: met
        (f"{S1}-1", "อบรม", "PLC"),                             # the second of two needs: met
        (f"{S1}-2", "อบรม", "การวัดผล"),                        # a different topic: not met
        (f"{S1}-3", "อบรม", ""),                                # no topic: not met
    ]
    rule = indicator(evidence={"rule": "matches_survey_need"}, targets={YEAR: 50})
    found = row(measure(area(staff, records, survey), [rule], YEAR), "unit", S1)
    assert (found["population"], found["met"], found["status"]) == (4, 2, STATUS_MET)


def test_a_known_topic_matches_a_need_typed_as_free_text_inside_it():
    # The survey offers "การจัดการเรียนรู้เชิงรุก (Active Learning)"; one person typed the need as
    # free text that names no topic, another typed a topic the development is not.
    topics = TopicVocabulary.build(["การจัดการเรียนรู้เชิงรุก (Active Learning)", "สะเต็มศึกษา"])
    assert topics.same_topic("การจัดการเรียนรู้เชิงรุก (Active Learning)", "การจัดการเรียนรู้")
    assert not topics.same_topic("การจัดการเรียนรู้เชิงรุก (Active Learning)", "สะเต็มศึกษา")
    staff = teachers(S1, 2)
    survey = {f"{S1}-0": ["การจัดการเรียนรู้"], f"{S1}-1": ["สะเต็มศึกษา"]}
    records = [(f"{S1}-0", "อบรม", "การจัดการเรียนรู้เชิงรุก"), (f"{S1}-1", "อบรม", "การจัดการเรียนรู้เชิงรุก")]
    rule = indicator(evidence={"rule": "matches_survey_need"}, targets={YEAR: 50})
    found = row(measure(area(staff, records, survey), [rule], YEAR, topics), "unit", S1)
    assert (found["met"], found["status"]) == (1, STATUS_MET)


def test_the_id_plan_rule_counts_people_with_plan_rows_for_the_year():
    data = area(teachers(S1, 4), plans=[f"{S1}-0", f"{S1}-1", f"{S1}-1"])
    found = row(measure(data, [indicator(evidence={"rule": "has_id_plan"}, targets={YEAR: 50})], YEAR), "unit", S1)
    assert (found["met"], found["status"]) == (2, STATUS_MET)


# --- positions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("canonical", "alias"), [
    (canonical, alias) for canonical, aliases in thai.DEFAULT_POSITIONS.items() for alias in aliases
])
def test_every_built_in_alias_names_its_position(canonical, alias):
    reading = thai.read_position(alias)
    assert (reading.position, reading.known) == (canonical, True)


def test_a_position_population_counts_only_those_positions():
    staff = [(f"{S1}-0", S1, thai.TEACHER), (f"{S1}-1", S1, thai.ASSISTANT_TEACHER),
             (f"{S1}-2", S1, thai.SCHOOL_DIRECTOR)]
    records = [(f"{S1}-0", "อบรม", ""), (f"{S1}-2", "อบรม", "")]
    only_teachers = indicator(population={"positions": [thai.TEACHER, thai.ASSISTANT_TEACHER]})
    found = row(measure(area(staff, records), [only_teachers], YEAR), "unit", S1)
    assert (found["population"], found["met"]) == (2, 1)
