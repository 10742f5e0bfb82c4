"""The one Definitions object of the convo-intel code location, assembled from the domains."""

from __future__ import annotations

import dagster as dg

from orchestration import settings

settings.apply_defaults()

# Imports below read configuration from the environment the line above completed.
from orchestration.checks import (  # noqa: E402
    bricks_match_kit_types,
    completed_recordings_are_complete,
    every_recording_accounted_for,
    freshness_checks,
    freshness_checks_sensor,
    speakers_match_participants,
    unique_key_checks,
)
from orchestration.partitions import PARTITIONS_TIMEZONE, recordings_daily_partition  # noqa: E402
from orchestration.recordings.assets import recordings  # noqa: E402
from orchestration.recordings.resource import DropFolderResource  # noqa: E402
from orchestration.recordings.sensors import new_recordings_sensor  # noqa: E402
from orchestration.routing.assets import crm_activity, risk_alerts  # noqa: E402
from orchestration.routing.crm import CrmResource  # noqa: E402
from orchestration.routing.slack import SlackResource  # noqa: E402
from orchestration.run_reaper import dead_run_reaper  # noqa: E402
from orchestration.schedules import (  # noqa: E402
    recordings_catch_up_schedule,
    routing_schedule,
    warehouse_build_schedule,
)
from orchestration.semarize.assets import semarize_bricks, transcripts  # noqa: E402
from orchestration.semarize.resource import SemarizeResource  # noqa: E402
from orchestration.status_checks import status_checks  # noqa: E402
from orchestration.symbl.conversations import symbl_conversations  # noqa: E402
from orchestration.symbl.nebula import NebulaResource, nebula_summaries  # noqa: E402
from orchestration.symbl.resource import SymblResource  # noqa: E402
from orchestration.symbl.retry_failed import failed_recordings_retry_schedule  # noqa: E402
from orchestration.symbl.signals import signal_assets  # noqa: E402
from orchestration.symbl.speaker_events import symbl_speaker_events  # noqa: E402
from orchestration.symbl.tracker_sync import symbl_tracker_definitions, symbl_tracker_drift  # noqa: E402
from orchestration.warehouse.dbt import convo_intel_dbt_assets, dbt_cli_resource  # noqa: E402
from orchestration.warehouse.publish_sensor import build_publish_sensor  # noqa: E402
from orchestration.warehouse.report import scorecard_report  # noqa: E402
from orchestration.warehouse.resource import WarehouseResource  # noqa: E402
from orchestration.warehouse.snapshot import analyst_warehouse  # noqa: E402
from orchestration.webhooks.resource import WebhookInboxResource  # noqa: E402
from orchestration.webhooks.sensor import inbox_sensor  # noqa: E402

INGEST_ASSETS = [
    recordings,
    symbl_conversations,
    symbl_speaker_events,
    *signal_assets,
    transcripts,
    nebula_summaries,
    semarize_bricks,
]
TRACKER_ASSETS = [symbl_tracker_definitions, symbl_tracker_drift]
ROUTING_ASSETS = [risk_alerts, crm_activity]
ALL_ASSETS = [
    *INGEST_ASSETS,
    *TRACKER_ASSETS,
    *ROUTING_ASSETS,
    convo_intel_dbt_assets,
    analyst_warehouse,
    scorecard_report,
]

ingest_selection = dg.AssetSelection.assets(*INGEST_ASSETS)
warehouse_selection = dg.AssetSelection.assets(convo_intel_dbt_assets, analyst_warehouse, scorecard_report)

# One run per day (or per backfilled range): recordings -> Symbl -> signals -> transcripts -> Semarize.
conversation_ingest_job = dg.define_asset_job(
    name="conversation_ingest_job",
    selection=ingest_selection,
    partitions_def=recordings_daily_partition,
    description="Ingest one day (or a range, as one run) of recordings through Symbl and Semarize into raw.*",
)
# dbt marts + the analysts' published copy, rebuilt after ingestion.
warehouse_build_job = dg.define_asset_job(
    name="warehouse_build_job",
    selection=warehouse_selection,
    description="dbt build (staging, marts, tests as asset checks), publish the analysts' copy, chart it.",
)

publish_after_ingest_sensor = build_publish_sensor(
    [key for asset in INGEST_ASSETS for key in asset.keys], warehouse_build_job
)

# Risky calls to Slack, scores to the CRM: a job of its own so that a Slack or CRM outage never fails ingestion.
routing_job = dg.define_asset_job(
    name="routing_job",
    selection=dg.AssetSelection.assets(*ROUTING_ASSETS),
    partitions_def=recordings_daily_partition,
    description="Post risk alerts to Slack (once per conversation and brick version) and upsert scores to the CRM.",
)

# trackers.yaml -> Symbl's management API (idempotent), then drift and unused terms into raw.symbl_tracker_drift.
tracker_sync_job = dg.define_asset_job(
    name="tracker_sync_job",
    selection=dg.AssetSelection.assets(*TRACKER_ASSETS),
    description="Sync trackers.yaml to Symbl, then report drift and unused terms into raw.symbl_tracker_drift.",
)


def build_resources() -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(
            path=dg.EnvVar("CONVO_INTEL_WAREHOUSE"), analyst_path=dg.EnvVar("CONVO_INTEL_ANALYST_WAREHOUSE")
        ),
        "drop_folder": DropFolderResource(
            root=dg.EnvVar("CONVO_INTEL_DROP_FOLDER"), timezone=PARTITIONS_TIMEZONE
        ),
        "symbl": SymblResource(
            base_url=dg.EnvVar("SYMBL_BASE_URL"),
            app_id=dg.EnvVar("SYMBL_APP_ID"),
            app_secret=dg.EnvVar("SYMBL_APP_SECRET"),
            concurrent_jobs=dg.EnvVar.int("SYMBL_CONCURRENT_JOBS"),
        ),
        "semarize": SemarizeResource(
            base_url=dg.EnvVar("SEMARIZE_BASE_URL"),
            api_key=dg.EnvVar("SEMARIZE_API_KEY"),
            kits=settings.kit_list(),
        ),
        "nebula": NebulaResource(base_url=dg.EnvVar("NEBULA_BASE_URL"), api_key=dg.EnvVar("NEBULA_API_KEY")),
        "slack": SlackResource(webhook_url=dg.EnvVar("SLACK_WEBHOOK_URL")),
        "crm": CrmResource(base_url=dg.EnvVar("CRM_BASE_URL"), access_token=dg.EnvVar("CRM_ACCESS_TOKEN")),
        "webhook_inbox": WebhookInboxResource(
            inbox_dir=dg.EnvVar("CONVO_INTEL_INBOX_DIR"),
            public_base_url=dg.EnvVar("CONVO_INTEL_WEBHOOK_PUBLIC_URL"),
            symbl_callback_token=dg.EnvVar("CONVO_INTEL_SYMBL_CALLBACK_TOKEN"),
        ),
        "dbt": dbt_cli_resource(),
    }


defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=[
        every_recording_accounted_for,
        speakers_match_participants,
        bricks_match_kit_types,
        completed_recordings_are_complete,
        *unique_key_checks,
        *freshness_checks,
        *status_checks,
    ],
    jobs=[conversation_ingest_job, warehouse_build_job, routing_job, tracker_sync_job],
    sensors=[
        new_recordings_sensor,
        inbox_sensor,
        freshness_checks_sensor,
        dead_run_reaper,
        publish_after_ingest_sensor,
    ],
    schedules=[
        recordings_catch_up_schedule,
        routing_schedule,
        warehouse_build_schedule,
        failed_recordings_retry_schedule,
    ],
    resources=build_resources(),
    # In-process: the steps are I/O-bound async code, DuckDB wants one writer, and per-step overhead drops from
    # ~1.4 s (multiprocess) to ~0.05 s. Parallelism lives inside each step (asyncio), not across steps.
    executor=dg.in_process_executor,
)

# Live calls (Streaming API): their own folder, merged in here.
from orchestration.streaming.assets import live_definitions  # noqa: E402

defs = dg.Definitions.merge(defs, live_definitions())
