"""Cursor keys and client moments are refused with a 422, never an OverflowError, whatever they hold.

Decoding happens before any query, so this holds for PostgreSQL and the embedded SQLite file alike (the audit
saw SQLite's OverflowError for ``a:9223372036854775808``).
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

import pytest
from autoindex import pagination
from autoindex.errors import ValidationFailed
from autoindex.moments import MAX_YEAR, MIN_YEAR, bounded_day, bounded_moment, parse_moment
from hypothesis import given
from hypothesis import strategies as st


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("key", ["9223372036854775808", "99999999999999999999999", "३३", "٣", "-1", "+1", " 1"])
def test_integer_keys_outside_bigint_or_not_ascii_digits_are_refused(key: str) -> None:
    with pytest.raises(ValidationFailed):
        pagination.decode_int_cursor("a", b64(f"a:{key}"))


def test_integer_keys_within_the_column_are_read() -> None:
    assert pagination.decode_int_cursor("a", b64("a:9223372036854775807")) == 2**63 - 1
    with pytest.raises(ValidationFailed):
        pagination.decode_int_cursor("sv", b64("sv:2147483648"), max_value=pagination.INTEGER_MAX)


@given(key=st.text(max_size=40) | st.integers().map(str))
def test_any_integer_key_is_an_int_in_range_or_a_422(key: str) -> None:
    try:
        value = pagination.decode_int_cursor("a", b64(f"a:{key}"))
    except ValidationFailed:
        return
    assert 0 <= value <= pagination.BIGINT_MAX and key.isascii()


@given(moment=st.datetimes(timezones=st.timezones()) | st.datetimes(), offset=st.sampled_from(["", "Z", "+14:00"]))
def test_any_moment_key_is_a_bounded_aware_moment_or_a_422(moment: datetime, offset: str) -> None:
    key = f"{moment.isoformat()}{offset if moment.tzinfo is None else ''}|00000000-0000-0000-0000-000000000001"
    try:
        at, _ = pagination.decode_moment_id_cursor("r", b64(f"r:{key}"))
    except ValidationFailed:
        return
    assert at.tzinfo is not None and 1900 <= at.astimezone(UTC).year <= 9998


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-01-01T00:00:00"])
def test_moments_at_the_edges_or_without_an_offset_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):  # never OverflowError
        parse_moment(text)


def test_a_moment_inside_the_bounds_is_kept() -> None:
    moment = datetime(9998, 12, 31, 12, tzinfo=UTC)
    assert bounded_moment(moment) is moment


@given(st.dates())
def test_any_date_is_kept_inside_the_years_or_a_value_error(day: date) -> None:
    if MIN_YEAR <= day.year <= MAX_YEAR:
        assert bounded_day(day) is day
    else:
        with pytest.raises(ValueError, match="between the years"):
            bounded_day(day)


@given(st.dates())
def test_any_date_key_is_a_bounded_date_or_a_422(day: date) -> None:
    cursor = pagination.encode_cursor("d", day.isoformat())
    if MIN_YEAR <= day.year <= MAX_YEAR:
        assert pagination.decode_date_cursor("d", cursor) == day
    else:
        with pytest.raises(ValidationFailed):
            pagination.decode_date_cursor("d", cursor)
