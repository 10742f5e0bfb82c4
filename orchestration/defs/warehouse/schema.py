"""The raw schema the pipeline writes and dbt reads (dbt `sources` point here).

Every table carries ``partition_date`` (the recording's start date in the partitions' timezone) so that a re-run of
a partition replaces exactly that day's rows. JSON columns hold API responses verbatim; typed tables are derived
from them so that re-deriving after a parser change costs no API calls.
"""

from __future__ import annotations

from orchestration.defs.routing.tables import ROUTING_TABLES

RAW_SCHEMA = "raw"

TABLES: dict[str, str] = {
    # --- recordings -------------------------------------------------------------------------------------------
    "recordings": """
        recording_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        start_time TIMESTAMPTZ NOT NULL,
        duration_seconds DOUBLE,
        title VARCHAR,
        account_id VARCHAR,
        account_name VARCHAR,
        call_type VARCHAR,
        host_name VARCHAR,
        host_email VARCHAR NOT NULL,
        participants JSON,              -- [{name, email, role}]
        participant_count INTEGER,
        language_code VARCHAR,
        media_kind VARCHAR NOT NULL,    -- audio_file | audio_url | video_file | video_url | transcript_file
        media_ref VARCHAR NOT NULL,     -- absolute path or URL
        source_file VARCHAR NOT NULL,   -- the manifest it came from
        manifest_sha256 VARCHAR NOT NULL,
        loaded_at TIMESTAMPTZ NOT NULL,
        channel_map JSON,               -- [{channel, name, email}]: who is on which audio channel (stereo)
        speaker_events JSON             -- [{name, email, start, end}]: who spoke when, from the platform
    """,
    "recording_rejections": """
        partition_date DATE,            -- NULL when the manifest's date could not be read
        source_file VARCHAR NOT NULL,
        recording_id VARCHAR,           -- NULL when the manifest could not be parsed far enough
        stage VARCHAR NOT NULL,         -- manifest | media | semarize | fetch:<signal> | parse:<signal>
        reason VARCHAR NOT NULL,
        rejected_at TIMESTAMPTZ NOT NULL
    """,
    # --- Symbl ------------------------------------------------------------------------------------------------
    # The conversation-id ledger: written the moment Symbl answers a submit, before any waiting.
    "symbl_conversations": """
        recording_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        conversation_id VARCHAR,
        job_id VARCHAR,
        status VARCHAR NOT NULL,        -- submitted | scheduled | in_progress | completed | failed
        attempts INTEGER NOT NULL,
        failure_reason VARCHAR,
        submitted_at TIMESTAMPTZ,
        completed_at TIMESTAMPTZ,
        updated_at TIMESTAMPTZ NOT NULL
    """,
    # Verbatim Conversation API responses, one row per (conversation, endpoint).
    "symbl_responses": """
        conversation_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        endpoint VARCHAR NOT NULL,      -- messages | topics | action_items | ... | summary
        fetched_at TIMESTAMPTZ NOT NULL,
        body JSON NOT NULL
    """,
    "symbl_messages": """
        conversation_id VARCHAR NOT NULL,
        message_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        speaker_id VARCHAR,
        speaker_name VARCHAR,
        speaker_email VARCHAR,
        speaker_user_id VARCHAR,
        text VARCHAR NOT NULL,
        start_time TIMESTAMPTZ,
        end_time TIMESTAMPTZ,
        time_offset_seconds DOUBLE,
        duration_seconds DOUBLE,
        sentiment_score DOUBLE,
        sentiment_label VARCHAR,
        word_count INTEGER
    """,
    "symbl_topics": """
        conversation_id VARCHAR NOT NULL,
        topic_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        text VARCHAR NOT NULL,
        score DOUBLE,
        sentiment_score DOUBLE,
        sentiment_label VARCHAR,
        message_ids VARCHAR[],
        parent_refs JSON,
        parent_topics VARCHAR[]         -- texts of parentRefs, in order
    """,
    "symbl_action_items": """
        conversation_id VARCHAR NOT NULL,
        action_item_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        text VARCHAR NOT NULL,
        score DOUBLE,
        definitive BOOLEAN,
        assignee_name VARCHAR,
        assignee_email VARCHAR,
        due_by TIMESTAMPTZ,
        from_name VARCHAR,
        from_email VARCHAR,             -- from.email, else from.userId when it is an email (as documented)
        message_ids VARCHAR[],
        from_user_id VARCHAR
    """,
    "symbl_follow_ups": """
        conversation_id VARCHAR NOT NULL,
        follow_up_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        text VARCHAR NOT NULL,
        score DOUBLE,
        definitive BOOLEAN,
        assignee_name VARCHAR,
        assignee_email VARCHAR,
        due_by TIMESTAMPTZ,
        from_name VARCHAR,
        from_email VARCHAR,             -- from.email, else from.userId when it is an email (as documented)
        message_ids VARCHAR[],
        from_user_id VARCHAR
    """,
    "symbl_questions": """
        conversation_id VARCHAR NOT NULL,
        question_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        text VARCHAR NOT NULL,
        score DOUBLE,
        from_name VARCHAR,
        from_email VARCHAR,             -- from.email, else from.userId when it is an email (as documented)
        message_ids VARCHAR[],
        from_user_id VARCHAR
    """,
    # One row per entity match occurrence (2023+ `matches[].messageRefs[]`, or a 2022 entity's messageRefs).
    "symbl_entities": """
        conversation_id VARCHAR NOT NULL,
        entity_key VARCHAR NOT NULL,    -- stable hash of (type, subType, value, message id, offset)
        partition_date DATE NOT NULL,
        entity_type VARCHAR NOT NULL,
        sub_type VARCHAR,
        category VARCHAR,               -- Managed | Custom
        value VARCHAR,
        detected_value VARCHAR,
        message_id VARCHAR,
        message_text VARCHAR,
        char_offset INTEGER,
        api_generation VARCHAR          -- 2022 | 2023: the response shape the row was read from
    """,
    "symbl_analytics_members": """
        conversation_id VARCHAR NOT NULL,
        member_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        name VARCHAR,
        email VARCHAR,
        user_id VARCHAR,
        pace_wpm DOUBLE,
        talk_time_seconds DOUBLE,
        talk_time_percentage DOUBLE,
        listen_time_seconds DOUBLE,
        listen_time_percentage DOUBLE,
        overlap_seconds DOUBLE
    """,
    "symbl_analytics_metrics": """
        conversation_id VARCHAR NOT NULL,
        metric_type VARCHAR NOT NULL,   -- total_silence | total_talk_time | total_overlap
        partition_date DATE NOT NULL,
        seconds DOUBLE,
        percent DOUBLE
    """,
    # One row per tracker match occurrence (message ref or insight ref).
    "symbl_tracker_hits": """
        conversation_id VARCHAR NOT NULL,
        hit_key VARCHAR NOT NULL,       -- stable hash of (tracker id, value, ref type, ref id, offset)
        partition_date DATE NOT NULL,
        tracker_id VARCHAR,
        tracker_name VARCHAR NOT NULL,
        match_type VARCHAR,
        matched_value VARCHAR,
        ref_type VARCHAR,               -- message | insight
        ref_id VARCHAR,
        ref_text VARCHAR,
        char_offset INTEGER,
        is_exact BOOLEAN,               -- offset -1 means a semantic match
        insight_type VARCHAR            -- question | action_item | follow_up (insight refs only)
    """,
    "symbl_summaries": """
        conversation_id VARCHAR NOT NULL,
        summary_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        source VARCHAR NOT NULL,        -- symbl | nebula
        text VARCHAR NOT NULL,
        message_ids VARCHAR[]
    """,
    # Trackers-as-code drift: remote trackers that differ from trackers.yaml, and terms with no hits lately.
    "symbl_tracker_drift": """
        checked_at TIMESTAMPTZ NOT NULL,
        tracker_name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,  -- missing_remote|extra_remote|vocabulary_differs|description_differs|unused_term
        term VARCHAR,                   -- the vocabulary term (unused_term only)
        details VARCHAR NOT NULL,
        remote_tracker_id VARCHAR,      -- NULL when the tracker is missing from Symbl
        managed BOOLEAN,                -- the remote tracker carries the managed-by:convo-intel category
        window_start TIMESTAMPTZ,       -- unused_term: recordings searched started after this...
        window_end TIMESTAMPTZ          -- ...and at or before this (the newest recording)
    """,
    # --- transcripts and Semarize -----------------------------------------------------------------------------
    "transcripts": """
        conversation_id VARCHAR NOT NULL,
        recording_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        turn_index INTEGER NOT NULL,
        speaker_name VARCHAR,
        speaker_email VARCHAR,
        text VARCHAR NOT NULL,
        start_offset_seconds DOUBLE,
        end_offset_seconds DOUBLE,
        message_count INTEGER NOT NULL
    """,
    "semarize_runs": """
        conversation_id VARCHAR NOT NULL,
        recording_id VARCHAR NOT NULL,
        kit_code VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        run_id VARCHAR,
        idempotency_key VARCHAR NOT NULL,
        status VARCHAR NOT NULL,        -- queued | running | succeeded | failed | cancelled | error
        kit_version_id VARCHAR,
        duration_ms DOUBLE,
        error_code VARCHAR,
        error_message VARCHAR,
        body JSON,
        updated_at TIMESTAMPTZ NOT NULL,
        kit_schema JSON                 -- the Kit schema the bricks were typed with (NULL: types inferred)
    """,
    # Speaker events sent to Symbl (PUT /v1/conversations/{id}/speakers), once per conversation and event set.
    "symbl_speaker_events": """
        conversation_id VARCHAR NOT NULL,
        recording_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        events_sha256 VARCHAR NOT NULL, -- of the events sent: a changed manifest sends them again
        event_count INTEGER NOT NULL,
        status VARCHAR NOT NULL,        -- applied | failed
        error VARCHAR,
        sent_at TIMESTAMPTZ NOT NULL
    """,
    "semarize_bricks": """
        conversation_id VARCHAR NOT NULL,
        recording_id VARCHAR NOT NULL,
        kit_code VARCHAR NOT NULL,
        brick_key VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        run_id VARCHAR NOT NULL,
        kit_version_id VARCHAR,
        value_type VARCHAR NOT NULL,    -- boolean | number | string | string_list | null
        value_boolean BOOLEAN,
        value_number DOUBLE,
        value_string VARCHAR,
        value_list VARCHAR[],
        value_json JSON,
        confidence DOUBLE,
        reason VARCHAR,
        evidence VARCHAR[]
    """,
    # --- live calls (Streaming API), landed from the per-call event logs by the live_call_events asset ------
    "live_calls": """
        call_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        recording_id VARCHAR NOT NULL,
        connection_id VARCHAR,
        conversation_id VARCHAR,        -- the live conversation
        status VARCHAR NOT NULL,        -- live (the record) | superseded (lost audio: the Async API's is the record)
        connections INTEGER,
        drops INTEGER,
        audio_bytes BIGINT,
        resent_bytes BIGINT,
        lost_audio BOOLEAN NOT NULL,
        encoding VARCHAR,
        sample_rate INTEGER,
        ended_at TIMESTAMPTZ,
        event_log VARCHAR,
        manifest JSON,
        handover_manifest VARCHAR,      -- the drop-folder manifest it entered the batch path with
        superseded_by VARCHAR,          -- the Async API conversation that replaced it, once known
        landed_at TIMESTAMPTZ NOT NULL
    """,
    "live_call_events": """
        call_id VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        seq BIGINT NOT NULL,            -- the record's number in the call's event log
        item INTEGER NOT NULL,          -- position within the record (one message_response holds many)
        received_at TIMESTAMPTZ NOT NULL,
        connection INTEGER NOT NULL,    -- 1 for the first socket, +1 per reconnect
        source VARCHAR NOT NULL,        -- server | client
        event_type VARCHAR NOT NULL,    -- message | insight | topic | tracker | entity | recognition_final |
                                        -- system:<type> | client:<type>
        time_offset_seconds DOUBLE,     -- media time of the event in the call
        text VARCHAR,
        speaker_name VARCHAR,
        speaker_user_id VARCHAR,
        insight_type VARCHAR,           -- question | action_item | follow_up (insights); entity type
        tracker_name VARCHAR,
        conversation_id VARCHAR,
        body JSON
    """,
}

# Routing ledgers (Slack alerts sent, CRM objects written) are defined beside the routing code.
TABLES.update(ROUTING_TABLES)


def create_statements() -> list[str]:
    stmts = [f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}"]
    stmts += [f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{name} ({cols})" for name, cols in TABLES.items()]
    return stmts
