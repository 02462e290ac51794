"""Names of everything the netns backend creates on the host.

Every name starts with ``cx`` and carries the server's instance id, so several servers on one
machine never collide and a sweep can tell whose leftovers a name is. Interface names must fit
Linux's 15 characters: ``cx`` + 5 (instance) + 1 (role) + 7 (link hash) = 15.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

PREFIX = "cx"
NAMESPACE_PREFIX = "cx-"
RUN_ROOT = Path("/run/crossconnect")
IFNAME_MAX = 15

# the namespace names this backend makes: cx-<instance>-msee-<device> and cx-<instance>-edge-<key>-<link>
NAMESPACE_PATTERN = re.compile(r"^cx-([0-9a-f]{5})-(msee|edge)-")


def _hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text).lower()


@dataclass(frozen=True)
class Names:
    instance: str  # 5 hex characters, derived from the server's data dir

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Names:
        return cls(_hash(str(data_dir.resolve()), 5))

    @property
    def run_dir(self) -> Path:
        """Config files, control sockets and pid files of this server's daemons (mode 0700)."""
        return RUN_ROOT / self.instance

    @property
    def owner_file(self) -> Path:
        """Holds the pid of the server that owns this instance's namespaces."""
        return RUN_ROOT / f"{self.instance}.pid"

    def msee_namespace(self, device: str) -> str:
        return f"{NAMESPACE_PREFIX}{self.instance}-msee-{_safe(device)}"

    def edge_namespace(self, service_key: str, link: str) -> str:
        return f"{NAMESPACE_PREFIX}{self.instance}-edge-{_safe(service_key)[:12]}-{link}"

    def owns(self, namespace: str) -> bool:
        return namespace.startswith(f"{NAMESPACE_PREFIX}{self.instance}-")

    def interface(self, role: str, link_key: str) -> str:
        """``role``: m (MSEE end), p (partner end), n/q (the far ends when the tags do not match)."""
        name = f"{PREFIX}{self.instance}{role}{_hash(link_key, 7)}"
        assert len(name) <= IFNAME_MAX
        return name

    @staticmethod
    def protocol(key: str) -> str:
        """A BIRD protocol/table suffix for a neighbour key."""
        return _hash(key, 10)
