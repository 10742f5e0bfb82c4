"""Configuration in one place: every environment variable the pipeline reads, typed, with its default.

Nothing here writes ``os.environ`` or reads it at import: each settings class reads the environment when it is
instantiated (only the partitions are read while modules import, because asset decorators need them).
Resources derive from :class:`SettingsResource`, which fills the fields a caller did not give from its settings
section each time the resource is built. Dagster builds resources again in every run, so a run sees the
environment of the process that executes it (as ``dg.EnvVar`` would), and the UI shows the fields' declared
defaults, never a secret read from the environment.

With nothing configured every vendor points at the local sandbox. The sandbox's well-known credentials are the
resources' defaults, and :func:`require_real_credentials` (a validator on each vendor resource) refuses to send
them anywhere but loopback, so a real service without credentials fails loudly instead of receiving the sandbox's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

import dagster as dg
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, SettingsConfigDict

# The folder holding dbt_project/: relative warehouse paths resolve from here, in Python and in dbt's profile.
PROJECT_ROOT = Path(__file__).resolve().parents[1]

DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"
# Slack's and the CRM's stand-ins in the sandbox (the Slack URL carries the sandbox's token, as Slack's do).
SANDBOX_SLACK_PATH = "/slack/services/T00000000/B00000000/sandbox-slack-token"
SANDBOX_SLACK_WEBHOOK_URL = f"{DEFAULT_SANDBOX_URL}{SANDBOX_SLACK_PATH}"
SANDBOX_CRM_BASE_URL = f"{DEFAULT_SANDBOX_URL}/crm"
# The sandbox's documented default credentials (sandbox/config.py); the pipeline does not import the sandbox.
SANDBOX_SYMBL_APP_ID = "sandbox-app-id"
SANDBOX_SYMBL_APP_SECRET = "sandbox-app-secret"
SANDBOX_SEMARIZE_API_KEY = "smz_test_sandbox"
SANDBOX_NEBULA_API_KEY = "nebula-sandbox-key"
SANDBOX_CRM_ACCESS_TOKEN = "sandbox-crm-token"
# variable -> the sandbox's value, used when the variable is unset and its service is the sandbox on loopback
SANDBOX_CREDENTIALS = {
    "SYMBL_APP_ID": SANDBOX_SYMBL_APP_ID,
    "SYMBL_APP_SECRET": SANDBOX_SYMBL_APP_SECRET,
    "SEMARIZE_API_KEY": SANDBOX_SEMARIZE_API_KEY,
    "NEBULA_API_KEY": SANDBOX_NEBULA_API_KEY,
    "CRM_ACCESS_TOKEN": SANDBOX_CRM_ACCESS_TOKEN,
}
SANDBOX_SECRETS = frozenset(SANDBOX_CREDENTIALS.values())

WAREHOUSE_ENV = "CONVO_INTEL_WAREHOUSE"
ANALYST_WAREHOUSE_ENV = "CONVO_INTEL_ANALYST_WAREHOUSE"
DEFAULT_WAREHOUSE = "var/warehouse/convo_intel.duckdb"
KITS_BY_CALL_TYPE_ENV = "SEMARIZE_KITS_BY_CALL_TYPE"
DEFAULT_TRACKERS_FILE = PROJECT_ROOT / "trackers.yaml"
DEFAULT_MAX_FUTURE_HOURS = 24.0
# Where a Slack alert's "Open the conversation" points: the day's partition of the bricks asset in a local UI.
DEFAULT_CONVERSATION_URL_TEMPLATE = (
    "http://127.0.0.1:3000/assets/semarize_bricks?view=partitions&partition={partition_date}"
)


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def _is_url(value: str) -> bool:
    return urlparse(value).scheme in {"http", "https", "ws", "wss"}


def sandbox_credential(base_url: str, name: str) -> str:
    """The sandbox's value of credential ``name`` when ``base_url`` is loopback, else "" (not configured)."""
    return SANDBOX_CREDENTIALS[name] if is_loopback(base_url) else ""


def require_real_credentials(base_url: str, secrets: dict[str, str]) -> None:
    """The sandbox's credentials go to the sandbox on loopback only.

    ``secrets`` maps each credential's environment variable to its value. ``base_url`` may still be an
    unresolved ``dg.EnvVar`` name while Dagster loads definitions (not a URL yet): the rule is checked again when
    the run builds the resource with the resolved value.
    """
    if not _is_url(base_url) or is_loopback(base_url):
        return
    leaked = sorted(name for name, value in secrets.items() if value in SANDBOX_SECRETS)
    if leaked:
        raise ValueError(
            f"{', '.join(leaked)} not set: the sandbox's credentials are only sent to the sandbox on loopback, "
            f"and {urlparse(base_url).hostname} is not loopback"
        )


class _Section(BaseSettings):
    """A group of environment variables. Empty values count as unset, as they always have here."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore")

    sandbox_url: str = Field(
        default=DEFAULT_SANDBOX_URL, validation_alias="CONVO_INTEL_SANDBOX_URL", exclude=True
    )

    def resource_fields(self) -> dict[str, Any]:
        """The values a resource takes from this section: the set ones, so unset ones keep the field default."""
        return self.model_dump(exclude_none=True)


class SymblSettings(_Section):
    base_url: str | None = Field(default=None, validation_alias="SYMBL_BASE_URL")
    app_id: str | None = Field(default=None, validation_alias="SYMBL_APP_ID")
    app_secret: str | None = Field(default=None, validation_alias="SYMBL_APP_SECRET")
    concurrent_jobs: int | None = Field(default=None, validation_alias="SYMBL_CONCURRENT_JOBS")
    # Tracker vocabulary as code (a relative path is taken from the working directory, as it always was).
    trackers_file: Path = Field(
        default=DEFAULT_TRACKERS_FILE, validation_alias="CONVO_INTEL_TRACKERS_FILE", exclude=True
    )

    @model_validator(mode="after")
    def _sandbox_by_default(self) -> SymblSettings:
        if self.base_url is None:
            self.base_url = f"{self.sandbox_url}/symbl"
        return self


class SemarizeSettings(_Section):
    base_url: str | None = Field(default=None, validation_alias="SEMARIZE_BASE_URL")
    api_key: str | None = Field(default=None, validation_alias="SEMARIZE_API_KEY")
    # Comma-separated Kit codes run on every conversation.
    kits_csv: str = Field(default="SLSDISC1", validation_alias="SEMARIZE_KITS", exclude=True)
    # Kits by call type (orchestration.defs.semarize.kit_routing parses it); empty: every call runs the kits.
    kits_by_call_type: str = Field(default="", validation_alias=KITS_BY_CALL_TYPE_ENV, exclude=True)

    @model_validator(mode="after")
    def _sandbox_by_default(self) -> SemarizeSettings:
        if self.base_url is None:
            self.base_url = f"{self.sandbox_url}/semarize"
        return self

    @property
    def kits(self) -> list[str]:
        return [k.strip() for k in self.kits_csv.split(",") if k.strip()]

    def resource_fields(self) -> dict[str, Any]:
        return {**super().resource_fields(), "kits": self.kits}


class NebulaSettings(_Section):
    base_url: str | None = Field(default=None, validation_alias="NEBULA_BASE_URL")
    api_key: str | None = Field(default=None, validation_alias="NEBULA_API_KEY")

    @model_validator(mode="after")
    def _sandbox_by_default(self) -> NebulaSettings:
        if self.base_url is None:
            self.base_url = f"{self.sandbox_url}/nebula"
        if self.api_key is None:
            # Nebula is optional: without a key against a real service its summaries are off, not an error.
            self.api_key = sandbox_credential(self.base_url or "", "NEBULA_API_KEY")
        return self


class SlackSettings(_Section):
    webhook_url: str | None = Field(default=None, validation_alias="SLACK_WEBHOOK_URL")

    @model_validator(mode="after")
    def _sandbox_by_default(self) -> SlackSettings:
        if self.webhook_url is None:
            self.webhook_url = f"{self.sandbox_url}{SANDBOX_SLACK_PATH}"
        return self


class CrmSettings(_Section):
    base_url: str | None = Field(default=None, validation_alias="CRM_BASE_URL")
    access_token: str | None = Field(default=None, validation_alias="CRM_ACCESS_TOKEN")

    @model_validator(mode="after")
    def _sandbox_by_default(self) -> CrmSettings:
        if self.base_url is None:
            self.base_url = f"{self.sandbox_url}/crm"
        return self


class WebhookInboxSettings(_Section):
    inbox_dir: str | None = Field(default=None, validation_alias="CONVO_INTEL_INBOX_DIR")
    # Empty: Symbl callbacks off, jobs awaited by polling. Set both to have Symbl call the webhook receiver.
    public_base_url: str | None = Field(default=None, validation_alias="CONVO_INTEL_WEBHOOK_PUBLIC_URL")
    symbl_callback_token: str | None = Field(
        default=None, validation_alias="CONVO_INTEL_SYMBL_CALLBACK_TOKEN"
    )


class RoutingSettings(_Section):
    conversation_url_template: str = Field(
        default=DEFAULT_CONVERSATION_URL_TEMPLATE, validation_alias="CONVO_INTEL_CONVERSATION_URL_TEMPLATE"
    )


class DropFolderSettings(_Section):
    root: str | None = Field(default=None, validation_alias="CONVO_INTEL_DROP_FOLDER")
    # Defaults of the resource's input policy, read by orchestration.defs.recordings.policy's default_*
    # functions (the resource's default factories), hence excluded from the section's resource fields.
    media_roots_csv: str = Field(default="", validation_alias="CONVO_INTEL_MEDIA_ROOTS", exclude=True)
    max_future_hours: float = Field(
        default=DEFAULT_MAX_FUTURE_HOURS, validation_alias="CONVO_INTEL_MAX_FUTURE_HOURS", exclude=True
    )


class MediaHostSettings(_Section):
    """Here an empty value is a value: ``CONVO_INTEL_ALLOWED_MEDIA_HOSTS=`` allows no host, while unset allows
    the sandbox's (and an empty ``CONVO_INTEL_SANDBOX_URL`` names no host)."""

    model_config = SettingsConfigDict(env_ignore_empty=False, extra="ignore")

    allowed_media_hosts_csv: str | None = Field(
        default=None, validation_alias="CONVO_INTEL_ALLOWED_MEDIA_HOSTS", exclude=True
    )


class LiveCallsSettings(_Section):
    live_dir: str | None = Field(default=None, validation_alias="CONVO_INTEL_LIVE_DIR")
    # The AI-agent quality gate's grounding: <policy dir>/<agent id>/ (relative: from the working directory).
    agent_policy_dir: Path = Field(
        default=Path("policies"), validation_alias="CONVO_INTEL_AGENT_POLICY_DIR", exclude=True
    )
    # The secret in the Twilio bridge's URL; a SecretStr so that no repr or log shows it.
    twilio_bridge_token: SecretStr = Field(
        default=SecretStr(""), validation_alias="CONVO_INTEL_TWILIO_BRIDGE_TOKEN", exclude=True
    )


class PartitionSettings(_Section):
    """Read once, when the partitions definition is built (asset decorators need it at import)."""

    start_date: str = Field(default="2026-01-01", validation_alias="CONVO_INTEL_PARTITIONS_START")
    timezone: str = Field(default="UTC", validation_alias="CONVO_INTEL_TIMEZONE")


class WarehouseSettings(_Section):
    path: str = Field(default=DEFAULT_WAREHOUSE, validation_alias=WAREHOUSE_ENV)
    analyst_path: str | None = Field(default=None, validation_alias=ANALYST_WAREHOUSE_ENV)


class DuckDBSettings(_Section):
    """How the pipeline's DuckDB connections behave (orchestration.defs.warehouse.duckdb_store)."""

    # How long a writer waits for a lock someone else holds on the live file.
    lock_wait_seconds: float = Field(default=60.0, validation_alias="CONVO_INTEL_WAREHOUSE_LOCK_WAIT_SECONDS")
    # DuckDB's buffer-pool cap (DuckDB's own default is 80% of RAM). A day's writes are batch DELETE + INSERT
    # over growing tables: a larger pool only caches more of them, so the run's memory grows with the day up to
    # the cap (bench/ingest_memory.py at 2,000 recordings, signal step alone: peak 770 MB at 512MB, 684 at
    # 192MB, 594 at 128MB, and the step was 1.2x faster at 128MB).
    memory_limit: str = Field(default="128MB", validation_alias="CONVO_INTEL_DUCKDB_MEMORY_LIMIT")
    # Allocations of this many bytes or more are mapped apart and unmapped when freed, in the process that opens
    # the warehouse (orchestration.defs.warehouse.allocator); 0 leaves glibc's own dynamic threshold.
    malloc_mmap_threshold: int = Field(
        default=128 * 1024, ge=0, validation_alias="CONVO_INTEL_MALLOC_MMAP_THRESHOLD"
    )
    # The analysts' copy is written in DuckDB 1.0's storage format (storage version 64), which every DuckDB 1.x
    # client (CLI, ODBC/JDBC, BI drivers) and 2.x reads; the live file stays in the writer's default format.
    # 'v1.4.0' gives newer compression, 'latest' the writer's own.
    analyst_storage_version: str = Field(
        default="v1.0.0", validation_alias="CONVO_INTEL_ANALYST_STORAGE_VERSION"
    )

    @field_validator("lock_wait_seconds", "memory_limit", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # These two have always ignored surrounding whitespace, and taken only whitespace for unset.
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise PydanticUseDefault()
        return value


@dataclass(frozen=True)
class WarehousePaths:
    live: Path
    analyst: Path


def resolve_project_path(raw: str) -> Path:
    """A configured path, absolute; a relative one is taken from the project root, as dbt's profile does."""
    path = Path(raw).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def analyst_path_beside(live: Path) -> Path:
    """The analysts' copy sits beside the live file: ``convo_intel.duckdb`` -> ``convo_intel_analyst.duckdb``."""
    return live.with_name(f"{live.stem}_analyst{live.suffix}")


def warehouse_paths(live: str | None = None, analyst: str | None = None) -> WarehousePaths:
    """THE live and analyst warehouse paths: arguments, else ``CONVO_INTEL_WAREHOUSE`` /
    ``CONVO_INTEL_ANALYST_WAREHOUSE``, else ``var/warehouse/convo_intel.duckdb`` under the project root.

    dbt's profile (dbt_project/profiles.yml) reads the same variable and resolves it the same way.
    """
    if live is None:  # both from the environment; a live path given alone takes its analyst copy beside it
        configured = WarehouseSettings()
        live, analyst = configured.path, configured.analyst_path if analyst is None else analyst
    live_path = resolve_project_path(live)
    return WarehousePaths(
        live_path, resolve_project_path(analyst) if analyst else analyst_path_beside(live_path)
    )


class SettingsResource(dg.ConfigurableResource):
    """A resource whose fields not given explicitly come from its settings section when it is built.

    Dagster rebuilds resources in each run from the values passed at definition time, so this runs again there
    and reads the run's environment; values a caller passes (tests, ``dg.EnvVar``) always win.
    """

    settings_section: ClassVar[type[_Section] | None] = None

    @model_validator(mode="before")
    @classmethod
    def _fill_from_settings(cls, data: Any) -> Any:
        if cls.settings_section is None or not isinstance(data, dict):
            return data
        given = {k: v for k, v in data.items() if v is not None}
        return {**cls.settings_section().resource_fields(), **given}
