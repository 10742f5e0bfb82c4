"""`dead_run_reaper`: a run whose worker process died is marked failed and its concurrency-pool slots are freed.

Why a sensor and not Dagster's run monitoring (checked against dagster 1.13):
- Run monitoring (``run_monitoring: enabled: true`` in dagster.yaml, daemon required) detects a crashed worker of a
  STARTED run only through the run launcher's ``check_run_worker_health``. ``DefaultRunLauncher`` (what
  ``dagster dev`` and a plain ``dagster-daemon`` use) does not implement it (``supports_check_run_worker_health``
  is False), so a ``kill -9``ed worker leaves its run STARTED forever, and ``max_resume_run_attempts`` does not
  apply either (no ``supports_resume_run``). ``start_timeout_seconds`` only covers runs stuck in STARTING.
- ``run_monitoring: free_slots_after_run_end_seconds`` frees the slots of runs that *finished* (FAILURE, CANCELED)
  but still hold them; it does nothing for a run that stays STARTED. We recommend setting it too (the demo's
  instance does); this sensor covers both cases so that neither depends on an instance setting.
So this sensor looks at STARTED runs, reads the pid of the process that started each (the ``pid`` of its RUN_START
event: the run worker for ``DefaultRunLauncher``, the calling process for ``execute_in_process``), and when that
process no longer exists marks the run failed (``report_run_failed``) and frees its slots
(``event_log_storage.free_concurrency_slots_for_run``). It also frees slots still held by finished runs.

Pids are only meaningful on the host that started the runs: the sensor acts only when the instance launches runs
locally (``DefaultRunLauncher``); with Kubernetes/ECS/Docker launchers, use Dagster's run monitoring, which supports
those launchers' health checks.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_START, limit=1).records
    if not records or records[0].event_log_entry.dagster_event is None:
        return None
    return records[0].event_log_entry.dagster_event.pid


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail STARTED runs whose worker is gone and free their slots; free slots of finished runs. What it did."""
    done: list[str] = []
    if not isinstance(instance.run_launcher, DefaultRunLauncher):
        return done
    for record in instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.STARTED])):
        run = record.dagster_run
        pid = run_worker_pid(instance, run.run_id)
        if pid is None or _pid_alive(pid):
            continue
        instance.report_run_failed(
            run,
            message=f"Run worker (pid {pid}) is gone (killed or crashed): marked failed by dead_run_reaper.",
        )
        done.append(f"failed run {run.run_id} (worker pid {pid} gone)")
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in storage.get_concurrency_run_ids():
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
                done.append(f"freed pool slots of run {run_id}")
    return done


@dg.sensor(
    name="dead_run_reaper",
    minimum_interval_seconds=30,
    # On by default: it only ever acts on runs whose process is provably gone, and recovery needs no person.
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Marks STARTED runs whose worker process died (kill -9, OOM, reboot) as failed and frees their concurrency "
        "pool slots, so the next run is not queued behind a dead one. DefaultRunLauncher only; see the module doc."
    ),
)
def dead_run_reaper(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    done = reap_dead_runs(context.instance)
    for line in done:
        context.log.warning(line)
    return dg.SkipReason("; ".join(done) if done else "no dead runs")
