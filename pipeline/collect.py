"""Collect: read every source tab the config names, one read call per spreadsheet.

First the rosters and the survey (``read_sources``), then the ID Plan
spreadsheet of every valid unit in the roster (``read_idplans``).

Each tab becomes a DataFrame whose columns are the config's field names (not
the sheet's headers), plus where each row came from: ``_sheet`` (spreadsheet
key), ``_tab`` and ``_row`` (the row number a person sees, header = row 1).
Values are left exactly as read; cleaning is the normalizer's job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Callable

import pandas as pd
from pydantic import BaseModel

from pipeline.config import Settings
from pipeline.errors import SourceError
from pipeline.thai import clean_text
from pipeline.workbook import Table, Workbook

log = logging.getLogger(__name__)

ORIGIN = ["_sheet", "_tab", "_row"]
Progress = Callable[[str, int, int], None]


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


def table_to_frame(
    rows: Table, columns: BaseModel, sheet: str, tab: str, config_key: str
) -> pd.DataFrame:
    """Map a tab's header to config field names; every configured column must exist."""
    wanted = {field: header for field, header in columns.model_dump().items() if header}
    header = [clean_text(h) for h in rows[0]] if rows else []
    positions: dict[str, int] = {}
    for field, name in wanted.items():
        if clean_text(name) not in header:
            found = ", ".join(h for h in header if h) or "(แถวหัวตารางว่าง)"
            raise SourceError(
                f"สเปรดชีต '{sheet}' แท็บ '{tab}': ไม่พบคอลัมน์ '{name}' ในแถวที่ 1 "
                f"(คอลัมน์ที่มี: {found})",
                f"เพิ่มคอลัมน์ '{name}' ในแถวหัวตาราง หรือแก้ {config_key}.{field} "
                "ในไฟล์ตั้งค่าให้ตรงกับชื่อคอลัมน์ในชีต",
            )
        positions[field] = header.index(clean_text(name))
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if all(v is None or clean_text(v) == "" for v in row):
            continue
        values = {f: (row[i] if i < len(row) else None) for f, i in positions.items()}
        values.update(_sheet=sheet, _tab=tab, _row=number)
        records.append(values)
    return pd.DataFrame(records, columns=[*wanted, *ORIGIN], dtype=object)


def read_sources(workbook: Workbook, settings: Settings) -> Collected:
    """Read the units roster, staff roster and survey: one call per spreadsheet."""
    src = settings.sources
    by_sheet: dict[str, list[str]] = {}
    for source in (src.units, src.staff, src.survey):
        by_sheet.setdefault(source.spreadsheet, []).append(source.tab)
    tables: dict[tuple[str, str], Table] = {}
    for sheet, tabs in by_sheet.items():
        for tab, rows in workbook.read(sheet, list(dict.fromkeys(tabs))).items():
            tables[(sheet, tab)] = rows

    def frame(source: Any, key: str) -> pd.DataFrame:
        return table_to_frame(
            tables[(source.spreadsheet, source.tab)], source.columns, source.spreadsheet, source.tab, key
        )

    return Collected(
        units=frame(src.units, "sources.units.columns"),
        staff=frame(src.staff, "sources.staff.columns"),
        survey=frame(src.survey, "sources.survey.columns"),
        plans=_concat([], src.idplan.plan_columns),
        records=_concat([], src.idplan.record_columns),
        idplan_keys={},
        read_calls=len(by_sheet),
    )


def read_idplans(
    workbook: Workbook, settings: Settings, raw: Collected, unit_codes: list[str],
    progress: Progress | None = None,
) -> Collected:
    """Add every listed unit's ID Plan spreadsheet (plan and record tabs in one call each).

    All missing spreadsheets are named at once, so one round of fixes is enough.
    """
    src = settings.sources
    keys = {code: src.idplan.key_for(code) for code in unit_codes}
    missing = [key for key in keys.values() if not workbook.exists(key)]
    if missing:
        shown = ", ".join(missing[:10]) + (f" และอีก {len(missing) - 10} ไฟล์" if len(missing) > 10 else "")
        raise SourceError(
            f"ไม่พบสเปรดชีต ID Plan {len(missing)} ไฟล์ใน {workbook.location}: {shown}",
            "สร้างสเปรดชีตของหน่วยงานนั้น (แท็บ "
            f"'{src.idplan.plan_tab}' และ '{src.idplan.record_tab}') หรือแก้รหัสหน่วยงานในทะเบียน "
            f"'{src.units.spreadsheet}' แท็บ '{src.units.tab}' ให้ถูกต้อง",
        )
    plans, records = [], []
    for done, (code, key) in enumerate(keys.items(), start=1):
        tabs = workbook.read(key, [src.idplan.plan_tab, src.idplan.record_tab])
        plan = table_to_frame(
            tabs[src.idplan.plan_tab], src.idplan.plan_columns, key, src.idplan.plan_tab,
            "sources.idplan.plan_columns",
        )
        record = table_to_frame(
            tabs[src.idplan.record_tab], src.idplan.record_columns, key, src.idplan.record_tab,
            "sources.idplan.record_columns",
        )
        plans.append(plan.assign(_unit=code))
        records.append(record.assign(_unit=code))
        if progress:
            progress("collect", done, len(keys))
    log.info("collected %d units, %d staff rows, %d survey rows, %d ID Plan spreadsheets",
             len(raw.units), len(raw.staff), len(raw.survey), len(keys))
    return replace(
        raw,
        plans=_concat(plans, src.idplan.plan_columns),
        records=_concat(records, src.idplan.record_columns),
        idplan_keys=keys,
        read_calls=raw.read_calls + len(keys),
    )


def _concat(frames: list[pd.DataFrame], columns: BaseModel) -> pd.DataFrame:
    if frames:
        return pd.concat(frames, ignore_index=True)
    names = [f for f, h in columns.model_dump().items() if h]
    return pd.DataFrame(columns=[*names, *ORIGIN, "_unit"], dtype=object)
