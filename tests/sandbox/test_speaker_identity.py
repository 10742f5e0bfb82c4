"""The sandbox names speakers as production Symbl does (symbl-api.md, "Speaker diarization"), and re-attributes
them when told who spoke (speaker events, member updates). Over real loopback HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.media import wav_bytes
from sandbox.transcript import Transcript, Utterance
from tests.conftest import RunningSandbox, symbl_token_for
from tests.sandbox.test_symbl_contract import HANK, LINES, MAYA, submit_text, wait_job

GENERIC = re.compile(r"Speaker \d+")


def stereo_transcript() -> Transcript:
    """Maya on channel 1 (the rep's line), Hank on channel 2, 5 s turns."""
    return Transcript(
        tuple(
            Utterance(s, t, i * 5.0, i * 5.0 + 4.5, channel=1 if s == MAYA else 2)
            for i, (s, t) in enumerate(LINES)
        )
    )


def client_for(sandbox: RunningSandbox) -> httpx.Client:
    token = symbl_token_for(sandbox.url)
    return httpx.Client(base_url=sandbox.symbl_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def submit_audio(client: httpx.Client, transcript: Transcript, **params: Any) -> str:
    query = {k: json.dumps(v) if isinstance(v, list | dict) else str(v).lower() for k, v in params.items()}
    channels = 2 if any(u.channel == 2 for u in transcript.utterances) else 1
    response = client.post(
        "/v1/process/audio",
        content=wav_bytes(transcript, channels=channels),
        params={**query, "detectEntities": "true"},
        headers={"Content-Type": "audio/wav"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert wait_job(client, body["jobId"])["status"] == "completed"
    return str(body["conversationId"])


@pytest.fixture
def symbl(sandbox_factory: Callable[..., RunningSandbox]) -> httpx.Client:
    return client_for(sandbox_factory())


def speakers_of(client: httpx.Client, cid: str) -> set[tuple[str, str | None, str | None]]:
    messages = client.get(f"/v1/conversations/{cid}/messages").json()["messages"]
    return {(m["from"]["name"], m["from"].get("email"), m["from"].get("userId")) for m in messages}


def test_diarized_media_has_generic_speakers_everywhere(symbl: httpx.Client) -> None:
    cid = submit_audio(symbl, stereo_transcript(), enableSpeakerDiarization=True, diarizationSpeakerCount=2)
    speakers = speakers_of(symbl, cid)
    assert len(speakers) == 2
    assert all(GENERIC.fullmatch(name) and email is None and uid is None for name, email, uid in speakers)
    members = symbl.get(f"/v1/conversations/{cid}/members").json()["members"]
    assert {m["name"] for m in members} == {name for name, _, _ in speakers}
    assert all("email" not in m and "userId" not in m for m in members)
    analytics = symbl.get(f"/v1/conversations/{cid}/analytics").json()["members"]
    assert all(GENERIC.fullmatch(m["name"]) and not m["userId"] for m in analytics)
    questions = symbl.get(f"/v1/conversations/{cid}/questions").json()["questions"]
    assert questions and all(GENERIC.fullmatch(q["from"]["name"]) for q in questions)
    assert all("email" not in q["from"] and "userId" not in q["from"] for q in questions)
    # Nothing of the embedded transcript's identities leaks anywhere in the answers.
    everything = json.dumps(
        [symbl.get(f"/v1/conversations/{cid}/{p}").json() for p in ("messages", "topics")]
    )
    assert "maya@lumen.example" not in everything and "Hank Scorpio" not in everything


def test_channel_metadata_names_one_speaker_per_channel(symbl: httpx.Client) -> None:
    metadata = [
        {"channel": 1, "speaker": {"name": "Maya Chen", "email": "maya@lumen.example"}},
        {"channel": 2, "speaker": {"name": "Hank S.", "email": "hank@globex.example"}},
    ]
    cid = submit_audio(
        symbl, stereo_transcript(), enableSeparateRecognitionPerChannel=True, channelMetadata=metadata
    )
    assert speakers_of(symbl, cid) == {
        ("Maya Chen", "maya@lumen.example", "maya@lumen.example"),
        ("Hank S.", "hank@globex.example", "hank@globex.example"),
    }
    questions = symbl.get(f"/v1/conversations/{cid}/questions").json()["questions"]
    maya_questions = [q for q in questions if q["from"]["name"] == "Maya Chen"]
    assert maya_questions and all(q["from"] == {**q["from"], "userId": "maya@lumen.example"} for q in questions
                                  if q["from"]["name"] == "Maya Chen")  # fmt: skip
    assert all("email" not in q["from"] for q in questions)


def test_mono_media_without_channel_map_or_diarization_is_one_voice(symbl: httpx.Client) -> None:
    mono = Transcript(tuple(Utterance(s, t, i * 5.0, i * 5.0 + 4.5) for i, (s, t) in enumerate(LINES)))
    cid = submit_audio(symbl, mono, enableSeparateRecognitionPerChannel=True, channelMetadata=[
        {"channel": 1, "speaker": {"name": "Maya Chen", "email": "maya@lumen.example"}}
    ])  # fmt: skip
    assert speakers_of(symbl, cid) == {("Maya Chen", "maya@lumen.example", "maya@lumen.example")}
    cid = submit_audio(symbl, mono)
    assert speakers_of(symbl, cid) == {("Speaker 1", None, None)}


def test_text_keeps_the_submitted_speakers(symbl: httpx.Client) -> None:
    job = submit_text(symbl)
    assert wait_job(symbl, job["jobId"])["status"] == "completed"
    names = {name for name, _, _ in speakers_of(symbl, job["conversationId"])}
    assert names == {"Maya Chen", "Hank Scorpio"}


def test_speaker_events_reattribute_messages_insights_and_analytics(symbl: httpx.Client) -> None:
    cid = submit_audio(symbl, stereo_transcript(), enableSpeakerDiarization=True)
    events = []
    for i, (speaker, _) in enumerate(LINES):
        user = {"id": speaker.email, "name": speaker.name, "email": speaker.email}
        events += [
            {"type": "started_speaking", "user": user, "offset": {"seconds": i * 5, "nanos": 0}},
            {
                "type": "stopped_speaking",
                "user": user,
                "offset": {"seconds": i * 5 + 4, "nanos": 500_000_000},
            },
        ]
    response = symbl.put(f"/v1/conversations/{cid}/speakers", json={"speakerEvents": events})
    assert response.status_code == 202, response.text
    assert speakers_of(symbl, cid) == {
        ("Maya Chen", "maya@lumen.example", "maya@lumen.example"),
        ("Hank Scorpio", "hank@globex.example", "hank@globex.example"),
    }
    messages = symbl.get(f"/v1/conversations/{cid}/messages").json()["messages"]
    by_text = {m["text"]: m["from"]["name"] for m in messages}
    assert by_text["I will send you the proposal by Friday."] == "Maya Chen"
    analytics = {m["name"]: m for m in symbl.get(f"/v1/conversations/{cid}/analytics").json()["members"]}
    assert set(analytics) == {"Maya Chen", "Hank Scorpio"}
    assert analytics["Maya Chen"]["userId"] == "maya@lumen.example"
    # Bad bodies are refused with the field named, and change nothing.
    bad = symbl.put(f"/v1/conversations/{cid}/speakers", json={"speakerEvents": [{"type": "talking"}]})
    assert bad.status_code == 400 and "speakerEvents[0].type" in bad.json()["message"]
    assert symbl.put("/v1/conversations/404404/speakers", json={"speakerEvents": events}).status_code == 404


def test_a_member_update_renames_that_member_everywhere(symbl: httpx.Client) -> None:
    cid = submit_audio(symbl, stereo_transcript(), enableSpeakerDiarization=True)
    members = symbl.get(f"/v1/conversations/{cid}/members").json()["members"]
    first_message = symbl.get(f"/v1/conversations/{cid}/messages").json()["messages"][0]
    target = next(m for m in members if m["id"] == first_message["from"]["id"])
    response = symbl.put(
        f"/v1/conversations/{cid}/members/{target['id']}",
        json={"id": target["id"], "name": "Hank Scorpio", "email": "hank@globex.example"},
    )
    assert response.status_code == 200, response.text
    names = {name for name, _, _ in speakers_of(symbl, cid)}
    assert "Hank Scorpio" in names and target["name"] not in names
    assert symbl.put(f"/v1/conversations/{cid}/members/nobody", json={"name": "X"}).status_code == 404


def test_entities_come_in_one_generation_per_response(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    lines = [(MAYA, "Our budget is $80k and you can email maya@lumen.example by Friday."), (HANK, "Sure.")]
    seen = {}
    for generation in ("2023", "2022", "both"):
        sandbox = sandbox_factory(entities_generation=generation)
        with client_for(sandbox) as client:
            cid = submit_audio(client, Transcript(tuple(
                Utterance(s, t, i * 5.0, i * 5.0 + 4.5) for i, (s, t) in enumerate(lines)
            )))  # fmt: skip
            seen[generation] = client.get(f"/v1/conversations/{cid}/entities").json()["entities"]
        sandbox.stop()
    assert seen["2023"] and all("matches" in e and "messageRefs" not in e for e in seen["2023"])
    assert seen["2022"] and all("messageRefs" in e and "matches" not in e for e in seen["2022"])
    assert all("matches" in e and "messageRefs" in e for e in seen["both"])


def test_a_failed_job_carries_no_reason_unless_configured(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    for with_reason in (False, True):
        sandbox = sandbox_factory(fail_next_jobs=1, job_failure_reason=with_reason)
        with client_for(sandbox) as client:
            job = submit_text(client)
            final = wait_job(client, job["jobId"])
        sandbox.stop()
        assert final["status"] == "failed"
        assert ("message" in final) is with_reason, final


def test_transcript_identity_keeps_the_kinder_behaviour_reachable(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    with client_for(sandbox_factory(speaker_identity="transcript")) as client:
        cid = submit_audio(client, stereo_transcript(), enableSpeakerDiarization=True)
        assert {n for n, _, _ in speakers_of(client, cid)} == {"Maya Chen", "Hank Scorpio"}
