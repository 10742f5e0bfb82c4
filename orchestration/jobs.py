"""The code location's jobs, as objects: schedules and sensors target these, never a job's name as a string.

Partitioning is not declared here: Dagster infers it from the selected assets (the daily partitions).
"""

from collections.abc import Sequence

import dagster as dg

from orchestration.defs.nebula.assets import nebula_summaries
from orchestration.defs.recordings.assets import recordings
from orchestration.defs.routing.assets import crm_activity, risk_alerts
from orchestration.defs.semarize.assets import semarize_bricks, transcripts
from orchestration.defs.symbl.conversations import symbl_conversations
from orchestration.defs.symbl.signals import signal_assets
from orchestration.defs.symbl.speaker_events import symbl_speaker_events
from orchestration.defs.symbl.tracker_sync import symbl_tracker_definitions, symbl_tracker_drift
from orchestration.defs.warehouse.dbt import convo_intel_dbt_assets
from orchestration.defs.warehouse.report import scorecard_report
from orchestration.defs.warehouse.snapshot import analyst_warehouse

# Tag on every run a schedule or sensor requests: which automation asked for it.
SCHEDULE_TAG = "convo-intel/trigger"


def day_runs(days: Sequence[str], trigger: str, key: str, occasion: str) -> list[dg.RunRequest]:
    """One run per day partition, keyed by the day and the occasion (a tick, a build): a re-evaluated tick asks
    for the same runs, which Dagster deduplicates; ``trigger`` names the schedule or sensor in the run's tags."""
    return [
        dg.RunRequest(partition_key=day, run_key=f"{key}:{day}:{occasion}", tags={SCHEDULE_TAG: trigger})
        for day in days
    ]


INGEST_ASSETS = [
    recordings,
    symbl_conversations,
    symbl_speaker_events,
    *signal_assets,
    transcripts,
    nebula_summaries,
    semarize_bricks,
]
# Logs several steps write, each replacing only its own rows (a rejection's stage, a response's endpoint): no
# one step's table, so each is an external asset downstream of its writers (dbt's sources read them by these keys).
SHARED_LOGS = [
    dg.AssetSpec(
        "recording_rejections",
        group_name="recordings",
        kinds={"duckdb"},
        deps=[key for a in [recordings, *signal_assets, nebula_summaries, semarize_bricks] for key in a.keys],
        description=(
            "raw.recording_rejections: every record the pipeline gave up on, with its stage and a reason. Each "
            "upstream step replaces its own stages' rows (manifest/media, fetch:<signal>/parse:<signal>, "
            "fetch:nebula_summary, semarize)."
        ),
    ),
    dg.AssetSpec(
        "symbl_responses",
        group_name="symbl",
        kinds={"duckdb"},
        deps=[key for a in [*signal_assets, nebula_summaries] for key in a.keys],
        description=(
            "raw.symbl_responses: every Conversation API (and Nebula) answer verbatim, one row per conversation "
            "x endpoint; each upstream step replaces its own endpoint's rows."
        ),
    ),
]
TRACKER_ASSETS = [symbl_tracker_definitions, symbl_tracker_drift]
ROUTING_ASSETS = [risk_alerts, crm_activity]
WAREHOUSE_ASSETS = [convo_intel_dbt_assets, analyst_warehouse, scorecard_report]
ALL_ASSETS = [*INGEST_ASSETS, *SHARED_LOGS, *TRACKER_ASSETS, *ROUTING_ASSETS, *WAREHOUSE_ASSETS]

# One run per day (or per backfilled range): recordings -> Symbl -> signals -> transcripts -> Semarize.
conversation_ingest_job = dg.define_asset_job(
    name="conversation_ingest_job",
    selection=dg.AssetSelection.assets(*INGEST_ASSETS),
    description="Ingest one day (or a range, as one run) of recordings through Symbl and Semarize into raw.*",
)
# dbt marts + the analysts' published copy, rebuilt after ingestion.
warehouse_build_job = dg.define_asset_job(
    name="warehouse_build_job",
    selection=dg.AssetSelection.assets(*WAREHOUSE_ASSETS),
    description="dbt build (staging, marts, tests as asset checks), publish the analysts' copy, chart it.",
)
# Risky calls to Slack, scores to the CRM: a job of its own so that a Slack or CRM outage never fails ingestion.
routing_job = dg.define_asset_job(
    name="routing_job",
    selection=dg.AssetSelection.assets(*ROUTING_ASSETS),
    description="Post risk alerts to Slack (once per conversation and brick version) and upsert scores to the CRM.",
)
# trackers.yaml -> Symbl's management API (idempotent), then drift and unused terms into raw.symbl_tracker_drift.
tracker_sync_job = dg.define_asset_job(
    name="tracker_sync_job",
    selection=dg.AssetSelection.assets(*TRACKER_ASSETS),
    description="Sync trackers.yaml to Symbl, then report drift and unused terms into raw.symbl_tracker_drift.",
)

JOBS = [conversation_ingest_job, warehouse_build_job, routing_job, tracker_sync_job]
