"""The sandbox's text intelligence: one call turns a transcript into every Symbl Conversation API payload.

Everything here is deterministic (same input, byte-identical output): ids are hashes of the conversation id
and an item's position, and no step depends on time, randomness or the network. Messages are one per sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sandbox.intelligence.actions import action_payloads
from sandbox.intelligence.analytics import conversation_analytics
from sandbox.intelligence.entities import find_entities
from sandbox.intelligence.ids import numeric_id
from sandbox.intelligence.members import Roster
from sandbox.intelligence.messages import message_payloads
from sandbox.intelligence.questions import find_questions
from sandbox.intelligence.segmentation import segment
from sandbox.intelligence.sentiment import label, polarity
from sandbox.intelligence.summary import summarise
from sandbox.intelligence.timestamps import Clock, as_utc
from sandbox.intelligence.topics import extract_topics
from sandbox.intelligence.trackers import match_trackers
from sandbox.transcript import Utterance


@dataclass(frozen=True)
class AnalysisOptions:
    detect_entities: bool = False  # without it /entities is empty (documented Symbl behaviour)
    custom_entities: tuple[dict, ...] = ()  # [{customType, value, text}] from the submit request
    trackers: tuple[dict, ...] = ()  # [{id, name, vocabulary: [...]}] already resolved by the caller
    confidence_threshold: float = (
        0.5  # insights (questions, action items, follow-ups) scoring below it are dropped
    )
    enable_summary: bool = False


@dataclass(frozen=True)
class ConversationInsights:
    messages: list[dict] = field(
        default_factory=list
    )  # verbose form; the route strips what was not asked for
    topics: list[dict] = field(default_factory=list)
    action_items: list[dict] = field(
        default_factory=list
    )  # follow-ups are listed here too (they are action items)
    follow_ups: list[dict] = field(default_factory=list)
    questions: list[dict] = field(default_factory=list)
    entities: list[dict] = field(default_factory=list)  # both generations' fields on every item
    analytics: dict = field(default_factory=lambda: {"metrics": [], "members": []})
    trackers: list[dict] = field(default_factory=list)  # bare-array form
    summary: list[dict] = field(default_factory=list)  # empty unless enable_summary
    members: list[dict] = field(default_factory=list)


def analyze(
    conversation_id: str,
    start_time: datetime,
    utterances: Sequence[Utterance],
    options: AnalysisOptions = AnalysisOptions(),
) -> ConversationInsights:
    """Analyse one conversation. ``start_time`` anchors ISO timestamps and resolves "tomorrow"/"by Friday"
    (in ``start_time``'s own time zone; a naive value is taken as UTC)."""
    if start_time.tzinfo is None:
        start_time = as_utc(start_time)
    roster = Roster(conversation_id, utterances)
    messages = segment(conversation_id, utterances, roster)

    def insight_id(kind: str, position: object) -> str:
        return numeric_id(conversation_id, kind, position)

    polarity_by_message = {m.id: polarity(m.text) for m in messages}
    # Built from the one polarity per message (sentiment_object would score each text a second time).
    sentiments = {
        message_id: {"polarity": {"score": score}, "suggested": label(score)}
        for message_id, score in polarity_by_message.items()
    }
    clock = Clock(start_time)
    action_items, follow_ups, phrases = action_payloads(
        conversation_id,
        start_time,
        messages,
        roster,
        options.confidence_threshold,
        make_id=lambda kind, message: insight_id(kind, message.index),
    )
    requests = frozenset(i for item in action_items for i in cast(list[str], item["messageIds"]))
    questions = find_questions(
        messages,
        options.confidence_threshold,
        make_id=lambda message: insight_id("question", message.index),
        excluded_message_ids=requests,
    )
    topics = extract_topics(
        messages, roster, polarity_by_message, make_id=lambda text: insight_id("topic", text)
    )
    insights = [*questions, *action_items, *follow_ups]
    entities = (
        find_entities(
            messages,
            roster,
            start_time,
            options.custom_entities,
            make_id=lambda *key: insight_id("entity", "/".join(key)),
        )
        if options.detect_entities
        else []
    )
    return ConversationInsights(
        messages=message_payloads(conversation_id, clock, messages, sentiments, phrases),
        topics=topics,
        action_items=action_items,
        follow_ups=follow_ups,
        questions=questions,
        entities=entities,
        analytics=conversation_analytics(utterances, roster),
        trackers=match_trackers(
            options.trackers, messages, insights, make_id=lambda name: insight_id("tracker", name)
        ),
        summary=(
            summarise(messages, clock, topics, insights, make_id=lambda pos: insight_id("summary", pos))
            if options.enable_summary
            else []
        ),
        members=[m.as_from() for m in roster.members],
    )
