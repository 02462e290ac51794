"""The ARM template expression language: a small parser (no ``eval``) and the functions the
Azure CLI's template builders and small hand-written templates use.

A string value ``"[...]"`` is an expression; ``"[[...]"`` is the literal text ``[...]``. An
expression is a function call, a string literal (``'it''s'``), an integer, each followed by any
number of property accesses (``.name``, ``['name']``) and indexes (``[0]``). Anything else — an
unknown function, a user-defined function (``ns.fn()``), a bad argument — is ``TemplateError``,
which the deployment turns into Azure's ``InvalidTemplate`` naming the function and the position.

Limits keep hostile input cheap: an expression is at most ``MAX_EXPRESSION`` characters and nests
at most ``MAX_DEPTH`` calls or accesses deep; values built by ``concat``/``format`` are capped at
``MAX_VALUE`` characters.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_EXPRESSION = 24_576  # characters of one "[...]" string (Azure: 24,576)
MAX_DEPTH = 32  # nested calls, accesses and indexes in one expression
MAX_VALUE = 131_072  # characters of a string an expression builds

# What one evaluated value may expand to (characters of its strings plus one per member and
# element, shared parts counted each time they appear): variables may refer to one another
# several times, so a few lines of template could otherwise stand for an exponential value.
MAX_EXPANDED = 1024 * 1024
_DIGITS = "0123456789"  # ASCII only: str.isdigit() also accepts '²' and other digits int() refuses
INTEGER_TEXT = re.compile(r"^-?[0-9]{1,19}$")


class TemplateError(Exception):
    """A template outside the supported language, or an expression that cannot be evaluated."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


# -- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Call:
    name: str  # as written
    args: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Access:
    target: Node
    key: Node  # a Literal name for ``.name``, any expression for ``[...]``
    position: int


Node = Literal | Call | Access


def is_expression(text: str) -> bool:
    return len(text) >= 2 and text[0] == "[" and text[-1] == "]" and not text.startswith("[[")


def unescape(text: str) -> str:
    """A string that is not an expression: ``[[x]`` stands for ``[x]``."""
    return text[1:] if text.startswith("[[") and text.endswith("]") else text


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def fail(self, why: str) -> TemplateError:
        return TemplateError(f"The template language expression '{_clip(self.text)}' is not valid: {why} "
                             f"at position {self.pos}.")  # fmt: skip

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = self.text[self.pos] if self.pos < len(self.text) else "the end"
            raise self.fail(f"expected '{char}' but found '{found}'")
        self.pos += 1

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the expression nests deeper than {MAX_DEPTH} levels")

    def parse(self) -> Node:
        node = self.expression()
        if self.peek() != "":
            raise self.fail(f"unexpected '{self.text[self.pos]}'")
        return node

    def expression(self) -> Node:
        self.nest()
        entered = self.depth
        node = self.primary()
        while True:
            char = self.peek()
            start = self.pos
            if char == ".":
                self.pos += 1
                name = self.identifier()
                node = Access(node, Literal(name), start)
            elif char == "[":
                self.pos += 1
                key = self.expression()
                self.expect("]")
                node = Access(node, key, start)
            else:
                break
            self.nest()  # an access nests like a call: evaluating it recurses once more
        self.depth = entered - 1
        return node

    def identifier(self) -> str:
        self.skip_space()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isascii() and (self.text[self.pos].isalnum() or self.text[self.pos] in "_$")
        ):
            self.pos += 1  # fmt: skip
        if start == self.pos:
            raise self.fail("expected a name")
        return self.text[start : self.pos]

    def primary(self) -> Node:
        char = self.peek()
        start = self.pos
        if char == "'":
            return Literal(self.string())
        if char and (char == "-" or char in _DIGITS):
            return Literal(self.integer())
        if char.isascii() and (char.isalpha() or char == "_"):
            name = self.identifier()
            if self.peek() == ".":  # a user-defined function: namespace.name(...)
                self.pos += 1
                name = f"{name}.{self.identifier()}"
            if self.peek() != "(":
                raise self.fail(f"'{name}' must be a function call: expected '('")
            self.pos += 1
            args: list[Node] = []
            if self.peek() == ")":
                self.pos += 1
            else:
                while True:
                    args.append(self.expression())
                    if self.peek() == ",":
                        self.pos += 1
                        continue
                    self.expect(")")
                    break
            return Call(name, tuple(args), start)
        raise self.fail(f"unexpected '{char}'" if char else "unexpected end of expression")

    def string(self) -> str:
        self.pos += 1  # the opening quote
        out: list[str] = []
        while True:
            end = self.text.find("'", self.pos)
            if end < 0:
                raise self.fail("a string literal is not terminated")
            out.append(self.text[self.pos : end])
            if self.text.startswith("''", end):
                out.append("'")
                self.pos = end + 2
                continue
            self.pos = end + 1
            return "".join(out)

    def integer(self) -> int:
        start = self.pos
        if self.text[self.pos] == "-":
            self.pos += 1
        digits = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _DIGITS:
            self.pos += 1
        if digits == self.pos or self.pos - digits > 19:
            raise self.fail("expected an integer of at most 19 digits")
        if self.pos < len(self.text) and self.text[self.pos] == ".":
            raise self.fail("floating point numbers are not supported")
        return int(self.text[start : self.pos])


def parse(expression: str) -> Node:
    """The syntax tree of ``[ ... ]`` (the brackets included)."""
    if len(expression) > MAX_EXPRESSION:
        raise TemplateError(f"The template language expression is longer than {MAX_EXPRESSION} characters.")
    inner = expression[1:-1]
    return _Parser(inner).parse()


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# -- evaluation --------------------------------------------------------------------------------

Function = Callable[["Context", list[Any], Call], Any]


@dataclass
class Context:
    """What functions read: parameters, variables, the deployment's scope, and the resources a
    ``reference()`` may read (given by the caller: a function from resource id to its body)."""

    subscription_id: str
    tenant_id: str
    group_name: str
    group_location: str
    deployment_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    variable_nodes: dict[str, Any] = field(default_factory=dict)  # raw variable values, evaluated on use
    reference: Callable[[str, str | None, bool], Any] | None = None
    resource_types: dict[str, str] = field(default_factory=dict)  # symbolic name -> id (for reference by name)
    evaluating: set[str] = field(default_factory=set)
    sizes: dict[int, int] = field(default_factory=dict)  # expanded sizes of the variables' values (check_size)

    @property
    def group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.group_name}"


def _fail(call: Call, why: str) -> TemplateError:
    return TemplateError(
        f"Unable to evaluate template language function '{call.name}' at position {call.position}: {why}"
    )


def _want_args(call: Call, args: list[Any], least: int, most: int | None = None) -> None:
    most = least if most is None else most
    if not least <= len(args) <= (most if most >= 0 else len(args)):
        expected = f"{least}" if least == most else (f"at least {least}" if most < 0 else f"{least} to {most}")
        raise _fail(call, f"it expects {expected} argument(s) but got {len(args)}")


def _string(call: Call, value: Any, what: str = "argument") -> str:
    if not isinstance(value, str):
        raise _fail(call, f"the {what} must be a string, got {_type_name(value)}")
    return value


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return "Null"


def check_size(value: Any, path: str = "", known: dict[int, int] | None = None, remember: bool = False) -> Any:
    """``value`` when it expands to at most ``MAX_EXPANDED``; stops counting as soon as it is over.
    ``known``: the sizes of values checked before (variables), by identity, so that a value built
    from them is not walked through them again; ``remember`` adds this one (only for values that
    stay alive as long as ``known``: an identity is reused once its object is gone)."""
    budget = MAX_EXPANDED
    stack = [value]
    while stack:
        item = stack.pop()
        if known is not None and id(item) in known:
            budget -= known[id(item)]
        else:
            budget -= len(item) if isinstance(item, str) else 1
            if isinstance(item, dict):
                budget -= sum(len(k) for k in item)
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        if budget < 0:
            raise TemplateError(f"The value of the expression expands to more than {MAX_EXPANDED} characters and "
                                "elements.", path)  # fmt: skip
    if remember and known is not None and isinstance(value, dict | list):
        known[id(value)] = MAX_EXPANDED - budget
    return value


def _capped(call: Call, text: str) -> str:
    if len(text) > MAX_VALUE:
        raise _fail(call, f"the result is longer than {MAX_VALUE} characters")
    return text


def _parameters(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1)
    name = _string(call, args[0])
    for key, value in ctx.parameters.items():
        if key.lower() == name.lower():
            return value
    raise _fail(call, f"the parameter '{name}' is not defined in the template")


def _variables(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1)
    name = _string(call, args[0])
    for key in ctx.variable_nodes:
        if key.lower() == name.lower():
            if key not in ctx.variables:
                if key in ctx.evaluating:
                    raise _fail(call, f"the variable '{name}' refers to itself")
                ctx.evaluating.add(key)
                try:
                    evaluated = evaluate_value(ctx, ctx.variable_nodes[key], f"variables.{key}")
                    ctx.variables[key] = check_size(evaluated, f"variables.{key}", ctx.sizes, remember=True)
                finally:
                    ctx.evaluating.discard(key)
            return ctx.variables[key]
    raise _fail(call, f"the variable '{name}' is not defined in the template")


def resource_id(subscription_id: str, group: str | None, rtype: str, names: list[str]) -> str:
    segments = rtype.split("/")
    namespace, types = segments[0], segments[1:]
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    scope = f"/subscriptions/{subscription_id}" + (f"/resourceGroups/{group}" if group is not None else "")
    return f"{scope}/providers/{namespace}/{path}"


def _resource_id(ctx: Context, args: list[Any], call: Call) -> Any:
    """resourceId([subscriptionId], [resourceGroupName], type, name1, [name2...])."""
    if not args or not all(isinstance(a, str) for a in args):
        raise _fail(call, "every argument must be a string")
    texts = [str(a) for a in args]
    type_at = next((i for i, a in enumerate(texts) if "/" in a and i <= 2), None)
    if type_at is None:
        raise _fail(call, "the resource type (Namespace/type) is missing")
    prefix, rtype, names = texts[:type_at], texts[type_at], texts[type_at + 1 :]
    if len(rtype.split("/")) - 1 != len(names) or any(not n for n in names) or any(not s for s in rtype.split("/")):
        raise _fail(call, f"the type '{rtype}' needs {len(rtype.split('/')) - 1} name segment(s), got {len(names)}")
    subscription, group = ctx.subscription_id, ctx.group_name
    if len(prefix) == 1:
        group = prefix[0]
    elif len(prefix) == 2:
        subscription, group = prefix
    return resource_id(subscription, group, rtype, names)


def _subscription_resource_id(ctx: Context, args: list[Any], call: Call) -> Any:
    if not args or not all(isinstance(a, str) for a in args):
        raise _fail(call, "every argument must be a string")
    texts = [str(a) for a in args]
    subscription = ctx.subscription_id
    if "/" not in texts[0]:
        subscription, texts = texts[0], texts[1:]
    if not texts or len(texts[0].split("/")) - 1 != len(texts) - 1:
        raise _fail(call, "the resource type and its name segments do not match")
    return resource_id(subscription, None, texts[0], texts[1:])


def _concat(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1, -1)
    if all(isinstance(a, list) for a in args):
        out: list[Any] = []
        for a in args:
            out.extend(a)
        return check_size(out, known=ctx.sizes)
    if any(isinstance(a, list | dict) for a in args):
        raise _fail(call, "the arguments must be all arrays or all strings and integers")
    return _capped(call, "".join(_as_text(a) for a in args))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"  # .NET's Boolean.ToString, as Azure renders it
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _format(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1, -1)
    pattern = _string(call, args[0], "format string")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "{" and pattern.startswith("{{", i):
            out.append("{")
            i += 2
        elif char == "}" and pattern.startswith("}}", i):
            out.append("}")
            i += 2
        elif char == "{":
            end = pattern.find("}", i)
            spec = pattern[i + 1 : end] if end > 0 else ""
            index_text = spec.split(":")[0].split(",")[0].strip()
            if end < 0 or not INTEGER_TEXT.match(index_text) or not 0 <= int(index_text) < len(args) - 1:
                raise _fail(call, f"the format item at {i} is invalid or has no argument")
            out.append(_as_text(args[int(index_text) + 1]))
            i = end + 1
        elif char == "}":
            raise _fail(call, f"an unmatched '}}' at {i}")
        else:
            out.append(char)
            i += 1
    return _capped(call, "".join(out))


def _to_lower(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1)
    return _string(call, args[0]).lower()


def _to_upper(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1)
    return _string(call, args[0]).upper()


def _equals(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 2)
    a, b = args
    if type(a) is not type(b) and not (isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool)):
        return False
    return a == b


def _bool_arg(call: Call, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(call, f"the argument must be a Boolean, got {_type_name(value)}")
    return value


def _not(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1)
    return not _bool_arg(call, args[0])


def _and(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 2, -1)
    return all(_bool_arg(call, a) for a in args)


def _or(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 2, -1)
    return any(_bool_arg(call, a) for a in args)


def _string_fn(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1)
    return _capped(call, _as_text(check_size(args[0], known=ctx.sizes)))


def _int_fn(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1)
    value = args[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and INTEGER_TEXT.match(value.strip()):
        return int(value.strip())
    raise _fail(call, f"'{_clip(_as_text(value), 40)}' is not an integer")


def _length(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1)
    if isinstance(args[0], str | list | dict):
        return len(args[0])
    raise _fail(call, f"the argument must be a string, an array or an object, got {_type_name(args[0])}")


def _empty(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1)
    return args[0] is None or (isinstance(args[0], str | list | dict) and len(args[0]) == 0)


def _constant(value: Any) -> Function:
    def constant(ctx: Context, args: list[Any], call: Call) -> Any:
        _want_args(call, args, 0)
        return value

    return constant


def _resource_group(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 0)
    return {
        "id": ctx.group_id,
        "name": ctx.group_name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": ctx.group_location,
        "properties": {"provisioningState": "Succeeded"},
    }


def _subscription(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 0)
    return {
        "id": f"/subscriptions/{ctx.subscription_id}",
        "subscriptionId": ctx.subscription_id,
        "tenantId": ctx.tenant_id,
    }


def _deployment(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 0)
    return {"name": ctx.deployment_name, "properties": {"mode": "Incremental"}}


def _unique_string(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1, -1)
    return unique_string(*[_string(call, a) for a in args])


def _guid(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1, -1)
    return str(uuid.uuid5(_GUID_NAMESPACE, "-".join(_string(call, a) for a in args)))


def _reference(ctx: Context, args: list[Any], call: Call) -> Any:
    _want_args(call, args, 1, 3)
    target = _string(call, args[0])
    api_version = _string(call, args[1], "api-version") if len(args) > 1 else None
    full = False
    if len(args) == 3:
        if not isinstance(args[2], str) or args[2].lower() != "full":
            raise _fail(call, "the third argument must be 'Full'")
        full = True
    if not target.startswith("/"):
        found = ctx.resource_types.get(target.lower())
        if found is None:
            raise _fail(call, f"the resource '{target}' is not defined in the template")
        target = found
    if ctx.reference is None:
        raise _fail(call, "reference() can only be used in resource properties and outputs")
    return ctx.reference(target, api_version, full)


def _if(ctx: Context, args: list[Any], call: Call) -> Any:  # evaluated lazily in evaluate()
    raise AssertionError("if() is evaluated lazily")


FUNCTIONS: dict[str, Function] = {
    "parameters": _parameters,
    "variables": _variables,
    "resourceid": _resource_id,
    "subscriptionresourceid": _subscription_resource_id,
    "concat": _concat,
    "format": _format,
    "tolower": _to_lower,
    "toupper": _to_upper,
    "equals": _equals,
    "not": _not,
    "and": _and,
    "or": _or,
    "if": _if,
    "string": _string_fn,
    "int": _int_fn,
    "length": _length,
    "empty": _empty,
    "true": _constant(True),
    "false": _constant(False),
    "null": _constant(None),
    "resourcegroup": _resource_group,
    "subscription": _subscription,
    "deployment": _deployment,
    "uniquestring": _unique_string,
    "guid": _guid,
    "reference": _reference,
}

# The functions whose value depends on resources the deployment creates: an expression using them
# is evaluated when the resource it belongs to is deployed, never during validation.
RUNTIME_FUNCTIONS = {"reference"}


def functions_used(node: Node) -> set[str]:
    found: set[str] = set()
    stack: list[Node] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Call):
            found.add(item.name.lower())
            stack.extend(item.args)
        elif isinstance(item, Access):
            stack.extend((item.target, item.key))
    return found


def check_functions(node: Node, path: str, allowed: set[str] | None = None) -> None:
    """Every function in ``node`` is one this server implements (and, with ``allowed``, is allowed
    where it stands)."""
    stack: list[Node] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Call):
            name = item.name.lower()
            if "." in name:
                raise TemplateError(
                    f"The template function '{item.name}' at position {item.position} is not supported: user-defined "
                    "functions are outside the supported template language.",
                    path,
                )
            if name not in FUNCTIONS:
                raise TemplateError(
                    f"The template function '{item.name}' at position {item.position} is not valid. Please see "
                    "docs/behaviour.md (Template deployments) for the supported functions.",
                    path,
                )
            if allowed is not None and name in RUNTIME_FUNCTIONS and name not in allowed:
                raise TemplateError(
                    f"The template function '{item.name}' at position {item.position} is not expected at this "
                    "location. It can be used in resource properties and outputs only.",
                    path,
                )
            stack.extend(item.args)
        elif isinstance(item, Access):
            stack.extend((item.target, item.key))


def evaluate(ctx: Context, node: Node) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Access):
        return _access(node, evaluate(ctx, node.target), evaluate(ctx, node.key))
    name = node.name.lower()
    if name == "if":  # only the chosen branch is evaluated
        _want_args(node, list(node.args), 3)
        condition = evaluate(ctx, node.args[0])
        return evaluate(ctx, node.args[1] if _bool_arg(node, condition) else node.args[2])
    function = FUNCTIONS.get(name)
    if function is None:
        raise TemplateError(f"The template function '{node.name}' at position {node.position} is not valid.")
    return function(ctx, [evaluate(ctx, a) for a in node.args], node)


def _access(node: Access, target: Any, key: Any) -> Any:
    if isinstance(target, dict) and isinstance(key, str):
        for name, value in target.items():
            if name.lower() == key.lower():
                return value
        raise TemplateError(
            f"The language expression property '{key}' doesn't exist, available properties are "
            f"'{', '.join(list(target)[:20])}' (position {node.position})."
        )
    if isinstance(target, list) and isinstance(key, int) and not isinstance(key, bool):
        if 0 <= key < len(target):
            return target[key]
        raise TemplateError(f"The language expression index {key} is out of range (position {node.position}).")
    raise TemplateError(
        f"The language expression property access at position {node.position} cannot read "
        f"{_type_name(key)} '{_clip(_as_text(key), 40)}' of a value of type {_type_name(target)}."
    )


def evaluate_value(ctx: Context, value: Any, path: str) -> Any:
    """A JSON value with every expression string in it evaluated. Iterative over containers, so
    a deeply nested (already depth-checked) body costs no recursion beyond its expressions."""
    if isinstance(value, str):
        return _evaluate_string(ctx, value, path)
    if isinstance(value, dict):
        return {k: evaluate_value(ctx, v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate_value(ctx, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _evaluate_string(ctx: Context, text: str, path: str) -> Any:
    if not is_expression(text):
        return unescape(text)
    try:
        return evaluate(ctx, parse(text))
    except TemplateError as exc:
        raise TemplateError(exc.message, exc.path or path) from None


def expressions_in(value: Any, path: str) -> list[tuple[str, Node]]:
    """Every expression in a JSON value, parsed, with its path."""
    found: list[tuple[str, Node]] = []
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str) and is_expression(item):
            try:
                found.append((where, parse(item)))
            except TemplateError as exc:
                raise TemplateError(exc.message, where) from None
        elif isinstance(item, dict):
            stack.extend((v, f"{where}.{k}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
    return found


# -- uniqueString and guid ----------------------------------------------------------------------

# guid(): a name-based (SHA-1, version 5) UUID of the arguments joined by '-', in this namespace,
# as Azure's template engine computes it.
_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")
_MASK32 = 0xFFFFFFFF
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def _rotl(value: int, count: int) -> int:
    return ((value << count) | (value >> (32 - count))) & _MASK32


def _word(data: bytes, start: int, count: int) -> int:
    return int.from_bytes(data[start : start + count], "little")


def murmur_hash64(data: bytes, seed: int = 0) -> int:
    """The 64-bit MurmurHash variant behind Azure's ``uniqueString`` (two 32-bit lanes)."""
    c1, c2, c3, c4, c5, c6 = 0x239B961B, 0xAB0E9789, 0x561CCD1B, 0x0BCAA747, 0x85EBCA6B, 0xC2B2AE35
    h1 = h2 = seed
    index = 0
    length = len(data)
    while index + 7 < length:
        k1 = _rotl(_word(data, index, 4) * c1 & _MASK32, 15) * c2 & _MASK32
        h1 = ((_rotl(h1 ^ k1, 19) + h2) * 5 + c3) & _MASK32
        k2 = _rotl(_word(data, index + 4, 4) * c2 & _MASK32, 17) * c1 & _MASK32
        h2 = ((_rotl(h2 ^ k2, 13) + h1) * 5 + c4) & _MASK32
        index += 8
    tail = length - index
    if tail > 0:
        k1 = _rotl(_word(data, index, min(tail, 4)) * c1 & _MASK32, 15) * c2 & _MASK32
        h1 ^= k1
        if tail > 4:
            k2 = _rotl(_word(data, index + 4, tail - 4) * c2 & _MASK32, 17) * c1 & _MASK32
            h2 ^= k2
    h1 ^= length & _MASK32
    h2 ^= length & _MASK32
    h1 = (h1 + h2) & _MASK32
    h2 = (h2 + h1) & _MASK32

    def mix(h: int) -> int:
        h ^= h >> 16
        h = h * c5 & _MASK32
        h ^= h >> 13
        h = h * c6 & _MASK32
        return h ^ (h >> 16)

    h1, h2 = mix(h1), mix(h2)
    h1 = (h1 + h2) & _MASK32
    h2 = (h2 + h1) & _MASK32
    return (h2 << 32) | h1


def unique_string(*values: str) -> str:
    """13 characters of base32 (a-z, 2-7) of the hash of the values joined by '-'."""
    hashed = murmur_hash64("-".join(values).encode("utf-8"))
    out = []
    for _ in range(13):
        out.append(_BASE32[hashed >> 59])
        hashed = (hashed << 5) & 0xFFFFFFFFFFFFFFFF
    return "".join(out)
