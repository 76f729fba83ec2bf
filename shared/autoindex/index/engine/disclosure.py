"""What stood behind a rebalance's market-cap leg, per asset, in the words the API discloses. Pure.

``cap source`` per eligible asset: ``edgar`` (shares from a filing times the close), ``fund_assets`` (a
fund's net assets), ``excluded`` (no capitalisation by rule: its market-cap share went to the others)
or ``equal_fallback`` (an equal share stood in because no capitalisation was known). The leg as a whole
is ``market_caps``, ``partial`` (some fell back), ``equal_weights`` (all fell back: no capitalisations at
all) or ``unused`` (the blend gives the market-cap scheme no weight). The method: ``docs/index-method.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from autoindex.index.engine.weights import WeightDecision

Leg = Literal["market_caps", "partial", "equal_weights", "unused"]


def market_cap_leg(decision: WeightDecision, market_cap_weight: float) -> Leg:
    if market_cap_weight <= 0.0:
        return "unused"
    fallback = decision.market_cap_fallback[decision.eligible]
    if fallback.size and bool(fallback.all()):
        return "equal_weights"
    return "partial" if bool(fallback.any()) else "market_caps"


def cap_sources(
    assets: tuple[str, ...],
    decision: WeightDecision,
    market_cap_weight: float,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per eligible asset, where its market-cap weight came from (empty when the leg is unused).

    ``provenance`` says, for assets whose capitalisation was known, which source and filing date it
    came from (``{"source": "edgar", "filed": "2024-05-02"}``); assets without one read ``edgar``.
    """
    if market_cap_weight <= 0.0:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for j in np.flatnonzero(decision.eligible).tolist():
        name = assets[j]
        if bool(decision.market_cap_fallback[j]):
            known = (provenance or {}).get(name, {})
            excluded = known.get("source") == "excluded"
            out[name] = {"source": "excluded" if excluded else "equal_fallback", "filed": None}
        else:
            known = (provenance or {}).get(name, {"source": "edgar", "filed": None})
            out[name] = {"source": known.get("source", "edgar"), "filed": known.get("filed")}
    return out
