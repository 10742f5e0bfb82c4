"""A snapshot of the code location: every asset spec, check, job, schedule and sensor.

Any change to the graph (a renamed asset, a lost dependency, a job selecting one asset less, a schedule moved)
shows as a diff of ``__snapshots__/test_definitions_snapshot/*.json``. After an intended change, review the diff
and accept it with ``pytest tests/unit/test_definitions_snapshot.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension


@pytest.fixture(scope="module")
def defs(monkeypatch_module: pytest.MonkeyPatch) -> dg.Definitions:
    # The partitions' start and timezone are configuration: snapshot the defaults.
    for name in ("CONVO_INTEL_PARTITIONS_START", "CONVO_INTEL_TIMEZONE"):
        monkeypatch_module.delenv(name, raising=False)
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def _key(key: dg.AssetKey) -> str:
    return key.to_user_string()


def _partitions(partitions_def: dg.PartitionsDefinition | None) -> str | None:
    return None if partitions_def is None else f"{type(partitions_def).__name__}: {partitions_def}"


def _freshness(policy: Any) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {
        "type": type(policy).__name__,
        "deadline_cron": policy.deadline_cron,
        "lower_bound_seconds": policy.lower_bound_delta.total_seconds(),
        "timezone": policy.timezone,
    }


def test_asset_specs(defs: dg.Definitions, snapshot_json: SnapshotAssertion) -> None:
    specs = {
        _key(spec.key): {
            "group": spec.group_name,
            "kinds": sorted(spec.kinds),
            "owners": sorted(spec.owners),
            "deps": sorted(_key(dep.asset_key) for dep in spec.deps),
            "partitions": _partitions(spec.partitions_def),
            "freshness": _freshness(spec.freshness_policy),
        }
        for spec in defs.resolve_all_asset_specs()
    }
    assert dict(sorted(specs.items())) == snapshot_json


def test_asset_checks(defs: dg.Definitions, snapshot_json: SnapshotAssertion) -> None:
    graph = defs.get_repository_def().asset_graph
    checks = {}
    for check_key in sorted(graph.asset_check_keys, key=lambda k: (_key(k.asset_key), k.name)):
        spec = graph.get_check_spec(check_key)
        checks[f"{_key(check_key.asset_key)}:{check_key.name}"] = {
            "blocking": spec.blocking,
            "additional_deps": sorted(_key(dep.asset_key) for dep in spec.additional_deps),
        }
    assert checks == snapshot_json


def test_jobs_schedules_and_sensors(defs: dg.Definitions, snapshot_json: SnapshotAssertion) -> None:
    repository = defs.get_repository_def()
    jobs = {
        job.name: {
            "partitions": _partitions(job.partitions_def),
            "assets": sorted(_key(k) for k in job.asset_layer.selected_asset_keys),
        }
        for job in sorted(repository.get_all_jobs(), key=lambda j: j.name)
        if not job.name.startswith("__")  # Dagster's implicit asset job
    }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "job": s.job_name,
            "timezone": s.execution_timezone,
            "default_status": s.default_status.value,
        }
        for s in sorted(repository.schedule_defs, key=lambda s: s.name)
    }
    sensors = {
        s.name: {
            "jobs": [s.job_name] if s.has_jobs else [],
            "minimum_interval_seconds": s.minimum_interval_seconds,
            "default_status": s.default_status.value,
            "type": s.sensor_type.value,
        }
        for s in sorted(repository.sensor_defs, key=lambda s: s.name)
    }
    assert {"jobs": jobs, "schedules": schedules, "sensors": sensors} == snapshot_json
