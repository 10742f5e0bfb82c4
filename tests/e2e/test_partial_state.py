"""No silent partial state: an ingest that stopped half-way is not published to analysts as complete."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp
from tests.e2e import processes
from tests.e2e.processes import Deployment

STEP = textwrap.dedent(
    """
    import json, sys
    import dagster as dg
    from orchestration.definitions import defs

    mode, day = sys.argv[1], sys.argv[2]
    instance = dg.DagsterInstance.get()
    if mode == "build":
        result = defs.resolve_job_def("warehouse_build_job").execute_in_process(instance=instance, raise_on_error=False)
    else:
        # "half": the ingest stops after the ledger, as when symbl_messages fails and everything after it is skipped.
        selection = [dg.AssetKey("recordings"), dg.AssetKey("symbl_conversations")] if mode == "half" else None
        result = defs.resolve_job_def("conversation_ingest_job").execute_in_process(
            partition_key=day, instance=instance, asset_selection=selection, raise_on_error=False
        )
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    materialized = sorted({e.asset_key.to_user_string() for e in result.all_events if e.is_step_materialization})
    print(json.dumps({"success": result.success, "checks": checks, "materialized": materialized}))
    """
)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    config = SandboxConfig(
        data_dir=tmp_path / "sandbox", processing_factor=0.002, min_processing_seconds=0.05
    )
    with ServedApp(build_app(config)) as sandbox:
        yield Deployment(tmp_path, sandbox.base_url)


def step(dep: Deployment, mode: str, day: str = "") -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", STEP, mode, day],
        env=dep.env(),
        cwd=str(processes.REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def analyst_conversations(dep: Deployment) -> int:
    con = duckdb.connect(str(dep.analyst), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM marts.fct_conversations").fetchone()[0]
    finally:
        con.close()


@pytest.mark.timeout(600)
def test_an_ingest_that_stopped_half_way_is_not_published_as_complete(deployment: Deployment) -> None:
    dep = deployment
    processes.write_day(dep.drop, "2026-10-01", 3, prefix="full")
    processes.write_day(dep.drop, "2026-10-02", 3, prefix="half")
    assert step(dep, "ingest", "2026-10-01")["success"]
    built = step(dep, "build")
    assert built["checks"]["completed_recordings_are_complete"] is True
    assert "analyst_warehouse" in built["materialized"]
    assert analyst_conversations(dep) == 3

    half = step(dep, "half", "2026-10-02")
    assert half["success"] and "symbl_messages" not in half["materialized"]
    blocked = step(dep, "build")
    # dbt alone would pass (the marts are consistent with what is there); the completeness check is what stops it.
    assert blocked["checks"]["completed_recordings_are_complete"] is False
    assert "analyst_warehouse" not in blocked["materialized"]
    assert analyst_conversations(dep) == 3  # analysts keep the last complete state
    assert not [p.name for p in dep.analyst.parent.iterdir() if p.name.endswith((".tmp", ".tmp.wal"))]

    # Finishing the ingest (a plain re-run of the day: nothing is resubmitted) lets the next build publish.
    submits = processes.submit_requests(processes.stats(dep.sandbox_url)["calls"])
    assert step(dep, "ingest", "2026-10-02")["success"]
    assert processes.submit_requests(processes.stats(dep.sandbox_url)["calls"]) == submits
    healed = step(dep, "build")
    assert healed["checks"]["completed_recordings_are_complete"] is True
    assert analyst_conversations(dep) == 6
