"""The HTTP edge to Google: gspread's client, paced to the quota, with bounded retries and time limits.

Every Sheets and Drive request devplan makes goes through ``PacedClient.request``:

- it is sent to ``DEVPLAN_GOOGLE_API_BASE`` instead of Google when that is set
  (an emulator: the tests' fake, or a user's own test setup);
- boolean query parameters go out as ``true``/``false``, as the APIs document them;
- Sheets reads and writes are paced client-side to the per-user quota (60 reads
  and 60 writes a minute by default), so a full sync runs at the quota without 429s;
- 429, 408 and 5xx answers (and dropped connections, and requests that time out)
  are retried with exponential backoff and jitter a bounded number of times
  (gspread's own ``BackOffHTTPClient`` can retry forever); 400, 403 and 404 are not;
- ``Retry-After`` is honoured in full (and said): when Google asks for longer than
  the run has left, that kind of request stops for this run (``OutOfTime``);
- each request has a connect and a read timeout, and the run a deadline: once it
  has passed, no request is sent (``OutOfTime``), so a hanging or slow Google
  ends the run at a known time with what was not done named;
- a request that changes something may have been applied though its answer was
  lost (a 5xx, a timeout): its caller passes ``resend``, which looks at what is
  there now and gives the body to send instead, so a second delivery finds the
  work done; a 429 is Google's refusal before doing anything: it is resent as it was.

What fails is raised as ``APIError`` (Google answered: the caller knows the
context), ``Unreachable`` (no answer: the address tried is named), ``SignInFailed``
(the token endpoint refused the service-account key) or ``OutOfTime``.
"""

from __future__ import annotations

import collections
import email.utils
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Deque, Mapping
from urllib.parse import urlsplit

import requests
from google.auth import exceptions as auth_errors
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from pipeline.thai import duration
from pipeline.workbook import RequestCounts, WaitHook

log = logging.getLogger(__name__)

SHEETS_BASE = "https://sheets.googleapis.com"
DRIVE_BASE = "https://www.googleapis.com"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Called before a write is sent again after an answer that may have been lost: the JSON body to send now.
Resend = Callable[[], Any]

#: The time a run counts in, when a client is not given its own: tests that drive the command line
#: swap these for a virtual clock, so no test depends on how fast this machine is.
default_clock: Callable[[], float] = time.monotonic
default_sleep: Callable[[float], None] = time.sleep


@dataclass
class Pacing:
    """Limits of one run: requests per window for each kind, the retry policy and the time limits."""

    reads: int = 60
    writes: int = 60
    window: float = 60.0
    max_tries: int = 6
    backoff_base: float = 1.0
    max_backoff: float = 64.0
    #: seconds to open a connection, and to wait for the answer once the request is sent
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    #: seconds after the client is made when no more requests are sent (None: no deadline)
    deadline: float | None = 45 * 60.0


class Unreachable(Exception):
    """No answer from ``address`` (host:port): refused, dropped or timed out, every try."""

    def __init__(self, address: str, cause: Exception, *, sign_in: bool = False) -> None:
        super().__init__(f"{address}: {cause.__class__.__name__}")
        self.address = address
        #: what kind of silence it was, in Thai
        self.why = _silence(cause)
        #: it was the token endpoint (signing in with the key), not the Sheets or Drive API
        self.sign_in = sign_in


class SignInFailed(Exception):
    """The token endpoint refused the service-account key (``invalid_grant`` and the like)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class OutOfTime(Exception):
    """No more requests of this kind this run: the deadline passed, or Google asked to wait past it.

    ``asked``: the seconds Google asked to wait (``Retry-After``), None for the run's own deadline;
    ``until``: the wall-clock time after which it is worth running again.
    """

    def __init__(self, asked: float | None, deadline: float | None, until: datetime) -> None:
        super().__init__(f"asked to wait {asked} s" if asked is not None else f"deadline of {deadline} s passed")
        self.asked = asked
        self.deadline = deadline
        self.until = until


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
    """gspread's HTTP client, pointed at ``api_base``, paced, retrying within bounds, and on a deadline."""

    def __init__(
        self,
        auth: Any,
        session: requests.Session | None = None,
        *,
        api_base: str | None = None,
        pacing: Pacing | None = None,
        on_wait: WaitHook | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        token_uri: str | None = None,
    ) -> None:
        """``clock`` and ``sleep`` are the time the quota windows and the deadline count in (tests
        pass a virtual one); ``wall`` tells the hour to run again after, when Google asks to wait."""
        super().__init__(auth, session)
        self.api_base = api_base.rstrip("/") if api_base else None
        self.pacing = pacing or Pacing()
        self.clock = clock or default_clock
        self.sleep = sleep or default_sleep
        self.wall = wall
        self.windows = {
            "read": SlidingWindow(self.pacing.reads, self.pacing.window, self.clock),
            "write": SlidingWindow(self.pacing.writes, self.pacing.window, self.clock),
        }
        self.on_wait = on_wait
        self.rng = rng or random.Random()
        self.counts = RequestCounts()
        self.token_uri = token_uri
        deadline = self.pacing.deadline
        self.deadline_at = None if deadline is None else self.clock() + deadline
        #: kind -> why no more requests of it go this run (Google asked to wait past the deadline)
        self.blocked: dict[str, OutOfTime] = {}
        # Google gives up on a request after 180 s; an answer not back in read_timeout is not coming.
        self.set_timeout((self.pacing.connect_timeout, self.pacing.read_timeout))

    def url(self, endpoint: str) -> str:
        """The endpoint, sent to the emulator when one is configured."""
        if self.api_base:
            for base in (SHEETS_BASE, DRIVE_BASE):
                if endpoint.startswith(base):
                    return self.api_base + endpoint[len(base):]
        return endpoint

    def request(
        self, method: str, endpoint: str, *args: Any, resend: Resend | None = None, **kwargs: Any
    ) -> requests.Response:
        """Send, paced and retried; ``resend`` rebuilds a write's body before a retry that may repeat it."""
        kind = _kind(method, endpoint)
        url = self.url(endpoint)
        if kwargs.get("params"):
            kwargs["params"] = query(kwargs["params"])
        tries = self.pacing.max_tries
        refused = False  # the last failure was a 429: nothing was done, the same body goes again
        for attempt in range(1, tries + 1):
            if attempt > 1 and resend is not None and not refused:
                kwargs["json"] = resend()
            self._pace(kind)
            self._in_time(kind)
            try:
                response = super().request(method, url, *args, **kwargs)
                self._mark(kind)
                self._count(kind)
                return response
            except APIError as exc:  # noqa: PERF203 - the retry loop is the point
                self._mark(kind)
                status = exc.response.status_code
                self._count(kind)
                if status not in RETRY_STATUSES or attempt == tries:
                    raise
                refused = status == 429
                asked = retry_after(exc.response.headers.get("Retry-After"), self.wall())
                delay = self._backoff(attempt, asked)
                said = f" และขอให้รอ {duration(asked)} (Retry-After)" if asked else ""
                reason = f"Google ตอบ {status} ({_status_text(exc)}){said} ลองใหม่ครั้งที่ {attempt + 1}/{tries}"
                if asked is not None and asked > self._left():
                    self.blocked[kind] = self._out_of_time(asked)
                    log.warning("%s %s: Google asked to wait %.0fs, past the run's deadline", method.upper(), url, asked)
                    raise self.blocked[kind] from exc
            except (requests.ConnectionError, requests.Timeout, auth_errors.TransportError) as exc:
                self._mark(kind)
                self._count(kind)
                sign_in = isinstance(exc, auth_errors.TransportError)
                if attempt == tries:
                    raise Unreachable(self._address(url, sign_in), exc, sign_in=sign_in) from exc
                refused = False
                delay = self._backoff(attempt, None)
                what = "บริการลงชื่อเข้าใช้ของ Google" if sign_in else "Google"
                reason = (f"ติดต่อ{what} ที่ {self._address(url, sign_in)} ไม่ได้ ({_silence(exc)}) "
                          f"ลองใหม่ครั้งที่ {attempt + 1}/{tries}")
            except auth_errors.RefreshError as exc:
                error, description = _grant_error(exc)
                if not getattr(exc, "retryable", False):
                    raise SignInFailed(error, description) from exc
                # the token endpoint's own 5xx, already retried by google-auth: Google's side, not the key
                raise Unreachable(self._address(url, True), exc, sign_in=True) from exc
            self.counts.retries += 1
            log.info("%s %s: retry in %.2fs (%s)", method.upper(), url, delay, reason)
            self._wait("retry", delay, reason)
        raise AssertionError("unreachable")  # pragma: no cover

    def _left(self) -> float:
        """Seconds until the run's deadline (infinite without one)."""
        return float("inf") if self.deadline_at is None else self.deadline_at - self.clock()

    def _out_of_time(self, asked: float | None) -> OutOfTime:
        after = asked if asked is not None else 0.0
        return OutOfTime(asked, self.pacing.deadline, datetime.fromtimestamp(self.wall() + after))

    def _in_time(self, kind: str) -> None:
        """Raise ``OutOfTime`` when no request of ``kind`` may go now."""
        blocked = self.blocked.get(kind)
        if blocked is not None:
            raise OutOfTime(blocked.asked, blocked.deadline, blocked.until)
        if self._left() <= 0:
            raise self._out_of_time(None)

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

    def _backoff(self, attempt: int, asked: float | None) -> float:
        """Exponential backoff with jitter, capped at ``max_backoff``; never sooner than Google asked."""
        cap = min(self.pacing.max_backoff, self.pacing.backoff_base * 2 ** (attempt - 1))
        delay = self.rng.uniform(cap / 2, cap)  # "equal jitter": never hammer in lockstep
        return max(delay, asked) if asked is not None else delay

    def _wait(self, kind: str, seconds: float, reason: str) -> None:
        if seconds > self._left():
            raise self._out_of_time(None)  # the deadline comes first: do not sleep past it
        if self.on_wait:
            self.on_wait(kind, seconds, reason)
        self.counts.waited += seconds
        self.sleep(seconds)

    def _address(self, url: str, sign_in: bool) -> str:
        """host:port of what was tried: the token endpoint when signing in, else the API."""
        return address(self.token_uri or "https://oauth2.googleapis.com/token") if sign_in else address(url)

    def _count(self, kind: str) -> None:
        """One request sent, whatever Google answered (or if it did not)."""
        counts = self.counts
        if kind == "read":
            counts.sheets_read += 1
        elif kind == "write":
            counts.sheets_write += 1
        else:
            counts.drive += 1


def query(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters as the APIs document them: booleans as ``true``/``false``, not Python's ``True``."""
    return {k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in params.items()}


def address(url: str) -> str:
    """``host:port`` of a URL (the port the scheme implies when none is written)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _kind(method: str, endpoint: str) -> str:
    if endpoint.startswith(SHEETS_BASE):
        return "read" if method.lower() == "get" else "write"
    return "drive"


def _silence(exc: Exception) -> str:
    """What kind of silence it was, in Thai."""
    if isinstance(exc, auth_errors.RefreshError):
        return "ตอบว่าขัดข้องชั่วคราว"
    inner = exc.__cause__ or (exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc)
    for candidate in (exc, inner):
        if isinstance(candidate, requests.ConnectTimeout):
            return "เชื่อมต่อไม่สำเร็จภายในเวลาที่กำหนด"
        if isinstance(candidate, requests.Timeout):
            return "ไม่ตอบภายในเวลาที่กำหนด"
    return "เชื่อมต่อไม่ได้"


def _grant_error(exc: auth_errors.RefreshError) -> tuple[str, str]:
    """(error, error_description) of the token endpoint's refusal."""
    for arg in exc.args:
        if isinstance(arg, Mapping) and "error" in arg:
            return str(arg.get("error", "")), str(arg.get("error_description", ""))
    text = str(exc.args[0]) if exc.args else str(exc)
    error, _, description = text.partition(":")
    return error.strip(), description.strip()


def _status_text(exc: APIError) -> str:
    try:
        return str(exc.response.json()["error"]["status"])
    except (ValueError, KeyError, TypeError):
        return exc.response.reason or "error"
