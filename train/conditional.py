"""Train the conditional GANs of the "Conditional GANs" tab: cGAN, AC-GAN, InfoGAN, BiGAN, text-to-image GAN-CLS.

Reproduce a bundled checkpoint (each card gives its exact command, wall time and numbers):
    python -m train.conditional --model=cgan --export_dir=assets/checkpoints/cgan-mnist
    python -m train.conditional --model=acgan --export_dir=assets/checkpoints/acgan-mnist
    python -m train.conditional --model=infogan --seed=1 --export_dir=assets/checkpoints/infogan-mnist
    python -m train.conditional --model=bigan --export_dir=assets/checkpoints/bigan-mnist
    python -m train.conditional --model=t2i --export_dir=assets/checkpoints/t2i-mnist
Continue a killed run bit for bit: add --resume (same --out_dir). A GPU and a labelled folder of real images
(class sub-folders) work the same way: accelerate launch -m train.conditional --model=acgan --dataset=/data/x ...

All four share DCGAN's 32-px generator and D body, Adam 2e-4 / beta1 0.5 (DCGAN's settings, which the AC-GAN and
InfoGAN papers also use), batch 64 and the non-saturating GAN loss; they differ in what G and D are told and asked
(models/conditional.py has the papers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from models import conditional as C
from models.dcgan import d_loss_nonsaturating, g_loss_nonsaturating
from train import common, data

MODELS = {  # name -> (title, paper)
    "cgan": ("cGAN", "Mirza & Osindero 2014, arXiv:1411.1784"),
    "acgan": ("AC-GAN", "Odena et al. 2017, arXiv:1610.09585"),
    "infogan": ("InfoGAN", "Chen et al. 2016, arXiv:1606.03657"),
    "bigan": ("BiGAN / ALI", "Donahue et al. 2017, arXiv:1605.09782; Dumoulin et al. 2017, arXiv:1606.00704"),
    "t2i": ("Text-to-image GAN-CLS", "Reed et al. 2016, arXiv:1605.05396"),
}
REPLAY_CAPTIONS = [f"a {name}" for name in C.CLASS_NAMES["mnist"]] + [
    "a thin one", "a thick one", "an upright seven", "a slanted seven", "a small two", "a large two"]

KIMG = {"cgan": 150, "acgan": 300, "infogan": 600, "bigan": 500, "t2i": 150}  # the bundled checkpoints' lengths


@dataclass
class Config:
    """A conditional GAN on MNIST; every field can be overridden with --field=value."""
    model: str = "cgan"             # cgan, acgan, infogan, bigan or t2i
    dataset: str = "mnist"          # "mnist", "fashion-mnist" or a folder with class sub-folders
    image_size: int = 32            # padded MNIST
    image_channels: int = 1
    num_classes: int = 10           # labels (cGAN, AC-GAN); InfoGAN's categorical code has as many values
    latent_dim: int | None = None   # None = 100 (InfoGAN: 62 noise dimensions, the paper's MNIST split)
    continuous_codes: int = 2       # InfoGAN's continuous codes, U(-1, 1)
    info_weight: float = 1.0        # InfoGAN's lambda for the categorical code (paper: 1)
    continuous_weight: float = 0.1  # ... times this for the continuous codes (the paper uses a smaller lambda)
    text_features: int = 64         # GAN-CLS: compressed caption embedding size (the paper: 128)
    mention: float = 0.5            # GAN-CLS: probability that a caption names each attribute its image has
    interpolation_weight: float = 1.0  # GAN-INT: weight of G's loss on interpolated captions (beta = 0.5)
    fc_features: int = 0            # InfoGAN: 0 = DCGAN's networks; 1024 = the paper's MNIST G and D (FC 1024 layers
                                    # around two (up)convolutions; its Table 1). Seed 0, 150 kimg, N(0, I) noise:
                                    # FD 1.86 but purity 0.35: z, not the category, chose the digit
    uniform_noise: bool = True      # InfoGAN: G sees U(-1, 1) noise, as in the official code (models/conditional.py).
                                    # Seed 1: purity 0.69 at 160 kimg, 0.81 at 320; N(0, I) noise: 0.35, 0.44
    g_channels: int = 64
    d_channels: int = 64
    batch_size: int = 64
    lr: float = 2e-4
    g_lr: float | None = None       # None = lr; InfoGAN: 1e-3, its paper's MNIST setting (2e-4 gave purity 0.19)
    beta1: float = 0.5
    kimg: int | None = None         # real images shown to D, in thousands; None = KIMG[model], the bundled lengths
    ema_decay: float = 0.999
    bn_batches: int = 16            # batches of 256 that re-estimate the EMA G's BatchNorm statistics
    seed: int = 0
    out_dir: str | None = None      # None = runs/<model>-<dataset>
    export_dir: str | None = None   # None = <out_dir>/checkpoint
    resume: bool = False
    save_every: int = 250
    replay_frames: int = 24
    evaluate: bool = True
    max_steps: int | None = None
    fake_data: bool = False
    device: str = "auto"
    push_to_hub: str | None = None

    def __post_init__(self):
        if self.model not in MODELS:
            raise SystemExit(f"--model must be one of {', '.join(MODELS)}; got {self.model!r}")
        if self.latent_dim is None:
            self.latent_dim = 62 if self.model == "infogan" else 100
        if self.kimg is None:
            self.kimg = KIMG[self.model]
        if self.g_lr is None:
            self.g_lr = 1e-3 if self.model == "infogan" else self.lr
        if self.out_dir is None:
            self.out_dir = f"runs/{self.model}-{Path(self.dataset).name}"


def build(cfg: Config) -> tuple[nn.Module, nn.Module]:
    shape = dict(image_channels=cfg.image_channels, image_size=cfg.image_size)
    if cfg.model == "cgan":
        return (C.ConditionalGenerator(cfg.latent_dim, cfg.num_classes, cfg.g_channels, **shape),
                C.ConditionalDiscriminator(cfg.d_channels, cfg.num_classes, **shape))
    if cfg.model == "acgan":
        return (C.ConditionalGenerator(cfg.latent_dim, cfg.num_classes, cfg.g_channels, **shape),
                C.AuxiliaryClassifierDiscriminator(cfg.d_channels, cfg.num_classes, **shape))
    if cfg.model == "infogan":
        return (C.InfoGenerator(cfg.latent_dim, cfg.num_classes, cfg.continuous_codes, cfg.g_channels, **shape,
                                fc_features=cfg.fc_features, uniform_noise=cfg.uniform_noise),
                C.InfoDiscriminator(cfg.d_channels, cfg.num_classes, cfg.continuous_codes, **shape,
                                    fc_features=cfg.fc_features))
    if cfg.model == "t2i":
        vocabulary = C.caption_vocabulary(caption_dataset(cfg))
        return (C.TextToImageGenerator(cfg.latent_dim, vocabulary, cfg.text_features, cfg.g_channels, **shape),
                C.MatchingAwareDiscriminator(len(vocabulary), cfg.text_features, cfg.d_channels, **shape))
    return C.BiGAN(cfg.latent_dim, cfg.g_channels, **shape), C.JointDiscriminator(cfg.latent_dim, cfg.d_channels, **shape)


def caption_dataset(cfg: Config) -> str:
    """Whose class names captions use: Fashion-MNIST's for it, digits' otherwise (MNIST, folders of digits)."""
    return "fashion-mnist" if cfg.dataset == "fashion-mnist" else "mnist"


def attributes(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Measured attributes of each image, (N, 3) in {-1, 0, 1} for (thin/thick, upright/slanted, small/large):
    -1 = the pair's first word, 1 = the second, 0 = neither (the middle third of the image's own class).

    Thickness = total ink; slant = |shear| of the ink (second moments, as MNIST's deskewing measures it); size = area
    of the ink's bounding box. Thirds are taken per class, so "a thick one" is thick for a one."""
    ink = (images.float().mean(1) + 1) / 2                                 # (N, H, W) in [0, 1]
    h, w = ink.shape[1:]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    mass = ink.sum((1, 2)).clamp_min(1e-6)
    my, mx = (ink * ys).sum((1, 2)) / mass, (ink * xs).sum((1, 2)) / mass
    dy, dx = ys - my[:, None, None], xs - mx[:, None, None]
    shear = (ink * dx * dy).sum((1, 2)) / (ink * dy * dy).sum((1, 2)).clamp_min(1e-6)
    on = ink > 0.3
    rows, cols = on.any(2).float(), on.any(1).float()
    extent = lambda m: (m.shape[1] - m.flip(1).argmax(1) - m.argmax(1)).clamp_min(0)  # noqa: E731
    area = (extent(rows) * extent(cols)).float()
    out = torch.zeros(len(images), 3, dtype=torch.long)
    for j, value in enumerate((mass, shear.abs(), area)):
        for c in labels.unique():
            members = labels == c
            low, high = torch.quantile(value[members], torch.tensor([1 / 3, 2 / 3]))
            out[members, j] = (value[members] > high).long() - (value[members] < low).long()
    return out


def caption_phi(labels: torch.Tensor, attrs: torch.Tensor, mention: torch.Tensor, vocabulary: list[str]) -> torch.Tensor:
    """phi(t) for captions naming each label and the attributes where `mention` (N, 3) is True and the image has one."""
    phi = torch.zeros(len(labels), len(vocabulary))
    k = 2 * len(C.ATTRIBUTES)
    phi[torch.arange(len(labels)), k + labels] = 1
    for j in range(len(C.ATTRIBUTES)):
        said = mention[:, j] & (attrs[:, j] != 0)
        phi[said, 2 * j + (attrs[said, j] > 0).long()] = 1
    return phi


def conditions(cfg: Config, n: int, g: torch.Generator) -> tuple[torch.Tensor, ...]:
    """What G is given besides z: (labels,) for cGAN/AC-GAN, (categories, continuous codes) for InfoGAN, () for BiGAN."""
    if cfg.model in ("cgan", "acgan"):
        return (torch.randint(0, cfg.num_classes, (n,), generator=g),)
    if cfg.model == "infogan":
        return (torch.randint(0, cfg.num_classes, (n,), generator=g),
                torch.rand(n, cfg.continuous_codes, generator=g) * 2 - 1)
    if cfg.model == "t2i":  # random captions (BatchNorm statistics); training uses the real images' captions
        labels = torch.randint(0, cfg.num_classes, (n,), generator=g)
        attrs = torch.randint(-1, 2, (n, 3), generator=g)
        mention = torch.rand(n, 3, generator=g) < cfg.mention
        return (caption_phi(labels, attrs, mention, C.caption_vocabulary(caption_dataset(cfg))),)
    return ()


def caption_conditions(cfg: Config, labels, attrs, g: torch.Generator) -> tuple[torch.Tensor, ...]:
    """GAN-CLS's three captions per real image: the right one, a wrong one (same attributes, another class), and
    GAN-INT's interpolation halfway between this caption and the next image's."""
    vocabulary = C.caption_vocabulary(caption_dataset(cfg))
    mention = torch.rand(len(labels), 3, generator=g) < cfg.mention
    right = caption_phi(labels, attrs, mention, vocabulary)
    other = (labels + torch.randint(1, cfg.num_classes, labels.shape, generator=g)) % cfg.num_classes
    wrong = caption_phi(other, attrs, mention, vocabulary)
    return right, wrong, 0.5 * (right + right.roll(1, 0))


def train_step(cfg: Config, G, D, opt_g, opt_d, real, labels, z, extra, backward=torch.Tensor.backward):
    """One D update and one G update. `extra` = conditions(...) for the fakes. Returns (d_loss, g_loss, stats)."""
    if cfg.model == "t2i":
        right, wrong, interpolated = extra
        fake = G(z, right)
    else:
        fake = G(z, *extra) if cfg.model != "bigan" else G.generator(z)
    stats = {}
    if cfg.model == "cgan":
        real_logits, fake_logits = D(real, labels), D(fake.detach(), extra[0])
        d_loss = d_loss_nonsaturating(real_logits, fake_logits)
    elif cfg.model == "acgan":
        (real_logits, real_class), (fake_logits, fake_class) = D(real), D(fake.detach())
        d_loss = C.d_loss_acgan(real_logits, real_class, fake_logits, fake_class, labels, extra[0])
        stats["d_class_accuracy_real"] = (real_class.argmax(1) == labels).float().mean().item()
    elif cfg.model == "infogan":
        (real_logits, _, _), (fake_logits, cat, cont) = D(real), D(fake.detach())
        # Q (sharing D's body) learns to read the codes back from the fakes: its part of maximising L_I
        info = C.info_loss(cat, cont, *extra, cfg.continuous_weight)
        d_loss = d_loss_nonsaturating(real_logits, fake_logits) + cfg.info_weight * info
    elif cfg.model == "t2i":
        real_logits, fake_logits = D(real, right), D(fake.detach(), right)
        wrong_logits = D(real, wrong)
        d_loss = C.d_loss_gan_cls(real_logits, wrong_logits, fake_logits)
        stats["d_wrong_caption"] = torch.sigmoid(wrong_logits).mean().item()
    else:  # BiGAN: data pairs (x, E(x)) against generated pairs (G(z), z)
        real_logits, fake_logits = D(real, G.encoder(real).detach()), D(fake.detach(), z)
        d_loss = d_loss_nonsaturating(real_logits, fake_logits)
    stats.update(d_real=torch.sigmoid(real_logits).mean().item(), d_fake=torch.sigmoid(fake_logits).mean().item())
    opt_d.zero_grad(set_to_none=True)
    backward(d_loss)
    opt_d.step()

    if cfg.model == "cgan":
        g_loss = g_loss_nonsaturating(D(fake, extra[0]))
    elif cfg.model == "acgan":
        fake_logits, fake_class = D(fake)
        g_loss = C.g_loss_acgan(fake_logits, fake_class, extra[0])
    elif cfg.model == "infogan":
        fake_logits, cat, cont = D(fake)
        info = C.info_loss(cat, cont, *extra, cfg.continuous_weight)
        g_loss = g_loss_nonsaturating(fake_logits) + cfg.info_weight * info
        stats["info_loss"] = info.item()
    elif cfg.model == "t2i":  # GAN-CLS, plus GAN-INT: fakes for captions between two real ones must fool D too
        g_loss = g_loss_nonsaturating(D(fake, right))
        g_loss = g_loss + cfg.interpolation_weight * g_loss_nonsaturating(D(G(z.roll(1, 0), interpolated), interpolated))
    else:  # G and E together fool D with the labels swapped (the non-saturating form of BiGAN's minimax game)
        # G wants D(G(z), z) called real: -log D; E wants D(x, E(x)) called fake: -log(1 - D) = softplus(logit)
        g_loss = g_loss_nonsaturating(D(fake, z)) + nn.functional.softplus(D(real, G.encoder(real))).mean()
    opt_g.zero_grad(set_to_none=True)
    backward(g_loss)
    opt_g.step()
    return d_loss, g_loss, stats


PANELS = [[("d_loss", "D loss"), ("g_loss", "G loss")], [("d_real", "D(x)"), ("d_fake", "D(G(z))")],
          [("info_loss", "InfoGAN's -L_I (code reconstruction)"), ("d_class_accuracy_real", "AC-GAN: D's accuracy on real"),
           ("d_wrong_caption", "GAN-CLS: D(real image, wrong caption)")]]


def load_data(cfg: Config):
    dataset = data.training_set(cfg.dataset, cfg.image_size, cfg.image_channels, cfg.batch_size, cfg.fake_data,
                                cfg.seed, cfg.num_classes)
    if cfg.model == "t2i":  # captions need each image's measured attributes: computed once, kept beside the labels
        if isinstance(dataset, torch.utils.data.TensorDataset):
            images, labels = dataset.tensors
        else:  # a folder: decoded once (captioned training needs every image's attributes anyway)
            items = [dataset[i] for i in range(len(dataset))]
            images, labels = torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])
        dataset = torch.utils.data.TensorDataset(images, labels, attributes(images, labels))
    return dataset


def replay_inputs(cfg: Config) -> tuple[torch.Tensor, ...]:
    """The replay's 16 fixed inputs: one row per class (or category) where G takes one; codes at 0 for InfoGAN."""
    z = torch.randn(16, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed))
    labels = torch.arange(16) % cfg.num_classes
    if cfg.model in ("cgan", "acgan"):
        return z, labels
    if cfg.model == "infogan":
        return z, labels, torch.zeros(16, cfg.continuous_codes)
    if cfg.model == "t2i":
        return z, torch.stack([C.caption_embedding(*C.parse_caption(c, vocabulary), vocabulary)
                               for c in REPLAY_CAPTIONS for vocabulary in [C.caption_vocabulary(caption_dataset(cfg))]])
    return (z,)


def main(cfg: Config) -> nn.Module:
    title, paper = MODELS[cfg.model]
    torch.manual_seed(cfg.seed)
    G, D = build(cfg)
    betas = (cfg.beta1, 0.999)
    opt_g = torch.optim.Adam(G.parameters(), cfg.g_lr, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), cfg.lr, betas=betas)
    fixed = replay_inputs(cfg)

    def inputs(n, g):  # BatchNorm re-estimation batches: z from the prior, conditions as in training
        return (torch.randn(n, cfg.latent_dim, generator=g), *conditions(cfg, n, g))

    run = common.TrainingRun(cfg, {"G": G, "D": D}, {"G": opt_g, "D": opt_d}, cfg.batch_size,
                                replay=lambda g: g(*(x.to(run.device) for x in fixed)), panels=PANELS, inputs=inputs)
    dataset = load_data(cfg)
    G, D = run.nets["G"], run.nets["D"]
    for step in run.steps():
        real, labels, *attrs = common.real_batch(dataset, cfg.batch_size, cfg.seed, step, run.rank, run.world,
                                                 labels=True)
        z = common.latents(cfg.seed, step, cfg.batch_size, cfg.latent_dim)[run.rank::run.world]
        if cfg.model == "t2i":
            extra = tuple(x.to(run.device) for x in caption_conditions(cfg, labels, attrs[0], run.rng))
        else:
            extra = tuple(x[run.rank::run.world].to(run.device) for x in conditions(cfg, cfg.batch_size, run.rng))
        d_loss, g_loss, stats = train_step(cfg, G, D, run.optimizers["G"], run.optimizers["D"], real.to(run.device),
                                           labels.to(run.device), z.to(run.device), extra, run.accelerator.backward)
        run.log(step, d_loss=d_loss.item(), g_loss=g_loss.item(), **stats)
    export, folder, complete = run.finish(model=cfg.model)
    if cfg.model == "bigan":  # the EMA encoder's BatchNorm statistics, re-estimated on real images
        images = torch.cat([common.real_batch(dataset, 256, cfg.seed + 1, i) for i in range(cfg.bn_batches)])
        pick = lambda n, g: (images[torch.randint(0, len(images), (n,), generator=g)],)  # noqa: E731
        export.encoder = common.recalibrate_batchnorm(export.encoder, 0, cfg.bn_batches, inputs=pick)
        if run.accelerator.is_main_process:
            common.save_export(export, folder)
    if run.accelerator.is_main_process:
        metrics = None
        if cfg.evaluate and not cfg.fake_data and cfg.dataset in ("mnist", "fashion-mnist") and complete:
            from train.evaluate import evaluate_conditional, save_metrics

            metrics = evaluate_conditional(export, cfg.model, cfg.dataset)
            save_metrics(metrics, folder)
        cls = type(export).__name__
        call = {"cgan": "G(z, labels)", "acgan": "G(z, labels)", "infogan": "G(z, categories, continuous_codes)",
                "bigan": "G(z); G.encode(x); G.reconstruct(x)", "t2i": 'G(z, G.embed(["a thick seven"] * len(z)))'}[cfg.model]
        common.write_card(
            folder, title=f"{title} on {cfg.dataset}", tags=["gan", cfg.model, "genzoo"],
            summary=(f"The EMA generator of a {title} ({paper}), {cfg.image_size}x{cfg.image_size} px, "
                     f"{cfg.dataset}, trained on a CPU with DCGAN's 32-px networks; see models/conditional.py."),
            command=run.command("train.conditional", Config, model=cfg.model), config=cfg,
            data=cfg.dataset if not cfg.fake_data else "random tensors",
            data_checksum=data.dataset_checksum(cfg.dataset, cfg.fake_data),
            wall_seconds=run.wall, metrics=metrics,
            usage=(f"from models.conditional import {cls}\nfrom models.hub import load_pretrained\n"
                   f'G = load_pretrained({cls}, "{folder.name}", family="conditional")\n{call}  # images in [-1, 1]'),
            notes=(f"Trained for {run.step} steps ({run.kimg(run.step):.0f} kimg), Adam {cfg.lr} (G: {cfg.g_lr}) / beta1 {cfg.beta1}, "
                   f"batch {cfg.batch_size}. The shipped weights are an EMA (decay {cfg.ema_decay}) of G"
                   + (" and E" if cfg.model == "bigan" else "") + " with BatchNorm statistics re-estimated. "
                   "`training.json` and `replay.png` hold the curves and the sample grids over training."))
        run.publish(folder)
    return export


if __name__ == "__main__":
    main(common.parse_config(Config))
