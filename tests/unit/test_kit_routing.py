"""Kits by call type: the configuration's grammar, and the default that keeps every call on SEMARIZE_KITS."""

import pytest

from orchestration.defs.semarize.kit_routing import KitRoutingError, kits_for, parse_routes

ROUTES = "discovery|Demo=SLSDISC1; support=PRODFDB1,SLSDISC1 ;ai_agent=AIQGATE1;*=SLSDISC1"


def test_routes_map_call_types_to_kits() -> None:
    routes = parse_routes(ROUTES)
    assert kits_for("demo", routes, ["X"]) == ["SLSDISC1"]  # case-insensitive
    assert kits_for("support", routes, ["X"]) == ["PRODFDB1", "SLSDISC1"]
    assert kits_for("ai_agent", routes, ["X"]) == ["AIQGATE1"]
    assert kits_for("qbr", routes, ["X"]) == ["SLSDISC1"]  # the * route
    assert kits_for(None, routes, ["X"]) == ["SLSDISC1"]


def test_unset_routing_runs_the_configured_kits_on_every_call() -> None:
    assert kits_for("support", None, ["SLSDISC1", "PRODFDB1"]) == ["SLSDISC1", "PRODFDB1"]


def test_without_a_catch_all_an_unrouted_call_type_runs_no_kit() -> None:
    assert kits_for("qbr", parse_routes("support=PRODFDB1"), ["SLSDISC1"]) == []


@pytest.mark.parametrize("text", ["support", "support=", "=PRODFDB1", "support=A;support=B"])
def test_bad_routes_name_the_problem(text: str) -> None:
    with pytest.raises(KitRoutingError, match="SEMARIZE_KITS_BY_CALL_TYPE"):
        parse_routes(text)
