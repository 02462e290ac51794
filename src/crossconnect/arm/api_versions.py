"""api-version handling: every resource type declares the versions it knows.

A well-formed version newer than the newest known is served with the newest shape (real
clients move faster than any emulator) unless the server runs with ``--strict-api-versions``.
An unknown older or malformed version gets Azure's error naming the supported versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from crossconnect.arm.errors import BadRequest

_WELL_FORMED = re.compile(r"^\d{4}-\d{2}-\d{2}(-(preview|privatepreview|alpha|beta))?$", re.IGNORECASE)


def _key(version: str) -> tuple[str, int]:
    # "2024-01-01-preview" sorts before "2024-01-01"
    base = version[:10]
    return base, 0 if len(version) > 10 else 1


@dataclass(frozen=True)
class ApiVersions:
    versions: tuple[str, ...]
    provider_type: str | None = None  # e.g. "expressRouteCrossConnections"; None for ARM core

    @classmethod
    def of(cls, versions: list[str] | tuple[str, ...], provider_type: str | None = None, since: str | None = None):
        chosen = tuple(v for v in versions if since is None or _key(v) >= _key(since))
        return cls(chosen, provider_type)

    @cached_property
    def newest(self) -> str:
        return max(self.versions, key=_key)  # (read on every inner request: worked out once)

    @cached_property
    def _known(self) -> dict[str, str]:
        return {v.lower(): v for v in self.versions}

    def check(self, version: str, strict: bool) -> str:
        """Return the version whose shape to serve, or raise Azure's error."""
        known = self._known.get(version.lower())
        if known is not None:
            return known
        if _WELL_FORMED.match(version) and not strict and _key(version.lower()) > _key(self.newest):
            return self.newest
        supported = ", ".join(sorted(self.versions, key=_key, reverse=True))
        if self.provider_type is not None:
            raise BadRequest(
                f"No registered resource provider found for location 'global' and API version '{version}' for type "
                f"'{self.provider_type}'. The supported api-versions are '{supported}'. "
                "The supported locations are ', global'.",
                "NoRegisteredProviderFound",
            )
        raise BadRequest(
            f"The api-version '{version}' is invalid. The supported versions are '{supported}'.",
            "InvalidApiVersionParameter",
        )
