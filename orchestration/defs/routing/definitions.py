"""The routing domain: risky calls to Slack, scores to the CRM."""

import dagster as dg

from orchestration.defs.routing.assets import crm_activity, risk_alerts
from orchestration.defs.routing.crm import CrmResource
from orchestration.defs.routing.schedules import routing_schedule
from orchestration.defs.routing.slack import SlackResource

defs = dg.Definitions(
    assets=[risk_alerts, crm_activity],
    schedules=[routing_schedule],
    resources={"slack": SlackResource(), "crm": CrmResource()},
)
