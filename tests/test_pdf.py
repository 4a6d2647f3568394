"""The PDF's text layer: what a person copies or searches must be the text that was printed.

WeasyPrint maps each glyph to the text of its shaping cluster; Thai sara am (ำ) is split
by the shaper into two glyphs, which left "การ" reading "กำร". pipeline.pdf prints with a
prepared copy of Sarabun that fixes this; these tests read the PDF back with pdfium (the
engine of Chrome's viewer) and compare code point for code point.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pypdfium2
import pytest
from PIL import ImageChops

from pipeline.defaults import INDICATORS
from pipeline.pdf import FONT_FACES, _sarabun, find_browser, print_with_weasyprint, thai_pdf_font

CONSONANTS = [chr(c) for c in range(0x0E01, 0x0E2F)]  # ก … ฮ
TONES = ["", "\u0e48", "\u0e49", "\u0e4a", "\u0e4b"]  # none, ่ ้ ๊ ๋
SARA_AM = "\u0e33"


def _lines_page(lines: list[str], bold: bool) -> str:
    """One bracketed line per text, far apart, so nothing wraps and no line touches another."""
    weight = "bold" if bold else "normal"
    paragraphs = "".join(f"<p>[{line}]</p>" for line in lines)
    return (f"<html><head><style>@page {{ size: A4 landscape; margin: 10mm }} body {{ font-size: 11pt; "
            f"font-weight: {weight} }} p {{ margin: 0; line-height: 2.5 }}</style></head>"
            f"<body>{paragraphs}</body></html>")


def read_back(html: str, pdf: Path) -> list[str]:
    print_with_weasyprint(html, pdf)
    document = pypdfium2.PdfDocument(pdf)
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    return re.findall(r"\[(.*?)\]", text, re.S)


@pytest.mark.parametrize("bold", [False, True], ids=["regular", "bold"])
def test_every_sara_am_reads_back_as_written(tmp_path, bold):
    words = [c + tone + SARA_AM for c in CONSONANTS for tone in TONES]
    words += ["การ", "ทำ", "น้ำ", "สำนักงาน", "จำนำ", "ดำเนินการ", "กำลัง", "ทำการ"]  # า and ำ side by side
    assert read_back(_lines_page(words, bold), tmp_path / "am.pdf") == words


UPPER_VOWELS = ["", "\u0e31", "\u0e34", "\u0e35", "\u0e36", "\u0e37", "\u0e47"]  # none, ั ิ ี ึ ื ็
LOWER_VOWELS = ["\u0e38", "\u0e39"]  # ุ ู
THANTHAKHAT = "\u0e4c"  # ์


def syllables() -> list[str]:
    """Every consonant with every upper vowel and tone mark (or ์) stacked on it, and with a lower
    vowel under a tone mark: 2,070 shapes, each followed by a consonant."""
    shapes = []
    for c in CONSONANTS:
        for vowel in UPPER_VOWELS:
            for mark in (TONES if vowel == "\u0e47" else [*TONES, THANTHAKHAT]):
                if not (vowel == "\u0e47" and mark):  # mai taikhu takes no tone mark
                    shapes.append(c + vowel + mark + "น")
        shapes += [c + vowel + tone + "ง" for vowel in LOWER_VOWELS for tone in TONES[1:]]
    return shapes


#: Shapes pdfium reads otherwise, left as they are: ฤ and ฦ (vowels themselves) take no lower vowel
#: in Thai spelling; in the bold face alone, ษ sets its upper vowel one font unit higher than the
#: other consonants, so a tone mark stacked over it is read before the vowel.
NOT_READ_AS_WRITTEN = {
    False: {s for s in syllables() if s[0] in "ฤฦ" and s[1] in LOWER_VOWELS},
    True: {s for s in syllables() if (s[0] in "ฤฦ" and s[1] in LOWER_VOWELS)
           or (s[0] == "ษ" and s[1] in UPPER_VOWELS[1:] and s[2] in [*TONES[1:], THANTHAKHAT])},
}


@pytest.mark.parametrize("bold", [False, True], ids=["regular", "bold"])
def test_every_stacked_syllable_reads_back_as_written(tmp_path, bold):
    shapes = syllables()
    assert len(shapes) == 46 * (6 * 6 + 1 + 2 * 4)  # 46 consonants; 6 vowels x 6 marks, ็; 2 x 4 below
    got = dict(zip(shapes, read_back(_lines_page(shapes, bold), tmp_path / "stacked.pdf")))
    differ = {shape for shape, text in got.items() if text != shape}
    assert len(got) == len(shapes)
    assert differ == NOT_READ_AS_WRITTEN[bold]


@pytest.mark.parametrize("bold", [False, True], ids=["regular", "bold"])
def test_the_plans_wording_reads_back_as_written(tmp_path, bold):
    indicators = tomllib.loads(INDICATORS.read_text(encoding="utf-8"))["indicator"]
    texts = [text for ind in indicators for text in (ind["name"], ind["short_name"], ind["project"])]
    assert len(texts) == 24
    # a long project name wraps: compare without the line breaks the layout adds
    got = ["".join(t.split()) for t in read_back(_lines_page(texts, bold), tmp_path / "plan.pdf")]
    assert got == ["".join(t.split()) for t in texts]


#: words without a mark stacked over another: drawn within antialiasing of the original
SAME = ["น้ำ", "ทำ", "กำ", "จำ", "ค่ำ", "ซ้ำ", "ก๊ำ", "ต๋ำ", "ป่ำ", "ฝ้ำ", "ฬำ", "การ", "ที่", "ผู้", "ญู", "ฐุ", "ฤๅ",
        "ร้อยละ ๘๐", "ของหน่วยงานที่เข้ากลุ่มจัดทำ PLC"]
#: a tone mark stacked over an upper vowel (after a tall consonant, on a consonant whose marks the
#: bold face moves right)
STACKED = ["ทั้ง", "ปั้น", "ฟื้น", "ขึ้น", "ครั้ง"]


def _render(tmp_path: Path, name: str, words: list[str], font_of, scale: int = 6) -> list:
    """Each word on a small page of its own, regular then bold, rendered at ``scale`` x 16 px an em."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    pages = "".join(f"<section>{word}<br><b>{word}</b></section>" for word in words)
    html = (f"<html><head><style>@page {{ size: 90mm 30mm; margin: 5mm }} body {{ font-size: 16pt }} "
            f"section {{ break-after: page }}</style></head><body>{pages}</body></html>")
    faces = "".join(
        f'@font-face {{ font-family: "T"; src: url("{font_of(stem).as_uri()}"); '
        f"font-weight: {weight}; font-style: {style}; }}"
        for stem, weight, style in FONT_FACES
    )
    fonts = FontConfiguration()
    css = weasyprint.CSS(string=faces + '* { font-family: "T" !important }', font_config=fonts)
    weasyprint.HTML(string=html).write_pdf(tmp_path / f"{name}.pdf", stylesheets=[css], font_config=fonts)
    document = pypdfium2.PdfDocument(tmp_path / f"{name}.pdf")
    images = [page.render(scale=scale).to_pil().convert("L") for page in document]
    document.close()
    return images


def _both(tmp_path: Path, words: list[str], scale: int = 6) -> list[tuple]:
    original = _render(tmp_path, "original", words, _sarabun, scale)
    prepared = _render(tmp_path, "prepared", words,
                       lambda stem: thai_pdf_font(_sarabun(stem), tmp_path / f"{stem}.ttf"), scale)
    assert len(original) == len(prepared)
    for page in original:
        assert page.getextrema() == (0, 255)  # something was drawn
    return list(zip(original, prepared))


def test_the_prepared_font_draws_what_sarabun_draws(tmp_path):
    """At 96 px an em: a mark placed 10 font units (1% of the em) off makes pixels differ by about
    240 of 255; what remains below 64 is WeasyPrint rounding the original's separate ring glyph to
    whole font units."""
    for before, after in _both(tmp_path, SAME):
        assert ImageChops.difference(before, after).getextrema()[1] < 64


@pytest.mark.skipif(find_browser() is None, reason="Chromium is not installed: stacked marks are not compared with it")
@pytest.mark.parametrize("bold", [False, True], ids=["regular", "bold"])
def test_a_stacked_tone_mark_is_drawn_where_chromium_draws_it(tmp_path, bold):
    """The prepared copy draws a tone mark over an upper vowel moved inside its glyph, where the
    font's positioning puts it (WeasyPrint's own text rise left it 10-30 font units off). The
    reference is Chromium's drawing of the same word with the original face: at 200 px an em, every
    inked pixel of one has ink within 2 pixels (10 font units) in the other."""
    from PIL import Image, ImageFilter, ImageOps

    from pipeline.pdf import BROWSER_FLAGS

    stem, weight = ("Bold", 700) if bold else ("Regular", 400)
    for number, word in enumerate(STACKED):
        page = tmp_path / f"word{number}.html"
        page.write_text(
            f"<html><head><style>@font-face {{ font-family: S; src: url('{_sarabun(stem).as_uri()}'); "
            f"font-weight: {weight} }} body {{ font: {weight} 200px/1 S; margin: 150px 20px }}</style></head>"
            f"<body>{word}</body></html>", encoding="utf-8")
        shot = tmp_path / f"word{number}.png"
        subprocess.run([find_browser(), *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                        "--hide-scrollbars", "--window-size=900,600", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, timeout=120, check=True)
        css_font = thai_pdf_font(_sarabun(stem), tmp_path / f"{stem}.ttf")
        html = (f"<html><head><style>@font-face {{ font-family: T; src: url('{css_font.as_uri()}'); "
                f"font-weight: {weight} }} @page {{ size: 250mm 150mm; margin: 50mm 10mm 10mm }} "
                f"body {{ font: {weight} 150pt/1 T }}</style></head><body>{word}</body></html>")
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        weasyprint.HTML(string=html).write_pdf(tmp_path / "word.pdf", font_config=fonts)
        document = pypdfium2.PdfDocument(tmp_path / "word.pdf")
        printed = document[0].render(scale=200 / 150).to_pil().convert("L")  # 200 px an em
        document.close()
        inks = []
        for image in (Image.open(shot).convert("L"), printed):
            ink = ImageOps.invert(image).point(lambda v: 255 if v >= 128 else 0)
            inks.append(ink.crop(ink.getbbox()))
        assert abs(inks[0].width - inks[1].width) <= 2 and abs(inks[0].height - inks[1].height) <= 2, word
        size = (max(i.width for i in inks) + 4, max(i.height for i in inks) + 4)
        chromium, prepared = (Image.new("L", size, 0) for _ in range(2))
        chromium.paste(inks[0], (2, 2))
        prepared.paste(inks[1], (2, 2))
        near = [image.filter(ImageFilter.MaxFilter(5)) for image in (chromium, prepared)]
        assert ImageChops.subtract(prepared, near[0]).getbbox() is None, word
        assert ImageChops.subtract(chromium, near[1]).getbbox() is None, word
