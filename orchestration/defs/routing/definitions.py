"""The routing domain: risky calls to Slack, scores to the CRM, after each build of the marts they read."""

import dagster as dg

from orchestration.defs.routing.assets import crm_activity, risk_alerts
from orchestration.defs.routing.crm import CrmResource
from orchestration.defs.routing.sensors import routing_after_warehouse_build_sensor
from orchestration.defs.routing.slack import SlackResource

defs = dg.Definitions(
    assets=[risk_alerts, crm_activity],
    sensors=[routing_after_warehouse_build_sensor],
    resources={"slack": SlackResource(), "crm": CrmResource()},
)
