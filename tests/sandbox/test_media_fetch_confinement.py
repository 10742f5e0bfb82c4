"""The sandbox (standing in for Symbl) fetches URL media only from loopback unless configured otherwise.

Only IP literals are submitted here, so the decision needs no DNS, and a refused URL is never connected to.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from sandbox.config import SandboxConfig


def wait_job(client: httpx.Client, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    give_up = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/job/{job_id}").json()
        if body["status"] in ("completed", "failed") or time.monotonic() > give_up:
            return body
        time.sleep(0.05)


# Failed jobs carry their reason only when configured (Symbl documents none): this test reads it.
@pytest.mark.sandbox_config(job_failure_reason=True)
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.255.255.1/call.wav",
        "http://[fd00:ec2::254]/latest",
    ],
)
def test_internal_media_urls_end_the_job_failed_with_the_reason(symbl: httpx.Client, url: str) -> None:
    began = time.monotonic()
    job = symbl.post("/v1/process/audio/url", json={"url": url}).json()["jobId"]
    final = wait_job(symbl, job)
    assert final["status"] == "failed" and "not on loopback" in final["message"]
    # Decided before connecting: an unroutable 10.x address would otherwise hang for the fetch timeout.
    assert time.monotonic() - began < 5


def test_allowed_hosts_come_from_the_environment() -> None:
    # (Fetching an allowed non-loopback host is not exercised here: tests send nothing beyond loopback.)
    config = SandboxConfig.from_env({"SANDBOX_MEDIA_FETCH_ALLOWED_HOSTS": "cdn.example, media.example:8443"})
    assert config.media_fetch_allowed_hosts == ("cdn.example", "media.example:8443")
    assert SandboxConfig.from_env({}).media_fetch_allowed_hosts == ()
