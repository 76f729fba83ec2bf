"""Server secrets (JWT signing key, API-key pepper, Twelve Data key): Secrets Manager in AWS, the environment locally.

Secrets Manager values come through Powertools Parameters, which caches them for five minutes, so
a rotated secret reaches warm containers without a redeploy. In the ``local`` stage, a missing
signing key or pepper is generated once and kept beside the embedded database
(``var/secrets/<name>``, mode 0600), so restarting ``make run`` keeps tokens and API keys valid.
"""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from autoindex.observability import logger
from autoindex.settings import ConfigurationError, get_settings

if TYPE_CHECKING:
    from pydantic import SecretStr

_SECRET_MAX_AGE_S = 300


def _local(name: str) -> bytes:
    return _kept(get_settings().embedded_database_path.parent / "secrets" / name.lower())


@functools.cache
def _kept(path: Path) -> bytes:
    """The secret stored at ``path``, made (32 random bytes, hex, owner-only) the first time it is needed."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by an earlier run (or a concurrent process): use it
        value = path.read_bytes().strip()
        if len(value) < 32:
            raise ConfigurationError(f"{path}: the local secret is shorter than 32 bytes; delete it") from None
        return value
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_hex(32).encode())
    logger.info("generated a local secret (local stage only)", extra={"path": str(path)})
    return path.read_bytes().strip()


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
        return _local(name)
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
