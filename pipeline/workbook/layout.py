"""How devplan's own tabs look, described once for both backends.

A ``FormattedTab`` is a tab's rows plus its look: which rows are bold, how many
rows stay frozen at the top, each column's width in pixels, the notes (cell
comments) and the conditional-format rules. ``render`` builds one from a
template's output; the Google backend turns it into one ``batchUpdate``, the
``.xlsx`` writer into a sheet part, appended styles and a comments part. A
plain ``Table`` is still accepted everywhere: ``as_tab`` gives it fitted
widths and nothing else, so a plain table looks the same in both backends.

A ``Table`` is a tab's rows, the first being the header row. Cell values are
``str``, ``int``, ``float``, ``bool``, ``datetime`` or ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache, wraps
from typing import Any, Callable, Iterable, Sequence, TypeVar, Union

import wcwidth

Table = list[list[Any]]

#: pixels per character cell and the bounds of a column's width
CHAR_PIXELS, PADDING, MIN_WIDTH, MAX_WIDTH = 7, 16, 48, 360
#: a table header further down than this is not frozen (it would take the screen); the title is
MAX_FROZEN_ROWS = 6

#: the most characters (UTF-16 code units) a cell or a note may hold: Excel's limit, and Google Sheets'
EXCEL_CELL_LIMIT, GOOGLE_CELL_LIMIT = 32_767, 50_000

#: the pass / not-pass fills: (background, text) as RRGGBB, Excel's "Good" and "Bad" colours
PASS_COLORS = ("C6EFCE", "006100")
FAIL_COLORS = ("FFC7CE", "9C0006")


@dataclass(frozen=True)
class CellRange:
    """A block of cells, 0-based, end-exclusive (as Google's GridRange)."""

    first_row: int
    end_row: int
    first_column: int
    end_column: int


@dataclass(frozen=True)
class TextRule:
    """Conditional format: a cell in ``ranges`` whose text equals ``text`` gets these colours."""

    text: str
    fill: str  # RRGGBB
    color: str  # RRGGBB
    ranges: tuple[CellRange, ...]


@dataclass
class FormattedTab:
    """A tab's rows and its look. Row and column indexes are 0-based."""

    rows: Table
    bold_rows: frozenset[int] = frozenset()
    frozen_rows: int = 0
    widths: list[int] = field(default_factory=list)
    #: (row, column) -> the note's text
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    rules: list[TextRule] = field(default_factory=list)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def describe(self) -> dict[str, Any]:
        """Everything about the tab as plain data (for fingerprints)."""
        return {
            "rows": self.rows, "bold": sorted(self.bold_rows), "frozen": self.frozen_rows, "widths": self.widths,
            "notes": sorted([r, c, t] for (r, c), t in self.notes.items()),
            "rules": [[r.text, r.fill, r.color, [list(vars(g).values()) for g in r.ranges]] for r in self.rules],
        }


AnyTab = Union[Table, FormattedTab]


def as_tab(tab: AnyTab) -> FormattedTab:
    """A tab as ``FormattedTab``: a plain table gets fitted column widths and no other format."""
    if isinstance(tab, FormattedTab):
        return tab
    rows = [list(r) for r in tab]
    return FormattedTab(rows, widths=column_widths(rows))


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """``text`` whole if it fits in ``limit`` UTF-16 code units (how Excel and Google count), else its
    beginning and ``…(ตัดเหลือ N ตัวอักษร)``, N being the characters kept: all of it within ``limit``."""
    if len(text) <= limit // 2 or _utf16_length(text) <= limit:
        return text
    room = limit - _utf16_length(f"…(ตัดเหลือ {limit:,} ตัวอักษร)")
    kept = text.encode("utf-16-le")[: room * 2].decode("utf-16-le", errors="ignore")  # never half a pair
    return f"{kept}…(ตัดเหลือ {len(kept):,} ตัวอักษร)"


def fit_cells(tab: AnyTab, limit: int) -> FormattedTab:
    """``tab`` with every text cell and note cut to ``limit`` (``clip``): a backend's last step before it
    writes, so one huge value (a 5 MB cell quoted in a reason) never makes the file or request fail."""
    tab = as_tab(tab)
    too_long = limit // 2
    if not any(isinstance(v, str) and len(v) > too_long for row in tab.rows for v in row) and not any(
            len(t) > too_long for t in tab.notes.values()):
        return tab
    rows = [[clip(v, limit) if isinstance(v, str) else v for v in row] for row in tab.rows]
    notes = {at: clip(t, limit) for at, t in tab.notes.items()}
    return replace(tab, rows=rows, notes=notes)


def text_cells(value: Any) -> int:
    """Terminal cells a value takes as text: Thai vowel and tone marks none, a wide character two
    (wcwidth); a control character, which no terminal shows, is counted as one."""
    if value is None:
        return 0
    return _width_of(str(value))


#: Texts up to this length have what is worked out of them remembered (``short_texts_remembered``)
SHORT_TEXT = 200
_T = TypeVar("_T")


def short_texts_remembered(maxsize: int) -> Callable[[Callable[[str], _T]], Callable[[str], _T]]:
    """A function of a text, its result remembered for texts up to ``SHORT_TEXT`` characters: a run's cells
    repeat the same labels, names and numbers, while a long one (a pasted page) is worked out each time and
    never kept."""

    def remember(work: Callable[[str], _T]) -> Callable[[str], _T]:
        remembered = lru_cache(maxsize=maxsize)(work)

        @wraps(work)
        def either(text: str) -> _T:
            return remembered(text) if len(text) <= SHORT_TEXT else work(text)

        return either

    return remember


@short_texts_remembered(16384)
def _width_of(text: str) -> int:
    width = wcwidth.wcswidth(text)
    if width >= 0:
        return int(width)
    return sum(1 if (cells := wcwidth.wcwidth(ch)) < 0 else cells for ch in text)


def column_widths(rows: Table, only: Iterable[int] | None = None) -> list[int]:
    """Pixel width of each column, fitted to its longest value (in rows ``only``, default all) within bounds."""
    width = max((len(r) for r in rows), default=0)
    chosen = [rows[i] for i in only] if only is not None else rows
    widths = []
    for column in range(width):
        longest = max((text_cells(r[column]) for r in chosen if column < len(r)), default=0)
        widths.append(max(MIN_WIDTH, min(MAX_WIDTH, longest * CHAR_PIXELS + PADDING)))
    return widths


def frozen_rows(height: int, titles: Sequence[int], headers: Sequence[int]) -> int:
    """Rows to keep in view: down to the first table header if it is near the top, else the title.

    Never every row of the tab (Google refuses to freeze all of them).
    """
    count = 0
    if headers and headers[0] < MAX_FROZEN_ROWS:
        count = headers[0] + 1
    elif titles and titles[0] == 0:
        count = 1
    return count if count < height else 0


def status_rules(cells: Iterable[tuple[int, int]], passed: str, not_passed: str) -> list[TextRule]:
    """The pass / not-pass rules over the status cells, one range per run of adjacent rows in a column."""
    ranges: list[CellRange] = []
    for row, column in sorted(set(cells), key=lambda rc: (rc[1], rc[0])):
        last = ranges[-1] if ranges else None
        if last and last.first_column == column and last.end_row == row:
            ranges[-1] = CellRange(last.first_row, row + 1, column, column + 1)
        else:
            ranges.append(CellRange(row, row + 1, column, column + 1))
    if not ranges:
        return []
    return [
        TextRule(passed, *PASS_COLORS, tuple(ranges)),
        TextRule(not_passed, *FAIL_COLORS, tuple(ranges)),
    ]


def column_letter(number: int) -> str:
    """The letters of column ``number`` (1 → ``A``, 27 → ``AA``), as Excel and Sheets name it."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def a1_range(block: CellRange) -> str:
    """``C5:C12`` (or ``C5`` for one cell) for a block."""
    start = f"{column_letter(block.first_column + 1)}{block.first_row + 1}"
    end = f"{column_letter(block.end_column)}{block.end_row}"
    return start if start == end else f"{start}:{end}"
