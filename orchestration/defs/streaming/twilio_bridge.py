"""A bridge from Twilio Media Streams (and voice-agent platforms speaking the same messages) to Symbl.

Twilio opens a WebSocket to ``/twilio/media-stream/{token}`` (the ``<Stream url>`` of the call's TwiML) and
sends JSON text messages: ``connected``; ``start`` (``start.callSid``, ``start.mediaFormat`` and the
``<Parameter>`` values in ``start.customParameters``); one ``media`` per 20 ms (``media.payload``: base64
mu-law 8 kHz mono, ``media.track``, ``media.chunk``); ``stop``. Each call becomes one ``LiveCall`` with
encoding MULAW at 8000 Hz, so the bytes go to Symbl exactly as Twilio sent them, and it survives Symbl-side
drops the way every live call does (``client.py``).

The call's manifest fields come from the custom parameters (``recording_id``, ``title``, ``call_type``,
``host_name``, ``host_email``, ``agent_type``, ``agent_id``, ``start_time``); without ``recording_id`` the
call is named after its ``callSid``. Only one track is forwarded (``inbound`` by default): Symbl's stream is
mono and mixing tracks would need a decoder.

Twilio signs nothing on the WebSocket that this bridge could check without the account's auth token and the
public URL, so the URL carries an unguessable token (``CONVO_INTEL_TWILIO_BRIDGE_TOKEN``, at least 16
characters); a wrong one is answered 404, like an unknown route.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from orchestration.defs.streaming.audio import QueueSource
from orchestration.defs.streaming.calls import LiveSettings, new_live_call
from orchestration.defs.streaming.client import LiveCallResult
from orchestration.settings import LiveCallsSettings

log = logging.getLogger(__name__)

MIN_TOKEN_LENGTH = 16
_MANIFEST_PARAMETERS = ("recording_id", "title", "call_type", "language_code", "start_time")


def manifest_from_start(start: dict[str, Any]) -> dict[str, Any]:
    """A drop-folder-shaped manifest from Twilio's ``start`` message and its custom parameters."""
    params = start.get("customParameters") or {}
    params = {k: v for k, v in params.items() if isinstance(v, str)} if isinstance(params, dict) else {}
    manifest: dict[str, Any] = {k: params[k] for k in _MANIFEST_PARAMETERS if params.get(k)}
    manifest.setdefault("recording_id", str(start.get("callSid") or start.get("streamSid")))
    manifest.setdefault("start_time", datetime.now(UTC).isoformat())
    host = {"name": params.get("host_name") or "Unknown host", "email": params.get("host_email")}
    manifest["host"] = host
    participants = [{**host, "role": "agent" if params.get("agent_type") else "rep"}]
    if params.get("caller_name"):
        participants.append({"name": params["caller_name"], "role": "customer"})
    manifest["participants"] = participants
    if params.get("agent_type"):
        manifest["agent"] = {"type": params["agent_type"], "id": params.get("agent_id")}
    manifest["source"] = {
        "kind": "twilio",
        "call_sid": start.get("callSid"),
        "stream_sid": start.get("streamSid"),
    }
    return manifest


class TwilioBridge:
    def __init__(
        self,
        settings: LiveSettings,
        token: str,
        track: str = "inbound",
        call_options: dict[str, Any] | None = None,
    ) -> None:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the bridge token must be at least {MIN_TOKEN_LENGTH} characters")
        self.settings = settings
        self._token = token
        self.track = track
        self._call_options = call_options or {}
        self.results: dict[str, LiveCallResult] = {}
        self._calls: set[asyncio.Task[LiveCallResult]] = set()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/health", self._health, methods=["GET"]),
                WebSocketRoute("/twilio/media-stream/{token}", self.media_stream),
            ]
        )

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "live_calls": len(self._calls)})

    async def media_stream(self, websocket: WebSocket) -> None:
        if not hmac.compare_digest(websocket.path_params["token"].encode(), self._token.encode()):
            await websocket.send_denial_response(JSONResponse({"detail": "Not Found"}, status_code=404))
            return
        await websocket.accept()
        source = QueueSource()
        call: asyncio.Task[LiveCallResult] | None = None
        last_chunk = 0
        try:
            while True:
                try:
                    message = json.loads(await websocket.receive_text())
                except (ValueError, KeyError):
                    continue  # not a Twilio message: skip it rather than drop the caller
                event = message.get("event") if isinstance(message, dict) else None
                if event == "start" and call is None:
                    call = self._start_call(message.get("start") or {}, source)
                elif event == "media" and call is not None:
                    media = message.get("media") or {}
                    if media.get("track", "inbound") != self.track:
                        continue
                    chunk = int(media.get("chunk") or 0)
                    if chunk and last_chunk and chunk != last_chunk + 1:
                        log.warning("Twilio stream skipped from chunk %s to %s", last_chunk, chunk)
                    last_chunk = chunk or last_chunk
                    try:
                        source.put(base64.b64decode(media.get("payload") or "", validate=True))
                    except (binascii.Error, ValueError):
                        log.warning("Twilio media chunk %s is not base64; skipped", chunk)
                elif event == "stop":
                    break
        except WebSocketDisconnect:
            pass  # the caller hung up without `stop`: the call ends with the audio that came
        finally:
            source.end()
        if call is not None:
            await call  # Symbl finishes the conversation after the last audio, even if Twilio is gone

    def _start_call(self, start: dict[str, Any], source: QueueSource) -> asyncio.Task[LiveCallResult]:
        media_format = start.get("mediaFormat") or {}
        if media_format and (
            media_format.get("encoding") != "audio/x-mulaw"
            or int(media_format.get("sampleRate", 8000)) != 8000
        ):
            log.warning("Twilio mediaFormat %s is not mu-law 8 kHz; forwarding as MULAW anyway", media_format)
        manifest = manifest_from_start(start)
        call_id = manifest["recording_id"]
        live = new_live_call(
            self.settings, call_id, manifest, encoding="MULAW", sample_rate=8000, **self._call_options
        )

        async def run() -> LiveCallResult:
            result = await live.run(source)
            self.results[call_id] = result
            return result

        task = asyncio.create_task(run(), name=f"live-call-{call_id}")
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)
        return task


def serve(host: str, port: int) -> None:
    import uvicorn

    token = LiveCallsSettings().twilio_bridge_token.get_secret_value()
    bridge = TwilioBridge(LiveSettings.from_env(), token)
    uvicorn.run(bridge.app(), host=host, port=port, log_level="warning")
