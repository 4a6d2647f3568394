"""`devplan demo`: the sample area end to end, checked against the generator's manifest."""

from __future__ import annotations

import email
import json
import re
from datetime import date
from email.policy import default as default_policy

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.collect import read_idplans, read_sources
from pipeline.config import load_settings
from pipeline.indicators import load_indicators
from pipeline.indicators.compute import measure
from pipeline.normalize import normalize, unit_codes
from pipeline.thai import normalize_national_id
from pipeline.workbook.local import LocalWorkbook
from tests.conftest import DEMO_CONFIG

ID_PATTERN = re.compile(r"(?<!\d)\d{13}(?!\d)")
QUARANTINED_KINDS = (
    "unknown_person", "bad_date", "empty_date", "duplicate_roster_id", "conflicted_person_row", "cost_unreadable",
)
# A roster's (position cell, standing cell) as typed -> (ก.ค.ศ. position, วิทยฐานะ); None: the standing
# cell's own. {school} is the person's school's name, which is not part of the position. คศ.1 is a ครู's
# first rank, without a วิทยฐานะ; คศ.2 = ชำนาญการ. เจ้าพนักงานธุรการ and นักวิชาการเงินและบัญชี are
# posts of บุคลากรทางการศึกษาอื่น (มาตรา 38 ค.(2)): ชำนาญงาน is the second level of the general line,
# ปฏิบัติการ the entry level of the academic line (no standing).
SUPPORT = "บุคลากรทางการศึกษาอื่น 38 ค.(2)"
POSITION_READINGS = {
    ("ครู คศ.2", None): ("ครู", "ชำนาญการ"),
    ("ครู ค.ศ.1", None): ("ครู", ""),
    ("ครูชำนาญการพิเศษ", None): ("ครู", "ชำนาญการพิเศษ"),
    ("ครู", "ครู คศ.2"): ("ครู", "ชำนาญการ"),
    ("ครู ผู้ช่วย", None): ("ครูผู้ช่วย", ""),
    ("ผอ.โรงเรียน", None): ("ผู้อำนวยการสถานศึกษา", None),
    ("ผอ.ร.ร.{school}", None): ("ผู้อำนวยการสถานศึกษา", None),
    ("รอง ผอ.", None): ("รองผู้อำนวยการสถานศึกษา", None),
    ("เจ้าพนักงานธุรการชำนาญงาน", None): (SUPPORT, "ชำนาญงาน"),
    ("นักวิชาการเงินและบัญชีปฏิบัติการ", None): (SUPPORT, ""),
}
NO_STANDING = (None, "", "ไม่มี")


def bare_code(typed) -> str:
    """A unit code without a spreadsheet's leftovers: a leading apostrophe, a ".0" tail."""
    return str(typed).strip().lstrip("'").removesuffix(".0")


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

    def written(row):  # a Thai title glued to the name (นายสมชาย ใจดี), a Latin one spaced (Mr. John Smith)
        prefix = cell(row, columns.prefix)
        return f"{prefix}{' ' if prefix.isascii() and prefix else ''}{cell(row, columns.first_name)}"

    # "- <title><first> <last> (x-" is how the text mail lists a person; names are unique in the sample.
    people = [
        (f"- {written(r)} {cell(r, columns.last_name)} (x-", bare_code(cell(r, columns.unit_code)))
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
    reasons = {(r[0], r[2]): r[4] for r in tabs["ข้อมูลที่ต้องแก้ไข"][1:]}
    for entry in spoiled:
        if entry["kind"] == "empty_date":  # said to be empty, not unreadable
            assert "ยังว่าง" in reasons[(entry["spreadsheet"], entry["row"])]
    for entry in spoiled:
        where = (entry["spreadsheet"], entry["row"])
        if entry["kind"] == "misspelt_unit_name":
            assert "ไม่ตรงกับทะเบียน" in noted[where]
        elif entry["kind"] == "prefix_stuck_to_name":
            assert "แยกคำนำหน้า" in noted[where]
        elif entry["kind"] == "bad_id_name_match":
            assert "จับคู่ด้วยชื่อ" in noted[where]
        elif entry["kind"] == "funding_unknown":
            assert "แหล่งงบประมาณ" in noted[where] and "[spending.sources]" in noted[where]
        elif entry["kind"] == "cost_unreadable":
            assert "ไม่ใช่จำนวนเงิน" in reasons[where]
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
def normalized(demo):
    """The demo's sheets read and normalized again."""
    settings, book, manifest, _ = demo
    raw = read_sources(book, settings)
    raw = read_idplans(book, settings, raw, unit_codes(raw.units, settings.area.office_code))
    return settings, raw, normalize(raw, settings), manifest


@pytest.fixture(scope="module")
def matched(normalized):
    """Every credited row with where it came from."""
    _, raw, data, manifest = normalized
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
     ("id_match_other_name", "ไม่ตรงกับชื่อในทะเบียน"), ("unicode_name", "จับคู่ด้วยชื่อ"),
     ("title_typed_otherwise", "จับคู่ด้วยชื่อ"), ("sara_am_before_tone", "จับคู่ด้วยชื่อ")],
)
def test_rows_identified_otherwise_are_credited_to_the_right_person_and_noted(matched, kind, noted):
    _, credited, _, notes, manifest = matched
    names = [e for e in _entries(manifest, kind) if kind != "sara_am_before_tone" or _column(manifest, e) == "ชื่อ-นามสกุล"]
    assert names
    for sheet, tab, row, nid in names:
        assert credited[(sheet, tab, row)] == nid
        assert any(noted in reason for reason in notes[(sheet, tab, row)]), notes[(sheet, tab, row)]


def _column(manifest, entry):
    """The spoiled column of a manifest entry given as (sheet, tab, row, national ID)."""
    return next(e["column"] for e in manifest["spoiled"] if (e["spreadsheet"], e["tab"], e["row"], e["national_id"]) == entry)


def test_titles_typed_otherwise_cover_ranks_acting_academic_civil_and_latin_titles(matched):
    """The demo types every kind of title another way; what was typed is never part of the name compared."""
    typed = [re.search(r"name typed '(.+?)' \(roster title: '(.+?)'\)", e["detail"]).groups()
             for e in matched[4]["spoiled"] if e["kind"] == "title_typed_otherwise"]
    for starts in (("จ.ส.อ.", "จสอ."), ("ว่าที่ ร.ต.", "ว่าที่ รต.", "ว่าที่ร.ต."), ("น.ส ", "นส "),
                   ("ผู้ช่วยศาสตราจารย์ ดร.", "ผศ. ดร."), ("ครู",)):
        assert any(name.startswith(starts) for name, _ in typed), starts
    assert any(name.isupper() for name, _ in typed) and any(name.islower() for name, _ in typed)
    assert {title for _, title in typed} >= {"ว่าที่ร้อยตรี", "ว่าที่ร้อยตรีหญิง", "จ่าสิบเอก", "ดร.", "ผศ.ดร.", "Mr."}


def _rows(frame):
    return {(r["_sheet"], r["_tab"], int(r["_row"])): r for r in frame.to_dict("records")}


def test_names_in_another_unicode_spelling_are_matched_in_the_survey_and_the_records(normalized, matched):
    """Both spellings are in the demo, in both places (credited by name: the parametrized test above)."""
    settings, raw, _, _ = normalized
    typed = {**_rows(raw.survey), **_rows(raw.records)}
    entries = _entries(matched[4], "unicode_name")
    assert {tab for _, tab, _, _ in entries} == {settings.sources.survey.tab, settings.sources.idplan.record_tab}
    names = [typed[(sheet, tab, row)]["full_name"] for sheet, tab, row, _ in entries]
    assert any("\u0e4d\u0e32" in name for name in names)  # nikhahit + sara aa for sara am
    assert any(re.search("[\u0e48-\u0e4b][\u0e31\u0e34-\u0e37\u0e47]", name) for name in names)  # tone, then vowel


@pytest.mark.parametrize(
    "kind", ["id_sheet_leftover", "school_word_in_unit_name", "school_name_punctuation", "sara_am_before_tone"],
)
def test_sheet_leftovers_and_school_names_are_read_without_a_note(matched, kind):
    """Matched by the ID as usual: no name or e-mail match, and no unit name 'mismatch' (a school's name
    with ร.ร, a full stop, its second name's brackets dropped, or sara am typed before the tone mark)."""
    _, credited, _, notes, manifest = matched
    rows = [e for e in _entries(manifest, kind) if kind != "sara_am_before_tone" or _column(manifest, e) != "ชื่อ-นามสกุล"]
    assert rows
    for sheet, tab, row, nid in rows:
        assert credited[(sheet, tab, row)] == nid
        assert (sheet, tab, row) not in notes, notes[(sheet, tab, row)]


def test_school_names_typed_with_other_punctuation_include_a_second_name_without_brackets(matched):
    details = [e["detail"] for e in matched[4]["spoiled"] if e["kind"] == "school_name_punctuation"]
    assert any(d.startswith("school name typed 'ร.ร ") for d in details)
    assert any(d.endswith(".'") for d in details)
    assert any("(" not in d and " " in d.removeprefix("school name typed '").removeprefix("ร.ร ") for d in details)


def test_positions_typed_otherwise_are_read_and_counted_in_the_right_populations(demo, normalized):
    settings, book, _, _ = demo
    _, _, data, manifest = normalized
    src, columns = settings.sources.staff, settings.sources.staff.columns
    sheet = book.read(src.spreadsheet, [src.tab])[src.tab]
    staff = data.staff.set_index("staff_id")
    indicators = load_indicators(settings.indicators.file, list(settings.vocabulary.development_kinds))
    by_position = [i for i in indicators if i.population.positions]
    assert by_position
    scores = measure(data, indicators, settings.area.fiscal_year)
    counted = set(zip(scores.people["staff_id"], scores.people["indicator"]))
    schools = dict(zip(data.units["code"], data.units["name"]))
    seen = set()
    for _, _, row, nid in _entries(manifest, "position_typed_otherwise"):
        cells = dict(zip(sheet[0], sheet[row - 1]))
        typed, standing_cell = cells[columns.position], cells[columns.standing]
        typed = typed.replace(schools[staff.loc[nid, "unit_code"]], "{school}")
        key = (typed, standing_cell) if (typed, standing_cell) in POSITION_READINGS else (typed, None)
        seen.add(key)
        position, standing = POSITION_READINGS[key]
        if standing is None:
            standing = "" if standing_cell in NO_STANDING else standing_cell
        assert (staff.loc[nid, "position"], staff.loc[nid, "standing"]) == (position, standing), typed
        for ind in by_position:
            assert ((nid, ind.id) in counted) == (position in ind.population.positions), (typed, ind.id)
    assert seen == set(POSITION_READINGS)


def test_unit_codes_with_sheet_leftovers_keep_the_person_in_the_unit(demo, normalized):
    settings, book, _, _ = demo
    _, _, data, manifest = normalized
    schools, _, sheet = _roster(settings, book)
    at = sheet[0].index(settings.sources.staff.columns.unit_code)
    staff = data.staff.set_index("staff_id")
    typed = []
    for _, _, row, nid in _entries(manifest, "unit_code_leftover"):
        cell = sheet[row - 1][at]
        typed.append(cell)
        assert bare_code(cell) in schools and staff.loc[nid, "unit_code"] == bare_code(cell)
    assert any(t.startswith("'") for t in typed) and any(t.endswith(".0") for t in typed)


@pytest.mark.parametrize("kind", ["date_as_text", "date_typed_otherwise"])
def test_record_dates_typed_as_text_are_read_into_the_right_fiscal_year(normalized, matched, kind):
    settings, _, data, _ = normalized
    _, credited, _, _, manifest = matched
    records = _rows(data.records)
    fy = settings.area.fiscal_year
    years = set()
    for sheet, tab, row, nid in _entries(manifest, kind):
        entry = next(e for e in manifest["spoiled"] if (e["spreadsheet"], e["row"], e["kind"]) == (sheet, row, kind))
        true = date.fromisoformat(re.search(r"\d{4}-\d{2}-\d{2}", entry["detail"]).group(0))
        # Thai fiscal year: 1 Oct – 30 Sep, named by the Buddhist-era year it ends in
        expected = true.year + 543 + (1 if true.month >= 10 else 0)
        assert (expected == fy) == (date(2018, 10, 1) <= true <= date(2019, 9, 30))
        record = records[(sheet, tab, row)]
        assert (record["date"], record["fiscal_year"], credited[(sheet, tab, row)]) == (true, expected, nid)
        years.add(expected)
    assert years == {fy, fy - 1} if kind == "date_as_text" else years == {fy}


def test_dates_typed_otherwise_include_a_sentence_an_english_month_dashes_and_a_us_timestamp(matched):
    typed = [re.search(r"date typed '(.+?)'", e["detail"]).group(1)
             for e in matched[4]["spoiled"] if e["kind"] == "date_typed_otherwise"]
    assert any(t.startswith("วันที่ ") and "เดือน" in t and "พ.ศ." in t for t in typed)
    assert any(re.fullmatch(r"\d+ [A-Z][a-z]+ \d{4}", t) for t in typed)
    assert any(re.fullmatch(r"\d+-\S+\.-\d\d", t) for t in typed)
    # month/day/year: the second field is above 12, so it can only be read one way
    assert any((m := re.fullmatch(r"(\d+)/(\d+)/\d{4} \d+:\d\d:\d\d", t)) and int(m.group(2)) > 12 for t in typed)


def _checkbox_answers(normalized, matched, kind):
    """(options, typed cell, answers read) of each checkbox cell spoiled as ``kind``, each credited right;
    both checkbox questions are among them."""
    settings, raw, data, _ = normalized
    _, credited, _, _, manifest = matched
    raw_rows, survey = _rows(raw.survey), _rows(data.survey)
    cols, vocabulary = settings.sources.survey.columns, settings.vocabulary
    found, fields = [], set()
    for entry in (e for e in manifest["spoiled"] if e["kind"] == kind):
        where = (entry["spreadsheet"], entry["tab"], entry["row"])
        field, options = {cols.methods: ("methods", vocabulary.survey_methods),
                          cols.topics: ("topics", vocabulary.survey_topics)}[entry["column"]]
        fields.add(field)
        assert credited[where] == entry["national_id"]
        found.append((entry, options, raw_rows[where][field], tuple(survey[where][field])))
    assert fields == {"methods", "topics"}
    return found


def test_a_trailing_checkbox_separator_gives_only_the_checked_options(normalized, matched):
    for _, options, typed, answers in _checkbox_answers(normalized, matched, "checkbox_trailing_separator"):
        checked = typed.removesuffix(", ")
        assert typed != checked
        assert ", ".join(answers) == checked and all(a in options for a in answers)


def test_other_answers_with_commas_are_one_answer_after_the_known_options(normalized, matched):
    for entry, options, typed, answers in _checkbox_answers(normalized, matched, "other_answer_with_commas"):
        other = re.search(r"Other answer '(.+)' typed", entry["detail"]).group(1)
        assert "," in other
        checked = typed.removesuffix(f", {other}")
        chosen = [o for o in options if o in checked]
        assert checked != typed and ", ".join(chosen) == checked
        assert answers == (*chosen, other), typed
