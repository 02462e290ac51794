"""Two replicas on one PostgreSQL database, hit at once: every invariant holds under any
interleaving of requests across replicas (on SQLite, the one server that owns the file, hit the
same way).

Each test fires ≥ 100 concurrent requests over HTTPS (threads, spread round-robin over both
replicas), then reads the invariants back through the API: the devices API, the provider-ports
(placement) API, the circuit and cross-connection lists, the peering lists of both views and the
role-assignment list. The answers must be what ARM gives one caller after another: one 201 per
new resource, then 200 / 409 / 412, never a 500.
"""

from __future__ import annotations

import collections
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support import Server, require_postgres, running_replicas
from tests.support.network import API, GROUP, MICROSOFT, PRIVATE, PROVIDER, XC_GROUP, circuit_body
from tests.support.rbac import ROLE_IDS

pytestmark = pytest.mark.slow

WORKERS = 32
LOCATION = "Area51"


@dataclass(frozen=True)
class Call:
    """One request of a race: ``replica`` picks the server (round-robin when firing)."""

    role: str
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] | None = None
    api_version: str = API


class Cluster:
    """Both replicas and an HTTPS client per (replica, role), shared by the firing threads."""

    def __init__(self, servers: tuple[Server, Server]) -> None:
        self.servers = servers
        self._clients: dict[tuple[int, str], httpx.Client] = {}

    def client(self, replica: int, role: str) -> httpx.Client:
        key = (replica, role)
        if key not in self._clients:
            server = self.servers[replica]
            self._clients[key] = httpx.Client(
                base_url=server.base_url,
                verify=server.tls(),
                headers={"Authorization": f"Bearer {server.token(role)}"},
                timeout=120,
                limits=httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS),
            )
        return self._clients[key]

    def send(self, replica: int, call: Call) -> httpx.Response:
        params = {"api-version": call.api_version} if call.api_version else None
        return self.client(replica, call.role).request(
            call.method, call.path, params=params, json=call.body, headers=call.headers
        )

    def fire(self, calls: list[Call]) -> list[httpx.Response]:
        """All calls at once from WORKERS threads, call i to replica i % 2; answers in call order."""
        for replica in (0, 1):  # tokens and connections first, so the race is between requests
            for role in {c.role for c in calls}:
                self.client(replica, role)
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(lambda ic: self.send(ic[0] % 2, ic[1]), enumerate(calls)))

    def race(self, calls: list[Call]) -> tuple[list[httpx.Response], collections.Counter[str]]:
        """``fire``, then: never a 500; the answers and their distribution (printed)."""
        responses = self.fire(calls)
        failed = [(r.status_code, r.text[:300]) for r in responses if r.status_code >= 500]
        assert not failed, failed
        return responses, answers(responses)

    def get(self, role: str, path: str, replica: int = 0, **params: str) -> Any:
        r = self.client(replica, role).get(path, params={"api-version": API, **params})
        assert r.status_code == 200, r.text
        return r.json()

    def list_all(self, role: str, path: str, replica: int = 0) -> list[dict[str, Any]]:
        """Every item of an ARM list, following nextLink verbatim."""
        items: list[dict[str, Any]] = []
        r = self.client(replica, role).get(path, params={"api-version": API})
        while True:
            assert r.status_code == 200, r.text
            items += r.json()["value"]
            next_link = r.json().get("nextLink")
            if not next_link:
                return items
            r = self.client(replica, role).get(next_link)

    def operator(self, path: str, replica: int = 0) -> Any:
        r = self.client(replica, "operator").get(f"/_crossconnect{path}")
        assert r.status_code == 200, r.text
        return r.json()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


@pytest.fixture(scope="module")
def module_replicas(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Server, Server]]:
    """The ``replicas`` of conftest.py, started once for this module (each test resets them).
    SQLite: a SQLite store belongs to one server process, so both "replicas" are that one
    server: the same races, the same invariants, on the same code path."""
    if backend == "sqlite":
        server = request.getfixturevalue("session_server")
        yield server, server
        return
    require_postgres()
    with running_replicas(tmp_path_factory.mktemp("replicas")) as pair:
        yield pair


@pytest.fixture
def cluster(module_replicas: tuple[Server, Server]) -> Iterator[Cluster]:
    module_replicas[1].reset()  # the seeded setup, through the second replica: both see it at once
    c = Cluster(module_replicas)
    try:
        yield c
    finally:
        c.close()


def answers(responses: list[httpx.Response]) -> collections.Counter[str]:
    """The distribution of answers: status, and the error code where there is one."""
    out: collections.Counter[str] = collections.Counter()
    for r in responses:
        code = ""
        if r.status_code >= 400 and r.headers.get("content-type", "").startswith("application/json"):
            code = " " + str(r.json().get("error", {}).get("code", ""))
        out[f"{r.status_code}{code}"] += 1
    print(f"answers: {dict(sorted(out.items()))}")
    return out


# -- paths ---------------------------------------------------------------------------------------


def circuits_path(cluster: Cluster) -> str:
    sub = cluster.servers[0].subscription("customer")
    return f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRouteCircuits"


def cross_connections_path(cluster: Cluster) -> str:
    sub = cluster.servers[0].subscription("partner")
    return f"/subscriptions/{sub}/providers/Microsoft.Network/expressRouteCrossConnections"


def xc_path(cluster: Cluster, service_key: str) -> str:
    sub = cluster.servers[0].subscription("partner")
    return (
        f"/subscriptions/{sub}/resourceGroups/{XC_GROUP}/providers/Microsoft.Network/"
        f"expressRouteCrossConnections/{service_key}"
    )


def make_group(cluster: Cluster, group: str = GROUP, subscription_role: str = "customer") -> None:
    sub = cluster.servers[0].subscription(subscription_role)
    r = cluster.client(0, "admin").put(
        f"/subscriptions/{sub}/resourceGroups/{group}",
        params={"api-version": "2021-04-01"},
        json={"location": "westus"},
    )
    assert r.status_code in (200, 201), r.text


def wait_settled(cluster: Cluster, timeout: float = 60) -> None:
    """Until every circuit and peering is out of Updating/Deleting: both reconcilers at work."""
    deadline = time.time() + timeout
    while True:
        circuits = cluster.list_all("customer", circuits_path(cluster))
        busy = [
            c["name"]
            for c in circuits
            if c["properties"]["provisioningState"] in ("Updating", "Deleting")
            or any(
                p["properties"]["provisioningState"] in ("Updating", "Deleting") for p in c["properties"]["peerings"]
            )
        ]
        if not busy:
            return
        assert time.time() < deadline, f"operations never finished: {busy}"
        time.sleep(0.2)


def provisioned_circuits(cluster: Cluster, prefix: str, count: int = 25) -> list[str]:
    """``count`` circuits ``<prefix>-00``… created at once and provisioned by the partner (peerings
    can be configured); their service keys."""
    path = circuits_path(cluster)
    creates = cluster.fire(
        [Call("customer", "PUT", f"{path}/{prefix}-{i:02d}", circuit_body(50)) for i in range(count)]
    )
    assert [r.status_code for r in creates] == [201] * count, answers(creates)
    keys = [r.json()["properties"]["serviceKey"] for r in creates]
    provisioned = {"properties": {"serviceProviderProvisioningState": "Provisioned"}}
    provision = cluster.fire([Call("partner", "PUT", xc_path(cluster, key), provisioned) for key in keys])
    assert [r.status_code for r in provision] == [200] * count, answers(provision)
    wait_settled(cluster)
    return keys


# -- the fabric invariants, read back through the API ------------------------------------------------


def check_fabric(cluster: Cluster) -> dict[str, int]:
    """Capacity, s-tags and the circuit ↔ cross-connection link, as every API reports them:
    - each port pair's used bandwidth (devices API) is at most its capacity, and equals the sum of
      the bandwidths of the cross connections placed on it, and the provider-ports API agrees;
    - s-tags are unique per port pair;
    - every circuit has exactly one cross connection and every cross connection's circuit exists.
    Returns the used bandwidth per port pair."""
    circuits = cluster.list_all("customer", circuits_path(cluster))
    xcs = cluster.list_all("partner", cross_connections_path(cluster))
    by_key = collections.Counter(c["properties"]["serviceKey"] for c in circuits)
    assert all(n == 1 for n in by_key.values()), by_key
    circuit_ids = {c["id"].lower(): c for c in circuits}
    xc_names = collections.Counter(x["name"] for x in xcs)
    assert all(n == 1 for n in xc_names.values()), xc_names
    assert set(xc_names) == set(by_key), "every circuit has its cross connection and no cross connection is orphaned"
    for xc in xcs:
        circuit = circuit_ids[xc["properties"]["expressRouteCircuit"]["id"].lower()]
        assert circuit["properties"]["serviceKey"] == xc["name"]
        assert circuit["properties"]["stag"] == xc["properties"]["sTag"]
    placed: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for xc in xcs:
        p = xc["properties"]
        placed[(p["primaryAzurePort"], p["secondaryAzurePort"])].append(p)
    devices = [d for d in cluster.operator(f"/devices?location={LOCATION}")["value"] if d["provider"] == PROVIDER]
    sub = cluster.servers[0].subscription("partner")
    provider_ports = {
        p["name"]: p["properties"]
        for p in cluster.get("partner", f"/subscriptions/{sub}/providers/Microsoft.Network/expressRouteProviderPorts")[
            "value"
        ]
    }
    used: dict[str, int] = {}
    for pair in devices:
        on_pair = placed.pop((pair["primaryAzurePort"], pair["secondaryAzurePort"]), [])
        capacity = pair["portBandwidthInMbps"] * pair["overprovisionFactor"]
        held = sum(p["bandwidthInMbps"] for p in on_pair)
        s_tags = [p["sTag"] for p in on_pair]
        name = pair["portPairDescriptor"]
        assert held <= capacity, f"{name} holds {held} Mbps on {capacity}"
        assert pair["usedBandwidthInMbps"] == held, (
            f"{name}: devices API says {pair['usedBandwidthInMbps']}, circuits hold {held}"
        )
        assert pair["remainingBandwidthInMbps"] == capacity - held
        assert pair["circuits"] == len(on_pair)
        assert len(set(s_tags)) == len(s_tags), f"{name}: duplicate s-tags {sorted(s_tags)}"
        assert provider_ports[name]["usedBandwidthInMbps"] == held
        used[name] = held
    assert not placed, f"cross connections on ports no pair has: {list(placed)}"
    return used


# -- the races -----------------------------------------------------------------------------------


def test_circuit_creates_at_a_full_location_never_overfill_a_port_pair(cluster: Cluster) -> None:
    """120 × 1 Gbps at a location with room for 80 (two pairs of 2 × 10 Gbps × 4): 80 are placed,
    40 are refused, each pair holds what the devices API says, s-tags stay unique."""
    make_group(cluster)
    path = circuits_path(cluster)
    calls = [Call("customer", "PUT", f"{path}/race-{i:03d}", circuit_body(1000)) for i in range(120)]
    responses, got = cluster.race(calls)
    assert got == {"201": 80, "400 ExpressRoutePortCapacityExhausted": 40}
    wait_settled(cluster)
    used = check_fabric(cluster)
    assert sorted(used.values()) == [40_000, 40_000]
    circuits = cluster.list_all("customer", path)
    assert len(circuits) == 80
    assert {c["properties"]["provisioningState"] for c in circuits} == {"Succeeded"}


def test_one_circuit_name_created_at_once_gives_one_201(cluster: Cluster) -> None:
    """100 PUTs of one name: one 201, the rest 200 (same service key) or 409 while the first's
    operation runs; with If-None-Match: * the rest are 412. Deleting leaves no orphan."""
    make_group(cluster)
    path = circuits_path(cluster)
    body = circuit_body(200)
    responses, got = cluster.race([Call("customer", "PUT", f"{path}/contended", body) for _ in range(100)])
    assert got["201"] == 1, got
    assert set(got) <= {"201", "200", "409 AnotherOperationInProgress"}, got
    service_keys = {r.json()["properties"]["serviceKey"] for r in responses if r.status_code in (200, 201)}
    assert len(service_keys) == 1, "every success describes the one circuit"

    guarded = [Call("customer", "PUT", f"{path}/guarded", body, {"If-None-Match": "*"}) for _ in range(100)]
    responses, got = cluster.race(guarded)
    assert got == {"201": 1, "412 PreconditionFailed": 99}

    wait_settled(cluster)
    used = check_fabric(cluster)
    assert sum(used.values()) == 400
    assert sorted(c["name"] for c in cluster.list_all("customer", path)) == ["contended", "guarded"]

    # the customer deletes both (racing deletes as well): nothing is left behind, no list answers 500
    deletes = [Call("customer", "DELETE", f"{path}/{name}") for name in ("contended", "guarded") for _ in range(50)]
    responses, got = cluster.race(deletes)
    assert set(got) <= {"202", "204", "409 AnotherOperationInProgress"}, got
    deadline = time.time() + 60
    while cluster.list_all("customer", path):
        assert time.time() < deadline
        time.sleep(0.2)
    assert cluster.list_all("partner", cross_connections_path(cluster)) == []
    assert sum(check_fabric(cluster).values()) == 0


def test_two_peerings_on_one_vlan_at_once_one_wins(cluster: Cluster) -> None:
    """On each of 25 provisioned circuits, private and Microsoft peering on the same vlanId, each
    from the customer's circuit and from the partner's cross connection, all at once (100
    requests): per circuit one peering is created, its twin answers 200/409, the other type 400
    VlanIdInUse; no circuit ends with two peerings on one VLAN."""
    make_group(cluster)
    path = circuits_path(cluster)
    keys = provisioned_circuits(cluster, "vlan")

    calls = []
    for i, key in enumerate(keys):
        vlan = 300 + i
        for name, props in (("AzurePrivatePeering", PRIVATE), ("MicrosoftPeering", MICROSOFT)):
            body = {"properties": {**props, "vlanId": vlan}}
            calls.append(Call("customer", "PUT", f"{path}/vlan-{i:02d}/peerings/{name}", body))
            calls.append(Call("partner", "PUT", f"{xc_path(cluster, key)}/peerings/{name}", body))
    responses, got = cluster.race(calls)
    assert got["201"] == 25 and got["400 VlanIdInUse"] == 50, got
    assert set(got) <= {"201", "200", "409 AnotherOperationInProgress", "400 VlanIdInUse"}, got
    for i in range(25):
        per_circuit = collections.Counter(
            answers_key(r)
            for r in responses[4 * i : 4 * i + 4]  # private ×2, Microsoft ×2
        )
        assert per_circuit["201"] == 1 and per_circuit["400 VlanIdInUse"] == 2, (i, per_circuit)
    wait_settled(cluster)
    for i, key in enumerate(keys):
        from_circuit = cluster.list_all("customer", f"{path}/vlan-{i:02d}/peerings")
        from_xc = cluster.list_all("partner", f"{xc_path(cluster, key)}/peerings")
        for peerings in (from_circuit, from_xc):
            vlans = [p["properties"]["vlanId"] for p in peerings]
            assert vlans == [300 + i], (i, [(p["name"], p["properties"]["vlanId"]) for p in peerings])
        assert [p["name"] for p in from_circuit] == [p["name"] for p in from_xc]


def answers_key(r: httpx.Response) -> str:
    if r.status_code >= 400:
        return f"{r.status_code} {r.json()['error']['code']}"
    return str(r.status_code)


def test_identical_role_assignments_at_once_give_one_assignment(cluster: Cluster) -> None:
    """100 PUTs of the same principal, role and scope under 100 names: one 201, 99 × 409
    RoleAssignmentExists; 100 PUTs of one name: one 201, 99 × 200. One assignment each."""
    make_group(cluster, group="race-rg", subscription_role="partner")
    sub = cluster.servers[0].subscription("partner")
    scope = f"/subscriptions/{sub}/resourceGroups/race-rg"
    principal = cluster.servers[0].env["partner"]["object_id"]

    def body(role: str) -> dict[str, Any]:
        role_id = f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_IDS[role]}"
        return {
            "properties": {"roleDefinitionId": role_id, "principalId": principal, "principalType": "ServicePrincipal"}
        }

    assignments = f"{scope}/providers/Microsoft.Authorization/roleAssignments"
    many_names = [Call("admin", "PUT", f"{assignments}/{uuid.uuid4()}", body("Reader"), api_version="2022-04-01") for _ in range(100)]  # fmt: skip
    responses, got = cluster.race(many_names)
    assert got == {"201": 1, "409 RoleAssignmentExists": 99}

    one_name = str(uuid.uuid4())
    same = [Call("admin", "PUT", f"{assignments}/{one_name}", body("Contributor"), api_version="2022-04-01")] * 100
    responses, got = cluster.race(same)
    assert got == {"201": 1, "200": 99}

    for replica in (0, 1):
        r = cluster.client(replica, "admin").get(
            assignments, params={"api-version": "2022-04-01", "$filter": f"principalId eq '{principal}'"}
        )
        assert r.status_code == 200, r.text
        at_scope = [a["properties"] for a in r.json()["value"] if a["properties"]["scope"].lower() == scope.lower()]
        roles = collections.Counter(a["roleDefinitionId"].rsplit("/", 1)[1] for a in at_scope)
        assert roles == {ROLE_IDS["Reader"]: 1, ROLE_IDS["Contributor"]: 1}, roles


def test_stored_documents_changed_at_once_never_500_nor_lose_a_change(cluster: Cluster) -> None:
    """Documents kept whole in the store (a circuit's lab edge declaration, the fault list) are read,
    changed and written back. 60 edge declarations of a fresh circuit and 60 fail-next faults on 60
    resources, from both replicas at once: the first writes race to create the document (never a
    500), and every fault is still there at the end (no write overwrote another's change)."""
    make_group(cluster)
    r = cluster.client(0, "customer").put(
        f"{circuits_path(cluster)}/edge-race", params={"api-version": API}, json=circuit_body(50)
    )
    assert r.status_code == 201, r.text
    key = r.json()["properties"]["serviceKey"]
    peering_types = ("AzurePrivatePeering", "MicrosoftPeering")
    edge = [
        Call("operator", "PUT", f"/_crossconnect/lab/circuits/{key}/edge/{('primary', 'secondary')[i % 2]}",
             {"peerings": {peering_types[(i // 2) % 2]: {"cTag": 100 + i}}}, api_version="")
        for i in range(60)
    ]  # fmt: skip
    targets = [f"/subscriptions/{uuid.uuid4()}/resourceGroups/rg/providers/Microsoft.Network/x/{i}" for i in range(60)]
    fail_next = [
        Call(
            "operator", "POST", "/_crossconnect/faults-fail-next", {"resourceId": t, "code": "Injected"}, api_version=""
        )
        for t in targets
    ]
    calls = [c for pair in zip(edge, fail_next, strict=True) for c in pair]
    responses, got = cluster.race(calls)
    assert got == {"200": 120}
    declared = cluster.operator(f"/lab/circuits/{key}/edge", replica=1)["declared"]
    for link in ("primary", "secondary"):
        assert set(declared[link]["peerings"]) == set(peering_types), declared
    faults = cluster.operator("/faults", replica=1)
    assert set(faults["failNext"]) == {t.lower() for t in targets}


def test_route_filter_rules_and_attachments_at_once(cluster: Cluster) -> None:
    """A route filter holds one rule: 100 rules of other names PUT at once give one 201 and 99 × 400
    RouteFilterCanHaveOnlyOneRule. Then Microsoft peerings attaching the filter on 25 circuits race
    75 DELETEs of the filter: a filter in use is never deleted — afterwards either the filter is
    there and holds every attachment, or it is gone and no peering names it."""
    make_group(cluster)
    make_group(cluster, group="filters-rg")
    sub = cluster.servers[0].subscription("customer")
    filter_path = f"/subscriptions/{sub}/resourceGroups/filters-rg/providers/Microsoft.Network/routeFilters/shared"
    r = cluster.client(0, "customer").put(filter_path, params={"api-version": API}, json={"location": "westus"})
    assert r.status_code == 201, r.text
    rule = {"properties": {"access": "Allow", "routeFilterRuleType": "Community", "communities": ["12076:5010"]}}
    rules = [Call("customer", "PUT", f"{filter_path}/routeFilterRules/rule{i}", rule) for i in range(100)]
    responses, got = cluster.race(rules)
    assert got == {"201": 1, "400 RouteFilterCanHaveOnlyOneRule": 99}
    assert len(cluster.list_all("customer", f"{filter_path}/routeFilterRules")) == 1

    path = circuits_path(cluster)
    provisioned_circuits(cluster, "rf")
    attach = {"properties": {**MICROSOFT, "routeFilter": {"id": filter_path}}}
    calls = []
    for i in range(25):
        calls.append(Call("customer", "PUT", f"{path}/rf-{i:02d}/peerings/MicrosoftPeering", attach))
        calls += [Call("customer", "DELETE", filter_path)] * 3
    responses, got = cluster.race(calls)
    assert set(got) <= {
        "201", "400 InvalidResourceReference", "202", "204", "409 AnotherOperationInProgress",
        "400 InUseRouteFilterCannotBeDeleted",
    }, got  # fmt: skip
    wait_settled(cluster)
    deadline = time.time() + 30
    while True:  # the filter's own delete operation, if one started, finishes
        r = cluster.client(1, "customer").get(filter_path, params={"api-version": API})
        if r.status_code == 404 or r.json()["properties"]["provisioningState"] != "Deleting":
            break
        assert time.time() < deadline
        time.sleep(0.2)
    attached = [
        i
        for i in range(25)
        for p in cluster.list_all("customer", f"{path}/rf-{i:02d}/peerings")
        if (p["properties"].get("routeFilter") or {}).get("id", "").lower() == filter_path.lower()
    ]
    if r.status_code == 404:
        assert attached == [], "a deleted filter is still attached"
    else:
        assert r.status_code == 200, r.text
        listed = [p["id"].split("/")[-3] for p in r.json()["properties"].get("peerings", [])]
        assert sorted(listed) == [f"rf-{i:02d}" for i in attached]


def test_global_reach_both_directions_at_once_one_connection_per_pair(cluster: Cluster) -> None:
    """On 10 pairs of provisioned circuits with private peerings, each circuit connects to the
    other at the same moment (20 requests, from both replicas): per pair one 201, the other 400
    GlobalReachConnectionAlreadyExists; every pair ends with exactly one connection, seen from
    both sides (connections on one, peerConnections on the other)."""
    make_group(cluster)
    path = circuits_path(cluster)
    provisioned_circuits(cluster, "gr", count=20)
    peerings = cluster.fire(
        [
            Call("customer", "PUT", f"{path}/gr-{i:02d}/peerings/AzurePrivatePeering", {"properties": PRIVATE})
            for i in range(20)
        ]
    )
    assert [r.status_code for r in peerings] == [201] * 20, answers(peerings)
    wait_settled(cluster)

    def private(i: int) -> str:
        return f"{path}/gr-{i:02d}/peerings/AzurePrivatePeering"

    calls = []
    for pair in range(10):
        a, b = 2 * pair, 2 * pair + 1
        for me, peer in ((a, b), (b, a)):
            body = {
                "properties": {"peerExpressRouteCircuitPeering": {"id": private(peer)}, "addressPrefix": "10.0.0.0/29"}
            }
            calls.append(Call("customer", "PUT", f"{private(me)}/connections/to-{peer:02d}", body))
    responses, got = cluster.race(calls)
    assert got == collections.Counter({"201": 10, "400 GlobalReachConnectionAlreadyExists": 10}), got
    wait_settled(cluster)
    for pair in range(10):
        a, b = 2 * pair, 2 * pair + 1
        own = [cluster.list_all("customer", f"{private(i)}/connections") for i in (a, b)]
        peered = [cluster.list_all("customer", f"{private(i)}/peerConnections") for i in (a, b)]
        assert sorted(len(x) for x in own) == [0, 1], (pair, own)
        assert [len(x) for x in peered] == [len(own[1]), len(own[0])], (pair, peered)


# -- ExpressRoute Direct ---------------------------------------------------------------------------


def _ports_path(cluster: Cluster) -> str:
    sub = cluster.servers[0].subscription("customer")
    return f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRoutePorts"


def _port_body(bandwidth: int = 10) -> dict[str, Any]:
    return {
        "location": "westus",
        "properties": {"peeringLocation": LOCATION, "bandwidthInGbps": bandwidth, "encapsulation": "QinQ"},
    }


def _on_port(port_id: str, gbps: int) -> dict[str, Any]:
    return {
        "location": "westus",
        "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
        "properties": {"expressRoutePort": {"id": port_id}, "bandwidthInGbps": gbps},
    }


def test_direct_ports_at_once_never_share_a_pair(cluster: Cluster) -> None:
    """30 ports of 10 Gbps at a location whose stock is two 10 Gbps pairs: 2 are created, 28 are
    refused, the two have different pairs (links) and the location offers no 10 Gbps any more."""
    make_group(cluster)
    calls = [Call("customer", "PUT", f"{_ports_path(cluster)}/port-{i:02d}", _port_body()) for i in range(30)]
    responses, got = cluster.race(calls)
    assert got == {"201": 2, "400 ExpressRoutePortsLocationOutOfStock": 28}
    created = [r.json() for r in responses if r.status_code == 201]
    interfaces = {link["properties"]["interfaceName"] for port in created for link in port["properties"]["links"]}
    assert len(interfaces) == 4
    sub = cluster.servers[0].subscription("customer")
    location = cluster.get(
        "customer", f"/subscriptions/{sub}/providers/Microsoft.Network/expressRoutePortsLocations/{LOCATION}"
    )
    assert [b["valueInGbps"] for b in location["properties"]["availableBandwidths"]] == [100]


def test_circuits_on_one_direct_port_at_once_never_overfill_it(cluster: Cluster) -> None:
    """40 × 1 Gbps circuits on one 10 Gbps port (room for 2 × 10): 20 are placed, 20 are refused,
    the port shows exactly the 20 with unique s-tags; then the port's DELETE races 20 more
    creates: either the port goes and every create is refused, or it stays with what was placed."""
    make_group(cluster)
    port_path = f"{_ports_path(cluster)}/port1"
    r = cluster.client(0, "customer").put(port_path, params={"api-version": API}, json=_port_body())
    assert r.status_code == 201, r.text
    port_id = r.json()["id"]
    path = circuits_path(cluster)
    calls = [Call("customer", "PUT", f"{path}/direct-{i:02d}", _on_port(port_id, 1)) for i in range(40)]
    responses, got = cluster.race(calls)
    assert got == {"201": 20, "400 ExpressRoutePortCapacityExhausted": 20}
    placed = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len({r.json()["properties"]["stag"] for r in responses if r.status_code == 201}) == 20
    wait_settled(cluster)
    port = cluster.get("customer", port_path, replica=1)
    assert {c["id"] for c in port["properties"]["circuits"]} == placed
    assert port["properties"]["provisionedBandwidthInGbps"] == 20

    # free the port, then race its deletion against new circuits
    deletes = cluster.fire([Call("customer", "DELETE", f"{path}/{i.rsplit('/', 1)[1]}") for i in placed])
    assert {r.status_code for r in deletes} <= {200, 202}, answers(deletes)
    deadline = time.time() + 60
    while cluster.list_all("customer", path):
        assert time.time() < deadline
        time.sleep(0.2)
    race = [Call("customer", "DELETE", port_path)] + [
        Call("customer", "PUT", f"{path}/late-{i:02d}", _on_port(port_id, 1)) for i in range(20)
    ]
    responses, got = cluster.race(race)
    assert set(got) <= {"200", "202", "201", "400 ExpressRoutePortInUseByCircuits", "400 ExpressRoutePortNotFound"}
    wait_settled(cluster)
    circuits = {c["id"] for c in cluster.list_all("customer", path)}
    r = cluster.client(1, "customer").get(port_path, params={"api-version": API})
    if r.status_code == 404:
        assert circuits == set(), "circuits on a deleted port"
    else:
        assert {c["id"] for c in r.json()["properties"]["circuits"]} == circuits


def test_puts_of_one_resource_without_if_match_are_last_writer_wins(cluster: Cluster) -> None:
    """100 PUTs of one resource group, each with its own tags and no If-Match, at once over both
    replicas: ARM applies the last writer's (no 412 without a condition; the SDK does not retry
    one). One 201, 99 × 200; what is stored is one of the writes, whole. The same for 100 PUTs of
    the group's tags (Microsoft.Resources/tags/default); 40 tag merges at once all 200, none lost. With If-Match of the ETag they all read
    first, one wins and the other 99 are 412."""
    sub = cluster.servers[0].subscription("customer")
    path = f"/subscriptions/{sub}/resourceGroups/lww-rg"
    writes = [
        Call("admin", "PUT", path, {"location": "westus", "tags": {"writer": str(i), "n": str(i)}}, api_version="2021-04-01")
        for i in range(100)
    ]  # fmt: skip
    responses, got = cluster.race(writes)
    assert got == {"201": 1, "200": 99}
    for replica in (0, 1):
        tags = cluster.client(replica, "admin").get(path, params={"api-version": "2021-04-01"}).json()["tags"]
        assert tags["writer"] == tags["n"] and int(tags["writer"]) in range(100), tags

    tags_path = f"{path}/providers/Microsoft.Resources/tags/default"
    tag_writes = [
        Call("admin", "PUT", tags_path, {"properties": {"tags": {"writer": str(i), "n": str(i)}}}, api_version="2021-04-01")
        for i in range(100)
    ]  # fmt: skip
    responses, got = cluster.race(tag_writes)
    assert got == {"200": 100}
    tags = cluster.client(1, "admin").get(path, params={"api-version": "2021-04-01"}).json()["tags"]
    assert tags["writer"] == tags["n"] and int(tags["writer"]) in range(100), tags

    # merges read, change and write back: 40 at once each keep their own tag (none is lost)
    merges = [
        Call("admin", "PATCH", tags_path, {"operation": "Merge", "properties": {"tags": {f"m{i}": "x"}}}, api_version="2021-04-01")
        for i in range(40)
    ]  # fmt: skip
    responses, got = cluster.race(merges)
    assert got == {"200": 40}
    tags = cluster.client(0, "admin").get(path, params={"api-version": "2021-04-01"}).json()["tags"]
    assert {f"m{i}" for i in range(40)} <= set(tags) and tags["writer"] == tags["n"], tags

    etag = cluster.client(0, "admin").get(path, params={"api-version": "2021-04-01"}).headers["ETag"]
    guarded = [
        Call("admin", "PUT", path, {"location": "westus", "tags": {"g": str(i)}}, {"If-Match": etag}, "2021-04-01")
        for i in range(100)
    ]
    responses, got = cluster.race(guarded)
    assert got == {"200": 1, "412 PreconditionFailed": 99}
