"""The routing ledgers in the raw schema: which risk alerts went to Slack, and what was written to the CRM.

Same format as ``orchestration.defs.warehouse.schema.TABLES`` (column list per table), which adopts them: every
warehouse connection creates them with the rest of the raw schema.
"""

from __future__ import annotations

# The raw schema's name, spelled out rather than imported so that warehouse/schema.py can import this module.
RAW_SCHEMA = "raw"

ROUTING_TABLES: dict[str, str] = {
    # One row per (conversation, Semarize run) whose risk brick fired. A row with status 'sent' is written the
    # moment Slack answers ok, so a crashed or re-run partition never posts the same alert twice; a re-scored
    # conversation (new run_id) is a new brick version and alerts again.
    "risk_alerts_sent": """
        conversation_id VARCHAR NOT NULL,
        run_id VARCHAR NOT NULL,        -- the Semarize run whose risk brick fired (the brick version)
        partition_date DATE NOT NULL,
        recording_id VARCHAR,
        kit_code VARCHAR NOT NULL,
        kit_version_id VARCHAR,
        status VARCHAR NOT NULL,        -- sent | failed (failed ones are retried by the next run)
        attempts INTEGER NOT NULL,
        last_error VARCHAR,             -- Slack's answer code of the last failure (never the webhook URL)
        first_attempt_at TIMESTAMPTZ NOT NULL,
        sent_at TIMESTAMPTZ,
        updated_at TIMESTAMPTZ NOT NULL
    """,
    # One row per (conversation, CRM object type): the latest properties written and where they landed.
    "crm_sync": """
        conversation_id VARCHAR NOT NULL,
        object_type VARCHAR NOT NULL,   -- CRM object type (calls)
        partition_date DATE NOT NULL,
        crm_id VARCHAR NOT NULL,        -- the CRM's object id
        properties_hash VARCHAR NOT NULL, -- sha256 of the properties written; unchanged ones are not re-sent
        properties JSON NOT NULL,       -- what was written
        synced_at TIMESTAMPTZ NOT NULL
    """,
}
