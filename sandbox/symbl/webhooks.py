"""Job-status webhooks: at-least-once, in order per job, retried with exponential backoff.

Payload ``{"jobId", "id", "status", "conversationId"}`` (both id keys: the docs and a Symbl blog disagree on
the name). A delivery may be repeated on purpose (``fault_duplicate_webhook_rate``), as real at-least-once
delivery can. Deliveries in flight are not persisted: after a restart, the resumed job's next status change is
delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx

from sandbox.middleware import RuntimeSettings

log = logging.getLogger(__name__)


class WebhookSender:
    def __init__(
        self, settings: RuntimeSettings, max_attempts: int, retry_base_seconds: float, timeout_seconds: float
    ) -> None:
        self._settings = settings
        self._max_attempts = max(1, max_attempts)
        self._retry_base = retry_base_seconds
        self._timeout = timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self._tails: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)

    async def aclose(self) -> None:
        for task in list(self._tails.values()):
            task.cancel()
        for task in list(self._tails.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tails.clear()
        if self._client is not None:
            await self._client.aclose()

    def notify(self, url: str | None, job_id: str, conversation_id: str, status: str) -> None:
        """Queue one delivery behind the job's previous ones, so a receiver sees statuses in order."""
        if not url:
            return
        payload = {"jobId": job_id, "id": job_id, "status": status, "conversationId": conversation_id}
        previous = self._tails.get(job_id)
        task = asyncio.create_task(self._deliver_after(previous, url, payload))
        self._tails[job_id] = task
        task.add_done_callback(lambda t: self._forget(job_id, t))

    def _forget(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(job_id) is task:
            del self._tails[job_id]

    async def _deliver_after(
        self, previous: asyncio.Task[None] | None, url: str, payload: dict[str, Any]
    ) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        delivered = await self._deliver(url, payload)
        if delivered and self._settings.chance(self._settings.fault_duplicate_webhook_rate):
            await self._deliver(url, payload)

    async def _deliver(self, url: str, payload: dict[str, Any]) -> bool:
        assert self._client is not None, "WebhookSender.start() was not called"
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = await self._client.post(url, json=payload)
                if response.is_success:
                    return True
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            if attempt < self._max_attempts:
                await asyncio.sleep(self._retry_base * 2 ** (attempt - 1))
        # The URL may carry a secret in its query string: log the job, not the URL.
        log.warning(
            "webhook for job %s not delivered after %d attempts (%s)", payload["jobId"], attempt, problem
        )
        return False
