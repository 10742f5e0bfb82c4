"""Job API and Conversation API: job status, the conversation object, listing, deletion and every insight.

While a job on the conversation is still running, insight endpoints answer with partial results (what has been
"recognised" so far), except ``/summary``, which is 404 until the job ends, as documented. A summary exists
when a job asked for it (``enableSummary``) or when ``?refresh=true`` computes it on demand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.symbl import generations, speakers
from sandbox.symbl.context import SymblContext
from sandbox.symbl.errors import bad_request, not_found
from sandbox.symbl.repository import Conversation, listing_of
from sandbox.symbl.requests import flag, int_param
from sandbox.symbl.timeline import iso, parse_iso

# (path suffix, insights key, response wrapper key; None = bare array)
_SIMPLE_SIGNALS: tuple[tuple[str, str, str | None], ...] = (
    ("/action-items", "action_items", "actionItems"),
    ("/follow-ups", "follow_ups", "followUps"),
    ("/questions", "questions", "questions"),
    ("/entities", "entities", "entities"),
    ("/members", "members", "members"),
    ("/trackers", "trackers", None),
    ("/trackers-detected", "trackers", None),
)


class ConversationApi:
    def __init__(self, ctx: SymblContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        base = "/v1/conversations/{conversationId}"
        routes = [
            Route("/v1/job/{jobId}", self.job, methods=["GET"]),
            Route("/v1/conversations", self.list_conversations, methods=["GET"]),
            Route(base, self.conversation, methods=["GET"]),
            Route(base, self.delete, methods=["DELETE"]),
            Route(base + "/messages", self.messages, methods=["GET"]),
            Route(base + "/topics", self.topics, methods=["GET"]),
            Route(base + "/analytics", self.analytics, methods=["GET"]),
            Route(base + "/summary", self.summary, methods=["GET"]),
            Route(base + "/speakers", self.put_speakers, methods=["PUT"]),
            Route(base + "/members/{memberId}", self.put_member, methods=["PUT"]),
        ]
        for suffix, key, wrapper in _SIMPLE_SIGNALS:
            routes.append(Route(base + suffix, self._signal(key, wrapper), methods=["GET"]))
        return routes

    # --- helpers --------------------------------------------------------------------------------------------

    def _conversation(self, request: Request) -> Conversation:
        self.ctx.tokens.require(request)
        conversation = self.ctx.repository.get_conversation(request.path_params["conversationId"])
        if conversation is None:
            raise not_found("Conversation not found.")
        return conversation

    async def _insights(self, request: Request) -> tuple[Conversation, dict[str, Any], bool]:
        # Reading (decoding ~300 KB of insights on a cache miss) and partial results (which may run the
        # analysis) both stay off the event loop, so job polls and submissions are answered on time meanwhile.
        conversation = await run_in_threadpool(self._conversation, request)
        insights, running = await run_in_threadpool(self.ctx.insights.current, conversation)
        config = self.ctx.config
        shaped = generations.shape(
            insights,
            insight_from_email=config.insight_from_email,
            entities_generation=config.entities_generation,
        )
        return conversation, shaped, running

    @staticmethod
    def _object(conversation: Conversation, insights: dict[str, Any]) -> dict[str, Any]:
        return _listed(conversation, *listing_of(insights))

    # --- endpoints ------------------------------------------------------------------------------------------

    async def job(self, request: Request) -> Response:
        self.ctx.tokens.require(request)
        job_id = request.path_params["jobId"]
        found = self.ctx.repository.job_status(job_id)
        if found is None:
            raise not_found("Job not found.")
        status, message = found
        body: dict[str, Any] = {"id": job_id, "status": status}
        if status == "failed" and message and self.ctx.config.job_failure_reason:
            body["message"] = message  # sandbox extension, off by default: Symbl documents no reason
        return JSONResponse(body)

    async def list_conversations(self, request: Request) -> Response:
        self.ctx.tokens.require(request)
        limit = int_param(request, "limit", 100, 1, 1000)
        offset = int_param(request, "offset", 0, 0, 10**9)
        order = request.query_params.get("order", "desc").lower()
        if order not in {"asc", "desc"}:
            raise bad_request("order must be asc or desc.")
        bounds = {}
        for name in ("startTime", "endTime"):
            raw = request.query_params.get(name)
            bounds[name] = iso(parse_iso(raw, name)) if raw else None
        rows = self.ctx.repository.list_conversations(
            order=order, limit=limit, offset=offset, start=bounds["startTime"], end=bounds["endTime"]
        )
        items = [_listed(c, end_time, members) for c, end_time, members in rows]
        return JSONResponse({"conversations": items})

    async def conversation(self, request: Request) -> Response:
        conversation, insights, _ = await self._insights(request)
        return JSONResponse(self._object(conversation, insights))

    async def delete(self, request: Request) -> Response:
        conversation = self._conversation(request)
        self.ctx.repository.delete_conversation(conversation.id, "The conversation was deleted.")
        return JSONResponse({"message": "successfully deleted the conversation"})

    async def messages(self, request: Request) -> Response:
        verbose, sentiment = flag(request, "verbose"), flag(request, "sentiment")
        _, insights, _ = await self._insights(request)
        drop = {k for k, wanted in (("words", verbose), ("sentiment", sentiment)) if not wanted}
        return JSONResponse({"messages": [_without(m, drop) for m in insights["messages"]]})

    async def topics(self, request: Request) -> Response:
        sentiment, parent_refs = flag(request, "sentiment"), flag(request, "parentRefs")
        _, insights, _ = await self._insights(request)
        drop = {k for k, wanted in (("sentiment", sentiment), ("parentRefs", parent_refs)) if not wanted}
        return JSONResponse({"topics": [_without(t, drop) for t in insights["topics"]]})

    async def analytics(self, request: Request) -> Response:
        _, insights, _ = await self._insights(request)
        analytics = insights.get("analytics") or {}
        return JSONResponse(
            {"metrics": analytics.get("metrics", []), "members": analytics.get("members", [])}
        )

    async def summary(self, request: Request) -> Response:
        refresh = flag(request, "refresh")
        conversation, insights, running = await self._insights(request)
        if running:
            raise not_found("Summary is not available until the conversation's job has completed.")
        if refresh:
            insights = await run_in_threadpool(self._refreshed_summary, conversation)
        return JSONResponse({"summary": insights.get("summary", [])})

    async def put_speakers(self, request: Request) -> Response:
        """Speaker events: messages, insights and analytics are re-attributed to who was speaking."""
        conversation = self._conversation(request)
        events = speakers.parse_speaker_events(await _json_body(request))
        await run_in_threadpool(
            self._update_speakers, conversation, speakers.UPDATE_SPEAKER_EVENTS, {"events": events}
        )
        return JSONResponse(
            {
                "message": f"Speaker events associated for conversationId: {conversation.id} successfully! "
                "The update should be reflected in all messages and insights for this conversation"
            },
            status_code=202,
        )

    async def put_member(self, request: Request) -> Response:
        conversation = self._conversation(request)
        member_id = request.path_params["memberId"]
        update = speakers.parse_member_update(member_id, await _json_body(request))
        members = (conversation.insights or {}).get("members", [])
        if not any(m.get("id") == member_id for m in members):
            raise not_found("Member not found.")
        await run_in_threadpool(self._update_speakers, conversation, speakers.UPDATE_MEMBER, update)
        return JSONResponse(
            {
                "message": f"Member with id: {member_id} for conversationId: {conversation.id} updated "
                "successfully! The update should be reflected in all messages and insights along with this "
                "conversation"
            }
        )

    def _update_speakers(self, conversation: Conversation, kind: str, update: dict[str, Any]) -> None:
        self.ctx.repository.add_speaker_update(conversation.id, kind, update)
        # A running job applies the update when it completes; a finished conversation is re-analysed now.
        if not self.ctx.repository.has_active_jobs(conversation.id):
            self.ctx.insights.reanalyze(conversation)

    def _refreshed_summary(self, conversation: Conversation) -> dict[str, Any]:
        jobs = [j for j in self.ctx.repository.jobs_of(conversation.id) if j.status == "completed"]
        if not jobs:
            return conversation.insights or {"summary": []}
        utterances = [u for j in jobs for u in j.utterances or ()]
        insights = self.ctx.insights.analyze(conversation, utterances, jobs[-1].options, enable_summary=True)
        self.ctx.repository.save_insights(conversation.id, insights)
        return insights

    def _signal(self, key: str, wrapper: str | None) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            _, insights, _ = await self._insights(request)
            items = insights.get(key, [])
            return JSONResponse(items if wrapper is None else {wrapper: items})

        return handle


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise bad_request("The body must be valid JSON.") from None


def _without(item: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys} if keys else item


def _listed(conversation: Conversation, end_time: str | None, members: list[Any]) -> dict[str, Any]:
    """The conversation object of GET /v1/conversations(/{id}); it ends with its last message so far."""
    return {
        "id": conversation.id,
        "type": "meeting",
        "name": conversation.name,
        "startTime": conversation.start_time,
        "endTime": end_time or conversation.start_time,
        "members": members,
        "metadata": conversation.metadata,
    }
