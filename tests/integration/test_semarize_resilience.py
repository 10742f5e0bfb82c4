"""`semarize_bricks` against what the real Semarize may send: a Kit schema in a shape nobody published, and one
malformed run among good ones. Real Dagster materializations, the sandbox over loopback HTTP, a real DuckDB."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from orchestration.defs.semarize.assets import semarize_bricks
from orchestration.defs.semarize.resource import SemarizeResource
from orchestration.defs.warehouse import duckdb_store
from orchestration.defs.warehouse.resource import WarehouseResource
from tests.conftest import RunningSandbox

DAY = "2026-04-07"
TURNS = [
    ("Maya Chen", "maya.chen@lumen.example", "What is the biggest challenge with your current process?"),
    ("Hank Scorpio", "hank@globex.example", "Our reps waste hours on notes. We have $80k allocated."),
    ("Maya Chen", "maya.chen@lumen.example", "I'll send the proposal by Friday; can we meet next Tuesday?"),
    ("Hank Scorpio", "hank@globex.example", "Yes, Tuesday works. Our CFO signs off."),
]


def seed_warehouse(path: str, recordings: list[str]) -> None:
    now = datetime.now(UTC)
    with duckdb_store.connect(path) as con:
        duckdb_store.ensure_schema(con)
        for i, rid in enumerate(recordings):
            duckdb_store.insert_rows(
                con,
                "recordings",
                [
                    {
                        "recording_id": rid,
                        "partition_date": date.fromisoformat(DAY),
                        "start_time": datetime(2026, 4, 7, 9 + i, tzinfo=UTC),
                        "host_name": "Maya Chen",
                        "host_email": "maya.chen@lumen.example",
                        "participants": json.dumps(
                            [{"name": "Maya Chen", "email": "maya.chen@lumen.example"}]
                        ),
                        "call_type": "discovery",
                        "media_kind": "transcript_file",
                        "media_ref": f"/dev/null/{rid}",
                        "source_file": f"manifests/{rid}.json",
                        "manifest_sha256": rid,
                        "loaded_at": now,
                    }
                ],
            )
            duckdb_store.insert_rows(
                con,
                "transcripts",
                [
                    {
                        "conversation_id": f"conv-{rid}",
                        "recording_id": rid,
                        "partition_date": date.fromisoformat(DAY),
                        "turn_index": t,
                        "speaker_name": name,
                        "speaker_email": email,
                        "text": text,
                        "start_offset_seconds": 10.0 * t,
                        "end_offset_seconds": 10.0 * t + 8,
                        "message_count": 1,
                    }
                    for t, (name, email, text) in enumerate(TURNS)
                ],
            )


def score(sandbox: RunningSandbox, warehouse: str, run_config: dict[str, Any] | None = None) -> Any:
    resources = {
        "semarize": SemarizeResource(base_url=f"{sandbox.url}/semarize", kits=["SLSDISC1"]),
        "warehouse": WarehouseResource(path=warehouse, analyst_path=warehouse + ".analyst"),
    }
    result = dg.materialize(
        [semarize_bricks], partition_key=DAY, resources=resources, run_config=run_config, raise_on_error=False
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def rows(warehouse: str, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    path = str(tmp_path / "live.duckdb")
    seed_warehouse(path, ["rec-1", "rec-2", "rec-3"])
    return path


@pytest.mark.parametrize("shape", ["fields", "opaque"])
def test_an_unreadable_kit_schema_is_a_warning_and_types_are_inferred(
    sandbox_factory: Callable[..., RunningSandbox], warehouse: str, shape: str
) -> None:
    sandbox = sandbox_factory(semarize_kit_schema_shape=shape)
    result = score(sandbox, warehouse)
    calls = httpx.get(f"{sandbox.url}/_sandbox/stats").json()["calls"]
    assert calls["GET /semarize/v1/kits/schema"] == 1  # the schema was asked for, and answered in `shape`
    (materialization,) = result.asset_materializations_for_node("semarize_bricks")
    warning = materialization.metadata["kit_schema_warnings"].value
    assert warning.startswith("SLSDISC1: schema in an unknown shape"), warning
    by_conversation = rows(
        warehouse, "SELECT conversation_id, count(*) FROM raw.semarize_bricks GROUP BY 1 ORDER BY 1"
    )
    assert [c for c, _ in by_conversation] == ["conv-rec-1", "conv-rec-2", "conv-rec-3"]
    assert all(n >= 5 for _, n in by_conversation)
    types = dict(rows(warehouse, "SELECT DISTINCT brick_key, value_type FROM raw.semarize_bricks"))
    assert types["budget_confirmed"] == "boolean" and types["discovery_depth"] == "number"
    assert rows(warehouse, "SELECT DISTINCT kit_schema FROM raw.semarize_runs") == [(None,)]


def test_one_malformed_run_is_rejected_and_the_day_lands(
    sandbox_factory: Callable[..., RunningSandbox], warehouse: str
) -> None:
    sandbox = sandbox_factory(semarize_malformed_output_matching="^rec-2$")
    score(sandbox, warehouse)
    landed = rows(warehouse, "SELECT DISTINCT recording_id FROM raw.semarize_bricks ORDER BY 1")
    assert landed == [("rec-1",), ("rec-3",)]
    rejected = rows(warehouse, "SELECT recording_id, stage, reason FROM raw.recording_rejections")
    assert len(rejected) == 1
    rid, stage, reason = rejected[0]
    assert (rid, stage) == ("rec-2", "semarize")
    assert "malformed run" in reason and "output.bricks must be an object" in reason
    # The run itself succeeded at Semarize and is kept verbatim, so a parser fix can re-derive it later.
    statuses = rows(warehouse, "SELECT recording_id, status FROM raw.semarize_runs ORDER BY 1")
    assert statuses == [("rec-1", "succeeded"), ("rec-2", "succeeded"), ("rec-3", "succeeded")]


def test_bricks_rederived_from_raw_runs_match_without_a_semarize_call(
    sandbox_factory: Callable[..., RunningSandbox], warehouse: str
) -> None:
    sandbox = sandbox_factory()
    score(sandbox, warehouse)
    before = rows(warehouse, "SELECT * EXCLUDE (kit_version_id) FROM raw.semarize_bricks ORDER BY ALL")
    calls_before = httpx.get(f"{sandbox.url}/_sandbox/stats").json()["calls"]
    with duckdb.connect(warehouse) as con:
        con.execute("DELETE FROM raw.semarize_bricks")
    score(sandbox, warehouse, {"ops": {"semarize_bricks": {"config": {"source": "raw"}}}})
    calls_after = httpx.get(f"{sandbox.url}/_sandbox/stats").json()["calls"]
    semarize_calls = {k: v for k, v in calls_after.items() if "/semarize/" in k and calls_before.get(k) != v}
    assert semarize_calls == {}
    assert (
        rows(warehouse, "SELECT * EXCLUDE (kit_version_id) FROM raw.semarize_bricks ORDER BY ALL") == before
    )
    assert len(before) >= 15
