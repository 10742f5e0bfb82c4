"""The submission journal: the durable record of what was sent to Symbl, kept beside the warehouse.

Why a journal, and why SQLite in WAL mode:
- The fact "recording R was (maybe) submitted" must survive a crash at any instruction and must not depend on
  winning the DuckDB lock (one writer per file, and an analyst's shell or a BI tool can hold it for minutes). So the
  intent is committed *before* the request and the ids the moment they arrive, in a file that never waits on DuckDB.
- SQLite ships with Python, serialises writers across processes with its own file locks (``BEGIN IMMEDIATE`` +
  ``busy_timeout``), keeps readers unblocked in WAL mode, and a committed transaction survives ``kill -9``
  (``synchronous=FULL`` also survives power loss). An fsync'd append-only file with ``flock`` would need its own
  compaction and its own "read the latest state" index; per-recording claims (a compare-and-set) are a single
  conditional UPDATE here. Commits cost about a millisecond, so they are made synchronously on the event loop,
  with no ``await`` between Symbl's answer and the commit.
- The journal holds one row per recording (state, ids, attempts, claim) and an append-only ``events`` table (an
  audit trail: every intent, answer, adoption and outcome, with the process that made it).

Rules the journal enforces, whoever calls it:
- A recording's state changes only for the attempt that owns it (``attempts`` is the attempt number), and
  ``completed`` is final: no other run, late answer or stale process can turn it back into anything else.
- A claim (owner, host, pid, lease expiry) makes two runs of one day cooperate: only the holder submits or waits on a
  recording; a claim whose holder process is gone (same host) or whose lease ran out is taken over.

The DuckDB ledger (``raw.symbl_conversations``) is a projection of this journal, written in batches.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ACTIVE_STATES = ("submitted", "scheduled", "in_progress")
# intent: committed before a submit request. uncertain: the request failed in a way that does not tell whether
# Symbl created the job (5xx, dropped connection, timeout). Both are reconciled against Symbl before any resubmit.
AMBIGUOUS_STATES = ("intent", "uncertain")
CLAIM_LEASE_SECONDS = 120.0

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS submissions (
        recording_id TEXT PRIMARY KEY,
        partition_date TEXT NOT NULL,
        state TEXT NOT NULL,              -- pending | intent | uncertain | submitted | scheduled | in_progress
                                          -- | completed | failed
        conversation_id TEXT,
        job_id TEXT,                      -- NULL for a conversation adopted from Symbl's list (no job id known)
        attempts INTEGER NOT NULL DEFAULT 0,
        failure_reason TEXT,
        submitted_at REAL,
        completed_at REAL,
        updated_at REAL NOT NULL,
        claim_owner TEXT,
        claim_host TEXT,
        claim_pid INTEGER,
        claim_expires REAL
    )""",
    "CREATE INDEX IF NOT EXISTS submissions_by_day ON submissions (partition_date)",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        recording_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        event TEXT NOT NULL,              -- intent | answered | uncertain | not_found | adopted | refused | status
        state TEXT,
        conversation_id TEXT,
        job_id TEXT,
        detail TEXT,
        pid INTEGER NOT NULL,
        at REAL NOT NULL
    )""",
    # The processing rate (seconds per second of media) the last run's jobs showed: the next run aims its first
    # polls with it instead of the resource's prior (an account's pace changes little from one day to the next).
    """CREATE TABLE IF NOT EXISTS pace (
        key TEXT PRIMARY KEY,
        rate REAL NOT NULL,
        observations INTEGER NOT NULL,
        updated_at REAL NOT NULL
    )""",
)


@dataclass(frozen=True)
class JournalEntry:
    recording_id: str
    partition_date: date
    state: str
    conversation_id: str | None
    job_id: str | None
    attempts: int
    failure_reason: str | None
    submitted_at: float | None
    completed_at: float | None
    updated_at: float
    claim_owner: str | None = None


class StaleAttempt(Exception):
    """A write for an attempt that no longer owns the recording (another attempt, or already completed)."""


def journal_path_for(warehouse_path: str) -> str:
    """The journal lives beside the live warehouse (same disk, same lifetime), never inside the DuckDB file."""
    p = Path(warehouse_path)
    return str(p.with_name(p.stem + ".journal.sqlite3"))


def new_owner() -> str:
    """A claim owner unique to this process and run (a pid alone can be reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Journal:
    """One SQLite connection per instance, guarded by a lock (callers are the event loop and worker threads)."""

    def __init__(self, path: str, *, busy_timeout_seconds: float = 60.0) -> None:
        self.path = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._con = sqlite3.connect(
            path, timeout=busy_timeout_seconds, isolation_level=None, check_same_thread=False
        )
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=FULL")
        with self._write() as con:
            for stmt in _SCHEMA:
                con.execute(stmt)

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the file's write lock up front (no upgrade deadlocks)."""
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    # --- reads ----------------------------------------------------------------------------------------------

    def get(self, recording_id: str) -> JournalEntry | None:
        return self.get_many([recording_id]).get(recording_id)

    def get_many(self, recording_ids: Sequence[str]) -> dict[str, JournalEntry]:
        out: dict[str, JournalEntry] = {}
        ids = list(recording_ids)
        with self._lock:
            for i in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                cur = self._con.execute(f"SELECT * FROM submissions WHERE recording_id IN ({marks})", chunk)
                for row in _rows(cur):
                    out[row["recording_id"]] = _entry(row)
        return out

    def in_window(self, first: date, end: date) -> list[JournalEntry]:
        with self._lock:
            cur = self._con.execute(
                "SELECT * FROM submissions WHERE partition_date >= ? AND partition_date < ? ORDER BY recording_id",
                (first.isoformat(), end.isoformat()),
            )
            return [_entry(r) for r in _rows(cur)]

    def events(self, recording_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if recording_id is None:
                cur = self._con.execute("SELECT * FROM events ORDER BY seq")
            else:
                cur = self._con.execute(
                    "SELECT * FROM events WHERE recording_id = ? ORDER BY seq", (recording_id,)
                )
            return _rows(cur)

    def seed(self, ledger_rows: Sequence[dict[str, Any]]) -> int:
        """Adopt warehouse-ledger rows written before the journal existed (never overwrites a journal row)."""

        def ts(value: Any) -> float | None:
            return None if value is None else float(value.timestamp())

        with self._write() as con:
            return sum(
                con.execute(
                    "INSERT OR IGNORE INTO submissions (recording_id, partition_date, state, conversation_id, job_id, "
                    "attempts, failure_reason, submitted_at, completed_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r["recording_id"],
                        r["partition_date"].isoformat(),
                        r["status"],
                        r["conversation_id"],
                        r["job_id"],
                        int(r["attempts"]),
                        r["failure_reason"],
                        ts(r["submitted_at"]),
                        ts(r["completed_at"]),
                        ts(r["updated_at"]) or time.time(),
                    ),
                ).rowcount
                for r in ledger_rows
            )

    # --- claims ---------------------------------------------------------------------------------------------

    def claim(self, recording_id: str, partition_date: date, owner: str) -> bool:
        """Take the recording for ``owner`` unless a live holder has it. Creates its row (state pending)."""
        now = time.time()
        host, pid = owner.split(":")[0], int(owner.split(":")[1])
        with self._write() as con:
            row = con.execute(
                "SELECT claim_owner, claim_host, claim_pid, claim_expires FROM submissions WHERE recording_id = ?",
                (recording_id,),
            ).fetchone()
            if row is None:
                con.execute(
                    "INSERT INTO submissions (recording_id, partition_date, state, updated_at) "
                    "VALUES (?, ?, 'pending', ?)",
                    (recording_id, partition_date.isoformat(), now),
                )
            elif row[0] is not None and row[0] != owner and _claim_live(row[1], row[2], row[3], now):
                return False
            con.execute(
                "UPDATE submissions SET claim_owner = ?, claim_host = ?, claim_pid = ?, claim_expires = ? "
                "WHERE recording_id = ?",
                (owner, host, pid, now + CLAIM_LEASE_SECONDS, recording_id),
            )
            return True

    def renew(self, owner: str) -> int:
        """Extend every lease ``owner`` holds (one statement for all its claims)."""
        with self._write() as con:
            return con.execute(
                "UPDATE submissions SET claim_expires = ? WHERE claim_owner = ?",
                (time.time() + CLAIM_LEASE_SECONDS, owner),
            ).rowcount

    def release(self, recording_id: str, owner: str) -> None:
        with self._write() as con:
            con.execute(
                "UPDATE submissions SET claim_owner = NULL, claim_host = NULL, claim_pid = NULL, "
                "claim_expires = NULL WHERE recording_id = ? AND claim_owner = ?",
                (recording_id, owner),
            )

    def release_all(self, owner: str) -> None:
        with self._write() as con:
            con.execute(
                "UPDATE submissions SET claim_owner = NULL, claim_host = NULL, claim_pid = NULL, "
                "claim_expires = NULL WHERE claim_owner = ?",
                (owner,),
            )

    def learnt_rate(self) -> float | None:
        """The processing rate the last run that saw a job complete ended with, if any."""
        with self._lock:
            row = self._con.execute("SELECT rate FROM pace WHERE key = 'symbl'").fetchone()
        return float(row[0]) if row else None

    def save_rate(self, rate: float, observations: int) -> None:
        with self._write() as con:
            con.execute(
                "INSERT OR REPLACE INTO pace (key, rate, observations, updated_at) VALUES ('symbl', ?, ?, ?)",
                (rate, observations, time.time()),
            )

    # --- transitions ----------------------------------------------------------------------------------------

    def intent(self, recording_id: str, owner: str) -> int:
        """Commit "about to submit" and return the new attempt number. Only the claim holder may do this."""
        now = time.time()
        with self._write() as con:
            row = con.execute(
                "SELECT state, attempts, claim_owner FROM submissions WHERE recording_id = ?", (recording_id,)
            ).fetchone()
            if row is None or row[2] != owner:
                raise StaleAttempt(f"{recording_id}: not claimed by this run")
            if row[0] == "completed":
                raise StaleAttempt(f"{recording_id}: already completed")
            attempt = int(row[1]) + 1
            con.execute(
                "UPDATE submissions SET state = 'intent', attempts = ?, conversation_id = NULL, job_id = NULL, "
                "failure_reason = NULL, submitted_at = NULL, completed_at = NULL, updated_at = ? "
                "WHERE recording_id = ?",
                (attempt, _later(con, recording_id, now), recording_id),
            )
            _event(con, recording_id, attempt, "intent", "intent", None, None, None, now)
            return attempt

    def answered(
        self,
        recording_id: str,
        attempt: int,
        conversation_id: str,
        job_id: str | None,
        *,
        event: str = "answered",
    ) -> None:
        """Symbl's ids for this attempt (``event='adopted'`` when found in Symbl's list instead of an answer)."""
        now = time.time()
        self._transition(
            recording_id,
            attempt,
            event,
            "submitted",
            now,
            "conversation_id = ?, job_id = ?, submitted_at = coalesce(submitted_at, ?), failure_reason = NULL",
            (conversation_id, job_id, now),
            conversation_id=conversation_id,
            job_id=job_id,
        )

    def uncertain(self, recording_id: str, attempt: int, reason: str) -> None:
        self._transition(
            recording_id, attempt, "uncertain", "uncertain", time.time(), "failure_reason = ?", (reason,)
        )

    def not_found(self, recording_id: str, attempt: int) -> None:
        """Reconciliation found no conversation for this attempt: nothing was created, a resubmit is safe."""
        self._transition(
            recording_id, attempt, "not_found", "intent", time.time(), "failure_reason = NULL", ()
        )

    def status(self, recording_id: str, attempt: int, state: str, reason: str | None = None) -> None:
        """A job status for this attempt: scheduled | in_progress | completed | failed (with its reason)."""
        now = time.time()
        extra = "failure_reason = ?, completed_at = CASE WHEN ? = 'completed' THEN ? ELSE completed_at END"
        self._transition(
            recording_id,
            attempt,
            "status",
            state,
            now,
            extra,
            (reason if state == "failed" else None, state, now),
            detail=reason,
        )

    def refused(self, recording_id: str, attempt: int, reason: str) -> None:
        """Symbl (or our own media check) refused the submit: definitely nothing created; counts as an attempt."""
        self._transition(
            recording_id, attempt, "refused", "failed", time.time(), "failure_reason = ?", (reason,)
        )

    def _transition(
        self,
        recording_id: str,
        attempt: int,
        event: str,
        state: str,
        now: float,
        assignments: str,
        params: Sequence[Any],
        *,
        conversation_id: str | None = None,
        job_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        with self._write() as con:
            updated = con.execute(
                f"UPDATE submissions SET state = ?, updated_at = ?, {assignments} "
                "WHERE recording_id = ? AND attempts = ? AND state <> 'completed'",
                (state, _later(con, recording_id, now), *params, recording_id, attempt),
            ).rowcount
            if not updated:
                raise StaleAttempt(f"{recording_id}: attempt {attempt} no longer owns the recording")
            _event(con, recording_id, attempt, event, state, conversation_id, job_id, detail, now)


def _claim_live(host: str | None, pid: int | None, expires: float | None, now: float) -> bool:
    if expires is None or expires < now:
        return False
    # On this host, a holder whose process died (kill -9, OOM) needs no waiting out of its lease.
    return not (host == socket.gethostname() and pid is not None and not _pid_alive(pid))


def _later(con: sqlite3.Connection, recording_id: str, now: float) -> float:
    """A strictly increasing updated_at per row: the DuckDB projection keeps the newest version by it."""
    row = con.execute("SELECT updated_at FROM submissions WHERE recording_id = ?", (recording_id,)).fetchone()
    previous = float(row[0]) if row and row[0] is not None else 0.0
    return max(now, previous + 2e-6)  # 2 µs: distinct even after rounding to DuckDB's microseconds


def _event(
    con: sqlite3.Connection,
    recording_id: str,
    attempt: int,
    event: str,
    state: str | None,
    conversation_id: str | None,
    job_id: str | None,
    detail: str | None,
    now: float,
) -> None:
    con.execute(
        "INSERT INTO events (recording_id, attempt, event, state, conversation_id, job_id, detail, pid, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (recording_id, attempt, event, state, conversation_id, job_id, detail, os.getpid(), now),
    )


def _rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _entry(row: dict[str, Any]) -> JournalEntry:
    return JournalEntry(
        recording_id=row["recording_id"],
        partition_date=date.fromisoformat(row["partition_date"]),
        state=row["state"],
        conversation_id=row["conversation_id"],
        job_id=row["job_id"],
        attempts=int(row["attempts"]),
        failure_reason=row["failure_reason"],
        submitted_at=row["submitted_at"],
        completed_at=row["completed_at"],
        updated_at=float(row["updated_at"]),
        claim_owner=row["claim_owner"],
    )
