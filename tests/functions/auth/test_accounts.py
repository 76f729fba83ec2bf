"""Registration, login and the caller's identity, through the auth function's handler."""

from __future__ import annotations

import pytest

from tests.functions.conftest import GOOD_PASSWORD, Account, Client, new_email, register_and_login
from tests.lambda_http import Result


def test_register_creates_a_user_account_with_a_normalised_email(auth: Client) -> None:
    email = new_email().replace("user", "MiXeD")
    result = auth.post("/v1/auth/register", body={"email": f"  {email} ", "password": GOOD_PASSWORD})
    assert result.status == 202
    assert set(result.json()) == {"status", "detail"}
    tokens = auth.post("/v1/auth/login", body={"email": email, "password": GOOD_PASSWORD}).json()
    me = auth.get("/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert me["email"] == email.lower() and me["role"] == "user"


def test_email_is_unique_case_insensitively(auth: Client) -> None:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.models import User
    from sqlalchemy import func, select

    email = new_email()
    assert auth.post("/v1/auth/register", body={"email": email, "password": GOOD_PASSWORD}).status == 202
    again = auth.post("/v1/auth/register", body={"email": email.upper(), "password": GOOD_PASSWORD})
    assert again.status == 202  # the same answer (no enumeration), but no second account
    with UnitOfWork(read_only=True) as uow:
        count = uow.session.execute(select(func.count()).where(func.lower(User.email) == email)).scalar_one()
    assert count == 1


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-1A", "at least 12"),
        ("password1234", "too common"),
        ("QWERTY123456", "too common"),
        ("aaaaaaaaaaaaab", "different characters"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(auth: Client, password: str, reason: str) -> None:
    result = auth.post("/v1/auth/register", body={"email": new_email(), "password": password})
    assert result.status == 422
    body = result.json()
    # The length is in the schema (a field error); the rest of the policy is the service's (the detail).
    reasons = [body["detail"], *(error["msg"] for error in body.get("errors", []))]
    assert any(reason in text for text in reasons), reasons


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-1A", "String should have at least 12 characters"),
        ("x" * 257, "String should have at most 256 characters"),
    ],
)
def test_a_password_of_the_wrong_length_is_measured_in_characters(auth: Client, password: str, message: str) -> None:
    # The dashboard shows this message under the form: pydantic's generic "at least 12 items" read as nonsense.
    result = auth.post("/v1/auth/register", body={"email": new_email(), "password": password})
    assert result.status == 422
    assert [(e["loc"], e["msg"]) for e in result.json()["errors"]] == [(["body", "password"], message)]


def test_password_containing_the_email_is_refused(auth: Client) -> None:
    email = new_email()
    result = auth.post("/v1/auth/register", body={"email": email, "password": email.split("@")[0] + "-xyz!"})
    assert result.status == 422
    assert "e-mail" in result.json()["detail"]


@pytest.mark.parametrize("email", ["ada@mail.test", "ada@example.invalid", "ada@printer.local", "ada@localhost"])
def test_an_address_no_mail_reaches_is_a_422_saying_why(auth: Client, email: str) -> None:
    result = auth.post("/v1/auth/register", body={"email": email, "password": GOOD_PASSWORD})
    assert result.status == 422, result.body
    error = result.json()["errors"][0]
    assert error["loc"] == ["body", "email"]
    assert "special-use or reserved name" in error["msg"] or "should have a period" in error["msg"]


@pytest.mark.parametrize("extra", [{"role": "admin"}, {"is_admin": True}])
def test_mass_assignment_is_refused(auth: Client, extra: dict[str, object]) -> None:
    result = auth.post("/v1/auth/register", body={"email": new_email(), "password": GOOD_PASSWORD, **extra})
    assert result.status == 422
    field = next(iter(extra))
    assert ["body", field] in [err["loc"] for err in result.json()["errors"]]


def test_long_passwords_count_beyond_72_bytes(auth: Client) -> None:
    # bcrypt alone reads 72 bytes: two passwords sharing those would be the same password.
    common = "Zq9!" * 18  # 72 characters
    account = register_and_login(auth, password=common + "-first")
    wrong = auth.post("/v1/auth/login", body={"email": account.email, "password": common + "-other"})
    assert wrong.status == 401


def test_unknown_email_and_wrong_password_answer_alike(auth: Client, user: Account) -> None:
    wrong = auth.post("/v1/auth/login", body={"email": user.email, "password": "not-the-password-123"})
    unknown = auth.post("/v1/auth/login", body={"email": new_email(), "password": "not-the-password-123"})
    assert wrong.status == unknown.status == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"


def test_login_is_case_insensitive_on_email(auth: Client, user: Account) -> None:
    result = auth.post("/v1/auth/login", body={"email": user.email.upper(), "password": user.password})
    assert result.status == 200
    assert result.json()["token_type"] == "bearer"
    assert result.json()["expires_in"] == 900


def test_me_with_a_bearer_token(auth: Client, user: Account) -> None:
    result = auth.get("/v1/auth/me", headers=user.bearer())
    assert result.status == 200
    body = result.json()
    assert (body["email"], body["auth"], body["scopes"]) == (user.email, "bearer", ["backtest", "read", "write"])


def test_me_without_credentials_is_401(auth: Client) -> None:
    result = auth.get("/v1/auth/me")
    assert result.status == 401
    assert result.headers["content-type"] == "application/problem+json"


def test_a_cookie_alone_authenticates_nothing(auth: Client, user: Account) -> None:
    # CSRF posture: browsers send cookies on their own; the API never reads them.
    for cookie in (f"access_token={user.access_token}", f"Authorization=Bearer {user.access_token}"):
        assert auth.get("/v1/auth/me", headers={"Cookie": cookie}).status == 401


@pytest.mark.usefixtures("steady_minute")
def test_login_brute_force_ends_in_429_with_retry_after(auth: Client, user: Account) -> None:
    statuses = [
        auth.post("/v1/auth/login", body={"email": user.email, "password": f"wrong-password-{i}"}).status
        for i in range(8)
    ]
    assert statuses[:5] == [401] * 5  # five failures (the fixture's successful login spent nothing)
    assert statuses[5:] == [429] * 3
    blocked = auth.post("/v1/auth/login", body={"email": user.email, "password": user.password})
    assert blocked.status == 429  # even the right password, until the window turns
    assert int(blocked.headers["retry-after"]) > 0


@pytest.mark.usefixtures("steady_minute")
def test_successful_logins_never_use_up_the_login_budget(auth: Client, user: Account) -> None:
    for _ in range(3):
        assert auth.post("/v1/auth/login", body={"email": user.email, "password": "wrong-password-x"}).status == 401
    statuses = [
        auth.post("/v1/auth/login", body={"email": user.email, "password": user.password}).status for _ in range(8)
    ]
    assert statuses == [200] * 8  # five a window: successes spend nothing
    # The failures still count: two more fill the budget of five, then even the right password waits.
    for _ in range(2):
        assert auth.post("/v1/auth/login", body={"email": user.email, "password": "wrong-password-y"}).status == 401
    assert auth.post("/v1/auth/login", body={"email": user.email, "password": user.password}).status == 429


def _login_remaining(result: Result) -> int:
    policy, remaining, _ = result.headers["ratelimit"].split(";")
    assert policy == '"login"'
    return int(remaining.removeprefix("r="))


@pytest.mark.usefixtures("steady_minute")
def test_login_ratelimit_header_reports_the_failure_budget_a_success_left_untouched(
    auth: Client, user: Account
) -> None:
    right = {"email": user.email, "password": user.password}
    first = auth.post("/v1/auth/login", body=right)
    assert first.status == 200
    assert _login_remaining(first) == 5  # the fixture's login and this one spent nothing
    failed = auth.post("/v1/auth/login", body={**right, "password": "wrong-password-z"})
    assert failed.status == 401 and _login_remaining(failed) == 4
    after = auth.post("/v1/auth/login", body=right)
    assert after.status == 200 and _login_remaining(after) == 4  # the failure counts, the success does not


@pytest.mark.usefixtures("steady_minute")
def test_login_budget_per_account_holds_across_addresses(auth: Client, user: Account) -> None:
    statuses = []
    for i in range(7):
        other = Client(auth.handler)  # a new source address each time
        statuses.append(other.post("/v1/auth/login", body={"email": user.email, "password": f"guess-{i}-xx"}).status)
    assert statuses[-1] == 429


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/auth/login", {"email": "nul\u0000@example.com", "password": "whatever-password"}),
        ("/v1/auth/login", {"email": "a@example.com", "password": "lone \ud800 surrogate"}),
        ("/v1/auth/refresh", {"refresh_token": "token-with-\u0000-nul-byte"}),
        ("/v1/auth/register", {"email": "b@example.com", "password": "Sur\udfffrogate-password"}),
    ],
)
def test_text_the_database_cannot_store_is_a_422(auth: Client, path: str, body: dict[str, str]) -> None:
    import json as json_module

    raw = json_module.dumps(body)  # JSON escapes keep the NUL and the lone surrogate intact on the wire
    result = auth.post(path, body=raw, headers={"content-type": "application/json"})
    assert result.status == 422, result.body
