"""Train the scaled BigGAN of the "Style-based GANs" tab (genzoo issue 7) on styled Fashion-MNIST's 10 classes.

Reproduce the bundled checkpoint (its card gives the exact command and wall time):
    python -m train.biggan --kimg=500 --export_dir=assets/checkpoints/biggan-fashion-styles
Continue a killed run bit for bit: add --resume (same --out_dir).
Re-measure a checkpoint folder (kit numbers and truncation curve into its metrics.json and card), e.g. after the
kit's judge changed:
    python -m train.biggan --evaluate_only --export_dir=assets/checkpoints/biggan-fashion-styles
A class-per-folder image set (ImageNet layout) on a GPU at 128 px:
    accelerate launch -m train.biggan --dataset=/data/imagenet/train --num_classes=1000 --image_size=128 \
        --g_channels=1024,1024,512,256,128,64 --d_channels=64,128,256,512,1024,1024 --latent_dim=120 \
        --shared_dim=128 --batch_size=256 --kimg=100000

As the paper: hinge loss, 2 D steps per G step, Adam(betas 0, 0.999) with D at 4x G's learning rate, orthogonal
regularisation 1e-4 on G, an EMA of G with standing BatchNorm statistics, and spectral norm in both networks
(models/biggan.py). The card holds the kit's numbers at no truncation and the truncation curve (FD, precision,
recall and class accuracy against the truncation threshold), which the tab plots.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from models.biggan import BigGAN, ProjectionDiscriminator, orthogonal_regularization, truncated_latents
from models.objectives import d_loss_hinge, g_loss_hinge
from train import common, data

TRUNCATIONS = (0.25, 0.5, 1.0, 1.5, 2.0, None)  # thresholds of the truncation curve; None = no truncation


@dataclass
class Config:
    """BigGAN, scaled; every field can be overridden with --field=value."""
    dataset: str = "fashion-styles"  # "fashion-styles" or a folder of class sub-folders
    num_classes: int = 10
    image_size: int = 32
    image_channels: int = 3
    latent_dim: int = 64             # split into one chunk per G block + one for the input
    shared_dim: int = 32             # the shared class embedding
    g_channels: str = "128,128,128,64"  # G's widths at 4, 8, 16, 32 px
    d_channels: str = "64,128,128,128"  # D's widths after each down-block (32 -> 16 -> 8 -> 4, then 4)
    attention_resolution: int = 16
    batch_size: int = 32
    n_critic: int = 2                # D steps per G step (the paper's ImageNet setting)
    lr_g: float = 1e-4
    lr_d: float = 4e-4               # 4x G's: the two-timescale rule BigGAN follows (5e-5 / 2e-4 at batch 2048)
    ortho: float = 1e-4              # orthogonal regularisation beta
    kimg: int = 120                  # real images shown to D, in thousands
    ema_decay: float = 0.999
    bn_batches: int = 16             # standing statistics: batches of 256 that re-estimate the EMA G's BatchNorm
    seed: int = 0
    out_dir: str | None = None       # None = runs/biggan-<dataset>
    export_dir: str | None = None
    resume: bool = False
    save_every: int = 250
    replay_frames: int = 24
    evaluate: bool = True
    evaluate_only: bool = False      # no training: re-measure the checkpoint in export_dir
    max_steps: int | None = None
    fake_data: bool = False
    device: str = "auto"
    push_to_hub: str | None = None

    def __post_init__(self):
        if self.out_dir is None:
            self.out_dir = f"runs/biggan-{Path(self.dataset).name}"


def class_labels(seed: int, step: int, n: int, num_classes: int) -> torch.Tensor:
    """The fake batch's classes for `step`, uniform, a function of (seed, step) like the latents."""
    return torch.randint(num_classes, (n,), generator=torch.Generator().manual_seed(seed * 7_777_777 + step + 3))


def measure(G: BigGAN, dataset: str) -> dict:
    """The kit's numbers for class-balanced samples at no truncation, plus the truncation curve."""
    from train.evaluate import evaluate_conditional

    metrics = evaluate_conditional(G, "cgan", dataset)
    metrics["truncation_curve"] = truncation_curve(G, dataset)
    return metrics


def main(cfg: Config) -> BigGAN:
    if cfg.evaluate_only:
        from models.hub import load_pretrained
        from train.evaluate import save_metrics

        if cfg.export_dir is None:
            raise SystemExit("--evaluate_only needs --export_dir=<checkpoint folder>")
        G = load_pretrained(BigGAN, cfg.export_dir)
        save_metrics(metrics := measure(G, cfg.dataset), Path(cfg.export_dir))
        print(json.dumps(metrics["values"], indent=1), json.dumps(metrics["truncation_curve"], indent=1))
        return G
    torch.manual_seed(cfg.seed)
    G = BigGAN(cfg.latent_dim, cfg.num_classes, cfg.shared_dim, common.int_list(cfg.g_channels, "g_channels"), cfg.attention_resolution,
               cfg.image_channels)
    D = ProjectionDiscriminator(common.int_list(cfg.d_channels, "d_channels"), cfg.num_classes, cfg.attention_resolution,
                                cfg.image_channels, cfg.image_size)
    opt_g = torch.optim.Adam(G.parameters(), cfg.lr_g, betas=(0.0, 0.999), eps=1e-6)
    opt_d = torch.optim.Adam(D.parameters(), cfg.lr_d, betas=(0.0, 0.999), eps=1e-6)
    replay_z = torch.randn(20, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed))
    replay_y = torch.arange(20) % cfg.num_classes

    def inputs(n, g):  # what the standing statistics average over: z and uniform classes
        return torch.randn(n, cfg.latent_dim, generator=g), torch.randint(cfg.num_classes, (n,), generator=g)

    run = common.TrainingRun(cfg, {"G": G, "D": D}, {"G": opt_g, "D": opt_d}, cfg.batch_size * cfg.n_critic,
                             replay=lambda g: g(replay_z.to(run.device), replay_y.to(run.device)), inputs=inputs,
                             panels=[[("d_loss", "D loss"), ("g_loss", "G loss")],
                                     [("d_real", "D(x)"), ("d_fake", "D(G(z))")], [("ortho", "orthogonal reg.")]])
    dataset = data.training_set(cfg.dataset, cfg.image_size, cfg.image_channels, cfg.batch_size, cfg.fake_data,
                                cfg.seed, cfg.num_classes)
    G, D = run.nets["G"], run.nets["D"]
    for step in run.steps():
        for i in range(cfg.n_critic):
            b = step * cfg.n_critic + i
            real, labels = common.real_batch(dataset, cfg.batch_size, cfg.seed, b, run.rank, run.world, labels=True)
            real, labels = real.to(run.device), labels.to(run.device)
            z = common.latents(cfg.seed, b, cfg.batch_size, cfg.latent_dim)[run.rank::run.world].to(run.device)
            y = class_labels(cfg.seed, b, cfg.batch_size, cfg.num_classes)[run.rank::run.world].to(run.device)
            with torch.no_grad():
                fake = G(z, y)
            real_scores, fake_scores = D(real, labels), D(fake, y)
            d_loss = d_loss_hinge(real_scores, fake_scores)
            run.optimizers["D"].zero_grad(set_to_none=True)
            run.accelerator.backward(d_loss)
            run.optimizers["D"].step()
        g_loss = g_loss_hinge(D(G(z, y), y))
        ortho = orthogonal_regularization(run.accelerator.unwrap_model(G), cfg.ortho)
        run.optimizers["G"].zero_grad(set_to_none=True)
        run.accelerator.backward(g_loss + ortho)
        run.optimizers["G"].step()
        run.log(step, d_loss=d_loss.item(), g_loss=g_loss.item(), d_real=real_scores.mean().item(),
                d_fake=fake_scores.mean().item(), ortho=ortho.item())

    export, folder, complete = run.finish(("D(x) (score)", "D(G(z)) (score)"))
    if run.accelerator.is_main_process:
        metrics = None
        if cfg.evaluate and not cfg.fake_data and cfg.dataset == "fashion-styles" and complete:
            from train.evaluate import save_metrics

            metrics = measure(export, cfg.dataset)
            save_metrics(metrics, folder)
        common.write_card(
            folder, title=f"BigGAN (scaled) on {cfg.dataset}", tags=["gan", "biggan", "genzoo"],
            summary=("The EMA generator (standing BatchNorm statistics) of a class-conditional BigGAN (Brock et al. "
                     f"2019, arXiv:1809.11096), {cfg.image_size}x{cfg.image_size} px, {cfg.num_classes} classes, "
                     "trained on a CPU; scaled down as models/biggan.py says."),
            command=run.command("train.biggan", Config), config=cfg,
            data=(data.STYLE_PROTOCOL if cfg.dataset == "fashion-styles" else cfg.dataset) if not cfg.fake_data
            else "random tensors", data_checksum=data.dataset_checksum(cfg.dataset, cfg.fake_data),
            wall_seconds=run.wall, metrics=metrics,
            usage=('import torch\nfrom models.biggan import BigGAN, truncated_latents\n'
                   'from models.hub import load_pretrained\nG = load_pretrained(BigGAN, "biggan-fashion-styles", '
                   'family="biggan")\nimages = G(truncated_latents(10, G.latent_dim, 1.0), torch.arange(10))'),
            notes=(f"Trained for {run.step} G steps ({run.kimg(run.step):.0f} kimg, {cfg.n_critic} D steps per G "
                   "step). `requested_class_accuracy` = the kit classifier's agreement with the requested class "
                   "(labels i % 10) at no truncation; `truncation_curve` in metrics.json holds the numbers per "
                   "threshold (2000 samples each)."))
        run.publish(folder)
    return export


@torch.no_grad()
def truncation_curve(G: BigGAN, dataset: str, thresholds=TRUNCATIONS, n: int = 2000) -> list[dict]:
    """FD, precision, recall and requested-class accuracy of n class-balanced samples per truncation threshold."""
    from train.evaluate import SAMPLE_SEED, classify, compare, real_sets

    G = G.eval()
    device = next(G.parameters()).device
    test, _ = real_sets(dataset, n)
    labels = torch.arange(n) % G.num_classes
    rows = []
    for threshold in thresholds:
        z = truncated_latents(n, G.latent_dim, threshold, torch.Generator().manual_seed(SAMPLE_SEED))
        fake = torch.cat([G(z[i:i + 500].to(device), labels[i:i + 500].to(device)).cpu() for i in range(0, n, 500)])
        values = compare(test, fake, dataset)
        accuracy = (classify(fake, dataset)[1].argmax(1) == labels).float().mean().item()
        rows.append({"threshold": threshold, "FD": values["FD"], "precision": values["precision"],
                     "recall": values["recall"], "class_accuracy": accuracy})
    return rows


if __name__ == "__main__":
    main(common.parse_config(Config))
