"""SemarizeClient against a scripted Semarize (httpx.MockTransport): runs, retries, errors, keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orchestration.defs.semarize.client import SemarizeAPIError, SemarizeClient, SemarizeRunTimeout
from orchestration.http import Retries, Waits

API_KEY = "smz_test_unit_key"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeSemarize:
    def __init__(self, create: list[httpx.Response], runs: list[httpx.Response] | None = None) -> None:
        self.create = create
        self.runs = runs or []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        queue = self.create if request.method == "POST" else self.runs
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def creates(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST"]


def make_client(fake: FakeSemarize, time: FakeTime) -> SemarizeClient:
    return SemarizeClient(
        "http://semarize.test/semarize",
        API_KEY,
        transport=httpx.MockTransport(fake),
        retry=Retries(max_retries=3, waits=Waits(0.5, 2.0, 4.0)),
        poll=Waits(1.0, 2.0, 8.0),
        run_deadline_seconds=60,
        sleep=time.sleep,
        rng=lambda: 1.0,
        monotonic=time.clock,
    )


def run_body(status: str, **extra: Any) -> dict[str, Any]:
    return {"run_id": "run-1", "status": status, "run_type": "api", **extra}


SUCCEEDED = run_body(
    "succeeded",
    kit_version_id="kv-1",
    output={"kit_code": "SLSDISC1", "bricks": {"budget_confirmed": {"value": True, "confidence": 0.9}}},
)
INPUT = {"transcript": "Rep: Hello\nProspect: Hi", "account_id": "acct-1"}


def create(client_factory: Callable[[], SemarizeClient], **kwargs: Any) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with client_factory() as semarize:
            return await semarize.create_run("SLSDISC1", INPUT, idempotency_key="ci-key-1", **kwargs)

    return asyncio.run(run())


def test_sync_run_returns_the_finished_run_and_sends_the_contract_body() -> None:
    fake, time = FakeSemarize([httpx.Response(200, json=SUCCEEDED)]), FakeTime()
    run = create(lambda: make_client(fake, time))
    assert run["output"]["bricks"]["budget_confirmed"]["value"] is True
    (request,) = fake.requests
    assert request.url.path == "/semarize/v1/runs" and request.headers["idempotency-key"] == "ci-key-1"
    assert json.loads(request.content) == {
        "kit_code": "SLSDISC1",
        "input": INPUT,
        "type": "api",
        "mode": "sync",
    }
    assert time.sleeps == []


def test_kit_version_id_replaces_kit_code() -> None:
    fake, time = FakeSemarize([httpx.Response(200, json=SUCCEEDED)]), FakeTime()
    create(lambda: make_client(fake, time), kit_version_id="kv-7")
    body = json.loads(fake.requests[0].content)
    assert body["kit_version_id"] == "kv-7" and "kit_code" not in body


def test_sync_202_falls_back_to_polling_until_terminal_honouring_retry_after() -> None:
    fake = FakeSemarize(
        [httpx.Response(202, json=run_body("queued"), headers={"Retry-After": "3"})],
        [
            httpx.Response(200, json=run_body("running"), headers={"Retry-After": "2"}),
            httpx.Response(200, json=run_body("running")),
            httpx.Response(200, json=SUCCEEDED),
        ],
    )
    time = FakeTime()
    run = create(lambda: make_client(fake, time))
    assert run["status"] == "succeeded"
    assert [r.url.path for r in fake.requests[1:]] == ["/semarize/v1/runs/run-1"] * 3
    # 3 s from the 202's Retry-After, 2 s from the running answer's, then the backoff's third-poll ceiling.
    assert time.sleeps == [3.0, 2.0, 4.0]


def test_async_mode_returns_the_queued_run_without_polling() -> None:
    fake, time = FakeSemarize([httpx.Response(202, json=run_body("queued"))]), FakeTime()
    assert create(lambda: make_client(fake, time), mode="async")["status"] == "queued"
    assert len(fake.requests) == 1


def test_polling_gives_up_at_the_deadline() -> None:
    fake = FakeSemarize(
        [httpx.Response(202, json=run_body("queued"))], [httpx.Response(200, json=run_body("running"))]
    )
    time = FakeTime()
    with pytest.raises(SemarizeRunTimeout) as info:
        create(lambda: make_client(fake, time))
    assert info.value.run_id == "run-1" and info.value.last_status == "running"
    assert time.now == pytest.approx(60.0)


@pytest.mark.parametrize(
    ("response", "expected_sleep"),
    [
        (httpx.Response(429, json={"error": "rate_limited"}, headers={"Retry-After": "4"}), 4.0),
        (httpx.Response(429, json={"error": "rate_limited", "retry_after_seconds": 6}), 6.0),
        (httpx.Response(429, json={"error": "rate_limited"}), 0.5),  # no hint: backoff
    ],
)
def test_rate_limit_is_retried_with_the_same_key_and_body(
    response: httpx.Response, expected_sleep: float
) -> None:
    fake, time = FakeSemarize([response, httpx.Response(200, json=SUCCEEDED)]), FakeTime()
    assert create(lambda: make_client(fake, time))["status"] == "succeeded"
    first, second = fake.creates()
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == "ci-key-1"
    assert first.content == second.content
    assert time.sleeps == [expected_sleep]


def test_server_errors_and_timeouts_are_retried_then_surface_as_retryable() -> None:
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(500, json={"error": "run_request_failed", "message": "upstream model error"})

    time = FakeTime()
    client = SemarizeClient(
        "http://semarize.test/semarize",
        API_KEY,
        transport=httpx.MockTransport(flaky),
        retry=Retries(max_retries=2, waits=Waits(0.5, 2.0, 4.0)),
        sleep=time.sleep,
        rng=lambda: 1.0,
    )
    with pytest.raises(SemarizeAPIError) as info:
        create(lambda: client)
    err = info.value
    assert (err.status, err.code, err.message, err.retryable) == (
        500,
        "run_request_failed",
        "upstream model error",
        True,
    )
    assert calls == 3 and time.sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "input_must_be_object"),
        (401, "invalid_api_key"),
        (403, "api_key_expired"),
        (404, "kit_not_found"),
        (409, "idempotency_key_conflict"),
        (422, "invalid_run_mode"),
    ],
)
def test_client_errors_are_not_retried_and_surface_the_flat_code(status: int, code: str) -> None:
    fake, time = FakeSemarize([httpx.Response(status, json={"error": code})]), FakeTime()
    with pytest.raises(SemarizeAPIError) as info:
        create(lambda: make_client(fake, time))
    assert (info.value.status, info.value.code, info.value.retryable) == (status, code, False)
    assert code in str(info.value) and API_KEY not in str(info.value)
    assert len(fake.requests) == 1 and time.sleeps == []


def test_idempotency_key_is_deterministic_bounded_and_input_sensitive() -> None:
    key = SemarizeClient.idempotency_key("5550001", "SLSDISC1", "Rep: hi")
    assert key == SemarizeClient.idempotency_key("5550001", "SLSDISC1", "Rep: hi")
    assert key.startswith("ci-SLSDISC1-") and len(key) <= 254
    others = {
        SemarizeClient.idempotency_key("5550002", "SLSDISC1", "Rep: hi"),
        SemarizeClient.idempotency_key("5550001", "AIQUALT1", "Rep: hi"),
        SemarizeClient.idempotency_key("5550001", "SLSDISC1", "Rep: hi!"),
        SemarizeClient.idempotency_key("555000", "1SLSDISC1", "Rep: hi"),  # shifted boundaries
    }
    assert key not in others and len(others) == 4
    hostile = SemarizeClient.idempotency_key("c" * 5000, "K/../\n" * 100, "t" * 100_000)
    assert len(hostile) <= 254 and hostile.isprintable() and "/" not in hostile


def test_list_runs_accepts_a_wrapped_or_bare_list() -> None:
    runs = [run_body("succeeded"), run_body("failed")]
    for body in (runs, {"runs": runs}, {"data": runs}):
        fake, time = FakeSemarize([httpx.Response(200)], [httpx.Response(200, json=body)]), FakeTime()

        async def run(fake: FakeSemarize = fake, time: FakeTime = time) -> list[dict[str, Any]]:
            async with make_client(fake, time) as semarize:
                return await semarize.list_runs(limit=2)

        assert asyncio.run(run()) == runs
        assert fake.requests[0].url.params["limit"] == "2"
