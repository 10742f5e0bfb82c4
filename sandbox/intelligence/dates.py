"""Date expressions in speech, resolved against the day the conversation happened.

Rules (documented because speech is ambiguous):
- a bare weekday ("by Friday", "on Monday") is its next occurrence strictly after today;
- "this Friday" is the Friday of the current Monday-based week, or the next one if it already passed;
- "next Friday" is the Friday of the following week; "next week" is that week's Monday;
- "end of the week" is this week's Friday (next Friday at a weekend); end of month/quarter/year is its
  last day;
- "in N days/weeks/months"; "a week from today";
- explicit dates: "March 3rd", "3rd of March", "March 3, 2027", "3/14" (US month/day), "2026-04-10". Without a
  year a date more than half a year in the past rolls into next year ("January 5th" said in December).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a couple": 2,
    "couple of": 2, "a few": 3, "few": 3,
}  # fmt: skip

_WEEKDAY_RE = "|".join(_WEEKDAYS)
# Month names only count next to a day number: "may" alone is far more often a verb than a month.
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_COUNT_RE = (
    "|".join(sorted((k.replace(" ", r"\s+") for k in _NUMBER_WORDS), key=len, reverse=True)) + r"|\d{1,3}"
)
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("numeric", re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])")),
    (
        "month_day",
        re.compile(rf"\b({_MONTH_RE})\.?\s+(?:the\s+)?{_ORDINAL}\b(?:,?\s+(\d{{4}}))?", re.IGNORECASE),
    ),
    (
        "day_month",
        re.compile(rf"\b(?:the\s+)?{_ORDINAL}\s+of\s+({_MONTH_RE})\b(?:,?\s+(\d{{4}}))?", re.IGNORECASE),
    ),
    ("in_n", re.compile(rf"\b(?:in|within)\s+({_COUNT_RE})\s+(day|week|month)s?\b", re.IGNORECASE)),
    (
        "from_now",
        re.compile(rf"\b({_COUNT_RE})\s+(day|week|month)s?\s+from\s+(?:today|now)\b", re.IGNORECASE),
    ),
    ("day_after_tomorrow", re.compile(r"\bthe\s+day\s+after\s+tomorrow\b", re.IGNORECASE)),
    ("today", re.compile(r"\b(?:today|tonight|end\s+of\s+(?:the\s+)?day|eod)\b", re.IGNORECASE)),
    ("tomorrow", re.compile(r"\btomorrow\b", re.IGNORECASE)),
    (
        "end_of",
        re.compile(
            r"\b(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(week|month|quarter|year)\b|\beo(w|m|q|y)\b",
            re.IGNORECASE,
        ),
    ),
    ("later_this_week", re.compile(r"\b(?:later\s+)?this\s+week\b", re.IGNORECASE)),
    ("next_period", re.compile(r"\bnext\s+(week|month|quarter|year)\b", re.IGNORECASE)),
    ("relative_weekday", re.compile(rf"\b(this|next)\s+({_WEEKDAY_RE})\b", re.IGNORECASE)),
    ("weekday", re.compile(rf"\b({_WEEKDAY_RE})\b", re.IGNORECASE)),
]


# Cheap pre-check: most sentences mention no date, and one search is far cheaper than every pattern above.
_MAY_CONTAIN_DATE = re.compile(
    rf"\d|\b(?:today|tonight|tomorrow|eod|eo[wmqy]|end|days?|weeks?|months?|quarter|year|{_WEEKDAY_RE}|{_MONTH_RE})\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int
    text: str
    value: date


def find_dates(text: str, today: date) -> list[DateMention]:
    """Every date expression in ``text`` resolved against ``today``, in text order, without overlaps.

    Patterns are tried most specific first; a later pattern never claims characters an earlier one matched.
    """
    if not _MAY_CONTAIN_DATE.search(text):
        return []
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            value = _resolve(kind, match, today)
            if value is None:
                continue
            taken.append((match.start(), match.end()))
            found.append(DateMention(match.start(), match.end(), match.group(0), value))
    return sorted(found, key=lambda d: d.start)


def _resolve(kind: str, match: re.Match[str], today: date) -> date | None:
    g = match.groups()
    if kind == "iso":
        return _safe_date(int(g[0]), int(g[1]), int(g[2]))
    if kind == "numeric":
        year = _full_year(g[2]) if g[2] else None
        return _explicit(int(g[0]), int(g[1]), year, today)
    if kind == "month_day":
        return _explicit(_MONTHS[g[0].lower()], int(g[1]), int(g[2]) if g[2] else None, today)
    if kind == "day_month":
        return _explicit(_MONTHS[g[1].lower()], int(g[0]), int(g[2]) if g[2] else None, today)
    if kind == "day_after_tomorrow":
        return today + timedelta(days=2)
    if kind == "today":
        return today
    if kind == "tomorrow":
        return today + timedelta(days=1)
    if kind == "end_of":
        period = (g[0] or {"w": "week", "m": "month", "q": "quarter", "y": "year"}[g[1].lower()]).lower()
        return end_of(period, today)
    if kind == "later_this_week":
        return end_of("week", today)
    if kind == "next_period":
        return _start_of_next(g[0].lower(), today)
    if kind == "relative_weekday":
        return _relative_weekday(g[0].lower(), _WEEKDAYS.index(g[1].lower()), today)
    if kind == "weekday":
        return _next_weekday(_WEEKDAYS.index(g[0].lower()), today)
    if kind in ("in_n", "from_now"):
        count = int(g[0]) if g[0].isdigit() else _NUMBER_WORDS[" ".join(g[0].lower().split())]
        unit = g[1].lower()
        if unit == "day":
            return today + timedelta(days=count)
        if unit == "week":
            return today + timedelta(weeks=count)
        return _add_months(today, count)
    raise ValueError(f"unknown date pattern {kind}")  # pragma: no cover - the pattern table is closed


def end_of(period: str, today: date) -> date:
    if period == "week":
        friday = today + timedelta(days=4 - today.weekday())
        return friday if friday >= today else friday + timedelta(weeks=1)
    if period == "month":
        return date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    if period == "quarter":
        last_month = ((today.month - 1) // 3 + 1) * 3
        return date(today.year, last_month, calendar.monthrange(today.year, last_month)[1])
    return date(today.year, 12, 31)


def _start_of_next(period: str, today: date) -> date:
    if period == "week":
        return today + timedelta(days=7 - today.weekday())
    if period == "month":
        return _add_months(today.replace(day=1), 1)
    if period == "quarter":
        first_month_this_quarter = (today.month - 1) // 3 * 3 + 1
        return _add_months(date(today.year, first_month_this_quarter, 1), 3)
    return date(today.year + 1, 1, 1)


def _next_weekday(weekday: int, today: date) -> date:
    ahead = (weekday - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def _relative_weekday(which: str, weekday: int, today: date) -> date:
    monday = today - timedelta(days=today.weekday())
    if which == "next":
        return monday + timedelta(weeks=1, days=weekday)
    this_week = monday + timedelta(days=weekday)
    return this_week if this_week >= today else this_week + timedelta(weeks=1)


def _explicit(month: int, day: int, year: int | None, today: date) -> date | None:
    if year is not None:
        return _safe_date(year, month, day)
    candidate = _safe_date(today.year, month, day)
    if candidate is None:
        return None
    if (today - candidate).days > 182:
        return _safe_date(today.year + 1, month, day)
    return candidate


def _full_year(raw: str) -> int:
    return int(raw) + 2000 if len(raw) == 2 else int(raw)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
