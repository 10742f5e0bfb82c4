"""Signatures of recording-platform events: HMAC-SHA256 over the timestamp and the raw body.

The scheme mirrors Slack's and Stripe's request signing. The platform sends two headers:

    X-Convo-Timestamp: 1775574000                  (unix seconds when the request was signed)
    X-Convo-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{raw body}")>

Binding the timestamp into the MAC lets the receiver refuse requests signed more than ``window`` seconds away from
its own clock (a captured request cannot be replayed later), and the replay cache (``replay.py``) refuses the same
signature twice within the window. ``v1=`` versions the scheme; several comma-separated ``v1=`` values are
accepted so the platform can sign with an old and a new secret while the secret is rotated.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Convo-Timestamp"
SIGNATURE_HEADER = "X-Convo-Signature"
SCHEME = "v1"
DEFAULT_WINDOW_SECONDS = 300
_MAX_TIMESTAMP_CHARS = 12  # unix seconds stay at 10 digits until the year 2286


class SignatureError(Exception):
    """The request is unsigned, wrongly signed or stale; ``reason`` is safe to return to the caller."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def compute_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex digest of ``HMAC-SHA256(secret, f"{timestamp}.{body}")``."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers a platform (or a test) sends with ``body``."""
    stamp = str(int(timestamp))
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"{SCHEME}={compute_signature(secret, stamp, body)}"}


def parse_timestamp(header: str | None, now: float, window_seconds: float) -> str:
    """Check the timestamp header before reading the body (cheap rejection); returns it as sent."""
    if not header:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    stamp = header.strip()
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > _MAX_TIMESTAMP_CHARS:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds")
    if abs(now - int(stamp)) > window_seconds:
        raise SignatureError(
            f"stale request: {TIMESTAMP_HEADER} is more than {int(window_seconds)} s from now"
        )
    return stamp


def signatures_from(header: str | None) -> list[str]:
    """The ``v1`` hex signatures in the signature header (other schemes are ignored, as Stripe does)."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    found = []
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and value:
            found.append(value.strip().lower())
    if not found:
        raise SignatureError(f"{SIGNATURE_HEADER} carries no {SCHEME}= signature")
    return found


def verify(secret: str, timestamp: str, candidates: list[str], body: bytes) -> str:
    """The matching signature (the replay-cache key), or ``SignatureError``. Compared in constant time."""
    expected = compute_signature(secret, timestamp, body)
    for candidate in candidates:
        if hmac.compare_digest(candidate.encode("ascii", "replace"), expected.encode("ascii")):
            return expected
    raise SignatureError("signature does not match")
