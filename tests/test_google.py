"""The Google backend, driven over real HTTP (gspread + requests) against the fake Google.

The sample area is built locally, uploaded to the fake, and synced through
``backend = "google"``; its outputs are compared with the local backend's on
the same data, and the fake's request log is held to the request budget.
"""

from __future__ import annotations

import email
import json
from collections import Counter
from email.policy import default as default_policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.publish import SPENDING_TABS, dashboard_tabs
from pipeline.sync import run_sync
from tests.google_area import SUMMARY, TODAY, GoogleArea, VirtualClock, build_area, google_config, staff_tabs


@pytest.fixture
def area(fake_google, tmp_path) -> GoogleArea:
    return build_area(fake_google, tmp_path)


def plain(rows) -> list[list]:
    """Rows as a person sees them: empty cells as "", no trailing empties."""
    out = [["" if v is None else v for v in row] for row in rows]
    out = [row[: max((i + 1 for i, v in enumerate(row) if v != ""), default=0)] for row in out]
    while out and not out[-1]:
        out.pop()
    return out


def fake_tab(fake, area: GoogleArea, title: str, tab: str) -> list[list]:
    ids = fake.find(title)
    assert len(ids) == 1, (title, ids)
    return plain(fake.values(ids[0], tab))


def mail_parts(folder: Path) -> dict[str, tuple[str, str, str, str]]:
    """unit code -> (to, subject, text, html) of every message in an outbox."""
    found = {}
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        found[path.stem] = (message["To"], message["Subject"], text, html)
    return found


def replace_tab(fake, sid: str, tab: str, rows: list[list]) -> None:
    """A person replaces a tab's content (pastes ``rows``, empties what is left below)."""
    old = fake.values(sid, tab)
    width = max([len(r) for r in old + rows] or [1])
    padded = [list(r) + [None] * (width - len(r)) for r in rows]
    padded += [[None] * width for _ in range(len(old) - len(rows))]
    fake.staff_write(sid, tab, 1, 1, padded, value_input="RAW")


def per_spreadsheet(requests) -> Counter:
    return Counter(r.spreadsheet for r in requests)


# --- same outputs as the local backend ------------------------------------------------


def test_google_sync_gives_the_same_outputs_as_local(area, fake_google):
    local = run_sync(area.local_settings(), today=TODAY)
    google = run_sync(area.settings(), today=TODAY)

    assert google.unit_problems == {}
    assert google.area.indicators == local.area.indicators
    assert google.area.counts == local.area.counts
    assert google.area.needs == local.area.needs
    assert google.area.plan == local.area.plan and google.area.spending == local.area.spending
    # the sample records costs in some schools: every dashboard tab is compared, the spending ones too
    assert set(SPENDING_TABS) <= set(dashboard_tabs(local.area))
    # every unit's summary tab, cell for cell
    from pipeline.workbook.local import LocalWorkbook

    book = LocalWorkbook(area.local)
    keys = sorted(local.published.written)
    assert sorted(google.published.written) == keys
    for key in keys:
        tabs = list(dashboard_tabs(local.area)) if key == "dashboard" else [SUMMARY]
        mine = book.read(key, tabs)
        for tab in tabs:
            assert fake_tab(fake_google, area, key, tab) == plain(mine[tab]), (key, tab)
    # the e-mails, part for part
    assert mail_parts(area.settings().output.outbox) == mail_parts(area.local_settings().output.outbox)


# --- the request budget ------------------------------------------------------------------


def test_full_then_unchanged_then_one_school_edited(area, fake_google):
    fake = fake_google
    settings = area.settings()
    sources = {k: v for k, v in area.ids.items()}
    fake.clear_log()
    first = run_sync(settings, today=TODAY)

    reads = fake.requests(api="sheets", kind="read")
    writes = fake.requests(api="sheets", kind="write")
    drive = fake.requests(api="drive")
    # one read per source spreadsheet, nothing else read
    assert per_spreadsheet(reads) == Counter(sources.values())
    # one write per spreadsheet written: every unit and the dashboard
    written = per_spreadsheet(writes)
    assert set(written.values()) == {1}
    assert len(written) == len(first.published.written) == len(sources) - 2 + 1
    # Drive: the listing, the folder's lookup (may devplan create files there: the rule init and check
    # apply too), creating the dashboard, and the listing after the writes
    assert len(drive) <= 4
    assert all(r.query.get("valueRenderOption") == ["UNFORMATTED_VALUE"] for r in reads)
    assert all(r.query.get("dateTimeRenderOption") == ["SERIAL_NUMBER"] for r in reads)

    # a night where nothing changed: the listing alone, nothing written
    fake.clear_log()
    second = run_sync(settings, today=TODAY.replace(day=2))
    assert len(fake.requests()) == 1
    assert fake.requests(kind="write") == []
    assert second.published.written == {}
    assert second.area.indicators == first.area.indicators

    # staff edit one school's plan: only that spreadsheet is read, at most it and the dashboard written
    school = sorted(k for k in sources if k.startswith("idplan-") and not k.endswith("pbn2"))[0]
    plan_tab = settings.sources.idplan.plan_tab
    rows = fake.values(sources[school], plan_tab)
    fake.staff_edit(sources[school], plan_tab, len(rows) + 1, 1, "2562")
    fake.clear_log()
    third = run_sync(settings, today=TODAY.replace(day=3))
    assert per_spreadsheet(fake.requests(api="sheets", kind="read")) == Counter({sources[school]: 1})
    assert set(per_spreadsheet(fake.requests(api="sheets", kind="write"))) <= {
        sources[school], *fake.find("dashboard")
    }
    assert third.unit_problems == {}


def test_full_flag_reads_everything_again(area, fake_google):
    runner = CliRunner()
    assert runner.invoke(cli, ["sync", "--config", str(area.config)]).exit_code == 1  # the sample's spoiled rows need a person
    fake_google.clear_log()
    result = runner.invoke(cli, ["sync", "--config", str(area.config), "--full"])
    assert result.exit_code == 1, result.output  # the sample's spoiled rows need a person
    assert per_spreadsheet(fake_google.requests(api="sheets", kind="read")) == Counter(area.ids.values())


# --- faults and one school's problem -----------------------------------------------------


def test_ten_percent_failures_give_the_same_outputs(fake_google, tmp_path):
    clean = build_area(fake_google, tmp_path / "clean", schools=15)
    done = run_sync(clean.settings(), today=TODAY)
    expected = {
        (key, tab): fake_tab(fake_google, clean, key, tab)
        for key, tab in [("dashboard", t) for t in dashboard_tabs(done.area)]
    }
    expected_units = {
        key: plain(fake_google.values(sid, SUMMARY)) for key, sid in clean.ids.items() if key.startswith("idplan-")
    }

    # a second, separate area in the same fake, synced while 10% of requests fail
    from tests.google_area import upload

    folder = fake_google.add_folder("faulty", shared_drive=True, shared_with=[None])
    ids = upload(fake_google, tmp_path / "clean" / "pristine", folder)
    config = google_config(tmp_path / "clean", folder, name="faulty.toml", quota="max_tries = 10")
    fake_google.faults.rate = 0.1
    fake_google.faults.statuses = (429, 500, 503)
    fake_google.faults.retry_after = 0.01
    fake_google.faults.seed(5)
    fake_google.clear_log()
    from pipeline.config import load_settings

    result = run_sync(load_settings(config, {"output.outbox": str(tmp_path / "faulty-outbox")}), today=TODAY)
    fake_google.faults.rate = 0.0

    statuses = Counter(r.status for r in fake_google.requests())
    assert sum(statuses[s] for s in (429, 500, 503)) > 0, statuses  # faults did happen
    assert result.unit_problems == {}
    dashboard = [f["id"] for f in fake_google.files(folder) if f["name"] == "dashboard"]
    assert len(dashboard) == 1
    for (_, tab), rows in expected.items():
        assert plain(fake_google.values(dashboard[0], tab)) == rows, tab
    for key, rows in expected_units.items():
        assert plain(fake_google.values(ids[key], SUMMARY)) == rows, key


def test_a_forbidden_spreadsheet_is_that_schools_problem(fake_google, tmp_path, service_account_key):
    area = build_area(fake_google, tmp_path)
    key_file, email_address = service_account_key
    text = area.config.read_text(encoding="utf-8").replace(
        '[storage.quota]', f'credentials = "{key_file}"\n[storage.quota]'
    )
    area.config.write_text(text, encoding="utf-8")
    # The spreadsheets are shared with the account one by one, the folder is not: devplan could not create
    # the dashboard there (init, check and sync all say so), so the office made it.
    fake_google.add_spreadsheet("dashboard", {"ชีต1": []}, folder=area.folder)
    schools = sorted(k for k in area.ids if k.startswith("idplan-") and not k.endswith("pbn2"))
    school, unshared = schools[0], schools[1]
    fake_google.fail(area.ids[school], 403)  # listed in the folder, but every request refused
    fake_google.share(area.ids[unshared], "teacher@school.example")  # shared with a teacher only: not even listed

    result = CliRunner().invoke(cli, ["sync", "--config", str(area.config)])
    assert result.exit_code == 1, result.output
    assert unshared in result.output
    assert school in result.output and area.ids[school] in result.output
    assert email_address in result.output
    assert "Traceback" not in result.output
    # every other school was read and written, with an Authorization header
    others = [sid for key, sid in area.ids.items() if key.startswith("idplan-") and key not in (school, unshared)]
    for sid in others:
        assert SUMMARY in fake_google.tab_names(sid)
    assert all(r.auth for r in fake_google.requests(api="sheets"))
    # and the dashboard lists the school left out
    issues = fake_tab(fake_google, area, "dashboard", "ข้อมูลที่ต้องแก้ไข")
    assert any(row[0] == school and email_address in row[4] for row in issues[1:])


def test_retries_are_bounded_and_403_is_not_retried(area, fake_google):
    school = sorted(k for k in area.ids if k.startswith("idplan-") and not k.endswith("pbn2"))
    broken, refused = area.ids[school[0]], area.ids[school[1]]
    fake_google.fail(broken, 503)
    fake_google.fail(refused, 403)
    result = run_sync(area.settings(**{"storage.quota.max_tries": 3}), today=TODAY)
    tries = per_spreadsheet(fake_google.requests(api="sheets", kind="read"))
    assert tries[broken] == 3
    assert tries[refused] == 1
    assert set(result.unit_problems) == {school[0].removeprefix("idplan-"), school[1].removeprefix("idplan-")}


# --- writing: text stays text, tabs are resized, deleted tabs come back ------------------


TRICKY = ["=IMPORTXML(\"http://example.com\", \"//a\")", "+66812345678", "-5 ชั่วโมง", "@ครูสมชาย", "=1+1"]
# As a person sees each one: a run of 9+ digits could be a mistyped ID, so the phone number is masked
# (and must still be text, "+" and all).
SHOWN = {**{t: t for t in TRICKY}, "+66812345678": "+xxxxxxxx678"}


def test_formula_like_text_is_written_and_read_back_as_text(area, fake_google):
    settings = area.settings()
    idplan = settings.sources.idplan
    school = sorted(k for k in area.ids if k.startswith("idplan-") and not k.endswith("pbn2"))[0]
    sid = area.ids[school]
    rows = fake_google.values(sid, idplan.plan_tab)
    header = rows[0]
    for text in TRICKY:
        row = [""] * len(header)
        row[header.index(idplan.plan_columns.full_name)] = text
        row[header.index(idplan.plan_columns.national_id)] = "1234"
        row[header.index(idplan.plan_columns.fiscal_year)] = 2562
        rows.append(row)
    replace_tab(fake_google, sid, idplan.plan_tab, rows)

    run_sync(settings, today=TODAY)
    summary = fake_google.values(sid, SUMMARY)
    cells = {v for row in summary for v in row}
    for text in TRICKY:
        assert SHOWN[text] in cells, text
    dashboard = fake_google.find("dashboard")[0]
    issues = {v for row in fake_google.values(dashboard, "ข้อมูลที่ต้องแก้ไข") for v in row}
    for text in TRICKY:
        assert SHOWN[text] in issues, text
    # and none went in as a formula
    for request in fake_google.requests(api="sheets", kind="write"):
        assert "formulaValue" not in json.dumps(request.body)


def test_summary_tab_is_resized_and_recreated(area, fake_google):
    settings = area.settings()
    school = sorted(k for k in area.ids if k.startswith("idplan-") and not k.endswith("pbn2"))[0]
    sid = area.ids[school]
    run_sync(settings, today=TODAY)
    before = fake_google.sheet(sid, SUMMARY)
    height = len(fake_google.values(sid, SUMMARY))
    assert before["properties"]["gridProperties"]["rowCount"] == height

    # five unusable rows make the tab grow; removing them makes it shrink to fit, not just cleared
    plan_tab = settings.sources.idplan.plan_tab
    plan = fake_google.values(sid, plan_tab)
    junk = [["ไม่มีชื่อนี้"] + [None] * (len(plan[0]) - 1) for _ in range(5)]
    replace_tab(fake_google, sid, plan_tab, plan + junk)
    run_sync(settings, today=TODAY)
    grown = len(fake_google.values(sid, SUMMARY))
    assert grown > height
    replace_tab(fake_google, sid, plan_tab, plan)
    run_sync(settings, today=TODAY)
    after_rows = fake_google.values(sid, SUMMARY)
    assert len(after_rows) == height < grown
    assert fake_google.sheet(sid, SUMMARY)["properties"]["gridProperties"]["rowCount"] == len(after_rows)

    # a director deletes the summary tab: the next sync puts it back, other tabs untouched
    staff = staff_tabs(fake_google, area)
    fake_google.delete_tab(sid, SUMMARY)
    run_sync(settings, today=TODAY)
    assert SUMMARY in fake_google.tab_names(sid)
    assert plain(fake_google.values(sid, SUMMARY)) == plain(after_rows)
    assert staff_tabs(fake_google, area) == staff


def test_header_bold_frozen_and_widths_in_the_one_write(area, fake_google):
    run_sync(area.settings(), today=TODAY)
    school = sorted(k for k in area.ids if k.startswith("idplan-"))[0]
    writes = [r for r in fake_google.requests(api="sheets", kind="write") if r.spreadsheet == area.ids[school]]
    assert len(writes) == 1
    kinds = [next(iter(sub)) for sub in writes[0].body["requests"]]
    assert kinds[0] == "addSheet" and "updateCells" in kinds and "updateDimensionProperties" in kinds
    cells = next(sub["updateCells"] for sub in writes[0].body["requests"] if "updateCells" in sub)
    assert cells["rows"][0]["values"][0]["userEnteredFormat"]["textFormat"]["bold"] is True
    assert kinds[1] == "createDeveloperMetadata"  # devplan's mark, made with the tab
    grid = writes[0].body["requests"][2]["updateSheetProperties"]["properties"]["gridProperties"]
    assert grid["frozenRowCount"] == 4  # title, date line, blank row, indicator header (tests/test_formats.py)


# --- names, creation, errors ------------------------------------------------------------


def test_two_spreadsheets_with_one_title_name_both_ids(area, fake_google):
    twin = fake_google.add_spreadsheet("roster", {"หน่วยงาน": [["x"]]}, folder=area.folder)
    result = CliRunner().invoke(cli, ["sync", "--config", str(area.config)])
    assert result.exit_code == 3, result.output
    assert twin in result.stderr and area.ids["roster"] in result.stderr


def test_dashboard_that_cannot_be_created_says_what_to_do(fake_google, tmp_path, service_account_key):
    area = build_area(fake_google, tmp_path)
    key_file, address = service_account_key
    my_drive = fake_google.add_folder("my-drive-folder", shared_drive=False, shared_with=[address])
    from tests.google_area import upload

    upload(fake_google, tmp_path / "pristine", my_drive)
    text = area.config.read_text(encoding="utf-8").replace(area.folder, my_drive)
    text = text.replace("[storage.quota]", f'credentials = "{key_file}"\n[storage.quota]')
    area.config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["sync", "--config", str(area.config)])
    assert result.exit_code == 4, result.output
    assert "'dashboard'" in result.stderr and "สร้างสเปรดชีตเปล่า" in result.stderr
    assert address in result.stderr
    # it says which spreadsheets this run already changed, and no mail went out
    school = sorted(k for k in area.ids if k.startswith("idplan-"))[0]
    assert "รอบนี้เขียนแท็บสรุปผลใหม่แล้ว" in result.stderr and school in result.stderr
    assert not list(area.settings().output.outbox.glob("*.eml"))

    # once the office has created the dashboard, a rerun completes the area: only the dashboard is written
    created = fake_google.add_spreadsheet("dashboard", {"ชีต1": []}, folder=my_drive)
    fake_google.clear_log()
    again = CliRunner().invoke(cli, ["sync", "--config", str(area.config)])
    assert again.exit_code in (0, 1), again.output
    writes = fake_google.requests(api="sheets", kind="write")
    assert {r.spreadsheet for r in writes} == {created}


def test_spreadsheet_given_by_url_is_used_as_it_is(area, fake_google):
    url = f"https://docs.google.com/spreadsheets/d/{area.ids['roster']}/edit#gid=0"
    settings = area.settings(**{"sources.units.spreadsheet": url, "sources.staff.spreadsheet": url})
    result = run_sync(settings, today=TODAY)
    assert result.unit_problems == {}
    assert area.ids["roster"] in {r.spreadsheet for r in fake_google.requests(api="sheets", kind="read")}
    # given by URL but inside the folder: the listing still tells it has not changed
    fake_google.clear_log()
    run_sync(settings, today=TODAY)
    assert fake_google.requests(api="sheets") == []


def test_no_credentials_and_no_emulator_is_a_config_error(area, monkeypatch):
    monkeypatch.delenv("DEVPLAN_GOOGLE_API_BASE")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    result = CliRunner().invoke(cli, ["sync", "--config", str(area.config)])
    assert result.exit_code == 2
    assert "GOOGLE_APPLICATION_CREDENTIALS" in result.stderr


def test_emulator_without_credentials_sends_no_authorization(area, fake_google):
    run_sync(area.settings(), today=TODAY)
    assert fake_google.requests()
    assert not any(r.auth for r in fake_google.requests())


# --- pacing -------------------------------------------------------------------------------


def test_paced_to_the_quota_without_429(fake_google, tmp_path):
    from pipeline.state import State
    from pipeline.workbook.google import GoogleWorkbook
    from pipeline.workbook.google_http import Pacing

    area = build_area(fake_google, tmp_path, schools=4)
    clock = VirtualClock()
    fake_google.quota.clock = clock
    fake_google.quota.window, fake_google.quota.read_limit, fake_google.quota.write_limit = 60.0, 3, 3
    waits = []
    book = GoogleWorkbook(area.folder, State(None), api_base=fake_google.base_url,
                          pacing=Pacing(reads=3, writes=3, window=60.0), on_wait=lambda *w: waits.append(w),
                          clock=clock, sleep=clock.sleep)
    result = run_sync(area.settings(), workbook=book, today=TODAY)
    assert result.unit_problems == {}
    sheets = fake_google.requests(api="sheets")
    assert sheets and all(r.status == 200 for r in sheets)  # never a 429: the fake counts in the same time
    reads = sum(r.kind == "read" for r in sheets)
    writes = sum(r.kind == "write" for r in sheets)
    assert reads == 7 and writes == 6  # roster, survey, 5 ID Plans; 5 summary tabs and the dashboard
    # Reads go 3 at an instant, then must wait for the window to pass: 60 s before the 4th and the 7th.
    # A wait is never longer than the window.
    assert [w[0] for w in waits].count("read") == (reads - 1) // 3
    assert all(0 < w[1] <= 60.0 for w in waits) and clock.slept == [w[1] for w in waits]
    assert sum(w[1] for w in waits if w[0] == "read") == 60.0 * ((reads - 1) // 3)
    assert all("ถึงโควตาการ" in w[2] and "(3 ครั้งต่อ 60 วินาที)" in w[2] for w in waits)
    # While a read waits, the units already read are written: the 1st ID Plan's summary at 0 s, the 2nd
    # and 3rd at 60 s, the rest and the dashboard (last) at 120 s; no write waits. Reads then writes
    # would have taken 180 s (3 writes at 120 s, 3 more at 180 s).
    assert [w[0] for w in waits].count("write") == 0
    assert clock.now - 1000.0 == 60.0 * ((reads - 1) // 3) == 120.0
    written = [r for r in sheets if r.kind == "write"]
    assert [r.time for r in written] == sorted(r.time for r in written)
    assert written[-1].spreadsheet == fake_google.find("dashboard")[0]


@pytest.fixture
def service_account_key(fake_google, tmp_path):
    """A real service-account key file (fresh RSA key) whose token_uri is the fake's."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    address = "devplan-test@devplan-pbn2.iam.gserviceaccount.com"
    info = {
        "type": "service_account", "project_id": "devplan-pbn2", "private_key_id": "0" * 40,
        "private_key": pem, "client_email": address, "client_id": "1",
        "token_uri": f"{fake_google.base_url}/token",
    }
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path, address


def test_retry_after_is_honoured_and_said(area, fake_google):
    from pipeline.state import State
    from pipeline.workbook.google import GoogleWorkbook
    from pipeline.workbook.google_http import Pacing

    waits = []
    book = GoogleWorkbook(
        area.folder, State(None), api_base=fake_google.base_url,
        pacing=Pacing(backoff_base=0.01, max_backoff=5), on_wait=lambda *w: waits.append(w),
    )
    fake_google.faults.retry_after = 0.3
    fake_google.faults.apis = ("sheets",)
    fake_google.faults.fail_next(429, 2)
    rows = book.read("roster", ["หน่วยงาน"])["หน่วยงาน"]
    assert rows[0][0] == "รหัสหน่วยงาน"
    assert [w[0] for w in waits] == ["retry", "retry"]
    assert all(w[1] >= 0.3 for w in waits)  # never sooner than Google asked
    assert "429" in waits[0][2]
    assert [r.status for r in fake_google.requests(api="drive")] == [200]
    assert [r.status for r in fake_google.requests(api="sheets")] == [429, 429, 200]


def test_ids_and_codes_typed_as_numbers_in_sheets_still_match(area, fake_google):
    """A person types an ID or code without a leading apostrophe: Sheets keeps a number."""
    settings = area.settings()
    clean = run_sync(settings, today=TODAY)
    roster = area.ids["roster"]
    for tab, columns in ((settings.sources.staff.tab, [settings.sources.staff.columns.national_id,
                                                        settings.sources.staff.columns.unit_code]),
                         (settings.sources.units.tab, [settings.sources.units.columns.code])):
        rows = fake_google.values(roster, tab)
        index = [rows[0].index(c) for c in columns]
        for row in rows[1:]:
            for i in index:
                if isinstance(row[i], str) and row[i].isdigit():
                    row[i] = int(row[i])
        replace_tab(fake_google, roster, tab, rows)
    assert any(isinstance(v, int) and v > 10**12 for row in fake_google.values(roster, settings.sources.staff.tab)
               for v in row)
    again = run_sync(settings, today=TODAY)
    assert again.area.indicators == clean.area.indicators
    assert again.area.counts == clean.area.counts


def test_a_renamed_tab_in_one_school_is_that_schools_problem(area, fake_google):
    settings = area.settings()
    school = sorted(k for k in area.ids if k.startswith("idplan-") and not k.endswith("pbn2"))[0]
    fake_google.rename_tab(area.ids[school], settings.sources.idplan.record_tab, "บันทึก")
    result = run_sync(settings, today=TODAY)
    code = school.removeprefix("idplan-")
    assert set(result.unit_problems) == {code}
    problem = result.unit_problems[code]
    assert settings.sources.idplan.record_tab in problem.message and area.ids[school] in problem.message
    assert "ควรแก้ที่สเปรดชีต" in problem.hint
    assert len(result.published.written) == len(area.ids) - 3 + 1  # every other unit and the dashboard


# --- every idle night is one request, whatever ran before it ------------------------------


def night(fake, settings, day: int, *, dry_run: bool = False):
    """One run; (requests by (api, kind), spreadsheets read from Google, the result)."""
    fake.clear_log()
    result = run_sync(settings, today=TODAY.replace(day=day), dry_run=dry_run)
    counts = Counter((r.api, r.kind) for r in fake.requests())
    return counts, per_spreadsheet(fake.requests(api="sheets", kind="read")), result


def assert_idle(fake, settings, day: int) -> None:
    counts, read, result = night(fake, settings, day)
    assert counts == Counter({("drive", "read"): 1}), counts  # the folder listing, nothing else
    assert result.published.written == {} and not read


def test_check_then_sync_then_an_idle_night(area, fake_google):
    """As the README says to start: ``devplan check``, then ``devplan sync``, then nightly syncs."""
    fake_google.clear_log()
    checked = CliRunner().invoke(cli, ["check", "--config", str(area.config)])
    assert checked.exit_code == 1, checked.output  # the sample's spoiled rows need a person
    read = per_spreadsheet(fake_google.requests(api="sheets", kind="read"))
    assert read == Counter(area.ids.values()) and not fake_google.requests(api="sheets", kind="write")
    # the sync right after the check reads nothing again: every row is in the state file
    fake_google.clear_log()
    synced = CliRunner().invoke(cli, ["sync", "--config", str(area.config)])
    assert synced.exit_code == 1, synced.output
    assert not fake_google.requests(api="sheets", kind="read")
    writes = per_spreadsheet(fake_google.requests(api="sheets", kind="write"))
    assert len(writes) == len(area.ids) - 2 + 1 and set(writes.values()) == {1}
    for _ in range(2):  # the nights after, through the same command and so on the same date as the sync
        fake_google.clear_log()
        idle = CliRunner().invoke(cli, ["sync", "--config", str(area.config)])
        assert idle.exit_code == 1, idle.output
        assert Counter((r.api, r.kind) for r in fake_google.requests()) == Counter({("drive", "read"): 1})


def test_roster_edit_then_sync_then_an_idle_night(area, fake_google):
    settings = area.settings()
    night(fake_google, settings, 1)
    # the office drops one person of each of three schools from the staff roster
    roster, tab = area.ids["roster"], settings.sources.staff.tab
    rows = fake_google.values(roster, tab)
    unit = rows[0].index(settings.sources.staff.columns.unit_code)
    codes = {str(k).removeprefix("idplan-") for k in area.ids if k.startswith("idplan-")} - {settings.area.office_code}
    schools = sorted({r[unit] for r in rows[1:] if r[unit] in codes})[:3]
    dropped = [next(i for i, r in enumerate(rows) if r[unit] == code) for code in schools]
    replace_tab(fake_google, roster, tab, [r for i, r in enumerate(rows) if i not in dropped])
    counts, read, edited = night(fake_google, settings, 2)
    assert read == Counter({roster: 1})  # only the roster: every ID Plan comes from the state file
    written = set(edited.published.written)
    assert {f"idplan-{code}" for code in schools} | {"dashboard"} <= written
    assert counts[("sheets", "write")] == len(written)
    assert_idle(fake_google, settings, 3)


def test_summary_tab_deleted_then_sync_then_an_idle_night(area, fake_google):
    settings = area.settings()
    night(fake_google, settings, 1)
    school = sorted(k for k in area.ids if k.startswith("idplan-") and not k.endswith("pbn2"))[0]
    fake_google.delete_tab(area.ids[school], SUMMARY)
    counts, read, again = night(fake_google, settings, 2)
    assert set(read) == {area.ids[school]}
    assert list(again.published.written) == [school]
    assert SUMMARY in fake_google.tab_names(area.ids[school])
    assert_idle(fake_google, settings, 3)


def test_one_school_edited_costs_its_read_its_write_and_the_listing(area, fake_google):
    settings = area.settings()
    night(fake_google, settings, 1)
    school = sorted(k for k in area.ids if k.startswith("idplan-") and not k.endswith("pbn2"))[0]
    plan_tab = settings.sources.idplan.plan_tab
    rows = fake_google.values(area.ids[school], plan_tab)
    fake_google.staff_edit(area.ids[school], plan_tab, len(rows) + 1, 1, "2562")
    counts, read, edited = night(fake_google, settings, 2)
    assert read == Counter({area.ids[school]: 1})
    writes = per_spreadsheet(fake_google.requests(api="sheets", kind="write"))
    # the school's summary, and the dashboard only if the edit changed what it shows
    assert writes == Counter({fake_google.find(k)[0]: 1 for k in edited.published.written})
    assert area.ids[school] in writes or school not in edited.published.written
    # the listing before, and after the writes the listing that learns their modifiedTime
    assert counts[("drive", "read")] == (2 if writes else 1) and counts[("drive", "write")] == 0
    assert_idle(fake_google, settings, 3)


def test_a_summary_written_early_is_written_again_when_a_later_read_changes_it(fake_google, tmp_path):
    """A row in the last school's ID Plan credits a person of the first school read: the first school's
    tab, written while reads waited, is written again once everything is read, and ends as a run
    without any quota writes it."""
    from pipeline.collect import table_to_frame
    from pipeline.normalize import unit_codes
    from pipeline.state import State
    from pipeline.workbook.google import GoogleWorkbook
    from pipeline.workbook.google_http import Pacing

    area = build_area(fake_google, tmp_path, schools=4)
    settings = area.settings()
    src = settings.sources
    roster = area.ids[src.units.spreadsheet]
    units = table_to_frame(fake_google.values(roster, src.units.tab), src.units.columns, "roster", src.units.tab, "x")
    codes = unit_codes(units, settings.area.office_code)
    first, last = area.ids[src.idplan.key_for(codes[0])], area.ids[src.idplan.key_for(codes[-1])]
    staff = fake_google.values(roster, src.staff.tab)
    at = {name: staff[0].index(header) for name, header in src.staff.columns.model_dump().items() if header}
    plan = fake_google.values(first, src.idplan.plan_tab)
    planned = {str(v) for row in plan for v in row}
    person = next(r for r in staff[1:] if str(r[at["unit_code"]]) == codes[0] and str(r[at["national_id"]]) not in planned)
    header = fake_google.values(last, src.idplan.plan_tab)[0]
    columns = src.idplan.plan_columns.model_dump()
    row = {columns["fiscal_year"]: 2562, columns["national_id"]: str(person[at["national_id"]]),
           columns["full_name"]: f"{person[at['first_name']]} {person[at['last_name']]}",
           columns["topic"]: "การวัดและประเมินผล", columns["hours"]: 6}
    height = len(fake_google.values(last, src.idplan.plan_tab))
    fake_google.staff_write(last, src.idplan.plan_tab, height + 1, 1, [[row.get(h) for h in header]], value_input="RAW")

    clock = VirtualClock()
    fake_google.quota.clock = clock
    fake_google.quota.window, fake_google.quota.read_limit, fake_google.quota.write_limit = 60.0, 3, 3
    book = GoogleWorkbook(area.folder, State(None), api_base=fake_google.base_url,
                          pacing=Pacing(reads=3, writes=3, window=60.0), clock=clock, sleep=clock.sleep)
    paced = run_sync(settings, workbook=book, today=TODAY)
    assert paced.unit_problems == {}
    writes = per_spreadsheet(fake_google.requests(api="sheets", kind="write"))
    assert writes[first] == 2 and writes[last] == 1  # written early, then again with the credit
    summaries = {k: fake_google.values(sid, SUMMARY) for k, sid in area.ids.items() if k.startswith("idplan-")}

    fake_google.quota.read_limit = fake_google.quota.write_limit = None
    again = run_sync(area.settings(**{"storage.state": str(tmp_path / "other.sqlite")}), today=TODAY)
    assert set(again.published.written) >= set(summaries)  # a new state file: every tab written again
    assert {k: fake_google.values(area.ids[k], SUMMARY) for k in summaries} == summaries


def test_a_mailing_the_state_file_cannot_account_for_is_refused_before_any_early_write(fake_google, tmp_path, server):
    """Reads wait for the quota, so summaries would go out early; but a ``--send`` the new state file
    cannot account for is refused before anything is written, as the refusal says."""
    from pipeline.deliver import SendPolicy, smtp_for_send
    from pipeline.errors import DeliveryError
    from pipeline.state import State
    from pipeline.workbook.google import GoogleWorkbook
    from pipeline.workbook.google_http import Pacing

    area = build_area(fake_google, tmp_path, schools=4)
    settings = area.settings()
    clock = VirtualClock()
    fake_google.quota.clock = clock
    fake_google.quota.window, fake_google.quota.read_limit, fake_google.quota.write_limit = 60.0, 3, 3

    def paced_sync(**options):
        book = GoogleWorkbook(area.folder, State(settings.storage.state), api_base=fake_google.base_url,
                              pacing=Pacing(reads=3, writes=3, window=60.0), clock=clock, sleep=clock.sleep)
        return run_sync(settings, workbook=book, today=TODAY, smtp=smtp_for_send(), **options)

    started = clock.now
    first = paced_sync()
    assert first.delivery.sent and clock.now - started == 120.0  # mailed, and written while reads waited
    settings.storage.state.unlink()  # a new state file in an area already mailed
    fake_google.clear_log()
    with pytest.raises(DeliveryError) as refused:
        paced_sync()
    assert "รอบนี้ยังไม่ได้เขียนหรือส่งสิ่งใด" in refused.value.message
    assert fake_google.requests(api="sheets", kind="write") == []  # true: not one early write
    told = paced_sync(send_policy=SendPolicy(new_state=True))  # confirmed: the overlap is back
    assert told.unit_problems == {} and fake_google.requests(api="sheets", kind="write")
