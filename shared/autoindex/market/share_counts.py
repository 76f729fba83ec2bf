"""The weekly share-count job: CIKs found for stocks that lack one, every stock's EDGAR facts fetched, then
stored in one transaction.

All documents are fetched and parsed before anything is written, so a throttled, failed, garbage or
truncated companyfacts leaves the stored counts and CIKs exactly as they were (the next run tries
again). A 404 (an issuer without XBRL share facts, most funds) stores nothing for that asset and is not
an error.

CIKs: an admin adds a stock by its ticker only. Stocks with a CIK are fetched first; then, if any active
stock has none, SEC's ticker map gives it one (``market.cik_resolution``; cached for days, so at most one
extra request a run), its filings are fetched in the same run, and its CIK is stored with the counts. A
map that cannot be read resolves nothing and fails nothing: the counts of the stocks whose CIK was
known are stored as usual, and the outcome says why the others were not looked up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import delete, insert, select, text, update

from autoindex.db.uow import UnitOfWork
from autoindex.market.cik_resolution import Stock, resolve_ciks
from autoindex.market.models import Asset, AssetShareCount
from autoindex.market.shares import ShareFact, parse_companyfacts
from autoindex.observability import add_metric, logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from autoindex.market.providers.circuit import CircuitBreaker
    from autoindex.market.ticker_cache import TickerCache
    from autoindex.ratelimit.pace import Pace


# One statement for every row on PostgreSQL: the driver's executemany is a round trip per row (754 for
# the default universe, most of the job's wall time before this).
_PG_INSERT = text(
    """
    INSERT INTO asset_share_counts (asset_id, accn, end_date, concept, filed, form, shares, source, ingested_at)
    SELECT t.asset_id, t.accn, t.end_date, t.concept, t.filed, t.form, t.shares, :source, :ingested_at
    FROM unnest(CAST(:asset_id AS integer[]), CAST(:accn AS varchar[]), CAST(:end_date AS date[]),
                CAST(:concept AS varchar[]), CAST(:filed AS date[]), CAST(:form AS varchar[]),
                CAST(:shares AS bigint[])) AS t(asset_id, accn, end_date, concept, filed, form, shares)
    """
)


class CompanyFacts(Protocol):
    """Where companyfacts documents and the ticker map come from: SEC EDGAR over HTTP, or the demo market's."""

    name: str

    def companyfacts(self, symbol: str, cik: int) -> object | None:
        """The document, or None when the issuer has none (a 404)."""
        ...

    def company_tickers(self) -> object:
        """SEC's ticker → CIK map as sent (``company_tickers.json``)."""
        ...


@dataclass(frozen=True, slots=True)
class ShareCountOutcome:
    assets: int  # stocks asked about
    with_counts: int  # of which had share facts
    facts: int  # rows stored
    resolved: dict[str, int] = field(default_factory=dict)  # symbol -> CIK found in the ticker map this run
    unresolved: list[str] = field(default_factory=list)  # still without a CIK: absent, ambiguous or not looked up
    ticker_map: str = "not needed"  # not needed | cached | fetched | failed: <why>


def _stocks() -> tuple[list[Stock], set[int]]:
    """Active stocks, and every CIK an asset already holds (a second ticker of one issuer would count it twice)."""
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(Asset.id, Asset.symbol, Asset.cik)
            .where(Asset.is_active, Asset.asset_type == "stock")
            .order_by(Asset.symbol)
        ).all()
        held = {c for c in uow.session.scalars(select(Asset.cik)) if c is not None}
    return [Stock(asset_id, symbol, cik) for asset_id, symbol, cik in rows], held


def _unique(facts: list[ShareFact]) -> list[ShareFact]:
    seen: dict[tuple[str, object, str], ShareFact] = {}
    for fact in facts:
        key = (fact.accn, fact.end, fact.concept)
        if key in seen:  # one filing's classes: kept apart by value, summed by the rule
            previous = seen[key]
            seen[key] = ShareFact(
                fact.concept, fact.end, fact.filed, previous.shares + fact.shares, fact.accn, fact.form
            )
        else:
            seen[key] = fact
    return list(seen.values())


def refresh_share_counts(
    source: CompanyFacts, *, cache: TickerCache | None = None, now: datetime | None = None
) -> ShareCountOutcome:
    """Find missing CIKs, fetch every active stock's share facts from ``source`` and replace the stored ones.

    Raises
    ------
    Exception
        Whatever the source raised for a companyfacts document (throttled, unavailable, garbage or
        truncated): nothing is stored, CIKs included. A ticker map that cannot be read raises nothing.
    """
    now = now or datetime.now(UTC)
    stocks, held = _stocks()
    known = [s for s in stocks if s.cik is not None]
    fetched: dict[int, list[ShareFact]] = {}
    for stock in known:
        fetched[stock.asset_id] = _facts(source, stock)
    missing = [s for s in stocks if s.cik is None]
    resolved, how = resolve_ciks(source, cache, missing, held)
    for stock in resolved:
        fetched[stock.asset_id] = _facts(source, stock)
    with UnitOfWork() as uow:
        session = uow.session
        for stock in resolved:
            session.execute(update(Asset).where(Asset.id == stock.asset_id, Asset.cik.is_(None)).values(cik=stock.cik))
        session.execute(delete(AssetShareCount).where(AssetShareCount.asset_id.in_(list(fetched))))
        _insert(session, fetched, source=source.name, ingested_at=now)
    stored = sum(len(f) for f in fetched.values())
    done = {s.asset_id for s in resolved}
    outcome = ShareCountOutcome(
        assets=len(known) + len(resolved),
        with_counts=sum(1 for f in fetched.values() if f),
        facts=stored,
        resolved={s.symbol: s.cik for s in resolved if s.cik is not None},
        unresolved=[s.symbol for s in missing if s.asset_id not in done],
        ticker_map=how,
    )
    add_metric("ShareCountFacts", stored)
    logger.info(
        "share counts refreshed",
        extra={
            "assets": outcome.assets,
            "facts": stored,
            "source": source.name,
            "resolved": outcome.resolved,
            "unresolved": outcome.unresolved,
            "ticker_map": how,
        },
    )
    return outcome


def _insert(session: Session, fetched: dict[int, list[ShareFact]], *, source: str, ingested_at: datetime) -> None:
    pairs = [(asset_id, f) for asset_id, facts in fetched.items() for f in facts]
    if not pairs:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _PG_INSERT,
            {
                "asset_id": [a for a, _ in pairs],
                "accn": [f.accn for _, f in pairs],
                "end_date": [f.end for _, f in pairs],
                "concept": [f.concept for _, f in pairs],
                "filed": [f.filed for _, f in pairs],
                "form": [f.form for _, f in pairs],
                "shares": [f.shares for _, f in pairs],
                "source": source,
                "ingested_at": ingested_at,
            },
        )
        return
    session.execute(  # SQLite (the embedded mode): in-process, executemany costs no round trips
        insert(AssetShareCount),
        [
            {
                "asset_id": a,
                "accn": f.accn,
                "end_date": f.end,
                "concept": f.concept,
                "filed": f.filed,
                "form": f.form,
                "shares": f.shares,
                "source": source,
                "ingested_at": ingested_at,
            }
            for a, f in pairs
        ],
    )


def _facts(source: CompanyFacts, stock: Stock) -> list[ShareFact]:
    assert stock.cik is not None
    body = source.companyfacts(stock.symbol, stock.cik)
    return _unique(parse_companyfacts(body)) if body is not None else []


class DemoCompanyFacts:
    """The demo market's filings and ticker map (``market.edgar_demo``), as of ``today``."""

    name = "demo"

    def __init__(self, today: date | None = None) -> None:
        self._today = today or datetime.now(UTC).date()

    def companyfacts(self, symbol: str, cik: int) -> object | None:
        from autoindex.market.edgar_demo import companyfacts_for_cik

        return companyfacts_for_cik(cik, self._today)

    def company_tickers(self) -> object:
        from autoindex.market.edgar_demo import company_tickers

        return company_tickers()


def source_from_settings(time_left_s: Callable[[], float] | None = None) -> CompanyFacts:
    """The configured source; EDGAR refuses to start without an operator and contact in EDGAR_USER_AGENT.

    EDGAR's circuit and pace are shared through Redis (``{<PROVIDER_KEY_PREFIX>:edgar}:circuit`` and
    ``:pace``) when REDIS_URL is set, so a retried invocation or the CLI sees a throttle another process
    met, and all of them together keep to ``EDGAR_MAX_RPS``; else both are this client's. ``time_left_s``
    (an invocation's remaining time) bounds how long a request may wait for its slot.
    """
    from autoindex.settings import get_settings

    settings = get_settings()
    name = settings.share_count_source or ("demo" if settings.market_data_provider == "demo" else "edgar")
    if name == "demo":
        return DemoCompanyFacts()
    from autoindex.market.edgar_client import EdgarClient

    timeout_s, attempts = 20.0, 3
    return EdgarClient(
        base_url=settings.edgar_base_url,
        user_agent=settings.edgar_user_agent,
        tickers_url=settings.edgar_tickers_url,
        max_rps=settings.edgar_max_rps,
        attempts=attempts,
        timeout_s=timeout_s,
        circuit=_shared_circuit(lease_ms=int(timeout_s * attempts * 1000) + 5_000),
        pace=_shared_pace(),
        time_left_s=time_left_s,
        circuit_failures=settings.edgar_circuit_failures,
        circuit_cooldown_s=settings.edgar_circuit_cooldown_s,
    )


def _shared_circuit(*, lease_ms: int) -> CircuitBreaker | None:
    """EDGAR's circuit in Redis (every process), or None without REDIS_URL (the client keeps its own)."""
    from autoindex.clients import get_redis
    from autoindex.market.providers.circuit import RedisCircuitBreaker
    from autoindex.settings import get_settings

    client = get_redis()
    if client is None:
        return None
    settings = get_settings()
    return RedisCircuitBreaker(
        client,
        # Hash-tagged like the ticker map: EDGAR's keys live in one Redis Cluster slot.
        key=f"{{{settings.provider_key_prefix}:edgar}}:circuit",
        threshold=settings.edgar_circuit_failures,
        window_ms=86_400_000,  # "in a row": a success resets the count, time does not
        cooldown_ms=settings.edgar_circuit_cooldown_s * 1000,
        lease_ms=lease_ms,
        metric_prefix="Edgar",
    )


def _shared_pace() -> Pace | None:
    """EDGAR's pace in Redis (every process together), or None without REDIS_URL (the client keeps its own)."""
    from autoindex.clients import get_redis
    from autoindex.ratelimit.pace import LocalPace, SharedPace
    from autoindex.settings import get_settings

    client = get_redis()
    if client is None:
        return None
    settings = get_settings()
    return SharedPace(
        client,
        key=f"{{{settings.provider_key_prefix}:edgar}}:pace",  # the circuit's hash tag: one cluster slot
        rps=settings.edgar_max_rps,
        fallback=LocalPace(settings.edgar_max_rps),
        metric_prefix="Edgar",
    )


def cache_from_settings() -> TickerCache:
    from autoindex.market.ticker_cache import ticker_cache_from_settings

    return ticker_cache_from_settings()
