"""Forged and misused tokens are refused; refresh rotates, and reuse revokes the whole family."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.functions.conftest import Account, Client

KEY = "test-signing-key-0123456789abcdef-0123456789"


def claims_for(account: Account, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "iss": "autoindex",
        "aud": "autoindex-api",
        "sub": account.user_id,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "sid": account.session_id,
        "role": "user",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def me_status(auth: Client, token: str) -> int:
    return auth.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status


def test_a_well_formed_token_is_accepted(auth: Client, user: Account) -> None:
    # The baseline for every forgery below: the same claims, signed properly, do work.
    assert me_status(auth, jwt.encode(claims_for(user), KEY, algorithm="HS256")) == 200


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, default=str).encode()).decode().rstrip("=")


def test_alg_none_is_refused(auth: Client, user: Account) -> None:
    claims = {k: (int(v.timestamp()) if isinstance(v, datetime) else v) for k, v in claims_for(user).items()}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert me_status(auth, unsigned) == 401


def test_rs256_token_and_hs_rs_confusion_are_refused(auth: Client, user: Account) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert me_status(auth, jwt.encode(claims_for(user), private, algorithm="RS256")) == 401
    # Confusion: HS256 "signed" with a public key as the HMAC secret.
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "typ": "JWT"})
    claims = {k: (int(v.timestamp()) if isinstance(v, datetime) else v) for k, v in claims_for(user).items()}
    import hashlib
    import hmac

    body = f"{header}.{_b64(claims)}"
    sig = base64.urlsafe_b64encode(hmac.new(public_pem, body.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    assert me_status(auth, f"{body}.{sig}") == 401


def test_tampered_signature_is_refused(auth: Client, user: Account) -> None:
    header, payload, signature = user.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    assert me_status(auth, f"{header}.{_b64(claims)}.{signature}") == 401
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert me_status(auth, f"{header}.{payload}.{flipped}") == 401


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": datetime.now(UTC) - timedelta(minutes=1)},
        {"nbf": datetime.now(UTC) + timedelta(minutes=5)},
        {"aud": "someone-else"},
        {"iss": "https://evil.example"},
        {"typ": "refresh"},
        {"typ": None},
        {"jti": None},
        {"sid": None},
        {"sid": uuid.uuid4().hex},  # a session that does not exist
        {"sub": str(uuid.uuid4())},  # a user that does not exist
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "wrong-aud",
        "wrong-iss",
        "typ-refresh",
        "no-typ",
        "no-jti",
        "no-sid",
        "unknown-sid",
        "unknown-sub",
    ],
)
def test_invalid_claims_are_refused(auth: Client, user: Account, overrides: dict[str, Any]) -> None:
    assert me_status(auth, jwt.encode(claims_for(user, **overrides), KEY, algorithm="HS256")) == 401


def test_wrong_key_is_refused(auth: Client, user: Account) -> None:
    assert me_status(auth, jwt.encode(claims_for(user), "another-key-" * 4, algorithm="HS256")) == 401


def test_a_refresh_token_is_not_an_access_token(auth: Client, user: Account) -> None:
    assert me_status(auth, user.refresh_token) == 401


def test_the_role_in_a_token_grants_nothing(auth: Client, user: Account, admin_api: Client) -> None:
    forged_admin = jwt.encode(claims_for(user, role="admin"), KEY, algorithm="HS256")
    # Properly signed, but the database says "user": admin routes still refuse.
    assert admin_api.get("/v1/admin/audit", headers={"Authorization": f"Bearer {forged_admin}"}).status == 403


def test_refresh_rotates_and_the_new_pair_works(auth: Client, user: Account) -> None:
    rotated = auth.post("/v1/auth/refresh", body={"refresh_token": user.refresh_token})
    assert rotated.status == 200
    pair = rotated.json()
    assert pair["refresh_token"] != user.refresh_token
    assert me_status(auth, pair["access_token"]) == 200
    again = auth.post("/v1/auth/refresh", body={"refresh_token": pair["refresh_token"]})
    assert again.status == 200


def test_reuse_of_a_rotated_token_revokes_the_whole_family(auth: Client, user: Account) -> None:
    first = auth.post("/v1/auth/refresh", body={"refresh_token": user.refresh_token}).json()
    assert me_status(auth, first["access_token"]) == 200
    # The old token comes back (stolen copy): refused, and the family dies with it.
    reuse = auth.post("/v1/auth/refresh", body={"refresh_token": user.refresh_token})
    assert reuse.status == 401
    assert auth.post("/v1/auth/refresh", body={"refresh_token": first["refresh_token"]}).status == 401
    # Its access tokens die with it, including the one already cached as live.
    assert me_status(auth, first["access_token"]) == 401


def test_logout_revokes_the_session(auth: Client, user: Account) -> None:
    assert auth.post("/v1/auth/logout", body={"refresh_token": user.refresh_token}).status == 204
    assert auth.post("/v1/auth/refresh", body={"refresh_token": user.refresh_token}).status == 401
    # Idempotent: logging out twice, or with an unknown token, is still 204.
    assert auth.post("/v1/auth/logout", body={"refresh_token": user.refresh_token}).status == 204
    assert auth.post("/v1/auth/logout", body={"refresh_token": "x" * 43}).status == 204


def test_malformed_refresh_body_is_422(auth: Client) -> None:
    assert auth.post("/v1/auth/refresh", body={"refresh_token": "short"}).status == 422
    assert auth.post("/v1/auth/refresh", body={}).status == 422
