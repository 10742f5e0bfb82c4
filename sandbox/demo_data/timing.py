"""Turning a script into a timed transcript: realistic turn lengths, gaps, overlaps and silences.

Each speaker talks at their own pace (2.2-3.0 words per second); turns last 2-20 s; consecutive lines by one
speaker merge into a turn while it stays under about 18 s. Between turns there is usually a short gap,
sometimes an interruption (the next speaker starts before the previous one finishes) and sometimes a silence
(screen sharing, looking something up).
"""

from __future__ import annotations

import random

from sandbox.demo_data.script import Line
from sandbox.transcript import Speaker, Transcript, Utterance

MIN_TURN_SECONDS = 2.0
MAX_TURN_SECONDS = 20.0
_MERGE_UP_TO_SECONDS = 18.0
_OVERLAP_CHANCE = 0.07
_SILENCE_CHANCE = 0.04


def _merge_turns(lines: list[Line], rates: dict[str, float]) -> list[Line]:
    turns: list[Line] = []
    for line in lines:
        previous = turns[-1] if turns else None
        if previous is not None and previous.speaker == line.speaker and not previous.pause_after:
            merged_words = len(previous.text.split()) + len(line.text.split())
            if merged_words / rates[line.speaker] <= _MERGE_UP_TO_SECONDS:
                turns[-1] = Line(line.speaker, f"{previous.text} {line.text}", line.pause_after)
                continue
        turns.append(line)
    return turns


def timed_transcript(
    lines: list[Line], speakers: dict[str, Speaker], rng: random.Random, language_code: str = "en-US"
) -> Transcript:
    """The transcript of ``lines``; ``speakers`` maps each role key used in the script to a person."""
    rates = {key: rng.uniform(2.2, 3.0) for key in sorted(speakers)}
    utterances: list[Utterance] = []
    clock = rng.uniform(0.5, 3.0)  # people join a second or two after the recording starts
    for turn in _merge_turns(lines, rates):
        words = len(turn.text.split())
        duration = min(
            MAX_TURN_SECONDS, max(MIN_TURN_SECONDS, words / rates[turn.speaker] + rng.uniform(0.2, 0.8))
        )
        start = clock
        previous = utterances[-1] if utterances else None
        if (
            previous is not None
            and previous.speaker != speakers[turn.speaker]
            and rng.random() < _OVERLAP_CHANCE
        ):
            # An interruption: start before the previous turn ends (never before it starts).
            start = max(previous.start + 0.5, previous.end - rng.uniform(0.2, 1.5))
        start, end = round(start, 3), round(start + duration, 3)
        utterances.append(Utterance(speakers[turn.speaker], turn.text, start, end))
        if turn.pause_after:
            gap = rng.uniform(5.0, 15.0)
        elif rng.random() < _SILENCE_CHANCE:
            gap = rng.uniform(3.0, 8.0)
        else:
            gap = rng.uniform(0.15, 1.2)
        clock = max(clock, end) + gap
    return Transcript(utterances=tuple(utterances), language_code=language_code)
