"""How long the sandbox's text intelligence takes on a 90-minute, 1,200-sentence call (was a timed test).

.venv/bin/python bench/sandbox_analysis.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from sandbox.intelligence import AnalysisOptions, analyze
from sandbox.transcript import Speaker, Utterance

LINES = [
    "I'll send you the pricing proposal by Friday.",
    "How does the security review work for teams your size?",
    "Honestly the data migration has been a frustrating problem for us.",
    "Let's schedule a follow-up call to go over the rollout timeline.",
    "Our budget for the analytics dashboard is around $40k this year.",
    "Sure, that makes sense, and the contract terms look fine to our legal team.",
]
SPEAKERS = [Speaker("Maya Chen", "maya@lumen.example"), Speaker("Hank Scorpio", "hank@globex.example"),
            Speaker("Lisa Su", "lisa@initech.example")]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    utterances = [
        Utterance(SPEAKERS[i % 3], f"{LINES[i % 6]} {LINES[(i * 7) % 6]}", i * 9.0, i * 9.0 + 8.5)
        for i in range(600)
    ]
    options = AnalysisOptions(
        detect_entities=True, enable_summary=True, trackers=({"name": "P", "vocabulary": ["budget"]},)
    )
    start = datetime(2026, 4, 6, 15, tzinfo=UTC)
    analyze("warm-up", start, utterances[:5], options)  # loads VADER's lexicon and YAKE's stopwords
    seconds = []
    for i in range(args.repeat):
        began = time.perf_counter()
        analyze(f"conv-{i}", start, utterances, options)
        seconds.append(time.perf_counter() - began)
    print(
        f"90-minute call (1,200 messages): min {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s, "
        f"max {max(seconds):.2f} s over {args.repeat} runs"
    )


if __name__ == "__main__":
    main()
