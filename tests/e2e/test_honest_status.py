"""A ranged run that leaves recordings failed and rejected says so, and each day's materialization is its own.

Two days in one single-run backfill (2026-06-01..2026-06-02): day one has a good call, a call whose Symbl job
fails (sandbox fault injection on the title) and a manifest whose media is missing; day two has one good call.
Then a clean day on its own (2026-06-03). Real Dagster runs, the sandbox over loopback, a real DuckDB file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb
import httpx
import pytest

from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp
from tests.e2e import corpus

DAY1, DAY2, DAY3 = "2026-06-01", "2026-06-02", "2026-06-03"


def _call(rid: str, start: str, title: str = "") -> corpus.Call:
    return corpus.Call(
        rid,
        start,
        "Maya Chen",
        "maya.chen@lumen.example",
        "Pat Buyer",
        "pat@initech.example",
        "Initech",
        "audio_file",
        corpus.SHALLOW,
        title,
    )


def _ingest(tags: dict[str, str] | None = None, partition_key: str | None = None) -> Any:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("conversation_ingest_job")
    result = job.execute_in_process(partition_key=partition_key, tags=tags, raise_on_error=False)
    # The run itself succeeds: bad input never stops the other recordings (promise 2) ...
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


@pytest.fixture(scope="module")
def ranged_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    root = tmp_path_factory.mktemp("honest")
    drop = root / "drop"
    for call in (
        _call("rec-good-1", f"{DAY1}T09:00:00Z"),
        _call("rec-fails", f"{DAY1}T10:00:00Z", "FAILME support call"),
        _call("rec-good-2", f"{DAY2}T09:00:00Z"),
        _call("rec-good-3", f"{DAY3}T09:00:00Z"),
    ):
        corpus.write_call(drop, call)
    lost = _call("rec-no-media", f"{DAY1}T11:00:00Z")
    (drop / "manifests" / "rec-no-media.json").write_text(
        json.dumps(corpus.manifest(lost, {"kind": "audio_file", "path": "media/gone.wav"}))
    )
    mp = pytest.MonkeyPatch()
    config = SandboxConfig(data_dir=root / "sandbox", processing_factor=0.002, min_processing_seconds=0.05)
    with ServedApp(build_app(config)) as sandbox:
        base = sandbox.base_url
        for key, value in {
            "SYMBL_BASE_URL": f"{base}/symbl",
            "SEMARIZE_BASE_URL": f"{base}/semarize",
            "NEBULA_BASE_URL": f"{base}/nebula",
            "CONVO_INTEL_DROP_FOLDER": str(drop),
            "CONVO_INTEL_WAREHOUSE": str(root / "warehouse" / "live.duckdb"),
            "CONVO_INTEL_ANALYST_WAREHOUSE": str(root / "warehouse" / "analyst.duckdb"),
            # Kits by call type: the corpus's discovery calls get the product-feedback Kit too, others none.
            "SEMARIZE_KITS_BY_CALL_TYPE": "discovery=SLSDISC1,PRODFDB1",
        }.items():
            mp.setenv(key, value)
        httpx.put(f"{base}/_sandbox/faults", json={"fail_jobs_matching": "FAILME"}).raise_for_status()
        ranged = _ingest(tags={ASSET_PARTITION_RANGE_START_TAG: DAY1, ASSET_PARTITION_RANGE_END_TAG: DAY2})
        clean = _ingest(partition_key=DAY3)
        with duckdb.connect(str(root / "warehouse" / "live.duckdb"), read_only=True) as con:
            kits = con.execute(
                "SELECT recording_id, string_agg(DISTINCT kit_code, ',' ORDER BY kit_code) FROM raw.semarize_runs"
                " GROUP BY 1 ORDER BY 1"
            ).fetchall()
        assert kits == [(rid, "PRODFDB1,SLSDISC1") for rid in ("rec-good-1", "rec-good-2", "rec-good-3")]
        yield ranged, clean
    mp.undo()


def _checks(result: Any) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _materializations(result: Any, asset: str) -> dict[str, dict[str, Any]]:
    """partition -> {metadata name: raw value} of the run's materializations of one asset."""
    out: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        m = event.event_specific_data.materialization
        if m.asset_key.to_user_string() == asset:
            out[m.partition] = {k: getattr(v, "value", v) for k, v in m.metadata.items()}
    return out


def test_failed_and_rejected_recordings_fail_their_checks_by_name(ranged_run: tuple[Any, Any]) -> None:
    ranged, _ = ranged_run
    checks = _checks(ranged)
    # ... but the checks that ask "was anything lost?" fail, naming the recordings and the reasons.
    rejected = checks["no_recordings_rejected"]
    assert rejected.passed is False and rejected.severity.value == "ERROR"
    assert rejected.metadata["recording_ids"].value == "rec-no-media"
    assert rejected.metadata["scope"].value == f"{DAY1}..{DAY2}"
    assert "gone.wav" in rejected.metadata["details"].value
    failed = checks["no_symbl_jobs_failed"]
    assert failed.passed is False and failed.metadata["recording_ids"].value == "rec-fails"
    assert failed.metadata["count"].value == 1
    assert "attempt 1" in failed.metadata["details"].value
    # The older check still passes: the failure is explained (it has a reason), so nothing is unaccounted for.
    assert checks["every_recording_accounted_for"].passed is True


def test_a_clean_day_passes_the_same_checks(ranged_run: tuple[Any, Any]) -> None:
    _, clean = ranged_run
    checks = _checks(clean)
    for name in ("no_recordings_rejected", "no_symbl_jobs_failed", "no_semarize_runs_failed"):
        assert checks[name].passed is True, (name, checks[name].metadata)
        assert checks[name].metadata["scope"].value == f"{DAY3}..{DAY3}"  # day one's losses are not its own


def test_each_day_of_a_ranged_run_carries_its_own_figures(ranged_run: tuple[Any, Any]) -> None:
    ranged, clean = ranged_run
    recordings = _materializations(ranged, "recordings")
    assert sorted(recordings) == [DAY1, DAY2]
    assert (recordings[DAY1]["dagster/row_count"], recordings[DAY1]["rejected"]) == (2, 1)
    assert (recordings[DAY2]["dagster/row_count"], recordings[DAY2]["rejected"]) == (1, 0)
    # The whole run's figures are still there, labelled as the range's.
    assert recordings[DAY2]["range/dagster/row_count"] == 3 and recordings[DAY2]["range/rejected"] == 1
    assert recordings[DAY2]["range"].startswith(f"{DAY1}..{DAY2} (2 partitions")

    ledger = _materializations(ranged, "symbl_conversations")
    assert (ledger[DAY1]["completed"], ledger[DAY1]["failed"], ledger[DAY1]["dagster/row_count"]) == (1, 1, 2)
    assert (ledger[DAY2]["completed"], ledger[DAY2]["failed"], ledger[DAY2]["dagster/row_count"]) == (1, 0, 1)
    assert (
        "submitted" not in ledger[DAY2] and ledger[DAY2]["range/submitted"] == 2
    )  # rec-fails ended "failed"

    messages = _materializations(ranged, "symbl_messages")
    assert messages[DAY1]["conversations"] == 1 and messages[DAY2]["conversations"] == 1
    assert (
        messages[DAY1]["dagster/row_count"] + messages[DAY2]["dagster/row_count"]
        == (messages[DAY1]["range/dagster/row_count"])
    )
    summaries = _materializations(ranged, "nebula_summaries")
    assert summaries[DAY1]["enabled"] is True  # the sandbox's Nebula: one summary per completed call
    assert (summaries[DAY1]["dagster/row_count"], summaries[DAY2]["dagster/row_count"]) == (1, 1)
    # A one-day run keeps its figures under their plain names.
    single = _materializations(clean, "recordings")[DAY3]
    assert single["dagster/row_count"] == 1 and not any(k.startswith("range") for k in single)
