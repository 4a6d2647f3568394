"""Where the files devplan ships live: the plan's indicators, the demo config, the templates.

An installed devplan (a wheel, editable or not) carries them as package data in
``pipeline/_defaults/`` (see ``[tool.setuptools]`` in pyproject.toml, which maps
that folder to the repository's top-level ``config/`` and ``templates/``). A
source checkout, or an editable install, reads those top-level folders directly.
Only the standard library here: the command line imports it before ``--help``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_SHIPPED = _PACKAGE / "_defaults"
_SOURCE = _PACKAGE.parent


def _shipped(installed: Path, source: Path) -> Path:
    return installed if installed.exists() else source


#: the plan's eight indicators with their yearly targets; used when a config names no indicators.file
INDICATORS = _shipped(_SHIPPED / "indicators.toml", _SOURCE / "config" / "indicators.toml")
#: the e-mail and sheet templates; used when a config names no output.templates
TEMPLATES = _shipped(_SHIPPED / "templates", _SOURCE / "templates")
#: the complete, commented example config of the sample area (``devplan demo``)
DEMO_CONFIG = _shipped(_SHIPPED / "demo.toml", _SOURCE / "config" / "demo.toml")
