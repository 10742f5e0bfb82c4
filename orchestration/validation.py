"""Validation by declaration: pydantic models declare each JSON/YAML input, this module words their errors.

Every input module (manifests, transcripts, webhook events, trackers.yaml, Semarize Kit schemas and runs,
Symbl responses) declares its shape as pydantic models and raises its own error type from the first problem
pydantic reports. ``problems`` turns a ``ValidationError`` into ``Problem(path, cause)`` pairs in the words the
modules always used: the path in JSON notation (``messages[3].from.name``, ``participants[0]``) and a cause
that says what was expected and what came (``must be a string, not a number``, ``is required``). Validators
that check a domain rule raise ``ValueError(cause)``; its text is the cause, unchanged.

JSON that arrives as bytes from outside (manifests, transcripts, webhook bodies) comes in through
``loads_strict``: a key repeated in one object, or NaN/Infinity, is refused before any model sees it (parsers
disagree on which duplicate wins; a document must mean one thing).
"""

import json
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, StringConstraints, ValidationError
from pydantic_core import ErrorDetails

# Unicode bidi overrides/isolates can make a value display differently from what it is (a spoofing vector).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class Problem(NamedTuple):
    path: str  # "" for the document itself
    cause: str

    def joined(self, separator: str = " ") -> str:
        """``path<separator>cause``; just the cause for a rule about the whole document (no path)."""
        return f"{self.path}{separator}{self.cause}" if self.path else self.cause


class JsonInputError(ValueError):
    """The text is not one unambiguous JSON document: it holds NaN/Infinity (callers prefix the document)."""


class DuplicateKeyError(JsonInputError):
    """A key appears twice in one object; the message names the key (``recording_id: the key appears ...``)."""


def field_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """``("messages", 3, "from", "name")`` -> ``messages[3].from.name``; ``prefix`` is a parent path."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def json_kind(value: Any) -> str:
    """The JSON type of a value with its article, as the causes say it: ``a string``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return "an object"


# pydantic's error type -> what was expected, with its article. A field given as null "is required" (a null
# item in a list is just the wrong type).
_EXPECTED = {
    "string_type": "a string",
    "float_type": "a number",
    "int_type": "an integer",
    "bool_type": "a boolean",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def cause(error: ErrorDetails) -> str:
    """The cause of one pydantic error, in the modules' words."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    is_field = bool(error["loc"]) and isinstance(error["loc"][-1], str)
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "missing":
        return "is required"
    if kind in _EXPECTED:
        return (
            "is required"
            if value is None and is_field
            else f"must be {_EXPECTED[kind]}, not {json_kind(value)}"
        )
    if kind == "string_too_long":
        return f"is {len(value)} characters; the limit is {ctx['max_length']}"
    if kind == "too_long":
        return f"lists {ctx['actual_length']} items; the limit is {ctx['max_length']}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    # Anything else keeps pydantic's words in the same voice ("Input should be ..." -> "must be ..."); a bound
    # also says what came. A custom error (PydanticCustomError) already says what it means.
    said = error["msg"].replace("Input should be", "must be", 1)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than", "finite_number"):
        return f"{said}, not {value!r}"
    return said


def problems(exc: ValidationError, prefix: str = "") -> list[Problem]:
    """Every problem of a validation error, in the order pydantic found them (field declaration order)."""
    return [Problem(field_path(e["loc"], prefix), cause(e)) for e in exc.errors(include_url=False)]


def first_problem(exc: ValidationError, prefix: str = "") -> Problem:
    """The one problem a rejection reports: the first field, in declaration order, that is wrong."""
    return problems(exc, prefix)[0]


# --- JSON at the door ---------------------------------------------------------------------------------------


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"{key}: the key appears twice in one object")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise JsonInputError(f"contains {name}, which is not valid JSON")


def loads_strict(text: str) -> Any:
    """``json.loads`` refusing duplicate keys (``DuplicateKeyError``) and NaN/Infinity (``JsonInputError``);
    syntax errors stay ``json.JSONDecodeError`` and deep nesting ``RecursionError``, for the caller to word."""
    return json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)


# --- shared field types -------------------------------------------------------------------------------------


def _clean_text(value: str) -> str | None:
    for ch in value:
        if unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS:
            raise ValueError(f"contains a control character (U+{ord(ch):04X})")
    return value.strip() or None


def _required(value: str | None) -> str:
    if value is None:
        raise ValueError("must not be empty")
    return value


def text(limit: int) -> Any:
    """An optional human string: at most ``limit`` characters, no control characters, stripped; blank is None."""
    return Annotated[str, StringConstraints(max_length=limit), AfterValidator(_clean_text)]


def required_text(limit: int) -> Any:
    """Like ``text`` but blank is an error."""
    return Annotated[text(limit), AfterValidator(_required)]
