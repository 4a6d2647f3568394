"""Builders of the file shapes real spreadsheets come in, made here from a plain openpyxl file.

Each builder writes one shape the lossless writer met in other projects' test
data (issue 17): Strict OOXML, relationship prefixes declared on each
``<sheet>``, part names that differ from their relationships only in case, no
``Default`` content type for ``rels``, an empty ``<styleSheet/>``, Excel's own
``docProps/app.xml`` titles; and what is not an ``.xlsx`` at all: an encrypted
OLE file, an ``.xls`` renamed, a zip bomb (honest or lying about its size),
and Excel's and LibreOffice's owner files.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import Callable

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font

PLAN, RECORD = "แผนพัฒนาตนเอง", "บันทึกการพัฒนา"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_R = "http://purl.oclc.org/ooxml/officeDocument/relationships"
RELS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
MB = 1024 * 1024

#: What every staff-made shape holds, as calamine reads it (numbers as floats, dates as datetimes).
STAFF_ROWS = {
    PLAN: [["ปีงบประมาณ", "ชื่อ-นามสกุล", "ชั่วโมง", "วันที่"],
           [2562.0, "นางสาวบุษบา ใจดี", 12.5, datetime(2019, 1, 10)],
           [2562.0, "นายชาตรี มั่นคง", 6.0, datetime(2019, 2, 1)]],
    RECORD: [["ประเภท", "ชั่วโมง"], ["อบรม", 12.0], ["PLC", 6.0]],
}


def staff_book(path: Path, *, chart: str | None = None) -> None:
    """A school's file: two tabs, a custom number format, a bold red name, dates, optionally a chart
    on tab ``chart``, and the sheet titles Excel keeps in ``docProps/app.xml``."""
    book = Workbook()
    plan = book.active
    plan.title = PLAN
    record = book.create_sheet(RECORD)
    for sheet, rows in ((plan, STAFF_ROWS[PLAN]), (record, STAFF_ROWS[RECORD])):
        for row in rows:
            sheet.append([int(v) if isinstance(v, float) and v == 2562 else v for v in row])
    for r in (2, 3):
        plan.cell(r, 3).number_format = "0.0000"
        plan.cell(r, 4).number_format = "dd/mm/yyyy"
    plan["B2"].font = Font(bold=True, color="FFC00000")
    if chart:
        bars = BarChart()
        bars.add_data(Reference(record, min_col=2, min_row=1, max_row=3), titles_from_data=True)
        book[chart].add_chart(bars, "F2")
    book.save(path)
    repack(path, lambda name, data: (name, excel_app_xml([PLAN, RECORD]) if name == "docProps/app.xml" else data))


def excel_app_xml(worksheets: list[str], named_ranges: list[str] = ()) -> bytes:
    """``docProps/app.xml`` as Excel writes it: a heading per kind of title, then the titles."""
    groups = [("Worksheets", worksheets)] + ([("Named Ranges", list(named_ranges))] if named_ranges else [])
    pairs = "".join(f"<vt:variant><vt:lpstr>{name}</vt:lpstr></vt:variant><vt:variant><vt:i4>{len(items)}</vt:i4>"
                    "</vt:variant>" for name, items in groups)
    titles = [t for _, items in groups for t in items]
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        "<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
        f'<HeadingPairs><vt:vector size="{2 * len(groups)}" baseType="variant">{pairs}</vt:vector></HeadingPairs>'
        f'<TitlesOfParts><vt:vector size="{len(titles)}" baseType="lpstr">'
        + "".join(f"<vt:lpstr>{t}</vt:lpstr>" for t in titles)
        + "</vt:vector></TitlesOfParts><AppVersion>16.0300</AppVersion></Properties>"
    ).encode()


def repack(path: Path, edit: Callable[[str, bytes], "tuple[str, bytes] | None"], extra: dict | None = None) -> None:
    """Rewrite the zip with ``edit(name, bytes) -> (name, bytes) | None`` (None drops the part)."""
    with zipfile.ZipFile(path) as source:
        parts = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts:
            new = edit(name, data)
            if new is not None:
                out.writestr(new[0], new[1])
        for name, data in (extra or {}).items():
            out.writestr(name, data)


def _text_edit(path: Path, edits: dict[str, Callable[[str], str]]) -> None:
    repack(path, lambda name, data: (name, edits[name](data.decode()).encode()) if name in edits else (name, data))


# ------------------------------------------------------------ package shapes


def strict(path: Path) -> None:
    """The file as Excel saves "Strict Open XML Spreadsheet": every SpreadsheetML and relationship
    namespace under purl.oclc.org, ``conformance="strict"``."""
    staff_book(path)
    names = {MAIN: STRICT_MAIN, R: STRICT_R,
             "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties":
                 "http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
             "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes":
                 "http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes",
             "http://schemas.openxmlformats.org/drawingml/2006/main": "http://purl.oclc.org/ooxml/drawingml/main"}

    def edit(name: str, data: bytes) -> tuple[str, bytes]:
        if not name.endswith((".xml", ".rels")) or name == "[Content_Types].xml":
            return name, data
        text = data.decode().replace(f"{R}/extended-properties", f"{STRICT_R}/extendedProperties")
        for old, new in names.items():
            text = text.replace(old, new)
        if name == "xl/workbook.xml":
            text = re.sub(r"<workbook\b", '<workbook conformance="strict"', text, count=1)
        return name, text.encode()

    repack(path, edit)


def prefix_on_each_sheet(path: Path) -> None:
    """``xmlns:ns`` declared on each ``<sheet>`` element instead of the root (as SheetJS writes it)."""
    staff_book(path)

    def workbook(text: str) -> str:
        text = re.sub(r'\s+xmlns:r="[^"]*"', "", text, count=1)
        return re.sub(r'<sheet ([^>]*?)r:id="', rf'<sheet \1xmlns:ns="{R}" ns:id="', text)

    _text_edit(path, {"xl/workbook.xml": workbook})


def no_rels_default(path: Path) -> None:
    """No ``Default`` content type for ``rels``: each relationships part has its own ``Override``."""
    staff_book(path, chart=RECORD)
    with zipfile.ZipFile(path) as archive:
        rels = [n for n in archive.namelist() if n.endswith(".rels")]

    def types(text: str) -> str:
        text = re.sub(r'<Default Extension="rels"[^>]*/>', "", text)
        overrides = "".join(f'<Override PartName="/{n}" ContentType="{RELS_TYPE}"/>' for n in rels)
        return text.replace("</Types>", overrides + "</Types>")

    _text_edit(path, {"[Content_Types].xml": types})


def empty_stylesheet(path: Path) -> None:
    """``<styleSheet/>`` with nothing in it (cells then have no style entries to point at)."""
    staff_book(path)

    def unstyled(text: str) -> str:
        return re.sub(r'\s+s="\d+"', "", text)

    _text_edit(path, {
        "xl/styles.xml": lambda _: f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{MAIN}"/>',
        "xl/worksheets/sheet1.xml": unstyled, "xl/worksheets/sheet2.xml": unstyled,
    })


def case_clash(path: Path) -> None:
    """The staff's first sheet is ``Sheet1.xml``, its relationships part (reaching a chart) is
    ``_rels/sheet1.xml.rels``: equal names for OPC, which compares them ignoring case."""
    staff_book(path, chart=PLAN)

    def edit(name: str, data: bytes) -> tuple[str, bytes]:
        if name == "xl/worksheets/sheet1.xml":
            return "xl/worksheets/Sheet1.xml", data
        if name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
            return name, data.replace(b"worksheets/sheet1.xml", b"worksheets/Sheet1.xml")
        return name, data

    repack(path, edit)


def inconsistent_titles(path: Path) -> None:
    """``docProps/app.xml`` whose titles no longer match the tabs (a tab renamed by another program)."""
    staff_book(path)
    repack(path, lambda name, data: (name, excel_app_xml(["Sheet1"])) if name == "docProps/app.xml" else (name, data))


def with_named_ranges(path: Path) -> None:
    """Excel's titles with a second heading after the worksheets ("Named Ranges")."""
    staff_book(path)
    repack(path, lambda name, data: (
        name, excel_app_xml([PLAN, RECORD], ["รายชื่อ"]) if name == "docProps/app.xml" else data))


# --------------------------------------------------------- not an .xlsx at all


def ole_file(path: Path, streams: dict[str, bytes]) -> None:
    """A minimal OLE compound file (CFB version 3) holding the given streams, each padded to 4096
    bytes so they live in ordinary sectors: how Office stores encrypted and .xls files."""
    sector = 512
    names = sorted(streams, key=lambda n: (len(n), n.upper()))  # the order CFB compares names in
    bodies = [streams[n].ljust(4096, b"\0") for n in names]
    fat = [0xFFFFFFFD, 0xFFFFFFFE]  # sector 0: the FAT itself; sector 1: the directory
    starts = []
    for body in bodies:
        count = len(body) // sector
        first = len(fat)
        starts.append(first)
        fat += list(range(first + 1, first + count)) + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (encoded.ljust(64, b"\0") + struct.pack("<HBBIII", len(encoded), kind, 1, 0xFFFFFFFF, right, child)
                + b"\0" * 36 + struct.pack("<IQ", start, size))

    directory = entry("Root Entry", 5, 1, 0xFFFFFFFF, 0xFFFFFFFE, 0)
    for i, (name, body) in enumerate(zip(names, bodies), start=1):
        directory += entry(name, 2, 0xFFFFFFFF, i + 1 if i < len(names) else 0xFFFFFFFF, starts[i - 1], len(body))
    directory = directory.ljust(sector, b"\0")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
              + struct.pack("<I", 0) + b"\xff" * 4 * 108)
    assert len(header) == sector
    path.write_bytes(header + struct.pack("<128I", *fat) + directory + b"".join(bodies))


def encrypted(path: Path) -> None:
    """An .xlsx saved with a password to open: Office wraps it, encrypted, in an OLE file."""
    ole_file(path, {"EncryptionInfo": struct.pack("<HHI", 4, 4, 0x40), "EncryptedPackage": b"\x8a" * 3000})


def biff(path: Path) -> None:
    """An Excel 97-2003 file (.xls) renamed to .xlsx: a BIFF8 ``Workbook`` stream in an OLE file."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06)
    ole_file(path, {"Workbook": bof + struct.pack("<HH", 0x000A, 0)})


# ---------------------------------------------------------------- zip bombs


def _raw_zip(path: Path, parts: list[tuple[str, bytes, int, int, int]]) -> None:
    """A zip from (name, deflated bytes, CRC, declared size, declared compressed size) entries."""
    out, central = bytearray(), bytearray()
    for name, payload, crc, size, packed in parts:
        encoded = name.encode()
        central += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0, 8, 0, 0x21,
                               crc, packed, size, len(encoded), 0, 0, 0, 0, 0, len(out)) + encoded
        out += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 8, 0, 0x21, crc, packed, size, len(encoded), 0)
        out += encoded + payload
    count = len(parts)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))


def zip_bomb(path: Path, inflated_mb: int, *, lie: bool = False) -> None:
    """A school's file whose first sheet is well-formed XML padded with spaces to ``inflated_mb``.

    The deflate stream is built by repeating one compressed megabyte (each
    block starts afresh after a full flush), so making it costs no more than
    its CRC. ``lie``: the headers declare a 1 KB sheet.
    """
    staff_book(path)
    with zipfile.ZipFile(path) as archive:
        parts = [(i.filename, archive.read(i)) for i in archive.infolist()]
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{MAIN}"><sheetData>'.encode()
    tail = b"</sheetData></worksheet>"
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    block = b" " * MB
    packed_block = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH) == packed_block
    payload = start + packed_block * inflated_mb + packer.compress(tail) + packer.flush()
    crc = zlib.crc32(head)
    for _ in range(inflated_mb):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + inflated_mb * MB + len(tail)
    entries = []
    for name, data in parts:
        if name == "xl/worksheets/sheet1.xml":
            entries.append((name, payload, crc, 1024 if lie else size, len(payload)))
        else:
            packed = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = packed.compress(data) + packed.flush()
            entries.append((name, body, zlib.crc32(data), len(data), len(body)))
    _raw_zip(path, entries)


# ------------------------------------------------------------- owner files


def excel_owner_file(user: str) -> bytes:
    """Excel's ``~$`` owner file: a length byte and the name in the ANSI code page (Thai: cp874),
    spaces to offset 0x37, a 2-byte length and the name in UTF-16, padding to 165 bytes."""
    ansi = user.encode("cp874")
    data = bytes([len(user)]) + ansi
    data = data.ljust(0x37, b" ") + struct.pack("<H", len(user)) + user.encode("utf-16-le")
    while len(data) < 165:
        data += b" \0"
    return data[:165]


def libreoffice_lock_file(user: str, host: str) -> bytes:
    """LibreOffice's ``.~lock.<name>#``: name, system user, host, date, profile, with backslash escapes."""
    escaped = user.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return f"{escaped},somchai,{host},07.12.2026 09:30,file:///home/somchai/.config/libreoffice/4;".encode()
