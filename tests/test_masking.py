"""Masking everywhere: a mistyped ID (12 or 14 digits, dashes, spaces, Thai digits) never shows whole.

Checked in every output a person sees: the dashboard, each school's summary tab, the
e-mail text and HTML, the run report and an error message. The roster's unit codes
(10 digits) are codes, not IDs, and stay readable.
"""

from __future__ import annotations

import email
import re
import sqlite3
import unicodedata
from email.policy import default as default_policy

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.thai import mask_ids_in_text
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.conftest import make_id
from tests.hand_area import OFFICE, SCHOOL_A, SCHOOL_B

ID14 = "31000000123456"   # one digit too many, typed with dashes
ID14_TYPED = "3-1000-00012-34-56"
ID14_ROSTER = "31000000777777"  # a roster row's 14-digit ID: the roster's reason names no digits at all
ID12 = "310000001234"     # one digit short, typed in Thai digits with spaces
ID12_TYPED = "๓๑๐๐ ๐๐๐๐๑ ๒๓๔"
ID12_NOTE = "310000005678"  # one digit short, the name matches: a repair note shows what was typed
ID12_MAIL = "310000009999"  # typed into the director's e-mail column
ID14_NAME = "31000000654321"  # pasted into a valid person's last-name cell: reaches the staff list
ID14_NAME_TYPED = "31000 00065 4321"
# Typed as nobody's tests did before issue 17: full-width digits (a phone keyboard, a PDF), grouped with
# dots, and Arabic-Indic digits grouped with slashes; none of these people are on the roster.
ID_WIDE = make_id(60)
ID_WIDE_TYPED = ID_WIDE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
ID_DOTTED = make_id(61)
ID_DOTTED_TYPED = f"{ID_DOTTED[0]}.{ID_DOTTED[1:5]}.{ID_DOTTED[5:10]}.{ID_DOTTED[10:12]}.{ID_DOTTED[12]}"
ID_ARABIC = make_id(62)
ID_ARABIC_TYPED = "/".join((ID_ARABIC[0], ID_ARABIC[1:5], ID_ARABIC[5:10], ID_ARABIC[10:12], ID_ARABIC[12])).translate(
    str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
MASK_WIDE, MASK_DOTTED, MASK_ARABIC = (f"x-xxxx-xxxxx-{i[10:12]}-{i[12]}" for i in (ID_WIDE, ID_DOTTED, ID_ARABIC))
# Masks worked out by hand: x for every digit but the last three.
MASK14, MASK12, MASK12_NOTE, MASK12_MAIL = "xxxxxxxxxxx456", "xxxxxxxxx234", "xxxxxxxxx678", "xxxxxxxxx999"
MASK14_NAME = "xxxxxxxxxxx321"
RAW = (ID14, ID12, ID12_NOTE, ID12_MAIL, ID14_NAME, ID14_ROSTER, ID_WIDE, ID_DOTTED, ID_ARABIC)


def _digits(text: str) -> str:
    """Text with the digits of every script made Arabic (by unicodedata, not devplan) and what people type
    between them dropped (spaces, dashes, dots, slashes, underscores): any typed form of an ID shows."""
    arabic = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    return re.sub(r"[\s\-\u2010-\u2015\uff0d._/]", "", arabic)


def _append(book, key, tab, values: dict) -> None:
    tabs = book.read(key, [tab])
    header = tabs[tab][0]
    tabs[tab].append([values.get(h, "") for h in header])
    book.write(key, tabs)


@pytest.fixture
def run(config_file):
    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    src = settings.sources
    sc, qc, rc = src.staff.columns, src.survey.columns, src.idplan.record_columns
    _append(book, src.staff.spreadsheet, src.staff.tab, {
        sc.national_id: ID14_ROSTER, sc.prefix: "นาย", sc.first_name: "สิบสี่", sc.last_name: "หลัก",
        sc.position: "ครู", sc.unit_code: SCHOOL_A,
    })
    _append(book, src.staff.spreadsheet, src.staff.tab, {
        sc.national_id: make_id(50), sc.prefix: "นาง", sc.first_name: "วางเลข", sc.last_name: f"ผิดช่อง {ID14_NAME_TYPED}",
        sc.position: "ครู", sc.unit_code: SCHOOL_A,
    })
    _append(book, src.idplan.key_for(SCHOOL_A), src.idplan.record_tab, {
        rc.date: "16/3/2562", rc.national_id: ID14_TYPED, rc.full_name: "นายไม่มี ในรายชื่อ", rc.kind: "อบรม",
        rc.topic: "การวัดผล", rc.hours: 6, rc.status: "เสร็จสิ้น",
    })
    _append(book, src.idplan.key_for(SCHOOL_A), src.idplan.record_tab, {
        rc.date: "15/3/2562", rc.national_id: ID12_TYPED, rc.full_name: "นายไม่มี ในทะเบียน", rc.kind: "อบรม",
        rc.topic: "การวัดผล", rc.hours: 6, rc.status: "เสร็จสิ้น",
    })
    _append(book, src.survey.spreadsheet, src.survey.tab, {
        qc.timestamp: "11/12/2018, 09:00:00", qc.full_name: hand_area.full_name("B2"), qc.national_id: ID12_NOTE,
        qc.topics: "การนิเทศภายใน", qc.methods: "อบรม",
    })
    for typed, name in ((ID_WIDE_TYPED, "นายเต็ม ความกว้าง"), (ID_ARABIC_TYPED, "นายอาระบิก ตัวเลข")):
        _append(book, src.idplan.key_for(SCHOOL_A), src.idplan.record_tab, {
            rc.date: "17/3/2562", rc.national_id: typed, rc.full_name: name, rc.kind: "อบรม",
            rc.topic: "การวัดผล", rc.hours: 6, rc.status: "เสร็จสิ้น",
        })
    _append(book, src.survey.spreadsheet, src.survey.tab, {
        qc.timestamp: "12/12/2018, 09:00:00", qc.full_name: "นายจุด คั่นเลข", qc.national_id: ID_DOTTED_TYPED,
        qc.topics: "การนิเทศภายใน", qc.methods: "อบรม",
    })
    units = book.read(src.units.spreadsheet, [src.units.tab, src.staff.tab])
    units[src.units.tab][2][units[src.units.tab][0].index(src.units.columns.director_email)] = ID12_MAIL
    book.write(src.units.spreadsheet, units)

    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file)])
    assert result.exit_code == 1, result.output
    return settings, result


def _sheet_text(path, tabs=None) -> dict[str, str]:
    workbook = load_workbook(path, read_only=True)
    return {
        name: "\n".join("\t".join("" if v is None else str(v) for v in row) for row in workbook[name].iter_rows(values_only=True))
        for name in (tabs or workbook.sheetnames)
    }


def _mail(settings, code) -> tuple[str, str, str]:
    message = email.message_from_bytes((settings.output.outbox / f"{code}.eml").read_bytes(), policy=default_policy)
    return message["Subject"], message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_the_dashboard_masks_mistyped_ids(run):
    settings, _ = run
    tabs = _sheet_text(settings.storage.path / "dashboard.xlsx")
    assert MASK14 in tabs["ข้อมูลที่ต้องแก้ไข"] and MASK12 in tabs["ข้อมูลที่ต้องแก้ไข"]
    assert MASK12_NOTE in tabs["ปรับแก้อัตโนมัติ"]
    for mask in (MASK_WIDE, MASK_DOTTED, MASK_ARABIC):  # full-width, dot-grouped, Arabic-Indic with slashes
        assert mask in tabs["ข้อมูลที่ต้องแก้ไข"]
    for text in tabs.values():
        for raw in RAW:
            assert raw not in _digits(text)
    # Unit codes are 10 digits too, but codes: the units tab still names them.
    assert SCHOOL_A in tabs["รายหน่วยงาน"] and SCHOOL_B in tabs["รายหน่วยงาน"]
    assert f"idplan-{SCHOOL_A}" in tabs["ข้อมูลที่ต้องแก้ไข"]


def test_the_school_summary_tab_masks_mistyped_ids(run):
    settings, _ = run
    key = settings.sources.idplan.key_for(SCHOOL_A)
    text = _sheet_text(settings.storage.path / f"{key}.xlsx", [settings.output.summary_tab])[settings.output.summary_tab]
    assert MASK14 in text and MASK12 in text
    assert f"วางเลข ผิดช่อง {MASK14_NAME}" in text  # the staff list: not an issue row, masked all the same
    for raw in RAW:
        assert raw not in _digits(text)


def test_the_schools_mail_masks_mistyped_ids_in_text_and_html(run):
    settings, _ = run
    subject, text, html = _mail(settings, SCHOOL_A)
    assert f"เลขประจำตัวประชาชน '{MASK12}' ไม่ถูกต้อง" in text  # the reason, as typed but masked
    assert f"เลขประจำตัวประชาชน '{MASK14}' ไม่ถูกต้อง" in text
    assert MASK14 in html and MASK12 in html
    assert f"วางเลข ผิดช่อง {MASK14_NAME}" in text and f"วางเลข ผิดช่อง {MASK14_NAME}" in html
    for part in (subject, text, html):
        for raw in RAW:
            assert raw not in _digits(part)
    for code in (SCHOOL_B, OFFICE):
        for part in _mail(settings, code) if (settings.output.outbox / f"{code}.eml").exists() else ():
            for raw in RAW:
                assert raw not in _digits(part)


def test_the_run_report_masks_an_id_but_not_a_unit_code(run):
    _, result = run
    assert f"ไม่ได้ส่งถึง {SCHOOL_B}: ไม่มีอีเมลผู้อำนวยการที่ใช้ได้ ('{MASK12_MAIL}')" in result.stdout
    for raw in RAW:
        assert raw not in _digits(result.output)


def test_check_status_and_the_run_history_keep_no_id(run, config_file):
    settings, _ = run
    check = CliRunner().invoke(cli, ["check", "--config", str(config_file)])
    assert check.exit_code == 1, check.output
    assert MASK_WIDE in check.stdout and MASK_DOTTED in check.stdout
    status = CliRunner().invoke(cli, ["status", "--config", str(config_file)])
    assert status.exit_code == 0 and f"- {SCHOOL_B}: ไม่มีอีเมลผู้อำนวยการที่ใช้ได้ ('{MASK12_MAIL}')" in status.stdout
    with sqlite3.connect(settings.storage.state) as db:
        history = "\n".join(details for (details,) in db.execute("SELECT details FROM runs"))
    assert MASK12_MAIL in history and SCHOOL_B in history  # unit codes are kept: they are codes
    for text in (check.output, status.output, history):
        for raw in RAW:
            assert raw not in _digits(text)


def test_an_older_history_row_with_a_raw_id_is_masked_by_the_next_run(run, config_file):
    settings, _ = run
    with sqlite3.connect(settings.storage.state) as db:  # a run of a devplan before issue 17, as it stored it
        db.execute("INSERT INTO runs (kind, started_at, seconds, exit_code, details) VALUES (?, ?, ?, ?, ?)",
                   ("sync", "2026-01-05T02:00:00", 3.0, 3, f'{{"error": "ไม่พบ {ID_WIDE_TYPED}", "failed": {{}}}}'))
    assert CliRunner().invoke(cli, ["check", "--config", str(config_file)]).exit_code == 1
    with sqlite3.connect(settings.storage.state) as db:
        history = "\n".join(details for (details,) in db.execute("SELECT details FROM runs"))
    assert f"ไม่พบ {MASK_WIDE}" in history and ID_WIDE not in _digits(history)


def test_an_error_message_masks_a_full_width_id(tmp_path):
    path = tmp_path / ID_WIDE_TYPED / "devplan.toml"  # someone named a folder after their ID, on a phone
    result = CliRunner().invoke(cli, ["sync", "--config", str(path)])
    assert result.exit_code == 2
    assert MASK_WIDE in result.stderr and ID_WIDE not in _digits(result.stderr)


def test_a_usage_error_masks_an_id_too(tmp_path):
    result = CliRunner().invoke(cli, ["import", str(tmp_path / f"{ID_DOTTED_TYPED}.csv"), "--as", "survey",
                                      "--config", str(tmp_path / "devplan.toml")])
    assert result.exit_code == 2
    assert ID_DOTTED not in _digits(result.output) and MASK_DOTTED in result.output


@pytest.mark.parametrize("typed, shown", [
    ("1234567890123", "x-xxxx-xxxxx-12-3"),          # a whole ID, as before
    ("1-2345-67890-12-3", "x-xxxx-xxxxx-12-3"),
    ("123456789012", "xxxxxxxxx012"),                # 12 digits
    ("12345678901234", "xxxxxxxxxxx234"),            # 14 digits
    ("1 2345 67890 12", "xxxxxxxxx012"),
    ("๑๒๓๔๕๖๗๘๙๐๑๒", "xxxxxxxxx012"),
    ("123456789", "xxxxxx789"),                      # 9 digits: could still be an ID
    ("１２３４５６７８９０１２３", "x-xxxx-xxxxx-12-3"),  # full-width
    ("１－２３４５－６７８９０－１２－３", "x-xxxx-xxxxx-12-3"),  # full-width, full-width dashes
    ("١٢٣٤٥٦٧٨٩٠١٢٣", "x-xxxx-xxxxx-12-3"),          # Arabic-Indic
    ("๑2๓4๕6๗8๙0๑2๓", "x-xxxx-xxxxx-12-3"),          # Thai and Arabic mixed
    ("1.2345.67890.12.3", "x-xxxx-xxxxx-12-3"),      # dots
    ("1/2345/67890/12/3", "x-xxxx-xxxxx-12-3"),      # slashes
    ("1_2345_67890_12_3", "x-xxxx-xxxxx-12-3"),      # underscores
    ("1–2345–67890–12–3", "x-xxxx-xxxxx-12-3"),      # en dashes
    ("12345 67890 123", "x-xxxx-xxxxx-12-3"),        # another grouping
    ("1.2345.67890.12", "xxxxxxxxx012"),             # 12 digits with dots
    ("1.234567890123E+12", "x-xxxx-xxxxx-xx-x"),      # scientific notation, every digit
    ("1.2345E+12", "x-xxxx-xxxxx-xx-x"),              # shortened: the first digits still show nothing
    ("1234567890123.0", "x-xxxx-xxxxx-12-3.0"),      # a number cell read as text
    ("081-234-5678", "xxxxxxx678"),                  # a phone number: could be a mistyped ID, masked
])
def test_runs_of_nine_or_more_digits_are_masked(typed, shown):
    assert mask_ids_in_text(f"เลข {typed} ผิด") == f"เลข {shown} ผิด"


@pytest.mark.parametrize("text", [
    "12345678",                 # 8 digits: a date, a count
    "ร้อยละ 66.66666666666667",  # a fraction
    "2019-10-01 12:30:00",      # a date and time
    "idplan-1067000001",        # a spreadsheet key
    "school1067020001@area.example.go.th",
    "idplan_1067000001",        # a key with an underscore
    "192.168.100.200",          # an IP address (the mail server's, in an error)
    "1/10/2561-30/9/2562",      # a date range
    "2562/10/01",               # a date, year first
    "01.10.2562 12:30",         # a date and time with dots
    "12000/15000",              # a count of a count
    "2561-2562-2563",           # years
    "2561/2562/2563",
    "ที่ ศธ 04123/1234",         # a letter's number
])
def test_numbers_that_are_not_ids_stay(text):
    assert mask_ids_in_text(text) == text


def test_a_unit_code_named_as_kept_stays():
    assert mask_ids_in_text("รหัส 1067020001 และ 1067020002", keep={"1067020001"}) == "รหัส 1067020001 และ xxxxxxx002"
