"""Where and how the model runs: device choice and CPU threads.

Threads: torch's default is one intra-op thread per logical CPU with OpenMP threads spinning while they wait.
On a laptop that is always running something else, a team of threads fights the other process for every core
and one query takes 10-30x longer (measured: 2-core machine, one busy process, cold 3196 ms vs 108 ms): every
parallel region waits for its slowest thread, and the descheduled one is always late. So the engine waits
passively (OMP_WAIT_POLICY=PASSIVE: `prefer_passive_waits`, called by the interactive entry points before
torch loads) and, before each stage of a query, uses at most the physical cores that other processes left idle
since the previous choice (from /proc/stat minus this process's own CPU time; where that is not readable, the
physical cores), and of those counts the one measured fastest for that stage (`AdaptiveThreads`).
"""
from __future__ import annotations

import collections
import contextlib
import os
import statistics
import time

from typing import TYPE_CHECKING, Iterator

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


def cpu_name(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name and logical core count ("AMD EPYC, 2 logical cores"), for benchmark records: latency
    and training speed differ several-fold between CPUs (bf16 units, AVX-512). "" where it cannot be read."""
    try:
        with open(cpuinfo) as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        return ""
    if not names:
        return ""
    bf16 = ", native bf16" if cpu_has_bf16(cpuinfo) else ""
    return f"{names[0]}, {len(names)} logical cores{bf16}"


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
    """Intra-op threads for interactive inference, chosen per stage ("backbone", "heads") before each run of
    it: at most the physical cores other processes left idle since the previous choice (at least one), and of
    the counts up to that, the one MEASURED fastest for this stage on this machine. More threads are not
    always faster: the heads are many small kernels where waking a second thread costs more than it saves,
    and on some virtual machines a second vCPU slows even the backbone (measured on the 2-vCPU machine here:
    backbone 55-66 ms on one thread against 74-106 ms on two, heads 23-31 ms against 31-35). So the first
    runs of a stage try each candidate count (1, half the cores, all of them) a few times, later runs take
    the fastest by median, and every `EXPLORE_EVERY`-th run re-tries another count, since the machine's load
    and clocks change. `fixed` (or GRMNET_THREADS) pins the number instead."""

    MIN_WINDOW_S = 0.05      # shorter windows are noise: keep the previous choice
    SAMPLES = 3              # timed runs per candidate count before choosing
    WINDOW = 5               # the latest runs per count that the median looks at
    EXPLORE_EVERY = 16       # then one run in this many re-tries another count

    def __init__(self, fixed: int | None = None):
        forced = os.environ.get("GRMNET_THREADS", "").strip()
        self.fixed = fixed if fixed is not None else (int(forced) if forced.isdigit() and int(forced) > 0 else None)
        self.cores = physical_cores()
        self.threads = self.fixed or self.cores
        self._last = _cpu_sample()
        # per stage, per (cores available, threads): the latest run times; runs with fewer cores available
        # (another process busy) are never compared with idle-machine runs
        self._timings: dict[str, dict[tuple[int, int], collections.deque]] = {}
        self._runs: dict[str, int] = {}
        self._active: str | None = None

    def others_busy(self, now: tuple[float, float, float], last: tuple[float, float, float]) -> float:
        """Cores other processes used on average between two samples."""
        busy, own, wall = (a - b for a, b in zip(now, last))
        return max(0.0, (busy - own) / max(wall, 1e-9))

    def available(self) -> int:
        """Cores this process may use now: the physical ones minus those others kept busy (>= 1)."""
        if self.fixed is not None:
            return self.fixed
        now = _cpu_sample()
        if now is not None and self._last is not None and now[2] - self._last[2] >= self.MIN_WINDOW_S:
            others = self.others_busy(now, self._last)
            self.threads = max(1, min(self.cores, int(round(self.cores - others))))
            self._last = now
        elif self._last is None:
            self._last = now
        return self.threads

    def apply(self) -> int:
        """Use as many threads as there are idle cores (no per-stage choice): batch jobs, tests."""
        return _set_threads(self.available())

    def choose(self, stage: str, available: int) -> int:
        """The thread count for the next run of `stage` with `available` cores (see the class docstring)."""
        if self.fixed is not None:
            return self.fixed
        counts = candidate_thread_counts(available)
        runs = self._runs.get(stage, 0)
        if runs == 0 or len(counts) == 1:
            return counts[-1]                # the first run pays lazy initialisation: not a fair sample
        times = self._timings.get(stage, {})
        lacking = [n for n in counts if len(times.get((available, n), ())) < self.SAMPLES]
        if lacking:
            return lacking[0]
        fastest = min(counts, key=lambda n: statistics.median(times[available, n]))
        if runs % self.EXPLORE_EVERY == 0:
            others = [n for n in counts if n != fastest]
            return others[(runs // self.EXPLORE_EVERY) % len(others)]
        return fastest

    def record(self, stage: str, available: int, threads: int, seconds: float) -> None:
        """One run of `stage` took `seconds` on `threads` threads with `available` cores (the first run of a
        stage is not kept)."""
        runs = self._runs.get(stage, 0)
        self._runs[stage] = runs + 1
        if runs > 0:
            self._timings.setdefault(stage, {}).setdefault(
                (available, threads), collections.deque(maxlen=self.WINDOW)).append(seconds)

    def chosen(self, available: int | None = None) -> dict[str, int]:
        """Per stage, the thread count measured fastest so far with `available` cores (default: as many as
        at the latest choice), for reports."""
        if self.fixed is not None:
            return {stage: self.fixed for stage in self._runs}
        available = self.threads if available is None else available
        medians = {stage: {n: statistics.median(t) for (a, n), t in times.items() if t and a == available}
                   for stage, times in self._timings.items()}
        return {stage: min(m, key=m.get) for stage, m in medians.items() if m}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[int]:
        """Run a stage on its chosen thread count and time it. A stage inside another keeps the outer one's
        threads and is not timed (its time is part of the outer stage's)."""
        if self._active is not None:
            yield torch_threads()
            return
        available = self.available()
        threads = _set_threads(self.choose(name, available))
        self._active = name
        start = time.perf_counter()
        try:
            yield threads
        finally:
            self._active = None
        self.record(name, available, threads, time.perf_counter() - start)


def candidate_thread_counts(available: int) -> list[int]:
    """Thread counts worth trying with `available` cores: one, half of them and all of them."""
    return sorted({1, max(1, available // 2), max(1, available)})


def torch_threads() -> int:
    import torch
    return torch.get_num_threads()


def _set_threads(n: int) -> int:
    import torch
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
