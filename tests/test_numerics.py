"""A grade's numbers do not depend on the machine: not on the thread count asked for, nor on the kernels the CPU
could run (grader.numerics pins both for every worker)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from synthetic_mnist import write_mnist

from grader import cli, numerics

SEED004 = "submissions/seed004_gap_8440.py"
HAS_AVX2 = "avx2" in Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else False


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


def test_the_thread_count_does_not_change_a_grade(mnist_dir, tmp_path):
    one = quick_grade(mnist_dir, tmp_path / "one.json", "--threads", "1")
    two = quick_grade(mnist_dir, tmp_path / "two.json", "--threads", "2")
    assert numbers(one) == numbers(two)  # exactly, every epoch
    assert len(numbers(one)) == 2 and one["environment"]["device"].startswith("cpu (1 thread")


@pytest.mark.skipif(not HAS_AVX2, reason="the pin is AVX2: this CPU cannot run it")
def test_the_grader_pins_the_kernels_whatever_the_machine_is_set_to(mnist_dir, tmp_path, monkeypatch):
    plain = quick_grade(mnist_dir, tmp_path / "plain.json")
    for name, value in (("ATEN_CPU_CAPABILITY", "default"), ("ONEDNN_MAX_CPU_ISA", "SSE41"), ("MKL_CBWR", "COMPATIBLE"),
                        ("OMP_NUM_THREADS", "2")):
        monkeypatch.setenv(name, value)
    capped = quick_grade(mnist_dir, tmp_path / "capped.json")
    assert numbers(plain) == numbers(capped)
    assert "AVX2" in capped["environment"]["device"] and capped["environment"]["machine"] and capped["environment"]["cpu"]


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
train.train(model, images, labels, images[:64], Recipe(epochs=2), 2, torch.device("cpu"), lambda e: losses.append(e.train_loss))
print(repr(losses[1:]))
"""


def train_once(threads: int, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in numerics.WORKER_ENVIRONMENT}
    return subprocess.run([sys.executable, "-c", TRAIN_ONCE, str(threads)], env={**clean, **env}, capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.skipif(not HAS_AVX2, reason="the pin is AVX2: this CPU cannot run it")
def test_unpinned_the_kernels_and_threads_change_the_losses_pinned_they_do_not():
    """Why the pin is there: each knob alone changes the arithmetic of the same training on this machine."""
    pinned = train_once(1, **numerics.WORKER_ENVIRONMENT)
    assert train_once(1, **numerics.WORKER_ENVIRONMENT) == pinned  # a repeat is identical
    assert train_once(1, **{**numerics.WORKER_ENVIRONMENT, "ATEN_CPU_CAPABILITY": "default"}) != pinned
    assert train_once(2, **{**numerics.WORKER_ENVIRONMENT, "OMP_NUM_THREADS": "2"}) != pinned
