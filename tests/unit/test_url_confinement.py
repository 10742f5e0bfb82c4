"""Media URL confinement: decided before any connection, and no test traffic leaves loopback.

Name resolution goes through injected resolvers (dictionaries), so no DNS query is sent; the sandbox's fetcher
is given a transport that fails the test if it is ever called for a refused URL.
"""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from orchestration.defs.recordings.policy import InputPolicy
from orchestration.defs.recordings.source import DropFolderSource
from orchestration.netpolicy import UrlPolicy, UrlRejected
from sandbox.symbl.media_input import MediaRejected, check_fetchable, fetch_and_recognise

PUBLIC = "93.184.216.34"
ZONE = {
    "cdn.example": [PUBLIC],
    "v6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    "rebind.example": [PUBLIC, "10.0.0.5"],  # one internal address is enough to refuse
    "meta.example": ["169.254.169.254"],
    "mapped.example": ["::ffff:192.168.1.10"],
    "corp.example": ["10.20.30.40"],
    "loop.example": ["127.0.0.1"],
}


def resolver(host: str, port: int) -> list[str]:
    if host not in ZONE:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return ZONE[host]


async def async_resolver(host: str, port: int) -> list[str]:
    return resolver(host, port)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://127.0.0.1:8765/media/a.wav", "loopback"),
        ("http://[::1]/a.wav", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest", "metadata"),
        ("http://10.1.2.3/a.wav", "private"),
        ("http://172.16.0.9/a.wav", "private"),
        ("http://192.168.0.2/a.wav", "private"),
        ("http://100.64.0.1/a.wav", "shared"),
        ("http://[fe80::1]/a.wav", "link-local"),
        ("http://[fd12:3456::1]/a.wav", "private"),
        ("http://[::ffff:10.0.0.1]/a.wav", "private"),
        ("http://0.0.0.0/a.wav", "unspecified"),
        ("http://224.0.0.1/a.wav", "multicast"),
        ("http://127.1/a.wav", "non-canonical"),
        ("http://2130706433/a.wav", "non-canonical"),
        ("http://0x7f.0.0.1/a.wav", "non-canonical"),
        ("http://localhost:8080/a.wav", "internal name"),
        ("http://metadata.google.internal/computeMetadata/v1/", "internal name"),
        ("http://printer.local/a.wav", "internal name"),
        ("http://fileserver/a.wav", "internal name"),
        ("http://user:pw@cdn.example/a.wav", "user name"),
        ("ftp://cdn.example/a.wav", "http(s)"),
        ("file:///etc/passwd", "http(s)"),
    ],
)
def test_internal_urls_are_refused_as_written(url: str, fragment: str) -> None:
    with pytest.raises(UrlRejected) as info:
        UrlPolicy().check(url)  # no resolver: nothing is looked up at all
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://rebind.example/a.wav", "10.0.0.5"),
        ("https://meta.example/a.wav", "metadata"),
        ("https://mapped.example/a.wav", "private"),
        ("https://corp.example/a.wav", "private"),
        ("https://loop.example/a.wav", "loopback"),
        ("https://nowhere.example/a.wav", "does not resolve"),
    ],
)
def test_every_resolved_address_is_checked(url: str, fragment: str) -> None:
    UrlPolicy().check(url)  # as written, a public-looking name passes...
    with pytest.raises(UrlRejected) as info:
        UrlPolicy().check(url, resolver)  # ...and its addresses decide
    assert fragment in str(info.value)


def test_public_hosts_pass_and_the_allowlist_is_explicit_about_ports() -> None:
    UrlPolicy().check("https://cdn.example/a.wav", resolver)
    UrlPolicy().check("https://v6.example/a.wav", resolver)
    UrlPolicy().check(f"http://{PUBLIC}/a.wav", resolver)
    policy = UrlPolicy.allowing(["127.0.0.1:8765", "corp.example", "[::1]"])
    policy.check("http://127.0.0.1:8765/media/a.wav", resolver)
    policy.check("https://corp.example/a.wav", resolver)  # allowed: resolution is not even asked
    policy.check("http://[::1]:9000/a.wav", resolver)
    with pytest.raises(UrlRejected):
        policy.check("http://127.0.0.1:8766/media/a.wav", resolver)  # another port on loopback is not allowed
    assert UrlPolicy.allowing(["http://127.0.0.1:8765"]).is_allowed_host("127.0.0.1", 8765)


def test_the_drop_folder_rejects_internal_media_urls_before_anything_is_submitted(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    calls: list[str] = []

    def counting_resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return resolver(host, port)

    def write(rid: str, url: str) -> None:
        doc = {
            "recording_id": rid,
            "start_time": "2026-04-07T15:00:00Z",
            "host": {"name": "Maya", "email": "maya@lumen.example"},
            "participants": [{"name": "Maya"}],
            "media": {"kind": "audio_url", "url": url},
        }
        (tmp_path / "manifests" / f"{rid}.json").write_text(json.dumps(doc))

    write("rec-public", "https://cdn.example/a.wav")
    write("rec-public-2", "https://cdn.example/b.wav")
    write("rec-rebind", "https://rebind.example/a.wav")
    write("rec-metadata", "http://169.254.169.254/latest/meta-data/iam")
    write("rec-sandbox", "http://127.0.0.1:8765/media/a.wav")
    policy = InputPolicy(url_policy=UrlPolicy.allowing(["127.0.0.1:8765"]), resolver=counting_resolver)
    source = DropFolderSource(tmp_path, policy=policy)
    day = datetime(2026, 4, 7, tzinfo=UTC)
    scan = source.scan(day, day + timedelta(days=1), now=day)
    assert sorted(m.recording_id for m in scan.manifests) == ["rec-public", "rec-public-2", "rec-sandbox"]
    reasons = {r.recording_id: r.reason for r in scan.rejections}
    assert set(reasons) == {"rec-rebind", "rec-metadata"}
    assert "10.0.0.5" in reasons["rec-rebind"] and "metadata" in reasons["rec-metadata"]
    assert sorted(calls) == [
        "cdn.example",
        "rebind.example",
    ]  # once per host per scan; literals never resolved


class MustNotConnect(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raise AssertionError(f"connected to {request.url} although the URL should have been refused")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/a.wav",
        "https://cdn.example/a.wav",  # public, but the sandbox fetches only loopback unless configured
        "https://rebind.example/a.wav",
        "https://nowhere.example/a.wav",
    ],
)
def test_the_sandbox_refuses_non_loopback_media_before_connecting(url: str) -> None:
    transport = MustNotConnect()

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            await fetch_and_recognise(client, url, "audio_url", 1 << 20, 3600, resolver=async_resolver)

    with pytest.raises(MediaRejected) as info:
        asyncio.run(run())
    assert "loopback" in str(info.value) or "does not resolve" in str(info.value)
    assert transport.requests == []


def test_the_sandbox_fetches_loopback_and_configured_hosts() -> None:
    asyncio.run(check_fetchable("http://127.0.0.1:8765/media/a.wav", (), async_resolver))
    asyncio.run(check_fetchable("http://loop.example/a.wav", (), async_resolver))
    asyncio.run(check_fetchable("https://cdn.example/a.wav", ("cdn.example",), async_resolver))
    asyncio.run(check_fetchable("https://anything.example/a.wav", ("*",), async_resolver))
    with pytest.raises(MediaRejected):
        asyncio.run(check_fetchable("https://cdn.example/a.wav", ("cdn.example:8443",), async_resolver))
