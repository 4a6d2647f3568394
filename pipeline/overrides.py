"""Corrections without code: the office's ``แก้ไขข้อมูล`` tab.

Each row of the tab names the right person (their national ID) for either

* one row of a source tab, by its address (spreadsheet, tab, row), e.g. a
  quarantined survey answer; or
* every row whose typed name, or typed national ID, is the one written here
  (a maiden name, an old ID someone keeps typing).

An address wins over a typed value. A typed ID that belongs to another roster
person is refused: it would move all of that person's rows (use the address).
An override naming someone not in the roster, or an ID the roster gives two
people, is itself reported. Pure: a DataFrame in, an ``Overrides`` out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from pipeline.thai import (
    clean_text,
    is_valid_national_id,
    mask_ids_in_text,
    mask_national_id,
    name_key,
    normalize_national_id,
    to_arabic_digits,
)

_ID_TEXT = re.compile(r"^[0-9๐-๙\s\-]+$")


class IssueSink(Protocol):
    def add(self, origin: Any, reason: str, value: Any = "", unit_code: str = "") -> None: ...


@dataclass(frozen=True)
class Override:
    #: national ID of the right person
    target: str
    #: where the override itself is written
    sheet: str
    tab: str
    row: int

    def where(self) -> str:
        return f"แท็บ '{self.tab}' แถว {self.row}"


@dataclass
class Overrides:
    by_row: dict[tuple[str, str, int], Override] = field(default_factory=dict)
    by_id: dict[str, Override] = field(default_factory=dict)
    by_name: dict[str, Override] = field(default_factory=dict)
    used: set[Override] = field(default_factory=set)

    def find(
        self, origin: tuple[str, str, int] | None, nid: str, keys: list[str], roster_id: str = ""
    ) -> Override | None:
        """The override for a row at ``origin`` with typed ID ``nid`` and name readings ``keys``.

        ``roster_id`` is the typed ID when the roster knows it: a typed-name
        override then applies only if it names that same person.
        """
        chosen = self.by_row.get(origin) if origin is not None else None
        if chosen is None and nid:
            chosen = self.by_id.get(nid)
        named = next((self.by_name[k] for k in keys if k in self.by_name), None)
        if chosen is None and named is not None:
            if not roster_id or roster_id == named.target:
                chosen = named
        if chosen is not None:
            self.used.add(chosen)
        return chosen

    def unused(self) -> list[Override]:
        every = {*self.by_row.values(), *self.by_id.values(), *self.by_name.values()}
        return sorted(every - self.used, key=lambda o: o.row)


def parse_overrides(
    raw: pd.DataFrame | None, staff_ids: set[str], conflicts: dict[str, Any], bad: IssueSink
) -> Overrides:
    """Overrides from the tab's rows; rows that cannot be used go to ``bad`` with a reason.

    ``raw`` has the fields ``spreadsheet``, ``tab``, ``row``, ``typed``,
    ``national_id`` (any may be missing) and ``_sheet``, ``_tab``, ``_row``.
    ``conflicts`` holds the national IDs the roster gives to two people.
    """
    found = Overrides()
    if raw is None:
        return found
    for _, row in raw.iterrows():
        here = Override("", row["_sheet"], row["_tab"], int(row["_row"]))
        target = normalize_national_id(_get(row, "national_id"))
        address = [clean_text(_get(row, f)) for f in ("spreadsheet", "tab", "row")]
        typed = clean_text(_get(row, "typed"))
        shown = mask_ids_in_text(" / ".join(v for v in [*address, typed] if v))
        if not target:
            bad.add(row, "ไม่ได้กรอกเลขประจำตัวประชาชนของคนที่ถูกต้อง", shown)
            continue
        if not is_valid_national_id(target):
            bad.add(row, "เลขประจำตัวประชาชนของคนที่ถูกต้องไม่ถูกต้อง (ต้องมี 13 หลักและหลักสุดท้ายตรวจสอบผ่าน)", shown)
            continue
        if target in conflicts:
            bad.add(row, f"ใช้การแก้ไขนี้ไม่ได้: เลข {mask_national_id(target)} ซ้ำกันในทะเบียนบุคลากรแต่เป็นคนละชื่อ "
                         f"({conflicts[target].where()}): แก้ทะเบียนก่อน", shown)
            continue
        if target not in staff_ids:
            bad.add(row, f"ใช้การแก้ไขนี้ไม่ได้: ไม่พบเลขประจำตัวประชาชน {mask_national_id(target)} ในทะเบียนบุคลากร "
                         "(ต้องเป็นเลขของคนที่มีในทะเบียน)", shown)
            continue
        override = Override(target, here.sheet, here.tab, here.row)
        if any(address):
            number = to_arabic_digits(address[2])
            if not all(address) or not number.isdigit() or int(number) < 2:
                bad.add(row, "ระบุตำแหน่งแถวให้ครบ: ชื่อสเปรดชีต ชื่อแท็บ และเลขแถว (ตั้งแต่ 2 ขึ้นไป)", shown)
                continue
            _put(found.by_row, (address[0], address[1], int(number)), override, row, bad, shown)
        elif typed and _ID_TEXT.match(typed):
            typed_id = normalize_national_id(typed)
            if typed_id in staff_ids and typed_id != target:
                bad.add(row, f"ใช้การแก้ไขนี้ไม่ได้: เลขที่กรอก {mask_national_id(typed_id)} เป็นของคนอื่นในทะเบียน "
                             "จะย้ายทุกแถวของคนนั้น: ระบุเป็นตำแหน่งแถว (สเปรดชีต แท็บ แถว) แทน", shown)
                continue
            _put(found.by_id, typed_id, override, row, bad, shown)
        elif typed:
            _put(found.by_name, name_key(typed).casefold(), override, row, bad, shown)
        else:
            bad.add(row, "ระบุแถวที่จะแก้ (สเปรดชีต แท็บ แถว) หรือชื่อ/เลขที่กรอกผิด", shown)
    return found


def _put(index: dict, key: Any, override: Override, row: Any, bad: IssueSink, shown: str) -> None:
    earlier = index.get(key)
    if earlier is not None and earlier.target != override.target:
        bad.add(row, f"ขัดกับ{earlier.where()} ซึ่งระบุคนอื่นสำหรับแถวหรือชื่อเดียวกัน: ใช้แถว {earlier.row} "
                     "และไม่ใช้แถวนี้ ลบแถวที่ผิดออก", shown)
    elif earlier is None:
        index[key] = override


def _get(row: Any, name: str) -> Any:
    return row[name] if name in row.index else None
