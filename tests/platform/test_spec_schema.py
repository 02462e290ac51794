"""The response-schema validator (tests/support/spec_schema.py) itself: Azure's own examples pass,
and each kind of divergence it exists for is caught (a validator that cannot fail proves nothing).
No server: the bodies are Azure's examples from ../shared/spec, changed one fact at a time."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import SHARED
from tests.support.spec_schema import DIVERGENCE, EXTENSION, NOTE, UNCHECKED, Finding, SpecLibrary

SPEC_ROOT = SHARED / "spec"
NETWORK = SPEC_ROOT / "network" / "2024-07-01"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
CIRCUIT = f"{SUB}/resourceGroups/rg1/providers/Microsoft.Network/expressRouteCircuits/er1"


@pytest.fixture(scope="module")
def library() -> SpecLibrary:
    if not SPEC_ROOT.is_dir():
        pytest.skip("../shared/spec is not present")
    return SpecLibrary(SPEC_ROOT)


def example(name: str, status: str = "200") -> Any:
    return copy.deepcopy(json.loads((NETWORK / "examples" / f"{name}.json").read_text())["responses"][status]["body"])


def findings(library: SpecLibrary, method: str, path: str, status: int, body: Any) -> list[Finding]:
    operation = library.operation_for(method, path)
    assert operation is not None, f"no operation for {method} {path}"
    return library.check(operation, status, body)


def kinds(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.kind, f.where) for f in found]


def test_every_example_response_conforms(library: SpecLibrary) -> None:
    """Azure's examples are validated by Azure's tooling: ours must find nothing in them but the
    one reference to a spec file that is not present (virtualWan.json), reported as unchecked, and
    notes on open enums."""
    checked = 0
    for spec_file in sorted(SPEC_ROOT.rglob("*.json")):
        if "examples" in spec_file.parts:
            continue
        spec = json.loads(spec_file.read_text())
        for methods in {**spec.get("paths", {}), **spec.get("x-ms-paths", {})}.values():
            for op in methods.values():
                if not isinstance(op, dict):
                    continue
                operation = next(o for o in library.operations_by_id(op["operationId"]))
                for ref in (op.get("x-ms-examples") or {}).values():
                    file = spec_file.parent / ref["$ref"]
                    if not file.is_file():
                        continue  # not every example was copied to ../shared
                    ex = json.loads(file.read_text())
                    for status, response in ex["responses"].items():
                        found = library.check(operation, int(status), response.get("body"))
                        checked += 1
                        # Azure's examples themselves use open-enum values the spec does not list
                        # (provisioningState "Enabled"): notes, as for any open enum.
                        found = [f for f in found if f.kind != NOTE]
                        assert all(f.kind == UNCHECKED and "virtualWan.json" in f.message for f in found), found
    assert checked >= 70


def test_recorded_azure_responses_conform_and_show_the_listed_extensions(library: SpecLibrary) -> None:
    """Real Azure's responses (the recordings in ../shared/reference) judged by the same validator:
    nothing diverges, and Azure itself returns RouteFilterRule.type, one of our listed extensions.
    (Azure's 2020 answers also carry properties the 2024-07-01 spec lacks, such as the circuit's
    resourceGuid and stats as primaryBytesIn where the spec, and so the SDK, reads primarybytesIn;
    crossconnect follows the spec there.)"""
    yaml = pytest.importorskip("yaml")
    recordings = SHARED / "reference" / "recordings"
    if not recordings.is_dir():
        pytest.skip("../shared/reference/recordings is not present")
    records = []
    for file in sorted(recordings.glob("*.yaml")):
        for interaction in yaml.safe_load(file.read_text())["interactions"]:
            text = interaction["response"]["body"].get("string")
            record = {
                "method": interaction["request"]["method"],
                "path": urlsplit(interaction["request"]["uri"]).path,
                "status": interaction["response"]["status"]["code"],
                "body": json.loads(text) if text and text.lstrip().startswith("{") else None,
            }
            location = interaction["response"]["headers"].get("location")
            if location:
                record["location"] = location[0]
            records.append(record)
    report = library.validate(records)
    assert report.validated >= 50
    assert not report.of_kind(DIVERGENCE), report.summary()
    azure_extensions = {(f.definition, f.name) for f in report.of_kind(EXTENSION)}
    assert ("RouteFilterRule", "type") in azure_extensions
    assert ("ExpressRouteCircuitStats", "primaryBytesIn") in azure_extensions


def test_wrong_type_is_a_divergence(library: SpecLibrary) -> None:
    body = example("ExpressRouteCircuitGet")
    assert findings(library, "GET", CIRCUIT, 200, body) == []
    body["properties"]["serviceProviderProperties"]["bandwidthInMbps"] = "200"
    found = findings(library, "GET", CIRCUIT, 200, body)
    assert kinds(found) == [(DIVERGENCE, "$.properties.serviceProviderProperties.bandwidthInMbps")]
    assert "'200' is not of type 'integer'" in found[0].message


def test_integer_format_is_range_checked(library: SpecLibrary) -> None:
    body = example("ExpressRouteCircuitGet")
    body["properties"]["serviceProviderProperties"]["bandwidthInMbps"] = 2**40  # format int32
    assert kinds(findings(library, "GET", CIRCUIT, 200, body)) == [
        (DIVERGENCE, "$.properties.serviceProviderProperties.bandwidthInMbps")
    ]


def test_missing_required_property_and_null_for_required(library: SpecLibrary) -> None:
    path = f"{SUB}/resourcegroups/rg1"
    group = {"id": path, "name": "rg1", "type": "Microsoft.Resources/resourceGroups", "location": "westus"}
    assert findings(library, "GET", path, 200, group) == []
    assert kinds(findings(library, "GET", path, 200, {k: v for k, v in group.items() if k != "location"})) == [
        (DIVERGENCE, "$")
    ]
    assert kinds(findings(library, "GET", path, 200, {**group, "location": None})) == [(DIVERGENCE, "$.location")]
    # an optional property may be null (as Azure's live validator accepts)
    assert findings(library, "GET", path, 200, {**group, "managedBy": None}) == []


def test_closed_enum_is_enforced_and_open_enum_is_not(library: SpecLibrary) -> None:
    generic = f"{SUB}/resourcegroups/rg1/providers/Microsoft.Example/things/t1"
    resource = {"id": generic, "name": "t1", "type": "Microsoft.Example/things", "identity": {"type": "SystemAssigned"}}
    assert findings(library, "GET", generic, 200, resource) == []
    resource["identity"]["type"] = "Somebody"  # Identity.type: a closed enum
    assert kinds(findings(library, "GET", generic, 200, resource)) == [(DIVERGENCE, "$.identity.type")]
    body = example("ExpressRouteCircuitGet")
    body["sku"]["tier"] = "Platinum"  # x-ms-enum modelAsString: any string, noted when not listed
    assert kinds(findings(library, "GET", CIRCUIT, 200, body)) == [(NOTE, "$.sku.tier")]
    body["sku"]["tier"] = "Premium"
    assert findings(library, "GET", CIRCUIT, 200, body) == []


def test_unknown_property_is_an_extension_naming_its_definition(library: SpecLibrary) -> None:
    body = example("ExpressRouteCircuitGet")
    body["properties"]["colour"] = "blue"
    body["sku"]["size"] = "L"
    found = findings(library, "GET", CIRCUIT, 200, body)
    assert {(f.kind, f.where, f.definition, f.name) for f in found} == {
        (EXTENSION, "$.properties.colour", "ExpressRouteCircuitPropertiesFormat", "colour"),
        (EXTENSION, "$.sku.size", "ExpressRouteCircuitSku", "size"),
    }


def test_properties_of_allof_ancestors_are_known(library: SpecLibrary) -> None:
    """ExpressRouteCircuit's id/location/tags come from Resource (allOf): not extensions."""
    body = example("ExpressRouteCircuitGet")
    assert {"id", "location"} <= set(body)
    body["tags"] = {"a": "b"}
    assert findings(library, "GET", CIRCUIT, 200, body) == []
    body["tags"] = {"a": 1}  # additionalProperties: string
    assert kinds(findings(library, "GET", CIRCUIT, 200, body)) == [(DIVERGENCE, "$.tags.a")]


def test_a_page_must_have_its_items(library: SpecLibrary) -> None:
    """x-ms-pageable: ``value`` may be empty, not missing; ``nextLink`` is a string when present."""
    path = f"{SUB}/resourceGroups/rg1/providers/Microsoft.Network/expressRouteCircuits"
    assert findings(library, "GET", path, 200, {"value": []}) == []
    assert findings(library, "GET", path, 200, {"value": [], "nextLink": None}) == []
    assert kinds(findings(library, "GET", path, 200, {})) == [(DIVERGENCE, "$")]
    assert kinds(findings(library, "GET", path, 200, {"value": [], "nextLink": 3})) == [(DIVERGENCE, "$.nextLink")]


def test_date_time_and_uuid_formats(library: SpecLibrary) -> None:
    path = f"{SUB}/providers/Microsoft.Authorization/roleAssignments/a6d4c4a3-7a0e-4d4c-9c6a-1f1c0c7e2b11"
    assignment = {
        "id": path,
        "name": "a6d4c4a3-7a0e-4d4c-9c6a-1f1c0c7e2b11",
        "properties": {
            "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/r",
            "principalId": "p",
            "createdOn": "2024-05-01T10:00:00.1234567Z",
        },
    }
    assert findings(library, "GET", path, 200, assignment) == []
    for wrong in ("yesterday", "2024-13-45T00:00:00Z", "2024-05-01 10:00:00"):
        assignment["properties"]["createdOn"] = wrong
        assert kinds(findings(library, "GET", path, 200, assignment)) == [(DIVERGENCE, "$.properties.createdOn")]


def test_error_bodies_are_checked_against_the_default_response(library: SpecLibrary) -> None:
    good = {"error": {"code": "NotFound", "message": "gone"}}
    assert findings(library, "GET", CIRCUIT, 404, good) == []
    assert kinds(findings(library, "GET", CIRCUIT, 404, {"error": {"code": 404}})) == [(DIVERGENCE, "$.error.code")]
    assert kinds(findings(library, "GET", CIRCUIT, 404, {"error": {"code": "X", "httpStatus": 404}})) == [
        (EXTENSION, "$.error.httpStatus")
    ]


def test_undeclared_success_status_is_a_divergence(library: SpecLibrary) -> None:
    assert kinds(findings(library, "GET", CIRCUIT, 201, example("ExpressRouteCircuitGet"))) == [(DIVERGENCE, "$")]
    # a declared status without a schema (DELETE 202) takes any body
    assert findings(library, "DELETE", CIRCUIT, 202, None) == []


def test_a_missing_spec_file_is_reported_unchecked(library: SpecLibrary) -> None:
    path = f"{CIRCUIT}/peerings/AzurePrivatePeering"
    body = example("ExpressRouteCircuitPeeringGet")
    body["properties"]["expressRouteConnection"] = {"id": "anything"}
    found = findings(library, "GET", path, 200, body)
    assert kinds(found) == [(UNCHECKED, "$.properties.expressRouteConnection")]
    assert "virtualWan.json" in found[0].message
    assert "./virtualWan.json#/definitions/ExpressRouteConnectionId" in library.unresolved


@pytest.mark.parametrize(
    ("method", "path", "operation_id"),
    [
        ("GET", CIRCUIT, "ExpressRouteCircuits_Get"),
        ("GET", CIRCUIT.replace("resourceGroups", "resourcegroups"), "ExpressRouteCircuits_Get"),
        ("PUT", f"{SUB}/resourcegroups/rg1", "ResourceGroups_CreateOrUpdate"),
        ("GET", f"{CIRCUIT}/providers/Microsoft.Resources/tags/default", "Tags_GetAtScope"),
        ("GET", f"{SUB}/resourceGroups/rg1/providers/Microsoft.Example/things/t1", "Resources_Get"),
        ("GET", f"{SUB}/resourceGroups/rg1/providers/Microsoft.Example/things/t1/parts/p1", "Resources_Get"),
        (
            "GET",
            f"{SUB}/resourceGroups/rg1/providers/Microsoft.Authorization/roleAssignments",
            "RoleAssignments_ListForResourceGroup",
        ),
        ("GET", f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/abc", "RoleDefinitions_Get"),
        ("POST", f"{CIRCUIT}/peerings/AzurePrivatePeering/arpTables/primary", "ExpressRouteCircuits_ListArpTable"),
        ("GET", "/providers/Microsoft.Authorization/roleDefinitions/abc", "RoleDefinitions_Get"),  # tenant scope
        ("GET", f"{SUB}/providers/Microsoft.Network/locations/westus/operations/op1", "NetworkAsyncOperationStatus"),
    ],
)
def test_paths_find_their_operation(library: SpecLibrary, method: str, path: str, operation_id: str) -> None:
    operation = library.operation_for(method, path)
    assert operation is not None and operation.operation_id == operation_id


def test_network_operation_status_bodies(library: SpecLibrary) -> None:
    """Azure-AsyncOperation status: network.json's AzureAsyncOperationResult (no path in the spec)."""
    path = f"{SUB}/providers/Microsoft.Network/locations/westus/operations/op1"
    assert findings(library, "GET", path, 200, {"status": "Succeeded"}) == []
    failed = {"status": "Failed", "error": {"code": "X", "message": "m", "details": [{"code": "Y"}]}}
    assert findings(library, "GET", path, 200, failed) == []
    assert kinds(findings(library, "GET", path, 200, {"status": True})) == [(DIVERGENCE, "$.status")]


def test_errors_on_paths_without_an_operation_use_arm_error_envelope(library: SpecLibrary) -> None:
    path = f"{SUB}/resourceGroups/rg1/providers/Microsoft.Network/expressRouteCircuits"
    good = {"method": "PUT", "path": path, "status": 405, "body": {"error": {"code": "X", "message": "m"}}}
    bad = {**good, "body": {"error": "X"}}
    report = library.validate([good, bad])
    assert report.validated == 2 and report.operations["ArmErrorResponse"] == 2
    assert [(f.kind, f.where) for f in report.findings] == [(DIVERGENCE, "$.error")]


def test_a_long_running_post_result_is_checked_against_the_post(library: SpecLibrary) -> None:
    """POST arpTables answers 202 + Location; the Location's final 200 is the POST's result."""
    post = f"{CIRCUIT}/peerings/AzurePrivatePeering/arpTables/primary"
    result = f"{SUB}/providers/Microsoft.Network/locations/westus/operationResults/op1"
    table = example("ExpressRouteCircuitARPTableList")
    records = [
        {"method": "POST", "path": post, "status": 202, "location": f"https://host{result}?api-version=x"},
        {"method": "GET", "path": result, "status": 202},
        {"method": "GET", "path": result, "status": 200, "body": table},
    ]
    report = library.validate(records)
    assert report.with_body[("ExpressRouteCircuits_ListArpTable", 200)] == 1 and not report.findings
    table["value"][0]["age"] = "old"  # an integer in the schema
    report = library.validate(records)
    assert [(f.kind, f.where) for f in report.findings] == [(DIVERGENCE, "$.value[0].age")]


def test_types_of_a_described_namespace_are_not_judged_as_generic_resources(library: SpecLibrary) -> None:
    """Microsoft.Network types the local files lack are counted, not judged as GenericResource
    (Microsoft.Authorization and .Resources named templates do not make every type specified)."""
    assert "microsoft.network" in library.specified_namespaces
    vnet = f"{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v1"
    assert library.operation_for("GET", vnet) is None
    assert library.operation_for("GET", f"{vnet}/subnets") is None
    other = library.operation_for("GET", f"{SUB}/resourceGroups/rg1/providers/Microsoft.Example/things/t1")
    assert other is not None and other.operation_id == "Resources_Get"


def test_operations_without_a_spec_are_counted(library: SpecLibrary) -> None:
    records = [
        {"method": "GET", "path": f"{SUB}/providers/Microsoft.Network/expressRoutePorts", "status": 200, "body": {}},
        {"method": "GET", "path": "/subscriptions", "status": 200, "body": {"value": []}},
        {"method": "GET", "path": CIRCUIT, "status": 200, "body": example("ExpressRouteCircuitGet")},
    ]
    report = library.validate(records)
    assert report.validated == 1 and sum(report.no_spec.values()) == 2
    assert "2 responses of 2 operations without a spec here" in report.summary()


def test_spec_files_that_leave_the_local_tree_are_found(library: SpecLibrary, tmp_path: Path) -> None:
    """The files keep upstream references (../../../../../common-types/...): found by their tail."""
    operation = library.operation_for("GET", f"{SUB}/providers/Microsoft.Authorization/roleAssignments")
    assert operation is not None
    found = library.check(operation, 500, {"error": {"code": "X", "details": [{"code": 1}]}})
    assert kinds(found) == [(DIVERGENCE, "$.error.details[0].code")]


def test_uuid_format_is_checked() -> None:
    """No local spec uses ``format: uuid`` today; one that does
    is checked at once."""
    from tests.support.spec_schema import _FORMATS

    assert _FORMATS.conforms("a6d4c4a3-7a0e-4d4c-9c6a-1f1c0c7e2b11", "uuid")
    assert not _FORMATS.conforms("not-a-uuid", "uuid")


def test_a_body_seen_again_is_reported_for_each_response_that_sent_it(library: SpecLibrary) -> None:
    """The same (operation, status, body) is checked once, but each response is named."""
    body = example("ExpressRouteCircuitGet")
    body["properties"]["serviceProviderProperties"]["bandwidthInMbps"] = "fast"
    records = [
        {"method": "GET", "path": CIRCUIT, "api_version": "2024-07-01", "status": 200, "body": body},
        {
            "method": "GET",
            "path": CIRCUIT.replace("er1", "er2"),
            "api_version": "2023-09-01",
            "status": 200,
            "body": body,
        },
        {"method": "GET", "path": CIRCUIT, "status": 200, "body": example("ExpressRouteCircuitGet")},
    ]
    report = library.validate(records)
    assert [(f.request, f.where) for f in report.findings] == [
        (f"GET {CIRCUIT}?api-version=2024-07-01", "$.properties.serviceProviderProperties.bandwidthInMbps"),
        (
            f"GET {CIRCUIT.replace('er1', 'er2')}?api-version=2023-09-01",
            "$.properties.serviceProviderProperties.bandwidthInMbps",
        ),
    ]
    blocks = report.failure_blocks()
    assert blocks.startswith("DIVERGENCE: ExpressRouteCircuits_Get, status 200 (seen 2 times; the first below)\n")
    assert f"  response to: GET {CIRCUIT}?api-version=2024-07-01\n" in blocks


def test_a_failure_block_cuts_a_long_problem() -> None:
    long = Finding(DIVERGENCE, "Op_Get", 200, "$.properties", "{'a': '" + "x" * 5000 + "'} is not of type 'string'")
    block = long.block()
    assert block.splitlines()[0] == "DIVERGENCE: Op_Get, status 200" and len(block) < 600
    assert block.endswith(" ...")
