"""The shared style table of an ``.xlsx`` (``xl/styles.xml``): devplan only ever appends to it.

Cells and conditional rules point at style entries by index, so an existing
entry may never change or move. devplan appends the few entries its own tab
needs (a bold font, cell formats for bold rows and dates, the rules' colours)
unless an identical one is already there. A style table that lacks a list
(down to an empty ``<styleSheet/>``, which Excel-compatible readers open) gets
that list created in its schema place, starting with the default entry every
unstyled cell already means.

Edits are textual insertions, never a re-serialisation, for the reason given
in ``pipeline.workbook.xlsx``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_P = r"(?:[A-Za-z_][\w.-]*:)?"
#: A tag, comment, processing instruction or CDATA section; attribute values may hold '>'.
_TAG = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<!DOCTYPE[^>]*>"
    r"""|<(/?)([^\s/>!?]+)(?:[^>"']|"[^"]*"|'[^']*')*?(/?)>""",
    re.DOTALL,
)

#: The lists of a style sheet in schema order (CT_Stylesheet).
ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
         "tableStyles", "colors", "extLst")
#: The entries a list must start with when devplan has to create it: what index 0 already means.
_DEFAULTS = {
    "fonts": ['<{p}font><{p}sz val="11"/><{p}name val="Calibri"/><{p}family val="2"/></{p}font>'],
    "fills": ['<{p}fill><{p}patternFill patternType="none"/></{p}fill>',
              '<{p}fill><{p}patternFill patternType="gray125"/></{p}fill>'],
    "borders": ["<{p}border><{p}left/><{p}right/><{p}top/><{p}bottom/><{p}diagonal/></{p}border>"],
    "cellStyleXfs": ['<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'],
    "cellXfs": ['<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'],
    "cellStyles": ['<{p}cellStyle name="Normal" xfId="0" builtinId="0"/>'],
    "dxfs": [],
}
_ENTRY = {"fonts": "font", "fills": "fill", "borders": "border", "cellStyleXfs": "xf", "cellXfs": "xf",
          "cellStyles": "cellStyle", "dxfs": "dxf"}


def blank_styles(main_ns: str) -> bytes:
    """A style sheet with only the defaults, for a package that has none."""
    body = "".join(
        f'<{name} count="{len(entries)}">{"".join(e.format(p="") for e in entries)}</{name}>'
        for name, entries in _DEFAULTS.items() if entries
    )
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{main_ns}">{body}'
            "</styleSheet>").encode()


@dataclass
class _Root:
    """The root element's spans and its top-level children (local name -> (prefix, start, end))."""

    prefix: str
    open_end: int  # end of the root's start tag
    close_start: int  # start of its end tag (-1 when the root is an empty element)
    empty_start: int  # start of the empty root tag, when it is one
    children: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    order: list[tuple[str, int]] = field(default_factory=list)  # (local name, start) in document order


@lru_cache(maxsize=4)
def _root(text: str) -> _Root:
    """The root's spans and its children (cached: one edit asks of the same text several times; read only)."""
    depth = 0
    root: _Root | None = None
    child: tuple[str, str, int] | None = None  # local name, prefix, start
    for match in _TAG.finditer(text):
        closing, qname, empty = match.group(1), match.group(2), match.group(3)
        if qname is None:
            continue
        prefix, _, local = qname.rpartition(":")
        prefix = prefix + ":" if prefix else ""
        if not closing:
            if root is None:
                if empty:
                    return _Root(prefix, match.end(), -1, match.start())
                root = _Root(prefix, match.end(), -1, -1)
                depth = 1
                continue
            if depth == 1:
                child = (local, prefix, match.start())
                if empty:
                    _add_child(root, child, match.end())
                    child = None
                    continue
            if not empty:
                depth += 1
        else:
            depth -= 1
            if depth == 0 and root is not None:
                root.close_start = match.start()
                return root
            if depth == 1 and child is not None and root is not None:
                _add_child(root, child, match.end())
                child = None
    raise ValueError("styles part has no root element")


def _add_child(root: _Root, child: tuple[str, str, int], end: int) -> None:
    local, prefix, start = child
    root.children.setdefault(local, (prefix, start, end))
    root.order.append((local, start))


def _entries(element: str) -> re.Pattern[str]:
    """Each ``<element>`` entry (empty or with content) inside its collection."""
    return re.compile(rf"<{_P}{element}\b[^>]*?(?:/>|>.*?</{_P}{element}\s*>)", re.DOTALL)


@dataclass
class _Collection:
    """One list of ``xl/styles.xml`` (fonts, cellXfs, dxfs) that devplan may only append to."""

    text: str
    element: str
    prefix: str = ""
    start: int = -1
    end: int = -1
    attrs: str = ""
    inner: str = ""
    entries: list[str] = field(default_factory=list)
    added: bool = False

    def find(self) -> bool:
        span = _root(self.text).children.get(self.element)
        if span is None:
            return False
        _, self.start, self.end = span
        block = re.match(
            rf"<({_P}){self.element}\b([^>]*?)(?:/>|>(.*)</{_P}{self.element}\s*>)\Z",
            self.text[self.start:self.end], re.DOTALL,
        )
        assert block is not None
        self.prefix, self.attrs, self.inner = block.group(1), block.group(2), block.group(3) or ""
        self.entries = [m.group(0) for m in _entries(_ENTRY[self.element]).finditer(self.inner)]
        return True

    def index(self, entry: str) -> int:
        """The index of an identical existing entry, or of ``entry`` appended."""
        if entry in self.entries:
            return self.entries.index(entry)
        self.entries.append(entry)
        self.inner += entry
        self.added = True
        return len(self.entries) - 1

    def rebuilt(self) -> str:
        attrs = self.attrs.rstrip("/").rstrip()
        if re.search(r'\scount="\d+"', attrs):
            attrs = re.sub(r'(\scount=")\d+(")', rf"\g<1>{len(self.entries)}\g<2>", attrs)
        else:
            attrs += f' count="{len(self.entries)}"'
        return f"<{self.prefix}{self.element}{attrs}>{self.inner}</{self.prefix}{self.element}>"

    def saved(self) -> str:
        """The whole style sheet with this list as appended to."""
        return self.text[: self.start] + self.rebuilt() + self.text[self.end:] if self.added else self.text


def _ensure(text: str, name: str) -> str:
    """The style sheet with list ``name`` present and holding at least its default entries.

    A missing list is created before the first later list of the schema (or
    at the end); an empty one gets its defaults appended.
    """
    root = _root(text)
    prefix = root.prefix
    defaults = [e.format(p=prefix) for e in _DEFAULTS[name]]
    if name in root.children:
        found = _Collection(text, name)
        found.find()
        if not found.entries:
            for entry in defaults:
                found.index(entry)
        return found.saved()
    block = f'<{prefix}{name} count="{len(defaults)}">{"".join(defaults)}</{prefix}{name}>'
    later = set(ORDER[ORDER.index(name) + 1:])
    at = next((start for local, start in root.order if local in later), None)
    if at is not None:
        return text[:at] + block + text[at:]
    if root.close_start >= 0:
        return text[: root.close_start] + block + text[root.close_start:]
    tag = text[root.empty_start: root.open_end]
    opened = tag[:-2].rstrip() + ">"
    local = tag[1:].split(None, 1)[0].rstrip("/")
    return text[: root.empty_start] + opened + block + f"</{local}>" + text[root.open_end:]


def _plain_xf(number_format: int) -> str:
    """Attributes of the plain cell format devplan appends for a built-in number format."""
    return f'numFmtId="{number_format}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'


def _bold_xf(number_format: int, font: int) -> str:
    """Attributes of the bold cell format devplan appends (with a built-in number format, or General)."""
    apply_number = ' applyNumberFormat="1"' if number_format else ""
    return f'numFmtId="{number_format}" fontId="{font}" fillId="0" borderId="0" xfId="0" applyFont="1"{apply_number}'


@dataclass(frozen=True)
class Dxf:
    """A differential format for a conditional rule: fill and text colours as ``RRGGBB``."""

    fill: str
    color: str


def ensure_styles(
    styles: bytes, cell_styles: set[tuple[int, bool]], dxfs: list[Dxf] | None = None
) -> tuple[bytes, dict[tuple[int, bool], int], dict[Dxf, int]]:
    """Style indexes for cells and conditional rules, appending entries to ``xl/styles.xml`` as needed.

    ``cell_styles`` holds (built-in number format, bold) pairs; (0, False) is
    the default style and needs none. A bold font is the workbook's default
    font with ``<b/>``. An existing entry is reused only if it is exactly the
    one devplan would append; no existing entry is changed or moved.
    """
    new, xf_map, dxf_map = _ensured(styles, frozenset(cell_styles), tuple(dxfs or ()))
    return new, dict(xf_map), dict(dxf_map)


@lru_cache(maxsize=4)
def _ensured(
    styles: bytes, cell_styles: frozenset[tuple[int, bool]], dxfs: tuple[Dxf, ...]
) -> tuple[bytes, dict[tuple[int, bool], int], dict[Dxf, int]]:
    """``ensure_styles``, remembered: files made from one template share their style table, so each
    distinct table is edited once a run (callers get copies of the maps)."""
    text = styles.decode("utf-8")
    wanted = sorted(s for s in cell_styles if s != (0, False))
    xf_map: dict[tuple[int, bool], int] = {}
    dxf_map: dict[Dxf, int] = {}
    if wanted:
        for name in ("fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles"):
            text = _ensure(text, name)
        font_id = 0
        if any(bold for _, bold in wanted):
            fonts = _Collection(text, "fonts")
            fonts.find()
            font_id = fonts.index(_bold_font(fonts.entries[0], fonts.prefix))
            text = fonts.saved()
        xfs = _Collection(text, "cellXfs")
        xfs.find()
        for number_format, bold in wanted:
            attrs = _bold_xf(number_format, font_id) if bold else _plain_xf(number_format)
            xf_map[(number_format, bold)] = xfs.index(f"<{xfs.prefix}xf {attrs}/>")
        text = xfs.saved()
    if dxfs:
        text = _ensure(text, "dxfs")
        block = _Collection(text, "dxfs")
        block.find()
        p = block.prefix
        for dxf in dxfs:
            dxf_map[dxf] = block.index(
                f'<{p}dxf><{p}font><{p}color rgb="FF{dxf.color}"/></{p}font>'
                f'<{p}fill><{p}patternFill patternType="solid"><{p}bgColor rgb="FF{dxf.fill}"/>'
                f"</{p}patternFill></{p}fill></{p}dxf>"
            )
        text = block.saved()
    new = text.encode("utf-8")
    return (styles if new == styles else new), xf_map, dxf_map


def _bold_font(font: str, prefix: str) -> str:
    """The default font entry made bold (itself when it already is)."""
    if re.search(rf"<{_P}b(\s+val=\"(1|true)\")?\s*/>", font):
        return font
    opened = re.match(rf"<({_P})font\b([^>]*?)(/?)>", font)
    assert opened is not None
    tag_prefix, attrs, empty = opened.group(1), opened.group(2), opened.group(3)
    if empty:
        return f"<{tag_prefix}font{attrs}><{tag_prefix}b/></{tag_prefix}font>"
    return f"<{tag_prefix}font{attrs}><{tag_prefix}b/>{font[opened.end():]}"
