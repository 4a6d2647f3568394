"""`devplan report`: the plan's table as a PDF, on the sample area.

The PDF is printed by the default engine (WeasyPrint: Python packages only) and read
back with pypdfium2, so these tests run on any machine. The expected indicator wording
and targets are copied by hand from the plan (ส่วนที่ ๓); the figures must equal what
`sync` wrote to the dashboard.
"""

from __future__ import annotations

import ctypes
import re
from html.parser import HTMLParser

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.pdf import find_browser
from pipeline.report import write_report
from pipeline.sample import generate_area
from pipeline.sync import run_sync
from pipeline.workbook.local import LocalWorkbook
from tests.conftest import PLAN_TARGETS, write_config

# The plan's indicator column (ส่วนที่ ๓), copied by hand, spaces removed (the plan wraps words anywhere).
PLAN_INDICATORS = {
    "stem": "ร้อยละ๑๐๐ของบุคลากรในสถานศึกษาที่จัดการเรียนรู้ตามแนวทางสะเต็มศึกษาได้รับการพัฒนาอย่างต่อเนื่อง",
    "research_admin": "ร้อยละ๘๐ของหน่วยงานทุกระดับมีผลงานวิจัยและนำผลการวิจัยไปใช้ในการพัฒนาคุณภาพการจัดการศึกษา",
    "classroom_research": "ร้อยละ๘๐ของครูและบุคลากรทางการศึกษามีวิจัยในชั้นเรียนและนำผลการวิจัยไปใช้พัฒนาหลักสูตรกระบวนการเรียนรู้",
    "tepe_online": "ร้อยละ๘๐ของครูผู้ช่วยได้รับการพัฒนาด้วยระบบTEPEOnline",
    "plc": "ร้อยละ๘๐ของหน่วยงานที่เข้ากลุ่มจัดทำPLC",
    "id_plan": "ร้อยละ๑๐๐ของบุคลากรในสังกัดจัดทำแผนพัฒนาตนเอง(IDPlan)",
    "office_needs": "ร้อยละ๘๐ของบุคลากรทางการศึกษาปฏิบัติหน้าที่ณสำนักงานเขตพื้นที่ได้รับการพัฒนาตามความต้องการพัฒนาตนเอง",
    "training": "ร้อยละ๑๐๐ของบุคลากรได้ฝึกอบรมสัมมนาศึกษาดูงานทั้งภายในและนอกสำนักงานเขตพื้นที่การศึกษา",
}
PLAN_ORDER = list(PLAN_INDICATORS)
DISTRICTS = ["หล่มสัก", "หล่มเก่า", "น้ำหนาว", "เขาค้อ", "สำนักงานเขตพื้นที่การศึกษา"]
THAI_FONTS = ("Laksaman", "Garuda", "Loma", "Sarabun", "Norasi", "Kinnari", "Waree", "Umpush", "Sawasdee")
A4_LANDSCAPE = (841.89, 595.28)  # points: 297 x 210 mm


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    """A 24-school sample area, synced (dashboard written), then reported as HTML and PDF."""
    folder = tmp_path_factory.mktemp("report")
    config = write_config(folder)
    settings = load_settings(config)
    generate_area(LocalWorkbook(settings.storage.path), settings, schools=24, seed=7)
    run_sync(settings)
    runner = CliRunner()
    for fmt in ("html", "pdf"):
        result = runner.invoke(cli, ["report", "--config", str(config), "--year", "2562",
                                     "--format", fmt, "--out", str(folder / f"report.{fmt}")])
        assert result.exit_code == 0, result.output
    return folder, settings


def pdf_text(path) -> str:
    """The PDF's text layer, as a viewer copies it (pdfium), page after page."""
    document = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def pdf_fonts(path) -> dict[str, bool]:
    """Base name of every font a text on the PDF's pages uses -> whether it is embedded."""
    document = pypdfium2.PdfDocument(path)
    fonts = {}
    try:
        for page in document:
            for text in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT]):
                font = pdfium_c.FPDFTextObj_GetFont(text.raw)
                size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
                name = ctypes.create_string_buffer(size)
                pdfium_c.FPDFFont_GetBaseFontName(font, name, size)
                fonts[name.value.decode()] = bool(pdfium_c.FPDFFont_GetIsEmbedded(font))
    finally:
        document.close()
    return fonts


def plan_rows(text: str) -> list[tuple[str, ...]]:
    """Per table row, in order: the three yearly targets, then this year's "met / counted"."""
    return re.findall(r"(?<![\d.])(\d{2,3}) +(\d{2,3}) +(\d{2,3}) +\d[\d,]* */ *\d[\d,]*", text)


EXPECTED_ROWS = [tuple(str(t) for t in PLAN_TARGETS[i][2:]) for i in PLAN_ORDER] * (1 + len(DISTRICTS))


def test_the_pdf_carries_every_indicator_and_target_of_the_plan(area):
    folder, _ = area
    text = pdf_text(folder / "report.pdf")
    flat = "".join(text.split())  # the table cells wrap lines anywhere
    for ind, wording in PLAN_INDICATORS.items():
        assert flat.count(wording) == 1 + len(DISTRICTS), ind  # the area, then every district and the office
    assert plan_rows(text) == EXPECTED_ROWS
    for heading in ("ยุทธศาสตร์", "กิจกรรม/โครงการ", "ตัวชี้วัด", "ค่าเป้าหมาย", "ผลการดำเนินงานปีงบประมาณ2562"):
        assert "".join(heading.split()) in flat
    assert "อำเภอหล่มสัก" in flat and "ภาพรวมเขตพื้นที่" in flat


def test_the_pdf_is_a4_with_its_thai_fonts_embedded(area):
    folder, _ = area
    document = pypdfium2.PdfDocument(folder / "report.pdf")
    sizes = {tuple(round(x, 2) for x in page.get_size()) for page in document}
    pages = len(document)
    document.close()
    assert sizes == {A4_LANDSCAPE} and pages >= 1 + len(DISTRICTS)  # a table starts a page
    fonts = pdf_fonts(folder / "report.pdf")
    assert fonts and all(fonts.values()), fonts
    assert all("Sarabun" in name for name in fonts), fonts  # every text in the shipped Thai face


@pytest.mark.skipif(find_browser() is None, reason="Chromium is not installed: the optional engine is not tried")
def test_chromium_prints_the_same_report_where_it_is_installed(area, tmp_path):
    folder, _ = area
    out = tmp_path / "chromium.pdf"
    result = CliRunner().invoke(cli, ["report", "--config", str(folder / "devplan.toml"), "--year", "2562",
                                      "--engine", "chromium", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # Chromium's text layer, as pdfium reads it, repeats and splits Thai clusters ("สำ นักงาน",
    # "ที่ทำที่ ทำ"): only the figures are compared here (the reason WeasyPrint is the default).
    assert plan_rows(pdf_text(out)) == EXPECTED_ROWS
    fonts = pdf_fonts(out)
    assert all(fonts.values()) and any(any(name in f for name in THAI_FONTS) for f in fonts), fonts


class ReportTable(HTMLParser):
    """Visible text of each figure cell: (section key, indicator, field) -> text."""

    def __init__(self):
        super().__init__()
        self.cells, self.section, self.indicator, self.field = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-key" in a:
            self.section = a["data-key"]
        elif tag == "tr" and "data-indicator" in a:
            self.indicator = a["data-indicator"]
        elif tag == "td" and "data-field" in a:
            self.field = a["data-field"]
            self.cells[(self.section, self.indicator, self.field)] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self.field = None

    def handle_data(self, data):
        if self.field:
            self.cells[(self.section, self.indicator, self.field)] += data


def _figures(cells, section, indicator):
    met, population = (int(n.replace(",", "")) for n in re.findall(r"[\d,]+", cells[(section, indicator, "met-population")]))
    shown = cells[(section, indicator, "percent")].strip()
    return met, population, None if shown == "-" else float(shown)


def _percent(value):
    return None if value in ("-", None) else float(value)


def test_the_report_figures_equal_the_dashboard(area):
    folder, settings = area
    table = ReportTable()
    table.feed((folder / "report.html").read_text(encoding="utf-8"))
    dashboard = load_workbook(settings.storage.path / "dashboard.xlsx")  # not read-only: notes are read too
    sheet = dashboard["ภาพรวมเขตพื้นที่"]
    overview = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(overview) if r[0] == "ตัวชี้วัด")
    area_rows = overview[header + 1 : header + 1 + len(PLAN_ORDER)]
    for number, (ind, row) in enumerate(zip(PLAN_ORDER, area_rows)):
        # the plan's wording is the note on the indicator's short name
        note = sheet.cell(header + 2 + number, 1).comment
        assert PLAN_INDICATORS[ind] in "".join(note.text.split()), ind
        # dashboard columns: short name, target, percent, status, met, population, counted as, strategy
        assert _figures(table.cells, "area", ind) == (row[4], row[5], _percent(row[2])), ind
        assert row[1] == PLAN_TARGETS[ind][3]
        assert table.cells[("area", ind, "target-2562")].strip() == str(PLAN_TARGETS[ind][3])
    districts = [list(r) for r in dashboard["รายอำเภอ"].iter_rows(values_only=True)][1:]
    assert [d[0] for d in districts] == DISTRICTS
    for district in districts:
        for ind, shown in zip(PLAN_ORDER, district[3:]):
            met, population, percent = _figures(table.cells, district[0], ind)
            assert percent == _percent(shown), (district[0], ind)
            assert percent == (round(100 * met / population, 1) if population else None)
    # The districts add up to the area.
    for ind in PLAN_ORDER:
        per_district = [_figures(table.cells, d, ind) for d in DISTRICTS]
        met, population, _ = _figures(table.cells, "area", ind)
        assert (sum(f[0] for f in per_district), sum(f[1] for f in per_district)) == (met, population)


def test_the_trend_covers_the_years_with_data(area):
    folder, _ = area
    html = (folder / "report.html").read_text(encoding="utf-8")
    # The sample carries last year's leftovers, so FY 2561 has data and 2563 (after the report year) is not shown.
    trends = re.findall(r'aria-label="แนวโน้ม([^"]*)" data-chart="trend"', html)
    assert len(trends) == len(PLAN_ORDER) * (1 + len(DISTRICTS))
    assert all(re.fullmatch(r" 2561: ร้อยละ [\d.-]+ 2562: ร้อยละ [\d.-]+", t) for t in trends), trends[:3]
    # A bar for every row that counts someone; a row that counts nobody says so instead.
    table = ReportTable()
    table.feed(html)
    measured = [k for k, text in table.cells.items() if k[2] == "percent" and text.strip() != "-"]
    assert 0 < len(measured) < len(PLAN_ORDER) * (1 + len(DISTRICTS))  # the office-only row is empty in districts
    assert html.count('data-chart="result"') == len(measured)


def test_without_any_browser_the_pdf_still_prints_and_chromium_asked_for_says_what_to_do(area, tmp_path, monkeypatch):
    folder, _ = area
    monkeypatch.setenv("PATH", str(tmp_path))  # no browser (nor any other program) on PATH
    config = str(folder / "devplan.toml")
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--config", config, "--year", "2562", "--out", str(tmp_path / "r.pdf")])
    assert result.exit_code == 0, result.output
    assert "ภาพรวมเขตพื้นที่" in pdf_text(tmp_path / "r.pdf")
    result = runner.invoke(cli, ["report", "--config", config, "--engine", "chromium", "--out", str(tmp_path / "c.pdf")])
    assert result.exit_code == 4
    assert "ไม่พบโปรแกรม Chromium" in result.output and "--engine weasyprint" in result.output
    assert not (tmp_path / "c.pdf").exists()


def test_the_engine_can_be_chosen_by_environment_and_a_wrong_one_is_named(area, tmp_path, monkeypatch):
    folder, _ = area
    monkeypatch.setenv("PATH", str(tmp_path))
    config = str(folder / "devplan.toml")
    monkeypatch.setenv("DEVPLAN_PDF_ENGINE", "chromium")
    result = CliRunner().invoke(cli, ["report", "--config", config, "--out", str(tmp_path / "r.pdf")])
    assert result.exit_code == 4 and "ไม่พบโปรแกรม Chromium" in result.output
    # the flag wins over the variable
    result = CliRunner().invoke(cli, ["report", "--config", config, "--engine", "weasyprint",
                                      "--out", str(tmp_path / "r.pdf")])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("DEVPLAN_PDF_ENGINE", "acrobat")
    result = CliRunner().invoke(cli, ["report", "--config", config, "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "DEVPLAN_PDF_ENGINE" in result.output and "weasyprint" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_html_needs_no_pdf_engine(area, tmp_path, monkeypatch):
    folder, _ = area
    monkeypatch.setenv("DEVPLAN_PDF_ENGINE", "acrobat")  # not even looked at
    result = CliRunner().invoke(cli, ["report", "--config", str(folder / "devplan.toml"), "--format", "html",
                                      "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert "ภาพรวมเขตพื้นที่" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_names_are_escaped_in_the_html(area, tmp_path):
    folder, _ = area
    settings = load_settings(folder / "devplan.toml", {"area.name": "เขต <b>ทดสอบ</b> & \"ก\""})
    html = write_report(settings, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert "เขต &lt;b&gt;ทดสอบ&lt;/b&gt; &amp; &#34;ก&#34;" in html
    assert "<b>ทดสอบ" not in html
