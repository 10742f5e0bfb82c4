"""A run's ``input`` turned into speaker turns on two sides: the rep side and the customer side.

``input.transcript`` arrives as ``"Rep: ...\\nProspect: ..."`` or as ``[{"speaker", "text"}]``. The *rep side*
is the side the workspace owns (a sales rep, a support agent, an AI assistant under review); everyone else is
the *customer side*. Who is who is decided, in order, by: a ``role`` on a transcript item,
``input.participants`` (``[{name, role}]``, the shape of a drop-folder manifest), the Kit's speaker-label
vocabulary ("Rep", "Prospect", ...), ``input.host`` / ``input.rep_name``, and finally "whoever speaks first is
the rep".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sandbox.semarize.text import Phrases, normalise, split_sentences

# "Maya Chen: text" or "Rep: text"; a label is short and has no sentence punctuation.
_LABELLED_LINE = re.compile(r"^\s*([^:.!?\n]{1,60}?)\s*:\s+(.*\S)\s*$")


class Side(StrEnum):
    REP = "rep"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class Sentence:
    text: str  # verbatim from the transcript
    turn_index: int
    side: Side
    speaker: str


@dataclass(frozen=True)
class Turn:
    index: int
    speaker: str
    side: Side
    text: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Conversation:
    turns: tuple[Turn, ...]
    # Every string in ``input`` other than the transcript (account notes, a knowledge-base excerpt, ...):
    # what an answer may legitimately be grounded in.
    context_text: str = ""

    def sentences(self, side: Side | None = None) -> list[Sentence]:
        return [
            Sentence(text=s, turn_index=t.index, side=t.side, speaker=t.speaker)
            for t in self.turns
            if side is None or t.side is side
            for s in t.sentences
        ]

    def text(self, side: Side | None = None) -> str:
        return " ".join(t.text for t in self.turns if side is None or t.side is side)

    def next_turn_from_other_side(self, turn_index: int) -> Turn | None:
        side = self.turns[turn_index].side
        for turn in self.turns[turn_index + 1 :]:
            if turn.side is not side:
                return turn
        return None


class TranscriptInputError(ValueError):
    """The run's input has no usable transcript; becomes a failed run (not an HTTP error)."""

    def __init__(self, code: str, message: str, user_message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.user_message = user_message


@dataclass(frozen=True)
class SpeakerRoles:
    rep_labels: Phrases
    customer_labels: Phrases


def parse_conversation(run_input: Mapping[str, Any], roles: SpeakerRoles) -> Conversation:
    raw = run_input.get("transcript")
    if raw is None:
        raise TranscriptInputError(
            "transcript_missing",
            "input.transcript is required",
            "This run has no transcript to analyse.",
        )
    if isinstance(raw, str):
        items = list(_items_from_text(raw))
    elif isinstance(raw, list):
        items = list(_items_from_list(raw))
    else:
        raise TranscriptInputError(
            "transcript_invalid",
            "input.transcript must be a string or a list of {speaker, text} objects",
            "The transcript was not in a format Semarize understands.",
        )
    items = [(speaker, text, role) for speaker, text, role in items if text.strip()]
    if not items:
        raise TranscriptInputError(
            "transcript_empty",
            "input.transcript contains no utterances",
            "The transcript was empty, so there was nothing to analyse.",
        )
    sides = _assign_sides(items, run_input, roles)
    turns = tuple(
        Turn(
            index=i, speaker=speaker, side=sides[i], text=text.strip(), sentences=tuple(split_sentences(text))
        )
        for i, (speaker, text, _role) in enumerate(items)
    )
    context = " ".join(_strings(v) for k, v in run_input.items() if k != "transcript")
    return Conversation(turns=turns, context_text=context.strip())


def _items_from_text(raw: str) -> Iterator[tuple[str, str, str | None]]:
    speaker, parts = "", []  # type: str, list[str]
    for line in raw.splitlines():
        if not line.strip():
            continue
        labelled = _LABELLED_LINE.match(line)
        if labelled:
            if parts:
                yield speaker, " ".join(parts), None
            speaker, parts = labelled.group(1).strip(), [labelled.group(2)]
        else:
            # An unlabelled line continues the current speaker (wrapped text).
            parts.append(line.strip())
    if parts:
        yield speaker or "Speaker", " ".join(parts), None


def _items_from_list(raw: list[Any]) -> Iterator[tuple[str, str, str | None]]:
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("text"), str):
            raise TranscriptInputError(
                "transcript_invalid",
                f"input.transcript[{i}] must be an object with a string 'text'",
                "The transcript was not in a format Semarize understands.",
            )
        speaker = item.get("speaker")
        if isinstance(speaker, Mapping):
            speaker = speaker.get("name")
        role = item.get("role")
        yield (
            str(speaker).strip() if speaker else "Speaker",
            item["text"],
            str(role) if isinstance(role, str) else None,
        )


def _assign_sides(
    items: list[tuple[str, str, str | None]], run_input: Mapping[str, Any], roles: SpeakerRoles
) -> list[Side]:
    participant_roles = _participant_roles(run_input.get("participants"))
    host_names = {normalise(n) for n in _names(run_input.get("host")) + _names(run_input.get("rep_name"))}
    first_speaker = normalise(items[0][0])

    def side_of(speaker: str, role: str | None) -> Side:
        for label in (role, participant_roles.get(normalise(speaker)), speaker):
            if label is None:
                continue
            if roles.rep_labels.matches(label):
                return Side.REP
            if roles.customer_labels.matches(label):
                return Side.CUSTOMER
        if host_names:
            return Side.REP if normalise(speaker) in host_names else Side.CUSTOMER
        return Side.REP if normalise(speaker) == first_speaker else Side.CUSTOMER

    return [side_of(speaker, role) for speaker, _text, role in items]


def _participant_roles(participants: Any) -> dict[str, str]:
    if not isinstance(participants, list):
        return {}
    return {
        normalise(p["name"]): str(p["role"])
        for p in participants
        if isinstance(p, Mapping) and isinstance(p.get("name"), str) and isinstance(p.get("role"), str)
    }


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        return [value["name"]]
    return []


def _strings(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return " ".join(_strings(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_strings(v) for v in value)
    return ""
