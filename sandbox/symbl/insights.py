"""From a conversation's utterances to its insights, complete or partial.

The text intelligence lives in ``sandbox.intelligence``; this module adapts it behind a small
``InsightsEngine`` seam (so the job runner does not care how insights are made), resolves which trackers a job
uses, and computes the partial view of a conversation whose job is still running (the messages recognised so
far, in proportion to the job's progress), with a small cache because clients poll.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from sandbox.symbl import speakers
from sandbox.symbl.options import SubmitOptions
from sandbox.symbl.repository import Conversation, Job, SymblRepository
from sandbox.symbl.timeline import parse_iso
from sandbox.transcript import Utterance

INSIGHT_KEYS = (
    "messages",
    "topics",
    "action_items",
    "follow_ups",
    "questions",
    "entities",
    "trackers",
    "summary",
    "members",
)
_INLINE_TRACKER_NAMESPACE = uuid.UUID("6f0c3e0e-5b1f-4f57-9a55-2f1d3c1b7a10")


class InsightsEngine(Protocol):
    def __call__(
        self,
        conversation_id: str,
        start_time: datetime,
        utterances: Sequence[Utterance],
        *,
        detect_entities: bool,
        custom_entities: tuple[dict[str, Any], ...],
        trackers: tuple[dict[str, Any], ...],
        confidence_threshold: float,
        enable_summary: bool,
    ) -> dict[str, Any]: ...


def intelligence_engine(
    conversation_id: str,
    start_time: datetime,
    utterances: Sequence[Utterance],
    *,
    detect_entities: bool,
    custom_entities: tuple[dict[str, Any], ...],
    trackers: tuple[dict[str, Any], ...],
    confidence_threshold: float,
    enable_summary: bool,
) -> dict[str, Any]:
    """The production engine: ``sandbox.intelligence.analyze``, returned as plain Symbl-shaped dicts."""
    from sandbox.intelligence import AnalysisOptions, analyze

    options = AnalysisOptions(
        detect_entities=detect_entities,
        custom_entities=custom_entities,
        trackers=trackers,
        confidence_threshold=confidence_threshold,
        enable_summary=enable_summary,
    )
    return dataclasses.asdict(analyze(conversation_id, start_time, utterances, options))


class ProcessPoolEngine:
    """``intelligence_engine`` in worker processes, so that the CPU-bound analysis of finished jobs runs on other
    cores instead of sharing the server's GIL with its event loop (at concurrency 25 the sandbox was CPU-bound
    at ~1.6 finished jobs a second on one core, and its answers came late: the pipeline's figures then measured
    the sandbox). Each conversation is always analysed by the same worker, so that worker's keyphrase cache
    serves the conversation's re-analyses after a speaker update.

    Workers are spawned (never forked from a threaded server) on the first job and stopped by :meth:`close`.
    """

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"analysis processes must be at least 1, not {processes}")
        context = multiprocessing.get_context("spawn")
        self._pools = [ProcessPoolExecutor(max_workers=1, mp_context=context) for _ in range(processes)]

    def __call__(
        self, conversation_id: str, start_time: datetime, utterances: Sequence[Utterance], **options: Any
    ) -> dict[str, Any]:
        """As ``intelligence_engine`` (its keyword options passed on as they are), in the conversation's worker."""
        pool = self._pools[zlib.crc32(conversation_id.encode()) % len(self._pools)]
        return pool.submit(
            intelligence_engine, conversation_id, start_time, tuple(utterances), **options
        ).result()

    def worker_pids(self) -> list[int]:
        """Each worker's process id (asking spawns a worker not started yet)."""
        return [pool.submit(os.getpid).result() for pool in self._pools]

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)


def empty_insights() -> dict[str, Any]:
    return {**{key: [] for key in INSIGHT_KEYS}, "analytics": {"metrics": [], "members": []}}


def inline_tracker(raw: dict[str, Any]) -> dict[str, Any]:
    """A tracker given inline at submit: its id is derived from its name so it is stable across jobs."""
    name = raw["name"]
    return {"id": str(uuid.uuid5(_INLINE_TRACKER_NAMESPACE, name.lower())), **raw}


class InsightsService:
    def __init__(self, repository: SymblRepository, engine: InsightsEngine, cache_size: int = 256) -> None:
        self._repository = repository
        self._engine = engine
        self._cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def trackers_for(self, options: SubmitOptions) -> tuple[dict[str, Any], ...]:
        """Inline trackers from the submit, plus the account's with ``enableAllTrackers`` (inline wins)."""
        chosen = {t["name"].lower(): inline_tracker(t) for t in options.trackers}
        if options.enable_all_trackers:
            for tracker in self._repository.list_trackers():
                chosen.setdefault(
                    tracker["name"].lower(),
                    {"id": tracker["id"], "name": tracker["name"], "vocabulary": tracker["vocabulary"]},
                )
        return tuple(chosen.values())

    def analyze(
        self,
        conversation: Conversation,
        utterances: Sequence[Utterance],
        options: SubmitOptions,
        *,
        enable_summary: bool | None = None,
    ) -> dict[str, Any]:
        if not utterances:
            return empty_insights()
        updates = self._repository.speaker_updates(conversation.id)
        if updates:
            utterances = speakers.apply_updates(conversation.id, utterances, updates)
        ordered = sorted(utterances, key=lambda u: (u.start, u.end))
        return self._engine(
            conversation.id,
            parse_iso(conversation.start_time, "startTime"),
            ordered,
            detect_entities=options.detect_entities,
            custom_entities=options.custom_entities,
            trackers=self.trackers_for(options),
            confidence_threshold=options.confidence_threshold,
            enable_summary=options.enable_summary if enable_summary is None else enable_summary,
        )

    def reanalyze(self, conversation: Conversation) -> None:
        """Analyse a finished conversation again (after a speaker update) and store the result."""
        jobs = [j for j in self._repository.jobs_of(conversation.id) if j.status == "completed"]
        if not jobs:
            return
        utterances = [u for j in jobs for u in j.utterances or ()]
        summary = any(j.options.enable_summary for j in jobs)
        insights = self.analyze(conversation, utterances, jobs[-1].options, enable_summary=summary)
        self._repository.save_insights(conversation.id, insights)
        with self._lock:
            self._cache.clear()

    def current(self, conversation: Conversation) -> tuple[dict[str, Any], bool]:
        """The conversation's insights now, and whether a job on it still runs (then they are partial)."""
        if not self._repository.has_active_jobs(conversation.id):
            return conversation.insights or empty_insights(), False
        jobs = self._repository.jobs_of(conversation.id)
        active = [j for j in jobs if j.active]
        if not active:  # finished between the two reads: serve the stored result
            latest = self._repository.get_conversation(conversation.id) or conversation
            return latest.insights or empty_insights(), False
        now = time.time()
        visible: list[Utterance] = []
        key_parts: list[tuple[str, int]] = []
        for job in jobs:
            if job.status == "completed" and job.utterances:
                visible.extend(job.utterances)
                key_parts.append((job.id, len(job.utterances)))
            elif job.active and job.placed and job.utterances:
                revealed = _revealed(job, now)
                visible.extend(revealed)
                key_parts.append((job.id, len(revealed)))
        key = (conversation.id, tuple(key_parts))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached, True
        insights = self.analyze(conversation, visible, active[-1].options)
        with self._lock:
            self._cache[key] = insights
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return insights, True


def _revealed(job: Job, now: float) -> list[Utterance]:
    """Utterances 'recognised so far': those ending within the processed share of the job's media."""
    assert job.utterances is not None
    first = min(u.start for u in job.utterances)
    last = max(u.end for u in job.utterances)
    horizon = first + (last - first) * job.progress(now)
    return [u for u in job.utterances if u.end <= horizon]
