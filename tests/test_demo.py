"""`devplan demo`: the sample area end to end, checked against the generator's manifest."""

from __future__ import annotations

import email
import json
import re
from email.policy import default as default_policy

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.collect import read_idplans, read_sources
from pipeline.config import load_settings
from pipeline.normalize import normalize, unit_codes
from pipeline.thai import normalize_national_id
from pipeline.workbook.local import LocalWorkbook
from tests.conftest import DEMO_CONFIG

ID_PATTERN = re.compile(r"(?<!\d)\d{13}(?!\d)")
QUARANTINED_KINDS = ("unknown_person", "bad_date", "duplicate_roster_id", "conflicted_person_row")


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
    must_quarantine = {(e["spreadsheet"], e["row"]) for e in spoiled if e["kind"] in QUARANTINED_KINDS}
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
    # the two people who share one roster ID are counted nowhere until the roster is fixed
    conflicted = {e["national_id"] for e in manifest["spoiled"] if e["kind"] == "duplicate_roster_id"}
    without = {e["national_id"] for e in manifest["spoiled"] if e["kind"] == "no_id_plan"} - conflicted
    staff = manifest["counts"]["staff"] - len(conflicted)
    area = book.read("dashboard", ["ภาพรวมเขตพื้นที่"])["ภาพรวมเขตพื้นที่"]
    row = next(r for r in area if r and r[0] == "บุคลากรจัดทำ ID Plan")  # the short name
    assert len(conflicted) == 2
    assert (row[5], row[4]) == (staff, staff - len(without))  # population, met
    assert f"{staff - len(without)}/{staff}" in result.output.replace(" ", "")


def test_report_prints_counts_and_paths(demo):
    settings, _, manifest, result = demo
    assert f"โรงเรียน {manifest['counts']['schools']} แห่ง" in result.output
    assert str(settings.output.outbox) in result.output
    assert str(settings.storage.path) in result.output


@pytest.fixture(scope="module")
def matched(demo):
    """The demo's sheets read and matched again: every credited row with where it came from."""
    settings, book, manifest, _ = demo
    raw = read_sources(book, settings)
    raw = read_idplans(book, settings, raw, unit_codes(raw.units, settings.area.office_code))
    data = normalize(raw, settings)
    credited = {}
    for frame in (data.survey, data.plans, data.records):
        for r in frame.to_dict("records"):
            credited[(r["_sheet"], r["_tab"], int(r["_row"]))] = r["staff_id"]
    quarantined = {(r["_sheet"], r["_tab"], int(r["_row"])): r["reason"] for r in data.quarantine.to_dict("records")}
    notes: dict[tuple, list[str]] = {}
    for r in data.notes.to_dict("records"):
        notes.setdefault((r["_sheet"], r["_tab"], int(r["_row"])), []).append(r["reason"])
    return raw, credited, quarantined, notes, manifest


def test_no_row_is_credited_to_a_wrong_person(matched):
    raw, credited, _, _, manifest = matched
    # The true person of a row: the manifest's, if the row was spoiled; else the ID typed in it.
    true = {}
    for frame in (raw.survey, raw.plans, raw.records):
        for r in frame.to_dict("records"):
            true[(r["_sheet"], r["_tab"], int(r["_row"]))] = normalize_national_id(r.get("national_id"))
    for e in manifest["spoiled"]:
        if e["row"] is not None:
            true[(e["spreadsheet"], e["tab"], e["row"])] = e["national_id"]
    wrong = [(where, sid, true.get(where)) for where, sid in credited.items() if sid != true.get(where)]
    assert len(credited) > 3000 and wrong == []


def _entries(manifest, kind):
    found = [(e["spreadsheet"], e["tab"], e["row"], e["national_id"]) for e in manifest["spoiled"] if e["kind"] == kind]
    assert found, kind
    return found


def test_rows_of_two_people_sharing_a_roster_id_are_quarantined_with_the_conflict(matched):
    _, credited, quarantined, _, manifest = matched
    rows = _entries(manifest, "duplicate_roster_id") + _entries(manifest, "conflicted_person_row")
    assert len(rows) > 2
    conflicted = {nid for *_, nid in rows}
    assert not conflicted & set(credited.values())
    for sheet, tab, row, _ in rows:
        assert "ซ้ำกันในทะเบียน" in quarantined[(sheet, tab, row)], (sheet, tab, row)


@pytest.mark.parametrize(
    "kind, noted",
    [("email_only_survey", "จับคู่ด้วยอีเมล"), ("name_other_prefix", "จับคู่ด้วยชื่อ"),
     ("id_match_other_name", "ไม่ตรงกับชื่อในทะเบียน")],
)
def test_rows_identified_otherwise_are_credited_to_the_right_person_and_noted(matched, kind, noted):
    _, credited, _, notes, manifest = matched
    for sheet, tab, row, nid in _entries(manifest, kind):
        assert credited[(sheet, tab, row)] == nid
        assert any(noted in reason for reason in notes[(sheet, tab, row)]), notes[(sheet, tab, row)]
