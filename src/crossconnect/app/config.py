"""Server configuration (``crossconnect serve`` flags, each also a CROSSCONNECT_* variable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8443
    data_dir: Path = Path(".crossconnect")
    database: str | None = None
    bare: bool = False
    operation_delay: float = 0.0
    strict_api_versions: bool = False
    page_size: int = 100
    fabric: str = "model"  # model (derived from declared state) or netns (real BGP speakers)
    fabric_uplink: str | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"https://{host}:{self.port}"
