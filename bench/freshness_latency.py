"""Time from a manifest dropped into the folder to its row in the analysts' copy, with automation on.

Runs what a deployment runs: the embedded sandbox, `dagster-daemon run` on the code location (workspace.yaml),
`new_recordings_sensor` and `publish_after_ingest_sensor` turned on. A first recording is ingested and published to
warm everything up; then a second manifest is dropped (atomically renamed into the folder) and the analysts' copy
is polled until `marts.fct_conversations` has its row. Prints the breakdown: sensor pick-up, ingest run, the
publish sensor's pick-up, the build run.

    .venv/bin/python bench/freshness_latency.py [--timeout 900]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from convo_intel.demo import prepare_environment  # noqa: E402
from sandbox.app import build_app  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402
from sandbox.demo_data import generate  # noqa: E402
from sandbox.server import ServedApp  # noqa: E402

SENSORS = ["new_recordings_sensor", "publish_after_ingest_sensor"]


def row_visible(analyst: Path, recording_id: str) -> bool:
    if not analyst.exists():
        return False
    try:
        with duckdb.connect(str(analyst), read_only=True) as con:
            (n,) = con.execute(
                "SELECT count(*) FROM marts.fct_conversations WHERE recording_id = ?", [recording_id]
            ).fetchone()  # type: ignore[misc]
            return n > 0
    except duckdb.Error:  # not built yet, or mid-rename
        return False


def wait_for(analyst: Path, recording_id: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if row_visible(analyst, recording_id):
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"{recording_id} did not reach the analysts' copy within {timeout:.0f} s")


def drop(staging: Path, folder: Path, name: str) -> None:
    tmp = folder / "manifests" / f".{name}.tmp"
    shutil.copy(staging / "manifests" / name, tmp)
    os.replace(tmp, folder / "manifests" / name)  # the sensor never sees half a file


def run_breakdown(home: Path, since: float) -> list[str]:
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        runs = sorted(
            (r for r in instance.get_run_records() if r.create_timestamp.timestamp() >= since),
            key=lambda r: r.create_timestamp,
        )
        lines = []
        for r in runs:
            created = r.create_timestamp.timestamp() - since
            started = f"+{r.start_time - since:6.1f} s" if r.start_time else "not yet"
            ended = f"+{r.end_time - since:6.1f} s" if r.end_time else "still running (later assets)"
            lines.append(
                f"  {r.dagster_run.job_name:<26} created +{created:6.1f} s, started {started}, ended {ended} "
                f"({r.dagster_run.status.value})"
            )
        return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="freshness-"))
    staging = work / "staging"
    print(generate(out_dir=staging, seed=11, recordings=2))
    names = sorted(p.name for p in (staging / "manifests").glob("*.json"))
    folder = work / "drop"
    (folder / "manifests").mkdir(parents=True)
    shutil.copytree(staging / "media", folder / "media")
    config = SandboxConfig.from_env(data_dir=work / "sandbox", media_dir=(folder / "media").resolve())
    config.ensure_data_dir()
    bin_dir = Path(sys.executable).parent
    workspace = ["-w", str(REPO / "workspace.yaml")]
    with ServedApp(build_app(config)) as sandbox:
        env = {**os.environ, **prepare_environment(work, sandbox.base_url), "PYTHONPATH": str(REPO)}
        env["DAGSTER_DISABLE_TELEMETRY"] = "1"
        for sensor in SENSORS:
            subprocess.run(
                [str(bin_dir / "dagster"), "sensor", "start", sensor, *workspace],
                env=env, cwd=REPO, check=True, capture_output=True, timeout=300,
            )  # fmt: skip
        daemon = subprocess.Popen(
            [str(bin_dir / "dagster-daemon"), "run", *workspace],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        analyst = Path(env["CONVO_INTEL_ANALYST_WAREHOUSE"])
        try:
            print(f"warm-up: {names[0]}")
            drop(staging, folder, names[0])
            warm = wait_for(analyst, names[0].removesuffix(".json"), args.timeout)
            print(f"  reached the analysts' copy after {warm:.1f} s")
            time.sleep(5)  # let the warm-up's build finish its bookkeeping
            since = time.time()
            print(f"measured: {names[1]}")
            drop(staging, folder, names[1])
            latency = wait_for(analyst, names[1].removesuffix(".json"), args.timeout)
            print(
                f"  manifest dropped -> row in marts.fct_conversations of the analysts' copy: {latency:.1f} s"
            )
            print("\n".join(run_breakdown(Path(env["DAGSTER_HOME"]), since)))
            print(f"load average: {os.getloadavg()}")
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
