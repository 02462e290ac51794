"""What the benchmark scripts in ``bench/`` share: their processes, the server, and the run itself.

Not a benchmark: each ``bench_*.py`` script imports it (``bench/`` is on ``sys.path`` when the
script runs as ``python bench/<script>.py``; the scripts also put it there themselves).

* ``BenchError``: the benchmark could not run (exit status 2), as opposed to a missed target;
* ``Children``: every subprocess a script starts, each in its own session, with the code next to
  the script first on ``PYTHONPATH`` (``child_env``), stopped in reverse order at the end;
* ``start_server``: ``crossconnect serve`` on a fresh data dir and a free port, up (its health
  endpoint answers), with what ``crossconnect env --json`` says; ``fetch_tokens``: ARM tokens
  of the seeded principals (client credentials);
* ``workspace``: the temporary directory and the ``Children`` of one run, removed and stopped at
  the end (also on Ctrl-C, and on SIGTERM through ``run``);
* ``run``: the ``main`` of a script after its arguments: SIGTERM and an optional time limit,
  the result as a table or one JSON object, the exit status (0 PASS, 1 FAIL, 2 could not run);
* ``machine_notes`` and ``percentile`` for the reports; ``PRIVATE_PEERING``, the private peering
  the workflow and troubleshooting benches create.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ARM_SCOPE = "https://management.azure.com/.default"
# The private peering the workflow and the troubleshooting bench create (as in the tests).
PRIVATE_PEERING = {
    "peeringType": "AzurePrivatePeering",
    "peerASN": 65010,
    "vlanId": 100,
    "primaryPeerAddressPrefix": "192.168.100.128/30",
    "secondaryPeerAddressPrefix": "192.168.100.132/30",
    "sharedKey": "abc123",
}


class BenchError(RuntimeError):
    """The benchmark could not run (as opposed to: it ran and missed the target)."""


# ------------------------------------------------------------------------------------------------
# processes
# ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def child_env(src: Path | None = None) -> dict[str, str]:
    """The server runs the code next to this script, or of the source tree ``src`` (a benchmark of
    another checkout's code); either wins over an editable install."""
    first = str(src if src is not None else REPO / "src")
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": first + (os.pathsep + path if path else "")}


@dataclass
class Children:
    """Every subprocess the bench starts, stopped in reverse order at the end."""

    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env or child_env(), start_new_session=True
            )
        self.processes.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextlib.contextmanager
def workspace(prefix: str, keep: bool) -> Iterator[tuple[Path, Children]]:
    """A fresh temporary directory and the processes started for one run; at the end the processes
    are stopped and the directory removed (``keep``: left in place and named on stderr)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    children = Children()
    try:
        yield work, children
    finally:
        children.stop_all()
        if keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def wait_until_up(proc: subprocess.Popen[bytes], url: str, cafile: str, log: Path, timeout: float = 60) -> None:
    """Until ``url`` answers 200 over TLS checked against ``cafile`` (which the server may still
    have to write)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server exited early (status {proc.returncode}):\n{log.read_text()[-4000:]}")
        if Path(cafile).exists():
            try:
                context = ssl.create_default_context(cafile=cafile)
                if httpx.get(url, verify=context, timeout=2).status_code == 200:
                    return
            except (httpx.HTTPError, OSError):  # ssl.SSLError is an OSError
                pass
        time.sleep(0.1)
    raise BenchError(f"server did not come up within {timeout:.0f}s:\n{log.read_text()[-4000:]}")


# ------------------------------------------------------------------------------------------------
# the crossconnect server
# ------------------------------------------------------------------------------------------------


@dataclass
class Server:
    """A running ``crossconnect serve``, what ``crossconnect env --json`` says about it, and the
    ARM tokens fetched so far (by role: ``customer``, ``partner``, ``operator``, ``admin``)."""

    proc: subprocess.Popen[bytes]
    port: int
    base: str
    cafile: str
    data_dir: Path
    log: Path
    env: dict[str, Any]
    tokens: dict[str, str] = field(default_factory=dict)
    _tls: ssl.SSLContext | None = None

    def tls(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self.cafile)
        return self._tls

    def tenant(self, role: str) -> str:
        return str(self.env[role].get("tenant_id") or self.env["tenant_id"])

    def subscription(self, role: str) -> str:
        return str(self.env[role]["subscription_id"])

    def bearer(self, role: str) -> str:
        return f"Bearer {self.tokens[role]}"

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": self.bearer(role), "Accept": "application/json"}


def start_server(
    children: Children, work: Path, extra: list[str] | None = None, port: int | None = None, src: Path | None = None
) -> Server:
    """``crossconnect serve`` on a data dir in ``work`` (SQLite and default options unless ``extra``
    says otherwise) on ``port`` or a free one, running the code of ``src`` (see ``child_env``),
    once its health endpoint answers; its log is ``work/crossconnect.log``."""
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    port = port or free_port()
    log = work / "crossconnect.log"
    cmd = [sys.executable, "-m", "crossconnect.cli.main", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    proc = children.start(cmd + (extra or []), log, env=child_env(src))
    base = f"https://{HOST}:{port}"
    cafile = str(data_dir / "ca.pem")
    wait_until_up(proc, f"{base}/_crossconnect/health", cafile, log)
    env = json.loads(
        subprocess.check_output(
            [sys.executable, "-m", "crossconnect.cli.main", "env", "--data-dir", str(data_dir), "--json"],
            cwd=REPO,
            env=child_env(src),
            timeout=60,
        )
    )
    return Server(proc, port, base, cafile, data_dir, log, env)


def fetch_tokens(server: Server, roles: Iterable[str]) -> None:
    """ARM tokens (client credentials against the server's AAD endpoint) into ``server.tokens``."""
    import httpx

    with httpx.Client(base_url=server.base, verify=server.tls(), timeout=30) as client:
        for role in roles:
            p = server.env[role]
            r = client.post(
                f"/{server.tenant(role)}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": p["client_id"],
                    "client_secret": p["client_secret"],
                    "scope": ARM_SCOPE,
                },
            )
            if r.status_code != 200:
                raise BenchError(f"token request for {role} failed: {r.status_code} {r.text}")
            server.tokens[role] = r.json()["access_token"]


# ------------------------------------------------------------------------------------------------
# reports and the run
# ------------------------------------------------------------------------------------------------


def machine_notes(**extra: Any) -> dict[str, Any]:
    """CPUs, CPU model, load average (before the run), Python and platform; then ``extra``."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ""
    with contextlib.suppress(OSError):
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "loadavg_before": load,
        "python": platform.python_version(),
        "platform": platform.platform(),
        **extra,
    }


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of an ascending, non-empty list."""
    index = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values))) - 1))
    return sorted_values[index]


def run(
    bench: Callable[[Any], dict[str, Any]],
    print_table: Callable[[dict[str, Any]], None],
    opts: Any,
    time_limit: int | None = None,
    over_time: str = "the benchmark exceeded its time limit",
) -> int:
    """``bench(opts)``, then its result as a table or (``opts.json``) one JSON object. SIGTERM exits
    through the scripts' clean-up; after ``time_limit`` seconds the run fails with ``over_time``.
    Exit status: 0 PASS (``result["passed"]``), 1 FAIL, 2 the benchmark could not run."""

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    def on_alarm(_signum: int, _frame: Any) -> None:
        raise BenchError(over_time)

    signal.signal(signal.SIGTERM, on_term)
    if time_limit is not None:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(max(1, time_limit))
    try:
        result = bench(opts)
    except BenchError as exc:
        if opts.json:
            print(json.dumps({"error": str(exc)}))
        else:
            print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.alarm(0)
    if opts.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0 if result["passed"] else 1
