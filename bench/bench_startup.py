#!/usr/bin/env python3
"""Start to healthy (issue 19): ``crossconnect serve`` on an existing data dir, from process start
to ``GET /_crossconnect/health`` answering 200 (polled every 10 ms over TLS).

One server first makes the data dir (certificates, database, seeded set-up) and stops; then
``--starts`` timed starts on it, each stopped before the next. Goal: median <= 0.7 s. Python's
``-X importtime`` of the last start is summarised with ``--imports`` (the slowest top-level
imports), which says where start-up time goes.

Bytecode: the server compiles crossconnect's sources at every start when the environment forbids
writing ``.pyc`` files (``PYTHONDONTWRITEBYTECODE``, as some sandboxes set) and nothing compiled
them before; an installed package, or any run that may write them, starts from bytecode.
``--bytecode-cache`` measures that case whatever the environment: ``src/`` is compiled once into
the workspace (``PYTHONPYCACHEPREFIX``) before the timed starts. The output says which it was.

    python bench/bench_startup.py [--starts 5] [--imports] [--bytecode-cache] [--json]

Exit status: 0 PASS, 1 FAIL, 2 could not run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common is found however this runs
from _common import (  # noqa: E402
    HOST,
    REPO,
    BenchError,
    Children,
    child_env,
    free_port,
    machine_notes,
    run,
    start_server,
    workspace,
)

GOAL_S = 0.7


def measure_startup(
    children: Children, work: Path, starts: int, importtime: bool = False, bytecode_cache: bool = False
) -> dict[str, Any]:
    """Seconds from process start to the health endpoint answering, on an existing data dir."""
    import httpx

    first = start_server(children, work)  # makes the data dir (certificates, database, seed)
    first.proc.terminate()
    first.proc.wait(timeout=30)
    env = child_env()
    if bytecode_cache:
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], env=env, check=True)
    times: list[float] = []
    cpu: list[float] = []  # the server's own CPU seconds until then: what a loaded machine cannot blur
    for i in range(starts):
        port = free_port()
        python = [sys.executable, "-X", "importtime"] if importtime and i == starts - 1 else [sys.executable]
        cmd = [*python, "-m", "crossconnect.cli.main", "serve", "--data-dir", str(first.data_dir), "--port", str(port)]
        log = work / f"start-{i}.log"
        t0 = time.perf_counter()
        proc = children.start(cmd, log, env)
        with httpx.Client(verify=first.tls(), timeout=5) as client:
            while True:
                if proc.poll() is not None:
                    raise BenchError(f"the server exited at start: see {log}")
                try:
                    if client.get(f"https://{HOST}:{port}/_crossconnect/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() - t0 > 60:
                    raise BenchError("the server did not answer its health check within 60 s")
                time.sleep(0.01)
        times.append(time.perf_counter() - t0)
        cpu.append(process_cpu_s(proc.pid))
        proc.terminate()
        proc.wait(timeout=30)
    result: dict[str, Any] = {
        "bytecode": bytecode_note(env),
        "starts_s": times,
        "median_s": statistics.median(times),
        "cpu_s": cpu,
        "median_cpu_s": statistics.median(cpu),
    }
    if importtime:
        result["slowest_imports"] = _slowest_imports(work / f"start-{starts - 1}.log")
    return result


def bytecode_note(env: dict[str, str]) -> str:
    """Whether the timed servers read compiled bytecode or compiled the sources themselves."""
    if env.get("PYTHONPYCACHEPREFIX"):
        return "cached"
    if env.get("PYTHONDONTWRITEBYTECODE"):
        return "compiled at every start (PYTHONDONTWRITEBYTECODE)"
    return "cached by the first start"


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _slowest_imports(log: Path, count: int = 12) -> list[tuple[str, float]]:
    """The top-level imports of ``-X importtime`` output by cumulative time (ms)."""
    rows = []
    for line in log.read_text().splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            _, cumulative, name = line.split("|", 2)
            if not name.startswith("  "):  # top level: " name"
                rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:count]


def bench(opts: argparse.Namespace) -> dict[str, Any]:
    machine = machine_notes()
    with workspace("ccbench-startup-", opts.keep) as (work, children):
        result = measure_startup(children, work, opts.starts, opts.imports, opts.bytecode_cache)
    return {**result, "goal_s": GOAL_S, "passed": result["median_s"] <= GOAL_S, "machine": machine}


def print_table(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(
        f"crossconnect serve, existing data dir, start to healthy; {m['cpus']} CPU, load before {m['loadavg_before']}"
        f"; bytecode {r['bytecode']}"
    )
    print("starts: " + ", ".join(f"{s:.2f}" for s in r["starts_s"]) + " s; the server's CPU until healthy: "
          + ", ".join(f"{s:.2f}" for s in r["cpu_s"]) + " s")  # fmt: skip
    for name, ms in r.get("slowest_imports", []):
        print(f"  import {name:<50} {ms:8.1f} ms")
    verdict = "PASS" if r["passed"] else "FAIL"
    print(f"median {r['median_s']:.2f} s (CPU {r['median_cpu_s']:.2f} s) vs goal <= {r['goal_s']} s  {verdict}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--starts", type=int, default=5, help="timed starts (5)")
    p.add_argument("--imports", action="store_true", help="run the last start with -X importtime and summarise it")
    p.add_argument(
        "--bytecode-cache", action="store_true", help="start from compiled bytecode whatever the environment says"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and server logs")
    opts = p.parse_args(argv)
    if not 1 <= opts.starts <= 50:
        p.error("--starts must be in [1, 50]")
    return run(bench, print_table, opts, time_limit=600)


if __name__ == "__main__":
    sys.exit(main())
