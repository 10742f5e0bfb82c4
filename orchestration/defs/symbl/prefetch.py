"""A conversation's signals fetched the moment its job completes, while the run's other jobs still wait.

`symbl_conversations` hands each conversation whose job completed in the run to a ``SignalPrefetcher``. It makes the
calls the signal assets would make (``SymblClient.get_signal`` per stored signal) while the remaining
submits and waits go on, and lands the answers in raw.symbl_responses as a signal asset stores them (endpoint = the
signal, the JSON text, fetched_at), a few conversations per transaction, from one writer off the event loop. The
signal assets then find those answers current (``signals.current_responses``) and only derive their typed tables.

It is a head start and nothing more: a fetch that fails, a write that fails, a step that stops half way leaves the
conversation's missing answers to the signal assets, which fetch them as they always did. Nothing here can fail a
recording or the step, and no answer is fetched twice in a run.
"""

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import dagster as dg

from orchestration.defs.symbl.client import SymblClient
from orchestration.defs.symbl.signal_registry import STORED
from orchestration.defs.symbl.signals import BATCH_SIZE, FETCH_CONCURRENCY, current_responses
from orchestration.defs.warehouse.resource import WarehouseResource

# Conversations landed per transaction, at most (the signal assets' batch): answers are held in memory only until
# their batch is written, and a crash loses at most the batch in flight (the signal assets then fetch those).
WRITE_BATCH = BATCH_SIZE


def signals_to_prefetch(
    configured: Sequence[str] | None, run_assets: AbstractSet[dg.AssetKey]
) -> tuple[str, ...]:
    """The signals named in the config, or else those whose signal assets are among ``run_assets``.

    By default a run prefetches only what it will land itself: its own fetches, moved earlier to overlap the
    waits, never more work than before (a run of `symbl_conversations` alone leaves every signal to the run
    that materialises it).
    """
    if configured is not None:
        unknown = sorted(set(configured) - {spec.name for spec in STORED})
        if unknown:
            raise ValueError(f"prefetch_signals: unknown signals {unknown}")
        return tuple(spec.name for spec in STORED if spec.name in configured)
    return tuple(
        spec.name for spec in STORED if any(dg.AssetKey(table) in run_assets for table in spec.tables)
    )


class SignalPrefetcher:
    """``async with SignalPrefetcher(...) as prefetch: prefetch.start(conv)``; leaving the block waits for every
    started fetch to land (or, when the block raised, abandons what has not landed yet).

    Conversation API reads do not count against the account's concurrent-job limit, so a prefetch never holds a
    job slot (that would delay the next submit); it reads with the signal assets' own bound on concurrent reads,
    one conversation per read slot, its signals one after another.
    """

    def __init__(
        self,
        client: SymblClient,
        warehouse: WarehouseResource,
        log: logging.Logger | Any,
        *,
        signals: Sequence[str] = tuple(spec.name for spec in STORED),
        concurrency: int = FETCH_CONCURRENCY,
        batch_size: int = WRITE_BATCH,
    ) -> None:
        self._client = client
        self._warehouse = warehouse
        self._log = log
        self._signals = tuple(signals)
        self._reads = asyncio.Semaphore(concurrency)
        self._batch_size = batch_size
        # Bounded: when the warehouse is slow (a lock held elsewhere), fetched answers wait here, not pile up.
        self._landing: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue(maxsize=batch_size)
        self._started: set[str] = set()
        self._fetches: set[asyncio.Task[None]] = set()
        self._writer: asyncio.Task[None] | None = None
        # conversations fetched, answers landed, skipped_answers (already landed), fetch/read/write failures
        self.tally: Counter[str] = Counter()

    async def __aenter__(self) -> "SignalPrefetcher":
        self._writer = asyncio.create_task(self._write_loop())
        # The writer ends only after the last fetch; ending before (a bug) must not leave fetches waiting on it.
        self._writer.add_done_callback(lambda _: self._cancel_fetches())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self._abandon()
            return
        await asyncio.gather(*self._fetches, return_exceptions=True)
        assert self._writer is not None
        if not self._writer.done():
            await self._landing.put(None)
        await asyncio.gather(self._writer, return_exceptions=True)

    def start(self, conversation: dict[str, Any], *, may_have_answers: bool) -> None:
        """Begin fetching one completed conversation's signals; returns at once.

        ``conversation``: conversation_id, recording_id, partition_date. ``may_have_answers``: the conversation
        existed before this run (a resumed or adopted job), so answers an earlier run landed are kept, not
        fetched again.
        """
        cid = conversation["conversation_id"]
        if cid in self._started:
            return
        self._started.add(cid)
        task = asyncio.create_task(self._fetch(conversation, may_have_answers))
        self._fetches.add(task)
        task.add_done_callback(self._fetches.discard)

    async def _fetch(self, conversation: dict[str, Any], may_have_answers: bool) -> None:
        cid = conversation["conversation_id"]
        async with self._reads:
            try:
                signals = await self._unlanded(conversation) if may_have_answers else self._signals
            except Exception as exc:  # the signal assets decide from the warehouse themselves
                self._log.warning(f"prefetch {cid}: could not read its stored answers ({exc}); leaving it")
                self.tally["read_failures"] += 1
                return
            self.tally["skipped_answers"] += len(self._signals) - len(signals)
            rows: list[dict[str, Any]] = []
            for signal in signals:
                try:
                    body = await self._client.get_signal(cid, signal)
                except Exception as exc:  # its signal asset fetches it, and records the error if it recurs
                    self.tally["fetch_failures"] += 1
                    self._log.info(f"prefetch {cid} {signal} failed ({exc}); its signal asset will fetch it")
                    continue
                rows.append(
                    {
                        "conversation_id": cid,
                        "partition_date": conversation["partition_date"],
                        "endpoint": signal,
                        "fetched_at": datetime.now(UTC),
                        "body": json.dumps(body),  # as the signal asset stores it
                    }
                )
            self.tally["conversations"] += 1
            if rows:
                await self._landing.put(rows)

    async def _unlanded(self, conversation: dict[str, Any]) -> tuple[str, ...]:
        def read() -> tuple[str, ...]:
            return tuple(
                s for s in self._signals if not current_responses(self._warehouse, s, [conversation])
            )

        return await asyncio.to_thread(read)

    async def _write_loop(self) -> None:
        """One writer: every answer fetched while a write was in progress goes into the next transaction."""
        done = False
        while not done:
            item = await self._landing.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self._batch_size and not self._landing.empty():
                more = self._landing.get_nowait()
                if more is None:
                    done = True
                    break
                batch.append(more)
            rows = [row for rows in batch for row in rows]
            try:
                await asyncio.to_thread(self._land, rows)
            except (
                Exception
            ) as exc:  # e.g. the live file locked past the bounded wait: the assets fetch these
                self.tally["write_failures"] += len(rows)
                self._log.warning(
                    f"prefetch: could not land {len(rows)} answers of {len(batch)} conversations ({exc}); "
                    "their signal assets will fetch them"
                )
                continue
            self.tally["answers"] += len(rows)

    def _land(self, rows: list[dict[str, Any]]) -> None:
        by_endpoint: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_endpoint.setdefault(row["endpoint"], []).append(row)
        with self._warehouse.writer() as writer:
            for (
                endpoint,
                answers,
            ) in by_endpoint.items():  # replaced, never duplicated (as the signal assets do)
                ids = [a["conversation_id"] for a in answers]
                writer.replace_ids(
                    "symbl_responses", "conversation_id", ids, answers, "endpoint = ?", [endpoint]
                )

    def _cancel_fetches(self) -> None:
        for task in list(self._fetches):
            task.cancel()

    def _abandon(self) -> None:
        """What has landed stays (whole transactions); the rest is the signal assets' to fetch."""
        self._cancel_fetches()
        if self._writer is not None:
            self._writer.cancel()
