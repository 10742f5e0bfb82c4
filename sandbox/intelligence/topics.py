"""Topics: YAKE keyphrases over the whole conversation, tied back to the messages that mention them.

YAKE is statistical (no model download) but its cost grows with the text, so it runs once per conversation on
at most ``YAKE_WORD_BUDGET`` words: when the call is longer, sentences are sampled at an even stride across
the whole call so that late topics are not lost. Every kept keyphrase is then matched against ALL messages, so
`messageIds` and sentiment always cover the full conversation.

Scores: YAKE's score is lower-is-better and unbounded; a topic's `score` is ``best / own`` (1.0 for the
strongest topic, falling towards 0). `parentRefs` link a phrase to the broader topics it contains ("pricing
model" has parent "pricing").
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

import yake

from sandbox.intelligence.members import Roster
from sandbox.intelligence.segmentation import Message
from sandbox.intelligence.sentiment import label
from sandbox.intelligence.textmatch import find_phrase

MAX_TOPICS = 12
YAKE_WORD_BUDGET = 1500  # about 0.1 s of YAKE on one core; a 90-minute call has ~13,000 words
_YAKE_CANDIDATES = 40  # extract more than we keep: some are dropped below (names, fillers, unmatched)
_MAX_NGRAM = 3

# Conversational filler that YAKE's written-text stopword list does not know.
_SPOKEN_STOPWORDS = frozenset(
    [
        "yeah", "yep", "yes", "okay", "ok", "um", "uh", "uhm", "hmm", "mm", "right", "sure", "gonna",
        "wanna", "gotta", "kinda", "sorta", "like", "really", "actually", "basically", "literally", "thing",
        "things", "stuff", "lot", "lots", "guys", "hey", "hi", "hello", "thanks", "thank", "great", "good",
        "awesome", "cool", "perfect", "totally", "definitely", "absolutely", "bit", "little", "pretty",
        "quite", "just", "kind", "sort", "today", "tomorrow", "week", "weeks", "monday", "tuesday",
        "wednesday", "thursday", "friday", "saturday", "sunday", "talk", "call", "time", "sounds", "think",
        "know", "mean", "join", "joining", "send", "sending", "sent", "go", "going", "get", "getting",
        "make", "making", "look", "looking", "keep", "keeps", "want", "need", "take", "taking", "work",
        "working", "help", "helping", "hear", "see", "come", "coming", "happy", "sorry", "honestly", "glad",
        "nice", "love", "sense", "year", "years", "team", "teams", "people", "folks", "everyone", "way",
        "point", "question", "questions", "idea", "ideas",
    ]
)  # fmt: skip
_NUMERIC = re.compile(r"^[\d\s.,%$]+$")


@lru_cache(maxsize=1)
def _extractor() -> yake.KeywordExtractor:
    """One extractor per process: building it loads YAKE's stopword list from disk."""
    base = yake.KeywordExtractor(lan="en")
    stopwords = set(base.stopword_set) | _SPOKEN_STOPWORDS
    return yake.KeywordExtractor(
        lan="en", n=_MAX_NGRAM, top=_YAKE_CANDIDATES, dedup_lim=0.9, stopwords=stopwords
    )


def sample_text(messages: Sequence[Message], budget_words: int = YAKE_WORD_BUDGET) -> str:
    """The conversation's text, or an evenly strided sample of its sentences within ``budget_words``."""
    counts = [len(m.text.split()) for m in messages]
    total = sum(counts)
    if total <= budget_words:
        return " ".join(m.text for m in messages)
    stride = total / budget_words
    picked: list[str] = []
    used, next_mark = 0, 0.0
    position = 0
    for message, count in zip(messages, counts, strict=True):
        if position >= next_mark and used + count <= budget_words:
            picked.append(message.text)
            used += count
            next_mark += count * stride
        position += count
    return " ".join(picked)


class _KeyphraseCache:
    """YAKE's candidates per text, kept by the text's digest (not the text: a 1,500-word sample is ~9 KB).

    Kept because a speaker update re-analyses a conversation whose words did not change: YAKE was two thirds of
    the sandbox's CPU on a 300-recording ingest, half of it the re-analyses (py-spy over
    bench/ingest_memory.py). Sized for a day: speaker events are sent after the day's jobs have all finished,
    so a cache smaller than the day's conversations (it was 256) misses on every re-analysis past a few hundred
    calls. An entry is ~6 KB of phrases, so the bound is ~100 MB of the sandbox's memory.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, tuple[tuple[str, float], ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __call__(self, text: str) -> tuple[tuple[str, float], ...]:
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        phrases = tuple((phrase, float(score)) for phrase, score in _extractor().extract_keywords(text))
        with self._lock:
            self._entries[key] = phrases
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return phrases

    def cache_info(self) -> tuple[int, int, int]:
        """(hits, misses, entries)."""
        with self._lock:
            return self.hits, self.misses, len(self._entries)


KEYPHRASE_CACHE_SIZE = 16_384
keyphrases = _KeyphraseCache(KEYPHRASE_CACHE_SIZE)


def extract_topics(
    messages: Sequence[Message],
    roster: Roster,
    polarity_by_message: Mapping[str, float],
    make_id: Callable[[str], str],
) -> list[dict[str, object]]:
    if not messages:
        return []
    name_words = {w.lower() for m in roster.members for w in m.name.split()}
    candidates = keyphrases(sample_text(messages))
    kept: list[tuple[str, float, list[str]]] = []  # (text, yake score, message ids)
    seen: set[str] = set()
    for phrase, yake_score in candidates:
        text = " ".join(phrase.lower().split())
        words = text.split()
        if (
            text in seen
            or _NUMERIC.match(text)
            or any(w in name_words for w in words)
            or all(w in _SPOKEN_STOPWORDS for w in words)
        ):
            continue
        message_ids = [m.id for m in messages if find_phrase(text, m.text)]
        if not message_ids:
            continue
        seen.add(text)
        kept.append((text, float(yake_score), message_ids))
        if len(kept) == MAX_TOPICS:
            break
    kept = _drop_redundant(kept, {m.id: m.text for m in messages})
    if not kept:
        return []
    best = min(score for _, score, _ in kept) or 1e-12
    texts = [text for text, _, _ in kept]
    topics: list[dict[str, object]] = []
    for text, yake_score, message_ids in kept:
        polarity = round(sum(polarity_by_message[i] for i in message_ids) / len(message_ids), 4)
        topics.append(
            {
                "id": make_id(text),
                "text": text,
                "type": "topic",
                "score": round(min(1.0, best / yake_score) if yake_score > 0 else 1.0, 4),
                "messageIds": message_ids,
                "sentiment": {"polarity": {"score": polarity}, "suggested": label(polarity)},
                "parentRefs": [
                    {"type": "topic", "text": other} for other in texts if _is_broader(other, text)
                ],
            }
        )
    return topics


def _drop_redundant(
    kept: list[tuple[str, float, list[str]]], text_by_id: Mapping[str, str]
) -> list[tuple[str, float, list[str]]]:
    """Drop a phrase that is only ever said inside a longer kept phrase: "model" said only as "pricing model"
    tells a reader nothing the longer topic does not."""

    def only_inside(short: str, long: str, message_ids: Sequence[str]) -> bool:
        for message_id in message_ids:
            longs = find_phrase(long, text_by_id[message_id])
            for start, end in find_phrase(short, text_by_id[message_id]):
                if not any(ls <= start and end <= le for ls, le in longs):
                    return False
        return True

    return [
        (text, score, ids)
        for text, score, ids in kept
        if not any(_is_broader(text, other) and only_inside(text, other, ids) for other, _, _ in kept)
    ]


def _is_broader(candidate: str, topic: str) -> bool:
    """``candidate`` is a strict, whole-word part of ``topic`` ("pricing" within "pricing model")."""
    return candidate != topic and bool(find_phrase(candidate, topic))
