"""Server secrets come from Secrets Manager in AWS (moto here) and from the environment locally."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from autoindex import secret_store
from autoindex.settings import ConfigurationError
from moto import mock_aws


@pytest.fixture
def aws(fresh_settings: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        fresh_settings.setenv(name, value)
    with mock_aws():
        yield fresh_settings


def test_signing_key_from_secrets_manager_wins(aws: pytest.MonkeyPatch) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="jwt", SecretString="k" * 40)["ARN"]
    aws.setenv("JWT_SIGNING_KEY_SECRET_ARN", arn)
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # type: ignore[no-untyped-call]
    assert secret_store.jwt_signing_key() == b"k" * 40


def test_a_short_secret_is_refused(aws: pytest.MonkeyPatch) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="pepper", SecretString="short")["ARN"]
    aws.setenv("API_KEY_PEPPER_SECRET_ARN", arn)
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # type: ignore[no-untyped-call]
    with pytest.raises(ConfigurationError, match="API_KEY_PEPPER") as raised:
        secret_store.api_key_pepper()
    assert "short" not in str(raised.value)


def test_outside_local_a_missing_secret_stops_the_function(fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.delenv("JWT_SIGNING_KEY")
    with pytest.raises(ConfigurationError, match="JWT_SIGNING_KEY"):
        secret_store.jwt_signing_key()


def test_locally_a_missing_secret_is_random_and_kept(fresh_settings: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Kept beside the embedded database (tests/unit/test_first_run.py shows it outlives a restart).
    fresh_settings.delenv("API_KEY_PEPPER")
    fresh_settings.setenv("STAGE", "local")
    fresh_settings.setenv("EMBEDDED_DATABASE_PATH", str(tmp_path / "autoindex.sqlite3"))
    first = secret_store.api_key_pepper()
    assert len(first) >= 32 and secret_store.api_key_pepper() == first
    assert (tmp_path / "secrets" / "api_key_pepper").read_bytes() == first


def test_the_twelvedata_key_is_read_from_secrets_manager_and_sent_only_to_the_provider(
    aws: pytest.MonkeyPatch,
) -> None:
    from autoindex.market.providers.factory import clear_provider_caches, get_provider
    from autoindex.settings import get_settings
    from autoindex_dev.fake_twelvedata.server import FakeTwelveData

    key = "td-key-from-secrets-manager-5150"
    arn = boto3.client("secretsmanager").create_secret(Name="twelvedata", SecretString=key)["ARN"]
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # type: ignore[no-untyped-call]
    with FakeTwelveData(credits_per_minute=8, credits_per_day=800, api_key=key) as fake:
        aws.delenv("TWELVEDATA_API_KEY", raising=False)
        for name, value in {
            "MARKET_DATA_PROVIDER": "twelvedata",
            "TWELVEDATA_API_KEY_SECRET_ARN": arn,
            "TWELVEDATA_BASE_URL": fake.url,
        }.items():
            aws.setenv(name, value)
        clear_provider_caches()
        try:
            quote = get_provider().latest_quote("AAPL")
        finally:
            clear_provider_caches()
        # The fake answers only to its own key, sent in the Authorization header
        assert quote.symbol == "AAPL"
        assert fake.requests[-1].headers.get("authorization") == f"apikey {key}"
    assert key not in repr(get_settings()) and all(key not in value for value in os.environ.values())


def test_an_empty_twelvedata_secret_stops_the_provider(aws: pytest.MonkeyPatch) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="twelvedata-empty", SecretString=" ")["ARN"]
    aws.setenv("TWELVEDATA_API_KEY_SECRET_ARN", arn)
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # type: ignore[no-untyped-call]
    with pytest.raises(ConfigurationError, match="TWELVEDATA_API_KEY_SECRET_ARN"):
        secret_store.twelvedata_api_key()
