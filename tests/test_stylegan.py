"""Progressive and style-based GANs (models/stylegan.py, train/stylegan.py): tiny configs only."""

import json
import math

import pytest
import torch
from torch.nn import functional as F

from models import stylegan as S
from train import common, data
from train import stylegan as trainer

WIDTHS = (16, 16, 8)  # 4, 8, 16 px


def tiny_style(cls=S.StyleGAN2, **kwargs):
    torch.manual_seed(0)
    return cls(latent_dim=16, w_dim=16, mapping_layers=2, channels=WIDTHS, **kwargs)


def test_demodulated_weights_have_unit_norm_per_output_channel():
    weight, styles = torch.randn(6, 4, 3, 3), torch.randn(5, 4) * 3
    norms = S.modulate(weight, styles).pow(2).sum((2, 3, 4)).sqrt()
    assert norms.shape == (5, 6) and torch.allclose(norms, torch.ones(5, 6), atol=1e-5)
    assert not torch.allclose(S.modulate(weight, styles, demodulate=False).pow(2).sum((2, 3, 4)), torch.ones(5, 6))


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_equals_a_convolution_with_the_modulated_weights(demodulate):
    torch.manual_seed(0)
    conv = S.ModulatedConv2d(4, 6, 3, w_dim=8, demodulate=demodulate)
    x, w = torch.randn(3, 4, 8, 8), torch.randn(3, 8)
    weights = S.modulate(conv.weight * conv.weight_gain, conv.affine(w), demodulate)
    expected = torch.stack([F.conv2d(x[i:i + 1], weights[i], padding=1)[0] for i in range(3)])
    assert torch.allclose(conv(x, w), expected, atol=1e-5)


@pytest.mark.parametrize("cls", [S.StyleGAN, S.StyleGAN2])
def test_style_mixing_with_the_same_w_equals_no_mixing(cls):
    G = tiny_style(cls).eval()
    with torch.no_grad():
        ws = G.broadcast(G.map(torch.randn(3, 16)))
        other = G.broadcast(G.map(torch.randn(3, 16)))
        plain = G.synthesis(ws, noise_mode="const")
        assert torch.allclose(G.synthesis(S.style_mix(ws, ws, 2, 4), noise_mode="const"), plain)
        assert not torch.allclose(G.synthesis(S.style_mix(ws, other, 2, 4), noise_mode="const"), plain)
        # the same call through forward: mix_z = z is no mixing
        z = torch.randn(3, 16)
        assert torch.allclose(G(z, noise_mode="const", mix_z=z, cutoff=1), G(z, noise_mode="const"))


@pytest.mark.parametrize("cls", [S.StyleGAN, S.StyleGAN2])
def test_truncation_psi_zero_maps_every_z_to_w_avg(cls):
    G = tiny_style(cls)
    G.w_avg.normal_()
    w = G.map(torch.randn(5, 16), psi=0.0)
    assert torch.allclose(w, G.w_avg.expand(5, -1))
    half = G.map(z := torch.randn(5, 16), psi=0.5)
    assert torch.allclose(half, G.w_avg + 0.5 * (G.map(z) - G.w_avg), atol=1e-6)


@pytest.mark.parametrize("cls", [S.StyleGAN, S.StyleGAN2])
def test_noise_modes(cls):
    G = tiny_style(cls).eval()
    for layer in G.modules():
        if isinstance(layer, S.NoiseInjection):
            layer.weight.data.fill_(0.5)  # untrained scales are 0: noise would have no effect
    z = torch.randn(2, 16)
    with torch.no_grad():
        a = G(z, noise_mode="random", generator=torch.Generator().manual_seed(1))
        b = G(z, noise_mode="random", generator=torch.Generator().manual_seed(1))
        c = G(z, noise_mode="random", generator=torch.Generator().manual_seed(2))
        assert torch.equal(a, b) and not torch.allclose(a, c)
        assert torch.equal(G(z, noise_mode="const"), G(z, noise_mode="const"))
        assert not torch.allclose(G(z, noise_mode="none"), a)


def test_progan_fade_in_at_alpha_zero_equals_the_lower_resolution_upsampled():
    torch.manual_seed(0)
    G = S.ProGANGenerator(16, WIDTHS)
    z = torch.randn(3, 16)
    with torch.no_grad():
        low = G(z, stage=1)
        assert low.shape == (3, 3, 8, 8)
        assert torch.allclose(G(z, alpha=0.0, stage=2), F.interpolate(low, scale_factor=2, mode="nearest"), atol=1e-6)
        assert not torch.allclose(G(z, alpha=0.5, stage=2), G(z, alpha=0.0, stage=2))
    D = S.ProGANDiscriminator(WIDTHS)
    for size in (4, 8, 16):
        assert D(torch.randn(4, 3, size, size), alpha=0.5).shape == (4,)


def test_progan_schedule_and_real_fade():
    cfg = trainer.Config(model="progan", channels="16,16,8", image_size=16, phase_kimg=10)
    assert cfg.kimg == 50  # 5 phases: 4 px, (fade, stable) x 2
    assert trainer.progan_phase(cfg, 5) == (0, 1.0)
    assert trainer.progan_phase(cfg, 15) == (1, 0.5)
    assert trainer.progan_phase(cfg, 25) == (1, 1.0)
    assert trainer.progan_phase(cfg, 35) == (2, 0.5) and trainer.progan_phase(cfg, 49) == (2, 1.0)
    x = torch.randn(2, 3, 16, 16)
    assert torch.allclose(trainer.shrink(x, 2, 0.0), F.interpolate(F.avg_pool2d(x, 2), scale_factor=2))
    assert torch.allclose(trainer.shrink(x, 2, 1.0), x)


def test_ada_p_rises_when_d_overfits_and_falls_back():
    ada = S.AdaptiveAugment(target=0.6, ada_kimg=1, interval=4)
    for _ in range(40):   # D sure that every real image is real: sign = +1 > 0.6
        ada.observe(torch.ones(32))
    high = ada.p
    assert high > 0.5 and ada.r_t == 1.0
    for _ in range(40):   # D unsure: half the reals called fake, r_t = 0 < 0.6
        ada.observe(torch.tensor([1.0, -1.0] * 16))
    assert ada.p < high
    restored = S.AdaptiveAugment()
    restored.load_state_dict(ada.state_dict())
    assert restored.p == ada.p


def test_ada_augment_identity_at_p_zero_and_differentiable():
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    assert S.ada_augment(x, 0.0) is x
    x.requires_grad_(True)
    y = S.ada_augment(x, 1.0, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and not torch.allclose(y, x)
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    grey = S.ada_augment(torch.zeros(4, 1, 16, 16), 1.0, torch.Generator().manual_seed(0))
    assert grey.shape == (4, 1, 16, 16)


def test_equalised_learning_rate_scales_weights_at_run_time():
    torch.manual_seed(0)
    layer = S.EqualLinear(400, 300)
    assert abs(layer.weight.std().item() - 1) < 0.05  # stored N(0, 1): Adam sees every layer alike
    assert layer.weight_gain == pytest.approx(1 / math.sqrt(400))
    x = torch.randn(2000, 400)
    assert abs(layer(x).std().item() - 1) < 0.05      # He's constant keeps unit variance
    conv = S.EqualConv2d(8, 4, 3)
    assert conv.weight_gain == pytest.approx(1 / math.sqrt(8 * 9))
    slow = S.EqualLinear(10, 10, lr_multiplier=0.01)
    assert slow.weight.std() > 10  # stored 100x larger, used 100x smaller: gradient steps act 100x slower


def test_fir_resampling_keeps_constants_and_shapes():
    x = torch.ones(1, 2, 8, 8)
    up, down = S.upsample2d(x), S.downsample2d(x)
    assert up.shape == (1, 2, 16, 16) and down.shape == (1, 2, 4, 4)
    assert torch.allclose(up[..., 2:-2, 2:-2], torch.ones_like(up[..., 2:-2, 2:-2]))
    assert torch.allclose(down[..., 1:-1, 1:-1], torch.ones_like(down[..., 1:-1, 1:-1]))


def test_minibatch_stddev_sees_a_collapsed_batch():
    mbstd = S.MinibatchStdDev(4)
    same = torch.randn(1, 3, 4, 4).repeat(8, 1, 1, 1)
    assert mbstd(same)[:, -1].abs().max() < 1e-3 and mbstd(torch.randn(8, 3, 4, 4))[:, -1].mean() > 0.5


def test_path_length_penalty():
    G = tiny_style()
    images, ws = G(torch.randn(4, 16), return_ws=True)
    penalty, mean = S.path_length_penalty(ws, images, torch.zeros(()), generator=torch.Generator().manual_seed(0))
    assert penalty.item() >= 0 and mean.item() > 0
    penalty.backward()
    assert G.mapping.net[0].weight.grad is not None


def test_discriminators_shapes():
    for D in (S.ResidualDiscriminator(WIDTHS), S.ProGANDiscriminator(WIDTHS)):
        assert D(torch.randn(4, 3, 16, 16)).shape == (4,)


@pytest.mark.parametrize("cls", [S.StyleGAN, S.StyleGAN2, S.ProGAN])
def test_save_and_load(tmp_path, cls):
    torch.manual_seed(0)
    model = cls(latent_dim=16, channels=WIDTHS) if cls is S.ProGAN else tiny_style(cls)
    common.save_export(model, tmp_path)
    loaded = cls.from_pretrained(tmp_path)
    z = torch.randn(2, 16)
    kwargs = {} if cls is S.ProGAN else {"noise_mode": "const"}
    with torch.no_grad():
        assert torch.equal(model.eval()(z, **kwargs), loaded.eval()(z, **kwargs))


@pytest.mark.parametrize("model,ada", [("progan", False), ("stylegan", False), ("stylegan2", False), ("stylegan2", True)])
def test_two_training_steps(tmp_path, model, ada):
    cfg = trainer.Config(model=model, ada=ada, max_steps=2, fake_data=True, channels="16,16,8", image_size=16,
                         latent_dim=16, w_dim=16, batch_size=8, kimg=1, phase_kimg=1, pl_every=1, r1_every=1,
                         save_every=1, replay_frames=2, out_dir=str(tmp_path / "run"), device="cpu")
    G = trainer.main(cfg)
    assert G(torch.randn(2, 16)).shape == (2, 3, 16 if model != "progan" else 16, 16)
    assert (tmp_path / "run" / "resume.pt").exists() and (tmp_path / "run" / "checkpoint" / "README.md").exists()
    if model == "progan":
        assert isinstance(G, S.ProGAN) and len(G.stages) == 3
    last = json.loads((tmp_path / "run" / "checkpoint" / "training.json").read_text())["history"][-1]
    assert ("r_t" in last) == (model != "progan") and ("p" in last) == ada  # r_t: D's overfitting, ADA or not


def test_resume_is_bit_identical(tmp_path):
    base = dict(model="stylegan2", ada=True, fake_data=True, channels="8,8", image_size=8, latent_dim=8, w_dim=8,
                batch_size=4, kimg=1, pl_every=2, r1_every=2, save_every=2, replay_frames=1, device="cpu",
                evaluate=False)
    straight = trainer.main(trainer.Config(**base, max_steps=4, out_dir=str(tmp_path / "a")))
    trainer.main(trainer.Config(**base, max_steps=2, out_dir=str(tmp_path / "b")))
    resumed = trainer.main(trainer.Config(**base, max_steps=4, resume=True, out_dir=str(tmp_path / "b")))
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_styled_fashion_is_deterministic_and_rgb():
    try:
        x, y = data.styled_fashion("test")
    except data.DatasetMissing:
        pytest.skip("dataset-fashion-mnist not installed")
    assert x.shape == (10_000, 3, 32, 32) and x.min() >= -1 and x.max() <= 1 and y.max() == 9
    g = torch.Generator().manual_seed(data.STYLE_SEED["test"])
    items, _ = data.fashion_mnist("test", 32)
    again = data.render_styled(items[:8], {k: v[:8] for k, v in data.draw_styles(10_000, g).items()})
    assert torch.allclose(again, x[:8], atol=1e-6)
    assert len(data.styled_checksum(4)) == 64


# ------------------------------------------------------------------------------------------------------- the tab
@pytest.fixture
def tab(monkeypatch):
    """demos.stylegan with tiny untrained models in place of the checkpoints."""
    from demos import stylegan as tab

    torch.manual_seed(0)
    models = {"stylegan": tiny_style(S.StyleGAN).eval(), "stylegan2": tiny_style(S.StyleGAN2).eval(),
              "progan": S.ProGAN(16, WIDTHS).eval()}
    for G in models.values():  # 16 px: layer ranges of 6 ws
        G.requires_grad_(False)
    monkeypatch.setattr(tab, "available", lambda: tuple(models))
    monkeypatch.setattr(tab, "model", models.__getitem__)
    return tab


def test_tab_mixing_grid_has_headers_and_cells(tab):
    grid = tab.mixing_grid("stylegan2", "1, 2", "3, 4, 5", "coarse", 1.0)
    width, height = grid.size
    assert abs(width / height - 4 / 3) < 0.05  # 4 columns (header + 3 B's), 3 rows (header + 2 A's)


def test_tab_layer_ranges_split_every_w(tab):
    num_ws = 8
    ranges = [tab.layer_range(num_ws, name) for name in tab.LAYER_RANGES]
    assert ranges == [(0, 4), (4, 6), (6, None)]


def test_tab_rejects_bad_input(tab):
    import gradio as gr

    with pytest.raises(gr.Error, match="1 to 6 comma-separated seeds"):
        tab.mixing_grid("stylegan2", ",".join(["1"] * 7), "2", "fine", 1.0)
    with pytest.raises(gr.Error, match="whole numbers"):
        tab.truncation_grid("stylegan", "a, b")
    with pytest.raises(gr.Error, match="Model must be one of"):
        tab.mixing_grid("biggan", "1", "2", "fine", 1.0)
    with pytest.raises(gr.Error, match="Layers must be one of"):
        tab.mixing_grid("stylegan", "1", "2", "everything", 1.0)
    with pytest.raises(gr.Error, match="Resolution must be 8, 16 or 32"):
        tab.droplets("1", 12)


def test_tab_stochastic_variation_and_droplets(tab):
    for layer in tab.model("stylegan2").modules():
        if isinstance(layer, S.NoiseInjection):
            layer.weight.data.fill_(0.5)
    image, report = tab.stochastic_variation("stylegan2", 3, 4)
    assert image.size[0] > 0 and "mean per-pixel std over 4 resamplings" in report and "0.0000" not in report
    gallery, text = tab.droplets("1, 2", 16)
    assert len(gallery) == 2 and "StyleGAN (AdaIN): peak/mean" in text and "StyleGAN2" in text


def test_tab_progan_growth_and_samplers(tab):
    low, high = tab.progan_growth(0, 0, 1.0), tab.progan_growth(0, 2, 0.5)
    assert low.size == high.size  # every stage shown at the final size
    samplers = tab.samplers()
    assert set(samplers) == {tab.CHECKPOINTS[k][0] for k in tab.available()}
    assert samplers["stylegan2-fashion-styles"].sample(1, 3).shape == (3, 3, 16, 16)


def test_tab_biggan(tab, monkeypatch, tmp_path):
    import json

    import gradio as gr

    from models.biggan import BigGAN

    torch.manual_seed(0)
    G = BigGAN(latent_dim=12, num_classes=10, shared_dim=8, channels=(16, 16, 8), attention_resolution=8).eval()
    models = {k: tab.model(k) for k in tab.available()} | {"biggan": G}
    monkeypatch.setattr(tab, "available", lambda: tuple(models))
    monkeypatch.setattr(tab, "model", models.__getitem__)
    assert tab.biggan_class("Bag", 0, 0.5).size[0] > 0
    grid = tab.biggan_interpolate("Sneaker", "Bag", 0, 1, 1.0)
    assert 3.5 < grid.size[0] / grid.size[1] < 4.1  # 8 columns, 2 rows
    with torch.no_grad():  # a blend at t = 0 is class A itself
        z = torch.randn(1, 12)
        assert torch.allclose(G(z, class_embedding=G.shared.weight[8:9]), G(z, torch.tensor([8])))
    with pytest.raises(gr.Error, match="Class must be one of"):
        tab.biggan_class("Hat", 0, 1.0)
    with pytest.raises(gr.Error, match="Truncation threshold"):
        tab.biggan_class("Bag", 0, 0.0)
    (tmp_path / "metrics.json").write_text(json.dumps({"truncation_curve": [
        {"threshold": t_, "FD": 1.0, "precision": 0.5, "recall": 0.5, "class_accuracy": 0.9} for t_ in (0.5, None)]}))
    monkeypatch.setattr("models.hub.checkpoint_folder", lambda name, family=None: tmp_path)
    assert tab.truncation_plot().endswith(".png")
    assert tab.samplers()["biggan-fashion-styles"].unconditional is False


def test_tab_ada_pair(tab, monkeypatch, tmp_path):
    import gradio as gr

    with pytest.raises(gr.Error, match="No StyleGAN2-ADA pair is bundled yet"):
        tab.ada_comparison(0)
    models = {k: tab.model(k) for k in tab.available()} | {"ada": tiny_style(S.StyleGAN2).eval()}
    monkeypatch.setattr(tab, "available", lambda: tuple(models))
    monkeypatch.setattr(tab, "model", models.__getitem__)
    (tmp_path / "metrics.json").write_text(json.dumps({"values": {"FD": 12.34, "KIDx1000": 56.0, "precision": 0.5,
                                                                  "recall": 0.25}}))
    (tmp_path / "training.json").write_text(json.dumps({"history": [
        {"kimg": k, "r_t": 0.5 + k / 10, "p": k / 100} for k in range(5)]}))
    monkeypatch.setattr("models.hub.checkpoint_folder", lambda name, family=None: tmp_path)
    gallery, table, plot = tab.ada_comparison(3)
    assert [title for _, title in gallery] == ["StyleGAN2-ADA, 2k images"]
    assert "| StyleGAN2-ADA, 2k images | 12.3 | 56 | 0.500 | 0.250 |" in table
    assert "StyleGAN2 (demodulation)" in table  # the full-data model for scale
    assert plot.endswith(".png")
    with pytest.raises(gr.Error, match="Seed must be a whole number"):
        tab.ada_comparison(-1)
