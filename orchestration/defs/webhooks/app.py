"""The webhook receiver: a small Starlette app that authenticates, validates and durably inboxes events.

Routes:
    POST /symbl/callback/{token}          Symbl job-status callbacks. Symbl signs nothing, so the URL carries an
                                          unguessable per-deployment token (compared in constant time); a wrong
                                          token gets the same 404 as an unknown path.
    POST /platform/recording-completed    recording-platform events, HMAC-signed (see signing.py), replay-checked.
    GET  /health

An accepted event is on disk (fsync'ed, see inbox.py) before the 202 goes out; a rejected request leaves nothing in
the inbox. Bodies are read as a stream and refused with 413 as soon as they pass the limit, never fully buffered.

The token is part of the callback URL, so uvicorn's access log (which prints paths) is switched off in ``serve``
and this module logs events without their path.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from orchestration.defs.webhooks import inbox, signing
from orchestration.defs.webhooks.events import (
    EventError,
    decode_json_object,
    parse_platform_event,
    parse_symbl_callback,
)
from orchestration.defs.webhooks.replay import ReplayCache

log = logging.getLogger(__name__)

DEFAULT_INBOX_DIR = "var/inbox"
DEFAULT_MAX_BODY_BYTES = 256 * 1024
MIN_SECRET_CHARS = 16  # shorter shared secrets or URL tokens can be guessed


@dataclass(frozen=True)
class WebhookSettings:
    inbox_dir: Path
    # Empty disables the route: the platform route answers 503, the callback route 404.
    webhook_secret: str = field(default="", repr=False)
    symbl_callback_token: str = field(default="", repr=False)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    replay_window_seconds: float = signing.DEFAULT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        for name in ("webhook_secret", "symbl_callback_token"):
            value = getattr(self, name)
            if value and len(value) < MIN_SECRET_CHARS:
                raise ValueError(
                    f"{name} must be at least {MIN_SECRET_CHARS} characters (or empty to disable)"
                )
        if self.max_body_bytes <= 0 or self.replay_window_seconds <= 0:
            raise ValueError("max_body_bytes and replay_window_seconds must be positive")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> WebhookSettings:
        env = os.environ if environ is None else environ
        return cls(
            inbox_dir=Path(env.get("CONVO_INTEL_INBOX_DIR") or DEFAULT_INBOX_DIR),
            webhook_secret=env.get("CONVO_INTEL_WEBHOOK_SECRET", ""),
            symbl_callback_token=env.get("CONVO_INTEL_SYMBL_CALLBACK_TOKEN", ""),
            max_body_bytes=int(env.get("CONVO_INTEL_WEBHOOK_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
            replay_window_seconds=float(
                env.get("CONVO_INTEL_WEBHOOK_REPLAY_WINDOW_SECONDS") or signing.DEFAULT_WINDOW_SECONDS
            ),
        )


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes ``limit`` bytes (a declared length is checked first)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def _too_large(limit: int) -> JSONResponse:
    # Connection: close, because the rest of an oversized body is deliberately left unread.
    response = _error(413, f"body is over {limit} bytes")
    response.headers["Connection"] = "close"
    return response


def _accepted(path: Path) -> JSONResponse:
    return JSONResponse({"status": "accepted", "event": path.name}, status_code=202)


def build_webhook_app(settings: WebhookSettings) -> Starlette:
    inbox_dir = settings.inbox_dir
    replay = ReplayCache(inbox_dir, settings.replay_window_seconds)
    token = settings.symbl_callback_token.encode("utf-8")

    async def symbl_callback(request: Request) -> Response:
        presented = str(request.path_params["token"]).encode("utf-8")
        if not token or not hmac.compare_digest(presented, token):
            return PlainTextResponse("Not Found", status_code=404)  # exactly Starlette's unknown-route answer
        try:
            body = await read_body(request, settings.max_body_bytes)
            payload = parse_symbl_callback(decode_json_object(body))
        except BodyTooLarge:
            return _too_large(settings.max_body_bytes)
        except ClientDisconnect:
            return _error(400, "the client disconnected before the body was complete")
        except EventError as exc:
            log.warning("symbl callback rejected: %s", exc.reason)
            return _error(400, exc.reason)
        path = await run_in_threadpool(inbox.write_event, inbox_dir, inbox.SYMBL_CALLBACK, payload)
        log.info("symbl callback for job %s (%s) -> %s", payload["job_id"], payload["status"], path.name)
        return _accepted(path)

    async def platform_recording_completed(request: Request) -> Response:
        if not settings.webhook_secret:
            return _error(503, "platform webhooks are not configured on this receiver")
        try:
            # Header checks first: an unsigned or stale request is refused without reading its body.
            stamp = signing.parse_timestamp(
                request.headers.get(signing.TIMESTAMP_HEADER), time.time(), settings.replay_window_seconds
            )
            candidates = signing.signatures_from(request.headers.get(signing.SIGNATURE_HEADER))
            body = await read_body(request, settings.max_body_bytes)
            signature = signing.verify(settings.webhook_secret, stamp, candidates, body)
        except signing.SignatureError as exc:
            log.warning("platform event rejected: %s", exc.reason)
            return _error(401, exc.reason)
        except BodyTooLarge:
            log.warning("platform event rejected: body over %d bytes", settings.max_body_bytes)
            return _too_large(settings.max_body_bytes)
        except ClientDisconnect:
            return _error(400, "the client disconnected before the body was complete")
        try:
            payload = parse_platform_event(decode_json_object(body))
        except EventError as exc:
            log.warning("platform event rejected: %s", exc.reason)
            return _error(400, exc.reason)
        name = inbox.new_event_name()
        if not await run_in_threadpool(replay.claim, signature, name):
            log.warning("platform event rejected: replayed signature")
            return _error(409, "replayed request: this signature was already used")
        try:
            path = await run_in_threadpool(
                inbox.write_event, inbox_dir, inbox.PLATFORM_RECORDING, payload, name=name
            )
        except BaseException:
            replay.release(signature)  # not accepted, so the sender's retry must not count as a replay
            raise
        log.info("platform event for recording %s -> %s", payload["recording"]["recording_id"], path.name)
        return _accepted(path)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for folder in (inbox.PENDING, inbox.DONE, inbox.JOBS):
            (inbox_dir / folder).mkdir(parents=True, exist_ok=True)
        swept = inbox.remove_stale_temp_files(inbox_dir)
        if swept:
            log.info("removed %d temp file(s) left by an interrupted write", swept)
        yield

    return Starlette(
        routes=[
            Route("/symbl/callback/{token}", symbl_callback, methods=["POST"]),
            Route("/platform/recording-completed", platform_recording_completed, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def serve(host: str = "127.0.0.1", port: int = 8780, settings: WebhookSettings | None = None) -> None:
    """Run the receiver under uvicorn until interrupted (``convo-intel webhooks --host H --port P``)."""
    import uvicorn

    settings = settings or WebhookSettings.from_env()
    if not settings.webhook_secret:
        log.warning("CONVO_INTEL_WEBHOOK_SECRET is not set: platform events are refused (503)")
    if not settings.symbl_callback_token:
        log.warning("CONVO_INTEL_SYMBL_CALLBACK_TOKEN is not set: Symbl callbacks are refused (404)")
    # access_log off: the callback path carries the token, and access logs print paths.
    uvicorn.run(build_webhook_app(settings), host=host, port=port, access_log=False, log_level="info")
