"""What routing sends: the Slack risk-alert message and the CRM properties of a conversation (pure functions).

Typed brick values are read back from the long-form ``raw.semarize_bricks`` row (one typed column per value
type). Slack gets them formatted for people; the CRM gets HubSpot's wire format (every value a string, lists
joined with ``;`` as multi-select properties are, a cleared value as ``""``), which is also what is hashed to
decide whether a conversation changed since its last sync.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

# Slack's limits (https://api.slack.com/reference/block-kit/blocks): header text 150, section text 3000,
# section field text 2000, at most 10 fields per section.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
QUOTE_LIMIT = 300

BrickValue = bool | float | int | str | list[str] | None


def brick_value(row: Mapping[str, Any]) -> BrickValue:
    """The typed value of one ``raw.semarize_bricks`` row."""
    kind = row.get("value_type")
    if kind == "boolean":
        return None if row.get("value_boolean") is None else bool(row["value_boolean"])
    if kind == "number":
        number = row.get("value_number")
        if number is None:
            return None
        return int(number) if float(number).is_integer() else float(number)
    if kind == "string":
        return row.get("value_string")
    if kind == "string_list":
        return list(row.get("value_list") or [])
    return None


@dataclass(frozen=True)
class RiskAlert:
    """A conversation whose risk brick fired, with what a reader needs to act on it."""

    conversation_id: str
    recording_id: str
    partition_date: date
    run_id: str
    kit_code: str
    kit_version_id: str | None
    confidence: float | None
    reason: str | None
    evidence: Sequence[str]
    title: str | None
    account_name: str | None
    host_name: str | None
    host_email: str | None
    start_time: datetime | None
    duration_seconds: float | None
    # The run's other bricks (key -> typed value), shown as the score card next to the flag.
    values: Mapping[str, BrickValue] = field(default_factory=dict)

    def link_fields(self) -> dict[str, str]:
        """Placeholders a conversation-URL template may use."""
        return {
            "conversation_id": self.conversation_id,
            "recording_id": self.recording_id,
            "partition_date": self.partition_date.isoformat(),
            "kit_code": self.kit_code,
            "run_id": self.run_id,
        }


def conversation_url(template: str, alert: RiskAlert) -> str:
    """Fill the template; an unknown placeholder is a configuration error, reported with the allowed names."""
    try:
        return template.format(**alert.link_fields())
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join("{" + k + "}" for k in alert.link_fields())
        raise ValueError(
            f"conversation URL template {template!r} is invalid ({exc}); use {allowed}"
        ) from None


def risk_alert_message(alert: RiskAlert, url: str, max_quotes: int = 3) -> dict[str, Any]:
    """An incoming-webhook payload: ``text`` (the notification line) and Block Kit ``blocks``."""
    account = alert.account_name or "unknown account"
    rep = alert.host_name or alert.host_email or "unknown rep"
    title = alert.title or alert.recording_id
    text = f"Deal risk flagged: {account} / {title} (rep {rep})"
    facts = [
        ("Rep", f"{rep} ({alert.host_email})" if alert.host_email and alert.host_name else rep),
        ("Account", account),
        ("Call", title),
        ("When", _when(alert.start_time, alert.duration_seconds)),
        (
            "Risk flag",
            "yes" + (f" (confidence {alert.confidence:.2f})" if alert.confidence is not None else ""),
        ),
    ]
    scores = [(_label(key), _human(value)) for key, value in alert.values.items()]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(f"Deal risk: {account}", HEADER_LIMIT)},
        },
        {"type": "section", "fields": [_field(name, value) for name, value in facts]},
    ]
    if scores:
        blocks.append(
            {"type": "section", "fields": [_field(name, value) for name, value in scores[:MAX_FIELDS]]}
        )
    if alert.reason:
        blocks.append(_section(f"*Why*\n{_escape(alert.reason)}"))
    quotes = [q for q in alert.evidence if q and q.strip()][:max_quotes]
    if quotes:
        lines = "\n".join(f"> {_escape(_cut(q.strip(), QUOTE_LIMIT))}" for q in quotes)
        blocks.append(_section(f"*Evidence*\n{lines}"))
    # Characters that would end Slack's <url|label> syntax early are percent-encoded.
    safe_url = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    blocks.append(_section(f"<{safe_url}|Open the conversation>"))
    version = f" ({alert.kit_version_id})" if alert.kit_version_id else ""
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _escape(
                        f"conversation {alert.conversation_id} · kit {alert.kit_code}{version} · run {alert.run_id}"
                    ),
                }
            ],
        }
    )
    return {"text": _escape(text), "blocks": blocks}


def crm_property_name(*parts: str) -> str:
    """A HubSpot internal property name: lowercase letters, digits and underscores."""
    name = re.sub(r"[^a-z0-9_]+", "_", "_".join(parts).lower()).strip("_")
    return name if name[:1].isalpha() else f"p_{name}"


def crm_wire_value(value: Any) -> str:
    """HubSpot's wire format for a property value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(round(value, 6))
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def crm_call_properties(
    conversation: Mapping[str, Any],
    bricks: Mapping[str, Mapping[str, BrickValue]],
    rep_talk_ratio: float | None,
) -> dict[str, str]:
    """The ``calls`` object of one scored conversation.

    ``conversation`` is its ``raw.recordings`` row; ``bricks`` is kit code -> brick key -> typed value. Bricks are
    prefixed with their kit code (``slsdisc1_risk_flag``) so that two kits can share brick names.
    """
    duration = conversation.get("duration_seconds")
    properties: dict[str, Any] = {
        "hs_timestamp": conversation.get("start_time"),
        "hs_call_title": conversation.get("title"),
        "hs_call_duration": None if duration is None else round(duration * 1000),  # milliseconds
        "hs_call_status": "COMPLETED",
        "convo_intel_recording_id": conversation.get("recording_id"),
        "convo_intel_rep_name": conversation.get("host_name"),
        "convo_intel_rep_email": conversation.get("host_email"),
        "convo_intel_account_id": conversation.get("account_id"),
        "convo_intel_account_name": conversation.get("account_name"),
        "convo_intel_call_type": conversation.get("call_type"),
        "convo_intel_rep_talk_ratio": None if rep_talk_ratio is None else round(rep_talk_ratio, 1),
    }
    for kit_code, values in sorted(bricks.items()):
        for key, value in sorted(values.items()):
            properties[crm_property_name(kit_code, key)] = value
    return {name: crm_wire_value(value) for name, value in properties.items()}


def properties_hash(properties: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(properties, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --- Slack formatting ---------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(markdown, SECTION_LIMIT)}}


def _field(name: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(f"*{_escape(name)}*\n{_escape(value)}", FIELD_LIMIT)}


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _human(value: BrickValue) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return str(value)


def _when(start: datetime | None, duration_seconds: float | None) -> str:
    if start is None:
        return "unknown"
    when = start.strftime("%Y-%m-%d %H:%M %Z").strip()
    return f"{when}, {round(duration_seconds / 60)} min" if duration_seconds else when
