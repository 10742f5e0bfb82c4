"""The HTTP layer every vendor client stands on: one base client, bounded requests, retries by tenacity.

``VendorClient`` holds what Symbl, Semarize, the CRM, Slack and Nebula share: a base URL, an ``httpx.Auth``
(or static headers), explicit timeouts, no redirects, a whole-request deadline and an answer size cap
(``send_bounded``), and retries of transient failures. Each vendor maps the three ways a request goes wrong
(no answer, an answer over the cap, a redirect) and its refusals to its own error type.

Retries are tenacity's (``tenacity.AsyncRetrying``): it is the retry library the Python ecosystem settled on
(stamina is built on it), it takes an injectable ``sleep`` (tests run on a fake clock), a custom wait (the
server's ``Retry-After`` first, else full-jitter exponential backoff so that callers that failed together do
not retry together) and a result predicate (a 429/5xx *answer* is retried, not only an exception). httpx-retries
was not taken: as a transport it retries below ``send_bounded``, so it cannot see a whole-request deadline, a
body over the cap, or a retry hint in the body (Semarize's ``retry_after_seconds``).
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import tenacity

Sleep = Callable[[float], Awaitable[None]]
Random = Callable[[], float]
RetryAfterReader = Callable[[httpx.Response], float | None]

# A server asking for a longer pause than this is treated as asking for this long: a bad header must not park
# a run for hours.
MAX_RETRY_AFTER_SECONDS = 300.0


@dataclass(frozen=True)
class Waits:
    """Exponential waits with full jitter: wait n is uniform(0, min(max, initial * factor**n))."""

    initial_seconds: float = 0.5
    factor: float = 2.0
    max_seconds: float = 30.0

    def ceiling(self, attempt: int) -> float:
        # Exponent capped so that a long poll loop cannot overflow a float.
        return min(self.max_seconds, self.initial_seconds * self.factor ** min(attempt, 64))

    def delay(self, attempt: int, rng: Random = random.random) -> float:
        return rng() * self.ceiling(attempt)


@dataclass(frozen=True)
class Retries:
    """Transient failures (429, 5xx, transport errors, timeouts) are retried at most ``max_retries`` times."""

    max_retries: int = 5
    waits: Waits = Waits()


NO_RETRIES = Retries(max_retries=0)


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


def retry_after_header(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))


class _ServerPaceOrJitter(tenacity.wait.wait_base):
    """The server's requested pause when the answer names one (it knows when capacity returns), else backoff."""

    def __init__(self, waits: Waits, rng: Random, retry_after: RetryAfterReader) -> None:
        self._waits = waits
        self._rng = rng
        self._retry_after = retry_after

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            requested = self._retry_after(outcome.result())
            if requested is not None:
                return requested
        return self._waits.delay(retry_state.attempt_number - 1, self._rng)


def _transient_answer(response: Any) -> bool:
    return isinstance(response, httpx.Response) and is_transient_status(response.status_code)


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    retries: Retries,
    sleep: Sleep = asyncio.sleep,
    rng: Random = random.random,
    retry_after: RetryAfterReader = retry_after_header,
) -> httpx.Response:
    """Call ``send`` until it answers with a non-transient status or the retries run out.

    Returns the last response (possibly a 429/5xx once retries are exhausted: the caller turns it into its own
    error type). Re-raises the last ``httpx.TransportError`` (timeouts included) when every attempt failed in
    transport. ``send`` is called again unchanged on each attempt, so idempotency headers stay identical.
    """
    retrying = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(retries.max_retries + 1),
        wait=_ServerPaceOrJitter(retries.waits, rng, retry_after),
        retry=tenacity.retry_if_exception_type(httpx.TransportError)
        | tenacity.retry_if_result(_transient_answer),
        sleep=sleep,
        # Out of attempts: the last answer (or the last transport error) goes back to the caller as it was.
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        reraise=True,
    )

    async def attempt() -> httpx.Response:  # a coroutine function: tenacity awaits only those
        return await send()

    return await retrying(attempt)


class DeadlineExceeded(httpx.TimeoutException):
    """The whole request (connect, send, every byte of the answer) took longer than its overall deadline.

    A subclass of httpx's timeout so that the retries treat it like any other timeout: a slow network may
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
    auth: Any = httpx.USE_CLIENT_DEFAULT,  # None for an unauthenticated request (Symbl's token call)
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
            response = await client.send(request, stream=True, auth=auth)
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
        request=response.request,
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


@dataclass(frozen=True)
class Bounds:
    """How long one request may take and how much of its answer is read."""

    timeout_seconds: float  # per read/write (httpx's timeouts); connecting gets at most 10 s
    deadline_seconds: float  # the whole request: connect + upload + the complete answer
    max_bytes: int  # the largest answer read (and stored)


class VendorClient:
    """The skeleton every vendor client shares. Use as ``async with Client(...) as client:``.

    Subclasses name their vendor and map failures to their own errors by overriding ``_no_answer``,
    ``_too_large``, ``_redirected`` and ``_refused``; ``_send`` returns only 2xx answers (or statuses in
    ``allow``). Credentials are the subclass's business (an ``httpx.Auth`` or a header) and never in ``repr``.
    """

    vendor: ClassVar[str] = "vendor"
    # True where the URL is the credential (Slack): a transport error's text may quote it, so it is not chained.
    url_is_secret: ClassVar[bool] = False

    def __init__(
        self,
        base_url: str,
        *,
        bounds: Bounds,
        retries: Retries,
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Random = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._bounds = bounds
        self._retries = retries
        self._sleep = sleep
        self._rng = rng
        # follow_redirects stays off (httpx's default, stated here because it matters): no contract has one.
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            headers=headers,
            timeout=timeout(bounds.timeout_seconds),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:  # never show credentials
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(
        self,
        method: str,
        url: str,
        *,
        endpoint: str | None = None,
        allow: frozenset[int] | set[int] = frozenset(),
        retry_after: RetryAfterReader = retry_after_header,
        **kwargs: Any,
    ) -> httpx.Response:
        """One logical request: bounded attempts, transient failures retried, failures mapped."""
        endpoint = endpoint or f"{method} {url}"
        try:
            response = await send_with_retries(
                lambda: send_bounded(
                    self._http,
                    method,
                    url,
                    deadline_seconds=self._bounds.deadline_seconds,
                    max_bytes=self._bounds.max_bytes,
                    **kwargs,
                ),
                retries=self._retries,
                sleep=self._sleep,
                rng=self._rng,
                retry_after=retry_after,
            )
        except httpx.TransportError as exc:
            error = self._no_answer(exc, endpoint)
            if error is exc:
                raise
            raise error from (None if self.url_is_secret else exc)
        except ResponseTooLarge as exc:
            raise self._too_large(exc, endpoint) from None
        redirect = redirect_problem(response)
        if redirect is not None:
            # Not a success whatever the status family suggests; the Location is never followed.
            raise self._redirected(response, redirect, endpoint)
        if not response.is_success and response.status_code not in allow:
            raise self._refused(response, endpoint)
        return response

    # --- failure mapping (override per vendor) ------------------------------------------------------------

    def _no_answer(self, exc: httpx.TransportError, endpoint: str) -> Exception:
        return exc

    def _too_large(self, exc: ResponseTooLarge, endpoint: str) -> Exception:
        return exc

    def _redirected(self, response: httpx.Response, reason: str, endpoint: str) -> Exception:
        return RuntimeError(f"{self.vendor} {endpoint} {reason}")

    def _refused(self, response: httpx.Response, endpoint: str) -> Exception:
        return RuntimeError(
            f"{self.vendor} {endpoint} failed ({response.status_code}): {response.text[:300]}"
        )
