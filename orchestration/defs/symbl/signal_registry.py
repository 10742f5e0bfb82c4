"""Every Conversation API signal, declared once: its path and query, its parser and the raw tables it fills.

The client's paths (``SymblClient.get_signal``), the signal assets (``signals.py``: one asset per table) and the
end-to-end tests all read :data:`SIGNALS`; a new signal is one entry here, its parser in ``parse.py`` and its
tables' DDL in ``orchestration/defs/warehouse/schema.py``.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from orchestration.defs.symbl import parse

Parser = Callable[[str, date, Any], Any]


@dataclass(frozen=True)
class Signal:
    name: str  # the client's signal name, also the `endpoint` value in raw.symbl_responses
    path: str  # GET /v1/conversations/{id}/<path>
    # Raw table -> what one row is. A parser filling several tables returns one list per table, in this order.
    tables: Mapping[str, str] = field(default_factory=dict)
    parser: Parser | None = None  # None: fetched on demand, never stored
    params: Mapping[str, str] = field(default_factory=dict)  # fixed query parameters
    fallback_path: str | None = None  # asked when `path` answers 404 (the older API's name)

    @property
    def asset_name(self) -> str:
        """The op that fetches it: named after its one table, or ``symbl_<name>`` when one answer fills several."""
        return next(iter(self.tables)) if len(self.tables) == 1 else f"symbl_{self.name}"

    def parse(self, conversation_id: str, partition_date: date, body: Any) -> dict[str, list[parse.Row]]:
        """Rows per table for one answer (raises ``parse.ParseError`` on a malformed one)."""
        if self.parser is None:
            raise ValueError(f"Symbl signal {self.name!r} is not stored")
        result = self.parser(conversation_id, partition_date, body)
        lists = result if isinstance(result, tuple) else (result,)
        return dict(zip(self.tables, lists, strict=True))


SIGNALS: tuple[Signal, ...] = (
    Signal(
        "messages",
        "messages",
        {"symbl_messages": "Transcript messages with speaker, timing and sentiment."},
        parse.parse_messages,
        {"verbose": "true", "sentiment": "true"},
    ),
    Signal(
        "topics",
        "topics",
        {"symbl_topics": "Topics with relevance score, sentiment and parent topics."},
        parse.parse_topics,
        {"sentiment": "true", "parentRefs": "true"},
    ),
    Signal(
        "action_items",
        "action-items",
        {"symbl_action_items": "Action items with assignee, due date and whether they were definitive."},
        parse.parse_action_items,
    ),
    Signal(
        "questions",
        "questions",
        {"symbl_questions": "Questions asked, with who asked them."},
        parse.parse_questions,
    ),
    Signal(
        "follow_ups",
        "follow-ups",
        {"symbl_follow_ups": "Follow-ups (commitments to reconnect)."},
        parse.parse_follow_ups,
    ),
    Signal(
        "entities",
        "entities",
        {
            "symbl_entities": (
                "Entities (people, organisations, money, dates, custom) - one row per match occurrence."
            )
        },
        parse.parse_entities,
    ),
    Signal(
        "analytics",
        "analytics",
        {
            "symbl_analytics_members": "Talk/listen time, pace and overlap per member.",
            "symbl_analytics_metrics": "Silence, talk and overlap totals per conversation.",
        },
        parse.parse_analytics,
    ),
    Signal(
        "trackers",
        "trackers",
        {"symbl_tracker_hits": "Tracker hits, one row per matched reference."},
        parse.parse_trackers,
        fallback_path="trackers-detected",  # the 2022 name; both answer a bare array
    ),
    Signal("summary", "summary", {"symbl_summaries": "Symbl's conversation summary."}, parse.parse_summary),
    Signal("members", "members"),
)

BY_NAME: dict[str, Signal] = {s.name: s for s in SIGNALS}
# The signals the pipeline stores: one signal asset each.
STORED: tuple[Signal, ...] = tuple(s for s in SIGNALS if s.tables)
