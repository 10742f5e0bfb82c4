"""Data without traps: tracker hits once per message, sentiment by side, action items with owner side, status and
call-anchored due dates, and every mart column documented in the warehouse itself (persist_docs).

The hand-made dataset of test_dbt_build.py plus two audio calls with the account Initech:
  rec-a1 / conv-a1: Tuesday 2026-02-10 (Maya), submitted to Symbl on Monday 2026-06-01, so Symbl resolved every
                    spoken date against 2026-06-01 (its startTime for audio is the submit time);
  rec-a2 / conv-a2: Friday 2026-02-20 (Maya), the next call with Initech.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.integration.test_dbt_build import MAYA, WAREHOUSE_ENV_VAR, dbt_build, insert, load_raw, query

CUSTOMER = "pat@initech.example"

# action_item_id, text, assignee_email, from_email, date phrase, Symbl's dueBy (resolved against 2026-06-01)
ACTION_ITEMS = [
    ("ai-fri", "I'll send the deck by Friday.", MAYA, MAYA, "Friday", "2026-06-05"),
    ("ai-ntue", "Pat will check with IT by next Tuesday.", CUSTOMER, MAYA, "next Tuesday", "2026-06-09"),
    ("ai-tmr", "Send the notes tomorrow.", None, MAYA, "tomorrow", "2026-06-02"),
    ("ai-mar3", "Contract back on March 3rd.", CUSTOMER, CUSTOMER, "March 3rd", "2026-03-03"),
    ("ai-eom", "Close the pilot by the end of the month.", "olivia.hart@lumen.example", None, "end of the month",
     "2026-06-30"),
    ("ai-none", "We should talk again.", None, None, None, None),
]  # fmt: skip
# action_item_id -> (owner_side, due_date anchored to Tue 2026-02-10, anchoring, status)
EXPECTED_ITEMS = {
    "ai-fri": ("rep", date(2026, 2, 13), "weekday", "closed"),  # next Friday after Tue 02-10
    "ai-ntue": ("customer", date(2026, 2, 17), "weekday", "closed"),  # Tuesday of the following week
    "ai-tmr": ("rep", date(2026, 2, 11), "day_offset", "closed"),  # speaker owns it when no assignee
    "ai-mar3": ("customer", date(2026, 3, 3), "explicit_date", "open"),  # next Initech call 02-20 < 03-03
    "ai-eom": ("rep", date(2026, 2, 28), "end_of_period", "open"),  # a colleague on the rep's domain
    "ai-none": ("unknown", None, None, "closed"),  # no due date; Initech was met again
}

# One message of conv-a1 matches two Pricing terms (two rows) and a Security Review term; an action item quoting
# it is an insight reference of Pricing (a third Pricing row). Another message matches Pricing once.
TRACKER_HITS = [
    # hit_key, tracker_name, ref_type, ref_id
    ("h1", "Pricing", "message", "m1"),
    ("h2", "Pricing", "message", "m1"),
    ("h3", "Pricing", "insight", "ai-fri"),
    ("h4", "Security Review", "message", "m1"),
    ("h5", "Pricing", "message", "m2"),
]
MESSAGES = [
    # message_id, speaker_name, speaker_email, sentiment, duration_seconds (every real message is timed; a call
    # with no talk measured at all has nothing to attribute, and its per-rep figures are NULL)
    ("m1", "Maya Chen", MAYA, 0.6, 10.0),
    ("m2", "Pat Buyer", CUSTOMER, -0.4, 5.0),
    ("m3", "Pat Buyer", CUSTOMER, 0.0, 5.0),
]


def load_audio_calls(con: duckdb.DuckDBPyConnection) -> None:
    people = json.dumps([{"name": "Maya Chen", "email": MAYA, "role": "rep"}])
    insert(
        con,
        "recordings",
        "recording_id, partition_date, start_time, duration_seconds, title, account_name, call_type,"
        " host_name, host_email, participants, media_kind, media_ref, source_file, manifest_sha256, loaded_at",
        [
            (rec, day, f"{day} 15:00:00+00", 600.0, f"Call {rec}", "Initech", "Discovery", "Maya Chen", MAYA,
             people, "audio_file", f"/m/{rec}.wav", f"manifests/{rec}.json", "sha", "2026-06-01 00:00:00+00")
            for rec, day in (("rec-a1", "2026-02-10"), ("rec-a2", "2026-02-20"))
        ],
    )  # fmt: skip
    insert(
        con,
        "symbl_conversations",
        "recording_id, partition_date, conversation_id, job_id, status, attempts, submitted_at, updated_at",
        [
            (
                rec,
                day,
                conv,
                f"job-{conv}",
                "completed",
                1,
                "2026-06-01 09:00:00+00",
                "2026-06-01 10:00:00+00",
            )
            for rec, conv, day in (("rec-a1", "conv-a1", "2026-02-10"), ("rec-a2", "conv-a2", "2026-02-20"))
        ],
    )
    insert(
        con,
        "symbl_messages",
        "conversation_id, partition_date, text, message_id, speaker_name, speaker_email, sentiment_score,"
        " duration_seconds",
        [("conv-a1", "2026-02-10", "text", *m) for m in MESSAGES],
    )
    insert(
        con,
        "symbl_tracker_hits",
        "conversation_id, partition_date, hit_key, tracker_name, ref_type, ref_id",
        [("conv-a1", "2026-02-10", *h) for h in TRACKER_HITS],
    )
    insert(  # conv-a2 opens with the recording disclosure; conv-a1 never says it
        con,
        "symbl_tracker_hits",
        "conversation_id, partition_date, hit_key, tracker_name, ref_type, ref_id",
        [("conv-a2", "2026-02-20", "d1", "Recording Disclosure", "message", "m9")],
    )
    insert(
        con,
        "symbl_action_items",
        "conversation_id, partition_date, action_item_id, text, assignee_email, from_email, due_by",
        [
            ("conv-a1", "2026-02-10", aid, text, assignee, speaker, f"{due} 00:00:00+00" if due else None)
            for aid, text, assignee, speaker, _, due in ACTION_ITEMS
        ],
    )
    body = {
        "actionItems": [
            {
                "id": aid,
                "text": text,
                "entities": [{"type": "date", "text": phrase, "value": due}] if phrase else [],
            }
            for aid, text, _, _, phrase, due in ACTION_ITEMS
        ]
    }
    insert(
        con,
        "symbl_responses",
        "conversation_id, partition_date, endpoint, fetched_at, body",
        [("conv-a1", "2026-02-10", "action_items", "2026-06-01 10:05:00+00", json.dumps(body))],
    )


# Product-feedback Kit answers: conversation_id, day, recording_id, {brick_key: (value_type, value)}
FEEDBACK = [
    ("conv-a1", "2026-02-10", "rec-a1", {"feedback_feature_area": ("string", "reporting"),
     "features_mentioned": ("string_list", ["reporting", " Billing"]),
     "feature_satisfaction": ("number", 2.0), "churn_signal_strength": ("number", 70.0),
     "bug_report_severity": ("string", "critical"), "feature_request_urgency": ("number", 0.0)}),
    ("conv-a2", "2026-02-20", "rec-a2", {"feedback_feature_area": ("string", "Reporting"),
     "features_mentioned": ("string_list", ["Reporting"]),
     "feature_satisfaction": ("number", 4.0), "churn_signal_strength": ("number", 10.0),
     "bug_report_severity": ("string", "none"), "feature_request_urgency": ("number", 80.0)}),
    ("conv-3", "2026-02-20", "rec-3", {"feedback_feature_area": ("string", "billing"),
     "features_mentioned": ("string_list", []),  # an empty list: the call counts under its main area
     "feature_satisfaction": ("string", "3"), "churn_signal_strength": ("number", 20.0),
     "bug_report_severity": ("string", "low"), "feature_request_urgency": ("number", 0.0)}),
]  # fmt: skip


def load_product_feedback(con: duckdb.DuckDBPyConnection) -> None:
    insert(
        con,
        "semarize_runs",
        "conversation_id, partition_date, kit_code, recording_id, run_id, idempotency_key, status, updated_at",
        [(c, day, "PRODFDB1", rec, f"pf-{c}", f"pf-{c}", "succeeded", f"{day} 18:00:00+00")
         for c, day, rec, _ in FEEDBACK],
    )  # fmt: skip
    insert(
        con,
        "semarize_bricks",
        "conversation_id, partition_date, recording_id, kit_code, run_id, brick_key, value_type,"
        " value_number, value_string, value_list",
        [(c, day, rec, "PRODFDB1", f"pf-{c}", key, vtype, value if vtype == "number" else None,
          value if vtype == "string" else None, value if vtype == "string_list" else None)
         for c, day, rec, bricks in FEEDBACK for key, (vtype, value) in bricks.items()],
    )  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("analyst_marts")
    path = folder / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        load_raw(con)
        load_audio_calls(con)
        load_product_feedback(con)
    mp = pytest.MonkeyPatch()
    mp.setenv(WAREHOUSE_ENV_VAR, str(path))
    mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    mp.delenv("CONVO_INTEL_FISCAL_YEAR_START_MONTH", raising=False)
    dbt_build(folder / "target")
    yield path
    mp.undo()


def _fact(warehouse: Path, conversation_id: str) -> dict[str, Any]:
    [row] = query(
        warehouse, f"select * from marts.fct_conversations where conversation_id = '{conversation_id}'"
    )
    return row


def test_a_message_matching_two_terms_of_one_tracker_is_one_hit(warehouse: Path) -> None:
    fact = _fact(warehouse, "conv-a1")
    # Pricing: m1 (two terms, plus an insight quoting it) and m2 = 2 hits; Security Review: m1 = 1 hit.
    assert fact["tracker_hit_count"] == 3
    assert fact["tracker_term_match_count"] == 5
    # The existing hand-made conversations (no message references) still count each row once.
    assert _fact(warehouse, "conv-1")["tracker_hit_count"] == 3


def test_sentiment_columns_say_whose_sentiment(warehouse: Path) -> None:
    fact = _fact(warehouse, "conv-a1")
    assert fact["rep_sentiment"] == pytest.approx(0.6)
    assert fact["customer_sentiment"] == pytest.approx(-0.2)  # (-0.4 + 0.0) / 2
    assert fact["all_speakers_sentiment"] == pytest.approx(0.2 / 3)
    [card] = query(
        warehouse,
        "select avg_sentiment, avg_customer_sentiment, avg_rep_sentiment from marts.rep_quarter_scorecard"
        f" where rep_email = '{MAYA}' and fiscal_quarter = 'FY2026-Q1'",
    )
    # Maya's Q1 calls with messages: conv-1 (rep 0.5, customers (-0.2 + 0.4) / 2 = 0.1) and conv-a1.
    assert card["avg_customer_sentiment"] == pytest.approx(round((0.1 - 0.2) / 2, 4))
    assert card["avg_rep_sentiment"] == pytest.approx(round((0.5 + 0.6) / 2, 4))
    assert card["avg_sentiment"] == pytest.approx(round((0.7 / 3 + 0.2 / 3) / 2, 4))


def test_action_items_carry_owner_side_status_and_call_anchored_due_dates(warehouse: Path) -> None:
    rows = {
        r["action_item_id"]: r
        for r in query(warehouse, "select * from marts.fct_action_items where conversation_id = 'conv-a1'")
    }
    assert sorted(rows) == sorted(EXPECTED_ITEMS)
    for aid, (side, due, anchoring, status) in EXPECTED_ITEMS.items():
        row = rows[aid]
        assert (row["owner_side"], row["due_date"], row["due_date_anchoring"], row["status"]) == (
            side,
            due,
            anchoring,
            status,
        ), aid
        assert row["symbl_reference_date"] == date(2026, 6, 1)
        assert row["next_account_call_date"] == date(2026, 2, 20)
    assert rows["ai-tmr"]["owner_source"] == "speaker" and rows["ai-fri"]["owner_source"] == "assignee"
    assert rows["ai-fri"]["symbl_due_date"] == date(2026, 6, 5)  # what Symbl said is kept beside
    assert rows["ai-mar3"]["is_overdue"] is True and rows["ai-fri"]["is_overdue"] is False
    # Transcript submissions were resolved against the call itself: kept as returned.
    text_items = query(
        warehouse, "select due_date_anchoring from marts.fct_action_items where conversation_id = 'conv-1'"
    )
    assert {r["due_date_anchoring"] for r in text_items} == {None}  # no due date said in conv-1


def test_every_mart_column_carries_its_description_in_the_warehouse(warehouse: Path) -> None:
    columns = query(
        warehouse,
        "select table_name, column_name, comment from duckdb_columns() where schema_name = 'marts'",
    )
    assert len(columns) > 100
    missing = [f"{c['table_name']}.{c['column_name']}" for c in columns if not (c["comment"] or "").strip()]
    assert not missing, missing
    tables = query(warehouse, "select table_name, comment from duckdb_tables() where schema_name = 'marts'")
    assert all((t["comment"] or "").strip() for t in tables), tables
    [scale] = query(
        warehouse,
        "select comment from duckdb_columns() where schema_name = 'marts' and table_name = 'fct_conversations'"
        " and column_name = 'discovery_depth'",
    )
    assert "1..5" in scale["comment"]


def test_rep_coaching_compares_each_quarter_with_the_previous_one(warehouse: Path) -> None:
    rows = {
        (r["rep_email"], r["fiscal_quarter"]): r
        for r in query(warehouse, "select * from marts.rep_coaching where rep_email = '" + MAYA + "'")
    }
    q1, q2 = rows[(MAYA, "FY2026-Q1")], rows[(MAYA, "FY2026-Q2")]
    # Q1: conv-1 (depth 4, next step agreed), conv-a1 and conv-a2 (not scored); Q2: conv-2 (depth 2, no next step).
    assert (q1["conversations"], q1["scored_conversations"], q1["avg_discovery_depth"]) == (3, 1, 4.0)
    assert q1["previous_fiscal_quarter"] is None and q1["discovery_depth_change"] is None
    assert (q2["previous_fiscal_quarter"], q2["previous_avg_discovery_depth"]) == ("FY2026-Q1", 4.0)
    assert (q2["discovery_depth_change"], q2["next_step_rate"], q2["next_step_rate_change"]) == (
        -2.0,
        0.0,
        -1.0,
    )


def test_customer_sentiment_weekly_by_account_and_week(warehouse: Path) -> None:
    rows = {
        (r["account_name"], r["week_start"]): r
        for r in query(warehouse, "select * from marts.customer_sentiment_weekly")
    }
    initech = rows[("Initech", date(2026, 2, 9))]  # conv-a1, Tuesday 2026-02-10
    assert (initech["conversations"], initech["avg_customer_sentiment"], initech["negative_call_rate"]) == (
        1,
        -0.2,
        1.0,
    )
    quiet = rows[("Initech", date(2026, 2, 16))]  # conv-a2: no customer message
    assert (quiet["conversations"], quiet["conversations_with_customer_sentiment"]) == (1, 0)
    assert quiet["avg_customer_sentiment"] is None and quiet["negative_call_rate"] is None
    globex = rows[("Globex", date(2026, 2, 9))]  # conv-1: customers (-0.2 + 0.4) / 2, Semarize 0.7
    assert (globex["avg_customer_sentiment"], globex["negative_call_rate"]) == (0.1, 0.0)
    assert (globex["avg_semarize_sentiment_score"], globex["risk_flag_rate"]) == (0.7, 0.0)


def test_compliance_lists_calls_missing_the_required_disclosure(warehouse: Path) -> None:
    rows = {r["conversation_id"]: r for r in query(warehouse, "select * from marts.compliance_disclosures")}
    # conv-a2 said it ("Recording Disclosure" hit on a message); everything else never did.
    assert rows["conv-a2"]["is_compliant"] is True and rows["conv-a2"]["missing_disclosures"] == []
    assert rows["conv-a1"]["is_compliant"] is False
    assert rows["conv-a1"]["missing_disclosures"] == ["Recording Disclosure"]
    assert rows["conv-a1"]["required_disclosures"] == ["Recording Disclosure"]
    facts = query(warehouse, "select count(*) as n from marts.fct_conversations")[0]["n"]
    assert len(rows) == facts  # one row per completed conversation


def test_product_feedback_counts_each_call_under_every_feature_it_named(warehouse: Path) -> None:
    rows = query(warehouse, "select * from marts.product_feedback_by_feature order by feature_area")
    # By hand from FEEDBACK, all in February 2026: conv-a1 (Initech) named reporting and billing, conv-a2 (Initech)
    # reporting, conv-3 (Globex) no list, so its main area, billing. Satisfaction 1-5 -> 0-100 is (s - 1) x 25.
    feb = date(2026, 2, 1)
    assert rows == [
        {"feature_area": "billing", "feedback_month": feb, "calls": 2, "avg_satisfaction_0_100": 37.5,
         "avg_feature_satisfaction": 2.5, "avg_churn_signal_strength": 45.0, "high_churn_signal_calls": 1,
         "calls_with_bug_reports": 2, "high_or_critical_bug_calls": 1, "avg_feature_request_urgency": None,
         "calls_with_feature_requests": 0, "customer_accounts": 2},
        {"feature_area": "reporting", "feedback_month": feb, "calls": 2, "avg_satisfaction_0_100": 50.0,
         "avg_feature_satisfaction": 3.0, "avg_churn_signal_strength": 40.0, "high_churn_signal_calls": 1,
         "calls_with_bug_reports": 1, "high_or_critical_bug_calls": 1, "avg_feature_request_urgency": 80.0,
         "calls_with_feature_requests": 1, "customer_accounts": 1},
    ]  # fmt: skip
