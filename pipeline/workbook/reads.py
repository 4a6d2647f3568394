"""What a run read: the rows of every tab, and whether each spreadsheet came from itself or the cache.

``ReadLog`` is filled by ``LoggedWorkbook``, a ``Workbook`` that hands every call
to the one it wraps and notes each read. ``devplan check`` prints it and the run
history (``pipeline.history``) keeps it, a failed run's too, with the requests
the workbook had sent when the run ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ContextManager, Generator, Mapping, Sequence

from pipeline.workbook import Access, AnyTab, Need, Place, RequestCounts, Table, Workbook
from pipeline.workbook.forked import Outcome, Outcomes


@dataclass
class ReadLog:
    #: spreadsheet key -> {tab: data rows (header left out)}
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    #: keys read from the spreadsheet itself / answered from the state file's cache
    fresh: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    #: the workbook read through, once the run has opened one
    book: Workbook | None = None
    #: when given (an idle night's run: ``pipeline.idle``), a spreadsheet's version as the caller knows
    #: it, noted as the run reads and writes, so a save by someone else meanwhile is seen
    watch: Callable[[str], str | None] | None = None
    #: key -> its version (``watch``) when the run first read it, and after devplan's last write of it
    seen: dict[str, str | None] = field(default_factory=dict)
    written: dict[str, str | None] = field(default_factory=dict)
    #: keys someone else saved between the run's read and devplan's write: the run worked from the file before
    moved: set[str] = field(default_factory=set)

    def requests(self) -> RequestCounts | None:
        """The requests sent so far; None before the run opened its workbook."""
        return None if self.book is None else self.book.requests()


class LoggedWorkbook:
    """``inner``, noting every read in ``log``."""

    def __init__(self, inner: Workbook, log: ReadLog) -> None:
        self.inner = inner
        self.log = log
        log.book = inner
        self.location = inner.location
        self.account = inner.account

    def read(self, key: str, tabs: Sequence[str]) -> dict[str, Table]:
        if self.log.watch is not None and key not in self.log.seen:
            self.log.seen[key] = self.log.watch(key)
        before = self.inner.requests().cached_reads
        found = self.inner.read(key, tabs)
        (self.log.cached if self.inner.requests().cached_reads > before else self.log.fresh).append(key)
        self.log.rows[key] = {tab: max(0, len(rows) - 1) for tab, rows in found.items()}
        return found

    def reading(self, keys: Sequence[str], tabs: Sequence[str]) -> ContextManager[None]:
        return self.inner.reading(keys, tabs)

    def keys(self) -> list[str]:
        return self.inner.keys()

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def tabs(self, key: str) -> list[str]:
        return self.inner.tabs(key)

    def write(self, key: str, tabs: Mapping[str, AnyTab], *, own: bool = False) -> None:
        self._before_write(key)
        self.inner.write(key, tabs, own=own)
        self._after_write(key)

    def write_many(
        self, writes: Sequence[tuple[str, Mapping[str, AnyTab]]], *, own: bool = False
    ) -> Outcomes:
        if self.log.watch is None:
            return self.inner.write_many(writes, own=own)
        for key, _ in writes:
            self._before_write(key)
        outcomes = self.inner.write_many(writes, own=own)

        def each() -> Generator[Outcome, None, None]:
            for (key, _), outcome in zip(writes, outcomes):
                if outcome is None:
                    self._after_write(key)
                yield outcome

        return Outcomes(each(), outcomes.close)

    def _before_write(self, key: str) -> None:
        if self.log.watch is not None and key in self.log.seen and self.log.watch(key) != self.log.seen[key]:
            self.log.moved.add(key)

    def _after_write(self, key: str) -> None:
        if self.log.watch is not None:
            self.log.written[key] = self.log.watch(key)

    def version(self, key: str) -> str | None:
        return self.inner.version(key)

    def finish(self) -> None:
        self.inner.finish()

    def address(self, key: str) -> str:
        return self.inner.address(key)

    def lost(self, key: str) -> tuple[str, str] | None:
        return self.inner.lost(key)

    def requests(self) -> RequestCounts:
        return self.inner.requests()

    def pace(self, kind: str) -> float:
        return self.inner.pace(kind)

    def check_place(self) -> Place:
        return self.inner.check_place()

    def check_access(self, need: Need) -> Access:
        return self.inner.check_access(need)

    def own_tabs(self, key: str) -> list[str]:
        return self.inner.own_tabs(key)
