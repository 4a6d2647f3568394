"""The storage edge: a set of spreadsheets, each with named tabs.

Every stage talks to storage only through ``Workbook``; nothing else knows
whether the spreadsheets are local ``.xlsx`` files or Google Sheets.

A tab is a ``Table``: a list of rows, the first being the header row. Cell
values are ``str``, ``int``, ``float``, ``bool``, ``datetime`` or ``None``.
``write`` also takes a ``layout.FormattedTab``: the rows plus how they look
(bold rows, frozen rows, widths, notes, conditional rules), which both
backends write the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

if TYPE_CHECKING:
    from pipeline.config import StorageSettings
    from pipeline.workbook.layout import FormattedTab
    from pipeline.state import State

Table = list[list[Any]]


class Workbook(Protocol):
    """A set of spreadsheets addressed by key, each holding named tabs."""

    #: Human-readable location shown in messages (a folder, a Drive folder id).
    location: str

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

    def write(self, key: str, tabs: Mapping[str, "Table | FormattedTab"]) -> None:
        """Replace the named tabs of one spreadsheet in one call.

        A plain ``Table`` gets fitted column widths and no other format.

        Creates the spreadsheet or the tabs if missing. Other tabs are left
        exactly as they are. Text is stored as text: a value starting with
        ``=`` is never turned into a formula.
        """
        ...

    def version(self, key: str) -> str | None:
        """A token that changes whenever spreadsheet ``key`` changes; None if unknown."""
        ...

    def finish(self) -> None:
        """Called once after the run's writes, so ``version`` then tells what they left."""
        ...


def open_workbook(
    storage: "StorageSettings", state: "State", *, full: bool = False, on_wait: Any = None
) -> Workbook:
    """The backend named in config, at the place it names."""
    if storage.backend == "google":
        from pipeline.workbook.google import GoogleWorkbook
        from pipeline.workbook.google_http import Pacing

        quota = storage.quota
        pacing = Pacing(
            reads=quota.reads_per_minute, writes=quota.writes_per_minute, window=quota.window_seconds,
            max_tries=quota.max_tries, backoff_base=quota.backoff_base, max_backoff=quota.max_backoff,
        )
        assert storage.folder is not None  # checked by StorageSettings
        return GoogleWorkbook(
            storage.folder, state, credentials=storage.credentials, pacing=pacing, full=full, on_wait=on_wait
        )
    from pipeline.workbook.local import LocalWorkbook

    assert storage.path is not None  # checked by StorageSettings
    return LocalWorkbook(storage.path)
