"""A real SMTP server on loopback for the tests (aiosmtpd), counting what it accepts, and the send log it leads to."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any, Iterator

from aiosmtpd.controller import Controller

from tests import hand_area
from tests.conftest import free_port


class CountingServer:
    """An SMTP handler that counts what it accepts, and can refuse like a real server does.

    ``refuse_after``: after this many messages, every MAIL FROM gets "421 ... try again later"
    (a sending quota); ``refuse_rcpt``: addresses answered "550 no such user".
    """

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse_after: int | None = None
        self.refuse_rcpt: set[str] = set()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802 - aiosmtpd's name
        if self.refuse_after is not None and len(self.messages) >= self.refuse_after:
            return "421 4.7.0 Sending quota reached, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse_rcpt:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return f"250 2.0.0 Ok: queued as Q{len(self.messages):04d}"

    def recipients(self) -> list[str]:
        return [r for rcpts, _ in self.messages for r in rcpts]


@contextlib.contextmanager
def serving(handler: Any, kind: type[Controller] = Controller, **options: Any) -> Iterator[Controller]:
    """An aiosmtpd server with ``handler`` on loopback (no TLS unless ``options`` say), devplan's
    environment pointing at it."""
    controller = kind(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        os.environ.update(DEVPLAN_SMTP_HOST="127.0.0.1", DEVPLAN_SMTP_PORT=str(controller.port),
                          DEVPLAN_SMTP_STARTTLS="0")
        yield controller
    finally:
        controller.stop()


def sent_rows(settings) -> list[tuple]:
    """The state file's send log, read with sqlite3: (unit, recipient, content hash, sent at, answer, test)."""
    with sqlite3.connect(settings.storage.state) as db:
        return db.execute("SELECT unit, recipient, content_hash, sent_at, answer, test FROM sent ORDER BY id").fetchall()


def every_director_once(handler: CountingServer, settings) -> None:
    """The server got one message per director of the hand area and the send log says so: nobody
    twice, nobody skipped."""
    assert sorted(handler.recipients()) == sorted(hand_area.DIRECTORS.values())
    assert sorted((unit, to) for unit, to, *_ in sent_rows(settings)) == sorted(hand_area.DIRECTORS.items())
