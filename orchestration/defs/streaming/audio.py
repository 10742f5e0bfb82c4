"""Audio for live calls: reading a PCM WAV, converting to mu-law, and a source fed by someone else (a bridge).

Only uncompressed audio can be streamed as it is: 16-bit mono PCM WAV (LINEAR16) or mu-law (MULAW, 8 kHz),
the two encodings Symbl documents for raw streams that need no decoder on our side.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass


class AudioError(ValueError):
    """The file cannot be streamed as it is; the message says why."""


@dataclass(frozen=True)
class Pcm:
    data: bytes  # 16-bit little-endian mono samples
    sample_rate: int


def read_pcm_wav(raw: bytes) -> Pcm:
    """The samples of a 16-bit mono PCM WAV (chunks walked, not searched)."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise AudioError("not a WAV file")
    offset, fmt, data = 12, None, None
    while offset + 8 <= len(raw):
        kind = raw[offset : offset + 4]
        (size,) = struct.unpack_from("<I", raw, offset + 4)
        body = raw[offset + 8 : offset + 8 + size]
        if kind == b"fmt ":
            fmt = body
        elif kind == b"data":
            data = body
        offset += 8 + size + (size & 1)
    if fmt is None or data is None or len(fmt) < 16:
        raise AudioError("WAV file without fmt/data chunks")
    audio_format, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if audio_format != 1 or channels != 1 or bits != 16:
        raise AudioError(
            f"only 16-bit mono PCM WAV streams as is (got format {audio_format}, {channels} ch, {bits} bit)"
        )
    return Pcm(data[: len(data) // 2 * 2], rate)


class QueueSource:
    """An audio source that someone else feeds (the Twilio bridge): ``put`` chunks, then ``end``."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def put(self, chunk: bytes) -> None:
        if chunk:
            self._queue.put_nowait(chunk)

    def end(self) -> None:
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self._queue.get()
            if chunk is None:
                return
            yield chunk


def wav_file(encoding: str, sample_rate: int, samples: bytes) -> bytes:
    """A mono WAV around a call's raw audio: PCM for LINEAR16, format 7 (G.711 mu-law) for MULAW."""
    width, audio_format = (2, 1) if encoding == "LINEAR16" else (1, 7)
    fmt = struct.pack("<HHIIHH", audio_format, 1, sample_rate, sample_rate * width, width, 8 * width)
    pad = b"\x00" if len(samples) % 2 else b""
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(samples)) + samples + pad
    return b"RIFF" + struct.pack("<I", len(body)) + body
