"""Small MNIST-shaped IDX files for tests: ten learnable classes, written in the real file format."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

TEMPLATE_SEED = 1234


def templates() -> np.ndarray:
    """(10, 28, 28) float in [0, 1]: one fixed random pattern per class."""
    rng = np.random.default_rng(TEMPLATE_SEED)
    return (rng.random((10, 28, 28)) > 0.6).astype(np.float32)


def images_and_labels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    noise = rng.random((n, 28, 28)) * 0.3
    images = np.clip(templates()[labels] * rng.uniform(0.6, 1.0, (n, 1, 1)) + noise, 0, 1)
    return (images * 255).astype(np.uint8), labels


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload, compresslevel=1))
    else:
        path.write_bytes(payload)


def write_mnist(folder: Path, n_train: int = 1200, n_test: int = 300, compress: bool = True) -> Path:
    """Write the four IDX files into folder; returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images, labels = images_and_labels(n, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, compress)
    return folder
