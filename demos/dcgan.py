"""DCGAN tab: sample a grid for a seed, walk the latent space between two seeds, do arithmetic on latent vectors.

Everything here is the paper's own demonstration (Radford et al. 2015, arXiv:1511.06434, sections 6.1 and 6.3),
on the bundled MNIST checkpoint.
"""

from __future__ import annotations

import functools
import json

import gradio as gr
import torch

from demos import common, i18n, uploads
from models.dcgan import Generator
from models.hub import CHECKPOINTS, checkpoint_folder, default_device, load_pretrained

TITLE = "DCGAN"
CHECKPOINT = "dcgan-mnist"
ARITHMETIC_NOISE = 0.25  # the paper adds U(-0.25, 0.25) to the result vector to show its neighbourhood
PAPER = ("[Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks]"
         "(https://arxiv.org/abs/1511.06434)")
STRINGS = {  # key -> (English, Korean); build() uses only the keys
    "title": (TITLE, "DCGAN"),
    "intro": (
        f"Deep Convolutional GAN (DCGAN; Radford, Metz & Chintala 2015, *{PAPER}*): strided convolutions instead of "
        "pooling, BatchNorm, ReLU/LeakyReLU, tanh output. Trained here on MNIST (padded to 32×32) on a CPU "
        "(`python -m train.dcgan`). Every sample is fixed by its seed and its number in the grid.",
        f"심층 합성곱 GAN(DCGAN, Deep Convolutional GAN; Radford, Metz & Chintala 2015, *{PAPER}*, 「심층 합성곱 "
        "생성적 적대 신경망을 이용한 비지도 표현 학습」): 풀링 대신 스트라이드 합성곱, 배치 정규화(BatchNorm), "
        "ReLU/LeakyReLU, tanh 출력을 씁니다. 여기서는 MNIST(32×32로 패딩)로 CPU에서 학습했습니다"
        "(`python -m train.dcgan`). 각 샘플은 시드와 격자 안의 번호로 정해집니다."),
    "tab_interpolate": ("Interpolate", "보간"),
    "tab_arithmetic": ("Vector arithmetic", "벡터 연산"),
    "numbered": ("Show sample numbers", "샘플 번호 표시"),
    "seed_a": ("Seed A", "시드 A"),
    "seed_b": ("Seed B", "시드 B"),
    "strip": ("Spherical interpolation, sample 0 of seed A → sample 0 of seed B",
              "구면 선형 보간(slerp): 시드 A의 0번 샘플 → 시드 B의 0번 샘플"),
    "arithmetic_intro": (
        "Generate a numbered grid, pick samples for each term (their latents are averaged, as in the paper), and "
        "decode **A − B + C**; the last 8 images add small noise to the result. Try a thin digit for A, the same "
        "digit thick for B and another thick digit for C.",
        "번호가 붙은 격자를 만든 뒤 각 항에 넣을 샘플을 고르면(논문처럼 고른 샘플들의 잠재 벡터를 평균합니다) "
        "**A − B + C**를 디코딩합니다. 마지막 8장은 결과 벡터에 작은 노이즈를 더한 것입니다. A에는 가는 숫자, "
        "B에는 같은 숫자를 굵게 쓴 것, C에는 다른 굵은 숫자를 골라 보세요."),
    "seed_grid": ("Seed of the grid", "격자의 시드"),
    "show_grid": ("Show the grid of 64", "64개 격자 보기"),
    "picks_grid": ("Pick numbers from here", "여기서 번호를 고르세요"),
    "picks_a": ("A: sample numbers", "A: 샘플 번호"),
    "picks_b": ("B: sample numbers", "B: 샘플 번호"),
    "picks_c": ("C: sample numbers", "C: 샘플 번호"),
    "compute": ("Compute A − B + C", "A − B + C 계산"),
    "result": ("A | −B | +C | = result | neighbours of the result", "A | −B | +C | = 결과 | 결과 주변의 이웃"),
}
t = i18n.Translator(__name__, STRINGS)


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
    gr.Markdown(t("intro"))
    gr.Markdown(metrics_markdown(), elem_classes=i18n.VERBATIM)
    with gr.Tab(t("sample")):
        with gr.Row():
            seed = uploads.integer_box(t("seed"))
            count = gr.Slider(1, common.MAX_SAMPLES, value=32, step=1, label=t("count"))
            numbered = gr.Checkbox(value=True, label=t("numbered"))
        run = gr.Button(t("generate"), variant="primary")
        grid = gr.Image(label=t("samples"), type="pil", format="png", elem_id="dcgan-grid")
        i18n.examples([[0, 32, True], [7, 64, True], [42, 16, False]], [seed, count, numbered], grid, generate,
                      cache_examples=True, cache_mode="lazy")
    with gr.Tab(t("tab_interpolate")):
        with gr.Row():
            seed_a = uploads.integer_box(t("seed_a"), value=1)
            seed_b = uploads.integer_box(t("seed_b"), value=2)
            steps = gr.Slider(2, common.MAX_INTERPOLATION_STEPS, value=10, step=1, label=t("steps"))
        run_interp = gr.Button(t("interpolate"), variant="primary")
        strip = gr.Image(label=t("strip"), type="pil", format="png")
        animation = gr.Image(label=t("animation"), type="filepath")
    with gr.Tab(t("tab_arithmetic")):
        gr.Markdown(t("arithmetic_intro"))
        with gr.Row():
            seed_arith = uploads.integer_box(t("seed_grid"))
            show = gr.Button(t("show_grid"))
        picks_grid = gr.Image(label=t("picks_grid"), type="pil", format="png")
        with gr.Row():
            picks_a = gr.Textbox(value="0", label=t("picks_a"), max_length=64)
            picks_b = gr.Textbox(value="1", label=t("picks_b"), max_length=64)
            picks_c = gr.Textbox(value="2", label=t("picks_c"), max_length=64)
        run_arith = gr.Button(t("compute"), variant="primary")
        result = gr.Image(label=t("result"), type="pil", format="png")

    run.click(generate, [seed, count, numbered], grid, api_name="dcgan_generate")
    run_interp.click(interpolate, [seed_a, seed_b, steps], [strip, animation], api_name="dcgan_interpolate")
    show.click(lambda s: generate(s, common.MAX_SAMPLES), seed_arith, picks_grid, api_name="dcgan_grid")
    run_arith.click(arithmetic, [seed_arith, picks_a, picks_b, picks_c], result, api_name="dcgan_arithmetic")
