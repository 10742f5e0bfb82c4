"""The data-promise checks fail on the data they exist to catch (real DuckDB file, checks invoked directly)."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from orchestration.defs.semarize.checks import bricks_match_kit_types
from orchestration.defs.symbl.checks import every_recording_accounted_for, speakers_match_participants
from orchestration.defs.warehouse import duckdb_store
from orchestration.defs.warehouse.resource import WarehouseResource

DAY = date(2026, 5, 5)
NOW = datetime(2026, 5, 5, 12, tzinfo=UTC)


def _recording(rid: str, participants: int) -> dict[str, object]:
    people = [{"name": f"P{i}", "email": f"p{i}@x.example", "role": "prospect"} for i in range(participants)]
    return {
        "recording_id": rid, "partition_date": DAY, "start_time": NOW, "host_email": "maya.chen@lumen.example",
        "participants": json.dumps(people), "participant_count": participants, "media_kind": "audio_file",
        "media_ref": "/x.wav", "source_file": f"manifests/{rid}.json", "manifest_sha256": "0" * 64, "loaded_at": NOW,
    }  # fmt: skip


def _conversation(
    rid: str, cid: str, status: str = "completed", reason: str | None = None
) -> dict[str, object]:
    return {
        "recording_id": rid, "partition_date": DAY, "conversation_id": cid, "job_id": f"job-{cid}",
        "status": status, "attempts": 1, "failure_reason": reason, "updated_at": NOW,
    }  # fmt: skip


def _message(cid: str, mid: str, speaker: str) -> dict[str, object]:
    return {
        "conversation_id": cid,
        "message_id": mid,
        "partition_date": DAY,
        "speaker_name": speaker,
        "text": "hi",
    }


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    resource = WarehouseResource(path=str(tmp_path / "w.duckdb"), analyst_path=str(tmp_path / "a.duckdb"))
    with resource.connection() as con:
        duckdb_store.insert_rows(con, "recordings", [_recording("rec-1", 2), _recording("rec-2", 2)])
        duckdb_store.insert_rows(
            con, "symbl_conversations", [_conversation("rec-1", "c1"), _conversation("rec-2", "c2")]
        )
    return resource


def _insert(warehouse: WarehouseResource, table: str, rows: list[dict[str, object]]) -> None:
    with warehouse.connection() as con:
        duckdb_store.insert_rows(con, table, rows)


def test_diarization_check_passes_on_named_speakers_and_flags_generic_labels(
    warehouse: WarehouseResource,
) -> None:
    _insert(warehouse, "symbl_messages", [_message("c1", "1", "Maya Chen"), _message("c1", "2", "P0")])
    assert speakers_match_participants(warehouse=warehouse).passed
    _insert(warehouse, "symbl_messages", [_message("c2", "3", "Speaker 1"), _message("c2", "4", "Speaker 2")])
    result = speakers_match_participants(warehouse=warehouse)
    assert not result.passed
    assert result.metadata["generic_labels"].value == 1
    assert "rec-2" in result.metadata["examples"].value


def test_diarization_check_flags_more_speakers_than_participants(warehouse: WarehouseResource) -> None:
    _insert(warehouse, "symbl_messages", [_message("c1", str(i), f"Person {chr(65 + i)}") for i in range(4)])
    result = speakers_match_participants(warehouse=warehouse)
    assert not result.passed and "rec-1 (4 speakers / 2 participants)" in result.metadata["examples"].value


def test_accounting_check_fails_for_a_failure_without_reason_and_for_an_unsubmitted_recording(
    warehouse: WarehouseResource,
) -> None:
    assert every_recording_accounted_for(warehouse=warehouse).passed
    _insert(warehouse, "recordings", [_recording("rec-3", 2)])
    assert not every_recording_accounted_for(warehouse=warehouse).passed  # never submitted
    _insert(warehouse, "symbl_conversations", [_conversation("rec-3", "c3", "failed", reason="  ")])
    result = every_recording_accounted_for(warehouse=warehouse)
    assert not result.passed and result.metadata["examples"].value == "rec-3"


def test_brick_type_check_fails_on_mixed_value_types(warehouse: WarehouseResource) -> None:
    def brick(cid: str, value_type: str) -> dict[str, object]:
        return {
            "conversation_id": cid, "recording_id": "rec", "kit_code": "SLSDISC1", "brick_key": "risk_flag",
            "partition_date": DAY, "run_id": f"run-{cid}", "value_type": value_type,
        }  # fmt: skip

    _insert(warehouse, "semarize_bricks", [brick("c1", "boolean"), brick("c2", "null")])
    assert bricks_match_kit_types(warehouse=warehouse).passed
    _insert(warehouse, "semarize_bricks", [brick("c3", "string")])
    result = bricks_match_kit_types(warehouse=warehouse)
    assert not result.passed and "SLSDISC1.risk_flag" in result.metadata["mixed_types"].value
