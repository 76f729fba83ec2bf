"""Share counts from EDGAR (a local fake over real HTTP) and the demo's filings: stored all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.market.edgar_client import EdgarClient, EdgarError, EdgarThrottled
from autoindex.market.models import Asset, AssetShareCount
from autoindex.market.share_counts import DemoCompanyFacts, refresh_share_counts
from autoindex_dev.fake_edgar import FakeEdgar
from sqlalchemy import select

AGENT = "AutoIndex tests ops@example.com"


@pytest.fixture
def fake(market: pytest.MonkeyPatch) -> Iterator[FakeEdgar]:
    with FakeEdgar() as server:
        yield server


def _stored() -> dict[tuple[str, str, date], int]:
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(Asset.symbol, AssetShareCount.accn, AssetShareCount.end_date, AssetShareCount.shares).join(
                Asset, Asset.id == AssetShareCount.asset_id
            )
        )
        return {(s, a, e): v for s, a, e, v in rows}


def _client(fake: FakeEdgar, **kw: object) -> EdgarClient:
    return EdgarClient(base_url=fake.url, user_agent=AGENT, backoff_s=0.0, **kw)  # type: ignore[arg-type]


def test_the_job_stores_every_stocks_filings_and_paces_its_requests(fake: FakeEdgar) -> None:
    # The pace is read on a clock that moves only when the client sleeps: arrival times at the server
    # carry the loaded machine's jitter, the client's own send slots do not.
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    def clock() -> float:
        return now[0]

    client = _client(fake, max_rps=10.0, sleep=sleep, clock=clock)
    outcome = refresh_share_counts(client)
    stored = _stored()
    # The test market's active stocks (AAPL, MSFT) each have a quarterly history; SPX and the FX pair are not asked
    assert outcome.assets == 2 and outcome.with_counts == 2 and outcome.facts == len(stored) > 40
    assert {s for s, _, _ in stored} == {"AAPL", "MSFT"}
    assert [path for _, path in fake.requests] == [
        "/api/xbrl/companyfacts/CIK0000320193.json",
        "/api/xbrl/companyfacts/CIK0000789019.json",
    ]
    assert waits == [pytest.approx(0.1)]  # no time passed, so the second request waited a full slot: 10 a second
    # The demo's filings are the same documents: the real path and `make run` agree
    with UnitOfWork() as uow:
        uow.session.query(AssetShareCount).delete()
    refresh_share_counts(DemoCompanyFacts(datetime.now(UTC).date()))
    assert _stored() == stored


@pytest.mark.parametrize(
    ("fault", "error"),
    [("truncated", EdgarError), ("too_many", EdgarThrottled), ("throttle", EdgarThrottled), ("garbage", ValueError)],
)
def test_a_bad_answer_for_the_second_stock_leaves_nothing_partial(
    fake: FakeEdgar, fault: str, error: type[Exception]
) -> None:
    refresh_share_counts(_client(fake))
    before = _stored()
    assert before
    # AAPL's filings change and come back fine; MSFT's answer is broken: nothing of this run may be stored
    fake.faults.documents[320193] = {"cik": 320193, "facts": {"dei": {}}}
    fake.faults.after = len(fake.requests) + 1
    setattr(fake.faults, fault, 5)
    with pytest.raises(error):
        refresh_share_counts(_client(fake, attempts=1))
    assert _stored() == before
    assert len(fake.requests) == 4  # two in the first run, two in this one: a throttle is never retried


def test_without_an_operator_and_contact_the_job_refuses_to_start(fake: FakeEdgar) -> None:
    for agent in (None, "", "python-requests/2.32", "AutoIndex"):
        with pytest.raises(EdgarError, match="EDGAR_USER_AGENT"):
            EdgarClient(base_url=fake.url, user_agent=agent)
    assert fake.requests == []


def test_outages_are_retried_then_the_circuit_opens(fake: FakeEdgar) -> None:
    fake.faults.server_errors = 2
    client = _client(fake, attempts=3, circuit_failures=2)
    assert client.companyfacts("AAPL", 320193) is not None and client.requests == 3
    fake.faults.server_errors = 100
    for _ in range(2):
        with pytest.raises(EdgarError, match="unavailable"):
            client.companyfacts("MSFT", 789019)
    asked = len(fake.requests)
    with pytest.raises(EdgarError, match="circuit open"):
        client.companyfacts("MSFT", 789019)
    assert len(fake.requests) == asked  # an open circuit asks nothing
    fake.faults.server_errors = 0
    assert _client(fake).companyfacts("SPY", 884394) is None  # a fund: a 404 is "no facts", not an error
