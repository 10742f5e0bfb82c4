"""The sandbox server: every vendor stand-in behind one ASGI app.

    /symbl      Symbl REST (Auth, Async, Job, Conversation, Trackers management)
    /semarize   Semarize REST
    /nebula     Symbl's Nebula LLM
    /slack      Slack incoming webhooks (messages kept for inspection)
    /crm        HubSpot-style CRM v3 objects (batch upsert by a unique property)
    /media      read-only static files from ``config.media_dir`` (a recording platform's CDN on loopback)
    /health     liveness
    /_sandbox   inspection and control: call counters by route template, run-time fault settings

Mounted sub-apps' lifespans are not run by Starlette's ``Mount``, so this app's lifespan enters each of them:
the Symbl job runner and any background work of the other vendors start and stop with the server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from sandbox.config import SandboxConfig
from sandbox.crm import build_crm_app
from sandbox.middleware import CallCounter, CallCounterMiddleware, FaultInjectionMiddleware, RuntimeSettings
from sandbox.nebula.app import build_nebula_app
from sandbox.semarize.app import build_semarize_app
from sandbox.slack import build_slack_app
from sandbox.symbl.app import build_symbl_app
from sandbox.symbl.insights import InsightsEngine
from sandbox.symbl.streaming import TransportCaptureMiddleware

_FAULTS_BODY_LIMIT = 64 * 1024


def build_app(config: SandboxConfig, *, insights_engine: InsightsEngine | None = None) -> Starlette:
    """The whole sandbox; ``insights_engine`` replaces the text intelligence (a test seam)."""
    config.ensure_data_dir()
    settings = RuntimeSettings.from_config(config)
    counter = CallCounter()
    symbl = build_symbl_app(config, settings, insights_engine)
    vendors: dict[str, Starlette] = {
        "symbl": symbl,
        "semarize": build_semarize_app(config),
        "nebula": build_nebula_app(config),
        "slack": build_slack_app(config),
        "crm": build_crm_app(config),
    }
    control = _ControlApi(settings, counter, symbl, tuple(vendors))
    routes: list[BaseRoute] = [
        Route("/health", control.health, methods=["GET"]),
        Route("/_sandbox/stats", control.stats, methods=["GET"]),
        Route("/_sandbox/stats/reset", control.reset_stats, methods=["POST"]),
        Route("/_sandbox/faults", control.faults, methods=["GET"]),
        Route("/_sandbox/faults", control.update_faults, methods=["PUT"]),
        *(Mount(f"/{name}", app=app) for name, app in vendors.items()),
    ]
    if config.media_dir is not None:
        # check_dir=False: the folder may be created after the server starts (e.g. by the demo generator).
        routes.append(Mount("/media", app=StaticFiles(directory=config.media_dir, check_dir=False)))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for app in vendors.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            # Counting is outermost so that faulted requests are counted too: they are calls the client made.
            Middleware(CallCounterMiddleware, routes=routes, counter=counter),
            Middleware(FaultInjectionMiddleware, settings=settings),
            Middleware(TransportCaptureMiddleware),  # lets streaming faults drop a socket for real
        ],
        exception_handlers={HTTPException: _http_exception},
    )


class _ControlApi:
    def __init__(
        self, settings: RuntimeSettings, counter: CallCounter, symbl: Starlette, vendors: tuple[str, ...]
    ) -> None:
        self.vendors = vendors
        self.settings = settings
        self.counter = counter
        self.symbl = symbl

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "vendors": list(self.vendors)})

    async def stats(self, request: Request) -> Response:
        jobs = self.symbl.state.symbl.repository.job_counts()
        return JSONResponse(
            {
                "calls": self.counter.snapshot(),
                "responses": self.counter.status_snapshot(),
                "symbl_jobs": jobs,
                "faults": self.settings.fault_counts(),
                "streaming": self.symbl.state.streaming.stats.snapshot(),
            }
        )

    async def reset_stats(self, request: Request) -> Response:
        self.counter.reset()
        self.settings.reset_fault_counts()
        self.symbl.state.streaming.stats.reset()
        return JSONResponse({"calls": {}})

    async def faults(self, request: Request) -> Response:
        return JSONResponse(self.settings.as_dict())

    async def update_faults(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > _FAULTS_BODY_LIMIT:
            return JSONResponse({"message": "body too large"}, status_code=413)
        try:
            changes = json.loads(body or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of setting names to values")
            self.settings.update(changes)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return JSONResponse({"message": str(exc)}, status_code=400)
        return JSONResponse(self.settings.as_dict())


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code, headers=exc.headers)
