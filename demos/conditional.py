"""Conditional GANs tab: ask for a class (cGAN, AC-GAN), turn InfoGAN's learned codes, encode your own digit
with BiGAN's encoder to see G(E(x)), and type a caption for the text-to-image GAN.

Checkpoints come from train/conditional.py (papers in models/conditional.py). A model whose checkpoint is not bundled
(or on the Hub) says so and names the command that trains it; the rest of the tab keeps working.
"""

from __future__ import annotations

import functools
import json

import gradio as gr
import torch

from demos import common
from models.conditional import CAPTION_GRAMMAR, BiGAN, ConditionalGenerator, InfoGenerator, TextToImageGenerator
from models.hub import checkpoint_folder, default_device, load_pretrained
from train.conditional import MODELS

TITLE = "Conditional GANs"
DATASET = "mnist"
CLASSES = [str(i) for i in range(10)]
MAX_CODE = 3.0                 # continuous codes are trained in [-1, 1]; the paper shows extrapolation to +-2
CODE_STEPS = 7                 # columns of the categorical x continuous grid
MAX_CAPTION_CHARS = 200
CLASSES_OF = {"cgan": ConditionalGenerator, "acgan": ConditionalGenerator, "infogan": InfoGenerator, "bigan": BiGAN,
              "t2i": TextToImageGenerator}
TITLES = {"cgan": "cGAN (label concatenated to G and D)", "acgan": "AC-GAN (auxiliary classifier D)"}


def checkpoint(model: str) -> str:
    return f"{model}-{DATASET}"


@functools.cache
def generator(model: str) -> torch.nn.Module:
    try:
        return load_pretrained(CLASSES_OF[model], checkpoint(model), family="conditional")
    except FileNotFoundError:
        raise common.gr_error(f"The {model} checkpoint is not bundled yet: train it with "
                              f"python -m train.conditional --model={model}") from None


def metrics_line(model: str) -> str:
    try:
        path = checkpoint_folder(checkpoint(model), "conditional") / "metrics.json"
    except FileNotFoundError:
        return f"*`{checkpoint(model)}` is not bundled yet: `python -m train.conditional --model={model}`.*"
    if not path.exists():
        return f"*`{checkpoint(model)}`: not evaluated yet.*"
    v = json.loads(path.read_text())["values"]
    key, what, bar = {"cgan": ("requested_class_accuracy", "samples classified as the requested class", 0.95),
                      "acgan": ("requested_class_accuracy", "samples classified as the requested class", 0.95),
                      "infogan": ("category_purity", "purity of the categorical code's clusters", 0.80),
                      "bigan": ("reconstruction_class_agreement", "test digits whose G(E(x)) keeps their class", 0.70),
                      "t2i": ("caption_class_accuracy", "samples classified as the class their caption names", 0.90)}[model]
    verdict = "met" if v[key] >= bar else "**not met**"  # shown, not hidden: the tab is also a record of what works
    line = (f"`{checkpoint(model)}`: {100 * v[key]:.1f} % {what} (target ≥ {100 * bar:.0f} %: {verdict}) · "
            f"FD {v['FD']:.2f} · precision {v['precision']:.2f} · recall {v['recall']:.2f}")
    if "category_to_class" in v:
        line += " · code → most frequent digit: " + ", ".join(f"{c}→{d}" for c, d in enumerate(v["category_to_class"]))
    return line


@torch.inference_mode()
def class_samples(model, digit, seed, count):
    """`count` samples of the requested digit from cGAN or AC-GAN, the same latents whatever the digit."""
    if model not in ("cgan", "acgan"):
        raise common.gr_error(f"Model must be cgan or acgan; got {model!r}")
    digit = common.check_int(digit, "Digit", 0, 9)
    seed = common.check_seed(seed)
    count = common.check_int(count, "Number of samples", 1, common.MAX_SAMPLES)
    G = generator(model)
    z = common.latents(seed, count, G.latent_dim).to(default_device())
    images = G(z, torch.full((count,), digit, device=z.device)).cpu()
    return common.image_grid(images, nrow=min(count, 8), scale=common.DISPLAY_SCALE // 2)


def check_code(value, name: str) -> float:
    return common.check_float(value, name, -MAX_CODE, MAX_CODE)


@torch.inference_mode()
def info_codes(seed, category, code_1, code_2, varied):
    """InfoGAN: (a) 8 samples with the chosen codes; (b) the paper's figure: rows = the 10 values of the categorical
    code, columns = the chosen continuous code swept from -2 to 2, everything else fixed."""
    seed = common.check_seed(seed)
    category = common.check_int(category, "Categorical code", 0, 9)
    codes = torch.tensor([check_code(code_1, "Continuous code 1"), check_code(code_2, "Continuous code 2")])
    varied = common.check_int(varied, "Code to sweep", 1, 2) - 1
    G = generator("infogan")
    device = default_device()
    z = common.latents(seed, 8, G.latent_dim)
    samples = G(z.to(device), torch.full((8,), category, device=device), codes.expand(8, -1).to(device)).cpu()
    sweep = torch.linspace(-2, 2, CODE_STEPS)
    cats = torch.arange(10).repeat_interleave(CODE_STEPS)
    cont = codes.repeat(10 * CODE_STEPS, 1)
    cont[:, varied] = sweep.repeat(10)
    grid = G(z[:1].expand(10 * CODE_STEPS, -1).to(device), cats.to(device), cont.to(device)).cpu()
    return (common.image_grid(samples, nrow=8, scale=common.DISPLAY_SCALE // 2),
            common.image_grid(grid, nrow=CODE_STEPS, scale=common.DISPLAY_SCALE // 2))


def digit_from_upload(image) -> torch.Tensor:
    """A drawn or uploaded digit -> (1, 1, 32, 32) in [-1, 1], MNIST-style: white on black, the ink's bounding box
    scaled to 20 px and centred (MNIST's 28-px frame), padded to 32 like the training data."""
    return common.digit_from_image(image, 32, box=20) * 2 - 1


@torch.inference_mode()
def bigan_reconstruct(image):
    """x -> (x as the encoder sees it | G(E(x))), and the first entries of E(x)."""
    x = digit_from_upload(image)
    model = generator("bigan")
    z = model.encode(x.to(default_device()))
    reconstruction = model.generator(z).cpu()
    pair = common.image_grid(torch.cat([x, reconstruction]), nrow=2, scale=common.DISPLAY_SCALE * 2)
    code = ", ".join(f"{v:+.2f}" for v in z[0, :8].tolist())
    return pair, (f"E(x) = [{code}, …] ({z.shape[1]} dimensions; |E(x)| = {z.norm():.2f}, a prior sample has "
                  f"|z| ≈ {z.shape[1] ** 0.5:.1f})")


@torch.inference_mode()
def text_to_image(caption, seed, count):
    """GAN-CLS: `count` samples for one caption of the documented grammar."""
    if not isinstance(caption, str) or not caption.strip():
        raise common.gr_error("Type a caption, e.g. 'a thick seven'")
    if len(caption) > MAX_CAPTION_CHARS:
        raise common.gr_error(f"Caption too long: {len(caption)} characters; at most {MAX_CAPTION_CHARS}")
    seed = common.check_seed(seed)
    count = common.check_int(count, "Number of samples", 1, common.MAX_SAMPLES)
    G = generator("t2i")
    try:
        phi = G.embed([caption])
    except ValueError as error:
        raise common.gr_error(f"Caption not understood: {error}") from None
    z = common.latents(seed, count, G.latent_dim).to(default_device())
    images = G(z, phi.to(z.device).expand(count, -1)).cpu()
    return common.image_grid(images, nrow=min(count, 8), scale=common.DISPLAY_SCALE // 2)


def samplers() -> dict[str, common.Sampler]:
    """For the Compare tab and the leaderboard: sample i asks for digit i % 10 (InfoGAN: category i % 10 with both
    continuous codes at 0; text to image: the caption "a <digit>"); BiGAN's G(z) is unconditional."""
    def sampler(model):
        @torch.inference_mode()
        def sample(seed, n):
            G, device = generator(model), default_device()
            z, digits = common.latents(seed, n, G.latent_dim).to(device), (torch.arange(n) % 10).to(device)
            if model == "infogan":
                return G(z, digits, torch.zeros(n, G.num_continuous, device=device)).cpu()
            if model == "t2i":
                return G(z, G.embed([f"a {d}" for d in digits.tolist()]).to(device)).cpu()
            return (G(z) if model == "bigan" else G(z, digits)).cpu()
        return common.Sampler(sample, MODELS[model][0], TITLE, DATASET, unconditional=model == "bigan")

    found = {}
    for model in CLASSES_OF:
        try:
            checkpoint_folder(checkpoint(model), "conditional")
            found[checkpoint(model)] = sampler(model)
        except FileNotFoundError:
            pass
    return found


def build() -> None:
    gr.Markdown("Four ways to give a GAN a handle on what it draws, all on DCGAN's 32-px networks trained here on "
                "MNIST (`python -m train.conditional --model=...`; papers in `models/conditional.py`).")
    with gr.Tab("cGAN / AC-GAN"):
        gr.Markdown(metrics_line("cgan") + "  \n" + metrics_line("acgan"))
        with gr.Row():
            model = gr.Radio([(TITLES[m], m) for m in ("cgan", "acgan")], value="cgan", label="Model")
            digit = gr.Dropdown(CLASSES, value="7", label="Digit")
            seed = gr.Number(value=0, label="Seed", precision=0, minimum=0, maximum=common.MAX_SEED)
            count = gr.Slider(1, common.MAX_SAMPLES, value=16, step=1, label="Number of samples")
        run = gr.Button("Generate this digit", variant="primary")
        grid = gr.Image(label="Samples", type="pil", format="png")
    with gr.Tab("InfoGAN"):
        gr.Markdown(metrics_line("infogan") + "  \nInfoGAN was never told the labels: the categorical code's values "
                    "are whatever clusters it found (often digits, in its own order); the continuous codes often "
                    "learn slant and width. Codes were trained in [-1, 1]; the grid extrapolates to ±2.")
        with gr.Row():
            info_seed = gr.Number(value=0, label="Seed (the noise z)", precision=0, minimum=0, maximum=common.MAX_SEED)
            category = gr.Slider(0, 9, value=0, step=1, label="Categorical code c1")
            code_1 = gr.Slider(-MAX_CODE, MAX_CODE, value=0, step=0.1, label="Continuous code c2")
            code_2 = gr.Slider(-MAX_CODE, MAX_CODE, value=0, step=0.1, label="Continuous code c3")
            varied = gr.Radio([("c2", 1), ("c3", 2)], value=1, label="Sweep in the grid")
        run_info = gr.Button("Generate", variant="primary")
        with gr.Row():
            info_samples = gr.Image(label="8 samples with these codes", type="pil", format="png")
            info_grid = gr.Image(label="rows: c1 = 0…9; columns: the swept code from -2 to 2", type="pil",
                                 format="png")
    with gr.Tab("BiGAN"):
        gr.Markdown(metrics_line("bigan") + "  \nDraw a digit (or upload one): the encoder E maps it to a latent "
                    "vector and the generator draws G(E(x)). BiGAN never trains on reconstructions: whatever "
                    "survives the round trip is what E and G agreed on through the joint discriminator.")
        with gr.Row():
            sketch = gr.Sketchpad(label="Draw a digit", type="pil", image_mode="RGBA", canvas_size=(280, 280))
            upload = gr.Image(label="…or upload one", type="pil", image_mode="RGBA", sources=["upload"])
        with gr.Row():
            run_sketch = gr.Button("Encode the drawing", variant="primary")
            run_upload = gr.Button("Encode the upload")
        pair = gr.Image(label="x (as E sees it) | G(E(x))", type="pil", format="png")
        code = gr.Markdown()

    with gr.Tab("Text to image"):
        gr.Markdown(metrics_line("t2i") + "  \nGAN-CLS (Reed et al. 2016) with the matching-aware discriminator and "
                    "GAN-INT. The captions it was trained on were generated from each digit's label and measured "
                    "attributes (ink = thin/thick, shear = upright/slanted, bounding box = small/large, in thirds per "
                    f"class). Grammar:\n```\n{CAPTION_GRAMMAR}\n```")
        with gr.Row():
            caption = gr.Textbox(value="a thick seven", label="Caption", max_lines=1)
            t2i_seed = gr.Number(value=0, label="Seed", precision=0, minimum=0, maximum=common.MAX_SEED)
            t2i_count = gr.Slider(1, common.MAX_SAMPLES, value=16, step=1, label="Number of samples")
        run_t2i = gr.Button("Draw the caption", variant="primary")
        t2i_grid = gr.Image(label="Samples", type="pil", format="png")

    run.click(class_samples, [model, digit, seed, count], grid, api_name="conditional_class_samples")
    run_info.click(info_codes, [info_seed, category, code_1, code_2, varied], [info_samples, info_grid],
                   api_name="conditional_infogan")
    run_sketch.click(bigan_reconstruct, sketch, [pair, code], api_name="conditional_bigan_sketch")
    run_upload.click(bigan_reconstruct, upload, [pair, code], api_name="conditional_bigan")
    run_t2i.click(text_to_image, [caption, t2i_seed, t2i_count], t2i_grid, api_name="conditional_text_to_image")
