"""The Symbl domain: the conversation ledger, every signal of the Conversation API, speakers and trackers."""

import dagster as dg

from orchestration.defs.symbl.checks import (
    every_recording_accounted_for,
    speakers_match_participants,
    unique_key_checks,
)
from orchestration.defs.symbl.conversations import symbl_conversations
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.symbl.retry_failed import failed_recordings_retry_schedule
from orchestration.defs.symbl.signals import signal_assets
from orchestration.defs.symbl.speaker_events import symbl_speaker_events
from orchestration.defs.symbl.status_checks import no_symbl_jobs_failed
from orchestration.defs.symbl.tracker_sync import symbl_tracker_definitions, symbl_tracker_drift

defs = dg.Definitions(
    assets=[
        symbl_conversations,
        symbl_speaker_events,
        *signal_assets,
        symbl_tracker_definitions,
        symbl_tracker_drift,
    ],
    asset_checks=[
        every_recording_accounted_for,
        speakers_match_participants,
        *unique_key_checks,
        no_symbl_jobs_failed,
    ],
    schedules=[failed_recordings_retry_schedule],
    # Takes what it is not given from its settings section (orchestration/settings.py) in the process that runs
    # it, and refuses the sandbox's credentials anywhere but loopback.
    resources={"symbl": SymblResource()},
)
