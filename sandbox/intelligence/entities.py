"""Entities (only with `detectEntities`): people, organisations, money, dates, emails, phone numbers,
percentages, plus the caller's custom entities.

Every item carries both response generations:
- 2022: ``{type, value, text, messageRefs[{id, text, offset}]}`` (+ ``customType`` for custom entities),
- 2023: ``{id, type, subType, category: "Managed"|"Custom", matches[{value, detectedValue, messageRefs[{id,
  startTime, endTime, text, offset}]}]}``.
One item per (type, subType, normalised value); ``matches`` has one entry per distinct surface form. For
custom entities ``type`` is the caller's ``customType`` and ``subType`` its ``value`` (the 2023 shape); 2022
readers find the same string in ``customType``.

Organisations come from three signals, none of them a fixed list of names: a legal-form suffix ("Globex
Inc.", "Initech GmbH"), the company part of a participant's email domain when it is said aloud
("globex.example" -> "Globex"), and a capitalised name introduced by "from/at/with/for/join" that is not a
person, weekday or month.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sandbox.intelligence.dates import find_dates
from sandbox.intelligence.members import Roster
from sandbox.intelligence.segmentation import Message
from sandbox.intelligence.textmatch import find_phrase
from sandbox.intelligence.timestamps import Clock

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?<!\.)")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]\d{3,4}(?![\w])"
)
_SCALE_WORDS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "mil": 1e6, "million": 1e6, "b": 1e9,
                "bn": 1e9, "billion": 1e9}  # fmt: skip
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}
_CURRENCY_WORDS = {"dollar": "USD", "dollars": "USD", "usd": "USD", "bucks": "USD", "euro": "EUR",
                   "euros": "EUR", "eur": "EUR", "pound": "GBP", "pounds": "GBP", "gbp": "GBP"}  # fmt: skip
_AMOUNT = r"\d+(?:,\d{3})*(?:\.\d+)?"
_SCALE = r"(?:\s?(?:thousand|million|billion|mil|mm|bn|k|m|b)\b)?"
_CURRENCY_WORD_RE = "|".join(sorted(_CURRENCY_WORDS, key=len, reverse=True))
_MONEY = re.compile(
    rf"(?P<sym>[$€£])\s?(?P<a1>{_AMOUNT})(?P<s1>{_SCALE})"
    rf"|\b(?P<cw1>usd|eur|gbp)\s?(?P<a2>{_AMOUNT})(?P<s2>{_SCALE})"
    rf"|\b(?P<a3>{_AMOUNT})(?P<s3>{_SCALE})\s?(?P<cw2>{_CURRENCY_WORD_RE})\b"
    rf"|\b(?P<a4>\d+(?:\.\d+)?)(?P<s4>k)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(rf"\b(?P<amount>{_AMOUNT})\s?(?:%|percent\b|per\s+cent\b)", re.IGNORECASE)
_ORG_SUFFIX = re.compile(
    r"\b(?P<name>(?:[A-Z][\w&'-]*\s+){0,3}?[A-Z][\w&'-]*),?\s+"
    r"(?P<suffix>Inc|Incorporated|Corp|Corporation|LLC|L\.L\.C|Ltd|Limited|GmbH|AG|SA|S\.A|PLC|plc|Co|Company|"
    r"LLP|BV|B\.V|NV|Pty|SE|Group|Holdings|Technologies|Labs|Systems|Partners)\b\.?"
)
_ORG_CONTEXT = re.compile(
    r"\b(?:from|at|with|for|join(?:ed)?|joining|over\s+at|partner\s+with|customers?\s+like)\s+"
    r"(?P<name>[A-Z][\w&'-]+(?:\s+[A-Z][\w&'-]+){0,2})"
)
_NOT_ORG_WORDS = (
    {d.lower() for d in calendar.day_name}
    | {m.lower() for m in calendar.month_name if m}
    | {
        "i",
        "the",
        "a",
        "an",
        "this",
        "that",
        "our",
        "your",
        "my",
        "we",
        "you",
        "they",
        "q1",
        "q2",
        "q3",
        "q4",
    }
)
_TITLED_PERSON = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+[A-Z][\w'-]+")
_PUBLIC_EMAIL_DOMAINS = frozenset(
    {"gmail", "yahoo", "outlook", "hotmail", "icloud", "proton", "protonmail", "aol"}
)


@dataclass(frozen=True)
class EntityMention:
    type: str
    sub_type: str
    category: str  # "Managed" | "Custom"
    value: str  # normalised
    text: str  # as said
    message: Message
    offset: int
    custom_type: str | None = None


def find_entities(
    messages: Sequence[Message],
    roster: Roster,
    start_time: datetime,
    custom_entities: Iterable[Mapping[str, object]],
    make_id: Callable[[str, str, str], str],
) -> list[dict[str, object]]:
    mentions: list[EntityMention] = []
    org_names = _organisations_from_emails(roster)
    customs = list(custom_entities)
    for message in messages:
        mentions.extend(_managed_mentions(message, roster, start_time, org_names))
        mentions.extend(_custom_mentions(message, customs))
    return _group(mentions, Clock(start_time), make_id)


def _managed_mentions(
    message: Message, roster: Roster, start_time: datetime, org_names: Sequence[str]
) -> Iterable[EntityMention]:
    text = message.text
    taken: list[tuple[int, int]] = []

    def claim(start: int, end: int) -> bool:
        """Each character belongs to one managed entity: an email's digits are not also a phone number."""
        if any(start < e and s < end for s, e in taken):
            return False
        taken.append((start, end))
        return True

    def mention(kind: str, sub: str, value: str, start: int, end: int) -> EntityMention:
        return EntityMention(kind, sub, "Managed", value, text[start:end], message, start)

    for m in _EMAIL.finditer(text):
        if claim(m.start(), m.end()):
            yield mention("email", "email_address", m.group(0).lower(), m.start(), m.end())
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 10 <= len(digits) <= 15 and claim(m.start(), m.end()):
            prefix = "+" if m.group(0).startswith("+") else ""
            yield mention("phone_number", "phone_number", prefix + digits, m.start(), m.end())
    for m in _MONEY.finditer(text):
        if claim(m.start(), m.end()):
            yield mention("money", "amount", _money_value(m), m.start(), m.end())
    for m in _PERCENT.finditer(text):
        if claim(m.start(), m.end()):
            amount = float(m.group("amount").replace(",", ""))
            yield mention("percentage", "percent", f"{_number(amount)}%", m.start(), m.end())
    for d in find_dates(text, start_time.date()):
        if claim(d.start, d.end):
            yield mention("date", "date", d.value.isoformat(), d.start, d.end)
    for member, start, end in roster.named_in(text):
        if claim(start, end):
            yield mention("person", "name", member.name, start, end)
    for m in _TITLED_PERSON.finditer(text):
        if claim(m.start(), m.end()):
            yield mention("person", "name", m.group(0), m.start(), m.end())
    for start, end, name in _organisation_spans(text, org_names, roster):
        if claim(start, end):
            yield mention("organization", "company", name, start, end)


def _organisation_spans(
    text: str, org_names: Sequence[str], roster: Roster
) -> Iterable[tuple[int, int, str]]:
    for m in _ORG_SUFFIX.finditer(text):
        name = m.group("name")
        if name.split()[0].lower() not in _NOT_ORG_WORDS:
            yield m.start(), m.end(), f"{name} {m.group('suffix')}"
    for name in org_names:
        for start, end in find_phrase(name, text):
            yield start, end, name
    for m in _ORG_CONTEXT.finditer(text):
        name = m.group("name")
        words = name.split()
        if (
            words[0].lower() in _NOT_ORG_WORDS
            or roster.by_name(name)
            or any(roster.by_name(w) for w in words)
        ):
            continue
        yield m.start("name"), m.end("name"), name


def _organisations_from_emails(roster: Roster) -> list[str]:
    """Company names implied by participants' email domains ("hank@globex.example" -> "Globex")."""
    names: list[str] = []
    for member in roster.members:
        if not member.email or "@" not in member.email:
            continue
        label = member.email.rsplit("@", 1)[1].split(".")[0]
        if len(label) > 2 and label.lower() not in _PUBLIC_EMAIL_DOMAINS:
            name = label.replace("-", " ").title()
            if name not in names:
                names.append(name)
    return names


def _custom_mentions(message: Message, customs: Sequence[Mapping[str, object]]) -> Iterable[EntityMention]:
    """Case-insensitive whole-word matches of each custom entity's `text` (its `value` when `text` is
    absent)."""
    for custom in customs:
        custom_type = str(custom.get("customType") or custom.get("type") or "").strip()
        value = str(custom.get("value") or custom.get("subType") or custom.get("text") or "").strip()
        phrase = str(custom.get("text") or value).strip()
        if not custom_type or not phrase:
            continue
        for start, end in find_phrase(phrase, message.text):
            yield EntityMention(
                custom_type, value, "Custom", value, message.text[start:end], message, start, custom_type
            )


def _group(
    mentions: Sequence[EntityMention], clock: Clock, make_id: Callable[[str, str, str], str]
) -> list[dict[str, object]]:
    groups: dict[tuple[str, str, str, str], list[EntityMention]] = {}
    for mention in sorted(mentions, key=lambda m: (m.message.index, m.offset)):
        key = (mention.category, mention.type, mention.sub_type, mention.value.lower())
        groups.setdefault(key, []).append(mention)
    items: list[dict[str, object]] = []
    for (category, kind, sub_type, _), group in groups.items():
        first = group[0]
        by_surface: dict[str, list[EntityMention]] = {}
        for mention in group:
            by_surface.setdefault(mention.text.lower(), []).append(mention)
        item: dict[str, object] = {
            "id": make_id(category, kind, f"{sub_type}:{first.value.lower()}"),
            "type": kind,
            "subType": sub_type,
            "category": category,
            "value": first.value,
            "text": first.text,
            "messageRefs": [_ref(m, clock, with_times=False) for m in group],
            "matches": [
                {
                    "value": first.value,
                    "detectedValue": same[0].text,
                    "messageRefs": [_ref(m, clock, with_times=True) for m in same],
                }
                for same in by_surface.values()
            ],
        }
        if first.custom_type is not None:
            item["customType"] = first.custom_type
        items.append(item)
    return items


def _ref(mention: EntityMention, clock: Clock, *, with_times: bool) -> dict[str, object]:
    ref: dict[str, object] = {
        "id": mention.message.id,
        "text": mention.message.text,
        "offset": mention.offset,
    }
    if with_times:
        ref["startTime"] = clock.iso(mention.message.start)
        ref["endTime"] = clock.iso(mention.message.end)
    return ref


def _money_value(m: re.Match[str]) -> str:
    groups = m.groupdict()
    for amount_key, scale_key, currency in (
        ("a1", "s1", _CURRENCY_SYMBOLS.get(groups["sym"] or "", "")),
        ("a2", "s2", (groups["cw1"] or "").upper()),
        ("a3", "s3", _CURRENCY_WORDS.get((groups["cw2"] or "").lower(), "")),
        (
            "a4",
            "s4",
            "USD",
        ),  # a bare "50k" in a sales call is an amount of the account's currency; assume USD
    ):
        if groups[amount_key]:
            amount = float(groups[amount_key].replace(",", ""))
            scale = (groups[scale_key] or "").strip().lower()
            amount *= _SCALE_WORDS.get(scale, 1.0)
            return f"{_number(amount)} {currency}"
    raise ValueError("money pattern matched without an amount")  # pragma: no cover - every branch has one


def _number(amount: float) -> str:
    """50000.0 -> "50000", 1200000.5 -> "1200000.5"."""
    return str(int(amount)) if amount == int(amount) else f"{amount:.2f}".rstrip("0").rstrip(".")
