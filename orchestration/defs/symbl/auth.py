"""Symbl's access token as an ``httpx.Auth`` flow: one token per account per process, refreshed ahead of expiry,
and a request answered 401 replayed once with a new token.

The cache is process-wide, keyed by (token URL, app id, a digest of the secret): every client of a run (the
code location runs assets in one process) shares one token instead of generating one per asset. The secret's
digest is in the key so that a client with a wrong or rotated secret never rides on a token another secret
obtained. Generation is single-flight per event loop (each Dagster step runs its own loop; the state itself is
guarded by a thread lock, so loops in other threads only ever see a whole token).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator

import httpx
import jwt

# (token, lifetime in seconds as the answer states it; math.inf when it does not)
Generate = Callable[[], Awaitable[tuple[str, float]]]


class _SharedToken:
    """One account's current token and when to replace it."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.refresh_at = 0.0
        self.state = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def current(self, now: float) -> str | None:
        with self.state:
            return self.token if self.token is not None and now < self.refresh_at else None

    def generation_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self.state:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock


_TOKENS: dict[tuple[str, str, str], _SharedToken] = {}
_REGISTRY = threading.Lock()


def shared_token(token_url: str, app_id: str, app_secret: str) -> _SharedToken:
    key = (token_url, app_id, hashlib.sha256(app_secret.encode()).hexdigest())
    with _REGISTRY:
        return _TOKENS.setdefault(key, _SharedToken())


def forget_tokens() -> None:
    """Drop every cached token (a test that starts a fresh "run"; credentials rotated in a long process)."""
    with _REGISTRY:
        _TOKENS.clear()


def jwt_seconds_left(token: str, now: float) -> float:
    """Seconds until the JWT's ``exp`` (read without verification: only to schedule a refresh); inf if none."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return math.inf
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return max(0.0, float(exp) - now)
    return math.inf


class SymblTokenAuth(httpx.Auth):
    """Bearer auth from the shared token; a 401 drops the token and the request is replayed once."""

    requires_request_body = True  # a replayed upload must still have its body

    def __init__(
        self,
        shared: _SharedToken,
        generate: Generate,
        *,
        clock: Callable[[], float],
        refresh_margin_seconds: float,
    ) -> None:
        self._shared = shared
        self._generate = generate
        self._clock = clock
        self._refresh_margin = refresh_margin_seconds

    async def token(self) -> str:
        token = self._shared.current(self._clock())
        if token is not None:
            return token
        async with self._shared.generation_lock():
            # Another caller may have refreshed while we waited for the lock.
            token = self._shared.current(self._clock())
            if token is not None:
                return token
            token, lifetime = await self._generate()
            now = self._clock()
            lifetime = min(lifetime, jwt_seconds_left(token, now))
            # Refresh a tenth of the lifetime early, at most the margin (5 min): long tokens are renewed well
            # before expiry, short ones (tests, tight sandboxes) still get used.
            with self._shared.state:
                self._shared.refresh_at = now + max(0.0, lifetime - min(self._refresh_margin, lifetime / 10))
                self._shared.token = token
            return token

    def invalidate(self, token: str) -> None:
        """Drop ``token`` after a 401, unless a concurrent caller already replaced it (then nothing to do)."""
        with self._shared.state:
            if self._shared.token == token:
                self._shared.token = None

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # The token is taken per attempt: a retry after a long backoff must not reuse an expired token.
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        self.invalidate(token)
        # A new request object, so that what was sent first stays as it was sent (logs, test transports).
        replay = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.content,
            extensions=dict(request.extensions),
        )
        replay.headers["Authorization"] = f"Bearer {await self.token()}"
        yield replay

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("SymblTokenAuth is for httpx.AsyncClient only")
