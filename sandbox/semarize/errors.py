"""Semarize's flat error bodies: ``{"error": "<code>", "message": ...}`` (+ ``retry_after_seconds``)."""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import JSONResponse


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


def retry_after_header(seconds: float) -> str:
    """HTTP's Retry-After takes whole seconds: round up so a client that obeys it is never early."""
    return str(max(1, math.ceil(seconds)))


def rate_limited(seconds: float) -> JSONResponse:
    response = error_response(
        429,
        "rate_limited",
        "Too many requests for this API key; retry after the indicated delay.",
        # The body keeps the precise delay; the header is rounded up to whole seconds.
        retry_after_seconds=round(seconds, 3),
    )
    response.headers["Retry-After"] = retry_after_header(seconds)
    return response
