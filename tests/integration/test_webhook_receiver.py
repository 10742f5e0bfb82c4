"""The webhook receiver over real loopback HTTP: what it accepts lands durably in the inbox, what it refuses leaves
nothing behind, and its replay cache survives a restart."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestration.defs.webhooks import inbox, signing
from orchestration.defs.webhooks.app import WebhookSettings, build_webhook_app
from orchestration.defs.webhooks.replay import IN_FLIGHT_SECONDS
from sandbox.server import ServedApp

SECRET = "platform-shared-secret-0123456789"
TOKEN = "symbl-callback-token-abcdefghijklmnop"
MAX_BODY = 4096
PLATFORM = "/platform/recording-completed"


def recording(recording_id: str = "rec-20260407-maya-0001", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "recording_id": recording_id,
        "start_time": "2026-04-07T15:00:00Z",
        "title": "Discovery call - Globex",
        "host": {"name": "Maya Chen", "email": "maya.chen@lumen.example"},
        "participants": [{"name": "Maya Chen", "email": "maya.chen@lumen.example", "role": "rep"}],
        "media": {"kind": "audio_url", "url": "https://media.example.com/rec-0001.wav"},
    }
    doc.update(changes)
    return doc


def envelope(doc: dict[str, Any]) -> bytes:
    return json.dumps({"type": "recording.completed", "id": "evt-1", "recording": doc}).encode()


class Receiver:
    def __init__(self, inbox_dir: Path) -> None:
        self.inbox_dir = inbox_dir
        self.settings = WebhookSettings(
            inbox_dir=inbox_dir, webhook_secret=SECRET, symbl_callback_token=TOKEN, max_body_bytes=MAX_BODY
        )
        self.served: ServedApp | None = None

    def start(self) -> Receiver:
        self.served = ServedApp(build_webhook_app(self.settings)).start()
        return self

    def stop(self) -> None:
        if self.served is not None:
            self.served.stop()
            self.served = None

    @property
    def url(self) -> str:
        assert self.served is not None
        return self.served.base_url

    def post_signed(
        self, body: bytes, *, secret: str = SECRET, timestamp: float | None = None
    ) -> httpx.Response:
        headers = signing.sign(secret, int(time.time() if timestamp is None else timestamp), body)
        return self.post(PLATFORM, body, headers)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        headers = {"Content-Type": "application/json", **(headers or {})}
        return httpx.post(f"{self.url}{path}", content=body, headers=headers, timeout=10)

    def files(self) -> list[str]:
        """Everything under the inbox except the (empty) folders and the replay cache."""
        return sorted(
            p.relative_to(self.inbox_dir).as_posix()
            for p in self.inbox_dir.rglob("*")
            if p.is_file() and p.parent.name != "replay"
        )


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    running = Receiver(tmp_path / "inbox").start()
    yield running
    running.stop()


def only_event(receiver: Receiver) -> dict[str, Any]:
    events = inbox.pending_events(receiver.inbox_dir)
    assert len(events) == 1 and receiver.files() == [f"pending/{events[0].name}"], receiver.files()
    return {"kind": events[0].kind, **events[0].payload}


@pytest.mark.parametrize("wrapped", [True, False], ids=["envelope", "bare-manifest"])
def test_signed_platform_event_is_accepted_and_lands_in_the_inbox(receiver: Receiver, wrapped: bool) -> None:
    doc = recording(media={"kind": "audio_file", "path": "media/rec-0001.wav"})
    response = receiver.post_signed(envelope(doc) if wrapped else json.dumps(doc).encode())

    assert response.status_code == 202, response.text
    event = only_event(receiver)
    assert response.json()["event"] == inbox.pending_events(receiver.inbox_dir)[0].name
    assert event["kind"] == inbox.PLATFORM_RECORDING
    assert event["recording"] == doc
    assert event["event_id"] == ("evt-1" if wrapped else None)


def oversized_body() -> bytes:
    doc = recording(title="x" * MAX_BODY)
    return envelope(doc)


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("unsigned", 401, "missing X-Convo-Timestamp"),
        ("no signature header", 401, "missing X-Convo-Signature"),
        ("wrong secret", 401, "does not match"),
        ("body changed after signing", 401, "does not match"),
        ("signed 6 minutes ago", 401, "stale"),
        ("signed 6 minutes ahead", 401, "stale"),
        ("oversized", 413, "over 4096 bytes"),
        ("not JSON", 400, "not valid JSON"),
        ("missing host email", 400, "recording.host.email"),
        ("media path outside the drop folder", 400, "recording.media.path"),
        ("unknown event type", 400, "type must be"),
    ],
)
def test_rejected_platform_requests_leave_nothing_in_the_inbox(
    receiver: Receiver, case: str, status: int, reason: str
) -> None:
    body = envelope(recording())
    now = time.time()
    if case == "unsigned":
        response = receiver.post(PLATFORM, body)
    elif case == "no signature header":
        response = receiver.post(PLATFORM, body, {signing.TIMESTAMP_HEADER: str(int(now))})
    elif case == "wrong secret":
        response = receiver.post_signed(body, secret="another-secret-of-enough-length")
    elif case == "body changed after signing":
        headers = signing.sign(SECRET, int(now), body)
        response = receiver.post(PLATFORM, body.replace(b"Globex", b"Initech"), headers)
    elif case == "signed 6 minutes ago":
        response = receiver.post_signed(body, timestamp=now - 360)
    elif case == "signed 6 minutes ahead":
        response = receiver.post_signed(body, timestamp=now + 360)
    elif case == "oversized":
        response = receiver.post_signed(oversized_body())
    elif case == "not JSON":
        response = receiver.post_signed(b'{"type": "recording.completed", ')
    elif case == "missing host email":
        response = receiver.post_signed(envelope(recording(host={"name": "Maya Chen"})))
    elif case == "media path outside the drop folder":
        response = receiver.post_signed(
            envelope(recording(media={"kind": "audio_file", "path": "/etc/passwd"}))
        )
    else:
        response = receiver.post_signed(json.dumps({"type": "recording.deleted", "recording": {}}).encode())

    assert response.status_code == status, response.text
    assert reason in response.json()["error"]
    assert receiver.files() == []
    assert not list((receiver.inbox_dir / "replay").glob("*"))


def test_oversized_body_is_refused_while_streaming(receiver: Receiver) -> None:
    """No Content-Length (chunked): the limit is enforced on the stream, long before a 100 MB body is sent."""
    total_chunks, sent = 1600, [0]

    def endless_body() -> Iterator[bytes]:
        for _ in range(total_chunks):
            sent[0] += 1
            yield b" " * 65536

    headers = {"Content-Type": "application/json", **signing.sign(SECRET, int(time.time()), b"")}
    response = httpx.post(f"{receiver.url}{PLATFORM}", content=endless_body(), headers=headers, timeout=10)

    assert response.status_code == 413
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert sent[0] < total_chunks / 10, f"{sent[0]} of {total_chunks} chunks were sent before the 413"
    assert receiver.files() == []


def test_replayed_request_is_refused_and_the_cache_survives_a_restart(receiver: Receiver) -> None:
    body = envelope(recording())
    headers = signing.sign(SECRET, int(time.time()), body)

    assert receiver.post(PLATFORM, body, headers).status_code == 202
    replay = receiver.post(PLATFORM, body, headers)
    assert replay.status_code == 409 and "replayed" in replay.json()["error"]
    first = only_event(receiver)

    receiver.stop()
    receiver.start()
    assert receiver.post(PLATFORM, body, headers).status_code == 409
    assert only_event(receiver) == first
    # The same event signed afresh (a platform retry after a timeout) is a new request, not a replay.
    assert receiver.post_signed(body, timestamp=int(headers[signing.TIMESTAMP_HEADER]) + 1).status_code == 202
    assert len(inbox.pending_events(receiver.inbox_dir)) == 2


def test_symbl_callback_with_the_right_token_lands(receiver: Receiver) -> None:
    body = {"jobId": "9b1f7c4e-0d1a-4c55-a1b7-3f6d2b8e9a10", "id": "9b1f7c4e-0d1a-4c55-a1b7-3f6d2b8e9a10"}
    body |= {"status": "completed", "conversationId": "5683829930950656"}
    response = receiver.post(f"/symbl/callback/{TOKEN}", json.dumps(body))

    assert response.status_code == 202, response.text
    assert only_event(receiver) == {
        "kind": inbox.SYMBL_CALLBACK,
        "job_id": body["jobId"],
        "status": "completed",
        "conversation_id": body["conversationId"],
    }


@pytest.mark.parametrize(
    "path", [f"/symbl/callback/{TOKEN[:-1]}x", f"/symbl/callback/{TOKEN}extra", "/symbl/callback/"]
)
def test_symbl_callback_with_a_wrong_token_is_indistinguishable_from_no_route(
    receiver: Receiver, path: str
) -> None:
    body = json.dumps({"jobId": "job-1", "status": "completed"})
    response = receiver.post(path, body)
    unknown = receiver.post("/no/such/route", body)

    assert response.status_code == 404
    assert (response.text, response.headers["content-type"]) == (
        unknown.text,
        unknown.headers["content-type"],
    )
    assert receiver.files() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "completed"}, "jobId"),
        ({"jobId": "job-1", "status": "done"}, "status"),
        ({"jobId": "job-1", "id": "job-2", "status": "completed"}, "jobId and id"),
        ({"jobId": "../../etc/passwd", "status": "completed"}, "jobId"),
        (["job-1", "completed"], "JSON object"),
    ],
)
def test_bad_symbl_callback_bodies_get_400_naming_the_field(
    receiver: Receiver, body: Any, field: str
) -> None:
    response = receiver.post(f"/symbl/callback/{TOKEN}", json.dumps(body))

    assert response.status_code == 400
    assert field in response.json()["error"]
    assert receiver.files() == []


def test_secrets_never_reach_the_logs(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    callback = json.dumps({"jobId": "job-1", "status": "completed"})
    receiver.post(f"/symbl/callback/{TOKEN}", callback)
    receiver.post(f"/symbl/callback/{TOKEN}x", callback)
    receiver.post_signed(envelope(recording()))
    receiver.post_signed(envelope(recording()), secret="another-secret-of-enough-length")

    # The server side only: the test's own httpx client logs the URLs it calls.
    server_log = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    assert "job-1" in server_log  # the receiver does log what it accepts
    assert TOKEN not in server_log and SECRET not in server_log


def test_health(receiver: Receiver) -> None:
    assert httpx.get(f"{receiver.url}/health").json() == {"status": "ok"}


def test_sandbox_symbl_delivers_its_job_callbacks_into_the_inbox(
    receiver: Receiver, symbl: httpx.Client
) -> None:
    """The contract end to end: the sandbox's Symbl posts every status change of a real job to the receiver."""
    submitted = symbl.post(
        "/v1/process/text",
        json={
            "name": "webhook contract",
            "webhookUrl": f"{receiver.url}/symbl/callback/{TOKEN}",
            "messages": [
                {
                    "payload": {"content": "Can you send the pricing sheet by Friday?"},
                    "from": {"name": "Maya"},
                }
            ],
        },
    )
    submitted.raise_for_status()
    job_id = submitted.json()["jobId"]

    deadline = time.monotonic() + 15
    while inbox.latest_job_status(receiver.inbox_dir).get(job_id) != "completed":
        assert time.monotonic() < deadline, inbox.latest_job_status(receiver.inbox_dir)
        time.sleep(0.05)
    statuses = [e.payload["status"] for e in inbox.pending_events(receiver.inbox_dir)]
    assert statuses[0] == "scheduled" and statuses[-1] == "completed"
    assert {e.payload["conversation_id"] for e in inbox.pending_events(receiver.inbox_dir)} == {
        submitted.json()["conversationId"]
    }


def test_a_claim_left_by_a_crash_before_the_event_was_written_does_not_block_the_retry(
    receiver: Receiver,
) -> None:
    """The process died after claiming the signature but before the event landed: the sender got no 202."""
    body = envelope(recording())
    headers = signing.sign(SECRET, int(time.time()), body)
    signature = headers[signing.SIGNATURE_HEADER].removeprefix("v1=")
    claim = receiver.inbox_dir / "replay" / signature
    claim.parent.mkdir(parents=True, exist_ok=True)
    claim.write_text(inbox.new_event_name())  # names an event that never reached pending/

    assert receiver.post(PLATFORM, body, headers).status_code == 409  # young: the first may still be writing
    stale = time.time() - IN_FLIGHT_SECONDS - 1
    os.utime(claim, (stale, stale))
    assert receiver.post(PLATFORM, body, headers).status_code == 202
    assert only_event(receiver)["recording"] == recording()
    assert receiver.post(PLATFORM, body, headers).status_code == 409


def test_temp_files_of_interrupted_writes_are_not_events_and_are_swept_at_start(receiver: Receiver) -> None:
    leftover = receiver.inbox_dir / "pending" / f"{inbox.TEMP_PREFIX}crashed-{inbox.new_event_name()}"
    leftover.write_text('{"kind": "symbl_callback", "payload": {}}')
    assert inbox.pending_events(receiver.inbox_dir) == []

    hour_ago = time.time() - 3601
    os.utime(leftover, (hour_ago, hour_ago))
    receiver.stop()
    receiver.start()
    assert not leftover.exists()
