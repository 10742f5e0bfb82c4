"""Conversation analytics from timestamps: talk, listen, silence, overlap and pace.

Definitions (interval arithmetic on utterance spans, so a member's overlapping utterances never count twice):
- a member's talk time is the union of their utterance intervals;
- total talk time is the union over all members; silence is the conversation duration minus total talk time,
  so talk + silence = duration exactly (metric percents are of the duration and add up to 100);
- a member's listen time is the time others talk while this member does not, so that member's talk + listen
  equals total talk time; the member's `talkTime.percentage` and `listenTime.percentage` are shares of total
  talk time and add up to 100 (as in Symbl's published example);
- overlap is time when two or more members talk at once; per member it is the time the member talks while
  anyone else does, and per pair the time both talk; a pair's `percent` is its seconds over the two members'
  combined talk time (Symbl's documented definition); total_overlap's percent is of the duration;
- pace is words per minute of the member's own talk time.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.intelligence.members import Member, Roster
from sandbox.intelligence.segmentation import word_count
from sandbox.intelligence.timestamps import seconds
from sandbox.transcript import Utterance

Interval = tuple[float, float]


def union(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same time; empty intervals are dropped."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def intersection(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two sorted, disjoint interval lists (two-pointer walk)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def length(intervals: Sequence[Interval]) -> float:
    return sum(end - start for start, end in intervals)


def overlap_time(per_member: Sequence[Sequence[Interval]]) -> float:
    """Seconds during which at least two of the given members talk (a sweep over start/end events)."""
    events = sorted(
        [(start, 1) for intervals in per_member for start, _ in intervals]
        + [(end, -1) for intervals in per_member for _, end in intervals]
    )
    total, active, previous = 0.0, 0, 0.0
    for moment, delta in events:
        if active >= 2:
            total += moment - previous
        active += delta
        previous = moment
    return total


def _percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 3) if whole > 0 else 0.0


def conversation_analytics(
    utterances: Sequence[Utterance], roster: Roster
) -> dict[str, list[dict[str, object]]]:
    duration = max((u.end for u in utterances), default=0.0)
    spans: dict[str, list[Interval]] = {m.id: [] for m in roster.members}
    words: dict[str, int] = {m.id: 0 for m in roster.members}
    for utterance in utterances:
        member = roster.of(utterance.speaker)
        spans[member.id].append((utterance.start, utterance.end))
        words[member.id] += word_count(utterance.text)
    talk = {member_id: union(intervals) for member_id, intervals in spans.items()}
    everyone = union([i for intervals in talk.values() for i in intervals])
    total_talk = length(everyone)
    total_overlap = overlap_time(list(talk.values()))
    talk_percent = _percent(total_talk, duration)
    metrics: list[dict[str, object]] = [
        # Silence's percent is the complement of talk's so that the two always add up to exactly 100.
        {"type": "total_silence", "percent": round(100.0 - talk_percent, 3) if duration else 0.0,
         "seconds": seconds(duration - total_talk)},
        {"type": "total_talk_time", "percent": talk_percent, "seconds": seconds(total_talk)},
        {"type": "total_overlap", "percent": _percent(total_overlap, duration),
         "seconds": seconds(total_overlap)},
    ]  # fmt: skip
    return {
        "metrics": metrics,
        "members": [_member_entry(m, roster, talk, words, total_talk) for m in roster.members],
    }


def _member_entry(
    member: Member,
    roster: Roster,
    talk: dict[str, list[Interval]],
    words: dict[str, int],
    total_talk: float,
) -> dict[str, object]:
    own = talk[member.id]
    own_seconds = length(own)
    listen_seconds = max(0.0, total_talk - own_seconds)  # others' talk outside our own: union minus own
    talk_percent = _percent(own_seconds, total_talk)
    entry: dict[str, object] = {
        "id": member.id,
        "name": member.name,
        "userId": member.user_id or "",
        "pace": {"wpm": round(words[member.id] * 60.0 / own_seconds) if own_seconds > 0 else 0},
        "talkTime": {"percentage": talk_percent, "seconds": seconds(own_seconds)},
        "listenTime": {"percentage": round(100.0 - talk_percent, 3) if total_talk else 0.0,
                       "seconds": seconds(listen_seconds)},
        "overlap": {},
    }  # fmt: skip
    pairs: list[dict[str, object]] = []
    overlapped_with_anyone: list[Interval] = []
    for other in roster.others(member):
        shared = intersection(own, talk[other.id])
        if not shared:
            continue
        overlapped_with_anyone.extend(shared)
        shared_seconds = length(shared)
        pairs.append(
            {
                "id": other.id,
                "name": other.name,
                "userId": other.user_id or "",
                "percent": _percent(shared_seconds, own_seconds + length(talk[other.id])),
                "seconds": seconds(shared_seconds),
            }
        )
    if pairs:
        entry["overlap"] = {
            "overlapDuration": seconds(length(union(overlapped_with_anyone))),
            "overlappingMembers": pairs,
        }
    return entry
