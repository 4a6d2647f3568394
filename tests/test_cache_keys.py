"""Adversarial checks of the caches' keys (issue 15's review): an input that changes an output must change
the key that keeps the output, so no run shows or sends what a full run on a new state file would not.

Real files, the real state file, the CLI where the night goes through it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.conftest import REPO, write_config


def sync(config_file: Path, *flags: str):
    return CliRunner().invoke(cli, ["sync", "--config", str(config_file), *flags])


def test_a_template_edited_to_the_same_size_and_time_is_seen(tmp_path):
    """A template's text, not its size and modification time, decides (an editor or a copy that keeps the
    time, a coarse clock on a shared folder): the night after the edit shows the new text."""
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    root = tmp_path / "area"
    root.mkdir()
    config_file = write_config(root, **{'# templates = "templates"': f'templates = "{templates}"'})
    settings = load_settings(config_file)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    assert sync(config_file).exit_code == 1  # the hand area's bad rows need a person
    sheet = templates / "school_sheet.tsv"
    before = sheet.stat()
    text = sheet.read_text(encoding="utf-8")
    assert text.count("โปรแกรม devplan") == 1
    sheet.write_text(text.replace("โปรแกรม devplan", "โปรแกรม DEVPLAN"), encoding="utf-8")
    os.utime(sheet, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (sheet.stat().st_size, sheet.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    second = sync(config_file)
    assert second.exit_code == 1, second.output
    book = LocalWorkbook(settings.storage.path)
    tab = settings.output.summary_tab
    for code in sorted(hand_area.DIRECTORS):
        rows = book.read(settings.sources.idplan.key_for(code), [tab])[tab]
        shown = " ".join(str(v) for row in rows for v in row if v is not None)
        assert "โปรแกรม DEVPLAN" in shown and "โปรแกรม devplan" not in shown, code


def test_another_version_of_a_library_is_another_program(tmp_path, monkeypatch, area):
    """What devplan renders and builds depends on the libraries it runs on (Jinja, MarkupSafe, Python's
    e-mail package): a library upgraded in place (``pip install -U``) changes the key, so no tab, e-mail or
    idle night is kept from the old one. A distribution is known by its metadata folder, whose name
    carries its version, where Python finds modules."""
    from pipeline.fingerprints import program

    site = tmp_path / "site"
    (site / "examplelib-1.0.dist-info").mkdir(parents=True)
    monkeypatch.syspath_prepend(str(site))
    before = program(area)
    assert program(area) == before
    (site / "examplelib-1.0.dist-info").rename(site / "examplelib-1.1.dist-info")
    assert program(area) != before


@pytest.mark.parametrize("stage, code", [
    ("post_mail", hand_area.SCHOOL_A),  # a file only read that night (its unit unchanged), saved after the read
    ("publish", hand_area.SCHOOL_B),  # a file devplan writes that night, saved between the read and the write
])
def test_a_save_during_a_sync_is_seen_the_night_after(tmp_path, monkeypatch, stage, code):
    """A person saves a school's ID Plan while a sync runs, after devplan read it: that sync worked from
    the file before the save, so the night after must not take the saved file for one it has seen; it runs
    in full and shows the edit, as a full run on a new state file does."""
    import pipeline.sync
    from pipeline.idle import run_night
    from tests.test_idle import edit_hours
    from tests.test_unchanged import DAY, files, letters, new_area

    settings = new_area(tmp_path / "nightly")
    run_night(settings, say=lambda _: None, today=DAY)
    step = getattr(pipeline.sync, stage)

    def saved_meanwhile(*args, **kwargs):
        edit_hours(settings, code, 9)
        return step(*args, **kwargs)

    edit_hours(settings, hand_area.SCHOOL_B, 7)  # so the second night runs in full
    with monkeypatch.context() as patched:
        patched.setattr(pipeline.sync, stage, saved_meanwhile)
        assert run_night(settings, say=lambda _: None, today=DAY).result is not None
    third = run_night(settings, say=lambda _: None, today=DAY)
    assert third.quiet is None  # the saved file is not the one the last sync read

    full = new_area(tmp_path / "full")
    edit_hours(full, hand_area.SCHOOL_B, 7)
    edit_hours(full, code, 9)
    run_night(full, say=lambda _: None, today=DAY)
    assert files(settings) == files(full)
    assert letters(settings) == letters(full)


def test_a_dashboard_saved_during_a_sync_is_written_whole(area, monkeypatch):
    """A person saves the dashboard after the run found it devplan's own untouched write and before the run
    writes the tabs that changed: the tabs the run would leave as they were are no longer devplan's, so
    every tab is written (as a full run writes them), and the person's edit does not outlive the run."""
    from openpyxl import load_workbook

    import pipeline.sync
    from pipeline.sync import run_sync
    from tests.test_idle import edit_hours
    from tests.test_unchanged import DAY, dashboard_prints

    run_sync(area, today=DAY)
    before = dashboard_prints(area, DAY)
    edit_hours(area, hand_area.SCHOOL_B, 7)
    after = dashboard_prints(area, DAY)
    kept = [tab for tab in after if before[tab] == after[tab]]
    assert kept and len(kept) < len(after)  # the night writes some tabs, not all
    book = LocalWorkbook(area.storage.path)
    path = book.path(area.output.dashboard)
    publish = pipeline.sync.publish

    def saved_meanwhile(*args, **kwargs):
        staff_book = load_workbook(path)
        staff_book[kept[0]]["A1"] = "แก้โดยคน"
        staff_book.save(path)
        return publish(*args, **kwargs)

    monkeypatch.setattr(pipeline.sync, "publish", saved_meanwhile)
    result = run_sync(area, today=DAY)
    assert sorted(result.published.written[area.output.dashboard]) == sorted(after)
    shown = book.read(area.output.dashboard, [kept[0]])[kept[0]]
    assert shown[0][0] != "แก้โดยคน"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a folder that another user cannot list")
def test_a_templates_folder_the_run_cannot_list_is_never_the_same_program(tmp_path, area):
    """A folder of devplan's code or templates that the account running it cannot list (a clone only root may
    enter): the fingerprint is unknown, so it never equals an earlier run's (nothing is kept as unchanged),
    and the run goes on to say what it cannot read, instead of stopping with an unexpected error."""
    from pipeline.fingerprints import program
    from tests.conftest import as_nobody

    templates = tmp_path / "locked" / "templates"
    shutil.copytree(REPO / "templates", templates)
    os.chmod(tmp_path, 0o755)
    os.chmod(tmp_path / "locked", 0o711)  # nobody may pass through, not list
    os.chmod(templates, 0o700)
    settings = area.model_copy(update={"output": area.output.model_copy(update={"templates": str(templates)})})
    first, second = as_nobody(lambda: [program(settings), program(settings)])
    assert first != second
    assert program(settings) == program(settings)  # root lists it: the same program each time
