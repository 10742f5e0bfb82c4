"""Demo media: format detection, embedded transcripts (WAV cvtx chunk, MP4 cvtx box), durations, writers."""

from __future__ import annotations

import contextlib
import random
import struct
import wave
from pathlib import Path

import pytest

from sandbox import media
from sandbox.media import (
    content_type_formats,
    detect_format,
    embedded_transcript,
    media_duration_seconds,
    mp4_bytes,
    sidecar_transcript,
    wav_bytes,
    write_mp4,
    write_wav,
)
from sandbox.transcript import Speaker, Transcript, TranscriptError, Utterance

# user_id set: reading a transcript defaults userId to the email, so round trips compare equal.
MAYA = Speaker("Maya Chen", "maya.chen@lumen.example", "maya.chen@lumen.example")
HANK = Speaker("Hank Scorpio", "hank@globex.example", "hank@globex.example")


def _transcript(end: float = 1834.5) -> Transcript:
    return Transcript(
        utterances=(
            Utterance(MAYA, "Hi Hank, thanks for making the time — ça va?", 0.5, 4.0),
            Utterance(HANK, "We have about $80k allocated for this.", 4.3, end),
        )
    )


def _riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _chunk(kind: bytes, payload: bytes, declared: int | None = None) -> bytes:
    size = len(payload) if declared is None else declared
    return kind + struct.pack("<I", size) + payload + (b"\x00" if len(payload) % 2 else b"")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _ogg_page(first_packet: bytes) -> bytes:
    header = b"OggS" + bytes([0, 2]) + bytes(8) + bytes(4) + bytes(4) + bytes(4)  # version, type, ..., crc
    return header + bytes([1, len(first_packet)]) + first_packet


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64\x00\x00", "mp3"),  # MPEG-1 Layer III frame sync
        (b"\xff\xf3\x48\xc4\x00\x00", "mp3"),  # MPEG-2 Layer III
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (_ogg_page(b"\x01vorbis\x00\x00"), "ogg"),
        (_ogg_page(b"OpusHead\x01\x02"), "opus"),
        (b"FORM\x00\x00\x00\x10AIFFCOMM", "aiff"),
        (b"FORM\x00\x00\x00\x10AIFCFVER", "aiff"),
        (b"#!AMR\n\x3c", "amr"),
        (b"#!AMR-WB\n", "amr"),
        (b"\x0b\x77\x12\x34\x56", "ac3"),
        (b"\xff\xf1\x50\x80\x02\x1f", "aac"),
        (b"\xff\xf9\x50\x80\x02\x1f", "aac"),
        (bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + bytes(8), "wma"),
        (_box(b"ftyp", b"M4A \x00\x00\x00\x00M4A isom"), "m4a"),
        (_box(b"ftyp", b"M4B \x00\x00\x00\x00M4B isom"), "m4a"),
        (_box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41"), "mp4"),
        (_box(b"ftyp", b"mp42\x00\x00\x00\x00mp42isom"), "mp4"),
    ],
)
def test_detect_format_by_magic(head: bytes, expected: str) -> None:
    assert detect_format(head) == expected


@pytest.mark.parametrize(
    "head",
    [b"", b"RIFF", b"RIFF\x00\x00\x00\x00AVI LIST", b"\xff\xff\xff", b'{"format":', b"PK\x03\x04", b"\xff"],
)
def test_detect_format_unknown(head: bytes) -> None:
    assert detect_format(head) is None


def test_content_type_formats() -> None:
    assert content_type_formats("audio/wav") == {"wav"}
    assert content_type_formats("Audio/X-WAV; charset=binary") == {"wav"}
    assert content_type_formats("audio/mpeg") == {"mp3"}
    assert content_type_formats("audio/ogg") == {"ogg", "opus"}
    assert content_type_formats("video/mp4") == {"mp4"}
    assert "m4a" in content_type_formats("audio/x-m4a")
    assert content_type_formats("text/plain") == set()
    # A declared type contradicts a detected format it does not allow.
    assert detect_format(wav_bytes(None)) not in content_type_formats("audio/mpeg")


def test_wav_round_trip_and_standard_decoder(tmp_path: Path) -> None:
    transcript = _transcript()
    path = tmp_path / "call.wav"
    write_wav(path, transcript, audio_seconds=1.0, sample_rate=8000)
    with wave.open(str(path), "rb") as decoded:  # the stdlib decoder skips the cvtx chunk
        assert (decoded.getnchannels(), decoded.getframerate(), decoded.getsampwidth()) == (1, 8000, 2)
        assert decoded.getnframes() == 8000
        assert decoded.readframes(8000) == bytes(16000)
    data = path.read_bytes()
    assert detect_format(data) == "wav"
    assert embedded_transcript(data).to_dict() == transcript.to_dict()
    assert media_duration_seconds(data) == pytest.approx(1.0)
    assert not list(tmp_path.glob(".*.tmp"))


def test_mp4_round_trip(tmp_path: Path) -> None:
    transcript = _transcript(end=125.25)
    path = tmp_path / "call.mp4"
    write_mp4(path, transcript)
    data = path.read_bytes()
    assert detect_format(data) == "mp4"
    assert embedded_transcript(data).to_dict() == transcript.to_dict()
    assert media_duration_seconds(data) == pytest.approx(125.25)
    assert media_duration_seconds(mp4_bytes(transcript, duration_seconds=7.5)) == pytest.approx(7.5)


def test_media_without_transcript() -> None:
    assert embedded_transcript(wav_bytes(None)) is None
    assert embedded_transcript(mp4_bytes(None)) is None
    assert embedded_transcript(b"ID3\x04\x00" + bytes(100)) is None  # a format that cannot carry one


def test_wav_walk_honours_padding_and_other_chunks() -> None:
    # An odd-sized chunk before cvtx is followed by a pad byte; a blind walker lands one byte off.
    payload = _transcript().to_json().encode()
    fmt = _chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16))
    data = _riff(fmt, _chunk(b"LIST", b"INFOodd"), _chunk(b"data", bytes(32000)), _chunk(b"cvtx", payload))
    assert embedded_transcript(data).utterances[1].text.startswith("We have about $80k")
    assert media_duration_seconds(data) == pytest.approx(2.0)


def test_cvtx_bytes_inside_another_chunk_are_not_a_transcript() -> None:
    # The magic appearing inside audio data must not be mistaken for a chunk.
    fake = b"cvtx" + struct.pack("<I", 10) + b"not json!!"
    data = _riff(_chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)), _chunk(b"data", fake))
    assert embedded_transcript(data) is None


def test_mp4_64bit_box_size_and_nested_mvhd() -> None:
    payload = _transcript().to_json().encode()
    large_free = struct.pack(">I", 1) + b"free" + struct.pack(">Q", 16 + 5) + b"12345"
    mvhd_v1 = _box(b"mvhd", b"\x01\x00\x00\x00" + bytes(16) + struct.pack(">IQ", 600, 600 * 90) + bytes(80))
    data = (
        _box(b"ftyp", b"isom\x00\x00\x02\x00isom")
        + large_free
        + _box(b"moov", mvhd_v1)
        + _box(b"cvtx", payload)
    )
    assert embedded_transcript(data) is not None
    assert media_duration_seconds(data) == pytest.approx(90.0)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: _riff(_chunk(b"cvtx", b"{not json")), "not valid JSON"),
        (lambda: _riff(_chunk(b"cvtx", b'{"format": "other"}')), "transcript.format"),
        (lambda: _riff(_chunk(b"cvtx", b"{}", declared=5000)), "truncated"),
        (lambda: _riff(_chunk(b"cvtx", b"", declared=media.MAX_TRANSCRIPT_BYTES + 1)), "limit"),
        (lambda: _box(b"ftyp", b"isom\x00\x00\x00\x00") + _box(b"cvtx", b'{"format": 1}'), "MP4 box"),
        (lambda: _box(b"ftyp", b"isom\x00\x00\x00\x00") + struct.pack(">I", 900) + b"cvtx{}", "truncated"),
    ],
)
def test_malformed_transcript_chunk_names_the_problem(make, needle: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TranscriptError, match=needle) as caught:
        embedded_transcript(make())
    assert "cvtx" in str(caught.value)


def test_truncated_and_random_bytes_never_crash() -> None:
    rng = random.Random(1234)
    samples = [wav_bytes(_transcript()), mp4_bytes(_transcript())]
    inputs: list[bytes] = []
    for sample in samples:
        inputs += [sample[:cut] for cut in range(0, len(sample), 7)]
        for _ in range(200):  # flip bytes in the headers and sizes
            mutated = bytearray(sample)
            for _ in range(3):
                mutated[rng.randrange(min(len(mutated), 200))] = rng.randrange(256)
            inputs.append(bytes(mutated))
    prefixes = (b"RIFF", b"\x00\x00\x00\x18ftyp", b"OggS", b"")
    inputs += [rng.choice(prefixes) + rng.randbytes(rng.randrange(0, 300)) for _ in range(500)]
    for data in inputs:
        detect_format(data)
        media_duration_seconds(data)
        with contextlib.suppress(TranscriptError):
            embedded_transcript(data)


def test_huge_declared_sizes_do_not_allocate() -> None:
    data = b"\x00\x00\x00\x01ftyp" + struct.pack(">Q", 2**63) + b"isom" + bytes(8)
    assert embedded_transcript(data) is None
    riff = b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVE" + b"data" + struct.pack("<I", 0xFFFFFFF0)
    assert media_duration_seconds(riff) is None  # no fmt chunk: no byte rate
    assert embedded_transcript(riff) is None


def test_sidecar_transcript(tmp_path: Path) -> None:
    audio = tmp_path / "call.mp3"
    audio.write_bytes(b"ID3\x04" + bytes(64))
    assert sidecar_transcript(audio) is None
    (tmp_path / "call.mp3.transcript.json").write_text(_transcript().to_json())
    assert sidecar_transcript(audio).to_dict() == _transcript().to_dict()
    (tmp_path / "call.mp3.transcript.json").write_text('{"format": "convo-intel-transcript", "messages": []}')
    with pytest.raises(TranscriptError, match=r"call\.mp3\.transcript\.json.*messages"):
        sidecar_transcript(audio)


def test_wav_duration_from_header_not_file_size() -> None:
    data = wav_bytes(_transcript(), audio_seconds=2.5, sample_rate=16000)
    assert media_duration_seconds(data) == pytest.approx(2.5)
    assert media_duration_seconds(data[:100]) == pytest.approx(2.5)  # the header declares it
    assert media_duration_seconds(b"ID3\x04" + bytes(32)) is None
