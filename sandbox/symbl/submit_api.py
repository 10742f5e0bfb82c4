"""Async API: submit text, audio, video (raw or by URL), and append to an existing conversation (PUT)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.middleware import SYMBL_CONCURRENCY_MESSAGE
from sandbox.symbl.context import SymblContext
from sandbox.symbl.errors import SymblError, bad_request, not_found
from sandbox.symbl.media_input import MediaRejected, check_content_type, recognise
from sandbox.symbl.options import SubmitOptions, parse_options, validate_http_url
from sandbox.symbl.repository import Conversation, Job
from sandbox.symbl.requests import read_body, read_json_object
from sandbox.symbl.timeline import iso, messages_to_utterances, parse_iso
from sandbox.transcript import Utterance


class _Submission:
    """What a submit request resolved to before any state is written."""

    def __init__(
        self,
        options: SubmitOptions,
        start_time: datetime,
        utterances: list[Utterance] | None = None,
        media_seconds: float | None = None,
        source_url: str | None = None,
    ) -> None:
        self.options = options
        self.start_time = start_time
        self.utterances = utterances
        self.media_seconds = media_seconds
        self.source_url = source_url


class SubmitApi:
    def __init__(self, ctx: SymblContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        routes: list[Route] = []
        for path, kind in (
            ("/v1/process/text", "text"),
            ("/v1/process/audio/url", "audio_url"),
            ("/v1/process/audio", "audio"),
            ("/v1/process/video/url", "video_url"),
            ("/v1/process/video", "video"),
        ):
            routes.append(Route(path, self._handler(kind, append=False), methods=["POST"]))
            routes.append(
                Route(path + "/{conversationId}", self._handler(kind, append=True), methods=["PUT"])
            )
        return routes

    def _handler(self, kind: str, append: bool) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            return await self._submit(request, kind, append)

        return handle

    async def _submit(self, request: Request, kind: str, append: bool) -> Response:
        self.ctx.tokens.require(request)
        existing: Conversation | None = None
        if append:
            existing = self.ctx.repository.get_conversation(request.path_params["conversationId"])
            if existing is None:
                raise not_found("Conversation not found.")
        conversation_start = parse_iso(existing.start_time, "startTime") if existing else None
        if kind == "text":
            submission = await self._text(request, conversation_start)
        elif kind.endswith("_url"):
            submission = await self._url(request)
        else:
            submission = await self._raw(request, kind)
        return self._accept(kind, submission, existing)

    async def _text(self, request: Request, conversation_start: datetime | None) -> _Submission:
        body = await read_json_object(request)
        options = parse_options(body, request.query_params)
        start, utterances = messages_to_utterances(body.get("messages"), conversation_start)
        span = max(u.end for u in utterances) - min(u.start for u in utterances)
        return _Submission(options, start, utterances, span)

    async def _url(self, request: Request) -> _Submission:
        body = await read_json_object(request)
        url = validate_http_url("url", body.get("url"))
        options = parse_options(body, request.query_params)
        return _Submission(options, datetime.now(UTC), source_url=url)

    async def _raw(self, request: Request, kind: str) -> _Submission:
        options = parse_options(None, request.query_params)
        try:
            declared = check_content_type(kind, request.headers.get("content-type"))
        except MediaRejected as exc:
            raise bad_request(str(exc)) from None
        data = await read_body(request, self.ctx.config.max_media_bytes)
        try:
            recognised = recognise(data, kind, declared, self.ctx.config.max_media_seconds)
        except MediaRejected as exc:
            raise bad_request(str(exc)) from None
        return _Submission(options, datetime.now(UTC), list(recognised.utterances), recognised.media_seconds)

    def _accept(self, kind: str, submission: _Submission, existing: Conversation | None) -> Response:
        # No await from the limit check to the insert: within the event loop the check-and-claim is atomic.
        settings = self.ctx.settings
        if self.ctx.repository.active_job_count() >= settings.concurrent_job_limit:
            message = SYMBL_CONCURRENCY_MESSAGE.format(limit=settings.concurrent_job_limit)
            raise SymblError(429, message, statusCode=429)
        conversation_id = existing.id if existing else _conversation_id()
        name = existing.name if existing else (submission.options.name or conversation_id)
        now = time.time()
        job = Job(
            id=str(uuid.uuid4()),
            conversation_id=conversation_id,
            kind=kind,
            status="scheduled",
            message=None,
            options=submission.options,
            source_url=submission.source_url,
            utterances=None if submission.utterances is None else tuple(submission.utterances),
            placed=False,
            media_seconds=submission.media_seconds,
            planned_failure=settings.claim_forced_failure(name),
            created_at=now,
            ready_at=now + settings.queue_delay_seconds,
            started_at=None,
            processing_seconds=None,
            finished_at=None,
        )
        if existing:
            self.ctx.repository.add_job(job)
        else:
            conversation = Conversation(
                id=conversation_id,
                name=name,
                start_time=iso(submission.start_time),
                created_at=now,
                metadata=_metadata(submission.options),
                insights=None,
            )
            self.ctx.repository.create_conversation_with_job(conversation, job)
        self.ctx.webhooks.notify(job.options.webhook_url, job.id, conversation_id, "scheduled")
        self.ctx.runner.spawn(job.id)
        return JSONResponse({"conversationId": conversation_id, "jobId": job.id}, status_code=201)


def _conversation_id() -> str:
    # Symbl conversation ids are 16-digit strings.
    return str(10**15 + secrets.randbelow(9 * 10**15))


def _metadata(options: SubmitOptions) -> dict[str, Any]:
    return dict(options.metadata)
