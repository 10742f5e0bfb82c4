"""The deterministic demo corpus generator (``convo-intel demo-data``): see ``corpus.py``."""

from sandbox.demo_data.corpus import DemoDataError, GenerationSummary, generate

__all__ = ["DemoDataError", "GenerationSummary", "generate"]
