"""Diffusion (DDPM) tab: sample digits from noise with a chosen number of DDIM steps (1000 = the DDPM ancestral
sampler), and watch the denoising: x_t and the network's prediction of x_0 over the steps, as a strip and a GIF.

Model: models/ddpm.py (Ho et al. 2020, arXiv:2006.11239; DDIM: Song et al. 2021, arXiv:2010.02502), trained by
train/ddpm.py. The schedulers are diffusers'.
"""

from __future__ import annotations

import functools
import json
import time

import gradio as gr
import torch

from demos import common, i18n, uploads
from models.ddpm import DDPM
from models.hub import checkpoint_folder, load_pretrained

TITLE = "Diffusion (DDPM)"
CHECKPOINT = "ddpm-mnist"
TRAIN_COMMAND = "python -m train.ddpm --export_dir=assets/checkpoints/ddpm-mnist"
# Limits (every input is bounded; the messages quote these). A sample costs one U-Net pass per step: ~2 ms per image
# per step for the bundled 0.7 M-parameter U-Net on 2 cores, so 16 samples x 1000 steps is ~30 s.
MAX_SAMPLES = 32              # images per request
MAX_STEPS = 1000              # sampling steps; 1000 = T, where the tab runs the DDPM ancestral sampler
MAX_NETWORK_PASSES = 16_000   # samples x steps per request: 16 samples at 1000 steps, 32 at 500
ETA_RANGE = (0.0, 1.0)        # DDIM's eta: 0 deterministic, 1 the DDPM-like amount of fresh noise per step
STRIP_COLUMNS = 8             # steps shown in the trajectory strip (evenly spaced, first and last included)
STRIP_SAMPLES = 4             # samples whose trajectory the strip and the animation show
ANIMATION_FRAMES = 40         # at most this many steps in the animation
STRINGS = {  # key -> (English, Korean); build() uses only the keys
    "title": (TITLE, "확산 모델 (DDPM)"),
    "intro": (
        "Denoising diffusion (DDPM; Ho, Jain & Abbeel 2020, [*Denoising Diffusion Probabilistic Models*]"
        "(https://arxiv.org/abs/2006.11239)): a U-Net learns to predict the noise added to a digit at a random step t "
        "of a 1000-step noising process; sampling runs the process backwards from pure noise. With fewer steps the "
        "tab uses DDIM (Song, Meng & Ermon 2021, [*Denoising Diffusion Implicit Models*]"
        "(https://arxiv.org/abs/2010.02502); eta 0: deterministic; eta 1 re-injects noise like DDPM); at "
        f"{MAX_STEPS} steps it runs DDPM's ancestral sampler. Each step costs one U-Net pass, so time grows linearly "
        "with the steps. Trained on MNIST on a CPU (`python -m train.ddpm`); the samplers are diffusers' "
        "DDPMScheduler and DDIMScheduler.",
        "디노이징 확산 모델(DDPM; Ho, Jain & Abbeel 2020, [*Denoising Diffusion Probabilistic Models*]"
        "(https://arxiv.org/abs/2006.11239), 「노이즈 제거 확산 확률 모델」): U-Net이 1000단계 노이즈 추가 과정의 "
        "임의의 단계 t에서 숫자에 더해진 노이즈를 예측하도록 학습합니다. 샘플링은 순수한 노이즈에서 출발해 이 과정을 "
        "거꾸로 되돌립니다. 단계 수가 더 적으면 DDIM(Song, Meng & Ermon 2021, [*Denoising Diffusion Implicit "
        "Models*](https://arxiv.org/abs/2010.02502), 「노이즈 제거 확산 암시적 모델」)을 씁니다(eta 0: 결정적, "
        f"eta 1: DDPM처럼 매 단계 노이즈를 다시 넣음). {MAX_STEPS}단계에서는 DDPM의 조상 샘플러(ancestral "
        "sampler)를 그대로 씁니다. 단계마다 U-Net을 한 번 통과하므로 시간은 단계 수에 비례해 늘어납니다. MNIST로 "
        "CPU에서 학습했으며(`python -m train.ddpm`), 샘플러는 diffusers의 DDPMScheduler와 DDIMScheduler입니다."),
    "steps_label": (f"Steps (DDIM; {MAX_STEPS} = DDPM ancestral; samples × steps ≤ {MAX_NETWORK_PASSES})",
              f"단계 수 (DDIM; {MAX_STEPS} = DDPM 조상 샘플링; 샘플 수 × 단계 수 ≤ {MAX_NETWORK_PASSES})"),
    "eta": ("DDIM eta (0 = deterministic)", "DDIM eta (0 = 결정적)"),
    "strip": (f"Denoising trajectory of the first {STRIP_SAMPLES} samples: x_t (rows 1, 3, …) and the predicted x_0 "
              "(rows 2, 4, …); last column: the output",
              f"처음 {STRIP_SAMPLES}개 샘플의 디노이징 궤적: x_t(1, 3, … 행)와 그로부터 예측한 x_0(2, 4, … 행), "
              "마지막 열은 최종 출력"),
    "animation": ("Animation: x_t (top) and predicted x_0 (bottom) over the steps",
                  "애니메이션: 단계별 x_t(위)와 예측한 x_0(아래)"),
}
t = i18n.Translator(__name__, STRINGS)


@functools.cache
def model() -> DDPM:
    """Loaded once, on first use (Hub repo, else the bundled folder), on CUDA when present."""
    return load_pretrained(DDPM, CHECKPOINT)


@functools.cache
def available() -> bool:
    try:
        checkpoint_folder(CHECKPOINT, "ddpm")
        return True
    except FileNotFoundError:
        return False


def missing_message() -> str:
    return "" if available() else (f"*No checkpoint `{CHECKPOINT}` yet: the tab needs one. Train it with "
                                   f"`{TRAIN_COMMAND}` (about 40 min on 2 CPU cores).*")


def check_available() -> None:
    if not available():
        raise common.gr_error(f"No checkpoint {CHECKPOINT!r} yet. Train it with: {TRAIN_COMMAND}")


def check_eta(value) -> float:
    return common.check_float(value, "eta", *ETA_RANGE)


def spaced(n: int, k: int) -> list[int]:
    """k indices of range(n), evenly spaced, first and last included (all of them when n <= k)."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def sampler_name(steps: int, eta: float, T: int) -> str:
    return "DDPM ancestral sampler" if steps == T else f"DDIM, eta = {eta:g}"


# ------------------------------------------------------------------------------------------------ predict functions
def generate(seed, count, steps, eta=0.0, progress=gr.Progress()):
    """(sample grid, trajectory strip, animation path, status) for `count` samples of `seed` with `steps` steps.

    x_T of sample i is the same whatever the count (common.latents); so is its DDIM(eta = 0) sample. Stochastic
    steps (DDPM, or eta > 0) add noise from a generator seeded with the seed too, so every result is reproducible."""
    check_available()
    seed = common.check_seed(seed)
    count = common.check_int(count, "Number of samples", 1, MAX_SAMPLES)
    ddpm = model()
    steps = common.check_int(steps, "Steps", 1, min(MAX_STEPS, ddpm.num_train_timesteps))
    eta = check_eta(eta)
    if count * steps > MAX_NETWORK_PASSES:
        raise common.gr_error(f"{count} samples x {steps} steps is too much work for one request: samples x steps "
                              f"must be at most {MAX_NETWORK_PASSES} (e.g. {MAX_NETWORK_PASSES // MAX_STEPS} samples "
                              f"at {MAX_STEPS} steps)")
    device = next(ddpm.parameters()).device
    shape = (count, ddpm.image_channels, ddpm.image_size, ddpm.image_size)
    noise = common.latents(seed, count, ddpm.latent_dim).view(shape).to(device)
    strip_at, frames_at = spaced(steps, STRIP_COLUMNS), spaced(steps, ANIMATION_FRAMES)

    def report(point):
        progress((point.index + 1) / steps, desc=f"step {point.index + 1} of {steps} (t = {point.timestep})")

    start = time.perf_counter()
    images, trajectory = ddpm.sample(noise, steps, eta=eta, generator=torch.Generator().manual_seed(seed),
                                     callback=report, keep=set(strip_at) | set(frames_at))
    seconds = time.perf_counter() - start
    by_index = {p.index: p for p in trajectory}
    grid = common.image_grid(images.cpu(), nrow=min(count, 8), scale=common.DISPLAY_SCALE,
                             labels=[str(i) for i in range(count)])
    strip = trajectory_strip([by_index[i] for i in strip_at], images, min(count, STRIP_SAMPLES))
    gif = common.save_animation([animation_frame(by_index[i], min(count, STRIP_SAMPLES)) for i in frames_at]
                                + [final_frame(images, min(count, STRIP_SAMPLES))] * 5, boomerang=False)
    status = (f"{count} samples, {steps} steps ({sampler_name(steps, eta, ddpm.num_train_timesteps)}), seed {seed}: "
              f"{seconds:.2f} s ({count / seconds:.1f} samples/s; {count * steps / seconds:.0f} image-steps/s, "
              f"one U-Net pass each) on {device.type.upper()}")
    return grid, strip, gif, status


def trajectory_strip(points, images: torch.Tensor, n: int):
    """Per sample two rows: x_t at each kept step, then the predicted x_0 from it; the last column is the output."""
    rows = []
    labels = []
    for s in range(n):
        rows += [p.x_t[s] for p in points] + [images[s]]
        rows += [p.x0[s] for p in points] + [images[s]]
        labels += ([f"t={p.timestep}" for p in points] + ["out"] if s == 0 else [""] * (len(points) + 1))
        labels += ["x0" if s == 0 else "" for _ in points] + [""]
    return common.image_grid(torch.stack(rows).cpu(), nrow=len(points) + 1, scale=common.DISPLAY_SCALE // 2 or 1,
                             labels=labels)


def animation_frame(point, n: int):
    """One step: x_t of the first n samples above their predicted x_0."""
    batch = torch.cat([point.x_t[:n], point.x0[:n]]).cpu()
    return common.caption(common.image_grid(batch, nrow=n, scale=common.DISPLAY_SCALE), f"t = {point.timestep}")


def final_frame(images: torch.Tensor, n: int):
    batch = torch.cat([images[:n], images[:n]]).cpu()
    return common.caption(common.image_grid(batch, nrow=n, scale=common.DISPLAY_SCALE), "x_0")


def sample_grid(seed, count, steps, eta=0.0):
    """The sample grid alone (for API clients)."""
    return generate(seed, count, steps, eta, progress=lambda *a, **k: None)[0]


def metrics_markdown() -> str:
    """The bundled checkpoint's numbers from the evaluation kit (a small JSON read; no model is loaded)."""
    if not available():
        return ""
    path = checkpoint_folder(CHECKPOINT, "ddpm") / "metrics.json"
    if not path.exists():
        return f"*No metrics for `{CHECKPOINT}` yet: `python -m train.evaluate {CHECKPOINT} --generator=DDPM`.*"
    m = json.loads(path.read_text())
    v, f = m["values"], m["floor"]
    steps = json.loads((path.parent / "config.json").read_text()).get("default_steps", "?")
    return (f"**Bundled checkpoint `{CHECKPOINT}`, sampled with {steps} DDIM steps (eta 0)** — FD {v['FD']:.2f} "
            f"(real-vs-real {f['FD']:.2f}) · KID×1000 {v['KIDx1000']:.2f} · precision {v['precision']:.2f} · "
            f"recall {v['recall']:.2f} · classes {100 * v['class_min_fraction']:.1f}–"
            f"{100 * v['class_max_fraction']:.1f}%  \n<sub>{m['protocol']}</sub>")


def samplers() -> dict[str, common.Sampler]:
    """For the Compare tab and the leaderboard: the kit's protocol, `default_steps` DDIM steps."""
    if not available():
        return {}

    @torch.inference_mode()
    def sample(seed: int, n: int) -> torch.Tensor:
        ddpm = model()
        return ddpm(common.latents(seed, n, ddpm.latent_dim).to(next(ddpm.parameters()).device)).cpu()
    return {CHECKPOINT: common.Sampler(sample, "DDPM (DDIM sampling)", TITLE)}


# ------------------------------------------------------------------------------------------------ layout
def build() -> None:
    gr.Markdown(t("intro"))
    gr.Markdown(metrics_markdown() or missing_message(), elem_classes=i18n.VERBATIM)
    with gr.Row():
        seed = uploads.integer_box(t("seed"))
        count = gr.Slider(1, MAX_SAMPLES, value=16, step=1, label=t("count"))
        steps = gr.Slider(1, MAX_STEPS, value=50, step=1, label=t("steps_label"))
        eta = gr.Slider(*ETA_RANGE, value=0.0, step=0.05, label=t("eta"))
    run = gr.Button(t("sample"), variant="primary")
    status = gr.Markdown()
    grid = gr.Image(label=t("samples"), type="pil", format="png", elem_id="diffusion-grid")
    with gr.Row():
        strip = gr.Image(label=t("strip"), type="pil", format="png")
        animation = gr.Image(label=t("animation"), type="filepath")
    i18n.examples([[0, 16, 10, 0.0], [0, 16, 50, 0.0], [3, 8, 1000, 0.0]], [seed, count, steps, eta],
                  [grid, strip, animation, status], generate, cache_examples=True, cache_mode="lazy",
                  headers=[t("seed"), t("count"), t("steps"), t("eta")])

    run.click(generate, [seed, count, steps, eta], [grid, strip, animation, status], api_name="diffusion_sample")
