"""The files of the local backend: which ones devplan may touch, who has one open, why one cannot be read.

The rules, each a school's problem (named, its file untouched) when broken:

- devplan reads and writes only regular files inside the storage folder. A
  school's file may be a symbolic link to a regular file inside the folder
  (one file kept under two names); the link is followed and kept, and the
  file it leads to is what is read and replaced. A link that leads outside
  the folder, a dangling link, a loop of links, and anything that is not a
  regular file (a FIFO, a device, a folder, a socket) are refused before any
  byte is read or written. Files are opened without blocking and checked
  again once open, so a FIFO can never hang a run.
- A file someone has open in Excel (its owner file ``~$<name>``) or
  LibreOffice (its lock file ``.~lock.<name>#``) is not written this run: the
  person's next save would undo devplan's tab or meet a changed file. The
  message names who has it open, as the owner file records; it is written on
  the next run once closed.
- A file that is not a usable ``.xlsx`` is named with its real cause and fix:
  password-protected (an encrypted OLE file), an ``.xls`` renamed, empty,
  cut short, damaged, too large once inflated, or unreadable for lack of
  permission.

Each function takes the error class to raise: ``SourceError`` while reading,
``PublishError`` while writing (what stops a write is a write problem).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import PipelineError, SourceError, account
from pipeline.workbook.xlsx_zip import MB, TooLarge

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
#: Excel's owner file holds at most this many characters of the user's name (52), in 165 bytes.
OWNER_FILE_BYTES = 512

_KINDS = {
    stat.S_IFIFO: "FIFO (named pipe)", stat.S_IFCHR: "อุปกรณ์ (character device)",
    stat.S_IFBLK: "อุปกรณ์ (block device)", stat.S_IFDIR: "โฟลเดอร์", stat.S_IFSOCK: "socket",
}
_NOT_TOUCHED = "devplan จึงไม่อ่านและไม่เขียนไฟล์นี้"
_LINK_HINT = ("ให้ไฟล์ของหน่วยงานนี้เป็นไฟล์ .xlsx จริงในโฟลเดอร์ที่ตั้งค่าไว้ (storage.path) "
              "เช่น คัดลอกไฟล์ต้นฉบับมาวางแทนลิงก์ แล้วสั่งรันใหม่")


def file_version(path: Path) -> str | None:
    """A local file's version (``mtime_ns:size``: both change when anyone saves it), or None when there is none;
    what ``LocalWorkbook.version`` gives and what devplan remembers of a file it read or wrote."""
    try:
        info = path.stat()
    except OSError:
        return None
    return f"{info.st_mtime_ns}:{info.st_size}"


def _inside(path: str, folder: str) -> bool:
    return path != folder and os.path.commonpath([path, folder]) == folder


def locate(folder: Path, name: str, error: type[PipelineError]) -> Path | None:
    """The regular file inside ``folder`` that ``folder/name`` is (following links), or None if nothing is there."""
    path = folder / name
    home = os.path.realpath(folder)
    if not _inside(os.path.join(os.path.realpath(path.parent), path.name), home):
        raise error(f"ไฟล์ {path} อยู่นอกโฟลเดอร์ {folder} {_NOT_TOUCHED}",
                    "แก้ชื่อสเปรดชีตในไฟล์ตั้งค่าหรือรหัสหน่วยงานในทะเบียนไม่ให้มี / หรือ ..")
    try:
        os.lstat(path)
    except FileNotFoundError:
        return None
    except PermissionError as exc:  # the folder may not be entered
        raise error(f"ตรวจไฟล์ {path} ไม่ได้: บัญชีผู้ใช้ '{account()}' ที่รัน devplan ไม่มีสิทธิ์เข้าโฟลเดอร์นี้",
                    _read_hint()) from exc
    except OSError as exc:
        raise error(f"ตรวจไฟล์ {path} ไม่ได้ ({exc.strerror or exc})", "ตรวจชื่อไฟล์และโฟลเดอร์ แล้วสั่งรันใหม่") from exc
    try:
        real = os.path.realpath(path, strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"ไฟล์ {path} เป็นลิงก์ (symbolic link) ที่วนกลับมาหาตัวเอง {_NOT_TOUCHED}", _LINK_HINT) from exc
        if exc.errno == errno.ENOENT:
            raise error(f"ไฟล์ {path} เป็นลิงก์ (symbolic link) ไปยัง {os.readlink(path)} ซึ่งไม่มีอยู่ {_NOT_TOUCHED}",
                        _LINK_HINT) from exc
        raise error(f"ตรวจไฟล์ {path} ไม่ได้ ({exc.strerror or exc})", _read_hint()) from exc
    if not _inside(real, home):
        raise error(f"ไฟล์ {path} เป็นลิงก์ (symbolic link) ไปยัง {real} ซึ่งอยู่นอกโฟลเดอร์ {folder} {_NOT_TOUCHED}",
                    _LINK_HINT)
    _check_regular(os.stat(real).st_mode, path, error)
    return Path(real)


def _check_regular(mode: int, path: Path, error: type[PipelineError]) -> None:
    if not stat.S_ISREG(mode):
        kind = _KINDS.get(stat.S_IFMT(mode), "ไฟล์พิเศษ")
        raise error(f"{path} ไม่ใช่ไฟล์ธรรมดาแต่เป็น{kind} {_NOT_TOUCHED}", _LINK_HINT)


def _read_hint() -> str:
    return (f"ให้บัญชีผู้ใช้ '{account()}' ที่รัน devplan มีสิทธิ์อ่านไฟล์และเข้าโฟลเดอร์นี้ "
            "(เช่น ให้บัญชีนี้เป็นเจ้าของไฟล์ หรืออยู่ในกลุ่มที่อ่านไฟล์ได้) แล้วสั่งรันใหม่")


def open_regular(path: Path, error: type[PipelineError]) -> BinaryIO:
    """Open a located file for reading without blocking; refuse it if it is no longer a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError as exc:
        raise error(f"เปิดไฟล์ {path} ไม่ได้: บัญชีผู้ใช้ '{account()}' ที่รัน devplan ไม่มีสิทธิ์อ่านไฟล์นี้",
                    _read_hint()) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link since it was located
            raise error(f"ไฟล์ {path} เพิ่งถูกเปลี่ยนเป็นลิงก์ (symbolic link) {_NOT_TOUCHED}", _LINK_HINT) from exc
        raise error(f"เปิดไฟล์ {path} ไม่ได้ ({exc.strerror or exc})", _read_hint()) from exc
    try:
        _check_regular(os.fstat(fd).st_mode, path, error)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


# ------------------------------------------------------------- owner files


def _excel_owner(data: bytes) -> str:
    """The user name in an Excel owner file: a length byte and the name in the ANSI code page,
    padded with spaces to offset 0x37, then a 2-byte length and the name again in UTF-16."""
    if len(data) >= 0x39 and 0 < data[0] <= 52:
        length = int.from_bytes(data[0x37:0x39], "little")
        if 0 < length <= 52 and len(data) >= 0x39 + 2 * length:
            name = data[0x39: 0x39 + 2 * length].decode("utf-16-le", "replace").strip()
            if name:
                return name
        return data[1: 1 + data[0]].decode("cp874", "replace").strip()  # Thai Windows' code page
    return ""


def _libreoffice_owner(data: bytes) -> str:
    """The user (and computer) in a LibreOffice lock file: ``name,system user,host,date,profile;``,
    with ``\\`` escaping a comma, semicolon or backslash."""
    fields, current, escaped = [], [], False
    for char in data.decode("utf-8", "replace"):
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",;":
            fields.append("".join(current).strip())
            current = []
            if char == ";":
                break
        else:
            current.append(char)
    if len(fields) < 3:
        return ""
    who = fields[0] or fields[1]
    return f"{who} (เครื่อง {fields[2]})" if who and fields[2] else who or fields[2]


def open_by(real: Path, named: Path) -> tuple[str, Path] | None:
    """Who has the file open, as Excel's or LibreOffice's owner file beside it says, and that owner file."""
    places = {(real.parent, real.name), (named.parent, named.name)}
    for folder, name in sorted(places):
        for owner, app, parse in ((folder / f"~${name}", "Excel", _excel_owner),
                                  (folder / f".~lock.{name}#", "LibreOffice", _libreoffice_owner)):
            if not os.path.lexists(owner):
                continue
            data = b""
            try:
                with open_regular(owner, SourceError) as handle:
                    data = handle.read(OWNER_FILE_BYTES)
            except (PipelineError, OSError):
                pass
            user = parse(data)
            return (f"{app} ของ {user}" if user else f"{app} (ไม่ทราบชื่อผู้ใช้)"), owner
    return None


def refuse_open(path: Path, who: str, owner: Path, error: type[PipelineError]) -> PipelineError:
    """The error for a file someone has open: not written this run, written on the next."""
    return error(
        f"ไฟล์ {path} เปิดค้างอยู่ใน {who} (พบไฟล์ {owner.name}) รอบนี้ devplan จึงไม่เขียนไฟล์นี้ "
        "และจะเขียนในการรันครั้งถัดไปเมื่อปิดไฟล์แล้ว",
        "ขอให้ผู้ที่เปิดไฟล์บันทึกและปิดไฟล์ แล้วสั่งรันใหม่ (หรือรอรอบถัดไป) "
        f"ถ้าแน่ใจว่าไม่มีใครเปิดไฟล์นี้อยู่ (เช่น โปรแกรมปิดไปเพราะเครื่องดับ) ให้ลบไฟล์ {owner} ที่ค้างอยู่",
    )


# --------------------------------------------------------------- diagnosis


def _ole_kind(handle: BinaryIO) -> str:
    """'encrypted' (an .xlsx with a password), 'xls' (Excel 97-2003) or 'other' for an OLE compound file."""
    import olefile

    try:
        handle.seek(0)
        with olefile.OleFileIO(handle) as ole:
            streams = {"/".join(s).lower() for s in ole.listdir(streams=True, storages=True)}
    except (OSError, ValueError, TypeError, IndexError, struct.error):  # what olefile raises on a broken file
        return "other"
    if {"encryptedpackage", "encryptioninfo"} & streams:
        return "encrypted"
    if {"workbook", "book"} & streams:
        return "xls"
    return "other"


def unusable(path: Path, handle: BinaryIO, detail: str, error: type[PipelineError] = SourceError) -> PipelineError:
    """The error for a file that is not a usable ``.xlsx``, naming its real cause and the fix."""
    handle.seek(0)
    head = handle.read(8)
    size = os.fstat(handle.fileno()).st_size
    if size == 0:
        return error(f"ไฟล์ {path} ว่างเปล่า (0 ไบต์)",
                     "กู้ไฟล์นี้จากสำเนาสำรอง (backup) หรือคัดลอกไฟล์จากต้นฉบับมาวางใหม่ แล้วสั่งรันใหม่")
    if head == OLE_MAGIC:
        kind = _ole_kind(handle)
        if kind == "encrypted":
            return error(
                f"เปิดไฟล์ {path} ไม่ได้: ไฟล์ถูกตั้งรหัสผ่านเปิดไฟล์ (เข้ารหัส) devplan จึงอ่านไม่ได้",
                "เปิดไฟล์ใน Excel ใส่รหัสผ่าน แล้วไปที่ ไฟล์ → ข้อมูล → ป้องกันเวิร์กบุ๊ก → เข้ารหัสด้วยรหัสผ่าน "
                "(File → Info → Protect Workbook → Encrypt with Password) ลบรหัสผ่านออกให้ช่องว่าง กด ตกลง "
                "แล้วบันทึกไฟล์ จากนั้นสั่งรันใหม่",
            )
        if kind == "xls":
            return error(
                f"เปิดไฟล์ {path} ไม่ได้: เป็นไฟล์ Excel รุ่นเก่า (.xls) ที่ตั้งชื่อเป็น .xlsx",
                "เปิดไฟล์ใน Excel หรือ LibreOffice แล้วเลือก บันทึกเป็น (Save As) ชนิด 'Excel Workbook (*.xlsx)' "
                "ด้วยชื่อไฟล์เดิม จากนั้นสั่งรันใหม่",
            )
        return error(
            f"เปิดไฟล์ {path} ไม่ได้: เป็นไฟล์ Office รุ่นเก่าชนิดอื่น (เช่น Word .doc) ไม่ใช่สเปรดชีต .xlsx",
            "นำไฟล์สเปรดชีตที่ถูกต้องของหน่วยงานมาวางแทน (บันทึกเป็น .xlsx) แล้วสั่งรันใหม่",
        )
    if head.startswith(ZIP_MAGIC) and detail.startswith(("File is not a zip", "Truncated", "Bad magic", "Bad offset")):
        return error(
            f"เปิดไฟล์ {path} ไม่ได้: ไฟล์ไม่ครบ (ถูกตัดท้าย เช่น คัดลอก ดาวน์โหลด หรือบันทึกไม่เสร็จ)",
            "กู้ไฟล์จากสำเนาสำรอง (backup) หรือคัดลอก/ดาวน์โหลดไฟล์ใหม่ให้ครบ; ถ้าไม่มีสำเนา ให้เปิดด้วย Excel "
            "ให้โปรแกรมซ่อมแซม แล้วบันทึกเป็น .xlsx จากนั้นสั่งรันใหม่",
        )
    if head.startswith(ZIP_MAGIC):
        return error(
            f"เปิดไฟล์ {path} ไม่ได้: ไฟล์เสียหายหรือไม่ใช่สเปรดชีต .xlsx ที่สมบูรณ์ ({detail})",
            "เปิดไฟล์ด้วย Excel หรือ LibreOffice ให้โปรแกรมซ่อมแซม แล้วบันทึกใหม่เป็น .xlsx "
            "(หรือกู้ไฟล์จากสำเนาสำรอง) จากนั้นสั่งรันใหม่",
        )
    return error(
        f"เปิดไฟล์ {path} ไม่ได้: ไม่ใช่ไฟล์ .xlsx (อาจเป็นไฟล์ชนิดอื่น เช่น CSV หรือ HTML ที่ตั้งชื่อเป็น .xlsx)",
        "เปิดไฟล์ด้วย Excel หรือ LibreOffice แล้วบันทึกเป็น (Save As) 'Excel Workbook (*.xlsx)' ด้วยชื่อไฟล์เดิม "
        "จากนั้นสั่งรันใหม่",
    )


def too_large(path: Path, exc: TooLarge, error: type[PipelineError] = SourceError) -> PipelineError:
    """The error for a file that inflates past the configured bound (a zip bomb, or a huge file)."""
    what = "ทั้งไฟล์" if exc.whole else f"ส่วน {exc.part} ของไฟล์"
    key = "max_file_mb" if exc.whole else "max_part_mb"
    return error(
        f"ไม่เปิดไฟล์ {path}: {what}เมื่อคลายการบีบอัดแล้วใหญ่เกิน {exc.bound // MB} MB "
        f"(ขีดจำกัด storage.{key}) devplan จึงไม่อ่านและไม่เขียนไฟล์นี้",
        "สเปรดชีตของหน่วยงานปกติเล็กกว่านี้มาก ไฟล์นี้อาจเสียหายหรือเป็นไฟล์อันตราย (zip bomb): "
        "ตรวจกับผู้ส่งและนำไฟล์ที่ถูกต้องมาวางแทน; ถ้าไฟล์ใหญ่ขนาดนี้จริง "
        f"ให้เพิ่ม {key} ในหมวด [storage] ของไฟล์ตั้งค่า แล้วสั่งรันใหม่",
    )
