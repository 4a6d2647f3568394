"""A sample area living in the fake Google: the same spreadsheets as a local one, uploaded.

``GoogleArea`` builds a small sample area as ``.xlsx`` files (the local backend),
uploads every spreadsheet into a folder of the fake, and writes a config that
points devplan at that folder through ``DEVPLAN_GOOGLE_API_BASE``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tests.conftest import write_config

TODAY = date(2019, 9, 1)  # inside FY 2562: both backends run "on" the same day
#: devplan's summary tab in each school's spreadsheet (the demo config's ``output.summary_tab``)
SUMMARY = "สรุปผล (devplan)"


@dataclass
class GoogleArea:
    fake: Any
    folder: str
    config: Path
    local_config: Path
    local: Path
    #: spreadsheet title -> id in the fake
    ids: dict[str, str]

    def settings(self, **overrides: Any) -> Any:
        from pipeline.config import load_settings

        return load_settings(self.config, overrides or None)

    def local_settings(self) -> Any:
        from pipeline.config import load_settings

        return load_settings(self.local_config)


class VirtualClock:
    """Time that passes only when someone sleeps (or a test moves it: "this request took 20 s"): the
    client's pacing and deadline and the fake's quota share it, so what is tested is the arithmetic of
    the quota and the deadline, never how fast this machine answers."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def google_config(tmp_path: Path, folder: str, name: str = "google.toml", quota: str = "") -> Path:
    """The demo config, storage switched to the fake's folder and a state file of its own."""
    base = write_config(tmp_path)
    text = base.read_text(encoding="utf-8")
    start = text.index("[storage]")
    end = text.index("[indicators]")
    storage = (
        "[storage]\n"
        'backend = "google"\n'
        f'folder = "{folder}"\n'
        f'state = "{tmp_path / (name + ".state.sqlite")}"\n'
        "[storage.quota]\n"
        + ("" if "backoff_base" in quota else "backoff_base = 0.01\n")
        + ("" if "max_backoff" in quota else "max_backoff = 0.2\n")
        + f"{quota}\n"
    )
    path = tmp_path / name
    path.write_text(text[:start] + storage + text[end:], encoding="utf-8")
    return path


def upload(fake: Any, sheets: Path, folder: str) -> dict[str, str]:
    """Every ``.xlsx`` of ``sheets`` as a spreadsheet of the fake, all tabs, typed values."""
    from openpyxl import load_workbook

    ids = {}
    for path in sorted(sheets.glob("*.xlsx")):
        book = load_workbook(path, data_only=True)
        tabs = {
            sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets
        }
        ids[path.stem] = fake.add_spreadsheet(path.stem, tabs, folder=folder)
    return ids


def build_area(fake: Any, tmp_path: Path, schools: int = 5, seed: int = 2562) -> GoogleArea:
    """A sample area of ``schools`` schools: locally in ``tmp_path/local`` and uploaded to ``fake``."""
    from pipeline.config import load_settings
    from pipeline.sample import generate_area
    from pipeline.workbook.local import LocalWorkbook

    local_config = _local_config(tmp_path)
    settings = load_settings(local_config)
    generate_area(LocalWorkbook(settings.storage.path), settings, schools=schools, seed=seed)
    # upload a pristine copy: the local run will add its own tabs to the local files
    pristine = tmp_path / "pristine"
    shutil.copytree(settings.storage.path, pristine)
    # shared with devplan's own account (the anonymous caller: no key), as the README's Google setup says
    folder = fake.add_folder("devplan-area", shared_drive=True, shared_with=[None])
    ids = upload(fake, pristine, folder)
    os.environ["DEVPLAN_GOOGLE_API_BASE"] = fake.base_url
    return GoogleArea(fake, folder, google_config(tmp_path, folder), local_config, settings.storage.path, ids)


def _local_config(tmp_path: Path) -> Path:
    folder = tmp_path / "local"
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(folder)


# --- what the fake holds, to compare before and after a run ------------------------------------


def tab_state(fake: Any, sid: str, tab: str) -> tuple:
    """All the fake stores about one tab: its sheet (grid, look, rules), values with formulas as typed,
    and developer metadata."""
    return fake.sheet(sid, tab), fake.values(sid, tab, render="FORMULA"), fake.developer_metadata(sid, tab)


def snapshot(fake: Any, folder: str) -> dict[tuple[str, str], tuple]:
    """Every tab of every spreadsheet now in ``folder`` (devplan's own included), keyed by (id, tab)."""
    return {(item["id"], tab): tab_state(fake, item["id"], tab)
            for item in fake.files(folder) for tab in fake.tab_names(item["id"])}


def staff_tabs(fake: Any, area: GoogleArea) -> dict[tuple[str, str], tuple]:
    """Every tab of the area's own spreadsheets (those it was built with, wherever they are now) but
    devplan's summary tab, keyed by (id, tab): what no run may change."""
    return {(sid, tab): tab_state(fake, sid, tab)
            for sid in area.ids.values() for tab in fake.tab_names(sid) if tab != SUMMARY}
