"""Development needs on a small area written by hand: demand, met/unmet, cohorts and unmatched topics.

The area (FY 2562 = 1 Oct 2018 – 30 Sep 2019), with the demo config's topic aliases:

  unit               district   person  position (standing)        survey topics / forms                 FY 2562 ID Plan (method)
  S1 บ้านหนึ่ง         หล่มสัก     P1      ครู (ชำนาญการ)               STEM, research / อบรม, PLC              "STEM" (อบรม)
                                P2      ครู                          STEM, Active / ศึกษาดูงาน                "อบรม AL" (PLC)
  S2 บ้านสอง          หล่มเก่า    P3      ครู (ชำนาญการ)               STEM + other "ลูกเสือ, เนตรนารี" / อบรม  "การวัดผล O-NET" (อบรม)
                                P4      ผู้อำนวยการสถานศึกษา          management / อบรม, ศึกษาดูงาน           FY 2561 only: "การนิเทศภายใน"
  S3 บ้านสาม          หล่มสัก     P5      ครูผู้ช่วย                    (no answer)                            "ภาษาอังกฤษ" (เรียนออนไลน์ด้วยตนเอง),
                                                                                                               "จิตวิทยาเด็ก" (names no topic)
                                P7      ครู                          (no answer)                            (none)
  office pbn2        (office)   P6      ศึกษานิเทศก์ (กลุ่มนิเทศ)       supervision, measurement /            "Digital literacy" (names no topic)
                                                                     PLC + other "Coaching"

Records: P1 "อบรม STEM รุ่น 2" done and a classroom research (kind วิจัยในชั้นเรียน, an alias of the
research topic) titled "การพัฒนาทักษะการอ่านด้วยแบบฝึก" done; P2 "การจัดการเรียนรู้เชิงรุก" done and "สะเต็ม" still in
progress; P3 "STEM" done in FY 2561 (15 Sep 2018) and "ยกระดับผลสอบ ONET" done; P4 "การบริหาร
โรงเรียน" done; P6 "การนิเทศภายใน" done and "ปฐมพยาบาล" done; P7 "จิตวิทยา เด็ก" done.

Worked out by hand:
  needs (person × topic)    P1 STEM (survey+plan, met), P1 research (met by the record's kind); P2 STEM
                            (unmet: not done),
                            P2 Active (survey+plan, met); P3 STEM (unmet: last year's), P3 measurement
                            (plan, met); P4 management (met: "การบริหารโรงเรียน" is an alias); P5 English
                            (plan, unmet); P6 supervision (met), P6 measurement (unmet). P7: no need.
  per topic (asked/met/unmet)  STEM 3/1/2, measurement 2/1/1, English 1/0/1, Active 1/1/0, research 1/1/0,
                            management 1/1/0, supervision 1/1/0; digital, สารบรรณ, การเงิน 0.
  rank                      most waiting, then most asking, then the survey's order: STEM, measurement,
                            English, Active, research, management, supervision, digital, สารบรรณ, การเงิน.
  districts                 the demo's order with a school in it, the office last: หล่มสัก, หล่มเก่า, office.
  cohorts                   STEM: P2 (หล่มสัก, ศึกษาดูงาน), P3 (หล่มเก่า, อบรม); measurement: P6 (PLC,
                            Coaching: counted under อื่น ๆ);
                            English: P5 (from the plan's method). P1 waits for nothing.
  unmatched                 (the research's title is not: its kind names its topic)
                            "จิตวิทยาเด็ก" 2 rows (P5's plan, P7's record typed "จิตวิทยา เด็ก"), then by text:
                            "Digital literacy" (plan), "ปฐมพยาบาล" (record), "ลูกเสือ, เนตรนารี" (survey).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from pipeline.config import load_settings
from pipeline.indicators.compute import OFFICE_GROUP
from pipeline.needs import NO_FORM, Count, measure_needs
from pipeline.sync import prepare
from pipeline.topics import TopicVocabulary
from pipeline.workbook.local import LocalWorkbook
from tests.conftest import make_id

S1, S2, S3, OFFICE = "1067000001", "1067000002", "1067000003", "pbn2"
ACTIVE = "การจัดการเรียนรู้เชิงรุก (Active Learning)"
STEM = "สะเต็มศึกษา (STEM Education)"
RESEARCH = "การวิจัยในชั้นเรียน"
MEASURE = "การวัดและประเมินผล (O-NET, NT, RT)"
DIGITAL = "เทคโนโลยีดิจิทัลเพื่อการศึกษา"
ENGLISH = "ภาษาอังกฤษเพื่อการสื่อสาร"
MANAGE = "การบริหารจัดการสถานศึกษา"
LETTERS = "งานสารบรรณและระเบียบราชการ"
MONEY = "การเงิน การบัญชี และพัสดุ"
SUPERVISE = "การนิเทศภายใน"

# key: (id, prefix, first, last, position, standing, unit, work group)
PEOPLE = {
    "P1": (make_id(21), "นาง", "ปราณี", "สะเต็มดี", "ครู", "ชำนาญการ", S1, ""),
    "P2": (make_id(22), "นาย", "ปกรณ์", "เชิงรุก", "ครู", "", S1, ""),
    "P3": (make_id(23), "นางสาว", "ปวีณา", "วัดผล", "ครู", "ชำนาญการ", S2, ""),
    "P4": (make_id(24), "นาย", "ประยุทธ", "บริหาร", "ผู้อำนวยการสถานศึกษา", "", S2, ""),
    "P5": (make_id(25), "นาย", "ปิยะ", "ภาษาดี", "ครูผู้ช่วย", "", S3, ""),
    "P6": (make_id(26), "นาง", "ปัทมา", "นิเทศ", "ศึกษานิเทศก์", "", OFFICE, "กลุ่มนิเทศ"),
    "P7": (make_id(27), "นาย", "ปรีชา", "เงียบ", "ครู", "", S3, ""),
}


def name(key: str) -> str:
    _, prefix, first, last, *_ = PEOPLE[key]
    return f"{prefix}{first} {last}"


def build(book: LocalWorkbook, settings) -> None:
    src = settings.sources
    uc, sc, qc = src.units.columns, src.staff.columns, src.survey.columns
    book.write(src.units.spreadsheet, {
        src.units.tab: [
            [uc.code, uc.name, uc.kind, uc.district, uc.director_email, uc.stem, uc.network, uc.students, uc.classrooms],
            [S1, "บ้านหนึ่ง", "โรงเรียน", "หล่มสัก", "s1@school.test", "ใช่", "", 100, 6],
            [S2, "บ้านสอง", "โรงเรียน", "หล่มเก่า", "s2@school.test", "ไม่ใช่", "", 80, 6],
            [S3, "บ้านสาม", "โรงเรียน", "หล่มสัก", "s3@school.test", "ไม่ใช่", "", 60, 6],
            [OFFICE, "สำนักงานเขตทดสอบ", "สำนักงานเขตพื้นที่", "หล่มสัก", "office@area.test", "ไม่ใช่", "", 0, 0],
        ],
        src.staff.tab: [
            [sc.national_id, sc.prefix, sc.first_name, sc.last_name, sc.position, sc.standing, sc.unit_code,
             sc.work_group, sc.email],
            *[[pid, prefix, first, last, position, standing, unit, group, f"{key.lower()}@mail.test"]
              for key, (pid, prefix, first, last, position, standing, unit, group) in PEOPLE.items()],
        ],
    })

    def answer(key: str, day: int, topics: str, methods: str) -> list:
        return [f"{day}/11/2018, 09:00:00", f"{key.lower()}@mail.test", name(key), PEOPLE[key][0], "", "", topics, methods]

    book.write(src.survey.spreadsheet, {src.survey.tab: [
        [qc.timestamp, qc.email, qc.full_name, qc.national_id, qc.unit_name, qc.position, qc.topics, qc.methods],
        answer("P1", 1, f"{STEM}, {RESEARCH}", "อบรม, PLC"),
        answer("P2", 2, f"{ACTIVE}, {STEM}", "ศึกษาดูงาน"),
        answer("P3", 3, f"{STEM}, ลูกเสือ, เนตรนารี", "อบรม"),
        answer("P4", 4, MANAGE, "อบรม, ศึกษาดูงาน"),
        answer("P6", 5, f"{SUPERVISE}, {MEASURE}", "PLC, Coaching"),  # "Coaching": an Other answer
    ]})

    ip = src.idplan
    pc, rc = ip.plan_columns, ip.record_columns

    def plan(key: str, topic: str, method: str, year: int = 2562) -> list:
        return [year, PEOPLE[key][0], name(key), topic, method, "ต.ค.-มี.ค.", 12]

    def record(key: str, day: datetime, topic: str, done: bool = True, kind: str = "อบรม") -> list:
        return [day, PEOPLE[key][0], name(key), kind, topic, 6, "เสร็จสิ้น" if done else "กำลังดำเนินการ", ""]

    d = datetime
    sheets = {
        S1: ([plan("P1", "STEM", "อบรม"), plan("P2", "อบรม AL", "PLC")],
             [record("P1", d(2019, 1, 10), "อบรม STEM รุ่น 2", kind="STEM"),
              record("P1", d(2019, 2, 20), "การพัฒนาทักษะการอ่านด้วยแบบฝึก", kind="วิจัยในชั้นเรียน"),
              record("P2", d(2019, 2, 1), "การจัดการเรียนรู้เชิงรุก"),
              record("P2", d(2019, 3, 1), "สะเต็ม", done=False)]),
        S2: ([plan("P3", "การวัดผล O-NET", "อบรม"), plan("P4", SUPERVISE, "อบรม", year=2561)],
             [record("P3", d(2018, 9, 15), "STEM"),
              record("P3", d(2019, 4, 2), "ยกระดับผลสอบ ONET"),
              record("P4", d(2019, 5, 3), "การบริหารโรงเรียน")]),
        S3: ([plan("P5", "ภาษาอังกฤษ", "เรียนออนไลน์ด้วยตนเอง"), plan("P5", "จิตวิทยาเด็ก", "อบรม")],
             [record("P7", d(2019, 6, 4), "จิตวิทยา เด็ก")]),
        OFFICE: ([plan("P6", "Digital literacy", "อบรม")],
                 [record("P6", d(2019, 7, 5), SUPERVISE), record("P6", d(2019, 8, 6), "ปฐมพยาบาล")]),
    }
    for code, (plans, records) in sheets.items():
        book.write(ip.key_for(code), {
            ip.plan_tab: [[pc.fiscal_year, pc.national_id, pc.full_name, pc.topic, pc.method, pc.period, pc.hours], *plans],
            ip.record_tab: [[rc.date, rc.national_id, rc.full_name, rc.kind, rc.topic, rc.hours, rc.status, rc.evidence],
                            *records],
        })


@pytest.fixture
def ready(config_file):
    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    build(book, settings)
    return prepare(settings, book, today=date(2019, 9, 1))


@pytest.fixture
def needs(ready):
    return ready.area.needs


def test_the_hand_area_reads_cleanly(ready):
    assert ready.data.quarantine.empty, ready.data.quarantine.to_dict("records")
    assert len(ready.data.staff) == 7


def test_demand_per_topic_ranked_by_people_still_waiting(needs):
    got = [(t.rank, t.topic, t.asked, t.met, t.unmet) for t in needs.topics]
    assert got == [
        (1, STEM, 3, 1, 2), (2, MEASURE, 2, 1, 1), (3, ENGLISH, 1, 0, 1), (4, ACTIVE, 1, 1, 0),
        (5, RESEARCH, 1, 1, 0), (6, MANAGE, 1, 1, 0), (7, SUPERVISE, 1, 1, 0),
        (8, DIGITAL, 0, 0, 0), (9, LETTERS, 0, 0, 0), (10, MONEY, 0, 0, 0),
    ]
    assert [t.percent_met for t in needs.topics[:5]] == [33.3, 50.0, 0.0, 100.0, 100.0]
    assert needs.topics[-1].percent_met is None
    assert (needs.people, needs.people_waiting) == (6, 4)
    assert [t.topic for t in needs.asked_topics] == [STEM, MEASURE, ENGLISH, ACTIVE, RESEARCH, MANAGE, SUPERVISE]


def test_demand_per_district(needs):
    assert needs.districts == ["หล่มสัก", "หล่มเก่า", OFFICE_GROUP]
    per = {t.topic: t.by_district for t in needs.topics}
    assert per[STEM] == [Count(2, 1), Count(1, 0), Count(0, 0)]       # P1 P2 | P3
    assert per[MEASURE] == [Count(0, 0), Count(1, 1), Count(1, 0)]    # P3 | P6
    assert per[RESEARCH] == [Count(1, 1), Count(0, 0), Count(0, 0)]   # P1
    assert per[ENGLISH] == [Count(1, 0), Count(0, 0), Count(0, 0)]    # P5
    assert per[MANAGE] == [Count(0, 0), Count(1, 1), Count(0, 0)]     # P4
    assert per[SUPERVISE] == [Count(0, 0), Count(0, 0), Count(1, 1)]  # P6
    assert per[DIGITAL] == [Count(0, 0)] * 3


def test_forms_wanted_by_the_people_still_waiting(needs):
    assert needs.forms == ["อบรม", "ประชุมสัมมนา", "ศึกษาดูงาน", "TEPE Online", "PLC", "เรียนออนไลน์ด้วยตนเอง",
                           "อื่น ๆ", NO_FORM]
    per = {t.topic: t.waiting_by_form for t in needs.topics}
    assert per[STEM] == [1, 0, 1, 0, 0, 0, 0, 0]       # P3 อบรม, P2 ศึกษาดูงาน
    assert per[MEASURE] == [0, 0, 0, 0, 1, 0, 1, 0]    # P6 PLC and Coaching (another form)
    assert per[RESEARCH] == [0] * 8                    # P1 is developed
    assert per[ENGLISH] == [0, 0, 0, 0, 0, 1, 0, 0]    # P5: the plan row's method
    assert per[ACTIVE] == [0] * 8                      # nobody waiting


def test_demand_per_district_position_and_unit(needs):
    rows = [(g.by, g.group, g.code, g.district, g.topic, g.asked, g.met, g.unmet) for g in needs.groups]
    assert rows == [
        ("อำเภอ", "หล่มสัก", "", "", STEM, 2, 1, 1),
        ("อำเภอ", "หล่มสัก", "", "", ENGLISH, 1, 0, 1),
        ("อำเภอ", "หล่มสัก", "", "", ACTIVE, 1, 1, 0),
        ("อำเภอ", "หล่มสัก", "", "", RESEARCH, 1, 1, 0),
        ("อำเภอ", "หล่มเก่า", "", "", STEM, 1, 0, 1),
        ("อำเภอ", "หล่มเก่า", "", "", MEASURE, 1, 1, 0),
        ("อำเภอ", "หล่มเก่า", "", "", MANAGE, 1, 1, 0),
        ("อำเภอ", OFFICE_GROUP, "", "", MEASURE, 1, 0, 1),
        ("อำเภอ", OFFICE_GROUP, "", "", SUPERVISE, 1, 1, 0),
        # positions: the most needs first (ครู ชำนาญการ 4; ครู 2, ศึกษานิเทศก์ 2; then 1 each), then by name
        ("ตำแหน่ง/วิทยฐานะ", "ครู ชำนาญการ", "", "", STEM, 2, 1, 1),
        ("ตำแหน่ง/วิทยฐานะ", "ครู ชำนาญการ", "", "", MEASURE, 1, 1, 0),
        ("ตำแหน่ง/วิทยฐานะ", "ครู ชำนาญการ", "", "", RESEARCH, 1, 1, 0),
        ("ตำแหน่ง/วิทยฐานะ", "ครู", "", "", STEM, 1, 0, 1),
        ("ตำแหน่ง/วิทยฐานะ", "ครู", "", "", ACTIVE, 1, 1, 0),
        ("ตำแหน่ง/วิทยฐานะ", "ศึกษานิเทศก์", "", "", MEASURE, 1, 0, 1),
        ("ตำแหน่ง/วิทยฐานะ", "ศึกษานิเทศก์", "", "", SUPERVISE, 1, 1, 0),
        ("ตำแหน่ง/วิทยฐานะ", "ครูผู้ช่วย", "", "", ENGLISH, 1, 0, 1),
        ("ตำแหน่ง/วิทยฐานะ", "ผู้อำนวยการสถานศึกษา", "", "", MANAGE, 1, 1, 0),
        # units: by district, then name (บ้านสาม before บ้านหนึ่ง: ส before ห)
        ("หน่วยงาน", "บ้านสาม", S3, "หล่มสัก", ENGLISH, 1, 0, 1),
        ("หน่วยงาน", "บ้านหนึ่ง", S1, "หล่มสัก", STEM, 2, 1, 1),
        ("หน่วยงาน", "บ้านหนึ่ง", S1, "หล่มสัก", ACTIVE, 1, 1, 0),
        ("หน่วยงาน", "บ้านหนึ่ง", S1, "หล่มสัก", RESEARCH, 1, 1, 0),
        ("หน่วยงาน", "บ้านสอง", S2, "หล่มเก่า", STEM, 1, 0, 1),
        ("หน่วยงาน", "บ้านสอง", S2, "หล่มเก่า", MEASURE, 1, 1, 0),
        ("หน่วยงาน", "บ้านสอง", S2, "หล่มเก่า", MANAGE, 1, 1, 0),
        ("หน่วยงาน", "สำนักงานเขตทดสอบ", OFFICE, OFFICE_GROUP, MEASURE, 1, 0, 1),
        ("หน่วยงาน", "สำนักงานเขตทดสอบ", OFFICE, OFFICE_GROUP, SUPERVISE, 1, 1, 0),
    ]


def test_cohorts_list_exactly_the_people_still_waiting(needs):
    rows = [(w.topic, w.district, w.unit_code, w.unit_name, w.name, w.position, w.standing, w.work_group,
             w.forms, w.source, w.email) for w in needs.waiting]
    assert rows == [
        (STEM, "หล่มสัก", S1, "บ้านหนึ่ง", name("P2"), "ครู", "", "", "ศึกษาดูงาน", "แบบสำรวจ", "p2@mail.test"),
        (STEM, "หล่มเก่า", S2, "บ้านสอง", name("P3"), "ครู", "ชำนาญการ", "", "อบรม", "แบบสำรวจ", "p3@mail.test"),
        (MEASURE, OFFICE_GROUP, OFFICE, "สำนักงานเขตทดสอบ", name("P6"), "ศึกษานิเทศก์", "", "กลุ่มนิเทศ", "PLC, Coaching",
         "แบบสำรวจ", "p6@mail.test"),
        (ENGLISH, "หล่มสัก", S3, "บ้านสาม", name("P5"), "ครูผู้ช่วย", "", "", "เรียนออนไลน์ด้วยตนเอง", "ID Plan",
         "p5@mail.test"),
    ]


def test_a_need_from_both_sources_says_so():
    """Built without the area: P1's STEM need came from the survey and the plan (met, so no cohort row)."""
    import pandas as pd

    from pipeline.normalize import Normalized

    units = pd.DataFrame([{"code": S1, "name": "บ้านหนึ่ง", "kind": "school", "district": "หล่มสัก"}])
    staff = pd.DataFrame([{"staff_id": "x", "display_name": "นายเอ", "position": "ครู", "standing": "",
                           "unit_code": S1, "work_group": "", "email": ""}])
    survey = pd.DataFrame([{"staff_id": "x", "topics": ("STEM",), "methods": (), "_sheet": "s", "_tab": "t", "_row": 2}])
    plans = pd.DataFrame([{"staff_id": "x", "fiscal_year": 2562, "topic": "สะเต็ม", "method": "",
                           "_sheet": "p", "_tab": "t", "_row": 2}])
    records = pd.DataFrame(columns=["staff_id", "fiscal_year", "kind", "topic", "done", "_sheet", "_tab", "_row"])
    data = Normalized(units, staff, survey, plans, records, pd.DataFrame(), pd.DataFrame())
    vocabulary = TopicVocabulary.build([STEM], {STEM: ["STEM", "สะเต็ม"]})
    found = measure_needs(data, vocabulary, 2562)
    assert [(w.topic, w.source, w.forms) for w in found.waiting] == [(STEM, "แบบสำรวจ, ID Plan", NO_FORM)]
    assert found.forms == ["อื่น ๆ", NO_FORM] and found.topics[0].waiting_by_form == [0, 1]
    assert found.districts == ["หล่มสัก"]


def test_unmatched_topic_texts_are_listed_once_with_where_they_were_typed(needs):
    rows = [(u.text, u.rows, u.sources) for u in needs.unmatched]
    assert rows == [
        ("จิตวิทยาเด็ก", 2, {"แผนพัฒนาตนเอง": 1, "บันทึกการพัฒนา": 1}),
        ("Digital literacy", 1, {"แผนพัฒนาตนเอง": 1}),
        ("ปฐมพยาบาล", 1, {"บันทึกการพัฒนา": 1}),
        ("ลูกเสือ, เนตรนารี", 1, {"แบบสำรวจ": 1}),
    ]
    # the places name the spreadsheet, tab and row of each text
    assert needs.unmatched[0].examples == [f"idplan-{S3} › แผนพัฒนาตนเอง › แถว 3", f"idplan-{S3} › บันทึกการพัฒนา › แถว 2"]
    assert needs.unmatched[3].examples == ["needs-survey › การตอบแบบฟอร์ม 1 › แถว 4"]
    assert needs.unmatched_rows == 5


def test_the_survey_need_indicator_reads_topics_through_the_vocabulary(ready):
    # office_needs counts the office's staff (P6): supervision asked and done, so met.
    office = ready.scores.for_level("district", OFFICE_GROUP).set_index("indicator").loc["office_needs"]
    assert (office["population"], office["met"]) == (1, 1)


def test_a_sync_writes_the_needs_tabs_and_reports_them(config_file):
    """The whole run: the dashboard's four tabs, the run report's lines, and no need in a school's outputs."""
    import email
    from email.policy import default as default_policy

    from click.testing import CliRunner

    from pipeline.cli import cli
    from pipeline.publish import COHORTS_TAB, NEEDS_TAB, UNMATCHED_TAB

    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    build(book, settings)
    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    assert "ความต้องการพัฒนา: 6 คน, ยังรอการพัฒนา 4 คน ใน 3 หัวข้อ" in result.output
    assert "หัวข้อที่ยังไม่จับคู่: 4 ข้อความ (5 แถว)" in result.output
    assert f"[vocabulary.topics] ของ {config_file}" in result.output

    dashboard = book.read("dashboard", [NEEDS_TAB, COHORTS_TAB, UNMATCHED_TAB])
    cohorts = dashboard[COHORTS_TAB]
    assert cohorts[0][:2] == ["ลำดับหัวข้อ", "หัวข้อการพัฒนา"]
    assert [(row[1], row[6]) for row in cohorts[1:]] == [
        (STEM, name("P2")), (STEM, name("P3")), (MEASURE, name("P6")), (ENGLISH, name("P5")),
    ]
    assert [row[0] for row in dashboard[UNMATCHED_TAB][4:]] == ["จิตวิทยาเด็ก", "Digital literacy", "ปฐมพยาบาล",
                                                               "ลูกเสือ, เนตรนารี"]
    cells = " ".join(str(v) for tab in dashboard.values() for row in tab for v in row if v is not None)
    assert not any(PEOPLE[key][0] in cells for key in PEOPLE)  # no national ID, whole

    # A school's own tab and e-mail say nothing of what anyone asked for, in that school or another.
    for code in (S1, S2, S3):
        tab = book.read(settings.sources.idplan.key_for(code), [settings.output.summary_tab])[settings.output.summary_tab]
        message = email.message_from_bytes((settings.output.outbox / f"{code}.eml").read_bytes(), policy=default_policy)
        text = " ".join(str(v) for row in tab for v in row if v is not None) + message.get_body(("plain",)).get_content()
        assert "ลูกเสือ" not in text and "ยังรอ" not in text
        for key, person in PEOPLE.items():
            if person[6] != code:
                assert name(key) not in text, (code, key)


# --- the progress report's ranked section ---------------------------------------------------------


@pytest.fixture
def report_html(config_file):
    from pipeline.report import collect_and_measure, render_report

    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    build(book, settings)
    return render_report(collect_and_measure(settings, book, today=date(2019, 9, 1)))


def test_the_report_ranks_the_needs_still_waiting(report_html):
    import re

    section = report_html[report_html.index('data-part="needs"'):]
    assert "ความต้องการที่ยังไม่ได้รับการพัฒนา ปีงบประมาณ 2562" in section
    assert "ผู้มีความต้องการ 6 คน · ยังรอการพัฒนา 4 คน" in section
    table = section[section.index('<table class="plan needs">'):]
    rows = re.findall(r'<tr data-topic="([^"]+)">\s*<td class="num">(\d+)</td>.*?data-field="asked">(\d+)<.*?'
                      r'data-field="met">(\d+)<.*?data-field="unmet">(\d+)<', table, re.S)
    # only the topics someone asked for, ranked as worked out in the module's docstring
    assert [(t, int(rank), int(a), int(m), int(u)) for t, rank, a, m, u in rows] == [
        (STEM, 1, 3, 1, 2), (MEASURE, 2, 2, 1, 1), (ENGLISH, 3, 1, 0, 1), (ACTIVE, 4, 1, 1, 0),
        (RESEARCH, 5, 1, 1, 0), (MANAGE, 6, 1, 1, 0), (SUPERVISE, 7, 1, 1, 0),
    ]
    stem_row = table[table.index(f'data-topic="{STEM}"'):table.index(f'data-topic="{MEASURE}"')]
    assert "หล่มสัก 1 · หล่มเก่า 1" in stem_row and "อบรม 1 · ศึกษาดูงาน 1" in stem_row
    assert "4 ข้อความ (5 แถว)" in section


def test_the_chart_draws_each_topic_s_waiting_and_developed_people_to_scale(report_html):
    import re

    chart = report_html[report_html.index('data-chart="needs"'):]
    chart = chart[:chart.index("</svg>")]
    bars = re.findall(r'width="([\d.]+)" height="16" fill="#\w+" data-part="(unmet|met)" data-value="(\d+)"', chart)
    # 500 units stand for the most asked topic (STEM, 3 people): one person is 166.7 units
    assert [(part, int(value), round(float(width), 1)) for width, part, value in bars[:4]] == [
        ("unmet", 2, 333.3), ("met", 1, 166.7), ("unmet", 1, 166.7), ("met", 1, 166.7),
    ]
    assert len(bars) == 2 * 7


def test_the_pdf_prints_the_needs_chart(config_file, tmp_path):
    """Printed with WeasyPrint and drawn back with pdfium: the section's page carries both bar colours."""
    import pypdfium2

    from pipeline.report import write_report

    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    build(book, settings)
    pdf = write_report(settings, "pdf", tmp_path / "r.pdf", workbook=book, today=date(2019, 9, 1), engine="weasyprint")
    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = [page for page in document if "ความต้องการที่ยังไม่ได้รับการพัฒนา" in page.get_textpage().get_text_range()]
        assert len(pages) == 1
        text = pages[0].get_textpage().get_text_range()
        assert "สะเต็มศึกษา (STEM Education)" in text and "ยังรอ 2 / ต้องการ 3 คน" in text
        image = pages[0].render(scale=1).to_pil().convert("RGB")
    finally:
        document.close()
    colours = image.getcolors(maxcolors=1 << 20)
    orange = sum(n for n, (r, g, b) in colours if abs(r - 0xC2) < 8 and abs(g - 0x41) < 8 and abs(b - 0x0C) < 8)
    green = sum(n for n, (r, g, b) in colours if abs(r - 0x1B) < 8 and abs(g - 0x7A) < 8 and abs(b - 0x3A) < 8)
    # STEM's waiting bar alone is about 333 of the chart's 1,010 units wide and 16 high
    assert orange > 1000 and green > 1000, (orange, green)


# --- the sample area's topics typed otherwise ---------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A generated sample area of 8 schools, prepared as a sync prepares it, and its manifest."""
    from pipeline.sample import generate_area
    from tests.conftest import write_config

    root = tmp_path_factory.mktemp("sample")
    settings = load_settings(write_config(root))
    book = LocalWorkbook(settings.storage.path)
    manifest = generate_area(book, settings, schools=8, seed=12)
    return prepare(settings, book, today=date(2019, 9, 1)), book, manifest, settings.sources.idplan


def test_every_topic_the_sample_types_otherwise_names_its_topic(sample):
    import re

    ready, book, manifest, idplan = sample
    vocabulary = ready.topics
    entries = [e for e in manifest["spoiled"] if e["kind"] == "topic_typed_otherwise"]
    assert len(entries) > 100
    headers = {idplan.plan_tab: idplan.plan_columns.topic, idplan.record_tab: idplan.record_columns.topic}
    seen = set()
    for e in entries:
        typed, meant = re.fullmatch(r"topic typed '(.*)' for '(.*)'", e["detail"]).groups()
        rows = book.read(e["spreadsheet"], [e["tab"]])[e["tab"]]
        cell = dict(zip(rows[0], rows[e["row"] - 1]))[headers[e["tab"]]]
        assert cell == typed
        assert vocabulary.topics_in(cell) == (meant,), (cell, meant)
        seen.add(e["tab"])
    assert seen == set(headers)  # plans and records both
    typed_forms = {re.fullmatch(r"topic typed '(.*)' for '.*'", e["detail"]).group(1) for e in entries}
    assert any(t.isascii() for t in typed_forms) and any(not t.isascii() for t in typed_forms)


def test_the_sample_s_texts_that_name_no_topic_are_listed_to_map(sample):
    ready, _, manifest, _ = sample
    entries = [e for e in manifest["spoiled"] if e["kind"] == "topic_unmatched"]
    assert entries
    listed = {u.text: u for u in ready.area.needs.unmatched}
    for e in entries:
        text = e["detail"].removeprefix("topic '").removesuffix("' names no survey topic")
        assert text in listed, text
    assert ready.area.needs.waiting and ready.area.needs.asked_topics


def test_an_area_where_nobody_asked_for_anything_has_empty_needs():
    import pandas as pd

    from pipeline.normalize import Normalized

    units = pd.DataFrame([{"code": S1, "name": "บ้านหนึ่ง", "kind": "school", "district": "หล่มสัก"}])
    staff = pd.DataFrame([{"staff_id": "x", "display_name": "นายเอ", "position": "ครู", "standing": "",
                           "unit_code": S1, "work_group": "", "email": ""}])
    data = Normalized(
        units, staff, pd.DataFrame(columns=["staff_id", "topics", "methods", "_sheet", "_tab", "_row"]),
        pd.DataFrame(columns=["staff_id", "fiscal_year", "topic", "method", "_sheet", "_tab", "_row"]),
        pd.DataFrame(columns=["staff_id", "fiscal_year", "kind", "topic", "done", "_sheet", "_tab", "_row"]),
        pd.DataFrame(), pd.DataFrame(),
    )
    found = measure_needs(data, TopicVocabulary.build([STEM, RESEARCH]), 2562)
    assert (found.people, found.people_waiting, found.waiting, found.groups, found.unmatched) == (0, 0, [], [], [])
    assert [(t.rank, t.topic, t.asked) for t in found.topics] == [(1, STEM, 0), (2, RESEARCH, 0)]
    assert found.asked_topics == []
