"""Local backend: a folder where each spreadsheet is one ``.xlsx`` file.

The file stem is the spreadsheet key. Files open in Excel or LibreOffice and
can be uploaded to Google Drive as they are.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, Mapping, Sequence

from openpyxl import Workbook as XlsxWorkbook
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import InvalidFileException

from pipeline.errors import PublishError, SourceError
from pipeline.workbook import Table

SUFFIX = ".xlsx"
#: What openpyxl raises on a damaged file: not a zip, a part missing, broken XML
#: (ElementTree's and lxml's parse errors are SyntaxErrors), broken compression.
UNREADABLE = (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, SyntaxError, zlib.error)


class LocalWorkbook:
    """Spreadsheets as ``<folder>/<key>.xlsx``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.location = str(self.folder)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def keys(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(
            p.stem for p in self.folder.glob(f"*{SUFFIX}")
            if p.is_file() and not p.name.startswith(("~$", "."))
        )

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def tabs(self, key: str) -> list[str]:
        book = self._load(key, read_only=True)
        try:
            return list(book.sheetnames)
        finally:
            book.close()

    def read(self, key: str, tabs: Sequence[str]) -> dict[str, Table]:
        book = self._load(key, read_only=True)
        try:
            missing = [t for t in tabs if t not in book.sheetnames]
            if missing:
                raise SourceError(
                    f"ไม่พบแท็บ '{missing[0]}' ในไฟล์ {self.path(key)} "
                    f"(แท็บที่มี: {', '.join(book.sheetnames)})",
                    "ตรวจชื่อแท็บในไฟล์ให้ตรงกับไฟล์ตั้งค่า หรือแก้ชื่อแท็บในไฟล์ตั้งค่าให้ตรงกับไฟล์",
                )
            # read-only mode parses a tab's XML only while iterating it
            return {tab: _trim([list(r) for r in book[tab].iter_rows(values_only=True)]) for tab in tabs}
        except UNREADABLE as exc:
            raise _unreadable(self.path(key), exc) from exc
        finally:
            book.close()

    def write(self, key: str, tabs: Mapping[str, Table]) -> None:
        path = self.path(key)
        if path.is_file():
            # Keep formulas: other tabs (the ones staff fill in) are saved back as loaded.
            book = self._load(key, read_only=False, data_only=False)
        else:
            book = XlsxWorkbook()
            book.remove(book.active)
        for name, rows in tabs.items():
            if name in book.sheetnames:
                index = book.sheetnames.index(name)
                book.remove(book[name])
                sheet = book.create_sheet(name, index)
            else:
                sheet = book.create_sheet(name)
            for row in rows:
                sheet.append([_cell(v) for v in row])
            _as_text_not_formula(sheet)
        _save_atomically(book, path)

    def version(self, key: str) -> str | None:
        """The file's modification time and size: they change when anyone saves it."""
        try:
            info = self.path(key).stat()
        except OSError:
            return None
        return f"{info.st_mtime_ns}:{info.st_size}"

    def finish(self) -> None:
        """Nothing to settle: a file's version is known as soon as it is saved."""

    def _load(self, key: str, read_only: bool, data_only: bool = True) -> Any:
        path = self.path(key)
        if not path.is_file():
            raise SourceError(
                f"ไม่พบสเปรดชีต '{key}' (ไฟล์ {path})",
                "ตรวจว่าไฟล์อยู่ในโฟลเดอร์ที่ตั้งค่าไว้ (storage.path) และชื่อไฟล์ตรงกับรหัสในไฟล์ตั้งค่า",
            )
        try:
            return load_workbook(path, read_only=read_only, data_only=data_only)
        except UNREADABLE as exc:
            raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: Exception) -> SourceError:
    return SourceError(
        f"เปิดไฟล์ {path} ไม่ได้: ไม่ใช่ไฟล์ .xlsx ที่สมบูรณ์ ({exc.__class__.__name__})",
        "เปิดไฟล์ด้วย Excel หรือ LibreOffice แล้วบันทึกใหม่เป็น .xlsx",
    )


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str):
        # .xlsx cannot hold control characters (a pasted vertical tab, say); drop them.
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _as_text_not_formula(sheet: Any) -> None:
    # openpyxl stores any string starting with "=" as a formula; mark it text.
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def _trim(rows: Table) -> Table:
    """Drop trailing empty rows and trailing empty columns of a read tab."""
    while rows and all(v is None or v == "" for v in rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, v in enumerate(r) if v not in (None, "")), default=0) for r in rows), default=0)
    return [r[:width] + [None] * (width - len(r)) for r in rows]


def _save_atomically(book: Any, path: Path) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=SUFFIX, dir=path.parent)
        os.close(fd)
        book.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise PublishError(
            f"บันทึกไฟล์ {path} ไม่ได้ ({exc.strerror or exc})",
            "ปิดไฟล์นี้ใน Excel/LibreOffice แล้วตรวจสิทธิ์การเขียนโฟลเดอร์ จากนั้นสั่งรันใหม่",
        ) from exc
