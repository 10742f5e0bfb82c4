"""Retry and backoff shared by the vendor clients.

Both vendors limit concurrency or rate and fail transiently, and both get the same discipline: exponential
backoff with *full jitter* (a uniform draw between 0 and the exponential ceiling, so that callers that failed
together do not retry together), a server-supplied ``Retry-After`` honoured when present, and a bounded number
of attempts so that a persistent outage surfaces as an error instead of a hang. Sleep and randomness are
injectable for tests.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

Sleep = Callable[[float], Awaitable[None]]
Random = Callable[[], float]

# A server asking for a longer pause than this is treated as asking for this long: a bad header must not park
# a run for hours.
MAX_RETRY_AFTER_SECONDS = 300.0


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(max, initial * factor**n))."""

    initial_seconds: float = 0.5
    factor: float = 2.0
    max_seconds: float = 30.0

    def ceiling(self, attempt: int) -> float:
        # Exponent capped so that a long poll loop cannot overflow a float.
        return min(self.max_seconds, self.initial_seconds * self.factor ** min(attempt, 64))

    def delay(self, attempt: int, rng: Random = random.random) -> float:
        return rng() * self.ceiling(attempt)


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures (429, 5xx, transport errors, timeouts) are retried at most ``max_retries`` times."""

    max_retries: int = 5
    backoff: Backoff = Backoff()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait per a ``Retry-After`` header (seconds or HTTP date); None if absent or invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500


RetryAfterReader = Callable[[httpx.Response], float | None]


def retry_after_header(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    rng: Random = random.random,
    retry_after: RetryAfterReader = retry_after_header,
) -> httpx.Response:
    """Call ``send`` until it answers with a non-transient status or the retries run out.

    Returns the last response (possibly a 429/5xx once retries are exhausted: the caller turns it into its own
    error type). Re-raises the last ``httpx.TransportError`` (timeouts included) when every attempt failed in
    transport. ``send`` is called again unchanged on each attempt, so idempotency headers stay identical.
    """
    attempt = 0
    while True:
        try:
            response = await send()
        except httpx.TransportError:
            if attempt >= policy.max_retries:
                raise
            await sleep(policy.backoff.delay(attempt, rng))
            attempt += 1
            continue
        if not is_transient_status(response.status_code) or attempt >= policy.max_retries:
            return response
        requested = retry_after(response)
        # The server knows when capacity returns better than our backoff does: honour its pause exactly.
        delay = requested if requested is not None else policy.backoff.delay(attempt, rng)
        await response.aclose()
        await sleep(delay)
        attempt += 1


class DeadlineExceeded(httpx.TimeoutException):
    """The whole request (connect, send, every byte of the answer) took longer than its overall deadline.

    A subclass of httpx's timeout so that the retry loop treats it like any other timeout: a slow network may
    recover, and each attempt is bounded, so the total is bounded by (retries + 1) x deadline + backoff.
    """


class ResponseTooLarge(Exception):
    """The answer's body grew past the cap; reading stopped there (nothing over the cap is buffered)."""

    def __init__(self, limit: int, endpoint: str) -> None:
        self.limit = limit
        super().__init__(f"{endpoint}: answer is larger than {limit} bytes")


async def send_bounded(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    deadline_seconds: float,
    max_bytes: int,
    **kwargs: Any,
) -> httpx.Response:
    """One request whose *whole* life (connect + upload + the complete body) is bounded by ``deadline_seconds``.

    httpx's own timeouts bound each read, so a server trickling one byte per second keeps a request alive
    indefinitely; ``asyncio.timeout`` around the streamed read bounds the total. The body is read in chunks
    and abandoned once it passes ``max_bytes`` (decoded size, so a compressed bomb is caught too). Returns a
    fully read response: ``.json()`` / ``.text`` work as usual.
    """
    request = client.build_request(method, url, **kwargs)
    try:
        async with asyncio.timeout(deadline_seconds):
            response = await client.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise ResponseTooLarge(max_bytes, f"{method} {request.url.path}")
                    chunks.append(chunk)
            finally:
                await response.aclose()
    except TimeoutError:
        raise DeadlineExceeded(
            f"no complete answer within the {deadline_seconds:g} s deadline", request=request
        ) from None
    # A fresh, already-read response. Content-Encoding/Length are dropped because the body is decoded now.
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks),
        request=request,
        extensions={k: v for k, v in response.extensions.items() if k != "network_stream"},
    )


def redirect_problem(response: httpx.Response) -> str | None:
    """None unless ``response`` is a redirect; then a reason naming where it points (never followed).

    None of the vendor contracts uses redirects, so a 3xx is a misconfigured base URL or a hijacked answer: an
    error, never a success, and the Location is not followed (it could point anywhere, including inside our
    network).
    """
    if not 300 <= response.status_code < 400:
        return None
    location = response.headers.get("location", "")
    target = (urlsplit(location).netloc or "the same host") if location else "nowhere"
    return f"answered a redirect (HTTP {response.status_code}) to {target}; the contract has no redirects"


def timeout(request_timeout_seconds: float) -> httpx.Timeout:
    """Explicit timeouts: connecting should be quick; reading may take the whole budget (large uploads)."""
    return httpx.Timeout(request_timeout_seconds, connect=min(10.0, request_timeout_seconds))
