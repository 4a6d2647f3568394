"""Render: Jinja templates turn summaries into sheet tabs, e-mail text and HTML.

One environment per run, ``StrictUndefined`` so a misspelt variable fails
loudly, autoescape on for ``.html``. Sheet tabs come from ``.tsv`` templates:
each output line is a row, cells split at tabs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Iterable

from markupsafe import Markup
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from pipeline.errors import ConfigError
from pipeline.thai import mask_ids_in_text, mask_national_id, normalize_national_id, thai_date
from pipeline.workbook import Table

# Only short plain numbers become numbers in a sheet; codes and IDs stay text.
_NUMBER = re.compile(r"^-?\d{1,9}(\.\d+)?$")


def percent(value: Any) -> str:
    """A percentage for people: ``85.3``; None (nobody counted) → ``-``."""
    return "-" if value is None else f"{float(value):.1f}".removesuffix(".0")


def cell(value: Any) -> str:
    """A value as one TSV cell: tabs and line breaks become spaces."""
    if value is None:
        return ""
    return re.sub(r"[\t\r\n]+", " ", str(value))


def bar(value: Any) -> str:
    """A percentage as a bar length in CSS or SVG units: clipped to 0–100, ``0`` for None."""
    if value is None:
        return "0"
    clipped = min(100.0, max(0.0, float(value)))
    return f"{clipped:.1f}".removesuffix(".0")


FILTERS: dict[str, Callable[..., str]] = {
    "percent": percent, "cell": cell, "thai_date": thai_date, "mask_id": mask_national_id, "bar": bar,
}


class MaskIds:
    """The environment's ``finalize``: every value a template prints passes here first.

    So no sheet tab, dashboard or e-mail can show a national ID whole, whatever
    field it was typed into; unit codes of the roster (``keep``) are left as they are.
    """

    def __init__(self) -> None:
        self.keep: frozenset[str] = frozenset()

    def __call__(self, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        text = str(value)
        masked = mask_ids_in_text(text, self.keep)
        if masked == text:
            return value
        return Markup(masked) if isinstance(value, Markup) else masked


def keep_unit_codes(env: Environment, codes: Iterable[Any]) -> None:
    """Tell the environment which digit runs are the roster's unit codes, not IDs."""
    env.finalize.keep = frozenset(normalize_national_id(c) for c in codes)  # type: ignore[attr-defined]


def build_environment(templates: str | Path) -> Environment:
    """The run's one Jinja environment; every printed value is masked (``MaskIds``)."""
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
    )
    env.filters.update(FILTERS)
    return env


def render_text(env: Environment, name: str, context: dict[str, Any]) -> str:
    """Render template ``name``; a template mistake becomes a ConfigError naming it."""
    try:
        return env.get_template(name).render(**context)
    except TemplateError as exc:
        where = getattr(exc, "lineno", None)
        raise ConfigError(
            f"แม่แบบ {name} ใช้งานไม่ได้" + (f" (บรรทัด {where})" if where else "") + f": {exc}",
            "แก้แม่แบบในโฟลเดอร์ templates หรือคืนค่าจากสำเนาต้นฉบับของ devplan",
        ) from exc


def render_sheet(env: Environment, name: str, context: dict[str, Any]) -> Table:
    """Render a ``.tsv`` template into rows for a sheet tab."""
    rows: Table = []
    for line in render_text(env, name, context).split("\n"):
        cells: list[Any] = [_typed(c) for c in line.split("\t")]
        while cells and cells[-1] == "":
            cells.pop()
        rows.append(cells)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _typed(text: str) -> Any:
    text = text.strip()
    if _NUMBER.match(text):
        number_ = float(text)
        return int(number_) if number_.is_integer() and "." not in text else number_
    return text
