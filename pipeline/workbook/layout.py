"""How devplan's own tabs look: which rows are headers and how wide each column is.

Pure functions of a tab's rows, shared by the backends so a tab looks the same
in Google Sheets and in an ``.xlsx`` file.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from pipeline.workbook import Table

#: pixels per character cell and the bounds of a column's width
CHAR_PIXELS, PADDING, MIN_WIDTH, MAX_WIDTH = 7, 16, 48, 360


def text_cells(value: Any) -> int:
    """Terminal-like width of a value as text: Thai vowel and tone marks take no room."""
    if value is None:
        return 0
    return sum(0 if unicodedata.category(ch) in ("Mn", "Me", "Cf") else 1 for ch in str(value))


def column_widths(rows: Table) -> list[int]:
    """Pixel width of each column, fitted to its longest value within bounds."""
    width = max((len(r) for r in rows), default=0)
    widths = []
    for column in range(width):
        longest = max((text_cells(r[column]) for r in rows if column < len(r)), default=0)
        widths.append(max(MIN_WIDTH, min(MAX_WIDTH, longest * CHAR_PIXELS + PADDING)))
    return widths


def header_rows(rows: Table) -> list[int]:
    """Indexes of title and header rows: the first row and every row that starts a section."""
    found = []
    for index, row in enumerate(rows):
        filled = any(v not in (None, "") for v in row)
        if filled and (index == 0 or not any(v not in (None, "") for v in rows[index - 1])):
            found.append(index)
    return found
