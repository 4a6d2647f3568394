"""Settings and indicator definitions: precedence, relative paths, and Thai errors that name the key.

Every config here is the demo config with a line or two changed
(``tests.conftest.write_config``), so each test shows one thing going wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import DEFAULT_INDICATORS, load_settings
from pipeline.errors import ConfigError, DeliveryError, PipelineError, PublishError, SourceError
from pipeline.indicators import load_indicators
from tests.conftest import DEMO_CONFIG, PLAN_TARGETS, REPO, write_config

INDICATORS = REPO / "config" / "indicators.toml"



def config_error(path: Path, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, **kwargs)
    return str(caught.value)


# --- paths -------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_files_folder(tmp_path, monkeypatch):
    folder = tmp_path / "area" / "conf"
    folder.mkdir(parents=True)
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    (folder / "devplan.toml").write_text(
        text.replace('path = "../demo-area/sheets"', 'path = "data/sheets"')
        .replace('outbox = "../demo-area/outbox"', 'outbox = "../outbox"')
        .replace('# templates = "templates"', 'templates = "tpl"')
        .replace('# [indicators]\n# file = "indicators.toml"', '[indicators]\nfile = "ind/indicators.toml"'),
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the current folder must not matter

    settings = load_settings(Path("../area/conf/devplan.toml"))

    assert settings.storage.path == folder / "data" / "sheets"
    assert settings.output.outbox == tmp_path / "area" / "outbox"
    assert settings.output.templates == folder / "tpl"
    assert settings.indicators.file == folder / "ind" / "indicators.toml"
    assert settings.source_file == folder / "devplan.toml"


def test_demo_config_paths_point_next_to_the_repository():
    settings = load_settings(DEMO_CONFIG)
    assert settings.storage.path == REPO / "demo-area" / "sheets"
    assert settings.output.outbox == REPO / "demo-area" / "outbox"
    assert settings.output.templates == REPO / "templates"
    assert settings.indicators.file == INDICATORS


def test_env_and_flag_paths_are_relative_to_the_current_folder(tmp_path, config_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        config_file,
        {"output.outbox": "flag-outbox"},
        environ={"DEVPLAN_STORAGE_PATH": "env-sheets"},
    )
    assert settings.storage.path == tmp_path / "env-sheets"
    assert settings.output.outbox == tmp_path / "flag-outbox"


# --- precedence: defaults < TOML < environment < flags -------------------------


def test_default_applies_when_the_file_leaves_a_key_out(tmp_path):
    path = write_config(tmp_path, **{'dashboard = "dashboard"': "", 'summary_tab = "สรุปผล (devplan)"': ""})
    settings = load_settings(path, environ={})
    assert settings.output.dashboard == "dashboard"
    assert settings.output.summary_tab == "สรุปผล (devplan)"


def test_toml_wins_over_defaults(tmp_path):
    path = write_config(
        tmp_path,
        **{'dashboard = "dashboard"': 'dashboard = "แดชบอร์ดเขต"',
           'summary_tab = "สรุปผล (devplan)"': 'summary_tab = "ผลการพัฒนา"'},
    )
    settings = load_settings(path, environ={})
    assert settings.output.dashboard == "แดชบอร์ดเขต"
    assert settings.output.summary_tab == "ผลการพัฒนา"


def test_environment_wins_over_toml(tmp_path, config_file, monkeypatch):
    monkeypatch.setenv("DEVPLAN_FISCAL_YEAR", "2563")
    monkeypatch.setenv("DEVPLAN_STORAGE_PATH", str(tmp_path / "env-sheets"))
    monkeypatch.setenv("DEVPLAN_OUTBOX", str(tmp_path / "env-outbox"))
    settings = load_settings(config_file)  # reads os.environ, as the CLI does
    assert settings.area.fiscal_year == 2563
    assert settings.storage.path == tmp_path / "env-sheets"
    assert settings.output.outbox == tmp_path / "env-outbox"


def test_empty_environment_variable_does_not_override(config_file):
    settings = load_settings(config_file, environ={"DEVPLAN_FISCAL_YEAR": ""})
    assert settings.area.fiscal_year == 2562


def test_flags_win_over_environment(tmp_path, config_file):
    env = {
        "DEVPLAN_FISCAL_YEAR": "2563",
        "DEVPLAN_STORAGE_PATH": str(tmp_path / "env-sheets"),
        "DEVPLAN_OUTBOX": str(tmp_path / "env-outbox"),
    }
    settings = load_settings(
        config_file,
        {"area.fiscal_year": 2561, "storage.path": str(tmp_path / "flag-sheets"),
         "output.outbox": str(tmp_path / "flag-outbox")},
        environ=env,
    )
    assert settings.area.fiscal_year == 2561
    assert settings.storage.path == tmp_path / "flag-sheets"
    assert settings.output.outbox == tmp_path / "flag-outbox"


def test_flag_not_given_leaves_the_layer_below(config_file):
    # click passes None for an option that was not given
    settings = load_settings(config_file, {"area.fiscal_year": None}, environ={"DEVPLAN_FISCAL_YEAR": "2563"})
    assert settings.area.fiscal_year == 2563


def test_bad_fiscal_year_from_environment_names_the_key(config_file):
    message = config_error(config_file, environ={"DEVPLAN_FISCAL_YEAR": "สองห้าหกสอง"})
    assert "area.fiscal_year" in message


# --- wrong, unknown and missing keys ------------------------------------------


def test_unknown_key_is_named_with_its_dotted_path_and_the_file(tmp_path):
    path = write_config(tmp_path, **{"fiscal_year = 2562": "fiscal_yaer = 2562"})
    message = config_error(path, environ={})
    assert "area.fiscal_yaer" in message
    assert str(path) in message
    assert "ไม่รู้จักคีย์" in message


def test_missing_required_key_is_named(tmp_path):
    path = write_config(tmp_path, **{'tab = "บุคลากร"\n': ""})
    message = config_error(path, environ={})
    assert "sources.staff.tab" in message
    assert "ขาดคีย์ที่จำเป็น" in message
    assert str(path) in message


def test_bad_toml_names_the_file_and_the_line(tmp_path):
    path = write_config(tmp_path, **{"fiscal_year = 2562": "fiscal_year = 25 62"})
    line = 1 + next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines()) if "25 62" in text)
    message = config_error(path)
    assert str(path) in message
    assert f"line {line}" in message
    assert "TOML" in message


def test_missing_config_file_is_a_config_error(tmp_path):
    path = tmp_path / "nowhere.toml"
    message = config_error(path)
    assert str(path) in message
    assert "ไม่พบไฟล์ตั้งค่า" in message


def test_a_folder_given_as_config_is_a_config_error(tmp_path):
    message = config_error(tmp_path)
    assert str(tmp_path) in message


def test_idplan_spreadsheet_without_code_is_rejected(tmp_path):
    path = write_config(tmp_path, **{'spreadsheet = "idplan-{code}"': 'spreadsheet = "idplan"'})
    message = config_error(path, environ={})
    assert "sources.idplan.spreadsheet" in message
    assert "{code}" in message


@pytest.mark.parametrize("staff_tab", ["แผนพัฒนาตนเอง", "บันทึกการพัฒนา"])
def test_summary_tab_equal_to_a_staff_tab_is_rejected(tmp_path, staff_tab):
    path = write_config(tmp_path, **{'summary_tab = "สรุปผล (devplan)"': f'summary_tab = "{staff_tab}"'})
    message = config_error(path, environ={})
    assert "output.summary_tab" in message
    # one readable line, not the whole settings table echoed back
    assert "หล่มสัก" not in message and len(message) < 600


def test_empty_summary_tab_is_rejected(tmp_path):
    path = write_config(tmp_path, **{'summary_tab = "สรุปผล (devplan)"': 'summary_tab = "  "'})
    assert "summary_tab" in config_error(path, environ={})


def test_secrets_are_not_accepted_in_the_file(tmp_path):
    path = write_config(tmp_path, **{"[mail]\n": '[mail]\npassword = "hunter2"\n'})
    assert "mail.password" in config_error(path, environ={})


def test_exit_codes_by_error_kind():
    assert ConfigError("x").exit_code == 2
    assert SourceError("x").exit_code == 3
    assert PublishError("x").exit_code == 4
    assert DeliveryError("x").exit_code == 5
    assert all(issubclass(e, PipelineError) for e in (ConfigError, SourceError, PublishError, DeliveryError))


def test_error_text_carries_the_hint():
    error = ConfigError("ผิด", "แก้แบบนี้")
    assert str(error) == "ผิด\nวิธีแก้: แก้แบบนี้"
    assert str(ConfigError("ผิด")) == "ผิด"


# --- indicator definitions -----------------------------------------------------


def test_shipped_indicators_match_the_plan():
    items = load_indicators(INDICATORS)
    got = {i.id: (i.strategy, i.unit, i.target(2561), i.target(2562), i.target(2563)) for i in items}
    assert got == PLAN_TARGETS
    assert [i.id for i in items] == list(PLAN_TARGETS)  # the plan's order


def test_shipped_indicators_fit_the_demo_vocabulary(demo_settings):
    items = load_indicators(demo_settings.indicators.file, demo_settings.vocabulary.development_kinds)
    assert len(items) == 8
    assert demo_settings.indicators.file == DEFAULT_INDICATORS


def test_year_outside_the_plan_has_no_target():
    for item in load_indicators(INDICATORS):
        assert item.target(2564) is None
        assert item.target(2560) is None


def indicators_file(tmp_path: Path, **replace: str) -> Path:
    text = INDICATORS.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "indicators.toml"
    path.write_text(text, encoding="utf-8")
    return path


def indicator_error(path: Path, kinds: list[str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_indicators(path, kinds)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_unknown_evidence_rule_is_named(tmp_path):
    path = indicators_file(tmp_path, **{'rule = "has_id_plan"': 'rule = "has_idplan"'})
    message = indicator_error(path)
    assert "indicator.5.evidence.rule" in message  # id_plan is the sixth indicator
    assert "has_idplan" in message
    assert str(path) in message


def test_rule_that_does_not_fit_the_unit_is_named(tmp_path):
    path = indicators_file(
        tmp_path,
        **{'unit = "unit"\npopulation = {}\nevidence = { rule = "unit_has_kinds", kinds = ["PLC"] }':
           'unit = "staff"\npopulation = {}\nevidence = { rule = "unit_has_kinds", kinds = ["PLC"] }'},
    )
    message = indicator_error(path)
    assert "unit_has_kinds" in message
    assert "indicator.4" in message and "'plc'" in message


def test_rule_without_its_kinds_is_named(tmp_path):
    path = indicators_file(
        tmp_path, **{'evidence = { rule = "completed_kinds", kinds = ["STEM"] }': 'evidence = { rule = "completed_kinds" }'}
    )
    message = indicator_error(path)
    assert "indicator.0.evidence" in message
    assert "completed_kinds" in message and "kinds" in message


def test_kinds_on_a_rule_that_takes_none_are_named(tmp_path):
    path = indicators_file(
        tmp_path, **{'evidence = { rule = "has_id_plan" }': 'evidence = { rule = "has_id_plan", kinds = ["อบรม"] }'}
    )
    assert "has_id_plan" in indicator_error(path)


def test_kind_missing_from_the_vocabulary_is_named(tmp_path, demo_settings):
    kinds = [k for k in demo_settings.vocabulary.development_kinds if k != "PLC"]
    message = indicator_error(INDICATORS, kinds)
    assert "'plc'" in message and "PLC" in message
    assert "vocabulary.development_kinds" in message


def test_duplicate_ids_are_named(tmp_path):
    path = indicators_file(tmp_path, **{'id = "training"': 'id = "stem"'})
    message = indicator_error(path)
    assert "ซ้ำ" in message and "stem" in message


def test_unknown_key_in_an_indicator_is_named(tmp_path):
    path = indicators_file(tmp_path, **{'id = "plc"\n': 'id = "plc"\ntarget = 80\n'})
    assert "indicator.4.target" in indicator_error(path)


def test_missing_indicator_file_is_a_config_error(tmp_path):
    assert str(tmp_path / "none.toml") in indicator_error(tmp_path / "none.toml")
