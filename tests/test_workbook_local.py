"""The local storage edge: a folder of real .xlsx files, checked with openpyxl directly."""

from __future__ import annotations

import os
import zipfile
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook

from pipeline.errors import PublishError, SourceError
from pipeline.workbook.factory import open_workbook
from pipeline.workbook.local import LocalWorkbook


def staff_filled_file(path) -> None:
    """A spreadsheet as a person left it: two tabs, one with a formula."""
    book = Workbook()
    plan = book.active
    plan.title = "แผนพัฒนาตนเอง"
    plan.append(["ปีงบประมาณ", "ชื่อ-นามสกุล", "จำนวนชั่วโมง"])
    plan.append([2562, "นางสาวบุษบา ใจดี", 12])
    plan.append([2562, "นายชาตรี มั่นคง", 6])
    plan["C4"] = "=SUM(C2:C3)"
    record = book.create_sheet("บันทึกการพัฒนา")
    record.append(["วันที่", "สถานะ"])
    record.append([datetime(2019, 1, 10), "เสร็จสิ้น"])
    book.save(path)


def test_write_then_read_round_trips_values(tmp_path):
    book = LocalWorkbook(tmp_path)
    rows = [
        ["ข้อความ", "จำนวนเต็ม", "ทศนิยม", "วันเวลา", "ว่าง", "ท้าย"],
        ["ครูไทย", 120, 72.7, datetime(2019, 9, 30, 14, 5), None, "x"],
        ["0812345678", 0, -1.5, datetime(2018, 10, 1), None, None],
    ]
    book.write("ทดสอบ", {"แท็บ": rows})
    got = book.read("ทดสอบ", ["แท็บ"])["แท็บ"]
    assert got == rows
    assert [type(v) for v in got[1][:4]] == [str, int, float, datetime]
    assert got[2][0] == "0812345678"  # text that looks like a number stays text


def test_nan_is_written_as_an_empty_cell(tmp_path):
    book = LocalWorkbook(tmp_path)
    book.write("k", {"t": [["a", "b"], [float("nan"), 1]]})
    assert book.read("k", ["t"])["t"] == [["a", "b"], [None, 1]]


def test_read_returns_every_named_tab_in_one_call(tmp_path):
    book = LocalWorkbook(tmp_path)
    book.write("k", {"หนึ่ง": [["a"]], "สอง": [["b"]], "สาม": [["c"]]})
    assert book.read("k", ["สาม", "หนึ่ง"]) == {"สาม": [["c"]], "หนึ่ง": [["a"]]}
    assert book.tabs("k") == ["หนึ่ง", "สอง", "สาม"]


def test_keys_are_sorted_xlsx_stems_without_lock_files(tmp_path):
    book = LocalWorkbook(tmp_path)
    for key in ("roster", "idplan-1067000002", "dashboard", "idplan-1067000001"):
        book.write(key, {"t": [["x"]]})
    (tmp_path / "~$roster.xlsx").write_bytes(b"lock file left by Excel")
    (tmp_path / "notes.txt").write_text("not a spreadsheet", encoding="utf-8")
    (tmp_path / "folder.xlsx").mkdir()
    assert book.keys() == ["dashboard", "idplan-1067000001", "idplan-1067000002", "roster"]
    assert book.exists("roster") and not book.exists("missing")
    # something is there, so reading it says what it is rather than "not found"
    assert book.exists("folder")
    with pytest.raises(SourceError) as caught:
        book.read("folder", ["t"])
    assert "folder.xlsx ไม่ใช่ไฟล์ธรรมดาแต่เป็นโฟลเดอร์" in caught.value.message


def test_keys_of_a_missing_folder_is_empty(tmp_path):
    assert LocalWorkbook(tmp_path / "nothing").keys() == []


def test_write_creates_the_folder(tmp_path):
    book = LocalWorkbook(tmp_path / "a" / "b")
    book.write("k", {"t": [["x"]]})
    assert (tmp_path / "a" / "b" / "k.xlsx").is_file()


def test_write_replaces_only_the_named_tab(tmp_path):
    path = tmp_path / "idplan-1067000001.xlsx"
    staff_filled_file(path)
    book = LocalWorkbook(tmp_path)

    book.write("idplan-1067000001", {"สรุปผล (devplan)": [["ตัวชี้วัด", "ร้อยละ"], ["stem", 25.0]]})
    book.write("idplan-1067000001", {"สรุปผล (devplan)": [["ตัวชี้วัด"], ["ใหม่"]]})

    check = load_workbook(path)
    assert check.sheetnames == ["แผนพัฒนาตนเอง", "บันทึกการพัฒนา", "สรุปผล (devplan)"]
    plan = check["แผนพัฒนาตนเอง"]
    assert [[c.value for c in row] for row in plan.iter_rows(max_row=3)] == [
        ["ปีงบประมาณ", "ชื่อ-นามสกุล", "จำนวนชั่วโมง"],
        [2562, "นางสาวบุษบา ใจดี", 12],
        [2562, "นายชาตรี มั่นคง", 6],
    ]
    assert plan["C4"].value == "=SUM(C2:C3)"
    assert plan["C4"].data_type == "f"  # still a formula, not a frozen value or text
    assert check["บันทึกการพัฒนา"]["A2"].value == datetime(2019, 1, 10)
    # the replaced tab holds the new rows only: nothing left from the first write
    summary = check["สรุปผล (devplan)"]
    assert [[c.value for c in row] for row in summary.iter_rows()] == [["ตัวชี้วัด"], ["ใหม่"]]


def test_replacing_a_tab_keeps_its_place_among_the_tabs(tmp_path):
    book = LocalWorkbook(tmp_path)
    book.write("k", {"ก": [["1"]], "ข": [["2"]], "ค": [["3"]]})
    book.write("k", {"ข": [["ใหม่"]]})
    assert book.tabs("k") == ["ก", "ข", "ค"]
    assert book.read("k", ["ก", "ข", "ค"]) == {"ก": [["1"]], "ข": [["ใหม่"]], "ค": [["3"]]}


@pytest.mark.parametrize("text", ["=SUM(A1:A3)", '=HYPERLINK("http://evil.test","คลิก")'])
def test_text_starting_with_equals_is_stored_as_text(tmp_path, text):
    book = LocalWorkbook(tmp_path)
    book.write("k", {"สรุป": [["ชื่อ"], [text]]})
    cell = load_workbook(tmp_path / "k.xlsx")["สรุป"]["A2"]
    assert cell.data_type == "s" and cell.value == text

    book.write("k", {"อื่น": [["x"]]})  # a later write of another tab re-saves the file
    cell = load_workbook(tmp_path / "k.xlsx")["สรุป"]["A2"]
    assert cell.data_type == "s" and cell.value == text
    assert book.read("k", ["สรุป"])["สรุป"] == [["ชื่อ"], [text]]


def test_trailing_empty_rows_and_columns_are_trimmed(tmp_path):
    path = tmp_path / "k.xlsx"
    raw = Workbook()
    sheet = raw.active
    sheet.title = "t"
    sheet.append(["a", "b", None, None])
    sheet.append(["c", None, None, ""])
    sheet.append([None, None, None, None])
    sheet["F9"] = ""        # an emptied cell far away stretches the sheet's dimensions
    sheet["G12"] = None
    sheet.cell(row=15, column=8).value = ""
    raw.save(path)
    assert LocalWorkbook(tmp_path).read("k", ["t"])["t"] == [["a", "b"], ["c", None]]


def test_empty_rows_in_the_middle_are_kept(tmp_path):
    book = LocalWorkbook(tmp_path)
    book.write("k", {"t": [["h"], [None], ["x"]]})
    assert book.read("k", ["t"])["t"] == [["h"], [None], ["x"]]


def test_empty_tab_reads_as_no_rows(tmp_path):
    book = LocalWorkbook(tmp_path)
    book.write("k", {"t": []})
    assert book.read("k", ["t"])["t"] == []


def test_missing_spreadsheet_names_the_file(tmp_path):
    book = LocalWorkbook(tmp_path)
    for call in (lambda: book.read("roster", ["t"]), lambda: book.tabs("roster")):
        with pytest.raises(SourceError) as caught:
            call()
        assert str(tmp_path / "roster.xlsx") in caught.value.message
        assert "roster" in caught.value.message
        assert caught.value.exit_code == 3


def test_missing_tab_names_the_tab_and_lists_the_tabs(tmp_path):
    book = LocalWorkbook(tmp_path)
    book.write("roster", {"หน่วยงาน": [["x"]], "บุคลากร": [["y"]]})
    with pytest.raises(SourceError) as caught:
        book.read("roster", ["หน่วยงาน", "บุคลากรใหม่"])
    message = caught.value.message
    assert "'บุคลากรใหม่'" in message
    assert "หน่วยงาน, บุคลากร" in message
    assert str(tmp_path / "roster.xlsx") in message


def test_corrupt_file_is_a_source_error(tmp_path):
    path = tmp_path / "x.xlsx"
    junk = os.urandom(4096)
    path.write_bytes(junk)
    book = LocalWorkbook(tmp_path)
    for call in (lambda: book.read("x", ["t"]), lambda: book.tabs("x"), lambda: book.write("x", {"t": [["a"]]})):
        with pytest.raises(SourceError) as caught:
            call()
        assert str(path) in caught.value.message
    assert path.read_bytes() == junk  # a failed write did not replace the person's file


def test_zip_that_is_not_a_spreadsheet_is_a_source_error(tmp_path):

    with zipfile.ZipFile(tmp_path / "x.xlsx", "w") as archive:
        archive.writestr("hello.txt", "ไม่ใช่สเปรดชีต")
    with pytest.raises(SourceError):
        LocalWorkbook(tmp_path).read("x", ["t"])


def no_temp_files(folder) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_failed_save_is_a_publish_error_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "x.xlsx").mkdir()  # the file's place is taken, so the final rename fails
    book = LocalWorkbook(tmp_path)
    with pytest.raises(PublishError) as caught:
        book.write("x", {"t": [["a"]]})
    assert str(tmp_path / "x.xlsx") in caught.value.message
    assert caught.value.exit_code == 4
    assert no_temp_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.xlsx"]


def test_folder_that_is_a_file_is_a_publish_error(tmp_path):
    (tmp_path / "sheets").write_text("not a folder", encoding="utf-8")
    with pytest.raises(PublishError):
        LocalWorkbook(tmp_path / "sheets").write("x", {"t": [["a"]]})


def test_open_workbook_local_and_unknown(tmp_path):
    from pydantic import ValidationError

    from pipeline.config import StorageSettings
    from pipeline.state import State

    storage = StorageSettings(backend="local", path=tmp_path)
    assert isinstance(open_workbook(storage, State(None)), LocalWorkbook)
    with pytest.raises(ValidationError) as caught:
        StorageSettings(backend="gsheets", path=tmp_path)
    assert "gsheets" in str(caught.value)


def test_spreadsheet_with_a_truncated_tab_is_a_source_error(tmp_path):

    LocalWorkbook(tmp_path).write("good", {"t": [["a", "b"], [1, 2]]})
    with zipfile.ZipFile(tmp_path / "good.xlsx") as source, zipfile.ZipFile(tmp_path / "bad.xlsx", "w") as damaged:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]  # cut off mid-XML, as a broken download would
            damaged.writestr(item, data)
    book = LocalWorkbook(tmp_path)
    for call in (lambda: book.read("bad", ["t"]), lambda: book.write("bad", {"อื่น": [["x"]]})):
        with pytest.raises(SourceError) as caught:
            call()
        assert str(tmp_path / "bad.xlsx") in caught.value.message


def test_control_characters_are_dropped_not_a_crash(tmp_path):
    book = LocalWorkbook(tmp_path)
    book.write("x", {"t": [["ก\x0bข\x00ค", "ปกติ"]]})
    assert book.read("x", ["t"])["t"] == [["กขค", "ปกติ"]]
