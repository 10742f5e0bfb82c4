"""Submit options of the Async API: read from a JSON body and/or the query string, validated, typed.

The same option can arrive in several documented encodings: JSON body values for text/URL endpoints; query-
string values for raw uploads (arrays/objects JSON-encoded or as repeated keys, booleans as "true"/"false");
and the diarization pair in the query string even on URL endpoints. Body values win over query values. Unknown
fields are ignored, as the contract says. Every error names the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import QueryParams

from sandbox.symbl.errors import bad_request

_KINDS: dict[str, str] = {
    "name": "str",
    "webhookUrl": "str",
    "confidenceThreshold": "float",
    "customVocabulary": "list",
    "detectPhrases": "bool",
    "detectEntities": "bool",
    "entities": "list",
    "languageCode": "str",
    "mode": "str",
    "enableSeparateRecognitionPerChannel": "bool",
    "channelMetadata": "list",
    "trackers": "list",
    "enableAllTrackers": "bool",
    "enableSummary": "bool",
    "enableSpeakerDiarization": "bool",
    "diarizationSpeakerCount": "int",
    "metadata": "object",
}
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
MAX_CUSTOM_VOCABULARY = 1000


@dataclass(frozen=True)
class SubmitOptions:
    name: str | None = None
    webhook_url: str | None = None
    confidence_threshold: float = 0.5
    custom_vocabulary: tuple[str, ...] = ()
    detect_phrases: bool = False
    detect_entities: bool = False
    custom_entities: tuple[dict[str, Any], ...] = ()
    language_code: str = "en-US"
    mode: str = "default"
    enable_separate_recognition_per_channel: bool = False
    channel_metadata: tuple[dict[str, Any], ...] = ()
    trackers: tuple[dict[str, Any], ...] = ()
    enable_all_trackers: bool = False
    enable_summary: bool = False
    enable_speaker_diarization: bool = False
    diarization_speaker_count: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SubmitOptions:
        tuples = {"custom_vocabulary", "custom_entities", "channel_metadata", "trackers"}
        return cls(**{k: tuple(v) if k in tuples else v for k, v in raw.items()})


def parse_options(body: dict[str, Any] | None, query: QueryParams) -> SubmitOptions:
    """Merge query-string and body options (body wins) and validate them."""
    raw: dict[str, Any] = {}
    for key, kind in _KINDS.items():
        if key in query:
            raw[key] = _from_query(key, kind, query)
    for key, value in (body or {}).items():
        if key in _KINDS and value is not None:
            raw[key] = _from_json(key, _KINDS[key], value)
    return _validate(raw)


def _from_query(key: str, kind: str, query: QueryParams) -> Any:
    values = query.getlist(key)
    value = values[-1]
    if kind == "list":
        if len(values) == 1 and value.lstrip().startswith("["):
            return _json(key, value)
        # Repeated keys: each value is a string item or a JSON-encoded object item.
        return [_json(key, v) if v.lstrip().startswith("{") else v for v in values]
    if kind == "object":
        return _json(key, value)
    return _from_json(key, kind, value)


def _from_json(key: str, kind: str, value: Any) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise bad_request(f"{key} must be a boolean (true or false).")
    if kind in {"float", "int"}:
        if isinstance(value, bool):
            raise bad_request(f"{key} must be a number.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad_request(f"{key} must be a number.") from None
        if kind == "int":
            if number != int(number):
                raise bad_request(f"{key} must be an integer.")
            return int(number)
        return number
    if kind == "str":
        if not isinstance(value, str):
            raise bad_request(f"{key} must be a string.")
        return value
    if kind == "list":
        if isinstance(value, str) and value.lstrip().startswith("["):
            value = _json(key, value)
        if not isinstance(value, list):
            raise bad_request(f"{key} must be an array.")
        return value
    if isinstance(value, str):
        value = _json(key, value)
    if not isinstance(value, dict):
        raise bad_request(f"{key} must be an object.")
    return value


def _json(key: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise bad_request(f"{key} is not valid JSON.") from None


def _validate(raw: dict[str, Any]) -> SubmitOptions:
    threshold = raw.get("confidenceThreshold", 0.5)
    if not 0.5 <= threshold <= 1.0:
        raise bad_request("confidenceThreshold must be between 0.5 and 1.0.")
    webhook_url = raw.get("webhookUrl")
    if webhook_url is not None:
        validate_http_url("webhookUrl", webhook_url)
    language = raw.get("languageCode", "en-US")
    if not _LANGUAGE_CODE.match(language):
        raise bad_request("languageCode must look like 'en-US'.")
    mode = raw.get("mode", "default")
    if mode not in {"default", "phone"}:
        raise bad_request("mode must be 'phone' or 'default'.")
    vocabulary = raw.get("customVocabulary", [])
    if (
        not all(isinstance(v, str) and v.strip() for v in vocabulary)
        or len(vocabulary) > MAX_CUSTOM_VOCABULARY
    ):
        raise bad_request(f"customVocabulary must be at most {MAX_CUSTOM_VOCABULARY} non-empty strings.")
    speaker_count = raw.get("diarizationSpeakerCount")
    if speaker_count is not None and speaker_count < 1:
        raise bad_request("diarizationSpeakerCount must be a positive integer.")
    return SubmitOptions(
        name=raw.get("name"),
        webhook_url=webhook_url,
        confidence_threshold=threshold,
        custom_vocabulary=tuple(vocabulary),
        detect_phrases=raw.get("detectPhrases", False),
        detect_entities=raw.get("detectEntities", False),
        custom_entities=tuple(_custom_entities(raw.get("entities", []))),
        language_code=language,
        mode=mode,
        enable_separate_recognition_per_channel=raw.get("enableSeparateRecognitionPerChannel", False),
        channel_metadata=tuple(_channel_metadata(raw.get("channelMetadata", []))),
        trackers=tuple(_inline_trackers(raw.get("trackers", []))),
        enable_all_trackers=raw.get("enableAllTrackers", False),
        enable_summary=raw.get("enableSummary", False),
        enable_speaker_diarization=raw.get("enableSpeakerDiarization", False),
        diarization_speaker_count=speaker_count,
        metadata=raw.get("metadata", {}),
    )


def validate_http_url(key: str, url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise bad_request(f"{key} must be a non-empty URL string.")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise bad_request(f"{key} is not a valid URL.") from None
    if parts.scheme not in {"http", "https"}:
        raise bad_request(f"{key} must be an http or https URL.")
    if not parts.hostname:
        raise bad_request(f"{key} must include a host.")
    return url.strip()


def _custom_entities(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"entities[{i}] must be an object.")
        for key in ("customType", "value", "text"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise bad_request(f"entities[{i}].{key} must be a non-empty string.")
        out.append({k: item[k] for k in ("customType", "value", "text")})
    return out


def _channel_metadata(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or isinstance(item.get("channel"), bool):
            raise bad_request(f"channelMetadata[{i}] must be an object with a channel number.")
        if not isinstance(item.get("channel"), int) or item["channel"] < 1:
            raise bad_request(f"channelMetadata[{i}].channel must be a positive integer.")
        speaker = item.get("speaker")
        if not isinstance(speaker, dict) or not isinstance(speaker.get("name"), str):
            raise bad_request(f"channelMetadata[{i}].speaker.name is required.")
        out.append({"channel": item["channel"], "speaker": speaker})
    return out


def _inline_trackers(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"trackers[{i}] must be an object with name and vocabulary.")
        name = item.get("name")
        vocabulary = item.get("vocabulary")
        if not isinstance(name, str) or not name.strip():
            raise bad_request(f"trackers[{i}].name must be a non-empty string.")
        if (
            not isinstance(vocabulary, list)
            or not vocabulary
            or not all(isinstance(v, str) and v.strip() for v in vocabulary)
        ):
            raise bad_request(f"trackers[{i}].vocabulary must be a non-empty array of strings.")
        out.append({"name": name.strip(), "vocabulary": [v.strip() for v in vocabulary]})
    return out
