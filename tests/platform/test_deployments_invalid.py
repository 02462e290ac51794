"""Every InvalidTemplate rule of template deployments, with a failing input and a check that
nothing was created (no resource, no deployment record, no operation), through the SDK's PUT and
its validate; and what a request body may not be."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support import Server
from tests.support.deployments import (
    GROUP,
    body,
    deployments,
    ensure_group,
    filter_rule,
    route_filter,
    template,
)
from tests.support.network import assert_unchanged, rejected, state

API = "2025-04-01"

Change = Callable[[dict[str, Any]], Any]


def base() -> dict[str, Any]:
    return template(
        [route_filter("f1"), filter_rule("f1", "r1", ["12076:5010"], dependsOn=["Microsoft.Network/routeFilters/f1"])],
        parameters={"p": {"type": "string", "defaultValue": "x"}},
        variables={"v": "[parameters('p')]"},
        outputs={"o": {"type": "string", "value": "[variables('v')]"}},
    )


def _set(path: list[Any], value: Any) -> Change:
    def change(t: dict[str, Any]) -> None:
        target: Any = t
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _delete(path: list[Any]) -> Change:
    def change(t: dict[str, Any]) -> None:
        target: Any = t
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


def _many_resources(t: dict[str, Any]) -> None:
    t["resources"] = [route_filter(f"f{i}") for i in range(801)]


def _cycle(t: dict[str, Any]) -> None:
    t["resources"][0]["dependsOn"] = ["[resourceId('Microsoft.Network/routeFilters/routeFilterRules', 'f1', 'r1')]"]


def _deep_expression(t: dict[str, Any]) -> None:
    t["resources"][0]["tags"] = {"deep": "[" + "concat(" * 40 + "'a'" + ")" * 40 + "]"}


# (rule, change, words the error must name)
RULES: list[tuple[str, Change, str]] = [
    ("unknown function", _set(["resources", 0, "tags"], {"a": "[noSuchFunction('x')]"}), "noSuchFunction"),
    ("user-defined function", _set(["resources", 0, "tags"], {"a": "[my.fn('x')]"}), "my.fn"),
    ("functions section", _set(["functions"], [{"namespace": "my", "members": {}}]), "functions"),
    ("unknown top-level property", _set(["languageVersion"], "2.0"), "languageVersion"),
    ("unknown resource property", _set(["resources", 0, "copy"], {"name": "c", "count": 2}), "copy"),
    ("missing resource type", _delete(["resources", 0, "type"]), "type"),
    ("missing apiVersion", _delete(["resources", 0, "apiVersion"]), "apiVersion"),
    ("malformed apiVersion", _set(["resources", 0, "apiVersion"], "latest"), "apiVersion"),
    ("unsupported apiVersion", _set(["resources", 0, "apiVersion"], "1999-01-01"), "apiVersion"),
    (
        "unknown resource type",
        lambda t: t["resources"].append({**route_filter("x"), "type": "Microsoft.Nothing/things"}),
        "Microsoft.Nothing/things",
    ),
    (
        "nested deployment",
        lambda t: t["resources"].append({**route_filter("inner"), "type": "Microsoft.Resources/deployments"}),
        "Nested deployments",
    ),
    ("name segments", _set(["resources", 1, "name"], "r1"), "segment"),
    ("duplicate resource", lambda t: t["resources"].append(route_filter("f1")), "multiple times"),
    ("unknown dependsOn", _set(["resources", 1, "dependsOn"], ["Microsoft.Network/routeFilters/nope"]), "nope"),
    ("circular dependency", _cycle, "Circular dependency"),
    ("unknown parameter used", _set(["variables", "v"], "[parameters('nope')]"), "nope"),
    ("unknown variable used", _set(["outputs", "o", "value"], "[variables('nope')]"), "nope"),
    ("missing parameter value", _delete(["parameters", "p", "defaultValue"]), "'p'"),
    ("parameter type", _set(["parameters", "p", "type"], "datetime"), "datetime"),
    ("parameter default of the wrong type", _set(["parameters", "p", "defaultValue"], 5), "'p'"),
    ("allowed values", _set(["parameters", "p", "allowedValues"], ["a", "b"]), "allowed"),
    ("reference() in a variable", _set(["variables", "v"], "[reference('f1').rules]"), "reference"),
    ("reference() in a resource name", _set(["resources", 0, "name"], "[reference('f1').x]"), "reference"),
    ("unterminated string", _set(["resources", 0, "location"], "[concat('a]"), "not terminated"),
    ("syntax error", _set(["resources", 0, "location"], "[concat('a',,)]"), "position"),
    ("bad argument count", _set(["resources", 0, "location"], "[toLower('a', 'b')]"), "toLower"),
    ("missing property", _set(["resources", 0, "location"], "[resourceGroup().nowhere]"), "nowhere"),
    ("condition not a Boolean", _set(["resources", 0, "condition"], "yes"), "condition"),
    ("more than 800 resources", _many_resources, "800"),
    ("expression too deep", _deep_expression, "deeper"),
    ("output type", _set(["outputs", "o", "type"], "number"), "'o'"),
    ("resources not an array", _set(["resources"], {"a": 1}), "resources"),
    (
        "subscription-scope schema",
        _set(
            ["$schema"], "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
        ),
        "$schema",
    ),
    ("template not an object", lambda t: t.clear() or t.update({"$schema": 5}), "$schema"),
]


@pytest.mark.parametrize("rule,change,named", RULES, ids=[r[0] for r in RULES])
def test_an_invalid_template_is_refused_and_nothing_is_created(
    server: Server, rule: str, change: Change, named: str
) -> None:
    ensure_group(server)
    bad = copy.deepcopy(base())
    change(bad)
    client = deployments(server)
    error = rejected(server, lambda: client.deployments.begin_create_or_update(GROUP, "bad", body(bad)), 400,
                     "InvalidTemplate", named)  # fmt: skip
    assert "Deployment template validation failed" in error["message"]
    # validate answers the same, and keeps nothing either
    before = state(server)
    sub = server.subscription("customer")
    with server.http("admin") as http:
        answer = http.post(
            f"/subscriptions/{sub}/resourcegroups/{GROUP}/providers/Microsoft.Resources/deployments/bad/validate",
            params={"api-version": API},
            json=body(bad),
        )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "InvalidTemplate"
    assert_unchanged(server, before)


def test_the_unchanged_template_is_valid(server: Server) -> None:
    """The rules above fail because of their change, not because the base template is wrong."""
    ensure_group(server)
    result = deployments(server).deployments.begin_create_or_update(GROUP, "good", body(base())).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.outputs["o"]["value"] == "x"


def _raw(server: Server, content: bytes, name: str = "raw", content_type: str = "application/json") -> httpx.Response:
    sub = server.subscription("customer")
    with server.http("admin") as http:
        return http.put(
            f"/subscriptions/{sub}/resourcegroups/{GROUP}/providers/Microsoft.Resources/deployments/{name}",
            params={"api-version": API},
            content=content,
            headers={"content-type": content_type},
        )


@pytest.mark.parametrize(
    "content,status,code",
    [
        (b'{"properties": {"mode": "Incremental", "template": {', 400, "InvalidRequestFormat"),
        (b"[1, 2]", 400, "InvalidRequestContent"),
        (b'{"properties": {"template": {}}}', 400, "InvalidDeploymentMode"),
        (b'{"properties": {"mode": "Complete", "template": {}}}', 400, "InvalidDeploymentMode"),
        (b'{"properties": {"mode": "Incremental"}}', 400, "InvalidTemplate"),
        (b'{"properties": {"mode": "Incremental", "templateLink": {"uri": "https://example.com/t.json"}}}', 400,
         "InvalidTemplate"),
        (b'{"properties": {"mode": "Incremental", "template": {}, "parameters": {"x": {"value": 1}}}}', 400,
         "InvalidTemplate"),
        (b'{"properties": {"mode": "Incremental", "template": {}, "extra": 1}}', 400, "InvalidRequestContent"),
        (b'{"properties": {"mode": "Incremental", "template": ' + b"[" * 200 + b"]" * 200 + b"}}", 400,
         "InvalidRequestFormat"),
    ],
    ids=["malformed", "array", "no-mode", "complete-mode", "no-template", "template-link", "unknown-parameter",
         "unknown-property", "deep-json"],
)  # fmt: skip
def test_a_bad_request_body_is_refused_and_nothing_is_created(
    server: Server, content: bytes, status: int, code: str
) -> None:
    ensure_group(server)
    rejected(server, lambda: _raw(server, content), status, code)


def test_a_template_over_4_mib_is_refused_before_it_is_read(server: Server) -> None:
    ensure_group(server)
    huge = (
        b'{"properties": {"mode": "Incremental", "template": {"variables": {"v": "'
        + b"a" * (4 * 1024 * 1024)
        + b'"}}}}'
    )
    rejected(server, lambda: _raw(server, huge), 413, "RequestEntityTooLarge")


@pytest.mark.parametrize(
    "name,code",
    [("a" * 65, "DeploymentNameLengthLimitExceeded"), ("bad name!", "DeploymentNameInvalidCharacters")],
    ids=["too-long", "bad-characters"],
)
def test_a_bad_deployment_name_is_refused(server: Server, name: str, code: str) -> None:
    ensure_group(server)
    content = b'{"properties": {"mode": "Incremental", "template": {}}}'
    rejected(server, lambda: _raw(server, content, name=name), 400, code)


def test_a_deployment_into_a_missing_group_is_resource_group_not_found(server: Server) -> None:
    rejected(
        server,
        lambda: deployments(server).deployments.begin_create_or_update("no-such-rg", "d", body(base())),
        404,
        "ResourceGroupNotFound",
        "no-such-rg",
    )
