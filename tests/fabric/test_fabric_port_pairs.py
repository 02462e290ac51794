"""Port pairs the operator adds: listed with the defaults, and circuits are placed with them."""

from __future__ import annotations

from tests.support import Server
from tests.support.network import create_circuit

PAIR = {
    "peeringLocation": "Area51",
    "provider": "Ibiza Test Provider",
    "portBandwidthInMbps": 10_000,
    "overprovisionFactor": 4,
}


def test_operator_adds_port_pairs(server: Server) -> None:
    added = []
    for _ in range(2):
        r = server.operator("POST", "/port-pairs", PAIR)
        assert r.status_code == 200, r.text
        added.append(r.json())
    assert [a["primaryAzurePort"] for a in added] == ["A51-TEST-06GMR-CIS-5-PRI-A", "A51-TEST-06GMR-CIS-7-PRI-A"]
    assert added[1]["remainingBandwidthInMbps"] == 40_000 and added[1]["circuits"] == 0

    r = server.operator("GET", "/devices?location=Area51")
    assert r.status_code == 200, r.text
    pairs = [p for p in r.json()["value"] if p["provider"] == "Ibiza Test Provider"]
    assert len(pairs) == 4 and len({p["portPairDescriptor"] for p in pairs}) == 4

    # placement reads the added pairs too
    circuit = create_circuit(server)
    assert circuit.provisioning_state == "Succeeded"
