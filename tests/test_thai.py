"""Thai values: digits, national IDs, names, fiscal years and dates."""

from __future__ import annotations

import csv
from datetime import date, datetime

import pytest

from pipeline import thai, titles
from tests.conftest import REFERENCE as REFERENCE_DIR
from tests.conftest import make_id


@pytest.mark.parametrize(
    "first12, check",
    [
        # Worked by hand: Σ d_i × (14 − i) for i = 1..12, then (11 − Σ mod 11) mod 10.
        ("110170020345", 0),  # 13+12+0+10+63+0+0+12+0+12+12+10 = 144; 144 mod 11 = 1; 10 mod 10 = 0
        ("123456789012", 1),  # 13+24+33+40+45+48+49+48+45+0+3+4 = 352; 352 mod 11 = 0; 11 mod 10 = 1
        ("310010001000", 1),  # 39+12+0+0+9+0+0+0+5+0+0+0 = 65; 65 mod 11 = 10; 1
    ],
)
def test_check_digit_by_hand(first12, check):
    assert thai.national_id_check_digit(first12) == check
    assert thai.is_valid_national_id(first12 + str(check))
    assert not thai.is_valid_national_id(first12 + str((check + 1) % 10))


def test_ids_from_the_independent_test_helper_validate():
    for seed in range(200):
        assert thai.is_valid_national_id(make_id(seed))


def test_id_normalization_accepts_thai_digits_dashes_and_spaces():
    nid = make_id(7)
    typed = " " + thai.to_thai_digits(f"{nid[0]}-{nid[1:5]}-{nid[5:10]}-{nid[10:12]}-{nid[12]}") + "  "
    assert thai.normalize_national_id(typed) == nid
    assert thai.normalize_national_id(float(nid)) == nid  # a sheet that stored the ID as a number
    assert thai.normalize_national_id(None) == ""


def test_mask_shows_only_the_last_three_digits():
    assert thai.mask_national_id("1234567890121") == "x-xxxx-xxxxx-12-1"
    assert thai.mask_national_id("12345") == "x-xxxx-xxxxx-xx-x"


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("นางสาวสมศรี", ("นางสาว", "สมศรี")),
        ("นางสมศรี", ("นาง", "สมศรี")),
        ("ว่าที่ร้อยตรีสมชาย", ("ว่าที่ร้อยตรี", "สมชาย")),
        ("  นายสมชาย ", ("นาย", "สมชาย")),
        ("สมชาย", ("", "สมชาย")),
        ("นาย", ("", "นาย")),  # a bare title is not split into nothing
    ],
)
def test_split_prefix(typed, expected):
    assert thai.split_prefix(typed) == expected


def test_name_key_ignores_titles_and_spacing():
    assert thai.name_key("นางสาวสมศรี", " ใจดี ") == thai.name_key("สมศรี", "ใจดี") == "สมศรี ใจดี"


@pytest.mark.parametrize(
    "day, fy",
    [
        (date(2018, 9, 30), 2561),
        (date(2018, 10, 1), 2562),
        (date(2019, 9, 30), 2562),
        (date(2019, 10, 1), 2563),
        (date(2026, 11, 24), 2570),
    ],
)
def test_fiscal_year_boundaries(day, fy):
    assert thai.fiscal_year(day) == fy


def test_fiscal_year_bounds():
    assert thai.fiscal_year_bounds(2562) == (date(2018, 10, 1), date(2019, 9, 30))


@pytest.mark.parametrize(
    "value, expected",
    [
        ("4/8/2021, 18:34:26", datetime(2021, 8, 4, 18, 34, 26)),  # Forms: D/M/YYYY
        ("15/3/2562", datetime(2019, 3, 15)),                     # Buddhist era
        ("๑๕/๓/๒๕๖๒", datetime(2019, 3, 15)),                     # Thai digits
        ("2019-03-15", datetime(2019, 3, 15)),
        (43539, datetime(2019, 3, 15)),                            # serial: days since 1899-12-30
        (43539.5, datetime(2019, 3, 15, 12)),
        (datetime(2562, 3, 15), datetime(2019, 3, 15)),            # a BE year stored as a date
        (date(2019, 3, 15), datetime(2019, 3, 15)),
        ("ยังไม่ระบุ", None),
        ("31/2/2019", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_datetime(value, expected):
    assert thai.parse_datetime(value) == expected


def test_every_timestamp_of_the_real_form_export_parses():
    with (REFERENCE_DIR / "google-form-export-th.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 140
    stamps = [thai.parse_datetime(r["ประทับเวลา"]) for r in rows]
    assert all(s is not None for s in stamps)
    # The export's first row is "4/8/2021, 18:34:26" (4 August, day first).
    assert stamps[0] == datetime(2021, 8, 4, 18, 34, 26)
    assert stamps == sorted(stamps)  # Forms writes responses in arrival order


def test_thai_date():
    assert thai.thai_date(date(2019, 3, 15)) == "15 มีนาคม 2562"


def test_ids_inside_free_text_are_masked():
    nid = make_id(3)
    thai_typed = thai.to_thai_digits(f"{nid[0]}-{nid[1:5]}-{nid[5:10]}-{nid[10:12]}-{nid[12]}")
    text = f"ไม่พบ '{nid}' และ '{thai_typed}' โทร 0812345678 รหัส 1067020001"
    masked = f"x-xxxx-xxxxx-{nid[10:12]}-{nid[12]}"
    # Any run of 9+ digits could be a mistyped ID, so a phone number is masked too; a unit
    # code the roster knows (keep) is not.
    assert thai.mask_ids_in_text(text, keep={"1067020001"}) == (
        f"ไม่พบ '{masked}' และ '{masked}' โทร xxxxxxx678 รหัส 1067020001"
    )


# Every rank, written out and abbreviated as the conventions write it, is a title: built here from
# pipeline.titles' list with plain string operations, so a rank missing from the pattern shows.
def _rank_spellings(full: str, abbr: str) -> list[tuple[str, str]]:
    """(typed before the name, the title devplan should report) for one rank."""
    typed = [(full, full), (f"{full}หญิง", f"{full}หญิง"), (f"ว่าที่{full}", f"ว่าที่{full}"),
             (f"{full} ", full)]
    if abbr and "." in abbr:
        squeezed = abbr.replace(".", "") + "."  # จสอ.
        typed += [(abbr, abbr), (squeezed, squeezed), (f"{abbr[:-1]} ", abbr[:-1]),  # จ.ส.อ สมชาย
                  (f"{abbr}หญิง", f"{abbr}หญิง"), (f"{abbr}ญ.", f"{abbr}ญ."), (f"{abbr}(หญิง)", f"{abbr}(หญิง)"),
                  (f"ว่าที่ {abbr} ", f"ว่าที่{abbr}")]
    return typed


@pytest.mark.parametrize("full, abbr", titles.RANKS, ids=[full for full, _ in titles.RANKS])
def test_every_rank_is_a_title_written_out_or_abbreviated(full, abbr):
    for typed, title in _rank_spellings(full, abbr):
        assert thai.strip_prefixes(f"{typed}สมชาย") == ([title], "สมชาย"), typed
        assert thai.name_forms(f"{typed}สมชาย ใจดี")[0] == "สมชาย ใจดี", typed
    if abbr and "." in abbr:  # without any dot and glued to the name, the letters may be the name's own
        assert thai.strip_prefixes(abbr.replace(".", "") + "สมชาย") == ([], abbr.replace(".", "") + "สมชาย")


@pytest.mark.parametrize("full, abbr", titles.ACADEMIC)
def test_academic_titles_stack_with_the_doctor_title(full, abbr):
    for typed, found in [(f"{abbr}ดร.", [abbr, "ดร."]), (f"{full} ดร.", [full, "ดร."]), (f"{abbr} ", [abbr])]:
        assert thai.strip_prefixes(f"{typed}สุภาพร") == (found, "สุภาพร"), typed


@pytest.mark.parametrize(
    "name",
    # first names that begin like a title: not split when glued (a vowel follows, or no dot or space)
    ["นายิกา", "นางนวล", "พลอยไพลิน", "สิบทิศ", "เรืองศักดิ์", "พันธ์ทิพย์", "นาวิน", "จอมขวัญ", "Missy", "Drew"],
)
def test_names_that_begin_like_a_title_stay_whole(name):
    assert thai.strip_prefixes(name) == ([], name)
