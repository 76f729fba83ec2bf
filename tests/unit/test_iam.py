"""Each function's role grants exactly the AWS actions its code performs: least privilege, and nothing missing.

A missing grant fails only in AWS (the admin function once committed a queued recompute and then got
AccessDenied from EventBridge), so the template is checked here against what each function does.
"""

from __future__ import annotations

from typing import Any

import pytest
from autoindex_dev.template import read_document

from tests.iam_expectations import NEEDS, PUT_EVENTS
from tests.lambda_http import ROOT

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
        f"add a NEEDS row in tests/iam_expectations.py for {sorted(functions - set(NEEDS))}: the AWS actions its "
        "code calls through boto3 (e.g. SECRETS if it reads the database or a key, SEND to queue, PUT_EVENTS to "
        "publish), and give its "
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
