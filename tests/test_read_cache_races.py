"""The read cache's carry-over (pipeline/workbook/read_cache.py) when someone saves a school's file while
devplan writes its summary tab: a cached read must always equal a fresh read of the file as it is.

Real files, the real state file, the run's own write; the person's save is made between devplan's write
of the file and the moment the run keeps the rows under the new bytes (the write's outcome).
"""

from __future__ import annotations

import re
import zipfile
from datetime import date
from pathlib import Path

from pipeline.config import load_settings
from pipeline.state import State
from pipeline.sync import run_sync
from pipeline.workbook.local import LocalWorkbook
from pipeline.workbook.read_cache import CachedLocalWorkbook
from tests import hand_area
from tests.conftest import write_config
from tests.test_idle import edit_hours

DAY = date(2019, 1, 15)
OLD, NEW = "นายอำนาจ ศรีสุข", "นายอำนาจ ศรีสุขใจ"


def _replace_part(path: Path, name: str, old: bytes, new: bytes) -> None:
    """Rewrite one part of the zip, every other part's bytes as they were (as a save of one string does)."""
    with zipfile.ZipFile(path) as package:
        parts = [(info, package.read(info)) for info in package.infolist()]
    with zipfile.ZipFile(path, "w") as package:
        for info, data in parts:
            if info.filename == name:
                assert old in data
                data = data.replace(old, new)
            package.writestr(info, data)


def _as_excel_keeps_it(book: LocalWorkbook, key: str, path: Path) -> None:
    """The school's file made again with every text cell in a shared string table, as Excel saves one
    (openpyxl here writes texts inline: they are moved into ``xl/sharedStrings.xml``)."""
    from openpyxl import Workbook

    tabs = book.tabs(key)
    rows = book.read(key, tabs)
    made = Workbook()
    made.remove(made.active)
    for tab in tabs:
        sheet = made.create_sheet(tab)
        for r, row in enumerate(rows[tab], start=1):
            for c, value in enumerate(row, start=1):
                cell = sheet.cell(row=r, column=c, value=value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # text a person typed, kept as text
    made.save(path)
    with zipfile.ZipFile(path) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    strings: list[str] = []

    def shared(match: re.Match[bytes]) -> bytes:
        strings.append(match.group(2).decode())
        return match.group(1) + b' t="s"><v>' + str(len(strings) - 1).encode() + b"</v></c>"

    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        parts[name] = re.sub(rb'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', shared, parts[name])
    items = "".join(f"<si><t xml:space=\"preserve\">{text}</t></si>" for text in strings)
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>').encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>'))
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(b"</Relationships>", (
        b'<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    assert book.read(key, tabs) == rows


def test_a_string_saved_during_devplans_write_is_read_as_saved(tmp_path, monkeypatch):
    root = tmp_path / "area"
    root.mkdir()
    settings = load_settings(write_config(root))
    hand_area.build(LocalWorkbook(settings.storage.path), settings)
    idplan = settings.sources.idplan
    key = idplan.key_for(hand_area.SCHOOL_A)
    book = LocalWorkbook(settings.storage.path)
    path = book.path(key)
    _as_excel_keeps_it(book, key, path)
    run_sync(settings, today=DAY)
    edit_hours(settings, hand_area.SCHOOL_A, 7)  # so the next run writes this school's tab again

    write_many = LocalWorkbook.write_many

    def saved_after_the_write(self, writes, *, own=False):
        outcomes = write_many(self, writes, own=own)

        def each():
            for (written, _), outcome in zip(writes, outcomes):
                if written == key:  # the person's save of one name: only the shared strings change
                    _replace_part(path, "xl/sharedStrings.xml", OLD.encode(), NEW.encode())
                yield outcome

        return type(outcomes)(each(), outcomes.close)

    monkeypatch.setattr(LocalWorkbook, "write_many", saved_after_the_write)
    run_sync(settings, today=DAY)
    monkeypatch.undo()

    tabs = [idplan.plan_tab, idplan.record_tab]
    fresh = LocalWorkbook(settings.storage.path).read(key, tabs)
    assert any(NEW in row for rows in fresh.values() for row in rows)
    with State(settings.storage.state) as state:
        assert CachedLocalWorkbook(settings.storage.path, state).read(key, tabs) == fresh
