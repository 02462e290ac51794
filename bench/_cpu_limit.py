"""A CPU limit per server process, as a container runtime sets one (``limits.cpu`` of a pod): a
cgroup of the kernel's CPU controller with a CFS quota, version 2 (``cpu.max``) or version 1
(``cpu.cfs_quota_us``), whichever this machine mounts writable.

Why the benchmarks want it: on a 2-core machine an unlimited replica already takes one core, and
the load generator and PostgreSQL most of what is left, so "two replicas against one" would
measure the machine instead of the replicas. With each replica held to the same share of a core
the machine keeps headroom, and the ratio shows what it is meant to show: whether replicas
contend on anything they share (the database, its locks, the write generation).

Needs root (the cgroup file system); ``CpuLimits.open`` says why it is unavailable otherwise."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from _common import BenchError

PERIOD_US = 100_000  # the kernel's default CFS period


class CpuLimits:
    """Cgroups made for one benchmark run: one per process put under a limit, removed at the end
    (their processes moved back to the root cgroup first)."""

    def __init__(self, root: Path, version: int) -> None:
        self._root = root
        self._version = version
        self._prefix = f"crossconnect-bench-{uuid.uuid4().hex[:8]}"
        self._groups: dict[int, Path] = {}  # pid → its cgroup

    @classmethod
    @contextlib.contextmanager
    def open(cls) -> Iterator[CpuLimits | str]:
        """The limits of this run, or why there are none (a sentence for the report)."""
        found = _controller()
        if isinstance(found, str):
            yield found
            return
        limits = cls(*found)
        try:
            yield limits
        finally:
            limits.close()

    def add(self, pid: int) -> None:
        """Put the process ``pid`` (all its threads, and those it starts later) in a cgroup of its
        own, with no limit yet."""
        group = self._root / f"{self._prefix}-{pid}"
        try:
            group.mkdir()
            self._groups[pid] = group
            (group / "cgroup.procs").write_text(str(pid))
        except OSError as exc:
            raise BenchError(f"could not put process {pid} in a cgroup ({exc}); run with --replica-cpu 0") from None

    def set(self, cores: float | None) -> None:
        """Limit each added process to ``cores`` of CPU time (None: no limit)."""
        for group in self._groups.values():
            try:
                if self._version == 2:
                    quota = "max" if cores is None else str(int(cores * PERIOD_US))
                    (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
                else:
                    (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                    (group / "cpu.cfs_quota_us").write_text("-1" if cores is None else str(int(cores * PERIOD_US)))
            except OSError as exc:
                raise BenchError(
                    f"the kernel refused a CPU limit of {cores} ({exc}); run with --replica-cpu 0"
                ) from None

    def close(self) -> None:
        for pid, group in self._groups.items():
            with contextlib.suppress(OSError):  # (the process may be gone)
                (self._root / "cgroup.procs").write_text(str(pid))
            with contextlib.suppress(OSError):
                group.rmdir()
        self._groups.clear()


def _controller() -> tuple[Path, int] | str:
    """Where this machine's CPU controller is mounted writable, and its version; else why not."""
    if os.geteuid() != 0:
        return "CPU limits need root (cgroups): not running as root"
    v2 = Path("/sys/fs/cgroup")
    if "cpu" in _read(v2 / "cgroup.controllers").split():
        if "cpu" not in _read(v2 / "cgroup.subtree_control").split():
            with contextlib.suppress(OSError):
                (v2 / "cgroup.subtree_control").write_text("+cpu")
        if "cpu" in _read(v2 / "cgroup.subtree_control").split() and os.access(v2, os.W_OK):
            return v2, 2
    for v1 in (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup/cpu,cpuacct")):
        if (v1 / "cpu.cfs_quota_us").exists() and os.access(v1, os.W_OK):
            return v1, 1
    return "no writable cgroup CPU controller on this machine (cgroup v2 cpu.max or v1 cpu.cfs_quota_us)"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
