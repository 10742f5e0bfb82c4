"""The routing ledgers in the raw schema: which risk alerts went to Slack, and what was written to the CRM.

``orchestration.defs.warehouse.schema.TABLES`` adopts them: the first write of each process creates them with
the rest of the raw schema.
"""

from __future__ import annotations

from orchestration.defs.warehouse.tables import DATE, INTEGER, JSON, TIMESTAMPTZ, VARCHAR, Column, Table

ROUTING_TABLES: tuple[Table, ...] = (
    Table(
        "risk_alerts_sent",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column(
                "run_id",
                VARCHAR,
                nullable=False,
                doc="the Semarize run whose risk brick fired (the brick version)",
            ),
            Column("partition_date", DATE, nullable=False),
            Column("recording_id", VARCHAR),
            Column("kit_code", VARCHAR, nullable=False),
            Column("kit_version_id", VARCHAR),
            Column(
                "status",
                VARCHAR,
                nullable=False,
                doc="sent | failed (failed ones are retried by the next run)",
            ),
            Column("attempts", INTEGER, nullable=False),
            Column(
                "last_error", VARCHAR, doc="Slack's answer code of the last failure (never the webhook URL)"
            ),
            Column("first_attempt_at", TIMESTAMPTZ, nullable=False),
            Column("sent_at", TIMESTAMPTZ),
            Column("updated_at", TIMESTAMPTZ, nullable=False),
        ),
        doc=(
            "One row per (conversation, Semarize run) whose risk brick fired. A row with status 'sent' is written the "
            "moment Slack answers ok, so a crashed or re-run partition never posts the same alert twice; a re-scored "
            "conversation (new run_id) is a new brick version and alerts again."
        ),
    ),
    Table(
        "crm_sync",
        (
            Column("conversation_id", VARCHAR, nullable=False),
            Column("object_type", VARCHAR, nullable=False, doc="CRM object type (calls)"),
            Column("partition_date", DATE, nullable=False),
            Column("crm_id", VARCHAR, nullable=False, doc="the CRM's object id"),
            Column(
                "properties_hash",
                VARCHAR,
                nullable=False,
                doc="sha256 of the properties written; unchanged ones are not re-sent",
            ),
            Column("properties", JSON, nullable=False, doc="what was written"),
            Column("synced_at", TIMESTAMPTZ, nullable=False),
        ),
        doc="One row per (conversation, CRM object type): the latest properties written and where they landed.",
    ),
)
