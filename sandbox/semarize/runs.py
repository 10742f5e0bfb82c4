"""Run lifecycle: create (with idempotency), advance queued -> running -> terminal over time, and render.

Scoring happens when a run is first read after its ``finishes_at``; the result is stored, so every later read
(and a replayed create) returns exactly the same output without doing the work again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sandbox.semarize.conversation import TranscriptInputError
from sandbox.semarize.kits import Kit, KitRegistry
from sandbox.semarize.scoring import score_run
from sandbox.semarize.store import RunStore, StoredRun

log = logging.getLogger(__name__)

# Share of a run's time spent `queued` before it turns `running`.
QUEUED_SHARE = 0.25


def request_fingerprint(body: Mapping[str, Any]) -> str:
    """Same JSON content -> same fingerprint, whatever the key order or whitespace on the wire."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RunService:
    def __init__(
        self,
        store: RunStore,
        kits: KitRegistry,
        run_seconds: float,
        clock: Callable[[], float] = time.time,
        malformed_output_matching: str = "",
    ) -> None:
        self._store = store
        self._kits = kits
        self._run_seconds = run_seconds
        self._clock = clock
        # Fault injection: runs whose input's recording_id matches succeed with `output.bricks` as a list.
        self._malformed = re.compile(malformed_output_matching) if malformed_output_matching else None

    def create(
        self,
        kit: Kit,
        run_type: str,
        run_input: dict[str, Any],
        idempotency_key: str | None,
        fingerprint: str,
        request_id: str | None,
    ) -> tuple[StoredRun, bool]:
        """The new run (or the original one for a replayed key) and whether it was a replay."""
        now = self._clock()
        run = StoredRun(
            run_id=f"run_{uuid.uuid4().hex}",
            created_at=now,
            finishes_at=now + self._run_seconds,
            kit_code=kit.kit_code,
            kit_version_id=kit.kit_version_id,
            run_type=run_type,
            request_id=request_id,
            input=run_input,
            status="queued",
            completed_at=None,
            output=None,
            error_code=None,
            error_message=None,
            error_user_message=None,
        )
        stored, replayed = self._store.create(run, idempotency_key, fingerprint)
        return self._advance(stored), replayed

    def get(self, run_id: str) -> StoredRun | None:
        run = self._store.get(run_id)
        return self._advance(run) if run is not None else None

    def newest(self, limit: int) -> list[StoredRun]:
        return [self._advance(run) for run in self._store.newest(limit)]

    def _advance(self, run: StoredRun) -> StoredRun:
        if run.terminal:
            return run
        now = self._clock()
        if now >= run.finishes_at:
            self._store.finish(run.run_id, run.finishes_at, self._execute(run))
            finished = self._store.get(run.run_id)
            assert finished is not None
            return finished
        queued_until = run.created_at + QUEUED_SHARE * (run.finishes_at - run.created_at)
        if run.status == "queued" and now >= queued_until:
            self._store.mark_running(run.run_id)
            return replace(run, status="running")
        return run

    def _execute(self, run: StoredRun) -> dict[str, Any]:
        kit = self._kits.by_version(run.kit_version_id)
        if kit is None:  # the Kit file was removed while the run was in flight
            return _failed(
                "kit_not_found",
                f"kit version {run.kit_version_id} no longer exists",
                "This Kit version is no longer available.",
            )
        try:
            output = score_run(kit, run.input)
            if self._malformed and self._malformed.search(str(run.input.get("recording_id", ""))):
                output = {**output, "bricks": list(output.get("bricks", {}).items())}
            return {"status": "succeeded", "output": output}
        except TranscriptInputError as exc:
            return _failed(exc.code, exc.message, exc.user_message)
        except Exception:  # a scoring bug fails this run with a reason; it must not turn into a 500
            log.exception("run %s: scoring failed", run.run_id)
            return _failed(
                "run_processing_failed",
                "the Kit could not be applied to this input",
                "Semarize could not analyse this conversation.",
            )

    def seconds_until_done(self, run: StoredRun) -> float:
        return max(0.0, run.finishes_at - self._clock())


def _failed(code: str, message: str, user_message: str) -> dict[str, Any]:
    return {
        "status": "failed",
        "output": None,
        "error_code": code,
        "error_message": message,
        "error_user_message": user_message,
    }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_document(run: StoredRun) -> dict[str, Any]:
    """The run as ``GET /v1/runs/{id}`` returns it."""
    doc: dict[str, Any] = {
        "run_id": run.run_id,
        "status": run.status,
        "run_type": run.run_type,
        "kit_code": run.kit_code,
        "kit_version_id": run.kit_version_id,
        "created_at": _iso(run.created_at),
        "completed_at": _iso(run.completed_at),
        "duration_ms": round((run.completed_at - run.created_at) * 1000, 1) if run.completed_at else None,
        "output": run.output,
        "error_code": run.error_code,
        "error_message": run.error_message,
        "error_user_message": run.error_user_message,
    }
    if run.request_id is not None:
        doc["request_id"] = run.request_id
    return doc


def accepted_document(run: StoredRun) -> dict[str, Any]:
    """The short body of a 202: enough to poll."""
    return {"run_id": run.run_id, "status": run.status, "run_type": run.run_type}
