"""Shares outstanding known on a date, from SEC EDGAR facts, on the prices' basis. Pure.

The rule (``../shared/reference/sec-edgar.md`` section 4, and ``docs/index-method.md`` "Market
capitalisation"):

- Only facts **filed on or before** the date count: a count is public from its filing date, never from
  its period end.
- Among those, the **latest period end** wins; on a tie the **latest filing** (an amendment wins).
- Facts of one filing with the same end are **summed**: an issuer that reports each class as its own
  non-dimensional fact (the classes of a multi-class company) has its total that way.
- ``dei:EntityCommonStockSharesOutstanding`` first; the balance sheet's
  ``us-gaap:CommonStockSharesOutstanding`` only when the cover fact is missing or stale.
- A count whose end is more than :data:`MAX_AGE` before the date is stale and not used (Visa's classless
  series stopped in 2010): no count, and the asset falls back.
- EDGAR never split-adjusts; the closes are split-adjusted onto today's basis. A count whose end precedes
  a split is multiplied by the split's ratio (and every later one's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

COVER = "dei:EntityCommonStockSharesOutstanding"
BALANCE_SHEET = "us-gaap:CommonStockSharesOutstanding"
MAX_AGE = timedelta(days=456)  # about 15 months


@dataclass(frozen=True, slots=True)
class ShareFact:
    """One share-count fact as companyfacts holds it."""

    concept: str
    end: date
    filed: date
    shares: int
    accn: str
    form: str


@dataclass(frozen=True, slots=True)
class KnownShares:
    """The count in force on a date, summed over its filing's classes, and where it came from."""

    shares: int
    end: date
    filed: date
    accn: str
    concept: str


def _totals(facts: Iterable[ShareFact]) -> list[KnownShares]:
    grouped: dict[tuple[str, str, date], list[ShareFact]] = defaultdict(list)
    for fact in facts:
        grouped[(fact.concept, fact.accn, fact.end)].append(fact)
    return [
        KnownShares(shares=sum(f.shares for f in group), end=end, filed=group[0].filed, accn=accn, concept=concept)
        for (concept, accn, end), group in grouped.items()
    ]


def known_on(facts: Iterable[ShareFact], day: date) -> KnownShares | None:
    """The count public on ``day`` (filed on or before it): latest end, then latest filing; cover fact first."""
    totals = _totals(facts)
    for concept in (COVER, BALANCE_SHEET):
        public = [t for t in totals if t.concept == concept and t.filed <= day and day - t.end <= MAX_AGE]
        if public:
            return max(public, key=lambda t: (t.end, t.filed, t.accn))
    return None


def split_factor(end: date, splits: Sequence[tuple[date, float]]) -> float:
    """How many of today's shares one share as of ``end`` became: the product of later splits' ratios."""
    factor = 1.0
    for effective, ratio in splits:
        if effective > end:
            factor *= ratio
    return factor


def shares_by_day(
    facts: Iterable[ShareFact], days: Sequence[date], splits: Sequence[tuple[date, float]] = ()
) -> list[KnownShares | None]:
    """:func:`known_on` for each of ``days`` (ascending), on today's share basis; one pass over the filings.

    The best public count only improves as filings arrive, so each concept's best is kept as ``days``
    advance; staleness is judged per day.
    """
    totals = sorted(_totals(facts), key=lambda t: t.filed)
    best: dict[str, KnownShares] = {}
    at = 0
    out: list[KnownShares | None] = []
    for day in days:
        while at < len(totals) and totals[at].filed <= day:
            fact = totals[at]
            held = best.get(fact.concept)
            if held is None or (fact.end, fact.filed, fact.accn) > (held.end, held.filed, held.accn):
                best[fact.concept] = fact
            at += 1
        fresh = [best[c] for c in (COVER, BALANCE_SHEET) if c in best and day - best[c].end <= MAX_AGE]
        known = fresh[0] if fresh else None
        if known is not None and splits:
            factor = split_factor(known.end, splits)
            known = KnownShares(round(known.shares * factor), known.end, known.filed, known.accn, known.concept)
        out.append(known)
    return out


def parse_companyfacts(body: object) -> list[ShareFact]:
    """The share-count facts of a companyfacts document (``{"facts": {"dei": {...}, "us-gaap": {...}}}``).

    Raises
    ------
    ValueError
        The document is not a companyfacts object or a share fact is malformed (nothing is half-read).
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("facts"), Mapping):
        raise ValueError("not a companyfacts document")
    out: list[ShareFact] = []
    for concept in (COVER, BALANCE_SHEET):
        taxonomy, tag = concept.split(":")
        node = body["facts"].get(taxonomy, {})
        units = node.get(tag, {}).get("units", {}) if isinstance(node, Mapping) else {}
        for row in units.get("shares", []) if isinstance(units, Mapping) else []:
            if not isinstance(row, Mapping):
                raise ValueError(f"a {concept} fact is not an object")
            out.append(_fact(concept, row))
    return out


def _fact(concept: str, row: Mapping[str, object]) -> ShareFact:
    value = row.get("val")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"a {concept} fact has no positive integer val")
    try:
        return ShareFact(
            concept=concept,
            end=date.fromisoformat(str(row["end"])),
            filed=date.fromisoformat(str(row["filed"])),
            shares=value,
            accn=str(row["accn"])[:25],
            form=str(row.get("form", ""))[:16],
        )
    except KeyError as exc:
        raise ValueError(f"a {concept} fact lacks {exc}") from None
