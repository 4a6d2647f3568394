"""What a director sees: the HTML e-mail as headless Chromium parses it.

Chromium is installed by .ci/run; on a machine without it these tests are skipped
with that reason, except in CI (CI=true), where a missing browser fails them.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
from email.policy import default as default_policy
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.hand_area import OFFICE, PEOPLE, SCHOOL_A

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    BROWSER is None and not os.environ.get("CI"),
    reason="Chromium is not installed (apt-get install chromium): the e-mail is not checked in a browser here",
)


class Page(HTMLParser):
    """The tags and the visible text of a page, as the browser serialised it."""

    def __init__(self):
        super().__init__()
        self.tags, self.text, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._skip += tag in ("style", "title", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "title", "script")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _chromium(tmp_path, *args):
    if BROWSER is None:
        pytest.fail("CI must have Chromium: .ci/run installs the Debian package 'chromium'")
    done = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, timeout=120, check=True,
    )
    return done.stdout.decode("utf-8")


@pytest.fixture
def school_a_mail(tmp_path, config_file):
    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    assert CliRunner().invoke(cli, ["sync", "--config", str(config_file)]).exit_code == 1  # 4 rows to fix
    message = email.message_from_bytes((settings.output.outbox / f"{SCHOOL_A}.eml").read_bytes(), policy=default_policy)
    page = tmp_path / "mail.html"
    page.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
    return page


def test_the_browser_shows_typed_markup_as_text_and_only_masked_ids(tmp_path, school_a_mail):
    page = Page()
    page.feed(_chromium(tmp_path, "--dump-dom", school_a_mail.as_uri()))
    seen = " ".join(" ".join(page.text).split())
    assert "b" not in page.tags and "script" not in page.tags
    assert "นางดวงใจ <b>ทองดี</b>" in seen                      # the typed markup, shown as typed
    for person in PEOPLE.values():
        nid = person[0]
        assert nid not in seen
        if person[5] == SCHOOL_A:
            assert f"x-xxxx-xxxxx-{nid[10:12]}-{nid[12]}" in seen
    assert "ตัวชี้วัดตามแผนพัฒนา" in seen and "ข้อมูลที่ต้องแก้ไข" in seen


# What a phone shows: the mail inside a 390 px wide frame; a script in the host page
# measures the frame's layout and writes it into the page Chromium dumps.
PHONE_HOST = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="phone" style="width:{width}px;height:900px;border:0" srcdoc="{mail}"></iframe>
<pre id="probe"></pre>
<script>
document.getElementById("phone").addEventListener("load", function () {{
  var win = this.contentWindow, doc = win.document;
  var out = {{scrollWidth: doc.documentElement.scrollWidth, innerWidth: win.innerWidth, bars: {{}}}};
  doc.querySelectorAll("[data-indicator]").forEach(function (block) {{
    var track = block.querySelector("table[role=img]");
    var width = track ? track.getBoundingClientRect().width : 0;
    var part = function (name) {{
      var el = block.querySelector("[data-bar=" + name + "]");
      return el && width ? el.getBoundingClientRect().width / width : null;
    }};
    out.bars[block.getAttribute("data-indicator")] = {{track: width, fill: part("fill"), target: part("target")}};
  }});
  document.getElementById("probe").textContent = JSON.stringify(out);
}});
</script></body></html>"""

# School A in FY 2562, worked out by hand in tests/test_end_to_end.py: (met, counted, target).
# office_needs counts nobody at a school, so its mail leaves it out.
SCHOOL_A_BARS = {
    "stem": (1, 4, 100), "research_admin": (1, 1, 75), "classroom_research": (1, 3, 75),
    "tepe_online": (1, 1, 70), "plc": (1, 1, 70), "id_plan": (3, 4, 100), "training": (2, 4, 100),
}
OFFICE_ONLY = "บุคลากร สพป. ได้รับการพัฒนาตามความต้องการ"


def _phone_layout(tmp_path, mail_page, width=390):
    import html
    import json

    host = tmp_path / "phone.html"
    mail = mail_page.read_text(encoding="utf-8")
    host.write_text(PHONE_HOST.format(width=width, mail=html.escape(mail, quote=True)), encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", host.as_uri())
    probe = dom.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]
    return json.loads(html.unescape(probe))


def test_on_a_phone_the_mail_fits_the_width_and_shows_a_bar_per_indicator(tmp_path, school_a_mail):
    layout = _phone_layout(tmp_path, school_a_mail)
    assert layout["innerWidth"] == 390
    assert layout["scrollWidth"] <= layout["innerWidth"]          # no horizontal scrolling
    assert set(layout["bars"]) == set(SCHOOL_A_BARS)
    for ind, (met, counted, target) in SCHOOL_A_BARS.items():
        bar = layout["bars"][ind]
        assert bar["track"] > 250, ind                             # the bar spans the column
        assert bar["fill"] == pytest.approx(met / counted, abs=0.02), ind
        assert bar["target"] == pytest.approx(target / 100, abs=0.02), ind


def _mail(outbox, code):
    message = email.message_from_bytes((outbox / f"{code}.eml").read_bytes(), policy=default_policy)
    return message, message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_a_school_mail_leaves_out_the_office_only_indicator_and_its_text_part_matches(tmp_path, school_a_mail, config_file):
    settings = load_settings(config_file)
    message, text = _mail(settings.output.outbox, SCHOOL_A)
    page = Page()
    page.feed(_chromium(tmp_path, "--dump-dom", school_a_mail.as_uri()))
    seen = " ".join(" ".join(page.text).split())
    assert OFFICE_ONLY not in seen and OFFICE_ONLY not in text
    assert "ไม่มีผู้อยู่ในกลุ่มเป้าหมาย" not in seen and "ไม่มีผู้อยู่ในกลุ่มเป้าหมาย" not in text
    # Greeting and subject name the school in full, once.
    assert seen.startswith("เรียน ผู้อำนวยการโรงเรียนบ้านเอ ") and text.startswith("เรียน ผู้อำนวยการโรงเรียนบ้านเอ\n")
    assert message["Subject"].endswith("— โรงเรียนบ้านเอ")
    # The text part lists the same indicators with the same figures as the HTML part.
    names = {}
    for line in text.splitlines():
        found = re.match(r"- (.+): (\d+) จาก (\d+) (คน|หน่วยงาน) = ร้อยละ ([\d.]+) \(เป้าหมาย (\d+)\)", line)
        if found:
            names[found[1]] = found.groups()[1:]
    assert len(names) == len(SCHOOL_A_BARS)
    for name, (met, counted, unit, percent, target) in names.items():
        assert f"{name} {met} จาก {counted} {unit} · ร้อยละ {percent} · เป้าหมาย {target}" in seen
    _, office_text = _mail(settings.output.outbox, OFFICE)
    assert OFFICE_ONLY in office_text and office_text.startswith("เรียน ผู้อำนวยการสำนักงานเขตทดสอบ\n")
    assert "โรงเรียน" not in office_text.splitlines()[0]
