"""Speaker turns from Symbl messages, and the transcript forms Semarize reads."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from orchestration.defs.semarize.transcripts import (
    UNKNOWN_SPEAKER,
    assemble_turns,
    transcript_text,
    transcript_turns_payload,
)
from orchestration.defs.symbl.parse import parse_messages
from orchestration.defs.warehouse import schema

CID, RID, DAY = "c1", "rec-1", date(2026, 4, 7)
T0 = datetime(2026, 4, 7, 15, tzinfo=UTC)


def schema_columns(table: str) -> list[str]:
    lines = [line.split("--")[0].strip() for line in schema.TABLES[table].strip().splitlines()]
    return [re.split(r"\s+", line)[0] for line in lines if line]


def message(
    mid: str, speaker: str | None, text: str, start: float | None, duration: float = 1.0, **extra: Any
) -> dict[str, Any]:
    return {
        "message_id": mid,
        "speaker_id": None if speaker is None else f"id-{speaker}",
        "speaker_name": speaker,
        "speaker_email": None if speaker is None else f"{speaker.lower()}@x.example",
        "speaker_user_id": None,
        "text": text,
        "start_time": None if start is None else T0 + timedelta(seconds=start),
        "end_time": None if start is None else T0 + timedelta(seconds=start + duration),
        "time_offset_seconds": start,
        "duration_seconds": duration,
        **extra,
    }


CONVERSATION = [
    message("m1", "Maya", "Hi Hank.", 0.0, 1.0),
    message("m2", "Maya", "Thanks for joining.", 1.2, 1.5),
    message("m3", "Hank", "Sure, what's the price?", 3.0, 2.0),
    message("m4", "Maya", "It depends.", 5.5, 1.0),
    message("m5", "Maya", "Let me explain.", 6.6, 2.4),
]


def test_consecutive_messages_by_one_speaker_merge_into_turns() -> None:
    turns = assemble_turns(CID, RID, DAY, CONVERSATION)
    assert [list(t) for t in turns] == [schema_columns("transcripts")] * 3
    assert [(t["turn_index"], t["speaker_name"], t["text"], t["message_count"]) for t in turns] == [
        (0, "Maya", "Hi Hank. Thanks for joining.", 2),
        (1, "Hank", "Sure, what's the price?", 1),
        (2, "Maya", "It depends. Let me explain.", 2),
    ]
    assert [(t["start_offset_seconds"], t["end_offset_seconds"]) for t in turns] == [
        (0.0, 2.7),
        (3.0, 5.0),
        (5.5, 9.0),
    ]
    assert all(
        (t["conversation_id"], t["recording_id"], t["partition_date"]) == (CID, RID, DAY) for t in turns
    )
    assert turns[0]["speaker_email"] == "maya@x.example"


def test_messages_are_put_in_spoken_order_first() -> None:
    shuffled = CONVERSATION[:]
    random.Random(3).shuffle(shuffled)
    assert shuffled != CONVERSATION
    assert assemble_turns(CID, RID, DAY, shuffled) == assemble_turns(CID, RID, DAY, CONVERSATION)


def test_same_start_time_keeps_the_given_order() -> None:
    rows = [
        message("a", "Maya", "first", 1.0),
        message("b", "Maya", "second", 1.0),
        message("c", "Hank", "x", 0),
    ]
    (hank, maya) = assemble_turns(CID, RID, DAY, rows)
    assert (hank["text"], maya["text"]) == ("x", "first second")


def test_untimed_messages_keep_the_api_order() -> None:
    rows = [
        message("a", "Hank", "one", None),
        message("b", "Maya", "two", 9.0),
        message("c", "Hank", "three", 1.0),
    ]
    turns = assemble_turns(CID, RID, DAY, rows)
    assert [t["text"] for t in turns] == ["one", "two", "three"]
    assert turns[0]["start_offset_seconds"] is None


def test_offsets_derive_from_start_times_when_symbl_sent_no_offsets() -> None:
    rows = [
        message(m["message_id"], m["speaker_name"], m["text"], m["time_offset_seconds"]) for m in CONVERSATION
    ]
    for row in rows:
        row["time_offset_seconds"] = row["duration_seconds"] = None
        row["start_time"] += timedelta(seconds=100)  # conversation clock does not start at the first word
        row["end_time"] += timedelta(seconds=100)
    turns = assemble_turns(CID, RID, DAY, rows)
    assert [(t["start_offset_seconds"], t["end_offset_seconds"]) for t in turns] == [
        (0.0, 2.2),
        (3.0, 4.0),
        (5.5, 7.6),
    ]


def test_speakers_sharing_a_name_stay_separate_and_blank_messages_are_dropped() -> None:
    rows = [
        message("a", "Alex", "from the buyer", 0.0),
        {
            **message("b", "Alex", "from the rep", 1.0),
            "speaker_id": "id-other",
        },
        message("c", "Alex", "   ", 2.0),
        message("d", None, "who said this?", 3.0),
        message("e", None, "and this?", 4.0),
    ]
    turns = assemble_turns(CID, RID, DAY, rows)
    assert [(t["text"], t["message_count"]) for t in turns] == [
        ("from the buyer", 1),
        ("from the rep", 1),
        ("who said this? and this?", 2),
    ]
    assert [t["turn_index"] for t in turns] == [0, 1, 2]


def test_transcript_text_and_payload() -> None:
    turns = assemble_turns(
        CID,
        RID,
        DAY,
        [
            *CONVERSATION[:3],
            message("x", "  Dr.  Ünïcode  ", 'Quote "this"\nand\tthat', 9.0),
            message("y", None, "anonymous", 10.0),
        ],
    )
    assert transcript_text(turns) == (
        "Maya: Hi Hank. Thanks for joining.\n"
        "Hank: Sure, what's the price?\n"
        'Dr. Ünïcode: Quote "this" and that\n'
        f"{UNKNOWN_SPEAKER}: anonymous"
    )
    assert transcript_turns_payload(turns) == [
        {"speaker": "Maya", "text": "Hi Hank. Thanks for joining."},
        {"speaker": "Hank", "text": "Sure, what's the price?"},
        {"speaker": "Dr. Ünïcode", "text": 'Quote "this"\nand\tthat'},
        {"speaker": UNKNOWN_SPEAKER, "text": "anonymous"},
    ]
    assert transcript_text([]) == "" and transcript_turns_payload([]) == []
    assert assemble_turns(CID, RID, DAY, []) == []


def test_turns_from_parsed_messages_fit_the_transcripts_table() -> None:
    body = {
        "messages": [
            {
                "id": "m2",
                "text": "Reply",
                "from": {"id": "u2", "name": "Hank"},
                "startTime": "2026-04-07T15:00:04Z",
            },
            {
                "id": "m1",
                "text": "Hello",
                "from": {"id": "u1", "name": "Maya"},
                "startTime": "2026-04-07T15:00:01Z",
            },
            {
                "id": "m3",
                "text": "Ok",
                "from": {"id": "u2", "name": "Hank"},
                "startTime": "2026-04-07T15:00:06Z",
            },
        ]
    }
    turns = assemble_turns(CID, RID, DAY, parse_messages(CID, DAY, body))
    assert transcript_text(turns) == "Maya: Hello\nHank: Reply Ok"
    con = duckdb.connect()
    for statement in schema.create_statements():
        con.execute(statement)
    columns = schema_columns("transcripts")
    con.executemany(
        f"INSERT INTO raw.transcripts VALUES ({', '.join('?' for _ in columns)})",
        [[t[c] for c in columns] for t in turns],
    )
    stored = con.execute("SELECT turn_index, text, message_count FROM raw.transcripts ORDER BY 1").fetchall()
    assert stored == [(0, "Hello", 1), (1, "Reply Ok", 2)]
