"""Server configuration (``crossconnect serve`` flags, each also a CROSSCONNECT_* variable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from crossconnect.app.data_dir import KEY_ENCRYPTION_KEY_FILE
from crossconnect.identity.tokens import TOKEN_LIFETIME


class ConfigError(ValueError):
    """A flag value the server cannot start with (the message names the flag)."""


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8443
    data_dir: Path = Path(".crossconnect")
    database: str | None = None
    bare: bool = False
    operation_delay: float = 0.0
    operation_retention: float = 86400.0  # seconds a finished operation's status stays readable
    strict_api_versions: bool = False
    page_size: int = 100
    public_url: str | None = None  # default: base_url
    token_lifetime: int = TOKEN_LIFETIME
    clock_skew: int = 300
    key_encryption_key_file: Path | None = None  # default: in the data dir
    proxy_port: int | None = None  # the intercepting HTTPS proxy for public-cloud code (app/proxy.py)
    fabric: str = "model"  # model (derived from declared state) or netns (real BGP speakers)
    fabric_uplink: str | None = None
    seed: int | None = None  # every generated value repeats from run to run (entropy.py); tests only
    clock_start: float | None = None  # the clock starts frozen at this instant (epoch seconds)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"https://{host}:{self.port}"

    @property
    def issuer_base(self) -> str:
        """The URL clients know this server by: tokens' issuers are ``{issuer_base}/{tenant}/v2.0``."""
        return public_url(self.public_url) if self.public_url else self.base_url

    @property
    def key_file(self) -> Path:
        return self.key_encryption_key_file or self.data_dir / KEY_ENCRYPTION_KEY_FILE


def public_url(value: str) -> str:
    """``--public-url``: an https origin, optionally with a path; no query or fragment. Trailing
    slashes are dropped (the issuer is ``{public url}/{tenant}/v2.0``)."""
    try:
        parts: SplitResult | None = urlsplit(value.strip())
        _ = parts.port if parts else None  # raises ValueError for a port out of range
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise ConfigError(
            f"--public-url '{value}' is not valid: give the https URL clients use to reach this server, "
            "e.g. https://crossconnect.example.com or https://127.0.0.1:8443."
        )
    return value.strip().rstrip("/")


def clock_start(value: str) -> float:
    """``--clock-start``: an ISO 8601 instant (``2026-01-01T00:00:00Z``; without an offset, UTC)
    between 1970 and 2100."""
    from datetime import UTC, datetime

    try:
        instant = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        instant = None
    if instant is not None and instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    if instant is None or not datetime(1970, 1, 1, tzinfo=UTC) <= instant < datetime(2100, 1, 1, tzinfo=UTC):
        raise ConfigError(
            f"--clock-start '{value}' is not valid: give an ISO 8601 instant between 1970 and 2100, "
            "e.g. 2026-01-01T00:00:00Z."
        )
    return instant.timestamp()
