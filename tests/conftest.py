"""Shared fixtures: the sandbox served over real loopback HTTP, a Symbl token, and a webhook receiver.

Usage:
    def test_x(sandbox: str): ...                                   # base URL, default fast config
    @pytest.mark.sandbox_config(concurrent_job_limit=2)             # config overrides by marker
    @pytest.mark.parametrize("sandbox", [{"fault_5xx_rate": 1.0}], indirect=True)   # or by parameter
    def test_y(sandbox_factory): s = sandbox_factory(processing_factor=0.5); s.restart()  # full control
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp

# Timings that keep the suite fast while every job state stays observable.
FAST_SANDBOX: dict[str, Any] = {
    "processing_factor": 0.001,
    "queue_delay_seconds": 0.05,
    "min_processing_seconds": 0.1,
    "webhook_retry_base_seconds": 0.02,
    "webhook_timeout_seconds": 2.0,
    "media_fetch_timeout_seconds": 2.0,
    "tracker_management_latency_seconds": 0.0,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_config(**overrides): SandboxConfig overrides for `sandbox`")
    if not hasattr(config, "workerinput"):
        # The controller (or a run without workers) parses the dbt project once, before any worker starts: the
        # workers of `pytest -n` then find target/manifest.json current instead of each writing it at once.
        import orchestration.defs.warehouse.dbt  # noqa: F401


@dataclass
class RunningSandbox:
    """A sandbox served in this process; ``restart()`` serves a new app on the same data dir."""

    config: SandboxConfig
    served: ServedApp | None = None

    @property
    def url(self) -> str:
        assert self.served is not None, "sandbox is stopped"
        return self.served.base_url

    @property
    def symbl_url(self) -> str:
        return f"{self.url}/symbl"

    def start(self) -> RunningSandbox:
        self.served = ServedApp(build_app(self.config)).start()
        return self

    def stop(self) -> None:
        if self.served is not None:
            self.served.stop()
            self.served = None

    def restart(self, **overrides: Any) -> RunningSandbox:
        self.stop()
        self.config = self.config.replace(**overrides)
        return self.start()


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[Callable[..., RunningSandbox]]:
    """Start sandboxes with config overrides (data in ``tmp_path/sandbox`` unless given); all stop at
    teardown."""
    running: list[RunningSandbox] = []

    def start(**overrides: Any) -> RunningSandbox:
        settings = {**FAST_SANDBOX, "data_dir": tmp_path / "sandbox", **overrides}
        sandbox = RunningSandbox(SandboxConfig(**settings)).start()
        running.append(sandbox)
        return sandbox

    yield start
    for sandbox in running:
        sandbox.stop()


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, sandbox_factory: Callable[..., RunningSandbox]) -> str:
    """Base URL of a running sandbox (vendors under /symbl, /semarize, /nebula)."""
    overrides: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("sandbox_config"))):
        overrides.update(marker.kwargs)
    overrides.update(getattr(request, "param", None) or {})
    return sandbox_factory(**overrides).url


def symbl_token_for(base_url: str, config: SandboxConfig | None = None) -> str:
    config = config or SandboxConfig()
    response = httpx.post(
        f"{base_url}/symbl/oauth2/token:generate",
        json={"type": "application", "appId": config.symbl_app_id, "appSecret": config.symbl_app_secret},
    )
    response.raise_for_status()
    return str(response.json()["accessToken"])


@pytest.fixture
def symbl_token(sandbox: str) -> str:
    return symbl_token_for(sandbox)


@pytest.fixture
def symbl(sandbox: str, symbl_token: str) -> Iterator[httpx.Client]:
    """An httpx client on the sandbox's Symbl base URL, authenticated with a Bearer token."""
    with httpx.Client(
        base_url=f"{sandbox}/symbl", headers={"Authorization": f"Bearer {symbl_token}"}, timeout=10
    ) as client:
        yield client


@dataclass
class WebhookReceiver:
    """Collects JSON POSTs; answers with ``status_codes`` in turn (then 200), to exercise retries."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    status_codes: list[int] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: predicate(self.received), timeout)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    async def collect(request: Request) -> Response:
        body = await request.json()
        with receiver.arrived:
            status = receiver.status_codes.pop(0) if receiver.status_codes else 200
            if status < 300:
                receiver.received.append(body)
                receiver.arrived.notify_all()
        return JSONResponse({"ok": status < 300}, status_code=status)

    with ServedApp(Starlette(routes=[Route("/hook", collect, methods=["POST"])])) as served:
        receiver.url = f"{served.base_url}/hook"
        yield receiver


@pytest.fixture(autouse=True)
def fresh_symbl_tokens() -> Iterator[None]:
    """Each test is its own "run": Symbl tokens are cached per process (one per account), so start clean."""
    from orchestration.defs.symbl.auth import forget_tokens

    forget_tokens()
    yield
    forget_tokens()
