"""Free text that PostgreSQL or UTF-8 cannot carry is a 422 at the edge, never a 500 at the database."""

from __future__ import annotations

import pytest
from autoindex.schemas import CleanText
from pydantic import TypeAdapter, ValidationError

ADAPTER: TypeAdapter[str] = TypeAdapter(CleanText)


@pytest.mark.parametrize("text", ["plain", "tabs\tand\nnewlines", "accents éà and emoji 🙂", ""])
def test_ordinary_text_passes(text: str) -> None:
    assert ADAPTER.validate_python(text) == text


@pytest.mark.parametrize("text", ["nul\x00byte", "bell\x07", "escape\x1b[31m", "lone \ud800 surrogate", "del\x7f"])
def test_unstorable_text_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(text)
