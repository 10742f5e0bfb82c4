"""Which Semarize Kits run on a call, by the manifest's call type (configuration, not code).

`SEMARIZE_KITS_BY_CALL_TYPE` maps call types to Kits, routes separated by `;`, each `TYPES=KITS` with call types
separated by `|` and Kit codes by `,`; `*` is every other call type. Example:

    discovery|demo|negotiation=SLSDISC1;support=PRODFDB1;ai_agent=AIQGATE1;*=SLSDISC1

Unset (the default), every call runs `SEMARIZE_KITS`, as before. A call type no route names and no `*` route
runs no Kit. Call types compare case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orchestration.settings import KITS_BY_CALL_TYPE_ENV as ENV_VAR
from orchestration.settings import SemarizeSettings

ANY = "*"


class KitRoutingError(ValueError):
    pass


def parse_routes(text: str) -> dict[str, list[str]]:
    """`TYPES=KITS;...` -> {call_type: [kit, ...]}; raises KitRoutingError naming the bad route."""
    routes: dict[str, list[str]] = {}
    for raw in text.split(";"):
        route = raw.strip()
        if not route:
            continue
        types, sep, kits = route.partition("=")
        kit_codes = [k.strip() for k in kits.split(",") if k.strip()]
        call_types = [t.strip().lower() for t in types.split("|") if t.strip()]
        if not sep or not call_types or not kit_codes:
            raise KitRoutingError(f"{ENV_VAR}: route {route!r} is not TYPES=KITS (e.g. support=PRODFDB1)")
        for call_type in call_types:
            if call_type in routes:
                raise KitRoutingError(f"{ENV_VAR}: call type {call_type!r} is routed twice")
            routes[call_type] = kit_codes
    return routes


def routes_from_env() -> dict[str, list[str]] | None:
    text = SemarizeSettings().kits_by_call_type.strip()
    return parse_routes(text) if text else None


def kits_for(
    call_type: str | None, routes: Mapping[str, Sequence[str]] | None, default: Sequence[str]
) -> list[str]:
    """The Kits to run on one call: its call type's route, else the `*` route, else none (default when unset)."""
    if routes is None:
        return list(default)
    key = (call_type or "").strip().lower()
    return list(routes.get(key, routes.get(ANY, [])))
