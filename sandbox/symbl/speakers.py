"""Who Symbl says spoke: the identities the recogniser can know, and the updates that correct them later.

Demo media carries the real speaker of every utterance (the sandbox's stand-in for the audio), but Symbl does
not hear names. What a client gets back depends on how it submitted (``symbl-api.md``, "Speaker diarization"):

- text submissions keep the ``from`` each message was sent with;
- media with ``enableSeparateRecognitionPerChannel`` and ``channelMetadata`` gets one named speaker per
  channel, from the metadata (a mono recording is one channel, so everybody becomes channel 1's speaker);
- media with ``enableSpeakerDiarization`` gets generic ``Speaker <n>`` speakers, with arbitrary numbers and no
  email or userId;
- media with neither is one undivided voice, ``Speaker 1``.

Afterwards the client can tell Symbl who spoke: ``PUT /v1/conversations/{id}/speakers`` (speaker events:
who started and stopped speaking when, as Zoom or Teams report them) and ``PUT .../members/{memberId}`` (one
member's identity). Both are stored as updates and replayed, in order, over the conversation's utterances
every time it is analysed, so messages, insights, members and analytics all follow them.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

from sandbox.intelligence.ids import uuid_id
from sandbox.intelligence.members import speaker_key
from sandbox.symbl.errors import bad_request
from sandbox.symbl.options import SubmitOptions
from sandbox.transcript import Speaker, Utterance

# SandboxConfig.speaker_identity values.
PRODUCTION_IDENTITY = "production"  # what Symbl returns (the default)
TRANSCRIPT_IDENTITY = "transcript"  # the embedded transcript's real names and emails (kinder than production)
SPEAKER_IDENTITIES = (PRODUCTION_IDENTITY, TRANSCRIPT_IDENTITY)

UPDATE_SPEAKER_EVENTS = "speaker_events"
UPDATE_MEMBER = "member"
MAX_SPEAKER_EVENTS = 10_000


def recognised(
    utterances: Sequence[Utterance], kind: str, options: SubmitOptions, conversation_id: str, identity: str
) -> list[Utterance]:
    """The utterances with the speakers Symbl would report for this submission."""
    if kind == "text" or identity == TRANSCRIPT_IDENTITY:
        return list(utterances)
    if options.enable_separate_recognition_per_channel and options.channel_metadata:
        by_channel = _channel_speakers(options.channel_metadata)
        return [
            dataclasses.replace(
                u, speaker=by_channel.get(u.channel or 1) or Speaker(f"Speaker {u.channel or 1}")
            )
            for u in utterances
        ]
    if options.enable_speaker_diarization:
        return _diarized(utterances, conversation_id)
    return [dataclasses.replace(u, speaker=Speaker("Speaker 1")) for u in utterances]


def _channel_speakers(metadata: Sequence[dict[str, Any]]) -> dict[int, Speaker]:
    speakers: dict[int, Speaker] = {}
    for item in metadata:
        channel = item.get("channel")
        spk = item.get("speaker") if isinstance(item.get("speaker"), dict) else {}
        if not isinstance(channel, int) or isinstance(channel, bool):
            continue
        name = spk.get("name") if isinstance(spk.get("name"), str) and spk.get("name") else None
        email = spk.get("email") if isinstance(spk.get("email"), str) and spk.get("email") else None
        speakers[channel] = Speaker(name or email or f"Speaker {channel}", email, email)
    return speakers


def _diarized(utterances: Sequence[Utterance], conversation_id: str) -> list[Utterance]:
    """Distinct voices as ``Speaker <n>``; the numbers are arbitrary (seeded by the conversation, so stable)."""
    keys: list[str] = []
    for u in utterances:
        if speaker_key(u.speaker) not in keys:
            keys.append(speaker_key(u.speaker))
    numbers = random.Random(f"diarization:{conversation_id}").sample(range(0, 10 + len(keys)), len(keys))
    generic = {key: Speaker(f"Speaker {n}") for key, n in zip(keys, numbers, strict=True)}
    return [dataclasses.replace(u, speaker=generic[speaker_key(u.speaker)]) for u in utterances]


# --- updates after the fact -----------------------------------------------------------------------------------


def parse_speaker_events(body: Any) -> list[dict[str, Any]]:
    """Validate a ``PUT .../speakers`` body: ``{"speakerEvents": [{type, user{id,name,email}, offset}]}``."""
    if not isinstance(body, dict) or not isinstance(body.get("speakerEvents"), list):
        raise bad_request("speakerEvents must be a list.")
    events = body["speakerEvents"]
    if not events:
        raise bad_request("speakerEvents must not be empty.")
    if len(events) > MAX_SPEAKER_EVENTS:
        raise bad_request(f"speakerEvents holds more than {MAX_SPEAKER_EVENTS} events.")
    parsed = []
    for i, event in enumerate(events):
        where = f"speakerEvents[{i}]"
        if not isinstance(event, dict):
            raise bad_request(f"{where} must be an object.")
        if event.get("type") not in ("started_speaking", "stopped_speaking"):
            raise bad_request(f"{where}.type must be started_speaking or stopped_speaking.")
        user = event.get("user")
        if not isinstance(user, dict) or not any(isinstance(user.get(k), str) for k in ("id", "email")):
            raise bad_request(f"{where}.user must carry an id or an email.")
        offset = event.get("offset")
        if not isinstance(offset, dict):
            raise bad_request(f"{where}.offset must be an object with seconds and nanos.")
        try:
            seconds = float(offset.get("seconds", 0)) + float(offset.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            raise bad_request(f"{where}.offset.seconds/nanos must be numbers.") from None
        if seconds < 0:
            raise bad_request(f"{where}.offset must not be negative.")
        parsed.append(
            {
                "type": event["type"],
                "user": {k: user[k] for k in ("id", "name", "email") if isinstance(user.get(k), str)},
                "seconds": seconds,
            }
        )
    return parsed


def parse_member_update(member_id: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("The body must be an object with id, name and email.")
    if body.get("id") not in (None, member_id):
        raise bad_request("id in the body does not match the member id in the path.")
    name, email = body.get("name"), body.get("email")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name is required.")
    if email is not None and not isinstance(email, str):
        raise bad_request("email must be a string.")
    return {"member_id": member_id, "name": name.strip(), "email": email or None}


def member_id(conversation_id: str, speaker: Speaker) -> str:
    """The id the intelligence gives this speaker's member (see ``sandbox.intelligence.members.Roster``)."""
    return uuid_id(conversation_id, "member", speaker_key(speaker))


def apply_updates(
    conversation_id: str, utterances: Sequence[Utterance], updates: Sequence[tuple[str, dict[str, Any]]]
) -> list[Utterance]:
    """Replay the stored updates, oldest first, over the utterances."""
    result = list(utterances)
    for kind, update in updates:
        if kind == UPDATE_SPEAKER_EVENTS:
            result = _attribute_by_events(result, update["events"])
        elif kind == UPDATE_MEMBER:
            renamed = Speaker(update["name"], update["email"], update["email"])
            result = [
                dataclasses.replace(u, speaker=renamed)
                if member_id(conversation_id, u.speaker) == update["member_id"]
                else u
                for u in result
            ]
    return result


def _attribute_by_events(utterances: list[Utterance], events: list[dict[str, Any]]) -> list[Utterance]:
    """Each utterance goes to the user who was speaking for most of it; no overlap keeps the old speaker."""
    intervals: list[tuple[float, float, Speaker]] = []
    open_since: dict[str, tuple[float, Speaker]] = {}
    horizon = max((u.end for u in utterances), default=0.0)
    for event in sorted(events, key=lambda e: e["seconds"]):
        user = event["user"]
        key = (user.get("email") or user.get("id") or "").lower()
        speaker = Speaker(user.get("name") or user.get("email") or key, user.get("email"), user.get("email"))
        if event["type"] == "started_speaking":
            open_since.setdefault(key, (event["seconds"], speaker))
        elif key in open_since:
            begin, spk = open_since.pop(key)
            intervals.append((begin, event["seconds"], spk))
    intervals += [(begin, horizon, spk) for begin, spk in open_since.values()]

    attributed = []
    for u in utterances:
        best: tuple[float, Speaker] | None = None
        for begin, end, spk in intervals:
            overlap = min(end, u.end) - max(begin, u.start)
            if overlap > 0 and (best is None or overlap > best[0]):
                best = (overlap, spk)
        attributed.append(u if best is None else dataclasses.replace(u, speaker=best[1]))
    return attributed
