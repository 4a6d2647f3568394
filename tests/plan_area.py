"""A small area built by hand for own plans and costs: 2 schools and the office, 12 people, FY 2562.

FY 2562 runs 1 Oct 2018 – 30 Sep 2019; its midpoint is 1 April 2019. School A and the office
record costs (their record tabs have ค่าใช้จ่าย and แหล่งงบประมาณ); school B's record tab has no
such columns. Every figure tests/test_plan_progress.py and tests/test_spending.py expect is
worked out from these rows by hand, in their comments.
"""

from __future__ import annotations

from datetime import datetime

from tests.conftest import make_id

SCHOOL_A, SCHOOL_B, OFFICE = "1067000011", "1067000012", "pbn2"
ACTIVE = "การจัดการเรียนรู้เชิงรุก (Active Learning)"
ADMIN = "การบริหารจัดการสถานศึกษา"
STEM = "สะเต็มศึกษา (STEM Education)"
ENGLISH = "ภาษาอังกฤษเพื่อการสื่อสาร"
RESEARCH = "การวิจัยในชั้นเรียน"
DIGITAL = "เทคโนโลยีดิจิทัลเพื่อการศึกษา"
MEASURE = "การวัดและประเมินผล (O-NET, NT, RT)"
SUPERVISION = "การนิเทศภายใน"
PAPERWORK = "งานสารบรรณและระเบียบราชการ"
OTHER_EDUCATION = "บุคลากรทางการศึกษาอื่น 38 ค.(2)"

# key: (national id, prefix, first, last, position, unit, work group)
PEOPLE = {
    "A1": (make_id(201), "นาย", "สมชาย", "ใจดี", "ผู้อำนวยการสถานศึกษา", SCHOOL_A, ""),
    "A2": (make_id(202), "นางสาว", "มาลี", "ดีเด่น", "ครู", SCHOOL_A, ""),
    "A3": (make_id(203), "นาย", "ก้อง", "ฟ้าใส", "ครูผู้ช่วย", SCHOOL_A, ""),
    "A4": (make_id(204), "นาง", "วันดี", "มีสุข", "ครู", SCHOOL_A, ""),
    "A5": (make_id(205), "นาย", "ปัญญา", "ไร้แผน", "ครู", SCHOOL_A, ""),
    "A6": (make_id(206), "นางสาว", "เพ็ญ", "ครึ่งพอดี", "ครู", SCHOOL_A, ""),
    "B1": (make_id(207), "นาย", "บุญ", "สองดี", "ผู้อำนวยการสถานศึกษา", SCHOOL_B, ""),
    "B2": (make_id(208), "นางสาว", "สุดา", "รอพัฒนา", "ครู", SCHOOL_B, ""),
    "B3": (make_id(209), "นาย", "ชาติ", "ช้าไป", "ครู", SCHOOL_B, ""),
    "O1": (make_id(210), "นาง", "นิภา", "นิเทศดี", "ศึกษานิเทศก์", OFFICE, "กลุ่มนิเทศ"),
    "O2": (make_id(211), "นาย", "สมศักดิ์", "ธุรการ", OTHER_EDUCATION, OFFICE, "กลุ่มอำนวยการ"),
    "O3": (make_id(212), "นาง", "ออม", "ไม่มีแผน", OTHER_EDUCATION, OFFICE, "กลุ่มอำนวยการ"),
}


def full_name(key: str) -> str:
    _, prefix, first, last, *_ = PEOPLE[key]
    return f"{prefix}{first} {last}"


def nid(key: str) -> str:
    return PEOPLE[key][0]


d = datetime
# Plan rows: (person, fiscal year, topic, hours); None = the hours cell left blank.
PLANS = {
    SCHOOL_A: [
        ("A1", 2562, ACTIVE, 20), ("A1", 2562, ADMIN, 10),
        ("A2", 2562, STEM, 40),
        ("A3", 2562, ENGLISH, 10),
        ("A4", 2562, RESEARCH, None),
        ("A5", 2561, DIGITAL, 12),  # last year's only: A5 has no plan for 2562
        ("A6", 2562, DIGITAL, 12),
    ],
    SCHOOL_B: [("B1", 2562, ADMIN, 20), ("B2", 2562, ACTIVE, 30), ("B3", 2562, STEM, 20)],
    OFFICE: [("O1", 2562, SUPERVISION, 10), ("O2", 2562, PAPERWORK, 6)],
}
# Record rows: (person, date, kind, topic, hours, status, cost cell, funding cell); the cost and
# funding cells are written only where the unit's record tab has those columns (not school B).
# Topics are typed as people type them and meet the plan's through the demo config's [vocabulary.topics]:
# "ศึกษาดูงานโรงเรียนต้นแบบ AL" is Active Learning, "อบรม STEM รุ่นที่ 2" STEM, "การวัดผล O-NET" the
# measurement topic, and A4's classroom research, titled by its research, is การวิจัยในชั้นเรียน by its kind.
DONE, UNDER_WAY = "เสร็จสิ้น", "กำลังดำเนินการ"
RECORDS = {
    SCHOOL_A: [
        ("A4", d(2018, 9, 20), "อบรม", RESEARCH, 6, DONE, 9000, "คูปองครู"),  # FY 2561: counts nowhere here
        ("A1", d(2018, 11, 5), "อบรม", ADMIN, 6, DONE, 2000, "งบโรงเรียน"),
        ("A2", d(2018, 12, 1), "อบรม", STEM, 12, DONE, 1500, "คูปองครู"),
        ("A5", d(2019, 1, 5), "อบรม", DIGITAL, 6, DONE, "1,000.-", "งบส่วนตัว"),
        ("A4", d(2019, 1, 10), "วิจัยในชั้นเรียน", "การแก้ปัญหาการอ่านของนักเรียน ป.2", 20, UNDER_WAY, "-", ""),
        ("A2", d(2019, 2, 1), "อบรม", "การวัดผล O-NET", 6, DONE, "๒,๕๐๐", "งบ สพฐ."),
        ("A3", d(2019, 3, 1), "อบรม", ENGLISH, 8, UNDER_WAY, 6000, "คูปองครู"),
        ("A6", d(2019, 4, 20), "อบรม", DIGITAL, 6, DONE, "ประมาณพันห้า", "งบโรงเรียน"),
        ("A1", d(2019, 5, 10), "ศึกษาดูงาน", "ศึกษาดูงานโรงเรียนต้นแบบ AL", 12, DONE, "3,500 บาท", "สพป."),
        ("A3", d(2019, 6, 1), "อบรม", ENGLISH, 4, DONE, 5000, "คูปองครู"),
        ("A6", d(2019, 7, 1), "ประชุมสัมมนา", DIGITAL, 0, UNDER_WAY, 800, "เงินบริจาคศิษย์เก่า"),
    ],
    SCHOOL_B: [
        ("B3", d(2018, 10, 15), "STEM", "อบรม STEM รุ่นที่ 2", 6, DONE, None, None),
        ("B1", d(2019, 2, 2), "อบรม", ADMIN, 12, DONE, None, None),
    ],
    OFFICE: [
        ("O1", d(2019, 3, 3), "อบรม", SUPERVISION, 10, DONE, "2,000", "งบเขตพื้นที่"),
        ("O2", d(2019, 8, 8), "อบรม", PAPERWORK, 2, DONE, 500, ""),
    ],
}
#: the records' sheet rows (header = row 1), for the rows to fix and the notes
A6_UNREADABLE_ROW = 9   # A6's "ประมาณพันห้า"
A6_UNKNOWN_SOURCE_ROW = 12  # A6's "เงินบริจาคศิษย์เก่า"
O2_NO_SOURCE_ROW = 3    # O2's 500 baht with no source


def build(workbook, settings, *, costs: bool = True) -> None:
    """Write the area through the storage edge; ``costs=False`` leaves the cost columns out everywhere."""
    src = settings.sources
    uc, sc = src.units.columns, src.staff.columns
    units = [
        [uc.code, uc.name, uc.kind, uc.district, uc.director_email, uc.stem, uc.network, uc.students, uc.classrooms],
        [SCHOOL_A, "บ้านหนึ่ง", "โรงเรียน", "หล่มสัก", "a@school.test", "ใช่", "", 120, 8],
        [SCHOOL_B, "บ้านสอง", "โรงเรียน", "หล่มเก่า", "b@school.test", "ไม่ใช่", "", 80, 6],
        [OFFICE, "สำนักงานเขตทดสอบ", "สำนักงานเขตพื้นที่", "หล่มสัก", "office@area.test", "ไม่ใช่", "", 0, 0],
    ]
    staff = [[sc.national_id, sc.prefix, sc.first_name, sc.last_name, sc.position, sc.standing, sc.unit_code,
              sc.work_group, sc.email]]
    for key, (pid, prefix, first, last, position, unit, group) in PEOPLE.items():
        staff.append([pid, prefix, first, last, position, "", unit, group, f"{key.lower()}@mail.test"])
    workbook.write(src.units.spreadsheet, {src.units.tab: units, src.staff.tab: staff})
    qc = src.survey.columns
    survey = [[qc.timestamp, qc.email, qc.full_name, qc.national_id, qc.unit_name, qc.position, qc.topics, qc.methods]]
    survey.append(["5/11/2018, 09:00:00", "o1@mail.test", full_name("O1"), nid("O1"), "สำนักงานเขตทดสอบ",
                   "ศึกษานิเทศก์", SUPERVISION, "อบรม"])
    workbook.write(src.survey.spreadsheet, {src.survey.tab: survey})
    ip = src.idplan
    pc, rc = ip.plan_columns, ip.record_columns
    plan_head = [pc.fiscal_year, pc.national_id, pc.full_name, pc.topic, pc.method, pc.period, pc.hours]
    for code in (SCHOOL_A, SCHOOL_B, OFFICE):
        with_costs = costs and code != SCHOOL_B
        record_head = [rc.date, rc.national_id, rc.full_name, rc.kind, rc.topic, rc.hours, rc.status, rc.evidence]
        record_head += [rc.cost, rc.funding] if with_costs else []
        plans = [[year, nid(k), full_name(k), topic, "อบรม", "", hours] for k, year, topic, hours in PLANS[code]]
        records = []
        for k, day, kind, topic, hours, status, cost, funding in RECORDS[code]:
            row = [day, nid(k), full_name(k), kind, topic, hours, status, "https://drive.example/x"]
            records.append(row + ([cost, funding] if with_costs else []))
        workbook.write(ip.key_for(code), {ip.plan_tab: [plan_head, *plans], ip.record_tab: [record_head, *records]})


def written(config_file, *, costs: bool = True):
    """The settings of ``config_file``, with this area written into their storage folder."""
    from pipeline.config import load_settings
    from pipeline.workbook.local import LocalWorkbook

    settings = load_settings(config_file)
    build(LocalWorkbook(settings.storage.path), settings, costs=costs)
    return settings


def prepared(settings, today):
    """The area read, matched, measured and summarised as a sync on ``today`` would (nothing written)."""
    from pipeline.sync import opened, prepare

    with opened(settings) as (_, book):
        return prepare(settings, book, today=today)
