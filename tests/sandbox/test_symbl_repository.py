"""The Symbl sandbox's repository decodes a conversation once for the GETs that follow its job, and never serves
a decoded copy older than the last write (insights saved, job completed, conversation deleted)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.symbl.repository import DECODED_CONVERSATIONS, Conversation, SymblRepository


def insights(text: str) -> dict[str, Any]:
    return {"messages": [{"text": text, "endTime": "2026-12-01T10:00:05.000Z"}], "members": []}


@pytest.fixture
def repository(tmp_path: Path) -> SymblRepository:
    repo = SymblRepository(tmp_path)
    for i in range(DECODED_CONVERSATIONS + 1):
        repo.create_conversation(
            Conversation(f"c{i}", f"Call {i}", "2026-12-01T10:00:00.000Z", time.time(), {}, None)
        )
        repo.save_insights(f"c{i}", insights(f"first {i}"))
    return repo


def test_repeated_reads_of_a_conversation_decode_it_once(repository: SymblRepository) -> None:
    first = repository.get_conversation("c0")
    before = (repository.decoded.hits, repository.decoded.misses)
    for _ in range(9):  # a client's signal GETs
        assert repository.get_conversation("c0") is first
    assert (repository.decoded.hits, repository.decoded.misses) == (before[0] + 9, before[1])


def test_a_write_is_seen_by_the_next_read(repository: SymblRepository) -> None:
    assert repository.get_conversation("c1").insights == insights("first 1")  # type: ignore[union-attr]
    repository.save_insights("c1", insights("second"))
    assert repository.get_conversation("c1").insights == insights("second")  # type: ignore[union-attr]
    assert repository.delete_conversation("c1", "gone")
    assert repository.get_conversation("c1") is None


def test_a_read_that_raced_a_write_is_not_cached(repository: SymblRepository) -> None:
    # A reader loads the old row, a writer commits and drops the entry, then the reader tries to cache what it
    # read: the old copy must not come back.
    _, generation = repository.decoded.get("c2")
    stale = repository.get_conversation("c2")
    assert stale is not None
    repository.decoded.invalidate("c2")
    repository.save_insights("c2", insights("newer"))
    repository.decoded.put(stale, generation)
    assert repository.get_conversation("c2").insights == insights("newer")  # type: ignore[union-attr]


def test_the_cache_is_bounded(repository: SymblRepository) -> None:
    for i in range(DECODED_CONVERSATIONS + 1):
        repository.get_conversation(f"c{i}")
    misses = repository.decoded.misses
    repository.get_conversation("c0")  # the least recently read: evicted
    assert repository.decoded.misses == misses + 1
    repository.get_conversation(f"c{DECODED_CONVERSATIONS}")
    assert repository.decoded.misses == misses + 1
