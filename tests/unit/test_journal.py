"""The submission journal's rules: completed is final, only the owning attempt writes, claims make runs cooperate."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from orchestration.defs.symbl.journal import Journal, StaleAttempt, journal_path_for, new_owner

DAY = date(2026, 9, 1)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(journal_path_for(str(tmp_path / "live.duckdb")))


def test_journal_lives_beside_the_warehouse(tmp_path: Path) -> None:
    assert journal_path_for(str(tmp_path / "w" / "live.duckdb")) == str(
        tmp_path / "w" / "live.journal.sqlite3"
    )


def test_intent_then_answer_then_completed_and_completed_is_final(journal: Journal) -> None:
    a, b = new_owner(), new_owner()
    assert journal.claim("r1", DAY, a)
    attempt = journal.intent("r1", a)
    assert journal.get("r1").state == "intent"
    journal.answered("r1", attempt, "c1", "j1")
    journal.status("r1", attempt, "completed")
    journal.release("r1", a)
    # A slower run that still thinks the job failed cannot turn it back.
    with pytest.raises(StaleAttempt):
        journal.status("r1", attempt, "failed", "late failure")
    assert journal.claim("r1", DAY, b)
    with pytest.raises(StaleAttempt):
        journal.intent("r1", b)
    entry = journal.get("r1")
    assert (entry.state, entry.conversation_id, entry.job_id, entry.attempts) == ("completed", "c1", "j1", 1)


def test_a_stale_attempt_cannot_overwrite_a_newer_one(journal: Journal) -> None:
    owner = new_owner()
    journal.claim("r1", DAY, owner)
    first = journal.intent("r1", owner)
    journal.answered("r1", first, "c1", "j1")
    journal.status("r1", first, "failed", "boom")
    second = journal.intent("r1", owner)
    with pytest.raises(StaleAttempt):
        journal.answered("r1", first, "c-old", "j-old")
    journal.answered("r1", second, "c2", "j2")
    assert journal.get("r1").job_id == "j2"


def test_updated_at_strictly_increases(journal: Journal) -> None:
    owner = new_owner()
    journal.claim("r1", DAY, owner)
    seen = []
    attempt = journal.intent("r1", owner)
    seen.append(journal.get("r1").updated_at)
    journal.answered("r1", attempt, "c1", "j1")
    seen.append(journal.get("r1").updated_at)
    journal.status("r1", attempt, "in_progress")
    seen.append(journal.get("r1").updated_at)
    assert seen == sorted(seen) and len(set(seen)) == 3


def test_a_live_claim_blocks_another_owner_and_a_dead_holders_claim_is_taken_over(
    journal: Journal, tmp_path: Path
) -> None:
    mine = new_owner()
    assert journal.claim("r1", DAY, mine)
    assert not journal.claim("r1", DAY, new_owner())  # same pid, other owner: a live holder
    journal.release("r1", mine)
    # A holder process that claims and then dies (like kill -9): its claim is taken at once, not after the lease.
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from datetime import date
        from orchestration.defs.symbl.journal import Journal, new_owner
        j = Journal({journal.path!r})
        assert j.claim("r2", date(2026, 9, 1), new_owner())
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert journal.get("r2").claim_owner is not None
    assert journal.claim("r2", DAY, mine)


def test_two_processes_never_both_hold_a_claim(journal: Journal) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from datetime import date
        from orchestration.defs.symbl.journal import Journal, new_owner
        j = Journal({journal.path!r})
        owner = new_owner()
        won = [f"r{{i}}" for i in range(200) if j.claim(f"r{{i}}", date(2026, 9, 1), owner)]
        print(",".join(won))
        time.sleep(1.0)  # stay alive so the other process sees live claims
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    won = [set(p.communicate(timeout=60)[0].strip().split(",")) - {""} for p in procs]
    assert not (won[0] & won[1])
    assert len(won[0] | won[1]) == 200


def test_the_learnt_processing_rate_outlives_the_connection(tmp_path: Path) -> None:
    path = journal_path_for(str(tmp_path / "live.duckdb"))
    with Journal(path) as first:
        assert first.learnt_rate() is None  # a new warehouse: the resource's prior applies
        first.save_rate(0.21, 40)
        first.save_rate(0.18, 12)  # the latest run's figure replaces the earlier one
    with Journal(path) as second:
        assert second.learnt_rate() == pytest.approx(0.18)
