"""Hostile vendor answers: each is a clear, typed error (never success), and every request has an overall deadline.

Every scripted answer is served by ``httpx.MockTransport`` except the trickling one, which needs a real socket: a
loopback server that sends one byte every 0.2 s, so that only an overall deadline (not httpx's per-read timeout)
can end the request. Each test also asserts that its fault was actually served.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orchestration.defs.nebula.assets import NebulaResource
from orchestration.defs.routing.crm import CrmAPIError, CrmClient
from orchestration.defs.routing.slack import SlackWebhookClient, SlackWebhookError
from orchestration.defs.semarize.client import SemarizeAPIError, SemarizeClient
from orchestration.defs.symbl.client import (
    SymblAPIError,
    SymblClient,
    SymblContractError,
    SymblJobTimeout,
    SymblJobUnavailable,
)
from orchestration.http import DeadlineExceeded, Retries, Waits

JOB_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
GOOD_TOKEN = httpx.Response(200, json={"accessToken": "header.payload.signature", "expiresIn": 86400})
Answer = Callable[[httpx.Request], httpx.Response]


class Script:
    """A vendor whose routes answer as scripted; records every request (host included) it was sent."""

    def __init__(self, routes: dict[tuple[str, str], Answer]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes.get((request.method, request.url.path))
        return answer(request) if answer else httpx.Response(404, json={"message": "no route"})

    def hits(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if (r.method, r.url.path) == (method, path))

    def hosts(self) -> set[str]:
        return {r.url.host for r in self.requests}


async def no_sleep(seconds: float) -> None:
    return None


def symbl(script: Script, **kwargs: Any) -> SymblClient:
    script.routes.setdefault(("POST", "/symbl/oauth2/token:generate"), lambda r: GOOD_TOKEN)
    kwargs.setdefault("retry", Retries(max_retries=2, waits=Waits(0.01, 2.0, 0.01)))
    return SymblClient(
        "http://symbl.test/symbl",
        "app",
        "secret",
        transport=httpx.MockTransport(script),
        sleep=no_sleep,
        **kwargs,
    )


def fixed(response: httpx.Response) -> Answer:
    return lambda request: response


def submit_text(client: SymblClient) -> Any:
    async def run() -> Any:
        async with client:
            return await client.submit_text([{"payload": {"content": "hi", "contentType": "text/plain"}}])

    return asyncio.run(run())


def wait_job(client: SymblClient) -> Any:
    async def run() -> Any:
        async with client:
            return await client.wait_for_job(JOB_ID, deadline_seconds=3600)

    return asyncio.run(run())


# --- Symbl: token and submit


@pytest.mark.parametrize(
    ("token_answer", "fragment"),
    [
        (httpx.Response(200, content=b'{"accessToken": "abc", '), "not JSON"),
        (httpx.Response(200, json={"message": "app suspended"}), "app suspended"),
        (httpx.Response(200, json={"accessToken": 12345, "expiresIn": 60}), "accessToken"),
        (httpx.Response(302, headers={"Location": "https://login.evil.example/x"}), "login.evil.example"),
    ],
)
def test_a_broken_token_answer_is_a_contract_error_and_nothing_is_submitted(
    token_answer: httpx.Response, fragment: str
) -> None:
    script = Script({("POST", "/symbl/oauth2/token:generate"): fixed(token_answer)})
    with pytest.raises(SymblContractError) as info:
        submit_text(symbl(script))
    assert isinstance(info.value, SymblAPIError) and not info.value.retryable
    assert fragment in str(info.value) and "oauth2" in info.value.endpoint
    assert script.hits("POST", "/symbl/oauth2/token:generate") == 1  # served once, never retried
    assert script.hits("POST", "/symbl/v1/process/text") == 0
    assert script.hosts() == {"symbl.test"}  # the redirect was not followed


@pytest.mark.parametrize(
    ("submit_answer", "fragment"),
    [
        (httpx.Response(201, content=b"<html>502 Bad Gateway</html>"), "not JSON"),
        (httpx.Response(200, json={"message": "internal error, try later"}), "internal error, try later"),
        (httpx.Response(201, json=["conversationId", "jobId"]), "not a JSON object"),
        (httpx.Response(201, json={"conversationId": "../../etc", "jobId": JOB_ID}), "conversationId"),
        (httpx.Response(201, json={"conversationId": True, "jobId": JOB_ID}), "conversationId"),
        (httpx.Response(201, json={"conversationId": "5550001", "jobId": "job/../../x"}), "jobId"),
        (httpx.Response(201, json={"conversationId": "5550001", "jobId": 7}), "jobId"),
        (httpx.Response(307, headers={"Location": "http://10.0.0.7/process"}), "redirect"),
        (httpx.Response(201, content=b"[" * 50_000 + b"]" * 50_000), "nested too deeply"),
    ],
)
def test_a_hostile_submit_answer_is_a_contract_error(submit_answer: httpx.Response, fragment: str) -> None:
    script = Script({("POST", "/symbl/v1/process/text"): fixed(submit_answer)})
    with pytest.raises(SymblContractError) as info:
        submit_text(symbl(script))
    assert fragment in str(info.value) and info.value.endpoint == "POST /v1/process/text"
    assert not info.value.retryable
    assert script.hits("POST", "/symbl/v1/process/text") == 1
    assert script.hosts() == {"symbl.test"}


def test_a_numeric_conversation_id_is_accepted_as_digits() -> None:
    script = Script(
        {
            ("POST", "/symbl/v1/process/text"): fixed(
                httpx.Response(201, json={"conversationId": 5550001, "jobId": JOB_ID})
            )
        }
    )
    result = submit_text(symbl(script))
    assert (result.conversation_id, result.job_id) == ("5550001", JOB_ID)


# --- Symbl: job status


@pytest.mark.parametrize(
    ("job_answer", "fragment"),
    [
        (httpx.Response(200, json={"id": JOB_ID, "status": 3}), "not a short string"),
        (httpx.Response(200, json={"id": JOB_ID, "status": ["completed"]}), "not a short string"),
        (httpx.Response(200, json={"message": "upstream timeout"}), "upstream timeout"),
        (httpx.Response(200, content=b"{'status': 'completed'}"), "not JSON"),
        (httpx.Response(301, headers={"Location": "http://169.254.169.254/latest"}), "169.254.169.254"),
        (httpx.Response(302, headers={"Location": "/symbl/v1/job/other"}), "redirect"),
    ],
)
def test_an_unreadable_job_status_fails_the_job_with_a_reason_at_once(
    job_answer: httpx.Response, fragment: str
) -> None:
    script = Script({("GET", f"/symbl/v1/job/{JOB_ID}"): fixed(job_answer)})
    job = wait_job(symbl(script))
    assert job.status == "failed" and fragment in (job.message or "")
    assert script.hits("GET", f"/symbl/v1/job/{JOB_ID}") == 1  # no waiting, no retrying, no following
    assert script.hosts() == {"symbl.test"}


def test_an_unknown_job_status_is_a_failure_not_a_wait_until_the_deadline() -> None:
    script = Script(
        {("GET", f"/symbl/v1/job/{JOB_ID}"): fixed(httpx.Response(200, json={"status": "paused"}))}
    )
    began = time.monotonic()
    job = wait_job(symbl(script))
    assert job.status == "failed" and "unknown job status 'paused'" in (job.message or "")
    assert script.hits("GET", f"/symbl/v1/job/{JOB_ID}") == 1 and time.monotonic() - began < 5


def test_a_lasting_5xx_job_status_is_a_resumable_wait_not_a_failure() -> None:
    script = Script(
        {("GET", f"/symbl/v1/job/{JOB_ID}"): fixed(httpx.Response(503, json={"message": "down"}))}
    )
    with pytest.raises(SymblJobUnavailable) as info:
        wait_job(symbl(script))
    # A SymblJobTimeout: the ledger keeps the job and the next run waits on it again (no duplicate submit).
    assert isinstance(info.value, SymblJobTimeout) and info.value.job_id == JOB_ID
    assert "503" in str(info.value)
    assert script.hits("GET", f"/symbl/v1/job/{JOB_ID}") == 3  # one try + 2 retries, then it gives up


def test_a_404_job_is_still_raised_for_the_caller_to_resubmit() -> None:
    script = Script({})
    with pytest.raises(SymblAPIError) as info:
        wait_job(symbl(script))
    assert info.value.status == 404 and not isinstance(info.value, SymblContractError)


def test_an_answer_over_the_size_cap_is_refused_without_buffering_it() -> None:
    big = json.dumps({"messages": [{"text": "x" * 1000}] * 200}).encode()
    script = Script(
        {("GET", "/symbl/v1/conversations/5550001/messages"): fixed(httpx.Response(200, content=big))}
    )

    async def run() -> None:
        async with symbl(script, max_response_bytes=10_000) as client:
            await client.get_signal("5550001", "messages")

    with pytest.raises(SymblContractError) as info:
        asyncio.run(run())
    assert "larger than 10000 bytes" in str(info.value) and len(big) > 10_000
    assert script.hits("GET", "/symbl/v1/conversations/5550001/messages") == 1


# --- Semarize


def semarize(script: Script) -> SemarizeClient:
    return SemarizeClient(
        "http://semarize.test",
        "smz_test_key",
        transport=httpx.MockTransport(script),
        retry=Retries(max_retries=1, waits=Waits(0.01, 2.0, 0.01)),
        sleep=no_sleep,
    )


def create_run(script: Script) -> Any:
    async def run() -> Any:
        async with semarize(script) as client:
            return await client.create_run("SLSDISC1", {"transcript": "Rep: hi"}, idempotency_key="k-1")

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("answer", "code", "fragment"),
    [
        (
            httpx.Response(200, json={"status": "succeeded", "output": {"bricks": {}}}),
            "invalid_response",
            "run_id",
        ),
        (httpx.Response(200, json={"run_id": 42, "status": "succeeded"}), "invalid_response", "run_id"),
        (
            httpx.Response(202, json={"run_id": "run_1", "status": "thinking"}),
            "invalid_response",
            "unknown status",
        ),
        (httpx.Response(200, content=b"Service Unavailable"), "invalid_response", "not JSON"),
        (
            httpx.Response(303, headers={"Location": "https://elsewhere.example/runs/1"}),
            "redirect",
            "elsewhere",
        ),
    ],
)
def test_a_hostile_semarize_run_is_a_clear_error(answer: httpx.Response, code: str, fragment: str) -> None:
    script = Script({("POST", "/v1/runs"): fixed(answer)})
    with pytest.raises(SemarizeAPIError) as info:
        create_run(script)
    assert info.value.code == code and fragment in str(info.value) and not info.value.retryable
    assert script.hits("POST", "/v1/runs") == 1 and script.hosts() == {"semarize.test"}


# --- CRM and Slack


def crm(script: Script) -> CrmClient:
    return CrmClient(
        "http://crm.test",
        "token",
        transport=httpx.MockTransport(script),
        retry=Retries(max_retries=1, waits=Waits(0.01, 2.0, 0.01)),
        sleep=no_sleep,
    )


UPSERT = "/crm/v3/objects/calls/batch/upsert"


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        (httpx.Response(200, content=b'{"results": [{"id": '), "INVALID_RESPONSE"),
        (httpx.Response(200, content=b"<html>ok</html>"), "INVALID_RESPONSE"),
        (httpx.Response(200, json={"status": "COMPLETE"}), "INVALID_RESPONSE"),
        (httpx.Response(200, json={"results": [{"id": "1"}]}), "INVALID_RESPONSE"),
        (httpx.Response(301, headers={"Location": "https://login.crm.example/"}), "REDIRECT"),
        (httpx.Response(302), "REDIRECT"),
    ],
)
def test_a_hostile_crm_answer_is_never_taken_as_written(answer: httpx.Response, category: str) -> None:
    script = Script({("POST", UPSERT): fixed(answer)})

    async def run() -> None:
        async with crm(script) as client:
            await client.batch_upsert([("conv-1", {"hs_call_title": "Call"})])

    with pytest.raises(CrmAPIError) as info:
        asyncio.run(run())
    assert info.value.category == category and not info.value.retryable
    assert script.hits("POST", UPSERT) == 1 and script.hosts() == {"crm.test"}


def test_a_slack_redirect_is_an_error_and_not_followed() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "http://127.0.0.1:9/steal"})

    async def run() -> None:
        url = "https://hooks.slack.test/services/T/B/secret-token"
        async with SlackWebhookClient(url, transport=httpx.MockTransport(answer), sleep=no_sleep) as slack:
            await slack.post({"text": "risk"})

    with pytest.raises(SlackWebhookError) as info:
        asyncio.run(run())
    assert info.value.code == "redirect" and info.value.status == 302
    assert "secret-token" not in str(info.value) and len(seen) == 1


# --- a trickling answer, over a real loopback socket


class Trickler:
    """A loopback HTTP server that sends its headers, then one body byte every 0.2 s, forever."""

    def __init__(self) -> None:
        self.bytes_sent = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            await writer.drain()
            while True:
                writer.write(b" ")
                await writer.drain()
                self.bytes_sent += 1
                await asyncio.sleep(0.2)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


def test_a_trickling_answer_is_bounded_by_the_request_deadline() -> None:
    trickler = Trickler()

    async def run() -> tuple[BaseException, float]:
        async with trickler as base:
            client = SymblClient(
                f"{base}/symbl",
                "app",
                "secret",
                request_timeout_seconds=60.0,  # per read: never reached, a byte arrives every 0.2 s
                request_deadline_seconds=1.0,
                retry=Retries(max_retries=0),
            )
            began = time.monotonic()
            try:
                async with client:
                    await client.get_job(JOB_ID)
            except Exception as exc:
                return exc, time.monotonic() - began
            raise AssertionError("the trickling answer was accepted")

    error, elapsed = asyncio.run(run())
    assert isinstance(error, SymblAPIError) and error.status is None and "DeadlineExceeded" in str(error)
    assert 0.9 <= elapsed < 3.0
    assert trickler.bytes_sent >= 3  # the fault happened: bytes kept coming, each within the read timeout


def test_a_trickling_semarize_answer_is_bounded_too() -> None:
    trickler = Trickler()

    async def run() -> tuple[BaseException, float]:
        async with trickler as base:
            client = SemarizeClient(
                base, "smz_test_key", request_deadline_seconds=0.8, retry=Retries(max_retries=0)
            )
            began = time.monotonic()
            try:
                async with client:
                    await client.get_run("run_1")
            except Exception as exc:
                return exc, time.monotonic() - began
            raise AssertionError("the trickling answer was accepted")

    error, elapsed = asyncio.run(run())
    assert isinstance(error, SemarizeAPIError) and error.code == "transport_error"
    assert elapsed < 3.0 and trickler.bytes_sent >= 2


def test_a_trickling_nebula_answer_is_bounded_too() -> None:
    trickler = Trickler()

    async def run() -> tuple[BaseException, float]:
        async with trickler as base:
            nebula = NebulaResource(
                base_url=f"{base}/nebula", api_key="k", request_deadline_seconds=0.8, max_retries=0
            )
            began = time.monotonic()
            try:
                async with nebula.http_client() as client:
                    await nebula.generate(client, "Rep: hi")
            except Exception as exc:
                return exc, time.monotonic() - began
            raise AssertionError("the trickling answer was accepted")

    error, elapsed = asyncio.run(run())
    assert isinstance(error, DeadlineExceeded) and elapsed < 3.0 and trickler.bytes_sent >= 2
