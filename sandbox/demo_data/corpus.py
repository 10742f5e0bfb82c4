"""The demo corpus: a drop folder of manifests and demo media for Lumen Analytics' sales and support calls.

``generate`` plans every recording (rep, call type, account, date, media kind) from one seeded
``random.Random``, scripts and times each call, and writes::

    out_dir/demo-corpus.json              marker + answer key (what each call contains), see ``CORPUS_MARKER``
    out_dir/manifests/<recording_id>.json the drop-folder manifest (docs/drop-folder.md)
    out_dir/media/<recording_id>.wav|.mp4 silent demo media with the transcript embedded (``sandbox.media``)
    out_dir/media/<recording_id>.transcript.json   for ``transcript_file`` recordings

Same seed and count give byte-identical files (no wall clock, no global RNG). Media is written before its
manifest, each file atomically, so a drop-folder sensor watching ``out_dir`` never sees a manifest whose
media is missing or half written. Nothing is written outside ``out_dir``, and a non-empty ``out_dir`` is
only reused when it holds a previous corpus and nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.demo_data.accounts import ENTERPRISE_SEGMENT, MID_MARKET_SEGMENT, Account, build_accounts
from sandbox.demo_data.calls import build_script
from sandbox.demo_data.fragments import COMPETITORS
from sandbox.demo_data.roster import (
    CALL_TYPE_MIX,
    CUSTOMER_SUCCESS,
    ENTERPRISE,
    MID_MARKET,
    ROSTER,
    SALES_ENGINEERS,
    Rep,
)
from sandbox.demo_data.script import CallContext, contact_key
from sandbox.demo_data.timing import timed_transcript
from sandbox.media import write_mp4, write_wav
from sandbox.transcript import Speaker, Transcript

GENERATOR = "convo-intel demo-data"
CORPUS_MARKER = "demo-corpus.json"
FIRST_DAY = date(2026, 4, 1)  # two full quarters: Q2 and Q3 2026
LAST_DAY = date(2026, 9, 30)
FIRST_START_HOUR_UTC = 8  # calls start 08:00-16:45 UTC on weekdays
LAST_START_HOUR_UTC = 16
MAX_RECORDINGS = 20_000

MEDIA_MIX = {"audio_file": 0.72, "video_file": 0.16, "transcript_file": 0.12}
MEDIA_MIX_WITH_URLS = {
    "audio_file": 0.55,
    "audio_url": 0.14,
    "video_file": 0.12,
    "video_url": 0.07,
    "transcript_file": 0.12,
}
# Share of each segment's accounts that are customers (Customer Success) rather than prospects (sales).
_CUSTOMER_SHARE = 0.4
_COMPETITOR_SHARE = 0.6  # accounts that use or evaluate a competitor
_SE_CHANCE = {"discovery": 0.15, "demo": 0.85, "negotiation": 0.3, "support": 0.1, "renewal": 0.0, "qbr": 0.2}
_TITLES = {
    "discovery": "Discovery call",
    "demo": "Product demo",
    "negotiation": "Commercial review",
    "support": "Support call",
    "renewal": "Renewal check-in",
}
# How the recording platform lets Symbl know who spoke, for audio/video calls (text names its speakers itself):
# a stereo recording with a channel map (rep's line vs the customer's line), mono media with the platform's
# speaker events (Zoom/Teams style), or mono media with neither, where only diarization's `Speaker <n>` is left.
ATTRIBUTION_MIX = {"channel": 0.5, "speaker_events": 0.25, "none": 0.25}
_CORPUS_FILE = re.compile(r"^\.?rec-[A-Za-z0-9._:-]+$")


class DemoDataError(ValueError):
    """The corpus cannot be generated as asked (bad arguments or an output folder that is not ours)."""


@dataclass(frozen=True)
class GenerationSummary:
    out_dir: Path
    seed: int
    recordings: int
    by_team: dict[str, int]
    by_call_type: dict[str, int]
    by_media_kind: dict[str, int]
    first_day: date
    last_day: date
    total_bytes: int

    def __str__(self) -> str:
        def counts(values: dict[str, int]) -> str:
            return ", ".join(f"{name} {count}" for name, count in sorted(values.items()))

        return "\n".join(
            (
                f"Demo corpus: {self.recordings} recordings in {self.out_dir} (seed {self.seed}), "
                f"{self.first_day} .. {self.last_day}, {self.total_bytes / 1_000_000:.1f} MB",
                f"  teams:      {counts(self.by_team)}",
                f"  call types: {counts(self.by_call_type)}",
                f"  media:      {counts(self.by_media_kind)}",
            )
        )


@dataclass(frozen=True)
class _Plan:
    rep: Rep
    call_type: str
    media_kind: str
    start: datetime


# --- entry point ------------------------------------------------------------------------------------------


def generate(
    out_dir: Path, seed: int, recordings: int, media_base_url: str | None = None
) -> GenerationSummary:
    """Write a deterministic demo corpus of ``recordings`` calls to ``out_dir``; see the module docstring."""
    if not 1 <= recordings <= MAX_RECORDINGS:
        raise DemoDataError(f"recordings must be between 1 and {MAX_RECORDINGS}, not {recordings}")
    if media_base_url is not None and not re.match(r"^https?://[^/\s]+", media_base_url):
        raise DemoDataError(f"media_base_url must be an http(s) URL, not {media_base_url!r}")
    root = _prepare_out_dir(Path(out_dir))
    params = {
        "generator": GENERATOR,
        "seed": seed,
        "recordings": recordings,
        "media_base_url": media_base_url,
    }
    _write_text(root, CORPUS_MARKER, _json(params))  # claims the folder before anything else is written

    rng = random.Random(seed)
    accounts = build_accounts(rng)
    books, competitor_of, at_risk = _assign_accounts(rng, accounts)
    plans = _plan_recordings(rng, recordings, media_base_url is not None)

    answer_key: dict[str, Any] = {}
    day_counts: Counter[str] = Counter()
    for index, plan in enumerate(plans, start=1):
        call_rng = random.Random(rng.getrandbits(64))
        recording_id = f"rec-{plan.start:%Y%m%d}-{plan.rep.first_name.lower()}-{index:04d}"
        account = call_rng.choice(books[plan.rep.email])
        ctx = _call_context(call_rng, plan, account, competitor_of[account.id], at_risk[account.id])
        lines = build_script(ctx)
        speakers = _speakers(ctx)
        transcript = timed_transcript(lines, speakers, call_rng)
        # Its own generator, so that choosing the set-up leaves every other draw of the corpus as it was.
        attribution = _attribution(random.Random(f"{seed}:{recording_id}"), plan.media_kind, ctx)
        if attribution == "channel":
            transcript = _on_channels(transcript, ctx.rep.email)
        media = _write_media(root, recording_id, plan.media_kind, transcript, media_base_url, attribution)
        manifest = _manifest(recording_id, plan, ctx, transcript, media)
        manifest |= _attribution_fields(attribution, ctx, transcript)
        _write_text(root, f"manifests/{recording_id}.json", _json(manifest))
        answer_key[recording_id] = {
            "account_id": account.id,
            "speaker_attribution": attribution,
            **ctx.facts.to_dict(),
        }
        day_counts[plan.start.date().isoformat()] += 1

    _write_text(root, CORPUS_MARKER, _json({**params, "answer_key": answer_key}))
    return GenerationSummary(
        out_dir=root,
        seed=seed,
        recordings=recordings,
        by_team=dict(Counter(p.rep.team for p in plans)),
        by_call_type=dict(Counter(p.call_type for p in plans)),
        by_media_kind=dict(Counter(p.media_kind for p in plans)),
        first_day=min(p.start.date() for p in plans),
        last_day=max(p.start.date() for p in plans),
        total_bytes=sum(p.stat().st_size for p in root.rglob("*") if p.is_file()),
    )


# --- planning ---------------------------------------------------------------------------------------------


def allocate(rng: random.Random, count: int, weights: dict[str, float]) -> list[str]:
    """``count`` labels in proportion to ``weights`` (largest remainder), shuffled.

    Every label appears at least once when ``count`` allows, so a small corpus still has every team, call type
    and media kind.
    """
    total = sum(weights.values())
    exact = {label: count * weight / total for label, weight in weights.items()}
    counts = {label: int(share) for label, share in exact.items()}
    by_remainder = sorted(weights, key=lambda label: (counts[label] - exact[label], label))
    for label in by_remainder[: count - sum(counts.values())]:
        counts[label] += 1
    if count >= len(weights):
        for label in weights:
            if counts[label] == 0:
                counts[max(counts, key=lambda k: (counts[k], k))] -= 1
                counts[label] = 1
    labels = [label for label in weights for _ in range(counts[label])]
    rng.shuffle(labels)
    return labels


def _weekdays() -> list[date]:
    days = (FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1))
    return [day for day in days if day.weekday() < 5]


def _plan_recordings(rng: random.Random, count: int, with_urls: bool) -> list[_Plan]:
    reps = {rep.email: rep for rep in ROSTER}
    rep_order = allocate(rng, count, {rep.email: rep.habits.weekly_calls for rep in ROSTER})
    media_kinds = allocate(rng, count, MEDIA_MIX_WITH_URLS if with_urls else MEDIA_MIX)
    call_types: dict[str, list[str]] = {}
    for team in (ENTERPRISE, MID_MARKET, CUSTOMER_SUCCESS):
        team_count = sum(1 for email in rep_order if reps[email].team == team)
        call_types[team] = allocate(rng, team_count, CALL_TYPE_MIX[team])
    weekdays = _weekdays()
    taken: set[tuple[str, datetime]] = set()
    plans = []
    for email, media_kind in zip(rep_order, media_kinds, strict=True):
        rep = reps[email]
        start = _free_slot(rng, weekdays, rep, taken)
        plans.append(_Plan(rep, call_types[rep.team].pop(), media_kind, start))
    plans.sort(key=lambda p: (p.start, p.rep.email))
    return plans


def _free_slot(
    rng: random.Random, weekdays: list[date], rep: Rep, taken: set[tuple[str, datetime]]
) -> datetime:
    """A weekday business-hours start on a quarter hour when the rep has no other call starting that hour."""
    start = datetime.min
    for _ in range(200):
        day = rng.choice(weekdays)
        hour = rng.randint(FIRST_START_HOUR_UTC, LAST_START_HOUR_UTC)
        start = datetime(day.year, day.month, day.day, hour, rng.choice((0, 15, 30, 45)), tzinfo=UTC)
        if (rep.email, start.replace(minute=0)) not in taken:
            break
    taken.add((rep.email, start.replace(minute=0)))
    return start


def _assign_accounts(
    rng: random.Random, accounts: tuple[Account, ...]
) -> tuple[dict[str, list[Account]], dict[str, str | None], dict[str, bool]]:
    """Each rep's book: prospects for the segment's sales team, customers for Customer Success.

    Also which competitor each account uses or evaluates, and which customers are at risk (drawn at the rate
    of their Customer Success rep's book, so one rep's book is visibly healthier than another's).
    """
    books: dict[str, list[Account]] = {rep.email: [] for rep in ROSTER}
    customers: list[Account] = []
    for segment, team in ((ENTERPRISE_SEGMENT, ENTERPRISE), (MID_MARKET_SEGMENT, MID_MARKET)):
        pool = [a for a in accounts if a.segment == segment]
        rng.shuffle(pool)
        split = round(len(pool) * _CUSTOMER_SHARE)
        customers += pool[:split]
        team_reps = [rep for rep in ROSTER if rep.team == team]
        for i, account in enumerate(pool[split:]):
            books[team_reps[i % len(team_reps)].email].append(account)
    cs_reps = [rep for rep in ROSTER if rep.team == CUSTOMER_SUCCESS]
    at_risk: dict[str, bool] = {a.id: False for a in accounts}
    for i, account in enumerate(customers):
        rep = cs_reps[i % len(cs_reps)]
        books[rep.email].append(account)
        at_risk[account.id] = rng.random() < rep.habits.at_risk_book
    competitor_of = {
        a.id: (rng.choice(COMPETITORS) if rng.random() < _COMPETITOR_SHARE else None) for a in accounts
    }
    return books, competitor_of, at_risk


def _call_context(
    rng: random.Random, plan: _Plan, account: Account, competitor: str | None, at_risk: bool
) -> CallContext:
    others = list(account.contacts[1:])
    attendees = (account.champion, *rng.sample(others, rng.choices((0, 1, 2), (0.5, 0.35, 0.15))[0]))
    se = rng.choice(SALES_ENGINEERS) if rng.random() < _SE_CHANCE[plan.call_type] else None
    enterprise = account.segment == ENTERPRISE_SEGMENT
    ctx = CallContext(
        rng=rng,
        call_type=plan.call_type,
        call_day=plan.start.date(),
        hour_utc=plan.start.hour,
        rep=plan.rep,
        account=account,
        contacts=attendees,
        se=se,
        competitor=competitor,
        amount_k=5 * (rng.randint(24, 70) if enterprise else rng.randint(6, 22)),
        seats=rng.randint(60, 300) if enterprise else rng.randint(15, 80),
    )
    ctx.facts.churn_risk = at_risk and plan.rep.team == CUSTOMER_SUCCESS
    if ctx.facts.churn_risk:
        ctx.facts.mood = rng.choices(("negative", "neutral"), (0.6, 0.4))[0]
    else:
        ctx.facts.mood = rng.choices(("positive", "neutral", "negative"), (0.45, 0.4, 0.15))[0]
    return ctx


def _speakers(ctx: CallContext) -> dict[str, Speaker]:
    speakers = {"rep": Speaker(ctx.rep.name, ctx.rep.email)}
    if ctx.se is not None:
        speakers["se"] = Speaker(ctx.se.name, ctx.se.email)
    for i, contact in enumerate(ctx.contacts):
        speakers[contact_key(i)] = Speaker(contact.name, contact.email)
    return speakers


# --- writing ----------------------------------------------------------------------------------------------


def _manifest(
    recording_id: str, plan: _Plan, ctx: CallContext, transcript: Transcript, media: dict[str, str]
) -> dict[str, Any]:
    customer_role = "customer" if plan.rep.team == CUSTOMER_SUCCESS else "prospect"
    participants = [{"name": plan.rep.name, "email": plan.rep.email, "role": "rep"}]
    if ctx.se is not None:
        participants.append({"name": ctx.se.name, "email": ctx.se.email, "role": "sales_engineer"})
    participants += [{"name": c.name, "email": c.email, "role": customer_role} for c in ctx.contacts]
    quarter = f"Q{(plan.start.month - 1) // 3 + 1}"
    title = _TITLES.get(plan.call_type, f"{quarter} business review")
    return {
        "recording_id": recording_id,
        "start_time": plan.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_seconds": round(transcript.duration_seconds, 3),
        "title": f"{title} - {ctx.account.name}",
        "call_type": plan.call_type,
        "account": {"id": ctx.account.id, "name": ctx.account.name},
        "host": {"name": plan.rep.name, "email": plan.rep.email},
        "participants": participants,
        "language_code": transcript.language_code,
        "media": media,
    }


def _attribution(rng: random.Random, media_kind: str, ctx: CallContext) -> str:
    """`identity` for text; otherwise a draw from ATTRIBUTION_MIX (stereo needs WAV audio and a rep alone on
    their line: a sales engineer beside them would be heard as the rep)."""
    if media_kind == "transcript_file":
        return "identity"
    choice = rng.choices(list(ATTRIBUTION_MIX), list(ATTRIBUTION_MIX.values()))[0]
    if choice == "channel" and (not media_kind.startswith("audio") or ctx.se is not None):
        return "speaker_events"
    return choice


def _on_channels(transcript: Transcript, rep_email: str) -> Transcript:
    """Dual-channel telephony: the rep's line is channel 1, the customer's line channel 2."""
    return dataclasses.replace(
        transcript,
        utterances=tuple(
            dataclasses.replace(u, channel=1 if u.speaker.email == rep_email else 2)
            for u in transcript.utterances
        ),
    )


def _attribution_fields(attribution: str, ctx: CallContext, transcript: Transcript) -> dict[str, Any]:
    if attribution == "channel":
        return {
            "channels": [
                {"channel": 1, "participant": ctx.rep.email},
                {"channel": 2, "participant": ctx.contacts[0].email},
            ]
        }
    if attribution == "speaker_events":
        return {
            "speaker_events": [
                {"participant": u.speaker.email or u.speaker.name, "start": u.start, "end": u.end}
                for u in transcript.utterances
            ]
        }
    return {}


def _write_media(
    root: Path,
    recording_id: str,
    kind: str,
    transcript: Transcript,
    media_base_url: str | None,
    attribution: str = "none",
) -> dict[str, str]:
    """Write the recording's media file; return the manifest's ``media`` object."""
    if kind == "transcript_file":
        relative = f"media/{recording_id}.transcript.json"
        _write_text(root, relative, transcript.to_json() + "\n")
        return {"kind": kind, "path": relative}
    extension = "wav" if kind.startswith("audio") else "mp4"
    relative = f"media/{recording_id}.{extension}"
    target = _inside(root, relative)
    if extension == "wav":
        write_wav(target, transcript, channels=2 if attribution == "channel" else 1)
    else:
        write_mp4(target, transcript)
    if kind.endswith("_url"):
        assert media_base_url is not None  # url kinds are only planned with a base URL
        return {"kind": kind, "url": f"{media_base_url.rstrip('/')}/{recording_id}.{extension}"}
    return {"kind": kind, "path": relative}


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing any path that would land outside ``root`` (e.g. through a symlink)."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise DemoDataError(f"refusing to write {relative!r}: it resolves outside {root}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.resolve().is_relative_to(root):
        raise DemoDataError(f"refusing to write {relative!r}: its folder resolves outside {root}")
    return target


def _write_text(root: Path, relative: str, text: str) -> None:
    target = _inside(root, relative)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def _prepare_out_dir(out_dir: Path) -> Path:
    """Create ``out_dir``, or clear a previous corpus in it; refuse anything else, saying why."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DemoDataError(f"{out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    root = out_dir.resolve()
    entries = sorted(p.name for p in root.iterdir())
    if not entries:
        return root
    problem = _not_a_corpus(root, entries)
    if problem is not None:
        raise DemoDataError(
            f"refusing to write a demo corpus into {out_dir}: it is not empty and {problem}. "
            "Choose an empty or new folder."
        )
    for name in ("manifests", "media"):
        if (root / name).exists():
            shutil.rmtree(root / name)
    return root


def _not_a_corpus(root: Path, entries: list[str]) -> str | None:
    """Why ``root`` does not look like a previous corpus, or None when it does."""
    marker = root / CORPUS_MARKER
    if not marker.is_file():
        return f"has no {CORPUS_MARKER} marker from a previous corpus"
    try:
        generator = json.loads(marker.read_text(encoding="utf-8")).get("generator")
    except (ValueError, AttributeError, OSError):
        generator = None
    if generator != GENERATOR:
        return f"its {CORPUS_MARKER} was not written by {GENERATOR}"
    unexpected = [name for name in entries if name not in (CORPUS_MARKER, "manifests", "media")]
    if unexpected:
        return f"it holds {unexpected[0]!r}, which a demo corpus does not contain"
    for name in ("manifests", "media"):
        folder = root / name
        if not folder.exists():
            continue
        if folder.is_symlink() or not folder.is_dir():
            return f"{name} is not a plain folder"
        for entry in folder.iterdir():
            if entry.is_symlink() or not entry.is_file() or not _CORPUS_FILE.match(entry.name):
                return f"{name}/{entry.name} is not a file this generator writes"
    return None
