"""Rules of the sales discovery Kit: discovery depth, budget, competitors, sentiment, deal risk, next step."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.intelligence.sentiment import polarity
from sandbox.semarize.conversation import Conversation, Sentence, Side
from sandbox.semarize.kits import Vocabulary
from sandbox.semarize.rules import BrickResult, clamp_confidence, join_labels, rule, unique
from sandbox.semarize.text import is_question, normalise


@rule("discovery_depth", vocabulary=("discovery_areas", "discovery_depth_min_areas"))
def discovery_depth(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    """How many distinct discovery areas (pain, process, timeline, ...) the rep asked about."""
    areas = vocabulary.groups("discovery_areas")
    questions = [s for s in conversation.sentences(Side.REP) if is_question(s.text)]
    first_question_per_area: dict[str, str] = {}
    for question in questions:
        for area, phrases in areas.items():
            if area not in first_question_per_area and phrases.matches(question.text):
                first_question_per_area[area] = question.text
    covered = [area for area in areas if area in first_question_per_area]
    # discovery_depth_min_areas[i] is the number of areas needed for a depth of i + 1.
    thresholds = [int(n) for n in vocabulary.words("discovery_depth_min_areas")]
    depth = max(i + 1 for i, needed in enumerate(thresholds) if len(covered) >= needed)
    if covered:
        reason = (
            f"The rep asked {len(questions)} question(s) covering {len(covered)} of {len(areas)} discovery "
            f"areas: {join_labels(covered)}."
        )
    else:
        reason = f"The rep asked {len(questions)} question(s) but none probed a discovery area."
    return BrickResult(
        value=depth,
        confidence=clamp_confidence(0.55 + 0.07 * min(len(questions), 6)),
        reason=reason,
        evidence=unique(first_question_per_area[a] for a in covered),
    )


@rule(
    "budget_confirmed",
    vocabulary=(
        "budget_terms",
        "budget_confirmation_terms",
        "budget_denial_terms",
        "budget_reported_speech_terms",
        "money_patterns",
    ),
)
def budget_confirmed(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    """True when the customer side states that budget exists (and does not take it back later)."""
    budget = vocabulary.phrases("budget_terms")
    confirms = vocabulary.phrases("budget_confirmation_terms")
    denies = vocabulary.phrases("budget_denial_terms")
    reported = vocabulary.phrases("budget_reported_speech_terms")
    money = vocabulary.patterns("money_patterns")
    confirmations: list[Sentence] = []
    denials: list[Sentence] = []
    for sentence in conversation.sentences(Side.CUSTOMER):
        # A story about someone else's budget ("they told us they had no budget") says nothing of theirs.
        if not budget.matches(sentence.text) or is_question(sentence.text) or reported.matches(sentence.text):
            continue
        if denies.matches(sentence.text):
            denials.append(sentence)
        elif confirms.matches(sentence.text) or any(p.search(sentence.text) for p in money):
            confirmations.append(sentence)
    last_denial = max((s.turn_index for s in denials), default=-1)
    standing = [s for s in confirmations if s.turn_index > last_denial]
    if standing:
        with_amount = any(p.search(s.text) for s in standing for p in money)
        return BrickResult(
            value=True,
            confidence=clamp_confidence(0.92 if with_amount else 0.8),
            reason="The customer confirmed budget" + (" with an amount." if with_amount else "."),
            evidence=unique(s.text for s in standing),
        )
    if denials:
        return BrickResult(
            value=False,
            confidence=0.85,
            reason="The customer said budget is not available or not approved.",
            evidence=unique(s.text for s in denials),
        )
    return BrickResult(value=False, confidence=0.6, reason="The customer made no statement about budget.")


@dataclass(frozen=True)
class CompetitorMentions:
    name: str | None
    from_known_list: bool
    quotes: list[str]


def find_competitors(conversation: Conversation, vocabulary: Vocabulary) -> CompetitorMentions:
    """The competitor mentioned most (ties: first mentioned) from the Kit's list or a "we use X" phrase."""
    known = {normalise(name): name for name in vocabulary.words("competitors")}
    ignored = {normalise(name) for name in vocabulary.words("not_competitors")}
    known_pattern = vocabulary.phrases("competitors")
    # Case matters for the name part ("we use Gong" vs "we use email"), so these are compiled without
    # IGNORECASE; the Kit file makes the lead-in case-insensitive with (?i:...).
    intro_patterns = [re.compile(p) for p in vocabulary.words("competitor_intro_patterns")]
    counts: dict[str, int] = {}
    quotes: dict[str, list[str]] = {}
    listed: set[str] = set()
    for sentence in conversation.sentences():
        names = [known[m] for m in known_pattern.find(sentence.text) if m in known]
        listed.update(names)
        for pattern in intro_patterns:
            for match in pattern.finditer(sentence.text):
                candidate = match.group(1).strip(" .,")
                # A listed competitor inside the phrase ("we're on Salesloft Cadence") is already counted.
                if normalise(candidate) not in ignored and not known_pattern.matches(candidate):
                    names.append(candidate)
        for name in dict.fromkeys(names):
            counts[name] = counts.get(name, 0) + 1
            quotes.setdefault(name, []).append(sentence.text)
    if not counts:
        return CompetitorMentions(None, False, [])
    top = max(
        counts, key=lambda n: counts[n]
    )  # max keeps the first of equal counts: dicts keep insertion order
    return CompetitorMentions(top, top in listed, unique(quotes[top]))


@rule("competitor_mentioned", vocabulary=("competitors", "not_competitors", "competitor_intro_patterns"))
def competitor_mentioned(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    found = find_competitors(conversation, vocabulary)
    if found.name is None:
        return BrickResult(value=None, confidence=0.8, reason="No competitor was named in the call.")
    how = "a known competitor" if found.from_known_list else "a tool the customer said they use"
    return BrickResult(
        value=found.name,
        confidence=0.95 if found.from_known_list else 0.7,
        reason=f"{found.name} ({how}) was mentioned in {len(found.quotes)} sentence(s).",
        evidence=found.quotes,
    )


@dataclass(frozen=True)
class SideSentiment:
    score: float
    opinionated: int
    positive: list[str]
    negative: list[str]


def customer_sentiment_of(conversation: Conversation, vocabulary: Vocabulary) -> SideSentiment:
    """Mean VADER polarity over the customer's opinionated sentences (neutral ones would only dilute it)."""
    threshold = vocabulary.number("opinion_threshold")
    scored = [(polarity(s.text), s.text) for s in conversation.sentences(Side.CUSTOMER)]
    opinions = [(p, t) for p, t in scored if abs(p) >= threshold]
    score = round(sum(p for p, _ in opinions) / len(opinions), 3) if opinions else 0.0
    ranked = sorted(opinions, key=lambda pt: pt[0])
    return SideSentiment(
        score=score,
        opinionated=len(opinions),
        positive=[t for p, t in reversed(ranked) if p > 0],
        negative=[t for p, t in ranked if p < 0],
    )


@rule("customer_sentiment", vocabulary=("opinion_threshold",))
def customer_sentiment(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    found = customer_sentiment_of(conversation, vocabulary)
    if not found.opinionated:
        return BrickResult(value=0.0, confidence=0.4, reason="The customer expressed no clear sentiment.")
    drivers = found.positive if found.score >= 0 else found.negative
    return BrickResult(
        value=found.score,
        confidence=clamp_confidence(0.5 + 0.05 * found.opinionated),
        reason=(
            f"Customer sentiment averages {found.score:+.2f} over {found.opinionated} opinionated sentence(s)"
            " "
            f"({len(found.positive)} positive, {len(found.negative)} negative)."
        ),
        evidence=drivers,
    )


@dataclass(frozen=True)
class NextStep:
    confirmed: bool
    proposed: bool
    quotes: list[str]


def find_next_step(conversation: Conversation, vocabulary: Vocabulary) -> NextStep:
    """A next step counts when it names a concrete date/time and is either committed to or accepted."""
    steps = vocabulary.phrases("next_step_terms")
    dates = vocabulary.patterns("date_patterns")
    commitments = vocabulary.phrases("commitment_terms")
    acceptances = vocabulary.phrases("acceptance_terms")
    negations = vocabulary.phrases("negation_terms")
    proposed: list[str] = []
    for sentence in conversation.sentences():
        if not steps.matches(sentence.text):
            continue
        dated = any(p.search(sentence.text) for p in dates)
        # Only an actual proposal is worth quoting ("may cancel the pilot" names a pilot, proposes nothing).
        if dated or is_question(sentence.text) or commitments.matches(sentence.text):
            proposed.append(sentence.text)
        if not dated:
            continue
        if commitments.matches(sentence.text) and not negations.matches(sentence.text):
            return NextStep(True, True, [sentence.text])
        reply = conversation.next_turn_from_other_side(sentence.turn_index)
        if reply is not None:
            for answer in reply.sentences:
                if acceptances.matches(answer) and not negations.matches(answer):
                    return NextStep(True, True, [sentence.text, answer])
    return NextStep(False, bool(proposed), proposed)


@rule(
    "next_step_confirmed",
    vocabulary=("next_step_terms", "date_patterns", "commitment_terms", "acceptance_terms", "negation_terms"),
)
def next_step_confirmed(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    found = find_next_step(conversation, vocabulary)
    if found.confirmed:
        return BrickResult(
            value=True,
            confidence=0.9 if len(found.quotes) > 1 else 0.8,
            reason="A next step with a concrete date was scheduled and agreed.",
            evidence=found.quotes,
        )
    if found.proposed:
        return BrickResult(
            value=False,
            confidence=0.65,
            reason="A next step was discussed but never pinned to a date and agreed.",
            evidence=found.quotes,
        )
    return BrickResult(value=False, confidence=0.8, reason="No next step was discussed.")


@rule(
    "deal_risk",
    vocabulary=(
        "opinion_threshold",
        "negative_sentiment_below",
        "competitors",
        "not_competitors",
        "competitor_intro_patterns",
        "pricing_objection_terms",
        "churn_terms",
        "stall_terms",
        "next_step_terms",
        "date_patterns",
        "commitment_terms",
        "acceptance_terms",
        "negation_terms",
    ),
)
def deal_risk(conversation: Conversation, vocabulary: Vocabulary) -> BrickResult:
    """Risky when any signal fires: negative customer,competitor plus price push-back, churn talk, a stall."""
    customer = conversation.sentences(Side.CUSTOMER)
    signals: dict[str, list[str]] = {}
    sentiment = customer_sentiment_of(conversation, vocabulary)
    if sentiment.opinionated and sentiment.score < vocabulary.number("negative_sentiment_below"):
        signals["negative customer sentiment"] = sentiment.negative[:2]
    objections = [s.text for s in customer if vocabulary.phrases("pricing_objection_terms").matches(s.text)]
    competitor = find_competitors(conversation, vocabulary)
    if objections and competitor.name is not None:
        signals[f"pricing objection with {competitor.name} in play"] = objections[:1] + competitor.quotes[:1]
    churn = [s.text for s in customer if vocabulary.phrases("churn_terms").matches(s.text)]
    if churn:
        signals["cancellation or deprioritisation language"] = churn
    stalls = [s.text for s in customer if vocabulary.phrases("stall_terms").matches(s.text)]
    if stalls and not find_next_step(conversation, vocabulary).confirmed:
        signals["stalled next step"] = stalls
    if not signals:
        return BrickResult(
            value=False,
            confidence=clamp_confidence(0.6 + 0.03 * min(len(customer), 10)),
            reason="No risk signal: sentiment, objections, churn language and next steps look healthy.",
        )
    return BrickResult(
        value=True,
        confidence=clamp_confidence(0.6 + 0.12 * len(signals)),
        reason=f"Risk signals: {join_labels(signals)}.",
        evidence=unique(q for quotes in signals.values() for q in quotes),
    )
