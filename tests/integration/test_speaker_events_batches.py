"""`symbl_speaker_events` works through a day in batches: real Dagster materialisations, the sandbox over loopback
HTTP, a real DuckDB file.

What must hold, with batches smaller than the day: every conversation with speaker events gets exactly one PUT and
one ledger row, across every batch; a re-run sends nothing; a changed manifest sends only its own events again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from orchestration.defs.recordings.assets import recordings
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.symbl import speaker_events
from orchestration.defs.symbl.conversations import symbl_conversations
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.webhooks.resource import WebhookInboxResource
from tests.conftest import RunningSandbox
from tests.e2e import corpus

DAY = "2026-07-08"
N = 5


def write_day(drop: Path) -> list[str]:
    """N mono audio calls of one day whose manifests carry the platform's who-spoke-when."""
    template = next(c for c in corpus.calls() if c.attribution == "speaker_events")
    ids = []
    for k in range(N):
        call = dataclasses.replace(template, recording_id=f"rec-events-{k}", start=f"{DAY}T1{k}:00:00Z")
        corpus.write_call(drop, call)
        ids.append(call.recording_id)
    return ids


def put_count(sandbox: RunningSandbox) -> int:
    calls = httpx.get(f"{sandbox.url}/_sandbox/stats").json()["calls"]
    return sum(n for route, n in calls.items() if route.startswith("PUT ") and route.endswith("/speakers"))


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., RunningSandbox]) -> RunningSandbox:
    return sandbox_factory()


def test_every_batch_is_sent_once_and_a_changed_manifest_alone_is_sent_again(
    tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speaker_events, "BATCH_SIZE", 2)  # three batches: 2 + 2 + 1
    drop = tmp_path / "drop"
    ids = write_day(drop)
    warehouse = WarehouseResource(
        path=str(tmp_path / "live.duckdb"), analyst_path=str(tmp_path / "analyst.duckdb")
    )
    resources: dict[str, Any] = {
        "symbl": SymblResource(base_url=sandbox.symbl_url, max_retries=0, processing_rate_prior=0.002),
        "warehouse": warehouse,
        "webhook_inbox": WebhookInboxResource(inbox_dir=str(tmp_path / "inbox")),
        "drop_folder": DropFolderResource(root=str(drop), resolve_media_hosts=False),
    }

    def run(assets: list[Any]) -> dg.ExecuteInProcessResult:
        result = dg.materialize(assets, partition_key=DAY, resources=resources, raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    def ledger() -> dict[str, tuple[str, int, str]]:
        with duckdb.connect(warehouse.path, read_only=True) as con:
            rows = con.execute(
                "SELECT recording_id, status, event_count, events_sha256 FROM raw.symbl_speaker_events"
            ).fetchall()
        return {rid: (status, count, sha) for rid, status, count, sha in rows}

    run([recordings])
    run([symbl_conversations])
    first = run([speaker_events.symbl_speaker_events])
    assert put_count(sandbox) == N
    landed = ledger()
    assert sorted(landed) == ids and {status for status, _, _ in landed.values()} == {"applied"}
    metadata = first.asset_materializations_for_node("symbl_speaker_events")[0].metadata
    assert metadata["dagster/row_count"].value == N and metadata["sent"].value == N

    again = run([speaker_events.symbl_speaker_events])
    assert put_count(sandbox) == N  # nothing changed: nothing sent
    assert again.asset_materializations_for_node("symbl_speaker_events")[0].metadata["sent"].value == 0
    assert ledger() == landed

    # The platform re-sends one call's who-spoke-when, one utterance shorter: only that call goes again.
    changed = drop / "manifests" / "rec-events-3.json"
    doc = json.loads(changed.read_text())
    doc["speaker_events"] = doc["speaker_events"][:-1]
    changed.write_text(json.dumps(doc))
    run([recordings])
    run([speaker_events.symbl_speaker_events])
    assert put_count(sandbox) == N + 1
    now = ledger()
    assert now["rec-events-3"][1] == landed["rec-events-3"][1] - 2  # a started and a stopped event each
    assert now["rec-events-3"][2] != landed["rec-events-3"][2]
    assert {rid: v for rid, v in now.items() if rid != "rec-events-3"} == {
        rid: v for rid, v in landed.items() if rid != "rec-events-3"
    }
