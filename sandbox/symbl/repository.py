"""The Symbl sandbox's durable state: settings (signing key), conversations + insights, jobs, trackers.

Utterances are stored per job, already placed on the conversation's timeline (seconds from the conversation
start), so a conversation is the union of its completed jobs' utterances (appends included).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.store import SqliteStore, dumps, loads
from sandbox.symbl.options import SubmitOptions
from sandbox.transcript import Speaker, Utterance

ACTIVE_STATUSES = ("scheduled", "in_progress")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        name TEXT,
        start_time TEXT NOT NULL,          -- ISO-8601 UTC
        created_at REAL NOT NULL,
        metadata TEXT NOT NULL,
        insights TEXT                      -- JSON: the last completed analysis over all completed jobs
    )""",
    # What GET /v1/conversations shows of each conversation's insights, kept beside them whenever they are saved:
    # a page of the listing then reads no insights document (a call's is ~300 KB of JSON), so paging through a day
    # of 10,000 conversations (a reconcile does) stays cheap, as Symbl's own listing is.
    """CREATE TABLE IF NOT EXISTS conversation_listing (
        conversation_id TEXT PRIMARY KEY,
        end_time TEXT,                     -- ISO-8601 UTC: the last message's end, NULL before any message
        members TEXT NOT NULL              -- JSON: the insights' members
    )""",
    """CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        kind TEXT NOT NULL,                -- text | audio | audio_url | video | video_url
        status TEXT NOT NULL,              -- scheduled | in_progress | completed | failed
        message TEXT,                      -- failure reason (sandbox extension)
        options TEXT NOT NULL,
        source_url TEXT,
        utterances TEXT,                   -- JSON, on the conversation timeline; NULL until known (URL jobs)
        placed INTEGER NOT NULL,           -- 1 when utterances are already on the conversation timeline
        media_seconds REAL,
        planned_failure TEXT,
        created_at REAL NOT NULL,
        ready_at REAL NOT NULL,
        started_at REAL,
        processing_seconds REAL,
        finished_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_by_conversation ON jobs (conversation_id)",
    "CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status)",
    # Speaker events and member identities PUT after the fact, replayed in order over the utterances.
    """CREATE TABLE IF NOT EXISTS speaker_updates (
        conversation_id TEXT NOT NULL,
        kind TEXT NOT NULL,                -- speaker_events | member
        body TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS speaker_updates_by_conversation ON speaker_updates (conversation_id)",
    """CREATE TABLE IF NOT EXISTS trackers (
        id TEXT PRIMARY KEY,
        name_key TEXT NOT NULL UNIQUE,     -- lower-cased name: names are unique case-insensitively
        body TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
)


@dataclass(frozen=True)
class Job:
    id: str
    conversation_id: str
    kind: str
    status: str
    message: str | None
    options: SubmitOptions
    source_url: str | None
    utterances: tuple[Utterance, ...] | None
    placed: bool
    media_seconds: float | None
    planned_failure: str | None
    created_at: float
    ready_at: float
    started_at: float | None
    processing_seconds: float | None
    finished_at: float | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def progress(self, now: float) -> float:
        """Share of the job's processing done (0..1), which drives partial results."""
        if self.status == "completed":
            return 1.0
        if self.status != "in_progress" or self.started_at is None or not self.processing_seconds:
            return 0.0
        return max(0.0, min(1.0, (now - self.started_at) / self.processing_seconds))


@dataclass(frozen=True)
class Conversation:
    id: str
    name: str | None
    start_time: str
    created_at: float
    metadata: dict[str, Any]
    insights: dict[str, Any] | None


def utterances_to_json(utterances: Sequence[Utterance]) -> list[dict[str, Any]]:
    return [
        {
            "speaker": {"name": u.speaker.name, "email": u.speaker.email, "userId": u.speaker.user_id},
            "text": u.text,
            "start": u.start,
            "end": u.end,
            "channel": u.channel,
        }
        for u in utterances
    ]


def utterances_from_json(items: list[dict[str, Any]]) -> tuple[Utterance, ...]:
    return tuple(
        Utterance(
            speaker=Speaker(
                name=i["speaker"]["name"], email=i["speaker"].get("email"), user_id=i["speaker"].get("userId")
            ),
            text=i["text"],
            start=float(i["start"]),
            end=float(i["end"]),
            channel=i.get("channel"),
        )
        for i in items
    )


class _DecodedConversations:
    """The last few conversations read, decoded, so the ~10 GETs a client makes of a finished conversation's
    signals (one per signal, concurrently, right after its job ends) parse its ~300 KB insights once, not each
    time: json.loads of them was 13-15 % of the sandbox's CPU on a 300-recording ingest (py-spy).

    A read caches only when no write to that conversation happened while it read (a per-id generation, bumped
    after every write commits), so a reader that loaded the old row never puts it back after a writer dropped it.
    Entries are shared: callers treat a Conversation and its insights as read-only (``generations.shape`` and the
    endpoints copy what they change).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, Conversation] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, conversation_id: str) -> tuple[Conversation | None, int]:
        """(cached conversation or None, the generation to pass to ``put`` after reading it)."""
        with self._lock:
            found = self._entries.get(conversation_id)
            if found is not None:
                self._entries.move_to_end(conversation_id)
                self.hits += 1
            else:
                self.misses += 1
            return found, self._generations.get(conversation_id, 0)

    def put(self, conversation: Conversation, generation: int) -> None:
        with self._lock:
            if self._generations.get(conversation.id, 0) != generation:
                return
            self._entries[conversation.id] = conversation
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def invalidate(self, conversation_id: str) -> None:
        with self._lock:
            self._generations[conversation_id] = self._generations.get(conversation_id, 0) + 1
            self._entries.pop(conversation_id, None)


# A client fetches a conversation's signals as its job ends; at the API's concurrency (50) that is a few dozen
# conversations at a time. A decoded call is ~1-2 MB of Python objects, so this bounds the cache near 100 MB.
DECODED_CONVERSATIONS = 64


class SymblRepository:
    def __init__(self, data_dir: Path) -> None:
        self.store = SqliteStore(data_dir / "symbl.sqlite3", _SCHEMA)
        self.decoded = _DecodedConversations(DECODED_CONVERSATIONS)

    def close(self) -> None:
        self.store.close()

    # --- settings -------------------------------------------------------------------------------------------

    def get_or_create_setting(self, key: str, create: Callable[[], str]) -> str:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return str(row[0])
            value = create()
            conn.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (key, value))
            return value

    # --- conversations --------------------------------------------------------------------------------------

    def create_conversation_with_job(self, conversation: Conversation, job: Job) -> None:
        with self.store.transaction() as conn:
            _insert_conversation(conn, conversation)
            _insert_job(conn, job)

    def create_conversation(self, conversation: Conversation) -> None:
        """A conversation with no job yet: a live stream's, which gets its job when the stream stops."""
        with self.store.transaction() as conn:
            _insert_conversation(conn, conversation)

    def add_job(self, job: Job) -> None:
        with self.store.transaction() as conn:
            _insert_job(conn, job)

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        cached, generation = self.decoded.get(conversation_id)
        if cached is not None:
            return cached
        row = self.store.query_one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if row is None:
            return None
        conversation = _conversation(row)
        self.decoded.put(conversation, generation)
        return conversation

    def list_conversations(
        self, *, order: str, limit: int, offset: int, start: str | None, end: str | None
    ) -> list[tuple[Conversation, str | None, list[Any]]]:
        """A page of conversations, each with its listing (end time, members), without their insights."""
        clauses, params = [], []
        if start is not None:
            clauses.append("c.start_time >= ?")
            params.append(start)
        if end is not None:
            clauses.append("c.start_time <= ?")
            params.append(end)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        direction = "ASC" if order == "asc" else "DESC"
        rows = self.store.query(
            "SELECT c.id, c.name, c.start_time, c.created_at, c.metadata, l.end_time, l.members, "
            # Only a data dir written before the listing table has no listing row: derive it from the insights.
            "CASE WHEN l.conversation_id IS NULL THEN c.insights END AS insights "
            f"FROM conversations c LEFT JOIN conversation_listing l ON l.conversation_id = c.id {where} "
            f"ORDER BY c.start_time {direction}, c.rowid {direction} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        out = []
        for r in rows:
            conversation = Conversation(
                r["id"], r["name"], r["start_time"], r["created_at"], loads(r["metadata"], {}), None
            )
            if r["members"] is not None:
                out.append((conversation, r["end_time"], loads(r["members"], [])))
            else:
                out.append((conversation, *listing_of(loads(r["insights"]) or {})))
        return out

    def delete_conversation(self, conversation_id: str, reason: str) -> bool:
        """Deletes the conversation; its unfinished jobs end `failed` so nothing waits on them forever."""
        with self.store.transaction() as conn:
            deleted = conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,)).rowcount
            conn.execute("DELETE FROM conversation_listing WHERE conversation_id = ?", (conversation_id,))
            conn.execute(
                "UPDATE jobs SET status = 'failed', message = ?, finished_at = ? "
                "WHERE conversation_id = ? AND status IN ('scheduled', 'in_progress')",
                (reason, time.time(), conversation_id),
            )
            conn.execute("UPDATE jobs SET utterances = NULL WHERE conversation_id = ?", (conversation_id,))
        self.decoded.invalidate(conversation_id)
        return deleted > 0

    def save_insights(self, conversation_id: str, insights: dict[str, Any]) -> None:
        with self.store.transaction() as conn:
            _write_insights(conn, conversation_id, insights)
        self.decoded.invalidate(conversation_id)

    def add_speaker_update(self, conversation_id: str, kind: str, body: dict[str, Any]) -> None:
        self.store.execute(
            "INSERT INTO speaker_updates (conversation_id, kind, body, created_at) VALUES (?, ?, ?, ?)",
            (conversation_id, kind, dumps(body), time.time()),
        )

    def speaker_updates(self, conversation_id: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self.store.query(
            "SELECT kind, body FROM speaker_updates WHERE conversation_id = ? ORDER BY rowid",
            (conversation_id,),
        )
        return [(r[0], loads(r[1])) for r in rows]

    # --- jobs -----------------------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job | None:
        row = self.store.query_one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else _job(row)

    def job_status(self, job_id: str) -> tuple[str, str | None] | None:
        """(status, failure message) without loading the job's utterances: the hot path of job polling."""
        row = self.store.query_one("SELECT status, message FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else (row[0], row[1])

    def has_active_jobs(self, conversation_id: str) -> bool:
        return (
            self.store.query_one(
                "SELECT 1 FROM jobs "
                "WHERE conversation_id = ? AND status IN ('scheduled', 'in_progress') LIMIT 1",
                (conversation_id,),
            )
            is not None
        )

    def jobs_of(self, conversation_id: str) -> list[Job]:
        rows = self.store.query(
            "SELECT * FROM jobs WHERE conversation_id = ? ORDER BY rowid", (conversation_id,)
        )
        return [_job(r) for r in rows]

    def unfinished_jobs(self) -> list[Job]:
        rows = self.store.query(
            "SELECT * FROM jobs WHERE status IN ('scheduled', 'in_progress') ORDER BY rowid"
        )
        return [_job(r) for r in rows]

    def active_job_count(self) -> int:
        return int(
            self.store.scalar("SELECT count(*) FROM jobs WHERE status IN ('scheduled', 'in_progress')")
        )

    def job_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.store.query("SELECT status, count(*) FROM jobs GROUP BY status")}

    def start_job(self, job_id: str, started_at: float) -> bool:
        changed = self.store.execute(
            "UPDATE jobs SET status = 'in_progress', started_at = ? WHERE id = ? AND status = 'scheduled'",
            (started_at, job_id),
        )
        return changed > 0

    def place_job_media(
        self, job_id: str, utterances: Sequence[Utterance], media_seconds: float, processing_seconds: float
    ) -> None:
        self.store.execute(
            "UPDATE jobs SET utterances = ?, placed = 1, media_seconds = ?, processing_seconds = ? "
            "WHERE id = ?",
            (dumps(utterances_to_json(utterances)), media_seconds, processing_seconds, job_id),
        )

    def finish_job(self, job_id: str, status: str, message: str | None = None) -> bool:
        """Terminal transition; False when the job was terminal already (e.g. conversation deleted)."""
        changed = self.store.execute(
            "UPDATE jobs SET status = ?, message = ?, finished_at = ? "
            "WHERE id = ? AND status IN ('scheduled', 'in_progress')",
            (status, message, time.time(), job_id),
        )
        return changed > 0

    def complete_job(self, job_id: str, conversation_id: str, insights: dict[str, Any]) -> bool:
        with self.store.transaction() as conn:
            changed = conn.execute(
                "UPDATE jobs SET status = 'completed', finished_at = ? "
                "WHERE id = ? AND status IN ('scheduled', 'in_progress')",
                (time.time(), job_id),
            ).rowcount
            if changed:
                _write_insights(conn, conversation_id, insights)
        if changed:
            self.decoded.invalidate(conversation_id)
        return changed > 0

    # --- trackers -------------------------------------------------------------------------------------------

    def list_trackers(self) -> list[dict[str, Any]]:
        return [loads(r[0]) for r in self.store.query("SELECT body FROM trackers ORDER BY created_at, rowid")]

    def tracker_count(self) -> int:
        return int(self.store.scalar("SELECT count(*) FROM trackers"))

    def get_tracker(self, tracker_id: str) -> dict[str, Any] | None:
        row = self.store.query_one("SELECT body FROM trackers WHERE id = ?", (tracker_id,))
        return None if row is None else loads(row[0])

    def tracker_id_by_name(self, name: str) -> str | None:
        return self.store.scalar("SELECT id FROM trackers WHERE name_key = ?", (name.lower(),))

    def insert_trackers(self, trackers: Sequence[dict[str, Any]]) -> None:
        now = time.time()
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO trackers (id, name_key, body, created_at) VALUES (?, ?, ?, ?)",
                [(t["id"], t["name"].lower(), dumps(t), now) for t in trackers],
            )

    def replace_tracker(self, tracker: dict[str, Any]) -> None:
        self.store.execute(
            "UPDATE trackers SET name_key = ?, body = ? WHERE id = ?",
            (tracker["name"].lower(), dumps(tracker), tracker["id"]),
        )

    def delete_tracker(self, tracker_id: str) -> bool:
        return self.store.execute("DELETE FROM trackers WHERE id = ?", (tracker_id,)) > 0


def _insert_conversation(conn: Any, conversation: Conversation) -> None:
    conn.execute(
        "INSERT INTO conversations (id, name, start_time, created_at, metadata) VALUES (?, ?, ?, ?, ?)",
        (
            conversation.id,
            conversation.name,
            conversation.start_time,
            conversation.created_at,
            dumps(conversation.metadata),
        ),
    )


def _insert_job(conn: Any, job: Job) -> None:
    conn.execute(
        "INSERT INTO jobs (id, conversation_id, kind, status, message, options, source_url, utterances, "
        "placed, media_seconds, planned_failure, created_at, ready_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job.id,
            job.conversation_id,
            job.kind,
            job.status,
            job.message,
            dumps(job.options.to_dict()),
            job.source_url,
            None if job.utterances is None else dumps(utterances_to_json(job.utterances)),
            int(job.placed),
            job.media_seconds,
            job.planned_failure,
            job.created_at,
            job.ready_at,
        ),
    )


def _job(row: Any) -> Job:
    utterances = loads(row["utterances"])
    return Job(
        id=row["id"],
        conversation_id=row["conversation_id"],
        kind=row["kind"],
        status=row["status"],
        message=row["message"],
        options=SubmitOptions.from_dict(loads(row["options"])),
        source_url=row["source_url"],
        utterances=None if utterances is None else utterances_from_json(utterances),
        placed=bool(row["placed"]),
        media_seconds=row["media_seconds"],
        planned_failure=row["planned_failure"],
        created_at=row["created_at"],
        ready_at=row["ready_at"],
        started_at=row["started_at"],
        processing_seconds=row["processing_seconds"],
        finished_at=row["finished_at"],
    )


def listing_of(insights: dict[str, Any]) -> tuple[str | None, list[Any]]:
    """What the listing shows of a conversation's insights: its last message's end (ISO-8601 UTC strings compare
    chronologically) and its members."""
    ends = [m["endTime"] for m in insights.get("messages", []) if m.get("endTime")]
    return max(ends, default=None), insights.get("members", [])


def _write_insights(conn: Any, conversation_id: str, insights: dict[str, Any]) -> None:
    end_time, members = listing_of(insights)
    conn.execute("UPDATE conversations SET insights = ? WHERE id = ?", (dumps(insights), conversation_id))
    conn.execute(
        "INSERT OR REPLACE INTO conversation_listing (conversation_id, end_time, members) VALUES (?, ?, ?)",
        (conversation_id, end_time, dumps(members)),
    )


def _conversation(row: Any) -> Conversation:
    return Conversation(
        id=row["id"],
        name=row["name"],
        start_time=row["start_time"],
        created_at=row["created_at"],
        metadata=loads(row["metadata"], {}),
        insights=loads(row["insights"]),
    )
