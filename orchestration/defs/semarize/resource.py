"""Dagster resource that configures a ``SemarizeClient`` and names the Kits the pipeline runs."""

from __future__ import annotations

from pydantic import Field, model_validator

from orchestration.defs.semarize.client import DEFAULT_BASE_URL, SemarizeClient
from orchestration.http import Retries, Waits
from orchestration.settings import (
    SANDBOX_SEMARIZE_API_KEY,
    SemarizeSettings,
    SettingsResource,
    require_real_credentials,
)

# The sandbox's test key (only the sandbox on loopback receives it; see the validator below).
SANDBOX_API_KEY = SANDBOX_SEMARIZE_API_KEY


class SemarizeResource(SettingsResource):
    """Semarize REST access. Defaults point at the local sandbox so that the project runs offline.

    Fields not given come from SEMARIZE_BASE_URL, SEMARIZE_API_KEY and SEMARIZE_KITS (comma-separated).
    """

    settings_section = SemarizeSettings

    base_url: str = Field(
        default=DEFAULT_BASE_URL, description="Semarize base URL (https://api.semarize.com)."
    )
    api_key: str = Field(default=SANDBOX_API_KEY, description="Semarize API key (use an EnvVar).")
    kits: list[str] = Field(default=["SLSDISC1"], description="Kit codes run on every conversation.")
    request_timeout_seconds: float = Field(default=120.0, description="Per-request timeout (sync runs wait).")
    poll_initial_seconds: float = Field(default=0.5, description="First run-status poll interval ceiling.")
    poll_max_seconds: float = Field(default=15.0, description="Largest run-status poll interval.")
    request_deadline_seconds: float = Field(
        default=300.0, description="Overall bound on one request: connect + the complete answer."
    )
    max_response_bytes: int = Field(default=16 * 1024 * 1024, description="Largest answer accepted.")
    run_deadline_seconds: float = Field(default=900.0, description="Give up polling a run after this.")
    max_retries: int = Field(default=5, description="Retries of a 429/5xx/transport failure per request.")

    @model_validator(mode="after")
    def _sandbox_credentials_only_on_loopback(self) -> SemarizeResource:
        require_real_credentials(self.base_url, {"SEMARIZE_API_KEY": self.api_key})
        return self

    def client(self) -> SemarizeClient:
        """A new client; use it as ``async with resource.client() as semarize:`` inside one event loop."""
        return SemarizeClient(
            self.base_url,
            self.api_key,
            request_timeout_seconds=self.request_timeout_seconds,
            request_deadline_seconds=self.request_deadline_seconds,
            max_response_bytes=self.max_response_bytes,
            retry=Retries(max_retries=self.max_retries),
            poll=Waits(
                initial_seconds=self.poll_initial_seconds, factor=1.5, max_seconds=self.poll_max_seconds
            ),
            run_deadline_seconds=self.run_deadline_seconds,
        )
