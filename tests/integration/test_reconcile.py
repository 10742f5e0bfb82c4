"""Reconciling ambiguous submits against the sandbox's conversation list, and awaiting adopted conversations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from orchestration.defs.symbl import reconcile
from orchestration.defs.symbl.client import SubmitOptions, SymblAPIError, SymblClient
from orchestration.http import Retries, Waits

START = datetime(2026, 4, 7, 15, 0, tzinfo=UTC)
MESSAGES = [
    {
        "payload": {"content": text, "contentType": "text/plain"},
        "from": {"name": "Maya Chen", "userId": "maya.chen@lumen.example"},
        "duration": {
            "startTime": f"2026-04-07T15:00:{i * 5:02d}Z",
            "endTime": f"2026-04-07T15:00:{i * 5 + 4:02d}Z",
        },
    }
    for i, text in enumerate(
        ["What budget do you have?", "About fifty thousand.", "I will send the proposal."]
    )
]


def client(base: str, retries: int = 5) -> SymblClient:
    return SymblClient(
        f"{base}/symbl",
        "sandbox-app-id",
        "sandbox-app-secret",
        retry=Retries(max_retries=retries, waits=Waits(initial_seconds=0.01, max_seconds=0.05)),
    )


def options(rid: str, attempt: int, name: str = "call") -> SubmitOptions:
    return SubmitOptions(
        name=name, enable_summary=True, metadata={"recording_id": rid, "submit_attempt": attempt}
    )


@pytest.mark.sandbox_config(fault_submit_created_5xx_rate=1.0)
def test_a_submit_answered_5xx_after_creation_is_found_by_its_metadata_and_completes(sandbox: str) -> None:
    async def run() -> tuple[str | None, str | None, str]:
        async with client(sandbox, retries=0) as symbl:
            with pytest.raises(SymblAPIError) as info:
                await symbl.submit_text(MESSAGES, options("rec-1", 1))
            assert info.value.status == 503
            other_attempt = await reconcile.find_submission(symbl, "rec-1", 2, START)
            found = await reconcile.find_submission(symbl, "rec-1", 1, START)
            assert found is not None
            status = await reconcile.wait_for_adopted(symbl, found, deadline_seconds=30, poll_seconds=0.05)
            return other_attempt, found, status.status

    other_attempt, found, status = asyncio.run(run())
    assert other_attempt is None  # an earlier attempt's conversation is never taken for this one
    assert found and status == "completed"
    assert httpx.get(f"{sandbox}/_sandbox/stats").json()["faults"] == {"submit_created_then_5xx": 1}


@pytest.mark.sandbox_config(fail_jobs_matching="FAILME")
def test_an_adopted_conversation_whose_job_failed_is_failed(sandbox: str) -> None:
    async def run() -> str:
        async with client(sandbox) as symbl:
            submitted = await symbl.submit_text(MESSAGES, options("rec-2", 1, name="FAILME call"))
            status = await reconcile.wait_for_adopted(
                symbl, submitted.conversation_id, deadline_seconds=30, poll_seconds=0.05
            )
            return status.status

    assert asyncio.run(run()) == "failed"


def test_paging_finds_a_conversation_beyond_the_first_page(
    sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconcile, "PAGE_SIZE", 2)

    async def run() -> tuple[str, str | None, str | None]:
        async with client(sandbox) as symbl:
            first = await symbl.submit_text(MESSAGES, options("rec-first", 1))
            for i in range(4):
                await symbl.submit_text(MESSAGES, options(f"rec-later-{i}", 1))
            return (
                first.conversation_id,
                await reconcile.find_submission(symbl, "rec-first", 1, START),
                await reconcile.find_submission(symbl, "rec-never", 1, START),
            )

    expected, found, missing = asyncio.run(run())
    assert found == expected and missing is None
