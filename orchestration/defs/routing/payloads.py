"""What routing sends: the Slack risk-alert message and the CRM properties of a conversation (pure functions).

Every figure comes from the dbt marts, so Slack and the CRM show the numbers the scorecards are made of, in their
units: one row of ``marts.fct_conversations`` per conversation (talk ratio, duration, rep, the sales-discovery
Kit's bricks as typed columns) and, for calls the product-feedback Kit scored, its row of the pivot
``intermediate.int_product_feedback_bricks_pivoted``. Nothing is recomputed here. Slack gets the values formatted
for people; the CRM gets HubSpot's wire format (every value a string, lists joined with ``;`` as multi-select
properties are, a cleared value as ``""``), which is also what is hashed to decide whether a conversation changed
since its last sync.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

# Slack's limits (https://api.slack.com/reference/block-kit/blocks): header text 150, section text 3000,
# section field text 2000, at most 10 fields per section.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
QUOTE_LIMIT = 300

BrickValue = bool | float | int | str | list[str] | None


@dataclass(frozen=True)
class BrickPivot:
    """A dbt model that pivots one Kit's bricks into typed columns, as routing reads it.

    ``kit_code`` must be the Kit the model pivots (its dbt var's value): it prefixes the CRM properties
    (``slsdisc1_risk_flag``), which keep the brick keys as names so the CRM portal's properties stay the same.
    ``columns`` is model column -> brick key, in the order the Slack score card shows them.
    """

    relation: str
    kit_code: str
    columns: Mapping[str, str]


# var sales_discovery_kit_code in dbt_project.yml; the columns of fct_conversations (int_discovery_bricks_pivoted).
DISCOVERY = BrickPivot(
    relation="marts.fct_conversations",
    kit_code="SLSDISC1",
    columns={
        "discovery_depth": "discovery_depth",
        "sentiment_score": "sentiment_score",
        "budget_confirmed": "budget_confirmed",
        "next_step_confirmed": "next_step_confirmed",
        "competitor_mentioned": "competitor_mentioned",
        "risk_flag": "risk_flag",
    },
)
# var product_feedback_kit_code (default in the model); feature_area is the feedback_feature_area brick, lower-cased
# ('none' when the Kit named no area), as product_feedback_by_feature counts it.
PRODUCT_FEEDBACK = BrickPivot(
    relation="intermediate.int_product_feedback_bricks_pivoted",
    kit_code="PRODFDB1",
    columns={
        "feature_area": "feedback_feature_area",
        "feature_satisfaction": "feature_satisfaction",
        "churn_signal_strength": "churn_signal_strength",
        "bug_report_severity": "bug_report_severity",
        "feature_request_urgency": "feature_request_urgency",
        "features_mentioned": "features_mentioned",
    },
)
# The score card of a risk alert: fct_conversations columns beside the flag, in this order. talk_ratio is the
# mart's fraction 0..1 (rep talk seconds / all talk seconds), shown as the scorecards show it.
ALERT_CARD_COLUMNS = ("talk_ratio", *(c for c in DISCOVERY.columns if c != "risk_flag"))


def mart_value(value: Any) -> BrickValue:
    """A mart cell as routing sends it: DECIMAL as float, lists as lists of strings, the rest unchanged."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return value


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
    rep_name: str | None
    rep_email: str | None
    start_time: datetime | None
    duration_seconds: float | None
    # The conversation's fct_conversations figures (column -> value, ALERT_CARD_COLUMNS), the flag's score card.
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
    rep = alert.rep_name or alert.rep_email or "unknown rep"
    title = alert.title or alert.recording_id
    text = f"Deal risk flagged: {account} / {title} (rep {rep})"
    facts = [
        ("Rep", f"{rep} ({alert.rep_email})" if alert.rep_email and alert.rep_name else rep),
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
    conversation: Mapping[str, Any], feedback: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The ``calls`` object of one scored conversation: its ``marts.fct_conversations`` row, and its row of the
    product-feedback pivot when that Kit scored it.

    ``convo_intel_rep_talk_ratio`` is the mart's ``talk_ratio``: a fraction 0..1, the same number as the
    scorecards' (it used to be Symbl's talk-time percentage of the host, 0..100, of a different definition);
    like every number it goes on the wire to 6 decimals (``crm_wire_value``). Bricks are named
    ``<kit>_<brick key>`` (``slsdisc1_risk_flag``); those of a Kit that did not score the call are absent.
    """
    duration = mart_value(conversation.get("duration_seconds"))
    properties: dict[str, Any] = {
        "hs_timestamp": conversation.get("started_at"),
        "hs_call_title": conversation.get("title"),
        "hs_call_duration": None if duration is None else round(float(duration) * 1000),  # milliseconds
        "hs_call_status": "COMPLETED",
        "convo_intel_recording_id": conversation.get("recording_id"),
        "convo_intel_rep_name": conversation.get("rep_name"),
        "convo_intel_rep_email": conversation.get("rep_email"),
        "convo_intel_account_id": conversation.get("account_id"),
        "convo_intel_account_name": conversation.get("account_name"),
        "convo_intel_call_type": conversation.get("call_type"),
        "convo_intel_rep_talk_ratio": mart_value(conversation.get("talk_ratio")),
    }
    scored = [
        (DISCOVERY, conversation if conversation.get("has_discovery_scores") else None),
        (PRODUCT_FEEDBACK, feedback),
    ]
    for pivot, row in scored:
        if row is None:
            continue
        for column, brick in pivot.columns.items():
            properties[crm_property_name(pivot.kit_code, brick)] = mart_value(row.get(column))
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
