"""A local folder whose unchanged files are not read again: their rows come from the state file.

Reading one school's ``.xlsx`` with calamine (and scanning it for size and formula errors) costs
about 1.5 ms; hashing its bytes and decoding its rows from the state file, a tenth of that. So a
night with one school edited reads one file, not every file.

What a read gives is a function of the file's bytes and of the code that reads it, so a cached read
is keyed on both: the SHA-256 of the file's content together with devplan's version, the reading
code's source, calamine's version and the size bounds (``READER``). A file whose content changed
in any way is read again; a read that failed is never cached (the next run reads, and fails, again).
``--full`` reads every file again (and caches what it read).

devplan's own write of a school's file (its summary tab) changes the file's bytes but not the rows of
the other tabs: the lossless write copies their parts byte for byte and only appends to the shared
string and style tables. So after such a write the rows read from the file before it are kept under
the new content's hash, when the tabs they came from are the same parts as before (their compressed
bytes' CRC and sizes, in the new file's directory): anything else that changed the file meanwhile
leaves them behind, and the file is read again.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Generator, Mapping, Sequence

from pipeline import __version__
from pipeline.errors import PipelineError, SourceError
from pipeline.workbook import AnyTab, Table
from pipeline.workbook.forked import Outcome, Outcomes
from pipeline.workbook.local import SUFFIX, LocalWorkbook
from pipeline.workbook.local_files import locate
from pipeline.workbook.xlsx_zip import Limits
from pipeline.workbook.xlsx_marks import sheet_parts

if TYPE_CHECKING:
    from pipeline.state import State

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: What a read's rows depend on besides the file: these modules' source (the reading, and the cache's encoding).
READER = [*sorted(HERE.glob("*.py")), HERE.parent / "state.py"]
#: A part's identity in a zip's directory: its name, CRC-32 and sizes.
Part = tuple[str, int, int, int]


@functools.lru_cache(maxsize=None)
def reader_fingerprint(limits: Limits) -> str:
    """A hash of devplan's version, the reading code, calamine's version and the size bounds."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{__version__}\0{version('python-calamine')}\0{limits.part}\0{limits.file}".encode())
    for path in READER:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class CachedLocalWorkbook(LocalWorkbook):
    """``LocalWorkbook`` whose reads of a file read before (the same bytes, the same reader) come from ``cache``."""

    def __init__(self, folder: str | Path, cache: State, limits: Limits | None = None, *, full: bool = False,
                 processes: int | None = None) -> None:
        super().__init__(folder, limits, processes)
        self.cache = cache
        #: read every file again (``--full``), caching what was read
        self.full = full
        #: key -> (the content's version, the tabs read and their parts) of every read this run
        self._read: dict[str, tuple[str, list[str], list[Part]]] = {}

    def content(self, key: str) -> str | None:
        """The cache's version of ``key``: its bytes' hash with the reader's; None where there is no file."""
        try:
            real = locate(self.folder, f"{key}{SUFFIX}", SourceError)
            if real is None:
                return None
            digest = hashlib.sha256(reader_fingerprint(self.limits).encode())
            with open(real, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except (PipelineError, OSError):
            return None  # the read says what is wrong
        return f"sha256:{digest.hexdigest()}"

    def read(self, key: str, tabs: Sequence[str]) -> dict[str, Table]:
        before = self.content(key)
        if before is not None and not self.full:
            found = self.cache.cached_tabs(key, before, list(tabs))
            if found is not None:
                self._read[key] = (before, list(tabs), [])
                return found
        rows = super().read(key, tabs)
        if before is not None and self.content(key) == before:  # not changed while it was read
            try:
                self.cache.store_tabs(key, before, rows)
            except TypeError as exc:  # a value the state file cannot keep: read again next time
                log.info("%s: read not cached (%s)", key, exc)
            else:
                self._read[key] = (before, list(tabs), [])
        return rows

    def write(self, key: str, tabs: Mapping[str, AnyTab], *, own: bool = False) -> None:
        kept = self._before_write(key, tabs)
        super().write(key, tabs, own=own)
        self._after_write(key, kept)

    def write_many(self, writes: Sequence[tuple[str, Mapping[str, AnyTab]]], *, own: bool = False) -> Outcomes:
        kept = [self._before_write(key, tabs) for key, tabs in writes]
        outcomes = super().write_many(writes, own=own)

        def each() -> Generator[Outcome, None, None]:
            for (key, _), keep, outcome in zip(writes, kept, outcomes):
                if outcome is None:
                    self._after_write(key, keep)
                yield outcome

        return Outcomes(each(), outcomes.close)

    def _before_write(self, key: str, tabs: Mapping[str, AnyTab]) -> tuple[str, list[str], list[Part]] | None:
        """The rows cached from ``key`` this run that a write of ``tabs`` leaves as they are, with their parts."""
        seen = self._read.get(key)
        if seen is None or {t.casefold() for t in seen[1]} & {t.casefold() for t in tabs}:
            return None
        if self.content(key) != seen[0]:
            return None  # changed since it was read: what is cached is not this file's
        parts = self._parts(key, seen[1])
        return None if parts is None else (seen[0], seen[1], parts)

    def _after_write(self, key: str, kept: tuple[str, list[str], list[Part]] | None) -> None:
        """Keep the rows read before devplan's write under the written file's version, if their parts are the same."""
        if kept is None:
            return
        old, tabs, parts = kept
        new = self.content(key)
        if new is not None and self._parts(key, tabs) == parts:
            self.cache.retag_source(key, old, new)
            self._read[key] = (new, tabs, parts)

    def _parts(self, key: str, tabs: list[str]) -> list[Part] | None:
        """Each tab's sheet part as the file's zip directory describes it (None: the file cannot say)."""
        try:
            real = locate(self.folder, f"{key}{SUFFIX}", SourceError)
            if real is None:
                return None
            with zipfile.ZipFile(real) as package:
                infos = {info.filename.lower(): info for info in package.infolist()}

                def read(part: str) -> bytes | None:
                    info = infos.get(part.lower())
                    return package.read(info) if info is not None and info.file_size < self.limits.part else None

                where = dict(sheet_parts(read))
                found = [infos.get(where.get(tab, "").lower()) for tab in tabs]
        except (PipelineError, OSError, zipfile.BadZipFile, KeyError, ValueError):
            return None
        if any(info is None for info in found):
            return None
        return [(i.filename, i.CRC, i.compress_size, i.file_size) for i in found if i is not None]
