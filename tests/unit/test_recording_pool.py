"""`symbl_conversations` works through a day with a bounded pool: every recording once, a bounded number in hand."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from orchestration.defs.symbl.conversations import RECORDING_CHUNK, process_in_pool


def test_every_recording_is_processed_once_with_at_most_the_pool_in_hand() -> None:
    ids = [f"rec-{i:05d}" for i in range(2 * RECORDING_CHUNK + 7)]
    loads: list[int] = []
    in_hand = peak = 0
    seen: list[str] = []

    def load(chunk: Sequence[str]) -> list[dict[str, Any]]:
        loads.append(len(chunk))
        return [{"recording_id": rid} for rid in chunk]

    async def process(recording: dict[str, Any]) -> str:
        nonlocal in_hand, peak
        in_hand += 1
        peak = max(peak, in_hand)
        await asyncio.sleep(0)  # let the other workers run
        seen.append(recording["recording_id"])
        in_hand -= 1
        return "submitted" if int(recording["recording_id"][-1]) % 2 else "already_completed"

    outcomes = asyncio.run(process_in_pool(ids, load, process, workers=6))
    assert sorted(seen) == ids  # each exactly once
    assert outcomes == {"submitted": len(ids) // 2, "already_completed": len(ids) - len(ids) // 2}
    assert peak == 6
    assert loads == [RECORDING_CHUNK, RECORDING_CHUNK, 7]  # read a chunk at a time, never the whole day


def test_the_first_error_stops_the_pool_and_is_raised() -> None:
    ids = [f"rec-{i}" for i in range(100)]
    started: list[str] = []

    async def process(recording: dict[str, Any]) -> str:
        started.append(recording["recording_id"])
        if recording["recording_id"] == "rec-3":
            raise RuntimeError("Symbl refused the account")
        await asyncio.sleep(0.01)
        return "submitted"

    with pytest.raises(RuntimeError, match="refused the account"):
        asyncio.run(
            process_in_pool(ids, lambda chunk: [{"recording_id": r} for r in chunk], process, workers=4)
        )
    assert len(started) < 20  # the pool did not go on through the day
