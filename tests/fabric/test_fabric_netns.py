"""The netns fabric: MSEEs are BIRD speakers in network namespaces and the partner edge is a real
BIRD, so sessions, ARP entries and routes come from the wire. Driven through the real SDK over
HTTPS; needs root and BIRD 2 (CI installs bird2 and runs as root)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fabric.support import NETNS_MARKS
from tests.support import Server, free_port
from tests.support.network import MICROSOFT, PRIVATE, XC_GROUP, provisioned_circuit, xc_peering

pytestmark = NETNS_MARKS


@pytest.fixture
def server(netns_server: Server) -> Server:
    """The module's netns server (tests/fabric/conftest.py), reset to the seeded set-up."""
    netns_server.reset()
    return netns_server


@pytest.fixture
def provisioned(server: Server) -> Any:
    _, xc = provisioned_circuit(server)
    xc_peering(server, xc.name, "AzurePrivatePeering", PRIVATE)
    return xc


def eventually(read: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 20) -> Any:
    deadline = time.time() + timeout
    value = read()
    while not ok(value) and time.time() < deadline:
        time.sleep(0.3)
        value = read()
    assert ok(value), f"still {value!r} after {timeout}s"
    return value


def summary(server: Server, key: str, link: str = "primary", peering: str = "AzurePrivatePeering") -> list:
    ops = server.network("partner").express_route_cross_connections
    result = ops.begin_list_routes_table_summary(XC_GROUP, key, peering, link).result()
    return [(s.neighbor, s.asn, s.state_or_prefixes_received) for s in result.value]


def routes(server: Server, key: str, link: str = "primary", peering: str = "AzurePrivatePeering") -> list:
    ops = server.network("partner").express_route_cross_connections
    result = ops.begin_list_routes_table(XC_GROUP, key, peering, link).result()
    return [(r.network, r.next_hop, r.path) for r in result.value]


def arp(server: Server, key: str, link: str = "primary") -> list:
    ops = server.network("partner").express_route_cross_connections
    result = ops.begin_list_arp_table(XC_GROUP, key, "AzurePrivatePeering", link).result()
    return [(e.interface, e.ip_address, e.mac_address) for e in result.value]


def edge(server: Server, key: str) -> dict[str, Any]:
    r = server.operator("GET", f"/lab/circuits/{key}/edge")
    assert r.status_code == 200, r.text
    return dict(r.json())


def state(rows: list) -> str:
    return str(rows[0][2]) if rows else ""


def namespaces() -> list[str]:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()


def link_mac(namespace: str, interface: str) -> str:
    out = subprocess.run(["ip", "-n", namespace, "-o", "link", "show", interface], capture_output=True, text=True)
    digits = re.search(r"link/ether (\S+)", out.stdout).group(1).replace(":", "")  # type: ignore[union-attr]
    return f"{digits[0:4]}.{digits[4:8]}.{digits[8:12]}"


def test_seed_workflow_with_a_real_partner_router_on_both_links(server: Server, provisioned: Any) -> None:
    key = provisioned.name
    for link, partner in (("primary", "192.168.100.129"), ("secondary", "192.168.100.133")):
        assert eventually(lambda link=link: summary(server, key, link), lambda s: state(s) == "3") == [
            (partner, 65010, "3")
        ]
        table = routes(server, key, link)
        assert {n for n, _, _ in table} == {"10.10.0.0/16", "10.20.0.0/16", "172.16.10.0/24"}
        assert all(hop == partner and path == "65010" for _, hop, path in table)
    view = edge(server, key)["wire"]
    for link in ("primary", "secondary"):
        wire = view[link]
        assert wire["namespace"] in namespaces() and wire["router"] == "bird"
        assert "protocol bgp" in wire["configuration"] and "abc123" not in wire["configuration"]
        assert "Established" in wire["daemon"]["protocols"]
        interface = wire["interfaces"][0]
        assert len(interface["interface"]) <= 15
        entries = arp(server, key, link)
        assert entries[0][:2] == ("On-Prem", interface["address"].split("/")[0])
        assert entries[0][2] == link_mac(wire["namespace"], interface["interface"])  # the partner's real MAC
        assert entries[1][0] == "Microsoft"


def test_md5_mismatch_never_establishes(server: Server, provisioned: Any) -> None:
    key = provisioned.name
    eventually(lambda: summary(server, key), lambda s: state(s) == "3")
    r = server.operator("PUT", f"/lab/circuits/{key}/edge/primary", {"peerings": {"AzurePrivatePeering": {"md5": "x"}}})
    assert r.status_code == 200, r.text
    seen = eventually(lambda: summary(server, key), lambda s: not state(s).isdigit())
    deadline = time.time() + 6
    while time.time() < deadline:  # TCP-MD5 drops every SYN: the session never comes back
        seen = summary(server, key)
        assert state(seen) in ("Idle", "Connect", "Active", "OpenSent"), seen
        time.sleep(0.5)
    assert routes(server, key) == []
    assert state(summary(server, key, "secondary")) == "3"  # the other link keeps its key


def test_link_fault_takes_the_session_down_and_clearing_brings_it_back(server: Server, provisioned: Any) -> None:
    key = provisioned.name
    eventually(lambda: summary(server, key, "secondary"), lambda s: state(s) == "3")
    assert server.operator("POST", "/faults/links", {"name": f"{key}/secondary"}).status_code == 200
    eventually(lambda: summary(server, key, "secondary"), lambda s: not state(s).isdigit())
    assert arp(server, key, "secondary") == []
    assert state(summary(server, key, "primary")) == "3"
    assert server.operator("DELETE", "/faults").status_code == 200
    eventually(lambda: summary(server, key, "secondary"), lambda s: state(s) == "3")


def test_microsoft_peering_sends_the_route_filter_prefixes_with_their_communities(
    server: Server, provisioned: Any
) -> None:
    from tests.support.route_filters import create_filter, filter_path

    key = provisioned.name
    xc_peering(server, key, "MicrosoftPeering", MICROSOFT)
    eventually(lambda: summary(server, key, "primary", "MicrosoftPeering"), lambda s: state(s) == "1")
    assert routes(server, key, "primary", "MicrosoftPeering") == [("131.107.2.0/24", "131.107.1.1", "3598")]

    create_filter(server, "rf-netns", ("allow", ["12076:5070"]), role="partner", group="partner-filters")
    filter_id = filter_path(server, "rf-netns", role="partner", group="partner-filters")
    xc_peering(server, key, "MicrosoftPeering", {**MICROSOFT, "routeFilter": {"id": filter_id}})
    advertised = eventually(
        lambda: {n for n, _, path in routes(server, key, "primary", "MicrosoftPeering") if path == "12076"}, bool
    )

    def partner_rib() -> dict[str, str]:
        text = edge(server, key)["wire"]["primary"]["daemon"]["routes"]
        return dict(re.findall(r"^(\S+/\d+)\s+unicast \[msee_\S+.*?BGP\.community: ([^\n]*)", text, re.M | re.S))

    rib = eventually(partner_rib, lambda r: set(r) >= advertised)
    assert {prefix for prefix in rib} == advertised  # the partner's own RIB holds exactly them
    assert all("(12076,5070)" in communities for communities in rib.values())


def test_deleting_the_peering_removes_interfaces_and_neighbours(server: Server, provisioned: Any) -> None:
    key = provisioned.name
    eventually(lambda: summary(server, key), lambda s: state(s) == "3")
    wire = edge(server, key)["wire"]["primary"]
    interface = wire["interfaces"][0]["interface"]
    msee = next(n for n in namespaces() if n.startswith(wire["namespace"][:9]) and "-msee-" in n and n.endswith("pri"))
    links = lambda: subprocess.run(["ip", "-n", msee, "-o", "link"], capture_output=True, text=True).stdout  # noqa: E731
    assert interface[-7:] in links()  # the MSEE end of the link, before (the delete may remove it at once)
    server.network("partner").express_route_cross_connection_peerings.begin_delete(
        XC_GROUP, key, "AzurePrivatePeering"
    ).result()

    eventually(links, lambda text: interface[-7:] not in text)
    assert msee in namespaces()  # the MSEE itself stays
    assert wire["namespace"] not in namespaces()  # no peering left on the circuit: the edge goes


def test_restart_after_a_crash_rebuilds_the_wire_from_the_store(server: Server, provisioned: Any) -> None:
    key = provisioned.name
    eventually(lambda: summary(server, key), lambda s: state(s) == "3")
    before = {n for n in namespaces() if n.startswith(edge(server, key)["wire"]["primary"]["namespace"][:9])}
    server.stop(kill=True)  # a crash: nothing is cleaned up
    assert before <= set(namespaces())
    server.start()
    eventually(lambda: summary(server, key), lambda s: state(s) == "3")
    eventually(lambda: summary(server, key, "secondary"), lambda s: state(s) == "3")
    assert {n for n in namespaces() if n[:9] == next(iter(before))[:9]} == before  # rebuilt, not duplicated


def test_stopping_the_server_removes_everything_it_made(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", free_port(), None, ["--fabric", "netns"]).start()
    try:
        _, xc = provisioned_circuit(server)
        xc_peering(server, xc.name, "AzurePrivatePeering", PRIVATE)
        prefix = edge(server, xc.name)["wire"]["primary"]["namespace"][:9]
        assert any(n.startswith(prefix) for n in namespaces())
    finally:
        server.stop()
    assert not any(n.startswith(prefix) for n in namespaces())
    assert not Path(f"/run/crossconnect/{prefix[3:8]}").exists()


def test_unknown_fabric_is_refused_in_one_line(tmp_path: Path) -> None:
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "serve", "--data-dir", str(tmp_path / "d"), "--fabric", "wire"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "--fabric 'wire' is unknown" in result.stderr and not (tmp_path / "d").exists()


def test_external_router_peers_from_the_namespace_crossconnect_made(server: Server, provisioned: Any) -> None:
    """With "router": "external" crossconnect makes only the namespace and interface; the partner's
    own daemon (here a BIRD the test configures itself) runs there through `crossconnect lab shell`."""
    import sys

    key = provisioned.name
    r = server.operator("PUT", f"/lab/circuits/{key}/edge/primary", {"router": "external"})
    assert r.status_code == 200, r.text
    wire = edge(server, key)["wire"]["primary"]
    assert wire["router"] == "external" and "daemon" not in wire and "lab shell" in wire["instructions"]
    assert not state(summary(server, key)).isdigit()  # nobody speaks BGP on the link yet
    interface = wire["interfaces"][0]
    run_dir = Path(server.data_dir).parent / "own-router"
    run_dir.mkdir(exist_ok=True)
    config = run_dir / "bird.conf"
    config.write_text(
        "router id 10.99.0.1;\nprotocol device {}\n"
        "protocol static mine { ipv4; route 10.77.0.0/16 blackhole; }\n"
        f"protocol bgp azure {{ local {interface['address'].split('/')[0]} as 65010; "
        f'neighbor {interface["mseeAddress"]} as 12076; interface "{interface["interface"]}"; direct; '
        'password "abc123"; connect delay time 1; '
        'ipv4 { import all; export where proto = "mine"; }; }\n'
    )
    shell = [sys.executable, "-m", "crossconnect.cli.main", "lab", "shell", key, "primary", "--data-dir"]
    started = subprocess.run(
        [
            *shell,
            str(server.data_dir),
            "bird",
            "-c",
            str(config),
            "-s",
            str(run_dir / "ctl"),
            "-P",
            str(run_dir / "pid"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert started.returncode == 0, started.stderr
    eventually(lambda: summary(server, key), lambda s: state(s) == "1")
    assert routes(server, key) == [("10.77.0.0/16", interface["address"].split("/")[0], "65010")]
    assert state(summary(server, key, "secondary")) == "3"  # crossconnect's BIRD on the other link


def test_lab_shell_without_a_wire_says_what_to_do(server: Server) -> None:
    import sys

    _, xc = provisioned_circuit(server)  # no peering: nothing on the wire yet
    result = subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "lab", "shell", xc.name, "primary"]
        + ["--data-dir", str(server.data_dir), "true"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0
    assert "configure a peering first" in result.stderr


def test_two_servers_on_one_machine_never_collide(server: Server, provisioned: Any, tmp_path: Path) -> None:
    """The same circuit addresses on two servers at once: each has its own instance id in every
    namespace and interface name, and nothing lands in the host's own namespace."""
    other = Server(tmp_path / "data", free_port(), None, ["--fabric", "netns"]).start()
    try:
        _, xc = provisioned_circuit(other)
        xc_peering(other, xc.name, "AzurePrivatePeering", PRIVATE)
        eventually(lambda: summary(other, xc.name), lambda s: state(s) == "3")
        eventually(lambda: summary(server, provisioned.name), lambda s: state(s) == "3")
        mine = edge(server, provisioned.name)["wire"]["primary"]
        theirs = edge(other, xc.name)["wire"]["primary"]
        assert mine["namespace"][:9] != theirs["namespace"][:9]
        assert mine["interfaces"][0]["interface"] != theirs["interfaces"][0]["interface"]
        host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert mine["interfaces"][0]["interface"] not in host_links
        assert theirs["interfaces"][0]["interface"] not in host_links
    finally:
        other.stop()
    assert state(summary(server, provisioned.name)) == "3"  # the other server's cleanup left ours alone


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop root")
def test_without_root_netns_is_refused_in_one_line(tmp_path: Path) -> None:
    import sys

    tmp_path.chmod(0o777)
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if subprocess.run([*nobody, "-c", "import crossconnect.cli.main"], env=env, capture_output=True).returncode:
        pytest.skip("an unprivileged user cannot read this checkout or its virtualenv")
    result = subprocess.run(
        [*nobody, "-m", "crossconnect.cli.main", "serve", "--fabric", "netns"]
        + ["--data-dir", str(tmp_path / "d"), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "--fabric netns needs root" in result.stderr and not (tmp_path / "d").exists()


def test_unknown_router_is_refused_and_nothing_changes(server: Server, provisioned: Any) -> None:
    key = provisioned.name
    before = edge(server, key)["declared"]
    r = server.operator("PUT", f"/lab/circuits/{key}/edge/primary", {"router": "frr-by-magic"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "InvalidRequestContent" and error["target"] == "router" and "bird" in error["message"]
    assert edge(server, key)["declared"] == before


def test_a_crashed_servers_leftovers_are_swept_by_the_next_server(tmp_path: Path) -> None:
    """A server killed outright leaves its namespaces; the next netns server to start on this
    machine (another data dir, another instance) removes them, because their owner is gone."""
    crashed = Server(tmp_path / "crashed", free_port(), None, ["--fabric", "netns"]).start()
    _, xc = provisioned_circuit(crashed)
    xc_peering(crashed, xc.name, "AzurePrivatePeering", PRIVATE)
    prefix = edge(crashed, xc.name)["wire"]["primary"]["namespace"][:9]
    crashed.stop(kill=True)
    assert any(n.startswith(prefix) for n in namespaces())  # left behind
    survivor = Server(tmp_path / "next", free_port(), None, ["--fabric", "netns"]).start()
    try:
        assert not any(n.startswith(prefix) for n in namespaces())
        assert not Path(f"/run/crossconnect/{prefix[3:8]}").exists()
    finally:
        survivor.stop()


def test_nonsense_in_the_edge_declaration_never_reaches_a_daemon(server: Server, provisioned: Any) -> None:
    """What the lab declares is checked at the door (400 naming the field, nothing stored), so
    nothing that is not an address, a key or an ASN can reach a daemon's configuration; the wire
    keeps running as it was, and a valid declaration then takes effect."""
    key = provisioned.name
    eventually(lambda: summary(server, key), lambda s: state(s) == "3")  # the mirror's three prefixes
    before = edge(server, key)["wire"]["primary"]["configuration"]
    bad = {"address": 'x"; protocol kernel {', "md5": "abc\n123", "asn": -5}
    r = server.operator("PUT", f"/lab/circuits/{key}/edge/primary", {"peerings": {"AzurePrivatePeering": bad}})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["target"].startswith("peerings.AzurePrivatePeering.")
    config = edge(server, key)["wire"]["primary"]["configuration"]
    assert config == before and "protocol kernel {" not in config
    assert eventually(lambda: summary(server, key, "secondary"), lambda s: state(s) == "3")
    good = {
        "address": "192.168.100.129",
        "md5": "abc123",
        "asn": 65010,
        "advertisedPrefixes": [{"prefix": "10.1.2.3/16", "asPath": "65001"}],
    }
    r = server.operator("PUT", f"/lab/circuits/{key}/edge/primary", {"peerings": {"AzurePrivatePeering": good}})
    assert r.status_code == 200, r.text
    eventually(lambda: summary(server, key), lambda s: state(s) == "1")
    assert routes(server, key) == [("10.1.0.0/16", "192.168.100.129", "65010 65001")]


def test_ipv6_session_on_the_126_shares_the_link(server: Server) -> None:
    """A private peering with ipv6PeeringConfig: the /126's MSEE address sits on the same MSEE
    interface as the /30's, and a second BGP session (IPv6) comes up beside the IPv4 one."""
    _, xc = provisioned_circuit(server)
    ipv6 = {"primaryPeerAddressPrefix": "fd00:100::/126", "secondaryPeerAddressPrefix": "fd00:100::4/126"}
    xc_peering(server, xc.name, "AzurePrivatePeering", {**PRIVATE, "ipv6PeeringConfig": ipv6})
    eventually(lambda: summary(server, xc.name), lambda s: state(s) == "3")  # IPv4 unaffected

    def sessions(link: str) -> int:
        return int(edge(server, xc.name)["wire"][link]["daemon"]["protocols"].count("BGP state:          Established"))

    for link, msee, partner in (("primary", "fd00:100::2", "fd00:100::1"), ("secondary", "fd00:100::6", "fd00:100::5")):
        eventually(lambda link=link: sessions(link), lambda n: n == 2)
        wire = edge(server, xc.name)["wire"][link]
        v6 = next(i for i in wire["interfaces"] if i["peering"].endswith("/ipv6"))
        assert v6["address"] == f"{partner}/126" and v6["mseeAddress"] == msee
        v4 = next(i for i in wire["interfaces"] if not i["peering"].endswith("/ipv6"))
        assert v4["interface"] == v6["interface"]  # one link, both families
        msee_ns = next(n for n in namespaces() if n.startswith(wire["namespace"][:9]) and n.endswith(link[:3]))
        addresses = subprocess.run(["ip", "-n", msee_ns, "-o", "addr"], capture_output=True, text=True).stdout
        assert f"{msee}/126" in addresses
        control = f"/run/crossconnect/{msee_ns[3:8]}/{msee_ns}.ctl"
        speaker = subprocess.run(["birdc", "-s", control, "show", "protocols", "all"], capture_output=True, text=True)
        assert "1 imported" in speaker.stdout and "3 imported" in speaker.stdout  # fd10:10::/48; the IPv4 three
