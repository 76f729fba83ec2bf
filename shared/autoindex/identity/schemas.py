"""Requests and responses of the auth area."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from autoindex.identity.passwords import MAX_LENGTH, MIN_LENGTH
from autoindex.schemas import CleanText

Password = Annotated[CleanText, Field(min_length=1, max_length=MAX_LENGTH)]
# A new password meets the policy's length in the schema too; the rest of the policy is the service's.
NewPassword = Annotated[CleanText, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
OpaqueToken = Annotated[CleanText, Field(min_length=16, max_length=128)]


class Strict(BaseModel):
    # Unknown fields are refused, not ignored: nobody registers themselves as an admin by adding "role".
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(Strict):
    email: EmailStr
    password: NewPassword


class LoginRequest(Strict):
    email: Annotated[CleanText, Field(min_length=3, max_length=254)]
    password: Password


class RefreshRequest(Strict):
    refresh_token: OpaqueToken


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    role: Literal["user", "admin"]
    created_at: datetime


REGISTER_ACCEPTED = "If this e-mail address had no account, it has one now: log in with the password you chose."


class RegisterAccepted(BaseModel):
    """The one answer to a valid registration, whether the address was new or already had an account."""

    status: Literal["accepted"] = "accepted"
    detail: str = REGISTER_ACCEPTED


class SessionRead(BaseModel):
    """One signed-in session (a refresh-token family): when it began, was last refreshed, and must end."""

    id: uuid.UUID
    started_at: datetime
    last_refreshed_at: datetime
    expires_at: datetime = Field(description="The absolute end: no refresh carries the session past it.")
    current: bool = Field(description="Whether the access token of this request belongs to this session.")


class SessionList(BaseModel):
    items: list[SessionRead] = Field(description="Live sessions, newest first (one page of them).")
    next_cursor: str | None


class LogoutAllRead(BaseModel):
    sessions_ended: int


class MeRead(UserRead):
    auth: Literal["bearer", "api_key"]
    scopes: list[str]
    api_key_id: uuid.UUID | None = None


class SessionTokenRead(BaseModel):
    """A browser session's access token; its refresh token travels only in the HttpOnly cookie."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class TokenPairRead(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


Scope = Literal["read", "write", "admin", "backtest"]


class ApiKeyCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w .:@/-]+$")]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=4, json_schema_extra={"uniqueItems": True})]
    # The schema's bound is the default API_KEY_MAX_TTL_DAYS; a deploy that lowers it refuses more (422).
    # Strict: JSON true is not one day.
    expires_in_days: (
        Annotated[
            int,
            Field(
                ge=1,
                le=365,
                strict=True,
                description=(
                    "Days the key lives. Left out (or null), the key lives the longest a key may: "
                    "API_KEY_MAX_TTL_DAYS (365 by default)."
                ),
            ),
        ]
        | None
    ) = None

    @field_validator("scopes")
    @classmethod
    def _unique(cls, value: list[Scope]) -> list[Scope]:
        if len(set(value)) != len(value):
            raise ValueError("scopes must not repeat")
        return value


class ApiKeyRead(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(BaseModel):
    id: uuid.UUID
    name: str
    key: str = Field(description="The full key. It is shown this once and cannot be recovered.")
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead] = Field(description="Keys, newest first, revoked and expired ones too (one page).")
    next_cursor: str | None
