"""What a director sees: the HTML e-mail as headless Chromium parses it.

Chromium is installed by .ci/run; on a developer machine without it this file
is skipped, but never in CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import email
import os
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
from tests.hand_area import PEOPLE, SCHOOL_A

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

if BROWSER is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must have Chromium: .ci/run installs the Debian package 'chromium'")
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


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
    done = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, timeout=120, check=True,
    )
    return done.stdout.decode("utf-8")


@pytest.fixture
def school_a_mail(tmp_path, config_file):
    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    assert CliRunner().invoke(cli, ["sync", "--config", str(config_file)]).exit_code == 0
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
    for key, person in PEOPLE.items():
        nid = person[0]
        assert nid not in seen
        if person[5] == SCHOOL_A:
            assert f"x-xxxx-xxxxx-{nid[10:12]}-{nid[12]}" in seen
    assert "ตัวชี้วัดตามแผนพัฒนา" in seen and "ข้อมูลที่ต้องแก้ไข" in seen
