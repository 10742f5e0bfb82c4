"""Async client for Symbl.ai's REST API: auth, Async API submits, Job API, Conversation API, trackers.

Written to the contract in ``/work/shared/design/symbl-api.md`` so that it works unchanged against the real
service or the local sandbox: only the base URL and credentials differ. What it adds over Symbl's own SDK:
- one token per account per process, refreshed ahead of expiry, a 401 replayed once (``auth.SymblTokenAuth``);
- 429/5xx/transport failures are retried with jittered exponential backoff, a bounded number of times
  (``orchestration.http``: tenacity);
- ``job_slot()`` keeps this process under the account's concurrent-job limit (Symbl's 429 is the backstop);
- job waits poll near the expected finish (``job_pace``), have a deadline, and can be woken by a webhook.
The app secret and the token are never logged and never appear in exception messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import quote

import httpx

from orchestration.defs.symbl import signal_registry
from orchestration.defs.symbl.auth import SymblTokenAuth, shared_token
from orchestration.defs.symbl.job_pace import PollPlan, ProcessingPace
from orchestration.http import (
    Bounds,
    Random,
    ResponseTooLarge,
    Retries,
    Sleep,
    VendorClient,
    Waits,
    redirect_problem,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8765/symbl"
TOKEN_PATH = "/oauth2/token:generate"

JOB_STATUSES = ("scheduled", "in_progress", "completed", "failed")
TERMINAL_JOB_STATUSES = frozenset({"completed", "failed"})
# Every request's whole life (connect + upload + complete answer); raw uploads of long media need the most.
DEFAULT_REQUEST_DEADLINE_SECONDS = 600.0
# The largest answer kept: a 4-hour call's verbose messages are a few MB; 64 MiB is far past any real one and
# bounds what a hostile answer can make us buffer and store in raw.symbl_responses.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Symbl's documented id shapes; anything else is not an id we will store, quote into URLs or log.
_CONVERSATION_ID = re.compile(r"[0-9]{1,32}")


class SymblAPIError(Exception):
    """Symbl refused a request (or stayed unavailable through every retry).

    ``status`` is the HTTP status, or None when no response arrived at all (transport failure after retries).
    """

    def __init__(self, status: int | None, message: str, endpoint: str) -> None:
        self.status = status
        self.message = message
        self.endpoint = endpoint
        super().__init__(
            f"Symbl {endpoint} failed ({status if status is not None else 'no response'}): {message}"
        )

    @property
    def retryable(self) -> bool:
        """True when the failure was transient (429/5xx/transport): trying again later may succeed."""
        return self.status is None or self.status == 429 or self.status >= 500


class SymblContractError(SymblAPIError):
    """Symbl answered, but not what its contract says: broken JSON, a 200 with an error body, wrong-typed or
    missing fields, ids of the wrong shape, a redirect, an answer over the size cap.

    Never retryable: the same request gets the same wrong answer. ``status`` is the HTTP status of the answer.
    A subclass of ``SymblAPIError`` so that every caller that handles a refusal handles this too.
    """

    @property
    def retryable(self) -> bool:
        return False


class SymblJobTimeout(Exception):
    """A job was not terminal by the caller's deadline (it may still finish: wait again later)."""

    def __init__(self, job_id: str, last_status: str | None, deadline_seconds: float) -> None:
        self.job_id = job_id
        self.last_status = last_status
        self.deadline_seconds = deadline_seconds
        super().__init__(f"Symbl job {job_id} still {last_status!r} after {deadline_seconds:g} s")


class SymblJobUnavailable(SymblJobTimeout):
    """The Job API stayed unavailable (5xx/429/transport) through every retry while waiting on a job.

    The job itself may be fine, so this is a kind of timeout, not a failure: the caller keeps the job and
    waits again on the next run instead of resubmitting (which could create a duplicate job).
    """

    def __init__(self, job_id: str, last_status: str | None, cause: SymblAPIError) -> None:
        self.cause = cause
        super().__init__(job_id, last_status, 0.0)
        self.args = (f"Symbl job {job_id}: status unavailable ({cause}); last seen {last_status!r}",)


@dataclass(frozen=True)
class SubmitResult:
    conversation_id: str
    job_id: str


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    status: str  # scheduled | in_progress | completed | failed
    message: str | None = None  # not in Symbl's contract; the sandbox may explain a failure here

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES


# SubmitOptions field -> Symbl wire name.
_WIRE_NAMES = {
    "name": "name",
    "webhook_url": "webhookUrl",
    "language_code": "languageCode",
    "confidence_threshold": "confidenceThreshold",
    "detect_entities": "detectEntities",
    "custom_entities": "entities",
    "trackers": "trackers",
    "enable_all_trackers": "enableAllTrackers",
    "enable_summary": "enableSummary",
    "enable_speaker_diarization": "enableSpeakerDiarization",
    "diarization_speaker_count": "diarizationSpeakerCount",
    "channel_metadata": "channelMetadata",
    "enable_separate_recognition_per_channel": "enableSeparateRecognitionPerChannel",
    "custom_vocabulary": "customVocabulary",
    "metadata": "metadata",
}
# Symbl reads these from the query string even on JSON endpoints.
_QUERY_ONLY = frozenset({"enable_speaker_diarization", "diarization_speaker_count"})


@dataclass(frozen=True)
class SubmitOptions:
    """Optional Async API parameters; None means "not sent" (Symbl's default applies)."""

    name: str | None = None
    webhook_url: str | None = None
    language_code: str | None = None
    confidence_threshold: float | None = None
    detect_entities: bool | None = None
    custom_entities: Sequence[Mapping[str, Any]] | None = None  # [{customType, value, text}]
    trackers: Sequence[Mapping[str, Any]] | None = None  # [{name, vocabulary[]}]
    enable_all_trackers: bool | None = None
    enable_summary: bool | None = None
    enable_speaker_diarization: bool | None = None
    diarization_speaker_count: int | None = None
    channel_metadata: Sequence[Mapping[str, Any]] | None = None  # [{channel, speaker:{name,email}}]
    enable_separate_recognition_per_channel: bool | None = None
    custom_vocabulary: Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None

    def _present(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def json_fields(self) -> dict[str, Any]:
        """Parameters for the JSON body of text/URL endpoints (diarization excluded: it goes in the query)."""
        return {_WIRE_NAMES[k]: _jsonable(v) for k, v in self._present().items() if k not in _QUERY_ONLY}

    def query_params(self, *, everything: bool) -> dict[str, str]:
        """Query-string parameters: all of them for raw uploads, only diarization for JSON endpoints."""
        return {
            _WIRE_NAMES[k]: _query_value(v)
            for k, v in self._present().items()
            if everything or k in _QUERY_ONLY
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _query_value(value: Any) -> str:
    # Booleans as Symbl documents them; arrays and objects JSON-encoded (one of the two encodings Symbl
    # accepts).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _error_message(response: httpx.Response) -> str:
    redirect = redirect_problem(response)
    if redirect is not None:
        return redirect
    try:
        body = response.json()
    except ValueError:  # includes UnicodeDecodeError and RecursionError-free JSON errors
        return response.text[:500] or response.reason_phrase
    except RecursionError:
        return "error body is nested too deeply to read"
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return body[key][:500]
    return str(body)[:500]


def _decode_json(response: httpx.Response, endpoint: str) -> Any:
    """The answer's JSON, or a ``SymblContractError`` naming what is wrong with it (never a bare ValueError)."""
    try:
        return response.json()
    except RecursionError:
        raise SymblContractError(response.status_code, "answer is JSON nested too deeply", endpoint) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a number past Python's digit limit
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise SymblContractError(response.status_code, f"answer is not JSON ({reason})", endpoint) from None


def _error_body_hint(body: Any) -> str:
    """``(message: ...)`` when a 2xx body looks like an error answer, so that the reason shows Symbl's words."""
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return f" (the answer says: {body[key][:200]})"
    return ""


class SymblClient(VendorClient):
    """Async Symbl REST client: ``async with SymblClient(...) as symbl:``; one event loop per instance."""

    vendor = "Symbl"

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        app_id: str = "",
        app_secret: str = "",
        *,
        concurrent_jobs: int = 5,
        request_timeout_seconds: float = 60.0,
        request_deadline_seconds: float = DEFAULT_REQUEST_DEADLINE_SECONDS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        retry: Retries = Retries(),
        poll: Waits = Waits(initial_seconds=1.0, factor=1.5, max_seconds=30.0),
        pace: PollPlan = PollPlan(),
        job_deadline_seconds: float = 4 * 3600.0,
        refresh_margin_seconds: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Random = random.random,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrent_jobs < 1:
            raise ValueError("concurrent_jobs must be at least 1")
        root = base_url.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._auth = SymblTokenAuth(
            shared_token(f"{root}{TOKEN_PATH}", app_id, app_secret),
            self._generate_token,
            clock=clock,
            refresh_margin_seconds=refresh_margin_seconds,
        )
        super().__init__(
            root,
            bounds=Bounds(request_timeout_seconds, request_deadline_seconds, max_response_bytes),
            retries=retry,
            auth=self._auth,
            transport=transport,
            sleep=sleep,
            rng=rng,
        )
        self._poll = poll
        self._pace = ProcessingPace(pace)
        self._job_deadline = job_deadline_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._job_slots = asyncio.Semaphore(concurrent_jobs)
        self._slots_held = 0
        # Symbl allows one concurrent tracker-management request per account.
        self._management_lock = asyncio.Lock()

    async def __aenter__(self) -> SymblClient:
        return self

    @property
    def pace(self) -> ProcessingPace:
        """This client's processing-rate estimate (seconds of processing per second of media)."""
        return self._pace

    # --- failure mapping: every failure is a SymblAPIError; an answer off the contract a SymblContractError

    def _no_answer(self, exc: httpx.TransportError, endpoint: str) -> Exception:
        return SymblAPIError(None, f"{type(exc).__name__} after retries", endpoint)

    def _too_large(self, exc: ResponseTooLarge, endpoint: str) -> Exception:
        return SymblContractError(None, str(exc), endpoint)

    def _redirected(self, response: httpx.Response, reason: str, endpoint: str) -> Exception:
        return SymblContractError(response.status_code, reason, endpoint)

    def _refused(self, response: httpx.Response, endpoint: str) -> Exception:
        return SymblAPIError(response.status_code, _error_message(response), endpoint)

    # --- auth (the flow itself is SymblTokenAuth; this is the one call it makes)

    async def access_token(self) -> str:
        """The account's current token (the process-wide one, generated only when none is fresh): for the
        Streaming API, whose WebSocket takes the token in a header instead of an httpx request."""
        return await self._auth.token()

    async def _generate_token(self) -> tuple[str, float]:
        endpoint = f"POST {TOKEN_PATH}"
        body = {"type": "application", "appId": self._app_id, "appSecret": self._app_secret}
        response = await self._send("POST", TOKEN_PATH, endpoint=endpoint, json=body, auth=None)
        payload = _decode_json(response, endpoint)
        token = payload.get("accessToken") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token or len(token) > 16384 or not token.isascii():
            raise SymblContractError(
                response.status_code,
                "token answer has no usable accessToken" + _error_body_hint(payload),
                endpoint,
            )
        expires_in = payload.get("expiresIn")
        usable = (
            isinstance(expires_in, (int, float))
            and not isinstance(expires_in, bool)
            and math.isfinite(expires_in)
            and expires_in > 0
        )
        log.debug("Symbl access token generated (expires in %s s)", expires_in)
        return token, float(expires_in) if usable else math.inf

    # --- transport

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Authenticated request (token per attempt, one replay on 401) with transient-failure retries."""
        return await self._send(
            method,
            path,
            endpoint=f"{method} {path}",
            params=params,
            json=json_body,
            content=content,
            headers=headers,
        )

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._request(method, path, **kwargs)
        if not response.content:
            return None
        return _decode_json(response, f"{method} {path}")

    # --- Async API
    # ----------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def job_slot(self) -> AsyncIterator[None]:
        """Hold one of the account's concurrent-job slots from submit until the job is terminal."""
        async with self._job_slots:
            self._slots_held += 1
            try:
                yield
            finally:
                self._slots_held -= 1

    @property
    def slots_in_use(self) -> int:
        return self._slots_held

    async def _submit(
        self,
        path: str,
        *,
        append_to: str | None,
        json_body: dict[str, Any] | None = None,
        content: bytes | None = None,
        params: dict[str, str],
        headers: dict[str, str] | None = None,
    ) -> SubmitResult:
        method = "POST"
        if append_to is not None:
            method, path = "PUT", f"{path}/{quote(append_to, safe='')}"
        endpoint = f"{method} {path}"
        response = await self._request(
            method, path, params=params or None, json_body=json_body, content=content, headers=headers
        )
        body = _decode_json(response, endpoint) if response.content else None
        return _submit_result(body, response.status_code, endpoint)

    async def submit_text(
        self,
        messages: Sequence[Mapping[str, Any]],
        options: SubmitOptions = SubmitOptions(),
        *,
        append_to: str | None = None,
    ) -> SubmitResult:
        """``messages``: ``[{payload:{content, contentType}, from:{name,userId},
        duration:{startTime,endTime}}]``.
        """
        body = {**options.json_fields(), "messages": _jsonable(list(messages))}
        return await self._submit(
            "/v1/process/text",
            append_to=append_to,
            json_body=body,
            params=options.query_params(everything=False),
        )

    async def submit_audio_url(
        self, url: str, options: SubmitOptions = SubmitOptions(), *, append_to: str | None = None
    ) -> SubmitResult:
        body = {**options.json_fields(), "url": url}
        return await self._submit(
            "/v1/process/audio/url",
            append_to=append_to,
            json_body=body,
            params=options.query_params(everything=False),
        )

    async def submit_video_url(
        self, url: str, options: SubmitOptions = SubmitOptions(), *, append_to: str | None = None
    ) -> SubmitResult:
        body = {**options.json_fields(), "url": url}
        return await self._submit(
            "/v1/process/video/url",
            append_to=append_to,
            json_body=body,
            params=options.query_params(everything=False),
        )

    async def submit_audio_file(
        self,
        data: bytes,
        content_type: str | None = None,
        options: SubmitOptions = SubmitOptions(),
        *,
        append_to: str | None = None,
    ) -> SubmitResult:
        """Raw bytes (not multipart); Symbl auto-detects the format when ``content_type`` is None."""
        headers = {"Content-Type": content_type} if content_type else None
        return await self._submit(
            "/v1/process/audio",
            append_to=append_to,
            content=data,
            headers=headers,
            params=options.query_params(everything=True),
        )

    async def submit_video_file(
        self, data: bytes, options: SubmitOptions = SubmitOptions(), *, append_to: str | None = None
    ) -> SubmitResult:
        return await self._submit(
            "/v1/process/video",
            append_to=append_to,
            content=data,
            headers={"Content-Type": "video/mp4"},
            params=options.query_params(everything=True),
        )

    # --- Job API
    # ------------------------------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> JobStatus:
        """The job's status as Symbl states it; an unknown status string is returned as is (see wait_for_job).

        Raises ``SymblContractError`` when the answer has no string status (an error body on 200, a wrong
        type, broken JSON, a redirect).
        """
        endpoint = f"GET /v1/job/{job_id}"
        body = await self._json("GET", f"/v1/job/{quote(job_id, safe='')}")
        status = body.get("status") if isinstance(body, dict) else None
        if not isinstance(status, str) or not status or len(status) > 64:
            got = (
                "no status"
                if status is None
                else f"a status that is not a short string ({type(status).__name__})"
            )
            raise SymblContractError(200, f"job answer has {got}" + _error_body_hint(body), endpoint)
        message = body.get("message")
        return JobStatus(
            job_id=job_id,
            status=status,
            message=message[:500] if isinstance(message, str) else None,
        )

    async def wait_for_job(
        self,
        job_id: str,
        *,
        deadline_seconds: float | None = None,
        wake: asyncio.Event | None = None,
        media_seconds: float | None = None,
        submitted_at: float | None = None,
    ) -> JobStatus:
        """Poll until the job is ``completed`` or ``failed`` (returned, never raised).

        With ``media_seconds`` (the recording's duration) the first poll is aimed near the job's expected
        finish, from this run's processing rate (see ``job_pace``); ``submitted_at`` (on the client's wall
        clock) is when Symbl accepted the job, default now. Without it, polls start at once and back off.
        ``wake`` is the webhook seam: when a callback for this job arrives, set the event and the wait re-reads
        the job at once (the callback is only a hint; the Job API is the truth). The event is cleared after each
        wake-up so that a callback for a non-terminal status does not spin.
        Raises ``SymblJobTimeout`` once ``deadline_seconds`` (default: the client's) have passed.
        """
        deadline = self._job_deadline if deadline_seconds is None else deadline_seconds
        give_up_at = self._monotonic() + deadline
        planned = media_seconds is not None and math.isfinite(media_seconds) and media_seconds > 0
        start = self._clock() if submitted_at is None else submitted_at
        probed = planned and self._pace.probe_ticket()
        try:
            return await self._poll_job(
                job_id, deadline, give_up_at, planned, probed, media_seconds, start, wake
            )
        finally:
            if probed:
                self._pace.probe_ended()

    async def _poll_job(
        self,
        job_id: str,
        deadline: float,
        give_up_at: float,
        planned: bool,
        probed: bool,
        media_seconds: float | None,
        start: float,
        wake: asyncio.Event | None,
    ) -> JobStatus:
        misses = 0
        last_status: str | None = None
        unfinished_at: float | None = None  # seconds after submit of the last unfinished answer
        last_poll_at: float | None = None
        while True:
            if planned:
                assert media_seconds is not None
                await self._pause_until_planned(
                    media_seconds, start, last_poll_at, misses, give_up_at, wake, probed
                )
            job = await self._job_or_verdict(job_id, last_status)
            now = self._clock()
            if job.is_terminal:
                if planned and job.status == "completed" and media_seconds is not None:
                    self._pace.observe(media_seconds, unfinished_at, now - start, probed=probed)
                return job
            last_status, unfinished_at, last_poll_at = job.status, now - start, now
            misses += 1
            remaining = give_up_at - self._monotonic()
            if remaining <= 0:
                raise SymblJobTimeout(job_id, job.status, deadline)
            if not planned:
                delay = min(self._poll.delay(misses - 1, self._rng), remaining)
                if await self._pause(delay, wake) is wake and wake is not None:
                    wake.clear()

    async def _job_or_verdict(self, job_id: str, last_status: str | None) -> JobStatus:
        """The job's status, or the verdict a broken answer earns (failed), or the caller's error to handle."""
        try:
            job = await self.get_job(job_id)
        except SymblContractError as exc:
            # The same request would get the same wrong answer: this job fails now, with the reason.
            return JobStatus(job_id, "failed", f"unreadable job status: {exc}")
        except SymblAPIError as exc:
            if not exc.retryable:
                raise  # 404 (unknown job) and other refusals: the caller decides
            raise SymblJobUnavailable(job_id, last_status, exc) from exc
        if job.status not in JOB_STATUSES:
            # Waiting on a status nobody documented would wait until the deadline (hours) on every run.
            return JobStatus(job_id, "failed", f"Symbl reported an unknown job status {job.status[:64]!r}")
        return job

    async def _pause_until_planned(
        self,
        media_seconds: float,
        start: float,
        last_poll_at: float | None,
        misses: int,
        give_up_at: float,
        wake: asyncio.Event | None,
        probed: bool,
    ) -> None:
        """Sleep until the planned poll; re-plan whenever the run's rate estimate changes meanwhile."""
        while True:
            at = self._pace.next_poll(
                submitted_at=start,
                media_seconds=media_seconds,
                last_poll_at=last_poll_at,
                misses=misses,
                probed=probed,
            )
            delay = min(at - self._clock(), give_up_at - self._monotonic())
            if delay <= 0:
                return
            woke = await self._pause(delay, wake, self._pace.changed())
            if woke is None:
                return
            if woke is wake:
                wake.clear()
                return

    async def _pause(self, seconds: float, *events: asyncio.Event | None) -> asyncio.Event | None:
        """Sleep ``seconds`` (the injectable sleep) unless one of ``events`` is set first; returns that event."""
        watched = [e for e in events if e is not None]
        if not watched:
            await self._sleep(seconds)
            return None
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waiters = {asyncio.ensure_future(e.wait()): e for e in watched}
        try:
            done, _ = await asyncio.wait([sleeper, *waiters], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [sleeper, *waiters]:
                task.cancel()
        fired = [waiters[t] for t in waiters if t in done]
        return fired[0] if fired and sleeper not in done else None

    # --- Conversation API
    # ---------------------------------------------------------------------------------------

    async def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/v1/conversations/{quote(conversation_id, safe='')}")

    async def get_signal(self, conversation_id: str, signal: str, *, refresh: bool = False) -> Any:
        """The raw parsed JSON body of one Conversation API endpoint (``signal_registry.SIGNALS``).

        A signal with a ``fallback_path`` (``trackers``: the 2023 ``/trackers``, the 2022 ``/trackers-detected``)
        asks it when its path answers 404. ``summary`` answers 404 while the job runs (raised as
        ``SymblAPIError``); ``refresh=True`` asks Symbl to (re)generate it.
        """
        spec = signal_registry.BY_NAME.get(signal)
        if spec is None:
            known = ", ".join(signal_registry.BY_NAME)
            raise ValueError(f"unknown Symbl signal {signal!r}; expected one of {known}")
        params = dict(spec.params)
        if signal == "summary" and refresh:
            params["refresh"] = "true"
        base = f"/v1/conversations/{quote(conversation_id, safe='')}"
        try:
            return await self._json("GET", f"{base}/{spec.path}", params=params or None)
        except SymblAPIError as exc:
            if spec.fallback_path is None or exc.status != 404:
                raise
        return await self._json("GET", f"{base}/{spec.fallback_path}")

    async def put_speaker_events(self, conversation_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Tell Symbl who spoke when (``PUT /v1/conversations/{id}/speakers``); Symbl re-attributes messages,
        insights and analytics. ``events`` are Symbl's ``{type, user{id,name,email}, offset{seconds,nanos}}``."""
        await self._json(
            "PUT",
            f"/v1/conversations/{quote(conversation_id, safe='')}/speakers",
            json_body={"speakerEvents": list(events)},
        )

    async def list_conversations(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        order: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
    ) -> dict[str, Any]:
        params = {
            k: str(v)
            for k, v in {
                "limit": limit,
                "offset": offset,
                "order": order,
                "startTime": start_time,
                "endTime": end_time,
            }.items()
            if v is not None
        }
        return await self._json("GET", "/v1/conversations", params=params or None)

    async def delete_conversation(self, conversation_id: str) -> None:
        await self._request("DELETE", f"/v1/conversations/{quote(conversation_id, safe='')}")

    # --- Trackers management
    # ------------------------------------------------------------------------------------

    async def _manage(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self._management_lock:
            return await self._json(method, path, **kwargs)

    async def _manage_with_fallback(
        self, method: str, path: str, legacy_method: str, legacy_path: str, **kwargs: Any
    ) -> Any:
        try:
            return await self._manage(method, path, **kwargs)
        except SymblAPIError as exc:
            if exc.status != 404:
                raise
        return await self._manage(legacy_method, legacy_path, **kwargs)

    async def list_trackers(self, *, name: str | None = None) -> list[dict[str, Any]]:
        """All trackers (both API generations answer ``GET /v1/manage/trackers``; 2022 filters by name)."""
        body = await self._manage("GET", "/v1/manage/trackers", params={"name": name} if name else None)
        if isinstance(body, list):
            return body
        trackers = body.get("trackers") if isinstance(body, dict) else None
        return list(trackers) if isinstance(trackers, list) else []

    async def create_tracker(self, tracker: Mapping[str, Any]) -> dict[str, Any]:
        """Create one tracker ``{name, vocabulary[], description?, categories?, languages?}``; 409 on a name
        clash.
        """
        body = await self._manage_with_fallback(
            "POST", "/v1/manage/trackers", "POST", "/v1/manage/tracker", json_body=_jsonable(tracker)
        )
        if isinstance(body, dict) and isinstance(body.get("tracker"), dict):
            return body["tracker"]
        return body

    async def update_tracker(
        self, tracker_id: str, operations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """JSON-Patch update ``[{op, path, value}]``; 2023 API only (2022's PUT needs the whole tracker)."""
        body = await self._manage(
            "PATCH",
            f"/v1/manage/trackers/{quote(tracker_id, safe='')}",
            json_body=_jsonable(list(operations)),
        )
        if isinstance(body, dict) and isinstance(body.get("tracker"), dict):
            return body["tracker"]
        return body

    async def delete_tracker(self, tracker_id: str) -> None:
        tid = quote(tracker_id, safe="")
        await self._manage_with_fallback(
            "DELETE", f"/v1/manage/trackers/{tid}", "DELETE", f"/v1/manage/tracker/{tid}"
        )


def _submit_result(body: Any, status: int, endpoint: str) -> SubmitResult:
    """Both ids, checked against Symbl's documented shapes (conversationId digits, jobId a UUID)."""
    if not isinstance(body, dict):
        raise SymblContractError(status, "submit answer is not a JSON object", endpoint)
    conversation_id, job_id = body.get("conversationId"), body.get("jobId")
    if conversation_id is None or job_id is None:
        raise SymblContractError(
            status, "submit answer lacks conversationId/jobId" + _error_body_hint(body), endpoint
        )
    # Some SDKs model conversationId as a number; accept an int, never a bool or a float.
    if isinstance(conversation_id, int) and not isinstance(conversation_id, bool) and conversation_id >= 0:
        conversation_id = str(conversation_id)
    if not isinstance(conversation_id, str) or not _CONVERSATION_ID.fullmatch(conversation_id):
        raise SymblContractError(status, "submit answer's conversationId is not a string of digits", endpoint)
    try:
        parsed = uuid.UUID(job_id) if isinstance(job_id, str) and len(job_id) <= 64 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise SymblContractError(status, "submit answer's jobId is not a UUID", endpoint)
    return SubmitResult(conversation_id=conversation_id, job_id=job_id)


__all__ = [
    "DEFAULT_BASE_URL",
    "JOB_STATUSES",
    "JobStatus",
    "SubmitOptions",
    "SubmitResult",
    "SymblAPIError",
    "SymblClient",
    "SymblContractError",
    "SymblJobTimeout",
    "SymblJobUnavailable",
]
