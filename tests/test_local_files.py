"""What the local backend refuses to read or write, and how it says so (issue 17).

Each file here is built by the test (``tests/xlsx_shapes.py``) or is a real one
(``tests/fixtures/xlsx``). Every refusal must name the file and its real
cause with the fix, leave the file (and anything a link points at) exactly as
it was, and never block or hold a zip bomb in memory.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import tracemalloc
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.config import StorageSettings
from pipeline.errors import PublishError, SourceError
from pipeline.state import State
from pipeline.workbook import Need
from pipeline.workbook.factory import open_workbook
from pipeline.workbook.local import LocalWorkbook
from pipeline.workbook.xlsx_zip import MB, Limits
from tests import xlsx_shapes as shapes
from tests.conftest import FIXTURES, SHARED_TMP
from tests.conftest import as_nobody as run_as_nobody  # 'as_nobody' here reports what a call raised
from tests.test_workbook_lossless import raw_parts

KEY = "idplan-1067000001"
SUMMARY = "สรุปผล (devplan)"
TAB = {SUMMARY: [["ตัวชี้วัด", "ร้อยละ"], ["STEM", 75.5]]}


def calls(book: LocalWorkbook):
    """Every way the pipeline touches a school's file: tab list, read, write."""
    return {"tabs": lambda: book.tabs(KEY), "read": lambda: book.read(KEY, [shapes.PLAN]),
            "write": lambda: book.write(KEY, TAB)}


def snapshot(path: Path) -> tuple:
    info = os.lstat(path)
    data = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
    return data, info.st_mode, info.st_ino, info.st_mtime_ns


@contextmanager
def no_longer_than(seconds: int):
    """Fail instead of hanging if the code under test blocks (a FIFO opened for reading)."""
    def hung(*_):
        raise AssertionError(f"blocked for {seconds} s")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def refused(book: LocalWorkbook, *, read: type = SourceError, write: type = SourceError,
            only: tuple[str, ...] = ("tabs", "read", "write")) -> dict[str, Exception]:
    """Each call's error (every call named in ``only`` must fail with the expected class)."""
    errors = {}
    for name, call in calls(book).items():
        if name not in only:
            continue
        with pytest.raises(write if name == "write" else read) as caught:
            call()
        errors[name] = caught.value
    return errors


# ------------------------------------------------------------ not an .xlsx


def real_encrypted(path: Path) -> None:
    shutil.copyfile(FIXTURES / "xlsx" / "pass_protected.xlsx", path)


def truncated(path: Path) -> None:
    shapes.staff_book(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def damaged_part(path: Path) -> None:
    """A bit flipped inside the first sheet's compressed bytes (the CRC no longer matches)."""
    shapes.staff_book(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x55
    path.write_bytes(bytes(data))


def html_export(path: Path) -> None:
    path.write_text("<html><body><table><tr><td>รายงาน</td></tr></table></body></html>", encoding="utf-8")


CAUSES = {
    "encrypted": (shapes.encrypted, "ตั้งรหัสผ่าน", "Encrypt with Password"),
    "encrypted-by-excel": (real_encrypted, "ตั้งรหัสผ่าน", "Encrypt with Password"),
    "xls-renamed": (shapes.biff, "Excel รุ่นเก่า (.xls)", "Save As"),
    "truncated": (truncated, "ไฟล์ไม่ครบ", "สำเนาสำรอง"),
    "empty": (lambda p: p.write_bytes(b""), "ว่างเปล่า (0 ไบต์)", "สำเนาสำรอง"),
    "damaged-part": (damaged_part, "เสียหาย", "ซ่อมแซม"),
    "not-a-zip": (html_export, "ไม่ใช่ไฟล์ .xlsx", "Save As"),
}


@pytest.mark.parametrize("cause", CAUSES)
def test_each_unusable_file_is_named_with_its_real_cause_and_fix(tmp_path, cause):
    build, said, fix = CAUSES[cause]
    path = tmp_path / f"{KEY}.xlsx"
    build(path)
    before = snapshot(path)
    # a damaged sheet does not stop listing the tabs (calamine reads only the workbook part for that)
    only = ("read", "write") if cause == "damaged-part" else ("tabs", "read", "write")
    for name, error in refused(LocalWorkbook(tmp_path), only=only).items():
        assert str(path) in error.message, name
        assert said in error.message and fix in error.hint, (name, error.message, error.hint)
        assert "ไม่ใช่ไฟล์ .xlsx ที่สมบูรณ์" not in error.message  # the old one-size-fits-all refusal
    assert snapshot(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def as_nobody(call) -> str:
    """What ``call`` raised, run as 'nobody' (as root every file is readable): the error's class,
    message and hint."""

    def report() -> str:
        try:
            call()
            return "no error"
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            return f"{type(exc).__name__} {getattr(exc, 'message', exc)} | {getattr(exc, 'hint', '')}"

    return run_as_nobody(report)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_file_devplan_may_not_read_names_the_user_and_the_fix(tmp_path, what):
    folder = Path(tempfile.mkdtemp(prefix="devplan-perm-", dir=SHARED_TMP))
    try:
        os.chmod(folder, 0o700 if what == "folder" else 0o755)
        path = folder / f"{KEY}.xlsx"
        shapes.staff_book(path)
        os.chmod(path, 0o600)
        before = snapshot(path)
        book = LocalWorkbook(folder)
        if os.geteuid() == 0:
            reports, user = [as_nobody(call) for call in calls(book).values()], "nobody"
        else:
            import getpass

            os.chmod(folder if what == "folder" else path, 0)
            user = getpass.getuser()
            reports = []
            for call in calls(book).values():
                with pytest.raises((SourceError, PublishError)) as caught:
                    call()
                reports.append(f"{type(caught.value).__name__} {caught.value.message} | {caught.value.hint}")
            os.chmod(folder, 0o755)
            os.chmod(path, 0o600)
        assert [r.split()[0] for r in reports] == ["SourceError", "SourceError", "PublishError"], reports
        for report in reports:
            assert str(path) in report and f"บัญชีผู้ใช้ '{user}'" in report and "ไม่มีสิทธิ์" in report, report
            assert "มีสิทธิ์อ่าน" in report.split("|")[1]
        assert snapshot(path) == before
    finally:
        shutil.rmtree(folder)


# ---------------------------------------------------------------- zip bombs


def peak_memory(call) -> tuple[int, Exception | None]:
    """Peak bytes Python allocated while ``call`` ran, and what it raised."""
    tracemalloc.start()
    error = None
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - returned to the test
        error = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, error


@pytest.mark.parametrize("lie", [False, True], ids=["honest-sizes", "lying-sizes"])
def test_a_zip_bomb_is_refused_without_being_held_in_memory(tmp_path, lie):
    """A sheet inflating to 300 MB (past the 200 MB default); the lying one declares 1 KB."""
    path = tmp_path / f"{KEY}.xlsx"
    shapes.zip_bomb(path, 300, lie=lie)
    assert path.stat().st_size < 2 * MB
    before = snapshot(path)
    book = LocalWorkbook(tmp_path)
    for name, call in calls(book).items():
        peak, error = peak_memory(call)
        assert isinstance(error, SourceError), (name, error)
        assert "xl/worksheets/sheet1.xml" in error.message and "200 MB" in error.message
        assert "storage.max_part_mb" in error.message and "max_part_mb" in error.hint
        assert peak < 8 * MB, f"{name}: {peak / MB:.1f} MB held for a 300 MB part"
    assert snapshot(path) == before


def test_the_bounds_come_from_config_and_bound_the_whole_file(tmp_path):
    path = tmp_path / "sheets" / f"{KEY}.xlsx"
    path.parent.mkdir()
    shapes.zip_bomb(path, 3)
    small = open_workbook(StorageSettings(path=tmp_path / "sheets", max_part_mb=2), State(None))
    with pytest.raises(SourceError) as caught:
        small.tabs(KEY)
    assert "2 MB" in caught.value.message and "storage.max_part_mb" in caught.value.message
    whole = LocalWorkbook(tmp_path / "sheets", Limits(part=10 * MB, file=3 * MB))
    with pytest.raises(SourceError) as caught:
        whole.write(KEY, TAB)
    assert "ทั้งไฟล์" in caught.value.message and "storage.max_file_mb" in caught.value.message
    assert open_workbook(StorageSettings(path=tmp_path / "sheets"), State(None)).tabs(KEY) == [shapes.PLAN, shapes.RECORD]


def test_a_large_file_within_the_bounds_is_written_by_streaming(tmp_path):
    """A staff sheet of 120 MB (well-formed, under the 200 MB default): written back byte for byte
    while Python holds a few MB at most."""
    path = tmp_path / f"{KEY}.xlsx"
    shapes.zip_bomb(path, 120)
    book = LocalWorkbook(tmp_path)
    before = raw_parts(path)  # reads the sheet whole, once, for the comparison below
    peak, error = peak_memory(lambda: book.write(KEY, TAB))
    assert error is None, error
    assert peak < 12 * MB, f"{peak / MB:.1f} MB held while writing around a 120 MB part"
    after = raw_parts(path)
    assert after["xl/worksheets/sheet1.xml"][:3] == before["xl/worksheets/sheet1.xml"][:3]
    assert book.tabs(KEY) == [shapes.PLAN, shapes.RECORD, SUMMARY]


# ------------------------------------------------- links and special files


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


LINKS = {
    "outside-file": lambda tmp, link: link.symlink_to(outside_file(tmp)),
    "dangling": lambda tmp, link: link.symlink_to(tmp / "elsewhere" / "gone.xlsx"),
    "loop": lambda tmp, link: (link.symlink_to(link.with_name("other.xlsx")),
                               link.with_name("other.xlsx").symlink_to(link)),
    "to-fifo": lambda tmp, link: (make_fifo(link.with_name("pipe")), link.symlink_to("pipe")),
    "fifo": lambda tmp, link: make_fifo(link),
    "to-null-device": lambda tmp, link: link.symlink_to("/dev/null"),
    "char-device": lambda tmp, link: os.mknod(link, stat.S_IFCHR | 0o666, os.makedev(1, 3)),
    "folder": lambda tmp, link: link.mkdir(),
}
SAID = {"outside-file": "อยู่นอกโฟลเดอร์", "dangling": "ซึ่งไม่มีอยู่", "loop": "วนกลับมาหาตัวเอง",
        "to-fifo": "FIFO", "fifo": "FIFO", "to-null-device": "อยู่นอกโฟลเดอร์",
        "char-device": "อุปกรณ์ (character device)", "folder": "โฟลเดอร์"}


def outside_file(tmp: Path) -> Path:
    target = tmp / "elsewhere" / "budget.xlsx"
    target.parent.mkdir(exist_ok=True)
    shapes.staff_book(target)
    return target


@pytest.mark.parametrize("kind", LINKS)
def test_links_out_of_the_folder_and_special_files_are_that_schools_problem(tmp_path, kind):
    folder = tmp_path / "sheets"
    folder.mkdir()
    (tmp_path / "elsewhere").mkdir()
    link = folder / f"{KEY}.xlsx"
    if kind == "char-device" and os.geteuid() != 0:
        pytest.skip("making a device node needs root (CI runs as root)")
    LINKS[kind](tmp_path, link)
    watched = [p for p in (link, tmp_path / "elsewhere" / "budget.xlsx", folder / "pipe", Path("/dev/null"))
               if os.path.lexists(p)]
    before = {p: snapshot(p) for p in watched}
    book = LocalWorkbook(folder)
    assert book.exists(KEY)
    with no_longer_than(20):
        errors = refused(book, write=PublishError)
    for name, error in errors.items():
        assert str(link) in error.message and SAID[kind] in error.message, (name, error.message)
        assert "ไม่อ่านและไม่เขียน" in error.message and error.hint
    # What check shows (the address, whether sync could write it) is what the write just said, never "will create".
    write = errors["write"]
    assert book.address(KEY) == f"{write.message} (วิธีแก้: {write.hint})"
    access = book.check_access(Need(KEY, KEY, write=True, create=True))
    assert (access.ok, access.status, access.hint) == (False, write.message, write.hint)
    assert {p: snapshot(p) for p in watched} == before
    assert sorted(os.listdir(tmp_path / "elsewhere")) == (["budget.xlsx"] if kind == "outside-file" else [])
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_link_to_a_file_inside_the_folder_is_followed_and_kept(tmp_path):
    (tmp_path / "archive").mkdir()
    target = tmp_path / "archive" / "school-a-2562.xlsx"
    shapes.staff_book(target)
    link = tmp_path / f"{KEY}.xlsx"
    link.symlink_to(Path("archive") / target.name)
    book = LocalWorkbook(tmp_path)
    assert book.address(KEY) == f"{link} (ลิงก์ไปยัง {target})"
    assert book.check_access(Need(KEY, KEY, write=True, create=True)).ok
    book.write(KEY, TAB)
    assert link.is_symlink() and os.readlink(link) == str(Path("archive") / target.name)
    assert book.read(KEY, [SUMMARY])[SUMMARY] == TAB[SUMMARY]
    assert sorted(os.listdir(tmp_path / "archive")) == [target.name]  # written in place, no temp file left


def test_a_key_that_leads_out_of_the_folder_is_refused(tmp_path):
    folder = tmp_path / "sheets"
    book = LocalWorkbook(folder)
    with pytest.raises(PublishError) as caught:
        book.write("../outside", TAB)
    assert "นอกโฟลเดอร์" in caught.value.message
    assert not (tmp_path / "outside.xlsx").exists()


# ------------------------------------------------------------ owner files


OWNERS = {
    "excel": (lambda path: path.with_name(f"~${path.name}"), shapes.excel_owner_file("สมศรี ใจดี"),
              "Excel ของ สมศรี ใจดี"),
    "libreoffice": (lambda path: path.with_name(f".~lock.{path.name}#"),
                    shapes.libreoffice_lock_file("ครูสมชาย, ฝ่ายวิชาการ", "PC-ครู-01"),
                    "LibreOffice ของ ครูสมชาย, ฝ่ายวิชาการ (เครื่อง PC-ครู-01)"),
    "excel-real": (lambda path: path.with_name(f"~${path.name}"),  # left in ExcelJS's test data by Excel
                   (FIXTURES / "xlsx" / "excel-owner-file.bin").read_bytes(), "Excel ของ Andreas Lind"),
    "excel-unreadable": (lambda path: path.with_name(f"~${path.name}"), b"\x00garbage", "Excel (ไม่ทราบชื่อผู้ใช้)"),
}


@pytest.mark.parametrize("owner", OWNERS)
def test_a_file_open_in_excel_or_libreoffice_is_left_for_this_run_and_written_the_next(tmp_path, owner):
    where, content, who = OWNERS[owner]
    path = tmp_path / f"{KEY}.xlsx"
    shapes.staff_book(path)
    where(path).write_bytes(content)
    before = snapshot(path)
    book = LocalWorkbook(tmp_path)
    assert book.read(KEY, [shapes.PLAN])[shapes.PLAN][0][0] == "ปีงบประมาณ"  # reading is fine
    with pytest.raises(PublishError) as caught:
        book.write(KEY, TAB)
    message = caught.value.message
    assert str(path) in message and who in message and where(path).name in message
    assert "รอบนี้" in message and "รันครั้งถัดไป" in message
    assert snapshot(path) == before
    where(path).unlink()  # the person closes the file
    book.write(KEY, TAB)
    assert book.read(KEY, [SUMMARY])[SUMMARY] == TAB[SUMMARY]


@pytest.mark.parametrize("kind", ["fifo", "outside-file"])
def test_check_names_a_fifo_or_a_link_outside_as_sync_then_refuses_it(tmp_path, area, config_file, kind):
    """The dashboard here: a school's file that cannot be read is left out by both alike; the dashboard is written."""
    from click.testing import CliRunner

    from pipeline.cli import cli

    dashboard = Path(area.storage.path) / f"{area.output.dashboard}.xlsx"
    LINKS[kind](tmp_path, dashboard)
    watched = [p for p in (dashboard, tmp_path / "elsewhere" / "budget.xlsx") if os.path.lexists(p)]
    before = {p: snapshot(p) for p in watched}
    said = (f"{dashboard} ไม่ใช่ไฟล์ธรรมดาแต่เป็นFIFO (named pipe)" if kind == "fifo" else
            f"ไฟล์ {dashboard} เป็นลิงก์ (symbolic link) ไปยัง {tmp_path / 'elsewhere' / 'budget.xlsx'} "
            f"ซึ่งอยู่นอกโฟลเดอร์ {area.storage.path}")
    with no_longer_than(60):
        check = CliRunner().invoke(cli, ["check", "--config", str(config_file)])
        sync = CliRunner().invoke(cli, ["sync", "--config", str(config_file)])
    # check names the refusal sync then meets (sync stops there: the dashboard is the area's, a write problem)
    assert check.exit_code == 4 == sync.exit_code, check.output
    assert "ผล: sync จะหยุดที่แดชบอร์ด (ดูปัญหาด้านล่าง) แก้แล้วสั่ง check อีกครั้ง รหัสออก 4" in check.stdout
    assert "ผล: sync ได้" not in check.stdout
    problem = f"ปัญหา: แดชบอร์ด '{area.output.dashboard}': sync จะเขียน '{area.output.dashboard}' ไม่ได้: "
    assert f"{problem}{said} devplan จึงไม่อ่านและไม่เขียนไฟล์นี้ (วิธีแก้: " in check.stdout, check.stdout
    assert "จะสร้างไฟล์ใหม่" not in check.stdout
    assert sync.exit_code == 4, sync.output
    assert f"ข้อผิดพลาด: {said} devplan จึงไม่อ่านและไม่เขียนไฟล์นี้" in sync.stderr, sync.stderr
    assert {p: snapshot(p) for p in watched} == before
