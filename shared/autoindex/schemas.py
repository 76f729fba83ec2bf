"""Validation pieces every API shares: free text, date ranges, comma lists of response fields, page queries."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from autoindex.moments import bounded_day, bounded_moment
from autoindex.settings import get_settings


def _storable(value: str) -> str:
    # PostgreSQL text and JSONB refuse NUL, and UTF-8 cannot carry lone surrogates: refuse them here as a 422,
    # with the other control characters, rather than let the database refuse them as a 500.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


# `_storable`'s rule as the schema states it: no C0/C1 control character except tab, line feed and carriage
# return (a JSON string cannot carry a lone surrogate to a client that follows the schema).
CLEAN_TEXT_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"

# Any free text a client sends that may reach the database or a log line. The pattern is the schema's only:
# the validator gives the clearer message.
CleanText = Annotated[str, AfterValidator(_storable), Field(json_schema_extra={"pattern": CLEAN_TEXT_PATTERN})]


def _not_a_number(value: object) -> object:
    # Pydantic's lax mode reads a number as a Unix timestamp (start=0 is 1970-01-01); the API takes only
    # the ISO 8601 text its schema documents (date objects pass, for callers inside the process).
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be ISO 8601 text (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ for a moment)")
    return value


# A calendar date or a moment a client sends: `format: date` / `date-time` in the schema, and only that.
# Both lie within years 1900..9998 (autoindex.moments), a moment in UTC and with an offset: near datetime's
# edges date arithmetic and the conversion to UTC overflow (a 500).
IsoDate = Annotated[dt.date, BeforeValidator(_not_a_number), AfterValidator(bounded_day)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_not_a_number), AfterValidator(bounded_moment)]


def check_range(start: dt.date | None, end: dt.date | None) -> None:
    """Refuse an inverted range or one wider than INDEX_MAX_RANGE_DAYS."""
    if start and end and start > end:
        raise ValueError("start must not be after end")
    limit = get_settings().index_max_range_days
    if start and end and (end - start).days > limit:
        raise ValueError(f"the date range may span at most {limit} days")


# Marks a schema that web/openapi.py documents as a comma list (``style: form, explode: false``); it is
# removed from the published document, which keeps to standard OpenAPI.
COMMA_LIST_MARK = "x-autoindex-comma-list"


def fields_param(allowed: Sequence[str]) -> Any:
    """The ``fields`` parameter: read as one comma-separated string, documented as an array of the allowed names.

    ``fields=value,drawdown`` is how OpenAPI serialises an ``explode: false`` array in a query, so a generated
    client sends what the server reads, and the allowed names are an ``enum`` it can check before sending.
    """
    return WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string", "enum": list(allowed)},
            "minItems": 1,
            "maxItems": len(allowed),
            "description": f"Comma-separated, at most {len(allowed)} names (a repeated one counts once): "
            f"{', '.join(allowed)}.",
            "examples": [list(allowed[:2])],
            COMMA_LIST_MARK: True,
        }
    )


def field_list(value: str | None, allowed: Sequence[str]) -> str | None:
    """Check ``fields=a,b`` against ``allowed`` (at most as many names as there are, order kept, duplicates dropped).

    Exactly the schema's array: no blank item, no padding, no other case, no more items than ``maxItems``.
    """
    if value is None:
        return None
    asked = value.split(",")
    if not set(asked) <= set(allowed) or len(asked) > len(allowed):
        # The names alone, not the input (it may be long): the error's `input` carries what was sent.
        raise ValueError(f"fields must be a comma list of at most {len(allowed)} of: {', '.join(allowed)}")
    return ",".join(dict.fromkeys(asked))


class RangeQuery(BaseModel):
    """``start`` and ``end`` (inclusive, both optional), validated together."""

    model_config = ConfigDict(extra="forbid")

    start: IsoDate | None = None
    end: IsoDate | None = None

    @model_validator(mode="after")
    def _range(self) -> RangeQuery:
        check_range(self.start, self.end)
        return self


# An opaque keyset cursor (autoindex.pagination): URL-safe base64 of a kind tag and the last key seen.
CURSOR_MAX_LENGTH = 200
Cursor = Annotated[
    str,
    Field(
        min_length=1,
        max_length=CURSOR_MAX_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Opaque: a `next_cursor` this list returned, passed back unchanged. Any other value is a 422.",
    ),
]


class PageQuery(BaseModel):
    """``limit`` and ``cursor`` of every keyset-paged list. A list with other bounds narrows ``limit`` only."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Cursor | None = None
