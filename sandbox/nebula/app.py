"""The Nebula stand-in (mounted at /nebula): ``POST /v1/model/generate`` and ``POST /v1/model/chat``.

Authentication is the ``ApiKey`` header (not the Symbl OAuth token, and not a Bearer header). Malformed bodies
get 400 ``{"message", "field"}`` naming the offending field.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.config import SandboxConfig
from sandbox.nebula.model import Generation, count_tokens, generate

DEFAULT_MODEL = "nebula-chat-large"
DEFAULT_MAX_NEW_TOKENS = 256
MAX_NEW_TOKENS_LIMIT = 4096
CHAT_ROLES = ("human", "assistant")


class _BadField(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field


def build_nebula_app(config: SandboxConfig) -> Starlette:
    def authorised(request: Request) -> bool:
        key = request.headers.get("apikey", "")
        return bool(key) and hmac.compare_digest(key.encode(), config.nebula_api_key.encode())

    async def model_generate(request: Request) -> Response:
        if not authorised(request):
            return _unauthorised()
        try:
            body = await _json_object(request)
            instruction, source = _prompt(body.get("prompt"))
            options = _options(body)
        except _BadField as bad:
            return _bad_request(bad)
        prompt_tokens = count_tokens(instruction) + (count_tokens(source) if source != instruction else 0)
        result = await run_in_threadpool(
            generate, instruction, source, options["max_new_tokens"], prompt_tokens
        )
        return JSONResponse(
            {"model": options["model"], "output": {"text": result.text}, "stats": _stats(result)}
        )

    async def model_chat(request: Request) -> Response:
        if not authorised(request):
            return _unauthorised()
        try:
            body = await _json_object(request)
            system_prompt = body.get("system_prompt", "")
            if not isinstance(system_prompt, str):
                raise _BadField("system_prompt", "must be a string")
            messages = _messages(body.get("messages"))
            options = _options(body)
        except _BadField as bad:
            return _bad_request(bad)
        # The question is the last human message; everything said before it is what the answer draws on.
        last_human = max(i for i, m in enumerate(messages) if m["role"] == "human")
        question = messages[last_human]["text"]
        source = "\n".join([system_prompt, *(m["text"] for m in messages[:last_human])]).strip()
        prompt_tokens = count_tokens(system_prompt) + sum(count_tokens(m["text"]) for m in messages)
        result = await run_in_threadpool(generate, question, source, options["max_new_tokens"], prompt_tokens)
        reply = {"role": "assistant", "text": result.text}
        return JSONResponse(
            {"model": options["model"], "messages": [*messages, reply], "stats": _stats(result)}
        )

    return Starlette(
        routes=[
            Route("/v1/model/generate", model_generate, methods=["POST"]),
            Route("/v1/model/chat", model_chat, methods=["POST"]),
        ]
    )


def _unauthorised() -> JSONResponse:
    return JSONResponse({"message": "Missing or invalid ApiKey header."}, status_code=401)


def _bad_request(bad: _BadField) -> JSONResponse:
    return JSONResponse({"message": str(bad), "field": bad.field}, status_code=400)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise _BadField("body", "must be a JSON object")
    return body


def _prompt(prompt: Any) -> tuple[str, str]:
    """(instruction, text to work from). A plain string prompt is both: its first line usually instructs."""
    if isinstance(prompt, str) and prompt.strip():
        first, _, rest = prompt.strip().partition("\n")
        return first, rest if rest.strip() else prompt
    if isinstance(prompt, dict):
        instruction = prompt.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            raise _BadField("prompt.instruction", "must be a non-empty string")
        conversation = prompt.get("conversation")
        if not isinstance(conversation, dict) or not isinstance(conversation.get("text"), str):
            raise _BadField("prompt.conversation.text", "must be a string")
        return instruction, conversation["text"]
    raise _BadField(
        "prompt", "must be a non-empty string or an object with instruction and conversation.text"
    )


def _options(body: dict[str, Any]) -> dict[str, Any]:
    max_new_tokens = body.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
        raise _BadField("max_new_tokens", "must be an integer")
    if not 1 <= max_new_tokens <= MAX_NEW_TOKENS_LIMIT:
        raise _BadField("max_new_tokens", f"must be between 1 and {MAX_NEW_TOKENS_LIMIT}")
    temperature = body.get("temperature", 0.0)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        raise _BadField("temperature", "must be a number between 0 and 2")
    model = body.get("model", DEFAULT_MODEL)
    if not isinstance(model, str) or not model:
        raise _BadField("model", "must be a non-empty string")
    return {"max_new_tokens": max_new_tokens, "model": model}


def _messages(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise _BadField("messages", "must be a non-empty list")
    messages = []
    for i, message in enumerate(raw):
        if not isinstance(message, dict):
            raise _BadField(f"messages[{i}]", "must be an object")
        if message.get("role") not in CHAT_ROLES:
            raise _BadField(f"messages[{i}].role", "must be human or assistant")
        if not isinstance(message.get("text"), str):
            raise _BadField(f"messages[{i}].text", "must be a string")
        messages.append({"role": message["role"], "text": message["text"]})
    if not any(m["role"] == "human" for m in messages):
        raise _BadField("messages", "must contain at least one human message")
    return messages


def _stats(result: Generation) -> dict[str, Any]:
    return {
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "total_tokens": result.input_tokens + result.output_tokens,
        "finish_reason": result.finish_reason,
    }
