"""The runner's safe echo of client input (escaped, bounded) and Vary merging, without a server."""

from __future__ import annotations

from autoindex.web.middleware import merged_vary
from autoindex_dev.wire import printable


def test_printable_escapes_control_characters_and_backslashes() -> None:
    assert printable("/health\x1b[31mFAKE\x1b[0m", 200) == "/health\\x1b[31mFAKE\\x1b[0m"
    assert printable("a\\x1b", 200) == "a\\\\x1b"  # a literal backslash cannot forge an escape
    assert printable("/plain/path", 200) == "/plain/path"


def test_printable_is_bounded_however_long_or_escaped_the_input() -> None:
    assert len(printable("\x01" * 100_000, 200)) <= 201
    assert printable("a" * 300, 200) == "a" * 200 + "…"


def test_merged_vary_names_each_field_once_in_one_header() -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"vary", b"Accept, Accept-Encoding"),
        (b"Vary", b"accept-encoding"),
    ]
    assert merged_vary(headers) == [(b"content-type", b"application/json"), (b"vary", b"Accept, Accept-Encoding")]
    assert merged_vary([(b"etag", b'"x"')]) == [(b"etag", b'"x"')]
