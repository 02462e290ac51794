"""Helpers for the platform tests: dedicated servers, the server's signing key, minted tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support import Server, create_postgres_database, drop_postgres_database, free_port, require_postgres

RESOURCES_API = "2025-04-01"
SUBSCRIPTIONS_API = "2022-12-01"
FEATURES_API = "2021-07-01"
ARM_AUDIENCE = "https://management.azure.com/"
# The seeded principal that writes on its own subscription (groups, provider and feature
# registrations): the customer application, which is Contributor on the customer subscription once
# role assignments are enforced. The partner application is Network Contributor only: it may read
# resource groups but not create them, as on Azure.
WRITER = "customer"


# -- the store behind a server --------------------------------------------------------------------
def store_url(server: Server) -> str:
    """The SQLAlchemy URL of a server's store (SQLite file in the data dir, or its PostgreSQL database)."""
    from crossconnect.store import database_url

    return database_url(server.database, server.data_dir)


def query(server: Server, sql: str, **params: Any) -> list[dict[str, Any]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(store_url(server))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def key_encryption_key(server: Server) -> bytes:
    """The key that encrypts the signing keys in the store (a file in the data dir)."""
    return (server.data_dir / "key-encryption.key").read_bytes().strip()


def signing_keys(server: Server) -> dict[str, rsa.RSAPrivateKey]:
    """Every signing key in the store, newest last: kid → private key (opened with the data
    dir's key-encryption key, as an operator would with ``openssl pkey``)."""
    rows = query(server, "SELECT kid, private_pem, created_at FROM signing_keys ORDER BY created_at, kid")
    keys = {}
    for row in rows:
        key = serialization.load_pem_private_key(row["private_pem"].encode(), password=key_encryption_key(server))
        assert isinstance(key, rsa.RSAPrivateKey)
        keys[str(row["kid"])] = key
    return keys


def signing_key(server: Server) -> tuple[str, rsa.RSAPrivateKey]:
    """The server's signing key (the newest), read straight from the store (kid, private key)."""
    keys = signing_keys(server)
    assert keys
    kid = list(keys)[-1]
    return kid, keys[kid]


def claims_for(server: Server, role: str = "partner", **overrides: Any) -> dict[str, Any]:
    """Claims shaped like the ones the server issues for ``role``."""
    now = int(time.time())
    p = server.env[role]
    tenant = server.tenant_for(role)
    claims: dict[str, Any] = {
        "aud": ARM_AUDIENCE,
        "iss": f"{server.base_url}/{tenant}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": tenant,
        "oid": p["object_id"],
        "sub": p["object_id"],
        "appid": p["client_id"],
        "azp": p["client_id"],
        "idtyp": "app",
        "ver": "2.0",
        "uti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def mint(
    server: Server,
    role: str = "partner",
    *,
    key: rsa.RSAPrivateKey | None = None,
    kid: str | None = None,
    **overrides: Any,
) -> str:
    """A token signed with the server's own key (or ``key``/``kid`` when given)."""
    if key is None:
        server_kid, key = signing_key(server)
        kid = kid or server_kid
    return jwt.encode(claims_for(server, role, **overrides), key, algorithm="RS256", headers={"kid": kid or "x"})


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- raw HTTP ---------------------------------------------------------------------------------------
def client(server: Server, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.base_url, verify=server.tls(), headers=headers, timeout=30)


def arm_error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    return response.status_code, body["error"]["code"], body["error"]["message"]


def group_url(subscription: str, name: str = "", api_version: str | None = RESOURCES_API) -> str:
    path = f"/subscriptions/{subscription}/resourcegroups" + (f"/{name}" if name else "")
    return path + (f"?api-version={api_version}" if api_version else "")


def wait_until(predicate: Any, timeout: float = 20, interval: float = 0.2) -> Any:
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# -- dedicated servers ------------------------------------------------------------------------------
class ServerFactory:
    """Starts servers of the current backend for one test and stops (and drops) them afterwards."""

    def __init__(self, backend: str, root: Path) -> None:
        self.backend = backend
        self.root = root
        self.servers: list[Server] = []
        self.databases: list[str] = []

    def new_database(self) -> str | None:
        if self.backend != "postgresql":
            return None
        url = create_postgres_database()
        self.databases.append(url)
        return url

    def start(
        self,
        *extra_args: str,
        name: str = "data",
        port: int | None = None,
        database: str | None = None,
        fresh_database: bool = True,
    ) -> Server:
        if database is None and fresh_database:
            database = self.new_database()
        server = Server(self.root / name, port or free_port(), database, list(extra_args))
        self.servers.append(server)
        return server.start()

    def restart(self, old: Server) -> Server:
        """A new process on the same data dir, port and database."""
        server = Server(old.data_dir, old.port, old.database, list(old.extra_args))
        self.servers.append(server)
        return server.start()

    def close(self) -> None:
        for server in self.servers:
            try:
                server.stop()
            except Exception:  # pragma: no cover - best effort
                server.stop(kill=True)
        for url in self.databases:
            drop_postgres_database(url)


def dedicated_servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    """Body of a ``servers`` fixture: ``yield from dedicated_servers(backend, tmp_path)``."""
    if backend == "postgresql":
        require_postgres()
    factory = ServerFactory(backend, tmp_path)
    try:
        yield factory
    finally:
        factory.close()
