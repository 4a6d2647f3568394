"""No cell devplan writes is longer than its backend allows: Excel 32,767 characters, Google Sheets 50,000.

A staff cell of 5 MB (pasted by mistake) reaches devplan's tabs in a name or quoted in a reason:
it is cut where it is written, visibly (``…(ตัดเหลือ N ตัวอักษร)``), and the file still opens;
the reason quoting it keeps only its first 1,000 characters.
"""

from __future__ import annotations

import zipfile

from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.state import State
from pipeline.workbook.factory import open_workbook
from pipeline.workbook.layout import EXCEL_CELL_LIMIT, GOOGLE_CELL_LIMIT, FormattedTab, clip
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.google_area import build_area

HUGE = 1_700_000  # Thai characters: 5.1 MB of UTF-8


def _cells(path, tab=None):
    book = load_workbook(path, read_only=True)
    sheets = [book[tab]] if tab else book.worksheets
    return [v for sheet in sheets for row in sheet.iter_rows(values_only=True) for v in row if isinstance(v, str)]


def test_clip_counts_as_excel_does_and_says_how_much_was_kept():
    assert clip("ก" * 100, 100) == "ก" * 100
    cut = clip("ก" * 40_000, EXCEL_CELL_LIMIT)
    suffix = "…(ตัดเหลือ 32,740 ตัวอักษร)"  # 27 characters: 32,767 - 27 = 32,740 kept
    assert len(suffix) == 27 and cut == "ก" * 32_740 + suffix and len(cut) == EXCEL_CELL_LIMIT
    emoji = clip("😀" * 20_000, EXCEL_CELL_LIMIT)  # two UTF-16 units each, as Excel counts them
    assert emoji == "😀" * 16_370 + suffix.replace("32,740", "16,370")
    assert len(emoji.encode("utf-16-le")) // 2 == EXCEL_CELL_LIMIT


def _paste(path, tab, column, row, text) -> None:
    """Put ``text`` in a cell, whatever its length: openpyxl cuts strings to Excel's limit itself, so the
    cell is written with a marker and the marker replaced in the part holding it (as another program would)."""
    book = load_workbook(path)
    sheet = book[tab]
    sheet.cell(row=row, column=[c.value for c in sheet[1]].index(column) + 1).value = "@@PASTED@@"
    book.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {info: source.read(info.filename) for info in source.infolist()}
    assert sum(data.count(b"@@PASTED@@") for data in parts.values()) == 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts.items():
            target.writestr(info.filename, data.replace(b"@@PASTED@@", text.encode("utf-8")))


def test_a_five_megabyte_staff_cell_is_cut_in_every_tab_and_the_files_open(config_file):
    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    src = settings.sources
    roster = settings.storage.path / f"{src.units.spreadsheet}.xlsx"
    _paste(roster, src.staff.tab, src.staff.columns.last_name, 3, "ใจดี" + "ก" * HUGE)  # A2's last name
    school = settings.storage.path / f"{src.idplan.key_for(hand_area.SCHOOL_A)}.xlsx"
    _paste(school, src.idplan.record_tab, src.idplan.record_columns.kind, 2, "ข" * HUGE)  # an unknown kind: quoted
    assert max(len(v) for v in LocalWorkbook(settings.storage.path).read(src.units.spreadsheet, [src.staff.tab])[
        src.staff.tab][2] if isinstance(v, str)) == 4 + HUGE  # devplan reads all of it

    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file)])
    assert result.exit_code == 1, result.output
    dashboard = _cells(settings.storage.path / "dashboard.xlsx")
    summary = _cells(school, settings.output.summary_tab)
    for cells in (dashboard, summary):
        assert max(len(v) for v in cells) == EXCEL_CELL_LIMIT
        named = [v for v in cells if "บุษบา ใจดีกกก" in v]  # A2's name, in a list of staff or a reason
        assert named and all(len(v) == EXCEL_CELL_LIMIT and v.endswith("กก…(ตัดเหลือ 32,740 ตัวอักษร)") for v in named)
        assert "ข" * 974 + "…(ตัดเหลือ 974 ตัวอักษร)" in cells  # the quoted value, cut to 1,000
    staff_rows = LocalWorkbook(settings.storage.path).read(src.units.spreadsheet, [src.staff.tab])[src.staff.tab]
    assert staff_rows[2][3] == "ใจดี" + "ก" * HUGE  # the staff's own file: not devplan's to cut


def test_google_cells_are_cut_to_fifty_thousand(fake_google, tmp_path):
    area = build_area(fake_google, tmp_path, schools=1)
    settings = area.settings()
    long = "ค" * 60_000
    with State(settings.storage.state) as state:
        book = open_workbook(settings.storage, state)
        book.write(settings.output.dashboard, {"ยาว": FormattedTab([["หัว"], [long]], notes={(1, 0): long})})
    sid = fake_google.find(settings.output.dashboard)[0]
    cell = fake_google.values(sid, "ยาว")[1][0]
    assert cell == "ค" * 49_973 + "…(ตัดเหลือ 49,973 ตัวอักษร)" and len(cell) == GOOGLE_CELL_LIMIT
