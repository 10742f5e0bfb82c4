"""The replay cache of signed platform requests: one claim file per signature, shared by every receiver process.

A claim is created with ``O_CREAT | O_EXCL``, so two processes (or two concurrent requests) presenting the same
signature cannot both win, and it lives on disk in the inbox, so a restart does not forget it. The claim names the
event it reserved; the event is written after the claim. That order never loses an event:

* the event write fails -> the receiver releases the claim and answers 500; the sender's retry is accepted;
* the process dies between claim and event -> the claim points at an event that does not exist; once the claim
  is older than ``IN_FLIGHT_SECONDS`` a retry takes it over (younger: the first request may still be writing, so
  the duplicate gets 409 and the first one answers).

Claims older than twice the signature window are deleted: a request that old is refused as stale anyway.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from pathlib import Path

from orchestration.defs.webhooks.inbox import atomic_write, event_exists, fsync_dir

REPLAY_DIR = "replay"
IN_FLIGHT_SECONDS = 30.0
PRUNE_EVERY_SECONDS = 60.0
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class ReplayCache:
    def __init__(self, inbox_dir: str | Path, window_seconds: float) -> None:
        self.inbox_dir = Path(inbox_dir)
        self.directory = self.inbox_dir / REPLAY_DIR
        self.window_seconds = window_seconds
        self._last_prune = 0.0
        self._prune_lock = threading.Lock()

    def _path(self, signature: str) -> Path:
        if not _SIGNATURE.fullmatch(signature):
            raise ValueError("a replay-cache key is a hex SHA-256 signature")
        return self.directory / signature

    def claim(self, signature: str, event_name: str) -> bool:
        """Reserve ``signature`` for the event about to be written; False if the signature was seen before."""
        self._maybe_prune()
        path = self._path(signature)
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._take_over_abandoned(path, event_name)
        try:
            os.write(fd, event_name.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(self.directory)
        return True

    def _take_over_abandoned(self, path: Path, event_name: str) -> bool:
        try:
            reserved = path.read_text("ascii").strip()
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return self.claim(path.name, event_name)  # pruned meanwhile: claim afresh
        if (reserved and event_exists(self.inbox_dir, reserved)) or age < IN_FLIGHT_SECONDS:
            return False
        # The first request died before its event landed: it never got a 202, so this retry is not a replay.
        atomic_write(path, event_name.encode("ascii"))
        return True

    def release(self, signature: str) -> None:
        """Give a claim back after the event could not be written, so that the sender's retry is accepted."""
        with contextlib.suppress(FileNotFoundError):
            self._path(signature).unlink()

    def _maybe_prune(self) -> None:
        now = time.time()
        if now - self._last_prune < PRUNE_EVERY_SECONDS or not self._prune_lock.acquire(blocking=False):
            return
        try:
            self._last_prune = now
            cutoff = now - 2 * self.window_seconds
            with contextlib.suppress(FileNotFoundError):
                for entry in os.scandir(self.directory):
                    with contextlib.suppress(FileNotFoundError):
                        if entry.stat().st_mtime < cutoff:
                            os.unlink(entry.path)
        finally:
            self._prune_lock.release()
