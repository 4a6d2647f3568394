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
the hash of the bytes devplan wrote, when the bytes the write was edited from are the very bytes they
were read from and the tabs they came from are the same sheet parts, copied raw: anything else that
changed the file before the write leaves them behind, a person's save after it gives other bytes, and
the file is read again. The write checks this itself, in whichever process makes it (a forked writer,
``forked.in_order``), from what it has in hand; this process only records what it found.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import glob
import hashlib
import logging
import os
import select
import threading
import zlib
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator, Mapping, NoReturn, Sequence
from xml.etree import ElementTree

from pipeline import __version__
from pipeline.errors import PipelineError, SourceError
from pipeline.workbook import AnyTab, Table
from pipeline.workbook.forked import workers_here
from pipeline.workbook.local import SUFFIX, LocalWorkbook
from pipeline.workbook.local_files import locate
from pipeline.workbook.xlsx import Package
from pipeline.workbook.xlsx_zip import MB, DamagedPackage, Limits, TooLarge
from pipeline.workbook.xlsx_marks import sheet_parts

if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.state import State

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: What a read's rows depend on besides the file: these modules' source (the reading, and the cache's encoding).
READER = [*sorted(HERE.glob("*.py")), HERE.parent / "state.py"]
#: Files read ahead in a forked process only when at least this many are not in the cache (a fork costs a few ms).
AHEAD_AT_LEAST = 8
#: The forked reader's share of those files: the parent also decodes, checks and stores what it sends.
AHEAD_SHARE = 2 / 3


@functools.lru_cache(maxsize=None)
def reader_fingerprint(limits: Limits) -> str:
    """A hash of devplan's version, the reading code, calamine's version and the size bounds."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{__version__}\0{version('python-calamine')}\0{limits.part}\0{limits.file}".encode())
    for path in READER:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Retag:
    """What a checked write found: the rows read from version ``old`` of ``tabs`` are those of ``new``."""

    old: str
    new: str
    tabs: list[str]


class CachedLocalWorkbook(LocalWorkbook):
    """``LocalWorkbook`` whose reads of a file read before (the same bytes, the same reader) come from ``cache``."""

    def __init__(self, folder: str | Path, cache: State, limits: Limits | None = None, *, full: bool = False,
                 processes: int | None = None) -> None:
        super().__init__(folder, limits, processes)
        self.cache = cache
        #: read every file again (``--full``), caching what was read
        self.full = full
        #: key -> (the content's version, the tabs read) of every read this run
        self._read: dict[str, tuple[str, list[str]]] = {}
        #: while ``reading``: the files found in the cache (key -> version, tabs, rows) and the reader ahead
        self._hits: dict[str, tuple[str, list[str], dict[str, Table]]] = {}
        self._ahead: _Ahead | None = None
        #: while a write of a file read this run is made (``_job``): what it saw
        self._watch: _Watch | None = None

    def content(self, key: str) -> str | None:
        """The cache's version of ``key``: its bytes' hash with the reader's; None where there is no file."""
        try:
            real = locate(self.folder, f"{key}{SUFFIX}", SourceError)
            if real is None:
                return None
            with open(real, "rb") as handle:
                return self._digest(handle.fileno())
        except (PipelineError, OSError):
            return None  # the read says what is wrong

    def _digest(self, fd: int) -> str:
        """The cache's version of the file open at ``fd``: its bytes' hash with the reader's."""
        digest = hashlib.sha256(reader_fingerprint(self.limits).encode())
        offset = 0
        while chunk := os.pread(fd, 1 << 20, offset):
            digest.update(chunk)
            offset += len(chunk)
        return f"sha256:{digest.hexdigest()}"

    def read(self, key: str, tabs: Sequence[str]) -> dict[str, Table]:
        tabs = list(tabs)
        hit = self._hits.pop(key, None)  # found in the cache as ``reading`` began (the file hashed then)
        if hit is not None and hit[1] == tabs:
            self._read[key] = (hit[0], tabs)
            return hit[2]
        before = self.content(key)
        if before is None:
            return super().read(key, tabs)  # no file there, or none that may be read: the read says so
        if not self.full:
            found = self.cache.cached_tabs(key, before, tabs)
            if found is not None:
                self._read[key] = (before, tabs)
                return found
        ahead = self._ahead.take(key, tabs) if self._ahead is not None else None
        if ahead is not None and ahead[0] == before:  # read ahead from these very bytes
            rows = ahead[1]
        else:
            rows = super().read(key, tabs)
            if self.content(key) != before:
                return rows  # changed while it was read: not kept
        try:
            self.cache.store_tabs(key, before, rows)
        except TypeError as exc:  # a value the state file cannot keep: read again next time
            log.info("%s: read not cached (%s)", key, exc)
        else:
            self._read[key] = (before, tabs)
        return rows

    @contextlib.contextmanager
    def reading(self, keys: Sequence[str], tabs: Sequence[str]) -> Iterator[None]:
        """While open, most of the files of ``keys`` the cache cannot answer are read in a forked process
        (on a machine with more than one CPU, when there are enough of them), as this one reads the rest."""
        stop_early(self.folder)  # what it read is in the cache now; the rest is read from here
        self._ahead = self._read_ahead(list(keys), list(tabs))
        try:
            yield
        finally:
            if self._ahead is not None:
                self._ahead.stop()
            self._ahead = None
            self._hits.clear()

    def _read_ahead(self, keys: list[str], tabs: list[str]) -> _Ahead | None:
        if (self.processes or workers_here()) < 2 or threading.active_count() > 1:
            return None  # one CPU, or a fork would be unsafe: each file is read when asked
        unread = keys if self.full else [key for key in keys if not self._found(key, tabs)]
        if len(unread) < AHEAD_AT_LEAST:
            return None
        return _Ahead(self, unread[len(unread) - int(len(unread) * AHEAD_SHARE):], tabs)

    def _found(self, key: str, tabs: list[str]) -> bool:
        """Whether the cache has ``key``'s rows as the file is now (kept for its ``read``)."""
        version = self.content(key)
        found = None if version is None else self.cache.cached_tabs(key, version, tabs)
        if version is None or found is None:
            return False
        self._hits[key] = (version, tabs, found)
        return True

    def _job(self, key: str, tabs: Mapping[str, AnyTab], own: bool) -> Retag | None:
        """The write, watched (in the process that makes it) for whether the rows read from the file this
        run are the written file's too: the bytes it was edited from are the very bytes they were read
        from, and the tabs they came from are the same sheet parts, copied raw (``_editing``)."""
        seen = self._read.get(key)
        if seen is None or {t.casefold() for t in seen[1]} & {t.casefold() for t in tabs}:
            self._write(key, tabs, own)
            return None
        watch = self._watch = _Watch(seen[1])
        try:
            self._write(key, tabs, own)
        finally:
            self._watch = None
        if watch.old != seen[0] or not watch.kept or watch.new is None:
            return None  # changed since it was read, or its tabs' parts are not the same: read again
        return Retag(seen[0], watch.new, seen[1])

    def _editing(self, source: BinaryIO, package: Package) -> None:
        if self._watch is not None:
            self._watch.old = self._digest(source.fileno())
            self._watch.kept = _copied(package, self._watch.tabs)

    def _saved(self, fd: int) -> None:
        if self._watch is not None:
            self._watch.new = self._digest(fd)

    def _wrote(self, key: str, result: object) -> None:
        """Keep the rows read before devplan's write under the version of the bytes it wrote."""
        if isinstance(result, Retag):
            self.cache.retag_source(key, result.old, result.new)
            self._read[key] = (result.new, result.tabs)


@dataclass
class _Watch:
    """What a write of a file read this run saw: the version it was edited from, whether the read ``tabs``
    are copied unchanged, and the version of the bytes it wrote."""

    tabs: list[str]
    old: str | None = None
    kept: bool = False
    new: str | None = None


def _copied(package: Package, tabs: list[str]) -> bool:
    """Whether each of ``tabs`` is, in the edited package, the source's own sheet part, copied raw."""
    try:
        before = dict(sheet_parts(package.original))
        after = dict(sheet_parts(lambda part: package.get(part) if package.has(part) else None))
    except (DamagedPackage, TooLarge, ElementTree.ParseError, KeyError, ValueError, OSError, zlib.error):
        return False
    return all(tab in before and after.get(tab) == before[tab] and package.copied(before[tab]) for tab in tabs)


class _Ahead:
    """A forked process reading ``keys`` in order, each for ``tabs``, and sending what it read (with the
    version of the bytes it read) to the parent, which takes each as ``read`` asks for it.

    The reader touches nothing but the files (never the state file, which stays the parent's) and leaves
    with ``os._exit``; a file it could not read, or a reader gone, is read by the parent itself, so every
    error is raised where a read without it would raise it.
    """

    def __init__(self, book: CachedLocalWorkbook, keys: list[str], tabs: list[str]) -> None:
        self.keys, self.tabs = set(keys), tabs
        self.got: dict[str, tuple[str | None, dict[str, Table]] | None] = {}
        mine, theirs = Pipe(duplex=False)
        gc.freeze()  # the parent's objects stay out of the reader's collections: their pages stay shared
        try:
            pid = os.fork()
        finally:
            gc.unfreeze()
        if pid == 0:  # pragma: no cover - runs in the reader (coverage is the parent's)
            mine.close()
            _serve(book, keys, tabs, theirs)
        theirs.close()
        self.pid: int | None = pid
        self.line: Connection | None = mine

    def take(self, key: str, tabs: list[str]) -> tuple[str | None, dict[str, Table]] | None:
        """What the reader read of ``key``: (the version it read, the rows); None: read it here."""
        if key not in self.keys or tabs != self.tabs:
            self._receive(wait=False)  # keep the reader's line flowing while this process reads
            return None
        self.keys.discard(key)
        while key not in self.got and self.line is not None:
            self._receive(wait=True)
        return self.got.pop(key, None)

    def _receive(self, wait: bool) -> None:
        while self.line is not None and (wait or self.line.poll()):
            try:
                key, version, rows = self.line.recv()
            except (EOFError, OSError):  # the reader is gone: what it did not send is read here
                self.line.close()
                self.line = None
                return
            self.got[key] = None if rows is None else (version, rows)
            if wait:
                return

    def stop(self) -> None:
        """Close the line (a reader still at work stops at its next file) and wait for the reader to leave."""
        if self.line is not None:
            self.line.close()
            self.line = None
        if self.pid is not None:
            os.waitpid(self.pid, 0)
            self.pid = None


def _serve(book: CachedLocalWorkbook, keys: list[str], tabs: list[str], line: Connection) -> NoReturn:  # pragma: no cover
    """The reader: read each file as ``LocalWorkbook`` reads it, with the version before and after."""
    code = 0
    try:
        for key in keys:
            try:
                before = book.content(key)
                rows = LocalWorkbook.read(book, key, tabs)
                after = book.content(key)
            except Exception:  # the parent reads it again, and says what is wrong
                line.send((key, None, None))
                continue
            line.send((key, before if before == after else None, rows))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


# --- reading before the run imports pandas -------------------------------------------------------


class _Early:
    """A forked process reading an area's spreadsheets into the state file's cache while the run starts."""

    def __init__(self, pid: int, stop: int, folder: Path) -> None:
        self.pid, self.stop_line, self.folder = pid, stop, folder

    def stop(self) -> None:
        """Tell the reader to stop after the file in hand, and wait for it to leave."""
        if self.stop_line >= 0:
            os.close(self.stop_line)
            self.stop_line = -1
            with contextlib.suppress(ChildProcessError):  # already waited for
                os.waitpid(self.pid, 0)


#: the reader ``read_early`` started, until the run's first ``reading`` stops it (or the run ends)
_early: _Early | None = None


def read_early(settings: Settings, processes: int | None = None) -> None:
    """Start reading a local area's spreadsheets (the rosters, then every file an ID Plan's name fits) in a
    forked process, into the state file's cache, as a ``CachedLocalWorkbook`` reads them: the run's own
    reads of those files are then answered from the cache. It overlaps the run's start (importing pandas
    takes longer than reading a small area); the run's first ``reading`` stops it and reads the rest itself,
    and the caller stops it (``stop_early``) when the run ends, however it ends.

    Only where forking is safe and another CPU is free, never with ``--full`` (the caller's to decide). The
    reader touches only the files and its own connection to the state file, and stops by itself if this
    process goes away.
    """
    global _early
    storage = settings.storage
    if (storage.backend != "local" or storage.path is None or storage.state is None or _early is not None
            or (processes or workers_here()) < 2 or threading.active_count() > 1):
        return
    folder, state = Path(storage.path), Path(storage.state)
    limits = Limits(part=storage.max_part_mb * MB, file=storage.max_file_mb * MB)
    reads = _run_reads(settings, folder)
    stop, stopped = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the reader
        os.close(stopped)
        _read_into_cache(folder, state, limits, reads, stop, parent)
    os.close(stop)
    _early = _Early(pid, stopped, folder)


def stop_early(folder: Path | None = None) -> None:
    """Stop the early reader (of ``folder``, when given), if one is at work."""
    global _early
    if _early is not None and (folder is None or _early.folder == Path(folder)):
        _early.stop()
        _early = None


def _run_reads(settings: Settings, folder: Path) -> list[tuple[str, list[str], str | None]]:
    """(key, tabs, a tab that may be missing) of what a run reads: each roster spreadsheet with its tabs
    (as ``collect.read_sources`` asks for them), then every ID Plan file there is, by name."""
    src = settings.sources
    optional = None if src.overrides is None else (src.overrides_spreadsheet, src.overrides.tab)
    reads = [(sheet, tabs, optional[1] if optional and optional[0] == sheet else None)
             for sheet, tabs in src.roster_reads().items()]
    head, _, tail = src.idplan.spreadsheet.partition("{code}")
    names = sorted(p.stem for p in folder.glob(f"{glob.escape(head)}*{glob.escape(tail)}{SUFFIX}")
                   if not p.name.startswith(("~$", ".")))
    return reads + [(key, [src.idplan.plan_tab, src.idplan.record_tab], None) for key in names]


def _read_into_cache(  # pragma: no cover - runs in the reader
    folder: Path, state: Path, limits: Limits, reads: list[tuple[str, list[str], str | None]], stop: int, parent: int,
) -> NoReturn:
    from pipeline.state import State

    code = 0
    try:
        with State(state) as cache:
            book = CachedLocalWorkbook(folder, cache, limits)
            for key, tabs, optional in reads:
                if select.select([stop], [], [], 0)[0] or os.getppid() != parent:
                    break
                try:
                    book.read(key, tabs)
                except PipelineError:
                    if optional in tabs:  # read again without the corrections tab, as the run would
                        with contextlib.suppress(PipelineError):
                            book.read(key, [tab for tab in tabs if tab != optional])
    except BaseException:
        code = 1
    finally:
        os._exit(code)
