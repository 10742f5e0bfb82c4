"""Response shapes as production sends them: the sandbox's analysis is shaped per response, not stored so.

- Insight authors (questions, action items, follow-ups) carry ``from: {id, name, userId}`` with the email in
  ``userId`` and no ``email`` key, as documented (``insight_from_email`` keeps the kinder shape with email).
- Entities come in one API generation per response: ``2023`` (``type, subType, category, matches``, the
  default), ``2022`` (``type, value, text, messageRefs``, custom entities as ``type: "custom"`` with
  ``customType``), or ``both`` (the compatibility form carrying every field of both).
"""

from __future__ import annotations

from typing import Any

ENTITY_GENERATIONS = ("2023", "2022", "both")
_INSIGHT_KEYS = ("questions", "action_items", "follow_ups")
_ENTITY_2022_KEYS = ("type", "value", "text", "messageRefs")
_ENTITY_2023_KEYS = ("id", "type", "subType", "category", "matches")


def insight_from(author: Any, with_email: bool) -> Any:
    if not isinstance(author, dict) or with_email:
        return author
    shaped = {k: v for k, v in author.items() if k != "email"}
    if author.get("email") and not author.get("userId"):
        shaped["userId"] = author["email"]
    return shaped


def entity(item: dict[str, Any], generation: str) -> dict[str, Any]:
    if generation == "both":
        return item
    if generation == "2023":
        return {k: item[k] for k in _ENTITY_2023_KEYS if k in item}
    shaped = {k: item[k] for k in _ENTITY_2022_KEYS if k in item}
    if item.get("category") == "Custom":
        # 2022 names custom entities `custom` and keeps the caller's type in `customType`.
        shaped["type"] = "custom"
        shaped["customType"] = item.get("customType") or item.get("type")
    return shaped


def shape(insights: dict[str, Any], *, insight_from_email: bool, entities_generation: str) -> dict[str, Any]:
    shaped = dict(insights)
    for key in _INSIGHT_KEYS:
        shaped[key] = [
            {**item, "from": insight_from(item.get("from"), insight_from_email)} if "from" in item else item
            for item in insights.get(key, [])
        ]
    shaped["entities"] = [entity(e, entities_generation) for e in insights.get("entities", [])]
    return shaped
