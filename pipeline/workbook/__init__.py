"""The storage edge: a set of spreadsheets, each with named tabs.

Every stage talks to storage only through ``Workbook``; nothing else knows
whether the spreadsheets are local ``.xlsx`` files or Google Sheets.

A tab is a ``Table``: a list of rows, the first being the header row. Cell
values are ``str``, ``int``, ``float``, ``bool``, ``datetime`` or ``None``.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

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

    def write(self, key: str, tabs: Mapping[str, Table]) -> None:
        """Replace the named tabs of one spreadsheet in one call.

        Creates the spreadsheet or the tabs if missing. Other tabs are left
        exactly as they are. Text is stored as text: a value starting with
        ``=`` is never turned into a formula.
        """
        ...


def open_workbook(backend: str, location: str) -> Workbook:
    """The backend named in config (``local``) at ``location``."""
    if backend == "local":
        from pipeline.workbook.local import LocalWorkbook

        return LocalWorkbook(location)
    from pipeline.errors import ConfigError

    raise ConfigError(
        f"ไม่รู้จักที่เก็บข้อมูลแบบ '{backend}'",
        "ตั้งค่า storage.backend เป็น \"local\"",
    )
