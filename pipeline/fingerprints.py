"""Fingerprints of what devplan's outputs depend on besides the data: its own code, templates and settings.

Shared by the idle night (``pipeline.idle``: did anything change since the last sync?) and the units
made again only when their inputs changed (``pipeline.unchanged``); imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.config import Settings

PACKAGE = Path(__file__).resolve().parent


def file_stat(path: Path) -> list[int] | None:
    """A file's size and modification time (ns), or None when there is none."""
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def file_content(path: Path) -> str:
    """A hash of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tree(folder: Path, pattern: str) -> list[tuple[str, str | None]]:
    """Each file's path under ``folder`` and a hash of its bytes: its text decides, not its size and
    time (a copy or an editor that keeps the time, a coarse clock on a shared folder); about 2 ms for
    devplan's code and templates together."""
    try:
        return sorted((str(p.relative_to(folder)), _content(p)) for p in folder.rglob(pattern) if p.is_file())
    except OSError:  # a folder this user cannot list: unknown, so like no earlier run's (nothing is kept)
        return [("", secrets.token_hex(16))]


def _content(path: Path) -> str | None:
    """``file_content``, or None for a file that is not there or cannot be read (the run that reads it says
    so: it keeps nothing for a next run to compare)."""
    try:
        return file_content(path)
    except OSError:
        return None


def libraries() -> list[str]:
    """Python's version and the distributions installed where it finds modules, by their metadata folders
    (``jinja2-3.1.6.dist-info``: the name carries the version), so a library upgraded in place is seen."""
    found = [sys.version]
    for place in dict.fromkeys(sys.path):
        try:
            names = os.listdir(place or ".")
        except OSError:  # not a folder (a zip), or gone
            continue
        found.extend(sorted(n for n in names if n.endswith((".dist-info", ".egg-info"))))
    return found


def program_parts(settings: Settings) -> dict[str, Any]:
    """devplan (its version, code files and templates), the libraries it runs on and the settings (the
    indicators file included)."""
    indicators = Path(settings.indicators.file)
    templates = Path(settings.output.templates)
    return {
        "devplan": [__version__, _tree(PACKAGE, "*.py")],
        "libraries": libraries(),
        "settings": settings.model_dump_json(),
        "indicators": _content(indicators),
        "templates": _tree(templates, "*"),
    }


def digest(described: Any) -> str:
    """A hash of a JSON-able description (dict keys sorted)."""
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def program(settings: Settings) -> str:
    """A hash of ``program_parts``: what every output depends on besides its data and the date."""
    return digest(program_parts(settings))
