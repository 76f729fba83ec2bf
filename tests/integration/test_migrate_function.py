"""The migrate function: a deploy step brings a fresh database to head, and CloudFormation hears the outcome."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from autoindex.migrations import migrate
from autoindex_dev.lambda_events import LocalContext
from sqlalchemy import create_engine

from tests.lambda_http import function_handler


class _CloudFormation(BaseHTTPRequestHandler):
    answers: list[dict[str, Any]]

    def do_PUT(self) -> None:
        self.answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def response_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    answers: list[dict[str, Any]] = []
    handler = type("Recorder", (_CloudFormation,), {"answers": answers})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/presigned", answers
    server.shutdown()
    server.server_close()


def _resource_event(url: str, request_type: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/autoindex-dev/1",
        "RequestId": "r-1",
        "LogicalResourceId": "MigrateOnDeployResource",
        "ResourceType": "AWS::CloudFormation::CustomResource",
        "ResourceProperties": {"Revision": "head"},
    }


def _invoke(event: dict[str, Any]) -> Any:
    return function_handler("migrate")(event, LocalContext(function_name="migrate", timeout_s=300))


def test_a_pipeline_invocation_migrates_to_head(fresh_settings: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'fresh.sqlite3'}"
    fresh_settings.setenv("DATABASE_URL", url)
    engine = create_engine(url)
    assert migrate.current_revision(engine) is None
    answer = _invoke({})
    assert answer["status"] == "migrated"
    assert answer["revision"] == migrate.head_revision(engine) == migrate.current_revision(engine)
    engine.dispose()


def test_cloudformation_hears_success_and_a_delete_keeps_the_schema(
    fresh_settings: pytest.MonkeyPatch, tmp_path: Path, response_url: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = response_url
    fresh_settings.setenv("DATABASE_URL", f"sqlite+pysqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert _invoke(_resource_event(url, "Create"))["status"] == "migrated"
    assert _invoke(_resource_event(url, "Delete"))["status"] == "kept"
    assert [a["Status"] for a in answers] == ["SUCCESS", "SUCCESS"]
    assert answers[0]["Data"]["Revision"] and answers[0]["RequestId"] == "r-1"
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    engine.dispose()


def test_a_failed_migration_fails_the_deploy_without_leaking_the_url(
    fresh_settings: pytest.MonkeyPatch, response_url: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = response_url
    # A database that cannot be reached, with a password that must not reach CloudFormation.
    fresh_settings.setenv("DATABASE_URL", "postgresql+pg8000://app:hunter2-secret@127.0.0.1:9/none")
    assert _invoke(_resource_event(url, "Update"))["status"] == "failed"
    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert "hunter2" not in json.dumps(answer)
