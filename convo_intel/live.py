"""``convo-intel live FILE --speed N``: play a recording into Symbl's Streaming API as a live call.

FILE is a media file or a drop-folder manifest (then its media is played and its fields describe the call).
Demo media carries its transcript (``docs/drop-folder.md``); it is rendered into audio the sandbox can hear
(``sandbox/speech_carrier.py``). Any other file must be 16-bit mono PCM WAV at the chosen rate.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from orchestration.defs.streaming.audio import AudioError, read_pcm_wav
from orchestration.defs.streaming.calls import LiveSettings, new_live_call
from orchestration.defs.streaming.client import paced


def load_call_audio(path: Path, encoding: str, sample_rate: int) -> bytes:
    from sandbox import media, speech_carrier

    raw = path.read_bytes()
    transcript = media.embedded_transcript(raw) or media.sidecar_transcript(path)
    if transcript is not None:
        return speech_carrier.render(transcript, encoding, sample_rate)
    pcm = read_pcm_wav(raw)
    if pcm.sample_rate != sample_rate:
        raise AudioError(f"{path.name} is {pcm.sample_rate} Hz; pass --sample-rate {pcm.sample_rate}")
    return pcm.data if encoding == "LINEAR16" else speech_carrier.linear16_to_mulaw(pcm.data)


def _manifest_and_media(file: Path, manifest_path: Path | None) -> tuple[dict[str, Any], Path]:
    if manifest_path is None and file.suffix == ".json":
        manifest_path, file = file, Path()
    if manifest_path is None:
        return {"recording_id": file.stem}, file
    manifest = json.loads(manifest_path.read_text())
    if file != Path():
        return manifest, file
    # Manifest paths are relative to the drop folder's root: the folder that holds manifests/.
    root = next(
        (p.parent for p in manifest_path.resolve().parents if p.name == "manifests"), manifest_path.parent
    )
    media_path = Path(manifest.get("media", {}).get("path", ""))
    return manifest, media_path if media_path.is_absolute() else root / media_path


def run_live(
    file: Path,
    *,
    speed: float,
    manifest_path: Path | None,
    encoding: str,
    sample_rate: int,
    call_id: str | None,
) -> int:
    manifest, media_path = _manifest_and_media(file, manifest_path)
    try:
        audio = load_call_audio(media_path, encoding, sample_rate)
    except (AudioError, OSError, ValueError) as exc:
        print(f"convo-intel live: {exc}", file=sys.stderr)
        return 2
    settings = LiveSettings.from_env()
    call = new_live_call(
        settings,
        call_id or str(manifest.get("recording_id")),
        manifest,
        encoding=encoding,
        sample_rate=sample_rate,
    )
    width = 2 if encoding == "LINEAR16" else 1
    result = asyncio.run(call.run(paced(audio, sample_rate * width, speed)))
    print(json.dumps(result.as_dict()))
    return 0 if result.completed and not result.lost_audio else 1
