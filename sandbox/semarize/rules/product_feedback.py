"""Rules of the product feedback Kit: satisfaction, churn signal, bug severity, feature-request urgency."""

from __future__ import annotations

import math

from sandbox.intelligence.sentiment import polarity
from sandbox.semarize.conversation import Conversation, Side
from sandbox.semarize.kits import Vocabulary
from sandbox.semarize.rules import BrickResult, clamp_confidence, rule, unique


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


@rule("feature_satisfaction", vocabulary=("product_terms", "opinion_threshold"))
def feature_satisfaction(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    """1-5 from the customer's sentiment about the product: 3 + 2 x mean polarity of product opinions."""
    threshold = vocabulary.number("opinion_threshold")
    product = vocabulary.phrases("product_terms")
    customer = conversation.sentences(Side.CUSTOMER)
    opinions = [(polarity(s.text), s.text) for s in customer if product.matches(s.text)]
    opinions = [(p, t) for p, t in opinions if abs(p) >= threshold]
    about = "the product"
    if not opinions:
        # Fall back to everything the customer said: less specific, so less confident.
        opinions = [(p, s.text) for s in customer if abs(p := polarity(s.text)) >= threshold]
        about = "the call overall"
    if not opinions:
        return BrickResult(value=3, confidence=0.3, reason="The customer gave no opinion of the product.")
    mean = sum(p for p, _ in opinions) / len(opinions)
    value = min(5, max(1, _round_half_up(3 + 2 * mean)))
    drivers = sorted(opinions, key=lambda pt: pt[0], reverse=mean >= 0)
    return BrickResult(
        value=value,
        confidence=clamp_confidence((0.5 if about == "the product" else 0.35) + 0.08 * len(opinions)),
        reason=f"Customer sentiment about {about} averages {mean:+.2f} over {len(opinions)} sentence(s).",
        evidence=unique(t for p, t in drivers if (p >= 0) == (mean >= 0)),
    )


@rule(
    "churn_signal_strength",
    vocabulary=(
        "churn_terms_by_weight",
        "competitors",
        "competitor_weight",
        "sentiment_weight",
        "opinion_threshold",
    ),
)
def churn_signal_strength(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    """0-100: weighted churn phrases, a competitor named by the customer, and negative customer sentiment."""
    groups = vocabulary.groups("churn_terms_by_weight")  # {"40": [...], "20": [...], ...}
    customer = conversation.sentences(Side.CUSTOMER)
    weighted: list[tuple[int, str]] = []
    for sentence in customer:
        weights = [int(w) for w, phrases in groups.items() if phrases.matches(sentence.text)]
        if weights:
            weighted.append((max(weights), sentence.text))
    total = sum(w for w, _ in weighted)
    parts = [f"{len(weighted)} churn phrase(s)"] if weighted else []
    competitor_quotes = [s.text for s in customer if vocabulary.phrases("competitors").matches(s.text)]
    if competitor_quotes:
        total += int(vocabulary.number("competitor_weight"))
        parts.append("a competitor named")
    threshold = vocabulary.number("opinion_threshold")
    opinions = [p for s in customer if abs(p := polarity(s.text)) >= threshold]
    mean = sum(opinions) / len(opinions) if opinions else 0.0
    sentiment_points = _round_half_up(-mean * vocabulary.number("sentiment_weight")) if mean < 0 else 0
    if sentiment_points:
        total += sentiment_points
        parts.append(f"negative sentiment ({mean:+.2f})")
    value = min(100, total)
    if not parts:
        return BrickResult(value=0, confidence=0.75, reason="The customer gave no sign of leaving.")
    ranked = [t for _, t in sorted(weighted, key=lambda wt: wt[0], reverse=True)]
    return BrickResult(
        value=value,
        confidence=clamp_confidence(0.55 + 0.08 * len(weighted) + 0.05 * len(parts)),
        reason=f"Churn signal {value}/100 from " + ", ".join(parts) + ".",
        evidence=unique(ranked + competitor_quotes),
    )


@rule("bug_report_severity", vocabulary=("bug_terms", "bug_severity_terms", "bug_default_severity"))
def bug_report_severity(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    """The most severe level among the customer's bug reports; levels are listed most severe first."""
    bug = vocabulary.phrases("bug_terms")
    levels = vocabulary.groups("bug_severity_terms")
    default = vocabulary.text("bug_default_severity")
    order = list(levels)
    reports: list[tuple[int, str]] = []
    for sentence in conversation.sentences(Side.CUSTOMER):
        if not bug.matches(sentence.text):
            continue
        matched = [i for i, level in enumerate(order) if levels[level].matches(sentence.text)]
        reports.append((min(matched) if matched else order.index(default), sentence.text))
    if not reports:
        return BrickResult(value="none", confidence=0.8, reason="The customer reported no bug.")
    worst = min(i for i, _ in reports)
    return BrickResult(
        value=order[worst],
        confidence=clamp_confidence(0.6 + 0.1 * len(reports)),
        reason=f"{len(reports)} problem report(s) from the customer; the worst reads as {order[worst]}.",
        evidence=unique(t for i, t in sorted(reports, key=lambda it: it[0])),
    )


@rule(
    "feature_request_urgency",
    vocabulary=("request_terms", "urgency_terms", "date_patterns", "request_weights"),
)
def feature_request_urgency(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    """0-100: a base for asking at all, more for asking repeatedly, for urgency words and for a deadline."""
    weights = {k: int(v) for k, v in vocabulary.mapping("request_weights").items()}
    requests = vocabulary.phrases("request_terms")
    urgency = vocabulary.phrases("urgency_terms")
    dates = vocabulary.patterns("date_patterns")
    customer = conversation.sentences(Side.CUSTOMER)
    asked = [s for s in customer if requests.matches(s.text)]
    if not asked:
        return BrickResult(value=0, confidence=0.75, reason="The customer asked for no new capability.")
    request_turns = {s.turn_index for s in asked}
    nearby = [s for s in customer if s.turn_index in request_turns]
    urgent_words = sorted({w for s in nearby for w in urgency.find(s.text)})
    deadline = [s.text for s in nearby if any(p.search(s.text) for p in dates)]
    score = (
        weights["base"]
        + weights["per_repeat"] * min(len(asked) - 1, weights["max_repeats"])
        + weights["per_urgency_term"] * len(urgent_words)
        + (weights["deadline"] if deadline else 0)
    )
    value = int(min(100, score))
    detail = f"{len(asked)} request sentence(s)"
    if urgent_words:
        detail += f", urgency words ({', '.join(urgent_words)})"
    if deadline:
        detail += ", a deadline"
    urgent_quotes = [s.text for s in nearby if urgency.matches(s.text)]
    return BrickResult(
        value=value,
        confidence=clamp_confidence(0.6 + 0.1 * len(asked)),
        reason=f"Feature-request urgency {value}/100 from {detail}.",
        evidence=unique(urgent_quotes + deadline + [s.text for s in asked]),
    )


FEATURE_VOCABULARY = ("feature_areas", "product_terms", "bug_terms", "request_terms", "opinion_threshold")


def _feature_mentions(conversation: Conversation, vocabulary: Vocabulary) -> dict[str, list[str]]:
    """Area -> the customer's feedback sentences (opinions, bug reports, requests) that name it, in Kit order."""
    areas = vocabulary.groups("feature_areas")
    feedback = [
        vocabulary.phrases("product_terms"),
        vocabulary.phrases("bug_terms"),
        vocabulary.phrases("request_terms"),
    ]
    threshold = vocabulary.number("opinion_threshold")
    mentions: dict[str, list[str]] = {area: [] for area in areas}
    for sentence in conversation.sentences(Side.CUSTOMER):
        is_feedback = (
            any(p.matches(sentence.text) for p in feedback) or abs(polarity(sentence.text)) >= threshold
        )
        if not is_feedback:
            continue
        for area, terms in areas.items():
            if terms.matches(sentence.text):
                mentions[area].append(sentence.text)
    return mentions


@rule("features_mentioned", vocabulary=FEATURE_VOCABULARY)
def features_mentioned(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    """Every feature area the customer's feedback names, in the Kit's order."""
    mentions = _feature_mentions(conversation, vocabulary)
    named = [area for area, quotes in mentions.items() if quotes]
    if not named:
        return BrickResult(value=[], confidence=0.7, reason="The customer's feedback names no feature area.")
    return BrickResult(
        value=named,
        confidence=clamp_confidence(0.5 + 0.05 * sum(len(q) for q in mentions.values())),
        reason="Feedback about " + ", ".join(f"{a} ({len(mentions[a])})" for a in named) + ".",
        evidence=unique(q for a in named for q in mentions[a]),
    )


@rule("feedback_feature_area", vocabulary=FEATURE_VOCABULARY)
def feedback_feature_area(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    """The feature area named most often in the customer's feedback sentences (ties: the Kit's area order)."""
    areas = vocabulary.groups("feature_areas")
    mentions = _feature_mentions(conversation, vocabulary)
    ranked = sorted(areas, key=lambda a: -len(mentions[a]))  # stable: ties keep the Kit's order
    top = ranked[0] if ranked and mentions[ranked[0]] else None
    if top is None:
        return BrickResult(
            value="none", confidence=0.7, reason="The customer's feedback names no feature area."
        )
    others = [a for a in ranked[1:] if mentions[a]]
    return BrickResult(
        value=top,
        confidence=clamp_confidence(0.5 + 0.1 * len(mentions[top]) - 0.05 * len(others)),
        reason=f"{len(mentions[top])} feedback sentence(s) about {top}"
        + (f"; also {', '.join(others)}." if others else "."),
        evidence=unique(mentions[top]),
    )
