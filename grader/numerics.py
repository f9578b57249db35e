"""The fixed arithmetic of every worker, so that a grade's numbers do not depend on the machine.

Measured on one training (README, "Fair grades at the threshold"): the thread count, ATen's vector
kernels (AVX-512 or AVX2), oneDNN's convolution kernels and MKL's code path each change the losses
from the first epoch on. Every worker therefore trains on one intra-op thread (each thread count
splits reductions differently) with all three kernel families capped at AVX2, which every x86
machine of the last decade has and which costs nothing measurable on an AVX-512 one.

So a grade is identical on every x86-64 machine with AVX2 and FMA, as far as one machine can test it:
oneDNN may still choose its blocking by the cache sizes, so the processor's name is in every report.
On a CPU without AVX2 (or not x86) the caps are left out, since they would crash or warn there: its
numbers are its own, and the report's device line says which kernels ran ("cpu (1 thread, DEFAULT)").
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

THREADS = 1  # intra-op threads of every worker, whatever the machine's core count
CPU_ISA = "avx2"  # what the kernels are capped at
CPU_FLAGS_NEEDED = {"avx2", "fma"}  # what ATen's and oneDNN's AVX2 kernels execute

KERNEL_CAPS = {
    "ATEN_CPU_CAPABILITY": CPU_ISA,  # torch's own vectorized kernels (BatchNorm, activations, reductions)
    "ONEDNN_MAX_CPU_ISA": CPU_ISA.upper(),  # convolutions
    "MKL_CBWR": f"{CPU_ISA.upper()},STRICT",  # matrix products: MKL's conditional numerical reproducibility
}


def worker_environment() -> dict[str, str]:
    """The environment variables every worker starts with: the thread count, and the kernel caps where this CPU has AVX2."""
    threads = {"OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}
    return {**threads, **KERNEL_CAPS} if has_avx2() else threads


@functools.cache
def has_avx2() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return False
    return CPU_FLAGS_NEEDED <= set(flags.split(":", 1)[1].split())


def pin_torch(torch) -> None:
    """In the worker, after importing torch: the thread count, and on a GPU cuDNN's deterministic algorithms without
    TF32 (some CUDA backward kernels, adaptive pooling's among them, stay nondeterministic: GPU grades may differ in
    the last digits from one run to the next)."""
    torch.set_num_threads(THREADS)
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
