"""Semarize run parsing: typed bricks (declared and inferred), per-brick errors, and runs rows."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pytest

from orchestration.defs.semarize.parse import (
    VALUE_TYPES,
    BrickTypeError,
    SemarizeParseError,
    kit_schema_from_json,
    parse_run,
    run_row,
)
from orchestration.defs.warehouse import schema

CID, RID, KIT, DAY = "c-77", "rec-77", "A1B2C3D4", date(2026, 4, 7)

KIT_SCHEMA = {
    "kit_code": KIT,
    "kit_version_id": "kv_schema",
    "bricks": [
        {"key": "budget_confirmed", "type": "boolean"},
        {"key": "discovery_depth", "type": "score", "min": 1, "max": 5},
        {"key": "sentiment_score", "type": "score", "min": -1, "max": 1},
        {"key": "deal_stage", "type": "category", "values": ["discovery", "demo", "negotiation"]},
        {"key": "competitor_mentioned", "type": "string_or_null"},
        {"key": "next_steps", "type": "string_list"},
    ],
}


def brick(value: Any, **fields: Any) -> dict[str, Any]:
    return {"value": value, "confidence": 0.9, "reason": "because", "evidence": ["quote"], **fields}


def succeeded_run(bricks: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": "run_123",
        "status": "succeeded",
        "run_type": "api",
        "kit_version_id": "kv_run",
        "duration_ms": 842,
        "output": {"kit_code": KIT, "bricks": bricks},
        "some_new_field": "ignored",
    }


GOOD_BRICKS = {
    "budget_confirmed": brick(True),
    "discovery_depth": brick(4),
    "sentiment_score": brick(-0.25, evidence="a single quote"),
    "deal_stage": brick("demo", confidence=None, reason=None, evidence=None),
    "competitor_mentioned": {"value": None},
    "next_steps": brick(["send quote", "book demo"]),
}


def schema_columns(table: str) -> list[str]:
    lines = [line.split("--")[0].strip() for line in schema.TABLES[table].strip().splitlines()]
    return [re.split(r"\s+", line)[0] for line in lines if line]


def by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["brick_key"]: r for r in rows}


def typed_values(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["value_type"],
        row["value_boolean"],
        row["value_number"],
        row["value_string"],
        row["value_list"],
    )


def test_declared_types_land_in_their_typed_columns() -> None:
    rows, errors = parse_run(CID, RID, KIT, DAY, succeeded_run(GOOD_BRICKS), KIT_SCHEMA)
    assert errors == []
    assert [r["brick_key"] for r in rows] == list(GOOD_BRICKS)
    assert all(list(r) == schema_columns("semarize_bricks") for r in rows)
    got = by_key(rows)
    assert typed_values(got["budget_confirmed"]) == ("boolean", True, None, None, None)
    assert typed_values(got["discovery_depth"]) == ("number", None, 4.0, None, None)
    assert typed_values(got["deal_stage"]) == ("string", None, None, "demo", None)
    assert typed_values(got["competitor_mentioned"]) == ("null", None, None, None, None)
    assert typed_values(got["next_steps"]) == ("string_list", None, None, None, ["send quote", "book demo"])
    assert isinstance(got["discovery_depth"]["value_number"], float)
    # The JSON value is kept verbatim next to the typed column.
    assert json.loads(got["next_steps"]["value_json"]) == ["send quote", "book demo"]
    assert got["competitor_mentioned"]["value_json"] == "null"
    # Evidence: a list stays a list, a single string becomes a one-element list, missing stays NULL.
    assert got["budget_confirmed"]["evidence"] == ["quote"]
    assert got["sentiment_score"]["evidence"] == ["a single quote"]
    assert got["deal_stage"]["evidence"] is None and got["competitor_mentioned"]["evidence"] is None
    assert got["deal_stage"]["confidence"] is None and got["deal_stage"]["reason"] is None
    assert got["budget_confirmed"]["confidence"] == 0.9
    # The run's own kit version wins over the schema's.
    assert {r["kit_version_id"] for r in rows} == {"kv_run"}
    assert {(r["run_id"], r["conversation_id"], r["recording_id"], r["kit_code"]) for r in rows} == {
        ("run_123", CID, RID, KIT)
    }


def test_types_are_inferred_without_a_schema() -> None:
    bricks = {
        "b": {"value": False},
        "i": {"value": 73},
        "f": {"value": 0.5},
        "s": {"value": "Initech ☕ \"quoted\" 'single'"},
        "l": {"value": []},
        "n": {"value": None},
    }
    rows, errors = parse_run(CID, RID, KIT, DAY, succeeded_run(bricks), None)
    assert errors == []
    assert {k: r["value_type"] for k, r in by_key(rows).items()} == {
        "b": "boolean",
        "i": "number",
        "f": "number",
        "s": "string",
        "l": "string_list",
        "n": "null",
    }
    assert all(r["value_type"] in VALUE_TYPES for r in rows)
    assert by_key(rows)["b"]["value_boolean"] is False
    assert by_key(rows)["s"]["value_string"] == "Initech ☕ \"quoted\" 'single'"


@pytest.mark.parametrize(
    ("brick_key", "bad", "problem"),
    [
        ("budget_confirmed", "yes", "declared boolean, got string"),
        ("budget_confirmed", 1, "declared boolean, got number"),
        ("discovery_depth", 7, "outside the declared range 1..5"),
        ("discovery_depth", 0.5, "outside the declared range 1..5"),
        ("discovery_depth", "4", "declared score, got string"),
        ("discovery_depth", True, "declared score, got boolean"),
        ("deal_stage", "closed_won", "is not one of"),
        ("competitor_mentioned", ["Initech"], "declared string_or_null, got array"),
        ("next_steps", ["ok", 3], "declared string_list, got array"),
        ("next_steps", "send quote", "declared string_list, got string"),
    ],
)
def test_a_value_contradicting_its_declared_type_is_reported_and_the_rest_land(
    brick_key: str, bad: Any, problem: str
) -> None:
    bricks = copy.deepcopy(GOOD_BRICKS)
    bricks[brick_key]["value"] = bad
    rows, errors = parse_run(CID, RID, KIT, DAY, succeeded_run(bricks), KIT_SCHEMA)
    assert sorted(r["brick_key"] for r in rows) == sorted(k for k in GOOD_BRICKS if k != brick_key)
    (error,) = errors
    assert isinstance(error, BrickTypeError)
    assert (error.conversation_id, error.kit_code, error.brick_key) == (CID, KIT, brick_key)
    assert problem in error.brick_problem
    assert CID in str(error) and KIT in str(error) and brick_key in str(error)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"confidence": 1.5}, "confidence must be a number in 0..1"),
        ({"confidence": "high"}, "confidence must be a number, not a string"),
        ({"reason": ["a"]}, "reason must be a string"),
        ({"evidence": [1, 2]}, "evidence must be a string or a list of strings"),
        ({"evidence": {"quote": "x"}}, "evidence must be a string or a list of strings"),
    ],
)
def test_malformed_brick_fields_are_reported(fields: dict[str, Any], problem: str) -> None:
    bricks = {"ok": brick(True), "bad": brick(True, **fields)}
    rows, errors = parse_run(CID, RID, KIT, DAY, succeeded_run(bricks), None)
    assert [r["brick_key"] for r in rows] == ["ok"]
    assert [e.brick_key for e in errors] == ["bad"] and problem in errors[0].brick_problem


def test_brick_shape_problems() -> None:
    bricks = {"bare": True, "no_value": {"confidence": 0.5}, "obj": {"value": {"a": 1}}, "ok": {"value": 1}}
    rows, errors = parse_run(CID, RID, KIT, DAY, succeeded_run(bricks), None)
    assert [r["brick_key"] for r in rows] == ["ok"]
    assert {e.brick_key: e.brick_problem for e in errors} == {
        "bare": "expected an object with 'value', got boolean",
        "no_value": "value is required",
        "obj": 'value of unsupported type object {"a":1}',
    }


def test_declared_but_missing_bricks_are_reported_and_undeclared_ones_inferred() -> None:
    bricks = {k: v for k, v in GOOD_BRICKS.items() if k != "deal_stage"}
    bricks["surprise"] = {"value": "new brick"}
    bricks["budget_confirmed"] = {"value": "yes"}
    rows, errors = parse_run(CID, RID, KIT, DAY, succeeded_run(bricks), KIT_SCHEMA)
    assert by_key(rows)["surprise"]["value_type"] == "string"
    assert [(e.brick_key, e.brick_problem) for e in errors] == [
        ("budget_confirmed", 'declared boolean, got string "yes"'),
        ("deal_stage", "declared by the Kit but missing from the output"),
    ]


def test_null_is_accepted_for_every_declared_type() -> None:
    bricks = {spec["key"]: {"value": None} for spec in KIT_SCHEMA["bricks"]}
    rows, errors = parse_run(CID, RID, KIT, DAY, succeeded_run(bricks), KIT_SCHEMA)
    assert errors == [] and {r["value_type"] for r in rows} == {"null"}


def test_runs_without_output_and_malformed_runs() -> None:
    for status in ("queued", "running", "failed", "cancelled"):
        assert parse_run(CID, RID, KIT, DAY, {"run_id": "r", "status": status}, KIT_SCHEMA) == ([], [])
    for run, problem in [
        ({"status": "succeeded", "output": {"bricks": {}}}, "succeeded run: run_id is required"),
        ({"status": "succeeded", "run_id": "", "output": {"bricks": {}}}, "run_id must not be empty"),
        ({"run_id": "r", "status": "succeeded"}, "run r: output is required"),
        ({"run_id": "r", "status": "succeeded", "output": {"bricks": []}}, "output.bricks must be an object"),
    ]:
        with pytest.raises(SemarizeParseError, match=problem) as info:
            parse_run(CID, RID, KIT, DAY, run, None)
        assert not isinstance(info.value, BrickTypeError)
        assert CID in str(info.value) and KIT in str(info.value)
    with pytest.raises(SemarizeParseError, match=r"kit schema bricks\[0\]\.key is required"):
        parse_run(CID, RID, KIT, DAY, succeeded_run({}), {"bricks": [{"type": "boolean"}]})


def test_kit_schema_reading_is_isolated_and_accepts_a_keyed_form() -> None:
    listed = kit_schema_from_json(KIT_SCHEMA)
    keyed = kit_schema_from_json(
        {
            "kit_code": KIT,
            "kit_version_id": "kv_schema",
            "bricks": {
                spec["key"]: {k: v for k, v in spec.items() if k != "key"} for spec in KIT_SCHEMA["bricks"]
            },
        }
    )
    assert listed == keyed
    depth = listed.bricks["discovery_depth"]
    assert (depth.type, depth.min, depth.max) == ("score", 1.0, 5.0)
    assert listed.bricks["deal_stage"].values == ("discovery", "demo", "negotiation")
    # A run without its own kit_version_id takes the schema's.
    run = succeeded_run({"budget_confirmed": {"value": True}})
    del run["kit_version_id"]
    rows, _ = parse_run(CID, RID, KIT, DAY, run, KIT_SCHEMA)
    assert rows[0]["kit_version_id"] == "kv_schema"


def test_bricks_round_trip_through_duckdb() -> None:
    bricks = {**GOOD_BRICKS, "long": {"value": "ü" * 50_000, "evidence": ["“curly” quotes", "emoji 🚀"]}}
    rows, _ = parse_run(CID, RID, KIT, DAY, succeeded_run(bricks), None)
    con = duckdb.connect()
    for statement in schema.create_statements():
        con.execute(statement)
    columns = schema_columns("semarize_bricks")
    con.executemany(
        f"INSERT INTO raw.semarize_bricks VALUES ({', '.join('?' for _ in columns)})",
        [[r[c] for c in columns] for r in rows],
    )
    stored = dict(con.execute("SELECT brick_key, value_list FROM raw.semarize_bricks").fetchall())
    assert stored["next_steps"] == ["send quote", "book demo"]
    long_row = con.execute(
        "SELECT value_string, evidence FROM raw.semarize_bricks WHERE brick_key='long'"
    ).fetchone()
    assert long_row == ("ü" * 50_000, ["“curly” quotes", "emoji 🚀"])


# --- runs rows --------------------------------------------------------------------------------------------

WHEN = datetime(2026, 4, 7, 16, tzinfo=UTC)


def test_run_row_for_a_succeeded_run() -> None:
    run = succeeded_run(GOOD_BRICKS)
    row = run_row(CID, RID, KIT, DAY, "idem-1", run, None, updated_at=WHEN)
    assert list(row) == schema_columns("semarize_runs")
    assert (row["run_id"], row["status"], row["kit_version_id"], row["duration_ms"]) == (
        "run_123",
        "succeeded",
        "kv_run",
        842.0,
    )
    assert (row["error_code"], row["error_message"], row["updated_at"]) == (None, None, WHEN)
    assert json.loads(row["body"]) == run


def test_run_row_for_failures() -> None:
    failed = {
        "run_id": "r9",
        "status": "failed",
        "error_code": "run_request_failed",
        "error_message": "model timeout",
        "error_user_message": "Try again",
    }
    row = run_row(CID, RID, KIT, DAY, "k", failed, None, updated_at=WHEN)
    assert (row["status"], row["error_code"], row["error_message"]) == (
        "failed",
        "run_request_failed",
        "model timeout",
    )
    # A caller's message replaces the run's; Semarize's own terminal status stands.
    row = run_row(CID, RID, KIT, DAY, "k", failed, "run_request_failed: model timeout", updated_at=WHEN)
    assert (row["status"], row["error_message"]) == ("failed", "run_request_failed: model timeout")
    # Our side gave up: no run at all, or a run still in flight.
    row = run_row(CID, RID, KIT, DAY, "k", None, "ConnectError: refused", updated_at=WHEN)
    assert (row["status"], row["run_id"], row["body"], row["error_message"]) == (
        "error",
        None,
        None,
        "ConnectError: refused",
    )
    row = run_row(CID, RID, KIT, DAY, "k", {"run_id": "r1", "status": "running"}, "deadline passed")
    assert (row["status"], row["run_id"]) == ("error", "r1")
    assert row["updated_at"].tzinfo is not None
    row = run_row(CID, RID, KIT, DAY, "k", {"run_id": "r1", "duration_ms": "fast"}, None)
    assert (row["status"], row["error_message"], row["duration_ms"]) == (
        "error",
        "run response has no status",
        None,
    )


def test_run_rows_fit_the_runs_table() -> None:
    rows = [
        run_row(CID, RID, KIT, DAY, "k1", succeeded_run(GOOD_BRICKS), None),
        run_row(CID, RID, "ZZZZ9999", DAY, "k2", None, "boom"),
    ]
    con = duckdb.connect()
    for statement in schema.create_statements():
        con.execute(statement)
    columns = schema_columns("semarize_runs")
    con.executemany(
        f"INSERT INTO raw.semarize_runs VALUES ({', '.join('?' for _ in columns)})",
        [[r[c] for c in columns] for r in rows],
    )
    stored = con.execute(
        "SELECT status, body->>'$.run_id' FROM raw.semarize_runs ORDER BY idempotency_key"
    ).fetchall()
    assert stored == [("succeeded", "run_123"), ("error", None)]
