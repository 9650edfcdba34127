"""Where and how the model runs: device choice and CPU threads.

Threads: torch's default is one intra-op thread per logical CPU with OpenMP threads spinning while they wait.
On a laptop that is always running something else, a team of threads fights the other process for every core
and one query takes 10-30x longer (measured: 2-core machine, one busy process, cold 3196 ms vs 108 ms): every
parallel region waits for its slowest thread, and the descheduled one is always late. So the engine waits
passively (OMP_WAIT_POLICY=PASSIVE: `prefer_passive_waits`, called by the interactive entry points before torch loads) and, before each query, uses only the
physical cores that other processes left idle since the previous query (`AdaptiveThreads`, from /proc/stat
minus this process's own CPU time; where that is not readable, the physical cores).
"""
from __future__ import annotations

import os
import time

from typing import TYPE_CHECKING

from grmnet.errors import GRMNetError

if TYPE_CHECKING:
    import torch


def prefer_passive_waits() -> None:
    """Interactive processes (the app, predict, bench): OpenMP threads sleep instead of spinning while they wait,
    so a query shares a busy machine gracefully. Must run before torch is imported (OpenMP reads it once); an
    explicit user setting wins. Training keeps OpenMP's spinning default: it owns the machine, and sleeping
    threads slow its many small kernels."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEVICE_CHOICES = ("auto", "cpu", "cuda")

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30, top_pad: int = 256 << 20
                      ) -> bool:
    """A CPU training step allocates and frees the same large activation buffers every step. glibc's defaults
    give them back to the kernel at once (mmap'd blocks, heap trimming) and page-fault them in again next step:
    measured here (2-core CPU, bf16 training) ~43k minor faults/s and ~5 % of the process's CPU time in the
    kernel, against ~5k/s and ~1 % with freed memory kept (resident memory stays at the step's peak, which
    training reaches anyway). Blocks up to `mmap_threshold` come from the heap, whose top is trimmed only beyond
    `trim_threshold`. -> whether it applied (False off glibc, e.g. macOS, Windows,
    musl)."""
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_THRESHOLD, mmap_threshold), (_M_TRIM_THRESHOLD, trim_threshold),
        (_M_TOP_PAD, top_pad)))


def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16), so that `--amp bf16` speeds training up;
    elsewhere autocast emulates bf16 and is slower than fp32. False where the flags cannot be read (not Linux)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_device(device: "str | torch.device | None") -> "torch.device":
    """'auto' / None -> cuda when available else cpu; 'cuda' without a GPU and unknown names -> GRMNetError."""
    import torch
    if isinstance(device, torch.device):
        return device
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = str(device)
    if not (name == "cpu" or name == "cuda" or name.startswith("cuda:")):
        raise GRMNetError(f"unknown device {name!r}: choose auto, cpu, cuda or cuda:N")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GRMNetError("CUDA was requested but no CUDA device is available; use --device cpu")
    return torch.device(name)


def physical_cores() -> int:
    """Physical CPU cores available to this process (hyper-threads share one core's units)."""
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    siblings = set()
    try:
        for cpu in (os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(logical)):
            path = f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"
            with open(path) as f:
                siblings.add(f.read().strip())
    except OSError:
        return max(1, logical)
    return max(1, min(logical, len(siblings)))


def _cpu_sample() -> tuple[float, float, float] | None:
    """(CPU-seconds busy on the whole machine, CPU-seconds of this process, wall time) or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        with open("/proc/self/stat") as f:
            own = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)          # idle + iowait
    return (sum(fields[:8]) - idle) / tick, (int(own[11]) + int(own[12])) / tick, time.monotonic()


class AdaptiveThreads:
    """Intra-op threads for interactive inference, chosen before each query: the physical cores minus the
    cores other processes kept busy since the previous choice (at least one). `fixed` (or GRMNET_THREADS)
    pins the number instead."""

    MIN_WINDOW_S = 0.05      # shorter windows are noise: keep the previous choice

    def __init__(self, fixed: int | None = None):
        forced = os.environ.get("GRMNET_THREADS", "").strip()
        self.fixed = fixed if fixed is not None else (int(forced) if forced.isdigit() and int(forced) > 0 else None)
        self.cores = physical_cores()
        self.threads = self.fixed or self.cores
        self._last = _cpu_sample()

    def others_busy(self, now: tuple[float, float, float], last: tuple[float, float, float]) -> float:
        """Cores other processes used on average between two samples."""
        busy, own, wall = (a - b for a, b in zip(now, last))
        return max(0.0, (busy - own) / max(wall, 1e-9))

    def apply(self) -> int:
        import torch
        if self.fixed is None:
            now = _cpu_sample()
            if now is not None and self._last is not None and now[2] - self._last[2] >= self.MIN_WINDOW_S:
                others = self.others_busy(now, self._last)
                self.threads = max(1, min(self.cores, int(round(self.cores - others))))
                self._last = now
            elif self._last is None:
                self._last = now
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        return self.threads
