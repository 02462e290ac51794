"""``crossconnect az``: the Azure CLI, signed in to this crossconnect server as a seeded principal.

Each principal gets its own ``AZURE_CONFIG_DIR`` in the data dir (``az/<role>``), so a developer's
own ``~/.azure`` is never touched. The first run there registers the server as the cloud
``crossconnect`` (discovered from ``/metadata/endpoints``), makes it the active cloud and runs
``az login --service-principal``; later runs only run the command. The set-up is redone when the
server's URL or the principal changed (a new data dir, another port).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

CLOUD_NAME = "crossconnect"
ROLES = ("partner", "customer", "admin")
MARKER = "crossconnect-login.json"  # what the config dir was set up for (no secrets)
INSTALL_HINT = (
    "install it (https://learn.microsoft.com/cli/azure/install-azure-cli, or `pip install azure-cli` "
    "in a virtualenv), or give its path with --az PATH or CROSSCONNECT_AZ"
)


class AzureCliFailed(RuntimeError):
    """One line for the user, and the exit status to leave with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def find_az(explicit: str | None) -> str:
    """The ``az`` to run: ``--az`` / ``CROSSCONNECT_AZ`` when given, else the one on PATH."""
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise AzureCliFailed(
            f"the Azure CLI given by --az/CROSSCONNECT_AZ ('{explicit}') is not an executable file: {INSTALL_HINT}", 127
        )
    found = shutil.which("az")
    if found is None:
        raise AzureCliFailed(f"the Azure CLI ('az') is not installed or not on PATH: {INSTALL_HINT}", 127)
    return found


def az_environment(config_dir: Path, ca_bundle: str) -> dict[str, str]:
    """The caller's environment with its own Azure CLI settings replaced: the isolated config dir,
    the server's CA, instance discovery off (the authority is not a Microsoft host), no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    env.update(
        AZURE_CONFIG_DIR=str(config_dir),
        REQUESTS_CA_BUNDLE=ca_bundle,
        AZURE_CORE_INSTANCE_DISCOVERY="false",
        AZURE_CORE_COLLECT_TELEMETRY="false",
        AZURE_CORE_SURVEY_MESSAGE="false",
    )
    return env


def _quiet(az: str, args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run([az, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit status {result.returncode}"
        raise AzureCliFailed(f"{what} failed: {reason}", result.returncode)


def ensure_signed_in(az: str, env_json: dict[str, Any], role: str, config_dir: Path) -> dict[str, str]:
    """The environment ``az`` runs in, with the cloud registered and ``role`` logged in."""
    principal = env_json[role]
    base = env_json["arm_endpoint"].rstrip("/")
    tenant = env_json["tenant_id"]
    wanted = {"arm_endpoint": base, "client_id": principal["client_id"], "tenant_id": tenant}
    marker = config_dir / MARKER
    env = az_environment(config_dir, env_json["ca_bundle"])
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return env
    shutil.rmtree(config_dir, ignore_errors=True)  # a config for another server or principal
    config_dir.mkdir(parents=True, mode=0o700)
    _quiet(
        az,
        ["cloud", "register", "-n", CLOUD_NAME, "--endpoint-resource-manager", f"{base}/", "-o", "none"],
        env,
        f"registering the crossconnect cloud ({base})",
    )
    _quiet(az, ["cloud", "set", "-n", CLOUD_NAME, "-o", "none"], env, "selecting the crossconnect cloud")
    _quiet(
        az,
        ["login", "--service-principal", "-u", principal["client_id"], "-p", principal["client_secret"],
         "--tenant", tenant, "-o", "none"],
        env,
        f"az login as the {role} principal",
    )  # fmt: skip
    marker.write_text(json.dumps(wanted))
    return env


def run(az: str, env_json: dict[str, Any], role: str, data_dir: Path, args: list[str]) -> int:
    """Run ``az ARGS`` as ``role``; its exit status (its output goes straight to ours)."""
    if role not in ROLES or role not in env_json:
        raise AzureCliFailed(f"--as must be one of {', '.join(r for r in ROLES if r in env_json)}, not '{role}'", 2)
    env = ensure_signed_in(az, env_json, role, data_dir / "az" / role)
    return subprocess.call([az, *args], env=env)
