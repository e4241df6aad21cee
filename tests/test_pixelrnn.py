import itertools
import json

import pytest
import torch

from models.hub import CHECKPOINTS, load_pretrained
from models.pixelrnn import RowLSTM, bernoulli_nll, causal_mask
from train import pixelrnn as trainer

TINY = dict(hidden_channels=4, num_layers=2, output_channels=8, image_size=8)
TINY_TRAIN = dict(fake_data=True, image_size=8, hidden_channels=4, num_layers=2, output_channels=8, batch_size=8,
                  replay_frames=2, save_every=2, evaluate=False, device="cpu")


def tiny(seed: int = 0, **overrides) -> RowLSTM:
    torch.manual_seed(seed)
    return RowLSTM(**{**TINY, **overrides}).eval()


# ------------------------------------------------------------------------------------------ causality and likelihood
def test_masks():
    assert causal_mask(3, 3, include_center=False).tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]  # mask A
    assert causal_mask(1, 3, include_center=True).tolist() == [[1, 1, 0]]                         # mask B


def test_causal_in_raster_order_by_gradients():
    """d logit_i / d x_j is exactly 0 for every j >= i (raster order), on a random input; and the Row LSTM's
    recurrence reaches far: the last pixel depends on the first, 7 rows and 7 columns away (beyond the 7x7 conv)."""
    model, side = tiny(), TINY["image_size"]
    x = torch.rand(1, 1, side, side)  # continuous values: no gradient vanishes by accident of a 0/1 input
    jacobian = torch.autograd.functional.jacobian(lambda v: model(v).flatten(), x).reshape(side**2, side**2)
    later_or_self = torch.ones(side**2, side**2).triu().bool()  # row i = output pixel i; columns j >= i
    assert (jacobian[later_or_self] == 0).all()
    earlier = jacobian[~later_or_self]
    assert (earlier != 0).float().mean() > 0.9  # ... and it does use the pixels it may see
    assert jacobian[-1, 0] != 0


def test_probabilities_of_all_images_sum_to_one():
    model = tiny(image_size=3)
    images = torch.tensor(list(itertools.product([0.0, 1.0], repeat=9))).view(-1, 1, 3, 3)  # all 512 images
    with torch.no_grad():
        total = torch.exp(-model.nll(images).double()).sum()
    assert abs(total.item() - 1) < 1e-5


def test_nll_is_the_sum_of_the_map_and_per_image():
    model, x = tiny(), (torch.rand(5, 1, 8, 8) < 0.4).float()
    with torch.no_grad():
        logits, nll_map, nll = model(x), model.nll_map(x), model.nll(x)
        alone = model.nll(x[2:3])
    assert logits.shape == nll_map.shape == (5, 1, 8, 8) and nll.shape == (5,)
    assert torch.allclose(nll, nll_map.flatten(1).sum(1)) and (nll_map >= 0).all()
    assert torch.allclose(alone, nll[2:3], atol=1e-5)  # images are independent in a batch
    assert torch.allclose(bernoulli_nll(torch.zeros(1), torch.ones(1)), torch.tensor([0.6931472]))  # log 2


def test_row_sampler_is_exact():
    """The sampler's row cache gives forward's logits at every pixel, and its draws follow the model's p(x)."""
    model = tiny()
    x = (torch.rand(3, 1, 8, 8) < 0.4).float()
    cache = model.raster_cache(3)
    with torch.no_grad():
        full = model(x)
        for r, c in itertools.product(range(8), range(8)):  # raster order, as a sampler asks
            assert torch.allclose(cache.step(x, r, c)[:, 0], full[:, 0, r, c], atol=1e-5), (r, c)
    # On 2x2 images: empirical frequencies of 4000 draws vs the 16 exact probabilities.
    small = tiny(image_size=2)
    with torch.no_grad():
        draws = small.sample(4000, torch.Generator().manual_seed(0))
        images = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4))).view(-1, 1, 2, 2)
        p = torch.exp(-small.nll(images))
    codes = (draws.flatten(1) * torch.tensor([8.0, 4, 2, 1])).sum(1).long()
    freq = torch.bincount(codes, minlength=16).float() / 4000
    assert (freq - p).abs().max() < 4 * (p * (1 - p) / 4000).sqrt().max() + 1e-3


def test_sampling_seeded_and_completion_keeps_known_pixels():
    model = tiny()
    a = model.sample(3, torch.Generator().manual_seed(7))
    b = model.sample(3, torch.Generator().manual_seed(7))
    assert a.shape == (3, 1, 8, 8) and torch.equal(a, b) and set(a.unique().tolist()) <= {0.0, 1.0}
    given = (torch.rand(1, 1, 8, 8) < 0.5).float()
    known = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    known[..., :4, :] = True  # the top half: complete the bottom half
    done = model.sample(4, torch.Generator().manual_seed(1), given=given, known_mask=known)
    assert torch.equal(done[..., :4, :], given[..., :4, :].expand(4, 1, 4, 8))
    cold = model.sample(64, torch.Generator().manual_seed(2), temperature=0.05)
    with torch.no_grad():
        assert model.nll(cold).mean() < model.nll(model.sample(64, torch.Generator().manual_seed(2))).mean()


def test_save_load_round_trip(tmp_path):
    model, x = tiny(), (torch.rand(2, 1, 8, 8) < 0.5).float()
    model.save_pretrained(tmp_path / "ckpt")
    files = {p.name for p in (tmp_path / "ckpt").iterdir()}
    assert {"config.json", "model.safetensors"} <= files
    loaded = load_pretrained(RowLSTM, str(tmp_path / "ckpt"), device="cpu")
    assert loaded.image_size == 8 and len(loaded.layers) == 2
    assert torch.equal(loaded(x), model(x))


# ---------------------------------------------------------------------------------------------- training
def test_two_step_training_smoke(tmp_path):
    export = trainer.main(trainer.Config(max_steps=2, out_dir=str(tmp_path), **TINY_TRAIN))
    folder = tmp_path / "checkpoint"
    assert {"config.json", "model.safetensors", "README.md", "training.json", "replay.png"} <= {
        p.name for p in folder.iterdir()}
    card = (folder / "README.md").read_text()
    assert "python -m train.pixelrnn" in card and "Seed: 0" in card and "Wall time" in card
    history = json.loads((folder / "training.json").read_text())["history"]
    assert history[0]["nll"] > 0 and history[0]["lr"] == trainer.Config.lr  # lr decays from its starting value
    loaded = load_pretrained(RowLSTM, str(folder), device="cpu")
    x = (torch.rand(2, 1, 8, 8) < 0.5).float()
    assert not export.training and torch.allclose(loaded.nll(x), export.nll(x)) and torch.isfinite(export.nll(x)).all()


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_resume_equals_uninterrupted(tmp_path):
    straight = trainer.main(trainer.Config(max_steps=5, out_dir=str(tmp_path / "a"), **TINY_TRAIN))
    trainer.main(trainer.Config(max_steps=2, out_dir=str(tmp_path / "b"), **TINY_TRAIN))
    resumed = trainer.main(trainer.Config(max_steps=5, out_dir=str(tmp_path / "b"), resume=True, **TINY_TRAIN))
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------------------------------------- bundled checkpoint
BUNDLED = CHECKPOINTS / "pixelrnn-mnist"


@pytest.mark.skipif(not (BUNDLED / "metrics.json").exists(),
                    reason="pixelrnn-mnist is not bundled yet: python -m train.pixelrnn "
                           "--export_dir=assets/checkpoints/pixelrnn-mnist")
def test_bundled_checkpoint_loads_offline_and_matches_its_card():
    """The card's NLL over the first 500 fixed binarized test digits, recomputed from the bundled weights, agrees
    within 0.05 nats (float summation order only); the full 10k-digit figure is the issue's target, <= 90 nats."""
    from train import data

    metrics = json.loads((BUNDLED / "metrics.json").read_text())
    assert data.BINARIZATION_PROTOCOL in metrics["protocol"]
    model = load_pretrained(RowLSTM, "pixelrnn-mnist", device="cpu")
    test = data.binarized_mnist_test(model.image_size)[0][:trainer.SUBSET]
    with torch.inference_mode():
        nll = model.nll(test).double().mean().item()
    assert abs(nll - metrics["values"][f"nll_nats_first_{trainer.SUBSET}"]) < 0.05
    assert metrics["values"]["nll_nats"] <= 90


def test_the_shared_sampler_uses_the_row_cache_exactly():
    """models.pixelcnn.sample through RowLSTM.raster_cache draws the same images as through its generic fallback,
    which calls forward() on the rows so far for every pixel."""
    pixelcnn = pytest.importorskip("models.pixelcnn")

    class ForwardOnly(torch.nn.Module):  # the same network without raster_cache
        def __init__(self, model):
            super().__init__()
            self.model, self.image_size = model, model.image_size

        def forward(self, x):
            return self.model(x)

    model = tiny()
    fast = pixelcnn.sample(model, 4, torch.Generator().manual_seed(3))
    slow = pixelcnn.sample(ForwardOnly(model), 4, torch.Generator().manual_seed(3))
    assert fast.shape == (4, 1, 8, 8) and torch.equal(fast, slow)
