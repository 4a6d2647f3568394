"""Template filters and sheet rendering, on tiny templates written by each test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from pipeline.errors import ConfigError
from pipeline.render import (
    CompiledTemplates, build_environment, cell, keep_unit_codes, parse_dated, parse_tab, percent, render_dated, render_text,
)


def test_percent_for_people():
    assert percent(None) == "-"
    assert percent(85.0) == "85"
    assert percent(2 / 3 * 100) == "66.7"
    assert percent(0) == "0"


def test_cell_keeps_a_value_on_one_line_and_one_cell():
    assert cell("ก\tข\nค\r\nง") == "ก ข ค ง"
    assert cell(None) == ""
    assert cell(12) == "12"


@pytest.fixture
def env(tmp_path):
    (tmp_path / "t.tsv").write_text(
        "รหัส\tจำนวน\tร้อยละ\tชื่อ\t\n{% for r in rows %}{{ r.code }}\t{{ r.n }}\t{{ r.p }}\t{{ r.name|cell }}\n{% endfor %}",
        encoding="utf-8",
    )
    (tmp_path / "t.html").write_text("<p>{{ name }}</p>", encoding="utf-8")
    (tmp_path / "typo.txt").write_text("{{ nmae }}", encoding="utf-8")
    return build_environment(tmp_path)


def test_sheet_rows_keep_codes_as_text_and_counts_as_numbers(env):
    keep_unit_codes(env, ["1067020001"])  # a roster's unit code: not masked as a possible ID
    rows = parse_tab(render_text(env, "t.tsv", {"rows": [{"code": "1067020001", "n": 12, "p": 66.7, "name": "<b>ก</b>\tข"}]})).rows
    assert rows == [["รหัส", "จำนวน", "ร้อยละ", "ชื่อ"], ["1067020001", 12, 66.7, "<b>ก</b> ข"]]


def test_html_is_escaped_and_text_is_not(env):
    assert render_text(env, "t.html", {"name": "<b>ก</b> & ข"}) == "<p>&lt;b&gt;ก&lt;/b&gt; &amp; ข</p>"


def test_an_undefined_variable_is_a_config_error_naming_the_template(env):
    with pytest.raises(ConfigError) as caught:
        render_text(env, "typo.txt", {"name": "ก"})
    assert "typo.txt" in caught.value.message and "nmae" in caught.value.message


def test_a_missing_templates_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        build_environment(tmp_path / "nowhere")
    assert "output.templates" in caught.value.hint


def test_sheet_markers_describe_the_look_and_never_reach_a_cell(tmp_path):
    (tmp_path / "s.tsv").write_text(
        "{{ TITLE }}สรุป\t{{ when }}\n"
        "{{ ASIDE }}หมายเหตุที่ยาวมากจนไม่ควรกำหนดความกว้างของคอลัมน์\n"
        "\n"
        "{{ HEADER }}ตัวชี้วัด\tรหัส\tร้อยละ\tผล\n"
        "{% for r in rows %}\n"
        "{{ r.name|note(r.wording) }}\t{{ r.code|text }}\t{{ r.percent|number }}\t{{ r.status|status }}\n"
        "{% endfor %}\n",
        encoding="utf-8",
    )
    env = build_environment(tmp_path)
    rows = [
        {"name": "ก", "wording": "ร้อยละ ๘๐ ของ\nบรรทัดสอง", "code": "01234", "percent": None, "status": "ผ่าน"},
        {"name": "ข\x1fstatus", "wording": "", "code": "2562", "percent": 72.7, "status": "ยังไม่ผ่าน"},
    ]
    tab = parse_tab(render_text(env, "s.tsv", {"when": "วันนี้", "rows": rows}))
    assert tab.rows == [
        ["สรุป", "วันนี้"],
        ["หมายเหตุที่ยาวมากจนไม่ควรกำหนดความกว้างของคอลัมน์"],
        [],
        ["ตัวชี้วัด", "รหัส", "ร้อยละ", "ผล"],
        ["ก", "01234", None, "ผ่าน"],      # a code stays text; no percent is an empty cell, not "-"
        ["ขstatus", "2562", 72.7, "ยังไม่ผ่าน"],  # a marker inside a value is only text
    ]
    assert tab.bold_rows == {0, 3}
    assert tab.frozen_rows == 4
    assert tab.notes == {(4, 0): "ร้อยละ ๘๐ ของ\nบรรทัดสอง"}
    # widths: header and body rows only ("ขstatus", 7 cells, beats "ตัวชี้วัด", 5), never the long aside line
    assert tab.widths[0] == 7 * 7 + 16
    assert [(r.text, [(b.first_row, b.end_row, b.first_column) for b in r.ranges]) for r in tab.rules] == [
        ("ผ่าน", [(4, 6, 3)]), ("ยังไม่ผ่าน", [(4, 6, 3)]),
    ]


def test_a_plain_template_gets_widths_and_nothing_else(env):
    tab = parse_tab(render_text(env, "t.tsv", {"rows": [{"code": "1067020001", "n": 12, "p": 66.7, "name": "ก"}]}))
    assert tab.bold_rows == set() and tab.frozen_rows == 0 and tab.notes == {} and tab.rules == []
    # the 10-digit code; "จำนวน" and "ร้อยละ" are 5 cells each; "ชื่อ" (2 cells) gets the minimum, 48
    assert tab.widths == [10 * 7 + 16, 5 * 7 + 16, 5 * 7 + 16, 48]


def test_a_dated_tab_parsed_once_equals_each_date_parsed_on_its_own(tmp_path):
    """``parse_dated`` parses the marked text once; it must give what parsing each dated text gives,
    wherever the date sits: a fitted row (widths change with it), a note, an aside, a cell with spaces."""
    (tmp_path / "d.tsv").write_text(
        "{{ TITLE }}สรุป\t{{ run.generated_on|thai_date }}\n"
        "{{ ASIDE }}ปรับปรุง {{ run.generated_on|thai_date }} โดย devplan\n"
        "{{ HEADER }}วัน\tจำนวน\tหมายเหตุ\n"
        "  {{ run.generated_on|thai_date }}  \t{{ n }}\t{{ 'ดู'|note('ข้อมูล ณ ' ~ (run.generated_on|thai_date) ~ '\n' ~ 'บรรทัดสอง') }}\n"
        "{{ run.generated_on|thai_date|text }}\t{{ code|text }}\t\n"
        "\n",
        encoding="utf-8",
    )
    (tmp_path / "aside.tsv").write_text(  # the date only where widths are not fitted: they are shared
        "{{ TITLE }}สรุป {{ run.generated_on|thai_date }}\n{{ HEADER }}รหัส\tจำนวน\n{{ code }}\t{{ n }}\n"
        "{{ ASIDE }}{{ run.generated_on|thai_date }}\n",
        encoding="utf-8",
    )
    env = build_environment(tmp_path)

    @dataclass
    class Run:
        generated_on: date

    @dataclass
    class Summary:
        run: Run
        n: int
        code: str

    for template in ("aside.tsv", "d.tsv"):
        dated = render_dated(env, template, Summary(Run(date(2026, 11, 24)), 12, "0123"))
        shown, undated = parse_dated(dated)
        for tab, text in ((shown, dated.shown), (undated, dated.undated)):
            assert tab.describe() == parse_tab(text).describe()
    assert shown.rows[3] == ["24 พฤศจิกายน 2569", 12, "ดู"] and undated.rows[3][0] == "1 มกราคม 2543"
    assert shown.notes[(3, 2)] == "ข้อมูล ณ 24 พฤศจิกายน 2569\nบรรทัดสอง"
    assert (shown.widths[0], undated.widths[0]) == (16 * 7 + 16, 13 * 7 + 16)  # a Thai vowel mark takes no cell


def test_masking_follows_the_unit_codes_named_after_values_were_printed(env):
    """The masking remembers what it printed; naming the unit codes later must still let them show."""
    row = {"code": "1067020001", "n": 123456789, "p": 12345678, "name": "๑๒๓๔๕๖๗๘๙๐"}
    before = parse_tab(render_text(env, "t.tsv", {"rows": [row]})).rows[1]
    assert before == ["xxxxxxx001", "xxxxxx789", 12345678, "xxxxxxx890"]  # 8 digits are not a possible ID
    keep_unit_codes(env, ["1067020001"])
    assert parse_tab(render_text(env, "t.tsv", {"rows": [row]})).rows[1] == ["1067020001", "xxxxxx789", 12345678, "xxxxxxx890"]


def test_a_broken_or_unwritable_cache_of_compiled_templates_only_compiles_again(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.txt").write_text("{{ name }} มี {{ n }} คน", encoding="utf-8")
    kept = tmp_path / "cache"
    kept.mkdir()
    assert render_text(build_environment(tmp_path / "t", CompiledTemplates(str(kept))), "a.txt", {"name": "ก", "n": 3}) == "ก มี 3 คน"
    files = list(kept.iterdir())
    assert len(files) == 1  # kept for the next run
    whole = files[0].read_bytes()
    for broken in (whole[:40] + b"\x00junk", whole[:-25]):  # a cut header; the code cut short
        files[0].write_bytes(broken)
        again = build_environment(tmp_path / "t", CompiledTemplates(str(kept)))
        assert render_text(again, "a.txt", {"name": "ข", "n": 4}) == "ข มี 4 คน"
    nowhere = build_environment(tmp_path / "t", CompiledTemplates(str(tmp_path / "missing")))
    assert render_text(nowhere, "a.txt", {"name": "ค", "n": 5}) == "ค มี 5 คน"
