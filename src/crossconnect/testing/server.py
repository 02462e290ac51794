"""One crossconnect server for a test session: started on a free port in a temporary data dir,
or attached to one that runs already (``--crossconnect-url``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_TIMEOUT = 60.0
# crossconnect.app.response_capture's variable; repeated, as this package talks to the server only
# over HTTPS and the command line.
CAPTURE_VARIABLE = "CROSSCONNECT_CAPTURE_RESPONSES"


class ServerStartError(RuntimeError):
    """The server did not come up; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def crossconnect_env(data_dir: Path) -> dict[str, Any]:
    """What ``crossconnect env --json`` prints for ``data_dir``."""
    result = subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "env", "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise ServerStartError(f"crossconnect env --data-dir {data_dir} failed: {result.stderr.strip()}")
    return dict(json.loads(result.stdout))


@dataclass
class CrossconnectServer:
    """A running server: its URL, its CA and ``env`` (what ``crossconnect env --json`` prints:
    tenant, the seeded principals and their secrets, the operator)."""

    base_url: str
    ca_bundle: str
    env: dict[str, Any]
    data_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    started_here: bool = False
    snapshots: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, data_dir: Path, extra_args: list[str] | None = None) -> CrossconnectServer:
        """``crossconnect serve`` on a free port in ``data_dir``, once its health endpoint answers."""
        port = free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path = data_dir.parent / f"{data_dir.name}-crossconnect.log"
        args = [sys.executable, "-m", "crossconnect.cli.main", "serve", "--data-dir", str(data_dir)]
        args += ["--port", str(port), *(extra_args or [])]
        # The server's own settings come from the arguments, not from a developer's CROSSCONNECT_* shell.
        # The response capture is no setting: it records what the server answers, for a test harness
        # that validates the traffic (crossconnect's own suite checks this plugin's that way).
        env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSCONNECT_") or k == CAPTURE_VARIABLE}
        with open(log_path, "ab") as log:
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        base_url = f"https://127.0.0.1:{port}"
        ca = data_dir / "ca.pem"
        server = cls(base_url, str(ca.resolve()), {}, data_dir, process, log_path, started_here=True)
        try:
            server._wait_until_up()
            server.env = crossconnect_env(data_dir)
        except BaseException:
            server.stop()
            raise
        return server

    @classmethod
    def attach(cls, url: str, data_dir: Path | None, env_file: Path | None) -> CrossconnectServer:
        """A server somebody else runs; its credentials come from its data dir or from a file
        holding its ``crossconnect env --json``."""
        if env_file is not None:
            env = dict(json.loads(env_file.read_text()))
        elif data_dir is not None:
            env = crossconnect_env(data_dir)
        else:
            raise ServerStartError(
                "--crossconnect-url needs the server's credentials: add --crossconnect-data-dir DIR "
                "(or CROSSCONNECT_DATA_DIR) or --crossconnect-env-file FILE (saved `crossconnect env --json`)."
            )
        base_url = url.rstrip("/")
        env = {**env, "arm_endpoint": base_url, "authority_host": base_url}
        return cls(base_url, str(env["ca_bundle"]), env, data_dir)

    def _wait_until_up(self) -> None:
        import ssl

        import httpx

        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(f"crossconnect serve exited ({self.process.returncode}):\n{self._log_tail()}")
            if Path(self.ca_bundle).exists():
                try:
                    context = ssl.create_default_context(cafile=self.ca_bundle)
                    if httpx.get(f"{self.base_url}/_crossconnect/health", verify=context, timeout=2).status_code == 200:
                        return
                except (httpx.HTTPError, OSError, ssl.SSLError):
                    pass
            time.sleep(0.1)
        raise ServerStartError(f"crossconnect serve did not answer within {START_TIMEOUT:.0f} s:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        """Stop the server this session started (an attached one keeps running)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    # -- who is who ----------------------------------------------------------------------------
    def principal(self, role: str) -> dict[str, Any]:
        if role not in self.env:
            known = ", ".join(r for r in ("partner", "customer", "admin", "operator") if r in self.env)
            raise KeyError(f"no seeded principal '{role}' (this server has: {known})")
        return dict(self.env[role])

    def tenant_for(self, role: str) -> str:
        return str(self.principal(role).get("tenant_id") or self.env["tenant_id"])

    def subscription(self, role: str) -> str:
        return str(self.principal(role)["subscription_id"])
