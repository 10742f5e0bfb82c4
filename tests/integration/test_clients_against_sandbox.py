"""The production clients and the drop-folder source against the sandbox, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestration.defs.recordings.source import DropFolderSource
from orchestration.defs.semarize.client import SemarizeClient
from orchestration.defs.symbl.client import SIGNALS, SubmitOptions, SymblAPIError, SymblClient
from orchestration.http import Retries, Waits
from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.media import wav_bytes
from sandbox.server import ServedApp
from sandbox.transcript import Speaker, Transcript, Utterance

CONFIG = SandboxConfig(concurrent_job_limit=2, token_lifetime_seconds=3600)
FAST_POLL = Waits(initial_seconds=0.02, factor=1.5, max_seconds=0.2)
FAST_RETRY = Retries(max_retries=8, waits=Waits(initial_seconds=0.02, factor=2.0, max_seconds=0.3))

MAYA = Speaker("Maya Chen", "maya.chen@lumen.example")
HANK = Speaker("Hank Scorpio", "hank@globex.example")
TRANSCRIPT = Transcript(
    utterances=(
        Utterance(MAYA, "Thanks for joining. What budget do you have for this project?", 0.0, 4.0),
        Utterance(HANK, "We set aside about fifty thousand dollars this quarter.", 4.5, 8.0),
        Utterance(MAYA, "Great, I will send you the proposal by Friday.", 8.5, 11.0),
    )
)
SPOKEN = " ".join(u.text for u in TRANSCRIPT.utterances)
MESSAGES = [
    {
        "payload": {"content": u.text, "contentType": "text/plain"},
        "from": {"name": u.speaker.name, "userId": u.speaker.email},
        "duration": {
            "startTime": f"2026-04-07T15:00:{int(u.start):02d}Z",
            "endTime": f"2026-04-07T15:00:{int(u.end):02d}Z",
        },
    }
    for u in TRANSCRIPT.utterances
]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = SandboxConfig(**{**CONFIG.__dict__, "data_dir": tmp_path_factory.mktemp("sandbox")})
    with ServedApp(build_app(config)) as served:
        yield served.base_url


@pytest.fixture(autouse=True)
def reset_faults(sandbox: str) -> Iterator[None]:
    defaults = {
        "fault_5xx_rate": 0.0,
        "fault_429_rate": 0.0,
        "fault_paths": [],
        "token_lifetime_seconds": 3600,
    }
    httpx.put(f"{sandbox}/_sandbox/faults", json=defaults).raise_for_status()
    yield
    httpx.put(f"{sandbox}/_sandbox/faults", json=defaults).raise_for_status()


def symbl(sandbox: str, **kwargs: Any) -> SymblClient:
    kwargs.setdefault("concurrent_jobs", CONFIG.concurrent_job_limit)
    kwargs.setdefault("retry", FAST_RETRY)
    return SymblClient(
        f"{sandbox}/symbl",
        CONFIG.symbl_app_id,
        CONFIG.symbl_app_secret,
        request_timeout_seconds=10,
        poll=FAST_POLL,
        job_deadline_seconds=30,
        **kwargs,
    )


def calls(sandbox: str) -> dict[str, int]:
    return httpx.get(f"{sandbox}/_sandbox/stats").json()["calls"]


def test_text_submission_round_trip_reads_every_signal(sandbox: str) -> None:
    async def run() -> dict[str, Any]:
        async with symbl(sandbox) as client, client.job_slot():
            options = SubmitOptions(
                name="Discovery - Globex",
                enable_summary=True,
                detect_entities=True,
                trackers=[{"name": "Budget", "vocabulary": ["budget"]}],
            )
            submitted = await client.submit_text(MESSAGES, options)
            job = await client.wait_for_job(submitted.job_id, deadline_seconds=30)
            assert job.status == "completed"
            bodies = {s: await client.get_signal(submitted.conversation_id, s) for s in SIGNALS}
            bodies["conversation"] = await client.get_conversation(submitted.conversation_id)
            return bodies

    bodies = asyncio.run(run())
    # Symbl splits utterances into sentences; the words and their order must survive.
    assert " ".join(m["text"] for m in bodies["messages"]["messages"]) == SPOKEN
    assert any("budget" in q["text"] for q in bodies["questions"]["questions"])
    assert isinstance(bodies["trackers"], list) and bodies["trackers"][0]["name"] == "Budget"
    assert bodies["summary"]["summary"] and bodies["conversation"]["name"] == "Discovery - Globex"
    assert {m["name"] for m in bodies["members"]["members"]} == {"Maya Chen", "Hank Scorpio"}


def test_drop_folder_audio_file_is_uploaded_raw_and_transcribed(sandbox: str, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "call.wav").write_bytes(wav_bytes(TRANSCRIPT, audio_seconds=11.0))
    manifest = {
        "recording_id": "rec-it-0001",
        "start_time": "2026-04-07T15:00:00Z",
        "host": {"name": MAYA.name, "email": MAYA.email},
        "participants": [{"name": MAYA.name, "email": MAYA.email}, {"name": HANK.name}],
        "media": {"kind": "audio_file", "path": "media/call.wav"},
    }
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "rec.json").write_text(json.dumps(manifest))
    source = DropFolderSource(tmp_path)
    day = datetime(2026, 4, 7, tzinfo=UTC)
    (recording,) = source.scan(day, day + timedelta(days=1)).manifests

    async def run() -> list[str]:
        async with symbl(sandbox) as client, client.job_slot():
            options = SubmitOptions(name=recording.recording_id, language_code=recording.language_code)
            submitted = await client.submit_audio_file(source.read_media(recording), "audio/wav", options)
            assert (await client.wait_for_job(submitted.job_id)).status == "completed"
            body = await client.get_signal(submitted.conversation_id, "messages")
            return [m["text"] for m in body["messages"]]

    assert " ".join(asyncio.run(run())) == SPOKEN


def test_unusable_upload_raises_naming_the_endpoint(sandbox: str) -> None:
    async def run() -> None:
        async with symbl(sandbox) as client:
            await client.submit_audio_file(b"this is not audio", None, SubmitOptions())

    with pytest.raises(SymblAPIError) as info:
        asyncio.run(run())
    assert info.value.status == 400 and info.value.endpoint == "POST /v1/process/audio"
    assert info.value.message  # the sandbox's reason, passed through


def test_expired_tokens_are_replaced_without_failing_a_call(sandbox: str) -> None:
    # A 3 s token: each call takes far less even on a loaded machine, so exactly one token per lifetime is needed.
    httpx.put(f"{sandbox}/_sandbox/faults", json={"token_lifetime_seconds": 3}).raise_for_status()
    before = sum(n for k, n in calls(sandbox).items() if "oauth2" in k)

    async def run() -> None:
        async with symbl(sandbox) as client:
            await client.list_conversations(limit=1)
            await asyncio.sleep(3.2)  # the sandbox's token has now expired
            await client.list_conversations(limit=1)

    asyncio.run(run())
    assert sum(n for k, n in calls(sandbox).items() if "oauth2" in k) - before == 2


def test_limiter_keeps_under_the_account_limit_and_429_is_only_a_backstop(sandbox: str) -> None:
    async def one_job(client: SymblClient, n: int) -> str:
        async with client.job_slot():
            submitted = await client.submit_text(MESSAGES[n % 3 : n % 3 + 1], SubmitOptions(name=f"job {n}"))
            return (await client.wait_for_job(submitted.job_id)).status

    async def run(concurrent_jobs: int) -> list[str]:
        # Generous retries: over-subscribed submits keep meeting 429 until a sandbox slot frees up.
        patient = Retries(max_retries=50, waits=FAST_RETRY.waits)
        async with symbl(sandbox, concurrent_jobs=concurrent_jobs, retry=patient) as client:
            return await asyncio.gather(*(one_job(client, n) for n in range(5)))

    httpx.post(f"{sandbox}/_sandbox/stats/reset").raise_for_status()
    assert asyncio.run(run(2)) == ["completed"] * 5
    polite = calls(sandbox)
    # Over-subscribing on purpose: the sandbox answers 429 beyond 2 jobs and the retries absorb it.
    assert asyncio.run(run(5)) == ["completed"] * 5
    submits = {k: v for k, v in calls(sandbox).items() if "process/text" in k}
    assert sum(v for k, v in polite.items() if "process/text" in k) == 5
    assert sum(submits.values()) > 5  # some submits met a 429 and were retried


def test_injected_server_errors_are_retried(sandbox: str) -> None:
    faults = {"fault_5xx_rate": 0.5, "fault_seed": 3, "fault_paths": ["/symbl/v1/job"]}
    httpx.put(f"{sandbox}/_sandbox/faults", json=faults).raise_for_status()

    async def run() -> str:
        async with symbl(sandbox) as client, client.job_slot():
            submitted = await client.submit_text(MESSAGES, SubmitOptions())
            return (await client.wait_for_job(submitted.job_id)).status

    assert asyncio.run(run()) == "completed"


def test_tracker_management_round_trip(sandbox: str) -> None:
    async def run() -> tuple[list[str], dict[str, Any], list[str]]:
        async with symbl(sandbox) as client:
            created = await client.create_tracker(
                {"name": "Pricing", "vocabulary": ["price", "pricing", "cost", "quote", "discount"]}
            )
            with pytest.raises(SymblAPIError) as clash:
                await client.create_tracker({"name": "Pricing", "vocabulary": ["price"]})
            assert clash.value.status == 409
            names = [t["name"] for t in await client.list_trackers()]
            updated = await client.update_tracker(
                created["id"], [{"op": "replace", "path": "/name", "value": "Pricing talk"}]
            )
            await client.delete_tracker(created["id"])
            return names, updated, [t["name"] for t in await client.list_trackers()]

    names, updated, after = asyncio.run(run())
    assert "Pricing" in names and updated["name"] == "Pricing talk" and "Pricing talk" not in after


def test_semarize_sync_run_and_idempotent_replay(sandbox: str) -> None:
    pytest.importorskip("sandbox.semarize.app", reason="the Semarize sandbox is not mounted yet")
    text = "\n".join(f"{u.speaker.name}: {u.text}" for u in TRANSCRIPT.utterances)
    key = SemarizeClient.idempotency_key("conv-1", "SLSDISC1", text)

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        client = SemarizeClient(
            f"{sandbox}/semarize", CONFIG.semarize_api_key, retry=FAST_RETRY, poll=FAST_POLL
        )
        async with client as semarize:
            first = await semarize.create_run("SLSDISC1", {"transcript": text}, idempotency_key=key)
            again = await semarize.create_run("SLSDISC1", {"transcript": text}, idempotency_key=key)
            return first, again

    first, again = asyncio.run(run())
    assert first["status"] == "succeeded" and first["output"]["bricks"]
    assert again["run_id"] == first["run_id"]


def test_speaker_events_reach_symbl_and_reattribute_the_conversation(sandbox: str) -> None:
    """The client's PUT /speakers against the sandbox: diarized voices become the people who spoke."""
    from orchestration.defs.symbl.submission import speaker_events_payload

    rep, buyer = Speaker("Maya Chen", "maya@lumen.example"), Speaker("Hank Scorpio", "hank@globex.example")
    lines = [(rep, "What is your budget?"), (buyer, "About eighty thousand."), (rep, "Great, thanks.")]
    media = wav_bytes(
        Transcript(tuple(Utterance(s, t, 5.0 * i, 5.0 * i + 4) for i, (s, t) in enumerate(lines)))
    )
    events = [
        {"name": s.name, "email": s.email, "start": 5.0 * i, "end": 5.0 * i + 4}
        for i, (s, _) in enumerate(lines)
    ]

    async def run() -> tuple[set[str], set[str]]:
        async with SymblClient(f"{sandbox}/symbl", "sandbox-app-id", "sandbox-app-secret") as client:
            submitted = await client.submit_audio_file(
                media,
                "audio/wav",
                SubmitOptions(enable_speaker_diarization=True, diarization_speaker_count=2),
            )
            await client.wait_for_job(submitted.job_id, deadline_seconds=20)
            before = await client.get_signal(submitted.conversation_id, "messages")
            await client.put_speaker_events(submitted.conversation_id, speaker_events_payload(events))
            after = await client.get_signal(submitted.conversation_id, "messages")
        return {m["from"]["name"] for m in before["messages"]}, {
            m["from"]["email"] for m in after["messages"]
        }

    before, after = asyncio.run(run())
    assert before and all(name.startswith("Speaker ") for name in before)
    assert after == {"maya@lumen.example", "hank@globex.example"}
    calls = httpx.get(f"{sandbox}/_sandbox/stats").json()["calls"]
    assert calls["PUT /symbl/v1/conversations/{conversationId}/speakers"] == 1
