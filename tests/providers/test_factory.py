"""get_provider(): the setting picks the provider; the Twelve Data key stays secret; bad settings stop start-up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from autoindex.market.providers.budget import MemoryCreditBudget, RedisCreditBudget
from autoindex.market.providers.demo import DemoProvider
from autoindex.market.providers.factory import (
    clear_provider_caches,
    get_circuit_breaker,
    get_credit_budget,
    get_provider,
)
from autoindex.market.providers.twelvedata.client import TwelveDataProvider
from autoindex.settings import ConfigurationError, get_settings

from tests.conftest import clear_process_caches

SECRET = "td-very-secret-0042"


@pytest.fixture
def provider_env(fresh_settings: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    clear_provider_caches()
    yield fresh_settings
    clear_provider_caches()


def test_demo_is_the_default_only_in_the_local_stage(provider_env: pytest.MonkeyPatch) -> None:
    provider_env.delenv("MARKET_DATA_PROVIDER", raising=False)
    provider_env.setenv("STAGE", "local")
    clear_process_caches()
    assert isinstance(get_provider(), DemoProvider)
    assert get_provider() is get_provider()


@pytest.mark.parametrize("stage", ["dev", "prod", "test"])
def test_a_deploy_that_names_no_provider_refuses_to_start(provider_env: pytest.MonkeyPatch, stage: str) -> None:
    provider_env.delenv("MARKET_DATA_PROVIDER", raising=False)
    provider_env.setenv("STAGE", stage)
    clear_process_caches()
    with pytest.raises(ConfigurationError, match="MARKET_DATA_PROVIDER is required outside the local stage"):
        get_provider()


def test_a_deploy_may_serve_demo_prices_when_it_names_them(provider_env: pytest.MonkeyPatch) -> None:
    provider_env.setenv("MARKET_DATA_PROVIDER", "demo")
    provider_env.setenv("STAGE", "prod")
    clear_process_caches()
    assert isinstance(get_provider(), DemoProvider)


def test_twelvedata_uses_the_shared_redis_budget_and_never_shows_the_key(provider_env: pytest.MonkeyPatch) -> None:
    provider_env.setenv("MARKET_DATA_PROVIDER", "twelvedata")
    provider_env.setenv("TWELVEDATA_API_KEY", SECRET)
    provider_env.setenv("TWELVEDATA_BASE_URL", "http://127.0.0.1:9/")
    provider = get_provider()
    assert isinstance(provider, TwelveDataProvider)
    assert isinstance(get_credit_budget(), RedisCreditBudget)  # REDIS_URL is set for the test session
    assert get_circuit_breaker().state().state in {"closed", "open", "half_open"}
    assert SECRET not in repr(provider) and SECRET not in repr(get_settings())
    assert get_settings().twelvedata_base_url == "http://127.0.0.1:9"


def test_without_redis_the_budget_lives_in_the_process(provider_env: pytest.MonkeyPatch) -> None:
    provider_env.delenv("REDIS_URL")
    assert isinstance(get_credit_budget(), MemoryCreditBudget)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MARKET_DATA_PROVIDER": "twelvedata"}, "TWELVEDATA_API_KEY"),
        ({"MARKET_DATA_PROVIDER": "yahoo"}, "MARKET_DATA_PROVIDER"),
        ({"TWELVEDATA_BASE_URL": "http://api.twelvedata.com"}, "TWELVEDATA_BASE_URL"),
        ({"TWELVEDATA_RETRY_ATTEMPTS": "0"}, "TWELVEDATA_RETRY_ATTEMPTS"),
        ({"PROVIDER_CIRCUIT_COOLDOWN_S": "0"}, "PROVIDER_CIRCUIT_COOLDOWN_S"),
    ],
)
def test_bad_provider_settings_stop_start_up(provider_env: pytest.MonkeyPatch, env: dict[str, str], named: str) -> None:
    for name, value in env.items():
        provider_env.setenv(name, value)
    provider_env.delenv("TWELVEDATA_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match=named):
        get_settings()
