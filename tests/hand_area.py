"""A small area built by hand: 2 schools and the office, 11 people, FY 2562.

Every figure the end-to-end test expects is worked out from these rows in
tests/test_end_to_end.py, by hand.
"""

from __future__ import annotations

from datetime import datetime

from tests.conftest import make_id

SCHOOL_A, SCHOOL_B, OFFICE = "1067000001", "1067000002", "pbn2"
#: each unit's director, as the roster below names them
DIRECTORS = {SCHOOL_A: "a@school.test", SCHOOL_B: "b@school.test", OFFICE: "office@area.test"}

# key: (national id, prefix, first, last, position, unit, work group)
PEOPLE = {
    "A1": (make_id(1), "นาย", "อำนาจ", "ศรีสุข", "ผู้อำนวยการสถานศึกษา", SCHOOL_A, ""),
    "A2": (make_id(2), "นางสาว", "บุษบา", "ใจดี", "ครู", SCHOOL_A, ""),
    "A3": (make_id(3), "นาย", "ชาตรี", "มั่นคง", "ครูผู้ช่วย", SCHOOL_A, ""),
    "A4": (make_id(4), "นาง", "ดวงใจ", "<b>ทองดี</b>", "ครู", SCHOOL_A, ""),
    "B1": (make_id(5), "นาย", "บรรจง", "พูลผล", "ผู้อำนวยการสถานศึกษา", SCHOOL_B, ""),
    "B2": (make_id(6), "นาง", "เบญจา", "รักไทย", "ครู", SCHOOL_B, ""),
    "B3": (make_id(7), "", "นายบุญมี", "แสงทอง", "ครูผู้ช่วย", SCHOOL_B, ""),  # prefix stuck to name
    "O1": (make_id(8), "นาง", "โอภา", "นิเทศกุล", "ศึกษานิเทศก์", OFFICE, "กลุ่มนิเทศ"),
    "O2": (make_id(9), "นาย", "อรุณ", "วิชาการ", "บุคลากรทางการศึกษาอื่น 38 ค.(2)", OFFICE, "กลุ่มนิเทศ"),
    "O3": (make_id(10), "นางสาว", "ออมสิน", "อำนวยผล", "บุคลากรทางการศึกษาอื่น 38 ค.(2)", OFFICE, "กลุ่มอำนวยการ"),
    "O4": (make_id(11), "นาย", "โอฬาร", "สารบรรณ", "บุคลากรทางการศึกษาอื่น 38 ค.(2)", OFFICE, "กลุ่มอำนวยการ"),
}
BAD_ID = make_id(12)[:12] + str((int(make_id(12)[12]) + 1) % 10)  # wrong check digit
STRANGER = make_id(99)


def full_name(key: str) -> str:
    _, prefix, first, last, *_ = PEOPLE[key]
    return f"{prefix}{first} {last}"


def nid(key: str) -> str:
    return PEOPLE[key][0]


def thai_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))


def build(workbook, settings) -> None:
    """Write the hand-built area through the storage edge."""
    src = settings.sources
    uc, sc = src.units.columns, src.staff.columns
    units = [
        [uc.code, uc.name, uc.kind, uc.district, uc.director_email, uc.stem, uc.network, uc.students, uc.classrooms],
        [SCHOOL_A, "บ้านเอ", "โรงเรียน", "หล่มสัก", "a@school.test", "ใช่", "เครือข่าย 1", 120, 8],
        [SCHOOL_B, "บ้านบี", "โรงเรียน", "หล่มเก่า", "b@school.test", "ไม่ใช่", "เครือข่าย 2", 80, 6],
        [OFFICE, "สำนักงานเขตทดสอบ", "สำนักงานเขตพื้นที่", "หล่มสัก", "office@area.test", "ไม่ใช่", "", 0, 0],
    ]
    staff = [[sc.national_id, sc.prefix, sc.first_name, sc.last_name, sc.position, sc.standing, sc.unit_code, sc.work_group, sc.email]]
    for key, (pid, prefix, first, last, position, unit, group) in PEOPLE.items():
        staff.append([pid, prefix, first, last, position, "", unit, group, f"{key.lower()}@mail.test"])
    staff.append([BAD_ID, "นาย", "ผิดพลาด", "เลขบัตร", "ครู", "", SCHOOL_B, "", ""])
    workbook.write(src.units.spreadsheet, {src.units.tab: units, src.staff.tab: staff})

    qc = src.survey.columns
    survey = [[qc.timestamp, qc.email, qc.full_name, qc.national_id, qc.unit_name, qc.position, qc.topics, qc.methods]]
    survey += [
        ["5/11/2018, 09:00:00", "o1@mail.test", full_name("O1"), nid("O1"), "สำนักงานเขตทดสอบ", "ศึกษานิเทศก์",
         "การวิจัยในชั้นเรียน, การวัดและประเมินผล (O-NET, NT, RT)", "อบรม"],
        ["5/11/2018, 10:00:00", "o2@mail.test", full_name("O2"), nid("O2"), "สำนักงานเขตทดสอบ", "",
         "เทคโนโลยีดิจิทัลเพื่อการศึกษา", "อบรม"],
        ["6/11/2018, 08:00:00", "o3@mail.test", full_name("O3"), nid("O3"), "สำนักงานเขตทดสอบ", "",
         "การเงิน การบัญชี และพัสดุ", "อบรม"],
        ["7/11/2018, 08:00:00", "o4@mail.test", full_name("O4"), nid("O4"), "สำนักงานเขตทดสอบ", "",
         "ภาษาอังกฤษเพื่อการสื่อสาร", "อบรม"],
        ["8/11/2018, 08:30:00", "a2@mail.test", full_name("A2"), thai_digits(nid("A2")), "บ้านเอ", "ครู",
         "สะเต็มศึกษา (STEM Education)", "PLC"],
        ["9/11/2018, 11:00:00", "x@mail.test", "นายคนนอก ไม่มีชื่อ", STRANGER, "บ้านซี", "ครู",
         "การนิเทศภายใน", "อบรม"],
        # O3 again, later, with a different need: the later answer is the one used.
        ["10/12/2018, 14:00:00", "o3@mail.test", full_name("O3"), nid("O3"), "สำนักงานเขตทดสอบ", "",
         "งานสารบรรณและระเบียบราชการ", "อบรม"],
    ]
    workbook.write(src.survey.spreadsheet, {src.survey.tab: survey})

    ip = src.idplan
    pc, rc = ip.plan_columns, ip.record_columns
    plan_head = [pc.fiscal_year, pc.national_id, pc.full_name, pc.topic, pc.method, pc.period, pc.hours]
    record_head = [rc.date, rc.national_id, rc.full_name, rc.kind, rc.topic, rc.hours, rc.status, rc.evidence]

    def plan(key, year=2562):
        return [year, nid(key), full_name(key), "การจัดการเรียนรู้เชิงรุก (Active Learning)", "อบรม", "ต.ค.-มี.ค.", 12]

    def rec(key, day, kind, topic="หัวข้อ", status="เสร็จสิ้น", pid=None, name=None):
        return [day, nid(key) if pid is None else pid, name or full_name(key), kind, topic, 6, status, "https://drive.example/x"]

    d = datetime
    sheets = {
        SCHOOL_A: (
            [plan("A1"), plan("A2"), plan("A3"), plan("A4", 2561)],
            [
                rec("A1", d(2018, 11, 5), "อบรม"),
                rec("A1", d(2019, 3, 1), "วิจัยเพื่อพัฒนาการบริหาร"),
                rec("A2", d(2019, 1, 10), "STEM"),
                rec("A2", d(2019, 2, 1), "วิจัยในชั้นเรียน"),
                rec("A2", d(2019, 6, 1), "PLC"),
                rec("A3", d(2019, 5, 5), "TEPE Online"),
                rec("A3", d(2019, 9, 30), "อบรม"),
                rec("A4", d(2018, 9, 30), "STEM"),
                rec("A4", d(2019, 4, 1), "อบรม", status="กำลังดำเนินการ"),
                rec("A2", "ยังไม่ระบุ", "อบรม"),
                rec("A1", d(2019, 1, 1), "อบรม", pid=STRANGER, name='=HYPERLINK("http://evil.test","คลิก")'),
            ],
        ),
        SCHOOL_B: (
            [plan("B1"), plan("B2")],
            [
                rec("B1", d(2019, 1, 15), "ศึกษาดูงาน"),
                rec("B2", d(2019, 7, 7), "วิจัยในชั้นเรียน"),
                rec("B2", d(2019, 10, 1), "ประชุมสัมมนา"),
                rec("B3", d(2019, 8, 8), "TEPE Online", status="กำลังดำเนินการ"),
                rec("B2", d(2019, 2, 2), "อบรม", pid=""),
            ],
        ),
        OFFICE: (
            [plan("O1"), plan("O2"), plan("O3")],
            [
                rec("O1", d(2019, 3, 3), "อบรม", topic="การวิจัยในชั้นเรียน"),
                rec("O1", d(2019, 4, 4), "PLC"),
                rec("O2", d(2019, 5, 5), "ประชุมสัมมนา", topic="การนิเทศภายใน"),
                rec("O3", d(2019, 6, 6), "อบรม", topic="งานสารบรรณและระเบียบราชการ"),
                rec("O3", d(2019, 7, 7), "วิจัยเพื่อพัฒนาการบริหาร"),
            ],
        ),
    }
    for code, (plans, records) in sheets.items():
        workbook.write(ip.key_for(code), {ip.plan_tab: [plan_head, *plans], ip.record_tab: [record_head, *records]})
