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

from demos import common, i18n, uploads
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
PAPERS = [  # in the lecture's order
    i18n.Paper("GAN (minimax, non-saturating)", "Goodfellow et al. 2014", "Generative Adversarial Nets",
               "1406.2661", "생성적 적대 신경망", model_ko="GAN (미니맥스, 비포화 손실)"),
    i18n.Paper("LSGAN", "Mao et al. 2017", "Least Squares Generative Adversarial Networks",
               "1611.04076", "최소제곱 생성적 적대 신경망", model_ko="LSGAN (최소제곱 GAN)"),
    i18n.Paper("WGAN", "Arjovsky, Chintala & Bottou 2017", "Wasserstein GAN",
               "1701.07875", "와서스타인 GAN", model_ko="WGAN (와서스타인 GAN)"),
    i18n.Paper("WGAN-GP", "Gulrajani et al. 2017", "Improved Training of Wasserstein GANs",
               "1704.00028", "와서스타인 GAN의 개선된 학습법", model_ko="WGAN-GP (그래디언트 페널티)"),
    i18n.Paper("DRAGAN", "Kodali et al. 2017", "On Convergence and Stability of GANs",
               "1705.07215", "GAN의 수렴성과 안정성에 관하여", model_ko="DRAGAN"),
    i18n.Paper("SN-GAN", "Miyato et al. 2018", "Spectral Normalization for Generative Adversarial Networks",
               "1802.05957", "생성적 적대 신경망을 위한 스펙트럼 정규화", model_ko="SN-GAN (스펙트럼 정규화 GAN)"),
    i18n.Paper("R1", "Mescheder, Geiger & Nowozin 2018", "Which Training Methods for GANs do actually Converge?",
               "1801.04406", "GAN의 학습 방법 가운데 실제로 수렴하는 것은 무엇인가?",
               model_ko="R1 (실제 데이터에 대한 그래디언트 페널티)"),
    i18n.Paper("EBGAN", "Zhao, Mathieu & LeCun 2017", "Energy-based Generative Adversarial Network",
               "1609.03126", "에너지 기반 생성적 적대 신경망", model_ko="EBGAN (에너지 기반 GAN)"),
    i18n.Paper("BEGAN", "Berthelot, Schumm & Metz 2017", "BEGAN: Boundary Equilibrium Generative Adversarial Networks",
               "1703.10717", "경계 평형 생성적 적대 신경망", model_ko="BEGAN (경계 평형 GAN)"),
]
PAPERS_EN, PAPERS_KO = i18n.paper_list(PAPERS)
STRINGS = {  # key -> (English, Korean); build() uses only the keys
    "title": (TITLE, "GAN 목적 함수"),
    "intro": (
        "One DCGAN generator (32×32 MNIST) trained under each objective the lecture compares; only the objective and "
        "what its paper prescribes for D (normalisation, optimiser, critic steps) differ. The original GAN uses the "
        "paper's MLPs. Losses: `models/objectives.py`; training: `python -m train.objectives --objective=NAME`.\n\n"
        + PAPERS_EN,
        "강의에서 비교하는 목적 함수마다 같은 DCGAN 생성자(32×32 MNIST)를 하나씩 학습했습니다. 달라지는 것은 목적 "
        "함수와, 그 논문이 판별자(D)에 대해 정한 것(정규화, 옵티마이저, 크리틱 업데이트 횟수)뿐입니다. 원조 GAN은 "
        "논문의 MLP를 그대로 씁니다. 손실 함수: `models/objectives.py`, 학습: "
        "`python -m train.objectives --objective=NAME`.\n\n"
        + PAPERS_KO),
    "missing": ("*Not bundled yet:* ", "*아직 포함되지 않은 체크포인트:* "),
    "tab_side": ("Side by side", "나란히 보기"),
    "tab_training": ("Training", "학습 과정"),
    "tab_metrics": ("Metrics", "평가 지표"),
    "per_objective": ("Samples per objective", "목적 함수별 샘플 수"),
    "run": ("Generate with every objective", "모든 목적 함수로 생성"),
    "gallery": ("Same latents, every objective", "같은 잠재 벡터, 모든 목적 함수"),
    "objective": ("Objective", "목적 함수"),
    "position": ("Replay position (0 = start, 1 = end of training)", "재생 위치 (0 = 학습 시작, 1 = 학습 끝)"),
    "show": ("Show training", "학습 과정 보기"),
    "curves": ("Training curves", "학습 곡선"),
    "replay": ("Replay", "학습 과정 재생"),
    "legend": (
        "**all classes 4-16 %** = whether every digit's share of the samples lies in 4–16 % (if not, the generator "
        "has (partly) collapsed) · **note** = why, when the lecture expects that objective to fail.",
        "**all classes 4-16 %** = 모든 숫자의 샘플 비율이 4–16 % 안에 드는지(아니면 생성자가 (부분적으로) 모드 "
        "붕괴를 일으킨 것) · **note** = 강의에서 그 목적 함수가 실패할 것으로 예상하는 경우 그 이유."),
}
t = i18n.Translator(__name__, STRINGS)


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
    found = common.resolvable([checkpoint(name) for name in OBJECTIVES], "objectives")
    return tuple(name for name in OBJECTIVES if checkpoint(name) in found)


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
    gr.Markdown(t("intro"))
    if missing:
        gr.Markdown(t("missing") + ", ".join(missing) + ".")
    with gr.Tab(t("tab_side")):
        with gr.Row():
            seed = uploads.integer_box(t("seed"))
            count = gr.Slider(1, MAX_PER_OBJECTIVE, value=8, step=1, label=t("per_objective"))
        run = gr.Button(t("run"), variant="primary")
        gallery = gr.Gallery(label=t("gallery"), columns=2, height="auto", format="png",  # lossless: pixel digits
                             elem_id="objectives-gallery")
    with gr.Tab(t("tab_training")):
        with gr.Row():
            objective = gr.Dropdown(names, value=names[0] if names else None, label=t("objective"))
            position = gr.Slider(0, 1, value=1, step=0.01, label=t("position"))
        show = gr.Button(t("show"), variant="primary")
        with gr.Row():
            plot = gr.Image(label=t("curves"), type="filepath")
            frame = gr.Image(label=t("frame"), type="pil", format="png")
            animation = gr.Image(label=t("replay"), type="filepath")
    with gr.Tab(t("tab_metrics")):
        gr.Markdown(protocol(), elem_classes=i18n.VERBATIM)
        gr.Markdown(t("metric_legend"))
        gr.Markdown(t("legend"))
        gr.Dataframe(metrics_table(), headers=["objective", "FD", "KID×1000", "precision", "recall", "classes %",
                                               "confident %", "all classes 4-16 %", "note"],
                     interactive=False, wrap=True)

    run.click(compare, [seed, count], gallery, api_name="objectives_compare")
    show.click(curves, objective, plot, api_name="objectives_curves").then(
        replay, [objective, position], [frame, animation], api_name="objectives_replay")
    position.release(replay, [objective, position], [frame, animation], api_name=False)
