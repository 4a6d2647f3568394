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
    assert sum(counts.values()) >= 150
    assert min(counts.values()) >= 6
    # every category has at least one case whose right answer is "report it", except pure readings
    reported = Counter(case.values[0] for case in CASES if "!" in case.values[3])
    for category in ("id", "name-match", "position", "date", "date-column", "unit-code"):
        assert reported[category] >= 1, category


def test_the_id_helper_agrees_with_hand_worked_check_digits():
    # Worked by hand in tests/test_thai.py: 110170020345 → 0, 123456789012 → 1, 310010001000 → 1.
    assert [check_digit(x) for x in ("110170020345", "123456789012", "310010001000")] == ["0", "1", "1"]
