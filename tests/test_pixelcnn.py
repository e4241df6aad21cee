import json
import math

import pytest
import torch
from PIL import Image

from demos import pixelcnn as tab
from models import pixelcnn as P
from models.hub import CHECKPOINTS, load_pretrained
from train import pixelcnn as trainer

S = 8  # tiny images: every property below is structural, not a matter of size
TINY = {
    "pixelcnn": lambda: P.PixelCNN(hidden_channels=4, num_layers=2, output_channels=8, image_size=S),
    "gated": lambda: P.GatedPixelCNN(hidden_channels=4, num_layers=5, kernel_size=3, first_kernel_size=7,
                                     output_channels=8, num_classes=3, image_size=S),
    "pixelcnnpp": lambda: P.PixelCNNpp(hidden_channels=4, num_resnets=1, num_mixtures=2, image_size=S),
}
TINY_TRAIN = dict(fake_data=True, hidden_channels=4, num_layers=2, output_channels=8, num_mixtures=2, batch_size=8,
                  image_size=S, replay_frames=1, save_every=2, evaluate=False, device="cpu")


def build(kind: str, dtype=torch.float32):
    torch.manual_seed(0)
    return TINY[kind]().to(dtype).eval()


def inputs(kind: str, n: int = 3, dtype=torch.float32, seed: int = 0):
    """A batch in the model's space ({0, 1}, or the 8-bit grid in [-1, 1]) and labels for the conditional model."""
    g = torch.Generator().manual_seed(seed)
    if kind == "pixelcnnpp":
        x = torch.randint(0, 256, (n, 1, S, S), generator=g).to(dtype) / 127.5 - 1
    else:
        x = torch.randint(0, 2, (n, 1, S, S), generator=g).to(dtype)
    return x, (torch.randint(0, 3, (n,), generator=g) if kind == "gated" else None)


def forward(model, x, labels):
    return model(x) if labels is None else model(x, labels)


# ------------------------------------------------------------------------------------------------ shapes, masks
@pytest.mark.parametrize("kind, channels", [("pixelcnn", 1), ("gated", 1), ("pixelcnnpp", 6)])
def test_forward_shapes_and_nll(kind, channels):
    model = build(kind)
    x, labels = inputs(kind)
    out = forward(model, x, labels)
    assert out.shape == (3, channels, S, S) and torch.isfinite(out).all()
    nll_map = model.nll_map(x, labels) if labels is not None else model.nll_map(x)
    nll = model.nll(x, labels) if labels is not None else model.nll(x)
    assert nll_map.shape == (3, 1, S, S) and (nll_map >= 0).all()
    assert torch.allclose(nll, nll_map.flatten(1).sum(1)) and model.image_size == S


def test_mask_a_and_b():
    a, b = P.causal_mask(3, "A"), P.causal_mask(3, "B")
    assert a.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]] and b.tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError):
        P.causal_mask(3, "C")


def receptive_field(model, labels, r: int, c: int, dtype=torch.float64) -> torch.Tensor:
    """(S, S) bool: the input pixels with a non-zero gradient of the output(s) at (r, c), summed over a batch."""
    x, _ = inputs("pixelcnnpp" if model.likelihood != "bernoulli" else "pixelcnn", 4, dtype, seed=r * S + c)
    x = (x + 0.1 * torch.rand(x.shape, generator=torch.Generator().manual_seed(1), dtype=dtype)).requires_grad_()
    out = forward(model, x, labels)
    grad, = torch.autograd.grad(out[:, :, r, c].sum(), x)
    return grad.abs().sum((0, 1)) != 0


@pytest.mark.parametrize("kind", ["pixelcnn", "gated", "pixelcnnpp"])
def test_outputs_never_see_their_own_or_later_pixels(kind):
    """The exact-likelihood property: d output(r, c) / d x(r', c') == 0 exactly for every (r', c') >= (r, c)."""
    model = build(kind, torch.float64)
    labels = torch.arange(4) % 3 if kind == "gated" else None
    order = torch.arange(S * S).view(S, S)
    for r in range(S):
        for c in range(S):
            seen = receptive_field(model, labels, r, c)
            assert not seen[order >= r * S + c].any(), f"{kind}: output ({r}, {c}) sees itself or a later pixel"


def test_gated_pixelcnn_has_no_blind_spot_and_pixelcnn_has_one():
    """Gated (5 layers on 8x8): every earlier pixel reaches every output. A PixelCNN, however deep, never sees the
    pixel one row up and four columns right: the stacked masked kernels' blind spot the gated stacks remove."""
    gated = build("gated", torch.float64)
    order = torch.arange(S * S).view(S, S)
    for r in range(S):
        for c in range(S):
            seen = receptive_field(gated, torch.arange(4) % 3, r, c)
            assert seen[order < r * S + c].all(), f"gated: output ({r}, {c}) misses an earlier pixel"
    torch.manual_seed(0)
    deep = P.PixelCNN(hidden_channels=4, num_layers=8, output_channels=8, image_size=S).double()
    seen = receptive_field(deep, None, 6, 1)
    assert not seen[5, 5], "PixelCNN: (5, 5) should be in the blind spot of (6, 1)"
    assert seen[5, 4] and seen[4, 5] and seen[6, 0], "PixelCNN: the pixels around the blind spot are seen"


# ------------------------------------------------------------------------------------------------ likelihoods
def test_discretized_logistic_mixture_sums_to_one_over_256_values():
    torch.manual_seed(0)
    levels = torch.arange(256, dtype=torch.float64) / 127.5 - 1  # (256,)
    for scale in (-6.0, -3.0, 0.0, 1.0):  # sharp to flat logistics
        params = torch.randn(1, 9, 2, 3, dtype=torch.float64)
        params[:, 6:] = scale + 0.5 * params[:, 6:]  # log scales
        x = levels.view(256, 1, 1, 1).expand(256, 1, 2, 3)
        log_p = P.discretized_logistic_mixture_log_prob(x, params.expand(256, -1, -1, -1))
        assert torch.allclose(log_p.exp().sum(0), torch.ones(1, 2, 3, dtype=torch.float64), atol=1e-6)


def test_discretized_logistic_edges_and_underflow():
    mu, log_s = 0.3, -1.0
    params = torch.tensor([0.0, mu, log_s], dtype=torch.float64).view(1, 3, 1, 1)
    s = math.exp(log_s)
    sigmoid = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    at_0 = P.discretized_logistic_mixture_log_prob(torch.full((1, 1, 1, 1), -1.0, dtype=torch.float64), params)
    at_255 = P.discretized_logistic_mixture_log_prob(torch.full((1, 1, 1, 1), 1.0, dtype=torch.float64), params)
    assert math.isclose(at_0.item(), math.log(sigmoid((-1 + 1 / 255 - mu) / s)), rel_tol=1e-9)  # all mass below
    assert math.isclose(at_255.item(), math.log(1 - sigmoid((1 - 1 / 255 - mu) / s)), rel_tol=1e-9)  # all above
    sharp = torch.tensor([0.0, -0.9, -7.0]).view(1, 3, 1, 1)  # a bin far from a very sharp logistic
    far = P.discretized_logistic_mixture_log_prob(torch.full((1, 1, 1, 1), 0.5), sharp)
    assert torch.isfinite(far).all() and far.item() < -100


def test_gated_marginal_nll_is_bounded_by_the_class_nlls():
    """-log (1/K) sum_y p(x|y) lies between min_y -log p(x|y) and that plus log K."""
    model = build("gated")
    x, _ = inputs("gated")
    per_class = model.class_nll(x)
    marginal = model.nll(x)
    best = per_class.min(1).values
    assert (marginal >= best - 1e-4).all() and (marginal <= best + math.log(3) + 1e-4).all()
    with pytest.raises(ValueError, match="class-conditional"):
        model(x)


# ------------------------------------------------------------------------------------------------ persistence
@pytest.mark.parametrize("kind", ["pixelcnn", "gated", "pixelcnnpp"])
def test_save_load_round_trip(tmp_path, kind):
    model = build(kind)
    model.save_pretrained(tmp_path / kind)
    assert {"config.json", "model.safetensors"} <= {p.name for p in (tmp_path / kind).iterdir()}
    loaded = load_pretrained(type(model), str(tmp_path / kind), device="cpu")
    x, labels = inputs(kind)
    assert torch.equal(forward(model, x, labels), forward(loaded, x, labels))
    assert "mask" not in " ".join(loaded.state_dict())  # masks are config, not weights


# ------------------------------------------------------------------------------------------------ sampling
def naive_sample(model, n, generator, temperature=1.0, labels=None):
    """The definition: one full forward pass per pixel, same uniforms as models.pixelcnn.sample."""
    s = model.image_size
    uniforms = torch.rand(n, 2, s, s, generator=generator).double()
    draw = P.draw_logistic_mixture if model.likelihood == "logistic_mixture" else P.draw_bernoulli
    x = torch.zeros(n, 1, s, s, dtype=torch.float64)
    with torch.no_grad():
        for r in range(s):
            for c in range(s):
                x[:, 0, r, c] = draw(forward(model, x, labels)[:, :, r, c], uniforms[:, :, r, c], temperature)
    return x


@pytest.mark.parametrize("kind", ["pixelcnn", "gated", "pixelcnnpp"])
def test_cached_sampler_equals_naive_full_recompute(kind):
    model = build(kind, torch.float64)
    labels = torch.tensor([0, 1, 2]) if kind == "gated" else None
    fast = P.sample(model, 3, torch.Generator().manual_seed(5), 0.9, labels)
    slow = naive_sample(model, 3, torch.Generator().manual_seed(5), 0.9, labels)
    assert torch.equal(fast, slow)


@pytest.mark.parametrize("kind", ["pixelcnn", "gated"])
def test_raster_cache_reproduces_forward_at_every_pixel(kind):
    """On a fixed image (not a sample), the cache's per-pixel outputs are forward()'s, pixel for pixel."""
    model = build(kind, torch.float64)
    x, labels = inputs(kind, dtype=torch.float64)
    full = forward(model, x, labels)
    cache = model.raster_cache(3, labels)
    with torch.inference_mode():
        steps = torch.stack([torch.stack([cache.step(x, r, c) for c in range(S)], -1) for r in range(S)], -2)
    assert torch.allclose(steps, full, atol=1e-10)


@pytest.mark.parametrize("kind", ["pixelcnn", "pixelcnnpp"])
def test_seeded_sampling_is_deterministic_and_valid(kind):
    model = build(kind)
    a = P.sample(model, 2, torch.Generator().manual_seed(3))
    b = P.sample(model, 2, torch.Generator().manual_seed(3))
    c = P.sample(model, 2, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    levels = torch.arange(256) / 127.5 - 1 if kind == "pixelcnnpp" else torch.tensor([0.0, 1.0])
    assert torch.isin(a, levels).all()
    with pytest.raises(ValueError, match="temperature"):
        P.sample(model, 1, temperature=0)


@pytest.mark.parametrize("kind", ["pixelcnn", "gated", "pixelcnnpp"])
def test_completion_keeps_visible_pixels(kind):
    model = build(kind)
    x, _ = inputs(kind, 1)
    known = torch.ones(1, 1, S, S, dtype=torch.bool)
    known[:, :, S // 2:, 2:6] = False
    labels = torch.tensor([1, 1, 1, 1]) if kind == "gated" else None
    out = P.sample(model, 4, torch.Generator().manual_seed(0), labels=labels, given=x, known_mask=known)
    assert torch.equal(out[known.expand(4, -1, -1, -1)], x.expand(4, -1, -1, -1)[known.expand(4, -1, -1, -1)])
    assert not torch.equal(out[0], out[1]) or not torch.equal(out[1], out[2])  # the hidden part is drawn


# ------------------------------------------------------------------------------------------------ training
@pytest.mark.parametrize("kind", ["pixelcnn", "gated", "pixelcnnpp"])
def test_two_step_training_smoke(tmp_path, kind):
    model = trainer.main(trainer.Config(model=kind, max_steps=2, out_dir=str(tmp_path), **TINY_TRAIN))
    folder = tmp_path / "checkpoint"
    assert {"config.json", "model.safetensors", "README.md", "replay.png"} <= {p.name for p in folder.iterdir()}
    card = (folder / "README.md").read_text()
    assert f"python -m train.pixelcnn --model={kind}" in card and "Seed: 0" in card
    assert not model.training and isinstance(model, trainer.MODELS[kind])
    history = json.loads((tmp_path / "history.json").read_text())
    assert math.isfinite(history[0]["nll"]) and history[0]["nll"] > 0


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_resume_equals_uninterrupted(tmp_path):
    cfg = dict(TINY_TRAIN, model="gated", num_layers=2)
    straight = trainer.main(trainer.Config(max_steps=5, out_dir=str(tmp_path / "a"), **cfg))
    trainer.main(trainer.Config(max_steps=2, out_dir=str(tmp_path / "b"), **cfg))
    resumed = trainer.main(trainer.Config(max_steps=5, out_dir=str(tmp_path / "b"), resume=True, **cfg))
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_config_rejects_bad_model():
    with pytest.raises(SystemExit, match="--model must be one of"):
        trainer.Config(model="pixelsnail")
    assert trainer.Config(model="gated").num_classes == 10 and trainer.Config().num_classes == 0


# ------------------------------------------------------------------------------------------------ the tab
@pytest.fixture
def tiny_tab(monkeypatch):
    models = {"pixelcnn-mnist": build("pixelcnn"), "gated-pixelcnn-mnist": build("gated"),
              "pixelcnnpp-mnist": build("pixelcnnpp")}
    monkeypatch.setattr(tab, "available", lambda: tuple(models))
    monkeypatch.setattr(tab, "load", lambda name: models[name])
    return models


def drawing() -> Image.Image:
    """A dark '1' on white paper, 100x120: the tab must invert, crop, scale and centre it."""
    im = Image.new("RGB", (100, 120), "white")
    im.paste((0, 0, 0), (45, 10, 55, 110))
    return im


def test_tab_sample_streams_row_by_row(tiny_tab):
    frames = list(tab.sample_stream("gated-pixelcnn-mnist", 3, 1.0, 7, "2", progress=lambda *a, **k: None))
    assert len(frames) == S // tab.STREAM_EVERY_ROWS and frames[-1][1].endswith("(done)")
    assert isinstance(frames[0][0], Image.Image) and frames[0][0].size == frames[-1][0].size
    again = tab.sample_grid("gated-pixelcnn-mnist", 3, 1.0, 7, "2")
    assert again.tobytes() == frames[-1][0].tobytes()


def test_tab_samplers_for_compare_and_leaderboard(tiny_tab):
    samplers = tab.samplers()
    assert set(samplers) == set(tiny_tab)
    assert samplers["pixelcnnpp-mnist"].slow and not samplers["pixelcnn-mnist"].slow
    assert not samplers["gated-pixelcnn-mnist"].unconditional and samplers["pixelcnn-mnist"].unconditional
    for name, sampler in samplers.items():
        x = sampler.sample(5, 3)
        assert x.shape == (3, 1, S, S) and x.min() >= -1 and x.max() <= 1 and torch.equal(x, sampler.sample(5, 3))
        assert torch.equal(sampler.sample(5, 2), x[:2])  # sample i of a seed is the same whatever the count
        if name != "pixelcnnpp-mnist":
            assert set(x.unique().tolist()) <= {-1.0, 1.0}  # binary digits, shown as black and white


def test_tab_complete_keeps_visible_pixels(tiny_tab, monkeypatch):
    seen = {}
    original = tab.sample_rows

    def spy(*args, **kwargs):
        for r, x in original(*args, **kwargs):
            seen["x"] = x.clone()
            yield r, x
    monkeypatch.setattr(tab, "sample_rows", spy)
    grid, caption = tab.complete("pixelcnn-mnist", "my drawing", 0, drawing(), "box", 1, 2, 5, 6, 3, 1.0, 0)
    x = (tab.common.digit_from_image(drawing(), S) > tab.BINARIZE_THRESHOLD).float()
    hidden = tab.hidden_mask("box", 1, 2, 5, 6, S)
    assert torch.equal(seen["x"][:, :, ~hidden[0, 0]], x[:, :, ~hidden[0, 0]].expand(3, -1, -1))
    assert isinstance(grid, Image.Image) and str(tab.BINARIZE_THRESHOLD) in caption


def test_tab_heatmap_total_is_the_model_nll(tiny_tab):
    image, text = tab.nll_heatmap("pixelcnnpp-mnist", "my drawing", 0, drawing())
    x = torch.round(tab.common.digit_from_image(drawing(), S) * 255) / 127.5 - 1
    with torch.no_grad():
        nll = tiny_tab["pixelcnnpp-mnist"].nll(x).item()
    assert f"{nll:.2f} nats" in text and "8-bit" in text and image.size[1] == S * 2 * tab.common.DISPLAY_SCALE


def test_upload_conversion_any_size_and_mode():
    for im in (drawing(), drawing().convert("L"), drawing().convert("RGBA"), Image.new("LA", (5, 300), (255, 255))):
        if im.mode == "LA":
            im.paste((0, 255), (2, 100, 3, 200))
        x = tab.common.digit_from_image(im, 28)
        assert x.shape == (1, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
        assert x[0, 0, 14, 13:15].max() > 0.5 and x[0, 0, 0, 0] == 0  # the ink is white, centred; the paper black


@pytest.mark.parametrize("call, message", [
    (lambda: tab.sample_grid("nope", 1, 1.0, 0), "Model must be one of"),
    (lambda: tab.sample_grid("pixelcnn-mnist", 0, 1.0, 0), "between 1 and 16"),
    (lambda: tab.sample_grid("pixelcnnpp-mnist", 5, 1.0, 0), "between 1 and 4"),
    (lambda: tab.sample_grid("pixelcnn-mnist", 1, 0.0, 0), "Temperature must be a number between 0.1 and 2.0"),
    (lambda: tab.sample_grid("pixelcnn-mnist", 1, "hot", 0), "Temperature must be"),
    (lambda: tab.sample_grid("gated-pixelcnn-mnist", 1, 1.0, 0, "11"), "Class must be one of"),
    (lambda: tab.complete("pixelcnn-mnist", "test digit", 10**6, None, "bottom half", 0, 0, 1, 1, 1, 1, 0),
     "Test digit index must be a whole number between 0 and 9999"),
    (lambda: tab.complete("pixelcnn-mnist", "my drawing", 0, drawing(), "box", 5, 5, 5, 7, 1, 1, 0), "top < bottom"),
    (lambda: tab.complete("pixelcnn-mnist", "my drawing", 0, None, "bottom half", 0, 0, 1, 1, 1, 1, 0), "upload an image"),
    (lambda: tab.nll_heatmap("pixelcnn-mnist", "my drawing", 0, Image.new("L", (40, 40), 255)), "blank"),
])
def test_tab_rejects_bad_input_clearly(tiny_tab, call, message):
    import gradio as gr

    with pytest.raises(gr.Error, match=message):
        call()


def test_missing_checkpoint_names_the_train_command(monkeypatch):
    monkeypatch.setattr(tab, "available", lambda: ())
    import gradio as gr

    with pytest.raises(gr.Error, match="python -m train.pixelcnn --model=gated"):
        tab.sample_grid("gated-pixelcnn-mnist", 1, 1.0, 0)
    assert "python -m train.pixelcnn --model=pixelcnn" in tab.missing_message()
    with gr.Blocks():
        tab.build()  # the tab still builds


# ------------------------------------------------------------------------------------------------ bundled checkpoints
@pytest.mark.parametrize("name, kind", [("pixelcnn-mnist", "pixelcnn"), ("gated-pixelcnn-mnist", "gated"),
                                        ("pixelcnnpp-mnist", "pixelcnnpp")])
def test_bundled_checkpoint_loads_offline_and_matches_its_card(name, kind):
    """The first SUBSET test images' NLL, recomputed from the bundled weights, is the card's within 0.05 nats."""
    folder = CHECKPOINTS / name
    if not (folder / "model.safetensors").exists():
        pytest.skip(f"{name} not bundled yet: {tab.MODELS[name][3]}")
    model = load_pretrained(trainer.MODELS[kind], name, device="cpu")
    metrics = json.loads((folder / "metrics.json").read_text())
    cfg = trainer.Config(model=kind)
    images = trainer.test_set(cfg)[0][:trainer.SUBSET]
    with torch.inference_mode():
        nll = model.nll(images).double().mean().item()
    assert abs(nll - metrics["values"][f"nll_nats_first_{trainer.SUBSET}"]) < 0.05
    assert metrics["protocol"].startswith("binarized MNIST" if kind != "pixelcnnpp" else "8-bit mnist")
