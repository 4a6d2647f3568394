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
junk. And a mark that positioning moves up or down (a tone mark stacked over an upper
vowel, ทั้ง) WeasyPrint draws with a text rise, as a text object of its own, which PDF
readers read apart from its word (on a line of its own, after the next letter, with a
space). The copy of Sarabun prepared here (``thai_pdf_font``) draws every sara am, with
or without a tone mark before it, as one glyph of its own; draws every tone mark stacked
over an upper vowel as a copy already moved into place, so nothing is moved by the PDF;
and gives each upper mark's outline an invisible point on the baseline, so its box
reaches its line. Sara am and the marks' boxes draw exactly as before; a stacked tone mark
lands where the font's positioning puts it, as Chromium draws it (WeasyPrint's own text
rise left it 10-30 font units off).
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
from typing import Any, Iterable, Iterator

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
THAI_CONSONANTS = range(0x0E01, 0x0E2F)  # ก … ฮ
TONE_MARKS = (0x0E48, 0x0E49, 0x0E4A, 0x0E4B, 0x0E4C)  # ่ ้ ๊ ๋ and thanthakhat ์
UPPER_VOWELS = (0x0E31, 0x0E34, 0x0E35, 0x0E36, 0x0E37, 0x0E47)  # ั ิ ี ึ ื ็
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


def _weasyprint() -> Any:
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

    Three changes (see the module's docstring for why):

    - a ligature, applied after the font's own substitutions, joins every form of nikhahit
      (alone, narrow, or with a tone mark) with the sara aa that follows into one glyph of
      its own, the mark placed where the font's positioning puts it after the consonant
      before: the sara am that the shaper split (ำ → ํ + า) is one glyph again, so each glyph
      stands for exactly one cluster's text;
    - a tone mark over an upper vowel becomes a copy drawn where the positioning moves it;
    - every upper mark gets a one-point contour on the baseline, so its box reaches its line.
    """
    target.write_bytes(_prepared_font(source))
    return target


@functools.lru_cache(maxsize=None)
def _prepared_font(source: Path) -> bytes:
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    _join_sara_am(font, TTFont(source))
    _place_stacked_marks(font)
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


def glyph_forms(font: Any, codepoints: Iterable[int], kind: int = GDEF_MARK,
                with_ligatures: bool = False) -> list[str]:
    """The glyphs of ``codepoints`` and every glyph of the same GDEF ``kind`` the font's own
    substitutions make of them (a narrow, small or short form; with ``with_ligatures``, a mark
    joined with another, as nikhahit with a tone mark)."""
    gsub = font["GSUB"].table
    classes = font["GDEF"].table.GlyphClassDef.classDefs
    cmap = font.getBestCmap()
    forms = {cmap[c] for c in codepoints if c in cmap and classes.get(cmap[c]) == kind}
    while True:
        found = set(forms)
        for lookup_type, sub in _subtables(gsub):
            if lookup_type == 1:
                found |= {out for glyph, out in sub.mapping.items() if glyph in forms}
            elif lookup_type == 4 and with_ligatures:
                found |= {lig.LigGlyph for first, ligatures in sub.ligatures.items() for lig in ligatures
                          if first in forms or forms & set(lig.Component)}
        found = {glyph for glyph in found if classes.get(glyph) == kind}
        if found == forms:
            return sorted(forms, key=font.getGlyphID)
        forms = found


def nikhahit_forms(font: Any) -> list[str]:
    """Nikhahit's glyph and every mark glyph the font makes of it, alone or with a tone mark."""
    return glyph_forms(font, (NIKHAHIT,), with_ligatures=True)


def _mark_offsets(font: Any, marks: list[str], bases: set[str]) -> dict[str, tuple[tuple[int, int], ...]]:
    """Each of ``bases`` -> where the font's mark-to-base positioning puts each of ``marks`` after it.

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
                    if anchor is not None and base in bases:
                        found.setdefault(base, {})[mark] = (
                            anchor.XCoordinate - record.MarkAnchor.XCoordinate - hmtx[base][0],
                            anchor.YCoordinate - record.MarkAnchor.YCoordinate,
                        )
    return {base: tuple(by_mark.get(mark, (0, 0)) for mark in marks) for base, by_mark in found.items()}


def _join_sara_am(font: Any, original: Any) -> None:
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
    consonants = set(glyph_forms(original, THAI_CONSONANTS, kind=GDEF_BASE))  # what a sara am follows
    for base, offsets in _mark_offsets(original, marks, consonants).items():
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

    def ligatures(offsets: tuple[tuple[int, int], ...]) -> Any:
        subtable = otTables.LigatureSubst()
        subtable.Format, subtable.ligatures = 1, {}
        for mark, offset in zip(marks, offsets):
            ligature = otTables.Ligature()
            ligature.Component, ligature.LigGlyph = [aa], composite(mark, offset)
            subtable.ligatures[mark] = [ligature]
        return _lookup(otTables, 4, [subtable])

    gsub = font["GSUB"].table
    lookups = gsub.LookupList.Lookup
    contextual = []
    for offsets, bases in sorted(by_offsets.items()):
        if offsets == unplaced:
            continue
        lookups.append(ligatures(offsets))
        rule = otTables.ChainContextSubst()
        rule.Format = 3
        rule.BacktrackGlyphCount, rule.BacktrackCoverage = 1, [_coverage(otTables, font, bases)]
        rule.InputGlyphCount, rule.InputCoverage = 2, [_coverage(otTables, font, marks), _coverage(otTables, font, [aa])]
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
    font.setGlyphOrder(order)
    glyf.glyphOrder = order
    for name in order:
        if name.startswith("uni") and ".devplan" in name:
            glyph = glyf[name]
            glyph.recalcBounds(glyf)
            hmtx[name] = (hmtx[aa][0], glyph.xMin)
    _apply_last(gsub, applied)  # after the font's own sara am forms


def _apply_last(gsub: Any, indices: list[int]) -> None:
    """Apply the lookups at ``indices`` (just appended) with the font's own ``ccmp`` substitutions;
    the shaper applies lookups in the order of their indices, so these come after them."""
    gsub.LookupList.LookupCount = len(gsub.LookupList.Lookup)
    for feature in gsub.FeatureList.FeatureRecord:
        if feature.FeatureTag == "ccmp":
            feature.Feature.LookupListIndex.extend(indices)
            feature.Feature.LookupCount = len(feature.Feature.LookupListIndex)


def _lookup(otTables: Any, kind: int, subtables: list[Any]) -> Any:
    lookup = otTables.Lookup()
    lookup.LookupType, lookup.LookupFlag, lookup.SubTable, lookup.SubTableCount = kind, 0, subtables, len(subtables)
    return lookup


def _place_stacked_marks(font: Any) -> None:
    """Tone marks over an upper vowel drawn where they go, not moved there by positioning.

    The font's mark-to-mark positioning moves a tone mark that follows an upper vowel (ทั้ง, and
    far to the left after ป ฝ ฟ). WeasyPrint shows a glyph moved up or down with a text rise, as a
    text object of its own, and a glyph moved sideways with spacing around it; PDF readers then
    read the mark apart from its word (on a line of its own, after the next letter, or with a
    space). For every (tone mark, move) the positioning gives, a copy of the mark drawn moved so
    takes its place after the vowels that move it so (a contextual substitution), and the same
    positioning places the copy with its anchor moved as much: the mark lands where the font puts
    it (where Chromium draws it), and the PDF moves nothing.
    """
    from fontTools.ttLib.tables import otTables
    from fontTools.ttLib.tables._g_l_y_f import Glyph, GlyphComponent

    tones, vowels = set(glyph_forms(font, TONE_MARKS)), set(glyph_forms(font, UPPER_VOWELS))
    glyf, hmtx, gdef = font["glyf"], font["hmtx"], font["GDEF"].table
    attach = gdef.MarkAttachClassDef.classDefs if gdef.MarkAttachClassDef else {}
    order = list(font.getGlyphOrder())
    placed: dict[tuple[str, tuple[int, int]], str] = {}

    def copy_placed(mark: str, move: tuple[int, int]) -> str:
        if (mark, move) not in placed:
            name = placed[(mark, move)] = f"{mark}.devplan{_signed(move[0])}_{_signed(move[1])}"
            glyph = Glyph()
            glyph.numberOfContours = -1
            component = GlyphComponent()
            component.glyphName, (component.x, component.y), component.flags = mark, move, 0
            glyph.components = [component]
            glyf[name] = glyph
            order.append(name)
            hmtx[name] = hmtx[mark]
            gdef.GlyphClassDef.classDefs[name] = GDEF_MARK
            if mark in attach:
                attach[name] = attach[mark]
        return placed[(mark, move)]

    # (lookup flag, move, vowels) -> {tone mark: its placed copy}
    rules: dict[tuple[int, tuple[int, int], frozenset[str]], dict[str, str]] = {}
    for lookup in font["GPOS"].table.LookupList.Lookup:
        for sub in lookup.SubTable:
            sub = sub.ExtSubTable if lookup.LookupType == 9 else sub
            if sub.LookupType != 6:
                continue
            moves: dict[tuple[str, tuple[int, int]], set[str]] = {}
            for mark, record in zip(sub.Mark1Coverage.glyphs, sub.Mark1Array.MarkRecord):
                if mark not in tones:
                    continue
                for vowel, vowel_record in zip(sub.Mark2Coverage.glyphs, sub.Mark2Array.Mark2Record):
                    anchor = vowel_record.Mark2Anchor[record.Class]
                    if vowel not in vowels or anchor is None:
                        continue
                    move = (anchor.XCoordinate - record.MarkAnchor.XCoordinate,
                            anchor.YCoordinate - record.MarkAnchor.YCoordinate)
                    if move != (0, 0):
                        moves.setdefault((mark, move), set()).add(vowel)
            added = []
            for (mark, move), after in moves.items():
                copy = copy_placed(mark, move)
                rules.setdefault((lookup.LookupFlag, move, frozenset(after)), {})[mark] = copy
                record = sub.Mark1Array.MarkRecord[sub.Mark1Coverage.glyphs.index(mark)]
                anchor = otTables.Anchor()
                anchor.Format = 1
                anchor.XCoordinate = record.MarkAnchor.XCoordinate + move[0]
                anchor.YCoordinate = record.MarkAnchor.YCoordinate + move[1]
                placed_record = otTables.MarkRecord()
                placed_record.Class, placed_record.MarkAnchor = record.Class, anchor
                added.append((copy, placed_record))
            for copy, placed_record in sorted(added, key=lambda item: order.index(item[0])):
                if copy not in sub.Mark1Coverage.glyphs:  # glyph ids grow, so the coverage stays sorted
                    sub.Mark1Coverage.glyphs.append(copy)
                    sub.Mark1Array.MarkRecord.append(placed_record)
            sub.Mark1Array.MarkCount = len(sub.Mark1Array.MarkRecord)
    font.setGlyphOrder(order)
    glyf.glyphOrder = order
    for name in placed.values():
        glyph = glyf[name]
        glyph.recalcBounds(glyf)
        hmtx[name] = (hmtx[name][0], glyph.xMin)

    gsub = font["GSUB"].table
    lookups = gsub.LookupList.Lookup
    contextual: dict[int, list[Any]] = {}
    for (flag, _, lifted_by), copies in sorted(rules.items(), key=lambda item: (item[0][0], item[0][1], sorted(item[0][2]))):
        single = otTables.SingleSubst()
        single.Format, single.mapping = 2, dict(copies)
        lookups.append(_lookup(otTables, 1, [single]))
        rule = otTables.ChainContextSubst()
        rule.Format = 3
        rule.BacktrackGlyphCount, rule.BacktrackCoverage = 1, [_coverage(otTables, font, lifted_by)]
        rule.InputGlyphCount, rule.InputCoverage = 1, [_coverage(otTables, font, copies)]
        rule.LookAheadGlyphCount, rule.LookAheadCoverage = 0, []
        record = otTables.SubstLookupRecord()
        record.SequenceIndex, record.LookupListIndex = 0, len(lookups) - 1
        rule.SubstCount, rule.SubstLookupRecord = 1, [record]
        contextual.setdefault(flag, []).append(rule)
    applied = []
    for flag, subtables in sorted(contextual.items()):
        lookup = _lookup(otTables, 6, subtables)
        lookup.LookupFlag = flag  # the marks the positioning looks through are the ones skipped here
        lookups.append(lookup)
        applied.append(len(lookups) - 1)
    _apply_last(gsub, applied)  # after the font's own tone mark forms


def _signed(number: int) -> str:
    """A number as a glyph name may carry it (letters, digits, dots and underscores only)."""
    return f"m{-number}" if number < 0 else str(number)


def _coverage(otTables: Any, font: Any, glyphs: Iterable[str]) -> Any:
    table = otTables.Coverage()
    table.glyphs = sorted(set(glyphs), key=font.getGlyphID)
    return table


def _ground_upper_marks(font: Any) -> None:
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
