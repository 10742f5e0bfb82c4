"""Starting a live call from a call's manifest fields: settings from the environment, ids, the start_request.

Shared by ``convo-intel live`` (a file) and the Twilio bridge, so both name, log and land calls the same way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.defs.streaming.client import (
    EventHook,
    LiveCall,
    LiveCallConfig,
    streaming_url,
    symbl_token_provider,
)
from orchestration.defs.streaming.quality_gate import (
    AI_RISK_TRACKER,
    GateSettings,
    QualityGate,
    is_ai_agent_call,
)
from orchestration.defs.symbl.trackers import TrackerFileError, load_trackers
from orchestration.settings import LiveCallsSettings, SymblSettings, sandbox_credential

DEFAULT_LIVE_DIR = "var/live"
_SAFE_CALL_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class LiveSettings:
    symbl_base_url: str
    app_id: str
    app_secret: str
    live_dir: Path
    gate: GateSettings | None = None  # the AI-agent quality gate; None: no gate

    @classmethod
    def from_env(cls) -> LiveSettings:
        symbl = SymblSettings()
        base_url = symbl.base_url or ""
        return cls(
            symbl_base_url=base_url,
            app_id=symbl.app_id or sandbox_credential(base_url, "SYMBL_APP_ID"),
            app_secret=symbl.app_secret or sandbox_credential(base_url, "SYMBL_APP_SECRET"),
            live_dir=Path(LiveCallsSettings().live_dir or DEFAULT_LIVE_DIR),
            gate=GateSettings.from_env(),
        )


def connection_id_for(call_id: str) -> str:
    """A connectionId Symbl accepts, stable per call (so a restarted bridge reconnects to the same one)."""
    return "ci-" + hashlib.sha256(call_id.encode()).hexdigest()[:40]


def check_call_id(call_id: str) -> str:
    if not _SAFE_CALL_ID.match(call_id):
        raise ValueError(f"call id {call_id!r} must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    return call_id


def start_request_for(manifest: dict[str, Any]) -> dict[str, Any]:
    """start_request fields from the call's manifest: title, language, the host as speaker, our trackers."""
    host = manifest.get("host") if isinstance(manifest.get("host"), dict) else {}
    try:
        trackers = [{"name": t["name"], "vocabulary": t["vocabulary"]} for t in load_trackers()]
    except (TrackerFileError, OSError):
        trackers = []  # no tracker file: the call still streams, without tracker hits
    if is_ai_agent_call(manifest):
        trackers.append(dict(AI_RISK_TRACKER))  # risky phrases the quality gate alerts on during the call
    return {
        "config": {
            "meetingTitle": manifest.get("title") or manifest.get("recording_id"),
            "languageCode": manifest.get("language_code") or "en-US",
            "confidenceThreshold": 0.5,
            "detectEntities": True,
            "sentiment": True,
            "trackers": {"interimResults": False},
        },
        "speaker": {"userId": host.get("email"), "name": host.get("name")},
        "trackers": trackers,
    }


def new_live_call(
    settings: LiveSettings,
    call_id: str,
    manifest: dict[str, Any],
    *,
    encoding: str,
    sample_rate: int,
    on_event: EventHook | None = None,
    **overrides: Any,
) -> LiveCall:
    config = LiveCallConfig(
        ws_base_url=streaming_url(settings.symbl_base_url),
        connection_id=connection_id_for(check_call_id(call_id)),
        live_dir=settings.live_dir,
        call_id=call_id,
        encoding=encoding,
        sample_rate=sample_rate,
        start_request=start_request_for(manifest),
        manifest=manifest,
        **overrides,
    )
    token = symbl_token_provider(settings.symbl_base_url, settings.app_id, settings.app_secret)
    if settings.gate is None or not is_ai_agent_call(manifest):
        return LiveCall(config, token, on_event)
    hooks: list[EventHook] = []
    call = LiveCall(config, token, _fan_out(hooks))
    gate = QualityGate(settings.gate, call_id, manifest, settings.live_dir / "alerts", call.record)
    hooks += [gate.on_event, *([on_event] if on_event else [])]
    return call


def _fan_out(hooks: list[EventHook]) -> EventHook:
    async def on_event(message: dict[str, Any]) -> None:
        for hook in hooks:
            await hook(message)

    return on_event
