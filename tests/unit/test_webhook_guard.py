"""Webhook signatures (Stripe-style, rotation, replay window) and the SSRF guard, without a network."""

from __future__ import annotations

import pytest
from autoindex.webhooks import signing, ssrf

BODY = b'{"id":"evt_1","type":"index.computed"}'


def test_a_signature_verifies_with_the_secret_and_the_time_it_was_made() -> None:
    header = signing.sign(BODY, ["whsec_a"], 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert signing.verify(header, BODY, "whsec_a", now=1_700_000_100) == 1_700_000_000


@pytest.mark.parametrize(
    ("header_secret", "body", "now", "why"),
    [
        ("whsec_b", BODY, 1_700_000_000, "no signature matches"),
        ("whsec_a", BODY + b" ", 1_700_000_000, "no signature matches"),
        ("whsec_a", BODY, 1_700_000_301, "tolerance"),  # a replay after the window
        ("whsec_a", BODY, 1_699_999_699, "tolerance"),
    ],
)
def test_tampering_another_secret_and_replays_are_refused(header_secret: str, body: bytes, now: int, why: str) -> None:
    header = signing.sign(BODY, [header_secret], 1_700_000_000)
    with pytest.raises(signing.SignatureError, match=why):
        signing.verify(header, body, "whsec_a", now=now, tolerance_s=300)


def test_during_a_rotation_both_secrets_verify() -> None:
    header = signing.sign(BODY, ["whsec_new", "whsec_old"], 1_700_000_000)
    for secret in ("whsec_new", "whsec_old"):
        signing.verify(header, BODY, secret, now=1_700_000_000)
    with pytest.raises(signing.SignatureError):
        signing.verify(header, BODY, "whsec_other", now=1_700_000_000)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=1700000000", "t=soon,v1=abc"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(signing.SignatureError):
        signing.verify(header, BODY, "whsec_a", now=1_700_000_000)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "::1", "fc00::1", "0.0.0.0", "100.64.0.1"]
)
def test_private_and_loopback_addresses_are_refused_unless_allowed(address: str) -> None:
    with pytest.raises(ssrf.UnsafeUrl):
        ssrf.check_address(address, allow_private=False)
    ssrf.check_address(address, allow_private=True)


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "::ffff:169.254.169.254"])
def test_metadata_addresses_are_refused_even_when_private_ones_are_allowed(address: str) -> None:
    with pytest.raises(ssrf.UnsafeUrl, match="metadata"):
        ssrf.check_address(address, allow_private=True)


def test_public_addresses_pass() -> None:
    ssrf.check_address("93.184.216.34", allow_private=False)
    ssrf.check_address("2606:2800:220:1::1", allow_private=False)


def test_https_only_outside_local() -> None:
    with pytest.raises(ssrf.UnsafeUrl, match="https"):
        ssrf.parse("http://hooks.example.com/", stage="prod")
    assert ssrf.parse("http://127.0.0.1:4650/in?a=1", stage="local").path == "/in?a=1"
    target = ssrf.parse("https://Hooks.Example.com/in", stage="prod")
    assert (target.host, target.port, target.path) == ("hooks.example.com", 443, "/in")


def test_a_name_is_checked_on_every_address_it_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    # No real DNS: the resolver answers one public and one private address (one bad answer refuses the lot).
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["93.184.216.34", "192.168.0.10"])
    target = ssrf.parse("https://hooks.example.com/", stage="prod")
    with pytest.raises(ssrf.UnsafeUrl, match="private"):
        ssrf.safe_address(target, allow_private=False)
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["93.184.216.34"])
    assert ssrf.safe_address(target, allow_private=False) == "93.184.216.34"


def test_a_name_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("no such name")

    monkeypatch.setattr(ssrf, "resolve", fail)
    with pytest.raises(ssrf.UnsafeUrl, match="resolve"):
        ssrf.safe_address(ssrf.parse("https://nowhere.example/", stage="prod"), allow_private=False)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("10.0x10.1", "10.16.0.1"),
        ("[::1]", "::1"),
    ],
)
def test_numeric_host_forms_read_as_the_address_a_resolver_would_connect_to(host: str, address: str) -> None:
    assert ssrf.literal_address(host) == address


@pytest.mark.parametrize("host", ["hooks.example.com", "1.2.3.4.5", "256.1", "0x", "08.0.0.1", "4294967296", "1e3"])
def test_names_and_malformed_numbers_are_not_addresses(host: str) -> None:
    assert ssrf.literal_address(host) is None


@pytest.mark.parametrize("url", ["https://0x7f000001/", "https://2130706433/", "https://127.1/", "https://0177.0.0.1/"])
def test_numeric_loopback_forms_are_refused_at_send_time_without_a_lookup(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError(f"{host} is an address; it must not be looked up")

    monkeypatch.setattr(ssrf, "resolve", no_dns)
    with pytest.raises(ssrf.UnsafeUrl, match="private"):
        ssrf.safe_address(ssrf.parse(url, stage="prod"), allow_private=False)
    assert ssrf.safe_address(ssrf.parse(url, stage="prod"), allow_private=True) == "127.0.0.1"
