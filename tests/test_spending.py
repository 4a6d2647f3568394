"""What development cost: costs as people type them, funding sources, spending per source, unit and district,
and each teacher's use of the per-teacher allocation, on the hand-built area of tests/plan_area.py.

Costs counted (FY 2562 records that give one, done or not, in the units whose record tab has the cost column:
school A and the office; school B's tab has none, so its costs are unknown, not zero), worked out by hand:

    A1  2,000 งบโรงเรียน; "3,500 บาท" สพป. (= งบเขตพื้นที่)
    A2  1,500 คูปองครู; "๒,๕๐๐" งบ สพฐ.                 (both งบ สพฐ. (คูปองครู): 4,000 of A2's allocation)
    A3  6,000 คูปองครู (under way); 5,000 คูปองครู      (11,000: 1,000 over the 10,000 allocation)
    A4  "-" (nothing spent); its Sep 2018 record (9,000) is FY 2561: not counted
    A5  "1,000.-" งบส่วนตัว                               (personal: not taken from the allocation)
    A6  "ประมาณพันห้า": unreadable, a row to fix, counted nowhere; 800 เงินบริจาคศิษย์เก่า (on no list: as typed)
    O1  "2,000" งบเขตพื้นที่
    O2  500 with the source left blank                   (ไม่ระบุแหล่งงบประมาณ, and a note)

    school A: 2,000 + 3,500 + 1,500 + 2,500 + 6,000 + 5,000 + 1,000 + 800 = 22,300 in 8 records, 1 free (A4's "-")
    office:   2,000 + 500 = 2,500 in 2 records
    area:     24,800 in 10 records: งบ สพฐ. (คูปองครู) 15,000 (4), งบเขตพื้นที่ 5,500 (2), งบโรงเรียน 2,000 (1),
              งบส่วนตัว 1,000 (1), เงินบริจาคศิษย์เก่า 800 (1), ไม่ระบุแหล่งงบประมาณ 500 (1)
    teachers (ครู, ครูผู้ช่วย) of the recording units: A2 A3 A4 A5 A6 = 5, allocation 50,000;
              used 4,000 + 11,000 = 15,000 (30 %), balance 35,000, one over (A3)
"""

from __future__ import annotations

import email
import re
from datetime import date
from email.policy import default as default_policy

import pytest

from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.money import NO_SOURCE, OBEC, funding_table, parse_baht, read_funding
from pipeline.report import write_report
from pipeline.sync import run_sync
from pipeline.workbook.local import LocalWorkbook
from tests import plan_area
from tests.conftest import write_config
from tests.plan_area import OFFICE, SCHOOL_A, SCHOOL_B, full_name, nid

TODAY = date(2019, 9, 1)
SPENDING_TAB, ALLOCATION_TAB = "ค่าใช้จ่ายการพัฒนา", "วงเงินพัฒนารายบุคคล"


# --- costs and sources as people type them ----------------------------------------------------------


@pytest.mark.parametrize("typed, baht", [
    (1500, 1500), (1500.0, 1500), ("1500", 1500), ("1,500", 1500), ("1500 บาท", 1500), ("1,500บาท", 1500),
    ("๑,๕๐๐", 1500), ("๑๕๐๐ บาท", 1500), ("1,500.-", 1500), ("1500.-บาท", 1500), ("฿2,000", 2000),
    ("1 500", 1500), ("1,500.50", 1500.5), ("12,345,678", None), ("0", 0), ("0.00", 0), ("-", 0), ("–", 0),
    ("ไม่มีค่าใช้จ่าย", 0), ("ไม่มี ค่าใช้จ่าย", 0), ("ฟรี", 0), ("", None), (None, None), (float("nan"), None),
])
def test_costs_typed_as_people_type_them(typed, baht):
    read = parse_baht(typed)
    assert read.amount == baht
    # blank says nothing; too large a number is a problem, never a silent zero
    assert bool(read.problem) == (typed == "12,345,678")


@pytest.mark.parametrize("typed", ["ประมาณพันห้า", "1,500/2,000", "15,00", "1.500", "-1,500", -5, "รอเบิก", True,
                                   3101200123453])
def test_a_cost_that_is_no_amount_is_a_problem_with_its_reason(typed):
    read = parse_baht(typed)
    assert read.amount is None and read.problem.startswith("ค่าใช้จ่าย")


@pytest.mark.parametrize("typed", [3101200123453, "3101200123453", "3,101,200,123,453", "3101200123453.0"])
def test_an_id_typed_in_the_cost_cell_is_never_repeated_whole(typed):
    """The reason goes to the rows to fix, the director's tab and e-mail: it must not carry an ID, even with
    thousands separators that the masking of IDs in text would not see."""
    problem = parse_baht(typed).problem
    assert problem and not re.search(r"\d{9,}", re.sub(r"[,.\s]", "", problem))


@pytest.mark.parametrize("typed, source", [
    ("คูปองครู", OBEC), ("งบ สพฐ.", OBEC), ("สพฐ", OBEC), ("งบ สพฐ./คูปองครู", OBEC), ("งบสพฐ (คูปองครู)", OBEC),
    ("งบเขตพื้นที่", "งบเขตพื้นที่"), ("สพป.", "งบเขตพื้นที่"), ("งบประมาณโรงเรียน", "งบโรงเรียน"),
    ("งบ รร.", "งบโรงเรียน"), ("เงินอุดหนุน", "งบโรงเรียน"), ("ส่วนตัว", "งบส่วนตัว"), ("เงินส่วนตัว", "งบส่วนตัว"),
])
def test_funding_sources_are_read_through_their_aliases(typed, source):
    assert read_funding(typed, funding_table()) == (source, True)


def test_a_source_on_no_list_is_kept_as_typed_and_the_config_can_name_it():
    assert read_funding("เงินบริจาคศิษย์เก่า", funding_table()) == ("เงินบริจาคศิษย์เก่า", False)
    table = funding_table({"เงินบริจาค": ["เงินบริจาคศิษย์เก่า"], OBEC: ["คูปองพัฒนาครูครบวงจร"]})
    assert read_funding("เงินบริจาคศิษย์เก่า", table) == ("เงินบริจาค", True)
    assert read_funding("คูปองพัฒนาครูครบวงจร", table) == (OBEC, True)
    assert read_funding("", table) == ("", True)


@pytest.mark.parametrize("section, said", [
    ('[spending]\nallocation_sources = ["งบพิเศษ"]\n', "allocation_sources"),
    ('[spending]\nallocation_positions = ["นักการภารโรง"]\n', "allocation_positions"),
    ('[spending.sources]\n"ก" = ["สพฐ"]\n"ข" = ["สพฐ."]\n', "สพฐ"),
    ('[spending]\nallocation = -1\n', "allocation"),
])
def test_a_wrong_spending_config_says_which_key(tmp_path, section, said):
    path = write_config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "\n" + section, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert said in caught.value.message


# --- the hand area --------------------------------------------------------------------------------------


@pytest.fixture
def area(config_file):
    return plan_area.written(config_file)


@pytest.fixture
def ready(area):
    return plan_area.prepared(area, TODAY)


def test_spending_per_source(ready):
    spending = ready.area.spending
    assert [(s.source, s.records, s.amount, s.allocation) for s in spending.sources] == [
        (OBEC, 4, 15000, True), ("งบเขตพื้นที่", 2, 5500, False), ("งบโรงเรียน", 1, 2000, False),
        ("งบส่วนตัว", 1, 1000, False), ("เงินบริจาคศิษย์เก่า", 1, 800, False), (NO_SOURCE, 1, 500, False),
    ]


# (units recording, of units, records, free, total, by source in the order above, teachers, allocation, used,
#  balance, used %, over)
SPENT = {
    "บ้านหนึ่ง": (1, 1, 8, 1, 22300, [15000, 3500, 2000, 1000, 800, 0], 5, 50000, 15000, 35000, 30.0, 1),
    "บ้านสอง": (0, 1, 0, 0, 0, [0, 0, 0, 0, 0, 0], 0, 0, 0, 0, None, 0),
    "สำนักงานเขตทดสอบ": (1, 1, 2, 0, 2500, [0, 2000, 0, 0, 0, 500], 0, 0, 0, 0, None, 0),
    "หล่มสัก": (1, 1, 8, 1, 22300, [15000, 3500, 2000, 1000, 800, 0], 5, 50000, 15000, 35000, 30.0, 1),
    "หล่มเก่า": (0, 1, 0, 0, 0, [0, 0, 0, 0, 0, 0], 0, 0, 0, 0, None, 0),
    "สำนักงานเขตพื้นที่การศึกษา": (1, 1, 2, 0, 2500, [0, 2000, 0, 0, 0, 500], 0, 0, 0, 0, None, 0),
}
AREA_SPENT = (2, 3, 10, 1, 24800, [15000, 5500, 2000, 1000, 800, 500], 5, 50000, 15000, 35000, 30.0, 1)


def _figures(r) -> tuple:
    return (r.units_recording, r.units, r.records, r.free, r.total, r.by_source, r.teachers, r.allocation, r.used,
            r.balance, r.used_percent, r.over)


def test_spending_per_unit_district_and_area(ready):
    spending = ready.area.spending
    assert {r.name: _figures(r) for r in spending.units + spending.districts} == SPENT
    assert _figures(spending.area) == AREA_SPENT
    assert spending.not_recording == ["บ้านสอง"]


def test_each_teachers_allocation_and_balance(ready):
    teachers = {t.name: (t.position, t.allocation, t.used, t.balance, t.records, t.over)
                for t in ready.area.spending.teachers}
    assert teachers == {
        full_name("A2"): ("ครู", 10000, 4000, 6000, 2, False),
        full_name("A4"): ("ครู", 10000, 0, 10000, 0, False),     # its 9,000 is FY 2561's
        full_name("A5"): ("ครู", 10000, 0, 10000, 0, False),     # paid privately
        full_name("A6"): ("ครู", 10000, 0, 10000, 0, False),
        full_name("A3"): ("ครูผู้ช่วย", 10000, 11000, -1000, 2, True),
    }  # school B's teachers are not listed: their costs are not recorded
    # in the staff list's order: ครู before ครูผู้ช่วย, then by first name as the list sorts it (code points:
    # ปัญญา, มาลี, วันดี, then เพ็ญ, whose leading vowel เ sorts after every consonant)
    school_a = ready.units[SCHOOL_A].spending
    assert [t.name for t in school_a.teachers] == [full_name(k) for k in ("A5", "A2", "A4", "A6", "A3")]
    assert ready.units[SCHOOL_B].spending is None


def test_a_bad_cost_is_a_row_to_fix_and_an_unknown_source_a_note(ready):
    key = ready.idplan_keys[SCHOOL_A]
    bad = ready.data.quarantine
    row = bad[(bad["_sheet"] == key) & (bad["_row"] == plan_area.A6_UNREADABLE_ROW)]
    assert len(row) == 1 and "'ประมาณพันห้า' ไม่ใช่จำนวนเงิน" in row.iloc[0]["reason"]
    assert "การพัฒนาในแถวนี้นับตามปกติ" in row.iloc[0]["reason"]
    # ... and the record still counts: A6 did 6 hours, exactly half her plan
    a6 = next(p for p in ready.units[SCHOOL_A].plan.people if p.name == full_name("A6"))
    assert (a6.done_hours, a6.done_count) == (6, 1)
    notes = ready.data.notes
    unknown = notes[(notes["_sheet"] == key) & (notes["_row"] == plan_area.A6_UNKNOWN_SOURCE_ROW)]
    assert "[spending.sources]" in unknown.iloc[0]["reason"]
    office = notes[(notes["_sheet"] == ready.idplan_keys[OFFICE]) & (notes["_row"] == plan_area.O2_NO_SOURCE_ROW)]
    assert "ไม่ได้ระบุแหล่งงบประมาณ" in office.iloc[0]["reason"]
    assert len(bad) == 1  # nothing else in this area needs fixing; a sheet without cost columns is no problem
    assert ready.problems == {}


def test_the_allocation_amount_and_who_receives_it_are_config(tmp_path):
    # 5,000 baht, ครู only: A3 (ครูผู้ช่วย) leaves; A2 4,000 of 5,000; 4 teachers × 5,000 = 20,000, used 4,000
    path = write_config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8")
                    + '\n[spending]\nallocation = 5000\nallocation_positions = ["ครู"]\n', encoding="utf-8")
    settings = load_settings(path)
    plan_area.build(LocalWorkbook(settings.storage.path), settings)
    spending = plan_area.prepared(settings, TODAY).area.spending
    area = spending.area
    assert (area.teachers, area.allocation, area.used, area.balance, area.over) == (4, 20000, 4000, 16000, 0)
    assert {t.name: t.balance for t in spending.teachers}[full_name("A2")] == 1000


# --- what people read -----------------------------------------------------------------------------------


def _tab(settings, key: str, tab: str) -> list[list]:
    """A tab's rows, each without its empty cells at the end."""
    rows = LocalWorkbook(settings.storage.path).read(key, [tab])[tab]
    trimmed = []
    for row in rows:
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        trimmed.append(row)
    return trimmed


def _mail(settings, code: str) -> str:
    message = email.message_from_bytes((settings.output.outbox / f"{code}.eml").read_bytes(), policy=default_policy)
    return message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()


def test_the_dashboard_and_the_schools_tab_show_spending(area):
    run_sync(area, today=TODAY)
    tab = _tab(area, "dashboard", SPENDING_TAB)
    header = next(i for i, r in enumerate(tab) if r and r[0] == "ระดับ")
    assert tab[header][8:14] == [f"{s} (บาท)" for s in (OBEC, "งบเขตพื้นที่", "งบโรงเรียน", "งบส่วนตัว",
                                                          "เงินบริจาคศิษย์เก่า", NO_SOURCE)]
    rows = {(r[0], r[2]): r[4:] for r in tab[header + 1:]}
    area_row = rows[("เขตพื้นที่", area.area.name)]
    assert area_row == [2, 10, 1, 24800, 15000, 5500, 2000, 1000, 800, 500, 5, 50000, 15000, 35000, 30, 1]
    assert rows[("หน่วยงาน", "บ้านสอง")] == [0]  # no cost column: nothing said about its costs
    allocation = _tab(area, "dashboard", ALLOCATION_TAB)
    a3 = next(r for r in allocation if len(r) > 2 and r[2] == full_name("A3"))
    assert a3[3] == f"x-xxxx-xxxxx-{nid('A3')[10:12]}-{nid('A3')[12]}" and a3[5:10] == [2, 10000, 11000, -1000, "ใช้เกินวงเงิน"]
    school = _tab(area, area.sources.idplan.key_for(SCHOOL_A), area.output.summary_tab)
    title = next(r[0] for r in school if r and str(r[0]).startswith("ค่าใช้จ่ายในการพัฒนา"))
    assert title == "ค่าใช้จ่ายในการพัฒนา ปีงบประมาณ 2562 (รวม 22,300 บาท จาก 8 รายการ ไม่มีค่าใช้จ่าย 1 รายการ)"
    at = next(i for i, r in enumerate(school) if r and r[0] == "แหล่งงบประมาณ")
    assert school[at + 1:at + 7] == [
        [OBEC, 4, 15000, "หัก"], ["งบเขตพื้นที่", 1, 3500], ["งบโรงเรียน", 1, 2000], ["งบส่วนตัว", 1, 1000],
        ["เงินบริจาคศิษย์เก่า", 1, 800], []]
    text = _mail(area, SCHOOL_A)
    assert "ค่าใช้จ่ายในการพัฒนาปีนี้ รวม 22,300 บาท" in text
    assert "ครู 5 คน ใช้แล้ว 15,000 บาท คงเหลือ 35,000 บาท (ใช้เกินวงเงิน 1 คน)" in text
    # school B records no costs: its tab and mail say nothing about them, and its tab is written as usual
    other = _tab(area, area.sources.idplan.key_for(SCHOOL_B), area.output.summary_tab)
    assert not any(r and isinstance(r[0], str) and r[0].startswith(("ค่าใช้จ่าย", "วงเงิน")) for r in other)
    assert "ค่าใช้จ่าย" not in _mail(area, SCHOOL_B)


def test_the_report_has_spending_by_source(area, tmp_path):
    out = write_report(area, "html", tmp_path / "report.html", today=TODAY)
    html = out.read_text(encoding="utf-8")
    assert 'data-part="spending"' in html and "รวม 24,800 บาท" in html
    table = html[html.index('data-table="sources"'):html.index('data-table="spending-districts"')]
    for source, amount in ((OBEC, "15,000"), ("งบเขตพื้นที่", "5,500"), (NO_SOURCE, "500")):
        row = table[table.index(f'data-row="{source}"'):]
        assert f'data-field="amount">{amount}<' in row[:row.index("</tr>")]
    assert 'data-part="own-plans"' in html


@pytest.mark.parametrize("where", ["sheets", "config"])
def test_without_cost_columns_the_spending_parts_are_left_out_quietly(tmp_path, where):
    """No unit's record tab has the columns (or the config names none): no spending tab, section or line."""
    if where == "config":
        path = write_config(tmp_path, **{'cost = "ค่าใช้จ่าย"\n': "", 'funding = "แหล่งงบประมาณ"\n': ""})
    else:
        path = write_config(tmp_path)
    settings = load_settings(path)
    plan_area.build(LocalWorkbook(settings.storage.path), settings, costs=(where == "config"))
    result = run_sync(settings, today=TODAY)
    assert result.area.spending is None and result.unit_problems == {}
    book = LocalWorkbook(settings.storage.path)
    assert SPENDING_TAB not in book.tabs("dashboard") and ALLOCATION_TAB not in book.tabs("dashboard")
    for code in (SCHOOL_A, SCHOOL_B, OFFICE):
        tab = _tab(settings, settings.sources.idplan.key_for(code), settings.output.summary_tab)
        assert not any(r and isinstance(r[0], str) and r[0].startswith(("ค่าใช้จ่าย", "วงเงิน")) for r in tab)
        assert "ค่าใช้จ่าย" not in _mail(settings, code)
    html = write_report(settings, "html", tmp_path / "report.html", today=TODAY).read_text(encoding="utf-8")
    assert 'data-part="spending"' not in html and 'data-part="own-plans"' in html
    assert len(result.data.quarantine) == 0


def test_the_commented_spending_section_init_writes_loads_as_it_says(tmp_path):
    """The [spending] example in config/demo.toml (and in every config init writes), uncommented, is valid and
    means what its comment says: the defaults, plus the office's own names of two sources."""
    from pipeline.init import _spending_part

    part = _spending_part()
    example = [line[2:] for line in part.splitlines() if re.match(r"# (\[spending|allocation|\")", line)]
    assert example[0] == "[spending]" and len(example) == 7
    path = write_config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "\n" + "\n".join(example) + "\n", encoding="utf-8")
    spending = load_settings(path).spending
    assert (spending.allocation, spending.allocation_sources, spending.allocation_positions) == (
        10000, [OBEC], ["ครู", "ครูผู้ช่วย"])
    table = funding_table(spending.sources)
    assert read_funding("เงินบริจาคศิษย์เก่า", table) == ("เงินบริจาค", True)
    assert read_funding("คูปองพัฒนาครูครบวงจร", table) == (OBEC, True)


# --- every unit's figures grouped at once are those of the unit's own rows ----------------------------------


def test_each_units_figures_grouped_once_equal_those_of_its_own_rows():
    """``Spending.unit_costs`` groups every unit's cost rows at once; a unit's row must add up exactly as the
    unit's own rows alone do (``_Costs.of``), to the last bit: amounts whose float sums depend on the order
    and the method of adding (0.1, 1e16 + 1), zeros among them, units interleaved and sources shared."""
    import random

    import pandas as pd

    from pipeline.spending import NO_COSTS, Spending, _Costs, _costs_of

    chance = random.Random(15)
    amounts = [0.1, 0.2, 0.3, 1e16, 1.0, 0.0, 1234.56, 1e-3, 7.77, 0.0]
    rows = [(f"p{i}", chance.choice("abc"), chance.choice(["x", "y", NO_SOURCE]), chance.choice(amounts))
            for i in range(300)]
    costs = pd.DataFrame(rows, columns=["staff_id", "unit_code", "funding", "cost"])
    spent = Spending(costs=costs, recording=frozenset("abcd"), order=["x", "y", NO_SOURCE], allocation_sources=["x"],
                     allocation=10000.0, teachers=pd.DataFrame(columns=["staff_id", "display_name", "position", "unit_code"]))
    for code in "abc":
        alone = _Costs.of(costs[costs["unit_code"] == code].reset_index(drop=True))
        assert _costs_of(spent, [code]) == alone
        assert alone.total != sum(costs.loc[costs["unit_code"] == code, "cost"])  # the test's sums do depend on the method
    assert _costs_of(spent, ["d"]) == NO_COSTS == _Costs.of(costs.iloc[0:0])
