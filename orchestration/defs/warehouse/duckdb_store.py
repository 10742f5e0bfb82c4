"""Warehouse access: short, bulk, idempotent writes to the live DuckDB file, and the analysts' published copy.

DuckDB allows one writing process per file, and while it holds the file nobody else can open it, not even read-only.
So callers do their network work first and then write in one short transaction (`WarehouseResource.writer()`,
the only write API), and analysts read a copy that `publish_snapshot` swaps in atomically.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster
import duckdb
import pyarrow as pa

from orchestration.defs.warehouse.allocator import fix_mmap_threshold
from orchestration.defs.warehouse.schema import RAW_SCHEMA, TABLES, create_statements
from orchestration.defs.warehouse.tables import Column, Table
from orchestration.settings import DuckDBSettings, warehouse_paths


def default_warehouse_path() -> str:
    """The live file (:func:`orchestration.settings.warehouse_paths`, shared with dbt's profile)."""
    return str(warehouse_paths().live)


def default_snapshot_path() -> str:
    """The analysts' copy (:func:`orchestration.settings.warehouse_paths`)."""
    return str(warehouse_paths().analyst)


class WarehouseLocked(Exception):
    """Another process held the live file's write lock for longer than the bounded wait."""


def lock_wait_seconds() -> float:
    """How long a writer waits for a held lock (env ``CONVO_INTEL_WAREHOUSE_LOCK_WAIT_SECONDS``, default 60)."""
    return DuckDBSettings().lock_wait_seconds


def memory_limit() -> str:
    """DuckDB's buffer-pool cap for the pipeline's connections (env ``CONVO_INTEL_DUCKDB_MEMORY_LIMIT``, default
    128MB). DuckDB's own default is 80% of RAM, and each batch's DELETE + INSERT pages the growing tables in, so a
    day of calls would hold the whole messages table in memory; past the cap DuckDB evicts or spills instead."""
    return DuckDBSettings().memory_limit


_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def lock_holder(message: str) -> str:
    """Who holds the lock, from DuckDB's error ("Conflicting lock is held in <exe> (PID 123) by user u").

    The command line is read from /proc (Linux) so that the log says *which* program it is: an analyst's duckdb
    shell, a BI tool, another run.
    """
    found = _LOCK_PID.search(message)
    if not found:
        return "an unknown process (DuckDB did not name it)"
    pid = int(found.group(1))
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    except OSError:
        command = ""
    return f"PID {pid} ({command[:300]})" if command else f"PID {pid}"


# Rows per row group of what the pipeline writes. DuckDB's default (122,880) lets one open row group of answer
# parts reach ~480 MB, and a checkpoint rewrites the open row group whole; 2,048 keeps that under ~8 MB
# (bench/duckdb_checkpoint_memory.py). Only an ATTACH can set it, hence the attached instances below.
ROW_GROUP_SIZE = 2048


@dataclass
class _Attached:
    """This process's one database instance for a file: an in-memory DuckDB with the file attached. Connections
    to the file are cursors of it, as DuckDB's own per-file instance cache would share one instance; the file is
    detached (checkpointed, its lock released) when the last of them closes."""

    base: Any
    alias: str
    read_only: bool
    users: int = 0


_attached: dict[str, _Attached] = {}
# One lock per file: opening or closing one file (an ATTACH replaying its WAL, a detach checkpointing it) never
# holds up a connection to another file in this process, e.g. the analysts' copy while the live file checkpoints.
_file_locks: dict[str, threading.Lock] = {}
_file_locks_guard = threading.Lock()


def _file_lock(key: str) -> threading.Lock:
    with _file_locks_guard:
        return _file_locks.setdefault(key, threading.Lock())


def _alias(path: str) -> str:
    # The catalog name DuckDB itself gives a file (its stem), so `current_database()` reads as before.
    stem = re.sub(r"\W", "_", Path(path).stem) or "warehouse"
    return f"file_{stem}" if stem.lower() in {"memory", "system", "temp", "main"} else stem


def _attach(path: str, read_only: bool) -> _Attached:
    fix_mmap_threshold()  # before DuckDB's first buffers: they are what the heap would otherwise keep
    config = {"memory_limit": memory_limit(), "temp_directory": f"{path}.tmp"}  # spills beside the file
    base = duckdb.connect(":memory:", config=config)
    alias = _alias(path)
    options = ("READ_ONLY, " if read_only else "") + f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
    try:
        base.execute(f"ATTACH '{_sql_path(path)}' AS \"{alias}\" ({options})")
    except BaseException:
        base.close()
        raise
    return _Attached(base, alias, read_only)


def _open(path: str, read_only: bool) -> Any:
    key = os.path.abspath(path)
    with _file_lock(key):
        found = _attached.get(key)
        if found is not None and found.read_only and not read_only:
            raise duckdb.ConnectionException(
                f"Can't open a connection to same database file with a different configuration than existing "
                f"connections: {path} is open read-only in this process"
            )
        if found is None:
            found = _attached[key] = _attach(path, read_only)
        found.users += 1
        try:
            cursor = found.base.cursor()
            cursor.execute(f'USE "{found.alias}"')
        except BaseException:
            _release(key)
            raise
    return cursor


def _release(key: str) -> None:
    """Caller holds the file's lock (``_file_lock(key)``)."""
    found = _attached[key]
    found.users -= 1
    if found.users == 0:
        del _attached[key]
        found.base.close()  # detaches: the checkpoint, and the file's lock released


@contextlib.contextmanager
def connect(path: str, read_only: bool = False, retry_seconds: float | None = None) -> Iterator[Any]:
    """Open the file, waiting (bounded, logged with the holder) while another process holds its lock."""
    if path == ":memory:":  # the publish copy's scratch database
        con = duckdb.connect(path)
        try:
            yield con
        finally:
            con.close()
        return
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    budget = lock_wait_seconds() if retry_seconds is None else retry_seconds
    started = time.monotonic()
    delay = 0.05
    next_log = started
    while True:
        try:
            con = _open(path, read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            waited = time.monotonic() - started
            holder = lock_holder(str(exc))
            if waited > budget:
                raise WarehouseLocked(
                    f"{path} is locked by {holder}; gave up after waiting {waited:.1f} s "
                    f"(CONVO_INTEL_WAREHOUSE_LOCK_WAIT_SECONDS={budget:g}). Close that process: people read the "
                    "analysts' copy, never the live file."
                ) from exc
            if time.monotonic() >= next_log:  # log at once, then every 10 s: visible, not noisy
                _log().warning(
                    f"warehouse {path} is locked by {holder}; waiting (waited {waited:.1f} s of {budget:g} s)"
                )
                next_log = time.monotonic() + 10.0
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        yield con
    finally:
        try:
            con.close()
        finally:
            key = os.path.abspath(path)
            with _file_lock(key):
                _release(key)


def _log() -> logging.Logger:
    # Dagster's logger: inside a run the wait shows in the run's log; outside it is ordinary Python logging.
    return dagster.get_dagster_logger("convo_intel.warehouse")


@contextlib.contextmanager
def transaction(con: Any) -> Iterator[None]:
    """BEGIN ... COMMIT; on failure roll back if a transaction is still open, and raise the *original* error.

    A COMMIT that fails (disk full, I/O error) ends DuckDB's transaction, so a plain ROLLBACK would raise "cannot
    rollback - no transaction is active" and hide the real cause.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def _schema_complete(con: Any) -> bool:
    """Every declared raw table with every declared column, by one catalog query (~1 ms).

    Each write used to run the ~21 CREATE IF NOT EXISTS statements and a column scan (~100 ms per connection);
    asking the catalog first keeps that to a file made or upgraded by this version, and still notices a file that
    was replaced or emptied since (a per-process "already done" flag would not). A table now stored in parts that
    is still a base table (a file from before) is incomplete too.
    """
    found = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = ?",
        [RAW_SCHEMA],
    ).fetchall()
    return set(found) >= _declared_columns() and not _unsplit_tables(con)


@functools.cache
def _declared_columns() -> frozenset[tuple[str, str]]:
    # duckdb_columns() lists a view's columns too: a parts-stored table is complete with its view and its parts.
    tables = {s for t in TABLES.values() for s in (t, t.storage)}
    return frozenset((t.name, c.name) for t in tables for c in t.columns)


def _unsplit_tables(con: Any) -> list[Table]:
    """Parts-stored tables that this file still has as one base table (written before they were split)."""
    split = [t for t in TABLES.values() if t.stored_in_parts]
    if not split:
        return []
    names = {
        n
        for (n,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ?",
            [RAW_SCHEMA],
        ).fetchall()
    }
    return [t for t in split if t.name in names]


def ensure_schema(con: Any) -> None:
    if _schema_complete(con):
        return
    for table in _unsplit_tables(con):
        _move_into_parts(con, table)
    for stmt in create_statements():
        con.execute(stmt)
    _add_missing_columns(con)


# Rows of an old one-table layout moved per statement: bounded memory for a table of large answers.
_MOVE_BATCH_ROWS = 500


def _move_into_parts(con: Any, table: Table) -> None:
    """A file from before ``stored_in_parts``: its rows go into the parts table, in one transaction, and the old
    table gives way to the view (created next by ``create_statements``)."""
    _log().info(f"moving raw.{table.name} into raw.{table.storage.name} (stored in parts from now on)")
    with transaction(con):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        con.execute(table.storage.create_statement(RAW_SCHEMA))
        (top,) = con.execute(f"SELECT coalesce(max(rowid) + 1, 0) FROM {RAW_SCHEMA}.{table.name}").fetchone()
        for first in range(0, int(top), _MOVE_BATCH_ROWS):
            cur = con.execute(
                f"SELECT * FROM {RAW_SCHEMA}.{table.name} WHERE rowid >= ? AND rowid < ?",
                [first, first + _MOVE_BATCH_ROWS],
            )
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            known = set(table.column_names)
            insert_rows(con, table.name, [{k: v for k, v in r.items() if k in known} for r in rows])
        con.execute(f"DROP TABLE {RAW_SCHEMA}.{table.name}")


def _add_missing_columns(con: Any) -> None:
    """A warehouse made by an older version gains the columns added since, in place. Always nullable (without
    NOT NULL), whatever the declaration says: the rows already there have no value for them."""
    existing: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?", [RAW_SCHEMA]
    ).fetchall():
        existing.setdefault(table, set()).add(column)
    for declared in TABLES.values():
        stored = declared.storage
        for column in stored.columns:
            if column.name not in existing.get(stored.name, {column.name}):
                con.execute(
                    f"ALTER TABLE {RAW_SCHEMA}.{stored.name} ADD COLUMN {column.name} {column.sql_type}"
                )
        if (view := declared.view_statement(RAW_SCHEMA)) is not None:
            con.execute(view)  # again: a column added to the parts table reaches the view


def column_names(table: str) -> list[str]:
    """The table's columns in declaration order."""
    return list(TABLES[table].column_names)


def storage_name(table: str) -> str:
    """The table a declared table's rows are stored in (its parts table when stored in parts)."""
    return TABLES[table].storage.name if table in TABLES else table


def _column(values: list[Any], column: Column) -> pa.Array:
    if column.arrow_type is not None:
        try:
            return pa.array(values, type=column.arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # e.g. an ISO string for a timestamp: let Arrow infer, DuckDB casts on insert as before
    return pa.array(values)


def _arrow(table: Table, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Arrow's own converter over the rows (C, one pass), then each column cast to its declared Arrow type
    (:data:`orchestration.defs.warehouse.tables.ARROW_TYPES`; JSON columns are left as inferred).

    Arrow takes the columns from the *first* row, so it is used only when every row's keys are among the first
    row's (parsers emit uniform rows); otherwise, or when Arrow cannot infer a column in one go (text mixed with
    numbers), the rows are converted column by column. Unknown keys are an error either way.
    """
    declared = table.columns
    present = set(itertools.chain.from_iterable(rows))  # every key of every row, at C speed
    unknown = present.difference(table.column_names)
    if unknown:
        raise ValueError(f"rows for {table.name} carry unknown columns: {sorted(unknown)}")
    inferred = None
    if rows and present == set(rows[0]):
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowTypeError):
            inferred = pa.Table.from_pylist(list(rows))
    if inferred is None:
        return pa.table({c.name: _column([r.get(c.name) for r in rows], c) for c in declared})
    columns = {}
    for c in declared:
        target = c.arrow_type
        if c.name not in present:
            columns[c.name] = pa.nulls(len(rows), target or pa.null())
            continue
        column = inferred.column(c.name)
        if target is not None and column.type != target:
            # Not castable here (e.g. ISO text for a timestamp): DuckDB casts it on insert, as before.
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                column = column.cast(target)
        columns[c.name] = column
    return pa.table(columns)


def arrow_rows(table: str, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table with exactly the table's columns (unknown keys are an error)."""
    return _arrow(TABLES[table], rows)


def insert_rows(con: Any, table: str, rows: Sequence[dict[str, Any]]) -> int:
    """Bulk insert through Arrow (DuckDB scans the Arrow table directly; no per-row INSERTs). A table stored in
    parts gets each row's parts. The number of (logical) rows inserted."""
    if not rows:
        return 0
    declared = TABLES[table]
    data = _arrow(declared.storage, declared.storage_rows(rows))
    # Registered as a stream read once, not as the table: DuckDB keeps a registered Arrow table alive until the
    # transaction ends, so a day's recordings inserted batch by batch in one transaction would all stay in
    # memory (46 MB of Arrow at 10,000 recordings), where a consumed stream's batches are freed as it goes.
    stream = pa.RecordBatchReader.from_batches(data.schema, data.to_batches())
    del data
    view = f"_rows_{uuid.uuid4().hex[:8]}"
    con.register(view, stream)
    try:
        con.execute(f"INSERT INTO {RAW_SCHEMA}.{declared.storage.name} BY NAME SELECT * FROM {view}")
    finally:
        con.unregister(view)
    return len(rows)


def publish_snapshot(live_path: str, snapshot_path: str) -> dict[str, Any]:
    """Copy the live warehouse to a new file, then atomically rename it over the analysts' copy.

    Readers holding the old copy open keep reading the old inode; new readers see the new one. The live file is
    attached read-only from a separate in-memory connection, so the copy holds no lock on the analysts' file.
    """
    target = Path(snapshot_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_copies(target)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    started = time.monotonic()
    storage_version = DuckDBSettings().analyst_storage_version
    try:
        with connect(":memory:") as con:
            con.execute(f"ATTACH '{_sql_path(live_path)}' AS live (READ_ONLY)")
            con.execute(
                f"ATTACH '{_sql_path(str(tmp))}' AS snap (STORAGE_VERSION '{_sql_path(storage_version)}')"
            )
            con.execute("COPY FROM DATABASE live TO snap")
            write_published_marker(con, "snap", live_path, storage_version)
            con.execute("DETACH snap")
            con.execute("DETACH live")
        os.replace(tmp, target)
    except BaseException:
        # A failed copy (disk full, lock, kill signal turned exception) must not leave a warehouse-sized file.
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    return {
        "path": str(target),
        "storage_version": storage_version,
        "bytes": target.stat().st_size,
        "seconds": round(time.monotonic() - started, 3),
    }


def write_published_marker(con: Any, catalog: str, live_path: str, storage_version: str) -> None:
    """`main.published_at` in the copy: one row saying when it was published, from what, in which format."""
    has_recordings = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'live' AND schema_name = 'raw'"
        " AND table_name = 'recordings'"
    ).fetchone()[0]
    newest = "(SELECT max(loaded_at) FROM live.raw.recordings)" if has_recordings else "NULL::TIMESTAMPTZ"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {catalog}.main.published_at AS
        SELECT now() AS published_at,
               {newest} AS newest_recording_loaded_at,
               ? AS source_path, ? AS storage_version, version() AS written_by_duckdb
        """,
        [live_path, storage_version],
    )
    con.execute(
        f"COMMENT ON TABLE {catalog}.main.published_at IS 'When this analyst copy was published (one row): "
        "published_at (UTC timestamp), newest_recording_loaded_at (newest raw.recordings.loaded_at it contains), "
        "the live file it was copied from, its storage version and the DuckDB that wrote it.'"
    )


STALE_COPY_SECONDS = 3600.0


def _remove_stale_copies(target: Path) -> None:
    """Temporary copies left by a publish that was killed outright (no exception handler ran) an hour ago or more."""
    cutoff = time.time() - STALE_COPY_SECONDS
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def _sql_path(path: str) -> str:
    return path.replace("'", "''")
