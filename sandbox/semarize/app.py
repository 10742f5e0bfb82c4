"""The Semarize stand-in: a Starlette app speaking the contract in ``semarize-api.md`` (mounted at /semarize).

Routes (under the mount): ``POST /v1/runs``, ``GET /v1/runs``, ``GET /v1/runs/{run_id}``, ``POST /v1/test``,
``GET /v1/kits/schema``, ``GET /v1/kits``. Every route needs ``Authorization: Bearer <key>`` and counts
against the per-key rate limit. State lives in ``<data_dir>/semarize.sqlite3``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.config import SandboxConfig
from sandbox.semarize.errors import error_response, rate_limited, retry_after_header
from sandbox.semarize.kits import Kit, KitRegistry
from sandbox.semarize.rate_limit import TokenBucket
from sandbox.semarize.runs import RunService, accepted_document, request_fingerprint, run_document
from sandbox.semarize.store import IdempotencyConflict, RunStore

RUN_TYPES = ("api", "sandbox")
RUN_MODES = ("async", "sync")
MAX_IDEMPOTENCY_KEY_LENGTH = 254
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 100
DATABASE_FILE = "semarize.sqlite3"
# How often a sync request re-checks its run at most (it normally sleeps until the run's due time).
SYNC_POLL_SECONDS = 0.05


class _BadRequest(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def schema_in_shape(schema: dict[str, Any], shape: str) -> dict[str, Any]:
    """The Kit schema in the configured shape: Semarize does not publish one, so clients must read any."""
    if shape == "fields":
        return {
            "kit": {"code": schema["kit_code"], "version_id": schema["kit_version_id"]},
            "fields": [
                {
                    "name": b["key"],
                    "output_type": b["type"],
                    **({"range": [b["min"], b["max"]]} if "min" in b else {}),
                    **({"options": b["values"]} if "values" in b else {}),
                }
                for b in schema["bricks"]
            ],
        }
    if shape == "opaque":
        return {"kit_code": schema["kit_code"], "schema_ref": f"kits/{schema['kit_version_id']}/schema.bin"}
    return schema


def build_semarize_app(config: SandboxConfig, kits: KitRegistry | None = None) -> Starlette:
    """The Semarize app; ``kits`` defaults to the Kits shipped in ``sandbox/semarize/kits``."""
    registry = kits if kits is not None else KitRegistry.from_directory()
    store = RunStore(config.ensure_data_dir() / DATABASE_FILE)
    service = RunService(
        store,
        registry,
        run_seconds=config.semarize_run_seconds,
        malformed_output_matching=config.semarize_malformed_output_matching,
    )
    bucket = TokenBucket(config.semarize_rate_limit_per_second)

    def guard(request: Request) -> Response | None:
        """Authentication, then the rate limit: the checks every route shares."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, "missing_bearer_token", "Send Authorization: Bearer <api key>.")
        if not hmac.compare_digest(token.strip().encode(), config.semarize_api_key.encode()):
            return error_response(401, "invalid_api_key", "The API key is not valid.")
        wait = bucket.take()
        return rate_limited(wait) if wait is not None else None

    async def create_run(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
            return error_response(
                400, "invalid_idempotency_key", "Idempotency-Key must be 1 to 254 characters."
            )
        try:
            body = await _json_object(request)
            kit = _resolve_kit(registry, body)
            run_type = _choice(body, "type", RUN_TYPES, "invalid_run_type")
            mode = _choice(body, "mode", RUN_MODES, "invalid_run_mode")
            run_input = body.get("input")
            if not isinstance(run_input, dict):
                raise _BadRequest(error_response(422, "input_must_be_object", "input must be a JSON object."))
        except _BadRequest as bad:
            return bad.response
        request_id = request.headers.get("x-request-id")
        try:
            run, replayed = await run_in_threadpool(
                service.create, kit, run_type, run_input, key, request_fingerprint(body), request_id
            )
        except IdempotencyConflict:
            return error_response(
                409,
                "idempotency_key_conflict",
                "This Idempotency-Key was already used with a different request body.",
            )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        if request_id is not None:
            headers["X-Request-Id"] = request_id
        if mode == "sync":
            loop = asyncio.get_running_loop()
            deadline = loop.time() + config.semarize_sync_timeout_seconds
            while not run.terminal and loop.time() < deadline:
                pause = min(service.seconds_until_done(run), deadline - loop.time())
                await asyncio.sleep(max(pause, SYNC_POLL_SECONDS) if pause > 0 else 0)
                run = await run_in_threadpool(service.get, run.run_id) or run
            if run.terminal:
                return JSONResponse(run_document(run), status_code=200, headers=headers)
        if not run.terminal:
            headers["Retry-After"] = retry_after_header(service.seconds_until_done(run))
        return JSONResponse(accepted_document(run), status_code=202, headers=headers)

    async def get_run(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        run = await run_in_threadpool(service.get, request.path_params["run_id"])
        if run is None:
            return error_response(404, "run_not_found", "No run with this run_id.")
        headers = {} if run.terminal else {"Retry-After": retry_after_header(service.seconds_until_done(run))}
        return JSONResponse(run_document(run), headers=headers)

    async def list_runs(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        raw = request.query_params.get("limit", str(DEFAULT_LIST_LIMIT))
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIST_LIMIT:
            return error_response(
                400, "invalid_limit", f"limit must be an integer from 1 to {MAX_LIST_LIMIT}."
            )
        runs = await run_in_threadpool(service.newest, limit)
        return JSONResponse({"runs": [run_document(r) for r in runs], "limit": limit})

    async def test_kit(request: Request) -> Response:
        """Check a sample output against the Kit's declared shape: no scoring, no credits."""
        if (refused := guard(request)) is not None:
            return refused
        try:
            body = await _json_object(request)
            kit = _resolve_kit(registry, body)
            output = body.get("output")
            if not isinstance(output, dict):
                raise _BadRequest(
                    error_response(422, "output_must_be_object", "output must be an object with 'bricks'.")
                )
        except _BadRequest as bad:
            return bad.response
        problems = kit.validate_output(output)
        return JSONResponse(
            {
                "valid": not problems,
                "kit_code": kit.kit_code,
                "kit_version_id": kit.kit_version_id,
                "problems": problems,
                "credits_used": 0,
            }
        )

    async def kit_schema(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        try:
            kit = _resolve_kit(registry, dict(request.query_params))
        except _BadRequest as bad:
            return bad.response
        return JSONResponse(schema_in_shape(kit.schema(), config.semarize_kit_schema_shape))

    async def list_kits(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        summaries = [
            {"kit_code": k.kit_code, "kit_version_id": k.kit_version_id, "version": k.version, "name": k.name}
            for k in sorted(registry, key=lambda k: (k.kit_code, k.version))
        ]
        return JSONResponse({"kits": summaries})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "request_failed")
        return error_response(exc.status_code, code, str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        code = "run_request_failed" if request.url.path.endswith("/v1/runs") else "internal_error"
        return error_response(500, code, "Semarize could not process the request.")

    app = Starlette(
        routes=[
            Route("/v1/runs", create_run, methods=["POST"]),
            Route("/v1/runs", list_runs, methods=["GET"]),
            Route("/v1/runs/{run_id}", get_run, methods=["GET"]),
            Route("/v1/test", test_kit, methods=["POST"]),
            Route("/v1/kits/schema", kit_schema, methods=["GET"]),
            Route("/v1/kits", list_kits, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.semarize_store = store  # so that the parent app (or a test) can close the file
    app.state.semarize_kits = registry
    return app


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise _BadRequest(
            error_response(400, "input_must_be_object", "The request body must be a JSON object.")
        )
    return body


def _resolve_kit(registry: KitRegistry, params: dict[str, Any]) -> Kit:
    kit_code, version_id = params.get("kit_code"), params.get("kit_version_id")
    kit_code = kit_code if isinstance(kit_code, str) and kit_code else None
    version_id = version_id if isinstance(version_id, str) and version_id else None
    if kit_code is None and version_id is None:
        raise _BadRequest(
            error_response(400, "kit_code_or_kit_version_id_required", "Send kit_code or kit_version_id.")
        )
    kit = registry.resolve(kit_code, version_id)
    if kit is None:
        named = f"kit_version_id {version_id}" if version_id else f"kit_code {kit_code}"
        raise _BadRequest(error_response(404, "kit_not_found", f"No Kit with {named}."))
    return kit


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], code: str) -> str:
    value = body.get(name, allowed[0])
    if value not in allowed:
        raise _BadRequest(error_response(400, code, f"{name} must be one of: {', '.join(allowed)}."))
    return str(value)
