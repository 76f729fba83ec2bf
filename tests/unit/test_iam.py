"""Each function's role grants exactly the AWS actions its code performs: least privilege, and nothing missing.

A missing grant fails only in AWS (the admin function once committed a queued recompute and then got
AccessDenied from EventBridge), so the template is checked here against what each function does.
"""

from __future__ import annotations

from typing import Any

import pytest
from autoindex_dev.template import read_document

from tests.lambda_http import ROOT

# What each function's code calls through boto3, and why. Every function with a database reads its
# secrets (credentials, JWT key, API-key pepper, the Twelve Data key) from Secrets Manager at run time.
SECRETS = "secretsmanager:GetSecretValue"
PUT_EVENTS = "events:PutEvents"
SEND = "sqs:SendMessage"
EXPORT = {"s3:PutObject", "s3:GetObject"}  # large CSV exports: write the object, presign its download
NEEDS: dict[str, set[str]] = {
    "HealthFunction": {SECRETS},
    "AuthFunction": {SECRETS},
    "MarketFunction": {SECRETS, *EXPORT},
    "IndexFunction": {SECRETS, *EXPORT},
    "CacheWarmFunction": {SECRETS},
    "MaintenanceFunction": {SECRETS},
    "ShareCountsFunction": {SECRETS},  # EDGAR is plain HTTPS with no key: only the database secret
    "MigrateFunction": {SECRETS},  # the writer's credentials, to run the migrations
    "DocsFunction": set(),  # serves a file: no database, no AWS call
    "WebFunction": set(),  # serves the dashboard's files: no database, no AWS call
    "RefreshFunction": {SECRETS, SEND},  # queues the planned batches
    "IngestFunction": {SECRETS, PUT_EVENTS},  # PricesRefreshed when a run's last batch lands
    "ComputeFunction": {SECRETS, PUT_EVENTS},  # IndexComputed
    "StrategyFunction": {SECRETS, PUT_EVENTS},  # StrategyChanged
    "AdminFunction": {SECRETS, SEND, PUT_EVENTS},  # refresh on request; ComputeRequested, CacheInvalidated
    # B2B (issue 14)
    "B2BFunction": {SECRETS, SEND, PUT_EVENTS, *EXPORT},  # backtest jobs, redelivery; BacktestFinished for a cached one
    "BacktestFunction": {SECRETS, PUT_EVENTS},  # BacktestFinished
    "WebhooksFunction": {SECRETS, SEND},  # fan-out and delayed retries onto the webhook queue
}

# What the SAM policy templates used in template.yaml allow (AWS SAM policy templates reference).
SAM_POLICY_TEMPLATES = {
    "SQSSendMessagePolicy": {"sqs:SendMessage*"},
    "EventBridgePutEventsPolicy": {PUT_EVENTS},
}


def _managed_policy_actions(resource: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def _granted(document: dict[str, Any], function: dict[str, Any]) -> set[str]:
    granted: set[str] = set()
    for policy in function["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Ref" in policy:
            granted |= _managed_policy_actions(document["Resources"][policy["Ref"]])
        elif isinstance(policy, dict) and "Statement" in policy:  # an inline policy document
            granted |= _managed_policy_actions({"Properties": {"PolicyDocument": policy}})
        elif isinstance(policy, dict) and len(policy) == 1 and next(iter(policy)) in SAM_POLICY_TEMPLATES:
            granted |= SAM_POLICY_TEMPLATES[next(iter(policy))]
        else:
            pytest.fail(f"a policy this test cannot read (add it here): {policy!r}")
    return granted


def _covers(granted: set[str], needed: str) -> bool:
    return any(needed == g or (g.endswith("*") and needed.startswith(g[:-1])) for g in granted)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return read_document(ROOT / "template.yaml")


def test_every_function_is_accounted_for(document: dict[str, Any]) -> None:
    functions = {k for k, v in document["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert not functions - set(NEEDS), (
        f"add a NEEDS row for {sorted(functions - set(NEEDS))}: the AWS actions its code calls through boto3 "
        "(e.g. SECRETS if it reads the database or a key, SEND to queue, PUT_EVENTS to publish), and give its "
        "template role exactly those (tests/aws/test_iam_enforced.py then runs them under that role)"
    )
    assert not set(NEEDS) - functions, f"NEEDS names functions the template no longer has: {set(NEEDS) - functions}"


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_the_role_grants_what_the_function_does_and_no_more(document: dict[str, Any], name: str) -> None:
    granted = _granted(document, document["Resources"][name])
    missing = {action for action in NEEDS[name] if not _covers(granted, action)}
    extra = {g for g in granted if not any(_covers({g}, action) for action in NEEDS[name])}
    assert not missing, f"{name} calls {missing} but its role does not allow it"
    assert not extra, f"{name} is allowed {extra} but never calls it"


def test_secrets_are_granted_by_arn_never_by_wildcard(document: dict[str, Any]) -> None:
    for statement in document["Resources"]["SecretsReadPolicy"]["Properties"]["PolicyDocument"]["Statement"]:
        resources = statement["Resource"]
        assert isinstance(resources, list) and "*" not in resources
