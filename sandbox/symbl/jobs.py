"""The job lifecycle: ``scheduled`` -> ``in_progress`` -> ``completed`` | ``failed``, one asyncio task per
job.

Every transition is written to SQLite before it is announced (webhook), and all times are wall-clock, so a
restarted server resumes each unfinished job where it stands: it waits out the rest of its queue delay or
processing time, re-fetching URL media if the fetch had not finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx

from sandbox.config import SandboxConfig
from sandbox.middleware import RuntimeSettings
from sandbox.symbl import speakers
from sandbox.symbl.insights import InsightsService
from sandbox.symbl.media_input import MediaRejected, RecognisedMedia, fetch_and_recognise
from sandbox.symbl.repository import Job, SymblRepository
from sandbox.symbl.timeline import shift
from sandbox.symbl.webhooks import WebhookSender

log = logging.getLogger(__name__)

URL_KINDS = frozenset({"audio_url", "video_url"})


class JobRunner:
    def __init__(
        self,
        config: SandboxConfig,
        settings: RuntimeSettings,
        repository: SymblRepository,
        insights: InsightsService,
        webhooks: WebhookSender,
    ) -> None:
        self._config = config
        self._settings = settings
        self._repository = repository
        self._insights = insights
        self._webhooks = webhooks
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._fetcher: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._fetcher = httpx.AsyncClient(timeout=self._config.media_fetch_timeout_seconds)
        for job in self._repository.unfinished_jobs():
            self.spawn(job.id)

    async def stop(self) -> None:
        """Cancel the drivers without touching job state: the next start resumes them."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._fetcher is not None:
            await self._fetcher.aclose()

    def spawn(self, job_id: str) -> None:
        task = asyncio.create_task(self._drive(job_id), name=f"symbl-job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def _drive(self, job_id: str) -> None:
        try:
            await self._advance(job_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not leave a job scheduled forever
            log.exception("job %s crashed", job_id)
            self._fail(job_id, f"Internal processing error: {type(exc).__name__}.")

    async def _advance(self, job_id: str) -> None:
        job = self._repository.get_job(job_id)
        if job is None or not job.active:
            return
        if job.status == "scheduled":
            await _sleep_until(job.ready_at)
            if not self._repository.start_job(job_id, time.time()):
                return  # deleted meanwhile
            self._announce(job_id, "in_progress")
            job = self._repository.get_job(job_id)
            assert job is not None
        if not job.placed:
            try:
                recognised = await self._recognise(job)
            except MediaRejected as exc:
                self._fail(job_id, str(exc))
                return
            self._place(job, recognised)
            job = self._repository.get_job(job_id)
            assert job is not None
        assert job.started_at is not None and job.processing_seconds is not None
        await _sleep_until(job.started_at + job.processing_seconds)
        if job.planned_failure:
            self._fail(job_id, job.planned_failure)
            return
        await self._complete(job)

    async def _recognise(self, job: Job) -> RecognisedMedia:
        if job.kind in URL_KINDS:
            assert job.source_url is not None and self._fetcher is not None
            return await fetch_and_recognise(
                self._fetcher,
                job.source_url,
                job.kind,
                self._config.max_media_bytes,
                self._config.max_media_seconds,
                allowed_hosts=self._config.media_fetch_allowed_hosts,
            )
        # Text and raw uploads were recognised at submit; only their place on the timeline is left.
        assert job.utterances is not None and job.media_seconds is not None
        return RecognisedMedia(job.utterances, job.media_seconds, job.kind)

    def _place(self, job: Job, recognised: RecognisedMedia) -> None:
        """Put the media after what the conversation already holds, and fix its processing time."""
        others = [j for j in self._repository.jobs_of(job.conversation_id) if j.id != job.id and j.placed]
        offset = max((u.end for j in others if j.status != "failed" for u in j.utterances or ()), default=0.0)
        heard = speakers.recognised(
            recognised.utterances,
            job.kind,
            job.options,
            job.conversation_id,
            self._config.speaker_identity,
        )
        utterances = shift(heard, offset) if job.kind != "text" else heard
        processing = max(
            self._settings.min_processing_seconds, recognised.media_seconds * self._settings.processing_factor
        )
        self._repository.place_job_media(job.id, utterances, recognised.media_seconds, processing)

    async def _complete(self, job: Job) -> None:
        conversation = self._repository.get_conversation(job.conversation_id)
        if conversation is None:
            return
        completed = [j for j in self._repository.jobs_of(job.conversation_id) if j.status == "completed"]
        utterances = [u for j in [*completed, job] for u in j.utterances or ()]
        summary = job.options.enable_summary or any(j.options.enable_summary for j in completed)
        insights = await asyncio.to_thread(
            self._insights.analyze, conversation, utterances, job.options, enable_summary=summary
        )
        if self._repository.complete_job(job.id, job.conversation_id, insights):
            self._announce(job.id, "completed")

    def _fail(self, job_id: str, reason: str) -> None:
        if self._repository.finish_job(job_id, "failed", reason):
            self._announce(job_id, "failed")

    def _announce(self, job_id: str, status: str) -> None:
        job = self._repository.get_job(job_id)
        if job is not None:
            self._webhooks.notify(job.options.webhook_url, job.id, job.conversation_id, status)


async def _sleep_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
