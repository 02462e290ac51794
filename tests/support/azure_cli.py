"""The real Azure CLI for the test suite.

``ensure_azure_cli()`` installs ``azure-cli`` (pinned) with pip into a cached virtualenv, by default
``~/.cache/crossconnect/azure-cli-venv`` (override: ``CROSSCONNECT_AZURE_CLI_VENV``), when it is
missing or broken. Creation holds a file lock beside the virtualenv, so parallel test processes
(pytest-xdist workers, two checkouts) install it once and the others wait and reuse it.

``AzureCli`` runs ``az`` against one ``tests.support.Server`` the way clients.md §4 says a custom
cloud has to be driven: an isolated ``AZURE_CONFIG_DIR``, ``REQUESTS_CA_BUNDLE`` = the server's CA,
instance discovery, telemetry and colour off. JSON output is parsed; a non-zero exit raises
``AzureCliError`` carrying the command, the exit code and stderr.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import Server

AZURE_CLI_VERSION = "2.91.0"
VENV_ENV = "CROSSCONNECT_AZURE_CLI_VENV"
DEFAULT_VENV = Path.home() / ".cache" / "crossconnect" / "azure-cli-venv"
CLOUD_NAME = "crossconnect"
INSTALL_TIMEOUT = 45 * 60
COMMAND_TIMEOUT = 180

Progress = Callable[[str], None]


class AzureCliInstallError(RuntimeError):
    """The Azure CLI could not be installed into the cached virtualenv."""


class AzureCliError(RuntimeError):
    """``az`` exited non-zero."""

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args_ = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"`az {' '.join(args)}` exited {returncode}\n--- stderr ---\n{stderr.strip()}")


# -- installation ----------------------------------------------------------------------------------


def venv_path() -> Path:
    return Path(os.environ.get(VENV_ENV) or DEFAULT_VENV).expanduser()


def az_path(venv: Path) -> Path:
    return venv / "bin" / "az"


def _isolated_env(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_") and k != "VIRTUAL_ENV"}
    env.update(
        AZURE_CONFIG_DIR=str(config_dir),
        AZURE_CORE_COLLECT_TELEMETRY="false",
        AZURE_CORE_NO_COLOR="1",
        AZURE_CORE_SURVEY_MESSAGE="false",
    )
    return env


def installed_version(venv: Path) -> str | None:
    """The version ``az --version`` reports, or None when it does not run."""
    az = az_path(venv)
    if not az.exists():
        return None
    config_dir = venv / ".az-version-check"
    try:
        result = subprocess.run(
            [str(az), "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            env=_isolated_env(config_dir),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)
    match = re.search(r"^azure-cli\s+(\S+)", result.stdout, re.MULTILINE)
    if result.returncode != 0 or not match:
        return None
    return match.group(1).rstrip("*")


@contextlib.contextmanager
def _install_lock(venv: Path, progress: Progress) -> Iterator[None]:
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"azure-cli: another process is installing into {venv}; waiting for it")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _base_python() -> str:
    """The interpreter to build the virtualenv from (not the project venv's own python)."""
    return str(getattr(sys, "_base_executable", None) or sys.executable)


def _install(venv: Path, progress: Progress) -> None:
    log_path = venv.parent / f"{venv.name}.install.log"
    started = time.monotonic()
    progress(f"azure-cli: installing azure-cli=={AZURE_CLI_VERSION} into {venv} (a few minutes; log: {log_path})")
    if venv.exists():
        progress(f"azure-cli: removing the broken virtualenv at {venv}")
        shutil.rmtree(venv)
    with open(log_path, "w") as log:

        def step(command: list[str], what: str) -> None:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            collected = 0
            with subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                env={k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")},
            ) as proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    log.write(line)
                    if line.startswith("Collecting "):
                        collected += 1
                        if collected % 25 == 0:
                            progress(f"azure-cli: {collected} packages resolved ({time.monotonic() - started:.0f}s)")
                    elif line.startswith(("Installing collected packages", "Successfully installed")):
                        progress(f"azure-cli: {line.strip()[:100]}... ({time.monotonic() - started:.0f}s)")
                try:
                    code = proc.wait(timeout=max(1.0, INSTALL_TIMEOUT - (time.monotonic() - started)))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = -1
            if code != 0:
                log.flush()
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
                raise AzureCliInstallError(
                    f"Installing the Azure CLI failed while {what} (exit {code}).\n"
                    f"Full log: {log_path}\nLast lines:\n{tail}\n"
                    f"Skip these tests with: python -m pytest -m 'not azure_cli'"
                )

        step([_base_python(), "-m", "venv", str(venv)], "creating the virtualenv")
        python = str(venv / "bin" / "python")
        step(
            [python, "-m", "pip", "install", "--no-input", "--progress-bar", "off", f"azure-cli=={AZURE_CLI_VERSION}"],
            f"running pip install azure-cli=={AZURE_CLI_VERSION}",
        )
    version = installed_version(venv)
    if version != AZURE_CLI_VERSION:
        raise AzureCliInstallError(
            f"azure-cli=={AZURE_CLI_VERSION} installed into {venv}, but `az --version` reports {version!r}. "
            f"Log: {log_path}"
        )
    progress(f"azure-cli: ready in {time.monotonic() - started:.0f}s ({az_path(venv)})")


def ensure_azure_cli(venv: Path | None = None, progress: Progress = print) -> Path:
    """Path of a working ``az`` of the pinned version; installs it first when missing or broken."""
    venv = venv or venv_path()
    if installed_version(venv) == AZURE_CLI_VERSION:
        return az_path(venv)
    with _install_lock(venv, progress):
        # Another process may have finished the install while this one waited for the lock.
        if installed_version(venv) != AZURE_CLI_VERSION:
            _install(venv, progress)
    return az_path(venv)


# -- running az against a server -------------------------------------------------------------------


@dataclass
class AzureCli:
    """``az`` bound to one server, with its own configuration directory (cloud, login, token cache)."""

    executable: Path
    server: Server
    config_dir: Path

    def env(self) -> dict[str, str]:
        env = _isolated_env(self.config_dir)
        env.update(REQUESTS_CA_BUNDLE=self.server.ca, AZURE_CORE_INSTANCE_DISCOVERY="false")
        return env

    def run(self, *args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run ``az ARGS -o json`` (unless an output format is given); raise on failure when ``check``."""
        argv = list(args)
        if not any(a in ("-o", "--output") or a.startswith("--output=") for a in argv):
            argv += ["--output", "json"]
        self.config_dir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [str(self.executable), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
            stdin=subprocess.DEVNULL,
        )
        with open(self.config_dir / "commands.log", "a") as log:
            log.write(f"$ az {' '.join(argv)}\n[exit {result.returncode}]\n{result.stdout}{result.stderr}\n")
        if check and result.returncode != 0:
            raise AzureCliError(argv, result.returncode, result.stdout, result.stderr)
        return result

    def __call__(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> Any:
        """Run ``az ARGS``; the parsed JSON output (None when the command prints nothing)."""
        out = self.run(*args, timeout=timeout).stdout.strip()
        return json.loads(out) if out else None

    def fails(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> AzureCliError:
        """Run ``az ARGS``, which must exit non-zero; the error (exit code, stderr)."""
        result = self.run(*args, check=False, timeout=timeout)
        if result.returncode == 0:
            raise AssertionError(f"`az {' '.join(args)}` succeeded but was expected to fail:\n{result.stdout}")
        return AzureCliError(list(args), result.returncode, result.stdout, result.stderr)

    # -- the usual setup -----------------------------------------------------------------------
    def register_cloud(self, name: str = CLOUD_NAME) -> None:
        """``az cloud register`` by metadata discovery (``/metadata/endpoints``), then ``az cloud set``."""
        self("cloud", "register", "-n", name, "--endpoint-resource-manager", f"{self.server.base_url}/")
        self("cloud", "set", "-n", name)

    def login(self, role: str = "partner") -> list[dict[str, Any]]:
        """``az login --service-principal`` as one of the seeded principals; the subscriptions it found."""
        principal = self.server.principal(role)
        return list(
            self(
                "login", "--service-principal",
                "-u", principal["client_id"],
                "-p", principal["client_secret"],
                "--tenant", self.server.tenant_for(role),
            )
        )  # fmt: skip
