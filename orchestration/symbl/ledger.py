"""The conversation-id ledger: recording -> Symbl conversation/job, written the moment Symbl answers.

A re-run reads it first: completed recordings are skipped, running jobs are awaited again (never resubmitted), and
only failed ones (under the attempt cap) are submitted anew.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime

from orchestration.warehouse import duckdb_store
from orchestration.warehouse.resource import WarehouseResource

ACTIVE_STATUSES = ("submitted", "scheduled", "in_progress")
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

    @classmethod
    def new(cls, recording_id: str, partition_date: date) -> LedgerEntry:
        return cls(
            recording_id, partition_date, None, None, "pending", 0, None, None, None, datetime.now(UTC)
        )

    def submitted(self, conversation_id: str, job_id: str) -> LedgerEntry:
        now = datetime.now(UTC)
        return replace(
            self,
            conversation_id=conversation_id,
            job_id=job_id,
            status="submitted",
            attempts=self.attempts + 1,
            failure_reason=None,
            submitted_at=now,
            completed_at=None,
            updated_at=now,
        )

    def with_status(self, status: str, reason: str | None = None) -> LedgerEntry:
        now = datetime.now(UTC)
        return replace(
            self,
            status=status,
            failure_reason=reason if status == "failed" else None,
            completed_at=now if status == "completed" else self.completed_at,
            updated_at=now,
        )

    def failed_before_submit(self, reason: str) -> LedgerEntry:
        """A submit that Symbl refused (or media we could not read) still counts as an attempt."""
        now = datetime.now(UTC)
        return replace(
            self, status="failed", attempts=self.attempts + 1, failure_reason=reason, updated_at=now
        )


def load(warehouse: WarehouseResource, recording_ids: list[str]) -> dict[str, LedgerEntry]:
    if not recording_ids:
        return {}
    rows = warehouse.query(
        "SELECT * FROM raw.symbl_conversations WHERE recording_id IN (SELECT unnest(?::VARCHAR[]))",
        [recording_ids],
    )
    return {r["recording_id"]: LedgerEntry(**r) for r in rows}


def save(warehouse: WarehouseResource, entry: LedgerEntry) -> None:
    """Upsert one row in a short transaction (called between network waits, never holding a connection)."""
    with warehouse.connection() as con:
        duckdb_store.replace_rows(
            con, "symbl_conversations", "recording_id = ?", [entry.recording_id], [asdict(entry)]
        )
