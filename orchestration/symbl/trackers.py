"""Tracker vocabulary as code: `trackers.yaml` in the repo is the source of truth for what Symbl tracks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TRACKERS_FILE = Path(__file__).resolve().parents[2] / "trackers.yaml"


class TrackerFileError(ValueError):
    """trackers.yaml is malformed; the message names the tracker and the rule broken."""


def trackers_file() -> Path:
    return Path(os.environ.get("CONVO_INTEL_TRACKERS_FILE") or DEFAULT_TRACKERS_FILE)


def load_trackers(path: Path | None = None) -> list[dict[str, Any]]:
    """[{name, vocabulary, description?}] validated against Symbl's documented tracker rules."""
    path = path or trackers_file()
    if not path.exists():
        return []
    doc = yaml.safe_load(path.read_text()) or {}
    items = doc.get("trackers") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise TrackerFileError(f"{path}: top-level `trackers` must be a list")
    out, seen = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise TrackerFileError(f"{path}: trackers[{i}].name is required")
        name = item["name"].strip()
        if name.lower() in seen:
            raise TrackerFileError(f"{path}: tracker {name!r} is defined twice (names must be unique)")
        seen.add(name.lower())
        vocab = item.get("vocabulary")
        if (
            not isinstance(vocab, list)
            or not vocab
            or not all(isinstance(t, str) and t.strip() for t in vocab)
        ):
            raise TrackerFileError(f"{path}: tracker {name!r} needs a non-empty list of string terms")
        terms = [str(t).strip() for t in vocab]
        if len(terms) > 50:
            raise TrackerFileError(f"{path}: tracker {name!r} has {len(terms)} terms (Symbl allows 50)")
        if len({t.lower() for t in terms}) != len(terms):
            raise TrackerFileError(f"{path}: tracker {name!r} repeats a term")
        bad = [t for t in terms if any(not (c.isalnum() or c.isspace() or c in ".'-") for c in t)]
        if bad:
            raise TrackerFileError(
                f"{path}: tracker {name!r} term {bad[0]!r} has punctuation other than . ' -"
            )
        entry: dict[str, Any] = {"name": name, "vocabulary": terms}
        if item.get("description"):
            entry["description"] = str(item["description"])
        out.append(entry)
    return out
