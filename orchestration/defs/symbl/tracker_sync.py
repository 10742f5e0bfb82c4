"""Trackers as code: sync ``trackers.yaml`` to Symbl's tracker management API, and report drift.

Ownership. Trackers we create carry the category ``managed-by:convo-intel`` (Symbl stores ``categories`` verbatim
and returns them on list; the description is left to the humans). The sync only ever deletes remote trackers that
carry the marker and are no longer in the file; a tracker created by hand in the Symbl account is left alone and
shows up in the drift report as ``extra_remote``. A hand-made tracker whose name the file declares is *adopted*:
the file is the source of truth for that name, so it is patched to match and gets the marker.

Comparison. Names match case-insensitively (Symbl's own uniqueness rule); vocabularies compare as sets of
whitespace-normalised terms (order is irrelevant to matching; case is kept, as Symbl stores it); descriptions
compare after trimming, with empty and absent equal. One PATCH per changed tracker replaces the whole vocabulary:
one request instead of one per term, and no index arithmetic against a list someone may be editing.

Requests are made one at a time (Symbl allows one concurrent management request per account; the client also
serialises them): deletes first (they free names and slots towards the 500-tracker limit), then updates, then
creates. A sync with nothing to change makes exactly one request, the list.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.symbl.client import SymblAPIError, SymblClient
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.symbl.trackers import (
    MAX_TRACKERS,
    Tracker,
    load_tracker_definitions,
    normalize_term,
    trackers_file,
)
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.partitions import WAREHOUSE_WRITER_POOL

MANAGED_CATEGORY = "managed-by:convo-intel"

# Terms are "unused" when they had no hit in recordings of the last 90 days, counted back from the newest
# recording rather than from today: a warehouse that is loaded in batches (the demo data ends months before today)
# would otherwise report every term as unused.
UNUSED_TERM_WINDOW = timedelta(days=90)

# Drift kinds. The first four are remote drift (the account differs from the file) and fail the asset check;
# unused_term is advice about the vocabulary itself.
MISSING_REMOTE = "missing_remote"
EXTRA_REMOTE = "extra_remote"
VOCABULARY_DIFFERS = "vocabulary_differs"
DESCRIPTION_DIFFERS = "description_differs"
UNUSED_TERM = "unused_term"
REMOTE_DRIFT_KINDS = frozenset({MISSING_REMOTE, EXTRA_REMOTE, VOCABULARY_DIFFERS, DESCRIPTION_DIFFERS})

DRIFT_TABLE = "symbl_tracker_drift"


class SyncPlanError(ValueError):
    """The remote state cannot be brought in line with the file (a Symbl limit, or a tracker without an id)."""


# --- comparing one file tracker with one remote tracker ----------------------------------------------------------


def is_managed(remote: Mapping[str, Any]) -> bool:
    categories = remote.get("categories")
    return isinstance(categories, list) and MANAGED_CATEGORY in categories


def _remote_name(remote: Mapping[str, Any]) -> str:
    return str(remote.get("name") or "").strip()


def _remote_id(remote: Mapping[str, Any]) -> str:
    tracker_id = remote.get("id")
    if not isinstance(tracker_id, str) or not tracker_id:
        raise SyncPlanError(f"remote tracker {_remote_name(remote)!r} has no id")
    return tracker_id


def _remote_terms(remote: Mapping[str, Any]) -> set[str]:
    vocabulary = remote.get("vocabulary")
    items = vocabulary if isinstance(vocabulary, list) else []
    return {normalize_term(t) for t in items if isinstance(t, str) and t.strip()}


def _description(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


@dataclass(frozen=True)
class TrackerComparison:
    """How a remote tracker differs from the file's (empty when they agree)."""

    missing_terms: tuple[str, ...]  # in the file, not in Symbl
    extra_terms: tuple[str, ...]  # in Symbl, not in the file
    description_differs: bool
    name_case_differs: bool

    @property
    def vocabulary_differs(self) -> bool:
        return bool(self.missing_terms or self.extra_terms)


def compare(desired: Tracker, remote: Mapping[str, Any]) -> TrackerComparison:
    wanted, present = set(desired.vocabulary), _remote_terms(remote)
    return TrackerComparison(
        missing_terms=tuple(t for t in desired.vocabulary if t not in present),
        extra_terms=tuple(sorted(present - wanted)),
        description_differs=_description(desired.description) != _description(remote.get("description")),
        name_case_differs=desired.name != _remote_name(remote),
    )


def _vocabulary_details(comparison: TrackerComparison) -> str:
    parts = [f"+{t}" for t in comparison.missing_terms] + [f"-{t}" for t in comparison.extra_terms]
    return "vocabulary " + ", ".join(parts)


def _match(
    desired: Sequence[Tracker], remote: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[Tracker, Mapping[str, Any] | None]], list[Mapping[str, Any]]]:
    """Pair file trackers with remote ones by case-insensitive name; the remote trackers left over."""
    by_name: dict[str, Mapping[str, Any]] = {}
    leftovers: list[Mapping[str, Any]] = []
    for item in remote:
        key = _remote_name(item).lower()
        # Symbl keeps names unique; should two ever collide, the first is matched and the other is an extra.
        if key in by_name:
            leftovers.append(item)
        else:
            by_name[key] = item
    pairs = [(t, by_name.pop(t.name.lower(), None)) for t in desired]
    leftovers.extend(by_name.values())
    return pairs, leftovers


# --- the sync plan -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerUpdate:
    tracker_id: str
    name: str
    operations: tuple[dict[str, Any], ...]  # JSON-Patch for PATCH /v1/manage/trackers/{id}
    changes: tuple[str, ...]  # what the operations do, for people


@dataclass(frozen=True)
class TrackerDelete:
    tracker_id: str
    name: str


@dataclass(frozen=True)
class SyncPlan:
    creates: tuple[Tracker, ...] = ()
    updates: tuple[TrackerUpdate, ...] = ()
    deletes: tuple[TrackerDelete, ...] = ()
    unchanged: tuple[str, ...] = ()
    unmanaged: tuple[str, ...] = ()  # remote trackers not ours and not in the file: reported, never touched

    @property
    def is_empty(self) -> bool:
        return not (self.creates or self.updates or self.deletes)

    @property
    def request_count(self) -> int:
        return len(self.creates) + len(self.updates) + len(self.deletes)


def _update_operations(desired: Tracker, remote: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    comparison = compare(desired, remote)
    operations: list[dict[str, Any]] = []
    changes: list[str] = []
    if comparison.name_case_differs:
        operations.append({"op": "replace", "path": "/name", "value": desired.name})
        changes.append(f"name {_remote_name(remote)!r} -> {desired.name!r}")
    if comparison.vocabulary_differs:
        operations.append({"op": "replace", "path": "/vocabulary", "value": list(desired.vocabulary)})
        changes.append(_vocabulary_details(comparison))
    if comparison.description_differs:
        if desired.description:
            operations.append({"op": "replace", "path": "/description", "value": desired.description})
        else:
            operations.append({"op": "remove", "path": "/description"})
        changes.append("description")
    if not is_managed(remote):
        # Adopt a hand-made tracker of the same name: from now on the file owns it.
        if isinstance(remote.get("categories"), list):
            operations.append({"op": "add", "path": "/categories/-", "value": MANAGED_CATEGORY})
        else:
            operations.append({"op": "replace", "path": "/categories", "value": [MANAGED_CATEGORY]})
        changes.append("adopted (created outside convo-intel)")
    return operations, changes


def plan_sync(desired: Sequence[Tracker], remote: Sequence[Mapping[str, Any]]) -> SyncPlan:
    """What to create, patch and delete so that Symbl's managed trackers equal the file (pure; no I/O)."""
    pairs, leftovers = _match(desired, remote)
    creates: list[Tracker] = []
    updates: list[TrackerUpdate] = []
    unchanged: list[str] = []
    for tracker, match in pairs:
        if match is None:
            creates.append(tracker)
            continue
        operations, changes = _update_operations(tracker, match)
        if operations:
            updates.append(TrackerUpdate(_remote_id(match), tracker.name, tuple(operations), tuple(changes)))
        else:
            unchanged.append(tracker.name)
    deletes = [TrackerDelete(_remote_id(r), _remote_name(r)) for r in leftovers if is_managed(r)]
    unmanaged = [_remote_name(r) for r in leftovers if not is_managed(r)]
    total = len(desired) + len(unmanaged)
    if total > MAX_TRACKERS:
        raise SyncPlanError(
            f"the file's {len(desired)} trackers plus {len(unmanaged)} created outside convo-intel make {total}; "
            f"Symbl allows {MAX_TRACKERS} per account"
        )
    return SyncPlan(tuple(creates), tuple(updates), tuple(deletes), tuple(unchanged), tuple(unmanaged))


# --- applying a plan ---------------------------------------------------------------------------------------------


def create_body(tracker: Tracker) -> dict[str, Any]:
    return {**tracker.as_dict(), "categories": [MANAGED_CATEGORY]}


@dataclass(frozen=True)
class AppliedChange:
    action: str  # create | update | delete
    name: str
    details: str
    error: str | None = None


@dataclass
class SyncOutcome:
    plan: SyncPlan
    changes: list[AppliedChange] = field(default_factory=list)

    @property
    def failures(self) -> list[AppliedChange]:
        return [c for c in self.changes if c.error is not None]

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action and c.error is None)


async def apply_plan(client: SymblClient, plan: SyncPlan) -> SyncOutcome:
    """Apply the plan one request at a time. A refused request is recorded and the others still go ahead (each
    change is independent, and the next sync retries whatever failed).
    """
    outcome = SyncOutcome(plan)

    async def attempt(action: str, name: str, details: str, request: Any) -> None:
        try:
            await request
        except SymblAPIError as exc:
            outcome.changes.append(AppliedChange(action, name, details, error=str(exc)))
        else:
            outcome.changes.append(AppliedChange(action, name, details))

    for delete in plan.deletes:
        await attempt(
            "delete", delete.name, "no longer in the file", client.delete_tracker(delete.tracker_id)
        )
    for update in plan.updates:
        await attempt(
            "update",
            update.name,
            "; ".join(update.changes),
            client.update_tracker(update.tracker_id, update.operations),
        )
    for tracker in plan.creates:
        await attempt(
            "create",
            tracker.name,
            f"{len(tracker.vocabulary)} terms",
            client.create_tracker(create_body(tracker)),
        )
    return outcome


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def changes_markdown(changes: Sequence[AppliedChange]) -> str:
    if not changes:
        return "_no changes: Symbl already matches the file_"
    lines = ["| action | tracker | details | result |", "|---|---|---|---|"]
    lines += [
        f"| {c.action} | {_md_cell(c.name)} | {_md_cell(c.details)} | "
        f"{'ok' if c.error is None else _md_cell('failed: ' + c.error)} |"
        for c in changes
    ]
    return "\n".join(lines)


@dg.asset(
    name="symbl_tracker_definitions",
    group_name="symbl",
    kinds={"python", "symbl"},
    description=(
        "The Symbl account's trackers, synced from trackers.yaml (env CONVO_INTEL_TRACKERS_FILE): creates and "
        "patches trackers to match the file and deletes trackers it created that the file no longer declares. "
        f"Trackers without the {MANAGED_CATEGORY!r} category were made by hand and are never deleted. "
        "Idempotent: with no change to the file it makes a single request (the list)."
    ),
)
async def symbl_tracker_definitions(
    context: AssetExecutionContext, symbl: SymblResource
) -> dg.MaterializeResult:
    # The result lives in metadata only: this asset writes Symbl, not the warehouse, so it stays out of the
    # duckdb_writer pool; symbl_tracker_drift records the account's state in the warehouse.
    path = trackers_file()
    desired = load_tracker_definitions(path, required=True)

    async def sync() -> SyncOutcome:
        async with symbl.client() as client:
            plan = plan_sync(desired, await client.list_trackers())
            return await apply_plan(client, plan)

    outcome = await sync()
    plan = outcome.plan
    metadata: dict[str, Any] = {
        "trackers_file": str(path),
        "created": outcome.count("create"),
        "updated": outcome.count("update"),
        "deleted": outcome.count("delete"),
        "unchanged": len(plan.unchanged),
        "unmanaged_left_alone": len(plan.unmanaged),
        "failed": len(outcome.failures),
        "management_requests": 1 + plan.request_count,
        "changes": dg.MetadataValue.md(changes_markdown(outcome.changes)),
    }
    for change in outcome.changes:
        context.log.info(
            f"tracker {change.action} {change.name!r}: {change.details} ({change.error or 'ok'})"
        )
    if outcome.failures:
        raise dg.Failure(
            description=f"{len(outcome.failures)} of {plan.request_count} tracker changes were refused by Symbl",
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


# --- drift ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftFinding:
    tracker_name: str
    kind: str
    details: str
    remote_tracker_id: str | None = None
    managed: bool | None = None
    term: str | None = None


def find_remote_drift(desired: Sequence[Tracker], remote: Sequence[Mapping[str, Any]]) -> list[DriftFinding]:
    """Where Symbl's trackers differ from the file (pure; no I/O)."""
    pairs, leftovers = _match(desired, remote)
    findings: list[DriftFinding] = []
    for tracker, match in pairs:
        if match is None:
            findings.append(
                DriftFinding(tracker.name, MISSING_REMOTE, "declared in the file, absent from Symbl")
            )
            continue
        comparison = compare(tracker, match)
        tracker_id, managed = str(match.get("id") or "") or None, is_managed(match)
        if comparison.vocabulary_differs:
            findings.append(
                DriftFinding(
                    tracker.name, VOCABULARY_DIFFERS, _vocabulary_details(comparison), tracker_id, managed
                )
            )
        if comparison.description_differs:
            details = f"file {tracker.description!r}, Symbl {_description(match.get('description'))!r}"
            findings.append(DriftFinding(tracker.name, DESCRIPTION_DIFFERS, details, tracker_id, managed))
    for item in leftovers:
        managed = is_managed(item)
        details = (
            "created by convo-intel, no longer in the file (the next sync deletes it)"
            if managed
            else "created outside convo-intel, not in the file (never deleted by the sync)"
        )
        findings.append(
            DriftFinding(
                _remote_name(item), EXTRA_REMOTE, details, str(item.get("id") or "") or None, managed
            )
        )
    return findings


@dataclass(frozen=True)
class TermUsage:
    """Tracker hits per (tracker, term) over the recordings of a window ending at the newest recording."""

    window_start: datetime | None
    window_end: datetime | None  # None: no recordings at all, so no evidence either way
    conversations: int
    hits: Mapping[tuple[str, str], int]  # (lower tracker name, lower term) -> hits


def read_term_usage(warehouse: WarehouseResource) -> TermUsage:
    """Hits per tracker term in completed conversations of recordings started in the 90 days up to the newest."""
    [bounds] = warehouse.query("SELECT max(start_time) AS window_end FROM raw.recordings")
    window_end = bounds["window_end"]
    if window_end is None:
        return TermUsage(None, None, 0, {})
    window_start = window_end - UNUSED_TERM_WINDOW
    in_window = """
        SELECT DISTINCT c.conversation_id
        FROM raw.symbl_conversations c JOIN raw.recordings r USING (recording_id)
        WHERE c.status = 'completed' AND r.start_time > ? AND r.start_time <= ?
    """
    [count] = warehouse.query(f"SELECT count(*) AS n FROM ({in_window})", [window_start, window_end])
    rows = warehouse.query(
        f"""
        SELECT lower(h.tracker_name) AS tracker_key, lower(h.matched_value) AS term_key, count(*) AS hits
        FROM raw.symbl_tracker_hits h JOIN ({in_window}) w USING (conversation_id)
        WHERE h.matched_value IS NOT NULL
        GROUP BY 1, 2
        """,
        [window_start, window_end],
    )
    hits = {(r["tracker_key"], r["term_key"]): int(r["hits"]) for r in rows}
    return TermUsage(window_start, window_end, int(count["n"]), hits)


def find_unused_terms(desired: Sequence[Tracker], usage: TermUsage) -> list[DriftFinding]:
    if usage.window_end is None:
        return []
    details = (
        f"no hits in {usage.conversations} conversations recorded "
        f"{usage.window_start:%Y-%m-%d}..{usage.window_end:%Y-%m-%d}"
    )
    return [
        DriftFinding(tracker.name, UNUSED_TERM, details, term=term)
        for tracker in desired
        for term in tracker.vocabulary
        if usage.hits.get((tracker.name.lower(), term.lower()), 0) == 0
    ]


def drift_rows(
    findings: Iterable[DriftFinding], usage: TermUsage, checked_at: datetime
) -> list[dict[str, Any]]:
    rows = []
    for f in findings:
        unused = f.kind == UNUSED_TERM
        rows.append(
            {
                "checked_at": checked_at,
                "tracker_name": f.tracker_name,
                "kind": f.kind,
                "term": f.term,
                "details": f.details,
                "remote_tracker_id": f.remote_tracker_id,
                "managed": f.managed,
                "window_start": usage.window_start if unused else None,
                "window_end": usage.window_end if unused else None,
            }
        )
    return rows


def replace_drift_rows(warehouse: WarehouseResource, rows: Sequence[dict[str, Any]]) -> None:
    """The table is a snapshot of the latest check: replaced as a whole, in one transaction."""
    with warehouse.writer() as writer:
        writer.replace_rows(DRIFT_TABLE, "true", [], rows)


def _findings_markdown(findings: Sequence[DriftFinding], limit: int = 20) -> str:
    if not findings:
        return "_none_"
    lines = ["| tracker | kind | details |", "|---|---|---|"]
    lines += [f"| {_md_cell(f.tracker_name)} | {f.kind} | {_md_cell(f.details)} |" for f in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"| ... | | {len(findings) - limit} more in raw.{DRIFT_TABLE} |")
    return "\n".join(lines)


NO_REMOTE_DRIFT_CHECK = "no_remote_tracker_drift"


@dg.asset(
    name="symbl_tracker_drift",
    group_name="symbl",
    kinds={"python", "symbl", "duckdb"},
    deps=["symbl_tracker_definitions", "symbl_tracker_hits"],
    pool=WAREHOUSE_WRITER_POOL,
    description=(
        f"raw.{DRIFT_TABLE}: where the Symbl account's trackers differ from trackers.yaml (missing_remote, "
        "extra_remote, vocabulary_differs, description_differs) and which of the file's terms had no hit in the "
        "90 days of recordings up to the newest one (unused_term). Replaced as a whole on each run."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            NO_REMOTE_DRIFT_CHECK,
            asset="symbl_tracker_drift",
            description="Warns when Symbl's trackers differ from trackers.yaml (edited behind the file's back).",
        )
    ],
)
async def symbl_tracker_drift(
    context: AssetExecutionContext, symbl: SymblResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    desired = load_tracker_definitions(required=True)

    async def list_remote() -> list[dict[str, Any]]:
        async with symbl.client() as client:
            return await client.list_trackers()

    # Network first, then one short write: no warehouse connection is held while Symbl answers.
    remote = await list_remote()
    remote_drift = find_remote_drift(desired, remote)
    usage = read_term_usage(warehouse)
    unused = find_unused_terms(desired, usage)
    rows = drift_rows([*remote_drift, *unused], usage, datetime.now(UTC))
    replace_drift_rows(warehouse, rows)
    by_kind = {kind: sum(1 for f in remote_drift if f.kind == kind) for kind in sorted(REMOTE_DRIFT_KINDS)}
    if remote_drift:
        context.log.warning(f"{len(remote_drift)} tracker drift findings: {by_kind}")
    window = (
        f"{usage.window_start:%Y-%m-%d}..{usage.window_end:%Y-%m-%d}" if usage.window_end else "no recordings"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "remote_drift": len(remote_drift),
            "unused_terms": len(unused),
            "usage_window": window,
            "usage_conversations": usage.conversations,
            "drift": dg.MetadataValue.md(_findings_markdown(remote_drift)),
            "unused": dg.MetadataValue.md(_findings_markdown(unused)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=NO_REMOTE_DRIFT_CHECK,
                passed=not remote_drift,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    **{f"kind.{k}": n for k, n in by_kind.items()},
                    "trackers": ", ".join(sorted({f.tracker_name for f in remote_drift})[:20]) or "none",
                },
            )
        ],
    )


__all__ = [
    "MANAGED_CATEGORY",
    "NO_REMOTE_DRIFT_CHECK",
    "DriftFinding",
    "SyncPlan",
    "SyncPlanError",
    "TrackerDelete",
    "TrackerUpdate",
    "apply_plan",
    "find_remote_drift",
    "find_unused_terms",
    "plan_sync",
    "symbl_tracker_definitions",
    "symbl_tracker_drift",
]
