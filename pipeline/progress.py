"""Progress on stderr while a long run works: a bar on a terminal, short lines in a log.

A bar is redrawn in place when a person watches stderr; under cron, a pipe or a
log file, a plain "stage done/total" line comes about every 10%. A wait for the
quota or a retry is said on a line of its own, with where the run stands.
"""

from __future__ import annotations

import sys
from typing import Callable

from pipeline.thai import duration

BAR_WIDTH = 30
#: stage -> what a person is told it does
SYNC_STAGES = {"collect": "อ่านสเปรดชีต ID Plan", "publish": "เขียนแท็บสรุปผล", "deliver": "ส่งอีเมล"}
CHECK_STAGES = {"collect": "อ่านสเปรดชีต ID Plan", "publish": "เตรียมแท็บสรุปผล (ไม่เขียน)"}


def say(text: str, end: str = "\n") -> None:
    """One message on stderr, at once."""
    sys.stderr.write(text + end)
    sys.stderr.flush()


def stderr_is_terminal() -> bool:
    """True when a person watches stderr (a terminal), False under cron, a pipe or a log file."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """The progress of one run: ``show`` is the library's progress hook, ``waiting`` its wait hook."""

    def __init__(self, stage_names: dict[str, str]) -> None:
        self.stage_names = stage_names
        #: the last progress shown, so a wait message can say where the run stands
        self.where = ""
        self.bar_open = False

    def show(self, stage: str, done: int, total: int) -> None:
        name = self.stage_names.get(stage, stage)
        self.where = f"{name} {done}/{total}"
        if stderr_is_terminal():
            filled = BAR_WIDTH * done // total if total else BAR_WIDTH
            percent = 100 * done // total if total else 100
            say(f"\r  {name} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} ({percent}%)", end="")
            self.bar_open = True
            if done >= total:
                self.end_bar()
            return
        step = max(1, total // 10)
        if done == total or done % step == 0:
            say(f"  {name} {done}/{total}")

    def end_bar(self) -> None:
        """Finish an unfinished bar's line, so the next message starts on a line of its own."""
        if self.bar_open:
            self.bar_open = False
            say("")

    def waiting(self, kind: str, seconds: float, reason: str) -> None:
        """Why the run waits (the quota, a retry) and where it stands; waits under a second go unsaid."""
        where = f" ({self.where})" if self.where else ""
        if seconds >= 1 or kind == "retry":
            self.end_bar()
            say(f"  รอ {duration(seconds)}: {reason}{where}")


def progress_printer(stage_names: dict[str, str]) -> Callable[[str, int, int], None]:
    """A progress hook that shows ``stage_names``' progress on stderr."""
    return Progress(stage_names).show
