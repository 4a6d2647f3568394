"""Collect: read every source tab the config names, one read call per spreadsheet.

First the rosters and the survey (``read_sources``), then the ID Plan
spreadsheet of every valid unit in the roster (``read_idplans``).

Each tab becomes a DataFrame whose columns are the config's field names (not
the sheet's headers), plus where each row came from: ``_sheet`` (spreadsheet
key), ``_tab`` and ``_row`` (the row number a person sees, header = row 1).
Values are left exactly as read (a formula's error is told where it is, as
``CellError.cell``); cleaning is the normalizer's job.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, replace
from typing import Any, Callable, Collection

import pandas as pd
from pydantic import BaseModel

from pipeline.config import OPTIONAL_RECORD_COLUMNS, Settings
from pipeline.errors import SourceError
from pipeline.thai import clean_text
from pipeline.workbook import CellError, Table, Workbook
from pipeline.workbook.layout import column_letter

log = logging.getLogger(__name__)

ORIGIN = ["_sheet", "_tab", "_row"]
Progress = Callable[[str, int, int], None]
#: Told before each ID Plan read, with a way to build what has been read so far.
Between = Callable[[Callable[[], "Collected"]], None]


@dataclass
class Collected:
    units: pd.DataFrame
    staff: pd.DataFrame
    survey: pd.DataFrame
    plans: pd.DataFrame
    records: pd.DataFrame
    #: unit code -> ID Plan spreadsheet key, for every unit whose spreadsheet was read
    idplan_keys: dict[str, str]
    read_calls: int
    #: unit code -> why its ID Plan spreadsheet could not be used (the unit is left out)
    unit_problems: dict[str, SourceError] = dataclasses.field(default_factory=dict)
    #: the office's corrections tab (None when there is none), and why it could not be read
    overrides: pd.DataFrame | None = None
    overrides_problem: tuple[str, str, str] | None = None
    #: unit code -> the optional record columns (``OPTIONAL_RECORD_COLUMNS``) its record tab has
    record_extras: dict[str, frozenset[str]] = dataclasses.field(default_factory=dict)


def table_to_frame(
    rows: Table, columns: BaseModel, sheet: str, tab: str, config_key: str, optional: Collection[str] = ()
) -> pd.DataFrame:
    """Map a tab's header to config field names; every configured column must exist, but ``optional`` ones
    (a tab without one gets an empty column)."""
    return pd.DataFrame(table_records(rows, columns, sheet, tab, config_key, optional), columns=frame_columns(columns),
                        dtype=object)


def frame_columns(columns: BaseModel, *more: str) -> list[str]:
    """The columns of a source's frame: its configured fields, then where each row came from (and ``more``)."""
    return [*(f for f, h in columns.model_dump().items() if h), *ORIGIN, *more]


def table_records(
    rows: Table, columns: BaseModel, sheet: str, tab: str, config_key: str, optional: Collection[str] = ()
) -> list[dict[str, Any]]:
    """``table_to_frame``'s rows as plain dicts (so many units' tabs make one frame, not one each)."""
    wanted = {field: header for field, header in columns.model_dump().items() if header}
    header = [clean_text(h) for h in rows[0]] if rows else []
    positions: dict[str, int] = {}
    for field, name in wanted.items():
        if clean_text(name) not in header:
            if field in optional:
                continue
            found = ", ".join(h for h in header if h) or "(แถวหัวตารางว่าง)"
            if config_key.startswith("sources.idplan"):
                # Every unit's spreadsheet shares one header: fix the sheet, not the config.
                hint = (f"แก้ชื่อคอลัมน์ในแถวที่ 1 ของแท็บนี้ให้เป็น '{name}' ตามแบบฟอร์มของเขต "
                        "(ทุกหน่วยงานใช้หัวตารางเดียวกัน จึงไม่ควรแก้ไฟล์ตั้งค่า)")
            else:
                hint = (f"เพิ่มคอลัมน์ '{name}' ในแถวหัวตาราง หรือแก้ {config_key}.{field} "
                        "ในไฟล์ตั้งค่าให้ตรงกับชื่อคอลัมน์ในชีต")
            raise SourceError(
                f"สเปรดชีต '{sheet}' แท็บ '{tab}': ไม่พบคอลัมน์ '{name}' ในแถวที่ 1 "
                f"(คอลัมน์ที่มี: {found})",
                hint,
            )
        positions[field] = header.index(clean_text(name))
    records = []
    blank = dict.fromkeys(wanted)  # a field whose column the tab lacks (or a short row lacks) is None
    taken = list(positions.items())
    for number, row in enumerate(rows[1:], start=2):
        if all(v is None or clean_text(v) == "" for v in row):
            continue
        values = blank.copy()
        width = len(row)
        for field, at in taken:
            if at < width:
                value = row[at]
                values[field] = _placed(value, at, number) if isinstance(value, CellError) else value
        values.update(_sheet=sheet, _tab=tab, _row=number)
        records.append(values)
    return records


def _placed(value: CellError, column: int, row: int) -> CellError:
    """A formula's error with the cell a person finds it in ("F12")."""
    return replace(value, cell=f"{column_letter(column + 1)}{row}")


def read_sources(workbook: Workbook, settings: Settings) -> Collected:
    """Read the units roster, staff roster and survey: one call per spreadsheet."""
    src = settings.sources
    by_sheet = src.roster_reads()
    overrides_at = overrides_tab(settings)
    tables: dict[tuple[str, str], Table] = {}
    retries = 0
    for sheet, tabs in by_sheet.items():
        read, retried = read_with_overrides(workbook, sheet, tabs, overrides_at)
        retries += retried
        for tab, rows in read.items():
            tables[(sheet, tab)] = rows

    def frame(source: Any, key: str) -> pd.DataFrame:
        return table_to_frame(
            tables[(source.spreadsheet, source.tab)], source.columns, source.spreadsheet, source.tab, key
        )

    return Collected(
        units=frame(src.units, "sources.units.columns"),
        staff=frame(src.staff, "sources.staff.columns"),
        survey=frame(src.survey, "sources.survey.columns"),
        plans=pd.DataFrame(columns=frame_columns(src.idplan.plan_columns, "_unit"), dtype=object),
        records=pd.DataFrame(columns=frame_columns(src.idplan.record_columns, "_unit"), dtype=object),
        idplan_keys={},
        read_calls=len(by_sheet) + retries,
        **overrides_frame(tables, overrides_at, settings),
    )


def overrides_tab(settings: Settings) -> tuple[str, str] | None:
    """(spreadsheet, tab) of the corrections tab, or None when the config has no [sources.overrides]."""
    if settings.sources.overrides is None:
        return None
    return settings.sources.overrides_spreadsheet, settings.sources.overrides.tab


def read_with_overrides(
    workbook: Workbook, sheet: str, tabs: list[str], overrides_at: tuple[str, str] | None
) -> tuple[dict[str, Table], int]:
    """One read of ``tabs``; if the corrections tab among them is missing, read the others again.

    Checking for the tab first would cost a request on every run; a missing
    corrections tab costs one only when it is missing. Returns the tabs read
    (the corrections tab absent when missing) and the number of extra reads.
    """
    optional = overrides_at[1] if overrides_at and overrides_at[0] == sheet else None
    try:
        return workbook.read(sheet, tabs), 0
    except SourceError:
        if optional is None or optional not in tabs:
            raise
        log.info("%s: no corrections tab '%s', so no corrections", sheet, optional)
        if tabs == [optional]:
            return {}, 0
        return workbook.read(sheet, [t for t in tabs if t != optional]), 1


def overrides_frame(
    tables: dict[tuple[str, str], Table], at: tuple[str, str] | None, settings: Settings
) -> dict[str, Any]:
    """The corrections tab as ``Collected`` fields; a wrong header is reported, never fatal.

    The national ID column is needed, and either the three address columns or the typed one.
    """
    if at is None or at not in tables or settings.sources.overrides is None:
        return {}
    rows, columns = tables[at], settings.sources.overrides.columns
    header = [clean_text(h) for h in rows[0]] if rows else []
    present = {f: n for f, n in columns.model_dump().items() if clean_text(n) in header}
    address = {"spreadsheet", "tab", "row"} <= set(present)
    if "national_id" not in present or not (address or "typed" in present):
        needed = [columns.national_id, columns.typed, columns.spreadsheet, columns.tab, columns.row]
        why = (f"แท็บแก้ไขข้อมูลขาดหัวคอลัมน์ในแถวที่ 1 (ต้องมี '{needed[0]}' และ '{needed[1]}' หรือ "
               f"'{needed[2]}', '{needed[3]}', '{needed[4]}'): ยังไม่ใช้การแก้ไขในแท็บนี้ เพิ่มหัวคอลัมน์ให้ครบ")
        return {"overrides_problem": (at[0], at[1], why)}
    kept = columns.model_copy(update={f: None for f in columns.model_dump() if f not in present})
    return {"overrides": table_to_frame(rows, kept, at[0], at[1], "sources.overrides.columns")}


def read_idplans(
    workbook: Workbook, settings: Settings, raw: Collected, unit_codes: list[str],
    progress: Progress | None = None, between: Between | None = None,
) -> Collected:
    """Add every listed unit's ID Plan spreadsheet (plan and record tabs in one call each).

    One unit's broken, missing, unshared or renamed spreadsheet is that unit's
    problem: it is kept in ``unit_problems`` with what to do, and every other
    unit is still read. ``between`` is called before each read with a way to
    see what has been read so far (``sync.Overlap`` writes meanwhile).
    """
    src = settings.sources
    keys = {code: src.idplan.key_for(code) for code in unit_codes}
    plans: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    problems: dict[str, SourceError] = {}
    extras: dict[str, frozenset[str]] = {}

    def so_far() -> Collected:
        return replace(
            raw,
            plans=pd.DataFrame(plans, columns=frame_columns(src.idplan.plan_columns, "_unit"), dtype=object),
            records=pd.DataFrame(records, columns=frame_columns(src.idplan.record_columns, "_unit"), dtype=object),
            idplan_keys={c: k for c, k in keys.items() if c in read and c not in problems},
            unit_problems=dict(problems),
            record_extras={c: extras[c] for c in keys if c in read and c not in problems},
        )

    read: set[str] = set()
    with workbook.reading(list(keys.values()), [src.idplan.plan_tab, src.idplan.record_tab]):
        for done, (code, key) in enumerate(keys.items(), start=1):
            if between is not None:
                between(so_far)
            read.add(code)
            try:
                plan, record, extras[code] = _read_idplan(workbook, settings, key)
            except SourceError as exc:
                log.warning("unit %s left out: %s", code, exc.message)
                problems[code] = exc
            else:
                plans += ({**row, "_unit": code} for row in plan)
                records += ({**row, "_unit": code} for row in record)
            if progress:
                progress("collect", done, len(keys))
    log.info("collected %d units, %d staff rows, %d survey rows, %d ID Plan spreadsheets (%d left out)",
             len(raw.units), len(raw.staff), len(raw.survey), len(keys), len(problems))
    return replace(so_far(), read_calls=raw.read_calls + len(keys))


def _read_idplan(
    workbook: Workbook, settings: Settings, key: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], frozenset[str]]:
    """The plan and record tabs of one unit, and which optional record columns the record tab has."""
    src = settings.sources.idplan
    if not workbook.exists(key):
        lost = workbook.lost(key)
        if lost is not None:  # it was there before: say what happened to it, not "create it"
            raise SourceError(f"ไม่พบสเปรดชีต ID Plan '{key}' ใน {workbook.location}: {lost[0]}", lost[1])
        account = workbook.account
        shared = f" ถ้ามีอยู่แล้ว ให้แชร์ให้ {account} เป็นผู้แก้ไข (Editor);" if account else ""
        raise SourceError(
            f"ไม่พบสเปรดชีต ID Plan '{key}' ใน {workbook.location}",
            f"{shared.strip()} สร้างสเปรดชีตชื่อ '{key}' (แท็บ '{src.plan_tab}' และ '{src.record_tab}') "
            "หรือแก้รหัสหน่วยงานในทะเบียนหน่วยงานให้ถูกต้อง".strip(),
        )
    tabs = workbook.read(key, [src.plan_tab, src.record_tab])
    plan = table_records(tabs[src.plan_tab], src.plan_columns, key, src.plan_tab, "sources.idplan.plan_columns")
    rows = tabs[src.record_tab]
    record = table_records(
        rows, src.record_columns, key, src.record_tab, "sources.idplan.record_columns", OPTIONAL_RECORD_COLUMNS
    )
    header = {clean_text(h) for h in rows[0]} if rows else set()
    named = src.record_columns.model_dump()
    present = frozenset(f for f in OPTIONAL_RECORD_COLUMNS if named[f] and clean_text(named[f]) in header)
    return plan, record, present
