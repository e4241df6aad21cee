"""Style transfer (models/style.py, train/adain.py, demos/style.py): losses by hand, AdaIN statistics, both encoders'
layers, colour preservation, the decoder's persistence, the trainer (smoke, resume) and the tab, on tiny inputs."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from models import hub
from models import style as S
from train import adain as trainer

TINY_DECODER = dict(widths=[8, 8, 8], convs=[1, 1, 1])  # 3 upsamplings: the EfficientNet AdaIN layer's stride 8
TINY_TRAIN = dict(fake_data=True, crop_size=32, batch_size=2, replay_frames=1, evaluate=False, save_every=2)


@pytest.fixture(scope="module")
def effnet():
    """The real offline encoder (ImageNet weights from the pinned package)."""
    return S.load_encoder("efficientnet-lite0")


def image(seed: int, h: int = 32, w: int = 32) -> torch.Tensor:
    """A smooth colourful test image (1, 3, h, w) in [-0.8, 0.8]: well inside [-1, 1], so nothing clips."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 4, 4, generator=g) * 1.6 - 0.8
    return torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


def tiny_decoder(seed: int = 0) -> S.AdaINDecoder:
    torch.manual_seed(seed)
    return S.AdaINDecoder("efficientnet-lite0", **TINY_DECODER).eval()


# ------------------------------------------------------------------------------------------------ losses by hand
def test_gram_matrix_by_hand():
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)  # 2 channels, 2 positions
    expected = torch.tensor([[1 + 4, 3 + 8], [3 + 8, 9 + 16]]) / 2     # F F^T / M, M = 2
    assert torch.allclose(S.gram_matrix(features), expected[None])
    batch = torch.randn(3, 4, 5, 6)
    assert S.gram_matrix(batch).shape == (3, 4, 4) and torch.allclose(S.gram_matrix(batch),
                                                                       S.gram_matrix(batch).transpose(1, 2))


def test_style_loss_is_gatys_e_l_and_zero_for_identical_features():
    f = {"block1": torch.randn(1, 3, 4, 4), "block2": torch.randn(1, 5, 2, 2)}
    grams = {k: S.gram_matrix(v) for k, v in f.items()}
    weights = {"block1": 0.5, "block2": 0.5}
    assert S.style_loss(f, grams, weights) == 0
    other = {k: v + 0.5 for k, v in f.items()}
    loss = S.style_loss(other, grams, weights)
    # E_l = 1 / (4 N^2 M^2) sum (G - A)^2 with the unnormalised Grams
    by_hand = 0.0
    for k, w in weights.items():
        n, m = f[k].shape[1], f[k].shape[2] * f[k].shape[3]
        g = other[k].reshape(n, m) @ other[k].reshape(n, m).T
        a = f[k].reshape(n, m) @ f[k].reshape(n, m).T
        by_hand += w * ((g - a) ** 2).sum() / (4 * n**2 * m**2)
    assert loss > 0 and torch.isclose(loss, by_hand, rtol=1e-5)
    assert S.content_loss(f["block1"], f["block1"]) == 0
    assert S.adain_style_loss(f, f, ["block1", "block2"]) == 0 and S.adain_style_loss(other, f, ["block1"]) > 0


def test_total_variation_by_hand():
    x = torch.tensor([[0.0, 1.0], [2.0, 4.0]]).view(1, 1, 2, 2)
    # vertical differences 2, 3 -> mean of squares 6.5; horizontal 1, 2 -> 2.5
    assert S.total_variation_loss(x).item() == pytest.approx(9.0)
    assert S.total_variation_loss(torch.ones(1, 3, 5, 5)) == 0


def test_adain_output_has_the_style_channel_statistics():
    g = torch.Generator().manual_seed(0)
    content = torch.randn(2, 4, 6, 5, generator=g) * 3 + 1
    style = torch.randn(2, 4, 3, 7, generator=g) * torch.tensor([0.5, 2, 4, 1]).view(1, 4, 1, 1) - 2
    out = S.adain(content, style)
    mean, std = S.mean_std(out)
    s_mean, s_std = S.mean_std(style)
    assert torch.allclose(mean, s_mean, atol=1e-5) and torch.allclose(std, s_std, rtol=1e-4)
    # masked: inside the content mask the output has the style's statistics, whatever the rest of the content is
    mask = torch.zeros(2, 1, 6, 5)
    mask[..., :3, :] = 1
    content[..., 3:, :] += 100
    m_mean, m_std = S.mean_std(S.adain(content, style, content_mask=mask), mask)
    assert torch.allclose(m_mean, s_mean, atol=1e-4) and torch.allclose(m_std, s_std, rtol=1e-3)


# ------------------------------------------------------------------------------------------------ encoders
@pytest.mark.parametrize("cls", [S.EfficientNetLite0Encoder, S.VGG19Encoder])
def test_both_encoders_expose_the_same_layers(cls):
    torch.manual_seed(0)
    net = cls(pretrained=False) if cls is S.EfficientNetLite0Encoder else cls()
    out = net(torch.rand(2, 3, 32, 48) * 2 - 1)
    spec = S.ENCODERS[net.key]
    assert list(out) == list(S.LAYERS) and set(spec.channels) == set(S.LAYERS)
    for name, f in out.items():
        assert f.shape == (2, spec.channels[name], 32 // spec.strides[name], 48 // spec.strides[name]), name
    assert list(net(torch.zeros(1, 3, 16, 16), ["block2"])) == ["block2"]
    assert spec.strides[spec.adain_layer] == 8 and set(spec.adain_style_layers) <= set(S.STYLE_LAYERS)
    with pytest.raises(ValueError, match="unknown layers"):
        net(torch.zeros(1, 3, 16, 16), ["relu4_1"])
    net.train()
    assert not net.training and not any(p.requires_grad for p in net.parameters())


def test_efficientnet_taps_match_the_package_network(effnet):
    """Folded BatchNorms and static padding change nothing: every tap equals the package's own network's activation
    (ReLU6 of the expansion's BatchNorm output), at a size whose deeper feature maps are odd ("SAME" padding)."""
    net = S.efficientnet_lite0()
    seen = {}
    net._bn0.register_forward_hook(lambda m, i, out: seen.__setitem__("block1", torch.nn.functional.relu6(out)))
    for name, index in S.EFFICIENTNET_TAPS.items():
        net._blocks[index]._bn0.register_forward_hook(
            lambda m, i, out, name=name: seen.__setitem__(name, torch.nn.functional.relu6(out)))
    x = image(1, 40, 56)
    with torch.no_grad():
        net.extract_features(effnet.normalise(x))
        ours = effnet(x, S.STYLE_LAYERS)
    assert ours["block5"].shape[-2:] == (3, 4)
    for name in S.STYLE_LAYERS:
        assert torch.allclose(ours[name], seen[name], atol=1e-4, rtol=1e-4), name
    assert all(isinstance(m, (S.SameConv, S.MBConv, torch.nn.ModuleList, S.EfficientNetLite0Encoder))
               for m in effnet.modules())  # no BatchNorm left


def test_efficientnet_weights_are_pinned(monkeypatch, tmp_path):
    fake = tmp_path / "efficientnet-lite0.pth"
    torch.save({"not": torch.zeros(1)}, fake)
    monkeypatch.setattr(S, "efficientnet_weights_path", lambda: fake)
    with pytest.raises(S.EncoderUnavailable, match="sha256"):
        S.EfficientNetLite0Encoder()


def test_vgg19_state_dict_in_safetensors_loads_and_missing_weights_fall_back(monkeypatch, tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    reference = S.VGG19Encoder()
    tensors = {k: v.clone() for k, v in reference.state_dict().items()}
    tensors["classifier.0.weight"] = torch.zeros(2, 2)  # a full VGG-19 file: the classifier is ignored
    save_file(tensors, str(tmp_path / "vgg19.safetensors"))
    monkeypatch.setattr(hub, "CHECKPOINTS", tmp_path / "checkpoints")
    monkeypatch.setenv("GENZOO_HUB_NAMESPACE", "")
    with pytest.raises(S.EncoderUnavailable, match="convert_vgg19"):
        S.load_encoder("vgg19")
    fallback, note = S.load_encoder_or_fallback("vgg19")
    assert fallback.key == "efficientnet-lite0" and "VGG-19 (ImageNet) unavailable" in note
    S.convert_vgg19(tmp_path / "vgg19.safetensors", tmp_path / "checkpoints" / S.VGG19_REPO)
    assert json.loads((tmp_path / "checkpoints" / S.VGG19_REPO / "config.json").read_text()) == {"pooling": "max"}
    loaded = S.load_encoder("vgg19", pooling="avg")
    assert loaded.pooling == "avg" and isinstance(loaded.features[4], torch.nn.AvgPool2d)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in reference.state_dict().items())
    save_file({"features.0.weight": torch.zeros(3, 3, 3, 3)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(S.EncoderUnavailable, match="features.0.weight is"):
        S.vgg19_state_dict(tmp_path / "bad.safetensors")


# ------------------------------------------------------------------------------------------------ colour
def test_colour_helpers_are_exact():
    x = image(3)
    assert torch.allclose(S.yiq_to_rgb(S.rgb_to_yiq(x)), x, atol=1e-6)
    y = image(4)
    mixed = S.with_chrominance(y, x)
    assert torch.allclose(S.luminance(mixed), S.luminance(y), atol=1e-6)
    assert torch.allclose(S.rgb_to_yiq(mixed)[:, 1:], S.rgb_to_yiq(x)[:, 1:], atol=1e-6)
    matched = S.match_luminance(y * 0.3 - 0.5, x)
    assert torch.allclose(S.mean_std(matched[:, :1])[0], S.mean_std(S.luminance(x))[0], atol=1e-5)


def test_colour_preservation_keeps_the_content_chrominance(effnet):
    content, style = image(5), image(6) * 0 + torch.tensor([0.7, -0.6, 0.1]).view(1, 3, 1, 1)  # a red style
    decoder = tiny_decoder()
    kept = S.adain_stylize(effnet, decoder, content, [style], preserve_colour=True)
    plain = S.adain_stylize(effnet, decoder, content, [style])
    inside = (kept.abs() < 0.999).all(1, keepdim=True).expand(-1, 2, -1, -1)  # pixels the final clamp left alone
    assert inside.float().mean() > 0.5
    iq_content, iq_kept = S.rgb_to_yiq(content)[:, 1:], S.rgb_to_yiq(kept)[:, 1:]
    assert torch.allclose(iq_kept[inside], iq_content[inside], atol=1e-4)
    assert not torch.allclose(S.rgb_to_yiq(plain)[:, 1:], iq_content, atol=1e-2)
    report = list(S.gatys(effnet, content, style, 2, optimizer="adam", preserve_colour=True))[-1]
    inside = (report.image.abs() < 0.999).all(1, keepdim=True).expand(-1, 2, -1, -1)
    assert torch.allclose(S.rgb_to_yiq(report.image)[:, 1:][inside], iq_content[inside], atol=1e-4)


# ------------------------------------------------------------------------------------------------ AdaIN
def test_alpha_zero_decodes_the_content_features(effnet):
    decoder = tiny_decoder()
    content, style = image(7), image(8)
    with torch.no_grad():
        own = decoder(effnet(content, ["block3"])["block3"]).clamp(-1, 1)
    assert torch.allclose(S.adain_stylize(effnet, decoder, content, [style], alpha=0.0), own, atol=1e-6)
    assert not torch.allclose(S.adain_stylize(effnet, decoder, content, [style], alpha=1.0), own, atol=1e-3)


def test_style_interpolation_weights_and_spatial_control(effnet):
    decoder = tiny_decoder()
    content, a, b = image(9), image(10), image(11, 24, 40)
    only_a = S.adain_stylize(effnet, decoder, content, [a])
    assert torch.allclose(S.adain_stylize(effnet, decoder, content, [a, b], [1, 0]), only_a, atol=1e-6)
    assert torch.allclose(S.adain_stylize(effnet, decoder, content, [a, b], [0, 3]),
                          S.adain_stylize(effnet, decoder, content, [b]), atol=1e-6)
    half = S.adain_stylize(effnet, decoder, content, [a, b], [1, 1])
    assert not torch.allclose(half, only_a, atol=1e-3)
    everywhere = torch.ones(1, 1, 32, 32)
    assert torch.allclose(S.adain_stylize(effnet, decoder, content, [a, b], mask=everywhere), only_a, atol=1e-6)
    left = torch.zeros(1, 1, 32, 32)
    left[..., :16] = 1
    split = S.adain_stylize(effnet, decoder, content, [a, b], mask=left)
    assert split.shape == content.shape and not torch.allclose(split, only_a, atol=1e-3)
    with pytest.raises(ValueError, match="exactly two styles"):
        S.adain_stylize(effnet, decoder, content, [a], mask=left)
    with pytest.raises(ValueError, match="trained on vgg19"):
        S.adain_stylize(effnet, S.AdaINDecoder("vgg19", widths=[8, 8, 8], convs=[1, 1, 1]), content, [a])


def test_decoder_mirrors_the_encoder_and_round_trips(tmp_path):
    paper = S.AdaINDecoder("vgg19")  # the paper's decoder: 3.5 M parameters
    assert sum(p.numel() for p in paper.parameters()) == 3_505_219
    kinds = {type(m) for m in paper.modules()}
    assert nn_kinds_without_norm(kinds) and torch.nn.ReflectionPad2d in kinds and torch.nn.Upsample in kinds
    decoder = tiny_decoder()
    out = decoder(torch.randn(1, 240, 3, 5))
    assert out.shape == (1, 3, 24, 40)
    decoder.save_pretrained(tmp_path / "dec")
    assert json.loads((tmp_path / "dec" / "config.json").read_text()) == {"encoder": "efficientnet-lite0",
                                                                          **TINY_DECODER}
    loaded = hub.load_pretrained(S.AdaINDecoder, str(tmp_path / "dec"), device="cpu")
    x = torch.randn(2, 240, 4, 4)
    assert loaded.encoder_name == "efficientnet-lite0" and torch.equal(loaded(x), decoder(x))
    with pytest.raises(ValueError, match="give 3 stages"):
        S.AdaINDecoder(widths=[8, 8], convs=[1, 1])


def nn_kinds_without_norm(kinds) -> bool:
    return not any(issubclass(k, (torch.nn.modules.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm))
                   for k in kinds)


# ------------------------------------------------------------------------------------------------ Gatys
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_gatys_lowers_the_loss_in_five_steps(effnet, optimizer):
    content, style = image(12), image(13)
    reports = list(S.gatys(effnet, content, style, 5, optimizer=optimizer, tv_weight=1.0, every=1))
    assert [r.step for r in reports] == [1, 2, 3, 4, 5]
    assert reports[-1].losses["total"] < reports[0].losses["total"]
    assert reports[-1].image.shape == content.shape and reports[-1].image.abs().max() <= 1
    assert set(reports[0].losses) == {"total", "content", "style", "tv"}


def test_gatys_noise_start_is_seeded_and_layers_are_checked(effnet):
    content, style = image(14), image(15)

    def run(seed):
        return list(S.gatys(effnet, content, style, 2, init="noise", optimizer="adam", style_layers=["block1"],
                            generator=torch.Generator().manual_seed(seed)))[-1].image
    assert torch.equal(run(1), run(1)) and not torch.equal(run(1), run(2))
    with pytest.raises(ValueError, match="style_layers"):
        next(S.gatys(effnet, content, style, 2, style_layers=["block7"]))


def test_transfer_losses_favour_the_style(effnet):
    content, style = image(16), image(17)
    as_content = S.transfer_losses(effnet, content, content, [style])
    as_style = S.transfer_losses(effnet, style, content, [style])
    assert as_content["content"] == 0 and as_style["style_gram"] == 0 and as_style["style_meanstd"] == 0
    assert as_content["style_gram"] > 0 and as_style["content"] > 0


# ------------------------------------------------------------------------------------------------ the trainer
def test_procedural_styles_are_deterministic():
    for kind in trainer.PROCEDURAL_STYLES:
        x = trainer.procedural_style(3, 32, kind)
        assert x.shape == (3, 32, 32) and x.min() >= -1 and x.max() <= 1 and x.std() > 0.01, kind
        assert torch.equal(x, trainer.procedural_style(3, 32, kind))
    assert not torch.equal(trainer.procedural_style(3, 32), trainer.procedural_style(4, 32))


def test_packaged_pairs_are_a_function_of_seed_and_step():
    sampler = trainer.PairSampler(trainer.Config(crop_size=32))
    content, style = sampler.batch(0, 5, 3)
    assert content.shape == style.shape == (3, 3, 32, 32) and content.min() >= -1 and style.max() <= 1
    again = sampler.batch(0, 5, 3)
    assert torch.equal(content, again[0]) and torch.equal(style, again[1])
    assert not torch.equal(content, sampler.batch(0, 6, 3)[0])


def test_training_smoke_writes_a_checkpoint_with_its_card(tmp_path):
    export = trainer.main(trainer.Config(max_steps=2, out_dir=str(tmp_path), **TINY_TRAIN))
    folder = tmp_path / "checkpoint"
    assert {"config.json", "model.safetensors", "README.md", "replay.png"} <= {p.name for p in folder.iterdir()}
    assert "python -m train.adain" in (folder / "README.md").read_text()
    history = json.loads((tmp_path / "history.json").read_text())
    assert history[0]["loss"] > 0 and {"content_loss", "style_loss"} <= set(history[0])
    loaded = hub.load_pretrained(S.AdaINDecoder, str(folder), device="cpu")
    x = torch.randn(1, 240, 2, 2)
    assert torch.equal(loaded(x), export(x))


def test_resume_equals_uninterrupted(tmp_path):
    straight = trainer.main(trainer.Config(max_steps=3, out_dir=str(tmp_path / "a"), **TINY_TRAIN))
    trainer.main(trainer.Config(max_steps=1, out_dir=str(tmp_path / "b"), **TINY_TRAIN))  # killed after step 1
    resumed = trainer.main(trainer.Config(max_steps=3, out_dir=str(tmp_path / "b"), resume=True, **TINY_TRAIN))
    a, b = straight.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_config_is_checked():
    with pytest.raises(SystemExit, match="--encoder must be one of"):
        trainer.Config(encoder="resnet50")
    with pytest.raises(SystemExit, match="multiple of 8"):
        trainer.Config(crop_size=100)
    with pytest.raises(SystemExit, match=r"--style_layers: unknown \['relu4_1'\]"):
        trainer.Config(style_layers="block2,relu4_1")
    assert trainer.Config(style_layers=" block2, block3").style_layer_names() == ("block2", "block3")
    assert trainer.Config().style_layer_names() == ("block1", "block2", "block3", "block4")
    assert trainer.Config().out_dir == "runs/adain-efficientnet" and trainer.checkpoint_name("vgg19") == "adain-vgg19"


# ------------------------------------------------------------------------------------------------ the tab
@pytest.fixture
def tab(monkeypatch, effnet):
    from demos import style as tab

    decoder = tiny_decoder()
    monkeypatch.setattr(tab, "encoder", lambda name, pooling="max": (effnet, "") if name == "efficientnet-lite0"
                        else (effnet, "VGG-19 (ImageNet) unavailable (no weights); fell back to EfficientNet-Lite0."))
    monkeypatch.setattr(tab, "decoder_available", lambda name: name == "efficientnet-lite0")
    monkeypatch.setattr(tab, "load_decoder", lambda name: decoder)
    monkeypatch.setattr(tab, "default_device", lambda: torch.device("cpu"))
    return tab


def photo(seed: int, size=(40, 30), mode="RGB") -> Image.Image:
    array = ((image(seed, size[1], size[0])[0].permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)
    return Image.fromarray(array).convert(mode)


def test_tab_gatys_streams_images_and_says_which_encoder(tab):
    reports = list(tab.gatys_stream(photo(0), photo(1, (24, 24), "RGBA"), "efficientnet-lite0", 11, "adam",
                                    "content", ["block1", "block3"], 0.5, 1.0, False, 32, 0,
                                    progress=lambda *a, **k: None))
    assert len(reports) == 2  # iterations 10 and 11
    picture, text = reports[-1]
    assert picture.size == (32, 24) and "Encoder: EfficientNet-Lite0 (ImageNet)" in text and "(done)" in text
    assert "iteration 11 of 11" in text and "style layers 1, 3" in text
    vgg = next(tab.gatys_stream(photo(0), photo(1), "vgg19", 1, side=32, progress=lambda *a, **k: None))[1]
    assert "fell back to EfficientNet-Lite0" in vgg


def test_tab_adain_mixes_styles_and_follows_the_mask(tab):
    content, a, b = photo(2, (48, 32), "L"), photo(3), photo(4, (20, 60))
    picture, text = tab.adain_transfer(content, a, side=48)
    assert picture.size == (48, 32) and "Encoder: EfficientNet-Lite0" in text and "adain-efficientnet" in text
    assert "content loss" in text and "style 1: 1.00" in text
    mixed, text = tab.adain_transfer(content, a, b, None, None, 1, 3, 1, 1, 0.5, True, None, 48)
    assert "style 1: 0.25, style 2: 0.75" in text and "colours preserved" in text
    assert np.asarray(mixed).tobytes() != np.asarray(picture).tobytes()
    strokes = Image.new("RGBA", (96, 64), (0, 0, 0, 0))
    strokes.paste((255, 255, 255, 255), (0, 0, 48, 64))
    editor = {"background": content, "layers": [strokes], "composite": content}
    masked, text = tab.adain_transfer(content, a, b, mask=editor, side=48)
    assert "mask: style 1 painted" in text
    assert tab.read_mask(editor, (32, 48))[0, 0, :, :24].min() == 1 and tab.read_mask(editor, (32, 48))[
        0, 0, :, 24:].max() == 0
    assert tab.read_mask({"background": content, "layers": []}, (32, 48)) is None


def test_tab_compare_puts_both_methods_side_by_side(tab):
    gatys_image, adain_image, table = tab.compare(photo(5), photo(6), "efficientnet-lite0", 3, 32, 0,
                                                  progress=lambda *a, **k: None)
    assert gatys_image.size == adain_image.size == (32, 24)
    assert "| Gatys et al. (L-BFGS, 3 iterations)" in table and "| AdaIN (one forward pass)" in table
    assert "faster" in table


def test_tab_without_decoder_names_the_train_command(tab, monkeypatch):
    import gradio as gr

    monkeypatch.setattr(tab, "decoder_available", lambda name: False)
    with pytest.raises(gr.Error, match="python -m train.adain --export_dir=assets/checkpoints/adain-efficientnet"):
        tab.adain_transfer(photo(0), photo(1), side=32)
    gatys_image, adain_image, table = tab.compare(photo(5), photo(6), "efficientnet-lite0", 2, 32, 0,
                                                  progress=lambda *a, **k: None)
    assert adain_image is None and "python -m train.adain" in table
    assert "not bundled yet" in tab.status_line()
    with gr.Blocks():
        tab.build()  # the tab still builds


def test_tab_odd_inputs_are_converted(tab):
    for im in (photo(0, mode="RGBA"), photo(0, mode="L"), photo(0, mode="P"), photo(0, mode="CMYK"),
               np.asarray(photo(0)), photo(0, (4000, 40))):
        assert tab.read_image(im, "Content image").mode == "RGB"
    x = tab.to_tensor(tab.read_image(photo(0, (4000, 40)), "Content image"), 512)
    assert x.shape[-1] == 512 and x.shape[-2] % 8 == 0 and x.shape[-2] >= 8  # capped, multiples of 8


@pytest.mark.parametrize("call, message", [
    (lambda t: t.adain_transfer(None, photo(1)), "Content image: upload an image"),
    (lambda t: t.adain_transfer(photo(0), None), "Style 1: upload an image"),
    (lambda t: t.adain_transfer(42, photo(1)), "Expected an image"),
    (lambda t: t.adain_transfer(Image.new("RGB", (5000, 4000)), photo(1)), "Image too large"),
    (lambda t: t.adain_transfer(Image.new("RGB", (8, 8)), photo(1)), "at least 16x16"),
    (lambda t: t.adain_transfer(Image.new("RGBA", (64, 64)), photo(1)), "empty"),
    (lambda t: t.adain_transfer(photo(0), photo(1), alpha=1.5), "Alpha must be a number between 0.0 and 1.0"),
    (lambda t: t.adain_transfer(photo(0), photo(1), side=1024), "Output size must be a whole number between 32 and"),
    (lambda t: t.adain_transfer(photo(0), photo(1), weight1=0), "At least one style weight"),
    (lambda t: t.adain_transfer(photo(0), photo(1), weight1=float("nan")), "Weight of style 1 must be a number"),
    (lambda t: t.adain_transfer(photo(0), photo(1), mask=Image.new("L", (40, 30), 255)), "needs exactly two styles"),
    (lambda t: next(t.gatys_stream(photo(0), photo(1), steps=0)), "Iterations must be a whole number between 1"),
    (lambda t: next(t.gatys_stream(photo(0), photo(1), layers=[])), "Style layers: pick one or more"),
    (lambda t: next(t.gatys_stream(photo(0), photo(1), optimizer="sgd")), "Optimiser must be one of lbfgs, adam"),
    (lambda t: next(t.gatys_stream(photo(0), photo(1), strength=4)), "Style strength must be a number between -3"),
    (lambda t: next(t.gatys_stream(photo(0), photo(1), seed=-1)), "Seed must be a whole number"),
    (lambda t: t.compare(photo(0), photo(1), steps=5000), "Gatys iterations must be a whole number between 1 and 1000"),
])
def test_tab_rejects_bad_input_clearly(tab, call, message):
    import gradio as gr

    with pytest.raises(gr.Error, match=message):
        call(tab)


def test_tab_encoder_is_checked_and_vgg_falls_back(monkeypatch, tmp_path):
    import gradio as gr

    from demos import style as tab

    with pytest.raises(gr.Error, match="Encoder must be one of efficientnet-lite0, vgg19"):
        tab.encoder("resnet50")
    monkeypatch.setattr(hub, "CHECKPOINTS", tmp_path)  # no VGG-19 weights anywhere
    monkeypatch.setenv("GENZOO_HUB_NAMESPACE", "")
    net, note = tab.encoder("vgg19", "avg")
    assert net.key == "efficientnet-lite0" and "VGG-19 (ImageNet) unavailable" in note
    assert "fell back to EfficientNet-Lite0 (ImageNet)" in note and "convert_vgg19" in note


def test_tab_examples_exist_with_their_licences():
    from demos import style as tab

    assert len(tab.example_files("content")) >= 3 and len(tab.example_files("style")) >= 4
    readme = (tab.EXAMPLES / "README.md").read_text()
    for path in tab.example_files("content") + tab.example_files("style"):
        name = path.rsplit("/", 1)[-1]
        assert f"`{name}`" in readme, name
        with Image.open(path) as im:
            assert max(im.size) <= 512


def test_tab_mask_files_are_checked_before_decoding(tmp_path):
    import gradio as gr
    from gradio.components.image_editor import EditorData
    from gradio.data_classes import FileData

    from demos import style as tab

    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    Image.new("RGBA", (20, 10), (255, 0, 0, 255)).save(tmp_path / "ok.png")
    ok, bad = FileData(path=str(tmp_path / "ok.png")), FileData(path=str(tmp_path / "bad.png"))
    with gr.Blocks():
        mask = tab.MaskUpload(type="pil", image_mode="RGBA", sources=[], layers=False, transforms=(), format="png")
    value = mask.preprocess(EditorData(background=ok, layers=[ok], composite=ok))
    assert tab.read_mask(value, (4, 8)).mean() == 1  # an opaque layer: painted everywhere
    with pytest.raises(gr.Error, match="Not an image file"):
        mask.preprocess(EditorData(background=ok, layers=[bad], composite=None))
