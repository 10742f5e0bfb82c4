"""Dagster resource that configures a ``SymblClient``: base URL and credentials (EnvVar) from config."""

from __future__ import annotations

from pydantic import Field, model_validator

from orchestration.defs.symbl.client import DEFAULT_BASE_URL, SymblClient
from orchestration.defs.symbl.job_pace import PollPlan
from orchestration.http import Retries, Waits
from orchestration.settings import (
    SANDBOX_SYMBL_APP_ID,
    SANDBOX_SYMBL_APP_SECRET,
    SettingsResource,
    SymblSettings,
    require_real_credentials,
)

# The sandbox accepts these (and only the sandbox on loopback receives them; see the validator below).
SANDBOX_APP_ID = SANDBOX_SYMBL_APP_ID
SANDBOX_APP_SECRET = SANDBOX_SYMBL_APP_SECRET


class SymblResource(SettingsResource):
    """Symbl.ai REST access. Defaults point at the local sandbox so that the project runs offline.

    Fields not given come from SYMBL_BASE_URL, SYMBL_APP_ID, SYMBL_APP_SECRET, SYMBL_CONCURRENT_JOBS.
    """

    settings_section = SymblSettings

    base_url: str = Field(default=DEFAULT_BASE_URL, description="Symbl REST base URL (https://api.symbl.ai).")
    app_id: str = Field(default=SANDBOX_APP_ID, description="Symbl appId (use an EnvVar).")
    app_secret: str = Field(default=SANDBOX_APP_SECRET, description="Symbl appSecret (use an EnvVar).")
    concurrent_jobs: int = Field(
        default=5, description="The account's concurrent-job limit (trial 2-5, paid 50)."
    )
    request_timeout_seconds: float = Field(
        default=120.0, description="Per-request timeout (uploads included)."
    )
    request_deadline_seconds: float = Field(
        default=600.0, description="Overall bound on one request: connect + upload + the complete answer."
    )
    max_response_bytes: int = Field(
        default=64 * 1024 * 1024, description="Largest answer accepted (and stored in raw.symbl_responses)."
    )
    poll_initial_seconds: float = Field(
        default=1.0, description="First job-status poll interval ceiling (jobs of unknown duration)."
    )
    processing_rate_prior: float = Field(
        default=0.05,
        description="Seconds of processing per second of media assumed until a job completes, on a warehouse "
        "whose journal keeps no rate from an earlier run (after that, the last run's rate is the start): the "
        "first poll of a job of known duration is aimed near its expected finish. Erring low costs polls in the "
        "first run; erring high costs late detection.",
    )
    poll_max_seconds: float = Field(default=30.0, description="Largest job-status poll interval.")
    job_deadline_seconds: float = Field(
        default=4 * 3600.0, description="Give up waiting on a job after this."
    )
    max_retries: int = Field(default=5, description="Retries of a 429/5xx/transport failure per request.")

    @model_validator(mode="after")
    def _sandbox_credentials_only_on_loopback(self) -> SymblResource:
        require_real_credentials(
            self.base_url, {"SYMBL_APP_ID": self.app_id, "SYMBL_APP_SECRET": self.app_secret}
        )
        return self

    def client(self, *, retry_transient: bool = True) -> SymblClient:
        """A new client; use it as ``async with resource.client() as symbl:`` inside one event loop.

        ``retry_transient=False`` is for submits: a 5xx or a lost answer may mean Symbl *did* create the job, so the
        caller reconciles against Symbl's conversation list before trying again instead of blindly re-sending.
        """
        return SymblClient(
            self.base_url,
            self.app_id,
            self.app_secret,
            concurrent_jobs=self.concurrent_jobs,
            request_timeout_seconds=self.request_timeout_seconds,
            request_deadline_seconds=self.request_deadline_seconds,
            max_response_bytes=self.max_response_bytes,
            retry=Retries(max_retries=self.max_retries if retry_transient else 0),
            poll=Waits(
                initial_seconds=self.poll_initial_seconds, factor=1.5, max_seconds=self.poll_max_seconds
            ),
            pace=PollPlan(prior_rate=self.processing_rate_prior, max_wait_seconds=self.poll_max_seconds),
            job_deadline_seconds=self.job_deadline_seconds,
        )
