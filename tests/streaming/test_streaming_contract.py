"""The sandbox's Streaming API over real WebSockets on loopback: URL forms, auth forms, control messages,
frame limit, keep-alive, the connection limit and reconnection (``docs/symbl-api.md`` "Streaming API")."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sandbox.speech_carrier import render
from sandbox.transcript import Speaker, Transcript, Utterance
from tests.conftest import symbl_token_for
from tests.streaming.calls import messages_text, stats, ws_json

SPEAKER = Speaker("Maya Chen", "maya@acme.example", "maya@acme.example")
TRANSCRIPT = Transcript(
    (
        Utterance(SPEAKER, "Can you send me the pricing sheet by Friday?", 0.3, 2.3),
        Utterance(SPEAKER, "We will refund within thirty days.", 2.6, 4.4),
    )
)


def ws_base(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/symbl"


def start_request(rate: int = 16000, encoding: str = "LINEAR16", **extra: object) -> str:
    return json.dumps(
        {
            "type": "start_request",
            "insightTypes": ["question", "action_item"],
            "config": {"speechRecognition": {"encoding": encoding, "sampleRateHertz": rate}},
            **extra,
        }
    )


async def send_audio(websocket, audio: bytes, frame: int = 8192) -> None:
    for i in range(0, len(audio), frame):
        await websocket.send(audio[i : i + frame])


@pytest.mark.parametrize("path", ["/v1/streaming", "/v1/realtime/insights"])
@pytest.mark.parametrize("auth", ["query", "header", "subprotocol"])
def test_both_paths_and_every_token_form_open_a_conversation(sandbox: str, path: str, auth: str) -> None:
    token = symbl_token_for(sandbox)
    url = f"{ws_base(sandbox)}{path}/conn-{auth}-1"
    kwargs: dict = {}
    if auth == "query":
        url += f"?access_token={token}&source=sdk"  # source= is ignored
    elif auth == "header":
        kwargs["additional_headers"] = {"X-API-KEY": token}
    else:
        kwargs["subprotocols"] = [token]

    async def scenario() -> None:
        async with connect(url, **kwargs) as websocket:
            # The JS SDK's handshake fails unless the offered subprotocol is selected.
            assert websocket.subprotocol == (token if auth == "subprotocol" else None)
            await websocket.send(start_request())
            started = await ws_json(websocket, "recognition_started")
            created = await ws_json(websocket, "conversation_created")
            conversation_id = started["message"]["data"]["conversationId"]
            assert created["message"]["data"]["conversationId"] == conversation_id
            await websocket.send(json.dumps({"type": "stop_request"}))
            completed = await ws_json(websocket, "conversation_completed")
            assert (
                completed["conversationId"]
                == completed["message"]["data"]["conversationId"]
                == conversation_id
            )

    asyncio.run(scenario())


@pytest.mark.parametrize("credential", ["missing", "garbage"])
def test_bad_or_missing_token_is_refused_at_the_handshake(sandbox: str, credential: str) -> None:
    query = "" if credential == "missing" else "?access_token=not-a-token"

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{ws_base(sandbox)}/v1/streaming/conn-badtoken{query}"):
                pass
        assert refused.value.response.status_code == 401
        assert b"Token validation failed" in refused.value.response.body

    asyncio.run(scenario())
    assert stats(sandbox)["refused_401"] == 1


def test_invalid_connection_id_is_refused(sandbox: str) -> None:
    token = symbl_token_for(sandbox)

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{ws_base(sandbox)}/v1/streaming/abc?access_token={token}"):
                pass
        assert refused.value.response.status_code == 400

    asyncio.run(scenario())


def test_python_sdk_connection_ids_with_base64_padding_are_accepted(sandbox: str) -> None:
    token = symbl_token_for(sandbox)

    async def scenario() -> None:
        async with connect(
            f"{ws_base(sandbox)}/v1/realtime/insights/YWJjZGVmZ2g+aQ==?access_token={token}"
        ) as ws:
            await ws.send(start_request())
            await ws_json(ws, "conversation_created")

    asyncio.run(scenario())


def test_recognition_stop_in_python_repr_form_and_the_conversation_api(sandbox: str) -> None:
    token = symbl_token_for(sandbox)
    audio = render(TRANSCRIPT, "LINEAR16", 16000)

    async def scenario() -> tuple[str, list[dict]]:
        async with connect(f"{ws_base(sandbox)}/v1/streaming/conn-repr-1?access_token={token}") as ws:
            await ws.send(start_request())
            created = await ws_json(ws, "conversation_created")
            await send_audio(ws, audio)
            await ws.send("{'type': 'stop_request'}")  # the Python SDK's form
            seen: list[dict] = []
            async for raw in ws:
                message = json.loads(raw)
                seen.append(message)
            return created["message"]["data"]["conversationId"], seen

    conversation_id, seen = asyncio.run(scenario())
    kinds = [m["type"] if m["type"] != "message" else m["message"]["type"] for m in seen]
    assert kinds[-1] == "conversation_completed"
    finals = [m for m in seen if m["type"] == "message" and m["message"].get("isFinal")]
    assert [f["message"]["punctuated"]["transcript"] for f in finals] == [
        u.text for u in TRANSCRIPT.utterances
    ]
    assert any(m["type"] == "message" and m["message"].get("isFinal") is False for m in seen)  # interim too
    live_messages = [
        m["payload"]["content"] for r in seen if r["type"] == "message_response" for m in r["messages"]
    ]
    assert live_messages == [u.text for u in TRANSCRIPT.utterances]
    insights = [i for r in seen if r["type"] == "insight_response" for i in r["insights"]]
    assert insights and all(i["text"] == i["payload"]["content"] for i in insights)
    with httpx.Client(base_url=f"{sandbox}/symbl", headers={"Authorization": f"Bearer {token}"}) as symbl:
        assert messages_text(symbl, conversation_id) == [u.text for u in TRANSCRIPT.utterances]
        assert symbl.get(f"/v1/conversations/{conversation_id}/action-items").json()["actionItems"]


def test_audio_before_start_request_is_ignored(sandbox: str) -> None:
    token = symbl_token_for(sandbox)
    audio = render(TRANSCRIPT, "LINEAR16", 16000)

    async def scenario() -> list[str]:
        async with connect(f"{ws_base(sandbox)}/v1/streaming/conn-early-1?access_token={token}") as ws:
            await send_audio(ws, audio)  # all of the call, before start: never heard
            await ws.send(start_request())
            await ws.send(json.dumps({"type": "stop_request"}))
            done = await ws_json(ws, "conversation_completed")
            return [done["conversationId"]]

    (conversation_id,) = asyncio.run(scenario())
    assert stats(sandbox)["ignored_audio_bytes"] == len(audio)
    with httpx.Client(base_url=f"{sandbox}/symbl", headers={"Authorization": f"Bearer {token}"}) as symbl:
        assert messages_text(symbl, conversation_id) == []


def test_frames_over_8192_bytes_are_refused_with_an_error_and_close_1009(sandbox: str) -> None:
    token = symbl_token_for(sandbox)

    async def scenario() -> None:
        async with connect(f"{ws_base(sandbox)}/v1/streaming/conn-big-1?access_token={token}") as ws:
            await ws.send(start_request())
            await ws_json(ws, "started_listening")
            await ws.send(b"\x00" * 8192)  # at the limit: fine
            await ws.send(b"\x00" * 8193)
            error = await ws_json(ws, "error")
            assert "8192" in error["message"]["details"]
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1009

    asyncio.run(scenario())
    counted = stats(sandbox)
    assert counted["frames_too_large"] == 1 and counted["audio_bytes"] == 8192


def test_ping_gets_pong_and_a_bad_control_message_gets_an_error(sandbox: str) -> None:
    token = symbl_token_for(sandbox)

    async def scenario() -> None:
        async with connect(f"{ws_base(sandbox)}/v1/streaming/conn-ping-1?access_token={token}") as ws:
            await ws.send("__PING__")
            assert await asyncio.wait_for(ws.recv(), 5) == "__PONG__"
            await ws.send("this is not a control message")
            assert (await ws_json(ws, "error"))["message"]["type"] == "error"
            await ws.send(start_request(rate=44100, encoding="MULAW"))  # MULAW is 8 kHz only
            assert "MULAW" in (await ws_json(ws, "error"))["message"]["details"]
            await ws.send("__PING__")  # the socket is still open
            assert await asyncio.wait_for(ws.recv(), 5) == "__PONG__"

    asyncio.run(scenario())
    assert stats(sandbox)["pings"] == 2


def test_modify_request_changes_the_rate_the_audio_is_read_at(sandbox: str) -> None:
    token = symbl_token_for(sandbox)
    audio_16k = render(TRANSCRIPT, "LINEAR16", 16000)

    async def call(connection_id: str, modify: bool) -> str:
        async with connect(f"{ws_base(sandbox)}/v1/streaming/{connection_id}?access_token={token}") as ws:
            await ws.send(start_request(rate=8000))  # declares 8 kHz ...
            if modify:
                await ws.send(
                    json.dumps({"type": "modify_request", "speechRecognition": {"sampleRateHertz": 16000}})
                )
            await send_audio(ws, audio_16k)  # ... then sends 16 kHz audio
            await ws.send(json.dumps({"type": "stop_request"}))
            return (await ws_json(ws, "conversation_completed"))["conversationId"]

    unmodified = asyncio.run(call("conn-nomodify", modify=False))
    modified = asyncio.run(call("conn-modify-1", modify=True))
    with httpx.Client(base_url=f"{sandbox}/symbl", headers={"Authorization": f"Bearer {token}"}) as symbl:
        assert messages_text(symbl, unmodified) == []  # audio at the wrong rate is noise
        assert messages_text(symbl, modified) == [u.text for u in TRANSCRIPT.utterances]
    counted = stats(sandbox)
    assert counted["modify_requests"] == 1 and counted["garbled_frames"] > 0


def test_mulaw_at_8khz_is_recognised(sandbox: str) -> None:
    token = symbl_token_for(sandbox)
    audio = render(TRANSCRIPT, "MULAW", 8000)

    async def scenario() -> str:
        async with connect(f"{ws_base(sandbox)}/v1/streaming/conn-mulaw-1?access_token={token}") as ws:
            await ws.send(start_request(rate=8000, encoding="MULAW"))
            await send_audio(ws, audio, frame=160 * 10)
            await ws.send(json.dumps({"type": "stop_request"}))
            return (await ws_json(ws, "conversation_completed"))["conversationId"]

    conversation_id = asyncio.run(scenario())
    with httpx.Client(base_url=f"{sandbox}/symbl", headers={"Authorization": f"Bearer {token}"}) as symbl:
        assert messages_text(symbl, conversation_id) == [u.text for u in TRANSCRIPT.utterances]


@pytest.mark.sandbox_config(streaming_connection_limit=2)
def test_concurrent_connection_limit_refuses_with_429_until_one_closes(sandbox: str) -> None:
    token = symbl_token_for(sandbox)
    url = f"{ws_base(sandbox)}/v1/streaming/conn-limit-{{}}?access_token={token}"

    async def scenario() -> None:
        first = await connect(url.format(1))
        second = await connect(url.format(2))
        with pytest.raises(InvalidStatus) as refused:
            await connect(url.format(3))
        assert refused.value.response.status_code == 429
        assert b"concurrent" in refused.value.response.body
        await first.close()
        await asyncio.sleep(0.1)
        third = await connect(url.format(3))  # a slot is free again
        await third.close()
        await second.close()

    asyncio.run(scenario())
    assert stats(sandbox)["refused_429"] == 1


@pytest.mark.sandbox_config(fault_ws_refuse_next=1)
def test_injected_refusal_is_a_503_at_the_handshake(sandbox: str) -> None:
    token = symbl_token_for(sandbox)

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"{ws_base(sandbox)}/v1/streaming/conn-refuse-1?access_token={token}")
        assert refused.value.response.status_code == 503
        ok = await connect(f"{ws_base(sandbox)}/v1/streaming/conn-refuse-1?access_token={token}")
        await ok.close()

    asyncio.run(scenario())
    assert stats(sandbox)["fault_refused"] == 1


@pytest.mark.parametrize("timeout", [30, 0])
def test_reconnect_within_no_connection_timeout_continues_the_conversation(
    sandbox: str, timeout: int
) -> None:
    token = symbl_token_for(sandbox)
    url = f"{ws_base(sandbox)}/v1/streaming/conn-again-{timeout}?access_token={token}"

    async def scenario() -> tuple[str, str]:
        async with connect(url) as ws:
            await ws.send(start_request(noConnectionTimeout=timeout))
            first = (await ws_json(ws, "conversation_created"))["message"]["data"]["conversationId"]
        await asyncio.sleep(0.2)
        async with connect(url) as ws:
            await ws.send(start_request(noConnectionTimeout=timeout))
            second = (await ws_json(ws, "conversation_created"))["message"]["data"]["conversationId"]
        return first, second

    first, second = asyncio.run(scenario())
    if timeout:
        assert first == second and stats(sandbox)["resumed_conversations"] == 1
    else:  # without a grace period a dropped socket ends the conversation
        assert first != second and stats(sandbox)["expired_conversations"] == 2  # both ended by their drop


def test_stall_fault_stops_the_server_reading(sandbox: str, tmp_path: Path) -> None:
    token = symbl_token_for(sandbox)
    httpx.put(f"{sandbox}/_sandbox/faults", json={"fault_ws_stall_rate": 1.0, "fault_ws_stall_seconds": 0.5})

    async def scenario() -> float:
        async with connect(f"{ws_base(sandbox)}/v1/streaming/conn-stall-1?access_token={token}") as ws:
            await ws.send(start_request())
            await ws_json(ws, "started_listening")
            await ws.send(b"\x00" * 320)
            loop = asyncio.get_running_loop()
            began = loop.time()
            await ws.send("__PING__")
            assert await asyncio.wait_for(ws.recv(), 5) == "__PONG__"
            return loop.time() - began

    assert asyncio.run(scenario()) >= 0.4
    assert stats(sandbox)["fault_stalls"] == 1


def test_with_disconnect_on_stop_false_a_new_start_resumes_the_same_conversation(sandbox: str) -> None:
    from sandbox.speech_carrier import preamble_seconds

    token = symbl_token_for(sandbox)
    audio = render(TRANSCRIPT, "LINEAR16", 16000)
    split = int((preamble_seconds(TRANSCRIPT, 16000) + 2.45) * 16000) * 2  # in the pause between the two

    async def scenario() -> tuple[str, str]:
        async with connect(f"{ws_base(sandbox)}/v1/streaming/conn-resume-1?access_token={token}") as ws:
            await ws.send(start_request(disconnectOnStopRequest=False))
            await send_audio(ws, audio[:split])
            await ws.send(json.dumps({"type": "stop_request"}))
            first = (await ws_json(ws, "conversation_completed"))["conversationId"]
            await ws.send(start_request(disconnectOnStopRequest=False))  # the socket stayed open
            await send_audio(ws, audio[split:])
            await ws.send(json.dumps({"type": "stop_request"}))
            second = (await ws_json(ws, "conversation_completed"))["conversationId"]
            return first, second

    first, second = asyncio.run(scenario())
    assert first == second
    with httpx.Client(base_url=f"{sandbox}/symbl", headers={"Authorization": f"Bearer {token}"}) as symbl:
        assert messages_text(symbl, first) == [u.text for u in TRANSCRIPT.utterances]
