"""A drop folder full of hostile manifests, through the real `recordings` asset and the new-recordings sensor; then
`symbl_conversations` against a scripted Symbl where some recordings get hostile answers.

Every bad manifest must become one rejection naming its file and cause, the good ones must land, the sensor tick
must not fail, and nothing may read /etc/passwd (an audit hook records every open of it in this process). In the
Symbl part, each hostile answer fails (or, for an outage, parks) only its own recording.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from orchestration.defs.recordings.assets import recordings
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.recordings.sensors import new_recordings_sensor
from orchestration.defs.symbl.client import SymblClient
from orchestration.defs.symbl.conversations import symbl_conversations
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.webhooks.resource import WebhookInboxResource
from orchestration.http import Retries, Waits

DAY = "2026-04-07"
PASSWD = "/etc/passwd"

# Every open() of /etc/passwd in this process while a test watches (audit hooks cannot be removed: gate them).
_passwd_opens: list[str] = []
_watching = {"on": False}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watching["on"] and event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        target = os.fsdecode(args[0])
        if target == PASSWD or os.path.realpath(target) == PASSWD:
            _passwd_opens.append(target)


sys.addaudithook(_audit)


@pytest.fixture
def watch_passwd() -> Any:
    _passwd_opens.clear()
    _watching["on"] = True
    yield _passwd_opens
    _watching["on"] = False


def manifest(rid: str, start: str = f"{DAY}T15:00:00Z", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "recording_id": rid,
        "start_time": start,
        "title": f"Call {rid}",
        "host": {"name": "Maya Chen", "email": "maya.chen@lumen.example"},
        "participants": [{"name": "Maya Chen", "email": "maya.chen@lumen.example", "role": "rep"}],
        "media": {"kind": "audio_file", "path": f"media/{rid}.wav"},
    }
    doc.update(changes)
    return doc


class DropFolder:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "manifests").mkdir(parents=True)
        (root / "media").mkdir()

    def write(self, name: str, doc: dict[str, Any] | bytes, *, media: bool = True) -> Path:
        path = self.root / "manifests" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(doc, dict) and media and doc["media"]["kind"] == "audio_file":
            media_path = self.root / doc["media"]["path"]  # relative: inside the drop folder
            if not media_path.exists():
                media_path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
        path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
        time.sleep(0.01)  # distinct ctimes: arrival order is what decides which file owns an id
        return path


class World:
    """A drop folder, a warehouse file, and the resources the recordings asset and the sensor read them with."""

    def __init__(self, tmp_path: Path) -> None:
        self.drop = DropFolder(tmp_path / "drop")
        self.warehouse = WarehouseResource(
            path=str(tmp_path / "live.duckdb"), analyst_path=str(tmp_path / "analyst.duckdb")
        )
        # No DNS in tests: URL manifests here use IP literals, which are decided as written.
        self.drop_folder = DropFolderResource(root=str(tmp_path / "drop"), resolve_media_hosts=False)

    def materialize_recordings(self) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [recordings],
            partition_key=DAY,
            resources={"drop_folder": self.drop_folder, "warehouse": self.warehouse},
        )

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(self.warehouse.path, read_only=True) as con:
            return con.execute(query).fetchall()

    def rejections(self) -> dict[str, str]:
        rows = self.sql("SELECT source_file, reason FROM raw.recording_rejections WHERE stage = 'manifest'")
        return dict(rows)

    def recording_files(self) -> dict[str, str]:
        return dict(self.sql("SELECT recording_id, source_file FROM raw.recordings"))


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def hostile_folder(drop: DropFolder, tmp_path: Path) -> None:
    drop.write("good-1.json", manifest("rec-good-1"))
    drop.write("good-2.json", manifest("rec-good-2", f"{DAY}T09:30:00+02:00"))
    nested = b'{"recording_id": "rec-nested", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    assert 55_000 < len(nested) < 64 * 1024
    drop.write("nested.json", nested)
    huge = json.dumps(manifest("rec-huge", duration_seconds=0)).replace(
        '"duration_seconds": 0', '"duration_seconds": ' + "9" * 5000
    )
    drop.write("huge-number.json", huge.encode())
    drop.write("overflow.json", manifest("rec-overflow", duration_seconds=1e308))
    drop.write(
        "passwd.json", manifest("rec-passwd", media={"kind": "audio_file", "path": PASSWD}), media=False
    )
    (drop.root / "media" / "innocent.wav").symlink_to(PASSWD)
    drop.write(
        "link.json",
        manifest("rec-link", media={"kind": "audio_file", "path": "media/innocent.wav"}),
        media=False,
    )
    drop.write(
        "traversal.json",
        manifest("rec-dots", media={"kind": "audio_file", "path": "media/../../../etc/passwd"}),
        media=False,
    )
    drop.write(
        "metadata.json",
        manifest("rec-meta", media={"kind": "audio_url", "url": "http://169.254.169.254/latest/meta-data/"}),
    )
    future = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    drop.write("future.json", manifest("rec-future", future))
    drop.write("ancient.json", manifest("rec-ancient", "2020-02-03T10:00:00Z"))
    # A folder linked in from elsewhere: the sensor follows it, so the scan must too.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (drop.root / "media" / "rec-linked.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    (elsewhere / "linked.json").write_text(json.dumps(manifest("rec-linked")))
    (drop.root / "manifests" / "platform").symlink_to(elsewhere, target_is_directory=True)
    # Arrives last but sorts first: must not take rec-good-1 over.
    drop.write(
        "a-takeover.json",
        manifest(
            "rec-good-1", title="Taken over", media={"kind": "audio_file", "path": "media/rec-good-2.wav"}
        ),
    )


EXPECTED_REJECTIONS = {
    "manifests/nested.json": "nested too deeply",
    "manifests/huge-number.json": "digits",
    "manifests/overflow.json": "duration_seconds",
    "manifests/passwd.json": "resolves outside the drop folder",
    "manifests/link.json": "resolves outside the drop folder",
    "manifests/traversal.json": "resolves outside the drop folder",
    "manifests/metadata.json": "metadata address",
    "manifests/future.json": "in the future",
    "manifests/ancient.json": "before the first partition",
    "manifests/a-takeover.json": "duplicate recording_id 'rec-good-1': already defined by manifests/good-1.json",
}


def test_every_bad_manifest_is_its_own_rejection_and_the_good_ones_land(
    world: World, tmp_path: Path, watch_passwd: list[str]
) -> None:
    hostile_folder(world.drop, tmp_path)

    result = world.materialize_recordings()
    assert result.success
    assert world.recording_files() == {
        "rec-good-1": "manifests/good-1.json",
        "rec-good-2": "manifests/good-2.json",
        "rec-linked": "manifests/platform/linked.json",
    }
    rejections = world.rejections()
    assert set(rejections) == set(EXPECTED_REJECTIONS), rejections
    for source_file, fragment in EXPECTED_REJECTIONS.items():
        assert fragment in rejections[source_file], (source_file, rejections[source_file])
    assert world.sql("SELECT count(*) FROM raw.recordings WHERE media_ref LIKE '%passwd%'") == [(0,)]

    # The sensor sees the same folder: its tick succeeds and asks for the good day only.
    context = dg.build_sensor_context(resources={"drop_folder": world.drop_folder})
    tick = new_recordings_sensor(context)
    assert isinstance(tick, dg.SensorResult)
    assert [r.partition_key for r in tick.run_requests or []] == [DAY]

    # A re-run is stable: same owners, same rejections.
    assert world.materialize_recordings().success
    assert world.recording_files()["rec-good-1"] == "manifests/good-1.json"
    assert set(world.rejections()) == set(EXPECTED_REJECTIONS)
    assert watch_passwd == []  # nothing opened /etc/passwd


def test_a_manifest_added_later_cannot_take_over_an_ingested_id_even_with_an_older_looking_file(
    world: World,
) -> None:
    world.drop.write("z-original.json", manifest("rec-1"))
    assert world.materialize_recordings().success
    assert world.recording_files() == {"rec-1": "manifests/z-original.json"}

    # The intruder sorts first; even touching the original afterwards (a new ctime) must not hand the id over.
    world.drop.write("0-intruder.json", manifest("rec-1", title="Intruder"))
    original = world.drop.root / "manifests" / "z-original.json"
    os.chmod(original, 0o644)  # bumps the original's ctime past the intruder's
    assert world.materialize_recordings().success
    assert world.recording_files() == {"rec-1": "manifests/z-original.json"}
    assert world.sql("SELECT title FROM raw.recordings") == [("Call rec-1",)]
    assert "already defined by manifests/z-original.json" in world.rejections()["manifests/0-intruder.json"]


def test_media_roots_allow_media_kept_elsewhere(world: World, tmp_path: Path) -> None:
    store = tmp_path / "media-store"
    store.mkdir()
    (store / "call.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    world.drop.write(
        "elsewhere.json",
        manifest("rec-el", media={"kind": "audio_file", "path": str(store / "call.wav")}),
        media=False,
    )
    assert world.materialize_recordings().success
    assert "resolves outside" in world.rejections()["manifests/elsewhere.json"]

    world.drop_folder = DropFolderResource(
        root=world.drop_folder.root, media_roots=[str(store)], resolve_media_hosts=False
    )
    assert world.materialize_recordings().success
    assert world.recording_files() == {"rec-el": "manifests/elsewhere.json"}
    assert world.rejections() == {}


# --- symbl_conversations: a hostile answer fails only its own recording


class HostileSymbl:
    """A scripted Symbl: good answers, except for the recordings named in ``HOSTILE``."""

    HOSTILE = {
        "rec-error-body": "submit: 200 with an error body",
        "rec-bad-ids": "submit: ids of the wrong shape",
        "rec-odd-status": "job: unknown status",
        "rec-typed-status": "job: wrong-typed status",
        "rec-redirected": "job: redirect to another host",
        "rec-outage": "job: lasting 503",
    }

    def __init__(self) -> None:
        self.jobs: dict[str, str] = {}  # job id -> recording id
        self.hosts: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hosts.add(request.url.host)
        path = request.url.path.removeprefix("/symbl")
        if path == "/oauth2/token:generate":
            return httpx.Response(200, json={"accessToken": "a.b.c", "expiresIn": 86400})
        if path == "/v1/process/audio":
            rid = request.url.params["name"].removeprefix("Call ")
            if rid == "rec-error-body":
                return httpx.Response(200, json={"message": "account suspended"})
            if rid == "rec-bad-ids":
                return httpx.Response(201, json={"conversationId": "../../admin", "jobId": "x"})
            job_id = str(uuid.uuid4())
            self.jobs[job_id] = rid
            return httpx.Response(201, json={"conversationId": str(1000 + len(self.jobs)), "jobId": job_id})
        if path.startswith("/v1/job/"):
            rid = self.jobs[path.rsplit("/", 1)[1]]
            if rid == "rec-odd-status":
                return httpx.Response(200, json={"status": "paused"})
            if rid == "rec-typed-status":
                return httpx.Response(200, json={"status": {"state": "completed"}})
            if rid == "rec-redirected":
                return httpx.Response(302, headers={"Location": "http://169.254.169.254/job"})
            if rid == "rec-outage":
                return httpx.Response(503, json={"message": "maintenance"})
            return httpx.Response(200, json={"id": path.rsplit("/", 1)[1], "status": "completed"})
        # Reconciliation after an unreadable submit answer asks for the conversation list: nothing was created.
        if path == "/v1/conversations":
            return httpx.Response(200, json={"conversations": []})
        return httpx.Response(404, json={"message": "not scripted"})


SYMBL = HostileSymbl()


class ScriptedSymblResource(SymblResource):
    def client(self, retry_transient: bool = True) -> SymblClient:
        async def no_sleep(seconds: float) -> None:
            return None

        return SymblClient(
            "http://symbl.test/symbl",
            "app",
            "secret",
            transport=httpx.MockTransport(SYMBL),
            # Submits go through a client that never retries on its own (an ambiguous answer is reconciled).
            retry=Retries(max_retries=1 if retry_transient else 0, waits=Waits(0.01, 2.0, 0.01)),
            poll=Waits(0.01, 1.0, 0.01),
            sleep=no_sleep,
        )


def test_one_hostile_answer_fails_only_its_recording(world: World, tmp_path: Path) -> None:
    good = ["rec-fine-1", "rec-fine-2", "rec-fine-3"]
    for rid in [*good, *HostileSymbl.HOSTILE]:
        world.drop.write(f"{rid}.json", manifest(rid))
    assert world.materialize_recordings().success

    result = dg.materialize(
        [symbl_conversations],
        partition_key=DAY,
        resources={
            "symbl": ScriptedSymblResource(),
            "warehouse": world.warehouse,
            "webhook_inbox": WebhookInboxResource(inbox_dir=str(tmp_path / "inbox")),
        },
        selection=[symbl_conversations.key],
        raise_on_error=False,
    )
    assert result.success  # the step survived every hostile answer
    ledger = {
        rid: (status, reason or "")
        for rid, status, reason in world.sql(
            "SELECT recording_id, status, failure_reason FROM raw.symbl_conversations"
        )
    }
    assert {rid: ledger[rid][0] for rid in good} == dict.fromkeys(good, "completed")
    expected = {
        "rec-error-body": ("failed", "account suspended"),
        "rec-bad-ids": ("failed", "conversationId"),
        "rec-odd-status": ("failed", "unknown job status 'paused'"),
        "rec-typed-status": ("failed", "not a short string"),
        "rec-redirected": ("failed", "redirect"),
        "rec-outage": ("in_progress", ""),  # parked, not failed: the next run waits on the same job
    }
    for rid, (status, fragment) in expected.items():
        assert ledger[rid][0] == status and fragment in ledger[rid][1], (rid, ledger[rid])
    assert SYMBL.hosts == {"symbl.test"}  # the redirect to the metadata address was not followed


def test_the_passwd_watch_does_see_an_open(watch_passwd: list[str]) -> None:
    # The watch above would catch a read: proven here, so its silence there means something.
    with open(PASSWD, "rb") as f:
        f.read(1)
    assert watch_passwd == [PASSWD]
