"""The host side: namespaces, veth pairs, addresses and link states, through iproute2.

Interfaces are created directly inside their namespaces (``ip link add … netns …``), so nothing
ever appears in the host's own namespace. Commands take argument lists (no shell); none of them
carries a secret (MD5 keys live only in the daemons' configuration files).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any


class HostError(RuntimeError):
    pass


def run(*args: str, check: bool = True, timeout: float = 10) -> str:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise HostError(f"{' '.join(args[:6])}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def namespaces() -> list[str]:
    out = run("ip", "-j", "netns", "list", check=False).strip()
    return [entry["name"] for entry in json.loads(out or "[]")]


def add_namespace(name: str) -> None:
    run("ip", "netns", "add", name)
    run("ip", "-n", name, "link", "set", "lo", "up")


def namespace_pids(name: str) -> list[int]:
    return [int(p) for p in run("ip", "netns", "pids", name, check=False).split() if p.isdigit()]


def delete_namespace(name: str) -> None:
    """Stop every process in the namespace (only ours live there), then remove it; its veth
    ends go with it, and so do their peers in the other namespaces."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = namespace_pids(name)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.time() + 2
        while pids and time.time() < deadline and namespace_pids(name):
            time.sleep(0.05)
    run("ip", "netns", "delete", name, check=False)


def interfaces(namespace: str) -> dict[str, dict[str, Any]]:
    out = run("ip", "-n", namespace, "-j", "addr", "show", check=False).strip()
    return {entry["ifname"]: entry for entry in json.loads(out or "[]") if entry.get("ifname") != "lo"}


def add_veth(name: str, namespace: str, peer: str, peer_namespace: str) -> None:
    run("ip", "link", "add", name, "netns", namespace, "type", "veth", "peer", "name", peer, "netns", peer_namespace)


def delete_interface(namespace: str, name: str) -> None:
    run("ip", "-n", namespace, "link", "delete", name, check=False)


def set_addresses(namespace: str, interface: str, addresses: list[str]) -> None:
    """Exactly these addresses on the interface. IPv6 ones skip duplicate address detection
    (nodad): the link is ours alone, and BGP can bind the address at once."""
    run("ip", "-n", namespace, "addr", "flush", "dev", interface, check=False)
    for address in addresses:
        run("ip", "-n", namespace, "addr", "add", address, "dev", interface, *(["nodad"] if ":" in address else []))


def set_up(namespace: str, interface: str, up: bool) -> None:
    run("ip", "-n", namespace, "link", "set", interface, "up" if up else "down")


def neighbours(namespace: str, interface: str) -> list[dict[str, Any]]:
    out = run("ip", "-n", namespace, "-j", "-s", "neigh", "show", "dev", interface, check=False).strip()
    return list(json.loads(out or "[]"))


def mac_address(namespace: str, interface: str) -> str:
    out = run("ip", "-n", namespace, "-j", "link", "show", "dev", interface, check=False).strip()
    entries = json.loads(out or "[]")
    return str(entries[0]["address"]) if entries else ""


def probe(namespace: str, address: str) -> None:
    """Make the kernel resolve ``address`` on a link (one UDP datagram to the discard port, sent
    inside the namespace, so it never leaves it), then give the ARP reply a moment."""
    send = f"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'', ({address!r}, 9))"
    run("ip", "netns", "exec", namespace, sys.executable, "-c", send, check=False)
    time.sleep(0.05)
