"""CRM write-back: an async client for HubSpot's CRM v3 objects API (batch upsert by a unique property), and the
Dagster resource that configures it.

Upserting by a unique property (our conversation id) instead of creating objects is what makes the write-back
idempotent: a re-sent batch updates the same objects, never duplicates them. 429 (HubSpot's rate limits) and 5xx
answers and transport failures are retried with backoff, honouring ``Retry-After`` when present. The access
token is sent as a Bearer header only; it never appears in an exception message or a log line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import Field, model_validator

from orchestration.http import Bounds, ResponseTooLarge, Retries, Sleep, VendorClient, Waits
from orchestration.settings import (
    SANDBOX_CRM_ACCESS_TOKEN,
    SANDBOX_CRM_BASE_URL,
    CrmSettings,
    SettingsResource,
    require_real_credentials,
)

BATCH_LIMIT = 100  # HubSpot's maximum inputs per batch request
# Whole-request bound (connect + complete answer) and answer size cap: a batch answer is ~100 small objects.
DEFAULT_REQUEST_DEADLINE_SECONDS = 60.0
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
DEFAULT_ID_PROPERTY = "convo_intel_conversation_id"

PropertyValue = str | int | float | bool | None


class CrmAPIError(Exception):
    """The CRM refused a request, or stayed unavailable through every retry (``status`` None: no answer)."""

    def __init__(self, status: int | None, category: str, message: str, endpoint: str) -> None:
        self.status = status
        self.category = category
        self.message = message
        self.endpoint = endpoint
        shown = status if status is not None else "no response"
        super().__init__(f"CRM {endpoint} failed ({shown}, {category}): {message}")

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class UpsertedObject:
    id_value: str  # the idProperty value we sent (our conversation id)
    crm_id: str  # the CRM's object id
    new: bool  # created by this upsert (False: an existing object was updated)


class CrmClient(VendorClient):
    """One object type of the CRM. Use as ``async with CrmClient(...) as crm:``."""

    vendor = "CRM"

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        object_type: str = "calls",
        id_property: str = DEFAULT_ID_PROPERTY,
        request_timeout_seconds: float = 30.0,
        request_deadline_seconds: float = DEFAULT_REQUEST_DEADLINE_SECONDS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        retry: Retries = Retries(max_retries=5),
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            bounds=Bounds(request_timeout_seconds, request_deadline_seconds, max_response_bytes),
            retries=retry,
            headers={"Authorization": f"Bearer {access_token}"},
            transport=transport,
            sleep=sleep,
        )
        self.object_type = object_type
        self.id_property = id_property

    async def __aenter__(self) -> CrmClient:
        return self

    def _no_answer(self, exc: httpx.TransportError, endpoint: str) -> Exception:
        return CrmAPIError(None, type(exc).__name__, "no answer after retries", endpoint)

    def _too_large(self, exc: ResponseTooLarge, endpoint: str) -> Exception:
        return CrmAPIError(200, "INVALID_RESPONSE", str(exc), endpoint)

    def _redirected(self, response: httpx.Response, reason: str, endpoint: str) -> Exception:
        # Not a success: nothing was written, whatever the status family suggests.
        return CrmAPIError(response.status_code, "REDIRECT", reason, endpoint)

    def _refused(self, response: httpx.Response, endpoint: str) -> Exception:
        return _api_error(response, endpoint)

    async def batch_upsert(
        self, objects: Sequence[tuple[str, Mapping[str, PropertyValue]]]
    ) -> list[UpsertedObject]:
        """Create or update up to ``BATCH_LIMIT`` objects, each keyed by its idProperty value.

        ``objects`` is ``[(id_value, properties), ...]``. Results come back in the inputs' order (HubSpot does
        not promise an order, so they are matched on the idProperty value).
        """
        if not objects:
            return []
        if len(objects) > BATCH_LIMIT:
            raise ValueError(f"at most {BATCH_LIMIT} objects per batch; got {len(objects)}")
        endpoint = f"/crm/v3/objects/{quote(self.object_type)}/batch/upsert"
        body = {
            "inputs": [
                {"idProperty": self.id_property, "id": id_value, "properties": dict(properties)}
                for id_value, properties in objects
            ]
        }
        response = await self._send("POST", endpoint, endpoint=endpoint, json=body)
        by_value: dict[str, UpsertedObject] = {}
        for result in _results(_decode_json(response, endpoint), response.status_code, endpoint):
            value = str(result["properties"].get(self.id_property, ""))
            by_value[value] = UpsertedObject(value, str(result["id"]), result.get("new") is True)
        missing = [id_value for id_value, _ in objects if id_value not in by_value]
        if missing:
            raise CrmAPIError(200, "INCOMPLETE_RESULT", f"no result for {len(missing)} inputs", endpoint)
        return [by_value[id_value] for id_value, _ in objects]

    async def get_by_id_value(self, id_value: str) -> dict[str, Any] | None:
        """The object holding ``id_value`` in the idProperty, or None."""
        endpoint = f"/crm/v3/objects/{quote(self.object_type)}/{quote(id_value, safe='')}"
        response = await self._send(
            "GET", endpoint, endpoint=endpoint, params={"idProperty": self.id_property}, allow={404}
        )
        if response.status_code == 404:
            return None
        body = _decode_json(response, endpoint)
        if not isinstance(body, dict):
            raise CrmAPIError(
                response.status_code, "INVALID_RESPONSE", "object is not a JSON object", endpoint
            )
        return body


def _decode_json(response: httpx.Response, endpoint: str) -> Any:
    """The answer's JSON, or ``INVALID_RESPONSE``: an unreadable 2xx must never count as written."""
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        raise CrmAPIError(
            response.status_code, "INVALID_RESPONSE", f"answer is not JSON ({type(exc).__name__})", endpoint
        ) from None


def _results(body: Any, status: int, endpoint: str) -> list[dict[str, Any]]:
    """The batch answer's ``results``, each with an ``id`` and a ``properties`` object, else INVALID_RESPONSE."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise CrmAPIError(status, "INVALID_RESPONSE", "batch answer has no results list", endpoint)
    for result in results:
        if (
            not isinstance(result, dict)
            or not isinstance(result.get("id"), (str, int))
            or isinstance(result.get("id"), bool)
            or not isinstance(result.get("properties"), dict)
        ):
            raise CrmAPIError(status, "INVALID_RESPONSE", "a batch result lacks id/properties", endpoint)
    return results


def _api_error(response: httpx.Response, endpoint: str) -> CrmAPIError:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    category = str(body.get("category") or response.reason_phrase or "ERROR")
    message = str(body.get("message") or response.text[:200] or "no message")
    return CrmAPIError(response.status_code, category, message, endpoint)


class CrmResource(SettingsResource):
    """A HubSpot-style CRM (private-app token). Fields not given come from CRM_BASE_URL and CRM_ACCESS_TOKEN
    (else the sandbox's stand-in and its token, which only the sandbox on loopback receives)."""

    settings_section = CrmSettings

    base_url: str = Field(
        default=SANDBOX_CRM_BASE_URL,
        description="CRM API base URL (https://api.hubapi.com; env CRM_BASE_URL).",
    )
    access_token: str = Field(
        default=SANDBOX_CRM_ACCESS_TOKEN,
        description="Private-app access token (a secret; env CRM_ACCESS_TOKEN).",
    )
    object_type: str = Field(default="calls", description="CRM object type conversations are written as.")
    id_property: str = Field(
        default=DEFAULT_ID_PROPERTY,
        description="Unique-value property holding our conversation id (must exist in the CRM portal).",
    )
    request_timeout_seconds: float = Field(default=30.0, description="Per-request timeout.")
    request_deadline_seconds: float = Field(
        default=DEFAULT_REQUEST_DEADLINE_SECONDS,
        description="Overall bound on one request (connect + answer).",
    )
    max_retries: int = Field(default=5, description="Retries of a 429/5xx/transport failure per request.")
    backoff_initial_seconds: float = Field(
        default=1.0, description="First retry delay ceiling (no Retry-After)."
    )

    @model_validator(mode="after")
    def _sandbox_credentials_only_on_loopback(self) -> CrmResource:
        require_real_credentials(self.base_url, {"CRM_ACCESS_TOKEN": self.access_token})
        return self

    def client(self) -> CrmClient:
        """A new client; use it as ``async with resource.client() as crm:`` inside one event loop."""
        return CrmClient(
            self.base_url,
            self.access_token,
            object_type=self.object_type,
            id_property=self.id_property,
            request_timeout_seconds=self.request_timeout_seconds,
            request_deadline_seconds=self.request_deadline_seconds,
            retry=Retries(
                max_retries=self.max_retries,
                waits=Waits(initial_seconds=self.backoff_initial_seconds, max_seconds=30.0),
            ),
        )
