"""Open the backend the config names, at the place it names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.workbook import WaitHook, Workbook

if TYPE_CHECKING:
    from pipeline.config import StorageSettings
    from pipeline.state import State


def open_workbook(
    storage: StorageSettings, state: State, *, full: bool = False, on_wait: WaitHook | None = None
) -> Workbook:
    """The configured backend. ``state`` caches what was read (Google's answers, a local file's rows, each
    keyed on the spreadsheet's version); ``full`` reads everything again."""
    if storage.backend == "google":
        from pipeline.workbook.google import GoogleWorkbook
        from pipeline.workbook.google_http import Pacing

        quota = storage.quota
        pacing = Pacing(
            reads=quota.reads_per_minute, writes=quota.writes_per_minute, window=quota.window_seconds,
            max_tries=quota.max_tries, backoff_base=quota.backoff_base, max_backoff=quota.max_backoff,
            connect_timeout=quota.connect_timeout, read_timeout=quota.read_timeout,
            deadline=quota.deadline_minutes * 60,
        )
        assert storage.folder is not None  # checked by StorageSettings
        return GoogleWorkbook(
            storage.folder, state, credentials=storage.credentials, pacing=pacing, full=full, on_wait=on_wait
        )
    from pipeline.workbook.read_cache import CachedLocalWorkbook
    from pipeline.workbook.xlsx_zip import MB, Limits

    assert storage.path is not None  # checked by StorageSettings
    limits = Limits(part=storage.max_part_mb * MB, file=storage.max_file_mb * MB)
    return CachedLocalWorkbook(storage.path, state, limits, full=full)


def local_files(storage: StorageSettings, keys: list[str]) -> list[Path]:
    """The files of spreadsheets ``keys`` in a local storage folder, named as ``LocalWorkbook.path`` names them."""
    from pipeline.workbook.local import SUFFIX

    assert storage.path is not None  # a local backend's folder, checked by StorageSettings
    return [Path(storage.path) / f"{key}{SUFFIX}" for key in keys]


def service_account(credentials: Path | None) -> str:
    """The e-mail of the service account whose key is ``credentials`` (None: ``GOOGLE_APPLICATION_CREDENTIALS``),
    or "" when there is none and an emulator is set; a ConfigError saying what is wrong with the key."""
    from pipeline.workbook.google import API_BASE_ENV, authorize

    return authorize(credentials, os.environ.get(API_BASE_ENV) or None).email
