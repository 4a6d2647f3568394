"""Render: Jinja templates turn summaries into sheet tabs, e-mail text and HTML.

One environment per run, ``StrictUndefined`` so a misspelt variable fails
loudly, autoescape on for ``.html``. Sheet tabs come from ``.tsv`` templates:
each output line is a row, cells split at tabs.

A sheet template also says how its tab looks, with small markers that never
reach a cell (see ``parse_tab``):

- a line starting with ``{{ TITLE }}`` is a title row (bold, not used to fit
  column widths), ``{{ HEADER }}`` a table's header row (bold; the first one is
  frozen when it is near the top), ``{{ ASIDE }}`` a line of free text (not
  used to fit widths);
- filters on a cell: ``|text`` keeps a code or ID as text even when it looks
  like a number, ``|number`` writes a number or leaves the cell empty (never
  "-"), ``|status`` marks a pass / not-pass cell (coloured by conditional
  formatting), ``|note(text)`` attaches a note (cell comment).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import pickle
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from jinja2 import (
    BytecodeCache, Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, TemplateError,
    select_autoescape,
)
from jinja2.bccache import Bucket
from markupsafe import Markup

from pipeline.errors import ConfigError
from pipeline.indicators.compute import STATUS_MET, STATUS_NOT_MET
from pipeline.thai import mask_ids_in_text, mask_national_id, normalize_national_id, thai_date
from pipeline.workbook.layout import FormattedTab, Table, column_widths, frozen_rows, short_texts_remembered, status_rules

#: the smallest number with nine digits: the shortest run of digits masked as a possible ID
_NINE_DIGITS = 100_000_000
# Only short plain numbers become numbers in a sheet; codes and IDs stay text.
_NUMBER = re.compile(r"^-?\d{1,9}(\.\d+)?$")

# Markers a sheet template's output carries; XML cannot hold these characters, so no value has them.
ROW_MARK = "\x1e"  # + one letter at the start of a line: the row's kind
CELL_FLAG = "\x1f"  # + a flag after a cell's value: text, status, note=...
NOTE_BREAK = "\x1c"  # a line break inside a note (a template line is one row)
_MARKS = re.compile("[\x1c-\x1f]")
_BREAKS = re.compile(r"[\t\r\n]+")
TITLE, HEADER, ASIDE = "t", "h", "a"
#: the date an output's fingerprint is taken on, so the run's date alone never makes it look changed
UNDATED = date(2000, 1, 1)
#: what ``thai_date`` prints for the run's own date (``RunDate``) until ``Dated`` puts a date in
_RUN_DATE = "\ue0d0devplan-run-date\ue0d1"


def percent(value: Any) -> str:
    """A percentage for people: ``85.3``; None (nobody counted) → ``-``."""
    return "-" if value is None else f"{float(value):.1f}".removesuffix(".0")


def cell(value: Any) -> str:
    """A value as one TSV cell: tabs and line breaks become spaces."""
    if value is None:
        return ""
    text = str(value)
    if text.isprintable():  # no tab, line break or marker (all control characters): most values
        return text
    return _BREAKS.sub(" ", _MARKS.sub("", text))


def text(value: Any) -> str:
    """A cell that stays text even when it looks like a number (codes, IDs, what someone typed)."""
    return cell(value) + CELL_FLAG + "text"


def number(value: Any) -> str:
    """A number cell; None (no value) leaves the cell empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return cell(value)


def status(value: Any) -> str:
    """A pass / not-pass cell, coloured by the tab's conditional formatting."""
    return cell(value) + CELL_FLAG + "status"


def note(value: Any, text_: Any) -> str:
    """A cell with a note (cell comment); line breaks in the note are kept."""
    body = _MARKS.sub("", str(text_ or "")).replace("\r\n", "\n").strip()
    if not body:
        return cell(value)
    return cell(value) + CELL_FLAG + "note=" + body.replace("\t", " ").replace("\n", NOTE_BREAK)


def baht(value: Any) -> str:
    """An amount of money for people: ``1,500``, ``1,500.50``; None → ``-``."""
    if value is None:
        return "-"
    return f"{float(value):,.2f}".removesuffix(".00")


def bar(value: Any) -> str:
    """A percentage as a bar length in CSS or SVG units: clipped to 0–100, ``0`` for None."""
    if value is None:
        return "0"
    clipped = min(100.0, max(0.0, float(value)))
    return f"{clipped:.1f}".removesuffix(".0")


class RunDate(date):
    """The run's date in a summary rendered by ``render_dated``: ``thai_date`` prints a mark in its place."""


def thai_date_filter(day: date) -> str:
    """``thai_date``, with the run's own date left as a mark for ``Dated`` to fill in."""
    return _RUN_DATE if isinstance(day, RunDate) else thai_date(day)


FILTERS: dict[str, Callable[..., str]] = {
    "percent": percent, "cell": cell, "thai_date": thai_date_filter, "mask_id": mask_national_id, "bar": bar, "baht": baht,
    "text": text, "number": number, "status": status, "note": note,
}
#: row markers, written at the start of a line of a ``.tsv`` template
MARKERS = {"TITLE": ROW_MARK + TITLE, "HEADER": ROW_MARK + HEADER, "ASIDE": ROW_MARK + ASIDE}


class MaskIds:
    """The environment's ``finalize``: every value a template prints passes here first.

    So no sheet tab, dashboard or e-mail can show a national ID whole, whatever
    field it was typed into; unit codes of the roster (``keep``) are left as they are.
    """

    def __init__(self) -> None:
        self._keep: frozenset[str] = frozenset()
        #: text printed -> as shown (most values are printed many times: a run's yes / no, names, codes)
        self._shown: dict[str, str] = {}

    @property
    def keep(self) -> frozenset[str]:
        return self._keep

    @keep.setter
    def keep(self, codes: frozenset[str]) -> None:
        self._keep = codes
        self._shown = {}

    def __call__(self, value: Any) -> Any:
        kind = value.__class__
        if kind is str:
            shown = self._shown.get(value)
            if shown is None:
                shown = self._shown[value] = mask_ids_in_text(value, self._keep)
            return shown
        if kind is int and -_NINE_DIGITS < value < _NINE_DIGITS:
            return value  # too short to be an ID
        if value is None or isinstance(value, bool):
            return value
        text = str(value)
        masked = mask_ids_in_text(text, self._keep)
        if masked == text:
            return value
        return Markup(masked) if isinstance(value, Markup) else masked


def keep_unit_codes(env: Environment, codes: Iterable[Any]) -> None:
    """Tell the environment which digit runs are the roster's unit codes, not IDs."""
    _mask(env).keep = frozenset(normalize_national_id(c) for c in codes)


def kept_codes(env: Environment) -> frozenset[str]:
    """The digit runs the environment leaves unmasked (``keep_unit_codes``)."""
    return _mask(env).keep


def _mask(env: Environment) -> MaskIds:
    finalize = env.finalize
    assert isinstance(finalize, MaskIds), "an environment made by build_environment"
    return finalize


class CompiledTemplates(FileSystemBytecodeCache):
    """Templates compiled once and kept between runs (compiling them all is a tenth of a second each run).

    Kept where Jinja keeps them by default: a folder of the user's own, readable by nobody else, in the
    system's temporary folder; a template changed since is compiled again (Jinja checks its text). A
    cache that cannot be made, read or written only makes the run compile, never fails it."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):  # unreadable, or not Jinja's
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:  # a full or read-only disk: compiled again next time
            pass


def compiled_templates() -> BytecodeCache | None:
    """The cache of compiled templates, or None where the user has no safe folder for it."""
    try:
        return CompiledTemplates(pattern=f"__devplan_{_options()}_%s.cache")
    except (OSError, RuntimeError):  # Jinja refuses a folder another user owns or can read
        return None


@functools.lru_cache(maxsize=1)
def _options() -> str:
    """What the compiled code depends on besides a template's text (this module: the environment's
    options), so a devplan that compiles differently never loads what an older one kept."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def build_environment(templates: str | Path, cache: BytecodeCache | None = None) -> Environment:
    """The run's one Jinja environment; every printed value is masked (``MaskIds``). ``cache``: where compiled
    templates are kept (default ``compiled_templates``)."""
    folder = Path(templates)
    if not folder.is_dir():
        raise ConfigError(
            f"ไม่พบโฟลเดอร์แม่แบบ {folder}",
            "ตั้งค่า output.templates ในไฟล์ตั้งค่าให้ชี้ไปที่โฟลเดอร์ templates ของ devplan",
        )
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=MaskIds(),
        bytecode_cache=cache or compiled_templates(),
    )
    env.filters.update(FILTERS)
    env.globals.update(MARKERS)
    return env


def variables(context: object) -> Mapping[str, Any]:
    """A template's variables: a summary dataclass's fields (``{{ run.fiscal_year }}``), or a mapping's items."""
    if dataclasses.is_dataclass(context) and not isinstance(context, type):
        return {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    if isinstance(context, Mapping):
        return context
    raise TypeError(f"a template's context is a dataclass or a mapping, not {type(context).__name__}")


def render_text(env: Environment, name: str, context: object) -> str:
    """Render template ``name`` with ``context`` (see ``variables``); a template mistake becomes a ConfigError."""
    try:
        return env.get_template(name).render(**variables(context))
    except TemplateError as exc:
        where = getattr(exc, "lineno", None)
        raise ConfigError(
            f"แม่แบบ {name} ใช้งานไม่ได้" + (f" (บรรทัด {where})" if where else "") + f": {exc}",
            "แก้แม่แบบในโฟลเดอร์ templates หรือคืนค่าจากสำเนาต้นฉบับของ devplan",
        ) from exc


@dataclass(frozen=True)
class Dated:
    """An output rendered once, the run's date still a mark: as people see it, and as it is fingerprinted."""

    text: str
    day: date

    @property
    def shown(self) -> str:
        """With the run's date, as written and mailed."""
        return self.text.replace(_RUN_DATE, thai_date(self.day))

    @property
    def undated(self) -> str:
        """With ``UNDATED`` in its place, so the date alone never makes an output look changed."""
        return self.text.replace(_RUN_DATE, thai_date(UNDATED))


def render_dated(env: Environment, name: str, summary: Any) -> Dated:
    """Render ``name`` once for a summary (a dataclass with ``run.generated_on``), the run's date a mark."""
    day = summary.run.generated_on
    marked = dataclasses.replace(summary, run=dataclasses.replace(summary.run, generated_on=RunDate(day.year, day.month, day.day)))
    return Dated(render_text(env, name, marked), day)


def parse_tab(rendered: str) -> FormattedTab:
    """A rendered ``.tsv`` template as a tab: its rows and how it looks (see the module's docstring)."""
    return _Parsed.of(rendered).tab()


def parse_dated(dated: Dated) -> tuple[FormattedTab, FormattedTab]:
    """A rendered ``.tsv`` template as its tab with the run's date (``Dated.shown``) and with ``UNDATED``
    (``Dated.undated``, to be fingerprinted): the same as ``parse_tab`` of each, parsed once.

    The date mark is never a number nor a marker, so only the text cells and notes holding it differ; the
    widths are fitted again only when a row that fits them holds it."""
    parsed = _Parsed.of(dated.text)
    shown = parsed.on(thai_date(dated.day)).tab()
    undated = parsed.on(thai_date(UNDATED))
    if not set(parsed.dated) & set(parsed.fitted):
        return shown, undated.tab(widths=list(shown.widths))
    return shown, undated.tab()


@dataclass
class _Parsed:
    """A rendered ``.tsv`` template split into rows, before its look is worked out (``tab``)."""

    rows: Table
    kinds: list[str]
    notes: dict[tuple[int, int], str]
    statuses: list[tuple[int, int]]
    #: the rows holding the run's date mark (``RunDate``)
    dated: list[int]

    @classmethod
    def of(cls, rendered: str) -> _Parsed:
        rows: Table = []
        kinds: list[str] = []
        notes: dict[tuple[int, int], str] = {}
        statuses: list[tuple[int, int]] = []
        dated: list[int] = []
        for line in rendered.split("\n"):
            kind = ""
            if line.startswith(ROW_MARK):
                kind, line = line[1:2], line[2:]
            if _RUN_DATE in line:
                dated.append(len(rows))
            if CELL_FLAG in line:
                cells = _flagged_cells(line, len(rows), notes, statuses)
            else:
                cells = [_typed(raw) for raw in line.split("\t")]
            while cells and cells[-1] == "":
                cells.pop()
            rows.append([None if v == "" else v for v in cells])
            kinds.append(kind)
        while rows and not rows[-1]:
            rows.pop()
            kinds.pop()
        width_of = [len(row) for row in rows]
        notes = {(r, c): t for (r, c), t in notes.items() if r < len(rows) and c < width_of[r]}
        statuses = [(r, c) for r, c in statuses if r < len(rows) and c < width_of[r] and rows[r][c] is not None]
        return cls(rows, kinds, notes, statuses, [r for r in dated if r < len(rows)])

    @property
    def fitted(self) -> list[int]:
        """The rows column widths are fitted to: table rows and headers, not titles or asides."""
        return [i for i, k in enumerate(self.kinds) if k in ("", HEADER) and self.rows[i]]

    def on(self, day: str) -> _Parsed:
        """With the run's date mark replaced by ``day`` (rows without it are shared)."""
        rows = list(self.rows)
        for r in self.dated:
            rows[r] = [v.replace(_RUN_DATE, day) if isinstance(v, str) else v for v in rows[r]]
        notes = {at: t.replace(_RUN_DATE, day) if at[0] in self.dated else t for at, t in self.notes.items()}
        return _Parsed(rows, self.kinds, notes, self.statuses, [])

    def tab(self, widths: list[int] | None = None) -> FormattedTab:
        """The tab: its rows (a list of its own) and its look; ``widths`` when already known."""
        titles = [i for i, k in enumerate(self.kinds) if k == TITLE]
        headers = [i for i, k in enumerate(self.kinds) if k == HEADER]
        return FormattedTab(
            rows=list(self.rows),
            bold_rows=frozenset(titles + headers),
            frozen_rows=frozen_rows(len(self.rows), titles, headers),
            widths=column_widths(self.rows, only=self.fitted) if widths is None else widths,
            notes=dict(self.notes),
            rules=status_rules(self.statuses, STATUS_MET, STATUS_NOT_MET),
        )


def _flagged_cells(line: str, r: int, notes: dict[tuple[int, int], str], statuses: list[tuple[int, int]]) -> list[Any]:
    """The cells of row ``r``, some with flags after their value; the notes and status cells go to
    ``notes`` and ``statuses``."""
    cells: list[Any] = []
    for c, raw in enumerate(line.split("\t")):
        if CELL_FLAG not in raw:
            cells.append(_typed(raw))
            continue
        value, _, flagged = raw.partition(CELL_FLAG)
        if flagged == "text":  # most flags
            cells.append(value.strip())
            continue
        flags = flagged.split(CELL_FLAG)
        cells.append(value.strip() if "text" in flags else _typed(value))
        for flag in flags:
            if flag.startswith("note="):
                notes[(r, c)] = flag[5:].replace(NOTE_BREAK, "\n")
            elif flag == "status":
                statuses.append((r, c))
    return cells


@short_texts_remembered(1 << 16)  # most cells of a run's tabs repeat (yes / no, counts, names)
def _typed(text: str) -> Any:
    """A cell's value: a short plain number as a number, anything else as its text (stripped)."""
    text = text.strip()
    if _NUMBER.match(text):
        number_ = float(text)
        return int(number_) if number_.is_integer() and "." not in text else number_
    return text
