"""Import: what the office downloads from Google Forms becomes the survey tab.

Google Forms gives responses as a ``.csv`` file (UTF-8, sometimes with a BOM)
or, through the response sheet, an ``.xlsx`` file. ``import_survey`` checks
that every configured survey column is in the file's header and writes the
table, values untouched, as the survey tab through the configured
``Workbook``: CSV values stay the text they are in the file (a leading zero,
a "30000" or a "7/1/2002" is not turned into a number or a date); an empty
CSV field becomes an empty cell. ``.xlsx`` cells keep the values the file holds.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import SourceError
from pipeline.thai import clean_text
from pipeline.workbook import Table, Workbook


def read_export(path: Path) -> Table:
    """The rows of a Forms export, header first; trailing empty rows dropped."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _read_csv(path)
    elif suffix == ".xlsx":
        rows = _read_xlsx(path)
    else:
        raise SourceError(
            f"ไฟล์ {path.name} ไม่ใช่ .csv หรือ .xlsx",
            "ใน Google Forms ไปที่ การตอบกลับ → ดาวน์โหลดคำตอบ (.csv) หรือเปิดชีตคำตอบแล้ว "
            "ไฟล์ → ดาวน์โหลด → Microsoft Excel (.xlsx)",
        )
    while rows and all(v is None or v == "" for v in rows[-1]):
        rows.pop()
    if not rows:
        raise SourceError(f"ไฟล์ {path.name} ว่างเปล่า", "ดาวน์โหลดคำตอบจาก Google Forms ใหม่อีกครั้ง")
    return rows


def _read_csv(path: Path) -> Table:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SourceError(f"อ่านไฟล์ {path} ไม่ได้ ({exc.strerror or exc})", "ตรวจชื่อไฟล์และสิทธิ์การอ่าน") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"ไฟล์ {path.name} ไม่ได้เข้ารหัสแบบ UTF-8 (อาจถูกเปิดและบันทึกใหม่ด้วย Excel)",
            "ใช้ไฟล์ที่ดาวน์โหลดจาก Google Forms โดยตรง โดยไม่เปิดบันทึกด้วยโปรแกรมอื่นก่อน "
            "หรือบันทึกเป็น CSV UTF-8",
        ) from exc
    try:
        return [[v if v != "" else None for v in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise SourceError(f"ไฟล์ {path.name} ไม่ใช่ CSV ที่ถูกต้อง ({exc})", "ดาวน์โหลดคำตอบจาก Google Forms ใหม่") from exc


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, UnicodeDecodeError, SyntaxError) as exc:
        raise SourceError(
            f"เปิดไฟล์ {path.name} ไม่ได้: ไม่ใช่ไฟล์ .xlsx ที่สมบูรณ์ ({exc.__class__.__name__})",
            "ดาวน์โหลดชีตคำตอบใหม่ (ไฟล์ → ดาวน์โหลด → Microsoft Excel (.xlsx))",
        ) from exc
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def missing_columns(header: list, settings: Settings) -> list[str]:
    """Configured survey headers that the file's header row does not have."""
    have = {clean_text(h) for h in header}
    wanted = [name for name in settings.sources.survey.columns.model_dump().values() if name]
    return [name for name in wanted if clean_text(name) not in have]


def import_survey(path: Path, settings: Settings, workbook: Workbook) -> int:
    """Write the export at ``path`` as the survey tab; returns the number of answers written."""
    rows = read_export(path)
    missing = missing_columns(rows[0], settings)
    if missing:
        found = ", ".join(f"'{clean_text(h)}'" for h in rows[0] if clean_text(h)) or "(แถวหัวตารางว่าง)"
        raise SourceError(
            f"ไฟล์ {path.name} ไม่มีคอลัมน์ที่ตั้งค่าไว้ใน sources.survey.columns: "
            + ", ".join(f"'{m}'" for m in missing) + f" (คอลัมน์ที่มี: {found})",
            "ตรวจว่าเป็นไฟล์คำตอบของแบบสำรวจที่ถูกต้อง หรือแก้ชื่อคอลัมน์ใน [sources.survey.columns] "
            "ของไฟล์ตั้งค่าให้ตรงกับคำถามในแบบฟอร์ม",
        )
    survey = settings.sources.survey
    workbook.write(survey.spreadsheet, {survey.tab: rows})
    return len(rows) - 1


def import_into_area(path: Path, settings: Settings) -> str:
    """``devplan import``: the export at ``path`` becomes the area's survey tab; what was done, in Thai.

    Never while a sync runs on the same state file (it could be reading the survey tab).
    """
    from pipeline.lock import RunLock
    from pipeline.sync import opened

    assert settings.storage.state is not None  # load_settings puts it beside the config file
    with RunLock(settings.storage.state, wait=False), opened(settings) as (_, book):
        count = import_survey(path, settings, book)
    survey = settings.sources.survey
    return (f"นำเข้าคำตอบ {count} แถวจาก {path.name} ลงสเปรดชีต '{survey.spreadsheet}' "
            f"แท็บ '{survey.tab}' ใน {settings.storage.location}")
