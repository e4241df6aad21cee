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

from demos import common
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
    gr.Markdown(
        "Exact-likelihood autoregressive models: p(x) = ∏ p(x_i | x_<i) in raster order. "
        "[PixelCNN](https://arxiv.org/abs/1601.06759) (masked convolutions), "
        "[Gated PixelCNN](https://arxiv.org/abs/1606.05328) (vertical + horizontal stacks, no blind spot, "
        "class-conditional), [PixelCNN++](https://arxiv.org/abs/1701.05517) (discretized logistic mixture on 8-bit "
        "grey) and the Row LSTM [PixelRNN](https://arxiv.org/abs/1601.06759). Binary models: MNIST binarized as "
        f"genzoo's protocol states; your drawings are binarized at intensity > {BINARIZE_THRESHOLD}.")
    names = list(available())
    default = names[0] if names else None
    gr.Markdown(cards_markdown() or "")
    if missing_message():
        gr.Markdown(missing_message())
    choices = [(MODELS[n][0], n) for n in names]
    with gr.Tab("Sample"):
        with gr.Row():
            model = gr.Dropdown(choices, value=default, label="Model")
            count = gr.Slider(1, MAX_SAMPLES, value=8, step=1,
                              label=f"Number of samples (PixelCNN++: at most {MAX_SAMPLES_PREFIX})")
            temperature = gr.Slider(*TEMPERATURE_RANGE, value=1.0, step=0.05, label="Temperature")
            seed = gr.Number(value=0, label="Seed", precision=0, minimum=0, maximum=common.MAX_SEED)
            label = gr.Dropdown(CLASS_CHOICES, value="auto", label="Class (gated model; auto = 0, 1, 2, …)")
        run = gr.Button("Sample", variant="primary")
        grid = gr.Image(label="Samples, drawn row by row", type="pil", format="png")
        status = gr.Markdown()
    with gr.Tab("Complete"):
        with gr.Row():
            model_c = gr.Dropdown(choices, value=default, label="Model")
            source = gr.Radio(["test digit", "my drawing"], value="test digit", label="Input")
            index = gr.Number(value=0, label="Test digit index", precision=0, minimum=0, maximum=MAX_TEST_INDEX)
            label_c = gr.Dropdown(CLASS_CHOICES, value="auto", label="Class (gated model)")
        drawing = gr.Sketchpad(label="Draw or upload a digit (used with 'my drawing')", type="pil", height=280)
        with gr.Row():
            region = gr.Radio(list(REGIONS), value="bottom half", label="Hide")
            top = gr.Slider(0, 27, value=10, step=1, label="Box top row")
            bottom = gr.Slider(1, 28, value=20, step=1, label="Box bottom row (exclusive)")
            left = gr.Slider(0, 27, value=10, step=1, label="Box left column")
            right = gr.Slider(1, 28, value=20, step=1, label="Box right column (exclusive)")
        with gr.Row():
            count_c = gr.Slider(1, MAX_COMPLETIONS, value=6, step=1, label="Completions")
            temperature_c = gr.Slider(*TEMPERATURE_RANGE, value=1.0, step=0.05, label="Temperature")
            seed_c = gr.Number(value=0, label="Seed", precision=0, minimum=0, maximum=common.MAX_SEED)
        run_c = gr.Button("Complete", variant="primary")
        completed = gr.Image(label="original | what the model sees | completions", type="pil", format="png")
        caption = gr.Markdown()
    with gr.Tab("NLL heat map"):
        with gr.Row():
            model_h = gr.Dropdown(choices, value=default, label="Model")
            source_h = gr.Radio(["test digit", "my drawing"], value="test digit", label="Input")
            index_h = gr.Number(value=0, label="Test digit index", precision=0, minimum=0, maximum=MAX_TEST_INDEX)
            label_h = gr.Dropdown(CLASS_CHOICES, value="auto", label="Class (gated model; auto = most likely)")
        drawing_h = gr.Sketchpad(label="Draw or upload a digit (used with 'my drawing')", type="pil", height=280)
        run_h = gr.Button("Score", variant="primary")
        heat = gr.Image(label="input | -log p(x_rc | x_<rc) per pixel (brighter = more surprising)", type="pil",
                        format="png")
        total = gr.Markdown()

    run.click(sample_stream, [model, count, temperature, seed, label], [grid, status], api_name="pixelcnn_sample")
    run_c.click(complete, [model_c, source, index, drawing, region, top, left, bottom, right, count_c, temperature_c,
                           seed_c, label_c], [completed, caption], api_name="pixelcnn_complete")
    run_h.click(nll_heatmap, [model_h, source_h, index_h, drawing_h, label_h], [heat, total], api_name="pixelcnn_nll")
