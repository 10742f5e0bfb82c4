"""Conversation members: one per distinct speaker, in order of first appearance, in Symbl's shapes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.intelligence.ids import uuid_id
from sandbox.transcript import Speaker, Utterance


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    email: str | None
    user_id: str | None
    speaker_tag: int  # 1-based, Symbl's word-level `speakerTag`

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    def as_from(self) -> dict[str, object]:
        """Symbl's `from` object (also the `/members` item): optional keys are left out rather than null."""
        out: dict[str, object] = {"id": self.id, "name": self.name}
        if self.email:
            out["email"] = self.email
        if self.user_id:
            out["userId"] = self.user_id
        return out

    def as_assignee(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name}
        if self.email:
            out["email"] = self.email
        return out


def speaker_key(speaker: Speaker) -> str:
    """Two utterances are by the same member when their emails match, or (without emails) their names do."""
    return (speaker.email or speaker.name).strip().lower()


class Roster:
    """The members of one conversation and the ways text can refer to them."""

    def __init__(self, conversation_id: str, utterances: Sequence[Utterance]) -> None:
        self._by_key: dict[str, Member] = {}
        for utterance in utterances:
            key = speaker_key(utterance.speaker)
            if key not in self._by_key:
                spk = utterance.speaker
                self._by_key[key] = Member(
                    id=uuid_id(conversation_id, "member", key),
                    name=spk.name,
                    email=spk.email,
                    user_id=spk.user_id or spk.email,
                    speaker_tag=len(self._by_key) + 1,
                )
        self.members: tuple[Member, ...] = tuple(self._by_key.values())
        self._name_pattern = _name_pattern(self.members)

    def of(self, speaker: Speaker) -> Member:
        return self._by_key[speaker_key(speaker)]

    def named_in(self, text: str) -> list[tuple[Member, int, int]]:
        """Members named in ``text`` (full or first name, capitalised, whole word): (member, start, end)."""
        if self._name_pattern is None:
            return []
        found: list[tuple[Member, int, int]] = []
        for match in self._name_pattern.finditer(text):
            member = self.by_name(match.group(0))
            if member is not None:
                found.append((member, match.start(), match.end()))
        return found

    def by_name(self, name: str) -> Member | None:
        """A full name, or a first name only one member has (an ambiguous first name names nobody)."""
        wanted = name.strip().lower()
        for member in self.members:
            if member.name.lower() == wanted:
                return member
        candidates = [m for m in self.members if m.first_name.lower() == wanted]
        return candidates[0] if len(candidates) == 1 else None

    def others(self, member: Member) -> list[Member]:
        return [m for m in self.members if m.id != member.id]


def _name_pattern(members: Sequence[Member]) -> re.Pattern[str] | None:
    names = {m.name for m in members} | {m.first_name for m in members}
    names = {n for n in names if len(n) > 1}
    if not names:
        return None
    # Longest first so that "Maya Chen" wins over "Maya"; case-sensitive because "mark"/"will" are words too.
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    return re.compile(rf"(?<![\w@.])(?:{alternatives})(?![\w@])")
