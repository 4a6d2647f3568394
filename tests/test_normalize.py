"""Normalizer pieces on tiny frames and on the real Google Form export."""

from __future__ import annotations

import csv

import pandas as pd

from pipeline.normalize import Issues, PersonMatcher, normalize_survey, split_choices
from pipeline.thai import to_thai_digits
from tests.conftest import REFERENCE as REFERENCE_DIR
from tests.conftest import make_id

REFERENCE = REFERENCE_DIR / "google-form-export-th.csv"

# The four options of the export's question 3, copied from the form. Two contain ", ".
LEVELS = [
    "Level 0 (ไม่มีความรู้เลย คืนครูคณิตม.ปลายไปหมดแล้ว)",
    "Level 1 (พอจำได้เรื่องการหาค่ากลางได้เช่น Average, Median, mode)",
    "Level 2 (พอจำ concept จากม.ปลายได้เช่น s.d., z-score, normal distribution, variance)",
    "Level 3 (จำได้ดี ถ้ามีสูตรมาสามารถคำนวณหาค่าได้ทันที)",
]


def _reference_rows():
    with REFERENCE.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_options_containing_commas_stay_whole_in_the_real_export():
    column = next(c for c in _reference_rows()[0] if c.startswith("3."))
    answers = [split_choices(r[column], LEVELS) for r in _reference_rows()]
    assert all(len(a) == 1 and a[0] in LEVELS for a in answers)
    # Counted by hand-written exact comparison, a second method: 74 / 46 / 16 / 4.
    counts = {level: sum(1 for r in _reference_rows() if r[column] == level) for level in LEVELS}
    assert [sum(1 for a in answers if a == (level,)) for level in LEVELS] == [counts[level] for level in LEVELS]
    assert counts[LEVELS[2]] == 16


def test_checkbox_answers_without_known_options_split_only_where_forms_joins():
    # Forms joins checked answers with ", "; a bare comma was typed by the person
    # (into "Other"), so "JPAN,KPOP" is one answer, not two.
    answers = {}
    for row in _reference_rows():
        typed = row["แนวเพลงที่ชอบฟัง"]
        # One respondent typed two sara e (เเ) for sara ae (แ): read as the same letter.
        expected = tuple(part.strip().replace("เเ", "แ") for part in typed.split(", ") if part.strip())
        answers[typed] = split_choices(typed, [])
        assert answers[typed] == expected
    assert answers["JPAN,KPOP"] == ("JPAN,KPOP",)
    assert answers["Pop, Rock, Musical, hip hop,Electronic"][-1] == "hip hop,Electronic"


def test_what_is_left_after_the_known_options_is_one_other_answer():
    options = ["Pop", "Rock", "Classic", "Jazz"]
    # the Other text "R&B, pop rock,Electronic" contains ", " yet is one answer
    assert split_choices("Pop, Rock, R&B, pop rock,Electronic", options) == ("Pop", "Rock", "R&B, pop rock,Electronic")
    assert split_choices("PLC, Coaching,Mentoring", ["PLC", "อบรม"]) == ("PLC", "Coaching,Mentoring")
    # spelling differences in the known options do not make them "Other"
    assert split_choices("pop, ROCK", options) == ("Pop", "Rock")


def test_known_option_with_comma_among_other_answers():
    options = ["การวัดและประเมินผล (O-NET, NT, RT)", "การวิจัยในชั้นเรียน", "อื่น ๆ"]
    typed = "การวิจัยในชั้นเรียน, การวัดและประเมินผล (O-NET, NT, RT), งานที่ไม่มีในรายการ"
    assert split_choices(typed, options) == (
        "การวิจัยในชั้นเรียน", "การวัดและประเมินผล (O-NET, NT, RT)", "งานที่ไม่มีในรายการ",
    )
    assert split_choices("", options) == ()
    assert split_choices(None, options) == ()


def _staff(rows):
    return pd.DataFrame(rows, columns=["staff_id", "name_key", "unit_code"])


def test_matcher_by_id_then_by_name_within_the_unit():
    a, b, c = make_id(1), make_id(2), make_id(3)
    staff = _staff([(a, "สมศรี ใจดี", "U1"), (b, "สมศรี ใจดี", "U2"), (c, "สมชาย กล้าหาญ", "U1")])
    matcher = PersonMatcher(staff)
    assert matcher.match(to_thai_digits(a), "ใครก็ได้") == (a, "id")
    assert matcher.match(f" {a[:1]}-{a[1:5]} {a[5:]} ", "") == (a, "id")
    # Same name in two units: the unit decides.
    assert matcher.match("", "นางสาวสมศรี ใจดี", "U2") == (b, "name")
    # ...and without a unit it is ambiguous, so nothing is guessed.
    sid, why = matcher.match("", "นางสาวสมศรี ใจดี")
    assert sid is None and "ซ้ำกันหลายคน" in why
    assert matcher.match("", "นายสมชาย  กล้าหาญ") == (c, "name")
    sid, why = matcher.match("1234567890123", "ไม่มี คนนี้")
    assert sid is None and "ไม่ถูกต้อง" in why


def test_survey_keeps_each_persons_latest_answer_even_out_of_order(demo_settings):
    a = make_id(1)
    staff = pd.DataFrame(
        [{"staff_id": a, "name_key": "สมศรี ใจดี", "unit_code": "U1"}]
    )
    units = pd.DataFrame([{"code": "U1", "name": "บ้านหนึ่ง"}])
    raw = pd.DataFrame(
        [
            # row 2 is the later answer although it comes first in the sheet
            {"timestamp": "20/12/2018, 09:00:00", "full_name": "สมศรี ใจดี", "national_id": a,
             "unit_name": "บ้านหนึ่ง", "topics": "การนิเทศภายใน", "methods": "อบรม",
             "_sheet": "s", "_tab": "t", "_row": 2},
            {"timestamp": "1/12/2018, 09:00:00", "full_name": "สมศรี ใจดี", "national_id": a,
             "unit_name": "บ้านหนึง", "topics": "การวิจัยในชั้นเรียน", "methods": "อบรม",
             "_sheet": "s", "_tab": "t", "_row": 3},
        ]
    )
    bad, notes = Issues(), Issues()
    survey = normalize_survey(raw, PersonMatcher(staff), units, demo_settings, bad, notes)
    assert list(survey["topics"]) == [("การนิเทศภายใน",)]
    reasons = {(r["_row"], r["reason"].split(" ")[0]) for r in notes.rows}
    assert (3, "ส่งแบบสำรวจซ้ำ") in reasons            # the superseded answer is kept as a note
    assert any("ไม่ตรงกับทะเบียน" in r["reason"] and r["_row"] == 3 for r in notes.rows)  # misspelt unit
    assert bad.rows == []


def test_an_unreadable_timestamp_loses_to_a_dated_answer(demo_settings):
    a = make_id(1)
    staff = pd.DataFrame([{"staff_id": a, "name_key": "สมศรี ใจดี", "unit_code": "U1"}])
    units = pd.DataFrame([{"code": "U1", "name": "บ้านหนึ่ง"}])
    base = {"full_name": "สมศรี ใจดี", "national_id": a, "unit_name": "บ้านหนึ่ง", "methods": "", "_sheet": "s", "_tab": "t"}
    raw = pd.DataFrame(
        [
            {**base, "timestamp": "1/12/2018, 09:00:00", "topics": "การนิเทศภายใน", "_row": 2},
            {**base, "timestamp": "ไม่ทราบ", "topics": "การวิจัยในชั้นเรียน", "_row": 3},
        ]
    )
    survey = normalize_survey(raw, PersonMatcher(staff), units, demo_settings, Issues(), Issues())
    assert list(survey["topics"]) == [("การนิเทศภายใน",)]


def test_a_status_devplan_does_not_know_counts_as_not_done_and_is_noted(demo_settings):
    from pipeline.normalize import normalize_records

    a = make_id(1)
    matcher = PersonMatcher(_staff([(a, "สมศรี ใจดี", "U1")]))
    statuses = ["เสร็จสิ้น", "กำลังดำเนินการ", "เสร็จแล้ว", ""]
    raw = pd.DataFrame(
        [
            {"date": "15/3/2562", "national_id": a, "full_name": "สมศรี ใจดี", "kind": "อบรม", "topic": "x",
             "hours": 6, "status": status, "evidence": "", "_sheet": "idplan-U1", "_tab": "บันทึกการพัฒนา",
             "_row": row, "_unit": "U1"}
            for row, status in enumerate(statuses, start=2)
        ],
        dtype=object,
    )
    bad, notes = Issues(), Issues()
    records = normalize_records(raw, matcher, demo_settings, bad, notes)
    # only the configured done status counts as done; nothing is dropped
    assert list(records["done"]) == [True, False, False, False]
    noted = {r["_row"]: r["reason"] for r in notes.rows}
    assert set(noted) == {4, 5}  # "เสร็จแล้ว" and the empty status; a known "not done" status is not noted
    assert "'เสร็จแล้ว'" in noted[4] and "vocabulary.done_statuses" in noted[4]
    assert "ไม่ได้กรอกสถานะ" in noted[5]
    assert bad.rows == []


def test_a_stem_answer_that_is_neither_yes_nor_no_is_noted():
    from pipeline.normalize import normalize_units

    raw = pd.DataFrame(
        [
            {"code": f"106702000{n}", "name": f"โรงเรียน {n}", "kind": "โรงเรียน", "district": "หล่มสัก",
             "director_email": "a@b.c", "stem": stem, "_sheet": "roster", "_tab": "หน่วยงาน", "_row": n + 1}
            for n, stem in enumerate(["ใช่", "ไม่ใช่", "", "กำลังเริ่ม"], start=1)
        ],
        dtype=object,
    )
    bad, notes = Issues(), Issues()
    units = normalize_units(raw, "pbn2", bad, notes)
    assert list(units["stem"]) == [True, False, False, False]
    assert [r["_row"] for r in notes.rows] == [5] and "'กำลังเริ่ม'" in notes.rows[0]["reason"]
    assert bad.rows == []


def test_a_name_match_note_says_whether_the_id_was_blank_or_wrong():
    from pipeline.normalize import normalize_plans

    a = make_id(1)
    matcher = PersonMatcher(_staff([(a, "สมศรี ใจดี", "U1")]))
    raw = pd.DataFrame(
        [
            {"fiscal_year": 2562, "national_id": typed, "full_name": "สมศรี ใจดี", "topic": "x", "method": "",
             "period": "", "hours": 6, "_sheet": "idplan-U1", "_tab": "แผนพัฒนาตนเอง", "_row": row, "_unit": "U1"}
            for row, typed in ((2, ""), (3, "1111111111111"))
        ],
        dtype=object,
    )
    bad, notes = Issues(), Issues()
    plans = normalize_plans(raw, matcher, bad, notes)
    assert list(plans["staff_id"]) == [a, a]
    reasons = {r["_row"]: r["reason"] for r in notes.rows}
    assert "ไม่ได้กรอกเลขประจำตัวประชาชน" in reasons[2]
    assert "ไม่ตรงกับทะเบียน" in reasons[3]


def test_frame_rows_are_pandas_records_on_odd_values():
    """``frame_rows`` is ``to_dict("records")`` made faster: the same values of the same types, on what a
    sheet or a normalizer leaves in a frame (numpy scalars inside object columns, pd.NA, NaN, NaT, dates,
    tuples, a CellError) and on typed columns (int, float, bool, datetime, pandas' str, nullable, categorical,
    timedelta), and on no rows at all."""
    from datetime import date, datetime

    import numpy as np

    from decimal import Decimal

    from pipeline.normalize import frame_rows
    from pipeline.workbook import CellError

    class Kind(str):  # subclasses of Python's own types, as a library might hand back
        pass

    class Whole(int):
        pass

    class Part(float):
        pass

    odd = [
        "ครู", 3, 2.5, True, None, float("nan"), np.int64(7), np.float64(1.5), np.bool_(False), pd.NA, pd.NaT,
        np.datetime64("2019-01-02"), datetime(2019, 1, 2, 3, 4), date(2019, 1, 2), ("a", "b"), CellError("#N/A", "A1"),
        np.timedelta64(3, "h"), np.datetime64("NaT"), np.str_("ครู"), np.int8(-1), np.uint64(2**63), np.float32(0.1),
        Decimal("1.10"), Kind("ครู"), Whole(3), Part(2.5), -0.0, float("inf"),
    ]
    frame = pd.DataFrame({
        "mixed": pd.Series(odd, dtype=object), "text": [f"r{i}" for i in range(len(odd))], "n": range(len(odd)),
        "x": np.linspace(0, 1, len(odd)), "flag": [i % 2 == 0 for i in range(len(odd))],
        "when": pd.date_range("2019-01-01", periods=len(odd)),
        "str": pd.Series((["ครู", None, "a", float("nan"), pd.NA, ""] * len(odd))[:len(odd)]).astype("str"),
        "maybe": pd.array(([1, None] * len(odd))[:len(odd)], dtype="Int64"),
        "kind": pd.Categorical((["a", "b"] * len(odd))[:len(odd)]), "span": pd.to_timedelta(range(len(odd)), unit="h"),
        "flags": pd.array(([True, None] * len(odd))[:len(odd)], dtype="boolean"),
    })
    for part in (frame, frame.iloc[3:9], frame.iloc[0:0], frame[["mixed"]]):
        expected, got = part.to_dict("records"), frame_rows(part)
        assert [{k: repr(v) for k, v in row.items()} for row in got] == [{k: repr(v) for k, v in row.items()} for row in expected]
        assert [{k: type(v) for k, v in row.items()} for row in got] == [{k: type(v) for k, v in row.items()} for row in expected]
