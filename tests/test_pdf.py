"""The PDF's text layer: what a person copies or searches must be the text that was printed.

WeasyPrint maps each glyph to the text of its shaping cluster; Thai sara am (ำ) is split
by the shaper into two glyphs, which left "การ" reading "กำร". pipeline.pdf prints with a
prepared copy of Sarabun that fixes this; these tests read the PDF back with pdfium (the
engine of Chrome's viewer) and compare code point for code point.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pypdfium2
import pytest
from PIL import ImageChops

from pipeline.defaults import INDICATORS
from pipeline.pdf import FONT_FACES, _sarabun, print_with_weasyprint, thai_pdf_font

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


@pytest.mark.parametrize("bold", [False, True], ids=["regular", "bold"])
def test_the_plans_wording_reads_back_as_written(tmp_path, bold):
    indicators = tomllib.loads(INDICATORS.read_text(encoding="utf-8"))["indicator"]
    texts = [text for ind in indicators for text in (ind["name"], ind["short_name"], ind["project"])]
    assert len(texts) == 24
    # a long project name wraps: compare without the line breaks the layout adds
    got = ["".join(t.split()) for t in read_back(_lines_page(texts, bold), tmp_path / "plan.pdf")]
    assert got == ["".join(t.split()) for t in texts]


SAMPLE = ["น้ำ", "ทำ", "กำ", "จำ", "ค่ำ", "ซ้ำ", "ก๊ำ", "ต๋ำ", "ป่ำ", "ฝ้ำ", "ฬำ", "การ", "ทั้ง", "ปั้น", "ฝั่ง",
          "ฟื้น", "ขึ้น", "ที่", "ผู้", "ญู", "ฐุ", "ฤๅ", "ร้อยละ ๘๐", "ของหน่วยงานที่เข้ากลุ่มจัดทำ PLC"]


def test_the_prepared_font_draws_what_sarabun_draws(tmp_path):
    """Its changes only regroup glyphs for the text layer: each word looks the same.

    One word a line, rendered at 6 px a point: a mark placed 10 font units (1% of the em)
    off makes pixels differ by about 240 of 255; what remains below 64 is WeasyPrint
    rounding the original's separate ring glyph to whole font units.
    """
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    lines = "".join(f"<p>{word}</p><p><b>{word}</b></p>" for word in SAMPLE)
    html = f"<html><body style='font-size: 16pt'>{lines}</body></html>"

    def render(name: str, font_of) -> list:
        faces = "".join(
            f'@font-face {{ font-family: "T"; src: url("{font_of(stem).as_uri()}"); '
            f"font-weight: {weight}; font-style: {style}; }}"
            for stem, weight, style in FONT_FACES
        )
        fonts = FontConfiguration()
        css = weasyprint.CSS(string=faces + '* { font-family: "T" !important }', font_config=fonts)
        weasyprint.HTML(string=html).write_pdf(tmp_path / f"{name}.pdf", stylesheets=[css], font_config=fonts)
        document = pypdfium2.PdfDocument(tmp_path / f"{name}.pdf")
        pages = [page.render(scale=6).to_pil().convert("L") for page in document]
        document.close()
        return pages

    original = render("original", _sarabun)
    prepared = render("prepared", lambda stem: thai_pdf_font(_sarabun(stem), tmp_path / f"{stem}.ttf"))
    assert len(original) == len(prepared)
    for before, after in zip(original, prepared):
        assert before.getextrema() == (0, 255)  # something was drawn
        assert ImageChops.difference(before, after).getextrema()[1] < 64
