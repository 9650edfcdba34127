"""Where and how the model runs: device choice and CPU threads.

Threads: torch's default is one intra-op thread per logical CPU with OpenMP threads spinning while they wait.
On a laptop that is always running something else, a spinning team of threads fights the other process for
every core and one query takes 10-30x longer (measured: 2-core machine, one busy process, cold 3196 ms vs
108 ms). So the engine waits passively (OMP_WAIT_POLICY=PASSIVE, set before torch loads OpenMP) and uses at
most the physical cores that are not already busy (from the 1-minute load average at start).
"""
from __future__ import annotations

import os

# Must be in the environment before torch initialises OpenMP; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402  (after the OpenMP setting on purpose)

from grmnet.errors import GRMNetError  # noqa: E402

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """'auto' / None -> cuda when available else cpu; 'cuda' without a GPU and unknown names -> GRMNetError."""
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


def inference_threads() -> int:
    """Intra-op threads for interactive inference: the physical cores minus those other processes keep busy
    (1-minute load average), at least one. GRMNET_THREADS overrides."""
    forced = os.environ.get("GRMNET_THREADS", "").strip()
    if forced.isdigit() and int(forced) > 0:
        return int(forced)
    cores = physical_cores()
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except OSError:
        busy = 0
    return max(1, min(cores, cores - busy + 1) if busy else cores)


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (None: inference_threads()); returns the number set."""
    n = inference_threads() if threads is None else max(1, int(threads))
    torch.set_num_threads(n)
    return n
