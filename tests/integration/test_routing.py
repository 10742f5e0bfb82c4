"""Routing against the sandbox over loopback: real Dagster materializations of `risk_alerts` and `crm_activity`
on a seeded DuckDB warehouse, Slack messages and CRM objects read back from the stand-ins' inspection routes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from orchestration.defs.routing.assets import crm_activity, risk_alerts
from orchestration.defs.routing.crm import CrmAPIError, CrmClient, CrmResource
from orchestration.defs.routing.slack import SlackResource, SlackWebhookClient, SlackWebhookError
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.warehouse.schema import create_statements
from orchestration.http import Retries
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp

DAY = "2026-04-07"
KIT = "SLSDISC1"
SLACK_TOKEN = SandboxConfig().slack_webhook_token
SLACK_ROUTE = "POST /slack/services/{team}/{bot}/{token}"
UPSERT_ROUTE = "POST /crm/crm/v3/objects/{object_type}/batch/upsert"


class World:
    """A served sandbox, a seeded warehouse file, and the resources that point the routing assets at both."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.base = base_url
        self.warehouse_path = str(root / "live.duckdb")
        self.webhook_url = f"{base_url}/slack/services/T0CONVO/B0RISK/{SLACK_TOKEN}"
        self.resources = {
            "warehouse": WarehouseResource(
                path=self.warehouse_path, analyst_path=str(root / "analyst.duckdb")
            ),
            "slack": SlackResource(webhook_url=self.webhook_url, max_retries=1, backoff_initial_seconds=0.01),
            "crm": CrmResource(
                base_url=f"{base_url}/crm",
                access_token=SandboxConfig().crm_token,
                max_retries=1,
                backoff_initial_seconds=0.01,
            ),
        }
        with duckdb.connect(self.warehouse_path) as con:
            for statement in create_statements():
                con.execute(statement)

    def materialize(self, *assets: dg.AssetsDefinition) -> dg.ExecuteInProcessResult:
        return dg.materialize(list(assets), partition_key=DAY, resources=self.resources, raise_on_error=False)

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(self.warehouse_path) as con:
            return con.execute(query, params or []).fetchall()

    def add_conversation(self, cid: str, *, risky: bool, run_id: str, discovery_depth: int = 2) -> None:
        rid = f"rec-{cid}"
        start = datetime(2026, 4, 7, 15, 30, tzinfo=UTC)
        bricks: list[tuple[str, str, Any]] = [
            ("discovery_depth", "number", float(discovery_depth)),
            ("budget_confirmed", "boolean", not risky),
            ("competitor_mentioned", "string", "Gong" if risky else None),
            ("sentiment_score", "number", -0.45 if risky else 0.6),
            ("risk_flag", "boolean", risky),
            ("next_step_confirmed", "boolean", not risky),
        ]
        with duckdb.connect(self.warehouse_path) as con:
            con.execute(
                "INSERT INTO raw.recordings (recording_id, partition_date, start_time, duration_seconds, title, "
                "account_id, account_name, call_type, host_name, host_email, media_kind, media_ref, source_file, "
                "manifest_sha256, loaded_at) VALUES (?, ?, ?, 1800, ?, ?, ?, 'discovery', ?, ?, "
                "'transcript_file', '/dev/null', 'm.json', 'x', now())",
                [
                    rid,
                    DAY,
                    start,
                    f"Discovery {cid}",
                    f"acct-{cid}",
                    f"Account {cid}",
                    "Ana Rep",
                    "ana@acme.test",
                ],
            )
            con.execute(
                "INSERT INTO raw.symbl_conversations (recording_id, partition_date, conversation_id, status, "
                "attempts, updated_at) VALUES (?, ?, ?, 'completed', 1, now())",
                [rid, DAY, cid],
            )
            con.execute(
                "INSERT INTO raw.symbl_analytics_members (conversation_id, member_id, partition_date, name, email, "
                "talk_time_percentage) VALUES (?, 'm1', ?, 'Ana Rep', 'ANA@acme.test', 62.5)",
                [cid, DAY],
            )
            for key, kind, value in bricks:
                con.execute(
                    "INSERT INTO raw.semarize_bricks (conversation_id, recording_id, kit_code, brick_key, "
                    "partition_date, run_id, kit_version_id, value_type, value_boolean, value_number, "
                    "value_string, confidence, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, 'kv_SLSDISC1_v1', ?, "
                    "?, ?, ?, 0.81, ?, ?)",
                    [
                        cid,
                        rid,
                        KIT,
                        key,
                        DAY,
                        run_id,
                        kind if value is not None else "null",
                        value if kind == "boolean" else None,
                        value if kind == "number" else None,
                        value if kind == "string" else None,
                        f"{key} because <reasons> & more" if key == "risk_flag" else None,
                        ["We might go with Gong instead.", "Budget is frozen until Q3."] if risky else [],
                    ],
                )

    def slack_messages(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.base}/slack/_received").json()["messages"])

    def crm_objects(self) -> dict[str, dict[str, Any]]:
        objects = httpx.get(f"{self.base}/crm/_objects", params={"objectType": "calls"}).json()["objects"]
        return {o["properties"]["convo_intel_conversation_id"]: o for o in objects}

    def calls(self, route: str) -> int:
        return int(httpx.get(f"{self.base}/_sandbox/stats").json()["calls"].get(route, 0))

    def faults(self, **settings: Any) -> None:
        httpx.put(f"{self.base}/_sandbox/faults", json=settings).raise_for_status()


@pytest.fixture
def world(tmp_path: Path, sandbox: str) -> World:
    return World(tmp_path, sandbox)


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_alerts_once_per_brick_version_and_crm_upserts_only_changes(world: World) -> None:
    world.add_conversation("conv-risky", risky=True, run_id="run-1")
    world.add_conversation("conv-fine", risky=False, run_id="run-2")

    first = world.materialize(risk_alerts, crm_activity)
    assert first.success
    [message] = world.slack_messages()
    assert message["team_id"] == "T0CONVO"
    blocks = json.dumps(message["blocks"])
    assert "Account conv-risky" in message["text"] and "Ana Rep" in message["text"]
    # Reason (escaped for Slack mrkdwn), evidence, the score card and the link back are all in the message.
    assert "risk_flag because &lt;reasons&gt; &amp; more" in blocks
    assert "We might go with Gong instead." in blocks and "Gong" in blocks
    assert "Discovery depth" in blocks and f"partition={DAY}" in blocks and "run-1" in blocks
    objects = world.crm_objects()
    assert set(objects) == {"conv-risky", "conv-fine"}
    risky = objects["conv-risky"]["properties"]
    assert (
        risky["slsdisc1_risk_flag"] == "true"
        and objects["conv-fine"]["properties"]["slsdisc1_risk_flag"] == "false"
    )
    assert risky["convo_intel_rep_email"] == "ana@acme.test" and risky["convo_intel_rep_talk_ratio"] == "62.5"
    assert risky["hs_call_duration"] == "1800000" and risky["slsdisc1_discovery_depth"] == "2"
    assert risky["slsdisc1_competitor_mentioned"] == "Gong"
    synced = dict(world.sql("SELECT conversation_id, crm_id FROM raw.crm_sync WHERE object_type = 'calls'"))
    assert synced == {cid: o["id"] for cid, o in objects.items()}
    assert world.sql("SELECT conversation_id, run_id, status, attempts FROM raw.risk_alerts_sent") == [
        ("conv-risky", "run-1", "sent", 1)
    ]

    # A re-run changes nothing anywhere: no Slack post, no CRM request at all.
    slack_posts, upserts = world.calls(SLACK_ROUTE), world.calls(UPSERT_ROUTE)
    again = world.materialize(risk_alerts, crm_activity)
    assert again.success
    assert (world.calls(SLACK_ROUTE), world.calls(UPSERT_ROUTE)) == (slack_posts, upserts)
    assert world.crm_objects() == objects
    assert _metadata(again, "crm_activity")["unchanged"] == 2
    assert _metadata(again, "risk_alerts")["already_alerted"] == 1

    # Re-scored: the risky conversation has a new run (a new brick version) and the fine one a new value.
    world.sql("UPDATE raw.semarize_bricks SET run_id = 'run-3' WHERE conversation_id = 'conv-risky'")
    world.sql(
        "UPDATE raw.semarize_bricks SET value_number = 4 WHERE conversation_id = 'conv-fine' "
        "AND brick_key = 'discovery_depth'"
    )
    rescored = world.materialize(risk_alerts, crm_activity)
    assert rescored.success
    messages = world.slack_messages()
    assert len(messages) == 2 and "run-3" in json.dumps(messages[1]["blocks"])
    after = world.crm_objects()
    assert set(after) == {"conv-risky", "conv-fine"}, "an upsert must update, never duplicate"
    assert after["conv-fine"]["id"] == objects["conv-fine"]["id"]
    assert (
        after["conv-fine"]["version"] == 2
        and after["conv-fine"]["properties"]["slsdisc1_discovery_depth"] == "4"
    )
    assert after["conv-risky"]["version"] == 1, "same values under a new run id are not re-sent to the CRM"
    assert _metadata(rescored, "crm_activity")["updated"] == 1


def test_slack_outage_leaves_the_alert_unsent_and_the_next_run_sends_it(world: World) -> None:
    world.add_conversation("conv-outage", risky=True, run_id="run-9")
    world.faults(fault_5xx_rate=1.0, fault_paths=["/slack/services"])

    failed = world.materialize(risk_alerts)
    assert not failed.success
    assert world.slack_messages() == []
    assert world.calls(SLACK_ROUTE) == 2, "one post plus one retry (max_retries=1)"
    [(status, attempts, error)] = world.sql("SELECT status, attempts, last_error FROM raw.risk_alerts_sent")
    assert (status, attempts) == ("failed", 1) and "Internal server error" in error
    # The webhook URL is a secret: not in any event of the run (logs, failure description, metadata).
    assert not [e for e in failed.all_events if SLACK_TOKEN in str(e)]

    world.faults(fault_5xx_rate=0.0)
    recovered = world.materialize(risk_alerts)
    assert recovered.success
    [message] = world.slack_messages()
    assert "conv-outage" in json.dumps(message["blocks"])
    assert world.sql("SELECT status, attempts, last_error FROM raw.risk_alerts_sent") == [("sent", 2, None)]


def test_each_alert_is_in_the_ledger_before_the_next_is_posted(world: World) -> None:
    """What makes a crash mid-way safe: when message n arrives at Slack, messages 1..n-1 are already recorded."""
    world.add_conversation("conv-a", risky=True, run_id="run-a")
    world.add_conversation("conv-b", risky=True, run_id="run-b")
    ledger_at_arrival: list[int] = []

    async def hook(request: Request) -> Response:
        with duckdb.connect(world.warehouse_path, read_only=True) as con:
            [(sent,)] = con.execute(
                "SELECT count(*) FROM raw.risk_alerts_sent WHERE status = 'sent'"
            ).fetchall()
        ledger_at_arrival.append(int(sent))
        return PlainTextResponse("ok")

    with ServedApp(Starlette(routes=[Route("/services/T/B/token", hook, methods=["POST"])])) as slack:
        resources = {
            **world.resources,
            "slack": SlackResource(webhook_url=f"{slack.base_url}/services/T/B/token"),
        }
        result = dg.materialize([risk_alerts], partition_key=DAY, resources=resources, raise_on_error=False)
    assert result.success
    assert ledger_at_arrival == [0, 1]


# --- the clients on their own -------------------------------------------------------------------------------


@pytest.fixture
def flaky_webhook() -> Iterator[tuple[str, list[float]]]:
    """A webhook that answers 429 with Retry-After 0.3 once, then ok; yields (url, arrival times)."""
    arrivals: list[float] = []

    async def hook(request: Request) -> Response:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            return PlainTextResponse("rate_limited", status_code=429, headers={"Retry-After": "0.3"})
        return PlainTextResponse("ok")

    with ServedApp(Starlette(routes=[Route("/services/T/B/secret-token", hook, methods=["POST"])])) as served:
        yield f"{served.base_url}/services/T/B/secret-token", arrivals


def test_slack_client_honours_retry_after_and_never_logs_the_webhook_url(
    flaky_webhook: tuple[str, list[float]], caplog: pytest.LogCaptureFixture
) -> None:
    url, arrivals = flaky_webhook
    caplog.set_level(logging.DEBUG)

    async def post() -> str:
        async with SlackWebhookClient(url, retry=Retries(max_retries=2)) as slack:
            await slack.post({"text": "hello"})
            return repr(slack)

    assert "secret-token" not in asyncio.run(post())
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= 0.29
    assert "HTTP Request" in caplog.text and "[redacted]" in caplog.text
    assert "secret-token" not in caplog.text


def test_slack_client_reports_slacks_error_code_without_retrying_it(sandbox: str) -> None:
    async def post() -> None:
        async with SlackWebhookClient(f"{sandbox}/slack/services/T/B/wrong-token") as slack:
            await slack.post({"text": "hello"})

    with pytest.raises(SlackWebhookError) as refused:
        asyncio.run(post())
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (404, "no_service", False)
    assert "wrong-token" not in str(refused.value)
    calls = httpx.get(f"{sandbox}/_sandbox/stats").json()["calls"]
    assert calls[SLACK_ROUTE] == 1


def test_crm_client_batches_are_bounded_and_a_bad_token_is_not_retried(sandbox: str) -> None:
    async def with_bad_token() -> None:
        async with CrmClient(f"{sandbox}/crm", "not-the-token") as crm:
            with pytest.raises(ValueError, match="at most 100"):
                await crm.batch_upsert([(f"c{i}", {"hs_call_title": "x"}) for i in range(101)])
            await crm.batch_upsert([("c1", {"hs_call_title": "x"})])

    with pytest.raises(CrmAPIError) as refused:
        asyncio.run(with_bad_token())
    assert (refused.value.status, refused.value.category) == (401, "INVALID_AUTHENTICATION")
    assert "not-the-token" not in str(refused.value)
    assert httpx.get(f"{sandbox}/_sandbox/stats").json()["calls"][UPSERT_ROUTE] == 1

    async def upsert_twice() -> tuple[Any, Any, Any, Any]:
        async with CrmClient(f"{sandbox}/crm", SandboxConfig().crm_token) as crm:
            [created] = await crm.batch_upsert(
                [("c1", {"hs_call_title": "first", "convo_intel_rep_talk_ratio": 50.0})]
            )
            [updated] = await crm.batch_upsert([("c1", {"hs_call_title": "second"})])
            return (
                created,
                updated,
                await crm.get_by_id_value("c1"),
                await crm.get_by_id_value("never-written"),
            )

    created, updated, found, missing = asyncio.run(upsert_twice())
    assert missing is None
    assert created.new and not updated.new and created.crm_id == updated.crm_id
    assert found is not None and found["id"] == created.crm_id
    assert (
        found["properties"]["hs_call_title"] == "second"
        and found["properties"]["convo_intel_rep_talk_ratio"] == "50.0"
    )
