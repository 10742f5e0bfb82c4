"""The raw schema the pipeline writes and dbt reads (dbt `sources` point here), declared as :class:`Table` values.

Every table carries ``partition_date`` (the recording's start date in the partitions' timezone) so that a re-run of
a partition replaces exactly that day's rows. JSON columns hold API responses verbatim; typed tables are derived
from them so that re-deriving after a parser change costs no API calls.

A column added to a declaration reaches existing warehouses as a nullable column (``duckdb_store.ensure_schema``),
so new columns go at the end of a table and old ones are never renamed in place.
"""

from __future__ import annotations

from orchestration.defs.routing.tables import ROUTING_TABLES
from orchestration.defs.warehouse.tables import (
    BIGINT,
    BOOLEAN,
    DATE,
    DOUBLE,
    INTEGER,
    JSON,
    RAW_SCHEMA,
    TIMESTAMPTZ,
    VARCHAR,
    VARCHAR_LIST,
    Column,
    Table,
    registry,
)

__all__ = ["RAW_SCHEMA", "TABLES", "create_statements"]

RECORDING_TABLES: tuple[Table, ...] = (
    Table(
        "recordings",
        (
            Column("recording_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("start_time", TIMESTAMPTZ, nullable=False),
            Column("duration_seconds", DOUBLE),
            Column("title", VARCHAR),
            Column("account_id", VARCHAR),
            Column("account_name", VARCHAR),
            Column("call_type", VARCHAR),
            Column("host_name", VARCHAR),
            Column("host_email", VARCHAR, nullable=False),
            Column("participants", JSON, doc="[{name, email, role}]"),
            Column("participant_count", INTEGER),
            Column("language_code", VARCHAR),
            Column(
                "media_kind",
                VARCHAR,
                nullable=False,
                doc="audio_file | audio_url | video_file | video_url | transcript_file",
            ),
            Column("media_ref", VARCHAR, nullable=False, doc="absolute path or URL"),
            Column("source_file", VARCHAR, nullable=False, doc="the manifest it came from"),
            Column("manifest_sha256", VARCHAR, nullable=False),
            Column("loaded_at", TIMESTAMPTZ, nullable=False),
            Column(
                "channel_map", JSON, doc="[{channel, name, email}]: who is on which audio channel (stereo)"
            ),
            Column(
                "speaker_events", JSON, doc="[{name, email, start, end}]: who spoke when, from the platform"
            ),
        ),
        doc="One row per recording, from its drop-folder manifest.",
    ),
    Table(
        "recording_rejections",
        (
            Column("partition_date", DATE, doc="NULL when the manifest's date could not be read"),
            Column("source_file", VARCHAR, nullable=False),
            Column("recording_id", VARCHAR, doc="NULL when the manifest could not be parsed far enough"),
            Column(
                "stage",
                VARCHAR,
                nullable=False,
                doc="manifest | media | semarize | fetch:<signal> | parse:<signal>",
            ),
            Column("reason", VARCHAR, nullable=False),
            Column("rejected_at", TIMESTAMPTZ, nullable=False),
        ),
        doc="Why a recording (or a manifest) did not get through a stage.",
    ),
)

# Columns shared by the insight tables (action items, follow-ups, questions), in their declared order.
_ASSIGNED = (
    Column("definitive", BOOLEAN),
    Column("assignee_name", VARCHAR),
    Column("assignee_email", VARCHAR),
    Column("due_by", TIMESTAMPTZ),
)
_RAISED_BY = (
    Column("from_name", VARCHAR),
    Column("from_email", VARCHAR, doc="from.email, else from.userId when it is an email (as documented)"),
    Column("message_ids", VARCHAR_LIST),
    Column("from_user_id", VARCHAR),  # added after message_ids, hence last
)

SYMBL_TABLES: tuple[Table, ...] = (
    Table(
        "symbl_conversations",
        (
            Column("recording_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("conversation_id", VARCHAR),
            Column("job_id", VARCHAR),
            Column(
                "status",
                VARCHAR,
                nullable=False,
                doc="submitted | scheduled | in_progress | completed | failed",
            ),
            Column("attempts", INTEGER, nullable=False),
            Column("failure_reason", VARCHAR),
            Column("submitted_at", TIMESTAMPTZ),
            Column("completed_at", TIMESTAMPTZ),
            Column("updated_at", TIMESTAMPTZ, nullable=False),
        ),
        doc="The conversation-id ledger: written the moment Symbl answers a submit, before any waiting.",
    ),
    Table(
        "symbl_responses",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column(
                "endpoint", VARCHAR, nullable=False, doc="messages | topics | action_items | ... | summary"
            ),
            Column("fetched_at", TIMESTAMPTZ, nullable=False),
            Column("body", JSON, nullable=False),
        ),
        doc="Verbatim Conversation API responses, one row per (conversation, endpoint).",
        stored_in_parts="body",  # a transcript's answer is ~300 KB: see Table.stored_in_parts
    ),
    Table(
        "symbl_messages",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("message_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("speaker_id", VARCHAR),
            Column("speaker_name", VARCHAR),
            Column("speaker_email", VARCHAR),
            Column("speaker_user_id", VARCHAR),
            Column("text", VARCHAR, nullable=False),
            Column("start_time", TIMESTAMPTZ),
            Column("end_time", TIMESTAMPTZ),
            Column("time_offset_seconds", DOUBLE),
            Column("duration_seconds", DOUBLE),
            Column("sentiment_score", DOUBLE),
            Column("sentiment_label", VARCHAR),
            Column("word_count", INTEGER),
        ),
        key=("conversation_id", "message_id"),
    ),
    Table(
        "symbl_topics",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("topic_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("text", VARCHAR, nullable=False),
            Column("score", DOUBLE),
            Column("sentiment_score", DOUBLE),
            Column("sentiment_label", VARCHAR),
            Column("message_ids", VARCHAR_LIST),
            Column("parent_refs", JSON),
            Column("parent_topics", VARCHAR_LIST, doc="texts of parentRefs, in order"),
        ),
        key=("conversation_id", "topic_id"),
    ),
    Table(
        "symbl_action_items",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("action_item_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("text", VARCHAR, nullable=False),
            Column("score", DOUBLE),
            *_ASSIGNED,
            *_RAISED_BY,
        ),
        key=("conversation_id", "action_item_id"),
    ),
    Table(
        "symbl_follow_ups",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("follow_up_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("text", VARCHAR, nullable=False),
            Column("score", DOUBLE),
            *_ASSIGNED,
            *_RAISED_BY,
        ),
        key=("conversation_id", "follow_up_id"),
    ),
    Table(
        "symbl_questions",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("question_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("text", VARCHAR, nullable=False),
            Column("score", DOUBLE),
            *_RAISED_BY,
        ),
        key=("conversation_id", "question_id"),
    ),
    Table(
        "symbl_entities",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column(
                "entity_key",
                VARCHAR,
                nullable=False,
                doc="stable hash of (type, subType, value, message id, offset)",
            ),
            Column("partition_date", DATE, nullable=False),
            Column("entity_type", VARCHAR, nullable=False),
            Column("sub_type", VARCHAR),
            Column("category", VARCHAR, doc="Managed | Custom"),
            Column("value", VARCHAR),
            Column("detected_value", VARCHAR),
            Column("message_id", VARCHAR),
            Column("message_text", VARCHAR),
            Column("char_offset", INTEGER),
            Column("api_generation", VARCHAR, doc="2022 | 2023: the response shape the row was read from"),
        ),
        key=("conversation_id", "entity_key"),
        doc="One row per entity match occurrence (2023+ `matches[].messageRefs[]`, or a 2022 entity's messageRefs).",
    ),
    Table(
        "symbl_analytics_members",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("member_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("name", VARCHAR),
            Column("email", VARCHAR),
            Column("user_id", VARCHAR),
            Column("pace_wpm", DOUBLE),
            Column("talk_time_seconds", DOUBLE),
            Column("talk_time_percentage", DOUBLE),
            Column("listen_time_seconds", DOUBLE),
            Column("listen_time_percentage", DOUBLE),
            Column("overlap_seconds", DOUBLE),
        ),
        key=("conversation_id", "member_id"),
    ),
    Table(
        "symbl_analytics_metrics",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column(
                "metric_type", VARCHAR, nullable=False, doc="total_silence | total_talk_time | total_overlap"
            ),
            Column("partition_date", DATE, nullable=False),
            Column("seconds", DOUBLE),
            Column("percent", DOUBLE),
        ),
        key=("conversation_id", "metric_type"),
    ),
    Table(
        "symbl_tracker_hits",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column(
                "hit_key",
                VARCHAR,
                nullable=False,
                doc="stable hash of (tracker id, value, ref type, ref id, offset)",
            ),
            Column("partition_date", DATE, nullable=False),
            Column("tracker_id", VARCHAR),
            Column("tracker_name", VARCHAR, nullable=False),
            Column("match_type", VARCHAR),
            Column("matched_value", VARCHAR),
            Column("ref_type", VARCHAR, doc="message | insight"),
            Column("ref_id", VARCHAR),
            Column("ref_text", VARCHAR),
            Column("char_offset", INTEGER),
            Column("is_exact", BOOLEAN, doc="offset -1 means a semantic match"),
            Column("insight_type", VARCHAR, doc="question | action_item | follow_up (insight refs only)"),
        ),
        key=("conversation_id", "hit_key"),
        doc="One row per tracker match occurrence (message ref or insight ref).",
    ),
    Table(
        "symbl_summaries",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("summary_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("source", VARCHAR, nullable=False, doc="symbl (Nebula's summaries: raw.nebula_summaries)"),
            Column("text", VARCHAR, nullable=False),
            Column("message_ids", VARCHAR_LIST),
        ),
        key=("conversation_id", "summary_id"),
    ),
    # Nebula LLM summaries (the nebula_summaries asset): symbl_summaries' columns, so the two union by name.
    Table(
        "nebula_summaries",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("summary_id", VARCHAR, nullable=False, doc="'nebula': one per conversation"),
            Column("partition_date", DATE, nullable=False),
            Column("source", VARCHAR, nullable=False, doc="nebula"),
            Column("text", VARCHAR, nullable=False),
            Column("message_ids", VARCHAR_LIST, doc="always NULL (Nebula cites no messages)"),
        ),
        key=("conversation_id", "summary_id"),
    ),
    Table(
        "symbl_tracker_drift",
        (
            Column("checked_at", TIMESTAMPTZ, nullable=False),
            Column("tracker_name", VARCHAR, nullable=False),
            Column(
                "kind",
                VARCHAR,
                nullable=False,
                doc="missing_remote|extra_remote|vocabulary_differs|description_differs|unused_term",
            ),
            Column("term", VARCHAR, doc="the vocabulary term (unused_term only)"),
            Column("details", VARCHAR, nullable=False),
            Column("remote_tracker_id", VARCHAR, doc="NULL when the tracker is missing from Symbl"),
            Column("managed", BOOLEAN, doc="the remote tracker carries the managed-by:convo-intel category"),
            Column("window_start", TIMESTAMPTZ, doc="unused_term: recordings searched started after this..."),
            Column("window_end", TIMESTAMPTZ, doc="...and at or before this (the newest recording)"),
        ),
        doc="Trackers-as-code drift: remote trackers that differ from trackers.yaml, and terms with no hits lately.",
    ),
    Table(
        "symbl_speaker_events",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("recording_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column(
                "events_sha256",
                VARCHAR,
                nullable=False,
                doc="of the events sent: a changed manifest sends them again",
            ),
            Column("event_count", INTEGER, nullable=False),
            Column("status", VARCHAR, nullable=False, doc="applied | failed"),
            Column("error", VARCHAR),
            Column("sent_at", TIMESTAMPTZ, nullable=False),
        ),
        doc="Speaker events sent to Symbl (PUT /v1/conversations/{id}/speakers), once per conversation and event set.",
    ),
)

SEMARIZE_TABLES: tuple[Table, ...] = (
    Table(
        "transcripts",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("recording_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("turn_index", INTEGER, nullable=False),
            Column("speaker_name", VARCHAR),
            Column("speaker_email", VARCHAR),
            Column("text", VARCHAR, nullable=False),
            Column("start_offset_seconds", DOUBLE),
            Column("end_offset_seconds", DOUBLE),
            Column("message_count", INTEGER, nullable=False),
        ),
    ),
    Table(
        "semarize_runs",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("recording_id", VARCHAR, nullable=False),
            Column("kit_code", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("run_id", VARCHAR),
            Column("idempotency_key", VARCHAR, nullable=False),
            Column(
                "status",
                VARCHAR,
                nullable=False,
                doc="queued | running | succeeded | failed | cancelled | error",
            ),
            Column("kit_version_id", VARCHAR),
            Column("duration_ms", DOUBLE),
            Column("error_code", VARCHAR),
            Column("error_message", VARCHAR),
            Column("body", JSON),
            Column("updated_at", TIMESTAMPTZ, nullable=False),
            Column(
                "kit_schema", JSON, doc="the Kit schema the bricks were typed with (NULL: types inferred)"
            ),
        ),
    ),
    Table(
        "semarize_bricks",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("recording_id", VARCHAR, nullable=False),
            Column("kit_code", VARCHAR, nullable=False),
            Column("brick_key", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("run_id", VARCHAR, nullable=False),
            Column("kit_version_id", VARCHAR),
            Column(
                "value_type", VARCHAR, nullable=False, doc="boolean | number | string | string_list | null"
            ),
            Column("value_boolean", BOOLEAN),
            Column("value_number", DOUBLE),
            Column("value_string", VARCHAR),
            Column("value_list", VARCHAR_LIST),
            Column("value_json", JSON),
            Column("confidence", DOUBLE),
            Column("reason", VARCHAR),
            Column("evidence", VARCHAR_LIST),
        ),
    ),
)

LIVE_CALL_TABLES: tuple[Table, ...] = (
    Table(
        "live_calls",
        (
            Column("call_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("recording_id", VARCHAR, nullable=False),
            Column("connection_id", VARCHAR),
            Column("conversation_id", VARCHAR, doc="the live conversation"),
            Column(
                "status",
                VARCHAR,
                nullable=False,
                doc="live (the record) | superseded (lost audio: the Async API's is the record)",
            ),
            Column("connections", INTEGER),
            Column("drops", INTEGER),
            Column("audio_bytes", BIGINT),
            Column("resent_bytes", BIGINT),
            Column("lost_audio", BOOLEAN, nullable=False),
            Column("encoding", VARCHAR),
            Column("sample_rate", INTEGER),
            Column("ended_at", TIMESTAMPTZ),
            Column("event_log", VARCHAR),
            Column("manifest", JSON),
            Column(
                "handover_manifest", VARCHAR, doc="the drop-folder manifest it entered the batch path with"
            ),
            Column("superseded_by", VARCHAR, doc="the Async API conversation that replaced it, once known"),
            Column("landed_at", TIMESTAMPTZ, nullable=False),
        ),
        doc="Live calls (Streaming API), landed from the per-call event logs by the live_call_events asset.",
    ),
    Table(
        "live_call_events",
        (
            Column("call_id", VARCHAR, nullable=False),
            Column("partition_date", DATE, nullable=False),
            Column("seq", BIGINT, nullable=False, doc="the record's number in the call's event log"),
            Column(
                "item",
                INTEGER,
                nullable=False,
                doc="position within the record (one message_response holds many)",
            ),
            Column("received_at", TIMESTAMPTZ, nullable=False),
            Column("connection", INTEGER, nullable=False, doc="1 for the first socket, +1 per reconnect"),
            Column("source", VARCHAR, nullable=False, doc="server | client"),
            Column(
                "event_type",
                VARCHAR,
                nullable=False,
                doc="message | insight | topic | tracker | entity | recognition_final | system:<type> | client:<type>",
            ),
            Column("time_offset_seconds", DOUBLE, doc="media time of the event in the call"),
            Column("text", VARCHAR),
            Column("speaker_name", VARCHAR),
            Column("speaker_user_id", VARCHAR),
            Column("insight_type", VARCHAR, doc="question | action_item | follow_up (insights); entity type"),
            Column("tracker_name", VARCHAR),
            Column("conversation_id", VARCHAR),
            Column("body", JSON),
        ),
        doc="Every event of a live call's event log, one row per item.",
    ),
)

# Every raw table by name. Routing ledgers (Slack alerts sent, CRM objects written) are declared beside the routing
# code.
TABLES: dict[str, Table] = registry(
    RECORDING_TABLES, SYMBL_TABLES, SEMARIZE_TABLES, LIVE_CALL_TABLES, ROUTING_TABLES
)


def create_statements() -> list[str]:
    """The schema, every table (a parts-stored one as its parts table), then the views over parts tables."""
    return [
        f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}",
        *(t.storage.create_statement(RAW_SCHEMA) for t in TABLES.values()),
        *(v for t in TABLES.values() if (v := t.view_statement(RAW_SCHEMA))),
    ]
