"""Property-based fuzzing of every endpoint family over HTTPS: ARM resource types, Azure AD's
token/authorize endpoints, Microsoft Graph, and the operator/lab API get hostile names, values
and bodies (lone surrogates, NUL, overlong text, wrong types, numbers that are not finite, JSON
nested 100,000 deep, invalid UTF-8, percent-encoded slashes and dot segments). No answer may be
a 5xx, and afterwards the state must still be consistent: every list answers 200, the snapshot
exports, and every stored resource can be read again by its id.

The number of examples is bounded (a few hundred requests per backend); the counts of requests
and 5xx answers are written to ``test-artifacts/fuzz-<backend>.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Server
from tests.support.network import API, GROUP, PRIVATE, XC_GROUP, circuit_body, create_circuit, find_cross_connection
from tests.support.rbac import graph

RESOURCES_API = "2021-04-01"
EXAMPLES = 70  # per family and backend: about 300 fuzz requests per backend in all
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# -- hostile values -------------------------------------------------------------------------------
NASTY_TEXT = [
    "", " ", ".", "..", "a.", "a ", "-a", "a/b", "a%2Fb", "a%252Fx", "a/../b", "\x00", "x\x00y", "\ud800",
    "a\udfffb", "\n", "\u202e", "é", "名前", "<script>", "%", "%00", "a" * 81, "a" * 91, "a" * 256, "a" * 300,
    "a" * 5000, "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00", "NaN", "1e999", "null", "*", "'", "''",
]  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.sampled_from(["\x00", "x\x00y", "\ud800", "a" * 300]),  # the ones each backend must refuse alike
    st.text(max_size=30),
    st.text(st.characters(min_codepoint=0, max_codepoint=0xDFFF), max_size=12),  # includes surrogates and NUL
)
SCALARS = st.one_of(
    TEXT,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6
)
# a name to put in a path: mostly hostile, sometimes one that passes (so the body is read too)
NAMES = st.one_of(TEXT, st.sampled_from(["fz1", "fz-2.x", "Fz_3", "er1", "AzurePrivatePeering"]))


def rarely(*values: str) -> st.SearchStrategy[str | None]:
    """None (the valid default) three times in four, else one of ``values``."""
    return st.one_of(st.just(None), st.just(None), st.just(None), st.sampled_from(values))


RAW_BODIES = st.sampled_from(
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"\xff\xfe\x00",
        b'{"location": "westus"',
        b'{"location": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8: invalid UTF-8
        b'{"x": NaN}',
        b'{"x": Infinity}',
        b'{"x": 1e999}',
        b'{"x": ' + b"9" * 5000 + b"}",
        b'{"tags": {"t": "\\ud800"}}',
        b'{"displayName": "\\u0000"}',
        b"null",
        b"[]",
        b"5",
        b'"text"',
        b"",
    ]
)


def encode(value: Any) -> bytes:
    """JSON as a hostile client writes it: lone surrogates as escapes, NaN and Infinity as tokens."""
    return json.dumps(value, allow_nan=True).encode()


def mutated(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """``base`` with up to two members (at any depth) replaced or added with hostile values, or a
    raw hostile body."""

    def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        out = [prefix] if prefix else []
        if isinstance(value, dict):
            for k, v in value.items():
                out += paths(v, (*prefix, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                out += paths(v, (*prefix, i))
        return out

    def apply(changes: list[tuple[tuple[Any, ...], Any]]) -> bytes:
        body = json.loads(json.dumps(base))
        for path, value in changes:
            target: Any = body
            for part in path[:-1]:
                try:
                    target = target[part]
                except (KeyError, IndexError, TypeError):
                    target = None
                    break
            last = path[-1]
            if isinstance(target, dict) or (isinstance(target, list) and isinstance(last, int) and last < len(target)):
                target[last] = value  # (an earlier change may have replaced the list this path went through)
        return encode(body)

    extra = [("extra",), ("properties", "extra")]
    change = st.tuples(st.sampled_from(paths(base) + extra), VALUES)
    return st.one_of(st.lists(change, min_size=1, max_size=2).map(apply), RAW_BODIES)


def segment(name: str) -> str:
    """A path segment carrying ``name`` after the server decodes it once."""
    return quote(name.encode("utf-8", "surrogatepass"), safe="")


# -- counting and sending -------------------------------------------------------------------------
class Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.server_errors: list[str] = []

    def send(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.requests += 1
        response = client.request(method, url, **kwargs)
        if response.status_code >= 500:
            self.server_errors.append(f"{method} {url} -> {response.status_code} {response.text[:300]}")
        assert response.status_code < 500, self.server_errors[-1]
        return response


@pytest.fixture(scope="module")
def tally(backend: str, artifacts: Path) -> Iterator[Tally]:
    counts = Tally()
    yield counts
    summary = {"backend": backend, "requests": counts.requests, "serverErrors": len(counts.server_errors)}
    (artifacts / f"fuzz-{backend}.json").write_text(json.dumps(summary, indent=2))
    print(f"\nfuzz ({backend}): {counts.requests} requests, {len(counts.server_errors)} answered 5xx")


def client(server: Server, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.base_url, verify=server.tls(), headers=headers, timeout=60)


# -- the consistent state every family must leave -------------------------------------------------
def assert_consistent(server: Server) -> None:
    """Lists answer 200, the snapshot exports, every stored resource reads back by its id (as the
    subscriptions' Owner), Graph lists and sign-in still work."""
    customer, provider = server.subscription("customer"), server.subscription("partner")
    with client(server, server.token("admin")) as admin:
        for sub in (customer, provider):
            for path, version in (
                ("resourceGroups", RESOURCES_API),
                ("providers/Microsoft.Network/expressRouteCircuits", API),
                ("providers/Microsoft.Network/routeFilters", API),
            ):
                r = admin.get(f"/subscriptions/{sub}/{path}", params={"api-version": version})
                assert r.status_code == 200, r.text
        r = admin.get(
            f"/subscriptions/{provider}/providers/Microsoft.Network/expressRouteCrossConnections",
            params={"api-version": API},
        )
        assert r.status_code == 200, r.text
        snapshot = server.operator("GET", "/snapshot")
        assert snapshot.status_code == 200, snapshot.text
        for row in snapshot.json()["tables"]["resources"]:
            version = RESOURCES_API if row["type_key"] == "microsoft.resources/resourcegroups" else API
            path = "/".join(segment(s) for s in row["id"].split("/"))
            r = admin.get(path, params={"api-version": version})
            assert r.status_code == 200, f"{row['id']}: {r.status_code} {r.text[:300]}"
    with graph(server) as g:
        for path in ("/applications", "/servicePrincipals"):
            assert g.get(path).status_code == 200
    for path in ("/faults", "/devices", "/service-providers", "/routing-registry", "/subscriptions"):
        assert server.operator("GET", path).status_code == 200, path
    assert server.token("partner")


# -- ARM --------------------------------------------------------------------------------------------
def test_fuzz_arm_resource_types(server: Server, tally: Tally) -> None:
    circuit = create_circuit(server, "er1")
    xc = find_cross_connection(server, circuit.service_key)
    customer, provider = server.subscription("customer"), server.subscription("partner")
    group = f"/subscriptions/{customer}/resourceGroups/{GROUP}/providers/Microsoft.Network"
    xc_path = f"/subscriptions/{provider}/resourceGroups/{XC_GROUP}/providers/Microsoft.Network"
    filter_body = {"location": "westus", "properties": {"rules": []}}
    rule_body = {"properties": {"access": "Allow", "routeFilterRuleType": "Community", "communities": ["12076:5010"]}}
    port_body = {
        "location": "westus",
        "properties": {"peeringLocation": "Area51", "bandwidthInGbps": 10, "encapsulation": "QinQ"},
    }
    # (role, method, path template with {name}, api-version, valid body)
    targets: list[tuple[str, str, str, str, dict[str, Any] | None]] = [
        ("customer", "PUT", f"/subscriptions/{customer}/resourceGroups/{{name}}", RESOURCES_API, {"location": "westus"}),
        ("customer", "PATCH", f"/subscriptions/{customer}/resourceGroups/{GROUP}", RESOURCES_API, {"tags": {"a": "b"}}),
        ("customer", "PUT", f"{group}/expressRouteCircuits/{{name}}", API, circuit_body()),
        ("customer", "PUT", f"{group}/expressRouteCircuits/er1", API, circuit_body(100)),
        ("customer", "PATCH", f"{group}/expressRouteCircuits/er1", API, {"tags": {"a": "b"}}),
        ("customer", "PUT", f"{group}/expressRouteCircuits/er1/peerings/{{name}}", API, {"properties": PRIVATE}),
        ("customer", "PUT", f"{group}/expressRouteCircuits/er1/authorizations/{{name}}", API, {"properties": {}}),
        ("customer", "PUT", f"{group}/routeFilters/{{name}}", API, filter_body),
        ("customer", "PUT", f"{group}/routeFilters/rf1/routeFilterRules/{{name}}", API, rule_body),
        ("partner", "PUT", f"{xc_path}/expressRouteCrossConnections/{xc.name}", API, xc.as_dict()),
        ("partner", "PUT", f"{xc_path}/expressRouteCrossConnections/{{name}}", API, xc.as_dict()),
        ("partner", "PUT", f"{xc_path}/expressRouteCrossConnections/{xc.name}/peerings/{{name}}", API,
         {"properties": PRIVATE}),
        ("customer", "GET", f"{group}/expressRouteCircuits/{{name}}", API, None),
        ("customer", "DELETE", f"{group}/expressRouteCircuits/{{name}}", API, None),
        ("partner", "GET", f"{xc_path}/expressRouteCrossConnections", API, None),
        ("admin", "PUT", f"/subscriptions/{customer}/providers/Microsoft.Authorization/roleAssignments/{{name}}",
         "2022-04-01", {"properties": {"roleDefinitionId": "x", "principalId": "y"}}),
        ("admin", "POST", f"/subscriptions/{customer}/providers/{{name}}/register", RESOURCES_API, None),
        ("admin", "PUT", f"/subscriptions/{customer}/providers/Microsoft.Authorization/roleDefinitions/"
         "8f2b9f6e-6a3c-4d7e-9d1a-0c1e2f3a4b5c", "2022-04-01",
         {"properties": {"roleName": "fuzz role", "description": "d", "type": "CustomRole",
                         "permissions": [{"actions": ["Microsoft.Network/*/read"], "notActions": []}],
                         "assignableScopes": [f"/subscriptions/{customer}"]}}),
        ("admin", "POST", f"/subscriptions/{customer}/providers/Microsoft.Features/providers/Microsoft.Network/"
         "features/{name}/register", "2021-07-01", None),
        ("customer", "PATCH", f"{group}/routeFilters/rf1", API, {"tags": {"a": "b"}}),
        ("customer", "PUT", f"{group}/expressRoutePorts/{{name}}", API, port_body),
        ("customer", "PUT", f"{group}/expressRoutePorts/p1", API,
         {**port_body, "properties": {**port_body["properties"], "links": [
             {"name": "link1", "properties": {"adminState": "Enabled", "macSecConfig": {"cipher": "GcmAes256"}}}]}}),
        ("customer", "POST", f"{group}/expressRoutePorts/p1/generateLoa", API, {"customerName": "Contoso"}),
        ("customer", "PUT", f"{group}/expressRoutePorts/p1/authorizations/{{name}}", API, {"properties": {}}),
        ("customer", "PUT", f"{group}/expressRouteCircuits/{{name}}", API,
         {"location": "westus", "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
          "properties": {"expressRoutePort": {"id": f"{group}/expressRoutePorts/p1"}, "bandwidthInGbps": 1}}),
    ]  # fmt: skip
    with client(server, server.token("customer")) as c:
        assert c.put(f"{group}/routeFilters/rf1", params={"api-version": API}, json=filter_body).status_code < 300
        assert c.put(f"{group}/expressRoutePorts/p1", params={"api-version": API}, json=port_body).status_code < 300
    tokens = {role: server.token(role) for role in ("customer", "partner", "admin")}
    clients = {role: client(server, token) for role, token in tokens.items()}

    @SETTINGS
    @given(
        st.sampled_from(targets).flatmap(
            lambda t: st.tuples(
                st.just(t),
                NAMES,
                mutated(t[4]) if t[4] is not None else st.just(b""),
                rarely("'", "name eq '\x00'", "x" * 3000),
                rarely("%%%", "eyJzIjogMWUzMDB9", "eyJzIjogOTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5fQ"),
                rarely("\x00", "9999-99-99", "2026-03-01"),
            )
        )
    )
    def run(case: tuple[Any, ...]) -> None:
        (role, method, template, version, _), name, body, filter_, skiptoken, override = case
        path = template.replace("{name}", segment(name))
        params = {"api-version": override or version}
        if filter_ is not None:
            params["$filter"] = filter_
        if skiptoken is not None:
            params["$skiptoken"] = skiptoken
        headers = {"Content-Type": "application/json"}
        tally.send(clients[role], method, path, params=params, content=body, headers=headers)

    try:
        run()
    finally:
        for c in clients.values():
            c.close()
    assert_consistent(server)


# -- Azure AD ---------------------------------------------------------------------------------------
def test_fuzz_azure_ad(server: Server, tally: Tally) -> None:
    tenant = server.env["tenant_id"]
    partner = server.principal("partner")
    grants = [
        "client_credentials",
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    fields = ["grant_type", "client_id", "client_secret", "scope", "resource", "client_assertion",
              "client_assertion_type", "code", "redirect_uri", "code_verifier", "refresh_token", "device_code",
              "response_type", "code_challenge", "username", "password", "user_code", "state"]  # fmt: skip
    valid = {
        "grant_type": "client_credentials",
        "client_id": partner["client_id"],
        "client_secret": partner["client_secret"],
        "scope": "https://management.azure.com/.default",
    }
    endpoints = [
        ("POST", "/{tenant}/oauth2/v2.0/token"),
        ("POST", "/{tenant}/oauth2/token"),
        ("GET", "/{tenant}/oauth2/v2.0/authorize"),
        ("POST", "/{tenant}/oauth2/v2.0/authorize"),
        ("POST", "/{tenant}/oauth2/v2.0/devicecode"),
        ("POST", "/devicelogin"),
        ("GET", "/{tenant}/v2.0/.well-known/openid-configuration"),
        ("GET", "/{tenant}/discovery/v2.0/keys"),
        ("GET", "/{tenant}/oauth2/v2.0/logout"),
    ]
    form_values = st.one_of(TEXT, st.sampled_from(grants), st.just(partner["client_id"]))
    forms = st.dictionaries(st.sampled_from(fields), form_values, max_size=6).map(lambda f: {**valid, **f})

    @SETTINGS
    @given(
        st.sampled_from(endpoints),
        st.one_of(st.just(tenant), st.just("organizations"), st.just("\x00"), TEXT),
        forms,
        st.sampled_from(["form", "multipart", "json", "garbage"]),
    )
    def run(endpoint: tuple[str, str], tenant_name: str, form: dict[str, str], encoding: str) -> None:
        method, template = endpoint
        path = template.replace("{tenant}", segment(tenant_name) or "x")
        with client(server, None) as c:
            if method == "GET":
                params = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in form.items()}
                tally.send(c, method, path, params=params)
                return
            safe = {k: v.encode("utf-8", "surrogatepass") for k, v in form.items()}
            if encoding == "form":
                tally.send(c, method, path, data=safe)
            elif encoding == "multipart":
                tally.send(c, method, path, files={k: (None, v) for k, v in safe.items()})
            elif encoding == "json":
                tally.send(c, method, path, content=encode(form), headers={"Content-Type": "application/json"})
            else:
                content = b"%zz&&==\x00\xff" + b"a=" + b"%" * 100
                tally.send(c, method, path, content=content,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    run()
    assert_consistent(server)


# -- Microsoft Graph --------------------------------------------------------------------------------
def test_fuzz_graph(server: Server, tally: Tally) -> None:
    with graph(server) as g:
        app = g.post("/applications", json={"displayName": "fuzz-target"}).json()
        token = g.headers["Authorization"].split(" ", 1)[1]
    targets: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/v1.0/applications", {"displayName": "fuzzed", "notes": "n", "tags": ["a"], "web": {}}),
        ("PATCH", f"/v1.0/applications/{app['id']}", {"displayName": "renamed", "notes": "n"}),
        ("POST", f"/v1.0/applications/{app['id']}/addPassword",
         {"passwordCredential": {"displayName": "p", "startDateTime": "2026-01-01T00:00:00Z",
                                 "endDateTime": "2027-01-01T00:00:00Z"}}),
        ("POST", f"/v1.0/applications/{app['id']}/removePassword", {"keyId": "00000000-0000-0000-0000-000000000000"}),
        ("POST", "/v1.0/servicePrincipals", {"appId": app["appId"]}),
        ("POST", "/v1.0/directoryObjects/getByIds", {"ids": [app["id"]], "types": ["application"]}),
        ("POST", "/v1.0/applications", {"displayName": "c", "keyCredentials": [{"key": "x", "type": "AsymmetricX509Cert"}],
                                        "passwordCredentials": [{"displayName": "p"}]}),
        ("GET", "/v1.0/applications/{name}", None),
        ("GET", "/v1.0/users/{name}", None),
        ("DELETE", "/v1.0/servicePrincipals/{name}", None),
    ]  # fmt: skip

    @SETTINGS
    @given(
        st.sampled_from(targets).flatmap(
            lambda t: st.tuples(st.just(t), NAMES, mutated(t[2]) if t[2] is not None else st.just(b""))
        ),
        st.sampled_from([None, "displayName eq '\x00'", "startswith(displayName,'\ud800')", "x" * 2000, "appId eq"]),
    )
    def run(case: tuple[Any, ...], filter_: str | None) -> None:
        (method, template, _), name, body = case
        path = template.replace("{name}", segment(name) or "x")
        params = {"$filter": filter_.encode("utf-8", "surrogatepass").decode("utf-8", "replace")} if filter_ else {}
        with client(server, token) as c:
            tally.send(c, method, path, content=body or None, params=params,
                       headers={"Content-Type": "application/json"})  # fmt: skip
            tally.send(c, "GET", "/v1.0/applications", params=params)

    run()
    assert_consistent(server)


# -- the operator and lab API -----------------------------------------------------------------------
def test_fuzz_operator_and_lab(server: Server, tally: Tally) -> None:
    circuit = create_circuit(server, "er1")
    key = circuit.service_key
    customer = server.subscription("customer")
    edge = {
        "interfaceUp": True,
        "sTag": 2,
        "peerings": {
            "AzurePrivatePeering": {
                "cTag": 100,
                "address": "192.168.100.129",
                "prefixLength": 30,
                "asn": 65010,
                "remoteAsn": 12076,
                "md5": "abc",
                "advertisedPrefixes": [{"prefix": "10.1.0.0/16", "asPath": "65010"}],
            }
        },
    }
    targets: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/faults-flap", {"serviceKey": key, "peeringType": "AzurePrivatePeering", "link": "primary",
                                  "seconds": 1}),
        ("POST", "/faults-latency", {"resourceId": "*", "seconds": 0}),
        ("POST", "/faults-fail-next", {"resourceId": "/subscriptions/x", "count": 1, "code": "Boom", "message": "m"}),
        ("POST", "/faults/{name}", {"name": "A51-TEST-06GMR-CIS-1-PRI-A", "down": False}),
        ("POST", "/port-pairs", {"provider": "Ibiza Test Provider", "peeringLocation": "Area51",
                                 "portBandwidthInMbps": 10000, "overprovisionFactor": 2}),
        ("PUT", "/service-providers/{name}", {"peeringLocations": ["Lab 1"], "bandwidthsOffered": [50]}),
        ("PUT", "/routing-registry", {"value": [{"prefix": "131.107.0.0/16", "asn": 3598, "registry": "ARIN"}]}),
        ("POST", "/route-filter-authorizations", {"subscriptionId": customer}),
        ("DELETE", "/route-filter-authorizations/{name}", None),
        ("POST", "/subscriptions", {"tenantId": server.env["tenant_id"], "displayName": "fuzz"}),
        ("POST", "/features/approve", {"subscriptionId": customer, "feature": "Microsoft.Network/x"}),
        ("PUT", f"/lab/circuits/{key}/edge/primary", edge),
        ("PUT", "/lab/circuits/{name}/edge/secondary", edge),
        ("GET", "/lab/circuits/{name}/edge", None),
        ("PUT", "/snapshot", {"format": "crossconnect-snapshot/1", "tables": {"meta": []}}),
    ]  # fmt: skip
    token = server.token("operator")

    @SETTINGS
    @given(
        st.sampled_from(targets).flatmap(
            lambda t: st.tuples(st.just(t), TEXT, mutated(t[2]) if t[2] is not None else st.just(b""))
        )
    )
    def run(case: tuple[Any, ...]) -> None:
        (method, template, _), name, body = case
        path = "/_crossconnect" + template.replace("{name}", segment(name) or "x")
        with client(server, token) as c:
            tally.send(c, method, path, content=body or None, headers={"Content-Type": "application/json"})
        if "/lab/" in template:
            with client(server, token) as c:
                tally.send(c, "GET", f"/_crossconnect/lab/circuits/{key}/edge")

    run()
    server.operator("DELETE", "/faults")
    assert_consistent(server)
