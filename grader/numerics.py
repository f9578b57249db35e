"""The arithmetic of every worker: its thread count, and its kernels capped (torch's and MKL's at AVX2, oneDNN's
convolutions at AVX-512 or AVX2).

Measured (README, "Fair grades at the threshold"): the thread count, ATen's vector kernels (AVX-512 or
AVX2), oneDNN's convolution kernels and MKL's code path each change a training's losses from the first
epoch on, and two processors of different vendors differ even with all of them fixed. No knob makes
training identical on every machine, so a grade's accuracy carries the machine's spread, measured by
bench/machine_spread.py and folded into the rubric's borderline band. What the caps still buy: a machine's
own settings never choose its kernels, and torch's and MKL's kernels give the same numbers on AVX-512 and AVX2
machines of one vendor at no measurable cost. Capping oneDNN's convolutions at AVX2 as well cost a training about
a fifth of its speed on an AVX-512 CPU (README, "Fair grades at the threshold"), to make one vendor's AVX2 and
AVX-512 machines agree while the other vendor's differ from both anyway: so the convolutions run AVX-512 where the
CPU has it. The thread count
is the grader's choice per run (every core for a single grade, one per worker in a batch); both are in every
report's device line ("cpu (2 threads, AVX2, AVX-512 convolutions)") with the processor's name.
On a CPU without AVX2 (or not x86) the caps are left out, since they would crash or warn there, and the
device line says which kernels ran ("cpu (1 thread, DEFAULT)").
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

CPU_FLAGS_NEEDED = {"avx2", "fma"}  # what ATen's and oneDNN's AVX2 kernels execute
AVX512_FLAGS = {"avx512f", "avx512bw", "avx512vl", "avx512dq"}  # oneDNN's AVX512_CORE
KERNEL_CAPS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")  # the variables; a worker's own values are never kept
CONVOLUTIONS = {"AVX512_CORE": "AVX-512"}  # oneDNN's cap -> the device line's words, where it is not ATen's AVX2


def kernel_caps(flags: frozenset[str]) -> dict[str, str]:
    """The caps for a CPU with these /proc/cpuinfo flags: none without AVX2."""
    if not CPU_FLAGS_NEEDED <= flags:
        return {}
    return {
        "ATEN_CPU_CAPABILITY": "avx2",  # torch's own vectorized kernels (BatchNorm, activations, reductions)
        "ONEDNN_MAX_CPU_ISA": "AVX512_CORE" if AVX512_FLAGS <= flags else "AVX2",  # convolutions: the CPU's best
        "MKL_CBWR": "AVX2,STRICT",  # matrix products: MKL's conditional numerical reproducibility
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
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), **kernel_caps(cpu_flags())}


@functools.cache
def cpu_flags() -> frozenset[str]:
    """This x86 CPU's instruction-set flags; none elsewhere."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return frozenset()
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return frozenset()
    return frozenset(flags.split(":", 1)[1].split())


def convolution_kernels() -> str | None:
    """The device line's words for oneDNN's cap in this (worker) process, where it differs from ATen's AVX2."""
    return CONVOLUTIONS.get(os.environ.get("ONEDNN_MAX_CPU_ISA", ""))


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
