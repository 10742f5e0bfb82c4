"""Dagster resource for the webhook inbox (shared by the inbox sensor and the asset that submits Symbl jobs)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field

from orchestration.defs.webhooks import inbox
from orchestration.settings import SettingsResource, WebhookInboxSettings

INBOX_DIR_ENV = "CONVO_INTEL_INBOX_DIR"
DEFAULT_INBOX_DIR = "var/inbox"


class WebhookInboxResource(SettingsResource):
    """The receiver's durable inbox (defs/webhooks/inbox.py). Fields not given come from the environment."""

    settings_section = WebhookInboxSettings

    inbox_dir: str = Field(
        default=DEFAULT_INBOX_DIR,
        description=f"Inbox directory (default: ${INBOX_DIR_ENV}, else {DEFAULT_INBOX_DIR}).",
    )

    public_base_url: str = Field(
        default="",
        description=(
            "Where Symbl can reach the webhook receiver (env CONVO_INTEL_WEBHOOK_PUBLIC_URL). Empty: no callbacks, "
            "jobs are awaited by polling."
        ),
    )
    symbl_callback_token: str = Field(
        default="",
        description="The unguessable token in the callback URL (env CONVO_INTEL_SYMBL_CALLBACK_TOKEN; a secret).",
    )

    @property
    def callbacks_enabled(self) -> bool:
        return bool(self.public_base_url and self.symbl_callback_token)

    def symbl_callback_url(self) -> str | None:
        """The `webhookUrl` sent with each submit, or None when callbacks are not configured."""
        if not self.callbacks_enabled:
            return None
        return f"{self.public_base_url.rstrip('/')}/symbl/callback/{self.symbl_callback_token}"

    @property
    def path(self) -> Path:
        return Path(self.inbox_dir)

    def register_job(self, job_id: str, recording_id: str, partition_date: date) -> None:
        """Call when Symbl answers a submit, so the job's callback can request its partition's run."""
        inbox.register_job(self.path, job_id, recording_id, partition_date)

    def latest_job_status(self) -> dict[str, str]:
        return inbox.latest_job_status(self.path)
