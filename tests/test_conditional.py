import json
import math

import pytest
import torch

from models import conditional as C
from models.hub import load_pretrained
from train import conditional as trainer
from train import evaluate

TINY = dict(hidden_channels=4, image_channels=1, image_size=32)
TINY_TRAIN = dict(fake_data=True, g_channels=4, d_channels=4, batch_size=8, replay_frames=2, save_every=2,
                  bn_batches=1, evaluate=False, device="cpu")


def inputs(model, n):
    g = torch.Generator().manual_seed(0)
    cfg = trainer.Config(model=model, **TINY_TRAIN)
    return (torch.randn(n, cfg.latent_dim, generator=g), *trainer.conditions(cfg, n, g))


# ----------------------------------------------------------------------------------------------------- networks
def test_conditional_generator_uses_the_label():
    torch.manual_seed(0)
    G = C.ConditionalGenerator(8, 10, **TINY).eval()
    z = torch.randn(2, 8)
    a, b = G(z, torch.tensor([3, 3])), G(z, torch.tensor([3, 7]))
    assert a.shape == (2, 1, 32, 32) and a.abs().max() <= 1
    assert torch.equal(a[0], b[0]) and not torch.allclose(a[1], b[1])  # only the changed label changes its image


def test_discriminators_shapes():
    x, y = torch.randn(3, 1, 32, 32), torch.tensor([0, 5, 9])
    assert C.ConditionalDiscriminator(4, 10, 1, 32)(x, y).shape == (3,)
    source, classes = C.AuxiliaryClassifierDiscriminator(4, 10, 1, 32)(x)
    assert source.shape == (3,) and classes.shape == (3, 10)
    source, cat, cont = C.InfoDiscriminator(4, 10, 2, 1, 32)(x)
    assert source.shape == (3,) and cat.shape == (3, 10) and cont.shape == (3, 2)
    bigan = C.BiGAN(8, **TINY).eval()
    assert bigan.encode(x).shape == (3, 8) and bigan.reconstruct(x).shape == (3, 1, 32, 32)
    assert C.JointDiscriminator(8, 4, 1, 32)(x, torch.randn(3, 8)).shape == (3,)


def test_joint_discriminator_scores_each_pair_alone():
    D = C.JointDiscriminator(8, 4, 1, 32).eval()
    x, z = torch.randn(4, 1, 32, 32), torch.randn(4, 8)
    assert torch.allclose(D(x, z)[:1], D(x[:1], z[:1]), atol=1e-6)  # no BatchNorm coupling the batch


# ------------------------------------------------------------------------------------------------------- losses
def test_acgan_losses_by_hand():
    big = torch.full((2,), 30.0)
    perfect_class = torch.tensor([[30.0, 0.0], [0.0, 30.0]])
    labels = torch.tensor([0, 1])
    # a D that is right about source and class everywhere has ~0 loss; G then pays for the source only
    assert C.d_loss_acgan(big, perfect_class, -big, perfect_class, labels, labels).item() < 1e-6
    assert math.isclose(C.g_loss_acgan(-big, perfect_class, labels).item(), 30.0, rel_tol=1e-4)
    uniform = torch.zeros(2, 2)
    assert math.isclose(C.g_loss_acgan(big, uniform, labels).item(), math.log(2), rel_tol=1e-4)


def test_info_loss_by_hand():
    logits = torch.tensor([[0.0, 0.0]])
    assert math.isclose(C.info_loss(logits, torch.zeros(1, 2), torch.tensor([1]), torch.zeros(1, 2)).item(),
                        math.log(2), rel_tol=1e-6)  # categorical: log 2; continuous exact: 0
    loss = C.info_loss(torch.tensor([[50.0, 0.0]]), torch.zeros(1, 2), torch.tensor([0]), torch.ones(1, 2), 0.1)
    assert math.isclose(loss.item(), 0.1 * 0.5 * 2, rel_tol=1e-4)  # 0.1 * 1/2 * |mu - c|^2


# ----------------------------------------------------------------------------------------------------- training
@pytest.mark.parametrize("model", list(trainer.MODELS))
def test_two_step_training_smoke_and_round_trip(model, tmp_path):
    export = trainer.main(trainer.Config(model=model, max_steps=2, out_dir=str(tmp_path), **TINY_TRAIN))
    folder = tmp_path / "checkpoint"
    record = json.loads((folder / "training.json").read_text())
    assert record["model"] == model and record["history"] and (folder / "replay.png").exists()
    assert f"--model={model}" in (folder / "README.md").read_text()
    loaded = load_pretrained(type(export), str(folder))
    args = inputs(model, 3)
    out = loaded(*args)
    assert out.shape == (3, 1, 32, 32) and out.abs().max() <= 1 and torch.allclose(out, export(*args), atol=1e-6)
    if model == "bigan":  # the encoder's BatchNorm statistics were re-estimated on images, not left at reset values
        bn = next(m for m in loaded.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d))
        assert bn.running_var.mean() != 1 and bn.num_batches_tracked > 0


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("model", ["infogan", "bigan"])  # random codes from the step's generator; dropout in D
def test_resume_equals_uninterrupted(model, tmp_path):
    cfg = dict(TINY_TRAIN, model=model)
    straight = trainer.main(trainer.Config(max_steps=5, out_dir=str(tmp_path / "a"), **cfg))
    trainer.main(trainer.Config(max_steps=2, out_dir=str(tmp_path / "b"), **cfg))
    resumed = trainer.main(trainer.Config(max_steps=5, out_dir=str(tmp_path / "b"), resume=True, **cfg))
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_config_rejects_unknown_models():
    with pytest.raises(SystemExit, match="--model must be one of cgan, acgan, infogan, bigan"):
        trainer.Config(model="stackgan")
    assert trainer.Config(model="infogan").latent_dim == 62 and trainer.Config(model="cgan").latent_dim == 100


# --------------------------------------------------------------------------------------------------- evaluation
class LabelPainter(torch.nn.Module):
    """A fake conditional 'generator' that returns real test digits of the requested class: accuracy must be ~1."""

    latent_dim = 4
    num_continuous = 2

    def __init__(self):
        super().__init__()
        from train import data

        images, labels = data.mnist("test", 32)
        self.register_buffer("bank", torch.stack([images[labels == c][:50] for c in range(10)]))
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, z, labels, continuous=None):
        return self.bank[labels, torch.arange(len(labels)) % 50]


@pytest.mark.parametrize("model, key, low, high", [
    ("cgan", "requested_class_accuracy", 0.95, 1.0),
    ("infogan", "category_purity", 0.95, 1.0),
])
def test_conditional_metrics_see_a_perfect_model(model, key, low, high):
    values = evaluate.evaluate_conditional(LabelPainter(), model, "mnist", n=300)["values"]
    assert low <= values[key] <= high
    if model == "infogan":
        assert values["category_to_class"] == list(range(10))


def test_conditional_metric_fails_a_label_blind_model():
    class Blind(LabelPainter):
        def forward(self, z, labels, continuous=None):
            return super().forward(z, torch.zeros_like(labels))  # always a zero

    values = evaluate.evaluate_conditional(Blind(), "acgan", "mnist", n=300)["values"]
    assert values["requested_class_accuracy"] < 0.2
