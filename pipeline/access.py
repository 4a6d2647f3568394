"""Can devplan reach every spreadsheet it will read or write? (``devplan init``'s last step.)

For each spreadsheet a sync touches: the roster and the survey (read: Viewer is
enough), every ``idplan-{code}`` the units roster names and the dashboard
(written: Editor), say whether it is reachable and, if not, what to do.

Google: one Drive ``files.get`` for the folder, one paged ``files.list`` of it
(with the service account's ``capabilities.canEdit`` on each file), one
``values:batchGet`` each for the roster and the survey (their tabs and columns
are checked too). ID Plans are not read here: ``devplan check`` does that.
Local: the folder, each file, and whether it may be written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import Settings
from pipeline.errors import PipelineError
from pipeline.state import State

VIEWER = "ผู้มีสิทธิ์ดู (Viewer)"
EDITOR = "ผู้แก้ไข (Editor)"
READ = "อ่าน"
READ_WRITE = "อ่านและเขียน"


@dataclass
class Access:
    key: str
    what: str
    role: str
    ok: bool
    status: str
    hint: str = ""


@dataclass
class AccessReport:
    backend: str
    location: str
    #: the service account's e-mail (Google), "" when unknown
    account: str = ""
    rows: list[Access] = field(default_factory=list)
    #: requests sent to Google by the check
    requests: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(r.ok for r in self.rows)


def check_access(settings: Settings) -> AccessReport:
    if settings.storage.backend == "google":
        return _google(settings)
    return _local(settings)


def _units(settings: Settings, book: Any, report: AccessReport, roles: tuple[str, str]) -> list[str] | None:
    """Read the roster and survey (tabs, columns); the unit codes, or None when the roster failed."""
    from pipeline.collect import read_sources
    from pipeline.normalize import unit_codes

    src = settings.sources
    try:
        raw = read_sources(book, settings)
    except PipelineError as exc:
        names = _source_names(settings)
        named = [key for key in names if f"'{key}'" in exc.message or f"{key}.xlsx" in exc.message] or list(names)
        for key, what in names.items():
            if key in named:
                report.rows.append(Access(key, what, roles[0], False, exc.message, exc.hint))
            else:
                report.rows.append(Access(key, what, roles[0], False, "ยังไม่ได้ตรวจ: แก้ปัญหาด้านบนก่อน"))
        return None
    for key, what in _source_names(settings).items():
        counts = [f"{label} {len(rows)} แถว" for source, label, rows in (
            (src.units, "หน่วยงาน", raw.units), (src.staff, "บุคลากร", raw.staff), (src.survey, "คำตอบ", raw.survey),
        ) if source.spreadsheet == key]
        report.rows.append(Access(key, what, roles[0], True, f"เข้าถึงได้ ({', '.join(counts)})"))
    return unit_codes(raw.units, settings.area.office_code)


def _source_names(settings: Settings) -> dict[str, str]:
    src = settings.sources
    names: dict[str, str] = {}
    for source, what in ((src.units, "ทะเบียนหน่วยงาน"), (src.staff, "ทะเบียนบุคลากร"), (src.survey, "แบบสำรวจ")):
        names[source.spreadsheet] = f"{names[source.spreadsheet]}, {what}" if source.spreadsheet in names else what
    return names


# --- local ---------------------------------------------------------------------------


def _local(settings: Settings) -> AccessReport:
    from pipeline.workbook.local import LocalWorkbook

    folder = settings.storage.path
    assert folder is not None
    report = AccessReport("local", str(folder))
    if not folder.is_dir():
        report.rows.append(Access(
            str(folder), "โฟลเดอร์ของไฟล์ .xlsx", READ_WRITE, False, "ไม่พบโฟลเดอร์",
            "สร้างโฟลเดอร์นี้แล้ววางไฟล์ roster.xlsx, แบบสำรวจ และ idplan-<รหัส>.xlsx ของทุกหน่วยงานไว้ "
            "หรือแก้ storage.path ในไฟล์ตั้งค่า",
        ))
        return report
    book = LocalWorkbook(folder)
    codes = _units(settings, book, report, (READ, READ))
    if codes is None:
        return report
    writable = os.access(folder, os.W_OK)
    for code in codes:
        key = settings.sources.idplan.key_for(code)
        path = book.path(key)
        if not path.is_file():
            report.rows.append(Access(
                key, f"ID Plan หน่วยงาน {code}", READ_WRITE, False, f"ไม่พบไฟล์ {path.name}",
                f"วางไฟล์ {path.name} ในโฟลเดอร์ หรือแก้รหัสหน่วยงาน {code} ในทะเบียนหน่วยงาน",
            ))
        elif not (os.access(path, os.W_OK) and writable):
            report.rows.append(Access(
                key, f"ID Plan หน่วยงาน {code}", READ_WRITE, False, "เขียนไฟล์ไม่ได้ (สิทธิ์ของไฟล์หรือโฟลเดอร์)",
                f"ให้ผู้ใช้ที่รัน devplan เขียนไฟล์ {path} และโฟลเดอร์ได้",
            ))
        else:
            report.rows.append(Access(key, f"ID Plan หน่วยงาน {code}", READ_WRITE, True, "เข้าถึงได้"))
    key = settings.output.dashboard
    path = book.path(key)
    if path.is_file():
        ok = os.access(path, os.W_OK) and writable
        report.rows.append(Access(key, "แดชบอร์ด", READ_WRITE, ok, "เข้าถึงได้" if ok else "เขียนไฟล์ไม่ได้",
                                  "" if ok else f"ให้ผู้ใช้ที่รัน devplan เขียนไฟล์ {path} ได้"))
    else:
        report.rows.append(Access(key, "แดชบอร์ด", READ_WRITE, writable,
                                  "ยังไม่มี: devplan จะสร้างให้ตอน sync" if writable else "สร้างไฟล์ในโฟลเดอร์ไม่ได้",
                                  "" if writable else f"ให้ผู้ใช้ที่รัน devplan เขียนโฟลเดอร์ {folder} ได้"))
    return report


# --- Google --------------------------------------------------------------------------


def _google(settings: Settings) -> AccessReport:
    from gspread.exceptions import APIError

    from pipeline.workbook import open_workbook
    from pipeline.workbook.google import FILES_URL, SPREADSHEET_MIME, drive_id

    with State(None) as state:  # nothing to remember: init only looks
        book = open_workbook(settings.storage, state)
        account = book.client_email
        report = AccessReport("google", book.location, account)
        who = account or "บัญชีบริการของ devplan (client_email ในไฟล์กุญแจ)"
        try:
            folder = book.http.request(
                "get", f"{FILES_URL}/{book.folder}",
                params={"fields": "id,name,driveId,capabilities(canAddChildren)", "supportsAllDrives": True},
            ).json()
        except APIError as exc:
            report.rows.append(Access(
                book.folder, "โฟลเดอร์ Google Drive", EDITOR, False,
                f"เปิดโฟลเดอร์ไม่ได้ (Google ตอบ {exc.response.status_code})",
                f"ตรวจรหัสโฟลเดอร์ (storage.folder) แล้วแชร์โฟลเดอร์ให้ {who} เป็น{EDITOR}",
            ))
            return report
        listing = _listing(book, FILES_URL, SPREADSHEET_MIME)

        def share_hint(role: str) -> str:
            return f"เปิดสเปรดชีตนี้ กด แชร์ (Share) แล้วแชร์ให้ {who} เป็น{role} (หรือแชร์ทั้งโฟลเดอร์)"

        def one(key: str, what: str, role: str, edit: bool) -> Access:
            if drive_id(key):
                try:
                    found = [book.http.request(
                        "get", f"{FILES_URL}/{drive_id(key)}",
                        params={"fields": "id,name,capabilities(canEdit)", "supportsAllDrives": True},
                    ).json()]
                except APIError as exc:
                    return Access(key, what, role, False,
                                  f"เปิดไม่ได้ (Google ตอบ {exc.response.status_code}): ไม่พบหรือยังไม่ได้แชร์",
                                  share_hint(role))
            else:
                found = listing.get(key, [])
            if len(found) > 1:
                return Access(key, what, role, False,
                              f"มีสเปรดชีตชื่อนี้ {len(found)} ไฟล์ ({', '.join(f['id'] for f in found)})",
                              "เปลี่ยนชื่อหรือย้ายไฟล์ที่ไม่ใช้ออกให้เหลือไฟล์เดียว")
            if not found:
                return Access(key, what, role, False, "ไม่พบในโฟลเดอร์ หรือยังไม่ได้แชร์ให้บัญชีบริการ",
                              f"ถ้ามีสเปรดชีตนี้แล้ว: {share_hint(role)}; ถ้ายังไม่มี: สร้างสเปรดชีตชื่อ '{key}' "
                              "ในโฟลเดอร์นี้")
            can_edit = found[0].get("capabilities", {}).get("canEdit")
            if edit and can_edit is False:
                return Access(key, what, role, False, "บัญชีบริการแก้ไขไม่ได้ (ยังไม่ได้แชร์เป็นผู้แก้ไข)",
                              share_hint(role))
            return Access(key, what, role, True, "เข้าถึงได้")

        names = _source_names(settings)
        reachable = {key: one(key, what, VIEWER, False) for key, what in names.items()}
        if all(r.ok for r in reachable.values()):
            codes = _units(settings, book, report, (VIEWER, VIEWER))
        else:
            report.rows += reachable.values()
            codes = None
        if codes is None:
            report.rows.append(Access(
                settings.sources.idplan.spreadsheet, "ID Plan ทุกหน่วยงาน", EDITOR, False,
                "ตรวจไม่ได้จนกว่าจะอ่านทะเบียนหน่วยงานได้", "แก้ปัญหาของทะเบียนหน่วยงานด้านบนก่อน แล้วสั่ง init ใหม่",
            ))
        else:
            for code in codes:
                key = settings.sources.idplan.key_for(code)
                report.rows.append(one(key, f"ID Plan หน่วยงาน {code}", EDITOR, True))
        key = settings.output.dashboard
        if drive_id(key) or listing.get(key):
            report.rows.append(one(key, "แดชบอร์ด", EDITOR, True))
        elif folder.get("driveId") and folder.get("capabilities", {}).get("canAddChildren", True):
            report.rows.append(Access(key, "แดชบอร์ด", EDITOR, True,
                                      "ยังไม่มี: devplan จะสร้างให้ในโฟลเดอร์นี้ตอน sync"))
        else:
            report.rows.append(Access(
                key, "แดชบอร์ด", EDITOR, False,
                "ยังไม่มี และบัญชีบริการสร้างไฟล์ในโฟลเดอร์นี้ไม่ได้ (ไม่ใช่ไดรฟ์ที่แชร์ (Shared Drive))",
                f"สร้างสเปรดชีตเปล่าชื่อ '{key}' ในโฟลเดอร์นี้ แล้วแชร์ให้ {who} เป็น{EDITOR}",
            ))
        report.requests = book.http.counts.total
        return report


def _listing(book: Any, files_url: str, mime: str) -> dict[str, list[dict[str, Any]]]:
    """Title -> files of the folder, with the caller's ``canEdit`` on each."""
    params: dict[str, Any] = {
        "q": f"'{book.folder}' in parents and mimeType='{mime}' and trashed=false",
        "fields": "nextPageToken, files(id, name, capabilities(canEdit))",
        "pageSize": 1000, "supportsAllDrives": True, "includeItemsFromAllDrives": True,
    }
    files: dict[str, list[dict[str, Any]]] = {}
    while True:
        page = book.http.request("get", files_url, params=params).json()
        for item in page.get("files", []):
            files.setdefault(item["name"], []).append(item)
        if not page.get("nextPageToken"):
            return files
        params["pageToken"] = page["nextPageToken"]


def format_access(report: AccessReport) -> str:
    """The Thai table of what is reachable and what must be shared."""
    header = ("สเปรดชีต", "คืออะไร", "สิทธิ์ที่ต้องมี" if report.backend == "google" else "ต้องทำได้", "ผล")
    widths = tuple(
        max(_cells(text) for text in [header[i], *(getattr(r, name) for r in report.rows)]) + 2
        for i, name in enumerate(("key", "what", "role"))
    ) + (0,)
    lines = [
        f"ตรวจการเข้าถึงสเปรดชีตใน {report.location}"
        + (f" ด้วยบัญชีบริการ {report.account}" if report.account else ""),
        "",
        "".join(_pad(h, w) for h, w in zip(header, widths)),
    ]
    for row in report.rows:
        mark = "✓" if row.ok else "✗"
        lines.append("".join(_pad(c, w) for c, w in zip((row.key, row.what, row.role, f"{mark} {row.status}"), widths)))
    bad = [r for r in report.rows if not r.ok]
    lines.append("")
    if not bad:
        lines.append(f"เข้าถึงได้ครบทั้ง {len(report.rows)} รายการ"
                     + (f" (คำขอถึง Google {report.requests} ครั้ง)" if report.requests else ""))
        return "\n".join(lines)
    if report.backend == "google":
        lines.append(
            f"ต้องแก้ {len(bad)} รายการ: แชร์ให้ {report.account or 'บัญชีบริการของ devplan (client_email ในไฟล์กุญแจ)'}"
        )
    else:
        lines.append(f"ต้องแก้ {len(bad)} รายการ:")
    for row in bad:
        lines.append(f"  - {row.key} ({row.what}): {row.hint or row.status}")
    return "\n".join(lines)


def _cells(text: str) -> int:
    """Terminal cells ``text`` takes: Thai vowel and tone marks take none (as in ``cli.pad``)."""
    import unicodedata

    return sum(0 if unicodedata.category(ch) in ("Mn", "Me", "Cf") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(1, width - _cells(text)) if width else text
