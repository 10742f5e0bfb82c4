"""The building blocks of a call script: who says what, the call's context, and slot filling.

A script is a list of ``Line`` objects. Speakers are role keys (``rep``, ``se``, ``c0`` the champion,
``c1``, ``c2``) that ``timing.py`` resolves to people. Dates in slots are phrased relative to the call date
the way people say them ("Friday", "next Tuesday", "June 12th").
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sandbox.demo_data.accounts import Account, Contact
from sandbox.demo_data.fragments import PRODUCT_AREAS
from sandbox.demo_data.roster import Colleague, Rep

REP = "rep"
SE = "se"
CHAMPION = "c0"


def contact_key(index: int) -> str:
    return f"c{index}"


@dataclass(frozen=True)
class Line:
    speaker: str  # role key: rep | se | c0 | c1 | c2
    text: str
    pause_after: bool = False  # a natural silence follows (screen share, looking something up)


@dataclass
class CallFacts:
    """What the generator put into a call: the corpus's answer key (written to ``demo-corpus.json``)."""

    discovery_topics: list[str] = field(default_factory=list)
    budget: str = "unknown"  # confirmed | not_approved | unknown
    budget_amount_usd: int | None = None
    competitors: list[str] = field(default_factory=list)
    objections: list[str] = field(default_factory=list)
    objections_resolved: int = 0
    churn_risk: bool = False
    bug_severity: str | None = None
    feature_requests: list[str] = field(default_factory=list)  # urgency per request
    mood: str = "neutral"  # positive | neutral | negative
    action_items: int = 0
    follow_up_scheduled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "discovery_topics": self.discovery_topics,
            "budget": self.budget,
            "budget_amount_usd": self.budget_amount_usd,
            "competitors": self.competitors,
            "objections": self.objections,
            "objections_resolved": self.objections_resolved,
            "churn_risk": self.churn_risk,
            "bug_severity": self.bug_severity,
            "feature_requests": self.feature_requests,
            "mood": self.mood,
            "action_items": self.action_items,
            "follow_up_scheduled": self.follow_up_scheduled,
        }


_ORDINAL_SUFFIX = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}


def spoken_date(day: date) -> str:
    """'June 12th'."""
    return f"{day:%B} {day.day}{_ORDINAL_SUFFIX.get(day.day, 'th')}"


def add_business_days(day: date, count: int) -> date:
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def relative_day(call_day: date, target: date) -> str:
    """How someone on a call on ``call_day`` names ``target``: 'Friday', 'next Tuesday' or 'June 12th'."""
    weeks_apart = (
        target - timedelta(days=target.weekday()) - (call_day - timedelta(days=call_day.weekday()))
    ).days
    if target == call_day + timedelta(days=1):
        return "tomorrow"
    if weeks_apart == 0:
        return f"{target:%A}"
    if weeks_apart == 7:
        return f"next {target:%A}"
    return spoken_date(target)


def quarter_label(day: date) -> str:
    return f"Q{(day.month - 1) // 3 + 1}"


def next_quarter_label(day: date) -> str:
    quarter = (day.month - 1) // 3 + 1
    return f"Q{quarter % 4 + 1}"


def month_after(day: date, months: int) -> str:
    month_index = day.month - 1 + months
    return date(day.year + month_index // 12, month_index % 12 + 1, 1).strftime("%B")


@dataclass
class CallContext:
    """Everything one call's script is built from. ``rng`` is the call's own generator."""

    rng: random.Random
    call_type: str
    call_day: date
    hour_utc: int
    rep: Rep
    account: Account
    contacts: tuple[Contact, ...]  # the account's people on this call; [0] is the champion
    se: Colleague | None
    competitor: str | None
    amount_k: int  # budget / deal size in $k
    seats: int
    facts: CallFacts = field(default_factory=CallFacts)
    _used: set[str] = field(default_factory=set)
    slots: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng, day = self.rng, self.call_day
        people = {contact_key(i): c.first_name for i, c in enumerate(self.contacts)}
        # Fragments may name up to three customer people; on smaller calls the others are absent colleagues.
        for i in range(len(self.contacts), 3):
            people[contact_key(i)] = self.account.contacts[i % len(self.account.contacts)].first_name
        cfo = next((c.name for c in self.account.contacts if c.title == "CFO"), "our CFO")
        discount = rng.choice((5, 8, 10, 12, 15))
        self.slots = {
            "rep": self.rep.first_name,
            "se": self.se.first_name if self.se else "our solutions engineer",
            **people,
            "company": self.account.name,
            "city": self.account.city,
            "industry": self.account.industry,
            "cfo_name": cfo,
            "competitor": self.competitor or "another vendor",
            "competitor_or_other": self.competitor or "Another vendor",
            "amount": self.amount_k,
            "seats": self.seats,
            "extra_seats": rng.choice((10, 15, 20, 25, 40)),
            "price": round(self.amount_k * rng.uniform(1.05, 1.35)),
            "discount": discount,
            "part_of_day": "morning" if self.hour_utc < 12 else "afternoon",
            "weekday": f"{day:%A}",
            "weekday_before": f"{day - timedelta(days=rng.randint(1, 3)):%A}",
            "by_day": relative_day(day, add_business_days(day, rng.randint(1, 4))),
            "follow_day": relative_day(day, add_business_days(day, rng.randint(2, 7))),
            "month_soon": month_after(day, rng.randint(1, 3)),
            "quarter": quarter_label(day),
            "next_quarter": next_quarter_label(day),
            "renewal_date": spoken_date(day + timedelta(days=rng.randint(20, 80))),
            "active_pct": rng.randint(35, 95),
            "reviewed_calls": rng.randint(120, 900),
            "win_rate_up": rng.randint(3, 9),
            "area": rng.choice(PRODUCT_AREAS),
        }

    def fill(self, template: str, **extra: Any) -> str:
        return template.format_map({**self.slots, **extra})

    def pick(self, pool: Sequence[Any], key: str) -> Any:
        """A random item of ``pool`` not yet used in this call under ``key`` (any item once all are used)."""
        fresh = [i for i, _ in enumerate(pool) if f"{key}:{i}" not in self._used]
        index = self.rng.choice(fresh) if fresh else self.rng.randrange(len(pool))
        self._used.add(f"{key}:{index}")
        return pool[index]

    def pick_fresh(self, pool: Sequence[Any], key: str) -> Any | None:
        """Like ``pick`` but None once every item was used: for optional content that must not repeat."""
        fresh = [i for i, _ in enumerate(pool) if f"{key}:{i}" not in self._used]
        if not fresh:
            return None
        index = self.rng.choice(fresh)
        self._used.add(f"{key}:{index}")
        return pool[index]

    def line(
        self, speaker: str, pool: Sequence[str], key: str, pause_after: bool = False, **extra: Any
    ) -> Line:
        return Line(speaker, self.fill(self.pick(pool, key), **extra), pause_after)

    def customer(self) -> str:
        """A customer-side speaker: the champion most of the time."""
        if len(self.contacts) == 1 or self.rng.random() < 0.6:
            return contact_key(0)
        return contact_key(self.rng.randrange(1, len(self.contacts)))

    def seller(self) -> str:
        """A Lumen-side speaker for product answers: the SE when one is on the call, half the time."""
        return SE if self.se is not None and self.rng.random() < 0.5 else REP
