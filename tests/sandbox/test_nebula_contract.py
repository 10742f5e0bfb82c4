"""The Nebula stand-in over real HTTP on loopback: ApiKey auth, generate, chat, and field-naming 400s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.nebula.app import build_nebula_app
from sandbox.server import ServedApp

KEY = "nebula-contract-key"
CONVERSATION = (
    "Maya Chen: Thanks for joining today. I wanted to walk through the renewal.\n"
    "Hank Scorpio: Sure. Our main concern is pricing, the renewal price went up twenty percent.\n"
    "Maya Chen: I understand the pricing concern. We can offer a multi-year discount on the renewal.\n"
    "Hank Scorpio: A discount on the renewal would help. Send the renewal proposal by Friday.\n"
    "Maya Chen: Will do. I will send the renewal proposal with the discount by Friday.\n"
    "Hank Scorpio: Great, the weather here is lovely by the way."
)


@pytest.fixture(scope="module")
def nebula(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    config = SandboxConfig(data_dir=Path(tmp_path_factory.mktemp("nebula")), nebula_api_key=KEY)
    with (
        ServedApp(build_nebula_app(config)) as served,
        httpx.Client(base_url=served.base_url, headers={"ApiKey": KEY}, timeout=10) as client,
    ):
        yield client


def generate(client: httpx.Client, instruction: str, max_new_tokens: int = 200) -> dict[str, Any]:
    body = {
        "prompt": {"instruction": instruction, "conversation": {"text": CONVERSATION}},
        "max_new_tokens": max_new_tokens,
        "temperature": 0.7,
    }
    response = client.post("/v1/model/generate", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def sentences_of_conversation() -> str:
    return " ".join(line.split(": ", 1)[1] for line in CONVERSATION.splitlines())


@pytest.mark.parametrize("path", ["/v1/model/generate", "/v1/model/chat"])
@pytest.mark.parametrize(
    "headers",
    [{"ApiKey": ""}, {"ApiKey": "wrong"}, {"ApiKey": "", "Authorization": f"Bearer {KEY}"}],
)
def test_only_the_apikey_header_authenticates(
    nebula: httpx.Client, path: str, headers: dict[str, str]
) -> None:
    response = nebula.post(path, json={"prompt": "Summarize: hi"}, headers=headers)
    assert response.status_code == 401
    assert "ApiKey" in response.json()["message"]


def test_summary_is_extractive_and_bounded(nebula: httpx.Client) -> None:
    result = generate(nebula, "Summarize this conversation.")
    text = result["output"]["text"]
    assert text and result["model"] == "nebula-chat-large"
    assert text in sentences_of_conversation() or all(
        s.strip() in sentences_of_conversation() for s in text.split(". ") if s.strip()
    )
    assert "renewal" in text.lower()
    assert "weather" not in text  # the least representative sentence is left out
    stats = result["stats"]
    assert stats["output_tokens"] == len(text.split()) <= 200
    assert stats["input_tokens"] == 3 + len(CONVERSATION.split())  # instruction words + conversation words
    assert stats["total_tokens"] == stats["input_tokens"] + stats["output_tokens"]
    assert stats["finish_reason"] == "stop"


def test_max_new_tokens_caps_the_output(nebula: httpx.Client) -> None:
    result = generate(nebula, "Summarize this conversation.", max_new_tokens=5)
    assert len(result["output"]["text"].split()) == 5 == result["stats"]["output_tokens"]
    assert result["stats"]["finish_reason"] == "length"


def test_other_instructions_get_the_most_relevant_sentences(nebula: httpx.Client) -> None:
    answer = generate(nebula, "What discount was offered?")["output"]["text"]
    assert "We can offer a multi-year discount on the renewal." in answer
    assert "weather" not in answer and "Thanks for joining" not in answer
    absent = generate(nebula, "What did they say about onboarding?")["output"]["text"]
    assert absent == "The conversation does not mention onboarding."


def test_generation_is_deterministic_and_accepts_a_string_prompt(nebula: httpx.Client) -> None:
    assert generate(nebula, "Summarize this conversation.") == generate(
        nebula, "Summarize this conversation."
    )
    prompt = "What is the main concern?\n" + CONVERSATION
    response = nebula.post("/v1/model/generate", json={"prompt": prompt})
    assert response.status_code == 200
    assert "Our main concern is pricing" in response.json()["output"]["text"]


def test_chat_appends_an_assistant_reply(nebula: httpx.Client) -> None:
    messages = [
        {"role": "human", "text": CONVERSATION},
        {"role": "assistant", "text": "I have read the conversation."},
        {"role": "human", "text": "When is the proposal due?"},
    ]
    response = nebula.post(
        "/v1/model/chat", json={"system_prompt": "You are a sales assistant.", "messages": messages}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["messages"][:3] == messages
    reply = body["messages"][3]
    assert reply["role"] == "assistant"
    assert "proposal" in reply["text"] and "Friday" in reply["text"]
    assert body["stats"]["output_tokens"] == len(reply["text"].split())


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/model/generate", {}, "prompt"),
        ("/v1/model/generate", {"prompt": 42}, "prompt"),
        ("/v1/model/generate", {"prompt": {"conversation": {"text": "x"}}}, "prompt.instruction"),
        ("/v1/model/generate", {"prompt": {"instruction": "Summarize"}}, "prompt.conversation.text"),
        ("/v1/model/generate", {"prompt": "Summarize", "max_new_tokens": "ten"}, "max_new_tokens"),
        ("/v1/model/generate", {"prompt": "Summarize", "max_new_tokens": 0}, "max_new_tokens"),
        ("/v1/model/generate", {"prompt": "Summarize", "temperature": "hot"}, "temperature"),
        ("/v1/model/chat", {"messages": []}, "messages"),
        ("/v1/model/chat", {"messages": [{"role": "robot", "text": "hi"}]}, "messages[0].role"),
        ("/v1/model/chat", {"messages": [{"role": "human"}]}, "messages[0].text"),
        ("/v1/model/chat", {"messages": [{"role": "assistant", "text": "hi"}]}, "messages"),
        (
            "/v1/model/chat",
            {"system_prompt": 1, "messages": [{"role": "human", "text": "hi"}]},
            "system_prompt",
        ),
    ],
)
def test_malformed_bodies_name_the_field(
    nebula: httpx.Client, path: str, body: dict[str, Any], field: str
) -> None:
    response = nebula.post(path, json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["message"]


def test_a_body_that_is_not_json_is_a_400(nebula: httpx.Client) -> None:
    response = nebula.post("/v1/model/generate", content=b"prompt=hi")
    assert response.status_code == 400 and response.json()["field"] == "body"
