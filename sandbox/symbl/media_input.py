"""Media submitted to the Async API: format checks and the sandbox's "speech recognition" (the transcript the
media carries, see docs/drop-folder.md).

Raw uploads are checked synchronously (a problem is a 400 naming the cause). URL submissions are fetched by
the job itself, as Symbl does, so a problem there ends the job ``failed`` with the reason. A sidecar
transcript (``<url>.transcript.json``) is honoured for URLs; a raw upload has no place for one, so its media
must embed it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from sandbox import media
from sandbox.symbl.streaming_recognition import recognise_recording
from sandbox.transcript import Transcript, TranscriptError, Utterance

AUDIO_FORMATS = frozenset({"mp3", "wav", "amr", "aac", "ac3", "aiff", "flac", "ogg", "opus", "wma", "m4a"})
VIDEO_FORMATS = frozenset({"mp4"})
SIDECAR_SUFFIX = ".transcript.json"
# Declarations that mean "the client did not say": auto-detect as for a missing Content-Type.
UNDECLARED_CONTENT_TYPES = frozenset({"", "application/octet-stream"})


class MediaRejected(ValueError):
    """The media cannot be processed; the message says why (a 400 body or a failed job's reason)."""


# host, port -> the addresses it resolves to; the default asks the system resolver without blocking the loop.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def check_fetchable(
    url: str, allowed_hosts: Sequence[str], resolver: Resolver = system_resolver
) -> None:
    """Refuse (MediaRejected) a media URL unless every address of its host is loopback or the host is allowed.

    Decided before any connection is made. The sandbox's own copy of the pipeline's policy (the sandbox does
    not import the pipeline), deliberately stricter: loopback only by default.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise MediaRejected("The media URL is not a valid URL.") from None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise MediaRejected("The media URL must be an http(s) URL with a host.")
    shown = f"[{host}]" if ":" in host else host
    allowed = {h.strip().lower() for h in allowed_hosts}
    if "*" in allowed or shown in allowed or f"{shown}:{port}" in allowed:
        return
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in await resolver(host, port)]
        except (OSError, UnicodeError, ValueError):
            raise MediaRejected(f"The media URL's host {host} does not resolve.") from None
    if not addresses or not all(_is_loopback(a) for a in addresses):
        raise MediaRejected(
            f"The media URL's host {host} is not on loopback; this sandbox fetches only loopback media unless "
            "the host is in SANDBOX_MEDIA_FETCH_ALLOWED_HOSTS."
        )


def _is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


@dataclass(frozen=True)
class RecognisedMedia:
    utterances: tuple[Utterance, ...]
    media_seconds: float
    media_format: str


def check_content_type(kind: str, content_type: str | None) -> frozenset[str] | None:
    """The formats a declared Content-Type allows, None when undeclared; MediaRejected when unsupported."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared in UNDECLARED_CONTENT_TYPES:
        return None
    if kind == "video":
        if declared != "video/mp4":
            raise MediaRejected(f"Content-Type {declared!r} is not supported for video: send video/mp4.")
        return VIDEO_FORMATS
    allowed = frozenset(media.content_type_formats(declared))
    if not allowed:
        raise MediaRejected(f"Content-Type {declared!r} is not a supported audio type.")
    return allowed


def recognise(data: bytes, kind: str, declared: frozenset[str] | None, max_seconds: float) -> RecognisedMedia:
    """Validate media bytes for an audio or video submission and read the transcript they carry."""
    if not data:
        raise MediaRejected("The request body is empty: send the media bytes.")
    detected = media.detect_format(data)
    if kind == "video":
        if detected != "mp4":
            raise MediaRejected(
                f"Video must be mp4; the uploaded data is {detected or 'not a recognised format'}."
            )
    elif detected is None:
        raise MediaRejected(
            "The uploaded audio is not in a supported format (mp3, wav, amr, aac, ac3, aiff, ...)."
        )
    elif detected not in AUDIO_FORMATS and not (declared and detected in declared):
        raise MediaRejected(f"The uploaded data is {detected}, not audio: use the video endpoint.")
    if declared is not None and detected not in declared:
        raise MediaRejected(f"Content-Type does not match the uploaded data, which is {detected}.")
    try:
        transcript = media.embedded_transcript(data)
    except TranscriptError as exc:
        raise MediaRejected(f"The media's embedded transcript is malformed: {exc}") from None
    except ValueError as exc:
        raise MediaRejected(f"The media could not be read: {exc}") from None
    if transcript is None and detected == "wav":
        # A recording of a live call carries its transcript in the audio itself (sandbox/speech_carrier.py).
        transcript = recognise_recording(data)
    if transcript is None:
        raise MediaRejected(
            "The sandbox cannot recognise speech: this media carries no transcript (a cvtx chunk in WAV or a "
            "cvtx box in MP4)."
        )
    return _recognised(transcript, media.media_duration_seconds(data), detected, max_seconds)


def _recognised(
    transcript: Transcript, audio_seconds: float | None, media_format: str, max_seconds: float
) -> RecognisedMedia:
    # Demo media is a short silent clip carrying a long transcript: the media lasts as long as the longer.
    seconds = max(audio_seconds or 0.0, transcript.duration_seconds)
    if seconds > max_seconds:
        raise MediaRejected(
            f"The media is {seconds:.0f} s long; the maximum is {max_seconds:.0f} s (4 hours)."
        )
    return RecognisedMedia(transcript.utterances, seconds, media_format)


async def fetch_and_recognise(
    client: httpx.AsyncClient,
    url: str,
    kind: str,
    max_bytes: int,
    max_seconds: float,
    *,
    allowed_hosts: Sequence[str] = (),
    resolver: Resolver = system_resolver,
) -> RecognisedMedia:
    """Fetch URL media (no redirects: a redirect is an error per the contract) and recognise it.

    The host is checked first (``check_fetchable``); the sidecar shares the URL's host, so one check covers both.
    """
    await check_fetchable(url, allowed_hosts, resolver)
    data = await _fetch(client, url, max_bytes)
    base_kind = "video" if kind.startswith("video") else "audio"
    try:
        return recognise(data, base_kind, None, max_seconds)
    except MediaRejected as embedded_problem:
        if "carries no transcript" not in str(embedded_problem):
            raise
        try:
            sidecar = await _fetch(client, url + SIDECAR_SUFFIX, max_bytes)
        except MediaRejected:
            raise embedded_problem from None
        try:
            transcript = Transcript.from_json(sidecar)
        except TranscriptError as exc:
            raise MediaRejected(
                f"The sidecar transcript at {url}{SIDECAR_SUFFIX} is malformed: {exc}"
            ) from None
        return _recognised(
            transcript,
            media.media_duration_seconds(data),
            media.detect_format(data) or "unknown",
            max_seconds,
        )


async def _fetch(client: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    try:
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.is_redirect:
                raise MediaRejected(
                    f"The media URL redirects (HTTP {response.status_code}); "
                    "a directly reachable URL is required."
                )
            if response.status_code != 200:
                raise MediaRejected(f"The media URL answered HTTP {response.status_code}.")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise MediaRejected(f"The media at the URL is larger than {max_bytes} bytes.")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise MediaRejected(f"The media URL could not be fetched: {type(exc).__name__}.") from None
