"""A grade's arithmetic is the grader's choice, never the machine's settings: the thread count of each run (stated in its
device line) and kernels capped (grader.numerics)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from synthetic_mnist import write_mnist

from grader import api, cli, numerics

SEED004 = "submissions/seed004_gap_8440.py"
HAS_AVX2 = bool(numerics.kernel_caps(numerics.cpu_flags()))
PINNED = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", *numerics.KERNEL_CAPS)


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("mnist"), n_train=800, n_test=200)


def quick_grade(mnist_dir, out: Path, *options: str) -> dict:
    cli.main(["grade", SEED004, "--data-dir", str(mnist_dir), "--epochs", "2", "--train-limit", "400", "--json", str(out), *options])
    report = json.loads(out.read_text())
    assert report["status"] == "graded", report["error"]
    return report


def numbers(report: dict) -> list:
    return [(e["train_loss"], e["validation_accuracy"], e["test_accuracy"]) for e in report["training"]["history"]]


def test_a_grade_trains_on_the_threads_it_is_given_and_says_so(mnist_dir, tmp_path):
    one = quick_grade(mnist_dir, tmp_path / "one.json", "--threads", "1")  # a repeat is identical: tests/test_grade.py
    assert one["environment"]["device"].startswith("cpu (1 thread,")
    if (os.cpu_count() or 1) >= 2:
        two = quick_grade(mnist_dir, tmp_path / "two.json", "--threads", "2")
        assert two["environment"]["device"].startswith("cpu (2 threads,")
        assert len(numbers(two)) == len(numbers(one)) == 2


def test_every_worker_runs_pinned_whatever_the_grader_was_started_with(monkeypatch):
    for name, value in (("ATEN_CPU_CAPABILITY", "default"), ("ONEDNN_MAX_CPU_ISA", "SSE41"), ("MKL_CBWR", "COMPATIBLE"),
                        ("OMP_NUM_THREADS", "2"), ("MKL_NUM_THREADS", "2")):
        monkeypatch.setenv(name, value)  # what a machine's own settings could say
    g = api.check("tests/fixtures/grading/prints_environment.py")
    assert g.error is None, g.error
    printed = next(line for line in g.output.splitlines() if line.startswith("environment:")).split()[1:]
    expected = {**dict.fromkeys(PINNED, "-"), **numerics.worker_environment(1)}  # a check: one thread
    assert dict(item.split("=") for item in printed) == {**expected, "threads": "1"}
    if HAS_AVX2:
        assert set(numerics.KERNEL_CAPS) <= set(numerics.worker_environment(1))  # every cap, on a CPU that runs it
        convolutions = ", AVX-512 convolutions" if numerics.AVX512_FLAGS <= numerics.cpu_flags() else ""
        assert g.environment.device == f"cpu (1 thread, AVX2{convolutions})" and g.environment.machine and g.environment.cpu


def test_torch_and_mkl_are_capped_at_avx2_and_the_convolutions_at_the_best_the_cpu_has(monkeypatch):
    avx2 = frozenset({"sse4_2", "avx", "avx2", "fma"})
    avx512 = avx2 | {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"}
    assert numerics.kernel_caps(avx2) == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2,STRICT"}
    assert numerics.kernel_caps(avx512) == {**numerics.kernel_caps(avx2), "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}
    assert numerics.kernel_caps(avx2 - {"fma"}) == {} and numerics.kernel_caps(frozenset({"avx512f", "avx2"})) == {}
    assert numerics.kernel_caps(avx2 | {"avx512f"})["ONEDNN_MAX_CPU_ISA"] == "AVX2"  # AVX512_CORE needs all four
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")  # what a worker's device line says of them
    assert numerics.convolution_kernels() == "AVX-512"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert numerics.convolution_kernels() is None  # ATen's AVX2 already says it
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert numerics.convolution_kernels() is None


TRAIN_ONCE = """
import sys, torch
from grader import train
from grader.rubric import Recipe
import numpy as np
torch.set_num_threads(int(sys.argv[1]))
rng = np.random.default_rng(0)
images, labels = rng.integers(0, 256, (512, 28, 28), dtype=np.uint8), rng.integers(0, 10, 512).astype(np.uint8)
torch.manual_seed(1)
model = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 3),
                            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10))
losses = []
train.train(model, images, labels, images[:64], images[:0], Recipe(epochs=2), 2, torch.device("cpu"), lambda e: losses.append(e.train_loss))
print(repr(losses[1:]))
"""


def train_once(threads: int, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in PINNED}
    return subprocess.run([sys.executable, "-c", TRAIN_ONCE, str(threads)], env={**clean, **env}, capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.skipif(not HAS_AVX2, reason="the pin is AVX2: this CPU cannot run it")
def test_unpinned_the_kernels_and_threads_change_the_losses_pinned_they_do_not():
    """Why the pin is there: each knob alone changes the arithmetic of the same training on this machine."""
    pinned = train_once(1, **numerics.worker_environment(1))
    assert train_once(1, **numerics.worker_environment(1)) == pinned  # a repeat is identical
    assert train_once(1, **{**numerics.worker_environment(1), "ATEN_CPU_CAPABILITY": "default"}) != pinned
    assert train_once(2, **{**numerics.worker_environment(1), "OMP_NUM_THREADS": "2"}) != pinned


def test_a_grade_uses_the_cores_it_may_use_within_a_containers_quota(tmp_path):
    assert 1 <= numerics.usable_cores() <= (os.cpu_count() or 1)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert numerics.cgroup_quota(tmp_path) is None  # no quota: every core of its affinity
    (tmp_path / "cpu.max").write_text("250000 100000\n")
    assert numerics.cgroup_quota(tmp_path) == 2  # two and a half CPUs: two whole threads
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert numerics.cgroup_quota(tmp_path) == 1
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("400000\n")  # cgroup v1
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert numerics.cgroup_quota(tmp_path) == 4
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert numerics.cgroup_quota(tmp_path) is None
