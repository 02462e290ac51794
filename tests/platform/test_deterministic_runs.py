"""``crossconnect serve --seed N``: two fresh servers with the same seed, the same port and the same
``--clock-start`` answer the same sequence of requests from the real SDK byte for byte (status,
request ids, ETags, polling URLs, bodies), and hand out the same seeded credentials. Another seed,
or none, gives other values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.identity import ClientSecretCredential

from tests.support import Server, free_port
from tests.support.network import PRIVATE, XC_GROUP, circuit_body, peering
from tests.support.platform import ServerFactory, dedicated_servers

START = "2026-01-01T00:00:00Z"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"  # the built-in Reader role
ASSIGNMENT = "6f1b9c52-0d8e-4c6f-9a53-3f3a0c1f2b7e"  # role assignment names are the client's to choose
HEADERS = ("x-ms-request-id", "etag", "azure-asyncoperation", "location", "retry-after", "content-type")


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


class Recorder:
    """Every response the SDK receives (polls included), in order: what a recorded expectation holds."""

    def __init__(self) -> None:
        self.exchanges: list[dict[str, Any]] = []

    def __call__(self, response: Any) -> None:
        request, http = response.http_request, response.http_response
        self.exchanges.append(
            {
                "request": f"{request.method} {request.url}",
                "status": http.status_code,
                "headers": {name: http.headers[name] for name in HEADERS if name in http.headers},
                "body": http.body().decode("utf-8"),
            }
        )

    def dump(self) -> bytes:
        return json.dumps(self.exchanges, indent=1).encode()


def _credential(server: Server, role: str) -> ClientSecretCredential:
    p = server.env[role]
    return ClientSecretCredential(
        server.tenant_for(role), p["client_id"], p["client_secret"], authority=server.base_url,
        disable_instance_discovery=True, connection_verify=server.ca,
    )  # fmt: skip


def _client(cls: Any, server: Server, role: str, recorder: Recorder, **extra: Any) -> Any:
    return cls(
        _credential(server, role),
        server.subscription(role if role != "admin" else "partner"),
        base_url=server.base_url,
        connection_verify=server.ca,
        raw_response_hook=recorder,
        **extra,
    )


def seed_workflow(server: Server) -> Recorder:
    """The partner's integration, as the seed describes it: a customer orders a circuit, the
    partner finds its cross connection by service key, provisions it, configures private peering
    and troubleshoots (ARP table, route tables); the admin grants a role."""
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    recorder = Recorder()
    customer = _client(NetworkManagementClient, server, "customer", recorder, polling_interval=0.1)
    partner = _client(NetworkManagementClient, server, "partner", recorder, polling_interval=0.1)
    _client(ResourceManagementClient, server, "customer", recorder).resource_groups.create_or_update(
        "customer-rg", {"location": "westus"}
    )
    circuit = customer.express_route_circuits.begin_create_or_update("customer-rg", "er1", circuit_body(50)).result()
    found = [x for x in partner.express_route_cross_connections.list() if x.name == circuit.service_key]
    assert len(found) == 1
    xc = partner.express_route_cross_connections.get(XC_GROUP, found[0].name)
    xc.service_provider_provisioning_state = "Provisioned"
    partner.express_route_cross_connections.begin_create_or_update(XC_GROUP, xc.name, xc).result()
    peerings = partner.express_route_cross_connection_peerings
    peerings.begin_create_or_update(XC_GROUP, xc.name, "AzurePrivatePeering", peering(PRIVATE)).result()
    list(peerings.list(XC_GROUP, xc.name))
    ops = partner.express_route_cross_connections
    ops.begin_list_arp_table(XC_GROUP, xc.name, "AzurePrivatePeering", "primary").result()
    ops.begin_list_routes_table_summary(XC_GROUP, xc.name, "AzurePrivatePeering", "primary").result()
    ops.begin_list_routes_table(XC_GROUP, xc.name, "AzurePrivatePeering", "secondary").result()
    customer.express_route_circuits.get("customer-rg", "er1")
    authorization = _client(AuthorizationManagementClient, server, "admin", recorder)
    scope = f"/subscriptions/{server.subscription('partner')}"
    authorization.role_assignments.create(
        scope,
        ASSIGNMENT,
        {
            "role_definition_id": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
            "principal_id": server.env["customer"]["object_id"],
            "principal_type": "ServicePrincipal",
        },
    )
    list(authorization.role_assignments.list_for_subscription())
    return recorder


def _credentials_file(server: Server) -> bytes:
    return (server.data_dir / "credentials.json").read_bytes()


def test_the_same_seed_repeats_a_run_byte_for_byte(servers: ServerFactory, tmp_path: Path) -> None:
    port = free_port()
    runs = []
    for name in ("first", "second"):
        server = servers.start("--seed", "42", "--clock-start", START, name=name, port=port)
        recorded = seed_workflow(server).dump()
        runs.append((recorded, _credentials_file(server)))
        server.stop()
        (tmp_path / f"{name}.json").write_bytes(recorded)
    (first, first_credentials), (second, second_credentials) = runs
    assert first_credentials == second_credentials
    assert first == second, "the two runs differ: compare first.json and second.json in " + str(tmp_path)
    exchanges = json.loads(first)
    print(f"\n{len(exchanges)} responses, {len(first)} bytes, sha256 {hashlib.sha256(first).hexdigest()}")
    # what repeats is what a recorded expectation needs: every request id, ETag and polling URL
    ids = [e["headers"]["x-ms-request-id"] for e in exchanges]
    assert len(set(ids)) == len(ids) > 20
    assert sum("etag" in e["headers"] for e in exchanges) >= 3
    assert any("azure-asyncoperation" in e["headers"] for e in exchanges)
    assert all(e["status"] < 400 for e in exchanges)


def _service_key_and_request_id(server: Server) -> tuple[str, str, str]:
    recorder = seed_circuit(server)
    created = next(
        e for e in recorder.exchanges if e["request"].startswith("PUT") and "expressRouteCircuits" in e["request"]
    )
    return (
        json.loads(created["body"])["properties"]["serviceKey"],
        created["headers"]["x-ms-request-id"],
        server.env["partner"]["client_secret"],
    )


def seed_circuit(server: Server) -> Recorder:
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    recorder = Recorder()
    _client(ResourceManagementClient, server, "customer", recorder).resource_groups.create_or_update(
        "customer-rg", {"location": "westus"}
    )
    customer = _client(NetworkManagementClient, server, "customer", recorder, polling_interval=0.1)
    customer.express_route_circuits.begin_create_or_update("customer-rg", "er1", circuit_body(50)).result()
    return recorder


def test_another_seed_or_none_gives_other_values(servers: ServerFactory) -> None:
    port = free_port()
    values = {}
    for name, args in (("seed-42", ["--seed", "42"]), ("seed-43", ["--seed", "43"]), ("none-1", []), ("none-2", [])):
        server = servers.start(*args, name=name, port=port)
        values[name] = _service_key_and_request_id(server)
        server.stop()
    service_keys = [v[0] for v in values.values()]
    request_ids = [v[1] for v in values.values()]
    secrets = [v[2] for v in values.values()]
    for seen in (service_keys, request_ids, secrets):
        assert len(set(seen)) == len(seen), seen


def test_a_reset_restarts_the_seeded_values(servers: ServerFactory) -> None:
    server = servers.start("--seed", "7", "--clock-start", START)
    first = seed_circuit(server).dump()
    server.reset()
    again = seed_circuit(server).dump()
    assert first == again
