"""`dbt build` over a small hand-made raw dataset: the marts must equal values worked out by hand below.

The dataset: two rostered teams (Enterprise: maya, daniel; Mid-Market: liam) and one host missing from
the roster (zed), calls in calendar Q1 and Q2 2026, a conversation without any Semarize bricks (its run
failed), one with only some bricks, one re-scored conversation (the newest run must win), a failed and an
in-progress Symbl job that must not appear, and duplicated raw rows (a recording loaded twice, a message and
an action item landed twice, a rejection recorded twice) that must not multiply anything.

Two dbt invocations: calendar fiscal year (default var), then `--vars {fiscal_year_start_month: 4}`.
"""

import json
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.defs.warehouse import duckdb_store
from orchestration.defs.warehouse.dbt import WAREHOUSE_ENV_VAR, dbt_cli_resource
from orchestration.defs.warehouse.schema import TABLES, create_statements

MAYA = "maya.chen@lumen.example"
DANIEL = "daniel.okafor@lumen.example"
LIAM = "liam.walsh@lumen.example"
ZED = "zed.unlisted@lumen.example"  # not in seeds/rep_roster.csv
KIT = "SLSDISC1"

# ----------------------------------------------------------------------------------------------------------
# Raw rows (only the columns that matter; the rest default to NULL)
# ----------------------------------------------------------------------------------------------------------
RECORDINGS = [
    # recording_id, start_time, duration_seconds, host_name, host_email, loaded_at
    ("rec-1", "2026-02-10 15:00:00+00", 700.0, "Maya Chen", MAYA, "2026-02-11 00:00:00+00"),
    ("rec-1", "2026-02-10 15:00:00+00", 700.0, "Maya Chen", MAYA, "2026-02-12 00:00:00+00"),  # re-loaded
    (
        "rec-2",
        "2026-04-07 15:00:00+00",
        1200.0,
        "Maya Chen",
        "Maya.Chen@Lumen.example",
        "2026-04-08 00:00:00+00",
    ),
    ("rec-3", "2026-02-20 10:00:00+00", 999.0, "Liam Walsh", LIAM, "2026-02-21 00:00:00+00"),
    ("rec-4", "2026-04-15 09:00:00+00", 500.0, "Zed Unlisted", ZED, "2026-04-16 00:00:00+00"),
    ("rec-5", "2026-04-20 09:00:00+00", 800.0, "Liam Walsh", LIAM, "2026-04-21 00:00:00+00"),
    ("rec-6", "2026-04-21 09:00:00+00", 800.0, "Maya Chen", MAYA, "2026-04-22 00:00:00+00"),
    ("rec-8", "2026-03-03 09:00:00+00", 250.0, "Daniel Okafor", DANIEL, "2026-03-04 00:00:00+00"),
    ("rec-9", "2026-03-30 09:00:00+00", 900.0, "Daniel Okafor", DANIEL, "2026-03-31 00:00:00+00"),
]
CONVERSATIONS = [
    # recording_id, conversation_id, status, failure_reason, updated_at
    ("rec-1", "conv-1", "completed", None, "2026-02-10 16:00:00+00"),
    ("rec-2", "conv-2", "completed", None, "2026-04-07 16:00:00+00"),
    ("rec-3", "conv-3", "completed", None, "2026-02-20 11:00:00+00"),
    ("rec-4", "conv-4", "completed", None, "2026-04-15 10:00:00+00"),
    ("rec-5", "conv-5", "failed", "media could not be decoded", "2026-04-20 10:00:00+00"),
    ("rec-6", "conv-6", "in_progress", None, "2026-04-21 10:00:00+00"),
    ("rec-8", "conv-8", "completed", None, "2026-03-03 10:00:00+00"),
    ("rec-9", "conv-9", "completed", None, "2026-03-30 10:00:00+00"),
]
ANALYTICS_METRICS = [
    # conversation_id, metric_type, seconds  (conv-2 has none: its duration falls back to the recording's)
    ("conv-1", "total_talk_time", 600.0),
    ("conv-1", "total_silence", 60.0),
    ("conv-3", "total_talk_time", 300.0),
    ("conv-3", "total_silence", 0.0),
    ("conv-4", "total_talk_time", 100.0),
    ("conv-4", "total_silence", 20.0),
    ("conv-8", "total_talk_time", 200.0),
    ("conv-8", "total_silence", 10.0),
]
ANALYTICS_MEMBERS = [
    # conversation_id, member_id, name, email, user_id, talk_time_seconds
    ("conv-1", "m1", "Maya Chen", MAYA, None, 360.0),
    ("conv-1", "m2", "Hank Scorpio", "hank@globex.example", None, 240.0),
    ("conv-2", "m1", "Maya Chen", None, None, 300.0),  # no email: matched by name
    ("conv-2", "m2", "Hank Scorpio", None, None, 700.0),
    ("conv-3", "m1", "Liam", None, LIAM, 150.0),  # matched by userId
    ("conv-3", "m2", "Pat Buyer", "pat@initech.example", None, 150.0),
    ("conv-4", "m1", "Zed Unlisted", ZED, None, 80.0),
    ("conv-4", "m2", "Sam Client", "sam@client.example", None, 20.0),
    ("conv-8", "m1", "Daniel Okafor", DANIEL, None, 40.0),
    ("conv-8", "m2", "Lee Buyer", "lee@buyer.example", None, 160.0),
    ("conv-9", "m1", "Daniel Okafor", None, None, 120.0),
    (
        "conv-9",
        "m2",
        "Daniel Buyer",
        "daniel@buyer.example",
        None,
        80.0,
    ),  # other email: never matched by name
]
MESSAGES = [
    # conversation_id, message_id, speaker_name, speaker_email, sentiment_score
    ("conv-1", "msg-1", "Maya Chen", MAYA, 0.5),
    ("conv-1", "msg-2", "Hank Scorpio", "hank@globex.example", -0.2),
    ("conv-1", "msg-2", "Hank Scorpio", "hank@globex.example", -0.2),  # landed twice
    ("conv-1", "msg-3", "Hank Scorpio", "hank@globex.example", 0.4),
    ("conv-2", "msg-1", "Maya Chen", None, 0.0),
    ("conv-2", "msg-2", "Hank Scorpio", None, 0.6),
    ("conv-3", "msg-1", "Liam Walsh", LIAM, 0.2),
    ("conv-4", "msg-1", "Zed Unlisted", ZED, 0.1),
    ("conv-4", "msg-2", "Sam Client", "sam@client.example", -0.5),
    ("conv-5", "msg-1", "Liam Walsh", LIAM, 0.9),  # failed conversation: ignored
    ("conv-8", "msg-1", "Daniel Okafor", DANIEL, 0.3),
]
QUESTIONS = [
    # conversation_id, question_id, from_name, from_email
    ("conv-1", "q-1", "Maya Chen", MAYA),
    ("conv-1", "q-2", "Hank Scorpio", "hank@globex.example"),
    ("conv-4", "q-1", "Zed Unlisted", ZED),
    ("conv-9", "q-1", "Daniel Okafor", None),  # no email: matched by name
    ("conv-9", "q-2", "Lee Buyer", None),
]
ACTION_ITEMS = [
    ("conv-1", "ai-1"),
    ("conv-1", "ai-1"),
    ("conv-3", "ai-1"),
    ("conv-3", "ai-2"),
]  # conv-1 twice
FOLLOW_UPS = [("conv-3", "fu-1"), ("conv-4", "fu-1")]
TOPICS = [("conv-1", "t-1"), ("conv-1", "t-2"), ("conv-2", "t-1")]
ENTITIES = [("conv-1", "e-1")]
TRACKER_HITS = [("conv-1", "h-1"), ("conv-1", "h-2"), ("conv-1", "h-3"), ("conv-4", "h-1")]
SEMARIZE_RUNS = [
    # conversation_id, recording_id, run_id, idempotency_key, status, error_code, error_message, updated_at
    ("conv-1", "rec-1", "run-1", "idem-1", "succeeded", None, None, "2026-02-10 17:00:00+00"),
    ("conv-2", "rec-2", "run-2-old", "idem-2a", "succeeded", None, None, "2026-04-07 17:00:00+00"),
    ("conv-2", "rec-2", "run-2", "idem-2b", "succeeded", None, None, "2026-04-09 17:00:00+00"),
    (
        "conv-3",
        "rec-3",
        None,
        "idem-3",
        "failed",
        "run_request_failed",
        "model timeout",
        "2026-02-20 12:00:00+00",
    ),
    ("conv-4", "rec-4", "run-4", "idem-4", "succeeded", None, None, "2026-04-15 11:00:00+00"),
    ("conv-8", "rec-8", "run-8", "idem-8", "succeeded", None, None, "2026-03-03 11:00:00+00"),
]
BRICKS = [
    # conversation_id, run_id, brick_key, value_type, value
    ("conv-1", "run-1", "discovery_depth", "number", 4.0),
    ("conv-1", "run-1", "budget_confirmed", "boolean", True),
    ("conv-1", "run-1", "competitor_mentioned", "string", "Acme"),
    ("conv-1", "run-1", "sentiment_score", "number", 0.7),
    ("conv-1", "run-1", "risk_flag", "boolean", False),
    ("conv-1", "run-1", "next_step_confirmed", "boolean", True),
    # conv-2 was scored twice: the older run's answers must lose to the newer run's.
    ("conv-2", "run-2-old", "discovery_depth", "number", 5.0),
    ("conv-2", "run-2-old", "budget_confirmed", "boolean", True),
    ("conv-2", "run-2-old", "risk_flag", "boolean", False),
    ("conv-2", "run-2", "discovery_depth", "number", 2.0),
    ("conv-2", "run-2", "budget_confirmed", "boolean", False),
    ("conv-2", "run-2", "competitor_mentioned", "null", None),  # scored: no competitor
    ("conv-2", "run-2", "sentiment_score", "number", 0.1),
    ("conv-2", "run-2", "risk_flag", "boolean", True),
    ("conv-2", "run-2", "next_step_confirmed", "boolean", False),
    # conv-4: only two bricks scored.
    ("conv-4", "run-4", "discovery_depth", "number", 3.0),
    ("conv-4", "run-4", "risk_flag", "boolean", True),
    ("conv-8", "run-8", "discovery_depth", "number", 1.0),
    ("conv-8", "run-8", "budget_confirmed", "boolean", True),
    # Another Kit's brick with a colliding key must not leak into the sales-discovery columns.
    ("conv-4", "run-4-other", "risk_flag", "boolean", False, "PRODFDBK"),
]
RECORDING_REJECTIONS = [
    # source_file, recording_id, stage, reason, rejected_at
    (
        "manifests/broken.json",
        None,
        "manifest",
        "manifests/broken.json: invalid JSON at line 3",
        "2026-04-01",
    ),
    ("manifests/rec-7.json", "rec-7", "media", "rec-7: media file media/rec-7.wav not found", "2026-04-02"),
    ("manifests/rec-7.json", "rec-7", "media", "rec-7: media file media/rec-7.wav not found", "2026-04-03"),
]

# ----------------------------------------------------------------------------------------------------------
# Expected fct_conversations, worked out by hand from the rows above (calendar fiscal year)
# ----------------------------------------------------------------------------------------------------------
EXPECTED_FACTS: dict[str, dict[str, Any]] = {
    "conv-1": {
        "recording_id": "rec-1", "rep_email": MAYA, "rep_name": "Maya Chen", "team": "Enterprise Sales",
        "region": "NA East", "manager_email": "olivia.hart@lumen.example",
        "conversation_date": date(2026, 2, 10), "fiscal_year": 2026, "fiscal_quarter": "FY2026-Q1",
        "duration_seconds": 600.0 + 60.0, "rep_talk_seconds": 360.0, "talk_ratio": 360.0 / 600.0,
        "avg_sentiment": (0.5 - 0.2 + 0.4) / 3, "customer_avg_sentiment": (-0.2 + 0.4) / 2,
        "question_count": 2, "rep_question_count": 1, "action_item_count": 1, "follow_up_count": 0,
        "tracker_hit_count": 3, "topic_count": 2, "entity_count": 1,
        "discovery_depth": 4, "budget_confirmed": True, "competitor_mentioned": "Acme",
        "competitor_was_mentioned": True, "sentiment_score": 0.7, "risk_flag": False,
        "next_step_confirmed": True,
    },
    "conv-2": {
        "recording_id": "rec-2", "rep_email": MAYA, "rep_name": "Maya Chen", "team": "Enterprise Sales",
        "region": "NA East", "manager_email": "olivia.hart@lumen.example",
        "conversation_date": date(2026, 4, 7), "fiscal_year": 2026, "fiscal_quarter": "FY2026-Q2",
        "duration_seconds": 1200.0, "rep_talk_seconds": 300.0, "talk_ratio": 300.0 / 1000.0,
        "avg_sentiment": (0.0 + 0.6) / 2, "customer_avg_sentiment": 0.6,
        "question_count": 0, "rep_question_count": 0, "action_item_count": 0, "follow_up_count": 0,
        "tracker_hit_count": 0, "topic_count": 1, "entity_count": 0,
        "discovery_depth": 2, "budget_confirmed": False, "competitor_mentioned": None,
        "competitor_was_mentioned": False, "sentiment_score": 0.1, "risk_flag": True,
        "next_step_confirmed": False,
    },
    "conv-3": {
        "recording_id": "rec-3", "rep_email": LIAM, "rep_name": "Liam Walsh", "team": "Mid-Market Sales",
        "region": "NA East", "manager_email": "priya.nair@lumen.example",
        "conversation_date": date(2026, 2, 20), "fiscal_year": 2026, "fiscal_quarter": "FY2026-Q1",
        "duration_seconds": 300.0, "rep_talk_seconds": 150.0, "talk_ratio": 0.5,
        "avg_sentiment": 0.2, "customer_avg_sentiment": None,
        "question_count": 0, "rep_question_count": 0, "action_item_count": 2, "follow_up_count": 1,
        "tracker_hit_count": 0, "topic_count": 0, "entity_count": 0,
        "discovery_depth": None, "budget_confirmed": None, "competitor_mentioned": None,
        "competitor_was_mentioned": None, "sentiment_score": None, "risk_flag": None,
        "next_step_confirmed": None,
    },
    "conv-4": {
        "recording_id": "rec-4", "rep_email": ZED, "rep_name": "Zed Unlisted", "team": "unassigned",
        "region": "unassigned", "manager_email": None,
        "conversation_date": date(2026, 4, 15), "fiscal_year": 2026, "fiscal_quarter": "FY2026-Q2",
        "duration_seconds": 120.0, "rep_talk_seconds": 80.0, "talk_ratio": 0.8,
        "avg_sentiment": (0.1 - 0.5) / 2, "customer_avg_sentiment": -0.5,
        "question_count": 1, "rep_question_count": 1, "action_item_count": 0, "follow_up_count": 1,
        "tracker_hit_count": 1, "topic_count": 0, "entity_count": 0,
        "discovery_depth": 3, "budget_confirmed": None, "competitor_mentioned": None,
        "competitor_was_mentioned": None, "sentiment_score": None, "risk_flag": True,
        "next_step_confirmed": None,
    },
    "conv-8": {
        "recording_id": "rec-8", "rep_email": DANIEL, "rep_name": "Daniel Okafor", "team": "Enterprise Sales",
        "region": "NA West", "manager_email": "olivia.hart@lumen.example",
        "conversation_date": date(2026, 3, 3), "fiscal_year": 2026, "fiscal_quarter": "FY2026-Q1",
        "duration_seconds": 200.0 + 10.0, "rep_talk_seconds": 40.0, "talk_ratio": 40.0 / 200.0,
        "avg_sentiment": 0.3, "customer_avg_sentiment": None,
        "question_count": 0, "rep_question_count": 0, "action_item_count": 0, "follow_up_count": 0,
        "tracker_hit_count": 0, "topic_count": 0, "entity_count": 0,
        "discovery_depth": 1, "budget_confirmed": True, "competitor_mentioned": None,
        "competitor_was_mentioned": None, "sentiment_score": None, "risk_flag": None,
        "next_step_confirmed": None,
    },
    "conv-9": {
        "recording_id": "rec-9", "rep_email": DANIEL, "rep_name": "Daniel Okafor", "team": "Enterprise Sales",
        "region": "NA West", "manager_email": "olivia.hart@lumen.example",
        "conversation_date": date(2026, 3, 30), "fiscal_year": 2026, "fiscal_quarter": "FY2026-Q1",
        "duration_seconds": 900.0, "rep_talk_seconds": 120.0, "talk_ratio": 120.0 / 200.0,
        "avg_sentiment": None, "customer_avg_sentiment": None,
        "question_count": 2, "rep_question_count": 1, "action_item_count": 0, "follow_up_count": 0,
        "tracker_hit_count": 0, "topic_count": 0, "entity_count": 0,
        "discovery_depth": None, "budget_confirmed": None, "competitor_mentioned": None,
        "competitor_was_mentioned": None, "sentiment_score": None, "risk_flag": None,
        "next_step_confirmed": None,
    },
}  # fmt: skip
# Whether the sales-discovery Kit scored anything for the conversation.
for _conv_id, _fact in EXPECTED_FACTS.items():
    _fact["has_discovery_scores"] = _conv_id in {"conv-1", "conv-2", "conv-4", "conv-8"}

# With the fiscal year starting in April: Feb 2026 is the last quarter of FY2026, April 2026 opens FY2027.
EXPECTED_QUARTERS_APRIL_START = {
    "conv-1": (2026, "FY2026-Q4"),
    "conv-2": (2027, "FY2027-Q1"),
    "conv-3": (2026, "FY2026-Q4"),
    "conv-4": (2027, "FY2027-Q1"),
    "conv-8": (2026, "FY2026-Q4"),
    "conv-9": (2026, "FY2026-Q4"),
}

SCORECARD_METRICS = (
    "conversations", "scored_conversations", "total_hours", "avg_talk_ratio", "avg_sentiment",
    "avg_discovery_depth", "budget_confirmed_rate", "risk_flag_rate", "next_step_rate",
    "competitor_mention_rate", "questions_per_call", "action_items_per_call", "follow_ups_per_call",
)  # fmt: skip


def _mean(values: Sequence[float | int | bool | None]) -> float | None:
    """Mean over the known values (a rate over booleans is the share of True among the scored)."""
    known = [float(v) for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _round4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def expected_scorecard(facts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The scorecard metrics for one group of conversations, as the YAML defines them."""
    return {
        "conversations": len(facts),
        "scored_conversations": sum(1 for f in facts if f["has_discovery_scores"]),
        "total_hours": _round4(sum(f["duration_seconds"] for f in facts) / 3600),
        "avg_talk_ratio": _round4(_mean([f["talk_ratio"] for f in facts])),
        "avg_sentiment": _round4(_mean([f["avg_sentiment"] for f in facts])),
        "avg_discovery_depth": _round4(_mean([f["discovery_depth"] for f in facts])),
        "budget_confirmed_rate": _round4(_mean([f["budget_confirmed"] for f in facts])),
        "risk_flag_rate": _round4(_mean([f["risk_flag"] for f in facts])),
        "next_step_rate": _round4(_mean([f["next_step_confirmed"] for f in facts])),
        "competitor_mention_rate": _round4(_mean([f["competitor_was_mentioned"] for f in facts])),
        "questions_per_call": _round4(_mean([f["question_count"] for f in facts])),
        "action_items_per_call": _round4(_mean([f["action_item_count"] for f in facts])),
        "follow_ups_per_call": _round4(_mean([f["follow_up_count"] for f in facts])),
    }


def expected_scorecards(by: str) -> dict[tuple[str, str], dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for fact in EXPECTED_FACTS.values():
        groups[(fact[by], fact["fiscal_quarter"])].append(fact)
    return {key: expected_scorecard(facts) for key, facts in groups.items()}


# ----------------------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------------------
def insert(con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows into raw.<table>; columns not named stay NULL."""
    names = [c.strip() for c in columns.split(",")]
    if TABLES[table].stored_in_parts:  # a view over its parts: the store splits the rows
        duckdb_store.insert_rows(con, table, [dict(zip(names, r, strict=True)) for r in rows])
        return
    placeholders = ", ".join("?" for _ in names)
    con.executemany(f"INSERT INTO raw.{table} ({columns}) VALUES ({placeholders})", [list(r) for r in rows])


def load_raw(con: duckdb.DuckDBPyConnection) -> None:
    for statement in create_statements():
        con.execute(statement)
    start_of = {rec[0]: rec[1] for rec in RECORDINGS}
    day_of = {
        conv: start_of[rec][:10] for rec, conv, *_ in CONVERSATIONS
    }  # partition_date of each conversation
    rec_of = {conv: rec for rec, conv, *_ in CONVERSATIONS}

    insert(
        con,
        "recordings",
        "recording_id, partition_date, start_time, duration_seconds, title, account_name, call_type,"
        " host_name, host_email, participants, media_kind, media_ref, source_file, manifest_sha256,"
        " loaded_at",
        [
            (rec, start[:10], start, duration, f"Call {rec}", "Globex", "Discovery", name, email,
             json.dumps([{"name": name, "email": email, "role": "rep"}]), "transcript_file", f"/m/{rec}.json",
             f"manifests/{rec}.json", "sha", loaded)
            for rec, start, duration, name, email, loaded in RECORDINGS
        ],
    )  # fmt: skip
    insert(
        con,
        "symbl_conversations",
        "recording_id, partition_date, conversation_id, job_id, status, attempts, failure_reason,"
        " submitted_at, updated_at",
        [
            (rec, start_of[rec][:10], conv, f"job-{conv}", status, 1, reason, updated, updated)
            for rec, conv, status, reason, updated in CONVERSATIONS
        ],
    )
    insert(
        con,
        "symbl_analytics_metrics",
        "conversation_id, partition_date, metric_type, seconds",
        [(c, day_of[c], *rest) for c, *rest in ANALYTICS_METRICS],
    )
    insert(
        con,
        "symbl_analytics_members",
        "conversation_id, partition_date, member_id, name, email, user_id, talk_time_seconds",
        [(c, day_of[c], *rest) for c, *rest in ANALYTICS_MEMBERS],
    )
    insert(
        con,
        "symbl_messages",
        "conversation_id, partition_date, text, message_id, speaker_name, speaker_email, sentiment_score",
        [(c, day_of[c], "hello", *rest) for c, *rest in MESSAGES],
    )
    insert(
        con,
        "symbl_questions",
        "conversation_id, partition_date, text, question_id, from_name, from_email",
        [(c, day_of[c], "why?", *rest) for c, *rest in QUESTIONS],
    )
    for table, key_column, rows in (
        ("symbl_action_items", "action_item_id", ACTION_ITEMS),
        ("symbl_follow_ups", "follow_up_id", FOLLOW_UPS),
        ("symbl_topics", "topic_id", TOPICS),
    ):
        insert(
            con,
            table,
            f"conversation_id, partition_date, text, {key_column}",
            [(c, day_of[c], "x", k) for c, k in rows],
        )
    insert(
        con,
        "symbl_entities",
        "conversation_id, partition_date, entity_type, entity_key",
        [(c, day_of[c], "organization", k) for c, k in ENTITIES],
    )
    insert(
        con,
        "symbl_tracker_hits",
        "conversation_id, partition_date, tracker_name, hit_key",
        [(c, day_of[c], "Pricing", k) for c, k in TRACKER_HITS],
    )
    insert(
        con,
        "semarize_runs",
        "conversation_id, partition_date, kit_code, recording_id, run_id, idempotency_key, status,"
        " error_code, error_message, updated_at",
        [(c, day_of[c], KIT, *rest) for c, *rest in SEMARIZE_RUNS],
    )
    insert(
        con,
        "semarize_bricks",
        "conversation_id, partition_date, recording_id, kit_code, run_id, brick_key, value_type,"
        " value_boolean, value_number, value_string",
        [
            (c, day_of[c], rec_of[c], kit[0] if kit else KIT, run, key, vtype,
             value if vtype == "boolean" else None, value if vtype == "number" else None,
             value if vtype == "string" else None)
            for c, run, key, vtype, value, *kit in BRICKS
        ],
    )  # fmt: skip
    insert(
        con,
        "recording_rejections",
        "source_file, recording_id, stage, reason, rejected_at, partition_date",
        [(*rest, at, at) for *rest, at in RECORDING_REJECTIONS],
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("dbt_build") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:  # closed before dbt opens the file: DuckDB has one writer
        load_raw(con)
    mp = pytest.MonkeyPatch()
    mp.setenv(WAREHOUSE_ENV_VAR, str(path))
    mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    mp.delenv("CONVO_INTEL_FISCAL_YEAR_START_MONTH", raising=False)
    yield path
    mp.undo()


def dbt_build(target: Path, *extra_args: str) -> dict[str, Any]:
    """Run `dbt build`, fail with dbt's own messages if any node fails, and return run_results.json."""
    invocation = dbt_cli_resource().cli(["build", *extra_args], target_path=target, raise_on_error=False)
    invocation.wait()
    results: dict[str, Any] = invocation.get_artifact("run_results.json")
    failures = [
        (r["unique_id"], r["status"], r.get("message"))
        for r in results["results"]
        if r["status"] not in ("pass", "success")
    ]
    assert invocation.is_successful() and not failures, failures  # fmt: skip
    return results


def query(path: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def calendar_build(warehouse: Path) -> dict[str, Any]:
    return dbt_build(warehouse.parent / "target-calendar")


def assert_same(actual: Any, expected: Any, where: str) -> None:
    if isinstance(expected, float) and actual is not None:
        assert math.isclose(actual, expected, abs_tol=1e-9), f"{where}: {actual} != {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


# ----------------------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------------------
def test_build_runs_every_model_seed_and_test(calendar_build: dict[str, Any]) -> None:
    kinds = defaultdict(int)
    for result in calendar_build["results"]:
        kinds[result["unique_id"].split(".")[0]] += 1
    assert kinds["model"] >= 19 and kinds["seed"] == 1
    assert (
        kinds["test"] >= 100
    )  # grain, relationships and accepted-values tests ran (and passed) on real rows
    # dbt's unit tests (fiscal calendar, rep matching, brick pivot) ran inside the same build, before their models.
    assert kinds["unit_test"] >= 5


def test_fct_conversations_matches_hand_computed_facts(
    warehouse: Path, calendar_build: dict[str, Any]
) -> None:
    rows = {r["conversation_id"]: r for r in query(warehouse, "select * from marts.fct_conversations")}
    # conv-5 failed and conv-6 is still in progress; duplicated raw rows must not add rows.
    assert sorted(rows) == sorted(EXPECTED_FACTS)
    for conv_id, expected in EXPECTED_FACTS.items():
        for column, value in expected.items():
            assert_same(rows[conv_id][column], value, f"{conv_id}.{column}")
    assert rows["conv-4"]["rep_is_rostered"] is False and rows["conv-1"]["rep_is_rostered"] is True


def test_unrostered_host_is_an_unassigned_rep(warehouse: Path, calendar_build: dict[str, Any]) -> None:
    reps = {r["rep_email"]: r for r in query(warehouse, "select * from marts.dim_reps")}
    assert reps[ZED] == {
        "rep_email": ZED, "rep_name": "Zed Unlisted", "team": "unassigned", "region": "unassigned",
        "manager_email": None, "is_rostered": False,
    }  # fmt: skip
    roster_size = len(Path("dbt_project/seeds/rep_roster.csv").read_text().strip().splitlines()) - 1
    assert len(reps) == roster_size + 1  # every roster row + exactly the one unrostered host


@pytest.mark.parametrize(
    ("table", "group_column"), [("rep_quarter_scorecard", "rep_email"), ("team_quarter_scorecard", "team")]
)
def test_scorecards_match_hand_computed_metrics(
    warehouse: Path, calendar_build: dict[str, Any], table: str, group_column: str
) -> None:
    rows = query(warehouse, f"select * from marts.{table}")
    actual = {(r[group_column], r["fiscal_quarter"]): r for r in rows}
    expected = expected_scorecards(group_column)
    assert len(rows) == len(actual)  # one row per group x quarter
    assert sorted(actual) == sorted(expected)
    for key, metrics in expected.items():
        for metric in SCORECARD_METRICS:
            assert_same(actual[key][metric], metrics[metric], f"{table}{key}.{metric}")


def test_team_scorecard_weights_conversations_not_rep_averages(
    warehouse: Path, calendar_build: dict[str, Any]
) -> None:
    # Enterprise Sales in FY2026-Q1: maya 1 call (0.6), daniel 2 calls (0.2, 0.6).
    # By call: 1.4 / 3; the mean of the reps' means would be (0.6 + 0.4) / 2 = 0.5.
    [team] = query(
        warehouse,
        "select avg_talk_ratio, conversations from marts.team_quarter_scorecard"
        " where team = 'Enterprise Sales' and fiscal_quarter = 'FY2026-Q1'",
    )
    reps = query(
        warehouse,
        "select avg_talk_ratio from marts.rep_quarter_scorecard"
        " where team = 'Enterprise Sales' and fiscal_quarter = 'FY2026-Q1'",
    )
    assert team["conversations"] == 3 and len(reps) == 2
    assert team["avg_talk_ratio"] == round((0.6 + 0.2 + 0.6) / 3, 4)
    assert team["avg_talk_ratio"] != round(sum(r["avg_talk_ratio"] for r in reps) / len(reps), 4)


def test_rejections_list_every_lost_record_once(warehouse: Path, calendar_build: dict[str, Any]) -> None:
    rows = query(warehouse, "select * from marts.rejections order by stage, recording_id")
    summary = [(r["stage"], r["recording_id"], r["kit_code"], r["is_recovered"]) for r in rows]
    assert summary == [
        ("manifest", None, None, False),
        ("media", "rec-7", None, False),  # recorded twice in raw, listed once
        ("semarize", "rec-3", KIT, False),
        ("symbl_job", "rec-5", None, False),
    ]
    reasons = {r["stage"]: r["reason"] for r in rows}
    assert reasons["symbl_job"] == "media could not be decoded"
    assert "run_request_failed" in reasons["semarize"] and "model timeout" in reasons["semarize"]


def test_fiscal_quarter_follows_the_start_month_var(warehouse: Path, calendar_build: dict[str, Any]) -> None:
    # Only the models that carry the quarter (and their tests) need rebuilding: each dbt run costs seconds. The
    # quarter is computed in the conversation spine (a view, so its SQL holds the var's value when it was built).
    dbt_build(
        warehouse.parent / "target-april",
        "--select",
        "int_conversations_completed+",
        "--vars",
        "{fiscal_year_start_month: 4}",
    )
    rows = query(
        warehouse, "select conversation_id, fiscal_year, fiscal_quarter from marts.fct_conversations"
    )
    assert {r["conversation_id"]: (r["fiscal_year"], r["fiscal_quarter"]) for r in rows} == (
        EXPECTED_QUARTERS_APRIL_START
    )
    teams = query(warehouse, "select team, fiscal_quarter, conversations from marts.team_quarter_scorecard")
    assert {(r["team"], r["fiscal_quarter"]): r["conversations"] for r in teams} == {
        ("Enterprise Sales", "FY2026-Q4"): 3,
        ("Enterprise Sales", "FY2027-Q1"): 1,
        ("Mid-Market Sales", "FY2026-Q4"): 1,
        ("unassigned", "FY2027-Q1"): 1,
    }


def test_source_grain_test_warns_when_the_staging_dedupe_would_pick_arbitrarily(
    warehouse: Path, calendar_build: dict[str, Any]
) -> None:
    # Two loads of one recording at the same instant: "latest load wins" has no single answer. The rows are
    # identical, so nothing downstream changes; the source's grain test must say so (a warning, not a stop).
    with duckdb.connect(str(warehouse)) as con:
        con.execute("INSERT INTO raw.recordings SELECT * FROM raw.recordings WHERE recording_id = 'rec-3'")
    invocation = dbt_cli_resource().cli(
        ["test", "--select", "source:recordings.recordings"],
        target_path=warehouse.parent / "target-grain",
        raise_on_error=False,
    )
    invocation.wait()
    results = invocation.get_artifact("run_results.json")["results"]
    grain = [r for r in results if "unique_combination_of_columns" in r["unique_id"]]
    assert [(r["status"], r["failures"]) for r in grain] == [("warn", 1)]


def test_views_no_model_defines_are_dropped_after_a_run(
    warehouse: Path, calendar_build: dict[str, Any]
) -> None:
    marts_sql = "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
    marts_before = query(warehouse, marts_sql)
    # A staging view left by a model that was renamed (stg_symbl_messages became stg_symbl__messages).
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE VIEW staging.stg_symbl_messages AS SELECT * FROM raw.symbl_messages")
    invocation = dbt_cli_resource().cli(
        ["run", "--select", "stg_symbl__topics"], target_path=warehouse.parent / "target-orphans"
    )
    invocation.wait()
    views = {
        (r["schema_name"], r["view_name"])
        for r in query(warehouse, "select schema_name, view_name from duckdb_views() where not internal")
    }
    assert ("staging", "stg_symbl_messages") not in views
    # Every view the project defines is still there, and so is every mart.
    assert {("staging", "stg_symbl__messages"), ("intermediate", "int_conversations_completed")} <= views
    assert query(warehouse, marts_sql) == marts_before and len(marts_before) >= 10


def test_dagster_materializations_carry_each_tables_row_count_and_column_types(
    warehouse: Path, calendar_build: dict[str, Any]
) -> None:
    """The UI's row counts and column types for dbt models are the built tables' own, read after dbt exits."""
    import dagster as dg

    from orchestration.defs.warehouse.dbt import convo_intel_dbt_assets

    selection = ["fct_conversations", "rep_quarter_scorecard", "stg_symbl__messages"]
    result = dg.materialize(
        [convo_intel_dbt_assets],
        resources={"dbt": dbt_cli_resource()},
        selection=selection,
        raise_on_error=True,
    )
    metadata = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.asset_materializations_for_node(convo_intel_dbt_assets.op.name)
    }
    assert set(metadata) == set(selection)
    for table in ("fct_conversations", "rep_quarter_scorecard"):
        expected_rows = query(warehouse, f"select count(*) as n from marts.{table}")[0]["n"]
        assert expected_rows > 0
        assert metadata[table]["dagster/row_count"].value == expected_rows, table
        declared = {
            r["column_name"]: r["data_type"]
            for r in query(
                warehouse,
                "select column_name, data_type from information_schema.columns "
                f"where table_schema = 'marts' and table_name = '{table}'",
            )
        }
        schema = metadata[table]["dagster/column_schema"].value
        assert {c.name: c.type.upper() for c in schema.columns} == {k: v.upper() for k, v in declared.items()}
    # A view is not counted (counting would run its whole query), but its columns are still typed.
    assert "dagster/row_count" not in metadata["stg_symbl__messages"]
    assert metadata["stg_symbl__messages"]["dagster/column_schema"].value.columns
