"""Hostile templates over HTTPS: random JSON and random expressions put anywhere in a template
never make the server answer 5xx, and a deployment that is accepted ends Succeeded or Failed with
an ARM error, never an internal error."""

from __future__ import annotations

import copy
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Server
from tests.support.deployments import GROUP, body, ensure_group, filter_rule, route_filter, template

API = "2025-04-01"

_EXPRESSION_PIECES = ["concat(", "parameters(", "variables(", "reference(", "resourceId(", "'f1'", "'p'", "'v'",
                      "(", ")", "[", "]", ".", ",", "0", "-1", "'Microsoft.Network/routeFilters'", "if(", "true()",
                      "resourceGroup()", ".id", "['location']", "format(", "'{0}'", "uniqueString(", "'", "''"]  # fmt: skip
expressions = st.lists(st.sampled_from(_EXPRESSION_PIECES), max_size=25).map(lambda p: "[" + "".join(p) + "]")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20) | expressions,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
PLACES: list[list[Any]] = [
    ["resources", 0, "name"], ["resources", 0, "location"], ["resources", 0, "properties"], ["resources", 0, "tags"],
    ["resources", 1, "dependsOn"], ["resources", 1, "properties", "communities"], ["resources", 0, "condition"],
    ["parameters", "p", "defaultValue"], ["parameters", "p"], ["variables", "v"], ["outputs", "o", "value"],
    ["outputs", "o"], ["resources", 0, "apiVersion"], ["resources", 0, "type"],
]  # fmt: skip


def base() -> dict[str, Any]:
    return template(
        [route_filter("f1"), filter_rule("f1", "r1", ["12076:5010"], dependsOn=["f1"])],
        parameters={"p": {"type": "string", "defaultValue": "x"}},
        variables={"v": "[parameters('p')]"},
        outputs={"o": {"type": "string", "value": "[variables('v')]"}},
    )


def _put(t: dict[str, Any], path: list[Any], value: Any) -> None:
    """Set ``value`` at ``path``, unless an earlier change left no container on the way."""
    target: Any = t
    for step in path[:-1]:
        if not isinstance(target, dict | list) or (isinstance(target, list) and not isinstance(step, int)):
            return
        if isinstance(target, list) and step >= len(target) or isinstance(target, dict) and step not in target:
            return
        target = target[step]
    if isinstance(target, dict) or (isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target)):
        target[path[-1]] = value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(range(len(PLACES))), json_values), min_size=1, max_size=3))
def test_hostile_templates_never_cause_a_server_error(server: Server, changes: list[tuple[int, Any]]) -> None:
    ensure_group(server)
    t = copy.deepcopy(base())
    for place, value in changes:
        _put(t, PLACES[place], value)
    sub = server.subscription("customer")
    url = f"/subscriptions/{sub}/resourcegroups/{GROUP}/providers/Microsoft.Resources/deployments/fuzz"
    with server.http("admin") as http:
        answer = http.put(url, params={"api-version": API}, json=body(t))
        assert answer.status_code < 500, answer.text
        if answer.status_code >= 400:
            assert answer.json()["error"]["code"] != "InternalServerError"
            return
        deadline = time.time() + 30
        while True:
            shown = http.get(url, params={"api-version": API}).json()
            state = shown["properties"]["provisioningState"]
            if state in ("Succeeded", "Failed"):
                break
            assert time.time() < deadline, shown
            time.sleep(0.2)
    if state == "Failed":
        error = shown["properties"]["error"]
        assert error["code"] == "DeploymentFailed"
        assert all(d.get("code") != "InternalServerError" for d in error["details"]), error
