"""Odd but real inputs never crash a run: empty tabs, numbers where text was expected, and so on."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.sync import run_sync
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.hand_area import OFFICE, SCHOOL_A, SCHOOL_B, nid


def _area(config_file):
    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    return settings, book


def _header_only(book, key, tab):
    rows = book.read(key, [tab])[tab]
    book.write(key, {tab: rows[:1]})


def test_header_only_tabs_give_zero_figures_not_a_crash(config_file):
    settings, book = _area(config_file)
    src = settings.sources
    _header_only(book, src.survey.spreadsheet, src.survey.tab)
    for code in (SCHOOL_A, SCHOOL_B, OFFICE):
        _header_only(book, src.idplan.key_for(code), src.idplan.plan_tab)
        _header_only(book, src.idplan.key_for(code), src.idplan.record_tab)
    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file)])
    # Done, but the empty survey is reported, not left as a silent 0/4 for office_needs.
    assert result.exit_code == 1, result.output
    assert (
        f"ปัญหา: แบบสำรวจ '{src.survey.spreadsheet}' แท็บ '{src.survey.tab}' มีแต่หัวตาราง ไม่มีคำตอบเลย" in result.stdout
    )
    assert "(office_needs) จึงเป็น 0/4" in result.stdout
    run = run_sync(settings)
    area = {row.id: row for row in run.area.indicators}
    assert (area["id_plan"].met, area["id_plan"].population) == (0, 11)
    assert (area["plc"].met, area["plc"].population) == (0, 4)


def test_cells_typed_as_numbers_serials_and_thai_digits_are_read(config_file):
    settings, book = _area(config_file)
    src = settings.sources.idplan
    key = src.key_for(SCHOOL_B)
    tabs = book.read(key, [src.record_tab])
    head = tabs[src.record_tab][0]
    # B3's TEPE Online, now done: ID stored as a number, date as a serial (43685 = 8 Aug 2019),
    # hours typed in Thai digits.
    row = [None] * len(head)
    values = {
        settings.sources.idplan.record_columns.date: 43685,
        settings.sources.idplan.record_columns.national_id: int(nid("B3")),
        settings.sources.idplan.record_columns.full_name: "",
        settings.sources.idplan.record_columns.kind: "tepe online",   # case differs from the list
        settings.sources.idplan.record_columns.topic: "TEPE",
        settings.sources.idplan.record_columns.hours: "๑๒",
        settings.sources.idplan.record_columns.status: " เสร็จสิ้น ",
    }
    for column, value in values.items():
        row[head.index(column)] = value
    book.write(key, {src.record_tab: [*tabs[src.record_tab], row]})
    run = run_sync(settings)
    area = {r.id: r for r in run.area.indicators}
    assert (area["tepe_online"].met, area["tepe_online"].population) == (2, 2)  # was 1/2
    b3 = run.data.records[(run.data.records["staff_id"] == nid("B3")) & run.data.records["done"]]
    assert list(b3["hours"]) == [12]


def test_a_school_with_no_staff_is_listed_with_empty_figures(config_file):
    settings, book = _area(config_file)
    units = settings.sources.units
    tabs = book.read(units.spreadsheet, [units.tab, settings.sources.staff.tab])
    empty_school = ["1067000003", "บ้านว่าง", "โรงเรียน", "น้ำหนาว", "c@school.test", "ไม่ใช่", "", 10, 1]
    book.write(units.spreadsheet, {units.tab: [*tabs[units.tab], empty_school]})
    plan, record = settings.sources.idplan.plan_tab, settings.sources.idplan.record_tab
    heads = book.read(settings.sources.idplan.key_for(SCHOOL_A), [plan, record])
    book.write(settings.sources.idplan.key_for("1067000003"), {plan: heads[plan][:1], record: heads[record][:1]})
    run = run_sync(settings)
    unit_rows = {u.code: u for u in run.area.units}
    assert unit_rows["1067000003"].staff == 0
    plc = next(i for i in unit_rows["1067000003"].indicators if i.id == "plc")
    assert (plc.met, plc.population) == (0, 1)   # the school still counts as a unit
    assert (settings.output.outbox / "1067000003.eml").exists()


JUNK = [
    None, "", "   ", "=1+1", "๑๒๓", "-", 0, -5, 3.5, 10**15, "31/2/2562", "ยังไม่ระบุ",
    "นางสาว", "x" * 300, "\u200bซ่อน", True, "2562-13-45", "1/1/1900", 1e300,
]


@pytest.mark.parametrize("seed", range(12))
def test_junk_in_any_data_cell_never_crashes_the_run(config_file, seed):
    """Scatter junk over every source tab's data cells (headers kept): the run must finish."""
    rng = random.Random(seed)
    settings, book = _area(config_file)
    src = settings.sources
    targets = [(src.units.spreadsheet, [src.units.tab, src.staff.tab]), (src.survey.spreadsheet, [src.survey.tab])]
    targets += [(src.idplan.key_for(c), [src.idplan.plan_tab, src.idplan.record_tab]) for c in (SCHOOL_A, SCHOOL_B, OFFICE)]
    for key, tabs in targets:
        read = book.read(key, tabs)
        for rows in read.values():
            for row in rows[1:]:
                for column in range(len(row)):
                    if rng.random() < 0.25:
                        row[column] = rng.choice(JUNK)
        book.write(key, read)
    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file)])
    assert result.exit_code in (0, 1), result.output  # 1: done, junk rows listed for a person
    assert "ไม่คาดคิด" not in result.output
