"""Action patterns as Azure RBAC reads them.

An action is ``{Namespace}/{resourceType}[/{childType}...]/{verb}``, e.g.
``Microsoft.Network/expressRouteCrossConnections/peerings/write``. A pattern may contain ``*``,
which matches any run of characters *including* ``/`` (``Microsoft.Authorization/*/read`` matches
``Microsoft.Authorization/roleAssignments/read``; ``*/read`` matches every read). Matching is
case-insensitive (built-in roles themselves mix ``*/Write`` and ``*/write``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field


def compile_patterns(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression matching any of ``patterns`` (None for no patterns)."""
    alternatives = [".*".join(re.escape(part) for part in p.strip().split("*")) for p in patterns if p.strip()]
    if not alternatives:
        return None
    return re.compile("(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


@dataclass(frozen=True)
class Permission:
    """One ``permissions[]`` entry of a role definition (control-plane part is what ARM checks)."""

    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    _allow: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _deny: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allow", compile_patterns(self.actions))
        object.__setattr__(self, "_deny", compile_patterns(self.not_actions))

    def allows(self, action: str) -> bool:
        """``action`` is granted: matched by an action and by no notAction of this permission."""
        if self._allow is None or not self._allow.fullmatch(action):
            return False
        return self._deny is None or not self._deny.fullmatch(action)

    def to_json(self) -> dict[str, list[str]]:
        return {
            "actions": list(self.actions),
            "notActions": list(self.not_actions),
            "dataActions": list(self.data_actions),
            "notDataActions": list(self.not_data_actions),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Permission:
        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key) or []
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(strings("actions"), strings("notActions"), strings("dataActions"), strings("notDataActions"))
