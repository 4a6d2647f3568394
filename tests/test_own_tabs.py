"""devplan replaces only the tabs it made, known by the mark it left on them, and every write is safe to repeat.

A person may have made a tab that bears devplan's name (``สรุปผล (devplan)``, or a
dashboard tab's name in an existing dashboard) before devplan's first run: that tab is
the school's problem, named with the fix, and left exactly as it was. devplan's own
tabs carry its mark (Google: developer metadata on the sheet; ``.xlsx``: see
``pipeline.workbook.xlsx``), so they are still known after the state file is lost or
after a person renamed them. A write Google applied but whose answer was lost is
sent again only as what is still to do.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.publish import DASHBOARD_TABS, SPENDING_TABS
from pipeline.sync import run_sync
from pipeline.workbook.google import MARK
from tests.google_area import SUMMARY, TODAY, GoogleArea, build_area, snapshot

#: how the run's report names a unit left out (``pipeline.present``)
LEFT_OUT = "ตกหล่น (ไม่ได้เขียนแท็บสรุปผลและไม่ได้ส่งอีเมล)"
DASHBOARD_TABS_NAMES = list(DASHBOARD_TABS)
#: the sample records costs, so its dashboard has the spending tabs too
SAMPLE_DASHBOARD = [*DASHBOARD_TABS, *SPENDING_TABS]


@pytest.fixture
def area(fake_google, tmp_path) -> GoogleArea:
    return build_area(fake_google, tmp_path, schools=3)


def staff_grid() -> list[list]:
    """A tab a person filled: 200 rows of 30 columns."""
    return [[f"แถว {r} คอลัมน์ {c}" if (r + c) % 7 else r * 30 + c for c in range(30)] for r in range(200)]


def marks(fake, sid: str) -> dict[str, list[str]]:
    """Tab -> the values of devplan's marks on it."""
    return {tab: [m["metadataValue"] for m in fake.developer_metadata(sid, tab) if m["metadataKey"] == MARK]
            for tab in fake.tab_names(sid)}


def schools(area: GoogleArea) -> list[str]:
    return sorted(k for k in area.ids if k.startswith("idplan-") and not k.endswith("pbn2"))


def sync(area: GoogleArea, *extra: str):
    return CliRunner().invoke(cli, ["sync", "--config", str(area.config), *extra])


# --- a tab of devplan's name that a person made -----------------------------------------------


def test_a_staff_tab_named_like_devplans_is_left_alone_and_the_school_named(area, fake_google):
    school = schools(area)[0]
    sid = area.ids[school]
    fake_google.add_tab(sid, SUMMARY, staff_grid())
    before = snapshot(fake_google, area.folder)

    result = sync(area)
    assert result.exit_code == 1, result.output  # the school needs a person; every other one is written
    out = result.output + result.stderr
    code = school.removeprefix("idplan-")
    line = next(x for x in out.splitlines() if x.startswith(f"หน่วยงาน {code} {LEFT_OUT}"))
    assert f"'{SUMMARY}'" in line and sid in line and "ไม่ใช่แท็บที่ devplan สร้าง" in line
    assert f"เปลี่ยนชื่อแท็บ '{SUMMARY}'" in out
    # the person's tab, and every tab that was there before, exactly as they were
    after = snapshot(fake_google, area.folder)
    assert {k: after[k] for k in before} == before
    assert marks(fake_google, sid)[SUMMARY] == []
    for other in schools(area)[1:]:
        assert marks(fake_google, area.ids[other])[SUMMARY] == [SUMMARY]

    # the advice, followed: the person renames their tab; devplan makes its own beside it
    fake_google.rename_tab(sid, SUMMARY, f"{SUMMARY} เดิม")
    again = sync(area)
    assert f"หน่วยงาน {code} {LEFT_OUT}" not in again.output + again.stderr
    assert marks(fake_google, sid) == {**{t: [] for t in fake_google.tab_names(sid)}, SUMMARY: [SUMMARY]}
    kept = fake_google.values(sid, f"{SUMMARY} เดิม", render="FORMULA")
    assert kept == before[(sid, SUMMARY)][1]


def test_a_staff_tab_in_an_existing_dashboard_stops_the_run_untouched(area, fake_google):
    dashboard = fake_google.add_spreadsheet(
        "dashboard", {"สรุปของเขต": [["ข้อมูลของเขต"]], DASHBOARD_TABS_NAMES[1]: staff_grid()}, folder=area.folder,
    )
    before = snapshot(fake_google, area.folder)
    result = sync(area)
    assert result.exit_code == 4, result.output
    assert f"'{DASHBOARD_TABS_NAMES[1]}'" in result.stderr and dashboard in result.stderr
    after = snapshot(fake_google, area.folder)
    assert {k: v for k, v in after.items() if k[0] == dashboard} == {
        k: v for k, v in before.items() if k[0] == dashboard}
    # devplan tried to add its tabs (Google refuses a tab of a taken name), looked, and wrote nothing
    assert [w.status for w in fake_google.requests(spreadsheet=dashboard, kind="write")] == [400]


# --- devplan's own tabs, known by their mark ---------------------------------------------------


def test_own_tabs_are_known_after_the_state_file_is_lost(area, fake_google, tmp_path):
    settings = area.settings()
    run_sync(settings, today=TODAY)
    dashboard = fake_google.find("dashboard")[0]
    ids = {k: fake_google.sheet(area.ids[k], SUMMARY)["properties"]["sheetId"] for k in schools(area)}
    staff = {k: v for k, v in snapshot(fake_google, area.folder).items()
             if k[1] != SUMMARY and k[0] != dashboard}

    settings.storage.state.unlink()
    result = run_sync(settings, today=TODAY.replace(day=2))
    assert result.unit_problems == {}
    assert set(result.published.written) == {k for k in area.ids if k.startswith("idplan-")} | {"dashboard"}
    for key in schools(area):
        sid = area.ids[key]
        assert fake_google.tab_names(sid).count(SUMMARY) == 1
        assert fake_google.sheet(sid, SUMMARY)["properties"]["sheetId"] == ids[key]  # the same tab, rewritten
        assert marks(fake_google, sid)[SUMMARY] == [SUMMARY]  # one mark, not a second
    assert marks(fake_google, dashboard) == {t: [t] for t in SAMPLE_DASHBOARD}
    after = snapshot(fake_google, area.folder)
    assert {k: after[k] for k in staff} == staff


def test_a_tab_devplan_made_and_a_person_renamed_is_still_devplans(area, fake_google):
    settings = area.settings()
    run_sync(settings, today=TODAY)
    school = schools(area)[0]
    sid = area.ids[school]
    sheet_id = fake_google.sheet(sid, SUMMARY)["properties"]["sheetId"]
    fake_google.rename_tab(sid, SUMMARY, "สรุปของ devplan")
    settings.storage.state.unlink()  # nothing remembered: only the mark tells

    result = run_sync(settings, today=TODAY.replace(day=2))
    assert result.unit_problems == {}
    assert SUMMARY in fake_google.tab_names(sid) and "สรุปของ devplan" not in fake_google.tab_names(sid)
    assert fake_google.sheet(sid, SUMMARY)["properties"]["sheetId"] == sheet_id  # renamed back, not a new tab
    assert marks(fake_google, sid)[SUMMARY] == [SUMMARY]


def test_a_renamed_own_tab_and_a_new_staff_tab_of_its_name(area, fake_google):
    """devplan's tab renamed, then a person makes a tab of devplan's name: that one is the person's."""
    settings = area.settings()
    run_sync(settings, today=TODAY)
    sid = area.ids[schools(area)[0]]
    fake_google.rename_tab(sid, SUMMARY, "สรุปของ devplan")
    fake_google.add_tab(sid, SUMMARY, staff_grid())
    before = snapshot(fake_google, area.folder)[(sid, SUMMARY)]
    result = run_sync(settings, today=TODAY.replace(day=2))
    assert set(result.unit_problems) == {schools(area)[0].removeprefix("idplan-")}
    assert snapshot(fake_google, area.folder)[(sid, SUMMARY)] == before


def test_the_workbook_says_which_tabs_are_its_own(area, fake_google):
    from pipeline.state import State
    from pipeline.workbook.google import GoogleWorkbook

    run_sync(area.settings(), today=TODAY)
    book = GoogleWorkbook(area.folder, State(None), api_base=fake_google.base_url)
    assert book.own_tabs("dashboard") == SAMPLE_DASHBOARD
    assert book.own_tabs(schools(area)[0]) == [SUMMARY]
    assert book.own_tabs("roster") == []
    assert book.own_tabs("no-such-spreadsheet") == []


# --- a write applied by Google whose answer was lost ------------------------------------------


def lost(fake) -> list:
    return [r for r in fake.requests() if r.fault == "lost"]


def test_creating_the_dashboard_answer_lost_makes_one_dashboard(area, fake_google):
    before = snapshot(fake_google, area.folder)
    fake_google.faults.lose_next(api="drive", method="POST")
    result = sync(area)
    assert result.exit_code == 1, result.output  # the sample's spoiled rows; nothing failed
    assert LEFT_OUT not in result.output + result.stderr  # no school left out
    assert len(lost(fake_google)) == 1
    (dashboard,) = fake_google.find("dashboard")
    assert fake_google.tab_names(dashboard) == SAMPLE_DASHBOARD
    after = snapshot(fake_google, area.folder)
    assert {k: after[k] for k in before} == before  # every staff tab as it was


def test_a_new_spreadsheets_first_write_answer_lost(area, fake_google):
    """Its tabs added and its first tab deleted, the answer lost: the retry neither adds nor deletes again."""
    before = snapshot(fake_google, area.folder)
    fake_google.faults.lose_next(where=lambda path, body: "deleteSheet" in json.dumps(body))
    result = CliRunner().invoke(cli, ["sync", "--config", str(area.config)])
    assert result.exit_code == 1, result.output  # the sample's spoiled rows; nothing failed
    assert "No sheet with id" not in result.output + result.stderr
    assert len(lost(fake_google)) == 1
    (dashboard,) = fake_google.find("dashboard")
    assert fake_google.tab_names(dashboard) == SAMPLE_DASHBOARD
    assert marks(fake_google, dashboard) == {t: [t] for t in SAMPLE_DASHBOARD}
    after = snapshot(fake_google, area.folder)
    assert {k: after[k] for k in before} == before


def test_adding_and_rewriting_a_summary_answer_lost(area, fake_google, tmp_path):
    settings = area.settings()
    school = schools(area)[0]
    sid = area.ids[school]
    fake_google.add_tab(sid, "บันทึกของโรงเรียน", staff_grid())
    staff = {k: v for k, v in snapshot(fake_google, area.folder).items() if k[0] == sid}

    # adding the tab: applied, answer lost
    fake_google.faults.lose_next(where=lambda path, body: sid in path)
    first = run_sync(settings, today=TODAY)
    assert first.unit_problems == {} and len(lost(fake_google)) == 1
    assert fake_google.tab_names(sid).count(SUMMARY) == 1 and marks(fake_google, sid)[SUMMARY] == [SUMMARY]
    rules = fake_google.sheet(sid, SUMMARY)["conditionalFormats"]
    assert rules

    # a person adds a rule of their own to devplan's tab; then a rewrite that deletes devplan's rules
    # and adds them again is applied and its answer lost: the retry deletes only what is devplan's now
    sheet_id = fake_google.sheet(sid, SUMMARY)["properties"]["sheetId"]
    own_rule = {"ranges": [{"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 3,
                            "startColumnIndex": 0, "endColumnIndex": 1}],
                "booleanRule": {"condition": {"type": "NUMBER_GREATER", "values": [{"userEnteredValue": "9"}]},
                                "format": {"backgroundColor": {"red": 1}}}}
    fake_google.gspread_client().open_by_key(sid).batch_update(
        {"requests": [{"addConditionalFormatRule": {"index": len(rules), "rule": own_rule}}]})
    plan_tab = settings.sources.idplan.plan_tab
    plan = fake_google.values(sid, plan_tab)
    height = len(fake_google.values(sid, SUMMARY))
    fake_google.staff_edit(sid, plan_tab, len(plan) + 1, 1, "ไม่มีชื่อนี้")  # one more row to fix: the tab changes
    fake_google.clear_log()
    fake_google.faults.lose_next(where=lambda path, body: sid in path and "deleteConditionalFormatRule" in json.dumps(body))
    second = run_sync(settings, today=TODAY.replace(day=2))
    assert second.unit_problems == {} and len(lost(fake_google)) == 1
    writes = fake_google.requests(api="sheets", kind="write", spreadsheet=sid)
    assert [w.status for w in writes] == [503, 200]
    reads = fake_google.requests(api="sheets", kind="read", spreadsheet=sid)
    assert len(reads) == 2  # the edited plan, and one look at the tabs before the retry
    after = fake_google.sheet(sid, SUMMARY)["conditionalFormats"]
    assert after == rules + [own_rule]  # devplan's rules once, the person's rule kept
    assert len(fake_google.values(sid, SUMMARY)) == height + 1  # the row to fix is listed
    now = snapshot(fake_google, area.folder)
    assert {k: now[k] for k in staff if k[1] != plan_tab} == {k: v for k, v in staff.items() if k[1] != plan_tab}
    assert Counter(fake_google.tab_names(sid))[SUMMARY] == 1


# --- the same rule for .xlsx files -------------------------------------------------------------


@pytest.fixture
def local_area(config_file):
    from pipeline.config import load_settings
    from pipeline.workbook.local import LocalWorkbook
    from tests import hand_area

    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    return config_file, settings, book, settings.sources.idplan.key_for(hand_area.SCHOOL_A)


def local_sync(config):
    return CliRunner().invoke(cli, ["sync", "--config", str(config)])


def test_xlsx_staff_tab_named_like_devplans_is_left_byte_for_byte(local_area):
    config, settings, book, key = local_area
    book.write(key, {SUMMARY: staff_grid()})  # a person's tab of that name, before devplan's first run
    before = book.path(key).read_bytes()
    result = local_sync(config)
    assert result.exit_code == 1, result.output
    out = result.output + result.stderr
    code = key.removeprefix("idplan-")
    line = next(x for x in out.splitlines() if x.startswith(f"หน่วยงาน {code} {LEFT_OUT}"))
    assert f"'{SUMMARY}'" in line and str(book.path(key)) in line and "ไม่ใช่แท็บที่ devplan สร้าง" in line
    assert book.path(key).read_bytes() == before  # the file is not written at all
    assert book.own_tabs(key) == []
    others = [k for k in book.keys() if k.startswith("idplan-") and k != key]
    assert others and all(book.own_tabs(k) == [SUMMARY] for k in others)

    # the advice, followed: rename the person's tab (here, as a program that rewrites the file would)
    from openpyxl import load_workbook

    opened = load_workbook(book.path(key))
    opened[SUMMARY].title = f"{SUMMARY} เดิม"
    opened.save(book.path(key))
    again = local_sync(config)
    assert f"หน่วยงาน {code} {LEFT_OUT}" not in again.output + again.stderr
    assert book.own_tabs(key) == [SUMMARY]
    kept = book.read(key, [f"{SUMMARY} เดิม"])[f"{SUMMARY} เดิม"]
    assert kept == staff_grid()


def test_xlsx_own_tab_known_after_the_state_file_is_lost_and_after_a_rename(local_area):
    from openpyxl import load_workbook

    config, settings, book, key = local_area
    assert local_sync(config).exit_code in (0, 1)
    assert book.own_tabs(key) == [SUMMARY]
    settings.storage.state.unlink()  # the local backend's mark is in the file: nothing to lose
    second = run_sync(settings)
    assert second.unit_problems == {} and key in second.published.written
    assert book.tabs(key).count(SUMMARY) == 1

    # a person renames devplan's tab and saves the file: it is still devplan's, not a person's tab
    opened = load_workbook(book.path(key))
    opened[SUMMARY].title = "สรุปเดิมของ devplan"
    opened.save(book.path(key))
    assert book.own_tabs(key) == ["สรุปเดิมของ devplan"]  # the mark went with the tab
    third = run_sync(settings)
    assert third.unit_problems == {}
    assert book.own_tabs(key) == ["สรุปเดิมของ devplan", SUMMARY]


@pytest.mark.skipif(__import__("shutil").which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_xlsx_mark_survives_a_save_in_libreoffice(local_area, tmp_path):
    """A school opens its file in LibreOffice and saves it: devplan still knows its tab, and only it."""
    import shutil
    import subprocess

    config, settings, book, key = local_area
    run_sync(settings)
    out = tmp_path / "saved"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
                    "--convert-to", "xlsx", "--outdir", str(out), str(book.path(key))],
                   check=True, capture_output=True, timeout=180)
    shutil.copy(out / book.path(key).name, book.path(key))
    assert book.own_tabs(key) == [SUMMARY]
    result = run_sync(settings)
    assert result.unit_problems == {} and key in result.published.written
