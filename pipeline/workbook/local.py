"""Local backend: a folder where each spreadsheet is one ``.xlsx`` file.

The file stem is the spreadsheet key. Files open in Excel or LibreOffice and
can be uploaded to Google Drive as they are.

Reading uses calamine, which returns the cached results of formulas. Writing
is lossless (see ``pipeline.workbook.xlsx``): only devplan's own tabs are
replaced, every other part of the file is copied byte for byte. A write goes
to a hidden temp file in the same folder (``.devplan-tmp-<key>-<random>.xlsx``)
that takes the original file's mode and owner, then replaces the file in one
rename. Temp files a killed run left behind are removed by the next write to
the folder, see ``sweep_stale_temp_files``.

Which files may be read or written at all (regular files inside the folder,
links followed only inside it, nothing open in Excel or LibreOffice) and how
an unusable file is named is in ``pipeline.workbook.local_files``. Before
calamine reads a file, and before a write, every part is inflated once in
chunks within the configured bounds (``[storage] max_part_mb``,
``max_file_mb``): a zip bomb is refused without being held in memory.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Callable, ContextManager, Mapping, Sequence

from python_calamine import CalamineError, CalamineWorkbook

from pipeline.errors import PipelineError, PublishError, SourceError, write_failed
from pipeline.workbook import Access, CellError, Need, Place, RequestCounts, Table
from pipeline.workbook.forked import Outcomes, in_order
from pipeline.workbook.layout import EXCEL_CELL_LIMIT, AnyTab, as_tab, fit_cells
from pipeline.workbook.local_files import (
    account, file_version, locate, open_by, open_regular, refuse_open, too_large, unusable,
)
from pipeline.workbook.xlsx import DamagedPackage, Limits, Package, TabConflict, TooLarge, UnsafeEdit, put_tabs
from pipeline.workbook.xlsx_marks import Reader, error_cells, marked, own_marks, sheet_parts
from pipeline.workbook.xlsx_zip import read_part, scan

try:  # advisory locks, so a sweep never takes another process's in-flight temp file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SUFFIX = ".xlsx"
TEMP_PREFIX = ".devplan-tmp-"
#: Without advisory locks (Windows): a temp file untouched this long belongs to a run that died.
STALE_AFTER_SECONDS = 10 * 60
#: Temp files of devplan before 2025 (``tempfile.mkstemp(prefix=".<key>.")``): ``.<key>.<8 chars>.xlsx``.
LEGACY_TEMP = re.compile(r"^\.(?P<key>.+)\.[a-z0-9_]{8}\.xlsx$")
#: Integral floats below this are read back as int, as openpyxl read ``<v>2562</v>``.
EXACT_INT = 2**53
#: What a damaged file raises while being read or copied.
UNREADABLE = (CalamineError, DamagedPackage, zipfile.BadZipFile, KeyError, UnicodeDecodeError, SyntaxError, ValueError)
#: what devplan needs of a file, as ``devplan init``'s access table says it
READ, READ_WRITE = "อ่าน", "อ่านและเขียน"


class LocalWorkbook:
    """Spreadsheets as ``<folder>/<key>.xlsx``."""

    def __init__(self, folder: str | Path, limits: Limits | None = None, processes: int | None = None) -> None:
        self.folder = Path(folder)
        self.location = str(self.folder)
        self.account = ""  # the files are read and written as the user running devplan
        self.limits = limits or Limits()
        #: how many processes ``write_many`` may write in (default: the CPUs here, at most a few)
        self.processes = processes
        self._swept = False

    def path(self, key: str) -> Path:
        """The file of spreadsheet ``key``."""
        return self.folder / f"{key}{SUFFIX}"

    def keys(self) -> list[str]:
        """Stems of the folder's ``.xlsx`` files, without Excel's lock files and hidden temp files."""
        if not self.folder.is_dir():
            return []
        return sorted(
            p.stem for p in self.folder.glob(f"*{SUFFIX}")
            if p.is_file() and not p.name.startswith(("~$", "."))
        )

    def exists(self, key: str) -> bool:
        """True if anything is at ``<key>.xlsx`` (reading then says what is wrong with it, if anything)."""
        return os.path.lexists(self.path(key))

    def tabs(self, key: str) -> list[str]:
        """Tab names in order, read with calamine."""
        book = self._open(key)
        try:
            return list(book.sheet_names)
        finally:
            book.close()

    def read(self, key: str, tabs: Sequence[str]) -> dict[str, Table]:
        """Every named tab, with cached formula results, values as openpyxl returned them."""
        book = self._open(key)
        try:
            names = list(book.sheet_names)
            missing = [t for t in tabs if t not in names]
            if missing:
                raise SourceError(
                    f"ไม่พบแท็บ '{missing[0]}' ในไฟล์ {self.path(key)} "
                    f"(แท็บที่มี: {', '.join(names)})",
                    "ตรวจชื่อแท็บในไฟล์ให้ตรงกับไฟล์ตั้งค่า หรือแก้ชื่อแท็บในไฟล์ตั้งค่าให้ตรงกับไฟล์",
                )
            errors = self._errors(key, tabs)
            result = {}
            for tab in tabs:
                rows = [[v if type(v) is str and v else _value(v) for v in row]  # most cells: text, as it is
                        for row in book.get_sheet_by_name(tab).to_python(skip_empty_area=False)]
                for (r, c), error in errors.get(tab, {}).items():
                    rows += [[] for _ in range(r + 1 - len(rows))]
                    rows[r] += [None] * (c + 1 - len(rows[r]))
                    rows[r][c] = error
                result[tab] = _trim(rows)
            return result
        except UNREADABLE as exc:
            raise self._unusable(key, exc) from exc
        finally:
            book.close()

    def reading(self, keys: Sequence[str], tabs: Sequence[str]) -> ContextManager[None]:
        """Each file is read when asked (``read_cache.CachedLocalWorkbook`` reads ahead)."""
        return contextlib.nullcontext()

    def write(self, key: str, tabs: Mapping[str, AnyTab], *, own: bool = False) -> None:
        """Replace (or add) the named tabs; every other part of the file is copied unchanged.

        ``own``: devplan's tabs, marked as such (``xlsx_marks``); a person's tab of one of their names stops it.
        """
        self._sweep()
        self._wrote(key, self._job(key, tabs, own))

    def write_many(
        self, writes: Sequence[tuple[str, Mapping[str, AnyTab]]], *, own: bool = False
    ) -> Outcomes:
        """Each file written as ``write`` writes it, several at once in a few forked processes
        (``forked.in_order``): the files share nothing, and each write is CPU work and an fsync."""
        self._sweep()  # here, before any worker: a worker's note that it swept would not come back
        return in_order(lambda write: self._job(*write, own), writes, self.processes,
                        lambda write, result: self._wrote(write[0], result))

    def _job(self, key: str, tabs: Mapping[str, AnyTab], own: bool) -> object:
        """One write as a writing process makes it (or this one, one write after another); what it returns
        (small: it is sent back) is given to ``_wrote`` in this process once the write is done."""
        self._write(key, tabs, own)
        return None

    def _wrote(self, key: str, result: object) -> None:
        """In this process, after ``key`` was written (by ``_job``, wherever it ran): nothing to note here."""

    def _sweep(self) -> None:
        """Remove what killed runs left in the folder, once, before the first write."""
        if not self._swept:
            self._swept = True
            sweep_stale_temp_files(self.folder)

    def _write(self, key: str, tabs: Mapping[str, AnyTab], own: bool) -> None:
        for name in tabs:
            _check_tab_name(name)
        tabs = {name: fit_cells(tab, EXCEL_CELL_LIMIT) for name, tab in tabs.items()}
        looks = {name: marked(as_tab(tab), name) for name, tab in tabs.items()} if own else tabs
        path = self.path(key)
        real = locate(self.folder, f"{key}{SUFFIX}", PublishError)
        if real is None:
            if tabs:
                package = Package.blank()
                put_tabs(package, looks)
                _save_atomically(package, path, None)
            return
        owner = open_by(real, path)
        if owner is not None:
            raise refuse_open(real, *owner, PublishError)
        with open_regular(real, PublishError) as source:
            _check_writable(real)
            try:
                package = Package.open(source, self.limits)
                if own:
                    _refuse_staff_tabs(package, real, list(tabs))
                put_tabs(package, looks)
            except TabConflict as exc:
                raise PublishError(
                    f"เขียนแท็บ '{exc}' ในไฟล์ {real} ไม่ได้: มีแท็บชื่อนี้ (หรือชื่อเดียวกันที่ต่างกันแค่ตัวพิมพ์) "
                    "ที่ไม่ใช่ตารางข้อมูลธรรมดาอยู่แล้ว",
                    f"เปลี่ยนชื่อหรือลบแท็บ '{exc}' ในไฟล์นี้ แล้วสั่งรันใหม่",
                ) from exc
            except UnsafeEdit as exc:
                raise PublishError(
                    f"devplan เขียนแท็บลงไฟล์ {real} อย่างปลอดภัยไม่ได้ (ส่วน {exc.part} ของไฟล์จะผิดรูปแบบ: "
                    f"{exc.reason}) จึงไม่เขียนทับ ไฟล์ยังเหมือนเดิมทุกไบต์",
                    "เปิดไฟล์ด้วย Excel หรือ LibreOffice แล้วบันทึก (Save) ให้โปรแกรมจัดรูปแบบไฟล์ใหม่ แล้วสั่งรันใหม่; "
                    "ถ้ายังเขียนไม่ได้ ให้แจ้งผู้ดูแลระบบพร้อมสำเนาไฟล์นี้",
                ) from exc
            except TooLarge as exc:
                raise too_large(real, exc) from exc
            except UNREADABLE as exc:
                raise unusable(real, source, str(exc)) from exc
            except OSError as exc:
                raise _read_failed(real, exc, PublishError) from exc
            self._editing(source, package)
            _save_atomically(package, real, os.fstat(source.fileno()), self._saved)

    def _editing(self, source: BinaryIO, package: Package) -> None:
        """Just before an existing file is rewritten: the file as opened, and the package edited from it."""

    def _saved(self, fd: int) -> None:
        """The rewritten file (readable at ``fd``), written and synced, just before it takes the file's place."""

    def own_tabs(self, key: str) -> list[str]:
        """The tabs of ``key`` that carry devplan's mark (``xlsx_marks``), in order."""
        real = locate(self.folder, f"{key}{SUFFIX}", SourceError)
        if real is None:
            return []
        self._open(key).close()  # within the size bounds, or why not
        with open_regular(real, SourceError) as handle:
            try:
                return list(own_marks(_zip_reader(handle, self.limits)))
            except UNREADABLE as exc:
                raise unusable(real, handle, str(exc)) from exc

    def _errors(self, key: str, tabs: Sequence[str]) -> dict[str, dict[tuple[int, int], CellError]]:
        """The formula errors in ``tabs`` (calamine reads them as empty); the file was scanned by ``_open``."""
        real = locate(self.folder, f"{key}{SUFFIX}", SourceError)
        if real is None:
            return {}
        with open_regular(real, SourceError) as handle:
            read = _zip_reader(handle, self.limits)
            return error_cells(read, {name: part for name, part in sheet_parts(read) if name in tabs})

    def version(self, key: str) -> str | None:
        """The file's modification time and size: they change when anyone saves it."""
        return file_version(self.path(key))

    def finish(self) -> None:
        """Nothing to settle: a file's version is known as soon as it is saved."""

    def address(self, key: str) -> str:
        """The file (and the file a link inside the folder leads to), that a write would create it, or
        what is there instead that a write refuses (``local_files.locate`` decides, as it does for a write)."""
        path = self.path(key)
        try:
            real = locate(self.folder, path.name, PublishError)
        except PipelineError as exc:
            return f"{exc.message} (วิธีแก้: {exc.hint})"
        if real is None:
            return f"{path} (ยังไม่มี: จะสร้างไฟล์ใหม่)"
        return f"{path} (ลิงก์ไปยัง {real})" if path.is_symlink() else str(path)

    def lost(self, key: str) -> tuple[str, str] | None:
        """Files keep no history here: a missing file is simply missing."""
        return None

    def requests(self) -> RequestCounts:
        """No requests: files are opened directly."""
        return RequestCounts()

    def pace(self, kind: str) -> float:
        """No quota: a file is read or written at once."""
        return 0.0

    def check_place(self) -> Place:
        problem = None
        if not self.folder.is_dir():
            problem = Access(
                str(self.folder), "โฟลเดอร์ของไฟล์ .xlsx", READ_WRITE, False, "ไม่พบโฟลเดอร์",
                "สร้างโฟลเดอร์นี้แล้ววางไฟล์ roster.xlsx, แบบสำรวจ และ idplan-<รหัส>.xlsx ของทุกหน่วยงานไว้ "
                "หรือแก้ storage.path ในไฟล์ตั้งค่า",
            )
        return Place(problem, role_header="ต้องทำได้", read_role=READ, write_role=READ_WRITE)

    def check_access(self, need: Need) -> Access:
        """A file read is checked by reading it; one written must be a file the user may write, in a folder
        the user may write (the rename), or, for one devplan creates, a folder the user may write."""
        key, what = need.key, need.what
        if not need.write:
            return Access(key, what, READ, True, "เข้าถึงได้")
        path = self.path(key)
        try:
            real = locate(self.folder, path.name, PublishError)  # what a write finds there
        except PipelineError as exc:
            return Access(key, what, READ_WRITE, False, exc.message, exc.hint)
        if real is None and need.create:
            if os.access(self.folder, os.W_OK):
                return Access(key, what, READ_WRITE, True, "ยังไม่มี: devplan จะสร้างให้ตอน sync")
            return Access(key, what, READ_WRITE, False, "สร้างไฟล์ในโฟลเดอร์ไม่ได้",
                          f"ให้ผู้ใช้ที่รัน devplan เขียนโฟลเดอร์ {self.folder} ได้")
        if real is None:
            return Access(key, what, READ_WRITE, False, f"ไม่พบไฟล์ {path.name}",
                          f"วางไฟล์ {path.name} ในโฟลเดอร์" + (f" หรือ{need.if_missing}" if need.if_missing else ""))
        if not (os.access(real, os.W_OK) and os.access(real.parent, os.W_OK)):
            if need.create:
                return Access(key, what, READ_WRITE, False, "เขียนไฟล์ไม่ได้",
                              f"ให้ผู้ใช้ที่รัน devplan เขียนไฟล์ {path} ได้")
            return Access(key, what, READ_WRITE, False, "เขียนไฟล์ไม่ได้ (สิทธิ์ของไฟล์หรือโฟลเดอร์)",
                          f"ให้ผู้ใช้ที่รัน devplan เขียนไฟล์ {path} และโฟลเดอร์ได้")
        return Access(key, what, READ_WRITE, True, "เข้าถึงได้")

    def _open(self, key: str) -> CalamineWorkbook:
        """Open a spreadsheet for reading, or say in Thai why it cannot be."""
        path = self.path(key)
        real = locate(self.folder, f"{key}{SUFFIX}", SourceError)
        if real is None:
            raise SourceError(
                f"ไม่พบสเปรดชีต '{key}' (ไฟล์ {path})",
                "ตรวจว่าไฟล์อยู่ในโฟลเดอร์ที่ตั้งค่าไว้ (storage.path) และชื่อไฟล์ตรงกับรหัสในไฟล์ตั้งค่า",
            )
        with open_regular(real, SourceError) as handle:
            try:
                scan(handle, self.limits, strict=False)  # calamine would inflate every part it reads in full
            except TooLarge as exc:
                raise too_large(real, exc) from exc
            except DamagedPackage as exc:
                raise unusable(real, handle, str(exc)) from exc
            except OSError as exc:
                raise _read_failed(real, exc) from exc
        try:
            return CalamineWorkbook.from_path(str(real))
        except UNREADABLE as exc:
            raise self._unusable(key, exc) from exc
        except OSError as exc:
            raise _read_failed(real, exc) from exc

    def _unusable(self, key: str, exc: Exception) -> PipelineError:
        """The error for a file calamine could not read, with its real cause where the file shows one."""
        real = locate(self.folder, f"{key}{SUFFIX}", SourceError)
        if real is None:
            return SourceError(f"ไฟล์ {self.path(key)} หายไประหว่างอ่าน", "สั่งรันใหม่")
        with open_regular(real, SourceError) as handle:
            return unusable(real, handle, f"{exc.__class__.__name__}: {exc}")


def _read_failed(path: Path, exc: OSError, error: type[PipelineError] = SourceError) -> PipelineError:
    """The error for an I/O failure while reading a located file (a disk error, a file cut meanwhile)."""
    return error(f"อ่านไฟล์ {path} ไม่ได้ ({exc.strerror or exc})", "ตรวจดิสก์และสิทธิ์การอ่านไฟล์ แล้วสั่งรันใหม่")


def _zip_reader(handle: BinaryIO, limits: Limits) -> Reader:
    """Parts of an open ``.xlsx`` by name (part names are case-insensitive), each within ``limits``."""
    infos = {info.filename.lower(): info for info in zipfile.ZipFile(handle).infolist()}

    def read(part: str) -> bytes | None:
        info = infos.get(part.lower())
        return read_part(handle, info, limits.part) if info else None

    return read


def _refuse_staff_tabs(package: Package, path: Path, names: list[str]) -> None:
    """A tab of one of devplan's names that does not carry devplan's mark is a person's: stop, name it."""
    def read(part: str) -> bytes | None:
        return package.get(part) if package.has(part) else None

    marks = own_marks(read, among=names)
    for name, _part in sheet_parts(read):
        wanted = next((n for n in names if n.casefold() == name.casefold()), None)
        if wanted is not None and marks.get(name) != wanted:
            raise PublishError(
                f"ไฟล์ {path} มีแท็บชื่อ '{name}' อยู่แล้ว แต่ไม่ใช่แท็บที่ devplan สร้าง "
                "devplan จึงไม่เขียนทับและไม่แตะแท็บนั้น",
                f"เปิดไฟล์นี้แล้วเปลี่ยนชื่อแท็บ '{name}' เป็นชื่ออื่น (เช่น '{name} เดิม') บันทึก แล้วสั่งรันใหม่ "
                "devplan จะสร้างแท็บของตัวเองขึ้นใหม่ข้างกัน ข้อมูลในแท็บที่เปลี่ยนชื่อยังอยู่ครบ "
                "(ถ้าแท็บนั้นคือแท็บที่ devplan เคยเขียนไว้ก่อนจะติดเครื่องหมายของตัวเองในแท็บ "
                "เมื่อเห็นแท็บใหม่แล้วจะลบแท็บเดิมทิ้งก็ได้)",
            )


#: Characters Excel does not allow in a tab name.
BAD_TAB_CHARACTERS = set("[]:*?/\\")


def _check_tab_name(name: str) -> None:
    """Refuse a tab name Excel would reject (and then call the whole file damaged)."""
    if not name or len(name) > 31 or set(name) & BAD_TAB_CHARACTERS or name[0] == "'" or name[-1] == "'":
        raise PublishError(
            f"ชื่อแท็บ '{name}' ใช้ใน Excel ไม่ได้ (ยาวได้ไม่เกิน 31 ตัวอักษร ห้ามมี [ ] : * ? / \\ "
            "และห้ามขึ้นต้นหรือลงท้ายด้วย ')",
            "แก้ชื่อแท็บในไฟล์ตั้งค่า (เช่น output.summary_tab) ให้สั้นลงหรือไม่มีอักขระดังกล่าว แล้วสั่งรันใหม่",
        )


def _value(value: Any) -> Any:
    """A calamine cell value as openpyxl returned it, so later stages see the same values.

    calamine returns every number as float, a date-only cell as ``date`` and
    an empty cell (or a formula error such as ``#N/A``: ``_errors`` reads those) as ``""``.
    """
    if isinstance(value, float):
        if value.is_integer() and abs(value) < EXACT_INT:
            return int(value)
        return value
    if value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _trim(rows: Table) -> Table:
    """Drop trailing empty rows and trailing empty columns of a read tab."""
    while rows and all(v is None or v == "" for v in rows[-1]):
        rows.pop()
    width = max(map(_filled, rows), default=0)
    return [r if len(r) == width else r[:width] + [None] * (width - len(r)) for r in rows]


def _filled(row: list[Any]) -> int:
    """How many of ``row``'s cells there are up to its last one that is not empty (None or "")."""
    for i in range(len(row) - 1, -1, -1):
        value = row[i]
        if value is not None and value != "":
            return i + 1
    return 0


def _check_writable(path: Path) -> None:
    """Refuse to replace a file (or write into a folder) a person made read-only, even as root."""
    folder = path.parent
    if not path.stat().st_mode & 0o222:
        raise PublishError(
            f"ไฟล์ {path} ถูกตั้งเป็นอ่านอย่างเดียว devplan จึงไม่เขียนทับ",
            "ถ้าต้องการให้ devplan เขียนแท็บสรุปผลลงไฟล์นี้ ให้เปิดสิทธิ์การเขียน (เช่น chmod u+w) "
            "หรือนำชื่อไฟล์ออกจากรายการ แล้วสั่งรันใหม่",
        )
    if not folder.stat().st_mode & 0o222:
        raise PublishError(
            f"โฟลเดอร์ {folder} ถูกตั้งเป็นอ่านอย่างเดียว จึงบันทึกไฟล์ {path} ไม่ได้",
            "เปิดสิทธิ์การเขียนโฟลเดอร์นี้ (เช่น chmod u+w) แล้วสั่งรันใหม่",
        )
    for place, what in ((path, "ไฟล์"), (folder, "โฟลเดอร์")):
        if not os.access(place, os.W_OK):
            raise PublishError(
                f"บันทึกไฟล์ {path} ไม่ได้: บัญชีผู้ใช้ '{account()}' ที่รัน devplan ไม่มีสิทธิ์เขียน{what} {place}",
                f"ให้บัญชี '{account()}' มีสิทธิ์เขียนไฟล์และโฟลเดอร์นี้ (เช่น ให้เป็นเจ้าของ หรืออยู่ในกลุ่มที่เขียนได้) "
                "แล้วสั่งรันใหม่",
            )


def _default_mode() -> int:
    """The mode a new file gets from the process's umask (as a plain ``open`` would give)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _save_atomically(package: Package, path: Path, original: os.stat_result | None,
                     saved: Callable[[int], None] | None = None) -> None:
    """Write to a locked hidden temp file beside ``path``, give it the original's mode and owner, rename
    (``saved``: told the temp file's descriptor once it is written and synced, before the rename)."""
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f"{TEMP_PREFIX}{path.stem}-{secrets.token_hex(4)}{SUFFIX}"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            if fcntl is not None:
                fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            package.save(out)
            out.flush()
            os.fsync(out.fileno())
            if saved is not None:
                saved(out.fileno())
            if original is None:
                os.chmod(out.fileno(), _default_mode())
            else:
                os.chmod(out.fileno(), original.st_mode & 0o7777)
                if hasattr(os, "chown"):
                    mine = os.fstat(out.fileno())
                    if (mine.st_uid, mine.st_gid) != (original.st_uid, original.st_gid):
                        _keep_owner(out.fileno(), original, path)
                    os.chmod(out.fileno(), original.st_mode & 0o7777)  # chown may clear setgid bits
            os.replace(tmp, path)  # still locked: a sweep in another process leaves it alone
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise write_failed(path, exc) from exc
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


def _keep_owner(fd: int, original: os.stat_result, path: Path) -> None:
    """Give the temp file the original's owner and group, or stop rather than change them."""
    try:
        os.fchown(fd, original.st_uid, original.st_gid)
    except PermissionError as exc:
        raise PublishError(
            f"บันทึกไฟล์ {path} โดยคงเจ้าของไฟล์เดิม (uid {original.st_uid}, gid {original.st_gid}) ไม่ได้ "
            "devplan จึงไม่เขียนทับ",
            "สั่งรัน devplan ด้วยบัญชีผู้ใช้ที่เป็นเจ้าของไฟล์ หรือเปลี่ยนเจ้าของไฟล์ให้เป็นบัญชีที่รัน devplan",
        ) from exc


def _is_devplan_temp(folder: Path, name: str) -> bool:
    """True for devplan's temp-file names (and older versions' ``.<key>.<random>.xlsx`` beside ``<key>.xlsx``)."""
    if name.startswith(TEMP_PREFIX) and name.endswith(SUFFIX):
        return True
    legacy = LEGACY_TEMP.match(name)
    return legacy is not None and (folder / f"{legacy.group('key')}{SUFFIX}").is_file()


def sweep_stale_temp_files(folder: Path, now: float | None = None) -> list[Path]:
    """Remove temp files that a killed run left in ``folder``; return what was removed.

    Rule: only names devplan gives its temp files, and only if no process holds
    the lock a writer keeps on its temp file until the final rename (a killed
    writer's lock dies with it). Where the OS has no such locks, only files
    untouched for ``STALE_AFTER_SECONDS`` (a write takes well under a second).
    Excel's ``~$`` lock files and any other file are never touched.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    now = time.time() if now is None else now
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed  # a folder devplan may not list: the write that follows says why
    for entry in entries:
        try:
            if not _is_devplan_temp(folder, entry.name) or not entry.is_file() or entry.is_symlink():
                continue
            if fcntl is None and now - entry.stat().st_mtime < STALE_AFTER_SECONDS:
                continue
            with open(entry, "rb") as handle:
                if fcntl is not None:
                    try:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError:
                        continue  # a live writer holds it
                entry.unlink()
            removed.append(entry)
        except OSError:
            continue  # vanished meanwhile, or not ours to remove
    return removed
