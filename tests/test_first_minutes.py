"""The first fifteen minutes: ``init`` → ``check`` → ``sync`` → ``status``, with real files,
the real command line (CliRunner) and the fake Google over HTTP.

Expected values are counted here from the spreadsheets themselves (openpyxl on the
sample's ``.xlsx`` files, or the fake's cells), not taken from devplan's own output.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from tests.conftest import DEMO_CONFIG, write_config
from tests.google_area import build_area, staff_tabs

THAI_NAME = "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาทดสอบ เขต 1"
OFFICE = "pbn2"  # the sample area's office code
SA_EMAIL = "devplan@devplan-test.iam.gserviceaccount.com"


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def sample_area(folder: Path, schools: int = 4) -> Path:
    """A sample area's spreadsheets in ``folder/sheets``, as ``devplan sample`` makes them."""
    from pipeline.config import load_settings
    from pipeline.sample import generate_area
    from pipeline.workbook.local import LocalWorkbook

    sheets = folder / "sheets"
    settings = load_settings(DEMO_CONFIG, {"storage.path": str(sheets), "output.outbox": str(folder / "unused"),
                                           "storage.state": str(folder / "unused.sqlite")})
    generate_area(LocalWorkbook(sheets), settings, schools=schools, seed=7)
    return sheets


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def data_rows(path: Path, tab: str) -> list[tuple]:
    """A tab's rows below the header that hold any value."""
    rows = list(load_workbook(path, read_only=True, data_only=True)[tab].iter_rows(values_only=True))
    return [r for r in rows[1:] if any(v not in (None, "") for v in r)]


def roster_units(sheets: Path) -> dict[str, str]:
    """unit code -> director e-mail, straight from the roster's units tab."""
    rows = list(load_workbook(sheets / "roster.xlsx", read_only=True, data_only=True)["หน่วยงาน"].iter_rows(values_only=True))
    header = list(rows[0])
    code, mail = header.index("รหัสหน่วยงาน"), header.index("อีเมลผู้อำนวยการ")
    return {str(r[code]).strip(): str(r[mail]).strip() for r in rows[1:] if r[code]}


# --- local: from an empty folder to a passing check -----------------------------------


def test_init_local_then_check_reports_and_writes_nothing(tmp_path):
    sheets = sample_area(tmp_path / "area")
    office = tmp_path / "office"
    units = roster_units(sheets)
    idplans = sorted(p.stem for p in sheets.glob("idplan-*.xlsx"))
    assert sorted(f"idplan-{c}" for c in units) == idplans  # the sample: one ID Plan per roster unit

    result = run("init", office, "--name", THAI_NAME, "--office-code", OFFICE, "--year", "2562",
                 "--local", sheets, "--yes")
    assert result.exit_code == 0, result.output
    config = office / "devplan.toml"
    text = config.read_text(encoding="utf-8")
    assert f'name = "{THAI_NAME}"' in text and f'office_code = "{OFFICE}"' in text and "fiscal_year = 2562" in text
    assert 'backend = "local"' in text
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert any("ไฟล์ตั้งค่า" in line for line in comments) and any("Relative paths" in line for line in comments)
    assert "# Buddhist era (ปีงบประมาณ พ.ศ.)" in text
    # the access table: every spreadsheet named, all reachable; the dashboard is still to be made
    for key in ["roster", "needs-survey", *idplans, "dashboard"]:
        assert f"{key} " in result.stdout, key
    assert f"เข้าถึงได้ครบทั้ง {2 + len(idplans) + 1} รายการ" in result.stdout
    assert "✗" not in result.stdout
    assert f"devplan check --config {config}" in result.stdout

    before = snapshot(sheets)
    checked = run("check", "--config", config)
    # the sample spoils rows on purpose: rows need a person (exit 1, as sync), but no unit is left out
    assert checked.exit_code == 1, checked.output
    out = checked.stdout
    assert "หน่วยงานที่ตกหล่น (ไม่ได้รับอีเมลสรุปผล) 0 แห่ง" in out
    assert "หน่วยงานที่จะไม่ได้ประมวลผล" not in out
    # rows per source, counted here from the files
    assert f"'roster' แท็บ 'หน่วยงาน' {len(data_rows(sheets / 'roster.xlsx', 'หน่วยงาน'))} แถว" in out
    assert f"'roster' แท็บ 'บุคลากร' {len(data_rows(sheets / 'roster.xlsx', 'บุคลากร'))} แถว" in out
    survey = len(data_rows(sheets / "needs-survey.xlsx", "การตอบแบบฟอร์ม 1"))
    assert f"'needs-survey' แท็บ 'การตอบแบบฟอร์ม 1' {survey} แถว" in out
    plans = sum(len(data_rows(sheets / f"{k}.xlsx", "แผนพัฒนาตนเอง")) for k in idplans)
    records = sum(len(data_rows(sheets / f"{k}.xlsx", "บันทึกการพัฒนา")) for k in idplans)
    assert f"ID Plan: {len(idplans)} สเปรดชีต แท็บ 'แผนพัฒนาตนเอง' {plans} แถว, แท็บ 'บันทึกการพัฒนา' {records} แถว" in out
    # the rows to fix: each named with its place; as many as the dashboard will list after the sync
    quarantined = int(out.split("แถวที่ใช้ไม่ได้ ")[1].split(" แถว")[0])
    listed = [line for line in out.splitlines() if line.startswith("    - '")]
    assert 0 < len(listed) == min(quarantined, 20)
    assert f"แถวที่ต้องแก้ไข {quarantined} แถว" in out
    # where every tab would go, and every director's mail
    for key in idplans:
        assert f"  - {key}: 'สรุปผล (devplan)' → {sheets / (key + '.xlsx')}" in out
    assert "  - dashboard: 'ภาพรวมเขตพื้นที่'" in out and "จะสร้างไฟล์ใหม่" in out
    for code, address in units.items():
        assert f"  - {code} → {address}" in out
    # ... and nothing written: spreadsheets byte for byte, no outbox, no dashboard
    assert snapshot(sheets) == before
    assert not (office / "outbox").exists()
    assert not (sheets / "dashboard.xlsx").exists()
    assert {p.name for p in office.iterdir()} <= {"devplan.toml", "devplan-state.sqlite", "devplan-state.sqlite.lock",
                                                   "devplan-state.sqlite-wal", "devplan-state.sqlite-shm"}

    # the same folder syncs: the snapshot comparison above can fail
    synced = run("sync", "--config", config)
    assert synced.exit_code == 1, synced.output
    assert snapshot(sheets) != before
    assert sorted(p.stem for p in (office / "outbox").glob("*.eml")) == sorted(units)
    assert len(data_rows(sheets / "dashboard.xlsx", "ข้อมูลที่ต้องแก้ไข")) == quarantined


def test_check_after_a_sync_has_nothing_to_write(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=2)
    assert run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets,
               "--yes").exit_code == 0
    config = tmp_path / "o" / "devplan.toml"
    assert run("sync", "--config", config).exit_code == 1  # the sample's spoiled rows
    outbox = snapshot(tmp_path / "o" / "outbox")
    result = run("check", "--config", config)
    assert result.exit_code == 1, result.output
    assert "แท็บที่ sync จะเขียน (0 สเปรดชีต)" in result.stdout
    assert f"ไม่ต้องเขียนใหม่ {len(list(sheets.glob('idplan-*.xlsx'))) + 1} สเปรดชีต" in result.stdout
    assert snapshot(tmp_path / "o" / "outbox") == outbox


def test_check_on_a_clean_area_exits_0(tmp_path):
    """The hand-built area has nothing to fix: check says so, as sync would."""
    from pipeline.config import load_settings
    from pipeline.workbook.local import LocalWorkbook
    from tests import hand_area

    config = write_config(tmp_path)
    settings = load_settings(config)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    # take out the hand area's deliberately bad rows: a wrong check digit, a stranger, an unreadable date
    bad = {hand_area.BAD_ID, hand_area.STRANGER, "ยังไม่ระบุ"}
    for key in book.keys():
        tabs = book.read(key, book.tabs(key))
        book.write(key, {tab: [row for row in rows if not bad & {str(v) for v in row}] for tab, rows in tabs.items()})
    before = snapshot(settings.storage.path)
    result = run("check", "--config", config)
    assert result.exit_code == 0, result.output
    assert "ผล: พร้อมสั่ง sync" in result.stdout and "เรียบร้อย" in result.stdout
    assert snapshot(settings.storage.path) == before
    assert run("sync", "--config", config).exit_code == 0  # and sync agrees


def test_check_exits_1_when_a_unit_would_be_left_out(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=3)
    assert run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets,
               "--yes").exit_code == 0
    gone = sorted(sheets.glob("idplan-1*.xlsx"))[0]
    gone.unlink()
    before = snapshot(sheets)
    result = run("check", "--config", tmp_path / "o" / "devplan.toml")
    assert result.exit_code == 1, result.output
    assert "หน่วยงานที่จะไม่ได้ประมวลผล 1 แห่ง" in result.stdout
    assert gone.stem in result.stdout and gone.stem.removeprefix("idplan-") in result.stdout
    assert snapshot(sheets) == before


def test_init_local_names_a_missing_id_plan_and_exits_1(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=2)
    missing = sorted(sheets.glob("idplan-1*.xlsx"))[0]
    missing.unlink()
    result = run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets, "--yes")
    assert result.exit_code == 1, result.output
    bad = [line for line in result.stdout.splitlines() if "✗" in line]
    assert len(bad) == 1 and bad[0].startswith(missing.stem)
    assert f"ไม่พบไฟล์ {missing.name}" in bad[0]
    assert "ต้องแก้ 1 รายการ" in result.stdout
    assert (tmp_path / "o" / "devplan.toml").is_file()  # the config is written all the same


def test_init_local_with_a_missing_folder_says_so(tmp_path):
    result = run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE,
                 "--local", tmp_path / "nowhere", "--yes")
    assert result.exit_code == 1
    assert "ไม่พบโฟลเดอร์" in result.stdout and str(tmp_path / "nowhere") in result.stdout


def test_init_does_not_overwrite_without_force(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=1)
    args = ["init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets, "--yes"]
    assert run(*args).exit_code == 0
    config = tmp_path / "o" / "devplan.toml"
    config.write_text(config.read_text(encoding="utf-8") + "# แก้เองแล้ว\n", encoding="utf-8")
    again = run(*args)
    assert again.exit_code == 2
    assert "--force" in again.output and "Traceback" not in again.output
    assert config.read_text(encoding="utf-8").endswith("# แก้เองแล้ว\n")
    assert run(*args, "--force").exit_code == 0
    assert "แก้เองแล้ว" not in config.read_text(encoding="utf-8")


def test_init_with_yes_needs_the_answers_it_cannot_guess(tmp_path):
    result = run("init", tmp_path / "o", "--office-code", OFFICE, "--local", tmp_path, "--yes")
    assert result.exit_code == 2 and "--name" in result.output
    result = run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--yes")
    assert result.exit_code == 2 and "--local" in result.output and "--drive" in result.output
    result = run("init", tmp_path / "o", "--name", "x", "--office-code", "a b", "--local", tmp_path, "--yes")
    assert result.exit_code == 2 and "--office-code" in result.output
    assert not (tmp_path / "o" / "devplan.toml").exists()


def test_init_asks_when_not_told(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=1)
    # where the spreadsheets are comes before the office code, which is checked against the roster there
    answers = "\n".join([THAI_NAME, "local", str(sheets), OFFICE, "2563", "ฝ่ายบุคคล <hr@area.example.go.th>"]) + "\n"
    result = run("init", tmp_path / "o", input=answers)
    assert result.exit_code == 0, result.output
    from pipeline.config import load_settings

    settings = load_settings(tmp_path / "o" / "devplan.toml")
    assert settings.area.name == THAI_NAME and settings.area.office_code == OFFICE
    assert settings.area.fiscal_year == 2563
    assert settings.storage.path == sheets.resolve()
    assert settings.mail.sender == "ฝ่ายบุคคล <hr@area.example.go.th>"
    assert settings.output.outbox == (tmp_path / "o" / "outbox").resolve()
    assert settings.storage.state == (tmp_path / "o" / "devplan-state.sqlite").resolve()


# --- Google: init names what to share, with whom and how -------------------------------


@pytest.fixture
def google_area(fake_google, tmp_path):
    """A sample area in the fake: every spreadsheet owned by a person at the office, the
    folder shared with devplan's service account (set per test), and that account's key."""
    area = build_area(fake_google, tmp_path / "g", schools=3)
    for sid in area.ids.values():
        fake_google.share(sid, "hrd@office.example.go.th", "owner")  # private: only the owner, and the folder's
    key = tmp_path / "key.json"
    key.write_text(json.dumps(fake_google.service_account_info(SA_EMAIL)), encoding="utf-8")
    return area, key


def test_init_google_names_the_unshared_spreadsheet_then_check_passes_after_sharing(fake_google, tmp_path, google_area):
    area, key = google_area
    fake_google.share(area.folder, SA_EMAIL, "writer")
    school = sorted(k for k in area.ids if k.startswith("idplan-1"))[0]
    fake_google.forbid(area.ids[school])  # in the folder, but refused to devplan
    office = tmp_path / "office"

    result = run("init", office, "--name", THAI_NAME, "--office-code", OFFICE, "--year", "2562",
                 "--drive", f"https://drive.google.com/drive/folders/{area.folder}", "--credentials", key, "--yes")
    assert result.exit_code == 1, result.output
    assert SA_EMAIL in result.stdout
    bad = [line for line in result.stdout.splitlines() if "✗" in line]
    assert len(bad) == 1 and bad[0].startswith(school) and "ผู้แก้ไข (Editor)" in bad[0]
    assert f"  - {school} (ID Plan หน่วยงาน {school.removeprefix('idplan-')}): " in result.stdout
    assert f"แชร์ให้ {SA_EMAIL} เป็นผู้แก้ไข (Editor)" in result.stdout
    ok = [line for line in result.stdout.splitlines() if "✓" in line]
    assert {line.split()[0] for line in ok} == {k for k in area.ids if k != school} | {"dashboard"}
    roster_line = next(line for line in ok if line.startswith("roster "))
    assert "ผู้มีสิทธิ์ดู (Viewer)" in roster_line
    text = (office / "devplan.toml").read_text(encoding="utf-8")
    assert 'backend = "google"' in text and str(key.resolve()) in text
    # init only looked: nothing written, no dashboard made, every request carried the account's token
    assert fake_google.requests(api="sheets", kind="write") == []
    assert fake_google.find("dashboard") == []
    assert all(r.user == SA_EMAIL for r in fake_google.requests(api="sheets"))

    fake_google.forbid(area.ids[school], False)  # the office shares it
    modified = {sid: fake_google.modified_time(sid) for sid in area.ids.values()}
    fake_google.clear_log()
    checked = run("check", "--config", office / "devplan.toml")
    # every spreadsheet reachable, no unit left out: only the sample's spoiled rows need a person
    assert checked.exit_code == 1, checked.output
    assert "หน่วยงานที่ตกหล่น (ไม่ได้รับอีเมลสรุปผล) 0 แห่ง" in checked.stdout
    assert "หน่วยงานที่จะไม่ได้ประมวลผล" not in checked.stdout
    assert f"  - {school}: 'สรุปผล (devplan)' → https://docs.google.com/spreadsheets/d/{area.ids[school]}" in checked.stdout
    assert "จะสร้างสเปรดชีตใหม่ชื่อ 'dashboard'" in checked.stdout
    # read everything, wrote nothing
    assert {r.spreadsheet for r in fake_google.requests(api="sheets", kind="read")} == set(area.ids.values())
    assert [r for r in fake_google.requests(kind="write") if r.api != "token"] == []
    assert {sid: fake_google.modified_time(sid) for sid in area.ids.values()} == modified
    assert not (office / "outbox").exists()


def test_init_google_folder_shared_as_viewer_needs_editor(fake_google, tmp_path, google_area):
    area, key = google_area
    fake_google.share(area.folder, SA_EMAIL, "reader")
    args = ["init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--drive", area.folder,
            "--credentials", key, "--yes"]
    result = run(*args)
    assert result.exit_code == 1, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if "✓" in line or "✗" in line}
    idplans = {k for k in area.ids if k.startswith("idplan-")}
    assert {k for k, line in lines.items() if "✗" in line} == idplans | {"dashboard"}
    assert {k for k, line in lines.items() if "✓" in line} == {"roster", "needs-survey"}  # Viewer is enough
    assert all("ยังไม่ได้แชร์เป็นผู้แก้ไข" in lines[k] for k in idplans)
    assert "สร้างสเปรดชีตเปล่าชื่อ 'dashboard'" in result.stdout

    fake_google.share(area.folder, SA_EMAIL, "writer")
    again = run(*args, "--force")
    assert again.exit_code == 0, again.output
    assert f"เข้าถึงได้ครบทั้ง {len(area.ids) + 1} รายการ" in again.stdout


def test_init_google_unreachable_folder(fake_google, tmp_path, google_area):
    area, key = google_area  # the folder is not shared with the account at all
    result = run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--drive", area.folder,
                 "--credentials", key, "--yes")
    assert result.exit_code == 1
    assert "เปิดโฟลเดอร์ไม่ได้" in result.stdout and SA_EMAIL in result.stdout and area.folder in result.stdout


def init_google(office: Path, folder: str, key: Path):
    """``devplan init`` for the sample office on a Drive folder, every answer given by flag."""
    return run("init", office, "--name", THAI_NAME, "--office-code", OFFICE, "--drive", folder,
               "--credentials", key, "--yes")


def test_dashboard_in_a_shared_drive_init_check_and_sync_all_make_it(fake_google, tmp_path, google_area):
    area, key = google_area  # a folder of a shared drive, shared with the account as Editor
    fake_google.share(area.folder, SA_EMAIL, "writer")
    before = staff_tabs(fake_google, area)
    office = tmp_path / "office"
    init = init_google(office, area.folder, key)
    assert init.exit_code == 0, init.output
    line = next(x for x in init.stdout.splitlines() if x.startswith("dashboard "))
    assert "✓ ยังไม่มี: devplan จะสร้างให้ในโฟลเดอร์นี้ตอน sync" in line
    config = office / "devplan.toml"
    checked = run("check", "--config", config)
    assert checked.exit_code == 1, checked.output  # the sample's spoiled rows only
    assert "จะสร้างสเปรดชีตใหม่ชื่อ 'dashboard'" in checked.stdout and "ปัญหา: แดชบอร์ด" not in checked.stdout
    assert fake_google.find("dashboard") == []
    synced = run("sync", "--config", config)
    assert synced.exit_code == 1, synced.output
    assert len(fake_google.find_in(area.folder, "dashboard")) == 1
    assert staff_tabs(fake_google, area) == before


def test_dashboard_in_my_drive_init_check_and_sync_all_say_make_it_yourself(fake_google, tmp_path, google_area):
    area, key = google_area
    fake_google.set_shared_drive(area.folder, False)  # a My Drive folder, shared with the account as Editor
    fake_google.share(area.folder, SA_EMAIL, "writer")
    before = staff_tabs(fake_google, area)
    todo = f"สร้างสเปรดชีตเปล่าชื่อ 'dashboard' ในโฟลเดอร์นี้ แล้วแชร์ให้ {SA_EMAIL} เป็นผู้แก้ไข (Editor)"
    office = tmp_path / "office"
    init = init_google(office, area.folder, key)
    assert init.exit_code == 1, init.output
    line = next(x for x in init.stdout.splitlines() if x.startswith("dashboard "))
    assert "✗ ยังไม่มี และบัญชีบริการสร้างไฟล์ในโฟลเดอร์นี้ไม่ได้" in line
    assert todo in init.stdout
    config = office / "devplan.toml"

    checked = run("check", "--config", config)
    assert checked.exit_code == 4, checked.output  # as the sync below: it stops at the dashboard
    assert "ผล: sync จะหยุดที่แดชบอร์ด (ดูปัญหาด้านล่าง) แก้แล้วสั่ง check อีกครั้ง รหัสออก 4" in checked.stdout
    assert "ปัญหา: แดชบอร์ด 'dashboard': sync จะเขียน 'dashboard' ไม่ได้: ยังไม่มี และบัญชีบริการสร้างไฟล์" in checked.stdout
    assert todo in checked.stdout and "จะสร้างสเปรดชีตใหม่" not in checked.stdout

    fake_google.clear_log()
    synced = run("sync", "--config", config)
    assert synced.exit_code == 4, synced.output
    assert "สร้างสเปรดชีต 'dashboard'" in synced.stderr and todo in synced.stderr
    # as said: not even tried, so Drive was never asked to create a file
    assert [r for r in fake_google.requests(api="drive") if r.method == "POST"] == []
    assert fake_google.find("dashboard") == []
    assert staff_tabs(fake_google, area) == before


def test_init_asks_again_only_what_was_wrong_google(fake_google, tmp_path, google_area):
    area, key = google_area
    fake_google.share(area.folder, SA_EMAIL, "writer")
    before = staff_tabs(fake_google, area)
    home = tmp_path / "home"
    home.mkdir()
    (home / "key.json").write_text(key.read_text(encoding="utf-8"), encoding="utf-8")
    (home / "notes.json").write_text('{"type": "authorized_user"}', encoding="utf-8")
    answers = [
        THAI_NAME, "google",
        "~/nokey.json", "~/notes.json", "~/key.json",  # no such file; not a service-account key; the key
        "1" + "Z" * 32, area.ids["roster"],  # a folder that does not exist; a spreadsheet, not a folder
        f"https://drive.google.com/drive/folders/{area.folder}",
        "a b", "1234", OFFICE,  # not a code; not in the roster; the office's code
        "", "",  # this fiscal year, the default sender
    ]
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "o")], input="\n".join(answers) + "\n",
                                env={"HOME": str(home)})
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("ชื่อสำนักงานเขตพื้นที่") == 1  # never started over
    assert out.count("ไฟล์กุญแจ .json ของบัญชีบริการ") == 3
    assert out.count("รหัสหรือลิงก์ของโฟลเดอร์ Google Drive") == 3
    assert out.count("รหัสของสำนักงานเขตในทะเบียนหน่วยงาน") == 3
    assert f"อ่านไฟล์กุญแจบัญชีบริการ {home / 'nokey.json'}" in out
    assert f"ไฟล์ {home / 'notes.json'}" in out and "ไม่ใช่กุญแจของบัญชีบริการ" in out
    assert "เปิดโฟลเดอร์ไม่ได้ (Google ตอบ 404): รหัสโฟลเดอร์อาจผิด" in out
    assert "https://drive.google.com/drive/folders/<รหัสโฟลเดอร์>" in out
    assert "รหัสนี้เป็นไฟล์ 'roster' ไม่ใช่โฟลเดอร์" in out
    assert "'a b' ใช้เป็นรหัสหน่วยงานไม่ได้" in out
    assert "รหัส '1234' ไม่ตรงกับหน่วยงานใดในทะเบียนหน่วยงาน ('roster' แท็บ 'หน่วยงาน')" in out
    assert f"ใส่รหัสของสำนักงานเขตตามทะเบียน: {OFFICE} (" in out  # the roster's office row, offered as the fix
    from pipeline.config import load_settings

    settings = load_settings(tmp_path / "o" / "devplan.toml")
    assert settings.area.office_code == OFFICE and settings.storage.folder == f"https://drive.google.com/drive/folders/{area.folder}"
    assert settings.storage.credentials == (home / "key.json").resolve()
    assert "เข้าถึงได้ครบทั้ง" in out
    # init's own reads went to an empty state: the area's state file is not even there yet
    assert not (tmp_path / "o" / "devplan-state.sqlite").exists()
    assert staff_tabs(fake_google, area) == before


def test_init_local_asks_again_for_a_folder_and_an_office_code(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=1)
    before = snapshot(sheets)
    answers = [THAI_NAME, "local", str(tmp_path / "nowhere"), str(sheets), "zz9", OFFICE, "2562", ""]
    result = run("init", tmp_path / "o", input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("โฟลเดอร์ของไฟล์ .xlsx") == 2 and "ไม่พบโฟลเดอร์" in result.output
    assert result.output.count("รหัสของสำนักงานเขตในทะเบียนหน่วยงาน") == 2
    assert "รหัส 'zz9' ไม่ตรงกับหน่วยงานใด" in result.output and f"{OFFICE} (" in result.output
    assert 'office_code = "pbn2"' in (tmp_path / "o" / "devplan.toml").read_text(encoding="utf-8")
    assert snapshot(sheets) == before


def test_a_wrong_office_code_by_flag_is_a_row_of_inits_table(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=1)
    before = snapshot(sheets)
    result = run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", "zz9", "--local", sheets, "--yes")
    assert result.exit_code == 1, result.output
    bad = [line for line in result.stdout.splitlines() if "✗" in line]
    assert len(bad) == 1 and bad[0].startswith("area.office_code") and "'zz9'" in bad[0]
    assert f"แก้ area.office_code เป็นรหัสของสำนักงานเขตตามทะเบียน: {OFFICE} (" in result.stdout
    assert snapshot(sheets) == before


def test_check_and_sync_stop_on_an_office_code_the_roster_does_not_have(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=2)
    assert run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets,
               "--yes").exit_code == 0
    config = tmp_path / "o" / "devplan.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(f'office_code = "{OFFICE}"', 'office_code = "zz9"'),
                      encoding="utf-8")
    before = snapshot(sheets)
    for command in ("check", "sync"):
        result = run(command, "--config", config)
        assert result.exit_code == 2, result.output
        message = result.stderr
        assert f"area.office_code 'zz9' ในไฟล์ตั้งค่า {config.resolve()} ไม่ตรงกับหน่วยงานใดในทะเบียนหน่วยงาน" in message
        office_name = next(r[1] for r in data_rows(sheets / "roster.xlsx", "หน่วยงาน") if r[0] == OFFICE)
        assert f"แก้ area.office_code เป็นรหัสของสำนักงานเขตตามทะเบียน: {OFFICE} ({office_name})" in message
        assert "แถวที่ใช้ไม่ได้" not in result.output
    assert snapshot(sheets) == before and not (tmp_path / "o" / "outbox").exists()


def test_a_mistyped_office_row_in_the_roster_is_the_rosters_problem_not_the_configs(tmp_path):
    from openpyxl import load_workbook as open_xlsx

    sheets = sample_area(tmp_path / "area", schools=1)
    assert run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets,
               "--yes").exit_code == 0
    book = open_xlsx(sheets / "roster.xlsx")
    units = book["หน่วยงาน"]
    row = next(r for r in units.iter_rows(min_row=2) if r[0].value == OFFICE)
    row[0].value = "pbn22"  # the roster's typo; the staff rows and the config still say pbn2
    book.save(sheets / "roster.xlsx")
    result = run("check", "--config", tmp_path / "o" / "devplan.toml")
    assert result.exit_code == 1, result.output  # rows to fix (the office row among them), not a config error
    assert "ข้อผิดพลาด" not in result.output and "แก้ area.office_code เป็น" not in result.output
    assert "แถวที่ใช้ไม่ได้" in result.stdout


# --- status: the run history ------------------------------------------------------------


def test_status_after_two_google_syncs_shows_reads_cache_and_writes(fake_google, tmp_path):
    area = build_area(fake_google, tmp_path, schools=3)
    first = run("sync", "--config", area.config)
    assert first.exit_code == 1, first.output  # the sample's spoiled rows need a person
    second = run("sync", "--config", area.config)
    assert second.exit_code == 1, second.output
    units = len([k for k in area.ids if k.startswith("idplan-")])

    status = run("status", "--config", area.config, "--last", "5")
    assert status.exit_code == 0, status.output
    runs = status.stdout.split("ครั้งที่ ")[1:]
    assert len(runs) == 2
    newest, oldest = runs
    assert newest.startswith("2 ") and oldest.startswith("1 ")
    assert "รหัสออก 1 (ต้องมีคนดูแล)" in newest and "รหัสออก 1 (ต้องมีคนดูแล)" in oldest
    # first: every source read from Google, every unit and the dashboard written
    assert f"อ่านสเปรดชีตใหม่ {len(area.ids)} ไฟล์, ใช้ข้อมูลเดิมจากไฟล์สถานะ 0 ไฟล์" in oldest
    assert f"เขียนแท็บสรุปผล {units} สเปรดชีต และแดชบอร์ด" in oldest
    # second: nothing changed: all from the cache, nothing written
    assert f"อ่านสเปรดชีตใหม่ 0 ไฟล์, ใช้ข้อมูลเดิมจากไฟล์สถานะ {len(area.ids)} ไฟล์" in newest
    assert f"เขียนแท็บสรุปผล 0 สเปรดชีต, ไม่ต้องเขียนใหม่ {units + 1} สเปรดชีต" in newest
    assert "คำขอถึง Google: อ่าน 0, เขียน 0, Drive 1" in newest
    assert f"อีเมลใน outbox {units} ฉบับ, ส่งแล้ว 0 ฉบับ" in newest

    # the same, straight from the state file's table
    state = area.settings().storage.state
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT kind, exit_code, details FROM runs ORDER BY id").fetchall()
    assert [(k, c) for k, c, _ in rows] == [("sync", 1), ("sync", 1)]
    details = [json.loads(d) for _, _, d in rows]
    assert sorted(details[0]["read"]) == sorted(area.ids) and details[0]["cached"] == []
    assert details[1]["read"] == [] and sorted(details[1]["cached"]) == sorted(area.ids)
    assert len(details[0]["written"]) == units + 1 and details[1]["written"] == []
    assert details[1]["requests"]["sheets_read"] == 0


def test_a_failing_sync_is_recorded_with_its_exit_code(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=2)
    assert run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets,
               "--yes").exit_code == 0
    config = tmp_path / "o" / "devplan.toml"
    assert run("check", "--config", config).exit_code == 1
    school = sorted(sheets.glob("idplan-1*.xlsx"))[0]
    school.rename(school.with_name("moved.xlsx"))
    assert run("sync", "--config", config).exit_code == 1  # one unit left out
    (sheets / "roster.xlsx").unlink()
    failed = run("sync", "--config", config)
    assert failed.exit_code == 3, failed.output  # a source spreadsheet is missing

    status = run("status", "--config", config)
    assert status.exit_code == 0, status.output
    runs = status.stdout.split("ครั้งที่ ")[1:]
    assert [r.split()[0] for r in runs] == ["3", "2", "1"]
    assert "sync" in runs[0] and "รหัสออก 3 (สเปรดชีตต้นทาง)" in runs[0]
    assert "ไม่พบสเปรดชีต 'roster'" in runs[0]
    assert "sync" in runs[1] and "รหัสออก 1 (ต้องมีคนดูแล)" in runs[1]
    assert f"- {school.stem.removeprefix('idplan-')}: " in runs[1]
    assert "check" in runs[2] and "รหัสออก 1" in runs[2]
    assert len(run("status", "--config", config, "--last", "1").stdout.split("ครั้งที่ ")) == 2


def test_status_without_a_history(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=1)
    run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets, "--yes")
    result = run("status", "--config", tmp_path / "o" / "devplan.toml")
    assert result.exit_code == 0
    assert "ยังไม่มีประวัติ" in result.stdout
    assert not (tmp_path / "o" / "devplan-state.sqlite").exists()  # looking creates nothing


# --- progress -------------------------------------------------------------------------------


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(tmp_path):
    sheets = sample_area(tmp_path / "area", schools=3)
    run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets, "--yes")
    result = run("sync", "--config", tmp_path / "o" / "devplan.toml")
    assert result.exit_code == 1, result.output  # the sample's spoiled rows
    units = len(list(sheets.glob("idplan-*.xlsx")))
    lines = result.stderr.splitlines()
    assert f"  อ่านสเปรดชีต ID Plan {units}/{units}" in lines
    assert f"  เขียนแท็บสรุปผล {units}/{units}" in lines
    assert "\r" not in result.stderr and "[#" not in result.stderr


class Terminal:
    """A text stream that says it is a terminal, as a person's stderr is."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_redrawn_in_place_on_a_terminal(monkeypatch):
    import sys

    from pipeline.progress import progress_printer

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    show = progress_printer({"collect": "อ่าน"})
    for done in range(1, 5):
        show("collect", done, 4)
    draws = terminal.text.split("\r")[1:]
    assert len(draws) == 4
    assert draws[0].startswith("  อ่าน [" + "#" * 7 + "." * 23 + "] 1/4 (25%)")
    assert draws[-1] == "  อ่าน [" + "#" * 30 + "] 4/4 (100%)\n"  # the finished bar ends its line
    assert all("\n" not in d for d in draws[:-1])


def test_check_leaves_an_unconfirmed_send_on_record(tmp_path):
    """A send a killed run never confirmed is kept for sync to report; check only looks at it."""
    from pipeline.state import State

    sheets = sample_area(tmp_path / "area", schools=1)
    assert run("init", tmp_path / "o", "--name", THAI_NAME, "--office-code", OFFICE, "--local", sheets,
               "--yes").exit_code == 0
    state = tmp_path / "o" / "devplan-state.sqlite"
    code, address = next(iter(roster_units(sheets).items()))
    with State(state) as db:
        db.mark_sending(code, address, "a-summary-since-changed")
    assert run("check", "--config", tmp_path / "o" / "devplan.toml").exit_code == 1
    with State(state) as db:
        assert db.unconfirmed(code) is not None and db.unconfirmed(code)[1] == "a-summary-since-changed"
