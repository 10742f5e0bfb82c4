"""Pure derivation of typed warehouse rows from verbatim Symbl Conversation API responses.

The pipeline keeps every response as it arrived (``raw.symbl_responses``) and re-derives the typed tables
from it with these functions, so a parser change costs no API calls and a bad parse never loses data.

Every parser has the signature ``(conversation_id, partition_date, body) -> list[dict]`` and returns rows
whose keys are exactly the target table's columns in ``orchestration.warehouse.schema`` order. Values are
typed for DuckDB: aware UTC ``datetime`` for TIMESTAMPTZ, ``float`` for DOUBLE, ``list[str]`` for VARCHAR[],
JSON columns as ``json.dumps`` strings. ``body`` may be the decoded JSON or its text (as read back from the
raw table).

Both response generations parse (see ``symbl-api.md``): 2022 and 2023+ entities, ``/trackers`` and
``/trackers-detected``. Missing optional fields become NULL and unknown fields are ignored; a field of the
wrong type raises ``ParseError`` naming the field and the item index, which the caller records as a
rejection of that signal for that conversation before moving on to the next one.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from orchestration.jsontypes import json_type

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


# --- field readers ------------------------------------------------------------------------------------------


class _Fields:
    """Typed reads of JSON values; every failure names the field path (``messages[3].from.name``)."""

    def __init__(self, signal: str, conversation_id: str) -> None:
        self.signal = signal
        self.conversation_id = conversation_id

    def error(self, path: str, problem: str) -> ParseError:
        return ParseError(self.signal, self.conversation_id, f"{path}: {problem}")

    def obj(self, value: Any, path: str) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(path, f"expected an object, got {json_type(value)}")
        return value

    def items(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(path, f"expected an array, got {json_type(value)}")
        return value

    def item_objects(self, value: Any, path: str) -> Iterable[tuple[str, dict[str, Any]]]:
        """(path, object) for each element of an array of objects; null elements are skipped."""
        for index, item in enumerate(self.items(value, path)):
            item_path = f"{path}[{index}]"
            if item is not None:
                yield item_path, self.obj(item, item_path) or {}

    def string(self, value: Any, path: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(path, f"expected a string, got {json_type(value)}")
        return value

    def required_string(self, value: Any, path: str) -> str:
        text = self.string(value, path)
        if text is None:
            raise self.error(path, "is required")
        return text

    def ident(self, value: Any, path: str) -> str | None:
        """An id: a string, or an integer that some generations send unquoted. Empty means absent."""
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(path, f"expected an id (string), got {json_type(value)}")
        return str(value)

    def required_ident(self, value: Any, path: str) -> str:
        ident = self.ident(value, path)
        if ident is None:
            raise self.error(path, "is required")
        return ident

    def number(self, value: Any, path: str) -> float | None:
        """A JSON number or a numeric string (``timeOffset``/``duration`` come both ways)."""
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise self.error(path, "expected a number, got boolean")
        if isinstance(value, int | float):
            result = float(value)
        elif isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                raise self.error(path, f"expected a number, got the string {_preview(value)}") from None
        else:
            raise self.error(path, f"expected a number, got {json_type(value)}")
        if not math.isfinite(result):
            raise self.error(path, f"expected a finite number, got {value!r}")
        return result

    def integer(self, value: Any, path: str) -> int | None:
        number = self.number(value, path)
        if number is None:
            return None
        if not number.is_integer():
            raise self.error(path, f"expected an integer, got {value!r}")
        return int(number)

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        # Query-string style booleans appear in Symbl's own option handling; accept them here too.
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self.error(path, f"expected a boolean, got {json_type(value)}")

    def timestamp(self, value: Any, path: str) -> datetime | None:
        """ISO-8601 with or without ``Z``/offset/fractional seconds; a naive time is taken as UTC."""
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.error(path, f"expected an ISO-8601 timestamp string, got {json_type(value)}")
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise self.error(path, f"not an ISO-8601 timestamp: {_preview(value)}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)

    def id_list(self, value: Any, path: str) -> list[str] | None:
        if value is None:
            return None
        return [
            ident
            for index, item in enumerate(self.items(value, path))
            if (ident := self.ident(item, f"{path}[{index}]")) is not None
        ]

    def ref_ids(self, value: Any, path: str) -> list[str] | None:
        """Ids out of an array of ``{id, ...}`` references (``messageRefs``)."""
        if value is None:
            return None
        return [
            ident
            for ref_path, ref in self.item_objects(value, path)
            if (ident := self.ident(ref.get("id"), f"{ref_path}.id")) is not None
        ]

    def sentiment(self, value: Any, path: str) -> tuple[float | None, str | None]:
        """(score, label) from ``{polarity: {score}, suggested}``; the label is derived when not suggested."""
        sentiment = self.obj(value, path)
        if sentiment is None:
            return None, None
        polarity = self.obj(sentiment.get("polarity"), f"{path}.polarity") or {}
        score = self.number(polarity.get("score"), f"{path}.polarity.score")
        label = self.string(sentiment.get("suggested"), f"{path}.suggested")
        label = label.strip().lower() if label and label.strip() else None
        if label is None and score is not None:
            label = sentiment_label(score)
        return score, label


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


def _decode(fields: _Fields, body: Any) -> Any:
    """Accept the decoded JSON or its text (the raw table's JSON column reads back as a string)."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", errors="strict")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except json.JSONDecodeError as exc:
            raise fields.error("body", f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    return body


def _wrapped(fields: _Fields, body: Any, key: str) -> list[Any]:
    """The list under a top-level wrapper key; a missing wrapper is an error (an error body, not data)."""
    decoded = _decode(fields, body)
    if not isinstance(decoded, dict):
        raise fields.error("body", f"expected an object with {key!r}, got {json_type(decoded)}")
    if key not in decoded:
        raise fields.error("body", f"has no {key!r} list")
    return fields.items(decoded[key], key)


# --- parsers, one per signal --------------------------------------------------------------------------------


def parse_messages(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    f = _Fields("messages", conversation_id)
    rows: list[Row] = []
    for p, item in f.item_objects(_wrapped(f, body, "messages"), "messages"):
        speaker = f.obj(item.get("from"), f"{p}.from") or {}
        text = f.required_string(item.get("text"), f"{p}.text")
        words = f.items(item.get("words"), f"{p}.words")
        score, label = f.sentiment(item.get("sentiment"), f"{p}.sentiment")
        rows.append(
            {
                "conversation_id": conversation_id,
                "message_id": f.required_ident(item.get("id"), f"{p}.id"),
                "partition_date": partition_date,
                "speaker_id": f.ident(speaker.get("id"), f"{p}.from.id"),
                "speaker_name": f.string(speaker.get("name"), f"{p}.from.name"),
                "speaker_email": f.string(speaker.get("email"), f"{p}.from.email"),
                "speaker_user_id": f.ident(speaker.get("userId"), f"{p}.from.userId"),
                "text": text,
                "start_time": f.timestamp(item.get("startTime"), f"{p}.startTime"),
                "end_time": f.timestamp(item.get("endTime"), f"{p}.endTime"),
                "time_offset_seconds": f.number(item.get("timeOffset"), f"{p}.timeOffset"),
                "duration_seconds": f.number(item.get("duration"), f"{p}.duration"),
                "sentiment_score": score,
                "sentiment_label": label,
                # words[] (verbose=true) is the recogniser's own count; without it, count whitespace tokens.
                "word_count": len(words) if words else len(text.split()),
            }
        )
    return _dedupe(rows, "conversation_id", "message_id")


def parse_topics(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    f = _Fields("topics", conversation_id)
    rows: list[Row] = []
    for p, item in f.item_objects(_wrapped(f, body, "topics"), "topics"):
        score, label = f.sentiment(item.get("sentiment"), f"{p}.sentiment")
        rows.append(
            {
                "conversation_id": conversation_id,
                "topic_id": f.required_ident(item.get("id"), f"{p}.id"),
                "partition_date": partition_date,
                "text": f.required_string(item.get("text"), f"{p}.text"),
                "score": f.number(item.get("score"), f"{p}.score"),
                "sentiment_score": score,
                "sentiment_label": label,
                "message_ids": f.id_list(item.get("messageIds"), f"{p}.messageIds"),
                "parent_refs": _json_column(f.items(item.get("parentRefs"), f"{p}.parentRefs") or None),
                "parent_topics": _parent_topics(f, item.get("parentRefs"), f"{p}.parentRefs"),
            }
        )
    return _dedupe(rows, "conversation_id", "topic_id")


def _parent_topics(f: _Fields, refs: Any, path: str) -> list[str] | None:
    """The texts of a topic's parents (``parentRefs[{type, text}]``), in order, without repeats."""
    if refs is None:
        return None
    texts: list[str] = []
    for rp, ref in f.item_objects(refs, path):
        text = f.string(ref.get("text"), f"{rp}.text")
        if text and text.strip() and text.strip() not in texts:
            texts.append(text.strip())
    return texts


def _parse_assignable_insights(
    signal: str, wrapper: str, id_column: str, conversation_id: str, partition_date: date, body: Any
) -> list[Row]:
    """Action items and follow-ups share one item shape (they differ only in ``type``)."""
    f = _Fields(signal, conversation_id)
    rows: list[Row] = []
    for p, item in f.item_objects(_wrapped(f, body, wrapper), wrapper):
        assignee = f.obj(item.get("assignee"), f"{p}.assignee") or {}
        rows.append(
            {
                "conversation_id": conversation_id,
                id_column: f.required_ident(item.get("id"), f"{p}.id"),
                "partition_date": partition_date,
                "text": f.required_string(item.get("text"), f"{p}.text"),
                "score": f.number(item.get("score"), f"{p}.score"),
                "definitive": f.boolean(item.get("definitive"), f"{p}.definitive"),
                "assignee_name": f.string(assignee.get("name"), f"{p}.assignee.name"),
                "assignee_email": f.string(assignee.get("email"), f"{p}.assignee.email"),
                "due_by": f.timestamp(item.get("dueBy"), f"{p}.dueBy"),
                **_author(f, item, p),
            }
        )
    return _dedupe(rows, "conversation_id", id_column)


def _author(f: _Fields, item: dict[str, Any], item_path: str) -> Row:
    """An insight's ``from``: Symbl documents ``{id, name, userId}`` with the email in ``userId``; messages (and
    older answers) carry ``email`` too. Either way the email lands in ``from_email``. (The row's tail, in the
    table's column order: from_name, from_email, message_ids, from_user_id.)"""
    path = f"{item_path}.from"
    speaker = f.obj(item.get("from"), path) or {}
    email = f.string(speaker.get("email"), f"{path}.email")
    user_id = f.ident(speaker.get("userId"), f"{path}.userId")
    if not email and user_id and _looks_like_email(user_id):
        email = user_id
    return {
        "from_name": f.string(speaker.get("name"), f"{path}.name"),
        "from_email": email,
        "message_ids": f.id_list(item.get("messageIds"), f"{item_path}.messageIds"),
        "from_user_id": user_id,
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
    f = _Fields("questions", conversation_id)
    rows: list[Row] = []
    for p, item in f.item_objects(_wrapped(f, body, "questions"), "questions"):
        rows.append(
            {
                "conversation_id": conversation_id,
                "question_id": f.required_ident(item.get("id"), f"{p}.id"),
                "partition_date": partition_date,
                "text": f.required_string(item.get("text"), f"{p}.text"),
                "score": f.number(item.get("score"), f"{p}.score"),
                **_author(f, item, p),
            }
        )
    return _dedupe(rows, "conversation_id", "question_id")


def parse_entities(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    """One row per occurrence: per ``matches[] x messageRefs[]`` (2023+) or per ``messageRefs[]`` (2022).

    A response that carries both shapes on one entity (the compatibility form) is read through ``matches``
    only, so an occurrence is never counted twice. An entity or match with no references still yields one
    row with NULL message fields: it was detected, only its location is unknown.
    """
    f = _Fields("entities", conversation_id)
    rows: list[Row] = []

    for p, entity in f.item_objects(_wrapped(f, body, "entities"), "entities"):
        raw_type = f.required_string(entity.get("type"), f"{p}.type")
        generation = "2023" if entity.get("matches") is not None or "category" in entity else "2022"
        # 2022 custom entities put their own type in `customType`; it plays the part of the 2023 `subType`.
        sub_type = f.string(entity.get("subType"), f"{p}.subType")
        custom_type = f.string(entity.get("customType"), f"{p}.customType")
        category = f.string(entity.get("category"), f"{p}.category")
        entity_type, sub_type, category = _entity_vocabulary(
            raw_type, sub_type, custom_type, category, f.string(entity.get("value"), f"{p}.value")
        )

        # (value, detected value, refs, refs path) per match.
        matches: list[tuple[str | None, str | None, Any, str]] = []
        if entity.get("matches") is not None:
            for mp, match in f.item_objects(entity.get("matches"), f"{p}.matches"):
                matches.append(
                    (
                        f.string(match.get("value"), f"{mp}.value"),
                        f.string(match.get("detectedValue"), f"{mp}.detectedValue"),
                        match.get("messageRefs"),
                        f"{mp}.messageRefs",
                    )
                )
        if not matches:
            # 2022 shape (or a 2023 entity with no matches): `value` is the normalised value, `text` the words
            # as spoken, which is what 2023 calls `detectedValue`.
            matches.append(
                (
                    f.string(entity.get("value"), f"{p}.value"),
                    f.string(entity.get("text"), f"{p}.text"),
                    entity.get("messageRefs"),
                    f"{p}.messageRefs",
                )
            )

        for value, detected, refs, refs_path in matches:
            # No references: one row whose message fields read as NULL from an empty reference.
            ref_items = list(f.item_objects(refs, refs_path)) or [(refs_path, {})]
            for ref_path, ref in ref_items:
                message_id = f.ident(ref.get("id"), f"{ref_path}.id")
                offset = f.integer(ref.get("offset"), f"{ref_path}.offset")
                rows.append(
                    {
                        "conversation_id": conversation_id,
                        "entity_key": stable_key(
                            entity_type,
                            sub_type,
                            value if value is not None else detected,
                            message_id,
                            offset,
                        ),
                        "partition_date": partition_date,
                        "entity_type": entity_type,
                        "sub_type": sub_type,
                        "category": category,
                        "value": value,
                        "detected_value": detected,
                        "message_id": message_id,
                        "message_text": f.string(ref.get("text"), f"{ref_path}.text"),
                        "char_offset": offset,
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


def parse_analytics(conversation_id: str, partition_date: date, body: Any) -> tuple[list[Row], list[Row]]:
    """(members rows, metrics rows). Either list may be absent from a response: absent means no rows."""
    f = _Fields("analytics", conversation_id)
    decoded = _decode(f, body)
    if not isinstance(decoded, dict):
        raise f.error("body", f"expected an object with 'members'/'metrics', got {json_type(decoded)}")

    members: list[Row] = []
    for p, member in f.item_objects(decoded.get("members"), "members"):
        pace = f.obj(member.get("pace"), f"{p}.pace") or {}
        talk = f.obj(member.get("talkTime"), f"{p}.talkTime") or {}
        listen = f.obj(member.get("listenTime"), f"{p}.listenTime") or {}
        overlap = f.obj(member.get("overlap"), f"{p}.overlap")
        user_id = f.ident(member.get("userId"), f"{p}.userId")
        email = f.string(member.get("email"), f"{p}.email")
        name = f.string(member.get("name"), f"{p}.name")
        # The key column is NOT NULL; a member without an id is still known by its user id, email or name.
        member_id = f.ident(member.get("id"), f"{p}.id") or user_id or email or name
        if member_id is None:
            raise f.error(f"{p}.id", "is required (no userId, email or name to stand in for it)")
        members.append(
            {
                "conversation_id": conversation_id,
                "member_id": member_id,
                "partition_date": partition_date,
                "name": name,
                "email": email,
                "user_id": user_id,
                "pace_wpm": f.number(pace.get("wpm"), f"{p}.pace.wpm"),
                "talk_time_seconds": f.number(talk.get("seconds"), f"{p}.talkTime.seconds"),
                "talk_time_percentage": f.number(talk.get("percentage"), f"{p}.talkTime.percentage"),
                "listen_time_seconds": f.number(listen.get("seconds"), f"{p}.listenTime.seconds"),
                "listen_time_percentage": f.number(listen.get("percentage"), f"{p}.listenTime.percentage"),
                "overlap_seconds": _overlap_seconds(f, overlap, f"{p}.overlap"),
            }
        )

    metrics: list[Row] = []
    for p, metric in f.item_objects(decoded.get("metrics"), "metrics"):
        metrics.append(
            {
                "conversation_id": conversation_id,
                "metric_type": f.required_string(metric.get("type"), f"{p}.type"),
                "partition_date": partition_date,
                "seconds": f.number(metric.get("seconds"), f"{p}.seconds"),
                "percent": f.number(metric.get("percent"), f"{p}.percent"),
            }
        )
    return (
        _dedupe(members, "conversation_id", "member_id"),
        _dedupe(metrics, "conversation_id", "metric_type"),
    )


def _overlap_seconds(f: _Fields, overlap: dict[str, Any] | None, path: str) -> float | None:
    """Symbl sends ``overlap: {}`` for a member who never talked over anyone: that is 0 s, not unknown."""
    if overlap is None:
        return None
    if not overlap:
        return 0.0
    for key in ("seconds", "overlapDuration", "duration"):
        if overlap.get(key) is not None:
            return f.number(overlap[key], f"{path}.{key}")
    return None


def parse_trackers(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    """One row per tracker match reference (message or insight).

    The body is a bare array (both ``/trackers`` and ``/trackers-detected``); ``{"trackers": [...]}`` is
    tolerated too.
    """
    f = _Fields("trackers", conversation_id)
    decoded = _decode(f, body)
    if isinstance(decoded, dict) and "trackers" in decoded:
        decoded = decoded["trackers"]
    if not isinstance(decoded, list):
        raise f.error("body", f"expected an array of trackers, got {json_type(decoded)}")

    rows: list[Row] = []
    for p, tracker in f.item_objects(decoded, "trackers"):
        tracker_id = f.ident(tracker.get("id"), f"{p}.id")
        tracker_name = f.required_string(tracker.get("name"), f"{p}.name")
        for mp, match in f.item_objects(tracker.get("matches"), f"{p}.matches"):
            match_type = f.string(match.get("type"), f"{mp}.type")
            value = f.string(match.get("value"), f"{mp}.value")
            refs = [
                ("message", rp, ref)
                for rp, ref in f.item_objects(match.get("messageRefs"), f"{mp}.messageRefs")
            ]
            refs += [
                ("insight", rp, ref)
                for rp, ref in f.item_objects(match.get("insightRefs"), f"{mp}.insightRefs")
            ]
            # A match without references was still detected: keep it as one hit with an unknown location.
            ref_rows: list[tuple[str | None, str, dict[str, Any]]] = [*refs] or [(None, mp, {})]
            for ref_type, rp, ref in ref_rows:
                ref_id = f.ident(ref.get("id"), f"{rp}.id")
                offset = f.integer(ref.get("offset"), f"{rp}.offset")
                insight_type = f.string(ref.get("type"), f"{rp}.type") if ref_type == "insight" else None
                rows.append(
                    {
                        "conversation_id": conversation_id,
                        "hit_key": stable_key(tracker_id or tracker_name, value, ref_type, ref_id, offset),
                        "partition_date": partition_date,
                        "tracker_id": tracker_id,
                        "tracker_name": tracker_name,
                        "match_type": match_type,
                        "matched_value": value,
                        "ref_type": ref_type,
                        "ref_id": ref_id,
                        "ref_text": f.string(ref.get("text"), f"{rp}.text"),
                        "char_offset": offset,
                        "is_exact": None if offset is None else offset != -1,
                        "insight_type": _insight_type(insight_type),
                    }
                )
    return _dedupe(rows, "conversation_id", "hit_key")


def _insight_type(value: str | None) -> str | None:
    """``question`` | ``action_item`` | ``follow_up``, whatever spelling the generation used."""
    if value is None or not value.strip():
        return None
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def parse_summary(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    f = _Fields("summary", conversation_id)
    rows: list[Row] = []
    for p, item in f.item_objects(_wrapped(f, body, "summary"), "summary"):
        rows.append(
            {
                "conversation_id": conversation_id,
                "summary_id": f.required_ident(item.get("id"), f"{p}.id"),
                "partition_date": partition_date,
                "source": SUMMARY_SOURCE_SYMBL,
                "text": f.required_string(item.get("text"), f"{p}.text"),
                "message_ids": f.ref_ids(item.get("messageRefs"), f"{p}.messageRefs"),
            }
        )
    return _dedupe(rows, "conversation_id", "summary_id")


def parse_nebula_summary(conversation_id: str, partition_date: date, body: Any) -> list[Row]:
    """One summary row from a Nebula ``/v1/model/generate`` response ``{model, output: {text}, stats}``."""
    f = _Fields("nebula_summary", conversation_id)
    decoded = _decode(f, body)
    if not isinstance(decoded, dict):
        raise f.error("body", f"expected an object with 'output', got {json_type(decoded)}")
    output = f.obj(decoded.get("output"), "output")
    if output is None:
        raise f.error("output", "is required")
    text = f.required_string(output.get("text"), "output.text").strip()
    if not text:
        raise f.error("output.text", "is empty")
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
