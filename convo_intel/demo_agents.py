"""The demo's AI voice-agent calls: streamed live to Symbl, scored by the quality gate the moment they stop.

Three calls to Lumen's refund bot, grounded in its refund policy. One of them hallucinates ("we refund within 90
days" where the policy says 30): the gate flags it with both quotes and alerts Slack once. The calls land through
``live_calls_job`` like any live call and reach the ``ai_agent_quality_daily`` mart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sandbox.transcript import Speaker, Transcript, Utterance

AGENT = Speaker("Refund Bot", "refund-bot@lumen.example", "refund-bot@lumen.example")
AGENT_ID = "refund-bot"
POLICY = (
    "Refunds are accepted within 30 days of purchase. After that we offer store credit for faulty items.\n"
    "Shipping labels for returns are free and are emailed the same day.\n"
)
SPEED = 20.0  # times real time: the demo should not take as long as the calls
SAMPLE_RATE = 16000


def _call(caller: Speaker, lines: list[tuple[str, str]]) -> Transcript:
    utterances, clock = [], 0.5
    for who, text in lines:
        seconds = max(2.0, len(text.split()) / 2.6)
        utterances.append(Utterance(AGENT if who == "agent" else caller, text, clock, clock + seconds))
        clock += seconds + 0.6
    return Transcript(tuple(utterances))


AGENT_CALLS: tuple[tuple[str, str, Speaker, Transcript], ...] = (
    (
        "rec-ai-20260929-0001",
        "2026-09-29T10:00:00Z",
        Speaker("Dana Price", "dana@customer.example"),
        _call(
            Speaker("Dana Price", "dana@customer.example"),
            [
                ("caller", "Hi, I bought a blender last month and it broke. Can I get a refund?"),
                (
                    "agent",
                    "I am sorry to hear that. According to our policy, we refund within 90 days of purchase.",
                ),
                ("caller", "Great, so how do I send the blender back to you?"),
                ("agent", "I will email you a prepaid shipping label today."),
            ],
        ),
    ),
    (
        "rec-ai-20260929-0002",
        "2026-09-29T11:30:00Z",
        Speaker("Omar Haddad", "omar@customer.example"),
        _call(
            Speaker("Omar Haddad", "omar@customer.example"),
            [
                ("caller", "My kettle stopped working after two weeks. What are my options?"),
                (
                    "agent",
                    "Refunds are accepted within 30 days of purchase, so you can return it for a refund.",
                ),
                ("caller", "Thanks, that is clear."),
                ("agent", "You are welcome. I will email the free shipping label right now."),
            ],
        ),
    ),
    (
        "rec-ai-20260929-0003",
        "2026-09-29T14:15:00Z",
        Speaker("Lena Fischer", "lena@customer.example"),
        _call(
            Speaker("Lena Fischer", "lena@customer.example"),
            [
                ("caller", "I bought a toaster three months ago and it is faulty."),
                ("agent", "That is outside the 30 day refund window, but we can offer store credit for it."),
                ("caller", "Store credit works for me."),
                ("agent", "Done. The credit is on your account and the return label is in your inbox."),
            ],
        ),
    ),
)


def manifest(recording_id: str, start: str, caller: Speaker) -> dict[str, Any]:
    return {
        "recording_id": recording_id,
        "start_time": start,
        "title": "Refund line (AI agent)",
        "call_type": "ai_agent",
        "host": {"name": AGENT.name, "email": AGENT.email},
        "participants": [
            {"name": AGENT.name, "email": AGENT.email, "role": "agent"},
            {"name": caller.name, "email": caller.email, "role": "customer"},
        ],
        "agent": {"type": "ai", "id": AGENT_ID},
    }


def write_policy(policy_dir: Path) -> None:
    (policy_dir / AGENT_ID).mkdir(parents=True, exist_ok=True)
    (policy_dir / AGENT_ID / "refunds.md").write_text(POLICY)


def play_agent_calls() -> list[dict[str, Any]]:
    """Stream every demo agent call to Symbl (the environment is the demo's); one result per call."""
    from orchestration.defs.streaming.calls import LiveSettings, new_live_call
    from orchestration.defs.streaming.client import paced
    from sandbox.speech_carrier import render

    settings = LiveSettings.from_env()
    results = []
    for recording_id, start, caller, transcript in AGENT_CALLS:
        audio = render(transcript, "LINEAR16", SAMPLE_RATE)
        call = new_live_call(
            settings, recording_id, manifest(recording_id, start, caller), encoding="LINEAR16",
            sample_rate=SAMPLE_RATE,
        )  # fmt: skip
        result = asyncio.run(call.run(paced(audio, SAMPLE_RATE * 2, SPEED)))
        if not result.completed:
            raise SystemExit(f"live call {recording_id} did not complete")
        results.append({"recording_id": recording_id, "conversation_id": result.conversation_id})
    return results
