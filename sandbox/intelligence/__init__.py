"""Deterministic text intelligence for the Symbl sandbox: utterances in, Conversation API payloads out."""

from sandbox.intelligence.analyze import AnalysisOptions, ConversationInsights, analyze

__all__ = ["AnalysisOptions", "ConversationInsights", "analyze"]
