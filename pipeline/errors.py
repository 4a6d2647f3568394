"""Errors a user can act on.

Every error carries a Thai message (what went wrong and where) and a Thai hint
(what to do). The CLI catches ``PipelineError`` once, prints both and exits
with ``exit_code``; a traceback is shown only with ``--debug``.

Whether trying again helps is decided where the failure happens, not by the
error's class: the Google client retries 429, 408 and 5xx answers itself
(``pipeline.workbook.google_http``), and an error that reaches a person says in
its hint whether to run again later or what to change first.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Iterable


class PipelineError(Exception):
    """Base of every error devplan reports to a person."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", codes: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: the roster's unit codes the message names: shown as they are, where other long numbers are masked
        self.codes = frozenset(codes)

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nวิธีแก้: {self.hint}"


class ConfigError(PipelineError):
    """A config file is missing, unreadable, or has a wrong, unknown or missing key."""

    exit_code = 2


class SourceError(PipelineError):
    """A spreadsheet, tab or column the config names cannot be found or read."""

    exit_code = 3


class PublishError(PipelineError):
    """Writing results back to a spreadsheet failed."""

    exit_code = 4


class StateWriteError(PublishError):
    """Writing the state file failed: the whole run's problem, never one unit's (exit 4 as any write)."""


class DeliveryError(PipelineError):
    """Sending e-mail failed (the SMTP server refused or could not be reached)."""

    exit_code = 5


class NotFinished(PipelineError):
    """The run stopped short of this in time: its deadline passed, or Google asked to wait past it.

    The storage raises it as a ``SourceError`` or ``PublishError`` too, so a unit it reaches is
    left out like any unit whose spreadsheet failed, and named; the dashboard it reaches is left
    as it was. Running again later finishes the work.
    """

    exit_code = 1


class BusyError(PipelineError):
    """Another run holds the state file's lock; nothing was done (``--wait`` waits instead)."""

    exit_code = 75  # EX_TEMPFAIL: try again later


#: Done, but rows or units need a person (counts are printed).
EXIT_NEEDS_PERSON = 1
#: An error devplan did not foresee; rerun with --debug for the traceback.
EXIT_UNEXPECTED = 70


def account() -> str:
    """The account devplan runs as (the effective user, whatever the environment says)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        import getpass

        return getpass.getuser()


def _mount_point(path: Path) -> Path:
    """The mount point (disk) ``path`` is on, for "the disk ... is full"."""
    place = path.absolute()
    while not place.exists() and place != place.parent:
        place = place.parent
    while not os.path.ismount(place) and place != place.parent:
        place = place.parent
    return place


def write_cause(path: str | Path, exc: OSError | None = None) -> int | None:
    """The errno of a failed write to ``path``: ``exc``'s, or, where a library hid it (SQLite),
    what the file system says now (read-only, no permission, no space left), or None."""
    if exc is not None and exc.errno:
        return exc.errno
    place = Path(path)
    folder = place if place.is_dir() else place.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return errno.EROFS
        if not os.access(folder, os.W_OK) or (place.exists() and not os.access(place, os.W_OK)):
            return errno.EACCES
        if shutil.disk_usage(folder).free < 64 * 1024:
            return errno.ENOSPC
    except OSError:
        return None
    return None


def write_failed(
    path: str | Path, exc: OSError | None, what: str = "ไฟล์", error: type[PublishError] = PublishError,
) -> PublishError:
    """A write the operating system refused, as a ``PublishError`` (exit 4) naming ``path`` and the real
    cause: the disk is full (which disk), no permission (for which account), a read-only file system ...

    ``what`` names what was being written ("ไฟล์สถานะ", "ไฟล์อีเมล" ...); ``exc`` may be None where a
    library hid the errno (SQLite), which is then learnt from the file system (``write_cause``).
    """
    place = Path(path)
    code = write_cause(place, exc)
    rerun = "แล้วสั่งรันใหม่: สิ่งที่ทำเสร็จแล้วบันทึกไว้ รอบหน้าทำเฉพาะส่วนที่เหลือ"
    user = account()
    if code in (errno.ENOSPC, errno.EDQUOT):
        disk = _mount_point(place)
        why = ("ดิสก์เต็ม" if code == errno.ENOSPC else f"เกินโควตาพื้นที่ดิสก์ของบัญชีผู้ใช้ '{user}'")
        message = f"บันทึก{what} {place} ไม่ได้: {why} (ดิสก์ที่ต่อไว้ที่ {disk} ไม่มีที่ว่างเหลือ)"
        hint = (f"ทำให้ดิสก์ {disk} มีที่ว่าง (เช่น ย้ายไฟล์สำรองหรือไฟล์ log เก่าไปไว้ที่อื่น; "
                f"อย่าลบไฟล์สถานะของ devplan) {rerun}")
    elif code in (errno.EACCES, errno.EPERM):
        message = f"บันทึก{what} {place} ไม่ได้: บัญชีผู้ใช้ '{user}' ที่รัน devplan ไม่มีสิทธิ์เขียนที่นี่"
        hint = (f"ให้บัญชี '{user}' มีสิทธิ์เขียนไฟล์และโฟลเดอร์ {place.parent} (เช่น chown หรือ chmod) "
                f"หรือรัน devplan ด้วยบัญชีที่เขียนได้ {rerun}")
        if os.name == "nt":  # Windows refuses to replace a file another program has open
            hint = f"ถ้าไฟล์นี้เปิดอยู่ใน Excel หรือโปรแกรมอื่น ให้ปิดก่อน; มิฉะนั้น{hint}"
    elif code == errno.EROFS:
        message = f"บันทึก{what} {place} ไม่ได้: ดิสก์ที่ต่อไว้ที่ {_mount_point(place)} เป็นแบบอ่านอย่างเดียว (read-only)"
        hint = f"ต่อดิสก์นั้นใหม่แบบเขียนได้ (ถ้าระบบตั้งเป็นอ่านอย่างเดียวเองเพราะดิสก์เสีย ให้ผู้ดูแลระบบตรวจดิสก์) {rerun}"
    elif code == errno.EFBIG:
        message = f"บันทึก{what} {place} ไม่ได้: ไฟล์ใหญ่เกินขนาดที่ระบบยอมให้บัญชี '{user}' เขียน (ulimit -f)"
        hint = f"ให้ผู้ดูแลระบบยกเลิกการจำกัดขนาดไฟล์ของบัญชีนี้ (ulimit -f unlimited) {rerun}"
    elif code in (errno.EISDIR, errno.ENOTDIR):
        message = f"บันทึก{what} {place} ไม่ได้: ที่ตำแหน่งนี้ (หรือโฟลเดอร์ที่อยู่) มีโฟลเดอร์หรือไฟล์อื่นอยู่แทน"
        hint = f"ย้ายสิ่งที่อยู่ตรงนั้นออกไป หรือแก้ตำแหน่งในไฟล์ตั้งค่า {rerun}"
    elif code == errno.EIO:
        message = f"บันทึก{what} {place} ไม่ได้: ดิสก์อ่านเขียนผิดพลาด (I/O error)"
        hint = f"ให้ผู้ดูแลระบบตรวจดิสก์ {_mount_point(place)} {rerun}"
    else:
        detail = (exc.strerror or str(exc)) if exc is not None else "ไม่ทราบสาเหตุ"
        message = f"บันทึก{what} {place} ไม่ได้ ({detail})"
        hint = f"ตรวจว่าเขียนโฟลเดอร์ {place.parent} ได้และดิสก์มีที่ว่าง {rerun}"
    return error(message, hint)


#: errnos that can only come from writing, whatever wrote: the CLI's last line of defence turns them into exit 4
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
