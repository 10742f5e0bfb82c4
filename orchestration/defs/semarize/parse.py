"""Pure derivation of ``semarize_runs`` and ``semarize_bricks`` rows from Semarize run responses.

A run's ``output.bricks`` is ``{brick_key: {value, confidence, reason, evidence}}``. Bricks land long-form
with the value in the typed column that matches its type (``value_boolean`` / ``value_number`` /
``value_string`` / ``value_list``), plus the JSON value itself in ``value_json``; dbt pivots each Kit into
typed columns.

With the Kit's schema at hand, each value is checked against the brick's declared type; a contradiction
(``"yes"`` for a boolean, 7 on a 1-5 score) becomes a ``BrickTypeError`` that the caller records while the
other bricks of the run still land. Without a schema, the type is inferred from the JSON value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from orchestration.jsontypes import json_type
from orchestration.validation import first_problem

Row = dict[str, Any]

# The declared brick types a Kit schema uses, and the value_type each lands as.
DECLARED_TYPES: dict[str, str] = {
    "boolean": "boolean",
    "score": "number",
    "category": "string",
    "string_or_null": "string",
    "string_list": "string_list",
}
VALUE_TYPES = ("boolean", "number", "string", "string_list", "null")
# Outcomes Semarize reports itself; they stand even when the caller also passes an error message.
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
# Status of a semarize_runs row when our side gave up on a run (transport error, deadline) rather than
# Semarize reporting an outcome.
CLIENT_ERROR_STATUS = "error"


class SemarizeParseError(ValueError):
    """A run response does not have the documented shape; names the conversation and the Kit."""

    def __init__(self, conversation_id: str, kit_code: str, problem: str) -> None:
        super().__init__(f"semarize kit {kit_code} for conversation {conversation_id}: {problem}")
        self.conversation_id = conversation_id
        self.kit_code = kit_code
        self.problem = problem


class BrickTypeError(SemarizeParseError):
    """One brick contradicts its declared type or the output contract; the other bricks still land."""

    def __init__(self, conversation_id: str, kit_code: str, brick_key: str, problem: str) -> None:
        super().__init__(conversation_id, kit_code, f"brick {brick_key!r}: {problem}")
        self.brick_key = brick_key
        self.brick_problem = problem


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _optional_float(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


# The Kit schema is unpublished: what we cannot read in it is left out (None), never an error, except a brick
# without a key, which would type nothing.
LenientStr = Annotated[str | None, BeforeValidator(_optional_str)]
LenientFloat = Annotated[float | None, BeforeValidator(_optional_float)]


class BrickSpec(BaseModel):
    """One brick as the Kit declares it."""

    model_config = ConfigDict(frozen=True)

    key: Annotated[str, Field(strict=True)]
    # One of DECLARED_TYPES, or an unknown type whose values are then inferred.
    type: Annotated[str, BeforeValidator(lambda value: str(value or ""))] = ""
    min: LenientFloat = None
    max: LenientFloat = None
    # Allowed categories.
    values: Annotated[
        tuple[str, ...] | None,
        BeforeValidator(lambda values: tuple(str(v) for v in values) if isinstance(values, list) else None),
    ] = None


def _brick_list(bricks: Any) -> Any:
    """``bricks`` as a list; the keyed form ``{key: spec}`` (the key then need not repeat inside) too."""
    if isinstance(bricks, Mapping):
        return [{**spec, "key": key} for key, spec in bricks.items() if isinstance(spec, Mapping)]
    return bricks or []


@dataclass(frozen=True)
class KitSchema:
    kit_code: str | None
    kit_version_id: str | None
    bricks: Mapping[str, BrickSpec]


class _KitSchemaDoc(BaseModel):
    kit_code: LenientStr = None
    kit_version_id: LenientStr = None
    bricks: Annotated[list[BrickSpec], BeforeValidator(_brick_list), Field(strict=True)] = []


def kit_schema_from_json(doc: Mapping[str, Any]) -> KitSchema:
    """The one place that knows the Kit schema's JSON shape.

    Assumed: ``{"kit_code", "kit_version_id", "bricks": [{"key", "type", "min"?, "max"?, "values"?}]}``. The
    ``bricks`` member may also be an object keyed by brick key (the key then need not repeat inside).
    """
    if not isinstance(doc, Mapping):
        raise ValueError(f"kit schema must be an object, got {json_type(doc)}")
    try:
        declared = _KitSchemaDoc.model_validate(doc)
    except ValidationError as exc:
        raise ValueError(f"kit schema {first_problem(exc).joined()}") from None
    return KitSchema(declared.kit_code, declared.kit_version_id, {spec.key: spec for spec in declared.bricks})


def parse_run(
    conversation_id: str,
    recording_id: str,
    kit_code: str,
    partition_date: date,
    run: Mapping[str, Any],
    kit_schema: Mapping[str, Any] | None,
) -> tuple[list[Row], list[BrickTypeError]]:
    """``semarize_bricks`` rows of one run, and the bricks that could not be typed.

    A run that has not succeeded has no bricks: ``([], [])``. A succeeded run whose output is malformed as
    a whole raises ``SemarizeParseError``. With a schema, a declared brick missing from the output is
    reported as an error (a Kit version always returns the same shape) and an undeclared brick is kept with
    an inferred type.
    """

    def fail(problem: str) -> SemarizeParseError:
        return SemarizeParseError(conversation_id, kit_code, problem)

    if not isinstance(run, Mapping):
        raise fail(f"run must be an object, got {type(run).__name__}")
    if run.get("status") != "succeeded":
        return [], []
    try:
        succeeded = _SucceededRun.model_validate(run)
    except ValidationError as exc:
        where = f"run {run['run_id']}" if _optional_str(run.get("run_id")) else "succeeded run"
        raise fail(f"{where}: {first_problem(exc).joined()}") from None
    run_id, bricks = succeeded.run_id, succeeded.output.bricks

    try:
        schema = kit_schema_from_json(kit_schema) if kit_schema is not None else None
    except ValueError as exc:
        raise fail(str(exc)) from None
    kit_version_id = succeeded.kit_version_id or (schema.kit_version_id if schema else None)

    rows: list[Row] = []
    errors: list[BrickTypeError] = []
    for brick_key, brick in bricks.items():
        spec = schema.bricks.get(brick_key) if schema else None
        try:
            fields = _brick_fields(brick, spec)
        except _BrickProblem as problem:
            errors.append(BrickTypeError(conversation_id, kit_code, brick_key, str(problem)))
            continue
        rows.append(
            {
                "conversation_id": conversation_id,
                "recording_id": recording_id,
                "kit_code": kit_code,
                "brick_key": brick_key,
                "partition_date": partition_date,
                "run_id": run_id,
                "kit_version_id": kit_version_id,
                **fields,
            }
        )
    if schema is not None:
        errors += [
            BrickTypeError(conversation_id, kit_code, key, "declared by the Kit but missing from the output")
            for key in schema.bricks
            if key not in bricks
        ]
    return rows, errors


def run_row(
    conversation_id: str,
    recording_id: str,
    kit_code: str,
    partition_date: date,
    idempotency_key: str,
    run: Mapping[str, Any] | None,
    error: str | None,
    updated_at: datetime | None = None,
) -> Row:
    """A ``semarize_runs`` row: the run as Semarize last reported it, or our own failure to get one.

    ``error`` (when given) becomes the row's ``error_message``. A terminal status Semarize reported
    (succeeded / failed / cancelled) is kept; otherwise an ``error`` means our side gave up (no run, a
    transport error, a deadline while queued or running) and the status becomes ``error``. A run without a
    status is an ``error`` too. Never raises, because it records failures.
    """
    run = run if isinstance(run, Mapping) else None
    status = run.get("status") if run else None
    error_message = _optional_str(run.get("error_message")) if run else None
    if not isinstance(status, str) or not status:
        status, error_message = CLIENT_ERROR_STATUS, error or "run response has no status"
    elif error is not None:
        error_message = error
        if status not in TERMINAL_STATUSES:
            status = CLIENT_ERROR_STATUS
    return {
        "conversation_id": conversation_id,
        "recording_id": recording_id,
        "kit_code": kit_code,
        "partition_date": partition_date,
        "run_id": _optional_str(run.get("run_id")) if run else None,
        "idempotency_key": idempotency_key,
        "status": status,
        "kit_version_id": _optional_str(run.get("kit_version_id")) if run else None,
        "duration_ms": _optional_float(run.get("duration_ms")) if run else None,
        "error_code": _optional_str(run.get("error_code")) if run else None,
        "error_message": error_message,
        "body": _json(run) if run is not None else None,
        "updated_at": updated_at or datetime.now(UTC),
        "kit_schema": None,  # the caller sets the Kit schema it typed the bricks with
    }


# --- one brick --------------------------------------------------------------------------------------------


class _BrickProblem(ValueError):
    """Internal: what is wrong with one brick; parse_run turns it into a BrickTypeError with context."""


def _brick_fields(brick: Any, spec: BrickSpec | None) -> Row:
    if not isinstance(brick, Mapping):
        raise _BrickProblem(f"expected an object with 'value', got {json_type(brick)}")
    try:
        declared = _Brick.model_validate(brick)
    except ValidationError as exc:
        raise _BrickProblem(first_problem(exc).joined()) from None
    value = declared.value
    value_type = (
        _check_declared(value, spec) if spec is not None and spec.type in DECLARED_TYPES else _infer(value)
    )
    return {
        "value_type": value_type,
        "value_boolean": value if value_type == "boolean" else None,
        "value_number": float(value) if value_type == "number" else None,
        "value_string": value if value_type == "string" else None,
        "value_list": list(value) if value_type == "string_list" else None,
        "value_json": _json(value),
        "confidence": declared.confidence,
        "reason": declared.reason,
        "evidence": declared.evidence,
    }


def _check_declared(value: Any, spec: BrickSpec) -> str:
    """The value_type of a value checked against its declared brick type.

    ``null`` is accepted for every type: a Kit answers null when the conversation does not settle it.
    """
    if value is None:
        return "null"
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise _BrickProblem(f"declared boolean, got {json_type(value)} {_preview(value)}")
        return "boolean"
    if spec.type == "score":
        if not _is_number(value):
            raise _BrickProblem(f"declared score, got {json_type(value)} {_preview(value)}")
        if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            raise _BrickProblem(f"score {value} is outside the declared range {_range(spec)}")
        return "number"
    if spec.type in ("category", "string_or_null"):
        if not isinstance(value, str):
            raise _BrickProblem(f"declared {spec.type}, got {json_type(value)} {_preview(value)}")
        if spec.type == "category" and spec.values is not None and value not in spec.values:
            raise _BrickProblem(f"category {_preview(value)} is not one of {list(spec.values)}")
        return "string"
    # string_list
    if not _is_string_list(value):
        raise _BrickProblem(f"declared string_list, got {json_type(value)} {_preview(value)}")
    return "string_list"


def _infer(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if _is_string_list(value):
        return "string_list"
    raise _BrickProblem(f"value of unsupported type {json_type(value)} {_preview(value)}")


def _unit_interval(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError(f"must be a number in 0..1, got {_preview(value)}")
    return value


def _quotes(value: Any) -> list[str] | None:
    """Evidence is a list of quotes in most examples and a single string in one: store a list either way."""
    if value is None or _is_string_list(value):
        return value
    if isinstance(value, str):
        return [value] if value.strip() else []
    raise ValueError(f"must be a string or a list of strings, got {json_type(value)}")


class _Brick(BaseModel):
    """One brick of a run's output; its ``value`` is checked against the Kit's declared type afterwards."""

    model_config = ConfigDict(strict=True)

    value: Any
    confidence: Annotated[float, AfterValidator(_unit_interval)] | None = None
    reason: str | None = None
    evidence: Annotated[list[str] | None, BeforeValidator(_quotes)] = None


class _Output(BaseModel):
    model_config = ConfigDict(strict=True)

    bricks: dict[str, Any]


class _SucceededRun(BaseModel):
    """What a succeeded run must carry (the rest of a run is kept verbatim in ``semarize_runs.body``)."""

    model_config = ConfigDict(strict=True)

    run_id: Annotated[str, Field(min_length=1)]
    output: _Output
    kit_version_id: LenientStr = None


# --- small helpers ----------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _range(spec: BrickSpec) -> str:
    low = "-inf" if spec.min is None else f"{spec.min:g}"
    high = "inf" if spec.max is None else f"{spec.max:g}"
    return f"{low}..{high}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _preview(value: Any, limit: int = 40) -> str:
    text = _json(value)
    return text if len(text) <= limit else text[:limit] + "..."
