"""The table of messy Thai values (tests/fixtures/thai_values.tsv), one case per row.

Expected values in the table come from Thai office conventions, not from
devplan's output. Valid national IDs are computed here, independently of
pipeline.thai, with the check-digit rule (11 − Σ dᵢ × (14 − i) mod 11) mod 10.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline import thai
from pipeline.normalize import Issues, PersonMatcher, normalize_staff, split_choices

TABLE = Path(__file__).resolve().parent / "fixtures" / "thai_values.tsv"
CATEGORIES = {
    "id", "prefix", "name-match", "unicode", "position", "date", "date-column", "fiscal-year",
    "code", "unit-code", "school", "checkbox",
}


def check_digit(first12: str) -> str:
    """Independent of pipeline.thai: weights 13 down to 2 over the first 12 digits."""
    total = sum(int(d) * (14 - i) for i, d in enumerate(first12, start=1))
    return str((11 - total % 11) % 10)


THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def _id(kind: str, first12: str) -> str:
    nid = first12 + check_digit(first12)
    if kind == "ID":
        return nid
    if kind == "ID-BAD":
        return nid[:12] + str((int(nid[12]) + 1) % 10)
    dashed = f"{nid[0]}-{nid[1:5]}-{nid[5:10]}-{nid[10:12]}-{nid[12]}"
    return {
        "ID-DASH": dashed,
        "ID-SPACE": dashed.replace("-", " "),
        "ID-THAI": nid.translate(THAI),
        "ID-THAI-DASH": dashed.translate(THAI),
        "ID-MIX": "".join(d.translate(THAI) if i % 2 else d for i, d in enumerate(nid)),
        "ID-SCI": f"{nid[0]}.{nid[1:]}E+12",
        "ID-SCI4": f"{nid[0]}.{nid[1:5]}E+12",
    }[kind]


def _text(raw: str) -> str:
    raw = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), raw)
    return re.sub(r"\{(ID[A-Z0-9-]*):(\d{12})\}", lambda m: _id(m.group(1), m.group(2)), raw)


def _cell(raw: str):
    """A cell as a spreadsheet gives it: text unless the table says another type."""
    text = _text(raw)
    kind, _, rest = text.partition(":")
    if kind == "float":
        return float(rest)
    if kind == "int":
        return int(rest)
    if kind == "date":
        return date.fromisoformat(rest)
    if kind == "datetime":
        return datetime.fromisoformat(rest)
    if kind == "nat":
        return pd.NaT  # how pandas gives an empty date cell
    return text


def _load():
    cases = []
    for number, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#") or line.startswith("category\t"):
            continue
        fields = line.split("\t")
        assert len(fields) == 5, f"line {number}: {len(fields)} fields"
        category, given, context, expected, why = fields
        assert category in CATEGORIES, f"line {number}: category {category!r}"
        assert why.strip(), f"line {number}: say why"
        cases.append(pytest.param(category, given, context, expected, id=f"{number}-{category}"))
    return cases


CASES = _load()


def _split_expected(expected: str) -> tuple[str | None, str | None]:
    """``value``, ``!reason`` or ``value!reason`` → (value or None, reason or None)."""
    value, bang, reason = _text(expected).partition("!")
    return (None if bang and not value else value), (reason if bang else None)


# --- a mini roster for name matching -------------------------------------------------------
ROSTER = {
    # key: (prefix cell, first-name cell, last name, unit)
    "R1": ("นางสาว", "นางนวล", "ทองดี", "U1"),
    "R2": ("นาย", "สมชาย", "ใจดี", "U1"),
    "R3": ("ว่าที่ร้อยตรีหญิง", "สมศรี", "มีสุข", "U1"),
    "R4": ("นาง", "สำราญ", "ชื่นใจ", "U2"),
    "R5": ("", "นายบุญมี", "แสงทอง", "U2"),
    "R6": ("นาง", "นวล", "ทองดี", "U2"),
    "R7": ("ดร.", "ปรีชา", "ชาญวิทย์", "U2"),
    "R8": ("", "นางนวล", "ศรีสุข", "U1"),
    "R9": ("Mrs.", "Jane", "Smith", "U1"),
    "R10": ("นาย", "สมชาย", "ใจดี", "U2"),
    "R11": ("จ่าสิบเอก", "ประยุทธ", "กล้าหาญ", "U1"),
    "R12": ("ดาบตำรวจ", "วิชัย", "รักษ์ไทย", "U2"),
    "R13": ("ผู้ช่วยศาสตราจารย์ ดร.", "สุภาพร", "วงศ์ใหญ่", "U1"),
    "R14": ("Mr.", "John", "Smith", "U2"),
    "R15": ("นางสาว", "น้ำฝน", "ค้ำชู", "U1"),
    "R16": ("ว่าที่ร้อยตรี", "อำนาจ", "ใจกล้า", "U2"),
    "R17": ("นางสาว", "พลอยไพลิน", "ศรีงาม", "U1"),
}


def _staff_frame(rows):
    columns = ["national_id", "prefix", "first_name", "last_name", "position", "standing",
               "unit_code", "work_group", "email", "_sheet", "_tab", "_row"]
    return pd.DataFrame(
        [[nid, prefix, first, last, "ครู", "", unit, "", "", "roster", "บุคลากร", i + 2]
         for i, (nid, prefix, first, last, unit) in enumerate(rows)],
        columns=columns,
    )


def _units(codes, smis=None):
    return pd.DataFrame({"code": list(codes), "smis": [smis or ""] * len(codes)})


def _roster_ids():
    return {key: _id("ID", f"{310000000000 + n * 97:012d}") for n, key in enumerate(ROSTER, start=1)}


@pytest.fixture(scope="module")
def matcher():
    ids = _roster_ids()
    raw = _staff_frame([(ids[k], *ROSTER[k]) for k in ROSTER])
    bad, notes = Issues(), Issues()
    staff = normalize_staff(raw, _units(["U1", "U2"]), "office", bad, notes)
    assert bad.rows == [] and len(staff) == len(ROSTER)
    return PersonMatcher(staff), {v: k for k, v in ids.items()}


# --- the table ----------------------------------------------------------------------------


@pytest.mark.parametrize("category, given, context, expected", CASES)
def test_thai_value(category, given, context, expected, matcher):
    value, reason = _split_expected(expected)
    cell = _cell(given)
    check = CHECKS[category]
    if category == "name-match":
        check(cell, _text(context), value, reason, matcher)
    else:
        check(cell, _text(context), value, reason)


def _check_id(cell, _context, value, reason):
    got = thai.normalize_national_id(cell)
    problem = thai.national_id_problem(cell)
    if reason is None:
        assert got == value and problem == ""
        assert value[-1] == check_digit(value[:12])
    else:
        assert problem and reason in problem, problem
        assert not thai.is_valid_national_id(got)


def _check_prefix(cell, context, value, reason):
    raw = _staff_frame([(_id("ID", "310120012345"), context, cell, "ทดสอบ", "U1")])
    notes = Issues()
    staff = normalize_staff(raw, _units(["U1"]), "office", Issues(), notes)
    prefix, first = value.split("|")
    assert (staff.loc[0, "prefix"], staff.loc[0, "first_name"]) == (prefix, first)
    split_notes = [n["reason"] for n in notes.rows if "แยกคำนำหน้า" in n["reason"]]
    assert bool(split_notes) == (first != " ".join(cell.split()))  # a repair is always noted


def _check_name_match(cell, context, value, reason, matcher):
    person_matcher, key_of = matcher
    sid, how = person_matcher.match("", cell, context)
    if reason is None:
        assert sid is not None, how
        assert key_of[sid] == value
    else:
        assert sid is None and reason in how, how


def _check_unicode(cell, _context, value, reason):
    assert thai.clean_text(cell) == value
    assert thai.clean_text(value) == value  # the roster's own spelling is already canonical


def _check_position(cell, context, value, reason):
    reading = thai.read_position(cell, context, thai.position_table())
    notes = " ".join(reading.notes)
    if value is not None:
        position, standing = value.split("|")
        assert (reading.position, reading.standing) == (position, standing)
    if reason is None:
        assert reading.known and reading.notes == ()
    else:
        assert reason in notes, notes


def _check_date(cell, context, value, reason, order=thai.DAY_FIRST):
    got = thai.parse_datetime(cell, order)
    if reason is None:
        assert got == datetime.fromisoformat(value)
    else:
        assert got is None
        assert reason in thai.date_problem(cell, order)


def _check_date_column(cell, context, value, reason):
    order = thai.date_order(context.split(" ; "))
    _check_date(cell, context, value, reason, order)


def _check_fiscal_year(cell, _context, value, reason):
    got = thai.parse_datetime(cell)
    assert got is not None
    assert thai.fiscal_year(got.date()) == int(value)
    start, end = thai.fiscal_year_bounds(int(value))
    assert start <= got.date() <= end


def _check_code(cell, _context, value, reason):
    assert thai.normalize_code(cell) == value


def _check_unit_code(cell, context, value, reason):
    raw = _staff_frame([(_id("ID", "310120012345"), "นาย", "สมชาย", "ใจดี", cell)])
    bad, notes = Issues(), Issues()
    staff = normalize_staff(raw, _units(["1067020003"], context), "office", bad, notes)
    if reason is None:
        assert list(staff["unit_code"]) == [value] and bad.rows == []
        if thai.is_smis_code(thai.normalize_code(cell)):
            assert any("SMIS" in n["reason"] for n in notes.rows)
    else:
        assert staff.empty
        assert len(bad.rows) == 1 and reason in bad.rows[0]["reason"]


def _check_school(cell, context, value, reason):
    same = thai.school_name_key(cell) == thai.school_name_key(context)
    assert same == (value == "same")


def _check_checkbox(cell, context, value, reason):
    options = [o for o in context.split(" | ") if o]
    expected = tuple(a for a in value.split(" | ") if a)
    assert split_choices(cell, options) == expected


CHECKS = {
    "id": _check_id, "prefix": _check_prefix, "name-match": _check_name_match,
    "unicode": _check_unicode, "position": _check_position, "date": _check_date,
    "date-column": _check_date_column, "fiscal-year": _check_fiscal_year, "code": _check_code,
    "unit-code": _check_unit_code, "school": _check_school, "checkbox": _check_checkbox,
}


def test_the_table_covers_every_category_with_enough_cases():
    counts = Counter(case.values[0] for case in CASES)
    assert set(counts) == CATEGORIES
    assert sum(counts.values()) >= 350
    assert min(counts.values()) >= 6
    # every category has at least one case whose right answer is "report it", except pure readings
    reported = Counter(case.values[0] for case in CASES if "!" in case.values[3])
    for category in ("id", "name-match", "position", "date", "date-column", "unit-code"):
        assert reported[category] >= 1, category


def test_the_id_helper_agrees_with_hand_worked_check_digits():
    # Worked by hand in tests/test_thai.py: 110170020345 → 0, 123456789012 → 1, 310010001000 → 1.
    assert [check_digit(x) for x in ("110170020345", "123456789012", "310010001000")] == ["0", "1", "1"]


# --- the same rules where the pipeline uses them --------------------------------------------

EXPORT = Path(__file__).resolve().parent / "fixtures" / "google-form-export-th.csv"


def _export_rows():
    import csv

    with EXPORT.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_us_locale_export_of_the_real_form_is_detected_and_read_right():
    rows = _export_rows()
    thai_locale = [r["ประทับเวลา"] for r in rows]
    # The same export from a US-locale sheet: month/day/year.
    us_locale = [re.sub(r"^(\d+)/(\d+)/", r"\2/\1/", t) for t in thai_locale]
    truth = [thai.parse_datetime(t) for t in thai_locale]
    assert thai.date_order(thai_locale) == thai.DAY_FIRST
    assert thai.date_order(us_locale) == thai.MONTH_FIRST
    # Read day-first, 98 of the 140 US-locale rows would silently give another real date.
    silently_wrong = [u for u, t in zip(us_locale, truth) if thai.parse_datetime(u) not in (t, None)]
    assert len(rows) == 140 and len(silently_wrong) == 98
    order = thai.date_order(us_locale)
    assert [thai.parse_datetime(u, order) for u in us_locale] == truth


def _records(rows):
    columns = ["date", "national_id", "full_name", "kind", "topic", "hours", "status", "evidence",
               "_sheet", "_tab", "_row", "_unit"]
    return pd.DataFrame(rows, columns=columns)


def test_record_dates_are_read_in_each_spreadsheets_own_order_and_ambiguous_ones_reported(demo_settings):
    from pipeline.normalize import normalize_records

    a = _id("ID", "310120012345")
    staff = pd.DataFrame([{"staff_id": a, "name_key": "สมศรี ใจดี", "unit_code": "U1"}])
    base = {"national_id": a, "full_name": "", "kind": "อบรม", "topic": "t", "hours": 6, "status": "เสร็จสิ้น",
            "evidence": "", "_tab": "บันทึกการพัฒนา", "_unit": "U1"}
    raw = _records([
        # school 1 exported from a US-locale sheet: 11/24 says month-first, so 3/4 is 4 March
        {**base, "date": "11/24/2026", "_sheet": "idplan-1", "_row": 2},
        {**base, "date": "3/4/2026", "_sheet": "idplan-1", "_row": 3},
        # school 2 is Thai-locale: 3/4/2569 is 3 April
        {**base, "date": "24/11/2569", "_sheet": "idplan-2", "_row": 2},
        {**base, "date": "3/4/2569", "_sheet": "idplan-2", "_row": 3},
        # school 3 has both orders: 5/6/2026 cannot be read without a guess
        {**base, "date": "24/11/2026", "_sheet": "idplan-3", "_row": 2},
        {**base, "date": "11/25/2026", "_sheet": "idplan-3", "_row": 3},
        {**base, "date": "5/6/2026", "_sheet": "idplan-3", "_row": 4},
    ])
    bad = Issues()
    records = normalize_records(raw, PersonMatcher(staff), demo_settings, bad, Issues())
    got = {(s, r): d for s, r, d in zip(records["_sheet"], records["_row"], records["date"])}
    assert got[("idplan-1", 3)] == date(2026, 3, 4)
    assert got[("idplan-2", 3)] == date(2026, 4, 3)
    assert got[("idplan-3", 2)] == got[("idplan-3", 3)] - (date(2026, 11, 25) - date(2026, 11, 24))
    assert [(r["_sheet"], r["_row"]) for r in bad.rows] == [("idplan-3", 4)]
    assert "อ่านได้ทั้ง 5 มิถุนายน และ 6 พฤษภาคม" in bad.rows[0]["reason"]


def test_survey_titles_school_words_and_unreadable_timestamps(demo_settings):
    from pipeline.normalize import normalize_survey

    a, b = _id("ID", "310120012345"), _id("ID", "110170020345")
    raw_staff = _staff_frame([(a, "นางสาว", "นางนวล", "ทองดี", "U1"), (b, "นาง", "ส\u0e4d\u0e32ราญ", "ชื่นใจ", "U1")])
    staff = normalize_staff(raw_staff, _units(["U1"]), "office", Issues(), Issues())
    units = pd.DataFrame([{"code": "U1", "name": "บ้านหนองไผ่"}])
    base = {"national_id": "", "topics": "การนิเทศภายใน", "methods": "อบรม", "_sheet": "s", "_tab": "t"}
    raw = pd.DataFrame([
        {**base, "timestamp": "24/11/2026, 09:00:00", "full_name": "นางสาวนางนวล ทองดี", "unit_name": "ร.ร.บ้านหนองไผ่", "_row": 2},
        {**base, "timestamp": "ยังไม่ระบุ", "full_name": "นางสำราญ  ช\u0e48\u0e37นใจ", "unit_name": "โรงเรียน บ้านหนองไผ่", "_row": 3},
    ])
    bad, notes = Issues(), Issues()
    survey = normalize_survey(raw, PersonMatcher(staff), units, demo_settings, bad, notes)
    assert bad.rows == []
    assert sorted(survey["staff_id"]) == sorted([a, b])
    reasons = [(n["_row"], n["reason"]) for n in notes.rows]
    assert not any(r.startswith("ชื่อหน่วยงานที่กรอก") for _, r in reasons)  # ร.ร./โรงเรียน are not a different school
    assert any(row == 3 and r.startswith("ประทับเวลาอ่านไม่ได้") for row, r in reasons)  # reported, not silent


def test_an_unknown_roster_position_is_noted_with_the_value_and_where_to_add_it():
    raw = _staff_frame([(_id("ID", "310120012345"), "นาย", "สมชาย", "ใจดี", "U1")])
    raw.loc[0, "position"] = "ครูอัตราจ้าง"
    notes = Issues()
    staff = normalize_staff(raw, _units(["U1"]), "office", Issues(), notes)
    assert staff.loc[0, "position"] == "ครูอัตราจ้าง"  # kept as typed, not counted as ครู
    (note,) = notes.rows
    assert "'ครูอัตราจ้าง'" in note["reason"] and "[vocabulary.positions]" in note["reason"]
    assert "สมชาย ใจดี" in note["value"] and not re.search(r"\d{13}", note["value"])


def test_a_config_alias_is_used_and_built_in_names_need_no_config(tmp_path):
    from pipeline.config import load_settings
    from tests.conftest import write_config

    section = '[vocabulary.positions]\n"ครูผู้ช่วย" = ["ครูผู้ช่วย (ตำแหน่งครูผู้ช่วย)"]\n"ผู้อำนวยการสำนักงานเขตพื้นที่การศึกษา" = ["ผอ.สพป.เพชรบูรณ์ เขต 2"]\n'
    without = load_settings(write_config(tmp_path, **{section: ""}))
    assert without.vocabulary.positions == {}
    assert thai.read_position("ครู คศ.3", "", thai.position_table(without.vocabulary.positions)).position == "ครู"
    extra = load_settings(write_config(tmp_path, **{section: '[vocabulary.positions]\n"ครู" = ["ครูพี่เลี้ยง"]\n'}))
    table = thai.position_table(extra.vocabulary.positions)
    reading = thai.read_position("ครูพี่เลี้ยง ชำนาญการ", "", table)
    assert (reading.position, reading.standing) == ("ครู", "ชำนาญการ")
    assert thai.read_position("ครูผู้ช่วย", "", table).position == "ครูผู้ช่วย"  # built-ins kept


def test_one_alias_under_two_positions_is_a_config_error(tmp_path):
    from pipeline.config import load_settings
    from pipeline.errors import ConfigError
    from tests.conftest import write_config

    section = '[vocabulary.positions]\n"ครูผู้ช่วย" = ["ครูผู้ช่วย (ตำแหน่งครูผู้ช่วย)"]\n'
    clash = '[vocabulary.positions]\n"ครูผู้ช่วย" = ["ครู ผช."]\n"ครู" = ["ครู  ผช"]\n'
    with pytest.raises(ConfigError, match="อยู่ทั้งในตำแหน่ง"):
        load_settings(write_config(tmp_path, **{section: clash}))


def test_indicator_populations_name_canonical_positions():
    import tomllib

    from tests.conftest import REPO

    canonical = set(thai.DEFAULT_POSITIONS)
    data = tomllib.loads((REPO / "config" / "indicators.toml").read_text(encoding="utf-8"))
    named = {p for ind in data["indicator"] for p in ind.get("population", {}).get("positions", [])}
    assert named == {thai.TEACHER, thai.ASSISTANT_TEACHER} and named <= canonical


def test_roster_positions_typed_with_ranks_and_spaces_count_like_the_canonical_names(config_file):
    """The hand-built area with its teachers' positions typed as offices type them: same figures."""
    from pipeline.config import load_settings
    from pipeline.sync import run_sync
    from pipeline.workbook.local import LocalWorkbook
    from tests import hand_area

    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    src = settings.sources.staff
    rows = book.read(src.spreadsheet, [src.tab])[src.tab]
    head = rows[0]
    at = {c: head.index(getattr(src.columns, c)) for c in ("national_id", "position", "standing")}
    typed = {  # key → (position cell, standing cell)
        "A2": ("ครู คศ.2", ""), "A3": ("ครู ผู้ช่วย", ""), "A4": ("ครูชำนาญการพิเศษ", ""),
        "B2": ("ครู", "คศ.3"), "B3": ("ครู\u00a0ผู้ช่วย", ""), "O1": ("ศึกษานิเทศก์ชำนาญการพิเศษ", ""),
        "A1": ("ผอ.โรงเรียน", ""),
    }
    by_id = {hand_area.nid(k): v for k, v in typed.items()}
    for row in rows[1:]:
        if row[at["national_id"]] in by_id:
            row[at["position"]], row[at["standing"]] = by_id[row[at["national_id"]]]
    book.write(src.spreadsheet, {src.tab: rows})
    run = run_sync(settings)
    area = {r.id: (r.met, r.population) for r in run.area.indicators}
    # Same as tests/test_end_to_end.py: classroom research 2/5, TEPE Online 1/2.
    assert area["classroom_research"] == (2, 5) and area["tepe_online"] == (1, 2)
    staff = run.data.staff.set_index("staff_id")
    assert staff.loc[hand_area.nid("A4"), "standing"] == "ชำนาญการพิเศษ"
    assert staff.loc[hand_area.nid("B2"), "standing"] == "ชำนาญการพิเศษ"
    assert staff.loc[hand_area.nid("A2"), "standing"] == "ชำนาญการ"
    assert not any("ไม่รู้จัก" in r for r in run.data.notes["reason"])


def test_ids_a_spreadsheet_mangled_are_masked_in_text_people_read():
    nid = _id("ID", "310120012345")
    text = f"ไม่พบ {nid[0]}.{nid[1:]}E+12 และ {nid}0 และ {nid}.0"
    masked = thai.mask_ids_in_text(text)
    assert nid not in masked and nid[1:] not in masked and "x-xxxx-xxxxx" in masked
