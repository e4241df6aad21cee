import json
import math

import pytest
import torch

from models import conditional as C
from models.hub import CHECKPOINTS, load_pretrained
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


def test_infogan_paper_generator():
    """The paper's MNIST G (FC, FC, two upconvolutions): images at the kit's 32 px, every code used, a clear error
    for sizes it cannot reach."""
    torch.manual_seed(0)
    G = C.InfoGenerator(8, 10, 2, fc_features=16, **TINY).eval()
    z, codes = torch.randn(2, 8), torch.zeros(2, 2)
    a = G(z, torch.tensor([3, 3]), codes)
    assert a.shape == (2, 1, 32, 32) and a.abs().max() <= 1
    assert not torch.allclose(a, G(z, torch.tensor([3, 4]), codes))
    assert not torch.allclose(a, G(z, torch.tensor([3, 3]), codes + 1))
    with pytest.raises(ValueError, match="multiple of 4"):
        C.InfoGenerator(8, fc_features=16, hidden_channels=4, image_size=30)


@pytest.mark.parametrize("fc_features", [0, 16])
def test_infogan_uniform_noise(fc_features):
    """uniform_noise: G sees erf(z / sqrt 2), U(-1, 1) (tests/test_dcgan.py checks that), in place of z."""
    torch.manual_seed(0)
    plain = C.InfoGenerator(8, 10, 2, **TINY, fc_features=fc_features).eval()
    uniform = C.InfoGenerator(8, 10, 2, **TINY, fc_features=fc_features, uniform_noise=True).eval()
    uniform.load_state_dict(plain.state_dict())
    z, cat, cont = torch.randn(4, 8), torch.tensor([0, 3, 7, 9]), torch.rand(4, 2) * 2 - 1
    assert torch.allclose(uniform(z, cat, cont), plain(torch.special.erf(z / math.sqrt(2)), cat, cont), atol=1e-6)
    assert not torch.allclose(uniform(z, cat, cont), plain(z, cat, cont))


def test_discriminators_shapes():
    x, y = torch.randn(3, 1, 32, 32), torch.tensor([0, 5, 9])
    assert C.ConditionalDiscriminator(4, 10, 1, 32)(x, y).shape == (3,)
    source, classes = C.AuxiliaryClassifierDiscriminator(4, 10, 1, 32)(x)
    assert source.shape == (3,) and classes.shape == (3, 10)
    for fc_features in (0, 16):  # DCGAN's body; the paper's MNIST D with its FC layer
        source, cat, cont = C.InfoDiscriminator(4, 10, 2, 1, 32, fc_features=fc_features)(x)
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


# ---------------------------------------------------------------------------------------------- the tab, tiny models
@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    for model in trainer.MODELS:
        trainer.main(trainer.Config(model=model, max_steps=2, out_dir=str(root / "runs" / model),
                                    export_dir=str(root / f"{model}-mnist"), **TINY_TRAIN))
    return root


@pytest.fixture
def tab(tiny_checkpoints, monkeypatch):
    import models.hub
    from demos import conditional as tab

    monkeypatch.setattr(models.hub, "CHECKPOINTS", tiny_checkpoints)
    tab.generator.cache_clear()
    yield tab
    tab.generator.cache_clear()


def test_tab_class_samples_and_infogan_grid(tab):
    from demos import common

    grid = tab.class_samples("acgan", "3", 0, 16)
    cell = 32 + 2
    assert grid.size == ((8 * cell + 2) * 2, (2 * cell + 2) * 2)
    assert tab.class_samples("acgan", 3, 0, 16).tobytes() == grid.tobytes()
    assert tab.class_samples("acgan", 4, 0, 16).tobytes() != grid.tobytes()  # the digit reaches G
    t2i = tab.text_to_image("A thick 7", 0, 8)
    assert t2i.size == ((8 * cell + 2) * 2, cell * 2 + 4) and t2i.tobytes() != tab.text_to_image("a one", 0, 8).tobytes()
    samples, sweep = tab.info_codes(0, 2, 0.5, -1, 2)
    assert sweep.size == ((tab.CODE_STEPS * cell + 2) * common.DISPLAY_SCALE // 2, (10 * cell + 2) * 2)


def test_tab_bigan_accepts_drawings_and_uploads(tab):
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (280, 280))
    ImageDraw.Draw(canvas).line([(140, 40), (140, 240)], fill=255, width=20)  # a drawn "1", white on black
    pair, text = tab.bigan_reconstruct({"composite": canvas})
    assert pair.size == ((2 * 34 + 2) * 8, 34 * 8 + 2 * 8) and text.startswith("E(x) = [")
    paper = Image.new("RGB", (50, 80), "white")
    ImageDraw.Draw(paper).ellipse([10, 10, 40, 70], outline="black", width=5)  # a "0" in dark ink on white
    x = tab.digit_from_upload(paper)
    assert x.shape == (1, 1, 32, 32) and x[0, 0, 0, 0] == -1 and x.max() > 0.5  # background black, ink light


@pytest.mark.parametrize("call, message", [
    (lambda t: t.class_samples("infogan", 1, 0, 4), "Model must be cgan or acgan"),
    (lambda t: t.class_samples("cgan", 10, 0, 4), "Digit must be a whole number between 0 and 9"),
    (lambda t: t.class_samples("cgan", "seven", 0, 4), "Digit must be"),
    (lambda t: t.class_samples("cgan", 1, 0, 65), "Number of samples must be a whole number between 1 and 64"),
    (lambda t: t.info_codes(0, 1, 99, 0, 1), "Continuous code 1 must be a number between -3.0 and 3.0"),
    (lambda t: t.info_codes(0, 1, "nan?", 0, 1), "Continuous code 1 must be a number"),
    (lambda t: t.info_codes(0, 1, 0, 0, 3), "Code to sweep must be a whole number between 1 and 2"),
    (lambda t: t.bigan_reconstruct(None), "Draw a digit or upload an image"),
    (lambda t: t.text_to_image("", 0, 4), "Type a caption"),
    (lambda t: t.text_to_image("a purple seven", 0, 4), "Caption not understood: unknown word 'purple'"),
    (lambda t: t.text_to_image("seven " * 50, 0, 4), "Caption too long"),
    (lambda t: t.text_to_image(None, 0, 4), "Type a caption"),
    (lambda t: t.bigan_reconstruct({"composite": None}), "Draw a digit or upload an image"),
    (lambda t: t.bigan_reconstruct("/etc/passwd"), "Expected an image \\(PNG or JPEG\\); got str"),
    (lambda t: t.bigan_reconstruct(__import__("PIL.Image").Image.new("L", (64, 64))), "The image is blank"),
    (lambda t: t.bigan_reconstruct(__import__("PIL.Image").Image.new("L", (5000, 4000))), "Image too large"),
])
def test_tab_rejects_bad_input_clearly(tab, call, message):
    import gradio as gr

    with pytest.raises(gr.Error, match=message):
        call(tab)


def test_tab_names_the_train_command_when_a_checkpoint_is_missing(tab, tmp_path, monkeypatch):
    import models.hub

    monkeypatch.setattr(models.hub, "CHECKPOINTS", tmp_path)
    tab.generator.cache_clear()
    import gradio as gr

    with pytest.raises(gr.Error, match="python -m train.conditional --model=cgan"):
        tab.class_samples("cgan", 1, 0, 4)
    assert "not bundled yet" in tab.metrics_line("infogan")


def test_transparent_canvas_with_dark_strokes_becomes_an_mnist_digit():
    from PIL import Image, ImageDraw

    from demos.conditional import digit_from_upload

    canvas = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line([(100, 30), (100, 170)], fill=(0, 0, 0, 255), width=15)
    x = digit_from_upload(canvas)[0, 0]
    assert x[0, 0] == -1 and x[16, 16] > 0.5 and x[16, 4] == -1  # a light vertical stroke in the middle


# ------------------------------------------------------------------------------------------------- text to image
def test_caption_grammar():
    vocabulary = C.caption_vocabulary("mnist")
    assert C.parse_caption("A thick seven.", vocabulary) == (7, ["thick"])
    assert C.parse_caption("slanted small 2", vocabulary) == (2, ["slanted", "small"])
    phi = C.caption_embedding(7, ["thick"], vocabulary)
    assert phi.sum() == 2 and phi[vocabulary.index("seven")] == 1 and phi[vocabulary.index("thick")] == 1
    for bad, message in [("a purple seven", "unknown word 'purple'"), ("a thick", "exactly one class"),
                         ("a one two", "exactly one class"), ("a thin thick one", "contradict"),
                         ("", "exactly one class")]:
        with pytest.raises(ValueError, match=message):
            C.parse_caption(bad, vocabulary)
    assert C.parse_caption("a small trouser", C.caption_vocabulary("fashion-mnist")) == (1, ["small"])


def test_measured_attributes_follow_the_ink():
    from train import data

    images, labels = data.mnist("test", 32)
    attrs = trainer.attributes(images[:3000], labels[:3000])
    ink = (images[:3000] + 1).sum((1, 2, 3))
    assert ink[attrs[:, 0] == 1].mean() > 1.4 * ink[attrs[:, 0] == -1].mean()  # "thick" has more ink than "thin"
    assert set(attrs.unique().tolist()) == {-1, 0, 1}


def test_gan_cls_discriminator_loss_by_hand():
    big = torch.full((3,), 30.0)
    assert C.d_loss_gan_cls(big, -big, -big).item() < 1e-6  # right pair real, wrong caption and fake rejected
    assert math.isclose(C.d_loss_gan_cls(torch.zeros(1), torch.zeros(1), torch.zeros(1)).item(), 2 * math.log(2),
                        rel_tol=1e-6)


def test_text_to_image_generator_reads_captions():
    torch.manual_seed(0)
    G = C.TextToImageGenerator(8, hidden_channels=4).eval()
    z = torch.randn(2, 8).repeat(2, 1)
    phi = G.embed(["a seven", "a thick seven", "a one", "a thick seven"])
    out = G(z, phi)
    assert out.shape == (4, 1, 32, 32) and not torch.allclose(out[0], out[2]) and torch.allclose(out[1], out[3])
    with pytest.raises(ValueError, match="unknown word"):
        G.embed(["a dragon"])


def test_t2i_metrics_run_on_a_tiny_model():
    torch.manual_seed(0)
    values = evaluate.evaluate_conditional(C.TextToImageGenerator(8, hidden_channels=4).eval(), "t2i", "mnist",
                                           n=300)["values"]
    assert 0 <= values["caption_class_accuracy"] <= 1 and values["thick_to_thin_ink"] > 0


def test_metrics_line_states_the_target_and_whether_it_is_met(tab, tiny_checkpoints):
    import json

    def line(model, value, **extra):
        values = {"FD": 1.0, "precision": 0.5, "recall": 0.5, "requested_class_accuracy": value,
                  "category_purity": value, **extra}
        (tiny_checkpoints / f"{model}-mnist" / "metrics.json").write_text(json.dumps({"values": values}))
        return tab.metrics_line(model)

    try:
        assert "95.3 % samples classified as the requested class (target ≥ 95 %: met)" in line("cgan", 0.953)
        assert "(target ≥ 95 %: **not met**)" in line("cgan", 0.915)
        assert "0→1, 1→5" in line("infogan", 0.40, category_to_class=[1, 5, 8, 2, 9, 1, 6, 7, 9, 8])
    finally:
        for model in ("cgan", "infogan"):
            (tiny_checkpoints / f"{model}-mnist" / "metrics.json").unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------- bundled checkpoints
OWN_TEST = {"cgan": "requested_class_accuracy", "acgan": "requested_class_accuracy", "infogan": "category_purity",
            "t2i": "caption_class_accuracy", "bigan": "reconstruction_class_agreement"}


@pytest.mark.parametrize("model", [m for m in trainer.MODELS if (CHECKPOINTS / f"{m}-mnist" / "metrics.json").exists()])
def test_bundled_checkpoint_loads_offline_and_matches_its_card(model):
    """1000 protocol samples: the model's own test and the classifier's confidence agree with the card's 10k figures
    (about 3.5 standard errors), so weights that drifted from their card fail."""
    from demos.conditional import CLASSES_OF

    G = load_pretrained(CLASSES_OF[model], f"{model}-mnist", device="cpu")
    card = json.loads((CHECKPOINTS / f"{model}-mnist" / "metrics.json").read_text())["values"]
    _, probs, own = evaluate.conditional_test(G, model, "mnist", 1000)
    assert abs(own[OWN_TEST[model]] - card[OWN_TEST[model]]) < 0.05
    assert abs((probs.max(1).values >= 0.9).float().mean().item() - card["confident_fraction"]) < 0.05
    assert card["class_min_fraction"] >= 0.04  # no collapsed conditional checkpoint ships
