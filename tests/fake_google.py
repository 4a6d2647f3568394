"""An in-process fake of Google's Sheets v4 and Drive v3 APIs, served over real HTTP on 127.0.0.1.

Why: devplan talks to Google through gspread and requests. Mocking those libraries would test
our mocks, not our code. This module runs a small HTTP server with state instead, so the real
gspread (and google-auth, and requests) send real requests and parse real responses. The
response shapes, status codes and error bodies follow recordings of Google's own answers
(``tests/fixtures/sheets-api-recordings``); ``tests/test_fake_google.py`` replays those
recordings against this fake and compares.

Use::

    with FakeGoogle() as fake:                  # or the ``fake_google`` pytest fixture
        folder = fake.add_folder("devplan-area", shared_drive=True)
        sid = fake.add_spreadsheet("roster", {"หน่วยงาน": [["รหัส", "ชื่อ"], ["1", "a"]]}, folder=folder)
        client = fake.gspread_client()          # a real gspread.Client whose URLs point here
        client.open_by_key(sid).sheet1.get_all_values()

What the fake does NOT do (deliberately):

* Formulas are stored, not computed, except plain arithmetic (``=4/2``, ``=(1+2)*3``): their
  effective value is the result. Any other formula's effective (and formatted) value is its
  own text, e.g. ``=SUM(A1:A3)`` reads back as the string ``"=SUM(A1:A3)"``. Errors: ``=1/0``
  gives ``#DIV/0!``, ``=NA()`` ``#N/A`` and an error written as a formula (``=#REF!``) that
  error; an error's text typed (``USER_ENTERED`` ``#N/A``) is that error too, as in Sheets.
  Values read an error as its text; grid data gives ``effectiveValue.errorValue``.
* Formatted values follow a small subset of number formats: general numbers, ``0``, ``0.00``,
  ``#,##0``, ``#,##0.00``, percentages and date/time patterns built from ``yyyy yy mmmm mmm mm
  m dd d hh h HH H ss``. Locale does not change formatting (no Buddhist-era years, no Thai digits).
* ``USER_ENTERED`` parses numbers (``1,234.5``, ``+66...``, ``50%``), ``TRUE``/``FALSE``, a
  leading ``'`` (forces text), ``=`` formulas and dates ``yyyy-mm-dd[ hh:mm[:ss]]`` and
  ``m/d/yyyy`` (``d/m/yyyy`` when the spreadsheet locale is not en_US). Nothing else.
* Reads of a range that starts outside the grid are refused like Google does; a read whose
  end runs past the grid is clamped to it. Writes (values.update / batchUpdate / updateCells)
  outside the grid are refused with Google's "exceeds grid limits"; ``values.append`` grows
  the grid as Google does.
* Drive: only spreadsheets and folders exist; no revisions, no export, no copy, no upload.
  Drive requests are logged but not counted against the Sheets quota.
* Sheet names in ranges match exactly, then case-insensitively. Returned ranges quote a sheet
  name unless it is plain ASCII letters/digits/underscore and does not look like a cell.
* Boolean query flags (``supportsAllDrives``...) are on when they read ``true`` in any case, as
  reported measured at Google (github.com/brekkylab/backlot issue 339: ``true``, ``TRUE`` and ``True``
  turn a flag on, ``1`` and ``yes`` do not); the request log keeps every value exactly as it was sent.
* Error messages for conditions the recordings do not show are written after Google's
  documented or widely reported texts; they are close, not guaranteed identical.
"""

from __future__ import annotations

import ast
import base64
import binascii
import collections
import copy
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import operator
import random
import re
import string
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
FOLDER_MIME = "application/vnd.google-apps.folder"
SHEETS_HOST = "https://sheets.googleapis.com"
GOOGLEAPIS_HOST = "https://www.googleapis.com"
OAUTH_HOST = "https://oauth2.googleapis.com"
SERIAL_EPOCH = dt.datetime(1899, 12, 30)
DEFAULT_ROWS = 1000
DEFAULT_COLS = 26
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

# The spreadsheet-level defaults Google returned in every recorded metadata answer.
_DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}
_THEME: dict[str, Any] = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        {"colorType": "TEXT", "color": {"rgbColor": {}}},
        {"colorType": "BACKGROUND", "color": {"rgbColor": {"red": 1, "green": 1, "blue": 1}}},
        {"colorType": "ACCENT1", "color": {"rgbColor": {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}}},
        {"colorType": "ACCENT2", "color": {"rgbColor": {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}}},
        {"colorType": "ACCENT3", "color": {"rgbColor": {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}}},
        {"colorType": "ACCENT4", "color": {"rgbColor": {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}}},
        {"colorType": "ACCENT5", "color": {"rgbColor": {"red": 1, "green": 0.42745098, "blue": 0.003921569}}},
        {"colorType": "ACCENT6", "color": {"rgbColor": {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}}},
        {"colorType": "LINK", "color": {"rgbColor": {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}}},
    ],
}

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_STATUS_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
}


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An error answer: HTTP status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: Optional[dict[str, str]] = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def sheets_error(code: int, message: Optional[str] = None, *, details: Optional[list] = None,
                 headers: Optional[dict[str, str]] = None) -> ApiError:
    """A Sheets-style error: ``{"error": {"code", "message", "status"}}`` as the recordings show."""
    body: dict[str, Any] = {"code": code, "message": message or _STATUS_MESSAGES.get(code, "Error"),
                            "status": _STATUS_NAMES.get(code, "UNKNOWN")}
    if details:
        body["details"] = details
    return ApiError(code, {"error": body}, headers)


#: the most characters Google Sheets keeps in one cell (a longer write is refused, 400)
CELL_LIMIT = 50_000


def bad_request(message: str) -> ApiError:
    """Sheets 400 INVALID_ARGUMENT with the given message."""
    return sheets_error(400, message)


def drive_error(code: int, message: str, reason: str, domain: str = "global",
                location: Optional[str] = None, headers: Optional[dict[str, str]] = None) -> ApiError:
    """A Drive v3-style error: code, message and an ``errors`` list with domain and reason."""
    item: dict[str, Any] = {"message": message, "domain": domain, "reason": reason}
    if location:
        item["location"] = location
        item["locationType"] = "parameter"
    return ApiError(code, {"error": {"code": code, "message": message, "errors": [item]}}, headers)


# --------------------------------------------------------------------------- A1 notation


def col_letters(index: int) -> str:
    """0-based column index to letters: 0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    """Letters to a 0-based column index: A -> 0, AA -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def a1_cell(row: int, col: int) -> str:
    """0-based (row, col) to A1 text."""
    return f"{col_letters(col)}{row + 1}"


_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*)$")


def quote_sheet(name: str) -> str:
    """A sheet name as Google writes it in a range: quoted unless plainly safe."""
    if _PLAIN_NAME.match(name) and not _CELL_LIKE.match(name):
        return name
    return "'" + name.replace("'", "''") + "'"


_A1_PART = re.compile(r"^\$?([A-Za-z]{0,3})\$?([0-9]*)$")


@dataclasses.dataclass
class GridSpan:
    """A rectangle on one sheet, 0-based, end-exclusive; ``None`` ends are open (to the grid's edge)."""

    sheet: "Sheet"
    r0: int
    r1: Optional[int]
    c0: int
    c1: Optional[int]
    text: str  # the A1 text as requested, for messages

    def resolved(self) -> tuple[int, int, int, int]:
        """Ends closed at the grid's edge."""
        rows, cols = self.sheet.rows, self.sheet.cols
        return self.r0, rows if self.r1 is None else self.r1, self.c0, cols if self.c1 is None else self.c1

    def check_inside(self, prefix: str = "") -> None:
        """Refuse, as Google does, a range any part of which lies outside the grid."""
        rows, cols = self.sheet.rows, self.sheet.cols
        r1 = self.r0 + 1 if self.r1 is None else self.r1
        c1 = self.c0 + 1 if self.c1 is None else self.c1
        if self.r0 >= rows or self.c0 >= cols or r1 > rows or c1 > cols:
            raise bad_request(f"{prefix}Range ({quote_sheet(self.sheet.title)}!{self.text}) exceeds grid limits. "
                              f"Max rows: {rows}, max columns: {cols}")


def _parse_a1(text: str) -> Optional[tuple[int, Optional[int], int, Optional[int]]]:
    """Parse the part after ``!``: ``A1``, ``A1:B2``, ``A:C``, ``1:3``, ``A2:C``, ``A1:1``."""
    parts = text.split(":")
    if len(parts) > 2 or not text:
        return None
    parsed = []
    for part in parts:
        m = _A1_PART.match(part)
        if not m or (not m.group(1) and not m.group(2)):
            return None
        col = col_index(m.group(1)) if m.group(1) else None
        row = int(m.group(2)) - 1 if m.group(2) else None
        if row is not None and row < 0:
            return None
        parsed.append((row, col))
    if len(parsed) == 1:
        row, col = parsed[0]
        if row is None or col is None:
            return None
        return row, row + 1, col, col + 1
    (ra, ca), (rb, cb) = parsed
    # "A:B2" style mixes are accepted by Google; treat missing start parts as 0, missing ends as open.
    if ra is None and rb is not None and ca is not None:
        ra = 0
    r0 = ra if ra is not None else 0
    c0 = ca if ca is not None else 0
    r1 = rb + 1 if rb is not None else None
    c1 = cb + 1 if cb is not None else None
    if ca is None and cb is not None:  # "1:B3"?? not valid
        return None
    if r1 is not None and r1 <= r0:
        r0, r1 = r1 - 1, r0 + 1
    if c1 is not None and c1 <= c0:
        c0, c1 = c1 - 1, c0 + 1
    return r0, r1, c0, c1


def split_range(text: str) -> tuple[Optional[str], Optional[str]]:
    """Split ``'My sheet'!A1:B2`` into (sheet name, A1 part); either may be ``None``."""
    if text.startswith("'"):
        i, name = 1, []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    name.append("'")
                    i += 2
                    continue
                rest = text[i + 1:]
                if rest == "":
                    return "".join(name), None
                if rest.startswith("!"):
                    return "".join(name), rest[1:]
                raise bad_request(f"Unable to parse range: {text}")
            name.append(ch)
            i += 1
        raise bad_request(f"Unable to parse range: {text}")
    if "!" in text:
        name, a1 = text.rsplit("!", 1)
        return name, a1
    return text, None  # caller decides: sheet name, or A1 on the first sheet


# --------------------------------------------------------------------------- field masks


def parse_fields(mask: str) -> Optional[dict[str, Any]]:
    """Parse a Google field mask into a tree ``{name: subtree | None}``; ``None`` means everything.

    Handles ``a,b.c``, ``a/b``, ``a(b,c(d))`` and ``*``.
    """
    mask = mask.replace(" ", "")
    if not mask or mask == "*":
        return None
    pos = 0

    def parse_list() -> dict[str, Any]:
        nonlocal pos
        tree: dict[str, Any] = {}
        while pos < len(mask) and mask[pos] != ")":
            path = []
            while True:
                m = re.compile(r"[A-Za-z0-9_@*]+").match(mask, pos)
                if not m:
                    raise bad_request(f"Invalid field selection {mask}")
                path.append(m.group(0))
                pos = m.end()
                if pos < len(mask) and mask[pos] in "./":
                    pos += 1
                    continue
                break
            sub: Any = None
            if pos < len(mask) and mask[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos >= len(mask) or mask[pos] != ")":
                    raise bad_request(f"Invalid field selection {mask}")
                pos += 1
            _merge_path(tree, path, sub)
            if pos < len(mask) and mask[pos] == ",":
                pos += 1
        return tree

    tree = parse_list()
    if pos != len(mask):
        raise bad_request(f"Invalid field selection {mask}")
    return tree


def _merge_path(tree: dict[str, Any], path: list[str], sub: Optional[dict[str, Any]]) -> None:
    node = tree
    for i, name in enumerate(path):
        last = i == len(path) - 1
        if last:
            if name in node and node[name] is not None and sub is not None:
                for k, v in sub.items():
                    node[name][k] = v
            else:
                node[name] = None if (sub is None or node.get(name, {}) is None) else sub
        else:
            if name in node and node[name] is None:
                return  # already whole
            node = node.setdefault(name, {})


def apply_fields(value: Any, tree: Optional[dict[str, Any]]) -> Any:
    """Keep only what the mask tree selects; lists apply the mask to each element."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_fields(v, tree) for v in value]
    if isinstance(value, dict):
        if "*" in tree:
            return value
        out = {}
        for k, sub in tree.items():
            if k in value:
                out[k] = apply_fields(value[k], sub)
        return out
    return value


# --------------------------------------------------------------------------- cells and values


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell. ``kind``: ``s`` string, ``n`` number, ``b`` bool, ``f`` formula, ``e`` a typed error, or ``None``.

    Immutable so a sheet can be copied cheaply (a shallow copy of its cell dict) for atomic writes.
    """

    kind: Optional[str] = None
    value: Any = None
    fmt: Optional[dict] = None  # userEnteredFormat as received (plus Google's *Style mirrors)
    note: Optional[str] = None

    def is_empty(self) -> bool:
        return self.kind is None and not self.fmt and self.note is None

    @property
    def has_value(self) -> bool:
        return self.kind is not None


class ErrorValue(str):
    """A cell's error (``#N/A``, ``#REF!``...): read as its text, described as an ``errorValue``."""


#: error text -> ErrorValue.type, as Sheets names them
ERROR_TYPES = {"#NULL!": "NULL_VALUE", "#DIV/0!": "DIVIDE_BY_ZERO", "#VALUE!": "VALUE", "#REF!": "REF",
               "#NAME?": "NAME", "#NUM!": "NUM", "#N/A": "N_A", "#ERROR!": "ERROR", "#GETTING_DATA": "LOADING"}


_BIN_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _eval_arith(formula: str) -> Optional[float]:
    """Evaluate a formula made only of numbers, + - * / ^ and parentheses; else ``None``."""
    try:
        tree = ast.parse(formula[1:].replace("^", "**"), mode="eval")
    except (SyntaxError, ValueError):
        return None

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN_OPS:
            return _BIN_OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        raise ValueError("not arithmetic")

    try:
        result = ev(tree)
    except (ValueError, OverflowError, TypeError):
        return None  # a division by zero is the formula's error: the caller says so
    return result


def _num_out(value: float) -> Any:
    """A number for JSON: integral floats as ints, like Google's ``2`` not ``2.0``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    return value


def to_serial(value: dt.date | dt.datetime) -> float:
    """A date or datetime as a spreadsheet serial number (days since 1899-12-30)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        return (value - SERIAL_EPOCH) / dt.timedelta(days=1)
    return float((value - SERIAL_EPOCH.date()).days)


def from_serial(serial: float) -> dt.datetime:
    """A serial number back to a naive datetime (rounded to the millisecond)."""
    return SERIAL_EPOCH + dt.timedelta(milliseconds=round(serial * 86400000))


_NUMBER_RE = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:,? (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_user_entered(text: str, locale: str = "en_US") -> tuple[Optional[str], Any, Optional[dict]]:
    """What the Sheets UI (and ``USER_ENTERED``) makes of typed text: (kind, value, numberFormat)."""
    if text == "":
        return None, None, None
    if text.startswith("'"):
        return "s", text[1:], None
    if text.startswith("=") and len(text) > 1:
        return "f", text, None
    stripped = text.strip()
    if stripped.upper() in ERROR_TYPES:
        return "e", ErrorValue(stripped.upper()), None
    if stripped.upper() in ("TRUE", "FALSE"):
        return "b", stripped.upper() == "TRUE", None
    body = stripped
    percent = body.endswith("%")
    if percent:
        body = body[:-1]
    currency = body.lstrip("+-").startswith("$")
    if currency:
        body = body.replace("$", "", 1)
    if body and any(ch.isdigit() for ch in body) and _NUMBER_RE.match(body):
        number = float(body.replace(",", ""))
        if percent:
            return "n", number / 100, {"type": "PERCENT", "pattern": "0.00%"}
        if currency:
            return "n", number, {"type": "CURRENCY", "pattern": "\"$\"#,##0.00"}
        fmt = {"type": "NUMBER", "pattern": "#,##0.00"} if "," in body else None
        return "n", number, fmt
    m = _ISO_DATE.match(stripped)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        try:
            when = dt.datetime(y, mo, d, int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0))
        except ValueError:
            return "s", text, None
        if m.group(4):
            return "n", to_serial(when), {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}
        return "n", to_serial(when), {"type": "DATE", "pattern": "yyyy-mm-dd"}
    m = _SLASH_DATE.match(stripped)
    if m:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        month, day = (a, b) if locale == "en_US" else (b, a)
        try:
            when = dt.datetime(y, month, day, int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0))
        except ValueError:
            return "s", text, None
        pattern = "M/d/yyyy" if locale == "en_US" else "d/M/yyyy"
        if m.group(4):
            return "n", to_serial(when), {"type": "DATE_TIME", "pattern": pattern + " H:mm:ss"}
        return "n", to_serial(when), {"type": "DATE", "pattern": pattern}
    return "s", text, None


_DATE_TOKENS = re.compile(r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|HH|H|ss|s|AM/PM|am/pm|\.0+|.',
                          re.S)


_DATE_PARTS = ("d", "dd", "ddd", "dddd", "yy", "yyyy", "M", "MM")
_HOURS = ("h", "hh", "H", "HH")


def _is_minute(tokens: list[str], i: int) -> bool:
    """Is ``m``/``mm`` at ``tokens[i]`` minutes (after an hour, or before seconds) rather than a month?"""
    for tok in reversed(tokens[:i]):
        if tok in _HOURS:
            return True
        if tok in _DATE_PARTS or tok in ("m", "mm", "mmm", "mmmm"):
            break
    for tok in tokens[i + 1:]:
        if tok in ("s", "ss"):
            return True
        if tok in _DATE_PARTS or tok in _HOURS or tok in ("m", "mm", "mmm", "mmmm"):
            break
    return False


def format_datetime(serial: float, pattern: str) -> str:
    """Render a serial number with a Sheets date/time pattern (a practical subset)."""
    when = from_serial(serial)
    tokens = _DATE_TOKENS.findall(pattern)
    ampm = any(t.lower() == "am/pm" for t in tokens)
    out = []
    for i, tok in enumerate(tokens):
        low = tok.lower() if tok not in ("M", "MM") else tok
        if tok.startswith('"'):
            out.append(tok[1:-1])
        elif tok.startswith("\\"):
            out.append(tok[1:])
        elif tok == "yyyy":
            out.append(f"{when.year:04d}")
        elif tok == "yy":
            out.append(f"{when.year % 100:02d}")
        elif low in ("m", "mm", "M", "MM"):
            if tok in ("m", "mm") and _is_minute(tokens, i):
                out.append(f"{when.minute:02d}" if len(tok) == 2 else str(when.minute))
            else:
                out.append(f"{when.month:02d}" if len(tok) == 2 else str(when.month))
        elif tok == "mmmm":
            out.append(when.strftime("%B"))
        elif tok == "mmm":
            out.append(when.strftime("%b"))
        elif tok == "dddd":
            out.append(when.strftime("%A"))
        elif tok == "ddd":
            out.append(when.strftime("%a"))
        elif tok == "dd":
            out.append(f"{when.day:02d}")
        elif tok == "d":
            out.append(str(when.day))
        elif tok in ("hh", "HH", "h", "H"):
            hour = when.hour % 12 or 12 if ampm else when.hour
            out.append(f"{hour:02d}" if len(tok) == 2 else str(hour))
        elif tok == "ss":
            out.append(f"{when.second:02d}")
        elif tok == "s":
            out.append(str(when.second))
        elif tok.lower() == "am/pm":
            out.append("AM" if when.hour < 12 else "PM")
        elif tok.startswith(".0"):
            out.append("." + f"{when.microsecond // 1000:03d}"[: len(tok) - 1])
        else:
            out.append(tok)
    return "".join(out)


def format_general(value: float) -> str:
    """Sheets' "General" number rendering: integers plainly, others to at most 10 decimals."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if math.isnan(value) or math.isinf(value):
        return "#NUM!"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-10):
        mantissa, exponent = f"{value:.2E}".split("E")
        return f"{mantissa}E{exponent[0]}{int(exponent[1:]):02d}"
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text


def format_number(value: float, number_format: Optional[dict]) -> str:
    """Render a number with a cell's numberFormat (a subset: see the module docstring)."""
    if not number_format:
        return format_general(value)
    kind = number_format.get("type", "NUMBER")
    pattern = number_format.get("pattern", "")
    if kind in ("DATE", "TIME", "DATE_TIME"):
        default = {"DATE": "yyyy-mm-dd", "TIME": "hh:mm:ss", "DATE_TIME": "yyyy-mm-dd hh:mm:ss"}[kind]
        return format_datetime(value, pattern or default)
    if kind == "TEXT":
        return format_general(value)
    if not pattern:
        if kind == "PERCENT":
            pattern = "0.00%"
        else:
            return format_general(value)
    m = re.search(r"([#,0]*0)(\.(0+))?(%?)", pattern)
    if not m:
        return format_general(value)
    decimals = len(m.group(3) or "")
    scaled = value * 100 if m.group(4) else value
    grouped = "," in m.group(1)
    body = f"{scaled:,.{decimals}f}" if grouped else f"{scaled:.{decimals}f}"
    return pattern[: m.start()].replace('"', "") + body + m.group(4) + pattern[m.end():].replace('"', "")


# --------------------------------------------------------------------------- state


@dataclasses.dataclass
class Sheet:
    """One tab: properties as Google returns them, cells, and what formatting requests left behind."""

    props: dict[str, Any]
    cells: dict[tuple[int, int], Cell] = dataclasses.field(default_factory=dict)
    row_meta: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    col_meta: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    conditional_formats: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    data_validations: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    merges: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    basic_filter: Optional[dict[str, Any]] = None
    other_requests: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: DeveloperMetadata located on this sheet (``location.sheetId``), as Google returns it
    developer_metadata: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def sheet_id(self) -> int:
        return self.props["sheetId"]

    @property
    def rows(self) -> int:
        return self.props["gridProperties"]["rowCount"]

    @property
    def cols(self) -> int:
        return self.props["gridProperties"]["columnCount"]

    def clone(self) -> "Sheet":
        """A copy that can be changed without touching this one (cells are immutable, so shallow)."""
        return Sheet(
            props=copy.deepcopy(self.props), cells=dict(self.cells),
            row_meta=copy.deepcopy(self.row_meta), col_meta=copy.deepcopy(self.col_meta),
            conditional_formats=copy.deepcopy(self.conditional_formats),
            data_validations=copy.deepcopy(self.data_validations), merges=copy.deepcopy(self.merges),
            basic_filter=copy.deepcopy(self.basic_filter), other_requests=copy.deepcopy(self.other_requests),
            developer_metadata=copy.deepcopy(self.developer_metadata),
        )

    def get(self, row: int, col: int) -> Cell:
        return self.cells.get((row, col), _EMPTY)

    def put(self, row: int, col: int, cell: Cell) -> None:
        if cell.is_empty():
            self.cells.pop((row, col), None)
        else:
            self.cells[(row, col)] = cell

    def set_value(self, row: int, col: int, kind: Optional[str], value: Any,
                  number_format: Optional[dict] = None) -> None:
        """Set a value, keeping format and note; a detected number format is stored like Google does."""
        old = self.get(row, col)
        fmt = old.fmt
        if number_format is not None and not (fmt and "numberFormat" in fmt):
            fmt = dict(fmt or {})
            fmt["numberFormat"] = number_format
        self.put(row, col, Cell(kind, value, fmt, old.note))

    def data_extent(self) -> tuple[int, int]:
        """(rows, cols) up to the last cell holding a value."""
        rows = cols = 0
        for (r, c), cell in self.cells.items():
            if cell.has_value:
                rows = max(rows, r + 1)
                cols = max(cols, c + 1)
        return rows, cols


_EMPTY = Cell()


@dataclasses.dataclass
class Spreadsheet:
    """Spreadsheet properties besides the title (which lives on the Drive file) and its tabs."""

    props: dict[str, Any]
    sheets: list[Sheet]

    def clone(self) -> "Spreadsheet":
        return Spreadsheet(copy.deepcopy(self.props), [s.clone() for s in self.sheets])

    def by_id(self, sheet_id: int) -> Optional[Sheet]:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def by_title(self, title: str) -> Optional[Sheet]:
        found = next((s for s in self.sheets if s.title == title), None)
        if found is None:
            folded = title.casefold()
            found = next((s for s in self.sheets if s.title.casefold() == folded), None)
        return found

    def reindex(self) -> None:
        for i, s in enumerate(self.sheets):
            s.props["index"] = i


@dataclasses.dataclass
class DriveFile:
    """A Drive file: a spreadsheet or a folder, with sharing and switches for tests."""

    id: str
    name: str
    mime_type: str
    parents: list[str]
    created_ms: int
    modified_ms: int
    shared_with: Optional[dict[str, str]] = None  # None: everybody may write; else email -> role
    shared_drive: bool = False  # folders only: is this (in) a shared drive?
    trashed: bool = False
    forbidden: bool = False
    fault: Optional[int] = None  # a permanent status for every request about this file
    spreadsheet: Optional[Spreadsheet] = None


_ROLE_RANK = {"reader": 1, "commenter": 1, "writer": 2, "fileOrganizer": 2, "organizer": 3, "owner": 3}


@dataclasses.dataclass
class LoggedRequest:
    """One request the fake answered (or refused)."""

    method: str
    path: str  # percent-decoded
    query: dict[str, list[str]]
    body: Any
    status: int
    api: str  # "sheets" | "drive" | "token" | "other"
    kind: str  # "read" | "write"
    spreadsheet: Optional[str]
    auth: Optional[str]  # the Authorization header as sent
    user: Optional[str]  # the email the token stood for, if any
    time: float
    response: Any = None
    fault: Optional[str] = None  # "fault", "quota", "slow", "lost" when a switch shaped the answer


class Faults:
    """Random and scripted failures.

    ``rate``: share of requests answered with one of ``statuses`` (429 carries ``Retry-After:
    retry_after`` seconds, fractional allowed). ``slow_rate``/``slow_seconds``: share of requests
    delayed before being answered normally. ``apis`` limits both to some APIs. ``fail_next(status,
    count)`` fails the next ``count`` matching requests whatever the rate. A faulted request
    changes nothing. ``lose_next(count, api, method)`` is the other kind: the request is applied,
    then its answer is lost and the caller gets a 503 (a write Google did, answered as failed).

    ``hang``: every request of ``apis`` is held unanswered until the fake stops (or ``release()``),
    as a Google that never answers; ``hanging``: the same for the requests about these spreadsheets. ``tick``: called once for every request of ``apis`` before it is
    answered; a test moves its virtual clock there ("each request takes 20 s") instead of sleeping.
    """

    def __init__(self, seed: int = 0) -> None:
        self.rate: float = 0.0
        self.statuses: tuple[int, ...] = (429, 500, 503)
        self.retry_after: Optional[float] = 0.01
        self.slow_rate: float = 0.0
        self.slow_seconds: float = 0.0
        self.apis: tuple[str, ...] = ("sheets", "drive")
        self.hang: bool = False
        self.hanging: set[str] = set()
        self.tick: Optional[Callable[[], None]] = None
        self._released = threading.Event()
        self.random = random.Random(seed)
        self._queue: collections.deque[int] = collections.deque()
        self._lost: list[tuple[str, str, Optional[Callable[[str, Any], bool]]]] = []
        self._lock = threading.Lock()

    @property
    def slow(self) -> tuple[float, float]:
        """(share of requests delayed, seconds); set a tuple, or a number of seconds for every request."""
        return self.slow_rate, self.slow_seconds

    @slow.setter
    def slow(self, value: Optional[float | tuple[float, float]]) -> None:
        if not value:
            self.slow_rate, self.slow_seconds = 0.0, 0.0
        elif isinstance(value, tuple):
            self.slow_rate, self.slow_seconds = float(value[0]), float(value[1])
        else:
            self.slow_rate, self.slow_seconds = 1.0, float(value)

    def reset(self) -> None:
        """No more faults."""
        self.rate = 0.0
        self.slow_rate = 0.0
        self.hang = False
        self.hanging = set()
        self.tick = None
        self._queue.clear()
        self._lost.clear()

    def release(self) -> None:
        """Let every held request go on, and hold no more."""
        self.hang = False
        self.hanging = set()
        self._released.set()

    def hold(self, api: str, spreadsheet: Optional[str]) -> bool:
        """Hold a request while ``hang`` (or ``hanging``) says so, at most a minute; True if it was held."""
        if api not in self.apis or not (self.hang or (spreadsheet and spreadsheet in self.hanging)):
            return False
        self._released.wait(60)
        return True

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next ``count`` requests (of ``apis``) with ``status``."""
        with self._lock:
            self._queue.extend([status] * count)

    def lose_next(self, count: int = 1, *, api: str = "sheets", method: str = "POST",
                  where: Optional[Callable[[str, Any], bool]] = None) -> None:
        """Apply the next ``count`` successful ``method`` requests of ``api`` (for which ``where(path,
        body)`` holds, if given), then answer each with 503."""
        with self._lock:
            self._lost.extend([(api, method.upper(), where)] * count)

    def lose(self, api: str, method: str, path: str, body: Any) -> bool:
        """Whether this applied request's answer is to be lost (and one fewer is left to lose)."""
        with self._lock:
            for entry in self._lost:
                if entry[:2] == (api, method) and (entry[2] is None or entry[2](path, body)):
                    self._lost.remove(entry)
                    return True
            return False

    def seed(self, seed: int) -> None:
        self.random.seed(seed)

    def draw(self, api: str) -> tuple[Optional[int], float]:
        """(status to fail with or None, seconds to sleep) for one request."""
        if api not in self.apis:
            return None, 0.0
        with self._lock:
            if self._queue:
                return self._queue.popleft(), 0.0
            status = None
            if self.rate and self.random.random() < self.rate:
                status = self.random.choice(self.statuses)
            delay = self.slow_seconds if self.slow_rate and self.random.random() < self.slow_rate else 0.0
            return status, delay


class Quota:
    """Per-user request quota for the Sheets API over a sliding window.

    ``read_limit``/``write_limit`` requests per ``window`` seconds per user (the token's email, or
    ``"anonymous"``); ``None`` means unlimited. Reads are Sheets GETs, writes are Sheets POST/PUT/
    DELETE. Refused requests do not count. Drive requests are not counted.
    """

    def __init__(self) -> None:
        #: the time the window counts in (a test may give the fake and the client one virtual clock)
        self.clock: Callable[[], float] = time.monotonic
        self.window: float = 60.0
        self.read_limit: Optional[int] = None
        self.write_limit: Optional[int] = None
        self.project_number: str = "000000000000"
        self._hits: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def take(self, user: str, kind: str, now: float) -> bool:
        """Count one request; False (not counted) when the user is over the limit."""
        limit = self.read_limit if kind == "read" else self.write_limit
        if limit is None:
            return True
        with self._lock:
            hits = self._hits[(user, kind)]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True

    def error(self, kind: str) -> ApiError:
        """Google's 429 for an exhausted per-user quota."""
        metric = "Read requests" if kind == "read" else "Write requests"
        limit_name = f"{metric} per minute per user"
        message = (f"Quota exceeded for quota metric '{metric}' and limit '{limit_name}' of service "
                   f"'sheets.googleapis.com' for consumer 'project_number:{self.project_number}'.")
        details = [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "quota_metric": f"sheets.googleapis.com/{'read' if kind == 'read' else 'write'}_requests",
                "quota_limit": f"{'Read' if kind == 'read' else 'Write'}RequestsPerMinutePerUser",
                "quota_limit_value": str(self.read_limit if kind == "read" else self.write_limit),
                "quota_location": "global",
                "consumer": f"projects/{self.project_number}",
                "service": "sheets.googleapis.com",
            },
        }]
        return sheets_error(429, message, details=details)


# --------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGoogle/1.0"
    # Buffer the response so headers and body leave in one segment, and turn Nagle off: otherwise
    # every keep-alive request waits ~40 ms for a delayed ACK.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        pass

    def _serve(self) -> None:
        self.server.fake._handle(self)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Rows = Sequence[Sequence[Any]]


class FakeGoogle:
    """A stateful fake of Sheets v4 + Drive v3 (+ an OAuth token endpoint) on 127.0.0.1.

    ``require_auth``: refuse requests without a token the fake knows (issued by ``/token`` or
    added with ``add_token``). ``service_accounts_have_quota``: when False (the default, as at
    Google today), a service account (an email ending in ``gserviceaccount.com``) cannot create a
    file outside a shared drive: 403 ``storageQuotaExceeded``. An anonymous caller counts as a
    service account here (it stands for devplan's own account when run without a key); a person
    (any other token email) may create anywhere. ``now``: a clock in epoch seconds, for
    modifiedTime.
    """

    def __init__(self, *, seed: int = 0, require_auth: bool = False,
                 service_accounts_have_quota: bool = False, now: Optional[Callable[[], float]] = None) -> None:
        self.require_auth = require_auth
        self.service_accounts_have_quota = service_accounts_have_quota
        self.faults = Faults(seed)
        self.quota = Quota()
        self._now = now or time.time
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._files: dict[str, DriveFile] = {}
        self._order = itertools.count()
        self._file_order: dict[str, int] = {}
        self._last_ms = 0
        self._log: list[LoggedRequest] = []
        # Exceptions the fake raised while answering (its own bugs, answered as 500): tests and the
        # fake_google fixture check this stays empty, so a fake bug is not mistaken for a Google fault.
        self.bugs: list[str] = []
        self._tokens: dict[str, str] = {}
        self._token_counter = itertools.count(1)
        #: how the token endpoint answers a valid key: "valid" (a token), "invalid_grant" (as for a key
        #: deleted in the Cloud Console), "unreachable" (the connection is dropped unanswered)
        self.token_mode = "valid"
        #: private_key_id of keys deleted in the Cloud Console: refused with invalid_grant
        self.revoked_keys: set[str] = set()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self.base_url = ""

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> "FakeGoogle":
        """Listen on 127.0.0.1 on a free port, serving from a background thread."""
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-google", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and wait for the server thread."""
        if self._server is None:
            return
        self.faults.release()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "FakeGoogle":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ----------------------------------------------------------------- clients

    def rewrite_url(self, url: str) -> str:
        """A Google API URL made to point at this fake (paths stay the real ones)."""
        for host in (SHEETS_HOST, GOOGLEAPIS_HOST, OAUTH_HOST):
            if url.startswith(host):
                return self.base_url + url[len(host):]
        return url

    def http_client_class(self, base: Optional[type] = None) -> type:
        """A ``gspread.http_client.HTTPClient`` subclass (or of ``base``) that sends to this fake."""
        import gspread.http_client

        fake = self
        parent = base or gspread.http_client.HTTPClient

        class FakeGoogleHTTPClient(parent):  # type: ignore[misc, valid-type]
            """Sends gspread's requests to the fake by swapping the Google base URLs."""

            def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
                return super().request(method, fake.rewrite_url(endpoint), *args, **kwargs)

        return FakeGoogleHTTPClient

    def gspread_client(self, token: Optional[str] = None, *, email: Optional[str] = None) -> Any:
        """A real ``gspread.Client`` wired to this fake, anonymous or with a bearer token.

        ``email`` registers (and uses) a token standing for that user.
        """
        import gspread
        import requests

        session = requests.Session()
        if email is not None and token is None:
            token = self.add_token(f"token-for-{email}", email)
        if token is not None:
            session.headers["Authorization"] = f"Bearer {token}"
        return gspread.Client(auth=None, session=session, http_client=self.http_client_class())

    def add_token(self, token: str, email: str) -> str:
        """Make ``Bearer token`` stand for ``email``; returns the token."""
        with self._lock:
            self._tokens[token] = email
        return token

    def token_email(self, token: str) -> Optional[str]:
        """The email a token stands for (None if the fake did not issue or register it)."""
        with self._lock:
            return self._tokens.get(token)

    def service_account_info(self, email: str = "devplan@devplan-test.iam.gserviceaccount.com") -> dict[str, Any]:
        """A service-account key file's content with a fresh RSA key and ``token_uri`` here."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        return {
            "type": "service_account", "project_id": "devplan-test",
            "private_key_id": hashlib.sha1(pem.encode()).hexdigest(), "private_key": pem,
            "client_email": email, "client_id": "100000000000000000000",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": f"{self.base_url}/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + email,
        }

    # ----------------------------------------------------------------- clock and ids

    def _tick(self) -> int:
        """Milliseconds since the epoch, strictly increasing across calls."""
        with self._lock:
            ms = max(int(self._now() * 1000), self._last_ms + 1)
            self._last_ms = ms
            return ms

    @staticmethod
    def _rfc3339(ms: int) -> str:
        when = dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc)
        return when.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"

    def _new_id(self, length: int = 44) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        while True:
            new = "1" + "".join(self._random.choice(alphabet) for _ in range(length - 1))
            if new not in self._files:
                return new

    def _new_sheet_id(self, ss: Spreadsheet) -> int:
        while True:
            new = self._random.randint(1, 2 ** 31 - 1)
            if ss.by_id(new) is None:
                return new

    # ----------------------------------------------------------------- test helpers: setup

    def add_folder(self, name: str, *, shared_drive: bool = False, parent: Optional[str] = None,
                   shared_with: Optional[Iterable[Optional[str]] | Mapping[Optional[str], str]] = None,
                   folder_id: Optional[str] = None) -> str:
        """Create a folder; ``shared_drive`` makes it (part of) a shared drive.

        ``shared_with``: emails (writers) or ``{email: role}`` who reach every file inside (``None`` in it: the
        anonymous caller, devplan's own account when it runs against the fake without a key).
        """
        with self._lock:
            fid = folder_id or self._new_id(33)
            ms = self._tick()
            if parent is not None and parent in self._files and self._files[parent].shared_drive:
                shared_drive = True
            self._add_file(DriveFile(fid, name, FOLDER_MIME, [parent] if parent else [], ms, ms,
                                     shared_with=_roles(shared_with) or {},
                                     shared_drive=shared_drive))
            return fid

    def add_spreadsheet(self, title: str, tabs: Optional[Mapping[str, Rows]] = None, *,
                        folder: Optional[str] = None,
                        shared_with: Optional[Iterable[str] | Mapping[str, str]] = None,
                        spreadsheet_id: Optional[str] = None, locale: str = "en_US",
                        time_zone: str = "Etc/GMT", value_input: str = "RAW",
                        date_pattern: str = "yyyy-mm-dd", datetime_pattern: str = "yyyy-mm-dd hh:mm:ss",
                        grid: Optional[tuple[int, int]] = None) -> str:
        """Create a spreadsheet holding ``tabs`` (title -> rows), as if staff had made it.

        Cells: str, int, float, bool, None (empty), ``datetime.date``/``datetime`` (stored as a
        serial number with a DATE / DATE_TIME format using the given patterns). Strings are kept
        as text (``value_input="RAW"``) unless ``value_input="USER_ENTERED"``. Each tab's grid is
        at least 1000x26 (or ``grid``) and at least as big as its rows. ``shared_with``: None =
        everybody may read and write; else emails (writers) or ``{email: "reader"|"writer"}``.
        """
        tabs = dict(tabs) if tabs else {"Sheet1": []}
        with self._lock:
            sid = spreadsheet_id or self._new_id()
            ss = Spreadsheet(self._default_props(locale, time_zone), [])
            for i, (tab, rows) in enumerate(tabs.items()):
                sheet = self._make_sheet(ss, tab, 0 if i == 0 else None, rows, grid)
                self._fill(sheet, 0, 0, rows, value_input, locale, date_pattern, datetime_pattern)
            ms = self._tick()
            self._add_file(DriveFile(sid, title, SPREADSHEET_MIME, [folder] if folder else [], ms, ms,
                                     shared_with=_roles(shared_with) if shared_with is not None else None,
                                     spreadsheet=ss))
            return sid

    def add_tab(self, sid: str, title: str, rows: Rows = (), *, value_input: str = "RAW") -> int:
        """Add a tab as a person would; returns its sheetId. Bumps modifiedTime."""
        with self._lock:
            f = self._sheet_file(sid)
            ss = f.spreadsheet
            assert ss is not None
            if ss.by_title(title) is not None:
                raise ValueError(f"tab {title!r} exists")
            sheet = self._make_sheet(ss, title, None, rows, None)
            self._fill(sheet, 0, 0, rows, value_input, ss.props["locale"], "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss")
            f.modified_ms = self._tick()
            return sheet.sheet_id

    def _make_sheet(self, ss: Spreadsheet, title: str, sheet_id: Optional[int], rows: Rows,
                    grid: Optional[tuple[int, int]]) -> Sheet:
        n_rows = max(grid[0] if grid else DEFAULT_ROWS, len(rows))
        n_cols = max(grid[1] if grid else DEFAULT_COLS, max((len(r) for r in rows), default=0))
        sheet = Sheet({"sheetId": self._new_sheet_id(ss) if sheet_id is None else sheet_id, "title": title,
                       "index": len(ss.sheets), "sheetType": "GRID",
                       "gridProperties": {"rowCount": n_rows, "columnCount": n_cols}})
        ss.sheets.append(sheet)
        return sheet

    @staticmethod
    def _default_props(locale: str = "en_US", time_zone: str = "Etc/GMT") -> dict[str, Any]:
        return {"locale": locale, "autoRecalc": "ON_CHANGE", "timeZone": time_zone,
                "defaultFormat": copy.deepcopy(_DEFAULT_FORMAT), "spreadsheetTheme": copy.deepcopy(_THEME)}

    def _add_file(self, f: DriveFile) -> None:
        self._files[f.id] = f
        self._file_order[f.id] = next(self._order)

    def _fill(self, sheet: Sheet, r0: int, c0: int, rows: Rows, value_input: str, locale: str,
              date_pattern: str = "yyyy-mm-dd", datetime_pattern: str = "yyyy-mm-dd hh:mm:ss") -> None:
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dt.datetime):
                    sheet.set_value(r0 + r, c0 + c, "n", to_serial(value),
                                    {"type": "DATE_TIME", "pattern": datetime_pattern})
                elif isinstance(value, dt.date):
                    sheet.set_value(r0 + r, c0 + c, "n", to_serial(value), {"type": "DATE", "pattern": date_pattern})
                else:
                    kind, val, nf = _typed(value, value_input, locale)
                    sheet.set_value(r0 + r, c0 + c, kind, val, nf)

    # ----------------------------------------------------------------- test helpers: staff actions

    def staff_edit(self, sid: str, tab: str, row: int, col: int, value: Any, *,
                   value_input: str = "USER_ENTERED") -> None:
        """A person types ``value`` into (row, col), 1-based; bumps modifiedTime.

        Typed like the Sheets UI (``USER_ENTERED``: "12" becomes a number, "=A1" a formula); use
        ``value_input="RAW"`` to store text as-is. ``None`` or ``""`` empties the cell. The grid
        grows if needed, as a person would add rows.
        """
        self.staff_write(sid, tab, row, col, [[value]], value_input=value_input)

    def staff_write(self, sid: str, tab: str, row: int, col: int, rows: Rows, *,
                    value_input: str = "USER_ENTERED") -> None:
        """A person pastes ``rows`` with its top-left at (row, col), 1-based; bumps modifiedTime."""
        with self._lock:
            f = self._sheet_file(sid)
            sheet = self._tab(f, tab)
            self._grow(sheet, row - 1 + len(rows), col - 1 + max((len(r) for r in rows), default=0))
            for r, vals in enumerate(rows):
                for c, value in enumerate(vals):
                    if value is None or value == "":
                        old = sheet.get(row - 1 + r, col - 1 + c)
                        sheet.put(row - 1 + r, col - 1 + c, Cell(None, None, old.fmt, old.note))
                    else:
                        self._fill(sheet, row - 1 + r, col - 1 + c, [[value]], value_input,
                                   f.spreadsheet.props["locale"])  # type: ignore[union-attr]
            f.modified_ms = self._tick()

    def append_row(self, sid: str, tab: str, values: Sequence[Any], *, value_input: str = "USER_ENTERED") -> int:
        """A new row after the last row holding data (like a Form response); returns its 1-based number."""
        with self._lock:
            f = self._sheet_file(sid)
            sheet = self._tab(f, tab)
            row = sheet.data_extent()[0] + 1
        self.staff_write(sid, tab, row, 1, [list(values)], value_input=value_input)
        return row

    def delete_tab(self, sid: str, tab: str) -> None:
        """A person deletes a tab; bumps modifiedTime."""
        with self._lock:
            f = self._sheet_file(sid)
            sheet = self._tab(f, tab)
            f.spreadsheet.sheets.remove(sheet)  # type: ignore[union-attr]
            f.spreadsheet.reindex()  # type: ignore[union-attr]
            f.modified_ms = self._tick()

    def rename_tab(self, sid: str, tab: str, new_title: str) -> None:
        """A person renames a tab; bumps modifiedTime."""
        with self._lock:
            f = self._sheet_file(sid)
            self._tab(f, tab).props["title"] = new_title
            f.modified_ms = self._tick()

    def rename(self, sid: str, title: str) -> None:
        """A person renames the spreadsheet (file); bumps modifiedTime."""
        with self._lock:
            f = self._file(sid)
            f.name = title
            f.modified_ms = self._tick()

    def delete(self, sid: str) -> None:
        """The file is gone for good (later requests get 404)."""
        with self._lock:
            self._files.pop(sid, None)

    def trash(self, sid: str, trashed: bool = True) -> None:
        """Move the file to (or out of) the trash; ``trashed=false`` queries then skip it."""
        with self._lock:
            f = self._file(sid)
            f.trashed = trashed
            f.modified_ms = self._tick()

    def put_values(self, sid: str, tab: str, rows: Rows, *, value_input: str = "RAW") -> None:
        """Staff replace a tab's values with ``rows`` (formats and notes stay); bumps modifiedTime.

        Values are stored as given (``RAW``: text stays text, ``"=1+1"`` included) unless
        ``value_input="USER_ENTERED"``; dates become serials with a date format. The grid grows
        to fit but never shrinks.
        """
        with self._lock:
            f = self._sheet_file(sid)
            sheet = self._tab(f, tab)
            for pos, cell in list(sheet.cells.items()):
                if cell.has_value:
                    sheet.put(*pos, Cell(None, None, cell.fmt, cell.note))
            self._grow(sheet, len(rows), max((len(r) for r in rows), default=0))
            self._fill(sheet, 0, 0, rows, value_input, f.spreadsheet.props["locale"])  # type: ignore[union-attr]
            f.modified_ms = self._tick()

    def forbid(self, sid: str, forbidden: bool = True) -> None:
        """Every request about this file answers 403 (until ``forbid(sid, False)``)."""
        with self._lock:
            self._file(sid).forbidden = forbidden

    def fail(self, sid: str, status: Optional[int] = 500) -> None:
        """Every request about this file answers ``status`` (None ends it)."""
        with self._lock:
            self._file(sid).fault = status

    fail_always = fail  # the name the backend's tests use

    def share(self, file_id: str, email: Optional[str], role: str = "writer") -> None:
        """Give ``email`` a role (``reader``/``writer``/``owner``) on a file or folder; ``email`` None is the
        anonymous caller (devplan's own account when it runs against the fake without a key).

        Sharing a spreadsheet that was open to everybody makes it private to those shared with.
        """
        with self._lock:
            f = self._file(file_id)
            if f.shared_with is None:
                f.shared_with = {}
            f.shared_with[email or ""] = role

    def move(self, file_id: str, folder: str) -> None:
        """Move a file into another folder (out of every folder it was in), as a person does in Drive."""
        with self._lock:
            f = self._file(file_id)
            f.parents = [folder]
            f.modified_ms = self._tick()

    def unshare(self, file_id: str, email: str) -> None:
        """Take ``email``'s access away."""
        with self._lock:
            f = self._file(file_id)
            if f.shared_with is not None:
                f.shared_with.pop(email, None)

    def set_shared_drive(self, folder_id: str, shared_drive: bool = True) -> None:
        """Make a folder part of a shared drive (or My Drive)."""
        with self._lock:
            self._file(folder_id).shared_drive = shared_drive

    # ----------------------------------------------------------------- test helpers: inspection

    def values(self, sid: str, tab: str, *, render: str = "UNFORMATTED_VALUE",
               date_time: str = "SERIAL_NUMBER") -> list[list[Any]]:
        """The tab's values as the API would return them for the whole tab (trimmed)."""
        with self._lock:
            sheet = self._tab(self._sheet_file(sid), tab)
            return _grid_values(sheet, 0, sheet.rows, 0, sheet.cols, render, date_time)

    def cell(self, sid: str, tab: str, a1: str) -> dict[str, Any]:
        """One cell: ``{"value", "formula", "formatted", "format", "note"}`` (value unformatted)."""
        with self._lock:
            sheet = self._tab(self._sheet_file(sid), tab)
            r, _, c, _ = _parse_a1(a1) or (None, None, None, None)
            if r is None:
                raise ValueError(a1)
            cell = sheet.get(r, c)
            return {"value": _render(cell, "UNFORMATTED_VALUE", "SERIAL_NUMBER"),
                    "formula": cell.value if cell.kind == "f" else None,
                    "formatted": _render(cell, "FORMATTED_VALUE", "FORMATTED_STRING"),
                    "format": copy.deepcopy(cell.fmt), "note": cell.note}

    def tab_names(self, sid: str) -> list[str]:
        """Tab titles in order."""
        with self._lock:
            return [s.title for s in self._sheet_file(sid).spreadsheet.sheets]  # type: ignore[union-attr]

    def sheet(self, sid: str, tab: str) -> dict[str, Any]:
        """Everything stored about a tab, for assertions.

        Keys: ``properties`` (sheetId, title, index, gridProperties...), ``columnWidths`` and
        ``rowHeights`` ({index: pixels}), ``dimensions`` ({"COLUMNS"/"ROWS": {index: props}}),
        ``conditionalFormats`` (rules as received, in order), ``dataValidations`` (``{"range",
        "rule"}`` as received), ``formats`` ({A1: userEnteredFormat}), ``notes`` ({A1: text}),
        ``merges``, ``basicFilter``, ``otherRequests`` (stored-only requests such as autoResize).
        """
        with self._lock:
            sheet = self._tab(self._sheet_file(sid), tab)
            return {
                "properties": copy.deepcopy(sheet.props),
                "columnWidths": {i: m["pixelSize"] for i, m in sorted(sheet.col_meta.items()) if "pixelSize" in m},
                "rowHeights": {i: m["pixelSize"] for i, m in sorted(sheet.row_meta.items()) if "pixelSize" in m},
                "dimensions": {"COLUMNS": copy.deepcopy(sheet.col_meta), "ROWS": copy.deepcopy(sheet.row_meta)},
                "conditionalFormats": copy.deepcopy(sheet.conditional_formats),
                "dataValidations": copy.deepcopy(sheet.data_validations),
                "formats": {a1_cell(r, c): copy.deepcopy(cell.fmt) for (r, c), cell in sorted(sheet.cells.items())
                            if cell.fmt},
                "notes": {a1_cell(r, c): cell.note for (r, c), cell in sorted(sheet.cells.items())
                          if cell.note is not None},
                "merges": copy.deepcopy(sheet.merges),
                "basicFilter": copy.deepcopy(sheet.basic_filter),
                "otherRequests": copy.deepcopy(sheet.other_requests),
            }

    def developer_metadata(self, sid: str, tab: str) -> list[dict[str, Any]]:
        """The developer metadata located on a tab."""
        with self._lock:
            return copy.deepcopy(self._tab(self._sheet_file(sid), tab).developer_metadata)

    def spreadsheet_properties(self, sid: str) -> dict[str, Any]:
        """Title, locale, timeZone... of a spreadsheet."""
        with self._lock:
            f = self._sheet_file(sid)
            props = {"title": f.name, **copy.deepcopy(f.spreadsheet.props)}  # type: ignore[union-attr]
            return props

    def modified_time(self, file_id: str) -> str:
        """The file's modifiedTime as Drive gives it (RFC 3339, milliseconds, ``Z``)."""
        with self._lock:
            return self._rfc3339(self._file(file_id).modified_ms)

    def find(self, title: str) -> list[str]:
        """Ids of the spreadsheets with this title, oldest first."""
        with self._lock:
            return [f.id for f in self._sorted_files() if f.name == title and f.mime_type == SPREADSHEET_MIME]

    def find_in(self, folder: str, title: str) -> list[str]:
        """Ids of the spreadsheets with this title directly in ``folder``, oldest first."""
        with self._lock:
            return [f.id for f in self._sorted_files()
                    if f.name == title and f.mime_type == SPREADSHEET_MIME and folder in f.parents]

    def files(self, folder: Optional[str] = None) -> list[dict[str, Any]]:
        """Drive's view of every file (or a folder's), as ``files.get`` with ``fields=*`` would give."""
        with self._lock:
            return [self._file_json(f) for f in self._sorted_files() if folder is None or folder in f.parents]

    def requests(self, api: Optional[str] = None, kind: Optional[str] = None,
                 spreadsheet: Optional[str] = None, method: Optional[str] = None) -> list[LoggedRequest]:
        """The request log, filtered."""
        with self._lock:
            return [r for r in self._log
                    if (api is None or r.api == api) and (kind is None or r.kind == kind)
                    and (spreadsheet is None or r.spreadsheet == spreadsheet)
                    and (method is None or r.method == method.upper())]

    def clear_log(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self._log.clear()

    # ----------------------------------------------------------------- lookup helpers

    def _sorted_files(self) -> list[DriveFile]:
        return sorted(self._files.values(), key=lambda f: self._file_order[f.id])

    def _file(self, file_id: str) -> DriveFile:
        try:
            return self._files[file_id]
        except KeyError:
            raise KeyError(f"no file {file_id!r}") from None

    def _sheet_file(self, sid: str) -> DriveFile:
        f = self._file(sid)
        if f.spreadsheet is None:
            raise KeyError(f"{sid!r} is not a spreadsheet")
        return f

    @staticmethod
    def _tab(f: DriveFile, tab: str) -> Sheet:
        sheet = f.spreadsheet.by_title(tab) if f.spreadsheet else None
        if sheet is None:
            raise KeyError(f"no tab {tab!r}")
        return sheet

    @staticmethod
    def _grow(sheet: Sheet, rows: int, cols: int) -> None:
        grid = sheet.props["gridProperties"]
        grid["rowCount"] = max(grid["rowCount"], rows)
        grid["columnCount"] = max(grid["columnCount"], cols)

    def _role(self, f: DriveFile, user: Optional[str]) -> int:
        """0 none, 1 reader, 2 writer, 3 owner for this user on this file (folders pass roles down)."""
        if f.shared_with is None:
            return 3
        best = _ROLE_RANK.get(f.shared_with.get(user or "", ""), 0)
        seen = set()
        parents = list(f.parents)
        while parents:
            pid = parents.pop()
            if pid in seen or pid not in self._files:
                continue
            seen.add(pid)
            parent = self._files[pid]
            if parent.shared_with:
                best = max(best, _ROLE_RANK.get(parent.shared_with.get(user or "", ""), 0))
            parents.extend(parent.parents)
        return best

    def _in_shared_drive(self, f: DriveFile) -> bool:
        return f.shared_drive or any(p in self._files and self._in_shared_drive(self._files[p]) for p in f.parents)

    # ----------------------------------------------------------------- HTTP handling

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        started = time.time()
        split = urlsplit(h.path)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        auth = h.headers.get("Authorization")
        method = h.command.upper()
        api = ("sheets" if path.startswith("/v4/spreadsheets") else
               "drive" if path.startswith("/drive/v3/") else "token" if path == "/token" else "other")
        kind = "read" if method == "GET" else "write"
        sid = _spreadsheet_of(path)
        token = auth[7:].strip() if auth and auth.lower().startswith("bearer ") else None
        user = self.token_email(token) if token else None
        body: Any = None
        fault_note: Optional[str] = None
        headers: dict[str, str] = {}
        try:
            if api == "token" and self.token_mode == "unreachable":
                # dropped without an answer, as a token endpoint the network cannot reach
                with self._lock:
                    self._log.append(LoggedRequest(method, unquote(path), query, None, 0, api, kind, None, auth,
                                                   None, started, None, "unreachable"))
                h.close_connection = True
                h.connection.shutdown(2)
                return
            if self.faults.hold(api, sid):
                fault_note = "hang"
            if self.faults.tick is not None and api in self.faults.apis:
                self.faults.tick()
            status_fault, delay = self.faults.draw(api)
            if delay:
                fault_note = "slow"
                time.sleep(delay)
            if status_fault is not None:
                fault_note = "fault"
                raise self._fault_error(status_fault)
            if api == "token":
                status, payload = self._token(method, raw, h.headers.get("Content-Type", ""))
            else:
                if raw and "json" in (h.headers.get("Content-Type") or "json"):
                    try:
                        body = json.loads(raw.decode("utf-8"))
                    except (ValueError, UnicodeDecodeError):
                        body = raw.decode("utf-8", "replace")
                        raise _bad_json(body) from None
                self._check_auth(api, token, user)
                if api == "sheets":
                    if not self.quota.take(user or "anonymous", kind, self.quota.clock()):
                        fault_note = "quota"
                        raise self.quota.error(kind)
                    status, payload = self._sheets(method, path, query, body, user)
                elif api == "drive":
                    status, payload = self._drive(method, path, query, body, user)
                else:
                    raise sheets_error(404, "Not Found")
            if status < 400 and self.faults.lose(api, method, unquote(path), body):
                fault_note = "lost"  # done, but the caller never hears so
                raise self._fault_error(503)
        except ApiError as err:
            status, payload, headers = err.status, err.body, err.headers
        except Exception as err:  # a bug in the fake: answer 500 and keep it for the test to see
            with self._lock:
                self.bugs.append(f"{method} {h.path}: {err!r}")
            fault_note = "bug"
            status, payload = 500, {"error": {"code": 500, "message": f"fake_google bug: {err!r}",
                                              "status": "INTERNAL"}}
        if body is None and raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                body = raw.decode("utf-8", "replace")
        with self._lock:
            self._log.append(LoggedRequest(method, unquote(path), query, body, status, api, kind, sid, auth,
                                           user, started, payload, fault_note))
        data = b"" if payload is None else json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
        h.send_response(status)
        if payload is not None:
            h.send_header("Content-Type", "application/json; charset=UTF-8")
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if data and method != "HEAD":
            h.wfile.write(data)

    def _fault_error(self, status: int) -> ApiError:
        headers = {}
        if status == 429 and self.faults.retry_after is not None:
            ra = self.faults.retry_after
            headers["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
        if status == 403:
            return sheets_error(403)
        return sheets_error(status, headers=headers)

    def _check_auth(self, api: str, token: Optional[str], user: Optional[str]) -> None:
        if not self.require_auth:
            return
        if token is None:
            raise sheets_error(403, "The request is missing a valid API key.")
        if user is None:
            raise sheets_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                                    "token, login cookie or other valid authentication credential. See "
                                    "https://developers.google.com/identity/sign-in/web/devconsole-project.")

    # ----------------------------------------------------------------- token endpoint

    def _token(self, method: str, raw: bytes, content_type: str) -> tuple[int, Any]:
        """OAuth2 JWT-bearer grant: decode (not verify) the assertion and issue a token for its email."""
        if method != "POST":
            raise ApiError(405, {"error": "invalid_request", "error_description": "POST only"})
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
        if form.get("grant_type") != JWT_BEARER or "assertion" not in form:
            raise ApiError(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: "
                                 + form.get("grant_type", "")})
        try:
            header_b64, payload_b64 = form["assertion"].split(".")[:2]
            header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
            claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
        except (IndexError, ValueError, binascii.Error):
            raise ApiError(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}) from None
        email = claims.get("sub") or claims.get("iss")
        if not email:
            raise ApiError(400, {"error": "invalid_grant", "error_description": "Invalid JWT: no issuer."})
        # Google's answers for a deleted key, and for a machine whose clock is off by more than a few minutes
        if self.token_mode == "invalid_grant" or header.get("kid") in self.revoked_keys:
            raise ApiError(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        now = self._now()
        iat, exp = claims.get("iat", 0), claims.get("exp", 0)
        if not (isinstance(iat, (int, float)) and isinstance(exp, (int, float))) or exp - iat > 3600 \
                or iat > now + 300 or exp < now - 300:
            raise ApiError(400, {"error": "invalid_grant", "error_description":
                                 "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                                 "timeframe. Check your iat and exp values in the JWT claim."})
        token = f"ya29.fake-{next(self._token_counter)}-{hashlib.sha1(email.encode()).hexdigest()[:8]}"
        self.add_token(token, email)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    # ----------------------------------------------------------------- Drive

    def _drive(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               user: Optional[str]) -> tuple[int, Any]:
        rest = path[len("/drive/v3/"):]
        parts = [unquote(p) for p in rest.split("/")]
        if parts[0] != "files":
            raise drive_error(404, "Not Found", "notFound")
        fields = _q1(query, "fields")
        with self._lock:
            if len(parts) == 1:
                if method == "GET":
                    return 200, self._drive_list(query, user)
                if method == "POST":
                    return 200, self._drive_create(body, fields, user, _all_drives(query))
            elif len(parts) == 2:
                f = self._drive_visible(parts[1], user, _all_drives(query))
                if method == "GET":
                    data = self._file_json(f, user)
                    return 200, apply_fields(data, parse_fields(fields)) if fields else _drive_default(data)
                if method == "DELETE":
                    if self._role(f, user) < 3 and not (self._role(f, user) >= 2 and self._in_shared_drive(f)):
                        raise drive_error(403, "The user does not have sufficient permissions for file "
                                               f"{f.id}.", "insufficientFilePermissions")
                    del self._files[f.id]
                    return 204, None
                if method == "PATCH":
                    if self._role(f, user) < 2:
                        raise drive_error(403, "The user does not have sufficient permissions for file "
                                               f"{f.id}.", "insufficientFilePermissions")
                    if isinstance(body, dict):
                        if "name" in body:
                            f.name = str(body["name"])
                        if "trashed" in body:
                            f.trashed = bool(body["trashed"])
                    add, remove = _q1(query, "addParents"), _q1(query, "removeParents")
                    if remove:
                        f.parents = [p for p in f.parents if p not in remove.split(",")]
                    if add:
                        f.parents += [p for p in add.split(",") if p not in f.parents]
                    f.modified_ms = self._tick()
                    data = self._file_json(f, user)
                    return 200, apply_fields(data, parse_fields(fields)) if fields else _drive_default(data)
            elif len(parts) == 3 and parts[2] == "permissions" and method == "GET":
                f = self._drive_visible(parts[1], user, _all_drives(query))
                perms = []
                if f.shared_with is None:
                    perms.append({"kind": "drive#permission", "id": "anyoneWithLink", "type": "anyone",
                                  "role": "writer"})
                else:
                    for email, role in f.shared_with.items():
                        perms.append({"kind": "drive#permission", "id": hashlib.sha1(email.encode()).hexdigest()[:20],
                                      "type": "user", "emailAddress": email, "role": role})
                return 200, {"kind": "drive#permissionList", "permissions": perms}
        raise drive_error(404, "Not Found", "notFound")

    def _drive_visible(self, file_id: str, user: Optional[str], all_drives: bool) -> DriveFile:
        """The file if this user may see it; Drive answers 404 for files one cannot see, and for
        shared-drive files unless the request says ``supportsAllDrives=true``."""
        f = self._files.get(file_id)
        if f is None or (self._role(f, user) == 0 and not f.forbidden) or (
                self._in_shared_drive(f) and not all_drives):
            raise drive_error(404, f"File not found: {file_id}.", "notFound", location="fileId")
        if f.forbidden:
            raise drive_error(403, f"The user does not have sufficient permissions for file {file_id}.",
                              "insufficientFilePermissions")
        if f.fault is not None:
            raise self._fault_error(f.fault)
        return f

    def _file_json(self, f: DriveFile, user: Optional[str] = None) -> dict[str, Any]:
        """A Drive file resource; ``capabilities`` are the caller's (``user``) on that file."""
        data: dict[str, Any] = {"kind": "drive#file", "id": f.id, "name": f.name, "mimeType": f.mime_type,
                                "parents": list(f.parents), "trashed": f.trashed,
                                "createdTime": self._rfc3339(f.created_ms), "modifiedTime": self._rfc3339(f.modified_ms)}
        role = 0 if f.forbidden else self._role(f, user)
        data["capabilities"] = {
            "canEdit": role >= 2, "canAddChildren": f.mime_type == FOLDER_MIME and role >= 2,
            "canShare": role >= 2, "canReadRevisions": role >= 1,
        }
        if self._in_shared_drive(f):
            root = f
            while root.parents and root.parents[0] in self._files:
                root = self._files[root.parents[0]]
            data["driveId"] = root.id
        if f.mime_type == SPREADSHEET_MIME:
            data["webViewLink"] = f"https://docs.google.com/spreadsheets/d/{f.id}/edit?usp=drivesdk"
        return data

    def _drive_create(self, body: Any, fields: Optional[str], user: Optional[str], all_drives: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            body = {}
        mime = body.get("mimeType", "application/octet-stream")
        if mime not in (SPREADSHEET_MIME, FOLDER_MIME):
            raise drive_error(400, f"The fake only creates spreadsheets and folders, not {mime}.", "badRequest")
        parents = list(body.get("parents") or [])
        for pid in parents:
            parent = self._files.get(pid)
            if parent is None or parent.mime_type != FOLDER_MIME or (self._in_shared_drive(parent) and not all_drives):
                raise drive_error(404, f"File not found: {pid}.", "notFound", location="fileId")
        shared_drive = any(self._in_shared_drive(self._files[p]) for p in parents)
        # An anonymous caller stands for devplan's own service account (the emulator mode, no key).
        is_service_account = user is None or user.endswith("gserviceaccount.com")
        if is_service_account and not shared_drive and not self.service_accounts_have_quota:
            raise drive_error(403, "The user's Drive storage quota has been exceeded.", "storageQuotaExceeded",
                              domain="usageLimits")
        ms = self._tick()
        fid = self._new_id(44 if mime == SPREADSHEET_MIME else 33)
        name = str(body.get("name") or ("Untitled spreadsheet" if mime == SPREADSHEET_MIME else "Untitled folder"))
        f = DriveFile(fid, name, mime, parents, ms, ms, shared_with=None if user is None else {user: "owner"},
                      shared_drive=False)
        if mime == SPREADSHEET_MIME:
            ss = Spreadsheet(self._default_props(), [])
            self._make_sheet(ss, "Sheet1", 0, [], None)
            f.spreadsheet = ss
        else:
            f.shared_with = {} if user is None else {user: "owner"}
        self._add_file(f)
        data = self._file_json(f, user)
        return apply_fields(data, parse_fields(fields)) if fields else _drive_default(data)

    def _drive_list(self, query: dict[str, list[str]], user: Optional[str]) -> dict[str, Any]:
        q = _q1(query, "q") or ""
        predicate = parse_drive_query(q)
        page_size_text = _q1(query, "pageSize")
        page_size = 100
        if page_size_text is not None:
            try:
                page_size = int(page_size_text)
            except ValueError:
                page_size = -1
            if not 1 <= page_size <= 1000:
                raise drive_error(400, f"Invalid value '{page_size_text}'. Values must be within the range: [1, 1000]",
                                  "invalid", location="pageSize")
        order = _q1(query, "orderBy")
        # shared-drive files are listed only when both flags say the caller handles shared drives
        all_drives = _all_drives(query) and (_q1(query, "includeItemsFromAllDrives") or "").lower() == "true"
        # a forbidden file stays listed (it is in the folder); requests about it answer 403
        files = [f for f in self._sorted_files() if (self._role(f, user) > 0 or f.forbidden)
                 and (all_drives or not self._in_shared_drive(f)) and predicate(self._file_json(f))]
        if order:
            for key in reversed([k.strip() for k in order.split(",") if k.strip()]):
                name, _, direction = key.partition(" ")
                attr = {"name": lambda f: f.name.casefold(), "modifiedTime": lambda f: f.modified_ms,
                        "createdTime": lambda f: f.created_ms}.get(name)
                if attr is None:
                    raise drive_error(400, "Invalid Value", "invalid", location="orderBy")
                files.sort(key=attr, reverse=direction.strip().lower() == "desc")
        offset = 0
        token = _q1(query, "pageToken")
        digest = hashlib.sha1(f"{q}|{order}".encode()).hexdigest()[:10]
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
                offset = int(decoded["o"])
                if decoded["q"] != digest:
                    raise ValueError
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise drive_error(400, "Invalid Value", "invalid", location="pageToken") from None
        page = files[offset: offset + page_size]
        out: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False,
                               "files": [self._file_json(f, user) for f in page]}
        if offset + page_size < len(files):
            out["nextPageToken"] = base64.urlsafe_b64encode(
                json.dumps({"o": offset + page_size, "q": digest}).encode()).decode()
        fields = _q1(query, "fields")
        if fields:
            return apply_fields(out, parse_fields(fields))
        out["files"] = [_drive_default(f) for f in out["files"]]
        return out

    # ----------------------------------------------------------------- Sheets

    def _sheets(self, method: str, path: str, query: dict[str, list[str]], body: Any,
                user: Optional[str]) -> tuple[int, Any]:
        m = re.match(r"^/v4/spreadsheets/([^/:]+)(.*)$", path)
        if not m:
            raise sheets_error(404)
        sid, rest = unquote(m.group(1)), m.group(2)
        with self._lock:
            f = self._files.get(sid)
            if f is None or f.spreadsheet is None:
                raise sheets_error(404)
            if f.fault is not None:
                raise self._fault_error(f.fault)
            role = self._role(f, user)
            if f.forbidden or role == 0:
                raise sheets_error(403)
            write = method != "GET"
            if write and role < 2:
                raise sheets_error(403)
            ss = f.spreadsheet
            if method == "GET" and rest == "":
                return 200, self._get_spreadsheet(f, query)
            if method == "GET" and rest == "/values:batchGet":
                ranges = query.get("ranges", [])
                return 200, {"spreadsheetId": sid, "valueRanges": [
                    self._read_range(ss, r, query) for r in ranges]}
            vm = re.match(r"^/values/(.+?)(:append|:clear)?$", rest)
            if method == "GET" and vm and not vm.group(2):
                return 200, self._read_range(ss, unquote(vm.group(1)), query)
            if not write:
                raise sheets_error(404)
            # writes: work on a copy, swap it in only when everything succeeded (atomic)
            work = ss.clone()
            if method == "POST" and rest == ":batchUpdate":
                result = self._batch_update(sid, work, body, f)
            elif method == "POST" and rest == "/values:batchUpdate":
                result = self._values_batch_update(sid, work, body)
            elif method == "POST" and rest == "/values:batchClear":
                ranges = (body or {}).get("ranges", []) if isinstance(body, dict) else []
                cleared = [self._clear(work, r) for r in ranges]
                result = {"spreadsheetId": sid, "clearedRanges": cleared}
            elif method == "POST" and vm and vm.group(2) == ":clear":
                result = {"spreadsheetId": sid, "clearedRange": self._clear(work, unquote(vm.group(1)))}
            elif method == "POST" and vm and vm.group(2) == ":append":
                result = self._append(sid, work, unquote(vm.group(1)), query, body)
            elif method == "PUT" and vm and not vm.group(2):
                result = self._values_update(sid, work, unquote(vm.group(1)), query, body)
            else:
                raise sheets_error(404)
            if "_title" in work.props:
                f.name = work.props.pop("_title")
            f.spreadsheet = work
            f.modified_ms = self._tick()
            return 200, result

    # ---- metadata

    def _get_spreadsheet(self, f: DriveFile, query: dict[str, list[str]]) -> dict[str, Any]:
        ss = f.spreadsheet
        assert ss is not None
        fields = _q1(query, "fields")
        include = (_q1(query, "includeGridData") or "false").lower() == "true" or bool(fields and "data" in fields)
        ranges = query.get("ranges", [])
        wanted: dict[int, list[GridSpan]] = {}
        for text in ranges:
            span = self._span(ss, text)
            wanted.setdefault(span.sheet.sheet_id, []).append(span)
        sheets_out = []
        for sheet in ss.sheets:
            if ranges and sheet.sheet_id not in wanted:
                continue
            entry: dict[str, Any] = {"properties": copy.deepcopy(sheet.props)}
            if sheet.merges:
                entry["merges"] = copy.deepcopy(sheet.merges)
            if sheet.conditional_formats:
                entry["conditionalFormats"] = copy.deepcopy(sheet.conditional_formats)
            if sheet.basic_filter:
                entry["basicFilter"] = copy.deepcopy(sheet.basic_filter)
            if sheet.developer_metadata:
                entry["developerMetadata"] = copy.deepcopy(sheet.developer_metadata)
            if include:
                spans = wanted.get(sheet.sheet_id) or [GridSpan(sheet, 0, None, 0, None, "")]
                entry["data"] = [_grid_data(s) for s in spans]
            sheets_out.append(entry)
        out = {"spreadsheetId": f.id, "properties": {"title": f.name, **copy.deepcopy(ss.props)},
               "sheets": sheets_out, "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{f.id}/edit"}
        return apply_fields(out, parse_fields(fields)) if fields else out

    # ---- ranges

    def _span(self, ss: Spreadsheet, text: str, prefix: str = "") -> GridSpan:
        """Resolve a range text to a span on one sheet, or 400 ``Unable to parse range``."""
        try:
            name, a1 = split_range(text)
        except ApiError:
            raise bad_request(f"{prefix}Unable to parse range: {text}") from None
        if a1 is None:
            sheet = ss.by_title(name or "")
            if sheet is not None:
                return GridSpan(sheet, 0, None, 0, None, "")
            parsed = _parse_a1(name or "")
            if parsed is None or not ss.sheets:
                raise bad_request(f"{prefix}Unable to parse range: {text}")
            return GridSpan(ss.sheets[0], *parsed, name or "")
        sheet = ss.by_title(name) if name is not None else None
        parsed = _parse_a1(a1)
        if sheet is None or parsed is None:
            raise bad_request(f"{prefix}Unable to parse range: {text}")
        return GridSpan(sheet, *parsed, a1)

    def _read_range(self, ss: Spreadsheet, text: str, query: dict[str, list[str]]) -> dict[str, Any]:
        span = self._span(ss, text)
        sheet = span.sheet
        if span.r0 >= sheet.rows or span.c0 >= sheet.cols:
            span.check_inside()
        r0, r1, c0, c1 = span.resolved()
        r1, c1 = min(r1, sheet.rows), min(c1, sheet.cols)
        render = _q1(query, "valueRenderOption") or "FORMATTED_VALUE"
        date_time = _q1(query, "dateTimeRenderOption") or "SERIAL_NUMBER"
        major = _q1(query, "majorDimension") or "ROWS"
        _check_enum("valueRenderOption", render, ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"))
        _check_enum("dateTimeRenderOption", date_time, ("SERIAL_NUMBER", "FORMATTED_STRING"))
        _check_enum("majorDimension", major, ("ROWS", "COLUMNS", "DIMENSION_UNSPECIFIED"))
        values = _grid_values(sheet, r0, r1, c0, c1, render, date_time, columns=major == "COLUMNS")
        out: dict[str, Any] = {"range": _range_text(sheet, r0, r1, c0, c1),
                               "majorDimension": "COLUMNS" if major == "COLUMNS" else "ROWS"}
        if values:
            out["values"] = values
        return out

    def _clear(self, ss: Spreadsheet, text: str) -> str:
        span = self._span(ss, text)
        sheet = span.sheet
        if span.r0 >= sheet.rows or span.c0 >= sheet.cols:
            span.check_inside()
        r0, r1, c0, c1 = span.resolved()
        r1, c1 = min(r1, sheet.rows), min(c1, sheet.cols)
        for (r, c), cell in list(sheet.cells.items()):
            if r0 <= r < r1 and c0 <= c < c1 and cell.has_value:
                sheet.put(r, c, Cell(None, None, cell.fmt, cell.note))
        return _range_text(sheet, r0, r1, c0, c1)

    # ---- value writes

    def _write_values(self, ss: Spreadsheet, sid: str, text: str, values: Any, value_input: Optional[str],
                      major: Optional[str], prefix: str = "") -> dict[str, Any]:
        if value_input not in ("RAW", "USER_ENTERED"):
            raise bad_request("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED" if value_input is None
                              else f"Invalid value at 'value_input_option' (type.googleapis.com/"
                                   f"google.apps.sheets.v4.ValueInputOption), \"{value_input}\"")
        span = self._span(ss, text, prefix)
        sheet = span.sheet
        rows = _matrix(values, major)
        height = len(rows)
        width = max((len(r) for r in rows), default=0)
        single = span.r1 == span.r0 + 1 and span.c1 == span.c0 + 1 and ":" not in span.text
        if not single and span.text:
            # a closed range must hold the data: Google refuses to write past it
            if span.r1 is not None and span.r0 + height > span.r1:
                raise bad_request(f"{prefix}Requested writing within range [{text}], but tried writing to row "
                                  f"[{span.r0 + height}]")
            if span.c1 is not None and span.c0 + width > span.c1:
                raise bad_request(f"{prefix}Requested writing within range [{text}], but tried writing to column "
                                  f"[{col_letters(span.c0 + width - 1)}]")
        if height and width:
            GridSpan(sheet, span.r0, span.r0 + height, span.c0, span.c0 + width,
                     span.text or a1_cell(span.r0, span.c0)).check_inside(prefix)
        else:
            GridSpan(sheet, span.r0, span.r0 + 1, span.c0, span.c0 + 1, span.text or "A1").check_inside(prefix)
        locale = ss.props.get("locale", "en_US")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue  # Google skips nulls: the cell keeps what it had
                kind, val, nf = _typed(value, value_input, locale)
                sheet.set_value(span.r0 + r, span.c0 + c, kind, val, nf)
        cells = sum(len(r) for r in rows)  # Google counts every cell sent, empty strings included
        result: dict[str, Any] = {"spreadsheetId": sid}
        if height and width:
            result.update({"updatedRange": _range_text(sheet, span.r0, span.r0 + height, span.c0, span.c0 + width),
                           "updatedRows": height, "updatedColumns": width, "updatedCells": cells})
        else:
            result["updatedRange"] = _range_text(sheet, span.r0, span.r0 + 1, span.c0, span.c0 + 1)
        return result

    def _values_update(self, sid: str, ss: Spreadsheet, text: str, query: dict[str, list[str]],
                       body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        result = self._write_values(ss, sid, text, body.get("values", []), _q1(query, "valueInputOption"),
                                    body.get("majorDimension"))
        if (_q1(query, "includeValuesInResponse") or "false").lower() == "true":
            result["updatedData"] = self._read_range(ss, result["updatedRange"], query_for_response(query))
        return result

    def _values_batch_update(self, sid: str, ss: Spreadsheet, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        value_input = body.get("valueInputOption")
        responses = []
        for i, item in enumerate(body.get("data", [])):
            responses.append(self._write_values(ss, sid, item.get("range", ""), item.get("values", []), value_input,
                                                item.get("majorDimension"), prefix=f"Invalid data[{i}]: "))
        if not body.get("data"):
            if value_input not in ("RAW", "USER_ENTERED"):
                raise bad_request("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
            return {"spreadsheetId": sid}
        sheets_touched = {r["updatedRange"].rsplit("!", 1)[0] for r in responses if "updatedRows" in r}
        out: dict[str, Any] = {"spreadsheetId": sid}
        total_rows = sum(r.get("updatedRows", 0) for r in responses)
        if total_rows:
            out.update({"totalUpdatedRows": total_rows,
                        "totalUpdatedColumns": max(r.get("updatedColumns", 0) for r in responses),
                        "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
                        "totalUpdatedSheets": len(sheets_touched)})
        out["responses"] = responses
        return out

    def _append(self, sid: str, ss: Spreadsheet, text: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        value_input = _q1(query, "valueInputOption")
        if value_input not in ("RAW", "USER_ENTERED"):
            raise bad_request("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        span = self._span(ss, text)
        sheet = span.sheet
        r0, r1, c0, c1 = span.resolved()
        rows = _matrix(body.get("values", []), body.get("majorDimension"))
        width = max((len(r) for r in rows), default=0)
        # the "table": rows holding data in the range's columns, from the range's first row on
        last = -1
        first = None
        for (r, c), cell in sheet.cells.items():
            if cell.has_value and c0 <= c < c1 and r >= r0:
                last = max(last, r)
                first = r if first is None else min(first, r)
        start = last + 1 if last >= 0 else r0
        insert = (_q1(query, "insertDataOption") or "OVERWRITE") == "INSERT_ROWS"
        if insert and rows:
            _shift_rows(sheet, start, len(rows))
            sheet.props["gridProperties"]["rowCount"] += len(rows)
        self._grow(sheet, start + len(rows), c0 + width)
        result: dict[str, Any] = {"spreadsheetId": sid}
        if last >= 0:
            table_cols = [c for (r, c), cell in sheet.cells.items() if cell.has_value and c0 <= c < c1 and r >= r0]
            result["tableRange"] = _range_text(sheet, first or 0, last + 1, min(table_cols), max(table_cols) + 1)
        updates = self._write_values(ss, sid, f"{quote_sheet(sheet.title)}!{a1_cell(start, c0)}", rows,
                                     value_input, None)
        if (_q1(query, "includeValuesInResponse") or "false").lower() == "true" and "updatedRows" in updates:
            updates["updatedData"] = self._read_range(ss, updates["updatedRange"], query_for_response(query))
        result["updates"] = updates
        return result

    # ---- batchUpdate

    def _batch_update(self, sid: str, ss: Spreadsheet, body: Any, f: DriveFile) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise bad_request("Invalid JSON payload received. Unknown name \"\": Root element must be a message.")
        replies = []
        for i, request in enumerate(body["requests"]):
            if not isinstance(request, dict) or len(request) != 1:
                raise bad_request(f"Invalid requests[{i}]: Must specify exactly one kind of request.")
            (kind, args), = request.items()
            handler = getattr(self, f"_req_{kind}", None)
            if handler is None:
                raise sheets_error(400, f"Invalid JSON payload received. Unknown name \"{kind}\" at "
                                        f"'requests[{i}]': Cannot find field.",
                                   details=[{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                             "fieldViolations": [{"field": f"requests[{i}]",
                                                                  "description": f"Invalid JSON payload received. "
                                                                  f"Unknown name \"{kind}\" at 'requests[{i}]': "
                                                                  "Cannot find field."}]}])
            prefix = f"Invalid requests[{i}].{kind}: "
            try:
                reply = handler(ss, args if isinstance(args, dict) else {}, prefix, f)
            except ApiError as err:
                message = err.body.get("error", {}).get("message", "")
                if err.status == 400 and not message.startswith("Invalid requests["):
                    raise bad_request(prefix + message) from None
                raise
            replies.append(reply or {})
        return {"spreadsheetId": sid, "replies": replies}

    def _grid_sheet(self, ss: Spreadsheet, sheet_id: Any) -> Sheet:
        sheet = ss.by_id(int(sheet_id or 0))
        if sheet is None:
            raise bad_request(f"No grid with id: {int(sheet_id or 0)}")
        return sheet

    def _grid_range(self, ss: Spreadsheet, rng: dict[str, Any], check: bool = True) -> tuple[Sheet, int, int, int, int]:
        sheet = self._grid_sheet(ss, rng.get("sheetId"))
        r0 = int(rng.get("startRowIndex", 0))
        r1 = rng.get("endRowIndex")
        c0 = int(rng.get("startColumnIndex", 0))
        c1 = rng.get("endColumnIndex")
        span = GridSpan(sheet, r0, None if r1 is None else int(r1), c0, None if c1 is None else int(c1),
                        _open_a1(r0, r1, c0, c1))
        if check:
            span.check_inside()
        rr0, rr1, cc0, cc1 = span.resolved()
        return sheet, rr0, rr1, cc0, cc1

    def _req_addSheet(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        props = copy.deepcopy(args.get("properties") or {})
        if "sheetId" in props and ss.by_id(int(props["sheetId"])) is not None:
            raise bad_request(f"{prefix}A sheet with id {props['sheetId']} already exists.")
        title = props.get("title")
        if title is None:
            n = len(ss.sheets) + 1
            while ss.by_title(f"Sheet{n}") is not None:
                n += 1
            title = f"Sheet{n}"
        if any(s.title.casefold() == str(title).casefold() for s in ss.sheets):
            raise bad_request(f"{prefix}A sheet with the name \"{title}\" already exists. Please enter another name.")
        grid = props.get("gridProperties") or {}
        sheet = Sheet({
            "sheetId": int(props["sheetId"]) if "sheetId" in props else self._new_sheet_id(ss),
            "title": title, "index": 0, "sheetType": props.get("sheetType", "GRID"),
            "gridProperties": {"rowCount": int(grid.get("rowCount", DEFAULT_ROWS)),
                               "columnCount": int(grid.get("columnCount", DEFAULT_COLS))}})
        for key in ("frozenRowCount", "frozenColumnCount"):
            if grid.get(key):
                sheet.props["gridProperties"][key] = int(grid[key])
        for key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
            if key in props:
                sheet.props[key] = props[key]
        index = props.get("index")
        if index is None or not 0 <= int(index) <= len(ss.sheets):
            ss.sheets.append(sheet)
        else:
            ss.sheets.insert(int(index), sheet)
        ss.reindex()
        return {"addSheet": {"properties": copy.deepcopy(sheet.props)}}

    def _req_deleteSheet(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        sheet = self._grid_sheet(ss, args.get("sheetId"))
        if len(ss.sheets) == 1:
            raise bad_request(f"{prefix}You can't remove all the sheets in a document.")
        ss.sheets.remove(sheet)
        ss.reindex()
        return {}

    def _req_updateSpreadsheetProperties(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        props = args.get("properties") or {}
        tree = _require_fields(args, prefix)
        for key in (tree or {"title": None, "locale": None, "timeZone": None, "autoRecalc": None}):
            if key == "title":
                if "title" in props:
                    ss.props["_title"] = str(props["title"])  # staged: the file is renamed only if the batch succeeds
            elif key in props:
                ss.props[key] = copy.deepcopy(props[key])
        return {}

    def _req_updateSheetProperties(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        props = args.get("properties") or {}
        sheet = self._grid_sheet(ss, props.get("sheetId"))
        tree = _require_fields(args, prefix)
        mask = tree if tree is not None else {k: None for k in props if k != "sheetId"}
        for key, sub in mask.items():
            if key == "title":
                title = props.get("title", "")
                if any(s is not sheet and s.title.casefold() == str(title).casefold() for s in ss.sheets):
                    raise bad_request(f"{prefix}A sheet with the name \"{title}\" already exists. "
                                      "Please enter another name.")
                sheet.props["title"] = title
            elif key == "gridProperties":
                given = props.get("gridProperties") or {}
                grid = sheet.props["gridProperties"]
                keys = list(sub) if sub else list(given) or ["rowCount", "columnCount", "frozenRowCount",
                                                              "frozenColumnCount"]
                for gk in keys:
                    value = given.get(gk)
                    if gk in ("rowCount", "columnCount"):
                        if value is None or int(value) < 1:
                            raise bad_request(f"{prefix}Invalid {gk}: the sheet must keep at least one "
                                              f"{'row' if gk == 'rowCount' else 'column'}.")
                        grid[gk] = int(value)
                    elif value in (None, 0, False):
                        grid.pop(gk, None)  # Google omits zero counts
                    else:
                        grid[gk] = value
                _drop_outside(sheet)
            elif key == "index":
                index = int(props.get("index", 0))
                ss.sheets.remove(sheet)
                ss.sheets.insert(max(0, min(index, len(ss.sheets))), sheet)
                ss.reindex()
            elif key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
                if props.get(key) in (None, False):
                    sheet.props.pop(key, None)
                else:
                    sheet.props[key] = copy.deepcopy(props[key])
            else:
                raise bad_request(f"{prefix}Invalid field mask: {key}")
        return {}

    def _req_updateCells(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        tree = _require_fields(args, prefix)
        rows = args.get("rows") or []
        locale = ss.props.get("locale", "en_US")
        if "start" in args:
            start = args["start"] or {}
            sheet = self._grid_sheet(ss, start.get("sheetId"))
            r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
            height = len(rows)
            width = max((len((row or {}).get("values") or []) for row in rows), default=0)
            r1, c1 = r0 + max(height, 1), c0 + max(width, 1)
            GridSpan(sheet, r0, r1, c0, c1, _open_a1(r0, r1, c0, c1)).check_inside()
            cover = False
        elif "range" in args:
            sheet, r0, r1, c0, c1 = self._grid_range(ss, args["range"] or {})
            cover = True
        else:
            raise bad_request(f"{prefix}Either start or range must be set.")
        given: dict[tuple[int, int], dict] = {}
        for i, row in enumerate(rows):
            for j, cell in enumerate((row or {}).get("values") or []):
                given[(r0 + i, c0 + j)] = cell or {}
        if cover:
            targets = [(r, c) for r in range(r0, r1) for c in range(c0, c1)]
            for pos in given:
                if not (r0 <= pos[0] < r1 and c0 <= pos[1] < c1):
                    raise bad_request(f"{prefix}Data does not fit the range.")
        else:
            targets = list(given)
        for pos in targets:
            sheet.put(*pos, _apply_cell_data(sheet.get(*pos), given.get(pos, {}), tree, locale))
        return {}

    def _req_repeatCell(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        tree = _require_fields(args, prefix)
        sheet, r0, r1, c0, c1 = self._grid_range(ss, args.get("range") or {})
        data = args.get("cell") or {}
        locale = ss.props.get("locale", "en_US")
        for r in range(r0, r1):
            for c in range(c0, c1):
                sheet.put(r, c, _apply_cell_data(sheet.get(r, c), data, tree, locale))
        return {}

    def _dimension(self, ss: Spreadsheet, rng: dict) -> tuple[Sheet, str, int, int]:
        sheet = self._grid_sheet(ss, rng.get("sheetId"))
        dim = rng.get("dimension")
        if dim not in ("ROWS", "COLUMNS"):
            raise bad_request("Invalid dimension: must be ROWS or COLUMNS")
        size = sheet.rows if dim == "ROWS" else sheet.cols
        start = int(rng.get("startIndex", 0))
        end = int(rng.get("endIndex", size)) if rng.get("endIndex") is not None else size
        if start < 0 or end > size or start >= end:
            r0, r1, c0, c1 = (start, end, 0, None) if dim == "ROWS" else (0, None, start, end)
            GridSpan(sheet, r0, r1, c0, c1, _open_a1(r0, r1, c0, c1)).check_inside()
            raise bad_request(f"Invalid range: startIndex {start} must be less than endIndex {end}")
        return sheet, dim, start, end

    def _req_updateDimensionProperties(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        tree = _require_fields(args, prefix)
        sheet, dim, start, end = self._dimension(ss, args.get("range") or {})
        props = args.get("properties") or {}
        meta = sheet.row_meta if dim == "ROWS" else sheet.col_meta
        keys = list(tree) if tree else list(props)
        for i in range(start, end):
            entry = meta.setdefault(i, {})
            for key in keys:
                if key in props:
                    entry[key] = copy.deepcopy(props[key])
                else:
                    entry.pop(key, None)
        return {}

    def _req_appendDimension(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        sheet = self._grid_sheet(ss, args.get("sheetId"))
        length = int(args.get("length", 0))
        if length < 1:
            raise bad_request(f"{prefix}length must be positive")
        key = "rowCount" if args.get("dimension") == "ROWS" else "columnCount"
        if args.get("dimension") not in ("ROWS", "COLUMNS"):
            raise bad_request(f"{prefix}Invalid dimension")
        sheet.props["gridProperties"][key] += length
        return {}

    def _req_insertDimension(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        rng = args.get("range") or {}
        sheet = self._grid_sheet(ss, rng.get("sheetId"))
        dim = rng.get("dimension")
        start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", 0))
        size = sheet.rows if dim == "ROWS" else sheet.cols
        if dim not in ("ROWS", "COLUMNS") or start < 0 or end <= start or start > size:
            raise bad_request(f"{prefix}Invalid range")
        count = end - start
        if dim == "ROWS":
            _shift_rows(sheet, start, count)
            sheet.props["gridProperties"]["rowCount"] += count
        else:
            _shift_cols(sheet, start, count)
            sheet.props["gridProperties"]["columnCount"] += count
        return {}

    def _req_deleteDimension(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        sheet, dim, start, end = self._dimension(ss, args.get("range") or {})
        count = end - start
        if (dim == "ROWS" and count >= sheet.rows) or (dim == "COLUMNS" and count >= sheet.cols):
            raise bad_request(f"{prefix}You can't delete all the {'rows' if dim == 'ROWS' else 'columns'} "
                              "on the sheet.")
        if dim == "ROWS":
            _shift_rows(sheet, end, -count)
            sheet.props["gridProperties"]["rowCount"] -= count
        else:
            _shift_cols(sheet, end, -count)
            sheet.props["gridProperties"]["columnCount"] -= count
        return {}

    def _req_addConditionalFormatRule(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        rule = copy.deepcopy(args.get("rule") or {})
        ranges = rule.get("ranges") or []
        if not ranges:
            raise bad_request(f"{prefix}At least one range must be specified.")
        sheets = {self._grid_range(ss, r)[0].sheet_id for r in ranges}
        if len(sheets) != 1:
            raise bad_request(f"{prefix}All ranges must be on the same sheet.")
        if "booleanRule" not in rule and "gradientRule" not in rule:
            raise bad_request(f"{prefix}Either booleanRule or gradientRule must be set.")
        for r in rule["ranges"]:
            r.setdefault("sheetId", 0)
        sheet = self._grid_sheet(ss, next(iter(sheets)))
        index = int(args.get("index", 0))
        sheet.conditional_formats.insert(max(0, min(index, len(sheet.conditional_formats))), rule)
        return {}

    def _req_deleteConditionalFormatRule(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        sheet = self._grid_sheet(ss, args.get("sheetId"))
        index = int(args.get("index", 0))
        if not 0 <= index < len(sheet.conditional_formats):
            raise bad_request(f"{prefix}No conditional format on sheet {sheet.sheet_id} at index {index}")
        rule = sheet.conditional_formats.pop(index)
        return {"deleteConditionalFormatRule": {"rule": rule}}

    def _req_setDataValidation(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        rng = copy.deepcopy(args.get("range") or {})
        sheet = self._grid_range(ss, rng)[0]
        rng.setdefault("sheetId", 0)
        sheet.data_validations.append({"range": rng, "rule": copy.deepcopy(args.get("rule"))})
        return {}

    def _req_mergeCells(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        rng = copy.deepcopy(args.get("range") or {})
        sheet = self._grid_range(ss, rng)[0]
        rng.setdefault("sheetId", 0)
        sheet.merges.append(rng)
        return {}

    def _req_unmergeCells(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        sheet, r0, r1, c0, c1 = self._grid_range(ss, args.get("range") or {})
        sheet.merges = [m for m in sheet.merges if not (
            r0 <= m.get("startRowIndex", 0) and m.get("endRowIndex", sheet.rows) <= r1
            and c0 <= m.get("startColumnIndex", 0) and m.get("endColumnIndex", sheet.cols) <= c1)]
        return {}

    def _req_setBasicFilter(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        flt = copy.deepcopy(args.get("filter") or {})
        rng = flt.get("range") or {}
        sheet = self._grid_range(ss, rng)[0]
        sheet.basic_filter = flt
        return {}

    def _req_clearBasicFilter(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        self._grid_sheet(ss, args.get("sheetId")).basic_filter = None
        return {}

    def _req_createDeveloperMetadata(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        """Sheet-located metadata only (``location.sheetId``): what a tab carries with it."""
        data = copy.deepcopy(args.get("developerMetadata") or {})
        unknown = set(data) - {"metadataId", "metadataKey", "metadataValue", "location", "visibility"}
        if unknown:
            raise bad_request(f"{prefix}Invalid JSON payload received. Unknown name \"{sorted(unknown)[0]}\"")
        if not data.get("metadataKey"):
            raise bad_request(f"{prefix}metadataKey must be set")
        if data.get("visibility") not in ("DOCUMENT", "PROJECT"):
            raise bad_request(f"{prefix}visibility must be set")
        location = data.get("location") or {}
        if set(location) != {"sheetId"}:
            raise bad_request(f"{prefix}The fake locates developer metadata on a sheet only (location.sheetId)")
        sheet = self._grid_sheet(ss, location["sheetId"])
        taken = {m["metadataId"] for s in ss.sheets for m in s.developer_metadata}
        if "metadataId" in data:
            if int(data["metadataId"]) in taken:
                raise bad_request(f"{prefix}Metadata with id {data['metadataId']} already exists.")
        else:
            data["metadataId"] = next(i for i in iter(lambda: self._random.randint(1, 2**31 - 1), None)
                                      if i not in taken)
        data["location"] = {"locationType": "SHEET", "sheetId": sheet.sheet_id}
        ordered = {k: data[k] for k in ("metadataId", "metadataKey", "metadataValue", "location", "visibility")
                   if k in data}
        sheet.developer_metadata.append(ordered)
        return {"createDeveloperMetadata": {"developerMetadata": copy.deepcopy(ordered)}}

    def _stored_only(self, ss: Spreadsheet, args: dict, kind: str, sheet_id: Any) -> dict:
        self._grid_sheet(ss, sheet_id).other_requests.append({kind: copy.deepcopy(args)})
        return {}

    def _req_autoResizeDimensions(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        dims = args.get("dimensions") or {}
        return self._stored_only(ss, args, "autoResizeDimensions", dims.get("sheetId"))

    def _req_updateBorders(self, ss: Spreadsheet, args: dict, prefix: str, f: DriveFile) -> dict:
        self._grid_range(ss, args.get("range") or {})
        return self._stored_only(ss, args, "updateBorders", (args.get("range") or {}).get("sheetId"))


# --------------------------------------------------------------------------- module helpers


def _roles(shared: Optional[Iterable[Optional[str]] | Mapping[Optional[str], str]]) -> Optional[dict[str, str]]:
    """Roles by e-mail; the e-mail None (the anonymous caller) is kept as ""."""
    if shared is None:
        return None
    if isinstance(shared, Mapping):
        return {str(k or ""): str(v) for k, v in shared.items()}
    if isinstance(shared, str):
        return {shared: "writer"}
    return {str(e or ""): "writer" for e in shared}


def _all_drives(query: dict[str, list[str]]) -> bool:
    """Did the Drive request say ``supportsAllDrives=true``?"""
    return (_q1(query, "supportsAllDrives") or "").lower() == "true"


def _q1(query: dict[str, list[str]], key: str) -> Optional[str]:
    values = query.get(key)
    return values[-1] if values else None


def query_for_response(query: dict[str, list[str]]) -> dict[str, list[str]]:
    """The render options of an update request, used for its ``updatedData``."""
    out = {}
    if "responseValueRenderOption" in query:
        out["valueRenderOption"] = query["responseValueRenderOption"]
    if "responseDateTimeRenderOption" in query:
        out["dateTimeRenderOption"] = query["responseDateTimeRenderOption"]
    return out


def _check_enum(name: str, value: str, allowed: tuple[str, ...]) -> None:
    """400 for a value outside an enum, worded like Google's proto errors."""
    if value not in allowed:
        snake = re.sub(r"([A-Z])", r"_\1", name).lower()
        proto = name[0].upper() + name[1:]
        raise bad_request(f"Invalid value at '{snake}' (type.googleapis.com/google.apps.sheets.v4.{proto}), "
                          f"\"{value}\"")


def _spreadsheet_of(path: str) -> Optional[str]:
    m = re.match(r"^/v4/spreadsheets/([^/:]+)", path) or re.match(r"^/drive/v3/files/([^/]+)", path)
    return unquote(m.group(1)) if m else None


def _bad_json(text: str) -> ApiError:
    """Google's answer to a body that is not JSON."""
    first = text.splitlines()[0] if text else ""
    return sheets_error(400, f"Invalid JSON payload received. Unexpected token.\n{first[:40]}\n^")


def _drive_default(data: dict[str, Any]) -> dict[str, Any]:
    """Drive v3's default file fields when none are asked for."""
    return {k: data[k] for k in ("kind", "id", "name", "mimeType") if k in data}


def _range_text(sheet: Sheet, r0: int, r1: int, c0: int, c1: int) -> str:
    a1 = a1_cell(r0, c0)
    if (r1 - r0, c1 - c0) != (1, 1):
        a1 += ":" + a1_cell(r1 - 1, c1 - 1)
    return f"{quote_sheet(sheet.title)}!{a1}"


def _open_a1(r0: int, r1: Any, c0: int, c1: Any) -> str:
    """A1 text of a GridRange that may be open-ended, as Google writes it in grid-limit errors."""
    start = a1_cell(r0, c0)
    end_col = col_letters(int(c1) - 1) if c1 is not None else ""
    end_row = str(int(r1)) if r1 is not None else ""
    if c1 is not None and r1 is not None and int(r1) - r0 == 1 and int(c1) - c0 == 1:
        return start
    if c1 is None and r1 is not None:
        return f"{start}:{end_row}"
    return f"{start}:{end_col}{end_row}"


def _typed(value: Any, value_input: Optional[str], locale: str) -> tuple[Optional[str], Any, Optional[dict]]:
    """A JSON value from a request as (kind, stored value, detected numberFormat)."""
    if isinstance(value, bool):
        return "b", value, None
    if isinstance(value, (int, float)):
        return "n", value, None
    if isinstance(value, str):
        if value == "":
            return None, None, None
        if value_input == "USER_ENTERED":
            return parse_user_entered(value, locale)
        return "s", value, None
    if isinstance(value, (dt.datetime, dt.date)):
        return "n", to_serial(value), {"type": "DATE_TIME" if isinstance(value, dt.datetime) else "DATE",
                                       "pattern": "yyyy-mm-dd hh:mm:ss" if isinstance(value, dt.datetime)
                                       else "yyyy-mm-dd"}
    raise bad_request(f"Invalid values: {json.dumps(value)[:60]} is not a string, number or boolean")


def _matrix(values: Any, major: Optional[str]) -> list[list[Any]]:
    if not isinstance(values, list):
        raise bad_request("Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue)")
    rows = [list(r) if isinstance(r, list) else [r] for r in values]
    if major == "COLUMNS":
        width = max((len(r) for r in rows), default=0)
        rows = [[col[i] if i < len(col) else None for col in rows] for i in range(width)]
    return rows


def _effective(cell: Cell) -> Any:
    """The value a cell shows (formula results for arithmetic formulas and errors; see module docstring)."""
    if cell.kind == "f":
        body = cell.value[1:].strip()
        if body.upper() in ERROR_TYPES:
            return ErrorValue(body.upper())
        if body.upper() == "NA()":
            return ErrorValue("#N/A")
        try:
            result = _eval_arith(cell.value)
        except ZeroDivisionError:
            return ErrorValue("#DIV/0!")
        return cell.value if result is None else result
    if cell.kind == "e":
        return ErrorValue(cell.value)
    return cell.value


def _is_datetime_format(cell: Cell) -> bool:
    nf = (cell.fmt or {}).get("numberFormat") or {}
    return nf.get("type") in ("DATE", "TIME", "DATE_TIME")


def _render(cell: Cell, render: str, date_time: str) -> Any:
    """One cell's value as values.get renders it."""
    if cell.kind is None:
        return ""
    if render == "FORMULA" and cell.kind == "f":
        return cell.value
    value = _effective(cell)
    number_format = (cell.fmt or {}).get("numberFormat")
    if render == "FORMATTED_VALUE":
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, float)):
            return format_number(value, number_format)
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if _is_datetime_format(cell) and date_time == "FORMATTED_STRING" and render == "UNFORMATTED_VALUE":
            return format_number(value, number_format)
        return _num_out(value)
    return value


def _grid_values(sheet: Sheet, r0: int, r1: int, c0: int, c1: int, render: str, date_time: str,
                 columns: bool = False) -> list[list[Any]]:
    """Values of a rectangle, with trailing empty cells and rows trimmed as Google does."""
    present = [(r, c) for (r, c), cell in sheet.cells.items() if cell.has_value and r0 <= r < r1 and c0 <= c < c1]
    if not present:
        return []
    if columns:
        width = max(c for _, c in present) - c0 + 1
        out = []
        for c in range(c0, c0 + width):
            col_rows = [r for r, cc in present if cc == c]
            height = (max(col_rows) - r0 + 1) if col_rows else 0
            out.append([_render(sheet.get(r, c), render, date_time) for r in range(r0, r0 + height)])
        return out
    height = max(r for r, _ in present) - r0 + 1
    ends: dict[int, int] = {}
    for r, c in present:
        ends[r] = max(ends.get(r, -1), c)
    out = []
    for r in range(r0, r0 + height):
        if r not in ends:
            out.append([])
            continue
        out.append([_render(sheet.get(r, c), render, date_time) for c in range(c0, ends[r] + 1)])
    return out


def _cell_data(cell: Cell) -> dict[str, Any]:
    """A cell as CellData in spreadsheets.get with grid data."""
    out: dict[str, Any] = {}
    if cell.kind is not None:
        value = _effective(cell)
        if cell.kind == "e":
            out["userEnteredValue"] = {"errorValue": _error_value(value)}
        else:
            key = {"s": "stringValue", "n": "numberValue", "b": "boolValue", "f": "formulaValue"}[cell.kind]
            out["userEnteredValue"] = {key: _num_out(cell.value) if cell.kind == "n" else cell.value}
        if isinstance(value, ErrorValue):
            out["effectiveValue"] = {"errorValue": _error_value(value)}
        elif isinstance(value, bool):
            out["effectiveValue"] = {"boolValue": value}
        elif isinstance(value, (int, float)):
            out["effectiveValue"] = {"numberValue": _num_out(value)}
        else:
            out["effectiveValue"] = {"stringValue": value}
        out["formattedValue"] = _render(cell, "FORMATTED_VALUE", "FORMATTED_STRING")
    if cell.fmt:
        out["userEnteredFormat"] = copy.deepcopy(cell.fmt)
    if cell.note is not None:
        out["note"] = cell.note
    return out


def _error_value(error: str) -> dict[str, str]:
    """An ErrorValue as Sheets gives it in grid data."""
    return {"type": ERROR_TYPES.get(error, "ERROR"), "message": f"Formula gives {error}"}


def _grid_data(span: GridSpan) -> dict[str, Any]:
    sheet = span.sheet
    r0, r1, c0, c1 = span.resolved()
    r1, c1 = min(r1, sheet.rows), min(c1, sheet.cols)
    used = [(r, c) for (r, c), cell in sheet.cells.items() if r0 <= r < r1 and c0 <= c < c1 and not cell.is_empty()]
    out: dict[str, Any] = {}
    if r0:
        out["startRow"] = r0
    if c0:
        out["startColumn"] = c0
    if used:
        last_row = max(r for r, _ in used)
        row_data = []
        for r in range(r0, last_row + 1):
            in_row = [c for rr, c in used if rr == r]
            if not in_row:
                row_data.append({})
                continue
            row_data.append({"values": [_cell_data(sheet.get(r, c)) for c in range(c0, max(in_row) + 1)]})
        out["rowData"] = row_data
    out["rowMetadata"] = [{"pixelSize": sheet.row_meta.get(r, {}).get("pixelSize", 21),
                           **{k: v for k, v in sheet.row_meta.get(r, {}).items() if k != "pixelSize"}}
                          for r in range(r0, r1)]
    out["columnMetadata"] = [{"pixelSize": sheet.col_meta.get(c, {}).get("pixelSize", 100),
                              **{k: v for k, v in sheet.col_meta.get(c, {}).items() if k != "pixelSize"}}
                             for c in range(c0, c1)]
    return out


def _require_fields(args: dict, prefix: str) -> Optional[dict[str, Any]]:
    fields = args.get("fields")
    if not fields:
        raise bad_request(f"{prefix}At least one field must be updated. Use 'fields' to specify them.")
    return parse_fields(fields)


def _with_styles(fmt: dict[str, Any]) -> dict[str, Any]:
    """Add the ``*Style`` twins Google adds next to plain colours (seen in the format recording)."""
    out = copy.deepcopy(fmt)
    for key in ("backgroundColor",):
        if key in out and f"{key}Style" not in out:
            out[f"{key}Style"] = {"rgbColor": copy.deepcopy(out[key])}
    text = out.get("textFormat")
    if isinstance(text, dict) and "foregroundColor" in text and "foregroundColorStyle" not in text:
        text["foregroundColorStyle"] = {"rgbColor": copy.deepcopy(text["foregroundColor"])}
    return out


def _masked_merge(old: Optional[dict], new: Optional[dict], tree: Optional[dict]) -> Optional[dict]:
    """Set the masked parts of ``old`` from ``new`` (absent in ``new`` = cleared)."""
    if tree is None:
        return copy.deepcopy(new) if new else None
    out = copy.deepcopy(old) if old else {}
    for key, sub in tree.items():
        if sub is None:
            if new and key in new:
                out[key] = copy.deepcopy(new[key])
            else:
                out.pop(key, None)
        else:
            merged = _masked_merge(out.get(key) if isinstance(out.get(key), dict) else None,
                                   (new or {}).get(key) if isinstance((new or {}).get(key), dict) else None, sub)
            if merged:
                out[key] = merged
            else:
                out.pop(key, None)
    return out or None


def _apply_cell_data(old: Cell, data: dict[str, Any], tree: Optional[dict[str, Any]], locale: str) -> Cell:
    """updateCells/repeatCell on one cell: change what the field mask names, from ``data``."""
    mask = tree if tree is not None else {"userEnteredValue": None, "userEnteredFormat": None, "note": None}
    kind, value, fmt, note = old.kind, old.value, old.fmt, old.note
    for key, sub in mask.items():
        if key == "userEnteredValue":
            uev = data.get("userEnteredValue")
            if not uev:
                kind, value = None, None
            elif "stringValue" in uev:
                kind, value = "s", str(uev["stringValue"])
                if len(value.encode("utf-16-le")) // 2 > CELL_LIMIT:
                    raise bad_request(f"Your input contains more than the maximum of {CELL_LIMIT} characters in a "
                                      "single cell.")
            elif "numberValue" in uev:
                kind, value = "n", uev["numberValue"]
            elif "boolValue" in uev:
                kind, value = "b", bool(uev["boolValue"])
            elif "formulaValue" in uev:
                kind, value = "f", str(uev["formulaValue"])
            elif "errorValue" in uev:
                kind, value = "s", str(uev["errorValue"].get("message", "#ERROR!"))
            else:
                raise bad_request("Invalid userEnteredValue: one of stringValue, numberValue, boolValue, "
                                  "formulaValue must be set")
        elif key == "userEnteredFormat":
            new = data.get("userEnteredFormat")
            merged = _masked_merge(fmt, new, sub)
            fmt = _with_styles(merged) if merged else None
        elif key == "note":
            note = data.get("note") or None
        elif key in ("dataValidation", "textFormatRuns", "hyperlink", "pivotTable", "effectiveFormat",
                     "effectiveValue", "formattedValue"):
            continue  # accepted, not stored
        else:
            raise bad_request(f"Invalid field mask: {key}")
    return Cell(kind, value, fmt, note)


def _drop_outside(sheet: Sheet) -> None:
    rows, cols = sheet.rows, sheet.cols
    for pos in [p for p in sheet.cells if p[0] >= rows or p[1] >= cols]:
        del sheet.cells[pos]
    for meta, size in ((sheet.row_meta, rows), (sheet.col_meta, cols)):
        for i in [i for i in meta if i >= size]:
            del meta[i]


def _shift_rows(sheet: Sheet, start: int, delta: int) -> None:
    """Move rows at/after ``start`` by ``delta`` (negative deletes rows ``start+delta .. start-1``)."""
    new: dict[tuple[int, int], Cell] = {}
    for (r, c), cell in sheet.cells.items():
        if r >= start:
            new[(r + delta, c)] = cell
        elif delta < 0 and r >= start + delta:
            continue
        else:
            new[(r, c)] = cell
    sheet.cells = new
    meta = {}
    for i, m in sheet.row_meta.items():
        if i >= start:
            meta[i + delta] = m
        elif not (delta < 0 and i >= start + delta):
            meta[i] = m
    sheet.row_meta = meta


def _shift_cols(sheet: Sheet, start: int, delta: int) -> None:
    """Move columns at/after ``start`` by ``delta`` (negative deletes)."""
    new: dict[tuple[int, int], Cell] = {}
    for (r, c), cell in sheet.cells.items():
        if c >= start:
            new[(r, c + delta)] = cell
        elif delta < 0 and c >= start + delta:
            continue
        else:
            new[(r, c)] = cell
    sheet.cells = new
    meta = {}
    for i, m in sheet.col_meta.items():
        if i >= start:
            meta[i + delta] = m
        elif not (delta < 0 and i >= start + delta):
            meta[i] = m
    sheet.col_meta = meta


# --------------------------------------------------------------------------- Drive query language


_Q_TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<op>!=|<=|>=|=|<|>|\(|\))|"""
                      r"""(?P<word>[A-Za-z_][A-Za-z0-9_.]*))""")


def _tokens(q: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(q):
        if q[pos:].strip() == "":
            break
        m = _Q_TOKEN.match(q, pos)
        if not m:
            raise drive_error(400, "Invalid Value", "invalid", location="q")
        pos = m.end()
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            out.append(("str", re.sub(r"\\(.)", r"\1", raw)))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            out.append(("word", m.group("word")))
    return out


def parse_drive_query(q: str) -> Callable[[dict[str, Any]], bool]:
    """Compile the Drive ``q`` subset devplan and gspread use into a predicate on file JSON.

    Terms: ``'ID' in parents`` (and gspread's ``parents in "ID"``), ``mimeType = '...'`` /
    ``!=``, ``name = '...'`` / ``!=`` / ``contains``, ``trashed = true|false``; joined with
    ``and``, ``or``, ``not`` and parentheses. Anything else answers 400 like Drive's "Invalid Value".
    """
    tokens = _tokens(q)
    pos = 0

    def invalid() -> ApiError:
        return drive_error(400, "Invalid Value", "invalid", location="q")

    def peek(offset: int = 0) -> Optional[tuple[str, str]]:
        return tokens[pos + offset] if pos + offset < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise invalid()
        pos += 1
        return tokens[pos - 1]

    def is_word(tok: Optional[tuple[str, str]], word: str) -> bool:
        return tok is not None and tok[0] == "word" and tok[1].lower() == word

    def term() -> Callable[[dict[str, Any]], bool]:
        tok = peek()
        if is_word(tok, "not"):
            take()
            inner = term()
            return lambda f: not inner(f)
        if tok == ("op", "("):
            take()
            inner = disjunction()
            if take() != ("op", ")"):
                raise invalid()
            return inner
        first = take()
        if first[0] == "str":  # 'X' in parents
            if not is_word(take(), "in") or not is_word(take(), "parents"):
                raise invalid()
            pid = first[1]
            return lambda f: pid in f.get("parents", [])
        if first[0] != "word":
            raise invalid()
        field = first[1]
        op = take()
        if field == "parents" and is_word(op, "in"):  # gspread writes: parents in "ID"
            value = take()
            if value[0] != "str":
                raise invalid()
            return lambda f: value[1] in f.get("parents", [])
        value = take()
        if field in ("name", "mimeType"):
            if value[0] != "str":
                raise invalid()
            text = value[1]
            if op == ("op", "="):
                return lambda f: f.get(field) == text
            if op == ("op", "!="):
                return lambda f: f.get(field) != text
            if is_word(op, "contains"):
                if field == "name":
                    return lambda f: text.casefold() in f.get("name", "").casefold()
                return lambda f: text in f.get(field, "")
            raise invalid()
        if field == "trashed":
            if value[0] != "word" or value[1].lower() not in ("true", "false"):
                raise invalid()
            want = value[1].lower() == "true"
            if op == ("op", "="):
                return lambda f: bool(f.get("trashed")) == want
            if op == ("op", "!="):
                return lambda f: bool(f.get("trashed")) != want
            raise invalid()
        raise invalid()

    def conjunction() -> Callable[[dict[str, Any]], bool]:
        parts = [term()]
        while is_word(peek(), "and"):
            take()
            parts.append(term())
        return lambda f: all(p(f) for p in parts)

    def disjunction() -> Callable[[dict[str, Any]], bool]:
        parts = [conjunction()]
        while is_word(peek(), "or"):
            take()
            parts.append(conjunction())
        return lambda f: any(p(f) for p in parts)

    if not tokens:
        return lambda f: True
    predicate = disjunction()
    if pos != len(tokens):
        raise invalid()
    return predicate


__all__ = [
    "FakeGoogle", "Faults", "Quota", "LoggedRequest", "ApiError", "parse_drive_query", "parse_fields",
    "to_serial", "from_serial", "col_letters", "quote_sheet",
]

