"""Hostile input never gets a 500: each input that once did is now a 400 in the envelope of its
endpoint (ARM, Azure AD, Graph, the operator API), and nothing is stored."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import Server, settled_snapshot
from tests.support.network import GROUP, create_circuit, ensure_group
from tests.support.rbac import graph

RESOURCES_API = "2021-04-01"
DEEP = b"[" * 100_000 + b"]" * 100_000
JSON = {"Content-Type": "application/json"}


def everything(server: Server) -> dict[str, Any]:
    tables = settled_snapshot(server)
    for row in tables.get("resources", []):
        row.pop("updated_at", None)
    return tables


@contextlib.contextmanager
def unchanged(server: Server) -> Iterator[None]:
    """Nothing in the store changes (read back through the operator's snapshot)."""
    before = everything(server)
    yield
    after = everything(server)
    for table in before:
        assert after[table] == before[table], f"table {table!r} changed"


def arm(response: httpx.Response, status: int, code: str, named: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    if named is not None:
        assert named in f"{error.get('target') or ''} {error['message']} {error.get('details')}", error
    return error


def graph_error(response: httpx.Response, named: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "Request_BadRequest", error
    assert named in error["message"], error


def group_url(server: Server, name: str = "hostile") -> str:
    return f"/subscriptions/{server.subscription('customer')}/resourceGroups/{name}"


# -- lone surrogates, NUL, numbers that are not finite, depth -----------------------------------------
def test_lone_surrogate_in_a_tag_is_refused(server: Server) -> None:
    with server.http("admin") as c, unchanged(server):
        r = c.put(group_url(server), params={"api-version": RESOURCES_API}, headers=JSON,
                  content=b'{"location": "westus", "tags": {"t": "\\ud800"}}')  # fmt: skip
        error = arm(r, 400, "InvalidRequestContent", "tags.t")
        assert "lone UTF-16 surrogate" in error["message"]
    assert server.operator("GET", "/snapshot").status_code == 200


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"location": "westus", "tags": {"t": "a\\u0000b"}}', "NUL"),
        (b'{"location": "westus", "tags": {"\\udc00": "x"}}', "member name"),
        (b'{"location": "westus", "tags": {"n": NaN}}', "NaN"),
        (b'{"location": "westus", "tags": {"n": 1e999}}', "1e999"),
    ],
)
def test_values_no_backend_can_keep_are_refused(server: Server, body: bytes, named: str) -> None:
    with server.http("admin") as c, unchanged(server):
        arm(c.put(group_url(server), params={"api-version": RESOURCES_API}, headers=JSON, content=body),
            400, "InvalidRequestContent", named)  # fmt: skip


def test_json_nested_deeply_is_refused_everywhere(server: Server) -> None:
    with unchanged(server):
        with server.http("admin") as c:
            r = c.put(group_url(server), params={"api-version": RESOURCES_API}, headers=JSON, content=DEEP)
            arm(r, 400, "InvalidRequestFormat", "nests deeper than 64 levels")
        with graph(server) as g:
            graph_error(g.post("/applications", headers=JSON, content=DEEP), "nests deeper than 64 levels")
        r = server.http("operator").post("/_crossconnect/faults-flap", headers=JSON, content=DEEP)
        arm(r, 400, "InvalidRequestFormat", "nests deeper than 64 levels")


def test_graph_notes_with_a_lone_surrogate(server: Server) -> None:
    with graph(server) as g, unchanged(server):
        r = g.post("/applications", headers=JSON, content=b'{"displayName": "x", "notes": "\\ud83d"}')
        graph_error(r, "notes")
        assert g.get("/applications").status_code == 200


# -- NUL and overlong text: the same 400 on SQLite and PostgreSQL ---------------------------------------
def test_nul_in_the_tenant_of_the_token_endpoint(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c, unchanged(server):
        for path in ("/%00/oauth2/v2.0/token", "/a%00b/oauth2/token"):
            r = c.post(path, data={"grant_type": "client_credentials", "client_id": "x", "scope": "y"})
            assert r.status_code == 400, r.text
            assert (r.json()["error"], r.json()["error_codes"]) == ("invalid_request", [90002])
        r = c.get("/%00/v2.0/.well-known/openid-configuration")
        assert r.status_code == 400 and r.json()["error_codes"] == [90002], r.text
        partner = server.principal("partner")
        r = c.post(f"/{server.env['tenant_id']}/oauth2/v2.0/token",
                   data={"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "s",
                         "scope": "https://management.azure.com/.default"})  # fmt: skip
        assert (r.status_code, r.json()["error_codes"]) == (400, [700016]), r.text
        assert partner["client_id"]


def test_nul_in_a_circuit_name(server: Server) -> None:
    ensure_group(server)
    with server.http("customer") as c, unchanged(server):
        path = f"{group_url(server, GROUP)}/providers/Microsoft.Network/expressRouteCircuits/er%001"
        arm(c.get(path, params={"api-version": "2026-03-01"}), 404, "ResourceNotFound")
        arm(c.put(path, params={"api-version": "2026-03-01"}, json={"location": "westus"}), 400, "InvalidResourceName")


def test_text_longer_than_the_store_keeps(server: Server) -> None:
    long = "x" * 300
    with unchanged(server):
        r = server.operator("POST", "/subscriptions", {"tenantId": server.env["tenant_id"], "displayName": long})
        arm(r, 400, "InvalidRequestContent", "300 characters")
        with graph(server) as g:
            graph_error(g.post("/applications", json={"displayName": long}), "displayName")
        r = server.operator("POST", "/faults-fail-next", {"resourceId": "x", "code": long})
        arm(r, 400, "InvalidRequestContent", "code")


# -- wrong shapes and values ---------------------------------------------------------------------------
def test_graph_get_by_ids_needs_a_list_of_strings(server: Server) -> None:
    with graph(server) as g:
        for body in ({"ids": 5}, {"ids": [5]}, {"ids": ["x"], "types": "user"}):
            graph_error(g.post("/directoryObjects/getByIds", json=body), "collection of strings")
        assert g.post("/directoryObjects/getByIds", json={"ids": []}).status_code == 200


def test_add_password_in_year_9999(server: Server) -> None:
    with graph(server) as g:
        app = g.post("/applications", json={"displayName": "dates"}).json()
        with unchanged(server):
            for credential, named in (
                ({"startDateTime": "9999-12-31T00:00:00Z"}, "endDateTime"),
                ({"endDateTime": "0001-01-01T00:00:00+05:00"}, "endDateTime"),
                ({"startDateTime": 20260101}, "startDateTime"),
                ({"startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2026-01-01T00:00:00Z"}, "endDateTime"),
                ({"displayName": "p" * 256}, "displayName"),
            ):
                r = g.post(f"/applications/{app['id']}/addPassword", json={"passwordCredential": credential})
                graph_error(r, named)
            assert g.get("/applications").status_code == 200
        r = g.post(f"/applications/{app['id']}/addPassword",
                   json={"passwordCredential": {"startDateTime": "9999-01-01T00:00:00Z",
                                                "endDateTime": "9999-12-31T23:59:59Z"}})  # fmt: skip
        assert r.status_code == 200 and r.json()["endDateTime"] == "9999-12-31T23:59:59Z", r.text


def test_lab_edge_peering_must_be_an_object(server: Server) -> None:
    circuit = create_circuit(server)
    path = f"/lab/circuits/{circuit.service_key}/edge/primary"
    with unchanged(server):
        for body, named in (
            ({"peerings": {"AzurePrivatePeering": "x"}}, "peerings.AzurePrivatePeering"),
            ({"peerings": {"AzurePrivatePeering": {"cTag": True}}}, "peerings.AzurePrivatePeering.cTag"),
            ({"peerings": {"AzurePrivatePeering": {"address": "x"}}}, "peerings.AzurePrivatePeering.address"),
            ({"peerings": {"AzurePrivatePeering": {"advertisedPrefixes": [5]}}}, "advertisedPrefixes[0]"),
            ({"sTag": 99999}, "sTag"),
        ):
            arm(server.operator("PUT", path, body), 400, "InvalidRequestContent", named)
        assert server.operator("GET", f"/lab/circuits/{circuit.service_key}/edge").status_code == 200


def test_faults_flap_seconds_must_be_a_number(server: Server) -> None:
    base = {"serviceKey": "k", "peeringType": "AzurePrivatePeering", "link": "primary"}
    with unchanged(server):
        for seconds in ("x", None, True, -1, 10**400, 1e300):
            arm(server.operator("POST", "/faults-flap", {**base, "seconds": seconds}), 400, "InvalidRequestContent",
                "seconds")  # fmt: skip
        arm(server.operator("POST", "/faults-latency", {"seconds": "x"}), 400, "InvalidRequestContent", "seconds")
        arm(server.operator("POST", "/faults-flap", {**base, "link": 5}), 400, "InvalidRequestContent", "link")
    assert server.operator("POST", "/faults-flap", {**base, "seconds": 0.5}).status_code == 200


def test_a_continuation_token_past_any_integer(server: Server) -> None:
    token = "eyJzIjogOTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5fQ"  # {"s": 99999999999999999999999}
    with server.http("admin") as c:
        r = c.get(f"/subscriptions/{server.subscription('customer')}/resourceGroups",
                  params={"api-version": RESOURCES_API, "$skiptoken": token})  # fmt: skip
        arm(r, 400, "InvalidContinuationToken")


def test_nul_in_a_device_code_request(server: Server) -> None:
    """The store refuses the NUL; Azure AD's envelope says so (the handler of app/application.py)."""
    azure_cli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c:
        r = c.post(
            f"/{server.env['tenant_id']}/oauth2/v2.0/devicecode", data={"client_id": azure_cli, "scope": "a\x00"}
        )
        assert r.status_code == 400, r.text
        assert (r.json()["error"], r.json()["error_codes"]) == ("invalid_request", [9002313])
        assert "NUL" in r.json()["error_description"]
        r = c.post(
            f"/{server.env['tenant_id']}/oauth2/v2.0/devicecode", data={"client_id": azure_cli, "scope": "openid"}
        )
        assert r.status_code == 200, r.text
