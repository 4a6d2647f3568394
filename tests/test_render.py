"""Template filters and sheet rendering, on tiny templates written by each test."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.render import build_environment, cell, keep_unit_codes, percent, render_sheet, render_text


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
    rows = render_sheet(env, "t.tsv", {"rows": [{"code": "1067020001", "n": 12, "p": 66.7, "name": "<b>ก</b>\tข"}]})
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
