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

from demos import common
from models.hub import checkpoint_folder, load_pretrained
from models.vae import VAE, Autoencoder

TITLE = "VAE & AE"
# checkpoint -> (label, class, train command)
MODELS = {
    "vae-mnist": ("VAE, 32-d latent", VAE, "python -m train.vae --model=vae --export_dir=assets/checkpoints/vae-mnist"),
    "vae2d-mnist": ("VAE, 2-d latent", VAE,
                    "python -m train.vae --model=vae --latent_dim=2 --export_dir=assets/checkpoints/vae2d-mnist"),
    "ae-mnist": ("Autoencoder, 32-d code", Autoencoder,
                 "python -m train.vae --model=ae --export_dir=assets/checkpoints/ae-mnist"),
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


# ------------------------------------------------------------------------------------------------ models
@functools.cache
def available() -> tuple[str, ...]:
    """The checkpoints that resolve (Hub, cache or bundled), in MODELS' order."""
    found = []
    for name in MODELS:
        try:
            checkpoint_folder(name, "vae")
            found.append(name)
        except FileNotFoundError:
            pass
    return tuple(found)


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
    gr.Markdown(
        "Variational autoencoder ([Kingma & Welling 2014](https://arxiv.org/abs/1312.6114)) and a plain autoencoder "
        "with the same convolutional encoder and decoder, on dynamically binarized MNIST (`python -m train.vae`; "
        "`models/vae.py`). Test NLLs are importance-weighted estimates ([Burda et al. 2016]"
        "(https://arxiv.org/abs/1509.00519)); images show the decoder's Bernoulli means.  \n"
        + "  \n".join(metrics_line(name) for name in MODELS)
        + ("  \n" + missing_message() if missing_message() else ""))
    with gr.Tab("Sample"):
        gr.Markdown("The VAE's prior is where its decoder was trained to draw from. The autoencoder's code space has "
                    "no prior: the same Gaussian noise through its decoder is not a sample of anything.")
        with gr.Row():
            vae_name = gr.Radio([(MODELS[n][0], n) for n in VAES], value="vae-mnist", label="VAE")
            seed = gr.Number(value=0, label="Seed", precision=0, minimum=0, maximum=common.MAX_SEED)
            count = gr.Slider(1, common.MAX_SAMPLES, value=32, step=1, label="Number of samples")
        run_sample = gr.Button("Sample", variant="primary")
        with gr.Row():
            vae_grid = gr.Image(label="VAE: z ~ N(0, I)", type="pil", format="png")
            ae_grid = gr.Image(label="AE: the same z ~ N(0, I)", type="pil", format="png")
            ae_fitted = gr.Image(label="AE: z scaled to its codes' mean and std", type="pil", format="png")
        sample_note = gr.Markdown()
    with gr.Tab("Reconstruct"):
        gr.Markdown("Draw a digit (or upload one): it is brought to MNIST's 28×28 format, binarized, and "
                    "reconstructed by both models. The AE usually reconstructs more sharply (it spends nothing on a "
                    "prior); the VAE pays for a latent space it can sample from.")
        with gr.Row():
            sketch = gr.Sketchpad(label="Draw a digit", type="pil", image_mode="RGBA", canvas_size=(280, 280))
            upload = gr.Image(label="…or upload one", type="pil", image_mode="RGBA", sources=["upload"])
        with gr.Row():
            run_sketch = gr.Button("Reconstruct the drawing", variant="primary")
            run_upload = gr.Button("Reconstruct the upload")
        pair = gr.Image(label="you | binarized | AE | VAE", type="pil", format="png")
        scores = gr.Markdown()
    with gr.Tab("Interpolate"):
        with gr.Row():
            index_a = gr.Number(value=3, label="Test digit A (index)", precision=0, minimum=0, maximum=MAX_TEST_INDEX)
            index_b = gr.Number(value=2, label="Test digit B (index)", precision=0, minimum=0, maximum=MAX_TEST_INDEX)
            steps = gr.Slider(2, common.MAX_INTERPOLATION_STEPS, value=10, step=1, label="Steps")
        run_interp = gr.Button("Interpolate", variant="primary")
        strip = gr.Image(label="Linear path between the two codes, decoded", type="pil", format="png")
        with gr.Row():
            animation = gr.Image(label="VAE path (animation)", type="filepath")
            rows_note = gr.Markdown()
    with gr.Tab("2-D latent manifold"):
        gr.Markdown("The 2-d VAE's decoder over an evenly spaced grid of the prior's quantiles (Kingma & Welling, "
                    "figure 4), beside where the test digits' posterior means fall.")
        side = gr.Slider(2, MAX_MANIFOLD_SIDE, value=15, step=1, label="Grid size")
        run_manifold = gr.Button("Draw the manifold", variant="primary")
        with gr.Row():
            picture = gr.Image(label="Decoder means over the grid", type="pil", format="png")
            scatter = gr.Image(label="Test digits in latent space", type="pil", format="png")
    with gr.Tab("Traverse"):
        gr.Markdown(f"Move one latent dimension at a time around sample 0 of a seed. The sliders control the "
                    f"{NUM_SLIDERS} most active dimensions (largest mean KL on test digits); a VAE leaves some "
                    "dimensions unused (their posterior equals the prior), and moving those changes nothing.")
        with gr.Row():
            trav_name = gr.Radio([(MODELS[n][0], n) for n in VAES], value="vae-mnist", label="VAE")
            trav_seed = gr.Number(value=0, label="Seed", precision=0, minimum=0, maximum=common.MAX_SEED)
        sliders = [gr.Slider(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, value=0, step=0.1, label=f"Slider {i + 1}")
                   for i in range(NUM_SLIDERS)]
        run_trav = gr.Button("Decode", variant="primary")
        with gr.Row():
            moved = gr.Image(label="Sample 0 with the sliders' offsets", type="pil", format="png")
            table = gr.Image(label=f"Each row: one dimension swept from {-TRAVERSAL_RANGE} to {TRAVERSAL_RANGE}",
                             type="pil", format="png")
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
