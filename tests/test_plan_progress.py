"""Each person's own plan against what they completed, and who is behind it, on a hand-built area.

See tests/plan_area.py for the rows. FY 2562 = 1 Oct 2018 – 30 Sep 2019, midpoint 1 April 2019.
Every expected figure below is worked out by hand from those rows (the comments show how).

Per person (planned hours from the FY 2562 plan rows; done = records with a done status dated in FY 2562):

    A1  plan 20 + 10 = 30   done 6 (Nov) + 12 (May) = 18      18 ≥ 15: on track
    A2  plan 40             done 12 (Dec) + 6 (Feb) = 18      18 < 20: under half from 1 Apr; its Feb record's
                                                              topic (การวัดและประเมินผล) is not in the plan
    A3  plan 10             done 4 (Jun); Mar's 8 under way   4 < 5: under half from 1 Apr
    A4  plan (no hours)     nothing done (Jan's under way; Sep 2018's is FY 2561)   behind from 1 Oct
    A5  no 2562 plan (only 2561)                              not listed: no plan to be behind
    A6  plan 12             done 6 (Apr); Jul's under way     6 = half: on track
    B1  plan 20             done 12                           on track
    B2  plan 30             nothing                           behind from 1 Oct; its topic not started
    B3  plan 20             done 6                            6 < 10: under half from 1 Apr
    O1  plan 10             done 10                           on track
    O2  plan 6              done 2                            2 < 3: under half from 1 Apr
    O3  no plan
"""

from __future__ import annotations

import dataclasses
import email
import re
from datetime import date
from email.policy import default as default_policy

import pandas as pd
import pytest

from pipeline.config import load_settings
from pipeline.plan_progress import BEFORE, ENDED, FIRST_HALF, NO_DEVELOPMENT, SECOND_HALF, UNDER_HALF, checkpoint, own_plans
from pipeline.sync import run_sync
from pipeline.workbook.local import LocalWorkbook
from tests import plan_area
from tests.plan_area import ACTIVE, MEASURE, OFFICE, PEOPLE, SCHOOL_A, SCHOOL_B, full_name, nid

BEFORE_MIDPOINT, MIDPOINT = date(2019, 3, 31), date(2019, 4, 1)
PLAN_TAB = "ความก้าวหน้าตามแผนรายบุคคล"


@pytest.fixture
def area(config_file):
    return plan_area.written(config_file)


@pytest.fixture
def ready(area):
    return plan_area.prepared(area, MIDPOINT)


def plans_on(ready, day: date) -> dict:
    """Staff ID -> own plan on ``day``, topics compared through the run's vocabulary (demo.toml's)."""
    return own_plans(ready.data, 2562, day, ready.topics).people


def names(people) -> set[str]:
    return {p.name for p in people}


def behind_on(ready, day: date) -> dict[str, str]:
    """name -> why, of everyone behind their own plan on ``day``."""
    return {p.name: p.behind for p in plans_on(ready, day).values() if p.behind}


# --- the calendar -------------------------------------------------------------------------------


@pytest.mark.parametrize("day, phase", [
    (date(2018, 9, 30), BEFORE),        # the day before FY 2562 begins
    (date(2018, 10, 1), FIRST_HALF),    # its first day
    (date(2019, 3, 31), FIRST_HALF),    # the day before the midpoint
    (date(2019, 4, 1), SECOND_HALF),    # the midpoint: 1 April 2019 (พ.ศ. 2562)
    (date(2019, 9, 30), SECOND_HALF),   # its last day
    (date(2019, 10, 1), ENDED),         # the next fiscal year: 2562 is judged as it ended
    (date(2026, 12, 7), ENDED),
])
def test_the_phase_of_fy_2562_on_each_date(day, phase):
    point = checkpoint(2562, day)
    assert (point.start, point.midpoint, point.end) == (date(2018, 10, 1), date(2019, 4, 1), date(2019, 9, 30))
    assert point.phase == phase
    assert point.hours_count == (phase in (SECOND_HALF, ENDED))


def test_each_phase_states_its_rule_with_the_years_own_dates():
    # FY 2562: begins 1 Oct 2018 (2561 BE), midpoint 1 Apr 2019 (2562 BE), ends 30 Sep 2019 (2562 BE)
    rules = {day: checkpoint(2562, day).rule for day in (date(2018, 9, 30), BEFORE_MIDPOINT, MIDPOINT, date(2019, 10, 1))}
    assert rules[date(2018, 9, 30)].startswith("ปีงบประมาณ 2562 ยังไม่เริ่ม (เริ่ม 1 ตุลาคม 2561) ")
    assert rules[BEFORE_MIDPOINT].startswith("ก่อนกลางปีงบประมาณ (1 เมษายน 2562) ")
    assert rules[MIDPOINT].startswith("ตั้งแต่กลางปีงบประมาณ (1 เมษายน 2562) ")
    assert rules[date(2019, 10, 1)].startswith("ปีงบประมาณ 2562 สิ้นสุดแล้ว (30 กันยายน 2562) ")


def test_the_midpoint_of_another_year_is_its_own_1_april():
    assert checkpoint(2563, date(2020, 1, 1)).midpoint == date(2020, 4, 1)  # FY 2563: Oct 2019 – Sep 2020


# --- each person ---------------------------------------------------------------------------------


def test_hours_planned_and_done_per_person(ready):
    people = plans_on(ready, MIDPOINT)
    got = {k: (people[nid(k)].planned_hours, people[nid(k)].done_hours, people[nid(k)].done_count)
           for k in PEOPLE if nid(k) in people}
    assert got == {
        "A1": (30, 18, 2), "A2": (40, 18, 2), "A3": (10, 4, 1), "A4": (None, 0, 0), "A6": (12, 6, 1),
        "B1": (20, 12, 1), "B2": (30, 0, 0), "B3": (20, 6, 1), "O1": (10, 10, 1), "O2": (6, 2, 1),
    }  # A5 (only a 2561 plan) and O3 (none) have no plan for 2562
    assert people[nid("A2")].percent == pytest.approx(45.0)   # 18 / 40
    assert people[nid("A4")].percent is None                   # no hours planned
    assert people[nid("A2")].unplanned == [MEASURE]             # done ("การวัดผล O-NET"), not planned
    assert people[nid("B2")].not_started == [ACTIVE]            # planned, no record at all
    assert people[nid("A4")].not_started == []                  # its research is under way: started
    assert people[nid("A1")].planned_topics == [ACTIVE, plan_area.ADMIN]
    assert people[nid("A1")].not_started == [] and people[nid("A1")].unplanned == []  # "...ต้นแบบ AL" is planned
    assert people[nid("B3")].not_started == [] and people[nid("B3")].unplanned == []  # "อบรม STEM รุ่นที่ 2" too


def test_each_plan_names_the_person_as_the_staff_list_does(ready):
    people = plans_on(ready, MIDPOINT)
    got = {k: (people[nid(k)].position, people[nid(k)].work_group, people[nid(k)].behind) for k in ("A1", "O1", "O2")}
    assert got == {
        "A1": ("ผู้อำนวยการสถานศึกษา", "", ""),                         # on track: "" (no reason)
        "O1": ("ศึกษานิเทศก์", "กลุ่มนิเทศ", ""),
        "O2": (plan_area.OTHER_EDUCATION, "กลุ่มอำนวยการ", UNDER_HALF),  # 2 of 6 hours
    }


def test_a_plan_row_without_a_topic_counts_its_hours_and_names_no_topic(ready):
    # A1 adds a row of 5 hours with the topic left blank: 30 + 5 = 35 planned, 18 done ≥ 17.5, on track
    plans = ready.data.plans
    blank = plans[plans["staff_id"] == nid("A1")].head(1).assign(topic="", hours=5)
    data = dataclasses.replace(ready.data, plans=pd.concat([plans, blank], ignore_index=True))
    a1 = own_plans(data, 2562, MIDPOINT, ready.topics).people[nid("A1")]
    assert (a1.planned_hours, a1.done_hours, a1.behind) == (35, 18, "")
    assert a1.planned_topics == [ACTIVE, plan_area.ADMIN] and a1.not_started == []


def test_plan_rows_of_someone_not_in_the_staff_list_are_left_out_and_nobody_else(ready):
    # an ID that sorts before everyone's, as a person taken off the staff list after the plans were read
    plans = ready.data.plans
    gone = plans.head(1).assign(staff_id="0000000000000")
    data = dataclasses.replace(ready.data, plans=pd.concat([gone, plans], ignore_index=True))
    listed = own_plans(data, 2562, MIDPOINT, ready.topics).people
    assert set(listed) == {nid(k) for k in ("A1", "A2", "A3", "A4", "A6", "B1", "B2", "B3", "O1", "O2")}


def test_without_the_vocabulary_only_texts_that_contain_each_other_meet(ready):
    """The topic comparison is the vocabulary's: with none, "อบรม STEM รุ่นที่ 2" is not the STEM option."""
    bare = own_plans(ready.data, 2562, MIDPOINT).people
    assert bare[nid("B3")].not_started == [plan_area.STEM] and bare[nid("B3")].unplanned == ["อบรม STEM รุ่นที่ 2"]


def test_behind_before_and_after_the_midpoint(ready):
    # 1 Oct – 31 Mar: only "no completed development yet"
    assert behind_on(ready, BEFORE_MIDPOINT) == {full_name("A4"): NO_DEVELOPMENT, full_name("B2"): NO_DEVELOPMENT}
    # from 1 April: also under half of the planned hours (A6 at exactly half is not)
    after = {
        full_name("A2"): UNDER_HALF, full_name("A3"): UNDER_HALF, full_name("A4"): NO_DEVELOPMENT,
        full_name("B2"): NO_DEVELOPMENT, full_name("B3"): UNDER_HALF, full_name("O2"): UNDER_HALF,
    }
    assert behind_on(ready, MIDPOINT) == after
    # a past year is judged as it ended, by the same rule
    assert behind_on(ready, date(2021, 1, 1)) == after
    # before the year begins, nobody
    assert behind_on(ready, date(2018, 9, 30)) == {}


def test_what_is_missing_is_said_for_each_person_behind(ready):
    people = plans_on(ready, MIDPOINT)
    assert people[nid("A2")].missing == "พัฒนาแล้ว 18 จาก 40 ชั่วโมงตามแผน ขาดอีก 2 ชั่วโมงจึงถึงครึ่งหนึ่งของแผน"
    assert people[nid("A4")].missing == "ยังไม่มีการพัฒนาที่เสร็จสิ้นในปีงบประมาณนี้"
    assert people[nid("B2")].missing == (
        "ยังไม่มีการพัฒนาที่เสร็จสิ้นในปีงบประมาณนี้ (แผน 30 ชั่วโมง); เรื่องตามแผนที่ยังไม่เริ่ม: " + ACTIVE
    )
    assert people[nid("A1")].missing == ""


# --- counts per unit, district and area ------------------------------------------------------------

# (staff, with plan, on track, behind, no development, under half, behind %, planned h, done h, hours %)
# counted over people with a plan; hours over those whose plan gives hours (A4's does not):
#   A: 6 staff, plans A1 A2 A3 A4 A6; behind A2 A3 A4; hours 30+40+10+12 = 92, done 18+18+4+6 = 46
#   B: 3 staff, plans B1 B2 B3; behind B2 B3; hours 20+30+20 = 70, done 12+0+6 = 18 (25.7 %)
#   office: 3 staff, plans O1 O2; behind O2; hours 10+6 = 16, done 10+2 = 12
#   area: 12 staff, 10 plans, 6 behind (A4, B2 none done; A2 A3 B3 O2 under half); 178 h, 76 done (42.7 %)
AFTER = {
    "บ้านหนึ่ง": (6, 5, 2, 3, 1, 2, 60.0, 92, 46, 50.0),
    "บ้านสอง": (3, 3, 1, 2, 1, 1, 66.7, 70, 18, 25.7),
    "สำนักงานเขตทดสอบ": (3, 2, 1, 1, 0, 1, 50.0, 16, 12, 75.0),
    "หล่มสัก": (6, 5, 2, 3, 1, 2, 60.0, 92, 46, 50.0),
    "หล่มเก่า": (3, 3, 1, 2, 1, 1, 66.7, 70, 18, 25.7),
    "สำนักงานเขตพื้นที่การศึกษา": (3, 2, 1, 1, 0, 1, 50.0, 16, 12, 75.0),
}
AREA_AFTER = (12, 10, 4, 6, 2, 4, 60.0, 178, 76, 42.7)
# before 1 April: A4 and B2 only
AREA_BEFORE = (12, 10, 8, 2, 2, 0, 20.0, 178, 76, 42.7)


def _figures(row) -> tuple:
    return (row.staff, row.with_plan, row.on_track, row.behind, row.no_development, row.under_half,
            None if row.behind_percent is None else round(row.behind_percent, 1), row.planned_hours,
            row.done_hours, None if row.hours_percent is None else round(row.hours_percent, 1))


def test_counts_per_unit_district_and_area(area):
    after = plan_area.prepared(area, MIDPOINT).area.plan
    before = plan_area.prepared(area, BEFORE_MIDPOINT).area.plan
    got = {r.name: _figures(r) for r in after.units + after.districts}
    assert got == AFTER
    assert _figures(after.area) == AREA_AFTER
    assert _figures(before.area) == AREA_BEFORE
    assert after.units[0].without_plan == 1  # the office: O3


# --- what people read -----------------------------------------------------------------------------


def _tab(settings, code: str) -> list[list]:
    key = settings.sources.idplan.key_for(code)
    return LocalWorkbook(settings.storage.path).read(key, [settings.output.summary_tab])[settings.output.summary_tab]


def _section(tab: list[list], title: str) -> list[list]:
    """The table under the title row starting with ``title``: its rows after the header, up to a blank row."""
    start = next(i for i, r in enumerate(tab) if r and isinstance(r[0], str) and r[0].startswith(title))
    header = next(i for i in range(start + 1, len(tab)) if tab[i] and tab[i][0] == "ชื่อ-นามสกุล")
    rows = []
    for row in tab[header + 1:]:
        if not row or row[0] is None:
            break
        rows.append(row)
    return rows


def _mail(settings, code: str) -> tuple[str, str]:
    message = email.message_from_bytes((settings.output.outbox / f"{code}.eml").read_bytes(), policy=default_policy)
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_the_school_tab_and_mail_name_who_is_behind_after_the_midpoint(area):
    run_sync(area, today=MIDPOINT)
    tab = _tab(area, SCHOOL_A)
    behind = _section(tab, "ผู้ที่ยังไม่เป็นไปตามแผนพัฒนาตนเอง")
    # name, masked ID, position, group, planned hours, done hours, what is missing; in the staff list's order
    # (ครู before ครูผู้ช่วย, then by first name: มาลี before วันดี)
    assert [(r[0], r[1], r[4], r[5]) for r in behind] == [
        (full_name("A2"), "x-xxxx-xxxxx-" + nid("A2")[10:12] + "-" + nid("A2")[12], 40, 18),
        (full_name("A4"), "x-xxxx-xxxxx-" + nid("A4")[10:12] + "-" + nid("A4")[12], None, 0),
        (full_name("A3"), "x-xxxx-xxxxx-" + nid("A3")[10:12] + "-" + nid("A3")[12], 10, 4),
    ]
    assert behind[2][6] == "พัฒนาแล้ว 4 จาก 10 ชั่วโมงตามแผน ขาดอีก 1 ชั่วโมงจึงถึงครึ่งหนึ่งของแผน"
    title = next(r[0] for r in tab if r and str(r[0]).startswith("ผู้ที่ยังไม่เป็นไปตามแผน"))
    assert title == "ผู้ที่ยังไม่เป็นไปตามแผนพัฒนาตนเอง (3 คน จากผู้มีแผนปีนี้ 5 คน)"
    assert any(r and r[0] and "ตั้งแต่กลางปีงบประมาณ (1 เมษายน 2562)" in r[0] for r in tab)
    # everyone's own plan, behind or not: hours, percent, what was planned and not started, done and not planned
    plans = {r[0]: r for r in _section(tab, "แผนพัฒนาตนเองรายบุคคล")}
    assert set(plans) == {full_name(k) for k in ("A1", "A2", "A3", "A4", "A6")}
    assert plans[full_name("A2")][2:6] == [40, 18, 45, "ยังไม่เป็นไปตามแผน"]
    assert plans[full_name("A2")][8] == MEASURE
    assert plans[full_name("A6")][2:6] == [12, 6, 50, "เป็นไปตามแผน"]
    text, html = _mail(area, SCHOOL_A)
    assert "ผู้ที่ยังไม่เป็นไปตามแผนพัฒนาตนเอง 3 คน (จากผู้มีแผนปีนี้ 5 คน)" in text
    for key in ("A2", "A3", "A4"):
        assert f"- {full_name(key)} (x-xxxx-xxxxx-" in text and full_name(key) in html
    assert re.findall(r"^- (.+?) \(x-", text.split("ผู้ที่ยังไม่เป็นไปตามแผน")[1], re.M)[:3] == [
        full_name("A2"), full_name("A4"), full_name("A3")]


def test_before_the_midpoint_only_those_with_nothing_done_are_listed(area):
    run_sync(area, today=BEFORE_MIDPOINT)
    assert [r[0] for r in _section(_tab(area, SCHOOL_A), "ผู้ที่ยังไม่เป็นไปตามแผนพัฒนาตนเอง")] == [full_name("A4")]
    assert [r[0] for r in _section(_tab(area, SCHOOL_B), "ผู้ที่ยังไม่เป็นไปตามแผนพัฒนาตนเอง")] == [full_name("B2")]
    office = _tab(area, OFFICE)
    assert any(r and r[0] == "ไม่มี" for r in office[[i for i, r in enumerate(office)
               if r and str(r[0]).startswith("ผู้ที่ยังไม่เป็นไปตามแผน")][0]:])
    text, _ = _mail(area, OFFICE)
    assert "ผู้ที่ยังไม่เป็นไปตามแผนพัฒนาตนเอง 0 คน (จากผู้มีแผนปีนี้ 2 คน)" in text
    assert "ก่อนกลางปีงบประมาณ (1 เมษายน 2562)" in text


def test_the_dashboard_tab_counts_per_district_and_unit(area):
    run_sync(area, today=MIDPOINT)
    tab = LocalWorkbook(area.storage.path).read("dashboard", [PLAN_TAB])[PLAN_TAB]
    header = next(i for i, r in enumerate(tab) if r and r[0] == "ระดับ")
    rows = {(r[0], r[2]): tuple(r[4:15]) for r in tab[header + 1:]}
    # staff, with plan, without, on track, behind, none done, under half, behind %, planned h, done h, hours %
    assert rows[("เขตพื้นที่", "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาเพชรบูรณ์ เขต 2")] == (
        12, 10, 2, 4, 6, 2, 4, 60, 178, 76, 42.7)
    assert rows[("อำเภอ", "หล่มเก่า")] == (3, 3, 0, 1, 2, 1, 1, 66.7, 70, 18, 25.7)
    assert rows[("หน่วยงาน", "บ้านหนึ่ง")] == (6, 5, 1, 2, 3, 1, 2, 60, 92, 46, 50)
    assert rows[("หน่วยงาน", "สำนักงานเขตทดสอบ")] == (3, 2, 1, 1, 1, 0, 1, 50, 16, 12, 75)
    names_ = {full_name(k) for k in PEOPLE}
    assert not any(isinstance(c, str) and c in names_ for r in tab for c in r)  # counts only, no names


def test_a_persons_plan_appears_only_in_their_own_units_outputs(area):
    run_sync(area, today=MIDPOINT)
    book = LocalWorkbook(area.storage.path)
    own = {SCHOOL_A: ("A1", "A2", "A3", "A4", "A5", "A6"), SCHOOL_B: ("B1", "B2", "B3"), OFFICE: ("O1", "O2", "O3")}
    for code, mine in own.items():
        tab = "\n".join(str(c) for r in _tab(area, code) for c in r if c is not None)
        text, html = _mail(area, code)
        for key in PEOPLE:
            first, last = PEOPLE[key][2], PEOPLE[key][3]
            for output in (tab, text, html):
                assert (f"{first} {last}" in output) == (key in mine), (code, key)
            for output in (tab, text, html):
                assert nid(key) not in output  # IDs only ever masked
    for tab in book.tabs("dashboard"):
        cells = "\n".join(str(c) for r in book.read("dashboard", [tab])[tab] for c in r if c is not None)
        assert not re.search(r"(?<!\d)\d{13}(?!\d)", cells), tab


def test_the_tab_is_rewritten_when_the_list_changes_on_1_april_and_only_then(area):
    keys = {area.sources.idplan.key_for(c) for c in (SCHOOL_A, SCHOOL_B, OFFICE)} | {"dashboard"}
    first = run_sync(area, today=BEFORE_MIDPOINT)
    assert set(first.published.written) == keys
    again = run_sync(area, today=date(2019, 3, 30))       # another day of the same half: nothing new
    assert again.published.written == {}
    april = run_sync(area, today=MIDPOINT)                 # the lists change on 1 April: rewritten
    assert set(april.published.written) == keys
    later = run_sync(area, today=date(2019, 4, 2))
    assert later.published.written == {}


def test_hours_typed_with_their_unit_are_read_and_others_noted(tmp_path, config_file):
    """Hours as people type them: "12 ชม." and "๑๒ ชั่วโมง" are 12; "สิบสอง" is noted and counted as 0, never
    dropped silently; "-" and a blank cell are 0 without a note."""
    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    plan_area.build(book, settings)
    ip = settings.sources.idplan
    key = ip.key_for(SCHOOL_B)
    plan = book.read(key, [ip.plan_tab])[ip.plan_tab]
    plan[1][6], plan[2][6], plan[3][6] = "12 ชม.", "สิบสอง", "๑๒ ชั่วโมง"  # B1, B2, B3
    records = book.read(key, [ip.record_tab])[ip.record_tab]
    records[1][5] = "-"  # B3's 6 hours
    book.write(key, {ip.plan_tab: plan, ip.record_tab: records})
    ready = plan_area.prepared(settings, MIDPOINT)
    people = plans_on(ready, MIDPOINT)
    assert [people[nid(k)].planned_hours for k in ("B1", "B2", "B3")] == [12, None, 12]
    assert people[nid("B3")].done_hours == 0 and people[nid("B3")].behind == UNDER_HALF  # a done record of 0 hours
    notes = ready.data.notes
    said = notes[(notes["_sheet"] == key) & notes["reason"].str.contains("จำนวนชั่วโมง")]
    assert list(said["_row"]) == [3] and list(said["value"]) == ["สิบสอง"]
