"""The Symbl sandbox as one Starlette app (mounted at ``/symbl`` by ``sandbox.app``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from sandbox.config import SandboxConfig
from sandbox.middleware import RuntimeSettings
from sandbox.symbl.auth import TokenService
from sandbox.symbl.auth_api import AuthApi
from sandbox.symbl.context import SymblContext
from sandbox.symbl.conversation_api import ConversationApi
from sandbox.symbl.errors import SymblError, handle_http_exception, handle_symbl_error
from sandbox.symbl.insights import InsightsEngine, InsightsService, ProcessPoolEngine, intelligence_engine
from sandbox.symbl.jobs import JobRunner
from sandbox.symbl.repository import SymblRepository
from sandbox.symbl.streaming import StreamingApi
from sandbox.symbl.submit_api import SubmitApi
from sandbox.symbl.tracker_api import TrackerApi
from sandbox.symbl.webhooks import WebhookSender


def build_symbl_app(
    config: SandboxConfig, settings: RuntimeSettings | None = None, engine: InsightsEngine | None = None
) -> Starlette:
    """The Symbl REST surface; its lifespan runs the job runner (resuming unfinished jobs) and webhooks."""
    settings = settings or RuntimeSettings.from_config(config)
    repository = SymblRepository(config.ensure_data_dir())
    pool = (
        ProcessPoolEngine(config.analysis_processes) if engine is None and config.analysis_processes else None
    )
    insights = InsightsService(repository, engine or pool or intelligence_engine)
    webhooks = WebhookSender(
        settings,
        config.webhook_max_attempts,
        config.webhook_retry_base_seconds,
        config.webhook_timeout_seconds,
    )
    ctx = SymblContext(
        config=config,
        settings=settings,
        repository=repository,
        tokens=TokenService(repository, config.symbl_app_id, config.symbl_app_secret),
        insights=insights,
        webhooks=webhooks,
        runner=JobRunner(config, settings, repository, insights, webhooks),
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await webhooks.start()
        await ctx.runner.start()
        try:
            yield
        finally:
            await ctx.runner.stop()
            await webhooks.aclose()
            if pool is not None:
                pool.close()
            repository.close()

    streaming = StreamingApi(ctx)
    routes = [
        *streaming.routes(),
        *AuthApi(ctx).routes(),
        *SubmitApi(ctx).routes(),
        *ConversationApi(ctx).routes(),
        *TrackerApi(ctx).routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={SymblError: handle_symbl_error, HTTPException: handle_http_exception},
    )
    app.state.symbl = ctx
    app.state.streaming = streaming
    return app
