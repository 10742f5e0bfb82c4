"""Reconciling an ambiguous submit against Symbl itself, before anything is submitted again.

A submit is ambiguous when the process died after committing its intent, the answer was lost (dropped connection,
timeout) or came back 5xx: Symbl may or may not have created the conversation. Every submit carries
``metadata: {recording_id, submit_attempt}``, and ``GET /v1/conversations`` returns each conversation's metadata, so
the account's conversations are searched (offset paging, newest first, from a day before the recording started: a
text submit's conversation starts at the recording's start, a media submit's at the submit time, both later).

Symbl documents no way to map a conversation back to its job, so an adopted conversation is awaited through the
Conversation API: ``GET /v1/conversations/{id}`` (404: it is gone), then ``/summary``, which Symbl answers 404 while
the conversation's job runs (every submit here asks for ``enableSummary``). Once it answers, the job has ended:
with messages it completed, without any it failed (a failed job leaves no transcript). The ledger row keeps the
conversation id and a NULL job id, so an adopted conversation is visible as such.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestration.defs.symbl.client import JobStatus, SymblAPIError, SymblClient, SymblJobTimeout

PAGE_SIZE = 100
MAX_PAGES = 500  # 50,000 conversations in the window: beyond that we refuse to guess and leave it ambiguous


class ReconcileIncomplete(Exception):
    """The account's conversations could not be searched to the end: nothing may be resubmitted yet."""


def _matches(conversation: Any, recording_id: str, attempt: int) -> bool:
    if not isinstance(conversation, dict):
        return False
    metadata = conversation.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("recording_id") != recording_id:
        return False
    tagged = metadata.get("submit_attempt")
    return tagged is None or str(tagged) == str(attempt)


async def find_submission(
    client: SymblClient, recording_id: str, attempt: int, recording_start: datetime
) -> str | None:
    """The conversation id Symbl holds for (recording, attempt), or None when it has none."""
    start = recording_start if recording_start.tzinfo else recording_start.replace(tzinfo=UTC)
    since = (start.astimezone(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    offset = 0
    for _ in range(MAX_PAGES):
        body = await client.list_conversations(limit=PAGE_SIZE, offset=offset, order="desc", start_time=since)
        page = body.get("conversations") if isinstance(body, dict) else None
        if not isinstance(page, list):
            raise ReconcileIncomplete("GET /v1/conversations answered without a conversations list")
        for conversation in page:
            if _matches(conversation, recording_id, attempt) and conversation.get("id"):
                return str(conversation["id"])
        if len(page) < PAGE_SIZE:
            return None
        offset += len(page)
    raise ReconcileIncomplete(f"more than {MAX_PAGES * PAGE_SIZE} conversations since {since}")


async def adopted_status(client: SymblClient, conversation_id: str) -> str:
    """completed | failed | in_progress for a conversation whose job id is unknown (see the module docstring)."""
    try:
        await client.get_conversation(conversation_id)
    except SymblAPIError as exc:
        if exc.status == 404:
            return "gone"
        raise
    try:
        await client.get_signal(conversation_id, "summary")
    except SymblAPIError as exc:
        if exc.status == 404:
            return "in_progress"
        raise
    body = await client.get_signal(conversation_id, "messages")
    messages = body.get("messages") if isinstance(body, dict) else None
    return "completed" if messages else "failed"


async def wait_for_adopted(
    client: SymblClient, conversation_id: str, deadline_seconds: float, poll_seconds: float = 1.0
) -> JobStatus:
    """Poll ``adopted_status`` with a capped backoff until the conversation's job ended or the deadline passed."""
    give_up_at = time.monotonic() + deadline_seconds
    delay = poll_seconds
    while True:
        status = await adopted_status(client, conversation_id)
        if status == "completed":
            return JobStatus(conversation_id, "completed")
        if status == "failed":
            return JobStatus(
                conversation_id, "failed", "adopted conversation has no messages: its job failed"
            )
        if status == "gone":
            return JobStatus(
                conversation_id, "failed", f"adopted conversation {conversation_id} no longer exists"
            )
        remaining = give_up_at - time.monotonic()
        if remaining <= 0:
            raise SymblJobTimeout(conversation_id, status, deadline_seconds)
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 1.5, 30.0)
