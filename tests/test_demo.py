"""`devplan demo`: the sample area end to end, checked against the generator's manifest."""

from __future__ import annotations

import email
import json
import re
from email.policy import default as default_policy

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.workbook.local import LocalWorkbook
from tests.conftest import DEMO_CONFIG

ID_PATTERN = re.compile(r"(?<!\d)\d{13}(?!\d)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    settings = load_settings(DEMO_CONFIG, {"storage.path": str(out / "sheets"), "output.outbox": str(out / "outbox")})
    manifest = json.loads((out / "sample-manifest.json").read_text(encoding="utf-8"))
    return settings, LocalWorkbook(settings.storage.path), manifest, result


def _roster(settings, book):
    src = settings.sources
    tabs = book.read(src.units.spreadsheet, [src.units.tab, src.staff.tab])
    units, staff = tabs[src.units.tab], tabs[src.staff.tab]
    code_at = units[0].index(src.units.columns.code)
    kind_at = units[0].index(src.units.columns.kind)
    schools = [r[code_at] for r in units[1:] if r[kind_at] == "โรงเรียน"]
    return schools, [r[code_at] for r in units[1:]], staff


def test_every_school_spreadsheet_has_the_summary_tab(demo):
    settings, book, manifest, _ = demo
    schools, units, _ = _roster(settings, book)
    assert len(schools) == manifest["counts"]["schools"] == 165
    for code in units:
        assert settings.output.summary_tab in book.tabs(settings.sources.idplan.key_for(code))


def test_dashboard_lists_every_unit_exactly_once(demo):
    settings, book, _, _ = demo
    _, units, _ = _roster(settings, book)
    listed = [r[0] for r in book.read("dashboard", ["รายหน่วยงาน"])["รายหน่วยงาน"][1:]]
    assert sorted(listed) == sorted(units) and len(listed) == len(set(listed))


def test_one_email_per_unit_with_only_its_own_staff_and_masked_ids(demo):
    settings, book, _, _ = demo
    _, units, staff = _roster(settings, book)
    columns = settings.sources.staff.columns
    head = staff[0]

    def cell(row, name):
        return " ".join(str(row[head.index(name)] or "").split())

    # "- <title><first> <last> (x-" is how the text mail lists a person; names are unique in the sample.
    people = [
        (f"- {cell(r, columns.prefix)}{cell(r, columns.first_name)} {cell(r, columns.last_name)} (x-", cell(r, columns.unit_code))
        for r in staff[1:]
    ]
    files = sorted(settings.output.outbox.glob("*.eml"))
    assert sorted(f.stem for f in files) == sorted(units)
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert not ID_PATTERN.search(text) and not ID_PATTERN.search(html)
        assert re.search(r"x-xxxx-xxxxx-\d\d-\d", html)
        listed = {unit for name, unit in people if name in text}
        assert listed == {path.stem}, path.stem


def test_deliberate_mess_is_repaired_or_quarantined_as_the_manifest_says(demo):
    _, book, manifest, _ = demo
    tabs = book.read("dashboard", ["ข้อมูลที่ต้องแก้ไข", "ปรับแก้อัตโนมัติ"])
    quarantined = {(r[0], r[2]) for r in tabs["ข้อมูลที่ต้องแก้ไข"][1:]}
    noted = {(r[0], r[2]): r[4] for r in tabs["ปรับแก้อัตโนมัติ"][1:]}
    spoiled = manifest["spoiled"]
    must_quarantine = {(e["spreadsheet"], e["row"]) for e in spoiled if e["kind"] in ("unknown_person", "bad_date")}
    assert must_quarantine and quarantined == must_quarantine  # nothing repairable was quarantined
    for entry in spoiled:
        where = (entry["spreadsheet"], entry["row"])
        if entry["kind"] == "misspelt_unit_name":
            assert "ไม่ตรงกับทะเบียน" in noted[where]
        elif entry["kind"] == "prefix_stuck_to_name":
            assert "แยกคำนำหน้า" in noted[where]
        elif entry["kind"] == "bad_id_name_match":
            assert "จับคู่ด้วยชื่อ" in noted[where]
        elif entry["kind"] == "duplicate_submission":
            first = int(re.search(r"row (\d+)", entry["detail"]).group(1))
            assert "ส่งแบบสำรวจซ้ำ" in noted[(entry["spreadsheet"], first)]


def test_id_plan_figure_equals_staff_minus_those_left_without_a_plan(demo):
    _, book, manifest, result = demo
    without = {e["national_id"] for e in manifest["spoiled"] if e["kind"] == "no_id_plan"}
    staff = manifest["counts"]["staff"]
    area = book.read("dashboard", ["ภาพรวมเขตพื้นที่"])["ภาพรวมเขตพื้นที่"]
    row = next(r for r in area if r and str(r[0]).endswith("จัดทำแผนพัฒนาตนเอง (ID Plan)"))
    assert (row[3], row[4]) == (staff, staff - len(without))
    assert f"{staff - len(without)}/{staff}" in result.output.replace(" ", "")


def test_report_prints_counts_and_paths(demo):
    settings, _, manifest, result = demo
    assert f"โรงเรียน {manifest['counts']['schools']} แห่ง" in result.output
    assert str(settings.output.outbox) in result.output
    assert str(settings.storage.path) in result.output
