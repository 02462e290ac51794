"""What ``--fabric netns`` needs from the host, checked before the server starts: one line that
says what is missing and what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path


def missing() -> str | None:
    if os.geteuid() != 0:
        return "--fabric netns needs root (network namespaces and veth pairs); run as root or use --fabric model."
    for tool, package in (("ip", "iproute2"), ("bird", "bird2"), ("birdc", "bird2")):
        if shutil.which(tool) is None:
            return f"--fabric netns needs '{tool}': apt-get install -y {package}, or use --fabric model."
    probe = f"cx-probe-{uuid.uuid4().hex[:8]}"
    added = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if added.returncode != 0:
        reason = added.stderr.strip().splitlines()[-1] if added.stderr.strip() else "unknown error"
        return f"--fabric netns: this host cannot create network namespaces ({reason}); use --fabric model."
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


def qinq_supported() -> bool:
    """Can this kernel make 802.1ad/802.1Q sub-interfaces? (The module is loaded or loadable.)"""
    if Path("/proc/net/vlan").exists():
        return True
    return subprocess.run(["modprobe", "-n", "8021q"], capture_output=True).returncode == 0


def uplink_problem(uplink: str | None) -> str | None:
    if uplink is None:
        return None
    if not Path(f"/sys/class/net/{uplink}").exists():
        return f"--fabric-uplink: no interface '{uplink}' on this host; name an existing NIC or leave it out."
    if not qinq_supported():
        return "--fabric-uplink needs 802.1ad/802.1Q support, which this kernel lacks; leave it out (links use veth pairs)."
    return (
        "--fabric-uplink is not implemented in this build (QinQ sub-interfaces are untested); "
        "leave it out (links use veth pairs)."
    )
