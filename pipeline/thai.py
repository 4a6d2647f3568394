"""Thai-specific values: digits, national IDs, name prefixes, fiscal years, dates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
ARABIC_TO_THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
BE_OFFSET = 543
# Google Sheets / Excel serial dates count days from this day.
SERIAL_EPOCH = datetime(1899, 12, 30)

# Longest first, so "นางสาว" wins over "นาง" and "ว่าที่ร้อยตรี" over shorter ones.
NAME_PREFIXES = sorted(
    [
        "นาย", "นาง", "นางสาว", "น.ส.", "ว่าที่ร้อยตรี", "ว่าที่ ร.ต.", "ว่าที่ร.ต.",
        "ว่าที่ร้อยตรีหญิง", "ดร.", "ผศ.", "รศ.", "ศ.", "ด.ต.", "จ.ส.อ.", "สิบเอก",
    ],
    key=len,
    reverse=True,
)

_SPACES = re.compile(r"\s+")


def to_arabic_digits(text: str) -> str:
    """Replace Thai digits ๐–๙ with 0–9."""
    return text.translate(THAI_DIGITS)


def to_thai_digits(text: str) -> str:
    """Replace 0–9 with Thai digits, for text people read."""
    return text.translate(ARABIC_TO_THAI)


def clean_text(value: object) -> str:
    """Text of a cell with spaces collapsed and stripped; empty for None/NaN."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _SPACES.sub(" ", str(value).replace("\u200b", "")).strip()


def national_id_check_digit(first12: str) -> int:
    """Check digit of a Thai national ID from its first 12 digits."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return (11 - total % 11) % 10


def is_valid_national_id(nid: str) -> bool:
    """True for 13 arabic digits whose last digit is the right check digit."""
    return (
        len(nid) == 13 and nid.isdigit() and national_id_check_digit(nid[:12]) == int(nid[12])
    )


def normalize_national_id(value: object) -> str:
    """Digits of an ID as typed (Thai digits, dashes, spaces, a float from a sheet)."""
    return re.sub(r"\D", "", to_arabic_digits(clean_text(value)))


def mask_national_id(nid: str) -> str:
    """Show only the last three digits: ``x-xxxx-xxxxx-12-3``."""
    digits = normalize_national_id(nid)
    if len(digits) != 13:
        return "x-xxxx-xxxxx-xx-x"
    return f"x-xxxx-xxxxx-{digits[10:12]}-{digits[12]}"


_ID_IN_TEXT = re.compile(r"(?<![0-9๐-๙])(?:[0-9๐-๙][ -]?){12}[0-9๐-๙](?![0-9๐-๙])")


def mask_ids_in_text(text: str) -> str:
    """Mask every 13-digit number in free text (Thai digits, dashes and spaces included)."""
    return _ID_IN_TEXT.sub(lambda m: mask_national_id(m.group(0)), text)


def split_prefix(name: str) -> tuple[str, str]:
    """Split a known title off the front of a name: ``"นางสาวสมศรี"`` → ``("นางสาว", "สมศรี")``."""
    text = clean_text(name)
    for prefix in NAME_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return prefix, text[len(prefix):].strip()
    return "", text


def name_key(first: object, last: object = "") -> str:
    """A key for matching people by name: no title, single spaces."""
    _, bare_first = split_prefix(clean_text(first))
    return clean_text(f"{bare_first} {clean_text(last)}")


def fiscal_year(day: date) -> int:
    """Thai fiscal year (Buddhist era) of a day: 1 Oct – 30 Sep, named by the year it ends."""
    year = day.year + (1 if day.month >= 10 else 0)
    return year + BE_OFFSET


def fiscal_year_bounds(fy: int) -> tuple[date, date]:
    """First and last day of Thai fiscal year ``fy`` (Buddhist era)."""
    end_year = fy - BE_OFFSET
    return date(end_year - 1, 10, 1), date(end_year, 9, 30)


_DMY = re.compile(
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def parse_datetime(value: object) -> datetime | None:
    """Read a date or timestamp as Sheets, Excel and Forms give it; None if unreadable.

    Accepts ``datetime``/``date``, serial numbers, ``D/M/YYYY[, HH:MM:SS]`` (how
    Thai-locale Forms write ``ประทับเวลา``) and ISO text. Years above 2400 are
    Buddhist era and are converted.
    """
    if isinstance(value, datetime):
        return _from_be(value)
    if isinstance(value, date):
        return _from_be(datetime(value.year, value.month, value.day))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or not 1 <= value < 200000:
            return None
        return SERIAL_EPOCH + timedelta(days=float(value))
    text = to_arabic_digits(clean_text(value))
    if not text:
        return None
    match = _DMY.match(text)
    if match:
        d, m, y, hh, mm, ss = match.groups()
        parts = (int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    else:
        match = _ISO.match(text)
        if not match:
            return None
        y, m, d, hh, mm, ss = match.groups()
        parts = (int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    year = parts[0] - BE_OFFSET if parts[0] > 2400 else parts[0]
    try:
        return datetime(year, *parts[1:])
    except ValueError:
        return None


def _from_be(moment: datetime) -> datetime:
    if moment.year > 2400:
        return moment.replace(year=moment.year - BE_OFFSET)
    return moment


THAI_MONTHS = [
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
]


def thai_date(day: date) -> str:
    """``24 พฤศจิกายน 2569``: a date as Thai readers write it."""
    return f"{day.day} {THAI_MONTHS[day.month - 1]} {day.year + BE_OFFSET}"
