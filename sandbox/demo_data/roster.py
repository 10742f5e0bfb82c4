"""Lumen Analytics' people: the nine reps of the roster seed, their selling habits, and the sales engineers.

The roster mirrors ``dbt_project/seeds/rep_roster.csv`` (a test keeps the two in agreement): the generator
must work from an installed package, where the dbt project is not on disk. The habits are what make rep-level
aggregates differ: how deep a rep's discovery goes, how often they pin down budget and dated next steps, how
much they talk, and (for Customer Success) how healthy their book of accounts is.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPANY_NAME = "Lumen Analytics"
COMPANY_DOMAIN = "lumen.example"

ENTERPRISE = "Enterprise Sales"
MID_MARKET = "Mid-Market Sales"
CUSTOMER_SUCCESS = "Customer Success"
TEAMS: tuple[str, ...] = (ENTERPRISE, MID_MARKET, CUSTOMER_SUCCESS)

# Call types each team runs, with their share of that team's calls.
CALL_TYPE_MIX: dict[str, dict[str, float]] = {
    ENTERPRISE: {"discovery": 0.40, "demo": 0.35, "negotiation": 0.25},
    MID_MARKET: {"discovery": 0.45, "demo": 0.35, "negotiation": 0.20},
    CUSTOMER_SUCCESS: {"support": 0.50, "renewal": 0.25, "qbr": 0.25},
}
MANAGERS: dict[str, str] = {
    ENTERPRISE: "olivia.hart@lumen.example",
    MID_MARKET: "priya.nair@lumen.example",
    CUSTOMER_SUCCESS: "marcus.bell@lumen.example",
}
SALES_CALL_TYPES: tuple[str, ...] = ("discovery", "demo", "negotiation")
CS_CALL_TYPES: tuple[str, ...] = ("support", "renewal", "qbr")


@dataclass(frozen=True)
class RepHabits:
    """How a rep runs a call. Probabilities are per call; ranges are inclusive."""

    discovery_topics: tuple[int, int]  # how many of the six discovery areas they cover
    asks_budget: float  # chance budget is among the topics they cover
    dated_next_steps: float  # chance a next step gets an owner and a date, not "let's stay in touch"
    talkativeness: float  # 0..1: extra pitch/monologue lines (drives talk ratio)
    small_talk: float  # chance the call opens with small talk
    handles_objections: float  # chance an objection is answered convincingly
    weekly_calls: float  # relative call volume
    at_risk_book: float = 0.0  # Customer Success: share of their accounts showing churn risk


@dataclass(frozen=True)
class Rep:
    email: str
    name: str
    team: str
    region: str
    habits: RepHabits

    @property
    def manager_email(self) -> str:
        return MANAGERS[self.team]

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


def _h(
    topics: tuple[int, int],
    budget: float,
    dated: float,
    talk: float,
    small: float,
    objections: float,
    volume: float,
    at_risk: float = 0.0,
) -> RepHabits:
    return RepHabits(topics, budget, dated, talk, small, objections, volume, at_risk)


ROSTER: tuple[Rep, ...] = (
    Rep("maya.chen@lumen.example", "Maya Chen", ENTERPRISE, "NA East",
        _h((5, 6), 0.95, 0.90, 0.30, 0.6, 0.80, 1.1)),
    Rep("daniel.okafor@lumen.example", "Daniel Okafor", ENTERPRISE, "NA West",
        _h((2, 4), 0.45, 0.55, 0.85, 0.8, 0.55, 1.0)),
    Rep("sofia.ramirez@lumen.example", "Sofia Ramirez", ENTERPRISE, "EMEA",
        _h((4, 5), 0.80, 0.75, 0.45, 0.4, 0.70, 0.9)),
    Rep("liam.walsh@lumen.example", "Liam Walsh", MID_MARKET, "NA East",
        _h((1, 3), 0.30, 0.40, 0.90, 0.9, 0.45, 1.3)),
    Rep("aisha.khan@lumen.example", "Aisha Khan", MID_MARKET, "NA West",
        _h((4, 6), 0.85, 0.85, 0.35, 0.5, 0.75, 1.2)),
    Rep("tomas.novak@lumen.example", "Tomas Novak", MID_MARKET, "EMEA",
        _h((2, 4), 0.55, 0.60, 0.60, 0.3, 0.60, 1.0)),
    Rep("grace.lee@lumen.example", "Grace Lee", CUSTOMER_SUCCESS, "NA East",
        _h((0, 0), 0.0, 0.90, 0.35, 0.7, 0.80, 1.1, at_risk=0.15)),
    Rep("ethan.brooks@lumen.example", "Ethan Brooks", CUSTOMER_SUCCESS, "NA West",
        _h((0, 0), 0.0, 0.50, 0.60, 0.5, 0.50, 1.0, at_risk=0.45)),
    Rep("nora.fischer@lumen.example", "Nora Fischer", CUSTOMER_SUCCESS, "EMEA",
        _h((0, 0), 0.0, 0.75, 0.40, 0.4, 0.70, 0.9, at_risk=0.25)),
)  # fmt: skip


@dataclass(frozen=True)
class Colleague:
    """A Lumen employee who joins calls but owns none (not in the roster): the sales engineers."""

    name: str
    email: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


SALES_ENGINEERS: tuple[Colleague, ...] = (
    Colleague("Jordan Patel", "jordan.patel@lumen.example"),
    Colleague("Keiko Tanaka", "keiko.tanaka@lumen.example"),
    Colleague("Samuel Adeyemi", "samuel.adeyemi@lumen.example"),
)


def reps_of(team: str) -> tuple[Rep, ...]:
    return tuple(r for r in ROSTER if r.team == team)
