"""The weekly share-count job: every stock's EDGAR facts fetched, then stored in one transaction.

All documents are fetched and parsed before anything is written, so a throttled, failed, garbage or
truncated response leaves the stored counts exactly as they were (the next run tries again). A 404
(an issuer without XBRL share facts, most funds) stores nothing for that asset and is not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy import delete, select

from autoindex.db.uow import UnitOfWork
from autoindex.market.models import Asset, AssetShareCount
from autoindex.market.shares import ShareFact, parse_companyfacts
from autoindex.observability import add_metric, logger


class CompanyFacts(Protocol):
    """Where companyfacts documents come from: SEC EDGAR over HTTP, or the demo market's."""

    name: str

    def companyfacts(self, symbol: str, cik: int) -> object | None:
        """The document, or None when the issuer has none (a 404)."""
        ...


@dataclass(frozen=True, slots=True)
class ShareCountOutcome:
    assets: int  # stocks asked about
    with_counts: int  # of which had share facts
    facts: int  # rows stored


def _stocks() -> list[tuple[int, str, int]]:
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(Asset.id, Asset.symbol, Asset.cik)
            .where(Asset.is_active, Asset.asset_type == "stock", Asset.cik.is_not(None))
            .order_by(Asset.symbol)
        ).all()
    return [(asset_id, symbol, cik) for asset_id, symbol, cik in rows if cik is not None]


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


def refresh_share_counts(source: CompanyFacts, *, now: datetime | None = None) -> ShareCountOutcome:
    """Fetch every active stock's share facts from ``source`` and replace the stored ones, all or nothing.

    Raises
    ------
    Exception
        Whatever the source raised (throttled, unavailable, a garbage or truncated document): nothing is stored.
    """
    now = now or datetime.now(UTC)
    stocks = _stocks()
    fetched: dict[int, list[ShareFact]] = {}
    for asset_id, symbol, cik in stocks:
        body = source.companyfacts(symbol, cik)
        fetched[asset_id] = _unique(parse_companyfacts(body)) if body is not None else []
    with UnitOfWork() as uow:
        session = uow.session
        session.execute(delete(AssetShareCount).where(AssetShareCount.asset_id.in_(list(fetched))))
        for asset_id, facts in fetched.items():
            session.add_all(
                AssetShareCount(
                    asset_id=asset_id,
                    accn=f.accn,
                    end_date=f.end,
                    concept=f.concept,
                    filed=f.filed,
                    form=f.form,
                    shares=f.shares,
                    source=source.name,
                    ingested_at=now,
                )
                for f in facts
            )
    stored = sum(len(f) for f in fetched.values())
    add_metric("ShareCountFacts", stored)
    logger.info("share counts refreshed", extra={"assets": len(stocks), "facts": stored, "source": source.name})
    return ShareCountOutcome(assets=len(stocks), with_counts=sum(1 for f in fetched.values() if f), facts=stored)


class DemoCompanyFacts:
    """The demo market's filings (``market.edgar_demo``), as of ``today``."""

    name = "demo"

    def __init__(self, today: date | None = None) -> None:
        self._today = today or datetime.now(UTC).date()

    def companyfacts(self, symbol: str, cik: int) -> object | None:
        from autoindex.market.edgar_demo import companyfacts

        return companyfacts(symbol, cik, self._today)


def source_from_settings() -> CompanyFacts:
    """The configured source; EDGAR refuses to start without an operator and contact in EDGAR_USER_AGENT."""
    from autoindex.settings import get_settings

    settings = get_settings()
    name = settings.share_count_source or ("demo" if settings.market_data_provider == "demo" else "edgar")
    if name == "demo":
        return DemoCompanyFacts()
    from autoindex.market.edgar_client import EdgarClient

    return EdgarClient(
        base_url=settings.edgar_base_url, user_agent=settings.edgar_user_agent, max_rps=settings.edgar_max_rps
    )
