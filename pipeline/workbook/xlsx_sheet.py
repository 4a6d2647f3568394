"""The parts devplan writes whole: its own sheet, and the comments and VML drawing of its notes.

A sheet holds inline strings, numbers, booleans and dates (as serial numbers
with a built-in number format), never a formula, so text that starts with
``=`` stays text. The look of ``layout.FormattedTab`` goes with it: frozen
rows, column widths, conditional rules and, through the comments part, notes.
Namespaces are parameters, so the same parts fit a Transitional or a Strict
package (``pipeline.workbook.xlsx``).
"""

from __future__ import annotations

import math
import numbers
import re
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping, Sequence


from pipeline.workbook.layout import FormattedTab, Table, a1_range, as_tab, column_letter, short_texts_remembered

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

#: Characters XML 1.0 cannot hold (a pasted vertical tab, a NUL, a lone surrogate).
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
#: Text Excel would decode as an escaped character; its underscore is escaped so it stays literal.
OOXML_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")

#: Built-in number formats (no numFmt entry needed) for values that need one.
DATETIME_FORMAT, DATE_FORMAT, TIME_FORMAT, DURATION_FORMAT = 22, 14, 21, 46

_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)


def clean_text(value: str) -> str:
    """Text as a cell can hold it: XML-illegal characters dropped."""
    return ILLEGAL_XML.sub("", value)


def _text_cell(ref: str, value: str, style: str = "") -> str:
    """An inline-string cell: always text, never a formula, whatever the text starts with."""
    return f'<c r="{ref}"{style} t="inlineStr">{_inline(value)}</c>'


@short_texts_remembered(16384)  # most cells repeat a label or a name
def _inline(value: str) -> str:
    """The ``<is>`` element of an inline-string cell holding ``value``."""
    value = OOXML_ESCAPE.sub(r"_x005F_\1", clean_text(value))
    body = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    space = ' xml:space="preserve"' if body != body.strip() or "\n" in body else ""
    return f"<is><t{space}>{body}</t></is>"


def _number(value: float) -> str:
    """A number as Excel writes it: whole numbers without a decimal point."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def value_kind(value: Any) -> int | None:
    """The built-in number format a value needs, or None."""
    if isinstance(value, datetime):
        return DATETIME_FORMAT if value == value else None  # NaT compares unequal to itself
    if isinstance(value, date):
        return DATE_FORMAT
    if isinstance(value, time):
        return TIME_FORMAT
    if isinstance(value, timedelta):
        return DURATION_FORMAT
    return None


def _serial(value: Any, date1904: bool) -> float:
    """Excel's serial number of a date, time or duration."""
    if isinstance(value, timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    value = value.replace(tzinfo=None)
    serial = (value - (_EPOCH_1904 if date1904 else _EPOCH_1900)).total_seconds() / 86400
    if not date1904 and 1 <= serial < 61:
        serial -= 1  # Excel counts a 29 February 1900 that never was
    return serial


def _width(pixels: int) -> str:
    """A pixel width as Excel's column width (characters of the default font: 7 px each, plus 5 px)."""
    return f"{max(pixels - 5, 0) / 7:.2f}"


def xml_text(text: str) -> str:
    return clean_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sheet_xml(
    tab: "FormattedTab | Table",
    styles: Mapping[Any, int],
    date1904: bool = False,
    dxfs: Sequence[int] = (),
    legacy_drawing: str | None = None,
    main_ns: str = MAIN_NS,
    rel_ns: str = REL_NS,
) -> bytes:
    """A worksheet part holding a tab: inline strings, numbers, booleans, dates; no formulas.

    ``styles`` maps (number format, bold) to a cell style index (a plain
    number format alone is accepted too); ``dxfs`` gives each conditional
    rule's differential format; ``legacy_drawing`` is the relationship id of
    the comments' VML drawing, when the tab has notes; ``main_ns`` and
    ``rel_ns`` the namespaces of the package it goes into (Transitional or Strict).
    """
    look = as_tab(tab)
    rows = look.rows

    def style(kind: int | None, bold: bool) -> str:
        key = (kind or 0, bold)
        if key == (0, False):
            return ""
        index = styles[key] if key in styles else styles[kind]
        return f' s="{index}"'

    out = []
    width = 0
    letters = [column_letter(c) for c in range(1, look.width + 1)]
    for r, row in enumerate(rows, start=1):
        cells = []
        bold = (r - 1) in look.bold_rows
        plain: str | None = None  # the row's style for a cell with no number format, once one asks
        for c, value in enumerate(row):
            if value is None:
                continue
            ref = f"{letters[c]}{r}"
            if type(value) is str:
                if plain is None:
                    plain = style(None, bold)
                cells.append(_text_cell(ref, value, plain))
            elif type(value) is int:
                if plain is None:
                    plain = style(None, bold)
                cells.append(f'<c r="{ref}"{plain}><v>{value}</v></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{ref}"{style(None, bold)} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, str):
                cells.append(_text_cell(ref, value, style(None, bold)))
            elif isinstance(value, numbers.Integral):
                cells.append(f'<c r="{ref}"{style(None, bold)}><v>{int(value)}</v></c>')
            elif isinstance(value, numbers.Real):
                number = float(value)
                if math.isfinite(number):
                    cells.append(f'<c r="{ref}"{style(None, bold)}><v>{_number(number)}</v></c>')
            elif (kind := value_kind(value)) is not None:
                cells.append(f'<c r="{ref}"{style(kind, bold)}><v>{_number(_serial(value, date1904))}</v></c>')
            elif isinstance(value, datetime):
                continue  # NaT
            else:
                cells.append(_text_cell(ref, str(value), style(None, bold)))
        if cells:
            width = max(width, len(row))
            out.append(f'<row r="{r}">{"".join(cells)}</row>')
    used = f"A1:{column_letter(width)}{len(rows)}" if out else "A1"
    if look.frozen_rows:
        below = f"A{look.frozen_rows + 1}"
        view = (
            f'<sheetView workbookViewId="0"><pane ySplit="{look.frozen_rows}" topLeftCell="{below}" '
            f'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="{below}" '
            f'sqref="{below}"/></sheetView>'
        )
    else:
        view = '<sheetView workbookViewId="0"/>'
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{_width(px)}" customWidth="1"/>' for i, px in enumerate(look.widths, start=1)
    )
    formatting = []
    for priority, (rule, dxf) in enumerate(zip(look.rules, dxfs), start=1):
        sqref = " ".join(a1_range(block) for block in rule.ranges)
        literal = '"' + rule.text.replace('"', '""') + '"'
        formatting.append(
            f'<conditionalFormatting sqref="{sqref}"><cfRule type="cellIs" dxfId="{dxf}" priority="{priority}" '
            f'operator="equal"><formula>{xml_text(literal)}</formula></cfRule></conditionalFormatting>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{main_ns}" xmlns:r="{rel_ns}">'
        f'<dimension ref="{used}"/><sheetViews>{view}</sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + f'<sheetData>{"".join(out)}</sheetData>'
        + "".join(formatting)
        + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        + (f'<legacyDrawing r:id="{legacy_drawing}"/>' if legacy_drawing else "")
        + "</worksheet>"
    ).encode("utf-8")


def comments_xml(notes: Mapping[tuple[int, int], str], main_ns: str = MAIN_NS) -> bytes:
    """A comments part holding devplan's notes, in row order."""
    entries = "".join(
        f'<comment ref="{column_letter(c + 1)}{r + 1}" authorId="0"><text><t xml:space="preserve">{xml_text(text)}</t>'
        "</text></comment>"
        for (r, c), text in sorted(notes.items())
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<comments xmlns="{main_ns}"><authors><author>devplan</author></authors>'
        f"<commentList>{entries}</commentList></comments>"
    ).encode("utf-8")


def vml_xml(notes: Mapping[tuple[int, int], str], block: int) -> bytes:
    """The legacy VML drawing Excel needs to show comments: one hidden note box per comment.

    ``block`` reserves shape ids ``block * 1024 + 1 ...`` so they do not clash
    with another sheet's drawing (devplan uses the tab's sheetId).
    """
    shapes = []
    for number, (r, c) in enumerate(sorted(notes), start=1):
        shapes.append(
            f'<v:shape id="_x0000_s{block * 1024 + number}" type="#_x0000_t202" '
            'style="position:absolute;margin-left:80pt;margin-top:2pt;width:240pt;height:90pt;'
            'z-index:1;visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto">'
            '<v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto">'
            '<div style="text-align:left"></div></v:textbox>'
            '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{c + 1}, 15, {max(r - 1, 0)}, 2, {c + 5}, 15, {r + 6}, 4</x:Anchor>"
            f"<x:AutoFill>False</x:AutoFill><x:Row>{r}</x:Row><x:Column>{c}</x:Column></x:ClientData></v:shape>"
        )
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
        '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        + "".join(shapes)
        + "</xml>"
    ).encode("utf-8")
