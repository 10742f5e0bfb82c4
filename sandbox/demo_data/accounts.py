"""The fictional customer and prospect accounts, and the people at them.

Accounts are fixed (names, domains, segment, city); their contacts are drawn from the corpus seed, so one
corpus has a stable cast: the same champion turns up on the discovery call, the demo and the negotiation.
Every address uses the reserved ``.example`` TLD.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

ENTERPRISE_SEGMENT = "enterprise"
MID_MARKET_SEGMENT = "mid_market"

# (name, industry, city, segment)
_COMPANIES: tuple[tuple[str, str, str, str], ...] = (
    ("Globex", "manufacturing", "Chicago", ENTERPRISE_SEGMENT),
    ("Initech", "software", "Austin", ENTERPRISE_SEGMENT),
    ("Umbrella Health", "healthcare", "Boston", ENTERPRISE_SEGMENT),
    ("Stark Logistics", "logistics", "Seattle", ENTERPRISE_SEGMENT),
    ("Wayne Financial", "financial services", "New York", ENTERPRISE_SEGMENT),
    ("Cyberdyne Systems", "hardware", "San Jose", ENTERPRISE_SEGMENT),
    ("Tyrell Biotech", "biotech", "San Diego", ENTERPRISE_SEGMENT),
    ("Soylent Foods", "consumer goods", "Minneapolis", ENTERPRISE_SEGMENT),
    ("Nordhavn Shipping", "logistics", "Copenhagen", ENTERPRISE_SEGMENT),
    ("Bergmann Versicherung", "insurance", "Munich", ENTERPRISE_SEGMENT),
    ("Albion Telecom", "telecommunications", "London", ENTERPRISE_SEGMENT),
    ("Massive Dynamic", "research", "Denver", ENTERPRISE_SEGMENT),
    ("Hooli Cloud", "software", "Palo Alto", ENTERPRISE_SEGMENT),
    ("Vandelay Industries", "import and export", "Newark", MID_MARKET_SEGMENT),
    ("Pied Piper", "software", "Oakland", MID_MARKET_SEGMENT),
    ("Dunder Paper", "distribution", "Scranton", MID_MARKET_SEGMENT),
    ("Bluth Homes", "real estate", "Irvine", MID_MARKET_SEGMENT),
    ("Prestige Staffing", "staffing", "Atlanta", MID_MARKET_SEGMENT),
    ("Oceanic Travel", "travel", "Honolulu", MID_MARKET_SEGMENT),
    ("Kessler Robotics", "robotics", "Pittsburgh", MID_MARKET_SEGMENT),
    ("Larkspur Dental", "healthcare", "Portland", MID_MARKET_SEGMENT),
    ("Brightline Solar", "energy", "Phoenix", MID_MARKET_SEGMENT),
    ("Fjord Analytics", "software", "Oslo", MID_MARKET_SEGMENT),
    ("Castellan Security", "cybersecurity", "Dublin", MID_MARKET_SEGMENT),
    ("Marlowe Media", "media", "Manchester", MID_MARKET_SEGMENT),
    ("Verdant Farms", "agriculture", "Des Moines", MID_MARKET_SEGMENT),
    ("Quill Legal", "legal services", "Philadelphia", MID_MARKET_SEGMENT),
    ("Halcyon Hotels", "hospitality", "Lisbon", MID_MARKET_SEGMENT),
)

_FIRST_NAMES: tuple[str, ...] = (
    "Hank", "Priya", "Marcus", "Elena", "Jamal", "Sarah", "Kenji", "Olga", "Diego", "Fatima", "Brian",
    "Chloe", "Rahul", "Ingrid", "Tyler", "Amara", "Victor", "Leah", "Owen", "Mei", "Carlos", "Hannah",
    "Yusuf", "Zoe", "Patrick", "Lucia", "Andre", "Freya", "Nikhil", "Rosa", "Gavin", "Imani",
)  # fmt: skip
_LAST_NAMES: tuple[str, ...] = (
    "Scorpio", "Lindqvist", "Osei", "Marchetti", "Brennan", "Kowalski", "Yamamoto", "Haddad", "Sullivan",
    "Delacroix", "Mendez", "Petrov", "Gallagher", "Abara", "Whitfield", "Castillo", "Novotny", "Reyes", "Tan",
    "Bauer", "Okoro", "Lindgren", "Farouk", "Moreau",
)  # fmt: skip

# Titles by role in a buying group; the champion is the first contact of every account.
CHAMPION_TITLES = (
    "VP of Sales", "Director of Sales Enablement", "Head of Revenue Operations", "Sales Director",
)  # fmt: skip
OTHER_TITLES = (
    "CFO", "IT Security Manager", "Sales Operations Manager", "Regional Sales Manager", "Procurement Lead",
    "Chief Revenue Officer", "Customer Support Lead", "Enablement Manager",
)  # fmt: skip


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    title: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    domain: str
    industry: str
    city: str
    segment: str
    contacts: tuple[Contact, ...]

    @property
    def champion(self) -> Contact:
        return self.contacts[0]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def build_accounts(rng: random.Random) -> tuple[Account, ...]:
    """Every account with 3-5 contacts drawn from ``rng`` (unique names across the corpus)."""
    people = [(f, la) for f in _FIRST_NAMES for la in _LAST_NAMES]
    rng.shuffle(people)
    accounts = []
    for name, industry, city, segment in _COMPANIES:
        slug = _slug(name)
        domain = f"{slug.replace('-', '')}.example"
        titles = [rng.choice(CHAMPION_TITLES), *rng.sample(OTHER_TITLES, 4)]
        contacts = []
        for title in titles[: rng.randint(3, 5)]:
            first, last = people.pop()
            contacts.append(Contact(f"{first} {last}", f"{first.lower()}.{last.lower()}@{domain}", title))
        accounts.append(Account(f"acct-{slug}", name, domain, industry, city, segment, tuple(contacts)))
    return tuple(accounts)
