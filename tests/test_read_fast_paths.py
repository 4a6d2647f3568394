"""The read side's fast paths give what their plain versions give, on odd inputs.

``local._trim`` (trailing empty rows and columns), ``collect.table_records`` (a tab's rows as dicts, errors
placed) and ``normalize.errors_as_missing`` (formula errors listed, then read as empty) are each compared
with a simple second method written here: the one devplan used before.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pandas as pd
from pydantic import BaseModel

from pipeline.collect import table_records
from pipeline.normalize import Issues, errors_as_missing
from pipeline.thai import clean_text
from pipeline.workbook import CellError
from pipeline.workbook.layout import column_letter
from pipeline.workbook.local import _trim

ODD_ROWS = [
    ["ชื่อ", "ชั่วโมง", None, "", None],
    ["ครู", 0, False, None, ""],
    [None, None],
    ["", " ", None, None, CellError("#N/A")],
    [],
    [datetime(2019, 1, 1), 1.5, "x"],
    [None, "", None],
    ["", None],
]


def plain_trim(rows):
    rows = [list(r) for r in rows]
    while rows and all(v is None or v == "" for v in rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, v in enumerate(r) if v not in (None, "")), default=0) for r in rows), default=0)
    return [r[:width] + [None] * (width - len(r)) for r in rows]


def test_trim_as_the_plain_version():
    for end in range(len(ODD_ROWS) + 1):
        rows = ODD_ROWS[:end]
        assert _trim([list(r) for r in rows]) == plain_trim(rows)
    assert _trim([[None, ""], [""]]) == []
    assert _trim([["a", None, None], ["b"]]) == [["a"], ["b"]]


class Columns(BaseModel):
    name: str = "ชื่อ"
    hours: str = "ชั่วโมง"
    cost: str = "ค่าใช้จ่าย"
    unused: str | None = None


def plain_records(rows, columns, sheet, tab, optional):
    wanted = {f: h for f, h in columns.model_dump().items() if h}
    header = [clean_text(h) for h in rows[0]]
    positions = {f: header.index(clean_text(n)) for f, n in wanted.items() if clean_text(n) in header}
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if all(v is None or clean_text(v) == "" for v in row):
            continue
        values = {}
        for f in wanted:
            at = positions.get(f, len(row))
            value = row[at] if at < len(row) else None
            if isinstance(value, CellError):
                value = replace(value, cell=f"{column_letter(at + 1)}{number}")
            values[f] = value
        values.update(_sheet=sheet, _tab=tab, _row=number)
        records.append(values)
    return records


def test_table_records_as_the_plain_version():
    rows = [
        ["  ชั่วโมง ", "ชื่อ", "อื่น"],
        [12, "ครู ก", "x"],
        [CellError("#REF!"), "ครู ข"],  # a short row, an error in its first cell
        [None, None, None],
        ["", " ", None],  # blank once cleaned: left out
        [3],
        [None, CellError("#NAME?"), CellError("#DIV/0!")],
    ]
    got = table_records(rows, Columns(), "s", "t", "key", optional=("cost",))
    assert got == plain_records(rows, Columns(), "s", "t", ("cost",))
    assert [list(r) for r in got] == [list(r) for r in plain_records(rows, Columns(), "s", "t", ("cost",))]
    assert got[1]["hours"] == CellError("#REF!", "A3") and got[3]["name"] == CellError("#NAME?", "B7")
    assert got[0]["cost"] is None  # the optional column the tab lacks


def plain_errors(frame, bad):
    found = frame.map(lambda v: isinstance(v, CellError)) if len(frame) else None
    if found is None or not found.to_numpy().any():
        return frame.assign(_errors=[()] * len(frame))
    hits = found.to_numpy(dtype=bool)
    errors = [()] * len(frame)
    for position in hits.any(axis=1).nonzero()[0]:
        row = frame.iloc[position].to_dict()
        fields = tuple(f for f, hit in zip(frame.columns, hits[position]) if hit)
        for field in fields:
            bad.add(row, f"สูตรในช่อง {row[field].cell} ให้ค่าผิดพลาด ({row[field].code}) จึงนับเป็นช่องว่าง: "
                         "แก้สูตรในช่องนี้ หรือพิมพ์ค่าลงไปแทนสูตร", row[field].code, clean_text(row.get("unit_code")))
        errors[position] = fields
    return frame.mask(hits, None).assign(_errors=errors)


def test_errors_as_missing_as_the_plain_version():
    origin = {"_sheet": "s", "_tab": "t", "_unit": "1067020005"}
    frames = [
        pd.DataFrame(columns=["a", "_sheet", "_tab", "_row", "_unit"], dtype=object),
        pd.DataFrame([{"a": 1, "b": "x", **origin, "_row": 2}], dtype=object),
        pd.DataFrame([
            {"a": CellError("#N/A", "A2"), "b": "x", **origin, "_row": 2},
            {"a": 0, "b": None, **origin, "_row": 3},
            {"a": CellError("#REF!", "A4"), "b": CellError("#NAME?", "B4"), **origin, "_row": 4},
        ], dtype=object),
    ]
    for frame in frames:
        mine, theirs = Issues(), Issues()
        got, expected = errors_as_missing(frame, mine), plain_errors(frame, theirs)
        pd.testing.assert_frame_equal(got, expected)
        assert mine.rows == theirs.rows
    assert [r["value"] for r in mine.rows] == ["#N/A", "#REF!", "#NAME?"]
