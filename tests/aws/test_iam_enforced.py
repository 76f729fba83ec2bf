"""Each function's AWS calls, made by the product's own code under exactly the statements of its deployed role.

template.yaml goes through the SAM transform and CloudFormation (moto) as in a deploy; each function's role is
read back from IAM, given to a user of its own, and moto enforces it (actions and, see
autoindex_dev.cloud.iam_resources, resources). What a function needs must be allowed; nothing else may be.
The table of needs is NEEDS in tests/iam_expectations.py: a new function adds its row there.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from autoindex.events import transport
from autoindex.events.names import EventName
from autoindex.web import export
from autoindex_dev.cloud import iam_resources
from autoindex_dev.cloud.stack import (
    Stack,
    attach_managed_policies,
    create_stack,
    for_moto,
    placeholder_zip,
    read_template,
    role_statements,
    translate,
    with_code_in_s3,
)
from botocore.exceptions import ClientError
from moto import mock_aws, settings
from moto.core.authorization import ActionAuthenticatorMixin

from tests.conftest import clear_process_caches
from tests.iam_expectations import NEEDS, PUT_EVENTS, SECRETS, SEND
from tests.lambda_http import ROOT

# moto names each resource type its CloudFormation skips (the queue policy, the schedules); the cloud check
# covers those, this test the roles.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")

REGION = "us-east-1"
BUCKET = "autoindex-artefacts"


@dataclass
class Deployed:
    stack: Stack
    secrets: dict[str, str]  # name -> ARN
    queue_urls: dict[str, str]  # the transport's queue name -> URL
    bucket: str


# The transport's queue names and their template resources; which queues each function sends to (default ingest).
QUEUES = {"ingest": "IngestQueue", "webhooks": "WebhookQueue", "backtests": "BacktestQueue"}
SENDS_TO = {"B2BFunction": {"webhooks", "backtests"}, "WebhooksFunction": {"webhooks"}}


def _secret(client: Any, name: str, value: str) -> str:
    return str(client.create_secret(Name=name, SecretString=value)["ARN"])


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    saved = dict(os.environ)
    os.environ.update({"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "setup", "AWS_SECRET_ACCESS_KEY": "setup"})
    iam_resources.install()
    with mock_aws():
        secrets = boto3.client("secretsmanager")
        arns = {
            "database": _secret(
                secrets, "db", json.dumps({"username": "app", "password": "p", "host": "127.0.0.1", "dbname": "x"})
            ),
            "owner": _secret(
                secrets, "db-owner", json.dumps({"username": "own", "password": "p", "host": "127.0.0.1"})
            ),
            "jwt": _secret(secrets, "jwt", "k" * 40),
            "pepper": _secret(secrets, "pepper", "p" * 40),
            "unrelated": _secret(secrets, "another-service", "x" * 40),
        }
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="code.zip", Body=placeholder_zip())
        parameters = {
            "Stage": "iam",
            "DatabaseSecretArn": arns["database"],
            "DatabaseOwnerSecretArn": arns["owner"],
            "JwtSigningKeySecretArn": arns["jwt"],
            "ApiKeyPepperSecretArn": arns["pepper"],
            "MarketDataProvider": "demo",
            "RedisEndpoint": "127.0.0.1:6379",
        }
        source = with_code_in_s3(read_template(ROOT / "template.yaml"), BUCKET, "code.zip")
        translated, _ = for_moto(translate(source, parameters))
        stack = create_stack(boto3.client("cloudformation"), "autoindex-iam", translated, parameters)
        attach_managed_policies(boto3.client("iam"), translated, stack)
        _detach_lambda_targets(boto3.client("events"))
        bucket = stack.resources["ExportBucket"]
        s3.put_object(Bucket=bucket, Key="exports/probe.csv", Body=b"a,b\n")
        urls = {name: stack.resources[resource] for name, resource in QUEUES.items()}
        yield Deployed(stack=stack, secrets=arns, queue_urls=urls, bucket=bucket)
    os.environ.clear()
    os.environ.update(saved)
    clear_process_caches()


def _detach_lambda_targets(events: Any) -> None:
    # moto cannot run a Lambda target (no Docker) and fails the whole PutEvents call when a rule has one; what
    # is checked here is the caller's permission to put events, so the rules keep their patterns, not targets.
    for rule in events.list_rules()["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        ids = [t["Id"] for t in targets if ":lambda:" in t["Arn"]]
        if ids:
            events.remove_targets(Rule=rule["Name"], Ids=ids)


@contextmanager
def acting_as(deployed: Deployed, function: str) -> Iterator[None]:
    """Credentials holding exactly the function's deployed role statements, with moto enforcing them."""
    iam = boto3.client("iam")
    role = deployed.stack.resources[f"{function}Role"]
    user = f"as-{function}-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    statements = role_statements(iam, role)
    if statements:  # a role with no statement (docs) is a user with no policy
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_user_policy(UserName=user, PolicyName="role", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "EVENT_TRANSPORT": "aws",
            "INGEST_QUEUE_URL": deployed.queue_urls["ingest"],
            "WEBHOOK_QUEUE_URL": deployed.queue_urls["webhooks"],
            "BACKTEST_QUEUE_URL": deployed.queue_urls["backtests"],
            "EXPORT_BUCKET": deployed.bucket,
        }
    )
    _forget_clients()
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = previous
        os.environ.update({"AWS_ACCESS_KEY_ID": "setup", "AWS_SECRET_ACCESS_KEY": "setup"})
        for name in ("EVENT_TRANSPORT", "INGEST_QUEUE_URL", "WEBHOOK_QUEUE_URL", "BACKTEST_QUEUE_URL", "EXPORT_BUCKET"):
            os.environ.pop(name, None)
        _forget_clients()


def _forget_clients() -> None:
    """New boto3 clients (and no cached secret) for the next caller: each function is its own process in AWS."""
    from aws_lambda_powertools.utilities.parameters import base

    base.clear_caches()  # type: ignore[no-untyped-call]
    base.DEFAULT_PROVIDERS.clear()  # type: ignore[attr-defined]
    boto3.DEFAULT_SESSION = None  # it keeps the credentials it resolved first
    transport.reset_clients()
    export._s3_client.cache_clear()
    clear_process_caches()


def _allowed(call: Callable[[], object]) -> bool:
    try:
        call()
    except ClientError as error:
        # moto answers an SQS JSON call with an XML error body, so the code may only be in the message.
        if error.response["Error"]["Code"] in {"AccessDenied", "AccessDeniedException"} or "AccessDenied" in str(error):
            return False
        raise
    except Exception as error:  # Powertools wraps the client error
        if "AccessDenied" in repr(error) or "not authorized" in repr(error):
            return False
        raise
    return True


def _read_secret(arn: str) -> Callable[[], object]:
    from autoindex.db.engine import _secret_url
    from autoindex.secret_store import _fetch

    return (lambda: _secret_url(arn)) if "db" in arn else (lambda: _fetch(arn))


def _send(queue: str) -> Callable[[], object]:
    return lambda: transport.enqueue(queue, [{"probe": queue}])


def _probes(deployed: Deployed, function: str) -> dict[str, Callable[[], object]]:
    """One product call per action of NEEDS, through the code path the functions use."""
    queues = sorted(SENDS_TO.get(function, {"ingest"}))
    return {
        SECRETS: _read_secret(deployed.secrets[SECRET_FOR.get(function, "database")]),
        SEND: lambda: [_send(queue)() for queue in queues],
        PUT_EVENTS: lambda: transport.publish(EventName.CACHE_INVALIDATED, {"reason": "iam probe"}),
        "s3:PutObject": lambda: export._upload(b"a,b\n", "probe"),
        # The presigned URL is signed with the function's credentials: the download needs its s3:GetObject.
        "s3:GetObject": lambda: boto3.client("s3").get_object(Bucket=deployed.bucket, Key="exports/probe.csv"),
    }


# The migrate function reads the schema owner's secret instead of the functions' (see DatabaseOwnerSecretArn).
SECRET_FOR = {"MigrateFunction": "owner"}


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_the_deployed_role_allows_what_the_function_calls_and_nothing_else(deployed: Deployed, function: str) -> None:
    probes = _probes(deployed, function)
    others = sorted(set(QUEUES) - SENDS_TO.get(function, {"ingest"}))
    with acting_as(deployed, function):
        allowed = {action for action, call in probes.items() if _allowed(call)}
        reads_unrelated = _allowed(_read_secret(deployed.secrets["unrelated"]))
        sends_elsewhere = [queue for queue in others if _allowed(_send(queue))]
    assert allowed == NEEDS[function], (
        f"{function}: its deployed role allows {sorted(allowed)}, its code calls {sorted(NEEDS[function])}"
    )
    assert not reads_unrelated, f"{function} may read a secret that is not the product's"
    assert not sends_elsewhere, f"{function} may send to {sends_elsewhere}, which its code never does"


def test_the_migrate_function_reads_no_signing_key_and_the_others_not_the_owner(deployed: Deployed) -> None:
    with acting_as(deployed, "MigrateFunction"):
        assert not _allowed(_read_secret(deployed.secrets["jwt"]))
        assert not _allowed(_read_secret(deployed.secrets["database"]))
    with acting_as(deployed, "AuthFunction"):
        assert _allowed(_read_secret(deployed.secrets["jwt"]))
        assert not _allowed(_read_secret(deployed.secrets["owner"]))
