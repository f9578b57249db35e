"""The arithmetic of every worker: its thread count, and its kernels capped at AVX2.

Measured (README, "Fair grades at the threshold"): the thread count, ATen's vector kernels (AVX-512 or
AVX2), oneDNN's convolution kernels and MKL's code path each change a training's losses from the first
epoch on, and two processors of different vendors differ even with all of them fixed. No knob makes
training identical on every machine, so a grade's accuracy carries the machine's spread, measured by
bench/machine_spread.py and folded into the rubric's borderline band. What the caps still buy is cheap:
the same numbers on AVX-512 and AVX2 machines of one vendor at one thread count. The thread count is the
grader's choice per run (every core for a single grade, one per worker in a batch) and is in every
report's device line ("cpu (2 threads, AVX2)") with the processor's name.
On a CPU without AVX2 (or not x86) the caps are left out, since they would crash or warn there, and the
device line says which kernels ran ("cpu (1 thread, DEFAULT)").
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

CPU_ISA = "avx2"  # what the kernels are capped at
CPU_FLAGS_NEEDED = {"avx2", "fma"}  # what ATen's and oneDNN's AVX2 kernels execute

KERNEL_CAPS = {
    "ATEN_CPU_CAPABILITY": CPU_ISA,  # torch's own vectorized kernels (BatchNorm, activations, reductions)
    "ONEDNN_MAX_CPU_ISA": CPU_ISA.upper(),  # convolutions
    "MKL_CBWR": f"{CPU_ISA.upper()},STRICT",  # matrix products: MKL's conditional numerical reproducibility
}


def usable_cores() -> int:
    """The cores this process may use: its CPU affinity, within its container's cgroup quota (Gradescope, Colab and
    Docker give fractions of a many-core host, and a grade's threads on every host core would crawl)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_quota(Path("/sys/fs/cgroup"))
    return max(1, min(count, quota) if quota else count)


def cgroup_quota(root: Path) -> int | None:
    """Whole CPUs the cgroup quota under `root` allows (at least 1), or None when it sets none."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]  # cgroup v2: "max 100000" or "200000 100000"
        return None if quota == "max" else max(1, int(quota) // int(period))
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())  # cgroup v1: -1 when unlimited
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return max(1, quota // period) if quota > 0 else None
    except (OSError, ValueError):
        return None


def worker_environment(threads: int) -> dict[str, str]:
    """The environment variables a worker starts with: its thread count, and the kernel caps where this CPU has AVX2."""
    counts = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    return {**counts, **KERNEL_CAPS} if has_avx2() else counts


@functools.cache
def has_avx2() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return False
    return CPU_FLAGS_NEEDED <= set(flags.split(":", 1)[1].split())


def pin_torch(torch, threads: int) -> None:
    """In the worker, after importing torch: the thread count, and on a GPU cuDNN's deterministic algorithms without
    TF32 (some CUDA backward kernels, adaptive pooling's among them, stay nondeterministic: GPU grades may differ in
    the last digits from one run to the next)."""
    torch.set_num_threads(threads)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False  # benchmark mode picks kernels by timing
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def cpu_model() -> str:
    """The processor's name (provenance: oneDNN's blocking may still follow its cache sizes)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
