"""Contracts of the Slack incoming-webhook and CRM (HubSpot v3 objects) stand-ins, over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.config import SandboxConfig
from tests.conftest import RunningSandbox

SLACK_TOKEN = SandboxConfig().slack_webhook_token
CRM_AUTH = {"Authorization": f"Bearer {SandboxConfig().crm_token}"}
ID_PROPERTY = "convo_intel_conversation_id"


def _hook(base: str, token: str = SLACK_TOKEN) -> str:
    return f"{base}/slack/services/T01/B02/{token}"


def _upsert(
    base: str, inputs: list[dict[str, Any]], object_type: str = "calls", **kwargs: Any
) -> httpx.Response:
    headers = kwargs.pop("headers", CRM_AUTH)
    return httpx.post(
        f"{base}/crm/crm/v3/objects/{object_type}/batch/upsert",
        json={"inputs": inputs},
        headers=headers,
        **kwargs,
    )


def _call(cid: str, **properties: Any) -> dict[str, Any]:
    return {"idProperty": ID_PROPERTY, "id": cid, "properties": properties}


# --- Slack ------------------------------------------------------------------------------------------------------


def test_slack_accepts_text_or_blocks_answers_ok_and_records_each_message(sandbox: str) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*risk*"}}]
    first = httpx.post(_hook(sandbox), json={"text": "hello"})
    second = httpx.post(_hook(sandbox), json={"blocks": blocks})
    for response in (first, second):
        assert response.status_code == 200 and response.text == "ok"
        assert response.headers["content-type"].startswith("text/plain")
    messages = httpx.get(f"{sandbox}/slack/_received").json()["messages"]
    assert [(m["team_id"], m["bot_id"], m["text"], m["blocks"]) for m in messages] == [
        ("T01", "B02", "hello", None),
        ("T01", "B02", None, blocks),
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_payload"),
        (b"[1, 2]", "invalid_payload"),
        (b'{"username": "bot"}', "invalid_payload"),
        (b'{"text": "   "}', "invalid_payload"),
        (b'{"text": 42}', "invalid_payload"),
        (b'{"text": "x", "blocks": [{"text": "no type"}]}', "invalid_blocks"),
        (b'{"blocks": "section"}', "invalid_blocks"),
    ],
)
def test_slack_refuses_bad_payloads_with_its_plain_text_codes(sandbox: str, body: bytes, code: str) -> None:
    response = httpx.post(_hook(sandbox), content=body, headers={"content-type": "application/json"})
    assert (response.status_code, response.text) == (400, code)
    assert httpx.get(f"{sandbox}/slack/_received").json()["messages"] == []


def test_slack_unknown_webhook_token_is_no_service(sandbox: str) -> None:
    response = httpx.post(_hook(sandbox, "some-other-token"), json={"text": "hello"})
    assert (response.status_code, response.text) == (404, "no_service")
    assert httpx.get(f"{sandbox}/slack/_received").json()["messages"] == []


def test_slack_and_crm_state_survives_a_restart(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    running = sandbox_factory()
    httpx.post(_hook(running.url), json={"text": "kept"}).raise_for_status()
    created = _upsert(running.url, [_call("conv-1", hs_call_title="kept")]).json()["results"][0]
    running.restart()
    assert [m["text"] for m in httpx.get(f"{running.url}/slack/_received").json()["messages"]] == ["kept"]
    again = _upsert(running.url, [_call("conv-1", hs_call_title="after restart")]).json()["results"][0]
    assert (again["id"], again["new"]) == (created["id"], False)


def test_configured_tokens_are_the_only_ones_accepted(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    running = sandbox_factory(slack_webhook_token="hook-xyz", crm_token="pat-xyz")
    assert httpx.post(_hook(running.url), json={"text": "x"}).status_code == 404
    assert httpx.post(_hook(running.url, "hook-xyz"), json={"text": "x"}).status_code == 200
    assert _upsert(running.url, [_call("c")]).status_code == 401
    assert _upsert(running.url, [_call("c")], headers={"Authorization": "Bearer pat-xyz"}).status_code == 200


# --- CRM --------------------------------------------------------------------------------------------------------


def test_crm_upsert_creates_then_updates_the_same_object_never_a_duplicate(sandbox: str) -> None:
    first = _upsert(sandbox, [_call("conv-1", hs_call_title="Discovery", slsdisc1_risk_flag=True)])
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "COMPLETE"
    [created] = body["results"]
    assert created["new"] is True
    assert created["properties"][ID_PROPERTY] == "conv-1"
    assert created["properties"]["slsdisc1_risk_flag"] == "true", "HubSpot stores every value as a string"

    second = _upsert(
        sandbox, [_call("conv-1", slsdisc1_risk_flag=False), _call("conv-2", hs_call_title="Other")]
    )
    updated, other = second.json()["results"]
    assert (updated["id"], updated["new"]) == (created["id"], False)
    # Properties merge: the update keeps the title it did not send.
    assert updated["properties"]["hs_call_title"] == "Discovery"
    assert updated["properties"]["slsdisc1_risk_flag"] == "false"
    assert other["new"] is True and other["id"] != created["id"]

    objects = httpx.get(f"{sandbox}/crm/_objects", params={"objectType": "calls"}).json()["objects"]
    assert sorted((o["properties"][ID_PROPERTY], o["version"]) for o in objects) == [
        ("conv-1", 2),
        ("conv-2", 1),
    ]


def test_crm_reads_by_object_id_or_by_unique_value(sandbox: str) -> None:
    [created] = _upsert(sandbox, [_call("conv-7", hs_call_title="Seven")]).json()["results"]
    by_id = httpx.get(f"{sandbox}/crm/crm/v3/objects/calls/{created['id']}", headers=CRM_AUTH)
    by_value = httpx.get(
        f"{sandbox}/crm/crm/v3/objects/calls/conv-7", params={"idProperty": ID_PROPERTY}, headers=CRM_AUTH
    )
    assert by_id.json()["properties"]["hs_call_title"] == "Seven"
    assert by_value.json()["id"] == created["id"]
    missing = httpx.get(
        f"{sandbox}/crm/crm/v3/objects/calls/conv-8", params={"idProperty": ID_PROPERTY}, headers=CRM_AUTH
    )
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    # Object types are separate: the same unique value in notes is another object.
    [note] = _upsert(sandbox, [_call("conv-7", hs_note_body="n")], object_type="notes").json()["results"]
    assert note["new"] is True and note["id"] != created["id"]
    assert (
        httpx.get(f"{sandbox}/crm/crm/v3/objects/notes/{created['id']}", headers=CRM_AUTH).status_code == 404
    )
    assert len(httpx.get(f"{sandbox}/crm/_objects").json()["objects"]) == 2


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
def test_crm_refuses_missing_or_wrong_credentials(sandbox: str, headers: dict[str, str]) -> None:
    response = _upsert(sandbox, [_call("conv-1")], headers=headers)
    assert response.status_code == 401
    assert response.json()["category"] == "INVALID_AUTHENTICATION"
    get = httpx.get(f"{sandbox}/crm/crm/v3/objects/calls/1", headers=headers)
    assert get.status_code == 401
    assert httpx.get(f"{sandbox}/crm/_objects").json()["objects"] == []


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ([], "non-empty"),
        ([_call(f"c{i}") for i in range(101)], "limit is 100"),
        ([_call("c1"), _call("c1")], "Duplicate IDs"),
        ([{"id": "c1", "properties": {}}], "idProperty"),
        ([{"idProperty": ID_PROPERTY, "id": "", "properties": {}}], ".id"),
        ([_call("c1", **{"Bad-Name": "x"})], "property name"),
        ([_call("c1", nested={"a": 1})], "nested"),
    ],
)
def test_crm_validation_errors_have_hubspots_shape_and_write_nothing(
    sandbox: str, inputs: list[dict[str, Any]], fragment: str
) -> None:
    response = _upsert(sandbox, inputs)
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["category"]) == ("error", "VALIDATION_ERROR")
    assert fragment in body["message"]
    assert httpx.get(f"{sandbox}/crm/_objects").json()["objects"] == []


def test_crm_unknown_object_type_is_a_validation_error(sandbox: str) -> None:
    response = _upsert(sandbox, [_call("c1")], object_type="widgets")
    assert response.status_code == 400 and "widgets" in response.json()["message"]


def test_crm_rate_limit_fault_answers_429(sandbox: str) -> None:
    httpx.put(
        f"{sandbox}/_sandbox/faults", json={"fault_429_rate": 1.0, "fault_paths": ["/crm/crm"]}
    ).raise_for_status()
    assert _upsert(sandbox, [_call("c1")]).status_code == 429
    # Inspection stays reachable, and nothing was written.
    assert httpx.get(f"{sandbox}/crm/_objects").json()["objects"] == []
