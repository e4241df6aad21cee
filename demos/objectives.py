"""GAN objectives tab: the same latents through every objective, each one's training curves and replay, and the
shared kit's numbers for all of them.

The checkpoints are trained by train/objectives.py: one generator per objective, same backbone, data, batch and
length (the MLP GAN of Goodfellow et al. 2014 excepted: it is the original architecture). Papers: models/objectives.py.
"""

from __future__ import annotations

import functools
import json
import time

import gradio as gr
import torch
from PIL import Image

from demos import common
from models.hub import checkpoint_folder, default_device, load_pretrained
from models.objectives import Generator, MLPGenerator
from train.objectives import OBJECTIVES, PANELS

TITLE = "GAN objectives"
DATASET = "mnist"
MAX_PER_OBJECTIVE = 16       # samples per objective in the side-by-side view
CLASS_RANGE = (0.04, 0.16)   # a checkpoint whose class shares leave this range has (partly) collapsed
EXPECTED_FAILURES = {        # the lecture's point, shown rather than hidden, when the numbers confirm it
    "gan-minimax": "the saturating G loss gives G almost no gradient once D wins, so training stalls or collapses",
    "wgan": "weight clipping makes a crude, capacity-starved critic: slow training and blurry or collapsed samples",
}


def checkpoint(objective: str) -> str:
    return f"{objective}-{DATASET}"


def check_objective(objective) -> str:
    names = available()
    if objective not in names:
        raise common.gr_error(f"Objective must be one of {', '.join(names) or '(none bundled yet)'}; got {objective!r}")
    return objective


@functools.cache
def available() -> tuple[str, ...]:
    """The objectives whose checkpoints resolve (Hub, cache or bundled), in the lecture's order."""
    found = []
    for name in OBJECTIVES:
        try:
            checkpoint_folder(checkpoint(name), "objectives")
            found.append(name)
        except FileNotFoundError:
            pass
    return tuple(found)


@functools.cache
def generator(objective: str) -> torch.nn.Module:
    """Loaded on first use; the DCGAN-backbone ones fused for inference like the DCGAN tab's."""
    cls = MLPGenerator if OBJECTIVES[objective].critic == "mlp" else Generator
    G = load_pretrained(cls, checkpoint(objective), family="objectives")
    return G.fuse() if isinstance(G, Generator) else G


@functools.cache
def record(objective: str) -> dict:
    """training.json (curves, replay frame positions) and metrics.json of a checkpoint; None where absent."""
    folder = checkpoint_folder(checkpoint(objective), "objectives")
    out = {}
    for key in ("training", "metrics"):
        path = folder / f"{key}.json"
        out[key] = json.loads(path.read_text()) if path.exists() else None
    return out


@torch.inference_mode()
def compare(seed, count):
    """The same `count` latents of `seed` through every bundled objective: [(grid, caption)], one per objective."""
    seed = common.check_seed(seed)
    count = common.check_int(count, "Samples per objective", 1, MAX_PER_OBJECTIVE)
    if not available():
        raise common.gr_error("No objective checkpoints are bundled yet: python -m train.objectives --objective=...")
    out = []
    for name in available():
        G = generator(name)
        z = common.latents(seed, count, G.latent_dim).to(default_device())
        start = time.perf_counter()
        images = G(z).cpu()
        ms = 1000 * (time.perf_counter() - start)
        grid = common.image_grid(images, nrow=min(count, 8), scale=2)
        out.append((common.caption(grid, OBJECTIVES[name].title), f"{OBJECTIVES[name].title} · {ms:.0f} ms"))
    return out


def curves(objective):
    """The objective's training curves (losses; D outputs; Wasserstein estimate / M_global / penalty) as a PNG."""
    from train.common import plot_history

    objective = check_objective(objective)
    training = record(objective)["training"]
    if not training:
        raise common.gr_error(f"{objective}: this checkpoint has no training.json")
    real_label, fake_label = training["labels"]
    panels = [PANELS[0], [("d_real", real_label), ("d_fake", fake_label)], PANELS[2]]
    path = common.temporary_file(".png")
    plot_history(training["history"], path, panels)
    return path


def replay_frames(objective: str) -> list[tuple[Image.Image, float]]:
    """The sample grids saved over training, with the kimg at which each was taken."""
    frames = common.replay_frames(checkpoint_folder(checkpoint(objective), "objectives"))
    if not frames:
        raise common.gr_error(f"{objective}: this checkpoint has no replay")
    return frames


def replay(objective, position):
    """One frame of the replay (position in [0, 1] over training) and the whole replay as an animation."""
    objective = check_objective(objective)
    position = common.check_float(position, "Position", 0, 1)
    frames = replay_frames(objective)
    big = [common.caption(f.resize((f.width * 3, f.height * 3), Image.NEAREST), f"{k:.0f} kimg") for f, k in frames]
    return big[round(position * (len(big) - 1))], common.save_animation(big, duration_ms=250, boomerang=False)


def metrics_table() -> list[list]:
    """One row per bundled objective from its metrics.json: the kit's numbers and whether classes are covered."""
    rows = []
    for name in available():
        metrics = record(name)["metrics"]
        if not metrics:
            rows.append([OBJECTIVES[name].title] + [None] * 7 + ["not evaluated"])
            continue
        v = metrics["values"]
        covered = CLASS_RANGE[0] <= v["class_min_fraction"] and v["class_max_fraction"] <= CLASS_RANGE[1]
        note = "" if covered else ("collapsed: " + EXPECTED_FAILURES.get(name, "classes outside 4-16 %"))
        rows.append([OBJECTIVES[name].title, round(v["FD"], 2), round(v["KIDx1000"], 1), round(v["precision"], 3),
                     round(v["recall"], 3), f"{100 * v['class_min_fraction']:.1f}-{100 * v['class_max_fraction']:.1f}",
                     round(100 * v["confident_fraction"], 1), "yes" if covered else "NO", note])
    return rows


def protocol() -> str:
    for name in available():
        metrics = record(name)["metrics"]
        if metrics:
            f = metrics["floor"]
            return (f"{metrics['protocol']}. Real-vs-real floor: FD {f['FD']:.2f}, KID×1000 {f['KIDx1000']:.1f}, "
                    f"precision {f['precision']:.2f}, recall {f['recall']:.2f}.")
    return "No metrics yet."


def samplers() -> dict[str, common.Sampler]:
    """For the Compare tab and the leaderboard: every bundled objective, sample i from latent i of the seed."""
    def sampler(name):
        @torch.inference_mode()
        def sample(seed, n):
            G = generator(name)
            return G(common.latents(seed, n, G.latent_dim).to(default_device())).cpu()
        return common.Sampler(sample, OBJECTIVES[name].title, TITLE, DATASET)

    return {checkpoint(name): sampler(name) for name in available()}


def build() -> None:
    names = list(available())
    missing = [n for n in OBJECTIVES if n not in names]
    gr.Markdown(
        "One DCGAN generator (32×32 MNIST) trained under each objective the lecture compares; only the objective and "
        "what its paper prescribes for D (normalisation, optimiser, critic steps) differ. The original GAN uses the "
        "paper's MLPs. Papers and losses: `models/objectives.py`; training: `python -m train.objectives --objective=NAME`."
        + (f"  \n*Not bundled yet:* {', '.join(missing)}." if missing else ""))
    with gr.Tab("Side by side"):
        with gr.Row():
            seed = gr.Number(value=0, label="Seed", precision=0, minimum=0, maximum=common.MAX_SEED)
            count = gr.Slider(1, MAX_PER_OBJECTIVE, value=8, step=1, label="Samples per objective")
        run = gr.Button("Generate with every objective", variant="primary")
        gallery = gr.Gallery(label="Same latents, every objective", columns=2, height="auto",
                             elem_id="objectives-gallery")
    with gr.Tab("Training"):
        with gr.Row():
            objective = gr.Dropdown(names, value=names[0] if names else None, label="Objective")
            position = gr.Slider(0, 1, value=1, step=0.01, label="Replay position (0 = start, 1 = end of training)")
        show = gr.Button("Show training", variant="primary")
        with gr.Row():
            plot = gr.Image(label="Training curves", type="filepath")
            frame = gr.Image(label="Samples at this point of training", type="pil", format="png")
            animation = gr.Image(label="Replay", type="filepath")
    with gr.Tab("Metrics"):
        gr.Markdown(protocol())
        gr.Dataframe(metrics_table(), headers=["objective", "FD", "KID×1000", "precision", "recall", "classes %",
                                               "confident %", "all classes 4-16 %", "note"],
                     interactive=False, wrap=True)

    run.click(compare, [seed, count], gallery, api_name="objectives_compare")
    show.click(curves, objective, plot, api_name="objectives_curves").then(
        replay, [objective, position], [frame, animation], api_name="objectives_replay")
    position.release(replay, [objective, position], [frame, animation], api_name=False)
