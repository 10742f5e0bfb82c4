"""Warehouse failure modes: the real cause of a failed COMMIT, a failed publish's temp file, the lock holder's name."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.defs.warehouse import duckdb_store


class CommitFails:
    """A connection whose COMMIT fails like a full disk, after which DuckDB has no transaction to roll back."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, sql: str, *args: Any) -> None:
        self.statements.append(sql)
        if sql == "COMMIT":
            raise duckdb.IOException('Could not write file "live.duckdb.wal": No space left on device')
        if sql == "ROLLBACK":
            raise duckdb.TransactionException("cannot rollback - no transaction is active")


def test_a_failed_commit_reports_the_real_cause_not_the_rollback() -> None:
    con = CommitFails()
    with pytest.raises(duckdb.IOException, match="No space left on device"), duckdb_store.transaction(con):
        con.execute("DELETE FROM x")
    assert con.statements == ["BEGIN TRANSACTION", "DELETE FROM x", "COMMIT", "ROLLBACK"]


def test_a_failed_publish_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = tmp_path / "live.duckdb"
    con = duckdb.connect(str(live))
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
    con.close()
    target = tmp_path / "analyst.duckdb"

    def no_space(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(duckdb_store.os, "replace", no_space)
    with pytest.raises(OSError, match="No space"):
        duckdb_store.publish_snapshot(str(live), str(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.duckdb"]


def test_stale_copies_of_a_killed_publish_are_removed_by_the_next(tmp_path: Path) -> None:
    live = tmp_path / "live.duckdb"
    duckdb.connect(str(live)).close()
    stale = tmp_path / ".analyst.duckdb.deadbeef.tmp"
    stale.write_bytes(b"x" * 100)
    old = os.path.getmtime(stale) - 2 * duckdb_store.STALE_COPY_SECONDS
    os.utime(stale, (old, old))
    duckdb_store.publish_snapshot(str(live), str(tmp_path / "analyst.duckdb"))
    assert not stale.exists()


def test_lock_holder_names_pid_and_command(tmp_path: Path) -> None:
    live = tmp_path / "live.duckdb"
    script = textwrap.dedent(
        f"""
        import duckdb, time
        con = duckdb.connect({str(live)!r})
        print("locked", flush=True)
        time.sleep(30)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with (
            pytest.raises(duckdb_store.WarehouseLocked) as info,
            duckdb_store.connect(str(live), retry_seconds=0.3),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    message = str(info.value)
    assert (
        f"PID {holder.pid}" in message and "duckdb.connect" in message and "gave up after waiting" in message
    )


def test_lock_holder_without_a_pid_in_the_message() -> None:
    assert "unknown" in duckdb_store.lock_holder("Could not set lock on file")


def test_a_file_being_opened_or_closed_does_not_hold_up_another_file(tmp_path: Path) -> None:
    """While one file's attach or detach is in progress (its checkpoint can take seconds), another opens."""
    import threading

    slow, other = str(tmp_path / "live.duckdb"), str(tmp_path / "analyst.duckdb")
    busy = duckdb_store._file_lock(os.path.abspath(slow))
    opened = threading.Event()

    def open_other() -> None:
        with duckdb_store.connect(other) as con:
            con.execute("SELECT 1").fetchall()
        opened.set()

    with busy:  # as a close of `slow` holds it while DuckDB checkpoints
        worker = threading.Thread(target=open_other)
        worker.start()
        assert opened.wait(20), "connecting to another file waited for this file's open or close"

        def open_slow() -> None:
            with duckdb_store.connect(slow):
                pass

        blocked = threading.Thread(target=open_slow)
        blocked.start()
        blocked.join(0.5)
        assert blocked.is_alive()  # the same file does wait: its open must not race its close
    blocked.join(20)
    worker.join(20)
