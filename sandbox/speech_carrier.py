"""The sandbox's "speech" for live audio: a transcript rendered into audio samples, and the decoder that hears it.

A live stream is raw audio (LINEAR16 or MULAW), so a demo call cannot bring its transcript in a WAV chunk the
way a file upload does. Instead the live audio source *renders* the demo media's transcript into the samples:

- every 20 ms of audio is one frame: a 4-symbol sync mark, a few bytes written as one symbol per nibble, and
  silence for the rest of the frame;
- a call starts with ``D`` (data) frames carrying the transcript document (zlib, chunked);
- then one ``T`` (timecode) frame per 20 ms of the call: the media time it stands for and its sample rate.

The decoder turns received bytes back into frames. A word is heard when the frame holding its end arrives, so
the sandbox recognises exactly the audio it received: a frame lost to a dropped socket is a word never heard,
and a frame sent twice is a word heard twice, as with a real recogniser.

Symbols are G.711 mu-law codes, and LINEAR16 samples are the exact linear values of those codes, so the same
call survives a LINEAR16 -> MULAW conversion (a telephony bridge) unchanged. Each ``T`` frame names the rate
it was rendered at: audio declared at another rate is garbled and recognises nothing, as real speech played
at the wrong rate would. Against the real Symbl the same audio is quiet noise: only demo media is rendered
this way; a real recording is streamed as its own samples.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sandbox.transcript import Transcript

FRAME_SECONDS = 0.02
FRAME_MS = 20
SILENCE = 0xFF  # mu-law code of linear 0
_SYNC = bytes([0x40, 0x41, 0x42, 0x43])
_NIBBLE_BASE = 0x20  # nibble n is the symbol 0x20 + n
_FRAME_RE = re.compile(re.escape(_SYNC) + rb"([\x20-\x2f]+)")
_TO_HEX = bytes.maketrans(bytes(range(0x20, 0x30)), b"0123456789abcdef")
_FROM_HEX = bytes.maketrans(b"0123456789abcdef", bytes(range(0x20, 0x30)))
_TIMECODE = ord("T")
_DATA = ord("D")

ENCODINGS = ("LINEAR16", "MULAW")


def _ulaw_decode_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.int16)
    for code in range(256):
        u = ~code & 0xFF
        exponent, mantissa = (u >> 4) & 0x07, u & 0x0F
        magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
        table[code] = -magnitude if u & 0x80 else magnitude
    return table


def _ulaw_encode(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    exponent = min(exponent, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


ULAW_TO_LINEAR = _ulaw_decode_table()
# Every 16-bit value to its nearest mu-law code (what a telephony bridge does), as one lookup table.
LINEAR_TO_ULAW = np.array([_ulaw_encode(v) for v in range(-32768, 32768)], dtype=np.uint8)


def linear16_to_mulaw(data: bytes) -> bytes:
    samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int32) + 32768
    return LINEAR_TO_ULAW[samples].tobytes()


def mulaw_to_linear16(data: bytes) -> bytes:
    return ULAW_TO_LINEAR[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def bytes_per_second(encoding: str, sample_rate: int) -> int:
    return sample_rate * sample_width(encoding)


def sample_width(encoding: str) -> int:
    return 2 if encoding == "LINEAR16" else 1


# --- rendering (the live audio source's side) ---------------------------------------------------------------


def _frame_symbols(payload: bytes, samples_per_frame: int) -> bytes:
    body = payload + bytes([sum(payload) & 0xFF])  # checksum: a frame cut by a lost message is rejected
    symbols = _SYNC + body.hex().encode().translate(_FROM_HEX)
    if len(symbols) >= samples_per_frame:
        raise ValueError("frame payload does not fit in 20 ms at this sample rate")
    return symbols + bytes([SILENCE]) * (samples_per_frame - len(symbols))


def _data_capacity(samples_per_frame: int) -> int:
    # sync + 2 symbols per byte of (type, index, total, chunk, checksum) + at least one silence symbol
    return (samples_per_frame - len(_SYNC) - 1) // 2 - 6


def render_frames(
    transcript: Transcript, sample_rate: int = 8000, tail_seconds: float = 0.5
) -> Iterator[bytes]:
    """The call as mu-law symbol frames (one per 20 ms): the transcript preamble, then timecodes."""
    if sample_rate % 50 or not 8000 <= sample_rate <= 48000:
        raise ValueError("sample_rate must be a multiple of 50 between 8000 and 48000")
    spf = sample_rate // 50
    document = zlib.compress(transcript.to_json().encode("utf-8"), 9)
    capacity = _data_capacity(spf)
    chunks = [document[i : i + capacity] for i in range(0, len(document), capacity)]
    for index, chunk in enumerate(chunks):
        yield _frame_symbols(struct.pack(">BHH", _DATA, index, len(chunks)) + chunk, spf)
    total_ms = int((transcript.duration_seconds + tail_seconds) * 1000)
    for ms in range(0, total_ms + FRAME_MS, FRAME_MS):
        yield _frame_symbols(struct.pack(">BHI", _TIMECODE, sample_rate // 100, ms), spf)


def render(transcript: Transcript, encoding: str = "LINEAR16", sample_rate: int = 16000) -> bytes:
    """The whole call as raw audio in ``encoding`` at ``sample_rate`` (what a live source streams)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}")
    if encoding == "MULAW" and sample_rate != 8000:
        raise ValueError("MULAW is 8000 Hz")
    symbols = b"".join(render_frames(transcript, sample_rate))
    return symbols if encoding == "MULAW" else mulaw_to_linear16(symbols)


def preamble_seconds(transcript: Transcript, sample_rate: int) -> float:
    """Audio time the transcript preamble takes before media time 0."""
    spf = sample_rate // 50
    size = len(zlib.compress(transcript.to_json().encode("utf-8"), 9))
    return -(-size // _data_capacity(spf)) * FRAME_SECONDS


# --- decoding (the sandbox recogniser's side) ---------------------------------------------------------------


@dataclass(frozen=True)
class TimecodeFrame:
    media_ms: int  # the media time this frame stands for
    sample_rate: int  # the rate it was rendered at
    sample_index: int  # where the frame starts in this connection's audio (samples)


@dataclass(frozen=True)
class DataFrame:
    index: int
    total: int
    chunk: bytes


Frame = TimecodeFrame | DataFrame


class CarrierDecoder:
    """Turns one connection's audio bytes into frames, across arbitrary message boundaries.

    A frame split over two messages is reassembled; a frame missing bytes (a lost message) fails its checksum
    and is dropped. Audio that is not carrier audio decodes to nothing.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._width = sample_width(encoding)
        self._odd = b""  # a LINEAR16 byte whose sample is completed by the next message
        self._pending = b""  # symbols that may hold the start of an unfinished frame
        self._pending_start = 0  # sample index of _pending[0] on this connection
        self.samples = 0  # samples received on this connection

    def push(self, data: bytes) -> list[Frame]:
        if self._width == 2:
            data = self._odd + data
            cut = len(data) // 2 * 2
            self._odd = data[cut:]
            symbols = linear16_to_mulaw(data[:cut])
        else:
            symbols = data
        self.samples += len(symbols)
        buffer = self._pending + symbols
        start = self._pending_start
        frames: list[Frame] = []
        keep_from = max(0, len(buffer) - (len(_SYNC) - 1))
        for match in _FRAME_RE.finditer(buffer):
            if match.end() >= len(buffer):  # may continue in the next message
                keep_from = match.start()
                break
            frame = _parse(match.group(1), start + match.start())
            if frame is not None:
                frames.append(frame)
        self._pending = buffer[keep_from:]
        self._pending_start = start + keep_from
        return frames


def _parse(nibbles: bytes, sample_index: int) -> Frame | None:
    if len(nibbles) % 2:
        return None
    raw = bytes.fromhex(nibbles.translate(_TO_HEX).decode())
    if len(raw) < 2 or sum(raw[:-1]) & 0xFF != raw[-1]:
        return None
    payload = raw[:-1]
    if payload[0] == _TIMECODE and len(payload) == 7:
        _, rate, ms = struct.unpack(">BHI", payload)
        return TimecodeFrame(media_ms=ms, sample_rate=rate * 100, sample_index=sample_index)
    if payload[0] == _DATA and len(payload) >= 5:
        _, index, total = struct.unpack_from(">BHH", payload)
        return DataFrame(index=index, total=total, chunk=payload[5:])
    return None


def assemble_transcript(chunks: dict[int, bytes], total: int) -> Transcript | None:
    """The transcript once every preamble chunk has arrived; None until then (or if it is damaged)."""
    if total <= 0 or len(chunks) < total or any(i not in chunks for i in range(total)):
        return None
    try:
        return Transcript.from_json(zlib.decompress(b"".join(chunks[i] for i in range(total))))
    except (zlib.error, ValueError):
        return None


# --- recordings of live calls -------------------------------------------------------------------------------


def wav_audio(data: bytes) -> tuple[str, int, bytes] | None:
    """(encoding, sample rate, samples) of a mono 16-bit PCM or mu-law WAV; None for anything else."""
    from sandbox.media import _riff_chunks  # the same chunk walker the transcript reader uses

    fmt: bytes | None = None
    samples: bytes | None = None
    for chunk in _riff_chunks(data):
        payload = bytes(data[chunk.payload_offset : chunk.payload_end])
        if chunk.kind == b"fmt ":
            fmt = payload
        elif chunk.kind == b"data":
            samples = payload
    if fmt is None or samples is None or len(fmt) < 16:
        return None
    audio_format, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if channels != 1:
        return None
    if audio_format == 1 and bits == 16:
        return "LINEAR16", rate, samples
    if audio_format == 7 and bits == 8:
        return "MULAW", rate, samples
    return None


def wav_file(encoding: str, sample_rate: int, samples: bytes) -> bytes:
    """A mono WAV around raw LINEAR16 (PCM) or MULAW (format 7) samples."""
    width, audio_format = (2, 1) if encoding == "LINEAR16" else (1, 7)
    fmt = struct.pack("<HHIIHH", audio_format, 1, sample_rate, sample_rate * width, width, 8 * width)
    pad = b"\x00" if len(samples) % 2 else b""
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples))
    body += samples + pad
    return b"RIFF" + struct.pack("<I", len(body)) + body
