"""A small, hand-made corpus whose scorecard can be computed by hand (see test_pipeline_end_to_end.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.media import write_wav
from sandbox.transcript import Speaker, Transcript, Utterance


@dataclass(frozen=True)
class Turn:
    who: str  # "rep" or "prospect"
    text: str
    seconds: float


@dataclass(frozen=True)
class Call:
    recording_id: str
    start: str  # ISO-8601 UTC
    host_name: str
    host_email: str
    prospect_name: str
    prospect_email: str
    account: str
    media_kind: str  # audio_file | transcript_file | video_file | audio_url
    turns: tuple[Turn, ...]
    title: str = ""
    # How Symbl can tell the speakers apart (media only): "channel" (stereo + channel map), "speaker_events"
    # (the platform's who-spoke-when), "none" (mono, diarization's `Speaker <n>` only).
    attribution: str = "none"

    def transcript(self) -> Transcript:
        t, utts = 0.0, []
        rep = Speaker(self.host_name, self.host_email)
        prospect = Speaker(self.prospect_name, self.prospect_email)
        for turn in self.turns:
            channel = (1 if turn.who == "rep" else 2) if self.attribution == "channel" else None
            speaker = rep if turn.who == "rep" else prospect
            utts.append(Utterance(speaker, turn.text, t, t + turn.seconds, channel))
            t += turn.seconds
        return Transcript(tuple(utts))

    @property
    def rep_questions(self) -> int:
        """Questions the rep asked, counted by hand: the rep's sentences that end with a question mark, less
        requests phrased as questions ("Can we schedule ...?"), which Symbl reports as action items
        (docs/contract-decisions.md)."""
        requests = ("can we ", "can you ", "could you ", "would you ", "will you ")
        return sum(
            sentence.strip().endswith("?") and not sentence.strip().lower().startswith(requests)
            for t in self.turns
            if t.who == "rep"
            for sentence in t.text.replace("?", "?|").replace(". ", ".|").split("|")
            if sentence.strip()
        )

    @property
    def rep_seconds(self) -> float:
        return sum(t.seconds for t in self.turns if t.who == "rep")

    @property
    def total_seconds(self) -> float:
        return sum(t.seconds for t in self.turns)


DISCOVERY = (
    Turn("rep", "Thanks for joining today. What is the biggest challenge with your current process?", 10),
    Turn("prospect", "Honestly our reps waste hours on manual notes and the data is a mess.", 20),
    Turn("rep", "Who else is involved in the decision, and what is your timeline?", 10),
    Turn("prospect", "Our CFO signs off. We have about $80k allocated and want to decide this quarter.", 20),
    Turn(
        "rep",
        "Great. I'll send you the proposal by Friday. Can we schedule a follow-up call next Tuesday?",
        10,
    ),
    Turn("prospect", "Yes, Tuesday works. We are also looking at Gong, so pricing matters.", 10),
)
SHALLOW = (
    Turn("rep", "Hi, thanks for the time. Let me show you the product.", 30),
    Turn("prospect", "Sure. This is not a priority for us this quarter, and the price seems high.", 15),
    Turn("rep", "Understood, I'll check in later.", 15),
)


def calls() -> list[Call]:
    return [
        Call(
            "rec-a",
            "2026-04-07T14:00:00Z",
            "Maya Chen",
            "maya.chen@lumen.example",
            "Hank Scorpio",
            "hank@globex.example",
            "Globex",
            "transcript_file",
            DISCOVERY,
            "Discovery - Globex",
        ),
        Call(
            "rec-b",
            "2026-04-07T16:30:00Z",
            "Daniel Okafor",
            "daniel.okafor@lumen.example",
            "Lisa Su",
            "lisa@initech.example",
            "Initech",
            "audio_file",
            SHALLOW,
            "Intro - Initech",
            "channel",
        ),
        Call(
            "rec-c",
            "2026-04-07T18:00:00Z",
            "Zed Outsider",
            "zed@contractor.example",
            "Bob Vance",
            "bob@vance.example",
            "Vance Refrigeration",
            "audio_file",
            DISCOVERY,
            "Discovery - Vance",
        ),
        Call(
            "rec-d",
            "2026-07-08T15:00:00Z",
            "Liam Walsh",
            "liam.walsh@lumen.example",
            "Pam Beesly",
            "pam@dunder.example",
            "Dunder Mifflin",
            "audio_file",
            DISCOVERY,
            "Discovery - Dunder",
            "speaker_events",
        ),
    ]


def manifest(call: Call, media_ref: dict[str, str]) -> dict[str, Any]:
    doc = _manifest(call, media_ref)
    if call.media_kind != "transcript_file" and call.attribution == "channel":
        doc["channels"] = [
            {"channel": 1, "participant": call.host_email},
            {"channel": 2, "participant": call.prospect_email},
        ]
    if call.media_kind != "transcript_file" and call.attribution == "speaker_events":
        doc["speaker_events"] = [
            {"participant": u.speaker.email, "start": u.start, "end": u.end}
            for u in call.transcript().utterances
        ]
    return doc


def _manifest(call: Call, media_ref: dict[str, str]) -> dict[str, Any]:
    return {
        "recording_id": call.recording_id,
        "start_time": call.start,
        "duration_seconds": call.total_seconds,
        "title": call.title,
        "call_type": "discovery",
        "account": {"id": f"acct-{call.account.lower().replace(' ', '-')}", "name": call.account},
        "host": {"name": call.host_name, "email": call.host_email},
        "participants": [
            {"name": call.host_name, "email": call.host_email, "role": "rep"},
            {"name": call.prospect_name, "email": call.prospect_email, "role": "prospect"},
        ],
        "language_code": "en-US",
        "media": media_ref,
    }


def write_call(root: Path, call: Call) -> None:
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    (root / "media").mkdir(parents=True, exist_ok=True)
    transcript = call.transcript()
    if call.media_kind == "transcript_file":
        rel = f"media/{call.recording_id}.transcript.json"
        (root / rel).write_text(transcript.to_json())
        media = {"kind": "transcript_file", "path": rel}
    else:
        rel = f"media/{call.recording_id}.wav"
        write_wav(root / rel, transcript, channels=2 if call.attribution == "channel" else 1)
        media = {"kind": "audio_file", "path": rel}
    (root / "manifests" / f"{call.recording_id}.json").write_text(json.dumps(manifest(call, media), indent=2))


def write_bad_manifests(root: Path) -> dict[str, str]:
    """Three broken manifests on 2026-04-07; returns file name -> a word the rejection reason must contain."""
    d = root / "manifests"
    (d / "bad-json.json").write_text('{"recording_id": "rec-bad-json", "start_time": ')
    (d / "missing-host.json").write_text(
        json.dumps(
            {
                "recording_id": "rec-no-host",
                "start_time": "2026-04-07T10:00:00Z",
                "participants": [],
                "media": {"kind": "audio_file", "path": "media/x.wav"},
            }
        )
    )
    call = Call(
        "rec-no-media",
        "2026-04-07T11:00:00Z",
        "Maya Chen",
        "maya.chen@lumen.example",
        "X Y",
        "x@y.example",
        "Y",
        "audio_file",
        SHALLOW,
    )
    (d / "missing-media.json").write_text(
        json.dumps(manifest(call, {"kind": "audio_file", "path": "media/does-not-exist.wav"}))
    )
    return {"bad-json.json": "json", "missing-host.json": "host", "missing-media.json": "does-not-exist"}


def day_of(call: Call) -> str:
    return (datetime.fromisoformat(call.start.replace("Z", "+00:00")) + timedelta()).date().isoformat()
