"""The code location on a Dagster instance backed by a real PostgreSQL server (dagster-postgres), the way a
multi-machine deployment runs it (docs/scale-out.md): the daemon ticks `new_recordings_sensor`, which launches
an ingest run through the default run launcher; runs, events and the sensor's cursor all live in Postgres.

PostgreSQL comes from the machine's package manager (`.ci/run` installs it) and is started by this test on a
free loopback port; nothing else is reached.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp
from tests.e2e import corpus

REPO = Path(__file__).resolve().parents[2]


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and the server refuse to run as root: drop to the `postgres` user the package created.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        if os.environ.get("CI"):
            pytest.fail(
                "PostgreSQL is not installed: .ci/run should have installed it (apt-get install postgresql)"
            )
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    # Not under pytest's tmp folder: that is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="convo-intel-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-U", "dagster", "--auth=trust"]), check=True,
                   capture_output=True)  # fmt: skip
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"]),
                   check=True, capture_output=True)  # fmt: skip
    try:
        subprocess.run(
            [
                _pg_bin("createdb") or "createdb",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "dagster",
                "dagster",
            ],
            check=True,
            capture_output=True,
        )
        yield port
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_the_sensor_launches_an_ingest_run_on_a_postgres_backed_instance(
    postgres: int, tmp_path: Path
) -> None:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
    from dagster_postgres import PostgresRunStorage

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_db:\n      username: dagster\n      password: unused-trust-auth\n"
        f"      hostname: 127.0.0.1\n      db_name: dagster\n      port: {postgres}\n"
        # SQLAlchemy 2.1 maps postgresql:// to psycopg 3; dagster-postgres ships psycopg2.
        "      scheme: postgresql+psycopg2\n"
        "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n"
    )
    drop = tmp_path / "drop"
    # Two days in the folder when the sensor first ticks: one ranged run (a single-run backfill) covers both.
    calls = [c for c in corpus.calls() if c.recording_id == "rec-a"]
    calls += [replace(c, start="2026-04-09T16:30:00Z") for c in corpus.calls() if c.recording_id == "rec-b"]
    for call in calls:
        corpus.write_call(drop, call)
    config = SandboxConfig(
        data_dir=tmp_path / "sandbox", processing_factor=0.002, min_processing_seconds=0.05
    )
    warehouse = tmp_path / "warehouse" / "live.duckdb"
    with ServedApp(build_app(config)) as sandbox:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "PYTHONPATH": str(REPO),
            "DO_NOT_TRACK": "1",
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "SYMBL_BASE_URL": f"{sandbox.base_url}/symbl",
            "SEMARIZE_BASE_URL": f"{sandbox.base_url}/semarize",
            "NEBULA_BASE_URL": f"{sandbox.base_url}/nebula",
            "CONVO_INTEL_SANDBOX_URL": sandbox.base_url,
            "CONVO_INTEL_DROP_FOLDER": str(drop),
            "CONVO_INTEL_WAREHOUSE": str(warehouse),
            "CONVO_INTEL_INBOX_DIR": str(tmp_path / "inbox"),
        }
        bin_dir = Path(sys.executable).parent
        workspace = ["-w", str(REPO / "workspace.yaml")]
        started = subprocess.run(
            [str(bin_dir / "dagster"), "sensor", "start", "new_recordings_sensor", *workspace],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr[-2000:]
        daemon = subprocess.Popen(
            [str(bin_dir / "dagster-daemon"), "run", *workspace],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            instance = DagsterInstance.from_config(str(home))
            assert isinstance(instance.run_storage, PostgresRunStorage)
            deadline = time.monotonic() + 300
            runs = []
            while time.monotonic() < deadline:
                runs = instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "new_recordings_sensor"}))
                if runs and all(r.is_finished for r in runs):
                    break
                time.sleep(2)
            assert runs, "the sensor launched no run within 300 s"
            assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS] * len(runs), [
                r.status for r in runs
            ]
            (run,) = runs
            assert "dagster/partition" not in run.tags
            assert (
                run.tags["dagster/asset_partition_range_start"],
                run.tags["dagster/asset_partition_range_end"],
            ) == (
                "2026-04-07",
                "2026-04-09",
            )
            # The sensor's state and cursor (the digest of known recordings) are stored in Postgres too.
            (state,) = [s for s in instance.all_instigator_state() if s.name == "new_recordings_sensor"]
            assert state.status.value == "RUNNING" and state.instigator_data.cursor
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ledger = con.execute("SELECT recording_id, status FROM raw.symbl_conversations ORDER BY 1").fetchall()
    assert ledger == [("rec-a", "completed"), ("rec-b", "completed")]
