"""The Symbl sandbox against its contract (/work/shared/design/symbl-api.md), over real loopback HTTP."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Route

from sandbox.config import SandboxConfig
from sandbox.media import mp4_bytes, wav_bytes
from sandbox.server import ServedApp
from sandbox.symbl.insights import ProcessPoolEngine, intelligence_engine
from sandbox.transcript import Speaker, Transcript, Utterance
from tests.conftest import FAST_SANDBOX, RunningSandbox, WebhookReceiver, symbl_token_for

CREDENTIALS = {
    "type": "application",
    "appId": SandboxConfig().symbl_app_id,
    "appSecret": "sandbox-app-secret",
}
TOKEN_FAILED = {"message": "Token validation failed for provided token."}
MAYA = Speaker("Maya Chen", "maya@lumen.example", "maya@lumen.example")
HANK = Speaker("Hank Scorpio", "hank@globex.example", "hank@globex.example")
LINES = [
    (HANK, "Hi Maya, thanks for making the time today."),
    (MAYA, "Of course. What does your current process for call reviews look like?"),
    (HANK, "Honestly it is painful, we use Gong but nobody reads the notes."),
    (MAYA, "I will send you the proposal by Friday."),
    (HANK, "Great, can you loop in our security team next week?"),
    (MAYA, "Yes, and let's schedule a follow-up call for Tuesday."),
]


def transcript(lines: list[tuple[Speaker, str]] = LINES, turn: float = 5.0) -> Transcript:
    return Transcript(
        tuple(Utterance(s, t, i * turn, i * turn + turn - 0.5) for i, (s, t) in enumerate(lines))
    )


def text_messages(lines: list[tuple[Speaker, str]] = LINES) -> list[dict[str, Any]]:
    """Messages 5 s apart (4 s long each) from 2026-04-06 15:00 UTC."""
    start = datetime(2026, 4, 6, 15, 0, tzinfo=UTC)

    def at(seconds: int) -> str:
        return (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    return [
        {
            "payload": {"content": text, "contentType": "text/plain"},
            "from": {"name": speaker.name, "userId": speaker.email},
            "duration": {"startTime": at(i * 5), "endTime": at(i * 5 + 4)},
        }
        for i, (speaker, text) in enumerate(lines)
    ]


def wait_job(client: httpx.Client, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/job/{job_id}").json()
        if body["status"] in {"completed", "failed"}:
            return body
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def submit_text(client: httpx.Client, **body: Any) -> dict[str, str]:
    response = client.post("/v1/process/text", json={"messages": text_messages(), **body})
    assert response.status_code == 201, response.text
    return response.json()


def authed(sandbox: RunningSandbox) -> httpx.Client:
    token = symbl_token_for(sandbox.url, sandbox.config)
    return httpx.Client(base_url=sandbox.symbl_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One sandbox for tests that leave no state others could trip on (validation, 404s, auth): a server start
    and stop cost ~0.3 s, so sharing keeps the suite fast."""
    data_dir = tmp_path_factory.mktemp("shared-sandbox")
    running = RunningSandbox(
        SandboxConfig(**{**FAST_SANDBOX, "data_dir": data_dir, "concurrent_job_limit": 50})
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def shared_symbl(shared: RunningSandbox) -> Iterator[httpx.Client]:
    with authed(shared) as client:
        yield client


# --- auth ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/oauth2/token:generate", "/oauth2/token/generate"])
def test_token_generate_both_spellings_issue_a_jwt_with_exp(shared: RunningSandbox, path: str) -> None:
    response = httpx.post(f"{shared.url}/symbl{path}", json=CREDENTIALS)
    assert response.status_code == 200
    body = response.json()
    assert body["expiresIn"] == 86400
    claims = jwt.decode(body["accessToken"], options={"verify_signature": False})
    assert 86390 <= claims["exp"] - time.time() <= 86401


def test_bad_credentials_are_401_and_a_bad_type_is_400(shared: RunningSandbox) -> None:
    wrong = httpx.post(f"{shared.url}/symbl/oauth2/token:generate", json={**CREDENTIALS, "appSecret": "nope"})
    assert wrong.status_code == 401
    assert "accessToken" not in wrong.json()
    bad_type = httpx.post(f"{shared.url}/symbl/oauth2/token:generate", json={**CREDENTIALS, "type": "user"})
    assert bad_type.status_code == 400
    assert "type" in bad_type.json()["message"]


def test_both_auth_headers_work_and_bad_or_missing_tokens_get_the_documented_401(
    sandbox: str, symbl_token: str
) -> None:
    job_url = f"{sandbox}/symbl/v1/job/{uuid.uuid4()}"
    # A valid token reaches the handler (404 for an unknown job) through either header.
    assert httpx.get(job_url, headers={"Authorization": f"Bearer {symbl_token}"}).status_code == 404
    assert httpx.get(job_url, headers={"x-api-key": symbl_token}).status_code == 404
    forged = jwt.encode(
        {"sub": "sandbox-app-id", "exp": int(time.time()) + 60},
        "not-the-sandbox-signing-key-but-long-enough",
        algorithm="HS256",
    )
    for headers in ({}, {"Authorization": "Bearer garbage"}, {"x-api-key": forged}):
        response = httpx.get(job_url, headers=headers)
        assert (response.status_code, response.json()) == (401, TOKEN_FAILED)


@pytest.mark.sandbox_config(token_lifetime_seconds=2)
def test_an_expired_token_is_rejected(sandbox: str) -> None:
    token = symbl_token_for(sandbox)
    job_url = f"{sandbox}/symbl/v1/job/{uuid.uuid4()}"
    assert httpx.get(job_url, headers={"x-api-key": token}).status_code == 404
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    response = httpx.get(job_url, headers={"x-api-key": token})
    assert (response.status_code, response.json()) == (401, TOKEN_FAILED)


# --- async API: submit and lifecycle ------------------------------------------------------------------------


@pytest.mark.sandbox_config(queue_delay_seconds=0.3, min_processing_seconds=0.3)
def test_text_job_goes_scheduled_in_progress_completed(symbl: httpx.Client) -> None:
    ids = submit_text(symbl, name="Discovery - Globex")
    assert ids["conversationId"].isdigit()
    assert uuid.UUID(ids["jobId"])
    seen: list[str] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not seen or seen[-1] != "completed"):
        body = symbl.get(f"/v1/job/{ids['jobId']}").json()
        assert set(body) == {"id", "status"} and body["id"] == ids["jobId"]
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        time.sleep(0.02)
    assert seen == ["scheduled", "in_progress", "completed"]
    conversation = symbl.get(f"/v1/conversations/{ids['conversationId']}").json()
    assert conversation["name"] == "Discovery - Globex"
    assert conversation["type"] == "meeting"
    # Text conversations start at their first message (documented choice); the end follows the last one.
    assert conversation["startTime"] == "2026-04-06T15:00:00.000Z"
    assert conversation["endTime"] == "2026-04-06T15:00:29.000Z"
    assert {m["name"] for m in conversation["members"]} == {"Maya Chen", "Hank Scorpio"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": None}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"payload": {}}]}, "messages[0].payload.content"),
        ({"confidenceThreshold": 0.4}, "confidenceThreshold"),
        ({"confidenceThreshold": "high"}, "confidenceThreshold"),
        ({"webhookUrl": "ftp://example.com/hook"}, "webhookUrl"),
        ({"trackers": [{"name": "Pricing"}]}, "trackers[0].vocabulary"),
        ({"entities": [{"customType": "Product", "value": "x"}]}, "entities[0].text"),
        ({"mode": "video"}, "mode"),
        ({"enableSummary": "maybe"}, "enableSummary"),
    ],
)
def test_text_submit_validation_names_the_bad_field(
    shared_symbl: httpx.Client, body: dict[str, Any], field: str
) -> None:
    payload = {"messages": text_messages()[:1], **body}
    response = shared_symbl.post("/v1/process/text", json=payload)
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_text_submit_rejects_a_non_json_content_type(shared_symbl: httpx.Client) -> None:
    response = shared_symbl.post(
        "/v1/process/text",
        content=json.dumps({"messages": text_messages()}),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 400
    assert "Content-Type" in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/process/audio/url", {}, "url"),
        ("/v1/process/audio/url", {"url": "file:///etc/passwd"}, "url"),
        ("/v1/process/video/url", {"url": "http://"}, "url"),
    ],
)
def test_url_submit_validates_the_url(
    shared_symbl: httpx.Client, path: str, body: dict[str, Any], field: str
) -> None:
    response = shared_symbl.post(path, json=body)
    assert response.status_code == 400
    assert field in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "data", "content_type", "expected"),
    [
        ("/v1/process/audio", wav_bytes(transcript()), "audio/mpeg", "Content-Type"),
        ("/v1/process/audio", wav_bytes(transcript()), "text/csv", "Content-Type"),
        ("/v1/process/audio", b"definitely not audio", None, "format"),
        ("/v1/process/audio", wav_bytes(None), "audio/wav", "transcript"),
        ("/v1/process/audio", b"RIFF\x20\x00\x00\x00WAVEcvtx\x04\x00\x00\x00{{{{", None, "transcript"),
        ("/v1/process/audio", b"", None, "empty"),
        ("/v1/process/video", wav_bytes(transcript()), None, "mp4"),
        ("/v1/process/video", mp4_bytes(transcript()), "video/webm", "Content-Type"),
    ],
)
def test_raw_upload_validation(
    shared_symbl: httpx.Client, path: str, data: bytes, content_type: str | None, expected: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = shared_symbl.post(path, content=data, headers=headers)
    assert response.status_code == 400, response.text
    assert expected in response.json()["message"]


@pytest.mark.sandbox_config(max_media_seconds=20)
def test_media_longer_than_the_limit_is_rejected(symbl: httpx.Client) -> None:
    response = symbl.post("/v1/process/audio", content=wav_bytes(transcript(turn=5.0)))  # 30 s of transcript
    assert response.status_code == 400
    assert "maximum" in response.json()["message"]


@pytest.mark.sandbox_config(max_media_bytes=4096)
def test_an_upload_over_the_size_limit_is_413(symbl: httpx.Client) -> None:
    response = symbl.post("/v1/process/audio", content=wav_bytes(transcript(), audio_seconds=1.0))
    assert response.status_code == 413
    assert "limit" in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "make"), [("/v1/process/audio", wav_bytes), ("/v1/process/video", mp4_bytes)]
)
def test_raw_media_is_recognised_from_its_embedded_transcript(
    shared_symbl: httpx.Client, path: str, make: Callable[[Transcript], bytes]
) -> None:
    ids = shared_symbl.post(path, content=make(transcript())).json()
    assert wait_job(shared_symbl, ids["jobId"])["status"] == "completed"
    messages = shared_symbl.get(f"/v1/conversations/{ids['conversationId']}/messages").json()["messages"]
    assert " ".join(m["text"] for m in messages) == " ".join(text for _, text in LINES)


def test_raw_upload_options_in_the_query_string_in_every_encoding(shared_symbl: httpx.Client) -> None:
    trackers = json.dumps([{"name": "Competition", "vocabulary": ["Gong", "Chorus"]}])
    params: list[tuple[str, str]] = [
        ("name", "query-encoded"),
        ("trackers", trackers),  # JSON-encoded array
        ("customVocabulary", "Gong"),  # repeated keys
        ("customVocabulary", "Lumen"),
        (
            "entities",
            json.dumps({"customType": "Vendor", "value": "Gong", "text": "Gong"}),
        ),  # repeated object
        ("detectEntities", "true"),
        ("enableSummary", "true"),
        ("enableSpeakerDiarization", "false"),
    ]
    ids = shared_symbl.post("/v1/process/audio", params=params, content=wav_bytes(transcript())).json()
    assert wait_job(shared_symbl, ids["jobId"])["status"] == "completed"
    cid = ids["conversationId"]
    assert shared_symbl.get(f"/v1/conversations/{cid}").json()["name"] == "query-encoded"
    hits = shared_symbl.get(f"/v1/conversations/{cid}/trackers").json()
    assert [t["name"] for t in hits] == ["Competition"]
    assert hits[0]["matches"][0]["value"] == "Gong"
    entities = shared_symbl.get(f"/v1/conversations/{cid}/entities").json()["entities"]
    assert any(e.get("category") == "Custom" and e["type"] == "Vendor" for e in entities)
    assert shared_symbl.get(f"/v1/conversations/{cid}/summary").json()["summary"]


def test_diarization_options_are_read_from_the_query_string_on_url_endpoints(
    shared_symbl: httpx.Client,
) -> None:
    url = "http://127.0.0.1:9/never-fetched.wav"
    bad = shared_symbl.post("/v1/process/audio/url?diarizationSpeakerCount=0", json={"url": url})
    assert bad.status_code == 400 and "diarizationSpeakerCount" in bad.json()["message"]
    good = shared_symbl.post(
        "/v1/process/audio/url?enableSpeakerDiarization=true&diarizationSpeakerCount=2", json={"url": url}
    )
    assert good.status_code == 201


# --- URL submissions ----------------------------------------------------------------------------------------


@pytest.fixture
def media_sandbox(sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path) -> RunningSandbox:
    media = tmp_path / "media"
    media.mkdir()
    (media / "call.wav").write_bytes(wav_bytes(transcript()))
    (media / "call.mp4").write_bytes(mp4_bytes(transcript()))
    (media / "silent.wav").write_bytes(wav_bytes(None))
    (media / "sidecar.wav").write_bytes(wav_bytes(None))
    (media / "sidecar.wav.transcript.json").write_text(transcript(LINES[:2]).to_json())
    # Failed jobs carry their reason only when configured (Symbl documents none): these tests read it.
    return sandbox_factory(media_dir=media, job_failure_reason=True)


@pytest.mark.parametrize(
    ("path", "file", "texts"),
    [
        ("/v1/process/audio/url", "call.wav", [t for _, t in LINES]),
        ("/v1/process/video/url", "call.mp4", [t for _, t in LINES]),
        ("/v1/process/audio/url", "sidecar.wav", [t for _, t in LINES[:2]]),
    ],
)
def test_url_media_is_fetched_and_recognised(
    media_sandbox: RunningSandbox, path: str, file: str, texts: list[str]
) -> None:
    with authed(media_sandbox) as client:
        ids = client.post(path, json={"url": f"{media_sandbox.url}/media/{file}"}).json()
        assert wait_job(client, ids["jobId"])["status"] == "completed"
        messages = client.get(f"/v1/conversations/{ids['conversationId']}/messages").json()["messages"]
        assert " ".join(m["text"] for m in messages) == " ".join(texts)


def test_unusable_urls_end_the_job_failed_with_a_reason(media_sandbox: RunningSandbox) -> None:
    redirector = Starlette(
        routes=[Route("/r", lambda _: RedirectResponse(f"{media_sandbox.url}/media/call.wav"))]
    )
    with ServedApp(redirector) as redirect_server, authed(media_sandbox) as client:
        cases = {
            f"{media_sandbox.url}/media/missing.wav": "HTTP 404",
            f"{media_sandbox.url}/media/silent.wav": "no transcript",
            f"{redirect_server.base_url}/r": "redirects",
        }
        for url, reason in cases.items():
            job = client.post("/v1/process/audio/url", json={"url": url}).json()["jobId"]
            final = wait_job(client, job)
            assert final["status"] == "failed" and reason in final["message"], (url, final)


# --- append, 404s, 429 --------------------------------------------------------------------------------------


def test_append_adds_a_job_to_the_same_conversation_after_its_content(symbl: httpx.Client) -> None:
    first = submit_text(symbl)
    assert wait_job(symbl, first["jobId"])["status"] == "completed"
    cid = first["conversationId"]
    extra = transcript([(MAYA, "One more thing about the rollout plan.")])
    appended = symbl.put(f"/v1/process/audio/{cid}", content=wav_bytes(extra)).json()
    assert appended["conversationId"] == cid and appended["jobId"] != first["jobId"]
    assert wait_job(symbl, appended["jobId"])["status"] == "completed"
    messages = symbl.get(f"/v1/conversations/{cid}/messages").json()["messages"]
    assert len(messages) >= len(LINES) + 1
    assert messages[-1]["text"] == "One more thing about the rollout plan."
    assert messages[-1]["startTime"] >= messages[-2]["endTime"]


def test_unknown_ids_are_404(shared_symbl: httpx.Client) -> None:
    assert shared_symbl.get(f"/v1/job/{uuid.uuid4()}").status_code == 404
    for suffix in ["", "/messages", "/topics", "/summary", "/trackers", "/trackers-detected", "/analytics"]:
        response = shared_symbl.get(f"/v1/conversations/1234567890123456{suffix}")
        assert response.status_code == 404 and "message" in response.json()
    append = shared_symbl.put("/v1/process/text/1234567890123456", json={"messages": text_messages()})
    assert append.status_code == 404


@pytest.mark.sandbox_config(concurrent_job_limit=2, min_processing_seconds=3.0)
def test_the_concurrent_job_limit_answers_the_documented_429(sandbox: str, symbl: httpx.Client) -> None:
    submit_text(symbl)
    submit_text(symbl)
    refused = symbl.post("/v1/process/text", json={"messages": text_messages()})
    assert refused.status_code == 429
    assert refused.json() == {
        "statusCode": 429,
        "message": "This API has a limit of maximum of `2` number of concurrent jobs per account. "
        "If you are looking to scale, and need more concurrent jobs than this limit, "
        "please contact us at support@symbl.ai",
    }
    assert "retry-after" not in refused.headers
    # The limit is a run-time knob.
    httpx.put(f"{sandbox}/_sandbox/faults", json={"concurrent_job_limit": 3}).raise_for_status()
    assert symbl.post("/v1/process/text", json={"messages": text_messages()}).status_code == 201


def test_worker_processes_analyse_as_the_server_itself_does() -> None:
    """SANDBOX_ANALYSIS_PROCESSES: the analysis runs in another process and gives the very same insights."""
    start = datetime(2026, 4, 6, 15, 0, tzinfo=UTC)
    options: dict[str, Any] = {
        "detect_entities": True,
        "custom_entities": (),
        "trackers": ({"id": "t1", "name": "Competition", "vocabulary": ["Gong"]},),
        "confidence_threshold": 0.5,
        "enable_summary": True,
    }
    utterances = transcript().utterances
    engine = ProcessPoolEngine(2)
    try:
        pids = engine.worker_pids()
        in_worker = engine("4711", start, utterances, **options)
    finally:
        engine.close()
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert in_worker == intelligence_engine("4711", start, utterances, **options)
    assert in_worker["topics"] and in_worker["trackers"]


@pytest.mark.sandbox_config(analysis_processes=1)
def test_a_sandbox_with_analysis_processes_completes_jobs_with_their_insights(symbl: httpx.Client) -> None:
    ids = submit_text(symbl, trackers=[{"name": "Competition", "vocabulary": ["Gong"]}])
    assert wait_job(symbl, ids["jobId"], timeout=30)["status"] == "completed"
    base = f"/v1/conversations/{ids['conversationId']}"
    said = " ".join(m["text"] for m in symbl.get(f"{base}/messages").json()["messages"])
    assert said.split() == " ".join(text for _, text in LINES).split()
    assert symbl.get(f"{base}/topics").json()["topics"]
    assert symbl.get(f"{base}/trackers").json()[0]["name"] == "Competition"


# --- conversation API ---------------------------------------------------------------------------------------


def test_every_conversation_endpoint_answers_its_documented_shape(symbl: httpx.Client) -> None:
    ids = submit_text(symbl, detectEntities=True, trackers=[{"name": "Competition", "vocabulary": ["Gong"]}])
    assert wait_job(symbl, ids["jobId"])["status"] == "completed"
    base = f"/v1/conversations/{ids['conversationId']}"
    plain = symbl.get(f"{base}/messages").json()["messages"]
    rich = symbl.get(f"{base}/messages?verbose=true&sentiment=true").json()["messages"]
    assert "words" not in plain[0] and "sentiment" not in plain[0]
    assert rich[0]["words"] and rich[0]["sentiment"]["suggested"] in {"positive", "neutral", "negative"}
    topics = symbl.get(f"{base}/topics").json()["topics"]
    assert topics and "sentiment" not in topics[0] and "parentRefs" not in topics[0]
    topics = symbl.get(f"{base}/topics?sentiment=true&parentRefs=true").json()["topics"]
    assert "sentiment" in topics[0] and "parentRefs" in topics[0]
    assert symbl.get(f"{base}/action-items").json()["actionItems"]
    assert symbl.get(f"{base}/follow-ups").json()["followUps"]
    assert symbl.get(f"{base}/questions").json()["questions"]
    assert symbl.get(f"{base}/entities").json()["entities"]
    analytics = symbl.get(f"{base}/analytics").json()
    assert {m["type"] for m in analytics["metrics"]} == {"total_silence", "total_talk_time", "total_overlap"}
    assert len(analytics["members"]) == 2
    trackers = symbl.get(f"{base}/trackers").json()
    assert isinstance(trackers, list) and trackers[0]["name"] == "Competition"
    assert symbl.get(f"{base}/trackers-detected").json() == trackers
    assert len(symbl.get(f"{base}/members").json()["members"]) == 2


def test_list_wrappers_are_present_even_when_empty(symbl: httpx.Client) -> None:
    quiet = [(MAYA, "Hello."), (HANK, "Hello.")]
    ids = symbl.post("/v1/process/text", json={"messages": text_messages(quiet)}).json()
    assert wait_job(symbl, ids["jobId"])["status"] == "completed"
    base = f"/v1/conversations/{ids['conversationId']}"
    assert symbl.get(f"{base}/questions").json() == {"questions": []}
    assert symbl.get(f"{base}/entities").json() == {"entities": []}  # detectEntities was not set
    assert symbl.get(f"{base}/trackers").json() == []


def test_summary_needs_enable_summary_or_refresh(symbl: httpx.Client) -> None:
    plain = submit_text(symbl)
    asked = submit_text(symbl, enableSummary=True)
    for ids in (plain, asked):
        assert wait_job(symbl, ids["jobId"])["status"] == "completed"
    assert symbl.get(f"/v1/conversations/{plain['conversationId']}/summary").json() == {"summary": []}
    assert symbl.get(f"/v1/conversations/{asked['conversationId']}/summary").json()["summary"]
    refreshed = symbl.get(f"/v1/conversations/{plain['conversationId']}/summary?refresh=true").json()[
        "summary"
    ]
    assert refreshed and {"id", "text", "messageRefs"} <= set(refreshed[0])


@pytest.mark.sandbox_config(min_processing_seconds=1.5)
def test_partial_results_while_the_job_runs(symbl: httpx.Client) -> None:
    lines = [(MAYA if i % 2 else HANK, f"Statement number {i} about the quarterly plan.") for i in range(20)]
    ids = symbl.post("/v1/process/text", json={"messages": text_messages(lines)}).json()
    base = f"/v1/conversations/{ids['conversationId']}"
    counts: set[int] = set()
    summary_statuses: set[int] = set()
    while True:
        count = len(symbl.get(f"{base}/messages").json()["messages"])
        summary_status = symbl.get(f"{base}/summary").status_code
        # Checked after the reads: if the job still runs now, it ran during them.
        if symbl.get(f"/v1/job/{ids['jobId']}").json()["status"] not in {"scheduled", "in_progress"}:
            break
        counts.add(count)
        summary_statuses.add(summary_status)
        time.sleep(0.05)
    final = len(symbl.get(f"{base}/messages").json()["messages"])
    assert final >= 20
    assert any(0 < c < final for c in counts), counts  # something, not everything, while running
    assert summary_statuses == {404}
    assert symbl.get(f"{base}/summary").status_code == 200


def test_list_and_delete_conversations(symbl: httpx.Client) -> None:
    created = [submit_text(symbl, name=f"call {i}")["conversationId"] for i in range(3)]
    listed = symbl.get("/v1/conversations?limit=2&offset=0&order=asc").json()["conversations"]
    assert [c["id"] for c in listed] == created[:2]
    rest = symbl.get("/v1/conversations?limit=2&offset=2&order=asc").json()["conversations"]
    assert [c["id"] for c in rest] == created[2:]
    window = symbl.get("/v1/conversations?startTime=2027-01-01T00:00:00Z").json()["conversations"]
    assert window == []
    assert symbl.get("/v1/conversations?order=sideways").status_code == 400
    assert symbl.delete(f"/v1/conversations/{created[0]}").status_code == 200
    assert symbl.get(f"/v1/conversations/{created[0]}").status_code == 404
    assert created[0] not in [c["id"] for c in symbl.get("/v1/conversations").json()["conversations"]]


# --- failed jobs, webhooks ----------------------------------------------------------------------------------


@pytest.mark.sandbox_config(fail_jobs_matching="^doomed", job_failure_reason=True)
def test_jobs_can_be_made_to_fail_deterministically(sandbox: str, symbl: httpx.Client) -> None:
    doomed = submit_text(symbl, name="doomed call")
    fine = submit_text(symbl, name="fine call")
    final = wait_job(symbl, doomed["jobId"])
    assert final["status"] == "failed" and "doomed" in final["message"]
    assert wait_job(symbl, fine["jobId"]) == {"id": fine["jobId"], "status": "completed"}
    httpx.put(f"{sandbox}/_sandbox/faults", json={"fail_next_jobs": 1}).raise_for_status()
    assert wait_job(symbl, submit_text(symbl, name="x")["jobId"])["status"] == "failed"
    assert wait_job(symbl, submit_text(symbl, name="y")["jobId"])["status"] == "completed"


def _statuses(received: list[dict[str, Any]], job_id: str) -> list[str]:
    return [r["status"] for r in received if r["jobId"] == job_id]


def test_webhooks_arrive_for_every_status_change_with_both_id_keys(
    symbl: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.status_codes = [503, 500]  # the first delivery needs two retries
    ids = submit_text(symbl, webhookUrl=webhook_receiver.url)
    assert webhook_receiver.wait_for(lambda got: "completed" in _statuses(got, ids["jobId"]))
    assert _statuses(webhook_receiver.received, ids["jobId"]) == ["scheduled", "in_progress", "completed"]
    for payload in webhook_receiver.received:
        assert payload["jobId"] == payload["id"] == ids["jobId"]
        assert payload["conversationId"] == ids["conversationId"]


@pytest.mark.sandbox_config(fault_duplicate_webhook_rate=1.0, fail_next_jobs=1)
def test_duplicate_webhooks_and_failed_status_are_delivered(
    symbl: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    ids = submit_text(symbl, webhookUrl=webhook_receiver.url)
    assert webhook_receiver.wait_for(lambda got: _statuses(got, ids["jobId"]).count("failed") == 2)
    assert _statuses(webhook_receiver.received, ids["jobId"]) == [
        "scheduled",
        "scheduled",
        "in_progress",
        "in_progress",
        "failed",
        "failed",
    ]


# --- restart ------------------------------------------------------------------------------------------------


def test_state_survives_a_restart_and_unfinished_jobs_complete(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    running = sandbox_factory(min_processing_seconds=0.8)
    token = symbl_token_for(running.url)
    with authed(running) as client:
        done = submit_text(client, name="finished before restart")
        wait_job(client, done["jobId"])
        pending = submit_text(client, name="unfinished at restart")
    running.restart(min_processing_seconds=0.1)
    headers = {"x-api-key": token}  # issued before the restart
    with httpx.Client(base_url=running.symbl_url, headers=headers, timeout=10) as client:
        assert client.get(f"/v1/job/{done['jobId']}").json()["status"] == "completed"
        assert (
            client.get(f"/v1/conversations/{done['conversationId']}").json()["name"]
            == "finished before restart"
        )
        assert len(client.get(f"/v1/conversations/{done['conversationId']}/messages").json()["messages"]) >= 6
        assert wait_job(client, pending["jobId"])["status"] == "completed"
        assert client.get(f"/v1/conversations/{pending['conversationId']}/questions").json()["questions"]


# --- trackers management ------------------------------------------------------------------------------------


def test_trackers_2023_generation_crud_and_use_in_a_submission(symbl: httpx.Client) -> None:
    created = symbl.post("/v1/manage/trackers", json={"name": "Pricing", "vocabulary": ["price", "budget"]})
    assert created.status_code == 201
    tracker = created.json()["tracker"]
    assert {"id", "name", "vocabulary", "categories", "languages", "createdOn", "updatedOn"} <= set(tracker)
    bulk = symbl.post(
        "/v1/manage/trackers/bulk", json={"trackers": [{"name": "Competition", "vocabulary": ["Gong"]}]}
    )
    assert bulk.status_code == 201 and bulk.json()["trackers"][0]["name"] == "Competition"
    patch = [
        {"op": "add", "path": "/vocabulary/-", "value": "cost"},
        {"op": "replace", "path": "/name", "value": "Money"},
    ]
    patched = symbl.patch(f"/v1/manage/trackers/{tracker['id']}", json=patch).json()["tracker"]
    assert patched["name"] == "Money" and patched["vocabulary"] == ["price", "budget", "cost"]
    names = [t["name"] for t in symbl.get("/v1/manage/trackers").json()["trackers"]]
    assert names == ["Money", "Competition"]
    assert [t["name"] for t in symbl.get("/v1/manage/trackers?name=money").json()["trackers"]] == ["Money"]

    ids = submit_text(symbl, enableAllTrackers=True)
    assert wait_job(symbl, ids["jobId"])["status"] == "completed"
    detected = symbl.get(f"/v1/conversations/{ids['conversationId']}/trackers").json()
    assert [t["name"] for t in detected] == ["Competition"]  # "Gong" is said; no money words are

    assert symbl.delete(f"/v1/manage/trackers/{tracker['id']}").status_code == 200
    assert symbl.patch(f"/v1/manage/trackers/{tracker['id']}", json=patch).status_code == 404


def test_trackers_2022_generation_crud(symbl: httpx.Client) -> None:
    created = symbl.post(
        "/v1/manage/tracker", json={"name": "Security", "vocabulary": ["SOC 2", "security review"]}
    )
    assert created.status_code == 201
    tracker = created.json()
    assert tracker["name"] == "Security"  # bare object in the 2022 generation
    assert symbl.get(f"/v1/manage/tracker/{tracker['id']}").json()["vocabulary"] == [
        "SOC 2",
        "security review",
    ]
    replaced = symbl.put(
        f"/v1/manage/tracker/{tracker['id']}", json={"name": "Security", "vocabulary": ["GDPR"]}
    )
    assert replaced.json()["vocabulary"] == ["GDPR"]
    assert symbl.delete(f"/v1/manage/tracker/{tracker['id']}").status_code == 200
    assert symbl.get(f"/v1/manage/tracker/{tracker['id']}").status_code == 404


@pytest.mark.parametrize(
    ("tracker", "fragment"),
    [
        ({"name": "Many", "vocabulary": [f"term {i}" for i in range(51)]}, "maximum is 50"),
        ({"name": "Punct", "vocabulary": ["price!"]}, "punctuation"),
        ({"name": "Dup", "vocabulary": ["price", "Price"]}, "duplicate"),
        ({"name": "", "vocabulary": ["price"]}, "name"),
        ({"name": "NoTerms", "vocabulary": []}, "vocabulary"),
    ],
)
def test_tracker_rules_are_enforced(
    shared_symbl: httpx.Client, tracker: dict[str, Any], fragment: str
) -> None:
    response = shared_symbl.post("/v1/manage/trackers", json=tracker)
    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_tracker_name_clash_is_409_and_the_account_limit_is_500(symbl: httpx.Client) -> None:
    assert (
        symbl.post("/v1/manage/tracker", json={"name": "Pricing", "vocabulary": ["price"]}).status_code == 201
    )
    clash = symbl.post("/v1/manage/trackers", json={"name": "pricing", "vocabulary": ["cost"]})
    assert clash.status_code == 409
    many = [{"name": f"T{i}", "vocabulary": ["word"]} for i in range(499)]
    assert symbl.post("/v1/manage/trackers/bulk", json={"trackers": many}).status_code == 201
    over = symbl.post("/v1/manage/trackers", json={"name": "One too many", "vocabulary": ["x"]})
    assert over.status_code == 400 and "500" in over.json()["message"]


@pytest.mark.sandbox_config(max_management_body_bytes=2048)
def test_tracker_bodies_over_the_limit_are_413(symbl: httpx.Client) -> None:
    big = {"name": "Big", "vocabulary": ["word"], "description": "x" * 4096}
    assert symbl.post("/v1/manage/trackers", json=big).status_code == 413


@pytest.mark.sandbox_config(tracker_management_latency_seconds=0.5)
def test_only_one_tracker_management_request_at_a_time(sandbox: str, symbl_token: str) -> None:
    results: list[int] = []

    def create(name: str) -> None:
        response = httpx.post(
            f"{sandbox}/symbl/v1/manage/trackers",
            json={"name": name, "vocabulary": ["word"]},
            headers={"Authorization": f"Bearer {symbl_token}"},
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=create, args=(f"T{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201, 429]


def test_the_listing_shows_what_the_conversation_shows_also_for_a_data_dir_from_before_the_listing(
    sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    def listed_and_single(running: RunningSandbox) -> tuple[dict[str, Any], dict[str, Any]]:
        headers = {"Authorization": f"Bearer {symbl_token_for(running.url)}"}
        with httpx.Client(base_url=f"{running.url}/symbl", headers=headers, timeout=10) as client:
            if not client.get("/v1/conversations").json()["conversations"]:
                wait_job(client, submit_text(client, name="listed call")["jobId"])
            (item,) = client.get("/v1/conversations").json()["conversations"]
            return item, client.get(f"/v1/conversations/{item['id']}").json()

    running = sandbox_factory()
    item, single = listed_and_single(running)
    assert item == single and item["members"] and item["endTime"] > item["startTime"]
    # A data dir written before the listing was kept beside the insights: the listing derives it.
    running.stop()
    (store,) = (tmp_path / "sandbox").rglob("symbl.sqlite3")
    with sqlite3.connect(store) as con:
        assert con.execute("DELETE FROM conversation_listing").rowcount == 1
    again, single_again = listed_and_single(running.restart())
    assert again == item == single_again
