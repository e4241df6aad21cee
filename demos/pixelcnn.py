"""PixelCNN / PixelRNN tab: draw digits pixel by pixel (streamed as they are drawn), complete a half-hidden digit,
and see where a model finds an image surprising (a per-pixel NLL heat map and the exact total).

Models (models/pixelcnn.py, models/pixelrnn.py; papers cited there): PixelCNN and the class-conditional Gated
PixelCNN on binarized MNIST, PixelCNN++ on 8-bit MNIST, and the Row LSTM PixelRNN when its checkpoint exists. Every
one is served by the same raster-order sampler, models.pixelcnn.sample_rows.
"""

from __future__ import annotations

import functools
import importlib
import json
import math

import gradio as gr
import numpy as np
import torch
from PIL import Image

from demos import common, i18n, uploads
from models.hub import checkpoint_folder, load_pretrained
from models.pixelcnn import sample_rows

TITLE = "PixelCNN / PixelRNN"
# checkpoint -> (label, module, class, trainer command)
MODELS = {
    "pixelcnn-mnist": ("PixelCNN", "models.pixelcnn", "PixelCNN",
                       "python -m train.pixelcnn --model=pixelcnn --export_dir=assets/checkpoints/pixelcnn-mnist"),
    "gated-pixelcnn-mnist": ("Gated PixelCNN (class-conditional)", "models.pixelcnn", "GatedPixelCNN",
                             "python -m train.pixelcnn --model=gated --export_dir=assets/checkpoints/gated-pixelcnn-mnist"),
    "pixelcnnpp-mnist": ("PixelCNN++ (8-bit grey)", "models.pixelcnn", "PixelCNNpp",
                         "python -m train.pixelcnn --model=pixelcnnpp --export_dir=assets/checkpoints/pixelcnnpp-mnist"),
    "pixelrnn-mnist": ("PixelRNN (Row LSTM)", "models.pixelrnn", "RowLSTM",
                       "python -m train.pixelrnn --export_dir=assets/checkpoints/pixelrnn-mnist"),
}
# Limits (every input is bounded; the messages quote these)
MAX_SAMPLES = 16                # images per sampling request (binary models: ~1 s for 16 on 2 cores)
MAX_SAMPLES_PREFIX = 4          # PixelCNN++ re-runs its whole U-Net per pixel: ~25 s per image on 2 cores
TEMPERATURE_RANGE = (0.1, 2.0)  # logits / T; T -> 0 is greedy, T > 1 noisier
MAX_COMPLETIONS = 8             # completions per request
MAX_TEST_INDEX = 9999           # the MNIST test set
BINARIZE_THRESHOLD = 0.5        # uploads and drawings: a pixel is 1 where its intensity (0..1) is above this
STREAM_EVERY_ROWS = 2           # a partial image is shown every this many rows
REGIONS = ("bottom half", "box")
CLASS_CHOICES = ["auto"] + [str(d) for d in range(10)]
PAPERS = [
    i18n.Paper("PixelCNN, PixelRNN (Row LSTM)", "van den Oord, Kalchbrenner & Kavukcuoglu 2016",
               "Pixel Recurrent Neural Networks", "1601.06759", "픽셀 순환 신경망"),
    i18n.Paper("Gated PixelCNN", "van den Oord et al. 2016", "Conditional Image Generation with PixelCNN Decoders",
               "1606.05328", "PixelCNN 디코더를 이용한 조건부 이미지 생성"),
    i18n.Paper("PixelCNN++", "Salimans et al. 2017",
               "PixelCNN++: Improving the PixelCNN with Discretized Logistic Mixture Likelihood and Other Modifications", "1701.05517", "이산화 로지스틱 혼합 가능도와 그 밖의 수정으로 개선한 PixelCNN"),
]
PAPERS_EN, PAPERS_KO = i18n.paper_list(PAPERS)
STRINGS = {  # key -> (English, Korean); build() uses only the keys
    "title": (TITLE, "PixelCNN / PixelRNN"),
    "intro": (
        "Exact-likelihood autoregressive models: p(x) = ∏ p(x_i | x_<i) in raster order. PixelCNN (masked "
        "convolutions), Gated PixelCNN (vertical + horizontal stacks, no blind spot, class-conditional), PixelCNN++ "
        "(discretized logistic mixture on 8-bit grey) and the Row LSTM PixelRNN. Binary models: MNIST binarized as "
        f"genzoo's protocol states; your drawings are binarized at intensity > {BINARIZE_THRESHOLD}.\n\n"
        + PAPERS_EN,
        "가능도를 정확히 계산하는 자기회귀 모델입니다: 래스터 순서로 p(x) = ∏ p(x_i | x_<i). PixelCNN(마스크 "
        "합성곱), Gated PixelCNN(수직·수평 스택으로 사각지대를 없앤 클래스 조건부 모델), PixelCNN++(8비트 회색조 "
        "위의 이산화 로지스틱 혼합), Row LSTM PixelRNN을 다룹니다. 이진 모델은 genzoo 프로토콜대로 이진화한 MNIST로 "
        f"학습했고, 직접 그린 숫자는 밝기 > {BINARIZE_THRESHOLD}인 픽셀을 1로 이진화합니다.\n\n"
        + PAPERS_KO),
    "pixelcnn-mnist": ("PixelCNN", "PixelCNN"),
    "gated-pixelcnn-mnist": ("Gated PixelCNN (class-conditional)", "Gated PixelCNN (클래스 조건부)"),
    "pixelcnnpp-mnist": ("PixelCNN++ (8-bit grey)", "PixelCNN++ (8비트 회색조)"),
    "pixelrnn-mnist": ("PixelRNN (Row LSTM)", "PixelRNN (Row LSTM)"),
    "auto": ("auto", "자동"),
    "test_digit": ("test digit", "테스트 숫자"),
    "my_drawing": ("my drawing", "내 그림"),
    "bottom_half": ("bottom half", "아래쪽 절반"),
    "box": ("box", "상자 영역"),
    "sample_count": (f"Number of samples (PixelCNN++: at most {MAX_SAMPLES_PREFIX})",
                     f"샘플 수 (PixelCNN++: 최대 {MAX_SAMPLES_PREFIX}개)"),
    "class_sample": ("Class (gated model; auto = 0, 1, 2, …)", "클래스 (Gated 모델; 자동 = 0, 1, 2, …)"),
    "grid": ("Samples, drawn row by row", "한 행씩 그려지는 샘플"),
    "tab_complete": ("Complete", "이미지 완성"),
    "input": ("Input", "입력"),
    "index": ("Test digit index", "테스트 숫자 인덱스"),
    "class_complete": ("Class (gated model)", "클래스 (Gated 모델)"),
    "drawing": ("Draw or upload a digit (used with 'my drawing')", "숫자를 그리거나 업로드하세요 ('내 그림'일 때 사용)"),
    "hide": ("Hide", "가릴 부분"),
    "top": ("Box top row", "상자 위쪽 행"),
    "bottom": ("Box bottom row (exclusive)", "상자 아래쪽 행 (포함하지 않음)"),
    "left": ("Box left column", "상자 왼쪽 열"),
    "right": ("Box right column (exclusive)", "상자 오른쪽 열 (포함하지 않음)"),
    "completions": ("Completions", "완성할 개수"),
    "complete": ("Complete", "완성하기"),
    "completed": ("original | what the model sees | completions", "원본 | 모델이 보는 입력 | 완성 결과"),
    "tab_nll": ("NLL heat map", "NLL 히트맵"),
    "class_nll": ("Class (gated model; auto = most likely)", "클래스 (Gated 모델; 자동 = 가장 그럴듯한 클래스)"),
    "score": ("Score", "점수 계산"),
    "heat": ("input | -log p(x_rc | x_<rc) per pixel (brighter = more surprising)",
             "입력 | 픽셀별 −log p(x_rc | x_<rc) (밝을수록 모델이 예상하지 못한 픽셀)"),
}
t = i18n.Translator(__name__, STRINGS)


# ------------------------------------------------------------------------------------------------ models
@functools.cache
def available() -> tuple[str, ...]:
    """The checkpoints that resolve (Hub, cache or bundled) and whose model code is importable, in MODELS' order."""
    found = []
    for name, (_, module, _, _) in MODELS.items():
        try:
            importlib.import_module(module)  # models.pixelrnn is someone else's file: may not exist yet
            checkpoint_folder(name, module.rsplit(".", 1)[-1])
            found.append(name)
        except (ImportError, FileNotFoundError):
            pass
    return tuple(found)


def missing_message() -> str:
    lines = [f"- {label}: `{command}`" for name, (label, _, _, command) in MODELS.items() if name not in available()]
    return ("No checkpoint yet for:\n" + "\n".join(lines)) if lines else ""


@functools.cache
def load(name: str) -> torch.nn.Module:
    _, module, cls, _ = MODELS[name]
    return load_pretrained(getattr(importlib.import_module(module), cls), name, family=module.rsplit(".", 1)[-1])


def check_model(name) -> str:
    if name not in MODELS:
        raise common.gr_error(f"Model must be one of {', '.join(MODELS)}; got {name!r}")
    if name not in available():
        raise common.gr_error(f"{MODELS[name][0]}: no checkpoint {name!r} yet. Train it with: {MODELS[name][3]}")
    return name


def check_temperature(value) -> float:
    return common.check_float(value, "Temperature", *TEMPERATURE_RANGE)


def is_binary(model) -> bool:
    return getattr(model, "likelihood", "bernoulli") == "bernoulli"


def protocol(model, source: str) -> str:
    """The data protocol stated beside every NLL the tab prints."""
    if not is_binary(model):
        return "8-bit grey input (256 levels, the exact integer values scored)"
    if source == "test digit":
        from train.data import BINARIZATION_PROTOCOL

        return f"the binarized MNIST test set of genzoo's protocol ({BINARIZATION_PROTOCOL})"
    return f"your image binarized at intensity > {BINARIZE_THRESHOLD} (after conversion to 28x28 grey)"


def class_labels(model, label, count: int, x: torch.Tensor | None = None, known: torch.Tensor | None = None):
    """(count,) labels for a conditional model: the chosen digit, or with "auto" the class that makes the visible
    pixels most likely (exact for a visible prefix such as the top half; an approximation for a hidden box)."""
    if not getattr(model, "num_classes", 0):
        return None
    if label not in CLASS_CHOICES and str(label) not in CLASS_CHOICES:
        raise common.gr_error(f"Class must be one of {', '.join(CLASS_CHOICES)}; got {label!r}")
    if str(label) != "auto":
        return torch.full((count,), int(label))
    if x is None:
        return torch.arange(count) % model.num_classes  # sampling with "auto": one of each digit in turn
    device = next(model.parameters()).device
    with torch.inference_mode():
        x = x.to(device)
        keep = known.to(device).float() if known is not None else torch.ones_like(x)
        scores = torch.stack([(model.nll_map(x, torch.full((1,), y, device=device)) * keep).sum()
                              for y in range(model.num_classes)])
    return torch.full((count,), int(scores.argmin()))


# ------------------------------------------------------------------------------------------------ images
def to_display(x: torch.Tensor, model) -> torch.Tensor:
    """Model space -> [-1, 1] for the grids: {0, 1} -> {-1, 1}; PixelCNN++ is already in [-1, 1]."""
    return x * 2 - 1 if is_binary(model) else x


def model_input(model, source: str, index, drawing) -> tuple[torch.Tensor, int | None]:
    """(1, 1, S, S) image in the model's space and its test label (None for drawings)."""
    s = model.image_size
    if source == "test digit":
        index = common.check_int(index, "Test digit index", 0, MAX_TEST_INDEX)
        from train import data

        if is_binary(model):
            images, labels = data.binarized_mnist_test(s)
        else:
            images, labels = data.mnist("test", s)
        return images[index:index + 1], int(labels[index])
    if source != "my drawing":
        raise common.gr_error(f"Source must be 'test digit' or 'my drawing'; got {source!r}")
    intensity = common.digit_from_image(drawing, s)
    if is_binary(model):
        return (intensity > BINARIZE_THRESHOLD).float(), None
    return torch.round(intensity * 255) / 127.5 - 1, None  # the 8-bit grid


def heat_colors(values: torch.Tensor) -> np.ndarray:
    """(H, W) non-negative nats -> (H, W, 3) uint8 with matplotlib's 'inferno' (0 = black)."""
    from matplotlib import colormaps

    top = max(float(values.max()), 1e-6)
    return (colormaps["inferno"](values.numpy() / top)[..., :3] * 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ predict functions
def sample_stream(name, count, temperature, seed, label="auto", progress=gr.Progress()):
    """Generator: (grid, status) every STREAM_EVERY_ROWS rows while `count` images are drawn pixel by pixel."""
    name = check_model(name)
    model = load(name)
    limit = MAX_SAMPLES if hasattr(model, "raster_cache") else MAX_SAMPLES_PREFIX
    count = common.check_int(count, f"Number of samples for {MODELS[name][0]}", 1, limit)
    temperature, seed = check_temperature(temperature), common.check_seed(seed)
    labels = class_labels(model, label, count)
    s = model.image_size
    rows = sample_rows(model, count, torch.Generator().manual_seed(seed), temperature, labels)
    for r, x in rows:
        progress((r + 1) / s, desc=f"row {r + 1} of {s}")
        if (r + 1) % STREAM_EVERY_ROWS == 0 or r == s - 1:
            partial = to_display(x.detach().cpu().clone(), model)
            partial[:, :, r + 1:] = 0  # rows still to come: grey
            text = [str(int(y)) for y in labels] if labels is not None else None
            grid = common.image_grid(partial, nrow=min(count, 8), scale=common.DISPLAY_SCALE, labels=text)
            status = f"{MODELS[name][0]}: row {r + 1} of {s}, temperature {temperature}, seed {seed}"
            yield grid, status + (" (done)" if r == s - 1 else "")


def sample_grid(name, count, temperature, seed, label="auto"):
    """The finished grid of sample_stream (for clients that do not stream)."""
    *_, (grid, _) = sample_stream(name, count, temperature, seed, label, progress=lambda *a, **k: None)
    return grid


def hidden_mask(region, top, left, bottom, right, size: int = 28) -> torch.Tensor:
    """(1, 1, S, S) bool, True where pixels are hidden: the bottom half, or the box rows [top, bottom) x cols
    [left, right)."""
    hidden = torch.zeros(1, 1, size, size, dtype=torch.bool)
    if region == "bottom half":
        hidden[:, :, size // 2:] = True
    elif region == "box":
        top, bottom = common.check_int(top, "Box top", 0, size - 1), common.check_int(bottom, "Box bottom", 1, size)
        left, right = common.check_int(left, "Box left", 0, size - 1), common.check_int(right, "Box right", 1, size)
        if top >= bottom or left >= right:
            raise common.gr_error(f"The box must have top < bottom and left < right; got rows {top}..{bottom}, "
                                  f"columns {left}..{right}")
        hidden[:, :, top:bottom, left:right] = True
    else:
        raise common.gr_error(f"Region must be one of {', '.join(REGIONS)}; got {region!r}")
    return hidden


def complete(name, source, index, drawing, region, top, left, bottom, right, count, temperature, seed, label="auto"):
    """Hide part of a digit and let the model redraw it `count` times: a grid of [original, what the model sees,
    completions...] and a caption."""
    name = check_model(name)
    model = load(name)
    limit = MAX_COMPLETIONS if hasattr(model, "raster_cache") else MAX_SAMPLES_PREFIX
    count = common.check_int(count, "Number of completions", 1, limit)
    temperature, seed = check_temperature(temperature), common.check_seed(seed)
    x, true_label = model_input(model, source, index, drawing)
    hidden = hidden_mask(region, top, left, bottom, right, model.image_size)
    labels = class_labels(model, label, count, torch.where(hidden, torch.zeros_like(x), x), ~hidden)
    device = next(model.parameters()).device
    *_, (_, out) = sample_rows(model, count, torch.Generator().manual_seed(seed), temperature, labels,
                               given=x.to(device), known_mask=~hidden)
    shown = to_display(x, model)
    seen = torch.where(hidden, torch.full_like(shown, 0.0), shown)  # hidden pixels grey
    images = torch.cat([shown, seen, to_display(out.cpu(), model)])
    captions = ["orig", "seen"] + (([str(int(labels[0]))] * count) if labels is not None else [""] * count)
    grid = common.image_grid(images, nrow=min(count + 2, 10), scale=common.DISPLAY_SCALE, labels=captions)
    caption = (f"{MODELS[name][0]}: {count} completions of the {region} (grey in 'seen'); visible pixels are kept "
               f"exactly. Input: {protocol(model, source)}"
               + (f"; test label {true_label}" if true_label is not None else "")
               + (f"; conditioned on class {int(labels[0])}" if labels is not None else ""))
    return grid, caption


def nll_heatmap(name, source, index, drawing, label="auto"):
    """The input beside its per-pixel -log p(x_rc | x_<rc) (brighter = more surprising), and the exact total."""
    name = check_model(name)
    model = load(name)
    x, true_label = model_input(model, source, index, drawing)
    labels = class_labels(model, label, 1, x)
    device = next(model.parameters()).device
    with torch.inference_mode():
        per_pixel = (model.nll_map(x.to(device)) if labels is None
                     else model.nll_map(x.to(device), labels.to(device)))[0, 0].cpu()
    total = float(per_pixel.sum())
    s = model.image_size
    scale = common.DISPLAY_SCALE * 2
    left = common.to_pil(to_display(x, model)[0]).convert("RGB").resize((s * scale, s * scale), Image.NEAREST)
    right = Image.fromarray(heat_colors(per_pixel)).resize((s * scale, s * scale), Image.NEAREST)
    out = Image.new("RGB", (2 * s * scale + 8, s * scale), (40, 40, 40))
    out.paste(left, (0, 0))
    out.paste(right, (s * scale + 8, 0))
    worst = divmod(int(per_pixel.argmax()), s)
    text = (f"**Total NLL: {total:.2f} nats** = {total / (s * s * math.log(2)):.4f} bits/dim "
            f"(-log p(x), exact, the sum of the {s * s} per-pixel terms). Most surprising pixel: row {worst[0]}, "
            f"column {worst[1]} ({per_pixel.max():.2f} nats; the heat map's brightest). Input: {protocol(model, source)}"
            + (f"; test label {true_label}" if true_label is not None else "")
            + (f"; scored as class {int(labels[0])}" if labels is not None else "") + ".")
    return out, text


def samplers() -> dict[str, common.Sampler]:
    """For the Compare tab and the leaderboard: every bundled pixel model at temperature 1, images in [-1, 1]
    (binary models' samples are {-1, 1}). The gated model is asked for digit i % 10; PixelCNN++ is slow."""
    def sampler(name):
        conditional = name == "gated-pixelcnn-mnist"

        def draw(seed, n):
            model = load(name)
            labels = torch.arange(n) % 10 if conditional else None
            *_, (_, x) = sample_rows(model, n, torch.Generator().manual_seed(seed), 1.0, labels)
            return to_display(x, model).cpu()
        return common.Sampler(draw, MODELS[name][0], TITLE, unconditional=not conditional,
                              slow=name == "pixelcnnpp-mnist")

    return {name: sampler(name) for name in available()}


def cards_markdown() -> str:
    """Each available checkpoint's test NLL from its metrics.json (a small JSON read; no model is loaded)."""
    from train.pixelcnn import PAPER_ANCHORS, TARGETS

    keys = {"pixelcnn-mnist": "pixelcnn", "gated-pixelcnn-mnist": "gated", "pixelcnnpp-mnist": "pixelcnnpp"}
    rows = []
    for name in available():
        path = checkpoint_folder(name) / "metrics.json"
        label, key = MODELS[name][0], keys.get(name)
        if not path.exists():
            rows.append(f"- **{label}**: not evaluated yet")
            continue
        v = json.loads(path.read_text())["values"]
        line = f"- **{label}**: test NLL {v['nll_nats']:.2f} nats ({v['bits_per_dim']:.4f} bits/dim)"
        if key in TARGETS:
            line += f"; target ≤ {TARGETS[key]:.0f} nats: {'met' if v['nll_nats'] <= TARGETS[key] else 'not met'}"
        if key:
            line += f"; paper: {PAPER_ANCHORS[key]}"
        rows.append(line)
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------------ layout
def build() -> None:
    gr.Markdown(t("intro"))
    names = list(available())
    default = names[0] if names else None
    gr.Markdown(cards_markdown() or "", elem_classes=i18n.VERBATIM)
    if missing_message():
        gr.Markdown(missing_message(), elem_classes=i18n.VERBATIM)
    choices = [(t(n), n) for n in names]
    classes = [(t("auto"), "auto")] + [(c, c) for c in CLASS_CHOICES if c != "auto"]
    sources = [(t("test_digit"), "test digit"), (t("my_drawing"), "my drawing")]
    with gr.Tab(t("sample")):
        with gr.Row():
            model = gr.Dropdown(choices, value=default, label=t("model"))
            count = gr.Slider(1, MAX_SAMPLES, value=8, step=1, label=t("sample_count"))
            temperature = gr.Slider(*TEMPERATURE_RANGE, value=1.0, step=0.05, label=t("temperature"))
            seed = uploads.integer_box(t("seed"))
            label = gr.Dropdown(classes, value="auto", label=t("class_sample"))
        run = gr.Button(t("sample"), variant="primary")
        grid = gr.Image(label=t("grid"), type="pil", format="png")
        status = gr.Markdown()
    with gr.Tab(t("tab_complete")):
        with gr.Row():
            model_c = gr.Dropdown(choices, value=default, label=t("model"))
            source = gr.Radio(sources, value="test digit", label=t("input"))
            index = uploads.integer_box(t("index"), maximum=MAX_TEST_INDEX)
            label_c = gr.Dropdown(classes, value="auto", label=t("class_complete"))
        drawing = uploads.SketchUpload(label=t("drawing"), type="pil", height=280)
        with gr.Row():
            region = gr.Radio([(t(r.replace(" ", "_")), r) for r in REGIONS], value="bottom half", label=t("hide"))
            top = gr.Slider(0, 27, value=10, step=1, label=t("top"))
            bottom = gr.Slider(1, 28, value=20, step=1, label=t("bottom"))
            left = gr.Slider(0, 27, value=10, step=1, label=t("left"))
            right = gr.Slider(1, 28, value=20, step=1, label=t("right"))
        with gr.Row():
            count_c = gr.Slider(1, MAX_COMPLETIONS, value=6, step=1, label=t("completions"))
            temperature_c = gr.Slider(*TEMPERATURE_RANGE, value=1.0, step=0.05, label=t("temperature"))
            seed_c = uploads.integer_box(t("seed"))
        run_c = gr.Button(t("complete"), variant="primary")
        completed = gr.Image(label=t("completed"), type="pil", format="png")
        caption = gr.Markdown()
    with gr.Tab(t("tab_nll")):
        with gr.Row():
            model_h = gr.Dropdown(choices, value=default, label=t("model"))
            source_h = gr.Radio(sources, value="test digit", label=t("input"))
            index_h = uploads.integer_box(t("index"), maximum=MAX_TEST_INDEX)
            label_h = gr.Dropdown(classes, value="auto", label=t("class_nll"))
        drawing_h = uploads.SketchUpload(label=t("drawing"), type="pil", height=280)
        run_h = gr.Button(t("score"), variant="primary")
        heat = gr.Image(label=t("heat"), type="pil", format="png")
        total = gr.Markdown()

    run.click(sample_stream, [model, count, temperature, seed, label], [grid, status], api_name="pixelcnn_sample")
    run_c.click(complete, [model_c, source, index, drawing, region, top, left, bottom, right, count_c, temperature_c,
                           seed_c, label_c], [completed, caption], api_name="pixelcnn_complete")
    run_h.click(nll_heatmap, [model_h, source_h, index_h, drawing_h, label_h], [heat, total], api_name="pixelcnn_nll")
