#!/usr/bin/env python3
"""How long ``POST /_crossconnect/reset`` takes at the seeded size (issue 16, part 1).

The pytest plugin's ``crossconnect_state`` fixture resets the server between tests; the goal is
at most 50 ms per reset. One run: ``crossconnect serve`` on a fresh temporary data dir (SQLite,
default options), an operator token, ``--warmup`` untimed resets, then ``--resets`` timed ones
(wall time of the HTTP call on one kept-alive connection, as the plugin makes it); after them the
partner still gets a token and lists its cross connections (the reset kept the seeded set-up).

Prints a table (or ``--json``) and PASS/FAIL against the goal (median at most 50 ms).

    python bench/bench_reset.py [--resets 30] [--json]

Exit status: 0 PASS, 1 FAIL (median above 50 ms), 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common is found however this runs
from _common import BenchError, fetch_tokens, machine_notes, percentile, run, start_server, workspace  # noqa: E402

GOAL_MS = 50.0


def bench(opts: argparse.Namespace) -> dict[str, Any]:
    import httpx

    machine = machine_notes()
    with workspace("ccbench-reset-", opts.keep) as (work, children):
        server = start_server(children, work)
        fetch_tokens(server, ["operator"])
        with httpx.Client(base_url=server.base, verify=server.tls(), headers=server.headers("operator")) as client:

            def reset() -> float:
                t0 = time.perf_counter()
                r = client.post("/_crossconnect/reset")
                elapsed = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    raise BenchError(f"reset answered {r.status_code}: {r.text}")
                return elapsed

            for _ in range(opts.warmup):
                reset()
            times = sorted(reset() for _ in range(opts.resets))
        fetch_tokens(server, ["partner"])  # the seeded secrets still work after the resets
        median = statistics.median(times)
        return {
            "goal_ms": GOAL_MS,
            "passed": median <= GOAL_MS,
            "resets": len(times),
            "min_ms": times[0],
            "median_ms": median,
            "p90_ms": percentile(times, 90),
            "max_ms": times[-1],
            "machine": machine,
        }


def print_table(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(f"POST /_crossconnect/reset at the seeded size (SQLite); {m['cpus']} CPU, load before {m['loadavg_before']}")
    print(
        f"{r['resets']} resets: min {r['min_ms']:.1f} ms, median {r['median_ms']:.1f} ms, "
        f"p90 {r['p90_ms']:.1f} ms, max {r['max_ms']:.1f} ms"
    )
    verdict = "PASS" if r["passed"] else f"FAIL ({r['median_ms'] - r['goal_ms']:.1f} ms above)"
    print(f"median {r['median_ms']:.1f} ms vs goal <= {r['goal_ms']:.0f} ms  {verdict}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--resets", type=int, default=30, help="timed resets (30)")
    p.add_argument("--warmup", type=int, default=3, help="untimed resets first (3)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir and server log")
    opts = p.parse_args(argv)
    if not 1 <= opts.resets <= 500 or not 0 <= opts.warmup <= 20:
        p.error("--resets must be in [1, 500] and --warmup in [0, 20]")
    return run(bench, print_table, opts, time_limit=180)


if __name__ == "__main__":
    sys.exit(main())
