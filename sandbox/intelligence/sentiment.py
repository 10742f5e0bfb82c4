"""Per-text sentiment from VADER's lexicon (shipped inside the vadersentiment wheel: no model download)."""

from __future__ import annotations

from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Symbl's documented thresholds on the polarity score.
NEGATIVE_BELOW = -0.3
POSITIVE_ABOVE = 0.3


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def polarity(text: str) -> float:
    """Polarity in -1..1 (VADER's compound score), rounded so that results are stable across platforms."""
    return round(float(_analyzer().polarity_scores(text)["compound"]), 4)


def label(score: float) -> str:
    if score < NEGATIVE_BELOW:
        return "negative"
    if score > POSITIVE_ABOVE:
        return "positive"
    return "neutral"


def sentiment_object(text: str) -> dict[str, object]:
    """Symbl's message/topic `sentiment` object."""
    score = polarity(text)
    return {"polarity": {"score": score}, "suggested": label(score)}
