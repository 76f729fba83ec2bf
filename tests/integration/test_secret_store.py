"""Server secrets come from Secrets Manager in AWS (moto here) and from the environment locally."""

from __future__ import annotations

from collections.abc import Iterator

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


def test_locally_a_missing_secret_is_random_but_stable(fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.delenv("API_KEY_PEPPER")
    fresh_settings.setenv("STAGE", "local")
    first = secret_store.api_key_pepper()
    assert len(first) == 32 and secret_store.api_key_pepper() == first
