"""Kits as data: loading the JSON definitions, the declared brick types, and checking output against them.

A Kit file (``kits/*.json``) declares its code, version, bricks (key, type, bounds or allowed values, the rule
that scores it, enabled output fields) and the vocabulary its rules read, so a reader can tune scoring without
touching code. The same Kit version always returns the same shape: ``validate_output`` is what guarantees it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sandbox.semarize.conversation import SpeakerRoles
from sandbox.semarize.text import Phrases

KITS_DIR = Path(__file__).parent / "kits"
BRICK_TYPES = ("boolean", "score", "category", "string_or_null", "string_list")
OUTPUT_FIELDS = ("confidence", "reason", "evidence")
_KIT_CODE = re.compile(r"^[A-Z0-9]{8}$")
_BRICK_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class KitDefinitionError(ValueError):
    """A Kit file is malformed; raised at load time so that a bad Kit never reaches a run."""


@dataclass(frozen=True)
class Brick:
    key: str
    type: str
    rule: str
    description: str
    enabled_fields: tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    allowed_values: tuple[str, ...] = ()

    def schema(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"key": self.key, "type": self.type, "description": self.description}
        if self.type == "score":
            doc |= {
                "min": self.minimum,
                "max": self.maximum,
                "number_type": "integer" if self.integer else "float",
            }
        if self.type == "category":
            doc["values"] = list(self.allowed_values)  # the allowed categories
        doc["nullable"] = self.type == "string_or_null"
        doc["enabled_fields"] = ["value", *self.enabled_fields]
        return doc

    def value_problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit this brick's declared type, or None when it does."""
        if self.type == "boolean":
            return None if isinstance(value, bool) else "must be a boolean"
        if self.type == "score":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                return "must be a number"
            if self.integer and not float(value).is_integer():
                return "must be a whole number"
            assert self.minimum is not None and self.maximum is not None
            if not self.minimum <= value <= self.maximum:
                return f"must be between {_num(self.minimum)} and {_num(self.maximum)}"
            return None
        if self.type == "category":
            return (
                None if value in self.allowed_values else f"must be one of {', '.join(self.allowed_values)}"
            )
        if self.type == "string_or_null":
            return None if value is None or isinstance(value, str) else "must be a string or null"
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return None
        return "must be a list of strings"


class Vocabulary:
    """The named word lists a Kit's rules read, compiled once per Kit."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw
        self._phrases: dict[str, Phrases] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def phrases(self, name: str) -> Phrases:
        if name not in self._phrases:
            self._phrases[name] = Phrases.of(self._raw[name])
        return self._phrases[name]

    def groups(self, name: str) -> dict[str, Phrases]:
        """A mapping of label -> word list, e.g. discovery areas or severity levels (file order kept)."""
        return {label: Phrases.of(terms) for label, terms in self._raw[name].items()}

    def words(self, name: str) -> list[str]:
        return list(self._raw[name])

    def mapping(self, name: str) -> dict[str, Any]:
        return dict(self._raw[name])

    def text(self, name: str) -> str:
        return str(self._raw[name])

    def number(self, name: str) -> float:
        return float(self._raw[name])

    def patterns(self, name: str) -> list[re.Pattern[str]]:
        return [re.compile(p, re.IGNORECASE) for p in self._raw[name]]


@dataclass(frozen=True)
class Kit:
    kit_code: str
    kit_version_id: str
    version: int
    name: str
    description: str
    bricks: tuple[Brick, ...]
    max_evidence: int
    vocabulary_raw: Mapping[str, Any] = field(repr=False)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(self.vocabulary_raw)

    @cached_property
    def speaker_roles(self) -> SpeakerRoles:
        return SpeakerRoles(
            rep_labels=self.vocabulary.phrases("rep_speaker_labels"),
            customer_labels=self.vocabulary.phrases("customer_speaker_labels"),
        )

    def schema(self) -> dict[str, Any]:
        return {
            "kit_code": self.kit_code,
            "kit_version_id": self.kit_version_id,
            "version": self.version,
            "name": self.name,
            "description": self.description,
            "output_fields": ["value", *OUTPUT_FIELDS],
            "bricks": [b.schema() for b in self.bricks],
        }

    def validate_output(self, output: Any) -> list[dict[str, str]]:
        """Every way ``output`` (``{"bricks": {...}}``) departs from this Kit's declared shape."""
        if not isinstance(output, Mapping) or not isinstance(output.get("bricks"), Mapping):
            return [{"path": "output.bricks", "problem": "must be an object keyed by brick"}]
        problems: list[dict[str, str]] = []
        bricks = output["bricks"]
        declared = {b.key: b for b in self.bricks}
        for key in bricks.keys() - declared.keys():
            problems.append({"path": f"output.bricks.{key}", "problem": "is not a brick of this kit"})
        for brick in self.bricks:
            path = f"output.bricks.{brick.key}"
            entry = bricks.get(brick.key)
            if not isinstance(entry, Mapping):
                problems.append({"path": path, "problem": "is missing or not an object"})
                continue
            if "value" not in entry:
                problems.append({"path": f"{path}.value", "problem": "is required"})
            elif (problem := brick.value_problem(entry["value"])) is not None:
                problems.append({"path": f"{path}.value", "problem": problem})
            problems += _field_problems(path, entry, brick)
        return problems


def _field_problems(path: str, entry: Mapping[str, Any], brick: Brick) -> list[dict[str, str]]:
    problems = []
    confidence = entry.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1
    ):
        problems.append({"path": f"{path}.confidence", "problem": "must be a number between 0 and 1"})
    reason = entry.get("reason")
    if reason is not None and not isinstance(reason, str):
        problems.append({"path": f"{path}.reason", "problem": "must be a string"})
    evidence = entry.get("evidence")
    # The public examples show evidence as a list of quotes and once as a single string: both are accepted.
    if evidence is not None and not (
        isinstance(evidence, str)
        or (isinstance(evidence, list) and all(isinstance(q, str) for q in evidence))
    ):
        problems.append({"path": f"{path}.evidence", "problem": "must be a string or a list of strings"})
    for name in OUTPUT_FIELDS:
        if name not in brick.enabled_fields and entry.get(name) is not None:
            problems.append({"path": f"{path}.{name}", "problem": "is disabled for this brick"})
    return problems


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


class KitRegistry:
    """Every Kit version available to the workspace, by code (latest version wins) and by version id."""

    def __init__(self, kits: Iterable[Kit]) -> None:
        self._by_version: dict[str, Kit] = {}
        self._latest: dict[str, Kit] = {}
        for kit in kits:
            if kit.kit_version_id in self._by_version:
                raise KitDefinitionError(f"duplicate kit_version_id {kit.kit_version_id}")
            self._by_version[kit.kit_version_id] = kit
            current = self._latest.get(kit.kit_code)
            if current is None or kit.version > current.version:
                self._latest[kit.kit_code] = kit

    @classmethod
    def from_directory(cls, directory: Path = KITS_DIR) -> KitRegistry:
        return cls(load_kit(path) for path in sorted(directory.glob("*.json")))

    def resolve(self, kit_code: str | None, kit_version_id: str | None) -> Kit | None:
        """``kit_version_id`` pins a version and overrides ``kit_code``."""
        if kit_version_id is not None:
            return self._by_version.get(kit_version_id)
        return self._latest.get(kit_code) if kit_code is not None else None

    def by_version(self, kit_version_id: str) -> Kit | None:
        return self._by_version.get(kit_version_id)

    def __iter__(self) -> Any:
        return iter(self._by_version.values())


def load_kit(path: Path) -> Kit:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return parse_kit(doc)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise KitDefinitionError(f"{path.name}: {exc}") from exc


def parse_kit(doc: Mapping[str, Any]) -> Kit:
    # Imported here: the rules import this module for their types.
    from sandbox.semarize.rules import RULES

    code = doc["kit_code"]
    if not isinstance(code, str) or not _KIT_CODE.match(code):
        raise KitDefinitionError(f"kit_code {code!r} must be 8 upper-case letters or digits")
    vocabulary = doc.get("vocabulary", {})
    kit_fields = tuple(doc.get("output_fields", OUTPUT_FIELDS))
    bricks = []
    for raw in doc["bricks"]:
        key, kind, rule = raw["key"], raw["type"], raw["rule"]
        if not _BRICK_KEY.match(key):
            raise KitDefinitionError(f"brick key {key!r} must be snake_case")
        if kind not in BRICK_TYPES:
            raise KitDefinitionError(f"brick {key}: type must be one of {', '.join(BRICK_TYPES)}")
        if rule not in RULES:
            raise KitDefinitionError(f"brick {key}: unknown rule {rule!r}")
        missing = [name for name in RULES[rule].vocabulary if name not in vocabulary]
        if missing:
            raise KitDefinitionError(f"brick {key}: rule {rule} needs vocabulary {', '.join(missing)}")
        enabled = tuple(raw.get("output_fields", kit_fields))
        if unknown := set(enabled) - set(OUTPUT_FIELDS):
            raise KitDefinitionError(f"brick {key}: unknown output fields {sorted(unknown)}")
        brick = Brick(
            key=key,
            type=kind,
            rule=rule,
            description=raw.get("description", ""),
            enabled_fields=enabled,
            minimum=float(raw["min"]) if kind == "score" else None,
            maximum=float(raw["max"]) if kind == "score" else None,
            integer=bool(raw.get("integer", False)),
            allowed_values=tuple(raw.get("allowed_values", ())),
        )
        if kind == "category" and not brick.allowed_values:
            raise KitDefinitionError(f"brick {key}: a category needs allowed_values")
        bricks.append(brick)
    for name in ("rep_speaker_labels", "customer_speaker_labels"):
        if name not in vocabulary:
            raise KitDefinitionError(f"vocabulary.{name} is required")
    return Kit(
        kit_code=code,
        kit_version_id=str(doc["kit_version_id"]),
        version=int(doc["version"]),
        name=str(doc["name"]),
        description=str(doc.get("description", "")),
        bricks=tuple(bricks),
        max_evidence=int(doc.get("max_evidence", 3)),
        vocabulary_raw=vocabulary,
    )
