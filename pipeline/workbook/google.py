"""Google backend: the spreadsheets of one Drive folder, through gspread and google-auth.

Same ``Workbook`` interface as the local backend; what is particular to Google:

- **Names.** A key is a spreadsheet title inside the folder, or a spreadsheet ID
  or URL used as it is. One Drive ``files.list`` (paged) lists the folder.
- **Reads.** One ``values:batchGet`` per spreadsheet for every tab needed, as
  unformatted values with dates as serial numbers (a Thai-locale sheet would
  show Buddhist-era years as text). A spreadsheet whose ``modifiedTime`` has not
  moved since it was last read is not read again: its rows come from the state file.
- **Writes.** One ``spreadsheets.batchUpdate`` per spreadsheet: it adds or resizes
  devplan's own tabs and writes their cells (``stringValue`` is stored as typed
  text, the same as ``valueInputOption=RAW``: ``=x`` never becomes a formula)
  with their look (``layout.FormattedTab``): bold title and header rows, notes,
  frozen rows, column widths and the pass / not-pass conditional-format rules.
  No other tab is ever named in it.
- **Conditional rules.** Google gives a rule no id, so devplan puts its rules
  at the top of its tab's list (index 0, 1, ...) and remembers how many it put
  there in the state file. A rewrite first deletes that many rules from the
  top, in the same request, then adds the new ones: rules never pile up. When
  the remembered sheetId or count no longer fits (the tab was deleted, its
  rules removed by hand, or the state file is new), Google refuses the request
  with 400 and devplan looks the tab up once, this time with its rules, and
  deletes only the rules that look like its own (same condition, text and fill).
- **Own writes.** After the run's writes, one more listing records the
  ``modifiedTime`` that followed them, so devplan's own write is not taken for a
  staff edit on the next night.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import zlib
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, ContextManager, Mapping, Sequence

import requests
from gspread.exceptions import APIError
from gspread.utils import absolute_range_name
from requests import Response

from pipeline.errors import ConfigError, NotFinished, PipelineError, PublishError, SourceError
from pipeline.state import State
from pipeline.thai import duration
from pipeline.workbook import ERROR_CODES, Access, CellError, Need, Place, RequestCounts, Table, WaitHook
from pipeline.workbook.forked import Outcomes, one_by_one
from pipeline.workbook.google_http import (
    DRIVE_BASE, SHEETS_BASE, OutOfTime, PacedClient, Pacing, SignInFailed, Unreachable,
)
from pipeline.workbook.layout import GOOGLE_CELL_LIMIT, AnyTab, CellRange, FormattedTab, TextRule, as_tab, fit_cells

log = logging.getLogger(__name__)

API_BASE_ENV = "DEVPLAN_GOOGLE_API_BASE"
SCOPES = ["https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive"]
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
FILES_URL = f"{DRIVE_BASE}/drive/v3/files"
SHEETS_URL = f"{SHEETS_BASE}/v4/spreadsheets"
_ID = re.compile(r"^[A-Za-z0-9_-]{25,}$")
_URL_ID = re.compile(r"/(?:spreadsheets/d|folders|file/d)/([A-Za-z0-9_-]{10,})")
_EPOCH = datetime(1899, 12, 30)
FOLDER_MIME = "application/vnd.google-apps.folder"
#: where a person finds a folder's ID
FOLDER_URL_HINT = (
    "เปิดโฟลเดอร์ใน Google Drive แล้วคัดลอกรหัสจากแถบที่อยู่: ส่วนท้ายของ "
    "https://drive.google.com/drive/folders/<รหัสโฟลเดอร์> (จะใส่ทั้งลิงก์ใน storage.folder ก็ได้)"
)
#: the key of the developer metadata devplan puts on each tab it makes; its value is devplan's name for the tab
MARK = "devplan.tab"


def drive_id(text: str) -> str | None:
    """The file or folder ID in ``text`` when it is an ID or a Google URL, else None (a title)."""
    text = text.strip()
    found = _URL_ID.search(text)
    if found:
        return found.group(1)
    match = re.search(r"[?&]id=([A-Za-z0-9_-]{10,})", text)
    if match and text.startswith("http"):
        return match.group(1)
    return text if _ID.match(text) else None


#: what devplan needs of a spreadsheet, as ``devplan init``'s access table says it
VIEWER, EDITOR = "ผู้มีสิทธิ์ดู (Viewer)", "ผู้แก้ไข (Editor)"


@dataclass
class DriveFile:
    id: str
    name: str
    modified: str
    #: whether the service account may edit it (None: Drive did not say)
    can_edit: bool | None = None


class GoogleWorkbook:
    """Spreadsheets inside one Drive folder (or given by ID), as devplan's ``Workbook``."""

    def __init__(
        self,
        folder: str,
        state: State,
        *,
        credentials: str | Path | None = None,
        api_base: str | None = None,
        pacing: Pacing | None = None,
        full: bool = False,
        on_wait: WaitHook | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.folder = drive_id(folder) or folder.strip()
        self.location = f"Google Drive โฟลเดอร์ {self.folder}"
        self.state = state
        self.full = full
        self.api_base = api_base if api_base is not None else os.environ.get(API_BASE_ENV) or None
        self.key = authorize(credentials, self.api_base)
        self.account = self.key.email
        self.http = PacedClient(self.key.auth, self.key.session, api_base=self.api_base, pacing=pacing,
                                on_wait=on_wait, clock=clock, sleep=sleep, token_uri=self.key.token_uri)
        self._cached_reads = 0
        self._folder_meta: dict[str, Any] | None = None
        self._files: dict[str, list[DriveFile]] | None = None
        self._by_id: dict[str, DriveFile] = {}
        #: spreadsheets written this run, and the version the run's rows of each stand for (read
        #: from the spreadsheet or from the state file's cache)
        self._written: set[str] = set()
        self._read_versions: dict[str, str] = {}
        #: spreadsheets created by this run: their only tab is the default one
        self._fresh: set[str] = set()
        #: keys whose ID and title this run has noted in the state file
        self._seen: set[str] = set()

    # -- the Workbook interface ------------------------------------------------

    def keys(self) -> list[str]:
        return sorted(self._listing())

    def exists(self, key: str) -> bool:
        if drive_id(key):
            return True  # an ID is checked when it is read
        return bool(self._listing().get(key))

    def reading(self, keys: Sequence[str], tabs: Sequence[str]) -> ContextManager[None]:
        """Each spreadsheet is read when asked: the quota paces reads one by one."""
        return contextlib.nullcontext()

    def tabs(self, key: str) -> list[str]:
        file_id = self._resolve(key)
        meta = self._call(key, file_id, "get", f"{SHEETS_URL}/{file_id}", params={"fields": "sheets.properties.title"})
        return [s["properties"]["title"] for s in meta.json().get("sheets", [])]

    def version(self, key: str) -> str | None:
        """The spreadsheet's ``modifiedTime``: it moves on every edit, by staff or by devplan.

        None for a spreadsheet the folder listing does not show (a key given by ID elsewhere).
        """
        listing = self._listing()
        file_id = drive_id(key)
        if file_id:
            found = self._by_id.get(file_id)
        else:
            files = listing.get(key, [])
            found = files[0] if len(files) == 1 else None
        return found.modified if found else None

    def read(self, key: str, tabs: Sequence[str]) -> dict[str, Table]:
        file_id = self._resolve(key)
        version = self.version(key)
        if version and not self.full:
            cached = self.state.cached_tabs(file_id, version, list(tabs))
            if cached is not None:
                log.debug("%s (%s): unchanged since %s, rows from the state file", key, file_id, version)
                self._cached_reads += 1
                # The rows stand for this version, as if read now: devplan's own write keeps them (finish).
                self._read_versions[file_id] = version
                return cached
        params = {
            "ranges": [absolute_range_name(tab) for tab in tabs],
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "SERIAL_NUMBER",
            "majorDimension": "ROWS",
        }
        answer = self._call(key, file_id, "get", f"{SHEETS_URL}/{file_id}/values:batchGet", params=params, tabs=tabs)
        ranges = answer.json().get("valueRanges", [])
        result = {tab: _trim(found.get("values", [])) for tab, found in zip(tabs, ranges)}
        if version:
            self.state.store_tabs(file_id, version, result)
            self._read_versions[file_id] = version
        return result

    def write(self, key: str, tabs: Mapping[str, AnyTab], *, own: bool = False) -> None:
        tabs = {name: fit_cells(tab, GOOGLE_CELL_LIMIT) for name, tab in tabs.items()}
        file_id = self._resolve_or_create(key)
        looks = {tab: as_tab(rows) for tab, rows in tabs.items()}
        try:
            self._update(file_id, looks, None, own)
        except _StaleTab:
            # devplan's tab is not as the state file says (deleted by hand, its rules removed, a new
            # state file), or a tab of its name is there: look the tabs up once and write again.
            self._update(file_id, looks, self._sheet_meta(file_id), own)
        self._written.add(file_id)

    def write_many(
        self, writes: Sequence[tuple[str, Mapping[str, AnyTab]]], *, own: bool = False
    ) -> Outcomes:
        """One spreadsheet after another: the requests are what takes the time, paced by the quota."""
        return one_by_one(lambda write: self.write(*write, own=own), writes)

    def own_tabs(self, key: str) -> list[str]:
        """The tabs of spreadsheet ``key`` that carry devplan's mark, in order (one read; none if it is missing)."""
        if not self.exists(key):
            return []
        file_id = self._resolve(key)
        answer = self._call(key, file_id, "get", f"{SHEETS_URL}/{file_id}", params={"fields": _SHEET_FIELDS})
        return [tab.title for tab in _sheets_of(answer.json()).values() if tab.mark is not None]

    def finish(self) -> None:
        """After the run's writes, list the folder once more to learn their ``modifiedTime``.

        Rows of a spreadsheet read (from itself or the state file) and then
        written this run are kept under the new time, since devplan's write
        changed only its own tabs: the next night does not read it again.
        A staff edit between devplan's read and its write in the same run would
        be taken for devplan's own; it is read on the next edit or ``--full``.
        """
        if not self._written:
            return
        self._files = None
        self._listing()
        for file_id in self._written:
            now, read_at = self._by_id.get(file_id), self._read_versions.get(file_id)
            if now is not None and read_at:
                self.state.retag_source(file_id, read_at, now.modified)
        self._written.clear()

    def address(self, key: str) -> str:
        """The spreadsheet's link, or that a write would create it."""
        if not self.exists(key):
            return f"ยังไม่มีใน {self.location}: จะสร้างสเปรดชีตใหม่ชื่อ '{key}'"
        try:
            return f"https://docs.google.com/spreadsheets/d/{self._resolve(key)}"
        except PipelineError:
            return str(self.location)

    def pace(self, kind: str) -> float:
        """How long the next Sheets read or write would wait for the per-minute quota, kept on this side."""
        return self.http.windows[kind].delay()

    def requests(self) -> RequestCounts:
        return replace(self.http.counts, cached_reads=self._cached_reads)

    # -- access (devplan init) -------------------------------------------------

    def check_place(self) -> Place:
        """The folder: one Drive ``files.get`` (kept: whether devplan may create files in it)."""
        problem = None
        try:
            folder = self._folder()
        except APIError as exc:
            problem = Access(
                self.folder, "โฟลเดอร์ Google Drive", EDITOR, False,
                f"เปิดโฟลเดอร์ไม่ได้ (Google ตอบ {exc.response.status_code}): รหัสโฟลเดอร์อาจผิด "
                f"หรือยังไม่ได้แชร์ให้ {self._who()}",
                f"{FOLDER_URL_HINT} แล้วแชร์โฟลเดอร์นั้นให้ {self._who()} เป็น{EDITOR}",
            )
        else:
            if folder.get("mimeType", FOLDER_MIME) != FOLDER_MIME:
                problem = Access(self.folder, "โฟลเดอร์ Google Drive", EDITOR, False,
                                 f"รหัสนี้เป็นไฟล์ '{folder.get('name', '')}' ไม่ใช่โฟลเดอร์", FOLDER_URL_HINT)
        return Place(problem, role_header="สิทธิ์ที่ต้องมี", read_role=VIEWER, write_role=EDITOR,
                     share_with=self._who())

    def check_access(self, need: Need) -> Access:
        """From the folder listing (the account's ``canEdit`` on each file); a key given by ID, one ``files.get``."""
        key, what = need.key, need.what
        role = EDITOR if need.write else VIEWER
        share = (f"เปิดสเปรดชีตนี้ กด แชร์ (Share) แล้วแชร์ให้ {self._who()} เป็น{role} "
                 "(หรือแชร์ทั้งโฟลเดอร์)")
        file_id = drive_id(key)
        if need.create and not file_id and not self._listing().get(key):
            refused = self._cannot_create(key)
            if refused is None:
                return Access(key, what, role, True, "ยังไม่มี: devplan จะสร้างให้ในโฟลเดอร์นี้ตอน sync")
            return Access(key, what, role, False, *refused)
        if file_id:
            try:
                item = self._drive_get(file_id, "id,name,capabilities(canEdit)", f"ตรวจสเปรดชีต {key}")
            except APIError as exc:
                return Access(key, what, role, False,
                              f"เปิดไม่ได้ (Google ตอบ {exc.response.status_code}): ไม่พบหรือยังไม่ได้แชร์", share)
            found = [_drive_file(item)]
        else:
            found = self._listing().get(key, [])
        if len(found) > 1:
            return Access(key, what, role, False, f"มีสเปรดชีตชื่อนี้ {len(found)} ไฟล์ ({', '.join(f.id for f in found)})",
                          "เปลี่ยนชื่อหรือย้ายไฟล์ที่ไม่ใช้ออกให้เหลือไฟล์เดียว")
        if not found:
            return Access(key, what, role, False, "ไม่พบในโฟลเดอร์ หรือยังไม่ได้แชร์ให้บัญชีบริการ",
                          f"ถ้ามีสเปรดชีตนี้แล้ว: {share}; ถ้ายังไม่มี: สร้างสเปรดชีตชื่อ '{key}' ในโฟลเดอร์นี้"
                          + (f" หรือ{need.if_missing}" if need.if_missing else ""))
        if need.write and found[0].can_edit is False:
            return Access(key, what, role, False, "บัญชีบริการแก้ไขไม่ได้ (ยังไม่ได้แชร์เป็นผู้แก้ไข)", share)
        return Access(key, what, role, True, "เข้าถึงได้")

    def _cannot_create(self, key: str, *, writing: bool = False) -> tuple[str, str] | None:
        """Why devplan cannot create spreadsheet ``key`` in the folder (what, what to do), or None if it can.

        The one rule ``devplan init``, ``check`` and ``sync`` all follow: a service account has no Drive
        storage of its own, so it creates files only in a folder of a shared drive it may add files to.
        ``writing``: asked on the way to a write (no answer is then a ``PublishError``).
        """
        try:
            folder = self._folder(writing=writing)
        except APIError as exc:
            return (f"ยังไม่มี และเปิดโฟลเดอร์ {self.folder} ไม่ได้ (Google ตอบ {exc.response.status_code})",
                    f"ตรวจรหัสโฟลเดอร์ (storage.folder) แล้วแชร์โฟลเดอร์ให้ {self._who()} เป็น{EDITOR}")
        if folder.get("driveId") and folder.get("capabilities", {}).get("canAddChildren", True):
            return None
        why = ("บัญชีบริการเพิ่มไฟล์ในโฟลเดอร์นี้ไม่ได้ (ยังไม่ได้แชร์เป็นผู้แก้ไข)" if folder.get("driveId") else
               "บัญชีบริการสร้างไฟล์ในโฟลเดอร์นี้ไม่ได้ (ไม่ใช่ไดรฟ์ที่แชร์ (Shared Drive) และบัญชีบริการไม่มีพื้นที่ Drive ของตัวเอง)")
        return f"ยังไม่มี และ{why}", f"สร้างสเปรดชีตเปล่าชื่อ '{key}' ในโฟลเดอร์นี้ แล้วแชร์ให้ {self._who()} เป็น{EDITOR}"

    def _folder(self, *, writing: bool = False) -> dict[str, Any]:
        """The folder's Drive metadata: its shared drive, and whether devplan may add files to it."""
        if self._folder_meta is None:
            self._folder_meta = self._drive_get(
                self.folder, "id,name,mimeType,driveId,capabilities(canAddChildren)",
                f"เปิดโฟลเดอร์ Google Drive {self.folder}", writing=writing,
            )
        return self._folder_meta

    def _drive_get(self, file_id: str, fields: str, doing: str, *, writing: bool = False) -> dict[str, Any]:
        """One Drive ``files.get`` (shared drives included); ``APIError`` when Google refuses."""
        answer = self._send("get", f"{FILES_URL}/{file_id}", doing=doing, writing=writing,
                            params={"fields": fields, "supportsAllDrives": "true"})
        return dict(answer.json())

    def _who(self) -> str:
        return self.account or "บัญชีบริการของ devplan (client_email ในไฟล์กุญแจ)"

    # -- names -----------------------------------------------------------------

    def _listing(self) -> dict[str, list[DriveFile]]:
        """Title -> spreadsheets of the folder: one paged Drive ``files.list``."""
        if self._files is not None:
            return self._files
        params: dict[str, Any] = {
            "q": f"'{self.folder}' in parents and mimeType='{SPREADSHEET_MIME}' and trashed=false",
            "fields": "nextPageToken, files(id, name, modifiedTime, capabilities(canEdit))",
            "pageSize": 1000,
            "supportsAllDrives": "true",
            "includeItemsFromAllDrives": "true",
        }
        files: dict[str, list[DriveFile]] = {}
        while True:
            try:
                page = self._send("get", FILES_URL, doing=f"อ่านรายชื่อไฟล์ในโฟลเดอร์ Google Drive {self.folder}",
                                  params=params).json()
            except APIError as exc:
                raise self._folder_error(exc) from exc
            for item in page.get("files", []):
                found = _drive_file(item)
                files.setdefault(found.name, []).append(found)
                self._by_id[found.id] = found
            token = page.get("nextPageToken")
            if not token:
                break
            params["pageToken"] = token
        self._files = files
        return files

    def _resolve(self, key: str) -> str:
        file_id = drive_id(key)
        if file_id:
            return file_id
        found = self._listing().get(key, [])
        if len(found) > 1:
            ids = ", ".join(f.id for f in found)
            raise SourceError(
                f"มีสเปรดชีตชื่อ '{key}' มากกว่าหนึ่งไฟล์ในโฟลเดอร์ {self.folder} (รหัส {ids})",
                "เปลี่ยนชื่อหรือย้ายไฟล์ที่ไม่ใช้ออกจากโฟลเดอร์ให้เหลือไฟล์เดียว "
                "หรือระบุรหัสสเปรดชีต (ID) แทนชื่อในไฟล์ตั้งค่า",
            )
        if not found:
            raise self._missing(key)
        if key not in self._seen:  # remembered, so a later rename or move is told as what it is
            self._seen.add(key)
            self.state.record_seen(key, found[0].id, found[0].name, date.today())
        return found[0].id

    def _missing(self, key: str) -> SourceError:
        """Spreadsheet ``key`` is not in the folder: what happened to it, if devplan saw it before;
        whether the folder ID itself looks wrong, if the folder shows nothing at all."""
        where = f"ไม่พบสเปรดชีตชื่อ '{key}' ในโฟลเดอร์ Google Drive {self.folder}"
        lost = self.lost(key)
        if lost is not None:
            return SourceError(f"{where}: {lost[0]}", lost[1])
        if not self._listing():
            folder = self._folder_problem()
            if folder is not None:
                return SourceError(f"{where}: {folder[0]}", folder[1])
        return SourceError(
            where,
            "ตรวจชื่อสเปรดชีตให้ตรงกับไฟล์ตั้งค่าทุกตัวอักษร ตรวจว่าอยู่ในโฟลเดอร์นี้ "
            f"และแชร์ให้บัญชีบริการ {self.account or '(บัญชีบริการของ devplan)'} แล้ว",
        )

    def lost(self, key: str) -> tuple[str, str] | None:
        """What became of spreadsheet ``key``, seen in the folder before and not found now: (what, what to do).

        Still in the folder under another title: told from the listing. Otherwise one ``files.get``
        by the ID it was seen under: renamed, moved out, in the trash, or no longer visible (deleted or
        unshared). None for a key never seen (or given by ID).
        """
        seen = self.state.last_seen(key)
        if seen is None or drive_id(key):
            return None
        file_id, title, when = seen
        was = f"เคยพบในโฟลเดอร์นี้เมื่อวันที่ {when:%d/%m/%Y} ชื่อ '{title}' รหัส {file_id}"
        renamed = self._by_id.get(file_id)
        if renamed is not None:
            return (f"{was} ตอนนี้ถูกเปลี่ยนชื่อเป็น '{renamed.name}'",
                    f"เปลี่ยนชื่อสเปรดชีตนี้กลับเป็น '{key}' (ต้องตรงกับไฟล์ตั้งค่าทุกตัวอักษร) แล้วสั่งรันใหม่")
        try:
            item = self._drive_get(file_id, "id,name,parents,trashed", f"ตรวจสเปรดชีต '{key}' ที่เคยพบ")
        except APIError as exc:
            return (f"{was} ตอนนี้บัญชีบริการมองไม่เห็นแล้ว: ถูกลบ หรือเลิกแชร์ (Google ตอบ {exc.response.status_code})",
                    "ถ้าถูกลบ: เจ้าของไฟล์กู้คืนได้จากถังขยะของ Google Drive (ภายใน 30 วัน); "
                    f"ถ้าเลิกแชร์: แชร์ให้ {self._who()} เป็น{EDITOR} อีกครั้ง; "
                    f"ถ้าตั้งใจเลิกใช้ไฟล์นั้น: สร้างสเปรดชีตชื่อ '{key}' ใหม่ในโฟลเดอร์นี้")
        changes, fixes = [], []
        if item.get("trashed"):
            changes.append("ถูกย้ายไปถังขยะ")
            fixes.append("กู้คืนจากถังขยะของ Google Drive")
        if item.get("name") != key:
            changes.append(f"ถูกเปลี่ยนชื่อเป็น '{item.get('name')}'")
            fixes.append(f"เปลี่ยนชื่อกลับเป็น '{key}'")
        if self.folder not in item.get("parents", [self.folder]):
            changes.append("ถูกย้ายออกจากโฟลเดอร์นี้")
            fixes.append(f"ย้ายกลับเข้าโฟลเดอร์ {self.folder}")
        if not changes:
            changes.append("ยังอยู่ แต่ไม่อยู่ในรายชื่อสเปรดชีตของโฟลเดอร์ (อาจไม่ใช่ Google Sheets แล้ว)")
            fixes.append("เปิดไฟล์แล้วบันทึกเป็น Google Sheets (ไฟล์ → บันทึกเป็น Google ชีต) ตั้งชื่อเดิม")
        return f"{was} ตอนนี้" + " และ".join(changes), "; ".join(fixes) + " แล้วสั่งรันใหม่"

    def _folder_problem(self) -> tuple[str, str] | None:
        """The folder shows no spreadsheet: whether its ID looks wrong (what, what to do), else None."""
        try:
            folder = self._folder()
        except APIError as exc:
            if exc.response.status_code not in (403, 404):
                return None
            return (f"รหัสโฟลเดอร์ {self.folder} (storage.folder) อาจผิด: Google ไม่พบโฟลเดอร์นี้ "
                    f"หรือยังไม่ได้แชร์ให้ {self._who()} (Google ตอบ {exc.response.status_code})",
                    f"{FOLDER_URL_HINT} แล้วแชร์โฟลเดอร์นั้นให้ {self._who()} เป็น{EDITOR}")
        name = folder.get("name", "")
        if folder.get("mimeType", FOLDER_MIME) != FOLDER_MIME:
            return (f"รหัส {self.folder} ใน storage.folder เป็นไฟล์ '{name}' ไม่ใช่โฟลเดอร์", FOLDER_URL_HINT)
        return (f"โฟลเดอร์ '{name}' ไม่มีสเปรดชีตที่ {self._who()} เห็นเลย: รหัสโฟลเดอร์ (storage.folder) "
                "อาจเป็นของโฟลเดอร์อื่น หรือยังไม่ได้ย้ายสเปรดชีตเข้ามา",
                f"ตรวจว่าเป็นโฟลเดอร์ที่มีทะเบียน แบบสำรวจ และ ID Plan: {FOLDER_URL_HINT}")

    def _resolve_or_create(self, key: str) -> str:
        if drive_id(key) or self._listing().get(key):
            return self._resolve(key)
        refused = self._cannot_create(key, writing=True)
        if refused is not None:  # as init and check said: not tried, so not a surprise
            raise PublishError(f"สร้างสเปรดชีต '{key}' ในโฟลเดอร์ {self.folder} ไม่ได้: {refused[0]}", refused[1])
        body = {"name": key, "mimeType": SPREADSHEET_MIME, "parents": [self.folder]}

        def made_meanwhile() -> dict[str, Any]:
            # The answer may have been lost after Google made the file: a second one must not follow.
            found = self._find(key)
            if found:
                raise _Made(found[0])
            return body

        try:
            created = self._send("post", FILES_URL, doing=f"สร้างสเปรดชีต '{key}'", writing=True,
                                 params={"supportsAllDrives": "true"}, json=body, resend=made_meanwhile).json()
            made = DriveFile(created["id"], key, created.get("modifiedTime", ""))
        except _Made as already:
            made = already.file
        except APIError as exc:
            raise PublishError(
                f"สร้างสเปรดชีต '{key}' ในโฟลเดอร์ {self.folder} ไม่ได้ ({_reason(exc)})",
                f"สร้างสเปรดชีตเปล่าชื่อ '{key}' ในโฟลเดอร์นี้เอง แล้วแชร์ให้ "
                f"{self.account or 'บัญชีบริการของ devplan'} เป็นผู้แก้ไข (Editor) จากนั้นสั่งรันใหม่ "
                "(บัญชีบริการไม่มีพื้นที่ Drive ของตัวเอง จึงสร้างไฟล์ได้เฉพาะในไดรฟ์ที่แชร์ (Shared Drive))",
            ) from exc
        self._listing().setdefault(key, []).append(made)
        self._by_id[made.id] = made
        self._fresh.add(made.id)
        return made.id

    def _find(self, title: str) -> list[DriveFile]:
        """The folder's spreadsheets titled ``title``, asked of Drive now (one ``files.list``)."""
        quoted = title.replace("\\", "\\\\").replace("'", "\\'")
        params: dict[str, Any] = {
            "q": f"'{self.folder}' in parents and name = '{quoted}' and mimeType='{SPREADSHEET_MIME}' "
                 "and trashed=false",
            "fields": "files(id, name, modifiedTime, capabilities(canEdit))",
            "supportsAllDrives": "true",
            "includeItemsFromAllDrives": "true",
        }
        page = self._send("get", FILES_URL, doing=f"ค้นสเปรดชีต '{title}' ในโฟลเดอร์", writing=True, params=params).json()
        return [_drive_file(item) for item in page.get("files", [])]

    # -- writing ---------------------------------------------------------------

    def _update(
        self, file_id: str, looks: Mapping[str, FormattedTab], found: dict[int, _Tab] | None, own: bool
    ) -> None:
        """One batchUpdate writing ``looks``; ``_StaleTab`` if, built from the state file, Google refuses it.

        ``found`` is what a look at the spreadsheet found (None: go by the state file,
        no read spent). If Google's answer is lost (5xx, timeout), the request is built
        again from a fresh look before it is resent: a second delivery finds the work done.
        """
        plan = self._plan(file_id, looks, found, own)

        def again() -> dict[str, Any]:
            nonlocal plan
            plan = self._plan(file_id, looks, self._sheet_meta(file_id), own)
            return {"requests": plan.requests}

        url = f"{SHEETS_URL}/{file_id}:batchUpdate"
        try:
            self._send("post", url, doing=f"เขียนแท็บสรุปผลลงสเปรดชีต {self._title(file_id)}", writing=True,
                       json={"requests": plan.requests}, resend=again)
        except APIError as exc:
            if found is None and exc.response.status_code == 400:
                raise _StaleTab() from exc
            raise self._write_error(file_id, exc) from exc
        self._fresh.discard(file_id)
        for tab, sheet_id in plan.ids.items() if own else ():
            self.state.record_own_tab(file_id, tab, sheet_id, len(looks[tab].rules))

    def _plan(
        self, file_id: str, looks: Mapping[str, FormattedTab], found: dict[int, _Tab] | None, own: bool
    ) -> _Plan:
        """The requests that make ``looks`` devplan's tabs of the spreadsheet, and the sheetId of each.

        Without ``found``, devplan's tabs and the rules at their top are those the state
        file records, and a tab it does not record is added under a stable id of devplan's
        choosing (``addSheet`` never replaces a tab: a tab of that name makes Google refuse).
        With ``found``, devplan's tabs are those that carry its mark (or, from before marks,
        the id the state file recorded); a tab of devplan's name that is not devplan's is
        the spreadsheet's problem (``PublishError``), and nothing is written. Tabs that
        are not ``own`` are found by their names and get no mark.
        """
        fresh = file_id in self._fresh
        if found is None:
            recorded = {t: self.state.own_tab(file_id, t) if own else None for t in looks}
            mine = {t: r[0] for t, r in recorded.items() if r is not None}
            old_rules = {t: list(range(r[1])) for t, r in recorded.items() if r is not None}
            marked = set(mine)
            taken = set(mine.values()) | ({0} if fresh else set())
        else:
            mine = self._mine(file_id, looks, found) if own else {
                t: s.sheet_id for t in looks for s in found.values() if s.title.casefold() == t.casefold()}
            old_rules = {t: _own_rule_indexes(found[i].rules, looks[t].rules) for t, i in mine.items()}
            marked = {t for t, i in mine.items() if found[i].mark == t or not own}
            taken = set(found)
        requests_: list[dict[str, Any]] = []
        ids: dict[str, int] = {}
        for tab, look in looks.items():
            sheet_id = mine.get(tab)
            if sheet_id is None:
                sheet_id = _new_sheet_id(tab, taken)
                taken.add(sheet_id)
                requests_.append({"addSheet": {"properties": {"sheetId": sheet_id, "title": tab}}})
            if own and tab not in marked:
                requests_.append(_mark(sheet_id, tab))
            ids[tab] = sheet_id
            requests_ += _tab_requests(sheet_id, tab, look, old_rules.get(tab, []))
        if fresh and (found is None or 0 in found):
            # A new spreadsheet comes with one empty tab, always id 0: devplan's tabs replace it.
            requests_.append({"deleteSheet": {"sheetId": 0}})
        return _Plan(requests_, ids)

    def _mine(self, file_id: str, looks: Mapping[str, FormattedTab], found: dict[int, _Tab]) -> dict[str, int]:
        """Tab name -> sheetId of devplan's own tabs among ``found``; a staff tab of devplan's name stops it."""
        mine: dict[str, int] = {}
        for tab in looks:
            marked = sorted((t for t in found.values() if t.mark == tab), key=lambda t: (t.title != tab, t.index))
            legacy = self.state.legacy_sheet_id(file_id, tab)
            if marked:
                mine[tab] = marked[0].sheet_id
            elif legacy in found and found[legacy].mark is None:
                mine[tab] = legacy  # recorded by devplan before its tabs carried a mark: it gets one now
        for tab in looks:
            staff = [t for t in found.values() if t.title.casefold() == tab.casefold() and t.sheet_id not in mine.values()]
            if staff:
                raise self._not_mine(file_id, staff[0].title)
        return mine

    def _sheet_meta(self, file_id: str) -> dict[int, _Tab]:
        """Every tab of the spreadsheet: id, title, conditional rules in order, devplan's mark (one read)."""
        url = f"{SHEETS_URL}/{file_id}"
        try:
            meta = self._send("get", url, doing=f"อ่านรายชื่อแท็บของสเปรดชีต {self._title(file_id)}", writing=True,
                              params={"fields": _SHEET_FIELDS}).json()
        except APIError as exc:
            raise self._write_error(file_id, exc) from exc
        return _sheets_of(meta)

    # -- errors ----------------------------------------------------------------

    def _call(
        self, key: str, file_id: str, method: str, url: str, *, params: dict[str, Any], tabs: Sequence[str] = ()
    ) -> Response:
        try:
            return self._send(method, url, doing=f"อ่านสเปรดชีต {self._title(file_id)}", params=params)
        except APIError as exc:
            raise self._read_error(key, file_id, exc, tabs) from exc

    def _send(self, method: str, url: str, *, doing: str, writing: bool = False, **kwargs: Any) -> Response:
        """One request through the paced client. What no caller can help becomes a PipelineError here:
        no answer (3, or 4 while writing), a key Google refuses (2), no time left in the run (the unit's
        problem). ``doing`` says in Thai what the request was for; ``APIError`` is left to the caller."""
        try:
            return self.http.request(method, url, **kwargs)
        except Unreachable as exc:
            raise self._unreachable(exc, doing, writing) from exc
        except SignInFailed as exc:
            raise self._refused_key(exc) from exc
        except OutOfTime as exc:
            raise self._out_of_time(exc, doing, writing) from exc

    def _unreachable(self, exc: Unreachable, doing: str, writing: bool) -> PipelineError:
        """No answer: name the address tried, and the emulator setting that sent devplan there."""
        check_net = (f"ตรวจการเชื่อมต่ออินเทอร์เน็ตของเครื่องนี้ ว่าออกไปที่ {exc.address} ได้ "
                     "(รวมถึง proxy และ firewall) แล้วสั่งรันใหม่")
        if exc.sign_in:
            return SourceError(
                f"{doing} ไม่ได้: ติดต่อบริการลงชื่อเข้าใช้ของ Google ที่ {exc.address} ไม่ได้ ({exc.why}) "
                f"(token_uri ในไฟล์กุญแจ {self.key.path})",
                check_net,
            )
        kind = PublishError if writing else SourceError
        if self.api_base:
            return kind(
                f"{doing} ไม่ได้: ติดต่อ {exc.address} ไม่ได้ ({exc.why}) ซึ่งเป็นที่อยู่ที่ตัวแปร "
                f"{API_BASE_ENV} ({self.api_base}) ชี้ไปแทน Google",
                f"ตรวจว่าโปรแกรมจำลองที่ {self.api_base} ทำงานอยู่ หรือลบตัวแปร {API_BASE_ENV} "
                "เพื่อใช้ Google จริง แล้วสั่งรันใหม่",
            )
        return kind(f"{doing} ไม่ได้: ติดต่อ Google ที่ {exc.address} ไม่ได้ ({exc.why})", check_net)

    def _refused_key(self, exc: SignInFailed) -> ConfigError:
        """Google's token endpoint refused the key: name the key file and the account, and what to do."""
        key = self.key
        now = datetime.now(timezone.utc).strftime("%d/%m/%Y %H:%M UTC")
        clock = (f"ตั้งนาฬิกาของเครื่องนี้ให้ตรง (ตอนนี้เครื่องบอกเวลา {now}) เช่น เปิดการตั้งเวลาอัตโนมัติด้วย "
                 "sudo timedatectl set-ntp true แล้วสั่งรันใหม่")
        new_key = (f"สร้างกุญแจใหม่: Google Cloud Console → IAM & Admin → Service accounts → {key.email} → Keys → "
                   f"Add key → Create new key (JSON) แล้วชี้ {key.source} ไปที่ไฟล์ใหม่ และลบไฟล์กุญแจเก่าทิ้ง")
        text = exc.description.lower()
        if "short-lived" in text or "timeframe" in text or " iat" in text:
            hint = f"{clock}; ถ้านาฬิกาตรงอยู่แล้ว: {new_key}"
        elif "account not found" in text:
            hint = (f"บัญชีบริการ {key.email} ถูกลบหรือปิดใช้งาน: กู้คืนใน Google Cloud Console (ภายใน 30 วัน) "
                    "หรือสร้างบัญชีบริการและกุญแจใหม่ (ดู Google setup ใน README) แล้วแชร์โฟลเดอร์ให้บัญชีใหม่เป็นผู้แก้ไข")
        else:
            hint = f"กุญแจนี้อาจถูกลบหรือยกเลิกแล้ว: {new_key}; ถ้ากุญแจยังอยู่: {clock}"
        return ConfigError(
            f"Google ไม่ยอมรับกุญแจของบัญชีบริการ {key.email} (ไฟล์ {key.path} จาก {key.source}): "
            f"{exc.error}: {exc.description}",
            hint,
        )

    def _out_of_time(self, exc: OutOfTime, doing: str, writing: bool) -> PipelineError:
        """The run stops short of this: its deadline passed, or Google asked to wait past it."""
        kind = _WriteNotFinished if writing else _ReadNotFinished
        if exc.asked is not None:
            until = exc.until
            return kind(
                f"{doing} ไม่ได้: Google ขอให้รอ {duration(exc.asked)} (Retry-After) "
                "ซึ่งเกินเวลาที่เหลือของรอบนี้",
                f"สั่งรันใหม่หลังเวลา {until:%H:%M} น. ของวันที่ {until:%d/%m/%Y}: "
                "รอบถัดไปอ่านเฉพาะสเปรดชีตที่ยังไม่ได้อ่านหรือมีการแก้ไข และเขียนเฉพาะที่ยังไม่ได้เขียน",
            )
        minutes = f"{(exc.deadline or 0) / 60:g}"
        return kind(
            f"{doing} ไม่ได้: หมดเวลาของรอบนี้ (รอบหนึ่งใช้เวลาได้ไม่เกิน {minutes} นาที: "
            "[storage.quota] deadline_minutes)",
            "สั่งรันใหม่: รอบถัดไปอ่านเฉพาะสเปรดชีตที่ยังไม่ได้อ่านหรือมีการแก้ไข และเขียนเฉพาะที่ยังไม่ได้เขียน; "
            "ถ้าหมดเวลาบ่อย ดูการรอและการลองใหม่ใน devplan status แล้วจึงเพิ่ม deadline_minutes",
        )

    def _title(self, file_id: str) -> str:
        found = self._by_id.get(file_id)
        return f"'{found.name}' (รหัส {file_id})" if found else f"รหัส {file_id}"

    def _share_hint(self, role: str) -> str:
        who = self.account or "บัญชีบริการ (client_email ในไฟล์กุญแจ)"
        return f"เปิดสเปรดชีตนี้ใน Google Sheets กดปุ่ม แชร์ (Share) แล้วแชร์ให้ {who} เป็น{role}"

    def _read_error(self, key: str, file_id: str, exc: APIError, tabs: Sequence[str]) -> SourceError:
        status = exc.response.status_code
        name = self._title(file_id)
        if status == 403:
            return SourceError(
                f"บัญชีบริการ {self.account or ''} ไม่มีสิทธิ์อ่านสเปรดชีต {name}".replace("  ", " "),
                self._share_hint("ผู้แก้ไข (Editor) สำหรับ ID Plan และแดชบอร์ด หรือผู้มีสิทธิ์ดู (Viewer) สำหรับทะเบียนและแบบสำรวจ"),
            )
        if status == 404:
            return SourceError(
                f"ไม่พบสเปรดชีต {name} (อาจถูกลบ ย้าย หรือรหัสผิด)",
                f"ตรวจรหัสหรือชื่อสเปรดชีต '{key}' ในไฟล์ตั้งค่า และตรวจว่ายังอยู่ในโฟลเดอร์ {self.folder}",
            )
        if status == 400 and "range" in _message(exc).lower() and tabs:
            return SourceError(
                f"สเปรดชีต {name}: ไม่พบแท็บใดแท็บหนึ่งต่อไปนี้: {', '.join(tabs)}",
                "แก้ชื่อแท็บในสเปรดชีตนี้ให้ตรงกับไฟล์ตั้งค่าทุกตัวอักษร (รวมช่องว่าง) "
                "(ถ้าเป็นทะเบียนหรือแบบสำรวจ จะแก้ชื่อแท็บในไฟล์ตั้งค่าแทนก็ได้ แต่แท็บ ID Plan "
                "ทุกโรงเรียนใช้ชื่อเดียวกัน จึงควรแก้ที่สเปรดชีต)",
            )
        return SourceError(
            f"อ่านสเปรดชีต {name} ไม่ได้: Google ตอบ {status} ({_reason(exc)})",
            "ถ้าเป็นปัญหาชั่วคราวของ Google (429, 5xx) ให้สั่งรันใหม่ภายหลัง "
            "ถ้ายังเป็นอยู่ให้ตรวจสเปรดชีตนี้ใน Google Sheets",
        )

    def _write_error(self, file_id: str, exc: APIError) -> PublishError:
        status = exc.response.status_code
        name = self._title(file_id)
        if status == 403:
            return PublishError(
                f"บัญชีบริการ {self.account or ''} ไม่มีสิทธิ์แก้ไขสเปรดชีต {name}".replace("  ", " "),
                self._share_hint("ผู้แก้ไข (Editor)"),
            )
        return PublishError(
            f"เขียนแท็บสรุปผลลงสเปรดชีต {name} ไม่ได้: Google ตอบ {status} ({_reason(exc)})",
            "สั่งรันใหม่ภายหลัง devplan จะเขียนเฉพาะแท็บที่ยังไม่ได้เขียน",
        )

    def _not_mine(self, file_id: str, tab: str) -> PublishError:
        """A tab that bears devplan's name but was not made by devplan: left exactly as it is."""
        name = self._title(file_id)
        return PublishError(
            f"สเปรดชีต {name} มีแท็บชื่อ '{tab}' อยู่แล้ว แต่ไม่ใช่แท็บที่ devplan สร้าง "
            "devplan จึงไม่เขียนทับและไม่แตะแท็บนั้น",
            f"เปิดสเปรดชีตนี้แล้วเปลี่ยนชื่อแท็บ '{tab}' เป็นชื่ออื่น (เช่น '{tab} เดิม') แล้วสั่งรันใหม่ "
            "devplan จะสร้างแท็บของตัวเองขึ้นใหม่ข้างกัน ข้อมูลในแท็บที่เปลี่ยนชื่อยังอยู่ครบ "
            "(ถ้าแท็บนั้นคือแท็บที่ devplan เคยเขียนไว้ก่อนจะติดเครื่องหมายของตัวเองในแท็บ "
            "เมื่อเห็นแท็บใหม่แล้วจะลบแท็บเดิมทิ้งก็ได้)",
        )

    def _folder_error(self, exc: APIError) -> SourceError:
        status = exc.response.status_code
        if status in (403, 404):
            return SourceError(
                f"เปิดโฟลเดอร์ Google Drive {self.folder} ไม่ได้ (Google ตอบ {status}: {_reason(exc)})",
                f"ตรวจรหัสโฟลเดอร์ (storage.folder) และแชร์โฟลเดอร์ให้ {self.account or 'บัญชีบริการของ devplan'}",
            )
        return SourceError(
            f"อ่านรายชื่อไฟล์ในโฟลเดอร์ {self.folder} ไม่ได้: Google ตอบ {status} ({_reason(exc)})",
            "สั่งรันใหม่ภายหลัง ถ้ายังเป็นอยู่ให้ตรวจสถานะบริการของ Google",
        )


def _drive_file(item: dict[str, Any]) -> DriveFile:
    """A Drive ``File`` resource as devplan keeps it."""
    return DriveFile(item["id"], item["name"], item.get("modifiedTime", ""), item.get("capabilities", {}).get("canEdit"))


class _StaleTab(Exception):
    """Google refused a write built from the state file: devplan's tabs are not as it remembers."""


class _Made(Exception):
    """The spreadsheet a lost answer was about is there: it was made."""

    def __init__(self, file: DriveFile) -> None:
        super().__init__(file.id)
        self.file = file


@dataclass
class _Tab:
    """One tab of a spreadsheet, as a look at it finds it."""

    sheet_id: int
    title: str
    index: int
    rules: list[dict[str, Any]]
    #: devplan's name for the tab, when it carries devplan's mark (else None: not devplan's)
    mark: str | None


@dataclass
class _Plan:
    """One write: the batchUpdate's requests, and the sheetId of each of devplan's tabs in it."""

    requests: list[dict[str, Any]]
    ids: dict[str, int]


#: What a look at a spreadsheet's tabs asks for: enough to know devplan's own and its rules.
_SHEET_FIELDS = "sheets(properties(sheetId,title,index),conditionalFormats,developerMetadata(metadataKey,metadataValue))"


def _sheets_of(meta: dict[str, Any]) -> dict[int, _Tab]:
    """SheetId -> ``_Tab`` of a ``spreadsheets.get`` answer asked with ``_SHEET_FIELDS``."""
    found = {}
    for sheet in meta.get("sheets", []):
        props = sheet.get("properties", {})
        marks = [m.get("metadataValue", "") for m in sheet.get("developerMetadata", []) if m.get("metadataKey") == MARK]
        found[props["sheetId"]] = _Tab(props["sheetId"], props.get("title", ""), props.get("index", 0),
                                       sheet.get("conditionalFormats", []), marks[0] if marks else None)
    return found


def _mark(sheet_id: int, tab: str) -> dict[str, Any]:
    """devplan's mark on its tab: metadata that stays with the sheet whatever its name, seen by every project."""
    return {"createDeveloperMetadata": {"developerMetadata": {
        "metadataKey": MARK, "metadataValue": tab, "location": {"sheetId": sheet_id}, "visibility": "DOCUMENT",
    }}}


class _ReadNotFinished(NotFinished, SourceError):
    """A read the run had no time left for: the unit is left out this run (exit 1, not 3)."""


class _WriteNotFinished(NotFinished, PublishError):
    """A write the run had no time left for: that spreadsheet keeps last run's tab."""


@dataclass(frozen=True)
class ServiceKey:
    """How devplan signs in: the service account's key, and what messages say about it."""

    auth: Any
    session: Any
    #: the service account's e-mail ("" without a key: an emulator)
    email: str = ""
    #: the key file, and the setting that named it
    path: str = ""
    source: str = ""
    #: where google-auth trades the key for a token
    token_uri: str | None = None


def authorize(credentials: str | Path | None, api_base: str | None) -> ServiceKey:
    """A service account's key, or no auth at all for an emulator."""
    path = credentials or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") or None
    if path is None:
        if api_base:
            return ServiceKey(None, requests.Session())
        raise ConfigError(
            "ยังไม่ได้ระบุกุญแจบัญชีบริการ Google (service account)",
            "ตั้ง storage.credentials ในไฟล์ตั้งค่าเป็นไฟล์กุญแจ .json ของบัญชีบริการ "
            "หรือตั้งตัวแปรสภาพแวดล้อม GOOGLE_APPLICATION_CREDENTIALS (ดูหัวข้อ Google setup ใน README)",
        )
    source = "storage.credentials" if credentials else "GOOGLE_APPLICATION_CREDENTIALS"
    path = Path(path).expanduser()
    info = read_key_file(path, source)
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account

    try:
        creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except (ValueError, KeyError) as exc:
        raise ConfigError(
            f"ไฟล์กุญแจบัญชีบริการ {path} ({source}) ใช้ไม่ได้ ({exc.__class__.__name__})",
            "ดาวน์โหลดกุญแจใหม่จาก Google Cloud Console แล้วชี้ storage.credentials ไปที่ไฟล์นั้น",
        ) from exc
    return ServiceKey(creds, AuthorizedSession(creds), str(info["client_email"]), str(path), source,
                      str(info.get("token_uri") or "") or None)


def read_key_file(path: Path, source: str = "storage.credentials") -> dict[str, Any]:
    """The content of a service-account key file; a ConfigError saying what is wrong with it, if anything."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"อ่านไฟล์กุญแจบัญชีบริการ {path} ({source}) ไม่ได้ ({exc.strerror or exc})",
            "ตรวจชื่อไฟล์และสิทธิ์การอ่านของผู้ใช้ที่รันโปรแกรม",
        ) from exc
    except ValueError as exc:
        raise ConfigError(
            f"ไฟล์กุญแจบัญชีบริการ {path} ({source}) ไม่ใช่ JSON ที่ถูกต้อง",
            "ดาวน์โหลดกุญแจใหม่จาก Google Cloud Console (IAM → Service accounts → Keys → Add key → JSON)",
        ) from exc
    if not isinstance(info, dict) or info.get("type") != "service_account" or "client_email" not in info:
        raise ConfigError(
            f"ไฟล์ {path} ({source}) ไม่ใช่กุญแจของบัญชีบริการ (ต้องมี \"type\": \"service_account\" และ client_email)",
            "ใช้กุญแจแบบ JSON ของบัญชีบริการ ไม่ใช่ไฟล์ OAuth client ของผู้ใช้",
        )
    if not info.get("private_key"):
        raise ConfigError(
            f"ไฟล์กุญแจบัญชีบริการ {path} ({source}) ไม่มี private_key",
            "ดาวน์โหลดกุญแจใหม่จาก Google Cloud Console (IAM → Service accounts → Keys → Add key → JSON)",
        )
    return info


def _tab_requests(sheet_id: int, tab: str, look: FormattedTab, old_rules: Sequence[int] = ()) -> list[dict[str, Any]]:
    """Drop devplan's old rules, resize the tab to its content, write every cell with its format
    and note, freeze the header, set widths, add the conditional-format rules."""
    rows = look.rows
    height, columns = max(len(rows), 1), max(look.width, 1)
    frozen = look.frozen_rows if look.frozen_rows < height else 0
    grid: dict[str, Any] = {"rowCount": height, "columnCount": columns, "frozenRowCount": frozen}
    requests_: list[dict[str, Any]] = [
        {"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": index}}
        for index in sorted(set(old_rules), reverse=True)
    ]
    requests_.append(
        {
            "updateSheetProperties": {
                "properties": {"sheetId": sheet_id, "title": tab, "gridProperties": grid},
                "fields": "title,gridProperties.rowCount,gridProperties.columnCount,gridProperties.frozenRowCount",
            }
        }
    )
    cells = [
        {"values": [_cell(r[c] if c < len(r) else None, i in look.bold_rows, look.notes.get((i, c)))
                    for c in range(columns)]}
        for i, r in enumerate(rows)
    ]
    if cells:
        requests_.append(
            {
                "updateCells": {
                    "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
                    "rows": cells,
                    "fields": "userEnteredValue,userEnteredFormat,note",
                }
            }
        )
    for index, pixels in enumerate(look.widths[:columns]):
        requests_.append(
            {
                "updateDimensionProperties": {
                    "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": index, "endIndex": index + 1},
                    "properties": {"pixelSize": pixels},
                    "fields": "pixelSize",
                }
            }
        )
    for index, rule in enumerate(look.rules):
        requests_.append({"addConditionalFormatRule": {"index": index, "rule": _rule(sheet_id, rule)}})
    return requests_


def _color(rgb: str) -> dict[str, float]:
    """``RRGGBB`` as a Google Color."""
    return {k: round(int(rgb[i : i + 2], 16) / 255, 4) for k, i in (("red", 0), ("green", 2), ("blue", 4))}


def _grid_range(sheet_id: int, block: CellRange) -> dict[str, int]:
    return {
        "sheetId": sheet_id, "startRowIndex": block.first_row, "endRowIndex": block.end_row,
        "startColumnIndex": block.first_column, "endColumnIndex": block.end_column,
    }


def _rule(sheet_id: int, rule: TextRule) -> dict[str, Any]:
    """A ConditionalFormatRule: text equal to ``rule.text`` gets the fill and text colour."""
    return {
        "ranges": [_grid_range(sheet_id, block) for block in rule.ranges],
        "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": rule.text}]},
            "format": {"backgroundColor": _color(rule.fill), "textFormat": {"foregroundColor": _color(rule.color)}},
        },
    }


def _own_rule_indexes(stored: list[dict[str, Any]], rules: Sequence[TextRule]) -> list[int]:
    """Indexes of the stored rules that look like devplan's (same condition, text and fill)."""

    def rgb(color: dict[str, Any]) -> tuple[float, ...]:
        return tuple(round(float(color.get(k, 0)), 4) for k in ("red", "green", "blue"))  # Google omits zeros

    mine = {(r.text, rgb(_color(r.fill))) for r in rules}
    found = []
    for index, rule in enumerate(stored):
        boolean = rule.get("booleanRule") or {}
        condition = boolean.get("condition") or {}
        values = condition.get("values") or []
        fill = (boolean.get("format") or {}).get("backgroundColor") or {}
        if condition.get("type") == "TEXT_EQ" and len(values) == 1:
            if (values[0].get("userEnteredValue"), rgb(fill)) in mine:
                found.append(index)
    return found


def _cell(value: Any, bold: bool, note: str | None = None) -> dict[str, Any]:
    """One CellData: typed value (text stays text, never a formula), its format and note."""
    cell: dict[str, Any] = {}
    fmt: dict[str, Any] = {"textFormat": {"bold": True}} if bold else {}
    if isinstance(value, bool):
        cell["userEnteredValue"] = {"boolValue": value}
    elif isinstance(value, (int, float)) and value == value:
        cell["userEnteredValue"] = {"numberValue": value}
    elif isinstance(value, (datetime, date)):
        moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        cell["userEnteredValue"] = {"numberValue": (moment - _EPOCH).total_seconds() / 86400}
        fmt["numberFormat"] = {"type": "DATE", "pattern": "d/m/yyyy"}
    elif value is not None and value != "":
        cell["userEnteredValue"] = {"stringValue": str(value)}
    if fmt:
        cell["userEnteredFormat"] = fmt
    if note:
        cell["note"] = note
    return cell


def _new_sheet_id(tab: str, taken: set[int]) -> int:
    """A stable sheetId for devplan's tab, so the same tab keeps the same id."""
    sheet_id = zlib.crc32(tab.encode("utf-8")) & 0x3FFFFFFF or 1
    while sheet_id in taken:
        sheet_id = (sheet_id + 7919) & 0x3FFFFFFF or 1
    return sheet_id


def _trim(rows: list[list[Any]]) -> Table:
    """Google already drops trailing empties; make rows one width, empty text as None, errors as errors.

    Asked for unformatted values, Google answers a cell whose formula gives an error
    with the error's text ("#NAME?"), the same as text a person typed as plain text;
    the values API cannot tell the two apart. Typed into a cell, "#N/A" is itself
    an error in Sheets, so every known error text is taken for an error.
    """
    table = [[None if v == "" else CellError(v) if isinstance(v, str) and v in ERROR_CODES else v for v in row]
             for row in rows]
    while table and all(v is None for v in table[-1]):
        table.pop()
    width = max((len(r) for r in table), default=0)
    return [r + [None] * (width - len(r)) for r in table]


def _message(exc: APIError) -> str:
    try:
        return str(exc.response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return exc.response.text[:200]


def _reason(exc: APIError) -> str:
    try:
        error = exc.response.json()["error"]
        return f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")
    except (ValueError, KeyError, TypeError):
        return exc.response.reason or str(exc.response.status_code)
