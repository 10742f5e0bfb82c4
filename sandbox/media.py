"""Demo media: recognising audio/video formats and reading the transcript that demo media carries.

The sandbox cannot recognise speech, so demo media carries its own transcript (see ``transcript.py`` and
``docs/drop-folder.md``):

- WAV: a RIFF chunk with id ``cvtx`` whose payload is the transcript JSON,
- MP4/M4A: a top-level ISO BMFF box of type ``cvtx`` with the same payload,
- any format: a sidecar file ``<media file>.transcript.json``.

Standard decoders skip chunks and boxes they do not know, so against the real Symbl the same files are
ordinary (silent) audio or video.

Duration: demo media is a short silent clip (one second of WAV silence, or an MP4 whose movie header
declares the call length) carrying a transcript that may run for 45 minutes. ``media_duration_seconds``
reports only what the container header says; the sandbox takes ``max(audio duration, transcript end)`` as
the media duration, so a one second WAV with a 30 minute transcript is billed and timed as a 30 minute call.

Everything here parses untrusted bytes: the readers walk the container structure (chunk and box sizes, RIFF
padding, 64-bit box sizes) instead of searching for magic bytes, never allocate more than the input already
holds, and raise nothing but ``TranscriptError`` (a ``ValueError``) when the transcript itself is broken. A
container too damaged to walk simply has no transcript (``None``), which the caller reports as "no
transcript".
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.transcript import Transcript, TranscriptError

TRANSCRIPT_CHUNK_ID = b"cvtx"
SIDECAR_SUFFIX = ".transcript.json"
# A transcript of a four-hour call is well under 2 MB of JSON; anything far larger is not a transcript.
MAX_TRANSCRIPT_BYTES = 32 * 1024 * 1024

AUDIO_FORMATS: frozenset[str] = frozenset(
    {"wav", "mp3", "flac", "ogg", "opus", "aiff", "amr", "ac3", "aac", "wma", "m4a"}
)
VIDEO_FORMATS: frozenset[str] = frozenset({"mp4"})
ALL_FORMATS: frozenset[str] = AUDIO_FORMATS | VIDEO_FORMATS

# ASF (WMA/WMV) header object GUID, as it appears on disk.
_ASF_HEADER_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_M4A_BRANDS = {b"M4A ", b"M4B "}

_CONTENT_TYPES: dict[str, frozenset[str]] = {
    "audio/wav": frozenset({"wav"}),
    "audio/x-wav": frozenset({"wav"}),
    "audio/wave": frozenset({"wav"}),
    "audio/vnd.wave": frozenset({"wav"}),
    "audio/mpeg": frozenset({"mp3"}),
    "audio/mp3": frozenset({"mp3"}),
    "audio/mpeg3": frozenset({"mp3"}),
    "audio/x-mpeg-3": frozenset({"mp3"}),
    "audio/flac": frozenset({"flac"}),
    "audio/x-flac": frozenset({"flac"}),
    # An Ogg container may carry Vorbis, FLAC or Opus: audio/ogg allows both names we detect.
    "audio/ogg": frozenset({"ogg", "opus"}),
    "audio/opus": frozenset({"opus"}),
    "audio/aac": frozenset({"aac"}),
    "audio/x-aac": frozenset({"aac"}),
    "audio/aacp": frozenset({"aac"}),
    "audio/amr": frozenset({"amr"}),
    "audio/amr-wb": frozenset({"amr"}),
    "audio/ac3": frozenset({"ac3"}),
    "audio/aiff": frozenset({"aiff"}),
    "audio/x-aiff": frozenset({"aiff"}),
    "audio/x-ms-wma": frozenset({"wma"}),
    # Audio-only MP4 files often carry a generic major brand (isom, mp42), so audio MP4 types allow both.
    "audio/mp4": frozenset({"m4a", "mp4"}),
    "audio/m4a": frozenset({"m4a", "mp4"}),
    "audio/x-m4a": frozenset({"m4a", "mp4"}),
    "video/mp4": frozenset({"mp4"}),
    # "Some bytes": declares nothing, so it contradicts no format.
    "application/octet-stream": ALL_FORMATS,
}


# --- format detection ---------------------------------------------------------------------------------------


def detect_format(data: bytes) -> str | None:
    """The format named by the leading magic bytes (``wav``, ``mp3``, ``mp4`` ...); None when unknown."""
    head = bytes(data[:64])
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "opus" if _ogg_first_packet(data).startswith(b"OpusHead") else "ogg"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:5] == b"#!AMR":  # covers #!AMR\n and #!AMR-WB\n
        return "amr"
    if head[:16] == _ASF_HEADER_GUID:
        return "wma"
    if head[4:8] == b"ftyp" and len(head) >= 12:
        return "m4a" if head[8:12] in _M4A_BRANDS else "mp4"
    if head[:3] == b"ID3":
        return "mp3"
    if head[:2] == b"\x0b\x77":
        return "ac3"
    if len(head) >= 2 and head[0] == 0xFF:
        # ADTS: 12-bit sync, then MPEG version bit, layer bits always 00, protection bit (0xFFF0/1/8/9).
        if head[1] & 0xF6 == 0xF0:
            return "aac"
        if _is_mpeg_audio_frame(head):
            return "mp3"
    return None


def _ogg_first_packet(data: bytes) -> bytes:
    """The start of the first Ogg page's first packet (after the 27-byte header and the segment table)."""
    if len(data) < 27:
        return b""
    payload_start = 27 + data[26]
    return bytes(data[payload_start : payload_start + 8])


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG-1/2/2.5 audio frame header (11-bit sync) with no reserved field values."""
    if len(head) < 3 or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate_index = head[2] >> 4
    sample_rate_index = (head[2] >> 2) & 0b11
    return version != 0b01 and layer != 0b00 and bitrate_index != 0b1111 and sample_rate_index != 0b11


def content_type_formats(content_type: str) -> set[str]:
    """Formats a declared ``Content-Type`` allows (parameters such as ``; codecs=...`` are ignored).

    An unknown or non-media type allows nothing, so a caller validating ``detected in allowed`` rejects it.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    return set(_CONTENT_TYPES.get(media_type, frozenset()))


# --- container walking --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One RIFF chunk or ISO BMFF box: its id, where its payload starts, and the payload size it declares."""

    kind: bytes
    payload_offset: int
    declared_size: int

    @property
    def payload_end(self) -> int:
        return self.payload_offset + self.declared_size


def _riff_chunks(data: bytes) -> Iterator[_Part]:
    """The chunks of a RIFF/WAVE file in order. Stops at the end of the RIFF form or at a truncated header.

    A chunk whose declared size runs past the end of the data is still yielded (the caller decides whether a
    truncated payload matters) and ends the walk, since nothing after it can be located.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return
    (riff_size,) = struct.unpack_from("<I", data, 4)
    # Streaming writers leave the RIFF size at 0 or 0xFFFFFFFF; then the buffer's end is the form's end.
    end = 8 + riff_size if 12 <= 8 + riff_size <= len(data) else len(data)
    offset = 12
    while offset + 8 <= end:
        kind = bytes(data[offset : offset + 4])
        (size,) = struct.unpack_from("<I", data, offset + 4)
        part = _Part(kind, offset + 8, size)
        yield part
        if part.payload_end > end:
            return
        offset = part.payload_end + (size & 1)  # odd-sized chunks are followed by one padding byte


def _bmff_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[_Part]:
    """The boxes of an ISO BMFF file (or of one container box's payload) in order.

    Handles 32-bit sizes, 64-bit ``largesize`` (size field 1) and "to the end" (size field 0). Stops at a
    size smaller than its own header (the structure cannot be followed past it); a box running past ``end`` is
    yielded and ends the walk.
    """
    end = len(data) if end is None else min(end, len(data))
    offset = start
    while offset + 8 <= end:
        (size,) = struct.unpack_from(">I", data, offset)
        kind = bytes(data[offset + 4 : offset + 8])
        header = 8
        if size == 1:
            if offset + 16 > end:
                return
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header:
            return
        part = _Part(kind, offset + header, size - header)
        yield part
        if part.payload_end > end:
            return
        offset = part.payload_end


# --- the transcript -----------------------------------------------------------------------------------------


def embedded_transcript(data: bytes) -> Transcript | None:
    """The transcript in a WAV ``cvtx`` chunk or a top-level MP4/M4A ``cvtx`` box; None when there is none.

    Raises ``TranscriptError`` naming the problem when the chunk/box exists but is truncated, oversized or not
    a valid transcript document. Only the first ``cvtx`` is read.
    """
    fmt = detect_format(data)
    if fmt == "wav":
        parts, container = _riff_chunks(data), "WAV chunk"
    elif fmt in ("mp4", "m4a"):
        parts, container = _bmff_boxes(data), "MP4 box"
    else:
        return None
    for part in parts:
        if part.kind != TRANSCRIPT_CHUNK_ID:
            continue
        if part.declared_size > MAX_TRANSCRIPT_BYTES:
            raise TranscriptError(
                f"cvtx {container} declares {part.declared_size} bytes, more than the "
                f"{MAX_TRANSCRIPT_BYTES}-byte limit for a transcript"
            )
        available = len(data) - part.payload_offset
        if part.declared_size > available:
            raise TranscriptError(
                f"cvtx {container} is truncated: it declares {part.declared_size} bytes but only "
                f"{max(available, 0)} are present"
            )
        payload = bytes(data[part.payload_offset : part.payload_end])
        try:
            return Transcript.from_json(payload)
        except TranscriptError as exc:
            raise TranscriptError(f"cvtx {container}: {exc}") from exc
    return None


def sidecar_path(media_path: Path) -> Path:
    """Where the sidecar transcript of ``media_path`` lives: ``<media file>.transcript.json``."""
    return media_path.with_name(media_path.name + SIDECAR_SUFFIX)


def sidecar_transcript(media_path: Path) -> Transcript | None:
    """The transcript in ``<media file>.transcript.json``; None when there is no such file.

    Raises ``TranscriptError`` naming the sidecar file when it exists but is too large or not a valid
    transcript.
    """
    path = sidecar_path(media_path)
    if not path.is_file():
        return None
    size = path.stat().st_size
    if size > MAX_TRANSCRIPT_BYTES:
        raise TranscriptError(f"{path.name}: {size} bytes is more than the {MAX_TRANSCRIPT_BYTES}-byte limit")
    try:
        return Transcript.from_json(path.read_bytes())
    except TranscriptError as exc:
        raise TranscriptError(f"{path.name}: {exc}") from exc


# --- duration -----------------------------------------------------------------------------------------------


def media_duration_seconds(data: bytes) -> float | None:
    """The duration the container header declares: WAV data size / byte rate, or the MP4 ``mvhd`` duration.

    None for other formats or when the header lacks what is needed. This is the audio's own length only: see
    the module docstring for how the sandbox combines it with the transcript's end.
    """
    fmt = detect_format(data)
    if fmt == "wav":
        return _wav_duration(data)
    if fmt in ("mp4", "m4a"):
        return _mp4_duration(data)
    return None


def _wav_duration(data: bytes) -> float | None:
    byte_rate: int | None = None
    data_size: int | None = None
    for chunk in _riff_chunks(data):
        if chunk.kind == b"fmt " and chunk.declared_size >= 16 and chunk.payload_offset + 12 <= len(data):
            (byte_rate,) = struct.unpack_from("<I", data, chunk.payload_offset + 8)
        elif chunk.kind == b"data":
            # The header is authoritative, except streaming writers' placeholders (0, 0xFFFFFFFF).
            data_size = chunk.declared_size
            if data_size in (0, 0xFFFFFFFF):
                data_size = max(0, min(len(data), chunk.payload_end) - chunk.payload_offset)
        if byte_rate is not None and data_size is not None:
            break
    if not byte_rate or data_size is None:
        return None
    return data_size / byte_rate


def _mp4_duration(data: bytes) -> float | None:
    for box in _bmff_boxes(data):
        if box.kind != b"moov":
            continue
        for child in _bmff_boxes(data, box.payload_offset, box.payload_end):
            if child.kind == b"mvhd":
                return _mvhd_duration(data, child)
        return None
    return None


def _mvhd_duration(data: bytes, box: _Part) -> float | None:
    offset = box.payload_offset
    if offset + 4 > len(data):
        return None
    version = data[offset]
    if version == 1:
        if offset + 32 > min(len(data), box.payload_end):
            return None
        timescale, duration = struct.unpack_from(">IQ", data, offset + 20)
        unknown = 0xFFFFFFFFFFFFFFFF
    elif version == 0:
        if offset + 20 > min(len(data), box.payload_end):
            return None
        timescale, duration = struct.unpack_from(">II", data, offset + 12)
        unknown = 0xFFFFFFFF
    else:
        return None
    if timescale == 0 or duration == unknown:
        return None
    return duration / timescale


# --- writers (for the demo corpus generator and tests) ------------------------------------------------------


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    pad = b"\x00" if len(payload) % 2 else b""
    return kind + struct.pack("<I", len(payload)) + payload + pad


def wav_bytes(
    transcript: Transcript | None,
    audio_seconds: float = 1.0,
    sample_rate: int = 8000,
    sample_width: int = 2,
    channels: int = 1,
) -> bytes:
    """A PCM WAV of silence (mono, or ``channels`` interleaved), with the transcript in a ``cvtx`` chunk after
    the audio when given."""
    if sample_width not in (1, 2):
        raise ValueError("sample_width must be 1 (8-bit) or 2 (16-bit)")
    if sample_rate <= 0 or audio_seconds < 0:
        raise ValueError("sample_rate must be positive and audio_seconds not negative")
    if channels not in (1, 2):
        raise ValueError("channels must be 1 (mono) or 2 (stereo)")
    frames = round(audio_seconds * sample_rate)
    # Silence is the midpoint: 0x80 for unsigned 8-bit PCM, 0 for signed 16-bit PCM.
    samples = (b"\x80" if sample_width == 1 else b"\x00\x00") * frames * channels
    block_align = sample_width * channels
    byte_rate = sample_rate * block_align
    fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, byte_rate, block_align, 8 * sample_width)  # PCM
    body = b"WAVE" + _riff_chunk(b"fmt ", fmt) + _riff_chunk(b"data", samples)
    if transcript is not None:
        body += _riff_chunk(TRANSCRIPT_CHUNK_ID, transcript.to_json().encode("utf-8"))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(transcript: Transcript | None, duration_seconds: float | None = None) -> bytes:
    """A minimal ISO BMFF file: ``ftyp``, ``moov`` holding an ``mvhd`` with the duration, and a ``cvtx`` box.

    The movie has no tracks (a silent, empty presentation); the duration defaults to the transcript's end.
    """
    if duration_seconds is None:
        duration_seconds = transcript.duration_seconds if transcript is not None else 0.0
    timescale = 1000
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    unity_matrix = (0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, timescale, round(duration_seconds * timescale))
        + struct.pack(">IH10x", 0x00010000, 0x0100)  # rate 1.0, volume 1.0, reserved
        + struct.pack(">9I", *unity_matrix)
        + bytes(24)  # pre_defined
        + struct.pack(">I", 1),  # next_track_ID
    )
    out = ftyp + _box(b"moov", mvhd)
    if transcript is not None:
        out += _box(TRANSCRIPT_CHUNK_ID, transcript.to_json().encode("utf-8"))
    return out


def write_wav(
    path: Path,
    transcript: Transcript | None,
    audio_seconds: float = 1.0,
    sample_rate: int = 8000,
    channels: int = 1,
) -> None:
    """Write a silent PCM WAV carrying ``transcript`` (see ``wav_bytes``), atomically."""
    _write_atomically(
        path, wav_bytes(transcript, audio_seconds=audio_seconds, sample_rate=sample_rate, channels=channels)
    )


def write_mp4(path: Path, transcript: Transcript | None, duration_seconds: float | None = None) -> None:
    """Write a minimal MP4 carrying ``transcript`` (see ``mp4_bytes``), atomically."""
    _write_atomically(path, mp4_bytes(transcript, duration_seconds=duration_seconds))


def _write_atomically(path: Path, data: bytes) -> None:
    # A watcher (the drop-folder sensor) must never see half a file: write beside it, then rename over it.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
