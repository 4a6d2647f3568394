"""Lossless ``.xlsx`` editing: replace devplan's own tabs, copy every other zip part untouched.

An ``.xlsx`` file is a zip of XML parts. To replace one tab, devplan writes a
new sheet part and, where needed, edits only the sheet list
(``xl/workbook.xml``), its relationships (``xl/_rels/workbook.xml.rels``),
``[Content_Types].xml`` and the sheet titles of ``docProps/app.xml``. Every
other part (staff tabs, drawings, images, charts, comments, extensions, cached
formula results, shared strings) is copied as its compressed bytes, so it
stays byte-identical. devplan's own sheet holds inline strings and its look
(``layout.FormattedTab``), with notes as a comments part and its VML drawing
(parts only devplan's sheet reaches, replaced with it; written by
``pipeline.workbook.xlsx_sheet``). Bold rows, dates and the rules' colours
need style entries, appended to the style table
(``pipeline.workbook.xlsx_styles``). The zip itself is read and written by
``pipeline.workbook.xlsx_zip``, within size bounds and in chunks.

Files come as Excel, LibreOffice, Google Sheets, WPS and other programs write
them, so the editing holds to the package rules rather than to one program's
habits:

- Transitional and Strict OOXML: relationship types and the main namespace
  are recognised under both namespaces, and devplan's new parts use the
  package's own.
- Part names are case-insensitive (OPC): a new part never equals an existing
  one ignoring case, and no existing part is overwritten unless it is one of
  the shared tables or was devplan's own (``Package.set`` refuses otherwise).
- A new part's content type comes from a ``Default`` or an appended
  ``Override``; a dropped part takes its ``Override`` with it.
- Namespace prefixes are used only where they are in scope.

Edits of the XML parts are textual insertions, not a re-serialisation:
ElementTree would rename namespace prefixes that ``mc:Ignorable`` names, and
Excel would then call the file damaged. Every part devplan changed is parsed
back and the package checked (``_verify``) before anything is written; if that
fails, ``UnsafeEdit`` is raised and the file stays as it was.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Mapping, TypeVar
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.parsers import expat

from pipeline.workbook.layout import AnyTab, FormattedTab, as_tab
from pipeline.workbook.xlsx_sheet import MAIN_NS, REL_NS, comments_xml, sheet_xml, value_kind, vml_xml, xml_text
from pipeline.workbook.xlsx_styles import Dxf, blank_styles, ensure_styles
from pipeline.workbook.xlsx_zip import DamagedPackage, Entry, Limits, TooLarge, read_part, scan, write_zip

__all__ = ["DamagedPackage", "Limits", "Package", "TabConflict", "TooLarge", "UnsafeEdit", "put_tabs", "sheet_xml"]

STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "[Content_Types].xml"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
RELS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
#: The relationship to docProps/app.xml, as Transitional and Strict name it.
APP_PROPERTIES = ("extended-properties", "extendedProperties")

_P = r"(?:[A-Za-z_][\w.-]*:)?"
#: Cell types that never need a number format (``value_kind`` is None), told apart without asking it.
_NO_FORMAT = frozenset({str, int, float, bool})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class TabConflict(Exception):
    """A tab to write clashes with an existing tab devplan cannot replace."""


class UnsafeEdit(Exception):
    """devplan's edit of a package would overwrite a part it does not own or does not check out."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"{part}: {reason}")
        self.part = part
        self.reason = reason


def fold(name: str) -> str:
    """A part name as OPC compares them: ASCII letters case-insensitively."""
    return unquote(name).translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Flavour:
    """The namespaces a package's SpreadsheetML parts and relationships use (Transitional or Strict)."""

    main: str
    rel: str


TRANSITIONAL = Flavour(MAIN_NS, REL_NS)
STRICT = Flavour(STRICT_MAIN_NS, STRICT_REL_NS)


def rel_kind(rel_type: str) -> str:
    """The last part of a relationship type under either namespace (``worksheet``, ``styles``), else ''."""
    for ns in (REL_NS, STRICT_REL_NS):
        if rel_type.startswith(ns + "/"):
            return rel_type[len(ns) + 1:]
    return ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# ------------------------------------------------------------------- package


def _attr(text: str) -> str:
    """Escape text for an XML attribute value in double quotes."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))


def _insert_before_close(xml: bytes, element: str, snippet_for_prefix: Any) -> bytes:
    """Insert a snippet before the last closing tag of ``element`` (any namespace prefix)."""
    text = xml.decode("utf-8")
    closes = list(re.finditer(rf"</({_P}){element}\s*>", text))
    if closes:
        last = closes[-1]
        return (text[: last.start()] + snippet_for_prefix(last.group(1)) + text[last.start():]).encode("utf-8")
    empty = list(re.finditer(rf"<({_P}){element}(\s[^>]*)?/>", text))
    if not empty:
        raise DamagedPackage(f"no <{element}> element")
    last = empty[-1]
    prefix = last.group(1)
    opened = f"<{prefix}{element}{last.group(2) or ''}>{snippet_for_prefix(prefix)}</{prefix}{element}>"
    return (text[: last.start()] + opened + text[last.end():]).encode("utf-8")


def _rels_path(part: str) -> str:
    """The relationships part of ``part`` (``xl/workbook.xml`` -> ``xl/_rels/workbook.xml.rels``)."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _rels_owner(rels_part: str) -> str:
    """The part a relationships part belongs to (the inverse of ``_rels_path``)."""
    folder = posixpath.dirname(posixpath.dirname(rels_part))
    return posixpath.join(folder, posixpath.basename(rels_part)[: -len(".rels")])


def _resolve(base_part: str, target: str) -> str:
    """A relationship target as a zip part name."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


@dataclass
class _Rel:
    id: str
    type: str
    target: str  # a part name, or the raw target when external
    external: bool


def _parse_rels(xml: bytes, owner: str) -> list[_Rel]:
    """Relationships of part ``owner``, targets resolved to part names."""
    root = ElementTree.fromstring(xml)
    rels = []
    for el in root:
        if _local(el.tag) != "Relationship":
            continue
        external = el.get("TargetMode") == "External"
        target = el.get("Target", "")
        rels.append(_Rel(el.get("Id", ""), el.get("Type", ""), target if external else _resolve(owner, target), external))
    return rels


@dataclass(frozen=True)
class _ContentTypes:
    """What ``[Content_Types].xml`` says."""

    overrides: tuple[tuple[str, str], ...]  # (part name without the leading slash, content type), in order
    defaults: dict[str, str]  # extension (lower case) -> content type
    by_folded: dict[str, str]  # folded part name -> content type of the first Override naming it

    @classmethod
    def of(cls, xml: bytes) -> "_ContentTypes":
        root = ElementTree.fromstring(xml)
        overrides = tuple((el.get("PartName", "").lstrip("/"), el.get("ContentType", ""))
                          for el in root if _local(el.tag) == "Override")
        defaults = {el.get("Extension", "").lower(): el.get("ContentType", "")
                    for el in root if _local(el.tag) == "Default"}
        by_folded: dict[str, str] = {}
        for name, content_type in overrides:
            by_folded.setdefault(fold(name), content_type)
        return cls(overrides, defaults, by_folded)


_Parsed = TypeVar("_Parsed")


@dataclass
class _Sheet:
    name: str
    sheet_id: int
    rid: str


@dataclass
class Package:
    """An ``.xlsx`` being edited: parts copied raw unless replaced, added or deleted.

    Part names are compared as OPC compares them (``fold``): a name given in
    another case means the part the zip already holds, under its own spelling.
    """

    source: BinaryIO | None
    order: list[str]
    infos: dict[str, zipfile.ZipInfo]
    limits: Limits = field(default_factory=Limits)
    changed: dict[str, bytes] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    _cache: dict[str, bytes] = field(default_factory=dict)
    #: folded name -> the name as spelled in the package (as edited so far)
    _spelling: dict[str, str] = field(default_factory=dict)
    #: folded names of the source's parts devplan may replace: the shared tables and its own tab's parts
    _replaceable: set[str] = field(default_factory=set)
    #: parsed XML parts (content types, relationships) by name, with the very bytes they were parsed from
    _parsed: dict[str, tuple[bytes, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.order:
            self._spelling.setdefault(fold(name), name)

    @classmethod
    def open(cls, source: BinaryIO, limits: Limits | None = None) -> "Package":
        """Open and check an existing file: within the size bounds, every part with a good CRC, XML parts parse."""
        limits = limits or Limits()
        infos = scan(source, limits, strict=True)
        return cls(source, [i.filename for i in infos], {i.filename: i for i in infos}, limits)

    @classmethod
    def blank(cls) -> "Package":
        """A new spreadsheet with no tabs yet (tabs are added before it is written)."""
        package = cls(None, [], {})
        package.set(CONTENT_TYPES, (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="{RELS_TYPE}"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{WORKBOOK_TYPE}"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{STYLES_TYPE}"/>'
            "</Types>").encode())
        package.set("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>").encode())
        package.set("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            '<bookViews><workbookView/></bookViews><sheets></sheets></workbook>').encode())
        package.set("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/styles" Target="styles.xml"/>'
            "</Relationships>").encode())
        package.set("xl/styles.xml", blank_styles(MAIN_NS))
        return package

    @property
    def names(self) -> list[str]:
        """Part names in output order."""
        return [n for n in self.order if n not in self.deleted]

    def spelled(self, name: str) -> str | None:
        """The part ``name`` (in any case) as the package spells it, or None if it holds no such part."""
        found = self._spelling.get(fold(name))
        return None if found is None or found in self.deleted else found

    def has(self, name: str) -> bool:
        """True if the package (as edited so far) holds part ``name``, in any case."""
        return self.spelled(name) is not None

    def get(self, name: str) -> bytes:
        """A part's current uncompressed bytes (read within the part bound)."""
        actual = self.spelled(name)
        if actual is None:
            raise DamagedPackage(f"part {name} is missing")
        if actual in self.changed:
            return self.changed[actual]
        if actual not in self._cache:
            assert self.source is not None
            self._cache[actual] = read_part(self.source, self.infos[actual], self.limits.part)
        return self._cache[actual]

    def original(self, name: str) -> bytes | None:
        """Part ``name`` (in any case) as the source holds it, whatever the edit did to it; None: not there."""
        actual = self._spelling.get(fold(name))
        if actual is None or actual not in self.infos:
            return None
        if actual not in self._cache:  # only the source's bytes are kept there
            assert self.source is not None
            self._cache[actual] = read_part(self.source, self.infos[actual], self.limits.part)
        return self._cache[actual]

    def copied(self, name: str) -> bool:
        """Whether part ``name`` (in any case) is a part of the source that the save copies raw, unchanged."""
        actual = self._spelling.get(fold(name))
        return actual is not None and actual in self.infos and actual not in self.changed and actual not in self.deleted

    def allow(self, name: str) -> None:
        """Let devplan replace part ``name`` of the source: a shared table, or a part of its own tab."""
        self._replaceable.add(fold(name))

    def set(self, name: str, data: bytes) -> None:
        """Replace or add a part; never a part of the source that devplan does not own."""
        key = fold(name)
        name = self._spelling.get(key, name)
        if name in self.infos and key not in self._replaceable:
            raise UnsafeEdit(name, "devplan would overwrite a part it did not make")
        self.changed[name] = data
        self.deleted.discard(name)
        self._spelling[key] = name
        if name not in self.order:
            self.order.append(name)

    def delete(self, name: str) -> None:
        """Leave part ``name`` out of the written package, with its content-type override."""
        actual = self.spelled(name)
        if actual is None:
            return
        self.deleted.add(actual)
        self.changed.pop(actual, None)
        self.allow(actual)  # it was devplan's own: a new part may take its name
        self.remove_override(actual)

    def save(self, out: BinaryIO) -> None:
        """Write the package: unchanged parts as raw compressed copies."""
        write_zip(out, self.source, (Entry(n, self.infos.get(n), self.changed.get(n)) for n in self.names))

    # -- structure -----------------------------------------------------------

    def workbook_part(self) -> str:
        """The workbook part named by the package relationships (normally ``xl/workbook.xml``)."""
        for rel in self.rels(""):
            if rel_kind(rel.type) == "officeDocument" and not rel.external and self.has(rel.target):
                return self.spelled(rel.target) or rel.target
        raise DamagedPackage("no workbook part")

    def rels(self, part: str) -> list[_Rel]:
        """Relationships of ``part`` (none if it has no relationships part)."""
        path = _rels_path(part)
        if not self.has(path):
            return []
        return list(self._parse(path, lambda data: tuple(_parse_rels(data, part))))

    def _parse(self, name: str, parse: Callable[[bytes], _Parsed]) -> _Parsed:
        """``parse`` of part ``name``'s current bytes, parsed once while they stay the same (read only)."""
        data = self.get(name)
        known = self._parsed.get(name)
        if known is None or known[0] is not data:
            known = self._parsed[name] = (data, parse(data))
        return known[1]

    def free(self, pattern: str, *, with_rels: bool = False) -> str:
        """The first part name ``pattern.format(n)`` (n = 1, 2, ...) that nothing in the package claims.

        Free means: no part of that name in any case, no content-type override
        naming it, and (``with_rels``) the same for its relationships part.
        """
        overridden = {fold(p) for p, _ in self._overrides()}
        number = 1
        while True:
            name = pattern.format(number)
            names = [name, _rels_path(name)] if with_rels else [name]
            if not any(self.has(n) or fold(n) in overridden for n in names):
                return name
            number += 1

    # -- content types --------------------------------------------------------

    def _overrides(self) -> list[tuple[str, str]]:
        """(part name, content type) of each Override, part names without the leading slash."""
        return list(self._types().overrides)

    def _defaults(self) -> dict[str, str]:
        """Extension (lower case) -> content type, from the Default entries."""
        return dict(self._types().defaults)

    def _types(self) -> "_ContentTypes":
        return self._parse(CONTENT_TYPES, _ContentTypes.of)

    def content_type(self, part: str) -> str | None:
        """The content type the package gives ``part`` (its Override, else its extension's Default)."""
        types = self._types()
        found = types.by_folded.get(fold(part))
        if found is not None:
            return found
        extension = posixpath.basename(part).rpartition(".")[2].lower()
        return types.defaults.get(extension) if "." in posixpath.basename(part) else None

    def declare(self, part: str, content_type: str, *, by_extension: bool = False) -> None:
        """Give a new part its content type: nothing if it already resolves to it, else an appended entry.

        ``by_extension``: a ``Default`` for the part's extension when there is
        none yet (as Excel declares ``vml``); otherwise an ``Override``.
        """
        if self.content_type(part) == content_type:
            return
        extension = part.rpartition(".")[2]
        if by_extension and extension.lower() not in self._defaults():
            snippet = lambda p: f'<{p}Default Extension="{_attr(extension)}" ContentType="{content_type}"/>'  # noqa: E731
        else:
            snippet = lambda p: f'<{p}Override PartName="/{_attr(part)}" ContentType="{content_type}"/>'  # noqa: E731
        self.set(CONTENT_TYPES, _insert_before_close(self.get(CONTENT_TYPES), "Types", snippet))

    def remove_override(self, part: str) -> None:
        """Drop a deleted part's content-type override, if it has one."""
        if not self.has(CONTENT_TYPES):
            return
        text = self.get(CONTENT_TYPES).decode("utf-8")

        def drop(match: re.Match[str]) -> str:
            named = re.search(r'\bPartName\s*=\s*(["\'])(.*?)\1', match.group(0))
            return "" if named and fold(named.group(2).lstrip("/")) == fold(part) else match.group(0)

        new = re.sub(rf"<({_P})Override\b[^>]*?(?:/>|>\s*</\1Override\s*>)", drop, text)
        if new != text:
            self.set(CONTENT_TYPES, new.encode("utf-8"))

    # -- relationships --------------------------------------------------------

    def add_rel(self, owner: str, rel_type: str, target_part: str) -> str:
        """Add a relationship from ``owner`` to ``target_part``; return its new id."""
        taken = {r.id for r in self.rels(owner)}
        number = len(taken) + 1
        while f"rId{number}" in taken:
            number += 1
        rid = f"rId{number}"
        target = posixpath.relpath(target_part, posixpath.dirname(owner) or ".")
        snippet = lambda p: f'<{p}Relationship Id="{rid}" Type="{rel_type}" Target="{_attr(target)}"/>'  # noqa: E731
        self.set(_rels_path(owner), _insert_before_close(self.get(_rels_path(owner)), "Relationships", snippet))
        return rid

    def remove_rel(self, owner: str, rid: str) -> None:
        """Drop relationship ``rid`` of part ``owner``."""
        path = _rels_path(owner)
        text = self.get(path).decode("utf-8")
        new = re.sub(rf'<(?:[\w.-]+:)?Relationship\b[^>]*\bId="{re.escape(rid)}"[^>]*/>', "", text)
        self.set(path, new.encode("utf-8"))

    def drop_unreferenced(self, rels_part: str) -> None:
        """Delete a relationships part and every part only it reached (drawings, comments, charts)."""
        if not self.has(rels_part):
            return
        targets = [r.target for r in _parse_rels(self.get(rels_part), _rels_owner(rels_part)) if not r.external]
        self.delete(rels_part)
        for target in targets:
            if not self.has(target) or self._referenced(target):
                continue
            self.delete(target)
            self.drop_unreferenced(_rels_path(target))

    def _referenced(self, part: str) -> bool:
        """True if any remaining relationships part points at ``part``."""
        wanted = fold(part)
        for name in self.names:
            if not name.endswith(".rels"):
                continue
            if any(fold(r.target) == wanted and not r.external for r in _parse_rels(self.get(name), _rels_owner(name))):
                return True
        return False


# ------------------------------------------------------------------- editing


@dataclass
class _Book:
    """What devplan needs from the workbook part."""

    sheets: list[_Sheet]
    flavour: Flavour
    rel_ns: str  # the namespace of the sheets' relationship ids
    date1904: bool


def _read_workbook(workbook: bytes) -> _Book:
    """The sheet list, the package's flavour, the namespace of relationship ids, and the date system."""
    root = ElementTree.fromstring(workbook)
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    flavour = STRICT if ns == STRICT_MAIN_NS else TRANSITIONAL
    sheets = []
    rel_ns = flavour.rel
    holder = next((el for el in root if _local(el.tag) == "sheets"), None)
    for el in holder if holder is not None else []:
        if _local(el.tag) != "sheet":
            continue
        rid_key = next((k for k in el.attrib if k.endswith("}id")), None)
        if rid_key is None:
            raise DamagedPackage("sheet without a relationship id")
        rel_ns = rid_key[1:].split("}")[0]
        sheets.append(_Sheet(el.get("name", ""), int(el.get("sheetId", "0")), el.attrib[rid_key]))
    pr = next((el for el in root if _local(el.tag) == "workbookPr"), None)
    date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
    return _Book(sheets, flavour, rel_ns, date1904)


def _worksheet_names(package: Package, workbook_part: str) -> list[str]:
    """Names of the tabs that are worksheets (not chart sheets), in order."""
    rels = {r.id: r for r in package.rels(workbook_part)}
    book = _read_workbook(package.get(workbook_part))
    return [s.name for s in book.sheets if s.rid in rels and rel_kind(rels[s.rid].type) == "worksheet"]


def _drop_calc_chain_entries(package: Package, workbook_part: str, sheet_id: int) -> None:
    """Remove the formula cells of a replaced sheet from ``calcChain.xml`` (Excel rebuilds the rest)."""
    rel = next((r for r in package.rels(workbook_part) if rel_kind(r.type) == "calcChain"), None)
    if rel is None or not package.has(rel.target):
        return
    text = package.get(rel.target).decode("utf-8")
    current = 0
    kept_any = False
    dropped = False
    follow_up = False  # the next kept entry must name its sheet explicitly

    def visit(match: re.Match[str]) -> str:
        nonlocal current, kept_any, dropped, follow_up
        attrs = match.group(2)
        explicit = re.search(r'\si="(\d+)"', attrs)
        if explicit:
            current = int(explicit.group(1))
        if current == sheet_id:
            dropped, follow_up = True, True
            return ""
        kept_any = True
        if follow_up and not explicit:
            follow_up = False
            return f'<{match.group(1)}c i="{current}"{attrs}/>'
        follow_up = False
        return match.group(0)

    new = re.sub(r"<((?:[A-Za-z_][\w.-]*:)?)c\b([^>]*?)/>", visit, text)
    if not dropped:
        return
    if kept_any:
        package.allow(rel.target)
        package.set(rel.target, new.encode("utf-8"))
    else:
        package.delete(rel.target)
        package.remove_rel(workbook_part, rel.id)


def put_tabs(package: Package, tabs: Mapping[str, AnyTab]) -> None:
    """Replace each named tab's sheet part in place, or add the tab at the end.

    A tab's look (``layout.FormattedTab``) goes with it: styles appended to
    the style table for bold rows, dates and the conditional rules, and a
    comments part with its VML drawing for the notes. Whatever the tab's old
    sheet part alone used (its comments, drawings) is dropped first. The
    edited package is checked (``_verify``) before this returns.
    """
    wb_part = package.workbook_part()
    book = _read_workbook(package.get(wb_part))
    flavour = book.flavour
    rels = {r.id: r for r in package.rels(wb_part)}
    before = _Before.of(package, wb_part)
    for shared in (CONTENT_TYPES, wb_part, _rels_path(wb_part)):
        package.allow(shared)
    looks = {name: as_tab(tab) for name, tab in tabs.items()}

    wanted: set[tuple[int, bool]] = set()
    dxfs: list[Dxf] = []
    for look in looks.values():
        for r, row in enumerate(look.rows):
            bold = r in look.bold_rows
            kinds = {0 if type(value) in _NO_FORMAT else value_kind(value) or 0 for value in row if value is not None}
            wanted.update((kind, bold) for kind in kinds)
        dxfs += [Dxf(rule.fill, rule.color) for rule in look.rules if Dxf(rule.fill, rule.color) not in dxfs]
    wanted.discard((0, False))
    styles_map: dict[tuple[int, bool], int] = {}
    dxf_map: dict[Dxf, int] = {}
    if wanted or dxfs:
        styles_rel = next((r for r in rels.values() if rel_kind(r.type) == "styles" and not r.external), None)
        if styles_rel is None:
            styles_part = "xl/styles.xml" if not package.has("xl/styles.xml") else package.free("xl/styles{}.xml")
            package.set(styles_part, blank_styles(flavour.main))
            package.declare(styles_part, STYLES_TYPE)
            package.add_rel(wb_part, f"{flavour.rel}/styles", styles_part)
        else:
            styles_part = styles_rel.target
            package.allow(styles_part)
            if not package.has(styles_part):  # named but missing: readers then use the defaults
                package.set(styles_part, blank_styles(flavour.main))
                package.declare(styles_part, STYLES_TYPE)
        new_styles, styles_map, dxf_map = ensure_styles(package.get(styles_part), wanted, dxfs)
        if new_styles != package.get(styles_part):
            package.set(styles_part, new_styles)

    by_name = {s.name: s for s in book.sheets}
    folded = {s.name.casefold(): s.name for s in book.sheets}
    written: dict[str, str] = {}
    for name, look in looks.items():
        sheet = by_name.get(name)
        if sheet is None and name.casefold() in folded:
            raise TabConflict(folded[name.casefold()])
        if sheet is not None:
            rel = rels.get(sheet.rid)
            if rel is None or rel.external or rel_kind(rel.type) != "worksheet" or not package.has(rel.target):
                raise TabConflict(name)
            part = package.spelled(rel.target) or rel.target
            package.allow(part)
            package.drop_unreferenced(_rels_path(part))
            _drop_calc_chain_entries(package, wb_part, sheet.sheet_id)
        else:
            part = package.free("xl/worksheets/sheet{}.xml", with_rels=True)
            package.set(part, b"")
            package.declare(part, WORKSHEET_TYPE)
            rid = package.add_rel(wb_part, f"{flavour.rel}/worksheet", part)
            sheet_id = max((s.sheet_id for s in book.sheets), default=0) + 1
            sheet = _Sheet(name, sheet_id, rid)
            book.sheets.append(sheet)
            by_name[name] = sheet
            folded[name.casefold()] = name
            rels = {r.id: r for r in package.rels(wb_part)}
            package.set(wb_part, _add_sheet_entry(package.get(wb_part), name, sheet_id, rid, book.rel_ns))
        drawing = _put_notes(package, part, look, sheet.sheet_id, flavour) if look.notes else None
        dxf_ids = [dxf_map[Dxf(rule.fill, rule.color)] for rule in look.rules]
        package.set(part, sheet_xml(look, styles_map, book.date1904, dxf_ids, drawing, flavour.main, flavour.rel))
        written[name] = part
    parsed = _well_formed(package)
    _update_app_titles(package, wb_part, before)
    _verify(package, wb_part, before, written, parsed)


def _put_notes(package: Package, sheet_part: str, look: FormattedTab, sheet_id: int, flavour: Flavour) -> str:
    """Write the comments part and VML drawing of devplan's sheet; return the drawing's relationship id.

    The sheet's relationships part is devplan's own (its old one was dropped
    with the old sheet part, or the name was free), so it is written whole.
    """
    comments = package.free("xl/comments{}.xml")
    package.set(comments, comments_xml(look.notes, flavour.main))
    package.declare(comments, COMMENTS_TYPE)
    drawing = package.free("xl/drawings/vmlDrawing{}.vml")
    package.set(drawing, vml_xml(look.notes, sheet_id))
    package.declare(drawing, VML_TYPE, by_extension=True)
    folder = posixpath.dirname(sheet_part)
    rels_part = _rels_path(sheet_part)
    package.set(rels_part, (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{flavour.rel}/vmlDrawing" '
        f'Target="{_attr(posixpath.relpath(drawing, folder))}"/>'
        f'<Relationship Id="rId2" Type="{flavour.rel}/comments" '
        f'Target="{_attr(posixpath.relpath(comments, folder))}"/>'
        "</Relationships>"
    ).encode("utf-8"))
    package.declare(rels_part, RELS_TYPE)  # an Override where the file has no Default for rels
    return "rId1"


def _start_tag(text: str, element: str) -> str:
    """The first start tag of ``element`` (any prefix), or ''."""
    found = re.search(rf"""<{_P}{element}\b(?:[^>"']|"[^"]*"|'[^']*')*>""", text)
    return found.group(0) if found else ""


def _declared(tag: str) -> dict[str, str]:
    """Namespace prefixes a start tag declares: prefix -> URI."""
    return {m.group(1): m.group(3) for m in re.finditer(r"""\bxmlns:([\w.-]+)\s*=\s*(["'])(.*?)\2""", tag)}


def _add_sheet_entry(workbook: bytes, name: str, sheet_id: int, rid: str, rel_ns: str) -> bytes:
    """Append ``<sheet>`` to the sheet list, with a relationships prefix that is in scope there.

    A prefix declared on the root or on ``<sheets>`` is reused; where files
    declare it on each ``<sheet>`` instead, the new one declares its own.
    """
    text = workbook.decode("utf-8")
    body = re.sub(r"<\?.*?\?>|<!--.*?-->", "", text, flags=re.DOTALL)
    root = re.search(r"<[^!?/][^>]*>", body)
    in_scope = {**_declared(root.group(0) if root else ""), **_declared(_start_tag(body, "sheets"))}
    prefix = next((p for p, uri in in_scope.items() if uri == rel_ns), None)
    rid_attr = f'{prefix}:id="{rid}"' if prefix else f'xmlns:r="{rel_ns}" r:id="{rid}"'
    snippet = lambda p: f'<{p}sheet name="{_attr(name)}" sheetId="{sheet_id}" {rid_attr}/>'  # noqa: E731
    return _insert_before_close(workbook, "sheets", snippet)


# ------------------------------------------------------ docProps/app.xml


def _app_part(package: Package) -> str | None:
    for rel in package.rels(""):
        if rel_kind(rel.type) in APP_PROPERTIES and not rel.external and package.has(rel.target):
            return package.spelled(rel.target)
    return None


def _app_group(xml: bytes, worksheets: list[str]) -> tuple[int, list[int]] | None:
    """The heading group of ``docProps/app.xml`` that lists exactly the worksheets, and every group's count.

    None unless the titles are consistent: as many titles as the headings
    count and the vector sizes say, and one group holding the worksheet
    names in order.
    """
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    vectors = {}
    for holder in root:
        if _local(holder.tag) in ("HeadingPairs", "TitlesOfParts"):
            vector = next((el for el in holder if _local(el.tag) == "vector"), None)
            if vector is None:
                return None
            vectors[_local(holder.tag)] = vector
    if len(vectors) != 2 or not worksheets:
        return None
    variants = [el for el in vectors["HeadingPairs"] if _local(el.tag) == "variant"]
    titles = [el.text or "" for el in vectors["TitlesOfParts"] if _local(el.tag) in ("lpstr", "lpwstr")]
    try:
        counts = [int((next(iter(v)).text or "").strip()) for v in variants[1::2]]
        sizes = int(vectors["HeadingPairs"].get("size", "-1")), int(vectors["TitlesOfParts"].get("size", "-1"))
    except (StopIteration, ValueError):
        return None
    if len(variants) % 2 or sizes != (len(variants), len(titles)) or sum(counts) != len(titles):
        return None
    start = 0
    for group, count in enumerate(counts):
        if titles[start:start + count] == worksheets:
            return group, counts
        start += count
    return None


def _resize(tag: str, size: int) -> str:
    return re.sub(r"""(\bsize\s*=\s*["'])\d+""", rf"\g<1>{size}", tag, count=1)


def _update_app_titles(package: Package, wb_part: str, before: "_Before") -> None:
    """Add devplan's new tabs to the sheet titles of ``docProps/app.xml``, if those were consistent before."""
    if before.app_group is None or before.app_part is None:
        return
    names = _worksheet_names(package, wb_part)
    new = [n for n in names if n not in before.worksheets]
    if not new:
        return
    group, counts = before.app_group
    text = package.get(before.app_part).decode("utf-8")

    titles = re.search(rf"<({_P})TitlesOfParts\b[^>]*>(.*?)</\1TitlesOfParts\s*>", text, re.DOTALL)
    vector = re.search(rf"<({_P})vector\b[^>]*>", titles.group(2)) if titles else None
    headings = re.search(rf"<({_P})HeadingPairs\b[^>]*>(.*?)</\1HeadingPairs\s*>", text, re.DOTALL)
    if titles is None or vector is None or headings is None or headings.start() > titles.start():
        raise UnsafeEdit(before.app_part, "sheet titles in an unexpected layout")
    inner, base = titles.group(2), titles.start(2)
    entries = list(re.finditer(rf"<({_P})(lpw?str)\b[^>]*?(?:/>|>.*?</\1\2\s*>)", inner, re.DOTALL))
    through = sum(counts[: group + 1])
    if through:
        last = entries[through - 1]
        at, prefix, tag = last.end(), last.group(1), last.group(2)
    else:
        at, prefix, tag = vector.end(), vector.group(1), "lpstr"
    added = "".join(f"<{prefix}{tag}>{xml_text(n)}</{prefix}{tag}>" for n in new)
    inner = inner[:at] + added + inner[at:]
    inner = inner[: vector.start()] + _resize(vector.group(0), len(entries) + len(new)) + inner[vector.end():]
    text = text[:base] + inner + text[base + len(titles.group(2)):]

    inner, base = headings.group(2), headings.start(2)
    variants = list(re.finditer(rf"<({_P})variant\b[^>]*>(.*?)</\1variant\s*>", inner, re.DOTALL))
    count = variants[2 * group + 1]
    number = re.compile(rf"(<{_P}u?i[1248]\b[^>]*>|<{_P}u?int\b[^>]*>)\s*\d+\s*<")
    counted = number.sub(lambda m: f"{m.group(1)}{counts[group] + len(new)}<", count.group(0), count=1)
    inner = inner[: count.start()] + counted + inner[count.end():]
    text = text[:base] + inner + text[base + len(headings.group(2)):]
    package.allow(before.app_part)
    package.set(before.app_part, text.encode("utf-8"))


# ------------------------------------------------------------ verification


@dataclass
class _Before:
    """What the package looked like before devplan's edit, for ``_verify``."""

    worksheets: list[str]
    dangling: set[str]  # overrides that named no part
    doubled: set[str]  # parts named by more than one override
    styles_rels: int
    app_part: str | None
    app_group: tuple[int, list[int]] | None

    @classmethod
    def of(cls, package: Package, wb_part: str) -> "_Before":
        worksheets = _worksheet_names(package, wb_part)
        app = _app_part(package)
        return cls(
            worksheets, *_override_faults(package),
            sum(rel_kind(r.type) == "styles" for r in package.rels(wb_part)),
            app, _app_group(package.get(app), worksheets) if app else None,
        )


def _override_faults(package: Package) -> tuple[set[str], set[str]]:
    """Folded names of overrides naming no part, and of parts named by several overrides."""
    seen: set[str] = set()
    doubled: set[str] = set()
    for name, _ in package._overrides():
        (doubled if fold(name) in seen else seen).add(fold(name))
    return {n for n in seen if not package.has(n)}, doubled


def _well_formed(package: Package, parsed: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
    """Every XML part devplan changed parses, prefixes bound (``parses``); the parts
    checked. A part whose bytes are the very ones of ``parsed`` (a check a moment ago) is not parsed again."""
    checked: dict[str, bytes] = {}
    for name, data in package.changed.items():
        if name in package.deleted or not name.endswith((".xml", ".rels", ".vml")):
            continue
        if parsed is None or parsed.get(name) is not data:
            try:
                parses(data)
            except (ElementTree.ParseError, expat.ExpatError) as exc:
                raise UnsafeEdit(name, f"not well-formed XML after the edit ({exc})") from exc
        checked[name] = data
    return checked


def parses(data: bytes) -> None:
    """Raise unless ``data`` is XML ElementTree would parse, namespace prefixes bound: its verdict, without
    building the tree (a plain namespace-aware expat parse, several times faster on a whole sheet).

    Only where a DTD may declare entities (ElementTree refuses an undeclared one that expat lets by), or
    where a ``<!DOCTYPE`` could hide in UTF-16 or UTF-32, is the part handed to ElementTree itself.
    """
    if b"<!DOCTYPE" in data or b"\x00" in data[:4]:
        ElementTree.fromstring(data)
    else:
        expat.ParserCreate(namespace_separator="}").Parse(data, True)


def _verify(
    package: Package, wb_part: str, before: _Before, written: Mapping[str, str], parsed: Mapping[str, bytes] | None = None,
) -> None:
    """Check the edited package as a reader would see it; ``UnsafeEdit`` names the first fault.

    Every part devplan changed must be well-formed, namespace-correct XML;
    each written tab must be listed once and lead to its part; devplan's new
    parts must have a content type; no part name may clash with another in
    case; nothing devplan did may add a dangling or doubled override, a
    second style table, or make consistent sheet titles inconsistent. ``parsed``: parts already found
    well-formed, as they still are.
    """
    _well_formed(package, parsed)
    names = package.names
    if len({fold(n) for n in names}) != len(names):
        raise UnsafeEdit(wb_part, "two parts whose names differ only in case")
    book = _read_workbook(package.get(wb_part))
    rels = {r.id: r for r in package.rels(wb_part)}
    for tab, part in written.items():
        listed = [s for s in book.sheets if s.name == tab]
        rel = rels.get(listed[0].rid) if len(listed) == 1 else None
        if rel is None or rel_kind(rel.type) != "worksheet" or fold(rel.target) != fold(part) or not package.has(part):
            raise UnsafeEdit(wb_part, f"tab '{tab}' does not lead to its sheet part {part}")
    if len({s.sheet_id for s in book.sheets}) != len(book.sheets):
        raise UnsafeEdit(wb_part, "two tabs with the same sheetId")
    for name in names:
        if name not in package.infos and name != CONTENT_TYPES and package.content_type(name) is None:
            raise UnsafeEdit(CONTENT_TYPES, f"no content type for {name}")
    dangling, doubled = _override_faults(package)
    if not dangling <= before.dangling or not doubled <= before.doubled:
        raise UnsafeEdit(CONTENT_TYPES, f"an override names a missing or doubled part ({sorted(dangling | doubled)})")
    if sum(rel_kind(r.type) == "styles" for r in rels.values()) > max(before.styles_rels, 1):
        raise UnsafeEdit(_rels_path(wb_part), "a second style table")
    if before.app_part is not None and before.app_group is not None:
        if _app_group(package.get(before.app_part), _worksheet_names(package, wb_part)) is None:
            raise UnsafeEdit(before.app_part, "sheet titles no longer match the tabs")
