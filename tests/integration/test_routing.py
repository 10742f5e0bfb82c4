"""Routing against the sandbox over loopback: real Dagster materializations of `risk_alerts` and `crm_activity`
on a DuckDB warehouse seeded with raw rows and built by a real `dbt build` (routing reads the marts), Slack messages
and CRM objects read back from the stand-ins' inspection routes.
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
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from orchestration.defs.routing.assets import crm_activity, risk_alerts
from orchestration.defs.routing.crm import CrmAPIError, CrmClient, CrmResource
from orchestration.defs.routing.payloads import ALERT_CARD_COLUMNS, DISCOVERY, PRODUCT_FEEDBACK
from orchestration.defs.routing.slack import SlackResource, SlackWebhookClient, SlackWebhookError
from orchestration.defs.warehouse.dbt import DBT_PROJECT_DIR, WAREHOUSE_ENV_VAR, dbt_cli_resource
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.warehouse.schema import create_statements
from orchestration.http import Retries
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp

DAY = "2026-04-07"
KIT = "SLSDISC1"
FEEDBACK_KIT = "PRODFDB1"
SLACK_TOKEN = SandboxConfig().slack_webhook_token
SLACK_ROUTE = "POST /slack/services/{team}/{bot}/{token}"
UPSERT_ROUTE = "POST /crm/crm/v3/objects/{object_type}/batch/upsert"


class World:
    """A served sandbox, a seeded warehouse file, and the resources that point the routing assets at both."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.base = base_url
        self.dbt_target = root / "dbt-target"
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

    def build(self) -> None:
        """`dbt build` into this warehouse (every model, seed and test), failing with dbt's messages."""
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(WAREHOUSE_ENV_VAR, self.warehouse_path)
            mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
            mp.delenv("CONVO_INTEL_FISCAL_YEAR_START_MONTH", raising=False)
            invocation = dbt_cli_resource().cli(["build"], target_path=self.dbt_target, raise_on_error=False)
            invocation.wait()
        results = invocation.get_artifact("run_results.json")["results"]
        failures = [
            (r["unique_id"], r.get("message")) for r in results if r["status"] not in ("pass", "success")
        ]
        assert invocation.is_successful() and not failures, failures  # fmt: skip

    def mart(self, cid: str) -> dict[str, Any]:
        """The conversation's marts.fct_conversations row and its product-feedback pivot columns (feedback__*)."""
        with duckdb.connect(self.warehouse_path, read_only=True) as con:
            cursor = con.execute(
                "SELECT f.*, p.feature_area AS feedback__feature_area, p.features_mentioned AS "
                "feedback__features_mentioned, p.feature_satisfaction AS feedback__feature_satisfaction "
                "FROM marts.fct_conversations f LEFT JOIN intermediate.int_product_feedback_bricks_pivoted p "
                "USING (conversation_id) WHERE f.conversation_id = ?",
                [cid],
            )
            [row] = cursor.fetchall()
            return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def materialize(self, *assets: dg.AssetsDefinition) -> dg.ExecuteInProcessResult:
        return dg.materialize(list(assets), partition_key=DAY, resources=self.resources, raise_on_error=False)

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(self.warehouse_path) as con:
            return con.execute(query, params or []).fetchall()

    def add_conversation(
        self,
        cid: str,
        *,
        risky: bool,
        run_id: str,
        discovery_depth: float = 2,
        feedback_run_id: str | None = None,
    ) -> None:
        """A completed conversation of Ana Rep's, scored by the sales-discovery Kit (and the product-feedback Kit
        when ``feedback_run_id`` is given). Talk: Ana 600 s, the buyer 300 s (the mart's talk_ratio 600 / 900);
        Symbl's own talk-time percentage for Ana is 55.0, a figure of another definition routing must not send."""
        rid = f"rec-{cid}"
        start = datetime(2026, 4, 7, 15, 30, tzinfo=UTC)
        bricks: list[tuple[str, str, str, str, Any]] = [
            (KIT, run_id, "discovery_depth", "number", float(discovery_depth)),
            (KIT, run_id, "budget_confirmed", "boolean", not risky),
            (KIT, run_id, "competitor_mentioned", "string", "Gong" if risky else None),
            (KIT, run_id, "sentiment_score", "number", -0.45 if risky else 0.6),
            (KIT, run_id, "risk_flag", "boolean", risky),
            (KIT, run_id, "next_step_confirmed", "boolean", not risky),
        ]
        if feedback_run_id is not None:
            bricks += [
                (FEEDBACK_KIT, feedback_run_id, "feedback_feature_area", "string", " Reporting "),
                (FEEDBACK_KIT, feedback_run_id, "feature_satisfaction", "number", 3.6),
                (
                    FEEDBACK_KIT,
                    feedback_run_id,
                    "features_mentioned",
                    "string_list",
                    ["Reporting", "Billing"],
                ),
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
                "talk_time_seconds, talk_time_percentage) VALUES (?, 'm1', ?, 'Ana Rep', 'ANA@acme.test', 600, "
                "55.0), (?, 'm2', ?, 'Bo Buyer', 'bo@buyer.test', 300, 27.5)",
                [cid, DAY, cid, DAY],
            )
            for kit, run, key, kind, value in bricks:
                con.execute(
                    "INSERT INTO raw.semarize_bricks (conversation_id, recording_id, kit_code, brick_key, "
                    "partition_date, run_id, kit_version_id, value_type, value_boolean, value_number, "
                    "value_string, value_list, confidence, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?, ?, 0.81, ?, ?)",
                    [
                        cid,
                        rid,
                        kit,
                        key,
                        DAY,
                        run,
                        f"kv_{kit}_v1",
                        kind if value is not None else "null",
                        value if kind == "boolean" else None,
                        value if kind == "number" else None,
                        value if kind == "string" else None,
                        value if kind == "string_list" else None,
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
    world.build()

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
    assert risky["convo_intel_rep_email"] == "ana@acme.test"
    assert float(risky["convo_intel_rep_talk_ratio"]) == round(600 / 900, 6), (
        "the mart's fraction, not Symbl's %"
    )
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
    stale = world.materialize(risk_alerts, crm_activity)
    assert stale.success and len(world.slack_messages()) == 1, (
        "routing sends what the marts say, until rebuilt"
    )
    assert _metadata(stale, "crm_activity")["unchanged"] == 2
    world.build()
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
    world.build()
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
    world.build()
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


def _slack_fields(message: dict[str, Any]) -> dict[str, str]:
    """The message's section fields, label -> shown value (a field is `*label*\\nvalue`)."""
    fields = [f["text"] for b in message["blocks"] for f in b.get("fields", [])]
    return dict(text.removeprefix("*").split("*\n", 1) for text in fields)


def test_slack_and_the_crm_show_the_marts_numbers_in_the_marts_units(world: World) -> None:
    """After a real dbt build, every figure routing sends is fct_conversations' (or the feedback pivot's): the
    talk ratio is the mart's 0..1 fraction (not Symbl's talk-time percentage), discovery depth the mart's rounded
    integer (not the raw 2.6), the feedback area the pivot's lower-cased one."""
    world.add_conversation(
        "conv-risky", risky=True, run_id="run-1", discovery_depth=2.6, feedback_run_id="fb-1"
    )
    world.add_conversation("conv-fine", risky=False, run_id="run-2")
    world.build()
    result = world.materialize(risk_alerts, crm_activity)
    assert result.success

    objects = world.crm_objects()
    assert set(objects) == {"conv-risky", "conv-fine"}
    for cid, obj in objects.items():
        mart, crm = world.mart(cid), obj["properties"]
        # Hand-computed first, so that a NULL or recomputed mart cannot make the comparison below vacuous.
        assert (mart["talk_ratio"], mart["duration_seconds"]) == (600 / 900, 1800)
        assert float(crm["convo_intel_rep_talk_ratio"]) == round(mart["talk_ratio"], 6)
        assert crm["hs_call_duration"] == str(round(mart["duration_seconds"] * 1000))
        assert int(crm["slsdisc1_discovery_depth"]) == mart["discovery_depth"]
        assert float(crm["slsdisc1_sentiment_score"]) == mart["sentiment_score"]
        for brick in ("budget_confirmed", "next_step_confirmed", "risk_flag"):
            assert crm[f"slsdisc1_{brick}"] == str(mart[brick]).lower(), brick
        assert crm["slsdisc1_competitor_mentioned"] == (mart["competitor_mentioned"] or "")
        assert (
            crm["convo_intel_rep_name"] == mart["rep_name"]
            and crm["convo_intel_rep_email"] == mart["rep_email"]
        )
        assert crm["convo_intel_account_id"] == mart["account_id"] == f"acct-{cid}"
        assert crm["hs_timestamp"] == mart["started_at"].astimezone(UTC).isoformat().replace("+00:00", "Z")
    risky = objects["conv-risky"]["properties"]
    assert risky["slsdisc1_discovery_depth"] == "3" and risky["slsdisc1_risk_flag"] == "true"
    mart = world.mart("conv-risky")
    assert risky["prodfdb1_feedback_feature_area"] == mart["feedback__feature_area"] == "reporting"
    assert risky["prodfdb1_features_mentioned"] == ";".join(mart["feedback__features_mentioned"])
    assert int(risky["prodfdb1_feature_satisfaction"]) == mart["feedback__feature_satisfaction"] == 4
    assert not [p for p in objects["conv-fine"]["properties"] if p.startswith("prodfdb1_")], (
        "not scored by it"
    )

    [message] = world.slack_messages()
    shown = _slack_fields(message)
    assert shown["Talk ratio"] == f"{mart['talk_ratio']:.2f}" == "0.67"
    assert shown["Discovery depth"] == str(mart["discovery_depth"]) == "3"
    assert shown["Sentiment score"] == f"{mart['sentiment_score']:.2f}" == "-0.45"
    assert (shown["Budget confirmed"], shown["Next step confirmed"]) == ("no", "no")
    assert shown["Competitor mentioned"] == mart["competitor_mentioned"] == "Gong"
    assert shown["Rep"] == f"{mart['rep_name']} ({mart['rep_email']})"
    assert mart["risk_flag_run_id"] == "run-1" and "run-1" in json.dumps(message["blocks"])


def test_routing_before_any_warehouse_build_fails_and_sends_nothing(world: World) -> None:
    world.add_conversation("conv-early", risky=True, run_id="run-1")
    result = world.materialize(risk_alerts, crm_activity)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures and all("run warehouse_build_job first" in str(e) for e in failures)
    assert world.slack_messages() == [] and world.crm_objects() == {}
    assert world.calls(SLACK_ROUTE) == world.calls(UPSERT_ROUTE) == 0


def test_routed_columns_are_documented_columns_of_the_kits_pivots() -> None:
    """Routing names mart columns and the Kit each pivot is of; both must be what the dbt project defines."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert DISCOVERY.kit_code == project["vars"]["sales_discovery_kit_code"]
    feedback_sql = (
        DBT_PROJECT_DIR / "models/intermediate/int_product_feedback_bricks_pivoted.sql"
    ).read_text()
    assert f"var('product_feedback_kit_code', '{PRODUCT_FEEDBACK.kit_code}')" in feedback_sql
    documented: dict[str, set[str]] = {}
    for path in DBT_PROJECT_DIR.glob("models/*/_*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            documented[model["name"]] = {c["name"] for c in model.get("columns", [])}
    read_beside = {*ALERT_CARD_COLUMNS, "risk_flag_run_id", "account_id", "rep_name", "duration_seconds"}
    for pivot, extra in ((DISCOVERY, read_beside), (PRODUCT_FEEDBACK, set())):
        model = pivot.relation.split(".")[1]
        assert {*pivot.columns, *extra} <= documented[model], model


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
