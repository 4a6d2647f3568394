"""The zip layer of an ``.xlsx``: bounded streaming inflation, raw copies of parts, and writing a zip.

A school's file is a zip that anyone can make, and a zip can declare small
sizes and still inflate to gigabytes (a "zip bomb": one sheet of 3.5 GB
compresses to 3.5 MB). So no part is ever inflated whole into memory here:
``inflate`` yields it in chunks of at most ``CHUNK`` bytes, counting what
really comes out of the compressed bytes whatever the headers declare, and
stops at the configured bound (``Limits``, from ``[storage] max_part_mb`` and
``max_file_mb``). ``scan`` checks a whole file that way before anything reads
it: devplan's own editing, and calamine, which would otherwise inflate every
part it reads in full.

Unchanged parts are copied as their raw compressed bytes (``copy_raw``), in
chunks, so they stay byte-identical and cost no memory.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator
from xml.parsers import expat

MB = 1024 * 1024
#: The largest piece of a part held in memory at once while reading or copying.
CHUNK = MB

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_ZIP32_LIMIT = 0xFFFFFFFF
_DEFLATE_LEVEL = 6


class DamagedPackage(Exception):
    """The file is not a complete ``.xlsx``: not a zip, a part missing, broken XML or compression."""


@dataclass(frozen=True)
class Limits:
    """How far one part and one whole file may inflate, in bytes.

    The defaults are far above any school's file: in the sample area the
    largest spreadsheet (the roster of 1,525 staff) inflates to 1.0 MB and a
    school's to 0.2 MB. Only a zip bomb, or a file grown a hundredfold, meets
    them.
    """

    part: int = 200 * MB
    file: int = 500 * MB


class TooLarge(Exception):
    """A part, or the file as a whole, inflates past its bound (``whole``: the file's bound)."""

    def __init__(self, part: str, bound: int, whole: bool) -> None:
        super().__init__(f"{part} inflates past {bound} bytes")
        self.part = part
        self.bound = bound
        self.whole = whole


def _data_offset(source: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where the compressed bytes of ``info`` start, read from its local header."""
    source.seek(info.header_offset)
    header = source.read(_LOCAL.size)
    if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise DamagedPackage(f"bad local header for {info.filename}")
    fields = _LOCAL.unpack(header)
    return info.header_offset + _LOCAL.size + fields[10] + fields[11]


def _raw_chunks(source: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The compressed bytes of one part as stored, in chunks."""
    position = _data_offset(source, info)
    left = info.compress_size
    while left > 0:
        source.seek(position)
        piece = source.read(min(CHUNK, left))
        if not piece:
            raise DamagedPackage(f"truncated data for {info.filename}")
        position += len(piece)
        left -= len(piece)
        yield piece


def inflate(source: BinaryIO, info: zipfile.ZipInfo, bound: int, *, check: bool = True) -> Iterator[bytes]:
    """One part's content in chunks; ``TooLarge`` as soon as more than ``bound`` bytes come out.

    The count is of what the compressed bytes really inflate to, not of the
    size the headers declare. ``check``: the content must also match the
    declared size and CRC and the compressed stream must end where it should.
    """
    produced = 0
    crc = 0

    def counted(piece: bytes) -> bytes:
        nonlocal produced, crc
        produced += len(piece)
        if produced > bound:
            raise TooLarge(info.filename, bound, whole=False)
        if check:
            crc = zlib.crc32(piece, crc)
        return piece

    if info.compress_type == zipfile.ZIP_STORED:
        for piece in _raw_chunks(source, info):
            yield counted(piece)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            for piece in _raw_chunks(source, info):
                out = inflater.decompress(piece, CHUNK)
                yield counted(out)
                while inflater.unconsumed_tail:
                    yield counted(inflater.decompress(inflater.unconsumed_tail, CHUNK))
                if inflater.eof:
                    break
            if check and not inflater.eof:
                raise DamagedPackage(f"compressed data of {info.filename} ends early")
        except zlib.error as exc:
            raise DamagedPackage(f"{info.filename}: {exc}") from exc
    else:  # not written by spreadsheet programs; zipfile's reader never inflates past the declared size
        try:
            with zipfile.ZipFile(source).open(info) as stream:
                while piece := stream.read(CHUNK):
                    yield counted(piece)
        except (zipfile.BadZipFile, RuntimeError, EOFError) as exc:  # a bad CRC, an encrypted part, cut short
            raise DamagedPackage(f"{info.filename}: {exc}") from exc
    if check and (produced != info.file_size or (crc & 0xFFFFFFFF) != info.CRC):
        raise DamagedPackage(f"{info.filename}: size or CRC does not match")


def read_part(source: BinaryIO, info: zipfile.ZipInfo, bound: int) -> bytes:
    """One part's whole content (for the few small parts devplan edits), within ``bound``."""
    return b"".join(inflate(source, info, bound))


def scan(source: BinaryIO, limits: Limits, *, strict: bool) -> list[zipfile.ZipInfo]:
    """The parts of a zip, each inflated once in chunks to check it stays within ``limits``.

    Declared sizes are checked first (cheap), then what really comes out.
    ``strict`` (before a lossless rewrite): also every part's CRC and size, no
    duplicate or encrypted part, and every XML part well-formed. Without it
    (before calamine reads the file) only the bounds are checked and damage
    is left for the reader to report.
    """
    try:
        archive = zipfile.ZipFile(source)
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, struct.error) as exc:
        raise DamagedPackage(str(exc)) from exc
    total = 0
    for info in infos:
        if info.file_size > limits.part:
            raise TooLarge(info.filename, limits.part, whole=False)
        total += info.file_size
        if total > limits.file:
            raise TooLarge(info.filename, limits.file, whole=True)
    if strict:
        seen: set[str] = set()
        for info in infos:
            if info.filename.casefold() in seen or info.flag_bits & 0x1:
                raise DamagedPackage(f"duplicate or encrypted part {info.filename}")
            seen.add(info.filename.casefold())
    total = 0
    for info in infos:
        remaining = limits.file - total
        bound = min(limits.part, remaining)
        parser = expat.ParserCreate() if strict and info.filename.endswith((".xml", ".rels")) else None
        try:
            for piece in inflate(source, info, bound, check=strict):
                total += len(piece)
                if parser is not None:
                    parser.Parse(piece, False)
            if parser is not None:
                parser.Parse(b"", True)
        except TooLarge as exc:
            raise TooLarge(info.filename, exc.bound, whole=remaining < limits.part) from None
        except DamagedPackage:
            if strict:
                raise
        except expat.ExpatError as exc:
            raise DamagedPackage(f"{info.filename}: {exc}") from exc
        except NotImplementedError as exc:  # a compression method zipfile cannot read
            if strict:
                raise DamagedPackage(f"{info.filename}: {exc}") from exc
    return infos


def copy_raw(source: BinaryIO, info: zipfile.ZipInfo, out: BinaryIO) -> None:
    """Copy one part's compressed bytes unchanged, in chunks."""
    for piece in _raw_chunks(source, info):
        out.write(piece)


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    """(time, date) in MS-DOS format, as zip headers store them."""
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((max(year, 1980) - 1980) << 9) | (month << 5) | day


@dataclass
class Entry:
    """One part of the output zip: copied raw from ``info`` or written from ``data``."""

    name: str
    info: zipfile.ZipInfo | None = None
    data: bytes | None = None


def write_zip(out: BinaryIO, source: BinaryIO | None, entries: Iterable[Entry]) -> None:
    """Write a zip: raw copies keep their compressed bytes and CRC; new parts are deflated."""
    central = []
    offset = 0
    for entry in entries:
        if entry.data is None:
            info = entry.info
            assert info is not None and source is not None
            payload = None
            payload_size = info.compress_size
            crc, size, method = info.CRC, info.file_size, info.compress_type
            flags = info.flag_bits & ~0x08  # sizes go in the local header, so no data descriptor
            when = info.date_time
            versions = (info.create_version, info.create_system, info.extract_version)
            external, internal, comment = info.external_attr, info.internal_attr, info.comment
            name = info.orig_filename.encode("utf-8" if flags & 0x800 else "cp437")
        else:
            packer = zlib.compressobj(_DEFLATE_LEVEL, zlib.DEFLATED, -15)
            payload = packer.compress(entry.data) + packer.flush()
            payload_size = len(payload)
            crc, size, method = zlib.crc32(entry.data), len(entry.data), zipfile.ZIP_DEFLATED
            try:
                name = entry.name.encode("ascii")
                flags = 0
            except UnicodeEncodeError:
                name, flags = entry.name.encode("utf-8"), 0x800
            when = entry.info.date_time if entry.info is not None else (1980, 1, 1, 0, 0, 0)
            versions = (20, 0, 20)
            external, internal, comment = 0, 0, b""
        if max(offset, payload_size, size) >= _ZIP32_LIMIT:
            raise DamagedPackage("file too large for a plain zip (ZIP64 is not written)")
        dos_time, dos_date = _dos_time(when)
        out.write(_LOCAL.pack(
            b"PK\x03\x04", versions[2], 0, flags, method, dos_time, dos_date,
            crc, payload_size, size, len(name), 0,
        ))
        out.write(name)
        if payload is None:
            assert entry.info is not None and source is not None
            copy_raw(source, entry.info, out)
        else:
            out.write(payload)
        central.append(_CENTRAL.pack(
            b"PK\x01\x02", versions[0], versions[1], versions[2], 0, flags, method, dos_time, dos_date,
            crc, payload_size, size, len(name), 0, len(comment), 0, internal, external, offset,
        ) + name + comment)
        offset += _LOCAL.size + len(name) + payload_size
    if len(central) >= 0xFFFF:
        raise DamagedPackage("too many parts for a plain zip")
    directory = b"".join(central)
    out.write(directory)
    out.write(_END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0))
