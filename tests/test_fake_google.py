"""Tests of the fake Google server (tests/fake_google.py).

Two kinds: replaying real recordings of Google's answers (copied into
tests/fixtures/sheets-api-recordings, MIT, from gspread's test suite) and checking the fake answers
the same way; and driving the fake with the real gspread / google-auth / requests over loopback.
Expected values are worked out by hand here, not taken from the fake's own helpers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gspread
import pytest
import requests

from tests.fake_google import FakeGoogle

RECORDINGS = Path(__file__).resolve().parent / "fixtures" / "sheets-api-recordings"
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SHEETS = "/v4/spreadsheets"


# --------------------------------------------------------------------------- replay


def _is_create(interaction: dict[str, Any]) -> bool:
    request = interaction["request"]
    return request["method"] == "POST" and urlsplit(request["uri"]).path == "/drive/v3/files"


def _runs(path: Path) -> list[list[dict[str, Any]]]:
    """The recorded runs in a file: each starts by creating the test's own spreadsheet.

    Several files hold more than one run appended. A test may create other spreadsheets too
    (test_create makes "Test Spreadsheet"), so a run starts only where the first run's
    spreadsheet is created again.
    """
    interactions = json.loads(path.read_text(encoding="utf-8"))["interactions"]
    first_name = json.loads(interactions[0]["request"]["body"])["name"]
    runs: list[list[dict[str, Any]]] = []
    for interaction in interactions:
        if _is_create(interaction) and json.loads(interaction["request"]["body"])["name"] == first_name:
            runs.append([])
        runs[-1].append(interaction)
    return runs


# Interactions left out of the replay, by (file stem, run, index in run), with the reason.
# Every recorded interaction is replayed today; keep this table so a future exclusion is
# written down rather than silently skipped.
LEFT_OUT: dict[tuple[str, int, int], str] = {}

REPLAY_CASES = [
    pytest.param(path, number, run, id=f"{path.stem}#{number}")
    for path in sorted(RECORDINGS.glob("*.json"))
    for number, run in enumerate(_runs(path))
]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


class _Replay:
    """Maps ids the recording used to the ones the fake handed out, and compares answers."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.sheet_ids: dict[int, int] = {}

    def request_body(self, text: str) -> bytes:
        for old, new in self.ids.items():
            text = text.replace(old, new)
        return json.dumps(self._map_sheet_ids(json.loads(text))).encode("utf-8")

    def _map_sheet_ids(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (self.sheet_ids.get(v, v) if k == "sheetId" and isinstance(v, int) else self._map_sheet_ids(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._map_sheet_ids(v) for v in value]
        return value

    def uri(self, uri: str) -> str:
        for old, new in self.ids.items():
            uri = uri.replace(old, new)
        return uri

    def learn(self, recorded: Any, got: Any, method: str, path: str) -> None:
        if method == "POST" and path == "/drive/v3/files":
            self.ids[recorded["id"]] = got["id"]
        if path.endswith(":batchUpdate") and "replies" in recorded:
            for rec_reply, got_reply in zip(recorded["replies"], got["replies"]):
                if "addSheet" in rec_reply and "addSheet" in got_reply:
                    self.sheet_ids[rec_reply["addSheet"]["properties"]["sheetId"]] = \
                        got_reply["addSheet"]["properties"]["sheetId"]

    def compare(self, recorded: Any, got: Any, where: str, key: str = "") -> None:
        """Same keys (recursively), same JSON types, and the same values once ids are mapped."""
        assert _kind(got) == _kind(recorded), f"{where}: type {_kind(got)} != recorded {_kind(recorded)}"
        if isinstance(recorded, dict):
            assert set(got) == set(recorded), f"{where}: keys {sorted(got)} != recorded {sorted(recorded)}"
            for k in recorded:
                self.compare(recorded[k], got[k], f"{where}.{k}", k)
        elif isinstance(recorded, list):
            assert len(got) == len(recorded), f"{where}: {len(got)} items != recorded {len(recorded)}"
            for i, (r, g) in enumerate(zip(recorded, got)):
                self.compare(r, g, f"{where}[{i}]", key)
        elif key in ("id", "spreadsheetId"):
            assert got == self.ids.get(recorded, recorded), f"{where}: id not mapped"
        elif key == "sheetId":
            assert got == self.sheet_ids.get(recorded, recorded), f"{where}: sheetId {got} != {recorded}"
        elif key in ("createdTime", "modifiedTime"):
            assert RFC3339_MS.match(got), f"{where}: {got!r} is not RFC 3339 with milliseconds"
        elif key == "spreadsheetUrl":
            assert got == self.uri(recorded), where
        else:
            assert got == recorded, f"{where}: {got!r} != recorded {recorded!r}"


@pytest.fixture
def fake_2023() -> Any:
    """The fake as Google was when the recordings were made (2023): service accounts still had
    Drive storage, so gspread's tests created spreadsheets in the account's own My Drive."""
    with FakeGoogle(service_accounts_have_quota=True) as fake:
        yield fake
        assert fake.bugs == []


@pytest.mark.parametrize(("path", "number", "run"), REPLAY_CASES)
def test_replay_recording(fake_2023: FakeGoogle, path: Path, number: int, run: list[dict[str, Any]]) -> None:
    """Each recorded request, sent to the fake, gets the recorded status and an answer of the same shape."""
    fake_google = fake_2023
    replay = _Replay()
    session = requests.Session()
    for index, interaction in enumerate(run):
        if (path.stem, number, index) in LEFT_OUT:
            continue
        request, response = interaction["request"], interaction["response"]
        parts = urlsplit(replay.uri(request["uri"]))
        url = fake_google.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        body = replay.request_body(request["body"]) if request.get("body") else None
        answer = session.request(request["method"], url, data=body,
                                 headers={"Content-Type": "application/json", "Authorization": "Bearer recorded"})
        where = f"{path.stem}#{number}[{index}] {request['method']} {parts.path}"
        assert answer.status_code == response["status"]["code"], f"{where}: {answer.text[:300]}"
        recorded_text = response["body"]["string"]
        if not recorded_text.strip():
            assert answer.content == b"", where
            continue
        recorded, got = json.loads(recorded_text), answer.json()
        replay.learn(recorded, got, request["method"], urlsplit(request["uri"]).path)
        replay.compare(recorded, got, where)


def test_recordings_cover_the_required_cases() -> None:
    """The replay covers the operations the brief lists (a guard against losing fixtures)."""
    stems = {p.stem for p in RECORDINGS.glob("*.json")}
    for needed in ("ClientTest.test_create", "ClientTest.test_open_by_key_has_metadata", "SpreadsheetTest.test_values_get",
                   "SpreadsheetTest.test_values_batch_get", "WorksheetTest.test_batch_update",
                   "WorksheetTest.test_update_and_get", "WorksheetTest.test_update_cell_unicode",
                   "WorksheetTest.test_append_row", "WorksheetTest.test_clear", "WorksheetTest.test_batch_clear",
                   "SpreadsheetTest.test_add_del_worksheet", "WorksheetTest.test_resize", "WorksheetTest.test_freeze",
                   "WorksheetTest.test_format", "WorksheetTest.test_get_all_values_date_time_render_options",
                   "ClientTest.test_list_spreadsheet_files", "ClientTest.test_access_non_existing_spreadsheet",
                   "SpreadsheetTest.test_bad_json_api_error"):
        assert needed in stems
    assert (RECORDINGS / "LICENSE.txt").read_text(encoding="utf-8").startswith("Copyright")
    assert sum(len(run) for p in RECORDINGS.glob("*.json") for run in _runs(p)) > 300


# --------------------------------------------------------------------------- real gspread


def test_gspread_create_open_update_read(fake_google: FakeGoogle) -> None:
    client = fake_google.gspread_client()
    shared_drive = fake_google.add_folder("area", shared_drive=True)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        client.create("devplan dashboard")  # anonymous = devplan's service account: no My Drive storage
    assert caught.value.response.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"
    created = client.create("devplan dashboard", folder_id=shared_drive)
    sheet = client.open_by_key(created.id)
    assert sheet.title == "devplan dashboard"
    tab = sheet.add_worksheet("สรุป", rows=20, cols=5)
    tab.update([["=1+1", "+66812345678", "@x"], ["ก", 2.5, True]], "A1")  # gspread's default: RAW
    assert tab.get_all_values() == [["=1+1", "+66812345678", "@x"], ["ก", "2.5", "TRUE"]]
    assert tab.get_all_values(value_render_option="FORMULA") == [["=1+1", "+66812345678", "@x"], ["ก", 2.5, True]]
    assert fake_google.values(created.id, "สรุป") == [["=1+1", "+66812345678", "@x"], ["ก", 2.5, True]]

    tab.update([["=1+1", "+66812345678"]], "A4", raw=False)  # USER_ENTERED: a formula and a number
    a4 = tab.get("A4:B4", value_render_option="FORMULA")
    assert a4 == [["=1+1", 66812345678]]
    assert tab.get("A4", value_render_option="UNFORMATTED_VALUE") == [[2]]

    got = tab.batch_get(["A1:B1", "B2:C2"])
    assert [list(v) for v in got] == [[["=1+1", "+66812345678"]], [["2.5", "TRUE"]]]
    assert got[0].range == "'สรุป'!A1:B1"
    assert [w.title for w in sheet.worksheets()] == ["Sheet1", "สรุป"]


def test_gspread_lists_more_files_than_a_page(fake_google: FakeGoogle) -> None:
    """gspread asks for pageSize=1000; with 1003 spreadsheets it must follow nextPageToken once."""
    folder = fake_google.add_folder("area")
    made = {fake_google.add_spreadsheet(f"school {n:04d}", folder=folder) for n in range(1003)}
    fake_google.add_spreadsheet("elsewhere")
    client = fake_google.gspread_client()
    listed = client.list_spreadsheet_files(folder_id=folder)
    assert {f["id"] for f in listed} == made
    assert set(listed[0]) == {"id", "name", "createdTime", "modifiedTime"}
    pages = fake_google.requests(api="drive", method="GET")
    assert len(pages) == 2
    assert "pageToken" not in pages[0].query and "pageToken" in pages[1].query
    assert client.open("school 0007", folder_id=folder).id in made


def test_gspread_add_worksheet_twice_is_refused(fake_google: FakeGoogle) -> None:
    client = fake_google.gspread_client()
    sheet = client.open_by_key(fake_google.add_spreadsheet("s"))
    sheet.add_worksheet("X", 5, 5)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sheet.add_worksheet("X", 5, 5)
    error = caught.value.response.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == ('Invalid requests[0].addSheet: A sheet with the name "X" already exists. '
                                "Please enter another name.")


# --------------------------------------------------------------------------- test helpers, values, ranges


def test_add_spreadsheet_dates_and_render_options(fake_google: FakeGoogle) -> None:
    rows = [["ประทับเวลา", "วันที่", "ชื่อ", "คะแนน"],
            [dt.datetime(2019, 10, 1, 8, 30), dt.date(2020, 1, 1), "ครูสมชาย", 12]]
    sid = fake_google.add_spreadsheet("ฟอร์ม", {"การตอบแบบฟอร์ม 1": rows})
    base = f"{fake_google.base_url}{SHEETS}/{sid}/values/'การตอบแบบฟอร์ม 1'"
    # 2020-01-01 is serial 43831 (Google's own answer in the recordings); 2019-10-01 is 92 days before,
    # and 08:30 is 8.5/24 of a day.
    serial = requests.get(base, params={"valueRenderOption": "UNFORMATTED_VALUE",
                                        "dateTimeRenderOption": "SERIAL_NUMBER"}).json()
    assert serial["values"][1] == [43739 + 8.5 / 24, 43831, "ครูสมชาย", 12]
    assert serial["range"] == "'การตอบแบบฟอร์ม 1'!A1:Z1000"
    text = requests.get(base, params={"valueRenderOption": "UNFORMATTED_VALUE",
                                      "dateTimeRenderOption": "FORMATTED_STRING"}).json()
    assert text["values"][1] == ["2019-10-01 08:30:00", "2020-01-01", "ครูสมชาย", 12]
    formatted = requests.get(base).json()
    assert formatted["values"][1] == ["2019-10-01 08:30:00", "2020-01-01", "ครูสมชาย", "12"]
    columns = requests.get(base + "!A1:B2", params={"majorDimension": "COLUMNS"}).json()
    assert columns["majorDimension"] == "COLUMNS"
    assert columns["values"] == [["ประทับเวลา", "2019-10-01 08:30:00"], ["วันที่", "2020-01-01"]]


def test_trimming_and_empty_ranges(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("t", {"Sheet1": [["a", None, "c", None], [], [None, "b2"], [None, None]]})
    got = requests.get(f"{fake_google.base_url}{SHEETS}/{sid}/values/Sheet1!A1:D5").json()
    assert got == {"range": "Sheet1!A1:D5", "majorDimension": "ROWS", "values": [["a", "", "c"], [], ["", "b2"]]}
    empty = requests.get(f"{fake_google.base_url}{SHEETS}/{sid}/values/Sheet1!E1:F2").json()
    assert empty == {"range": "Sheet1!E1:F2", "majorDimension": "ROWS"}
    whole_column = requests.get(f"{fake_google.base_url}{SHEETS}/{sid}/values/Sheet1!B:B").json()
    assert whole_column["range"] == "Sheet1!B1:B1000" and whole_column["values"] == [[], [], ["b2"]]


def test_missing_tab_and_outside_grid_are_400(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("t", {"Sheet1": [["x"]]}, grid=(10, 3))
    base = f"{fake_google.base_url}{SHEETS}/{sid}/values"
    missing = requests.get(f"{base}/'ไม่มี'!A1:B2")
    assert missing.status_code == 400
    assert missing.json() == {"error": {"code": 400, "message": "Unable to parse range: 'ไม่มี'!A1:B2",
                                        "status": "INVALID_ARGUMENT"}}
    outside = requests.put(f"{base}/Sheet1!D1", params={"valueInputOption": "RAW"}, json={"values": [["y"]]})
    assert outside.status_code == 400
    assert outside.json()["error"]["message"] == "Range (Sheet1!D1) exceeds grid limits. Max rows: 10, max columns: 3"
    too_long = requests.put(f"{base}/Sheet1!A1:B1", params={"valueInputOption": "RAW"},
                            json={"values": [["1", "2", "3"]]})
    assert too_long.status_code == 400 and "tried writing to column [C]" in too_long.json()["error"]["message"]
    assert fake_google.values(sid, "Sheet1") == [["x"]]


def test_append_grows_the_grid(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("t", {"Sheet1": [["h1", "h2"], ["a", "b"]]}, grid=(2, 2))
    answer = requests.post(f"{fake_google.base_url}{SHEETS}/{sid}/values/Sheet1:append",
                           params={"valueInputOption": "USER_ENTERED"}, json={"values": [["c", "7", "x"]]}).json()
    assert answer["tableRange"] == "Sheet1!A1:B2"
    assert answer["updates"]["updatedRange"] == "Sheet1!A3:C3"
    assert fake_google.values(sid, "Sheet1") == [["h1", "h2"], ["a", "b"], ["c", 7, "x"]]
    assert fake_google.sheet(sid, "Sheet1")["properties"]["gridProperties"] == {"rowCount": 3, "columnCount": 3}


def test_batch_update_requests_are_stored(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("t", {"Sheet1": [["a", "b"], ["1", "2"]]})
    url = f"{fake_google.base_url}{SHEETS}/{sid}:batchUpdate"
    rule = {"ranges": [{"sheetId": 0, "startRowIndex": 1, "endRowIndex": 2}],
            "booleanRule": {"condition": {"type": "NUMBER_LESS", "values": [{"userEnteredValue": "50"}]},
                            "format": {"backgroundColor": {"red": 1}}}}
    validation = {"range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 5, "startColumnIndex": 0,
                            "endColumnIndex": 1},
                  "rule": {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "ใช่"}]},
                           "strict": True}}
    body = {"requests": [
        {"addSheet": {"properties": {"sheetId": 777, "title": "สรุป", "gridProperties": {"rowCount": 5,
                                                                                       "columnCount": 4}}}},
        {"updateCells": {"start": {"sheetId": 777, "rowIndex": 0, "columnIndex": 0},
                         "rows": [{"values": [{"userEnteredValue": {"stringValue": "หัว"},
                                               "userEnteredFormat": {"textFormat": {"bold": True}},
                                               "note": "ที่มา: ฟอร์ม"},
                                              {"userEnteredValue": {"numberValue": 0.75},
                                               "userEnteredFormat": {"numberFormat": {"type": "PERCENT",
                                                                                      "pattern": "0.0%"}}},
                                              {"userEnteredValue": {"formulaValue": "=2*3"}}]}],
                         "fields": "userEnteredValue,userEnteredFormat,note"}},
        {"updateSheetProperties": {"properties": {"sheetId": 777, "gridProperties": {"frozenRowCount": 1}},
                                   "fields": "gridProperties.frozenRowCount"}},
        {"updateDimensionProperties": {"range": {"sheetId": 777, "dimension": "COLUMNS", "startIndex": 0,
                                                 "endIndex": 2},
                                       "properties": {"pixelSize": 180}, "fields": "pixelSize"}},
        {"repeatCell": {"range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 0,
                                  "endColumnIndex": 2},
                        "cell": {"userEnteredFormat": {"backgroundColor": {"blue": 1}}},
                        "fields": "userEnteredFormat.backgroundColor"}},
        {"addConditionalFormatRule": {"rule": rule, "index": 0}},
        {"setDataValidation": validation},
        {"appendDimension": {"sheetId": 777, "dimension": "ROWS", "length": 3}},
    ]}
    answer = requests.post(url, json=body)
    assert answer.status_code == 200, answer.text
    replies = answer.json()["replies"]
    assert len(replies) == 8 and replies[0]["addSheet"]["properties"]["sheetId"] == 777
    assert replies[0]["addSheet"]["properties"]["index"] == 1 and replies[1:] == [{}] * 7
    summary = fake_google.sheet(sid, "สรุป")
    assert summary["properties"]["gridProperties"] == {"rowCount": 8, "columnCount": 4, "frozenRowCount": 1}
    assert summary["columnWidths"] == {0: 180, 1: 180}
    assert summary["notes"] == {"A1": "ที่มา: ฟอร์ม"}
    assert summary["formats"]["A1"] == {"textFormat": {"bold": True}}
    assert fake_google.values(sid, "สรุป") == [["หัว", 0.75, 6]]
    assert fake_google.values(sid, "สรุป", render="FORMATTED_VALUE") == [["หัว", "75.0%", "6"]]
    assert fake_google.values(sid, "สรุป", render="FORMULA") == [["หัว", 0.75, "=2*3"]]
    first = fake_google.sheet(sid, "Sheet1")
    assert first["formats"] == {"A1": {"backgroundColor": {"blue": 1}, "backgroundColorStyle": {"rgbColor": {"blue": 1}}},
                                "B1": {"backgroundColor": {"blue": 1}, "backgroundColorStyle": {"rgbColor": {"blue": 1}}}}
    assert first["conditionalFormats"] == [rule]
    assert first["dataValidations"] == [validation]

    # a cell given without userEnteredValue, with the field in the mask, is cleared
    clear = {"requests": [{"updateCells": {"range": {"sheetId": 777, "startRowIndex": 0, "endRowIndex": 1,
                                                     "startColumnIndex": 0, "endColumnIndex": 1},
                                           "rows": [{"values": [{}]}], "fields": "userEnteredValue"}}]}
    assert requests.post(url, json=clear).status_code == 200
    assert fake_google.values(sid, "สรุป") == [["", 0.75, 6]]
    assert fake_google.sheet(sid, "สรุป")["notes"] == {"A1": "ที่มา: ฟอร์ม"}


def test_batch_update_is_atomic(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("t", {"Sheet1": [["keep"]], "Other": []})
    before = fake_google.modified_time(sid)
    url = f"{fake_google.base_url}{SHEETS}/{sid}:batchUpdate"
    good = {"updateCells": {"start": {"sheetId": 0}, "rows": [{"values": [{"userEnteredValue": {"stringValue": "new"}}]}],
                            "fields": "userEnteredValue"}}
    for bad, message in [
        ({"addSheet": {"properties": {"title": "Other"}}},
         'Invalid requests[3].addSheet: A sheet with the name "Other" already exists. Please enter another name.'),
        ({"frobnicate": {}},
         "Invalid JSON payload received. Unknown name \"frobnicate\" at 'requests[3]': Cannot find field."),
        ({"deleteSheet": {"sheetId": 424242}}, "Invalid requests[3].deleteSheet: No grid with id: 424242"),
    ]:
        rename = {"updateSpreadsheetProperties": {"properties": {"title": "renamed"}, "fields": "title"}}
        body = {"requests": [good, {"addSheet": {"properties": {"title": "New"}}}, rename, bad]}
        answer = requests.post(url, json=body)
        assert answer.status_code == 400
        assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert answer.json()["error"]["message"] == message
        assert fake_google.values(sid, "Sheet1") == [["keep"]]
        assert fake_google.tab_names(sid) == ["Sheet1", "Other"]
        assert fake_google.modified_time(sid) == before
        assert fake_google.spreadsheet_properties(sid)["title"] == "t"
    assert requests.post(url, json={"requests": [rename]}).status_code == 200
    assert fake_google.spreadsheet_properties(sid)["title"] == "renamed" and fake_google.find("renamed") == [sid]


def test_raw_and_user_entered(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("t")
    base = f"{fake_google.base_url}{SHEETS}/{sid}/values"
    row = ["=1+1", "+66812345678", "@x", "'0812", "1,234.5", "TRUE", "2019-10-01", "=SUM(A1:B1)"]
    requests.put(f"{base}/Sheet1!A1", params={"valueInputOption": "RAW"}, json={"values": [row]})
    requests.put(f"{base}/Sheet1!A2", params={"valueInputOption": "USER_ENTERED"}, json={"values": [row]})
    assert fake_google.values(sid, "Sheet1", render="FORMULA") == [
        row, ["=1+1", 66812345678, "@x", "0812", 1234.5, True, 43739, "=SUM(A1:B1)"]]
    assert fake_google.values(sid, "Sheet1")[1] == [2, 66812345678, "@x", "0812", 1234.5, True, 43739, "=SUM(A1:B1)"]
    assert fake_google.values(sid, "Sheet1", render="FORMATTED_VALUE")[1] == [
        "2", "66812345678", "@x", "0812", "1,234.50", "TRUE", "2019-10-01", "=SUM(A1:B1)"]


def test_bad_json_body(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("t")
    answer = requests.post(f"{fake_google.base_url}{SHEETS}/{sid}:batchUpdate", data=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["message"].startswith("Invalid JSON payload received.")


def test_staff_helpers_and_modified_time(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("roster", {"บุคลากร": [["รหัส", "ชื่อ"]]})
    times = [fake_google.modified_time(sid)]
    fake_google.staff_edit(sid, "บุคลากร", 2, 1, "3100000000001")
    times.append(fake_google.modified_time(sid))
    assert fake_google.append_row(sid, "บุคลากร", ["x", "ครู"]) == 3
    times.append(fake_google.modified_time(sid))
    fake_google.staff_edit(sid, "บุคลากร", 2, 2, "'007", value_input="USER_ENTERED")
    times.append(fake_google.modified_time(sid))
    assert fake_google.values(sid, "บุคลากร") == [["รหัส", "ชื่อ"], [3100000000001, "007"], ["x", "ครู"]]
    fake_google.rename(sid, "roster 2569")
    times.append(fake_google.modified_time(sid))
    fake_google.add_tab(sid, "ชั่วคราว", [["t"]])
    times.append(fake_google.modified_time(sid))
    fake_google.delete_tab(sid, "ชั่วคราว")
    times.append(fake_google.modified_time(sid))
    assert fake_google.tab_names(sid) == ["บุคลากร"]
    assert all(RFC3339_MS.match(t) for t in times)
    assert times == sorted(times) and len(set(times)) == len(times)
    assert fake_google.find("roster 2569") == [sid] and fake_google.find("roster") == []
    fake_google.put_values(sid, "บุคลากร", [["=1+1", dt.date(2020, 1, 1)]])
    assert fake_google.values(sid, "บุคลากร", render="FORMULA") == [["=1+1", 43831]]
    assert fake_google.modified_time(sid) > times[-1]


def test_modified_time_strictly_increases_within_one_millisecond() -> None:
    """With a frozen clock every write still moves modifiedTime forward by at least 1 ms."""
    frozen = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc).timestamp() + 0.123
    with FakeGoogle(now=lambda: frozen) as fake:
        sid = fake.add_spreadsheet("t", {"Sheet1": [["a"]]})
        assert fake.modified_time(sid) == "2026-11-25T10:00:00.123Z"
        client = fake.gspread_client()
        ws = client.open_by_key(sid).sheet1
        seen = [fake.modified_time(sid)]
        for n in range(5):
            ws.update([[n]], "A1")
            seen.append(fake.modified_time(sid))
            fake.staff_edit(sid, "Sheet1", 1, 2, n)
            seen.append(fake.modified_time(sid))
        ws.freeze(rows=1)
        seen.append(fake.modified_time(sid))
        assert len(set(seen)) == len(seen) and seen == sorted(seen)
        drive = requests.get(f"{fake.base_url}/drive/v3/files/{sid}", params={"fields": "modifiedTime"}).json()
        assert drive == {"modifiedTime": seen[-1]}
        before = seen[-1]
        ws.get_all_values()
        assert fake.modified_time(sid) == before  # reads do not touch it


# --------------------------------------------------------------------------- Drive


def test_drive_query_and_paging(fake_google: FakeGoogle) -> None:
    folder = fake_google.add_folder("area", shared_drive=True)
    other = fake_google.add_folder("other")
    ids = [fake_google.add_spreadsheet(f"s{n:02d}", folder=folder) for n in range(25)]
    fake_google.add_spreadsheet("s-other", folder=other)
    fake_google.add_spreadsheet("O'Brien", folder=folder)
    fake_google.trash(ids[3])
    url = f"{fake_google.base_url}/drive/v3/files"
    q = (f"'{folder}' in parents and mimeType='application/vnd.google-apps.spreadsheet' "
         "and trashed=false and name != 'O\\'Brien'")
    seen, token, pages = [], None, 0
    while True:
        params = {"q": q, "pageSize": 10, "fields": "nextPageToken, files(id, name, modifiedTime)",
                  "supportsAllDrives": "true", "includeItemsFromAllDrives": "true", "corpora": "allDrives"}
        if token:
            params["pageToken"] = token
        page = requests.get(url, params=params).json()
        pages += 1
        assert all(set(f) == {"id", "name", "modifiedTime"} for f in page["files"])
        seen += [f["id"] for f in page["files"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 3 and seen == [i for i in ids if i != ids[3]]
    all_drives = {"supportsAllDrives": "true", "includeItemsFromAllDrives": "true"}
    named = requests.get(url, params={"q": "name = 'O\\'Brien'", "fields": "files(name,parents)", **all_drives})
    assert named.json() == {"files": [{"name": "O'Brien", "parents": [folder]}]}
    # without both flags Drive leaves shared-drive files out of lists and answers 404 for them
    hidden = requests.get(url, params={"q": "name = 'O\\'Brien'", "supportsAllDrives": "true"}).json()
    assert hidden["files"] == []
    assert requests.get(f"{url}/{ids[0]}").status_code == 404
    assert requests.get(f"{url}/{ids[0]}", params={"supportsAllDrives": "true"}).status_code == 200
    assert [f["name"] for f in requests.get(url, params={"q": "name contains 'other'"}).json()["files"]] == ["s-other"]
    default = requests.get(url, params={"q": "name = 's01'", **all_drives}).json()
    assert set(default) == {"kind", "incompleteSearch", "files"}
    assert set(default["files"][0]) == {"kind", "id", "name", "mimeType"}
    for bad_q in ("starred = true", "name = 's01' and", "'x' in owners", "name ~ 'a'"):
        answer = requests.get(url, params={"q": bad_q})
        assert answer.status_code == 400, bad_q
        assert answer.json()["error"]["errors"][0]["reason"] == "invalid"
    assert requests.get(url, params={"pageSize": 1001}).status_code == 400
    assert requests.get(url, params={"pageToken": "not-a-token"}).status_code == 400


def test_drive_create_into_shared_drive_or_my_drive(fake_google: FakeGoogle) -> None:
    my_drive = fake_google.add_folder("My Drive folder", shared_with=["svc@p.iam.gserviceaccount.com"])
    shared = fake_google.add_folder("Shared drive", shared_drive=True,
                                    shared_with=["svc@p.iam.gserviceaccount.com"])
    token = fake_google.add_token("svc-token", "svc@p.iam.gserviceaccount.com")
    headers = {"Authorization": f"Bearer {token}"}
    body = {"name": "แดชบอร์ด", "mimeType": "application/vnd.google-apps.spreadsheet"}
    refused = requests.post(f"{fake_google.base_url}/drive/v3/files", params={"supportsAllDrives": "true"},
                            json={**body, "parents": [my_drive]}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"
    assert fake_google.find("แดชบอร์ด") == []
    made = requests.post(f"{fake_google.base_url}/drive/v3/files", params={"supportsAllDrives": "true"},
                         json={**body, "parents": [shared]}, headers=headers)
    assert made.status_code == 200
    assert set(made.json()) == {"kind", "id", "name", "mimeType"}
    assert fake_google.find("แดชบอร์ด") == [made.json()["id"]]
    # a person (not a service account) may create in My Drive
    person = requests.post(f"{fake_google.base_url}/drive/v3/files", json={**body, "parents": [my_drive]},
                           headers={"Authorization": f"Bearer {fake_google.add_token('t2', 'staff@school.ac.th')}"})
    assert person.status_code == 200


# --------------------------------------------------------------------------- permissions and auth


def _refused(call: Any) -> dict[str, Any]:
    """The error body of a 403; gspread's open_by_key raises PermissionError from its APIError."""
    with pytest.raises(PermissionError) as caught:
        call()
    cause = caught.value.__cause__
    assert isinstance(cause, gspread.exceptions.APIError)
    assert cause.response.status_code == 403
    return cause.response.json()


def test_permissions_per_spreadsheet(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("private", {"Sheet1": [["x"]]},
                                      shared_with={"reader@x.th": "reader", "editor@x.th": "writer"})
    reader = fake_google.gspread_client(email="reader@x.th")
    editor = fake_google.gspread_client(email="editor@x.th")
    stranger = fake_google.gspread_client(email="stranger@x.th")
    anonymous = fake_google.gspread_client()
    assert reader.open_by_key(sid).sheet1.get_all_values() == [["x"]]
    denied = {"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}}
    with pytest.raises(gspread.exceptions.APIError) as caught:
        reader.open_by_key(sid).sheet1.update([["y"]], "A1")
    assert caught.value.response.json() == denied
    editor.open_by_key(sid).sheet1.update([["y"]], "A1")
    assert fake_google.values(sid, "Sheet1") == [["y"]]
    for client in (stranger, anonymous):
        assert _refused(lambda client=client: client.open_by_key(sid)) == denied
    # Drive hides files a user cannot see
    assert [f["id"] for f in stranger.list_spreadsheet_files()] == []
    assert [f["id"] for f in reader.list_spreadsheet_files()] == [sid]
    permissions = reader.list_permissions(sid)
    assert {(p["emailAddress"], p["role"]) for p in permissions} == {("reader@x.th", "reader"),
                                                                      ("editor@x.th", "writer")}

    fake_google.forbid(sid)
    assert _refused(lambda: editor.open_by_key(sid)) == denied
    fake_google.forbid(sid, False)
    fake_google.fail(sid, 500)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        editor.open_by_key(sid)
    assert caught.value.response.json()["error"]["status"] == "INTERNAL"
    fake_google.fail(sid, None)
    assert editor.open_by_key(sid).title == "private"


def test_not_found(fake_google: FakeGoogle) -> None:
    answer = requests.get(f"{fake_google.base_url}{SHEETS}/test", params={"includeGridData": "false"})
    assert answer.status_code == 404
    assert answer.json() == {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        fake_google.gspread_client().open_by_key("nope")
    drive = requests.get(f"{fake_google.base_url}/drive/v3/files/nope")
    assert drive.status_code == 404 and drive.json()["error"]["errors"][0]["reason"] == "notFound"


def test_token_endpoint_with_a_real_service_account_key(fake_google: FakeGoogle, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """google-auth signs a JWT with a freshly made RSA key, trades it at the fake's /token, then calls as that email."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account

    monkeypatch.delenv("GOOGLE_SDK_EXPERIMENTAL_PYTHON_REGIONAL_ACCESS_BOUNDARY_LOOKUP_ENABLED", raising=False)
    email = "devplan@area-office.iam.gserviceaccount.com"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": "area-office", "private_key_id": "k1", "private_key": pem,
        "client_email": email, "client_id": "1", "token_uri": f"{fake_google.base_url}/token"}), encoding="utf-8")
    credentials = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=["https://www.googleapis.com/auth/spreadsheets"])
    sid = fake_google.add_spreadsheet("shared", {"Sheet1": [["ok"]]}, shared_with=[email])
    hidden = fake_google.add_spreadsheet("not shared", shared_with=["someone@else.th"])
    client = gspread.Client(auth=None, session=AuthorizedSession(credentials),
                            http_client=fake_google.http_client_class())
    assert client.open_by_key(sid).sheet1.get_all_values() == [["ok"]]
    assert _refused(lambda: client.open_by_key(hidden))["error"]["code"] == 403

    token_calls = fake_google.requests(api="token")
    assert len(token_calls) == 1 and token_calls[0].status == 200
    sheets_calls = fake_google.requests(api="sheets")
    assert sheets_calls and all(r.user == email for r in sheets_calls)
    assert all(r.auth == f"Bearer {credentials.token}" for r in sheets_calls)
    assert fake_google.token_email(credentials.token) == email


def test_require_auth() -> None:
    with FakeGoogle(require_auth=True) as fake:
        sid = fake.add_spreadsheet("t")
        url = f"{fake.base_url}{SHEETS}/{sid}"
        assert requests.get(url).status_code == 403
        assert requests.get(url, headers={"Authorization": "Bearer unknown"}).json()["error"]["status"] == \
            "UNAUTHENTICATED"
        fake.add_token("good", "a@b.th")
        assert requests.get(url, headers={"Authorization": "Bearer good"}).status_code == 200


# --------------------------------------------------------------------------- faults and quota


def test_random_faults_change_nothing() -> None:
    with FakeGoogle(seed=7) as fake:
        sid = fake.add_spreadsheet("t", {"Sheet1": [[0]]})
        fake.faults.rate = 0.3
        fake.faults.retry_after = 0.01
        url = f"{fake.base_url}{SHEETS}/{sid}/values/Sheet1!A1"
        statuses = []
        for n in range(1, 61):
            answer = requests.put(url, params={"valueInputOption": "RAW"}, json={"values": [[n]]})
            statuses.append(answer.status_code)
            if answer.status_code == 200:
                assert fake.values(sid, "Sheet1") == [[n]]
            else:
                body = answer.json()["error"]
                assert body["code"] == answer.status_code
                assert body["status"] == {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}[body["code"]]
                if answer.status_code == 429:
                    assert answer.headers["Retry-After"] == "0.01"
        failed = [s for s in statuses if s != 200]
        assert 5 <= len(failed) <= 35 and set(failed) <= {429, 500, 503}
        last_ok = max(n for n, s in enumerate(statuses, start=1) if s == 200)
        assert fake.values(sid, "Sheet1") == [[last_ok]]
        assert [r.fault for r in fake.requests() if r.status != 200] == ["fault"] * len(failed)
        assert fake.bugs == []


def test_scripted_faults_and_gspread(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("t", {"Sheet1": [["a"]]})
    client = fake_google.gspread_client()
    fake_google.faults.fail_next(503)
    with pytest.raises(gspread.exceptions.APIError) as caught:
        client.open_by_key(sid)
    assert caught.value.response.status_code == 503
    assert client.open_by_key(sid).sheet1.get_all_values() == [["a"]]
    fake_google.faults.slow = 0.01  # every request waits 10 ms, then is answered normally
    assert client.open_by_key(sid).title == "t"
    assert fake_google.requests()[-1].fault == "slow" and fake_google.requests()[-1].status == 200


def test_quota_per_user_and_window() -> None:
    with FakeGoogle() as fake:
        sid = fake.add_spreadsheet("t", {"Sheet1": [["a"]]})
        fake.quota.read_limit = 3
        fake.quota.write_limit = 1
        fake.quota.window = 60.0
        now = [1000.0]
        fake.quota.clock = lambda: now[0]  # time moves only when the test says so
        url = f"{fake.base_url}{SHEETS}/{sid}/values/Sheet1!A1"
        alice = {"Authorization": f"Bearer {fake.add_token('ta', 'alice@x.th')}"}
        bob = {"Authorization": f"Bearer {fake.add_token('tb', 'bob@x.th')}"}
        assert [requests.get(url, headers=alice).status_code for _ in range(4)] == [200, 200, 200, 429]
        over = requests.get(url, headers=alice).json()["error"]
        assert over["status"] == "RESOURCE_EXHAUSTED"
        assert over["message"].startswith("Quota exceeded for quota metric 'Read requests' and limit "
                                          "'Read requests per minute per user' of service 'sheets.googleapis.com'")
        assert requests.get(url, headers=bob).status_code == 200  # per user
        write = {"params": {"valueInputOption": "RAW"}, "json": {"values": [["b"]]}}
        assert requests.put(url, headers=alice, **write).status_code == 200  # writes counted apart
        refused = requests.put(url, headers=alice, params={"valueInputOption": "RAW"}, json={"values": [["c"]]})
        assert refused.status_code == 429 and "'Write requests'" in refused.json()["error"]["message"]
        assert fake.values(sid, "Sheet1") == [["b"]]
        assert requests.get(f"{fake.base_url}/drive/v3/files/{sid}", headers=alice).status_code == 200  # Drive free
        now[0] += 59.9
        assert requests.get(url, headers=alice).status_code == 429  # still inside the window
        now[0] += 0.1  # the window slides past every counted request
        assert requests.get(url, headers=alice).status_code == 200


def test_request_log(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("t", {"แผ่น": [["a"]]})
    client = fake_google.gspread_client(token="tok")
    ws = client.open_by_key(sid).worksheet("แผ่น")
    ws.update([["b"]], "A1")
    writes = fake_google.requests(api="sheets", kind="write", spreadsheet=sid)
    assert len(writes) == 1
    entry = writes[0]
    assert entry.method == "PUT" and entry.path == f"{SHEETS}/{sid}/values/'แผ่น'!A1"
    assert entry.query == {"valueInputOption": ["RAW"]} and entry.body["values"] == [["b"]]
    assert entry.auth == "Bearer tok" and entry.status == 200 and entry.response["updatedRange"] == "'แผ่น'!A1"
    assert {r.kind for r in fake_google.requests(api="sheets", method="GET")} == {"read"}
    fake_google.clear_log()
    assert fake_google.requests() == []
