"""Test support: run a real crossconnect server (subprocess, HTTPS) and build real clients."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
# ../shared next to the checkout; CROSSCONNECT_TEST_SHARED points elsewhere (a git worktree's parent
# is not the main checkout's).
SHARED = Path(os.environ.get("CROSSCONNECT_TEST_SHARED") or REPO.parent / "shared")
ARM_SCOPE = "https://management.azure.com/.default"


def crossconnect(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the ``crossconnect`` command of this checkout with ``args``; its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_admin_url() -> str:
    return os.environ.get("CROSSCONNECT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(postgres_admin_url(), connect_timeout=3):
            return True
    except Exception:
        return False


def require_postgres() -> None:
    """Skip the test when PostgreSQL is not reachable; in CI (which starts it, see .ci/run) that
    is a failure, never a silent skip."""
    if postgres_available():
        return
    if os.environ.get("CI"):
        pytest.fail("PostgreSQL is not reachable in CI (see .ci/run)")
    pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")


def create_postgres_database() -> str:
    """A fresh, empty database for one server; returns its URL."""
    import psycopg

    name = f"crossconnect_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url().rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_postgres_database(url: str) -> None:
    """Drop a database made by ``create_postgres_database`` (CI runs on a machine that keeps its
    PostgreSQL between runs: what a test makes, it removes)."""
    import psycopg

    with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@dataclass
class Server:
    """A crossconnect server process and the credentials it seeded."""

    data_dir: Path
    port: int
    database: str | None = None
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, Any] = field(default_factory=dict)
    log_path: Path | None = None
    # Extra environment variables for the server process (e.g. CROSSCONNECT_CAPTURE_RESPONSES).
    process_env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> str:
        return str(self.data_dir / "ca.pem")

    def start(self, timeout: float = 30) -> Server:
        args = [
            sys.executable,
            "-m",
            "crossconnect.cli.main",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            *self.extra_args,
        ]
        if self.database:
            args += ["--database", self.database]
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env={**os.environ, **self.process_env}
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                r = httpx.get(f"{self.base_url}/_crossconnect/health", verify=self.tls(), timeout=1)
                if r.status_code == 200:
                    break
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(f"server did not come up:\n{self.log_path.read_text()}")
        out = subprocess.check_output(
            [sys.executable, "-m", "crossconnect.cli.main", "env", "--data-dir", str(self.data_dir), "--json"]
        )
        self.env = json.loads(out)
        return self

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=20)

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca)

    # -- clients -----------------------------------------------------------------------------
    def principal(self, role: str) -> dict[str, Any]:
        return dict(self.env[role])

    def tenant_for(self, role: str) -> str:
        return str(self.env[role].get("tenant_id") or self.env["tenant_id"])

    def credential(self, role: str = "partner") -> Any:
        from azure.identity import ClientSecretCredential

        p = self.env[role]
        return ClientSecretCredential(
            self.tenant_for(role),
            p["client_id"],
            p["client_secret"],
            authority=self.base_url,
            disable_instance_discovery=True,
            connection_verify=self.ca,
        )

    def subscription(self, role: str = "partner") -> str:
        return str(self.env[role]["subscription_id"])

    def network(self, role: str = "partner", subscription: str | None = None) -> Any:
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(
            self.credential(role),
            subscription or self.subscription(role),
            base_url=self.base_url,
            connection_verify=self.ca,
            polling_interval=1,
        )

    # Resource groups, providers and features are managed by the subscription administrator
    # (Owner); the partner holds Network Contributor on the provider subscription, as on Azure.
    def resources(self, role: str = "admin", subscription: str | None = None) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(
            self.credential(role),
            subscription or self.subscription(role),
            base_url=self.base_url,
            connection_verify=self.ca,
            polling_interval=1,
        )

    def token(self, role: str = "partner", scope: str = ARM_SCOPE) -> str:
        p = self.env[role]
        r = httpx.post(
            f"{self.base_url}/{self.tenant_for(role)}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": p["client_id"],
                "client_secret": p["client_secret"],
                "scope": scope,
            },
            verify=self.tls(),
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def http(self, role: str | None = "admin") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(role)}"} if role else {}
        return httpx.Client(base_url=self.base_url, verify=self.tls(), headers=headers, timeout=30)

    def operator(self, method: str, path: str, body: Any = None) -> httpx.Response:
        with self.http("operator") as client:
            return client.request(method, f"/_crossconnect{path}", json=body)

    def reset(self) -> None:
        r = self.operator("POST", "/reset")
        assert r.status_code == 200, r.text

    def snapshot(self) -> dict[str, Any]:
        """All state, for 'nothing changed' assertions (operations, timestamps and the access-control
        generation token excluded)."""
        r = self.operator("GET", "/snapshot")
        assert r.status_code == 200, r.text
        tables = r.json()["tables"]
        for row in tables.get("resources", []):
            row.pop("updated_at", None)
        # the access-control generation is a cache key, not state: an import writes a fresh one
        tables.pop("rbac_generation", None)
        return tables


@contextlib.contextmanager
def running_replicas(base: Path) -> Iterator[tuple[Server, Server]]:
    """Two server processes (replicas) on one fresh PostgreSQL database, with the same credentials
    and certificates (the second copies the first's), each with its own port and data dir under
    ``base``; stopped and the database dropped afterwards."""
    database = create_postgres_database()
    # As behind one load balancer: both replicas issue tokens for one public URL (the issuer), so
    # each accepts the other's.
    first_port = free_port()
    public = ["--public-url", f"https://127.0.0.1:{first_port}"]
    first = Server(base / "first", first_port, database, public)
    # the second replica: the same credentials, certificates and key-encryption key (it opens the
    # signing keys in the database), its own port and data dir
    second = Server(base / "second", free_port(), database, public)
    try:
        first.start()
        second.data_dir.mkdir()
        for name in ("credentials.json", "ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "key-encryption.key"):
            shutil.copy2(first.data_dir / name, second.data_dir / name)
        second.start()
        yield first, second
    finally:
        second.stop()
        first.stop()
        drop_postgres_database(database)


def settled_snapshot(server: Server, timeout: float = 15) -> dict[str, Any]:
    """All state once no operation is still running (a reconciler finishing one between two
    snapshots would otherwise look like a change); after ``timeout`` seconds, as it is."""
    deadline = time.time() + timeout
    while True:
        tables = server.snapshot()
        if all(op["status"] != "InProgress" for op in tables.get("operations", [])) or time.time() > deadline:
            return tables
        time.sleep(0.05)
