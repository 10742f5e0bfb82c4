"""Demo calls for the streaming tests: a real demo-corpus call, cut short so that a test takes seconds."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from sandbox import media
from sandbox.demo_data.corpus import generate
from sandbox.transcript import Transcript


def demo_call(tmp_path: Path, max_seconds: float = 40.0, seed: int = 7) -> tuple[Path, Transcript]:
    """The first demo call of a seeded corpus, keeping the utterances that end by ``max_seconds``.

    Returns a WAV (silent, with the shortened transcript in its cvtx chunk: the Async API's input) and the
    transcript."""
    root = tmp_path / "corpus"
    generate(root, seed, 1)
    source = next((root / "media").iterdir())
    full = media.embedded_transcript(source.read_bytes())
    assert full is not None
    kept = tuple(u for u in full.utterances if u.end <= max_seconds)
    assert len(kept) >= 2, "demo call too short for the test"
    transcript = Transcript(kept, full.language_code)
    path = tmp_path / "call.wav"
    media.write_wav(path, transcript)
    return path, transcript


async def ws_json(websocket: Any, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """Read messages until one whose (inner) type is ``kind``."""
    async with asyncio.timeout(timeout):
        while True:
            raw = await websocket.recv()
            if raw == "__PONG__":
                continue
            message = json.loads(raw)
            inner = message.get("message", {}).get("type") if message.get("type") == "message" else None
            if kind in (message.get("type"), inner):
                return message


def messages_text(symbl: httpx.Client, conversation_id: str) -> list[str]:
    response = symbl.get(f"/v1/conversations/{conversation_id}/messages")
    response.raise_for_status()
    return [m["text"] for m in response.json()["messages"]]


def async_api_transcript(symbl: httpx.Client, wav: Path) -> list[str]:
    """What the Async API makes of the same media: submit, wait for the job, read the messages."""
    submitted = symbl.post(
        "/v1/process/audio", content=wav.read_bytes(), headers={"Content-Type": "audio/wav"}
    )
    assert submitted.status_code == 201, submitted.text
    body = submitted.json()
    for _ in range(200):
        status = symbl.get(f"/v1/job/{body['jobId']}").json()["status"]
        if status in ("completed", "failed"):
            break
        time.sleep(0.05)
    assert status == "completed"
    return messages_text(symbl, body["conversationId"])


def stats(base_url: str) -> dict[str, int]:
    return dict(httpx.get(f"{base_url}/_sandbox/stats").json()["streaming"])
