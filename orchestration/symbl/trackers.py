"""Tracker vocabulary as code: `trackers.yaml` in the repo is the source of truth for what Symbl tracks.

The file is validated against Symbl's documented tracker rules before anything is sent (at most 500 trackers per
account, unique names, 1-50 terms per tracker, no duplicate terms, only ``.`` ``'`` ``-`` punctuation), so a bad
edit fails with a message naming the tracker instead of a 400 from Symbl halfway through a sync.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TRACKERS_FILE = Path(__file__).resolve().parents[2] / "trackers.yaml"

# Symbl's account and tracker limits (symbl-api.md, "Trackers management").
MAX_TRACKERS = 500
MAX_TERMS = 50
ALLOWED_TERM_PUNCTUATION = ".'-"


class TrackerFileError(ValueError):
    """trackers.yaml is malformed; the message names the tracker and the rule broken."""


@dataclass(frozen=True)
class Tracker:
    """One tracker as the file declares it; terms keep the file's order (Symbl compares them as a set)."""

    name: str
    vocabulary: tuple[str, ...]
    description: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """``{name, vocabulary, description?}``: the shape Symbl's APIs take."""
        out: dict[str, Any] = {"name": self.name, "vocabulary": list(self.vocabulary)}
        if self.description:
            out["description"] = self.description
        return out


def normalize_term(term: str) -> str:
    """A term as Symbl stores it: surrounding whitespace dropped and inner runs collapsed to one space."""
    return " ".join(term.split())


def trackers_file() -> Path:
    return Path(os.environ.get("CONVO_INTEL_TRACKERS_FILE") or DEFAULT_TRACKERS_FILE)


def load_tracker_definitions(path: Path | None = None, *, required: bool = False) -> list[Tracker]:
    """The file's trackers, validated. A missing file is ``[]`` unless ``required`` (then an error): a sync
    must never read "no file" as "delete every tracker".
    """
    path = path or trackers_file()
    if not path.exists():
        if required:
            raise TrackerFileError(f"{path}: trackers file not found")
        return []
    doc = yaml.safe_load(path.read_text()) or {}
    items = doc.get("trackers") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise TrackerFileError(f"{path}: top-level `trackers` must be a list")
    if len(items) > MAX_TRACKERS:
        raise TrackerFileError(f"{path}: {len(items)} trackers (Symbl allows {MAX_TRACKERS} per account)")
    out: list[Tracker] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        tracker = _parse_tracker(path, i, item)
        if tracker.name.lower() in seen:
            raise TrackerFileError(
                f"{path}: tracker {tracker.name!r} is defined twice (names must be unique)"
            )
        seen.add(tracker.name.lower())
        out.append(tracker)
    return out


def _parse_tracker(path: Path, index: int, item: Any) -> Tracker:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        raise TrackerFileError(f"{path}: trackers[{index}].name is required")
    name = item["name"].strip()
    vocab = item.get("vocabulary")
    if not isinstance(vocab, list) or not vocab or not all(isinstance(t, str) and t.strip() for t in vocab):
        raise TrackerFileError(f"{path}: tracker {name!r} needs a non-empty list of string terms")
    terms = [normalize_term(t) for t in vocab]
    if len(terms) > MAX_TERMS:
        raise TrackerFileError(f"{path}: tracker {name!r} has {len(terms)} terms (Symbl allows {MAX_TERMS})")
    if len({t.lower() for t in terms}) != len(terms):
        raise TrackerFileError(f"{path}: tracker {name!r} repeats a term")
    bad = [
        t for t in terms if any(not (c.isalnum() or c.isspace() or c in ALLOWED_TERM_PUNCTUATION) for c in t)
    ]
    if bad:
        raise TrackerFileError(f"{path}: tracker {name!r} term {bad[0]!r} has punctuation other than . ' -")
    description = item.get("description")
    if description is not None and not isinstance(description, str):
        raise TrackerFileError(f"{path}: tracker {name!r} description must be text")
    return Tracker(name=name, vocabulary=tuple(terms), description=(description or "").strip() or None)


def load_trackers(path: Path | None = None) -> list[dict[str, Any]]:
    """[{name, vocabulary, description?}] validated against Symbl's documented tracker rules."""
    return [t.as_dict() for t in load_tracker_definitions(path)]
