"""Lossless ``.xlsx`` editing: replace devplan's own tabs, copy every other zip part untouched.

An ``.xlsx`` file is a zip of XML parts. To replace one tab, devplan writes a
new sheet part and, where needed, edits only the sheet list
(``xl/workbook.xml``), its relationships (``xl/_rels/workbook.xml.rels``) and
``[Content_Types].xml``. Every other part (staff tabs, drawings, images,
charts, comments, extensions, cached formula results, shared strings) is
copied as its compressed bytes, so it stays byte-identical. devplan's own
sheet holds inline strings and its look (``layout.FormattedTab``): frozen
rows, column widths, conditional formatting, and notes as a comments part
with its VML drawing (parts only devplan's sheet reaches, replaced with it).
Bold rows, dates and the rules' colours need style entries: fonts, ``xf`` and
``dxf`` entries are appended to ``xl/styles.xml`` (existing entries never
change or move) unless an identical one is already there.

Edits of the XML parts are textual insertions, not a re-serialisation:
ElementTree would rename namespace prefixes that ``mc:Ignorable`` names, and
Excel would then call the file damaged.
"""

from __future__ import annotations

import math
import numbers
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, BinaryIO, Iterable, Mapping, Sequence
from xml.etree import ElementTree
from xml.parsers import expat

from openpyxl.utils.cell import get_column_letter

from pipeline.workbook.layout import AnyTab, FormattedTab, Table, a1_range, as_tab

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKSHEET_REL = REL_NS + "/worksheet"
STYLES_REL = REL_NS + "/styles"
CALC_CHAIN_REL = REL_NS + "/calcChain"
OFFICE_DOCUMENT_REL = REL_NS + "/officeDocument"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
COMMENTS_REL = REL_NS + "/comments"
VML_REL = REL_NS + "/vmlDrawing"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"

#: Characters XML 1.0 cannot hold (a pasted vertical tab, a NUL, a lone surrogate).
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
#: Text Excel would decode as an escaped character; its underscore is escaped so it stays literal.
OOXML_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")

#: Built-in number formats (no numFmt entry needed) for values that need one.
DATETIME_FORMAT, DATE_FORMAT, TIME_FORMAT, DURATION_FORMAT = 22, 14, 21, 46

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_ZIP32_LIMIT = 0xFFFFFFFF
_DEFLATE_LEVEL = 6
_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)


class DamagedPackage(Exception):
    """The file is not a complete ``.xlsx``: not a zip, a part missing, broken XML or compression."""


class TabConflict(Exception):
    """A tab to write clashes with an existing tab devplan cannot replace."""


# --------------------------------------------------------------------------- zip


@dataclass
class _Entry:
    """One part of the output zip: copied raw from ``info`` or written from ``data``."""

    name: str
    info: zipfile.ZipInfo | None = None
    data: bytes | None = None


def _raw_bytes(source: BinaryIO, info: zipfile.ZipInfo) -> bytes:
    """The compressed bytes of one entry, exactly as stored in the source file."""
    source.seek(info.header_offset)
    header = source.read(_LOCAL.size)
    if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise DamagedPackage(f"bad local header for {info.filename}")
    fields = _LOCAL.unpack(header)
    source.seek(info.header_offset + _LOCAL.size + fields[10] + fields[11])
    data = source.read(info.compress_size)
    if len(data) != info.compress_size:
        raise DamagedPackage(f"truncated data for {info.filename}")
    return data


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    """(time, date) in MS-DOS format, as zip headers store them."""
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((max(year, 1980) - 1980) << 9) | (month << 5) | day


def write_zip(out: BinaryIO, source: BinaryIO | None, entries: Iterable[_Entry]) -> None:
    """Write a zip: raw copies keep their compressed bytes and CRC; new parts are deflated."""
    central = []
    offset = 0
    for entry in entries:
        if entry.data is None:
            info = entry.info
            assert info is not None and source is not None
            payload = _raw_bytes(source, info)
            crc, size, method = info.CRC, info.file_size, info.compress_type
            flags = info.flag_bits & ~0x08  # sizes go in the local header, so no data descriptor
            when = info.date_time
            versions = (info.create_version, info.create_system, info.extract_version)
            external, internal, comment = info.external_attr, info.internal_attr, info.comment
            name = info.orig_filename.encode("utf-8" if flags & 0x800 else "cp437")
        else:
            packer = zlib.compressobj(_DEFLATE_LEVEL, zlib.DEFLATED, -15)
            payload = packer.compress(entry.data) + packer.flush()
            crc, size, method = zlib.crc32(entry.data), len(entry.data), zipfile.ZIP_DEFLATED
            try:
                name = entry.name.encode("ascii")
                flags = 0
            except UnicodeEncodeError:
                name, flags = entry.name.encode("utf-8"), 0x800
            when = entry.info.date_time if entry.info is not None else (1980, 1, 1, 0, 0, 0)
            versions = (20, 0, 20)
            external, internal, comment = 0, 0, b""
        if max(offset, len(payload), size) >= _ZIP32_LIMIT:
            raise DamagedPackage("file too large for a plain zip (ZIP64 is not written)")
        dos_time, dos_date = _dos_time(when)
        out.write(_LOCAL.pack(
            b"PK\x03\x04", versions[2], 0, flags, method, dos_time, dos_date,
            crc, len(payload), size, len(name), 0,
        ))
        out.write(name)
        out.write(payload)
        central.append(_CENTRAL.pack(
            b"PK\x01\x02", versions[0], versions[1], versions[2], 0, flags, method, dos_time, dos_date,
            crc, len(payload), size, len(name), 0, len(comment), 0, internal, external, offset,
        ) + name + comment)
        offset += _LOCAL.size + len(name) + len(payload)
    if len(central) >= 0xFFFF:
        raise DamagedPackage("too many parts for a plain zip")
    directory = b"".join(central)
    out.write(directory)
    out.write(_END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0))


# ------------------------------------------------------------------- package


def _attr(text: str) -> str:
    """Escape text for an XML attribute value in double quotes."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))


def _insert_before_close(xml: bytes, element: str, snippet_for_prefix: Any) -> bytes:
    """Insert a snippet before the last closing tag of ``element`` (any namespace prefix)."""
    text = xml.decode("utf-8")
    closes = list(re.finditer(rf"</((?:[A-Za-z_][\w.-]*:)?){element}\s*>", text))
    if closes:
        last = closes[-1]
        return (text[: last.start()] + snippet_for_prefix(last.group(1)) + text[last.start():]).encode("utf-8")
    empty = list(re.finditer(rf"<((?:[A-Za-z_][\w.-]*:)?){element}(\s[^>]*)?/>", text))
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
        if el.tag.rsplit("}", 1)[-1] != "Relationship":
            continue
        external = el.get("TargetMode") == "External"
        target = el.get("Target", "")
        rels.append(_Rel(el.get("Id", ""), el.get("Type", ""), target if external else _resolve(owner, target), external))
    return rels


@dataclass
class _Sheet:
    name: str
    sheet_id: int
    rid: str


@dataclass
class Package:
    """An ``.xlsx`` being edited: parts copied raw unless replaced, added or deleted."""

    source: BinaryIO | None
    order: list[str]
    infos: dict[str, zipfile.ZipInfo]
    changed: dict[str, bytes] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    _cache: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def open(cls, source: BinaryIO) -> "Package":
        """Open and check an existing file: every part decompresses with a good CRC, XML parts parse."""
        try:
            archive = zipfile.ZipFile(source)
            infos = {}
            order = []
            cache = {}
            for info in archive.infolist():
                if info.filename in infos or info.flag_bits & 0x1:
                    raise DamagedPackage(f"duplicate or encrypted part {info.filename}")
                data = archive.read(info)  # checks the CRC
                if info.filename.endswith((".xml", ".rels")):
                    expat.ParserCreate().Parse(data, True)
                    cache[info.filename] = data
                infos[info.filename] = info
                order.append(info.filename)
        except (zipfile.BadZipFile, zlib.error, expat.ExpatError, EOFError, NotImplementedError, ValueError) as exc:
            raise DamagedPackage(str(exc)) from exc
        return cls(source, order, infos, _cache=cache)

    @classmethod
    def blank(cls) -> "Package":
        """A new spreadsheet with no tabs yet (tabs are added before it is written)."""
        package = cls(None, [], {})
        package.set("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{WORKBOOK_TYPE}"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{STYLES_TYPE}"/>'
            "</Types>").encode())
        package.set("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{OFFICE_DOCUMENT_REL}" Target="xl/workbook.xml"/>'
            "</Relationships>").encode())
        package.set("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            '<bookViews><workbookView/></bookViews><sheets></sheets></workbook>').encode())
        package.set("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{STYLES_REL}" Target="styles.xml"/>'
            "</Relationships>").encode())
        package.set("xl/styles.xml", _BLANK_STYLES)
        return package

    @property
    def names(self) -> list[str]:
        """Part names in output order."""
        return [n for n in self.order if n not in self.deleted]

    def has(self, name: str) -> bool:
        """True if the package (as edited so far) holds part ``name``."""
        return name in self.names

    def get(self, name: str) -> bytes:
        """A part's current uncompressed bytes."""
        if name in self.changed:
            return self.changed[name]
        if name not in self._cache:
            if self.source is None or name not in self.infos or name in self.deleted:
                raise DamagedPackage(f"part {name} is missing")
            self._cache[name] = zipfile.ZipFile(self.source).read(name)
        return self._cache[name]

    def set(self, name: str, data: bytes) -> None:
        """Replace or add a part."""
        self.changed[name] = data
        self.deleted.discard(name)
        if name not in self.order:
            self.order.append(name)

    def delete(self, name: str) -> None:
        """Leave part ``name`` out of the written package."""
        self.deleted.add(name)
        self.changed.pop(name, None)

    def save(self, out: BinaryIO) -> None:
        """Write the package: unchanged parts as raw compressed copies."""
        write_zip(out, self.source, (
            _Entry(n, self.infos.get(n), self.changed.get(n)) for n in self.names
        ))

    # -- structure -----------------------------------------------------------

    def workbook_part(self) -> str:
        """The workbook part named by the package relationships (normally ``xl/workbook.xml``)."""
        for rel in _parse_rels(self.get("_rels/.rels"), ""):
            if rel.type.endswith("/officeDocument") and not rel.external:
                return rel.target
        raise DamagedPackage("no workbook part")

    def rels(self, part: str) -> list[_Rel]:
        """Relationships of ``part`` (none if it has no relationships part)."""
        path = _rels_path(part)
        return _parse_rels(self.get(path), part) if self.has(path) else []

    def add_override(self, part: str, content_type: str) -> None:
        """Declare a part's content type in ``[Content_Types].xml``."""
        snippet = lambda p: f'<{p}Override PartName="/{_attr(part)}" ContentType="{content_type}"/>'  # noqa: E731
        self.set("[Content_Types].xml", _insert_before_close(self.get("[Content_Types].xml"), "Types", snippet))

    def remove_override(self, part: str) -> None:
        """Drop a deleted part's content type from ``[Content_Types].xml``."""
        text = self.get("[Content_Types].xml").decode("utf-8")
        pattern = rf'<(?:[\w.-]+:)?Override\b[^>]*PartName="/?{re.escape(_attr(part))}"[^>]*/>'
        new = re.sub(pattern, "", text, flags=re.IGNORECASE)
        if new != text:
            self.set("[Content_Types].xml", new.encode("utf-8"))

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
        owner = posixpath.join(posixpath.dirname(posixpath.dirname(rels_part)), posixpath.basename(rels_part)[:-5])
        targets = [r.target for r in _parse_rels(self.get(rels_part), owner) if not r.external]
        self.delete(rels_part)
        for target in targets:
            if not self.has(target) or self._referenced(target):
                continue
            self.delete(target)
            self.remove_override(target)
            self.drop_unreferenced(_rels_path(target))

    def _referenced(self, part: str) -> bool:
        """True if any remaining relationships part points at ``part``."""
        for name in self.names:
            if not name.endswith(".rels"):
                continue
            folder = posixpath.dirname(posixpath.dirname(name))
            owner = posixpath.join(folder, posixpath.basename(name)[:-5])
            if any(r.target == part and not r.external for r in _parse_rels(self.get(name), owner)):
                return True
        return False


_BLANK_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
).encode()

_P = r"(?:[A-Za-z_][\w.-]*:)?"


def _entries(element: str) -> re.Pattern[str]:
    """Each ``<element>`` entry (empty or with content) inside its collection."""
    return re.compile(rf"<{_P}{element}\b[^>]*?(?:/>|>.*?</{_P}{element}\s*>)", re.DOTALL)


_XF, _FONT, _DXF = _entries("xf"), _entries("font"), _entries("dxf")


def _plain_xf(number_format: int) -> str:
    """Attributes of the plain cell format devplan appends for a built-in number format."""
    return f'numFmtId="{number_format}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'


def _bold_xf(number_format: int, font: int) -> str:
    """Attributes of the bold cell format devplan appends (with a built-in number format, or General)."""
    apply_number = ' applyNumberFormat="1"' if number_format else ""
    return f'numFmtId="{number_format}" fontId="{font}" fillId="0" borderId="0" xfId="0" applyFont="1"{apply_number}'


@dataclass
class _Collection:
    """One list of ``xl/styles.xml`` (fonts, cellXfs, dxfs) that devplan may only append to."""

    text: str
    element: str
    entry: re.Pattern[str]
    prefix: str = ""
    start: int = -1
    end: int = -1
    attrs: str = ""
    inner: str = ""
    entries: list[str] = field(default_factory=list)
    added: bool = False

    def find(self) -> bool:
        block = re.search(
            rf"<({_P}){self.element}\b([^>]*?)(?:/>|>(.*?)</{_P}{self.element}\s*>)", self.text, re.DOTALL
        )
        if block is None:
            return False
        self.prefix, self.attrs, self.inner = block.group(1), block.group(2), block.group(3) or ""
        self.start, self.end = block.start(), block.end()
        self.entries = [m.group(0) for m in self.entry.finditer(self.inner)]
        return True

    def index(self, entry: str) -> int:
        """The index of an identical existing entry, or of ``entry`` appended."""
        if entry in self.entries:
            return self.entries.index(entry)
        self.entries.append(entry)
        self.inner += entry
        self.added = True
        return len(self.entries) - 1

    def rebuilt(self) -> str:
        attrs = self.attrs.rstrip("/").rstrip()
        if re.search(r'\scount="\d+"', attrs):
            attrs = re.sub(r'(\scount=")\d+(")', rf"\g<1>{len(self.entries)}\g<2>", attrs)
        else:
            attrs += f' count="{len(self.entries)}"'
        return f"<{self.prefix}{self.element}{attrs}>{self.inner}</{self.prefix}{self.element}>"


@dataclass(frozen=True)
class Dxf:
    """A differential format for a conditional rule: fill and text colours as ``RRGGBB``."""

    fill: str
    color: str


def ensure_styles(
    styles: bytes, cell_styles: set[tuple[int, bool]], dxfs: list[Dxf] | None = None
) -> tuple[bytes, dict[tuple[int, bool], int], dict[Dxf, int]]:
    """Style indexes for cells and conditional rules, appending entries to ``xl/styles.xml`` as needed.

    ``cell_styles`` holds (built-in number format, bold) pairs; (0, False) is
    the default style and needs none. A bold font is the workbook's default
    font with ``<b/>``. An existing entry is reused only if it is exactly the
    one devplan would append; no existing entry is changed or moved.
    """
    text = styles.decode("utf-8")
    xfs = _Collection(text, "cellXfs", _XF)
    if not xfs.find():
        raise DamagedPackage("styles part has no cellXfs")
    prefix = xfs.prefix
    wanted = sorted(s for s in cell_styles if s != (0, False))
    xf_map: dict[tuple[int, bool], int] = {}
    font_id = 0
    if any(bold for _, bold in wanted):
        fonts = _Collection(text, "fonts", _FONT)
        if not fonts.find() or not fonts.entries:
            raise DamagedPackage("styles part has no fonts")
        font_id = fonts.index(_bold_font(fonts.entries[0], prefix))
        if fonts.added:
            text = text[: fonts.start] + fonts.rebuilt() + text[fonts.end:]
    xfs = _Collection(text, "cellXfs", _XF)
    xfs.find()
    for number_format, bold in wanted:
        attrs = _bold_xf(number_format, font_id) if bold else _plain_xf(number_format)
        xf_map[(number_format, bold)] = xfs.index(f"<{prefix}xf {attrs}/>")
    if xfs.added:
        text = text[: xfs.start] + xfs.rebuilt() + text[xfs.end:]
    dxf_map: dict[Dxf, int] = {}
    if dxfs:
        block = _Collection(text, "dxfs", _DXF)
        if not block.find():
            later = re.search(rf"<{_P}(?:tableStyles|colors|extLst)\b|</{_P}styleSheet\s*>", text)
            if later is None:
                raise DamagedPackage("styles part has no styleSheet end")
            text = text[: later.start()] + f"<{prefix}dxfs/>" + text[later.start():]
            block = _Collection(text, "dxfs", _DXF)
            block.find()
        for dxf in dxfs:
            dxf_map[dxf] = block.index(
                f'<{prefix}dxf><{prefix}font><{prefix}color rgb="FF{dxf.color}"/></{prefix}font>'
                f'<{prefix}fill><{prefix}patternFill patternType="solid"><{prefix}bgColor rgb="FF{dxf.fill}"/>'
                f"</{prefix}patternFill></{prefix}fill></{prefix}dxf>"
            )
        if block.added:
            text = text[: block.start] + block.rebuilt() + text[block.end:]
    new = text.encode("utf-8")
    return (styles if new == styles else new), xf_map, dxf_map


def _bold_font(font: str, prefix: str) -> str:
    """The default font entry made bold (itself when it already is)."""
    if re.search(rf"<{_P}b(\s+val=\"(1|true)\")?\s*/>", font):
        return font
    opened = re.match(rf"<({_P})font\b([^>]*?)(/?)>", font)
    assert opened is not None
    tag_prefix, attrs, empty = opened.group(1), opened.group(2), opened.group(3)
    if empty:
        return f"<{tag_prefix}font{attrs}><{tag_prefix}b/></{tag_prefix}font>"
    return f"<{tag_prefix}font{attrs}><{tag_prefix}b/>{font[opened.end():]}"


# --------------------------------------------------------------------- sheet


def clean_text(value: str) -> str:
    """Text as a cell can hold it: XML-illegal characters dropped."""
    return ILLEGAL_XML.sub("", value)


def _text_cell(ref: str, value: str, style: str = "") -> str:
    """An inline-string cell: always text, never a formula, whatever the text starts with."""
    value = OOXML_ESCAPE.sub(r"_x005F_\1", clean_text(value))
    body = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    space = ' xml:space="preserve"' if body != body.strip() or "\n" in body else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{body}</t></is></c>'


def _number(value: float) -> str:
    """A number as Excel writes it: whole numbers without a decimal point."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def value_kind(value: Any) -> int | None:
    """The built-in number format a value needs, or None."""
    if isinstance(value, datetime):
        return DATETIME_FORMAT if value == value else None  # NaT compares unequal to itself
    if isinstance(value, date):
        return DATE_FORMAT
    if isinstance(value, time):
        return TIME_FORMAT
    if isinstance(value, timedelta):
        return DURATION_FORMAT
    return None


def _serial(value: Any, date1904: bool) -> float:
    """Excel's serial number of a date, time or duration."""
    if isinstance(value, timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    value = value.replace(tzinfo=None)
    serial = (value - (_EPOCH_1904 if date1904 else _EPOCH_1900)).total_seconds() / 86400
    if not date1904 and 1 <= serial < 61:
        serial -= 1  # Excel counts a 29 February 1900 that never was
    return serial


def _width(pixels: int) -> str:
    """A pixel width as Excel's column width (characters of the default font: 7 px each, plus 5 px)."""
    return f"{max(pixels - 5, 0) / 7:.2f}"


def _xml_text(text: str) -> str:
    return clean_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sheet_xml(
    tab: "FormattedTab | Table",
    styles: Mapping[Any, int],
    date1904: bool = False,
    dxfs: Sequence[int] = (),
    legacy_drawing: str | None = None,
) -> bytes:
    """A worksheet part holding a tab: inline strings, numbers, booleans, dates; no formulas.

    ``styles`` maps (number format, bold) to a cell style index (a plain
    number format alone is accepted too); ``dxfs`` gives each conditional
    rule's differential format; ``legacy_drawing`` is the relationship id of
    the comments' VML drawing, when the tab has notes.
    """
    look = as_tab(tab)
    rows = look.rows

    def style(kind: int | None, bold: bool) -> str:
        key = (kind or 0, bold)
        if key == (0, False):
            return ""
        index = styles[key] if key in styles else styles[kind]
        return f' s="{index}"'

    out = []
    width = 0
    for r, row in enumerate(rows, start=1):
        cells = []
        bold = (r - 1) in look.bold_rows
        for c, value in enumerate(row):
            ref = f"{get_column_letter(c + 1)}{r}"
            if value is None:
                continue
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}"{style(None, bold)} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, str):
                cells.append(_text_cell(ref, value, style(None, bold)))
            elif isinstance(value, numbers.Integral):
                cells.append(f'<c r="{ref}"{style(None, bold)}><v>{int(value)}</v></c>')
            elif isinstance(value, numbers.Real):
                number = float(value)
                if math.isfinite(number):
                    cells.append(f'<c r="{ref}"{style(None, bold)}><v>{_number(number)}</v></c>')
            elif (kind := value_kind(value)) is not None:
                cells.append(f'<c r="{ref}"{style(kind, bold)}><v>{_number(_serial(value, date1904))}</v></c>')
            elif isinstance(value, datetime):
                continue  # NaT
            else:
                cells.append(_text_cell(ref, str(value), style(None, bold)))
        if cells:
            width = max(width, len(row))
            out.append(f'<row r="{r}">{"".join(cells)}</row>')
    used = f"A1:{get_column_letter(width)}{len(rows)}" if out else "A1"
    if look.frozen_rows:
        below = f"A{look.frozen_rows + 1}"
        view = (
            f'<sheetView workbookViewId="0"><pane ySplit="{look.frozen_rows}" topLeftCell="{below}" '
            f'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="{below}" '
            f'sqref="{below}"/></sheetView>'
        )
    else:
        view = '<sheetView workbookViewId="0"/>'
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{_width(px)}" customWidth="1"/>' for i, px in enumerate(look.widths, start=1)
    )
    formatting = []
    for priority, (rule, dxf) in enumerate(zip(look.rules, dxfs), start=1):
        sqref = " ".join(a1_range(block) for block in rule.ranges)
        literal = '"' + rule.text.replace('"', '""') + '"'
        formatting.append(
            f'<conditionalFormatting sqref="{sqref}"><cfRule type="cellIs" dxfId="{dxf}" priority="{priority}" '
            f'operator="equal"><formula>{_xml_text(literal)}</formula></cfRule></conditionalFormatting>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f'<dimension ref="{used}"/><sheetViews>{view}</sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + f'<sheetData>{"".join(out)}</sheetData>'
        + "".join(formatting)
        + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        + (f'<legacyDrawing r:id="{legacy_drawing}"/>' if legacy_drawing else "")
        + "</worksheet>"
    ).encode("utf-8")


def comments_xml(notes: Mapping[tuple[int, int], str]) -> bytes:
    """A comments part holding devplan's notes, in row order."""
    entries = "".join(
        f'<comment ref="{get_column_letter(c + 1)}{r + 1}" authorId="0"><text><t xml:space="preserve">{_xml_text(text)}</t>'
        "</text></comment>"
        for (r, c), text in sorted(notes.items())
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<comments xmlns="{MAIN_NS}"><authors><author>devplan</author></authors>'
        f"<commentList>{entries}</commentList></comments>"
    ).encode("utf-8")


def vml_xml(notes: Mapping[tuple[int, int], str], block: int) -> bytes:
    """The legacy VML drawing Excel needs to show comments: one hidden note box per comment.

    ``block`` reserves shape ids ``block * 1024 + 1 ...`` so they do not clash
    with another sheet's drawing (devplan uses the tab's sheetId).
    """
    shapes = []
    for number, (r, c) in enumerate(sorted(notes), start=1):
        shapes.append(
            f'<v:shape id="_x0000_s{block * 1024 + number}" type="#_x0000_t202" '
            'style="position:absolute;margin-left:80pt;margin-top:2pt;width:240pt;height:90pt;'
            'z-index:1;visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto">'
            '<v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto">'
            '<div style="text-align:left"></div></v:textbox>'
            '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{c + 1}, 15, {max(r - 1, 0)}, 2, {c + 5}, 15, {r + 6}, 4</x:Anchor>"
            f"<x:AutoFill>False</x:AutoFill><x:Row>{r}</x:Row><x:Column>{c}</x:Column></x:ClientData></v:shape>"
        )
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
        '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        + "".join(shapes)
        + "</xml>"
    ).encode("utf-8")


# ------------------------------------------------------------------- editing


def _sheets(workbook: bytes) -> tuple[list[_Sheet], str, bool]:
    """The sheet list, the relationships namespace its ids use, and whether dates count from 1904."""
    root = ElementTree.fromstring(workbook)
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    q = (lambda t: f"{{{ns}}}{t}") if ns else (lambda t: t)  # noqa: E731
    sheets = []
    rel_ns = REL_NS
    holder = root.find(q("sheets"))
    for el in holder if holder is not None else []:
        rid_key = next((k for k in el.attrib if k.endswith("}id")), None)
        if rid_key is None:
            raise DamagedPackage("sheet without a relationship id")
        rel_ns = rid_key[1:].split("}")[0]
        sheets.append(_Sheet(el.get("name", ""), int(el.get("sheetId", "0")), el.attrib[rid_key]))
    pr = root.find(q("workbookPr"))
    date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
    return sheets, rel_ns, date1904


def _drop_calc_chain_entries(package: Package, workbook_part: str, sheet_id: int) -> None:
    """Remove the formula cells of a replaced sheet from ``calcChain.xml`` (Excel rebuilds the rest)."""
    rel = next((r for r in package.rels(workbook_part) if r.type == CALC_CHAIN_REL), None)
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
        package.set(rel.target, new.encode("utf-8"))
    else:
        package.delete(rel.target)
        package.remove_override(rel.target)
        package.remove_rel(workbook_part, rel.id)


def put_tabs(package: Package, tabs: Mapping[str, AnyTab]) -> None:
    """Replace each named tab's sheet part in place, or add the tab at the end.

    A tab's look (``layout.FormattedTab``) goes with it: styles appended to
    ``xl/styles.xml`` for bold rows, dates and the conditional rules, and a
    comments part with its VML drawing for the notes. Whatever the tab's old
    sheet part alone used (its comments, drawings) is dropped first.
    """
    wb_part = package.workbook_part()
    sheets, rel_ns, date1904 = _sheets(package.get(wb_part))
    rels = {r.id: r for r in package.rels(wb_part)}
    looks = {name: as_tab(tab) for name, tab in tabs.items()}

    wanted: set[tuple[int, bool]] = set()
    dxfs: list[Dxf] = []
    for look in looks.values():
        for r, row in enumerate(look.rows):
            bold = r in look.bold_rows
            for value in row:
                if value is not None:
                    wanted.add((value_kind(value) or 0, bold))
        dxfs += [Dxf(rule.fill, rule.color) for rule in look.rules if Dxf(rule.fill, rule.color) not in dxfs]
    wanted.discard((0, False))
    styles_map: dict[tuple[int, bool], int] = {}
    dxf_map: dict[Dxf, int] = {}
    if wanted or dxfs:
        styles_rel = next((r for r in rels.values() if r.type == STYLES_REL), None)
        if styles_rel is None:
            package.set("xl/styles.xml", _BLANK_STYLES)
            package.add_override("xl/styles.xml", STYLES_TYPE)
            package.add_rel(wb_part, STYLES_REL, "xl/styles.xml")
            styles_part = "xl/styles.xml"
        else:
            styles_part = styles_rel.target
        new_styles, styles_map, dxf_map = ensure_styles(package.get(styles_part), wanted, dxfs)
        if new_styles != package.get(styles_part):
            package.set(styles_part, new_styles)

    by_name = {s.name: s for s in sheets}
    folded = {s.name.casefold(): s.name for s in sheets}
    for name, look in looks.items():
        sheet = by_name.get(name)
        if sheet is None and name.casefold() in folded:
            raise TabConflict(folded[name.casefold()])
        if sheet is not None:
            rel = rels.get(sheet.rid)
            if rel is None or rel.external or rel.type != WORKSHEET_REL:
                raise TabConflict(name)
            package.drop_unreferenced(_rels_path(rel.target))
            _drop_calc_chain_entries(package, wb_part, sheet.sheet_id)
            part = rel.target
        else:
            number = 1
            while package.has(f"xl/worksheets/sheet{number}.xml"):
                number += 1
            part = f"xl/worksheets/sheet{number}.xml"
            package.set(part, b"")
            package.add_override(part, WORKSHEET_TYPE)
            rid = package.add_rel(wb_part, WORKSHEET_REL, part)
            sheet_id = max((s.sheet_id for s in sheets), default=0) + 1
            sheet = _Sheet(name, sheet_id, rid)
            sheets.append(sheet)
            by_name[name] = sheet
            folded[name.casefold()] = name
            rels = {r.id: r for r in package.rels(wb_part)}
            package.set(wb_part, _add_sheet_entry(package.get(wb_part), name, sheet_id, rid, rel_ns))
        drawing = _put_notes(package, part, look, sheet.sheet_id) if look.notes else None
        dxf_ids = [dxf_map[Dxf(rule.fill, rule.color)] for rule in look.rules]
        package.set(part, sheet_xml(look, styles_map, date1904, dxf_ids, drawing))


def _free_part(package: Package, pattern: str) -> str:
    """The first part name ``pattern.format(n)`` (n = 1, 2, ...) the package does not hold."""
    number = 1
    while package.has(pattern.format(number)):
        number += 1
    return pattern.format(number)


def _put_notes(package: Package, sheet_part: str, look: FormattedTab, sheet_id: int) -> str:
    """Write the comments part and VML drawing of devplan's sheet; return the drawing's relationship id.

    The sheet's relationships part is devplan's own (its old one was dropped
    with the old sheet part), so it is written whole.
    """
    comments = _free_part(package, "xl/comments{}.xml")
    package.set(comments, comments_xml(look.notes))
    package.add_override(comments, COMMENTS_TYPE)
    drawing = _free_part(package, "xl/drawings/vmlDrawing{}.vml")
    package.set(drawing, vml_xml(look.notes, sheet_id))
    types = package.get("[Content_Types].xml").decode("utf-8")
    if not re.search(r'<(?:[\w.-]+:)?Default\b[^>]*Extension="vml"', types, re.IGNORECASE):
        snippet = lambda p: f'<{p}Default Extension="vml" ContentType="{VML_TYPE}"/>'  # noqa: E731
        package.set("[Content_Types].xml", _insert_before_close(package.get("[Content_Types].xml"), "Types", snippet))
    folder = posixpath.dirname(sheet_part)
    package.set(_rels_path(sheet_part), (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{VML_REL}" Target="{_attr(posixpath.relpath(drawing, folder))}"/>'
        f'<Relationship Id="rId2" Type="{COMMENTS_REL}" Target="{_attr(posixpath.relpath(comments, folder))}"/>'
        "</Relationships>"
    ).encode("utf-8"))
    return "rId1"


def _add_sheet_entry(workbook: bytes, name: str, sheet_id: int, rid: str, rel_ns: str) -> bytes:
    """Append ``<sheet>`` to the sheet list, with the relationships prefix the file already declares."""
    declared = re.search(rf'xmlns:([A-Za-z_][\w.-]*)="{re.escape(rel_ns)}"', workbook.decode("utf-8"))
    if declared:
        rid_attr = f'{declared.group(1)}:id="{rid}"'
    else:
        rid_attr = f'xmlns:dvr="{rel_ns}" dvr:id="{rid}"'
    snippet = lambda p: f'<{p}sheet name="{_attr(name)}" sheetId="{sheet_id}" {rid_attr}/>'  # noqa: E731
    return _insert_before_close(workbook, "sheets", snippet)
