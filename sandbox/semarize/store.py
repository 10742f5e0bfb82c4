"""Durable run state for the Semarize stand-in: one SQLite file, so runs and idempotency keys persist.

A run's lifecycle is derived from time on read (``created_at`` and ``finishes_at`` are stored), which keeps a
restarted sandbox consistent without a background worker: whoever reads a due run finalises it, once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.store import SqliteStore

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    finishes_at REAL NOT NULL,
    kit_code TEXT NOT NULL,
    kit_version_id TEXT NOT NULL,
    run_type TEXT NOT NULL,
    request_id TEXT,
    input_json TEXT NOT NULL,
    status TEXT NOT NULL,
    completed_at REAL,
    output_json TEXT,
    error_code TEXT,
    error_message TEXT,
    error_user_message TEXT
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    idempotency_key TEXT PRIMARY KEY,
    request_sha256 TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(run_id)
);
"""


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    created_at: float
    finishes_at: float
    kit_code: str
    kit_version_id: str
    run_type: str
    request_id: str | None
    input: dict[str, Any]
    status: str
    completed_at: float | None
    output: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    error_user_message: str | None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


class RunStore:
    """Runs and idempotency keys in the vendor's SQLite file (the shared ``SqliteStore`` plumbing)."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteStore(path, [stmt for stmt in _SCHEMA.split(";") if stmt.strip()])

    def close(self) -> None:
        self._db.close()

    def create(
        self, run: StoredRun, idempotency_key: str | None, request_sha256: str
    ) -> tuple[StoredRun, bool]:
        """Insert ``run``, unless ``idempotency_key`` was seen: then the original run and True (a replay).

        Raises ``IdempotencyConflict`` when the key was seen with a different request body.
        """
        with self._db.transaction() as con:
            if idempotency_key is not None:
                seen = con.execute(
                    "SELECT request_sha256, run_id FROM idempotency_keys WHERE idempotency_key = ?",
                    (idempotency_key,),
                ).fetchone()
                if seen is not None:
                    if seen["request_sha256"] != request_sha256:
                        raise IdempotencyConflict(idempotency_key)
                    original = con.execute(
                        "SELECT * FROM runs WHERE run_id = ?", (seen["run_id"],)
                    ).fetchone()
                    assert original is not None
                    return _from_row(original), True
            con.execute(
                "INSERT INTO runs (run_id, created_at, finishes_at, kit_code, kit_version_id, run_type, "
                "request_id, input_json, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.created_at,
                    run.finishes_at,
                    run.kit_code,
                    run.kit_version_id,
                    run.run_type,
                    run.request_id,
                    json.dumps(run.input, separators=(",", ":")),
                    run.status,
                ),
            )
            if idempotency_key is not None:
                con.execute(
                    "INSERT INTO idempotency_keys (idempotency_key, request_sha256, run_id) VALUES (?, ?, ?)",
                    (idempotency_key, request_sha256, run.run_id),
                )
        return run, False

    def get(self, run_id: str) -> StoredRun | None:
        row = self._db.query_one("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return _from_row(row) if row is not None else None

    def newest(self, limit: int) -> list[StoredRun]:
        rows = self._db.query("SELECT * FROM runs ORDER BY created_at DESC, seq DESC LIMIT ?", (limit,))
        return [_from_row(r) for r in rows]

    def count(self) -> int:
        return int(self._db.scalar("SELECT count(*) FROM runs"))

    def mark_running(self, run_id: str) -> None:
        self._db.execute(
            "UPDATE runs SET status = 'running' WHERE run_id = ? AND status = 'queued'", (run_id,)
        )

    def finish(self, run_id: str, completed_at: float, result: Mapping[str, Any]) -> None:
        """Record the terminal state; a run already finished by a concurrent reader keeps its first result."""
        self._db.execute(
            "UPDATE runs SET status = ?, completed_at = ?, output_json = ?, error_code = ?, "
            "error_message = ?, error_user_message = ? "
            "WHERE run_id = ? AND status IN ('queued', 'running')",
            (
                result["status"],
                completed_at,
                json.dumps(result["output"]) if result.get("output") is not None else None,
                result.get("error_code"),
                result.get("error_message"),
                result.get("error_user_message"),
                run_id,
            ),
        )


def _from_row(row: sqlite3.Row) -> StoredRun:
    return StoredRun(
        run_id=row["run_id"],
        created_at=row["created_at"],
        finishes_at=row["finishes_at"],
        kit_code=row["kit_code"],
        kit_version_id=row["kit_version_id"],
        run_type=row["run_type"],
        request_id=row["request_id"],
        input=json.loads(row["input_json"]),
        status=row["status"],
        completed_at=row["completed_at"],
        output=json.loads(row["output_json"]) if row["output_json"] else None,
        error_code=row["error_code"],
        error_message=row["error_message"],
        error_user_message=row["error_user_message"],
    )
