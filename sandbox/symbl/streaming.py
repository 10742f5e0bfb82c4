"""Symbl's Streaming API (WebSocket), at ``/v1/streaming/{connectionId}`` and the legacy
``/v1/realtime/insights/{connectionId}``.

Contract: ``docs/symbl-api.md`` "Streaming API". Choices on points no public source settles (tested):

- Refusals happen at the handshake, as HTTP answers with Symbl's JSON error body: bad or missing token 401,
  connectionId not ``[A-Za-z0-9_=+-]{6,64}`` 400, the account's concurrent-connection limit 429, an injected
  refusal 503.
- An audio frame over 8,192 bytes is not processed: the server sends an ``error`` message and closes with
  1009 (message too big). A malformed control message gets an ``error`` message and the socket stays open.
- FLAC and Opus are accepted at their documented rates but the sandbox only decodes LINEAR16 and MULAW, so
  they recognise nothing. ``noConnectionTimeout`` defaults to 0: without it a dropped socket ends the
  conversation at once.
- A second connection to a live connectionId takes the conversation over; the first one is closed (4001).
- Injected drops end the TCP connection without a close frame (the client sees 1006, as on a dead network):
  what the server sent before is delivered, the audio in flight and after is lost (see ``_drop``).

Recognition is in ``streaming_recognition``; after ``stop_request`` (or when ``noConnectionTimeout`` runs
out) the conversation gets one completed job holding what was heard, so the Conversation API serves it like
any other.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from sandbox.symbl.context import SymblContext
from sandbox.symbl.errors import TOKEN_INVALID_MESSAGE
from sandbox.symbl.options import SubmitOptions
from sandbox.symbl.repository import Conversation, Job
from sandbox.symbl.streaming_protocol import (
    MAX_AUDIO_FRAME_BYTES,
    PING,
    PONG,
    ProtocolError,
    SpeechRecognition,
    StartRequest,
    duration_object,
    error_message,
    parse_control,
    parse_speech_recognition,
    parse_start,
    system_message,
)
from sandbox.symbl.streaming_recognition import (
    Final,
    Hypothesis,
    Interim,
    Preamble,
    RecognitionStream,
    heard_utterances,
)
from sandbox.symbl.timeline import iso
from sandbox.transcript import Utterance

_CONNECTION_ID = re.compile(r"^[A-Za-z0-9_=+-]{6,64}$")
RAW_SEND_KEY = "sandbox.raw_send"
CONNECTION_LIMIT_MESSAGE = (
    "This API has a limit of maximum of `{limit}` number of concurrent streaming connections per account."
)


class StreamingStats:
    """Counts of streaming events (connections, refusals, injected faults, audio), for tests and benchmarks."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def get(self, key: str) -> int:
        with self._lock:
            return self._counts[key]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class TransportCaptureMiddleware:
    """Keeps the server's own ``send`` in the scope of WebSocket connections, before any wrapping, so an
    injected drop can reach uvicorn's transport and end the TCP connection without a close frame."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND_KEY] = send
        await self.app(scope, receive, send)


class _Dropped(Exception):
    """An injected drop where the transport could not be reached (ends the socket with 1011)."""


@dataclass
class LiveConversation:
    connection_id: str
    conversation: Conversation
    start: StartRequest
    preamble: Preamble = field(default_factory=Preamble)
    segments: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # (utterance, words) per final
    committed: int = 0  # segments already stored in a completed job
    owner: int | None = None  # serial of the connection feeding it
    completed: bool = False
    expiry: asyncio.TimerHandle | None = None
    sequence: int = 0

    @property
    def id(self) -> str:
        return self.conversation.id

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


class StreamingApi:
    def __init__(self, ctx: SymblContext) -> None:
        self.ctx = ctx
        self.stats = StreamingStats()
        self.live: dict[str, LiveConversation] = {}
        self._active: dict[str, set[int]] = {}
        self._serial = 0
        self._sockets: dict[int, WebSocket] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[WebSocketRoute]:
        return [
            WebSocketRoute("/v1/streaming/{connectionId}", self.endpoint),
            WebSocketRoute("/v1/realtime/insights/{connectionId}", self.endpoint),
        ]

    # --- handshake ------------------------------------------------------------------------------------------

    async def endpoint(self, websocket: WebSocket) -> None:
        connection_id = websocket.path_params["connectionId"]
        self.stats.add("upgrades")
        if not _CONNECTION_ID.match(connection_id):
            await self._deny(websocket, 400, "connectionId must be 6-64 characters of A-Z a-z 0-9 _ = + -.")
            return
        if self.ctx.settings.claim_refusal():
            self.stats.add("fault_refused")
            await self._deny(websocket, 503, "Service unavailable (injected sandbox fault).")
            return
        token, subprotocol = _token(websocket)
        if not token or not self.ctx.tokens.is_valid(token):
            await self._deny(websocket, 401, TOKEN_INVALID_MESSAGE)
            return
        account = self.ctx.config.symbl_app_id  # the sandbox has one account: the app its tokens are for
        active = self._active.setdefault(account, set())
        limit = self.ctx.settings.streaming_connection_limit
        if len(active) >= limit:  # no await between this check and the claim below
            await self._deny(websocket, 429, CONNECTION_LIMIT_MESSAGE.format(limit=limit), statusCode=429)
            return
        self._serial += 1
        serial = self._serial
        active.add(serial)
        self._sockets[serial] = websocket
        try:
            await websocket.accept(subprotocol=subprotocol)
            self.stats.add("connections")
            await self._serve(websocket, connection_id, serial)
        except WebSocketDisconnect:
            pass
        finally:
            active.discard(serial)
            self._sockets.pop(serial, None)
            self._detach(serial)

    async def _deny(self, websocket: WebSocket, status: int, message: str, **extra: Any) -> None:
        self.stats.add(f"refused_{status}")
        await websocket.send_denial_response(JSONResponse({**extra, "message": message}, status_code=status))

    # --- the conversation -----------------------------------------------------------------------------------

    async def _serve(self, websocket: WebSocket, connection_id: str, serial: int) -> None:
        live: LiveConversation | None = None
        stream: RecognitionStream | None = None
        received = 0  # audio bytes on this connection
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if live is not None and live.owner != serial:
                return  # another connection took the conversation over
            text = message.get("text")
            if text is not None:
                if text == PING:
                    self.stats.add("pings")
                    await websocket.send_text(PONG)
                    continue
                try:
                    control = parse_control(text)
                    kind = control["type"]
                    if kind == "start_request":
                        start = parse_start(control)
                        live = self._attach(connection_id, start, serial)
                        stream = RecognitionStream(
                            live.preamble, start.speech.encoding, start.speech.sample_rate
                        )
                        for kind_ in ("recognition_started", "conversation_created"):
                            await websocket.send_json(system_message(kind_, live.id))
                        await websocket.send_json(system_message("started_listening"))
                    elif kind == "modify_request":
                        if stream is None:
                            raise ProtocolError("modify_request before start_request.")
                        current = SpeechRecognition(stream.encoding, stream.sample_rate)
                        speech = parse_speech_recognition(control.get("speechRecognition"), current)
                        stream.reconfigure(speech.encoding, speech.sample_rate)
                        self.stats.add("modify_requests")
                    elif kind == "stop_request":
                        if live is None or stream is None:
                            raise ProtocolError("stop_request before start_request.")
                        self.stats.add("stop_requests")
                        for event in stream.finish():
                            await self._emit(websocket, live, event)
                        stream = None
                        await self._complete(live)
                        await websocket.send_json(system_message("recognition_stopped", live.id))
                        await websocket.send_json(system_message("conversation_completed", live.id))
                        if live.start.disconnect_on_stop:
                            await websocket.close(1000)
                            return
                    else:
                        raise ProtocolError(f"Unknown message type {kind!r}.")
                except ProtocolError as exc:
                    self.stats.add("protocol_errors")
                    await websocket.send_json(error_message(str(exc)))
                continue
            data = message.get("bytes") or b""
            if stream is None or live is None:
                self.stats.add("ignored_audio_bytes", len(data))  # audio before start_request is ignored
                continue
            if len(data) > MAX_AUDIO_FRAME_BYTES:
                self.stats.add("frames_too_large")
                await websocket.send_json(
                    error_message(
                        f"Audio frames must be at most {MAX_AUDIO_FRAME_BYTES} bytes; got {len(data)}.",
                        code="message_too_big",
                    )
                )
                await websocket.close(1009)
                return
            if self._drop_now(received + len(data)):
                self.stats.add("fault_drops")
                await _drop(websocket)
                return
            if self.ctx.settings.chance(self.ctx.settings.fault_ws_stall_rate):
                self.stats.add("fault_stalls")
                await asyncio.sleep(self.ctx.settings.fault_ws_stall_seconds)
                if live.owner != serial:
                    return  # the client gave up on this socket meanwhile and is on a new one
            received += len(data)
            self.stats.add("audio_bytes", len(data))
            garbled = stream.garbled_frames
            for event in stream.push(data):
                await self._emit(websocket, live, event)
            self.stats.add("garbled_frames", stream.garbled_frames - garbled)

    def _drop_now(self, bytes_after: int) -> bool:
        s = self.ctx.settings
        if s.fault_ws_drop_limit and self.stats.get("fault_drops") >= s.fault_ws_drop_limit:
            return False
        if s.fault_ws_drop_after_bytes and bytes_after >= s.fault_ws_drop_after_bytes:
            return True
        return s.chance(s.fault_ws_drop_rate)

    def _attach(self, connection_id: str, start: StartRequest, serial: int) -> LiveConversation:
        live = self.live.get(connection_id)
        same_socket = live is not None and live.owner == serial
        if live is not None and (not live.completed or same_socket):
            if live.expiry is not None:
                live.expiry.cancel()
                live.expiry = None
            if live.owner not in (None, serial):
                self._supersede(live.owner)
            if not same_socket:
                self.stats.add("resumed_conversations")
            live.owner, live.start, live.completed = serial, start, False
            return live
        now = time.time()
        conversation_id = str(10**15 + secrets.randbelow(9 * 10**15))
        conversation = Conversation(
            id=conversation_id,
            name=start.meeting_title or conversation_id,
            start_time=iso(datetime.now(UTC)),
            created_at=now,
            metadata={},
            insights=None,
        )
        self.ctx.repository.create_conversation(conversation)
        live = LiveConversation(connection_id, conversation, start, owner=serial)
        self.live[connection_id] = live
        self.stats.add("conversations")
        return live

    def _supersede(self, serial: int) -> None:
        websocket = self._sockets.get(serial)
        if websocket is not None:
            self.stats.add("superseded_connections")
            task = asyncio.ensure_future(websocket.close(4001, "superseded by a newer connection"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _detach(self, serial: int) -> None:
        for connection_id, live in list(self.live.items()):
            if live.owner != serial:
                continue
            live.owner = None
            if live.completed:
                del self.live[connection_id]  # an ordinary conversation now: nothing left to resume
                continue
            timeout = live.start.no_connection_timeout
            loop = asyncio.get_running_loop()
            live.expiry = loop.call_later(timeout, self._expire, live)

    def _expire(self, live: LiveConversation) -> None:
        live.expiry = None
        if live.owner is None and not live.completed:
            self.stats.add("expired_conversations")
            if self.live.get(live.connection_id) is live:
                del self.live[live.connection_id]
            task = asyncio.ensure_future(self._complete(live))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _complete(self, live: LiveConversation) -> None:
        """Store what was heard as one completed job: from here on an ordinary conversation."""
        live.completed = True
        call = live.preamble.transcript
        segments = live.segments[live.committed :]
        live.committed = len(live.segments)
        new = heard_utterances(call, segments) if call is not None else []
        start = live.start
        options = SubmitOptions(
            name=live.conversation.name,
            confidence_threshold=start.confidence_threshold,
            detect_entities=start.detect_entities,
            trackers=start.trackers,
            enable_all_trackers=start.enable_all_trackers,
        )
        earlier = [
            u
            for job in self.ctx.repository.jobs_of(live.id)
            if job.status == "completed"
            for u in job.utterances or ()
        ]
        insights = await asyncio.to_thread(
            self.ctx.insights.analyze, live.conversation, [*earlier, *new], options
        )
        now = time.time()
        job = Job(
            id=str(uuid.uuid4()),
            conversation_id=live.id,
            kind="streaming",
            status="in_progress",
            message=None,
            options=options,
            source_url=None,
            utterances=tuple(new),
            placed=True,
            media_seconds=max((u.end for u in new), default=0.0),
            planned_failure=None,
            created_at=now,
            ready_at=now,
            started_at=None,
            processing_seconds=None,
            finished_at=None,
        )
        # No await between the two writes: nothing in this loop sees the job half-made.
        self.ctx.repository.add_job(job)
        self.ctx.repository.complete_job(job.id, live.id, insights)
        self.stats.add("completed_conversations")

    # --- results --------------------------------------------------------------------------------------------

    async def _emit(self, websocket: WebSocket, live: LiveConversation, event: Interim | Final) -> None:
        user = _user(live.start)
        if isinstance(event, Interim):
            self.stats.add("interim_results")
            await websocket.send_json(_recognition_result(event.hypothesis, user, final=False))
            return
        self.stats.add("final_results")
        live.segments.append((event.index, event.word_indices))
        await websocket.send_json(_recognition_result(event.hypothesis, user, final=True))
        insights = await asyncio.to_thread(self._analyze_one, live, event.utterance)
        for payload in _typed_results(live, insights, event.utterance):
            await websocket.send_json(payload)
            self.stats.add(payload["type"])

    def _analyze_one(self, live: LiveConversation, utterance: Utterance) -> dict[str, Any]:
        start = live.start
        options = SubmitOptions(
            confidence_threshold=start.confidence_threshold,
            detect_entities=start.detect_entities,
            trackers=start.trackers,
            enable_all_trackers=start.enable_all_trackers,
        )
        # A per-message id namespace so that message and insight ids do not repeat across the call.
        scratch = Conversation(
            id=f"{live.id}-{len(live.segments)}",
            name=None,
            start_time=live.conversation.start_time,
            created_at=0.0,
            metadata={},
            insights=None,
        )
        return self.ctx.insights.analyze(scratch, [utterance], options)


def _token(websocket: WebSocket) -> tuple[str | None, str | None]:
    """The token from ``access_token``, ``X-API-KEY`` or the requested subprotocol (then echoed)."""
    token = websocket.query_params.get("access_token") or websocket.headers.get("x-api-key")
    if token:
        return token.strip(), None
    for offered in websocket.scope.get("subprotocols") or ():
        if offered.strip():
            return offered.strip(), offered
    return None, None


async def _drop(websocket: WebSocket) -> None:
    """End the connection the way a dead path looks to the client: EOF without a close frame, with everything
    the server sent before it delivered, and the audio the client sends from here on thrown away.

    The server half-closes (FIN) and keeps reading, discarding, until the client hangs up: a plain close would
    make the kernel answer the client's next audio with a reset, and a reset discards what the client had not
    read yet, final results included, which no client can recover from without an acknowledgement.
    """
    raw_send = websocket.scope.get(RAW_SEND_KEY)
    transport = getattr(getattr(raw_send, "__self__", None), "transport", None)
    if transport is None:
        raise _Dropped("injected drop")
    if not transport.can_write_eof():
        transport.close()
        return
    transport.write_eof()
    try:
        async with asyncio.timeout(10):
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
    except (TimeoutError, RuntimeError):
        pass
    finally:
        transport.close()


def _user(start: StartRequest) -> dict[str, Any]:
    speaker = start.speaker
    user_id = speaker.get("userId") if isinstance(speaker.get("userId"), str) else None
    name = speaker.get("name") if isinstance(speaker.get("name"), str) else None
    return {"userId": user_id, "name": name, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, user_id or name or ""))}


def _recognition_result(hypothesis: Hypothesis, user: dict[str, Any], *, final: bool) -> dict[str, Any]:
    words = hypothesis.words()
    transcript = " ".join(h.word.text for h in words)
    return {
        "type": "message",
        "message": {
            "type": "recognition_result",
            "isFinal": final,
            "payload": {
                "raw": {
                    "alternatives": [
                        {
                            "words": [
                                {
                                    "word": h.word.text,
                                    "startTime": duration_object(
                                        max(0.0, h.connection_end - (h.word.end - h.word.start))
                                    ),
                                    "endTime": duration_object(h.connection_end),
                                }
                                for h in words
                            ],
                            "transcript": transcript,
                            "confidence": 0.95,
                        }
                    ]
                }
            },
            "punctuated": {"transcript": transcript},
            "user": user,
        },
        "timeOffset": words[-1].word.end if words else 0.0,
    }


def _typed_results(
    live: LiveConversation, insights: dict[str, Any], utterance: Utterance
) -> list[dict[str, Any]]:
    start = live.start
    out: list[dict[str, Any]] = []
    messages = []
    for m in insights["messages"]:
        messages.append(
            {
                "from": {k: m["from"].get(k) for k in ("id", "name", "userId")},
                "payload": {"content": m["text"], "contentType": "text/plain"},
                "id": m["id"],
                "channel": {"id": "0"},
                "metadata": {"disablePunctuation": False, "originalContent": m["text"]},
                "dismissed": False,
                "duration": {
                    "startTime": m["startTime"],
                    "endTime": m["endTime"],
                    "timeOffset": m["timeOffset"],
                    "duration": m["duration"],
                },
            }
        )
    if messages:
        out.append({"type": "message_response", "messages": messages, "sequenceNumber": live.next_sequence()})
    insight_items = []
    for key, kind in (
        ("questions", "question"),
        ("action_items", "action_item"),
        ("follow_ups", "follow_up"),
    ):
        if kind not in start.insight_types:
            continue
        for item in insights[key]:
            if kind == "action_item" and item.get("type") == "follow_up":
                continue  # follow-ups are listed among action items too; send each once
            insight_items.append(
                {
                    "id": item["id"],
                    "type": kind,
                    "text": item["text"],
                    "payload": {"content": item["text"], "contentType": "text/plain"},
                    "confidence": item.get("score", 0.5),
                    "hints": [],
                    "tags": [],
                    "from": item.get("from"),
                    "assignee": item.get("assignee"),
                    "dismissed": False,
                    "messageReference": {"id": (item.get("messageIds") or [None])[0]},
                    "timeOffset": utterance.start,
                }
            )
    if insight_items:
        out.append(
            {"type": "insight_response", "insights": insight_items, "sequenceNumber": live.next_sequence()}
        )
    if "topic" in start.insight_types and insights["topics"]:
        topics = [
            {
                "id": t["id"],
                "type": "topic",
                "phrases": t["text"],
                "rootWords": [{"text": w} for w in t["text"].split()],
                "score": t["score"],
                "messageReferences": [
                    {"id": i, "relation": "text instance"} for i in t.get("messageIds", [])
                ],
            }
            for t in insights["topics"]
        ]
        out.append({"type": "topic_response", "topics": topics})
    if insights["trackers"]:
        trackers = [
            {"name": t["name"], "id": t.get("id"), "matches": t["matches"]} for t in insights["trackers"]
        ]
        out.append(
            {"type": "tracker_response", "isFinal": True, "trackers": trackers, "timeOffset": utterance.start}
        )
    if start.detect_entities and insights["entities"]:
        out.append({"type": "entity_response", "entities": insights["entities"]})
    return out
