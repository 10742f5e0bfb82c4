"""Tracker definitions: validation and JSON-patch-style updates (pure functions, no HTTP, no storage).

Choices on open points: names are unique case-insensitively; going over 500 trackers is a 400 (it is a request
the account cannot satisfy, not a clash with one existing resource, which is what 409 means here).
"""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sandbox.symbl.errors import SymblError, bad_request
from sandbox.symbl.timeline import iso

MAX_TRACKERS = 500
MAX_VOCABULARY = 50
# Letters, digits and spaces, plus the only punctuation Symbl allows in terms: . ' -
_TERM = re.compile(r"^(?:[^\W_]|[ .'-])+$")
_EDITABLE = ("name", "description", "categories", "languages", "vocabulary")


def validate_definition(raw: Any, where: str = "tracker") -> dict[str, Any]:
    """The user-supplied part of a tracker, checked; error messages name the field."""
    if not isinstance(raw, dict):
        raise bad_request(f"{where} must be an object.")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request(f"{where}.name must be a non-empty string.")
    vocabulary = raw.get("vocabulary")
    if not isinstance(vocabulary, list) or not vocabulary:
        raise bad_request(f"{where}.vocabulary must be a non-empty array of strings.")
    if len(vocabulary) > MAX_VOCABULARY:
        raise bad_request(f"{where}.vocabulary has {len(vocabulary)} terms; the maximum is {MAX_VOCABULARY}.")
    seen: set[str] = set()
    terms: list[str] = []
    for i, term in enumerate(vocabulary):
        if not isinstance(term, str) or not term.strip():
            raise bad_request(f"{where}.vocabulary[{i}] must be a non-empty string.")
        term = " ".join(term.split())
        if not _TERM.match(term):
            raise bad_request(
                f"{where}.vocabulary[{i}] {term!r} has punctuation other than . ' - (the only ones allowed)."
            )
        if term.lower() in seen:
            raise bad_request(f"{where}.vocabulary[{i}] {term!r} is a duplicate term.")
        seen.add(term.lower())
        terms.append(term)
    definition: dict[str, Any] = {"name": name.strip(), "vocabulary": terms}
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise bad_request(f"{where}.description must be a string.")
    definition["description"] = description
    for key in ("categories", "languages"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request(f"{where}.{key} must be an array of strings.")
        definition[key] = value
    if not definition["languages"]:
        definition["languages"] = ["en-US"]
    return definition


def new_tracker(definition: dict[str, Any]) -> dict[str, Any]:
    now = iso(datetime.now(UTC))
    return {"id": uuid.uuid4().hex, **definition, "createdOn": now, "updatedOn": now}


def updated_tracker(existing: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
    return {**existing, **definition, "updatedOn": iso(datetime.now(UTC))}


def apply_patch(existing: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply ``[{op, path, value}]`` (add | replace | remove on /name, /description, /categories, /languages,
    /vocabulary, /vocabulary/- and /vocabulary/<index>) and return the validated definition."""
    if not isinstance(operations, list) or not operations:
        raise bad_request("The PATCH body must be a non-empty array of {op, path, value} operations.")
    doc = copy.deepcopy({key: existing.get(key) for key in _EDITABLE})
    for i, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise bad_request(f"operations[{i}] must be an object.")
        op, path = operation.get("op"), operation.get("path")
        if op not in {"add", "replace", "remove"}:
            raise bad_request(f"operations[{i}].op must be add, replace or remove.")
        if not isinstance(path, str) or not path.startswith("/"):
            raise bad_request(f"operations[{i}].path must be a JSON pointer such as /vocabulary.")
        parts = path.strip("/").split("/")
        field = parts[0]
        if field not in _EDITABLE or len(parts) > 2 or (len(parts) == 2 and field == "name"):
            raise bad_request(f"operations[{i}].path {path!r} is not an editable tracker field.")
        if len(parts) == 1:
            _patch_field(doc, field, op, operation, i)
        else:
            _patch_item(doc, field, parts[1], op, operation, i)
    return validate_definition(doc)


def _patch_field(doc: dict[str, Any], field: str, op: str, operation: dict[str, Any], i: int) -> None:
    if op == "remove":
        if field == "name":
            raise bad_request(f"operations[{i}]: name cannot be removed.")
        doc[field] = None if field == "description" else []
    elif op == "add" and isinstance(doc.get(field), list):
        value = operation.get("value")
        doc[field] = [*doc[field], *(value if isinstance(value, list) else [value])]
    else:
        doc[field] = operation.get("value")


def _patch_item(
    doc: dict[str, Any], field: str, index: str, op: str, operation: dict[str, Any], i: int
) -> None:
    items = doc.get(field)
    if not isinstance(items, list):
        raise bad_request(f"operations[{i}].path: {field} is not an array.")
    if index == "-" and op == "add":
        items.append(operation.get("value"))
        return
    if not index.isdigit() or int(index) >= len(items) + (op == "add"):
        raise bad_request(f"operations[{i}].path index {index!r} is out of range.")
    position = int(index)
    if op == "remove":
        items.pop(position)
    elif op == "add":
        items.insert(position, operation.get("value"))
    else:
        items[position] = operation.get("value")


def conflict(name: str) -> SymblError:
    return SymblError(409, f"A tracker named {name!r} already exists.")
