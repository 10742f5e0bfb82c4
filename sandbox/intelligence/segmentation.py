"""Utterances -> Symbl messages: one message per sentence, as Symbl splits long turns.

A sentence's time span is its share of the utterance, proportional to its length in characters (speech rate is
roughly constant within a turn), so consecutive messages of one utterance tile its span exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.intelligence.ids import numeric_id
from sandbox.intelligence.members import Member, Roster
from sandbox.transcript import Utterance

# Words ending in a period that do not end a sentence. Company suffixes (Inc., Ltd.) are deliberately absent:
# "We work with Acme Inc. They ..." ends a sentence, and a following capital is the only cue we have.
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "approx",
        "no",
        "vol",
        "fig",
    }
)
# A candidate boundary: terminal punctuation (optionally closing quotes/brackets), whitespace, then anything.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_WORD = re.compile(r"\S+")
_EDGE_PUNCTUATION = "\"'()[]{}.,!?;:"


@dataclass(frozen=True)
class Message:
    index: int  # position in the conversation, 0-based
    id: str
    member: Member
    text: str
    start: float  # seconds from conversation start
    end: float
    utterance_index: int

    @property
    def duration(self) -> float:
        return self.end - self.start


def split_sentences(text: str) -> list[str]:
    """Sentences of one utterance, in order; the pieces joined by single spaces give back the text."""
    sentences: list[str] = []
    begin = 0
    for boundary in _BOUNDARY.finditer(text):
        head = text[begin : boundary.start()].rstrip("\"')]")
        last_word = head.rsplit(maxsplit=1)[-1].rstrip(".!?").lower() if head.strip() else ""
        following = text[boundary.end() : boundary.end() + 1]
        if last_word in _ABBREVIATIONS or (following and following.islower()):
            continue
        sentences.append(text[begin : boundary.start()].strip())
        begin = boundary.end()
    tail = text[begin:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def segment(conversation_id: str, utterances: Sequence[Utterance], roster: Roster) -> list[Message]:
    """All messages in time order; utterance order breaks ties, so simultaneous turns keep input order."""
    messages: list[Message] = []
    ordered = sorted(enumerate(utterances), key=lambda pair: (pair[1].start, pair[0]))
    for utterance_index, utterance in ordered:
        sentences = split_sentences(utterance.text)
        total_chars = sum(len(s) for s in sentences) or 1
        span = utterance.end - utterance.start
        cursor = utterance.start
        for position, sentence in enumerate(sentences):
            is_last = position == len(sentences) - 1
            end = utterance.end if is_last else cursor + span * len(sentence) / total_chars
            index = len(messages)
            messages.append(
                Message(
                    index=index,
                    id=numeric_id(conversation_id, "message", index),
                    member=roster.of(utterance.speaker),
                    text=sentence,
                    start=cursor,
                    end=end,
                    utterance_index=utterance_index,
                )
            )
            cursor = end
    return messages


def words_with_times(message: Message) -> list[tuple[str, float, float]]:
    """(word, start, end) with the message's span spread evenly over its words; punctuation stripped."""
    tokens = [t.strip(_EDGE_PUNCTUATION) or t for t in _WORD.findall(message.text)]
    if not tokens:
        return []
    step = message.duration / len(tokens)
    return [
        (token, message.start + i * step, message.start + (i + 1) * step) for i, token in enumerate(tokens)
    ]


def word_count(text: str) -> int:
    return len(_WORD.findall(text))
