"""The summary tab and the dashboard look like a report, the same in an .xlsx file and in Google Sheets.

Expected looks are worked out here from the templates by hand: the school tab
is a title row, the date line, a blank row, the indicator header (row 4) and
the eight indicators (rows 5-12); its status column is D. Widths count Thai
vowel and tone marks as taking no room, with the mark list written out here.
"""

from __future__ import annotations

import tomllib

import pytest
from openpyxl import load_workbook

from pipeline.sample import generate_area
from pipeline.state import State
from pipeline.sync import run_sync
from tests.conftest import REPO
from tests.google_area import TODAY, build_area

SUMMARY = "สรุปผล (devplan)"
PASS, NOT_PASS = "ผ่าน", "ยังไม่ผ่าน"
GREEN, RED = "C6EFCE", "FFC7CE"
#: Thai characters drawn above or below the letter before them: they take no width.
THAI_MARKS = {chr(c) for c in [0x0E31, *range(0x0E34, 0x0E3B), *range(0x0E47, 0x0E4F)]}


def cells(text: str) -> int:
    return sum(ch not in THAI_MARKS for ch in text)


def pixels(text: str) -> int:
    """Column width devplan fits to its longest text: 7 px a character cell plus 16 px."""
    return cells(text) * 7 + 16


INDICATORS = tomllib.loads((REPO / "config" / "indicators.toml").read_text(encoding="utf-8"))["indicator"]
# Column B of the school tab holds the target header, the targets, masked IDs
# (x-xxxx-xxxxx-12-3: 17 characters), the issues' row numbers, and in rows that
# do not count for widths the run date. The header is the longest:
TARGET_HEADER = "เป้าหมายปี 2562 (ร้อยละ)"
assert (cells(TARGET_HEADER), len(TARGET_HEADER)) == (21, 24)  # counted by hand: ้ ี ้ take no room


def test_marks_take_no_width():
    assert cells("ตัวชี้วัด") == 5 and cells("เลขประจำตัวประชาชน") == 17


# --- local backend: what openpyxl reads ----------------------------------------------------------


@pytest.fixture(scope="module")
def synced_sample(tmp_path_factory):
    from pipeline.config import load_settings
    from pipeline.workbook.local import LocalWorkbook
    from tests.conftest import DEMO_CONFIG

    root = tmp_path_factory.mktemp("formats")
    settings = load_settings(
        DEMO_CONFIG,
        {"storage.path": str(root / "sheets"), "output.outbox": str(root / "outbox"),
         "storage.state": str(root / "state.sqlite")},
    )
    book = LocalWorkbook(settings.storage.path)
    generate_area(book, settings, schools=6)
    result = run_sync(settings)
    assert result.unit_problems == {}
    school = sorted(k for k in book.keys() if k.startswith("idplan-") and not k.endswith("pbn2"))[0]
    return settings, book, school


def indicator_rows(sheet) -> list[int]:
    """Row numbers of the summary tab's indicator table (row 5 until the first blank row)."""
    rows, row = [], 5
    while sheet.cell(row, 1).value not in (None, ""):
        rows.append(row)
        row += 1
    return rows


def shown_indicators(sheet) -> list[dict]:
    by_name = {i["short_name"]: i for i in INDICATORS}
    return [by_name[sheet.cell(r, 1).value] for r in indicator_rows(sheet)]


def test_school_tab_bold_frozen_widths_numbers(synced_sample):
    _, book, school = synced_sample
    sheet = load_workbook(book.path(school))[SUMMARY]
    assert sheet["A4"].value == "ตัวชี้วัด" and sheet["B4"].value == TARGET_HEADER
    # title and header bold, the rest not
    assert sheet["A1"].font.b and all(sheet.cell(4, c).font.b for c in range(1, 9))
    assert not sheet["A2"].font.b and not sheet["A5"].font.b and not sheet["D5"].font.b
    last = indicator_rows(sheet)[-1]
    staff_title = next(r for r in range(last + 1, sheet.max_row + 1)
                       if str(sheet.cell(r, 1).value).startswith("รายชื่อบุคลากร"))
    assert sheet.cell(staff_title, 1).font.b and sheet.cell(staff_title + 1, 1).font.b
    assert not sheet.cell(staff_title + 2, 1).font.b
    # the title, date line, blank row and the indicator header stay in view
    assert sheet.freeze_panes == "A5"
    # column B fitted to its header, Thai marks taking no room: (163 - 5) / 7 characters
    assert pixels(TARGET_HEADER) == 163
    assert sheet.column_dimensions["B"].width == pytest.approx((163 - 5) / 7, abs=0.01)
    assert sheet.column_dimensions["B"].customWidth
    # numbers are numbers; where there is no value the cell is empty, never "-"
    for row in indicator_rows(sheet):
        assert sheet.cell(row, 2).data_type == "n"  # every indicator has a 2562 target
        assert sheet.cell(row, 3).value is None or sheet.cell(row, 3).data_type == "n"
        assert isinstance(sheet.cell(row, 5).value, int) and isinstance(sheet.cell(row, 6).value, int)
    # a school has no office staff: that indicator counts nobody there, so it is left out (as in the mail)
    shown = [i["id"] for i in shown_indicators(sheet)]
    assert "office_needs" not in shown
    assert shown == [i["id"] for i in INDICATORS if i["id"] in shown]  # the plan's order
    assert {"id_plan", "training", "classroom_research"} <= set(shown)
    # a national ID stays text
    assert sheet.cell(staff_title + 2, 2).data_type == "s"


def test_school_tab_short_names_with_the_plans_wording_as_notes(synced_sample):
    _, book, school = synced_sample
    sheet = load_workbook(book.path(school))[SUMMARY]
    for row, ind in zip(indicator_rows(sheet), shown_indicators(sheet)):
        assert sheet.cell(row, 1).value == ind["short_name"]
        assert sheet.cell(row, 2).value == ind["targets"]["2562"]
        note = sheet.cell(row, 1).comment
        assert note is not None and ind["name"] in note.text
        yearly = ", ".join(f"ปี {y} ร้อยละ {v}" for y, v in ind["targets"].items())
        assert yearly in note.text
    # the plan's "ร้อยละ ๘๐" next to a 2562 target of 75, explained
    research = next(sheet.cell(r, 1).comment.text for r in indicator_rows(sheet)
                    if sheet.cell(r, 1).value == "หน่วยงานมีผลงานวิจัย")
    assert "ร้อยละ ๘๐ ของหน่วยงานทุกระดับ" in research and "ปี 2562 ร้อยละ 75" in research
    assert sheet["B5"].comment is None and sheet["A4"].comment is None


def test_school_tab_status_column_is_conditionally_formatted(synced_sample):
    _, book, school = synced_sample
    sheet = load_workbook(book.path(school))[SUMMARY]
    found = [(str(cf.sqref), rule) for cf in sheet.conditional_formatting for rule in cf.rules]
    span = f"D5:D{indicator_rows(sheet)[-1]}"
    assert [(ref, r.type, r.operator, r.formula) for ref, r in found] == [
        (span, "cellIs", "equal", ['"ผ่าน"']),
        (span, "cellIs", "equal", ['"ยังไม่ผ่าน"']),
    ]
    assert [r.dxf.fill.bgColor.rgb for _, r in found] == ["FF" + GREEN, "FF" + RED]
    # the status cells hold the text itself, no static fill
    statuses = {sheet.cell(r, 4).value for r in indicator_rows(sheet)}
    assert statuses <= {PASS, NOT_PASS, "ไม่มีเป้าหมาย", "ไม่มีผู้อยู่ในกลุ่มเป้าหมาย"}
    assert all(sheet.cell(r, 4).fill.fgColor.rgb in (None, "00000000") for r in indicator_rows(sheet))


def test_dashboard_tabs(synced_sample):
    _, book, _ = synced_sample
    workbook = load_workbook(book.path("dashboard"))
    area = workbook["ภาพรวมเขตพื้นที่"]
    header = next(r for r in range(1, area.max_row + 1) if area.cell(r, 1).value == "ตัวชี้วัด")
    assert header == 15  # title, date, blank, basics title + 9 counts, blank
    assert area["A1"].font.b and area["A4"].font.b and not area["A5"].font.b
    assert all(area.cell(header, c).font.b for c in range(1, 9))
    assert area.freeze_panes == "A2"  # the table header is too far down to freeze; the title is kept
    rules = [(str(cf.sqref), r.formula) for cf in area.conditional_formatting for r in cf.rules]
    assert rules == [("D16:D23", ['"ผ่าน"']), ("D16:D23", ['"ยังไม่ผ่าน"'])]
    assert INDICATORS[0]["name"] in area.cell(header + 1, 1).comment.text
    for name in ("รายอำเภอ", "รายหน่วยงาน"):
        tab = workbook[name]
        assert tab.freeze_panes == "A2" and tab["A1"].font.b and not tab["A2"].font.b
        first = 4 if name == "รายอำเภอ" else 6
        heading = tab.cell(1, first)
        assert heading.value == f"{INDICATORS[0]['short_name']} (ร้อยละ)"
        assert INDICATORS[0]["name"] in heading.comment.text
        for row in tab.iter_rows(min_row=2, min_col=first):
            assert all(c.value is None or c.data_type == "n" for c in row), name
    units = workbook["รายหน่วยงาน"]
    assert all(units.cell(r, 1).data_type == "s" for r in range(2, units.max_row + 1))  # codes stay text
    assert any(units.cell(r, first + 6).value is None for r in range(2, units.max_row + 1))  # office_needs


def test_no_dash_in_any_number_column(synced_sample):
    _, book, _ = synced_sample
    for key in book.keys():
        workbook = load_workbook(book.path(key), read_only=True)
        for sheet in workbook.worksheets:
            if sheet.title != SUMMARY and key != "dashboard":
                continue
            assert "-" not in {v for row in sheet.iter_rows(values_only=True) for v in row}, (key, sheet.title)
        workbook.close()


# --- Google backend: what the one batchUpdate holds and the fake stores ----------------------------


def school_of(area) -> tuple[str, str]:
    """A STEM school of the area (so every indicator but the office's counts someone there)."""
    units = area.fake.values(area.ids["roster"], "หน่วยงาน")
    code, stem = units[0].index("รหัสหน่วยงาน"), units[0].index("จัดการเรียนรู้สะเต็มศึกษา")
    key = sorted(f"idplan-{row[code]}" for row in units[1:] if row[stem] == "ใช่")[0]
    return key, area.ids[key]


#: the school tab's indicators: a school has no office staff, so "office_needs" counts nobody and is left out
SCHOOL_INDICATORS = [i for i in INDICATORS if i["id"] != "office_needs"]
STATUS_RANGE = {"sheetId": None, "startRowIndex": 4, "endRowIndex": 4 + len(SCHOOL_INDICATORS),
                "startColumnIndex": 3, "endColumnIndex": 4}


def expected_rules(sheet_id: int) -> list[tuple]:
    block = {**STATUS_RANGE, "sheetId": sheet_id}
    return [([block], "TEXT_EQ", PASS), ([block], "TEXT_EQ", NOT_PASS)]


def rule_shape(rules: list[dict]) -> list[tuple]:
    return [(r["ranges"], r["booleanRule"]["condition"]["type"],
             r["booleanRule"]["condition"]["values"][0]["userEnteredValue"]) for r in rules]


def test_google_one_batch_update_holds_the_look(fake_google, tmp_path):
    area = build_area(fake_google, tmp_path, schools=4)
    run_sync(area.settings(), today=TODAY)
    key, sid = school_of(area)
    writes = [r for r in fake_google.requests(api="sheets", kind="write") if r.spreadsheet == sid]
    assert len(writes) == 1
    requests_ = writes[0].body["requests"]
    kinds = [next(iter(r)) for r in requests_]
    assert kinds[0] == "addSheet" and "deleteConditionalFormatRule" not in kinds
    assert kinds.count("addConditionalFormatRule") == 2 and kinds.count("updateCells") == 1
    props = next(r["updateSheetProperties"] for r in requests_ if "updateSheetProperties" in r)
    assert props["properties"]["gridProperties"]["frozenRowCount"] == 4
    update = next(r["updateCells"] for r in requests_ if "updateCells" in r)
    assert update["fields"] == "userEnteredValue,userEnteredFormat,note"
    assert update["rows"][4]["values"][0]["note"].startswith("ตัวชี้วัดตามแผน: " + SCHOOL_INDICATORS[0]["name"])

    stored = fake_google.sheet(sid, SUMMARY)
    sheet_id = stored["properties"]["sheetId"]
    assert stored["properties"]["gridProperties"]["frozenRowCount"] == 4
    assert stored["columnWidths"][1] == pixels(TARGET_HEADER) == 163
    assert stored["formats"]["A1"]["textFormat"]["bold"] is True
    assert all(stored["formats"][f"{c}4"]["textFormat"]["bold"] is True for c in "ABCDEFGH")
    assert "A5" not in stored["formats"] and "D5" not in stored["formats"]  # no static colour on statuses
    assert rule_shape(stored["conditionalFormats"]) == expected_rules(sheet_id)
    fills = [r["booleanRule"]["format"]["backgroundColor"] for r in stored["conditionalFormats"]]
    assert fills[0]["green"] > fills[0]["red"] and fills[1]["red"] > fills[1]["green"]  # green, then red
    for row, ind in enumerate(SCHOOL_INDICATORS, start=5):
        assert ind["name"] in stored["notes"][f"A{row}"]
    assert set(stored["notes"]) == {f"A{r}" for r in range(5, 5 + len(SCHOOL_INDICATORS))}
    # numbers are numbers, no "-": the office indicator has no percent at a school
    values = fake_google.values(sid, SUMMARY)
    shown = [row[0] for row in values[4 : 4 + len(SCHOOL_INDICATORS)]]
    assert shown == [i["short_name"] for i in SCHOOL_INDICATORS]
    assert all(isinstance(values[r][1], (int, float)) for r in range(4, 4 + len(SCHOOL_INDICATORS)))
    # the dashboard's tabs, in its own single write
    dashboard = fake_google.find("dashboard")[0]
    assert len([r for r in fake_google.requests(api="sheets", kind="write") if r.spreadsheet == dashboard]) == 1
    overview = fake_google.sheet(dashboard, "ภาพรวมเขตพื้นที่")
    assert overview["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert [r["ranges"][0]["startRowIndex"] for r in overview["conditionalFormats"]] == [15, 15]
    units = fake_google.sheet(dashboard, "รายหน่วยงาน")
    assert units["conditionalFormats"] == [] and INDICATORS[0]["name"] in units["notes"]["F1"]


def test_google_rewrites_never_pile_up_rules(fake_google, tmp_path):
    area = build_area(fake_google, tmp_path, schools=3)
    settings = area.settings()
    plan_tab = settings.sources.idplan.plan_tab
    key, sid = school_of(area)
    run_sync(settings, today=TODAY)
    sheet_id = fake_google.sheet(sid, SUMMARY)["properties"]["sheetId"]

    def staff_edit():  # a row added to the plan: the school's spreadsheet changed, so its tab is rewritten
        rows = fake_google.values(sid, plan_tab)
        fake_google.staff_edit(sid, plan_tab, len(rows) + 1, 1, "2562")
        fake_google.clear_log()

    def school_writes():
        return [r for r in fake_google.requests(api="sheets", kind="write") if r.spreadsheet == sid]

    # 1. an ordinary rewrite: devplan's two rules are deleted and added in the same single request
    staff_edit()
    run_sync(settings, today=TODAY)
    (write,) = school_writes()
    deletes = [r["deleteConditionalFormatRule"] for r in write.body["requests"] if "deleteConditionalFormatRule" in r]
    assert deletes == [{"sheetId": sheet_id, "index": 1}, {"sheetId": sheet_id, "index": 0}]
    assert rule_shape(fake_google.sheet(sid, SUMMARY)["conditionalFormats"]) == expected_rules(sheet_id)

    # 2. a person adds a rule of their own, and the state file is lost: devplan looks the tab up
    #    and deletes only the rules that are its own
    client = fake_google.gspread_client()  # the real gspread client, pointed at the fake
    own_rule = {"ranges": [{"sheetId": sheet_id, "startRowIndex": 14, "endRowIndex": 20,
                            "startColumnIndex": 6, "endColumnIndex": 7}],
                "booleanRule": {"condition": {"type": "NUMBER_GREATER", "values": [{"userEnteredValue": "20"}]},
                                "format": {"backgroundColor": {"blue": 1}}}}
    client.open_by_key(sid).batch_update(
        {"requests": [{"addConditionalFormatRule": {"index": 2, "rule": own_rule}}]}
    )
    lost = area.settings(**{"storage.state": str(tmp_path / "new-state.sqlite")})
    staff_edit()
    run_sync(lost, today=TODAY)
    stored = fake_google.sheet(sid, SUMMARY)["conditionalFormats"]
    assert rule_shape(stored[:2]) == expected_rules(sheet_id)
    assert stored[2:] == [own_rule]
    assert State(tmp_path / "new-state.sqlite").own_tab(sid, SUMMARY) == (sheet_id, 2)

    # 3. someone deletes devplan's rules by hand: the remembered count no longer fits, Google says 400,
    #    devplan looks the tab up once and writes it whole
    client.open_by_key(sid).batch_update({"requests": [
        {"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": 0}},
        {"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": 0}},
    ]})
    staff_edit()
    result = run_sync(lost, today=TODAY)
    assert result.unit_problems == {}
    stored = fake_google.sheet(sid, SUMMARY)["conditionalFormats"]
    assert rule_shape(stored[:2]) == expected_rules(sheet_id) and stored[2:] == [own_rule]
    assert [w.status for w in school_writes()] == [400, 200]
