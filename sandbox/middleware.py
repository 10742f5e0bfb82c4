"""Cross-vendor middleware: call counters by route template, and fault injection; plus the run-time knobs.

``RuntimeSettings`` is the live-tunable subset of ``SandboxConfig``: it starts from the config and changes
through ``PUT /_sandbox/faults`` so a test or benchmark can provoke failures without restarting the server.
The fault decisions draw from one seeded RNG, so a given seed and call order always produce the same faults.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.config import SandboxConfig

# Paths that are never faulted nor counted as vendor API calls (the operator's own surface).
INSPECTION_PREFIXES = ("/_sandbox",)
UNFAULTED_PREFIXES = ("/health", "/_sandbox", "/media")
# Auth is excluded from random faults unless `fault_paths` names it: a flaky token endpoint would turn every
# fault test into an auth test.
AUTH_MARKERS = ("/oauth2/",)

SYMBL_CONCURRENCY_MESSAGE = (
    "This API has a limit of maximum of `{limit}` number of concurrent jobs per account. "
    "If you are looking to scale, and need more concurrent jobs than this limit, "
    "please contact us at support@symbl.ai"
)


@dataclass
class RuntimeSettings:
    """Knobs that can change while the server runs (names match ``SandboxConfig`` fields)."""

    token_lifetime_seconds: int
    concurrent_job_limit: int
    processing_factor: float
    queue_delay_seconds: float
    min_processing_seconds: float
    fault_seed: int
    fault_5xx_rate: float
    fault_429_rate: float
    fault_slow_rate: float
    fault_slow_seconds: float
    fault_job_failure_rate: float
    fault_duplicate_webhook_rate: float
    fault_drop_connection_rate: float
    fault_submit_created_5xx_rate: float
    fault_submit_created_drop_rate: float
    fault_paths: tuple[str, ...]
    fail_jobs_matching: str
    fail_next_jobs: int
    streaming_connection_limit: int
    fault_ws_drop_rate: float
    fault_ws_drop_after_bytes: int
    fault_ws_drop_limit: int
    fault_ws_stall_rate: float
    fault_ws_stall_seconds: float
    fault_ws_refuse_rate: float
    fault_ws_refuse_next: int

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.fault_seed)
        self._faults: Counter[str] = Counter()

    def record_fault(self, name: str) -> None:
        """Count an injected fault, so a test can assert the fault really happened (``GET /_sandbox/stats``)."""
        with self._lock:
            self._faults[name] += 1

    def fault_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._faults.items()))

    def reset_fault_counts(self) -> None:
        with self._lock:
            self._faults.clear()

    @classmethod
    def from_config(cls, config: SandboxConfig) -> RuntimeSettings:
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})

    def as_dict(self) -> dict[str, Any]:
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)
        }

    def update(self, changes: dict[str, Any]) -> None:
        """Apply changes atomically; ValueError naming the first bad field leaves everything unchanged."""
        parsed: dict[str, Any] = {}
        known = {f.name: f for f in fields(self)}
        for name, raw in changes.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}")
            parsed[name] = _coerce(name, getattr(self, name), raw)
        with self._lock:
            for name, value in parsed.items():
                setattr(self, name, value)
            if "fault_seed" in parsed:
                self._rng = random.Random(parsed["fault_seed"])

    def chance(self, rate: float) -> bool:
        """One seeded draw; a zero rate draws nothing, so enabling one fault keeps the others' sequence."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def claim_refusal(self) -> bool:
        """Whether to refuse this WebSocket upgrade (``fault_ws_refuse_next`` first, then the random rate)."""
        with self._lock:
            if self.fault_ws_refuse_next > 0:
                self.fault_ws_refuse_next -= 1
                return True
        return self.chance(self.fault_ws_refuse_rate)

    def choice(self, options: Sequence[Any]) -> Any:
        with self._lock:
            return self._rng.choice(list(options))

    def claim_forced_failure(self, conversation_name: str | None) -> str | None:
        """Decide at submit time whether a job must fail, and why (the reason becomes the job's `message`)."""
        with self._lock:
            pattern = self.fail_jobs_matching
            if pattern and conversation_name and re.search(pattern, conversation_name):
                return (
                    f"Processing failed: conversation name matches the sandbox failure pattern {pattern!r}."
                )
            if self.fail_next_jobs > 0:
                self.fail_next_jobs -= 1
                return "Processing failed: injected by the sandbox (fail_next_jobs)."
        if self.chance(self.fault_job_failure_rate):
            return "Processing failed: injected by the sandbox (fault_job_failure_rate)."
        return None


def _coerce(name: str, current: Any, raw: Any) -> Any:
    try:
        if isinstance(current, bool):
            if not isinstance(raw, bool):
                raise TypeError
            return raw
        if isinstance(current, int):
            if isinstance(raw, bool) or not isinstance(raw, int | float) or int(raw) != raw:
                raise TypeError
            value: Any = int(raw)
        elif isinstance(current, float):
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise TypeError
            value = float(raw)
        elif isinstance(current, tuple):
            if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
                raise TypeError
            return tuple(raw)
        else:
            if not isinstance(raw, str):
                raise TypeError
            if name == "fail_jobs_matching" and raw:
                re.compile(raw)
            return raw
    except (TypeError, re.error) as exc:
        raise ValueError(f"{name} must be a {type(current).__name__}; got {raw!r}") from exc
    if value < 0 or (name.endswith("_rate") and value > 1):
        raise ValueError(f"{name} out of range: {raw!r}")
    return value


# --- call counters ------------------------------------------------------------------------------------------


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """The route template a request resolves to (e.g. ``/symbl/v1/job/{jobId}``), following mounts."""
    partial: str | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            inner_routes = route.routes
            if not inner_routes:  # a plain ASGI app (e.g. static files): the rest of the path is data
                return f"{route.path}/{{path}}"
            inner = route_template(inner_routes, {**scope, **child})
            if inner is not None:
                return route.path + inner
            continue
        path = getattr(route, "path", None)
        if path is None:
            continue
        if match is Match.FULL:
            return str(path)
        partial = partial or str(path)
    return partial


class CallCounter:
    """Request counts keyed by ``"<METHOD> <route template>"``."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def add_status(self, key: str, status: int) -> None:
        with self._lock:
            self._statuses[f"{key} -> {status}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def status_snapshot(self) -> dict[str, int]:
        """Answers by route and status (``"POST /symbl/v1/process/audio -> 429": 3``), faults included."""
        with self._lock:
            return dict(sorted(self._statuses.items()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._statuses.clear()


class CallCounterMiddleware:
    """Counts every HTTP request except the inspection surface, before any fault can short-circuit it."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute], counter: CallCounter) -> None:
        self.app = app
        self.routes = routes
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(INSPECTION_PREFIXES):
            await self.app(scope, receive, send)
            return
        key = f"{scope['method']} {route_template(self.routes, scope) or '(unmatched)'}"
        self.counter.add(key)

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.counter.add_status(key, int(message["status"]))
            await send(message)

        await self.app(scope, receive, counting_send)


# --- fault injection ----------------------------------------------------------------------------------------


class FaultInjectionMiddleware:
    """Random 5xx / 429 / slow answers / dropped connections on vendor API paths, per ``RuntimeSettings``."""

    def __init__(self, app: ASGIApp, settings: RuntimeSettings) -> None:
        self.app = app
        self.settings = settings

    def _applies(self, path: str) -> bool:
        if path.startswith(UNFAULTED_PREFIXES):
            return False
        if self.settings.fault_paths:
            return any(path.startswith(prefix) for prefix in self.settings.fault_paths)
        return not any(marker in path for marker in AUTH_MARKERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(scope["path"]):
            await self.app(scope, receive, send)
            return
        s = self.settings
        if s.chance(s.fault_drop_connection_rate):
            # Announce a body, then end the exchange without it: the server closes the socket mid-response,
            # which a client sees as a dropped connection (httpx: RemoteProtocolError).
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]}
            )
            return
        if s.chance(s.fault_slow_rate):
            await asyncio.sleep(s.fault_slow_seconds)
        if s.chance(s.fault_5xx_rate):
            status = s.choice((500, 502, 503))
            await _send_json(send, status, _error_body(scope["path"], status, s), {})
            return
        if s.chance(s.fault_429_rate):
            headers = _rate_limit_headers(scope["path"])
            await _send_json(send, 429, _error_body(scope["path"], 429, s), headers)
            return
        if _is_symbl_submit(scope):
            if s.chance(s.fault_submit_created_5xx_rate):
                await self._created_then(scope, receive, send, "submit_created_then_5xx")
                return
            if s.chance(s.fault_submit_created_drop_rate):
                await self._created_then(scope, receive, send, "submit_created_then_drop")
                return
        await self.app(scope, receive, send)

    async def _created_then(self, scope: Scope, receive: Receive, send: Send, fault: str) -> None:
        """Let the submit create its conversation and job, then lose the answer (5xx or a dropped socket).

        The real answer is buffered; if the submit did not succeed (400, 429...) it is passed on unchanged, since
        nothing was created and the client must see the true refusal.
        """
        messages: list[Message] = []

        async def buffer(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, buffer)
        status = next((int(m["status"]) for m in messages if m["type"] == "http.response.start"), 500)
        if status >= 300:
            for message in messages:
                await send(message)
            return
        self.settings.record_fault(fault)
        if fault == "submit_created_then_5xx":
            await _send_json(send, 503, _error_body(scope["path"], 503, self.settings), {})
            return
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-length", b"1024")]})


def _is_symbl_submit(scope: Scope) -> bool:
    return scope["method"] in ("POST", "PUT") and scope["path"].startswith("/symbl/v1/process/")


def _error_body(path: str, status: int, settings: RuntimeSettings) -> dict[str, Any]:
    """Each vendor's own error shape, so clients exercise the code path the real service would."""
    if path.startswith("/semarize"):
        if status == 429:
            return {"error": "rate_limited", "retry_after_seconds": 1}
        return {"error": "run_request_failed", "message": "Injected sandbox fault."}
    if status == 429:
        if path.startswith("/symbl"):
            return {
                "statusCode": 429,
                "message": SYMBL_CONCURRENCY_MESSAGE.format(limit=settings.concurrent_job_limit),
            }
        return {"message": "Too many requests."}
    return {"message": "Internal server error (injected sandbox fault)."}


def _rate_limit_headers(path: str) -> dict[str, str]:
    # Symbl's 429 carries no Retry-After (documented); Semarize's always does.
    return {"retry-after": "1"} if path.startswith("/semarize") else {}


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
