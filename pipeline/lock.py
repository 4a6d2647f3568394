"""One run at a time per state file: an operating-system lock on ``<state>.lock`` (``filelock``).

The lock belongs to the process: ``filelock`` takes it with ``fcntl.flock`` on Linux
and macOS and ``msvcrt.locking`` on Windows, so the OS lets it go when the process
ends, however it ends, and a killed run never leaves a stale lock behind. While it
holds the lock, a run writes its PID and start time into the file, for the message
a second run prints (filelock leaves an existing lock file's content alone).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Callable

from filelock import FileLock, Timeout

from pipeline.errors import BusyError, StateWriteError, write_failed


def lock_path(state: str | Path) -> Path:
    return Path(f"{state}.lock")


class RunLock:
    """Hold ``<state>.lock`` for the length of a ``with`` block.

    Busy: with ``wait`` the run waits its turn (``on_wait`` is told once, to say so);
    without, ``BusyError`` at once, naming the run that holds it.
    """

    def __init__(
        self, state: str | Path, *, wait: bool = False, on_wait: Callable[[str], None] | None = None,
        poll: float = 0.2,
    ) -> None:
        self.path = lock_path(state)
        self.wait = wait
        self.on_wait = on_wait
        self.poll = poll
        self.lock = FileLock(self.path, mode=0o644)

    def __enter__(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.lock.acquire(blocking=False)
            except Timeout:
                holder = self.holder()
                if not self.wait:
                    raise BusyError(
                        f"มี devplan อีกชุดกำลังประมวลผลกับไฟล์สถานะ {str(self.path)[:-5]} อยู่{holder} "
                        "จึงไม่เริ่มชุดนี้ซ้อนกัน",
                        "รอให้ชุดนั้นทำงานเสร็จแล้วสั่งใหม่ หรือสั่งพร้อม --wait เพื่อรอคิวแล้วทำต่อเอง",
                    ) from None
                if self.on_wait:
                    self.on_wait(f"รอ devplan อีกชุดที่กำลังประมวลผลกับไฟล์สถานะเดียวกันให้เสร็จก่อน{holder}")
                self.lock.acquire(poll_interval=self.poll)
        except OSError as exc:
            raise write_failed(self.path, exc, "ไฟล์ล็อก (ข้างไฟล์สถานะ storage.state)", StateWriteError) from exc
        # Say who holds it, for the message a second run prints.
        try:
            self.path.write_text(f" pid {os.getpid()} {datetime.now().isoformat(timespec='seconds')}\n", "ascii")
        except OSError:
            pass
        return self

    def holder(self) -> str:
        """`` (PID 123 เริ่มเมื่อ 2026-11-25T20:00:01)`` from the lock file, or nothing."""
        try:
            words = self.path.read_text(encoding="ascii", errors="replace").split()
        except OSError:
            return ""
        if len(words) >= 3 and words[0] == "pid":
            return f" (PID {words[1]} เริ่มเมื่อ {words[2].replace('T', ' ')})"
        return ""

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.lock.release()
