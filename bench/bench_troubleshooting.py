#!/usr/bin/env python3
"""Troubleshooting-call latency with 10,000 provisioned circuits vs with 10.

Issue 6, item 8: "troubleshooting-call latency with 10,000 provisioned circuits vs with 10;
target within 1.5x." One run on one machine:

* two fresh crossconnect servers side by side (``crossconnect serve``, SQLite, default operation
  delay, each its own temporary data dir): a small one and a large one. On the large one the
  operator first adds port pairs at Area51 for the Ibiza Test Provider so that the capacity
  suffices (``POST /_crossconnect/port-pairs``, 10 Gbps x overprovision 4 each);
* provisioned circuits with private peering, ``--small`` (10) on the small server and
  ``--circuits`` (10,000) on the large one, created through the real HTTPS ARM API as a
  customer and a partner do it: the customer PUTs a 50 Mbps circuit in Area51, the partner PUTs
  the cross connection named by its service key with ``serviceProviderProvisioningState``
  Provisioned, then PUTs ``AzurePrivatePeering`` on it; every long-running operation is polled
  (``Azure-AsyncOperation``) until it succeeded. httpx with keep-alive and ``--workers``
  concurrent asyncio workers; the creation rate is reported per ``--chunk`` circuits;
* ``--calls`` complete troubleshooting calls on the first circuit of each server, one at a time
  over one keep-alive connection per server, as the partner: ``POST .../expressRouteCross
  Connections/{serviceKey}/peerings/AzurePrivatePeering/{arpTables | routeTablesSummary |
  routeTables}/primary`` -> 202 + ``Location``, ``GET`` the Location (again at once while it
  answers 202) -> 200 with the table; the three kinds in turn, after a warm-up; latency = POST
  + GET(s). The two servers take turns (``--batch`` calls each), so that load from other
  processes on the machine hits both sizes alike.

Prints p50 / p90 / p99 per size, the ratios large/small and PASS/FAIL against the target
(p50 ratio <= 1.5; the p99 ratio is reported too), and the setup times; ``--json`` prints one
JSON object instead. Only 127.0.0.1 traffic; bounded in time (``--time-limit``); the servers are
stopped and the temporary directory removed at the end (also on Ctrl-C / SIGTERM).

Run by hand (not a pytest test), from the repository with its virtualenv active:

    python bench/bench_troubleshooting.py [--circuits 10000] [--calls 300] [--workers 4] [--json]

Exit status: 0 PASS, 1 FAIL (ratio above target), 2 the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common is found however this runs
from _common import (  # noqa: E402
    PRIVATE_PEERING,
    BenchError,
    Server,
    fetch_tokens,
    machine_notes,
    percentile,
    run,
    start_server,
    workspace,
)

TARGET_RATIO = 1.5
API_VERSION = "2024-07-01"
PROVIDER = "Ibiza Test Provider"
PEERING_LOCATION = "Area51"
XC_GROUP = "CrossConnection-Area51"
CUSTOMER_GROUP = "bench-circuits"
BANDWIDTH_MBPS = 50
DEFAULT_CAPACITY_MBPS = 2 * 10_000 * 4  # the provider's two default port pairs at a location
PAIR_CAPACITY_MBPS = 10_000 * 4  # one added pair: 10 Gbps ports, overprovision factor 4
KINDS = ("arpTables", "routeTablesSummary", "routeTables")


# ------------------------------------------------------------------------------------------------
# setup: port pairs and provisioned circuits through the HTTPS API
# ------------------------------------------------------------------------------------------------


def add_port_pairs(server: Server, circuits: int) -> int:
    import httpx

    needed = max(0, math.ceil((circuits * BANDWIDTH_MBPS - DEFAULT_CAPACITY_MBPS) / PAIR_CAPACITY_MBPS))
    with httpx.Client(base_url=server.base, verify=server.tls(), timeout=30, headers=server.headers("operator")) as c:
        for _ in range(needed):
            r = c.post(
                "/_crossconnect/port-pairs",
                json={
                    "peeringLocation": PEERING_LOCATION,
                    "provider": PROVIDER,
                    "portBandwidthInMbps": 10_000,
                    "overprovisionFactor": 4,
                },
            )
            if r.status_code != 200:
                raise BenchError(f"adding a port pair failed: {r.status_code} {r.text}")
        r = c.put(
            f"/subscriptions/{server.subscription('customer')}/resourceGroups/{CUSTOMER_GROUP}?api-version=2021-04-01",
            json={"location": "westus"},
            headers=server.headers("customer"),
        )
        if r.status_code not in (200, 201):
            raise BenchError(f"creating the customer's resource group failed: {r.status_code} {r.text}")
    return needed


def circuit_path(server: Server, index: int) -> str:
    return (
        f"/subscriptions/{server.subscription('customer')}/resourceGroups/{CUSTOMER_GROUP}/providers/"
        f"Microsoft.Network/expressRouteCircuits/bench-{index:05d}"
    )


def cross_connection_path(server: Server, service_key: str) -> str:
    return (
        f"/subscriptions/{server.subscription('partner')}/resourceGroups/{XC_GROUP}/providers/"
        f"Microsoft.Network/expressRouteCrossConnections/{service_key}"
    )


async def _write(client: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    """A PUT through to the end of its long-running operation; returns the PUT's response body."""
    r = await client.request(method, f"{path}?api-version={API_VERSION}", json=body, headers=headers)
    if r.status_code not in (200, 201, 202):
        raise BenchError(f"{method} {path} failed: {r.status_code} {r.text[:2000]}")
    status_url = r.headers.get("Azure-AsyncOperation")
    for attempt in range(200):
        if not status_url:
            break
        s = await client.get(status_url, headers=headers)
        if s.status_code != 200:
            raise BenchError(f"polling {status_url} failed: {s.status_code} {s.text[:2000]}")
        status = s.json().get("status")
        if status == "Succeeded":
            break
        if status in ("Failed", "Canceled"):
            raise BenchError(f"{method} {path}: operation {status}: {s.text[:2000]}")
        await asyncio.sleep(min(0.5, 0.01 * (attempt + 1)))
    else:
        raise BenchError(f"{method} {path}: operation still running after 200 polls")
    return dict(r.json()) if r.content else {}


async def _create_circuits(server: Server, indices: range, workers: int) -> list[str]:
    import httpx

    customer, partner = server.headers("customer"), server.headers("partner")
    keys: dict[int, str] = {}
    pending = iter(indices)
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=server.base, verify=server.tls(), timeout=60, limits=limits) as client:

        async def worker() -> None:
            for i in pending:
                circuit = await _write(
                    client,
                    "PUT",
                    circuit_path(server, i),
                    {
                        "location": "westus",
                        "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
                        "properties": {
                            "serviceProviderProperties": {
                                "serviceProviderName": PROVIDER,
                                "peeringLocation": PEERING_LOCATION,
                                "bandwidthInMbps": BANDWIDTH_MBPS,
                            }
                        },
                    },
                    customer,
                )
                key = circuit["properties"]["serviceKey"]
                xc = cross_connection_path(server, key)
                await _write(
                    client, "PUT", xc, {"properties": {"serviceProviderProvisioningState": "Provisioned"}}, partner
                )
                await _write(
                    client, "PUT", f"{xc}/peerings/AzurePrivatePeering", {"properties": PRIVATE_PEERING}, partner
                )
                keys[i] = key

        await asyncio.gather(*(worker() for _ in range(workers)))
    return [keys[i] for i in indices]


def create_circuits(server: Server, start: int, stop: int, workers: int) -> tuple[list[str], float]:
    started = time.perf_counter()
    keys = asyncio.run(_create_circuits(server, range(start, stop), workers))
    return keys, time.perf_counter() - started


def check_provisioned(server: Server, service_key: str) -> None:
    import httpx

    with httpx.Client(base_url=server.base, verify=server.tls(), timeout=30, headers=server.headers("partner")) as c:
        r = c.get(f"{cross_connection_path(server, service_key)}?api-version={API_VERSION}")
    if r.status_code != 200:
        raise BenchError(f"GET of the measured cross connection failed: {r.status_code} {r.text}")
    p = r.json()["properties"]
    peerings = [x["name"] for x in p.get("peerings", [])]
    if p["serviceProviderProvisioningState"] != "Provisioned" or peerings != ["AzurePrivatePeering"]:
        raise BenchError(f"the measured circuit is not provisioned with private peering: {p}")


# ------------------------------------------------------------------------------------------------
# measurement
# ------------------------------------------------------------------------------------------------


@dataclass
class Latencies:
    circuits: int
    calls: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    polls_per_call: float
    p50_ms_by_kind: dict[str, float]


class Caller:
    """Complete troubleshooting calls on one circuit of one server, over one keep-alive connection."""

    def __init__(self, server: Server, service_key: str, circuits: int) -> None:
        import httpx

        self.circuits = circuits
        self.base = f"{cross_connection_path(server, service_key)}/peerings/AzurePrivatePeering"
        self.client = httpx.Client(
            base_url=server.base, verify=server.tls(), timeout=30, headers=server.headers("partner")
        )
        self.samples: list[tuple[str, float]] = []
        self.polls = 0
        self.calls = 0

    def call(self, kind: str, record: bool) -> None:
        started = time.perf_counter()
        r = self.client.post(f"{self.base}/{kind}/primary?api-version={API_VERSION}")
        if r.status_code != 202 or "Location" not in r.headers:
            raise BenchError(f"POST {kind}: expected 202 with Location, got {r.status_code} {r.text[:2000]}")
        location = r.headers["Location"]
        polls = 0
        for _ in range(100):
            r = self.client.get(location)
            polls += 1
            if r.status_code != 202:
                break
        elapsed = time.perf_counter() - started
        if r.status_code != 200 or not r.json().get("value"):
            raise BenchError(f"GET {kind} result: expected 200 with a table, got {r.status_code} {r.text[:2000]}")
        if record:
            self.samples.append((kind, elapsed * 1000))
            self.polls += polls

    def close(self) -> None:
        self.client.close()

    def result(self) -> Latencies:
        values = sorted(ms for _, ms in self.samples)
        by_kind = {k: percentile(sorted(ms for kind, ms in self.samples if kind == k), 50) for k in KINDS}
        return Latencies(
            self.circuits,
            len(values),
            percentile(values, 50),
            percentile(values, 90),
            percentile(values, 99),
            sum(values) / len(values),
            values[-1],
            self.polls / len(values),
            by_kind,
        )


def measure_interleaved(callers: list[Caller], calls: int, warmup: int, batch: int) -> None:
    """The servers take turns, ``batch`` calls each, so that a change in the machine's load
    (other processes) hits every size alike; the three kinds in turn."""
    for caller in callers:
        for n in range(warmup):
            caller.call(KINDS[n % len(KINDS)], record=False)
    done = 0
    while done < calls:
        step = min(batch, calls - done)
        for caller in callers:
            for n in range(done, done + step):
                caller.call(KINDS[n % len(KINDS)], record=True)
        done += step


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------


def bench(opts: argparse.Namespace) -> dict[str, Any]:
    machine = machine_notes()
    with workspace("ccbench-troubleshooting-", opts.keep) as (work, children):
        started = time.perf_counter()
        small_server = start_server(children, work / "small")
        large_server = start_server(children, work / "large")
        for server in (small_server, large_server):
            fetch_tokens(server, ("customer", "partner", "operator"))
        startup = time.perf_counter() - started
        add_port_pairs(small_server, opts.small)
        pairs = add_port_pairs(large_server, opts.circuits)
        small_keys, small_setup = create_circuits(small_server, 0, opts.small, opts.workers)
        large_keys: list[str] = []
        chunks: list[dict[str, float]] = []
        large_setup = 0.0
        for start in range(0, opts.circuits, opts.chunk):
            stop = min(opts.circuits, start + opts.chunk)
            keys, seconds = create_circuits(large_server, start, stop, opts.workers)
            large_keys += keys
            large_setup += seconds
            chunks.append({"circuits": stop, "seconds": seconds, "circuits_per_s": (stop - start) / seconds})
            if not opts.json:
                print(f"  {stop:>6} circuits, {(stop - start) / seconds:5.1f} circuits/s", file=sys.stderr, flush=True)
        for server, key in ((small_server, small_keys[0]), (large_server, large_keys[0])):
            check_provisioned(server, key)
        callers = [Caller(small_server, small_keys[0], opts.small), Caller(large_server, large_keys[0], opts.circuits)]
        try:
            measure_started = time.perf_counter()
            measure_interleaved(callers, opts.calls, opts.warmup, opts.batch)
            measuring = time.perf_counter() - measure_started
        finally:
            for caller in callers:
                caller.close()
        small, large = (c.result() for c in callers)
        p50_ratio, p99_ratio = large.p50_ms / small.p50_ms, large.p99_ms / small.p99_ms
        db = large_server.data_dir / "crossconnect.db"
        return {
            "target_ratio": TARGET_RATIO,
            "p50_ratio": p50_ratio,
            "p99_ratio": p99_ratio,
            "passed": p50_ratio <= TARGET_RATIO,
            "small": small.__dict__,
            "large": large.__dict__,
            "setup": {
                "servers_startup_s": startup,
                "port_pairs_added": pairs,
                "workers": opts.workers,
                "small_circuits": opts.small,
                "small_setup_s": small_setup,
                "large_circuits": opts.circuits,
                "large_setup_s": large_setup,
                "large_circuits_per_s": opts.circuits / large_setup,
                "large_setup_by_chunk": chunks,
                "requests_per_circuit": 6,
                "large_database_mb": sum(f.stat().st_size for f in db.parent.glob("crossconnect.db*")) / 1e6,
                "measuring_s": measuring,
            },
            "machine": machine,
        }


def print_table(r: dict[str, Any]) -> None:
    m, s = r["machine"], r["setup"]
    print("Troubleshooting calls (POST -> 202 + Location -> GET -> 200) on one circuit, by circuits in the store")
    print(
        f"machine: {m['cpus']} CPU ({m['cpu_model'] or 'unknown'}), Python {m['python']}; "
        f"load average before: {m['loadavg_before']}"
    )
    print(
        f"setup: two servers started in {s['servers_startup_s']:.1f} s; {s['small_circuits']} circuits in "
        f"{s['small_setup_s']:.1f} s; {s['port_pairs_added']} port pairs added and {s['large_circuits']} circuits "
        f"in {s['large_setup_s']:.0f} s ({s['large_circuits_per_s']:.1f} circuits/s, {s['requests_per_circuit']} "
        f"requests each, {s['workers']} workers); SQLite {s['large_database_mb']:.0f} MB; "
        f"measuring {s['measuring_s']:.0f} s"
    )
    rates = ", ".join(f"{c['circuits_per_s']:.0f}" for c in s["large_setup_by_chunk"])
    print(f"creation rate per chunk (circuits/s): {rates}")
    print()
    header = f"{'circuits':>9}{'calls':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'max ms':>9}"
    print(header + "".join(f"{k + ' p50':>24}" for k in KINDS))
    for key in ("small", "large"):
        x = r[key]
        print(
            f"{x['circuits']:>9}{x['calls']:>7}{x['p50_ms']:>9.2f}{x['p90_ms']:>9.2f}{x['p99_ms']:>9.2f}"
            f"{x['mean_ms']:>9.2f}{x['max_ms']:>9.2f}" + "".join(f"{x['p50_ms_by_kind'][k]:>24.2f}" for k in KINDS)
        )
    print()
    verdict = "PASS" if r["passed"] else "FAIL"
    print(
        f"ratio {r['large']['circuits']}/{r['small']['circuits']} circuits: p50 {r['p50_ratio']:.2f}x, "
        f"p99 {r['p99_ratio']:.2f}x  (target p50 <= {r['target_ratio']}x)  {verdict}"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--circuits", type=int, default=10_000, help="circuits for the large measurement (10000)")
    p.add_argument("--small", type=int, default=10, help="circuits for the small measurement (10)")
    p.add_argument("--calls", type=int, default=300, help="measured troubleshooting calls per size (300)")
    p.add_argument("--warmup", type=int, default=30, help="unmeasured calls before each measurement (30)")
    p.add_argument("--workers", type=int, default=4, help="concurrent workers creating circuits (4)")
    p.add_argument("--chunk", type=int, default=1000, help="report the creation rate every this many circuits")
    p.add_argument("--batch", type=int, default=10, help="calls per server per turn while measuring (10)")
    p.add_argument("--time-limit", type=float, default=1800, help="abort after this many seconds (1800)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and server log")
    return p


def rows() -> list[dict[str, Any]]:
    """The PASS/FAIL row of one run with the default options, for ``bench_scale.py``."""
    opts = parser().parse_args([])
    r = bench(opts)
    small, large = r["small"], r["large"]
    return [
        {
            "row": f"troubleshooting p50, {opts.circuits} / {opts.small} circuits",
            "value": r["p50_ratio"],
            "target": f"<= {TARGET_RATIO:g}x",
            "passed": r["passed"],
            "detail": f"{large['p50_ms']:.2f} vs {small['p50_ms']:.2f} ms; p99 {r['p99_ratio']:.2f}x",
        }
    ]


def main(argv: list[str] | None = None) -> int:
    p = parser()
    opts = p.parse_args(argv)
    if not 1 <= opts.small < opts.circuits <= 100_000:
        p.error("need 1 <= --small < --circuits <= 100000")
    if not 10 <= opts.calls <= 10_000 or not 0 <= opts.warmup <= 1000 or not 1 <= opts.workers <= 32:
        p.error("--calls must be in [10, 10000], --warmup in [0, 1000], --workers in [1, 32]")

    over_time = f"the benchmark exceeded --time-limit ({opts.time_limit:.0f} s)"
    return run(bench, print_table, opts, time_limit=int(opts.time_limit), over_time=over_time)


if __name__ == "__main__":
    sys.exit(main())
