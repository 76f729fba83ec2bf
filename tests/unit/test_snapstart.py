"""SnapStart hooks, run the way the Lambda runtime runs them: restored copies share no connection and no randomness."""

from __future__ import annotations

import random

import pytest
import snapshot_restore_py
from autoindex.clients import get_redis
from autoindex.db.engine import write_engine
from autoindex.web import snapstart


@pytest.fixture
def registry() -> list[object]:
    snapstart.register_hooks()
    return [entry[0] for entry in snapshot_restore_py.get_after_restore()]


def _restore() -> None:
    # What the runtime does on restore: call every registered hook.
    for func, args, kwargs in snapshot_restore_py.get_after_restore():
        func(*args, **kwargs)


def test_the_api_functions_register_both_hooks(registry: list[object]) -> None:
    assert snapstart.after_restore in registry
    assert snapstart.forget_connections in [entry[0] for entry in snapshot_restore_py.get_before_snapshot()]
    assert snapstart.register_hooks() is True
    assert registry.count(snapstart.after_restore) == 1  # once per process, however many times it is asked


def test_a_restored_copy_builds_new_clients_and_engines(
    registry: list[object], fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh_settings.setenv("DATABASE_URL", "postgresql+pg8000://nobody@127.0.0.1:9/none")  # never connected here
    fresh_settings.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    engine, client = write_engine(), get_redis()
    assert write_engine() is engine and get_redis() is client  # cached per container
    _restore()
    assert write_engine() is not engine and get_redis() is not client


def test_restored_copies_do_not_share_a_random_sequence(registry: list[object]) -> None:
    draws = []
    for _ in range(2):
        random.seed(1234)  # the state frozen in the snapshot
        _restore()
        draws.append([random.random() for _ in range(4)])
    assert draws[0] != draws[1]
