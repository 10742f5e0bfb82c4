"""The warehouse as a Dagster resource: where the live file and the analysts' copy live, and the one way to write.

Writes go through :meth:`WarehouseResource.writer` (one connection, one transaction: everything a block writes
lands together or not at all); reads through :meth:`WarehouseResource.query` on a read-only connection, so readers
never take the write lock from one another. Coroutines use :meth:`~WarehouseResource.awrite` and
:meth:`~WarehouseResource.aquery`, which run the DuckDB work on a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import dagster as dg
import duckdb
from pydantic import Field, model_validator

from orchestration.defs.warehouse import duckdb_store
from orchestration.defs.warehouse.schema import RAW_SCHEMA, TABLES
from orchestration.settings import warehouse_paths

T = TypeVar("T")

_WINDOW = "partition_date >= ? AND partition_date < ?"


@dataclass(frozen=True)
class Subquery:
    """Keys given by a SELECT (run inside the write transaction) rather than listed: e.g. every completed
    conversation of the ledger, which is too long a list to hand over from Python."""

    sql: str
    params: Sequence[Any] = field(default_factory=tuple)


class WarehouseWriter:
    """The open transaction of one :func:`write` block. Every statement is scoped to the declared raw tables."""

    def __init__(self, con: Any) -> None:
        self._con = con

    def insert(self, table: str, rows: Sequence[dict[str, Any]]) -> int:
        return duckdb_store.insert_rows(self._connection(), table, rows)

    def delete(self, table: str, where: str, params: Sequence[Any] = ()) -> int:
        """Delete what `where` selects; the number of rows deleted (of a table stored in parts, whole rows)."""
        con = self._connection()
        statement = f"DELETE FROM {RAW_SCHEMA}.{duckdb_store.storage_name(table)} WHERE {where}"
        if table in TABLES and TABLES[table].stored_in_parts:
            deleted = con.execute(statement + " RETURNING part", list(params)).fetchall()
            return sum(1 for (part,) in deleted if part == 0)
        (n,) = con.execute(statement, list(params)).fetchone()
        return int(n)

    def replace_rows(
        self, table: str, where: str, params: Sequence[Any], rows: Sequence[dict[str, Any]]
    ) -> int:
        """What `where` selects becomes `rows`: an idempotent upsert by key or window."""
        self.delete(table, where, params)
        return self.insert(table, rows)

    def replace_partition(
        self,
        table: str,
        start: date,
        end: date,
        rows: Sequence[dict[str, Any]],
        where: str = "",
        params: Sequence[Any] = (),
    ) -> int:
        """The rows of [start, end) (those `where` also selects) become `rows`: a re-run never duplicates."""
        return self.replace_rows(table, _WINDOW + _and(where), [start, end, *params], rows)

    def replace_ids(
        self,
        table: str,
        key_column: str,
        ids: Sequence[Any],
        rows: Sequence[dict[str, Any]],
        where: str = "",
        params: Sequence[Any] = (),
    ) -> int:
        """The rows of these keys (those `where` also selects) become `rows`: one batch of a window re-landed.

        With :meth:`retain_ids` at the end of the window this is how a batched asset keeps a window exact: each
        batch replaces its own keys' rows, then the rows of keys the run no longer produces go.
        """
        return self.replace_rows(
            table, f"{key_column} IN (SELECT unnest(?))" + _and(where), [list(ids), *params], rows
        )

    def retain_ids(
        self,
        table: str,
        start: date,
        end: date,
        key_column: str,
        keep: Sequence[Any] | Subquery,
        where: str = "",
        params: Sequence[Any] = (),
    ) -> int:
        """Delete the rows of [start, end) (those `where` also selects) whose key is not in `keep`; how many.

        A row whose key is NULL stays unless `keep` is empty (SQL's NOT IN), as the hand-written deletes did.
        """
        if isinstance(keep, Subquery):
            keys, key_params = keep.sql, list(keep.params)
        else:
            keys, key_params = "SELECT unnest(?)", [list(keep)]
        return self.delete(
            table,
            f"{_WINDOW}{_and(where)} AND {key_column} NOT IN ({keys})",
            [start, end, *params, *key_params],
        )

    def upsert_newer(
        self, table: str, key_column: str, version_column: str, rows: Sequence[dict[str, Any]]
    ) -> int:
        """Each row replaces the stored row of its key unless the stored one is newer by `version_column`.

        Two writers projecting the same keys in either order leave the newest version of each.
        """
        if not rows:
            return 0
        con = self._connection()
        target = f"{RAW_SCHEMA}.{table}"
        view = f"_upsert_{uuid.uuid4().hex[:8]}"
        con.register(view, duckdb_store.arrow_rows(table, rows))
        try:
            con.execute(
                f"DELETE FROM {target} t USING {view} v "
                f"WHERE t.{key_column} = v.{key_column} AND t.{version_column} <= v.{version_column}"
            )
            con.execute(
                f"INSERT INTO {target} BY NAME SELECT v.* FROM {view} v "
                f"WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{key_column} = v.{key_column})"
            )
        finally:
            con.unregister(view)
        return len(rows)

    def _connection(self) -> Any:
        if self._con is None:
            raise RuntimeError("this warehouse writer's transaction has ended; open a new one")
        return self._con

    def _close(self) -> None:
        self._con = None


def _and(predicate: str) -> str:
    return f" AND ({predicate})" if predicate else ""


# --- How this process has each file open ----------------------------------------------------------------------


class _FileUse:
    """This process's connections to one file. DuckDB keeps one database instance per file and process and
    refuses a read-only connection beside a read-write one, or the reverse ("different configuration"). So while
    a writer is open here a reader shares its instance (a read-write connection that only reads, and sees only
    committed rows), and a writer waits, bounded, for this process's read-only connections to close."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._read_only = 0
        self._read_write = 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[bool]:
        """Yields whether the reader opens read-only (False: a writer of this process has the file open)."""
        with self._changed:
            read_only = not self._read_write
            if read_only:
                self._read_only += 1
            else:
                self._read_write += 1
        try:
            yield read_only
        finally:
            self._release(read_only)

    @contextlib.contextmanager
    def writing(self, path: str) -> Iterator[None]:
        budget = duckdb_store.lock_wait_seconds()
        with self._changed:
            if not self._changed.wait_for(lambda: not self._read_only, timeout=budget):
                raise duckdb_store.WarehouseLocked(
                    f"{path} is held read-only by this process ({self._read_only} connection(s)) for more than "
                    f"{budget:g} s (CONVO_INTEL_WAREHOUSE_LOCK_WAIT_SECONDS): a writer opened inside a read?"
                )
            self._read_write += 1
        try:
            yield
        finally:
            self._release(False)

    def _release(self, read_only: bool) -> None:
        with self._changed:
            if read_only:
                self._read_only -= 1
            else:
                self._read_write -= 1
            self._changed.notify_all()


_uses: dict[str, _FileUse] = {}
# Per file: the (device, inode) this process last set the schema up on. A file replaced since (a new inode) is
# set up again; later connections to the same file skip even the catalog check.
_schema_ready: dict[str, tuple[int, int]] = {}
_registry_lock = threading.Lock()


def _key(path: str) -> str:
    return os.path.abspath(path)


def _use(path: str) -> _FileUse:
    with _registry_lock:
        return _uses.setdefault(_key(path), _FileUse())


def _identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _schema_set_up(path: str) -> bool:
    identity = _identity(path)
    return identity is not None and _schema_ready.get(_key(path)) == identity


@contextlib.contextmanager
def _read_write(path: str) -> Iterator[Any]:
    """A read-write connection, the schema set up once per process and file."""
    with _use(path).writing(path):
        existed = os.path.exists(path)  # a new file may get a deleted one's inode number: never trust it
        with duckdb_store.connect(path) as con:
            with _registry_lock:
                if not existed or not _schema_set_up(path):
                    duckdb_store.ensure_schema(con)
                    identity = _identity(path)
                    if identity is not None:
                        _schema_ready[_key(path)] = identity
            yield con


@contextlib.contextmanager
def read(path: str) -> Iterator[Any]:
    """A connection for reading. Read-only, which DuckDB cannot open on a file that does not exist yet: then the
    file is made (with its schema, so queries find empty tables), as the first write would."""
    if not os.path.exists(path):
        with _read_write(path) as con:
            yield con
        return
    with _use(path).reading() as read_only, duckdb_store.connect(path, read_only=read_only) as con:
        yield con


def query(path: str, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Rows as dicts, on a read-only connection.

    A file from an older version may lack a table or column this version reads: when a query fails so and this
    process has not set this file's schema up yet, it does that (one writer, once) and asks again.
    """
    try:
        return _rows(path, sql, params)
    except (duckdb.CatalogException, duckdb.BinderException):
        if _schema_set_up(path):
            raise
    with _read_write(path):
        pass
    return _rows(path, sql, params)


def _rows(path: str, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    with read(path) as con:
        cur = con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@contextlib.contextmanager
def write(path: str) -> Iterator[WarehouseWriter]:
    """One connection, one transaction: committed when the block ends, rolled back if it raises.

    Waits (bounded, naming the holder) while another process holds the file, like every connection
    (:func:`duckdb_store.connect`). For code that has the file's path rather than the resource.
    """
    with _read_write(path) as con, duckdb_store.transaction(con):
        writer = WarehouseWriter(con)
        try:
            yield writer
        finally:
            writer._close()


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse. Connections are opened per write and closed at once (one-writer rule)."""

    path: str = Field(
        default="", description="Live DuckDB file the pipeline writes (env CONVO_INTEL_WAREHOUSE)."
    )
    analyst_path: str = Field(
        default="",
        description="Published read-only copy for analysts (env CONVO_INTEL_ANALYST_WAREHOUSE; default beside path).",
    )

    @model_validator(mode="before")
    @classmethod
    def _paths(cls, data: Any) -> Any:
        # Built again in every run: paths not given come from that run's environment, through the one function
        # that dbt's profile agrees with.
        if not isinstance(data, dict) or any(isinstance(v, dg.EnvVar) for v in data.values()):
            return data  # an EnvVar is resolved by Dagster at run time, and this runs again then
        paths = warehouse_paths(data.get("path") or None, data.get("analyst_path") or None)
        return {**data, "path": str(paths.live), "analyst_path": str(paths.analyst)}

    @contextlib.contextmanager
    def writer(self) -> Iterator[WarehouseWriter]:
        """The only way pipeline code writes: see :func:`write`."""
        with write(self.path) as writer:
            yield writer

    def write(self, fn: Callable[[WarehouseWriter], T]) -> T:
        with self.writer() as writer:
            return fn(writer)

    async def awrite(self, fn: Callable[[WarehouseWriter], T]) -> T:
        """`fn` in one write transaction on a worker thread: a coroutine's event loop never waits on DuckDB."""
        return await asyncio.to_thread(self.write, fn)

    @contextlib.contextmanager
    def read(self) -> Iterator[Any]:
        with read(self.path) as con:
            yield con

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return query(self.path, sql, params)

    async def aquery(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return await asyncio.to_thread(query, self.path, sql, params)

    @contextlib.contextmanager
    def connection(self, read_only: bool = False) -> Iterator[Any]:
        """A raw connection, for tests and tools that set a warehouse up; pipeline code writes with `writer`."""
        with read(self.path) if read_only else _read_write(self.path) as con:
            yield con

    def replace_partition(
        self,
        table: str,
        start: date,
        end: date,
        rows: Sequence[dict[str, Any]],
        extra_predicate: str = "",
        params: Sequence[Any] = (),
    ) -> int:
        with self.writer() as writer:
            return writer.replace_partition(table, start, end, rows, extra_predicate, params)

    def publish_snapshot(self) -> dict[str, Any]:
        return duckdb_store.publish_snapshot(self.path, self.analyst_path)
