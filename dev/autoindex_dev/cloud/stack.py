"""Deploy template.yaml into moto the way AWS would: the SAM transform, then CloudFormation ``CreateStack``.

moto's CloudFormation has no SAM transform (``sam deploy`` fails there), so the transform runs here with
aws-sam-translator, on a template whose code locations are already in (moto's) S3: either ``sam package``'s
output (``make cloud-check``) or the source template with every code location pointed at one uploaded zip
(:func:`with_code_in_s3`, for tests that need the roles and resources but not the code).
"""

from __future__ import annotations

import ast
import copy
import io
import json
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class _NoManagedPolicies:
    """The template names no AWS managed policy by name, so the translator never needs IAM to look one up."""

    def load(self) -> dict[str, str]:
        return {}


def read_template(path: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    document: dict[str, Any] = yaml_parse(path.read_text())
    return document


def with_code_in_s3(template: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    """A copy whose functions and layers all point at one S3 object (the code itself is not what is tested)."""
    document = copy.deepcopy(template)
    for resource in document["Resources"].values():
        prop = CODE_PROPERTIES.get(resource["Type"])
        if prop:
            resource["Properties"][prop] = f"s3://{bucket}/{key}"
    return document


def placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def translate(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The SAM transform, as CloudFormation would apply it (needs AWS_DEFAULT_REGION)."""
    from samtranslator.translator.transform import transform

    translated: dict[str, Any] = transform(copy.deepcopy(template), dict(parameters), _NoManagedPolicies())
    return translated


# What moto's CloudFormation cannot create (it would skip them and then fail on what refers to them): the HTTP
# API (the cloud check plays it from the template's routes) and the SnapStart aliases (nothing but the HTTP API's
# integrations and permissions refers to them).
MOTO_CANNOT_CREATE = frozenset({"AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::Lambda::Alias"})
_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)[.}]")


def _references(node: Any) -> set[str]:
    if isinstance(node, dict):
        found: set[str] = set()
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= set(_SUB_NAME.findall(str(text)))
            found |= _references(value)
        return found
    if isinstance(node, list):
        return set().union(*(_references(item) for item in node)) if node else set()
    return set()


def for_moto(translated: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy without what moto cannot create and what refers to it; the dropped logical ids, sorted."""
    document = copy.deepcopy(translated)
    resources = document["Resources"]
    dropped = {name for name, r in resources.items() if r["Type"] in MOTO_CANNOT_CREATE}
    while True:
        more = {name for name, r in resources.items() if name not in dropped and _references(r) & dropped}
        if not more:
            break
        dropped |= more
    for name in dropped:
        del resources[name]
    outputs = document.get("Outputs", {})
    for name in [n for n, o in outputs.items() if _references(o) & dropped]:
        del outputs[name]
    return document, sorted(dropped)


@dataclass(frozen=True)
class Stack:
    name: str
    resources: dict[str, str]  # logical id -> physical id
    outputs: dict[str, str]


def create_stack(cloudformation: Any, name: str, translated: dict[str, Any], parameters: dict[str, str]) -> Stack:
    """CreateStack and wait for CREATE_COMPLETE (moto creates synchronously, a real one would take minutes)."""
    declared = translated.get("Parameters", {})
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(translated),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items() if k in declared],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    status = ""
    for _ in range(600):
        status = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        if not status.endswith("IN_PROGRESS"):
            break
        time.sleep(0.1)
    if status != "CREATE_COMPLETE":
        events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        failed = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
            for e in events
            if "FAILED" in e["ResourceStatus"]
        ]
        raise RuntimeError(f"stack {name} ended {status}: {failed[:5]}")
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    description = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return Stack(
        name=name,
        resources={s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries},
        outputs={o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])},
    )


def attach_managed_policies(iam: Any, translated: dict[str, Any], stack: Stack) -> None:
    """Attach each role's ``ManagedPolicyArns`` that name a policy of the stack: moto's CloudFormation skips them."""
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role" or logical_id not in stack.resources:
            continue
        for entry in resource["Properties"].get("ManagedPolicyArns", []):
            if isinstance(entry, dict) and entry.get("Ref") in stack.resources:
                arn = stack.resources[entry["Ref"]]
                iam.attach_role_policy(RoleName=stack.resources[logical_id], PolicyArn=arn)


def role_statements(iam: Any, role_name: str) -> list[dict[str, Any]]:
    """Every statement the role grants: its inline policies and its attached managed policies, as deployed."""
    statements: list[dict[str, Any]] = []
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        statements += _statements(document)
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        statements += _statements(version["PolicyVersion"]["Document"])
    return statements


def _document(document: Any) -> Any:
    if not isinstance(document, str):
        return document
    try:
        return json.loads(document)
    except ValueError:
        # moto keeps the inline policies CloudFormation gave a role as Python's repr of the dict, not as JSON.
        return ast.literal_eval(document)


def _statements(document: Any) -> list[dict[str, Any]]:
    parsed = _document(document)
    listed = parsed["Statement"]
    statements = list(listed) if isinstance(listed, list) else [listed]
    for statement in statements:
        # moto leaves a list item that was ``!If [cond, x, !Ref AWS::NoValue]`` as None; CloudFormation drops it.
        if isinstance(statement.get("Resource"), list):
            statement["Resource"] = [r for r in statement["Resource"] if r is not None]
    return statements
