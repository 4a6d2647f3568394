"""What a run read: the rows of every tab, and whether each spreadsheet came from itself or the cache.

``ReadLog`` is filled by ``LoggedWorkbook``, a ``Workbook`` that hands every call
to the one it wraps and notes each read. ``devplan check`` prints it and the run
history (``pipeline.history``) keeps it, a failed run's too, with the requests
the workbook had sent when the run ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ContextManager, Mapping, Sequence

from pipeline.workbook import Access, AnyTab, Need, Place, RequestCounts, Table, Workbook
from pipeline.workbook.forked import Outcomes


@dataclass
class ReadLog:
    #: spreadsheet key -> {tab: data rows (header left out)}
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    #: keys read from the spreadsheet itself / answered from the state file's cache
    fresh: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    #: the workbook read through, once the run has opened one
    book: Workbook | None = None

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
        self.inner.write(key, tabs, own=own)

    def write_many(
        self, writes: Sequence[tuple[str, Mapping[str, AnyTab]]], *, own: bool = False
    ) -> Outcomes:
        return self.inner.write_many(writes, own=own)

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
