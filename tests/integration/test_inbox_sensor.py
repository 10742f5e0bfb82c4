"""The inbox sensor over a real inbox and drop folder: platform events become manifests and day runs, terminal
Symbl callbacks of registered jobs request their partition once, and events reach done/ once the tick is committed.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from orchestration.defs.recordings.manifest import parse_manifest
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.webhooks import inbox, signing
from orchestration.defs.webhooks.app import WebhookSettings, build_webhook_app
from orchestration.defs.webhooks.resource import WebhookInboxResource
from orchestration.defs.webhooks.sensor import UNKNOWN_JOB_GRACE_SECONDS, inbox_sensor, manifest_path
from sandbox.server import ServedApp

SECRET = "platform-shared-secret-0123456789"
JOB = "4c0f5d8e-7a61-4f2b-9d0e-1b2c3d4e5f60"


@pytest.fixture
def inbox_dir(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    root = tmp_path / "drop"
    (root / "manifests").mkdir(parents=True)
    return root


def recording(recording_id: str, start_time: str) -> dict[str, Any]:
    return {
        "recording_id": recording_id,
        "start_time": start_time,
        "host": {"name": "Maya Chen", "email": "maya.chen@lumen.example"},
        "participants": [{"name": "Maya Chen", "email": "maya.chen@lumen.example", "role": "rep"}],
        "media": {"kind": "audio_url", "url": f"https://media.example.com/{recording_id}.wav"},
    }


def tick(inbox_dir: Path, drop: Path, cursor: str | None, timezone: str = "UTC") -> dg.SensorResult:
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={
            "webhook_inbox": WebhookInboxResource(inbox_dir=str(inbox_dir)),
            "drop_folder": DropFolderResource(root=str(drop), timezone=timezone),
        },
    )
    result = inbox_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def callback(inbox_dir: Path, status: str, job_id: str = JOB, **name: Any) -> Path:
    payload = {"job_id": job_id, "status": status, "conversation_id": "5683829930950656"}
    return inbox.write_event(inbox_dir, inbox.SYMBL_CALLBACK, payload, **name)


def partitions(result: dg.SensorResult) -> list[str | None]:
    return [r.partition_key for r in result.run_requests or []]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []


@pytest.mark.parametrize(("timezone", "day"), [("UTC", "2026-04-08"), ("America/Chicago", "2026-04-07")])
def test_platform_event_becomes_a_manifest_and_a_run_for_its_day(
    inbox_dir: Path, drop: Path, timezone: str, day: str
) -> None:
    doc = recording("rec-late-call", "2026-04-07T23:30:00-05:00")  # 04:30 UTC on the 8th
    body = json.dumps({"type": "recording.completed", "recording": doc}).encode()
    settings = WebhookSettings(inbox_dir=inbox_dir, webhook_secret=SECRET)
    with ServedApp(build_webhook_app(settings)) as receiver:
        headers = signing.sign(SECRET, int(time.time()), body)
        response = httpx.post(
            f"{receiver.base_url}/platform/recording-completed", content=body, headers=headers
        )
        assert response.status_code == 202

    result = tick(inbox_dir, drop, None, timezone)

    written = manifest_path(drop, "rec-late-call")
    assert json.loads(written.read_bytes()) == doc
    assert parse_manifest(written, drop).recording_id == "rec-late-call"  # a valid drop-folder manifest
    assert partitions(result) == [day]
    assert not list(written.parent.glob(".tmp-*"))


def test_events_move_to_done_only_once_the_next_tick_sees_the_committed_cursor(
    inbox_dir: Path, drop: Path
) -> None:
    for i, start in enumerate(["2026-04-07T10:00:00Z", "2026-04-07T11:00:00Z", "2026-04-09T09:00:00Z"]):
        inbox.write_event(inbox_dir, inbox.PLATFORM_RECORDING, {"recording": recording(f"rec-{i}", start)})
    accepted = names(inbox_dir / "pending")

    first = tick(inbox_dir, drop, None)
    assert sorted(partitions(first)) == ["2026-04-07", "2026-04-09"]  # one run per day, not per event
    assert names(inbox_dir / "pending") == accepted  # Dagster has not submitted the runs yet

    lost = tick(inbox_dir, drop, None)  # the first tick never committed: the same events, the same run keys
    assert [r.run_key for r in lost.run_requests or []] == [r.run_key for r in first.run_requests or []]

    second = tick(inbox_dir, drop, first.cursor)
    assert partitions(second) == []
    assert names(inbox_dir / "pending") == []
    assert names(inbox_dir / "done") == accepted


def test_terminal_callback_of_a_registered_job_requests_its_partition_once(
    inbox_dir: Path, drop: Path
) -> None:
    inbox.register_job(inbox_dir, JOB, "rec-0001", date(2026, 4, 7))
    callback(inbox_dir, "scheduled")
    callback(inbox_dir, "in_progress")
    callback(inbox_dir, "completed")
    callback(inbox_dir, "completed")  # at-least-once delivery: the same callback twice

    first = tick(inbox_dir, drop, None)
    assert partitions(first) == ["2026-04-07"]

    callback(inbox_dir, "completed")  # a late third delivery, after the run was requested
    second = tick(inbox_dir, drop, first.cursor)
    assert partitions(second) == []
    third = tick(inbox_dir, drop, second.cursor)
    assert partitions(third) == []
    assert names(inbox_dir / "pending") == [] and len(names(inbox_dir / "done")) == 5
    assert inbox.latest_job_status(inbox_dir) == {JOB: "completed"}


def test_non_terminal_callbacks_request_nothing(inbox_dir: Path, drop: Path) -> None:
    inbox.register_job(inbox_dir, JOB, "rec-0001", date(2026, 4, 7))
    callback(inbox_dir, "in_progress")

    assert partitions(tick(inbox_dir, drop, None)) == []


def test_callback_for_an_unregistered_job_waits_then_is_set_aside(inbox_dir: Path, drop: Path) -> None:
    callback(inbox_dir, "completed", job_id="unregistered-young")
    old_ns = time.time_ns() - (UNKNOWN_JOB_GRACE_SECONDS + 60) * 1_000_000_000
    callback(inbox_dir, "failed", job_id="unregistered-old", name=inbox.new_event_name(old_ns))

    first = tick(inbox_dir, drop, None)
    assert partitions(first) == []
    tick(inbox_dir, drop, first.cursor)

    pending = [e.payload["job_id"] for e in inbox.pending_events(inbox_dir)]
    assert pending == ["unregistered-young"]  # its submit may still be registering it
    inbox.register_job(inbox_dir, "unregistered-young", "rec-0002", date(2026, 4, 9))
    assert partitions(tick(inbox_dir, drop, first.cursor)) == ["2026-04-09"]


def test_latest_job_status_lets_a_terminal_status_win_over_a_late_earlier_one(inbox_dir: Path) -> None:
    callback(inbox_dir, "completed", job_id="job-a")
    callback(inbox_dir, "in_progress", job_id="job-a")  # delivered out of order
    callback(inbox_dir, "scheduled", job_id="job-b")
    callback(inbox_dir, "in_progress", job_id="job-b")

    assert inbox.latest_job_status(inbox_dir) == {"job-a": "completed", "job-b": "in_progress"}


def test_an_unreadable_event_file_is_set_aside_without_blocking_the_others(
    inbox_dir: Path, drop: Path
) -> None:
    inbox.write_event(
        inbox_dir, inbox.PLATFORM_RECORDING, {"recording": recording("rec-ok", "2026-04-07T10:00:00Z")}
    )
    broken = inbox_dir / "pending" / inbox.new_event_name()
    broken.write_text("{not json")

    assert partitions(tick(inbox_dir, drop, None)) == ["2026-04-07"]
    assert (inbox_dir / "failed" / broken.name).exists()
    assert "unreadable" in (inbox_dir / "failed" / f"{broken.name}.reason").read_text()


def test_sensor_loads_with_the_project_definitions() -> None:
    """The sensor targets the real ingest job and its resources resolve next to the project's own."""
    from orchestration.definitions import defs

    sensor = defs.get_repository_def().get_sensor_def("inbox_sensor")
    assert sensor is inbox_sensor
    assert isinstance(defs.resources["webhook_inbox"], WebhookInboxResource)
    assert sensor.job_name == "conversation_ingest_job"
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
