"""Action items and follow-ups: commitments ("I'll send ...") and requests ("Can you loop in ...?").

Detection is a small grammar over each sentence: a subject (I, we, let's, you, a participant's name) followed
by a modal ("'ll", "will", "going to", "need to", "should", ...) and an action verb. The rest of the sentence
from the verb on is the action phrase. Verbs of thinking, perceiving and talking-within-the-call ("think",
"see", "talk about") are not actions.

Follow-ups are a category of action items (as Symbl defines them): an action item whose phrase is about
re-connecting (schedule a follow-up, circle back, send a recap, check in, set up a call). Such an item is
listed in BOTH `/action-items` (so that list is complete) and `/follow-ups` (the filtered view), under
different ids and `type`s; consumers counting "all commitments" should count action items only.

`definitive` is false when the commitment is hedged: a tentative modal (could, should, might, would like to,
can for an offer, try to) or a hedge word (maybe, probably, hopefully, if possible ...). Requests ("can you",
"please") are definitive unless hedged by words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import cast

from sandbox.intelligence.assignees import addressee
from sandbox.intelligence.dates import DateMention, find_dates
from sandbox.intelligence.members import Member, Roster
from sandbox.intelligence.segmentation import Message
from sandbox.intelligence.timestamps import iso_utc

_ADVERBS = (
    r"(?:(?:also|just|definitely|certainly|probably|maybe|then|quickly|still|actually|please|"
    r"go\s+ahead\s+and|make\s+sure\s+to|try\s+to|try\s+and)\s+)*"
)
_VERB = r"(?P<verb>[a-z]+)"
_FIRM_MODALS = (
    r"'ll\s+need\s+to|'ll\s+have\s+to|'ll|will|shall|am\s+going\s+to|'m\s+going\s+to|are\s+going\s+to|"
    r"'re\s+going\s+to|going\s+to|gonna|need\s+to|have\s+to|must|plan\s+to|intend\s+to"
)
_TENTATIVE_MODALS = (
    r"'ll\s+try\s+to|'ll\s+try\s+and|will\s+try\s+to|can|could|should|might|may|would\s+like\s+to|"
    r"'d\s+like\s+to|want\s+to|wanna|'d|would"
)

# (form, subject kind, pattern). Order matters: the first form that matches a sentence wins.
_FORMS: list[tuple[str, str, re.Pattern[str]]] = [
    (
        "request",
        "you",
        re.compile(rf"\b(?P<modal>can|could|would|will)\s+you\s+{_ADVERBS}{_VERB}", re.IGNORECASE),
    ),
    (
        "first_person",
        "speaker",
        re.compile(
            rf"\b(?P<subject>i|we)\s*(?P<modal>{_FIRM_MODALS}|{_TENTATIVE_MODALS})\s+{_ADVERBS}{_VERB}",
            re.IGNORECASE,
        ),
    ),
    ("lets", "speaker", re.compile(rf"\b(?P<modal>let'?s|let\s+us)\s+{_ADVERBS}{_VERB}", re.IGNORECASE)),
    (
        "suggestion",
        "speaker",
        re.compile(
            rf"\b(?P<modal>(?:can|could|should|shall)\s+we|why\s+don'?t\s+we)\s+{_ADVERBS}{_VERB}",
            re.IGNORECASE,
        ),
    ),
    (
        "you_modal",
        "you",
        re.compile(
            rf"\byou\s*(?P<modal>'ll\s+need\s+to|'ll\s+have\s+to|'ll|will|should|need\s+to|have\s+to|must|'re\s+going\s+to|are\s+going\s+to|might\s+want\s+to)\s+{_ADVERBS}{_VERB}",
            re.IGNORECASE,
        ),
    ),
    ("please", "you", re.compile(rf"(?:^|[,;]\s*)please\s+{_VERB}", re.IGNORECASE)),
]
# A participant's name as the subject: case-sensitive so that "will"/"mark" as words are not names.
_NAMED_FORM = re.compile(
    rf"(?P<subject>[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?)\s*"
    rf"(?P<modal>'ll|will|is\s+going\s+to|'s\s+going\s+to|should|needs\s+to|has\s+to|can|could|would)"
    rf"\s+{_ADVERBS}{_VERB}"
)

_NON_ACTION_VERBS = frozenset(
    [
        "be", "been", "not", "never", "think", "guess", "say", "see", "know", "mean", "like", "love",
        "hate", "want", "need", "hope", "feel", "believe", "imagine", "suppose", "understand", "hear",
        "admit", "agree", "bet", "assume", "remember", "wonder", "expect", "appreciate", "recall", "notice",
        "probably", "definitely", "talk", "discuss", "start", "begin", "move", "go", "dive", "jump", "walk",
        "continue", "focus", "chat", "pause", "wrap", "kick", "tell", "explain", "describe", "elaborate",
        "clarify", "repeat", "stay", "afford",
    ]
)  # fmt: skip
_IN_CALL_OBJECTS = re.compile(
    r"^(?:take|have)\s+a\s+(?:look|quick\s+look|step\s+back|minute|second)\b", re.IGNORECASE
)
_HEDGE_WORDS = re.compile(
    r"\b(?:maybe|perhaps|probably|possibly|hopefully|ideally|might|i\s+think|i\s+guess|if\s+possible|"
    r"try\s+to|try\s+and|at\s+some\s+point|if\s+we\s+can|if\s+you\s+can|not\s+sure)\b",
    re.IGNORECASE,
)
_TENTATIVE = re.compile(
    rf"^(?:{_TENTATIVE_MODALS}|(?:can|could|should|shall)\s+we|why\s+don'?t\s+we)$", re.IGNORECASE
)
_FOLLOW_UP = re.compile(
    r"\b(?:follow(?:ing)?[\s-]?up|circle\s+back|check(?:ing)?\s+in|touch\s+base|reconnect|regroup|get\s+back\s+to|"
    r"loop\s+back|catch\s+up|sync\s+up|recap|reach\s+out|"
    r"(?:schedule|set\s+up|setup|book|put|find|get)\s+(?:a\s+|another\s+|the\s+|some\s+|our\s+)?(?:time|call|meeting|demo|sync|session|next\s+call|next\s+meeting)|"
    r"send\s+(?:you\s+|over\s+|out\s+)*(?:a\s+|the\s+|my\s+|our\s+)?(?:quick\s+)?(?:summary|notes|recap|follow[\s-]?up))\b",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"[\s,;:.!?]+$|,?\s+please[.!?]*$", re.IGNORECASE)

# Base confidence per form; hedged items score lower so that a higher confidenceThreshold drops them first.
_BASE_SCORE = {"first_person": 0.86, "named": 0.85, "request": 0.84, "lets": 0.82, "you_modal": 0.8,
               "please": 0.8, "suggestion": 0.7}  # fmt: skip
_HEDGE_PENALTY = 0.2
_DUE_BONUS = 0.06
_ASSIGNEE_BONUS = 0.04


@dataclass(frozen=True)
class ActionMatch:
    form: str
    assignee: Member | None
    phrase: str
    verb_offset: int
    definitive: bool
    due: DateMention | None
    score: float
    is_follow_up: bool


def detect_action(
    message: Message, messages: Sequence[Message], roster: Roster, start_time: datetime
) -> ActionMatch | None:
    """The action item in one sentence, if it states one."""
    text = message.text.replace("\u2019", "'")  # same length, so offsets still index the original text
    found = _match_form(text, roster)
    if found is None:
        return None
    form, subject_kind, match, named = found
    verb_offset = match.start("verb")
    phrase = _TRAILING.sub("", text[verb_offset:]).strip()
    if len(phrase.split()) < 2 or _IN_CALL_OBJECTS.match(phrase):
        return None
    modal = (
        " ".join(match.group("modal").split())
        if "modal" in match.groupdict() and match.group("modal")
        else ""
    )
    hedged = bool(_HEDGE_WORDS.search(text)) or (form != "request" and bool(_TENTATIVE.match(modal)))
    if form == "suggestion" or text.lstrip().lower().startswith("if "):
        hedged = True
    if subject_kind == "speaker":
        assignee: Member | None = message.member
    elif subject_kind == "named":
        assignee = named
    else:
        assignee = addressee(message, messages, roster)
    # "Tomorrow" means the day after the call in the call's own time zone (naive start times are UTC).
    dates = find_dates(text, start_time.date())
    due = next((d for d in dates if d.start >= verb_offset), dates[0] if dates else None)
    score = _BASE_SCORE[form] - (_HEDGE_PENALTY if hedged else 0.0)
    score += (_DUE_BONUS if due else 0.0) + (_ASSIGNEE_BONUS if assignee else 0.0)
    return ActionMatch(
        form=form,
        assignee=assignee,
        phrase=phrase,
        verb_offset=verb_offset,
        definitive=not hedged,
        due=due,
        score=round(min(score, 0.99), 4),
        is_follow_up=bool(_FOLLOW_UP.search(phrase)),
    )


def _match_form(text: str, roster: Roster) -> tuple[str, str, re.Match[str], Member | None] | None:
    candidates: list[tuple[int, str, str, re.Match[str], Member | None]] = []
    for form, subject_kind, pattern in _FORMS:
        for match in pattern.finditer(text):
            if _is_action_verb(match, text):
                candidates.append((match.start(), form, subject_kind, match, None))
                break
    for match in _NAMED_FORM.finditer(text):
        member = roster.by_name(match.group("subject"))
        if member is not None and _is_action_verb(match, text):
            candidates.append((match.start(), "named", "named", match, member))
            break
    if not candidates:
        return None
    # The earliest clause in the sentence is its main commitment; form order breaks ties (a request wins).
    _, form, subject_kind, match, member = min(candidates, key=lambda c: c[0])
    return form, subject_kind, match, member


def _is_action_verb(match: re.Match[str], text: str) -> bool:
    verb = match.group("verb").lower()
    if verb in _NON_ACTION_VERBS:
        return False
    # "I'll be sending" is an action, "I'll be honest" is not: look through "be" to a following -ing verb.
    return not (verb == "be" and not re.match(r"be\s+\w+ing\b", text[match.start("verb") :], re.IGNORECASE))


def action_payloads(
    conversation_id: str,
    start_time: datetime,
    messages: Sequence[Message],
    roster: Roster,
    threshold: float,
    make_id: Callable[[str, Message], str],
) -> tuple[list[dict[str, object]], list[dict[str, object]], dict[str, list[dict[str, str]]]]:
    """(action items, follow-ups, action phrases by message id) for the whole conversation."""
    action_items: list[dict[str, object]] = []
    follow_ups: list[dict[str, object]] = []
    phrases: dict[str, list[dict[str, str]]] = {}
    for message in messages:
        found = detect_action(message, messages, roster, start_time)
        if found is None or found.score < threshold:
            continue
        phrases[message.id] = [{"type": "action_phrase", "text": found.phrase}]
        kinds = ["action_item", "follow_up"] if found.is_follow_up else ["action_item"]
        for kind in kinds:
            item: dict[str, object] = {
                "id": make_id(kind, message),
                "text": message.text,
                "type": kind,
                "score": found.score,
                "messageIds": [message.id],
                "entities": _insight_entities(message, roster, found),
                "phrases": phrases[message.id],
                "from": message.member.as_from(),
                "definitive": found.definitive,
                "assignee": found.assignee.as_assignee() if found.assignee else {},
            }
            if found.due is not None:
                item["dueBy"] = due_by_iso(found.due, start_time)
            (action_items if kind == "action_item" else follow_ups).append(item)
    return action_items, follow_ups, phrases


def due_by_iso(due: DateMention, start_time: datetime) -> str:
    """Midnight of the due day in the conversation's own time zone, as UTC (Symbl's example shows 07:00Z)."""
    tz = start_time.tzinfo
    return iso_utc(
        datetime.combine(due.value, time(0, 0), tzinfo=tz) if tz else datetime.combine(due.value, time())
    )


def _insight_entities(message: Message, roster: Roster, found: ActionMatch) -> list[dict[str, object]]:
    """Symbl's insight-level entities: people named in the sentence and the due date."""
    entities: list[dict[str, object]] = []
    for member, start, end in roster.named_in(message.text):
        is_assignee = found.assignee is not None and member.id == found.assignee.id
        entities.append(
            {
                "type": "person",
                "text": message.text[start:end],
                "offset": start,
                "value": {"assignee": is_assignee, "name": member.name},
            }
        )
    if found.due is not None:
        entities.append(
            {
                "type": "date",
                "text": found.due.text,
                "offset": found.due.start,
                "value": found.due.value.isoformat(),
            }
        )
    return sorted(entities, key=lambda e: cast(int, e["offset"]))
