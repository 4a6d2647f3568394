"""devplan's tab written into every shape of .xlsx that real programs produce (issue 17).

Each shape is built here from a plain file (``tests/xlsx_shapes.py``), or is a
real file from calamine's test data (``tests/fixtures/xlsx``). devplan writes
its tab twice (with notes, then without) and the result is checked with code
that does not share the writer's: every staff part keeps its compressed bytes
and spelling, every part devplan changed is well-formed namespace-correct XML,
the style table was only appended to, content types and sheet titles are
consistent, and the three readers (openpyxl, calamine, and LibreOffice where
installed) show the staff's cells as before and devplan's tab as written.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import tempfile
import warnings
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from pipeline.errors import PublishError
from pipeline.workbook.layout import FAIL_COLORS, PASS_COLORS, CellRange, FormattedTab, TextRule
from pipeline.workbook.local import LocalWorkbook
from tests import xlsx_shapes as shapes
from tests.conftest import FIXTURES
from tests.test_workbook_lossless import raw_parts

SUMMARY = "สรุปผล (devplan)"
KEY = "idplan-1067000001"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
REL_KINDS = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/",
             "http://purl.oclc.org/ooxml/officeDocument/relationships/")
STYLE_LISTS = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs")


def fixture(name: str):
    return lambda path: shutil.copyfile(FIXTURES / "xlsx" / name, path)


SHAPES = {
    "strict": shapes.strict,
    "prefix-on-each-sheet": shapes.prefix_on_each_sheet,
    "no-rels-default": shapes.no_rels_default,
    "empty-stylesheet": shapes.empty_stylesheet,
    "case-clash": shapes.case_clash,
    "titles-inconsistent": shapes.inconsistent_titles,
    "titles-with-named-ranges": shapes.with_named_ranges,
    "calamine-strict": fixture("strict_iso_paths.xlsx"),
    "calamine-ns-prefix": fixture("nonstandard-xml-ns-prefix.xlsx"),
    "calamine-minimal-package": fixture("minimal_package.xlsx"),
    "calamine-no-styles": fixture("inlineStr_cdata.xlsx"),
    "exceljs-styles-named-but-missing": fixture("test-issue-771.xlsx"),
}


#: openpyxl reads no Strict package (it fails, or shows no tab) and no package with its parts outside xl/
OPENPYXL_CANNOT = {"strict", "calamine-strict", "calamine-minimal-package"}


def devplan_tab(notes: bool) -> FormattedTab:
    rows = [["สรุปผลการพัฒนา"], ["วันที่", datetime(2019, 9, 30, 8, 0)], ["ตัวชี้วัด", "ร้อยละ", "ผล"],
            ["STEM", 75.5, "ผ่าน"], ["PLC", 40, "ไม่ผ่าน"]]
    return FormattedTab(
        rows, bold_rows=frozenset({0, 2}), frozen_rows=3, widths=[120, 80, 80],
        notes={(3, 0): "ตัวชี้วัดตามแผน: STEM"} if notes else {},
        rules=[TextRule("ผ่าน", *PASS_COLORS, (CellRange(3, 5, 2, 3),)),
               TextRule("ไม่ผ่าน", *FAIL_COLORS, (CellRange(3, 5, 2, 3),))],
    )


#: devplan's tab as calamine reads it back (numbers as floats)
DEVPLAN_ROWS = [["สรุปผลการพัฒนา", "", ""], ["วันที่", datetime(2019, 9, 30, 8, 0), ""],
                ["ตัวชี้วัด", "ร้อยละ", "ผล"], ["STEM", 75.5, "ผ่าน"], ["PLC", 40.0, "ไม่ผ่าน"]]


def build_and_write(shape: str, folder: Path) -> tuple[Path, Path]:
    """The shape as built (kept as ``original-<shape>.xlsx``) and the same file after devplan's two writes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{KEY}.xlsx"
    SHAPES[shape](path)
    original = folder / f"original-{shape}.xlsx"
    shutil.copyfile(path, original)
    book = LocalWorkbook(folder)
    book.write(KEY, {SUMMARY: devplan_tab(notes=True)})
    book.write(KEY, {SUMMARY: devplan_tab(notes=False)})
    written = folder / f"written-{shape}.xlsx"
    shutil.copyfile(path, written)
    return original, written


# ------------------------------------------------- an independent reading of OPC


def fold(name: str) -> str:
    return name.lower()


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def relationships(parts: dict, owner: str) -> list[tuple[str, str, str]]:
    """(kind, id, target part) of ``owner``'s relationships, kinds without their namespace."""
    folder, name = posixpath.split(owner)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    found = next((parts[n][3] for n in parts if fold(n) == fold(rels_name)), None)
    if found is None:
        return []
    out = []
    for el in ElementTree.fromstring(found):
        kind = next((el.get("Type")[len(ns):] for ns in REL_KINDS if el.get("Type", "").startswith(ns)), el.get("Type"))
        target = el.get("Target")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out.append((kind, el.get("Id"), part))
    return out


def part(parts: dict, name: str) -> bytes:
    return next(parts[n][3] for n in parts if fold(n) == fold(name))


def shared_parts(parts: dict) -> dict[str, str]:
    """The parts devplan may change, by role: content types, workbook, its relationships, styles, app titles."""
    package = relationships(parts, "")
    workbook = next(p for kind, _, p in package if kind == "officeDocument")
    folder, name = posixpath.split(workbook)
    roles = {"types": "[Content_Types].xml", "workbook": workbook,
             "workbook-rels": posixpath.join(folder, "_rels", name + ".rels")}
    for kind, _, target in relationships(parts, workbook):
        if kind == "styles":
            roles["styles"] = target
    for kind, _, target in package:
        if kind in ("extended-properties", "extendedProperties"):
            roles["app"] = target
    return roles


def sheets(parts: dict) -> list[tuple[str, str]]:
    """(tab name, sheet part) in order."""
    roles = shared_parts(parts)
    rels = {rid: p for _, rid, p in relationships(parts, roles["workbook"])}
    root = ElementTree.fromstring(part(parts, roles["workbook"]))
    return [(el.get("name"), rels[next(v for k, v in el.attrib.items() if k.endswith("}id"))])
            for el in root.iter() if local(el.tag) == "sheet"]


def content_type(parts: dict, name: str) -> str | None:
    root = ElementTree.fromstring(part(parts, "[Content_Types].xml"))
    for el in root:
        if local(el.tag) == "Override" and fold(el.get("PartName").lstrip("/")) == fold(name):
            return el.get("ContentType")
    extension = name.rsplit(".", 1)[-1].lower()
    return next((el.get("ContentType") for el in root
                 if local(el.tag) == "Default" and el.get("Extension").lower() == extension), None)


def overrides(parts: dict) -> list[str]:
    root = ElementTree.fromstring(part(parts, "[Content_Types].xml"))
    return [fold(el.get("PartName").lstrip("/")) for el in root if local(el.tag) == "Override"]


def titles(parts: dict) -> tuple[list[tuple[str, int]], list[str]] | None:
    """(heading, count) pairs and titles of docProps/app.xml, None without them."""
    app = shared_parts(parts).get("app")
    if app is None:
        return None
    root = ElementTree.fromstring(part(parts, app))
    vectors = {local(el.tag): next(iter(el)) for el in root if local(el.tag) in ("HeadingPairs", "TitlesOfParts")}
    if len(vectors) < 2:
        return None
    variants = [next(iter(v)) for v in vectors["HeadingPairs"]]
    pairs = [(variants[i].text, int(variants[i + 1].text)) for i in range(0, len(variants), 2)]
    return pairs, [el.text for el in vectors["TitlesOfParts"]]


def consistent(parts: dict) -> bool:
    found = titles(parts)
    if found is None:
        return False
    pairs, names = found
    worksheets = [n for n, p in sheets(parts) if content_type(parts, p).endswith("worksheet+xml")]
    start, groups = 0, []
    for _, count in pairs:
        groups.append(names[start:start + count])
        start += count
    return start == len(names) and worksheets in groups


def style_lists(xml: bytes) -> tuple[dict[str, list[bytes]], list[bytes]]:
    """Each list's entries, and every other top-level element, serialised."""
    root = ElementTree.fromstring(xml)
    lists = {name: [] for name in STYLE_LISTS}
    rest = []
    for el in root:
        if local(el.tag) in lists:
            lists[local(el.tag)] = [ElementTree.tostring(e) for e in el]
        else:
            rest.append(ElementTree.tostring(el))
    return lists, rest


def calamine_rows(path: Path) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_path(str(path))
    try:
        return {n: book.get_sheet_by_name(n).to_python() for n in book.sheet_names}
    finally:
        book.close()


def openpyxl_rows(path: Path) -> dict[str, list[list]] | None:
    """Every tab's cached values as openpyxl reads them, or None if openpyxl cannot open the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            book = load_workbook(path, data_only=True)
        except Exception:
            return None
    return {s.title: [[c.value for c in r] for r in s.iter_rows()] for s in book.worksheets}


# ------------------------------------------------------------------- the tests


@pytest.mark.parametrize("shape", SHAPES)
def test_devplan_tab_goes_into_every_shape_and_staff_parts_stay_byte_identical(tmp_path, shape):
    original, written = build_and_write(shape, tmp_path)
    before, after = raw_parts(original), raw_parts(written)
    roles_before, roles_after = shared_parts(before), shared_parts(after)
    shared = {fold(p) for p in roles_before.values()}

    # every staff part: same name, same spelling, same compressed bytes and CRC
    for name, raw in before.items():
        if fold(name) not in shared:
            assert name in after, f"{name} lost or respelled"
            assert after[name][:3] == raw[:3], f"{name} changed"
    # what devplan added is its own sheet (notes gone in the second write), named unlike any staff part,
    # and a style table where the file had none (or named one it did not hold)
    added = set(after) - set(before)
    own = dict(sheets(after))[SUMMARY]
    styles_before = roles_before.get("styles")
    had_styles = styles_before is not None and any(fold(n) == fold(styles_before) for n in before)
    assert added == {own} | (set() if had_styles else {roles_after["styles"]}), added
    assert len({fold(n) for n in after}) == len(after), "two parts whose names differ only in case"
    assert not {fold(own), fold(posixpath.join(posixpath.dirname(own), "_rels", posixpath.basename(own) + ".rels"))} \
        & {fold(n) for n in before}

    # every part devplan changed is well-formed, namespace-correct XML
    for name, raw in after.items():
        if name not in before or raw[:3] != before[name][:3]:
            ElementTree.fromstring(raw[3])
    # the tab is listed once; the sheet part has the worksheet type; overrides name existing parts, once each
    assert [n for n, _ in sheets(after)] == [n for n, _ in sheets(before)] + [SUMMARY]
    assert content_type(after, own) == "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    assert all(content_type(after, n) for n in added)
    present = {fold(n) for n in after}
    assert set(overrides(after)) - present <= set(overrides(before)) - {fold(n) for n in before}
    assert len(overrides(after)) - len(set(overrides(after))) <= len(overrides(before)) - len(set(overrides(before)))
    # one style table, only appended to
    assert roles_after["styles"] == styles_before or styles_before is None
    if had_styles:
        old_lists, old_rest = style_lists(part(before, roles_before["styles"]))
        new_lists, new_rest = style_lists(part(after, roles_after["styles"]))
        assert new_rest == old_rest
        for name in STYLE_LISTS:
            assert new_lists[name][: len(old_lists[name])] == old_lists[name], f"{name}: an entry changed or moved"
    # the sheet titles: kept consistent where they were, left alone where they were not
    if consistent(before):
        assert consistent(after)
        assert SUMMARY in titles(after)[1]
    elif "app" in roles_before:
        assert part(after, roles_after["app"]) == part(before, roles_before["app"])

    # the readers: calamine and openpyxl show the staff's cells as before, and devplan's tab
    staff = calamine_rows(original)
    got = calamine_rows(written)
    assert {n: got[n] for n in staff} == staff
    assert got[SUMMARY] == DEVPLAN_ROWS
    staff_openpyxl = openpyxl_rows(original)
    got_openpyxl = openpyxl_rows(written)
    if shape in OPENPYXL_CANNOT:  # neither before nor after
        assert not staff_openpyxl and not got_openpyxl
    else:
        assert {n: got_openpyxl[n] for n in staff_openpyxl} == staff_openpyxl
        assert got_openpyxl[SUMMARY][3] == ["STEM", 75.5, "ผ่าน"]


def test_a_bad_edit_is_caught_before_the_file_is_replaced(tmp_path, monkeypatch):
    """The safety net: had devplan put an out-of-scope prefix in workbook.xml, the check parses it
    back, the school's file stays byte for byte, and the write fails naming the file."""
    from pipeline.workbook import xlsx

    path = tmp_path / f"{KEY}.xlsx"
    shapes.prefix_on_each_sheet(path)
    data = path.read_bytes()
    broken = lambda workbook, name, sheet_id, rid, rel_ns: xlsx._insert_before_close(  # noqa: E731
        workbook, "sheets", lambda p: f'<{p}sheet name="{name}" sheetId="{sheet_id}" r:id="{rid}"/>')
    monkeypatch.setattr(xlsx, "_add_sheet_entry", broken)
    with pytest.raises(PublishError) as caught:
        LocalWorkbook(tmp_path).write(KEY, {SUMMARY: devplan_tab(notes=True)})
    assert str(path) in caught.value.message and "xl/workbook.xml" in caught.value.message
    assert "ไฟล์ยังเหมือนเดิม" in caught.value.message and caught.value.hint
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_devplan_never_overwrites_a_part_it_did_not_make():
    """Package.set refuses a staff part, in any case, unless devplan owns or shares it."""
    import io

    from pipeline.workbook.xlsx import Package, UnsafeEdit

    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "k.xlsx"
        shapes.case_clash(path)
        buffer.write(path.read_bytes())
    package = Package.open(buffer)
    for name in ("xl/worksheets/sheet1.xml", "XL/WORKSHEETS/_RELS/SHEET1.XML.RELS", "xl/charts/chart1.xml"):
        with pytest.raises(UnsafeEdit):
            package.set(name, b"<x/>")
    assert not package.changed


# -------------------------------------------------------- a real spreadsheet program


@pytest.fixture(scope="module")
def libreoffice(tmp_path_factory):
    """Every shape before and after devplan's writes, as LibreOffice opens and re-saves them (one run)."""
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have LibreOffice: .ci/run installs the Debian package libreoffice-calc")
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install --no-install-recommends libreoffice-calc")
    root = tmp_path_factory.mktemp("libreoffice")
    files = []
    for shape in SHAPES:
        files += build_and_write(shape, root / shape)
    out = root / "converted"
    command = [SOFFICE, f"-env:UserInstallation={(root / 'profile').as_uri()}", "--headless", "--norestore",
               "--convert-to", "xlsx", "--outdir", str(out), *map(str, files)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    return out, result.stdout + result.stderr


def libreoffice_cells(path: Path) -> dict[str, dict[str, tuple]]:
    """Every non-empty cell of a LibreOffice re-save: value and number format, by tab and address."""
    book = load_workbook(path)
    return {s.title: {c.coordinate: (c.value, c.number_format) for r in s.iter_rows() for c in r if c.value is not None}
            for s in book.worksheets}


@pytest.mark.parametrize("shape", SHAPES)
def test_libreoffice_opens_the_written_file_and_shows_the_same_staff_cells(libreoffice, shape):
    out, log = libreoffice
    converted = {kind: out / f"{kind}-{shape}.xlsx" for kind in ("original", "written")}
    assert all(p.exists() for p in converted.values()), f"LibreOffice could not load the file:\n{log}"
    before, after = (libreoffice_cells(p) for p in converted.values())
    assert {n: after[n] for n in before} == before  # values and number formats: styles kept
    shown = {a: v for a, (v, _) in after[SUMMARY].items()}
    assert shown["A1"] == "สรุปผลการพัฒนา" and shown["B4"] == 75.5 and shown["C5"] == "ไม่ผ่าน"
    assert shown["B2"] == datetime(2019, 9, 30, 8, 0)
