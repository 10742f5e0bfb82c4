"""The warehouse's one write API (`WarehouseResource.writer`) and its read-only reads."""

import asyncio
import threading
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from orchestration.defs.warehouse import duckdb_store, resource
from orchestration.defs.warehouse.resource import Subquery, WarehouseResource

D1, D2, D3 = date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 3)


def _warehouse(tmp_path: Path) -> WarehouseResource:
    return WarehouseResource(
        path=str(tmp_path / "live.duckdb"), analyst_path=str(tmp_path / "analyst.duckdb")
    )


def _turn(cid: str, day: date, index: int = 0, text: str = "hi") -> dict[str, Any]:
    return {
        "conversation_id": cid,
        "recording_id": f"rec-{cid}",
        "partition_date": day,
        "turn_index": index,
        "speaker_name": "A",
        "text": text,
        "message_count": 1,
    }


def _turns(warehouse: WarehouseResource) -> list[tuple[Any, ...]]:
    rows = warehouse.query(
        "SELECT conversation_id, partition_date, turn_index, text FROM raw.transcripts ORDER BY ALL"
    )
    return [tuple(r.values()) for r in rows]


@pytest.fixture
def ensure_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every schema set-up this process runs, by the path it ran on."""
    calls: list[str] = []
    real = duckdb_store.ensure_schema

    def counting(con: Any) -> None:
        calls.append(
            con.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchone()[0]
        )
        real(con)

    monkeypatch.setattr(duckdb_store, "ensure_schema", counting)
    return calls


def test_a_block_that_raises_leaves_every_table_as_it_was(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    with warehouse.writer() as w:
        w.insert("transcripts", [_turn("c1", D1)])
    before = _turns(warehouse)
    with pytest.raises(RuntimeError, match="boom"), warehouse.writer() as w:
        w.replace_partition("transcripts", D1, D2, [_turn("c2", D1)])
        w.insert("transcripts", [_turn("c3", D2)])
        assert w.delete("transcripts", "true") == 2  # the block sees its own writes
        raise RuntimeError("boom")
    assert _turns(warehouse) == before
    with pytest.raises(RuntimeError, match="ended"):
        w.insert("transcripts", [_turn("c4", D1)])  # a writer is only good inside its block


def test_replace_partition_replaces_exactly_the_window_and_its_predicate(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    with warehouse.writer() as w:
        w.insert("transcripts", [_turn("a", D1), _turn("b", D2), _turn("c", D3), _turn("k", D2, 1, "keep")])
    with warehouse.writer() as w:
        assert w.replace_partition("transcripts", D2, D3, [_turn("new", D2)], "text <> ?", ["keep"]) == 1
    assert _turns(warehouse) == [
        ("a", D1, 0, "hi"),  # before the window
        ("c", D3, 0, "hi"),  # the window's end is exclusive
        ("k", D2, 1, "keep"),  # in the window, but not selected by the predicate
        ("new", D2, 0, "hi"),
    ]


def test_replace_ids_then_retain_ids_keep_a_batched_window_exact(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    with warehouse.writer() as w:
        w.insert(
            "transcripts",
            [_turn("a", D1), _turn("a", D1, 1), _turn("b", D1), _turn("gone", D1), _turn("x", D2)],
        )
    # A re-run lands its batches (a has one turn now, b is new text) ...
    with warehouse.writer() as w:
        assert (
            w.replace_ids(
                "transcripts", "conversation_id", ["a", "b"], [_turn("a", D1), _turn("b", D1, 0, "new")]
            )
            == 2
        )
    # ... then what it no longer produces in its window goes, and nothing outside the window.
    with warehouse.writer() as w:
        assert w.retain_ids("transcripts", D1, D2, "conversation_id", ["a", "b"]) == 1
    assert _turns(warehouse) == [("a", D1, 0, "hi"), ("b", D1, 0, "new"), ("x", D2, 0, "hi")]
    # Keys from a SELECT, and a predicate scoping which rows the asset owns.
    with warehouse.writer() as w:
        w.insert("recording_rejections", [
            {"partition_date": D1, "source_file": "f", "recording_id": r, "stage": s, "reason": "r",
             "rejected_at": "2026-04-01T00:00:00+00:00"}
            for r, s in (("rec-a", "semarize"), ("rec-zzz", "semarize"), ("rec-zzz", "manifest"))
        ])  # fmt: skip
        kept = Subquery("SELECT recording_id FROM raw.transcripts WHERE partition_date >= ?", [D1])
        assert (
            w.retain_ids("recording_rejections", D1, D2, "recording_id", kept, "stage = ?", ["semarize"]) == 1
        )
    left = warehouse.query("SELECT recording_id, stage FROM raw.recording_rejections ORDER BY ALL")
    assert [tuple(r.values()) for r in left] == [("rec-a", "semarize"), ("rec-zzz", "manifest")]


def test_batches_inserted_in_one_transaction_are_not_all_kept_in_arrow_until_it_ends(tmp_path: Path) -> None:
    """A day's recordings go in batch by batch in one transaction: each batch's Arrow copy is freed as DuckDB
    reads it, so the transaction holds the rows once (DuckDB's), not also every batch's Arrow table."""
    warehouse = _warehouse(tmp_path)
    batch = [_turn(f"c{i}", D1, text="x" * 2000) for i in range(200)]  # ~400 KB of Arrow a batch
    with warehouse.writer() as writer:
        held = []
        for n in range(20):
            writer.insert("transcripts", [{**t, "turn_index": n} for t in batch])
            held.append(pa.total_allocated_bytes())
    assert max(held) < 1_000_000, held  # all 20 kept would be ~8 MB
    assert warehouse.query("SELECT count(*) AS n FROM raw.transcripts")[0]["n"] == 4000


def test_upsert_newer_keeps_the_newest_version_of_each_key(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)

    def row(rid: str, status: str, hour: int) -> dict[str, Any]:
        return {"recording_id": rid, "partition_date": D1, "status": status, "attempts": 1,
                "updated_at": f"2026-04-01T{hour:02d}:00:00+00:00"}  # fmt: skip

    with warehouse.writer() as w:
        w.upsert_newer("symbl_conversations", "recording_id", "updated_at", [row("r1", "completed", 9)])
    with warehouse.writer() as w:  # a slower run's older state, and a new recording
        w.upsert_newer(
            "symbl_conversations",
            "recording_id",
            "updated_at",
            [row("r1", "failed", 8), row("r2", "submitted", 8)],
        )
    stored = warehouse.query("SELECT recording_id, status FROM raw.symbl_conversations ORDER BY 1")
    assert [tuple(r.values()) for r in stored] == [("r1", "completed"), ("r2", "submitted")]


def test_a_read_opens_read_only_and_never_sets_the_schema_up(tmp_path: Path, ensure_calls: list[str]) -> None:
    warehouse = _warehouse(tmp_path)
    with duckdb.connect(warehouse.path) as con:  # a file this process never set up (another process made it)
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.recordings (recording_id VARCHAR)")
    with warehouse.read() as con, pytest.raises(duckdb.InvalidInputException, match="read-only"):
        con.execute("CREATE TABLE raw.nope (x INTEGER)")
    assert warehouse.query("SELECT count(*) AS n FROM raw.recordings") == [{"n": 0}]
    assert ensure_calls == []
    assert [r[0] for r in duckdb.connect(warehouse.path, read_only=True).execute(
        "SELECT table_name FROM duckdb_tables()").fetchall()] == ["recordings"]  # fmt: skip


def test_a_read_of_a_missing_file_makes_it_with_its_schema(tmp_path: Path, ensure_calls: list[str]) -> None:
    warehouse = _warehouse(tmp_path)
    assert warehouse.query("SELECT count(*) AS n FROM raw.transcripts") == [{"n": 0}]
    assert Path(warehouse.path).exists() and len(ensure_calls) == 1


def test_a_read_of_an_older_file_sets_its_schema_up_once_and_asks_again(
    tmp_path: Path, ensure_calls: list[str]
) -> None:
    warehouse = _warehouse(tmp_path)
    with duckdb.connect(warehouse.path) as con:
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.recordings (recording_id VARCHAR)")
    assert warehouse.query("SELECT count(*) AS n FROM raw.transcripts") == [{"n": 0}]
    with pytest.raises(duckdb.CatalogException):  # a real mistake is not retried a second time
        warehouse.query("SELECT * FROM raw.no_such_table")
    assert len(ensure_calls) == 1


def test_schema_set_up_runs_once_per_process_and_file(tmp_path: Path, ensure_calls: list[str]) -> None:
    warehouse = _warehouse(tmp_path)
    for _ in range(3):
        with warehouse.writer() as w:
            w.insert("transcripts", [_turn("a", D1)])
        warehouse.query("SELECT 1")
    assert len(ensure_calls) == 1
    other = WarehouseResource(path=str(tmp_path / "other.duckdb"), analyst_path=str(tmp_path / "a2.duckdb"))
    with other.writer():
        pass
    assert len(ensure_calls) == 2  # another file is set up on its own
    Path(warehouse.path).unlink()
    with warehouse.writer() as w:  # a new file at the same path is set up again
        w.insert("transcripts", [_turn("a", D1)])
    assert len(ensure_calls) == 3


def test_a_read_while_this_process_writes_sees_the_committed_rows(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    with warehouse.writer() as w:
        w.insert("transcripts", [_turn("a", D1)])
    with warehouse.writer() as w:
        w.insert("transcripts", [_turn("b", D1)])
        # DuckDB refuses a read-only connection beside this one: the read shares the writer's database instead,
        # in its own transaction (the uncommitted row is not seen).
        assert [r[0] for r in _turns(warehouse)] == ["a"]
    assert [r[0] for r in _turns(warehouse)] == ["a", "b"]


def test_a_writer_waits_for_this_process_readers_then_writes(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    with warehouse.writer():
        pass
    reading, release = threading.Event(), threading.Event()

    def reader() -> None:
        with warehouse.read() as con:
            con.execute("SELECT 1")
            reading.set()
            release.wait(5)

    thread = threading.Thread(target=reader)
    thread.start()
    reading.wait(5)
    threading.Timer(0.3, release.set).start()
    with (
        warehouse.writer() as w
    ):  # would be "different configuration" from DuckDB if opened beside the reader
        assert release.is_set()
        w.insert("transcripts", [_turn("a", D1)])
    thread.join(5)
    assert [r[0] for r in _turns(warehouse)] == ["a"]


def test_a_writer_inside_a_read_gives_up_after_the_bounded_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVO_INTEL_WAREHOUSE_LOCK_WAIT_SECONDS", "0.2")
    warehouse = _warehouse(tmp_path)
    with warehouse.writer():
        pass
    with (
        warehouse.read(),
        pytest.raises(duckdb_store.WarehouseLocked, match="read-only by this process"),
        warehouse.writer(),
    ):
        pass


def test_async_helpers_run_off_the_event_loop(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    loop_thread: list[int] = []
    write_thread: list[int] = []

    def write(w: resource.WarehouseWriter) -> int:
        write_thread.append(threading.get_ident())
        return w.insert("transcripts", [_turn("a", D1)])

    async def main() -> list[dict[str, Any]]:
        loop_thread.append(threading.get_ident())
        assert await warehouse.awrite(write) == 1
        return await warehouse.aquery("SELECT conversation_id FROM raw.transcripts")

    assert asyncio.run(main()) == [{"conversation_id": "a"}]
    assert write_thread != loop_thread


def test_the_path_function_builds_the_same_writer(tmp_path: Path) -> None:
    path = str(tmp_path / "live.duckdb")
    with resource.write(path) as w:
        w.insert("transcripts", [_turn("a", D1)])
    assert resource.query(path, "SELECT count(*) AS n FROM raw.transcripts") == [{"n": 1}]
