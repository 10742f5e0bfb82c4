"""Sandbox configuration: one frozen object built from environment variables, overridable by CLI flags.

Every knob a test or a benchmark turns lives here so that the server, the tests and the docs agree on names.
Environment variables use the ``SANDBOX_`` prefix; credentials use the same names as the pipeline's clients
(``SYMBL_APP_ID`` ...) so that one exported environment configures both sides.

The fields are a pydantic declaration: environment strings are parsed by the field's type (``"0.5"`` for a
float, ``1/true/yes/on`` or ``0/false/no/off`` for a flag, a comma-separated list for a tuple) and a bad value
is refused naming its variable. (pydantic-settings would read ``os.environ`` on every construction; tests build
``SandboxConfig(...)`` directly and must get the defaults, and ``from_env`` takes an explicit mapping.)
"""

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, NonNegativeInt, ValidationError

DEFAULT_SYMBL_APP_ID = "sandbox-app-id"
DEFAULT_SYMBL_APP_SECRET = "sandbox-app-secret"
DEFAULT_SEMARIZE_API_KEY = "smz_test_sandbox"
DEFAULT_NEBULA_API_KEY = "nebula-sandbox-key"
DEFAULT_SLACK_WEBHOOK_TOKEN = "sandbox-slack-token"
DEFAULT_CRM_TOKEN = "sandbox-crm-token"
# Credentials are read under the pipeline's own variable names first, then under SANDBOX_<FIELD>.
CREDENTIAL_VARS = {
    "symbl_app_id": "SYMBL_APP_ID",
    "symbl_app_secret": "SYMBL_APP_SECRET",
    "semarize_api_key": "SEMARIZE_API_KEY",
    "nebula_api_key": "NEBULA_API_KEY",
}


def _flag(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _comma_list(value: Any) -> Any:
    return tuple(p.strip() for p in value.split(",") if p.strip()) if isinstance(value, str) else value


Flag = Annotated[bool, BeforeValidator(_flag)]
Names = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]


class SandboxConfig(BaseModel):
    # forbid: a misspelt knob in a test's overrides fails loudly instead of leaving the default in force.
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path("var/sandbox")
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
    # Processes that analyse finished jobs (topics, sentiment, entities...): 0 analyses on the server's own
    # worker threads (light: what tests and the demo need); N > 0 spawns N workers beside the server, for
    # throughput at high concurrency (bench/ingest_memory.py at 10,000 recordings).
    analysis_processes: NonNegativeInt = 0
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
    media_fetch_allowed_hosts: Names = ()
    # Time one tracker-management request holds the account's single management slot (one at a time).
    tracker_management_latency_seconds: float = 0.02
    max_media_seconds: int = 4 * 3600
    max_media_bytes: int = 512 * 1024 * 1024
    max_management_body_bytes: int = 1024 * 1024
    # How kind the answers are. The defaults are production's (symbl-api.md, "Speaker diarization"); the other
    # values keep older, kinder behaviour reachable for tests that exercise something else.
    # speaker_identity: "production" (diarized media -> generic `Speaker <n>`, channelMetadata -> one named
    # speaker per channel) or "transcript" (the embedded transcript's real names and emails).
    speaker_identity: Literal["production", "transcript"] = "production"
    insight_from_email: Flag = False  # True adds `email` to insight `from` (production sends userId only)
    # One generation per response, or both.
    entities_generation: Literal["2023", "2022", "both"] = "2023"
    job_failure_reason: Flag = False  # True adds a `message` to a failed job's body (undocumented by Symbl)

    # Semarize behaviour.
    semarize_run_seconds: float = 0.2  # time a run takes before it succeeds
    semarize_sync_timeout_seconds: float = 5.0  # sync mode falls back to 202 past this
    semarize_rate_limit_per_second: float = 0.0  # 0 = unlimited; else 429 with Retry-After beyond it
    # GET /v1/kits/schema is unpublished: "bricks" ({kit_code, bricks: {key: {type, ...}}}, ours), "fields"
    # ({kit: {code}, fields: [{key, output_type}]}, another plausible shape), or "opaque" (a 200 whose body
    # describes nothing a client can read). Clients must cope with all three.
    semarize_kit_schema_shape: Literal["bricks", "fields", "opaque"] = "bricks"
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
    fault_paths: Names = ()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> "SandboxConfig":
        """Build from ``SANDBOX_<FIELD>`` and vendor credential variables, then apply overrides (None = unset).

        An empty variable counts as unset. A value its field cannot take raises ``ValueError`` naming the
        variable and the cause.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}  # field -> the variable its value came from
        for name in cls.model_fields:
            for var in (CREDENTIAL_VARS.get(name), env_var(name)):
                if var and env.get(var):
                    values[name], sources[name] = env[var], var
                    break
        clean = {k: v for k, v in overrides.items() if v is not None}
        try:
            return cls(**(values | clean))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            name = str(error["loc"][0]) if error["loc"] else ""
            source = name if name in clean else sources.get(name, name)
            secret = name.endswith(("_id", "_secret", "_key", "_token"))  # never echo a credential
            got = "" if secret else f" (got {error.get('input')!r})"
            raise ValueError(f"{source}: {error['msg']}{got}") from None

    def replace(self, **changes: Any) -> "SandboxConfig":
        """A copy with ``changes``, validated like a new config (``model_copy`` would not validate them)."""
        return type(self)(**(self.model_dump() | changes))

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


def env_var(field: str) -> str:
    """The ``SANDBOX_*`` variable of a field."""
    return f"SANDBOX_{field.upper()}"
