"""Exit codes, through click's CliRunner, each from a real cause (no mocks).

0 all clean; 1 done, but rows or units need a person; 2 config; 3 source; 4 writing
results; 5 sending mail; 70 unforeseen (rerun with --debug); 75 another run holds
the state file (tests/test_lock.py). A command's output cut short by its reader
(`devplan indicators | head -1`) ends quietly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.conftest import REPO, write_config


def sync(config_file, *flags: str):
    return CliRunner().invoke(cli, ["sync", "--config", str(config_file), *flags])


def clean_area(settings) -> None:
    """The hand area without its four deliberately bad rows (see tests/test_end_to_end.py)."""
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    src = settings.sources
    drop = {  # spreadsheet, tab -> 1-based sheet rows to remove
        (src.staff.spreadsheet, src.staff.tab): {13},
        (src.survey.spreadsheet, src.survey.tab): {7},
        (src.idplan.key_for(hand_area.SCHOOL_A), src.idplan.record_tab): {11, 12},
    }
    for (key, tab), rows in drop.items():
        tabs = book.read(key, [tab])
        tabs[tab] = [r for n, r in enumerate(tabs[tab], start=1) if n not in rows]
        book.write(key, tabs)


def test_0_when_nothing_needs_a_person(config_file):
    clean_area(load_settings(config_file))
    result = sync(config_file)
    assert result.exit_code == 0, result.output
    assert "แถวที่ใช้ไม่ได้ (ต้องแก้ไข) 0" in result.stdout
    assert "เรียบร้อย: ไม่มีแถวหรือหน่วยงานที่ต้องแก้ไข" in result.stdout


def test_1_counts_rows_to_fix_and_units_left_out_in_thai(config_file):
    settings = load_settings(config_file)
    clean_area(settings)
    book = LocalWorkbook(settings.storage.path)
    units = settings.sources.units
    tabs = book.read(units.spreadsheet, [units.tab, settings.sources.staff.tab])
    email = tabs[units.tab][0].index(units.columns.director_email)
    tabs[units.tab][2][email] = "ยังไม่มี"  # school B's director has no address
    book.write(units.spreadsheet, tabs)

    result = sync(config_file)
    assert result.exit_code == 1, result.output
    assert f"ไม่ได้ส่งถึง {hand_area.SCHOOL_B}: ไม่มีอีเมลผู้อำนวยการที่ใช้ได้ ('ยังไม่มี')" in result.stdout
    assert "ต้องมีคนดูแล: แถวที่ต้องแก้ไข 0 แถว" in result.stdout
    assert "หน่วยงานที่ตกหล่น (ไม่ได้รับอีเมลสรุปผล) 1 แห่ง" in result.stdout


def test_1_for_a_survey_tab_with_only_its_header(config_file):
    settings = load_settings(config_file)
    clean_area(settings)
    book = LocalWorkbook(settings.storage.path)
    survey = settings.sources.survey
    tabs = book.read(survey.spreadsheet, [survey.tab])
    book.write(survey.spreadsheet, {survey.tab: tabs[survey.tab][:1]})

    result = sync(config_file)
    assert result.exit_code == 1, result.output
    # Four office staff are counted by office_needs; with no answers none can meet it.
    assert (
        f"ปัญหา: แบบสำรวจ '{survey.spreadsheet}' แท็บ '{survey.tab}' มีแต่หัวตาราง ไม่มีคำตอบเลย: "
        "ตัวชี้วัด 'บุคลากร สพป. ได้รับการพัฒนาตามความต้องการ' (office_needs) จึงเป็น 0/4 ไม่ใช่ผลจริง"
    ) in result.stdout
    assert "แถวที่ต้องแก้ไข 0 แถว" in result.stdout and "ปัญหาอื่น 1 เรื่อง" in result.stdout


def test_2_for_a_year_flag_names_the_flag_not_the_file(config_file):
    clean_area(load_settings(config_file))
    result = sync(config_file, "--year", "1999")
    assert result.exit_code == 2
    assert "--year" in result.stderr and "ต้องไม่น้อยกว่า 2500" in result.stderr and "1999" in result.stderr
    assert str(config_file) not in result.stderr


def test_2_for_an_environment_variable_names_the_variable_not_the_file(config_file):
    os.environ["DEVPLAN_FISCAL_YEAR"] = "abc"
    result = sync(config_file)
    assert result.exit_code == 2
    assert "DEVPLAN_FISCAL_YEAR" in result.stderr and "ต้องเป็นตัวเลขจำนวนเต็ม" in result.stderr
    assert str(config_file) not in result.stderr


def test_3_for_a_missing_source(config_file):
    result = sync(config_file)  # nothing built: no roster
    assert result.exit_code == 3
    assert "roster" in result.stderr


def test_4_when_results_cannot_be_written(config_file):
    settings = load_settings(config_file)
    clean_area(settings)
    (settings.storage.path / "dashboard.xlsx").mkdir()  # a folder where the dashboard file goes
    result = sync(config_file)
    assert result.exit_code == 4, result.output
    assert "dashboard.xlsx" in result.stderr and "วิธีแก้" in result.stderr


def test_5_when_mail_cannot_be_sent(config_file):
    clean_area(load_settings(config_file))
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nobody listens there
    os.environ.update(DEVPLAN_SMTP_HOST="127.0.0.1", DEVPLAN_SMTP_PORT=str(port), DEVPLAN_SMTP_STARTTLS="0")
    result = sync(config_file, "--send")
    assert result.exit_code == 5
    assert "ส่งอีเมลผ่าน 127.0.0.1" in result.stderr


def test_70_for_the_unforeseen_with_the_thai_hint_to_rerun_with_debug(tmp_path):
    templates = tmp_path / "my-templates"
    templates.mkdir()
    for source in (REPO / "templates").iterdir():
        (templates / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    # An office's own template that divides by a count that can be zero: not a template syntax error.
    (templates / "email_subject.txt").write_text("{{ unit.students // (unit.classrooms * 0) }}", encoding="utf-8")
    config_file = write_config(tmp_path, **{'# templates = "templates"': f'templates = "{templates}"'})
    clean_area(load_settings(config_file))

    result = sync(config_file)
    assert result.exit_code == 70, result.output
    assert "ข้อผิดพลาดที่ไม่คาดคิด: ZeroDivisionError" in result.stderr
    assert "วิธีแก้: สั่งรันอีกครั้งพร้อม --debug" in result.stderr
    assert "Traceback" not in result.output

    # --debug only adds the traceback: the exit code and the Thai message stay.
    debug = CliRunner().invoke(cli, ["--debug", "sync", "--config", str(config_file)])
    assert debug.exit_code == 70, debug.output
    assert "Traceback (most recent call last)" in debug.stderr and "ZeroDivisionError" in debug.stderr
    assert "ข้อผิดพลาดที่ไม่คาดคิด: ZeroDivisionError" in debug.stderr


def test_an_error_message_masks_a_number_that_could_be_an_id(tmp_path):
    path = tmp_path / "3100000012345" / "devplan.toml"  # someone named a folder after their ID
    result = CliRunner().invoke(cli, ["sync", "--config", str(path)])
    assert result.exit_code == 2
    assert "3100000012345" not in result.stderr
    assert "x-xxxx-xxxxx-34-5" in result.stderr


def test_a_reader_that_stops_early_ends_the_output_quietly(tmp_path):
    """`devplan indicators | head -1`: stdout is a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", "indicators"], stdout=write_end, stderr=subprocess.PIPE,
            cwd=tmp_path, timeout=120,
        )
    finally:
        os.close(write_end)
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr and "Exception ignored" not in stderr
    assert stderr == ""
    assert done.returncode == 141


def test_head_dash_1_in_a_real_shell_shows_the_first_line_only(tmp_path):
    devplan = Path(sys.executable).parent / "devplan"
    done = subprocess.run(
        f"'{devplan}' indicators --year 2562 | head -1", shell=True, capture_output=True, cwd=tmp_path, timeout=120,
    )
    assert done.stdout.decode("utf-8").startswith("ตัวชี้วัด ปีงบประมาณ 2562")
    assert done.stdout.decode("utf-8").count("\n") == 1
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr


def _leaving(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """A Python process that runs ``code`` and then ends through ``terminal.leave`` (as ``devplan`` does)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def test_leaving_keeps_the_exit_code_the_output_and_the_exit_handlers(tmp_path):
    """``leave`` skips only the freeing of objects: buffered output (stdout a pipe), logging's last
    lines, files a handler writes at exit, and the code itself all come out as a normal exit gives them."""
    done = _leaving(
        "import atexit, logging, sys\n"
        "from pathlib import Path\n"
        "from pipeline.terminal import leave\n"
        "logging.basicConfig(handlers=[logging.StreamHandler(sys.stderr)])\n"
        "atexit.register(lambda: Path('at-exit').write_text('ran'))\n"
        "sys.stdout.write('ข้อความที่ยังค้างในบัฟเฟอร์')\n"  # no newline, no flush: still in the buffer
        "logging.getLogger('x').warning('คำเตือน')\n"
        "leave(4)\n", tmp_path)
    assert done.returncode == 4, done.stderr
    assert done.stdout == "ข้อความที่ยังค้างในบัฟเฟอร์"
    assert done.stderr == "WARNING:x:คำเตือน\n"
    assert (tmp_path / "at-exit").read_text() == "ran"


def test_leaving_with_a_text_or_none_means_what_sys_exit_means(tmp_path):
    text = _leaving("from pipeline.terminal import leave\nleave('หยุด')\n", tmp_path)
    assert (text.returncode, text.stderr) == (1, "หยุด\n")
    none = _leaving("from pipeline.terminal import leave\nleave(None)\n", tmp_path)
    assert (none.returncode, none.stderr) == (0, "")


def test_leaving_waits_for_another_thread_still_running(tmp_path):
    """A thread still at work (its line not yet written) gets the ordinary exit, which waits for it."""
    done = _leaving(
        "import threading, sys\n"
        "from pipeline.terminal import leave\n"
        "go = threading.Event()\n"
        "def late():\n"
        "    go.wait()\n"
        "    sys.stdout.write('เธรดทำงานจนจบ\\n')\n"
        "threading.Thread(target=late).start()\n"
        "go.set()\n"
        "leave(0)\n", tmp_path)
    assert (done.returncode, done.stdout) == (0, "เธรดทำงานจนจบ\n"), done.stderr


def test_devplan_itself_ends_through_leave_with_its_exit_code(tmp_path):
    """The installed command: a config that is not there is exit 2, its message whole on stderr."""
    devplan = Path(sys.executable).parent / "devplan"
    done = subprocess.run([str(devplan), "check", "--config", str(tmp_path / "ไม่มี.toml")], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "ข้อผิดพลาด:" in done.stderr and "วิธีแก้:" in done.stderr
