"""Settings the ARM protocol reads (a subset of the server configuration)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ArmSettings:
    strict_api_versions: bool = False
    operation_delay: float = 0.0
    page_size: int = 100
    # Seconds a finished operation's status stays readable before the reconciler purges it
    # (``--operation-retention``; docs/behaviour.md "Operation retention").
    operation_retention: float = 86400.0
