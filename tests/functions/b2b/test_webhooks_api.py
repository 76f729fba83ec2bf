"""Webhooks end to end: the secret once, owners only, audited changes, signed deliveries over real HTTP with retries."""

from __future__ import annotations

import uuid

import pytest
from autoindex.events import transport
from autoindex.events.names import EventName

from tests.functions.b2b.receiver import Receiver, receiving
from tests.functions.conftest import Account, Client
from tests.pipeline_fixtures import RecordingDispatcher


def _create(b2b: Client, account: Account, url: str, events: list[str] | None = None) -> dict[str, object]:
    created = b2b.post(
        "/v1/webhooks", headers=account.bearer(), body={"url": url, "events": events or ["backtest.finished"]}
    )
    assert created.status == 201, created.body
    return dict(created.json())


def _audit_actions(user_id: str) -> list[str]:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.models import AuditEvent
    from sqlalchemy import select

    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == user_id))
        return [a for a in rows if a.startswith("webhook.")]


def test_the_secret_is_shown_once_and_changes_are_audited(
    b2b: Client, user: Account, fast_webhooks: pytest.MonkeyPatch
) -> None:
    created = _create(b2b, user, "https://hooks.example.com/in")
    assert str(created["secret"]).startswith("whsec_")
    assert created["active"] is True
    hook = f"/v1/webhooks/{created['id']}"
    assert b2b.get("/v1/webhooks", headers=user.bearer()).json()["items"][0].keys().isdisjoint({"secret"})
    assert "secret" not in b2b.get(hook, headers=user.bearer()).json()

    updated = b2b.request("PATCH", hook, headers=user.bearer(), body={"events": ["index.computed", "refresh.failed"]})
    assert updated.status == 200 and updated.json()["events"] == ["index.computed", "refresh.failed"]
    rotated = b2b.post(f"{hook}/rotate-secret", headers=user.bearer())
    assert rotated.status == 200 and rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    assert b2b.delete(hook, headers=user.bearer()).status == 204
    assert b2b.get(hook, headers=user.bearer()).status == 404
    expected = ["webhook.create", "webhook.update", "webhook.rotate_secret", "webhook.delete"]
    assert _audit_actions(user.user_id) == expected


def test_answers_carrying_the_signing_secret_are_never_stored_by_a_cache(b2b: Client, user: Account) -> None:
    created = b2b.post(
        "/v1/webhooks",
        headers=user.bearer(),
        body={"url": "https://hooks.example.com/in", "events": ["index.computed"]},
    )
    rotated = b2b.post(f"/v1/webhooks/{created.json()['id']}/rotate-secret", headers=user.bearer())
    for answer in (created, rotated):
        assert answer.status in {200, 201}, answer.body
        assert answer.headers.get("cache-control") == "no-store"


def test_rotating_the_secret_is_its_own_route_not_a_patch_flag(b2b: Client, user: Account) -> None:
    # PATCH used to take rotate_secret: true with a 200 and rotate nothing, so a client believed a leaked
    # secret was replaced; the new secret can only be shown by POST .../rotate-secret.
    hook = f"/v1/webhooks/{_create(b2b, user, 'https://hooks.example.com/in')['id']}"
    refused = b2b.request("PATCH", hook, headers=user.bearer(), body={"rotate_secret": True})
    assert refused.status == 422, refused.body
    assert refused.json()["errors"][0]["loc"] == ["body", "rotate_secret"]
    assert b2b.get(hook, headers=user.bearer()).json()["previous_secret_expires_at"] is None


def test_nobody_else_sees_or_changes_a_webhook(b2b: Client, user: Account, reader: Account) -> None:
    created = _create(b2b, user, "https://hooks.example.com/in")
    hook = f"/v1/webhooks/{created['id']}"
    assert b2b.get(hook, headers=reader.bearer()).status == 404
    assert b2b.request("PATCH", hook, headers=reader.bearer(), body={"active": False}).status == 404
    assert b2b.post(f"{hook}/rotate-secret", headers=reader.bearer()).status == 404
    assert b2b.delete(hook, headers=reader.bearer()).status == 404
    assert b2b.get(f"{hook}/deliveries", headers=reader.bearer()).status == 404
    assert b2b.get("/v1/webhooks", headers=reader.bearer()).json()["items"] == []
    assert b2b.get(hook, headers=user.bearer()).status == 200


@pytest.mark.parametrize("body", [{"active": 0}, {"active": 1}, {"active": "false"}, {"active": "yes"}])
def test_webhook_flags_are_json_true_or_false_only(b2b: Client, user: Account, body: dict[str, object]) -> None:
    hook = f"/v1/webhooks/{_create(b2b, user, 'https://hooks.example.com/in')['id']}"
    refused = b2b.request("PATCH", hook, headers=user.bearer(), body=body)
    assert refused.status == 422, refused.body
    assert refused.json()["errors"][0]["loc"] == ["body", next(iter(body))]
    assert b2b.get(hook, headers=user.bearer()).json()["active"] is True  # nothing changed


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/in", "https"),
        ("http://hooks.example.com/in", "https"),
        ("https://127.0.0.1/in", "private"),
        # Numeric forms a resolver reads as loopback (inet_aton): the same address, so the same refusal.
        ("https://0x7f000001/in", "private"),
        ("https://2130706433/in", "private"),
        ("https://127.1/in", "private"),
        ("https://0177.0.0.1/in", "private"),
        ("https://0xa9fea9fe/latest/meta-data", "metadata"),
        ("https://localhost:8443/in", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://user:pw@hooks.example.com/in", "credentials"),
    ],
)
def test_unsafe_urls_are_refused_outside_local(
    b2b: Client, user: Account, fresh_settings: pytest.MonkeyPatch, url: str, why: str
) -> None:
    fresh_settings.setenv("STAGE", "prod")
    refused = b2b.post("/v1/webhooks", headers=user.bearer(), body={"url": url, "events": ["index.computed"]})
    assert refused.status == 422, refused.body
    problem = refused.json()
    assert problem["errors"][0]["loc"][-1] == "url"
    assert why in problem["errors"][0]["msg"]


def test_bad_events_are_a_422_naming_the_field(b2b: Client, user: Account) -> None:
    for events in ([], ["index.exploded"], ["index.computed", "index.computed"]):
        refused = b2b.post(
            "/v1/webhooks", headers=user.bearer(), body={"url": "https://hooks.example.com/", "events": events}
        )
        assert refused.status == 422 and "events" in refused.json()["errors"][0]["loc"], refused.body


def _publish_backtest_finished(user: Account) -> str:
    backtest_id = str(uuid.uuid4())
    transport.publish(
        EventName.BACKTEST_FINISHED, {"backtest_id": backtest_id, "status": "succeeded", "user_id": user.user_id}
    )
    return backtest_id


def test_a_signed_delivery_is_retried_after_500s_until_the_receiver_takes_it(
    b2b: Client, user: Account, reader: Account, fast_webhooks: pytest.MonkeyPatch, dispatcher: RecordingDispatcher
) -> None:
    with receiving(Receiver(fail_first=2)) as receiver:
        created = _create(b2b, user, receiver.url)
        receiver.secret = str(created["secret"])
        _create(b2b, reader, receiver.url)  # another account's webhook: a private event never reaches it
        backtest_id = _publish_backtest_finished(user)
        assert dispatcher.drain(60)
        assert receiver.wait_for(1)
    assert receiver.answers == [500, 500, 200]
    assert receiver.bad_signatures == 0
    (event,) = receiver.received
    assert event["type"] == "backtest.finished"
    assert event["data"] == {"backtest_id": backtest_id, "status": "succeeded"}
    log = b2b.get(f"/v1/webhooks/{created['id']}/deliveries", headers=user.bearer()).json()
    (delivery,) = log["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 3, 200)
    assert delivery["event_id"] == event["id"]


def test_after_the_retry_window_the_webhook_is_disabled_and_says_why(
    b2b: Client, user: Account, fast_webhooks: pytest.MonkeyPatch, dispatcher: RecordingDispatcher
) -> None:
    fast_webhooks.setenv("WEBHOOK_RETRY_WINDOW_S", "0.6")
    with receiving(Receiver(always_fail=True)) as receiver:
        created = _create(b2b, user, receiver.url)
        receiver.secret = str(created["secret"])
        _publish_backtest_finished(user)
        assert dispatcher.drain(60)
    hook = b2b.get(f"/v1/webhooks/{created['id']}", headers=user.bearer()).json()
    assert hook["active"] is False
    assert "kept failing" in hook["disabled_reason"] and "500" in hook["disabled_reason"]
    assert len(receiver.answers) >= 2 and set(receiver.answers) == {500}
    (delivery,) = b2b.get(f"/v1/webhooks/{created['id']}/deliveries", headers=user.bearer()).json()["items"]
    assert delivery["status"] == "failed" and delivery["attempts"] == len(receiver.answers)

    # The owner fixes the receiver, enables the webhook and asks for the event again.
    with receiving(Receiver()) as fixed:
        fixed.secret = str(created["secret"])
        url = {"url": fixed.url, "active": True}
        assert b2b.request("PATCH", f"/v1/webhooks/{created['id']}", headers=user.bearer(), body=url).status == 200
        again = b2b.post(f"/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/redeliver", headers=user.bearer())
        assert again.status == 202, again.body
        assert dispatcher.drain(60) and fixed.wait_for(1)
    assert fixed.received[0]["id"] == delivery["event_id"]


def test_index_computed_reaches_every_subscriber_and_rotation_signs_with_both_secrets(
    b2b: Client, user: Account, reader: Account, fast_webhooks: pytest.MonkeyPatch, dispatcher: RecordingDispatcher
) -> None:
    with receiving(Receiver()) as old_side, receiving(Receiver()) as other:
        mine = _create(b2b, user, old_side.url, ["index.computed"])
        theirs = _create(b2b, reader, other.url, ["index.computed"])
        old_side.secret, other.secret = str(mine["secret"]), str(theirs["secret"])
        # The receiver still holds the old secret after this rotation.
        b2b.post(f"/v1/webhooks/{mine['id']}/rotate-secret", headers=user.bearer())
        transport.publish(EventName.INDEX_COMPUTED, {"data_version": 7, "version_token": "7-ab", "as_of": "2026-11-30"})
        assert dispatcher.drain(60)
        assert old_side.wait_for(1) and other.wait_for(1)
    assert old_side.bad_signatures == other.bad_signatures == 0
    assert old_side.received[0]["data"]["data_version"] == 7
    assert old_side.received[0]["id"] == other.received[0]["id"]


def test_a_name_resolving_to_a_private_address_is_refused_at_send_time(
    b2b: Client, user: Account, fresh_settings: pytest.MonkeyPatch, dispatcher: RecordingDispatcher
) -> None:
    fresh_settings.setenv("WEBHOOK_RETRY_WINDOW_S", "0.3")
    fresh_settings.setenv("WEBHOOK_RETRY_BASE_S", "0.05")
    # No real DNS: the guard's resolver answers as a rebinding attacker's name server would.
    fresh_settings.setattr("autoindex.webhooks.ssrf.resolve", lambda host, port: ["10.0.0.7"])
    created = _create(b2b, user, "http://hooks.attacker.example/in")
    _publish_backtest_finished(user)
    assert dispatcher.drain(60)
    (delivery,) = b2b.get(f"/v1/webhooks/{created['id']}/deliveries", headers=user.bearer()).json()["items"]
    assert delivery["status"] == "failed"
    assert delivery["last_status_code"] is None
    assert "private" in delivery["last_error"]


def test_a_deliveries_cursor_pages_and_refuses_forgeries(
    b2b: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    from autoindex.webhooks import delivery

    fresh_settings.setattr(delivery, "enqueue", lambda ids, delay_s=0.0: None)  # the log alone, nothing sent
    created = _create(b2b, user, "https://hooks.example.com/in")

    for n in range(3):
        delivery.fan_out(event_type="backtest.finished", event_id=f"evt_{n}", data={}, user_id=uuid.UUID(user.user_id))
    path = f"/v1/webhooks/{created['id']}/deliveries"
    first = b2b.get(path, query="limit=2", headers=user.bearer()).json()
    second = b2b.get(path, query=f"limit=2&cursor={first['next_cursor']}", headers=user.bearer()).json()
    assert [d["event_id"] for d in first["items"] + second["items"]] == ["evt_2", "evt_1", "evt_0"]
    assert second["next_cursor"] is None
    assert b2b.get(path, query="cursor=Zm9vOjE", headers=user.bearer()).status == 422
