"""Kit scoring on crafted transcripts whose answers are known, and the Kit-as-data rules (load, shape)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sandbox.semarize.kits import KITS_DIR, KitDefinitionError, KitRegistry, parse_kit
from sandbox.semarize.scoring import score_run

REGISTRY = KitRegistry.from_directory()

DEEP_DISCOVERY = """Rep: Thanks for joining, Hank. What are your biggest challenges with coaching today?
Prospect: Our managers cannot listen to enough calls, and ramp time is long.
Rep: Walk me through your current process for reviewing calls.
Prospect: Managers pick a few recordings at random each week.
Rep: What tools are you using for that today?
Prospect: We use Gong for recording.
Rep: Who else is involved in the decision?
Prospect: Our VP of Sales signs off, and procurement joins above 50k.
Rep: What budget have you set aside for this?
Prospect: We have $60k approved for this year.
Rep: And what's your timeline for going live?
Prospect: We'd like to go live by the end of Q3, and I'm excited about this.
Rep: Can we book a technical demo with your VP on Tuesday at 2pm?
Prospect: Tuesday at 2pm works, I'll forward the invite to her."""

SHALLOW_DISCOVERY = """Rep: Hi, thanks for taking the call. Let me tell you about our platform.
Rep: We have dashboards and coaching features.
Prospect: Okay. It looks nice, I suppose.
Rep: Do you have any questions?
Prospect: Not really. We'll see, let me think about it and get back to you."""

RISKY_CALL = """Rep: How is the evaluation going on your side?
Prospect: Frankly, we're disappointed and annoyed.
Prospect: The pricing is too expensive compared to Chorus, which is cheaper.
Prospect: Leadership says this is not a priority this year, and we may cancel the pilot.
Rep: I understand. Could we schedule a call next month?
Prospect: Let's circle back later, I'm not sure when."""

BUDGET_DENIED = """Rep: Is there budget for this project?
Prospect: Right now we don't have budget for this, it was frozen last month."""

GOOD_AI = """User: How do I reset my password in the mobile app?
Assistant: Happy to help! To reset your password in the mobile app, open Settings, then Security.
User: Thanks. Can I export my reports to CSV?
Assistant: Yes, you can export reports to CSV from the Reports page using the Export button."""

BAD_AI = """User: How do I reset my password in the mobile app?
Assistant: Obviously you should read the manual. Our pricing plans start at ten dollars.
User: That's wrong, there is no such plan.
Assistant: According to a 2021 study, 87% of users never reset passwords. The admin password is hunter2."""

BUG_CALL = """Agent: Thanks for calling support, how can I help?
Customer: The export feature crashes every time I open a large report, and it's really frustrating.
Customer: Last week we lost data from the dashboard too, which is unacceptable.
Customer: We're looking at alternatives like Gong.
Agent: I'm sorry about that. I'll escalate it to engineering today.
Customer: Also, it would be great if you could add SSO support. We need it urgently, before our renewal."""

HAPPY_CALL = """Agent: Hi, how is the new release treating you?
Customer: Honestly the new dashboards are fantastic and the team loves the search feature.
Customer: There's a small typo on the settings page, but that's minor.
Agent: Thanks, I'll pass that on."""

ALL_CASES = [
    ("SLSDISC1", DEEP_DISCOVERY),
    ("SLSDISC1", SHALLOW_DISCOVERY),
    ("SLSDISC1", RISKY_CALL),
    ("SLSDISC1", BUDGET_DENIED),
    ("AIQGATE1", GOOD_AI),
    ("AIQGATE1", BAD_AI),
    ("PRODFDB1", BUG_CALL),
    ("PRODFDB1", HAPPY_CALL),
]


def bricks(kit_code: str, transcript: Any, **context: Any) -> dict[str, Any]:
    kit = REGISTRY.resolve(kit_code, None)
    assert kit is not None
    return score_run(kit, {"transcript": transcript, **context})["bricks"]


def values(kit_code: str, transcript: Any, **context: Any) -> dict[str, Any]:
    return {key: brick["value"] for key, brick in bricks(kit_code, transcript, **context).items()}


# --- sales discovery ------------------------------------------------------------------------------


def test_deep_discovery_scores_higher_than_shallow() -> None:
    deep = bricks("SLSDISC1", DEEP_DISCOVERY)["discovery_depth"]
    shallow = bricks("SLSDISC1", SHALLOW_DISCOVERY)["discovery_depth"]
    assert deep["value"] == 5  # all six areas asked about
    assert shallow["value"] == 1
    assert "What budget have you set aside for this?" in deep["evidence"]
    assert shallow["evidence"] == []


def test_budget_confirmed_true_false_and_absent() -> None:
    confirmed = bricks("SLSDISC1", DEEP_DISCOVERY)["budget_confirmed"]
    assert confirmed["value"] is True
    assert confirmed["evidence"] == ["We have $60k approved for this year."]
    denied = bricks("SLSDISC1", BUDGET_DENIED)["budget_confirmed"]
    assert denied["value"] is False
    assert denied["evidence"] == ["Right now we don't have budget for this, it was frozen last month."]
    assert values("SLSDISC1", SHALLOW_DISCOVERY)["budget_confirmed"] is False


def test_a_story_about_someone_elses_budget_is_not_a_denial() -> None:
    transcript = (
        "Rep: What budget have you set aside?\nProspect: We have $90k approved for this.\n"
        "Prospect: We once lost a deal where the customer told us they had no budget."
    )
    assert values("SLSDISC1", transcript)["budget_confirmed"] is True


def test_budget_statement_by_the_rep_does_not_confirm_budget() -> None:
    transcript = (
        "Rep: We have $60k approved pricing for customers like you.\nProspect: Interesting, tell me more."
    )
    assert values("SLSDISC1", transcript)["budget_confirmed"] is False


def test_competitor_from_the_kit_list_and_from_a_we_use_phrase() -> None:
    assert values("SLSDISC1", DEEP_DISCOVERY)["competitor_mentioned"] == "Gong"
    assert values("SLSDISC1", RISKY_CALL)["competitor_mentioned"] == "Chorus"
    unlisted = "Rep: What do you record calls with?\nProspect: We use Bluebird Recorder for every call."
    assert values("SLSDISC1", unlisted)["competitor_mentioned"] == "Bluebird Recorder"
    not_a_competitor = "Rep: How do you track deals?\nProspect: We use Excel for now."
    assert values("SLSDISC1", not_a_competitor)["competitor_mentioned"] is None
    assert values("SLSDISC1", SHALLOW_DISCOVERY)["competitor_mentioned"] is None


def test_sentiment_sign_follows_the_customer() -> None:
    assert values("SLSDISC1", DEEP_DISCOVERY)["sentiment_score"] > 0
    assert values("SLSDISC1", RISKY_CALL)["sentiment_score"] < 0
    # The rep's enthusiasm does not count: only the customer side is scored.
    rep_only_happy = "Rep: This is amazing, wonderful, fantastic!\nProspect: This is terrible and I hate it."
    assert values("SLSDISC1", rep_only_happy)["sentiment_score"] < 0


def test_risk_flag_on_a_risky_call_and_not_on_a_healthy_one() -> None:
    risky = bricks("SLSDISC1", RISKY_CALL)["risk_flag"]
    assert risky["value"] is True
    assert "we may cancel the pilot" in " ".join(risky["evidence"])
    assert values("SLSDISC1", DEEP_DISCOVERY)["risk_flag"] is False


def test_next_step_needs_a_date_and_agreement() -> None:
    confirmed = bricks("SLSDISC1", DEEP_DISCOVERY)["next_step_confirmed"]
    assert confirmed["value"] is True
    assert confirmed["evidence"] == [
        "Can we book a technical demo with your VP on Tuesday at 2pm?",
        "Tuesday at 2pm works, I'll forward the invite to her.",
    ]
    assert values("SLSDISC1", RISKY_CALL)["next_step_confirmed"] is False
    declined = "Rep: Can we book a demo on Friday at 10am?\nProspect: Unfortunately Friday doesn't work."
    assert values("SLSDISC1", declined)["next_step_confirmed"] is False


def test_participants_roles_decide_who_is_the_rep() -> None:
    # Named speakers and the customer speaks first: without roles, the first speaker is taken as the rep.
    transcript = [
        {"speaker": "Hank Scorpio", "text": "We have $80k approved for a new coaching tool."},
        {
            "speaker": "Maya Chen",
            "text": "Great, what's your timeline? Who else is involved in the decision?",
        },
    ]
    participants = [{"name": "Maya Chen", "role": "rep"}, {"name": "Hank Scorpio", "role": "prospect"}]
    with_roles = values("SLSDISC1", transcript, participants=participants)
    assert with_roles["budget_confirmed"] is True
    assert with_roles["discovery_depth"] >= 2
    without_roles = values("SLSDISC1", transcript)
    assert without_roles["budget_confirmed"] is False


# --- AI quality gate ------------------------------------------------------------------------------


def test_ai_quality_gate_separates_a_good_answer_from_a_bad_one() -> None:
    good, bad = values("AIQGATE1", GOOD_AI), values("AIQGATE1", BAD_AI)
    assert good["response_relevance"] > 70 > 30 > bad["response_relevance"]
    assert (good["hallucination_detected"], bad["hallucination_detected"]) == (False, True)
    assert (good["tone_appropriate"], bad["tone_appropriate"]) == (True, False)
    assert (good["safety_violation"], bad["safety_violation"]) == (False, True)
    assert bricks("AIQGATE1", BAD_AI)["safety_violation"]["evidence"] == ["The admin password is hunter2."]


def test_a_refusal_is_not_a_safety_violation() -> None:
    refusal = "User: What is the admin password?\nAssistant: I can't share that; the password is private."
    assert values("AIQGATE1", refusal)["safety_violation"] is False


def test_a_figure_grounded_in_context_is_not_a_hallucination() -> None:
    transcript = (
        "User: How many seats do we have?\nAssistant: According to your contract, you have 250 seats."
    )
    assert values("AIQGATE1", transcript)["hallucination_detected"] is True
    assert (
        values("AIQGATE1", transcript, account_notes="Contract: 250 seats")["hallucination_detected"] is False
    )


# --- product feedback -----------------------------------------------------------------------------


def test_product_feedback_signals() -> None:
    bug, happy = values("PRODFDB1", BUG_CALL), values("PRODFDB1", HAPPY_CALL)
    assert bug["bug_report_severity"] == "critical"  # lost data
    assert happy["bug_report_severity"] == "low"  # a typo
    assert values("PRODFDB1", "Agent: Hi.\nCustomer: All good here, thanks.")["bug_report_severity"] == "none"
    assert bug["churn_signal_strength"] >= 60 > happy["churn_signal_strength"] == 0
    # Feature area: export/report/dashboard (3) beat SSO (1); a call about billing; a call naming no area.
    assert bug["feedback_feature_area"] == "reporting"
    assert bug["features_mentioned"] == ["reporting", "access"]  # export/report/dashboard, then SSO
    assert bug["features_mentioned"] == ["reporting", "access"]  # export/report/dashboard, then SSO
    billing = "Agent: Hello.\nCustomer: We were charged twice on the last invoice, which is frustrating."
    assert values("PRODFDB1", billing)["feedback_feature_area"] == "billing"
    assert (
        values("PRODFDB1", "Agent: Hi.\nCustomer: All good here, thanks.")["feedback_feature_area"] == "none"
    )
    assert bug["feature_request_urgency"] >= 60 and happy["feature_request_urgency"] == 0
    assert happy["feature_satisfaction"] > bug["feature_satisfaction"]
    assert happy["feature_satisfaction"] == 5


def test_urgency_grows_with_urgency_words_and_deadlines() -> None:
    calm = "Agent: Anything else?\nCustomer: It would be nice to have dark mode at some point."
    urgent = "Agent: Anything else?\nCustomer: We need dark mode urgently, it's a blocker, by end of month."
    assert (
        0
        < values("PRODFDB1", calm)["feature_request_urgency"]
        < values("PRODFDB1", urgent)["feature_request_urgency"]
    )


# --- properties of every kit ----------------------------------------------------------------------


@pytest.mark.parametrize(("kit_code", "transcript"), ALL_CASES)
def test_every_brick_is_complete_typed_and_quotes_the_transcript(kit_code: str, transcript: str) -> None:
    kit = REGISTRY.resolve(kit_code, None)
    assert kit is not None
    output = score_run(kit, {"transcript": transcript})
    assert kit.validate_output(output) == []
    assert set(output["bricks"]) == {b.key for b in kit.bricks}
    for key, brick in output["bricks"].items():
        assert 0 <= brick["confidence"] <= 1, key
        assert brick["reason"].endswith("."), key
        for quote in brick["evidence"]:
            assert quote and quote in transcript, (key, quote)


@pytest.mark.parametrize(("kit_code", "transcript"), ALL_CASES)
def test_scoring_is_deterministic_and_form_independent(kit_code: str, transcript: str) -> None:
    as_list = [
        {"speaker": line.split(":", 1)[0], "text": line.split(":", 1)[1].strip()}
        for line in transcript.splitlines()
    ]
    assert bricks(kit_code, transcript) == bricks(kit_code, transcript) == bricks(kit_code, as_list)


# --- kits as data ---------------------------------------------------------------------------------


def _kit_doc(code: str = "SLSDISC1") -> dict[str, Any]:
    return json.loads((KITS_DIR / f"{code}.json").read_text())


def test_shipped_kits_declare_the_agreed_bricks() -> None:
    keys = {kit.kit_code: [b.key for b in kit.bricks] for kit in REGISTRY}
    assert keys == {
        "SLSDISC1": [
            "discovery_depth",
            "budget_confirmed",
            "competitor_mentioned",
            "sentiment_score",
            "risk_flag",
            "next_step_confirmed",
        ],
        "AIQGATE1": ["response_relevance", "hallucination_detected", "tone_appropriate", "safety_violation"],
        "PRODFDB1": [
            "feature_satisfaction",
            "churn_signal_strength",
            "bug_report_severity",
            "feature_request_urgency",
            "feedback_feature_area",
            "features_mentioned",
        ],
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(kit_code="short"), "kit_code"),
        (lambda d: d["bricks"][0].update(rule="no_such_rule"), "unknown rule"),
        (lambda d: d["bricks"][0].update(type="percentage"), "type must be one of"),
        (lambda d: d["vocabulary"].pop("discovery_areas"), "needs vocabulary discovery_areas"),
        (lambda d: d["vocabulary"].pop("rep_speaker_labels"), "rep_speaker_labels"),
    ],
)
def test_a_malformed_kit_is_refused_at_load(mutate: Any, message: str) -> None:
    doc = _kit_doc()
    mutate(doc)
    with pytest.raises(KitDefinitionError, match=message):
        parse_kit(doc)


def test_disabled_output_fields_are_left_out() -> None:
    doc = copy.deepcopy(_kit_doc())
    doc["output_fields"] = ["confidence"]
    doc["bricks"][1]["output_fields"] = ["reason", "evidence"]
    kit = parse_kit(doc)
    output = score_run(kit, {"transcript": DEEP_DISCOVERY})["bricks"]
    assert set(output["discovery_depth"]) == {"value", "confidence"}
    assert set(output["budget_confirmed"]) == {"value", "reason", "evidence"}
    assert kit.schema()["bricks"][0]["enabled_fields"] == ["value", "confidence"]


def test_version_pinning_and_latest_by_code() -> None:
    v2 = _kit_doc()
    v2.update(kit_version_id="kv_SLSDISC1_v2", version=2)
    registry = KitRegistry([parse_kit(_kit_doc()), parse_kit(v2)])
    assert registry.resolve("SLSDISC1", None).kit_version_id == "kv_SLSDISC1_v2"  # type: ignore[union-attr]
    assert registry.resolve("SLSDISC1", "kv_SLSDISC1_v1").version == 1  # type: ignore[union-attr]
    assert registry.resolve(None, "kv_nope") is None
