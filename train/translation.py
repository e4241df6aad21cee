"""Train the image-to-image models of the "Image-to-image" tab; so far Pix2Pix on edges -> Fashion-MNIST items.

Reproduce the bundled checkpoints (each card gives its exact command, wall time and numbers):
    python -m train.translation --export_dir=assets/checkpoints/pix2pix-fashion-mnist
    python -m train.translation --skips=false --export_dir=assets/checkpoints/pix2pix-encdec-fashion-mnist
    python -m train.translation --adversarial=false --export_dir=assets/checkpoints/pix2pix-l1-fashion-mnist
The last two are the paper's ablations (encoder-decoder without skips; L1 only, no cGAN). Continue a killed run bit
for bit: add --resume (same --out_dir). The paper's setting on its own data, a folder of A|B side-by-side pairs
(facades, edges2shoes, maps ...), on a GPU:
    accelerate launch -m train.translation --dataset=/data/facades/train --direction=BtoA --image_size=256 \\
        --in_channels=3 --out_channels=3 --base_channels=64 --d_channels=64 --d_layers=3 --batch_size=1 --kimg=80

Settings are the paper's (models/translation.py): U-Net G with dropout noise, PatchGAN D on (x, y), cGAN + 100 L1,
Adam 2e-4 / beta1 0.5, D's loss halved, the last iterate shipped (no weight average). Scaled down: 64 px, G width
16 (1.8 M parameters), D width 32, a 34 x 34 PatchGAN, batch 16 instead of 1-4 with instance normalisation (what
batch-1 BatchNorm computes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from models.translation import (PatchDiscriminator, UNetGenerator, pix2pix_d_loss, pix2pix_g_loss,
                                receptive_field)
from train import common, data

PAPER = "Isola et al. 2017, arXiv:1611.07004"
PANELS = [[("g_loss", "G: cGAN + lambda L1"), ("d_loss", "D (halved)")], [("l1", "L1(y, G(x))")]]


@dataclass
class Config:
    """Pix2Pix on paired images; every field can be overridden with --field=value."""
    dataset: str = "fashion-mnist"  # "fashion-mnist" / "mnist" (edges -> item, built here) or a folder of A|B pairs
    direction: str = "AtoB"         # folders: translate the left half into the right ("AtoB") or back ("BtoA")
    image_size: int = 64            # pixels, a power of two (the paper: 256)
    in_channels: int = 1            # edge maps: 1; RGB folders: 3
    out_channels: int = 1           # Fashion-MNIST items: 1; RGB folders: 3
    base_channels: int = 16         # G's first layer width, x2 per layer up to x8 (the paper: 64; 32 here = 7.3 M
                                    # parameters, 29 MB, for no visible gain at 64 px)
    skips: bool = True              # U-Net; False = the encoder-decoder ablation
    norm: str = "instance"          # G's normalisation: "instance" (= the paper's batch-1 BatchNorm) or "batch"
    adversarial: bool = True        # cGAN + L1; False = the "L1 only" ablation (no D)
    d_channels: int = 32            # PatchGAN's first layer width (the paper: 64)
    d_layers: int = 2               # PatchGAN stride-2 layers: 2 = 34 x 34 patches, 3 = the paper's 70 x 70
    l1_weight: float = 100.0        # lambda (the paper)
    batch_size: int = 16            # pairs per step (the paper: 1, and 4 for edges2shoes)
    lr: float = 2e-4                # Adam, both networks (the paper)
    beta1: float = 0.5
    kimg: int = 100                 # pairs shown, in thousands (5 epochs of the 20k training pairs)
    ema_decay: float = 0.0          # 0 = ship the last iterate, as the paper does
    seed: int = 0
    out_dir: str | None = None      # None = runs/<checkpoint name>
    export_dir: str | None = None   # None = <out_dir>/checkpoint
    resume: bool = False
    save_every: int = 250
    replay_frames: int = 12
    evaluate: bool = True           # held-out pairs: L1, PSNR, SSIM, class kept, FD ... (packaged data, full runs)
    max_steps: int | None = None
    fake_data: bool = False         # random pairs instead of data (smoke tests)
    device: str = "auto"
    push_to_hub: str | None = None

    def __post_init__(self):
        if self.image_size < 8 or self.image_size & (self.image_size - 1):
            raise SystemExit(f"--image_size must be a power of two, at least 8; got {self.image_size}")
        if self.direction not in ("AtoB", "BtoA"):
            raise SystemExit(f"--direction must be AtoB or BtoA; got {self.direction!r}")
        if self.out_dir is None:
            self.out_dir = f"runs/{checkpoint_name(self)}"


def checkpoint_name(cfg: Config) -> str:
    """pix2pix-fashion-mnist, and the ablations pix2pix-encdec-..., pix2pix-l1-... (both: pix2pix-encdec-l1-...)."""
    parts = ["pix2pix"] + (["encdec"] if not cfg.skips else []) + (["l1"] if not cfg.adversarial else [])
    return "-".join(parts + [Path(cfg.dataset).name])


def build(cfg: Config) -> tuple[UNetGenerator, PatchDiscriminator | None]:
    G = UNetGenerator(cfg.in_channels, cfg.out_channels, cfg.base_channels, int(math.log2(cfg.image_size)),
                      cfg.skips, cfg.norm)
    D = PatchDiscriminator(cfg.in_channels + cfg.out_channels, cfg.d_channels, cfg.d_layers) if cfg.adversarial else None
    return G, D


def load_pairs(cfg: Config, split: str = "train"):
    """A dataset of (input, target) pairs in [-1, 1]; packaged sets also keep the target's label (for evaluation)."""
    if cfg.fake_data:
        g = torch.Generator().manual_seed(cfg.seed)
        return torch.utils.data.TensorDataset(
            torch.rand(64, cfg.in_channels, cfg.image_size, cfg.image_size, generator=g) * 2 - 1,
            torch.rand(64, cfg.out_channels, cfg.image_size, cfg.image_size, generator=g) * 2 - 1)
    if cfg.dataset in ("mnist", "fashion-mnist"):
        if cfg.in_channels != 1 or cfg.out_channels != 1:
            raise SystemExit("--dataset=mnist / fashion-mnist are grey edge -> item pairs: use 1 in and out channel")
        return torch.utils.data.TensorDataset(*data.edge_pairs(cfg.dataset, split, cfg.image_size))
    if cfg.in_channels != cfg.out_channels:
        raise SystemExit("a folder of A|B pairs has the same channels on both sides: set --in_channels=--out_channels")
    return data.PairedFolder(cfg.dataset, cfg.image_size, cfg.in_channels, cfg.direction)


def main(cfg: Config) -> UNetGenerator:
    torch.manual_seed(cfg.seed)
    G, D = build(cfg)
    betas = (cfg.beta1, 0.999)
    nets, optimizers = {"G": G}, {"G": torch.optim.Adam(G.parameters(), cfg.lr, betas=betas)}
    if D is not None:
        nets["D"], optimizers["D"] = D, torch.optim.Adam(D.parameters(), cfg.lr, betas=betas)
    dataset = load_pairs(cfg)
    fixed = common.real_batch(dataset, 8, cfg.seed + 1, 0, labels=True)[0]  # the replay's 8 inputs

    def inputs(n, g):  # BatchNorm re-estimation (--norm=batch): training inputs
        return (common.real_batch(dataset, n, cfg.seed + 2, int(torch.randint(1 << 20, (1,), generator=g))),)

    run = common.TrainingRun(cfg, nets, optimizers, cfg.batch_size, panels=PANELS, inputs=inputs,
                             replay=lambda g: torch.cat([fixed, g(fixed.to(run.device)).cpu()]))
    G, D = run.nets["G"], run.nets.get("D")
    for step in run.steps():
        x, y = (t.to(run.device) for t in common.real_batch(dataset, cfg.batch_size, cfg.seed, step, run.rank,
                                                            run.world, labels=True)[:2])
        fake = G(x)
        d_loss = torch.zeros(())
        if D is not None:
            d_loss = pix2pix_d_loss(D, x, y, fake)
            run.optimizers["D"].zero_grad(set_to_none=True)
            run.accelerator.backward(d_loss)
            run.optimizers["D"].step()
            D.requires_grad_(False)  # G's step needs D's gradient w.r.t. its input only
        g_loss, l1 = pix2pix_g_loss(D, x, y, fake, cfg.l1_weight)
        run.optimizers["G"].zero_grad(set_to_none=True)
        run.accelerator.backward(g_loss)
        run.optimizers["G"].step()
        if D is not None:
            D.requires_grad_(True)
        run.log(step, d_loss=d_loss.item(), g_loss=g_loss.item(), l1=l1.item())
    export, folder, complete = run.finish(labels=("cGAN + L1", "D"), checkpoint=checkpoint_name(cfg))
    if run.accelerator.is_main_process:
        metrics = None
        if cfg.evaluate and not cfg.fake_data and cfg.dataset in ("mnist", "fashion-mnist") and complete:
            from train.evaluate import evaluate_translation, save_metrics

            edges, items, labels = data.edge_pairs(cfg.dataset, "test", cfg.image_size)
            metrics = evaluate_translation(export, edges, items, labels, cfg.dataset)
            save_metrics(metrics, folder)
        ablation = {(True, True): "", (False, True): " (ablation: encoder-decoder, no skips)",
                    (True, False): " (ablation: L1 only, no cGAN)", (False, False): " (ablation: encoder-decoder, L1 only)"}
        common.write_card(
            folder, title=f"Pix2Pix{ablation[(cfg.skips, cfg.adversarial)]}: {Path(cfg.dataset).name}",
            tags=["gan", "pix2pix", "image-to-image", "genzoo"],
            summary=(f"The generator of a Pix2Pix ({PAPER}), {cfg.image_size}x{cfg.image_size} px, "
                     + (f"edges -> {cfg.dataset} items ({data.EDGE_PROTOCOL})" if cfg.dataset in ("mnist", "fashion-mnist")
                        else f"{cfg.dataset} ({cfg.direction})")
                     + f"; U-Net{'' if cfg.skips else ' without skips'}"
                     + (f", {receptive_field(cfg.d_layers)}x{receptive_field(cfg.d_layers)} PatchGAN" if cfg.adversarial
                        else ", no discriminator") + ". See models/translation.py for what was scaled."),
            command=run.command("train.translation", Config), config=cfg,
            data=cfg.dataset if not cfg.fake_data else "random tensors",
            data_checksum=data.dataset_checksum(cfg.dataset, cfg.fake_data), wall_seconds=run.wall, metrics=metrics,
            usage=("from models.translation import UNetGenerator\nfrom models.hub import load_pretrained\n"
                   f'G = load_pretrained(UNetGenerator, "{folder.name}", family="translation")\n'
                   "y = G(edges)  # (B, 1, 64, 64) black-on-white edges in [-1, 1] -> items; dropout is the noise"),
            notes=(f"Trained for {run.step} steps ({run.kimg(run.step):.0f} kimg, batch {cfg.batch_size}), Adam {cfg.lr} / "
                   f"beta1 {cfg.beta1}, lambda {cfg.l1_weight}; the last iterate ships. Dropout stays on at test time "
                   "(the paper's noise), so outputs vary with the seed. `training.json` and `replay.png` hold the "
                   "curves and the outputs over training (top rows: inputs)."))
        if cfg.push_to_hub:
            print(common.push_folder(folder, cfg.push_to_hub))
        run.accelerator.print(f"exported to {folder} after {run.wall / 60:.1f} min")
    return export


if __name__ == "__main__":
    main(common.parse_config(Config))
