"""The webhooks domain: recording-platform and Symbl callbacks, journaled by the receiver, read by a sensor."""

import dagster as dg

from orchestration.defs.webhooks.resource import WebhookInboxResource
from orchestration.defs.webhooks.sensor import inbox_sensor

defs = dg.Definitions(sensors=[inbox_sensor], resources={"webhook_inbox": WebhookInboxResource()})
