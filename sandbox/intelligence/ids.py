"""Deterministic identifiers: the same conversation analysed twice yields byte-identical ids.

Symbl's message and insight ids are 16-digit numbers (``"4854542482014208"``) and its member ids are UUIDs, so
the sandbox mints the same shapes, derived from the conversation id plus the item's position by hashing.
Nothing here depends on time or randomness.
"""

from __future__ import annotations

import hashlib
import uuid

# A fixed namespace so that uuid5 ids differ from any other project's uuid5 ids over the same strings.
_MEMBER_NAMESPACE = uuid.UUID("6f1d6a52-5b8e-4f2a-9d0e-3c8b7a1e2f40")
_SEPARATOR = "\x1f"  # unit separator: cannot occur in the parts we join, so ("a", "bc") != ("ab", "c")

# 16 digits, never a leading zero, like Symbl's ids.
_NUMERIC_FLOOR = 4_000_000_000_000_000
_NUMERIC_SPAN = 5_000_000_000_000_000


def numeric_id(*parts: object) -> str:
    """A 16-digit id for a message, insight, topic, entity or summary item."""
    digest = hashlib.sha256(_SEPARATOR.join(str(p) for p in parts).encode("utf-8")).digest()
    return str(_NUMERIC_FLOOR + int.from_bytes(digest[:8], "big") % _NUMERIC_SPAN)


def uuid_id(*parts: object) -> str:
    """A UUID for a conversation member."""
    return str(uuid.uuid5(_MEMBER_NAMESPACE, _SEPARATOR.join(str(p) for p in parts)))
