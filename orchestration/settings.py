"""Environment defaults: with nothing configured, every client points at the local sandbox with its credentials.

Secrets are still read through `dagster.EnvVar` (so the UI shows the variable's name, never its value); this module
only fills in the sandbox's well-known credentials when the matching base URL is the sandbox on loopback.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

# The sandbox's documented default credentials (sandbox/config.py); the pipeline does not import the sandbox.
DEFAULT_SYMBL_APP_ID = "sandbox-app-id"
DEFAULT_SYMBL_APP_SECRET = "sandbox-app-secret"
DEFAULT_SEMARIZE_API_KEY = "smz_test_sandbox"
DEFAULT_NEBULA_API_KEY = "nebula-sandbox-key"

SANDBOX_URL = os.environ.get("CONVO_INTEL_SANDBOX_URL", "http://127.0.0.1:8765")

# name -> (default, applies only when this base-URL variable points at loopback)
DEFAULTS: dict[str, tuple[str, str | None]] = {
    "SYMBL_BASE_URL": (f"{SANDBOX_URL}/symbl", None),
    "SEMARIZE_BASE_URL": (f"{SANDBOX_URL}/semarize", None),
    "NEBULA_BASE_URL": (f"{SANDBOX_URL}/nebula", None),
    "SYMBL_APP_ID": (DEFAULT_SYMBL_APP_ID, "SYMBL_BASE_URL"),
    "SYMBL_APP_SECRET": (DEFAULT_SYMBL_APP_SECRET, "SYMBL_BASE_URL"),
    "SEMARIZE_API_KEY": (DEFAULT_SEMARIZE_API_KEY, "SEMARIZE_BASE_URL"),
    "NEBULA_API_KEY": (DEFAULT_NEBULA_API_KEY, "NEBULA_BASE_URL"),
    "SLACK_WEBHOOK_URL": (f"{SANDBOX_URL}/slack/services/T00000000/B00000000/sandbox-slack-token", None),
    "CRM_BASE_URL": (f"{SANDBOX_URL}/crm", None),
    "CRM_ACCESS_TOKEN": ("sandbox-crm-token", "CRM_BASE_URL"),
    "SYMBL_CONCURRENT_JOBS": ("5", None),
    "CONVO_INTEL_INBOX_DIR": ("var/inbox", None),
    "CONVO_INTEL_LIVE_DIR": ("var/live", None),
    # Empty: Symbl callbacks off, jobs awaited by polling. Set both to have Symbl call the webhook receiver.
    "CONVO_INTEL_WEBHOOK_PUBLIC_URL": ("", None),
    "CONVO_INTEL_SYMBL_CALLBACK_TOKEN": ("", None),
    "SEMARIZE_KITS": ("SLSDISC1", None),
    "CONVO_INTEL_DROP_FOLDER": ("var/drop", None),
    "CONVO_INTEL_WAREHOUSE": ("var/warehouse/convo_intel.duckdb", None),
}


# Secrets whose absence just turns a feature off (Nebula summaries) instead of failing the run.
OPTIONAL_SECRETS = {"NEBULA_API_KEY"}


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def apply_defaults(environ: dict[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    for name, (default, guard) in DEFAULTS.items():
        if env.get(name) or (default == "" and name in env):
            continue
        if guard is not None and not _is_loopback(env.get(guard, "")):
            if name in OPTIONAL_SECRETS:
                env[name] = ""  # feature off, rather than a missing-variable error at run time
            continue  # a real service without credentials: let EnvVar fail loudly instead of guessing
        env[name] = default
    if not env.get("CONVO_INTEL_ANALYST_WAREHOUSE"):
        live = env["CONVO_INTEL_WAREHOUSE"]
        stem, dot, suffix = live.rpartition(".")
        env["CONVO_INTEL_ANALYST_WAREHOUSE"] = f"{stem}_analyst.{suffix}" if dot else f"{live}_analyst"
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    env.setdefault("DO_NOT_TRACK", "1")


def kit_list() -> list[str]:
    """Semarize Kits to run, from SEMARIZE_KITS (comma-separated kit codes)."""
    return [k.strip() for k in os.environ.get("SEMARIZE_KITS", "SLSDISC1").split(",") if k.strip()]
