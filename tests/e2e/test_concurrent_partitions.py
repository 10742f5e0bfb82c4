"""Two partitions materialized at the same time, in two processes, against a sandbox that allows 2 concurrent jobs.

What must hold: no 429 reaches the pipeline as a failure (every recording completes), and neither run trips over
DuckDB's single-writer lock. The runs share one Dagster instance whose `duckdb_writer` pool has limit 1, exactly
as `make dev` / a deployment configures it.
"""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import httpx
import pytest

from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp
from tests.e2e import corpus
from tests.e2e.processes import RUN_ONE_PARTITION, prepare_instance


@pytest.mark.timeout(420)
def test_two_partitions_in_parallel_stay_under_the_job_limit_and_share_the_warehouse(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    days = ["2026-08-04", "2026-08-05"]
    for day in days:
        for i in range(4):
            call = corpus.Call(
                f"rec-{day}-{i}", f"{day}T1{i}:00:00Z", "Tomas Novak", "tomas.novak@lumen.example",
                "Ann Perkins", "ann@pawnee.example", "Pawnee", "audio_file", corpus.DISCOVERY, f"Call {day} {i}",
            )  # fmt: skip
            corpus.write_call(drop, call)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n"
    )
    prepare_instance(home)
    warehouse = tmp_path / "warehouse" / "live.duckdb"
    config = SandboxConfig(data_dir=tmp_path / "sandbox", concurrent_job_limit=2, processing_factor=0.02)
    with ServedApp(build_app(config)) as sandbox:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "SYMBL_BASE_URL": f"{sandbox.base_url}/symbl",
            "SEMARIZE_BASE_URL": f"{sandbox.base_url}/semarize",
            "SYMBL_CONCURRENT_JOBS": "2",
            "CONVO_INTEL_DROP_FOLDER": str(drop),
            "CONVO_INTEL_WAREHOUSE": str(warehouse),
            "CONVO_INTEL_ANALYST_WAREHOUSE": str(tmp_path / "warehouse" / "analyst.duckdb"),
        }
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RUN_ONE_PARTITION, day],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for day in days
        ]
        outputs = [p.communicate(timeout=400) for p in procs]
        stats = httpx.get(f"{sandbox.base_url}/_sandbox/stats").json()

    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-4000:]
        assert "Could not set lock" not in err, err[-4000:]  # DuckDB's lock-conflict message
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        statuses = con.execute("SELECT status, count(*) FROM raw.symbl_conversations GROUP BY ALL").fetchall()
        messages = con.execute("SELECT count(DISTINCT conversation_id) FROM raw.symbl_messages").fetchone()[0]
    finally:
        con.close()
    assert statuses == [("completed", 8)]
    assert messages == 8
    # Submissions that the sandbox refused for the job limit: the pool serialises the submitting steps, so each
    # run's own limiter (2) is the account's limit and nothing is refused.
    refused = {k: v for k, v in stats["responses"].items() if "/v1/process/" in k and k.endswith("-> 429")}
    assert refused == {}, refused
