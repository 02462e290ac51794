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

# Every Microsoft.Network api-version a real client sends, from the 2015 GA to the version
# the current SDK (azure-mgmt-network 33.x) sends.
NETWORK_VERSIONS = [
    "2015-06-15",
    "2016-03-30",
    "2016-06-01",
    "2016-07-01",
    "2016-08-01",
    "2016-09-01",
    "2016-10-01",
    "2016-11-01",
    "2016-12-01",
    "2017-03-01",
    "2017-04-01",
    "2017-06-01",
    "2017-08-01",
    "2017-09-01",
    "2017-10-01",
    "2017-11-01",
    "2018-01-01",
    "2018-02-01",
    "2018-04-01",
    "2018-06-01",
    "2018-07-01",
    "2018-08-01",
    "2018-10-01",
    "2018-11-01",
    "2018-12-01",
    "2019-02-01",
    "2019-04-01",
    "2019-06-01",
    "2019-07-01",
    "2019-08-01",
    "2019-09-01",
    "2019-11-01",
    "2019-12-01",
    "2020-03-01",
    "2020-04-01",
    "2020-05-01",
    "2020-06-01",
    "2020-07-01",
    "2020-08-01",
    "2020-11-01",
    "2021-02-01",
    "2021-03-01",
    "2021-05-01",
    "2021-06-01",
    "2021-08-01",
    "2021-12-01",
    "2022-01-01",
    "2022-05-01",
    "2022-07-01",
    "2022-09-01",
    "2022-11-01",
    "2023-02-01",
    "2023-04-01",
    "2023-05-01",
    "2023-06-01",
    "2023-09-01",
    "2023-11-01",
    "2024-01-01",
    "2024-03-01",
    "2024-05-01",
    "2024-07-01",
    "2024-10-01",
    "2025-01-01",
    "2025-03-01",
    "2025-05-01",
    "2025-07-01",
    "2026-01-01",
    "2026-03-01",
]

RESOURCES_VERSIONS = [
    "2014-04-01",
    "2015-01-01",
    "2015-11-01",
    "2016-02-01",
    "2016-06-01",
    "2016-07-01",
    "2016-09-01",
    "2017-05-10",
    "2018-02-01",
    "2018-05-01",
    "2019-03-01",
    "2019-05-01",
    "2019-05-10",
    "2019-07-01",
    "2019-08-01",
    "2019-10-01",
    "2020-06-01",
    "2020-08-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
    "2025-04-01",
]

SUBSCRIPTIONS_VERSIONS = [
    "2014-04-01",
    "2015-01-01",
    "2016-06-01",
    "2018-06-01",
    "2019-06-01",
    "2019-11-01",
    "2020-01-01",
    "2021-01-01",
    "2022-01-01",
    "2022-09-01",
    "2022-12-01",
    "2024-08-01",
]

FEATURES_VERSIONS = ["2014-08-01-preview", "2015-12-01", "2021-07-01"]

# Microsoft.Authorization roleAssignments/roleDefinitions: azure-mgmt-authorization 4.0.0 sends
# 2022-04-01, the Azure CLI 2.91 sends 2022-04-01 (assignments) and 2022-05-01-preview (definitions).
AUTHORIZATION_VERSIONS = [
    "2015-07-01",
    "2018-01-01-preview",
    "2018-07-01",
    "2018-09-01-preview",
    "2020-04-01-preview",
    "2020-08-01-preview",
    "2020-10-01-preview",
    "2021-04-01-preview",
    "2022-01-01-preview",
    "2022-04-01",
    "2022-05-01-preview",
]

METADATA_VERSIONS = ["2015-01-01", "2018-01-01", "2019-05-01", "2020-06-01", "2022-09-01"]


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

    @property
    def newest(self) -> str:
        return max(self.versions, key=_key)

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
