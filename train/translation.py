"""Train the image-to-image models of the "Image-to-image" tab: Pix2Pix, CycleGAN, DiscoGAN, StarGAN.

Reproduce the bundled checkpoints (each card gives its exact command, wall time and numbers):
    python -m train.translation --export_dir=assets/checkpoints/pix2pix-fashion-mnist
    python -m train.translation --skips=false --export_dir=assets/checkpoints/pix2pix-encdec-fashion-mnist
    python -m train.translation --adversarial=false --export_dir=assets/checkpoints/pix2pix-l1-fashion-mnist
    python -m train.translation --model=cyclegan --export_dir=assets/checkpoints/cyclegan-mnist-strokes
    python -m train.translation --model=discogan --export_dir=assets/checkpoints/discogan-bags-shoes
    python -m train.translation --model=stargan --export_dir=assets/checkpoints/stargan-mnist-attributes
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
StarGAN: one G for all 12 domains of the colourised digits (data.ATTRIBUTE_PROTOCOL), WGAN-GP + domain
classification + reconstruction, n_critic 5, Adam 1e-4 (0.5, 0.999), batch 16 as the paper, lr decaying over the
second half; 32 px, G width 16, D width 32, and G without downsampling (its 6 residual blocks at 32 x 32, the same
FLOPs as width 64 at 8 x 8). On CelebA (the paper's setting, its two downsamplings: a folder's default), a GPU:
    python -m train.translation --model=stargan --dataset=/data/celeba --image_size=128 --base_channels=64 \
        --d_channels=64 --kimg=3200
Why no downsampling: none of StarGAN's losses asks G to keep the digit (the cycle only asks G(G(x, c), c_x) = x),
and with the paper's two downsamplings G redraws each digit from an 8 x 8 map, free to draw another one: trained so
(`--downsamplings=2`, 1600 kimg) it turned a 7 on dark into a 6 in every dark domain and back, digit kept 50.6 %
(96.0 % when the background flips, 5.1 % when it stays). Colour, thickness and background are local edits; at full
resolution G does them in place and keeps the digit. Not the receptive field: 200-kimg probes of `--downsamplings=2`
variants (kept when the background stays / flips) moved the change instead of removing it, --num_blocks=0 (a 28-px
field; the bundled G's is 37, the paper's 124) 24 % / 83 %, --lambda_id=5 77 % / 15 %, batch norm in G (a local
edit, not kept) 69 % / 14 %. `--downsamplings=0` at 200 kimg: 85 % / 49 % (blurry ghosts), 344 kimg 94 % / 90 %,
772 kimg 97 % / 97 % (500-digit probes); the bundled 1600 kimg: see its card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from models.translation import (SPADE_GAN, CycleGAN, DiscoGAN, ImageDiscriminator, ImagePool,
                                MultiscaleDiscriminator, PatchDiscriminator, StarDiscriminator, StarGenerator,
                                UNetGenerator, cyclegan_d_loss, cyclegan_g_loss, discogan_d_loss, discogan_g_loss,
                                feature_matching_loss, hinge_d_loss, kl_divergence, one_hot_labels, pix2pix_d_loss,
                                pix2pix_g_loss, receptive_field, stargan_d_loss, stargan_g_loss)
from train import common, data

MODELS = {"pix2pix": "Isola et al. 2017, arXiv:1611.07004", "cyclegan": "Zhu et al. 2017, arXiv:1703.10593",
          "discogan": "Kim et al. 2017, arXiv:1703.05192", "stargan": "Choi et al. 2018, arXiv:1711.09020",
          "spade": "Park et al. 2019, arXiv:1903.07291"}
PACKAGED = {"pix2pix": ("fashion-mnist", "mnist"), "cyclegan": ("mnist-strokes",), "discogan": ("bags-shoes",),
            "stargan": ("mnist-attributes",), "spade": ("scenes",)}
CELEBA_ATTRIBUTES = "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"  # the paper's five
PANELS = [[("g_loss", "G: cGAN + lambda L1"), ("d_loss", "D (halved)")], [("l1", "L1(y, G(x))")]]
STAR_PANELS = [[("d_adversarial", "D: Wasserstein loss"), ("gp", "gradient penalty")],
               [("d_cls", "D: domain loss (real)"), ("g_cls", "G: domain loss (fake)")],
               [("reconstruction", "reconstruction L1"), ("identity", "identity L1"),
                ("g_adversarial", "G: -D(fake)")]]
SPADE_PANELS = [[("g_gan", "G: hinge"), ("d_loss", "D: hinge (both scales)")],
                [("feature_matching", "feature matching L1"), ("kl", "KL(q(z|x) || N(0, I))")]]
CYCLE_PANELS = [[("g_loss", "G + F: total"), ("d_loss", "D_A + D_B (halved)")],
                [("adversarial", "GAN (both)"), ("cycle", "cycle L1"), ("identity", "identity L1"),
                 ("reconstruction", "reconstruction MSE")], [("lr", "lr")]]


@dataclass
class Config:
    """Pix2Pix or CycleGAN; every field can be overridden with --field=value (None = the model's default)."""
    model: str = "pix2pix"          # "pix2pix" (paired), "cyclegan" or "discogan" (unpaired), "stargan" (domains),
                                    # "spade" (label maps -> images)
    dataset: str | None = None      # None = fashion-mnist (pix2pix: edges -> items; or mnist) / mnist-strokes
                                    # (cyclegan: thin <-> thick digits) / bags-shoes (discogan: Fashion-MNIST
                                    # bags <-> shoes); or a folder (A|B pairs / trainA, trainB)
    direction: str = "AtoB"         # pix2pix folders: translate the left half into the right ("AtoB") or back
    image_size: int | None = None   # pixels, a power of two; None = 64 (pix2pix) / 32 (others); the papers: 256
                                    # (StarGAN: 128)
    in_channels: int | None = None  # None = 1 (edge maps, grey digits and items) / 3 (stargan); RGB folders: 3
    out_channels: int | None = None  # None = in_channels (pix2pix's items: 1)
    attributes: str = CELEBA_ATTRIBUTES  # stargan on a CelebA folder: the attribute columns that make the domains
    crop: int = 178                 # stargan on CelebA: centre crop before resizing (the authors')
    base_channels: int | None = None  # G's first layer width; None = 16 (32 for discogan; the papers: 64); pix2pix
                                    # doubles it per layer up to x8
                                    # (32 here = 7.3 M parameters, 29 MB, for no visible gain at 64 px)
    skips: bool = True              # pix2pix: U-Net; False = the encoder-decoder ablation
    norm: str = "instance"          # G's normalisation: "instance" (= the paper's batch-1 BatchNorm) or "batch"
    adversarial: bool = True        # pix2pix: cGAN + L1; False = the "L1 only" ablation (no D)
    num_blocks: int = 6             # cyclegan, stargan: residual blocks (the papers: 6 at 128 px, 9 at 256 px)
    downsamplings: int | None = None  # stargan: G's stride-2 convolutions before its blocks; None = 0 (the
                                    # colourised digits: see above) / 2 (a folder; the paper's)
    d_channels: int = 32            # D's first layer width (the papers: 64)
    d_layers: int | None = None     # PatchGAN stride-2 layers; None = 2 (34 x 34, pix2pix at 64 px) / 1 (16 x 16,
                                    # cyclegan at 32 px); 3 = the papers' 70 x 70 at 256 px
    l1_weight: float = 100.0        # pix2pix's lambda
    lambda_cycle: float = 10.0      # cyclegan's lambda
    lambda_identity: float = 0.5    # cyclegan: identity loss weight, in units of lambda_cycle
    pool_size: int = 50             # cyclegan: D's history of generated images
    lambda_cls: float = 1.0         # stargan: domain classification loss weight
    lambda_rec: float = 10.0        # stargan: reconstruction loss weight
    lambda_gp: float = 10.0         # stargan: WGAN-GP weight
    lambda_id: float = 0.0          # stargan: identity ||G(x, c_x) - x||_1 weight (CycleGAN's; StarGAN has none)
    n_critic: int = 5               # stargan: D steps per G step
    num_classes: int | None = None  # spade: label-map classes; None = 7 (scenes) / read from a folder's labels
    z_dim: int = 64                 # spade: style code (the paper: 256)
    spade_hidden: int = 16          # spade: width of SPADE's shared conv (the paper: 128)
    vae: bool = True                # spade: train the style encoder (multimodal, guided by an example image)
    num_d: int = 2                  # spade: discriminator scales (the paper: 2)
    lambda_fm: float = 10.0         # spade: feature matching weight
    lambda_kl: float = 0.05         # spade: KL weight of the style encoder
    batch_size: int | None = None   # None = 16 (pix2pix; the paper: 1, and 4 for edges2shoes) / 8 (cyclegan; 1) /
                                    # 32 (discogan; 200) / 16 (stargan; 16)
    lr: float | None = None         # Adam, both networks; None = 2e-4 (1e-4 stargan), the papers'; cyclegan and
                                    # stargan decay it linearly over the second half; spade: G's lr, D's is 4x
                                    # (TTUR, the authors' 1e-4 / 4e-4 with betas (0, 0.9))
    beta1: float = 0.5
    kimg: int | None = None         # images shown per domain, in thousands; None = 100 (pix2pix: 5 epochs of the
                                    # 20k pairs) / 40 (cyclegan: 1.3 epochs of each 30k domain) / 150 (discogan:
                                    # 25 epochs of the 6k bags, 8 of the 18k shoes) / 1600 (stargan: images
                                    # shown to D, 27 epochs, 20k G steps; the paper: 3.2 M) / 60 (spade: 1.2
                                    # epochs of the 50k scenes; the paper: 200 epochs of ~20k-120k images)
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
        cycle, disco, star = self.model == "cyclegan", self.model == "discogan", self.model == "stargan"
        spade = self.model == "spade"
        self.dataset = self.dataset or PACKAGED[self.model][0]
        self.image_size = self.image_size or (64 if self.model in ("pix2pix", "spade") else 32)
        self.in_channels = self.in_channels or (3 if star or spade else 1)
        self.out_channels = self.out_channels or self.in_channels
        self.base_channels = self.base_channels or (32 if disco else 8 if spade else 16)
        self.d_layers = self.d_layers or (1 if cycle else 3 if spade else 2)
        self.batch_size = self.batch_size or {"pix2pix": 16, "cyclegan": 8, "discogan": 32, "stargan": 16,
                                              "spade": 16}[self.model]
        self.kimg = self.kimg or {"pix2pix": 100, "cyclegan": 40, "discogan": 150, "stargan": 1600,
                                  "spade": 60}[self.model]
        self.lr = self.lr or (1e-4 if star or spade else 2e-4)
        if self.downsamplings is None:
            self.downsamplings = 0 if self.dataset == "mnist-attributes" else 2
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


def main(cfg: Config) -> UNetGenerator | CycleGAN | DiscoGAN | StarGenerator:
    if cfg.model in ("stargan", "spade"):
        return train_stargan(cfg) if cfg.model == "stargan" else train_spade(cfg)
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
        run.publish(folder)
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
    decay_steps = run.total_steps - run.total_steps // 2 if cycle else 0  # DiscoGAN: a constant learning rate
    for step in run.steps():
        lr = common.linear_decay(run.optimizers.values(), cfg.lr, step, run.total_steps, decay_steps)
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
        run.publish(folder)
    return export


# ------------------------------------------------------------------------------------------------------ StarGAN
def load_attribute_set(cfg: Config):
    """(dataset, attribute names). Packaged: TensorDataset(thin masks, thick masks, labels, attributes), rendered per
    batch by attribute_batch; a folder: data.AttributeFolder of (image, attributes)."""
    if cfg.fake_data:
        g = torch.Generator().manual_seed(cfg.seed)
        images = torch.rand(64, cfg.in_channels, cfg.image_size, cfg.image_size, generator=g) * 2 - 1
        return torch.utils.data.TensorDataset(images, (torch.rand(64, 5, generator=g) > 0.5).float()), data.ATTRIBUTES
    if cfg.dataset == "mnist-attributes":
        if cfg.in_channels != 3:
            raise SystemExit("--dataset=mnist-attributes is RGB: use --in_channels=3")
        return torch.utils.data.TensorDataset(*data.attribute_digits("train", cfg.image_size)), data.ATTRIBUTES
    names = tuple(a.strip() for a in cfg.attributes.split(",") if a.strip())
    return data.AttributeFolder(cfg.dataset, names, cfg.image_size, cfg.crop), names


def attribute_batch(dataset, batch_size: int, seed: int, step: int, rank: int = 0, world: int = 1):
    """(images, their attribute vectors) of batch `step` (common.real_batch's order)."""
    tensors = common.real_batch(dataset, batch_size, seed, step, rank, world, labels=True)
    if len(tensors) == 4:  # packaged (thin, thick, labels, attributes): draw the masks in their domains
        thin, thick, _, attributes = tensors
        return data.render_digits(thin, thick, attributes), attributes
    return tensors[0], tensors[1]


def replay_targets(attributes: torch.Tensor, names: tuple[str, ...]) -> list[torch.Tensor]:
    """The target rows of the replay for inputs with `attributes` (B, A): for the packaged digits each colour, then
    the thickness and the background flipped; for a folder each attribute flipped in turn (the paper's figures)."""
    if names == data.ATTRIBUTES:
        rows = []
        for k in range(3):
            row = attributes.clone()
            row[:, :3] = torch.nn.functional.one_hot(torch.full((len(row),), k), 3).float()
            rows.append(row)
        return rows + [flip(attributes, 3), flip(attributes, 4)]
    return [flip(attributes, k) for k in range(len(names))]


def flip(attributes: torch.Tensor, k: int) -> torch.Tensor:
    out = attributes.clone()
    out[:, k] = 1 - out[:, k]
    return out


def train_stargan(cfg: Config) -> StarGenerator:
    torch.manual_seed(cfg.seed)
    dataset, names = load_attribute_set(cfg)
    G = StarGenerator(cfg.in_channels, len(names), cfg.base_channels, cfg.num_blocks, cfg.downsamplings)
    D = StarDiscriminator(cfg.in_channels, len(names), cfg.d_channels, cfg.image_size)
    betas = (cfg.beta1, 0.999)
    optimizers = {"G": torch.optim.Adam(G.parameters(), cfg.lr, betas=betas),
                  "D": torch.optim.Adam(D.parameters(), cfg.lr, betas=betas)}
    fixed, fixed_attributes = attribute_batch(dataset, 4, cfg.seed + 1, 0)

    def replay(g):  # rows: the inputs, then each target row of replay_targets
        with torch.no_grad():
            return torch.cat([fixed] + [g(fixed.to(run.device), target.to(run.device)).cpu()
                                        for target in replay_targets(fixed_attributes, names)])

    run = common.TrainingRun(cfg, {"G": G, "D": D}, optimizers, cfg.batch_size, replay=replay, panels=STAR_PANELS)
    G, D = run.nets["G"], run.nets["D"]
    g_parts, decay_steps = {}, run.total_steps - run.total_steps // 2  # StarGAN: decay over the second half
    for step in run.steps():
        lr = common.linear_decay(run.optimizers.values(), cfg.lr, step, run.total_steps, decay_steps)
        x, c = attribute_batch(dataset, cfg.batch_size, cfg.seed, step, run.rank, run.world)
        x, c = x.to(run.device), c.to(run.device)
        target = c[torch.randperm(len(c), generator=run.rng).to(run.device)]  # the authors' shuffled labels
        with torch.no_grad():
            fake = G(x, target)
        d_loss, d_parts = stargan_d_loss(D, x, c, fake, cfg.lambda_cls, cfg.lambda_gp, run.rng)
        run.optimizers["D"].zero_grad(set_to_none=True)
        run.accelerator.backward(d_loss)
        run.optimizers["D"].step()
        if (step + 1) % cfg.n_critic == 0:
            D.requires_grad_(False)
            g_loss, g_parts, _ = stargan_g_loss(G, D, x, c, target, cfg.lambda_cls, cfg.lambda_rec,
                                                cfg.lambda_id)
            run.optimizers["G"].zero_grad(set_to_none=True)
            run.accelerator.backward(g_loss)
            run.optimizers["G"].step()
            D.requires_grad_(True)
        run.log(step, d_loss=d_loss.item(), lr=lr, **{k: v.item() for k, v in {**d_parts, **g_parts}.items()})
    export, folder, complete = run.finish(labels=("G", "D"), checkpoint=checkpoint_name(cfg))
    if run.accelerator.is_main_process:
        metrics = None
        packaged = cfg.dataset == "mnist-attributes" and not cfg.fake_data
        if cfg.evaluate and packaged and complete:
            from train.evaluate import evaluate_domains, save_metrics

            metrics = evaluate_domains(export, *data.attribute_digits("test", cfg.image_size))
            save_metrics(metrics, folder)
        common.write_card(
            folder, title=f"StarGAN: {Path(cfg.dataset).name}", tags=["gan", "stargan", "image-to-image", "genzoo"],
            summary=(f"The generator of a StarGAN ({MODELS['stargan']}), {cfg.image_size}x{cfg.image_size} px, one "
                     f"network for every domain of the attributes {', '.join(names)}"
                     + (f" ({data.ATTRIBUTE_PROTOCOL})" if packaged else f" ({cfg.dataset})")
                     + ". See models/translation.py for what was scaled."),
            command=run.command("train.translation", Config, model="stargan"), config=cfg,
            data=cfg.dataset if not cfg.fake_data else "random tensors",
            data_checksum=data.dataset_checksum("mnist" if cfg.dataset == "mnist-attributes" else cfg.dataset,
                                                cfg.fake_data),
            wall_seconds=run.wall, metrics=metrics,
            usage=("import torch\nfrom models.translation import StarGenerator\nfrom models.hub import load_pretrained\n"
                   f'G = load_pretrained(StarGenerator, "{folder.name}")\n'
                   f"# attributes in this order: {', '.join(names)}\n"
                   "y = G(x, torch.tensor([[0., 0., 1., 1., 0.]]))  # x: (1, 3, 32, 32) in [-1, 1] -> blue, thick, dark"),
            notes=(f"Trained for {run.step} D steps ({run.kimg(run.step):.0f} kimg, batch {cfg.batch_size}, one G step "
                   f"per {cfg.n_critic}), Adam {cfg.lr} / beta1 {cfg.beta1}, lr constant for the first half and "
                   f"linearly to 0 over the second; lambda_cls {cfg.lambda_cls}, lambda_rec {cfg.lambda_rec}, "
                   f"lambda_gp {cfg.lambda_gp}" + (f", identity x {cfg.lambda_id}" if cfg.lambda_id else "")
                   + "; the last iterate ships. `training.json` and `replay.png` hold the "
                   "curves and the outputs over training (top row: inputs; then each colour, thickness flipped, "
                   "background flipped)."))
        run.publish(folder)
    return export


# ------------------------------------------------------------------------------------------------------ SPADE
def load_scenes(cfg: Config):
    """(dataset of (image, label map), number of classes): the procedural scenes, or a folder of images/ + labels/."""
    if cfg.fake_data:
        g = torch.Generator().manual_seed(cfg.seed)
        k = cfg.num_classes or len(data.SCENE_CLASSES)
        return torch.utils.data.TensorDataset(
            torch.rand(64, 3, cfg.image_size, cfg.image_size, generator=g) * 2 - 1,
            torch.randint(k, (64, cfg.image_size, cfg.image_size), generator=g)), k
    if cfg.dataset == "scenes":
        return data.Scenes("train", cfg.image_size), len(data.SCENE_CLASSES)
    folder = data.SegmentationFolder(cfg.dataset, cfg.image_size, cfg.num_classes)
    return folder, folder.num_classes


def spade_style(model: SPADE_GAN, cfg: Config, real: torch.Tensor, rng: torch.Generator):
    """(z, KL): the style code of the real images by the encoder (reparameterised), or N(0, I) without the VAE."""
    if not cfg.vae:
        return torch.randn(len(real), cfg.z_dim, generator=rng).to(real), torch.zeros((), device=real.device)
    mu, logvar = model.E(real)
    z = mu + torch.randn(mu.shape, generator=rng).to(mu) * torch.exp(0.5 * logvar)
    return z, kl_divergence(mu, logvar)


def train_spade(cfg: Config) -> SPADE_GAN:
    torch.manual_seed(cfg.seed)
    dataset, num_classes = load_scenes(cfg)
    model = SPADE_GAN(num_classes, cfg.image_size, cfg.base_channels, cfg.z_dim, cfg.spade_hidden)
    D = MultiscaleDiscriminator(num_classes + 3, cfg.d_channels, cfg.d_layers, cfg.num_d)
    betas = (0.0, 0.9)  # TTUR (Heusel et al.), the authors' default: G at lr, D at 4 lr
    optimizers = {"G": torch.optim.Adam(model.parameters(), cfg.lr, betas=betas),
                  "D": torch.optim.Adam(D.parameters(), 4 * cfg.lr, betas=betas)}
    fixed_images, fixed_labels = common.real_batch(dataset, 4, cfg.seed + 1, 0, labels=True)
    fixed_z = torch.randn(4, cfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed + 2))

    def replay(m):  # rows: label maps, real images, their style encoded, a random style
        seg = one_hot_labels(fixed_labels, num_classes).to(run.device)
        with torch.no_grad():
            guided = m(seg, m.encode(fixed_images.to(run.device))).cpu() if cfg.vae else fixed_images
            return torch.cat([data.paint_labels(fixed_labels.clamp(max=len(data.SCENE_PALETTE) - 1)), fixed_images,
                              guided, m(seg, fixed_z.to(run.device)).cpu()])

    run = common.TrainingRun(cfg, {"G": model, "D": D}, optimizers, cfg.batch_size, replay=replay,
                             panels=SPADE_PANELS)
    model, D = run.nets["G"], run.nets["D"]
    for step in run.steps():
        real, labels = common.real_batch(dataset, cfg.batch_size, cfg.seed, step, run.rank, run.world, labels=True)
        real, seg = real.to(run.device), one_hot_labels(labels, num_classes).to(run.device)
        z, kl = spade_style(model, cfg, real, run.rng)
        fake = model(seg, z)
        D.requires_grad_(False)
        fake_out, real_out = D(seg, fake), D(seg, real)
        g_gan = -sum(out[-1].mean() for out in fake_out) / len(fake_out)
        fm = feature_matching_loss(real_out, fake_out)
        g_loss = g_gan + cfg.lambda_fm * fm + cfg.lambda_kl * kl
        run.optimizers["G"].zero_grad(set_to_none=True)
        run.accelerator.backward(g_loss)
        run.optimizers["G"].step()
        D.requires_grad_(True)
        d_loss = hinge_d_loss(D(seg, real), D(seg, fake.detach()))
        run.optimizers["D"].zero_grad(set_to_none=True)
        run.accelerator.backward(d_loss)
        run.optimizers["D"].step()
        run.log(step, g_loss=g_loss.item(), d_loss=d_loss.item(), g_gan=g_gan.item(), feature_matching=fm.item(),
                kl=kl.item())
    export, folder, complete = run.finish(labels=("G", "D"), checkpoint=checkpoint_name(cfg))
    if run.accelerator.is_main_process:
        metrics = None
        packaged = cfg.dataset == "scenes" and not cfg.fake_data
        if cfg.evaluate and packaged and complete:
            from train.evaluate import evaluate_spade, save_metrics

            metrics = evaluate_spade(export)
            save_metrics(metrics, folder)
        common.write_card(
            folder, title=f"SPADE (GauGAN): {Path(cfg.dataset).name}", tags=["gan", "spade", "image-to-image", "genzoo"],
            summary=(f"The generator and style encoder of a SPADE GAN ({MODELS['spade']}), {cfg.image_size}x"
                     f"{cfg.image_size} px, label maps of {num_classes} classes -> images"
                     + (f" ({data.SCENE_PROTOCOL})" if packaged else f" ({cfg.dataset})")
                     + ". See models/translation.py for what was scaled."),
            command=run.command("train.translation", Config, model="spade"), config=cfg,
            data=cfg.dataset if not cfg.fake_data else "random tensors",
            data_checksum=data.dataset_checksum(cfg.dataset, cfg.fake_data),
            wall_seconds=run.wall, metrics=metrics,
            usage=("import torch\nfrom models.translation import SPADE_GAN, one_hot_labels\n"
                   "from models.hub import load_pretrained\n"
                   f'model = load_pretrained(SPADE_GAN, "{folder.name}")\n'
                   f"seg = one_hot_labels(labels, {num_classes})  # labels: (B, {cfg.image_size}, {cfg.image_size}) "
                   "class indices\nimage = model(seg, torch.randn(len(seg), model.z_dim))  # a random style\n"
                   "image = model(seg, model.encode(example))         # the style of an example image"),
            notes=(f"Trained for {run.step} steps ({run.kimg(run.step):.0f} kimg, batch {cfg.batch_size}): hinge loss "
                   f"on {cfg.num_d} scales, feature matching x {cfg.lambda_fm}, "
                   + (f"KL x {cfg.lambda_kl} (style encoder), " if cfg.vae else "no style encoder, ")
                   + f"Adam betas (0, 0.9) with G lr {cfg.lr} and D lr {4 * cfg.lr} (TTUR); the last iterate ships. "
                   "The paper's VGG perceptual loss is left out: no VGG weights can be had offline. `training.json` "
                   "and `replay.png` hold the curves and the outputs over training (rows: label maps, real images, "
                   "their own style encoded, a random style)."))
        run.publish(folder)
    return export


if __name__ == "__main__":
    main(common.parse_config(Config))
