"""Signals prefetched by `symbl_conversations` the moment each job completes: real Dagster materialisations, the
sandbox over loopback HTTP, a real DuckDB file.

What must hold: the signal assets then make no Conversation API call (the sandbox's own counters) and derive the
typed rows the signal assets derive when they fetch everything themselves; a prefetch that fails leaves exactly the
failed answers to the signal assets; with prefetch off nothing changes from before. By default a run prefetches the
signals whose assets it materialises; `prefetch_signals` can name others (for a later run's signal assets).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from orchestration.defs.recordings.assets import recordings
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.symbl.conversations import symbl_conversations
from orchestration.defs.symbl.journal import Journal, journal_path_for
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.symbl.signal_registry import STORED as SIGNALS
from orchestration.defs.symbl.signals import signal_assets
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.webhooks.resource import WebhookInboxResource
from tests.conftest import RunningSandbox

DAY = "2026-05-05"
N = 5
SIGNAL_PATH = "/symbl/v1/conversations/"
# Columns stamped at write time: they differ between any two landings of the same answer.
WRITE_TIMES = ("loaded_at", "fetched_at", "updated_at", "rejected_at")


class World:
    def __init__(self, tmp_path: Path, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self.tmp = tmp_path
        self.warehouse = WarehouseResource(
            path=str(tmp_path / "live.duckdb"), analyst_path=str(tmp_path / "analyst.duckdb")
        )
        self.drop = tmp_path / "drop"
        write_corpus(self.drop, N)

    def resources(self, **symbl: Any) -> dict[str, Any]:
        return {
            # No retries: a faulted read fails at once (the fault test wants failures, not slow successes).
            "symbl": SymblResource(
                base_url=self.sandbox.symbl_url, max_retries=0, processing_rate_prior=0.002, **symbl
            ),
            "warehouse": self.warehouse,
            "webhook_inbox": WebhookInboxResource(inbox_dir=str(self.tmp / "inbox")),
            "drop_folder": DropFolderResource(root=str(self.drop), resolve_media_hosts=False),
        }

    def materialize(self, assets: list[Any], run_config: dict[str, Any] | None = None) -> Any:
        result = dg.materialize(
            assets,
            partition_key=DAY,
            resources=self.resources(),
            run_config=run_config or {},
            raise_on_error=False,
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    def ingest(self, *, with_signals: bool, prefetch: list[str] | None = None) -> Any:
        """`recordings`, then `symbl_conversations` (and, in the same run, every signal asset)."""
        self.materialize([recordings])
        config = {"ops": {"symbl_conversations": {"config": {"prefetch_signals": prefetch}}}}
        return self.materialize([symbl_conversations, *(signal_assets if with_signals else [])], config)

    def signals(self, *, refresh: bool = False) -> Any:
        ops = {a.op.name: {"config": {"refresh": refresh}} for a in signal_assets}
        return self.materialize(signal_assets, {"ops": ops})

    def calls(self) -> dict[str, int]:
        return httpx.get(f"{self.sandbox.url}/_sandbox/stats").json()["calls"]

    def faults(self, **settings: Any) -> None:
        httpx.put(f"{self.sandbox.url}/_sandbox/faults", json=settings).raise_for_status()

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(self.warehouse.path, read_only=True) as con:
            return con.execute(query).fetchall()

    def typed_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every typed signal table, without its write-time columns, in a stable order."""
        tables = sorted({t for spec in SIGNALS for t in spec.tables})
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            columns = [
                c
                for (c,) in self.sql(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' "
                    f"AND table_name = '{table}' ORDER BY ordinal_position"
                )
                if c not in WRITE_TIMES
            ]
            select = ", ".join(f"CAST({c} AS VARCHAR)" for c in columns)
            out[table] = sorted(self.sql(f"SELECT {select} FROM raw.{table}"), key=repr)
        return out

    def raw_answers(self) -> dict[tuple[str, str], Any]:
        rows = self.sql("SELECT conversation_id, endpoint, body FROM raw.symbl_responses")
        assert len(rows) == len({(c, e) for c, e, _ in rows})  # one answer per (conversation, signal)
        return {(c, e): json.loads(b) for c, e, b in rows}

    def completed(self) -> int:
        return self.sql("SELECT count(*) FROM raw.symbl_conversations WHERE status = 'completed'")[0][0]


def write_corpus(drop: Path, n: int) -> None:
    """N transcript-file recordings of one day (no speaker events: their answers may be prefetched)."""
    (drop / "manifests").mkdir(parents=True)
    (drop / "media").mkdir()
    rep = {"name": "Maya Chen", "email": "maya.chen@lumen.example"}
    buyer = {"name": "Hank Scorpio", "email": "hank@globex.example"}
    lines = [
        "Thanks for joining, what is the budget for this quarter?",
        "We have about fifty thousand dollars set aside for Globex.",
        "Great, I will send the proposal by Friday and follow up next week.",
        "Please include the pricing for the analytics tier.",
    ]
    for k in range(n):
        rid = f"rec-prefetch-{k}"
        messages = [
            {
                "speaker": rep if i % 2 == 0 else buyer,
                "text": f"{text} Call {k}.",
                "start": 4.0 * i,
                "end": 4.0 * i + 3.5,
            }
            for i, text in enumerate(lines)
        ]
        transcript = {"format": "convo-intel-transcript", "version": 1, "language_code": "en-US"}
        (drop / "media" / f"{rid}.json").write_text(json.dumps(transcript | {"messages": messages}))
        manifest = {
            "recording_id": rid,
            "start_time": f"{DAY}T12:0{k}:00Z",
            "duration_seconds": 16.0,
            "title": f"Discovery call {k}",
            "call_type": "discovery",
            "account": {"id": "acct-globex", "name": "Globex"},
            "host": rep,
            "participants": [rep | {"role": "rep"}, buyer | {"role": "prospect"}],
            "media": {"kind": "transcript_file", "path": f"media/{rid}.json"},
        }
        (drop / "manifests" / f"{rid}.json").write_text(json.dumps(manifest))


def signal_reads(calls: dict[str, int]) -> dict[str, int]:
    """Conversation API reads by route (the signals, and anything else under /v1/conversations/{id})."""
    return {route: n for route, n in calls.items() if route.startswith(f"GET {SIGNAL_PATH}")}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


def step_metadata(result: Any, asset: str) -> dict[str, Any]:
    materialization = result.asset_materializations_for_node(asset)[0]
    return {k: v.value for k, v in materialization.metadata.items()}


@pytest.fixture
def world(tmp_path: Path, sandbox_factory: Callable[..., RunningSandbox]) -> World:
    return World(tmp_path, sandbox_factory())


def test_prefetched_answers_leave_the_signal_assets_no_call_and_the_same_rows(world: World) -> None:
    before = world.calls()
    result = world.ingest(with_signals=True)  # one run: symbl_conversations, then the nine signal assets
    assert world.completed() == N
    # Every signal of every conversation was read exactly once in the run, and symbl_conversations landed all
    # of them (each from a successful read of its own): so the signal assets read nothing.
    reads = signal_reads(delta(before, world.calls()))
    assert len(reads) == len(SIGNALS) and set(reads.values()) == {N}, reads
    assert step_metadata(result, "symbl_conversations")["prefetched_answers"] == N * len(SIGNALS)
    for spec in SIGNALS:
        meta = step_metadata(result, spec.asset_name)
        assert (meta["fetched"], meta["reused"], meta["errors"]) == (0, N, 0), spec.asset_name
    assert len(world.raw_answers()) == N * len(SIGNALS)
    derived, answers = world.typed_rows(), world.raw_answers()
    assert all(derived[t] for t in ("symbl_messages", "symbl_questions", "symbl_analytics_members")), derived

    # The path without prefetch, on the same conversations: the signal assets fetch every answer themselves.
    before_refresh = world.calls()
    world.signals(refresh=True)
    assert set(signal_reads(delta(before_refresh, world.calls())).values()) == {N}
    assert world.raw_answers() == answers  # stored exactly as the signal assets store them
    assert world.typed_rows() == derived


def test_a_failed_prefetch_leaves_exactly_the_failed_answers_to_the_signal_assets(world: World) -> None:
    # Half the Conversation API reads answer 5xx while symbl_conversations runs (jobs and submits are unaffected).
    world.faults(fault_paths=[SIGNAL_PATH], fault_5xx_rate=0.5, fault_seed=12)
    # symbl_conversations alone, told to prefetch every signal (for the signal assets' run that follows).
    ingest = world.ingest(with_signals=False, prefetch=[spec.name for spec in SIGNALS])
    assert world.completed() == N  # no recording failed for it, and the step succeeded
    meta = step_metadata(ingest, "symbl_conversations")
    landed = world.raw_answers()
    assert meta["prefetch_failures"] > 0 and meta["prefetched_answers"] == len(landed) > 0, meta
    assert len(landed) < N * len(SIGNALS)

    world.faults(fault_5xx_rate=0.0, fault_paths=[])
    before = world.calls()
    result = world.signals()  # zero calls for what landed is the same as in the first test, now across runs
    reads = signal_reads(delta(before, world.calls()))
    for spec in SIGNALS:
        kept = sum(1 for (_, endpoint) in landed if endpoint == spec.name)
        meta = step_metadata(result, spec.asset_name)
        # The signal asset fetched what the prefetch could not land, and nothing it did.
        assert (meta["fetched"], meta["reused"], meta["errors"]) == (N - kept, kept, 0), spec.asset_name
        assert sum(n for route, n in reads.items() if route.endswith(route_suffix(spec.name))) == N - kept
    complete = world.raw_answers()
    assert len(complete) == N * len(SIGNALS)
    assert all(complete[key] == body for key, body in landed.items())  # prefetched answers kept as landed
    derived = world.typed_rows()

    before_refresh = world.calls()
    world.signals(refresh=True)
    assert set(signal_reads(delta(before_refresh, world.calls())).values()) == {N}
    assert world.typed_rows() == derived


def test_with_prefetch_off_the_signal_assets_fetch_everything_as_before(world: World) -> None:
    before = world.calls()
    result = world.ingest(with_signals=True, prefetch=[])
    assert world.completed() == N
    assert step_metadata(result, "symbl_conversations")["prefetched_answers"] == 0
    assert set(signal_reads(delta(before, world.calls())).values()) == {N}
    for spec in SIGNALS:
        assert step_metadata(result, spec.asset_name)["fetched"] == N, spec.asset_name


def test_a_run_that_lands_no_signal_prefetches_none(world: World) -> None:
    before = world.calls()
    result = world.ingest(with_signals=False)
    assert world.completed() == N
    assert signal_reads(delta(before, world.calls())) == {}
    assert step_metadata(result, "symbl_conversations")["prefetched_answers"] == 0
    assert world.raw_answers() == {}
    # The processing rate the run's jobs showed is kept for the next run's first polls (not the prior, 0.002).
    with Journal(journal_path_for(world.warehouse.path)) as journal:
        learnt = journal.learnt_rate()
    assert learnt is not None and 0.002 < learnt < 1.0


def route_suffix(signal: str) -> str:
    """The route a signal is read from (the client's path: underscores become hyphens)."""
    return "/" + signal.replace("_", "-")
