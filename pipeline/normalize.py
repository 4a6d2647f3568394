"""Normalize: clean raw rows and map them to staff, units and fiscal years.

Pure functions over DataFrames. Nothing is dropped silently: a row that cannot
be used goes to ``quarantine`` with a Thai reason a person can act on; a row
that was repaired or superseded is kept and explained in ``notes``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Iterable

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype
from rapidfuzz.distance import OSA

from pipeline.collect import Collected
from pipeline.config import Settings
from pipeline.money import funding_table, parse_baht, read_funding
from pipeline.overrides import Overrides, parse_overrides
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
    written_name,
)
from pipeline.workbook import CellError

UNIT_KINDS = {"โรงเรียน": "school", "สถานศึกษา": "school", "สำนักงานเขตพื้นที่": "office"}
YES = {"ใช่", "มี", "yes", "y", "true", "1", "✓", "จัด"}
NO = {"", "ไม่ใช่", "ไม่", "ไม่มี", "ไม่จัด", "no", "n", "false", "0", "-", "✗"}
NO_GROUP = "(ไม่ระบุกลุ่มงาน)"
NAME_MATCH_NOTE = "จับคู่ด้วยชื่อ เพราะเลขประจำตัวประชาชนไม่ตรงกับทะเบียน"
EMAIL_MATCH_NOTE = "จับคู่ด้วยอีเมล เพราะเลขประจำตัวประชาชนไม่ตรงกับทะเบียน"
NAME_MATCH_NOTE_BLANK = "จับคู่ด้วยชื่อ เพราะไม่ได้กรอกเลขประจำตัวประชาชน"
EMAIL_MATCH_NOTE_BLANK = "จับคู่ด้วยอีเมล เพราะไม่ได้กรอกเลขประจำตัวประชาชน"
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


#: the types of the values ``frame_rows`` takes as they are (pandas' boxing leaves them unchanged)
_NATIVE = frozenset({str, int, float, bool, type(None)})


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict("records")``: the same plain dicts of the same values, made faster (every row of a
    source is worked on as a dict; a Series per row costs more than the row's work).

    Each column is read as ``to_dict`` reads it, by iterating it (``tolist`` gives the same values without
    fetching them one by one, for numpy's columns and pandas' ``str``), and pandas boxes each value of an
    object or extension column (``_boxed``: a numpy scalar becomes Python's, ``pd.NA`` None): a text, a Python
    number or None is already what that gives, so only other values go through it.
    """
    columns = frame.columns.tolist()
    values = []
    for k in range(len(columns)):
        column = frame.iloc[:, k]
        dtype = column.dtype
        cells = column.tolist() if isinstance(dtype, (np.dtype, pd.StringDtype)) else list(column)
        if dtype == np.dtype(object) or isinstance(dtype, ExtensionDtype):
            cells = [v if type(v) in _NATIVE else _boxed(v) for v in cells]
        values.append(cells)
    return [dict(zip(columns, row)) for row in zip(*values)]


def _boxed(value: Any) -> Any:
    """A value of an object or extension column as ``to_dict`` gives it: a number or truth value (numpy's or a
    subclass) as Python's own, numpy's times as pandas', ``pd.NA`` as None; anything else as it is. (pandas'
    own ``maybe_box_native`` does this, but it is not public API.)"""
    if value is pd.NA:
        return None
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value)
    if isinstance(value, np.timedelta64):  # before the integers: numpy counts it as one
        return pd.Timedelta(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


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

    def copy(self) -> "Issues":
        found = Issues()
        found.rows = list(self.rows)
        return found


def normalize(raw: Collected, settings: Settings) -> Normalized:
    """Clean every source and match rows to the rosters."""
    return normalize_idplans(normalize_rosters(raw, settings), raw.plans, raw.records, settings, raw.record_extras)


@dataclass
class Rosters:
    """The rosters and the survey, cleaned: what every ID Plan row is matched against."""

    units: pd.DataFrame
    staff: pd.DataFrame
    survey: pd.DataFrame
    matcher: PersonMatcher
    overrides: Overrides
    #: what cleaning them found so far
    bad: Issues
    notes: Issues


def normalize_rosters(raw: Collected, settings: Settings) -> Rosters:
    """The units and staff rosters, the corrections tab and the survey, cleaned and matched."""
    bad, notes = Issues(), Issues()
    units = normalize_units(errors_as_missing(raw.units, bad), settings.area.office_code, bad, notes)
    positions = position_table(settings.vocabulary.positions)
    conflicts: dict[str, IdConflict] = {}
    staff = normalize_staff(errors_as_missing(raw.staff, bad), units, settings.area.office_code, bad, notes,
                            positions, conflicts)
    overrides_raw = None if raw.overrides is None else errors_as_missing(raw.overrides, bad)
    overrides = read_overrides(replace(raw, overrides=overrides_raw), staff, conflicts, bad)
    matcher = PersonMatcher(staff, conflicts, overrides)
    survey = normalize_survey(errors_as_missing(raw.survey, bad), matcher, units, settings, bad, notes)
    return Rosters(units, staff, survey, matcher, overrides, bad, notes)


def normalize_idplans(
    rosters: Rosters, plans: pd.DataFrame, records: pd.DataFrame, settings: Settings,
    extras: dict[str, frozenset[str]] | None = None,
) -> Normalized:
    """ID Plan rows (of every unit, or of some) matched against ``rosters``; ``rosters`` is left as it was.
    ``extras``: which optional record columns each unit's record tab has."""
    bad, notes = rosters.bad.copy(), rosters.notes.copy()
    plans = normalize_plans(errors_as_missing(plans, bad), rosters.matcher, bad, notes)
    records = normalize_records(errors_as_missing(records, bad), rosters.matcher, settings, bad, notes, extras)
    for unused in rosters.overrides.unused():
        origin = pd.Series({"_sheet": unused.sheet, "_tab": unused.tab, "_row": unused.row})
        notes.add(origin, "ไม่มีแถวใดตรงกับการแก้ไขนี้ (แถวต้นทางอาจแก้แล้ว หรือระบุตำแหน่ง/ชื่อไม่ตรง): "
                          "ตรวจตำแหน่งแถว หรือลบแถวนี้ออก", mask_national_id(unused.target))
    return Normalized(rosters.units, rosters.staff, rosters.survey, plans, records, bad.frame(), notes.frame())


def errors_as_missing(frame: pd.DataFrame, bad: Issues) -> pd.DataFrame:
    """A cell whose formula gives an error has no value: listed to be fixed (with its cell), then read as empty.

    ``_errors`` holds, per row, the fields that were errors, so no later step takes
    the empty cell for one a person left empty (and, say, asks for a status to be added).
    """
    cells = frame.to_numpy(dtype=object)
    hits = np.fromiter((isinstance(v, CellError) for v in cells.flat), bool, cells.size).reshape(cells.shape)
    if not hits.any():
        return frame.assign(_errors=[()] * len(frame))
    errors: list[tuple[str, ...]] = [()] * len(frame)
    at = np.flatnonzero(hits.any(axis=1))  # only the rows with an error are looked at, as plain dicts
    for position, row in zip(at, frame_rows(frame.iloc[at])):
        fields = tuple(f for f, hit in zip(frame.columns, hits[position]) if hit)
        for field in fields:
            error = row[field]
            bad.add(row, f"สูตรในช่อง {error.cell} ให้ค่าผิดพลาด ({error.code}) จึงนับเป็นช่องว่าง: "
                         "แก้สูตรในช่องนี้ หรือพิมพ์ค่าลงไปแทนสูตร", error.code, clean_text(_get(row, "unit_code")))
        errors[position] = fields
    return frame.mask(hits, None).assign(_errors=errors)


def read_overrides(raw: Collected, staff: pd.DataFrame, conflicts: dict[str, IdConflict], bad: Issues) -> Overrides:
    """The office's corrections tab, checked against the roster; a tab that cannot be read is reported."""
    problem = raw.overrides_problem
    if problem:
        sheet, tab, why = problem
        bad.add(pd.Series({"_sheet": sheet, "_tab": tab, "_row": 1}), why)
    return parse_overrides(raw.overrides, set(staff["staff_id"]), conflicts, bad)


def office_code_problem(raw: Collected, settings: Settings) -> tuple[str, str] | None:
    """Why ``area.office_code`` is the config's mistake, in Thai (what, what to do); else None.

    It is when the code names no unit of the units roster and no staff member's unit, while the
    roster has an office row whose code staff do name: every office row and all the office's staff
    would be unusable, so it is said once, with that row as the fix. A roster whose office row is
    itself wrong (its code mistyped, staff naming the configured code) is the roster's problem: that
    row is quarantined as any bad row is.
    """
    code = normalize_code(settings.area.office_code)
    staff_codes = {normalize_code(c) for c in raw.staff["unit_code"]}
    if code in {normalize_code(c) for c in raw.units["code"]} or code in staff_codes:
        return None
    offices = [f"{normalize_code(row['code'])} ({clean_text(row['name'])})" for row in frame_rows(raw.units)
               if UNIT_KINDS.get(clean_text(row["kind"])) == "office" and normalize_code(row["code"]) in staff_codes]
    if not offices:
        return None
    units = settings.sources.units
    roster = f"ไม่ตรงกับหน่วยงานใดในทะเบียนหน่วยงาน ('{units.spreadsheet}' แท็บ '{units.tab}')"
    if settings.source_file is None:  # asked by init, before there is a config file
        return f"รหัส '{settings.area.office_code}' {roster}", f"ใส่รหัสของสำนักงานเขตตามทะเบียน: {', '.join(offices)}"
    return (
        f"area.office_code '{settings.area.office_code}' ในไฟล์ตั้งค่า {settings.source_file} {roster}",
        f"แก้ area.office_code เป็นรหัสของสำนักงานเขตตามทะเบียน: {', '.join(offices)}",
    )


def unit_codes(raw_units: pd.DataFrame, office_code: str) -> list[str]:
    """Codes of the roster's usable units: the ones whose ID Plan spreadsheets are read."""
    return list(normalize_units(raw_units, office_code, Issues())["code"])


def normalize_units(raw: pd.DataFrame, office_code: str, bad: Issues, notes: Issues | None = None) -> pd.DataFrame:
    """One row per unit (school or the office), keyed by its code; odd yes/no answers are noted."""
    rows, seen = [], set()
    for row in frame_rows(raw):
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
            stem = clean_text(row["stem"]).lower()
            if notes is not None and stem not in YES and stem not in NO:
                notes.add(row, f"ค่า '{clean_text(row['stem'])}' ในคอลัมน์สะเต็มศึกษาไม่ใช่ ใช่/ไม่ใช่ "
                               "จึงนับว่าไม่ได้จัดการเรียนรู้สะเต็มศึกษา แก้เป็น ใช่ หรือ ไม่ใช่", row["stem"], code)
            rows.append(
                {
                    "code": code,
                    "name": clean_text(row["name"]),
                    "kind": kind,
                    "district": clean_text(row["district"]),
                    "director_email": clean_text(row["director_email"]),
                    "stem": stem in YES,
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
    positions: dict[str, str] | None = None, conflicts: dict[str, "IdConflict"] | None = None,
) -> pd.DataFrame:
    """One row per person with a valid national ID and a known unit.

    Titles typed into the first name are moved to the prefix (noted): when the
    prefix column is filled, only a title ending in "." or followed by a space
    is moved, so a first name such as นางนวล stays whole. The position cell is
    read into a canonical position and a standing; a position no alias covers
    is kept as typed and noted.

    Two roster rows with one national ID are one person when their names are
    the same up to a slip (a note); otherwise the ID is a conflict: every row
    carrying it is quarantined and recorded in ``conflicts``, so that nothing
    is credited to either person until the roster is fixed.
    """
    known_units = set(units["code"])
    smis_to_code = _smis_map(units)
    table = position_table() if positions is None else positions
    parsed = []
    for row in frame_rows(raw):
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
            continue
        parsed.append((row, nid, unit, prefix, first, last, full, name_key(first, last)))
    by_id: dict[str, list[tuple]] = {}
    for item in parsed:
        by_id.setdefault(item[1], []).append(item)
    found = id_conflicts(by_id)
    if conflicts is not None:
        conflicts.update(found)
    rows: list[dict[str, Any]] = []
    kept: dict[str, tuple[int, str]] = {}
    for row, nid, unit, prefix, first, last, full, key in parsed:
        if nid in found:
            bad.add(row, found[nid].reason(), f"{full} ({mask_national_id(nid)})", unit)
        elif unit not in known_units:
            bad.add(row, _unknown_unit_reason(unit), full, unit)
        elif nid in kept:
            first_row, first_full = kept[nid]
            same = "ชื่อตรงกัน" if first_full == full else f"ชื่อต่างกันเพียงพิมพ์ผิดเล็กน้อย: '{first_full}'"
            notes.add(row, f"บุคคลเดียวกันอยู่ในทะเบียนซ้ำ (เลขประจำตัวประชาชนเดียวกับแถว {first_row}, {same}) "
                           f"ใช้ข้อมูลแถว {first_row} และไม่นับแถวนี้ซ้ำ: ลบแถวที่ซ้ำออกได้",
                      f"{full} ({mask_national_id(nid)})", unit)
        else:
            kept[nid] = (int(row["_row"]), full)
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
                    "display_name": written_name(prefix, first, last),
                    "name_key": key,
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


#: Executives first, then teachers, then other staff, as Thai staff lists are read.
POSITION_ORDER = ("ผู้อำนวยการ", "รองผู้อำนวยการ", "ศึกษานิเทศก์", "ครู", "ครูผู้ช่วย")


def position_rank(position: str) -> int:
    """Sort key of a position: ผู้อำนวยการ… before รอง… before ครู before others."""
    for rank, start in enumerate(POSITION_ORDER):
        if position == start or (start.endswith("อำนวยการ") and position.startswith(start)):
            return rank
    return len(POSITION_ORDER)


def reading_order(staff: pd.DataFrame) -> pd.DataFrame:
    """Staff rows as a staff list shows them: by work group, then position (``position_rank``), then first name."""
    ranked = staff.assign(_rank=staff["position"].map(position_rank))
    return ranked.sort_values(["work_group", "_rank", "first_name"], kind="stable").drop(columns="_rank")


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


#: A typed name counts as the roster's name when it is at most this many edits
#: away (Damerau-Levenshtein, optimal string alignment) after removing the title
#: and spaces: one keystroke (a wrong, missing or extra letter or tone mark, or
#: a vowel and tone mark typed in the other order). Two people's names in the
#: roster differ by several letters; a married surname or another person's name
#: is far beyond one edit. Beyond it the person is still credited by ID and the
#: row is listed as a note, so a strict threshold costs a glance, not a credit.
NAME_SLIP_EDITS = 1


@functools.lru_cache(maxsize=1 << 16)
def name_form(key: str) -> str:
    """A name key as compared for slips: NFKC (one form of สระอำ and friends), no spaces, no case."""
    return unicodedata.normalize("NFKC", key).replace(" ", "").casefold()


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance of ``a`` and ``b``, capped at ``limit`` (rapidfuzz's OSA, in C)."""
    return min(OSA.distance(a, b, score_cutoff=limit), limit)


def same_name(a: str, b: str) -> bool:
    """True when two name keys are one name, allowing one slip (see ``NAME_SLIP_EDITS``)."""
    if a == b:
        return True
    return edit_distance(name_form(a), name_form(b)) <= NAME_SLIP_EDITS


@dataclass
class IdConflict:
    """One national ID on roster rows of different people."""

    national_id: str
    #: (sheet, tab, row, full name, name key, e-mail) of every roster row with the ID
    rows: list[tuple[str, str, int, str, str, str]]

    def where(self) -> str:
        return " และ ".join(f"'{full}' ({sheet} แท็บ '{tab}' แถว {row})" for sheet, tab, row, full, _, _ in self.rows)

    def reason(self) -> str:
        """For the roster rows themselves."""
        return (
            f"เลขประจำตัวประชาชน {mask_national_id(self.national_id)} ซ้ำกันในทะเบียนแต่เป็นคนละชื่อ: {self.where()} "
            "จึงยังไม่นับข้อมูลใดของเลขนี้ให้ทั้งสองคน (ไม่อยู่ในรายชื่อบุคลากรและตัวชี้วัด): "
            "ตรวจเลขกับบัตรประชาชนของแต่ละคน แล้วแก้เลขที่ผิดในทะเบียน"
        )

    def pointer(self) -> str:
        """For a survey, plan or record row that carries the ID, or the name of one of the rows."""
        return (
            f"ยังไม่นับแถวนี้ให้ใคร เพราะเลขประจำตัวประชาชน {mask_national_id(self.national_id)} ซ้ำกันในทะเบียน"
            f"บุคลากรแต่เป็นคนละชื่อ: {self.where()}: แก้เลขที่ผิดในทะเบียน แล้วแถวนี้จะถูกนับในการประมวลผลครั้งถัดไป"
        )


def id_conflicts(by_id: dict[str, list[tuple]]) -> dict[str, IdConflict]:
    """IDs whose roster rows name people beyond a slip apart (``by_id``: normalize_staff's parsed rows)."""
    found = {}
    for nid, items in by_id.items():
        keys = [item[7] for item in items]
        if any(not same_name(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]):
            found[nid] = IdConflict(nid, [
                (row["_sheet"], row["_tab"], int(row["_row"]), full, key, clean_text(_get(row, "email")).casefold())
                for row, _, _, _, _, _, full, key in items
            ])
    return found


@dataclass(frozen=True)
class Match:
    """Who a row belongs to, and how that was decided."""

    staff_id: str | None
    #: "id", "email", "name" or "override" when matched; "" when not
    how: str
    #: Thai: why the row could not be matched
    reason: str = ""
    #: Thai: the row was matched, but a person should look at it
    note: str = ""


class PersonMatcher:
    """Find a roster person: an override, else national ID, else e-mail, else name (within the unit first).

    A national ID that the roster gives to two different people (``conflicts``)
    is never matched, and neither is the name or e-mail of either person.
    """

    def __init__(
        self, staff: pd.DataFrame, conflicts: dict[str, IdConflict] | None = None,
        overrides: Overrides | None = None,
    ) -> None:
        self.unit_of = dict(zip(staff["staff_id"], staff["unit_code"]))
        self.key_of = dict(zip(staff["staff_id"], staff["name_key"]))
        names = staff["display_name"] if "display_name" in staff else staff["name_key"]
        self.display = dict(zip(staff["staff_id"], names))
        self.by_name: dict[str, list[str]] = {}
        self.by_unit_name: dict[tuple[str, str], list[str]] = {}
        self.by_email: dict[str, list[str]] = {}
        for sid, key, unit in zip(staff["staff_id"], staff["name_key"], staff["unit_code"]):
            # Names are compared without case: MRS. JANE SMITH is Jane Smith.
            self.by_name.setdefault(key.casefold(), []).append(sid)
            self.by_unit_name.setdefault((unit, key.casefold()), []).append(sid)
        if "email" in staff:
            for sid, mail in zip(staff["staff_id"], staff["email"]):
                if clean_text(mail):
                    self.by_email.setdefault(clean_text(mail).casefold(), []).append(sid)
        self.conflicts = conflicts or {}
        self.conflict_of_name: dict[str, IdConflict] = {}
        self.conflict_of_email: dict[str, IdConflict] = {}
        for conflict in self.conflicts.values():
            for *_, key, mail in conflict.rows:
                self.conflict_of_name[key.casefold()] = conflict
                if mail:
                    self.conflict_of_email[mail] = conflict
        self.overrides = overrides

    def match(self, raw_id: Any, raw_name: Any, unit: str = "", email: Any = "") -> tuple[str | None, str]:
        """``(staff_id, how)``; ``how`` is "id", "email", "name", or a Thai reason when unmatched."""
        found = self.find(raw_id, raw_name, unit, email)
        return (found.staff_id, found.how) if found.staff_id else (None, found.reason)

    def find(
        self, raw_id: Any, raw_name: Any, unit: str = "", email: Any = "",
        origin: tuple[str, str, int] | None = None,
    ) -> Match:
        nid = normalize_national_id(raw_id)
        # Every reading of the typed name (titles removed or not): see thai.name_forms.
        readings = name_forms(raw_name)
        forms = [reading.casefold() for reading in readings]
        key = readings[0] if readings else ""
        mail = clean_text(email).casefold()
        if self.overrides is not None:
            chosen = self.overrides.find(origin, nid, forms, roster_id=nid if nid in self.unit_of else "")
            if chosen is not None:
                shown = f"{self.display[chosen.target]} ({mask_national_id(chosen.target)})"
                return Match(chosen.target, "override", note=f"จับคู่กับ {shown} ตาม{chosen.where()}")
        if nid in self.conflicts:
            return Match(None, "", self.conflicts[nid].pointer())
        if nid in self.unit_of:
            note = self._name_check(nid, readings)
            others = [s for k in forms for s in self.by_name.get(k, []) if s != nid] if note else []
            if others:  # the ID is one roster person's, the name another's: credit neither
                return Match(None, "", (
                    f"เลขประจำตัวประชาชน {mask_national_id(nid)} เป็นของ '{self.key_of[nid]}' แต่ชื่อ '{key}' "
                    f"เป็นของอีกคนในทะเบียน ({mask_national_id(others[0])}) จึงยังไม่นับแถวนี้ให้ใคร: "
                    "แก้เลขหรือชื่อในแถวนี้ให้เป็นของคนเดียวกัน หรือระบุคนที่ถูกต้องในแท็บ 'แก้ไขข้อมูล'"
                ))
            return Match(nid, "id", note=note)
        if mail in self.by_email and len(self.by_email[mail]) == 1:
            return Match(self.by_email[mail][0], "email")
        in_unit = list(dict.fromkeys(s for k in forms for s in self.by_unit_name.get((unit, k), [])))
        anywhere = list(dict.fromkeys(s for k in forms for s in self.by_name.get(k, [])))
        for candidates in (in_unit, anywhere):
            if len(candidates) == 1:
                return Match(candidates[0], "name")
        named = next((self.conflict_of_name[k] for k in forms if k in self.conflict_of_name), None)
        if named is not None:
            return Match(None, "", named.pointer())
        if mail in self.conflict_of_email:
            return Match(None, "", self.conflict_of_email[mail].pointer())
        shown_id = mask_national_id(nid) if len(nid) == 13 else clean_text(raw_id) or "(ว่าง)"
        if nid and not is_valid_national_id(nid):
            why = f"เลขประจำตัวประชาชน '{shown_id}' ไม่ถูกต้อง"
        elif nid:
            why = f"ไม่พบเลขประจำตัวประชาชน '{shown_id}' ในทะเบียนบุคลากร"
        elif len(self.by_email.get(mail, [])) > 1:
            why = f"ไม่ได้กรอกเลขประจำตัวประชาชน และอีเมล '{clean_text(email)}' เป็นของหลายคนในทะเบียนบุคลากร"
        elif mail:
            why = f"ไม่ได้กรอกเลขประจำตัวประชาชน และไม่พบอีเมล '{clean_text(email)}' ในทะเบียนบุคลากร"
        else:
            why = "ไม่ได้กรอกเลขประจำตัวประชาชน"
        if len(anywhere) > 1:
            return Match(None, "", f"{why} และชื่อ '{key}' ซ้ำกันหลายคนในทะเบียน")
        return Match(None, "", f"{why} และไม่พบชื่อ '{key or '(ว่าง)'}' ในทะเบียนบุคลากร")

    def _name_check(self, nid: str, forms: list[str]) -> str:
        """A note when no reading of the typed name is the roster name of ``nid`` (beyond a slip)."""
        roster = self.key_of[nid]
        if not forms or any(same_name(form, roster) for form in forms):
            return ""
        key = forms[0]
        return (
            f"ชื่อที่กรอก '{key}' ไม่ตรงกับชื่อในทะเบียน '{roster}' ของเลขประจำตัวประชาชน "
            f"{mask_national_id(nid)}: นับให้ '{roster}' ตามเลข ตรวจว่าเป็นคนเดียวกัน (เช่น เปลี่ยนชื่อหรือนามสกุล) "
            "ถ้าไม่ใช่ ให้แก้เลขในแถวนี้ หรือระบุคนที่ถูกต้องในแท็บ 'แก้ไขข้อมูล'"
        )


def locate(row: Any, matcher: PersonMatcher, unit: str = "") -> Match:
    """Who a survey, plan or record row belongs to (its fields ``national_id``, ``full_name``, ``email``)."""
    origin = (row["_sheet"], row["_tab"], int(row["_row"]))
    return matcher.find(_get(row, "national_id"), _get(row, "full_name"), unit, _get(row, "email"), origin)


def shown_identity(row: Any) -> str:
    """What a person typed to say who they are, for a reason's value column (IDs masked)."""
    name, email = clean_text(_get(row, "full_name")), clean_text(_get(row, "email"))
    raw_id = normalize_national_id(_get(row, "national_id"))
    return name or email or (mask_national_id(raw_id) if raw_id else "(ว่าง)")


def note_match(row: Any, found: Match, notes: Issues, has_id: bool = True, unit: str = "") -> None:
    """Notes for a credited row: a name to check, a match made by e-mail or name, an override used.

    A match by e-mail or name is noted only when the source asks for a national ID (``has_id``).
    """
    if found.note:
        notes.add(row, found.note, shown_identity(row), unit)
    typed = _get(row, "national_id")
    blank = clean_text(typed) == ""
    if has_id and found.how == "name":
        notes.add(row, NAME_MATCH_NOTE_BLANK if blank else NAME_MATCH_NOTE, typed, unit)
    elif has_id and found.how == "email":
        notes.add(row, EMAIL_MATCH_NOTE_BLANK if blank else EMAIL_MATCH_NOTE, typed, unit)


def split_choices(text: Any, options: Iterable[str]) -> tuple[str, ...]:
    """Split a Forms checkbox answer: Forms joins checked answers with ", " (comma and space).

    Known options are taken first (an option whose own text contains ", " stays
    whole; spelling and case are compared normalized, the option's own text is
    returned). Whatever is left is the one "อื่น ๆ" (Other) answer, kept whole
    even when it contains commas. With no options known, the answer is split
    at ", " only: a bare comma ("Coaching,Mentoring") is never a separator.
    Commas left at the ends of an answer (``"ศึกษาดูงาน, "``) are dropped.
    """
    rest = clean_text(text)
    if not rest:
        return ()
    # A separator left at either end of an answer or doubled ("ศึกษาดูงาน, ") separates nothing.
    parts = [p.strip(" ,") for p in rest.split(", ")]
    known, longest = _options(tuple(options))
    if not known:
        return tuple(p for p in parts if p)
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


@functools.lru_cache(maxsize=64)
def _options(options: tuple[str, ...]) -> tuple[dict[str, str], int]:
    """``split_choices``' options by how they are compared, and the most parts (", ") one of them has."""
    known = {compare_key(o): clean_text(o) for o in options if clean_text(o)}
    return known, max((o.count(", ") for o in known.values()), default=0) + 1


def normalize_survey(
    raw: pd.DataFrame, matcher: PersonMatcher, units: pd.DataFrame, settings: Settings,
    bad: Issues, notes: Issues,
) -> pd.DataFrame:
    """The latest survey answer of each matched person; earlier duplicates go to notes."""
    unit_names = dict(zip(units["code"], units["name"]))
    code_of_name = {school_name_key(name): code for code, name in unit_names.items()}
    has_id = bool(settings.sources.survey.columns.national_id)
    order = date_order(raw["timestamp"]) if "timestamp" in raw.columns else DAY_FIRST
    rows = []
    for row in frame_rows(raw):
        typed_unit = clean_text(_get(row, "unit_name"))
        found = locate(row, matcher, code_of_name.get(school_name_key(typed_unit), "") if typed_unit else "")
        sid = found.staff_id
        if sid is None:
            bad.add(row, found.reason, shown_identity(row))
            continue
        unit = matcher.unit_of[sid]
        note_match(row, found, notes, has_id, unit)
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
    for row in frame_rows(order[superseded]):
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
    for row in frame_rows(raw):
        found = locate(row, matcher, row["_unit"])
        sid = found.staff_id
        year = _number(row["fiscal_year"])
        if sid is None:
            bad.add(row, found.reason, shown_identity(row))
        elif year is None or not 2500 <= year <= 2700:
            bad.add(row, "ปีงบประมาณต้องเป็นปี พ.ศ. 4 หลัก เช่น 2562", row["fiscal_year"])
        else:
            note_match(row, found, notes)
            rows.append(
                {
                    "staff_id": sid, "fiscal_year": int(year), "topic": clean_text(row["topic"]),
                    "method": clean_text(_get(row, "method")), "hours": read_hours(row, notes),
                    "_sheet": row["_sheet"], "_tab": row["_tab"], "_row": row["_row"], "_unit": row["_unit"],
                }
            )
    return pd.DataFrame(rows, columns=["staff_id", "fiscal_year", "topic", "method", "hours", "_sheet", "_tab", "_row", "_unit"])


def normalize_records(
    raw: pd.DataFrame, matcher: PersonMatcher, settings: Settings, bad: Issues, notes: Issues,
    extras: dict[str, frozenset[str]] | None = None,
) -> pd.DataFrame:
    """Development-done rows matched to staff, dated, typed and marked done or not.

    With the optional cost and funding columns (``extras``: unit code -> those its sheet has), each
    record also gets its cost in baht (None: not given) and funding source (see ``read_cost``).
    """
    kinds = {k.casefold(): k for k in settings.vocabulary.development_kinds}
    sources = funding_table(settings.spending.sources)
    done = {clean_text(s) for s in settings.vocabulary.done_statuses}
    not_done = {clean_text(s) for s in settings.vocabulary.not_done_statuses}
    # Each unit's spreadsheet has its own locale: day/month order is worked out per spreadsheet.
    orders = {sheet: date_order(group["date"]) for sheet, group in raw.groupby("_sheet")} if len(raw) else {}
    rows = []
    for row in frame_rows(raw):
        found = locate(row, matcher, row["_unit"])
        sid = found.staff_id
        order = orders.get(row["_sheet"], DAY_FIRST)
        when = parse_datetime(row["date"], order)
        kind = kinds.get(clean_text(row["kind"]).casefold())
        if sid is None:
            bad.add(row, found.reason, shown_identity(row))
        elif when is None:
            bad.add(row, date_problem(row["date"], order), row["date"])
        elif kind is None:
            allowed = ", ".join(settings.vocabulary.development_kinds)
            bad.add(row, f"ประเภทการพัฒนาไม่อยู่ในรายการ (ใช้ได้: {allowed})", row["kind"])
        else:
            note_match(row, found, notes)
            status = clean_text(row["status"])
            if status not in done and status not in not_done and "status" not in (_get(row, "_errors") or ()):
                notes.add(row, status_note(status, settings.vocabulary.done_statuses), row["status"])
            rows.append(
                {
                    "staff_id": sid, "date": when.date(), "fiscal_year": fiscal_year(when.date()),
                    "kind": kind, "topic": clean_text(row["topic"]),
                    "hours": read_hours(row, notes),
                    "done": clean_text(row["status"]) in done,
                    "evidence": clean_text(_get(row, "evidence")),
                    **read_cost(row, sources, (extras or {}).get(row["_unit"], frozenset()), bad, notes),
                    "_sheet": row["_sheet"], "_tab": row["_tab"], "_row": row["_row"], "_unit": row["_unit"],
                }
            )
    columns = ["staff_id", "date", "fiscal_year", "kind", "topic", "hours", "done", "evidence", "cost", "funding",
               "_sheet", "_tab", "_row", "_unit"]
    return pd.DataFrame(rows, columns=columns)


_HOUR_WORDS = re.compile(r"ชั่วโมง|ชม\.?|hours?|hrs?\.?", re.IGNORECASE)


def read_hours(row: Any, notes: Issues) -> float | int:
    """A plan or record row's hours (``12``, ``"๑๒"``, ``"12 ชม."``); a value that is no number is noted and
    counted as 0, never dropped silently; a blank cell is 0."""
    value = _get(row, "hours")
    hours = _number(value)
    if hours is None and isinstance(value, str):
        hours = _number(_HOUR_WORDS.sub("", to_arabic_digits(clean_text(value))).strip())
    if hours is not None and hours >= 0:
        return hours
    if clean_text(value) not in ("", "-", "–", "—"):
        notes.add(row, f"จำนวนชั่วโมง '{clean_text(value)}' ไม่ใช่จำนวนชั่วโมง จึงนับเป็น 0 ชั่วโมง: แก้เป็นตัวเลข เช่น 12",
                  value)
    return 0


def read_cost(
    row: Any, sources: dict[str, str], present: frozenset[str], bad: Issues, notes: Issues
) -> dict[str, Any]:
    """A record's ``cost`` (baht, None when not given) and ``funding`` (the source's canonical name, as typed
    when no alias covers it, "" when not given).

    An unreadable cost is a row to fix (the record itself still counts; only its cost is left out); a
    source no alias covers is kept as typed and noted, as is a cost whose sheet has a source column left
    blank in that row.
    """
    if "cost" not in present:
        return {"cost": None, "funding": ""}
    baht = parse_baht(_get(row, "cost"))
    if baht.problem:
        bad.add(row, baht.problem + " (ยังไม่นับค่าใช้จ่ายของแถวนี้ ส่วนการพัฒนาในแถวนี้นับตามปกติ)", _get(row, "cost"))
    source, known = read_funding(_get(row, "funding"), sources) if "funding" in present else ("", True)
    if not known:
        notes.add(row, f"แหล่งงบประมาณ '{source}' ไม่อยู่ในรายการ จึงสรุปแยกไว้ตามที่กรอก: ถ้าเป็นแหล่งเดียวกับ"
                       "แหล่งในรายการ ให้แก้ในแถวนี้ หรือเพิ่มชื่อนี้ใน [spending.sources] ของไฟล์ตั้งค่า", source)
    elif not source and "funding" in present and baht.amount:
        notes.add(row, "มีค่าใช้จ่ายแต่ไม่ได้ระบุแหล่งงบประมาณ จึงยังไม่หักจากวงเงินพัฒนารายบุคคล: "
                       "ระบุแหล่งงบประมาณในแถวนี้", _get(row, "cost"))
    return {"cost": baht.amount, "funding": source}


def status_note(status: str, done_statuses: list[str]) -> str:
    """Why a record whose status devplan does not know is counted as not done, and how to change that."""
    what = f"สถานะ '{status}' ไม่อยู่ในรายการ" if status else "ไม่ได้กรอกสถานะ"
    return (
        f"{what} จึงนับว่ายังไม่เสร็จ (สถานะที่นับว่าเสร็จ: {', '.join(done_statuses)}) "
        "ถ้าหมายถึงเสร็จแล้ว ให้แก้สถานะในแถวนี้ หรือเพิ่มคำนี้ใน vocabulary.done_statuses ของไฟล์ตั้งค่า"
    )


def _get(row: Any, field: str) -> Any:
    """A row's field (a dict's or a Series'), None where the source has no such column."""
    return row.get(field)


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
