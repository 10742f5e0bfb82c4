"""The sandbox's text intelligence on crafted conversations whose right answers are known."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sandbox.intelligence import AnalysisOptions, ConversationInsights, analyze
from sandbox.intelligence.dates import find_dates
from sandbox.intelligence.members import Roster
from sandbox.intelligence.segmentation import segment, split_sentences
from sandbox.intelligence.topics import YAKE_WORD_BUDGET, keyphrases, sample_text
from sandbox.transcript import Speaker, Utterance

MONDAY = datetime(2026, 4, 6, 15, 0, tzinfo=UTC)  # a Monday
MAYA = Speaker("Maya Chen", "maya.chen@lumen.example")
HANK = Speaker("Hank Scorpio", "hank@globex.example")
LISA = Speaker("Lisa Park", "lisa@globex.example")
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def discovery_call() -> list[Utterance]:
    return [
        Utterance(MAYA, "Thanks for the time, Hank. How are you handling onboarding at Globex?", 0, 6),
        Utterance(HANK, "Spreadsheets, and honestly it is a terrible, painful mess for the team.", 6.5, 12),
        Utterance(MAYA, "I'll send you the onboarding proposal by Friday.", 12.5, 16),
        Utterance(HANK, "That is wonderful, we love how simple your onboarding workflow looks.", 16.5, 21),
        Utterance(MAYA, "Can you loop in your CFO next week? Our list price is $48,000 per year.", 21.5, 28),
        Utterance(HANK, "We might revisit the pricing model with procurement at some point.", 28.5, 33),
        Utterance(MAYA, "I will share our security docs tomorrow. Email maya.chen@lumen.example.", 33.5, 40),
        Utterance(HANK, "Let's schedule a follow-up call to review the onboarding pricing model.", 40.5, 45),
        Utterance(MAYA, "Maya will prepare the SOW for the onboarding rollout.", 45.5, 49),
    ]  # fmt: skip


def by_text(items: list[dict], fragment: str) -> dict:
    matches = [item for item in items if fragment in str(item["text"])]
    assert len(matches) == 1, f"expected one item containing {fragment!r}, got {[i['text'] for i in items]}"
    return matches[0]


@pytest.fixture(scope="module")
def insights() -> ConversationInsights:
    options = AnalysisOptions(
        detect_entities=True,
        custom_entities=(
            {"customType": "Product", "value": "Onboarding Suite", "text": "onboarding workflow"},
        ),
        trackers=(
            {"id": "trk-pricing", "name": "Pricing", "vocabulary": ["pricing model", "list price", "CFO"]},
        ),
        enable_summary=True,
    )
    return analyze("conv-1", MONDAY, discovery_call(), options)


# --- questions


def test_question_is_found_and_attributed_to_its_speaker(insights: ConversationInsights) -> None:
    question = by_text(insights.questions, "How are you handling onboarding")
    assert question["from"]["name"] == "Maya Chen"
    assert question["type"] == "question"
    message = next(m for m in insights.messages if m["id"] == question["messageIds"][0])
    assert message["text"] == question["text"]


def test_statements_are_not_questions(insights: ConversationInsights) -> None:
    texts = [q["text"] for q in insights.questions]
    assert not any("terrible" in t or "I'll send" in t for t in texts)


def test_a_request_phrased_as_a_question_is_an_action_item_not_a_question(
    insights: ConversationInsights,
) -> None:
    assert not any("loop in your CFO" in q["text"] for q in insights.questions)
    assert by_text(insights.action_items, "loop in your CFO")


# --- action items


def test_first_person_commitment_is_assigned_to_the_speaker_with_friday_due_date(
    insights: ConversationInsights,
) -> None:
    item = by_text(insights.action_items, "I'll send you the onboarding proposal")
    assert item["assignee"] == {"name": "Maya Chen", "email": "maya.chen@lumen.example"}
    assert item["dueBy"] == "2026-04-10T00:00:00.000Z"  # the Friday after Monday 2026-04-06
    assert item["definitive"] is True
    assert item["phrases"] == [
        {"type": "action_phrase", "text": "send you the onboarding proposal by Friday"}
    ]


def test_can_you_request_is_assigned_to_the_other_party_due_next_week(insights: ConversationInsights) -> None:
    item = by_text(insights.action_items, "Can you loop in your CFO")
    assert item["assignee"]["name"] == "Hank Scorpio"
    assert item["from"]["name"] == "Maya Chen"
    assert item["dueBy"] == "2026-04-13T00:00:00.000Z"  # Monday of next week


def test_tomorrow_resolves_against_the_conversation_start(insights: ConversationInsights) -> None:
    item = by_text(insights.action_items, "share our security docs")
    assert item["dueBy"] == "2026-04-07T00:00:00.000Z"
    assert item["assignee"]["name"] == "Maya Chen"


def test_named_participant_is_the_assignee(insights: ConversationInsights) -> None:
    item = by_text(insights.action_items, "prepare the SOW")
    assert item["assignee"]["name"] == "Maya Chen"
    person = next(e for e in item["entities"] if e["type"] == "person")
    assert person["value"] == {"assignee": True, "name": "Maya Chen"}
    assert item["text"][person["offset"] : person["offset"] + len(person["text"])] == person["text"]
    assert "dueBy" not in item  # no date was said


def test_hedged_commitment_is_not_definitive_and_scores_lower(insights: ConversationInsights) -> None:
    hedged = by_text(insights.action_items, "revisit the pricing model")
    firm = by_text(insights.action_items, "I'll send you the onboarding proposal")
    assert hedged["definitive"] is False
    assert firm["definitive"] is True
    assert hedged["score"] < firm["score"]


def test_confidence_threshold_drops_low_scoring_insights() -> None:
    strict = analyze("conv-1", MONDAY, discovery_call(), AnalysisOptions(confidence_threshold=0.85))
    texts = [a["text"] for a in strict.action_items]
    assert not any("revisit the pricing model" in t for t in texts)
    assert any("I'll send you the onboarding proposal" in t for t in texts)
    assert all(float(item["score"]) >= 0.85 for item in [*strict.action_items, *strict.questions])


def test_you_resolves_to_the_addressed_person_in_a_three_party_call() -> None:
    utterances = [
        Utterance(MAYA, "Welcome both of you to the call.", 0, 3),
        Utterance(LISA, "Thanks for having us.", 3, 4),
        Utterance(HANK, "Glad to be here.", 4, 5),  # the last other speaker is Hank, but Maya addresses Lisa
        Utterance(MAYA, "Lisa, can you send the security questionnaire by Thursday?", 5, 9),
    ]
    item = analyze("conv-3", MONDAY, utterances).action_items[0]
    assert item["assignee"]["name"] == "Lisa Park"
    assert item["dueBy"] == "2026-04-09T00:00:00.000Z"


def test_non_actions_are_not_action_items() -> None:
    utterances = [
        Utterance(MAYA, "I think the product is a good fit for you.", 0, 3),
        Utterance(HANK, "I can see why other teams like it.", 3, 6),
        Utterance(MAYA, "Let's talk about your current process first.", 6, 9),
        Utterance(HANK, "I sent the contract last week.", 9, 12),
    ]
    assert analyze("conv-4", MONDAY, utterances).action_items == []


def test_due_dates_use_the_conversations_time_zone() -> None:
    pacific = timezone(timedelta(hours=-7))
    late_evening = datetime(2026, 4, 6, 22, 0, tzinfo=pacific)  # already Tuesday 05:00 in UTC
    utterances = [Utterance(MAYA, "I'll send you the proposal tomorrow.", 0, 3)]
    item = analyze("conv-tz", late_evening, utterances).action_items[0]
    # Tomorrow is Tuesday 7 April in the call's zone; midnight Pacific is 07:00 UTC (Symbl's example shape).
    assert item["dueBy"] == "2026-04-07T07:00:00.000Z"


# --- follow-ups


def test_follow_up_is_detected_and_also_listed_as_an_action_item(insights: ConversationInsights) -> None:
    follow_up = by_text(insights.follow_ups, "schedule a follow-up call")
    assert follow_up["type"] == "follow_up"
    assert follow_up["assignee"]["name"] == "Hank Scorpio"
    as_action = by_text(insights.action_items, "schedule a follow-up call")
    assert as_action["messageIds"] == follow_up["messageIds"]
    assert as_action["id"] != follow_up["id"]
    # Every follow-up is an action item; not every action item is a follow-up.
    action_message_ids = {tuple(a["messageIds"]) for a in insights.action_items}
    assert all(tuple(f["messageIds"]) in action_message_ids for f in insights.follow_ups)
    assert not any("onboarding proposal" in f["text"] for f in insights.follow_ups)


# --- sentiment


def test_sentiment_sign_matches_clearly_positive_and_negative_lines(insights: ConversationInsights) -> None:
    negative = by_text(insights.messages, "terrible, painful mess")
    positive = by_text(insights.messages, "we love how simple")
    assert negative["sentiment"]["polarity"]["score"] < -0.3
    assert negative["sentiment"]["suggested"] == "negative"
    assert positive["sentiment"]["polarity"]["score"] > 0.3
    assert positive["sentiment"]["suggested"] == "positive"


# --- messages


def test_long_utterances_are_split_into_sentence_messages_that_tile_the_utterance(
    insights: ConversationInsights,
) -> None:
    first = by_text(insights.messages, "Can you loop in your CFO")
    second = by_text(insights.messages, "Our list price")
    assert first["text"] == "Can you loop in your CFO next week?"
    assert first["timeOffset"] == 21.5
    assert first["timeOffset"] + first["duration"] == pytest.approx(second["timeOffset"], abs=0.002)
    assert second["timeOffset"] + second["duration"] == pytest.approx(28.0, abs=0.002)
    assert first["endTime"] == second["startTime"]


def test_words_are_spread_evenly_across_the_message(insights: ConversationInsights) -> None:
    message = by_text(insights.messages, "I'll send you the onboarding proposal")
    words = message["words"]
    assert [w["word"] for w in words] == [
        "I'll",
        "send",
        "you",
        "the",
        "onboarding",
        "proposal",
        "by",
        "Friday",
    ]
    durations = {w["duration"] for w in words}
    assert max(durations) - min(durations) <= 0.002
    assert words[0]["timeOffset"] == message["timeOffset"]
    assert words[-1]["timeOffset"] + words[-1]["duration"] == pytest.approx(16.0, abs=0.002)
    assert {w["speakerTag"] for w in words} == {1}


def test_sentence_splitting_keeps_abbreviations_and_decimals_together() -> None:
    assert split_sentences("Dr. Smith joined at 3.5 p.m. today. Then we left! Ok?") == [
        "Dr. Smith joined at 3.5 p.m. today.",
        "Then we left!",
        "Ok?",
    ]


def test_utterances_are_ordered_by_start_time() -> None:
    utterances = [Utterance(HANK, "Second thing said.", 5, 7), Utterance(MAYA, "First thing said.", 0, 2)]
    messages = segment("c", utterances, Roster("c", utterances))
    assert [m.text for m in messages] == ["First thing said.", "Second thing said."]


# --- analytics


def test_talk_and_silence_add_up_to_the_duration_and_overlap_is_measured() -> None:
    utterances = [
        Utterance(MAYA, "one two three four five six seven eight nine ten", 2.0, 12.0),  # 10 s, 10 words
        Utterance(HANK, "I overlap with Maya here for a while", 9.0, 15.0),  # overlaps Maya by 3 s
        Utterance(MAYA, "and again after a pause", 20.0, 24.0),
    ]
    analytics = analyze("conv-a", MONDAY, utterances).analytics
    metrics = {m["type"]: m for m in analytics["metrics"]}
    duration = 24.0
    assert metrics["total_talk_time"]["seconds"] == pytest.approx(17.0)  # union: 2-15 and 20-24
    assert metrics["total_silence"]["seconds"] == pytest.approx(7.0)  # 0-2 and 15-20
    assert metrics["total_talk_time"]["seconds"] + metrics["total_silence"]["seconds"] == pytest.approx(
        duration
    )
    assert metrics["total_talk_time"]["percent"] + metrics["total_silence"]["percent"] == pytest.approx(100.0)
    assert metrics["total_overlap"]["seconds"] == pytest.approx(3.0)
    assert metrics["total_overlap"]["percent"] == pytest.approx(100 * 3 / duration, abs=0.001)

    members = {m["name"]: m for m in analytics["members"]}
    maya, hank = members["Maya Chen"], members["Hank Scorpio"]
    assert maya["talkTime"]["seconds"] == pytest.approx(14.0)
    assert hank["talkTime"]["seconds"] == pytest.approx(6.0)
    assert maya["listenTime"]["seconds"] == pytest.approx(3.0)  # Hank talks alone from 12 to 15
    assert hank["listenTime"]["seconds"] == pytest.approx(11.0)
    for member in (maya, hank):
        assert member["talkTime"]["percentage"] + member["listenTime"]["percentage"] == pytest.approx(100.0)
    assert maya["pace"]["wpm"] == round(15 * 60 / 14)
    assert maya["overlap"]["overlapDuration"] == pytest.approx(3.0)
    pair = maya["overlap"]["overlappingMembers"][0]
    assert pair["name"] == "Hank Scorpio"
    assert pair["seconds"] == pytest.approx(3.0)
    assert pair["percent"] == pytest.approx(100 * 3 / (14 + 6), abs=0.001)


def test_members_without_overlap_have_an_empty_overlap_object() -> None:
    utterances = [Utterance(MAYA, "Hello there.", 0, 2), Utterance(HANK, "Hi.", 3, 4)]
    analytics = analyze("conv-b", MONDAY, utterances).analytics
    assert all(m["overlap"] == {} for m in analytics["members"])
    assert {m["type"]: m["seconds"] for m in analytics["metrics"]}["total_overlap"] == 0


# --- trackers


def test_tracker_offsets_point_at_the_term(insights: ConversationInsights) -> None:
    [tracker] = insights.trackers
    assert tracker["id"] == "trk-pricing"
    assert tracker["name"] == "Pricing"
    by_term = {m["value"]: m for m in tracker["matches"]}
    assert set(by_term) == {"pricing model", "list price", "CFO"}
    message_text = {m["id"]: m["text"] for m in insights.messages}
    for term, match in by_term.items():
        assert match["type"] == "vocabulary"
        assert match["messageRefs"], term
        for ref in match["messageRefs"]:
            assert ref["text"] == message_text[ref["id"]]
            assert ref["text"][ref["offset"] : ref["offset"] + len(term)].lower() == term.lower()
    assert len(by_term["pricing model"]["messageRefs"]) == 2
    insight_types = {ref["type"] for ref in by_term["pricing model"]["insightRefs"]}
    assert insight_types == {"action_item", "follow_up"}
    for ref in by_term["pricing model"]["insightRefs"]:
        assert ref["text"][ref["offset"] : ref["offset"] + len("pricing model")].lower() == "pricing model"


def test_tracker_matches_whole_words_only_and_reports_inflections_as_semantic() -> None:
    utterances = [
        Utterance(MAYA, "Our renewals team handles that.", 0, 3),
        Utterance(HANK, "The prerenewal call was fine, and the renewal is due.", 3, 7),
    ]
    trackers = ({"id": "t", "name": "Renewal", "vocabulary": ["renewal"]},)
    [tracker] = analyze("conv-t", MONDAY, utterances, AnalysisOptions(trackers=trackers)).trackers
    refs = tracker["matches"][0]["messageRefs"]
    second = utterances[1].text
    assert [(r["text"], r["offset"]) for r in refs] == [
        (utterances[0].text, -1),  # "renewals": an inflection, not the exact term
        (second, second.index(" renewal ") + 1),  # "prerenewal" is not a whole-word match
    ]


def test_trackers_without_matches_are_not_reported() -> None:
    trackers = ({"id": "t", "name": "Competitors", "vocabulary": ["Initech"]},)
    assert analyze("c", MONDAY, discovery_call(), AnalysisOptions(trackers=trackers)).trackers == []


# --- entities


def _entity(insights: ConversationInsights, kind: str, value: str) -> dict:
    matches = [e for e in insights.entities if e["type"] == kind and e["value"] == value]
    assert len(matches) == 1, [(e["type"], e["value"]) for e in insights.entities]
    return matches[0]


def _assert_offsets(entity: dict, surface: str) -> None:
    assert entity["messageRefs"]
    for ref in entity["messageRefs"]:
        assert ref["text"][ref["offset"] : ref["offset"] + len(surface)] == surface
    for match in entity["matches"]:
        for ref in match["messageRefs"]:
            assert (
                ref["text"][ref["offset"] : ref["offset"] + len(match["detectedValue"])]
                == match["detectedValue"]
            )
            assert ISO_UTC.match(ref["startTime"]) and ISO_UTC.match(ref["endTime"])


def test_money_entity_is_normalised_with_exact_offset(insights: ConversationInsights) -> None:
    money = _entity(insights, "money", "48000 USD")
    assert money["text"] == "$48,000"
    assert money["category"] == "Managed"
    _assert_offsets(money, "$48,000")


def test_date_entities_resolve_against_the_start(insights: ConversationInsights) -> None:
    friday = _entity(insights, "date", "2026-04-10")
    assert friday["text"] == "Friday"
    _assert_offsets(friday, "Friday")
    _assert_offsets(_entity(insights, "date", "2026-04-07"), "tomorrow")


def test_email_and_custom_entities_are_detected(insights: ConversationInsights) -> None:
    email = _entity(insights, "email", "maya.chen@lumen.example")
    _assert_offsets(email, "maya.chen@lumen.example")
    custom = _entity(insights, "Product", "Onboarding Suite")
    assert custom["category"] == "Custom"
    assert custom["customType"] == "Product"
    assert custom["subType"] == "Onboarding Suite"
    assert custom["matches"][0]["detectedValue"] == "onboarding workflow"
    _assert_offsets(custom, "onboarding workflow")


def test_people_and_organisations_are_detected(insights: ConversationInsights) -> None:
    hank = _entity(insights, "person", "Hank Scorpio")
    _assert_offsets(hank, "Hank")
    globex = _entity(insights, "organization", "Globex")  # from Hank's email domain, said aloud
    _assert_offsets(globex, "Globex")


def test_more_entity_kinds() -> None:
    utterances = [
        Utterance(MAYA, "Call me on (415) 555-0132 about the 12.5% uplift.", 0, 4),
        Utterance(
            HANK, "Initech GmbH quoted 1.2 million dollars, we budgeted 50k and 20 EUR per seat.", 4, 9
        ),
    ]
    found = analyze("conv-e", MONDAY, utterances, AnalysisOptions(detect_entities=True))
    pairs = {(e["type"], e["value"]) for e in found.entities}
    assert {
        ("phone_number", "4155550132"),
        ("percentage", "12.5%"),
        ("organization", "Initech GmbH"),
        ("money", "1200000 USD"),
        ("money", "50000 USD"),
        ("money", "20 EUR"),
    } <= pairs


def test_entities_are_empty_without_detect_entities() -> None:
    assert analyze("conv-1", MONDAY, discovery_call()).entities == []


# --- topics and summary


def test_topics_come_from_the_text_with_mentions_scores_and_sentiment(insights: ConversationInsights) -> None:
    topics = {t["text"]: t for t in insights.topics}
    assert "onboarding" in topics
    message_text = {m["id"]: m["text"] for m in insights.messages}
    for topic in insights.topics:
        assert 0 < topic["score"] <= 1
        assert topic["messageIds"]
        assert all(topic["text"] in message_text[i].lower() for i in topic["messageIds"])
        assert topic["sentiment"]["suggested"] in {"positive", "neutral", "negative"}
    scores = [t["score"] for t in insights.topics]
    assert scores == sorted(scores, reverse=True)
    onboarding_mentions = [i for i, text in message_text.items() if "onboarding" in text.lower()]
    assert topics["onboarding"]["messageIds"] == onboarding_mentions
    for topic in insights.topics:
        for parent in topic["parentRefs"]:
            assert parent["type"] == "topic" and parent["text"] in topic["text"] and parent["text"] in topics


def test_yake_sees_a_bounded_sample_spanning_the_whole_call() -> None:
    utterances = [
        Utterance(MAYA, f"Sentence number {i} talks about widget {i} in some detail today.", i * 5, i * 5 + 4)
        for i in range(600)
    ]
    messages = segment("c", utterances, Roster("c", utterances))
    sample = sample_text(messages)
    assert len(sample.split()) <= YAKE_WORD_BUDGET
    assert "widget 0 " in sample
    assert any(f"widget {i} " in sample for i in range(550, 600))  # the end of the call is represented too


def test_reanalysis_after_a_speaker_rename_reuses_the_keyphrases_and_drops_the_new_names() -> None:
    call = discovery_call()
    first = analyze("conv-rename", MONDAY, call)
    before = keyphrases.cache_info()
    renamed = Speaker("Onboarding Pricing", "op@globex.example")  # a name made of the call's own topic words
    again = analyze(
        "conv-rename",
        MONDAY,
        [u if u.speaker != HANK else Utterance(renamed, u.text, u.start, u.end) for u in call],
    )
    after = keyphrases.cache_info()
    assert after[:2] == (before[0] + 1, before[1])  # YAKE did not run again
    first_topics = {t["text"] for t in first.topics}
    assert "onboarding" in first_topics
    # The cached candidates are filtered against the roster of this analysis, not the first one's.
    assert not any(w in {"onboarding", "pricing"} for t in again.topics for w in str(t["text"]).split())


def test_summary_is_extractive_in_time_order_with_message_refs(insights: ConversationInsights) -> None:
    assert 3 <= len(insights.summary) <= 6
    message_by_id = {m["id"]: m for m in insights.messages}
    offsets = []
    for item in insights.summary:
        [ref] = item["messageRefs"]
        assert item["text"] == message_by_id[ref["id"]]["text"]
        assert item["startTime"] == message_by_id[ref["id"]]["startTime"]
        offsets.append(message_by_id[ref["id"]]["timeOffset"])
    assert offsets == sorted(offsets)
    assert any("I'll send you the onboarding proposal" in s["text"] for s in insights.summary)


def test_summary_is_empty_unless_enabled() -> None:
    assert analyze("conv-1", MONDAY, discovery_call()).summary == []


# --- dates


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("by Friday", date(2026, 4, 10)),
        ("on Monday", date(2026, 4, 13)),  # a bare weekday is strictly after today
        ("next Friday", date(2026, 4, 17)),
        ("this Wednesday", date(2026, 4, 8)),
        ("tomorrow", date(2026, 4, 7)),
        ("the day after tomorrow", date(2026, 4, 8)),
        ("next week", date(2026, 4, 13)),
        ("end of the week", date(2026, 4, 10)),
        ("end of the month", date(2026, 4, 30)),
        ("end of the quarter", date(2026, 6, 30)),
        ("in two weeks", date(2026, 4, 20)),
        ("in 3 days", date(2026, 4, 9)),
        ("a week from today", date(2026, 4, 13)),
        ("March 3rd", date(2026, 3, 3)),
        ("the 14th of May", date(2026, 5, 14)),
        ("3/14", date(2026, 3, 14)),
        ("2026-05-01", date(2026, 5, 1)),
        ("January 5th", date(2026, 1, 5)),
    ],
)
def test_date_expressions_resolve_against_a_monday(phrase: str, expected: date) -> None:
    [mention] = find_dates(f"We will do it {phrase}.", date(2026, 4, 6))
    assert mention.value == expected
    assert mention.text.lower().endswith(phrase.split()[-1].lower())


def test_month_day_without_year_rolls_into_next_year_when_long_past() -> None:
    [mention] = find_dates("Let's restart on January 5th.", date(2026, 12, 10))
    assert mention.value == date(2027, 1, 5)


def test_may_as_a_verb_is_not_a_date() -> None:
    assert find_dates("We may need more time.", date(2026, 4, 6)) == []


# --- contract shape and determinism

REQUIRED_FIELDS = {
    "messages": {"id", "text", "from", "startTime", "endTime", "timeOffset", "duration", "conversationId",
                 "phrases", "sentiment", "words"},
    "topics": {"id", "text", "type", "score", "messageIds", "sentiment", "parentRefs"},
    "action_items": {"id", "text", "type", "score", "messageIds", "entities", "phrases", "from", "definitive",
                     "assignee"},
    "follow_ups": {"id", "text", "type", "score", "messageIds", "entities", "phrases", "from", "definitive",
                   "assignee"},
    "questions": {"id", "text", "type", "score", "messageIds", "from"},
    "entities": {"id", "type", "subType", "category", "matches", "value", "text", "messageRefs"},
    "summary": {"id", "text", "messageRefs", "startTime", "endTime"},
    "members": {"id", "name"},
}  # fmt: skip


def test_every_item_has_the_fields_both_generations_need(insights: ConversationInsights) -> None:
    for attribute, fields in REQUIRED_FIELDS.items():
        items = getattr(insights, attribute)
        assert items, attribute
        for item in items:
            assert fields <= set(item), (attribute, fields - set(item))
    for message in insights.messages:
        assert ISO_UTC.match(message["startTime"]) and ISO_UTC.match(message["endTime"])
        assert set(message["from"]) >= {"id", "name"}
        assert set(message["sentiment"]) == {"polarity", "suggested"}
        for word in message["words"]:
            assert {"word", "startTime", "endTime", "score", "timeOffset", "duration", "speakerTag"} <= set(
                word
            )
    for item in [*insights.action_items, *insights.follow_ups]:
        if "dueBy" in item:
            assert ISO_UTC.match(item["dueBy"])
    for tracker in insights.trackers:
        assert {"id", "name", "matches"} <= set(tracker)
        for match in tracker["matches"]:
            assert {"type", "value", "messageRefs", "insightRefs"} <= set(match)
    assert {m["type"] for m in insights.analytics["metrics"]} == {
        "total_silence",
        "total_talk_time",
        "total_overlap",
    }
    for member in insights.analytics["members"]:
        assert {"id", "name", "userId", "pace", "talkTime", "listenTime", "overlap"} <= set(member)
    assert re.fullmatch(r"[1-9]\d{15}", insights.messages[0]["id"])
    json.dumps(insights.__dict__)  # everything is plain JSON


def test_analysis_is_deterministic_and_ids_are_unique(insights: ConversationInsights) -> None:
    options = AnalysisOptions(
        detect_entities=True,
        custom_entities=(
            {"customType": "Product", "value": "Onboarding Suite", "text": "onboarding workflow"},
        ),
        trackers=(
            {"id": "trk-pricing", "name": "Pricing", "vocabulary": ["pricing model", "list price", "CFO"]},
        ),
        enable_summary=True,
    )
    again = analyze("conv-1", MONDAY, discovery_call(), options)
    assert json.dumps(again.__dict__, sort_keys=True) == json.dumps(insights.__dict__, sort_keys=True)
    ids = [
        i["id"]
        for kind in ("messages", "topics", "action_items", "follow_ups", "questions")
        for i in getattr(again, kind)
    ]
    assert len(ids) == len(set(ids))
    other = analyze("conv-2", MONDAY, discovery_call(), options)
    assert other.messages[0]["id"] != again.messages[0]["id"]


def test_a_ninety_minute_call_is_analysed_completely() -> None:
    # Speed is measured in bench/sandbox_analysis.py (a timed assertion here failed under shared-machine load).
    lines = [
        "I'll send you the pricing proposal by Friday.",
        "How does the security review work for teams your size?",
        "Honestly the data migration has been a frustrating problem for us.",
        "Let's schedule a follow-up call to go over the rollout timeline.",
        "Our budget for the analytics dashboard is around $40k this year.",
        "Sure, that makes sense, and the contract terms look fine to our legal team.",
    ]
    speakers = [MAYA, HANK, LISA]
    utterances = [
        Utterance(speakers[i % 3], f"{lines[i % 6]} {lines[(i * 7) % 6]}", i * 9.0, i * 9.0 + 8.5)
        for i in range(600)
    ]
    options = AnalysisOptions(
        detect_entities=True, enable_summary=True, trackers=({"name": "P", "vocabulary": ["budget"]},)
    )
    result = analyze("conv-long", MONDAY, utterances, options)
    assert len(result.messages) == 1200
    assert result.questions and result.action_items and result.trackers and result.summary


def test_keyphrases_of_a_day_stay_cached_until_its_speaker_events_re_analyse_them() -> None:
    """Speaker events come after the whole day's jobs: the first call's keyphrases must survive hundreds of
    other calls' analyses (a 256-entry cache missed on every re-analysis past 256 calls a day)."""
    texts = [f"The pricing review for account {i} covers onboarding and renewal terms." for i in range(400)]
    for text in texts:
        keyphrases(text)
    hits, misses, _ = keyphrases.cache_info()
    keyphrases(texts[0])
    assert keyphrases.cache_info()[:2] == (hits + 1, misses)


def test_the_keyphrase_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    from sandbox.intelligence.topics import _KeyphraseCache

    cache = _KeyphraseCache(2)
    a, b, c = (f"Budget approval for the analytics rollout number {i}." for i in range(3))
    cache(a)
    cache(b)
    cache(a)  # a is now the most recent
    cache(c)  # evicts b
    assert cache.cache_info() == (1, 3, 2)
    cache(a)
    cache(b)
    assert cache.cache_info() == (2, 4, 2)
