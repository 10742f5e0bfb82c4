"""The Semarize stand-in over real HTTP on loopback: every endpoint and every error code it implements."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.semarize.app import build_semarize_app
from sandbox.server import ServedApp

KEY = "smz_test_contract"
TRANSCRIPT = (
    "Rep: What challenges do you have with coaching today?\n"
    "Prospect: We use Gong, and we have $40k approved for a better tool.\n"
    "Rep: Can we book a demo on Thursday at 11am?\n"
    "Prospect: Thursday works."
)
RUN_BODY: dict[str, Any] = {"kit_code": "SLSDISC1", "input": {"transcript": TRANSCRIPT, "stage": "discovery"}}


@contextlib.contextmanager
def semarize(data_dir: Path, **overrides: Any) -> Iterator[httpx.Client]:
    settings: dict[str, Any] = {
        "semarize_api_key": KEY,
        "semarize_run_seconds": 0.2,
        "semarize_sync_timeout_seconds": 3.0,
    }
    config = SandboxConfig(data_dir=data_dir, **(settings | overrides))
    app = build_semarize_app(config)
    try:
        with (
            ServedApp(app) as served,
            httpx.Client(
                base_url=served.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
            ) as client,
        ):
            yield client
    finally:
        app.state.semarize_store.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    with semarize(tmp_path) as client:
        yield client


def wait_terminal(client: httpx.Client, run_id: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/v1/runs/{run_id}").json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} not terminal after {timeout} s")


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    assert isinstance(body.get("message"), str)
    return body


# --- authentication -------------------------------------------------------------------------------

ENDPOINTS = [
    ("POST", "/v1/runs"),
    ("GET", "/v1/runs"),
    ("GET", "/v1/runs/run_x"),
    ("POST", "/v1/test"),
    ("GET", "/v1/kits/schema"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_requires_the_bearer_key(api: httpx.Client, method: str, path: str) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": f"Basic {KEY}"}, {"Authorization": "Bearer"}):
        assert_error(api.request(method, path, headers=headers, json={}), 401, "missing_bearer_token")
    wrong = {"Authorization": "Bearer smz_test_wrong"}
    assert_error(api.request(method, path, headers=wrong, json={}), 401, "invalid_api_key")


# --- create: validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"input": {"transcript": "Rep: hi"}}, 400, "kit_code_or_kit_version_id_required"),
        ({"kit_code": "", "input": {}}, 400, "kit_code_or_kit_version_id_required"),
        ({**RUN_BODY, "type": "batch"}, 400, "invalid_run_type"),
        ({**RUN_BODY, "mode": "eventually"}, 400, "invalid_run_mode"),
        ({"kit_code": "SLSDISC1"}, 422, "input_must_be_object"),
        ({"kit_code": "SLSDISC1", "input": "Rep: hi"}, 422, "input_must_be_object"),
        ({"kit_code": "ZZZZZZZZ", "input": {}}, 404, "kit_not_found"),
        ({"kit_version_id": "kv_missing", "input": {}}, 404, "kit_not_found"),
    ],
)
def test_create_rejects_bad_requests(api: httpx.Client, body: dict[str, Any], status: int, code: str) -> None:
    assert_error(api.post("/v1/runs", json=body), status, code)
    assert api.get("/v1/runs").json()["runs"] == []  # nothing was created


def test_create_rejects_a_body_that_is_not_a_json_object(api: httpx.Client) -> None:
    assert_error(api.post("/v1/runs", content=b"{not json"), 400, "input_must_be_object")
    assert_error(api.post("/v1/runs", json=["SLSDISC1"]), 400, "input_must_be_object")


def test_idempotency_key_length_limit(api: httpx.Client) -> None:
    too_long = api.post("/v1/runs", json=RUN_BODY, headers={"Idempotency-Key": "k" * 255})
    assert_error(too_long, 400, "invalid_idempotency_key")
    assert api.post("/v1/runs", json=RUN_BODY, headers={"Idempotency-Key": "k" * 254}).status_code == 202


# --- create: lifecycle ----------------------------------------------------------------------------


def test_async_run_goes_queued_running_succeeded(tmp_path: Path) -> None:
    # A 3 s run (queued for its first 0.75 s): wide enough windows that a loaded machine still reads each state.
    with semarize(tmp_path, semarize_run_seconds=3.0) as api:
        posted_at = time.monotonic()
        created = api.post("/v1/runs", json=RUN_BODY, headers={"X-Request-Id": "req-1"})
        assert created.status_code == 202
        assert created.headers["Retry-After"] == "3"
        assert created.headers["X-Request-Id"] == "req-1"
        accepted = created.json()
        assert accepted == {"run_id": accepted["run_id"], "status": "queued", "run_type": "api"}
        assert api.get(f"/v1/runs/{accepted['run_id']}").json()["status"] == "queued"
        time.sleep(max(0.0, posted_at + 1.5 - time.monotonic()))  # past the queued share, before the end
        running = api.get(f"/v1/runs/{accepted['run_id']}")
        assert running.json()["status"] == "running"
        assert running.json()["output"] is None
        assert "Retry-After" in running.headers
        run = wait_terminal(api, accepted["run_id"])
    assert run["status"] == "succeeded"
    assert run["kit_code"] == "SLSDISC1" and run["kit_version_id"] == "kv_SLSDISC1_v1"
    assert run["request_id"] == "req-1"
    assert run["duration_ms"] == pytest.approx(3000, abs=5)
    assert run["created_at"].endswith("Z")
    bricks = run["output"]["bricks"]
    assert run["output"]["kit_code"] == "SLSDISC1"
    assert bricks["competitor_mentioned"]["value"] == "Gong"
    assert bricks["budget_confirmed"]["value"] is True
    assert bricks["next_step_confirmed"]["value"] is True
    for brick in bricks.values():
        assert set(brick) == {"value", "confidence", "reason", "evidence"}
        assert all(quote in TRANSCRIPT for quote in brick["evidence"])
    assert run["error_code"] is None


def test_sync_run_returns_the_finished_run(api: httpx.Client) -> None:
    started = time.monotonic()
    response = api.post("/v1/runs", json={**RUN_BODY, "mode": "sync", "type": "sandbox"})
    assert response.status_code == 200
    run = response.json()
    assert run["status"] == "succeeded" and run["run_type"] == "sandbox"
    assert set(run["output"]["bricks"]) >= {"discovery_depth", "risk_flag"}
    assert 0.2 <= time.monotonic() - started < 2.0  # waited for the run, not for the sync timeout


def test_sync_run_past_the_timeout_answers_202_then_polls_to_success(tmp_path: Path) -> None:
    with semarize(tmp_path, semarize_run_seconds=0.6, semarize_sync_timeout_seconds=0.1) as api:
        started = time.monotonic()
        response = api.post("/v1/runs", json={**RUN_BODY, "mode": "sync"})
        assert response.status_code == 202
        assert time.monotonic() - started < 0.5
        assert response.json()["status"] in ("queued", "running")
        assert int(response.headers["Retry-After"]) >= 1
        assert wait_terminal(api, response.json()["run_id"])["status"] == "succeeded"


def test_transcript_as_speaker_list(api: httpx.Client) -> None:
    turns = [
        {"speaker": "Rep", "text": "What's your budget?"},
        {"speaker": "Prospect", "text": "We have $50k."},
    ]
    body = {"kit_code": "SLSDISC1", "input": {"transcript": turns}, "mode": "sync"}
    run = api.post("/v1/runs", json=body).json()
    assert run["output"]["bricks"]["budget_confirmed"]["value"] is True


@pytest.mark.parametrize(
    ("run_input", "code"),
    [({"transcript": "   "}, "transcript_empty"), ({"account_id": "a-1"}, "transcript_missing")],
)
def test_unusable_transcript_is_a_failed_run_not_an_http_error(
    api: httpx.Client, run_input: dict[str, Any], code: str
) -> None:
    response = api.post("/v1/runs", json={"kit_code": "PRODFDB1", "input": run_input, "mode": "sync"})
    assert response.status_code == 200
    run = response.json()
    assert run["status"] == "failed" and run["output"] is None
    assert run["error_code"] == code
    assert run["error_message"] and run["error_user_message"]


def test_kit_version_id_pins_the_version_and_overrides_kit_code(api: httpx.Client) -> None:
    body = {**RUN_BODY, "kit_version_id": "kv_PRODFDB1_v2", "mode": "sync"}
    run = api.post("/v1/runs", json=body).json()
    assert (run["kit_code"], run["kit_version_id"]) == ("PRODFDB1", "kv_PRODFDB1_v2")
    assert set(run["output"]["bricks"]) == {
        "feature_satisfaction",
        "churn_signal_strength",
        "bug_report_severity",
        "feature_request_urgency",
        "feedback_feature_area",
        "features_mentioned",
    }


# --- idempotency ----------------------------------------------------------------------------------


def test_same_key_and_body_replays_the_original_run(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "conv-1:SLSDISC1", "Content-Type": "application/json"}
    first = api.post("/v1/runs", content=json.dumps(RUN_BODY), headers=headers)
    original = wait_terminal(api, first.json()["run_id"])
    # The same JSON with another key order and spacing is the same body.
    reordered = json.dumps({"input": RUN_BODY["input"], "kit_code": "SLSDISC1"}, indent=2)
    replay = api.post("/v1/runs", content=reordered, headers=headers)
    assert replay.status_code == 202
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["run_id"] == first.json()["run_id"]
    assert replay.json()["status"] == "succeeded"
    assert "Idempotent-Replayed" not in first.headers
    runs = api.get("/v1/runs").json()["runs"]
    assert [r["run_id"] for r in runs] == [original["run_id"]]  # no new run was created
    assert runs[0] == original  # and the stored result did not change


def test_same_key_with_a_different_body_is_a_conflict(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "conv-2:SLSDISC1"}
    assert api.post("/v1/runs", json=RUN_BODY, headers=headers).status_code == 202
    changed = {**RUN_BODY, "input": {"transcript": TRANSCRIPT + "\nRep: Thanks!"}}
    assert_error(api.post("/v1/runs", json=changed, headers=headers), 409, "idempotency_key_conflict")
    sync_instead = {**RUN_BODY, "mode": "sync"}
    assert_error(api.post("/v1/runs", json=sync_instead, headers=headers), 409, "idempotency_key_conflict")
    assert len(api.get("/v1/runs").json()["runs"]) == 1


# --- rate limit -----------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with semarize(tmp_path, semarize_rate_limit_per_second=4.0) as api:
        statuses = [api.get("/v1/runs").status_code for _ in range(4)]
        assert statuses == [200] * 4  # a one-second burst
        limited = api.get("/v1/runs")
        body = assert_error(limited, 429, "rate_limited")
        assert limited.headers["Retry-After"] == "1"
        assert 0 < body["retry_after_seconds"] <= 0.25
        time.sleep(body["retry_after_seconds"] + 0.02)
        assert api.get("/v1/runs").status_code == 200


# --- reading runs ---------------------------------------------------------------------------------


def test_unknown_run_is_404(api: httpx.Client) -> None:
    assert_error(api.get("/v1/runs/run_does_not_exist"), 404, "run_not_found")


def test_list_is_newest_first_and_limit_is_bounded(api: httpx.Client) -> None:
    created = [api.post("/v1/runs", json=RUN_BODY).json()["run_id"] for _ in range(3)]
    assert [r["run_id"] for r in api.get("/v1/runs").json()["runs"]] == created[::-1]
    assert [r["run_id"] for r in api.get("/v1/runs", params={"limit": 2}).json()["runs"]] == created[:0:-1]
    assert len(api.get("/v1/runs", params={"limit": 100}).json()["runs"]) == 3
    for bad in ("0", "101", "-1", "ten"):
        assert_error(api.get("/v1/runs", params={"limit": bad}), 400, "invalid_limit")


def test_runs_and_idempotency_keys_survive_a_restart(tmp_path: Path) -> None:
    headers = {"Idempotency-Key": "restart-key"}
    with semarize(tmp_path, semarize_run_seconds=0.3) as api:
        run_id = api.post("/v1/runs", json=RUN_BODY, headers=headers).json()["run_id"]
    # Stopped before anyone read the finished run: the restarted server finishes it on read.
    time.sleep(0.35)
    with semarize(tmp_path) as api:
        run = api.get(f"/v1/runs/{run_id}").json()
        assert run["status"] == "succeeded"
        assert run["output"]["bricks"]["competitor_mentioned"]["value"] == "Gong"
        replay = api.post("/v1/runs", json=RUN_BODY, headers=headers)
        assert replay.json()["run_id"] == run_id
        assert_error(
            api.post("/v1/runs", json={**RUN_BODY, "type": "sandbox"}, headers=headers),
            409,
            "idempotency_key_conflict",
        )
        assert [r["run_id"] for r in api.get("/v1/runs").json()["runs"]] == [run_id]


# --- kits -----------------------------------------------------------------------------------------


def test_kit_schema_declares_brick_types_and_fields(api: httpx.Client) -> None:
    schema = api.get("/v1/kits/schema", params={"kit_code": "SLSDISC1"}).json()
    assert (schema["kit_code"], schema["kit_version_id"]) == ("SLSDISC1", "kv_SLSDISC1_v1")
    bricks = {b["key"]: b for b in schema["bricks"]}
    depth, sentiment = bricks["discovery_depth"], bricks["sentiment_score"]
    assert (depth["type"], depth["min"], depth["max"], depth["number_type"]) == ("score", 1, 5, "integer")
    assert (sentiment["min"], sentiment["max"], sentiment["number_type"]) == (-1, 1, "float")
    assert (
        bricks["competitor_mentioned"]["type"] == "string_or_null"
        and bricks["competitor_mentioned"]["nullable"]
    )
    assert bricks["budget_confirmed"]["type"] == "boolean"
    assert bricks["risk_flag"]["enabled_fields"] == ["value", "confidence", "reason", "evidence"]
    product = api.get("/v1/kits/schema", params={"kit_version_id": "kv_PRODFDB1_v2"}).json()
    severity = next(b for b in product["bricks"] if b["key"] == "bug_report_severity")
    assert severity["type"] == "category"
    assert severity["values"] == ["none", "low", "medium", "high", "critical"]
    assert_error(api.get("/v1/kits/schema"), 400, "kit_code_or_kit_version_id_required")
    assert_error(api.get("/v1/kits/schema", params={"kit_code": "NOPE0000"}), 404, "kit_not_found")
    listed = api.get("/v1/kits").json()["kits"]
    assert [k["kit_code"] for k in listed] == ["AIQGATE1", "PRODFDB1", "SLSDISC1"]


def test_test_endpoint_checks_output_shape_without_running(api: httpx.Client) -> None:
    real = api.post("/v1/runs", json={**RUN_BODY, "kit_code": "PRODFDB1", "mode": "sync"}).json()["output"]
    ok = api.post("/v1/test", json={"kit_code": "PRODFDB1", "output": real}).json()
    assert ok == {
        "valid": True,
        "kit_code": "PRODFDB1",
        "kit_version_id": "kv_PRODFDB1_v2",
        "problems": [],
        "credits_used": 0,
    }
    broken = json.loads(json.dumps(real))
    bricks = broken["bricks"]
    bricks["feature_satisfaction"]["value"] = 9  # off the 1-5 scale
    bricks["bug_report_severity"]["value"] = "catastrophic"
    bricks["churn_signal_strength"]["confidence"] = 1.5
    bricks["feature_request_urgency"]["evidence"] = "a single quote is accepted"
    bricks["surprise"] = {"value": True}
    result = api.post("/v1/test", json={"kit_code": "PRODFDB1", "output": broken}).json()
    assert result["valid"] is False
    assert {p["path"] for p in result["problems"]} == {
        "output.bricks.feature_satisfaction.value",
        "output.bricks.bug_report_severity.value",
        "output.bricks.churn_signal_strength.confidence",
        "output.bricks.surprise",
    }
    del bricks["surprise"], bricks["feature_satisfaction"]
    missing = api.post("/v1/test", json={"kit_code": "PRODFDB1", "output": broken}).json()
    assert "output.bricks.feature_satisfaction" in {p["path"] for p in missing["problems"]}
    assert_error(api.post("/v1/test", json={"kit_code": "PRODFDB1"}), 422, "output_must_be_object")
    assert_error(api.post("/v1/test", json={"output": real}), 400, "kit_code_or_kit_version_id_required")
    assert api.get("/v1/runs").json()["runs"][0]["kit_code"] == "PRODFDB1"
    assert len(api.get("/v1/runs").json()["runs"]) == 1  # /v1/test created no run


def test_unknown_path_is_a_flat_json_404(api: httpx.Client) -> None:
    assert_error(api.get("/v1/nothing-here"), 404, "not_found")
