"""``crossconnect az``: the real Azure CLI, signed in to the server as a seeded principal, its
exit status and output passed through unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import REPO, Server


def crossconnect_az(
    server: Server, *args: str, az: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "CROSSCONNECT_"))}
    base["PYTHONPATH"] = str(REPO / "src")
    if az is not None:
        base["CROSSCONNECT_AZ"] = str(az)
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "az", "--data-dir", str(server.data_dir), *args],
        capture_output=True,
        text=True,
        env=base,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_the_partner_lists_the_service_providers(server: Server, azure_cli_executable: Path) -> None:
    result = crossconnect_az(
        server, "network", "express-route", "list-service-providers", "-o", "json", az=azure_cli_executable
    )
    assert result.returncode == 0, result.stderr
    names = {p["name"] for p in json.loads(result.stdout)}
    assert names == {p.name for p in server.network("partner").express_route_service_providers.list()}
    assert "Equinix" in names
    account = json.loads(crossconnect_az(server, "account", "show", az=azure_cli_executable).stdout)
    assert account["id"] == server.subscription("partner")
    assert account["user"] == {"name": server.principal("partner")["client_id"], "type": "servicePrincipal"}
    assert account["environmentName"] == "crossconnect"


def test_as_customer_with_the_az_option(server: Server, azure_cli_executable: Path) -> None:
    result = crossconnect_az(
        server, "--as", "customer", "--az", str(azure_cli_executable), "account", "show", "--query", "id", "-o", "tsv"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == server.subscription("customer")
    # the customer (Contributor) creates a resource group: a write goes through as that principal
    made = crossconnect_az(
        server, "--as", "customer", "group", "create", "-n", "from-az", "-l", "westus", az=azure_cli_executable
    )
    assert made.returncode == 0, made.stderr
    assert server.resources("customer").resource_groups.check_existence("from-az")


def test_exit_status_and_error_pass_through(server: Server, azure_cli_executable: Path) -> None:
    result = crossconnect_az(server, "group", "show", "-n", "no-such-group", az=azure_cli_executable)
    direct = subprocess.run([str(azure_cli_executable), "group", "show", "--help"], capture_output=True, text=True)
    assert direct.returncode == 0
    assert result.returncode == 3, (result.returncode, result.stderr)  # az's own status for "not found"
    assert "ResourceGroupNotFound" in result.stderr
    assert result.stdout == ""


def test_az_missing_is_one_line_that_says_how_to_install(server: Server, tmp_path: Path) -> None:
    result = crossconnect_az(server, "account", "show", env={"PATH": str(tmp_path)})
    assert result.returncode == 127
    assert result.stderr.count("\n") == 1, result.stderr
    assert "the Azure CLI ('az') is not installed or not on PATH: install it" in result.stderr
    assert "--az PATH or CROSSCONNECT_AZ" in result.stderr
    wrong = crossconnect_az(server, "account", "show", az=tmp_path / "nope")
    assert wrong.returncode == 127 and "is not an executable file" in wrong.stderr


def test_an_unknown_principal_is_refused(server: Server, azure_cli_executable: Path) -> None:
    result = crossconnect_az(server, "--as", "operator", "account", "show", az=azure_cli_executable)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --as must be one of partner, customer, admin, not 'operator'"
