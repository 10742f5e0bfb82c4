"""Naming JSON value types in error messages ("expected a string, got number"), shared by the API parsers."""

from collections.abc import Mapping
from typing import Any


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__
