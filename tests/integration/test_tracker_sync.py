"""Trackers as code against the sandbox over loopback: real Dagster materializations of the sync and drift assets,
management calls counted by the sandbox, drift made by editing Symbl behind the file's back.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
import yaml

from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.symbl.tracker_sync import (
    MANAGED_CATEGORY,
    NO_REMOTE_DRIFT_CHECK,
    UNUSED_TERM,
    VOCABULARY_DIFFERS,
    symbl_tracker_definitions,
    symbl_tracker_drift,
)
from orchestration.defs.symbl.trackers import DEFAULT_TRACKERS_FILE, load_tracker_definitions
from orchestration.defs.warehouse import duckdb_store
from orchestration.defs.warehouse.resource import WarehouseResource
from tests.conftest import symbl_token_for


class Account:
    """The sandbox's Symbl account as a person with a browser would see it: direct HTTP, and the call counts."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(
            base_url=f"{base_url}/symbl",
            headers={"Authorization": f"Bearer {symbl_token_for(base_url)}"},
            timeout=10,
        )

    def trackers(self) -> dict[str, dict[str, Any]]:
        response = self.http.get("/v1/manage/trackers")
        response.raise_for_status()
        return {t["name"]: t for t in response.json()["trackers"]}

    def create(self, body: dict[str, Any]) -> None:
        self.http.post("/v1/manage/trackers", json=body).raise_for_status()

    def patch(self, tracker_id: str, operations: list[dict[str, Any]]) -> None:
        self.http.patch(f"/v1/manage/trackers/{tracker_id}", json=operations).raise_for_status()

    def reset_calls(self) -> None:
        httpx.post(f"{self.base_url}/_sandbox/stats/reset").raise_for_status()

    def management_calls(self) -> dict[str, int]:
        """``{"PATCH /symbl/v1/manage/trackers/{trackerId}": 1, ...}``: only the tracker management routes."""
        calls = httpx.get(f"{self.base_url}/_sandbox/stats").json()["calls"]
        return {route: n for route, n in calls.items() if "/v1/manage/" in route}


@pytest.fixture
def account(sandbox: str) -> Iterator[Account]:
    acc = Account(sandbox)
    yield acc
    acc.http.close()


@pytest.fixture
def trackers_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repo's trackers.yaml that the test may edit, selected through CONVO_INTEL_TRACKERS_FILE."""
    path = tmp_path / "trackers.yaml"
    shutil.copy(DEFAULT_TRACKERS_FILE, path)
    monkeypatch.setenv("CONVO_INTEL_TRACKERS_FILE", str(path))
    return path


def resources(account: Account, tmp_path: Path) -> dict[str, Any]:
    warehouse = tmp_path / "warehouse" / "live.duckdb"
    return {
        "symbl": SymblResource(base_url=f"{account.base_url}/symbl"),
        "warehouse": WarehouseResource(path=str(warehouse), analyst_path=str(warehouse.with_suffix(".copy"))),
    }


def materialize(assets: list[Any], account: Account, tmp_path: Path) -> dg.ExecuteInProcessResult:
    result = dg.materialize(assets, resources=resources(account, tmp_path), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def sync_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    [materialization] = result.asset_materializations_for_node("symbl_tracker_definitions")
    return {k: v.value for k, v in materialization.metadata.items()}


def test_sync_creates_then_does_nothing_then_applies_only_the_edit(
    account: Account, trackers_yaml: Path, tmp_path: Path
) -> None:
    desired = load_tracker_definitions(trackers_yaml)
    account.create({"name": "Legal", "vocabulary": ["contract", "redline"]})  # made by hand in the account
    account.reset_calls()

    first = sync_metadata(materialize([symbl_tracker_definitions], account, tmp_path))
    assert account.management_calls() == {
        "GET /symbl/v1/manage/trackers": 1,
        "POST /symbl/v1/manage/trackers": len(desired),
    }
    remote = account.trackers()
    assert set(remote) == {t.name for t in desired} | {"Legal"}
    for tracker in desired:
        assert sorted(remote[tracker.name]["vocabulary"]) == sorted(tracker.vocabulary)
        assert remote[tracker.name]["description"] == tracker.description
        assert MANAGED_CATEGORY in remote[tracker.name]["categories"]
    assert (first["created"], first["updated"], first["deleted"]) == (len(desired), 0, 0)
    assert first["unmanaged_left_alone"] == 1

    account.reset_calls()
    second = sync_metadata(materialize([symbl_tracker_definitions], account, tmp_path))
    assert account.management_calls() == {"GET /symbl/v1/manage/trackers": 1}
    assert (second["created"], second["updated"], second["deleted"]) == (0, 0, 0)
    assert second["unchanged"] == len(desired)

    # Edit one tracker's vocabulary (reordered, one term swapped) and drop another from the file.
    doc = yaml.safe_load(trackers_yaml.read_text())
    edited, dropped = doc["trackers"][0], doc["trackers"].pop()
    edited["vocabulary"] = [*reversed(edited["vocabulary"][1:]), "price tag"]
    trackers_yaml.write_text(yaml.safe_dump(doc))
    account.reset_calls()
    third = sync_metadata(materialize([symbl_tracker_definitions], account, tmp_path))
    assert account.management_calls() == {
        "GET /symbl/v1/manage/trackers": 1,
        "PATCH /symbl/v1/manage/trackers/{trackerId}": 1,
        "DELETE /symbl/v1/manage/trackers/{trackerId}": 1,
    }
    assert (third["created"], third["updated"], third["deleted"]) == (0, 1, 1)
    remote = account.trackers()
    assert sorted(remote[edited["name"]]["vocabulary"]) == sorted(edited["vocabulary"])
    assert dropped["name"] not in remote
    assert "Legal" in remote  # hand-made: never deleted


def seed_tracker_hits(warehouse: WarehouseResource, newest: datetime) -> None:
    """Two recordings: one at ``newest`` with hits on Pricing/price and Competitors/gong, one 120 days older
    whose hit on Pricing/budget falls outside the 90-day window."""
    now = datetime.now(UTC)
    recordings = [("rec-new", "conv-new", newest), ("rec-old", "conv-old", newest - timedelta(days=120))]
    hits = [
        ("conv-new", "Pricing", "price"),
        ("conv-new", "competitors", "gong"),
        ("conv-old", "Pricing", "budget"),
    ]
    with warehouse.connection() as con:
        duckdb_store.insert_rows(
            con,
            "recordings",
            [
                {
                    "recording_id": rid,
                    "partition_date": start.date(),
                    "start_time": start,
                    "host_email": "rep@example.com",
                    "media_kind": "transcript_file",
                    "media_ref": f"/drop/{rid}.json",
                    "source_file": f"/drop/{rid}.yaml",
                    "manifest_sha256": "0" * 64,
                    "loaded_at": now,
                }
                for rid, _, start in recordings
            ],
        )
        duckdb_store.insert_rows(
            con,
            "symbl_conversations",
            [
                {
                    "recording_id": rid,
                    "partition_date": start.date(),
                    "conversation_id": cid,
                    "job_id": f"job-{cid}",
                    "status": "completed",
                    "attempts": 1,
                    "updated_at": now,
                }
                for rid, cid, start in recordings
            ],
        )
        dates = {cid: start.date() for _, cid, start in recordings}
        duckdb_store.insert_rows(
            con,
            "symbl_tracker_hits",
            [
                {
                    "conversation_id": cid,
                    "hit_key": f"{cid}-{term}",
                    "partition_date": dates[cid],
                    "tracker_name": name,
                    "matched_value": term,
                }
                for cid, name, term in hits
            ],
        )


def drift_check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == NO_REMOTE_DRIFT_CHECK]
    return evaluation


def test_drift_is_reported_when_symbl_is_edited_behind_the_files_back(
    account: Account, trackers_yaml: Path, tmp_path: Path
) -> None:
    desired = load_tracker_definitions(trackers_yaml)
    warehouse = resources(account, tmp_path)["warehouse"]
    seed_tracker_hits(warehouse, datetime(2026, 9, 15, 15, 0, tzinfo=UTC))

    # Sync and check in one run: straight after a sync there is no remote drift.
    clean = materialize([symbl_tracker_definitions, symbl_tracker_drift], account, tmp_path)
    assert drift_check(clean).passed
    remote_rows = warehouse.query(f"SELECT * FROM raw.symbl_tracker_drift WHERE kind <> '{UNUSED_TERM}'")
    assert remote_rows == []

    pricing = account.trackers()["Pricing"]
    account.patch(pricing["id"], [{"op": "add", "path": "/vocabulary/-", "value": "coupon"}])
    drifted = materialize([symbl_tracker_drift], account, tmp_path)

    evaluation = drift_check(drifted)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    rows = warehouse.query(
        "SELECT tracker_name, kind, details, remote_tracker_id, managed FROM raw.symbl_tracker_drift "
        f"WHERE kind <> '{UNUSED_TERM}'"
    )
    assert rows == [
        {
            "tracker_name": "Pricing",
            "kind": VOCABULARY_DIFFERS,
            "details": "vocabulary -coupon",
            "remote_tracker_id": pricing["id"],
            "managed": True,
        }
    ]

    # Unused terms: every term of the file but the two hit inside the window (names and terms match whatever
    # their case; the older recording's hit on "budget" is outside the 90 days).
    unused = warehouse.query(
        f"SELECT tracker_name, term, window_end FROM raw.symbl_tracker_drift WHERE kind = '{UNUSED_TERM}'"
    )
    hit = {("Pricing", "price"), ("Competitors", "Gong")}
    expected = {(t.name, term) for t in desired for term in t.vocabulary} - hit
    assert {(r["tracker_name"], r["term"]) for r in unused} == expected
    assert ("Pricing", "budget") in expected
    assert {r["window_end"] for r in unused} == {datetime(2026, 9, 15, 15, 0, tzinfo=UTC)}
