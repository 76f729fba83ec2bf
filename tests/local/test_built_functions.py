"""The emulated Lambda service (make cloud-check): a function in its own process, its Timeout enforced."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from autoindex_dev.cloud.lambdas import BuiltFunction, FunctionError, FunctionTimeout
from autoindex_dev.cloud.stack import for_moto

HANDLER = """
import os, time
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    time.sleep(event.get("sleep", 0))
    return {"left_ms": context.get_remaining_time_in_millis(), "stage": os.environ.get("STAGE"), "pid": os.getpid()}
"""


@pytest.fixture
def function(tmp_path: Path) -> BuiltFunction:
    code = tmp_path / "ProbeFunction"
    code.mkdir()
    (code / "app.py").write_text(HANDLER)
    return BuiltFunction(
        logical_id="ProbeFunction",
        handler="app.handler",
        paths=[str(code)],
        environment={"STAGE": "probe", "PATH": "/usr/bin:/bin"},
        timeout_s=2,
        python=sys.executable,
        log=io.StringIO(),
    )


def test_a_warm_process_answers_with_its_environment_and_the_time_left(function: BuiltFunction) -> None:
    first, cold = function.invoke({})
    second, warm = function.invoke({})
    function.stop()
    assert first["stage"] == "probe" and 0 < first["left_ms"] <= 2000
    assert first["pid"] == second["pid"]  # the same execution environment, warm
    assert cold.init_ms > 0 and warm.init_ms == 0


def test_an_overrun_ends_the_process_and_the_next_call_is_cold(function: BuiltFunction) -> None:
    first, _ = function.invoke({})
    with pytest.raises(FunctionTimeout, match="overran its 2 s Timeout"):
        function.invoke({"sleep": 30})
    after, cost = function.invoke({})
    function.stop()
    assert after["pid"] != first["pid"] and cost.init_ms > 0


def test_an_unhandled_error_is_the_invocation_s_error_and_the_process_stays(function: BuiltFunction) -> None:
    first, _ = function.invoke({})
    with pytest.raises(FunctionError, match="ValueError: asked to fail"):
        function.invoke({"fail": True})
    again, _ = function.invoke({})
    function.stop()
    assert again["pid"] == first["pid"]


def test_what_moto_cannot_create_is_dropped_with_what_refers_to_it() -> None:
    translated = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Alias": {"Type": "AWS::Lambda::Alias", "Properties": {"FunctionName": {"Ref": "Fn"}}},
            "Permission": {"Type": "AWS::Lambda::Permission", "Properties": {"FunctionName": {"Ref": "Alias"}}},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Dimensions": [{"Value": {"Ref": "Api"}}]}},
        },
        "Outputs": {"Url": {"Value": {"Fn::Sub": "https://${Api}.execute-api"}}, "Fn": {"Value": {"Ref": "Fn"}}},
    }
    kept, dropped = for_moto(translated)
    assert dropped == ["Alarm", "Alias", "Api", "Permission"]
    assert set(kept["Resources"]) == {"Fn"} and set(kept["Outputs"]) == {"Fn"}
