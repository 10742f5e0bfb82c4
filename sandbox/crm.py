"""The CRM stand-in (mounted at /crm): HubSpot's CRM v3 objects API, the part a write-back uses.

    POST /crm/v3/objects/{objectType}/batch/upsert   create-or-update by a unique property (``idProperty``)
    GET  /crm/v3/objects/{objectType}/{objectId}     by object id, or by a unique value with ``?idProperty=``
    GET  /_objects                                   inspection: every object (``?objectType=`` to filter)

Authentication is ``Authorization: Bearer <private app token>`` (401 ``INVALID_AUTHENTICATION`` otherwise).
Errors have HubSpot's shape ``{"status": "error", "category", "message", "correlationId"}``. An upsert merges the
given properties into the object that already holds the ``idProperty`` value (``new: false``) or creates one
(``new: true``): the same id never makes a second object. Unlike HubSpot, any well-formed property name is
accepted (the sandbox has no property definitions) and reads return every stored property. State lives in
``<data_dir>/crm.sqlite3``.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.config import SandboxConfig
from sandbox.store import SqliteStore, dumps, loads

DATABASE_FILE = "crm.sqlite3"
BATCH_LIMIT = 100  # HubSpot's batch size limit
MAX_BODY_BYTES = 4 * 1024 * 1024
OBJECT_TYPES = frozenset({"calls", "notes", "meetings", "contacts", "companies", "deals"})
# HubSpot internal property names: lowercase letters, digits and underscores, starting with a letter.
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS objects (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        object_type TEXT NOT NULL,
        properties_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL
    )
    """,
    # The unique-value index an upsert resolves idProperty values through.
    """
    CREATE TABLE IF NOT EXISTS unique_values (
        object_type TEXT NOT NULL,
        property TEXT NOT NULL,
        value TEXT NOT NULL,
        object_seq INTEGER NOT NULL REFERENCES objects(seq),
        PRIMARY KEY (object_type, property, value)
    )
    """,
)


class _Invalid(Exception):
    """A request HubSpot would refuse with 400 VALIDATION_ERROR."""


def build_crm_app(config: SandboxConfig) -> Starlette:
    store = SqliteStore(config.ensure_data_dir() / DATABASE_FILE, _SCHEMA)

    def authorised(request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        return (
            scheme.lower() == "bearer"
            and bool(token)
            and hmac.compare_digest(token.encode(), config.crm_token.encode())
        )

    async def batch_upsert(request: Request) -> Response:
        if not authorised(request):
            return _unauthenticated()
        object_type = request.path_params["object_type"]
        if object_type not in OBJECT_TYPES:
            return _error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {object_type}")
        try:
            inputs = _upsert_inputs(await request.body())
        except _Invalid as invalid:
            return _error(400, "VALIDATION_ERROR", str(invalid))
        now = _now()
        results = []
        # One transaction per batch: HubSpot's batch either completes or fails as a whole.
        with store.transaction() as db:
            for item in inputs:
                results.append(_upsert_one(db, object_type, item, now))
        return JSONResponse(
            {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": _now()}
        )

    async def get_object(request: Request) -> Response:
        if not authorised(request):
            return _unauthenticated()
        object_type = request.path_params["object_type"]
        object_id = request.path_params["object_id"]
        id_property = request.query_params.get("idProperty")
        if id_property:
            row = store.query_one(
                "SELECT o.* FROM unique_values u JOIN objects o ON o.seq = u.object_seq "
                "WHERE u.object_type = ? AND u.property = ? AND u.value = ?",
                (object_type, id_property, object_id),
            )
        else:
            row = (
                store.query_one(
                    "SELECT * FROM objects WHERE object_type = ? AND seq = ?", (object_type, int(object_id))
                )
                if object_id.isdigit()
                else None
            )
        if row is None:
            return _error(404, "OBJECT_NOT_FOUND", "resource not found")
        return JSONResponse(_document(row))

    async def inspect_objects(request: Request) -> Response:
        object_type = request.query_params.get("objectType")
        if object_type:
            rows = store.query("SELECT * FROM objects WHERE object_type = ? ORDER BY seq", (object_type,))
        else:
            rows = store.query("SELECT * FROM objects ORDER BY seq")
        return JSONResponse(
            {
                "objects": [
                    {**_document(r), "objectType": r["object_type"], "version": r["version"]} for r in rows
                ]
            }
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    return Starlette(
        routes=[
            Route("/crm/v3/objects/{object_type}/batch/upsert", batch_upsert, methods=["POST"]),
            Route("/crm/v3/objects/{object_type}/{object_id}", get_object, methods=["GET"]),
            Route("/_objects", inspect_objects, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _upsert_one(db: Any, object_type: str, item: dict[str, Any], now: str) -> dict[str, Any]:
    id_property, id_value, properties = item["idProperty"], item["id"], item["properties"]
    existing = db.execute(
        "SELECT o.* FROM unique_values u JOIN objects o ON o.seq = u.object_seq "
        "WHERE u.object_type = ? AND u.property = ? AND u.value = ?",
        (object_type, id_property, id_value),
    ).fetchone()
    if existing is None:
        stored = {**properties, id_property: id_value}
        seq = db.execute(
            "INSERT INTO objects (object_type, properties_json, created_at, updated_at, version) "
            "VALUES (?, ?, ?, ?, 1)",
            (object_type, dumps(stored), now, now),
        ).lastrowid
        db.execute(
            "INSERT INTO unique_values (object_type, property, value, object_seq) VALUES (?, ?, ?, ?)",
            (object_type, id_property, id_value, seq),
        )
        row = db.execute("SELECT * FROM objects WHERE seq = ?", (seq,)).fetchone()
        return {**_document(row), "new": True}
    stored = {**loads(existing["properties_json"]), **properties, id_property: id_value}
    db.execute(
        "UPDATE objects SET properties_json = ?, updated_at = ?, version = version + 1 WHERE seq = ?",
        (dumps(stored), now, existing["seq"]),
    )
    row = db.execute("SELECT * FROM objects WHERE seq = ?", (existing["seq"],)).fetchone()
    return {**_document(row), "new": False}


def _upsert_inputs(body: bytes) -> list[dict[str, Any]]:
    """The batch's inputs with property values as HubSpot stores them (strings; null clears a value to "")."""
    if len(body) > MAX_BODY_BYTES:
        raise _Invalid("Request body too large.")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Invalid("Invalid input JSON on line 1: the body is not JSON.") from None
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise _Invalid("inputs must be a non-empty list.")
    if len(inputs) > BATCH_LIMIT:
        raise _Invalid(f"Batch input limit is {BATCH_LIMIT}; got {len(inputs)}.")
    clean, seen, duplicates = [], set(), []
    for i, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise _Invalid(f"inputs[{i}] must be an object.")
        id_property, id_value = item.get("idProperty"), item.get("id")
        if not isinstance(id_property, str) or not PROPERTY_NAME.match(id_property):
            raise _Invalid(f"inputs[{i}].idProperty must name a property.")
        if not isinstance(id_value, str) or not id_value.strip():
            raise _Invalid(f"inputs[{i}].id must be a non-empty string.")
        properties = item.get("properties")
        if not isinstance(properties, dict):
            raise _Invalid(f"inputs[{i}].properties must be an object.")
        values = {}
        for name, value in properties.items():
            if not PROPERTY_NAME.match(name):
                raise _Invalid(f"Property values were not valid: invalid property name {name!r}.")
            if value is not None and not isinstance(value, str | int | float | bool):
                raise _Invalid(f"Property values were not valid: {name} must be a string, number or boolean.")
            values[name] = _stored_value(value)
        if (id_property, id_value) in seen:
            duplicates.append(id_value)
        seen.add((id_property, id_value))
        clean.append({"idProperty": id_property, "id": id_value, "properties": values})
    if duplicates:
        raise _Invalid(f"Duplicate IDs found in batch input: {duplicates}.")
    return clean


def _stored_value(value: str | int | float | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _document(row: Any) -> dict[str, Any]:
    properties = loads(row["properties_json"])
    return {
        "id": str(row["seq"]),
        "properties": {
            **properties,
            "hs_object_id": str(row["seq"]),
            "hs_createdate": row["created_at"],
            "hs_lastmodifieddate": row["updated_at"],
        },
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "archived": False,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _unauthenticated() -> JSONResponse:
    return _error(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
        "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )


def _error(status: int, category: str, message: str) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    return JSONResponse(body, status_code=status)
