"""The fixed arithmetic of every worker, so that a grade's numbers do not depend on the machine.

Measured on one training (README, "Fair grades at the threshold"): the thread count, ATen's vector
kernels (AVX-512 or AVX2), oneDNN's convolution kernels and MKL's code path each change the losses
from the first epoch on. Every worker therefore trains on one intra-op thread (each thread count
splits reductions differently) with all three kernel families capped at AVX2, which every x86
machine of the last decade has and which costs nothing measurable on an AVX-512 one.
"""

from __future__ import annotations

import platform
from pathlib import Path

THREADS = 1  # intra-op threads of every worker, whatever the machine's core count
CPU_ISA = "avx2"  # what the kernels are capped at

WORKER_ENVIRONMENT = {
    "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS),
    "ATEN_CPU_CAPABILITY": CPU_ISA,  # torch's own vectorized kernels (BatchNorm, activations, reductions)
    "ONEDNN_MAX_CPU_ISA": CPU_ISA.upper(),  # convolutions
    "MKL_CBWR": f"{CPU_ISA.upper()},STRICT",  # matrix products: MKL's conditional numerical reproducibility
}


def pin_torch(torch) -> None:
    """In the worker, after importing torch: the thread count, and deterministic kernels where torch has a choice."""
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
