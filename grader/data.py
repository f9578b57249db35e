"""MNIST from IDX files: where to find them, how to read them, and the rubric's split."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.errors import DataNotFound
from grader.rubric import Split

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_DTYPES = {0x08: np.uint8}


@dataclass(frozen=True)
class MnistSplit:
    """The rubric's split as uint8 arrays: images (N, 28, 28), labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    validation_images: np.ndarray
    validation_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    shortfall: str  # why the split is smaller than the rubric's, or "" when it is not


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "grader" / "mnist"


def find_mnist(data_dir: str | Path | None = None, option: str = "--data-dir") -> Path:
    """The folder holding the four IDX files: --data-dir, then $MNIST_DIR, then the cache, then a download. `option`: what
    the user calls `data_dir`, for the message when none of them holds the files."""
    candidates = [(option, data_dir), ("$MNIST_DIR", os.environ.get("MNIST_DIR")), ("cache", cache_dir())]
    for _, folder in candidates:
        if folder and (found := _folder_with_files(Path(folder))):
            return found
    if data_dir is None and not os.environ.get("MNIST_DIR"):
        download_error = _download(cache_dir())
        if (found := _folder_with_files(cache_dir())) is not None:
            return found
    else:
        download_error = "not tried because a folder was named"
    looked = ", ".join(f"{name} ({folder})" for name, folder in candidates if folder)
    raise DataNotFound(
        f"MNIST IDX files not found in {looked}; download: {download_error}. "
        f"Put the four files ({', '.join(FILES.values())}, plain or .gz) in a folder and pass --data-dir or set MNIST_DIR.",
        looked, download_error,
    )


def _folder_with_files(folder: Path) -> Path | None:
    for f in (folder, folder / "MNIST" / "raw", folder / "raw"):
        if all(_idx_path(f, name) is not None for name in FILES.values()):
            return f
    return None


def _idx_path(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _download(folder: Path) -> str:
    try:
        from torchvision.datasets import MNIST

        folder.mkdir(parents=True, exist_ok=True)
        MNIST(str(folder), train=True, download=True)
        MNIST(str(folder), train=False, download=True)
        return "ok"
    except Exception as e:  # any network or disk failure means: no data, explained to the user
        return f"failed ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else 'no network?'})"


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (plain or gzip) into a numpy array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataNotFound(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataNotFound(f"{path}: holds {data.size} values but its header says {shape}")
    return data.reshape(shape)


def load_split(folder: Path, split: Split, train_limit: int | None = None) -> MnistSplit:
    """The rubric's split: `split.validation` images held out of the training file by a seeded permutation."""
    arrays = {key: read_idx(_idx_path(folder, name)) for key, name in FILES.items()}
    available = len(arrays["train_images"])
    n_train, n_val, shortfall = split.train, split.validation, ""
    if n_train + n_val > available:
        # Small data (tests, smoke runs): keep the rubric's proportions, and say so.
        n_val = max(1, round(available * n_val / (n_train + n_val)))
        n_train = available - n_val
        shortfall = f"the training file holds {available} images, the rubric's split needs {split.train + split.validation}"
    if train_limit is not None and train_limit < n_train:
        n_train = train_limit
        shortfall = shortfall or f"training limited to {train_limit} images"  # --train-limit, or train_limit in a notebook
    order = np.random.default_rng(split.seed).permutation(available)
    val, train = order[:n_val], order[n_val : n_val + n_train]
    return MnistSplit(
        train_images=arrays["train_images"][train],
        train_labels=arrays["train_labels"][train],
        validation_images=arrays["train_images"][val],
        validation_labels=arrays["train_labels"][val],
        test_images=arrays["test_images"],
        test_labels=arrays["test_labels"],
        shortfall=shortfall,
    )
