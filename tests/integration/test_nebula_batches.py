"""`nebula_summaries` works through a day in batches: real Dagster materialisations, the sandbox over loopback
HTTP, a real DuckDB file.

What must hold, with batches smaller than the day: one Nebula call and one summary per conversation across every
batch; a re-run makes no call and rewrites nothing (the stored answers keep their fetch time); a conversation whose
call fails is rejected by name while the others of its batch land, and the next run asks only for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from orchestration.defs.nebula import assets as nebula_assets
from orchestration.defs.nebula.assets import NebulaResource, nebula_summaries
from orchestration.defs.recordings.assets import recordings
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.semarize.assets import transcripts
from orchestration.defs.symbl.conversations import symbl_conversations
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.symbl.signals import signal_assets
from orchestration.defs.warehouse.duckdb_store import storage_name
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.webhooks.resource import WebhookInboxResource
from sandbox.config import DEFAULT_NEBULA_API_KEY
from tests.conftest import RunningSandbox
from tests.e2e import corpus

DAY = "2026-04-07"
N = 5
GENERATE = "POST /nebula/v1/model/generate"


class World:
    def __init__(self, tmp_path: Path, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        drop = tmp_path / "drop"
        template = next(c for c in corpus.calls() if c.media_kind == "transcript_file")
        for k in range(N):
            call = dataclasses.replace(template, recording_id=f"rec-nebula-{k}", start=f"{DAY}T1{k}:00:00Z")
            corpus.write_call(drop, call)
        self.warehouse = WarehouseResource(
            path=str(tmp_path / "live.duckdb"), analyst_path=str(tmp_path / "analyst.duckdb")
        )
        self.resources: dict[str, Any] = {
            "symbl": SymblResource(base_url=sandbox.symbl_url, max_retries=0, processing_rate_prior=0.002),
            "nebula": NebulaResource(
                base_url=f"{sandbox.url}/nebula", api_key=DEFAULT_NEBULA_API_KEY, max_retries=0
            ),
            "warehouse": self.warehouse,
            "webhook_inbox": WebhookInboxResource(inbox_dir=str(tmp_path / "inbox")),
            "drop_folder": DropFolderResource(root=str(drop), resolve_media_hosts=False),
        }

    def run(self, assets: list[Any]) -> dg.ExecuteInProcessResult:
        result = dg.materialize(assets, partition_key=DAY, resources=self.resources, raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    def summarise(self) -> dict[str, Any]:
        result = self.run([nebula_summaries])
        return {
            k: v.value
            for k, v in result.asset_materializations_for_node("nebula_summaries")[0].metadata.items()
        }

    def generate_calls(self) -> int:
        return httpx.get(f"{self.sandbox.url}/_sandbox/stats").json()["calls"].get(GENERATE, 0)

    def faults(self, **settings: Any) -> None:
        httpx.put(f"{self.sandbox.url}/_sandbox/faults", json=settings).raise_for_status()

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(self.warehouse.path, read_only=True) as con:
            return con.execute(query).fetchall()

    def answers(self) -> dict[str, Any]:
        """The stored Nebula answers: conversation -> fetch time."""
        rows = self.sql(
            "SELECT conversation_id, fetched_at FROM raw.symbl_responses WHERE endpoint = 'nebula_summary'"
        )
        return dict(rows)


@pytest.fixture
def world(
    tmp_path: Path, sandbox_factory: Callable[..., RunningSandbox], monkeypatch: pytest.MonkeyPatch
) -> World:
    monkeypatch.setattr(nebula_assets, "SUMMARY_BATCH", 2)  # three batches: 2 + 2 + 1
    w = World(tmp_path, sandbox_factory())
    w.run([recordings])
    w.run([symbl_conversations, *signal_assets])
    w.run([transcripts])
    return w


def test_every_batch_is_summarised_once_and_a_rerun_calls_and_rewrites_nothing(world: World) -> None:
    first = world.summarise()
    assert world.generate_calls() == N
    assert (first["dagster/row_count"], first["generated"], first["reused"], first["errors"]) == (N, N, 0, 0)
    conversations = {c for (c,) in world.sql("SELECT conversation_id FROM raw.symbl_conversations")}
    summarised = world.sql("SELECT conversation_id, count(*) FROM raw.nebula_summaries GROUP BY 1")
    assert dict(summarised) == dict.fromkeys(conversations, 1)
    answers = world.answers()
    assert set(answers) == conversations

    again = world.summarise()
    assert world.generate_calls() == N
    assert (again["dagster/row_count"], again["generated"], again["reused"]) == (N, 0, N)
    assert world.answers() == answers  # kept as they were, not written again


def test_a_failed_call_is_rejected_by_name_and_only_it_is_asked_again(world: World) -> None:
    world.summarise()
    victim = world.sql(
        "SELECT conversation_id, recording_id FROM raw.symbl_conversations ORDER BY 1 LIMIT 1"
    )[0]
    # The victim's messages are fetched anew: its summary is stale, the other four stay current.
    with duckdb.connect(world.warehouse.path) as con:
        con.execute(
            f"UPDATE raw.{storage_name('symbl_responses')} SET fetched_at = now() + INTERVAL 1 HOUR "
            "WHERE endpoint = 'messages' AND conversation_id = ?",
            [victim[0]],
        )
    world.faults(fault_5xx_rate=1.0, fault_paths=["/nebula"])
    failed = world.summarise()
    assert world.generate_calls() == N + 1  # the stale one only, and it failed
    stats = httpx.get(f"{world.sandbox.url}/_sandbox/stats").json()
    refused = {k: n for k, n in stats["responses"].items() if k.startswith(f"{GENERATE} -> 5")}
    assert sum(refused.values()) == 1, stats["responses"]  # the one call, refused by the injected fault
    assert (failed["generated"], failed["reused"], failed["errors"]) == (0, N - 1, 1)
    assert failed["dagster/row_count"] == N - 1  # its stale summary went with the failure
    reasons = world.sql(
        "SELECT recording_id, source_file, reason FROM raw.recording_rejections WHERE stage = 'fetch:nebula_summary'"
    )
    assert [(r, s) for r, s, _ in reasons] == [(victim[1], f"nebula:conversation/{victim[0]}")]
    assert "generate failed (50" in reasons[0][2], reasons  # the cause, with its status

    world.faults(fault_5xx_rate=0.0)
    healed = world.summarise()
    assert world.generate_calls() == N + 2
    assert (healed["generated"], healed["errors"], healed["dagster/row_count"]) == (1, 0, N)
    assert world.sql(
        "SELECT count(*) FROM raw.recording_rejections WHERE stage = 'fetch:nebula_summary'"
    ) == [(0,)]
