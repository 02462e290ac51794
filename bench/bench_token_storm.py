#!/usr/bin/env python3
"""ARM GET latency beside a wrong-secret storm at the token endpoint.

Issue 12, item 6: "an anonymous wrong-secret storm raised a normal ARM GET's median latency to
~180 ms". One run on one machine:

* a fresh crossconnect server (``crossconnect serve``, SQLite, its own temporary data dir); the
  customer creates the resource group ``bench-rg`` and gets an ARM token (client credentials);
* **quiet**: ``GET /subscriptions/{customer}/resourcegroups/bench-rg`` one at a time over one
  keep-alive connection for ``--seconds``: median, p90, p99;
* **storm**: a separate process (this script with ``--storm-worker``) keeps ``--connections``
  keep-alive connections busy posting client-credentials token requests with a wrong secret for
  the partner's client id, from ``--sources`` loopback addresses (127.0.0.2, 127.0.0.3, ...), for
  the whole phase; meanwhile the same GET is measured as before (after a one-second ramp), and a
  token request with the customer's right secret is made from another address (127.0.1.1) every
  half second. The storm's answers are counted by status (401 invalid_client, 429 throttled);
* the storm's throughput (answers/s by status), the GET latencies quiet and under the storm, their
  ratio, and the legitimate token requests' latencies and statuses.

PASS when the median GET under the storm is at most ``--target`` times the quiet one (default 3)
and every legitimate token request got its token. Only 127.0.0.0/8 traffic; bounded in time
(``--time-limit``) and in requests (``--max-storm-requests``); the server and the storm process
are stopped and the temporary directory removed at the end (also on Ctrl-C / SIGTERM).

Run by hand (not a pytest test), from the repository with its virtualenv active:

    python bench/bench_token_storm.py [--seconds 10] [--connections 32] [--sources 1] [--json]

Exit status: 0 PASS, 1 FAIL, 2 the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common is found however this runs
from _common import (  # noqa: E402
    ARM_SCOPE,
    BenchError,
    Server,
    fetch_tokens,
    machine_notes,
    percentile,
    run,
    start_server,
    workspace,
)

GROUP = "bench-rg"
RESOURCES_API = "2025-04-01"
LEGIT_SOURCE = "127.0.1.1"


# ------------------------------------------------------------------------------------------------
# the storm (a process of its own, so that its client work does not delay the measured GETs)
# ------------------------------------------------------------------------------------------------


async def _storm(opts: argparse.Namespace) -> dict[str, Any]:
    import httpx

    context = ssl.create_default_context(cafile=opts.cafile)
    url = f"{opts.base}/{opts.tenant}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": opts.client_id, "scope": ARM_SCOPE}
    statuses: Counter[str] = Counter()
    sent = 0
    deadline = time.monotonic() + opts.seconds
    clients = [
        httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(verify=context, local_address=f"127.0.0.{2 + i}"),
            timeout=30,
        )
        for i in range(opts.sources)
    ]

    async def worker(n: int) -> None:
        nonlocal sent
        client = clients[n % len(clients)]
        while time.monotonic() < deadline and sent < opts.max_storm_requests:
            sent += 1
            try:
                r = await client.post(url, data={**form, "client_secret": f"wrong-{n}-{sent}"})
                statuses[str(r.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1

    started = time.monotonic()
    try:
        await asyncio.gather(*(worker(n) for n in range(opts.connections)))
    finally:
        for client in clients:
            await client.aclose()
    return {"seconds": time.monotonic() - started, "requests": sent, "statuses": dict(statuses)}


def storm_worker(opts: argparse.Namespace) -> int:
    print(json.dumps(asyncio.run(_storm(opts))), flush=True)
    return 0


# ------------------------------------------------------------------------------------------------
# the measured side
# ------------------------------------------------------------------------------------------------


def create_group(server: Server) -> str:
    import httpx

    sub = server.subscription("customer")
    path = f"/subscriptions/{sub}/resourcegroups/{GROUP}?api-version={RESOURCES_API}"
    with httpx.Client(base_url=server.base, verify=server.tls(), headers=server.headers("customer")) as c:
        r = c.put(path, json={"location": "eastus"})
        if r.status_code not in (200, 201):
            raise BenchError(f"creating {GROUP} failed: {r.status_code} {r.text}")
        if c.get(path).status_code != 200:
            raise BenchError(f"GET {GROUP} does not answer 200")
    return path


def measure_gets(server: Server, path: str, seconds: float) -> list[float]:
    """GET latencies in ms, one request at a time over one keep-alive connection."""
    import httpx

    latencies: list[float] = []
    with httpx.Client(base_url=server.base, verify=server.tls(), headers=server.headers("customer")) as c:
        for _ in range(20):  # warm the connection and the server's remembered reads
            c.get(path)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            r = c.get(path)
            latencies.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise BenchError(f"GET {GROUP} answered {r.status_code}: {r.text[:200]}")
    return latencies


def summary(latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "p50_ms": statistics.median(ordered),
        "p90_ms": percentile(ordered, 90),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1],
    }


def legit_tokens(server: Server, stop_at: float) -> list[tuple[int, float]]:
    """The customer's right secret from another source every half second: (status, ms)."""
    import httpx

    p = server.env["customer"]
    out: list[tuple[int, float]] = []
    transport = httpx.HTTPTransport(verify=server.tls(), local_address=LEGIT_SOURCE)
    with httpx.Client(base_url=server.base, transport=transport, timeout=30) as c:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            r = c.post(
                f"/{server.tenant('customer')}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": p["client_id"],
                    "client_secret": p["client_secret"],
                    "scope": ARM_SCOPE,
                },
            )
            out.append((r.status_code, (time.perf_counter() - started) * 1000))
            time.sleep(0.5)
    return out


def bench(opts: argparse.Namespace) -> dict[str, Any]:
    import threading

    notes = machine_notes()
    with workspace("crossconnect-bench-storm-", opts.keep) as (work, children):
        server = start_server(children, work)
        fetch_tokens(server, ["customer"])
        path = create_group(server)

        quiet = measure_gets(server, path, opts.seconds)

        storm_seconds = opts.seconds + 2
        args = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--storm-worker",
            "--base", server.base,
            "--cafile", server.cafile,
            "--tenant", server.tenant("partner"),
            "--client-id", server.env["partner"]["client_id"],
            "--seconds", str(storm_seconds),
            "--connections", str(opts.connections),
            "--sources", str(opts.sources),
            "--max-storm-requests", str(opts.max_storm_requests),
        ]  # fmt: skip
        storm = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        children.processes.append(storm)  # stopped with the rest, whatever happens
        time.sleep(1.0)  # the storm ramps up (and the throttles engage) before the GETs are measured
        legit: list[tuple[int, float]] = []
        prober = threading.Thread(
            target=lambda: legit.extend(legit_tokens(server, time.monotonic() + opts.seconds)), daemon=True
        )
        prober.start()
        stormy = measure_gets(server, path, opts.seconds)
        prober.join(timeout=60)
        try:
            out, err = storm.communicate(timeout=storm_seconds + 60)
        except subprocess.TimeoutExpired:
            raise BenchError("the storm process did not finish") from None
        if storm.returncode != 0:
            raise BenchError(f"the storm process failed: {err.decode()[-2000:]}")
        storm_result = json.loads(out.decode().strip().splitlines()[-1])
        after = measure_gets(server, path, min(opts.seconds, 3.0))

    quiet_s, stormy_s = summary(quiet), summary(stormy)
    ratio = stormy_s["p50_ms"] / quiet_s["p50_ms"]
    legit_ok = bool(legit) and all(status == 200 for status, _ in legit)
    return {
        "machine": notes,
        "settings": {
            "seconds": opts.seconds,
            "connections": opts.connections,
            "sources": opts.sources,
            "target_ratio": opts.target,
        },
        "quiet": quiet_s,
        "storm_gets": stormy_s,
        "after": summary(after),
        "storm": {
            **storm_result,
            "answers_per_s": sum(v for k, v in storm_result["statuses"].items()) / storm_result["seconds"],
        },
        "legit_tokens": {
            "requests": len(legit),
            "statuses": dict(Counter(str(s) for s, _ in legit)),
            "p50_ms": statistics.median([ms for _, ms in legit]) if legit else None,
            "max_ms": max((ms for _, ms in legit), default=None),
        },
        "p50_ratio": ratio,
        "passed": ratio <= opts.target and legit_ok,
    }


def print_table(r: dict[str, Any]) -> None:
    m, s, st, lt = r["machine"], r["settings"], r["storm"], r["legit_tokens"]
    print("ARM GET (resource group) latency, quiet and beside a wrong-secret storm at the token endpoint")
    print(
        f"machine: {m['cpus']} CPU ({m['cpu_model'] or 'unknown'}), Python {m['python']}; "
        f"load average before: {m['loadavg_before']}"
    )
    print(
        f"storm: {s['connections']} connections from {s['sources']} source address(es), wrong secrets for the "
        f"partner's client id, {st['seconds']:.1f} s"
    )
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(st["statuses"].items()))
    print(f"storm answers: {st['requests']} ({st['answers_per_s']:.0f}/s; {statuses})")
    print()
    print(f"{'GET':<14}{'requests':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for key, label in (("quiet", "quiet"), ("storm_gets", "under storm"), ("after", "after")):
        x = r[key]
        print(
            f"{label:<14}{x['requests']:>9}{x['p50_ms']:>9.2f}{x['p90_ms']:>9.2f}{x['p99_ms']:>9.2f}{x['max_ms']:>9.2f}"
        )
    print()
    print(
        f"legitimate token requests from another address during the storm: {lt['requests']} "
        f"({', '.join(f'{k}: {v}' for k, v in lt['statuses'].items())}), p50 {lt['p50_ms'] or 0:.1f} ms, "
        f"max {lt['max_ms'] or 0:.1f} ms"
    )
    verdict = "PASS" if r["passed"] else "FAIL"
    print(f"p50 under storm / quiet: {r['p50_ratio']:.2f}x (target <= {s['target_ratio']}x)  {verdict}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=10, help="measured seconds per phase (10)")
    p.add_argument("--connections", type=int, default=32, help="concurrent storm connections (32)")
    p.add_argument("--sources", type=int, default=1, help="loopback source addresses of the storm (1)")
    p.add_argument("--max-storm-requests", type=int, default=200_000, help="stop the storm after this many (200000)")
    p.add_argument("--target", type=float, default=3.0, help="PASS when GET p50 under storm <= this x quiet (3)")
    p.add_argument("--time-limit", type=float, default=300, help="abort after this many seconds (300)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and server log")
    # the storm process (internal)
    p.add_argument("--storm-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--base", help=argparse.SUPPRESS)
    p.add_argument("--cafile", help=argparse.SUPPRESS)
    p.add_argument("--tenant", help=argparse.SUPPRESS)
    p.add_argument("--client-id", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if not 1 <= opts.seconds <= 120 or not 1 <= opts.connections <= 256 or not 1 <= opts.sources <= 200:
        p.error("--seconds must be in [1, 120], --connections in [1, 256], --sources in [1, 200]")
    if opts.storm_worker:
        if not (opts.base or "").startswith("https://127."):
            p.error("the storm only targets a loopback server")
        return storm_worker(opts)
    over_time = f"the benchmark exceeded --time-limit ({opts.time_limit:.0f} s)"
    return run(bench, print_table, opts, time_limit=int(opts.time_limit), over_time=over_time)


if __name__ == "__main__":
    sys.exit(main())
