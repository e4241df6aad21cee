import re
import time
from pathlib import Path

import pytest
import torch

from models import hub
from models.dcgan import Generator

TINY = dict(latent_dim=8, hidden_channels=4, image_channels=1, image_size=28)


def _fake_hf_cache(cache: Path, repo: str, model: torch.nn.Module) -> None:
    """The HF cache layout snapshot_download(local_files_only=True) reads: refs/main -> snapshots/<rev>/files."""
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text("0" * 40)
    model.save_pretrained(root / "snapshots" / ("0" * 40))


def test_hub_cache_comes_before_the_bundled_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GENZOO_HUB_NAMESPACE", "someone")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(1)
    cached = Generator(**TINY)
    _fake_hf_cache(tmp_path / "cache", "someone/dcgan-mnist", cached)
    folder = hub.checkpoint_folder("dcgan-mnist")
    assert str(folder).startswith(str(tmp_path / "cache"))
    loaded = hub.load_pretrained(Generator, "dcgan-mnist", device="cpu")
    assert torch.equal(loaded.net[0].weight, cached.net[0].weight)


def test_bundled_folder_when_hub_has_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert hub.checkpoint_folder("dcgan-mnist") == hub.CHECKPOINTS / "dcgan-mnist"
    monkeypatch.setenv("GENZOO_HUB_NAMESPACE", "")  # Hub switched off entirely
    assert hub.repo_id("dcgan-mnist") is None
    assert hub.checkpoint_folder("dcgan-mnist") == hub.CHECKPOINTS / "dcgan-mnist"


def test_missing_weights_error_names_the_train_command(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match=r"python -m train\.nosuchmodel"):
        hub.checkpoint_folder("nosuchmodel-mnist")


def test_pickled_weights_are_never_loaded(tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"pickle payload")
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        hub.load_pretrained(Generator, str(folder))


def test_offline_resolution_does_not_stall(monkeypatch):
    """No HF_HUB_OFFLINE and no network: one short probe, then the bundled weights; never a 20-s retry loop."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "https://hub.invalid")
    hub.hub_reachable.cache_clear()
    try:
        start = time.time()
        folder = hub.checkpoint_folder("dcgan-mnist")
        assert time.time() - start < 5 and folder == hub.CHECKPOINTS / "dcgan-mnist"
        start = time.time()
        hub.checkpoint_folder("dcgan-mnist")  # decided once per process
        assert time.time() - start < 1
    finally:
        hub.hub_reachable.cache_clear()


def test_default_device_is_cuda_when_present():
    assert hub.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_float16_storage_loads_into_float32_modules(tmp_path):
    from train.common import save_export, store_float16

    torch.manual_seed(0)
    G = Generator(latent_dim=8, hidden_channels=4, image_size=16).eval()
    save_export(G, tmp_path)
    size = (tmp_path / "model.safetensors").stat().st_size
    assert store_float16(tmp_path) > 0.4 * size
    loaded = hub.load_pretrained(Generator, str(tmp_path), device="cpu")
    z = torch.randn(2, 8)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert torch.allclose(loaded(z), G(z), atol=1e-2) and not torch.equal(loaded(z), G(z))


def test_every_bundled_card_loads_its_own_checkpoint():
    """A card's Use snippet must load the folder it sits in (a card once named the run's out_dir, "infogan-s1"),
    and its command must export there: what a reader copies reproduces this checkpoint."""
    cards = sorted(hub.CHECKPOINTS.glob("*/README.md"))
    assert len(cards) > 30
    for card in cards:
        text, name = card.read_text(), card.parent.name
        names = re.findall(r"""load_pretrained\(\w+, ["']([^"']+)["']""", text)
        assert names and set(names) == {name}, f"{card}: the Use snippet loads {names}"
        command = re.search(r"^- Command: `([^`]+)`", text, re.M)  # later backticks may say where a copy was made
        assert command and f"--export_dir=assets/checkpoints/{name}" in command[1].split(), f"{card}: {command}"


def test_bundled_assets_fit_the_budget():
    """The brief: everything bundled under assets/ (weights, cards, replays, the leaderboard) stays under 150 MB."""
    total = sum(p.stat().st_size for p in hub.CHECKPOINTS.parent.rglob("*") if p.is_file())
    assert total < 150e6, f"assets/ holds {total / 1e6:.1f} MB"
