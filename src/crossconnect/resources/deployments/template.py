"""A deployment template, checked whole before anything is created: its shape, its parameters
bound to the given values, every expression parsed and its functions known, every resource's
type, name and id evaluated, ``dependsOn`` resolved and ordered (a cycle is refused).

The result is a ``Plan``: the resources in the order they are deployed, each with what its PUT
body is made of (evaluated when it is deployed, so that ``reference()`` reads what earlier
resources became). Every refusal is ``TemplateError`` with the template path it concerns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from crossconnect.resources.deployments.template_language import (
    INTEGER_TEXT,
    RUNTIME_FUNCTIONS,
    Access,
    Call,
    Context,
    Literal,
    TemplateError,
    check_functions,
    evaluate,
    evaluate_value,
    expressions_in,
    functions_used,
    resource_id,
)

MAX_RESOURCES = 800  # Azure's limit per template
MAX_PARAMETERS = 256  # Azure's limit
MAX_VARIABLES = 256  # Azure's limit
MAX_OUTPUTS = 64  # Azure's limit

_TOP_LEVEL = {"$schema", "contentVersion", "apiProfile", "parameters", "variables", "functions", "resources",
              "outputs", "metadata"}  # fmt: skip
_RESOURCE_KEYS = {"type", "apiVersion", "name", "location", "tags", "properties", "dependsOn", "sku", "kind",
                  "condition", "resources", "comments", "metadata", "zones", "identity", "plan", "managedBy",
                  "extendedLocation"}  # fmt: skip
# what of a template resource goes into the PUT body of the resource
BODY_KEYS = ("location", "tags", "sku", "kind", "properties", "zones", "identity", "plan", "managedBy",
             "extendedLocation")  # fmt: skip
_PARAMETER_KEYS = {"type", "defaultValue", "allowedValues", "metadata", "minValue", "maxValue", "minLength",
                   "maxLength"}  # fmt: skip
PARAMETER_TYPES = {"string": str, "securestring": str, "int": int, "bool": bool, "object": dict,
                   "secureobject": dict, "array": list}  # fmt: skip
SECURE_TYPES = {"securestring", "secureobject"}
_OUTPUT_TYPES = {"string", "securestring", "int", "bool", "object", "secureobject", "array"}
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-[A-Za-z]+)?$")


@dataclass
class PlannedResource:
    path: str  # where it stands in the template: resources[0].resources[1]
    type: str
    name: str
    api_version: str
    id: str
    template: dict[str, Any]  # the template resource (its body parts are evaluated when deployed)
    depends_on: list[str] = field(default_factory=list)  # ids
    deployed: bool = True  # False: its condition is false


@dataclass
class Plan:
    context: Context
    parameter_types: dict[str, str]
    resources: list[PlannedResource]  # in deployment order
    outputs: dict[str, Any]

    def shown_parameters(self) -> dict[str, Any]:
        """The parameters as a deployment shows them: securestring values never returned."""
        out: dict[str, Any] = {}
        for name, ptype in self.parameter_types.items():
            shown: dict[str, Any] = {"type": _canonical_type(ptype)}
            if ptype.lower() not in SECURE_TYPES:
                shown["value"] = self.context.parameters[name]
            out[name] = shown
        return out

    def by_id(self) -> dict[str, PlannedResource]:
        return {r.id.lower(): r for r in self.resources}


def _canonical_type(ptype: str) -> str:
    return {"string": "String", "securestring": "SecureString", "int": "Int", "bool": "Bool", "object": "Object",
            "secureobject": "SecureObject", "array": "Array"}[ptype.lower()]  # fmt: skip


def _require_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TemplateError(f"The template property '{path}' must be a JSON object.", path)
    return value


def _static(ctx: Context, value: Any, path: str, what: str) -> Any:
    """A value known before anything is deployed (no ``reference()``)."""
    for where, node in expressions_in(value, path):
        check_functions(node, where, allowed=set())
    try:
        return evaluate_value(ctx, value, path)
    except RecursionError:
        raise TemplateError(f"The {what} nests too deeply.", path) from None


def build_plan(template: Any, given: Any, ctx: Context) -> Plan:
    """Check the whole template against the supported language and bind ``given`` (the
    deployment's ``parameters``); ``ctx`` carries the scope (subscription, group)."""
    template = _require_object(template, "template")
    unknown = sorted(set(template) - _TOP_LEVEL)
    if unknown:
        raise TemplateError(
            f"The template property '{unknown[0]}' is not supported. Supported properties: "
            f"{', '.join(sorted(_TOP_LEVEL))}.",
            unknown[0],
        )
    if template.get("functions"):
        raise TemplateError("The template property 'functions' (user-defined functions) is not supported.", "functions")
    for key in ("$schema", "contentVersion"):
        if key in template and not isinstance(template[key], str):
            raise TemplateError(f"The template property '{key}' must be a string.", key)
    schema = str(template.get("$schema", "")).lower()
    for other in ("subscriptiondeploymenttemplate", "managementgroupdeploymenttemplate", "tenantdeploymenttemplate"):
        if other in schema:
            raise TemplateError(f"The template schema '{template['$schema']}' is not supported for a resource group "
                                "deployment: use deploymentTemplate.json.", "$schema")  # fmt: skip
    parameter_types = _bind_parameters(template, given, ctx)
    variables = _require_object(template.get("variables", {}), "variables")
    if len(variables) > MAX_VARIABLES:
        raise TemplateError(f"The template has {len(variables)} variables; at most {MAX_VARIABLES} are allowed.")
    for name, value in variables.items():
        if name.lower() == "copy":
            raise TemplateError("The variable property 'copy' is not supported.", "variables.copy")
        for where, node in expressions_in(value, f"variables.{name}"):
            check_functions(node, where, allowed=set())
    ctx.variable_nodes = dict(variables)
    for name in variables:  # every variable is evaluated once, so an error is found now
        _static(ctx, f"[variables('{name.replace(chr(39), chr(39) * 2)}')]", f"variables.{name}", "variable")
    resources = _flatten(ctx, template.get("resources", []))
    ordered = _order(ctx, resources)
    outputs = _require_object(template.get("outputs", {}), "outputs")
    if len(outputs) > MAX_OUTPUTS:
        raise TemplateError(f"The template has {len(outputs)} outputs; at most {MAX_OUTPUTS} are allowed.")
    for name, output in outputs.items():
        path = f"outputs.{name}"
        output = _require_object(output, path)
        extra = sorted(set(output) - {"type", "value", "metadata", "condition"})
        if extra:
            raise TemplateError(f"The output property '{extra[0]}' is not supported.", f"{path}.{extra[0]}")
        if not isinstance(output.get("type"), str) or output["type"].lower() not in _OUTPUT_TYPES:
            raise TemplateError(f"The output '{name}' must have a type of {', '.join(sorted(_OUTPUT_TYPES))}.", path)
        if "value" not in output:
            raise TemplateError(f"The output '{name}' has no value.", path)
        _check_body(ctx, output, path)
    return Plan(ctx, parameter_types, ordered, outputs)


def _bind_parameters(template: dict[str, Any], given: Any, ctx: Context) -> dict[str, str]:
    declared = _require_object(template.get("parameters", {}), "parameters")
    if len(declared) > MAX_PARAMETERS:
        raise TemplateError(f"The template has {len(declared)} parameters; at most {MAX_PARAMETERS} are allowed.")
    given = _require_object(given if given is not None else {}, "parameters")
    names = {n.lower(): n for n in declared}
    for name in given:
        if name.lower() not in names:
            raise TemplateError(
                f"The template parameters '{name}' in the parameters file are not valid; they are not present in "
                "the original template and can therefore not be provided at deployment time.",
                f"parameters.{name}",
            )
    supplied = {n.lower(): v for n, v in given.items()}
    types: dict[str, str] = {}
    for name, spec in declared.items():
        path = f"parameters.{name}"
        spec = _require_object(spec, path)
        extra = sorted(set(spec) - _PARAMETER_KEYS)
        if extra:
            raise TemplateError(f"The parameter property '{extra[0]}' is not supported.", f"{path}.{extra[0]}")
        ptype = spec.get("type")
        if not isinstance(ptype, str) or ptype.lower() not in PARAMETER_TYPES:
            raise TemplateError(
                f"The template parameter '{name}' has type '{ptype}'; supported types are string, securestring, "
                "int, bool, object, secureObject and array.",
                f"{path}.type",
            )
        if name.lower() in supplied:
            wrapper = supplied[name.lower()]
            if not isinstance(wrapper, dict) or "value" not in wrapper:
                what = "a Key Vault reference" if isinstance(wrapper, dict) and "reference" in wrapper else "no 'value'"
                raise TemplateError(f"The value of the template parameter '{name}' has {what}; only "
                                    "{\"value\": ...} is supported.", path)  # fmt: skip
            value = wrapper["value"]
        elif "defaultValue" in spec:
            value = _static(ctx, spec["defaultValue"], f"{path}.defaultValue", "default value")
        else:
            raise TemplateError(f"The value for the template parameter '{name}' is not provided.", path)
        value = _coerce(name, ptype.lower(), value, path)
        allowed = spec.get("allowedValues")
        if allowed is not None:
            if not isinstance(allowed, list) or not allowed:
                raise TemplateError(f"The allowedValues of parameter '{name}' must be a non-empty array.", path)
            if value not in allowed:
                raise TemplateError(
                    f"The provided value for the template parameter '{name}' is not valid. The parameter value is "
                    f"not part of the allowed value(s): '{', '.join(str(a) for a in allowed)}'.",
                    path,
                )
        _check_bounds(name, spec, value, path)
        ctx.parameters[name] = value
        types[name] = ptype
    return types


def _coerce(name: str, ptype: str, value: Any, path: str) -> Any:
    expected = PARAMETER_TYPES[ptype]
    if ptype == "int" and isinstance(value, str) and INTEGER_TEXT.match(value.strip()):
        return int(value.strip())  # Azure converts "5" for an int parameter
    if ptype == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        raise TemplateError(
            f"Template parameter '{name}' was provided an invalid value. Expected a value of type "
            f"'{_canonical_type(ptype)}', but received a value of type '{type(value).__name__}'.",
            path,
        )
    return value


def _check_bounds(name: str, spec: dict[str, Any], value: Any, path: str) -> None:
    for key, test in (("minValue", lambda b: value >= b), ("maxValue", lambda b: value <= b)):
        if key in spec and isinstance(value, int) and isinstance(spec[key], int) and not test(spec[key]):
            raise TemplateError(f"The value {value} of parameter '{name}' is outside its {key} {spec[key]}.", path)
    for key, test in (("minLength", lambda b: len(value) >= b), ("maxLength", lambda b: len(value) <= b)):
        if key in spec and isinstance(value, str | list) and isinstance(spec[key], int) and not test(spec[key]):
            raise TemplateError(f"The length of parameter '{name}' is outside its {key} {spec[key]}.", path)


def _text(ctx: Context, raw: Any, path: str, what: str) -> str:
    value = _static(ctx, raw, path, what)
    if not isinstance(value, str) or not value:
        raise TemplateError(f"The resource property '{what}' must be a non-empty string.", path)
    return value


def _flatten(ctx: Context, resources: Any) -> list[PlannedResource]:
    """Every resource of the template, nested ones with their full type and name, in order."""
    if not isinstance(resources, list):
        raise TemplateError("The template property 'resources' must be an array.", "resources")
    out: list[PlannedResource] = []
    stack: list[tuple[Any, str, PlannedResource | None]] = [
        (r, f"resources[{i}]", None) for i, r in reversed(list(enumerate(resources)))
    ]
    while stack:
        raw, path, parent = stack.pop()
        if len(out) >= MAX_RESOURCES:
            raise TemplateError(f"The template has more than {MAX_RESOURCES} resources.", "resources")
        planned = _resource(ctx, raw, path, parent)
        out.append(planned)
        children = raw.get("resources", [])
        if not isinstance(children, list):
            raise TemplateError("The resource property 'resources' must be an array.", f"{path}.resources")
        stack.extend((c, f"{path}.resources[{i}]", planned) for i, c in reversed(list(enumerate(children))))
    seen: dict[str, str] = {}
    for r in out:
        if r.id.lower() in seen:
            raise TemplateError(
                f"The resource '{r.id}' is defined multiple times in the template ({seen[r.id.lower()]}, {r.path}).",
                r.path,
            )
        seen[r.id.lower()] = r.path
    return out


def _resource(ctx: Context, raw: Any, path: str, parent: PlannedResource | None) -> PlannedResource:
    raw = _require_object(raw, path)
    extra = sorted(set(raw) - _RESOURCE_KEYS)
    if extra:
        what = "'copy' (resource loops)" if extra[0] == "copy" else f"'{extra[0]}'"
        raise TemplateError(f"The resource property {what} is not supported.", f"{path}.{extra[0]}")
    for key in ("type", "apiVersion", "name"):
        if key not in raw:
            raise TemplateError(f"The resource is missing the required property '{key}'.", f"{path}.{key}")
    rtype = _text(ctx, raw["type"], f"{path}.type", "type")
    name = _text(ctx, raw["name"], f"{path}.name", "name")
    api_version = _text(ctx, raw["apiVersion"], f"{path}.apiVersion", "apiVersion")
    if not _API_VERSION.match(api_version):
        raise TemplateError(f"The apiVersion '{api_version}' is not a valid api-version.", f"{path}.apiVersion")
    if parent is not None and "/" not in rtype:
        rtype, name = f"{parent.type}/{rtype}", f"{parent.name}/{name}"
    segments = rtype.split("/")
    names = name.split("/")
    if len(segments) < 2 or any(not s for s in segments) or any(not n for n in names):
        raise TemplateError(f"The resource type '{rtype}' is not valid: expected 'Namespace/type[/childType]'.",
                            f"{path}.type")  # fmt: skip
    if len(names) != len(segments) - 1:
        raise TemplateError(
            f"The resource '{rtype}/{name}' has an incorrect segment length: a resource name must have one segment "
            "per type segment after the namespace.",
            f"{path}.name",
        )
    if rtype.lower() == "microsoft.resources/deployments":
        raise TemplateError("Nested deployments (a resource of type 'Microsoft.Resources/deployments') are not "
                            "supported.", f"{path}.type")  # fmt: skip
    deployed = True
    if "condition" in raw:
        condition = _static(ctx, raw["condition"], f"{path}.condition", "condition")
        if not isinstance(condition, bool):
            raise TemplateError("The resource property 'condition' must be a Boolean.", f"{path}.condition")
        deployed = condition
    for key in BODY_KEYS:
        if key in raw:
            _check_body(ctx, raw[key], f"{path}.{key}")
    planned = PlannedResource(path, rtype, name, api_version,
                              resource_id(ctx.subscription_id, ctx.group_name, rtype, names), raw, deployed=deployed)  # fmt: skip
    ctx.resource_types[name.lower()] = planned.id
    ctx.resource_types[f"{rtype}/{name}".lower()] = planned.id
    if parent is not None:
        planned.depends_on.append(parent.id)
    return planned


def _check_body(ctx: Context, value: Any, path: str) -> None:
    """Every expression of a body part: known functions; those that do not read deployed resources
    are evaluated now, so a wrong parameter name fails before anything is created."""
    for where, node in expressions_in(value, path):
        check_functions(node, where)
        if not (functions_used(node) & RUNTIME_FUNCTIONS):
            try:
                evaluate(ctx, node)
            except TemplateError as exc:
                raise TemplateError(exc.message, exc.path or where) from None


def _order(ctx: Context, resources: list[PlannedResource]) -> list[PlannedResource]:
    """Resolve ``dependsOn`` (a resource id, ``type/name`` or a name unique in the template) and
    the implicit dependencies (the parent of a nested or child resource, a resource read by
    ``reference()``), then sort them so that each comes after what it depends on."""
    by_id = {r.id.lower(): r for r in resources}
    by_type_name = {f"{r.type}/{r.name}".lower(): r for r in resources}
    by_name: dict[str, list[PlannedResource]] = {}
    for r in resources:
        by_name.setdefault(r.name.lower(), []).append(r)
    for r in resources:
        raw_depends = r.template.get("dependsOn", [])
        if not isinstance(raw_depends, list):
            raise TemplateError("The resource property 'dependsOn' must be an array.", f"{r.path}.dependsOn")
        for i, entry in enumerate(raw_depends):
            where = f"{r.path}.dependsOn[{i}]"
            entry = _static(ctx, entry, where, "dependsOn entry")
            if not isinstance(entry, str):
                raise TemplateError("A dependsOn entry must be a string.", where)
            target = _resolve(entry, where, by_id, by_type_name, by_name)
            if target is None:
                raise TemplateError(f"The resource '{_shown(entry)}' is not defined in the template.", where)
            r.depends_on.append(target.id)
        for key in BODY_KEYS:  # reference() to a resource of this template: an implicit dependency
            for _where, node in expressions_in(r.template.get(key), r.path):
                for arg in _reference_targets(node):
                    target = by_id.get(arg.lower()) or by_type_name.get(arg.lower())
                    if target is None and arg.lower() in by_name and len(by_name[arg.lower()]) == 1:
                        target = by_name[arg.lower()][0]
                    if target is not None and target is not r:
                        r.depends_on.append(target.id)
        # a child resource whose parent is in the template is deployed after it
        if "/" in r.name:
            parent_id = r.id.rsplit("/", 2)[0].lower()
            if parent_id in by_id and by_id[parent_id].id not in r.depends_on:
                r.depends_on.append(by_id[parent_id].id)
        r.depends_on = list(dict.fromkeys(d for d in r.depends_on if d.lower() != r.id.lower()))
    return _topological(resources, by_id)


def _shown(entry: str) -> str:
    return entry if len(entry) <= 200 else entry[:200] + "..."


def _resolve(
    entry: str,
    where: str,
    by_id: dict[str, PlannedResource],
    by_type_name: dict[str, PlannedResource],
    by_name: dict[str, list[PlannedResource]],
) -> PlannedResource | None:
    key = entry.lower()
    if key in by_id:
        return by_id[key]
    if key in by_type_name:
        return by_type_name[key]
    if key in by_name:
        if len(by_name[key]) > 1:
            raise TemplateError(f"The dependsOn '{_shown(entry)}' is ambiguous: more than one resource has this name.",
                                where)  # fmt: skip
        return by_name[key][0]
    return None


def _reference_targets(node: Any) -> list[str]:
    """The first arguments of ``reference()`` calls that are plain string literals."""
    found: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Call):
            first = item.args[0] if item.args else None
            if item.name.lower() == "reference" and isinstance(first, Literal) and isinstance(first.value, str):
                found.append(first.value)
            stack.extend(item.args)
        elif isinstance(item, Access):
            stack.extend((item.target, item.key))
    return found


def _topological(resources: list[PlannedResource], by_id: dict[str, PlannedResource]) -> list[PlannedResource]:
    """Kahn's algorithm, keeping template order among resources that are ready together."""
    remaining = {r.id.lower(): {d.lower() for d in r.depends_on} for r in resources}
    ordered: list[PlannedResource] = []
    while remaining:
        ready = [r for r in resources if r.id.lower() in remaining and not remaining[r.id.lower()]]
        if not ready:
            stuck = [by_id[k] for k in remaining]
            names = ", ".join(f"'{r.type}/{r.name}'" for r in stuck[:10])
            raise TemplateError(f"Deployment template validation failed: Circular dependency detected on resource: "
                                f"{names}.", stuck[0].path)  # fmt: skip
        for r in ready:
            ordered.append(r)
            del remaining[r.id.lower()]
        done = {r.id.lower() for r in ready}
        for deps in remaining.values():
            deps -= done
    return ordered
