"""Can devplan reach every spreadsheet it will read or write? (``devplan init``'s last step.)

For each spreadsheet a sync touches: the roster and the survey (read: Viewer is
enough), every ``idplan-{code}`` the units roster names and the dashboard
(written: Editor), say whether it is reachable and, if not, what to do.

The storage answers for each spreadsheet (``Workbook.check_place`` and
``check_access``): on Google, one Drive ``files.get`` for the folder and the
folder listing with the service account's ``canEdit`` on each file; locally,
the folder, each file, and whether it may be written. The roster and the survey
are then read once each (their tabs and columns are checked too). ID Plans are
not read here: ``devplan check`` does that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import Settings
from pipeline.errors import PipelineError
from pipeline.state import State
from pipeline.workbook import Access, Need, Place, Workbook

if TYPE_CHECKING:
    from pipeline.init import Answers


@dataclass
class AccessReport:
    location: str
    #: the account devplan uses there (a service account's e-mail), "" for local files
    account: str
    #: the storage itself, and its words for access
    place: Place
    rows: list[Access] = field(default_factory=list)
    #: requests sent to Google by the check
    requests: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(r.ok for r in self.rows)


def check_access(settings: Settings) -> AccessReport:
    """Every spreadsheet a sync reads or writes, reachable or not, with what to do."""
    from pipeline.workbook.factory import open_workbook

    with State(None) as state:  # nothing to remember: init only looks
        book = open_workbook(settings.storage, state)
        place = book.check_place()
        report = AccessReport(book.location, book.account, place)
        if place.problem is not None:
            report.rows.append(place.problem)
            return report
        names = _source_names(settings)
        reachable = {key: book.check_access(Need(key, what)) for key, what in names.items()}
        codes = None
        if all(r.ok for r in reachable.values()):
            codes = _units(settings, book, report, place.read_role)
        else:
            report.rows += reachable.values()
        idplan = settings.sources.idplan
        if codes is None:
            report.rows.append(Access(
                idplan.spreadsheet, "ID Plan ทุกหน่วยงาน", place.write_role, False,
                "ตรวจไม่ได้จนกว่าจะอ่านทะเบียนหน่วยงานได้", "แก้ปัญหาของทะเบียนหน่วยงานด้านบนก่อน แล้วสั่ง init ใหม่",
            ))
        else:
            for code in codes:
                report.rows.append(book.check_access(Need(
                    idplan.key_for(code), f"ID Plan หน่วยงาน {code}", write=True,
                    if_missing=f"แก้รหัสหน่วยงาน {code} ในทะเบียนหน่วยงาน",
                )))
        report.rows.append(book.check_access(Need(settings.output.dashboard, "แดชบอร์ด", write=True, create=True)))
        report.requests = book.requests().total
        return report


def _units(settings: Settings, book: Workbook, report: AccessReport, role: str) -> list[str] | None:
    """Read the roster and survey (tabs, columns); the unit codes, or None when the roster failed."""
    from pipeline.collect import read_sources
    from pipeline.normalize import office_code_problem, unit_codes

    src = settings.sources
    try:
        raw = read_sources(book, settings)
    except PipelineError as exc:
        names = _source_names(settings)
        named = [key for key in names if f"'{key}'" in exc.message or f"{key}.xlsx" in exc.message] or list(names)
        for key, what in names.items():
            if key in named:
                report.rows.append(Access(key, what, role, False, exc.message, exc.hint))
            else:
                report.rows.append(Access(key, what, role, False, "ยังไม่ได้ตรวจ: แก้ปัญหาด้านบนก่อน"))
        return None
    for key, what in _source_names(settings).items():
        counts = [f"{label} {len(rows)} แถว" for source, label, rows in (
            (src.units, "หน่วยงาน", raw.units), (src.staff, "บุคลากร", raw.staff), (src.survey, "คำตอบ", raw.survey),
        ) if source.spreadsheet == key]
        report.rows.append(Access(key, what, role, True, f"เข้าถึงได้ ({', '.join(counts)})"))
    wrong_office = office_code_problem(raw, settings)
    if wrong_office is not None:
        report.rows.append(Access("area.office_code", "รหัสสำนักงานเขต", "-", False, *wrong_office))
    return unit_codes(raw.units, settings.area.office_code)


def _source_names(settings: Settings) -> dict[str, str]:
    src = settings.sources
    names: dict[str, str] = {}
    for source, what in ((src.units, "ทะเบียนหน่วยงาน"), (src.staff, "ทะเบียนบุคลากร"), (src.survey, "แบบสำรวจ")):
        names[source.spreadsheet] = f"{names[source.spreadsheet]}, {what}" if source.spreadsheet in names else what
    return names


class AnswerChecks:
    """``devplan init``'s answers checked as they are typed, against the storage itself
    (``pipeline.init.Checks``); each opens what it needs with an empty state, so nothing is remembered."""

    def key_file(self, path: Path | None) -> str | None:
        from pipeline.workbook.factory import service_account

        try:
            service_account(path)
        except PipelineError as exc:
            return _said(exc)
        return None

    def place(self, answers: Answers) -> str | None:
        from pipeline.init import answers_settings
        from pipeline.workbook.factory import open_workbook

        try:
            with State(None) as state:
                problem = open_workbook(answers_settings(answers).storage, state).check_place().problem
        except PipelineError as exc:
            return _said(exc)
        return None if problem is None else f"{problem.status} (วิธีแก้: {problem.hint})" if problem.hint else problem.status

    def office_code(self, answers: Answers) -> str | None:
        """Checked against the rosters (their units and staff); rosters that cannot be read yet are init's
        access table's to report, so the code is then taken as typed."""
        from pipeline.collect import read_sources
        from pipeline.init import answers_settings
        from pipeline.normalize import office_code_problem
        from pipeline.workbook.factory import open_workbook

        settings = answers_settings(answers)
        try:
            with State(None) as state:
                raw = read_sources(open_workbook(settings.storage, state), settings)
        except PipelineError:
            return None
        wrong = office_code_problem(raw, settings)
        return None if wrong is None else f"{wrong[0]} (วิธีแก้: {wrong[1]})"


def _said(exc: PipelineError) -> str:
    return f"{exc.message} (วิธีแก้: {exc.hint})" if exc.hint else exc.message
