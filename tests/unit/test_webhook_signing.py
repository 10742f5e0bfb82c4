"""Platform-event signing (HMAC-SHA256 over "timestamp.body", Slack/Stripe style) and event-body validation."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from orchestration.defs.webhooks import signing
from orchestration.defs.webhooks.events import EventError, parse_platform_event, parse_symbl_callback

SECRET = "platform-shared-secret-0123456789"
BODY = b'{"type":"recording.completed","recording":{}}'
NOW = 1_775_574_000


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    headers = signing.sign(SECRET, NOW, BODY)
    independent = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert headers == {"X-Convo-Timestamp": str(NOW), "X-Convo-Signature": f"v1={independent}"}


def verify(headers: dict[str, str], body: bytes = BODY, now: float = NOW, secret: str = SECRET) -> str:
    stamp = signing.parse_timestamp(
        headers.get(signing.TIMESTAMP_HEADER), now, signing.DEFAULT_WINDOW_SECONDS
    )
    candidates = signing.signatures_from(headers.get(signing.SIGNATURE_HEADER))
    return signing.verify(secret, stamp, candidates, body)


def test_a_valid_signature_verifies_and_is_the_replay_key() -> None:
    headers = signing.sign(SECRET, NOW, BODY)
    assert f"v1={verify(headers)}" == headers[signing.SIGNATURE_HEADER]


def test_any_changed_byte_or_another_secret_fails() -> None:
    headers = signing.sign(SECRET, NOW, BODY)
    with pytest.raises(signing.SignatureError, match="does not match"):
        verify(headers, body=BODY + b" ")
    with pytest.raises(signing.SignatureError, match="does not match"):
        verify(headers, secret=SECRET + "x")
    # The timestamp is inside the MAC: moving it (to dodge the staleness check) breaks the signature.
    moved = {**headers, signing.TIMESTAMP_HEADER: str(NOW + 1)}
    with pytest.raises(signing.SignatureError, match="does not match"):
        verify(moved)


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamps_outside_the_window_are_stale(skew: int) -> None:
    headers = signing.sign(SECRET, NOW + skew, BODY)
    with pytest.raises(signing.SignatureError, match="stale"):
        verify(headers)


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_timestamps_inside_the_window_pass(skew: int) -> None:
    assert verify(signing.sign(SECRET, NOW + skew, BODY))


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-Convo-Timestamp"),
        ({"X-Convo-Timestamp": "2026-04-07T15:00:00Z"}, "unix seconds"),
        ({"X-Convo-Timestamp": str(NOW)}, "missing X-Convo-Signature"),
        ({"X-Convo-Timestamp": str(NOW), "X-Convo-Signature": "v0=abc"}, "no v1="),
    ],
)
def test_malformed_headers_are_refused(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(signing.SignatureError, match=reason):
        verify(headers)


def test_secret_rotation_accepts_either_of_two_signatures() -> None:
    old = signing.sign("the-old-secret-0123456789", NOW, BODY)[signing.SIGNATURE_HEADER]
    new = signing.sign(SECRET, NOW, BODY)[signing.SIGNATURE_HEADER]
    headers = {signing.TIMESTAMP_HEADER: str(NOW), signing.SIGNATURE_HEADER: f"{old}, {new}"}

    assert f"v1={verify(headers)}" == new


def manifest(**changes: Any) -> dict[str, Any]:
    doc = {
        "recording_id": "rec-1",
        "start_time": "2026-04-07T15:00:00+02:00",
        "host": {"email": "maya.chen@lumen.example"},
        "participants": [{"name": "Maya Chen"}],
        "media": {"kind": "transcript_file", "path": "transcripts/rec-1.json"},
    }
    return {**doc, **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recording_id": "rec/../../etc"}, "recording_id"),
        ({"start_time": "2026-04-07T15:00:00"}, "start_time"),
        ({"participants": []}, "participants"),
        ({"media": {"kind": "audio_url", "url": "ftp://media.example.com/a.wav"}}, "media.url"),
        ({"media": {"kind": "audio_file", "path": "../outside.wav"}}, "media.path"),
        ({"media": {"kind": "audio_file", "path": "C:\\media\\a.wav"}}, "media.path"),
        ({"media": {"kind": "hologram", "path": "a.wav"}}, "media.kind"),
    ],
)
def test_platform_event_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(EventError, match=field):
        parse_platform_event({"type": "recording.completed", "recording": manifest(**changes)})


def test_bare_manifest_and_envelope_mean_the_same_recording() -> None:
    bare = parse_platform_event(manifest())
    wrapped = parse_platform_event({"type": "recording.completed", "id": "evt-9", "recording": manifest()})
    assert bare["recording"] == wrapped["recording"] == manifest()
    assert (bare["event_id"], wrapped["event_id"]) == (None, "evt-9")


@pytest.mark.parametrize(
    "body",
    [
        {"jobId": "j-1", "status": "failed"},
        {"id": "j-1", "status": "failed"},
        {"jobId": "j-1", "id": "j-1", "status": "failed"},
    ],
)
def test_symbl_callback_accepts_either_id_key(body: dict[str, Any]) -> None:
    assert parse_symbl_callback(body) == {"job_id": "j-1", "status": "failed", "conversation_id": None}
