"""Validation by declaration: the one helper that words pydantic's errors, the JSON door, and the inputs that
gained a check with the move (transcripts refuse ambiguous JSON, sandbox settings name a bad variable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestration.defs.recordings.source import MediaError, validate_transcript
from orchestration.defs.symbl.trackers import TrackerFileError, load_tracker_definitions
from orchestration.validation import (
    DuplicateKeyError,
    JsonInputError,
    Problem,
    field_path,
    first_problem,
    loads_strict,
    problems,
    required_text,
    text,
)
from sandbox.config import SandboxConfig


class Speaker(BaseModel):
    model_config = ConfigDict(strict=True)
    name: required_text(20)
    email: text(320) | None = None


class Message(BaseModel):
    model_config = ConfigDict(strict=True)
    id: str
    speaker: Speaker
    start: float | None = None
    words: Annotated[list[str], Field(max_length=2)] = []


class Doc(BaseModel):
    model_config = ConfigDict(strict=True)
    messages: Annotated[list[Message], Field(min_length=1)]


def reason(doc: Any) -> str:
    with pytest.raises(ValidationError) as info:
        Doc.model_validate(doc)
    return first_problem(info.value).joined()


def test_field_paths_are_json_notation() -> None:
    assert field_path(("messages", 3, "from", "name")) == "messages[3].from.name"
    assert field_path((0, "output")) == "[0].output"
    assert field_path((2, "text"), prefix="entities[0]") == "entities[0][2].text"
    assert field_path(("id",), prefix="recording") == "recording.id"
    assert field_path(()) == ""


def ok_message(**changes: Any) -> dict[str, Any]:
    return {"id": "m1", "speaker": {"name": "Maya"}, **changes}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({}, "messages is required"),
        ({"messages": None}, "messages is required"),
        ({"messages": []}, "messages must not be empty"),
        ({"messages": {"id": "m1"}}, "messages must be a list, not an object"),
        ({"messages": [ok_message(), None]}, "messages[1] must be an object, not null"),
        ({"messages": [ok_message(), "m2"]}, "messages[1] must be an object, not a string"),
        ({"messages": [ok_message(id=7)]}, "messages[0].id must be a string, not a number"),
        (
            {"messages": [ok_message(speaker={"name": 5})]},
            "messages[0].speaker.name must be a string, not a number",
        ),
        ({"messages": [ok_message(speaker={"name": " "})]}, "messages[0].speaker.name must not be empty"),
        (
            {"messages": [ok_message(speaker={"name": "x" * 21})]},
            "messages[0].speaker.name is 21 characters; the limit is 20",
        ),
        (
            {"messages": [ok_message(speaker={"name": "Eve\u202e"})]},
            "messages[0].speaker.name contains a control character (U+202E)",
        ),
        ({"messages": [ok_message(start=True)]}, "messages[0].start must be a number, not a boolean"),
        (
            {"messages": [ok_message(words=["a", "b", "c"])]},
            "messages[0].words lists 3 items; the limit is 2",
        ),
    ],
)
def test_causes_name_the_field_and_what_was_wrong(doc: Any, expected: str) -> None:
    assert reason(doc) == expected


class Bounded(BaseModel):
    model_config = ConfigDict(strict=True)
    score: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0
    kind: Literal["audio", "video"] = "audio"


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"score": -1}, "score must be greater than or equal to 0, not -1"),
        ({"score": float("inf")}, "score must be a finite number, not inf"),
        ({"kind": "hologram"}, "kind must be 'audio' or 'video'"),
    ],
)
def test_bounds_and_choices_keep_the_same_voice(doc: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        Bounded.model_validate(doc)
    assert first_problem(info.value).joined() == expected


def test_the_first_problem_is_the_first_wrong_field_in_declaration_order() -> None:
    with pytest.raises(ValidationError) as info:
        Doc.model_validate({"messages": [ok_message(speaker={"name": 5}, id=None), ok_message(start="x")]})
    assert problems(info.value) == [
        Problem("messages[0].id", "is required"),
        Problem("messages[0].speaker.name", "must be a string, not a number"),
        Problem("messages[1].start", "must be a number, not a string"),
    ]
    assert first_problem(info.value, "body").joined(": ") == "body.messages[0].id: is required"


def test_text_is_stripped_and_blank_optional_text_is_absent() -> None:
    message = Doc.model_validate(
        {"messages": [ok_message(speaker={"name": "  Maya ", "email": "  "})]}
    ).messages[0]
    assert (message.speaker.name, message.speaker.email) == ("Maya", None)


@pytest.mark.parametrize(
    ("raw", "error", "fragment"),
    [
        ('{"a": 1, "a": 2}', DuplicateKeyError, "a: the key appears twice in one object"),
        ('{"a": [{"b": 1, "b": 1}]}', DuplicateKeyError, "b: the key appears twice"),
        ('{"a": NaN}', JsonInputError, "contains NaN, which is not valid JSON"),
        ('{"a": -Infinity}', JsonInputError, "contains -Infinity"),
    ],
)
def test_the_door_refuses_ambiguous_json(raw: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        loads_strict(raw)
    assert loads_strict('{"a": {"a": 1}}') == {"a": {"a": 1}}  # the same key in two objects is fine


TRANSCRIPT = {
    "format": "convo-intel-transcript",
    "messages": [{"speaker": {"name": "Maya"}, "text": "Hi", "start": 0, "end": 1}],
}


def test_a_transcript_with_a_repeated_key_or_nan_is_refused_naming_the_recording() -> None:
    assert validate_transcript(json.dumps(TRANSCRIPT).encode(), "rec-1") == TRANSCRIPT
    repeated = json.dumps(TRANSCRIPT).replace('"text": "Hi"', '"text": "Hi", "text": "Bye"')
    with pytest.raises(MediaError, match=r"rec-1: transcript is not valid: text: the key appears twice"):
        validate_transcript(repeated.encode(), "rec-1")
    with pytest.raises(MediaError, match="rec-1: transcript is not valid: contains NaN"):
        validate_transcript(json.dumps(TRANSCRIPT).replace('"end": 1', '"end": NaN').encode(), "rec-1")
    with pytest.raises(MediaError, match=r"rec-1: transcript is not valid: JSON nested too deeply"):
        validate_transcript(b"[" * 100_000, "rec-1")


def test_tracker_file_errors_name_the_tracker_and_the_path(tmp_path: Path) -> None:
    path = tmp_path / "trackers.yaml"
    path.write_text("trackers:\n  - name: Deals\n    vocabulary: [price, 7]\n")
    with pytest.raises(TrackerFileError) as info:
        load_tracker_definitions(path)
    assert (
        str(info.value)
        == f"{path}: tracker 'Deals' (trackers[0].vocabulary[1]) must be a string, not a number"
    )
    path.write_text("trackers:\n  - name: A\n    vocabulary: [x]\n  - name: a\n    vocabulary: [y]\n")
    with pytest.raises(TrackerFileError, match=r"trackers: tracker 'a' is defined twice"):
        load_tracker_definitions(path)


def test_sandbox_settings_parse_env_strings_by_type_and_name_a_bad_variable() -> None:
    config = SandboxConfig.from_env(
        {
            "SANDBOX_CONCURRENT_JOB_LIMIT": " 3",
            "SANDBOX_INSIGHT_FROM_EMAIL": "Yes",
            "SANDBOX_FAULT_PATHS": "/symbl/v1/job, ,/semarize",
            "SYMBL_APP_ID": "from-the-pipeline-name",
            "SANDBOX_SYMBL_APP_ID": "from-the-sandbox-name",
            "SANDBOX_PROCESSING_FACTOR": "",  # empty is unset
        },
        data_dir="/tmp/somewhere",
    )
    assert (config.concurrent_job_limit, config.insight_from_email) == (3, True)
    assert config.fault_paths == ("/symbl/v1/job", "/semarize")
    assert config.symbl_app_id == "from-the-pipeline-name"
    assert config.processing_factor == SandboxConfig().processing_factor
    assert config.data_dir == Path("/tmp/somewhere")
    with pytest.raises(ValueError, match=r"^SANDBOX_CONCURRENT_JOB_LIMIT: .*integer.*'many'"):
        SandboxConfig.from_env({"SANDBOX_CONCURRENT_JOB_LIMIT": "many"})
    with pytest.raises(ValueError, match=r"^SANDBOX_SPEAKER_IDENTITY: .*'production' or 'transcript'"):
        SandboxConfig.from_env({"SANDBOX_SPEAKER_IDENTITY": "friendly"})
    with pytest.raises(ValueError, match="extra"):
        SandboxConfig(no_such_knob=1)  # type: ignore[call-arg]
    assert config.replace(concurrent_job_limit="7").concurrent_job_limit == 7
    with pytest.raises(ValueError):
        config.replace(entities_generation="2021")
