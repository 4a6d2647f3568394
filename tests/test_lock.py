"""Two runs on one state file never run alongside: real processes, a real OS lock.

A helper process takes the lock the way a sync does (``pipeline.lock.RunLock``) and
holds it until told to stop; then real ``devplan sync`` processes meet it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline.lock import RunLock

HOLD = """
import sys
from pipeline.lock import RunLock
with RunLock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DEVPLAN_")}


@pytest.fixture
def holder(area):
    """Another process holding the lock of the area's state file; ``release()`` lets it go."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(area.storage.state)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(),
    )
    assert process.stdout.readline().strip() == "held"

    def release() -> None:
        if process.poll() is None:
            process.stdin.write("\n")
            process.stdin.flush()
            process.wait(timeout=30)

    process.release = release
    yield process
    release()


def _sync(config_file, *flags: str, **kwargs):
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "sync", "--config", str(config_file), *flags],
        text=True, env=_env(), **streams,
    )


def test_a_second_sync_exits_at_once_with_a_thai_message(area, config_file, holder):
    process = _sync(config_file)
    out, err = process.communicate(timeout=300)  # the holder never lets go: a sync that waited would hang here
    assert process.returncode == 75, err
    assert "มี devplan อีกชุดกำลังประมวลผลกับไฟล์สถานะ" in err
    assert f"PID {holder.pid}" in err
    assert "--wait" in err
    assert out == ""
    assert not area.output.outbox.exists()  # it did nothing at all
    assert not (area.storage.path / "dashboard.xlsx").exists()


def test_with_wait_the_second_sync_runs_after_the_first_lets_go(area, config_file, holder):
    process = _sync(config_file, "--wait")
    waiting = "รอ devplan อีกชุดที่กำลังประมวลผลกับไฟล์สถานะเดียวกันให้เสร็จก่อน"
    said = ""
    while waiting not in said:  # it says it waits as soon as it meets the held lock
        said = process.stderr.readline()
        assert said, "the sync ended without saying it waits"
    assert process.poll() is None  # still waiting its turn: the holder has not let go
    assert not area.output.outbox.exists()
    holder.release()
    out, err = process.communicate(timeout=300)
    assert process.returncode == 1, err  # it ran: the hand area's 4 rows need a person
    assert "เริ่มประมวลผล" in err
    assert len(list(area.output.outbox.glob("*.eml"))) == 3


def test_two_syncs_started_together_never_overlap(area, config_file, tmp_path):
    """Both with --wait, their stderr appended to one file, so its lines are in the order they were
    written. Each says "เริ่มประมวลผล" once it holds the lock and writes its last summary tab before
    letting go: the second start must come after the first run's last write. Both ``--full``: else the
    second, finding nothing changed, would be an idle night (tests/test_idle.py) that writes nothing."""
    log = tmp_path / "both.log"
    with log.open("a", encoding="utf-8") as shared:
        runs = [_sync(config_file, "--wait", "--full", stdout=subprocess.DEVNULL, stderr=shared) for _ in range(2)]
        for process in runs:
            process.wait(timeout=300)
            assert process.returncode == 1
    lines = log.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if "เริ่มประมวลผล" in line]
    last_writes = [i for i, line in enumerate(lines) if "เขียนแท็บสรุปผล 3/3" in line]
    assert len(starts) == 2 and len(last_writes) == 2, lines
    assert starts[0] < last_writes[0] < starts[1] < last_writes[1], lines
    # Whether the second met the first's lock (and said it waits) depends on how fast each started:
    # test_with_wait_the_second_sync_runs_after_the_first_lets_go checks that with a lock held on purpose.


def test_the_lock_is_free_again_after_a_run_and_after_a_killed_holder(area):
    with RunLock(area.storage.state):
        pass
    with RunLock(area.storage.state):  # taken again in the same process: it was released
        pass
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(area.storage.state)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env=_env(),
    )
    assert process.stdout.readline().strip() == "held"
    process.kill()
    process.wait(timeout=30)
    with RunLock(area.storage.state):  # the OS let the killed process's lock go
        pass
