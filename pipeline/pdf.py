"""Printing the report's HTML page to PDF, by WeasyPrint (Python only, the default) or headless Chromium.

WeasyPrint needs nothing but Python packages and the Pango library that Linux desktops
and servers carry; the Thai face is Sarabun (OFL), shipped as the ``fontpkg-sarabun``
package, so the PDF looks the same on every machine. Chromium, where installed, may
print instead (``--engine chromium`` or ``DEVPLAN_PDF_ENGINE=chromium``).

**The text layer.** A PDF viewer copies and searches the text that the PDF maps each
drawn glyph to. WeasyPrint maps a glyph to the text of the shaping cluster it belongs
to, once per glyph: a cluster of two glyphs leaves one of them with no text, and a glyph
used in two clusters keeps the first one's text. Thai sara am (ำ) is such a cluster: the
shaper splits it into nikhahit and sara aa, so copying "การ" gave "กำร" and "ทำ" gave
junk. The copy of Sarabun prepared here (``thai_pdf_font``) draws every sara am, with or
without a tone mark before it, as one glyph of its own, so every glyph maps to exactly
the text it stands for. That copy also gives each upper mark's outline a point on the
baseline (an invisible one-point contour): a mark raised above another (the tone in
ทั้ง) then still overlaps its line, so PDF readers do not read it as a line of its own.
Neither change moves a single pixel of what is drawn.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

from pipeline.errors import ConfigError, PublishError

log = logging.getLogger(__name__)

ENGINES = ("weasyprint", "chromium")
ENGINE_VARIABLE = "DEVPLAN_PDF_ENGINE"
DEFAULT_ENGINE = "weasyprint"

#: Browsers that can print the report, tried in this order (DEVPLAN_CHROMIUM overrides).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
)

#: The family name the prepared Sarabun copy is loaded under; every element of the page uses it.
#: It is also loaded as "Sarabun", the name the charts' SVG text asks for (WeasyPrint draws inline
#: SVG with the SVG's own attributes, not the page's CSS).
FONT_FAMILY = "devplan Sarabun"
SVG_FAMILY = "Sarabun"
#: (file stem in fontpkg-sarabun, CSS weight, CSS style): the faces the report uses
FONT_FACES = (("Regular", 400, "normal"), ("Bold", 700, "normal"))
NIKHAHIT, SARA_AA = 0x0E4D, 0x0E32
GDEF_BASE, GDEF_MARK = 1, 3


def choose_engine(engine: str | None = None) -> str:
    """The engine asked for (flag, then DEVPLAN_PDF_ENGINE), else WeasyPrint."""
    if engine:
        return engine
    chosen = os.environ.get(ENGINE_VARIABLE, "").strip().lower()
    if not chosen:
        return DEFAULT_ENGINE
    if chosen not in ENGINES:
        raise ConfigError(
            f"ตัวแปร {ENGINE_VARIABLE} มีค่า {chosen!r} ซึ่งไม่รู้จัก",
            f"ใช้ {' หรือ '.join(ENGINES)} หรือลบตัวแปรนี้เพื่อใช้ค่าเริ่มต้น ({DEFAULT_ENGINE})",
        )
    return chosen


def check_engine(engine: str) -> None:
    """Fail early, before the slow part, when ``engine`` cannot run on this machine."""
    if engine == "chromium":
        require_browser()
    else:
        _weasyprint()


def print_pdf(html: str, pdf: Path, engine: str) -> None:
    """Print the page ``html`` (self-contained: inline CSS and SVG) to ``pdf``."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if engine == "chromium":
        with tempfile.TemporaryDirectory(prefix="devplan-report-") as folder:
            page = Path(folder) / "report.html"
            page.write_text(html, encoding="utf-8")
            print_with_chromium(page, pdf, require_browser())
    else:
        print_with_weasyprint(html, pdf)


# --- WeasyPrint ----------------------------------------------------------------------------


def _weasyprint():  # type: ignore[no-untyped-def]
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise PublishError(
            f"ทำรายงาน PDF ด้วย WeasyPrint ไม่ได้ ({exc.__class__.__name__}: {exc})",
            "ติดตั้งไลบรารี Pango (Debian/Ubuntu: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0; "
            "Windows: ดูคู่มือการติดตั้ง WeasyPrint) หรือใช้ Chromium ที่มีในเครื่อง (--engine chromium) "
            "หรือสั่ง --format html แล้วพิมพ์จากเบราว์เซอร์",
        ) from None
    return weasyprint


def print_with_weasyprint(html: str, pdf: Path) -> None:
    """Lay out and print ``html`` with WeasyPrint, every text in the prepared Sarabun copy."""
    weasyprint = _weasyprint()
    from weasyprint.text.fonts import FontConfiguration

    with tempfile.TemporaryDirectory(prefix="devplan-fonts-") as folder:
        faces = []
        for stem, weight, style in FONT_FACES:
            path = thai_pdf_font(_sarabun(stem), Path(folder) / f"Sarabun-{stem}.ttf")
            faces += [f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); '
                      f"font-weight: {weight}; font-style: {style}; }}" for family in (FONT_FAMILY, SVG_FAMILY)]
        every = f'font-family: "{FONT_FAMILY}", sans-serif !important;'
        css = "\n".join([*faces, f"* {{ {every} }}",
                         f"@page {{ @bottom-left {{ {every} }} @bottom-right {{ {every} }} }}"])
        fonts = FontConfiguration()
        stylesheet = weasyprint.CSS(string=css, font_config=fonts)
        # WeasyPrint warns about every CSS property it does not know (e.g. print-color-adjust);
        # those are the browser's, not a problem of the report.
        quiet = logging.getLogger("weasyprint")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            weasyprint.HTML(string=html).write_pdf(pdf, stylesheets=[stylesheet], font_config=fonts)
        finally:
            quiet.setLevel(level)


def _sarabun(stem: str) -> Path:
    import fontpkg_sarabun

    return Path(fontpkg_sarabun.ROOT) / "files" / f"Sarabun-{stem}.ttf"


def thai_pdf_font(source: Path, target: Path) -> Path:
    """Write to ``target`` a copy of the Thai font ``source`` whose PDF text layer reads right.

    Two changes, neither of which moves what is drawn:

    - a ligature, applied after the font's own substitutions, joins every form of nikhahit
      (alone, narrow, or with a tone mark) with the sara aa that follows into one glyph of
      its own, the mark placed where the font's positioning puts it after the base before:
      the sara am that the shaper split (ำ → ํ + า) is one glyph again, so each glyph stands
      for exactly one cluster's text (see the module's docstring);
    - every upper mark gets a one-point contour on the baseline, so its box reaches its line.
    """
    target.write_bytes(_prepared_font(source))
    return target


@functools.lru_cache(maxsize=None)
def _prepared_font(source: Path) -> bytes:
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    _join_sara_am(font, TTFont(source))
    _ground_upper_marks(font)
    if "DSIG" in font:
        del font["DSIG"]  # the signature of the original no longer holds
    data = io.BytesIO()
    font.save(data)
    return data.getvalue()


def _subtables(gsub: Any) -> Iterator[tuple[int, Any]]:  # fontTools tables: untyped
    for lookup in gsub.LookupList.Lookup:
        for sub in lookup.SubTable:
            if lookup.LookupType == 7:  # extension: the real subtable inside
                yield sub.ExtSubTable.LookupType, sub.ExtSubTable
            else:
                yield lookup.LookupType, sub


def nikhahit_forms(font) -> list[str]:  # type: ignore[no-untyped-def]
    """Nikhahit's glyph and every mark glyph the font's own substitutions make of it."""
    gsub = font["GSUB"].table
    classes = font["GDEF"].table.GlyphClassDef.classDefs
    forms = {font.getBestCmap()[NIKHAHIT]}
    while True:
        found = set(forms)
        for kind, sub in _subtables(gsub):
            if kind == 1:  # single: a narrow or small form
                found |= {out for glyph, out in sub.mapping.items() if glyph in forms}
            elif kind == 4:  # ligature: nikhahit with a tone mark, in either order
                found |= {lig.LigGlyph for first, ligatures in sub.ligatures.items() for lig in ligatures
                          if first in forms or forms & set(lig.Component)}
        found = {glyph for glyph in found if classes.get(glyph) == GDEF_MARK}
        if found == forms:
            return sorted(forms, key=font.getGlyphID)
        forms = found


def _mark_offsets(font, marks: list[str]) -> dict[str, tuple[tuple[int, int], ...]]:  # type: ignore[no-untyped-def]
    """Base glyph -> where the font's mark-to-base positioning puts each of ``marks`` after it.

    An offset is relative to the pen after the base (where a mark of zero advance stands before
    positioning); a base no lookup covers leaves every mark at (0, 0). As in the shaper, a later
    lookup overrides an earlier one.
    """
    hmtx = font["hmtx"]
    found: dict[str, dict[str, tuple[int, int]]] = {}
    for lookup in font["GPOS"].table.LookupList.Lookup:
        for sub in lookup.SubTable:
            if lookup.LookupType == 9:
                sub = sub.ExtSubTable
            if sub.LookupType != 4:
                continue
            covered = sub.MarkCoverage.glyphs
            for mark in marks:
                if mark not in covered:
                    continue
                record = sub.MarkArray.MarkRecord[covered.index(mark)]
                for base, base_record in zip(sub.BaseCoverage.glyphs, sub.BaseArray.BaseRecord):
                    anchor = base_record.BaseAnchor[record.Class]
                    if anchor is not None:
                        found.setdefault(base, {})[mark] = (
                            anchor.XCoordinate - record.MarkAnchor.XCoordinate - hmtx[base][0],
                            anchor.YCoordinate - record.MarkAnchor.YCoordinate,
                        )
    return {base: tuple(by_mark.get(mark, (0, 0)) for mark in marks) for base, by_mark in found.items()}


def _join_sara_am(font, original) -> None:  # type: ignore[no-untyped-def]
    """Ligatures (mark form of nikhahit + sara aa) -> one composite glyph, the mark placed where
    the font's positioning would have put it after the base before it.

    ``original``: the same font opened again, to read positioning from (decompiling GPOS in
    ``font`` would make saving it recompile that table, five times slower).
    """
    from fontTools.ttLib.tables import otTables
    from fontTools.ttLib.tables._g_l_y_f import Glyph, GlyphComponent

    glyf, hmtx = font["glyf"], font["hmtx"]
    classes = font["GDEF"].table.GlyphClassDef.classDefs
    aa = font.getBestCmap()[SARA_AA]
    marks = nikhahit_forms(font)
    by_offsets: dict[tuple[tuple[int, int], ...], list[str]] = {}
    for base, offsets in _mark_offsets(original, marks).items():
        by_offsets.setdefault(offsets, []).append(base)
    unplaced = tuple((0, 0) for _ in marks)  # after a base the positioning does not know
    order = list(font.getGlyphOrder())

    def composite(mark: str, offset: tuple[int, int]) -> str:
        name = f"{mark}_{aa}.devplan{'' if offset == (0, 0) else f'{offset[0]}_{offset[1]}'}"
        if name in glyf:
            return name
        glyph = Glyph()
        glyph.numberOfContours = -1
        glyph.components = []
        for part, (x, y) in ((mark, offset), (aa, (0, 0))):
            component = GlyphComponent()
            component.glyphName, component.x, component.y, component.flags = part, x, y, 0
            glyph.components.append(component)
        glyf[name] = glyph
        order.append(name)
        hmtx[name] = (hmtx[aa][0], 0)  # the advance of sara aa; the side bearing is set below
        classes[name] = GDEF_BASE
        return name

    def ligatures(offsets: tuple[tuple[int, int], ...]):  # type: ignore[no-untyped-def]
        subtable = otTables.LigatureSubst()
        subtable.Format, subtable.ligatures = 1, {}
        for mark, offset in zip(marks, offsets):
            ligature = otTables.Ligature()
            ligature.Component, ligature.LigGlyph = [aa], composite(mark, offset)
            subtable.ligatures[mark] = [ligature]
        return _lookup(otTables, 4, [subtable])

    def coverage(glyphs: list[str]):  # type: ignore[no-untyped-def]
        table = otTables.Coverage()
        table.glyphs = sorted(set(glyphs), key=font.getGlyphID)
        return table

    gsub = font["GSUB"].table
    lookups = gsub.LookupList.Lookup
    contextual = []
    for offsets, bases in sorted(by_offsets.items()):
        if offsets == unplaced:
            continue
        lookups.append(ligatures(offsets))
        rule = otTables.ChainContextSubst()
        rule.Format = 3
        rule.BacktrackGlyphCount, rule.BacktrackCoverage = 1, [coverage(bases)]
        rule.InputGlyphCount, rule.InputCoverage = 2, [coverage(marks), coverage([aa])]
        rule.LookAheadGlyphCount, rule.LookAheadCoverage = 0, []
        record = otTables.SubstLookupRecord()
        record.SequenceIndex, record.LookupListIndex = 0, len(lookups) - 1
        rule.SubstCount, rule.SubstLookupRecord = 1, [record]
        contextual.append(rule)
    applied = []
    if contextual:
        lookups.append(_lookup(otTables, 6, contextual))
        applied.append(len(lookups) - 1)
    lookups.append(ligatures(unplaced))  # every other sara am
    applied.append(len(lookups) - 1)
    gsub.LookupList.LookupCount = len(lookups)
    font.setGlyphOrder(order)
    glyf.glyphOrder = order
    for name in order:
        if name.startswith("uni") and ".devplan" in name:
            glyph = glyf[name]
            glyph.recalcBounds(glyf)
            hmtx[name] = (hmtx[aa][0], glyph.xMin)
    for record in gsub.FeatureList.FeatureRecord:
        if record.FeatureTag == "ccmp":  # the last lookups: after the font's own sara am forms
            record.Feature.LookupListIndex.extend(applied)
            record.Feature.LookupCount = len(record.Feature.LookupListIndex)


def _lookup(otTables, kind: int, subtables: list):  # type: ignore[no-untyped-def]
    lookup = otTables.Lookup()
    lookup.LookupType, lookup.LookupFlag, lookup.SubTable, lookup.SubTableCount = kind, 0, subtables, len(subtables)
    return lookup


def _ground_upper_marks(font) -> None:  # type: ignore[no-untyped-def]
    glyf = font["glyf"]
    classes = font["GDEF"].table.GlyphClassDef.classDefs
    for name, kind in classes.items():
        glyph = glyf[name]
        if kind != GDEF_MARK or glyph.isComposite() or glyph.numberOfContours <= 0:
            continue  # a composite mark reaches the baseline through its parts
        glyph.recalcBounds(glyf)
        if glyph.yMin <= 0:
            continue
        coordinates, ends, flags = glyph.getCoordinates(glyf)
        coordinates.append((glyph.xMin, 0))
        flags.append(1)  # on-curve; a contour of one point encloses nothing and draws nothing
        glyph.coordinates, glyph.flags = coordinates, flags
        glyph.endPtsOfContours = [*ends, len(coordinates) - 1]
        glyph.numberOfContours += 1


# --- Chromium ------------------------------------------------------------------------------


def find_browser() -> str | None:
    """The Chromium that prints the PDF: DEVPLAN_CHROMIUM, else the first browser on PATH."""
    chosen = os.environ.get("DEVPLAN_CHROMIUM")
    if chosen:
        return shutil.which(chosen)
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def require_browser() -> str:
    browser = find_browser()
    if browser is None:
        raise PublishError(
            "ทำรายงาน PDF ด้วย Chromium ไม่ได้ เพราะไม่พบโปรแกรม Chromium ในเครื่องนี้",
            "ใช้ --engine weasyprint (ค่าเริ่มต้น ไม่ต้องมีเบราว์เซอร์) หรือติดตั้ง Chromium "
            "(Debian/Ubuntu: sudo apt-get install chromium fonts-thai-tlwg) หรือระบุตำแหน่งโปรแกรมในตัวแปร "
            "DEVPLAN_CHROMIUM",
        )
    return browser


def print_with_chromium(html: Path, pdf: Path, browser: str, timeout: float = 120) -> None:
    """Print ``html`` to ``pdf`` (A4, as the page's print CSS says) with headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="devplan-chromium-") as profile:
        command = [
            browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf.resolve()}",
            "--no-pdf-header-footer", html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PublishError(
                f"Chromium พิมพ์รายงานเป็น PDF ไม่เสร็จภายใน {timeout:.0f} วินาที",
                "สั่งใหม่อีกครั้ง หรือใช้ --engine weasyprint",
            ) from None
    if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise PublishError(
            f"Chromium พิมพ์รายงานเป็น PDF ไม่สำเร็จ (รหัส {done.returncode}): {' '.join(detail)}",
            "ตรวจว่า Chromium เปิดได้ (chromium --headless --version) หรือใช้ --engine weasyprint",
        )
