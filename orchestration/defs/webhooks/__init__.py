"""Webhooks: the receiver (Symbl job callbacks, signed recording-platform events), its durable inbox, and the sensor
that turns inbox events into drop-folder manifests and partition runs.

The receiver never talks to the warehouse or to Dagster: it only writes files into the inbox, so it can run as a
small separate process (``convo-intel webhooks``) and keep answering while runs are busy or the daemon is down.
"""
