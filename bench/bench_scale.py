"""Issue 19 (performance at scale): every row of the issue's table, side by side in one run.

SQLite servers on loopback, default options, created through the real HTTPS ARM API as a customer
does it (one circuit PUT each, which also creates the partner's cross connection; the creation
helpers of ``bench_troubleshooting.py``):

* tiny (``--tiny`` circuits, 10), small (``--small``, 100) and large (``--circuits``, 10,000),
  measured in turns (the machine is shared: compare ratios measured in the same run):
  - ``lookup``: the partner's look-up by service key,
    ``GET …/expressRouteCrossConnections?$filter=name eq '<KEY>'`` (upper case: names compare
    case-insensitively); ``get``: GET of one cross connection; both large / tiny, as the issue
    states them (10,000 against 10); ``list``: the partner's whole
    listing page after page through ``nextLink`` as the SDK's pager follows it, per listed item
    (each walk after a write, so both sizes read the database), as the server's own CPU per item,
    the least of ``--walks`` samples (one sample: one large walk, or as many small walks as the
    large one has pages); wall time per item beside it, large / small (10,000 against 100). Targets:
    <= 1.2x.
  - ``memory``: the large server's RSS after the whole workload (10,000 circuits created, the
    look-ups, GETs and walks) / its RSS after start (tokens fetched). Target <= 1.2x.
* mid (``--mid`` circuits, 1,000): snapshot export (``GET /_crossconnect/snapshot``) and import
  (``PUT``), each <= 100 ms and off the event loop (the longest health check answered while one
  runs <= half its duration); reset with 1,000 circuits (import, then the timed reset) <= 100 ms;
  reset at the seeded size <= 50 ms.
* ``startup``: ``crossconnect serve`` on an existing data dir, from process start to ``GET
  /_crossconnect/health`` answering 200 (polled every 10 ms), median of ``--starts``; <= 0.7 s.
* rows of other modules (``ROW_MODULES``), when present in ``bench/``: ``bench_postgres.py``
  (PostgreSQL against SQLite, two replicas against one, the tags PUT and the SDK long-running
  PUT against a GET), ``bench_get_resource_group.py`` (GET against a bare Starlette endpoint),
  ``bench_troubleshooting.py`` (10,000 circuits against 10) and ``bench_workflow.py`` (the SDK
  seed workflow): each exposes ``rows() -> list[dict]`` with ``row``, ``value``, ``target``,
  ``passed`` and is folded in as is (``--only extra``).

Exit status 0 every row PASS, 1 some FAIL, 2 could not run.

    python bench/bench_scale.py [--circuits 10000] [--tiny 10] [--small 100] [--mid 1000] [--calls 200] [--walks 3]
                                [--only list,snapshot,...] [--json]
    python bench/bench_scale.py --only startup [--starts 5] [--bytecode-cache]   # the start-up row alone
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import json
import math
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common is found however this runs
from _common import (  # noqa: E402
    BenchError,
    Server,
    fetch_tokens,
    machine_notes,
    run,
    start_server,
    workspace,
)
from bench_startup import measure_startup, process_cpu_s  # noqa: E402
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
        self.list_cpu_ms_per_item: list[float] = []  # the server's CPU, per batch of walks
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

    def walks(self, count: int) -> None:
        """``count`` measured walks; the server's CPU over all of them, per listed item, is one
        sample (its CPU clock ticks every 10 ms: one 100-item walk is a tick or two)."""
        cpu = 0.0
        for _ in range(count):
            cpu += self.walk(True)
        self.list_cpu_ms_per_item.append(cpu * 1000 / (count * self.circuits))

    def walk(self, record: bool) -> float:
        """One walk after a write; the server's CPU seconds during the walk (the write excluded)."""
        self.touch()
        cpu0 = process_cpu_s(self.server.proc.pid)
        url: str | None = XC_LIST.format(sub=self.server.subscription("partner")) + f"?api-version={API_VERSION}"
        items, pages = 0, 0
        started = time.perf_counter()
        while url:
            body = self._get(url)
            items += len(body["value"])
            pages += 1
            url = body.get("nextLink")
        elapsed = (time.perf_counter() - started) * 1000
        cpu = process_cpu_s(self.server.proc.pid) - cpu0
        if items != self.circuits:
            raise BenchError(f"the listing gave {items} cross connections, not {self.circuits}")
        if record:
            self.list_ms_per_item.append(elapsed / items)
            self.list_pages = pages
        return cpu

    def close(self) -> None:
        self.client.close()

    def result(self) -> dict[str, Any]:
        def median(values: list[float]) -> float:
            return statistics.median(values) if values else float("nan")

        return {
            "circuits": self.circuits,
            "lookup_p50_ms": median(self.lookup_ms),
            "get_p50_ms": median(self.get_ms),
            "list_ms_per_item": median(self.list_ms_per_item),
            "list_min_ms_per_item": min(self.list_ms_per_item, default=float("nan")),
            "list_cpu_ms_per_item": min(self.list_cpu_ms_per_item, default=float("nan")),
            "list_pages": self.list_pages,
            "list_s": median(self.list_ms_per_item) * self.circuits / 1000,
        }


# Row providers from other modules in bench/: the PostgreSQL rows (one and two replicas, writes against
# reads) and the targets the issue keeps (GET against bare Starlette, troubleshooting, the SDK workflow).
# Each exposes ``rows() -> list[dict]`` with the keys ``row``, ``value``, ``target``, ``passed`` (and
# optionally ``detail``), measured with its own defaults.
ROW_MODULES: tuple[str, ...] = ("bench_postgres", "bench_get_resource_group", "bench_troubleshooting", "bench_workflow")

SNAPSHOT_TARGET_MS = 100.0
RESET_SEEDED_TARGET_MS = 50.0
RESET_MID_TARGET_MS = 100.0
STARTUP_TARGET_S = 0.7


def _row(row: str, value: float, target: str, passed: bool, detail: str = "") -> dict[str, Any]:
    return {"row": row, "value": value, "target": target, "passed": passed, "detail": detail}


def rss_mb(pid: int) -> float:
    """Resident set size of a process (Linux ``/proc``), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmRSS for process {pid}")


def _operator_client(server: Server) -> Any:
    import httpx

    return httpx.Client(base_url=server.base, verify=server.tls(), timeout=120, headers=server.headers("operator"))


def _while_health(server: Server, action: Callable[[], Any]) -> tuple[float, float, Any]:
    """Run ``action`` in a thread while this one asks the server's health endpoint again and again
    (its own connection): (action ms, longest health answer ms while it ran, action's result).
    A server that runs the action on its event loop answers no health check meanwhile."""
    import httpx

    done = threading.Event()
    outcome: dict[str, Any] = {}

    def target() -> None:
        started = time.perf_counter()
        try:
            outcome["result"] = action()
        except BaseException as exc:  # noqa: BLE001 - reported below, in this thread
            outcome["error"] = exc
        outcome["ms"] = (time.perf_counter() - started) * 1000
        done.set()

    longest = 0.0
    with httpx.Client(base_url=server.base, verify=server.tls(), timeout=30) as health:
        health.get("/_crossconnect/health")  # connected before the action starts
        worker = threading.Thread(target=target)
        worker.start()
        while not done.is_set():
            t0 = time.perf_counter()
            health.get("/_crossconnect/health")
            if not done.is_set():
                longest = max(longest, (time.perf_counter() - t0) * 1000)
            time.sleep(0.005)
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return float(outcome["ms"]), longest, outcome["result"]


def measure_state_calls(server: Server, rounds: int, resets: bool = True) -> dict[str, Any]:
    """On the mid server: snapshot export and import, reset with its circuits, reset at the seeded
    size (the last, since a reset empties the server; ``resets``: measure them)."""
    client = _operator_client(server)

    def export() -> bytes:
        r = client.get("/_crossconnect/snapshot")
        if r.status_code != 200:
            raise BenchError(f"snapshot export answered {r.status_code}: {r.text[:500]}")
        return r.content

    def import_(body: bytes) -> None:
        r = client.put("/_crossconnect/snapshot", content=body, headers={"Content-Type": "application/json"})
        if r.status_code != 200:
            raise BenchError(f"snapshot import answered {r.status_code}: {r.text[:500]}")

    def reset_call() -> None:
        r = client.post("/_crossconnect/reset")
        if r.status_code != 200:
            raise BenchError(f"reset answered {r.status_code}: {r.text[:500]}")

    cpu_ms: dict[str, list[float]] = {"export": [], "import": [], "reset_mid": [], "reset_seeded": []}

    def timed(call: Callable[[], Any], kind: str) -> tuple[float, Any]:
        """Wall ms of the call, and the server's own CPU ms for it (what a loaded machine blurs less)."""
        cpu0, t0 = process_cpu_s(server.proc.pid), time.perf_counter()
        result = call()
        wall = (time.perf_counter() - t0) * 1000
        cpu_ms[kind].append((process_cpu_s(server.proc.pid) - cpu0) * 1000)
        return wall, result

    try:
        snapshot = export()  # warm-up
        import_(snapshot)
        exports, imports, resets_mid = [], [], []
        for _ in range(rounds):  # each call alone: nothing else asks the server meanwhile
            ms, snapshot = timed(export, "export")
            exports.append(ms)
            imports.append(timed(functools.partial(import_, snapshot), "import")[0])
        # then once more each while health checks keep coming: do they get answers meanwhile?
        ms, blocked, snapshot = _while_health(server, export)
        export_blocked = blocked / ms
        ms, blocked, _ = _while_health(server, functools.partial(import_, snapshot))
        import_blocked = blocked / ms
        operations = len(json.loads(snapshot)["tables"].get("operations", []))
        for _ in range(rounds if resets else 0):
            import_(snapshot)
            resets_mid.append(timed(reset_call, "reset_mid")[0])
        resets_seeded = [timed(reset_call, "reset_seeded")[0] for _ in range(max(10, rounds * 2) if resets else 0)]
    finally:
        client.close()
    return {
        "snapshot_bytes": len(snapshot),
        "snapshot_operations": operations,
        "export_ms": statistics.median(exports),
        "import_ms": statistics.median(imports),
        "export_blocked": export_blocked,
        "import_blocked": import_blocked,
        "reset_mid_ms": statistics.median(resets_mid) if resets else None,
        "reset_seeded_ms": statistics.median(resets_seeded) if resets else None,
        "server_cpu_ms": {kind: statistics.median(values) for kind, values in cpu_ms.items() if values},
    }


def extra_rows(names: tuple[str, ...]) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of the other modules present in bench/ (and notes on those absent or failing)."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            notes.append(f"{name}: not present, its rows were not measured")
            continue
        try:
            rows.extend(dict(r) for r in module.rows())
        except Exception as exc:  # noqa: BLE001 - one provider failing must not hide the others' rows
            notes.append(f"{name}: could not run ({exc})")
    return rows, notes


# Row groups ``--only`` selects (several: comma-separated); each sets up only the servers its rows need.
PAIR_ROWS = ("lookup", "get", "list", "memory")  # the small and the large server
MID_ROWS = ("snapshot", "reset")  # the mid server
ROW_GROUPS = (*PAIR_ROWS, *MID_ROWS, "startup", "extra")


def bench(opts: argparse.Namespace) -> dict[str, Any]:
    machine = machine_notes()
    only = set(opts.only)
    rows: list[dict[str, Any]] = []
    result: dict[str, Any] = {"rows": rows, "notes": [], "setup": {"workers": opts.workers, "setup_s": 0.0,
                                                                  "measuring_s": 0.0}}  # fmt: skip
    with workspace("ccbench-scale-", opts.keep) as (work, children):
        if "startup" in only:
            startup_run = measure_startup(children, work / "startup", opts.starts, bytecode_cache=opts.bytecode_cache)
            result["startup_s"] = startup_run["starts_s"]
        if only & set(PAIR_ROWS):
            result.update(_measure_pair(opts, only, work, children))
            rows.extend(_pair_rows(opts, only, result))
        if only & set(MID_ROWS):
            mid_server = start_server(children, work / "mid")
            fetch_tokens(mid_server, ("customer", "operator"))
            add_port_pairs(mid_server, opts.mid)
            asyncio.run(_create(mid_server, range(opts.mid), opts.workers))
            result["state"] = measure_state_calls(mid_server, opts.rounds, "reset" in only)
            rows.extend(_state_rows(opts, only, result["state"]))
    if "startup" in only:
        startup = result["startup_s"]
        start_s = statistics.median(startup)
        rows.append(_row("start to healthy, existing data dir (s)", start_s, f"<= {STARTUP_TARGET_S} s",
                         start_s <= STARTUP_TARGET_S, f"min {min(startup):.2f}, max {max(startup):.2f} s; "
                         f"server CPU {startup_run['median_cpu_s']:.2f} s; bytecode {startup_run['bytecode']}"))  # fmt: skip
    if "extra" in only and not opts.no_extra:
        more, result["notes"] = extra_rows(ROW_MODULES)
        rows.extend(more)
    result["passed"] = all(r["passed"] for r in rows)
    result["machine"] = {**machine, "loadavg_after": _loadavg()}
    return result


def _measure_pair(opts: argparse.Namespace, only: set[str], work: Path, children: Any) -> dict[str, Any]:
    """The small and the large server: created, then look-ups and GETs in turns, then the walks."""
    tiny_server = start_server(children, work / "tiny")
    small_server = start_server(children, work / "small")
    large_server = start_server(children, work / "large")
    for server in (tiny_server, small_server, large_server):
        fetch_tokens(server, ("customer", "partner", "operator"))
    rss_start = rss_mb(large_server.proc.pid)
    add_port_pairs(tiny_server, opts.tiny)
    add_port_pairs(small_server, opts.small)
    add_port_pairs(large_server, opts.circuits)
    started = time.perf_counter()
    tiny_keys = asyncio.run(_create(tiny_server, range(opts.tiny), opts.workers))
    small_keys = asyncio.run(_create(small_server, range(opts.small), opts.workers))
    large_keys: list[str] = []
    for start in range(0, opts.circuits, 1000):
        large_keys += asyncio.run(_create(large_server, range(start, min(opts.circuits, start + 1000)), opts.workers))
        if not opts.json:
            print(f"  {len(large_keys):>6} circuits", file=sys.stderr, flush=True)
    setup = time.perf_counter() - started
    # the measured circuit: in the middle of the table (a scan would not stop early)
    # look-ups and GETs: --tiny against --circuits (the 10 and 10,000); walks: --small
    # against --circuits (per item, against 100: one page)
    tiny = Caller(tiny_server, tiny_keys[len(tiny_keys) // 2], opts.tiny)
    callers = [
        Caller(small_server, small_keys[len(small_keys) // 2], opts.small),
        Caller(large_server, large_keys[len(large_keys) // 2], opts.circuits),
    ]
    calls = bool(only & {"lookup", "get", "memory"})
    walks = bool(only & {"list", "memory"})
    try:
        measure_started = time.perf_counter()
        for caller in (tiny, *callers):  # warm up
            for _ in range(opts.warmup if calls else 0):
                caller.lookup(False)
                caller.get(False)
            if walks:
                caller.walk(False)
        for _ in range(0, opts.calls if calls else 0, 10):  # interleaved, ten calls per server per turn
            for caller in (tiny, callers[1]):
                for _ in range(10):
                    caller.lookup(True)
                    caller.get(True)
        # the small listing is one page of a few ms: walk it as many times as the large one has
        # pages (capped), so that both samples rest on comparable amounts of work; the two sizes
        # take turns, so a burst of load on the machine falls on both
        small_walks = min(100, max(1, opts.circuits // opts.small))
        for _ in range(opts.walks if walks else 0):
            callers[0].walks(small_walks)
            callers[1].walks(1)
        measuring = time.perf_counter() - measure_started
    finally:
        for caller in (tiny, *callers):
            caller.close()
    small, large = (c.result() for c in callers)
    return {
        "tiny": tiny.result(),
        "small": small,
        "large": large,
        "rss_mb": (rss_start, rss_mb(large_server.proc.pid)),
        "setup": {"setup_s": setup, "measuring_s": measuring, "workers": opts.workers},
    }


def _pair_rows(opts: argparse.Namespace, only: set[str], r: dict[str, Any]) -> list[dict[str, Any]]:
    tiny, small, large = r["tiny"], r["small"], r["large"]
    rows = []
    for kind, field in (("lookup", "lookup_p50_ms"), ("get", "get_p50_ms")):
        if kind in only:
            ratio = large[field] / tiny[field]
            rows.append(_row(f"{kind} {opts.circuits} / {opts.tiny} (SQLite)", ratio, f"<= {TARGET_RATIO}x",
                             ratio <= TARGET_RATIO, f"{large[field]:.3f} vs {tiny[field]:.3f} ms"))  # fmt: skip
    if "list" in only:
        # the server's CPU per listed item, the least of --walks samples: what the load on a shared
        # machine blurs least (wall time beside it, min and median, for reference)
        cpu, wall, median = "list_cpu_ms_per_item", "list_min_ms_per_item", "list_ms_per_item"
        ratio = large[cpu] / small[cpu]
        rows.append(_row(f"list per item {opts.circuits} / {opts.small}, server CPU (SQLite)", ratio,
                         f"<= {TARGET_RATIO}x", ratio <= TARGET_RATIO,
                         f"CPU {large[cpu]:.3f} vs {small[cpu]:.3f} ms; wall min {large[wall]:.3f} vs "
                         f"{small[wall]:.3f} ms ({large[wall] / small[wall]:.2f}x), median {large[median]:.3f} vs "
                         f"{small[median]:.3f} ms ({large[median] / small[median]:.2f}x)"))  # fmt: skip
    if "memory" in only:
        rss_start, rss_end = r["rss_mb"]
        memory = rss_end / rss_start
        rows.append(_row(f"memory after the {opts.circuits}-circuit workload / after start", memory,
                         f"<= {TARGET_RATIO}x", memory <= TARGET_RATIO, f"{rss_end:.0f} vs {rss_start:.0f} MiB"))  # fmt: skip
    return rows


def _state_rows(opts: argparse.Namespace, only: set[str], state: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for kind in ("export", "import") if "snapshot" in only else ():
        ms, blocked = state[f"{kind}_ms"], state[f"{kind}_blocked"]
        rows.append(_row(f"snapshot {kind} at {opts.mid} circuits (ms)", ms, f"<= {SNAPSHOT_TARGET_MS:.0f} ms",
                         ms <= SNAPSHOT_TARGET_MS, f"server CPU {state['server_cpu_ms'][kind]:.0f} ms; "
                         f"{state['snapshot_bytes'] / 1e6:.1f} MB, {state['snapshot_operations']} operations"))  # fmt: skip
        rows.append(_row(f"snapshot {kind}: longest health answer / its duration", blocked, "<= 0.5x (off the loop)",
                         blocked <= 0.5))  # fmt: skip
    if "reset" in only:
        rows.append(_row(f"reset with {opts.mid} circuits (ms)", state["reset_mid_ms"],
                         f"<= {RESET_MID_TARGET_MS:.0f} ms", state["reset_mid_ms"] <= RESET_MID_TARGET_MS,
                         f"server CPU {state['server_cpu_ms']['reset_mid']:.0f} ms"))  # fmt: skip
        rows.append(_row("reset at the seeded size (ms)", state["reset_seeded_ms"],
                         f"<= {RESET_SEEDED_TARGET_MS:.0f} ms", state["reset_seeded_ms"] <= RESET_SEEDED_TARGET_MS,
                         f"server CPU {state['server_cpu_ms']['reset_seeded']:.0f} ms"))  # fmt: skip
    return rows


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def print_table(r: dict[str, Any]) -> None:
    m, s = r["machine"], r["setup"]
    print("Issue 19: performance at scale (SQLite unless the row says otherwise)")
    print(f"machine: {m['cpus']} CPU, Python {m['python']}; load average before {m['loadavg_before']}, "
          f"after {m['loadavg_after']}")  # fmt: skip
    if "small" in r:
        print(f"setup: {r['tiny']['circuits']} + {r['small']['circuits']} + {r['large']['circuits']} circuits in "
              f"{s['setup_s']:.0f} s; "
              f"measuring {s['measuring_s']:.0f} s")  # fmt: skip
        print()
        print(f"{'circuits':>9}{'lookup p50 ms':>15}{'get p50 ms':>12}{'list ms/item':>14}{'CPU ms/item':>13}"
              f"{'pages':>7}{'list s':>9}")  # fmt: skip

        def cell(value: float, width: int, digits: int) -> str:
            return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.{digits}f}"  # (not measured there)

        for key in ("tiny", "small", "large"):
            x = r[key]
            print(
                f"{x['circuits']:>9}{cell(x['lookup_p50_ms'], 15, 2)}{cell(x['get_p50_ms'], 12, 2)}"
                f"{cell(x['list_ms_per_item'], 14, 3)}{cell(x['list_cpu_ms_per_item'], 13, 4)}"
                f"{x['list_pages'] or '-':>7}{cell(x['list_s'], 9, 2)}"
            )
    print()
    width = max(len(row["row"]) for row in r["rows"])
    for row in r["rows"]:
        verdict = "PASS" if row["passed"] else "FAIL"
        detail = f"  ({row['detail']})" if row.get("detail") else ""
        print(f"{row['row']:<{width}}  {row['value']:9.3f}  {row['target']:<24}{verdict}{detail}")
    for note in r["notes"]:
        print(f"note: {note}")


def _row_groups(value: str) -> tuple[str, ...]:
    groups = tuple(g.strip() for g in value.split(",") if g.strip())
    unknown = [g for g in groups if g not in ROW_GROUPS]
    if not groups or unknown:
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(ROW_GROUPS)}, got {value!r}")
    return groups


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--circuits", type=int, default=10_000, help="circuits for the large measurement (10000)")
    p.add_argument("--tiny", type=int, default=10, help="circuits the look-up and GET are compared with (10)")
    p.add_argument("--small", type=int, default=100, help="circuits the listing is compared with (100)")
    p.add_argument("--mid", type=int, default=1000, help="circuits for snapshots and reset (1000)")
    p.add_argument("--calls", type=int, default=200, help="measured look-ups and GETs per server (200)")
    p.add_argument("--walks", type=int, default=3, help="measured full listings per server (3)")
    p.add_argument("--rounds", type=int, default=5, help="snapshot exports, imports and resets at --mid (5)")
    p.add_argument("--starts", type=int, default=5, help="timed server starts on an existing data dir (5)")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured calls of each kind before measuring (20)")
    p.add_argument("--workers", type=int, default=4, help="concurrent workers creating circuits (4)")
    p.add_argument("--no-extra", action="store_true", help="skip the rows of ROW_MODULES")
    p.add_argument("--time-limit", type=float, default=2400, help="abort after this many seconds (2400)")
    p.add_argument(
        "--bytecode-cache", action="store_true", help="startup: start from compiled bytecode (see bench_startup.py)"
    )
    p.add_argument("--only", type=_row_groups, default=ROW_GROUPS,
                   help=f"measure only these rows, comma-separated, of: {', '.join(ROW_GROUPS)} (all)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and server log")
    opts = p.parse_args(argv)
    sizes_ok = 1 <= opts.tiny < opts.circuits and 1 <= opts.small < opts.circuits <= 100_000
    if not sizes_ok or not 1 <= opts.mid <= 100_000:
        p.error("need 1 <= --tiny < --circuits, 1 <= --small < --circuits <= 100000 and 1 <= --mid <= 100000")
    if not 10 <= opts.calls <= 10_000 or not 1 <= opts.walks <= 20 or not 1 <= opts.workers <= 32:
        p.error("--calls must be in [10, 10000], --walks in [1, 20], --workers in [1, 32]")
    if not 1 <= opts.rounds <= 50 or not 1 <= opts.starts <= 50:
        p.error("--rounds and --starts must be in [1, 50]")
    return run(
        bench, print_table, opts, time_limit=int(opts.time_limit), over_time="the benchmark exceeded --time-limit"
    )


if __name__ == "__main__":
    sys.exit(main())
