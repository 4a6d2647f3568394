"""Person matching: roster ID conflicts, names that differ, survey identity, corrections tab.

Every expectation is worked out by hand from the few rows each test builds.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipeline.collect import Collected
from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.normalize import (
    Issues,
    PersonMatcher,
    edit_distance,
    normalize,
    normalize_staff,
    normalize_survey,
    same_name,
)
from tests.conftest import make_id, write_config

U1, U2 = "1067000001", "1067000002"
X, Y, Z, W = make_id(21), make_id(22), make_id(23), make_id(24)
ID13 = re.compile(r"(?<!\d)\d{13}(?!\d)")


def masked(nid: str) -> str:
    return f"x-xxxx-xxxxx-{nid[10:12]}-{nid[12]}"


# ---------------------------------------------------------------- frames built by hand
def units_frame():
    return pd.DataFrame(
        [
            {"code": U1, "name": "บ้านหนึ่ง", "kind": "โรงเรียน", "district": "หล่มสัก", "director_email": "",
             "stem": "ไม่ใช่", "_sheet": "roster", "_tab": "หน่วยงาน", "_row": 2},
            {"code": U2, "name": "บ้านสอง", "kind": "โรงเรียน", "district": "หล่มสัก", "director_email": "",
             "stem": "ไม่ใช่", "_sheet": "roster", "_tab": "หน่วยงาน", "_row": 3},
        ]
    )


def staff_frame(rows):
    """rows: (national_id, prefix, first, last, unit, email); sheet rows numbered from 2."""
    return pd.DataFrame(
        [
            {"national_id": nid, "prefix": prefix, "first_name": first, "last_name": last, "position": "ครู",
             "unit_code": unit, "email": email, "_sheet": "roster", "_tab": "บุคลากร", "_row": number}
            for number, (nid, prefix, first, last, unit, email) in enumerate(rows, start=2)
        ]
    )


def survey_frame(rows):
    """rows: dicts of survey fields; sheet rows numbered from 2."""
    return pd.DataFrame(
        [
            {"timestamp": f"{number}/11/2018, 09:00:00", "topics": "การนิเทศภายใน", **row,
             "_sheet": "needs-survey", "_tab": "การตอบแบบฟอร์ม 1", "_row": number}
            for number, row in enumerate(rows, start=2)
        ]
    )


def plan_frame(rows, unit=U1):
    """rows: (national_id, full name)."""
    return pd.DataFrame(
        [
            {"fiscal_year": 2562, "national_id": nid, "full_name": name, "topic": "หัวข้อ",
             "_sheet": f"idplan-{unit}", "_tab": "แผนพัฒนาตนเอง", "_row": number, "_unit": unit}
            for number, (nid, name) in enumerate(rows, start=2)
        ]
    )


def record_frame(rows, unit=U1):
    """rows: (national_id, full name)."""
    return pd.DataFrame(
        [
            {"date": "1/3/2562", "national_id": nid, "full_name": name, "kind": "อบรม", "topic": "หัวข้อ",
             "status": "เสร็จสิ้น", "_sheet": f"idplan-{unit}", "_tab": "บันทึกการพัฒนา", "_row": number,
             "_unit": unit}
            for number, (nid, name) in enumerate(rows, start=2)
        ]
    )


def overrides_frame(rows):
    """rows: dicts of override fields; sheet rows numbered from 2."""
    return pd.DataFrame(
        [{**row, "_sheet": "roster", "_tab": "แก้ไขข้อมูล", "_row": number} for number, row in enumerate(rows, start=2)]
    )


def collected(staff, survey=None, plans=None, records=None, overrides=None, problem=None):
    empty = pd.DataFrame(columns=["national_id", "full_name", "_sheet", "_tab", "_row", "_unit"])
    return Collected(
        units=units_frame(), staff=staff,
        survey=survey if survey is not None else survey_frame([]).reindex(columns=["timestamp", "topics", "_sheet", "_tab", "_row"]),
        plans=plans if plans is not None else empty.assign(fiscal_year=None, topic=None),
        records=records if records is not None else empty.assign(date=None, kind=None, topic=None, status=None),
        idplan_keys={}, read_calls=0, overrides=overrides, overrides_problem=problem,
    )


def issues(frame, sheet=None):
    rows = frame if sheet is None else frame[frame["_sheet"] == sheet]
    return {(r["_sheet"], int(r["_row"])): r["reason"] for r in rows.to_dict("records")}


# ---------------------------------------------------------------- what a slip is
@pytest.mark.parametrize(
    "typed, roster, slip",
    [
        ("สมศรี ใจดี", "สมศรี ใจดี", True),
        ("สมสรี ใจดี", "สมศรี ใจดี", True),          # one letter (ส for ศ)
        ("สมชาย แก่วมา", "สมชาย แก้วมา", True),      # one tone mark for another
        ("สมชาย แกวมา", "สมชาย แก้วมา", True),       # a tone mark left out
        ("กิ่งแก้ว ดี", "ก่ิงแก้ว ดี", True),          # vowel and tone mark typed in the other order
        ("สมศรี  ใจดี", "สมศรีใจดี", True),           # spaces do not count
        ("สมคิด ทองคำ", "สมคิด ทองคํา", True),         # สระอำ as one character or as ํ + า
        ("สมสรี ใจดำ", "สมศรี ใจดี", False),          # two slips: a person should look
        ("สมศรี แก้วมา", "สมศรี ใจดี", False),        # another surname (married?)
        ("สมชาย กล้าหาญ", "สมศรี ใจดี", False),       # someone else
    ],
)
def test_a_slip_is_one_edit_of_the_name_without_title_and_spaces(typed, roster, slip):
    assert same_name(typed, roster) is slip


def test_edit_distance_counts_by_hand():
    assert edit_distance("abc", "abc") == 0
    assert edit_distance("abc", "acb") == 1      # adjacent swap is one edit
    assert edit_distance("abc", "xbz") == 2
    assert edit_distance("abcdef", "a", limit=3) == 3  # capped


# ---------------------------------------------------------------- the roster itself
def test_one_id_on_two_different_people_quarantines_both_rows_and_keeps_neither():
    raw = staff_frame([
        (X, "นาง", "สมศรี", "ใจดี", U1, ""),          # row 2
        (Y, "นาย", "สมชาย", "กล้าหาญ", U1, ""),       # row 3
        (X, "นาย", "ประเสริฐ", "มั่นคง", U2, ""),      # row 4: X again, someone else
        (Z, "นาง", "มาลี", "ศรีสุข", U2, ""),          # row 5
        (Z, "นาง", "มาลี", "ศรีสุข", U2, ""),          # row 6: the same person twice
        (W, "นาย", "วิชัย", "ทองดี", U1, ""),         # row 7
        (W, "นาย", "วิชัย", "ทองด", U1, ""),          # row 8: same ID, a slip in the surname
    ])
    bad, notes, conflicts = Issues(), Issues(), {}
    staff = normalize_staff(raw, units_frame(), "pbn2", bad, notes, conflicts=conflicts)
    assert list(staff["staff_id"]) == [Y, Z, W]
    assert list(conflicts) == [X]
    quarantined = issues(bad.frame())
    assert set(quarantined) == {("roster", 2), ("roster", 4)}
    for reason in quarantined.values():
        assert "'สมศรี ใจดี' (roster แท็บ 'บุคลากร' แถว 2)" in reason
        assert "'ประเสริฐ มั่นคง' (roster แท็บ 'บุคลากร' แถว 4)" in reason
        assert masked(X) in reason and not ID13.search(reason)
        assert "แก้เลขที่ผิดในทะเบียน" in reason
    assert not any(ID13.search(v) for v in bad.frame()["value"])
    noted = issues(notes.frame())
    assert set(noted) == {("roster", 6), ("roster", 8)}
    assert "แถว 5" in noted[("roster", 6)] and "ชื่อตรงกัน" in noted[("roster", 6)]
    assert "แถว 7" in noted[("roster", 8)] and "พิมพ์ผิดเล็กน้อย" in noted[("roster", 8)]


def test_nothing_carrying_a_conflicted_id_or_name_is_credited(demo_settings):
    staff = staff_frame([
        (X, "นาง", "สมศรี", "ใจดี", U1, "somsri@mail.test"),   # row 2
        (X, "นาย", "ประเสริฐ", "มั่นคง", U1, "pra@mail.test"),  # row 3
        (Y, "นาย", "สมชาย", "กล้าหาญ", U1, "somchai@mail.test"),  # row 4
    ])
    survey = survey_frame([
        {"national_id": X, "full_name": "นางสมศรี ใจดี", "email": "somsri@mail.test"},   # row 2: the ID
        {"national_id": "", "full_name": "", "email": " PRA@mail.test "},              # row 3: e-mail only
        {"national_id": Y, "full_name": "นายสมชาย กล้าหาญ", "email": ""},              # row 4: fine
    ])
    plans = plan_frame([(X, "สมศรี ใจดี"), ("", "นายประเสริฐ มั่นคง"), (Y, "สมชาย กล้าหาญ")])
    records = record_frame([(X, "ประเสริฐ มั่นคง"), (Y, "สมชาย กล้าหาญ")])
    data = normalize(collected(staff, survey, plans, records), demo_settings)
    assert list(data.staff["staff_id"]) == [Y]
    # Only Y's rows are credited, one of each kind.
    assert list(data.survey["staff_id"]) == [Y] and list(data.survey["_row"]) == [4]
    assert list(data.plans["staff_id"]) == [Y] and list(data.records["staff_id"]) == [Y]
    quarantined = issues(data.quarantine)
    expected = {("roster", 2), ("roster", 3), ("needs-survey", 2), ("needs-survey", 3),
                (f"idplan-{U1}", 2), (f"idplan-{U1}", 3)}
    # plan rows 2, 3 and record row 2 share the spreadsheet key; check tabs separately.
    assert {k for k in quarantined} == expected
    q = data.quarantine
    plan_rows = set(q[q["_tab"] == "แผนพัฒนาตนเอง"]["_row"])
    record_rows = set(q[q["_tab"] == "บันทึกการพัฒนา"]["_row"])
    assert (plan_rows, record_rows) == ({2, 3}, {2})
    for r in q[q["_sheet"] != "roster"].to_dict("records"):
        assert r["reason"].startswith("ยังไม่นับแถวนี้ให้ใคร") and masked(X) in r["reason"]
        assert "แถว 2" in r["reason"] and "แถว 3" in r["reason"] and not ID13.search(r["reason"])


# ---------------------------------------------------------------- an ID with another name
def _matcher():
    staff = pd.DataFrame(
        [
            {"staff_id": X, "name_key": "สมศรี ใจดี", "unit_code": U1, "display_name": "นางสมศรี ใจดี", "email": "a@x.test"},
            {"staff_id": Y, "name_key": "สมชาย กล้าหาญ", "unit_code": U1, "display_name": "นายสมชาย กล้าหาญ", "email": ""},
            {"staff_id": Z, "name_key": "มาลี ศรีสุข", "unit_code": U2, "display_name": "นางมาลี ศรีสุข", "email": "a@x.test"},
        ]
    )
    return PersonMatcher(staff)


def test_id_with_a_slip_in_the_name_is_credited_without_a_note():
    found = _matcher().find(X, "นางสมศรี ใจด")
    assert (found.staff_id, found.how, found.note) == (X, "id", "")


def test_id_with_another_name_is_credited_to_the_id_and_noted():
    found = _matcher().find(X, "นางสมศรี แก้วมา")  # married: a new surname
    assert (found.staff_id, found.how) == (X, "id")
    assert "'สมศรี แก้วมา'" in found.note and "'สมศรี ใจดี'" in found.note and masked(X) in found.note
    assert not ID13.search(found.note)


def test_id_of_one_person_with_the_exact_name_of_another_credits_neither():
    found = _matcher().find(X, "นายสมชาย กล้าหาญ")
    assert found.staff_id is None
    assert "เป็นของ 'สมศรี ใจดี'" in found.reason and masked(Y) in found.reason


def test_email_is_matched_trimmed_and_case_insensitive_unless_two_people_share_it():
    sid, why = _matcher().match("", "", email="  A@X.TEST ")  # X and Z share it
    assert sid is None and "เป็นของหลายคน" in why
    staff = pd.DataFrame([{"staff_id": Y, "name_key": "สมชาย กล้าหาญ", "unit_code": U1, "email": "Somchai@Mail.Test"}])
    assert PersonMatcher(staff).match("", "", email="  somchai@mail.TEST ") == (Y, "email")


# ---------------------------------------------------------------- survey identity
def _settings_with_survey(tmp_path, **columns):
    """The demo config with survey identity lines replaced (only in [sources.survey.columns])."""
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    start, end = text.index("[sources.survey.columns]"), text.index("[sources.idplan]")
    section = text[start:end]
    lines = {
        "email": 'email = "ที่อยู่อีเมล"\n',
        "full_name": 'full_name = "ชื่อ-นามสกุล"\n',
        "national_id": 'national_id = "เลขประจำตัวประชาชน 13 หลัก"\n',
    }
    for key, new in columns.items():
        assert lines[key] in section
        section = section.replace(lines[key], new)
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")
    return path


def _survey_people():
    staff = staff_frame([
        (X, "นาง", "สมศรี", "ใจดี", U1, "somsri@mail.test"),   # row 2
        (Y, "นาง", "สมศรี", "ใจดี", U2, "other@mail.test"),    # row 3: same name, other school
        (Z, "นาย", "สมชาย", "กล้าหาญ", U2, "Somchai@Mail.Test"),  # row 4
    ])
    bad, notes = Issues(), Issues()
    matcher = PersonMatcher(normalize_staff(staff, units_frame(), "pbn2", bad, notes))
    return matcher


@pytest.mark.parametrize(
    "columns, row, who, noted",
    [
        # ID path: an ID wins over a wrong e-mail
        ({}, {"national_id": Z, "email": "somsri@mail.test", "full_name": "นายสมชาย กล้าหาญ"}, Z, ""),
        # e-mail path, the ID left blank in a form that asks for it: credited and noted
        ({}, {"national_id": "", "email": " SOMCHAI@mail.test", "full_name": ""}, Z, "จับคู่ด้วยอีเมล"),
        # a form with only an e-mail column: credited, no note
        ({"full_name": 'full_name = ""\n', "national_id": ""}, {"email": "somchai@mail.test "}, Z, ""),
        # name path: the same name in two schools, the typed unit decides
        ({"email": ""}, {"national_id": "", "full_name": "นางสมศรี ใจดี", "unit_name": "บ้านสอง"}, Y, "จับคู่ด้วยชื่อ"),
        ({"email": ""}, {"national_id": "", "full_name": "สมศรี ใจดี", "unit_name": "บ้านหนึ่ง"}, X, "จับคู่ด้วยชื่อ"),
    ],
)
def test_survey_rows_are_matched_by_id_else_email_else_name_within_the_unit(tmp_path, columns, row, who, noted):
    settings = load_settings(_settings_with_survey(tmp_path, **columns))
    bad, notes = Issues(), Issues()
    units = units_frame()[["code", "name"]]
    survey = normalize_survey(survey_frame([row]), _survey_people(), units, settings, bad, notes)
    assert bad.rows == []
    assert list(survey["staff_id"]) == [who]
    reasons = " ".join(r["reason"] for r in notes.rows)
    assert (noted in reasons) if noted else reasons == ""


def test_same_name_in_two_schools_without_a_unit_is_not_guessed(tmp_path):
    settings = load_settings(_settings_with_survey(tmp_path, email=""))
    bad = Issues()
    row = {"national_id": "", "full_name": "สมศรี ใจดี", "unit_name": "บ้านไม่มี"}
    survey = normalize_survey(survey_frame([row]), _survey_people(), units_frame(), settings, bad, Issues())
    assert survey.empty and "ซ้ำกันหลายคน" in bad.rows[0]["reason"]


def test_survey_without_any_identity_column_is_a_config_error_naming_the_keys(tmp_path):
    path = _settings_with_survey(tmp_path, email="", full_name="", national_id="")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = caught.value.message
    assert "sources.survey.columns" in message
    assert all(key in message for key in ("national_id", "email", "full_name"))


@pytest.mark.parametrize("blank", ['full_name = ""\n', ""])  # set to "" or left out
def test_identity_columns_set_empty_or_left_out_run_without_a_crash(tmp_path, blank):
    from pipeline.sync import run_sync
    from pipeline.workbook.local import LocalWorkbook
    from tests import hand_area

    path = _settings_with_survey(tmp_path, full_name=blank, national_id='national_id = ""\n')
    settings = load_settings(path)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    result = run_sync(settings)
    # The hand area's survey: O1..O4 and A2 by e-mail (O3 twice), and the stranger's x@mail.test unknown.
    assert sorted(result.data.survey["staff_id"]) == sorted(hand_area.nid(k) for k in ("O1", "O2", "O3", "O4", "A2"))
    survey_issues = result.data.quarantine[result.data.quarantine["_sheet"] == "needs-survey"]
    assert list(survey_issues["_row"]) == [7] and "x@mail.test" in survey_issues.iloc[0]["reason"]


def test_email_only_survey_needs_the_rosters_email_column(tmp_path):
    path = _settings_with_survey(tmp_path, full_name="", national_id="")
    text = path.read_text(encoding="utf-8").replace('email = "อีเมล"\n', "")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "sources.staff.columns.email" in caught.value.message


# ---------------------------------------------------------------- the corrections tab
OLD, STRANGER = make_id(31), make_id(32)


def test_overrides_map_rows_names_and_ids_to_the_right_person_and_report_bad_ones(demo_settings):
    staff = staff_frame([(X, "นาง", "สมศรี", "ใจดี", U1, ""), (Y, "นาย", "สมชาย", "กล้าหาญ", U1, "")])
    survey = survey_frame([{"national_id": STRANGER, "full_name": "นางสมศรี แก้วมา"}])        # row 2
    plans = plan_frame([("", "ศรี ใจดี")])                                                    # row 2
    records = record_frame([(OLD, "สมชาย กล้าหาญ"), (Y, "ศรี ใจดี")])                         # rows 2, 3
    overrides = overrides_frame([
        {"spreadsheet": "needs-survey", "tab": "การตอบแบบฟอร์ม 1", "row": "2", "typed": "", "national_id": X},  # 2
        {"spreadsheet": "", "tab": "", "row": "", "typed": "นางศรี ใจดี", "national_id": X},                 # 3
        {"spreadsheet": "", "tab": "", "row": "", "typed": OLD, "national_id": Y},                          # 4
        {"spreadsheet": f"idplan-{U1}", "tab": "แผนพัฒนาตนเอง", "row": 2, "typed": "", "national_id": STRANGER},  # 5
        {"spreadsheet": "", "tab": "", "row": "", "typed": Y, "national_id": X},                            # 6
        {"spreadsheet": f"idplan-{U1}", "tab": "แผนพัฒนาตนเอง", "row": 99, "typed": "", "national_id": X},  # 7
        {"spreadsheet": "", "tab": "", "row": "", "typed": "", "national_id": X},                           # 8
    ])
    data = normalize(collected(staff, survey, plans, records, overrides), demo_settings)
    assert list(data.survey["staff_id"]) == [X]            # by its address
    assert list(data.plans["staff_id"]) == [X]             # by the typed name (prefix ignored)
    # record 2 by the typed old ID; record 3 carries Y's own ID, which a typed-name override does not beat
    assert list(data.records["staff_id"]) == [Y, Y]
    bad = data.quarantine[data.quarantine["_tab"] == "แก้ไขข้อมูล"]
    reasons = dict(zip(bad["_row"], bad["reason"]))
    assert set(reasons) == {5, 6, 8}
    assert "ไม่พบเลขประจำตัวประชาชน" in reasons[5] and masked(STRANGER) in reasons[5]
    assert "เป็นของคนอื่นในทะเบียน" in reasons[6]
    assert "ระบุแถวที่จะแก้" in reasons[8]
    assert not any(ID13.search(r) for r in reasons.values())
    assert len(data.quarantine) == 3  # every source row was credited
    notes = data.notes
    applied = notes[notes["reason"].str.contains("ตามแท็บ 'แก้ไขข้อมูล'")]
    assert {(r["_tab"], r["_row"]) for r in applied.to_dict("records")} == {
        ("การตอบแบบฟอร์ม 1", 2), ("แผนพัฒนาตนเอง", 2), ("บันทึกการพัฒนา", 2)
    }
    assert "แถว 2" in applied[applied["_tab"] == "การตอบแบบฟอร์ม 1"].iloc[0]["reason"]
    unused = notes[notes["_tab"] == "แก้ไขข้อมูล"]
    assert list(unused["_row"]) == [7] and "ไม่มีแถวใดตรงกับการแก้ไขนี้" in unused.iloc[0]["reason"]


def test_an_override_cannot_point_at_a_conflicted_id(demo_settings):
    staff = staff_frame([(X, "นาง", "สมศรี", "ใจดี", U1, ""), (X, "นาย", "สมชาย", "กล้าหาญ", U1, "")])
    overrides = overrides_frame([{"spreadsheet": "", "tab": "", "row": "", "typed": "ศรี ใจดี", "national_id": X}])
    data = normalize(collected(staff, overrides=overrides), demo_settings)
    reason = data.quarantine[data.quarantine["_tab"] == "แก้ไขข้อมูล"].iloc[0]["reason"]
    assert "ซ้ำกันในทะเบียน" in reason and "แก้ทะเบียนก่อน" in reason


def _hand_area_with_overrides(config_file, tab_rows):
    from pipeline.workbook.local import LocalWorkbook
    from tests import hand_area

    if "\n[sources.overrides]\n" not in config_file.read_text(encoding="utf-8"):
        with config_file.open("a", encoding="utf-8") as handle:
            handle.write("\n[sources.overrides]\n")  # every key at its default
    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    if tab_rows is not None:
        book.write("roster", {"แก้ไขข้อมูล": tab_rows})
    return settings, book


HEADER = ["สเปรดชีต", "แท็บ", "แถว", "ชื่อหรือเลขที่กรอก", "เลขประจำตัวประชาชนที่ถูกต้อง", "หมายเหตุ"]


def test_the_tab_in_the_roster_is_applied_on_the_next_run_in_the_same_single_read(config_file):
    from pipeline.sync import run_sync
    from tests import hand_area
    from tests.test_end_to_end import CountingWorkbook

    # The stranger's record in school A (row 12) really was A1's: the office says so.
    rows = [HEADER, [f"idplan-{hand_area.SCHOOL_A}", "บันทึกการพัฒนา", 12, "", hand_area.nid("A1"), "ครูพิมพ์เลขผิด"]]
    settings, _ = _hand_area_with_overrides(config_file, None)
    before = run_sync(settings).data
    _hand_area_with_overrides(config_file, rows)
    book = CountingWorkbook(settings.storage.path)
    after = run_sync(settings, workbook=book).data
    where = (f"idplan-{hand_area.SCHOOL_A}", "บันทึกการพัฒนา", 12)
    key = ["_sheet", "_tab", "_row"]
    assert where in set(before.quarantine[key].itertuples(index=False, name=None))
    assert where not in set(after.quarantine[key].itertuples(index=False, name=None))
    credited = after.records[(after.records["_sheet"] == where[0]) & (after.records["_row"] == 12)]
    assert list(credited["staff_id"]) == [hand_area.nid("A1")]
    assert len(after.records) == len(before.records) + 1
    assert book.reads.count("roster") == 1  # the tab comes with the roster's own read


def test_without_the_config_section_the_tab_is_not_read(config_file):
    from pipeline.sync import run_sync
    from pipeline.workbook.local import LocalWorkbook
    from tests import hand_area

    settings = load_settings(config_file)
    assert settings.sources.overrides is None
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    book.write("roster", {"แก้ไขข้อมูล": [HEADER, ["", "", "", "", "1234567890123", ""]]})
    data = run_sync(settings).data
    assert not (data.quarantine["_tab"] == "แก้ไขข้อมูล").any()


def test_a_missing_tab_means_no_corrections_and_a_wrong_header_is_reported(config_file):
    from pipeline.sync import run_sync
    from tests.test_end_to_end import CountingWorkbook

    settings, _ = _hand_area_with_overrides(config_file, None)
    book = CountingWorkbook(settings.storage.path)
    plain = run_sync(settings, workbook=book).data
    assert book.reads.count("roster") == 2  # the tab is missing: the roster is read again without it
    settings, _ = _hand_area_with_overrides(config_file, [["ชื่อ", "เลข"], ["x", "y"]])
    data = run_sync(settings).data
    reported = data.quarantine[data.quarantine["_tab"] == "แก้ไขข้อมูล"]
    assert list(reported["_row"]) == [1] and "เลขประจำตัวประชาชนที่ถูกต้อง" in reported.iloc[0]["reason"]
    assert len(data.quarantine) == len(plain.quarantine) + 1
    assert len(data.records) == len(plain.records)
