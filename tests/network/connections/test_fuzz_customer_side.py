"""Property-based fuzzing of the customer's side (virtual networks, subnets, public IPs, gateways,
connections and the gateway's route POSTs) over HTTPS, with the hostile names, values and bodies
of tests/platform/test_hostile_fuzz.py: no answer may be a 5xx, and afterwards every list answers
200, the snapshot exports and every stored resource reads back by its id."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.platform.test_hostile_fuzz import (
    NAMES,
    SETTINGS,
    Tally,
    assert_consistent,
    client,
    mutated,
    segment,
)
from tests.support import Server
from tests.support.network import API, GROUP
from tests.support.virtual_networks import (
    circuit_with_private_peering,
    connect,
    connection_body,
    customer_side,
    gateway_body,
    path,
    public_ip_body,
    vnet_body,
)


def test_fuzz_customer_side(server: Server) -> None:
    circuit = circuit_with_private_peering(server)
    customer_side(server)
    connect(server, circuit.id)
    tally = Tally()
    network = path(server, "virtualNetworks", "vnet1").rsplit("/virtualNetworks/", 1)[0]
    subnet_body = {"properties": {"addressPrefix": "10.17.9.0/24"}}
    targets: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", f"{network}/virtualNetworks/{{name}}", vnet_body(subnets=[("a", "10.17.1.0/24")])),
        ("PUT", f"{network}/virtualNetworks/vnet1", vnet_body(subnets=[("GatewaySubnet", "10.17.255.0/27")])),
        ("PUT", f"{network}/virtualNetworks/vnet1/subnets/{{name}}", subnet_body),
        ("DELETE", f"{network}/virtualNetworks/vnet1/subnets/{{name}}", None),
        ("PUT", f"{network}/publicIPAddresses/{{name}}", public_ip_body()),
        ("PUT", f"{network}/virtualNetworkGateways/{{name}}", gateway_body(server)),
        ("PUT", f"{network}/virtualNetworkGateways/gw1", gateway_body(server)),
        ("PUT", f"{network}/connections/{{name}}", connection_body(server, circuit.id)),
        ("PUT", f"{network}/connections/conn1", connection_body(server, circuit.id, weight=3)),
        ("POST", f"{network}/virtualNetworkGateways/{{name}}/getLearnedRoutes", None),
        ("POST", f"{network}/virtualNetworkGateways/gw1/getAdvertisedRoutes?peer={{name}}", None),
        ("DELETE", f"{network}/connections/{{name}}", None),
        ("DELETE", f"{network}/publicIPAddresses/{{name}}", None),
    ]
    customer = client(server, server.token("customer"))

    @SETTINGS
    @given(
        st.sampled_from(targets).flatmap(
            lambda t: st.tuples(st.just(t), NAMES, mutated(t[2]) if t[2] is not None else st.just(b""))
        )
    )
    def run(case: tuple[Any, ...]) -> None:
        (method, template, _), name, body = case
        target = template.replace("{name}", segment(name))
        target, _, query = target.partition("?")
        params = {"api-version": API}
        if query:
            params["peer"] = query.split("=", 1)[1]
        tally.send(customer, method, target, params=params, content=body, headers={"Content-Type": "application/json"})

    try:
        run()
    finally:
        customer.close()
    assert tally.server_errors == [], tally.server_errors[:3]
    assert_consistent(server)
    with server.http("customer") as c:
        for kind in ("virtualNetworks", "publicIPAddresses", "virtualNetworkGateways", "connections"):
            r = c.get(
                f"/subscriptions/{server.subscription('customer')}/resourceGroups/{GROUP}/providers/Microsoft.Network/{kind}",
                params={"api-version": API},
            )
            assert r.status_code == 200, r.text
