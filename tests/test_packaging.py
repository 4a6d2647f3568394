"""Config anywhere: a config copied to /etc/devplan/area.toml works, from a real (non-editable) install.

The plan's indicators and the templates ship inside the package (pyproject's
package-dir mapping of the top-level config/ and templates/); a config that names
none uses them, and relative paths it does name are relative to its own folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pipeline.config import DEFAULT_INDICATORS, DEFAULT_TEMPLATES, load_settings
from pipeline.workbook.local import LocalWorkbook
from tests import hand_area
from tests.conftest import DEMO_CONFIG, REPO


def copied_config(folder: Path, sheets: Path, outbox: Path) -> Path:
    """The demo config as an office would copy it: into its own folder, naming only its data."""
    folder.mkdir(parents=True)
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('path = "../demo-area/sheets"', f'path = "{sheets}"')
    text = text.replace('outbox = "../demo-area/outbox"', f'outbox = "{outbox}"')
    path = folder / "area.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_config_that_names_no_indicators_or_templates_uses_the_shipped_ones(tmp_path):
    path = copied_config(tmp_path / "etc" / "devplan", tmp_path / "sheets", tmp_path / "outbox")
    settings = load_settings(path)
    assert settings.indicators.file == DEFAULT_INDICATORS and DEFAULT_INDICATORS.is_file()
    assert settings.output.templates == DEFAULT_TEMPLATES and (DEFAULT_TEMPLATES / "school_email.html").is_file()
    assert settings.storage.state == tmp_path / "etc" / "devplan" / "devplan-state.sqlite"


def test_relative_indicators_and_templates_are_beside_the_config(tmp_path):
    path = copied_config(tmp_path / "etc" / "devplan", tmp_path / "sheets", tmp_path / "outbox")
    text = path.read_text(encoding="utf-8")
    text = text.replace('# [indicators]\n# file = "indicators.toml"', '[indicators]\nfile = "indicators.toml"')
    text = text.replace('# templates = "templates"', 'templates = "templates"')
    path.write_text(text, encoding="utf-8")
    settings = load_settings(path)
    assert settings.indicators.file == tmp_path / "etc" / "devplan" / "indicators.toml"
    assert settings.output.templates == tmp_path / "etc" / "devplan" / "templates"


def test_every_package_is_listed_in_pyproject():
    """pyproject lists packages by hand (for the data mapping): a new subpackage must be added there."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "pipeline").rglob("__init__.py")
    }
    assert found <= listed, found - listed


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """devplan built as a wheel and installed (not editable) into a folder of its own."""
    root = tmp_path_factory.mktemp("install")
    source, wheels, target = root / "source", root / "wheels", root / "site"
    source.mkdir()  # a clean copy, so the build leaves nothing in the working tree
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for name in ("pipeline", "config", "templates"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(wheels), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    wheel = next(wheels.glob("devplan-*.whl"))
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return target


def _devplan(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVPLAN_")}
    env["PYTHONPATH"] = str(installed)  # ahead of the editable checkout
    return subprocess.run(
        [sys.executable, "-c", "import sys, pipeline; print(pipeline.__file__, file=sys.stderr); "
         "from pipeline.cli import main; sys.argv[0] = 'devplan'; main()", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )


def test_an_installed_devplan_runs_a_config_copied_anywhere(tmp_path, installed):
    assert not (installed / "config").exists() and not (installed / "templates").exists()
    assert (installed / "pipeline" / "_defaults" / "indicators.toml").is_file()
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    path = copied_config(tmp_path / "etc" / "devplan", tmp_path / "sheets", tmp_path / "outbox")
    settings = load_settings(path)
    hand_area.build(LocalWorkbook(settings.storage.path), settings)

    listing = _devplan(installed, elsewhere, "indicators", "--config", str(path), "--format", "json")
    assert listing.returncode == 0, listing.stderr
    assert listing.stderr.startswith(str(installed / "pipeline" / "__init__.py"))  # the installed copy ran
    rows = json.loads(listing.stdout)
    assert len(rows) == 8 and {r["year"] for r in rows} == {2562}

    run = _devplan(installed, elsewhere, "sync", "--config", str(path))
    assert run.returncode == 1, run.stderr  # done; the hand area's 4 rows need a person
    assert sorted(p.stem for p in (tmp_path / "outbox").glob("*.eml")) == sorted(
        [hand_area.SCHOOL_A, hand_area.SCHOOL_B, hand_area.OFFICE]
    )
    assert (tmp_path / "etc" / "devplan" / "devplan-state.sqlite").is_file()


def test_an_installed_devplan_runs_the_demo(tmp_path, installed):
    run = _devplan(installed, tmp_path, "demo", "--out", str(tmp_path / "demo"), "--schools", "3")
    assert run.returncode == 0, run.stderr
    assert len(list((tmp_path / "demo" / "outbox").glob("*.eml"))) == 4
