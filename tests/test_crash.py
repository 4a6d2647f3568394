"""Killing a sync at random moments loses nothing and mails nobody twice.

Thirty times, a real ``devplan sync --send`` process is killed with SIGKILL at a
random moment (seeded: right after a progress line drawn at random) while it reads,
writes spreadsheets or sends mail to a real SMTP server on loopback. After the kills of a round, one more run finishes
the work. Then: every ``.xlsx`` opens, no temp file is left, the spreadsheets
and outbox equal a clean run's, and the SMTP server received each unit's
message at most once (and exactly once unless the run said it could not be
sure, which it reports to a person rather than sending again).
"""

from __future__ import annotations

import email
import os
import random
import shutil
import signal
import subprocess
import sys
from collections import Counter
from email.policy import default as default_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook

from pipeline.deliver import IN_DOUBT_LABEL, MAILED_LABEL
from tests.conftest import free_port, sample_sheets, write_config

ROUNDS, KILLS_PER_ROUND = 6, 5  # 30 kills in all
SCHOOLS = 4


class Inbox:
    """An SMTP handler that keeps every accepted message."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return sample_sheets(tmp_path_factory.mktemp("pristine"), SCHOOLS, seed=11)


def fresh_area(pristine: Path, root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copytree(pristine, root / "sheets")
    return write_config(root)


def start(config: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ, "DEVPLAN_SMTP_HOST": "127.0.0.1", "DEVPLAN_SMTP_PORT": str(port),
        "DEVPLAN_SMTP_STARTTLS": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "sync", "--config", str(config), "--send", "--wait"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def snapshot(root: Path) -> tuple[dict, dict]:
    """Every spreadsheet's tabs (values) and every outbox message's parts; the dashboard's rows on the mailing
    apart (the time mail went out, and a message a kill left in doubt: ``in_doubt``)."""
    sheets = {}
    for path in sorted((root / "sheets").glob("*.xlsx")):
        book = load_workbook(path, read_only=True)  # raises if a kill left it broken
        sheets[path.stem] = {
            name: [[v for v in row if v is not None] for i, row in enumerate(book[name].iter_rows(values_only=True))
                   if i != 1 and (not row or row[0] not in (MAILED_LABEL, IN_DOUBT_LABEL))]  # i == 1: the run's date
            for name in book.sheetnames
        }
        book.close()
    mails = {}
    for path in sorted((root / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        mails[path.stem] = (message["To"], message["Subject"], message.get_body(("plain",)).get_content())
    return sheets, mails


def in_doubt(root: Path) -> str:
    """The dashboard's rows naming a message in doubt and what to do, as one text."""
    book = load_workbook(root / "sheets" / "dashboard.xlsx", read_only=True)
    rows = [row for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) if row and row[0] == IN_DOUBT_LABEL]
    book.close()
    return "\n".join(" ".join(str(v) for v in row if v is not None) for row in rows)


def test_thirty_kills_lose_nothing_and_mail_nobody_twice(pristine, tmp_path, smtp):
    inbox, port = smtp
    clean = fresh_area(pristine, tmp_path / "clean")
    done = start(clean, port)
    out, err = done.communicate(timeout=300)
    assert done.returncode in (0, 1), err
    # A run says on stderr where it is (a line as each read, write and mail begins): a kill comes
    # right after a line drawn at random, so it lands mid-run whatever the machine's speed.
    progress_lines = err.count("\n")
    assert progress_lines > 10, err
    expected_sheets, expected_mails = snapshot(tmp_path / "clean")
    units = len(expected_mails)
    assert len(inbox.messages) == units

    chooser = random.Random(2562)
    killed_while_running = 0
    for round_ in range(ROUNDS):
        inbox.messages.clear()
        root = tmp_path / f"round-{round_}"
        config = fresh_area(pristine, root)
        for _ in range(KILLS_PER_ROUND):
            process = start(config, port)
            for _ in range(chooser.randint(1, progress_lines - 1)):
                if not process.stderr.readline():
                    break  # it ended before: the work left for it was shorter
            if process.poll() is None:
                killed_while_running += 1
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=300)
        final = start(config, port)
        out, err = final.communicate(timeout=300)
        assert final.returncode in (0, 1), err

        sheets, mails = snapshot(root)  # every file opens
        assert sheets == expected_sheets, f"round {round_}"
        assert mails == expected_mails, f"round {round_}"
        assert not [p.name for p in (root / "sheets").iterdir() if p.name.startswith(".")], f"round {round_}"

        received = Counter(m["To"] for m in inbox.messages)
        assert all(n == 1 for n in received.values()), (round_, received)
        missing = {to for to, _, _ in mails.values()} - set(received)
        for to in missing:  # only where a send was cut at the very moment, and then said so (and on the dashboard)
            assert to in out and to in in_doubt(root), (round_, to, out)
    print(f"{killed_while_running} of {ROUNDS * KILLS_PER_ROUND} kills hit a live run")
    assert killed_while_running >= ROUNDS * KILLS_PER_ROUND // 2  # most kills hit a live run
