"""Any cursor and any moment a client sends is answered 200 or 422 on every paged route, never a 500.

A cursor is opaque but comes back from the client, so it can carry anything: integers beyond the column's
range, digits of other scripts, moments at datetime's edges (whose conversion to UTC overflows). The audit saw
each of these answered 500; here they are named, and Hypothesis looks for more.
"""

from __future__ import annotations

import base64
import string
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functions.conftest import Account, Client
from tests.lambda_http import function_handler
from tests.pipeline_fixtures import RecordingDispatcher

# (function, path, cursor kind); a route with a path parameter names one that does not exist (so 404 is fine).
PAGED = [
    ("admin", "/v1/admin/audit", "a"),
    ("admin", "/v1/admin/compute-runs", "c"),
    ("admin", "/v1/admin/runs", "r"),
    ("market", "/v1/assets", "s"),
    ("market", "/v1/assets/AAPL/prices", "p"),
    ("b2b", "/v1/backtests", "bt"),
    ("index", "/v1/benchmark/series", "d"),
    ("index", "/v1/index/history", "d"),
    ("index", "/v1/index/rebalances", "d"),
    ("strategy", "/v1/strategy/config/history", "sv"),
    ("b2b", f"/v1/webhooks/{uuid.UUID(int=1)}/deliveries", "whd"),
]
KINDS = sorted({kind for _, _, kind in PAGED})
EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1899-12-31T23:00:00-02:00", "9998-12-31T23:00Z"]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _stamp_id(stamp: str) -> str:
    return f"{stamp}|{uuid.uuid4()}"


keys = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["9223372036854775808", "99999999999999999999999", "2147483648", "३३", "٣", "\uff11", " 7", "7\n"]),
    st.sampled_from(EDGES).map(_stamp_id),
    st.builds(
        lambda moment, offset: _stamp_id(moment.isoformat() + offset),
        st.datetimes(),
        st.sampled_from(["", "Z", "+14:00", "-12:00", "+00:00"]),
    ),
    st.dates().map(lambda day: day.isoformat()),
)


def cursors(kind: str) -> st.SearchStrategy[str]:
    """Any text, and well-formed cursors of any kind, the route's own most often, carrying any key."""
    return st.one_of(
        st.text(alphabet=string.ascii_letters + string.digits + "-_=", max_size=60),
        st.builds(lambda tag, key: b64(f"{tag}:{key}"), st.sampled_from([kind] * len(KINDS) + KINDS), keys),
    )


def _check(result_status: int, body: bytes, content_type: str, *, may_be_missing: bool) -> None:
    allowed = {200, 422} | ({404} if may_be_missing else set())
    assert result_status in allowed, body[:400]
    if result_status == 422:
        assert content_type == "application/problem+json"


@pytest.mark.parametrize(("function", "path", "kind"), PAGED, ids=[p for _, p, _ in PAGED])
def test_any_cursor_is_answered_200_or_422(
    function: str, path: str, kind: str, seeded: RecordingDispatcher, unlimited: None, admin: Account
) -> None:
    api = Client(function_handler(function))
    missing = "{" in path or "webhooks" in path

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(cursor=cursors(kind))
    def answers(cursor: str) -> None:
        result = api.get(path, headers=admin.bearer(), query=f"cursor={cursor}")
        _check(result.status, result.body, result.headers.get("content-type", ""), may_be_missing=missing)

    answers()


# Each value the audit reported as a 500, on its own route: a 422 problem that names the cursor.
REPORTED = [
    ("strategy", "/v1/strategy/config/history", b64("sv:99999999999999999999999")),
    ("b2b", "/v1/backtests", b64("bt:" + _stamp_id(EDGES[0]))),
    ("b2b", "/v1/backtests", b64("bt:" + _stamp_id(EDGES[1]))),
    ("admin", "/v1/admin/audit", b64("a:9223372036854775808")),
    ("admin", "/v1/admin/audit", b64("a:३३")),
    ("admin", "/v1/admin/compute-runs", b64("c:" + _stamp_id(EDGES[0]))),
    ("admin", "/v1/admin/runs", b64("r:" + _stamp_id(EDGES[0]))),
    ("admin", "/v1/admin/runs", b64("r:" + _stamp_id("2026-01-01T00:00:00"))),  # no offset
]


@pytest.mark.parametrize(("function", "path", "cursor"), REPORTED)
def test_the_reported_cursors_are_422_naming_the_cursor(
    function: str, path: str, cursor: str, admin: Account, unlimited: None
) -> None:
    result = Client(function_handler(function)).get(path, headers=admin.bearer(), query=f"cursor={cursor}")
    assert result.status == 422, result.body[:400]
    problem = result.json()
    assert result.headers["content-type"] == "application/problem+json"
    assert "cursor" in problem["detail"]
    assert [e["loc"] for e in problem["errors"]] == [["query", "cursor"]]


@pytest.mark.parametrize(
    "query",
    [
        "since=0001-01-01T00:00:00%2B14:00",
        "until=9999-12-31T23:59:59-12:00",
        "since=1899-12-31T23:59:59Z",
        "until=9998-12-31T23:00:00-02:00",
    ],
)
def test_audit_moments_outside_1900_to_9998_are_422(query: str, admin: Account, unlimited: None) -> None:
    result = Client(function_handler("admin")).get("/v1/admin/audit", headers=admin.bearer(), query=query)
    assert result.status == 422, result.body[:400]
    assert "between the years 1900 and 9998" in result.body.decode()


def test_audit_moments_inside_the_bounds_are_served(admin: Account, unlimited: None) -> None:
    query = "since=1900-01-01T00:00:00Z&until=9998-12-31T12:00:00%2B01:00"
    result = Client(function_handler("admin")).get("/v1/admin/audit", headers=admin.bearer(), query=query)
    assert result.status == 200, result.body[:400]
