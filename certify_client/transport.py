"""Retries with exponential backoff, and the polling schedule of `wait`.

A request is retried when the server says it is briefly unable to answer
(502, 503, 504) or cannot be reached at all. `Retry-After` (in seconds), when
the server sends it, replaces the computed delay, within `max_delay_s`.
Callers make every retried request safe to repeat: GET and DELETE are, and a
submission carries one Idempotency-Key across all its attempts.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

import httpx

from certify_client.errors import ServiceUnreachable, WaitTimeout

RETRY_STATUSES = frozenset({502, 503, 504})
# (attempt that failed, starting at 1; the request; the answer or the transport error)
RetryHook = Callable[[int, httpx.Request, "httpx.Response | httpx.TransportError"], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried."""

    attempts: int = 5
    """Tries in all, the first included (1: never retry)."""
    first_delay_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first_delay_s < 0 or self.factor < 1 or self.max_delay_s < 0:
            raise ValueError("Expected attempts >= 1, delays >= 0 and factor >= 1.")

    def delays(self) -> Iterator[float]:
        """The pause before each retry (attempts - 1 of them)."""
        delay = self.first_delay_s
        for _ in range(self.attempts - 1):
            yield min(delay, self.max_delay_s)
            delay *= self.factor


@dataclass(frozen=True)
class PollPolicy:
    """How `wait` polls a job: start quickly, slow down to `max_interval_s`."""

    first_interval_s: float = 0.25
    factor: float = 1.5
    max_interval_s: float = 2.0

    def intervals(self) -> Iterator[float]:
        interval = self.first_interval_s
        while True:
            yield min(interval, self.max_interval_s)
            interval *= self.factor


def retry_after_s(response: httpx.Response) -> float | None:
    """The server's `Retry-After` in seconds (HTTP dates are not used by this API)."""
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def send_with_retries(
    http: httpx.Client, request: httpx.Request, policy: RetryPolicy, on_retry: RetryHook | None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Send `request`, retrying as `policy` says; the last answer is returned whatever it is."""
    delays = policy.delays()
    attempt = 0
    while True:
        attempt += 1
        try:
            response = http.send(request)
        except httpx.TransportError as exc:
            failure: httpx.Response | httpx.TransportError = exc
            delay = next(delays, None)
            if delay is None:
                raise ServiceUnreachable(f"Cannot reach the API at {request.url}: {exc}") from exc
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            failure, delay = response, next(delays, None)
            if delay is None:
                return response
            hinted = retry_after_s(response)
            delay = delay if hinted is None else min(hinted, policy.max_delay_s)
            response.close()
        if on_retry is not None:
            on_retry(attempt, request, failure)
        sleep(delay)


class EndingView(Protocol):
    """A job's or a batch's view: polled until it has ended."""

    @property
    def ended(self) -> bool: ...

    @property
    def status(self) -> str: ...


V = TypeVar("V", bound=EndingView)


def poll_until_ended(poll: PollPolicy, read: Callable[[], V], target_id: str,
                     timeout_s: float | None, on_progress: Callable[[V], None] | None) -> V:
    """Read on `poll`'s schedule until the view has ended; `WaitTimeout` when time runs out.

    `on_progress(view)` sees every answer, the last one included.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    for interval in poll.intervals():
        view = read()
        if on_progress is not None:
            on_progress(view)
        if view.ended:
            return view
        if deadline is not None and time.monotonic() + interval > deadline:
            raise WaitTimeout(target_id, timeout_s or 0.0, view.status)
        time.sleep(interval)
    raise AssertionError("unreachable: the polling schedule never ends")
