"""The template expression language on its own: the parser (property-based, with hostile input:
it answers TemplateError or a value, never another exception, never a hang) and the functions."""

from __future__ import annotations

import contextlib
import re
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossconnect.resources.deployments import template_language as tl
from crossconnect.resources.deployments.template import build_plan
from crossconnect.resources.deployments.template_language import TemplateError


def context(**parameters: object) -> tl.Context:
    return tl.Context("sub-1", "tenant-1", "rg-1", "westus", "dep", parameters=dict(parameters))


def value(text: str, **parameters: object) -> object:
    return tl.evaluate_value(context(**parameters), text, "x")


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@given(st.text(max_size=200))
def test_a_string_literal_reads_back_as_written(text: str) -> None:
    assert value(f"[{quoted(text)}]") == text


@given(st.lists(st.one_of(st.text(max_size=20), st.integers(-(10**12), 10**12)), min_size=1, max_size=8))
def test_concat_joins_strings_and_integers(parts: list[object]) -> None:
    expression = "[concat(" + ", ".join(quoted(p) if isinstance(p, str) else str(p) for p in parts) + ")]"
    assert value(expression) == "".join(str(p) for p in parts)


_PIECES = st.sampled_from(["concat(", "parameters(", "'a'", "'", "(", ")", "[", "]", ".", ",", " ", "0", "-1",
                           "toLower(", "if(", "true()", "resourceGroup()", ".id", "['name']", "x", "''", "format("])  # fmt: skip


@settings(max_examples=400, deadline=500)
@given(st.lists(_PIECES, max_size=60).map("".join))
def test_any_expression_is_a_value_or_a_template_error(inner: str) -> None:
    try:
        value(f"[{inner}]", a="A")
    except TemplateError as exc:
        assert exc.message
    # nothing else may escape: no IndexError, RecursionError, ValueError


@settings(max_examples=100, deadline=500)
@given(st.text(max_size=300))
def test_arbitrary_text_is_a_value_or_a_template_error(inner: str) -> None:
    with contextlib.suppress(TemplateError):
        value(f"[{inner}]")


@pytest.mark.parametrize(
    "expression",
    [
        "[" + "concat(" * 5000 + "'a'" + ")" * 5000 + "]",
        "[resourceGroup()" + ".id" * 5000 + "]",
        "[createArray()" + "[0]" * 5000 + "]",
        "[concat(" + "'a'," * 20000 + "'b')]",
        "[" + "x" * (tl.MAX_EXPRESSION + 1) + "]",
    ],
    ids=["deep-calls", "long-access-chain", "long-index-chain", "many-arguments", "too-long"],
)
def test_hostile_expressions_are_refused_quickly(expression: str) -> None:
    with pytest.raises(TemplateError):
        value(expression)


def test_escaped_brackets_are_literal_text() -> None:
    assert value("[[concat('a')]") == "[concat('a')]"
    assert value("not [an] expression") == "not [an] expression"


def test_functions() -> None:
    assert value("[resourceId('Microsoft.Network/routeFilters', 'f')]") == (
        "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Network/routeFilters/f"
    )
    assert value("[resourceId('other-rg', 'Microsoft.Network/routeFilters/routeFilterRules', 'f', 'r')]") == (
        "/subscriptions/sub-1/resourceGroups/other-rg/providers/Microsoft.Network/routeFilters/f/routeFilterRules/r"
    )
    assert value("[resourceId('sub-2', 'rg-2', 'Microsoft.Network/routeFilters', 'f')]").startswith(
        "/subscriptions/sub-2/resourceGroups/rg-2/"
    )
    assert value("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'g')]") == (
        "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/g"
    )
    assert value("[resourceGroup().location]") == "westus"
    assert value("[resourceGroup()['name']]") == "rg-1"
    assert value("[subscription().subscriptionId]") == "sub-1"
    assert value("[format('{0}-{1}-{{x}}', 'a', 2)]") == "a-2-{x}"
    assert value("[toUpper(toLower('AbC'))]") == "ABC"
    assert value("[if(equals(parameters('n'), 3), 'three', parameters('missing'))]", n=3) == "three"
    assert value("[and(true(), not(false()), or(false(), true()))]") is True
    assert value("[string(parameters('o'))]", o={"a": [1, True]}) == '{"a":[1,true]}'
    assert value("[int('42')]") == 42
    assert value("[length(parameters('l'))]", l=[1, 2, 3]) == 3
    assert value("[empty('')]") is True
    assert value("[parameters('l')[1]]", l=[1, 2, 3]) == 2
    assert value("[concat(parameters('l'), parameters('l'))]", l=[1]) == [1, 1]
    assert value("[deployment().name]") == "dep"


def test_unique_string_and_guid_are_deterministic_and_well_formed() -> None:
    first = value("[uniqueString(resourceGroup().id)]")
    assert first == value("[uniqueString(resourceGroup().id)]")
    assert isinstance(first, str) and re.fullmatch(r"[a-z2-7]{13}", first)
    assert first != value("[uniqueString(resourceGroup().id, 'x')]")
    made = value("[guid(resourceGroup().id, 'x')]")
    assert isinstance(made, str) and uuid.UUID(made).version == 5


@pytest.mark.parametrize(
    "expression,named",
    [
        ("[parameters('nope')]", "nope"),
        ("[toLower(1)]", "toLower"),
        ("[resourceId('Microsoft.Network/routeFilters')]", "resourceId"),
        ("[reference('f')]", "reference"),
        ("[int('x')]", "int"),
        ("[parameters('l')[7]]", "out of range"),
        ("[format('{3}', 'a')]", "format"),
        ("[if(1, 'a', 'b')]", "Boolean"),
        ("[1.5]", "floating"),
    ],
)
def test_evaluation_errors_name_what_is_wrong(expression: str, named: str) -> None:
    with pytest.raises(TemplateError) as caught:
        value(expression, l=[1])
    assert named in caught.value.message


def test_a_variable_that_refers_to_itself_is_refused() -> None:
    with pytest.raises(TemplateError, match="refers to itself"):
        build_plan({"variables": {"a": "[variables('b')]", "b": "[variables('a')]"}, "resources": []}, {}, context())


@given(st.integers(min_value=0, max_value=30))
def test_a_chain_of_dependencies_is_ordered_whatever_the_template_order(n: int) -> None:
    resources = [
        {"type": "Microsoft.Network/routeFilters", "apiVersion": "2024-07-01", "name": f"f{i}",
         "dependsOn": [f"f{i + 1}"] if i < n else []}
        for i in range(n + 1)
    ]  # fmt: skip
    plan = build_plan({"resources": resources}, {}, context())
    assert [r.name for r in plan.resources] == [f"f{i}" for i in reversed(range(n + 1))]


def test_variables_that_double_each_other_are_refused_not_expanded() -> None:
    """60 variables, each an array of the previous one twice: 2**60 leaves if expanded."""
    variables: dict[str, object] = {"v0": "[string('x')]"}
    for i in range(1, 61):
        variables[f"v{i}"] = [f"[variables('v{i - 1}')]", f"[variables('v{i - 1}')]"]
    variables["all"] = "[string(variables('v60'))]"
    started = time.monotonic()
    with pytest.raises(TemplateError, match="expands to more than"):
        build_plan({"variables": variables, "resources": []}, {}, context())
    assert time.monotonic() - started < 10
