"""Running a Kit over a run's input: parse the transcript, apply each brick's rule, shape the output.

The shaping step is what keeps the promise "the same Kit version always returns the same shape": values are
coerced onto the brick's declared scale, disabled fields are dropped, and the result is checked against the
Kit's schema before it is stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sandbox.semarize.conversation import parse_conversation
from sandbox.semarize.kits import Brick, Kit
from sandbox.semarize.rules import RULES, BrickResult


def score_run(kit: Kit, run_input: Mapping[str, Any]) -> dict[str, Any]:
    """The run's ``output``. Raises ``TranscriptInputError`` when the input has no usable transcript."""
    conversation = parse_conversation(run_input, kit.speaker_roles)
    bricks = {}
    for brick in kit.bricks:
        result = RULES[brick.rule].function(conversation, kit.vocabulary)
        bricks[brick.key] = _shape(brick, result, kit.max_evidence)
    output = {"kit_code": kit.kit_code, "kit_version_id": kit.kit_version_id, "bricks": bricks}
    problems = kit.validate_output(output)
    if problems:  # a rule broke its brick's contract: a bug here, never something to hand a client
        raise AssertionError(f"kit {kit.kit_code} produced output off its schema: {problems}")
    return output


def _shape(brick: Brick, result: BrickResult, max_evidence: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": _on_scale(brick, result.value)}
    if "confidence" in brick.enabled_fields:
        entry["confidence"] = round(float(result.confidence), 2)
    if "reason" in brick.enabled_fields:
        entry["reason"] = result.reason
    if "evidence" in brick.enabled_fields:
        entry["evidence"] = list(result.evidence[:max_evidence])
    return entry


def _on_scale(brick: Brick, value: Any) -> Any:
    if brick.type != "score":
        return value
    assert brick.minimum is not None and brick.maximum is not None
    bounded = min(brick.maximum, max(brick.minimum, float(value)))
    return math.floor(bounded + 0.5) if brick.integer else round(bounded, 3)
