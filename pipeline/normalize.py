"""Normalize: clean raw rows and map them to staff, units and fiscal years.

Pure functions over DataFrames. Nothing is dropped silently: a row that cannot
be used goes to ``quarantine`` with a Thai reason a person can act on; a row
that was repaired or superseded is kept and explained in ``notes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

from pipeline.collect import Collected
from pipeline.config import Settings
from pipeline.thai import (
    DAY_FIRST,
    clean_text,
    compare_key,
    date_order,
    date_problem,
    fiscal_year,
    is_smis_code,
    is_valid_national_id,
    mask_national_id,
    name_forms,
    name_key,
    national_id_problem,
    normalize_code,
    normalize_national_id,
    parse_datetime,
    position_table,
    read_position,
    school_name_key,
    strip_prefixes,
    to_arabic_digits,
)

UNIT_KINDS = {"โรงเรียน": "school", "สถานศึกษา": "school", "สำนักงานเขตพื้นที่": "office"}
YES = {"ใช่", "มี", "yes", "y", "true", "1", "✓", "จัด"}
NO_GROUP = "(ไม่ระบุกลุ่มงาน)"
NAME_MATCH_NOTE = "จับคู่ด้วยชื่อ เพราะเลขประจำตัวประชาชนไม่ตรงกับทะเบียน"
ISSUE_COLUMNS = ["_sheet", "_tab", "_row", "unit_code", "reason", "value"]


@dataclass
class Normalized:
    units: pd.DataFrame
    staff: pd.DataFrame
    survey: pd.DataFrame
    plans: pd.DataFrame
    records: pd.DataFrame
    #: rows that could not be used, with the reason
    quarantine: pd.DataFrame
    #: rows that were repaired or superseded, with what was done
    notes: pd.DataFrame


class Issues:
    """Collects quarantine or note rows; each names the sheet, tab and row."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, origin: Any, reason: str, value: Any = "", unit_code: str = "") -> None:
        self.rows.append(
            {
                "_sheet": origin["_sheet"], "_tab": origin["_tab"], "_row": int(origin["_row"]),
                "unit_code": clean_text(unit_code or _get(origin, "_unit")), "reason": reason,
                "value": clean_text(value),
            }
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=ISSUE_COLUMNS)


def normalize(raw: Collected, settings: Settings) -> Normalized:
    """Clean every source and match rows to the rosters."""
    bad, notes = Issues(), Issues()
    units = normalize_units(raw.units, settings.area.office_code, bad)
    positions = position_table(settings.vocabulary.positions)
    staff = normalize_staff(raw.staff, units, settings.area.office_code, bad, notes, positions)
    matcher = PersonMatcher(staff)
    survey = normalize_survey(raw.survey, matcher, units, settings, bad, notes)
    plans = normalize_plans(raw.plans, matcher, bad, notes)
    records = normalize_records(raw.records, matcher, settings, bad, notes)
    return Normalized(units, staff, survey, plans, records, bad.frame(), notes.frame())


def unit_codes(raw_units: pd.DataFrame, office_code: str) -> list[str]:
    """Codes of the roster's usable units: the ones whose ID Plan spreadsheets are read."""
    return list(normalize_units(raw_units, office_code, Issues())["code"])


def normalize_units(raw: pd.DataFrame, office_code: str, bad: Issues) -> pd.DataFrame:
    """One row per unit (school or the office), keyed by its code."""
    rows, seen = [], set()
    for _, row in raw.iterrows():
        code = normalize_code(row["code"])
        kind = UNIT_KINDS.get(clean_text(row["kind"]), "office" if code == office_code else "")
        if not code:
            bad.add(row, "ไม่มีรหัสหน่วยงาน", row["name"])
        elif code in seen:
            bad.add(row, f"รหัสหน่วยงาน {code} ซ้ำกับแถวก่อนหน้า", row["name"])
        elif not kind:
            bad.add(row, f"ประเภทหน่วยงาน '{clean_text(row['kind'])}' ไม่รู้จัก (ใช้ โรงเรียน หรือ สำนักงานเขตพื้นที่)", code)
        elif kind == "school" and not (len(code) == 10 and code.isdigit()):
            smis = " (นี่คือรหัส SMIS 8 หลัก ให้ใช้รหัสสถานศึกษา 10 หลัก และใส่รหัส SMIS ในคอลัมน์รหัส SMIS)" if is_smis_code(code) else ""
            bad.add(row, f"รหัสสถานศึกษา '{code}' ต้องเป็นตัวเลข 10 หลัก{smis}", row["name"])
        elif kind == "office" and code != office_code:
            bad.add(row, f"รหัสสำนักงานเขต '{code}' ไม่ตรงกับ area.office_code ('{office_code}') ในไฟล์ตั้งค่า", row["name"])
        else:
            seen.add(code)
            rows.append(
                {
                    "code": code,
                    "name": clean_text(row["name"]),
                    "kind": kind,
                    "district": clean_text(row["district"]),
                    "director_email": clean_text(row["director_email"]),
                    "stem": clean_text(row["stem"]).lower() in YES,
                    "network": clean_text(_get(row, "network")),
                    "students": _number(_get(row, "students")) or 0,
                    "classrooms": _number(_get(row, "classrooms")) or 0,
                    "smis": normalize_code(_get(row, "smis")),
                }
            )
    columns = ["code", "name", "kind", "district", "director_email", "stem", "network", "students", "classrooms", "smis"]
    return pd.DataFrame(rows, columns=columns)


def normalize_staff(
    raw: pd.DataFrame, units: pd.DataFrame, office_code: str, bad: Issues, notes: Issues,
    positions: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per person with a valid national ID and a known unit.

    Titles typed into the first name are moved to the prefix (noted): when the
    prefix column is filled, only a title ending in "." or followed by a space
    is moved, so a first name such as นางนวล stays whole. The position cell is
    read into a canonical position and a standing; a position no alias covers
    is kept as typed and noted.
    """
    known_units = set(units["code"])
    smis_to_code = _smis_map(units)
    table = position_table() if positions is None else positions
    rows, seen = [], set()
    for _, row in raw.iterrows():
        nid = normalize_national_id(row["national_id"])
        unit = normalize_code(row["unit_code"])
        prefix = clean_text(_get(row, "prefix"))
        first = clean_text(row["first_name"])
        titles, bare = strip_prefixes(first, glued=not prefix)
        if titles:
            first = bare
            prefix = prefix + "".join(titles) if "".join(titles) != prefix else prefix
            notes.add(row, f"แยกคำนำหน้า '{''.join(titles)}' ออกจากชื่อ", row["first_name"], unit)
        last = clean_text(row["last_name"])
        full = clean_text(f"{first} {last}")
        if unit not in known_units and unit in smis_to_code:
            notes.add(row, f"รหัสหน่วยงาน '{unit}' เป็นรหัส SMIS 8 หลัก แปลงเป็นรหัสสถานศึกษา {smis_to_code[unit]}", unit, smis_to_code[unit])
            unit = smis_to_code[unit]
        problem = national_id_problem(row["national_id"])
        if problem:
            bad.add(row, f"เลขประจำตัวประชาชนไม่ถูกต้อง: {problem}", f"{full} ({_shown_id(row['national_id'])})", unit)
        elif nid in seen:
            bad.add(row, "เลขประจำตัวประชาชนซ้ำกับแถวก่อนหน้า", f"{full} ({mask_national_id(nid)})", unit)
        elif unit not in known_units:
            bad.add(row, _unknown_unit_reason(unit), full, unit)
        else:
            seen.add(nid)
            group = clean_text(_get(row, "work_group")) if unit == office_code else ""
            if unit == office_code and not group:
                group = NO_GROUP
                notes.add(row, "บุคลากรสำนักงานเขตไม่ได้ระบุกลุ่มงาน", full, unit)
            reading = read_position(row["position"], _get(row, "standing"), table)
            for note in reading.notes:
                notes.add(row, note, f"{full}: {clean_text(row['position'])}", unit)
            rows.append(
                {
                    "staff_id": nid,
                    "prefix": prefix,
                    "first_name": first,
                    "last_name": last,
                    "display_name": f"{prefix}{full}",
                    "name_key": name_key(first, last),
                    "position": reading.position,
                    "standing": reading.standing,
                    "unit_code": unit,
                    "work_group": group,
                    "unit_id": f"{unit}:{group}" if group else unit,
                    "email": clean_text(_get(row, "email")),
                }
            )
    columns = ["staff_id", "prefix", "first_name", "last_name", "display_name", "name_key",
               "position", "standing", "unit_code", "work_group", "unit_id", "email"]
    return pd.DataFrame(rows, columns=columns)


def _smis_map(units: pd.DataFrame) -> dict[str, str]:
    """8-digit SMIS code → 10-digit school code, from the units roster's optional SMIS column."""
    if "smis" not in units.columns:
        return {}
    return {s: c for s, c in zip(units["smis"], units["code"]) if is_smis_code(s)}


def _unknown_unit_reason(unit: str) -> str:
    if is_smis_code(unit):
        return (
            f"รหัสหน่วยงาน '{unit}' เป็นรหัส SMIS 8 หลัก ซึ่งไม่มีในทะเบียนหน่วยงาน "
            "ให้ใช้รหัสสถานศึกษา 10 หลัก หรือเพิ่มคอลัมน์รหัส SMIS ในแท็บหน่วยงาน "
            "แล้วตั้งชื่อคอลัมน์ที่ sources.units.columns.smis ในไฟล์ตั้งค่า"
        )
    return f"รหัสหน่วยงาน '{unit}' ไม่มีในทะเบียนหน่วยงาน"


def _shown_id(value: Any) -> str:
    """An ID cell as a person may see it: masked when it has 13 digits, never in full."""
    nid = normalize_national_id(value)
    if len(nid) == 13:
        return mask_national_id(nid)
    text = clean_text(value)
    digits = len(re.sub(r"\D", "", text))
    if not text:
        return "ว่าง"
    return text if digits < 5 else f"ตัวเลข {digits} หลัก"


class PersonMatcher:
    """Find a roster person by national ID, else by name (within the unit first)."""

    def __init__(self, staff: pd.DataFrame) -> None:
        self.unit_of = dict(zip(staff["staff_id"], staff["unit_code"]))
        self.by_name: dict[str, list[str]] = {}
        self.by_unit_name: dict[tuple[str, str], list[str]] = {}
        for sid, key, unit in zip(staff["staff_id"], staff["name_key"], staff["unit_code"]):
            self.by_name.setdefault(key, []).append(sid)
            self.by_unit_name.setdefault((unit, key), []).append(sid)

    def match(self, raw_id: Any, raw_name: Any, unit: str = "") -> tuple[str | None, str]:
        """``(staff_id, how)``; ``how`` is "id", "name", or a Thai reason when unmatched."""
        nid = normalize_national_id(raw_id)
        if nid in self.unit_of:
            return nid, "id"
        # Every reading of the typed name (titles removed or not): see thai.name_forms.
        forms = name_forms(raw_name)
        key = forms[0] if forms else ""
        in_unit = list(dict.fromkeys(s for k in forms for s in self.by_unit_name.get((unit, k), [])))
        anywhere = list(dict.fromkeys(s for k in forms for s in self.by_name.get(k, [])))
        for candidates in (in_unit, anywhere):
            if len(candidates) == 1:
                return candidates[0], "name"
        shown_id = clean_text(raw_id) or "(ว่าง)"
        if nid and not is_valid_national_id(nid):
            why = f"เลขประจำตัวประชาชน '{shown_id}' ไม่ถูกต้อง"
        elif nid:
            why = f"ไม่พบเลขประจำตัวประชาชน '{shown_id}' ในทะเบียนบุคลากร"
        else:
            why = "ไม่ได้กรอกเลขประจำตัวประชาชน"
        if len(anywhere) > 1:
            return None, f"{why} และชื่อ '{key}' ซ้ำกันหลายคนในทะเบียน"
        return None, f"{why} และไม่พบชื่อ '{key or '(ว่าง)'}' ในทะเบียนบุคลากร"


def split_choices(text: Any, options: Iterable[str]) -> tuple[str, ...]:
    """Split a Forms checkbox answer: Forms joins checked answers with ", " (comma and space).

    Known options are taken first (an option whose own text contains ", " stays
    whole; spelling and case are compared normalized, the option's own text is
    returned). Whatever is left is the one "อื่น ๆ" (Other) answer, kept whole
    even when it contains commas. With no options known, the answer is split
    at ", " only: a bare comma ("Coaching,Mentoring") is never a separator.
    """
    rest = clean_text(text)
    if not rest:
        return ()
    parts = [p.strip() for p in rest.split(", ")]
    known = {compare_key(o): clean_text(o) for o in options if clean_text(o)}
    if not known:
        return tuple(p for p in parts if p)
    longest = max(o.count(", ") for o in known.values()) + 1
    chosen: list[str] = []
    other: list[str] = []
    other_at = -1
    i = 0
    while i < len(parts):
        for j in range(min(len(parts), i + longest), i, -1):
            option = known.get(compare_key(", ".join(parts[i:j])))
            if option is not None:
                chosen.append(option)
                i = j
                break
        else:
            if other_at < 0:
                other_at = len(chosen)
            other.append(parts[i])
            i += 1
    answer = ", ".join(p for p in other if p)
    if answer:
        chosen.insert(other_at, answer)
    return tuple(chosen)


def normalize_survey(
    raw: pd.DataFrame, matcher: PersonMatcher, units: pd.DataFrame, settings: Settings,
    bad: Issues, notes: Issues,
) -> pd.DataFrame:
    """The latest survey answer of each matched person; earlier duplicates go to notes."""
    unit_names = dict(zip(units["code"], units["name"]))
    order = date_order(raw["timestamp"]) if "timestamp" in raw.columns else DAY_FIRST
    rows = []
    for _, row in raw.iterrows():
        sid, how = matcher.match(row["national_id"], row["full_name"])
        if sid is None:
            bad.add(row, how, row["full_name"])
            continue
        unit = matcher.unit_of[sid]
        if how == "name":
            notes.add(row, NAME_MATCH_NOTE, row["national_id"], unit)
        typed_unit = clean_text(_get(row, "unit_name"))
        if typed_unit and school_name_key(typed_unit) != school_name_key(unit_names.get(unit, typed_unit)):
            notes.add(row, f"ชื่อหน่วยงานที่กรอก '{typed_unit}' ไม่ตรงกับทะเบียน '{unit_names[unit]}'", typed_unit, unit)
        rows.append(
            {
                "staff_id": sid,
                "submitted_at": _timestamp(row, order, unit, notes),
                "topics": split_choices(row["topics"], settings.vocabulary.survey_topics),
                "methods": split_choices(_get(row, "methods"), settings.vocabulary.survey_methods),
                "_sheet": row["_sheet"], "_tab": row["_tab"], "_row": row["_row"], "_unit": unit,
            }
        )
    frame = pd.DataFrame(rows, columns=["staff_id", "submitted_at", "topics", "methods", "_sheet", "_tab", "_row", "_unit"])
    # An unreadable timestamp sorts first, so any dated answer supersedes it.
    order = frame.assign(_when=frame["submitted_at"].map(lambda t: float("-inf") if pd.isna(t) else t.timestamp()))
    order = order.sort_values(["_when", "_row"], kind="stable")
    superseded = order.duplicated("staff_id", keep="last")
    for _, row in order[superseded].iterrows():
        notes.add(row, "ส่งแบบสำรวจซ้ำ ใช้คำตอบครั้งล่าสุดแทน", "", row["_unit"])
    return order[~superseded].drop(columns="_when").sort_values("_row").reset_index(drop=True)


def _timestamp(row: Any, order: str, unit: str, notes: Issues) -> Any:
    """A survey row's time; an unreadable one is noted (it decides which duplicate answer wins)."""
    when = parse_datetime(row["timestamp"], order)
    if when is None:
        notes.add(row, "ประทับเวลา" + date_problem(row["timestamp"], order).removeprefix("วันที่"), row["timestamp"], unit)
    return when


def normalize_plans(raw: pd.DataFrame, matcher: PersonMatcher, bad: Issues, notes: Issues) -> pd.DataFrame:
    """ID Plan rows matched to staff, with their fiscal year."""
    rows = []
    for _, row in raw.iterrows():
        sid, how = matcher.match(row["national_id"], row["full_name"], row["_unit"])
        year = _number(row["fiscal_year"])
        if sid is None:
            bad.add(row, how, row["full_name"])
        elif year is None or not 2500 <= year <= 2700:
            bad.add(row, "ปีงบประมาณต้องเป็นปี พ.ศ. 4 หลัก เช่น 2562", row["fiscal_year"])
        else:
            if how == "name":
                notes.add(row, NAME_MATCH_NOTE, row["national_id"])
            rows.append(
                {
                    "staff_id": sid, "fiscal_year": int(year), "topic": clean_text(row["topic"]),
                    "method": clean_text(_get(row, "method")), "hours": _number(_get(row, "hours")) or 0,
                    "_sheet": row["_sheet"], "_tab": row["_tab"], "_row": row["_row"], "_unit": row["_unit"],
                }
            )
    return pd.DataFrame(rows, columns=["staff_id", "fiscal_year", "topic", "method", "hours", "_sheet", "_tab", "_row", "_unit"])


def normalize_records(
    raw: pd.DataFrame, matcher: PersonMatcher, settings: Settings, bad: Issues, notes: Issues
) -> pd.DataFrame:
    """Development-done rows matched to staff, dated, typed and marked done or not."""
    kinds = {k.casefold(): k for k in settings.vocabulary.development_kinds}
    done = {clean_text(s) for s in settings.vocabulary.done_statuses}
    # Each unit's spreadsheet has its own locale: day/month order is worked out per spreadsheet.
    orders = {sheet: date_order(group["date"]) for sheet, group in raw.groupby("_sheet")} if len(raw) else {}
    rows = []
    for _, row in raw.iterrows():
        sid, how = matcher.match(row["national_id"], row["full_name"], row["_unit"])
        order = orders.get(row["_sheet"], DAY_FIRST)
        when = parse_datetime(row["date"], order)
        kind = kinds.get(clean_text(row["kind"]).casefold())
        if sid is None:
            bad.add(row, how, row["full_name"])
        elif when is None:
            bad.add(row, date_problem(row["date"], order), row["date"])
        elif kind is None:
            allowed = ", ".join(settings.vocabulary.development_kinds)
            bad.add(row, f"ประเภทการพัฒนาไม่อยู่ในรายการ (ใช้ได้: {allowed})", row["kind"])
        else:
            if how == "name":
                notes.add(row, NAME_MATCH_NOTE, row["national_id"])
            rows.append(
                {
                    "staff_id": sid, "date": when.date(), "fiscal_year": fiscal_year(when.date()),
                    "kind": kind, "topic": clean_text(row["topic"]),
                    "hours": _number(_get(row, "hours")) or 0,
                    "done": clean_text(row["status"]) in done,
                    "evidence": clean_text(_get(row, "evidence")),
                    "_sheet": row["_sheet"], "_tab": row["_tab"], "_row": row["_row"], "_unit": row["_unit"],
                }
            )
    columns = ["staff_id", "date", "fiscal_year", "kind", "topic", "hours", "done", "evidence",
               "_sheet", "_tab", "_row", "_unit"]
    return pd.DataFrame(rows, columns=columns)


def _get(row: Any, field: str) -> Any:
    return row[field] if field in row.index else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if value != value else value
    text = to_arabic_digits(clean_text(value)).replace(",", "")
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def leave_out(data: Normalized, problems: dict[str, str], keys: dict[str, str]) -> Normalized:
    """Drop units whose own spreadsheet could not be used, and list each as a row to fix.

    Their staff leave every population too: a unit that could not be read is
    neither credited nor blamed until it is fixed.
    """
    if not problems:
        return data
    gone = set(problems)
    staff = data.staff[~data.staff["unit_code"].isin(gone)].reset_index(drop=True)
    survey = data.survey[~data.survey["_unit"].isin(gone)].reset_index(drop=True)
    rows = [
        {"_sheet": keys[code], "_tab": "", "_row": 0, "unit_code": code, "reason": why, "value": ""}
        for code, why in problems.items()
    ]
    quarantine = pd.concat([data.quarantine, pd.DataFrame(rows, columns=ISSUE_COLUMNS)], ignore_index=True)
    units = data.units[~data.units["code"].isin(gone)].reset_index(drop=True)
    return Normalized(units, staff, survey, data.plans, data.records, quarantine, data.notes)
