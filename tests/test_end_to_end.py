"""The whole run on a hand-built area, checked against figures worked out by hand.

See tests/hand_area.py for the rows. FY 2562 = 1 Oct 2018 – 30 Sep 2019.
"""

from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.hand_area import OFFICE, PEOPLE, SCHOOL_A, SCHOOL_B

# Worked out by hand from tests/hand_area.py (met, population):
#  stem            STEM-school staff A1-A4; only A2 did STEM in FY 2562 (A4's was 30 Sep 2018)   1/4
#  research_admin  units A, B, office groups นิเทศ, อำนวยการ; A (A1) and อำนวยการ (O3)            2/4
#  classroom       ครู/ครูผู้ช่วย A2 A3 A4 B2 B3; A2 and B2 did classroom research               2/5
#  tepe_online     ครูผู้ช่วย A3 B3; B3 still in progress                                        1/2
#  plc             units A (A2) and นิเทศ (O1)                                                    2/4
#  id_plan         FY 2562 plans: A1 A2 A3 B1 B2 O1 O2 O3 (A4's is FY 2561)                    8/11
#  office_needs    O1 (topic = need), O3 (matches her *later* survey answer); O2 no, O4 none     2/4
#  training        A1, A3 (30 Sep 2019), B1, B2 (matched by name), O1, O2, O3                  7/11
AREA_EXPECTED = {
    "stem": (1, 4, 25.0, 100),
    "research_admin": (2, 4, 50.0, 75),
    "classroom_research": (2, 5, 40.0, 75),
    "tepe_online": (1, 2, 50.0, 70),
    "plc": (2, 4, 50.0, 70),
    "id_plan": (8, 11, 72.7, 100),
    "office_needs": (2, 4, 50.0, 75),
    "training": (7, 11, 63.6, 100),
}
SCHOOL_A_EXPECTED = {
    "stem": (1, 4), "research_admin": (1, 1), "classroom_research": (1, 3), "tepe_online": (1, 1),
    "plc": (1, 1), "id_plan": (3, 4), "office_needs": (0, 0), "training": (2, 4),
}
OFFICE_EXPECTED = {
    "stem": (0, 0), "research_admin": (1, 2), "classroom_research": (0, 0), "tepe_online": (0, 0),
    "plc": (1, 2), "id_plan": (3, 4), "office_needs": (2, 4), "training": (3, 4),
}


@pytest.fixture
def synced(tmp_path, config_file):
    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    staff_tabs_before = {
        code: book.read(settings.sources.idplan.key_for(code), [settings.sources.idplan.plan_tab, settings.sources.idplan.record_tab])
        for code in (SCHOOL_A, SCHOOL_B, OFFICE)
    }
    result = CliRunner().invoke(cli, ["sync", "--config", str(config_file)])
    assert result.exit_code == 1, result.output  # done; the hand area's 4 bad rows need a person
    return settings, book, result, staff_tabs_before


def test_area_indicators_match_hand_counts(synced):
    settings, book, result, _ = synced
    tab = book.read("dashboard", ["ภาพรวมเขตพื้นที่"])["ภาพรวมเขตพื้นที่"]
    header_at = next(i for i, r in enumerate(tab) if r and r[0] == "ตัวชี้วัด")
    rows = tab[header_at + 1 : header_at + 9]
    names = {i["id"]: i["short_name"] for i in _indicator_file()}
    got = {}
    for row in rows:
        # columns: short name, target, percent, status, met, population, counted as, strategy
        ind = next(k for k, v in names.items() if v == row[0])
        got[ind] = (row[4], row[5], row[2], row[1])
    assert got == AREA_EXPECTED
    # The printed report carries the same figures.
    assert "training" in result.output and "7/11" in result.output.replace(" ", "")


def test_unit_summary_tabs_match_hand_counts(synced):
    settings, book, _, _ = synced
    for code, expected in ((SCHOOL_A, SCHOOL_A_EXPECTED), (OFFICE, OFFICE_EXPECTED)):
        key = settings.sources.idplan.key_for(code)
        tab = book.read(key, [settings.output.summary_tab])[settings.output.summary_tab]
        header_at = next(i for i, r in enumerate(tab) if r and r[0] == "ตัวชี้วัด")
        ids = {i["short_name"]: i["id"] for i in _indicator_file()}
        rows = []
        for row in tab[header_at + 1 :]:
            if not row or row[0] is None:
                break
            rows.append(row)
        got = {ids[row[0]]: (row[4], row[5]) for row in rows}
        # an indicator that counts nobody at this unit is left out, as in the e-mail
        assert got == {k: v for k, v in expected.items() if v[1] != 0}, code


def test_staff_tabs_are_untouched(synced):
    settings, book, _, before = synced
    idplan = settings.sources.idplan
    for code, tabs in before.items():
        key = idplan.key_for(code)
        assert book.read(key, [idplan.plan_tab, idplan.record_tab]) == tabs
        assert book.tabs(key) == [idplan.plan_tab, idplan.record_tab, settings.output.summary_tab]


def test_bad_rows_are_quarantined_with_reasons(synced):
    _, book, _, _ = synced
    issues = book.read("dashboard", ["ข้อมูลที่ต้องแก้ไข"])["ข้อมูลที่ต้องแก้ไข"]
    body = issues[1:]
    assert len(body) == 4
    where = sorted((r[0], r[2]) for r in body)
    assert where == sorted([
        ("roster", 13),                  # wrong check digit (12th person row + header)
        ("idplan-1067000001", 11),       # date "ยังไม่ระบุ"
        ("idplan-1067000001", 12),       # stranger whose name is a formula
        ("needs-survey", 7),             # stranger in the survey
    ])
    reasons = " ".join(r[4] for r in body)
    assert "วันที่อ่านไม่ได้" in reasons and "ไม่พบเลขประจำตัวประชาชน" in reasons
    roster_row = next(r for r in body if r[0] == "roster")
    bad = hand_area.BAD_ID
    assert roster_row[5] == f"ผิดพลาด เลขบัตร (x-xxxx-xxxxx-{bad[10:12]}-{bad[12]})"  # who, with the ID masked


def test_formula_text_is_stored_as_text(synced, tmp_path):
    settings, _, _, _ = synced
    sheet = load_workbook(settings.storage.path / "dashboard.xlsx")["ข้อมูลที่ต้องแก้ไข"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_one_email_per_unit_naming_only_its_own_staff(synced):
    settings, _, _, _ = synced
    files = sorted(settings.output.outbox.glob("*.eml"))
    assert [f.stem for f in files] == sorted([SCHOOL_A, SCHOOL_B, OFFICE])
    units = {SCHOOL_A: "a@school.test", SCHOOL_B: "b@school.test", OFFICE: "office@area.test"}
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert message["To"] == units[path.stem]
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        own = {k for k, p in PEOPLE.items() if p[5] == path.stem}
        for key, person in PEOPLE.items():
            first = person[2].removeprefix("นาย")
            assert (first in text) == (key in own), (path.stem, key)
            assert (first in html) == (key in own), (path.stem, key)
            # National IDs appear only masked: x-xxxx-xxxxx-12-3
            assert person[0] not in text and person[0] not in html
            if key in own:
                masked = f"x-xxxx-xxxxx-{person[0][10:12]}-{person[0][12]}"
                assert masked in text and masked in html


def test_html_is_escaped(synced):
    settings, _, _, _ = synced
    message = email.message_from_bytes((settings.output.outbox / f"{SCHOOL_A}.eml").read_bytes(), policy=default_policy)
    html = message.get_body(("html",)).get_content()
    assert "&lt;b&gt;ทองดี&lt;/b&gt;" in html
    assert "<b>ทองดี" not in html
    assert '=HYPERLINK(&#34;http://evil.test&#34;' in html or "=HYPERLINK(&quot;" in html


def test_district_rows_keep_the_office_apart(synced):
    _, book, _, _ = synced
    tab = book.read("dashboard", ["รายอำเภอ"])["รายอำเภอ"]
    by_name = {r[0]: r for r in tab[1:]}
    assert by_name["หล่มสัก"][1:3] == [1, 4]          # school A only, 4 staff
    assert by_name["หล่มเก่า"][1:3] == [1, 3]         # school B, 3 valid staff
    assert by_name["สำนักงานเขตพื้นที่การศึกษา"][1:3] == [0, 4]
    # id_plan column: หล่มสัก 3/4 = 75, หล่มเก่า 2/3 = 66.7
    col = 3 + [i["id"] for i in _indicator_file()].index("id_plan")
    assert by_name["หล่มสัก"][col] == 75 and by_name["หล่มเก่า"][col] == 66.7


def test_dashboard_lists_every_unit_once(synced):
    _, book, _, _ = synced
    tab = book.read("dashboard", ["รายหน่วยงาน"])["รายหน่วยงาน"]
    assert sorted(r[0] for r in tab[1:]) == sorted([SCHOOL_A, SCHOOL_B, OFFICE])


def _indicator_file():
    import tomllib

    from tests.conftest import REPO

    return tomllib.loads((REPO / "config" / "indicators.toml").read_text(encoding="utf-8"))["indicator"]


class CountingWorkbook(LocalWorkbook):
    """The real local backend, counting the calls each stage makes."""

    def __init__(self, folder):
        super().__init__(folder)
        self.reads, self.writes = [], []

    def read(self, key, tabs):
        self.reads.append(key)
        return super().read(key, tabs)

    def write(self, key, tabs, *, own=False):
        self.writes.append(key)
        return super().write(key, tabs, own=own)

    def write_many(self, writes, *, own=False):  # each file once, here or in a writing process
        self.writes.extend(key for key, _ in writes)
        return super().write_many(writes, own=own)


def test_one_read_and_at_most_one_write_per_spreadsheet(config_file):
    from pipeline.sync import run_sync

    settings = load_settings(config_file)
    book = CountingWorkbook(settings.storage.path)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    result = run_sync(settings, workbook=book)
    idplans = [settings.sources.idplan.key_for(c) for c in (SCHOOL_A, SCHOOL_B, OFFICE)]
    # roster (units + staff tabs together), survey, and each ID Plan spreadsheet: once each.
    assert sorted(book.reads) == sorted(["roster", "needs-survey", *idplans])
    assert sorted(book.writes) == sorted([*idplans, "dashboard"])
    assert result.read_calls == 5 and result.published.write_calls == 4


def test_a_year_without_targets_says_so_instead_of_failing(config_file):
    from pipeline.sync import run_sync

    settings = load_settings(config_file, {"area.fiscal_year": 2565})
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    result = run_sync(settings)
    area = {row.id: row for row in result.area.indicators}
    assert {row.target for row in area.values()} == {None}
    assert {row.status for row in area.values()} == {"ไม่มีเป้าหมาย"}
    # Nothing in the hand area is dated in FY 2565 (1 Oct 2021 – 30 Sep 2022).
    assert (area["id_plan"].met, area["id_plan"].population) == (0, 11)
    assert (area["training"].met, area["training"].population) == (0, 11)
