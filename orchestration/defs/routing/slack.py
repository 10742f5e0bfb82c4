"""Slack incoming webhooks: an async client that posts one message, and the Dagster resource that configures it.

An incoming-webhook URL *is* the credential (whoever has it can post to the channel), so the URL never appears in
a log line, an exception message or metadata: errors name Slack's answer code only, and the ``httpx`` logger's
request lines get the URL replaced by a redacted form (its INFO lines would otherwise print it in full).
429 and 5xx answers and transport failures are retried with backoff, honouring ``Retry-After`` (Slack sends it
with its 1-message-per-second rate limit).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import Field

from orchestration.http import Bounds, ResponseTooLarge, Retries, Sleep, VendorClient, Waits
from orchestration.settings import SANDBOX_SLACK_WEBHOOK_URL, SettingsResource, SlackSettings

REDACTED = "[redacted]"
# Whole-request bound and answer cap: Slack answers a two-letter "ok" (or a short error code).
DEFAULT_REQUEST_DEADLINE_SECONDS = 20.0
MAX_RESPONSE_BYTES = 64 * 1024


class SlackWebhookError(Exception):
    """Slack refused the message, or stayed unavailable through every retry.

    ``status`` is the HTTP status, or None when no answer came at all; ``code`` is Slack's plain-text error
    (``invalid_payload``, ``no_service``, ``channel_is_archived`` ...) or the transport failure's class name.
    """

    def __init__(self, status: int | None, code: str) -> None:
        self.status = status
        self.code = code
        super().__init__(f"Slack webhook failed ({status if status is not None else 'no response'}): {code}")

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


class _RedactSecretUrls(logging.Filter):
    """Replaces registered secret URLs in log records' arguments (httpx logs ``request.url`` as an argument)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets and isinstance(record.args, tuple):
            record.args = tuple(self._redact(a) for a in record.args)
        if self.secrets and isinstance(record.msg, str):
            record.msg = self._redact(record.msg)
        return True

    def _redact(self, value: Any) -> Any:
        text = str(value) if isinstance(value, httpx.URL | str) else None
        if text is None:
            return value
        for secret in self.secrets:
            text = text.replace(secret, _redacted_url(secret))
        return text


_redactor = _RedactSecretUrls()
logging.getLogger("httpx").addFilter(_redactor)


def _redacted_url(url: str) -> str:
    """Scheme and host only: enough to tell which service a log line is about."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/{REDACTED}"


class SlackWebhookClient(VendorClient):
    """Posts messages to one incoming webhook. Use as ``async with SlackWebhookClient(url) as slack:``."""

    vendor = "Slack"
    url_is_secret = True

    def __init__(
        self,
        webhook_url: str,
        *,
        request_timeout_seconds: float = 10.0,
        request_deadline_seconds: float = DEFAULT_REQUEST_DEADLINE_SECONDS,
        retry: Retries = Retries(max_retries=3),
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not webhook_url.startswith(("http://", "https://")):
            # Deliberately not echoing the value: it is a secret even when it is malformed.
            raise ValueError("the Slack webhook URL must be an http(s) URL")
        # No base URL: the webhook URL is the whole address (and the credential).
        super().__init__(
            "",
            bounds=Bounds(request_timeout_seconds, request_deadline_seconds, MAX_RESPONSE_BYTES),
            retries=retry,
            transport=transport,
            sleep=sleep,
        )
        self._url = webhook_url
        _redactor.secrets.add(webhook_url)

    def __repr__(self) -> str:
        return f"SlackWebhookClient({_redacted_url(self._url)!r})"

    async def __aenter__(self) -> SlackWebhookClient:
        return self

    # Errors name Slack's answer only: a transport error's text or a Location may quote the secret URL.
    def _no_answer(self, exc: httpx.TransportError, endpoint: str) -> Exception:
        return SlackWebhookError(None, type(exc).__name__)

    def _too_large(self, exc: ResponseTooLarge, endpoint: str) -> Exception:
        return SlackWebhookError(200, "answer_too_large")

    def _redirected(self, response: httpx.Response, reason: str, endpoint: str) -> Exception:
        return SlackWebhookError(response.status_code, "redirect")

    def _refused(self, response: httpx.Response, endpoint: str) -> Exception:
        return SlackWebhookError(response.status_code, _error_code(response))

    async def post(self, message: Mapping[str, Any]) -> None:
        """Post one message (``text`` and/or ``blocks``); returns once Slack answered ``ok``."""
        response = await self._send("POST", self._url, endpoint="POST webhook", json=dict(message))
        if response.status_code != 200:
            raise SlackWebhookError(response.status_code, _error_code(response))


def _error_code(response: httpx.Response) -> str:
    """Slack's plain-text error code (short by contract; cut anyway so an HTML error page stays readable)."""
    text = response.text.strip()
    return (text[:200] or response.reason_phrase or "error").replace("\n", " ")


class SlackResource(SettingsResource):
    """A Slack incoming webhook. The URL is a secret; not given, it comes from SLACK_WEBHOOK_URL (else the
    sandbox's stand-in)."""

    settings_section = SlackSettings

    webhook_url: str = Field(
        default=SANDBOX_SLACK_WEBHOOK_URL,
        description="Incoming-webhook URL (a secret; env SLACK_WEBHOOK_URL).",
    )
    request_timeout_seconds: float = Field(default=10.0, description="Per-request timeout.")
    max_retries: int = Field(default=3, description="Retries of a 429/5xx/transport failure per message.")
    backoff_initial_seconds: float = Field(
        default=1.0, description="First retry delay ceiling (no Retry-After)."
    )

    def client(self) -> SlackWebhookClient:
        """A new client; use it as ``async with resource.client() as slack:`` inside one event loop."""
        return SlackWebhookClient(
            self.webhook_url,
            request_timeout_seconds=self.request_timeout_seconds,
            retry=Retries(
                max_retries=self.max_retries,
                waits=Waits(initial_seconds=self.backoff_initial_seconds, max_seconds=30.0),
            ),
        )
