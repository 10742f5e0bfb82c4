"""Tracker vocabulary as code: `trackers.yaml` in the repo is the source of truth for what Symbl tracks.

The file is validated against Symbl's documented tracker rules before anything is sent (at most 500 trackers per
account, unique names, 1-50 terms per tracker, no duplicate terms, only ``.`` ``'`` ``-`` punctuation), so a bad
edit fails with a message naming the tracker instead of a 400 from Symbl halfway through a sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

# DEFAULT_TRACKERS_FILE is re-exported (tests copy the repo's file); it is declared with its setting.
from orchestration.settings import DEFAULT_TRACKERS_FILE as DEFAULT_TRACKERS_FILE
from orchestration.settings import SymblSettings
from orchestration.validation import first_problem

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
    return SymblSettings().trackers_file


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
    if not isinstance(doc, dict):
        raise TrackerFileError(f"{path}: top-level `trackers` must be a list")
    try:
        declared = _TrackersFile.model_validate(doc)
    except ValidationError as exc:
        raise TrackerFileError(f"{path}: {_reason(exc, doc)}") from None
    return [Tracker(t.name, t.vocabulary, t.description) for t in declared.trackers]


# --- the file, declared ------------------------------------------------------------------------------------


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("is required")
    return value.strip()


def _term(value: str) -> str:
    term = normalize_term(value)
    if not term:
        raise ValueError("must be a non-empty term")
    if any(not (c.isalnum() or c.isspace() or c in ALLOWED_TERM_PUNCTUATION) for c in term):
        raise ValueError(f"{term!r} has punctuation other than . ' -")
    return term


def _vocabulary(terms: list[str]) -> tuple[str, ...]:
    if len(terms) > MAX_TERMS:
        raise ValueError(f"has {len(terms)} terms (Symbl allows {MAX_TERMS})")
    if len({t.lower() for t in terms}) != len(terms):
        raise ValueError("repeats a term")
    return tuple(terms)


def _account_limit(items: Any) -> Any:
    # Checked before the trackers themselves: a file over Symbl's account limit can never sync.
    if isinstance(items, list) and len(items) > MAX_TRACKERS:
        raise ValueError(f"lists {len(items)} trackers (Symbl allows {MAX_TRACKERS} per account)")
    return items


def _unique(trackers: list[_TrackerEntry]) -> list[_TrackerEntry]:
    seen: set[str] = set()
    for tracker in trackers:
        if tracker.name.lower() in seen:
            raise ValueError(f"tracker {tracker.name!r} is defined twice (names must be unique)")
        seen.add(tracker.name.lower())
    return trackers


class _TrackerEntry(BaseModel):
    model_config = ConfigDict(strict=True)  # YAML's own types: `name: 123` is a number, not a name

    name: Annotated[str, AfterValidator(_name)]
    vocabulary: Annotated[
        list[Annotated[str, AfterValidator(_term)]], Field(min_length=1), AfterValidator(_vocabulary)
    ]
    description: Annotated[str | None, AfterValidator(lambda text: (text or "").strip() or None)] = None


class _TrackersFile(BaseModel):
    model_config = ConfigDict(strict=True)

    trackers: Annotated[list[_TrackerEntry], BeforeValidator(_account_limit), AfterValidator(_unique)]


def _reason(exc: ValidationError, doc: dict[str, Any]) -> str:
    """The first problem, naming the tracker when it has a name: ``tracker 'Deals' (trackers[0].vocabulary[0])``."""
    problem, (error, *_) = first_problem(exc), exc.errors()
    loc = error["loc"]
    if len(loc) > 2 and loc[0] == "trackers" and isinstance(loc[1], int) and loc[2] != "name":
        item = doc["trackers"][loc[1]]
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name.strip():
            return f"tracker {name.strip()!r} ({problem.path}) {problem.cause}"
    whole_list = loc == ("trackers",) and error["type"] == "value_error"  # a rule over all of them
    return problem.joined(": " if whole_list else " ")


def load_trackers(path: Path | None = None) -> list[dict[str, Any]]:
    """[{name, vocabulary, description?}] validated against Symbl's documented tracker rules."""
    return [t.as_dict() for t in load_tracker_definitions(path)]
