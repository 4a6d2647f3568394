"""A cell whose formula gives an error (#NAME?, #REF!, #N/A, #DIV/0!...) is an error, never text.

Read from Google Sheets (the fake, over HTTP) or from an ``.xlsx`` file (``t="e"``
cells), such a cell is listed to be fixed with its cell (column letter and row),
counted as missing, and never taken for a status: no hint to add ``#NAME?`` to
``vocabulary.done_statuses``.
"""

from __future__ import annotations

import string

import pytest

from pipeline.sync import run_sync
from pipeline.workbook import CellError
from tests.google_area import TODAY, build_area


def letter(index: int) -> str:
    """Column letters of a 0-based index (A..Z, then AA..): enough for these tabs."""
    return string.ascii_uppercase[index] if index < 26 else "A" + string.ascii_uppercase[index - 26]


def errors_for(result, sheet: str, tab: str) -> dict[int, list[tuple[str, str]]]:
    """Row -> (reason, value) of the quarantine's formula-error rows of one tab."""
    found: dict[int, list[tuple[str, str]]] = {}
    q = result.data.quarantine
    for _, row in q[(q["_sheet"] == sheet) & (q["_tab"] == tab)].iterrows():
        if "สูตรในช่อง" in row["reason"]:
            found.setdefault(int(row["_row"]), []).append((row["reason"], row["value"]))
    return found


def check_outcome(result, settings, key: str, rows: dict[str, int], header: list[str]) -> None:
    """The status and hours errors are listed with their cells; the status counts as missing (not done)."""
    tab = settings.sources.idplan.record_tab
    columns = settings.sources.idplan.record_columns
    status_at, hours_at = letter(header.index(columns.status)), letter(header.index(columns.hours))
    listed = errors_for(result, key, tab)
    status_row, hours_row = rows["status"], rows["hours"]
    assert [v for _, v in listed[status_row]] == ["#NAME?"]
    assert f"สูตรในช่อง {status_at}{status_row} ให้ค่าผิดพลาด (#NAME?)" in listed[status_row][0][0]
    assert [v for _, v in listed[hours_row]] == ["#N/A"]
    assert f"สูตรในช่อง {hours_at}{hours_row} ให้ค่าผิดพลาด (#N/A)" in listed[hours_row][0][0]
    # never a status: no note asks for '#NAME?' to be added to the done statuses
    notes = result.data.notes
    mine = notes[(notes["_sheet"] == key) & (notes["_tab"] == tab)]
    assert not mine["reason"].str.contains("done_statuses").loc[mine["_row"] == status_row].any()
    assert not notes["value"].astype(str).str.contains("#NAME?").any()
    records = result.data.records
    record = records[(records["_sheet"] == key) & (records["_row"] == status_row)]
    assert list(record["done"]) == [False]  # counted as a missing status: not done
    hours = records[(records["_sheet"] == key) & (records["_row"] == hours_row)]
    assert list(hours["hours"]) == [0]  # missing hours


def test_google_reads_formula_errors_as_errors(fake_google, tmp_path):
    area = build_area(fake_google, tmp_path, schools=2)
    settings = area.settings()
    key = sorted(k for k in area.ids if k.startswith("idplan-") and not k.endswith("pbn2"))[0]
    sid, tab = area.ids[key], settings.sources.idplan.record_tab
    columns = settings.sources.idplan.record_columns
    header = fake_google.values(sid, tab)[0]
    done = settings.vocabulary.done_statuses[0]
    # two rows with a done status: one's status becomes a formula error, the other's hours a typed #N/A
    rows = [i + 1 for i, r in enumerate(fake_google.values(sid, tab)) if i and r[header.index(columns.status)] == done]
    assert len(rows) >= 2
    fake_google.staff_edit(sid, tab, rows[0], header.index(columns.status) + 1, "=#NAME?")
    fake_google.staff_edit(sid, tab, rows[1], header.index(columns.hours) + 1, "#N/A")
    assert fake_google.values(sid, tab)[rows[0] - 1][header.index(columns.status)] == "#NAME?"

    result = run_sync(settings, today=TODAY)
    check_outcome(result, settings, key, {"status": rows[0], "hours": rows[1]}, header)
    # the state file keeps the error as an error: the next night, from the cache, the same
    again = run_sync(settings, today=TODAY.replace(day=2))
    assert again.reads.cached and key in again.reads.cached
    check_outcome(again, settings, key, {"status": rows[0], "hours": rows[1]}, header)


def test_google_error_texts_are_errors_and_other_text_is_text(fake_google, tmp_path):
    """Every error Sheets shows is read as one; text that only starts with '#' stays text."""
    from pipeline.state import State
    from pipeline.workbook.google import GoogleWorkbook

    shown = ["#NAME?", "#REF!", "#N/A", "#DIV/0!", "#VALUE!", "#NUM!", "#NULL!", "#ERROR!"]
    folder = fake_google.add_folder("errors", shared_drive=True)
    sid = fake_google.add_spreadsheet("errors", {"t": [["head"]]}, folder=folder)
    fake_google.staff_write(sid, "t", 2, 1, [[f"={e}" for e in shown]])
    fake_google.staff_write(sid, "t", 3, 1, [["=1/0", "=NA()", "#1 ของโรงเรียน", "# N/A"]])
    book = GoogleWorkbook(folder, State(None), api_base=fake_google.base_url)
    rows = book.read("errors", ["t"])["t"]
    assert rows[1] == [CellError(e) for e in shown]
    assert rows[2][:4] == [CellError("#DIV/0!"), CellError("#N/A"), "#1 ของโรงเรียน", "# N/A"]


@pytest.mark.parametrize("value", ["#NAME?", "#N/A"])
def test_the_state_file_keeps_an_error_an_error(tmp_path, value):
    from pipeline.state import State

    with State(tmp_path / "s.sqlite") as state:
        state.store_tabs("x", "v1", {"t": [["a", CellError(value)]]})
        assert state.cached_tabs("x", "v1", ["t"]) == {"t": [["a", CellError(value)]]}


def test_xlsx_reads_formula_errors_as_errors(config_file):
    """Cells Excel or LibreOffice saved with an error result (``t="e"``): calamine alone reads them empty."""
    import zipfile

    from openpyxl import load_workbook

    from pipeline.config import load_settings
    from pipeline.workbook.local import LocalWorkbook
    from tests import hand_area

    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    key = settings.sources.idplan.key_for(hand_area.SCHOOL_A)
    tab, columns = settings.sources.idplan.record_tab, settings.sources.idplan.record_columns
    rows = book.read(key, [tab])[tab]
    header = rows[0]
    done = set(settings.vocabulary.done_statuses)
    picked = [i + 1 for i, r in enumerate(rows) if i and r[header.index(columns.status)] in done][:2]
    assert len(picked) == 2
    opened = load_workbook(book.path(key))
    sheet = opened[tab]
    sheet.cell(picked[0], header.index(columns.status) + 1).value = "#NAME?"
    sheet.cell(picked[1], header.index(columns.hours) + 1).value = "#N/A"
    opened.save(book.path(key))
    with zipfile.ZipFile(book.path(key)) as archive:
        assert sum(archive.read(n).count(b't="e"') for n in archive.namelist() if n.startswith("xl/worksheets/")) == 2

    read = book.read(key, [tab])[tab]
    assert read[picked[0] - 1][header.index(columns.status)] == CellError("#NAME?")
    assert read[picked[1] - 1][header.index(columns.hours)] == CellError("#N/A")
    result = run_sync(settings)
    check_outcome(result, settings, key, {"status": picked[0], "hours": picked[1]}, header)
