"""Running ingest partitions in child processes (so they can be killed, or run two at a time), and counting what
the sandbox saw. Shared by the exactly-once tests and ``bench/crash_resume.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.e2e import corpus

REPO_ROOT = Path(__file__).resolve().parents[2]

RUN_ONE_PARTITION = textwrap.dedent(
    """
    import sys
    import dagster as dg
    from orchestration.definitions import defs

    result = defs.resolve_job_def("conversation_ingest_job").execute_in_process(
        partition_key=sys.argv[1], instance=dg.DagsterInstance.get(), raise_on_error=False
    )
    for event in result.all_events:
        if event.is_failure:
            print("FAILURE:", event.message, file=sys.stderr)
    sys.exit(0 if result.success else 1)
    """
)


def prepare_instance(home: Path) -> None:
    """Create the instance's SQLite storage once, here: two runs starting at the same moment on a fresh
    DAGSTER_HOME would otherwise race to create the same tables ("table snapshots already exists")."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)):
        pass


def write_day(drop: Path, day: str, n: int, prefix: str = "rec") -> list[str]:
    """``n`` recordings on ``day``, alternating audio files and transcripts (both submit paths)."""
    ids = []
    for i in range(n):
        kind = "transcript_file" if i % 3 == 2 else "audio_file"
        turns = corpus.DISCOVERY if i % 2 == 0 else corpus.SHALLOW
        call = corpus.Call(
            f"{prefix}-{day}-{i:03d}", f"{day}T{8 + i // 6:02d}:{(i % 6) * 10:02d}:00Z", "Tomas Novak",
            "tomas.novak@lumen.example", "Ann Perkins", "ann@pawnee.example", "Pawnee", kind, turns,
            f"Call {day} {i}",
        )  # fmt: skip
        corpus.write_call(drop, call)
        ids.append(call.recording_id)
    return ids


@dataclass
class Deployment:
    """One drop folder, warehouse and Dagster home, pointed at a running sandbox."""

    root: Path
    sandbox_url: str
    pool_limit: int | None = None  # None: Dagster's default (no pool limit)
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.drop = self.root / "drop"
        self.home = self.root / "dagster_home"
        self.home.mkdir(parents=True, exist_ok=True)
        yaml = "telemetry:\n  enabled: false\n"
        if self.pool_limit is not None:
            yaml += f"concurrency:\n  pools:\n    default_limit: {self.pool_limit}\n"
        (self.home / "dagster.yaml").write_text(yaml)
        prepare_instance(self.home)
        self.warehouse = self.root / "warehouse" / "live.duckdb"
        self.analyst = self.root / "warehouse" / "analyst.duckdb"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "DAGSTER_HOME": str(self.home),
            "SYMBL_BASE_URL": f"{self.sandbox_url}/symbl",
            "SEMARIZE_BASE_URL": f"{self.sandbox_url}/semarize",
            "NEBULA_BASE_URL": f"{self.sandbox_url}/nebula",
            "CONVO_INTEL_DROP_FOLDER": str(self.drop),
            "CONVO_INTEL_WAREHOUSE": str(self.warehouse),
            "CONVO_INTEL_ANALYST_WAREHOUSE": str(self.analyst),
            "CONVO_INTEL_INBOX_DIR": str(self.root / "inbox"),
            **self.extra_env,
            **extra,
        }
        env.pop("CONVO_INTEL_TEST_CRASH_AT", None)
        env.update({k: v for k, v in extra.items()})
        return env

    def start(self, day: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", RUN_ONE_PARTITION, day],
            env=self.env(**extra),
            cwd=str(REPO_ROOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, day: str, timeout: float = 300, **extra: str) -> tuple[int, str]:
        proc = self.start(day, **extra)
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, err


def stats(sandbox_url: str) -> dict[str, Any]:
    return httpx.get(f"{sandbox_url}/_sandbox/stats").json()


def submit_requests(calls: dict[str, int]) -> int:
    return sum(n for route, n in calls.items() if "/v1/process/" in route)


def jobs_total(sandbox_url: str) -> int:
    return sum(stats(sandbox_url)["symbl_jobs"].values())


def faults(sandbox_url: str, **settings: Any) -> None:
    httpx.put(f"{sandbox_url}/_sandbox/faults", json=settings).raise_for_status()
