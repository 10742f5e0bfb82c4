"""Assembling one call's script from fragments: opening, a body per call type, next steps, closing.

Each body has a core (what makes it that kind of call, and what the answer key records) and optional
extensions drawn without repetition until the call reaches its target length. Rep habits decide discovery
depth, budget questions, objection handling, talk time and next-step discipline, so aggregates differ by
rep.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.demo_data import fragments as f
from sandbox.demo_data.script import CHAMPION, REP, SE, CallContext, Line

# Target length per call type in minutes (uniform within the range); the script grows to about this long.
TARGET_MINUTES: dict[str, tuple[float, float]] = {
    "discovery": (10, 28),
    "demo": (15, 38),
    "negotiation": (8, 24),
    "support": (5, 16),
    "renewal": (8, 22),
    "qbr": (14, 32),
}
# Spoken words per second of call time, gaps included: converts a target length into a word budget.
WORDS_PER_SECOND = 2.1  # measured on generated corpora
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
_SEVERITY_WEIGHTS = (0.1, 0.25, 0.35, 0.3)
DISCOVERY_TOPICS: tuple[str, ...] = tuple(f.DISCOVERY_QUESTIONS)


def build_script(ctx: CallContext) -> list[Line]:
    """The whole call. Fills ``ctx.facts`` with what the call contains."""
    lo, hi = TARGET_MINUTES[ctx.call_type]
    word_budget = ctx.rng.uniform(lo, hi) * 60 * WORDS_PER_SECOND
    lines = _opening(ctx)
    _BODIES[ctx.call_type](ctx, lines)
    extend = _EXTENSIONS[ctx.call_type]
    while _words(lines) < word_budget and (extend(ctx, lines) or _extend_general(ctx, lines)):
        pass
    lines += _next_steps(ctx)
    lines += _closing(ctx)
    # The answer key names a competitor only when the conversation actually does.
    spoken = " ".join(line.text for line in lines)
    ctx.facts.competitors = [name for name in f.COMPETITORS if name in spoken]
    return lines


def _words(lines: list[Line]) -> int:
    return sum(len(line.text.split()) for line in lines)


# --- opening and closing ----------------------------------------------------------------------------------


def _opening(ctx: CallContext) -> list[Line]:
    lines = [ctx.line(REP, f.GREETINGS, "greet"), ctx.line(ctx.customer(), f.GREETING_REPLIES, "greet-reply")]
    if ctx.rng.random() < ctx.rep.habits.small_talk:
        question, answer = ctx.pick(f.SMALL_TALK, "small-talk")
        lines += [Line(REP, ctx.fill(question)), Line(ctx.customer(), ctx.fill(answer))]
        if ctx.rng.random() < 0.4:
            lines.append(ctx.line(REP, f.BACKCHANNELS, "backchannel"))
    goal = ctx.fill(f.AGENDA_GOALS[ctx.call_type])
    lines += [
        ctx.line(REP, f.AGENDA, "agenda", agenda_goal=goal),
        ctx.line(ctx.customer(), f.AGENDA_REPLIES, "agenda-reply"),
    ]
    return lines


def _closing(ctx: CallContext) -> list[Line]:
    return [ctx.line(REP, f.CLOSINGS, "close"), ctx.line(ctx.customer(), f.CLOSING_REPLIES, "close-reply")]


def _next_steps(ctx: CallContext) -> list[Line]:
    """Dated, owned next steps for disciplined reps; a vague 'let's stay in touch' otherwise."""
    facts = ctx.facts
    if ctx.rng.random() >= ctx.rep.habits.dated_next_steps:
        return [ctx.line(REP, f.VAGUE_NEXT_STEPS, "vague"), ctx.line(ctx.customer(), f.BACKCHANNELS, "bc")]
    lines = [Line(REP, "So, to recap next steps.")]
    for _ in range(ctx.rng.randint(1, 2)):
        lines.append(ctx.line(REP, f.REP_ACTIONS[ctx.call_type], "rep-action"))
        facts.action_items += 1
    if ctx.rng.random() < 0.7:
        lines += [ctx.line(REP, f.CONTACT_ASKS, "ask"), ctx.line(ctx.customer(), f.CONTACT_AGREES, "agree")]
        facts.action_items += 1
    if ctx.rng.random() < 0.75:
        lines += [
            ctx.line(REP, f.FOLLOW_UP_PROPOSALS, "follow-up"),
            ctx.line(ctx.customer(), f.FOLLOW_UP_REPLIES, "follow-up-reply"),
        ]
        facts.follow_up_scheduled = True
    return lines


# --- shared pieces ----------------------------------------------------------------------------------------


def _reaction(ctx: CallContext) -> Line:
    positive = {"positive": 0.85, "neutral": 0.6, "negative": 0.25}[ctx.facts.mood]
    if ctx.rng.random() < positive:
        return ctx.line(ctx.customer(), f.POSITIVE_REACTIONS, "positive")
    return ctx.line(ctx.customer(), f.SKEPTICAL_REACTIONS, "skeptical")


def _budget_answer(ctx: CallContext, confirmed: bool) -> Line:
    ctx.facts.budget = "confirmed" if confirmed else "not_approved"
    ctx.facts.budget_amount_usd = ctx.amount_k * 1000 if confirmed else None
    pool = f.BUDGET_CONFIRMED if confirmed else f.BUDGET_NOT_APPROVED
    return ctx.line(CHAMPION, pool, "budget-answer")


def _budget_confirmed_chance(ctx: CallContext) -> float:
    # Bigger companies plan tooling budgets; a rep who qualifies well gets the number more often.
    base = 0.55 if ctx.account.segment == "enterprise" else 0.4
    return min(0.9, base + 0.3 * (ctx.rep.habits.asks_budget - 0.5))


def _pitch(ctx: CallContext, lines: list[Line]) -> None:
    """Talkative reps pitch more: the main lever on talk ratio and longest monologue."""
    for _ in range(round(ctx.rep.habits.talkativeness * ctx.rng.uniform(1, 3))):
        text = ctx.pick_fresh(f.PITCH, "pitch")
        if text is None:
            return
        lines.append(Line(REP, ctx.fill(text)))


def _explain(ctx: CallContext, speaker: str, area: str) -> Line | None:
    opener = ctx.pick(f.EXPLAIN_OPENERS, "explain-opener")
    benefit = ctx.pick_fresh(f.BENEFITS, "benefit")
    if benefit is None:
        return None
    return Line(speaker, f"{ctx.fill(opener, area=area)} {benefit}")


# --- discovery --------------------------------------------------------------------------------------------


def _discovery(ctx: CallContext, lines: list[Line]) -> None:
    habits, rng, facts = ctx.rep.habits, ctx.rng, ctx.facts
    count = rng.randint(*habits.discovery_topics)
    others = [t for t in DISCOVERY_TOPICS if t != "budget"]
    asks_budget = count > 0 and rng.random() < habits.asks_budget
    topics = rng.sample(others, min(count - asks_budget, len(others))) + (["budget"] if asks_budget else [])
    topics.sort(key=DISCOVERY_TOPICS.index)  # pain first, budget after decision makers: the usual flow
    _pitch(ctx, lines)
    for topic in topics:
        facts.discovery_topics.append(topic)
        lines.append(ctx.line(REP, f.DISCOVERY_QUESTIONS[topic], f"q-{topic}"))
        if topic == "budget":
            lines.append(_budget_answer(ctx, rng.random() < _budget_confirmed_chance(ctx)))
        elif topic == "current_tools" and ctx.competitor is not None:
            lines.append(ctx.line(ctx.customer(), f.COMPETITOR_ANSWERS, "competitor-answer"))
        else:
            lines.append(ctx.line(ctx.customer(), f.DISCOVERY_ANSWERS[topic], f"a-{topic}"))
        if rng.random() < 0.5:
            lines.append(ctx.line(REP, f.DISCOVERY_FOLLOW_UPS, "discovery-follow-up"))
    if "current_tools" not in topics and ctx.competitor is not None and rng.random() < 0.5:
        lines.append(ctx.line(ctx.customer(), f.COMPETITOR_ANSWERS, "competitor-answer"))  # volunteered
    if not asks_budget and rng.random() < 0.15:
        facts.budget, facts.budget_amount_usd = "confirmed", ctx.amount_k * 1000
        lines.append(ctx.line(CHAMPION, f.BUDGET_VOLUNTEERED, "budget-volunteered"))
    _pitch(ctx, lines)


def _extend_discovery(ctx: CallContext, lines: list[Line]) -> bool:
    choice = ctx.rng.random()
    if choice < 0.4 and (probe := ctx.pick_fresh(f.PROBES, "probe")) is not None:
        lines += [Line(REP, ctx.fill(probe[0])), Line(ctx.customer(), ctx.fill(probe[1]))]
        return True
    if choice < 0.7 and (context := ctx.pick_fresh(f.CUSTOMER_CONTEXT, "context")) is not None:
        lines += [Line(ctx.customer(), ctx.fill(context)), ctx.line(REP, f.DISCOVERY_FOLLOW_UPS, "dfu")]
        return True
    area = ctx.pick(f.PRODUCT_AREAS, "area")
    explanation = _explain(ctx, REP, area)
    if explanation is None:
        return _extend_with_questions(ctx, lines)
    lines += [explanation, _reaction(ctx)]
    return True


def _extend_with_questions(ctx: CallContext, lines: list[Line]) -> bool:
    index = ctx.pick_fresh(range(len(f.DEMO_QUESTIONS)), "demo-question")
    if index is None:
        return False
    area = ctx.pick(f.PRODUCT_AREAS, "area")
    lines.append(Line(ctx.customer(), ctx.fill(f.DEMO_QUESTIONS[index], area=area)))
    lines.append(Line(ctx.seller(), ctx.fill(f.DEMO_ANSWERS[index])))
    return True


# --- demo -------------------------------------------------------------------------------------------------


def _demo(ctx: CallContext, lines: list[Line]) -> None:
    seller = SE if ctx.se is not None else REP
    lines.append(ctx.line(seller, f.DEMO_INTRO, "demo-intro", pause_after=True))
    for area in ctx.rng.sample(f.PRODUCT_AREAS, 3):
        lines.append(ctx.line(ctx.seller(), f.DEMO_AREA, "demo-area", area=area))
        if ctx.rng.random() < 0.5:
            lines.append(ctx.line(ctx.customer(), f.BACKCHANNELS, "bc"))
        lines.append(_reaction(ctx))
    if ctx.competitor is not None and ctx.rng.random() < 0.8:
        lines.append(ctx.line(ctx.customer(), f.COMPETITOR_QUESTIONS, "competitor-q"))
        lines.append(ctx.line(REP, f.COMPETITOR_ANSWERS_REP, "competitor-a"))
    if ctx.rng.random() < ctx.rep.habits.asks_budget * 0.6:
        facts = ctx.facts
        facts.discovery_topics.append("budget")
        lines.append(ctx.line(REP, f.DISCOVERY_QUESTIONS["budget"], "q-budget"))
        lines.append(_budget_answer(ctx, ctx.rng.random() < _budget_confirmed_chance(ctx)))
    _pitch(ctx, lines)


def _extend_demo(ctx: CallContext, lines: list[Line]) -> bool:
    if ctx.rng.random() < 0.45 and _extend_with_questions(ctx, lines):
        lines.append(_reaction(ctx))
        return True
    area = ctx.pick(f.PRODUCT_AREAS, "area")
    explanation = _explain(ctx, ctx.seller(), area)
    if explanation is None:
        return _extend_with_questions(ctx, lines)
    lines += [explanation, _reaction(ctx)]
    return True


# --- negotiation ------------------------------------------------------------------------------------------


def _negotiation(ctx: CallContext, lines: list[Line]) -> None:
    rng, facts, habits = ctx.rng, ctx.facts, ctx.rep.habits
    lines += [
        ctx.line(REP, f.PRICING, "pricing"),
        ctx.line(CHAMPION, f.DISCOUNT_ASKS, "discount-ask"),
        ctx.line(REP, f.DISCOUNT_ANSWERS, "discount-answer"),
    ]
    if rng.random() < 0.7:
        lines.append(ctx.line(REP, f.DISCOVERY_QUESTIONS["budget"], "q-budget"))
        facts.discovery_topics.append("budget")
        lines.append(_budget_answer(ctx, rng.random() < _budget_confirmed_chance(ctx) + 0.15))
    objections = [
        o for o, chance in (("price", 0.6), ("timing", 0.35), ("security", 0.45)) if rng.random() < chance
    ]
    for objection in objections:
        facts.objections.append(objection)
        lines.append(ctx.line(ctx.customer(), f.OBJECTIONS[objection], f"objection-{objection}"))
        if rng.random() < habits.handles_objections:
            facts.objections_resolved += 1
            lines.append(ctx.line(REP, f.OBJECTION_HANDLED[objection], f"handled-{objection}"))
            lines.append(ctx.line(ctx.customer(), f.OBJECTION_ACCEPTED, "accepted"))
        else:
            lines.append(ctx.line(REP, f.OBJECTION_UNRESOLVED, "unresolved"))
            lines.append(ctx.line(ctx.customer(), f.OBJECTION_LINGERING, "lingering"))
    _pitch(ctx, lines)


def _extend_negotiation(ctx: CallContext, lines: list[Line]) -> bool:
    if (legal := ctx.pick_fresh(f.LEGAL, "legal")) is not None:
        lines += [Line(ctx.customer(), ctx.fill(legal[0])), Line(REP, ctx.fill(legal[1]))]
        return True
    return _extend_with_questions(ctx, lines)


# --- support ----------------------------------------------------------------------------------------------


def _support(ctx: CallContext, lines: list[Line]) -> None:
    rng, facts = ctx.rng, ctx.facts
    severity = rng.choices(SEVERITIES, _SEVERITY_WEIGHTS)[0]
    facts.bug_severity = severity
    lines.append(ctx.line(CHAMPION, f.BUGS[severity], f"bug-{severity}"))
    if severity in ("critical", "high") and facts.mood == "negative":
        lines.append(ctx.line(CHAMPION, f.FRUSTRATION, "frustration"))
    for _ in range(rng.randint(2, 4)):
        step = ctx.pick(f.TROUBLESHOOTING, "troubleshoot")
        lines += [Line(REP, ctx.fill(step[0])), Line(ctx.customer(), ctx.fill(step[1]))]
    lines.append(ctx.line(REP, f.INVESTIGATION, "investigate", pause_after=True))
    lines.append(ctx.line(REP, f.INVESTIGATION_FINDINGS, "finding"))
    lines.append(Line(REP, ctx.fill(f.SUPPORT_COMMITMENTS[severity])))
    if rng.random() < 0.5:
        urgency = "urgent" if rng.random() < 0.4 else "nice_to_have"
        facts.feature_requests.append(urgency)
        lines.append(ctx.line(ctx.customer(), f.FEATURE_REQUESTS[urgency], f"feature-{urgency}"))
        lines.append(ctx.line(REP, f.FEATURE_RESPONSES, "feature-response"))
    if facts.churn_risk:
        lines.append(_mention_churn(ctx))
        lines.append(ctx.line(REP, f.RETENTION_RESPONSES, "retention"))
    elif facts.mood != "negative":
        lines.append(ctx.line(ctx.customer(), f.GRATITUDE, "gratitude"))


def _mention_churn(ctx: CallContext) -> Line:
    return ctx.line(CHAMPION, f.CHURN_SIGNALS, "churn")


def _extend_customer_success(ctx: CallContext, lines: list[Line]) -> bool:
    if (index := ctx.pick_fresh(range(len(f.CHECK_INS)), "check-in")) is not None:
        lines += [
            Line(REP, ctx.fill(f.CHECK_INS[index])),
            Line(ctx.customer(), ctx.fill(f.CHECK_IN_ANSWERS[index])),
        ]
        return True
    return _extend_with_questions(ctx, lines)


# --- renewal and QBR --------------------------------------------------------------------------------------


def _renewal(ctx: CallContext, lines: list[Line]) -> None:
    lines.append(ctx.line(REP, f.USAGE_REVIEW, "usage"))
    _results_and_risk(ctx, lines)
    lines.append(ctx.line(REP, f.RENEWAL_TERMS, "renewal-terms"))
    if ctx.facts.churn_risk and ctx.rng.random() < 0.5:
        lines.append(ctx.line(ctx.customer(), f.OBJECTIONS["price"], "objection-price"))
        ctx.facts.objections.append("price")


def _qbr(ctx: CallContext, lines: list[Line]) -> None:
    lines += [ctx.line(REP, f.USAGE_REVIEW, "usage"), ctx.line(REP, f.USAGE_REVIEW, "usage")]
    _results_and_risk(ctx, lines)
    for _ in range(ctx.rng.randint(1, 3)):
        lines += [
            ctx.line(REP, f.QBR_GOALS, "goal"),
            ctx.line(ctx.customer(), f.QBR_GOAL_REPLIES, "goal-reply"),
        ]


def _results_and_risk(ctx: CallContext, lines: list[Line]) -> None:
    facts = ctx.facts
    pool = f.RESULTS_MIXED if facts.churn_risk or facts.mood == "negative" else f.RESULTS_POSITIVE
    lines.append(ctx.line(CHAMPION, pool, "results"))
    if facts.churn_risk:
        for _ in range(ctx.rng.randint(1, 2)):
            lines.append(_mention_churn(ctx))
            lines.append(ctx.line(REP, f.RETENTION_RESPONSES, "retention"))
    elif ctx.rng.random() < 0.35:
        lines.append(ctx.line(ctx.customer(), f.EXPANSION, "expansion"))
        lines.append(ctx.line(REP, f.POSITIVE_REACTIONS, "rep-positive"))
    if ctx.rng.random() < 0.4:
        urgency = "urgent" if facts.churn_risk else "nice_to_have"
        facts.feature_requests.append(urgency)
        lines.append(ctx.line(ctx.customer(), f.FEATURE_REQUESTS[urgency], f"feature-{urgency}"))
        lines.append(ctx.line(REP, f.FEATURE_RESPONSES, "feature-response"))


def _extend_qbr(ctx: CallContext, lines: list[Line]) -> bool:
    if ctx.rng.random() < 0.5:
        area = ctx.pick(f.PRODUCT_AREAS, "area")
        explanation = _explain(ctx, REP, area)
        if explanation is not None:
            lines += [explanation, _reaction(ctx)]
            return True
    return _extend_customer_success(ctx, lines)


def _extend_general(ctx: CallContext, lines: list[Line]) -> bool:
    """Material any long call can use once its own kind of content is spent; False when all is used."""
    options = ["question", "anecdote", "story", "detail"]
    ctx.rng.shuffle(options)
    for option in options:
        if option == "question" and (qa := ctx.pick_fresh(f.CUSTOMER_QUESTIONS_EXTRA, "extra-q")) is not None:
            lines += [Line(ctx.customer(), ctx.fill(qa[0])), Line(ctx.seller(), ctx.fill(qa[1]))]
            return True
        if option == "anecdote" and (anecdote := ctx.pick_fresh(f.ANECDOTES, "anecdote")) is not None:
            lines += [
                Line(ctx.customer(), ctx.fill(anecdote)),
                ctx.line(REP, f.ANECDOTE_REPLIES, "anecdote-reply"),
            ]
            return True
        if option == "story" and (story := ctx.pick_fresh(f.CUSTOMER_STORIES, "story")) is not None:
            lines += [Line(REP, ctx.fill(story)), ctx.line(ctx.customer(), f.BACKCHANNELS, "bc")]
            return True
        if option == "detail" and (detail := ctx.pick_fresh(f.AREA_DETAILS, "detail")) is not None:
            lines += [Line(ctx.seller(), ctx.fill(detail)), _reaction(ctx)]
            return True
    return False


_Builder = Callable[[CallContext, list[Line]], None]
_Extender = Callable[[CallContext, list[Line]], bool]

_BODIES: dict[str, _Builder] = {
    "discovery": _discovery,
    "demo": _demo,
    "negotiation": _negotiation,
    "support": _support,
    "renewal": _renewal,
    "qbr": _qbr,
}
_EXTENSIONS: dict[str, _Extender] = {
    "discovery": _extend_discovery,
    "demo": _extend_demo,
    "negotiation": _extend_negotiation,
    "support": _extend_customer_success,
    "renewal": _extend_customer_success,
    "qbr": _extend_qbr,
}
