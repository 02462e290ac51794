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
``--bytecode-cache`` measures that case whatever the environment: one untimed start writes the
bytecode of everything it imports into the workspace (``PYTHONPYCACHEPREFIX``), which the timed
starts read. The output says which it was.

``--against DIR`` starts another source tree (``DIR/src``, e.g. a checkout of main) in turns with
this one on the same data dir: before and after under the same load.

    python bench/bench_startup.py [--starts 5] [--imports] [--bytecode-cache] [--against DIR] [--json]

Exit status: 0 PASS, 1 FAIL, 2 could not run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common is found however this runs
from _common import (  # noqa: E402
    HOST,
    BenchError,
    Children,
    Server,
    child_env,
    free_port,
    machine_notes,
    run,
    start_server,
    workspace,
)

GOAL_S = 0.7


def measure_startup(
    children: Children,
    work: Path,
    starts: int,
    importtime: bool = False,
    bytecode_cache: bool = False,
    against: Path | None = None,
) -> dict[str, Any]:
    """Seconds from process start to the health endpoint answering, on an existing data dir.
    ``against``: another source tree (a checkout of main) started in turns with this one on the
    same data dir, so that both see the same load; its figures are under ``against``."""
    first = start_server(children, work)  # makes the data dir (certificates, database, seed)
    first.proc.terminate()
    first.proc.wait(timeout=30)
    envs = {"this": child_env()}
    if against is not None:
        envs["against"] = {**envs["this"], "PYTHONPATH": str(against / "src")}
    warmup = 0
    if bytecode_cache:
        # Every module a start imports (the standard library's and site-packages' too: with a prefix,
        # Python looks for all bytecode there) is written under the workspace by one untimed start.
        for name, env in envs.items():
            env["PYTHONPYCACHEPREFIX"] = str(work / f"pycache-{name}")
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        warmup = 1
    times: dict[str, list[float]] = {name: [] for name in envs}
    cpu: dict[str, list[float]] = {name: [] for name in envs}  # the server's own CPU: what load blurs least
    for i in range(-warmup, starts):
        for name, env in envs.items():
            use_importtime = importtime and i == starts - 1 and name == "this"
            wall_s, cpu_s = _timed_start(children, first, env, work / f"start-{name}-{i}.log", use_importtime)
            if i >= 0:
                times[name].append(wall_s)
                cpu[name].append(cpu_s)
    result: dict[str, Any] = {"bytecode": bytecode_note(envs["this"]), **_summary(times["this"], cpu["this"])}
    if against is not None:
        result["against"] = {"source": str(against), **_summary(times["against"], cpu["against"])}
    if importtime:
        result["slowest_imports"] = _slowest_imports(work / f"start-this-{starts - 1}.log")
    return result


def _summary(times: list[float], cpu: list[float]) -> dict[str, Any]:
    return {
        "starts_s": times,
        "median_s": statistics.median(times),
        "cpu_s": cpu,
        "median_cpu_s": statistics.median(cpu),
    }


def _timed_start(
    children: Children, first: Server, env: dict[str, str], log: Path, importtime: bool
) -> tuple[float, float]:
    """One start on ``first``'s data dir: wall seconds to health 200, and the server's CPU seconds."""
    import httpx

    port = free_port()
    python = [sys.executable, "-X", "importtime"] if importtime else [sys.executable]
    cmd = [*python, "-m", "crossconnect.cli.main", "serve", "--data-dir", str(first.data_dir), "--port", str(port)]
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
    wall_s = time.perf_counter() - t0
    cpu_s = process_cpu_s(proc.pid)
    proc.terminate()
    proc.wait(timeout=30)
    return wall_s, cpu_s


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
        result = measure_startup(children, work, opts.starts, opts.imports, opts.bytecode_cache, opts.against)
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
    other = r.get("against")
    if other is not None:
        print(f"against {other['source']}, started in turns: "
              + ", ".join(f"{s:.2f}" for s in other["starts_s"]) + " s; CPU "
              + ", ".join(f"{s:.2f}" for s in other["cpu_s"]) + " s")  # fmt: skip
        print(f"  median {other['median_s']:.2f} s (CPU {other['median_cpu_s']:.2f} s); this / against: wall "
              f"{r['median_s'] / other['median_s']:.2f}x, CPU {r['median_cpu_s'] / other['median_cpu_s']:.2f}x")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--starts", type=int, default=5, help="timed starts (5)")
    p.add_argument("--imports", action="store_true", help="run the last start with -X importtime and summarise it")
    p.add_argument(
        "--bytecode-cache", action="store_true", help="start from compiled bytecode whatever the environment says"
    )
    p.add_argument(
        "--against",
        type=Path,
        help="another source tree (e.g. a checkout of main) started in turns with this one, same data dir",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and server logs")
    opts = p.parse_args(argv)
    if not 1 <= opts.starts <= 50:
        p.error("--starts must be in [1, 50]")
    return run(bench, print_table, opts, time_limit=600)


if __name__ == "__main__":
    sys.exit(main())
