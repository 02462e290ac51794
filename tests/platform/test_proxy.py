"""``crossconnect serve --proxy-port``: code written for the public cloud (default authority,
instance discovery on, no base_url; ``az login`` in AzureCloud) runs unchanged against the
server through the intercepting HTTPS proxy; every other host is refused."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support import REPO, Server, free_port

PUBLIC_CLOUD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from azure.identity import ClientSecretCredential
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    tenant, client_id, secret, subscription = sys.argv[1:5]
    credential = ClientSecretCredential(tenant, client_id, secret)  # the public cloud's defaults
    token = credential.get_token("https://management.azure.com/.default").token
    ResourceManagementClient(credential, subscription).resource_groups.create_or_update("public", {"location": "westus"})
    network = NetworkManagementClient(credential, subscription)
    circuit = network.express_route_circuits.begin_create_or_update("public", "via-proxy", {
        "location": "westus",
        "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
        "properties": {"serviceProviderProperties": {
            "serviceProviderName": "Ibiza Test Provider", "peeringLocation": "Area51", "bandwidthInMbps": 50}},
    }).result()
    print(json.dumps({"token": token, "id": circuit.id, "serviceKey": circuit.service_key,
                      "providers": sorted(p.name for p in network.express_route_service_providers.list())}))
    """
)


def proxy_env(server: Server) -> dict[str, str]:
    """The caller's environment plus what ``crossconnect env --proxy --json`` prints."""
    out = subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "env", "--proxy", "--json", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "CROSSCONNECT_"))}
    env.update(json.loads(out))
    env["PYTHONPATH"] = str(REPO / "src")
    return env


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with its proxy (SQLite; the proxy does not depend on the store)."""
    proxy_port = free_port()
    server = Server(tmp_path_factory.mktemp("proxied") / "data", free_port(), None, ["--proxy-port", str(proxy_port)])
    server.start()
    server.env["proxy_port"] = proxy_port
    try:
        yield server
    finally:
        server.stop()


def connect(server: Server, target: str) -> tuple[int, str]:
    """Send ``CONNECT target`` to the proxy; the status and body it answers with."""
    with socket.create_connection(("127.0.0.1", server.env["proxy_port"]), timeout=10) as sock:
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


def test_env_proxy_prints_the_exports(proxied: Server) -> None:
    env = proxy_env(proxied)
    assert env["HTTPS_PROXY"] == f"http://127.0.0.1:{proxied.env['proxy_port']}"
    ca = str(Path(proxied.ca).resolve())
    assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"] == env["NODE_EXTRA_CA_CERTS"] == ca
    shell = subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "env", "--proxy", "--data-dir", str(proxied.data_dir)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"export HTTPS_PROXY={env['HTTPS_PROXY']}" in shell.splitlines()


def test_env_proxy_without_a_proxy_says_how_to_start_one(server: Server) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "env", "--proxy", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "runs without the proxy; start it with crossconnect serve" in result.stderr


def test_the_python_sdk_with_public_cloud_defaults(proxied: Server) -> None:
    customer = proxied.principal("customer")
    args = [proxied.env["tenant_id"], customer["client_id"], customer["client_secret"], customer["subscription_id"]]
    result = subprocess.run(
        [sys.executable, "-c", PUBLIC_CLOUD_SCRIPT, *args],
        env=proxy_env(proxied),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    claims = jwt.decode(out["token"], options={"verify_signature": False})
    # the issuer is the server's own, fixed per tenant: the proxied Host header never chooses it
    assert claims["iss"] == f"{proxied.base_url}/{proxied.env['tenant_id']}/v2.0"
    assert claims["aud"].rstrip("/") == "https://management.azure.com"
    assert "Ibiza Test Provider" in out["providers"]
    # the circuit is really on this server (read back directly, not through the proxy)
    circuit = proxied.network("customer").express_route_circuits.get("public", "via-proxy")
    assert (circuit.id, circuit.service_key) == (out["id"], out["serviceKey"])


def test_instance_discovery_points_back_at_the_public_host(proxied: Server) -> None:
    tenant = proxied.env["tenant_id"]
    with httpx.Client(
        proxy=f"http://127.0.0.1:{proxied.env['proxy_port']}", verify=ssl.create_default_context(cafile=proxied.ca)
    ) as client:
        r = client.get(
            "https://login.microsoftonline.com/common/discovery/instance",
            params={
                "api-version": "1.1",
                "authorization_endpoint": f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        endpoint = body["tenant_discovery_endpoint"]
        assert endpoint == f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
        assert "login.windows.net" in body["metadata"][0]["aliases"]
        config = client.get(endpoint).json()
        assert config["token_endpoint"] == f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
        bad = client.get("https://login.microsoftonline.com/common/discovery/instance", params={"api-version": "1.1"})
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_instance"


def test_other_hosts_are_refused(proxied: Server) -> None:
    status, body = connect(proxied, "example.com:443")
    assert status == 403
    assert "refusing 'example.com:443'" in body and "never connects anywhere else" in body
    assert connect(proxied, "management.azure.com:80")[0] == 403  # only TLS on 443 is served
    assert connect(proxied, f"127.0.0.1:{proxied.port}")[0] == 403  # not a way round to local ports either
    with socket.create_connection(("127.0.0.1", proxied.env["proxy_port"]), timeout=10) as sock:
        sock.sendall(b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 405 ")
    # what a client sees: an error, not a connection
    with (
        httpx.Client(proxy=f"http://127.0.0.1:{proxied.env['proxy_port']}") as client,
        pytest.raises(httpx.ProxyError, match="403"),
    ):
        client.get("https://pypi.org/")


def test_the_azure_cli_in_azure_cloud(proxied: Server, azure_cli_executable: Path, tmp_path: Path) -> None:
    env = proxy_env(proxied)
    env.update(AZURE_CONFIG_DIR=str(tmp_path / "azure"), AZURE_CORE_COLLECT_TELEMETRY="false")
    partner = proxied.principal("partner")

    def az(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(azure_cli_executable), *args, "-o", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )

    login = az("login", "--service-principal", "-u", partner["client_id"], "-p", partner["client_secret"],
               "--tenant", proxied.env["tenant_id"])  # fmt: skip
    assert login.returncode == 0, login.stderr
    (account,) = json.loads(login.stdout)
    assert (account["cloudName"], account["id"]) == ("AzureCloud", partner["subscription_id"])
    providers = az("network", "express-route", "list-service-providers")
    assert providers.returncode == 0, providers.stderr
    names = {p["name"] for p in json.loads(providers.stdout)}
    assert names == {p.name for p in proxied.network("partner").express_route_service_providers.list()}
    missing = az("network", "express-route", "show", "-g", "nope", "-n", "nope")
    assert missing.returncode == 3 and "ResourceGroupNotFound" in missing.stderr
    # Microsoft Graph (graph.microsoft.com) through the proxy too: the admin reads the partner's application
    admin = proxied.principal("admin")
    relogin = az("login", "--service-principal", "-u", admin["client_id"], "-p", admin["client_secret"],
                 "--tenant", proxied.env["tenant_id"])  # fmt: skip
    assert relogin.returncode == 0, relogin.stderr
    sp = az("ad", "sp", "show", "--id", partner["client_id"])
    assert sp.returncode == 0, sp.stderr
    assert json.loads(sp.stdout)["displayName"] == "partner-automation"
