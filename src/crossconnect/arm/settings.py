"""Settings the ARM protocol reads (a subset of the server configuration)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ArmSettings:
    strict_api_versions: bool = False
    operation_delay: float = 0.0
    page_size: int = 100
