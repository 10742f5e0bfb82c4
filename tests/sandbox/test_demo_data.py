"""The demo corpus generator: determinism, manifests per the drop-folder doc, readable media, variety."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from convo_intel.cli import main as cli_main
from sandbox.demo_data import DemoDataError, generate
from sandbox.demo_data.corpus import CORPUS_MARKER, allocate
from sandbox.demo_data.fragments import COMPETITORS
from sandbox.demo_data.roster import ROSTER
from sandbox.media import detect_format, embedded_transcript
from sandbox.transcript import Transcript

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "http://127.0.0.1:8765/media"
RECORDING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
ALL_TEAMS = {"Enterprise Sales", "Mid-Market Sales", "Customer Success"}
ALL_CALL_TYPES = {"discovery", "demo", "negotiation", "support", "renewal", "qbr"}
ALL_MEDIA_KINDS = {"audio_file", "audio_url", "video_file", "video_url", "transcript_file"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    generate(out, seed=7, recordings=60, media_base_url=BASE_URL)
    return out


def _manifests(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((root / "manifests").glob("*.json"))]


def _transcript_of(root: Path, manifest: dict[str, Any]) -> Transcript:
    media = manifest["media"]
    if media["kind"] == "transcript_file":
        return Transcript.from_json((root / media["path"]).read_bytes())
    name = media["path"] if "path" in media else "media/" + media["url"].rsplit("/", 1)[1]
    data = (root / name).read_bytes()
    assert detect_format(data) == ("wav" if media["kind"].startswith("audio") else "mp4")
    transcript = embedded_transcript(data)
    assert transcript is not None
    return transcript


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_roster_mirror_agrees_with_the_seed() -> None:
    with (ROOT / "dbt_project/seeds/rep_roster.csv").open(newline="") as f:
        seed = {row["rep_email"]: row for row in csv.DictReader(f)}
    assert set(seed) == {rep.email for rep in ROSTER}
    for rep in ROSTER:
        row = seed[rep.email]
        assert (rep.name, rep.team, rep.region, rep.manager_email) == (
            row["rep_name"], row["team"], row["region"], row["manager_email"],
        )  # fmt: skip


def test_same_seed_gives_byte_identical_files(corpus: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, seed=7, recordings=60, media_base_url=BASE_URL)
    assert _files(again) == _files(corpus)
    other = tmp_path / "other"
    generate(other, seed=8, recordings=60, media_base_url=BASE_URL)
    assert _files(other) != _files(corpus)


def test_every_manifest_follows_the_drop_folder_contract(corpus: Path) -> None:
    manifests = _manifests(corpus)
    assert len(manifests) == 60
    roster = {rep.email: rep for rep in ROSTER}
    ids = [m["recording_id"] for m in manifests]
    assert len(set(ids)) == len(ids)
    for m in manifests:
        assert RECORDING_ID.match(m["recording_id"])
        assert (corpus / "manifests" / f"{m['recording_id']}.json").is_file()
        start = datetime.fromisoformat(m["start_time"])
        assert start.utcoffset() is not None and start.utcoffset().total_seconds() == 0
        assert date(2026, 4, 1) <= start.date() <= date(2026, 9, 30)
        assert start.weekday() < 5 and 8 <= start.hour <= 16
        host = m["host"]
        assert host["email"] in roster and roster[host["email"]].name == host["name"]
        participants = m["participants"]
        assert participants[0] == {"name": host["name"], "email": host["email"], "role": "rep"}
        external = [p for p in participants if not p["email"].endswith("@lumen.example")]
        assert 1 <= len(external) <= 3
        assert all(p["email"].endswith(".example") and p["name"] for p in participants)
        assert m["account"]["id"].startswith("acct-") and m["account"]["name"]
        assert m["call_type"] in ALL_CALL_TYPES and m["language_code"] == "en-US" and m["title"]
        media = m["media"]
        if media["kind"].endswith("_url"):
            assert set(media) == {"kind", "url"} and media["url"].startswith(BASE_URL + "/")
        else:
            assert set(media) == {"kind", "path"} and not Path(media["path"]).is_absolute()
            assert (corpus / media["path"]).is_file()


def test_media_carries_a_transcript_where_the_host_speaks(corpus: Path) -> None:
    for m in _manifests(corpus):
        transcript = _transcript_of(corpus, m)
        speakers = {u.speaker.email for u in transcript.utterances}
        assert m["host"]["email"] in speakers
        assert speakers <= {p["email"] for p in m["participants"]}
        assert m["duration_seconds"] == pytest.approx(transcript.duration_seconds, abs=0.001)
        assert 5 * 60 <= transcript.duration_seconds <= 45 * 60
        turns = [u.end - u.start for u in transcript.utterances]
        assert min(turns) >= 2.0 - 1e-6 and max(turns) <= 20.0 + 1e-6
        starts = [u.start for u in transcript.utterances]
        assert starts == sorted(starts)


def test_corpus_covers_every_team_call_type_media_kind_and_both_quarters(corpus: Path) -> None:
    manifests = _manifests(corpus)
    roster = {rep.email: rep for rep in ROSTER}
    assert {roster[m["host"]["email"]].team for m in manifests} == ALL_TEAMS
    assert {m["call_type"] for m in manifests} == ALL_CALL_TYPES
    assert {m["media"]["kind"] for m in manifests} == ALL_MEDIA_KINDS
    assert {(datetime.fromisoformat(m["start_time"]).month - 1) // 3 + 1 for m in manifests} == {2, 3}
    sales = {"discovery", "demo", "negotiation"}
    for m in manifests:
        is_sales_team = roster[m["host"]["email"]].team != "Customer Success"
        assert (m["call_type"] in sales) == is_sales_team


def test_content_varies_and_the_answer_key_matches_the_words(corpus: Path) -> None:
    key = json.loads((corpus / CORPUS_MARKER).read_text())["answer_key"]
    manifests = {m["recording_id"]: m for m in _manifests(corpus)}
    assert set(key) == set(manifests)
    budgets = {facts["budget"] for facts in key.values()}
    assert {"confirmed", "not_approved"} <= budgets
    competitors = {name for facts in key.values() for name in facts["competitors"]}
    assert len(competitors) >= 3
    assert any(facts["churn_risk"] for facts in key.values())
    assert len({facts["bug_severity"] for facts in key.values()} - {None}) >= 3
    assert any(facts["objections"] for facts in key.values())
    assert any(facts["follow_up_scheduled"] for facts in key.values())
    for recording_id, facts in key.items():
        text = " ".join(u.text for u in _transcript_of(corpus, manifests[recording_id]).utterances)
        assert facts["competitors"] == [c for c in COMPETITORS if c in text]
        if facts["budget"] == "confirmed":
            assert f"${facts['budget_amount_usd'] // 1000}k" in text
        assert "{" not in text and "}" not in text  # every slot was filled
    # Reps differ in discovery depth: the roster's deepest and shallowest discoverers stay apart.
    depth: dict[str, list[int]] = defaultdict(list)
    for recording_id, facts in key.items():
        if manifests[recording_id]["call_type"] == "discovery":
            depth[manifests[recording_id]["host"]["email"]].append(len(facts["discovery_topics"]))
    maya, liam = depth["maya.chen@lumen.example"], depth["liam.walsh@lumen.example"]
    assert maya and liam and min(maya) > max(liam)


def test_transcripts_are_not_a_handful_of_templates(corpus: Path) -> None:
    texts = [" ".join(u.text for u in _transcript_of(corpus, m).utterances) for m in _manifests(corpus)]
    assert len(set(texts)) == len(texts)
    openings = {t[:80] for t in texts}
    assert len(openings) >= 15


def test_allocate_keeps_proportions_and_covers_every_label() -> None:
    import random

    labels = allocate(random.Random(1), 100, {"a": 0.7, "b": 0.2, "c": 0.1})
    assert (labels.count("a"), labels.count("b"), labels.count("c")) == (70, 20, 10)
    small = allocate(random.Random(1), 3, {"a": 0.98, "b": 0.01, "c": 0.01})
    assert sorted(small) == ["a", "b", "c"]


def test_without_base_url_there_are_no_url_media(tmp_path: Path) -> None:
    summary = generate(tmp_path / "c", seed=3, recordings=12)
    kinds = {m["media"]["kind"] for m in _manifests(tmp_path / "c")}
    assert kinds == {"audio_file", "video_file", "transcript_file"}
    assert summary.recordings == 12 and sum(summary.by_media_kind.values()) == 12


def test_refuses_a_folder_that_is_not_a_corpus(tmp_path: Path) -> None:
    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DemoDataError, match=r"not empty.*demo-corpus\.json"):
        generate(foreign, seed=1, recordings=5)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]  # nothing written


def test_refuses_a_previous_corpus_with_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "c"
    generate(out, seed=1, recordings=5)
    (out / "manifests" / "my-own.json").write_text("{}")
    with pytest.raises(DemoDataError, match=r"my-own\.json"):
        generate(out, seed=1, recordings=5)
    assert (out / "manifests" / "my-own.json").exists()


def test_regenerating_replaces_a_previous_corpus(tmp_path: Path) -> None:
    out = tmp_path / "c"
    generate(out, seed=1, recordings=20)
    summary = generate(out, seed=1, recordings=6)
    assert len(_manifests(out)) == 6
    assert len(list((out / "media").iterdir())) == 6
    assert json.loads((out / CORPUS_MARKER).read_text())["recordings"] == 6
    assert "6 recordings" in str(summary)


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(DemoDataError, match="recordings"):
        generate(tmp_path / "a", seed=1, recordings=0)
    with pytest.raises(DemoDataError, match="media_base_url"):
        generate(tmp_path / "b", seed=1, recordings=3, media_base_url="ftp://x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DemoDataError, match="not a folder"):
        generate(tmp_path / "file", seed=1, recordings=3)


def test_cli_demo_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    code = cli_main(
        ["demo-data", "--out", str(out), "--seed", "5", "--recordings", "9", "--media-base-url", BASE_URL]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "9 recordings" in printed and "Customer Success" in printed and "audio_file" in printed
    assert len(_manifests(out)) == 9
