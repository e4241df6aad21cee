"""Style-based GANs tab: StyleGAN and StyleGAN2 style mixing, truncation, stochastic variation and the droplet
artifact; StyleGAN2 with and without ADA on 2000 images; ProGAN's growth replayed stage by stage; BigGAN's classes,
truncation and interpolations. Models: models/stylegan.py, models/biggan.py; training: train/stylegan.py,
train/biggan.py.

Every sub-tab works with the checkpoints that resolve (Hub, HF cache or bundled); the intro names the missing ones
with the command that trains them.
"""

from __future__ import annotations

import functools

import gradio as gr
import numpy as np
import torch
from PIL import Image

from demos import common, i18n, uploads
from models import stylegan as S
from models.biggan import BigGAN, truncated_latents
from models.hub import default_device, load_pretrained

TITLE = "Style-based GANs"
DATASET = "fashion-styles"
CHECKPOINTS = {  # model key -> (checkpoint, class, title, train command)
    "stylegan": ("stylegan-fashion-styles", S.StyleGAN, "StyleGAN (AdaIN)",
                 "python -m train.stylegan --model=stylegan"),
    "stylegan2": ("stylegan2-fashion-styles", S.StyleGAN2, "StyleGAN2 (demodulation)",
                  "python -m train.stylegan --model=stylegan2"),
    "progan": ("progan-fashion-styles", S.ProGAN, "ProGAN", "python -m train.stylegan --model=progan"),
    "biggan": ("biggan-fashion-styles", BigGAN, "BigGAN", "python -m train.biggan"),
    # StyleGAN2-ADA's limited-data setting: the same model and 2000 images, with and without the augmentation
    "ada": ("stylegan2-ada-2k-fashion-styles", S.StyleGAN2, "StyleGAN2-ADA, 2k images",
            "python -m train.stylegan --model=stylegan2 --subset=2000 --ada --kimg=160"),
    "noada": ("stylegan2-2k-fashion-styles", S.StyleGAN2, "StyleGAN2, 2k images, no ADA",
              "python -m train.stylegan --model=stylegan2 --subset=2000 --kimg=160"),
}
ADA_PAIR = ("ada", "noada")
R_T_WINDOW = 25            # the ADA plot's running mean of r_t (logged every 10 steps)
MAX_TRUNCATION = 4.0       # BigGAN's threshold slider; above it truncation changes nothing visible
STYLE_MODELS = ("stylegan", "stylegan2")
LAYER_RANGES = ("coarse", "middle", "fine")  # which of B's styles replace A's in the mixing grid
MAX_MIX_SEEDS = 6          # rows and columns of the mixing grid
MAX_RESAMPLES = 16         # noise resamplings of one image
PSI_ROW = (0.0, 0.25, 0.5, 0.75, 1.0)
SCALE = 3                  # 32-px images shown 3x (nearest)
PAPERS = [
    i18n.Paper("ProGAN", "Karras et al. 2018", "Progressive Growing of GANs for Improved Quality, Stability, and "
               "Variation", "1710.10196", "품질, 안정성, 다양성을 높이는 GAN의 점진적 성장", model_ko="ProGAN (점진적 성장 GAN)"),
    i18n.Paper("StyleGAN", "Karras, Laine & Aila 2019", "A Style-Based Generator Architecture for Generative "
               "Adversarial Networks", "1812.04948", "생성적 적대 신경망을 위한 스타일 기반 생성자 구조"),
    i18n.Paper("StyleGAN2", "Karras et al. 2020", "Analyzing and Improving the Image Quality of StyleGAN",
               "1912.04958", "StyleGAN 이미지 품질의 분석과 개선"),
    i18n.Paper("BigGAN", "Brock, Donahue & Simonyan 2019", "Large Scale GAN Training for High Fidelity Natural "
               "Image Synthesis", "1809.11096", "고화질 자연 이미지 합성을 위한 대규모 GAN 학습"),
    i18n.Paper("StyleGAN2-ADA", "Karras et al. 2020", "Training Generative Adversarial Networks with Limited Data",
               "2006.06676", "적은 데이터로 생성적 적대 신경망 학습하기"),
]
PAPERS_EN, PAPERS_KO = i18n.paper_list(PAPERS)
CLASSES_KO = ("티셔츠/탑", "바지", "풀오버", "드레스", "코트", "샌들", "셔츠", "운동화", "가방", "앵클부츠")
STRINGS = {
    "title": (TITLE, "스타일 기반 GAN"),
    "intro": (
        "ProGAN, StyleGAN, StyleGAN2 (and StyleGAN2-ADA on 2000 of its images) and BigGAN at 32×32 on styled Fashion-MNIST (each item with its own pose, colours, texture and "
        "background, so coarse styles carry shape and pose, fine styles colour and texture). In StyleGAN the mapping network "
        "turns z into w; every layer receives w as a style (AdaIN in StyleGAN, weight demodulation in StyleGAN2) and "
        "its own noise.\n\n" + PAPERS_EN,
        "ProGAN, StyleGAN, StyleGAN2(그리고 그중 2천 장으로 학습한 StyleGAN2-ADA), BigGAN을 스타일을 입힌 Fashion-MNIST(옷마다 자세, 색, 무늬, 배경이 다름: 거친 스타일은 모양과 자세를, 세밀한 스타일은 "
        "색과 무늬를 나릅니다)에서 32×32로 학습했습니다. StyleGAN에서는 매핑 네트워크가 z를 w로 바꾸고, 모든 "
        "층이 w를 스타일로(StyleGAN은 AdaIN, StyleGAN2는 가중치 복조) 받으며 층마다 자기 노이즈를 받습니다.\n\n"
        + PAPERS_KO),
    "missing": ("*Not bundled yet* (train with `python -m train.stylegan --model=...`):",
                "*아직 포함되지 않은 체크포인트* (학습: `python -m train.stylegan --model=...`):"),
    "coarse": ("coarse (4-8 px: shape, pose)", "거친 스타일 (4-8 px: 모양, 자세)"),
    "middle": ("middle (16 px)", "중간 스타일 (16 px)"),
    "fine": ("fine (32 px: colour, texture)", "세밀한 스타일 (32 px: 색, 무늬)"),
    "tab_mixing": ("Style mixing", "스타일 혼합"),
    "tab_truncation": ("Truncation", "절단 트릭"),
    "tab_noise": ("Stochastic variation", "확률적 변이"),
    "tab_droplets": ("Droplet artifact", "물방울 아티팩트"),
    "tab_progan": ("ProGAN growth", "ProGAN 점진적 성장"),
    "tab_ada": ("ADA (2k images)", "ADA (이미지 2천 장)"),
    "ada_help": (
        "StyleGAN2 trained on only 2000 images, with and without adaptive discriminator augmentation (same seed, "
        "same length). Without ADA the discriminator memorises the 2000 reals: r_t, the share of reals it scores "
        "positive, climbs to ~0.8. With ADA every image D sees is augmented with probability p, and p is raised "
        "whenever r_t exceeds the target 0.6. The table gives the kit's numbers against the full test set (the "
        "full-data StyleGAN2, 60k images for the same length, for scale).",
        "이미지 2천 장만으로 적응형 판별자 증강(ADA)을 쓰고/안 쓰고 학습한 StyleGAN2입니다(같은 시드, 같은 길이). "
        "ADA가 없으면 판별자가 실제 이미지 2천 장을 외워 r_t(양수로 점수 매긴 실제 이미지의 비율)가 0.8 가까이 올라갑니다. "
        "ADA는 판별자가 보는 모든 이미지를 확률 p로 증강하고, r_t가 목표 0.6을 넘을 때마다 p를 올립니다. 표는 전체 "
        "테스트 세트에 대한 평가 도구의 수치입니다(비교용: 같은 길이 동안 6만 장 전체로 학습한 StyleGAN2)."),
    "compare_ada": ("Compare", "비교"),
    "ada_curve": ("p and r_t over training", "학습 중 p와 r_t"),
    "seeds_a": ("Source A seeds (rows), comma-separated", "원본 A 시드 (행, 쉼표로 구분)"),
    "seeds_b": ("Source B seeds (columns)", "원본 B 시드 (열)"),
    "layers": ("Styles taken from B", "B에서 가져올 스타일"),
    "psi": ("Truncation ψ (1 = none, 0 = the average w)", "절단 ψ (1 = 없음, 0 = 평균 w)"),
    "mix": ("Mix styles", "스타일 혼합"),
    "mixing_help": (
        "Row headers are A, column headers B; each cell is A with B's styles in the chosen layers. **coarse** = "
        "4–8 px layers (shape, pose), **middle** = 16 px, **fine** = 32 px (colour, texture).",
        "행 머리는 A, 열 머리는 B이며, 각 칸은 고른 층의 스타일만 B에서 가져온 A입니다. **coarse** = 4–8 px 층(모양, "
        "자세), **middle** = 16 px, **fine** = 32 px(색, 무늬)."),
    "truncate": ("Show ψ from 0 to 1", "ψ를 0부터 1까지 보기"),
    "truncation_help": ("Columns: ψ = 0, 0.25, 0.5, 0.75, 1. At ψ = 0 every seed becomes the average image.",
                        "열: ψ = 0, 0.25, 0.5, 0.75, 1. ψ = 0이면 모든 시드가 평균 이미지가 됩니다."),
    "resamples": ("Noise resamplings", "노이즈 재추출 횟수"),
    "vary": ("Resample the noise", "노이즈 다시 뽑기"),
    "noise_help": (
        "Same w, fresh noise in every layer: what changes is stochastic detail. Last two images: the per-pixel "
        "standard deviation over the resamplings (bright = noise-driven) and the image with noise switched off.",
        "같은 w에 층마다 새 노이즈를 넣습니다. 바뀌는 것은 확률적 세부뿐입니다. 마지막 두 이미지는 재추출에 대한 "
        "픽셀별 표준편차(밝을수록 노이즈의 영향)와 노이즈를 끈 이미지입니다."),
    "resolution": ("Feature-map resolution", "특징 맵 해상도"),
    "compare_droplets": ("Compare feature maps", "특징 맵 비교"),
    "droplet_help": (
        "Mean |activation| of every feature map at that resolution, before normalisation, for the same seeds. "
        "StyleGAN's AdaIN normalises each map by its own statistics, so the generator can sneak signal strength "
        "past it with one spike: the droplet. StyleGAN2's demodulation normalises the weights instead. Peak/mean "
        "is the spike's height over the map's average (higher = more droplet-like).",
        "같은 시드에서 그 해상도의 모든 특징 맵의 평균 |활성값|(정규화 전)입니다. StyleGAN의 AdaIN은 맵마다 자기 "
        "통계로 정규화하므로 생성자가 한 점의 뾰족한 값으로 신호 세기를 빼돌릴 수 있는데, 이것이 물방울입니다. "
        "StyleGAN2의 복조는 대신 가중치를 정규화합니다. Peak/mean은 맵 평균에 대한 뾰족한 값의 높이입니다(클수록 "
        "물방울에 가까움)."),
    "stage": ("Resolution (stage)", "해상도 (단계)"),
    "alpha": ("Fade-in α (0 = previous resolution upsampled, 1 = new block)",
              "페이드인 α (0 = 이전 해상도를 키운 것, 1 = 새 블록)"),
    "grow": ("Show", "보기"),
    "progan_help": (
        "Each stage is the generator as it was at the end of that stage of training; α blends its new block's image "
        "with the previous resolution's, as during the fade-in.",
        "각 단계는 그 단계의 학습이 끝났을 때의 생성자입니다. α는 페이드인 때처럼 새 블록의 이미지와 이전 해상도의 "
        "이미지를 섞습니다."),
    "image": ("Result", "결과"),
    "model_stylegan": ("StyleGAN (AdaIN)", "StyleGAN (AdaIN 정규화)"),
    "model_stylegan2": ("StyleGAN2 (demodulation)", "StyleGAN2 (가중치 복조)"),
    **{f"class_{i}": (name, ko) for i, (name, ko) in enumerate(zip(
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        CLASSES_KO))},
    "tab_biggan": ("BigGAN", "BigGAN"),
    "biggan_help": (
        "Class-conditional samples with the truncation trick: z is drawn from a normal truncated to |z_i| ≤ "
        "threshold (rightmost = practically none); lower thresholds trade variety for fidelity. Interpolate: first "
        "row from seed A to seed B inside class A, second row from class A to class B (the shared class embedding "
        "blended) at seed A.",
        "클래스 조건부 샘플과 절단 트릭입니다. z를 |z_i| ≤ 임계값으로 자른 정규분포에서 뽑습니다(맨 오른쪽 = 사실상 "
        "절단 없음). 임계값이 낮을수록 다양성을 내주고 충실도를 얻습니다. 보간: 첫 줄은 클래스 A 안에서 시드 A에서 "
        "시드 B로, 둘째 줄은 시드 A에서 클래스 A에서 클래스 B로(공유 클래스 임베딩을 섞음) 갑니다."),
    "class": ("Class (A)", "클래스 (A)"),
    "class_b": ("Class B", "클래스 B"),
    "seed_b": ("Seed B", "시드 B"),
    "threshold": ("Truncation threshold", "절단 임계값"),
    "sample_class": ("Sample the class", "클래스 샘플링"),
    "show_curve": ("Truncation curve", "절단 곡선"),
    "curve": ("FD, precision, recall, class accuracy vs truncation", "절단에 따른 FD, 정밀도, 재현율, 클래스 정확도"),
}
t = i18n.Translator(__name__, STRINGS)


def family(key: str) -> str:
    """The trainer that makes the checkpoint (models.hub names it when the checkpoint is missing)."""
    return "biggan" if key == "biggan" else "stylegan"


@functools.cache
def available() -> tuple[str, ...]:
    return tuple(k for k, c in CHECKPOINTS.items() if common.resolvable([c[0]], family(k)))


@functools.cache
def model(key: str) -> torch.nn.Module:
    name, cls, _, _ = CHECKPOINTS[key]
    return load_pretrained(cls, name, family=family(key)).eval()


def check_model(key, allowed=STYLE_MODELS) -> str:
    names = [k for k in available() if k in allowed]
    if key not in names:
        raise common.gr_error(f"Model must be one of {', '.join(names) or '(none bundled yet)'}; got {key!r}")
    return key


def check_seeds(text, name: str) -> list[int]:
    """'1, 2, 3' -> [1, 2, 3]: at most MAX_MIX_SEEDS seeds in [0, MAX_SEED]."""
    parts = [p.strip() for p in str(text if text is not None else "").split(",") if p.strip()]
    if not parts or len(parts) > MAX_MIX_SEEDS:
        raise common.gr_error(f"{name}: give 1 to {MAX_MIX_SEEDS} comma-separated seeds, got {text!r}")
    try:
        return [common.check_seed(int(p), name) for p in parts]
    except ValueError:
        raise common.gr_error(f"{name}: seeds are whole numbers, got {text!r}") from None


def layer_range(num_ws: int, layers: str) -> tuple[int, int | None]:
    """w indices of coarse (4-8 px: the first 4), middle (the next up to the last resolution), fine (the last 2)."""
    if layers not in LAYER_RANGES:
        raise common.gr_error(f"Layers must be one of {', '.join(LAYER_RANGES)}; got {layers!r}")
    return {"coarse": (0, 4), "middle": (4, num_ws - 2), "fine": (num_ws - 2, None)}[layers]


def w_of(G: S.StyleGenerator, seeds: list[int], psi: float) -> torch.Tensor:
    """One w per seed (z drawn from the seed, like every tab), truncated by psi."""
    z = torch.cat([common.latents(s, 1, G.latent_dim) for s in seeds]).to(default_device())
    return G.map(z, psi)


def noise_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@torch.inference_mode()
def mixing_grid(key, seeds_a, seeds_b, layers, psi):
    """StyleGAN's Figure 3: a grid whose row headers are A, column headers B, cells A with B's styles in `layers`."""
    G = model(check_model(key))
    a, b = check_seeds(seeds_a, "Source A seeds"), check_seeds(seeds_b, "Source B seeds")
    psi = common.check_float(psi, "Truncation psi", 0, 1)
    start, stop = layer_range(G.num_ws, layers)
    wa, wb = G.broadcast(w_of(G, a, psi)), G.broadcast(w_of(G, b, psi))
    heads_a = G.synthesis(wa, noise_mode="const").cpu()
    heads_b = G.synthesis(wb, noise_mode="const").cpu()
    blank = torch.ones(1, *heads_a.shape[1:])
    cells = [blank, heads_b]
    for i in range(len(a)):
        mixed = S.style_mix(wa[i:i + 1].expand(len(b), -1, -1), wb, start, stop)
        cells += [heads_a[i:i + 1], G.synthesis(mixed, noise_mode="const").cpu()]
    return common.image_grid(torch.cat(cells), nrow=len(b) + 1, scale=SCALE)


@torch.inference_mode()
def truncation_grid(key, seeds):
    """Rows = seeds, columns = psi in PSI_ROW: the trade of variety for typicality around w_avg."""
    G = model(check_model(key))
    seeds = check_seeds(seeds, "Seeds")
    rows = [G.synthesis(G.broadcast(w_of(G, seeds, psi)), noise_mode="const").cpu() for psi in PSI_ROW]
    images = torch.stack(rows, 1).flatten(0, 1)  # (seeds * psis, C, H, W), row-major by seed
    return common.image_grid(images, nrow=len(PSI_ROW), scale=SCALE)


@torch.inference_mode()
def stochastic_variation(key, seed, resamples):
    """One w, `resamples` fresh noises; then the per-pixel std map and the noise-free image (StyleGAN Figure 4)."""
    G = model(check_model(key))
    seed = common.check_seed(seed)
    n = common.check_int(resamples, "Noise resamplings", 2, MAX_RESAMPLES)
    ws = G.broadcast(w_of(G, [seed], 1.0)).expand(n, -1, -1)
    images = G.synthesis(ws, noise_mode="random", generator=noise_generator(seed)).cpu()
    std = images.std(0).mean(0)                                           # (H, W)
    heat = (std / std.max().clamp_min(1e-6) * 2 - 1).expand(3, -1, -1)   # grey map in [-1, 1]
    quiet = G.synthesis(ws[:1], noise_mode="none").cpu()
    grid = common.image_grid(torch.cat([images, heat[None], quiet]), nrow=min(n + 2, 6), scale=SCALE)
    return grid, f"mean per-pixel std over {n} resamplings: {std.mean():.4f} (image range [-1, 1])"


def activation_maps(G: S.StyleGenerator, seeds: list[int], resolution: int) -> list[torch.Tensor]:
    """Mean |activation| over channels of each layer at `resolution`, before normalisation: [(N, H, W)]."""
    keep: list[torch.Tensor] = []
    G.synthesis(G.broadcast(w_of(G, seeds, 1.0)), noise_mode="const", keep=keep)
    return [f.abs().mean(1) for f in keep if f.shape[-1] == resolution]


@torch.inference_mode()
def droplets(seeds, resolution):
    """The same seeds through StyleGAN and StyleGAN2: images and feature-map magnitudes side by side, with each
    map's peak-to-mean ratio."""
    models = [k for k in STYLE_MODELS if k in available()]
    if not models:
        raise common.gr_error("No StyleGAN or StyleGAN2 checkpoint is bundled yet: python -m train.stylegan")
    seeds = check_seeds(seeds, "Seeds")
    resolution = common.check_int(resolution, "Resolution", 8, 32)
    if resolution not in (8, 16, 32):
        raise common.gr_error(f"Resolution must be 8, 16 or 32; got {resolution}")
    out, lines = [], []
    for key in models:
        G = model(key)
        maps = activation_maps(G, seeds, resolution)[-1]                  # the last layer at that resolution
        normed = maps / maps.amax((1, 2), keepdim=True).clamp_min(1e-6)
        big = torch.nn.functional.interpolate(normed[:, None], size=G.image_size, mode="nearest")
        images = G.synthesis(G.broadcast(w_of(G, seeds, 1.0)), noise_mode="const").cpu()
        grid = common.image_grid(torch.cat([images, big.expand(-1, 3, -1, -1) * 2 - 1]), nrow=len(seeds), scale=SCALE)
        title = CHECKPOINTS[key][2]
        out.append((common.caption(grid, title), title))
        ratio = (maps.amax((1, 2)) / maps.mean((1, 2)).clamp_min(1e-6)).tolist()
        lines.append(f"{title}: peak/mean per seed " + ", ".join(f"{r:.1f}" for r in ratio)
                     + f" (median {float(np.median(ratio)):.1f})")
    return out, "\n\n".join(lines)


@torch.inference_mode()
def progan_growth(seed, stage, alpha, count=16):
    """`count` samples of the generator saved at `stage` (resolution 4 * 2^stage), fading in with `alpha`, shown at
    the final size."""
    G = model(check_model("progan", ("progan",)))
    seed = common.check_seed(seed)
    stage = common.check_int(stage, "Stage", 0, len(G.stages) - 1)
    alpha = common.check_float(alpha, "Alpha", 0, 1)
    z = common.latents(seed, count, G.latent_dim).to(default_device())
    images = G.stages[stage](z, alpha).cpu()
    images = torch.nn.functional.interpolate(images, size=G.image_size, mode="nearest")
    return common.image_grid(images, nrow=8, scale=SCALE)


def check_class(label) -> int:
    from train.data import FASHION_MNIST_CLASSES

    if label in FASHION_MNIST_CLASSES:
        return FASHION_MNIST_CLASSES.index(label)
    raise common.gr_error(f"Class must be one of {', '.join(FASHION_MNIST_CLASSES)}; got {label!r}")


def check_threshold(value) -> float:
    return common.check_float(value, "Truncation threshold", 0.05, MAX_TRUNCATION)


@torch.inference_mode()
def biggan_class(label, seed, threshold, count=16):
    """`count` samples of one class with z truncated to |z_i| <= threshold (MAX_TRUNCATION = barely truncated)."""
    G = model(check_model("biggan", ("biggan",)))
    label, seed, threshold = check_class(label), common.check_seed(seed), check_threshold(threshold)
    z = truncated_latents(count, G.latent_dim, threshold, torch.Generator().manual_seed(seed)).to(default_device())
    images = G(z, torch.full((count,), label, device=z.device)).cpu()
    return common.image_grid(images, nrow=8, scale=SCALE)


@torch.inference_mode()
def biggan_interpolate(label_a, label_b, seed_a, seed_b, threshold, steps=8):
    """Rows: z from seed A to seed B within class A; then the class embedding from A to B at seed A's z; both
    linear (the class embedding is shared by every block, so blending it morphs one class into the other)."""
    G = model(check_model("biggan", ("biggan",)))
    a, b = check_class(label_a), check_class(label_b)
    threshold = check_threshold(threshold)
    za, zb = (truncated_latents(1, G.latent_dim, threshold, torch.Generator().manual_seed(common.check_seed(s)))
              for s in (seed_a, seed_b))
    t_ = torch.linspace(0, 1, steps)[:, None]
    within = G(torch.lerp(za, zb, t_).to(default_device()), torch.full((steps,), a, device=default_device())).cpu()
    shared = torch.lerp(G.shared.weight[a], G.shared.weight[b], t_.to(G.shared.weight))     # (steps, shared_dim)
    across = G(za.expand(steps, -1).to(default_device()), class_embedding=shared)
    return common.image_grid(torch.cat([within, across.cpu()]), nrow=steps, scale=SCALE)


def checkpoint_json(key: str, filename: str) -> dict:
    """metrics.json / training.json of a checkpoint that resolves; {} where the trainer did not write it."""
    import json

    from models.hub import checkpoint_folder

    path = checkpoint_folder(CHECKPOINTS[key][0], family(key)) / filename
    return json.loads(path.read_text()) if path.exists() else {}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on a Space
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig) -> str:
    out = common.temporary_file(".png")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    pyplot().close(fig)
    return out


def truncation_plot():
    """FD / precision / recall / class accuracy against the truncation threshold, from the checkpoint's metrics."""
    check_model("biggan", ("biggan",))
    curve = checkpoint_json("biggan", "metrics.json").get("truncation_curve")
    if not curve:
        raise common.gr_error("This BigGAN checkpoint has no truncation curve: python -m train.evaluate ... or retrain")
    x = [r["threshold"] if r["threshold"] is not None else MAX_TRUNCATION for r in curve]
    fig, (left, right) = pyplot().subplots(1, 2, figsize=(9, 3.2))
    left.plot(x, [r["FD"] for r in curve], "o-")
    left.set(xlabel="truncation threshold (rightmost: none)", ylabel="FD (lower is better)")
    for key in ("precision", "recall", "class_accuracy"):
        right.plot(x, [r[key] for r in curve], "o-", label=key)
    right.set(xlabel="truncation threshold (rightmost: none)", ylim=(0, 1))
    right.legend()
    return save_figure(fig)


def ada_table(keys) -> str:
    """The kit's numbers of each checkpoint in `keys` (those without metrics show dashes)."""
    lines = ["| model | FD ↓ | KID×1000 ↓ | precision ↑ | recall ↑ |", "|---|---|---|---|---|"]
    for key in keys:
        values = checkpoint_json(key, "metrics.json").get("values", {})
        cells = [f"{values[m]:.{d}f}" if m in values else "–" for m, d in
                 (("FD", 1), ("KIDx1000", 0), ("precision", 3), ("recall", 3))]
        lines.append(f"| {CHECKPOINTS[key][2]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ada_plot(keys) -> str | None:
    """ADA's p (left) and every run's r_t (right) against kimg, from the trainers' logs; None if none has a log."""
    from train.common import moving_average

    runs = {k: checkpoint_json(k, "training.json").get("history", []) for k in keys}
    runs = {k: [r for r in h if "r_t" in r] for k, h in runs.items()}
    if not any(runs.values()):
        return None
    fig, (left, right) = pyplot().subplots(1, 2, figsize=(9, 3.2))
    for key, history in runs.items():
        if not history:  # trained before r_t was logged without ADA
            continue
        kimg = [r["kimg"] for r in history]
        if any("p" in r for r in history):
            left.plot(kimg, [r.get("p", 0.0) for r in history], label=CHECKPOINTS[key][2])
        smooth = moving_average([r["r_t"] for r in history], R_T_WINDOW)  # r_t of 4 batches is noisy
        right.plot(kimg[len(kimg) - len(smooth):], smooth, label=CHECKPOINTS[key][2])
    right.axhline(S.ADA_TARGET, color="grey", linestyle="--", label=f"target {S.ADA_TARGET}")
    left.set(xlabel="kimg", ylabel="augmentation probability p", ylim=(0, None))
    right.set(xlabel="kimg", ylabel=f"r_t = E[sign D(real)], mean of {R_T_WINDOW} logs", ylim=(-0.05, 1.05))
    for ax in (left, right):
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    return save_figure(fig)


@torch.inference_mode()
def ada_comparison(seed, count=16):
    """The ADA / no-ADA pair on the same 2k images: the same z through each, the kit's numbers, p and r_t."""
    keys = [k for k in ADA_PAIR if k in available()]
    if not keys:
        raise common.gr_error("No StyleGAN2-ADA pair is bundled yet: " + "; ".join(CHECKPOINTS[k][3] for k in ADA_PAIR))
    seed = common.check_seed(seed)
    gallery = []
    for key in keys:
        G = model(key)
        z = common.latents(seed, count, G.latent_dim).to(default_device())
        grid = common.image_grid(G(z, noise_mode="const").clamp(-1, 1).cpu(), nrow=8, scale=SCALE)
        gallery.append((common.caption(grid, CHECKPOINTS[key][2]), CHECKPOINTS[key][2]))
    reference = ["stylegan2"] if "stylegan2" in available() else []
    return gallery, ada_table(keys + reference), ada_plot(keys)


def samplers() -> dict[str, common.Sampler]:
    def sampler(key):
        @torch.inference_mode()
        def sample(seed, n):
            G = model(key)
            z = common.latents(seed, n, G.latent_dim).to(default_device())
            if key == "progan":
                images = G(z)
            elif key == "biggan":  # sample i of class i % 10, untruncated
                images = G(z, torch.arange(n, device=z.device) % G.num_classes)
            else:
                images = G(z, noise_mode="random", generator=noise_generator(seed))
            # ProGAN and the StyleGANs have a linear toRGB, no output tanh (NVlabs clamps at display; BigGAN's tanh
            # makes this a no-op): the Compare tab wants [-1, 1]
            return images.clamp(-1, 1).cpu()
        return common.Sampler(sample, CHECKPOINTS[key][2], TITLE, DATASET, unconditional=key != "biggan")

    return {CHECKPOINTS[k][0]: sampler(k) for k in available()}


def build() -> None:
    names = list(available())
    style = [k for k in names if k in STYLE_MODELS]
    missing = [c[0] for k, c in CHECKPOINTS.items() if k not in names]
    gr.Markdown(t("intro"))
    if missing:
        with gr.Row():
            gr.Markdown(t("missing"))
            gr.Markdown(", ".join(missing), elem_classes=i18n.VERBATIM)  # checkpoint names: data
    choices = [(t(f"model_{k}"), k) for k in style]
    default = style[-1] if style else None
    with gr.Tab(t("tab_mixing")):
        gr.Markdown(t("mixing_help"))
        with gr.Row():
            mix_model = gr.Radio(choices, value=default, label=t("model"))
            layers = gr.Radio([(t(name), name) for name in LAYER_RANGES], value="coarse", label=t("layers"))
            psi = gr.Slider(0, 1, value=1, step=0.05, label=t("psi"))
        with gr.Row():
            seeds_a = gr.Textbox("1, 2, 3, 4", label=t("seeds_a"))
            seeds_b = gr.Textbox("5, 6, 7, 8, 9", label=t("seeds_b"))
        mix = gr.Button(t("mix"), variant="primary")
        mix_image = gr.Image(label=t("image"), type="pil", format="png")
    with gr.Tab(t("tab_truncation")):
        gr.Markdown(t("truncation_help"))
        with gr.Row():
            trunc_model = gr.Radio(choices, value=default, label=t("model"))
            trunc_seeds = gr.Textbox("1, 2, 3, 4", label=t("seeds_a"))
        truncate = gr.Button(t("truncate"), variant="primary")
        trunc_image = gr.Image(label=t("image"), type="pil", format="png")
    with gr.Tab(t("tab_noise")):
        gr.Markdown(t("noise_help"))
        with gr.Row():
            noise_model = gr.Radio(choices, value=default, label=t("model"))
            noise_seed = uploads.integer_box(t("seed"), value=3)
            resamples = gr.Slider(2, MAX_RESAMPLES, value=8, step=1, label=t("resamples"))
        vary = gr.Button(t("vary"), variant="primary")
        noise_image = gr.Image(label=t("image"), type="pil", format="png")
        noise_report = gr.Markdown(elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_droplets")):
        gr.Markdown(t("droplet_help"))
        with gr.Row():
            droplet_seeds = gr.Textbox("1, 2, 3, 4, 5, 6", label=t("seeds_a"))
            resolution = gr.Radio([8, 16, 32], value=32, label=t("resolution"))
        compare_droplets = gr.Button(t("compare_droplets"), variant="primary")
        droplet_gallery = gr.Gallery(label=t("image"), columns=2, height="auto", format="png")
        droplet_report = gr.Markdown(elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_ada")):
        gr.Markdown(t("ada_help"))
        with gr.Row():
            ada_seed = uploads.integer_box(t("seed"))
            compare_ada = gr.Button(t("compare_ada"), variant="primary")
        ada_gallery = gr.Gallery(label=t("image"), columns=2, height="auto", format="png")
        with gr.Row():
            ada_numbers = gr.Markdown(elem_classes=i18n.VERBATIM)
            ada_curve = gr.Image(label=t("ada_curve"), type="filepath")
    with gr.Tab(t("tab_progan")):
        gr.Markdown(t("progan_help"))
        with gr.Row():
            progan_seed = uploads.integer_box(t("seed"))
            stage = gr.Slider(0, 3, value=3, step=1, label=t("stage"))
            alpha = gr.Slider(0, 1, value=1, step=0.05, label=t("alpha"))
        grow = gr.Button(t("grow"), variant="primary")
        progan_image = gr.Image(label=t("image"), type="pil", format="png")

    mix.click(mixing_grid, [mix_model, seeds_a, seeds_b, layers, psi], mix_image, api_name="stylegan_mixing")
    truncate.click(truncation_grid, [trunc_model, trunc_seeds], trunc_image, api_name="stylegan_truncation")
    vary.click(stochastic_variation, [noise_model, noise_seed, resamples], [noise_image, noise_report],
               api_name="stylegan_noise")
    compare_droplets.click(droplets, [droplet_seeds, resolution], [droplet_gallery, droplet_report],
                           api_name="stylegan_droplets")
    compare_ada.click(ada_comparison, ada_seed, [ada_gallery, ada_numbers, ada_curve], api_name="stylegan_ada")
    with gr.Tab(t("tab_biggan")):
        from train.data import FASHION_MNIST_CLASSES

        gr.Markdown(t("biggan_help"))
        with gr.Row():
            classes = [(t(f"class_{i}"), name) for i, name in enumerate(FASHION_MNIST_CLASSES)]
            label = gr.Dropdown(classes, value="Sneaker", label=t("class"))
            label_b = gr.Dropdown(classes, value="Bag", label=t("class_b"))
            big_seed = uploads.integer_box(t("seed"))
            big_seed_b = uploads.integer_box(t("seed_b"), value=1)
            threshold = gr.Slider(0.05, MAX_TRUNCATION, value=MAX_TRUNCATION, step=0.05, label=t("threshold"))
        with gr.Row():
            sample_class = gr.Button(t("sample_class"), variant="primary")
            interpolate = gr.Button(t("interpolate"))
            show_curve = gr.Button(t("show_curve"))
        with gr.Row():
            big_image = gr.Image(label=t("image"), type="pil", format="png")
            curve = gr.Image(label=t("curve"), type="filepath")

    grow.click(progan_growth, [progan_seed, stage, alpha], progan_image, api_name="progan_growth")
    sample_class.click(biggan_class, [label, big_seed, threshold], big_image, api_name="biggan_class")
    interpolate.click(biggan_interpolate, [label, label_b, big_seed, big_seed_b, threshold], big_image,
                      api_name="biggan_interpolate")
    show_curve.click(truncation_plot, None, curve, api_name="biggan_truncation_curve")
