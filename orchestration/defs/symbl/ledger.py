"""The conversation-id ledger in the warehouse (``raw.symbl_conversations``): a projection of the journal.

The journal (``orchestration/defs/symbl/journal.py``) is the source of truth for what was submitted; this table is what
SQL, dbt and the asset checks read. It is written in batches (one transaction for a whole day), and a row is only
ever replaced by a newer version of itself (by the journal's strictly increasing ``updated_at``), so two runs that
project the same recordings in either order leave the newest state, and a completed recording is never turned back
into failed by a slower run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from orchestration.defs.symbl.journal import ACTIVE_STATES, AMBIGUOUS_STATES, JournalEntry
from orchestration.defs.warehouse.resource import WarehouseResource

ACTIVE_STATUSES = ACTIVE_STATES
TERMINAL_STATUSES = ("completed", "failed")


@dataclass(frozen=True)
class LedgerEntry:
    recording_id: str
    partition_date: date
    conversation_id: str | None
    job_id: str | None
    status: str
    attempts: int
    failure_reason: str | None
    submitted_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def from_journal(entry: JournalEntry) -> LedgerEntry | None:
    """The ledger row for a journal entry; None for a recording claimed but never submitted (no row, as before).

    An intent or uncertain submit is shown as ``submitted``: it may exist at Symbl, and the next run reconciles it.
    """
    if entry.state == "pending":
        return None
    status = "submitted" if entry.state in AMBIGUOUS_STATES else entry.state
    return LedgerEntry(
        recording_id=entry.recording_id,
        partition_date=entry.partition_date,
        conversation_id=entry.conversation_id,
        job_id=entry.job_id,
        status=status,
        attempts=entry.attempts,
        failure_reason=entry.failure_reason if status == "failed" else None,
        submitted_at=_ts(entry.submitted_at),
        completed_at=_ts(entry.completed_at),
        updated_at=_ts(entry.updated_at) or datetime.now(UTC),
    )


def load(warehouse: WarehouseResource, recording_ids: list[str]) -> dict[str, LedgerEntry]:
    if not recording_ids:
        return {}
    rows = warehouse.query(
        "SELECT * FROM raw.symbl_conversations WHERE recording_id IN (SELECT unnest(?::VARCHAR[]))",
        [recording_ids],
    )
    return {r["recording_id"]: LedgerEntry(**r) for r in rows}


def project(warehouse: WarehouseResource, entries: Sequence[JournalEntry]) -> int:
    """Upsert the journal's entries in one transaction, keeping whichever version of each row is newer."""
    rows = [vars(e) for e in (from_journal(j) for j in entries) if e is not None]
    if not rows:
        return 0
    # Older versions go; a row newer than ours (another run projected later state) stays untouched.
    with warehouse.writer() as writer:
        return writer.upsert_newer("symbl_conversations", "recording_id", "updated_at", rows)
