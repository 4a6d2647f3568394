"""What an ``.xlsx`` package says beyond its values: devplan's mark on its own tabs, and formula errors.

**The mark.** devplan knows a tab it made by the note it leaves on the tab's
first cell (A1), whose last line is ``devplan-tab: <devplan's name for the tab>``.
A note lives in the sheet's own comments part, reached only through the sheet's
own relationships: writing it changes no part staff use. It is what survives
the file's life between runs: Excel and LibreOffice rewrite every part when a
person saves (a ``codeName`` or an unknown extension is dropped; LibreOffice was
tried), but keep a sheet's notes, and a renamed or moved tab takes its note with
it. A tab of devplan's name without the mark is a person's, never replaced.

**Errors.** calamine reads a cell whose formula gives an error (``t="e"``) as
empty; ``error_cells`` finds those cells of the tabs devplan reads, so they are
read as ``CellError``.
"""

from __future__ import annotations

import posixpath
import re
from typing import Callable, Iterable, Mapping
from urllib.parse import unquote
from xml.etree import ElementTree

from pipeline.workbook import CellError
from pipeline.workbook.layout import FormattedTab

#: the last line of devplan's note on A1 of each tab it makes
MARK_PREFIX = "devplan-tab: "
#: what a person reads in that note (Thai), above the mark itself
MARK_NOTE = "แท็บนี้ devplan สร้างและเขียนใหม่ทุกครั้งที่ประมวลผล (โปรดอย่าลบหมายเหตุนี้: devplan ใช้ดูว่าแท็บนี้เป็นของตัวเอง)"

#: Reads one part of the package by name; None when it is not there.
Reader = Callable[[str], "bytes | None"]

_CELL = re.compile(r"^([A-Za-z]{1,3})([0-9]+)$")


def marked(look: FormattedTab, name: str) -> FormattedTab:
    """``look`` with devplan's mark in the note of its first cell (after any note of its own there)."""
    own = look.notes.get((0, 0))
    text = f"{MARK_NOTE}\n{MARK_PREFIX}{name}"
    notes = {**look.notes, (0, 0): f"{own}\n\n{text}" if own else text}
    return FormattedTab(look.rows, look.bold_rows, look.frozen_rows, look.widths, notes, look.rules)


def sheet_parts(read: Reader) -> list[tuple[str, str]]:
    """(tab name, sheet part) of every worksheet, in the workbook's order."""
    root_rels = read("_rels/.rels")
    workbook = "xl/workbook.xml"
    if root_rels:
        for rel in _rels(root_rels, ""):
            if rel[0].endswith("/officeDocument"):
                workbook = rel[1]
    xml = read(workbook)
    if xml is None:
        return []
    rels = {rid: target for kind, target, rid in _rels(read(_rels_of(workbook)) or b"", workbook)}
    found = []
    for element in ElementTree.fromstring(xml).iter():
        if _local(element.tag) != "sheet":
            continue
        rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
        if rid in rels:
            found.append((element.get("name", ""), rels[rid]))
    return found


def own_marks(read: Reader, among: Iterable[str] | None = None) -> dict[str, str]:
    """Tab name -> devplan's name for it, for every tab that carries devplan's mark (``among``: only the tabs
    of these names, in any case: staff tabs' notes are then not read at all)."""
    folded = None if among is None else {name.casefold() for name in among}
    marks = {}
    for name, part in sheet_parts(read):
        if folded is not None and name.casefold() not in folded:
            continue
        mark = _mark(read, part)
        if mark is not None:
            marks[name] = mark
    return marks


def error_cells(read: Reader, tabs: Mapping[str, str]) -> dict[str, dict[tuple[int, int], CellError]]:
    """Tab -> {(row, column), 0-based: the error} of the cells whose formula gives an error.

    ``tabs`` maps each tab asked for to its sheet part; a part without ``t="e"`` is not parsed.
    """
    found: dict[str, dict[tuple[int, int], CellError]] = {}
    for tab, part in tabs.items():
        xml = read(part)
        if not xml or b't="e"' not in xml:
            continue
        cells: dict[tuple[int, int], CellError] = {}
        for element in ElementTree.fromstring(xml).iter():
            if _local(element.tag) != "c" or element.get("t") != "e":
                continue
            where = _CELL.match(element.get("r", ""))
            value = next((child.text for child in element if _local(child.tag) == "v"), None)
            if where and value:
                cells[(int(where.group(2)) - 1, _column(where.group(1)))] = CellError(value.strip())
        if cells:
            found[tab] = cells
    return found


def _mark(read: Reader, sheet_part: str) -> str | None:
    """devplan's name in the mark on A1 of one sheet, if the sheet carries it."""
    rels = read(_rels_of(sheet_part))
    if not rels:
        return None
    for kind, target, _ in _rels(rels, sheet_part):
        if not kind.endswith("/comments"):
            continue
        xml = read(target)
        if not xml:
            continue
        for element in ElementTree.fromstring(xml).iter():
            if _local(element.tag) == "comment" and element.get("ref", "").upper() == "A1":
                text = "".join(t.text or "" for t in element.iter() if _local(t.tag) == "t")
                lines = [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]
                if lines and lines[-1].startswith(MARK_PREFIX.strip()):
                    return lines[-1][len(MARK_PREFIX.strip()):].strip()
    return None


def _rels(xml: bytes, owner: str) -> list[tuple[str, str, str]]:
    """(type, target part, id) of a relationships part's internal relationships."""
    if not xml:
        return []
    found = []
    base = posixpath.dirname(owner)
    for element in ElementTree.fromstring(xml).iter():
        if _local(element.tag) != "Relationship" or element.get("TargetMode", "").lower() == "external":
            continue
        target = unquote(element.get("Target", ""))
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        found.append((element.get("Type", ""), part, element.get("Id", "")))
    return found


def _rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _column(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number - 1
