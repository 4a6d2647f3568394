"""The HTTP edge to Google: gspread's client, paced to the quota, with bounded retries.

Every Sheets and Drive request devplan makes goes through ``PacedClient.request``:

- it is sent to ``DEVPLAN_GOOGLE_API_BASE`` instead of Google when that is set
  (an emulator: the tests' fake, or a user's own test setup);
- Sheets reads and writes are paced client-side to the per-user quota (60 reads
  and 60 writes a minute by default), so a full sync runs at the quota without 429s;
- 429, 408 and 5xx answers (and dropped connections) are retried with exponential
  backoff and jitter, honouring ``Retry-After``, a bounded number of times
  (gspread's own ``BackOffHTTPClient`` can retry forever); 400, 403 and 404 are not.
"""

from __future__ import annotations

import collections
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Deque

import requests
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from pipeline.workbook import RequestCounts, WaitHook

log = logging.getLogger(__name__)

SHEETS_BASE = "https://sheets.googleapis.com"
DRIVE_BASE = "https://www.googleapis.com"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})



@dataclass
class Pacing:
    """Limits of one run: requests per window for each kind, and the retry policy."""

    reads: int = 60
    writes: int = 60
    window: float = 60.0
    max_tries: int = 6
    backoff_base: float = 1.0
    max_backoff: float = 64.0


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds: the quota, kept on our side."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.sent: Deque[float] = collections.deque()

    def delay(self) -> float:
        """Seconds to wait before the next event may go."""
        now = self.clock()
        while self.sent and now - self.sent[0] >= self.window:
            self.sent.popleft()
        if len(self.sent) < self.limit:
            return 0.0
        return self.sent[0] + self.window - now

    def mark(self) -> None:
        self.sent.append(self.clock())


class PacedClient(HTTPClient):
    """gspread's HTTP client, pointed at ``api_base``, paced and retrying within bounds."""

    def __init__(
        self,
        auth: Any,
        session: requests.Session | None = None,
        *,
        api_base: str | None = None,
        pacing: Pacing | None = None,
        on_wait: WaitHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        """``clock`` and ``sleep`` are the time the quota windows count in (tests pass a virtual one)."""
        super().__init__(auth, session)
        self.api_base = api_base.rstrip("/") if api_base else None
        self.pacing = pacing or Pacing()
        self.windows = {
            "read": SlidingWindow(self.pacing.reads, self.pacing.window, clock),
            "write": SlidingWindow(self.pacing.writes, self.pacing.window, clock),
        }
        self.on_wait = on_wait
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.counts = RequestCounts()
        self.set_timeout((10, 180))  # Google answers within 180 s or not at all

    def url(self, endpoint: str) -> str:
        """The endpoint, sent to the emulator when one is configured."""
        if self.api_base:
            for base in (SHEETS_BASE, DRIVE_BASE):
                if endpoint.startswith(base):
                    return self.api_base + endpoint[len(base):]
        return endpoint

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        kind = _kind(method, endpoint)
        url = self.url(endpoint)
        for attempt in range(1, self.pacing.max_tries + 1):
            self._pace(kind)
            try:
                response = super().request(method, url, *args, **kwargs)
                self._mark(kind)
                self._count(kind)
                return response
            except APIError as exc:  # noqa: PERF203 - the retry loop is the point
                self._mark(kind)
                status = exc.response.status_code
                self._count(kind)
                if status not in RETRY_STATUSES or attempt == self.pacing.max_tries:
                    raise
                delay = self._backoff(attempt, exc.response.headers.get("Retry-After"))
                reason = f"Google ตอบ {status} ({_status_text(exc)}) ลองใหม่ครั้งที่ {attempt + 1}/{self.pacing.max_tries}"
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._mark(kind)
                self._count(kind)
                if attempt == self.pacing.max_tries:
                    raise
                delay = self._backoff(attempt, None)
                reason = f"เชื่อมต่อ Google ไม่ได้ ({exc.__class__.__name__}) ลองใหม่ครั้งที่ {attempt + 1}/{self.pacing.max_tries}"
            self.counts.retries += 1
            log.info("%s %s: retry in %.2fs (%s)", method.upper(), url, delay, reason)
            self._wait("retry", delay, reason)
        raise AssertionError("unreachable")  # pragma: no cover

    def _pace(self, kind: str) -> None:
        window = self.windows.get(kind)
        if window is None:
            return
        delay = window.delay()
        if delay > 0:
            limit = window.limit
            what = "อ่าน" if kind == "read" else "เขียน"
            self._wait(kind, delay, f"ถึงโควตาการ{what}ของ Google Sheets ({limit} ครั้งต่อ {window.window:g} วินาที)")

    def _mark(self, kind: str) -> None:
        # Counted when the answer is back: Google counted it no later than that,
        # so a window measured from here never overlaps Google's own.
        window = self.windows.get(kind)
        if window is not None:
            window.mark()

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        cap = min(self.pacing.max_backoff, self.pacing.backoff_base * 2 ** (attempt - 1))
        delay = self.rng.uniform(cap / 2, cap)  # "equal jitter": never hammer in lockstep
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass  # an HTTP date: rare from Google; the backoff stands
        return min(delay, self.pacing.max_backoff)

    def _wait(self, kind: str, seconds: float, reason: str) -> None:
        if self.on_wait:
            self.on_wait(kind, seconds, reason)
        self.counts.waited += seconds
        self.sleep(seconds)

    def _count(self, kind: str) -> None:
        """One request sent, whatever Google answered (or if it did not)."""
        counts = self.counts
        if kind == "read":
            counts.sheets_read += 1
        elif kind == "write":
            counts.sheets_write += 1
        else:
            counts.drive += 1


def _kind(method: str, endpoint: str) -> str:
    if endpoint.startswith(SHEETS_BASE):
        return "read" if method.lower() == "get" else "write"
    return "drive"


def _status_text(exc: APIError) -> str:
    try:
        return str(exc.response.json()["error"]["status"])
    except (ValueError, KeyError, TypeError):
        return exc.response.reason or "error"
