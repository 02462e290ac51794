"""What a user gets on disk: ``crossconnect env``, the credentials file, the CA that stays the same
across restarts, and a store that never holds a client secret in clear."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Server, crossconnect
from tests.support.platform import WRITER, ServerFactory, dedicated_servers, group_url

PRINCIPAL_KEYS = {"client_id", "client_secret", "object_id", "subscription_id"}
OPTIONAL_PRINCIPALS = {"admin"}


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


def _env(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return crossconnect("env", "--data-dir", str(data_dir), *args)


def test_env_json_has_exactly_the_documented_keys(server: Server) -> None:
    result = _env(server.data_dir, "--json")
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)
    documented = {"arm_endpoint", "authority_host", "ca_bundle", "tenant_id", "partner", "customer", "operator"}
    assert documented <= set(env)
    # beyond those, only further seeded principals of the same shape (the subscription admin)
    assert set(env) - documented <= OPTIONAL_PRINCIPALS | {"user", "groups"}, set(env) - documented
    for role in ("partner", "customer", *(set(env) & OPTIONAL_PRINCIPALS)):
        assert set(env[role]) == PRINCIPAL_KEYS, (role, env[role])
    # the seeded admin user, who signs in interactively (portal, az login --use-device-code)
    assert set(env["user"]) == {"username", "password", "object_id"}
    # the seeded group, Network Contributor on the provider subscription, the partner its member
    assert [set(g) for g in env["groups"]] == [{"object_id", "display_name", "role", "scope", "members"}]
    assert env["groups"][0]["members"] == [env["partner"]["object_id"]]
    assert set(env["operator"]) == {"tenant_id", "client_id", "client_secret", "object_id"}
    assert env["arm_endpoint"] == env["authority_host"] == server.base_url
    assert Path(env["ca_bundle"]).read_bytes() == Path(server.ca).read_bytes()
    assert env["tenant_id"] != env["operator"]["tenant_id"]
    assert env["partner"]["subscription_id"] != env["customer"]["subscription_id"]
    # every value is usable: each principal signs in with what env printed
    for role in ("partner", "customer", "operator"):
        assert server.token(role)


def test_env_shell_exports(server: Server) -> None:
    result = _env(server.data_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"export AZURE_TENANT_ID={server.env['tenant_id']}" in lines
    assert f"export AZURE_CLIENT_ID={server.env['partner']['client_id']}" in lines
    assert f"export AZURE_CLIENT_SECRET='{server.env['partner']['client_secret']}'" in lines
    assert f"export AZURE_AUTHORITY_HOST={server.base_url}" in lines
    assert f"export PROVIDER_SUBSCRIPTION_ID={server.subscription('partner')}" in lines
    assert f"export CUSTOMER_SUBSCRIPTION_ID={server.subscription('customer')}" in lines


def test_env_without_a_server(tmp_path: Path) -> None:
    result = _env(tmp_path / "empty", "--json")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "crossconnect serve" in " ".join(result.stderr.split())


def test_private_files_are_owner_only(server: Server) -> None:
    for name in ("credentials.json", "ca-key.pem", "server-key.pem"):
        mode = stat.S_IMODE((server.data_dir / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))


def test_store_never_holds_a_secret_in_clear(backend: str, server: Server) -> None:
    secrets = [server.env[role]["client_secret"] for role in ("partner", "customer", "operator")]
    # exercise the store a little first (sign-ins, a write, a reset)
    server.resources(WRITER).resource_groups.create_or_update("Busy", {"location": "eastus"})
    server.reset()
    exported = server.operator("GET", "/snapshot").text
    credentials = json.loads(exported)["tables"]["client_credentials"]
    assert len(credentials) >= 3 and all(c["secret_hash"] for c in credentials)
    for secret in secrets:
        assert secret not in exported
        assert secret.encode() not in Path(server.log_path or "/dev/null").read_bytes()  # nor logged
    if backend == "sqlite":
        files = [p for p in server.data_dir.iterdir() if p.name.startswith("crossconnect.db")]
        assert files
        blob = b"".join(p.read_bytes() for p in files)
        assert b"client_credentials" in blob  # really the store
        for secret in secrets:
            assert secret.encode() not in blob


def test_certificate_and_credentials_reused_across_restarts(servers: ServerFactory) -> None:
    first = servers.start()
    ca = Path(first.ca).read_bytes()
    credentials = (first.data_dir / "credentials.json").read_bytes()
    rc = first.resources(WRITER)
    rc.resource_groups.create_or_update("Persistent", {"location": "eastus"})
    first.stop()
    second = servers.restart(first)
    assert Path(second.ca).read_bytes() == ca
    assert (second.data_dir / "credentials.json").read_bytes() == credentials
    assert second.env == first.env
    # a client that trusted the old CA file connects, signs in and sees the old state
    with second.http(WRITER) as c:
        assert c.get(group_url(second.subscription(WRITER), "persistent")).json()["name"] == "Persistent"
