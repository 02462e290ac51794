#!/usr/bin/env python3
"""The seed workflow as a partner's test through the pytest plugin (issue 16, part 1).

Writes the README's plugin example (the ``<!-- plugin-example -->`` block: a customer circuit
provisioned by the partner through ``provisioned_cross_connection``, private peering, the ARP
table; then a reset; then a set-up built once and restored) into a temporary folder, runs pytest
on it in a subprocess, with this checkout's code first on the path and the plugin loaded, and
reports pytest's own durations: the session's server start (setup of the first test), each
test's call, and the whole run.

    python bench/bench_plugin_workflow.py [--json]

Exit status: 0 the example passed, 1 it failed, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common is found however this runs
from _common import REPO, BenchError, child_env, machine_notes, run  # noqa: E402

PLUGIN = "crossconnect.testing.plugin"
DURATION = re.compile(r"^([\d.]+)s (setup|call|teardown)\s+\S+::(\w+)", re.MULTILINE)


def bench(opts: argparse.Namespace) -> dict[str, Any]:
    text = (REPO / "README.md").read_text()
    match = re.search(r"<!-- plugin-example -->\n```python\n(.*?)```", text, re.DOTALL)
    if not match:
        raise BenchError("README.md has no <!-- plugin-example --> block")
    machine = machine_notes()
    with tempfile.TemporaryDirectory(prefix="ccbench-plugin-") as work:
        (Path(work) / "test_partner_workflow.py").write_text(match.group(1))
        env = {k: v for k, v in child_env().items() if not k.startswith("CROSSCONNECT_")}
        # the entry point loads the plugin when crossconnect is installed from this checkout; else -p
        path = [str(REPO / "src"), *sys.path]  # the child's path: src/ may hold an editable install's metadata
        installed = any(
            ep.group == "pytest11" and ep.value == PLUGIN
            for d in metadata.distributions(path=path)
            for ep in d.entry_points
        )
        plugin = [] if installed else ["-p", PLUGIN]
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin,
             "--rootdir", work, "--durations=0", "--durations-min=0"],
            cwd=work, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        wall = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise BenchError(f"pytest exited {result.returncode}: {(result.stdout + result.stderr)[-2000:]}")
    phases: dict[str, dict[str, float]] = {}
    for seconds, phase, test in DURATION.findall(result.stdout):
        phases.setdefault(test, {})[phase] = float(seconds)
    return {
        "passed": result.returncode == 0,
        "wall_s": wall,
        "tests": phases,
        "output": result.stdout[-3000:] if result.returncode else "",
        "machine": machine,
    }


def print_table(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(f"README plugin example through pytest; {m['cpus']} CPU, load before {m['loadavg_before']}")
    print(f"{'test':<55}{'setup ms':>10}{'call ms':>10}")
    for test, phases in r["tests"].items():
        print(f"{test:<55}{phases.get('setup', 0) * 1000:>10.0f}{phases.get('call', 0) * 1000:>10.0f}")
    print(f"whole pytest run (interpreter, server start and stop included): {r['wall_s']:.1f} s")
    print("PASS" if r["passed"] else "FAIL\n" + r["output"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    opts = p.parse_args(argv)
    return run(bench, print_table, opts, time_limit=900)


if __name__ == "__main__":
    sys.exit(main())
