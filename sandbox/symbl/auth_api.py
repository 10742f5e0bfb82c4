"""``POST /oauth2/token:generate`` (and the ``/oauth2/token/generate`` spelling some guides use)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.symbl.context import SymblContext
from sandbox.symbl.errors import SymblError, bad_request
from sandbox.symbl.requests import read_json_object

_AUTH_BODY_LIMIT = 64 * 1024


class AuthApi:
    def __init__(self, ctx: SymblContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [
            Route("/oauth2/token:generate", self.generate, methods=["POST"]),
            Route("/oauth2/token/generate", self.generate, methods=["POST"]),
        ]

    async def generate(self, request: Request) -> Response:
        body = await read_json_object(request, _AUTH_BODY_LIMIT)
        if body.get("type") != "application":
            raise bad_request("type must be 'application'.")
        if not self.ctx.tokens.credentials_match(body.get("appId"), body.get("appSecret")):
            raise SymblError(401, "Invalid appId or appSecret.")
        lifetime = self.ctx.settings.token_lifetime_seconds
        return JSONResponse({"accessToken": self.ctx.tokens.issue(lifetime), "expiresIn": lifetime})
