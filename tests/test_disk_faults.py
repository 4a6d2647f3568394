"""A write the disk refuses is exit 4 with the path and the real cause, and the rerun finishes the work.

Real faults where the machine allows them: a small tmpfs filled to the last byte (ENOSPC) or mounted
read-only (EROFS), which needs root (CI runs as root; elsewhere those tests skip, saying so), and a
folder the account running devplan may not write (EACCES: as root, the run is a real ``devplan``
process of the 'nobody' account). Where that is not possible the failure is injected at the OS edge
(``os.fsync``, the file write) and the same message is checked. After each fault is mended, a rerun
mails every director exactly once.
"""

from __future__ import annotations

import errno
import os
import pathlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.config import load_settings
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.conftest import REPO, SHARED_TMP, as_nobody, free_port, write_config
from tests.smtp_server import CountingServer, every_director_once, sent_rows, serving
from tests.test_send_log import sync


class SmallDisk:
    """A tmpfs of ``size`` mounted at ``path``: filled to the last byte, emptied, or made read-only."""

    def __init__(self, path: Path, size: str) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or done.returncode}): "
                        "the full-disk checks need root; the injected ones below still run")
        self.filler = path / "filler.bin"

    def fill(self) -> None:
        """Write until the disk is full: ENOSPC for the next write."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self, on: bool = True) -> None:
        subprocess.run(["mount", "-o", f"remount,{'ro' if on else 'rw'}", str(self.path)], check=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root); the injected checks below still run")
    disks: list[SmallDisk] = []

    def make(name: str, size: str = "512k") -> SmallDisk:
        disk = SmallDisk(tmp_path / name, size)
        disks.append(disk)
        return disk

    yield make
    for disk in disks:
        disk.unmount()


def area_with(tmp_path, **paths: Path):
    """The hand area, with its outbox, state file or spreadsheets where ``paths`` say."""
    replace = {}
    if "outbox" in paths:
        replace[f'outbox = "{tmp_path / "outbox"}"'] = f'outbox = "{paths["outbox"]}"'
    if "sheets" in paths:
        replace[f'path = "{tmp_path / "sheets"}"'] = f'path = "{paths["sheets"]}"'
    config = write_config(tmp_path, **replace)
    if "state" in paths:
        text = config.read_text(encoding="utf-8")
        assert "[storage]" in text
        config.write_text(text.replace("[storage]", f'[storage]\nstate = "{paths["state"]}"', 1), encoding="utf-8")
    settings = load_settings(config)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    return config, settings


# --- a full disk, for real ---------------------------------------------------------------------------


def test_a_full_disk_under_the_outbox_is_exit_4_naming_the_disk(tmp_path, small_disk, server):
    disk = small_disk("outbox-disk")
    config, settings = area_with(tmp_path, outbox=disk.path)
    disk.fill()
    result = sync(config, "--send")
    assert result.exit_code == 4, result.output
    assert f"บันทึกไฟล์อีเมล {disk.path}/" in result.stderr
    assert f"ดิสก์เต็ม (ดิสก์ที่ต่อไว้ที่ {disk.path} ไม่มีที่ว่างเหลือ)" in result.stderr
    assert "อย่าลบไฟล์สถานะ" in result.stderr and "ข้อผิดพลาดที่ไม่คาดคิด" not in result.stderr
    assert server.messages == [] and sent_rows(settings) == []
    assert sorted(p.name for p in disk.path.iterdir()) == ["filler.bin"]  # no half-written .eml

    disk.free()
    assert sync(config, "--send").exit_code == 1  # the hand area's bad rows need a person
    every_director_once(server, settings)
    assert len(list(disk.path.glob("*.eml"))) == 3


def test_a_full_disk_under_the_state_file_is_exit_4_not_delete_the_state_file(tmp_path, small_disk, server):
    disk = small_disk("state-disk")
    config, settings = area_with(tmp_path, state=disk.path / "devplan-state.sqlite")
    assert sync(config).exit_code == 1  # a first run without --send: the state file exists
    disk.fill()
    result = sync(config, "--send")
    assert result.exit_code == 4, result.output
    assert f"บันทึกไฟล์สถานะ {disk.path / 'devplan-state.sqlite'} ไม่ได้: ดิสก์เต็ม" in result.stderr
    assert "ลบไฟล์ที่เสีย" not in result.stderr and "อย่าลบไฟล์สถานะ" in result.stderr
    assert server.messages == []

    disk.free()
    assert sync(config, "--send").exit_code == 1
    every_director_once(server, settings)


def test_a_full_disk_under_the_spreadsheets_is_exit_4_not_close_excel(tmp_path, small_disk, server):
    disk = small_disk("sheets-disk", "1m")
    config, settings = area_with(tmp_path, sheets=disk.path)
    disk.fill()
    result = sync(config, "--send")
    assert result.exit_code == 4, result.output
    dashboard = disk.path / f"{settings.output.dashboard}.xlsx"
    assert f"บันทึกไฟล์ {dashboard} ไม่ได้: ดิสก์เต็ม" in result.stderr
    assert "ปิดไฟล์นี้ใน Excel" not in result.stderr
    assert server.messages == []  # the dashboard's failure stops the run before any mail
    assert not [p.name for p in disk.path.iterdir() if p.name.startswith(".")]  # no temp file left

    disk.free()
    assert sync(config, "--send").exit_code == 1
    every_director_once(server, settings)
    book = load_workbook(dashboard, read_only=True)
    assert settings.output.summary_tab not in book.sheetnames  # (the dashboard has its own tabs)


def test_a_read_only_disk_is_named_as_such(tmp_path, small_disk, server):
    disk = small_disk("outbox-disk")
    config, settings = area_with(tmp_path, outbox=disk.path)
    disk.read_only()
    try:
        result = sync(config, "--send")
    finally:
        disk.read_only(False)
    assert result.exit_code == 4, result.output
    assert f"ดิสก์ที่ต่อไว้ที่ {disk.path} เป็นแบบอ่านอย่างเดียว (read-only)" in result.stderr
    assert server.messages == []
    assert sync(config, "--send").exit_code == 1
    every_director_once(server, settings)


# --- no permission, for real -----------------------------------------------------------------------


def test_an_outbox_devplan_may_not_write_names_the_folder_and_the_account(tmp_path):
    root = Path(tempfile.mkdtemp(prefix="devplan-outbox-", dir=SHARED_TMP))  # not under pytest's root-only folder
    try:
        os.chmod(root, 0o755)
        config, settings = area_with(root, outbox=root / "outbox")
        (root / "outbox").mkdir(mode=0o755)
        # No server yet: the run must stop before it connects (a fork must not share the server's thread).
        os.environ.update(DEVPLAN_SMTP_HOST="127.0.0.1", DEVPLAN_SMTP_PORT=str(free_port()), DEVPLAN_SMTP_STARTTLS="0")
        if os.geteuid() == 0:  # 'nobody' owns the area, all but the outbox
            # and reads its own copy of the templates and indicators: a fresh clone may sit in a folder
            # only root may enter (mktemp -d), where the child could not read the repository's
            text = config.read_text(encoding="utf-8")
            shutil.copytree(REPO / "templates", root / "templates")
            shutil.copy(REPO / "config" / "indicators.toml", root / "indicators.toml")
            text = text.replace("[output]\n", f'[output]\ntemplates = "{root / "templates"}"\n', 1)
            text += f'\n[indicators]\nfile = "{root / "indicators.toml"}"\n'
            config.write_text(text, encoding="utf-8")
            warm = Path(tempfile.mkdtemp(prefix="devplan-warm-", dir=SHARED_TMP))
            try:  # a whole run first, in this process: the child, as nobody, cannot import late from /root
                assert sync(area_with(warm)[0]).exit_code in (0, 1)
            finally:
                shutil.rmtree(warm)
            # and zipfile's codec for names not marked UTF-8, which that run may have left to its forked reader
            import encodings.cp437  # noqa: F401
            for place in [root, *root.rglob("*")]:
                if place != root / "outbox":
                    os.chown(place, 65534, 65534)
            user = "nobody"
            code, stderr = as_nobody(lambda: [(done := sync(config, "--send")).exit_code, done.stderr])
        else:
            import getpass

            os.chmod(root / "outbox", 0o555)
            user = getpass.getuser()
            result = sync(config, "--send")
            code, stderr = result.exit_code, result.stderr
        assert code == 4, stderr
        assert f"บันทึกไฟล์อีเมล {root / 'outbox'}/" in stderr
        assert f"บัญชีผู้ใช้ '{user}' ที่รัน devplan ไม่มีสิทธิ์เขียนที่นี่" in stderr
        assert "Traceback" not in stderr and "ไม่คาดคิด" not in stderr
        assert sent_rows(settings) == []

        os.chmod(root / "outbox", 0o777)  # the fix the message names
        handler = CountingServer()
        with serving(handler):
            assert sync(config, "--send").exit_code == 1
            every_director_once(handler, settings)
    finally:
        shutil.rmtree(root)


# --- injected at the OS edge: the same messages on any machine -----------------------------------------


def test_enospc_while_saving_a_spreadsheet_names_the_cause(config_file, monkeypatch, server):
    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    real_fsync = os.fsync

    def full(fd):  # delayed allocation: many file systems report a full disk only at fsync
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(settings.storage.path / ".devplan-tmp-")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to tell which file is being saved")
    monkeypatch.setattr(os, "fsync", full)
    result = sync(config_file, "--send")
    assert result.exit_code == 4, result.output
    assert f"บันทึกไฟล์ {settings.storage.path / 'dashboard.xlsx'} ไม่ได้: ดิสก์เต็ม" in result.stderr
    assert server.messages == []
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert sync(config_file, "--send").exit_code == 1
    every_director_once(server, settings)


def test_enospc_while_writing_the_outbox_names_the_cause(config_file, monkeypatch, server):
    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    real = pathlib.Path.write_bytes

    def full(self, data):
        if self.parent == settings.output.outbox:
            real(self, data[: len(data) // 2])  # half of it reached the disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    result = sync(config_file, "--send")
    assert result.exit_code == 4, result.output
    assert f"บันทึกไฟล์อีเมล {settings.output.outbox}/" in result.stderr and "ดิสก์เต็ม" in result.stderr
    assert list(settings.output.outbox.iterdir()) == []  # nothing half-written is left
    assert server.messages == []
    monkeypatch.setattr(pathlib.Path, "write_bytes", real)
    assert sync(config_file, "--send").exit_code == 1
    every_director_once(server, settings)
