"""Titles a Thai name may carry: civil, military and police ranks, academic, English.

The vocabulary is written out once, from the conventions (the ranks of the army,
navy, air force and police with their standard abbreviations; acting ranks,
``ว่าที่``; female forms, ``หญิง``), and turned into one regular expression per
way of reading, compiled at import. ``pipeline.thai`` strips titles with them.

How people type a title, all read as the same title:

* an abbreviation with any of its dots dropped or spaced (``จ.ส.อ.``, ``จสอ.``,
  ``จ.ส.อ``, ``น.ส``, ``นส``, ``ด.ร.``); without its last dot it must be
  followed by a space, so the start of a name is never read as an abbreviation;
* a full Thai title glued to the name (``จ่าสิบเอกสมชาย``), with a stray dot
  (``นาย.สมชาย``) or a space;
* ``ว่าที่`` before a rank, with or without a space (``ว่าที่ ร.ต.``, ``ว่าที่รต.``);
* ``หญิง``, ``(หญิง)`` or ``ญ.`` after a rank (``ว่าที่ร.ต.หญิง``, ``ร.ต.ญ.``),
  and ``(พิเศษ)`` after a special rank (``พ.อ.(พิเศษ)``);
* English titles in any case, with or without their dot (``Mr.``, ``MRS``, ``ms.``).
"""

from __future__ import annotations

import functools
import re

#: (full title, standard abbreviation or "") of every rank of the army, navy, air force
#: and police, commissioned and non-commissioned. Abbreviations shared by two services
#: (ร.ต. = ร้อยตรี, เรือตรี, เรืออากาศตรี) are one title either way.
RANKS = (
    # army: officers, then non-commissioned
    ("จอมพล", ""), ("พลเอก", "พล.อ."), ("พลโท", "พล.ท."), ("พลตรี", "พล.ต."),
    ("พันเอก", "พ.อ."), ("พันโท", "พ.ท."), ("พันตรี", "พ.ต."),
    ("ร้อยเอก", "ร.อ."), ("ร้อยโท", "ร.ท."), ("ร้อยตรี", "ร.ต."),
    ("จ่าสิบเอก", "จ.ส.อ."), ("จ่าสิบโท", "จ.ส.ท."), ("จ่าสิบตรี", "จ.ส.ต."),
    ("สิบเอก", "ส.อ."), ("สิบโท", "ส.ท."), ("สิบตรี", "ส.ต."), ("พลทหาร", "พลฯ"),
    # navy
    ("จอมพลเรือ", ""), ("พลเรือเอก", "พล.ร.อ."), ("พลเรือโท", "พล.ร.ท."), ("พลเรือตรี", "พล.ร.ต."),
    ("นาวาเอก", "น.อ."), ("นาวาโท", "น.ท."), ("นาวาตรี", "น.ต."),
    ("เรือเอก", "ร.อ."), ("เรือโท", "ร.ท."), ("เรือตรี", "ร.ต."),
    ("พันจ่าเอก", "พ.จ.อ."), ("พันจ่าโท", "พ.จ.ท."), ("พันจ่าตรี", "พ.จ.ต."),
    ("จ่าเอก", "จ.อ."), ("จ่าโท", "จ.ท."), ("จ่าตรี", "จ.ต."),
    # air force
    ("จอมพลอากาศ", ""), ("พลอากาศเอก", "พล.อ.อ."), ("พลอากาศโท", "พล.อ.ท."), ("พลอากาศตรี", "พล.อ.ต."),
    ("นาวาอากาศเอก", "น.อ."), ("นาวาอากาศโท", "น.ท."), ("นาวาอากาศตรี", "น.ต."),
    ("เรืออากาศเอก", "ร.อ."), ("เรืออากาศโท", "ร.ท."), ("เรืออากาศตรี", "ร.ต."),
    ("พันจ่าอากาศเอก", "พ.อ.อ."), ("พันจ่าอากาศโท", "พ.อ.ท."), ("พันจ่าอากาศตรี", "พ.อ.ต."),
    ("จ่าอากาศเอก", "จ.อ."), ("จ่าอากาศโท", "จ.ท."), ("จ่าอากาศตรี", "จ.ต."),
    # police
    ("พลตำรวจเอก", "พล.ต.อ."), ("พลตำรวจโท", "พล.ต.ท."), ("พลตำรวจตรี", "พล.ต.ต."),
    ("พันตำรวจเอก", "พ.ต.อ."), ("พันตำรวจโท", "พ.ต.ท."), ("พันตำรวจตรี", "พ.ต.ต."),
    ("ร้อยตำรวจเอก", "ร.ต.อ."), ("ร้อยตำรวจโท", "ร.ต.ท."), ("ร้อยตำรวจตรี", "ร.ต.ต."),
    ("ดาบตำรวจ", "ด.ต."), ("จ่าสิบตำรวจ", "จ.ส.ต."),
    ("สิบตำรวจเอก", "ส.ต.อ."), ("สิบตำรวจโท", "ส.ต.ท."), ("สิบตำรวจตรี", "ส.ต.ต."), ("พลตำรวจ", "พลฯ"),
)
#: Academic titles; they stack (ผศ.ดร., ผู้ช่วยศาสตราจารย์ ดร.) and follow a civil title or a rank.
ACADEMIC = (
    ("ศาสตราจารย์", "ศ."), ("รองศาสตราจารย์", "รศ."), ("ผู้ช่วยศาสตราจารย์", "ผศ."), ("ด็อกเตอร์", "ดร."),
)
#: Civil titles: at most one per name, so in นางสาวนางนวล the second นาง is part of the name.
CIVIL = (("นาย", ""), ("นาง", ""), ("นางสาว", "น.ส."))
ENGLISH_CIVIL = ("Mr", "Mrs", "Ms", "Miss")
ENGLISH_OTHER = ("Dr", "Prof")
#: Words used as a title before a teacher's name (ครูสมศรี).
OTHER = ("ครู",)

ACTING = "ว่าที่"
FEMALE = ("หญิง", "(หญิง)", "ญ.")
SPECIAL = ("(พิเศษ)", "พิเศษ")

# A following vowel or combining mark cannot start a syllable: a glued title never ends before one
# (นาย + ิกา is the name นายิกา).
_NOT_A_NAME_START = "\u0e30-\u0e3a\u0e45\u0e47-\u0e4e"


def _abbreviation(abbr: str) -> str:
    """``จ.ส.อ.`` typed with any dot dropped or followed by a space; without its last dot it must be
    followed by a space (or หญิง), so the first letters of a name are never taken for one."""
    letters = abbr.replace(".", "")
    if len(letters) == 1:
        return re.escape(abbr)  # ศ.: one letter needs its dot
    body = "".join(re.escape(c) + r"(?:\. ?)?" for c in letters[:-1]) + re.escape(letters[-1])
    female = "|".join(re.escape(f) for f in FEMALE)
    return f"{body}(?:\\.|(?= )|(?= ?(?:{female})))"


def _word(word: str) -> str:
    """A full title, with a stray dot after it (นาย.)."""
    return re.escape(word) + r"\.?"


def _alternatives(items: list[tuple[str, int]]) -> str:
    """One alternation, longest title first: Python tries alternatives in order."""
    return "|".join(p for p, _ in sorted(items, key=lambda item: -item[1]))


def _spellings(pairs: tuple[tuple[str, str], ...]) -> list[tuple[str, int]]:
    found = []
    for word, abbr in pairs:
        found.append((_word(word), len(word)))
        if abbr:
            found.append((_word(abbr) if "ฯ" in abbr else _abbreviation(abbr), len(abbr)))
    return found


def _optional(words: tuple[str, ...]) -> str:
    return "(?: ?(?:" + "|".join(re.escape(w) for w in words) + "))?"


@functools.cache  # compiled on first use, once a run (not at import, for a run that reads no name)
def _pattern(glued: bool, civil: bool) -> re.Pattern[str]:
    """The title at the start of a clean name (single spaces, stripped).

    ``glued``: a full Thai title may be glued to the name (else it needs a dot or a
    space after it); ``civil``: civil titles count (not after one was taken).
    Something must remain after the title.
    """
    english = "(?:" + "|".join(sorted(ENGLISH_CIVIL, key=len, reverse=True)) + ")"
    english_other = "(?:" + "|".join(ENGLISH_OTHER) + ")"
    # English titles always need their dot or a space: "Missy" is a name.
    ascii_end = r"(?i:(?:\.|(?= )))"
    rank = (
        f"(?:{re.escape(ACTING)} ?)?(?:{_alternatives(_spellings(RANKS))})"
        f"{_optional(SPECIAL)}{_optional(FEMALE)}"
    )
    others = _alternatives(_spellings(ACADEMIC) + [(_word(w), len(w)) for w in OTHER])
    non_civil = f"{rank}|{others}|(?i:{english_other}){ascii_end}"
    civil_part = f"(?P<civil>{_alternatives(_spellings(CIVIL))}|(?i:{english}){ascii_end})|" if civil else ""
    end = f"(?![{_NOT_A_NAME_START}])" if glued else r"(?:(?<=[.)])|(?= ))"
    return re.compile(f"^(?:{civil_part}(?:{non_civil})){end}(?= ?\\S)")


def title_at_start(text: str, glued: bool, civil: bool) -> tuple[str, str, bool] | None:
    """(title as typed without spaces, the rest, is it civil) for a title at the start of ``text``."""
    match = _pattern(glued, civil).match(text)
    if match is None:
        return None
    is_civil = civil and match.group("civil") is not None
    return match.group(0).replace(" ", ""), text[match.end():].strip(), is_civil
