"""Live calls through the pipeline: event logs -> live_calls_job -> raw.live_call_events / raw.live_calls, the
ledger and the drop folder -> the ordinary ingest job (signals fetched, scored, never resubmitted), and the
Async API fallback when a stream lost audio. Real Dagster runs, the sandbox over loopback, a real DuckDB file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from orchestration.defs.streaming.calls import LiveSettings, new_live_call
from orchestration.defs.streaming.client import paced
from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.media import write_wav
from sandbox.server import ServedApp
from sandbox.speech_carrier import render
from sandbox.transcript import Transcript, Utterance
from tests.streaming.calls import async_api_transcript, demo_call, messages_text

DAY_LIVE, DAY_LOST = "2026-04-07", "2026-04-08"


@dataclass
class World:
    root: Path
    base: str
    warehouse: str

    def settings(self) -> LiveSettings:
        config = SandboxConfig()
        return LiveSettings(
            f"{self.base}/symbl", config.symbl_app_id, config.symbl_app_secret, self.root / "live"
        )

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        con = duckdb.connect(self.warehouse, read_only=True)
        try:
            return con.execute(query, params or []).fetchall()
        finally:
            con.close()

    def run(self, job_name: str, partition: str | None = None) -> None:
        from orchestration.definitions import defs

        result = defs.resolve_job_def(job_name).execute_in_process(
            partition_key=partition, raise_on_error=False
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]

    def faults(self, **settings: Any) -> None:
        httpx.put(f"{self.base}/_sandbox/faults", json=settings).raise_for_status()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.base}/_sandbox/stats").json()

    def symbl(self) -> httpx.Client:
        config = SandboxConfig()
        token = httpx.post(
            f"{self.base}/symbl/oauth2/token:generate",
            json={"type": "application", "appId": config.symbl_app_id, "appSecret": config.symbl_app_secret},
        ).json()["accessToken"]
        return httpx.Client(base_url=f"{self.base}/symbl", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("live-pipeline")
    mp = pytest.MonkeyPatch()
    config = SandboxConfig(data_dir=root / "sandbox", processing_factor=0.002, min_processing_seconds=0.05)
    with ServedApp(build_app(config)) as sandbox:
        w = World(root, sandbox.base_url, str(root / "warehouse" / "live.duckdb"))
        (root / "drop" / "manifests").mkdir(parents=True)
        for key, value in {
            "SYMBL_BASE_URL": f"{w.base}/symbl",
            "SEMARIZE_BASE_URL": f"{w.base}/semarize",
            "NEBULA_BASE_URL": f"{w.base}/nebula",
            "CONVO_INTEL_DROP_FOLDER": str(root / "drop"),
            "CONVO_INTEL_WAREHOUSE": w.warehouse,
            "CONVO_INTEL_ANALYST_WAREHOUSE": str(root / "warehouse" / "analyst.duckdb"),
            "CONVO_INTEL_LIVE_DIR": str(root / "live"),
        }.items():
            mp.setenv(key, value)
        yield w
    mp.undo()


def call_transcript(tmp_path: Path) -> tuple[Path, Transcript]:
    """A demo call's opening plus a turn that hits two of trackers.yaml's trackers."""
    _, opening = demo_call(tmp_path, max_seconds=25)
    last = opening.utterances[-1]
    extra = Utterance(
        last.speaker,
        "What does the pricing look like, and what is the next step?",
        last.end + 0.6,
        last.end + 4.2,
    )
    transcript = Transcript((*opening.utterances, extra))
    wav = tmp_path / "reference.wav"
    write_wav(wav, transcript)
    return wav, transcript


def manifest(recording_id: str, day: str) -> dict[str, Any]:
    return {
        "recording_id": recording_id,
        "start_time": f"{day}T15:00:00Z",
        "title": "Live discovery call",
        "call_type": "discovery",
        "host": {"name": "Liam Walsh", "email": "liam.walsh@lumen.example"},
        "participants": [
            {"name": "Liam Walsh", "email": "liam.walsh@lumen.example", "role": "rep"},
            {"name": "Rahul Yamamoto", "role": "prospect"},
        ],
    }


def play(world: World, recording_id: str, day: str, transcript: Transcript, **options: Any) -> dict[str, Any]:
    call = new_live_call(
        world.settings(),
        recording_id,
        manifest(recording_id, day),
        encoding="LINEAR16",
        sample_rate=16000,
        ping_interval_seconds=1.0,
        ping_timeout_seconds=2.0,
        **options,
    )
    return asyncio.run(call.run(paced(render(transcript, "LINEAR16", 16000), 32000, 40))).as_dict()


def submissions(world: World) -> int:
    return sum(n for route, n in world.stats()["calls"].items() if "/v1/process/" in route)


def test_a_live_call_with_three_drops_lands_enters_the_ledger_and_is_never_resubmitted(
    world: World, tmp_path: Path
) -> None:
    wav, transcript = call_transcript(tmp_path)
    with world.symbl() as symbl:
        expected = async_api_transcript(symbl, wav)
    before = submissions(world)
    audio_bytes = len(render(transcript, "LINEAR16", 16000))
    world.faults(fault_ws_drop_after_bytes=audio_bytes // 3, fault_ws_drop_limit=3)
    result = play(world, "rec-live-0001", DAY_LIVE, transcript)
    world.faults(fault_ws_drop_after_bytes=0)
    assert world.stats()["streaming"]["fault_drops"] == 3 and result["connections"] == 4
    assert result["completed"] and not result["lost_audio"]

    world.run("live_calls_job")
    live = result["conversation_id"]
    ((status, conversation, handover),) = world.sql(
        "SELECT status, conversation_id, handover_manifest FROM raw.live_calls WHERE call_id = 'rec-live-0001'"
    )
    assert (status, conversation) == ("live", live) and Path(handover).is_file()
    assert world.sql(
        "SELECT status, conversation_id FROM raw.symbl_conversations WHERE recording_id = 'rec-live-0001'"
    ) == [("completed", live)]
    messages = world.sql(
        "SELECT connection, text FROM raw.live_call_events WHERE call_id = 'rec-live-0001' "
        "AND event_type = 'message' ORDER BY seq, item"
    )
    assert [text for _, text in messages] == expected  # none missing, none twice, across three drops
    assert {connection for connection, _ in messages} == {1, 2, 3, 4}
    trackers = {
        t
        for (t,) in world.sql(
            "SELECT tracker_name FROM raw.live_call_events WHERE call_id = 'rec-live-0001' AND event_type = 'tracker'"
        )
    }
    assert {"Pricing", "Next Steps"} <= trackers
    (drops,) = world.sql(
        "SELECT count(*) FROM raw.live_call_events WHERE call_id = 'rec-live-0001' AND event_type = 'client:dropped'"
    )[0]
    assert drops == 3
    (offsets,) = world.sql(
        "SELECT count(*) FROM raw.live_call_events WHERE event_type = 'message' AND time_offset_seconds IS NULL"
    )[0]
    assert offsets == 0

    # The ordinary ingest job: the live conversation's signals and scores, and no Symbl submission.
    world.run("conversation_ingest_job", DAY_LIVE)
    assert submissions(world) == before
    stored = world.sql(
        "SELECT text FROM raw.symbl_messages WHERE conversation_id = ? ORDER BY time_offset_seconds", [live]
    )
    assert [t for (t,) in stored] == expected
    (bricks,) = world.sql("SELECT count(*) FROM raw.semarize_bricks WHERE conversation_id = ?", [live])[0]
    assert bricks > 0

    # Landing again changes nothing.
    counts = world.sql(
        "SELECT (SELECT count(*) FROM raw.live_call_events), (SELECT count(*) FROM raw.live_calls)"
    )
    world.run("live_calls_job")
    assert (
        world.sql("SELECT (SELECT count(*) FROM raw.live_call_events), (SELECT count(*) FROM raw.live_calls)")
        == counts
    )


def test_a_stream_that_lost_audio_falls_back_to_the_async_api_and_is_marked_superseded(
    world: World, tmp_path: Path
) -> None:
    wav, transcript = call_transcript(tmp_path)
    with world.symbl() as symbl:
        expected = async_api_transcript(symbl, wav)
    before = submissions(world)
    audio_bytes = len(render(transcript, "LINEAR16", 16000))
    # No grace period: the service ends the conversation at the drop, so the reconnect cannot continue it.
    world.faults(fault_ws_drop_after_bytes=audio_bytes // 2, fault_ws_drop_limit=4)
    result = play(world, "rec-live-0002", DAY_LOST, transcript, no_connection_timeout=0)
    world.faults(fault_ws_drop_after_bytes=0)
    assert result["lost_audio"] and not result["completed"]
    live = result["conversation_id"]
    with world.symbl() as symbl:
        partial = messages_text(symbl, live)
    assert len(partial) < len(expected)  # the live conversation really is missing the end

    world.run("live_calls_job")
    assert world.sql("SELECT status FROM raw.live_calls WHERE call_id = 'rec-live-0002'") == [("superseded",)]
    assert world.sql("SELECT count(*) FROM raw.symbl_conversations WHERE recording_id = 'rec-live-0002'") == [
        (0,)
    ]

    world.run("conversation_ingest_job", DAY_LOST)
    assert submissions(world) == before + 1  # the recording, through the Async API
    (record,) = world.sql(
        "SELECT conversation_id FROM raw.symbl_conversations "
        "WHERE recording_id = 'rec-live-0002' AND status = 'completed'"
    )[0]
    assert record != live
    stored = world.sql(
        "SELECT text FROM raw.symbl_messages WHERE conversation_id = ? ORDER BY time_offset_seconds", [record]
    )
    assert [t for (t,) in stored] == expected

    world.run("live_calls_job")
    assert world.sql("SELECT superseded_by FROM raw.live_calls WHERE call_id = 'rec-live-0002'") == [
        (record,)
    ]


def test_a_call_played_into_the_twilio_bridge_ends_in_the_warehouse_scored(
    world: World, tmp_path: Path
) -> None:
    import base64
    import json

    from websockets.asyncio.client import connect

    from orchestration.defs.streaming.twilio_bridge import TwilioBridge

    wav, transcript = call_transcript(tmp_path)
    with world.symbl() as symbl:
        expected = async_api_transcript(symbl, wav)
    token = "bridge-token-0123456789"
    bridge = TwilioBridge(world.settings(), token)
    audio = render(transcript, "MULAW", 8000)
    day = "2026-04-10"
    params = {
        "recording_id": "rec-twilio-0002",
        "start_time": f"{day}T09:30:00Z",
        "title": "Inbound sales line",
        "host_name": "Liam Walsh",
        "host_email": "liam.walsh@lumen.example",
    }

    async def twilio(url: str) -> None:
        async with connect(url) as ws:
            await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            start = {
                "streamSid": "MZ2",
                "callSid": "CA2",
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": params,
            }
            await ws.send(json.dumps({"event": "start", "start": start, "streamSid": "MZ2"}))
            for chunk, i in enumerate(range(0, len(audio), 160), start=1):
                payload = base64.b64encode(audio[i : i + 160]).decode()
                media = {"track": "inbound", "chunk": str(chunk), "payload": payload}
                await ws.send(json.dumps({"event": "media", "media": media, "streamSid": "MZ2"}))
                if chunk % 40 == 0:
                    await asyncio.sleep(0.02)  # 40 x 20 ms of audio every 20 ms: 40x real time
            await ws.send(json.dumps({"event": "stop", "stop": {"callSid": "CA2"}, "streamSid": "MZ2"}))

    with ServedApp(bridge.app()) as served:
        asyncio.run(twilio(served.base_url.replace("http://", "ws://") + f"/twilio/media-stream/{token}"))
        for _ in range(200):
            if "rec-twilio-0002" in bridge.results:
                break
            asyncio.run(asyncio.sleep(0.05))
    result = bridge.results["rec-twilio-0002"]
    assert result.completed
    before = submissions(world)

    world.run("live_calls_job")
    world.run("conversation_ingest_job", day)
    assert submissions(world) == before  # the live conversation is the record: never resubmitted
    live = result.conversation_id
    stored = world.sql(
        "SELECT text FROM raw.symbl_messages WHERE conversation_id = ? ORDER BY time_offset_seconds", [live]
    )
    assert [t for (t,) in stored] == expected
    assert world.sql("SELECT recording_id FROM raw.recordings WHERE recording_id = 'rec-twilio-0002'")
    (bricks,) = world.sql("SELECT count(*) FROM raw.semarize_bricks WHERE conversation_id = ?", [live])[0]
    assert bricks > 0  # scored
