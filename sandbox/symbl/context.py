"""Everything a Symbl request handler needs, built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.config import SandboxConfig
from sandbox.middleware import RuntimeSettings
from sandbox.symbl.auth import TokenService
from sandbox.symbl.insights import InsightsService
from sandbox.symbl.jobs import JobRunner
from sandbox.symbl.repository import SymblRepository
from sandbox.symbl.webhooks import WebhookSender


@dataclass
class SymblContext:
    config: SandboxConfig
    settings: RuntimeSettings
    repository: SymblRepository
    tokens: TokenService
    insights: InsightsService
    webhooks: WebhookSender
    runner: JobRunner
