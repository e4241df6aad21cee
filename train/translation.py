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

Settings are the papers' (models/translation.py). Pix2Pix: U-Net G with dropout noise, PatchGAN D on (x, y), cGAN +
100 L1, Adam 2e-4 / beta1 0.5, D's loss halved, the last iterate shipped (no weight average). Scaled down: 64 px, G
width 16 (1.8 M parameters), D width 32, a 34 x 34 PatchGAN, batch 16 instead of 1-4 with instance normalisation
(what batch-1 BatchNorm computes). CycleGAN: ResNet generators, instance-norm PatchGANs, LSGAN loss, cycle lambda 10,
identity 0.5 lambda, a 50-image history for D, one Adam for both G and F and one for both D (the authors' code);
scaled to 32 px, width 16, 16 x 16 patches, batch 8 (the paper: 1), constant lr then linear decay over the second
half (the paper: 100 + 100 epochs). DiscoGAN: encoder-decoder generators, image-level discriminators, GAN loss +
MSE reconstruction of both round trips, Adam 2e-4 (0.5, 0.999); 32 px, width 32, batch 32 (the paper: 64 px, 200).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from models.translation import (CycleGAN, DiscoGAN, ImageDiscriminator, ImagePool, PatchDiscriminator,
                                UNetGenerator, cyclegan_d_loss, cyclegan_g_loss, discogan_d_loss, discogan_g_loss,
                                pix2pix_d_loss, pix2pix_g_loss, receptive_field)
from train import common, data

MODELS = {"pix2pix": "Isola et al. 2017, arXiv:1611.07004", "cyclegan": "Zhu et al. 2017, arXiv:1703.10593",
          "discogan": "Kim et al. 2017, arXiv:1703.05192"}
PACKAGED = {"pix2pix": ("fashion-mnist", "mnist"), "cyclegan": ("mnist-strokes",), "discogan": ("bags-shoes",)}
PANELS = [[("g_loss", "G: cGAN + lambda L1"), ("d_loss", "D (halved)")], [("l1", "L1(y, G(x))")]]
CYCLE_PANELS = [[("g_loss", "G + F: total"), ("d_loss", "D_A + D_B (halved)")],
                [("adversarial", "GAN (both)"), ("cycle", "cycle L1"), ("identity", "identity L1"),
                 ("reconstruction", "reconstruction MSE")], [("lr", "lr")]]


@dataclass
class Config:
    """Pix2Pix or CycleGAN; every field can be overridden with --field=value (None = the model's default)."""
    model: str = "pix2pix"          # "pix2pix" (paired), "cyclegan" or "discogan" (unpaired)
    dataset: str | None = None      # None = fashion-mnist (pix2pix: edges -> items; or mnist) / mnist-strokes
                                    # (cyclegan: thin <-> thick digits) / bags-shoes (discogan: Fashion-MNIST
                                    # bags <-> shoes); or a folder (A|B pairs / trainA, trainB)
    direction: str = "AtoB"         # pix2pix folders: translate the left half into the right ("AtoB") or back
    image_size: int | None = None   # pixels, a power of two; None = 64 (pix2pix) / 32 (unpaired); the papers: 256
    in_channels: int = 1            # edge maps and digits: 1; RGB folders: 3
    out_channels: int = 1           # Fashion-MNIST items and digits: 1; RGB folders: 3
    base_channels: int | None = None  # G's first layer width; None = 16 (32 for discogan; the papers: 64); pix2pix
                                    # doubles it per layer up to x8
                                    # (32 here = 7.3 M parameters, 29 MB, for no visible gain at 64 px)
    skips: bool = True              # pix2pix: U-Net; False = the encoder-decoder ablation
    norm: str = "instance"          # G's normalisation: "instance" (= the paper's batch-1 BatchNorm) or "batch"
    adversarial: bool = True        # pix2pix: cGAN + L1; False = the "L1 only" ablation (no D)
    num_blocks: int = 6             # cyclegan: residual blocks (the paper: 6 at 128 px, 9 at 256 px)
    d_channels: int = 32            # D's first layer width (the papers: 64)
    d_layers: int | None = None     # PatchGAN stride-2 layers; None = 2 (34 x 34, pix2pix at 64 px) / 1 (16 x 16,
                                    # cyclegan at 32 px); 3 = the papers' 70 x 70 at 256 px
    l1_weight: float = 100.0        # pix2pix's lambda
    lambda_cycle: float = 10.0      # cyclegan's lambda
    lambda_identity: float = 0.5    # cyclegan: identity loss weight, in units of lambda_cycle
    pool_size: int = 50             # cyclegan: D's history of generated images
    batch_size: int | None = None   # None = 16 (pix2pix; the paper: 1, and 4 for edges2shoes) / 8 (cyclegan; 1) /
                                    # 32 (discogan; 200)
    lr: float = 2e-4                # Adam, both networks (the papers); cyclegan decays it linearly over the 2nd half
    beta1: float = 0.5
    kimg: int | None = None         # images shown per domain, in thousands; None = 100 (pix2pix: 5 epochs of the
                                    # 20k pairs) / 40 (cyclegan: 1.3 epochs of each 30k domain) / 150 (discogan:
                                    # 25 epochs of the 6k bags, 8 of the 18k shoes)
    ema_decay: float = 0.0          # 0 = ship the last iterate, as the papers do
    seed: int = 0
    out_dir: str | None = None      # None = runs/<checkpoint name>
    export_dir: str | None = None   # None = <out_dir>/checkpoint
    resume: bool = False
    save_every: int = 250
    replay_frames: int = 12
    evaluate: bool = True           # held-out (or hidden-pairing) scores in the card (packaged data, full runs)
    max_steps: int | None = None
    fake_data: bool = False         # random images instead of data (smoke tests)
    device: str = "auto"
    push_to_hub: str | None = None

    def __post_init__(self):
        if self.model not in MODELS:
            raise SystemExit(f"--model must be one of {', '.join(MODELS)}; got {self.model!r}")
        cycle, disco = self.model == "cyclegan", self.model == "discogan"
        self.dataset = self.dataset or PACKAGED[self.model][0]
        self.image_size = self.image_size or (64 if self.model == "pix2pix" else 32)
        self.base_channels = self.base_channels or (32 if disco else 16)
        self.d_layers = self.d_layers or (1 if cycle else 2)
        self.batch_size = self.batch_size or {"pix2pix": 16, "cyclegan": 8, "discogan": 32}[self.model]
        self.kimg = self.kimg or {"pix2pix": 100, "cyclegan": 40, "discogan": 150}[self.model]
        if self.image_size < 8 or self.image_size & (self.image_size - 1):
            raise SystemExit(f"--image_size must be a power of two, at least 8; got {self.image_size}")
        if self.direction not in ("AtoB", "BtoA"):
            raise SystemExit(f"--direction must be AtoB or BtoA; got {self.direction!r}")
        if self.out_dir is None:
            self.out_dir = f"runs/{checkpoint_name(self)}"


def checkpoint_name(cfg: Config) -> str:
    """pix2pix-fashion-mnist, the ablations pix2pix-encdec-..., pix2pix-l1-... (both: pix2pix-encdec-l1-...), and
    cyclegan-mnist-strokes, discogan-bags-shoes."""
    if cfg.model != "pix2pix":
        return f"{cfg.model}-{Path(cfg.dataset).name}"
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


def main(cfg: Config) -> UNetGenerator | CycleGAN:
    return train_pix2pix(cfg) if cfg.model == "pix2pix" else train_unpaired(cfg)


def train_pix2pix(cfg: Config) -> UNetGenerator:
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
            summary=(f"The generator of a Pix2Pix ({MODELS['pix2pix']}), {cfg.image_size}x{cfg.image_size} px, "
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


# ------------------------------------------------------------------------------------------------------ CycleGAN
def load_domains(cfg: Config):
    """(dataset A, dataset B), each yielding (image, label) for real_batch; a folder is one UnpairedFolder giving
    (a, b) items, returned twice (A = its first element, B = its second)."""
    size, channels = cfg.image_size, cfg.in_channels
    if cfg.fake_data:
        g = torch.Generator().manual_seed(cfg.seed)
        fake = lambda: torch.utils.data.TensorDataset(  # noqa: E731
            torch.rand(64, channels, size, size, generator=g) * 2 - 1, torch.zeros(64, dtype=torch.long))
        return fake(), fake()
    if cfg.dataset == "mnist-strokes":
        if channels != 1:
            raise SystemExit("--dataset=mnist-strokes is grey: use --in_channels=1 --out_channels=1")
        thin, thick, labels_a, labels_b = data.stroke_pairs("train", size)
        return (torch.utils.data.TensorDataset(thin, labels_a), torch.utils.data.TensorDataset(thick, labels_b))
    if cfg.dataset == "bags-shoes":
        if channels != 1:
            raise SystemExit("--dataset=bags-shoes is grey: use --in_channels=1 --out_channels=1")
        bags, shoes, labels = data.item_domains("train", size)
        return (torch.utils.data.TensorDataset(bags, torch.full((len(bags),), data.BAG_CLASSES[0])),
                torch.utils.data.TensorDataset(shoes, labels))
    folder = data.UnpairedFolder(cfg.dataset, size, channels, seed=cfg.seed)
    return folder, folder


def build_unpaired(cfg: Config) -> tuple[CycleGAN | DiscoGAN, torch.nn.ModuleDict]:
    """The two generators (one module) and D_A, D_B of CycleGAN or DiscoGAN."""
    if cfg.model == "cyclegan":
        model = CycleGAN(cfg.in_channels, cfg.base_channels, cfg.num_blocks, cfg.norm)
        make_d = lambda: PatchDiscriminator(cfg.in_channels, cfg.d_channels, cfg.d_layers, "instance")  # noqa: E731
    else:
        model = DiscoGAN(cfg.in_channels, cfg.base_channels)
        make_d = lambda: ImageDiscriminator(cfg.in_channels, cfg.d_channels, image_size=cfg.image_size)  # noqa: E731
    return model, torch.nn.ModuleDict({side: make_d() for side in "AB"})


def train_unpaired(cfg: Config) -> CycleGAN | DiscoGAN:
    """CycleGAN or DiscoGAN: the same loop over unpaired batches, their own losses (and CycleGAN's image pool and
    lr decay)."""
    torch.manual_seed(cfg.seed)
    if cfg.in_channels != cfg.out_channels:
        raise SystemExit(f"{cfg.model} maps between two domains of the same channels: set --in_channels=--out_channels")
    cycle = cfg.model == "cyclegan"
    model, D = build_unpaired(cfg)
    betas = (cfg.beta1, 0.999)
    optimizers = {"G": torch.optim.Adam(model.parameters(), cfg.lr, betas=betas),  # G and F together, as the
                  "D": torch.optim.Adam(D.parameters(), cfg.lr, betas=betas)}      # authors' code; D_A and D_B too
    domain_a, domain_b = load_domains(cfg)
    folder_pairs = domain_a is domain_b
    batch = lambda dataset, n, seed, step, **kw: common.real_batch(dataset, n, seed, step, labels=True, **kw)  # noqa
    fixed_a, fixed_b = batch(domain_a, 4, cfg.seed + 1, 0)[0], batch(domain_b, 4, cfg.seed + 2, 0)[int(folder_pairs)]

    def replay(m):  # rows: a, G(a), b, F(b)
        with torch.no_grad():
            return torch.cat([fixed_a, m(fixed_a.to(run.device)).cpu(), fixed_b, m(fixed_b.to(run.device), "BtoA").cpu()])

    run = common.TrainingRun(cfg, {"G": model, "D": D}, optimizers, cfg.batch_size, replay=replay, panels=CYCLE_PANELS,
                             state={"pool_a": None, "pool_b": None})
    model, D = run.nets["G"], run.nets["D"]
    pools = {side: ImagePool(cfg.pool_size) for side in "AB"}
    pools["A"].images, pools["B"].images = run.state["pool_a"], run.state["pool_b"]
    decay_from = run.total_steps // 2 if cycle else run.total_steps  # DiscoGAN: a constant learning rate
    for step in run.steps():
        lr = cfg.lr * min(1.0, (run.total_steps - step) / max(1, run.total_steps - decay_from))
        for optimizer in run.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr
        if folder_pairs:
            real_a, real_b = batch(domain_a, cfg.batch_size, cfg.seed, step, rank=run.rank, world=run.world)[:2]
        else:  # two permutations (seed, seed + 1): which A meets which B changes every epoch
            real_a = batch(domain_a, cfg.batch_size, cfg.seed, step, rank=run.rank, world=run.world)[0]
            real_b = batch(domain_b, cfg.batch_size, cfg.seed + 1, step, rank=run.rank, world=run.world)[0]
        real_a, real_b = real_a.to(run.device), real_b.to(run.device)
        D.requires_grad_(False)  # G's step needs D's gradients w.r.t. its input only (the authors' code)
        if cycle:
            g_loss, parts, fake_a, fake_b = cyclegan_g_loss(model, D, real_a, real_b, cfg.lambda_cycle,
                                                            cfg.lambda_identity)
        else:
            g_loss, parts, fake_a, fake_b = discogan_g_loss(model, D, real_a, real_b)
        run.optimizers["G"].zero_grad(set_to_none=True)
        run.accelerator.backward(g_loss)
        run.optimizers["G"].step()
        D.requires_grad_(True)
        if cycle:
            d_loss = cyclegan_d_loss(D, real_a, real_b, pools["A"].query(fake_a, run.rng).to(run.device),
                                     pools["B"].query(fake_b, run.rng).to(run.device))
        else:
            d_loss = discogan_d_loss(D, real_a, real_b, fake_a, fake_b)
        run.optimizers["D"].zero_grad(set_to_none=True)
        run.accelerator.backward(d_loss)
        run.optimizers["D"].step()
        run.state["pool_a"], run.state["pool_b"] = pools["A"].images, pools["B"].images  # saved with the resume file
        run.log(step, g_loss=g_loss.item(), d_loss=d_loss.item(), lr=lr, **{k: v.item() for k, v in parts.items()})
    export, folder, complete = run.finish(labels=("generators", "D_A + D_B"), checkpoint=checkpoint_name(cfg))
    if run.accelerator.is_main_process:
        metrics = None
        packaged = cfg.dataset in PACKAGED[cfg.model] and not cfg.fake_data
        if cfg.evaluate and packaged and complete:
            from train.evaluate import evaluate_cycle, evaluate_relation, save_metrics

            if cycle:
                thin, thick, labels = data.stroke_pairs("test", cfg.image_size)
                metrics = evaluate_cycle(export, thin, thick, labels, "mnist", data.STROKE_PROTOCOL)
            else:
                bags, shoes, _ = data.item_domains("test", cfg.image_size)
                metrics = evaluate_relation(export, bags, shoes, data.BAG_CLASSES, data.SHOE_CLASSES,
                                            "fashion-mnist", data.ITEM_PROTOCOL)
            save_metrics(metrics, folder)
        name, cls = ("CycleGAN", "CycleGAN") if cycle else ("DiscoGAN", "DiscoGAN")
        domains = {"mnist-strokes": f"thin <-> thick MNIST strokes, trained unpaired ({data.STROKE_PROTOCOL})",
                   "bags-shoes": f"bags <-> shoes ({data.ITEM_PROTOCOL})"}
        recipe = (f"lambda_cycle {cfg.lambda_cycle}, identity {cfg.lambda_identity} x lambda, a {cfg.pool_size}-image "
                  "history for D, lr constant for the first half and linearly to 0 over the second" if cycle else
                  "GAN loss + MSE reconstruction of both round trips (weight 1), constant lr")
        common.write_card(
            folder, title=f"{name}: {Path(cfg.dataset).name}", tags=["gan", cfg.model, "image-to-image", "genzoo"],
            summary=(f"Both generators of a {name} ({MODELS[cfg.model]}), {cfg.image_size}x{cfg.image_size} px, "
                     + (domains[cfg.dataset] if packaged else f"{cfg.dataset} (trainA <-> trainB)")
                     + ". See models/translation.py for what was scaled."),
            command=run.command("train.translation", Config, model=cfg.model), config=cfg,
            data=cfg.dataset if not cfg.fake_data else "random tensors",
            data_checksum=data.dataset_checksum({"mnist-strokes": "mnist", "bags-shoes": "fashion-mnist"}.get(
                cfg.dataset, cfg.dataset), cfg.fake_data),
            wall_seconds=run.wall, metrics=metrics,
            usage=(f"from models.translation import {cls}\nfrom models.hub import load_pretrained\n"
                   f'model = load_pretrained({cls}, "{folder.name}")\n'
                   'b = model(a)            # A -> B\na_again = model(b, "BtoA")  # B -> A'),
            notes=(f"Trained for {run.step} steps ({run.kimg(run.step):.0f} kimg per domain, batch {cfg.batch_size}), "
                   f"Adam {cfg.lr} / beta1 {cfg.beta1}; {recipe}; the last iterate ships. "
                   "`training.json` and `replay.png` hold the curves and the outputs over training (rows: a, "
                   "A -> B of a, b, B -> A of b)."))
        if cfg.push_to_hub:
            print(common.push_folder(folder, cfg.push_to_hub))
        run.accelerator.print(f"exported to {folder} after {run.wall / 60:.1f} min")
    return export


if __name__ == "__main__":
    main(common.parse_config(Config))
