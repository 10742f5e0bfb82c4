"""Reading raw.transcripts a batch at a time: which conversations of a window are transcribed, and a batch's turns.

Semarize scoring and Nebula summaries both read a window's transcripts this way, so that neither holds a day's
turns (a day of 10,000 calls is about half a million) at once.
"""

from collections import defaultdict
from datetime import date
from typing import Any

from orchestration.defs.warehouse.resource import WarehouseResource


def transcribed_conversations(warehouse: WarehouseResource, first: date, end: date) -> list[str]:
    """The window's conversations that have turns, in id order."""
    rows = warehouse.query(
        "SELECT DISTINCT conversation_id FROM raw.transcripts WHERE partition_date >= ? AND partition_date < ? "
        "ORDER BY 1",
        [first, end],
    )
    return [r["conversation_id"] for r in rows]


def conversation_turns(
    warehouse: WarehouseResource, conversation_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """These conversations' turns, in spoken order, by conversation."""
    turns = warehouse.query(
        "SELECT * FROM raw.transcripts WHERE conversation_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY conversation_id, turn_index",
        [conversation_ids],
    )
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in turns:
        grouped[t["conversation_id"]].append(t)
    return grouped
