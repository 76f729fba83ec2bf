"""Server secrets (JWT signing key, API-key pepper, Twelve Data key): Secrets Manager in AWS, the environment locally.

Secrets Manager values come through Powertools Parameters, which caches them for five minutes, so
a rotated secret reaches warm containers without a redeploy. In the ``local`` stage, a missing
secret is replaced by a random one for the life of the process (tokens then die with it).
"""

from __future__ import annotations

import functools
import secrets
from typing import TYPE_CHECKING

from autoindex.observability import logger
from autoindex.settings import ConfigurationError, get_settings

if TYPE_CHECKING:
    from pydantic import SecretStr

_SECRET_MAX_AGE_S = 300


@functools.cache
def _ephemeral(name: str) -> bytes:
    logger.warning("no %s configured; using a random one for this process (local stage only)", name)
    return secrets.token_bytes(32)


def _fetch(arn: str) -> bytes:
    from aws_lambda_powertools.utilities import parameters

    fetched = parameters.get_secret(arn, max_age=_SECRET_MAX_AGE_S)
    return fetched.encode() if isinstance(fetched, str) else bytes(fetched)


def _resolve(value: SecretStr | None, arn: str | None, name: str) -> bytes:
    if arn:
        raw = _fetch(arn)
        if len(raw) < 32:
            raise ConfigurationError(f"{name}: the secret in Secrets Manager must be at least 32 bytes")
        return raw
    if value is not None:
        return value.get_secret_value().encode()
    if get_settings().stage == "local":
        return _ephemeral(name)
    raise ConfigurationError(f"{name} or {name}_SECRET_ARN is required outside the local stage")


def jwt_signing_key() -> bytes:
    settings = get_settings()
    return _resolve(settings.jwt_signing_key, settings.jwt_signing_key_secret_arn, "JWT_SIGNING_KEY")


def api_key_pepper() -> bytes:
    settings = get_settings()
    return _resolve(settings.api_key_pepper, settings.api_key_pepper_secret_arn, "API_KEY_PEPPER")


def twelvedata_api_key() -> str:
    """The market-data key: from Secrets Manager when an ARN is set (never an environment value in AWS)."""
    settings = get_settings()
    if settings.twelvedata_api_key_secret_arn:
        key = _fetch(settings.twelvedata_api_key_secret_arn).decode().strip()
        if not key:
            raise ConfigurationError("TWELVEDATA_API_KEY_SECRET_ARN: the secret is empty")
        return key
    if settings.twelvedata_api_key is not None:
        return settings.twelvedata_api_key.get_secret_value()
    raise ConfigurationError("TWELVEDATA_API_KEY or TWELVEDATA_API_KEY_SECRET_ARN is required")
