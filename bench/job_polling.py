"""Job polling: polls per recording and how late completion is noticed, backoff-from-submit vs. expectation.

    .venv/bin/python bench/job_polling.py [--recordings 40] [--concurrency 10] [--factor 0.01] [--prior 0.05]

Serves the sandbox in this process (so its job table gives each job's true finish time), submits N text
recordings of mixed durations (30 s to 15 min of conversation, fixed seed) through ``SymblClient`` with at most
C jobs in flight, and waits on each job twice over, in two passes on fresh sandboxes:
- ``backoff``: the previous behaviour, a poll at once and then jittered exponential backoff (1 s, x1.5, 30 s);
- ``expected``: the first poll aimed at the expected finish from the media's duration and the rate learnt in
  the run (``orchestration.defs.symbl.job_pace``), starting from ``--prior``.
Polls are counted by the sandbox (``GET /symbl/v1/job/{jobId}``); lateness is the moment the client saw the job
completed minus the moment the sandbox completed it. Jobs take ``factor`` x the media's duration.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.routing import Mount

from orchestration.defs.symbl.client import SubmitOptions, SymblClient
from orchestration.defs.symbl.job_pace import PollPlan
from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp

JOB_POLL = "GET /symbl/v1/job/{jobId}"


@dataclass(frozen=True)
class Figures:
    mode: str
    recordings: int
    polls: int
    lateness: list[float]
    makespan: float

    def row(self) -> str:
        late = sorted(self.lateness)
        p90 = late[min(len(late) - 1, int(0.9 * len(late)))]
        return (
            f"{self.mode:<9} {self.recordings:>5} {self.polls / self.recordings:>10.2f} "
            f"{statistics.mean(late):>12.2f} {p90:>10.2f} {self.makespan:>10.1f}"
        )


def messages(seconds: float, n: int) -> list[dict[str, Any]]:
    start = datetime(2026, 4, 7, 15, tzinfo=UTC)
    step = seconds / 4
    return [
        {
            "payload": {
                "content": f"Line {i} of call {n}: the budget and next steps.",
                "contentType": "text/plain",
            },
            "from": {"name": "Maya" if i % 2 == 0 else "Hank"},
            "duration": {
                "startTime": (start + timedelta(seconds=i * step)).isoformat().replace("+00:00", "Z"),
                "endTime": (start + timedelta(seconds=(i + 1) * step)).isoformat().replace("+00:00", "Z"),
            },
        }
        for i in range(4)
    ]


def finished_at(app: Any, job_id: str) -> float:
    """The sandbox's own completion time of a job (same process, same wall clock)."""
    symbl = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "/symbl")
    job = symbl.state.symbl.repository.get_job(job_id)
    assert job is not None and job.finished_at is not None
    return float(job.finished_at)


def run_mode(mode: str, durations: list[float], args: argparse.Namespace) -> Figures:
    config = SandboxConfig(
        data_dir=Path(tempfile.mkdtemp(prefix=f"job-polling-{mode}-")),
        concurrent_job_limit=args.concurrency,
        processing_factor=args.factor,
        queue_delay_seconds=0.05,
        min_processing_seconds=0.1,
    )
    app = build_app(config)
    with ServedApp(app) as served:
        base = served.base_url
        noticed: dict[str, float] = {}

        async def one(client: SymblClient, n: int, seconds: float) -> None:
            async with client.job_slot():
                submitted = await client.submit_text(messages(seconds, n), SubmitOptions(name=f"call {n}"))
                at = time.time()
                job = await client.wait_for_job(
                    submitted.job_id,
                    deadline_seconds=600,
                    media_seconds=seconds if mode == "expected" else None,
                    submitted_at=at,
                )
                assert job.status == "completed", job
                noticed[submitted.job_id] = time.time()

        async def run() -> float:
            client = SymblClient(
                f"{base}/symbl",
                config.symbl_app_id,
                config.symbl_app_secret,
                concurrent_jobs=args.concurrency,
                pace=PollPlan(prior_rate=args.prior),
            )
            began = time.monotonic()
            async with client:
                await asyncio.gather(*(one(client, n, s) for n, s in enumerate(durations)))
            return time.monotonic() - began

        makespan = asyncio.run(run())
        polls = httpx.get(f"{base}/_sandbox/stats").json()["calls"].get(JOB_POLL, 0)
        lateness = [at - finished_at(app, job_id) for job_id, at in noticed.items()]
    return Figures(mode, len(durations), polls, lateness, makespan)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recordings", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--factor", type=float, default=0.01, help="sandbox processing s per media s")
    parser.add_argument("--prior", type=float, default=PollPlan().prior_rate, help="starting rate estimate")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    draw = random.Random(args.seed)
    durations = [round(draw.uniform(30, 900), 1) for _ in range(args.recordings)]
    print(
        f"N={args.recordings} recordings of {min(durations):.0f}-{max(durations):.0f} s "
        f"(mean {statistics.mean(durations):.0f} s), C={args.concurrency}, jobs take {args.factor:g} x duration, "
        f"prior {args.prior:g}; load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'mode':<9} {'N':>5} {'polls/rec':>10} {'mean late s':>12} {'p90 late s':>10} {'makespan s':>10}")
    for mode in ("backoff", "expected"):
        print(run_mode(mode, durations, args).row(), flush=True)


if __name__ == "__main__":
    main()
