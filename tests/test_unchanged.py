"""Units whose outputs cannot have changed are not made again (pipeline/unchanged.py).

Behaviour, not timings: after an edit to one school, that school's tab and e-mail are made again and
the others are not, and what the night leaves (every file's content, the dashboard, every e-mail) is
what a full run on a new state file leaves; each input the outputs depend on is seen (an edited file,
a setting, a template, a date in another fiscal phase, a deleted e-mail, a summary tab a person edited,
a state file from an older devplan); a check says what it says without the memory; mail that goes
out is built that night. Real files, the real state file, a real SMTP server, the CLI for ``check``.
"""

from __future__ import annotations

import dataclasses
import email
import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from datetime import date
from email.policy import default as default_policy
from pathlib import Path

import pytest
from click.testing import CliRunner

import pipeline.deliver
import pipeline.publish
from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.deliver import SendPolicy, SmtpSettings
from pipeline.state import State
from pipeline.sync import prepare, run_sync
from pipeline.unchanged import made_from
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.conftest import REPO, write_config
from tests.smtp_server import sent_rows
from tests.test_idle import edit_hours

#: fiscal year 2562 runs 1 Oct 2018 - 30 Sep 2019; its second half starts on 1 April 2019
DAY, SAME_HALF, SECOND_HALF = date(2019, 1, 15), date(2019, 2, 20), date(2019, 5, 1)
UNITS = sorted(hand_area.DIRECTORS)


@pytest.fixture
def made(monkeypatch):
    """The units whose tab (``tabs``) and e-mail (``letters``) a run rendered, in order."""
    seen: dict[str, list[str]] = {"tabs": [], "letters": [], "dashboard": []}
    unit_tabs, letter, render_dated = pipeline.publish.unit_tabs, pipeline.deliver.letter, pipeline.publish.render_dated

    def spy_tabs(env, summary, tab):
        seen["tabs"].append(summary.unit.code)
        return unit_tabs(env, summary, tab)

    def spy_letter(env, summary):
        seen["letters"].append(summary.unit.code)
        return letter(env, summary)

    def spy_dashboard(env, template, summary):
        if template.startswith("dashboard_"):
            seen["dashboard"].append(template)
        return render_dated(env, template, summary)

    monkeypatch.setattr(pipeline.publish, "unit_tabs", spy_tabs)
    monkeypatch.setattr(pipeline.publish, "render_dated", spy_dashboard)
    monkeypatch.setattr(pipeline.deliver, "letter", spy_letter)

    def take(dashboard: bool = False) -> dict[str, list[str]]:
        """What was made since the last look: the units' tabs and letters (and, asked, the dashboard's tabs)."""
        found = {kind: sorted(codes) for kind, codes in seen.items() if dashboard or kind != "dashboard"}
        for codes in seen.values():
            codes.clear()
        return found

    return take


def new_area(root: Path):
    """The hand-built area in ``root``, with a state file of its own."""
    root.mkdir(parents=True, exist_ok=True)
    settings = load_settings(write_config(root))
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    return settings


def files(settings) -> dict[str, dict[str, bytes | list[bytes]]]:
    """Every spreadsheet's parts, by file name and part (the zip's own dates aside, and the order of the
    content types' entries: a file devplan created lists its parts in another order than one it wrote twice)."""
    found: dict[str, dict[str, bytes | list[bytes]]] = {}
    for path in sorted(Path(settings.storage.path).glob("*.xlsx")):
        with zipfile.ZipFile(path) as package:
            parts: dict[str, bytes | list[bytes]] = {name: package.read(name) for name in package.namelist()}
        types = parts["[Content_Types].xml"]
        assert isinstance(types, bytes)
        parts["[Content_Types].xml"] = sorted(types.replace(b"><", b">\n<").split(b"\n"))
        found[path.name] = parts
    return found


def letters(settings) -> dict[str, tuple[str, str, str, str]]:
    """Every e-mail in the outbox: recipient, subject, text and HTML (the Date and Message-ID aside)."""
    found = {}
    for path in sorted(Path(settings.output.outbox).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        found[path.name] = (str(message["To"]), str(message["Subject"]),
                            message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content())
    return found


def stamps(settings) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in Path(settings.output.outbox).glob("*.eml")}


def test_an_edited_night_leaves_what_a_full_run_leaves(tmp_path, made):
    night = new_area(tmp_path / "nightly")
    run_sync(night, today=DAY)
    assert made() == {"tabs": UNITS, "letters": UNITS}  # a new state file: every unit made
    before = stamps(night)
    edit_hours(night, hand_area.SCHOOL_B, 7)
    run_sync(night, today=DAY)
    # the edited school only (the office's summary does not count the schools' records)
    assert made() == {"tabs": [hand_area.SCHOOL_B], "letters": [hand_area.SCHOOL_B]}
    after = stamps(night)
    assert {name for name in before if before[name] != after[name]} == {f"{hand_area.SCHOOL_B}.eml"}

    full = new_area(tmp_path / "full")
    edit_hours(full, hand_area.SCHOOL_B, 7)
    run_sync(full, today=DAY)
    assert files(night) == files(full)
    assert letters(night) == letters(full)
    assert len(letters(full)) == len(UNITS)


def test_nothing_changed_makes_nothing_and_a_new_day_in_the_same_phase_neither(area, made):
    run_sync(area, today=DAY)
    made()
    run_sync(area, today=DAY)
    assert made() == {"tabs": [], "letters": []}
    run_sync(area, today=SAME_HALF)
    assert made() == {"tabs": [], "letters": []}


def test_a_date_in_another_fiscal_phase_makes_every_unit_again(area, made):
    run_sync(area, today=DAY)
    made()
    run_sync(area, today=SECOND_HALF)
    assert made() == {"tabs": UNITS, "letters": UNITS}


def test_a_changed_setting_makes_every_unit_again(tmp_path, area, config_file, made):
    run_sync(area, today=DAY)
    made()
    renamed = load_settings(config_file, {"area.name": "สำนักงานเขตทดสอบ"})
    run_sync(renamed, today=DAY)
    assert made() == {"tabs": UNITS, "letters": UNITS}
    assert all("สำนักงานเขตทดสอบ" in text for _, _, text, _ in letters(area).values())


def test_a_changed_template_makes_every_unit_again(tmp_path, config_file, made):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    root = tmp_path / "area"
    root.mkdir()
    settings = load_settings(write_config(root), {"output.templates": str(templates)})
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    run_sync(settings, today=DAY)
    made()
    with open(templates / "school_email.txt", "a", encoding="utf-8") as file:
        file.write("\nบรรทัดทดสอบแม่แบบ\n")
    run_sync(settings, today=DAY)
    assert made() == {"tabs": UNITS, "letters": UNITS}
    assert all("บรรทัดทดสอบแม่แบบ" in text for _, _, text, _ in letters(settings).values())


def test_a_deleted_email_is_made_again_as_it_was(area, made):
    run_sync(area, today=DAY)
    made()
    before = letters(area)
    sheets = files(area)
    (Path(area.output.outbox) / f"{hand_area.SCHOOL_A}.eml").unlink()
    run_sync(area, today=DAY)
    # that unit is made again (its tab only rendered: unchanged, it is not written)
    assert made() == {"tabs": [hand_area.SCHOOL_A], "letters": [hand_area.SCHOOL_A]}
    assert letters(area) == before
    assert files(area) == sheets


def test_a_summary_tab_a_person_edited_is_written_again(area, made):
    run_sync(area, today=DAY)
    made()
    written = files(area)
    book = LocalWorkbook(area.storage.path)
    key = area.sources.idplan.key_for(hand_area.SCHOOL_A)
    tab = area.output.summary_tab
    path = book.path(key)
    from openpyxl import load_workbook  # a person's save, as Excel would leave it

    shown = book.read(key, [tab])[tab]
    staff_book = load_workbook(path)
    staff_book[tab]["A1"] = "แก้โดยคน"
    staff_book.save(path)
    assert book.read(key, [tab])[tab][0][0] == "แก้โดยคน"
    outbox = letters(area)
    run_sync(area, today=DAY)
    assert made() == {"tabs": [hand_area.SCHOOL_A], "letters": [hand_area.SCHOOL_A]}  # that unit is made again
    assert book.read(key, [tab])[tab] == shown  # the tab devplan wrote, back as it was
    assert {name: parts for name, parts in files(area).items() if name != path.name} == {
        name: parts for name, parts in written.items() if name != path.name}
    assert letters(area) == outbox


def test_a_state_file_from_an_older_devplan_makes_every_unit(area, made):
    run_sync(area, today=DAY)
    made()
    before = (files(area), letters(area))
    with sqlite3.connect(area.storage.state) as db:
        db.execute("DROP TABLE unit_outputs")  # as a devplan before these tables left it
        db.execute("DROP TABLE tab_outputs")
    run_sync(area, today=DAY)
    assert made(dashboard=True) == {"tabs": UNITS, "letters": UNITS, "dashboard": ALL_DASHBOARD}
    assert (files(area), letters(area)) == before
    with State(area.storage.state) as state:
        assert sorted(state.unit_outputs()) == UNITS
    run_sync(area, today=DAY)
    assert made() == {"tabs": [], "letters": []}


def test_a_check_says_the_same_with_or_without_the_memory(area, config_file):
    def check() -> str:
        result = CliRunner().invoke(cli, ["check", "--config", str(config_file)])
        assert result.exit_code in (0, 1), result.output
        return result.stdout

    run_sync(area)
    with State(area.storage.state) as state:
        remembered = state.unit_outputs()
    edit_hours(area, hand_area.SCHOOL_B, 7)
    with_memory = check()
    with State(area.storage.state) as state:
        assert state.unit_outputs() == remembered  # a check remembers nothing
        state.record_unit_outputs({}, list(remembered))
    assert check() == with_memory
    assert hand_area.SCHOOL_B in with_memory


def test_mail_that_goes_out_is_built_that_night(server, area, made):
    smtp = SmtpSettings.from_environ()
    first = run_sync(area, today=DAY)  # no --send: written to the outbox only
    made()
    outbox = letters(area)
    second = run_sync(area, smtp=smtp, today=SAME_HALF)
    assert made() == {"tabs": [], "letters": UNITS}  # due: built with the night's date
    assert sorted(second.delivery.sent) == UNITS
    assert second.delivery.hashes == first.delivery.hashes
    assert sorted(h for _, _, h, *_ in sent_rows(area)) == sorted(first.delivery.hashes.values())
    for _, message in server.messages:
        parsed = email.message_from_bytes(message, policy=default_policy)
        code = next(c for c, a in hand_area.DIRECTORS.items() if a in str(parsed["To"]))
        text = parsed.get_body(("plain",)).get_content()
        assert text == letters(area)[f"{code}.eml"][2]  # the outbox holds what was sent
        assert text != outbox[f"{code}.eml"][2]  # dated this night, not the night before
    third = run_sync(area, smtp=smtp, today=SAME_HALF)
    assert made() == {"tabs": [], "letters": []} and third.delivery.sent == []


def test_made_from_tells_apart_what_renders_apart(area):
    units = prepare(area, LocalWorkbook(area.storage.path), today=DAY).units
    summary = units[hand_area.SCHOOL_A]
    person = summary.staff[0]
    other_hours = 2 if person.hours != 2 else 3
    variants = [
        summary,
        dataclasses.replace(summary, staff=[dataclasses.replace(person, hours=float(other_hours)), *summary.staff[1:]]),
        dataclasses.replace(summary, staff=[dataclasses.replace(person, hours=int(other_hours)), *summary.staff[1:]]),
        dataclasses.replace(summary, staff=[*summary.staff[1:], person]),  # the order people are listed in
        dataclasses.replace(summary, unit=dataclasses.replace(summary.unit, director_email="x@school.test")),
    ]
    digests = [made_from(s, "context") for s in variants]
    assert len(set(digests)) == len(variants)
    assert made_from(summary, "another context") != digests[0]
    later = dataclasses.replace(summary, run=dataclasses.replace(summary.run, generated_on=SECOND_HALF))
    assert made_from(later, "context") == digests[0]  # the date itself is left out (the phase is the context's)


SEEDED = """
import dataclasses, sys
from pipeline.unchanged import _plain
import json
@dataclasses.dataclass(frozen=True)
class Box:
    names: frozenset
    more: set
print(json.dumps(Box(frozenset({"ก", "ข", "ค", "ง", "จ"}), {("x", 1), ("y", 2)}), default=_plain, ensure_ascii=False))
"""


def test_a_set_hashes_the_same_whatever_the_hash_seed():
    outputs = {
        subprocess.run([sys.executable, "-c", SEEDED], capture_output=True, text=True, check=True, cwd=REPO,
                       env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(outputs) == 1
    assert json.loads(next(iter(outputs)))[1] == ["set", ['"ก"', '"ข"', '"ค"', '"ง"', '"จ"']]


def test_to_and_unit_build_only_what_goes_out(server, area, made):
    smtp = SmtpSettings.from_environ()
    run_sync(area, today=DAY)
    made()
    outbox = letters(area)
    # --unit: only the named unit's message goes out, so only it is built
    run_sync(area, smtp=smtp, today=DAY, send_policy=SendPolicy(units=frozenset({hand_area.SCHOOL_B})))
    assert made() == {"tabs": [], "letters": [hand_area.SCHOOL_B]}
    assert server.recipients() == [hand_area.DIRECTORS[hand_area.SCHOOL_B]]
    # --to: every message goes to the test address, each built, as the outbox has it
    run_sync(area, smtp=smtp, today=DAY, send_policy=SendPolicy(test_to="tester@area.test"))
    assert made() == {"tabs": [], "letters": UNITS}
    assert server.recipients()[1:] == ["tester@area.test"] * len(UNITS)
    sent = sorted(email.message_from_bytes(m, policy=default_policy).get_body(("plain",)).get_content()
                  for _, m in server.messages[1:])
    assert sent == sorted(text for _, _, text, _ in outbox.values())
    assert letters(area) == outbox


def dashboard_prints(settings, day: date) -> dict[str, str]:
    """Each dashboard tab's fingerprint as a full render gives it (a second, simple method: every tab rendered)."""
    from pipeline.publish import render_dashboard

    with State(settings.storage.state) as state:
        ready = prepare(settings, LocalWorkbook(settings.storage.path), today=day)
        area = dataclasses.replace(ready.area, mailed=state.last_mailing())
    return render_dashboard(ready.env, area)[1]


ALL_DASHBOARD = sorted(t for t in pipeline.publish.DASHBOARD_TABS.values())


def test_only_the_dashboard_tabs_whose_inputs_changed_are_made_and_only_changed_ones_written(area, made):
    run_sync(area, today=DAY)
    assert made(dashboard=True)["dashboard"] == ALL_DASHBOARD
    before = dashboard_prints(area, DAY)
    edit_hours(area, hand_area.SCHOOL_B, 7)
    after = dashboard_prints(area, DAY)
    changed = sorted(tab for tab in after if before[tab] != after[tab])
    assert changed  # the edit shows on the dashboard
    made(dashboard=True)
    result = run_sync(area, today=DAY)
    rendered = made(dashboard=True)["dashboard"]
    assert set(pipeline.publish.DASHBOARD_TABS[tab] for tab in changed) <= set(rendered) < set(ALL_DASHBOARD)
    assert sorted(result.published.written[area.output.dashboard]) == changed
    assert dashboard_prints(area, DAY) == after
    made(dashboard=True)
    run_sync(area, today=DAY)  # nothing changed since: nothing rendered, nothing written
    assert made(dashboard=True)["dashboard"] == []


def test_a_dashboard_a_person_edited_is_made_and_written_whole(area, made):
    run_sync(area, today=DAY)
    book = LocalWorkbook(area.storage.path)
    tabs = list(pipeline.publish.DASHBOARD_TABS)
    shown = book.read(area.output.dashboard, tabs)
    from openpyxl import load_workbook  # a person's save, as Excel would leave it

    path = book.path(area.output.dashboard)
    staff_book = load_workbook(path)
    staff_book[tabs[-1]]["A1"] = "แก้โดยคน"
    staff_book.save(path)
    made(dashboard=True)
    result = run_sync(area, today=DAY)
    assert made(dashboard=True)["dashboard"] == ALL_DASHBOARD
    assert sorted(result.published.written[area.output.dashboard]) == sorted(tabs)
    assert book.read(area.output.dashboard, tabs) == shown
