"""The real-time quality gate for AI-agent calls: risky-tracker alerts during the call, an AIQGATE1 verdict
grounded in the agent's policy at stop, and the hallucination alert exactly once, across three dropped sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from orchestration.defs.streaming.calls import LiveSettings, new_live_call
from orchestration.defs.streaming.client import paced
from orchestration.defs.streaming.eventlog import read_events
from orchestration.defs.streaming.quality_gate import GateSettings, QualityGate
from sandbox.config import SandboxConfig
from sandbox.speech_carrier import render
from sandbox.transcript import Speaker, Transcript, Utterance
from tests.streaming.calls import stats

BOT = Speaker("Refund Bot", "refund-bot@lumen.example", "refund-bot@lumen.example")
CALLER = Speaker("Dana Price", "dana@customer.example", "dana@customer.example")
CALL = Transcript(
    (
        Utterance(CALLER, "Hi, I bought a blender last month and it broke. Can I get a refund?", 0.5, 5.0),
        Utterance(
            BOT,
            "I am sorry to hear that. According to our policy, we refund within 90 days of purchase.",
            5.6,
            11.0,
        ),
        Utterance(CALLER, "Great, so how do I send the blender back to you?", 11.6, 14.6),
        Utterance(BOT, "I will email you a prepaid shipping label today.", 15.2, 18.4),
    )
)
POLICY = (
    "Refunds are accepted within 30 days of purchase. After that we offer store credit for faulty items.\n"
)


def manifest() -> dict[str, Any]:
    return {
        "recording_id": "rec-ai-0001",
        "start_time": "2026-04-09T10:00:00Z",
        "title": "Support line",
        "host": {"name": "Refund Bot", "email": "refund-bot@lumen.example"},
        "participants": [
            {"name": "Refund Bot", "email": "refund-bot@lumen.example", "role": "agent"},
            {"name": "Dana Price", "role": "customer"},
        ],
        "agent": {"type": "ai", "id": "refund-bot"},
    }


def slack_messages(sandbox: str) -> list[str]:
    return [m["text"] for m in httpx.get(f"{sandbox}/slack/_received").json()["messages"]]


def test_hallucination_is_flagged_with_policy_evidence_exactly_once_across_drops(
    sandbox: str, tmp_path: Path
) -> None:
    (tmp_path / "policies" / "refund-bot").mkdir(parents=True)
    (tmp_path / "policies" / "refund-bot" / "refunds.md").write_text(POLICY)
    config = SandboxConfig()
    gate = GateSettings(
        semarize_base_url=f"{sandbox}/semarize",
        semarize_api_key=config.semarize_api_key,
        slack_webhook_url=f"{sandbox}/slack/services/T00000000/B00000000/{config.slack_webhook_token}",
        policy_dir=tmp_path / "policies",
    )
    settings = LiveSettings(
        f"{sandbox}/symbl", config.symbl_app_id, config.symbl_app_secret, tmp_path / "live", gate=gate
    )
    audio = render(CALL, "LINEAR16", 16000)
    httpx.put(
        f"{sandbox}/_sandbox/faults",
        json={"fault_ws_drop_after_bytes": len(audio) // 3, "fault_ws_drop_limit": 3},
    ).raise_for_status()
    call = new_live_call(settings, "rec-ai-0001", manifest(), encoding="LINEAR16", sample_rate=16000)
    result = asyncio.run(call.run(paced(audio, 32000, 20)))
    assert result.completed and stats(sandbox)["fault_drops"] == 3

    texts = slack_messages(sandbox)
    verdicts = [t for t in texts if "hallucination" in t]
    assert len(verdicts) == 1
    assert "we refund within 90 days of purchase" in verdicts[0]  # what the agent said ...
    assert "Refunds are accepted within 30 days of purchase." in verdicts[0]  # ... and what the policy says
    tracker_alerts = [t for t in texts if "AI Agent Risk" in t]
    assert tracker_alerts and len(tracker_alerts) == len(set(tracker_alerts))

    records = list(read_events(Path(result.event_log)))
    kinds = [
        r["event"].get("type") if r["kind"] == "client" else (r["event"].get("message") or {}).get("type")
        for r in records
    ]
    completed_at = kinds.index("conversation_completed")
    first_tracker_alert = next(
        i
        for i, r in enumerate(records)
        if r["event"].get("type") == "alert_sent" and "tracker" in r["event"]["key"]
    )
    assert first_tracker_alert < completed_at  # alerted during the call, not after it
    verdict = next(r["event"] for r in records if r["event"].get("type") == "quality_gate")
    assert verdict["bricks"]["hallucination_detected"]["value"] is True
    assert verdict["conversation_id"] == result.conversation_id

    # Scoring the same call again (a retry, a second process) never alerts twice.
    again = QualityGate(gate, "rec-ai-0001", manifest(), tmp_path / "live" / "alerts", lambda *a, **k: None)
    again.turns = [
        {"speaker": "Refund Bot", "text": u.text}
        if u.speaker == BOT
        else {"speaker": "Dana Price", "text": u.text}
        for u in CALL.utterances
    ]
    again.conversation_id = result.conversation_id
    assert asyncio.run(again.score())["hallucination_detected"]["value"] is True
    assert slack_messages(sandbox) == texts


def test_a_truthful_agent_call_gets_a_verdict_and_no_alert(sandbox: str, tmp_path: Path) -> None:
    (tmp_path / "policies" / "default").mkdir(parents=True)
    (tmp_path / "policies" / "default" / "refunds.md").write_text(POLICY)
    config = SandboxConfig()
    gate = GateSettings(
        semarize_base_url=f"{sandbox}/semarize",
        semarize_api_key=config.semarize_api_key,
        slack_webhook_url=f"{sandbox}/slack/services/T00000000/B00000000/{config.slack_webhook_token}",
        policy_dir=tmp_path / "policies",
        risky_trackers=(),
    )
    truthful = Transcript(
        (
            CALL.utterances[0],
            Utterance(
                BOT,
                "I am sorry to hear that. According to our policy, we refund within 30 days of purchase.",
                5.6,
                11.0,
            ),
        )
    )
    settings = LiveSettings(
        f"{sandbox}/symbl", config.symbl_app_id, config.symbl_app_secret, tmp_path / "live", gate=gate
    )
    call = new_live_call(
        settings,
        "rec-ai-0002",
        manifest() | {"recording_id": "rec-ai-0002"},
        encoding="LINEAR16",
        sample_rate=16000,
    )
    result = asyncio.run(call.run(paced(render(truthful, "LINEAR16", 16000), 32000, 30)))
    verdict = next(
        r["event"] for r in read_events(Path(result.event_log)) if r["event"].get("type") == "quality_gate"
    )
    assert verdict["bricks"]["hallucination_detected"]["value"] is False
    assert slack_messages(sandbox) == []
