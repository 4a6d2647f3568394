"""The sample area: deterministic, sized like the plan, and spoiled exactly as its manifest says."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.money import funding_table, parse_baht, read_funding
from pipeline.sample import SAMPLE_MANIFEST, generate_area
from pipeline.workbook.local import LocalWorkbook

REPO = Path(__file__).resolve().parent.parent
THAI = "๐๑๒๓๔๕๖๗๘๙"
TIMESTAMP = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}, \d{2}:\d{2}:\d{2}$")
KINDS = {
    "thai_digits_id", "extra_spaces", "misspelt_unit_name", "prefix_stuck_to_name",
    "duplicate_submission", "no_id_plan", "unknown_person", "bad_id_name_match", "bad_date",
    "duplicate_roster_id", "conflicted_person_row", "email_only_survey", "name_other_prefix",
    "id_match_other_name", "position_typed_otherwise", "unit_code_leftover", "id_sheet_leftover",
    "unicode_name", "school_word_in_unit_name", "date_as_text", "other_answer_with_commas",
    "title_typed_otherwise", "sara_am_before_tone", "school_name_punctuation", "date_typed_otherwise",
    "checkbox_trailing_separator", "empty_date", "topic_typed_otherwise", "topic_unmatched", "cost_unreadable",
    "funding_unknown",
}
# How a roster may type a position other than its ก.ค.ศ. name (position_typed_otherwise); {school} is
# the person's school.
TYPED_POSITIONS = {
    "ครู คศ.2", "ครู ค.ศ.1", "ครูชำนาญการพิเศษ", "ครู", "ครู ผู้ช่วย", "ผอ.โรงเรียน", "ผอ.ร.ร.{school}", "รอง ผอ.",
    "เจ้าพนักงานธุรการชำนาญงาน", "นักวิชาการเงินและบัญชีปฏิบัติการ",
}
SCHOOL_WORDS = ("รร.", "ร.ร.", "โรงเรียน")
UPPER_VOWEL, TONE = "\u0e31\u0e34\u0e35\u0e36\u0e37\u0e47", "\u0e48\u0e49\u0e4a\u0e4b"
PREFIXES = ("นาย", "นาง", "นางสาว", "ว่าที่ร้อยตรี", "ว่าที่ร้อยตรีหญิง", "จ่าสิบเอก", "ดร.", "ผศ.ดร.", "Mr.", "Ms.", "Mrs.")
FOREIGN_TEACHER = "ครูอัตราจ้าง (ชาวต่างประเทศ)"  # contract staff: no ก.ค.ศ. position, no standing
ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")
THAI_SHORT_MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
THAI_MONTHS = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม", "สิงหาคม",
               "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม")
OFFICE_GROUPS = {
    "กลุ่มอำนวยการ", "กลุ่มนโยบายและแผน", "กลุ่มบริหารงานบุคคล", "กลุ่มบริหารงานการเงินและสินทรัพย์",
    "กลุ่มส่งเสริมการจัดการศึกษา", "กลุ่มนิเทศ ติดตามและประเมินผลการจัดการศึกษา",
    "กลุ่มส่งเสริมการศึกษาทางไกล เทคโนโลยีสารสนเทศและการสื่อสาร", "กลุ่มพัฒนาครูและบุคลากรทางการศึกษา",
    "กลุ่มกฎหมายและคดี", "หน่วยตรวจสอบภายใน",
}


# ---------------------------------------------------------------- helpers
def check_digit_ok(nid: str) -> bool:
    """Thai national ID check, computed here without pipeline.thai."""
    if len(nid) != 13 or not nid.isdigit():
        return False
    total = 0
    for i in range(12):
        total += int(nid[i]) * (13 - i)
    return (11 - total % 11) % 10 == int(nid[12])


def arabic(text: str) -> str:
    return "".join(str(THAI.index(c)) if c in THAI else c for c in text)


def typed_id(value) -> str:
    """An ID cell as digits: Thai digits, spaces, a leading apostrophe and a ".0" tail undone."""
    return arabic(str(value or "")).strip().lstrip("'").removesuffix(".0")


def keyboard_spelling(text: str) -> str:
    """Thai as a Thai keyboard types it: sara am one character after its tone mark, a tone mark after its
    upper vowel."""
    text = text.replace("\u0e4d\u0e32", "\u0e33")
    text = re.sub(f"\u0e33([{TONE}])", "\\1\u0e33", text)
    return re.sub(f"([{TONE}])([{UPPER_VOWEL}])", r"\2\1", text)


def spoiled_rows(area: "Area", *kinds: str) -> set[tuple[str, int]]:
    return {(e["spreadsheet"], e["row"]) for e in area.manifest["spoiled"] if e["kind"] in kinds}


def records(table: list[list]) -> list[dict]:
    return [dict(zip(table[0], row)) for row in table[1:]]


def dump(wb: LocalWorkbook) -> dict:
    """Every cell of every tab, as comparable plain values."""
    out = {}
    for key in wb.keys():
        tabs = wb.read(key, wb.tabs(key))
        out[key] = {
            tab: [[v.isoformat() if isinstance(v, datetime) else v for v in r] for r in rows]
            for tab, rows in tabs.items()
        }
    return out


class Area:
    """A generated area plus the roster, read back from the .xlsx files."""

    def __init__(self, folder: Path, settings, schools: int | None, seed: int = 2562) -> None:
        self.s = settings
        self.wb = LocalWorkbook(folder)
        self.manifest = generate_area(self.wb, settings, schools=schools, seed=seed)
        src = settings.sources
        roster = self.wb.read(src.units.spreadsheet, [src.units.tab, src.staff.tab])
        self.units = records(roster[src.units.tab])
        self.staff = records(roster[src.staff.tab])
        self.uc, self.sc = src.units.columns, src.staff.columns
        self.by_id = {p[self.sc.national_id]: p for p in self.staff}
        self.survey = self.wb.read(src.survey.spreadsheet, [src.survey.tab])[src.survey.tab]

    def schools(self) -> list[dict]:
        return [u for u in self.units if u[self.uc.kind] == "โรงเรียน"]

    def full_name(self, p: dict) -> str:
        prefix = p[self.sc.prefix] or ""
        space = " " if prefix.isascii() and prefix else ""  # Mr. John Smith; นายสมชาย ใจดี
        return f"{prefix}{space}{p[self.sc.first_name]} {p[self.sc.last_name]}".strip()

    def cell(self, entry: dict) -> tuple[dict, object]:
        """The spoiled row (as a dict) and its named cell."""
        table = self.wb.read(entry["spreadsheet"], [entry["tab"]])[entry["tab"]]
        row = dict(zip(table[0], table[entry["row"] - 1]))
        return row, row.get(entry["column"]) if entry["column"] else None


@pytest.fixture(scope="module")
def settings():
    return load_settings(REPO / "config" / "demo.toml")


@pytest.fixture(scope="module")
def small(settings, tmp_path_factory) -> Area:
    return Area(tmp_path_factory.mktemp("small"), settings, schools=6, seed=11)


@pytest.fixture(scope="module")
def full(settings, tmp_path_factory) -> Area:
    return Area(tmp_path_factory.mktemp("full"), settings, schools=None)


# ---------------------------------------------------------------- determinism
def test_same_seed_gives_identical_cells_and_another_seed_differs(settings, tmp_path):
    generate_area(LocalWorkbook(tmp_path / "a"), settings, schools=4, seed=5)
    generate_area(LocalWorkbook(tmp_path / "b"), settings, schools=4, seed=5)
    generate_area(LocalWorkbook(tmp_path / "c"), settings, schools=4, seed=6)
    a, b, c = (dump(LocalWorkbook(tmp_path / x)) for x in "abc")
    assert a == b
    assert a != c
    assert a["roster"] != c["roster"]


def test_same_seed_is_identical_in_another_process_with_another_hash_seed(settings, tmp_path):
    code = (
        "import sys; from pipeline.config import load_settings;"
        "from pipeline.sample import generate_area; from pipeline.workbook.local import LocalWorkbook;"
        "generate_area(LocalWorkbook(sys.argv[1]), load_settings(sys.argv[2]), schools=3, seed=99)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4321", "PYTHONPATH": str(REPO)}
    config = str(REPO / "config" / "demo.toml")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "other"), config], check=True, env=env, cwd=REPO)
    mine = generate_area(LocalWorkbook(tmp_path / "mine"), settings, schools=3, seed=99)
    assert dump(LocalWorkbook(tmp_path / "mine")) == dump(LocalWorkbook(tmp_path / "other"))
    assert mine["seed"] == 99


def test_global_random_state_is_untouched(settings, tmp_path):
    random.seed(7)
    before = random.getstate()
    generate_area(LocalWorkbook(tmp_path), settings, schools=3, seed=1)
    assert random.getstate() == before


# ---------------------------------------------------------------- writes and manifest
class RecordingWorkbook(LocalWorkbook):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.calls: list[tuple[str, list[str]]] = []

    def write(self, key, tabs):
        self.calls.append((key, list(tabs)))
        super().write(key, tabs)


def test_one_write_per_spreadsheet_with_keys_and_tabs_from_settings(settings, tmp_path):
    wb = RecordingWorkbook(tmp_path)
    generate_area(wb, settings, schools=5, seed=3)
    keys = [k for k, _ in wb.calls]
    assert len(keys) == len(set(keys))
    src = settings.sources
    calls = dict(wb.calls)
    assert calls[src.units.spreadsheet] == [src.units.tab, src.staff.tab]
    assert calls[src.survey.spreadsheet] == [src.survey.tab]
    codes = [r[0] for r in wb.read(src.units.spreadsheet, [src.units.tab])[src.units.tab][1:]]
    assert len(codes) == 6
    for code in codes:
        assert calls[src.idplan.key_for(code)] == [src.idplan.plan_tab, src.idplan.record_tab]
    assert len(keys) == 2 + len(codes)


def test_manifest_is_json_and_counts_match_the_sheets(small):
    m = small.manifest
    assert SAMPLE_MANIFEST == "sample-manifest.json"
    assert json.loads(json.dumps(m, ensure_ascii=False)) == m
    assert (m["seed"], m["schools"], m["fiscal_year"]) == (11, 6, small.s.area.fiscal_year)
    c = m["counts"]
    assert c["units"] == len(small.units) == 7
    assert c["schools"] == len(small.schools()) == 6
    assert c["staff"] == len(small.staff)
    assert c["survey_rows"] == len(small.survey) - 1
    assert c["students"] == sum(u[small.uc.students] for u in small.schools())
    assert c["classrooms"] == sum(u[small.uc.classrooms] for u in small.schools())
    for e in m["spoiled"]:
        assert set(e) >= {"kind", "spreadsheet", "tab", "row", "national_id", "detail"}
        assert e["kind"] in KINDS
        # the one person whose roster row carries another's ID is not in the roster by their own ID
        conflicted = {x["national_id"] for x in m["spoiled"] if x["kind"] == "duplicate_roster_id"}
        assert e["national_id"] is None or e["national_id"] in small.by_id or e["national_id"] in conflicted


@pytest.mark.parametrize("n", [3, 10])
def test_exactly_n_schools_and_every_kind_of_mess(settings, tmp_path, n):
    m = generate_area(LocalWorkbook(tmp_path), settings, schools=n, seed=n)
    assert m["counts"]["schools"] == n
    assert {e["kind"] for e in m["spoiled"]} == KINDS


def test_rejects_a_school_count_below_one(settings, tmp_path):
    with pytest.raises(ValueError):
        generate_area(LocalWorkbook(tmp_path), settings, schools=0)


def test_columns_set_to_none_are_left_out(settings, tmp_path):
    src = settings.sources
    staff_cols = src.staff.columns.model_copy(update={"prefix": None})
    survey_cols = src.survey.columns.model_copy(update={"methods": None, "unit_name": None})
    staff = src.staff.model_copy(update={"columns": staff_cols})
    survey = src.survey.model_copy(update={"columns": survey_cols})
    changed = settings.model_copy(update={"sources": src.model_copy(update={"staff": staff, "survey": survey})})
    wb = LocalWorkbook(tmp_path)
    m = generate_area(wb, changed, schools=3, seed=4)
    header = wb.read(src.staff.spreadsheet, [src.staff.tab])[src.staff.tab][0]
    assert src.staff.columns.prefix not in header and src.staff.columns.first_name in header
    survey_header = wb.read(src.survey.spreadsheet, [src.survey.tab])[src.survey.tab][0]
    assert src.survey.columns.methods not in survey_header
    assert src.survey.columns.unit_name not in survey_header
    kinds = {e["kind"] for e in m["spoiled"]}
    assert "prefix_stuck_to_name" not in kinds and "misspelt_unit_name" not in kinds


# ---------------------------------------------------------------- roster
def test_roster_ids_have_valid_check_digits_and_are_unique(small):
    ids = [p[small.sc.national_id] for p in small.staff]
    assert all(isinstance(i, str) and check_digit_ok(i) for i in ids)
    # ...except the one ID the manifest says was put on a second person's row
    shared = [e for e in small.manifest["spoiled"] if e["kind"] == "duplicate_roster_id"]
    assert len(shared) == 2
    owner = next(e["national_id"] for e in shared if e["national_id"] in ids)
    assert {i: n for i, n in Counter(ids).items() if n > 1} == {owner: 2}


def test_units_codes_names_emails_and_office_row(small):
    uc, s = small.uc, small.s
    office = [u for u in small.units if u[uc.kind] == "สำนักงานเขตพื้นที่"]
    assert len(office) == 1
    assert office[0][uc.code] == s.area.office_code
    assert office[0][uc.name] == "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาเพชรบูรณ์ เขต 2"
    assert (office[0][uc.students], office[0][uc.classrooms], office[0][uc.stem]) == (0, 0, "ไม่ใช่")
    for u in small.schools():
        assert isinstance(u[uc.code], str) and re.fullmatch(r"10\d{8}", u[uc.code])
        assert u[uc.district] in s.area.districts
        assert u[uc.stem] in ("ใช่", "ไม่ใช่")
        assert isinstance(u[uc.students], int) and u[uc.students] > 0
        assert isinstance(u[uc.classrooms], int) and u[uc.classrooms] > 0
        assert u[uc.network].startswith("เครือข่าย" + u[uc.district])
    for column in (uc.code, uc.name, uc.director_email):
        values = [u[column] for u in small.units]
        assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z0-9.]+@[a-z0-9.]+\.[a-z]+", u[uc.director_email]) for u in small.units)


def test_positions_directors_standing_and_work_groups(small):
    sc, office_code = small.sc, small.s.area.office_code
    codes = {u[small.uc.code] for u in small.units}
    # rows whose position or unit code was typed otherwise are checked against the manifest
    typed = {row for _, row in spoiled_rows(small, "position_typed_otherwise", "unit_code_leftover")}
    for number, p in enumerate(small.staff, start=2):
        if number in typed:
            continue
        assert p[sc.unit_code] in codes
        if p[sc.position] in ("ครูผู้ช่วย", "บุคลากรทางการศึกษาอื่น 38 ค.(2)", FOREIGN_TEACHER):
            assert not p[sc.standing]
        else:
            assert p[sc.standing] in ("ไม่มี", "ชำนาญการ", "ชำนาญการพิเศษ", "เชี่ยวชาญ")
    for u in small.schools():
        people = [p for p in small.staff if typed_id(p[sc.unit_code]) == u[small.uc.code]]
        positions = Counter(p[sc.position] for p in people)
        typed_director = f"ผอ.ร.ร.{u[small.uc.name]}"
        assert positions["ผู้อำนวยการสถานศึกษา"] + positions["ผอ.โรงเรียน"] + positions[typed_director] == 1
        assert all(not p[sc.work_group] for p in people)
    office = [p for p in small.staff if p[sc.unit_code] == office_code]
    positions = Counter(p[sc.position] for p in office)
    assert positions["ผู้อำนวยการสำนักงานเขตพื้นที่การศึกษา"] == 1
    assert 2 <= positions["รองผู้อำนวยการสำนักงานเขตพื้นที่การศึกษา"] <= 3
    assert 10 <= positions["ศึกษานิเทศก์"] <= 14
    assert 60 <= len(office) <= 70
    groups = Counter(p[sc.work_group] for p in office)
    assert set(groups) == OFFICE_GROUPS and min(groups.values()) >= 3
    emails = [p[sc.email] for p in small.staff]
    assert len(emails) == len(set(emails)) and all(e.isascii() and "@" in e for e in emails)


def test_full_names_are_unique(small):
    keys = []
    for p in small.staff:
        first = p[small.sc.first_name].strip()
        if not p[small.sc.prefix]:  # prefix typed into the first name
            longest_first = sorted(PREFIXES, key=len, reverse=True)
            first = first.removeprefix(next(x for x in longest_first if first.startswith(x)))
        keys.append(f"{first} {p[small.sc.last_name].strip()}")
    assert len(keys) == len(set(keys))


# ---------------------------------------------------------------- survey and ID plans
def test_survey_looks_like_a_forms_response_sheet(small):
    s, sv = small.s, small.s.sources.survey.columns
    header, rows = small.survey[0], records(small.survey)
    # ID left blank
    email_only = {row for _, row in spoiled_rows(
        small, "email_only_survey", "unicode_name", "title_typed_otherwise", "sara_am_before_tone")}
    other = {e["row"]: e["detail"] for e in small.manifest["spoiled"] if e["kind"] == "other_answer_with_commas"}
    trailing = {row for _, row in spoiled_rows(small, "checkbox_trailing_separator")}
    assert header[0] == "ประทับเวลา"
    assert header == [
        sv.timestamp, sv.email, sv.full_name, sv.national_id, sv.unit_name, sv.position, sv.topics, sv.methods,
    ]
    when = []
    for number, r in enumerate(rows, start=2):
        assert TIMESTAMP.match(r[sv.timestamp]), r[sv.timestamp]
        d, mo, rest = r[sv.timestamp].split("/")
        when.append(datetime.strptime(f"{int(d):02d}/{int(mo):02d}/{rest}", "%d/%m/%Y, %H:%M:%S"))
        assert isinstance(r[sv.national_id], str) or (number in email_only and r[sv.national_id] is None)
        topics, methods = r[sv.topics], r[sv.methods]
        if number in trailing:  # ", " left after the last answer of one question
            assert topics.endswith(", ") != methods.endswith(", ")
            topics, methods = topics.removesuffix(", "), methods.removesuffix(", ")
        if number in other:  # the "Other" text comes after the checked options
            typed = re.search(r"Other answer '(.+)' typed", other[number]).group(1)
            topics, methods = topics.removesuffix(f", {typed}"), methods.removesuffix(f", {typed}")
        chosen = [t for t in s.vocabulary.survey_topics if t in topics]
        assert ", ".join(chosen) == topics and 1 <= len(chosen) <= 3
        checked = [m for m in s.vocabulary.survey_methods if m in methods.split(", ")]
        assert ", ".join(checked) == methods and 1 <= len(checked) <= 2
    assert when == sorted(when)
    fy_ce = s.area.fiscal_year - 543
    assert datetime(fy_ce - 1, 10, 1) <= when[0] and when[-1] < datetime(fy_ce, 4, 1)
    assert 0.7 < len(rows) / len(small.staff) < 1.0


def test_one_id_plan_spreadsheet_per_unit_with_both_tabs(small):
    ip, fy = small.s.sources.idplan, small.s.area.fiscal_year
    spoiled = small.manifest["spoiled"]
    bad_dates = {(e["spreadsheet"], e["row"]) for e in spoiled if e["kind"] == "bad_date"}
    empty_dates = spoiled_rows(small, "empty_date")
    text_dates = spoiled_rows(small, "date_as_text", "date_typed_otherwise")
    for u in small.units:
        key = ip.key_for(u[small.uc.code])
        assert small.wb.tabs(key)[:2] == [ip.plan_tab, ip.record_tab]
        tabs = small.wb.read(key, [ip.plan_tab, ip.record_tab])
        plan, rec = tabs[ip.plan_tab], tabs[ip.record_tab]
        assert plan[0][:2] == [ip.plan_columns.fiscal_year, ip.plan_columns.national_id]
        assert {r[0] for r in plan[1:]} <= {fy, fy - 1} and any(r[0] == fy for r in plan[1:])
        for number, r in enumerate(records(rec), start=2):
            rc = ip.record_columns
            if (key, number) in bad_dates | empty_dates:
                assert r[rc.date] == ("ยังไม่ระบุ" if (key, number) in bad_dates else None)
                continue
            assert isinstance(r[rc.date], str if (key, number) in text_dates else datetime)
            assert r[rc.kind] in small.s.vocabulary.development_kinds
            assert r[rc.status] in ("เสร็จสิ้น", "กำลังดำเนินการ")
            assert isinstance(r[rc.hours], int)
            if r[rc.status] == "เสร็จสิ้น":
                assert re.fullmatch(r"https://drive\.google\.com/file/d/[\w-]{20}/view", r[rc.evidence])


# ---------------------------------------------------------------- the mess is really there
def test_every_manifest_entry_is_really_in_the_sheets(small):
    fy, ip = small.s.area.fiscal_year, small.s.sources.idplan
    all_full_names = {small.full_name(p).replace(" ", "") for p in small.staff}
    unit_names = {u[small.uc.name] for u in small.units}
    seen = Counter()
    for e in small.manifest["spoiled"]:
        seen[e["kind"]] += 1
        nid = e["national_id"]
        if e["kind"] == "no_id_plan":
            plan = small.wb.read(e["spreadsheet"], [ip.plan_tab])[ip.plan_tab]
            mine = [r for r in plan[1:] if arabic(str(r[1] or "")).strip() == nid]
            assert not [r for r in mine if r[0] == fy]
            if e["row"] is not None:
                assert plan[e["row"] - 1][0] == fy - 1 and plan[e["row"] - 1][1] == nid
            continue
        row, value = small.cell(e)
        if e["kind"] == "thai_digits_id":
            assert any(c in THAI for c in value) and arabic(value) == nid
        elif e["kind"] == "extra_spaces":
            assert value != value.strip() or "  " in value
            if "เลข" in e["column"]:
                assert value.strip() == nid
        elif e["kind"] == "misspelt_unit_name":
            code = small.by_id[nid][small.sc.unit_code]
            person_unit = next(u for u in small.units if u[small.uc.code] == code)
            assert value != person_unit[small.uc.name] and value not in unit_names
            assert abs(len(value) - len(person_unit[small.uc.name])) <= 1
        elif e["kind"] == "prefix_stuck_to_name":
            assert row[small.sc.national_id] == nid and not row[small.sc.prefix]
            assert value.startswith(PREFIXES) and value not in PREFIXES
        elif e["kind"] == "duplicate_submission":
            ids = [arabic(str(r[3])).strip() for r in small.survey[1:e["row"] - 1]]
            assert arabic(str(row[small.s.sources.survey.columns.national_id])) == nid and nid in ids
        elif e["kind"] == "unknown_person":
            unknown = arabic(str(value)).strip()
            assert check_digit_ok(unknown) and unknown not in small.by_id
            name = next(v for k, v in row.items() if k.startswith("ชื่อ-นามสกุล"))
            assert name.replace(" ", "") not in all_full_names
        elif e["kind"] == "bad_id_name_match":
            assert not value
            person = small.by_id[nid]
            assert row[ip.record_columns.full_name] == small.full_name(person)
            assert e["spreadsheet"] == ip.key_for(person[small.sc.unit_code])
        elif e["kind"] == "bad_date":
            assert value == "ยังไม่ระบุ"
        elif e["kind"] == "duplicate_roster_id":
            others = [x for x in small.manifest["spoiled"] if x["kind"] == e["kind"] and x is not e]
            assert len(others) == 1 and arabic(str(value)) in (nid, others[0]["national_id"])
            if value != nid:  # the copier's row carries the owner's ID
                assert value == others[0]["national_id"]
        elif e["kind"] == "conflicted_person_row":
            typed = next(v for k, v in row.items() if k.startswith("เลขประจำตัวประชาชน"))
            assert arabic(str(typed)).strip() == nid
        elif e["kind"] == "email_only_survey":
            sv = small.s.sources.survey.columns
            assert value is None and row[sv.full_name] is None
            assert row[sv.email] == small.by_id[nid][small.sc.email]
        elif e["kind"] == "name_other_prefix":
            person = small.by_id[nid]
            assert not row[ip.record_columns.national_id]
            prefix = value.removesuffix(f"{person[small.sc.first_name]} {person[small.sc.last_name]}")
            assert prefix in PREFIXES + ("น.ส.",) and prefix != person[small.sc.prefix]
        elif e["kind"] == "id_match_other_name":
            person = small.by_id[nid]
            assert row[ip.plan_columns.national_id] == nid
            assert value.startswith(f"{person[small.sc.prefix]}{person[small.sc.first_name]} ")
            assert not value.endswith(person[small.sc.last_name])
        elif e["kind"] == "position_typed_otherwise":
            school = next(u[small.uc.name] for u in small.units if u[small.uc.code] == row[small.sc.unit_code])
            assert row[small.sc.national_id] == nid and value.replace(school, "{school}") in TYPED_POSITIONS
            if "standing cell left empty" in e["detail"]:
                assert not row[small.sc.standing]
            if "standing cell typed" in e["detail"]:
                assert f"standing cell typed '{row[small.sc.standing]}'" in e["detail"]
        elif e["kind"] == "unit_code_leftover":
            assert row[small.sc.national_id] == nid and value != typed_id(value)
            assert typed_id(value) in {u[small.uc.code] for u in small.schools()}
        elif e["kind"] == "id_sheet_leftover":
            assert value != nid and typed_id(value) == nid and (value.startswith("'") or value.endswith(".0"))
        elif e["kind"] == "unicode_name":
            person = small.by_id[nid]
            assert not next(v for k, v in row.items() if k.startswith("เลขประจำตัวประชาชน"))
            assert value != small.full_name(person) and keyboard_spelling(value) == small.full_name(person)
            if e["spreadsheet"] == small.s.sources.survey.spreadsheet:
                email = row[small.s.sources.survey.columns.email]
                assert email not in {p[small.sc.email] for p in small.staff}
        elif e["kind"] == "school_word_in_unit_name":
            code = small.by_id[nid][small.sc.unit_code]
            school = next(u[small.uc.name] for u in small.schools() if u[small.uc.code] == code)
            word = next(w for w in SCHOOL_WORDS if value.startswith(w))
            assert value.removeprefix(word).strip() == school
        elif e["kind"] == "date_as_text":
            true = datetime.strptime(re.search(r"\d{4}-\d{2}-\d{2}", e["detail"]).group(0), "%Y-%m-%d")
            typed, be = arabic(value), true.year + 543
            assert re.match(rf"{true.day}[ /]", typed) and (str(be) in typed or typed.endswith(f"/{be % 100:02d}"))
        elif e["kind"] == "other_answer_with_commas":
            typed = re.search(r"Other answer '(.+)' typed", e["detail"]).group(1)
            assert "," in typed and value.endswith(f", {typed}")
        elif e["kind"] == "title_typed_otherwise":
            person = small.by_id[nid]
            assert not next(v for k, v in row.items() if k.startswith("เลขประจำตัวประชาชน"))
            assert f"'{value}'" in e["detail"] and value != small.full_name(person)
            bare = f"{person[small.sc.first_name]} {person[small.sc.last_name]}"
            assert value.casefold().endswith(bare.casefold()) and value.casefold() != bare.casefold()
        elif e["kind"] == "sara_am_before_tone":
            assert re.search(f"\u0e33[{TONE}]", value)  # typed ำ, then the tone mark
            if e["column"] == small.s.sources.survey.columns.unit_name:
                code = small.by_id[nid][small.sc.unit_code]
                school = next(u[small.uc.name] for u in small.schools() if u[small.uc.code] == code)
                assert keyboard_spelling(value) == school
            else:
                assert keyboard_spelling(value) == small.full_name(small.by_id[nid])
        elif e["kind"] == "school_name_punctuation":
            code = small.by_id[nid][small.sc.unit_code]
            school = next(u[small.uc.name] for u in small.schools() if u[small.uc.code] == code)
            assert value != school and f"'{value}'" in e["detail"]
            bare = school.replace("(", "").replace(")", "").replace(" ", "")
            shown = value.removeprefix("ร.ร").removeprefix("โรงเรียน").strip().removesuffix(".")
            assert shown.replace("(", "").replace(")", "").replace(" ", "") == bare
        elif e["kind"] == "date_typed_otherwise":
            true = datetime.strptime(re.search(r"\d{4}-\d{2}-\d{2}", e["detail"]).group(0), "%Y-%m-%d")
            be = true.year + 543
            shapes = {
                f"วันที่ {true.day} เดือน{THAI_MONTHS[true.month - 1]} พ.ศ. {be}",
                f"{true.day} {ENGLISH_MONTHS[true.month - 1]} {true.year}",
                f"{true.day}-{THAI_SHORT_MONTHS[true.month - 1]}-{be % 100:02d}",
            }
            us = re.fullmatch(rf"{true.month}/{true.day}/{true.year} \d{{1,2}}:\d\d:\d\d", value)
            assert value in shapes or (us and true.day > 12), value
            if us:  # alone in its sheet: no other date typed as numbers, whose order it would make doubtful
                dates = [r[0] for r in small.wb.read(e["spreadsheet"], [e["tab"]])[e["tab"]][1:]]
                assert [d for d in dates if isinstance(d, str) and re.match(r"\d+/\d+/", d)] == [value]
        elif e["kind"] == "checkbox_trailing_separator":
            assert value.endswith(", ")
        elif e["kind"] == "empty_date":
            assert value is None
        elif e["kind"] == "cost_unreadable":
            assert isinstance(value, str) and parse_baht(value).problem and f"'{value}'" in e["detail"]
        elif e["kind"] == "funding_unknown":
            assert value and read_funding(value, funding_table()) == (value, False)
    assert set(seen) == KINDS
    assert seen["unknown_person"] % 2 == 0  # one survey row and one record row per stranger


# ---------------------------------------------------------------- default size
def test_default_size_matches_the_plan(full):
    c = full.manifest["counts"]
    assert c["schools"] == 165 and c["units"] == 166
    assert abs(c["classrooms"] - 1453) <= 145
    assert abs(c["students"] - 20018) <= 2000
    assert abs(c["staff"] - 1500) <= 150
    assert c["classrooms"] == sum(u[full.uc.classrooms] for u in full.schools())
    districts = Counter(u[full.uc.district] for u in full.schools())
    assert districts["หล่มสัก"] > districts["น้ำหนาว"] and districts["หล่มเก่า"] > districts["น้ำหนาว"]
    assert 0.2 <= Counter(u[full.uc.stem] for u in full.schools())["ใช่"] / 165 <= 0.4
    positions = Counter(p[full.sc.position] for p in full.staff)
    assert 0.06 <= positions["ครูผู้ช่วย"] / (positions["ครู"] + positions["ครูผู้ช่วย"]) <= 0.18


def test_default_rates_are_near_the_intended_ones(full):
    """Independent tally of the plan rows and done records of the fiscal year."""
    s, ip = full.s, full.s.sources.idplan
    fy = s.area.fiscal_year
    start, end = datetime(fy - 544, 10, 1), datetime(fy - 543, 10, 1)
    with_plan, kinds = set(), {}
    for u in full.units:
        key = ip.key_for(u[full.uc.code])
        tabs = full.wb.read(key, [ip.plan_tab, ip.record_tab])
        with_plan |= {typed_id(r[1]) for r in tabs[ip.plan_tab][1:] if r[0] == fy}
        rc = ip.record_columns
        for r in records(tabs[ip.record_tab]):
            when, nid = r[rc.date], typed_id(r[rc.national_id])
            if isinstance(when, datetime) and start <= when < end and r[rc.status] == "เสร็จสิ้น":
                kinds.setdefault(nid, set()).add(r[rc.kind])
    ids = list(full.by_id)
    assert 0.85 <= sum(i in with_plan for i in ids) / len(ids) <= 0.97
    training = {"อบรม", "ประชุมสัมมนา", "ศึกษาดูงาน"}
    trained = sum(bool(kinds.get(i, set()) & training) for i in ids) / len(ids)
    assert 0.75 <= trained <= 0.95
    assistants = [i for i, p in full.by_id.items() if p[full.sc.position] == "ครูผู้ช่วย"]
    assert 0.5 <= sum("TEPE Online" in kinds.get(i, ()) for i in assistants) / len(assistants) <= 0.9
    no_plan = {e["national_id"] for e in full.manifest["spoiled"] if e["kind"] == "no_id_plan"}
    assert no_plan == {i for i in ids if i not in with_plan}


def test_kinds_and_teacher_positions_come_from_the_config(settings, tmp_path):
    """Renamed in the vocabulary and the indicators file, the sample writes the new names."""
    indicators = (REPO / "config" / "indicators.toml").read_text(encoding="utf-8")
    indicators = indicators.replace('"TEPE Online"', '"ระบบ TEPE"').replace('"ครูผู้ช่วย"', '"ครูผู้ช่วย (คศ.0)"')
    (tmp_path / "indicators.toml").write_text(indicators, encoding="utf-8")
    kinds = [{"TEPE Online": "ระบบ TEPE", "อื่น ๆ": "อื่นๆ"}.get(k, k) for k in settings.vocabulary.development_kinds]
    changed = settings.model_copy(update={
        "vocabulary": settings.vocabulary.model_copy(update={"development_kinds": kinds}),
        "indicators": settings.indicators.model_copy(update={"file": tmp_path / "indicators.toml"}),
    })
    wb = LocalWorkbook(tmp_path / "sheets")
    generate_area(wb, changed, schools=8, seed=8)
    ip, sc = changed.sources.idplan, changed.sources.staff
    written = set()
    for key in wb.keys():
        if key.startswith("idplan-"):
            written |= {r[ip.record_columns.kind] for r in records(wb.read(key, [ip.record_tab])[ip.record_tab])}
    assert written <= set(kinds) and {"ระบบ TEPE", "อื่นๆ"} <= written
    positions = {p[sc.columns.position] for p in records(wb.read(sc.spreadsheet, [sc.tab])[sc.tab])}
    assert "ครูผู้ช่วย (คศ.0)" in positions and "ครูผู้ช่วย" not in positions
