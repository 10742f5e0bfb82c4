"""The sandbox's "model": honest extraction, never invention.

Asked to summarise, it returns the conversation's most representative sentences (frequency-weighted content
words, Luhn-style) in their original order. Asked anything else, it returns the sentences that share the most
key terms with the instruction, or says plainly that the conversation does not cover them. Tokens are words:
output never exceeds ``max_new_tokens`` words. Same input, same output; ``temperature`` changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from sandbox.semarize.text import STOPWORDS, content_terms, split_sentences, stem, words

_SUMMARY_REQUEST = re.compile(r"\b(summar\w*|recap\w*|tl;?dr|overview|key points|gist)\b", re.IGNORECASE)
# "Maya Chen: we ..." -> the speaker label is metadata, not content to quote.
_SPEAKER_PREFIX = re.compile(r"^\s*[^:.!?\n]{1,60}?:\s+")
# Words that shape a request without saying what it is about.
_INSTRUCTION_WORDS = frozenset(
    stem(w)
    for w in (
        "list",
        "tell",
        "give",
        "explain",
        "describe",
        "identify",
        "find",
        "show",
        "call",
        "conversation",
        "mention",
        "say",
        "said",
        "discuss",
        "talk",
        "answer",
        "question",
        "transcript",
    )
)


@dataclass(frozen=True)
class Generation:
    text: str
    input_tokens: int
    output_tokens: int
    finish_reason: str  # "stop" or "length"


def count_tokens(text: str) -> int:
    return len(text.split())


def is_summary_request(instruction: str) -> bool:
    return _SUMMARY_REQUEST.search(instruction) is not None


def generate(instruction: str, source_text: str, max_new_tokens: int, prompt_tokens: int) -> Generation:
    """Answer ``instruction`` from ``source_text`` within ``max_new_tokens`` words."""
    sentences = _sentences(source_text)
    if is_summary_request(instruction):
        chosen = _summary(sentences)
    else:
        chosen = _relevant(sentences, instruction)
        if not chosen:
            topic = ", ".join(_query_words(instruction)) or "that"
            chosen = [f"The conversation does not mention {topic}."]
    if not sentences:
        chosen = ["There is no conversation text to work from."]
    text, truncated = _within(chosen, max_new_tokens)
    return Generation(
        text=text,
        input_tokens=prompt_tokens,
        output_tokens=count_tokens(text),
        finish_reason="length" if truncated else "stop",
    )


def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = _SPEAKER_PREFIX.sub("", line, count=1).strip()
        out += split_sentences(line)
    return out


def _summary(sentences: list[str]) -> list[str]:
    """Sentences ranked by the mean corpus frequency of their content terms; top ones kept in spoken order."""
    frequency = Counter(term for s in sentences for term in content_terms(s))
    scored = []
    for index, sentence in enumerate(sentences):
        terms = content_terms(sentence)
        if len(terms) < 2:  # "Sounds good." says nothing a summary needs
            continue
        scored.append((sum(frequency[t] for t in terms) / len(terms) ** 0.5, index))
    ranked = sorted(scored, key=lambda si: (-si[0], si[1]))  # ties: the earlier sentence
    top = {i for _, i in ranked[: _budget(sentences)]}
    return [s for i, s in enumerate(sentences) if i in top]


def _budget(sentences: list[str]) -> int:
    return max(1, min(8, round(len(sentences) / 5)))


def _query_terms(instruction: str) -> set[str]:
    return {t for t in content_terms(instruction) if t not in _INSTRUCTION_WORDS}


def _query_words(instruction: str) -> list[str]:
    """The instruction's subject words as written (unstemmed), for telling the caller what was not found."""
    wanted = _query_terms(instruction)
    return list(dict.fromkeys(w for w in words(instruction) if w not in STOPWORDS and stem(w) in wanted))


def _relevant(sentences: list[str], instruction: str) -> list[str]:
    query = _query_terms(instruction)
    scored = [(len(query & content_terms(s)), i) for i, s in enumerate(sentences)]
    ranked = sorted((si for si in scored if si[0] > 0), key=lambda si: (-si[0], si[1]))[:5]
    return [sentences[i] for _, i in sorted(ranked, key=lambda si: si[1])]


def _within(sentences: list[str], max_words: int) -> tuple[str, bool]:
    words: list[str] = []
    for sentence in sentences:
        words += sentence.split()
        if len(words) > max_words:
            return " ".join(words[:max_words]), True
    return " ".join(words), False
