"""`devplan report`: the plan's table as a PDF printed by headless Chromium, on the sample area.

The expected indicator wording and targets are copied by hand from the plan
(ส่วนที่ ๓); the figures must equal what `sync` wrote to the dashboard.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.config import load_settings
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

for tool in ("chromium", "pdftotext", "pdffonts", "pdfinfo"):
    if shutil.which(tool) is None:
        raise RuntimeError(f"{tool} is needed by these tests: .ci/run installs chromium and poppler-utils")


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


def _run(*command):
    return subprocess.run(command, capture_output=True, check=True, timeout=60).stdout.decode("utf-8")


def test_the_pdf_carries_every_indicator_and_target_of_the_plan(area):
    folder, _ = area
    pdf = str(folder / "report.pdf")
    flat = "".join(_run("pdftotext", pdf, "-").split())
    for ind, wording in PLAN_INDICATORS.items():
        assert flat.count(wording) == 1 + len(DISTRICTS), ind  # the area, then every district and the office
    # Per table row, in the plan's order: the three yearly targets, then this year's "met / counted".
    layout = _run("pdftotext", "-layout", pdf, "-")
    rows = re.findall(r"(?<![\d.])(\d{2,3}) +(\d{2,3}) +(\d{2,3}) +\d[\d,]* */ *\d[\d,]*", layout)
    expected = [tuple(str(t) for t in PLAN_TARGETS[i][2:]) for i in PLAN_ORDER]
    assert rows == expected * (1 + len(DISTRICTS))
    for heading in ("ยุทธศาสตร์", "กิจกรรม/โครงการ", "ตัวชี้วัด", "ค่าเป้าหมาย", "ผลการดำเนินงานปีงบประมาณ2562"):
        assert "".join(heading.split()) in flat
    assert "อำเภอหล่มสัก" in flat and "ภาพรวมเขตพื้นที่" in flat


def test_the_pdf_is_a4_with_its_thai_fonts_embedded(area):
    folder, _ = area
    pdf = str(folder / "report.pdf")
    assert re.search(r"Page size:.*\(A4\)", _run("pdfinfo", pdf))
    fonts = [line.split() for line in _run("pdffonts", pdf).splitlines()[2:]]
    assert fonts
    assert all(f[-5] == "yes" for f in fonts), fonts  # the "emb" column
    assert any(any(name in f[0] for name in THAI_FONTS) for f in fonts), fonts


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


def test_without_chromium_pdf_fails_in_thai_and_html_still_works(area, tmp_path, monkeypatch):
    folder, _ = area
    monkeypatch.setenv("PATH", str(tmp_path))  # no browser anywhere on PATH
    config = str(folder / "devplan.toml")
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--config", config, "--out", str(tmp_path / "r.pdf")])
    assert result.exit_code != 0
    assert "ไม่พบโปรแกรม Chromium" in result.output and "apt-get install chromium" in result.output
    assert not (tmp_path / "r.pdf").exists()
    result = runner.invoke(cli, ["report", "--config", config, "--format", "html", "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert "ภาพรวมเขตพื้นที่" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_names_are_escaped_in_the_html(area, tmp_path):
    folder, _ = area
    settings = load_settings(folder / "devplan.toml", {"area.name": "เขต <b>ทดสอบ</b> & \"ก\""})
    html = write_report(settings, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert "เขต &lt;b&gt;ทดสอบ&lt;/b&gt; &amp; &#34;ก&#34;" in html
    assert "<b>ทดสอบ" not in html
