"""SymblClient against a scripted Symbl (httpx.MockTransport): auth, retries, limiter, waits, encodings."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from orchestration.defs.symbl.client import (
    SIGNALS,
    SubmitOptions,
    SymblAPIError,
    SymblClient,
    SymblJobTimeout,
)
from orchestration.http import Retries, Waits

APP_SECRET = "s3cret-app-secret-value"
Handler = Callable[[httpx.Request], Any]


class FakeTime:
    """A clock that only moves when the client sleeps (or a test advances it): deterministic waits."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeSymbl:
    """Token endpoint plus per-route handlers; counts token generations and records every request."""

    def __init__(self, expires_in: int = 86400, token_exp: float | None = None) -> None:
        self.expires_in = expires_in
        self.token_exp = token_exp
        self.tokens_issued = 0
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Handler] = {}
        self.token_delay = 0.0

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/symbl/oauth2/token:generate":
            body = json.loads(request.content)
            if body.get("appSecret") != APP_SECRET:
                return httpx.Response(401, json={"message": "Invalid credentials"})
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            self.tokens_issued += 1
            claims: dict[str, Any] = {"sub": "app", "n": self.tokens_issued}
            if self.token_exp is not None:
                claims["exp"] = int(self.token_exp)
            token = jwt.encode(claims, "k" * 32, algorithm="HS256")
            return httpx.Response(200, json={"accessToken": token, "expiresIn": self.expires_in})
        handler = self.routes.get((request.method, request.url.path.removeprefix("/symbl")))
        if handler is None:
            return httpx.Response(404, json={"message": "Not found"})
        result = handler(request)
        return await result if inspect.isawaitable(result) else result

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if "oauth2" not in r.url.path]


def make_client(fake: FakeSymbl, time: FakeTime | None = None, **kwargs: Any) -> SymblClient:
    time = time or FakeTime()
    kwargs.setdefault("retry", Retries(max_retries=3, waits=Waits(0.5, 2.0, 4.0)))
    kwargs.setdefault("rng", lambda: 1.0)
    return SymblClient(
        "http://symbl.test/symbl",
        "app-id",
        APP_SECRET,
        transport=httpx.MockTransport(fake),
        sleep=time.sleep,
        clock=time.clock,
        monotonic=time.clock,
        **kwargs,
    )


def job_answer(status: str, **extra: Any) -> Handler:
    return lambda request: httpx.Response(200, json={"id": "job-1", "status": status, **extra})


def sequence(*responses: httpx.Response) -> Handler:
    """Answer with each response in turn, repeating the last one."""
    remaining = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return handler


# --- auth


def test_token_is_reused_then_refreshed_ahead_of_expiry() -> None:
    fake, time = FakeSymbl(expires_in=1000), FakeTime()
    fake.route("GET", "/v1/job/job-1", job_answer("completed"))

    async def run() -> None:
        async with make_client(fake, time) as symbl:
            await symbl.get_job("job-1")
            time.now += 850  # inside the lifetime minus the early-refresh margin (a tenth: 100 s)
            await symbl.get_job("job-1")
            assert fake.tokens_issued == 1
            time.now += 60  # 910 s: within the margin, before expiry -> refreshed early
            await symbl.get_job("job-1")
            assert fake.tokens_issued == 2

    asyncio.run(run())
    tokens = {r.headers["authorization"] for r in fake.api_requests()}
    assert len(tokens) == 2 and all(t.startswith("Bearer ") for t in tokens)


def test_jwt_exp_shorter_than_expires_in_wins() -> None:
    time = FakeTime()
    fake = FakeSymbl(expires_in=86400, token_exp=time.now + 100)
    fake.route("GET", "/v1/job/job-1", job_answer("completed"))

    async def run() -> None:
        async with make_client(fake, time) as symbl:
            await symbl.get_job("job-1")
            time.now += 95  # past exp minus a tenth of 100 s, long before expiresIn
            await symbl.get_job("job-1")

    asyncio.run(run())
    assert fake.tokens_issued == 2


def test_401_regenerates_the_token_once_and_retries_once() -> None:
    fake = FakeSymbl()
    fake.route(
        "GET",
        "/v1/job/job-1",
        sequence(
            httpx.Response(401, json={"message": "Token validation failed"}), job_answer("completed")(None)
        ),
    )

    async def run() -> str:
        async with make_client(fake) as symbl:
            return (await symbl.get_job("job-1")).status

    assert asyncio.run(run()) == "completed"
    assert fake.tokens_issued == 2
    first, second = fake.api_requests()
    assert first.headers["authorization"] != second.headers["authorization"]


def test_second_401_raises_without_a_third_attempt() -> None:
    fake = FakeSymbl()
    fake.route(
        "GET", "/v1/job/job-1", lambda r: httpx.Response(401, json={"message": "Token validation failed"})
    )

    async def run() -> None:
        async with make_client(fake) as symbl:
            await symbl.get_job("job-1")

    with pytest.raises(SymblAPIError) as info:
        asyncio.run(run())
    assert info.value.status == 401 and "Token validation failed" in str(info.value)
    assert len(fake.api_requests()) == 2 and fake.tokens_issued == 2


def test_concurrent_callers_share_one_token_request() -> None:
    fake = FakeSymbl()
    fake.token_delay = 0.02  # keep the first generation in flight while the others arrive
    fake.route("GET", "/v1/job/job-1", job_answer("completed"))

    async def run() -> None:
        async with make_client(fake) as symbl:
            await asyncio.gather(*(symbl.get_job("job-1") for _ in range(20)))

    asyncio.run(run())
    assert fake.tokens_issued == 1
    assert len(fake.api_requests()) == 20


def test_bad_credentials_raise_without_leaking_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeSymbl()

    async def run() -> None:
        client = SymblClient(
            "http://symbl.test/symbl", "app-id", "wrong-" + APP_SECRET, transport=httpx.MockTransport(fake)
        )
        async with client as symbl:
            await symbl.get_job("job-1")

    caplog.set_level(logging.DEBUG)
    with pytest.raises(SymblAPIError) as info:
        asyncio.run(run())
    assert info.value.status == 401 and "token:generate" in info.value.endpoint
    assert APP_SECRET not in str(info.value) and APP_SECRET not in repr(info.value)
    assert APP_SECRET not in caplog.text


def test_token_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeSymbl()
    fake.route("GET", "/v1/job/job-1", job_answer("completed"))
    caplog.set_level(logging.DEBUG)

    async def run() -> None:
        async with make_client(fake) as symbl:
            await symbl.get_job("job-1")
            assert APP_SECRET not in repr(symbl)

    asyncio.run(run())
    token = fake.api_requests()[0].headers["authorization"].removeprefix("Bearer ")
    assert token not in caplog.text and APP_SECRET not in caplog.text


# --- retries


def test_429_and_5xx_are_retried_with_growing_backoff_then_succeed() -> None:
    fake, time = FakeSymbl(), FakeTime()
    fake.route(
        "GET",
        "/v1/job/job-1",
        sequence(
            httpx.Response(
                429, json={"statusCode": 429, "message": "limit of maximum of `5` concurrent jobs"}
            ),
            httpx.Response(503, text="unavailable"),
            httpx.Response(500, json={"message": "boom"}),
            job_answer("in_progress")(None),
        ),
    )

    async def run() -> str:
        async with make_client(fake, time) as symbl:
            return (await symbl.get_job("job-1")).status

    assert asyncio.run(run()) == "in_progress"
    assert time.sleeps == [0.5, 1.0, 2.0]  # rng() == 1.0 -> exactly the exponential ceilings


def test_retries_are_bounded_and_surface_the_last_status() -> None:
    fake, time = FakeSymbl(), FakeTime()
    fake.route("GET", "/v1/job/job-1", lambda r: httpx.Response(502, json={"message": "bad gateway"}))

    async def run() -> None:
        async with make_client(fake, time) as symbl:
            await symbl.get_job("job-1")

    with pytest.raises(SymblAPIError) as info:
        asyncio.run(run())
    assert info.value.status == 502 and info.value.retryable
    assert len(fake.api_requests()) == 4  # one try + max_retries (3)
    assert time.sleeps == [0.5, 1.0, 2.0]


def test_retry_after_is_honoured_when_present() -> None:
    fake, time = FakeSymbl(), FakeTime()
    fake.route(
        "GET",
        "/v1/job/job-1",
        sequence(httpx.Response(429, headers={"Retry-After": "7"}), job_answer("completed")(None)),
    )

    async def run() -> None:
        async with make_client(fake, time) as symbl:
            await symbl.get_job("job-1")

    asyncio.run(run())
    assert time.sleeps == [7.0]


def test_transport_errors_are_retried_then_reported_without_a_status() -> None:
    fake, time = FakeSymbl(), FakeTime()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    fake.route("GET", "/v1/job/job-1", refuse)

    async def run() -> None:
        async with make_client(fake, time) as symbl:
            await symbl.get_job("job-1")

    with pytest.raises(SymblAPIError) as info:
        asyncio.run(run())
    assert info.value.status is None and info.value.retryable
    assert len(fake.api_requests()) == 4


def test_client_error_raises_at_once_naming_endpoint_and_server_message() -> None:
    fake, time = FakeSymbl(), FakeTime()
    fake.route(
        "POST",
        "/v1/process/audio/url",
        lambda r: httpx.Response(400, json={"message": "url is not reachable"}),
    )

    async def run() -> None:
        async with make_client(fake, time) as symbl:
            await symbl.submit_audio_url("https://media.example/a.wav")

    with pytest.raises(SymblAPIError) as info:
        asyncio.run(run())
    err = info.value
    assert (err.status, err.endpoint, err.message) == (
        400,
        "POST /v1/process/audio/url",
        "url is not reachable",
    )
    assert "POST /v1/process/audio/url" in str(err) and not err.retryable
    assert len(fake.api_requests()) == 1 and time.sleeps == []


@pytest.mark.parametrize("rng_value", [0.0, 0.25, 0.999])
def test_backoff_is_full_jitter_under_an_exponential_capped_ceiling(rng_value: float) -> None:
    backoff = Waits(initial_seconds=0.5, factor=2.0, max_seconds=5.0)
    ceilings = [backoff.ceiling(n) for n in range(8)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    delays = [backoff.delay(n, lambda: rng_value) for n in range(8)]
    assert delays == pytest.approx([rng_value * c for c in ceilings])


# --- submits

FULL_OPTIONS = SubmitOptions(
    name="Discovery - Globex",
    webhook_url="https://hooks.example/symbl?x=1",
    language_code="en-US",
    confidence_threshold=0.7,
    detect_entities=True,
    custom_entities=[{"customType": "Product", "value": "Lumen", "text": "lumen"}],
    trackers=[{"name": "Pricing", "vocabulary": ["price", "budget"]}],
    enable_all_trackers=False,
    enable_summary=True,
    enable_speaker_diarization=True,
    diarization_speaker_count=2,
    channel_metadata=[{"channel": 1, "speaker": {"name": "Maya", "email": "maya@x.example"}}],
    custom_vocabulary=["Globex", "Lumen"],
    metadata={"recording_id": "rec-1"},
)


def submitted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        201, json={"conversationId": "5550001", "jobId": "0f8fad5b-d9cb-469f-a165-70867728950e"}
    )


def test_raw_audio_upload_encodes_every_option_in_the_query_string() -> None:
    fake = FakeSymbl()
    fake.route("POST", "/v1/process/audio", submitted)

    async def run() -> Any:
        async with make_client(fake) as symbl:
            return await symbl.submit_audio_file(b"RIFF....WAVE", "audio/wav", FULL_OPTIONS)

    result = asyncio.run(run())
    assert (result.conversation_id, result.job_id) == ("5550001", "0f8fad5b-d9cb-469f-a165-70867728950e")
    (request,) = fake.api_requests()
    q = request.url.params
    assert request.content == b"RIFF....WAVE" and request.headers["content-type"] == "audio/wav"
    assert q["name"] == "Discovery - Globex" and q["webhookUrl"] == "https://hooks.example/symbl?x=1"
    assert q["confidenceThreshold"] == "0.7" and q["diarizationSpeakerCount"] == "2"
    assert (q["detectEntities"], q["enableAllTrackers"], q["enableSummary"]) == ("true", "false", "true")
    assert q["enableSpeakerDiarization"] == "true"
    assert json.loads(q["entities"]) == [{"customType": "Product", "value": "Lumen", "text": "lumen"}]
    assert json.loads(q["trackers"]) == [{"name": "Pricing", "vocabulary": ["price", "budget"]}]
    assert json.loads(q["channelMetadata"])[0]["speaker"]["email"] == "maya@x.example"
    assert json.loads(q["customVocabulary"]) == ["Globex", "Lumen"]
    assert json.loads(q["metadata"]) == {"recording_id": "rec-1"}


def test_unset_options_are_omitted_and_video_upload_is_mp4() -> None:
    fake = FakeSymbl()
    fake.route("POST", "/v1/process/video", submitted)

    async def run() -> None:
        async with make_client(fake) as symbl:
            await symbl.submit_video_file(b"\x00\x00\x00\x18ftypmp42", SubmitOptions(name="only name"))

    asyncio.run(run())
    (request,) = fake.api_requests()
    assert dict(request.url.params) == {"name": "only name"}
    assert request.headers["content-type"] == "video/mp4"


def test_url_submit_sends_json_options_and_diarization_in_the_query() -> None:
    fake = FakeSymbl()
    fake.route("POST", "/v1/process/video/url", submitted)

    async def run() -> None:
        async with make_client(fake) as symbl:
            await symbl.submit_video_url("https://media.example/call.mp4", FULL_OPTIONS)

    asyncio.run(run())
    (request,) = fake.api_requests()
    body = json.loads(request.content)
    assert body["url"] == "https://media.example/call.mp4"
    assert body["enableSummary"] is True and body["confidenceThreshold"] == 0.7
    assert body["trackers"] == [{"name": "Pricing", "vocabulary": ["price", "budget"]}]
    assert "enableSpeakerDiarization" not in body and "diarizationSpeakerCount" not in body
    assert dict(request.url.params) == {"enableSpeakerDiarization": "true", "diarizationSpeakerCount": "2"}


def test_text_submit_and_append_use_put_on_the_conversation() -> None:
    fake = FakeSymbl()
    fake.route("PUT", "/v1/process/text/5550001", submitted)
    messages = [
        {"payload": {"content": "Hello there", "contentType": "text/plain"}, "from": {"name": "Maya"}}
    ]

    async def run() -> Any:
        async with make_client(fake) as symbl:
            return await symbl.submit_text(
                messages, SubmitOptions(language_code="en-GB"), append_to="5550001"
            )

    assert asyncio.run(run()).conversation_id == "5550001"
    body = json.loads(fake.api_requests()[0].content)
    assert body == {"languageCode": "en-GB", "messages": messages}


# --- jobs and the limiter


def test_wait_for_job_backs_off_with_jitter_and_raises_past_the_deadline() -> None:
    fake, time = FakeSymbl(), FakeTime()
    fake.route("GET", "/v1/job/job-1", job_answer("in_progress"))
    draws = iter([0.9, 0.1, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0] * 10)

    async def run() -> None:
        client = make_client(fake, time, poll=Waits(1.0, 2.0, 8.0), rng=lambda: next(draws))
        async with client as symbl:
            await symbl.wait_for_job("job-1", deadline_seconds=30)

    start = time.now
    with pytest.raises(SymblJobTimeout) as info:
        asyncio.run(run())
    assert info.value.job_id == "job-1" and info.value.last_status == "in_progress"
    assert time.sleeps[:6] == pytest.approx([0.9, 0.2, 2.0, 8.0, 8.0, 8.0])
    assert time.now - start == pytest.approx(30.0)  # the last pause is cut to the deadline, never past it


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_wait_for_job_returns_terminal_statuses_including_failed(status: str) -> None:
    fake, time = FakeSymbl(), FakeTime()
    fake.route(
        "GET",
        "/v1/job/job-1",
        sequence(
            job_answer("scheduled")(None),
            job_answer("in_progress")(None),
            job_answer(status, message="media has no transcript")(None),
        ),
    )

    async def run() -> Any:
        async with make_client(fake, time) as symbl:
            return await symbl.wait_for_job("job-1", deadline_seconds=60)

    job = asyncio.run(run())
    assert (job.status, job.message) == (status, "media has no transcript")
    assert len(time.sleeps) == 2


def test_webhook_wake_ends_the_wait_early() -> None:
    fake = FakeSymbl()
    state = {"status": "in_progress"}
    fake.route("GET", "/v1/job/job-1", lambda r: job_answer(state["status"])(r))

    async def run() -> tuple[str, float]:
        # Real sleeps here: the poll interval is 30 s, so only the wake-up can finish this quickly.
        client = SymblClient(
            "http://symbl.test/symbl",
            "app-id",
            APP_SECRET,
            transport=httpx.MockTransport(fake),
            poll=Waits(30.0, 1.0, 30.0),
            rng=lambda: 1.0,
        )
        wake = asyncio.Event()

        async def webhook() -> None:
            await asyncio.sleep(0.05)
            state["status"] = "completed"
            wake.set()

        loop = asyncio.get_running_loop()
        began = loop.time()
        async with client as symbl:
            job, _ = await asyncio.gather(
                symbl.wait_for_job("job-1", deadline_seconds=60, wake=wake), webhook()
            )
        return job.status, loop.time() - began

    status, elapsed = asyncio.run(run())
    assert status == "completed" and elapsed < 5


def test_job_slots_never_exceed_the_concurrent_job_limit() -> None:
    fake = FakeSymbl()
    peak = 0

    async def run() -> None:
        nonlocal peak
        async with make_client(fake, concurrent_jobs=3) as symbl:

            async def job() -> None:
                nonlocal peak
                async with symbl.job_slot():
                    peak = max(peak, symbl.slots_in_use)
                    for _ in range(3):
                        await asyncio.sleep(0)

            await asyncio.gather(*(job() for _ in range(12)))
            assert symbl.slots_in_use == 0

    asyncio.run(run())
    assert peak == 3


# --- conversation API and trackers


def test_signals_use_documented_paths_and_parameters() -> None:
    fake = FakeSymbl()
    seen: dict[str, dict[str, str]] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        seen[request.url.path.rsplit("/", 1)[-1]] = dict(request.url.params)
        return httpx.Response(200, json={"ok": request.url.path})

    for suffix in ("messages", "topics", "action-items", "follow-ups", "questions", "entities", "analytics"):
        fake.route("GET", f"/v1/conversations/c1/{suffix}", answer)
    for suffix in ("trackers", "summary", "members"):
        fake.route("GET", f"/v1/conversations/c1/{suffix}", answer)

    async def run() -> list[Any]:
        async with make_client(fake) as symbl:
            return [await symbl.get_signal("c1", s) for s in SIGNALS]

    bodies = asyncio.run(run())
    assert len(bodies) == len(SIGNALS) == 10
    assert seen["messages"] == {"verbose": "true", "sentiment": "true"}
    assert seen["topics"] == {"sentiment": "true", "parentRefs": "true"}
    assert seen["action-items"] == {} and seen["follow-ups"] == {}


def test_trackers_fall_back_to_the_2022_endpoint_on_404() -> None:
    fake = FakeSymbl()
    hits = [{"id": "t1", "name": "Pricing", "matches": []}]
    fake.route("GET", "/v1/conversations/c1/trackers-detected", lambda r: httpx.Response(200, json=hits))

    async def run() -> Any:
        async with make_client(fake) as symbl:
            return await symbl.get_signal("c1", "trackers")

    assert asyncio.run(run()) == hits
    paths = [r.url.path for r in fake.api_requests()]
    assert paths == ["/symbl/v1/conversations/c1/trackers", "/symbl/v1/conversations/c1/trackers-detected"]


def test_summary_404_while_running_raises_and_refresh_is_sent() -> None:
    fake = FakeSymbl()
    fake.route(
        "GET",
        "/v1/conversations/c1/summary",
        lambda r: (
            httpx.Response(404, json={"message": "Summary is not ready"})
            if "refresh" not in r.url.params
            else httpx.Response(200, json={"summary": [{"id": "s1", "text": "Done."}]})
        ),
    )

    async def run() -> Any:
        async with make_client(fake) as symbl:
            with pytest.raises(SymblAPIError) as info:
                await symbl.get_signal("c1", "summary")
            assert info.value.status == 404 and "summary" in info.value.endpoint
            return await symbl.get_signal("c1", "summary", refresh=True)

    assert asyncio.run(run())["summary"][0]["text"] == "Done."


def test_unknown_signal_is_a_programming_error() -> None:
    async def run() -> None:
        async with make_client(FakeSymbl()) as symbl:
            await symbl.get_signal("c1", "vibes")

    with pytest.raises(ValueError, match="vibes"):
        asyncio.run(run())


def test_tracker_management_is_serialised_and_falls_back_to_2022_create() -> None:
    fake, time = FakeSymbl(), FakeTime()
    in_flight = 0
    peak = 0

    def legacy_create(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"id": "t9", **json.loads(request.content)})

    async def slow_list(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={"trackers": [{"id": "t1", "name": "Pricing"}]})

    fake.route("POST", "/v1/manage/tracker", legacy_create)
    fake.route("GET", "/v1/manage/trackers", slow_list)

    async def run() -> Any:
        async with make_client(fake, time) as symbl:
            lists = await asyncio.gather(*(symbl.list_trackers() for _ in range(5)))
            created = await symbl.create_tracker({"name": "Budget", "vocabulary": ["budget"]})
            return lists, created

    lists, created = asyncio.run(run())
    assert peak == 1 and all(t == [{"id": "t1", "name": "Pricing"}] for t in lists)
    assert created == {"id": "t9", "name": "Budget", "vocabulary": ["budget"]}
