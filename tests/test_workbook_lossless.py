"""Lossless local writes: a school's decorated .xlsx keeps every part byte for byte across syncs.

The files here are real: written by openpyxl (with Pillow for the image), then
given what openpyxl cannot write (an x14 dropdown, cached formula results, a
calcChain) as raw XML, as Excel would have saved them. Zip parts are compared
by their raw compressed bytes, read here from the local headers directly.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import stat
import struct
import time
import zipfile
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image as XlsxImage
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from PIL import Image as PILImage

from pipeline.config import load_settings
from pipeline.errors import PublishError, SourceError
from pipeline.sample import generate_area
from pipeline.sync import run_sync
from pipeline.workbook.local import STALE_AFTER_SECONDS, LocalWorkbook
from tests import hand_area
from tests.hand_area import SCHOOL_A, nid
from tests.test_end_to_end import AREA_EXPECTED, _indicator_file

SUMMARY = "สรุปผล (devplan)"
PLAN, RECORD, LISTS = "แผนพัฒนาตนเอง", "บันทึกการพัฒนา", "รายการ"
ALLOWED_TO_CHANGE = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

X14_DROPDOWN = (
    '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
    f"<x14:formula1><xm:f>{LISTS}!$A$2:$A$6</xm:f></x14:formula1><xm:sqref>D2:D200</xm:sqref>"
    "</x14:dataValidation></x14:dataValidations></ext></extLst>"
)


# ---------------------------------------------------------------- helpers


def raw_parts(path: Path) -> dict[str, tuple[int, int, bytes, bytes]]:
    """name -> (CRC, method, raw compressed bytes, uncompressed bytes), raw bytes cut from the local header."""
    blob = path.read_bytes()
    parts = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            sig, *_, name_len, extra_len = struct.unpack_from("<4s2B4HL2L2H", blob, info.header_offset)
            assert sig == b"PK\x03\x04"
            start = info.header_offset + 30 + name_len + extra_len
            parts[info.filename] = (info.CRC, info.compress_type, blob[start : start + info.compress_size],
                                    archive.read(info))
    return parts


def sheet_part(path: Path, tab: str) -> str:
    """The zip part holding tab ``tab``, found through workbook.xml and its relationships."""
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    rid = next(s.get(f"{{{R}}}id") for s in workbook.iter(f"{{{MAIN}}}sheet") if s.get("name") == tab)
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def own_parts(path: Path, tab: str) -> set[str]:
    """The sheet part of ``tab`` and every part its relationships reach (comments, drawings)."""
    part = sheet_part(path, tab)
    folder, name = part.rsplit("/", 1)
    rels = f"{folder}/_rels/{name}.rels"
    found = {part}
    with zipfile.ZipFile(path) as archive:
        if rels in archive.namelist():
            found.add(rels)
            for rel in ElementTree.fromstring(archive.read(rels)):
                found.add(os.path.normpath(f"{folder}/{rel.get('Target')}"))
    return found


#: the lists of xl/styles.xml whose entries cells and rules point at by index
STYLE_LISTS = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs")


def style_lists(xml: bytes) -> tuple[dict[str, str], str]:
    """Each list's content, and the rest of the part with every list (and its count) cut out."""
    text = xml.decode("utf-8")
    lists = {}
    for name in STYLE_LISTS:
        found = re.search(rf"<(?:\w+:)?{name}\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?{name}>)", text, re.S)
        lists[name] = found.group(1) or "" if found else ""
        if found:
            text = text[: found.start()] + text[found.end():]
    return lists, text


def assert_only_appended(before: bytes, after: bytes) -> None:
    """Every list of ``after`` starts with the same entries as ``before``; nothing else differs."""
    old, old_rest = style_lists(before)
    new, new_rest = style_lists(after)
    for name in STYLE_LISTS:
        assert new[name].startswith(old[name]), f"{name}: an existing entry changed or moved"
    assert new_rest == old_rest, "xl/styles.xml changed outside its lists"


def sheet_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    return [s.get("name") for s in workbook.iter(f"{{{MAIN}}}sheet")]


def rewrite_parts(path: Path, edit) -> None:
    """Rewrite the zip with ``edit(name, bytes) -> bytes | None`` (None drops the part)."""
    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in parts:
            new = edit(info.filename, data)
            if new is not None:
                out.writestr(info.filename, new)
        for name, data in edit.extra.items():
            out.writestr(name, data)


def png() -> io.BytesIO:
    buffer = io.BytesIO()
    PILImage.new("RGB", (16, 16), (0, 102, 51)).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def decorate(path: Path) -> None:
    """What a school's staff add: a logo, a chart, a comment, colours, a dropdown, formulas with results."""
    book = load_workbook(path)
    plan, record = book[PLAN], book[RECORD]
    row = next(r for r in range(2, plan.max_row + 1) if plan.cell(r, 2).value == nid("A2"))
    assert plan.cell(row, 1).value == 2562
    plan.cell(row, 1).value = "=2561+1"  # the fiscal year, typed as a formula
    plan.cell(row, 2).comment = Comment("ตรวจแล้ว", "ครูวิชาการ")
    plan.conditional_formatting.add(
        "G2:G20", CellIsRule(operator="greaterThan", formula=["10"], fill=PatternFill("solid", bgColor="FFC7CE"))
    )
    lists = book.create_sheet(LISTS)
    for value in ["ประเภท", "อบรม", "STEM", "PLC", "วิจัยในชั้นเรียน", "TEPE Online"]:
        lists.append([value])
    lists["B1"], lists["B2"] = "ชั่วโมงรวม", "=SUM(บันทึกการพัฒนา!F2:F20)"
    lists.add_image(XlsxImage(png()), "D2")
    chart = BarChart()
    chart.add_data(Reference(record, min_col=6, min_row=1, max_row=6), titles_from_data=True)
    lists.add_chart(chart, "D10")
    book.defined_names["ประเภทการพัฒนา"] = DefinedName("ประเภทการพัฒนา", attr_text=f"{LISTS}!$A$2:$A$6")
    book.save(path)

    plan_part = sheet_part(path, PLAN)
    record_part = sheet_part(path, RECORD)
    lists_part = sheet_part(path, LISTS)

    def edit(name: str, data: bytes) -> bytes:
        if not name.endswith((".xml", ".rels")):
            return data
        text = data.decode("utf-8")
        if name == plan_part:
            text, n = re.subn(r"(<f>2561\+1</f>)(<v\s*/>|<v></v>)?", r"\g<1><v>2562</v>", text)
            assert n == 1
        elif name == lists_part:
            text, n = re.subn(r"(<f>SUM\([^<]*\)</f>)(<v\s*/>|<v></v>)?", r"\g<1><v>42</v>", text)
            assert n == 1
        elif name == record_part:
            text = text.replace("</worksheet>", X14_DROPDOWN + "</worksheet>")
        elif name == "[Content_Types].xml":
            text = text.replace("</Types>", '<Override PartName="/xl/calcChain.xml" ContentType='
                                '"application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
        elif name == "xl/_rels/workbook.xml.rels":
            text = text.replace("</Relationships>", '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                                'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>')
        return text.encode("utf-8")

    edit.extra = {"xl/calcChain.xml": (  # type: ignore[attr-defined]
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns="{MAIN}">'
        f'<c r="A{row}" i="1"/><c r="B2" i="3"/></calcChain>').encode()}
    rewrite_parts(path, edit)


def indicator_rows(book: LocalWorkbook) -> dict[str, tuple]:
    """Area figures (met, population, percent, target) per indicator, as the dashboard shows them."""
    tab = book.read("dashboard", ["ภาพรวมเขตพื้นที่"])["ภาพรวมเขตพื้นที่"]
    at = next(i for i, r in enumerate(tab) if r and r[0] == "ตัวชี้วัด")
    names = {i["short_name"]: i["id"] for i in _indicator_file()}
    # columns: short name, target, percent, status, met, population, counted as, strategy
    return {names[r[0]]: (r[4], r[5], r[2], r[1]) for r in tab[at + 1 : at + 9]}


# ------------------------------------------------------------ the main test


@pytest.mark.filterwarnings("ignore:Data Validation extension")
def test_sync_twice_keeps_a_decorated_school_file_byte_for_byte(config_file):
    settings = load_settings(config_file)
    book = LocalWorkbook(settings.storage.path)
    hand_area.build(book, settings)
    key = settings.sources.idplan.key_for(SCHOOL_A)
    path = book.path(key)
    decorate(path)
    os.chmod(path, 0o640)
    before = raw_parts(path)
    assert any(n.startswith("xl/media/") and n.endswith(".png") for n in before)
    assert any(n.startswith("xl/charts/") for n in before) and any("comments" in n for n in before)
    assert "x14:dataValidation" in before[sheet_part(path, RECORD)][3].decode()
    # the cached result of the fiscal-year formula is what devplan reads
    plan_rows = book.read(key, [PLAN])[PLAN]
    assert [r[0] for r in plan_rows if r[1] == nid("A2")] == [2562]

    results = []
    styles_after = []
    for run in range(2):
        stamp = time.time() - 3600 * (run + 1)
        os.utime(path, (stamp, stamp))  # as if someone saved it again: the run must rewrite it
        assert key in run_sync(settings).published.written
        after = raw_parts(path)
        own = own_parts(path, SUMMARY)  # devplan's sheet, its relationships, its notes and their drawing
        assert len(own) == 4 and not own & set(before)
        assert set(after) == set(before) | own, f"run {run + 1}"
        for name, part in before.items():
            if name not in ALLOWED_TO_CHANGE | {"xl/styles.xml"}:
                assert after[name][:3] == part[:3], f"{name} raw bytes/CRC changed in run {run + 1}"
                assert after[name][3] == part[3], f"{name} changed in run {run + 1}"
        assert_only_appended(before["xl/styles.xml"][3], after["xl/styles.xml"][3])
        styles_after.append(after["xl/styles.xml"][3])
        # the staff's own comment is still theirs, on their tab; devplan's notes are on its own
        reread = load_workbook(path)
        plan_sheet = reread[PLAN]
        commented = [c for row in plan_sheet.iter_rows() for c in row if c.comment]
        assert [(c.value, c.comment.text) for c in commented] == [(nid("A2"), "ตรวจแล้ว")]
        assert reread[SUMMARY]["A5"].comment.text.startswith("ตัวชี้วัดตามแผน: ")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
        assert sheet_names(path) == [PLAN, RECORD, LISTS, SUMMARY]
        results.append(indicator_rows(book))
        assert book.read(key, [PLAN])[PLAN] == plan_rows

    assert styles_after[0] == styles_after[1]  # the second run reuses what the first appended
    assert results[0] == results[1] == AREA_EXPECTED  # id_plan 8/11: A2's =2561+1 still counts
    check = load_workbook(path)  # still a workbook another reader accepts, defined name intact
    assert "ประเภทการพัฒนา" in check.defined_names
    assert check[SUMMARY]["A1"].value.startswith("สรุปผลการพัฒนา")


# ------------------------------------------------------------- the edges


def test_read_only_file_is_a_publish_error_and_stays_as_it_was(tmp_path):
    book = LocalWorkbook(tmp_path)
    book.write("k", {"t": [["x"]]})
    path = tmp_path / "k.xlsx"
    os.chmod(path, 0o444)
    data = path.read_bytes()
    with pytest.raises(PublishError) as caught:
        book.write("k", {"t": [["y"]]})
    assert str(path) in caught.value.message and "อ่านอย่างเดียว" in caught.value.message
    assert caught.value.hint
    assert path.read_bytes() == data and stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.xlsx"]


def test_read_only_folder_is_a_publish_error(tmp_path):
    folder = tmp_path / "sheets"
    book = LocalWorkbook(folder)
    book.write("k", {"t": [["x"]]})
    data = (folder / "k.xlsx").read_bytes()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(PublishError) as caught:
            book.write("k", {"t": [["y"]]})
        assert str(folder) in caught.value.message
    finally:
        os.chmod(folder, 0o755)
    assert (folder / "k.xlsx").read_bytes() == data


def test_mode_is_kept_and_a_new_file_follows_the_umask(tmp_path):
    book = LocalWorkbook(tmp_path)
    old = os.umask(0o027)
    try:
        book.write("new", {"t": [["x"]]})
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.xlsx").st_mode) == 0o640
    os.chmod(tmp_path / "new.xlsx", 0o664)
    book.write("new", {"t": [["y"]]})
    assert stat.S_IMODE(os.stat(tmp_path / "new.xlsx").st_mode) == 0o664


def test_stale_temp_files_are_swept_but_live_ones_and_others_kept(tmp_path):
    LocalWorkbook(tmp_path).write("idplan-1067000001", {"t": [["x"]]})
    old = time.time() - STALE_AFTER_SECONDS - 60
    names = {
        "legacy": ".idplan-1067000001.k3j2h1x9.xlsx",    # left by an older devplan killed mid-write
        "stale": ".devplan-tmp-idplan-1067000002-0a1b2c3d.xlsx",
        "fresh": ".devplan-tmp-idplan-1067000003-1a2b3c4d.xlsx",  # a run killed a moment ago: no lock held
        "locked": ".devplan-tmp-idplan-1067000004-2a3b4c5d.xlsx",  # old, but its writer still holds the lock
        "excel": "~$idplan-1067000005.xlsx",  # Excel's owner file of another school's file
        "person": ".notes.xlsx",
        "no_owner": ".budget.archive1.xlsx",  # the legacy shape, but no budget.xlsx beside it
    }
    for label, name in names.items():
        (tmp_path / name).write_bytes(b"partial zip")
        if label != "fresh":
            os.utime(tmp_path / name, (old, old))
    with open(tmp_path / names["locked"], "rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        LocalWorkbook(tmp_path).write("idplan-1067000001", {"t": [["y"]]})
    left = {p.name for p in tmp_path.iterdir()}
    assert names["legacy"] not in left and names["stale"] not in left and names["fresh"] not in left
    assert {names[k] for k in ("locked", "excel", "person", "no_owner")} <= left
    assert "idplan-1067000001.xlsx" in left


def test_a_missing_file_is_created_and_opens_elsewhere(tmp_path):
    book = LocalWorkbook(tmp_path / "new")
    rows = [["ชื่อ", "วันที่", "วัน", "เวลา", "จริง"], ["ก", datetime(2019, 9, 30, 14, 5), date(2019, 1, 10), clock(13, 30), True]]
    book.write("k", {"หนึ่ง": rows, "สอง": [["x"]]})
    path = tmp_path / "new" / "k.xlsx"
    check = load_workbook(path)
    assert check.sheetnames == ["หนึ่ง", "สอง"]
    assert [c.value for c in check["หนึ่ง"][2]] == ["ก", datetime(2019, 9, 30, 14, 5), datetime(2019, 1, 10), clock(13, 30), True]
    assert book.read("k", ["หนึ่ง"])["หนึ่ง"] == [rows[0], ["ก", datetime(2019, 9, 30, 14, 5), datetime(2019, 1, 10), clock(13, 30), True]]


def test_replacing_devplan_tab_keeps_its_place_and_leaves_the_sheet_list_alone(tmp_path):
    path = tmp_path / "k.xlsx"
    raw = Workbook()
    raw.active.title = "ก"
    raw.active["A1"] = "=1+1"
    raw.create_sheet(SUMMARY)["A1"] = "เก่า"
    raw.create_sheet("ค")["A1"] = "ค่า"
    raw.save(path)
    before = raw_parts(path)
    LocalWorkbook(tmp_path).write("k", {SUMMARY: [["ใหม่", 1]]})
    after = raw_parts(path)
    own = sheet_part(path, SUMMARY)
    assert sheet_names(path) == ["ก", SUMMARY, "ค"]
    assert set(after) == set(before)
    assert all(after[n] == before[n] for n in before if n != own)  # workbook.xml included: nothing to change
    assert LocalWorkbook(tmp_path).read("k", [SUMMARY, "ค"]) == {SUMMARY: [["ใหม่", 1]], "ค": [["ค่า"]]}


def test_replacing_devplan_tab_drops_what_only_it_used(tmp_path):
    """A comment someone left on devplan's tab, and its calcChain entries, go with the old tab."""
    path = tmp_path / "k.xlsx"
    raw = Workbook()
    raw.active.title = "ก"
    raw.active["A1"] = "=1+1"
    summary = raw.create_sheet(SUMMARY)
    summary["A1"] = "=2+2"
    summary["A1"].comment = Comment("อย่าแก้", "ครู")
    raw.save(path)
    chain = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns="{MAIN}">'
             '<c r="A1" i="2"/><c r="A2"/><c r="A1" i="1"/></calcChain>').encode()

    def edit(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            return data.replace(b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/'
                                b'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats'
                                b'.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>')
        return data

    edit.extra = {"xl/calcChain.xml": chain}  # type: ignore[attr-defined]
    rewrite_parts(path, edit)
    LocalWorkbook(tmp_path).write("k", {SUMMARY: [["ใหม่"]]})
    after = raw_parts(path)
    assert not [n for n in after if "comments" in n or "vmlDrawing" in n or n.endswith("sheet2.xml.rels")]
    assert b"comments" not in after["[Content_Types].xml"][3]
    assert after["xl/calcChain.xml"][3].endswith(b'<c r="A1" i="1"/></calcChain>')
    assert b'i="2"' not in after["xl/calcChain.xml"][3]
    check = load_workbook(path)
    assert check["ก"]["A1"].value == "=1+1" and check[SUMMARY]["A1"].value == "ใหม่"


@pytest.mark.parametrize("text", ['=IMPORTXML("http://evil.test/x","//a")', "+66812345678", "@x", "-1+2", "=2561+1"])
def test_formula_like_text_is_stored_and_read_as_text(tmp_path, text):
    book = LocalWorkbook(tmp_path)
    book.write("k", {"t": [["หัว"], [text]]})
    sheet = zipfile.ZipFile(tmp_path / "k.xlsx").read(sheet_part(tmp_path / "k.xlsx", "t"))
    assert b"<f>" not in sheet
    assert book.read("k", ["t"])["t"] == [["หัว"], [text]]
    cell = load_workbook(tmp_path / "k.xlsx")["t"]["A2"]
    assert cell.data_type == "s" and cell.value == text


def test_odd_text_round_trips(tmp_path):
    book = LocalWorkbook(tmp_path)
    texts = ["_x0041_ ไม่ใช่ A", "  ช่องว่างหน้า-หลัง  ", "สอง\nบรรทัด", "a & b < c > d \"q\"", "0812345678"]
    book.write("k", {"t": [texts]})
    assert book.read("k", ["t"])["t"] == [texts]


def test_dates_add_one_style_entry_once(tmp_path):
    path = tmp_path / "k.xlsx"
    raw = Workbook()
    raw.active.title = "ก"
    raw.active["A1"] = datetime(2019, 1, 1)
    raw.save(path)
    book = LocalWorkbook(tmp_path)
    styles_before = raw_parts(path)["xl/styles.xml"][3]
    book.write("k", {SUMMARY: [["วันที่", datetime(2019, 9, 30, 8, 0)]]})
    styles_once = raw_parts(path)["xl/styles.xml"][3]
    book.write("k", {SUMMARY: [["วันที่", datetime(2019, 10, 1, 9, 0)]]})
    assert raw_parts(path)["xl/styles.xml"][3] == styles_once  # reused, not appended again
    xfs = lambda xml: re.search(rb"<cellXfs[^>]*>(.*)</cellXfs>", xml, re.S).group(1)  # noqa: E731
    assert xfs(styles_once).startswith(xfs(styles_before))  # existing entries unchanged, one appended
    assert book.read("k", [SUMMARY, "ก"]) == {SUMMARY: [["วันที่", datetime(2019, 10, 1, 9, 0)]], "ก": [[datetime(2019, 1, 1)]]}


@pytest.mark.parametrize("damage", ["truncated", "zero bytes"])
def test_damaged_file_is_a_source_error_naming_it(tmp_path, damage):
    book = LocalWorkbook(tmp_path)
    book.write("k", {"t": [["a", "b"], [1, 2]]})
    path = tmp_path / "k.xlsx"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    damaged = path.read_bytes()
    for call in (lambda: book.read("k", ["t"]), lambda: book.tabs("k"), lambda: book.write("k", {"x": [["1"]]})):
        with pytest.raises(SourceError) as caught:
            call()
        assert str(path) in caught.value.message and caught.value.hint
    assert path.read_bytes() == damaged


def openpyxl_rows(path: Path) -> dict[str, list[list]]:
    """Every tab read independently with openpyxl (cached values), trimmed; an empty string counts as empty."""
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        out = {}
        for name in book.sheetnames:
            rows = [[None if v == "" else v for v in r] for r in book[name].iter_rows(values_only=True)]
            while rows and all(v is None for v in rows[-1]):
                rows.pop()
            width = max((max((i + 1 for i, v in enumerate(r) if v is not None), default=0) for r in rows), default=0)
            out[name] = [list(r[:width]) + [None] * (width - len(r)) for r in rows]
        return out
    finally:
        book.close()


@pytest.mark.filterwarnings("ignore:Data Validation extension")
def test_calamine_reads_what_openpyxl_read_on_a_sample_area(demo_settings, config_file):
    book = LocalWorkbook(demo_settings.storage.path)
    generate_area(book, demo_settings, schools=12)
    run_sync(demo_settings)  # so the files also hold devplan's own tabs and the dashboard
    hand = LocalWorkbook(Path(config_file).parent / "sheets")
    hand_area.build(hand, load_settings(config_file))
    decorated = hand.path(load_settings(config_file).sources.idplan.key_for(SCHOOL_A))
    decorate(decorated)
    paths = [book.path(k) for k in book.keys()] + [decorated]
    assert len(paths) > 12
    for path in paths:
        reader = LocalWorkbook(path.parent)
        tabs = reader.tabs(path.stem)
        assert reader.read(path.stem, tabs) == openpyxl_rows(path), path.name


@pytest.mark.parametrize("name", ["ก/ข", "a" * 32, "'quoted'", ""])
def test_a_tab_name_excel_rejects_is_a_publish_error(tmp_path, name):
    with pytest.raises(PublishError) as caught:
        LocalWorkbook(tmp_path).write("k", {name: [["x"]]})
    assert "ชื่อแท็บ" in caught.value.message and caught.value.hint
    assert not (tmp_path / "k.xlsx").exists()


def test_styles_with_a_namespace_prefix_and_no_dxfs_are_only_appended_to():
    from pipeline.workbook.xlsx_styles import Dxf, ensure_styles

    styles = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<x:styleSheet xmlns:x="{MAIN}"><x:fonts count="2"><x:font><x:sz val="14"/><x:name val="TH Sarabun New"/>'
        '</x:font><x:font><x:i/></x:font></x:fonts><x:fills count="1"><x:fill/></x:fills>'
        '<x:borders count="1"><x:border/></x:borders><x:cellStyleXfs count="1"><x:xf numFmtId="0"/></x:cellStyleXfs>'
        '<x:cellXfs count="1"><x:xf numFmtId="0" fontId="0"/></x:cellXfs><x:extLst/></x:styleSheet>'
    ).encode()
    new, xfs, dxfs = ensure_styles(styles, {(0, True), (14, False)}, [Dxf("C6EFCE", "006100")])
    assert_only_appended(styles, new)
    text = new.decode()
    # the bold font is the workbook's own font made bold, appended as font 2
    assert '<x:fonts count="3">' in text and '<x:font><x:b/><x:sz val="14"/><x:name val="TH Sarabun New"/></x:font>' in text
    assert xfs == {(0, True): 1, (14, False): 2} and '<x:cellXfs count="3">' in text
    assert 'fontId="2"' in text.split("<x:cellXfs")[1]
    # dxfs did not exist: added before extLst, as the schema orders them
    assert dxfs == {Dxf("C6EFCE", "006100"): 0}
    assert text.index("<x:dxfs count=\"1\">") < text.index("<x:extLst/>")
    assert '<x:bgColor rgb="FFC6EFCE"/>' in text
    ElementTree.fromstring(new)
    # asked again, nothing more is appended
    assert ensure_styles(new, {(0, True), (14, False)}, [Dxf("C6EFCE", "006100")]) == (new, xfs, dxfs)
