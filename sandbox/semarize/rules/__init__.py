"""Brick rules: deterministic text analysis that turns a conversation into one brick's value.

A rule is a function ``(conversation, vocabulary) -> BrickResult`` registered under a name that Kit files
refer to (``"rule": "discovery_depth"``). Each rule declares the vocabulary lists it reads so that a Kit
missing one fails when it is loaded, not in the middle of a run. Evidence is always whole sentences copied
from the transcript.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.semarize.conversation import Conversation
    from sandbox.semarize.kits import Vocabulary


@dataclass(frozen=True)
class BrickResult:
    value: Any
    confidence: float
    reason: str
    evidence: list[str] = field(default_factory=list)


RuleFunction = Callable[["Conversation", "Vocabulary"], BrickResult]


@dataclass(frozen=True)
class Rule:
    name: str
    function: RuleFunction
    vocabulary: tuple[str, ...]


RULES: dict[str, Rule] = {}


def rule(name: str, vocabulary: Iterable[str] = ()) -> Callable[[RuleFunction], RuleFunction]:
    def register(function: RuleFunction) -> RuleFunction:
        if name in RULES:
            raise ValueError(f"rule {name!r} registered twice")
        RULES[name] = Rule(name=name, function=function, vocabulary=tuple(vocabulary))
        return function

    return register


def clamp_confidence(x: float) -> float:
    return round(min(0.99, max(0.05, x)), 2)


def unique(quotes: Iterable[str]) -> list[str]:
    """Quotes in first-seen order without repeats."""
    return list(dict.fromkeys(quotes))


def join_labels(labels: Iterable[str]) -> str:
    items = [label.replace("_", " ") for label in labels]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# Importing the rule modules registers their rules.
from sandbox.semarize.rules import ai_quality, product_feedback, sales  # noqa: E402

__all__ = ["RULES", "BrickResult", "Rule", "ai_quality", "product_feedback", "rule", "sales"]
