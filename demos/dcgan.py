"""DCGAN tab: sample a grid for a seed, walk the latent space between two seeds, do arithmetic on latent vectors.

Everything here is the paper's own demonstration (Radford et al. 2015, arXiv:1511.06434, sections 6.1 and 6.3),
on the bundled MNIST checkpoint.
"""

from __future__ import annotations

import functools
import json

import gradio as gr
import torch

from demos import common
from models.dcgan import Generator
from models.hub import CHECKPOINTS, checkpoint_folder, default_device, load_pretrained

TITLE = "DCGAN"
CHECKPOINT = "dcgan-mnist"
ARITHMETIC_NOISE = 0.25  # the paper adds U(-0.25, 0.25) to the result vector to show its neighbourhood


@functools.cache
def generator() -> torch.nn.Module:
    """Loaded once, on first use (Hub repo, else the bundled folder), on CUDA when present, fused for inference."""
    return load_pretrained(Generator, CHECKPOINT).fuse()


@torch.inference_mode()
def decode(z: torch.Tensor) -> torch.Tensor:
    return generator()(z.to(default_device())).cpu()


def generate(seed, count, numbered: bool = True):
    """A grid of `count` samples for `seed`; sample i is the same whatever the count."""
    seed = common.check_seed(seed)
    count = common.check_int(count, "Number of samples", 1, common.MAX_SAMPLES)
    images = decode(common.latents(seed, count, generator().latent_dim))
    labels = [str(i) for i in range(count)] if numbered else None
    return common.image_grid(images, nrow=min(count, 8), scale=common.DISPLAY_SCALE, labels=labels)


def interpolate(seed_a, seed_b, steps):
    """Slerp from sample 0 of seed A to sample 0 of seed B: a strip and a looping animation."""
    seed_a, seed_b = common.check_seed(seed_a, "Seed A"), common.check_seed(seed_b, "Seed B")
    steps = common.check_int(steps, "Steps", 2, common.MAX_INTERPOLATION_STEPS)
    dim = generator().latent_dim
    a, b = common.latents(seed_a, 1, dim), common.latents(seed_b, 1, dim)
    z = common.slerp(a.expand(steps, -1), b.expand(steps, -1), torch.linspace(0, 1, steps))
    images = decode(z)
    strip = common.image_grid(images, nrow=steps, scale=common.DISPLAY_SCALE // 2 or 1)
    frames = [common.to_pil(x, scale=common.DISPLAY_SCALE * 2) for x in images]
    return strip, common.save_animation(frames)


def arithmetic(seed, picks_a, picks_b, picks_c):
    """Radford et al.'s vector arithmetic: mean z of A - mean z of B + mean z of C, decoded, plus 8 neighbours."""
    seed = common.check_seed(seed)
    count = common.MAX_SAMPLES
    ia = common.parse_indices(picks_a, "A", count)
    ib = common.parse_indices(picks_b, "B", count)
    ic = common.parse_indices(picks_c, "C", count)
    z = common.latents(seed, count, generator().latent_dim)
    mean_a, mean_b, mean_c = z[ia].mean(0), z[ib].mean(0), z[ic].mean(0)
    result = mean_a - mean_b + mean_c
    noise = torch.rand(8, z.shape[1], generator=torch.Generator().manual_seed(seed)) * 2 - 1
    batch = torch.stack([mean_a, mean_b, mean_c, result])
    batch = torch.cat([batch, result + ARITHMETIC_NOISE * noise])
    images = decode(batch)
    labels = ["A", "-B", "+C", "="] + ["~"] * 8
    return common.image_grid(images, nrow=12, scale=common.DISPLAY_SCALE, labels=labels)


def metrics_markdown() -> str:
    """The bundled checkpoint's numbers from the evaluation kit (a small JSON read; no model is loaded)."""
    path = CHECKPOINTS / CHECKPOINT / "metrics.json"
    if not path.exists():
        return "*No metrics for the bundled checkpoint yet: `python -m train.evaluate dcgan-mnist`.*"
    m = json.loads(path.read_text())
    v, f = m["values"], m["floor"]
    return (f"**Bundled checkpoint `{CHECKPOINT}`** — FD {v['FD']:.2f} (real-vs-real {f['FD']:.2f}) · "
            f"KID×1000 {v['KIDx1000']:.2f} · precision {v['precision']:.2f} · recall {v['recall']:.2f} · "
            f"confident ≥0.9: {100 * v['confident_fraction']:.1f}% · classes {100 * v['class_min_fraction']:.1f}–"
            f"{100 * v['class_max_fraction']:.1f}%  \n<sub>{m['protocol']}</sub>")


def samplers() -> dict[str, common.Sampler]:
    """For the Compare tab and the leaderboard."""
    try:
        checkpoint_folder(CHECKPOINT)
    except FileNotFoundError:
        return {}
    return {CHECKPOINT: common.Sampler(lambda seed, n: decode(common.latents(seed, n, generator().latent_dim)),
                                       "DCGAN", TITLE)}


def build() -> None:
    gr.Markdown(
        "Deep Convolutional GAN ([Radford et al. 2015](https://arxiv.org/abs/1511.06434)): strided convolutions "
        "instead of pooling, BatchNorm, ReLU/LeakyReLU, tanh output. Trained here on MNIST (padded to 32×32) on a CPU "
        "(`python -m train.dcgan`). Every sample is fixed by its seed and its number in the grid.")
    gr.Markdown(metrics_markdown())
    with gr.Tab("Sample"):
        with gr.Row():
            seed = gr.Number(value=0, label="Seed", precision=0, minimum=0, maximum=common.MAX_SEED)
            count = gr.Slider(1, common.MAX_SAMPLES, value=32, step=1, label="Number of samples")
            numbered = gr.Checkbox(value=True, label="Show sample numbers")
        run = gr.Button("Generate", variant="primary")
        grid = gr.Image(label="Samples", type="pil", format="png", elem_id="dcgan-grid")
        gr.Examples([[0, 32, True], [7, 64, True], [42, 16, False]], [seed, count, numbered], grid, generate,
                    cache_examples=True, cache_mode="lazy")
    with gr.Tab("Interpolate"):
        with gr.Row():
            seed_a = gr.Number(value=1, label="Seed A", precision=0, minimum=0, maximum=common.MAX_SEED)
            seed_b = gr.Number(value=2, label="Seed B", precision=0, minimum=0, maximum=common.MAX_SEED)
            steps = gr.Slider(2, common.MAX_INTERPOLATION_STEPS, value=10, step=1, label="Steps")
        run_interp = gr.Button("Interpolate", variant="primary")
        strip = gr.Image(label="Spherical interpolation, sample 0 of seed A → sample 0 of seed B", type="pil",
                         format="png")
        animation = gr.Image(label="Animation", type="filepath")
    with gr.Tab("Vector arithmetic"):
        gr.Markdown("Generate a numbered grid, pick samples for each term (their latents are averaged, as in the "
                    "paper), and decode **A − B + C**; the last 8 images add small noise to the result. Try a thin "
                    "digit for A, the same digit thick for B and another thick digit for C.")
        with gr.Row():
            seed_arith = gr.Number(value=0, label="Seed of the grid", precision=0, minimum=0, maximum=common.MAX_SEED)
            show = gr.Button("Show the grid of 64")
        picks_grid = gr.Image(label="Pick numbers from here", type="pil", format="png")
        with gr.Row():
            picks_a = gr.Textbox(value="0", label="A: sample numbers", max_length=64)
            picks_b = gr.Textbox(value="1", label="B: sample numbers", max_length=64)
            picks_c = gr.Textbox(value="2", label="C: sample numbers", max_length=64)
        run_arith = gr.Button("Compute A − B + C", variant="primary")
        result = gr.Image(label="A | −B | +C | = result | neighbours of the result", type="pil", format="png")

    run.click(generate, [seed, count, numbered], grid, api_name="dcgan_generate")
    run_interp.click(interpolate, [seed_a, seed_b, steps], [strip, animation], api_name="dcgan_interpolate")
    show.click(lambda s: generate(s, common.MAX_SAMPLES), seed_arith, picks_grid, api_name="dcgan_grid")
    run_arith.click(arithmetic, [seed_arith, picks_a, picks_b, picks_c], result, api_name="dcgan_arithmetic")
