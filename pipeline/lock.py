"""One run at a time per state file: an operating-system lock on ``<state>.lock``.

The lock belongs to the process: the OS lets it go when the process ends, however
it ends, so a killed run never leaves a stale lock behind. ``fcntl.flock`` on
Linux and macOS, ``msvcrt.locking`` on Windows.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from pipeline.errors import BusyError, ConfigError

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


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
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"สร้างไฟล์ล็อก {self.path} ไม่ได้ ({exc.strerror})",
                "ตรวจสิทธิ์การเขียนโฟลเดอร์ของไฟล์สถานะ (storage.state)",
            ) from exc
        told = False
        while not _try_lock(fd):
            holder = self.holder()
            if not self.wait:
                os.close(fd)
                raise BusyError(
                    f"มี devplan อีกชุดกำลังประมวลผลกับไฟล์สถานะ {str(self.path)[:-5]} อยู่{holder} "
                    "จึงไม่เริ่มชุดนี้ซ้อนกัน",
                    "รอให้ชุดนั้นทำงานเสร็จแล้วสั่งใหม่ หรือสั่งพร้อม --wait เพื่อรอคิวแล้วทำต่อเอง",
                )
            if not told and self.on_wait:
                self.on_wait(f"รอ devplan อีกชุดที่กำลังประมวลผลกับไฟล์สถานะเดียวกันให้เสร็จก่อน{holder}")
                told = True
            time.sleep(self.poll)
        self.fd = fd
        # Say who holds it, for the message a second run prints.
        note = f" pid {os.getpid()} {datetime.now().isoformat(timespec='seconds')}\n".encode()
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, note)
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

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            try:
                _unlock(self.fd)
            finally:
                os.close(self.fd)
                self.fd = None
