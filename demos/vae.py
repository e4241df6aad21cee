"""VAE & AE tab: sample the VAE next to an autoencoder fed Gaussian noise, reconstruct your own digit with both,
interpolate between two test digits in each latent space, the 2-D VAE's latent manifold, and per-dimension traversals.

Models (models/vae.py; Kingma & Welling 2014, Burda et al. 2016): vae-mnist (32-d latent), vae2d-mnist (2-d latent)
and ae-mnist, all on dynamically binarized MNIST, trained by train/vae.py. A checkpoint that is not bundled (or on the
Hub) says so and names its train command; the rest of the tab keeps working.
"""

from __future__ import annotations

import functools
import io
import json

import gradio as gr
import torch
from PIL import Image

from demos import common, i18n, uploads
from models.hub import checkpoint_folder, load_pretrained
from models.vae import VAE, Autoencoder

TITLE = "VAE & AE"
# checkpoint -> (label, class, train command)
MODELS = {
    "vae-mnist": ("VAE, 32-d latent", VAE, "python -m train.vae --model=vae --export_dir=assets/checkpoints/vae-mnist"),
    "vae2d-mnist": ("VAE, 2-d latent", VAE,
                    "python -m train.vae --model=vae --latent_dim=2 --kimg=500 --export_dir=assets/checkpoints/vae2d-mnist"),
    "ae-mnist": ("Autoencoder, 32-d code", Autoencoder,
                 "python -m train.vae --model=ae --kimg=500 --export_dir=assets/checkpoints/ae-mnist"),
}
VAES = ("vae-mnist", "vae2d-mnist")
# Limits (every input is bounded; the messages quote these)
MAX_TEST_INDEX = 9999          # the MNIST test set
MAX_MANIFOLD_SIDE = 20         # the 2-D manifold grid is at most 20 x 20 decodes
MANIFOLD_EDGE = 0.02           # the grid spans the prior's quantiles 0.02 .. 0.98 in each axis (its fig. 4: 0.05)
TRAVERSAL_RANGE = 3.0          # sliders move a latent dimension by at most +-3 prior standard deviations
TRAVERSAL_STEPS = 9            # columns of the traversal grid, from -3 to +3
NUM_SLIDERS = 8                # the most active dimensions get a slider each
IWAE_K = 1000                  # importance samples for the NLL estimate of a drawing (~0.3 s on 2 cores)
BINARIZE_THRESHOLD = 0.5       # a drawing's pixel is 1 where its intensity (0..1) is above this
STATS_DIGITS = 1000            # test digits behind the code statistics (active dimensions, the AE's fitted Gaussian)
SEED_OFFSET = 1                # the IWAE estimate of a drawing uses a fixed generator: seed SEED_OFFSET
STRINGS = {  # key -> (English, Korean); build() uses only the keys
    "title": (TITLE, "VAE와 AE"),
    "intro": (
        "Variational autoencoder (VAE; Kingma & Welling 2014, [*Auto-Encoding Variational Bayes*]"
        "(https://arxiv.org/abs/1312.6114)) and a plain autoencoder (AE) with the same convolutional encoder and "
        "decoder, on dynamically binarized MNIST (`python -m train.vae`; `models/vae.py`). Test NLLs are "
        "importance-weighted estimates (IWAE; Burda, Grosse & Salakhutdinov 2016, [*Importance Weighted "
        "Autoencoders*](https://arxiv.org/abs/1509.00519)); images show the decoder's Bernoulli means.",
        "변분 오토인코더(VAE, Variational Autoencoder; Kingma & Welling 2014, [*Auto-Encoding Variational Bayes*]"
        "(https://arxiv.org/abs/1312.6114), 「변분 베이즈 오토인코딩」)와, 같은 합성곱 인코더·디코더를 쓰는 일반 "
        "오토인코더(AE)를 동적으로 이진화한 MNIST로 학습했습니다(`python -m train.vae`; `models/vae.py`). 테스트 "
        "NLL(음의 로그 가능도)은 중요도 가중 추정치입니다(IWAE; Burda, Grosse & Salakhutdinov 2016, "
        "[*Importance Weighted Autoencoders*](https://arxiv.org/abs/1509.00519), 「중요도 가중 오토인코더」). "
        "이미지는 디코더가 내놓는 베르누이 분포의 평균입니다."),
    "vae-mnist": ("VAE, 32-d latent", "VAE, 32차원 잠재 공간"),
    "vae2d-mnist": ("VAE, 2-d latent", "VAE, 2차원 잠재 공간"),
    "vae": ("VAE", "VAE"),
    "sample_intro": (
        "The VAE's prior is where its decoder was trained to draw from. The autoencoder's code space has no prior: "
        "the same Gaussian noise through its decoder is not a sample of anything.",
        "VAE의 디코더는 사전 분포에서 뽑은 z로부터 그리도록 학습되었습니다. 오토인코더의 코드 공간에는 사전 분포가 "
        "없으므로, 같은 가우시안 노이즈를 그 디코더에 넣어도 어떤 분포의 샘플도 되지 않습니다."),
    "vae_grid": ("VAE: z ~ N(0, I)", "VAE: z ~ N(0, I)"),
    "ae_grid": ("AE: the same z ~ N(0, I)", "AE: 같은 z ~ N(0, I)"),
    "ae_fitted": ("AE: z scaled to its codes' mean and std", "AE: 코드의 평균과 표준편차에 맞춰 변환한 z"),
    "tab_reconstruct": ("Reconstruct", "재구성"),
    "reconstruct_intro": (
        "Draw a digit (or upload one): it is brought to MNIST's 28×28 format, binarized, and reconstructed by both "
        "models. The AE usually reconstructs more sharply (it spends nothing on a prior); the VAE pays for a latent "
        "space it can sample from.",
        "숫자를 그리거나 업로드하면 MNIST의 28×28 형식으로 바꾸고 이진화한 뒤 두 모델로 재구성합니다. 보통 AE가 더 "
        "선명하게 재구성합니다(사전 분포에 아무 비용도 쓰지 않으니까요). VAE는 샘플링할 수 있는 잠재 공간을 얻는 "
        "대가를 치릅니다."),
    "reconstruct_sketch": ("Reconstruct the drawing", "그림 재구성"),
    "reconstruct_upload": ("Reconstruct the upload", "업로드한 이미지 재구성"),
    "pair": ("you | binarized | AE | VAE", "입력 | 이진화 | AE | VAE"),
    "index_a": ("Test digit A (index)", "테스트 숫자 A (인덱스)"),
    "index_b": ("Test digit B (index)", "테스트 숫자 B (인덱스)"),
    "strip": ("Linear path between the two codes, decoded", "두 코드를 잇는 직선 경로를 디코딩한 결과"),
    "vae_path": ("VAE path (animation)", "VAE 경로 (애니메이션)"),
    "tab_manifold": ("2-D latent manifold", "2차원 잠재 매니폴드"),
    "manifold_intro": (
        "The 2-d VAE's decoder over an evenly spaced grid of the prior's quantiles (Kingma & Welling, figure 4), "
        "beside where the test digits' posterior means fall.",
        "2차원 VAE의 디코더를 사전 분포의 분위수에 고르게 놓은 격자 위에서 그린 그림(Kingma & Welling, 그림 4)과, "
        "테스트 숫자들의 사후 분포 평균이 놓이는 위치입니다."),
    "side": ("Grid size", "격자 크기"),
    "run_manifold": ("Draw the manifold", "매니폴드 그리기"),
    "picture": ("Decoder means over the grid", "격자 위의 디코더 평균"),
    "scatter": ("Test digits in latent space", "잠재 공간 속의 테스트 숫자"),
    "tab_traverse": ("Traverse", "잠재 차원 탐색"),
    "traverse_intro": (
        f"Move one latent dimension at a time around sample 0 of a seed. The sliders control the {NUM_SLIDERS} most "
        "active dimensions (largest mean KL on test digits); a VAE leaves some dimensions unused (their posterior "
        "equals the prior), and moving those changes nothing.",
        f"시드의 0번 샘플을 중심으로 잠재 차원을 하나씩 움직여 봅니다. 슬라이더는 가장 활발한 {NUM_SLIDERS}개 "
        "차원(테스트 숫자에서 평균 KL이 가장 큰 차원)을 조절합니다. VAE는 일부 차원을 쓰지 않고 남겨 두는데(사후 "
        "분포가 사전 분포와 같아집니다), 그런 차원은 움직여도 아무것도 바뀌지 않습니다."),
    "slider": ("Slider", "슬라이더"),
    "decode": ("Decode", "디코딩"),
    "moved": ("Sample 0 with the sliders' offsets", "슬라이더 값만큼 옮긴 0번 샘플"),
    "table": (f"Each row: one dimension swept from {-TRAVERSAL_RANGE} to {TRAVERSAL_RANGE}",
              f"각 행: 한 차원을 {-TRAVERSAL_RANGE}에서 {TRAVERSAL_RANGE}까지 훑은 결과"),
}
t = i18n.Translator(__name__, STRINGS)


# ------------------------------------------------------------------------------------------------ models
@functools.cache
def available() -> tuple[str, ...]:
    """The checkpoints that resolve (Hub, cache or bundled), in MODELS' order."""
    return common.resolvable(MODELS, "vae")


def missing_message() -> str:
    lines = [f"- {label}: `{command}`" for name, (label, _, command) in MODELS.items() if name not in available()]
    return ("*Not bundled yet:*\n" + "\n".join(lines)) if lines else ""


@functools.cache
def load(name: str) -> torch.nn.Module:
    return load_pretrained(MODELS[name][1], name, family="vae")


def model(name) -> torch.nn.Module:
    """The loaded checkpoint, or a gr.Error naming the train command."""
    if name not in MODELS:
        raise common.gr_error(f"Model must be one of {', '.join(MODELS)}; got {name!r}")
    if name not in available():
        raise common.gr_error(f"{MODELS[name][0]}: no checkpoint {name!r} yet. Train it with: {MODELS[name][2]}")
    return load(name)


@functools.cache
def test_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed binarized test set of data.BINARIZATION_PROTOCOL, (N, 1, 28, 28) in {0, 1}, and labels."""
    from train import data

    try:
        return data.binarized_mnist_test(28)
    except data.DatasetMissing as error:
        raise common.gr_error(str(error)) from None


def test_digit(index) -> torch.Tensor:
    index = common.check_int(index, "Test digit index", 0, MAX_TEST_INDEX)
    return test_digits()[0][index:index + 1]


@functools.cache
def code_statistics(name: str) -> dict:
    """Over the first STATS_DIGITS test digits: the codes' mean and std per dimension (AE: its codes; VAE: the
    posterior means), and the dimensions ordered by how much they carry (VAE: mean KL; AE: code std)."""
    net = load(name)
    x = test_digits()[0][:STATS_DIGITS].to(device(net))
    with torch.inference_mode():
        if isinstance(net, VAE):
            mu, logvar = net.encode(x)
            activity = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0)  # mean KL per dimension
            codes = mu
        else:
            codes = net.encode(x)
            activity = codes.std(0)
    return {"mean": codes.mean(0).cpu(), "std": codes.std(0).cpu(),
            "order": activity.cpu().argsort(descending=True).tolist(), "activity": activity.cpu().tolist()}


def device(net: torch.nn.Module) -> torch.device:
    return next(net.parameters()).device


@torch.inference_mode()
def decode(net, z: torch.Tensor) -> torch.Tensor:
    """Latents -> Bernoulli means as images in [-1, 1], on the CPU."""
    return net(z.to(device(net))).cpu()


def grid(images: torch.Tensor, nrow: int, scale: int = common.DISPLAY_SCALE // 2) -> Image.Image:
    return common.image_grid(images, nrow=nrow, scale=scale)


def metrics_line(name: str) -> str:
    """The checkpoint's numbers from its metrics.json, the protocol in a footnote; for the 32-d VAE the issue's
    target and the paper's figure, and how far this checkpoint is from them."""
    from train.vae import PAPER_ANCHOR, TARGET_NLL

    if name not in available():
        return f"*`{name}` is not bundled yet: `{MODELS[name][2]}`.*"
    path = checkpoint_folder(name, "vae") / "metrics.json"
    if not path.exists():
        return f"*`{name}`: not evaluated yet.*"
    metrics = json.loads(path.read_text())
    v = metrics["values"]
    kit = (f"FD {v['FD']:.2f} · KID×1000 {v['KIDx1000']:.1f} · precision {v['precision']:.2f} · "
           f"recall {v['recall']:.2f}")
    if "nll_nats" not in v:
        line = (f"`{name}`: test reconstruction {v['reconstruction_nats']:.2f} nats (not a likelihood); decoding "
                f"z ~ N(0, I): {kit}")
    else:
        line = (f"`{name}`: test NLL ≈ {v['nll_nats']:.2f} ± {v['nll_nats_sem']:.2f} nats (IWAE, k = "
                f"{v['iwae_k']}, {v['iwae_images']} digits) · −ELBO {v['neg_elbo_nats']:.2f} nats · {kit}")
        if name == "vae-mnist":
            met = "met" if v["nll_nats"] <= TARGET_NLL else "**not met**"
            line += (f"  \nTarget ≤ {TARGET_NLL:.0f} nats: {met}. Paper: {PAPER_ANCHOR}; this checkpoint is "
                     f"{v['nll_nats'] - 86.76:+.2f} nats from the dynamic figure (a CPU budget of passes, small conv "
                     "nets, k and test subset as stated: see its card).")
    return f"{line}  \n<sub>{metrics['protocol']}</sub>"


# ------------------------------------------------------------------------------------------------ drawings
def binarized(intensity: torch.Tensor) -> torch.Tensor:
    return (intensity > BINARIZE_THRESHOLD).float()


# ------------------------------------------------------------------------------------------------ predict functions
def sample(name, seed, count):
    """The VAE's samples next to what the autoencoder's decoder makes of the same Gaussian noise, and of noise from a
    Gaussian fitted to its own codes. Sample i uses latent i of the seed (the same z through both decoders)."""
    seed = common.check_seed(seed)
    count = common.check_int(count, "Number of samples", 1, common.MAX_SAMPLES)
    if name not in VAES:
        raise common.gr_error(f"Model must be one of {', '.join(VAES)}; got {name!r}")
    vae = model(name)
    out = [grid(decode(vae, common.latents(seed, count, vae.latent_dim)), min(count, 8))]
    notes = [f"{MODELS[name][0]}: decoder means for z ~ N(0, I)."]
    if "ae-mnist" in available():
        ae = load("ae-mnist")
        z = common.latents(seed, count, ae.latent_dim)
        out.append(grid(decode(ae, z), min(count, 8)))
        try:
            stats = code_statistics("ae-mnist")
            out.append(grid(decode(ae, stats["mean"] + stats["std"] * z), min(count, 8)))
            notes.append(f"Autoencoder: the same z, then z scaled to its codes' mean and spread per dimension "
                         f"(from {STATS_DIGITS} test digits): the codes of digits fill an irregular region of a "
                         f"{ae.latent_dim}-d space, and a Gaussian fitted to it still lands off it.")
        except gr.Error:
            out.append(None)
    else:
        out += [None, None]
        notes.append(f"Autoencoder: not bundled yet (`{MODELS['ae-mnist'][2]}`).")
    return (*out, " ".join(notes))


@torch.inference_mode()
def reconstruct(image):
    """x (your drawing, binarized) -> AE reconstruction and VAE reconstruction (decoder means at the posterior
    mean), with each model's numbers for x and the protocol they are computed under."""
    intensity = common.digit_from_image(image)
    x = binarized(intensity)
    images, lines = [intensity * 2 - 1, x * 2 - 1], []
    protocol = (f"your image as 28x28 grey, binarized at intensity > {BINARIZE_THRESHOLD} (the models were trained "
                "on Bernoulli draws of MNIST intensities)")
    if "ae-mnist" in available():
        ae = load("ae-mnist")
        x_ae = x.to(device(ae))
        images.append(ae(ae.encode(x_ae)).cpu())
        lines.append(f"AE: reconstruction −log p(x | f(x)) = {ae.reconstruction_nll(x_ae).item():.1f} nats "
                     "(not a likelihood)")
    else:
        images.append(torch.full_like(x, -1))
        lines.append(f"AE: not bundled yet (`{MODELS['ae-mnist'][2]}`)")
    if "vae-mnist" in available():
        vae = load("vae-mnist")
        x_vae = x.to(device(vae))
        mu, _ = vae.encode(x_vae)
        images.append(vae(mu).cpu())
        g = torch.Generator().manual_seed(SEED_OFFSET)
        lines.append(f"VAE: −ELBO = {-vae.elbo(x_vae, g).item():.1f} nats, −log p(x) ≈ "
                     f"{vae.iwae_nll(x_vae, IWAE_K, 250, g).item():.1f} nats (IWAE, k = {IWAE_K}); test digits "
                     "average about the card's figure, so a much larger number means the VAE finds your x unusual")
    else:
        images.append(torch.full_like(x, -1))
        lines.append(f"VAE: not bundled yet (`{MODELS['vae-mnist'][2]}`)")
    strip = common.image_grid(torch.cat(images), nrow=4, scale=common.DISPLAY_SCALE * 2,
                              labels=["you", "binarized", "AE", "VAE"])
    return strip, "  \n".join(lines) + f"  \n<sub>{protocol}</sub>"


@torch.inference_mode()
def interpolate(index_a, index_b, steps):
    """Straight lines between the codes of two test digits, decoded: the VAE (posterior means) above, the AE below.
    A strip and an animation of the VAE's row."""
    steps = common.check_int(steps, "Steps", 2, common.MAX_INTERPOLATION_STEPS)
    a, b = test_digit(index_a), test_digit(index_b)
    t = torch.linspace(0, 1, steps)[:, None]
    rows, labels = [], []
    for name in ("vae-mnist", "ae-mnist"):
        if name not in available():
            continue
        net = load(name)
        pair = torch.cat([a, b]).to(device(net))
        codes = net.encode(pair)[0] if isinstance(net, VAE) else net.encode(pair)
        codes = codes.cpu()
        rows.append(decode(net, (1 - t) * codes[0] + t * codes[1]))
        labels.append(MODELS[name][0])
    if not rows:
        raise common.gr_error(f"Neither the VAE nor the AE is bundled yet: {MODELS['vae-mnist'][2]}")
    strip = common.image_grid(torch.cat(rows), nrow=steps, scale=common.DISPLAY_SCALE // 2)
    frames = [common.to_pil(x, scale=common.DISPLAY_SCALE * 2) for x in rows[0]]
    return strip, common.save_animation(frames), "Rows, top to bottom: " + "; ".join(labels) + "."


@torch.inference_mode()
def manifold(side):
    """Kingma & Welling's figure 4: the 2-D VAE's decoder over a grid of the prior's quantiles (inverse Gaussian CDF
    of evenly spaced points), and where the test digits' posterior means land in the same plane."""
    side = common.check_int(side, "Grid size", 2, MAX_MANIFOLD_SIDE)
    vae = model("vae2d-mnist")
    q = torch.linspace(MANIFOLD_EDGE, 1 - MANIFOLD_EDGE, side)
    values = torch.distributions.Normal(0.0, 1.0).icdf(q)
    # rows top to bottom = z2 from high to low, columns = z1 from low to high (a plot's orientation)
    z = torch.stack([values.repeat(side), values.flip(0).repeat_interleave(side)], 1)
    picture = common.image_grid(decode(vae, z), nrow=side, padding=0, scale=max(1, 8 // max(1, side // 5)))
    return picture, latent_scatter(vae, float(values[-1]))


def latent_scatter(vae, extent: float) -> Image.Image | None:
    """Posterior means of the first STATS_DIGITS test digits, coloured by label; the manifold grid's square drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        x, labels = test_digits()
    except gr.Error:
        return None
    mu = vae.encode(x[:STATS_DIGITS].to(device(vae)))[0].cpu()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    points = ax.scatter(mu[:, 0], mu[:, 1], c=labels[:STATS_DIGITS], cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    ax.add_patch(plt.Rectangle((-extent, -extent), 2 * extent, 2 * extent, fill=False, ls="--", color="grey"))
    fig.colorbar(points, ax=ax, ticks=range(10), fraction=0.046)
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title("test digits' posterior means (dashed: the grid)", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return Image.open(buffer)


def check_offset(value, name: str) -> float:
    return common.check_float(value, name, -TRAVERSAL_RANGE, TRAVERSAL_RANGE)


def slider_dimensions(name: str) -> list[int]:
    """The latent dimensions the sliders move: the NUM_SLIDERS most active (by mean KL over test digits), or the
    first ones when the test set is not installed."""
    dim = load(name).latent_dim
    try:
        order = code_statistics(name)["order"]
    except gr.Error:
        order = list(range(dim))
    return order[:min(NUM_SLIDERS, dim)]


@torch.inference_mode()
def traverse(name, seed, *offsets):
    """Sample 0 of `seed` with slider i adding offsets[i] to the i-th most active dimension; and the traversal grid:
    one row per slider dimension, that dimension swept from -3 to +3 around the same sample."""
    if name not in VAES:
        raise common.gr_error(f"Model must be one of {', '.join(VAES)}; got {name!r}")
    seed = common.check_seed(seed)
    if len(offsets) > NUM_SLIDERS:
        raise common.gr_error(f"At most {NUM_SLIDERS} slider values; got {len(offsets)}")
    values = [check_offset(v, f"Slider {i + 1}") for i, v in enumerate(offsets)]
    vae = model(name)
    dims = slider_dimensions(name)
    z = common.latents(seed, 1, vae.latent_dim)
    moved = z.clone()
    for d, v in zip(dims, values):
        moved[0, d] += v
    image = common.to_pil(decode(vae, moved)[0], scale=common.DISPLAY_SCALE * 2)
    sweep = torch.linspace(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, TRAVERSAL_STEPS)
    rows = z.repeat(len(dims) * TRAVERSAL_STEPS, 1)
    for r, d in enumerate(dims):
        rows[r * TRAVERSAL_STEPS:(r + 1) * TRAVERSAL_STEPS, d] += sweep
    table = common.image_grid(decode(vae, rows), nrow=TRAVERSAL_STEPS, scale=common.DISPLAY_SCALE // 2,
                              labels=[f"z{d}" if i % TRAVERSAL_STEPS == 0 else "" for d in dims
                                      for i in range(TRAVERSAL_STEPS)])
    text = "Sliders 1…{} move latent dimensions {}".format(len(dims), ", ".join(f"z{d}" for d in dims))
    unused = len(offsets) - len(dims)
    return image, table, text + (f" (sliders {len(dims) + 1}…{len(offsets)} unused: {vae.latent_dim}-d latent)."
                                 if unused > 0 else ".")


def samplers() -> dict[str, common.Sampler]:
    """For the Compare tab and the leaderboard: the two VAEs (the autoencoder is no sampler; that is its point)."""
    def sampler(name):
        def draw(seed, n):
            net = load(name)
            return decode(net, common.latents(seed, n, net.latent_dim))
        return common.Sampler(draw, MODELS[name][0], TITLE)

    return {name: sampler(name) for name in VAES if name in available()}


def build() -> None:
    gr.Markdown(t("intro"))
    gr.Markdown("  \n".join(metrics_line(name) for name in MODELS)
                + ("  \n" + missing_message() if missing_message() else ""), elem_classes=i18n.VERBATIM)
    with gr.Tab(t("sample")):
        gr.Markdown(t("sample_intro"))
        with gr.Row():
            vae_name = gr.Radio([(t(n), n) for n in VAES], value="vae-mnist", label=t("vae"))
            seed = uploads.integer_box(t("seed"))
            count = gr.Slider(1, common.MAX_SAMPLES, value=32, step=1, label=t("count"))
        run_sample = gr.Button(t("sample"), variant="primary")
        with gr.Row():
            vae_grid = gr.Image(label=t("vae_grid"), type="pil", format="png")
            ae_grid = gr.Image(label=t("ae_grid"), type="pil", format="png")
            ae_fitted = gr.Image(label=t("ae_fitted"), type="pil", format="png")
        sample_note = gr.Markdown()
    with gr.Tab(t("tab_reconstruct")):
        gr.Markdown(t("reconstruct_intro"))
        with gr.Row():
            sketch = uploads.SketchUpload(label=t("draw_digit"), type="pil", image_mode="RGBA", canvas_size=(280, 280))
            upload = uploads.ImageUpload(label=t("or_upload"), type="pil", image_mode="RGBA", sources=["upload"])
        with gr.Row():
            run_sketch = gr.Button(t("reconstruct_sketch"), variant="primary")
            run_upload = gr.Button(t("reconstruct_upload"))
        pair = gr.Image(label=t("pair"), type="pil", format="png")
        scores = gr.Markdown()
    with gr.Tab(t("interpolate")):
        with gr.Row():
            index_a = uploads.integer_box(t("index_a"), value=3, maximum=MAX_TEST_INDEX)
            index_b = uploads.integer_box(t("index_b"), value=2, maximum=MAX_TEST_INDEX)
            steps = gr.Slider(2, common.MAX_INTERPOLATION_STEPS, value=10, step=1, label=t("steps"))
        run_interp = gr.Button(t("interpolate"), variant="primary")
        strip = gr.Image(label=t("strip"), type="pil", format="png")
        with gr.Row():
            animation = gr.Image(label=t("vae_path"), type="filepath")
            rows_note = gr.Markdown()
    with gr.Tab(t("tab_manifold")):
        gr.Markdown(t("manifold_intro"))
        side = gr.Slider(2, MAX_MANIFOLD_SIDE, value=15, step=1, label=t("side"))
        run_manifold = gr.Button(t("run_manifold"), variant="primary")
        with gr.Row():
            picture = gr.Image(label=t("picture"), type="pil", format="png")
            scatter = gr.Image(label=t("scatter"), type="pil", format="png")
    with gr.Tab(t("tab_traverse")):
        gr.Markdown(t("traverse_intro"))
        with gr.Row():
            trav_name = gr.Radio([(t(n), n) for n in VAES], value="vae-mnist", label=t("vae"))
            trav_seed = uploads.integer_box(t("seed"))
        sliders = [gr.Slider(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, value=0, step=0.1, label=t("slider") + f" {i + 1}")
                   for i in range(NUM_SLIDERS)]
        run_trav = gr.Button(t("decode"), variant="primary")
        with gr.Row():
            moved = gr.Image(label=t("moved"), type="pil", format="png")
            table = gr.Image(label=t("table"), type="pil", format="png")
        trav_note = gr.Markdown()

    run_sample.click(sample, [vae_name, seed, count], [vae_grid, ae_grid, ae_fitted, sample_note],
                     api_name="vae_sample")
    run_sketch.click(reconstruct, sketch, [pair, scores], api_name="vae_reconstruct_sketch")
    run_upload.click(reconstruct, upload, [pair, scores], api_name="vae_reconstruct")
    run_interp.click(interpolate, [index_a, index_b, steps], [strip, animation, rows_note], api_name="vae_interpolate")
    run_manifold.click(manifold, side, [picture, scatter], api_name="vae_manifold")
    run_trav.click(traverse, [trav_name, trav_seed, *sliders], [moved, table, trav_note], api_name="vae_traverse")
    for slider in sliders:
        slider.release(traverse, [trav_name, trav_seed, *sliders], [moved, table, trav_note], api_name=False)
