"""Sandbox throughput: requests/second for job polling and message reads, against a child-process sandbox.

    .venv/bin/python bench/sandbox_throughput.py [--requests 2000] [--concurrency 16]

Starts ``convo-intel sandbox`` as a child process on a fresh data dir, creates one completed conversation,
then drives ``GET /symbl/v1/job/{id}`` and ``GET /symbl/v1/conversations/{id}/messages`` with a bounded
number of concurrent clients (one httpx.AsyncClient each) for a fixed request count; prints a small table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.config import SandboxConfig
from sandbox.server import sandbox_process


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    concurrency: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _conversation(base: str, headers: dict[str, str], lines: int) -> tuple[str, str]:
    messages = [
        {
            "payload": {"content": f"Line {i}: can you send the proposal with pricing for the next quarter?"},
            "from": {"name": "Maya Chen" if i % 2 else "Hank Scorpio", "userId": f"user{i % 2}@example.com"},
        }
        for i in range(lines)
    ]
    ids = httpx.post(
        f"{base}/v1/process/text", json={"messages": messages}, headers=headers, timeout=30
    ).json()
    deadline = time.monotonic() + 60
    while httpx.get(f"{base}/v1/job/{ids['jobId']}", headers=headers).json()["status"] != "completed":
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark conversation did not complete")
        time.sleep(0.05)
    return ids["conversationId"], ids["jobId"]


async def _drive(name: str, url: str, headers: dict[str, str], requests: int, concurrency: int) -> Result:
    latencies: list[float] = []
    errors = 0
    remaining = iter(range(requests))

    async def worker() -> None:
        nonlocal errors
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            for _ in remaining:  # the shared iterator hands out exactly `requests` calls in total
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, requests, concurrency, time.perf_counter() - started, latencies, errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--lines", type=int, default=60, help="messages in the benchmark conversation")
    args = parser.parse_args(argv)

    config = SandboxConfig()
    with tempfile.TemporaryDirectory() as data_dir, sandbox_process(Path(data_dir)) as root:
        base = f"{root}/symbl"
        token = httpx.post(
            f"{base}/oauth2/token:generate",
            json={"type": "application", "appId": config.symbl_app_id, "appSecret": config.symbl_app_secret},
        ).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        conversation_id, job_id = _conversation(base, headers, args.lines)
        targets = {
            "GET /v1/job/{jobId}": f"{base}/v1/job/{job_id}",
            "GET /v1/conversations/{id}/messages": f"{base}/v1/conversations/{conversation_id}/messages",
        }
        results = [
            asyncio.run(_drive(name, url, headers, args.requests, args.concurrency))
            for name, url in targets.items()
        ]

    print(
        f"{'endpoint':<38} {'requests':>8} {'clients':>7} {'req/s':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'errors':>6}"
    )
    for r in results:
        print(
            f"{r.name:<38} {r.requests:>8} {r.concurrency:>7} {r.per_second:>8.0f} "
            f"{statistics.median(r.latencies_ms):>7.1f} {r.percentile(0.95):>7.1f} {r.errors:>6}"
        )
    return 0 if all(r.errors == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
