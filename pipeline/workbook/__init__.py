"""The storage edge: a set of spreadsheets, each with named tabs.

Every stage talks to storage only through ``Workbook``; nothing else knows
whether the spreadsheets are local ``.xlsx`` files or Google Sheets, and no
stage asks which one it has: what differs (who the account is, how a person
finds a spreadsheet, what requests were sent, what access looks like) is a
method of the interface. ``pipeline.workbook.factory.open_workbook`` opens the
backend the config names.

A tab is a ``Table``: a list of rows, the first being the header row. Cell
values are ``str``, ``int``, ``float``, ``bool``, ``datetime``, ``None``, or a
``CellError`` where a formula gives an error (``#NAME?``, ``#REF!``, ...): it is
never text, so it never reads as a status or a name.
``write`` also takes a ``layout.FormattedTab``: the rows plus how they look
(bold rows, frozen rows, widths, notes, conditional rules), which both
backends write the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ContextManager, Mapping, Protocol, Sequence

from pipeline.workbook.layout import AnyTab, Table

if TYPE_CHECKING:
    from pipeline.workbook.forked import Outcomes

__all__ = ["Access", "AnyTab", "CellError", "ERROR_CODES", "Need", "Place", "RequestCounts", "Table", "WaitHook",
           "Workbook"]

#: Told when storage waits (Google's quota, a retry): (kind "read"/"write"/"retry", seconds, Thai reason).
WaitHook = Callable[[str, float, str], None]


#: What Excel, LibreOffice and Google Sheets show in a cell whose formula gives an error.
ERROR_CODES = frozenset({
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#ERROR!", "#SPILL!", "#CALC!",
    "#GETTING_DATA", "#BLOCKED!", "#CONNECT!", "#FIELD!", "#UNKNOWN!", "#BUSY!", "#PYTHON!",
})


@dataclass(frozen=True)
class CellError:
    """A cell whose formula gives an error: it has no value (counted as missing, listed to be fixed)."""

    #: what the spreadsheet shows, e.g. "#NAME?"
    code: str
    #: where it is, once known: column letters and row number as a person sees them ("F12")
    cell: str = ""

    def __str__(self) -> str:
        return self.code


@dataclass
class RequestCounts:
    """Requests sent to the storage's service (retries included); all zero for local files.

    The Google client tallies into one as it goes; ``Workbook.requests`` hands out a copy.
    """

    sheets_read: int = 0
    sheets_write: int = 0
    drive: int = 0
    retries: int = 0
    #: seconds spent waiting for the quota or before a retry
    waited: float = 0.0
    #: reads answered from the state file's cache, without a request
    cached_reads: int = 0

    @property
    def total(self) -> int:
        return self.sheets_read + self.sheets_write + self.drive

    def as_dict(self) -> dict[str, float]:
        """As kept in the run history (``devplan status``)."""
        return {
            "sheets_read": self.sheets_read, "sheets_write": self.sheets_write, "drive": self.drive,
            "retries": self.retries, "waited_seconds": round(self.waited, 3),
        }


@dataclass(frozen=True)
class Need:
    """A spreadsheet devplan must reach, and how (``devplan init``'s access check)."""

    key: str
    #: what it is, for a person ("ID Plan หน่วยงาน 1067020005")
    what: str
    #: devplan writes into it (else only reads it)
    write: bool = False
    #: devplan creates it when it is missing (the dashboard)
    create: bool = False
    #: another way out when it is missing, in Thai ("แก้รหัสหน่วยงาน ... ในทะเบียนหน่วยงาน")
    if_missing: str = ""


@dataclass
class Access:
    """Whether devplan can use one spreadsheet (or the storage itself) as it needs to."""

    key: str
    what: str
    #: the right it needs there, in the storage's own words
    role: str
    ok: bool
    status: str
    hint: str = ""


@dataclass(frozen=True)
class Place:
    """The storage itself, as ``devplan init`` shows it: can it be used, and its words for access."""

    #: None when the folder can be used; else what is wrong and what to do
    problem: Access | None
    #: the header of the table's role column, and the right reading / writing needs
    role_header: str
    read_role: str
    write_role: str
    #: whom to share spreadsheets with ("" where nothing is shared, as for local files)
    share_with: str = ""


class Workbook(Protocol):
    """A set of spreadsheets addressed by key, each holding named tabs."""

    #: Human-readable location shown in messages (a folder, a Drive folder id).
    location: str
    #: Who devplan is there: the service account's e-mail; "" for local files.
    account: str

    def keys(self) -> list[str]:
        """Keys of every spreadsheet in the set, sorted."""
        ...

    def exists(self, key: str) -> bool:
        """True if spreadsheet ``key`` exists."""
        ...

    def tabs(self, key: str) -> list[str]:
        """Tab names of spreadsheet ``key`` in order."""
        ...

    def read(self, key: str, tabs: Sequence[str]) -> dict[str, Table]:
        """Every named tab of one spreadsheet, in one call.

        Raises ``SourceError`` naming the spreadsheet (and tab) when either is missing.
        """
        ...

    def reading(self, keys: Sequence[str], tabs: Sequence[str]) -> ContextManager[None]:
        """While open, ``read`` is about to be asked for ``keys`` (in this order), each for ``tabs``: a
        backend may read some ahead (a local folder, in a forked process). What each read gives, or the
        error it raises, is the same with or without it."""
        ...

    def write(self, key: str, tabs: Mapping[str, AnyTab], *, own: bool = False) -> None:
        """Replace the named tabs of one spreadsheet in one call.

        A plain ``Table`` gets fitted column widths and no other format.

        Creates the spreadsheet or the tabs if missing. Other tabs are left
        exactly as they are. Text is stored as text: a value starting with
        ``=`` is never turned into a formula.

        ``own``: the tabs are devplan's own (its summaries, the dashboard). Each
        carries devplan's mark, which tells it from a person's tab whatever its
        name; a tab of that name without the mark is never replaced
        (``PublishError`` naming it). Without ``own`` (the sample area, an import
        a person asked for) the named tabs are replaced by their names.
        """
        ...

    def write_many(
        self, writes: Sequence[tuple[str, Mapping[str, AnyTab]]], *, own: bool = False
    ) -> Outcomes:
        """``write`` each (key, tabs); the outcomes, read in order, are None or the ``PublishError`` or
        ``SourceError`` that stopped that write (that spreadsheet's problem alone: the others are still
        written). Anything else a write raises is raised as the outcomes are read.

        A backend may start the writes at once, several side by side (local files: in a few forked
        processes, while the caller goes on with other work); one that cannot writes each as its outcome
        is read. ``close()`` the outcomes when done, even early.
        """
        ...

    def version(self, key: str) -> str | None:
        """A token that changes whenever spreadsheet ``key`` changes; None if unknown."""
        ...

    def finish(self) -> None:
        """Called once after the run's writes, so ``version`` then tells what they left."""
        ...

    def address(self, key: str) -> str:
        """Where a person finds spreadsheet ``key`` (a file, a link), or that a write would create it."""
        ...

    def lost(self, key: str) -> tuple[str, str] | None:
        """What became of spreadsheet ``key``, found before and missing now (renamed, moved, deleted), in
        Thai: (what happened, what to do); None when the storage never saw it or cannot tell."""
        ...

    def requests(self) -> RequestCounts:
        """The requests sent so far."""
        ...

    def pace(self, kind: str) -> float:
        """Seconds a request of ``kind`` ("read" or "write") would wait now for the service's quota (0: none)."""
        ...

    def check_place(self) -> Place:
        """Whether the storage itself (the folder) can be used, and how access is named there."""
        ...

    def check_access(self, need: Need) -> Access:
        """Whether devplan can read (and, if ``need.write``, write) one spreadsheet, and if not, what to do.

        A spreadsheet that is only read may be reported reachable unchecked: reading it tells.
        """
        ...

    def own_tabs(self, key: str) -> list[str]:
        """The tabs of spreadsheet ``key`` that devplan made, known by the mark it left on them
        (not by their names); empty when the spreadsheet is missing or devplan never wrote it."""
        ...
