import numpy as np
import pytest
from synthetic_mnist import images_and_labels, write_mnist

from grader import data
from grader.errors import DataNotFound
from grader.rubric import Split


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trips_plain_and_gzip(tmp_path, compress):
    write_mnist(tmp_path, n_train=50, n_test=20, compress=compress)
    folder = data.find_mnist(tmp_path)
    images = data.read_idx(data._idx_path(folder, "train-images-idx3-ubyte"))
    expected, _ = images_and_labels(50, seed=1)
    assert images.shape == (50, 28, 28) and images.dtype == np.uint8
    assert np.array_equal(images, expected)


def test_lookup_order_prefers_data_dir_then_env(tmp_path, monkeypatch):
    a, b = write_mnist(tmp_path / "a", 20, 10), write_mnist(tmp_path / "b", 20, 10)
    monkeypatch.setenv("MNIST_DIR", str(b))
    assert data.find_mnist(a) == a
    assert data.find_mnist(None) == b


def test_torchvision_layout_in_cache_is_found(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    raw = write_mnist(tmp_path / "grader" / "mnist" / "MNIST" / "raw", 20, 10)
    assert data.find_mnist(None) == raw


def test_missing_data_is_one_clear_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nothing"))
    with pytest.raises(DataNotFound) as e:
        data.find_mnist(None)
    message = str(e.value)
    assert "\n" not in message and "MNIST_DIR" in message and "--data-dir" in message


def test_corrupt_idx_is_reported(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x03" + (10).to_bytes(4, "big") * 3 + b"short")
    with pytest.raises(DataNotFound, match="header"):
        data.read_idx(bad)


def test_split_is_seeded_disjoint_and_scaled_down_on_small_data(tmp_path):
    folder = write_mnist(tmp_path, 1200, 300)
    a = data.load_split(folder, Split(train=50_000, validation=10_000, seed=0))
    b = data.load_split(folder, Split(train=50_000, validation=10_000, seed=0))
    assert np.array_equal(a.validation_images, b.validation_images)
    assert len(a.validation_images) == 200 and len(a.train_images) == 1000  # the rubric's 5:1
    assert "1200 images" in a.shortfall
    train_rows = {img.tobytes() for img in a.train_images}
    assert not any(img.tobytes() in train_rows for img in a.validation_images)
    limited = data.load_split(folder, Split(train=800, validation=200, seed=0), train_limit=100)
    assert len(limited.train_images) == 100 and limited.shortfall == "training limited to 100 images"
    exact = data.load_split(folder, Split(train=1000, validation=200, seed=0))
    assert exact.shortfall == ""
