"""One school's broken spreadsheet is that school's problem, never the whole area's.

Two copies of the same sample area are synced on the same day: a clean one, and
one where a single school's file is damaged. Every other unit's summary tab and
e-mail must come out exactly as in the clean run; the damaged unit is named,
listed on the dashboard, and the run ends with exit code 1.
"""

from __future__ import annotations

import email
import shutil
from email.policy import default as default_policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from tests import xlsx_shapes as shapes
from tests.conftest import sample_sheets, write_config

SCHOOLS = 12
SUMMARY = "สรุปผล (devplan)"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A sample area's spreadsheets, generated once for this module."""
    return sample_sheets(tmp_path_factory.mktemp("pristine"), SCHOOLS, seed=7)


def area_copy(pristine: Path, root: Path) -> Path:
    root.mkdir()
    shutil.copytree(pristine, root / "sheets")
    return write_config(root)


def sync(config: Path):
    return CliRunner().invoke(cli, ["sync", "--config", str(config)])


def outputs(root: Path) -> tuple[dict[str, list], dict[str, tuple]]:
    """Every unit's summary tab (values) and e-mail (subject, text, html), by unit code."""
    tabs = {}
    for path in sorted((root / "sheets").glob("idplan-*.xlsx")):
        try:
            book = load_workbook(path, read_only=True)
        except Exception:  # the damaged file itself
            continue
        if SUMMARY in book.sheetnames:
            tabs[path.stem] = [list(r) for r in book[SUMMARY].iter_rows(values_only=True)]
        book.close()
    mails = {}
    for path in sorted((root / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        mails[path.stem] = (
            message["Subject"], message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content(),
        )
    return tabs, mails


def without_date(tabs: dict[str, list]) -> dict[str, list]:
    # the second row carries the run's date; both runs happen today, but be safe at midnight
    return {k: [r for i, r in enumerate(v) if i != 1] for k, v in tabs.items()}


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


def rename_header(path: Path) -> None:
    from openpyxl import load_workbook as load

    book = load(path)
    sheet = book["บันทึกการพัฒนา"]
    for cell in sheet[1]:
        if cell.value == "สถานะ":
            cell.value = "สถานะการพัฒนา"
    book.save(path)


def encrypt(path: Path) -> None:
    shapes.encrypted(path)  # saved with a password to open: an OLE file, not a zip


def link_outside(path: Path) -> None:
    """The school's file replaced by a link to a copy outside the storage folder."""
    outside = path.parent.parent / "elsewhere" / path.name
    outside.parent.mkdir(exist_ok=True)
    path.rename(outside)
    path.symlink_to(outside)


def zip_bomb(path: Path) -> None:
    shapes.zip_bomb(path, 300)  # a sheet inflating past the 200 MB default


@pytest.mark.parametrize(
    "damage", [truncate, empty, rename_header, encrypt, link_outside, zip_bomb],
    ids=["truncated", "zero-byte", "renamed-header", "encrypted", "link-outside", "zip-bomb"],
)
def test_one_broken_school_leaves_every_other_unit_as_in_a_clean_run(pristine, tmp_path, damage):
    clean_config = area_copy(pristine, tmp_path / "clean")
    assert sync(clean_config).exit_code in (0, 1)
    clean_tabs, clean_mails = outputs(tmp_path / "clean")

    broken_config = area_copy(pristine, tmp_path / "broken")
    victim = sorted((tmp_path / "broken" / "sheets").glob("idplan-1*.xlsx"))[3]
    code = victim.stem.removeprefix("idplan-")
    damage(victim)
    result = sync(broken_config)

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert code in result.stdout and victim.stem in result.stdout
    tabs, mails = outputs(tmp_path / "broken")
    assert victim.stem not in tabs and code not in mails
    expected_tabs = {k: v for k, v in clean_tabs.items() if k != victim.stem}
    assert without_date(tabs) == without_date(expected_tabs)
    assert mails == {k: v for k, v in clean_mails.items() if k != code}
    assert len(mails) == SCHOOLS  # every school but one, and the office

    dashboard = load_workbook(tmp_path / "broken" / "sheets" / "dashboard.xlsx", read_only=True)
    fix = [list(r) for r in dashboard["ข้อมูลที่ต้องแก้ไข"].iter_rows(values_only=True)]
    assert any(r[0] == victim.stem and str(r[3]) == code for r in fix[1:])


def test_a_school_file_open_in_excel_is_left_for_this_run_and_written_on_the_next(pristine, tmp_path):
    """Excel's owner file beside a school's file: the school is named with who has it open, its file
    is not touched, every other school is written; once closed, the next run writes it."""
    config = area_copy(pristine, tmp_path / "area")
    victim = sorted((tmp_path / "area" / "sheets").glob("idplan-1*.xlsx"))[3]
    code = victim.stem.removeprefix("idplan-")
    owner = victim.with_name(f"~${victim.name}")
    owner.write_bytes(shapes.excel_owner_file("สมศรี ใจดี"))
    before = victim.read_bytes()

    result = sync(config)
    assert result.exit_code == 1, result.output
    named = [line for line in result.stdout.splitlines() if line.startswith(f"หน่วยงาน {code} ")]
    assert len(named) == 1 and "Excel ของ สมศรี ใจดี" in named[0] and "รันครั้งถัดไป" in named[0], result.stdout
    assert victim.read_bytes() == before
    tabs, _ = outputs(tmp_path / "area")
    assert victim.stem not in tabs and len(tabs) == SCHOOLS  # every other school, and the office

    owner.unlink()  # the person saved and closed the file
    sync(config)
    tabs, _ = outputs(tmp_path / "area")
    assert victim.stem in tabs and len(tabs) == SCHOOLS + 1
