"""Pure derivation of typed warehouse rows from verbatim Symbl Conversation API responses.

The pipeline keeps every response as it arrived (``raw.symbl_responses``) and re-derives the typed tables
from it with these functions, so a parser change costs no API calls and a bad parse never loses data.

Every parser has the signature ``(conversation_id, partition_date, body) -> list[dict]`` and returns rows
whose keys are exactly the target table's columns in ``orchestration.defs.warehouse.schema`` order. Values are
typed for DuckDB: aware UTC ``datetime`` for TIMESTAMPTZ, ``float`` for DOUBLE, ``list[str]`` for VARCHAR[],
JSON columns as ``json.dumps`` strings. ``body`` may be the decoded JSON or its text (as read back from the
raw table).

Both response generations parse (see ``symbl-api.md``): 2022 and 2023+ entities, ``/trackers`` and
``/trackers-detected``. Missing optional fields become NULL and unknown fields are ignored; a field of the
wrong type raises ``ParseError`` naming the field and the item index, which the caller records as a
rejection of that signal for that conversation before moving on to the next one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from orchestration.jsontypes import json_type
from orchestration.validation import first_problem, json_kind

Row = dict[str, Any]

# Symbl's documented thresholds on the polarity score, used when a response omits `suggested`.
NEGATIVE_BELOW = -0.3
POSITIVE_ABOVE = 0.3

SUMMARY_SOURCE_SYMBL = "symbl"
SUMMARY_SOURCE_NEBULA = "nebula"
# A conversation has at most one Nebula summary; a constant id makes a regenerated one replace the old one
# under the table key (conversation_id, summary_id) instead of piling up next to it.
NEBULA_SUMMARY_ID = "nebula"


class ParseError(ValueError):
    """A response (or one of its items) does not have the shape the contract promises."""

    def __init__(self, signal: str, conversation_id: str, reason: str) -> None:
        super().__init__(f"symbl {signal} response for conversation {conversation_id}: {reason}")
        self.signal = signal
        self.conversation_id = conversation_id
        self.reason = reason


# --- field types ------------------------------------------------------------------------------------------
# Symbl's answers are loose in documented ways (ids as numbers, numbers as strings, "" for absent), so each
# field type says what it accepts; everything else is a ParseError naming the field path
# (``messages[3].from.name: must be a string, not a number``), worded by orchestration.validation.


def _ident(value: Any) -> str | None:
    """An id: a string, or an integer that some generations send unquoted. Empty means absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be an id (string), not {json_kind(value)}")
    return str(value)


def _number(value: Any) -> float | None:
    """A JSON number or a numeric string (``timeOffset``/``duration`` come both ways)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"must be a number, not {json_kind(value)}")
    try:
        result = float(value.strip() if isinstance(value, str) else value)
    except ValueError:
        raise ValueError(f"must be a number, not the string {_preview(value)}") from None
    if not math.isfinite(result):
        raise ValueError(f"must be a finite number, not {value!r}")
    return result


def _integer(value: Any) -> int | None:
    number = _number(value)
    if number is not None and not number.is_integer():
        raise ValueError(f"must be an integer, not {value!r}")
    return None if number is None else int(number)


def _boolean(value: Any) -> bool | None:
    # Query-string style booleans appear in Symbl's own option handling; accept them here too.
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"must be a boolean, not {json_kind(value)}")
    return value


def _timestamp(value: Any) -> datetime | None:
    """ISO-8601 with or without ``Z``/offset/fractional seconds; a naive time is taken as UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO-8601 timestamp string, not {json_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"is not an ISO-8601 timestamp: {_preview(value)}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


Ident = Annotated[str | None, BeforeValidator(_ident)]
RequiredIdent = Annotated[str, BeforeValidator(_ident)]  # null or absent "is required"
Number = Annotated[float | None, BeforeValidator(_number)]
Integer = Annotated[int | None, BeforeValidator(_integer)]
Boolean = Annotated[bool | None, BeforeValidator(_boolean)]
Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]


class _Item(BaseModel):
    # strict: what the field types above do not accept is an error, never coerced; unknown keys are ignored.
    model_config = ConfigDict(strict=True, frozen=True)


T = TypeVar("T", bound=_Item)
# An array of objects: absent is empty, null elements are skipped (``present``).
Items = Annotated[list[T | None], BeforeValidator(lambda value: [] if value is None else value)]


def present(items: Iterable[T | None]) -> list[tuple[int, T]]:
    return [(index, item) for index, item in enumerate(items) if item is not None]


class _Person(_Item):
    id: Ident = None
    name: str | None = None
    email: str | None = None
    userId: Ident = None


class _Polarity(_Item):
    score: Number = None


class _Sentiment(_Item):
    polarity: _Polarity | None = None
    suggested: str | None = None


def _sentiment(sentiment: _Sentiment | None) -> tuple[float | None, str | None]:
    """(score, label) from ``{polarity: {score}, suggested}``; the label is derived when not suggested."""
    if sentiment is None:
        return None, None
    score = sentiment.polarity.score if sentiment.polarity else None
    label = (
        sentiment.suggested.strip().lower() if sentiment.suggested and sentiment.suggested.strip() else None
    )
    return score, sentiment_label(score) if label is None and score is not None else label


class _IdRef(_Item):
    id: Ident = None


class _TextRef(_IdRef):
    offset: Integer = None
    text: str | None = None


class _InsightRef(_TextRef):
    type: str | None = None


def _ids(values: list[str | None] | None) -> list[str] | None:
    return None if values is None else [value for value in values if value is not None]


IdList = Annotated[list[Ident] | None, AfterValidator(_ids)]


class _Reader:
    """Validates one response's items against their declaration; a failure is a ParseError naming the path."""

    def __init__(self, signal: str, conversation_id: str) -> None:
        self.signal = signal
        self.conversation_id = conversation_id

    def error(self, path: str, problem: str) -> ParseError:
        return ParseError(self.signal, self.conversation_id, f"{path}: {problem}")

    def items(self, model: type[T], values: list[Any], path: str) -> list[tuple[int, T]]:
        """(index, item) for each non-null element of ``values``, validated as ``model``."""
        return present(self._checked(_adapter(model).validate_python, values, path))

    def one(self, model: type[T], value: dict[str, Any], path: str = "") -> T:
        return self._checked(model.model_validate, value, path)

    def _checked(self, validate: Callable[[Any], Any], value: Any, path: str) -> Any:
        try:
            return validate(value)
        except ValidationError as exc:
            raise ParseError(
                self.signal, self.conversation_id, first_problem(exc, path).joined(": ")
            ) from None


@functools.cache
def _adapter(model: type[T]) -> TypeAdapter[list[T | None]]:
    return TypeAdapter(Items[model])  # type: ignore[valid-type]


def sentiment_label(score: float) -> str:
    if score < NEGATIVE_BELOW:
        return "negative"
    if score > POSITIVE_ABOVE:
        return "positive"
    return "neutral"


def stable_key(*parts: Any) -> str:
    """A short deterministic key for a row without an id of its own (sha1 of the parts as JSON, 16 hex)."""
    encoded = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha1(encoded.encode("utf-8")).hexdigest()[:16]


def _preview(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _json_column(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _dedupe(rows: list[Row], *key_columns: str) -> list[Row]:
    """Keep the first row per key: the API can repeat an item, the warehouse key must stay unique."""
    seen: set[tuple[Any, ...]] = set()
    unique: list[Row] = []
    for row in rows:
        key = tuple(row[column] for column in key_columns)
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def _decode(reader: _Reader, body: Any) -> Any:
    """Accept the decoded JSON or its text (the raw table's JSON column reads back as a string)."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", errors="strict")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except json.JSONDecodeError as exc:
            raise reader.error("body", f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    return body


def _wrapped(reader: _Reader, body: Any, key: str) -> list[Any]:
    """The list under a top-level wrapper key; a missing wrapper is an error (an error body, not data)."""
    decoded = _decode(reader, body)
    if not isinstance(decoded, dict):
        raise reader.error("body", f"expected an object with {key!r}, got {json_type(decoded)}")
    if key not in decoded:
        raise reader.error("body", f"has no {key!r} list")
    return _array(reader, decoded[key], key)


def _array(reader: _Reader, value: Any, path: str) -> list[Any]:
    if value is not None and not isinstance(value, list):
        raise reader.error(path, f"expected an array, got {json_type(value)}")
    return value or []


# --- parsers, one per signal: the item declared, then its rows -------------------------------------------


class _Message(_Item):
    # Declared in the order the fields were always read: a response with one bad field names the same field.
    text: str
    words: Annotated[list[Any], BeforeValidator(lambda words: [] if words is None else words)] = []
    sentiment: _Sentiment | None = None
    id: RequiredIdent
    from_: _Person | None = Field(None, alias="from")
    startTime: Timestamp = None  # Symbl's camelCase keys, here and below
    endTime: Timestamp = None
    timeOffset: Number = None
    duration: Number = None


def parse_messages(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    r = _Reader("messages", conversation_id)
    rows: list[Row] = []
    for _, item in r.items(_Message, _wrapped(r, body, "messages"), "messages"):
        speaker = item.from_ or _Person()
        score, label = _sentiment(item.sentiment)
        rows.append(
            {
                "conversation_id": conversation_id,
                "message_id": item.id,
                "partition_date": partition_date,
                "speaker_id": speaker.id,
                "speaker_name": speaker.name,
                "speaker_email": speaker.email,
                "speaker_user_id": speaker.userId,
                "text": item.text,
                "start_time": item.startTime,
                "end_time": item.endTime,
                "time_offset_seconds": item.timeOffset,
                "duration_seconds": item.duration,
                "sentiment_score": score,
                "sentiment_label": label,
                # words[] (verbose=true) is the recogniser's own count; without it, count whitespace tokens.
                "word_count": len(item.words) if item.words else len(item.text.split()),
            }
        )
    return _dedupe(rows, "conversation_id", "message_id")


class _ParentRef(_Item):
    text: str | None = None


class _Topic(_Item):
    sentiment: _Sentiment | None = None
    id: RequiredIdent
    text: str
    score: Number = None
    messageIds: IdList = None
    parentRefs: Items[_ParentRef] | None = None


def parse_topics(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    r = _Reader("topics", conversation_id)
    raw = _wrapped(r, body, "topics")
    rows: list[Row] = []
    for index, item in r.items(_Topic, raw, "topics"):
        score, label = _sentiment(item.sentiment)
        rows.append(
            {
                "conversation_id": conversation_id,
                "topic_id": item.id,
                "partition_date": partition_date,
                "text": item.text,
                "score": item.score,
                "sentiment_score": score,
                "sentiment_label": label,
                "message_ids": item.messageIds,
                # The references as Symbl sent them (every key kept), beside the parents' texts.
                "parent_refs": _json_column(raw[index].get("parentRefs") or None),
                "parent_topics": _parent_topics(item.parentRefs),
            }
        )
    return _dedupe(rows, "conversation_id", "topic_id")


def _parent_topics(refs: list[_ParentRef | None] | None) -> list[str] | None:
    """The texts of a topic's parents (``parentRefs[{type, text}]``), in order, without repeats."""
    if refs is None:
        return None
    texts: list[str] = []
    for _, ref in present(refs):
        if ref.text and ref.text.strip() and ref.text.strip() not in texts:
            texts.append(ref.text.strip())
    return texts


class _Author(_Item):
    """An insight's ``from`` (its ``id`` is not read: it names no one the warehouse knows)."""

    email: str | None = None
    userId: Ident = None
    name: str | None = None


class _Question(_Item):
    id: RequiredIdent
    text: str
    score: Number = None
    from_: _Author | None = Field(None, alias="from")
    messageIds: IdList = None


class _Assignee(_Item):
    name: str | None = None
    email: str | None = None


class _AssignableInsight(_Question):
    definitive: Boolean = None
    assignee: _Assignee | None = None
    dueBy: Timestamp = None


def _parse_assignable_insights(
    signal: str, wrapper: str, id_column: str, conversation_id: str, partition_date: date, body: Any
) -> list[Row]:
    """Action items and follow-ups share one item shape (they differ only in ``type``)."""
    r = _Reader(signal, conversation_id)
    rows: list[Row] = []
    for _, item in r.items(_AssignableInsight, _wrapped(r, body, wrapper), wrapper):
        assignee = item.assignee or _Assignee()
        rows.append(
            {
                "conversation_id": conversation_id,
                id_column: item.id,
                "partition_date": partition_date,
                "text": item.text,
                "score": item.score,
                "definitive": item.definitive,
                "assignee_name": assignee.name,
                "assignee_email": assignee.email,
                "due_by": item.dueBy,
                **_author(item),
            }
        )
    return _dedupe(rows, "conversation_id", id_column)


def _author(item: _Question) -> Row:
    """An insight's ``from``: Symbl documents ``{id, name, userId}`` with the email in ``userId``; messages (and
    older answers) carry ``email`` too. Either way the email lands in ``from_email``. (The row's tail, in the
    table's column order: from_name, from_email, message_ids, from_user_id.)"""
    speaker = item.from_ or _Author()
    email = speaker.email
    if not email and speaker.userId and _looks_like_email(speaker.userId):
        email = speaker.userId
    return {
        "from_name": speaker.name,
        "from_email": email,
        "message_ids": item.messageIds,
        "from_user_id": speaker.userId,
    }


def _looks_like_email(value: str) -> bool:
    local, at, domain = value.strip().partition("@")
    return bool(at and local and "." in domain and " " not in value.strip())


def parse_action_items(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    return _parse_assignable_insights(
        "action_items", "actionItems", "action_item_id", conversation_id, partition_date, body
    )


def parse_follow_ups(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    return _parse_assignable_insights(
        "follow_ups", "followUps", "follow_up_id", conversation_id, partition_date, body
    )


def parse_questions(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    r = _Reader("questions", conversation_id)
    rows: list[Row] = []
    for _, item in r.items(_Question, _wrapped(r, body, "questions"), "questions"):
        rows.append(
            {
                "conversation_id": conversation_id,
                "question_id": item.id,
                "partition_date": partition_date,
                "text": item.text,
                "score": item.score,
                **_author(item),
            }
        )
    return _dedupe(rows, "conversation_id", "question_id")


class _EntityMatch(_Item):
    value: str | None = None
    detectedValue: str | None = None
    messageRefs: Items[_TextRef] | None = None


class _Entity(_Item):
    type: str
    subType: str | None = None
    customType: str | None = None
    category: str | None = None
    value: str | None = None
    matches: Items[_EntityMatch] | None = None


class _Entity2022(_Item):
    """What an entity without matches is read through (the 2022 shape); a 2023 answer's copies are ignored."""

    text: str | None = None
    messageRefs: Items[_TextRef] | None = None


def parse_entities(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    """One row per occurrence: per ``matches[] x messageRefs[]`` (2023+) or per ``messageRefs[]`` (2022).

    A response that carries both shapes on one entity (the compatibility form) is read through ``matches``
    only, so an occurrence is never counted twice. An entity or match with no references still yields one
    row with NULL message fields: it was detected, only its location is unknown.
    """
    r = _Reader("entities", conversation_id)
    raw = _wrapped(r, body, "entities")
    rows: list[Row] = []

    for index, entity in r.items(_Entity, raw, "entities"):
        generation = "2023" if entity.matches is not None or "category" in raw[index] else "2022"
        # 2022 custom entities put their own type in `customType`; it plays the part of the 2023 `subType`.
        entity_type, sub_type, category = _entity_vocabulary(
            entity.type, entity.subType, entity.customType, entity.category, entity.value
        )
        # (value, detected value, refs) per match.
        matches = [(m.value, m.detectedValue, m.messageRefs) for _, m in present(entity.matches or [])]
        if not matches:
            # 2022 shape (or a 2023 entity with no matches): `value` is the normalised value, `text` the words
            # as spoken, which is what 2023 calls `detectedValue`.
            old = r.one(_Entity2022, raw[index], f"entities[{index}]")
            matches.append((entity.value, old.text, old.messageRefs))

        for value, detected, refs in matches:
            # No references: one row whose message fields read as NULL from an empty reference.
            for _, ref in present(refs or []) or [(0, _TextRef())]:
                rows.append(
                    {
                        "conversation_id": conversation_id,
                        "entity_key": stable_key(
                            entity_type,
                            sub_type,
                            value if value is not None else detected,
                            ref.id,
                            ref.offset,
                        ),
                        "partition_date": partition_date,
                        "entity_type": entity_type,
                        "sub_type": sub_type,
                        "category": category,
                        "value": value,
                        "detected_value": detected,
                        "message_id": ref.id,
                        "message_text": ref.text,
                        "char_offset": ref.offset,
                        "api_generation": generation,
                    }
                )
    return _dedupe(rows, "conversation_id", "entity_key")


# 2022 names for managed entity types, mapped onto the 2023 vocabulary the typed table uses.
_ENTITY_TYPE_ALIASES = {
    "datetime": "date",
    "date_time": "date",
    "organisation": "organization",
    "org": "organization",
    "company": "organization",
    "phone": "phone_number",
    "phonenumber": "phone_number",
    "percent": "percentage",
    "currency": "money",
    "email_address": "email",
}
# The subType a 2023 answer gives each managed type, for 2022 answers that have none.
_MANAGED_SUB_TYPES = {
    "email": "email_address",
    "phone_number": "phone_number",
    "money": "amount",
    "percentage": "percent",
    "date": "date",
    "person": "name",
    "organization": "company",
}


def _entity_vocabulary(
    raw_type: str, sub_type: str | None, custom_type: str | None, category: str | None, value: str | None
) -> tuple[str, str | None, str]:
    """(entity_type, sub_type, category) in one vocabulary, whichever generation answered.

    2023: ``type`` is the managed type or the caller's custom type, ``subType`` its sub-type, ``category``
    Managed | Custom. 2022: managed types by their (older) names and no sub-type; custom entities as
    ``type: "custom"`` (or the custom type itself) with ``customType``.
    """
    is_custom = (
        (category or "").lower() == "custom" or custom_type is not None or raw_type.lower() == "custom"
    )
    if is_custom:
        entity_type = custom_type if raw_type.lower() == "custom" and custom_type else raw_type
        return (
            entity_type,
            sub_type or (value if raw_type.lower() == "custom" else None) or custom_type,
            "Custom",
        )
    key = raw_type.strip().lower().replace(" ", "_").replace("-", "_")
    entity_type = _ENTITY_TYPE_ALIASES.get(key, key)
    return entity_type, sub_type or _MANAGED_SUB_TYPES.get(entity_type), "Managed"


class _Pace(_Item):
    wpm: Number = None


class _Time(_Item):
    seconds: Number = None
    percentage: Number = None


class _Member(_Item):
    id: Ident = None
    userId: Ident = None
    email: str | None = None
    name: str | None = None
    pace: _Pace | None = None
    talkTime: _Time | None = None
    listenTime: _Time | None = None
    overlap: dict[str, Any] | None = None  # read by _overlap_seconds: only the key it uses is checked


class _Metric(_Item):
    type: str
    seconds: Number = None
    percent: Number = None


def parse_analytics(conversation_id: str, partition_date: date, body: Any) -> tuple[list[Row], list[Row]]:
    """(members rows, metrics rows). Either list may be absent from a response: absent means no rows."""
    r = _Reader("analytics", conversation_id)
    decoded = _decode(r, body)
    if not isinstance(decoded, dict):
        raise r.error("body", f"expected an object with 'members'/'metrics', got {json_type(decoded)}")

    members: list[Row] = []
    raw_members = _array(r, decoded.get("members"), "members")
    for index, member in r.items(_Member, raw_members, "members"):
        pace, talk, listen = member.pace or _Pace(), member.talkTime or _Time(), member.listenTime or _Time()
        # The key column is NOT NULL; a member without an id is still known by its user id, email or name.
        member_id = member.id or member.userId or member.email or member.name
        if member_id is None:
            raise r.error(f"members[{index}].id", "is required (no userId, email or name to stand in for it)")
        members.append(
            {
                "conversation_id": conversation_id,
                "member_id": member_id,
                "partition_date": partition_date,
                "name": member.name,
                "email": member.email,
                "user_id": member.userId,
                "pace_wpm": pace.wpm,
                "talk_time_seconds": talk.seconds,
                "talk_time_percentage": talk.percentage,
                "listen_time_seconds": listen.seconds,
                "listen_time_percentage": listen.percentage,
                "overlap_seconds": _overlap_seconds(r, member.overlap, f"members[{index}].overlap"),
            }
        )

    metrics: list[Row] = []
    for _, metric in r.items(_Metric, _array(r, decoded.get("metrics"), "metrics"), "metrics"):
        metrics.append(
            {
                "conversation_id": conversation_id,
                "metric_type": metric.type,
                "partition_date": partition_date,
                "seconds": metric.seconds,
                "percent": metric.percent,
            }
        )
    return (
        _dedupe(members, "conversation_id", "member_id"),
        _dedupe(metrics, "conversation_id", "metric_type"),
    )


def _overlap_seconds(r: _Reader, overlap: dict[str, Any] | None, path: str) -> float | None:
    """Symbl sends ``overlap: {}`` for a member who never talked over anyone: that is 0 s, not unknown."""
    if overlap is None:
        return None
    if not overlap:
        return 0.0
    for key in ("seconds", "overlapDuration", "duration"):
        if overlap.get(key) is not None:
            try:
                return _number(overlap[key])
            except ValueError as exc:
                raise r.error(f"{path}.{key}", str(exc)) from None
    return None


class _TrackerMatch(_Item):
    type: str | None = None
    value: str | None = None
    messageRefs: Items[_TextRef] | None = None
    insightRefs: Items[_InsightRef] | None = None


class _Tracker(_Item):
    id: Ident = None
    name: str
    matches: Items[_TrackerMatch] | None = None


def parse_trackers(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    """One row per tracker match reference (message or insight).

    The body is a bare array (both ``/trackers`` and ``/trackers-detected``); ``{"trackers": [...]}`` is
    tolerated too.
    """
    r = _Reader("trackers", conversation_id)
    decoded = _decode(r, body)
    if isinstance(decoded, dict) and "trackers" in decoded:
        decoded = decoded["trackers"]
    if not isinstance(decoded, list):
        raise r.error("body", f"expected an array of trackers, got {json_type(decoded)}")

    rows: list[Row] = []
    for _, tracker in r.items(_Tracker, decoded, "trackers"):
        for _, match in present(tracker.matches or []):
            refs: list[tuple[str | None, _TextRef]] = [
                ("message", ref) for _, ref in present(match.messageRefs or [])
            ]
            refs += [("insight", ref) for _, ref in present(match.insightRefs or [])]
            # A match without references was still detected: keep it as one hit with an unknown location.
            for ref_type, ref in refs or [(None, _TextRef())]:
                insight_type = ref.type if isinstance(ref, _InsightRef) else None
                rows.append(
                    {
                        "conversation_id": conversation_id,
                        "hit_key": stable_key(
                            tracker.id or tracker.name, match.value, ref_type, ref.id, ref.offset
                        ),
                        "partition_date": partition_date,
                        "tracker_id": tracker.id,
                        "tracker_name": tracker.name,
                        "match_type": match.type,
                        "matched_value": match.value,
                        "ref_type": ref_type,
                        "ref_id": ref.id,
                        "ref_text": ref.text,
                        "char_offset": ref.offset,
                        "is_exact": None if ref.offset is None else ref.offset != -1,
                        "insight_type": _insight_type(insight_type),
                    }
                )
    return _dedupe(rows, "conversation_id", "hit_key")


def _insight_type(value: str | None) -> str | None:
    """``question`` | ``action_item`` | ``follow_up``, whatever spelling the generation used."""
    if value is None or not value.strip():
        return None
    return value.strip().lower().replace("-", "_").replace(" ", "_")


class _Summary(_Item):
    id: RequiredIdent
    text: str
    messageRefs: Items[_IdRef] | None = None


def parse_summary(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    r = _Reader("summary", conversation_id)
    rows: list[Row] = []
    for _, item in r.items(_Summary, _wrapped(r, body, "summary"), "summary"):
        refs = item.messageRefs
        rows.append(
            {
                "conversation_id": conversation_id,
                "summary_id": item.id,
                "partition_date": partition_date,
                "source": SUMMARY_SOURCE_SYMBL,
                "text": item.text,
                "message_ids": None
                if refs is None
                else [ref.id for _, ref in present(refs) if ref.id is not None],
            }
        )
    return _dedupe(rows, "conversation_id", "summary_id")


class _NebulaOutput(_Item):
    text: str


class _NebulaAnswer(_Item):
    output: _NebulaOutput


def parse_nebula_summary(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    """One summary row from a Nebula ``/v1/model/generate`` response ``{model, output: {text}, stats}``."""
    r = _Reader("nebula_summary", conversation_id)
    decoded = _decode(r, body)
    if not isinstance(decoded, dict):
        raise r.error("body", f"expected an object with 'output', got {json_type(decoded)}")
    answer = r.one(_NebulaAnswer, decoded)
    text = answer.output.text.strip()
    if not text:
        raise r.error("output.text", "is empty")
    return [
        {
            "conversation_id": conversation_id,
            "summary_id": NEBULA_SUMMARY_ID,
            "partition_date": partition_date,
            "source": SUMMARY_SOURCE_NEBULA,
            "text": text,
            "message_ids": None,
        }
    ]


# --- registry -----------------------------------------------------------------------------------------------

Parser = Callable[[str, date, Any], Any]

PARSERS: dict[str, Parser] = {
    "messages": parse_messages,
    "topics": parse_topics,
    "action_items": parse_action_items,
    "follow_ups": parse_follow_ups,
    "questions": parse_questions,
    "entities": parse_entities,
    "analytics": parse_analytics,  # returns (members rows, metrics rows), in TABLES_BY_SIGNAL order
    "trackers": parse_trackers,
    "summary": parse_summary,
}

# Target table(s) per signal; a parser returning several lists returns them in this order.
TABLES_BY_SIGNAL: dict[str, tuple[str, ...]] = {
    "messages": ("symbl_messages",),
    "topics": ("symbl_topics",),
    "action_items": ("symbl_action_items",),
    "follow_ups": ("symbl_follow_ups",),
    "questions": ("symbl_questions",),
    "entities": ("symbl_entities",),
    "analytics": ("symbl_analytics_members", "symbl_analytics_metrics"),
    "trackers": ("symbl_tracker_hits",),
    "summary": ("symbl_summaries",),
}


def parse_signal(signal: str, conversation_id: str, partition_date: date, body: Any) -> dict[str, list[Row]]:
    """Rows per target table for one signal: the uniform entry point for callers that loop over signals."""
    try:
        parser = PARSERS[signal]
    except KeyError:
        raise ValueError(f"unknown Symbl signal {signal!r}; known: {sorted(PARSERS)}") from None
    result = parser(conversation_id, partition_date, body)
    tables = TABLES_BY_SIGNAL[signal]
    lists = result if isinstance(result, tuple) else (result,)
    return dict(zip(tables, lists, strict=True))
