"""Reading request bodies within limits, and query-string flags, with Symbl's error shapes."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from sandbox.symbl.errors import SymblError, bad_request

JSON_BODY_LIMIT = 16 * 1024 * 1024


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, or 413 as soon as it is known to exceed ``limit`` (declared length or bytes read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise SymblError(413, f"Request body is larger than the limit of {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise SymblError(413, f"Request body is larger than the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int = JSON_BODY_LIMIT) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json":
        raise bad_request(f"Content-Type {content_type!r} is not supported: send application/json.")
    body = await read_body(request, limit)
    if not body.strip():
        raise bad_request("The request body is empty: send a JSON document.")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None


async def read_json_object(request: Request, limit: int = JSON_BODY_LIMIT) -> dict[str, Any]:
    body = await read_json(request, limit)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def flag(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() not in {"true", "false"}:
        raise bad_request(f"{name} must be true or false.")
    return raw.lower() == "true"


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise bad_request(f"{name} must be an integer between {low} and {high}.")
    return int(raw)
