"""Benchmark: the Symbl stage's makespan against the concurrency bound, and against simpler client patterns.

Every job takes a fixed T seconds in the sandbox (processing_factor 0, min_processing_seconds T, no queue delay),
the sandbox's concurrent-job limit is C and so is the pipeline's SYMBL_CONCURRENT_JOBS. Recordings are text
transcripts of equal duration (written here as drop-folder manifests), all on one day partition.

1. Bound: N recordings at concurrency C through `recordings` + `symbl_conversations` (Dagster, in this process);
   the `symbl_conversations` step's duration against ceil(N/C) x T. With --stage, also the whole Symbl stage:
   `symbl_conversations` and the nine signal assets, from the first step's start to the last one's end.
2. Patterns, each timed to "all N jobs completed and their messages fetched", on a fresh sandbox each:
   a. ours: `recordings` + `symbl_conversations` + `symbl_messages`, timed from the start of the
      `symbl_conversations` step to the end of the `symbl_messages` step (the drop-folder scan is left out, as
      the other patterns have none);
   b. flow: the parallel no-code flow pattern, C workers, each: token, submit, sleep a fixed delay, poll the Job
      API at a fixed interval until done, GET messages (plain httpx);
   c. sdk: the official Python SDK's pattern, one recording at a time, polling every 30 s with no backoff. The
      SDK itself is not a dependency of the project and is not used; its pattern is reproduced with httpx
      (one token, kept). Sequential, so it is run once and compared with ours at each C.
   Intervals are scaled by T / 300 s, i.e. T stands for a real 5-minute Symbl job: the SDK's 30 s poll becomes
   T/10, and the flow's delay and poll interval are given in units of T (defaults: delay 2 T, poll T/10).
Recordings last T / media-rate seconds (default rate 0.2, inside Symbl's ~0.1-0.3x real time), so that the
pipeline's poll expectation (its prior rate x the media's duration) meets T as it would meet a real job.
Job polls per recording come from the sandbox's counters (GET /_sandbox/stats).
By default `symbl_conversations` prefetches, the moment each job completes, the signals whose assets the run
materialises (messages in part 2, none in part 1's first figure, all nine in --stage); --no-prefetch runs the path
before that (the signal assets fetch after the step).

    .venv/bin/python bench/makespan.py                      # T = 1 s: about 5 minutes on 2 busy cores
    .venv/bin/python bench/makespan.py --job-seconds 15     # the issue's jobs: most of an hour (sdk: 100 x T)

Measured 2026-12-02 with f7ae373's polling: part 1 at T=15 s, N=500, C=50, load under 0.2: 1.04x the bound both
cold (2.20 polls per recording) and --warm (1.40). Part 2 at T=5 s, --warm, at load 1.7-2.3: ours 105.9 s at C=5
(flow 1.90x, sdk 4.78x: its ceiling is N x T / (ceil(N/C) x T) = 5x) and 14.6 s at C=50 (flow 1.52x, sdk 34.7x).
Measured 2026-12-03 at a6fe434 (descent probes, the bounded recording pool), part 1 as above, load under 0.7:
cold 159.2 s, 1.06x the bound, 1.79 polls per recording; --warm 158.4 s, 1.06x, 1.36 polls per recording.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convo_intel.demo import prepare_environment
from sandbox.config import DEFAULT_SYMBL_APP_ID, DEFAULT_SYMBL_APP_SECRET
from sandbox.server import sandbox_process

DAY = "2026-05-05"
YESTERDAY = "2026-05-04"  # --warm: a day run before the timed one, on the same warehouse (untimed)
LINES = 8
JOB_POLL = "GET /symbl/v1/job/{jobId}"
REAL_JOB_SECONDS = 300.0  # T stands for a real 5-minute job
SDK_POLL_REAL_SECONDS = 30.0  # the official SDK's fixed job-status poll interval
MESSAGES_QUERY = {"verbose": "true", "sentiment": "true"}


@dataclass(frozen=True)
class Settings:
    job_seconds: float
    concurrency: int
    # Seconds of processing per second of media the corpus stands for: with it, a recording lasts T / media_rate,
    # so that the pipeline's expectation (its prior rate x the media's duration) meets T as it would meet a real
    # job (Symbl takes roughly 0.1-0.3x real time; the sandbox's own time per job stays exactly T).
    media_rate: float

    @property
    def media_seconds(self) -> float:
        return self.job_seconds / self.media_rate

    def sandbox_env(self) -> dict[str, str]:
        return {
            "SANDBOX_CONCURRENT_JOB_LIMIT": str(self.concurrency),
            "SANDBOX_PROCESSING_FACTOR": "0",
            "SANDBOX_MIN_PROCESSING_SECONDS": str(self.job_seconds),
            "SANDBOX_QUEUE_DELAY_SECONDS": "0",
        }


@dataclass(frozen=True)
class Measured:
    pattern: str
    concurrency: int
    recordings: int
    makespan: float
    calls: dict[str, int]
    ok: bool
    load: tuple[float, float, float]

    @property
    def polls_per_recording(self) -> float:
        return self.calls.get(JOB_POLL, 0) / self.recordings


# --- the corpus ---------------------------------------------------------------------------------------------


def utterance_times(i: int, media_seconds: float) -> tuple[float, float]:
    step = media_seconds / LINES
    return i * step, (i + 1) * step


def write_corpus(drop: Path, n: int, media_seconds: float, day: str = DAY) -> None:
    """N drop-folder manifests of one day, each naming a text transcript of ``media_seconds``."""
    (drop / "manifests").mkdir(parents=True, exist_ok=True)
    (drop / "transcripts").mkdir(exist_ok=True)
    rep = {"name": "Maya Chen", "email": "maya.chen@lumen.example"}
    buyer = {"name": "Hank Scorpio", "email": "hank@globex.example"}
    for k in range(n):
        rid = f"rec-bench-{day}-{k:05d}"
        messages = [
            {
                "speaker": rep if i % 2 == 0 else buyer,
                "text": f"Line {i} of call {k}: the budget, the timeline and the next steps.",
                "start": utterance_times(i, media_seconds)[0],
                "end": utterance_times(i, media_seconds)[1],
            }
            for i in range(LINES)
        ]
        transcript = {"format": "convo-intel-transcript", "version": 1, "language_code": "en-US"}
        (drop / "transcripts" / f"{rid}.json").write_text(json.dumps(transcript | {"messages": messages}))
        start = datetime.fromisoformat(f"{day}T12:00:00+00:00") + timedelta(seconds=k)
        manifest = {
            "recording_id": rid,
            "start_time": start.isoformat().replace("+00:00", "Z"),
            "duration_seconds": media_seconds,
            "title": f"Discovery call {k}",
            "call_type": "discovery",
            "account": {"id": "acct-globex", "name": "Globex"},
            "host": rep,
            "participants": [rep | {"role": "rep"}, buyer | {"role": "prospect"}],
            "media": {"kind": "transcript_file", "path": f"transcripts/{rid}.json"},
        }
        (drop / "manifests" / f"{rid}.json").write_text(json.dumps(manifest))


def text_body(k: int, media_seconds: float) -> dict[str, Any]:
    """The same call as the corpus's, as a POST /v1/process/text body (for the hand-written patterns)."""
    start = datetime(2026, 5, 5, 12, tzinfo=UTC)

    def at(seconds: float) -> str:
        return (start + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    return {
        "name": f"Discovery call {k}",
        "messages": [
            {
                "payload": {
                    "content": f"Line {i} of call {k}: the budget, the timeline and the next steps.",
                    "contentType": "text/plain",
                },
                "from": {"name": "Maya Chen" if i % 2 == 0 else "Hank Scorpio"},
                "duration": {
                    "startTime": at(utterance_times(i, media_seconds)[0]),
                    "endTime": at(utterance_times(i, media_seconds)[1]),
                },
            }
            for i in range(LINES)
        ],
    }


# --- the sandbox's counters ---------------------------------------------------------------------------------


def calls_of(base: str) -> dict[str, int]:
    return dict(httpx.get(f"{base}/_sandbox/stats", timeout=30).json()["calls"])


# --- ours: the pipeline, in process -------------------------------------------------------------------------


def step_times(instance: Any, run_id: str) -> dict[str, tuple[float, float]]:
    """step key -> (start, end) wall-clock timestamps from the run's event log."""
    starts: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            spans[event.step_key] = (starts.get(event.step_key, entry.timestamp), entry.timestamp)
    return spans


def run_pipeline(
    work: Path, n: int, settings: Settings, assets: list[str], prefetch: bool = True, warm: bool = False
) -> dict[str, Any]:
    """Materialise ``assets`` for N fresh recordings against a fresh sandbox; step spans, calls, success.

    ``warm``: a day of C recordings is run first on the same warehouse (untimed, its calls not counted), as a
    deployment's previous day: the journal then holds the processing rate that day's jobs showed.
    """
    write_corpus(work / "drop", n, settings.media_seconds)
    if warm:
        write_corpus(work / "drop", settings.concurrency, settings.media_seconds, YESTERDAY)
    with sandbox_process(work / "sandbox", env=settings.sandbox_env()) as base:
        prepare_environment(work, base)
        os.environ["SYMBL_CONCURRENT_JOBS"] = str(settings.concurrency)
        os.environ["CONVO_INTEL_INBOX_DIR"] = str((work / "inbox").resolve())

        import dagster as dg

        from orchestration.definitions import defs

        instance = dg.DagsterInstance.ephemeral()
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        if warm:
            yesterday = defs.resolve_job_def("conversation_ingest_job").execute_in_process(
                partition_key=YESTERDAY,
                instance=instance,
                asset_selection=[dg.AssetKey(a) for a in ("recordings", "symbl_conversations")],
                raise_on_error=False,
                run_config=quiet,
            )
            assert yesterday.success, "the warm-up day failed"
        before = calls_of(base)
        began = time.time()
        result = defs.resolve_job_def("conversation_ingest_job").execute_in_process(
            partition_key=DAY,
            instance=instance,
            asset_selection=[dg.AssetKey(a) for a in assets],
            raise_on_error=False,
            run_config={
                **quiet,
                **(
                    {} if prefetch else {"ops": {"symbl_conversations": {"config": {"prefetch_signals": []}}}}
                ),
            },
        )
        wall = time.time() - began
        spans = step_times(instance, result.run_id)
        calls = {k: v - before.get(k, 0) for k, v in calls_of(base).items()}
        return {"spans": spans, "calls": calls, "ok": result.success, "wall": wall}


def ours(work: Path, n: int, settings: Settings, prefetch: bool, warm: bool) -> Measured:
    assets = ["recordings", "symbl_conversations", "symbl_messages"]
    figures = run_pipeline(work, n, settings, assets, prefetch, warm)
    spans = figures["spans"]
    ok = figures["ok"] and "symbl_conversations" in spans and "symbl_messages" in spans
    makespan = spans["symbl_messages"][1] - spans["symbl_conversations"][0] if ok else float("nan")
    return Measured("ours", settings.concurrency, n, makespan, figures["calls"], ok, os.getloadavg())


# --- the hand-written patterns: plain httpx against the sandbox's Symbl API ----------------------------------


async def token(client: httpx.AsyncClient) -> str:
    body = {"type": "application", "appId": DEFAULT_SYMBL_APP_ID, "appSecret": DEFAULT_SYMBL_APP_SECRET}
    response = await client.post("/oauth2/token:generate", json=body)
    response.raise_for_status()
    return str(response.json()["accessToken"])


async def one_recording(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    body: dict[str, Any],
    first_wait: float,
    poll_every: float,
) -> bool:
    """Submit, wait ``first_wait``, poll every ``poll_every`` until terminal, then GET the messages."""
    while True:
        response = await client.post("/v1/process/text", json=body, headers=auth)
        if response.status_code != 429:  # only if a slot frees a moment late; neither pattern expects it
            break
        await asyncio.sleep(poll_every)
    response.raise_for_status()
    submitted = response.json()
    await asyncio.sleep(first_wait)
    while True:
        status = (await client.get(f"/v1/job/{submitted['jobId']}", headers=auth)).json()["status"]
        if status in ("completed", "failed"):
            break
        await asyncio.sleep(poll_every)
    messages = await client.get(  # the same query as the pipeline's symbl_messages, so the fetch costs alike
        f"/v1/conversations/{submitted['conversationId']}/messages", params=MESSAGES_QUERY, headers=auth
    )
    messages.raise_for_status()
    return status == "completed" and bool(messages.json()["messages"])


async def flow_pattern(
    base: str, n: int, media_seconds: float, workers: int, delay: float, poll_every: float
) -> bool:
    """C parallel runs of a no-code flow: each run generates its own token (flows keep no state between runs)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for k in range(n):
        queue.put_nowait(k)
    outcomes: list[bool] = []

    async with httpx.AsyncClient(base_url=f"{base}/symbl", timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                k = queue.get_nowait()
                auth = {"Authorization": f"Bearer {await token(client)}"}
                body = text_body(k, media_seconds)
                outcomes.append(await one_recording(client, auth, body, delay, poll_every))

        await asyncio.gather(*(worker() for _ in range(workers)))
    return all(outcomes) and len(outcomes) == n


async def sdk_pattern(base: str, n: int, media_seconds: float, poll_every: float) -> bool:
    """One recording at a time, one cached token, a fixed poll interval from the submit on (no backoff)."""
    async with httpx.AsyncClient(base_url=f"{base}/symbl", timeout=60) as client:
        auth = {"Authorization": f"Bearer {await token(client)}"}
        outcomes = [
            await one_recording(client, auth, text_body(k, media_seconds), poll_every, poll_every)
            for k in range(n)
        ]
    return all(outcomes)


def hand_written(
    work: Path, pattern: str, n: int, settings: Settings, run: Callable[[str], Coroutine[Any, Any, bool]]
) -> Measured:
    with sandbox_process(work / "sandbox", env=settings.sandbox_env()) as base:
        began = time.monotonic()
        ok = asyncio.run(run(base))
        makespan = time.monotonic() - began
        calls = calls_of(base)
    return Measured(pattern, settings.concurrency, n, makespan, calls, ok, os.getloadavg())


# --- the report -----------------------------------------------------------------------------------------------


def load_text(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


def bound_section(args: argparse.Namespace, root: Path) -> None:
    n, c, t = args.bound_recordings, args.bound_concurrency, args.job_seconds
    settings = Settings(t, c, args.media_rate)
    figures = run_pipeline(
        root / "bound", n, settings, ["recordings", "symbl_conversations"], args.prefetch, args.warm
    )
    bound = math.ceil(n / c) * t
    span = figures["spans"].get("symbl_conversations")
    print(f"1. Symbl stage at the concurrency bound: N={n}, C={c}, T={t:g} s (success={figures['ok']})")
    if span is None:
        print("   symbl_conversations did not run")
        return
    seconds = span[1] - span[0]
    print(f"   symbl_conversations step: {seconds:.1f} s; bound ceil(N/C) x T = {bound:.1f} s")
    print(
        f"   makespan / bound = {seconds / bound:.2f}  (whole run incl. drop-folder scan {figures['wall']:.1f} s)"
    )
    print(
        f"   job polls per recording {figures['calls'].get(JOB_POLL, 0) / n:.2f}; load average {os.getloadavg()}"
    )


def stage_section(args: argparse.Namespace, root: Path) -> None:
    """The whole Symbl stage: the conversations step and every signal asset, against part 1's bound."""
    from orchestration.defs.symbl.signal_registry import STORED

    n, c, t = args.bound_recordings, args.bound_concurrency, args.job_seconds
    settings = Settings(t, c, args.media_rate)
    bound = math.ceil(n / c) * t
    signals = [spec.asset_name for spec in STORED]  # the steps (one per signal; analytics writes two tables)
    tables = [table for spec in STORED for table in spec.tables]
    figures = run_pipeline(
        root / "stage", n, settings, ["recordings", "symbl_conversations", *tables], args.prefetch, args.warm
    )
    spans = figures["spans"]
    steps = ["symbl_conversations", *signals]
    print(
        f"1b. whole Symbl stage (conversations + {len(signals)} signal assets): N={n}, C={c}, T={t:g} s, "
        f"bound {bound:.1f} s (success={figures['ok']})"
    )
    if not figures["ok"] or any(s not in spans for s in steps):
        print("   a step did not run")
        return
    seconds = max(spans[s][1] for s in signals) - spans["symbl_conversations"][0]
    conversations = spans["symbl_conversations"][1] - spans["symbl_conversations"][0]
    reads = sum(v for k, v in figures["calls"].items() if k.startswith("GET /symbl/v1/conversations/"))
    print(
        f"   stage {seconds:.1f} s (conversations step {conversations:.1f} s, signal steps "
        f"{seconds - conversations:.1f} s); stage / bound = {seconds / bound:.2f}; "
        f"Conversation API reads {reads} ({reads / n:.1f} per recording); load average {os.getloadavg()}"
    )


def patterns_section(args: argparse.Namespace, root: Path) -> None:
    n, t = args.recordings, args.job_seconds
    scale = t / REAL_JOB_SECONDS
    sdk_poll = SDK_POLL_REAL_SECONDS * scale
    delay, flow_poll = args.flow_delay * t, args.flow_poll * t
    media = t / args.media_rate
    print(
        f"\n2. Patterns, N={n}, T={t:g} s (T stands for a real {REAL_JOB_SECONDS:.0f} s job: scale {scale:.4g}); "
        f"flow: delay {delay:g} s then poll every {flow_poll:g} s; sdk: poll every {sdk_poll:g} s "
        f"(30 s real), one at a time"
    )
    rows: list[Measured] = []
    ours_at: dict[int, Measured] = {}
    for c in args.concurrency:
        settings = Settings(t, c, args.media_rate)
        mine = ours(root / f"ours-{c}", n, settings, args.prefetch, args.warm)
        ours_at[c] = mine
        rows.append(mine)
        rows.append(
            hand_written(
                root / f"flow-{c}",
                "flow",
                n,
                settings,
                lambda base, c=c: flow_pattern(base, n, media, c, delay, flow_poll),
            )
        )
    # Sequential: one run serves every C (the sandbox's limit does not bind one job at a time).
    settings = Settings(t, max(args.concurrency), args.media_rate)
    sdk = hand_written(
        root / "sdk", "sdk", n, settings, lambda base: sdk_pattern(base, n, settings.media_seconds, sdk_poll)
    )
    print(
        f"{'pattern':<8} {'C':>4} {'N':>5} {'makespan s':>11} {'vs ours':>8} {'polls/rec':>10} "
        f"{'bound s':>8} {'ok':>3}  load 1/5/15"
    )
    for row in [*rows, sdk]:
        cs = [row.concurrency] if row.pattern != "sdk" else list(args.concurrency)
        for c in cs:
            ratio = row.makespan / ours_at[c].makespan
            bound = math.ceil(n / (c if row.pattern != "sdk" else 1)) * t
            print(
                f"{row.pattern:<8} {c if row.pattern != 'sdk' else 1:>4} {row.recordings:>5} "
                f"{row.makespan:>11.1f} {ratio:>7.2f}x {row.polls_per_recording:>10.2f} {bound:>8.1f} "
                f"{'y' if row.ok else 'n':>3}  {load_text(row.load)}"
                + (f"  (against ours at C={c})" if row.pattern == "sdk" else "")
            )
    print(f"load average at the end: {os.getloadavg()}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--job-seconds", type=float, default=1.0, help="T: the sandbox's time per job (issue: 15)"
    )
    parser.add_argument("--bound-recordings", type=int, default=500, help="N of part 1 (issue: 500)")
    parser.add_argument("--bound-concurrency", type=int, default=50, help="C of part 1 (issue: 50)")
    parser.add_argument("--recordings", type=int, default=100, help="N of part 2 (issue: 100)")
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[5, 50], help="C list, part 2"
    )
    parser.add_argument("--flow-delay", type=float, default=2.0, help="flow's fixed delay, in units of T")
    parser.add_argument("--flow-poll", type=float, default=0.1, help="flow's poll interval, in units of T")
    parser.add_argument(
        "--media-rate",
        type=float,
        default=0.2,
        help="processing s per media s the corpus stands for: recordings last T / media-rate",
    )
    parser.add_argument(
        "--no-prefetch",
        dest="prefetch",
        action="store_false",
        help="symbl_conversations does not prefetch signals (the path before it did)",
    )
    parser.add_argument(
        "--stage",
        action="store_true",
        help="also time conversations + all nine signal assets (part 1's N, C)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="run a previous day of C recordings first on each warehouse (untimed): the pipeline starts from "
        "the processing rate that day showed, as a deployment does from its second day on",
    )
    parser.add_argument("--skip-bound", action="store_true", help="only part 2")
    parser.add_argument("--skip-patterns", action="store_true", help="only part 1")
    args = parser.parse_args()

    import dagster as dg

    for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):  # API-maturity notices only
        warnings.filterwarnings("ignore", category=category)
    root = Path(tempfile.mkdtemp(prefix="bench-makespan-"))
    print(
        f"load average at the start: {os.getloadavg()}; work dir {root}; "
        f"prefetch {'on' if args.prefetch else 'off'}; {'warm (a previous day run first)' if args.warm else 'cold'}"
    )
    if not args.skip_bound:
        bound_section(args, root)
    if args.stage:
        stage_section(args, root)
    if not args.skip_patterns:
        patterns_section(args, root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
