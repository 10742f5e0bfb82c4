"""Symbl response parsers: both API generations, odd values, stable keys, dedupe, and a DuckDB round trip."""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import duckdb
import pytest

from orchestration.defs.symbl import parse
from orchestration.defs.symbl.parse import ParseError
from orchestration.defs.warehouse import schema

CID = "5179649407582208"
DAY = date(2026, 4, 7)


def schema_columns(table: str) -> list[str]:
    """Column names of a raw table, in order, read from the schema contract itself."""
    lines = [line.split("--")[0].strip() for line in schema.TABLES[table].strip().splitlines()]
    return [re.split(r"\s+", line)[0] for line in lines if line]


def load_into_duckdb(table: str, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Insert rows into the real table definition and read them back (proves the values fit the types)."""
    con = duckdb.connect()
    for statement in schema.create_statements():
        con.execute(statement)
    columns = schema_columns(table)
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(
        f"INSERT INTO raw.{table} VALUES ({placeholders})", [[row[c] for c in columns] for row in rows]
    )
    return con.execute(f"SELECT * FROM raw.{table}").fetchall()


# --- bodies as the contract describes them ----------------------------------------------------------------

MESSAGES_2023 = {
    "messages": [
        {
            "id": "m1",
            "text": "Hi Hank, thanks for joining.",
            "from": {
                "id": "u1",
                "name": "Maya Chen",
                "email": "maya@lumen.example",
                "userId": "maya@lumen.example",
            },
            "startTime": "2026-04-07T15:00:00.000Z",
            "endTime": "2026-04-07T15:00:02.500Z",
            "timeOffset": 0,
            "duration": 2.5,
            "conversationId": CID,
            "phrases": [],
            "sentiment": {"polarity": {"score": 0.8}, "suggested": "positive"},
            "words": [
                {"word": w, "startTime": "2026-04-07T15:00:00Z", "endTime": "2026-04-07T15:00:01Z"}
                for w in ["Hi", "Hank,", "thanks", "for", "joining."]
            ],
            "someFutureField": {"nested": True},
        },
        {
            "id": "m2",
            "text": "Sure.   What is   the price?",
            "from": {"id": "u2", "name": "Hank Scorpio"},
            "startTime": "2026-04-07T17:00:03+02:00",
            "endTime": "2026-04-07T15:00:05",
            "timeOffset": "3.25",
            "duration": "1.75",
            "sentiment": {"polarity": {"score": -0.5}},
        },
    ]
}

ENTITIES_COMPAT = {
    "entities": [
        {
            "id": "e1",
            "type": "organization",
            "subType": "company",
            "category": "Managed",
            "value": "Globex",
            "text": "globex",
            # The 2022-compat copy of the references; deliberately not identical to `matches` here, to show
            # which one is read.
            "messageRefs": [{"id": "m9", "text": "legacy copy", "offset": 1}],
            "matches": [
                {
                    "value": "Globex",
                    "detectedValue": "globex",
                    "messageRefs": [
                        {"id": "m1", "startTime": "x", "text": "We use Globex", "offset": 7},
                        {"id": "m4", "text": "Globex again", "offset": 0},
                    ],
                },
                {
                    "detectedValue": "Globex Corp",
                    "messageRefs": [{"id": "m5", "text": "Globex Corp", "offset": 3}],
                },
            ],
        }
    ]
}

ENTITIES_2022 = {
    "entities": [
        {
            "type": "custom",
            "customType": "Competitor",
            "value": "Initech",
            "text": "initech",
            "messageRefs": [
                {"id": "m2", "text": "Initech quoted less", "offset": 0},
                {"id": "m3", "text": "unlike initech", "offset": 7},
            ],
        },
        {"type": "date", "value": "2026-05-01", "text": "May first"},
    ]
}

TRACKERS = [
    {
        "id": "t1",
        "name": "Pricing",
        "matches": [
            {
                "type": "vocabulary",
                "value": "price",
                "messageRefs": [{"id": "m2", "text": "What is the price?", "offset": 12}],
                "insightRefs": [{"id": "q1", "type": "question", "text": "What is the price?", "offset": -1}],
            }
        ],
    },
    {"id": "t2", "name": "Competition", "matches": []},
]


# --- column contract --------------------------------------------------------------------------------------


def _every_signal_output() -> dict[str, list[dict[str, Any]]]:
    bodies = {
        "messages": MESSAGES_2023,
        "topics": {"topics": [{"id": "tp1", "text": "pricing", "score": 0.7}]},
        "action_items": {"actionItems": [{"id": "a1", "text": "Send the quote"}]},
        "follow_ups": {"followUps": [{"id": "f1", "text": "Call back Friday"}]},
        "questions": {"questions": [{"id": "q1", "text": "What is the price?"}]},
        "entities": ENTITIES_COMPAT,
        "analytics": {"members": [{"id": "u1"}], "metrics": [{"type": "total_silence", "seconds": 1}]},
        "trackers": TRACKERS,
        "summary": {"summary": [{"id": "s1", "text": "They talked price."}]},
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for signal, body in bodies.items():
        out.update(parse.parse_signal(signal, CID, DAY, body))
    return out


def test_every_parser_returns_exactly_the_schema_columns_in_order() -> None:
    outputs = _every_signal_output()
    assert set(outputs) == {t for tables in parse.TABLES_BY_SIGNAL.values() for t in tables}
    for table, rows in outputs.items():
        assert rows, table
        for row in rows:
            assert list(row) == schema_columns(table), table


def test_registry_covers_every_signal_and_only_known_tables() -> None:
    assert set(parse.PARSERS) == set(parse.TABLES_BY_SIGNAL) == {
        "messages", "topics", "action_items", "follow_ups", "questions",
        "entities", "analytics", "trackers", "summary",
    }  # fmt: skip
    for tables in parse.TABLES_BY_SIGNAL.values():
        assert all(t in schema.TABLES for t in tables)
    with pytest.raises(ValueError, match="unknown Symbl signal"):
        parse.parse_signal("moods", CID, DAY, {})


def test_every_table_accepts_the_parsed_rows_in_duckdb() -> None:
    for table, rows in _every_signal_output().items():
        stored = load_into_duckdb(table, rows)
        assert len(stored) == len(rows), table


# --- messages ---------------------------------------------------------------------------------------------


def test_messages_are_typed() -> None:
    first, second = parse.parse_messages(CID, DAY, MESSAGES_2023)
    assert first["message_id"] == "m1"
    assert first["conversation_id"] == CID and first["partition_date"] == DAY
    assert (first["speaker_id"], first["speaker_name"], first["speaker_email"], first["speaker_user_id"]) == (
        "u1",
        "Maya Chen",
        "maya@lumen.example",
        "maya@lumen.example",
    )
    assert first["start_time"] == datetime(2026, 4, 7, 15, 0, tzinfo=UTC)
    assert first["end_time"] == datetime(2026, 4, 7, 15, 0, 2, 500000, tzinfo=UTC)
    assert (first["time_offset_seconds"], first["duration_seconds"]) == (0.0, 2.5)
    assert (first["sentiment_score"], first["sentiment_label"]) == (0.8, "positive")
    assert first["word_count"] == 5  # from words[]

    # An offset time is converted to UTC; a naive one is taken as UTC; string numbers are numbers.
    assert second["start_time"] == datetime(2026, 4, 7, 15, 0, 3, tzinfo=UTC)
    assert second["start_time"].utcoffset() == timedelta(0)
    assert second["end_time"] == datetime(2026, 4, 7, 15, 0, 5, tzinfo=UTC)
    assert (second["time_offset_seconds"], second["duration_seconds"]) == (3.25, 1.75)
    assert second["speaker_email"] is None and second["speaker_user_id"] is None
    assert second["word_count"] == 5  # no words[]: whitespace tokens of the text
    assert second["sentiment_label"] == "negative"  # derived from the score, `suggested` missing


@pytest.mark.parametrize(
    ("score", "label"),
    [(-0.31, "negative"), (-0.3, "neutral"), (0.0, "neutral"), (0.3, "neutral"), (0.31, "positive")],
)
def test_sentiment_label_is_derived_at_the_documented_thresholds(score: float, label: str) -> None:
    body = {"messages": [{"id": "m", "text": "x", "sentiment": {"polarity": {"score": score}}}]}
    assert parse.parse_messages(CID, DAY, body)[0]["sentiment_label"] == label


def test_minimal_message_gives_nulls_not_errors() -> None:
    (row,) = parse.parse_messages(CID, DAY, {"messages": [{"id": 42, "text": ""}]})
    assert row["message_id"] == "42"
    assert row["text"] == "" and row["word_count"] == 0
    nullable = [
        c for c in schema_columns("symbl_messages") if c.startswith(("speaker", "start", "end", "time"))
    ]
    assert all(row[c] is None for c in [*nullable, "duration_seconds", "sentiment_score", "sentiment_label"])


def test_timestamp_forms() -> None:
    stamps = {
        "2026-04-07T15:00:00Z": datetime(2026, 4, 7, 15, tzinfo=UTC),
        "2026-04-07T15:00:00.123456789Z": datetime(2026, 4, 7, 15, 0, 0, 123456, tzinfo=UTC),
        "2026-04-07T10:00:00-05:00": datetime(2026, 4, 7, 15, tzinfo=UTC),
        "2026-04-07T15:00:00": datetime(2026, 4, 7, 15, tzinfo=UTC),
    }
    body = {"messages": [{"id": str(i), "text": "x", "startTime": s} for i, s in enumerate(stamps)]}
    rows = parse.parse_messages(CID, DAY, body)
    assert [r["start_time"] for r in rows] == list(stamps.values())
    assert all(r["start_time"].tzinfo is not None for r in rows)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m[1]["from"].update(name=5), "messages[1].from.name"),
        (lambda m: m[1].pop("text"), "messages[1].text"),
        (lambda m: m[0].update(timeOffset="soon"), "messages[0].timeOffset"),
        (lambda m: m[0].update(startTime=1712502000), "messages[0].startTime"),
        (lambda m: m[0].update(startTime="yesterday"), "messages[0].startTime"),
        (
            lambda m: m[1].update(sentiment={"polarity": {"score": "very"}}),
            "messages[1].sentiment.polarity.score",
        ),
        (lambda m: m[0].update(words="five"), "messages[0].words"),
        (lambda m: m[1].update(id=None), "messages[1].id"),
        (lambda m: m[1].update(id=True), "messages[1].id"),
        (lambda m: m.append("not an object"), "messages[2]"),
    ],
)
def test_wrong_types_raise_a_parse_error_naming_field_and_index(mutate: Any, field: str) -> None:
    body = copy.deepcopy(MESSAGES_2023)
    mutate(body["messages"])
    with pytest.raises(ParseError) as info:
        parse.parse_messages(CID, DAY, body)
    assert info.value.signal == "messages" and info.value.conversation_id == CID
    assert info.value.reason.startswith(f"{field}:")
    assert CID in str(info.value)


def test_body_forms() -> None:
    # JSON text (as the raw table reads back) parses like the decoded object.
    assert parse.parse_messages(CID, DAY, json.dumps(MESSAGES_2023)) == parse.parse_messages(
        CID, DAY, MESSAGES_2023
    )
    assert parse.parse_messages(CID, DAY, {"messages": None}) == []
    assert parse.parse_messages(CID, DAY, {"messages": []}) == []
    for bad, problem in [
        ("{not json", "not valid JSON"),
        ({"message": "Token validation failed"}, "has no 'messages'"),
        ([{"id": "m1"}], "expected an object"),
        ({"messages": {"id": "m1"}}, "expected an array"),
    ]:
        with pytest.raises(ParseError, match=problem):
            parse.parse_messages(CID, DAY, bad)


def test_repeated_items_are_deduped_keeping_the_first() -> None:
    body = {
        "messages": [{"id": "m1", "text": "first"}, {"id": "m2", "text": "b"}, {"id": "m1", "text": "again"}]
    }
    rows = parse.parse_messages(CID, DAY, body)
    assert [(r["message_id"], r["text"]) for r in rows] == [("m1", "first"), ("m2", "b")]


def test_hostile_text_survives_unchanged_through_duckdb() -> None:
    hostile = [
        "Ça coûte 10 000 € — d'accord? 😀 日本語",
        "He said \"it's 'fine'\"; DROP TABLE raw.symbl_messages; --",
        "line one\nline two\ttabbed \\ backslash, a NUL \u0000 and a \u2028 separator",
        "word " * 20000,
    ]
    body = {"messages": [{"id": f"m{i}", "text": t, "from": {"name": t[:30]}} for i, t in enumerate(hostile)]}
    rows = parse.parse_messages(CID, DAY, body)
    assert [r["text"] for r in rows] == hostile
    assert rows[3]["word_count"] == 20000
    stored = load_into_duckdb("symbl_messages", rows)
    text_at = schema_columns("symbl_messages").index("text")
    assert sorted(r[text_at] for r in stored) == sorted(hostile)


# --- topics, action items, follow-ups, questions ----------------------------------------------------------


def test_topics() -> None:
    body = {
        "topics": [
            {
                "id": "tp1",
                "text": "pricing",
                "type": "topic",
                "score": 0.71,
                "messageIds": ["m1", "m2"],
                "sentiment": {"polarity": {"score": 0.1}, "suggested": "Neutral"},
                "parentRefs": [{"type": "topic", "text": "commercials"}],
            },
            {"id": "tp2", "text": "timeline"},
        ]
    }
    first, second = parse.parse_topics(CID, DAY, body)
    assert (first["score"], first["sentiment_label"], first["message_ids"]) == (0.71, "neutral", ["m1", "m2"])
    assert json.loads(first["parent_refs"]) == [{"type": "topic", "text": "commercials"}]
    assert second["message_ids"] is None and second["parent_refs"] is None and second["score"] is None
    with pytest.raises(ParseError, match=r"topics\[0\]\.messageIds\[1\]"):
        parse.parse_topics(
            CID, DAY, {"topics": [{"id": "t", "text": "x", "messageIds": ["m1", {"id": "m2"}]}]}
        )


@pytest.mark.parametrize(
    ("parser", "wrapper", "id_column"),
    [
        (parse.parse_action_items, "actionItems", "action_item_id"),
        (parse.parse_follow_ups, "followUps", "follow_up_id"),
    ],
)
def test_action_items_and_follow_ups(parser: Any, wrapper: str, id_column: str) -> None:
    body = {
        wrapper: [
            {
                "id": "a1",
                "text": "Maya will send the quote by Friday",
                "score": 0.9,
                "definitive": True,
                "assignee": {"name": "Maya Chen", "email": "maya@lumen.example"},
                "dueBy": "2026-04-10T17:00:00-04:00",
                "from": {"name": "Maya Chen", "email": "maya@lumen.example"},
                "messageIds": ["m7"],
                "entities": [],
                "phrases": [],
            },
            {"id": "a2", "text": "someone should check", "definitive": "false", "assignee": {}},
        ]
    }
    first, second = parser(CID, DAY, body)
    assert first[id_column] == "a1"
    assert first["due_by"] == datetime(2026, 4, 10, 21, tzinfo=UTC)
    assert (first["definitive"], first["assignee_name"], first["from_email"]) == (
        True,
        "Maya Chen",
        "maya@lumen.example",
    )
    assert second["definitive"] is False
    assert second["assignee_name"] is None and second["due_by"] is None and second["message_ids"] is None
    body[wrapper][1]["definitive"] = "maybe"
    with pytest.raises(ParseError, match=rf"{wrapper}\[1\]\.definitive"):
        parser(CID, DAY, body)


def test_questions_and_missing_wrapper_name_the_signal() -> None:
    (row,) = parse.parse_questions(
        CID, DAY, {"questions": [{"id": "q1", "text": "Budget?", "from": {"name": "Maya"}, "score": "0.5"}]}
    )
    assert (row["question_id"], row["from_name"], row["score"], row["from_email"]) == (
        "q1",
        "Maya",
        0.5,
        None,
    )
    with pytest.raises(ParseError) as info:
        parse.parse_questions(CID, DAY, {"actionItems": []})
    assert info.value.signal == "questions"


# --- entities ---------------------------------------------------------------------------------------------


def test_entities_2023_one_row_per_match_and_reference_without_double_counting() -> None:
    rows = parse.parse_entities(CID, DAY, ENTITIES_COMPAT)
    # matches[0] x 2 refs + matches[1] x 1 ref; the 2022-compat top-level messageRefs are not counted again.
    assert [(r["value"], r["detected_value"], r["message_id"], r["char_offset"]) for r in rows] == [
        ("Globex", "globex", "m1", 7),
        ("Globex", "globex", "m4", 0),
        (None, "Globex Corp", "m5", 3),
    ]
    assert {(r["entity_type"], r["sub_type"], r["category"]) for r in rows} == {
        ("organization", "company", "Managed")
    }
    assert rows[0]["message_text"] == "We use Globex"
    assert len({r["entity_key"] for r in rows}) == 3
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["entity_key"]) for r in rows)


def test_entities_2022_one_row_per_reference_and_unreferenced_entity_kept() -> None:
    rows = parse.parse_entities(CID, DAY, ENTITIES_2022)
    assert [
        (r["entity_type"], r["sub_type"], r["value"], r["message_id"], r["char_offset"]) for r in rows
    ] == [
        # 2022's `type: custom` + `customType` lands as the 2023 vocabulary: the custom type, its value as
        # the sub-type, category Custom.
        ("Competitor", "Initech", "Initech", "m2", 0),
        ("Competitor", "Initech", "Initech", "m3", 7),
        ("date", "date", "2026-05-01", None, None),  # 2022 has no subType: the 2023 one is filled in
    ]
    assert rows[0]["detected_value"] == "initech" and rows[0]["category"] == "Custom"
    assert rows[2]["category"] == "Managed"
    assert rows[2]["message_text"] is None


def test_entity_keys_are_stable_and_identify_the_occurrence() -> None:
    first = parse.parse_entities(CID, DAY, ENTITIES_2022)
    # Same occurrences, different order and a different run: same keys.
    reordered = {"entities": list(reversed(copy.deepcopy(ENTITIES_2022["entities"])))}
    reordered["entities"][1]["messageRefs"].reverse()
    again = parse.parse_entities(CID, DAY, reordered)
    assert sorted(r["entity_key"] for r in first) == sorted(r["entity_key"] for r in again)
    # Moving one occurrence changes only its key.
    moved = copy.deepcopy(ENTITIES_2022)
    moved["entities"][0]["messageRefs"][1]["offset"] = 8
    keys_moved = [r["entity_key"] for r in parse.parse_entities(CID, DAY, moved)]
    assert keys_moved[0] == first[0]["entity_key"] and keys_moved[1] != first[1]["entity_key"]


def test_identical_entity_occurrences_are_deduped() -> None:
    entity = ENTITIES_2022["entities"][0]
    body = {"entities": [entity, copy.deepcopy(entity)]}
    assert len(parse.parse_entities(CID, DAY, body)) == 2
    with pytest.raises(ParseError, match=r"entities\[0\]\.messageRefs\[0\]\.offset"):
        parse.parse_entities(
            CID, DAY, {"entities": [{"type": "x", "value": "v", "messageRefs": [{"id": "m", "offset": 1.5}]}]}
        )


# --- analytics --------------------------------------------------------------------------------------------


def test_analytics_members_and_metrics() -> None:
    body = {
        "metrics": [
            {"type": "total_silence", "percent": 10.5, "seconds": 12.0},
            {"type": "total_talk_time", "percent": 89.5, "seconds": "102.3"},
            {"type": "total_silence", "percent": 99, "seconds": 99},
        ],
        "members": [
            {
                "id": "u1",
                "name": "Maya Chen",
                "userId": "maya@lumen.example",
                "pace": {"wpm": 151},
                "talkTime": {"percentage": 60.2, "seconds": 61.5},
                "listenTime": {"percentage": 39.8, "seconds": 40.7},
                "overlap": {},
            },
            {"name": "Hank", "userId": "hank@globex.example", "overlap": {"overlapDuration": 1.5}},
            {"id": "u3", "name": "Silent Bob"},
        ],
    }
    members, metrics = parse.parse_analytics(CID, DAY, body)
    maya, hank, bob = members
    assert (maya["pace_wpm"], maya["talk_time_seconds"], maya["listen_time_percentage"]) == (
        151.0,
        61.5,
        39.8,
    )
    assert maya["overlap_seconds"] == 0.0  # `{}`: never overlapped
    assert hank["member_id"] == "hank@globex.example" and hank["overlap_seconds"] == 1.5
    assert bob["overlap_seconds"] is None and bob["pace_wpm"] is None
    assert [(m["metric_type"], m["seconds"]) for m in metrics] == [
        ("total_silence", 12.0),
        ("total_talk_time", 102.3),
    ]
    assert parse.parse_analytics(CID, DAY, {"members": []}) == ([], [])
    with pytest.raises(ParseError, match=r"members\[0\]\.talkTime\.seconds"):
        parse.parse_analytics(CID, DAY, {"members": [{"id": "u1", "talkTime": {"seconds": [1]}}]})
    with pytest.raises(ParseError, match=r"members\[0\]\.id"):
        parse.parse_analytics(CID, DAY, {"members": [{"pace": {"wpm": 1}}]})


# --- trackers ---------------------------------------------------------------------------------------------


def test_trackers_one_row_per_message_and_insight_reference() -> None:
    rows = parse.parse_trackers(CID, DAY, TRACKERS)
    assert [
        (r["tracker_name"], r["ref_type"], r["ref_id"], r["char_offset"], r["is_exact"]) for r in rows
    ] == [
        ("Pricing", "message", "m2", 12, True),
        ("Pricing", "insight", "q1", -1, False),
    ]
    assert rows[0]["matched_value"] == "price" and rows[0]["match_type"] == "vocabulary"
    assert len({r["hit_key"] for r in rows}) == 2
    # The 2023 management-style wrapper and JSON text parse the same.
    assert parse.parse_trackers(CID, DAY, {"trackers": TRACKERS}) == rows
    assert parse.parse_trackers(CID, DAY, json.dumps(TRACKERS)) == rows


def test_tracker_keys_are_stable_and_repeats_deduped() -> None:
    doubled = copy.deepcopy(TRACKERS)
    doubled[0]["matches"].append(copy.deepcopy(doubled[0]["matches"][0]))
    rows = parse.parse_trackers(CID, DAY, doubled)
    assert [r["hit_key"] for r in rows] == [r["hit_key"] for r in parse.parse_trackers(CID, DAY, TRACKERS)]
    semantic = copy.deepcopy(TRACKERS)
    semantic[0]["matches"][0]["messageRefs"][0]["offset"] = "-1"
    first = parse.parse_trackers(CID, DAY, semantic)[0]
    assert first["is_exact"] is False and first["hit_key"] != rows[0]["hit_key"]


def test_tracker_match_without_references_and_bad_shapes() -> None:
    body = [{"id": "t9", "name": "Budget", "matches": [{"type": "vocabulary", "value": "budget"}]}]
    (row,) = parse.parse_trackers(CID, DAY, body)
    assert (row["ref_type"], row["ref_id"], row["char_offset"], row["is_exact"]) == (None, None, None, None)
    with pytest.raises(ParseError, match=r"trackers\[0\]\.name"):
        parse.parse_trackers(CID, DAY, [{"id": "t1", "matches": []}])
    with pytest.raises(ParseError, match="expected an array of trackers"):
        parse.parse_trackers(CID, DAY, {"message": "nope"})


# --- summaries --------------------------------------------------------------------------------------------


def test_symbl_and_nebula_summaries() -> None:
    body = {
        "summary": [
            {
                "id": "s1",
                "text": "Maya walked Hank through pricing.",
                "messageRefs": [{"id": "m1"}, {"id": "m2"}],
            },
            {"id": "s2", "text": "Next step: quote.", "startTime": "2026-04-07T15:00:00Z"},
        ]
    }
    first, second = parse.parse_summary(CID, DAY, body)
    assert (first["source"], first["message_ids"]) == ("symbl", ["m1", "m2"])
    assert second["message_ids"] is None

    nebula = {"model": "nebula-chat-large", "output": {"text": "  A short summary.  "}, "stats": {}}
    (row,) = parse.parse_nebula_summary(CID, DAY, nebula)
    assert list(row) == schema_columns("symbl_summaries")
    assert (row["source"], row["text"], row["summary_id"]) == ("nebula", "A short summary.", "nebula")
    for bad in ({"output": {"text": "   "}}, {"output": None}, {"output": {"text": 3}}):
        with pytest.raises(ParseError):
            parse.parse_nebula_summary(CID, DAY, bad)


def test_parse_error_is_a_value_error_with_a_readable_message() -> None:
    error = ParseError("topics", CID, "topics[3].score: expected a number, got string")
    assert isinstance(error, ValueError)
    assert (
        str(error)
        == f"symbl topics response for conversation {CID}: topics[3].score: expected a number, got string"
    )


def test_naive_timestamps_are_utc_whatever_the_local_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        (row,) = parse.parse_messages(
            CID, DAY, {"messages": [{"id": "m", "text": "x", "startTime": "2026-04-07T15:00:00"}]}
        )
    finally:
        monkeypatch.undo()
        time.tzset()
    assert row["start_time"] == datetime(2026, 4, 7, 15, tzinfo=UTC)


def test_non_utc_offsets_are_normalised_to_utc_tzinfo() -> None:
    body = {"messages": [{"id": "m", "text": "x", "startTime": "2026-04-07T23:30:00+09:30"}]}
    (row,) = parse.parse_messages(CID, DAY, body)
    assert row["start_time"].tzinfo == UTC
    assert row["start_time"] == datetime(2026, 4, 7, 23, 30, tzinfo=timezone(timedelta(hours=9, minutes=30)))


# --- production shapes (issue: the sandbox was kinder than Symbl) -------------------------------------------


def test_insight_author_email_comes_from_user_id_when_email_is_absent() -> None:
    body = {
        "questions": [
            {
                "id": "q1",
                "text": "Budget?",
                "from": {"id": "u1", "name": "Maya", "userId": "maya@lumen.example"},
            },
            {"id": "q2", "text": "When?", "from": {"id": "u2", "name": "Speaker 2", "userId": "crm-42"}},
        ]
    }
    rows = {r["question_id"]: r for r in parse.parse_questions(CID, DAY, body)}
    assert (rows["q1"]["from_email"], rows["q1"]["from_user_id"]) == (
        "maya@lumen.example",
        "maya@lumen.example",
    )
    assert (rows["q2"]["from_email"], rows["q2"]["from_user_id"]) == (None, "crm-42")  # not an email
    items = parse.parse_action_items(
        CID,
        DAY,
        {"actionItems": [{"id": "a1", "text": "Send it", "from": {"name": "M", "userId": "m@x.io"}}]},
    )
    assert items[0]["from_email"] == "m@x.io"


def test_topic_parent_refs_and_tracker_insight_types_land_in_their_own_columns() -> None:
    (topic,) = parse.parse_topics(
        CID,
        DAY,
        {"topics": [{"id": "t1", "text": "pricing", "parentRefs": [{"type": "topic", "text": "budget"},
                                                                    {"type": "topic", "text": "budget"}]}]},
    )  # fmt: skip
    assert topic["parent_topics"] == ["budget"]
    hits = parse.parse_trackers(CID, DAY, TRACKERS)
    by_ref = {(h["ref_type"], h["ref_id"]): h["insight_type"] for h in hits if h["ref_id"]}
    assert by_ref == {("message", "m2"): None, ("insight", "q1"): "question"}


def test_both_entity_generations_land_as_the_same_typed_rows() -> None:
    from sandbox.symbl.generations import entity

    managed = {
        "id": "e1", "type": "organization", "subType": "company", "category": "Managed", "value": "Globex",
        "text": "globex", "messageRefs": [{"id": "m1", "text": "We use Globex", "offset": 7}],
        "matches": [{"value": "Globex", "detectedValue": "globex",
                     "messageRefs": [{"id": "m1", "text": "We use Globex", "offset": 7}]}],
    }  # fmt: skip
    custom = {
        "id": "e9", "type": "Competitor", "subType": "Initech", "category": "Custom", "customType": "Competitor",
        "value": "Initech", "text": "initech",
        "messageRefs": [{"id": "m2", "text": "Initech quoted less", "offset": 0}],
        "matches": [{"value": "Initech", "detectedValue": "initech",
                     "messageRefs": [{"id": "m2", "text": "Initech quoted less", "offset": 0}]}],
    }  # fmt: skip
    rows = {}
    for generation in ("2022", "2023"):
        body = {"entities": [entity(e, generation) for e in (managed, custom)]}
        rows[generation] = parse.parse_entities(CID, DAY, body)
        assert {r["api_generation"] for r in rows[generation]} == {generation}

    def typed(rs: list[dict[str, object]]) -> list[dict[str, object]]:
        return [{k: v for k, v in r.items() if k != "api_generation"} for r in rs]

    # Same keys, types, values and references whichever generation answered.
    assert typed(rows["2022"]) == typed(rows["2023"])
    assert {(r["entity_type"], r["category"]) for r in rows["2022"]} == {
        ("organization", "Managed"),
        ("Competitor", "Custom"),
    }


def test_2022_managed_type_names_map_onto_the_2023_vocabulary() -> None:
    body = {"entities": [{"type": "datetime", "value": "2026-05-01", "text": "May first"},
                         {"type": "Organisation", "value": "Globex", "text": "Globex"}]}  # fmt: skip
    got = [(r["entity_type"], r["sub_type"], r["category"]) for r in parse.parse_entities(CID, DAY, body)]
    assert got == [("date", "date", "Managed"), ("organization", "company", "Managed")]
