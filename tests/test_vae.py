import json
import math
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from models.hub import CHECKPOINTS, load_pretrained
from models.vae import (VAE, Autoencoder, bernoulli_log_likelihood, gaussian_log_density, kl_divergence,
                        standard_normal_log_density)
from train import data
from train import vae as trainer
from tests.faults import kill_9_mid_run

TINY = dict(latent_dim=4, hidden_channels=4, hidden_features=16, image_size=8)
TINY_TRAIN = dict(fake_data=True, latent_dim=4, hidden_channels=4, hidden_features=16, batch_size=8, save_every=2,
                  replay_frames=2, evaluate=False, device="cpu")


def binary_images(n: int, size: int = 8, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed)) < 0.3).float()


# ----------------------------------------------------------------------------------------------------- networks
@pytest.mark.parametrize("cls", [VAE, Autoencoder])
@pytest.mark.parametrize("size", [8, 28])
def test_forward_shapes_range_finite(cls, size):
    torch.manual_seed(0)
    net = cls(**{**TINY, "image_size": size}).eval()
    out = net(torch.randn(3, 4))
    assert out.shape == (3, 1, size, size) and out.abs().max() <= 1 and torch.isfinite(out).all()
    assert net.decode(torch.randn(3, 4)).shape == (3, 1, size, size)  # logits
    code = net.encode(binary_images(3, size))
    if cls is VAE:
        mu, logvar = code
        assert mu.shape == logvar.shape == (3, 4)
    else:
        assert code.shape == (3, 4)
    assert net.latent_dim == 4


def test_bad_image_size():
    with pytest.raises(ValueError, match="multiple of 4"):
        VAE(**{**TINY, "image_size": 30})


def test_seeded_determinism():
    torch.manual_seed(0)
    a = VAE(**TINY).eval()
    torch.manual_seed(0)
    b = VAE(**TINY).eval()
    x = binary_images(5)
    elbo = a.elbo(x, torch.Generator().manual_seed(3))
    assert torch.equal(elbo, b.elbo(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(elbo, a.elbo(x, torch.Generator().manual_seed(4)))  # the noise is the generator's
    assert torch.equal(a.iwae_nll(x, 20, 7, torch.Generator().manual_seed(1)),
                       b.iwae_nll(x, 20, 7, torch.Generator().manual_seed(1)))


def test_images_of_a_batch_are_independent():
    net = VAE(**TINY).eval()
    x = binary_images(4)
    assert torch.allclose(net.encode(x)[0][:1], net.encode(x[:1])[0], atol=1e-6)  # no BatchNorm coupling


# ------------------------------------------------------------------------------------------------ likelihoods
def test_kl_is_zero_for_the_prior_and_matches_a_hand_computation():
    assert kl_divergence(torch.zeros(2, 5), torch.zeros(2, 5)).abs().max() == 0
    mu, logvar = torch.tensor([[1.0, 2.0]]), torch.tensor([[math.log(4.0), 0.0]])
    by_hand = 0.5 * ((1 + 4 - 1 - math.log(4)) + (4 + 1 - 1 - 0))
    assert math.isclose(kl_divergence(mu, logvar).item(), by_hand, rel_tol=1e-6)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    reference = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(kl_divergence(mu, logvar), reference)
    assert (kl_divergence(torch.randn(100, 3), torch.randn(100, 3)) >= 0).all()


def test_bernoulli_log_likelihood_by_hand():
    x = binary_images(2)
    assert torch.allclose(bernoulli_log_likelihood(torch.zeros_like(x), x), torch.full((2,), -64 * math.log(2)))
    logits = torch.randn(2, 1, 8, 8)
    p = torch.sigmoid(logits)
    by_hand = (x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1)
    assert torch.allclose(bernoulli_log_likelihood(logits, x), by_hand, atol=1e-4)
    assert bernoulli_log_likelihood(torch.full((1, 4), 200.0), torch.ones(1, 4)).item() == 0  # no log(0) blow-up


def test_gaussian_densities_match_torch():
    z, mu, logvar = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4)
    reference = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    assert torch.allclose(gaussian_log_density(z, mu, logvar), reference, atol=1e-5)
    assert torch.allclose(standard_normal_log_density(z), gaussian_log_density(z, torch.zeros(4), torch.zeros(4)))


@pytest.fixture(scope="module")
def trained_tiny():
    """A tiny VAE after a few hundred steps on one fixed batch: q(z|x) is informative, so the bounds differ."""
    torch.manual_seed(0)
    net = VAE(**TINY)
    x = binary_images(16)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        loss = -net.elbo(x, g).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval(), x


def test_bounds_are_ordered_elbo_iwae_zero(trained_tiny):
    """-ELBO >= IWAE-NLL >= 0 (log p(x) <= 0 for binary pixels) and the IWAE NLL does not grow with k (Burda et al.,
    theorem 1), on averages over repeated draws so the test sees expectations, not noise."""
    net, x = trained_tiny
    g = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        neg_elbo = torch.stack([-net.elbo(x, g) for _ in range(1000)]).mean(0)
        by_k = {k: torch.stack([net.iwae_nll(x, k, 50, g) for _ in range(max(1, 1000 // k))]).mean(0)
                for k in (1, 3, 10, 1000)}
    # k = 1 is -ELBO with a sampled KL: the same in expectation
    assert torch.allclose(by_k[1].mean(), neg_elbo.mean(), rtol=0.01)
    assert (neg_elbo > by_k[1000] + 0.1).all() and (by_k[1000] > 0).all()
    means = [by_k[k].mean().item() for k in (1, 3, 10, 1000)]
    assert means[0] > means[1] > means[2] and means[3] < means[2] + 0.02, means  # k = 1000: converged, within noise
    assert means[0] - means[-1] > 0.3  # the bound tightens visibly on a model with an informative posterior


def test_iwae_is_jensen_tighter_on_the_same_samples(trained_tiny):
    """For any fixed draws, log mean w >= mean log w: the IWAE NLL is below the k-sample ELBO estimate, exactly."""
    net, x = trained_tiny
    with torch.inference_mode():
        w = net.log_weights(x, 64, 16, torch.Generator().manual_seed(5))
        iwae = net.iwae_nll(x, 64, 16, torch.Generator().manual_seed(5))
    assert w.shape == (16, 64)
    assert torch.allclose(iwae, -(torch.logsumexp(w, 1) - math.log(64)))
    assert (iwae <= -w.mean(1) + 1e-5).all()


def test_iwae_chunking_changes_memory_not_the_estimate(trained_tiny):
    net, x = trained_tiny
    with torch.inference_mode():
        one = net.iwae_nll(x, 1000, 1000, torch.Generator().manual_seed(2)).mean()
        chunked = net.iwae_nll(x, 1000, 64, torch.Generator().manual_seed(2)).mean()
    assert abs(one - chunked) < 0.05  # different draws, same estimate within its noise


# ----------------------------------------------------------------------------------------------------- save/load
@pytest.mark.parametrize("cls", [VAE, Autoencoder])
def test_save_load_round_trip(cls, tmp_path):
    net = cls(**TINY).eval()
    net.save_pretrained(tmp_path / "ckpt")
    assert {"config.json", "model.safetensors"} <= {p.name for p in (tmp_path / "ckpt").iterdir()}
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["hidden_features"] == 16
    loaded = load_pretrained(cls, str(tmp_path / "ckpt"), device="cpu")
    z = torch.randn(2, 4)
    assert torch.equal(net(z), loaded(z)) and loaded.latent_dim == 4 and loaded.image_size == 8


# ----------------------------------------------------------------------------------------------------- training
@pytest.mark.parametrize("model", ["vae", "ae"])
def test_two_step_training_smoke(model, tmp_path):
    export = trainer.main(trainer.Config(model=model, max_steps=2, out_dir=str(tmp_path), **TINY_TRAIN,
                                         image_size=8))
    folder = tmp_path / "checkpoint"
    assert {"config.json", "model.safetensors", "README.md", "replay.png", "training.json"} <= {
        p.name for p in folder.iterdir()}
    card = (folder / "README.md").read_text()
    assert f"python -m train.vae --model={model} --latent_dim=4" in card and "Seed: 0" in card
    history = json.loads((tmp_path / "history.json").read_text())
    assert math.isfinite(history[0]["loss"]) and history[0]["loss"] > 0
    assert ("kl" in history[0]) == (model == "vae")
    assert isinstance(export, VAE if model == "vae" else Autoencoder) and not export.training
    loaded = load_pretrained(type(export), str(folder), device="cpu")
    z = torch.randn(3, 4)
    assert torch.allclose(loaded(z), export(z))


def test_training_lowers_the_loss(tmp_path):
    """60 steps on the fake images (uniform intensities, so every binarized pixel is a fair coin): the loss must fall
    from the random init's to about 64 ln 2 nats, the best any model can do (the trainer really optimises the ELBO)."""
    trainer.main(trainer.Config(model="vae", max_steps=60, out_dir=str(tmp_path), **{**TINY_TRAIN, "image_size": 8,
                                                                                      "save_every": 100}))
    history = json.loads((tmp_path / "history.json").read_text())
    assert history[-1]["loss"] < history[0]["loss"] - 0.5 and history[-1]["loss"] < 64 * math.log(2) + 0.5


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_resume_equals_uninterrupted(tmp_path):
    cfg = dict(TINY_TRAIN, model="vae", image_size=8)
    straight = trainer.main(trainer.Config(max_steps=5, out_dir=str(tmp_path / "a"), **cfg))
    trainer.main(trainer.Config(max_steps=2, out_dir=str(tmp_path / "b"), **cfg))
    resumed = trainer.main(trainer.Config(max_steps=5, out_dir=str(tmp_path / "b"), resume=True, **cfg))
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_kill_9_then_resume_equals_uninterrupted(tmp_path):
    """The likelihood trainers' skeleton (common.TrainingRun) survives a real kill -9 as DCGAN's loop does."""
    cfg = dict(TINY_TRAIN, model="vae", image_size=8, save_every=3, max_steps=40)
    run_dir = tmp_path / "killed"
    step = kill_9_mid_run("train.vae", [f"--{k}={v}" for k, v in cfg.items()], run_dir, after_step=6)
    assert 6 <= step < 40, "the run should have been killed part-way"
    resumed = trainer.main(trainer.Config(out_dir=str(run_dir), resume=True, **cfg))
    straight = trainer.main(trainer.Config(out_dir=str(tmp_path / "straight"), **cfg))
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_crash_mid_export_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    import safetensors.torch

    from train import common as train_common

    old = VAE(**TINY).eval()
    train_common.save_export(old, tmp_path / "ckpt")

    def crash(tensors, filename, *args, **kwargs):  # a process killed while writing the weights
        Path(filename).write_bytes(b"\x00" * 10)
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        train_common.save_export(VAE(**TINY), tmp_path / "ckpt")
    monkeypatch.undo()
    loaded = load_pretrained(VAE, str(tmp_path / "ckpt"), device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(old.state_dict().values(), loaded.state_dict().values()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporary folder left behind


def test_config_and_checkpoint_names():
    with pytest.raises(SystemExit, match="--model must be one of vae, ae"):
        trainer.Config(model="vqvae")
    assert trainer.checkpoint_name("vae", 2) == "vae2d-mnist" and trainer.checkpoint_name("vae", 32) == "vae-mnist"
    assert trainer.checkpoint_name("ae", 32) == "ae-mnist"
    assert trainer.Config(model="vae", latent_dim=2).out_dir == "runs/vae2d-mnist"


def test_evaluation_states_the_protocol(monkeypatch):
    """The card's numbers on a tiny 28-px VAE and AE, the kit stubbed (its own tests cover it)."""
    import train.evaluate

    kit = {"protocol": "kit protocol", "values": {"FD": 1.0}, "floor": {"FD": 0.1}}
    monkeypatch.setattr(train.evaluate, "evaluate_generator", lambda model, dataset: kit)
    cfg = trainer.Config(model="vae", latent_dim=4, hidden_channels=4, hidden_features=16, iwae_k=10, iwae_images=20)
    metrics = trainer.evaluate(cfg, VAE(4, 4, 16, 28).eval(), "cpu")
    v = metrics["values"]
    assert metrics["protocol"].startswith("kit protocol; NLL: " + data.BINARIZATION_PROTOCOL)
    assert "k = 10" in metrics["protocol"] and v["iwae_images"] == 20 and v["FD"] == 1.0
    assert 0 < v["nll_nats"] and v["kl_nats"] >= 0 and v["bits_per_dim"] == pytest.approx(
        v["nll_nats"] / (784 * math.log(2)))
    ae = trainer.evaluate(trainer.Config(model="ae"), Autoencoder(4, 4, 16, 28).eval(), "cpu")
    assert "nll_nats" not in ae["values"] and ae["values"]["reconstruction_nats"] > 0
    assert data.BINARIZATION_PROTOCOL in ae["protocol"]


# ---------------------------------------------------------------------------------------------- the tab, tiny models
@pytest.fixture
def tab(monkeypatch):
    from demos import vae as tab

    torch.manual_seed(0)
    models = {"vae-mnist": VAE(4, 4, 16, 28).eval(), "vae2d-mnist": VAE(2, 4, 16, 28).eval(),
              "ae-mnist": Autoencoder(4, 4, 16, 28).eval()}
    monkeypatch.setattr(tab, "available", lambda: tuple(models))
    monkeypatch.setattr(tab, "load", lambda name: models[name])
    tab.code_statistics.cache_clear()
    yield tab
    tab.code_statistics.cache_clear()


def drawing() -> Image.Image:
    """A dark '1' on white paper, 100x120, RGB: the tab must invert, crop, scale and centre it."""
    im = Image.new("RGB", (100, 120), "white")
    ImageDraw.Draw(im).line([(50, 10), (50, 110)], fill="black", width=10)
    return im


def test_tab_sample_puts_the_ae_beside_the_vae(tab):
    vae_grid, ae_grid, fitted, note = tab.sample("vae-mnist", 3, 16)
    assert vae_grid.size == ae_grid.size == fitted.size and "Autoencoder: the same z" in note
    assert tab.sample("vae-mnist", 3, 16)[0].tobytes() == vae_grid.tobytes()
    assert tab.sample("vae-mnist", 4, 16)[0].tobytes() != vae_grid.tobytes()
    assert tab.sample("vae2d-mnist", 3, 2)[0].size[0] < vae_grid.size[0]


def test_tab_reconstructs_drawings_and_uploads_of_any_size_and_mode(tab):
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line([(140, 40), (140, 240)], fill=(0, 0, 0, 255), width=20)  # dark strokes, clear canvas
    strip, text = tab.reconstruct({"composite": canvas})
    cell = 28 + 2
    assert strip.size == ((4 * cell + 2) * 8, (cell + 2) * 8)
    assert "IWAE, k = 1000" in text and "binarized at intensity > 0.5" in text and "AE: reconstruction" in text
    for im in (drawing(), drawing().convert("L"), drawing().convert("RGBA"), drawing().resize((31, 900))):
        x = tab.common.digit_from_image(im)
        assert x.shape == (1, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
        assert x[0, 0, 0, 0] == 0 and x[0, 0, 14, 13:15].max() > 0.5  # black paper, light ink in the middle


def test_tab_interpolation_ends_at_the_two_codes(tab):
    strip, animation, note = tab.interpolate(3, 2, 5)
    assert strip.size == ((5 * 30 + 2) * 2, (2 * 30 + 2) * 2) and animation.endswith(".gif")
    assert note.startswith("Rows, top to bottom: VAE, 32-d latent; Autoencoder")
    vae = tab.load("vae-mnist")
    a = tab.test_digit(3)
    with torch.inference_mode():
        start = vae(vae.encode(a)[0])
    first = torch.tensor(__import__("numpy").asarray(strip))[4:60, 4:60].float()  # cell 0 of row 0, 2x scale
    assert torch.allclose(first[::2, ::2] / 127.5 - 1, start[0, 0], atol=0.01)


def test_tab_manifold_and_scatter(tab):
    picture, scatter = tab.manifold(4)
    assert picture.size == (4 * 28 * 8, 4 * 28 * 8) and isinstance(scatter, Image.Image)
    assert tab.manifold(20)[0].size == (20 * 28 * 2, 20 * 28 * 2)


def test_tab_traversal_sliders(tab):
    still, table, text = tab.traverse("vae-mnist", 5, *[0] * tab.NUM_SLIDERS)
    vae = tab.load("vae-mnist")
    with torch.inference_mode():
        expected = tab.common.to_pil(vae(tab.common.latents(5, 1, 4))[0], scale=8)
    assert still.tobytes() == expected.tobytes()  # zero offsets = sample 0 of the seed
    moved = tab.traverse("vae-mnist", 5, 3, *[0] * (tab.NUM_SLIDERS - 1))[0]
    assert moved.tobytes() != still.tobytes()  # slider 1 moves the most active dimension
    dims = tab.slider_dimensions("vae-mnist")
    assert sorted(dims) == [0, 1, 2, 3] and table.size[1] == (4 * 30 + 2) * 2
    assert "sliders 5…8 unused" in text
    assert "sliders 3…8 unused: 2-d latent" in tab.traverse("vae2d-mnist", 0, *[0] * tab.NUM_SLIDERS)[2]


@pytest.mark.parametrize("call, message", [
    (lambda t: t.sample("ae-mnist", 0, 4), "Model must be one of vae-mnist, vae2d-mnist"),
    (lambda t: t.sample("vae-mnist", 0, 65), "Number of samples must be a whole number between 1 and 64"),
    (lambda t: t.sample("vae-mnist", -1, 4), "Seed must be a whole number"),
    (lambda t: t.reconstruct(None), "Draw a digit or upload an image"),
    (lambda t: t.reconstruct(Image.new("L", (64, 64))), "The image is blank"),
    (lambda t: t.reconstruct(Image.new("L", (5000, 4000))), "Image too large"),
    (lambda t: t.interpolate(0, 10_000, 5), "Test digit index must be a whole number between 0 and 9999"),
    (lambda t: t.interpolate(0, 1, 1), "Steps must be a whole number between 2 and 32"),
    (lambda t: t.manifold(21), "Grid size must be a whole number between 2 and 20"),
    (lambda t: t.traverse("vae-mnist", 0, 3.5), "Slider 1 must be a number between -3.0 and 3.0"),
    (lambda t: t.traverse("vae-mnist", 0, "left"), "Slider 1 must be a number"),
    (lambda t: t.traverse("vae-mnist", 0, *[0] * 9), "At most 8 slider values"),
])
def test_tab_rejects_bad_input_clearly(tab, call, message):
    import gradio as gr

    with pytest.raises(gr.Error, match=message):
        call(tab)


def test_missing_checkpoints_name_the_train_command(monkeypatch):
    import gradio as gr

    from demos import vae as tab

    monkeypatch.setattr(tab, "available", lambda: ())
    with pytest.raises(gr.Error, match="python -m train.vae --model=vae --latent_dim=2"):
        tab.manifold(5)
    with pytest.raises(gr.Error, match="python -m train.vae --model=vae "):
        tab.sample("vae-mnist", 0, 4)
    assert "python -m train.vae --model=ae" in tab.missing_message()
    assert "not bundled yet" in tab.metrics_line("vae-mnist")
    assert tab.samplers() == {}
    with gr.Blocks():
        tab.build()  # the tab still builds


# ------------------------------------------------------------------------------------------------ bundled checkpoints
@pytest.mark.parametrize("name", ["vae-mnist", "vae2d-mnist", "ae-mnist"])
def test_bundled_checkpoint_loads_offline_and_matches_its_card(name):
    """VAEs: the IWAE estimate over the first SUBSET test digits (k = SUBSET_K, fixed seed), recomputed from the
    bundled weights, is the card's within 0.05 nats. AE: its test reconstruction loss within 0.01 nats."""
    folder = CHECKPOINTS / name
    if not (folder / "model.safetensors").exists() or not (folder / "metrics.json").exists():
        pytest.skip(f"{name} not bundled yet")
    from demos.vae import MODELS

    net = load_pretrained(MODELS[name][1], name, device="cpu")
    metrics = json.loads((folder / "metrics.json").read_text())
    images, _ = data.binarized_mnist_test(28)
    assert data.BINARIZATION_PROTOCOL in metrics["protocol"]
    if isinstance(net, VAE):
        key = f"nll_nats_first_{trainer.SUBSET}_k{trainer.SUBSET_K}"
        assert abs(trainer.subset_nll(net, images) - metrics["values"][key]) < 0.05
        assert metrics["values"]["neg_elbo_nats"] >= metrics["values"]["nll_nats"] > 0
    else:
        with torch.inference_mode():
            rec = torch.cat([net.reconstruction_nll(images[i:i + 1000]) for i in range(0, len(images), 1000)])
        assert abs(rec.double().mean().item() - metrics["values"]["reconstruction_nats"]) < 0.01
