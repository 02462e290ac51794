"""The netns fabric: makes the host match the desired wire, and reads the wire back.

A reconciler thread applies the desired state (computed by the network layer from the store)
every half second, and every read applies it first, so what the troubleshooting operations
report is always the wire after the latest change. Everything lives in memory only as a cache
of what was applied: on start the server's leftovers are swept and the wire is rebuilt from the
store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from crossconnect.fabric.netns import bird, host
from crossconnect.fabric.netns.desired import Edge, EdgePeer, Neighbor, Wire
from crossconnect.fabric.netns.names import NAMESPACE_PATTERN, RUN_ROOT, Names

log = logging.getLogger("crossconnect.fabric.netns")
RECONCILE_SECONDS = 0.5
# How long a session may take to reach its steady state after a change (BGP connect delay and
# error wait of the fast timers in bird.py, plus one reconcile pass).
SETTLE_SECONDS = 6.0


@dataclass(frozen=True)
class LinkPlan:
    """One link's interfaces: what decides whether it must be rebuilt, and its addresses."""

    msee_namespace: str
    edge_namespace: str
    msee_interface: str
    partner_interface: str
    connected: bool  # the partner's tags match Microsoft's: one veth pair joins both ends
    msee_address: str
    partner_address: str
    msee_up: bool
    partner_up: bool

    @property
    def identity(self) -> tuple[str, str, str, bool]:
        return (self.msee_namespace, self.edge_namespace, self.msee_interface, self.connected)


class NetnsFabric:
    def __init__(self, names: Names, desired: Callable[[], Wire]) -> None:
        self.names = names
        self.desired = desired
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._msee: set[str] = set()  # namespaces with a running speaker
        self._edges: dict[tuple[str, str], str] = {}  # (serviceKey, link) -> namespace
        self._links: dict[str, LinkPlan] = {}  # neighbour key -> applied plan
        self._neighbors: dict[str, Neighbor] = {}
        self._edge_specs: dict[tuple[str, str], Edge] = {}
        self._edge_configs: dict[tuple[str, str], str] = {}
        self._fingerprints: dict[str, Any] = {}  # neighbour key -> what its session depends on
        self._changed_at: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        sweep(self.names)
        self.names.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.names.run_dir.chmod(0o700)
        self.names.owner_file.write_text(str(os.getpid()))
        self.reconcile()
        self._thread = threading.Thread(target=self._loop, name="netns-reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for namespace in [*self._msee, *self._edges.values()]:
                bird.Daemon(namespace, self.names.run_dir).stop()
                host.delete_namespace(namespace)
            self._msee.clear()
            self._edges.clear()
            self._links.clear()
        shutil.rmtree(self.names.run_dir, ignore_errors=True)
        self.names.owner_file.unlink(missing_ok=True)

    def _loop(self) -> None:
        while not self._stop.wait(RECONCILE_SECONDS):
            try:
                self.reconcile()
            except Exception as exc:  # keep reconciling; the next pass retries
                log.warning("netns reconcile failed: %s", exc)

    # -- applying the desired state ---------------------------------------------------------------
    def reconcile(self) -> None:
        wire = self.desired()
        with self._lock:
            self._apply(wire)

    def _apply(self, wire: Wire) -> None:
        neighbors = {n.key: n for n in wire.neighbors}
        edges = {(e.service_key, e.link): e for e in wire.edges}
        for device in {n.device for n in wire.neighbors}:
            namespace = self.names.msee_namespace(device)
            if namespace not in self._msee:
                host.add_namespace(namespace)
                self._msee.add(namespace)
        for edge_id in list(self._edges):
            if edge_id not in edges:
                self._remove_edge(edge_id)
        for edge_id, _edge in edges.items():
            if edge_id not in self._edges:
                namespace = self.names.edge_namespace(*edge_id)
                host.add_namespace(namespace)
                self._edges[edge_id] = namespace
        plans = {key: self._plan(n, edges) for key, n in neighbors.items()}
        # An IPv4 and an IPv6 neighbour of one peering share one link: apply each link once,
        # with the addresses of all its neighbours.
        wanted, applied = _by_link(plans.values()), _by_link(self._links.values())
        for interface, plan in applied.items():
            if interface not in wanted or wanted[interface].identity != plan.identity:
                self._remove_link(plan)
        for interface, plan in wanted.items():
            before = applied.get(interface)
            self._apply_link(plan, before if before is not None and before.identity == plan.identity else None)
        self._links = plans
        self._neighbors = neighbors
        self._edge_specs = edges
        self._configure_speakers(neighbors)
        self._configure_edges(edges)
        self._note_changes(neighbors, edges, plans)

    def _note_changes(
        self, neighbors: dict[str, Neighbor], edges: dict[tuple[str, str], Edge], plans: dict[str, LinkPlan]
    ) -> None:
        now = time.time()
        for key, n in neighbors.items():
            service_key, link, _ = key.split("/", 2)
            edge = edges.get((service_key, link))
            fingerprint = (n, plans[key], _peer(edge, key), edge.interface_up if edge else None)
            if self._fingerprints.get(key) != fingerprint:
                if key in self._fingerprints:
                    self._clear_limit(key)
                self._fingerprints[key] = fingerprint
                self._changed_at[key] = now
        for key in set(self._fingerprints) - set(neighbors):
            self._fingerprints.pop(key, None)
            self._changed_at.pop(key, None)

    def _clear_limit(self, key: str) -> None:
        """A neighbour the import limit shut down comes back when anything about it changes (the
        partner fixed its announcements): what an engineer's ``clear bgp`` does on an MSEE."""
        plan = self._links.get(key)
        if plan is None:
            return
        daemon = bird.Daemon(plan.msee_namespace, self.names.run_dir)
        name = f"n_{Names.protocol(key)}"
        found = bird.protocol(daemon.command("show", "protocols", "all", name))
        if found is not None and found.state == "Down" and "limit" in found.info.lower():
            daemon.command("enable", name)

    def refresh(self) -> None:
        """Bring the wire up to date before a read (a change just written is a change); a read
        after a failed pass shows the wire as it is."""
        with contextlib.suppress(Exception):
            self.reconcile()

    def settling(self, key: str) -> bool:
        """Has this neighbour changed so recently that its session may still be settling?"""
        with self._lock:
            return time.time() < self._changed_at.get(key, 0.0) + SETTLE_SECONDS

    def _plan(self, n: Neighbor, edges: dict[tuple[str, str], Edge]) -> LinkPlan:
        service_key, link, _ = n.key.split("/", 2)
        edge = edges.get((service_key, link))
        peer = _peer(edge, n.key)
        connected = peer is not None and peer.s_tag == n.s_tag and peer.c_tag == n.c_tag
        return LinkPlan(
            msee_namespace=self.names.msee_namespace(n.device),
            edge_namespace=self.names.edge_namespace(service_key, link) if edge else "",
            msee_interface=self.names.interface("m", n.link_key),
            partner_interface=self.names.interface("p", n.link_key),
            connected=connected,
            msee_address=f"{n.msee_address}/{n.prefix_length}",
            partner_address=f"{peer.address}/{peer.prefix_length}" if peer and peer.address else "",
            msee_up=n.link_up,
            partner_up=bool(edge and edge.interface_up),
        )

    def _apply_link(self, plan: LinkPlan, applied: LinkPlan | None) -> None:
        link_key = plan.msee_interface  # already unique per link
        if applied is None:
            if plan.connected:
                host.add_veth(plan.msee_interface, plan.msee_namespace, plan.partner_interface, plan.edge_namespace)
            else:  # two separate wires: nobody answers on either side
                far = self.names.interface("n", link_key)
                host.add_veth(plan.msee_interface, plan.msee_namespace, far, plan.msee_namespace)
                host.set_up(plan.msee_namespace, far, True)
                if plan.edge_namespace:
                    far = self.names.interface("q", link_key)
                    host.add_veth(plan.partner_interface, plan.edge_namespace, far, plan.edge_namespace)
                    host.set_up(plan.edge_namespace, far, True)
        if applied is None or applied.msee_address != plan.msee_address:
            host.set_addresses(plan.msee_namespace, plan.msee_interface, plan.msee_address.split())
        partner_changed = applied is None or applied.partner_address != plan.partner_address
        if plan.edge_namespace and plan.partner_address and partner_changed:
            host.set_addresses(plan.edge_namespace, plan.partner_interface, plan.partner_address.split())
        if applied is None or applied.msee_up != plan.msee_up:
            host.set_up(plan.msee_namespace, plan.msee_interface, plan.msee_up)
        if plan.edge_namespace and (applied is None or applied.partner_up != plan.partner_up):
            host.set_up(plan.edge_namespace, plan.partner_interface, plan.partner_up)

    def _remove_link(self, plan: LinkPlan) -> None:
        host.delete_interface(plan.msee_namespace, plan.msee_interface)
        if plan.edge_namespace and plan.edge_namespace in self._edges.values():
            host.delete_interface(plan.edge_namespace, plan.partner_interface)

    def _remove_edge(self, edge_id: tuple[str, str]) -> None:
        namespace = self._edges.pop(edge_id)
        bird.Daemon(namespace, self.names.run_dir).stop()
        host.delete_namespace(namespace)
        self._edge_configs.pop(edge_id, None)
        for key, plan in list(self._links.items()):
            if plan.edge_namespace == namespace:
                self._remove_link(self._links.pop(key))

    def _configure_speakers(self, neighbors: dict[str, Neighbor]) -> None:
        for namespace in self._msee:
            on_device = [
                (n, self._links[n.key].msee_interface)
                for n in neighbors.values()
                if self.names.msee_namespace(n.device) == namespace
            ]
            self._apply_daemon(bird.Daemon(namespace, self.names.run_dir), bird.msee_config(namespace, on_device))

    @staticmethod
    def _apply_daemon(daemon: bird.Daemon, config: str) -> None:
        """One daemon refusing its configuration must not hold up the rest of the wire."""
        try:
            daemon.apply(config)
        except (host.HostError, OSError) as exc:
            log.warning("%s", exc)

    def _configure_edges(self, edges: dict[tuple[str, str], Edge]) -> None:
        for edge_id, edge in edges.items():
            namespace = self._edges[edge_id]
            daemon = bird.Daemon(namespace, self.names.run_dir)
            peers = [
                (p, self._links[p.neighbor_key].partner_interface, self._neighbors[p.neighbor_key].msee_address)
                for p in edge.peers
                if p.neighbor_key in self._links
            ]
            config = bird.edge_config(f"{edge.service_key}/{edge.link}", peers)
            self._edge_configs[edge_id] = config
            if edge.router == "bird":
                self._apply_daemon(daemon, config)
            else:
                daemon.stop()

    # -- reading the wire ----------------------------------------------------------------------------
    def _read(self, key: str) -> tuple[Neighbor, LinkPlan] | None:
        """What was applied for a neighbour (callers refresh first, once per answer)."""
        neighbor, plan = self._neighbors.get(key), self._links.get(key)
        return (neighbor, plan) if neighbor and plan else None

    def arp_table(self, key: str) -> list[dict[str, Any]] | None:
        """The MSEE interface's kernel neighbour table, in the troubleshooting shape; None when
        the link is not on the wire."""
        with self._lock:
            found = self._read(key)
            if found is None:
                return None
            neighbor, plan = found
            if not plan.msee_up:
                return []
            own = host.mac_address(plan.msee_namespace, plan.msee_interface)
            rows = [{"age": 0, "interface": "Microsoft", "ipAddress": neighbor.msee_address, "macAddress": _cisco(own)}]
            entries = host.neighbours(plan.msee_namespace, plan.msee_interface)
            if not entries:  # nothing has spoken on the link yet: resolve, as the MSEE would
                host.probe(plan.msee_namespace, neighbor.partner_address)
                entries = host.neighbours(plan.msee_namespace, plan.msee_interface)
        partner: dict[str, Any] = {
            "age": 0,
            "interface": "On-Prem",
            "ipAddress": neighbor.partner_address,
            "macAddress": "Incomplete",
        }
        for entry in entries:
            states = set(entry.get("state", []))
            if entry.get("lladdr") and not states & {"INCOMPLETE", "FAILED"}:
                partner = {
                    "age": int(entry.get("updated", 0)) // 60,
                    "interface": "On-Prem",
                    "ipAddress": entry["dst"],
                    "macAddress": _cisco(entry["lladdr"]),
                }
                break
        return [partner, *rows]

    def session(self, key: str) -> bird.Protocol | None:
        with self._lock:
            found = self._read(key)
            if found is None:
                return None
            neighbor, plan = found
            daemon = bird.Daemon(plan.msee_namespace, self.names.run_dir)
            return bird.protocol(daemon.command("show", "protocols", "all", f"n_{Names.protocol(key)}"))

    def routes(self, key: str) -> list[bird.Route] | None:
        """What the speaker holds on this neighbour's table: received routes and Microsoft's own."""
        with self._lock:
            found = self._read(key)
            if found is None:
                return None
            neighbor, plan = found
            daemon = bird.Daemon(plan.msee_namespace, self.names.run_dir)
            k = Names.protocol(key)
            return bird.routes(daemon.command("show", "route", "table", f"t_{k}", "all"))

    def gateways(self, key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The gateway instances (and their prefixes) programmed on this neighbour's table."""
        neighbor = self._neighbors.get(key)
        return neighbor.gateways if neighbor else ()

    def msee_address(self, key: str) -> str:
        neighbor = self._neighbors.get(key)
        return neighbor.msee_address if neighbor else ""

    def edge_view(self, service_key: str, link: str) -> dict[str, Any] | None:
        """The partner edge on one link: namespace, interfaces, generated configuration (keys
        masked) and the daemon's own view."""
        with self._lock:
            with contextlib.suppress(Exception):
                self.reconcile()
            edge_id = (service_key.lower(), link)
            edge = self._edge_specs.get(edge_id)
            namespace = self._edges.get(edge_id)
            if edge is None or namespace is None:
                return None
            interfaces = [
                {
                    "peering": p.neighbor_key.split("/", 2)[2],
                    "interface": self._links[p.neighbor_key].partner_interface,
                    "address": self._links[p.neighbor_key].partner_address,
                    "mac": host.mac_address(namespace, self._links[p.neighbor_key].partner_interface),
                    "mseeAddress": self._neighbors[p.neighbor_key].msee_address,
                }
                for p in edge.peers
                if p.neighbor_key in self._links
            ]
            daemon = bird.Daemon(namespace, self.names.run_dir)
            view: dict[str, Any] = {
                "namespace": namespace,
                "router": edge.router,
                "interfaces": interfaces,
                "configuration": bird.masked(self._edge_configs.get(edge_id, "")),
            }
            if edge.router == "bird":
                view["daemon"] = {
                    "protocols": daemon.command("show", "protocols", "all"),
                    "routes": daemon.command("show", "route", "all"),
                }
            else:
                view["instructions"] = (
                    f"Run your router inside the namespace: ip netns exec {namespace} <your router>, or "
                    f"crossconnect lab shell {service_key} {link}. Peer from the interface above with "
                    "the MSEE address, AS 12076 and the peering's MD5 key."
                )
            return view


def _by_link(plans: Any) -> dict[str, LinkPlan]:
    """One plan per link (MSEE interface), its addresses those of every neighbour on it."""
    groups: dict[str, list[LinkPlan]] = {}
    for plan in plans:
        groups.setdefault(plan.msee_interface, []).append(plan)
    return {
        interface: replace(
            min(group, key=lambda p: ":" in p.msee_address),  # the IPv4 neighbour's plan leads
            msee_address=" ".join(sorted(p.msee_address for p in group)),
            partner_address=" ".join(sorted(p.partner_address for p in group if p.partner_address)),
        )
        for interface, group in groups.items()
    }


def _peer(edge: Edge | None, key: str) -> EdgePeer | None:
    return next((p for p in edge.peers if p.neighbor_key == key), None) if edge else None


def _cisco(mac: str) -> str:
    """aa:bb:cc:dd:ee:ff -> aabb.ccdd.eeff, the MSEE's own notation."""
    digits = mac.replace(":", "").lower()
    return f"{digits[0:4]}.{digits[4:8]}.{digits[8:12]}" if len(digits) == 12 else mac


def _alive(pid_file: Any) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid != os.getpid()


def sweep(names: Names) -> list[str]:
    """Remove what crossconnect left behind: this instance's namespaces (a crash of the previous
    run) and those of instances whose server is gone. Namespaces without our prefix, and those of
    servers still running, are never touched."""
    removed = []
    for namespace in host.namespaces():
        match = NAMESPACE_PATTERN.match(namespace)
        if not match:
            continue
        instance = match.group(1)
        if instance != names.instance and _alive(RUN_ROOT / f"{instance}.pid"):
            continue
        host.delete_namespace(namespace)
        removed.append(namespace)
        if instance != names.instance:
            shutil.rmtree(RUN_ROOT / instance, ignore_errors=True)
            (RUN_ROOT / f"{instance}.pid").unlink(missing_ok=True)
    shutil.rmtree(names.run_dir, ignore_errors=True)
    return removed
