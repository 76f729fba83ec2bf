"""An emulated AWS for the built artefacts: moto on 127.0.0.1 holds the deployed stack, this module plays Lambda.

:func:`start` runs a moto server, uploads ``sam package``'s output to its S3, deploys the SAM-translated template
with CloudFormation ``CreateStack``, and wires the event sources the way the Lambda service would:

- SQS event source mappings (ingest): polled here (moto's own mapping would need Docker, so it is disabled),
  with the mapping's batch size, the queue's visibility timeout and redrive, and partial batch failures;
- EventBridge rules (compute, warm): each Lambda target becomes an SQS queue moto delivers to (moto cannot run
  a Lambda target), polled here, with the target's retry policy and dead-letter queue;
- Scheduler schedules (refresh, maintenance; moto's CloudFormation skips them): created through the Scheduler
  API from the translated template, and fired by :meth:`Cloud.fire_schedule`.

Every function runs from ``.aws-sam/build`` in its own process (:mod:`lambdas`), with its deployed environment.
What differs from AWS is listed in :data:`LOCAL_OVERRIDES` and docs/operations.md ("The emulated AWS").
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from autoindex_dev.cloud.lambdas import BuiltFunction, FunctionError, FunctionTimeout, base_environment
from autoindex_dev.cloud.stack import (
    Stack,
    attach_managed_policies,
    create_stack,
    for_moto,
    read_template,
    translate,
)

REGION = "us-east-1"
MOTO_KEY = "testing"  # moto accepts any key; nothing here reaches AWS
BUCKET = "autoindex-artefacts"
# Failed records come back after this long instead of their queue's visibility timeout (30 min for ingest): the
# check compresses time, it does not skip the redelivery.
REDELIVERY_S = 2
# What the deployed environment cannot have on a developer machine: Redis without TLS, PostgreSQL without the
# RDS CA bundle. Everything else is the template's own environment, as CloudFormation resolved it.
LOCAL_OVERRIDES = ("REDIS_URL", "DB_SSL")


def _build_layout(root: Path) -> Any:
    spec = importlib.util.spec_from_file_location("build_layout", root / "infra" / "build_layout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Cloud:
    root: Path
    endpoint: str
    stack: Stack
    translated: dict[str, Any]
    functions: dict[str, BuiltFunction]
    log: IO[str]
    problems: list[str] = field(default_factory=list)
    invocations: list[Any] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # name -> URL of every queue the check watches

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=MOTO_KEY,
            aws_secret_access_key=MOTO_KEY,
        )

    def invoke(self, logical_id: str, event: Any) -> Any:
        """One invocation; an error or an overrun is recorded as a problem and raised."""
        try:
            result, cost = self.functions[logical_id].invoke(event)
        except (FunctionError, FunctionTimeout) as exc:
            self.problems.append(str(exc))
            raise
        self.invocations.append(cost)
        return result

    # --- schedules -------------------------------------------------------------------------------------------

    def fire_schedule(self, logical_id: str) -> Any:
        """What the Scheduler does when the schedule's time comes: invoke its target with a scheduled event."""
        schedule = self.schedules[logical_id]
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": REGION,
            "resources": [schedule["Arn"]],
            "detail": {},
        }
        return self.invoke(schedule["function"], event)

    # --- pollers ---------------------------------------------------------------------------------------------

    def _poll_sqs(self, queue_url: str, function: str, batch_size: int) -> None:
        sqs = self.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        while not self._stop.is_set():
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=batch_size,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                continue
            event = {"Records": [_sqs_record(m, arn) for m in messages]}
            try:
                result = self.invoke(function, event)
            except (FunctionError, FunctionTimeout):
                failed = {m["MessageId"] for m in messages}
            else:
                failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] in failed:
                    sqs.change_message_visibility(
                        QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=REDELIVERY_S
                    )
                else:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _poll_rule(self, queue_url: str, function: str, retries: int, dead_letter_url: str | None) -> None:
        sqs = self.client("sqs")
        while not self._stop.is_set():
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1, AttributeNames=["All"]
            ).get("Messages", [])
            for message in messages:
                attempts = int(message["Attributes"].get("ApproximateReceiveCount", "1"))
                try:
                    self.invoke(function, json.loads(message["Body"]))
                except (FunctionError, FunctionTimeout):
                    if attempts <= retries:
                        sqs.change_message_visibility(
                            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=REDELIVERY_S
                        )
                        continue
                    if dead_letter_url:  # what EventBridge does once the retry policy is spent
                        sqs.send_message(QueueUrl=dead_letter_url, MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def depth(self) -> dict[str, int]:
        """Messages visible or in flight, per watched queue."""
        sqs = self.client("sqs")
        out = {}
        for name, url in self.queues.items():
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            out[name] = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
        return out

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for function in self.functions.values():
            function.stop()


def _sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


# --- starting it ---------------------------------------------------------------------------------------------


def start_moto(port: int) -> Any:
    import logging
    import warnings

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access line per AWS call would drown the output
    # moto names each resource type its CloudFormation skips; for_moto and the module docstring account for them.
    logging.getLogger("moto.cloudformation.parsing").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def package(root: Path, sam: Path, endpoint: str, out: Path) -> Path:
    """``sam package``: zip every built function and layer into moto's S3; the template then names them there."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": MOTO_KEY,
        "AWS_SECRET_ACCESS_KEY": MOTO_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "SAM_CLI_TELEMETRY": "0",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - the SAM CLI of .venv-sam
        [
            str(sam),
            "package",
            "--template-file",
            str(root / ".aws-sam" / "build" / "template.yaml"),
            "--s3-bucket",
            BUCKET,
            "--output-template-file",
            str(out),
            "--region",
            REGION,
        ],
        check=True,
        env=env,
        cwd=root,
        capture_output=True,
    )
    return out


def _function_environment(cloud_client: Any, physical: str) -> dict[str, str]:
    configuration = cloud_client.get_function_configuration(FunctionName=physical)
    variables: dict[str, str] = configuration.get("Environment", {}).get("Variables", {})
    return {k: str(v) for k, v in variables.items() if v is not None}


def start(
    *,
    root: Path,
    sam: Path,
    python: str,
    port: int,
    parameters: dict[str, str],
    overrides: dict[str, str],
    runtime_site: Path,
    log: IO[str],
    prepare: Any = None,
) -> Cloud:
    """moto up, the packaged template deployed, every function ready to run and every event source wired.

    ``prepare(client)`` runs against moto before the deploy (the secrets the parameters name).
    """
    import boto3

    endpoint = f"http://127.0.0.1:{port}"
    start_moto(port)
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=MOTO_KEY, aws_secret_access_key=MOTO_KEY
    )
    s3.create_bucket(Bucket=BUCKET)
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=MOTO_KEY,
            aws_secret_access_key=MOTO_KEY,
        )

    if prepare is not None:
        prepare(client)
    packaged = package(root, sam, endpoint, root / ".aws-sam" / "cloud" / "packaged.yaml")
    translated, dropped = for_moto(translate(read_template(packaged), parameters))
    log.write(f"not created in moto (the HTTP API is played from the template's routes): {', '.join(dropped)}\n")
    stack = create_stack(client("cloudformation"), "autoindex-cloud", translated, parameters)
    attach_managed_policies(client("iam"), translated, stack)
    layout = _build_layout(root)
    build = root / ".aws-sam" / "build"
    lambda_client = client("lambda")
    functions: dict[str, BuiltFunction] = {}
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        physical = stack.resources[logical_id]
        configuration = lambda_client.get_function_configuration(FunctionName=physical)
        environment = {
            **base_environment(region=REGION, endpoint=endpoint),
            **_function_environment(lambda_client, physical),
            **overrides,
            "AWS_LAMBDA_FUNCTION_NAME": physical,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(configuration["MemorySize"]),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(configuration["Timeout"]),
        }
        layers = [str(build / layer / "python") for layer in layout.function_layers(logical_id)]
        functions[logical_id] = BuiltFunction(
            logical_id=logical_id,
            handler=configuration["Handler"],
            paths=[str(build / logical_id), *layers, str(runtime_site)],
            environment=environment,
            timeout_s=int(configuration["Timeout"]),
            python=python,
            log=log,
        )
    cloud = Cloud(root=root, endpoint=endpoint, stack=stack, translated=translated, functions=functions, log=log)
    _wire_queues(cloud)
    _wire_rules(cloud)
    _create_schedules(cloud)
    return cloud


def _wire_queues(cloud: Cloud) -> None:
    lambda_client = cloud.client("lambda")
    by_physical = {cloud.stack.resources[k]: k for k in cloud.functions}
    sqs = cloud.client("sqs")
    for mapping in lambda_client.list_event_source_mappings()["EventSourceMappings"]:
        # moto would try to run the function in Docker on every message: the mapping is played here instead.
        lambda_client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
        function = by_physical[mapping["FunctionArn"].rsplit(":", 1)[-1]]
        queue_name = mapping["EventSourceArn"].rsplit(":", 1)[-1]
        url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        cloud.queues[queue_name] = url
        cloud._spawn(cloud._poll_sqs, url, function, int(mapping.get("BatchSize", 10)))
    for logical_id, resource in cloud.translated["Resources"].items():
        if resource["Type"] == "AWS::SQS::Queue" and "dlq" in cloud.stack.resources[logical_id]:
            url = cloud.stack.resources[logical_id]
            cloud.queues[url.rsplit("/", 1)[-1]] = url


def _wire_rules(cloud: Cloud) -> None:
    events = cloud.client("events")
    sqs = cloud.client("sqs")
    by_physical = {cloud.stack.resources[k]: k for k in cloud.functions}
    for rule in events.list_rules()["Rules"]:
        for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
            if ":function:" not in target["Arn"]:
                continue
            function = by_physical[target["Arn"].split(":function:")[1].split(":")[0]]
            name = f"delivery-{rule['Name']}"[:80]
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.remove_targets(Rule=rule["Name"], Ids=[target["Id"]])
            events.put_targets(Rule=rule["Name"], Targets=[{"Id": target["Id"], "Arn": arn}])
            retries = int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185))
            dead = target.get("DeadLetterConfig", {}).get("Arn")
            dead_url = sqs.get_queue_url(QueueName=dead.rsplit(":", 1)[-1])["QueueUrl"] if dead else None
            cloud.queues[name] = url
            cloud._spawn(cloud._poll_rule, url, function, retries, dead_url)


def _create_schedules(cloud: Cloud) -> None:
    """The AWS::Scheduler::Schedule resources of the translated template, created through the Scheduler API."""
    scheduler = cloud.client("scheduler")
    iam_role = "arn:aws:iam::123456789012:role/scheduler"
    for logical_id, resource in cloud.translated["Resources"].items():
        if resource["Type"] != "AWS::Scheduler::Schedule":
            continue
        props = resource["Properties"]
        function = props["Target"]["Arn"]["Fn::GetAtt"][0]
        physical = cloud.stack.resources[function]
        name = f"{physical}-{logical_id}"[:64]
        arn = scheduler.create_schedule(
            Name=name,
            ScheduleExpression=props["ScheduleExpression"],
            ScheduleExpressionTimezone=props.get("ScheduleExpressionTimezone", "UTC"),
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": f"arn:aws:lambda:{REGION}:123456789012:function:{physical}",
                "RoleArn": iam_role,
                "RetryPolicy": props["Target"].get("RetryPolicy", {}),
            },
        )["ScheduleArn"]
        cloud.schedules[logical_id] = {
            "Arn": arn,
            "function": function,
            "expression": props["ScheduleExpression"],
            "timezone": props.get("ScheduleExpressionTimezone", "UTC"),
        }


def wait_until(predicate: Any, *, timeout_s: float, every_s: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return False


def runtime_site(root: Path, python: str) -> Path:
    """boto3 for the runtime's Python, as the Lambda runtime ships it (same version as the development lock)."""
    site = root / ".aws-sam" / "lambda-runtime"
    marker = site / ".installed"
    if not marker.exists():
        version = _locked_version(root, "boto3")
        installed = subprocess.run(  # noqa: S603 - pip of the runtime's interpreter
            [python, "-m", "pip", "install", "--quiet", "--target", str(site), f"boto3=={version}"],
            check=False,
            capture_output=True,
            text=True,
        )
        if installed.returncode:
            sys.exit(f"could not install boto3 {version} for {python}:\n{installed.stderr[-2000:]}")
        marker.write_text(version)
    return site


def _locked_version(root: Path, name: str) -> str:
    for line in (root / "requirements" / "dev.txt").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.split("==", 1)[1].split()[0].rstrip("\\").strip()
    sys.exit(f"{name} is not in requirements/dev.txt")
