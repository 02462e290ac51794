#!/usr/bin/env python3
"""Authenticated ``GET`` of a resource group through crossconnect vs a bare Starlette endpoint.

Issue 2, item 11. One run on one machine:

* a crossconnect server (``crossconnect serve``, SQLite, its own temporary data dir), a resource
  group created by the seeded subscription admin, read with a bearer token of the partner;
* a baseline: a Starlette app with one route that returns a fixed JSON body (the same bytes the
  resource group GET returns), served by uvicorn with the options crossconnect's ``serve`` passes
  to ``uvicorn.Config`` (read from ``crossconnect/app/server.py``), the same TLS certificate and
  key (from the same data dir), the same event loop and HTTP implementation;
* the same load generator for both, the same request bytes (Authorization header included), over
  HTTPS with keep-alive, a fixed number of connections, a warm-up and then a fixed duration:
  ``wrk`` when it is installed, else a Python asyncio HTTP/1.1 keep-alive client in subprocesses.

Prints requests/s, p50 and p99 for both, the ratio crossconnect/baseline and PASS/FAIL against
the target (ratio >= 0.5); ``--json`` prints one JSON object instead. Only 127.0.0.1 traffic;
bounded in time; all subprocesses are stopped at the end (also on Ctrl-C / SIGTERM).

Run by hand (not a pytest test), from the repository with its virtualenv active:

    python bench/bench_get_resource_group.py [--duration 10] [--connections 16] [--json]

Exit status: 0 PASS, 1 FAIL (ratio below target), 2 the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import inspect
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common is found however this runs
from _common import (  # noqa: E402
    HOST,
    REPO,
    BenchError,
    Children,
    fetch_tokens,
    free_port,
    machine_notes,
    percentile,
    run,
    start_server,
    wait_until_up,
    workspace,
)

TARGET_RATIO = 0.5
API_VERSION = "2021-04-01"
GROUP_NAME = "bench-rg"
VIA_GROUP = "cc-via-group"  # the row of the server where the partner holds its role only through a group

# uvicorn.Config keywords whose values the bench supplies itself (they are not literals in server.py).
_SUPPLIED = {"app", "host", "port", "ssl_certfile", "ssl_keyfile"}


# ------------------------------------------------------------------------------------------------
# uvicorn options: taken from crossconnect's own server.py so the baseline cannot drift from it
# ------------------------------------------------------------------------------------------------


def server_uvicorn_options() -> tuple[dict[str, Any], list[str]]:
    """The literal keyword arguments of the ``uvicorn.Config(...)`` call in crossconnect's
    ``serve``, and the names of non-literal ones other than those the bench supplies."""
    from crossconnect.app import server

    tree = ast.parse(inspect.getsource(server))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "Config"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "uvicorn"
        ):
            literal: dict[str, Any] = {}
            unknown: list[str] = []
            for kw in node.keywords:
                if kw.arg is None or kw.arg in _SUPPLIED:
                    continue
                try:
                    literal[kw.arg] = ast.literal_eval(kw.value)
                except ValueError:
                    unknown.append(kw.arg)
            return literal, unknown
    raise BenchError("could not find the uvicorn.Config(...) call in crossconnect/app/server.py")


def server_implementations() -> dict[str, str]:
    """What uvicorn's 'auto' loop/http settings resolve to in this interpreter (both servers use it)."""
    import uvicorn

    out = {"uvicorn": uvicorn.__version__}
    try:
        import uvloop

        out["loop"] = f"uvloop {uvloop.__version__}"
    except ImportError:
        out["loop"] = "asyncio"
    try:
        import httptools

        out["http"] = f"httptools {httptools.__version__}"
    except ImportError:
        out["http"] = "h11"
    return out


# ------------------------------------------------------------------------------------------------
# mode `_baseline`: the bare Starlette endpoint
# ------------------------------------------------------------------------------------------------


def run_baseline(args: argparse.Namespace) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    body = json.loads(Path(args.body).read_text())

    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse(body)

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET"])])
    from crossconnect.app import http_protocol

    options, _ = server_uvicorn_options()
    options.update(http_protocol.uvicorn_options())  # server.py passes these as **: the same HTTP protocol
    config = uvicorn.Config(
        app,
        host=HOST,
        port=args.port,
        ssl_certfile=args.cert,
        ssl_keyfile=args.key,
        **options,
    )
    uvicorn.Server(config).run()


# ------------------------------------------------------------------------------------------------
# mode `_client`: the Python fallback load generator (one process; several run side by side)
# ------------------------------------------------------------------------------------------------


def run_client(args: argparse.Namespace) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(_client(args))
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()


async def _client(args: argparse.Namespace) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=args.cafile)
    authorization = os.environ["BENCH_AUTHORIZATION"]
    request = (
        f"GET {args.path} HTTP/1.1\r\nHost: {HOST}:{args.port}\r\nAuthorization: {authorization}\r\n"
        "Accept: application/json\r\nUser-Agent: crossconnect-bench\r\n\r\n"
    ).encode()
    # The window is given in wall-clock time so that all client processes share it.
    offset = time.perf_counter() - time.time()
    measure_from = args.start + args.warmup + offset
    measure_to = measure_from + args.duration
    latencies: list[int] = []
    stats = {"errors": 0, "status_errors": 0}

    async def connection() -> None:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(HOST, args.port, ssl=context, server_hostname=HOST), 10
            )
        except (OSError, TimeoutError):
            stats["errors"] += 1
            return
        try:
            while True:
                started = time.perf_counter()
                if started >= measure_to:
                    return
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    elif name.strip().lower() == b"transfer-encoding":
                        raise ValueError("chunked responses are not supported by the bench client")
                if length:
                    await asyncio.wait_for(reader.readexactly(length), 10)
                done = time.perf_counter()
                if measure_from <= started and done < measure_to:
                    latencies.append(int((done - started) * 1e6))
                    if head[9:12] != b"200":
                        stats["status_errors"] += 1
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            stats["errors"] += 1
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    await asyncio.gather(*(connection() for _ in range(args.connections)))
    return {"latencies_us": latencies, **stats}


# ------------------------------------------------------------------------------------------------
# load generators
# ------------------------------------------------------------------------------------------------

_WRK_LUA = """
wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")
wrk.headers["Accept"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d," ..
    "\\"status\\":%d,\\"timeout\\":%d,\\"p50_us\\":%d,\\"p90_us\\":%d,\\"p99_us\\":%d,\\"mean_us\\":%.1f," ..
    "\\"max_us\\":%d}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


@dataclass
class Measurement:
    name: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    errors: int
    server_cpu_percent: float = 0.0  # of one core, over the measured window
    server_cpu_us_per_request: float = 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_cpu(m: Measurement, cpu: float, seconds: float) -> Measurement:
    m.server_cpu_percent = 100 * cpu / seconds
    m.server_cpu_us_per_request = 1e6 * cpu / max(1, m.requests)
    return m


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0].split(" Copyright")[0] if text else "wrk"


def run_wrk(
    name: str, url: str, authorization: str, opts: argparse.Namespace, seconds: float, lua: Path
) -> Measurement:
    cmd = [
        "wrk",
        f"--threads={opts.threads}",
        f"--connections={opts.connections}",
        f"--duration={seconds:g}s",
        "--timeout=10s",
        f"--script={lua}",
        url,
    ]
    env = {**os.environ, "BENCH_AUTHORIZATION": authorization}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, env=env)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise BenchError(f"wrk failed (status {out.returncode}):\n{out.stdout}\n{out.stderr}")
    r = json.loads(line.split(" ", 1)[1])
    secs = r["duration_us"] / 1e6
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return Measurement(
        name,
        r["requests"],
        secs,
        r["requests"] / secs,
        r["p50_us"] / 1000,
        r["p90_us"] / 1000,
        r["p99_us"] / 1000,
        r["mean_us"] / 1000,
        errors,
    )


def run_python_clients(
    name: str, port: int, path: str, authorization: str, cafile: str, opts: argparse.Namespace, warmup: float, pid: int
) -> Measurement:
    procs = max(1, min(opts.client_processes, opts.connections))
    per = [opts.connections // procs + (1 if i < opts.connections % procs else 0) for i in range(procs)]
    start = time.time() + 1.0  # time for the client processes to start
    children = []
    for n in per:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "_client",
            f"--port={port}",
            f"--path={path}",
            f"--cafile={cafile}",
            f"--connections={n}",
            f"--start={start}",
            f"--warmup={warmup}",
            f"--duration={opts.duration}",
        ]
        env = {**os.environ, "BENCH_AUTHORIZATION": authorization}
        children.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env))
    latencies: list[int] = []
    errors = 0
    try:
        time.sleep(max(0.0, start + warmup - time.time()))
        cpu_before = cpu_seconds(pid)
        time.sleep(max(0.0, start + warmup + opts.duration - time.time()))
        cpu = cpu_seconds(pid) - cpu_before
        for child in children:
            out, err = child.communicate(timeout=warmup + opts.duration + 60)
            if child.returncode != 0:
                raise BenchError(f"python load generator failed:\n{err.decode()[-4000:]}")
            r = json.loads(out)
            latencies.extend(r["latencies_us"])
            errors += r["errors"] + r["status_errors"]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    if not latencies:
        raise BenchError("python load generator completed no request")
    latencies.sort()
    m = Measurement(
        name,
        len(latencies),
        opts.duration,
        len(latencies) / opts.duration,
        percentile(latencies, 50) / 1000,
        percentile(latencies, 90) / 1000,
        percentile(latencies, 99) / 1000,
        sum(latencies) / len(latencies) / 1000,
        errors,
    )
    return with_cpu(m, cpu, opts.duration)


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------


def setup_crossconnect(children: Children, work: Path, via_group: bool = False) -> dict[str, Any]:
    """One crossconnect server and its GET. ``via_group``: the partner's own role assignments are
    removed, so each request is allowed only through the seeded group it is a member of
    ("ExpressRoute Partner Operations", Network Contributor on the provider subscription)."""
    import httpx

    server = start_server(children, work)
    # The partner (Network Contributor) reads groups; the subscription admin (Owner) creates it.
    fetch_tokens(server, [role for role in ("partner", "admin") if role in server.env])
    authorization = server.bearer("partner")
    creator = server.bearer("admin") if "admin" in server.tokens else authorization
    path = f"/subscriptions/{server.subscription('partner')}/resourceGroups/{GROUP_NAME}?api-version={API_VERSION}"
    with httpx.Client(base_url=server.base, verify=server.tls(), timeout=30) as client:
        r = client.put(path, json={"location": "westeurope"}, headers={"Authorization": creator})
        if r.status_code not in (200, 201):
            raise BenchError(f"creating the resource group failed: {r.status_code} {r.text}")
        if via_group:
            _leave_only_group_access(client, server, creator)
        r = client.get(path, headers={"Authorization": authorization})
        if r.status_code != 200:
            raise BenchError(f"GET of the resource group failed: {r.status_code} {r.text}")
        body = r.json()
    return {
        "port": server.port,
        "pid": server.proc.pid,
        "path": path,
        "authorization": authorization,
        "cafile": server.cafile,
        "data_dir": server.data_dir,
        "body": body,
    }


def _leave_only_group_access(client: Any, server: Any, admin: str) -> None:
    partner = server.env["partner"]["object_id"]
    if not server.env.get("groups"):
        raise BenchError("--via-group: this server seeds no group (crossconnect env --json has no 'groups')")
    scope = f"/subscriptions/{server.subscription('partner')}/providers/Microsoft.Authorization/roleAssignments"
    own = client.get(scope, params={"api-version": "2022-04-01", "$filter": f"principalId eq '{partner}'"},
                     headers={"Authorization": admin})  # fmt: skip
    if own.status_code != 200:
        raise BenchError(f"listing the partner's role assignments failed: {own.status_code} {own.text}")
    for assignment in own.json()["value"]:
        r = client.delete(assignment["id"], params={"api-version": "2022-04-01"}, headers={"Authorization": admin})
        if r.status_code not in (200, 204):
            raise BenchError(f"removing {assignment['id']} failed: {r.status_code} {r.text}")


def setup_baseline(children: Children, work: Path, cc: dict[str, Any]) -> tuple[int, int]:
    port = free_port()
    body_file = work / "baseline-body.json"
    body_file.write_text(json.dumps(cc["body"]))
    data_dir: Path = cc["data_dir"]
    log = work / "baseline.log"
    proc = children.start(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "_baseline",
            f"--port={port}",
            f"--cert={data_dir / 'server.pem'}",
            f"--key={data_dir / 'server-key.pem'}",
            f"--body={body_file}",
        ],
        log,
    )
    wait_until_up(proc, f"https://{HOST}:{port}{cc['path']}", cc["cafile"], log)
    return port, proc.pid


def measure(
    name: str, port: int, pid: int, cc: dict[str, Any], opts: argparse.Namespace, loadgen: str, work: Path
) -> Measurement:
    url = f"https://{HOST}:{port}{cc['path']}"
    if loadgen == "wrk":
        lua = work / "report.lua"
        lua.write_text(_WRK_LUA)
        if opts.warmup > 0:
            run_wrk(name, url, cc["authorization"], opts, opts.warmup, lua)
        cpu_before = cpu_seconds(pid)
        m = run_wrk(name, url, cc["authorization"], opts, opts.duration, lua)
        return with_cpu(m, cpu_seconds(pid) - cpu_before, m.seconds)
    return run_python_clients(name, port, cc["path"], cc["authorization"], cc["cafile"], opts, opts.warmup, pid)


def median_of(runs: list[Measurement]) -> Measurement:
    """The round with the median requests/s (rounds > 1 only smooth out noise)."""
    ordered = sorted(runs, key=lambda m: m.rps)
    return ordered[(len(ordered) - 1) // 2]


def bench(opts: argparse.Namespace) -> dict[str, Any]:
    if opts.loadgen == "wrk" and not shutil.which("wrk"):
        raise BenchError("--loadgen wrk: wrk is not installed (apt-get install -y wrk)")
    loadgen = opts.loadgen if opts.loadgen != "auto" else ("wrk" if shutil.which("wrk") else "python")
    options, unknown = server_uvicorn_options()
    machine = machine_notes(**server_implementations())  # the load average before anything starts
    with workspace("crossconnect-bench-", opts.keep) as (work, children):
        cc = setup_crossconnect(children, work / "direct" if opts.via_group else work)
        grouped = setup_crossconnect(children, work / "via-group", via_group=True) if opts.via_group else None
        baseline_port, baseline_pid = setup_baseline(children, work, cc)
        rounds: dict[str, list[Measurement]] = {"baseline": [], "crossconnect": []}
        if grouped:
            rounds[VIA_GROUP] = []
        for _ in range(opts.rounds):
            rounds["baseline"].append(measure("baseline", baseline_port, baseline_pid, cc, opts, loadgen, work))
            rounds["crossconnect"].append(measure("crossconnect", cc["port"], cc["pid"], cc, opts, loadgen, work))
            if grouped:
                rounds[VIA_GROUP].append(
                    measure(VIA_GROUP, grouped["port"], grouped["pid"], grouped, opts, loadgen, work)
                )
        base, mine = median_of(rounds["baseline"]), median_of(rounds["crossconnect"])
        via = median_of(rounds[VIA_GROUP]) if grouped else None
        for m in (base, mine):
            if m.errors:
                raise BenchError(f"{m.name}: {m.errors} failed requests (non-200, socket errors or timeouts)")
        ratio = mine.rps / base.rps
        # Per-request server time at saturation, and how much more crossconnect may spend per request
        # (e.g. on the role-based authorization checks to come) before the ratio drops to the target.
        budget_us = 1e6 / (TARGET_RATIO * base.rps)
        headroom_us = budget_us - 1e6 / mine.rps
        cpu_headroom_us = base.server_cpu_us_per_request / TARGET_RATIO - mine.server_cpu_us_per_request
        return {
            "target_ratio": TARGET_RATIO,
            "ratio": ratio,
            # The same comparison by server CPU time per request: less sensitive to other load on the
            # machine than requests/s, since a server that waits for a core uses no CPU meanwhile.
            "cpu_ratio": base.server_cpu_us_per_request / mine.server_cpu_us_per_request
            if mine.server_cpu_us_per_request
            else None,
            "passed": ratio >= TARGET_RATIO,
            "headroom_us_per_request": headroom_us,
            "cpu_headroom_us_per_request": cpu_headroom_us,
            "crossconnect_us_per_request": 1e6 / mine.rps,
            "baseline_us_per_request": 1e6 / base.rps,
            "crossconnect": asdict(mine),
            "baseline": asdict(base),
            **({VIA_GROUP: asdict(via), "ratio_via_group": via.rps / base.rps} if via else {}),
            "rounds": {k: [asdict(m) for m in v] for k, v in rounds.items()},
            "load_generator": {
                "name": loadgen,
                "version": wrk_version() if loadgen == "wrk" else f"python asyncio ({opts.client_processes} proc)",
                "connections": opts.connections,
                "threads": opts.threads if loadgen == "wrk" else None,
                "duration_s": opts.duration,
                "warmup_s": opts.warmup,
                "rounds": opts.rounds,
                "keep_alive": True,
                "tls": True,
            },
            "request": {"method": "GET", "path": cc["path"], "response_bytes": len(json.dumps(cc["body"]))},
            "uvicorn_options": options,
            "uvicorn_options_not_mirrored": unknown,
            "machine": machine,
        }


def print_table(r: dict[str, Any]) -> None:
    lg = r["load_generator"]
    m = r["machine"]
    print("GET resource group: crossconnect vs bare Starlette endpoint (same uvicorn, TLS, keep-alive, load)")
    print(
        f"machine: {m['cpus']} CPU ({m['cpu_model'] or 'unknown'}), Python {m['python']}, "
        f"uvicorn {m['uvicorn']}, {m['loop']}, {m['http']}; load average before: {m['loadavg_before']}"
    )
    threads = f", {lg['threads']} thread(s)" if lg["threads"] else ""
    print(
        f"load: {lg['version']}, {lg['connections']} keep-alive HTTPS connections{threads}, "
        f"{lg['warmup_s']:g}s warm-up + {lg['duration_s']:g}s, {lg['rounds']} round(s)"
    )
    print(f"uvicorn options (from crossconnect's server.py): {r['uvicorn_options']}")
    if r["uvicorn_options_not_mirrored"]:
        print(f"WARNING: non-literal uvicorn options not mirrored in the baseline: {r['uvicorn_options_not_mirrored']}")
    print()
    print(
        f"{'server':<14}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
        f"{'server CPU':>12}{'CPU µs/req':>12}"
    )
    for key in ("baseline", "crossconnect", VIA_GROUP):
        if key not in r:
            continue
        x = r[key]
        print(
            f"{key:<14}{x['requests']:>10}{x['rps']:>10.0f}{x['p50_ms']:>9.2f}{x['p90_ms']:>9.2f}"
            f"{x['p99_ms']:>9.2f}{x['server_cpu_percent']:>11.0f}%{x['server_cpu_us_per_request']:>12.0f}"
        )
    print()
    verdict = "PASS" if r["passed"] else "FAIL"
    print(f"ratio crossconnect/baseline: {r['ratio']:.3f}  (target >= {r['target_ratio']})  {verdict}")
    if VIA_GROUP in r:
        print(f"ratio {VIA_GROUP}/baseline: {r['ratio_via_group']:.3f} (access only through the seeded group)")
    if r["cpu_ratio"]:
        print(
            f"same by server CPU per request: {r['cpu_ratio']:.3f} "
            f"(CPU headroom {r['cpu_headroom_us_per_request']:+.0f} µs per request)"
        )
    headroom = r["headroom_us_per_request"]
    if headroom >= 0:
        print(f"headroom: crossconnect may spend {headroom:.0f} µs more per request and still meet the target")
    else:
        print(f"over budget: crossconnect must spend {-headroom:.0f} µs less per request to reach the target")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("_baseline", "_client"):
        return _internal(argv)
    p = parser()
    opts = p.parse_args(argv)
    if opts.duration <= 0 or opts.duration > 300 or opts.warmup < 0 or opts.warmup > 60:
        p.error("--duration must be in (0, 300] and --warmup in [0, 60]")
    if opts.connections < 1 or opts.connections > 1000 or opts.threads < 1 or opts.threads > opts.connections:
        p.error("--connections must be in [1, 1000] and --threads in [1, connections]")
    if opts.rounds < 1 or opts.rounds > 10:
        p.error("--rounds must be in [1, 10]")

    return run(bench, print_table, opts)


def rows() -> list[dict[str, Any]]:
    """The PASS/FAIL row of one run (three rounds, alternating), for ``bench_scale.py``."""
    r = bench(parser().parse_args(["--rounds", "3"]))
    mine, base = r["crossconnect"], r["baseline"]
    return [
        {
            "row": "GET / bare Starlette GET (req/s)",
            "value": r["ratio"],
            "target": f">= {TARGET_RATIO:g} (aim 0.7)",
            "passed": r["passed"],
            "detail": f"{mine['rps']:.0f} vs {base['rps']:.0f} req/s; by server CPU {r['cpu_ratio']:.2f} "
            f"({mine['server_cpu_us_per_request']:.0f} vs {base['server_cpu_us_per_request']:.0f} µs)",
        }
    ]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per server and round (10)")
    p.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each measurement (3)")
    p.add_argument("--connections", type=int, default=16, help="keep-alive connections (16)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (1: on 2 cores the server has the other)")
    p.add_argument("--rounds", type=int, default=1, help="alternate baseline/crossconnect this often; median (1)")
    p.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto", help="auto: wrk if installed")
    p.add_argument("--client-processes", type=int, default=1, help="processes of the python load generator (1)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and server logs")
    p.add_argument("--via-group", action="store_true",
                   help="also measure a second crossconnect where the partner's only access is its group")  # fmt: skip
    return p


def _internal(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--body")
    p.add_argument("--path")
    p.add_argument("--cafile")
    p.add_argument("--connections", type=int)
    p.add_argument("--start", type=float)
    p.add_argument("--warmup", type=float)
    p.add_argument("--duration", type=float)
    args = p.parse_args(argv)
    if args.mode == "_baseline":
        run_baseline(args)
    else:
        run_client(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
