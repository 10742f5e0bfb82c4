"""Live calls through our streaming client against the sandbox, over real WebSockets on loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from orchestration.defs.streaming.client import (
    LiveCall,
    LiveCallConfig,
    paced,
    streaming_url,
    symbl_token_provider,
)
from orchestration.defs.streaming.eventlog import read_events
from sandbox.config import SandboxConfig
from sandbox.speech_carrier import render
from sandbox.transcript import Transcript
from tests.conftest import symbl_token_for
from tests.streaming.calls import async_api_transcript, demo_call, messages_text, stats


def live_call(sandbox: str, tmp_path: Path, transcript: Transcript, speed: float, call_id: str) -> dict:
    config = SandboxConfig()
    call = LiveCall(
        LiveCallConfig(
            ws_base_url=streaming_url(f"{sandbox}/symbl"),
            connection_id=f"conn-{call_id}",
            live_dir=tmp_path / "live",
            call_id=call_id,
            encoding="LINEAR16",
            sample_rate=16000,
            ping_interval_seconds=1.0,
            ping_timeout_seconds=2.0,
        ),
        symbl_token_provider(f"{sandbox}/symbl", config.symbl_app_id, config.symbl_app_secret),
    )
    audio = render(transcript, "LINEAR16", 16000)
    return asyncio.run(call.run(paced(audio, 32000, speed))).as_dict()


def symbl_client(sandbox: str) -> httpx.Client:
    token = symbl_token_for(sandbox)
    return httpx.Client(base_url=f"{sandbox}/symbl", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def message_responses(event_log: str) -> list[tuple[int, str]]:
    """(connection, text) of every live message_response, in order."""
    return [
        (record["connection"], message["payload"]["content"])
        for record in read_events(Path(event_log))
        if record["kind"] == "server" and record["event"].get("type") == "message_response"
        for message in record["event"]["messages"]
    ]


def test_a_call_streamed_at_8x_ends_with_the_async_api_transcript(sandbox: str, tmp_path: Path) -> None:
    wav, transcript = demo_call(tmp_path, max_seconds=30)
    result = live_call(sandbox, tmp_path, transcript, speed=8, call_id="eightx")
    assert result["completed"] and not result["lost_audio"] and result["connections"] == 1
    with symbl_client(sandbox) as symbl:
        expected = async_api_transcript(symbl, wav)
        assert len(expected) >= 4
        assert messages_text(symbl, result["conversation_id"]) == expected
    # The live messages came while streaming, and they are the same sentences.
    assert [text for _, text in message_responses(result["event_log"])] == expected


@pytest.mark.sandbox_config(fault_ws_drop_limit=3)
def test_three_dropped_sockets_lose_and_duplicate_nothing(sandbox: str, tmp_path: Path) -> None:
    wav, transcript = demo_call(tmp_path, max_seconds=40)
    audio_bytes = len(render(transcript, "LINEAR16", 16000))
    # Each connection is dropped once it has received a third of the call: three drops, four connections.
    httpx.put(
        f"{sandbox}/_sandbox/faults", json={"fault_ws_drop_after_bytes": audio_bytes // 3}
    ).raise_for_status()
    result = live_call(sandbox, tmp_path, transcript, speed=40, call_id="drops")

    counted = stats(sandbox)
    assert counted["fault_drops"] == 3 and counted["resumed_conversations"] == 3
    assert result["drops"] == 3 and result["connections"] == 4
    assert result["completed"] and not result["lost_audio"] and result["resent_bytes"] > 0
    assert len(result["conversation_ids"]) == 1 and counted["conversations"] == 1
    with symbl_client(sandbox) as symbl:
        expected = async_api_transcript(symbl, wav)
        assert messages_text(symbl, result["conversation_id"]) == expected  # none missing, none twice
    live = message_responses(result["event_log"])
    assert [text for _, text in live] == expected
    # Live events from before and after every drop are in the log.
    assert {connection for connection, _ in live} == {1, 2, 3, 4}
    drops = [r for r in read_events(Path(result["event_log"])) if r["event"].get("type") == "dropped"]
    assert len(drops) == 3


def test_event_log_records_are_durable_json_lines_in_order(sandbox: str, tmp_path: Path) -> None:
    _, transcript = demo_call(tmp_path, max_seconds=15)
    result = live_call(sandbox, tmp_path, transcript, speed=50, call_id="log")
    lines = Path(result["event_log"]).read_bytes().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    kinds = [r["event"].get("type") for r in records]
    assert kinds[0] == "connected" and kinds[-1] == "ended"
    summary = json.loads((tmp_path / "live" / "calls" / "log.json").read_text())
    assert summary["conversation_id"] == result["conversation_id"] and summary["completed"]
    assert (tmp_path / "live" / "audio" / "log.raw").stat().st_size == result["audio_bytes"]


@pytest.mark.sandbox_config(fault_ws_stall_seconds=4.0)
def test_a_stalled_server_is_detected_by_ping_and_the_call_continues(sandbox: str, tmp_path: Path) -> None:
    wav, transcript = demo_call(tmp_path, max_seconds=15)
    httpx.put(f"{sandbox}/_sandbox/faults", json={"fault_ws_stall_rate": 0.02, "fault_seed": 3})
    result = live_call(sandbox, tmp_path, transcript, speed=20, call_id="stall")
    counted = stats(sandbox)
    assert counted.get("fault_stalls", 0) >= 1
    assert result["completed"] and result["connections"] >= 2
    stalled = [r for r in read_events(Path(result["event_log"])) if r["event"].get("error") == "_Stalled"]
    assert stalled  # the client noticed through __PING__, not through a closed socket
    with symbl_client(sandbox) as symbl:
        assert messages_text(symbl, result["conversation_id"]) == async_api_transcript(symbl, wav)
