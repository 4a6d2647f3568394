"""`devplan import FILE --as survey`: the real Google Forms export becomes the survey tab, untouched."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner
from openpyxl import Workbook as XlsxWorkbook

from pipeline.cli import cli
from pipeline.workbook.local import LocalWorkbook
from tests.conftest import FIXTURES, write_config

EXPORT = FIXTURES / "google-form-export-th.csv"
LEVEL = "3. ประเมินตัวเองหน่อย คิดว่ามีความรู้เกี่ยวกับสถิติอยู่ขั้นไหน"
# The export's own headers mapped as survey columns. It is a course survey with no name, ID
# or e-mail question, so its section question stands in for the one identity column required.
EXPORT_COLUMNS = f'''[sources.survey.columns]
timestamp = "ประทับเวลา"
full_name = "เรียน Sec ไหน"
topics = "แนวเพลงที่ชอบฟัง"
methods = "{LEVEL}"

'''


def export_config(tmp_path):
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    start, end = text.index("[sources.survey.columns]"), text.index("[sources.idplan]")
    path.write_text(text[:start] + EXPORT_COLUMNS + text[end:], encoding="utf-8")
    return path


def expected_rows():
    """The file read with the csv module alone: every value the text it is, empty fields empty."""
    with EXPORT.open(encoding="utf-8", newline="") as handle:
        return [[v if v != "" else None for v in row] for row in csv.reader(handle)]


def survey_tab(tmp_path):
    return LocalWorkbook(tmp_path / "sheets").read("needs-survey", ["การตอบแบบฟอร์ม 1"])["การตอบแบบฟอร์ม 1"]


def run_import(path, config):
    return CliRunner().invoke(cli, ["import", str(path), "--as", "survey", "--config", str(config)])


def test_the_real_export_is_written_as_the_survey_tab_values_unchanged(tmp_path):
    result = run_import(EXPORT, export_config(tmp_path))
    assert result.exit_code == 0, result.output
    written, rows = survey_tab(tmp_path), expected_rows()
    assert len(rows) == 141 and "140 แถว" in result.output and "การตอบแบบฟอร์ม 1" in result.output
    assert written == rows
    salary = rows[0].index("เงินเดือนที่อยากได้เมื่อเรียนจบ (พิมพ์เป็นตัวเลข)")
    birthday = rows[0].index("วันเดือนปีเกิด")
    assert (written[1][salary], written[1][birthday]) == ("30000", "7/1/2002")  # text, not a number or date


def test_a_bom_and_an_xlsx_give_the_same_tab(tmp_path):
    bom = tmp_path / "with-bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + EXPORT.read_bytes())
    book = XlsxWorkbook()
    for row in expected_rows():
        book.active.append(row)
    xlsx = tmp_path / "responses.xlsx"
    book.save(xlsx)
    config = export_config(tmp_path)
    for path in (bom, xlsx):
        result = run_import(path, config)
        assert result.exit_code == 0, result.output
        tab = survey_tab(tmp_path)
        assert tab[0][0] == "ประทับเวลา" and tab == expected_rows(), path.name


def test_other_tabs_of_the_survey_spreadsheet_stay(tmp_path):
    LocalWorkbook(tmp_path / "sheets").write("needs-survey", {"บันทึก": [["ของเดิม"]]})
    assert run_import(EXPORT, export_config(tmp_path)).exit_code == 0
    book = LocalWorkbook(tmp_path / "sheets")
    assert book.read("needs-survey", ["บันทึก"])["บันทึก"] == [["ของเดิม"]]


def test_missing_configured_headers_are_named_with_the_file(tmp_path):
    # The demo config's survey columns are not in this export.
    result = run_import(EXPORT, write_config(tmp_path))
    assert result.exit_code == 3
    assert "google-form-export-th.csv" in result.output
    for header in ("ชื่อ-นามสกุล", "เลขประจำตัวประชาชน 13 หลัก", "ด้านที่ต้องการพัฒนา (ตอบได้มากกว่า 1 ข้อ)"):
        assert f"'{header}'" in result.output.split("(คอลัมน์ที่มี")[0]
    assert "'ประทับเวลา'" not in result.output.split("(คอลัมน์ที่มี")[0]  # present, so not missing
    assert not (tmp_path / "sheets" / "needs-survey.xlsx").exists()


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("thai-ansi.csv", "ประทับเวลา,ชื่อ\n1/1/2019,สมศรี\n".encode("cp874"), "UTF-8"),
        ("responses.ods", b"PK", ".csv หรือ .xlsx"),
        ("broken.xlsx", b"not a zip", "ไม่ใช่ไฟล์ .xlsx"),
        ("empty.csv", b"", "ว่างเปล่า"),
    ],
)
def test_unreadable_files_are_source_errors_in_thai(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    result = run_import(path, export_config(tmp_path))
    assert result.exit_code == 3 and words in result.output and "Traceback" not in result.output


def test_import_needs_as_and_config(tmp_path):
    assert CliRunner().invoke(cli, ["import", str(EXPORT), "--config", str(export_config(tmp_path))]).exit_code == 2
    assert CliRunner().invoke(cli, ["import", str(EXPORT), "--as", "survey"]).exit_code == 2


def test_import_waits_for_no_sync_it_would_not_replace_the_tab_under_a_running_one(tmp_path):
    from pipeline.config import load_settings
    from pipeline.lock import RunLock

    config = export_config(tmp_path)
    with RunLock(load_settings(config).storage.state):  # a sync holds the state file
        result = run_import(EXPORT, config)
    assert result.exit_code == 75, result.output
    assert not (tmp_path / "sheets").exists() or not list((tmp_path / "sheets").glob("*.xlsx"))
    assert run_import(EXPORT, config).exit_code == 0  # and once it is done, the import goes through
