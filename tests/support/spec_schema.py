"""Validate response bodies against the response schemas of Azure's OpenAPI (Swagger 2.0) files.

The spec files are read where they are (``tests.support.SHARED / "spec"``), never copied. A
:class:`SpecLibrary` indexes every operation of every spec file under that folder by method and
path template, and answers, for a concrete response (method, path, status, JSON body), the list of
:class:`Finding` s: divergences from the schema, properties the spec does not have (extensions),
and parts it could not check (a ``$ref`` to a file that is not present).

How Swagger maps onto JSON Schema (Draft 4, checked by the ``jsonschema`` library):

- ``$ref`` across files is resolved by relative path; when the relative path leaves the local
  tree (the files keep their upstream ``../../../../../common-types/...`` references), the file is
  found by its path below a folder that exists locally (``common-types/resource-management/v2/...``).
  A reference to a file that is not present becomes an "unchecked" marker: the data under it is
  reported as unchecked, never silently passed.
- ``allOf`` is kept as ``allOf``; the names of properties an object may have are the union of its
  own and its ``allOf`` ancestors', and any other property in a response is an *extension*.
- ``x-ms-client-flatten`` changes nothing: flattening is what the SDK does, the JSON stays nested.
- ``readOnly`` changes nothing for responses.
- ``enum`` is enforced only when closed: ``x-ms-enum.modelAsString: true`` means any string (a
  value outside the listed ones is a *note*: printed, and left to the caller to judge).
- ``additionalProperties`` (a schema, as for ``tags``) is enforced; an object schema without
  ``properties`` and without ``additionalProperties`` is open.
- ``format``: int32/int64 are range-checked; date-time (RFC 3339) and uuid are checked lightly.
- null: a property that is not ``required`` may be null (as Azure's own live validator treats
  responses); a required one only with ``x-nullable: true``; ``x-nullable: false`` forbids it.
- ``x-ms-pageable``: a page must have its items (``value``, or the ``itemName``), even when
  empty; ``nextLink`` is declared by the list schemas themselves (string, or absent/null at the end).
- ``discriminator``: not used by the spec files this project reads; a schema with one is checked
  as its base type only.

Responses: a status the operation declares is checked against that status's schema (a status
with no schema must have no body that matters: any JSON is accepted); another non-2xx status
against the ``default`` response (``CloudError``/``ErrorResponse``); another 2xx status is a
divergence. An error on a path no operation describes (an unknown resource type, a collection PUT)
is checked against ARM's common ``ErrorResponse`` (common-types v2). The final 200 of a
long-running POST's ``Location`` URL is checked as that POST's 200 (the capture records Location).
Microsoft.Network's Azure-AsyncOperation status URLs are checked against ``AzureAsyncOperationResult``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators

# The server's test-only capture (crossconnect.app.response_capture); the name is repeated here so
# that the validator does not import the server.
CAPTURE_VARIABLE = "CROSSCONNECT_CAPTURE_RESPONSES"

# -- deliberate extensions -------------------------------------------------------------------------

# Properties crossconnect returns that Azure's spec does not declare, each with the reason it is
# there. Keyed by (definition the property would belong to, property name). The same list, with the
# same reasons, is in docs/behaviour.md ("Deliberate extensions to Azure's response shapes"); a
# test checks that the two agree.
EXTENSIONS: dict[tuple[str, str], str] = {
    ("ExpressRouteCrossConnectionPeering", "type"): "every ARM resource carries its type, and the circuit-peering "
    "definition of the same record declares it; the partner's view of the one peering record shows it too",
    ("ExpressRouteCrossConnectionPeeringProperties", "routeFilter"): "a route filter can be attached from either view "
    "of the one peering record (see Route filters); the partner's view shows what it attached",
    ("RouteFilterRule", "type"): "Azure returns it (Microsoft.Network/routeFilters/routeFilterRules in the recorded "
    "responses of azure-mgmt-network's route-filter tests), although the 2024-07-01 definition lacks it",
    ("RoleDefinitionProperties", "createdOn"): "Azure returns the audit fields on role definitions; later "
    "api-versions of Microsoft.Authorization declare them",
    ("RoleDefinitionProperties", "updatedOn"): "as createdOn",
    ("RoleDefinitionProperties", "createdBy"): "as createdOn",
    ("RoleDefinitionProperties", "updatedBy"): "as createdOn",
    ("AzureAsyncOperationResult", "id"): "the operation status is ARM's asynchronous-operation resource (RPC "
    "OperationStatusResult: id, name, startTime, endTime), one shape for every provider namespace here",
    ("AzureAsyncOperationResult", "name"): "as id",
    ("AzureAsyncOperationResult", "startTime"): "as id",
    ("AzureAsyncOperationResult", "endTime"): "as id",
}


# -- findings --------------------------------------------------------------------------------------

DIVERGENCE = "divergence"
EXTENSION = "extension"
UNCHECKED = "unchecked"
NOTE = "note"  # a string outside an open enum's listed values: printed, not a failure
MAX_PROBLEM = 400  # characters of a finding's message in a failure block


@dataclass(frozen=True)
class Finding:
    kind: str  # DIVERGENCE, EXTENSION, UNCHECKED or NOTE
    operation: str  # operationId
    status: int
    where: str  # JSON pointer-ish path in the body, "$" for the root
    message: str
    definition: str = ""  # for an extension: the definition that lacks the property
    name: str = ""  # for an extension: the property
    request: str = ""  # the captured response's request ("GET /subscriptions/...?api-version=..."), when known

    def __str__(self) -> str:
        return f"{self.kind}: {self.operation} {self.status} {self.where}: {self.message}"

    def block(self, seen: int = 1) -> str:
        """The finding as a few aligned lines: what answered, where in the body, what is wrong."""
        times = f" (seen {seen} times; the first below)" if seen > 1 else ""
        lines = [f"{self.kind.upper()}: {self.operation}, status {self.status}{times}"]
        if self.request:
            lines.append(f"  response to: {self.request}")
        # jsonschema quotes the whole instance in some messages (a wrong type of a large object).
        problem = self.message if len(self.message) <= MAX_PROBLEM else self.message[:MAX_PROBLEM] + " ..."
        lines += [f"  at:          {self.where}", f"  problem:     {problem}"]
        return "\n".join(lines)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    spec_file: Path
    responses: dict[str, dict[str, Any] | None]  # status or "default" → converted schema (None: no body)
    pattern: re.Pattern[str]
    specificity: tuple[int, int]  # literal segments, literal characters
    by_id: bool = False  # the whole path is one parameter (/{resourceId}): see SpecLibrary.operation_for


@dataclass
class Report:
    """What validating many responses found."""

    validated: int = 0
    no_spec: Counter[str] = field(default_factory=Counter)  # "METHOD path-shape" → responses
    operations: Counter[str] = field(default_factory=Counter)  # operationId → responses validated
    with_body: Counter[tuple[str, int]] = field(default_factory=Counter)  # (operationId, status) → bodies validated
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.of_kind(DIVERGENCE) or self.unlisted_extensions())

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def unlisted_extensions(self) -> list[Finding]:
        return [f for f in self.of_kind(EXTENSION) if (f.definition, f.name) not in EXTENSIONS]

    def failures(self) -> list[Finding]:
        """What fails a run: divergences and extensions not in the allow-list."""
        return self.of_kind(DIVERGENCE) + self.unlisted_extensions()

    def failure_blocks(self) -> str:
        """Each kind of failure once (array indexes folded), as a readable block naming the first
        response that showed it: operation, status, method and path, where in the body, why."""
        first: dict[str, Finding] = {}
        seen: Counter[str] = Counter()
        for finding in self.failures():
            key = re.sub(r"\[\d+\]", "[*]", f"{finding.kind} {finding.operation} {finding.status} {finding.where}")
            first.setdefault(key, finding)
            seen[key] += 1
        return "\n\n".join(finding.block(seen[key]) for key, finding in first.items())

    def summary(self) -> str:
        lines = [
            f"{self.validated} responses validated against {len(self.operations)} operations; "
            f"{sum(self.no_spec.values())} responses of {len(self.no_spec)} operations without a spec here",
            f"{len(self.of_kind(DIVERGENCE))} divergences, {len(self.of_kind(EXTENSION))} extension occurrences "
            f"({len(self.unlisted_extensions())} not in the allow-list), {len(self.of_kind(UNCHECKED))} unchecked parts, "
            f"{len(self.of_kind(NOTE))} open-enum values outside the listed ones",
        ]
        lines += [f"  no spec here: {shape} ({count})" for shape, count in sorted(self.no_spec.items())]
        # One line per kind of finding (array indexes folded), with how often it was seen.
        counted: Counter[str] = Counter()
        for finding in self.findings:
            if finding.kind == EXTENSION and (finding.definition, finding.name) in EXTENSIONS:
                continue
            counted[re.sub(r"\[\d+\]", "[*]", str(finding))] += 1
        lines += [f"  {text} (x{count})" for text, count in counted.items()]
        listed = Counter((f.definition, f.name) for f in self.of_kind(EXTENSION))
        lines += [
            f"  listed extension {d}.{n} (x{count})" for (d, n), count in sorted(listed.items()) if (d, n) in EXTENSIONS
        ]
        return "\n".join(lines)


# -- formats ---------------------------------------------------------------------------------------

_FORMATS = FormatChecker(formats=())
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    return True


@_FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    if isinstance(value, str):
        uuid.UUID(value)
    return True


@_FORMATS.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


# -- the validator: Draft 4 with three keywords of our own -----------------------------------------


def _known_properties(
    validator: Any, known: list[str], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """``x-known-properties``: every other property is an extension (reported, not a divergence)."""
    if not isinstance(instance, dict):
        return
    for name in instance:
        if name not in known:
            yield ValidationError(
                f"property {name!r} is not in the spec's {schema.get('x-definition', 'schema')}",
                path=[name],
                validator_value=schema.get("x-definition", ""),
            )


def _open_enum(validator: Any, values: list[Any], instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """``x-open-enum`` (``modelAsString: true``): any string is valid; one outside the listed values
    is noted (a value Azure's clients know nothing of is worth a look), never a divergence."""
    if isinstance(instance, str) and instance not in values:
        yield ValidationError(f"{instance!r} is not one of the listed values {values} (open enum)")


def _unchecked(validator: Any, ref: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """``x-unchecked``: the schema here is in a spec file that is not present."""
    yield ValidationError(f"not checked: {ref} is not available locally", validator_value=ref)


SpecValidator = validators.extend(
    Draft4Validator, {"x-known-properties": _known_properties, "x-open-enum": _open_enum, "x-unchecked": _unchecked}
)


# -- the library -----------------------------------------------------------------------------------


class SpecLibrary:
    """Every operation of the Swagger files below ``root`` (``examples`` folders excluded)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._documents: dict[Path, dict[str, Any] | None] = {}
        self.definitions: dict[str, dict[str, Any]] = {}  # converted, by key
        self.unresolved: set[str] = set()
        self._validators: dict[tuple[str, str, str], Any] = {}

    # -- files and references --------------------------------------------------------------------
    def document(self, path: Path) -> dict[str, Any] | None:
        path = path.resolve()
        if path not in self._documents:
            found = path if path.is_file() else self._relocate(path)
            self._documents[path] = json.loads(found.read_text()) if found else None
        return self._documents[path]

    def _relocate(self, path: Path) -> Path | None:
        """An upstream relative path that leaves the local tree: find the file by the longest tail
        of its path that exists below ``root`` (``common-types/resource-management/v2/types.json``)."""
        parts = path.parts
        for start in range(len(parts) - 1):
            candidate = self.root.joinpath(*parts[start:])
            if candidate.is_file():
                return candidate
        return None

    def resolve(self, base: Path, ref: str) -> tuple[Path, str]:
        """A ``$ref`` seen in ``base``: the file it points to and the definition name."""
        file_part, _, pointer = ref.partition("#")
        target = (base.parent / file_part).resolve() if file_part else base.resolve()
        return target, pointer

    def _key(self, file: Path, pointer: str, closed: bool) -> str:
        try:
            rel = file.relative_to(self.root)
        except ValueError:
            rel = file
        return f"{rel}#{pointer}" + ("" if closed else "|open")

    # -- conversion --------------------------------------------------------------------------------
    def ref_schema(self, base: Path, ref: str, closed: bool = True) -> dict[str, Any]:
        """A JSON Schema ``$ref`` to the converted definition (converted on first use)."""
        file, pointer = self.resolve(base, ref)
        document = self.document(file)
        target: Any = document
        for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
            target = target.get(part) if isinstance(target, dict) else None
        if target is None:
            self.unresolved.add(ref)
            return {"x-unchecked": ref}
        key = self._key(file, pointer, closed)
        if key not in self.definitions:
            self.definitions[key] = {}  # placeholder: recursive definitions refer to themselves
            self.definitions[key] = self.convert(file, target, closed, pointer.rsplit("/", 1)[-1])
        return {"$ref": "#/definitions/" + _escape(key)}

    def convert(self, base: Path, schema: dict[str, Any], closed: bool = True, name: str = "") -> dict[str, Any]:
        """One Swagger schema as JSON Schema Draft 4 (see the module docstring)."""
        if "$ref" in schema:
            converted = self.ref_schema(base, schema["$ref"], closed)
            return _nullable(converted) if schema.get("x-nullable") is True else converted
        out: dict[str, Any] = {}
        kind = schema.get("type")
        if kind is None and ("properties" in schema or "allOf" in schema or "additionalProperties" in schema):
            kind = "object"
        if kind is not None and kind != "file":
            out["type"] = kind
        enum = schema.get("enum")
        if enum is not None and not (schema.get("x-ms-enum") or {}).get("modelAsString", False):
            out["enum"] = list(enum)
        elif enum is not None:
            out["x-open-enum"] = list(enum)
        if "format" in schema:
            out["format"] = schema["format"]
        for word in ("minimum", "maximum"):
            # Ranges hold for responses too; length and pattern rules describe what a client sends.
            if word in schema:
                out[word] = schema[word]
        if "items" in schema:
            out["items"] = self.convert(base, schema["items"])
        required = [r for r in schema.get("required", []) if r in _all_property_names(self, base, schema)]
        if "properties" in schema:
            props: dict[str, Any] = {}
            for prop, sub in schema["properties"].items():
                converted = self.convert(base, sub)
                nullable = sub.get("x-nullable")
                if nullable is True or (nullable is None and prop not in required):
                    converted = _nullable(converted)
                props[prop] = converted
            out["properties"] = props
        if required:
            out["required"] = required
        if "allOf" in schema:
            out["allOf"] = [self.convert(base, parent, closed=False) for parent in schema["allOf"]]
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            out["additionalProperties"] = self.convert(base, additional)
        elif closed and kind == "object" and additional is None and _all_property_names(self, base, schema):
            out["x-known-properties"] = sorted(_all_property_names(self, base, schema))
            out["x-definition"] = name or "schema"
        return out

    # -- operations --------------------------------------------------------------------------------
    @cached_property
    def operations(self) -> list[Operation]:
        found: list[Operation] = []
        for spec_file in sorted(self.root.rglob("*.json")):
            if "examples" in spec_file.parts:
                continue
            spec = self.document(spec_file) or {}
            paths = {**spec.get("paths", {}), **spec.get("x-ms-paths", {})}
            for template, methods in paths.items():
                shared_params = methods.get("parameters", [])
                for method, op in methods.items():
                    if not isinstance(op, dict) or "operationId" not in op:
                        continue
                    params = [self._parameter(spec_file, p) for p in [*shared_params, *op.get("parameters", [])]]
                    slashes = {p["name"] for p in params if p.get("in") == "path" and p.get("x-ms-skip-url-encoding")}
                    clean = template.split("?", 1)[0]
                    responses = {
                        status: (self.convert(spec_file, r["schema"]) if "schema" in r else None)
                        for status, r in op.get("responses", {}).items()
                    }
                    pageable = op.get("x-ms-pageable")
                    if isinstance(pageable, dict) and responses.get("200") is not None:
                        # A page always has its items (possibly none); nextLink only when there is more.
                        item_name = pageable.get("itemName", "value")
                        responses["200"] = {"allOf": [responses["200"]], "required": [item_name]}
                    found.append(
                        Operation(
                            op["operationId"],
                            method.upper(),
                            clean,
                            spec_file,
                            responses,
                            _path_pattern(clean, slashes),
                            _specificity(clean),
                            by_id=bool(re.fullmatch(r"/\{[^}]+\}", clean)) and bool(slashes),
                        )
                    )
        return found + self._status_operations()

    def _status_operations(self) -> list[Operation]:
        """The Azure-AsyncOperation status URLs of Microsoft.Network: the spec gives their body only
        as a definition (``AzureAsyncOperationResult`` in network.json), with no path."""
        template = (
            "/subscriptions/{subscriptionId}/providers/Microsoft.Network/locations/{location}/operations/{operationId}"
        )
        for spec_file in sorted(self.root.rglob("network.json")):
            definitions = (self.document(spec_file) or {}).get("definitions", {})
            if "AzureAsyncOperationResult" in definitions and "CloudError" in definitions:
                responses = {
                    "200": self.convert(spec_file, {"$ref": "#/definitions/AzureAsyncOperationResult"}),
                    "default": self.convert(spec_file, {"$ref": "#/definitions/CloudError"}),
                }
                pattern = _path_pattern(template, set())
                return [
                    Operation(
                        "NetworkAsyncOperationStatus",
                        "GET",
                        template,
                        spec_file,
                        responses,
                        pattern,
                        _specificity(template),
                    )
                ]
        return []

    @cached_property
    def arm_error(self) -> Operation | None:
        """For an error on a path no operation describes (an unknown type, a collection PUT, ...):
        ARM's common error envelope, ``ErrorResponse`` of common-types v2, when present."""
        types = self.root / "common-types" / "resource-management" / "v2" / "types.json"
        if not types.is_file():
            return None
        default = self.convert(types, {"$ref": "#/definitions/ErrorResponse"})
        return Operation("ArmErrorResponse", "*", "(any path)", types, {"default": default}, re.compile("$^"), (0, 0))

    @cached_property
    def specified_namespaces(self) -> set[str]:
        """Provider namespaces (lower case) that named templates of the spec files describe."""
        return {
            ns.lower()
            for op in self.operations
            if not _is_generic(op.template)
            for ns in re.findall(r"/providers/([A-Za-z]+\.[A-Za-z.]+)/", op.template)
        }

    def operations_by_id(self, operation_id: str) -> list[Operation]:
        return [op for op in self.operations if op.operation_id == operation_id]

    def _parameter(self, base: Path, parameter: dict[str, Any]) -> dict[str, Any]:
        if "$ref" not in parameter:
            return parameter
        file, pointer = self.resolve(base, parameter["$ref"])
        target: Any = self.document(file)
        for part in pointer.strip("/").split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return target if isinstance(target, dict) else {}

    def operation_for(self, method: str, path: str) -> Operation | None:
        """The most specific operation whose template matches: most literal segments, then most
        literal characters (``.../expressRouteCircuits/{circuitName}`` over the generic
        ``.../providers/{resourceProviderNamespace}/{parentResourcePath}/{resourceType}/{resourceName}``,
        ``{scope}/providers/Microsoft.Resources/tags/default`` over both).

        Operations whose whole template is one parameter that may hold slashes (``/{resourceId}``,
        ``/{roleAssignmentId}``, ``/{roleId}``) are not matched: they match every path, and the
        paths they stand for have named templates too (the SDK's ``*_by_id`` methods send them).

        The generic resource templates (``.../providers/{resourceProviderNamespace}/.../{resourceType}/{resourceName}``)
        do not judge the types of a namespace the local spec files describe (Microsoft.Network): such a
        type answers with its provider's own shape, so one the files lack (expressRoutePorts,
        virtualNetworks) is counted as without a spec instead of judged as a GenericResource."""
        namespace = _namespace(path)
        matches = [
            op
            for op in self.operations
            if not op.by_id
            and op.method == method.upper()
            and op.pattern.fullmatch(path)
            and not (_is_generic(op.template) and namespace in self.specified_namespaces)
        ]
        return max(matches, key=lambda op: op.specificity, default=None)

    # -- validation --------------------------------------------------------------------------------
    def check(self, operation: Operation, status: int, body: Any) -> list[Finding]:
        """The findings for one response of ``operation``."""
        where = str(status)
        if where not in operation.responses:
            if 200 <= status < 300:
                declared = sorted(s for s in operation.responses if s != "default")
                return [Finding(DIVERGENCE, operation.operation_id, status, "$", f"status not declared ({declared})")]
            where = "default"
            if where not in operation.responses:
                return []
        schema = operation.responses[where]
        if schema is None or body is None:
            return []
        cache_key = (operation.operation_id, operation.template, where)
        validator = self._validators.get(cache_key)
        if validator is None:
            definitions = {_escape(k): v for k, v in self.definitions.items()}
            validator = SpecValidator({**schema, "definitions": definitions}, format_checker=_FORMATS)
            self._validators[cache_key] = validator
        return [self._finding(operation, status, error) for error in _leaf_errors(validator.iter_errors(body))]

    @staticmethod
    def _finding(operation: Operation, status: int, error: ValidationError) -> Finding:
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        if error.validator == "x-known-properties":
            name = str(error.absolute_path[-1])
            return Finding(
                EXTENSION, operation.operation_id, status, where, error.message, str(error.validator_value), name
            )
        if error.validator == "x-open-enum":
            return Finding(NOTE, operation.operation_id, status, where, error.message)
        if error.validator == "x-unchecked":
            return Finding(UNCHECKED, operation.operation_id, status, where, error.message)
        return Finding(DIVERGENCE, operation.operation_id, status, where, f"{error.message} ({error.validator})")

    def validate(self, records: Iterable[dict[str, Any]], report: Report | None = None) -> Report:
        """Validate captured responses: dicts with method, path, status and body."""
        report = report or Report()
        # A long-running POST or DELETE answers 202 + Location; what that URL answers is the
        # operation's result, validated against the operation's responses (a POST's 200 schema).
        results: dict[str, Operation] = {}
        # A whole run answers the same body many times (the seeded role definitions, providers and
        # service providers after each reset): each distinct (operation, status, body) is checked once.
        checked: dict[tuple[str, str, int, str], list[Finding]] = {}
        for record in records:
            operation = self.operation_for(record["method"], record["path"])
            if operation is not None and record.get("location") and operation.method in ("POST", "DELETE"):
                results[urlsplit(record["location"]).path] = operation
            if operation is None and record["method"] == "GET" and record["path"] in results:
                operation = results[record["path"]]
            if operation is None and int(record["status"]) >= 400:
                operation = self.arm_error
            if operation is None:
                report.no_spec[f"{record['method']} {_shape(record['path'])}"] += 1
                continue
            report.validated += 1
            report.operations[operation.operation_id] += 1
            if record.get("body") is not None:
                report.with_body[(operation.operation_id, int(record["status"]))] += 1
            status = int(record["status"])
            body = hashlib.blake2b(json.dumps(record.get("body"), sort_keys=True).encode(), digest_size=16).hexdigest()
            key = (operation.operation_id, operation.template, status, body)
            if key not in checked:
                checked[key] = self.check(operation, status, record.get("body"))
            request = _request(record)
            report.findings += [replace(f, request=request) for f in checked[key]]
        return report


# -- helpers ---------------------------------------------------------------------------------------


def _request(record: dict[str, Any]) -> str:
    """The request a captured response answered, as a reader would type it."""
    version = record.get("api_version")
    return f"{record['method']} {record['path']}" + (f"?api-version={version}" if version else "")


def _escape(key: str) -> str:
    """A definition key usable as one JSON pointer segment of a URI fragment."""
    return re.sub(r"[^A-Za-z0-9_.-]", lambda m: f"_{ord(m.group()):x}_", key)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [{"type": "null"}, schema]}


def _all_property_names(library: SpecLibrary, base: Path, schema: dict[str, Any]) -> set[str]:
    """The properties of ``schema`` and of its ``allOf`` ancestors."""
    names = set(schema.get("properties", {}))
    for parent in schema.get("allOf", []):
        if "$ref" in parent:
            file, pointer = library.resolve(base, parent["$ref"])
            target: Any = library.document(file)
            for part in pointer.strip("/").split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            if isinstance(target, dict):
                names |= _all_property_names(library, file, target)
        else:
            names |= _all_property_names(library, base, parent)
    return names


# Parameters that may be empty: a top-level generic resource has no parent, and ``{scope}`` may be
# the tenant ("/providers/Microsoft.Authorization/roleDefinitions/{id}").
OPTIONAL_SEGMENTS = {"parentResourcePath", "scope"}


def _path_pattern(template: str, slashes: set[str]) -> re.Pattern[str]:
    """A template as a case-insensitive regex; parameters that may hold ``/`` match several
    segments (those in ``OPTIONAL_SEGMENTS`` also none)."""
    out = ""
    for segment in template.strip("/").split("/"):
        name = segment[1:-1] if segment.startswith("{") and segment.endswith("}") else None
        if name in slashes:
            out += "(?:/.+?)?" if name in OPTIONAL_SEGMENTS else "/.+?"
        else:
            out += "/" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(segment))
    return re.compile(out + "/?", re.IGNORECASE)


def _is_generic(template: str) -> bool:
    return "{resourceProviderNamespace}" in template and template.endswith("/{resourceType}/{resourceName}")


def _namespace(path: str) -> str:
    """The provider namespace a resource path belongs to (lower case; "" when none)."""
    match = re.search(r"/providers/([^/]+)", path)
    return match.group(1).lower() if match else ""


def _specificity(template: str) -> tuple[int, int]:
    segments = template.strip("/").split("/")
    literal = [s for s in segments if not s.startswith("{")]
    return len(literal), sum(len(s) for s in literal)


def _shape(path: str) -> str:
    """A path with its names replaced, to count unknown operations by shape (collection names and
    provider namespaces stay)."""
    parts = path.strip("/").split("/")
    kept = [
        p if i % 2 == 0 or p.lower() == "providers" or (i > 0 and parts[i - 1].lower() == "providers") else "*"
        for i, p in enumerate(parts)
    ]
    return "/" + "/".join(kept)


def _leaf_errors(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """The errors worth reporting: for ``anyOf`` (our nullable wrapper) the errors of the branch
    that is not ``null``."""
    for error in errors:
        if error.validator == "anyOf" and error.context:
            inner = [e for e in error.context if e.validator != "type" or e.validator_value != "null"]
            yield from _leaf_errors(inner) if inner else [error]
        else:
            yield error


def schema_problems(library: SpecLibrary, operation_id: str, response: Any, where: str) -> list[str]:
    """For a test's own request (an ``httpx.Response``): the divergences and unlisted extensions of
    its body against ``operation_id``'s schema, as messages (unchecked parts are not problems)."""
    operation = next(iter(library.operations_by_id(operation_id)), None)
    if operation is None:
        return [f"{where}: no operation {operation_id} in the spec files"]
    is_json = "json" in response.headers.get("content-type", "") and response.content
    body = response.json() if is_json else None
    return [
        f"{where} (schema): {finding}"
        for finding in library.check(operation, response.status_code, body)
        if finding.kind == DIVERGENCE
        or (finding.kind == EXTENSION and (finding.definition, finding.name) not in EXTENSIONS)
    ]


def read_captures(directory: Path) -> Iterator[dict[str, Any]]:
    """The responses a capturing server wrote (``crossconnect.app.response_capture``), in order
    per server process."""
    for file in sorted(directory.glob("responses-*.jsonl")):
        with file.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


def validate_capture_directory(spec_root: Path, directory: Path) -> Report:
    """Everything the servers captured in ``directory``, validated against the specs."""
    return SpecLibrary(spec_root).validate(read_captures(directory))
