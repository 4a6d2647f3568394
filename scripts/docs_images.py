#!/usr/bin/env python3
"""Regenerate the pictures in docs/: the area report's pages and one school's e-mail.

    .venv/bin/python scripts/docs_images.py [--schools 165] [--seed 2562]

Builds the sample area in a temporary folder, runs a sync and the report
(FY 2562, data dated 30 September 2019), then

- renders every page of the report PDF (printed by the default engine, WeasyPrint) to
  ``docs/report-page-N.png`` (pypdfium2, from the test extra), and
- screenshots one school's e-mail with headless Chromium at phone width (390 px)
  and desktop width (1024 px): ``docs/email-phone.png``, ``docs/email-desktop.png``.

Needs chromium and fonts-thai-tlwg for the e-mail (see .ci/run).
"""

from __future__ import annotations

import argparse
import email
import html
import json
import subprocess
import sys
import tempfile
from datetime import date
from email.policy import default as default_policy
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.config import load_settings  # noqa: E402
from pipeline.pdf import BROWSER_FLAGS, require_browser  # noqa: E402
from pipeline.report import write_report  # noqa: E402
from pipeline.sample import generate_area  # noqa: E402
from pipeline.sync import run_sync  # noqa: E402
from pipeline.workbook.local import LocalWorkbook  # noqa: E402

DOCS = REPO / "docs"
TODAY = date(2019, 9, 30)  # the last day of FY 2562, so the pictures never change with the clock
PHONE, DESKTOP = 390, 1024

# The mail inside a frame of the wanted width; the host page reports the frame's full height.
HEIGHT_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" style="width:{width}px;height:600px;border:0" srcdoc="{mail}"></iframe><pre id="probe"></pre>
<script>document.getElementById("f").addEventListener("load", function () {{
  document.getElementById("probe").textContent = this.contentWindow.document.documentElement.scrollHeight;
}});</script></body></html>"""


def chromium(browser: str, profile: Path, *args: str) -> str:
    done = subprocess.run(
        [browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, timeout=120, check=True,
    )
    return done.stdout.decode("utf-8")


def pick_school(outbox: Path) -> Path:
    """A mid-sized school's mail (8–14 people) that has rows to fix, else the first school's."""
    mails = sorted(p for p in outbox.glob("*.eml") if p.stem.isdigit())
    for path in mails:
        text = email.message_from_bytes(path.read_bytes(), policy=default_policy).get_body(("plain",)).get_content()
        staff = text.count("(x-xxxx-")
        if 8 <= staff <= 14 and "ข้อมูลที่ต้องแก้ไขในสเปรดชีต" in text:
            return path
    return mails[0]


def mail_screenshots(browser: str, work: Path, eml: Path) -> list[Path]:
    message = email.message_from_bytes(eml.read_bytes(), policy=default_policy)
    page = work / "mail.html"
    page.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
    written = []
    for width, name in ((PHONE, "email-phone.png"), (DESKTOP, "email-desktop.png")):
        host = work / f"probe-{width}.html"
        host.write_text(HEIGHT_PROBE.format(width=width, mail=html.escape(page.read_text(encoding="utf-8"))), encoding="utf-8")
        dom = chromium(browser, work / "profile", "--dump-dom", host.as_uri())
        height = int(json.loads(dom.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]))
        target = DOCS / name
        chromium(browser, work / "profile", "--hide-scrollbars", f"--window-size={width},{height}",
                 f"--screenshot={target}", page.as_uri())
        written.append(target)
    return written


def report_pages(pdf: Path) -> list[Path]:
    import pypdfium2

    for old in DOCS.glob("report-page-*.png"):
        old.unlink()
    document = pypdfium2.PdfDocument(pdf)
    written = []
    for number, page in enumerate(document, start=1):
        target = DOCS / f"report-page-{number}.png"
        page.render(scale=1).to_pil().save(target)  # 72 dpi: one pixel per point
        written.append(target)
    document.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=None, help="schools in the sample area (default: the real area's ~165)")
    parser.add_argument("--seed", type=int, default=2562)
    args = parser.parse_args()
    browser = require_browser()
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="devplan-docs-") as folder:
        work = Path(folder)
        settings = load_settings(
            REPO / "config" / "demo.toml",
            {"storage.path": str(work / "sheets"), "output.outbox": str(work / "outbox"),
             "storage.state": str(work / "devplan-state.sqlite"), "area.fiscal_year": 2562},
        )
        generate_area(LocalWorkbook(settings.storage.path), settings, schools=args.schools, seed=args.seed)
        run_sync(settings, today=TODAY)
        pdf = write_report(settings, "pdf", work / "report.pdf", today=TODAY)
        written = report_pages(pdf)
        written += mail_screenshots(browser, work, pick_school(settings.output.outbox))
    for path in written:
        print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
