"""A live call over Symbl's Streaming API that survives dropped sockets.

One ``LiveCall`` streams one call's audio to one connectionId. When the socket drops (or the server stops
answering ``__PING__``), it reconnects with backoff and a fresh token to the *same* connectionId, re-sends the
same ``start_request`` (Symbl continues the conversation within ``noConnectionTimeout``) and re-sends audio.

What is re-sent, and why: the protocol acknowledges no audio, so the client keeps the call's audio itself and
re-sends everything after the end of the last *final* recognition result it received. Audio before that point
is already part of a final result; re-sending it would be recognised a second time (the service cannot tell
re-sent audio from new speech), so it is never re-sent: that is how duplicates are avoided. Audio after it was
either never received by the service or only produced interim results, which the service discards with the
dead socket, so re-sending it loses nothing. Known limit: speech that overlaps the end of the last final
result (two people talking at once at the moment of a drop) can lose the overlapped words.

Final-result times are seconds of audio on the connection that produced them, so each connection remembers
which byte of the call it started at. Every server message is written, fsync'ed, to the call's event log
before it is acted on (``eventlog.py``). Nothing here touches the warehouse.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from orchestration.defs.streaming.eventlog import EventLog, call_paths, write_summary

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 8192
PING, PONG = "__PING__", "__PONG__"

TokenProvider = Callable[[], Awaitable[str]]
EventHook = Callable[[dict[str, Any]], Awaitable[None]]


class StreamLost(Exception):
    """The call could not be completed live: reconnection failed or the service started a new conversation."""


class _Stalled(Exception):
    """The server stopped answering ``__PING__``."""


def symbl_token_provider(base_url: str, app_id: str, app_secret: str, timeout: float = 10.0) -> TokenProvider:
    """The account's token for each (re)connect: the process-wide one the batch client uses too (one token per
    account per run), replaced ahead of its expiry, so a reconnect after a long outage never sends an expired one."""
    from orchestration.defs.symbl.client import (
        SymblClient,  # the batch client: its auth flow owns the token cache
    )

    async def token() -> str:
        async with SymblClient(base_url, app_id, app_secret, request_timeout_seconds=timeout) as client:
            return await client.access_token()

    return token


def streaming_url(base_url: str) -> str:
    """``http(s)://host/symbl`` -> ``ws(s)://host/symbl`` (the REST and WebSocket hosts are the same)."""
    if base_url.startswith("https://"):
        return "wss://" + base_url[len("https://") :].rstrip("/")
    if base_url.startswith("http://"):
        return "ws://" + base_url[len("http://") :].rstrip("/")
    return base_url.rstrip("/")


@dataclass(frozen=True)
class Reconnect:
    initial_seconds: float = 0.1
    factor: float = 2.0
    max_seconds: float = 5.0
    max_attempts: int = 20  # consecutive failed attempts before the call is declared lost

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_seconds, self.initial_seconds * self.factor ** min(attempt, 32))
        return ceiling * (0.5 + random.random() / 2)  # half jitter: never zero, never in lock-step


@dataclass(frozen=True)
class LiveCallConfig:
    ws_base_url: str  # e.g. ws://127.0.0.1:8765/symbl
    connection_id: str
    live_dir: Path
    call_id: str
    encoding: str = "LINEAR16"
    sample_rate: int = 16000
    start_request: dict[str, Any] = field(
        default_factory=dict
    )  # extra start_request fields (title, trackers)
    no_connection_timeout: int = 300
    ping_interval_seconds: float = 5.0
    ping_timeout_seconds: float = 10.0
    open_timeout_seconds: float = 10.0
    completion_timeout_seconds: float = 60.0
    reconnect: Reconnect = Reconnect()
    legacy_path: bool = False  # dial /v1/realtime/insights (what the SDKs use) instead of /v1/streaming
    manifest: dict[str, Any] = field(default_factory=dict)  # the call's manifest fields, kept in its summary

    @property
    def sample_width(self) -> int:
        return 2 if self.encoding == "LINEAR16" else 1

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.sample_width


@dataclass
class LiveCallResult:
    call_id: str
    connection_id: str
    conversation_id: str | None
    conversation_ids: list[str]
    completed: bool
    lost_audio: bool
    connections: int
    drops: int
    audio_bytes: int
    resent_bytes: int
    event_log: str
    audio_path: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CallAudio:
    """The call's audio as it arrives from the source: appended to a file (the recording) and kept in memory
    from the commit point on (what a reconnect may have to re-send), so memory stays flat over a long call."""

    def __init__(self, path: Path, sample_width: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "wb")  # noqa: SIM115 - held open for the whole call
        self._width = sample_width
        self._tail = bytearray()
        self._tail_start = 0
        self.total = 0
        self.ended = False
        self._changed = asyncio.Event()

    def append(self, data: bytes) -> None:
        self._file.write(data)
        self._tail += data
        self.total += len(data)
        self._changed.set()

    def end(self) -> None:
        self.ended = True
        self._file.flush()
        self._changed.set()

    def close(self) -> None:
        self._file.close()

    def read(self, position: int, size: int) -> bytes:
        offset = position - self._tail_start
        return bytes(self._tail[offset : offset + size])

    def trim(self, position: int) -> None:
        """Forget audio before ``position`` (already final: never re-sent)."""
        cut = min(position, self.total) - self._tail_start
        if cut > 0:
            del self._tail[:cut]
            self._tail_start += cut

    async def wait_beyond(self, position: int) -> None:
        while self.total <= position and not self.ended:
            self._changed.clear()
            await self._changed.wait()

    def align(self, position: int) -> int:
        return position - position % self._width


class LiveCall:
    def __init__(
        self, config: LiveCallConfig, token: TokenProvider, on_event: EventHook | None = None
    ) -> None:
        self.config = config
        self._token = token
        self._on_event = on_event
        events_path, audio_path, self._summary_path = call_paths(config.live_dir, config.call_id)
        self.events = EventLog(events_path, config.call_id)
        self.audio = CallAudio(audio_path, config.sample_width)
        self._audio_path = audio_path
        self.commit = 0  # byte of the call after which nothing is final yet
        self.conversation_id: str | None = None
        self.conversation_ids: list[str] = []
        self.connections = 0
        self.drops = 0
        self.resent = 0
        self.completed = False
        self.lost = False
        self._stop_sent = False
        self._sent_until = 0  # furthest byte ever sent (to count what reconnects re-send)
        self._send_lock = asyncio.Lock()

    # --- driving the call -----------------------------------------------------------------------------------

    async def run(self, source: AsyncIterable[bytes]) -> LiveCallResult:
        producer = asyncio.create_task(self._produce(source))
        try:
            await self._connection_loop()
        except StreamLost as exc:
            self.lost = True
            self._client_event("lost", reason=str(exc))
        finally:
            if self.lost:
                # The call goes on without Symbl: keep recording to its end, for the Async API fallback.
                await producer
            elif not producer.done():
                producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer
            self.audio.close()
        result = LiveCallResult(
            call_id=self.config.call_id,
            connection_id=self.config.connection_id,
            conversation_id=self.conversation_ids[0] if self.conversation_ids else None,
            conversation_ids=list(self.conversation_ids),
            completed=self.completed,
            lost_audio=self.lost,
            connections=self.connections,
            drops=self.drops,
            audio_bytes=self.audio.total,
            resent_bytes=self.resent,
            event_log=str(self.events.path),
            audio_path=str(self._audio_path),
        )
        self._client_event("ended", **result.as_dict())
        self.events.close()
        write_summary(
            self._summary_path,
            {
                **result.as_dict(),
                "encoding": self.config.encoding,
                "sample_rate": self.config.sample_rate,
                "manifest": self.config.manifest,
                "ended_at": time.time(),
            },
        )
        return result

    async def _produce(self, source: AsyncIterable[bytes]) -> None:
        async for chunk in source:
            self.audio.append(chunk)
        self.audio.end()

    async def _connection_loop(self) -> None:
        failures = 0
        while not self.completed:
            try:
                websocket = await self._connect()
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                failures += 1
                status = exc.response.status_code if isinstance(exc, InvalidStatus) else None
                self._client_event("connect_failed", error=type(exc).__name__, status=status)
                if failures >= self.config.reconnect.max_attempts:
                    raise StreamLost(f"no connection after {failures} attempts") from exc
                await asyncio.sleep(self.config.reconnect.delay(failures))
                continue
            failures = 0
            try:
                await self._serve(websocket)
            except (ConnectionClosed, _Stalled, OSError, TimeoutError) as exc:
                if self.completed:
                    break
                self.drops += 1
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                self._client_event("dropped", error=type(exc).__name__, close_code=code)
                await asyncio.sleep(self.config.reconnect.delay(0))
            finally:
                await websocket.close()

    async def _connect(self) -> ClientConnection:
        token = await self._token()
        path = "realtime/insights" if self.config.legacy_path else "streaming"
        url = f"{self.config.ws_base_url}/v1/{path}/{self.config.connection_id}"
        # The token goes in the X-API-KEY header, not the query string: URLs end up in proxy logs.
        websocket = await connect(
            url,
            additional_headers={"X-API-KEY": token},
            open_timeout=self.config.open_timeout_seconds,
            max_size=2**22,
        )
        self.connections += 1
        self._client_event("connected", resume_from_byte=self.commit)
        return websocket

    def _start_request(self) -> dict[str, Any]:
        request = {
            "type": "start_request",
            "insightTypes": ["question", "action_item", "follow_up", "topic"],
            **self.config.start_request,
            "noConnectionTimeout": self.config.no_connection_timeout,
            "disconnectOnStopRequest": True,
        }
        config = dict(request.get("config") or {})
        config["speechRecognition"] = {
            "encoding": self.config.encoding,
            "sampleRateHertz": self.config.sample_rate,
        }
        request["config"] = config
        return request

    async def _serve(self, websocket: ClientConnection) -> None:
        """One connection: start, re-send from the commit point, stream, stop; returns when completed."""
        await websocket.send(json.dumps(self._start_request()))
        base = self.audio.align(self.commit)  # this connection's audio time 0 is this byte of the call
        if self.connections > 1:
            self.resent += max(0, self._sent_until - base)
            self._client_event("resending", from_byte=base, sent_before_drop=self._sent_until)
        pong = asyncio.Event()
        self._send_lock = asyncio.Lock()
        sender = asyncio.create_task(self._send_audio(websocket, base))
        receiver = asyncio.create_task(self._receive(websocket, base, pong))
        pinger = asyncio.create_task(self._ping(websocket, pong))
        try:
            # The receiver returns once conversation_completed arrived; any task failing ends the connection.
            done, _ = await asyncio.wait({sender, receiver, pinger}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                receiver.result()  # completed, or the receiver's own error
                return
            error = next(t.exception() for t in done if t.exception() is not None)
            # The sender or the pinger noticed first. Before reconnecting, the receiver must act on everything
            # the service sent until then: a final result left unread would leave the commit point behind, and
            # the re-sent audio would be recognised a second time.
            sender.cancel()
            pinger.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(), self.config.ping_timeout_seconds)
            with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
                await asyncio.wait_for(asyncio.shield(receiver), self.config.ping_timeout_seconds)
            if self.completed:
                return  # conversation_completed was among the unread messages
            raise error
        finally:
            for task in (sender, receiver, pinger):
                task.cancel()
            # Their outcomes are known or irrelevant now; gather never raises with return_exceptions.
            await asyncio.gather(sender, receiver, pinger, return_exceptions=True)

    async def _send_audio(self, websocket: ClientConnection, position: int) -> None:
        self._stop_sent = False
        while True:
            await self.audio.wait_beyond(position)
            if position >= self.audio.total and self.audio.ended:
                break
            chunk = self.audio.read(position, min(MAX_FRAME_BYTES, self.audio.total - position))
            chunk = chunk[: len(chunk) - len(chunk) % self.config.sample_width]
            if not chunk:
                continue
            async with self._send_lock:
                await websocket.send(chunk)
            position += len(chunk)
            self._sent_until = max(self._sent_until, position)
        async with self._send_lock:
            await websocket.send(json.dumps({"type": "stop_request"}))
        self._stop_sent = True
        self._client_event("stop_sent", audio_bytes=self.audio.total)
        await asyncio.sleep(self.config.completion_timeout_seconds)
        raise TimeoutError("no conversation_completed after stop_request")

    async def _receive(self, websocket: ClientConnection, base: int, pong: asyncio.Event) -> None:
        async for raw in websocket:
            if raw == PONG:
                pong.set()
                continue
            try:
                message = json.loads(raw)
            except (TypeError, ValueError):
                self._client_event("unreadable", size=len(raw))
                continue
            inner = message.get("message") if message.get("type") == "message" else None
            interim = (
                isinstance(inner, dict)
                and inner.get("type") == "recognition_result"
                and not inner.get("isFinal")
            )
            # Durable before acted on; interim results are acted on by no one (group-committed with the next).
            await self.events.append_async("server", message, self.connections, durable=not interim)
            self._act(message, base)
            if self._on_event is not None:
                await self._on_event(message)
            if self.completed:
                return
        raise websocket.protocol.close_exc  # the socket closed before conversation_completed

    def _act(self, message: dict[str, Any], base: int) -> None:
        inner = message.get("message") if message.get("type") == "message" else None
        if not isinstance(inner, dict):
            return
        kind = inner.get("type")
        if kind in ("recognition_started", "conversation_created"):
            conversation_id = (inner.get("data") or {}).get("conversationId")
            if conversation_id and conversation_id not in self.conversation_ids:
                self.conversation_ids.append(conversation_id)
                if len(self.conversation_ids) > 1:
                    # The service no longer had our conversation (noConnectionTimeout ran out): what it heard
                    # before is in the first conversation and cannot be continued live.
                    raise StreamLost("the service started a new conversation on reconnect")
            self.conversation_id = conversation_id
        elif kind == "recognition_result" and inner.get("isFinal"):
            words = ((inner.get("payload") or {}).get("raw") or {}).get("alternatives", [{}])[0].get(
                "words"
            ) or []
            if words:
                end = _seconds(words[-1].get("endTime"))
                position = self.audio.align(
                    base + math.floor(end * self.config.sample_rate) * self.config.sample_width
                )
                if position > self.commit:
                    self.commit = position
                    self.audio.trim(self.commit)
        elif kind == "conversation_completed":
            self.completed = True
        elif kind == "error":
            log.warning("Symbl streaming error on %s: %s", self.config.call_id, inner.get("details"))

    async def _ping(self, websocket: ClientConnection, pong: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval_seconds)
            pong.clear()
            # One send at a time on a connection; a sender stuck on a full buffer (the server stopped reading)
            # keeps the ping from even going out, which is a stall too.
            try:
                await asyncio.wait_for(self._ping_once(websocket, pong), self.config.ping_timeout_seconds)
            except TimeoutError:
                raise _Stalled("no __PONG__") from None

    async def _ping_once(self, websocket: ClientConnection, pong: asyncio.Event) -> None:
        async with self._send_lock:
            await websocket.send(PING)
        await pong.wait()

    def record(self, kind: str, **details: Any) -> None:
        """Write a client-side record (a drop, an alert sent, a verdict) to the call's event log, fsync'ed."""
        self.events.append("client", {"type": kind, **details}, self.connections)

    _client_event = record


def _seconds(value: Any) -> float:
    if not isinstance(value, dict):
        return 0.0
    return float(value.get("seconds") or 0) + float(value.get("nanos") or 0) / 1e9


async def paced(
    audio: bytes, bytes_per_second: int, speed: float, chunk_seconds: float = 0.1
) -> AsyncIterator[bytes]:
    """``audio`` in chunks at ``speed`` times real time, each delivered once it has been "captured" (at its
    end, as a microphone or a telephony stream delivers it)."""
    chunk = max(1, int(bytes_per_second * chunk_seconds))
    chunk -= chunk % 2 if bytes_per_second % 2 == 0 else 0
    started = time.monotonic()
    for i in range(0, len(audio), chunk):
        due = started + min(len(audio), i + chunk) / bytes_per_second / speed
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield audio[i : i + chunk]
