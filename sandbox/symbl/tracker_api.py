"""Trackers management, both generations (2023+ ``/v1/manage/trackers...`` and 2022
``/v1/manage/tracker...``).

The account allows one management request at a time: a request arriving while another holds the slot gets 429
at once (no queueing), as the contract says. Bodies are limited to 1 MB (413).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.symbl import trackers
from sandbox.symbl.context import SymblContext
from sandbox.symbl.errors import SymblError, bad_request, not_found
from sandbox.symbl.requests import read_json

Handler = Callable[[Request], Awaitable[Response]]


class TrackerApi:
    def __init__(self, ctx: SymblContext) -> None:
        self.ctx = ctx
        self._busy = False

    def routes(self) -> list[Route]:
        one = "/v1/manage/trackers/{trackerId}"
        legacy = "/v1/manage/tracker"
        return [
            Route("/v1/manage/trackers", self._managed(self.list_trackers), methods=["GET"]),
            Route("/v1/manage/trackers", self._managed(self.create), methods=["POST"]),
            Route("/v1/manage/trackers/bulk", self._managed(self.create_bulk), methods=["POST"]),
            Route(one, self._managed(self.get_wrapped), methods=["GET"]),
            Route(one, self._managed(self.patch), methods=["PATCH"]),
            Route(one, self._managed(self.delete), methods=["DELETE"]),
            Route(legacy, self._managed(self.create_legacy), methods=["POST"]),
            Route(legacy + "/{trackerId}", self._managed(self.get_legacy), methods=["GET"]),
            Route(legacy + "/{trackerId}", self._managed(self.put_legacy), methods=["PUT"]),
            Route(legacy + "/{trackerId}", self._managed(self.delete), methods=["DELETE"]),
        ]

    def _managed(self, handler: Handler) -> Handler:
        """Auth, then the account's single management slot, held for the whole request."""

        async def handle(request: Request) -> Response:
            self.ctx.tokens.require(request)
            if self._busy:
                raise SymblError(
                    429,
                    "Only one tracker management request is allowed at a time per account.",
                    statusCode=429,
                )
            self._busy = True
            try:
                latency = self.ctx.config.tracker_management_latency_seconds
                if latency > 0:
                    await asyncio.sleep(latency)
                return await handler(request)
            finally:
                self._busy = False

        return handle

    async def _body(self, request: Request) -> Any:
        return await read_json(request, self.ctx.config.max_management_body_bytes)

    def _existing(self, request: Request) -> dict[str, Any]:
        tracker = self.ctx.repository.get_tracker(request.path_params["trackerId"])
        if tracker is None:
            raise not_found("Tracker not found.")
        return tracker

    def _insert(self, definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        repository = self.ctx.repository
        if repository.tracker_count() + len(definitions) > trackers.MAX_TRACKERS:
            raise bad_request(f"An account can have at most {trackers.MAX_TRACKERS} trackers.")
        names: set[str] = set()
        for definition in definitions:
            key = definition["name"].lower()
            if key in names or repository.tracker_id_by_name(definition["name"]) is not None:
                raise trackers.conflict(definition["name"])
            names.add(key)
        created = [trackers.new_tracker(d) for d in definitions]
        repository.insert_trackers(created)
        return created

    def _replace(self, existing: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
        clash = self.ctx.repository.tracker_id_by_name(definition["name"])
        if clash is not None and clash != existing["id"]:
            raise trackers.conflict(definition["name"])
        tracker = trackers.updated_tracker(existing, definition)
        self.ctx.repository.replace_tracker(tracker)
        return tracker

    # --- 2023+ ----------------------------------------------------------------------------------------------

    async def list_trackers(self, request: Request) -> Response:
        items = self.ctx.repository.list_trackers()
        name = request.query_params.get("name")
        if name is not None:
            items = [t for t in items if t["name"].lower() == name.lower()]
        return JSONResponse({"trackers": items})

    async def create(self, request: Request) -> Response:
        definition = trackers.validate_definition(await self._body(request))
        return JSONResponse({"tracker": self._insert([definition])[0]}, status_code=201)

    async def create_bulk(self, request: Request) -> Response:
        body = await self._body(request)
        items = body.get("trackers") if isinstance(body, dict) else body
        if not isinstance(items, list) or not items:
            raise bad_request("trackers must be a non-empty array.")
        definitions = [trackers.validate_definition(t, f"trackers[{i}]") for i, t in enumerate(items)]
        return JSONResponse({"trackers": self._insert(definitions)}, status_code=201)

    async def get_wrapped(self, request: Request) -> Response:
        return JSONResponse({"tracker": self._existing(request)})

    async def patch(self, request: Request) -> Response:
        existing = self._existing(request)
        definition = trackers.apply_patch(existing, await self._body(request))
        return JSONResponse({"tracker": self._replace(existing, definition)})

    async def delete(self, request: Request) -> Response:
        existing = self._existing(request)
        self.ctx.repository.delete_tracker(existing["id"])
        return JSONResponse({"id": existing["id"], "message": "Tracker deleted."})

    # --- 2022 (bare tracker objects) ------------------------------------------------------------------------

    async def create_legacy(self, request: Request) -> Response:
        definition = trackers.validate_definition(await self._body(request))
        return JSONResponse(self._insert([definition])[0], status_code=201)

    async def get_legacy(self, request: Request) -> Response:
        return JSONResponse(self._existing(request))

    async def put_legacy(self, request: Request) -> Response:
        existing = self._existing(request)
        definition = trackers.validate_definition(await self._body(request))
        return JSONResponse(self._replace(existing, definition))
