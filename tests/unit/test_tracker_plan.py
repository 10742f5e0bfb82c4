"""The tracker sync planner and drift finder: pure functions over the file's trackers and Symbl's list answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestration.defs.symbl.tracker_sync import (
    DESCRIPTION_DIFFERS,
    EXTRA_REMOTE,
    MANAGED_CATEGORY,
    MISSING_REMOTE,
    UNUSED_TERM,
    VOCABULARY_DIFFERS,
    SyncPlanError,
    TermUsage,
    create_body,
    find_remote_drift,
    find_unused_terms,
    plan_sync,
)
from orchestration.defs.symbl.trackers import Tracker, TrackerFileError, load_tracker_definitions

PRICING = Tracker("Pricing", ("price", "budget", "discount"), "Price talk.")
COMPETITORS = Tracker("Competitors", ("Gong", "Chorus"))


def remote(tracker: Tracker, tracker_id: str, *, managed: bool = True, **changes: Any) -> dict[str, Any]:
    """A tracker as Symbl's list returns it."""
    body: dict[str, Any] = {
        "id": tracker_id,
        "name": tracker.name,
        "description": tracker.description,
        "vocabulary": list(tracker.vocabulary),
        "categories": [MANAGED_CATEGORY] if managed else [],
        "languages": ["en-US"],
        "createdOn": "2026-11-01T00:00:00Z",
        "updatedOn": "2026-11-01T00:00:00Z",
    }
    return {**body, **changes}


def test_everything_is_created_when_the_account_is_empty() -> None:
    plan = plan_sync([PRICING, COMPETITORS], [])
    assert [t.name for t in plan.creates] == ["Pricing", "Competitors"]
    assert (plan.updates, plan.deletes, plan.unchanged) == ((), (), ())
    assert create_body(PRICING)["categories"] == [MANAGED_CATEGORY]


def test_identical_trackers_need_no_request_whatever_the_order_of_terms() -> None:
    shuffled = remote(PRICING, "p1", vocabulary=["discount", "price", "budget"])
    plan = plan_sync([PRICING, COMPETITORS], [shuffled, remote(COMPETITORS, "c1")])
    assert plan.is_empty
    assert plan.request_count == 0
    assert set(plan.unchanged) == {"Pricing", "Competitors"}


def test_names_match_case_insensitively_and_only_the_case_is_patched() -> None:
    plan = plan_sync([PRICING], [remote(PRICING, "p1", name="PRICING")])
    assert plan.creates == ()
    [update] = plan.updates
    assert update.tracker_id == "p1"
    assert update.operations == ({"op": "replace", "path": "/name", "value": "Pricing"},)


def test_a_changed_vocabulary_is_one_replace_of_the_whole_list() -> None:
    edited = Tracker("Pricing", ("price", "budget", "per seat"), "Price talk.")
    plan = plan_sync([edited], [remote(PRICING, "p1")])
    [update] = plan.updates
    assert update.operations == (
        {"op": "replace", "path": "/vocabulary", "value": ["price", "budget", "per seat"]},
    )
    assert update.changes == ("vocabulary +per seat, -discount",)


def test_description_is_replaced_or_removed_and_blank_equals_absent() -> None:
    described = plan_sync([PRICING], [remote(PRICING, "p1", description="Old text")])
    assert described.updates[0].operations == (
        {"op": "replace", "path": "/description", "value": "Price talk."},
    )
    bare = Tracker("Pricing", PRICING.vocabulary)
    removed = plan_sync([bare], [remote(PRICING, "p1")])
    assert removed.updates[0].operations == ({"op": "remove", "path": "/description"},)
    assert plan_sync([bare], [remote(bare, "p1", description="  ")]).is_empty


def test_managed_trackers_missing_from_the_file_are_deleted_and_hand_made_ones_never() -> None:
    hand_made = remote(Tracker("Legal", ("contract",)), "h1", managed=False)
    no_categories = remote(Tracker("Partners", ("reseller",)), "h2")
    del no_categories["categories"]
    plan = plan_sync([PRICING], [remote(PRICING, "p1"), remote(COMPETITORS, "c1"), hand_made, no_categories])
    assert [(d.tracker_id, d.name) for d in plan.deletes] == [("c1", "Competitors")]
    assert set(plan.unmanaged) == {"Legal", "Partners"}


def test_a_hand_made_tracker_the_file_declares_is_adopted_not_duplicated() -> None:
    plan = plan_sync([PRICING], [remote(PRICING, "h1", managed=False, categories=["sales"])])
    assert plan.creates == ()
    [update] = plan.updates
    assert update.operations == ({"op": "add", "path": "/categories/-", "value": MANAGED_CATEGORY},)


def test_the_account_limit_counts_the_trackers_the_sync_may_not_delete() -> None:
    desired = [Tracker(f"T{i}", ("term",)) for i in range(499)]
    hand_made = [remote(Tracker(f"Hand {i}", ("x",)), f"h{i}", managed=False) for i in range(2)]
    with pytest.raises(SyncPlanError, match="501"):
        plan_sync(desired, hand_made)
    # Managed extras are deleted first, so they do not count against the limit.
    ours = [remote(Tracker(f"Old {i}", ("x",)), f"o{i}") for i in range(2)]
    assert len(plan_sync(desired, ours).deletes) == 2


def test_drift_names_each_kind_of_difference() -> None:
    hand_made = remote(Tracker("Legal", ("contract",)), "h1", managed=False)
    edited = remote(PRICING, "p1", vocabulary=["price", "budget", "coupon"], description="Changed")
    findings = find_remote_drift([PRICING, COMPETITORS], [edited, hand_made])
    kinds = {(f.tracker_name, f.kind) for f in findings}
    assert kinds == {
        ("Pricing", VOCABULARY_DIFFERS),
        ("Pricing", DESCRIPTION_DIFFERS),
        ("Competitors", MISSING_REMOTE),
        ("Legal", EXTRA_REMOTE),
    }
    vocabulary = next(f for f in findings if f.kind == VOCABULARY_DIFFERS)
    assert vocabulary.details == "vocabulary +discount, -coupon"
    assert next(f for f in findings if f.kind == EXTRA_REMOTE).managed is False
    assert (
        find_remote_drift([PRICING], [remote(PRICING, "p1", vocabulary=["budget", "discount", "price"])])
        == []
    )


def test_unused_terms_are_the_terms_without_hits_matched_case_insensitively() -> None:
    window = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 8, 30, tzinfo=UTC))
    usage = TermUsage(*window, conversations=3, hits={("pricing", "price"): 4, ("competitors", "gong"): 1})
    unused = find_unused_terms([PRICING, COMPETITORS], usage)
    assert [(f.tracker_name, f.term) for f in unused] == [
        ("Pricing", "budget"),
        ("Pricing", "discount"),
        ("Competitors", "Chorus"),
    ]
    assert all(f.kind == UNUSED_TERM and "3 conversations" in f.details for f in unused)
    assert find_unused_terms([PRICING], TermUsage(None, None, 0, {})) == []


def test_file_validation_names_the_tracker_and_a_sync_needs_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert load_tracker_definitions(missing) == []
    with pytest.raises(TrackerFileError, match="not found"):
        load_tracker_definitions(missing, required=True)
    bad = tmp_path / "bad.yaml"
    bad.write_text("trackers:\n  - name: Deals\n    vocabulary: [price!, budget]\n")
    with pytest.raises(TrackerFileError, match=r"'Deals'.*punctuation"):
        load_tracker_definitions(bad)
    spaced = tmp_path / "ok.yaml"
    spaced.write_text("trackers:\n  - name: ' Deals '\n    vocabulary: ['  per   seat ']\n")
    assert load_tracker_definitions(spaced) == [Tracker("Deals", ("per seat",))]
