"""Sandbox configuration: one frozen object built from environment variables, overridable by CLI flags.

Every knob a test or a benchmark turns lives here so that the server, the tests and the docs agree on names.
Environment variables use the ``SANDBOX_`` prefix; credentials use the same names as the pipeline's clients
(``SYMBL_APP_ID`` ...) so that one exported environment configures both sides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_SYMBL_APP_ID = "sandbox-app-id"
DEFAULT_SYMBL_APP_SECRET = "sandbox-app-secret"
DEFAULT_SEMARIZE_API_KEY = "smz_test_sandbox"
DEFAULT_NEBULA_API_KEY = "nebula-sandbox-key"
DEFAULT_SLACK_WEBHOOK_TOKEN = "sandbox-slack-token"
DEFAULT_CRM_TOKEN = "sandbox-crm-token"


@dataclass(frozen=True)
class SandboxConfig:
    data_dir: Path = field(default_factory=lambda: Path("var/sandbox"))
    # Optional folder served read-only at /media: the stand-in for a recording platform's media CDN, so that
    # `audio_url` / `video_url` submissions have a directly reachable URL on loopback.
    media_dir: Path | None = None

    # Credentials the sandbox accepts (anything else is rejected with the vendor's documented 401).
    symbl_app_id: str = DEFAULT_SYMBL_APP_ID
    symbl_app_secret: str = DEFAULT_SYMBL_APP_SECRET
    semarize_api_key: str = DEFAULT_SEMARIZE_API_KEY
    nebula_api_key: str = DEFAULT_NEBULA_API_KEY
    # Slack: the last path segment of an incoming-webhook URL (/slack/services/<T>/<B>/<token>).
    slack_webhook_token: str = DEFAULT_SLACK_WEBHOOK_TOKEN
    # CRM (HubSpot-style private-app token, sent as Authorization: Bearer).
    crm_token: str = DEFAULT_CRM_TOKEN

    # Symbl behaviour.
    token_lifetime_seconds: int = 86400
    concurrent_job_limit: int = 5
    # Seconds of processing per second of media (Symbl is roughly 0.1-0.3x real time; the demo wants speed).
    processing_factor: float = 0.001
    # Seconds a job stays `scheduled` before it goes `in_progress`.
    queue_delay_seconds: float = 0.05
    # Floor on processing time so that in_progress is observable even for tiny media.
    min_processing_seconds: float = 0.1
    webhook_max_attempts: int = 5
    # First retry delay of a failed webhook delivery; doubles per attempt (at-least-once delivery).
    webhook_retry_base_seconds: float = 0.2
    webhook_timeout_seconds: float = 5.0
    # URL submissions: the sandbox fetches the media itself (no redirects, per the contract).
    media_fetch_timeout_seconds: float = 10.0
    # URL submissions are fetched only from loopback (the sandbox's own /media, a local test server) unless the
    # host is listed here ("host" or "host:port"; "*" = any host): a stand-in must not become a way to probe the
    # network it runs in. Checked on the resolved addresses, before any connection.
    media_fetch_allowed_hosts: tuple[str, ...] = ()
    # Time one tracker-management request holds the account's single management slot (one at a time).
    tracker_management_latency_seconds: float = 0.02
    max_media_seconds: int = 4 * 3600
    max_media_bytes: int = 512 * 1024 * 1024
    max_management_body_bytes: int = 1024 * 1024
    # How kind the answers are. The defaults are production's (symbl-api.md, "Speaker diarization"); the other
    # values keep older, kinder behaviour reachable for tests that exercise something else.
    # speaker_identity: "production" (diarized media -> generic `Speaker <n>`, channelMetadata -> one named
    # speaker per channel) or "transcript" (the embedded transcript's real names and emails).
    speaker_identity: str = "production"
    insight_from_email: bool = False  # True adds `email` to insight `from` (production sends userId only)
    entities_generation: str = "2023"  # "2023" | "2022" | "both" (one generation per response, or both)
    job_failure_reason: bool = False  # True adds a `message` to a failed job's body (undocumented by Symbl)

    # Semarize behaviour.
    semarize_run_seconds: float = 0.2  # time a run takes before it succeeds
    semarize_sync_timeout_seconds: float = 5.0  # sync mode falls back to 202 past this
    semarize_rate_limit_per_second: float = 0.0  # 0 = unlimited; else 429 with Retry-After beyond it
    # GET /v1/kits/schema is unpublished: "bricks" ({kit_code, bricks: {key: {type, ...}}}, ours), "fields"
    # ({kit: {code}, fields: [{key, output_type}]}, another plausible shape), or "opaque" (a 200 whose body
    # describes nothing a client can read). Clients must cope with all three.
    semarize_kit_schema_shape: str = "bricks"
    # Fault injection: runs whose input recording_id matches this regex succeed with a malformed output
    # (`output.bricks` a list instead of an object).
    semarize_malformed_output_matching: str = ""

    # Fault injection (probabilities 0..1). Deterministic for a given seed and call order.
    fault_seed: int = 0
    fault_5xx_rate: float = 0.0
    fault_429_rate: float = 0.0
    fault_slow_rate: float = 0.0
    fault_slow_seconds: float = 2.0
    fault_job_failure_rate: float = 0.0
    fault_duplicate_webhook_rate: float = 0.0
    fault_drop_connection_rate: float = 0.0
    # Faults that make a submit ambiguous (the client cannot tell whether Symbl created the job): the sandbox
    # creates the conversation and job as usual, then answers 5xx instead of 201, or drops the connection
    # before the answer. Only Async API submits (POST/PUT /symbl/v1/process/...) are affected.
    fault_submit_created_5xx_rate: float = 0.0
    fault_submit_created_drop_rate: float = 0.0
    # Streaming API (WebSocket): concurrent connections per account (trial 2, free 5, paid 50), and faults.
    streaming_connection_limit: int = 5
    fault_ws_drop_rate: float = 0.0  # chance per audio message that the socket is dropped
    fault_ws_drop_after_bytes: int = 0  # drop each connection once it has received this many audio bytes
    fault_ws_drop_limit: int = 0  # at most this many injected drops in all (0 = no cap)
    fault_ws_stall_rate: float = 0.0  # chance per audio message that the server stops reading for a while
    fault_ws_stall_seconds: float = 2.0
    fault_ws_refuse_rate: float = 0.0  # chance that an upgrade is refused (HTTP 503)
    fault_ws_refuse_next: int = 0  # refuse the next N upgrades
    # Deterministic job failures for tests: jobs whose conversation `name` matches this regex end `failed`,
    # and so do the next N submitted jobs.
    fail_jobs_matching: str = ""
    fail_next_jobs: int = 0
    # Paths the random 5xx/429/slow faults apply to (prefix match on the full path, e.g. "/symbl/v1/job").
    # Empty = all API paths except health/inspection and auth.
    fault_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        choices = {
            "speaker_identity": ("production", "transcript"),
            "entities_generation": ("2023", "2022", "both"),
            "semarize_kit_schema_shape": ("bricks", "fields", "opaque"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> SandboxConfig:
        """Build from ``SANDBOX_<FIELD>`` and vendor credential variables, then apply overrides."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        credential_vars = {
            "symbl_app_id": "SYMBL_APP_ID",
            "symbl_app_secret": "SYMBL_APP_SECRET",
            "semarize_api_key": "SEMARIZE_API_KEY",
            "nebula_api_key": "NEBULA_API_KEY",
        }
        for f in fields(cls):
            raw = env.get(credential_vars.get(f.name, "")) or env.get(f"SANDBOX_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, raw, cls)
        config = cls(**values)
        clean = {k: v for k, v in overrides.items() if v is not None}
        for key in ("data_dir", "media_dir"):
            if key in clean:
                clean[key] = Path(clean[key])
        return replace(config, **clean)

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


def _parse(name: str, raw: str, cls: type) -> Any:
    default = getattr(cls(), name)
    if isinstance(default, Path) or name == "media_dir":
        return Path(raw)
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, tuple):
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    return raw
