"""Live AI-agent calls -> quality gate verdicts in the event logs -> live_call_events (Dagster) ->
``ai_agent_quality_daily`` (dbt): per agent and day, calls, relevance, flag rates and the worst call's evidence."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.streaming.assets import LiveCallsResource, live_call_events
from orchestration.defs.streaming.calls import LiveSettings, new_live_call
from orchestration.defs.streaming.client import paced
from orchestration.defs.streaming.quality_gate import GateSettings
from orchestration.defs.warehouse.dbt import WAREHOUSE_ENV_VAR, dbt_cli_resource
from orchestration.defs.warehouse.resource import WarehouseResource
from sandbox.config import SandboxConfig
from sandbox.speech_carrier import render
from sandbox.transcript import Transcript, Utterance
from tests.streaming.test_quality_gate import BOT, CALL, POLICY, manifest


def test_ai_agent_quality_daily_reports_rates_and_the_worst_call(
    sandbox: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policies" / "refund-bot").mkdir(parents=True)
    (tmp_path / "policies" / "refund-bot" / "refunds.md").write_text(POLICY)
    config = SandboxConfig()
    gate = GateSettings(
        semarize_base_url=f"{sandbox}/semarize",
        semarize_api_key=config.semarize_api_key,
        slack_webhook_url=f"{sandbox}/slack/services/T00000000/B00000000/{config.slack_webhook_token}",
        policy_dir=tmp_path / "policies",
    )
    settings = LiveSettings(
        f"{sandbox}/symbl", config.symbl_app_id, config.symbl_app_secret, tmp_path / "live", gate=gate
    )
    truthful = Transcript(
        (
            CALL.utterances[0],
            Utterance(BOT, "According to our policy, we refund within 30 days of purchase.", 5.6, 10.0),
        )
    )
    for call_id, transcript in (("rec-ai-bad", CALL), ("rec-ai-good", truthful)):
        call = new_live_call(
            settings, call_id, manifest() | {"recording_id": call_id}, encoding="LINEAR16", sample_rate=16000
        )
        assert asyncio.run(call.run(paced(render(transcript, "LINEAR16", 16000), 32000, 40))).completed

    warehouse = tmp_path / "warehouse" / "live.duckdb"
    (tmp_path / "drop").mkdir()
    result = dg.materialize(
        [live_call_events],
        resources={
            "live_calls": LiveCallsResource(live_dir=str(tmp_path / "live")),
            "warehouse": WarehouseResource(
                path=str(warehouse), analyst_path=str(tmp_path / "analyst.duckdb")
            ),
            "drop_folder": DropFolderResource(root=str(tmp_path / "drop"), timezone="UTC"),
        },
    )
    assert result.success

    monkeypatch.setenv(WAREHOUSE_ENV_VAR, str(warehouse))
    invocation = dbt_cli_resource().cli(
        ["build", "--select", "+ai_agent_quality_daily"],
        target_path=tmp_path / "target",
        raise_on_error=False,
    )
    invocation.wait()
    assert invocation.is_successful()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT agent_id, day::VARCHAR, calls, hallucination_rate, flagged_calls, worst_calls "
            "FROM marts.ai_agent_quality_daily"
        ).fetchall()
    assert len(rows) == 1
    agent, day, calls, hallucination_rate, flagged, worst = rows[0]
    assert (agent, day, calls, hallucination_rate, flagged) == ("refund-bot", "2026-04-09", 2, 0.5, 1)
    worst_calls = json.loads(worst)
    assert [w["call_id"] for w in worst_calls] == ["rec-ai-bad", "rec-ai-good"]
    assert any("90 days" in quote for quote in worst_calls[0]["evidence"])
