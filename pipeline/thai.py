"""Thai-specific values: text, digits, national IDs, names, positions, codes, fiscal years, dates.

Every reader here is a pure function over one value (or one column of values).
Each returns what it understood, or something the caller reports: a value that
is not understood is never silently turned into "nothing".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Collection, Iterable, Mapping
from zoneinfo import ZoneInfo

from pipeline.titles import title_at_start

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
ARABIC_TO_THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
BE_OFFSET = 543
BANGKOK = ZoneInfo("Asia/Bangkok")
# Google Sheets / Excel serial dates count days from this day.
SERIAL_EPOCH = datetime(1899, 12, 30)

_SPACES = re.compile(r"\s+")

# --- Thai text ---------------------------------------------------------------
# Zero-width space/joiners, word joiner, BOM and soft hyphen: invisible, never meant.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_ODD_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_TONE = "\u0e48-\u0e4b"                       # ่ ้ ๊ ๋
_UPPER_OR_LOWER_VOWEL = "\u0e31\u0e34-\u0e3a\u0e47"  # ั ิ ี ึ ื ุ ู ฺ ็
_MARK = "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e"
_TONE_BEFORE_VOWEL = re.compile(f"([{_TONE}])([{_UPPER_OR_LOWER_VOWEL}])")
_NIKHAHIT_TONE_AA = re.compile(f"\u0e4d([{_TONE}])\u0e32")
_TONE_NIKHAHIT_AA = re.compile(f"([{_TONE}])\u0e4d\u0e32")
_AM_BEFORE_TONE = re.compile(f"\u0e33([{_TONE}]+)")
_DOUBLED_MARK = re.compile(f"([{_MARK}])\\1+")


def normalize_thai(text: str) -> str:
    """One spelling for text that looks the same on screen (NFC alone is not enough for Thai).

    * invisible characters (zero-width space/joiners, BOM, soft hyphen) removed;
      no-break and other odd spaces become plain spaces;
    * sara am typed as nikhahit + sara aa (``ํา``) becomes ``ำ``, also with a tone
      mark typed between or before them (``น้ํา`` → ``น้ำ``);
    * a tone mark typed after sara am is put before it (``นำ้`` → ``น้ำ``: the tone belongs
      to the consonant, and ำ is typed last);
    * a tone mark typed before an upper or lower vowel is put after it (``ช่ื`` → ``ชื่``),
      the order Thai keyboards and the roster use;
    * a mark typed twice (``ก่่``) is kept once; two sara e (``เเ``) typed for sara ae become ``แ``.
    """
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = _ODD_SPACES.sub(" ", text)
    if text.isascii():
        return text
    text = text.replace("\u0e40\u0e40", "\u0e41")
    if "\u0e4d" in text:  # the rare repairs only where their character is (most text has none)
        text = _NIKHAHIT_TONE_AA.sub("\\1\u0e33", text)
        text = _TONE_NIKHAHIT_AA.sub("\\1\u0e33", text)
        text = text.replace("\u0e4d\u0e32", "\u0e33")
    if "\u0e33" in text:
        text = _AM_BEFORE_TONE.sub("\\1\u0e33", text)
    text = _TONE_BEFORE_VOWEL.sub("\\2\\1", text)
    return _DOUBLED_MARK.sub("\\1", text)


#: a decimal digit of any script but the ASCII one (Thai, full-width, Arabic-Indic, Lao, Khmer ...)
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")


def to_arabic_digits(text: str) -> str:
    """Replace the digits of every script (Thai ๐–๙, full-width ０–９, Arabic-Indic ٠–٩ ...) with 0–9."""
    text = text.translate(THAI_DIGITS)
    if text.isascii():
        return text
    return _OTHER_DIGIT.sub(lambda digit: str(unicodedata.decimal(digit.group())), text)


def to_thai_digits(text: str) -> str:
    """Replace 0–9 with Thai digits, for text people read."""
    return text.translate(ARABIC_TO_THAI)


def clean_text(value: object) -> str:
    """Text of a cell: Thai normalized, spaces collapsed and stripped; empty for None/NaN/NaT."""
    if value is None:
        return ""
    if type(value) is str:
        return _clean(value)
    if isinstance(value, (float, datetime)) and value != value:  # NaN, pandas' NaT
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        value = int(value)
    return _clean(str(value))


#: distinct texts remembered by the cleaners: a run meets each unit name, position, topic, status and
#: kind thousands of times, and cleans it once
_REMEMBERED = 1 << 18


@functools.lru_cache(maxsize=_REMEMBERED)
def _clean(text: str) -> str:
    return _SPACES.sub(" ", normalize_thai(text)).strip()


def compare_key(value: object) -> str:
    """Text for comparing two spellings: clean, arabic digits, no case."""
    return _compare_key(clean_text(value))


@functools.lru_cache(maxsize=_REMEMBERED)
def _compare_key(text: str) -> str:
    return to_arabic_digits(text).casefold()


# --- national IDs --------------------------------------------------------------


def national_id_check_digit(first12: str) -> int:
    """Check digit of a Thai national ID from its first 12 digits."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return (11 - total % 11) % 10


def is_valid_national_id(nid: str) -> bool:
    """True for 13 arabic digits whose last digit is the right check digit."""
    return (
        len(nid) == 13 and nid.isdigit() and national_id_check_digit(nid[:12]) == int(nid[12])
    )


_INTEGRAL_TEXT = re.compile(r"^([0-9][0-9 \-]*?)\.0+$")  # "3101200123453.0": a number cell as text
_SCIENTIFIC = re.compile(r"^([0-9])(?:\.([0-9]+))?[eE]\+?([0-9]{1,2})$")


def _sheet_number_text(value: object) -> str:
    """Cell text with a spreadsheet's leftovers removed: a leading apostrophe, a ``.0`` tail."""
    text = to_arabic_digits(clean_text(value)).lstrip("'’‘`").strip()
    match = _INTEGRAL_TEXT.match(text)
    return match.group(1) if match else text


def normalize_national_id(value: object) -> str:
    """Digits of an ID as typed (Thai digits, dashes, spaces, a float or its text from a sheet).

    ``3.101200123453E+12`` is read only when its mantissa carries every digit
    (13 significant digits); a shortened one (``3.1012E+12``) lost digits and
    is returned unchanged apart from non-digits removed, so it fails validation.
    """
    if isinstance(value, float) and value == value and value.is_integer() and abs(value) < 1e16:
        value = int(value)
    if type(value) is str or type(value) is int:  # the shapes of an ID cell: worked out once per ID (and type)
        return _national_id_digits(value)
    return _national_id_of(value)


@functools.lru_cache(maxsize=_REMEMBERED)
def _national_id_digits(value: str | int) -> str:
    return _national_id_of(value)


def _national_id_of(value: object) -> str:
    text = _sheet_number_text(value)
    match = _SCIENTIFIC.match(text.replace(" ", ""))
    if match:
        head, tail, power = match.group(1), match.group(2) or "", int(match.group(3))
        if len(tail) == power:
            return head + tail
        return ""
    return re.sub(r"\D", "", text)


def national_id_problem(value: object) -> str:
    """Why an ID cell is not a usable national ID, in Thai; empty when it is one."""
    text = _sheet_number_text(value)
    nid = normalize_national_id(value)
    if not re.search(r"\d", text):
        return "ไม่ได้กรอกเลขประจำตัวประชาชน"
    if _SCIENTIFIC.match(text.replace(" ", "")) and not nid:
        return ("เลขประจำตัวประชาชนถูกเก็บเป็นตัวเลขแบบย่อ (E+12) ทำให้หลักท้ายหายไป "
                "ให้ตั้งรูปแบบเซลล์เป็นข้อความแล้วพิมพ์ 13 หลักใหม่")
    if len(nid) != 13:
        return f"เลขประจำตัวประชาชนมี {len(nid)} หลัก (ต้องมี 13 หลัก)"
    if not is_valid_national_id(nid):
        return "หลักสุดท้ายของเลขประจำตัวประชาชน (หลักตรวจสอบ) ไม่ถูกต้อง"
    return ""


def mask_national_id(nid: str) -> str:
    """Show only the last three digits: ``x-xxxx-xxxxx-12-3``."""
    digits = normalize_national_id(nid)
    if len(digits) != 13:
        return "x-xxxx-xxxxx-xx-x"
    return f"x-xxxx-xxxxx-{digits[10:12]}-{digits[12]}"


# What a person types between the digits of an ID. Spaces and dashes (of every width) are how
# IDs are usually typed, and any run of 9 or more digits joined by them is masked; dots, slashes
# and underscores also join other numbers (an IP address, a date, a fraction), so a run using them
# is masked when it is grouped as an ID is (see ``_grouped_like_an_id``).
_SPACE_DASH = " \u00a0\u2000-\u200a\u202f\u3000\\-\u2010-\u2015\u2212\ufe63\uff0d"
_DOT_SLASH = "._/\u00b7\u30fb\uff0e\uff0f\uff3f"
_SEPARATOR = re.compile(f"([{_SPACE_DASH}{_DOT_SLASH}])")
# A run of 9 or more digits, of any script (``\d``: Thai, full-width, Arabic-Indic ... mixed too), one
# separator at most between two digits (the lookahead first: most places are not a digit, and say so
# fastest). Not: digits glued to a Latin word, which are part of a key or
# address (idplan-1067000001, school1067020001@...), the digits after a decimal point, or a time.
_RUN = r"(?=\d)(?<![\dA-Za-z_])(?<![A-Za-z_][-_])(?<!\d[.,])(?:\d{sep}?){{8,}}\d(?!\d)(?!:\d)"
_ID_IN_TEXT = re.compile(_RUN.format(sep=f"[{_SPACE_DASH}{_DOT_SLASH}]"))
_TYPED_ID_IN_TEXT = re.compile(_RUN.format(sep=f"[{_SPACE_DASH}]"))

# An ID a spreadsheet turned into scientific notation (3.101200123453E+12, or shortened to
# 3.1012E+12): a decimal fraction, so the patterns above leave it; this one masks it whole.
_ID_LIKE_IN_TEXT = re.compile(r"(?=\d)(?<![\d.,])\d[.,]\d+[eE]\+?(?:0?9|1[0-4])(?!\d)")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", to_arabic_digits(text))


def _is_year(group: str) -> bool:
    return len(group) == 4 and group[:2] in ("19", "20", "24", "25", "26")


def _is_date(day: str, month: str, year: str) -> bool:
    return (len(day) <= 2 and len(month) <= 2 and len(year) in (2, 4)
            and 1 <= int(day) <= 31 and 1 <= int(month) <= 31 and min(int(day), int(month)) <= 12)


def _grouped_like_an_id(text: str) -> bool:
    """Whether digits joined by dots, slashes or underscores are an ID (3.1001.38509.22.4) rather than
    an IP address (192.168.100.200), a date or a date range (1/10/2561-30/9/2562), a fraction
    (12000/15000) or a list of years (2561/2562/2563)."""
    parts = _SEPARATOR.split(to_arabic_digits(text))
    groups, separators = parts[::2], parts[1::2]
    if len(groups) < 3 or all(len(g) <= 3 for g in groups) or all(_is_year(g) for g in groups):
        return False
    for i in range(len(groups) - 2):
        a, b, c = groups[i:i + 3]
        if separators[i] == separators[i + 1] and (_is_date(a, b, c) or (_is_year(a) and _is_date(c, b, "00"))):
            return False
    return True


def mask_ids_in_text(text: object, keep: Collection[str] = ()) -> str:
    """Mask every number in text a person reads that could be a national ID (see ``_mask_ids``).

    Remembered: the same value is printed in many places (a tab, the e-mail's text and HTML, and
    again for their fingerprints), and a huge pasted cell would otherwise be scanned each time.
    """
    return _mask_ids(str(text), keep if isinstance(keep, frozenset) else frozenset(keep))


@functools.lru_cache(maxsize=4096)
def _mask_ids(text: str, keep: frozenset[str]) -> str:
    """Mask every number in text a person reads that could be a national ID, however it was typed.

    A run of 9 or more digits of any script, with spaces or dashes between them (a 10-digit phone
    number too: it could be a mistyped ID), or grouped as an ID with dots, slashes or underscores
    (``3.1001.38509.22.4``), or an ID in scientific notation. A 13-digit run shows as
    ``x-xxxx-xxxxx-12-3``; any other length keeps its length and last three digits
    (``xxxxxxxxx012``), so a clerk sees that a digit is missing or extra. Runs whose digits are in
    ``keep`` (the roster's unit codes, in ASCII digits) are codes, not IDs, and stay.
    """

    def hide(match: re.Match[str]) -> str:
        typed = match.group(0)
        digits = _digits(typed)
        if digits in keep or all(_is_year(g) for g in _SEPARATOR.split(to_arabic_digits(typed))[::2]):
            return typed
        if len(digits) == 13:
            return mask_national_id(digits)
        return "x" * (len(digits) - 3) + digits[-3:]

    def mask(match: re.Match[str]) -> str:
        typed = match.group(0)
        if any(c in _DOT_SLASH for c in typed) and not _grouped_like_an_id(typed):
            return _TYPED_ID_IN_TEXT.sub(hide, typed)  # not an ID as a whole: only its typed-ID parts
        return hide(match)

    return _ID_IN_TEXT.sub(mask, _ID_LIKE_IN_TEXT.sub("x-xxxx-xxxxx-xx-x", text))


# --- names ---------------------------------------------------------------------
# Titles a Thai roster or form may carry before a first name: civil, military and
# police ranks (also acting, ว่าที่, and female, หญิง), academic, English, ครู. The
# vocabulary and how each may be typed are in pipeline.titles. A title ending in "."
# or followed by a space is split off; a full Thai title glued to the name
# (นายสมชาย) is split too, except before a following vowel or combining mark
# (นาย + ิกา is the name นายิกา) and except for the whole first names in
# TITLE_LIKE_NAMES (นางนวล is a name, not นาง + นวล).
TITLE_LIKE_NAMES = frozenset({"นางนวล", "นางฟ้า", "นายิกา"})


def _stages(name: object, glued: bool = True, protect: bool = True) -> list[tuple[str, str]]:
    """(title, rest) for each title split off, in order (at most one civil title)."""
    text = clean_text(name)
    steps: list[tuple[str, str]] = []
    civil_allowed = True
    while True:
        rest = steps[-1][1] if steps else text
        strict = not glued or (protect and rest.split(" ")[0] in TITLE_LIKE_NAMES)
        step = title_at_start(rest, not strict, civil_allowed)
        if step is None:
            return steps
        title, rest, civil = step
        civil_allowed = civil_allowed and not civil
        steps.append((title, rest))


def strip_prefixes(name: object, glued: bool = True) -> tuple[list[str], str]:
    """Every title at the front of a name, longest first and repeatedly (``ผศ.ดร.``, ``นาย ดร.``).

    Only known titles, and at most one civil title (นาย/นาง/นางสาว/น.ส./Mr./...):
    in ``นางสาวนางนวล`` the second "นาง" belongs to the name. ``glued=False``
    splits only titles ending in "." or followed by a space: used when the roster
    has its own prefix column, so a first name that starts like a title stays
    whole. A title is never split off when nothing would remain.
    """
    steps = _stages(name, glued)
    return [t for t, _ in steps], (steps[-1][1] if steps else clean_text(name))


def split_prefix(name: str) -> tuple[str, str]:
    """Split known titles off the front of a name: ``"นางสาวสมศรี"`` → ``("นางสาว", "สมศรี")``."""
    found, rest = strip_prefixes(name)
    return "".join(found), rest


def written_name(prefix: str, first: str, last: str) -> str:
    """A name as people write it: a Thai title glued to the first name (``นายสมชาย ใจดี``),
    a Latin one before a Latin name with a space (``Mr. John Smith``)."""
    space = " " if prefix and prefix.isascii() and first[:1].isascii() else ""
    return f"{prefix}{space}{first} {last}".strip()


def name_key(first: object, last: object = "") -> str:
    """A key for matching people by name: no title, one spelling, single spaces."""
    _, bare_first = strip_prefixes(first)
    return to_arabic_digits(clean_text(f"{bare_first} {clean_text(last)}"))


def name_forms(full_name: object) -> list[str]:
    """Every reading of a typed full name, most titles removed first.

    ``"นางนวล ทองดี"`` → ``["นวล ทองดี", "นางนวล ทองดี"]``: the matcher takes the
    reading that is in the roster, so a glued title is removed only when what
    remains is a roster name, and a name such as นางนวล that starts like a title
    still matches. Readings that hit different people are ambiguous and are
    reported, never guessed.
    """
    return list(_name_forms(to_arabic_digits(clean_text(full_name))))


@functools.lru_cache(maxsize=_REMEMBERED)
def _name_forms(text: str) -> tuple[str, ...]:
    """``name_forms`` of a cleaned name (a roster name is typed again on every row of that person)."""
    forms = [text, *(rest for _, rest in _stages(text, protect=False))]
    return tuple(dict.fromkeys(reversed(forms)))


# --- positions and standing (ก.ค.ศ.) -------------------------------------------
TEACHER, ASSISTANT_TEACHER = "ครู", "ครูผู้ช่วย"
SCHOOL_DIRECTOR, SCHOOL_DEPUTY = "ผู้อำนวยการสถานศึกษา", "รองผู้อำนวยการสถานศึกษา"
AREA_DIRECTOR = "ผู้อำนวยการสำนักงานเขตพื้นที่การศึกษา"
AREA_DEPUTY = "รองผู้อำนวยการสำนักงานเขตพื้นที่การศึกษา"
SUPERVISOR = "ศึกษานิเทศก์"
OTHER_EDUCATION_STAFF = "บุคลากรทางการศึกษาอื่น 38 ค.(2)"

#: Built-in aliases of the ก.ค.ศ. positions; a config's [vocabulary.positions] adds to them.
#: Spaces, dots, dashes and brackets are ignored when comparing, so "ผอ. รร." = "ผอ.รร.".
DEFAULT_POSITIONS: dict[str, list[str]] = {
    TEACHER: ["ครู", "ข้าราชการครู", "ตำแหน่งครู"],
    ASSISTANT_TEACHER: ["ครูผู้ช่วย", "ข้าราชการครูผู้ช่วย"],
    SCHOOL_DIRECTOR: [
        "ผู้อำนวยการสถานศึกษา", "ผู้อำนวยการโรงเรียน", "ผอ.โรงเรียน", "ผอ.รร.", "ผอ.ร.ร.",
        "ผอ.สถานศึกษา", "ผู้อำนวยการ", "ผอ.", "ผู้บริหารสถานศึกษา",
    ],
    SCHOOL_DEPUTY: [
        "รองผู้อำนวยการสถานศึกษา", "รองผู้อำนวยการโรงเรียน", "รอง ผอ.โรงเรียน", "รอง ผอ.รร.",
        "รอง ผอ.สถานศึกษา", "รองผู้อำนวยการ", "รอง ผอ.",
    ],
    AREA_DIRECTOR: [
        "ผู้อำนวยการสำนักงานเขตพื้นที่การศึกษา", "ผู้อำนวยการสำนักงานเขตพื้นที่การศึกษาประถมศึกษา",
        "ผอ.สพป.", "ผอ.สพท.", "ผอ.เขต", "ผู้อำนวยการ สพป.",
    ],
    AREA_DEPUTY: [
        "รองผู้อำนวยการสำนักงานเขตพื้นที่การศึกษา", "รองผู้อำนวยการสำนักงานเขตพื้นที่การศึกษาประถมศึกษา",
        "รอง ผอ.สพป.", "รอง ผอ.สพท.", "รอง ผอ.เขต", "รองผู้อำนวยการ สพป.",
    ],
    SUPERVISOR: ["ศึกษานิเทศก์", "ศึกษานิเทศ", "ศน."],
    OTHER_EDUCATION_STAFF: [
        "บุคลากรทางการศึกษาอื่น 38 ค.(2)", "บุคลากรทางการศึกษาอื่นตามมาตรา 38 ค.(2)", "38 ค.(2)",
        "บุคลากรทางการศึกษาอื่น",
        # the academic line (ประเภทวิชาการ: ปฏิบัติการ, ชำนาญการ, ชำนาญการพิเศษ, เชี่ยวชาญ)
        "นักวิชาการศึกษา", "นักจัดการงานทั่วไป", "นักทรัพยากรบุคคล", "นักวิเคราะห์นโยบายและแผน",
        "นักวิชาการเงินและบัญชี", "นักวิชาการพัสดุ", "นักวิชาการคอมพิวเตอร์", "นักประชาสัมพันธ์",
        "นิติกร", "นักวิชาการตรวจสอบภายใน", "นักวิชาการโสตทัศนศึกษา", "นักวิชาการสถิติ",
        "นักวิชาการเผยแพร่", "บรรณารักษ์", "วิศวกร", "วิศวกรโยธา", "สถาปนิก",
        # the general line (ประเภททั่วไป: ปฏิบัติงาน, ชำนาญงาน, อาวุโส)
        "เจ้าพนักงานธุรการ", "เจ้าพนักงานการเงินและบัญชี", "เจ้าพนักงานพัสดุ",
        "เจ้าพนักงานเครื่องคอมพิวเตอร์", "เจ้าพนักงานโสตทัศนศึกษา", "เจ้าพนักงานห้องสมุด",
        "เจ้าพนักงานสถิติ", "เจ้าพนักงานเผยแพร่ประชาสัมพันธ์", "นายช่างโยธา", "นายช่างไฟฟ้า",
        "นายช่างศิลป์", "นายช่างเทคนิค",
    ],
}
STANDINGS = ("ชำนาญการ", "ชำนาญการพิเศษ", "เชี่ยวชาญ", "เชี่ยวชาญพิเศษ")
#: Levels of the general line of 38 ค.(2) posts above its entry level (ปฏิบัติงาน).
GENERAL_LEVELS = ("ชำนาญงาน", "อาวุโส")
#: วิทยฐานะ by ก.ค.ศ. rank: คศ.1 is the first rank of a ครู, without a วิทยฐานะ.
RANK_STANDINGS = {"คศ1": "", "คศ2": "ชำนาญการ", "คศ3": "ชำนาญการพิเศษ", "คศ4": "เชี่ยวชาญ", "คศ5": "เชี่ยวชาญพิเศษ"}
_STANDING_WORDS = {
    **{s: s for s in STANDINGS + GENERAL_LEVELS}, **RANK_STANDINGS,
    "ชก": "ชำนาญการ", "ชพ": "ชำนาญการพิเศษ", "ชช": "เชี่ยวชาญ", "ชชพ": "เชี่ยวชาญพิเศษ",
    # entry levels of a 38 ค.(2) post, academic and general line: no วิทยฐานะ
    "ปฏิบัติการ": "", "ปฏิบัติงาน": "",
}
_NO_STANDING = {"", "ไม่มี", "ไม่มีวิทยฐานะ", "–", "—", "ยังไม่มี", "ไม่มีวฐ"}
_STANDING_SUFFIXES = sorted(_STANDING_WORDS, key=len, reverse=True)
_FILLERS = ("วิทยฐานะ", "ระดับ", "วฐ")
_POSITION_JUNK = re.compile(r"[\s.\-()\[\]/,]+")


def position_key(text: object) -> str:
    """How positions and standings are compared: no spaces, dots, dashes or brackets; arabic digits."""
    key = _POSITION_JUNK.sub("", compare_key(text)).replace("ค.ศ", "คศ")
    return key.removeprefix("ตำแหน่ง") if key != "ตำแหน่ง" else key


def alias_table(
    lists: Iterable[Mapping[str, Iterable[str]]], key_of: Callable[[object], str]
) -> dict[str, str]:
    """Alias key → canonical name, from lists of canonical name → other names (a later list wins)."""
    table: dict[str, str] = {}
    for names in lists:
        for canonical, aliases in names.items():
            for alias in [canonical, *aliases]:
                table[key_of(alias)] = clean_text(canonical)
    return table


def position_table(extra: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """Alias key → canonical position: the built-in ก.ค.ศ. names, then ``extra`` (config) over them."""
    return alias_table((DEFAULT_POSITIONS, extra or {}), position_key)


@dataclass(frozen=True)
class PositionReading:
    #: canonical position, or the cell's own text when no alias covers it
    position: str
    #: one of STANDINGS, "" for none, or the standing cell's own text when not understood
    standing: str
    #: True when an alias covered the position
    known: bool
    #: Thai notes for a person (unknown position, standing cells that disagree, ...)
    notes: tuple[str, ...] = ()


def read_standing(value: object) -> str | None:
    """The วิทยฐานะ of a standing cell: ``"คศ.3"`` → ``"ชำนาญการพิเศษ"``; "" for none; None if unknown."""
    key = position_key(value)
    if key in _NO_STANDING:
        return ""
    for filler in _FILLERS:
        key = key.removeprefix(filler)
    if key in _STANDING_WORDS:
        return _STANDING_WORDS[key]
    # "คศ.3 ชำนาญการพิเศษ": both, agreeing
    for word in _STANDING_SUFFIXES:
        if key.endswith(word) and len(key) > len(word):
            first = read_standing(key[: -len(word)])
            if first is not None and first in ("", _STANDING_WORDS[word]):
                return _STANDING_WORDS[word]
    return None


def _split_position(key: str, table: Mapping[str, str]) -> tuple[str, str | None] | None:
    """(canonical, standing carried in the cell or None) for a position key, else None."""
    if key in table:
        return table[key], None
    for word in _STANDING_SUFFIXES:
        if key.endswith(word) and len(key) > len(word):
            base = key[: -len(word)]
            for filler in _FILLERS:
                base = base.removesuffix(filler)
            inner = _split_position(base, table)
            if inner is not None:
                outer = _STANDING_WORDS[word]
                return inner[0], outer or (inner[1] if inner[1] is not None else "")
    return None


# A school named after a position ("ผอ.ร.ร.บ้านนาดี", "ครูโรงเรียนบ้านนาดี"): not part of the position.
_SCHOOL_AFTER_POSITION = re.compile(r"\s*(?:โรงเรียน|ร\.\s?ร\.?|รร\.|รร(?=\s))\s*\S.*$")


def _without_school(position: str) -> str:
    """``"ผอ.ร.ร.บ้านนาดี"`` → ``"ผอ."``; a standing typed after the school's name is kept."""
    match = _SCHOOL_AFTER_POSITION.search(position)
    if match is None or match.start() == 0:
        return position
    tail = position_key(match.group(0))
    standing = next((w for w in _STANDING_SUFFIXES if tail.endswith(w)), "")
    return f"{position[:match.start()]} {standing}"


def read_position(position: object, standing: object = "", table: Mapping[str, str] | None = None) -> PositionReading:
    """Split a roster's position cell into (canonical position, standing).

    ``"ครู คศ.2"`` → (ครู, ชำนาญการ); ``"ครูชำนาญการพิเศษ"`` → (ครู, ชำนาญการพิเศษ);
    ``"ครู ผู้ช่วย"`` → (ครูผู้ช่วย, ""); ``"รอง ผอ."`` → (รองผู้อำนวยการสถานศึกษา, "");
    ``"ผอ.ร.ร.บ้านนาดี"`` → (ผู้อำนวยการสถานศึกษา, ""): the school's name is not the position.
    A filled standing cell wins over a standing written in the position cell; a standing
    cell with the position typed again (``"ครู คศ.2"``) is read for its standing.
    """
    table = position_table() if table is None else table
    shown, shown_standing = clean_text(position), clean_text(standing)
    notes: list[str] = []
    split = _split_position(position_key(shown), table) if shown else None
    if split is None and shown:
        split = _split_position(position_key(_without_school(shown)), table)
    from_cell = split[1] if split and split[1] is not None else ""
    from_column = read_standing(shown_standing)
    if from_column is None:  # "ครู คศ.2" in the standing cell: the position typed again, then the standing
        again = _split_position(position_key(shown_standing), table)
        from_column = None if again is None else again[1]
    if from_column is None:
        notes.append(
            f"วิทยฐานะ '{shown_standing}' ไม่รู้จัก (ใช้ {', '.join(STANDINGS + GENERAL_LEVELS)} หรือ คศ.1–คศ.5 "
            "หรือเว้นว่าง)"
        )
        final_standing = shown_standing
    elif from_column and from_cell and from_column != from_cell:
        notes.append(
            f"วิทยฐานะในช่องตำแหน่ง '{shown}' ไม่ตรงกับช่องวิทยฐานะ '{shown_standing}' ใช้ตามช่องวิทยฐานะ"
        )
        final_standing = from_column
    else:
        final_standing = from_column or from_cell
    if split is None:
        what = f"ตำแหน่ง '{shown}' ไม่รู้จัก" if shown else "ไม่ได้ระบุตำแหน่ง"
        notes.append(
            f"{what} จึงไม่ถูกนับในตัวชี้วัดที่กำหนดตำแหน่ง (เช่น วิจัยในชั้นเรียน, TEPE Online) "
            "ถ้าเป็นชื่อเรียกอื่นของตำแหน่งที่มีอยู่ ให้เพิ่มใน [vocabulary.positions] ของไฟล์ตั้งค่า"
        )
        return PositionReading(shown, final_standing, False, tuple(notes))
    return PositionReading(split[0], final_standing, True, tuple(notes))


# --- unit codes and school names -------------------------------------------------


def normalize_code(value: object) -> str:
    """A unit code as typed in a sheet: ``'1067020003``, ``1067020003.0``, ``๑๐๖๗๐๒๐๐๐๓``,
    ``10-6702-0003`` → ``1067020003``. Codes that are not numbers (``pbn2``) stay as they are."""
    text = _sheet_number_text(value)
    if re.fullmatch(r"[0-9][0-9 \-]*[0-9]", text):
        return re.sub(r"[ \-]", "", text)
    return text


def is_smis_code(code: str) -> bool:
    """An 8-digit SMIS school code (the school's code in the old MOE system), not the 10-digit one."""
    return len(code) == 8 and code.isdigit()


_SCHOOL_WORD = re.compile(r"^(?:โรงเรียน|ร\.\s?ร\.?|รร\.?)\s*")
_AREA_ABBREVIATIONS = {"สพป.": "สำนักงานเขตพื้นที่การศึกษาประถมศึกษา", "สพม.": "สำนักงานเขตพื้นที่การศึกษามัธยมศึกษา"}
# Spaces and punctuation people add or drop around a name: "บ้านนาดี (วิทยาคาร)" = "บ้านนาดี วิทยาคาร",
# a full stop at the end.
_SCHOOL_PUNCTUATION = re.compile(r"[\s.,()\[\]\-–'\"]+")


def school_name_key(name: object) -> str:
    """A school or office name for comparing: without โรงเรียน/ร.ร./รร. (with one dot or none), สพป.
    spelt out, and without spaces, dots, commas, dashes, quotes or brackets (a second name in brackets)."""
    text = _SCHOOL_WORD.sub("", clean_text(name))
    for short, full in _AREA_ABBREVIATIONS.items():
        text = text.replace(short, full)
    return _SCHOOL_PUNCTUATION.sub("", compare_key(text))


# --- fiscal years and dates ------------------------------------------------------


def duration(seconds: float) -> str:
    """A wait as a person reads it: seconds up to five minutes, then whole minutes (rounded up), then hours."""
    if seconds <= 300:
        return f"{seconds:.0f} วินาที"
    minutes = -(-seconds // 60)
    if minutes < 120:
        return f"{minutes:.0f} นาที"
    return f"{minutes / 60:.1f}".removesuffix(".0") + " ชั่วโมง"


def fiscal_year(day: date) -> int:
    """Thai fiscal year (Buddhist era) of a day: 1 Oct – 30 Sep, named by the year it ends."""
    year = day.year + (1 if day.month >= 10 else 0)
    return year + BE_OFFSET


def fiscal_year_bounds(fy: int) -> tuple[date, date]:
    """First and last day of Thai fiscal year ``fy`` (Buddhist era)."""
    end_year = fy - BE_OFFSET
    return date(end_year - 1, 10, 1), date(end_year, 9, 30)


#: where a day falls in a fiscal year: what is judged differs (``pipeline.idle`` compares it between nights)
BEFORE, FIRST_HALF, SECOND_HALF, ENDED = "before", "first_half", "second_half", "ended"


def fiscal_phase(fy: int, day: date) -> str:
    """``day`` in fiscal year ``fy``: before it, before its midpoint (1 April), from the midpoint, after it."""
    start, end = fiscal_year_bounds(fy)
    if day < start:
        return BEFORE
    if day < date(end.year, 4, 1):
        return FIRST_HALF
    return SECOND_HALF if day <= end else ENDED


THAI_MONTHS = [
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
]
THAI_MONTHS_SHORT = [
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
]
ENGLISH_MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]
# Month names compared without dots and spaces: "พ.ย." = "พย" = "พ.ย"; English ones also by
# their first three letters (Mar) and as Sept.
_MONTHS = {
    **{re.sub(r"[.\s]", "", m): i for i, m in enumerate(THAI_MONTHS_SHORT, 1)},
    **{m: i for i, m in enumerate(THAI_MONTHS, 1)},
    **{m: i for i, m in enumerate(ENGLISH_MONTHS, 1)},
    **{m[:3]: i for i, m in enumerate(ENGLISH_MONTHS, 1)},
    "sept": 9,
}
_YEAR_MIN, _YEAR_MAX = 1900, 2200
#: Serials before 1 Jan 1950 are not dates an office records (a bare year "2562" is serial 1907).
_SERIAL_MIN_YEAR = 1950

_TIME_TAIL = re.compile(
    r"(?:,|\s)\s*(?:เวลา\s*)?(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:\.\d+)?)?\s*(?:น\.?|นาฬิกา)?$"
)
_NUMERIC_DATE = re.compile(r"^(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})$")
_YEAR_FIRST = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
# "15 มี.ค. 62", "วันที่ 15 เดือนมีนาคม พ.ศ. 2562", "15-มี.ค.-62", "15 March 2019"
_NAMED_MONTH = re.compile(
    r"^(?:วัน\S*ที่\s*)?(\d{1,2})\s*[-/]?\s*(?:เดือน\s*)?([^\d\s,\-/]+(?:\s?[^\d\s,\-/]+)*?)\.?\s*[-/,]?\s*"
    r"(?:ปี\s*)?(?:(พ\.\s?ศ\.|ค\.\s?ศ\.)\s*)?(\d{4}|\d{2})$",
    re.IGNORECASE,
)
# "March 15, 2019": the English month first
_MONTH_FIRST_NAMED = re.compile(r"^([a-z]{3,9})\.?\s*(\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(\d{4})$", re.IGNORECASE)
# What a missing cell becomes as text on the way: pandas' NaT and NaN.
_MISSING_TEXT = {"", "nat", "nan"}
_SERIAL_TEXT = re.compile(r"^\d{1,7}(?:\.\d+)?$")

DAY_FIRST, MONTH_FIRST, MIXED = "dmy", "mdy", "mixed"


def _year(text: str, buddhist: bool = False) -> int:
    """CE year of a typed year: 4 digits above 2400 are Buddhist era; 2 digits are พ.ศ. 25xx."""
    year = int(text)
    if len(text) == 2:
        return 2500 + year - BE_OFFSET
    if buddhist and year < 2400:
        return -1  # "พ.ศ. 2026": not a year anyone meant
    return year - BE_OFFSET if year > 2400 else year


def _build(year: int, month: int, day: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime | None:
    if not _YEAR_MIN <= year <= _YEAR_MAX:
        return None
    try:
        return datetime(year, month, day, hh, mm, ss)
    except ValueError:
        return None


def _from_serial(serial: float) -> datetime | None:
    if serial != serial or not 1 <= serial < 2958466:
        return None
    moment = SERIAL_EPOCH + timedelta(days=serial)
    # Someone typed the พ.ศ. year into a date cell: the serial's year comes out as 2400+.
    moment = _from_be(moment)
    if not _SERIAL_MIN_YEAR <= moment.year <= _YEAR_MAX:
        return None
    return moment


def _to_bangkok(moment: datetime) -> datetime:
    """An offset-aware moment as Thai wall-clock time (naive), e.g. 20:00Z → 03:00 the next day."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(BANGKOK).replace(tzinfo=None)


def _from_be(moment: datetime) -> datetime:
    if moment.year > 2400:
        try:
            return moment.replace(year=moment.year - BE_OFFSET)
        except ValueError:  # 29 Feb of a BE year whose CE year is not a leap year
            return moment.replace(year=moment.year - BE_OFFSET, day=28)
    return moment


def _numeric_fields(value: object) -> tuple[int, int] | None:
    """The two leading fields of a ``a/b/yyyy`` text date, or None."""
    if not isinstance(value, str):
        return None
    text = to_arabic_digits(clean_text(value)).lstrip("'")
    timed = _TIME_TAIL.search(text)
    if timed:
        text = text[: timed.start()].strip(" ,")
    match = _NUMERIC_DATE.match(text)
    return (int(match.group(1)), int(match.group(3))) if match else None


def date_order(values: Iterable[object]) -> str:
    """Day/month order of one column of dates, from all its ``a/b/yyyy`` texts.

    A column where some first field exceeds 12 is day-first; where some second
    field exceeds 12, month-first (a US-locale export); both: ``MIXED``, and only
    the values that say so themselves can be read. A column with no such value
    is day-first, the Thai convention (Forms in a Thai-locale sheet writes D/M/YYYY).
    """
    day_first = month_first = False
    for value in values:
        fields = _numeric_fields(value)
        if fields:
            day_first |= fields[0] > 12
            month_first |= fields[1] > 12
    if day_first and month_first:
        return MIXED
    return MONTH_FIRST if month_first else DAY_FIRST


def parse_datetime(value: object, order: str = DAY_FIRST) -> datetime | None:
    """Read a date or timestamp as Sheets, Excel, Forms or a Thai office gives it; None if unreadable.

    Accepts ``datetime``/``date`` (offset-aware ones converted to Bangkok time),
    serial numbers (also as text, and with a พ.ศ. year typed into a date),
    ``D/M/YYYY[, HH:MM:SS]`` (``order`` says if the column is month-first),
    2-digit พ.ศ. years (``24/11/69``), Thai month names (``24 พ.ย. 2569``,
    ``24 พฤศจิกายน 2569 เวลา 10.30 น.``), Thai digits and ISO text with ``Z`` or an
    offset. Years above 2400 are Buddhist era. In a ``MIXED`` column a value
    whose day and month could be swapped gives None (see ``date_problem``).
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return None if value != value else _from_be(_to_bangkok(value))  # pandas' NaT is missing, not a date
    if isinstance(value, date):
        return _from_be(datetime(value.year, value.month, value.day))
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_serial(float(value))
    text = to_arabic_digits(clean_text(value)).lstrip("'’`").strip()
    if text.casefold() in _MISSING_TEXT:
        return None
    if _SERIAL_TEXT.match(text):
        return _from_serial(float(text)) if "." in text or len(text) >= 5 else None
    match = _ISO.match(text)
    if match:
        y, m, d, hh, mm, ss, frac, zone = match.groups()
        moment = _build(_year(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        if moment is None or not zone:
            return moment
        if zone == "Z":
            offset = timedelta(0)
        else:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return _to_bangkok(moment.replace(tzinfo=timezone(offset)))
    hh = mm = ss = 0
    timed = _TIME_TAIL.search(text)
    if timed:
        hh, mm, ss = int(timed.group(1)), int(timed.group(2)), int(timed.group(3) or 0)
        text = text[: timed.start()].strip(" ,")
    match = _NUMERIC_DATE.match(text)
    if match:
        a, b, y = int(match.group(1)), int(match.group(3)), match.group(4)
        if a > 12 >= b or b > 12 >= a:  # the value says its own order (3/25/2019 is month/day)
            month_first = b > 12
        elif order == MIXED and a != b:
            return None
        else:
            month_first = order == MONTH_FIRST
        if month_first:
            a, b = b, a
        return _build(_year(y), b, a, hh, mm, ss)
    match = _YEAR_FIRST.match(text)
    if match:
        return _build(_year(match.group(1)), int(match.group(2)), int(match.group(3)), hh, mm, ss)
    match = _NAMED_MONTH.match(text)
    if match:
        day, name, era, year = match.groups()
    else:
        match = _MONTH_FIRST_NAMED.match(text)
        if match is None:
            return None
        (name, day, year), era = match.groups(), None
    name = re.sub(r"[.\s]", "", name).casefold()
    month = _MONTHS.get(name)
    if not month:
        return None
    if len(year) == 2 and name.isascii():  # "15-Mar-19": with an English month, a Christian-era year
        return _build(2000 + int(year), month, int(day), hh, mm, ss)
    return _build(_year(year, buddhist=bool(era and era.startswith("พ"))), month, int(day), hh, mm, ss)


def _is_missing(value: object) -> bool:
    """An empty cell however it arrives: None, NaN, pandas' NaT (a datetime unequal to itself), or blank text."""
    if isinstance(value, str):
        return clean_text(value).casefold() in _MISSING_TEXT
    return value is None or (isinstance(value, (float, datetime)) and value != value)


def date_problem(value: object, order: str = DAY_FIRST) -> str:
    """Why a date cell could not be read, in Thai (for a quarantine reason)."""
    if _is_missing(value):
        return "วันที่ยังว่าง (ไม่ได้กรอก) ให้กรอกเป็น วัน/เดือน/ปี พ.ศ. เช่น 15/3/2562"
    fields = _numeric_fields(value)
    if order == MIXED and fields and fields[0] <= 12 and fields[1] <= 12 and fields[0] != fields[1]:
        a, b = fields
        return (
            f"วันที่ '{clean_text(value)}' อ่านได้ทั้ง {a} {THAI_MONTHS[b - 1]} และ {b} {THAI_MONTHS[a - 1]} "
            "เพราะคอลัมน์นี้มีทั้งแบบ วัน/เดือน/ปี และ เดือน/วัน/ปี ให้พิมพ์ใหม่เป็น วัน/เดือน/ปี พ.ศ. เช่น 15/3/2562"
        )
    return "วันที่อ่านไม่ได้ (ใช้รูปแบบ วัน/เดือน/ปี เช่น 15/3/2562)"


def thai_date(day: date) -> str:
    """``24 พฤศจิกายน 2569``: a date as Thai readers write it."""
    return f"{day.day} {THAI_MONTHS[day.month - 1]} {day.year + BE_OFFSET}"
