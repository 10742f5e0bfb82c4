"""The durable per-call event log: one JSON line per live event, fsync'ed before the event is acted on.

Layout under the live directory (``CONVO_INTEL_LIVE_DIR``, default ``var/live``)::

    events/<call_id>.jsonl   every server message and every client-side happening (connect, drop, resend, end)
    audio/<call_id>.raw      the call's audio as sent (the recording used if the live stream lost audio)
    calls/<call_id>.json     the call's summary once it ended (written last, atomically: "this call is done")

A live call never touches the warehouse: the pipeline's sensor reads these files and its asset lands them.
Group commit: a record the client acts on (a final result, a typed result, a system message) is fsync'ed
before it is acted on, and that fsync also covers every record written before it; interim recognition results
(which nothing acts on, and which the next final supersedes) are written without an fsync of their own.
Records carry a per-call sequence number so a reader can tell where it stopped; a torn last line (a crash
mid-write) is skipped by readers, and the writer starts a new line after it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EVENTS, AUDIO, CALLS = "events", "audio", "calls"


def call_paths(live_dir: str | Path, call_id: str) -> tuple[Path, Path, Path]:
    root = Path(live_dir)
    return (
        root / EVENTS / f"{call_id}.jsonl",
        root / AUDIO / f"{call_id}.raw",
        root / CALLS / f"{call_id}.json",
    )


class EventLog:
    """Append-only JSONL with an fsync per record."""

    def __init__(self, path: Path, call_id: str) -> None:
        self.path = path
        self.call_id = call_id
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = list(read_events(path)) if path.exists() else []
        self.seq = existing[-1]["seq"] if existing else 0
        self._file = open(path, "ab")  # noqa: SIM115 - held open for the whole call
        if self._file.tell() and not _ends_with_newline(path):
            self._file.write(b"\n")  # close a torn line from a crash so the next record parses

    def append(
        self, kind: str, event: dict[str, Any] | str, connection: int, *, durable: bool = True
    ) -> dict[str, Any]:
        """Write one record; with ``durable`` it is fsync'ed (with every record before it) on return."""
        record = self._write(kind, event, connection)
        if durable:
            os.fsync(self._file.fileno())
        return record

    async def append_async(
        self, kind: str, event: dict[str, Any] | str, connection: int, *, durable: bool = True
    ) -> dict[str, Any]:
        """``append`` with the fsync off the event loop, so other calls' audio keeps flowing meanwhile."""
        record = self._write(kind, event, connection)
        if durable:
            await asyncio.to_thread(os.fsync, self._file.fileno())
        return record

    def _write(self, kind: str, event: dict[str, Any] | str, connection: int) -> dict[str, Any]:
        self.seq += 1
        record = {
            "call_id": self.call_id,
            "seq": self.seq,
            "at": time.time(),
            "connection": connection,
            "kind": kind,  # "server": a message from Symbl; "client": what the client did or saw happen
            "event": event,
        }
        self._file.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self._file.flush()
        return record

    def close(self) -> None:
        self._file.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def read_events(path: Path, after_seq: int = 0) -> Iterator[dict[str, Any]]:
    """Records with ``seq > after_seq``; a line that does not parse (torn by a crash) is skipped."""
    with open(path, "rb") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("seq", 0) > after_seq:
                yield record


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(json.dumps(summary, indent=1, sort_keys=True).encode())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
