"""The real-time quality gate for calls handled by an AI voice agent.

For a call whose manifest says ``agent.type`` is ``ai``:

* during the call, a hit on a risky tracker (``AI_RISK_TRACKER``, sent with the call's start_request, plus any
  tracker named in ``risky_trackers``) alerts Slack at once, while the customer may still be on the line;
* when the conversation completes, the live transcript is scored right away with the AI quality Kit
  (``AIQGATE1``) in sync mode, with the agent's policy documents in the run's input as grounding, so a claim the
  policy contradicts ("we refund within 90 days" when the policy says 30) is flagged; a hallucination or a
  safety violation alerts Slack with the agent's words and the policy passage they contradict.

Exactly once per call: an alert is claimed by creating ``<live dir>/alerts/<call id>/<key>`` with O_EXCL before
it is posted, and the claim is released if Slack refuses it (so a retry can send it). A crash between claim
and post loses that alert rather than sending it twice; reconnects, re-scoring and restarts never repeat it.
The gate's verdict is written to the call's event log (``client:quality_gate``), where the warehouse and the
``ai_agent_quality_daily`` mart pick it up.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.defs.routing.slack import SlackWebhookClient, SlackWebhookError
from orchestration.defs.semarize.client import SemarizeAPIError, SemarizeClient
from orchestration.settings import LiveCallsSettings, SemarizeSettings, SlackSettings, sandbox_credential

AI_AGENT_TYPES = frozenset({"ai", "ai_agent", "voice_agent", "bot"})
KIT_CODE = "AIQGATE1"
AI_RISK_TRACKER = {
    "name": "AI Agent Risk",
    "vocabulary": [
        "refund",
        "guarantee",
        "lawsuit",
        "legal action",
        "password",
        "social security",
        "card number",
        "cancel your account",
    ],
}
FLAG_BRICKS = ("hallucination_detected", "safety_violation")
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")

Record = Callable[..., None]  # LiveCall.record(kind, **details)


@dataclass(frozen=True)
class GateSettings:
    semarize_base_url: str
    semarize_api_key: str
    slack_webhook_url: str
    policy_dir: Path
    risky_trackers: tuple[str, ...] = (AI_RISK_TRACKER["name"], "Churn Risk")

    @classmethod
    def from_env(cls) -> GateSettings:
        semarize = SemarizeSettings()
        base_url = semarize.base_url or ""
        return cls(
            semarize_base_url=base_url,
            semarize_api_key=semarize.api_key or sandbox_credential(base_url, "SEMARIZE_API_KEY"),
            slack_webhook_url=SlackSettings().webhook_url or "",
            policy_dir=LiveCallsSettings().agent_policy_dir,
        )


def is_ai_agent_call(manifest: dict[str, Any]) -> bool:
    agent = manifest.get("agent")
    return isinstance(agent, dict) and str(agent.get("type", "")).lower() in AI_AGENT_TYPES


def policy_documents(policy_dir: Path, agent_id: str | None) -> list[dict[str, str]]:
    """The agent's policy files (``<policy dir>/<agent id>/``, else ``<policy dir>/default/``), as grounding."""
    for folder in ([policy_dir / agent_id] if agent_id else []) + [policy_dir / "default"]:
        if folder.is_dir():
            return [
                {"name": p.name, "text": p.read_text(encoding="utf-8")}
                for p in sorted(folder.iterdir())
                if p.is_file() and p.suffix in {".md", ".txt"}
            ]
    return []


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 3 or w.isdigit()}


def contradicted_passage(claim: str, documents: list[dict[str, str]]) -> str | None:
    """The policy sentence that shares the most words with the agent's claim (what the claim is checked
    against), so the alert can quote both sides."""
    best, best_overlap = None, 0
    claim_words = _words(claim)
    for doc in documents:
        for sentence in _SENTENCE.split(doc["text"]):
            overlap = len(claim_words & _words(sentence))
            if overlap > best_overlap:
                best, best_overlap = sentence.strip(), overlap
    return best


@dataclass
class QualityGate:
    settings: GateSettings
    call_id: str
    manifest: dict[str, Any]
    alerts_dir: Path
    record: Record
    turns: list[dict[str, str]] = field(default_factory=list)
    _seen_messages: set[str] = field(default_factory=set)
    conversation_id: str | None = None

    @property
    def agent(self) -> dict[str, Any]:
        return self.manifest.get("agent") or {}

    async def on_event(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "message_response":
            for m in message.get("messages") or []:
                if m.get("id") in self._seen_messages:
                    continue
                self._seen_messages.add(m.get("id"))
                speaker = (m.get("from") or {}).get("name") or "Speaker"
                self.turns.append({"speaker": speaker, "text": (m.get("payload") or {}).get("content", "")})
        elif kind == "tracker_response":
            await self._tracker_alerts(message)
        elif kind == "message":
            inner = message.get("message") or {}
            if inner.get("type") in ("conversation_created", "recognition_started"):
                self.conversation_id = (inner.get("data") or {}).get("conversationId") or self.conversation_id
            if inner.get("type") == "conversation_completed":
                await self.score()

    async def _tracker_alerts(self, message: dict[str, Any]) -> None:
        for tracker in message.get("trackers") or []:
            if tracker.get("name") not in self.settings.risky_trackers:
                continue
            for match in tracker.get("matches") or []:
                refs = match.get("messageRefs") or [{}]
                said = refs[0].get("text") or match.get("value")
                key = f"tracker:{tracker['name']}:{match.get('value')}:{said}"
                text = (
                    f":warning: Live AI-agent call {self.call_id} ({self.agent.get('id') or 'agent'}): "
                    f'tracker *{tracker["name"]}* hit on "{match.get("value")}": "{said}"'
                )
                await self._alert(key, {"text": text})

    async def score(self) -> dict[str, Any] | None:
        """Score the live transcript with the AI quality Kit now (sync mode), alert once on a bad verdict."""
        if not self.turns:
            return None
        documents = policy_documents(self.settings.policy_dir, self.agent.get("id"))
        participants = [
            {"name": p.get("name"), "role": p.get("role")} for p in self.manifest.get("participants") or []
        ]
        run_input = {
            "transcript": self.turns,
            "participants": participants,
            "meeting_title": self.manifest.get("title") or self.call_id,
            "policy_documents": documents,
        }
        transcript_text = "\n".join(f"{t['speaker']}: {t['text']}" for t in self.turns)
        key = SemarizeClient.idempotency_key(self.conversation_id or self.call_id, KIT_CODE, transcript_text)
        try:
            async with SemarizeClient(
                self.settings.semarize_base_url, self.settings.semarize_api_key
            ) as semarize:
                run = await semarize.create_run(KIT_CODE, run_input, idempotency_key=key, mode="sync")
        except SemarizeAPIError as exc:
            self.record("quality_gate_failed", error=exc.code)
            return None
        bricks = (run.get("output") or {}).get("bricks") or {}
        self.record(
            "quality_gate",
            kit_code=KIT_CODE,
            run_id=run.get("run_id"),
            agent_id=self.agent.get("id"),
            conversation_id=self.conversation_id,
            bricks=bricks,
        )
        flagged = {k: bricks[k] for k in FLAG_BRICKS if (bricks.get(k) or {}).get("value") is True}
        if flagged:
            await self._alert("verdict", self._verdict_message(flagged, documents))
        return bricks

    def _verdict_message(self, flagged: dict[str, Any], documents: list[dict[str, str]]) -> dict[str, Any]:
        lines = [
            f":rotating_light: AI agent {self.agent.get('id') or ''} on call {self.call_id}: "
            + ", ".join(k.replace("_", " ") for k in flagged)
        ]
        for brick in flagged.values():
            lines.append(f"> {brick.get('reason')}")
            for quote in brick.get("evidence") or []:
                lines.append(f'Agent said: "{quote}"')
                passage = contradicted_passage(quote, documents)
                if passage:
                    lines.append(f'Policy says: "{passage}"')
        return {"text": "\n".join(lines)}

    async def _alert(self, key: str, message: dict[str, Any]) -> None:
        claim = self.alerts_dir / self.call_id / hashlib.sha256(key.encode()).hexdigest()[:32]
        claim.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return  # sent before (this process or an earlier one)
        os.close(fd)
        try:
            async with SlackWebhookClient(self.settings.slack_webhook_url) as slack:
                await slack.post(message)
        except SlackWebhookError as exc:
            claim.unlink(missing_ok=True)  # not sent: let a later attempt send it
            self.record("alert_failed", key=key, error=exc.code)
            return
        self.record("alert_sent", key=key, text=message.get("text"))
