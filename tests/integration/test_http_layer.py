"""The shared HTTP layer against the sandbox over loopback: one Symbl token per account per run, and job polls
aimed at the expected finish (counted by the sandbox, not by the client)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from orchestration.defs.symbl.client import SubmitOptions, SymblClient
from orchestration.defs.symbl.resource import SymblResource
from tests.conftest import RunningSandbox

TOKEN_CALL = "POST /symbl/oauth2/token:generate"
JOB_POLL = "GET /symbl/v1/job/{jobId}"
# Jobs take 1% of their media's duration (plus the queue delay): 0.3 s to 3 s for these recordings.
PACED = {"processing_factor": 0.01, "queue_delay_seconds": 0.05, "min_processing_seconds": 0.1}
DURATIONS = [30.0, 240.0, 60.0, 180.0, 120.0, 300.0, 45.0, 90.0]


def calls(base: str) -> dict[str, int]:
    return httpx.get(f"{base}/_sandbox/stats").json()["calls"]


def test_every_client_of_a_run_shares_one_token(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    """Several clients (the submitter, the poller, each signal asset's) in several event loops: one token."""
    world = sandbox_factory()
    symbl = SymblResource(base_url=world.symbl_url)

    async def one_asset() -> None:
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(symbl.client()) for _ in range(4)]
            clients.append(await stack.enter_async_context(symbl.client(retry_transient=False)))
            await asyncio.gather(*(c.list_conversations(limit=1) for c in clients))

    for _ in range(3):  # each Dagster step runs its own event loop in the code location's process
        asyncio.run(one_asset())
    counted = calls(world.url)
    assert counted[TOKEN_CALL] == 1
    assert counted["GET /symbl/v1/conversations"] == 15  # every call was made, with the one token


def messages(seconds: float, n: int) -> list[dict[str, Any]]:
    """Two speakers' lines spread over ``seconds``: the sandbox takes the span as the media's duration."""
    start = datetime(2026, 4, 7, 15, tzinfo=UTC)
    step = seconds / 4
    return [
        {
            "payload": {"content": f"Line {i} of call {n} about the budget.", "contentType": "text/plain"},
            "from": {"name": "Maya" if i % 2 == 0 else "Hank"},
            "duration": {
                "startTime": (start + timedelta(seconds=i * step)).isoformat().replace("+00:00", "Z"),
                "endTime": (start + timedelta(seconds=(i + 1) * step)).isoformat().replace("+00:00", "Z"),
            },
        }
        for i in range(4)
    ]


async def submit_and_wait(client: SymblClient, durations: list[float], *, tell_duration: bool) -> list[str]:
    async def one(n: int, seconds: float) -> str:
        async with client.job_slot():
            submitted = await client.submit_text(messages(seconds, n), SubmitOptions(name=f"call {n}"))
            at = time.time()  # the client's default clock, as the journal records submits
            job = await client.wait_for_job(
                submitted.job_id,
                deadline_seconds=60,
                media_seconds=seconds if tell_duration else None,
                submitted_at=at,
            )
            return job.status

    return list(await asyncio.gather(*(one(n, s) for n, s in enumerate(durations))))


def test_jobs_of_known_duration_take_at_most_two_polls(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    world = sandbox_factory(concurrent_job_limit=4, **PACED)
    symbl = SymblResource(base_url=world.symbl_url, concurrent_jobs=4)

    def polls(tell_duration: bool) -> int:
        httpx.post(f"{world.url}/_sandbox/stats/reset").raise_for_status()

        async def run() -> list[str]:
            async with symbl.client() as client:
                return await submit_and_wait(client, DURATIONS, tell_duration=tell_duration)

        assert asyncio.run(run()) == ["completed"] * len(DURATIONS)
        return calls(world.url)[JOB_POLL]

    with_duration = polls(tell_duration=True)
    assert with_duration <= 2 * len(DURATIONS)
    # The same jobs without their duration poll from the submit on with backoff: clearly more polls.
    assert polls(tell_duration=False) > with_duration
