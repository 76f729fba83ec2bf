"""An operator sees on the run why a payer's dividends took a second call (and so a credit more than planned)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.functions.conftest import Account, Client
from tests.pipeline_fixtures import asked_adjust, credits_charged, evening_refreshes, last_weekdays

KEY = "fallbacks-fake-key-0b7d"


def test_a_revised_dividend_is_named_as_the_reason_for_the_second_call(
    admin_api: Client, admin: Account, market: pytest.MonkeyPatch
) -> None:
    filled, clean, revised = last_weekdays(3)
    with evening_refreshes(market, KEY) as (fake, _, refresh):
        # Given MSFT's first fill with a dividend of 0.31 that went ex on its last day
        fake.set_faults(dividends=[f"MSFT:{filled.isoformat()}:0.31"])
        assert refresh(filled)[0].dividends_written == 1
        # When the next evening's refresh reads every payer off one call
        quiet, _ = refresh(clean)
        # And the provider then revises that dividend to 0.35 before the third evening's refresh
        fake.set_faults(dividends=[f"MSFT:{filled.isoformat()}:0.35"])
        noisy, asked = refresh(revised)
    # Then the quiet run shows no fallback
    shown = admin_api.get(f"/v1/admin/runs/{quiet.id}", headers=admin.bearer())
    assert shown.status == 200 and shown.json()["dividend_fallbacks"] == {}
    # And the other names MSFT alone, with the decoder's reason: the stored dividend no longer reads the same
    body = admin_api.get(f"/v1/admin/runs/{noisy.id}", headers=admin.bearer()).json()
    assert body["status"] == "succeeded", body["errors"]
    assert list(body["dividend_fallbacks"]) == ["MSFT"]
    reason = body["dividend_fallbacks"]["MSFT"]
    assert reason.startswith(f"the dividend of {filled.isoformat()} reads 0.35") and "stored 0.31" in reason
    assert Decimal(reason.split(" reads ")[1].split(",")[0]) == Decimal("0.35")
    # And that second call is the one credit the run cost beyond one a symbol
    assert asked_adjust(asked)["MSFT"] == ["all", "splits"] and asked_adjust(asked)["AAPL"] == ["all"]
    assert body["credits_used"] == 4 + 1 == credits_charged(asked)
    # And the run listing shows it too
    listed = admin_api.get("/v1/admin/runs", headers=admin.bearer()).json()["items"]
    assert {item["id"]: item["dividend_fallbacks"] for item in listed}[str(noisy.id)] == {"MSFT": reason}
