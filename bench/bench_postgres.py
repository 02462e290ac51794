#!/usr/bin/env python3
"""PostgreSQL vs SQLite, one replica vs two, a write vs a read (issue 19, the PostgreSQL rows).

One run starts, side by side on this machine:

* a crossconnect server on SQLite (its own data dir);
* two crossconnect replicas on one fresh PostgreSQL database (127.0.0.1:5432, trust auth; the
  database is dropped at the end), sharing credentials and certificates as behind one load
  balancer.

Each round measures, with ``wrk`` over HTTPS keep-alive (16 connections by default):

* ``GET`` of a resource group on SQLite, and on one PostgreSQL replica: requests/s and the
  server's CPU per request (``/proc/<pid>/stat``);
* the same ``GET`` spread over both PostgreSQL replicas (two ``wrk`` at once, half the
  connections each): their summed requests/s against one replica's, with each replica held to
  ``--replica-cpu`` of a core (a cgroup CPU limit, as a container's; root only: see
  ``_cpu_limit.py``), measured one, two, one and compared with the mean of the two "one"
  figures, so that a drift of the machine's speed during the round cancels out. Unlimited, the
  ratio is bounded by the machine (2 cores): it is printed too, with that bound;
* ``PUT …/providers/Microsoft.Resources/tags/default`` of that resource group (a write: the tags
  replaced) on SQLite: server CPU per request against the GET's;
* a poll of a running operation's status URL on one PostgreSQL replica (requests/s and server CPU;
  no target: polls are most of a partner's requests while its operations run).

The figures of a round are taken one right after the other, so the ratios compare like with like
on a shared machine; the row reported is the median ratio over ``--rounds``. ``rows()`` returns
the PASS/FAIL rows (``row``, ``value``, ``target``, ``passed``) for ``bench_scale.py``.

    python bench/bench_postgres.py [--rounds 3] [--duration 5] [--replica-cpu 0.5] [--src /other/checkout/src]

``--src``: run the servers from another source tree (the "before" figures of a change).
Exit status: 0 PASS, 1 FAIL, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    HOST,
    PRIVATE_PEERING,
    REPO,
    BenchError,
    fetch_tokens,
    free_port,
    machine_notes,
    run,
    start_server,
    workspace,
)
from _cpu_limit import CpuLimits  # noqa: E402
from bench_get_resource_group import _WRK_LUA, Measurement, cpu_seconds, run_wrk, with_cpu  # noqa: E402

API_VERSION = "2021-04-01"
GROUP = "bench-pg-rg"
ADMIN_URL = os.environ.get("CROSSCONNECT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")

TWO_REPLICAS = "two PostgreSQL replicas / one (req/s)"
TARGETS = {
    "PostgreSQL GET / SQLite GET, one replica (req/s)": 0.6,
    TWO_REPLICAS: 1.8,
    "PUT tags / GET, server CPU per request (SQLite)": 3.0,
    "SDK peering PUT (LRO) / GET, end to end (SQLite)": 4.0,
}
_AT_MOST = {name for name in TARGETS if "/ GET" in name}

_PUT_LUA = (
    'wrk.method = "PUT"\n'
    'wrk.headers["Content-Type"] = "application/json"\n'
    'wrk.body = \'{"properties": {"tags": {"bench": "yes", "round": "1"}}}\'\n' + _WRK_LUA
)


def _create_database() -> str:
    import psycopg

    name = f"crossconnect_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _prepare(server: Any) -> str:
    """Tokens, the resource group; the GET path."""
    import httpx

    fetch_tokens(server, ["partner", "admin"])
    path = f"/subscriptions/{server.subscription('partner')}/resourceGroups/{GROUP}?api-version={API_VERSION}"
    with httpx.Client(base_url=server.base, verify=server.tls(), timeout=30) as client:
        r = client.put(path, json={"location": "westeurope"}, headers={"Authorization": server.bearer("admin")})
        if r.status_code not in (200, 201):
            raise BenchError(f"creating the resource group failed: {r.status_code} {r.text}")
    return path


def _running_operation(server: Any, group_path: str) -> str:
    """A route filter PUT whose operation stays InProgress (an hour of injected latency): the
    path of its status URL (what an SDK or ``az`` polls every ``Retry-After`` seconds)."""
    import httpx

    fetch_tokens(server, ["operator"])
    route_filter = group_path.split("?")[0] + "/providers/Microsoft.Network/routeFilters/bench-polled"
    with httpx.Client(base_url=server.base, verify=server.tls(), timeout=30) as client:
        r = client.post(
            "/_crossconnect/faults-latency",
            json={"resourceId": route_filter, "seconds": 3600},
            headers={"Authorization": server.bearer("operator")},
        )
        if r.status_code != 200:
            raise BenchError(f"injecting latency failed: {r.status_code} {r.text}")
        r = client.put(
            route_filter,
            params={"api-version": "2023-09-01"},
            json={"location": "westeurope"},
            headers={"Authorization": server.bearer("admin")},
        )
        if r.status_code != 201 or "Azure-AsyncOperation" not in r.headers:
            raise BenchError(f"starting a long-running PUT failed: {r.status_code} {r.text}")
    url = httpx.URL(r.headers["Azure-AsyncOperation"])
    return f"{url.raw_path.decode()}"


def _wrk(server: Any, url: str, opts: argparse.Namespace, lua: Path, connections: int) -> Measurement:
    o = argparse.Namespace(threads=1, connections=connections)
    return run_wrk("x", url, server.bearer("partner"), o, opts.duration, lua)


def _measure(server: Any, path: str, opts: argparse.Namespace, lua: Path, role: str = "partner") -> Measurement:
    url = f"https://{HOST}:{server.port}{path}"
    o = argparse.Namespace(threads=1, connections=opts.connections)
    run_wrk("warm", url, server.bearer(role), o, 1, lua)
    before = cpu_seconds(server.proc.pid)
    m = run_wrk("x", url, server.bearer(role), o, opts.duration, lua)
    return with_cpu(m, cpu_seconds(server.proc.pid) - before, m.seconds)


def _busy_jiffies() -> tuple[int, int]:
    """(busy, all) CPU time of the whole machine so far, in jiffies (/proc/stat's first line)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)  # (idle and iowait are not busy)


def _busy_cores(before: tuple[int, int]) -> float:
    """How many of the machine's cores were busy, on average, since ``before`` (every process:
    the servers, wrk and PostgreSQL)."""
    busy, total = _busy_jiffies()
    return (os.cpu_count() or 1) * (busy - before[0]) / max(1, total - before[1])


def _both(servers: list[Any], path: str, opts: argparse.Namespace, lua: Path) -> tuple[float, float]:
    """Two wrk at once, one per replica, half the connections each: summed requests/s, and the
    replicas' server CPU per request (µs)."""
    _wrk_each(servers, path, opts, lua, 1.0)  # warm, as ``_measure`` warms one replica
    cpu_before = sum(cpu_seconds(s.proc.pid) for s in servers)
    results = _wrk_each(servers, path, opts, lua, opts.duration)
    cpu = sum(cpu_seconds(s.proc.pid) for s in servers) - cpu_before
    return sum(m.rps for m in results), 1e6 * cpu / max(1, sum(m.requests for m in results))


def _wrk_each(servers: list[Any], path: str, opts: argparse.Namespace, lua: Path, seconds: float) -> list[Measurement]:
    """One wrk per replica, all at once, for ``seconds``, half the connections each."""
    results: list[Measurement] = []
    errors: list[Exception] = []
    timed = argparse.Namespace(**{**vars(opts), "duration": seconds})

    def one(server: Any) -> None:
        try:
            results.append(_wrk(server, f"https://{HOST}:{server.port}{path}", timed, lua, opts.connections // 2))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise BenchError(str(errors[0]))
    if any(m.errors for m in results):
        raise BenchError(f"wrk errors on the replicas: {[m.errors for m in results]}")
    return results


XC_GROUP = "CrossConnection-Area51"


def _lro_vs_get(server: Any, calls: int) -> tuple[float, float]:
    """Through the Azure SDK (its default pipeline and poller, over HTTPS): the median wall time of
    a long-running private-peering PUT on a provisioned cross connection (``.result()``: the PUT
    and its polls until Succeeded) and of a GET of that peering."""
    import time

    from azure.identity import ClientSecretCredential
    from azure.mgmt.network import NetworkManagementClient

    def client(role: str) -> Any:
        p = server.env[role]
        credential = ClientSecretCredential(
            server.tenant(role), p["client_id"], p["client_secret"], authority=server.base,
            disable_instance_discovery=True, connection_verify=server.cafile,
        )  # fmt: skip
        return NetworkManagementClient(
            credential, p["subscription_id"], base_url=server.base, connection_verify=server.cafile
        )

    customer, partner = client("customer"), client("partner")
    group = f"lro-{uuid.uuid4().hex[:6]}"
    from azure.mgmt.resource.resources import ResourceManagementClient

    p = server.env["customer"]
    ResourceManagementClient(
        ClientSecretCredential(
            server.tenant("customer"), p["client_id"], p["client_secret"], authority=server.base,
            disable_instance_discovery=True, connection_verify=server.cafile,
        ),
        p["subscription_id"], base_url=server.base, connection_verify=server.cafile,
    ).resource_groups.create_or_update(group, {"location": "westus"})  # fmt: skip
    circuit = customer.express_route_circuits.begin_create_or_update(
        group, "er1", {
            "location": "westus",
            "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
            "properties": {"serviceProviderProperties": {
                "serviceProviderName": "Ibiza Test Provider", "peeringLocation": "Area51", "bandwidthInMbps": 50}},
        },
    ).result()  # fmt: skip
    xcs = partner.express_route_cross_connections
    xc = xcs.get(XC_GROUP, circuit.service_key)
    xc.service_provider_provisioning_state = "Provisioned"
    xcs.begin_create_or_update(XC_GROUP, circuit.service_key, xc).result()
    peers = partner.express_route_cross_connection_peerings
    puts, gets = [], []
    for i in range(calls + 2):  # the first two warm the connections and caches
        body = {"properties": {**PRIVATE_PEERING, "vlanId": 100 + i % 2}}
        started = time.perf_counter()
        peering = peers.begin_create_or_update(XC_GROUP, circuit.service_key, "AzurePrivatePeering", body).result()
        took = time.perf_counter() - started
        if peering.provisioning_state != "Succeeded":
            raise BenchError(f"peering PUT ended {peering.provisioning_state}")
        started = time.perf_counter()
        peers.get(XC_GROUP, circuit.service_key, "AzurePrivatePeering")
        if i >= 2:
            puts.append(took)
            gets.append(time.perf_counter() - started)
    return statistics.median(puts), statistics.median(gets)


def bench(opts: argparse.Namespace) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise BenchError("wrk is not installed")
    src = Path(opts.src).resolve() if opts.src else REPO / "src"
    notes = machine_notes(src=str(src))
    database = _create_database()
    try:
        with workspace("cc-bench-pg-", opts.keep) as (work, children), CpuLimits.open() as limits:
            get_lua, put_lua = work / "get.lua", work / "put.lua"
            get_lua.write_text(_WRK_LUA)
            put_lua.write_text(_PUT_LUA)
            lite = start_server(children, work / "sqlite", src=src)
            first_port = free_port()
            public = ["--public-url", f"https://{HOST}:{first_port}"]
            pg1 = start_server(children, work / "pg1", ["--database", database, *public], first_port, src)
            (work / "pg2" / "data").mkdir(parents=True)
            for name in ("credentials.json", "ca.pem", "ca-key.pem", "server.pem", "server-key.pem"):
                shutil.copy2(pg1.data_dir / name, work / "pg2" / "data" / name)
            if (pg1.data_dir / "key-encryption.key").exists():
                shutil.copy2(pg1.data_dir / "key-encryption.key", work / "pg2" / "data" / "key-encryption.key")
            pg2 = start_server(children, work / "pg2", ["--database", database, *public], src=src)
            lite_path = _prepare(lite)
            pg_path = _prepare(pg1)
            status_path = _running_operation(pg1, pg_path)
            pg2.tokens = dict(pg1.tokens)
            # each replica in a cgroup of its own, limited only while the two-replica row is measured
            limiter = limits if isinstance(limits, CpuLimits) and opts.replica_cpu > 0 else None
            if limiter is not None:
                limiter.add(pg1.proc.pid)
                limiter.add(pg2.proc.pid)
                notes["two_replicas_cpu_limit"] = f"{opts.replica_cpu:g} CPU each (cgroup)"
            else:
                notes["two_replicas_cpu_limit"] = f"none ({limits if isinstance(limits, str) else '--replica-cpu 0'})"
            tags_path = lite_path.replace("?", "/providers/Microsoft.Resources/tags/default?")
            rounds = []
            for _ in range(opts.rounds):
                sqlite_get = _measure(lite, lite_path, opts, get_lua)
                # right after the GET it is compared with: the machine's speed drifts over a round
                put = _measure(lite, tags_path, opts, put_lua, role="admin")  # the partner may not write groups
                before = _busy_jiffies()
                pg_get = _measure(pg1, pg_path, opts, get_lua)
                one_cores = _busy_cores(before)
                before = _busy_jiffies()
                two, two_cpu_us = _both([pg1, pg2], pg_path, opts, get_lua)
                two_cores = _busy_cores(before)
                if limiter is not None:
                    limiter.set(opts.replica_cpu)
                    one_before = _measure(pg1, pg_path, opts, get_lua).rps
                    two_limited = _both([pg1, pg2], pg_path, opts, get_lua)[0]
                    # (printed, no target) each replica under the load one had alone: what sharing
                    # costs them, without what splitting one load costs each (fewer requests per
                    # event-loop wake-up and per generation read)
                    doubled = argparse.Namespace(**{**vars(opts), "connections": 2 * opts.connections})
                    two_equal = _both([pg1, pg2], pg_path, doubled, get_lua)[0]
                    one_after = _measure(pg1, pg_path, opts, get_lua).rps
                    limiter.set(None)
                    one_limited = (one_before + one_after) / 2
                else:
                    one_limited, two_limited, two_equal = pg_get.rps, two, two
                poll = _measure(pg1, status_path, opts, get_lua)
                for name, m in (("sqlite GET", sqlite_get), ("pg GET", pg_get), ("PUT tags", put), ("poll", poll)):
                    if m.errors:
                        raise BenchError(f"{name}: wrk reported {m.errors} errors (non-2xx or socket)")
                rounds.append(
                    {
                        "sqlite_get_rps": sqlite_get.rps,
                        "sqlite_get_cpu_us": sqlite_get.server_cpu_us_per_request,
                        "pg_get_rps": pg_get.rps,
                        "pg_get_cpu_us": pg_get.server_cpu_us_per_request,
                        "pg_two_replicas_rps": two,
                        "pg_two_replicas_cpu_us": two_cpu_us,
                        # cores busy machine-wide (servers, wrk, PostgreSQL): what bounds the
                        # two-replica ratio on a small machine
                        "pg_one_replica_machine_cores": one_cores,
                        "pg_two_replicas_machine_cores": two_cores,
                        # the row's figures: each replica held to --replica-cpu (when it can be)
                        "pg_one_limited_rps": one_limited,
                        "pg_two_limited_rps": two_limited,
                        "pg_two_limited_equal_load_rps": two_equal,
                        "sqlite_put_tags_rps": put.rps,
                        "sqlite_put_tags_cpu_us": put.server_cpu_us_per_request,
                        # a poll of a running operation on one PostgreSQL replica (no target)
                        "pg_poll_rps": poll.rps,
                        "pg_poll_cpu_us": poll.server_cpu_us_per_request,
                    }
                )
                print(json.dumps(rounds[-1]), file=sys.stderr)
            lro = {}
            for name, server in (("sqlite", lite), ("postgresql", pg1)):
                put_s, get_s = _lro_vs_get(server, opts.lro_calls)
                lro[name] = {"peering_put_ms": 1000 * put_s, "get_ms": 1000 * get_s}
                print(json.dumps({name: lro[name]}), file=sys.stderr)
    finally:
        _drop_database(database)
    ratios = {
        "PostgreSQL GET / SQLite GET, one replica (req/s)": [r["pg_get_rps"] / r["sqlite_get_rps"] for r in rounds],
        TWO_REPLICAS: [r["pg_two_limited_rps"] / r["pg_one_limited_rps"] for r in rounds],
        "PUT tags / GET, server CPU per request (SQLite)": [
            r["sqlite_put_tags_cpu_us"] / r["sqlite_get_cpu_us"] for r in rounds
        ],
        "SDK peering PUT (LRO) / GET, end to end (SQLite)": [lro["sqlite"]["peering_put_ms"] / lro["sqlite"]["get_ms"]],
    }
    table = []
    for name, values in ratios.items():
        value = statistics.median(values)
        target = TARGETS[name]
        passed = value <= target if name in _AT_MOST else value >= target
        table.append({"row": name, "value": round(value, 3), "target": target, "passed": passed, "rounds": values})
    notes["loadavg_after"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    equal_load = statistics.median(r["pg_two_limited_equal_load_rps"] / r["pg_one_limited_rps"] for r in rounds)
    unlimited = {
        # what two replicas with no CPU limit reach, and the most they could on this machine: the
        # two cores over the cores one replica's run keeps busy (the server, wrk and PostgreSQL)
        "ratio": statistics.median(r["pg_two_replicas_rps"] / r["pg_get_rps"] for r in rounds),
        "bound": statistics.median((os.cpu_count() or 1) / r["pg_one_replica_machine_cores"] for r in rounds),
    }
    return {
        "machine": notes,
        "rounds": rounds,
        "lro": lro,
        "unlimited_two_replicas": unlimited,
        "two_replicas_equal_load": equal_load,
        "rows": table,
        "passed": all(r["passed"] for r in table),
    }


_LAST: dict[str, Any] = {}


def rows(rounds: int = 5, duration: float = 5.0) -> list[dict[str, Any]]:
    """The PASS/FAIL rows of one run, for ``bench_scale.py``."""
    opts = argparse.Namespace(
        rounds=rounds,
        duration=duration,
        connections=16,
        lro_calls=20,
        replica_cpu=0.5,
        src=None,
        keep=False,
        json=False,
    )
    result = bench(opts)
    _LAST.update(result)
    return [{k: r[k] for k in ("row", "value", "target", "passed")} for r in result["rows"]]


def print_table(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(f"machine: {m['cpus']} CPU, load average before {m['loadavg_before']}, after {m['loadavg_after']}")
    print(f"servers run from: {m['src']}")
    keys = list(result["rounds"][0])
    print("per round: " + ", ".join(keys))
    for r in result["rounds"]:
        print("  " + "  ".join(f"{r[k]:9.0f}" if r[k] >= 100 else f"{r[k]:9.2f}" for k in keys))
    print(f"{'row':<54}{'value':>8}{'target':>9}  result   (rounds)")
    for r in result["rows"]:
        op = "≤" if r["row"] in _AT_MOST else "≥"
        verdict = "PASS" if r["passed"] else "FAIL"
        spread = ", ".join(f"{v:.2f}" for v in r["rounds"])
        print(f"{r['row']:<54}{r['value']:>8.2f}{op:>4}{r['target']:>5.1f}  {verdict}     ({spread})")
    print(f"two replicas' CPU limit: {m['two_replicas_cpu_limit']}")
    print(
        "two replicas / one, each replica under the load one had alone (twice the connections in all, "
        f"same limit): {result['two_replicas_equal_load']:.2f}"
    )
    free = result["unlimited_two_replicas"]
    print(
        f"two replicas / one with no CPU limit: {free['ratio']:.2f}; the most this machine allows: "
        f"{free['bound']:.2f} (its cores over those busy while one replica is measured)"
    )
    polls = sorted(result["rounds"], key=lambda r: r["pg_poll_rps"])[(len(result["rounds"]) - 1) // 2]
    print(
        f"poll of a running operation, one PostgreSQL replica: {polls['pg_poll_rps']:.0f} req/s, "
        f"{polls['pg_poll_cpu_us']:.0f} µs of server CPU each (the median round)"
    )
    for name, figures in result["lro"].items():
        print(
            f"SDK on {name}: peering PUT {figures['peering_put_ms']:.1f} ms, GET {figures['get_ms']:.1f} ms (medians), "
            f"ratio {figures['peering_put_ms'] / figures['get_ms']:.2f}"
            + ("" if name == "sqlite" else " (no target: see bench/README.md)")
        )


def _replica_cpu(text: str) -> float:
    """``--replica-cpu``: 0 (no limit) or a share of a core the kernel's CFS quota can hold (at
    least 0.01: a quota under 1 ms per 100 ms period is refused), at most the machine's cores."""
    try:
        cores = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of cores (e.g. 0.5; 0: no limit)") from None
    most = os.cpu_count() or 1
    if cores != 0 and not 0.01 <= cores <= most:
        raise argparse.ArgumentTypeError(
            f"{text} is not 0 (no limit) or between 0.01 and {most} (this machine's cores)"
        )
    return cores


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=5.0, help="seconds of each wrk measurement")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--lro-calls", type=int, default=20, help="SDK peering PUTs (and GETs) timed per backend")
    p.add_argument(
        "--replica-cpu",
        type=_replica_cpu,
        default=0.5,
        help="cores each PostgreSQL replica may use in the two-replica row (a cgroup limit; 0: no limit)",
    )
    p.add_argument("--src", help="run the servers from this source tree (default: the one next to this script)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--json", action="store_true")
    return run(bench, print_table, p.parse_args(argv), time_limit=1800)


if __name__ == "__main__":
    sys.exit(main())
