"""The command line: Thai help, the indicators listing, and errors as Thai messages with exit codes.

Exit codes: 2 config (ConfigError), 3 source (SourceError). Messages go to
stderr (``result.stderr``); ``result.output`` is what a person sees on screen.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.conftest import DEMO_CONFIG, write_config
from tests.conftest import PLAN_TARGETS as PLAN

THAI = re.compile("[\u0e00-\u0e7f]")



def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def built(tmp_path, config_file):
    """The hand-built area written into the config's storage folder."""
    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    return settings, book, config_file


def assert_reported(result, code: int, *needles: str) -> None:
    """A Thai error on stderr with the given exit code, naming every needle, and no traceback."""
    assert result.exit_code == code, result.output
    assert "ข้อผิดพลาด" in result.stderr
    assert "วิธีแก้" in result.stderr
    for needle in needles:
        assert needle in result.stderr, needle
    assert "Traceback" not in result.output


# --- help ----------------------------------------------------------------------


def test_group_help_is_thai():
    result = run("--help")
    assert result.exit_code == 0
    assert THAI.search(result.output)
    for name in cli.commands:
        assert name in result.output


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_thai_help(name):
    result = run(name, "--help")
    assert result.exit_code == 0, result.output
    assert f"Usage: cli {name}" in result.output or f"{name} [OPTIONS]" in result.output
    assert THAI.search(result.output)


# --- indicators -------------------------------------------------------------------


def test_indicators_json_lists_the_plans_eight_with_their_targets():
    result = run("indicators", "--year", "2562", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 8
    for row in rows:
        assert {"id", "strategy", "name", "unit", "year", "target"} <= set(row)
        assert row["unit"] in ("staff", "unit")
        assert row["year"] == 2562
    got = {r["id"]: (r["strategy"], r["unit"], r["target"]) for r in rows}
    assert got == {k: (strategy, unit, t62) for k, (strategy, unit, _, t62, _) in PLAN.items()}


@pytest.mark.parametrize("year, column", [(2561, 2), (2563, 4)])
def test_indicators_json_other_plan_years(year, column):
    rows = json.loads(run("indicators", "--year", str(year), "--format", "json").stdout)
    assert {r["id"]: r["target"] for r in rows} == {k: v[column] for k, v in PLAN.items()}
    assert {r["year"] for r in rows} == {year}


def test_indicators_after_the_plan_have_no_target():
    rows = json.loads(run("indicators", "--year", "2565", "--format", "json").stdout)
    assert len(rows) == 8
    assert all(r["target"] is None for r in rows)

    table = run("indicators", "--year", "2565")
    assert table.exit_code == 0
    assert table.stdout.count("ไม่มีเป้าหมาย") == 8
    assert "2565" in table.stdout


def test_indicators_table_shows_targets_and_counting_unit():
    result = run("indicators", "--year", "2562")
    assert result.exit_code == 0
    assert result.stdout.count("เป้าหมายร้อยละ") == 8
    assert "[research_admin] ยุทธศาสตร์ที่ 2, นับเป็นหน่วยงาน, เป้าหมายร้อยละ 75" in result.stdout
    assert "[tepe_online] ยุทธศาสตร์ที่ 3, นับเป็นคน, เป้าหมายร้อยละ 70" in result.stdout


def test_indicators_take_the_year_from_the_settings_file(config_file):
    rows = json.loads(run("indicators", "--config", str(config_file), "--format", "json").stdout)
    assert {r["year"] for r in rows} == {2562}  # demo fiscal_year
    assert {r["id"]: r["target"] for r in rows}["office_needs"] == 75

    rows = json.loads(run("indicators", "--config", str(DEMO_CONFIG), "--format", "json").stdout)
    assert {r["year"] for r in rows} == {2562}


def test_indicators_year_flag_wins_over_the_settings_file(config_file):
    rows = json.loads(run("indicators", "--config", str(config_file), "--year", "2563", "--format", "json").stdout)
    assert {r["year"] for r in rows} == {2563}


def test_indicators_with_a_broken_settings_file_is_a_config_error(tmp_path):
    path = write_config(tmp_path, **{"fiscal_year = 2562": "fiscal_yaer = 2562"})
    assert_reported(run("indicators", "--config", str(path)), 2, "area.fiscal_yaer")


# --- config errors -------------------------------------------------------------------


def test_sync_with_an_unknown_key_says_which_and_exits_2(tmp_path):
    path = write_config(tmp_path, **{"fiscal_year = 2562": "fiscal_yaer = 2562"})
    result = run("sync", "--config", str(path))
    assert_reported(result, 2, "area.fiscal_yaer", str(path))
    assert result.stdout == ""


def test_debug_adds_the_traceback_and_keeps_the_exit_code(tmp_path):
    path = write_config(tmp_path, **{"fiscal_year = 2562": "fiscal_yaer = 2562"})
    plain, result = run("sync", "--config", str(path)), run("--debug", "sync", "--config", str(path))
    assert result.exit_code == plain.exit_code == ConfigError.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr and "ConfigError" in result.stderr
    assert "Traceback" not in plain.stderr
    assert plain.stderr in result.stderr  # the same Thai message and hint, after the traceback


def test_sync_with_a_missing_config_file_exits_2(tmp_path):
    assert_reported(run("sync", "--config", str(tmp_path / "none.toml")), 2, str(tmp_path / "none.toml"))


def test_send_without_smtp_host_exits_2_with_a_hint(built):
    _, _, config_file = built
    result = run("sync", "--config", str(config_file), "--send")
    assert_reported(result, 2, "DEVPLAN_SMTP_HOST", "--send")


def test_sync_without_config_is_a_usage_error():
    result = run("sync")
    assert result.exit_code == 2
    assert "Usage:" in result.output
    assert "--config" in result.output
    assert "ไม่คาดคิด" not in result.output


def test_sync_without_config_fails_and_says_config_is_needed():
    result = run("sync")
    assert result.exit_code != 0
    assert "--config" in result.output
    assert "Traceback" not in result.output


# --- source errors -------------------------------------------------------------------


def test_missing_roster_names_the_spreadsheet_and_file(tmp_path, config_file):
    result = run("sync", "--config", str(config_file))
    assert_reported(result, 3, "'roster'", str(tmp_path / "sheets" / "roster.xlsx"))


def test_missing_idplan_spreadsheet_is_that_units_problem_only(built):
    settings, book, config_file = built
    key = settings.sources.idplan.key_for(hand_area.SCHOOL_B)
    book.path(key).unlink()
    result = run("sync", "--config", str(config_file))
    assert result.exit_code == 1, result.output
    assert key in result.stdout and "Traceback" not in result.output
    other = settings.sources.idplan.key_for(hand_area.SCHOOL_A)
    assert other not in result.stdout  # only the missing one is named
    # every other unit is still written, and the dashboard lists the one left out
    assert settings.output.summary_tab in book.tabs(other)
    fix = book.read(settings.output.dashboard, ["ข้อมูลที่ต้องแก้ไข"])["ข้อมูลที่ต้องแก้ไข"]
    assert [r for r in fix if r[0] == key and r[3] == hand_area.SCHOOL_B]


def test_missing_column_names_tab_column_and_config_key(built):
    settings, book, config_file = built
    staff = settings.sources.staff
    roster = book.read(staff.spreadsheet, [staff.tab])[staff.tab]
    drop = roster[0].index("นามสกุล")
    book.write(staff.spreadsheet, {staff.tab: [row[:drop] + row[drop + 1:] for row in roster]})

    result = run("sync", "--config", str(config_file))
    assert_reported(result, 3, "'roster'", "'บุคลากร'", "'นามสกุล'", "sources.staff.columns.last_name")


def test_missing_column_in_an_idplan_tab_names_its_config_key(built):
    settings, book, config_file = built
    idplan = settings.sources.idplan
    key = idplan.key_for(hand_area.OFFICE)
    records = book.read(key, [idplan.record_tab])[idplan.record_tab]
    records[0] = ["สถานะการพัฒนา" if h == "สถานะ" else h for h in records[0]]
    book.write(key, {idplan.record_tab: records})

    result = run("sync", "--config", str(config_file))
    assert result.exit_code == 1, result.output
    for needle in (key, "'บันทึกการพัฒนา'", "'สถานะ'"):
        assert needle in result.stdout, needle
    # one unit's renamed header is fixed in its sheet, not in the config every unit shares
    assert "ไม่ควรแก้ไฟล์ตั้งค่า" in result.stdout


def test_missing_tab_names_the_tab(built):
    settings, _, config_file = built
    path = settings.storage.path / "roster.xlsx"
    raw = load_workbook(path)
    raw["บุคลากร"].title = "Sheet2"
    raw.save(path)

    result = run("sync", "--config", str(config_file))
    assert_reported(result, 3, "'บุคลากร'", str(path), "Sheet2")


def test_sync_on_the_hand_area_finishes_and_counts_what_needs_a_person(built):
    _, _, config_file = built
    result = run("sync", "--config", str(config_file))
    # Exit 1: done, but the hand area's 4 bad rows (bad check digit, a date, two strangers) need a person.
    assert result.exit_code == 1, result.output
    assert "ปีงบประมาณ 2562" in result.stdout
    assert "ข้อผิดพลาด" not in result.output
    assert "ต้องมีคนดูแล: แถวที่ต้องแก้ไข 4 แถว" in result.stdout
    assert "หน่วยงานที่ตกหล่น (ไม่ได้รับอีเมลสรุปผล) 0 แห่ง" in result.stdout


def test_year_flag_reaches_the_run(built):
    _, _, config_file = built
    result = run("sync", "--config", str(config_file), "--year", "2563")
    assert result.exit_code == 1, result.output
    assert "ปีงบประมาณ 2563" in result.stdout


def test_pad_counts_thai_marks_as_zero_width():
    from pipeline.present import pad

    # "ตัวชี้วัด" is 9 code points: letters ต ว ช ว ด take 5 cells, marks ั ี ้ ั take none.
    assert pad("ตัวชี้วัด", 8) == "ตัวชี้วัด" + " " * 3
    assert pad("plc", 8) == "plc" + " " * 5
    assert pad("ยาวเกินความกว้าง", 4).endswith(" ")   # never glued to the next column


def test_sample_refuses_to_overwrite_real_spreadsheets_but_refreshes_its_own(tmp_path):
    real = tmp_path / "area" / "sheets"
    LocalWorkbook(real).write("roster", {"บุคลากร": [["ของจริง"]]})
    result = run("sample", "--out", str(tmp_path / "area"), "--schools", "2")
    assert result.exit_code == 2 and "--out" in result.stderr
    assert LocalWorkbook(real).read("roster", ["บุคลากร"])["บุคลากร"] == [["ของจริง"]]
    # A folder devplan made itself (it has the manifest) may be made again.
    assert run("sample", "--out", str(tmp_path / "demo"), "--schools", "2").exit_code == 0
    assert run("sample", "--out", str(tmp_path / "demo"), "--schools", "2").exit_code == 0
