"""The Slack incoming-webhook stand-in (mounted at /slack).

    POST /services/{team}/{bot}/{token}   the incoming-webhook contract: a JSON body with ``text`` and/or
                                          ``blocks``; answers ``200 ok`` (text/plain) like Slack does
    GET  /_received                       inspection: every accepted message, oldest first

Slack answers errors as short plain-text codes, and so does this stand-in: ``400 invalid_payload`` (not JSON, not
an object, neither ``text`` nor ``blocks``), ``400 invalid_blocks`` (blocks that Slack would refuse: not a list of
objects with a ``type``, or more than 50), ``404 no_service`` (a token that is not the configured one). Accepted
messages are kept in ``<data_dir>/slack.sqlite3``, so they survive a restart.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox.config import SandboxConfig
from sandbox.store import SqliteStore, dumps, loads

DATABASE_FILE = "slack.sqlite3"
MAX_BLOCKS = 50  # Slack's limit per message
MAX_BODY_BYTES = 1024 * 1024

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        team_id TEXT NOT NULL,
        bot_id TEXT NOT NULL,
        received_at REAL NOT NULL,
        text TEXT,
        blocks_json TEXT,
        payload_json TEXT NOT NULL
    )
    """,
)


class _Refused(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


def build_slack_app(config: SandboxConfig) -> Starlette:
    store = SqliteStore(config.ensure_data_dir() / DATABASE_FILE, _SCHEMA)

    async def incoming_webhook(request: Request) -> Response:
        token = request.path_params["token"]
        # Slack does not say whether the team or the token was wrong; neither does the stand-in.
        if not hmac.compare_digest(token.encode(), config.slack_webhook_token.encode()):
            return PlainTextResponse("no_service", status_code=404)
        try:
            payload = _message(await request.body())
        except _Refused as refused:
            return PlainTextResponse(refused.code, status_code=refused.status)
        store.execute(
            "INSERT INTO messages (team_id, bot_id, received_at, text, blocks_json, payload_json) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                request.path_params["team"],
                request.path_params["bot"],
                time.time(),
                payload.get("text"),
                dumps(payload["blocks"]) if "blocks" in payload else None,
                dumps(payload),
            ),
        )
        return PlainTextResponse("ok")

    async def received(request: Request) -> Response:
        rows = store.query("SELECT * FROM messages ORDER BY seq")
        return JSONResponse(
            {
                "messages": [
                    {
                        "seq": r["seq"],
                        "team_id": r["team_id"],
                        "bot_id": r["bot_id"],
                        "received_at": r["received_at"],
                        "text": r["text"],
                        "blocks": loads(r["blocks_json"]),
                        "payload": loads(r["payload_json"]),
                    }
                    for r in rows
                ]
            }
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    return Starlette(
        routes=[
            Route("/services/{team}/{bot}/{token}", incoming_webhook, methods=["POST"]),
            Route("/_received", received, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _message(body: bytes) -> dict[str, Any]:
    """The webhook payload, validated the way Slack validates it (a subset: enough to catch real mistakes)."""
    if len(body) > MAX_BODY_BYTES:
        raise _Refused(400, "invalid_payload")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Refused(400, "invalid_payload") from None
    if not isinstance(payload, dict):
        raise _Refused(400, "invalid_payload")
    text, blocks = payload.get("text"), payload.get("blocks")
    if text is not None and not isinstance(text, str):
        raise _Refused(400, "invalid_payload")
    if not (text and text.strip()) and not blocks:
        raise _Refused(400, "invalid_payload")
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            raise _Refused(400, "invalid_blocks")
        if not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks):
            raise _Refused(400, "invalid_blocks")
    return payload
