"""Symbl's error shape: ``{"message": "<what is wrong>"}`` with the HTTP status (plus extra keys for some)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

TOKEN_INVALID_MESSAGE = "Token validation failed for provided token."


class SymblError(Exception):
    """Raised anywhere in a request handler; rendered as Symbl renders errors."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {**self.extra, "message": self.message}


def bad_request(message: str) -> SymblError:
    return SymblError(400, message)


def not_found(message: str) -> SymblError:
    return SymblError(404, message)


async def handle_symbl_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SymblError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in Symbl's JSON shape instead of plain text."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code, headers=exc.headers)
