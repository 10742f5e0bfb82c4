"""From the live event logs to warehouse rows, and a finished live call into the batch path.

Pure functions over files (no Dagster, no DuckDB): ``assets.py`` does the writing.

* ``event_rows``: typed rows for ``raw.live_call_events`` (one per message, insight, topic, tracker match,
  entity, final recognition, system message and client happening; interim results stay in the log only).
* ``handover``: a finished call enters the batch path as a drop-folder manifest whose media is the call's
  recording (a WAV of the audio sent). If the live conversation is complete, its ledger row (status
  ``completed``) is written first, so the batch path fetches its signals and never submits it; if the stream
  lost audio it could not recover, no ledger row is written, so the batch path submits the recording to the
  Async API and that conversation becomes the record (the live one stays in ``raw.live_calls``, superseded).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any

from orchestration.defs.streaming.audio import wav_file
from orchestration.defs.streaming.eventlog import CALLS, EVENTS, read_events

LIVE_MANIFESTS_DIR = "live"  # under <drop folder>/manifests/ and <drop folder>/media/


def event_files(live_dir: Path) -> dict[str, Path]:
    folder = live_dir / EVENTS
    return {p.stem: p for p in sorted(folder.glob("*.jsonl"))} if folder.is_dir() else {}


def call_summaries(live_dir: Path) -> dict[str, dict[str, Any]]:
    folder = live_dir / CALLS
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # written atomically, so only a foreign file can be unreadable: skip it
    return out


def partition_date_of(manifest: dict[str, Any], fallback: float, timezone: tzinfo) -> date:
    raw = manifest.get("start_time")
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    except ValueError:
        moment = datetime.fromtimestamp(fallback, UTC)
    return moment.astimezone(timezone).date()


def _base(record: dict[str, Any], partition: date, item: int, event_type: str) -> dict[str, Any]:
    return {
        "call_id": record["call_id"],
        "partition_date": partition,
        "seq": record["seq"],
        "item": item,
        "received_at": datetime.fromtimestamp(record["at"], UTC),
        "connection": record["connection"],
        "source": record["kind"],
        "event_type": event_type,
    }


def event_rows(
    path: Path, partition: date, after_seq: int, conversation_id: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Rows for records after ``after_seq``, and the conversation id seen (for rows before it was known)."""
    rows: list[dict[str, Any]] = []
    for record in read_events(path, after_seq):
        event = record["event"]
        if record["kind"] == "client":
            row = _base(record, partition, 0, f"client:{event.get('type')}")
            rows.append({**row, "conversation_id": conversation_id, "body": json.dumps(event)})
            continue
        for item, typed in enumerate(_typed(event)):
            if typed.get("conversation_id"):
                conversation_id = typed["conversation_id"]
            typed.setdefault("conversation_id", conversation_id)
            rows.append({**_base(record, partition, item, typed.pop("event_type")), **typed})
    return rows, conversation_id


def _speaker(who: Any) -> dict[str, Any]:
    who = who if isinstance(who, dict) else {}
    return {"speaker_name": who.get("name"), "speaker_user_id": who.get("userId")}


def _typed(event: dict[str, Any]) -> list[dict[str, Any]]:
    kind = event.get("type")
    body = json.dumps(event)
    if kind == "message":
        inner = event.get("message") or {}
        inner_kind = inner.get("type")
        if inner_kind == "recognition_result":
            if not inner.get("isFinal"):
                return []  # interim hypotheses: superseded by the final, kept only in the log
            return [
                {
                    "event_type": "recognition_final",
                    "time_offset_seconds": event.get("timeOffset"),
                    "text": (inner.get("punctuated") or {}).get("transcript"),
                    **_speaker(inner.get("user")),
                    "body": body,
                }
            ]
        data = inner.get("data") or {}
        return [
            {
                "event_type": f"system:{inner_kind}",
                "conversation_id": data.get("conversationId"),
                "text": inner.get("details"),
                "body": body,
            }
        ]
    if kind == "message_response":
        return [
            {
                "event_type": "message",
                "time_offset_seconds": (m.get("duration") or {}).get("timeOffset"),
                "text": (m.get("payload") or {}).get("content"),
                **_speaker(m.get("from")),
                "body": json.dumps(m),
            }
            for m in event.get("messages") or []
        ]
    if kind == "insight_response":
        return [
            {
                "event_type": "insight",
                "insight_type": i.get("type"),
                "time_offset_seconds": i.get("timeOffset"),
                "text": i.get("text") or (i.get("payload") or {}).get("content"),
                **_speaker(i.get("from")),
                "body": json.dumps(i),
            }
            for i in event.get("insights") or []
        ]
    if kind == "topic_response":
        return [
            {"event_type": "topic", "text": t.get("phrases"), "body": json.dumps(t)}
            for t in event.get("topics") or []
        ]
    if kind == "tracker_response":
        return [
            {
                "event_type": "tracker",
                "tracker_name": t.get("name"),
                "time_offset_seconds": event.get("timeOffset"),
                "text": match.get("value"),
                "body": json.dumps(match),
            }
            for t in event.get("trackers") or []
            for match in t.get("matches") or []
        ]
    if kind == "entity_response":
        return [
            {
                "event_type": "entity",
                "insight_type": e.get("type"),
                "text": e.get("text") or e.get("value"),
                "body": json.dumps(e),
            }
            for e in event.get("entities") or []
        ]
    return [{"event_type": f"other:{kind}", "body": body}]


def call_row(call_id: str, summary: dict[str, Any], partition: date) -> dict[str, Any]:
    live_ok = bool(summary.get("completed")) and not summary.get("lost_audio")
    return {
        "call_id": call_id,
        "partition_date": partition,
        "recording_id": (summary.get("manifest") or {}).get("recording_id") or call_id,
        "connection_id": summary.get("connection_id"),
        "conversation_id": summary.get("conversation_id"),
        # live: the live conversation is the record; superseded: the Async API's conversation of the recording
        "status": "live" if live_ok else "superseded",
        "connections": summary.get("connections"),
        "drops": summary.get("drops"),
        "audio_bytes": summary.get("audio_bytes"),
        "resent_bytes": summary.get("resent_bytes"),
        "lost_audio": bool(summary.get("lost_audio")),
        "encoding": summary.get("encoding"),
        "sample_rate": summary.get("sample_rate"),
        "ended_at": datetime.fromtimestamp(summary["ended_at"], UTC) if summary.get("ended_at") else None,
        "event_log": summary.get("event_log"),
        "manifest": json.dumps(summary.get("manifest") or {}),
    }


def write_handover_manifest(drop_root: Path, call_id: str, summary: dict[str, Any]) -> Path:
    """The call as a drop-folder recording: its recording as a WAV plus a manifest, both written atomically."""
    recording_id = (summary.get("manifest") or {}).get("recording_id") or call_id
    media_rel = Path("media") / LIVE_MANIFESTS_DIR / f"{recording_id}.wav"
    audio = Path(summary["audio_path"]).read_bytes()
    _atomic_write(drop_root / media_rel, wav_file(summary["encoding"], summary["sample_rate"], audio))
    manifest = dict(summary.get("manifest") or {})
    manifest["recording_id"] = recording_id
    if not manifest.get("start_time") and summary.get("ended_at"):
        manifest["start_time"] = datetime.fromtimestamp(summary["ended_at"], UTC).isoformat()
    manifest["media"] = {"kind": "audio_file", "path": media_rel.as_posix()}
    manifest.pop("source", None)  # drop-folder manifests carry only the documented fields
    manifest.pop("agent", None)
    path = drop_root / "manifests" / LIVE_MANIFESTS_DIR / f"{recording_id}.json"
    _atomic_write(path, json.dumps(manifest, indent=1).encode())
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    # A watcher (the drop-folder sensor) must never see half a file: write beside it, then rename over it.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
