"""Money as people type it: amounts in baht and funding sources (แหล่งงบประมาณ).

Pure functions on one cell each, used by the normalizer for the development
records' optional cost and funding columns. A cost is read or explained, never
guessed: ``"1,500"``, ``"1500 บาท"``, ``"๑,๕๐๐.-"`` and ``1500`` are 1,500 baht; ``"-"``
and ``"ไม่มีค่าใช้จ่าย"`` are nothing spent (0); a blank cell says nothing (None); anything
else (``"ประมาณพันห้า"``, ``"1,500/2,000"``, ``"15,00"``) is a problem with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from pipeline.thai import alias_table, clean_text, compare_key, to_arabic_digits

OBEC = "งบ สพฐ. (คูปองครู)"
AREA_OFFICE = "งบเขตพื้นที่"
SCHOOL = "งบโรงเรียน"
PERSONAL = "งบส่วนตัว"
OTHER_AGENCY = "หน่วยงานอื่นสนับสนุน"
#: a cost whose record names no funding source
NO_SOURCE = "ไม่ระบุแหล่งงบประมาณ"

#: Built-in funding sources, in the order the outputs list them; [spending.sources] adds to them.
#: Compared without spaces, dots, slashes or brackets, and without a leading งบ/งบประมาณ/เงิน,
#: so "งบประมาณโรงเรียน" = "โรงเรียน" = "งบ รร." needs no alias of its own.
DEFAULT_FUNDING_SOURCES: dict[str, list[str]] = {
    OBEC: [
        "งบ สพฐ.", "สพฐ.", "งบ สพฐ./คูปองครู", "คูปองครู", "คูปอง", "คูปองพัฒนาครู", "คูปองครู สพฐ.",
        "สำนักงานคณะกรรมการการศึกษาขั้นพื้นฐาน", "OBEC",
    ],
    AREA_OFFICE: [
        "เขตพื้นที่", "เขต", "สพป.", "สพม.", "สพท.", "สำนักงานเขตพื้นที่", "สำนักงานเขตพื้นที่การศึกษา",
        "สำนักงานเขต",
    ],
    SCHOOL: ["โรงเรียน", "รร.", "ร.ร.", "สถานศึกษา", "อุดหนุน", "อุดหนุนรายหัว", "งบพัฒนาครูของโรงเรียน"],
    PERSONAL: ["ส่วนตัว", "ทุนส่วนตัว", "ตนเอง", "ออกเอง", "จ่ายเอง"],
    OTHER_AGENCY: ["หน่วยงานอื่น", "หน่วยงานภายนอก", "ผู้จัดสนับสนุน", "ผู้จัดออกให้", "ต้นสังกัดอื่น"],
}

_SOURCE_JUNK = re.compile(r"[\s.\-–—()\[\]/,_]+")
_SOURCE_WORDS = ("งบประมาณ", "งบ", "เงิน")


def funding_key(text: object) -> str:
    """How funding sources are compared: no spaces or punctuation, no leading งบ, งบประมาณ or เงิน."""
    key = _SOURCE_JUNK.sub("", compare_key(text))
    for word in _SOURCE_WORDS:
        if key.startswith(word) and len(key) > len(word):
            return key[len(word):]
    return key


def funding_table(extra: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """Alias key → canonical source: the built-in sources, then ``extra`` (config) over them."""
    return alias_table((DEFAULT_FUNDING_SOURCES, extra or {}), funding_key)


def read_funding(text: object, table: Mapping[str, str]) -> tuple[str, bool]:
    """(canonical source, True) for a known spelling; (the cell's own text, False) otherwise; ("", True) if blank."""
    shown = clean_text(text)
    if not shown or shown in ("-", "–", "—"):
        return "", True
    found = table.get(funding_key(shown))
    return (found, True) if found is not None else (shown, False)


#: A cost above this in one record is taken for a mistake (an ID or a total typed in the wrong cell).
MAX_RECORD_COST = 1_000_000
#: Cells that say nothing was spent, compared as ``funding_key`` compares (a lone dash is "").
_NOTHING_SPENT = frozenset({
    "", "ไม่มี", "ไม่มีค่าใช้จ่าย", "ไม่เสียค่าใช้จ่าย", "ไม่ใช้งบประมาณ", "ไม่ใช้งบ", "ฟรี", "free",
    "ไม่มีค่าลงทะเบียน",
})
_CURRENCY = re.compile(r"บาท|฿|thb", re.IGNORECASE)
_TRAILING_DASH = re.compile(r"(?<=\d)\s*\.?\s*[-–]$")  # 1,500.- and 1500- (as written on forms)
_PLAIN = re.compile(r"^\d+(\.\d{1,2})?$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$")


@dataclass(frozen=True)
class Baht:
    """A cost cell, read: the amount (None when the cell is blank or unreadable) and what is wrong with it."""

    amount: float | None
    problem: str = ""


def parse_baht(value: object) -> Baht:
    """A cost as typed (``"1,500"``, ``"1500 บาท"``, ``"๑,๕๐๐.-"``, ``1500``, ``"-"``) → baht, or the reason it is not one."""
    if value is None or isinstance(value, bool):
        return Baht(None) if value is None else Baht(None, _unreadable(value))
    if isinstance(value, (int, float)):
        if value != value:  # NaN: an empty cell
            return Baht(None)
        return _checked(float(value), value)
    text = clean_text(value)
    if not text:
        return Baht(None)
    plain = to_arabic_digits(text).casefold()
    if _SOURCE_JUNK.sub("", plain) in _NOTHING_SPENT:
        return Baht(0.0)
    number = _TRAILING_DASH.sub("", _CURRENCY.sub("", plain).strip()).strip()
    number = re.sub(r"(?<=\d) (?=\d{3}\b)", "", number)  # "1 500": a space between thousands
    if number.startswith("-") and (_PLAIN.match(number[1:]) or _GROUPED.match(number[1:])):
        return Baht(None, f"ค่าใช้จ่าย '{text}' ติดลบ: ใส่จำนวนเงินที่จ่าย (0 หรือมากกว่า)")
    if _PLAIN.match(number) or _GROUPED.match(number):
        return _checked(float(number.replace(",", "")), text)
    return Baht(None, _unreadable(text))


def _checked(amount: float, shown: object) -> Baht:
    if amount < 0:
        return Baht(None, f"ค่าใช้จ่าย '{shown}' ติดลบ: ใส่จำนวนเงินที่จ่าย (0 หรือมากกว่า)")
    if amount > MAX_RECORD_COST:
        # The amount is not repeated: it may be a national ID typed in the wrong cell (the cell is shown masked).
        return Baht(None, (
            f"ค่าใช้จ่ายเกิน {MAX_RECORD_COST:,} บาทสำหรับการพัฒนาครั้งเดียว (อาจกรอกเลขอื่นผิดช่อง): "
            "ตรวจแล้วแก้ให้เป็นค่าใช้จ่ายของคนนี้ในครั้งนี้"
        ))
    return Baht(round(amount, 2))


def _unreadable(shown: object) -> str:
    return (
        f"ค่าใช้จ่าย '{clean_text(shown)}' ไม่ใช่จำนวนเงิน: แก้เป็นตัวเลขจำนวนบาท เช่น 1500 หรือ 1,500 "
        "(ไม่มีค่าใช้จ่ายใส่ 0 หรือ -)"
    )
