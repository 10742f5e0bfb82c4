"""The sandbox's operator surface: health, call counters, run-time fault settings, fault injection, /media."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningSandbox, symbl_token_for


def test_health_names_the_mounted_vendors_and_each_answers_under_its_prefix(sandbox: str) -> None:
    body = httpx.get(f"{sandbox}/health").json()
    assert body == {"status": "ok", "vendors": ["symbl", "semarize", "nebula", "slack", "crm"]}
    # Unauthenticated calls reach each vendor's own auth check (401), not the root router's 404.
    assert httpx.get(f"{sandbox}/semarize/v1/runs").status_code == 401
    assert httpx.post(f"{sandbox}/nebula/v1/model/generate", json={"prompt": "hi"}).status_code == 401
    assert httpx.get(f"{sandbox}/symbl/v1/conversations").status_code == 401


def test_calls_are_counted_by_route_template_and_can_be_reset(sandbox: str) -> None:
    headers = {"x-api-key": symbl_token_for(sandbox)}
    for _ in range(3):
        httpx.get(f"{sandbox}/symbl/v1/job/{uuid.uuid4()}", headers=headers)  # three different concrete paths
    httpx.get(f"{sandbox}/symbl/v1/conversations/123/messages", headers=headers)
    httpx.get(f"{sandbox}/symbl/no/such/route")
    calls = httpx.get(f"{sandbox}/_sandbox/stats").json()["calls"]
    assert calls["GET /symbl/v1/job/{jobId}"] == 3
    assert calls["GET /symbl/v1/conversations/{conversationId}/messages"] == 1
    assert calls["POST /symbl/oauth2/token:generate"] == 1
    assert calls["GET (unmatched)"] == 1
    assert not any(key.split(" ", 1)[1].startswith("/_sandbox") for key in calls)  # inspection is not counted
    httpx.post(f"{sandbox}/_sandbox/stats/reset").raise_for_status()
    assert httpx.get(f"{sandbox}/_sandbox/stats").json()["calls"] == {}


def test_fault_settings_read_and_validated_updates(sandbox: str) -> None:
    before = httpx.get(f"{sandbox}/_sandbox/faults").json()
    assert before["fault_5xx_rate"] == 0.0 and before["concurrent_job_limit"] == 5
    for bad in ({"no_such_knob": 1}, {"fault_5xx_rate": 1.5}, {"concurrent_job_limit": "many"}, [1, 2]):
        response = httpx.put(f"{sandbox}/_sandbox/faults", json=bad)
        assert response.status_code == 400, bad
    # A rejected update changes nothing, even the fields it got right.
    httpx.put(f"{sandbox}/_sandbox/faults", json={"fault_429_rate": 0.5, "fault_5xx_rate": 2})
    assert httpx.get(f"{sandbox}/_sandbox/faults").json() == before
    after = httpx.put(
        f"{sandbox}/_sandbox/faults", json={"fault_429_rate": 0.25, "token_lifetime_seconds": 60}
    )
    assert after.json()["fault_429_rate"] == 0.25
    token = httpx.post(
        f"{sandbox}/symbl/oauth2/token:generate",
        json={"type": "application", "appId": "sandbox-app-id", "appSecret": "sandbox-app-secret"},
    ).json()
    assert token["expiresIn"] == 60


def test_injected_5xx_and_429_use_each_vendors_error_shape(sandbox: str) -> None:
    token = symbl_token_for(sandbox)
    job_url = f"{sandbox}/symbl/v1/job/{uuid.uuid4()}"
    httpx.put(f"{sandbox}/_sandbox/faults", json={"fault_5xx_rate": 1.0}).raise_for_status()
    failed = httpx.get(job_url, headers={"x-api-key": token})
    assert failed.status_code in {500, 502, 503} and "message" in failed.json()
    assert httpx.get(f"{sandbox}/health").status_code == 200  # never faulted
    assert httpx.get(f"{sandbox}/_sandbox/faults").status_code == 200
    httpx.put(
        f"{sandbox}/_sandbox/faults", json={"fault_5xx_rate": 0.0, "fault_429_rate": 1.0}
    ).raise_for_status()
    limited = httpx.get(job_url, headers={"x-api-key": token})
    assert limited.status_code == 429
    assert limited.json()["statusCode"] == 429 and "concurrent jobs" in limited.json()["message"]
    assert "retry-after" not in limited.headers  # Symbl's 429 has none
    # Auth is left alone unless fault_paths names it, so a client can always get a token.
    assert symbl_token_for(sandbox)
    httpx.put(
        f"{sandbox}/_sandbox/faults", json={"fault_paths": ["/symbl/v1/conversations"]}
    ).raise_for_status()
    assert httpx.get(job_url, headers={"x-api-key": token}).status_code == 404  # outside fault_paths


@pytest.mark.sandbox_config(fault_slow_rate=1.0, fault_slow_seconds=0.4)
def test_slow_answers(sandbox: str) -> None:
    token = symbl_token_for(sandbox)
    started = time.monotonic()
    response = httpx.get(f"{sandbox}/symbl/v1/job/{uuid.uuid4()}", headers={"x-api-key": token})
    assert response.status_code == 404
    assert time.monotonic() - started >= 0.4


@pytest.mark.sandbox_config(fault_drop_connection_rate=1.0)
def test_dropped_connections(sandbox: str) -> None:
    token = symbl_token_for(sandbox)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{sandbox}/symbl/v1/job/{uuid.uuid4()}", headers={"x-api-key": token})


def test_faults_are_deterministic_for_a_seed(
    sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    def statuses(data_dir: Path) -> list[int]:
        running = sandbox_factory(data_dir=data_dir, fault_seed=42, fault_5xx_rate=0.5)
        token = symbl_token_for(running.url)
        codes = [
            httpx.get(f"{running.url}/symbl/v1/job/{uuid.uuid4()}", headers={"x-api-key": token}).status_code
            for _ in range(12)
        ]
        running.stop()
        return codes

    first, second = statuses(tmp_path / "a"), statuses(tmp_path / "b")
    assert first == second
    assert 404 in first and any(code >= 500 for code in first)  # the rate really mixes outcomes


def test_media_is_served_read_only_from_the_media_dir(
    sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "call.wav").write_bytes(b"RIFF-demo-bytes")
    (tmp_path / "secret.txt").write_text("outside the media dir")
    running = sandbox_factory(media_dir=media, fault_5xx_rate=1.0)  # /media is never faulted
    assert httpx.get(f"{running.url}/media/call.wav").content == b"RIFF-demo-bytes"
    assert httpx.get(f"{running.url}/media/missing.wav").status_code == 404
    assert httpx.get(f"{running.url}/media/%2E%2E/secret.txt").status_code == 404
    assert httpx.put(f"{running.url}/media/call.wav", content=b"x").status_code == 405
    calls = httpx.get(f"{running.url}/_sandbox/stats").json()["calls"]
    assert calls["GET /media/{path}"] == 3
