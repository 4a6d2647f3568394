"""A realistic, deterministic sample area modelled on สพป.เพชรบูรณ์ เขต 2.

``generate_area`` writes every source the pipeline reads: the roster (units and
staff tabs), the needs survey as Google Forms writes it, and one ID Plan
spreadsheet per unit (plan and record tabs). Spreadsheet keys, tab names and
column headers all come from ``Settings``; a column set to ``None`` in the
config is left out.

The data carries a known amount of mess (Thai digits, stray spaces, typos,
duplicate submissions, unknown people, undated records, and the ways Thai
offices type positions, names and their titles and ranks, IDs, unit codes,
school names, dates and checkbox answers ...). Every spoiled
cell or row is listed in the returned manifest with its exact sheet row, so
tests and data-quality checks can look it up. The same seed always gives the
same cell values: only ``random.Random(seed)`` is used, never the clock.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.normalize import same_name
from pipeline.state import State
from pipeline.thai import (
    AREA_DEPUTY, AREA_DIRECTOR, SUPERVISOR, TEACHER, fiscal_year_bounds, national_id_check_digit,
    school_name_key, to_thai_digits, written_name,
)
from pipeline.thai import ASSISTANT_TEACHER as ASSISTANT
from pipeline.thai import OTHER_EDUCATION_STAFF as SUPPORT
from pipeline.thai import SCHOOL_DEPUTY as DEPUTY
from pipeline.thai import SCHOOL_DIRECTOR as DIRECTOR
from pipeline.topics import MIN_THAI_INSIDE, TopicVocabulary, option_parts, topic_key
from pipeline.workbook import Workbook

SAMPLE_MANIFEST = "sample-manifest.json"
DEFAULT_SCHOOLS = 165
#: the most schools a user's sample has (``devplan sample``/``demo``); the bench passes ``limit=None`` to grow past it
MAX_SCHOOLS = 500
# The plan's 2560 student table, for DEFAULT_SCHOOLS schools.
PLAN_CLASSROOMS, PLAN_STUDENTS = 1453, 20018

OFFICE_NAME = "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาเพชรบูรณ์ เขต 2"
KIND_SCHOOL, KIND_OFFICE = "โรงเรียน", "สำนักงานเขตพื้นที่"
YES, NO = "ใช่", "ไม่ใช่"
DONE, IN_PROGRESS = "เสร็จสิ้น", "กำลังดำเนินการ"
BAD_DATE_TEXT = "ยังไม่ระบุ"
# Prefixes typed instead of the roster's own (a name_other_prefix spoil).
OTHER_PREFIXES = ("นาย", "นาง", "นางสาว", "น.ส.", "ดร.")
# How a roster title may be typed otherwise in a form (title_typed_otherwise): a typing that does not
# end in "." or ")" is followed by a space; ครู is typed only by people who teach. Latin titles are
# typed with the whole name in capitals or in lower case instead.
TITLE_TYPINGS = {
    "นาย": ("นาย.", "ครู"),
    "นาง": ("นาง.", "ครู"),
    "นางสาว": ("น.ส", "นส", "ครู"),
    "ว่าที่ร้อยตรี": ("ว่าที่ ร.ต.", "ว่าที่ รต.", "ร.ต."),
    "ว่าที่ร้อยตรีหญิง": ("ว่าที่ ร.ต.หญิง", "ว่าที่ รต.(หญิง)", "ว่าที่ร.ต.ญ."),
    "จ่าสิบเอก": ("จ.ส.อ.", "จสอ.", "จ่าสิบเอก"),
    "ดร.": ("ด.ร.", "ดร. "),
    "ผศ.ดร.": ("ผู้ช่วยศาสตราจารย์ ดร.", "ผศ. ดร. "),
}
LATIN_TYPINGS = ("capitals", "lower case")
# Foreign teachers of bigger schools: contract staff, not a ก.ค.ศ. position, romanised names.
FOREIGN_TEACHER = "ครูอัตราจ้าง (ชาวต่างประเทศ)"
FOREIGN_MEN = ("John", "Michael", "David", "James", "Robert", "Daniel", "Peter", "Mark")
FOREIGN_WOMEN = ("Jane", "Sarah", "Emily", "Laura", "Anna", "Rachel", "Helen", "Kate")
FOREIGN_SURNAMES = ("Smith", "Brown", "Wilson", "Taylor", "Clarke", "Walker", "Evans", "Hughes", "Miller", "Baker")
# A school's second name, kept in brackets in the roster: "บ้านห้วยไผ่ (ประชาบำรุง)".
SECOND_NAMES = ("ประชาบำรุง", "ราษฎร์บำรุง", "คุรุราษฎร์สามัคคี", "วิทยาคาร", "ประชาสรรค์")
TRAINING_KINDS = ("อบรม", "ประชุมสัมมนา", "ศึกษาดูงาน")
TEPE, PLC, CLASS_RESEARCH, ADMIN_RESEARCH, STEM, OTHER = (
    "TEPE Online", "PLC", "วิจัยในชั้นเรียน", "วิจัยเพื่อพัฒนาการบริหาร", "STEM", "อื่น ๆ",
)

DISTRICT_WEIGHTS = {"หล่มสัก": 0.40, "หล่มเก่า": 0.27, "น้ำหนาว": 0.13, "เขาค้อ": 0.20}
# Office work groups with how many "38 ค.(2)" staff each has (supervisors join นิเทศ).
WORK_GROUPS = {
    "กลุ่มอำนวยการ": 8, "กลุ่มนโยบายและแผน": 6, "กลุ่มบริหารงานบุคคล": 8,
    "กลุ่มบริหารงานการเงินและสินทรัพย์": 8, "กลุ่มส่งเสริมการจัดการศึกษา": 5,
    "กลุ่มนิเทศ ติดตามและประเมินผลการจัดการศึกษา": 1,
    "กลุ่มส่งเสริมการศึกษาทางไกล เทคโนโลยีสารสนเทศและการสื่อสาร": 4,
    "กลุ่มพัฒนาครูและบุคลากรทางการศึกษา": 4, "กลุ่มกฎหมายและคดี": 3, "หน่วยตรวจสอบภายใน": 3,
}
SUPERVISION_GROUP = "กลุ่มนิเทศ ติดตามและประเมินผลการจัดการศึกษา"
SUPERVISORS = 12

VILLAGES = (
    "ห้วยไผ่ น้ำก้อ ติ้ว วังบาล หินฮาว นาแซง ตาดกลอย ทุ่งสมอ แคมป์สน หนองแม่นา เข็กน้อย "
    "สักหลง ปากช่อง ช้างตะลูด ท่าอิบุญ น้ำชุน ตาลเดี่ยว ลานบ่า บุ่งคล้า น้ำเฮี้ย นาซำ "
    "หินกลิ้ง ปากดุก ซับเปิบ ทุ่งพญา หลักด่าน วังกวาง ร่องดู่ แก่งโตน ท่าผู เพชรดำ ตะเบาะ "
    "สะเดียง ริมสีม่วง ร่องหอย ซำบอน หนองสว่าง หนองไขว่ บ่อรัง นาเกาะ ห้วยลาด ทับเบิก"
).split()
VILLAGE_HEADS = (
    "ห้วย หนอง โคก นา ดง วัง ท่า บ่อ ซับ หิน น้ำ โนน ทุ่ง ปาก ป่า ดอน ภู แก่ง ร่อง ซำ"
).split()
VILLAGE_TAILS = (
    "ไผ่ ขาม แดง ยาว ใหญ่ กลาง ตะเคียน สูง งาม ไร่ ทอง ขวาง สะแก บอน เตย โพธิ์ มะนาว "
    "ม่วง กอก หว้า ชัน เดื่อ ปลาไหล กระทิง สมอ"
).split()
MALE_NAMES = (
    "สมชาย สมศักดิ์ สมพงษ์ ประเสริฐ วิชัย สุรชัย ชัยวัฒน์ ธีระ อนุชา ณรงค์ บุญเลิศ ประยุทธ "
    "สุริยา วีระพงษ์ กิตติพงษ์ ธนากร พงศกร ณัฐพล อภิชาติ จักรพันธ์ เกรียงไกร ศักดิ์ชัย ไพโรจน์ "
    "สุเทพ บรรจง อำนาจ ทองใบ สุพจน์ มานพ ปรีชา วรวุฒิ เอกชัย ชาตรี ธวัชชัย นิพนธ์ สมบัติ ยุทธนา "
    "อดิศักดิ์ ประพันธ์ วิโรจน์ สุวิทย์ ชยพล ภานุวัฒน์ ธนพล ศุภชัย อนันต์ พิชิต ไชยา บุญชู "
    "ทรงศักดิ์ เฉลิมพล กฤษดา ปิยะพงษ์ วัชระ สถาพร อุดม ธีรวัฒน์ นพดล ชูชาติ"
).split()
FEMALE_NAMES = (
    "สมศรี สุนีย์ มาลี วันเพ็ญ จันทร์เพ็ญ พรทิพย์ กาญจนา รัตนา สุภาพร นงลักษณ์ อรุณี ปราณี "
    "วิไลวรรณ ศิริพร จิราพร อัญชลี ดวงใจ ลำดวน บุษบา กนกวรรณ ธิดารัตน์ สุกัญญา วาสนา พิมพ์ชนก "
    "ณัฐธิดา ปิยะนุช อรวรรณ เพ็ญศรี ยุพิน สายสุนีย์ จินตนา นันทนา ศศิธร พัชรี อัมพร เยาวลักษณ์ "
    "กมลรัตน์ สุดารัตน์ นิตยา วรรณา อารีรัตน์ ประภาพร ชุติมา เบญจวรรณ รุ่งนภา ชื่นใจ บังอร ทัศนีย์ "
    "ขวัญใจ มยุรี ศิริรัตน์ ภัทรา ณัฐกานต์ กัลยา อำไพ สุมาลี จารุวรรณ พรรณี น้ำฝน น้ำทิพย์"
).split()
SURNAME_HEADS = (
    "แก้ว ศรี บุญ ทอง คำ จันทร์ สุข มณี พรหม อินทร์ วงศ์ เพชร ชัย สม พันธ์ แสง ปัญญา โพธิ์ บัว นาค น้ำ"
).split()
SURNAME_TAILS = (
    "ประเสริฐ สุวรรณ มา ดี งาม วงศ์ เจริญ รักษ์ สวัสดิ์ ภักดี มงคล เรือง แก้ว สุข ทอง ศรี "
    "พิทักษ์ ชื่น วิเศษ สมบูรณ์ ล้ำ"
).split()
CLASS_RESEARCH_TITLES = (
    "การพัฒนาทักษะการอ่านออกเขียนได้ของนักเรียนชั้น ป.1 โดยใช้แบบฝึก",
    "การแก้ปัญหาการคิดเลขเร็วของนักเรียนชั้น ป.3 ด้วยเกมคณิตศาสตร์",
    "การพัฒนาทักษะการฟังและพูดภาษาอังกฤษโดยใช้เพลง",
    "การส่งเสริมนิสัยรักการอ่านด้วยมุมหนังสือในห้องเรียน",
    "การพัฒนาผลสัมฤทธิ์วิทยาศาสตร์ด้วยการเรียนรู้แบบสืบเสาะ",
    "การแก้ปัญหาการเขียนสะกดคำของนักเรียนชั้น ป.2",
)
ADMIN_RESEARCH_TITLES = (
    "รูปแบบการบริหารงานวิชาการแบบมีส่วนร่วมของชุมชน",
    "การพัฒนาระบบดูแลช่วยเหลือนักเรียน",
    "การบริหารโรงเรียนขนาดเล็กด้วยเครือข่ายความร่วมมือ",
    "การลดขั้นตอนการให้บริการของสำนักงาน",
    "การพัฒนาระบบติดตามงบประมาณด้วยสเปรดชีต",
)
PLC_TOPICS = (
    "แก้ปัญหานักเรียนอ่านไม่คล่อง", "ออกแบบกิจกรรมการเรียนรู้เชิงรุก", "ยกระดับผลสอบ O-NET",
    "ลดขั้นตอนการทำงาน", "พัฒนาคู่มือการปฏิบัติงาน",
)
# How an ID Plan or a record dresses a topic's other name ("{name}": an option's part or a config alias),
# each still naming the topic by pipeline.topics' rule (topic_typed_otherwise).
TOPIC_DRESSINGS = ("{name}", "อบรม {name}", "{name} รุ่นที่ 2", "อบรมเชิงปฏิบัติการ{name}", "การพัฒนา{name}เบื้องต้น")
# Free-text needs an ID Plan or a record carries that name no survey topic (topic_unmatched).
FREE_TOPICS = (
    "จิตวิทยาเด็กและการแนะแนว", "ลูกเสือสามัญรุ่นใหญ่", "การสอนเด็กที่มีความต้องการพิเศษ", "Coding สำหรับครูประถม",
    "โครงงานคุณธรรม",
)
OTHER_TOPICS = (
    "การปฐมพยาบาลเบื้องต้น", "ผู้กำกับลูกเสือสามัญ", "การป้องกันการทุจริต", "ธรรมะกับการทำงาน",
)
# How rosters type a position (and its standing) other than the canonical way:
# (position, standing the person has or None for any, position typed, standing cell typed or None to keep it);
# {school} is the person's school's name.
POSITION_TYPINGS = (
    (TEACHER, "ชำนาญการ", "ครู คศ.2", ""),
    (TEACHER, "ไม่มี", "ครู ค.ศ.1", ""),
    (TEACHER, "ชำนาญการพิเศษ", "ครูชำนาญการพิเศษ", ""),
    (TEACHER, "ชำนาญการ", TEACHER, "ครู คศ.2"),
    (ASSISTANT, None, "ครู ผู้ช่วย", None),
    (DIRECTOR, None, "ผอ.โรงเรียน", None),
    (DIRECTOR, None, "ผอ.ร.ร.{school}", None),
    (DEPUTY, None, "รอง ผอ.", None),
    (SUPPORT, None, "เจ้าพนักงานธุรการชำนาญงาน", None),
    (SUPPORT, None, "นักวิชาการเงินและบัญชีปฏิบัติการ", None),
)
SCHOOL_WORDS = ("รร.", "ร.ร.", "โรงเรียน ")  # typed before a school's name
# A school's name typed with other punctuation (school_name_punctuation): {name} is the roster's name,
# {base}/{second} its two parts when it has a second name in brackets.
SCHOOL_PUNCTUATIONS = ("ร.ร {name}", "{name}.", "{base} {second}", "โรงเรียน{base}({second}).")
# "Other" answers typed into a Forms checkbox question, with commas of their own.
OTHER_METHODS = ("Coaching,Mentoring", "Coaching, Mentoring", "เรียนรู้จากเพื่อนครู, นิเทศแบบพี่เลี้ยง")
OTHER_NEEDS = ("การจัดทำแผน, งบประมาณ", "จิตวิทยาเด็ก,การแนะแนว", "ลูกเสือ, เนตรนารี")
SARA_AM, NIKHAHIT_AA = "\u0e33", "\u0e4d\u0e32"
_TONE_BEFORE_AM = re.compile("([\u0e48-\u0e4b])\u0e33")  # น้ำ, typed นำ้ (sara_am_before_tone)
_TONE_AFTER_UPPER_VOWEL = re.compile("([\u0e31\u0e34-\u0e37\u0e47])([\u0e48-\u0e4b])")
# Fiscal-year order: ต.ค. first.
THAI_MONTHS_SHORT = (
    "ต.ค.", "พ.ย.", "ธ.ค.", "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.",
)
# Calendar order, for dates typed as text.
MONTHS_SHORT = THAI_MONTHS_SHORT[3:] + THAI_MONTHS_SHORT[:3]
MONTHS_LONG = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)
MONTHS_ENGLISH = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
# Survey topic preferences: (keyword in the option text, weight) per role; others weigh DEFAULT.
TOPIC_TASTE = {
    "teacher": (
        ("เรียนรู้", 4), ("STEM", 3), ("วิจัย", 3), ("ประเมิน", 3), ("ดิจิทัล", 3), ("อังกฤษ", 3),
    ),
    "leader": (("บริหาร", 5), ("นิเทศ", 4), ("ดิจิทัล", 2), ("ประเมิน", 2)),
    "supervisor": (("นิเทศ", 5), ("ประเมิน", 4), ("เรียนรู้", 3), ("วิจัย", 3), ("STEM", 2)),
    "support": (("สารบรรณ", 5), ("การเงิน", 5), ("ดิจิทัล", 4), ("อังกฤษ", 2)),
}
# Field order of each tab (Forms puts ประทับเวลา first); headers come from settings.
UNIT_FIELDS = (
    "code", "name", "kind", "district", "director_email", "stem", "network", "students", "classrooms",
)
STAFF_FIELDS = (
    "national_id", "prefix", "first_name", "last_name", "position", "standing", "unit_code",
    "work_group", "email",
)
SURVEY_FIELDS = (
    "timestamp", "email", "full_name", "national_id", "unit_name", "position", "topics", "methods",
)
PLAN_FIELDS = ("fiscal_year", "national_id", "full_name", "topic", "method", "period", "hours")
RECORD_FIELDS = ("date", "national_id", "full_name", "kind", "topic", "hours", "status", "evidence", "cost", "funding")
COST_FIELDS = ("cost", "funding")  # only in the record tabs of the units that record costs
# How people type a funding source (แหล่งงบประมาณ), by the source they mean (pipeline.money's names).
FUNDING_TYPINGS = {
    "obec": ("งบ สพฐ. (คูปองครู)", "คูปองครู", "งบ สพฐ.", "งบ สพฐ./คูปองครู", "สพฐ"),
    "school": ("งบโรงเรียน", "โรงเรียน", "งบประมาณโรงเรียน", "เงินอุดหนุน"),
    "area": ("งบเขตพื้นที่", "สพป.", "งบ สพป."),
    "personal": ("งบส่วนตัว", "ส่วนตัว", "เงินส่วนตัว"),
    "other": ("หน่วยงานภายนอก", "ผู้จัดสนับสนุน"),
}
# Who pays, by role: (source, weight).
FUNDERS = {
    "teacher": (("obec", 55), ("school", 20), ("area", 12), ("personal", 13)),
    "leader": (("school", 40), ("area", 35), ("personal", 15), ("obec", 10)),
    "supervisor": (("area", 70), ("personal", 20), ("other", 10)),
    "support": (("area", 70), ("personal", 20), ("other", 10)),
}
TRAINING_COSTS = (500, 800, 1000, 1200, 1500, 1800, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 6000)
NOTHING_SPENT = ("-", "ไม่มีค่าใช้จ่าย", 0, "0", "ไม่มี")
BAD_COSTS = ("ประมาณพันห้า", "1,500/2,000", "รอเบิก")
UNKNOWN_FUNDING = ("เงินบริจาคศิษย์เก่า", "กองทุนพัฒนาครูของหมู่บ้าน")
Row = dict[str, Any]  # field -> cell value; "_marks" holds spoil notes, "_key" the sort key


@dataclass(eq=False)
class Unit:
    code: str
    name: str
    kind: str
    district: str
    director_email: str
    stem: bool = False
    network: str = ""
    students: int = 0
    classrooms: int = 0
    staff: list[Person] = field(default_factory=list)

    @property
    def is_office(self) -> bool:
        return self.kind == KIND_OFFICE


@dataclass(eq=False)
class Person:
    national_id: str
    prefix: str
    first_name: str
    last_name: str
    position: str
    standing: str
    unit: Unit
    work_group: str = ""
    email: str = ""
    topics: list[str] = field(default_factory=list)  # chosen in the survey; empty if no answer
    methods: list[str] = field(default_factory=list)
    plan_state: str = "plan"  # "plan", "old_only" (only a FY-1 row) or "none"
    teaches: bool = False  # holds one of the config's two teacher positions

    @property
    def full_name(self) -> str:
        return written_name(self.prefix, self.first_name, self.last_name)

    @property
    def role(self) -> str:
        if self.position in (DIRECTOR, DEPUTY, AREA_DIRECTOR, AREA_DEPUTY):
            return "leader"
        if self.teaches or self.position == FOREIGN_TEACHER:
            return "teacher"
        return "supervisor" if self.position == SUPERVISOR else "support"


def generate_area(
    workbook: Workbook, settings: Settings, schools: int | None = None, seed: int = 2562,
    limit: int | None = MAX_SCHOOLS,
) -> dict:
    """Write a sample area into ``workbook`` and return its manifest.

    ``schools`` is the number of schools (default 165, sized like the real
    area in the plan: 1,453 classrooms, ~20,018 students, ~1,500 staff).
    One ``workbook.write`` call is made per spreadsheet. The manifest is
    JSON-serialisable::

        {"seed", "schools", "fiscal_year",
         "counts": {"units", "schools", "staff", "survey_rows", "students", "classrooms"},
         "spoiled": [{"kind", "spreadsheet", "tab", "row", "column", "national_id", "detail"}]}

    ``row`` is the 1-based sheet row (header = 1); ``column`` the header of the
    spoiled cell, or None for a whole row; ``national_id`` the person's true
    roster ID, None for a person not in the roster. A ``no_id_plan`` entry has
    ``row`` None, or the person's only (previous-year) plan row.
    ``limit`` caps ``schools`` (None: no cap, for ``bench/local_bench.py``'s growth to 10,000 schools;
    past about 500 schools village names are reused with a number, ``บ้านนาดี 2``).
    """
    count = DEFAULT_SCHOOLS if schools is None else schools
    if not 1 <= count <= (limit or count):
        raise ValueError(f"schools must be between 1 and {limit}")
    return _AreaBuilder(settings, count, seed).write(workbook)


def demo_paths(out: Path) -> dict[str, str]:
    """Storage, outbox and state file of a sample area, all inside ``out`` (config overrides)."""
    return {
        "storage.path": str(out / "sheets"),
        "output.outbox": str(out / "outbox"),
        "storage.state": str(out / "devplan-state.sqlite"),
    }


def make_sample(out: Path, settings: Settings, schools: int | None = None, seed: int = 2562) -> Path:
    """Write a sample area into ``out/sheets`` (``settings`` from ``demo_paths(out)``); the manifest's path.

    Never over an office's real spreadsheets: a folder with ``.xlsx`` files and no
    sample manifest is refused.
    """
    from pipeline.workbook.factory import open_workbook

    sheets, path = out / "sheets", out / SAMPLE_MANIFEST
    if any(sheets.glob("*.xlsx")) and not path.exists():
        raise ConfigError(
            f"โฟลเดอร์ {sheets} มีสเปรดชีตอยู่แล้ว และไม่ใช่เขตตัวอย่างที่ devplan สร้างไว้",
            "ระบุ --out เป็นโฟลเดอร์ใหม่หรือโฟลเดอร์ว่าง",
        )
    with State(None) as state:  # a local folder: nothing to cache
        manifest = generate_area(open_workbook(settings.storage, state), settings, schools=schools, seed=seed)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Words:
    """The development kinds and teacher positions the sample writes, read from the config.

    Kinds come from ``vocabulary.development_kinds`` as the indicators file
    counts them (the STEM, research, TEPE, PLC and training indicators'
    evidence kinds); "other" is a vocabulary kind no indicator counts. The two
    teacher positions are the TEPE indicator's population (assistants) and
    the classroom-research one's other position. A built-in name is used
    only when the indicator is missing, and then only if the vocabulary has it.
    """

    training: tuple[str, ...]
    tepe: str
    plc: str
    class_research: str
    admin_research: str
    stem: str
    other: str
    teacher: str
    assistant: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "Words":
        from pipeline.indicators import load_indicators

        vocabulary = list(settings.vocabulary.development_kinds)
        indicators = {i.id: i for i in load_indicators(settings.indicators.file, vocabulary)}

        def kinds(ind: str, default: tuple[str, ...]) -> tuple[str, ...]:
            found = tuple(indicators[ind].evidence.kinds) if ind in indicators else ()
            found = found or tuple(k for k in default if k in vocabulary)
            if not found:
                raise ValueError(f"no development kind for '{ind}' in the indicators or vocabulary")
            return found

        def positions(ind: str) -> list[str]:
            return list(indicators[ind].population.positions) if ind in indicators else []

        counted = {k for i in indicators.values() for k in i.evidence.kinds}
        assistant = (positions("tepe_online") or [ASSISTANT])[0]
        teacher = next((p for p in positions("classroom_research") if p != assistant), TEACHER)
        return cls(
            training=kinds("training", TRAINING_KINDS), tepe=kinds("tepe_online", (TEPE,))[0],
            plc=kinds("plc", (PLC,))[0], class_research=kinds("classroom_research", (CLASS_RESEARCH,))[0],
            admin_research=kinds("research_admin", (ADMIN_RESEARCH,))[0], stem=kinds("stem", (STEM,))[0],
            other=next((k for k in vocabulary if k not in counted), vocabulary[-1]),
            teacher=teacher, assistant=assistant,
        )


def _mark(row: Row, kind: str, column: str | None, detail: str, person: Person | None = None) -> None:
    """Note on ``row`` that it was spoiled; ``person`` defaults to the row's own person."""
    person = person or row.get("_person")
    row.setdefault("_marks", []).append((kind, column, person.national_id if person else None, detail))


class _AreaBuilder:
    """Builds the area in memory (units, people, rows), spoils it, then writes it."""

    def __init__(self, settings: Settings, schools: int, seed: int) -> None:
        self.s, self.n, self.seed = settings, schools, seed
        self.rng = random.Random(seed)
        self.w = Words.from_settings(settings)
        self.fy = settings.area.fiscal_year
        self.fy_start = fiscal_year_bounds(self.fy)[0]
        code = settings.area.office_code.lower()
        ascii_code = code.isascii() and code.isalnum()
        self.domain = f"{code}.example.go.th" if ascii_code else "area.example.go.th"
        self.topics = list(settings.vocabulary.survey_topics)
        self.methods = list(settings.vocabulary.survey_methods)
        if not self.topics or not self.methods:
            raise ValueError("vocabulary.survey_topics and survey_methods must not be empty")
        self.stem_topic = next((t for t in self.topics if "STEM" in t or "สะเต็ม" in t), self.topics[0])
        self.ids: set[str] = set()
        self.names: set[str] = set()
        self.emails = 0
        self.used: set[str] = set()  # people already spoiled once
        self.manifest_rows: list[dict[str, Any]] = []
        self.units = self._units()
        self.staff = [p for u in self.units for p in u.staff]
        self.survey = self._survey()
        self._plan_states()
        self.plans = {u.code: self._plans(u) for u in self.units}
        self.records = {u.code: self._records(u) for u in self.units}
        self._spoil()
        self._costs()

    # ---------------------------------------------------------------- units
    def _units(self) -> list[Unit]:
        """The office, then the schools district by district (largest first), each with its staff."""
        rng = self.rng
        districts = list(self.s.area.districts) or list(DISTRICT_WEIGHTS)
        office = Unit(
            self.s.area.office_code, OFFICE_NAME, KIND_OFFICE, districts[0], f"director@{self.domain}"
        )
        weights = [DISTRICT_WEIGHTS.get(d, 0.2) for d in districts]
        shares = [self.n * w / sum(weights) for w in weights]
        counts = [int(x) for x in shares]
        for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[: self.n - sum(counts)]:
            counts[i] += 1
        villages = list(VILLAGES) + [h + t for h in VILLAGE_HEADS for t in VILLAGE_TAILS]
        rng.shuffle(villages)
        reused = 1  # past MAX_SCHOOLS-odd schools (the bench only), names come round again numbered
        names: set[str] = set()
        seq = rng.randint(1, 40)
        schools: list[Unit] = []
        shapes = self._shapes()
        for district, count in zip(districts, counts):
            shapes, mine = shapes[count:], sorted(shapes[:count], key=lambda s: -s[1])
            for i, (classrooms, students) in enumerate(mine):
                code = f"1067{2 + seq // 10000:02d}{seq % 10000:04d}"  # 106702xxxx up to 9,999
                seq += rng.randint(1, 4)
                name = f"อนุบาล{district}" if i == 0 and count >= 3 else ""
                while not name or name in names:
                    if not villages:
                        reused += 1
                        villages = [f"{v} {reused}" for v in [*VILLAGES, *(h + t for h in VILLAGE_HEADS for t in VILLAGE_TAILS)]]
                        rng.shuffle(villages)
                    village = villages.pop()
                    r = rng.random()
                    name = (f"ชุมชนบ้าน{village}" if r < 0.05 else f"วัด{village}" if r < 0.09
                            else f"{village}วิทยา" if r < 0.12 and students > 150 else f"บ้าน{village}")
                    if rng.random() < 0.07:
                        name += f" ({rng.choice(SECOND_NAMES)})"
                names.add(name)
                stem = rng.random() < (0.5 if students >= 250 else 0.26)
                unit = Unit(code, name, KIND_SCHOOL, district, f"school{code}@{self.domain}", stem,
                            f"เครือข่าย{district} {i // 10 + 1}", students, classrooms)
                schools.append(unit)
        if len(schools) >= 3 and not any(u.stem for u in schools):
            max(schools, key=lambda u: u.students).stem = True
        self._office_staff(office)
        for unit in schools:
            self._school_staff(unit)
        if schools and not any(p.position == FOREIGN_TEACHER for u in schools for p in u.staff):
            biggest = max(schools, key=lambda u: u.students)
            biggest.staff.append(self._foreign_teacher(biggest))
        return [office] + schools

    def _shapes(self) -> list[tuple[int, int]]:
        """(classrooms, students) per school, drawn from the area's mix of school sizes.

        Totals are then nudged to the plan's 2560 figures (1,453 classrooms,
        20,018 students for 165 schools), pro rata for other school counts.
        """
        rng = self.rng
        drawn: list[list[Any]] = []  # [classrooms, students per room]; classrooms nudged below
        for _ in range(self.n):
            r = rng.random()
            if r < 0.38:  # tiny: combined grades
                rooms, per_room = rng.choice([1, 1, 2, 2]) + rng.choice([4, 4, 5, 6]), rng.uniform(5, 9)
            elif r < 0.72:  # อนุบาล 2 – ป.6
                rooms, per_room = rng.choice([1, 2, 2, 2]) + 6, rng.uniform(10, 14.5)
            elif r < 0.92:  # ขยายโอกาส: up to ม.3
                rooms, per_room = rng.choice([2, 2, 3]) + 9, rng.uniform(11, 17)
            elif r < 0.98:  # two rooms a grade
                rooms = rng.choice([3, 4]) + rng.choice([9, 12, 12]) + rng.choice([0, 3, 3, 6])
                per_room = rng.uniform(20, 28)
            else:  # the big town schools
                rooms = rng.choice([4, 5, 6]) + rng.choice([12, 18]) + rng.choice([0, 3, 6])
                per_room = rng.uniform(26, 33)
            drawn.append([rooms, per_room])
        target_rooms = round(PLAN_CLASSROOMS * self.n / DEFAULT_SCHOOLS)
        while (total := sum(d[0] for d in drawn)) != target_rooms:
            step = 1 if total < target_rooms else -1
            school = rng.choice([d for d in drawn if d[0] + step >= 5] or drawn)
            school[0] += step
        drawn_students = sum(rooms * per_room for rooms, per_room in drawn)
        scale = PLAN_STUDENTS * self.n / DEFAULT_SCHOOLS / drawn_students
        return [(rooms, max(12, round(rooms * per_room * scale))) for rooms, per_room in drawn]

    # ---------------------------------------------------------------- people
    def _school_staff(self, unit: Unit) -> None:
        """Director, deputies (big schools), teachers about as many as classrooms, a few others."""
        rng = self.rng
        factor = rng.uniform(0.95, 1.15) if unit.students >= 300 else rng.uniform(0.66, 0.92)
        teachers = max(2, round(unit.classrooms * factor))
        assistants = sum(rng.random() < 0.09 for _ in range(teachers))
        if assistants == 0 and teachers >= 3 and rng.random() < 0.65:
            assistants = 1
        deputies = (unit.students >= 300) + (unit.students >= 600)
        support = (rng.random() < 0.2) + (unit.students >= 400 and rng.random() < 0.6)
        plan = [DIRECTOR] + [DEPUTY] * deputies + [self.w.teacher] * (teachers - assistants)
        plan += [self.w.assistant] * assistants + [SUPPORT] * support
        for position in plan:
            unit.staff.append(self._person(unit, position))
        if unit.students >= 500:
            unit.staff.append(self._foreign_teacher(unit))

    def _foreign_teacher(self, unit: Unit) -> Person:
        """A foreign teacher on contract: a romanised name, a Latin title, no ก.ค.ศ. position or standing."""
        rng = self.rng
        male = rng.random() < 0.5
        # 80 names a sex: in the bench's areas of thousands of schools they run out, and then come round
        # again numbered ("Smith 2"), as village names do; the draws of a smaller area are as they were
        saturated = 4 * len(FOREIGN_MEN) * len(FOREIGN_SURNAMES)
        tries = 0
        while True:
            first = rng.choice(FOREIGN_MEN if male else FOREIGN_WOMEN)
            last = rng.choice(FOREIGN_SURNAMES)
            if tries >= saturated:
                last += f" {tries // saturated + 1}"
            if f"{first} {last}" not in self.names:
                self.names.add(f"{first} {last}")
                break
            tries += 1
        self.emails += 1
        prefix = "Mr." if male else rng.choice(("Ms.", "Mrs."))
        return Person(self._new_id(), prefix, first, last, FOREIGN_TEACHER, "", unit,
                      email=f"ft{self.emails:04d}@{self.domain}")

    def _office_staff(self, unit: Unit) -> None:
        """Area director and deputies, supervisors, and the work groups' staff (~66 people)."""
        groups = list(WORK_GROUPS)
        plan = [(AREA_DIRECTOR, groups[0])] + [(AREA_DEPUTY, g) for g in self.rng.sample(groups[:5], 3)]
        plan += [(SUPERVISOR, SUPERVISION_GROUP)] * SUPERVISORS
        plan += [(SUPPORT, g) for g, n in WORK_GROUPS.items() for _ in range(n)]
        for position, group in plan:
            unit.staff.append(self._person(unit, position, group))

    def _person(self, unit: Unit, position: str, group: str = "") -> Person:
        """A new person with a unique ID, name and e-mail, a prefix and a standing to fit."""
        rng = self.rng
        leader = position in (DIRECTOR, DEPUTY, AREA_DIRECTOR, AREA_DEPUTY)
        male = rng.random() < (0.65 if leader else 0.35)
        young = position == self.w.assistant
        first, last = self._new_name(male)
        r = rng.random()
        senior = position in (DIRECTOR, AREA_DIRECTOR, AREA_DEPUTY, SUPERVISOR)
        if senior and r < 0.08:
            prefix = "ผศ.ดร." if r < 0.015 else "ดร."
        elif male:
            prefix = "ว่าที่ร้อยตรี" if r > 0.95 else "จ่าสิบเอก" if r > 0.935 else "นาย"
        elif r > 0.97:
            prefix = "ว่าที่ร้อยตรีหญิง"
        else:
            prefix = "นางสาว" if r < (0.75 if young else 0.4) else "นาง"
        standing = ""
        if position not in (self.w.assistant, SUPPORT):
            odds = {AREA_DIRECTOR: (0, 0, 0, 1), AREA_DEPUTY: (0, 0, 3, 2)}.get(position, (0, 3, 6, 0.4))
            if position == self.w.teacher:
                odds = (25, 35, 38, 2)
            standing = rng.choices(("ไม่มี", "ชำนาญการ", "ชำนาญการพิเศษ", "เชี่ยวชาญ"), odds)[0]
        self.emails += 1
        tag = {DIRECTOR: "dir", DEPUTY: "dep", AREA_DIRECTOR: "dir", AREA_DEPUTY: "dep", self.w.assistant: "ta",
               SUPERVISOR: "sup", self.w.teacher: "t"}.get(position, "st")
        return Person(self._new_id(young), prefix, first, last, position, standing, unit, group,
                      f"{tag}{self.emails:04d}@{self.domain}",
                      teaches=position in (self.w.teacher, self.w.assistant))

    def _new_id(self, young: bool = False) -> str:
        """A unique 13-digit ID with a valid check digit (type 1 for the young, else 1 or 3)."""
        rng = self.rng
        while True:
            head = "1" if young or rng.random() < 0.45 else "3"
            area = rng.choice(["6703", "6704", "6709", "6711", "6701", "6599", "4201", "1001"])
            first12 = head + area + "".join(rng.choice(string.digits) for _ in range(7))
            nid = first12 + str(national_id_check_digit(first12))
            if nid not in self.ids:
                self.ids.add(nid)
                return nid

    def _new_name(self, male: bool) -> tuple[str, str]:
        """A (first name, surname) pair not used before in the area."""
        rng = self.rng
        while True:
            first = rng.choice(MALE_NAMES if male else FEMALE_NAMES)
            last = rng.choice(SURNAME_HEADS) + rng.choice(SURNAME_TAILS)
            if rng.random() < 0.3:
                last = rng.choice([h for h in SURNAME_HEADS if not last.startswith(h)]) + last
            if f"{first} {last}" not in self.names:
                self.names.add(f"{first} {last}")
                return first, last

    # ---------------------------------------------------------------- survey
    def _choose(self, options: list[str], weights: list[float], k: int) -> list[str]:
        """``k`` distinct options drawn by weight, returned in the options' own order."""
        pool, chosen = list(options), set()
        pool_w = list(weights)
        for _ in range(min(k, len(pool))):
            i = self.rng.choices(range(len(pool)), pool_w)[0]
            chosen.add(pool.pop(i))
            pool_w.pop(i)
        return [o for o in options if o in chosen]

    def _topic_weights(self, person: Person) -> list[float]:
        """How likely ``person`` is to want each survey topic, by role."""
        taste = TOPIC_TASTE[person.role]
        default = 0.5 if person.role == "support" else 1.0
        return [max([w for key, w in taste if key in t], default=default) for t in self.topics]

    def _pick_topics(self, person: Person) -> list[str]:
        count = self.rng.choices((1, 2, 3), (30, 45, 25))[0]
        return self._choose(self.topics, self._topic_weights(person), count)

    def _pick_methods(self, person: Person) -> list[str]:
        tepe = 2 if person.role == "teacher" else 0.3
        base = {"อบรม": 4, "ประชุมสัมมนา": 2, "ศึกษาดูงาน": 2, TEPE: tepe, PLC: 1.5}  # survey methods
        weights = [base.get(m, 2) for m in self.methods]
        return self._choose(self.methods, weights, self.rng.choice((1, 1, 2)))

    def _when(self) -> datetime:
        """A submission time: the form opens two weeks into the year; most answer within a month."""
        rng = self.rng
        day = self.fy_start + timedelta(days=14 + min(int(rng.expovariate(1 / 14)), 160))
        clock = rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59)
        return datetime(day.year, day.month, day.day, *clock)

    def _survey_row(self, person: Person, when: datetime, topics: list[str], methods: list[str]) -> Row:
        """A response as Forms writes it: Thai-locale timestamp text, checked answers joined by ", "."""
        return {"_key": when, "timestamp": f"{when.day}/{when.month}/{when.year}, {when:%H:%M:%S}",
                "email": person.email, "full_name": person.full_name, "national_id": person.national_id,
                "unit_name": person.unit.name, "position": person.position,
                "topics": ", ".join(topics), "methods": ", ".join(methods), "_person": person}

    def _survey(self) -> list[Row]:
        """One response from ~80% of school staff and ~95% of office staff."""
        rows = []
        for person in self.staff:
            if self.rng.random() < (0.95 if person.unit.is_office else 0.8):
                person.topics, person.methods = self._pick_topics(person), self._pick_methods(person)
                rows.append(self._survey_row(person, self._when(), person.topics, person.methods))
        return rows

    # ---------------------------------------------------------------- ID Plan
    def _period(self, fy: int) -> str:
        """Months of fiscal year ``fy`` as people write them: ``ต.ค. 2561 – มี.ค. 2562``."""
        first, last = self.rng.choice(((0, 5), (6, 11), (0, 11), (3, 8)))
        # Months 0-2 (ต.ค.–ธ.ค.) fall in the calendar year before the fiscal year's own.
        start, end = (f"{THAI_MONTHS_SHORT[m]} {fy - 1 if m < 3 else fy}" for m in (first, last))
        return f"{start} – {end}"

    def _plan_row(self, person: Person, fy: int, topic: str) -> Row:
        method = self.rng.choice(person.methods or self.methods)
        return {"fiscal_year": fy, "national_id": person.national_id, "full_name": person.full_name,
                "topic": topic, "method": method, "period": self._period(fy),
                "hours": self.rng.randint(6, 60), "_person": person}

    def _plan_states(self) -> None:
        """~92% plan for the year, ~3.5% only have last year's row, the rest none (at least one each)."""
        for person in self.staff:
            r = self.rng.random()
            person.plan_state = "plan" if r < 0.92 else "old_only" if r < 0.955 else "none"
        for state in ("old_only", "none"):
            if not any(p.plan_state == state for p in self.staff):
                shuffled = self.rng.sample(self.staff, len(self.staff))
                next(p for p in shuffled if p.plan_state == "plan").plan_state = state

    def _plans(self, unit: Unit) -> list[Row]:
        """Older (FY-1) rows first, then this year's rows, person by person."""
        old, new, rng = [], [], self.rng
        for person in unit.staff:
            if person.plan_state != "none" and (person.plan_state == "old_only" or rng.random() < 0.15):
                old.append(self._plan_row(person, self.fy - 1, rng.choice(self.topics)))
            if person.plan_state == "plan":
                count = rng.choices((1, 2, 3), (45, 40, 15))[0]
                picks = list(person.topics) + self._choose(self.topics, self._topic_weights(person), 3)
                for topic in list(dict.fromkeys(picks))[:count]:
                    new.append(self._plan_row(person, self.fy, topic))
        return old + new

    # ---------------------------------------------------------------- records
    def _day(self, fy: int) -> datetime:
        """A day (mostly a weekday) in fiscal year ``fy``."""
        start, end = fiscal_year_bounds(fy)
        for _ in range(3):
            day = start + timedelta(days=self.rng.randint(0, (end - start).days))
            if day.weekday() < 5:
                break
        return datetime(day.year, day.month, day.day)

    def _record(
        self, person: Person, kind: str, topic: str, done: bool | None = None, fy: int | None = None
    ) -> Row:
        """One development record; done ~92% of the time unless ``done`` is given."""
        rng = self.rng
        done = rng.random() < 0.92 if done is None else done
        long = {self.w.tepe: (20, 60), self.w.plc: (10, 50), self.w.class_research: (20, 60), self.w.admin_research: (20, 60)}
        hours = rng.randint(*long.get(kind, (3, 30)))
        file_id = "".join(rng.choice(string.ascii_letters + string.digits + "_-") for _ in range(20))
        link = f"https://drive.google.com/file/d/{file_id}/view"
        when = self._day(fy or self.fy)
        return {"_key": when, "date": when, "national_id": person.national_id,
                "full_name": person.full_name, "kind": kind, "topic": topic, "hours": hours,
                "status": DONE if done else IN_PROGRESS,
                "evidence": link if done or rng.random() < 0.5 else "", "_person": person}

    def _records(self, unit: Unit) -> list[Row]:
        """The unit's records: everyone's own, then PLC and management research per school or group."""
        rng, rows = self.rng, []
        for person in unit.staff:
            rows += self._person_records(person)
        if unit.is_office:
            groups: dict[str, list[Person]] = {}
            for person in unit.staff:
                groups.setdefault(person.work_group, []).append(person)
            teams = [(members, 0.70, 0.60, members) for members in groups.values()]
        else:
            teams = [(unit.staff, 0.75, 0.70, unit.staff[:1])]
        for members, p_plc, p_research, researchers in teams:
            plc_done = rng.random() < p_plc
            if plc_done or rng.random() < 0.3:  # else some groups only have one under way
                topic = f"PLC: {rng.choice(PLC_TOPICS)}"
                rows.append(self._record(rng.choice(members), self.w.plc, topic, done=plc_done))
            if rng.random() < p_research:
                title = rng.choice(ADMIN_RESEARCH_TITLES)
                rows.append(self._record(rng.choice(researchers), self.w.admin_research, title, done=True))
        if rng.random() < 0.3:  # a leftover from last year
            kind, topic = rng.choice(self.w.training), rng.choice(self.topics)
            rows.append(self._record(rng.choice(unit.staff), kind, topic, done=True, fy=self.fy - 1))
        return sorted(rows, key=lambda r: r["_key"])

    def _person_records(self, person: Person) -> list[Row]:
        """A person's own records; office respondents are developed in what they asked for ~70%."""
        rng, rows = self.rng, []
        weights = self._topic_weights(person)

        def training(topic: str, done: bool | None = None) -> None:
            rows.append(self._record(person, rng.choice(self.w.training), topic, done))

        if person.unit.is_office and person.topics:
            others = [t for t in self.topics if t not in person.topics]
            if rng.random() < 0.7:
                training(rng.choice(person.topics), done=True)
                pool = self.topics
            else:  # nothing done in a chosen topic (at most one still under way)
                pool = others
                if rng.random() < 0.3:
                    training(rng.choice(person.topics), done=False)
                if rng.random() < 0.6:
                    training(rng.choice(others))
            for _ in range(rng.choice((0, 1, 1, 2))):
                training(rng.choice(pool))
        elif rng.random() < 0.9:
            for _ in range(rng.choice((1, 1, 2, 3))):
                asked = person.topics and rng.random() < 0.7
                training(rng.choice(person.topics) if asked else rng.choices(self.topics, weights)[0])
        tepe = 0.75 if person.position == self.w.assistant else 0.1 if person.position == self.w.teacher else 0
        if rng.random() < tepe:
            rows.append(self._record(person, self.w.tepe, rng.choices(self.topics, weights)[0]))
        if person.role == "teacher" and rng.random() < 0.78:
            rows.append(self._record(person, self.w.class_research, rng.choice(CLASS_RESEARCH_TITLES)))
        if not person.unit.is_office and rng.random() < (0.86 if person.unit.stem else 0.04):
            rows.append(self._record(person, self.w.stem, self.stem_topic))
        if rng.random() < 0.1:
            rows.append(self._record(person, self.w.other, rng.choice(OTHER_TOPICS)))
        return rows

    # ---------------------------------------------------------------- mess
    def _k(self, rate: float, cap: int) -> int:
        """How many times to apply one kind of mess: at least 1, scaled to the staff size."""
        return max(1, min(cap, round(len(self.staff) * rate)))

    def _pick(self, rows: list[Row], k: int, ok: Callable[[Row], bool] = lambda row: True) -> list[Row]:
        """Up to ``k`` rows of people not spoiled yet (one row per person); marks them used.

        A row already marked (e.g. a stranger's, who is in no roster) is never picked again.
        """
        chosen: list[dict[str, Any]] = []
        for row in self.rng.sample(rows, len(rows)):
            person = row.get("_person")
            fresh = person is not None and person.national_id not in self.used and not row.get("_marks")
            if len(chosen) < k and fresh and ok(row) and person is not None:
                self.used.add(person.national_id)
                chosen.append(row)
        return chosen

    def _spoil(self) -> None:
        """Apply each kind of mess a few times, each to a different person, noting every row."""
        rng, cols = self.rng, self.s.sources
        self.roster_rows = [self._staff_row(p) for p in self.staff]
        school_rows = [r for r in self.roster_rows if not r["_person"].unit.is_office]
        # roster: one person's row carries another person's ID (both must be credited nothing)
        conflicted = self._roster_id_conflict(school_rows or self.roster_rows)
        # roster
        if cols.staff.columns.prefix:
            for row in self._pick(school_rows or self.roster_rows, self._k(0.003, 5)):
                row["first_name"], row["prefix"] = row["prefix"] + row["first_name"], ""
                _mark(row, "prefix_stuck_to_name", "first_name",
                      "prefix column left empty, prefix typed into the first name")
        for row in self._pick(self.roster_rows, 1):
            row["last_name"] += " "
            _mark(row, "extra_spaces", "last_name", "trailing space after the surname")
        # survey
        for row in self._pick(self.survey, self._k(0.004, 6)):
            row["national_id"] = to_thai_digits(row["national_id"])
            _mark(row, "thai_digits_id", "national_id", "ID typed with Thai digits")
        for row in self._pick(self.survey, self._k(0.0015, 3)):
            row["full_name"] = row["full_name"].replace(" ", "  ")
            _mark(row, "extra_spaces", "full_name", "double space between first name and surname")
        if cols.survey.columns.unit_name:
            for row in self._pick(self.survey, self._k(0.003, 5)):
                row["unit_name"] = self._misspell(row["unit_name"])
                detail = f"unit name misspelt (roster: {row['_person'].unit.name})"
                _mark(row, "misspelt_unit_name", "unit_name", detail)
        if cols.survey.columns.email and cols.staff.columns.email:
            for row in self._pick(self.survey, self._k(0.002, 3)):
                row["national_id"], row["full_name"] = "", ""
                _mark(row, "email_only_survey", "national_id",
                      "ID and name left blank; only the e-mail (the roster's) says who answered")
        for row in self._pick(self.survey, self._k(0.003, 5), lambda r: not r["_person"].unit.is_office):
            person = row["_person"]
            later = row["_key"] + timedelta(minutes=rng.randint(3, 4000))
            again = self._survey_row(person, later, self._pick_topics(person), person.methods)
            again["_first"] = row
            _mark(again, "duplicate_submission", None, "second submission of the same person")
            self.survey.append(again)
        # ID Plan: plan rows of the year, and done records of the year (so mishandling them shows)
        plan_rows = [r for rows in self.plans.values() for r in rows if r["fiscal_year"] == self.fy]
        rows_of = Counter(id(r["_person"]) for r in plan_rows)
        only_rows = [r for r in plan_rows if rows_of[id(r["_person"])] == 1]
        for row in self._pick(only_rows or plan_rows, self._k(0.002, 3)):
            row["national_id"] = to_thai_digits(row["national_id"])
            _mark(row, "thai_digits_id", "national_id", "ID in Thai digits (the person's only plan row)")
        for row in self._pick(plan_rows, 1):
            row["full_name"] = row["full_name"].replace(" ", "  ") + " "
            _mark(row, "extra_spaces", "full_name", "double space inside, trailing space after the name")
        start = datetime(self.fy_start.year, self.fy_start.month, self.fy_start.day)
        done = [r for rows in self.records.values() for r in rows
                if r["_key"] >= start and r["status"] == DONE]
        for row in self._pick(done, self._k(0.002, 3)):
            row["national_id"] = to_thai_digits(row["national_id"])
            _mark(row, "thai_digits_id", "national_id", "ID typed with Thai digits")
        for row in self._pick(done, self._k(0.0015, 2)):
            row["national_id"] = f" {row['national_id']} "
            _mark(row, "extra_spaces", "national_id", "leading and trailing space around the ID")
        school_done = [r for r in done if not r["_person"].unit.is_office]
        for row in self._pick(school_done or done, self._k(0.002, 3)):
            row["national_id"] = ""
            _mark(row, "bad_id_name_match", "national_id",
                  "ID left blank; the name matches a roster person of the unit")
        for row in self._pick(school_done or done, self._k(0.002, 3)):
            person = row["_person"]
            other = rng.choice([p for p in OTHER_PREFIXES if p != person.prefix])
            row["national_id"], row["full_name"] = "", f"{other}{person.first_name} {person.last_name}"
            _mark(row, "name_other_prefix", "full_name",
                  f"ID left blank; name typed with the prefix '{other}' (roster: '{person.prefix}')")
        for row in self._pick(plan_rows, self._k(0.002, 3)):
            person = row["_person"]
            surname = self._other_surname(person)
            row["full_name"] = f"{person.prefix}{person.first_name} {surname}"
            _mark(row, "id_match_other_name", "full_name",
                  f"the person's own ID with another surname '{surname}' (roster: '{person.last_name}')")
        for person in self._pick_people(self._k(0.002, 3)):
            row = self._record(person, rng.choice(self.w.training), rng.choice(self.topics), done=True)
            row["date"] = BAD_DATE_TEXT
            _mark(row, "bad_date", "date", f"date cell is the text '{BAD_DATE_TEXT}'")
            self.records[person.unit.code].append(row)
        schools = self.units[1:] or self.units
        for _ in range(max(1, min(2, round(len(self.staff) / 750)))):
            self._unknown_person(rng.choice(schools))
        # how Thai offices type positions, IDs, codes, school names, dates and checkbox answers
        self._spoil_positions(school_rows)
        self._spoil_unit_codes(school_rows)
        self._spoil_id_leftovers(only_rows or plan_rows, done)
        self._spoil_unicode_names(done)
        self._spoil_school_words()
        self._spoil_text_dates(start)
        self._spoil_other_answers()
        # second round: titles, marks out of order, school punctuation, dates, checkbox separators
        self._spoil_titles(done)
        self._spoil_sara_am(done)
        self._spoil_school_punctuation()
        self._spoil_dates_otherwise(start)
        self._spoil_trailing_separators()
        for person in self._pick_people(1):
            row = self._record(person, rng.choice(self.w.training), rng.choice(self.topics), done=True)
            row["date"] = None
            _mark(row, "empty_date", "date", "date cell left empty")
            self.records[person.unit.code].append(row)
        self._spoil_topics()  # last: the rows above and their random draws stay as they were
        # every row of the two people in conflict: none may be credited
        every = self.survey + [r for rows in (*self.plans.values(), *self.records.values()) for r in rows]
        for row in every:
            if row.get("_person") in conflicted:
                _mark(row, "conflicted_person_row", None,
                      "a row of one of two people who share one ID in the roster: must not be credited")
        # final order: records by date, survey by timestamp
        for rows in self.records.values():
            rows.sort(key=lambda r: r["_key"])
        self.survey.sort(key=lambda r: r["_key"])
        for row in self.survey:
            if "_first" in row:
                first = next(i for i, r in enumerate(self.survey, start=2) if r is row["_first"])
                row["_marks"] = [(k, c, nid, f"{d} (first submission: row {first})")
                                 for k, c, nid, d in row["_marks"]]

    # ---------------------------------------------------------------- costs
    def _costs(self) -> None:
        """Costs and funding sources in the record tabs of some units (the office and about 60% of schools).

        Drawn from a generator of their own, so the rest of the area is the same with or without them.
        The first school always records costs and the second never does; rows are typed as people type
        money ("1,500", "1500 บาท", "๑,๕๐๐", "-", blank); at least one teacher spends more than the allocation;
        a few costs cannot be read (cost_unreadable) and a few sources are not on the list (funding_unknown).
        """
        rng = random.Random(f"{self.seed}:costs")
        schools = self.units[1:]
        self.cost_units = {u.code for u in self.units[:2]} | {u.code for u in schools[2:] if rng.random() < 0.6}
        if len(schools) > 1:
            self.cost_units.discard(schools[1].code)
        rows = [r for code in sorted(self.cost_units) for r in self.records[code]]
        for row in rows:
            row["cost"], row["funding"] = self._cost(rng, row)
        clean = [r for r in rows if not r.get("_marks") and r["_person"].national_id == r["national_id"]]
        paid = [r for r in clean if isinstance(r["cost"], int) and r["cost"] > 0 and r["funding"]]
        teachers = Counter(id(r["_person"]) for r in paid if r["_person"].teaches and r["kind"] in self.w.training)
        spender = next((r["_person"] for r in paid if teachers[id(r["_person"])] >= 3), None)
        for row in (r for r in paid if r["_person"] is spender):
            row["cost"], row["funding"] = 4500, FUNDING_TYPINGS["obec"][0]  # 3 × 4,500 > 10,000
        chosen = [r for r in rng.sample(paid, min(len(paid), 6)) if r["_person"] is not spender]
        for row, bad in zip(chosen[:2], BAD_COSTS):
            _mark(row, "cost_unreadable", "cost", f"cost typed '{bad}' (was {row['cost']})")
            row["cost"] = bad
        for row, source in zip(chosen[2:3], UNKNOWN_FUNDING):
            _mark(row, "funding_unknown", "funding", f"funding source typed '{source}', on no list")
            row["funding"] = source

    def _cost(self, rng: random.Random, row: Row) -> tuple[Any, str]:
        """(cost cell, funding cell) of one record, as its kind and its person make likely."""
        kind, person = row["kind"], row["_person"]
        r = rng.random()
        if kind in (self.w.tepe, self.w.plc, self.w.class_research, self.w.admin_research):
            return (None, "") if r < 0.6 else (rng.choice(NOTHING_SPENT), "")
        if r < 0.1:
            return None, ""
        if r < 0.2:
            return rng.choice(NOTHING_SPENT), ""
        amount = rng.choice(TRAINING_COSTS) * (2 if kind == "ศึกษาดูงาน" else 1)
        sources, weights = zip(*FUNDERS[person.role])
        funding = rng.choice(FUNDING_TYPINGS[rng.choices(sources, weights)[0]]) if rng.random() < 0.98 else ""
        shape = rng.random()
        if shape < 0.55:
            return amount, funding
        if shape < 0.75:
            return f"{amount:,}", funding
        if shape < 0.85:
            return f"{amount} บาท", funding
        if shape < 0.9:
            return f"{amount:,}.-", funding
        if shape < 0.95:
            return to_thai_digits(f"{amount:,}"), funding
        return f"{amount:,}.00", funding

    def _spoil_positions(self, school_rows: list[Row]) -> None:
        """Roster position cells typed with the rank or standing in them, or abbreviated."""
        if (self.w.teacher, self.w.assistant) != (TEACHER, ASSISTANT):
            return  # the typings below mean the built-in names only
        for position, standing, typed, typed_standing in POSITION_TYPINGS:
            def fits(row: Row, position: str = position, standing: str | None = standing) -> bool:
                return row["position"] == position and standing in (None, row["standing"])

            for row in self._pick(school_rows, self._k(0.0012, 2), fits):
                cell = typed.format(school=row["_person"].unit.name)
                detail = f"position typed '{cell}' (roster: '{row['position']}'"
                detail += f", standing '{row['standing']}')" if row["standing"] else ")"
                row["position"] = cell
                if typed_standing is not None and typed_standing != row["standing"]:
                    row["standing"] = typed_standing
                    detail += f", standing cell typed '{typed_standing}'" if typed_standing else ", standing cell left empty"
                _mark(row, "position_typed_otherwise", "position", detail)

    def _spoil_unit_codes(self, school_rows: list[Row]) -> None:
        """A staff row's unit code with a spreadsheet's leftovers: an apostrophe, a ``.0`` tail."""
        if not self.s.sources.staff.columns.unit_code:
            return
        for i, row in enumerate(self._pick(school_rows, 2 * self._k(0.0012, 2))):
            code = row["unit_code"]
            row["unit_code"], how = (f"'{code}", "a leading apostrophe") if i % 2 == 0 else (f"{code}.0", "a '.0' tail")
            _mark(row, "unit_code_leftover", "unit_code", f"unit code {code} typed with {how}")

    def _spoil_id_leftovers(self, plan_rows: list[Row], done: list[Row]) -> None:
        """IDs with a spreadsheet's leftovers: a number cell exported as ``….0`` text, a leading apostrophe."""
        forms = (("{}.0", "ID typed as text with a '.0' tail (a number cell exported)"),
                 ("'{}", "ID typed with a leading apostrophe (to keep it as text)"))
        places = [(self.survey, self._k(0.002, 4)), (plan_rows, self._k(0.0015, 2)), (done, self._k(0.002, 4))]
        for rows, k in places:
            for i, row in enumerate(self._pick(rows, k)):
                shape, detail = forms[i % 2]
                row["national_id"] = shape.format(row["national_id"])
                _mark(row, "id_sheet_leftover", "national_id", detail)

    def _spoil_unicode_names(self, done: list[Row]) -> None:
        """A name typed in another Unicode spelling (ำ as ํ + า, a tone mark before its upper vowel),
        with the ID left blank, so only the name can say who it is."""

        def slips(person: Person) -> list[tuple[str, str]]:
            found = []
            name = f"{person.first_name} {person.last_name}"
            if SARA_AM in name:
                found.append((name.replace(SARA_AM, NIKHAHIT_AA), "sara am typed as nikhahit + sara aa"))
            if _TONE_AFTER_UPPER_VOWEL.search(name):
                found.append((_TONE_AFTER_UPPER_VOWEL.sub("\\2\\1", name), "tone mark typed before its upper vowel"))
            return found

        cols = self.s.sources.survey.columns
        places = [(done, self._k(0.002, 3))]
        if cols.full_name:
            places.insert(0, (self.survey, self._k(0.002, 3)))
        for rows, k in places:
            for i, row in enumerate(self._pick(rows, k, lambda r: bool(slips(r["_person"])))):
                person = row["_person"]
                options = slips(person)
                name, how = options[i % len(options)]
                detail = f"ID left blank; name typed with {how}"
                _mark(row, "unicode_name", "full_name", detail + self._anonymous(row, f"{person.prefix}{name}"))

    def _spoil_school_words(self) -> None:
        """The survey's unit name typed with รร. / ร.ร. / โรงเรียน before the school's name."""
        if not self.s.sources.survey.columns.unit_name:
            return
        rows = self._pick(self.survey, len(SCHOOL_WORDS) * self._k(0.001, 1), lambda r: not r["_person"].unit.is_office)
        for i, row in enumerate(rows):
            word = SCHOOL_WORDS[i % len(SCHOOL_WORDS)]
            row["unit_name"] = word + row["unit_name"]
            _mark(row, "school_word_in_unit_name", "unit_name", f"'{word.strip()}' typed before the school's name")

    def _spoil_text_dates(self, start: datetime) -> None:
        """Record dates typed as Thai text: a month name, Thai digits, a 2-digit พ.ศ. year, a time of day."""
        def typed(day: datetime, shape: int) -> str:
            be = day.year + 543
            if shape == 0:
                return f"{day.day} {MONTHS_SHORT[day.month - 1]} {be}"
            if shape == 1:
                return to_thai_digits(f"{day.day} {MONTHS_LONG[day.month - 1]} {be}")
            if shape == 2:
                return f"{day.day}/{day.month}/{be % 100:02d}"
            return f"{day.day}/{day.month}/{be} เวลา {self.rng.randint(8, 16)}.{self.rng.choice((0, 15, 30, 45)):02d} น."

        rows = [r for rows in self.records.values() for r in rows if r["status"] == DONE]
        this_year = self._pick([r for r in rows if r["_key"] >= start], 4 * self._k(0.001, 2))
        last_year = self._pick([r for r in rows if r["_key"] < start], 1)
        for i, row in enumerate(this_year + last_year):
            day = row["_key"]
            row["date"] = typed(day, i % 4)
            _mark(row, "date_as_text", "date", f"date typed as text (the date: {day:%Y-%m-%d})")

    def _spoil_other_answers(self) -> None:
        """A checkbox answer with an "Other" text of its own commas, after the checked options."""
        cols = self.s.sources.survey.columns
        for field_name, texts in (("methods", OTHER_METHODS), ("topics", OTHER_NEEDS)):
            if not getattr(cols, field_name):
                continue
            for i, row in enumerate(self._pick(self.survey, self._k(0.002, 3))):
                other = texts[i % len(texts)]
                row[field_name] = f"{row[field_name]}, {other}" if row[field_name] else other
                _mark(row, "other_answer_with_commas", field_name,
                      f"the Other answer '{other}' typed after the checked options")

    def _topic_names(self) -> dict[str, list[str]]:
        """Each survey topic's other names as typed: its "Thai (other)" parts, then the config's aliases."""
        vocabulary = TopicVocabulary.from_settings(self.s)
        names = {topic: option_parts(topic) for topic in self.topics}
        for key, aliases in self.s.vocabulary.topics.items():
            topic = vocabulary.aliases.get(topic_key(key))
            if topic in names:
                names[topic] += [a for a in (key, *aliases) if topic_key(a) != topic_key(topic)]
        return {topic: list(dict.fromkeys(found)) for topic, found in names.items() if found}

    def _spoil_topics(self) -> None:
        """ID Plan and record topics typed the way people type them: about a quarter of the rows whose topic is
        a survey option carry another name of it, dressed in free text; a few carry a need no topic names."""
        rng, names = self.rng, self._topic_names()
        rows = [r for rows in (*self.plans.values(), *self.records.values()) for r in rows if not r.get("_marks")]
        for row in rows:
            topic = row["topic"]
            if topic not in names or rng.random() >= 0.25:
                continue
            name = rng.choice(names[topic])
            if name.isascii() and rng.random() < 0.3:
                name = name.lower()
            # a Thai name under MIN_THAI_INSIDE letters names its topic only as the whole text
            dressing = "{name}" if len(topic_key(name)) < MIN_THAI_INSIDE else rng.choice(TOPIC_DRESSINGS)
            row["topic"] = dressing.format(name=name)
            _mark(row, "topic_typed_otherwise", "topic", f"topic typed '{row['topic']}' for '{topic}'")
        plans = [r for rows in self.plans.values() for r in rows if r["fiscal_year"] == self.fy and not r.get("_marks")]
        done = [r for rows in self.records.values() for r in rows if r["status"] == DONE and not r.get("_marks")]
        for pool, k in ((plans, self._k(0.006, 10)), (done, self._k(0.002, 4))):
            for i, row in enumerate(rng.sample(pool, min(k, len(pool)))):
                row["topic"] = FREE_TOPICS[i % len(FREE_TOPICS)]
                _mark(row, "topic_unmatched", "topic", f"topic '{row['topic']}' names no survey topic")

    def _anonymous(self, row: Row, name: str) -> str:
        """Blank the row's ID and type ``name``; a survey row answers from a personal e-mail, so that only
        the name can say who it is. Returns what the manifest says of the e-mail."""
        row["national_id"], row["full_name"] = "", name
        if "email" in row and self.s.sources.survey.columns.email:
            row["email"] = f"{row['_person'].email.split('@')[0]}.home{self.rng.randint(10, 99)}@gmail.example.com"
            return "; answered from a personal e-mail not in the roster"
        return ""

    def _spoil_titles(self, done: list[Row]) -> None:
        """A name typed with its title spelled otherwise (a rank abbreviated, a dot dropped or added, ครู,
        a Latin title in capitals or lower case), with the ID left blank: only the name says who it is."""
        rows = done + (self.survey if self.s.sources.survey.columns.full_name else [])
        for prefix, typings in [*TITLE_TYPINGS.items(), (None, LATIN_TYPINGS)]:
            def fits(row: Row, prefix: str | None = prefix) -> bool:
                person = row["_person"]
                return person.prefix == prefix if prefix else person.prefix.isascii()

            usable = [t for t in typings if t != "ครู"]
            for i, row in enumerate(self._pick(rows, len(typings), fits)):
                person = row["_person"]
                options = typings if person.teaches or person.position == FOREIGN_TEACHER else usable
                typing = options[i % len(options)]
                if prefix is None:
                    plain = written_name(person.prefix, person.first_name, person.last_name)
                    name = plain.upper() if typing == "capitals" else plain.replace(".", "").lower()
                else:
                    space = "" if typing.endswith((".", ")", " ")) else " "
                    name = f"{typing}{space}{person.first_name} {person.last_name}"
                detail = f"ID left blank; name typed '{name}' (roster title: '{person.prefix}')"
                _mark(row, "title_typed_otherwise", "full_name", detail + self._anonymous(row, name))

    def _spoil_sara_am(self, done: list[Row]) -> None:
        """Sara am typed before the tone mark (นำ้ for น้ำ): in a survey's school name, and in a name with
        the ID left blank."""
        cols = self.s.sources.survey.columns
        if cols.unit_name:
            for row in self._pick(self.survey, 2, lambda r: bool(_TONE_BEFORE_AM.search(r["unit_name"]))):
                row["unit_name"] = _TONE_BEFORE_AM.sub("\u0e33\\1", row["unit_name"])
                _mark(row, "sara_am_before_tone", "unit_name", "school name typed with sara am before the tone mark")
        rows = done + (self.survey if cols.full_name else [])
        for row in self._pick(rows, 2, lambda r: bool(_TONE_BEFORE_AM.search(r["_person"].full_name))):
            name = _TONE_BEFORE_AM.sub("\u0e33\\1", row["_person"].full_name)
            detail = "ID left blank; name typed with sara am before the tone mark"
            _mark(row, "sara_am_before_tone", "full_name", detail + self._anonymous(row, name))

    def _spoil_school_punctuation(self) -> None:
        """The survey's school name with other punctuation: ร.ร with one dot, a full stop at the end,
        the brackets around a second name dropped or glued."""
        if not self.s.sources.survey.columns.unit_name:
            return
        schools = [r for r in self.survey if not r["_person"].unit.is_office]
        for typing in SCHOOL_PUNCTUATIONS:
            second = "{second}" in typing
            for row in self._pick(schools, 1, lambda r: ("(" in r["unit_name"]) == second):  # noqa: B023 (used at once)
                name = row["unit_name"]
                base, _, rest = name.partition(" (")
                row["unit_name"] = typing.format(name=name, base=base, second=rest.rstrip(")"))
                _mark(row, "school_name_punctuation", "unit_name", f"school name typed '{row['unit_name']}'")

    def _spoil_dates_otherwise(self, start: datetime) -> None:
        """Record dates typed as a sentence, with an English month, a Thai month between dashes, and one
        as a US-locale Forms timestamp (month/day, the day above 12) in a sheet with no other text date."""
        def typed(day: datetime, shape: int) -> str:
            be = day.year + 543
            if shape == 0:
                return f"วันที่ {day.day} เดือน{MONTHS_LONG[day.month - 1]} พ.ศ. {be}"
            if shape == 1:
                return f"{day.day} {MONTHS_ENGLISH[day.month - 1]} {day.year}"
            if shape == 2:
                return f"{day.day}-{MONTHS_SHORT[day.month - 1]}-{be % 100:02d}"
            clock = f"{self.rng.randint(8, 16)}:{self.rng.randint(0, 59):02d}:{self.rng.randint(0, 59):02d}"
            return f"{day.month}/{day.day}/{day.year} {clock}"

        texts = {code for code, rows in self.records.items() if any(isinstance(r["date"], str) for r in rows)}
        sheets = {id(r): code for code, rows in self.records.items() for r in rows}
        done = [r for rows in self.records.values() for r in rows if r["status"] == DONE and r["_key"] >= start]
        for shape in range(4):
            def fits(row: Row, shape: int = shape) -> bool:
                return shape < 3 or (row["_key"].day > 12 and sheets[id(row)] not in texts)

            for row in self._pick(done, 1, fits):
                day = row["_key"]
                row["date"] = typed(day, shape)
                texts.add(sheets[id(row)])
                _mark(row, "date_typed_otherwise", "date", f"date typed '{row['date']}' (the date: {day:%Y-%m-%d})")

    def _spoil_trailing_separators(self) -> None:
        """A checkbox answer with Forms' separator left at its end (``ศึกษาดูงาน, ``)."""
        cols = self.s.sources.survey.columns
        for field_name in ("methods", "topics"):
            if getattr(cols, field_name):
                for row in self._pick(self.survey, 1, lambda r: bool(r[field_name])):  # noqa: B023 (used at once)
                    row[field_name] += ", "
                    _mark(row, "checkbox_trailing_separator", field_name, "', ' left after the last checked answer")

    def _roster_id_conflict(self, rows: list[Row]) -> tuple[Person, ...]:
        """Give one person's roster row another person's ID (a typing slip in the roster)."""
        owner, copier = [r for r in self._pick(rows, 2, lambda r: r["_person"].plan_state == "plan")]
        copier["national_id"] = owner["national_id"]
        _mark(owner, "duplicate_roster_id", "national_id",
              f"ID also on the roster row of {copier['_person'].full_name}")
        _mark(copier, "duplicate_roster_id", "national_id",
              f"row carries the ID of {owner['_person'].full_name}, not the person's own")
        return owner["_person"], copier["_person"]

    def _other_surname(self, person: Person) -> str:
        """A surname more than a typing slip away from the person's own (e.g. after marriage)."""
        while True:
            _, last = self._new_name(male=False)
            if not same_name(last, person.last_name):
                return last

    def _pick_people(self, k: int) -> list[Person]:
        """Up to ``k`` staff not spoiled yet; marks them used."""
        shuffled = self.rng.sample(self.staff, len(self.staff))
        people = [p for p in shuffled if p.national_id not in self.used][:k]
        self.used.update(p.national_id for p in people)
        return people

    def _unknown_person(self, unit: Unit) -> None:
        """A survey row and a record row for someone the roster does not know."""
        male = self.rng.random() < 0.4
        first, last = self._new_name(male)
        stranger = Person(self._new_id(), "นาย" if male else "นางสาว", first, last, self.w.teacher, "", unit,
                          email=f"guest{self.rng.randint(1000, 9999)}@gmail.example.com", teaches=True)
        stranger.topics, stranger.methods = self._pick_topics(stranger), self._pick_methods(stranger)
        row = self._survey_row(stranger, self._when(), stranger.topics, stranger.methods)
        record = self._record(stranger, self.w.training[0], stranger.topics[0], done=True)
        for spoiled in (row, record):
            spoiled["_marks"] = [("unknown_person", "national_id", None,
                                  f"person not in the roster (ID {stranger.national_id})")]
        self.survey.append(row)
        self.records[unit.code].append(record)

    def _misspell(self, name: str) -> str:
        """A plausible typo: ร/ล swapped, else a tone mark or a letter dropped (never a space or a bracket,
        which a person reading the name would not count as a misspelling)."""
        known = {school_name_key(u.name) for u in self.units}
        swap = {"ร": "ล", "ล": "ร"}
        swaps = [name[:i] + swap[ch] + name[i + 1:] for i, ch in enumerate(name) if ch in swap]
        drops = [name[:i] + name[i + 1:] for i, ch in enumerate(name) if ch in "่้" or (i >= 4 and ch not in " ()")]
        order = (swaps, drops) if self.rng.random() < 0.6 else (drops, swaps)
        for options in order:
            options = [o for o in options if school_name_key(o) not in known]
            if options:
                return self.rng.choice(options)
        return name + "ฯ"

    def _staff_row(self, p: Person) -> Row:
        """The person as a staff-roster row."""
        return {"national_id": p.national_id, "prefix": p.prefix, "first_name": p.first_name,
                "last_name": p.last_name, "position": p.position, "standing": p.standing,
                "unit_code": p.unit.code, "work_group": p.work_group, "email": p.email, "_person": p}

    # ---------------------------------------------------------------- output
    def _table(
        self, columns: Any, fields: tuple[str, ...], rows: list[Row], key: str, tab: str
    ) -> list[list[Any]]:
        """Header plus rows for the configured columns; records each row's marks in the manifest."""
        kept = [f for f in fields if getattr(columns, f, None)]
        table: list[list[Any]] = [[getattr(columns, f) for f in kept]]
        for number, row in enumerate(rows, start=2):
            table.append([row.get(f) for f in kept])
            for kind, column, nid, detail in row.get("_marks", []):
                self.manifest_rows.append({"kind": kind, "spreadsheet": key, "tab": tab, "row": number,
                                           "column": getattr(columns, column) if column else None,
                                           "national_id": nid, "detail": detail})
        return table

    def write(self, workbook: Workbook) -> dict:
        """One write per spreadsheet; returns the manifest."""
        src = self.s.sources
        self.manifest_rows = []
        units = [{"code": u.code, "name": u.name, "kind": u.kind, "district": u.district,
                  "director_email": u.director_email, "stem": YES if u.stem else NO,
                  "network": u.network,
                  "students": u.students, "classrooms": u.classrooms} for u in self.units]
        roster = {
            src.units.tab: self._table(
                src.units.columns, UNIT_FIELDS, units, src.units.spreadsheet, src.units.tab),
            src.staff.tab: self._table(
                src.staff.columns, STAFF_FIELDS, self.roster_rows, src.staff.spreadsheet, src.staff.tab),
        }
        if src.units.spreadsheet == src.staff.spreadsheet:
            workbook.write(src.units.spreadsheet, roster)
        else:
            workbook.write(src.units.spreadsheet, {src.units.tab: roster[src.units.tab]})
            workbook.write(src.staff.spreadsheet, {src.staff.tab: roster[src.staff.tab]})
        sv = src.survey
        survey = self._table(sv.columns, SURVEY_FIELDS, self.survey, sv.spreadsheet, sv.tab)
        workbook.write(sv.spreadsheet, {sv.tab: survey})
        ip = src.idplan
        for unit in self.units:
            key = ip.key_for(unit.code)
            plans, records = self.plans[unit.code], self.records[unit.code]
            fields = tuple(f for f in RECORD_FIELDS if unit.code in self.cost_units or f not in COST_FIELDS)
            workbook.write(key, {
                ip.plan_tab: self._table(ip.plan_columns, PLAN_FIELDS, plans, key, ip.plan_tab),
                ip.record_tab: self._table(ip.record_columns, fields, records, key, ip.record_tab),
            })
            for person in unit.staff:
                if person.plan_state != "plan":  # row: the FY-1 row, if any
                    old = next((i for i, r in enumerate(plans, start=2) if r["_person"] is person), None)
                    detail = f"only a plan row for FY {self.fy - 1}" if old else "no plan rows at all"
                    self.manifest_rows.append({
                        "kind": "no_id_plan", "spreadsheet": key, "tab": ip.plan_tab, "row": old,
                        "column": None, "national_id": person.national_id, "detail": detail,
                    })
        schools = self.units[1:]
        return {
            "seed": self.seed, "schools": len(schools), "fiscal_year": self.fy,
            "counts": {"units": len(self.units), "schools": len(schools), "staff": len(self.staff),
                       "survey_rows": len(self.survey), "students": sum(u.students for u in schools),
                       "classrooms": sum(u.classrooms for u in schools)},
            "spoiled": self.manifest_rows,
        }
