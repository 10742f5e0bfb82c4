"""Who an action item is for: the speaker for "I"/"we", the addressee for "you", or the person named."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sandbox.intelligence.members import Member, Roster
from sandbox.intelligence.segmentation import Message

# "Hank, can you ..." / "... by Friday, Hank?": a name set off by a comma at either end of the sentence.
_LEADING_VOCATIVE = re.compile(
    r"^\W*(?:(?:hey|so|ok|okay|and)\W+)?(?P<name>[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?)\s*,"
)
_TRAILING_VOCATIVE = re.compile(r",\s*(?P<name>[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?)\W*$")


def addressee(message: Message, messages: Sequence[Message], roster: Roster) -> Member | None:
    """The person "you" refers to in ``message``.

    In order: a participant addressed by name; the only other participant of a two-party call; the last other
    person who spoke before this message (the one being answered); the next other person to speak.
    """
    for pattern in (_LEADING_VOCATIVE, _TRAILING_VOCATIVE):
        match = pattern.search(message.text)
        if match:
            named = roster.by_name(match.group("name"))
            if named is not None and named.id != message.member.id:
                return named
    others = roster.others(message.member)
    if len(others) == 1:
        return others[0]
    for earlier in reversed(messages[: message.index]):
        if earlier.member.id != message.member.id:
            return earlier.member
    for later in messages[message.index + 1 :]:
        if later.member.id != message.member.id:
            return later.member
    return None
