"""Audio sources for live calls: ``convo-intel live FILE`` and the Twilio Media Streams bridge."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from orchestration.defs.streaming.calls import LiveSettings
from orchestration.defs.streaming.twilio_bridge import TwilioBridge
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp
from sandbox.speech_carrier import render
from tests.conftest import symbl_token_for
from tests.streaming.calls import async_api_transcript, demo_call, messages_text

BRIDGE_TOKEN = "bridge-token-0123456789"


def symbl_client(sandbox: str) -> httpx.Client:
    token = symbl_token_for(sandbox)
    return httpx.Client(base_url=f"{sandbox}/symbl", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_convo_intel_live_plays_a_manifest_s_media_as_a_live_call(sandbox: str, tmp_path: Path) -> None:
    wav, _ = demo_call(tmp_path, max_seconds=20)
    root = tmp_path / "drop"
    (root / "manifests").mkdir(parents=True)
    (root / "media").mkdir()
    wav.rename(root / "media" / "call.wav")
    manifest = {
        "recording_id": "rec-live-0001",
        "start_time": "2026-04-07T15:00:00Z",
        "title": "Live discovery",
        "host": {"name": "Maya Chen", "email": "maya@lumen.example"},
        "participants": [{"name": "Maya Chen", "email": "maya@lumen.example"}],
        "media": {"kind": "audio_file", "path": "media/call.wav"},
    }
    (root / "manifests" / "rec-live-0001.json").write_text(json.dumps(manifest))
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "SYMBL_BASE_URL": f"{sandbox}/symbl",
        "CONVO_INTEL_LIVE_DIR": str(tmp_path / "live"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "convo_intel.cli",
            "live",
            str(root / "manifests" / "rec-live-0001.json"),
            "--speed",
            "40",
            "--encoding",
            "MULAW",
            "--sample-rate",
            "8000",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["call_id"] == "rec-live-0001" and result["completed"]
    summary = json.loads((tmp_path / "live" / "calls" / "rec-live-0001.json").read_text())
    assert summary["manifest"]["title"] == "Live discovery"
    with symbl_client(sandbox) as symbl:
        expected = async_api_transcript(symbl, root / "media" / "call.wav")
        assert messages_text(symbl, result["conversation_id"]) == expected
        conversation = symbl.get(f"/v1/conversations/{result['conversation_id']}").json()
        assert conversation["name"] == "Live discovery"


def test_a_call_played_into_the_twilio_bridge_reaches_symbl(sandbox: str, tmp_path: Path) -> None:
    wav, transcript = demo_call(tmp_path, max_seconds=20)
    config = SandboxConfig()
    settings = LiveSettings(
        f"{sandbox}/symbl", config.symbl_app_id, config.symbl_app_secret, tmp_path / "live"
    )
    bridge = TwilioBridge(settings, BRIDGE_TOKEN)
    audio = render(transcript, "MULAW", 8000)

    async def twilio(url: str) -> None:
        """What Twilio sends for one call: connected, start, a media message per 20 ms, stop (at 25x)."""
        async with connect(url) as ws:
            await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            start = {
                "streamSid": "MZ0001",
                "accountSid": "AC0001",
                "callSid": "CA0001",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": {
                    "recording_id": "rec-twilio-0001",
                    "title": "Support line",
                    "host_name": "Refund Bot",
                    "host_email": "bot@lumen.example",
                    "agent_type": "ai",
                },
            }
            await ws.send(
                json.dumps({"event": "start", "sequenceNumber": "1", "start": start, "streamSid": "MZ0001"})
            )
            for chunk, i in enumerate(range(0, len(audio), 160), start=1):
                media = {
                    "track": "inbound",
                    "chunk": str(chunk),
                    "timestamp": str(chunk * 20),
                    "payload": base64.b64encode(audio[i : i + 160]).decode(),
                }
                await ws.send(
                    json.dumps(
                        {
                            "event": "media",
                            "sequenceNumber": str(chunk + 1),
                            "media": media,
                            "streamSid": "MZ0001",
                        }
                    )
                )
                if chunk % 25 == 0:
                    await asyncio.sleep(0.02)  # 25 x 20 ms of audio every 20 ms: 25x real time
            await ws.send(
                json.dumps(
                    {
                        "event": "stop",
                        "sequenceNumber": "999",
                        "stop": {"accountSid": "AC0001", "callSid": "CA0001"},
                        "streamSid": "MZ0001",
                    }
                )
            )

    with ServedApp(bridge.app()) as served:
        base = served.base_url.replace("http://", "ws://")
        with pytest.raises(InvalidStatus) as refused:
            asyncio.run(twilio(f"{base}/twilio/media-stream/wrong-token-0000000"))
        assert refused.value.response.status_code == 404
        asyncio.run(twilio(f"{base}/twilio/media-stream/{BRIDGE_TOKEN}"))
        summary_path = tmp_path / "live" / "calls" / "rec-twilio-0001.json"
        for _ in range(200):
            if summary_path.exists():
                break
            asyncio.run(asyncio.sleep(0.05))
    summary = json.loads(summary_path.read_text())
    assert summary["completed"] and summary["encoding"] == "MULAW"
    assert summary["manifest"]["agent"] == {"type": "ai", "id": None}
    with symbl_client(sandbox) as symbl:
        assert messages_text(symbl, summary["conversation_id"]) == async_api_transcript(symbl, wav)
