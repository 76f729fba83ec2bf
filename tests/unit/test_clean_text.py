"""Free text that PostgreSQL or UTF-8 cannot carry is a 422 at the edge, never a 500 at the database."""

from __future__ import annotations

import re

import pytest
from autoindex.schemas import CLEAN_TEXT_PATTERN, CleanText
from pydantic import TypeAdapter, ValidationError

ADAPTER: TypeAdapter[str] = TypeAdapter(CleanText)


@pytest.mark.parametrize("text", ["plain", "tabs\tand\nnewlines", "accents éà and emoji 🙂", ""])
def test_ordinary_text_passes(text: str) -> None:
    assert ADAPTER.validate_python(text) == text


@pytest.mark.parametrize("text", ["nul\x00byte", "bell\x07", "escape\x1b[31m", "lone \ud800 surrogate", "del\x7f"])
def test_unstorable_text_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(text)


def test_the_schema_pattern_states_exactly_the_validators_rule() -> None:
    # The published pattern (OpenAPI) and the validator agree on every character a JSON string can carry,
    # so a client that follows the schema is never refused for free text (and one that does not, always is).
    pattern = re.compile(CLEAN_TEXT_PATTERN)
    disagree = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates: no JSON text carries one as a character (the validator refuses them)
        text = f"a{chr(code)}b"
        try:
            ADAPTER.validate_python(text)
            accepted = True
        except ValidationError:
            accepted = False
        if accepted != bool(pattern.fullmatch(text)):
            disagree.append(hex(code))
    assert disagree == []
