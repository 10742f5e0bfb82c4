"""Async client for Semarize's REST API (runs and Kit schemas), to the contract in ``semarize-api.md``.

Retries follow Semarize's own guidance: a rate-limited (429) or failed-in-transit create is retried with
the *same* Idempotency-Key and body, honouring ``Retry-After`` / ``retry_after_seconds``; 5xx and timeouts
back off; 400/401/403/404/409/422 are never retried. A sync create that times out server-side (202) is
polled to the end.
The API key is never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from orchestration.http import (
    Bounds,
    Random,
    ResponseTooLarge,
    Retries,
    Sleep,
    VendorClient,
    Waits,
    parse_retry_after,
    redirect_problem,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8765/semarize"
TERMINAL_RUN_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
RUN_STATUSES = frozenset({"queued", "running", *TERMINAL_RUN_STATUSES})
MAX_IDEMPOTENCY_KEY_LENGTH = 254
# Whole-request bound (connect + complete answer); a sync create waits for the run server-side, so it is long.
DEFAULT_REQUEST_DEADLINE_SECONDS = 300.0
# A run's output is a few KB of bricks; this caps what a hostile answer can make us buffer and store.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_RUN_ID_CHARS = 256


class SemarizeAPIError(Exception):
    """Semarize refused a request, or stayed unavailable through every retry.

    ``code`` is Semarize's flat error code (``kit_not_found``, ``rate_limited``, ...); ``status`` is None when
    no response arrived (transport failure after retries). ``retryable``: trying later may succeed.
    """

    def __init__(self, status: int | None, code: str, message: str, retryable: bool = False) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
        super().__init__(f"Semarize {code} ({status if status is not None else 'no response'}): {message}")


class SemarizeRunTimeout(Exception):
    """A run was not terminal by the deadline; poll ``get_run(run_id)`` later (it may still finish)."""

    def __init__(self, run_id: str, last_status: str | None, deadline_seconds: float) -> None:
        self.run_id = run_id
        self.last_status = last_status
        super().__init__(f"Semarize run {run_id} still {last_status!r} after {deadline_seconds:g} s")


def _invalid(status: int | None, message: str) -> SemarizeAPIError:
    """An answer that is not what the contract says: never retried (the same request gets the same answer)."""
    return SemarizeAPIError(status, "invalid_response", message, retryable=False)


def _decode_json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except RecursionError:
        raise _invalid(response.status_code, f"{what}: answer is JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a number past Python's digit limit
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise _invalid(response.status_code, f"{what}: answer is not JSON ({reason})") from None


def _checked_run(response: httpx.Response, what: str) -> dict[str, Any]:
    """A run object with a usable ``run_id`` and a documented ``status``, else ``invalid_response``."""
    run = _decode_json(response, what)
    if not isinstance(run, dict):
        raise _invalid(response.status_code, f"{what}: run is not a JSON object")
    run_id = run.get("run_id")
    if (
        not isinstance(run_id, str)
        or not run_id
        or len(run_id) > MAX_RUN_ID_CHARS
        or not run_id.isprintable()
    ):
        raise _invalid(response.status_code, f"{what}: run has no usable run_id")
    status = run.get("status")
    if status not in RUN_STATUSES:
        shown = status[:64] if isinstance(status, str) else type(status).__name__
        raise _invalid(response.status_code, f"{what}: run {run_id[:64]} has an unknown status {shown!r}")
    return run


def _retry_after(response: httpx.Response) -> float | None:
    """The header first (the documented signal), then the body's ``retry_after_seconds``."""
    header = parse_retry_after(response.headers.get("retry-after"))
    if header is not None:
        return header
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None
    seconds = body.get("retry_after_seconds") if isinstance(body, dict) else None
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return parse_retry_after(str(seconds))
    return None


def _error(response: httpx.Response) -> SemarizeAPIError:
    redirect = redirect_problem(response)
    if redirect is not None:
        return SemarizeAPIError(response.status_code, "redirect", redirect, retryable=False)
    try:
        body = response.json()
    except (ValueError, RecursionError):
        body = None
    code = f"http_{response.status_code}"
    message = response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            code = body["error"]
        for key in ("message", "detail", "error_message"):
            if isinstance(body.get(key), str):
                message = body[key][:500]
                break
        else:
            message = code
    retryable = response.status_code == 429 or response.status_code >= 500
    return SemarizeAPIError(response.status_code, code, message, retryable=retryable)


class SemarizeClient(VendorClient):
    """Async Semarize client. Use as ``async with SemarizeClient(...) as semarize:``."""

    vendor = "Semarize"

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str = "",
        *,
        request_timeout_seconds: float = 120.0,
        request_deadline_seconds: float = DEFAULT_REQUEST_DEADLINE_SECONDS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        retry: Retries = Retries(),
        poll: Waits = Waits(initial_seconds=0.5, factor=1.5, max_seconds=15.0),
        run_deadline_seconds: float = 900.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Random = random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            base_url,
            bounds=Bounds(request_timeout_seconds, request_deadline_seconds, max_response_bytes),
            retries=retry,
            headers={"Authorization": f"Bearer {api_key}"},
            transport=transport,
            sleep=sleep,
            rng=rng,
        )
        self._poll = poll
        self._run_deadline = run_deadline_seconds
        self._monotonic = monotonic

    async def __aenter__(self) -> SemarizeClient:
        return self

    def _no_answer(self, exc: httpx.TransportError, endpoint: str) -> Exception:
        return SemarizeAPIError(None, "transport_error", f"{endpoint}: {type(exc).__name__}", retryable=True)

    def _too_large(self, exc: ResponseTooLarge, endpoint: str) -> Exception:
        return _invalid(None, str(exc))

    def _redirected(self, response: httpx.Response, reason: str, endpoint: str) -> Exception:
        return _error(response)

    def _refused(self, response: httpx.Response, endpoint: str) -> Exception:
        return _error(response)

    @staticmethod
    def idempotency_key(conversation_id: str, kit_code: str, transcript_text: str) -> str:
        """Deterministic key for one (conversation, kit, transcript): a re-run re-sends the same key and body.

        A changed transcript gives a new key (a new run), never a 409 conflict.
        """
        digest = hashlib.sha256()
        for part in (conversation_id, kit_code, transcript_text):
            encoded = part.encode("utf-8")
            # Length-prefixed so that ("ab", "c") and ("a", "bc") cannot collide.
            digest.update(len(encoded).to_bytes(8, "big") + encoded)
        kit = re.sub(r"[^A-Za-z0-9_-]", "", kit_code)[:32] or "kit"
        return f"ci-{kit}-{digest.hexdigest()[:48]}"[:MAX_IDEMPOTENCY_KEY_LENGTH]

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self._send(
            method, path, params=params, json=json_body, headers=headers, retry_after=_retry_after
        )

    async def create_run(
        self,
        kit_code: str,
        input: Mapping[str, Any],
        *,
        idempotency_key: str,
        mode: str = "sync",
        kit_version_id: str | None = None,
        run_type: str = "api",
    ) -> dict[str, Any]:
        """Run a Kit on one conversation's ``input``; returns the run as Semarize returns it.

        ``mode="sync"`` returns the finished run: if Semarize answers 202 (its sync timeout passed), the run
        is polled until terminal. ``mode="async"`` returns the queued run at once.
        """
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise ValueError("idempotency_key is longer than 254 characters")
        body: dict[str, Any] = {"input": dict(input), "type": run_type, "mode": mode}
        if kit_version_id is not None:
            body["kit_version_id"] = kit_version_id
        else:
            body["kit_code"] = kit_code
        response = await self._request(
            "POST", "/v1/runs", json_body=body, headers={"Idempotency-Key": idempotency_key}
        )
        run = _checked_run(response, "POST /v1/runs")
        if mode != "sync" or response.status_code != 202 or run["status"] in TERMINAL_RUN_STATUSES:
            return run
        return await self.wait_for_run(
            run["run_id"], first_delay=parse_retry_after(response.headers.get("retry-after"))
        )

    async def wait_for_run(
        self,
        run_id: str,
        *,
        deadline_seconds: float | None = None,
        first_delay: float | None = None,
    ) -> dict[str, Any]:
        """Poll ``GET /v1/runs/{id}`` with backoff until terminal; a ``Retry-After`` sets the next pause."""
        deadline = self._run_deadline if deadline_seconds is None else deadline_seconds
        give_up_at = self._monotonic() + deadline
        delay = first_delay
        attempt = 0
        status: str | None = None
        while True:
            remaining = give_up_at - self._monotonic()
            if remaining <= 0:
                raise SemarizeRunTimeout(run_id, status, deadline)
            await self._sleep(
                min(delay if delay is not None else self._poll.delay(attempt, self._rng), remaining)
            )
            attempt += 1
            response = await self._request("GET", f"/v1/runs/{quote(run_id, safe='')}")
            run = _checked_run(response, "GET /v1/runs/{run_id}")
            status = run["status"]
            if status in TERMINAL_RUN_STATUSES:
                return run
            delay = parse_retry_after(response.headers.get("retry-after"))

    async def get_run(self, run_id: str) -> dict[str, Any]:
        response = await self._request("GET", f"/v1/runs/{quote(run_id, safe='')}")
        return _checked_run(response, "GET /v1/runs/{run_id}")

    async def list_runs(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """Newest runs first. The list shape is not published: a bare array or ``{"runs"|"data": [...]}``."""
        body = _decode_json(
            await self._request("GET", "/v1/runs", params={"limit": str(limit)}), "GET /v1/runs"
        )
        if isinstance(body, list):
            return body
        if isinstance(body, dict):
            for key in ("runs", "data", "items"):
                if isinstance(body.get(key), list):
                    return body[key]
        return []

    async def kit_schema(self, kit_code: str) -> dict[str, Any]:
        """The Kit's brick keys and enabled output fields (parameters are open: we send ``kit_code``)."""
        response = await self._request("GET", "/v1/kits/schema", params={"kit_code": kit_code})
        return _decode_json(response, "GET /v1/kits/schema")
