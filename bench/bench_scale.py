"""Cross-connection look-ups and listing with 10,000 circuits vs with 100 (issue 19, first slice).

Two servers on loopback (SQLite, default options): the small one with ``--small`` circuits
(100), the large one with ``--circuits`` (10,000), created through the real HTTPS ARM API as a
customer does it (one circuit PUT each, which also creates the partner's cross connection; the
creation helpers of ``bench_troubleshooting.py``). Then, one server after the other in turns (the
machine is shared: compare ratios measured in the same run):

* ``lookup``: the partner's look-up by service key,
  ``GET /subscriptions/{partner}/providers/Microsoft.Network/expressRouteCrossConnections?$filter=name eq '<key>'``
  (the key in upper case: names compare case-insensitively);
* ``get``: GET of one cross connection;
* ``list``: all cross connections of the partner's subscription, page after page through
  ``nextLink`` as the SDK's pager follows it; the cost per listed item (median of ``--walks``
  walks on the large server, of ``--walks`` x circuits/small walks, at most 100 x, on the small one).

Targets: lookup and get p50 at the large server <= 1.2 x at the small one; list cost per item at
the large server <= 1.2 x at the small one. Exit status 0 PASS, 1 FAIL, 2 could not run.

    python bench/bench_scale.py [--circuits 10000] [--small 100] [--calls 200] [--walks 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common is found however this runs
from _common import BenchError, Server, fetch_tokens, machine_notes, run, start_server, workspace  # noqa: E402
from bench_troubleshooting import (  # noqa: E402
    API_VERSION,
    BANDWIDTH_MBPS,
    CUSTOMER_GROUP,
    PEERING_LOCATION,
    PROVIDER,
    _write,
    add_port_pairs,
    circuit_path,
    cross_connection_path,
)

TARGET_RATIO = 1.2
XC_LIST = "/subscriptions/{sub}/providers/Microsoft.Network/expressRouteCrossConnections"


async def _create(server: Server, indices: range, workers: int) -> list[str]:
    """Circuits through the customer's PUT (to the end of its operation); their service keys."""
    import httpx

    customer = server.headers("customer")
    keys: dict[int, str] = {}
    pending = iter(indices)
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=server.base, verify=server.tls(), timeout=60, limits=limits) as client:

        async def worker() -> None:
            for i in pending:
                body = {
                    "location": "westus",
                    "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
                    "properties": {
                        "serviceProviderProperties": {
                            "serviceProviderName": PROVIDER,
                            "peeringLocation": PEERING_LOCATION,
                            "bandwidthInMbps": BANDWIDTH_MBPS,
                        }
                    },
                }
                circuit = await _write(client, "PUT", circuit_path(server, i), body, customer)
                keys[i] = circuit["properties"]["serviceKey"]

        await asyncio.gather(*(worker() for _ in range(workers)))
    return [keys[i] for i in indices]


class Caller:
    """The three measured calls on one server, over one keep-alive connection."""

    def __init__(self, server: Server, service_key: str, circuits: int) -> None:
        import httpx

        self.server, self.key, self.circuits = server, service_key, circuits
        self.client = httpx.Client(
            base_url=server.base, verify=server.tls(), timeout=120, headers=server.headers("partner")
        )
        self.lookup_ms: list[float] = []
        self.get_ms: list[float] = []
        self.list_ms_per_item: list[float] = []
        self.list_pages = 0

    def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        r = self.client.get(url, params=params)
        if r.status_code != 200:
            raise BenchError(f"GET {url} failed: {r.status_code} {r.text[:2000]}")
        return dict(r.json())

    def lookup(self, record: bool) -> None:
        url = XC_LIST.format(sub=self.server.subscription("partner"))
        started = time.perf_counter()
        body = self._get(url, {"api-version": API_VERSION, "$filter": f"name eq '{self.key.upper()}'"})
        elapsed = (time.perf_counter() - started) * 1000
        if [x["name"] for x in body["value"]] != [self.key] or "nextLink" in body:
            raise BenchError(f"the look-up by service key answered {body}")
        if record:
            self.lookup_ms.append(elapsed)

    def get(self, record: bool) -> None:
        started = time.perf_counter()
        body = self._get(cross_connection_path(self.server, self.key), {"api-version": API_VERSION})
        elapsed = (time.perf_counter() - started) * 1000
        if body["name"] != self.key:
            raise BenchError(f"GET of the cross connection answered {body}")
        if record:
            self.get_ms.append(elapsed)

    def touch(self) -> None:
        """A write (the customer's resource group PUT again, unchanged). On SQLite the server serves
        reads made since its last write from memory: walking the same 100 items again and again
        would measure that memory, while a walk of 10,000 items outgrows it and reads the database.
        Each walk starts after a write, so both read the database."""
        r = self.client.put(
            f"/subscriptions/{self.server.subscription('customer')}/resourceGroups/{CUSTOMER_GROUP}",
            params={"api-version": "2021-04-01"},
            json={"location": "westus"},
            headers=self.server.headers("customer"),
        )
        if r.status_code not in (200, 201):
            raise BenchError(f"PUT of the customer's resource group failed: {r.status_code} {r.text[:2000]}")

    def walk(self, record: bool) -> None:
        self.touch()
        url: str | None = XC_LIST.format(sub=self.server.subscription("partner")) + f"?api-version={API_VERSION}"
        items, pages = 0, 0
        started = time.perf_counter()
        while url:
            body = self._get(url)
            items += len(body["value"])
            pages += 1
            url = body.get("nextLink")
        elapsed = (time.perf_counter() - started) * 1000
        if items != self.circuits:
            raise BenchError(f"the listing gave {items} cross connections, not {self.circuits}")
        if record:
            self.list_ms_per_item.append(elapsed / items)
            self.list_pages = pages

    def close(self) -> None:
        self.client.close()

    def result(self) -> dict[str, Any]:
        return {
            "circuits": self.circuits,
            "lookup_p50_ms": statistics.median(self.lookup_ms),
            "get_p50_ms": statistics.median(self.get_ms),
            "list_ms_per_item": statistics.median(self.list_ms_per_item),
            "list_pages": self.list_pages,
            "list_s": statistics.median(self.list_ms_per_item) * self.circuits / 1000,
        }


def bench(opts: argparse.Namespace) -> dict[str, Any]:
    machine = machine_notes()
    with workspace("ccbench-scale-", opts.keep) as (work, children):
        small_server = start_server(children, work / "small")
        large_server = start_server(children, work / "large")
        for server in (small_server, large_server):
            fetch_tokens(server, ("customer", "partner", "operator"))
        add_port_pairs(small_server, opts.small)
        add_port_pairs(large_server, opts.circuits)
        started = time.perf_counter()
        small_keys = asyncio.run(_create(small_server, range(opts.small), opts.workers))
        large_keys: list[str] = []
        for start in range(0, opts.circuits, 1000):
            large_keys += asyncio.run(
                _create(large_server, range(start, min(opts.circuits, start + 1000)), opts.workers)
            )
            if not opts.json:
                print(f"  {len(large_keys):>6} circuits", file=sys.stderr, flush=True)
        setup = time.perf_counter() - started
        # the measured circuit: in the middle of the table (a scan would not stop early)
        callers = [
            Caller(small_server, small_keys[len(small_keys) // 2], opts.small),
            Caller(large_server, large_keys[len(large_keys) // 2], opts.circuits),
        ]
        try:
            measure_started = time.perf_counter()
            for caller in callers:  # warm up
                for _ in range(opts.warmup):
                    caller.lookup(False)
                    caller.get(False)
                caller.walk(False)
            for _ in range(0, opts.calls, 10):  # interleaved, ten calls per server per turn
                for caller in callers:
                    for _ in range(10):
                        caller.lookup(True)
                        caller.get(True)
            # the small listing is one page of a few ms: walk it as many times as the large one
            # has pages (capped), so that both medians rest on comparable amounts of work
            small_walks = min(100, max(1, opts.circuits // opts.small))
            for _ in range(opts.walks):
                for _ in range(small_walks):
                    callers[0].walk(True)
                callers[1].walk(True)
            measuring = time.perf_counter() - measure_started
        finally:
            for caller in callers:
                caller.close()
        small, large = (c.result() for c in callers)
        ratios = {
            kind: large[field] / small[field]
            for kind, field in (("lookup", "lookup_p50_ms"), ("get", "get_p50_ms"), ("list", "list_ms_per_item"))
        }
        return {
            "target_ratio": TARGET_RATIO,
            "ratios": ratios,
            "passed": all(r <= TARGET_RATIO for r in ratios.values()),
            "small": small,
            "large": large,
            "setup": {"setup_s": setup, "measuring_s": measuring, "workers": opts.workers},
            "machine": machine,
        }


def print_table(r: dict[str, Any]) -> None:
    m, s = r["machine"], r["setup"]
    print("Cross-connection look-up by service key, GET and full listing, by circuits in the store (SQLite)")
    print(f"machine: {m['cpus']} CPU, Python {m['python']}; load average before: {m['loadavg_before']}")
    print(f"setup: {r['small']['circuits']} + {r['large']['circuits']} circuits in {s['setup_s']:.0f} s; "
          f"measuring {s['measuring_s']:.0f} s")  # fmt: skip
    print()
    print(f"{'circuits':>9}{'lookup p50 ms':>15}{'get p50 ms':>12}{'list ms/item':>14}{'pages':>7}{'list s':>9}")
    for key in ("small", "large"):
        x = r[key]
        print(
            f"{x['circuits']:>9}{x['lookup_p50_ms']:>15.2f}{x['get_p50_ms']:>12.2f}{x['list_ms_per_item']:>14.3f}"
            f"{x['list_pages']:>7}{x['list_s']:>9.2f}"
        )
    print()
    for kind, ratio in r["ratios"].items():
        verdict = "PASS" if ratio <= r["target_ratio"] else "FAIL"
        print(f"{kind:>7}: ratio {ratio:6.2f}x  (target <= {r['target_ratio']}x)  {verdict}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--circuits", type=int, default=10_000, help="circuits for the large measurement (10000)")
    p.add_argument("--small", type=int, default=100, help="circuits for the small measurement (100)")
    p.add_argument("--calls", type=int, default=200, help="measured look-ups and GETs per server (200)")
    p.add_argument("--walks", type=int, default=3, help="measured full listings per server (3)")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured calls of each kind before measuring (20)")
    p.add_argument("--workers", type=int, default=4, help="concurrent workers creating circuits (4)")
    p.add_argument("--time-limit", type=float, default=1800, help="abort after this many seconds (1800)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and server log")
    opts = p.parse_args(argv)
    if not 1 <= opts.small < opts.circuits <= 100_000:
        p.error("need 1 <= --small < --circuits <= 100000")
    if not 10 <= opts.calls <= 10_000 or not 1 <= opts.walks <= 20 or not 1 <= opts.workers <= 32:
        p.error("--calls must be in [10, 10000], --walks in [1, 20], --workers in [1, 32]")
    return run(
        bench, print_table, opts, time_limit=int(opts.time_limit), over_time="the benchmark exceeded --time-limit"
    )


if __name__ == "__main__":
    sys.exit(main())
