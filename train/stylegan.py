"""Train the progressive and style-based GANs of the "Style-based GANs" tab (genzoo issue 7).

Reproduce a bundled checkpoint (each card gives its exact command and wall time):
    python -m train.stylegan --model=stylegan2 --export_dir=assets/checkpoints/stylegan2-fashion-styles
    python -m train.stylegan --model=stylegan --export_dir=assets/checkpoints/stylegan-fashion-styles
    python -m train.stylegan --model=progan --export_dir=assets/checkpoints/progan-fashion-styles
    python -m train.stylegan --model=stylegan2 --subset=2000 --ada --kimg=160 \
        --export_dir=assets/checkpoints/stylegan2-ada-2k-fashion-styles
    python -m train.stylegan --model=stylegan2 --subset=2000 --kimg=160 --export_dir=assets/checkpoints/stylegan2-2k-fashion-styles
Continue a killed run bit for bit: add --resume (same --out_dir).
FFHQ/LSUN-style folder of images on a GPU, at the papers' scale:
    accelerate launch -m train.stylegan --model=stylegan2 --dataset=/data/ffhq --image_size=256 \
        --channels=512,512,512,512,512,256,128 --latent_dim=512 --w_dim=512 --kimg=25000 --push_to_hub=me/sg2-ffhq

What each model trains with (papers and layers: models/stylegan.py):
- progan: WGAN-GP (lambda 10) + epsilon-drift 0.001, Adam(1e-3, 0, 0.99), phases of `phase_kimg`: 4 px, then for
  every further resolution a fade-in (alpha 0 -> 1, real images faded the same way) and a stable phase. The EMA
  generator at the end of each stage is kept: the shipped ProGAN holds all of them.
- stylegan: the non-saturating logistic loss + R1 (gamma 10) every step, style mixing 0.9, ProGAN's D, Adam(1e-3,
  0, 0.99), mapping at 0.01 x the learning rate, w_avg tracked with decay 0.995.
- stylegan2: the same loss with lazy R1 (every 16 D steps) and lazy path-length regularisation (weight 2, every 4 G
  steps, half batch), the residual D, Adam(2.5e-3, 0, 0.99) with the paper's lazy-regularisation correction.
- --ada: StyleGAN2-ADA's augmentation of every image D sees (reals, fakes, and R1's reals), p steered by r_t towards
  0.6; `ada_kimg` (how fast p may move) is 100 instead of the paper's 500 because our runs are ~100x shorter.
  Without --ada the StyleGANs still log r_t, so the ADA / no-ADA pair shows how much D overfits either way.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from models import stylegan as S
from models.dcgan import d_loss_nonsaturating, g_loss_nonsaturating
from models.objectives import gradient_penalty, r1_penalty
from train import common, data

MODELS = ("progan", "stylegan", "stylegan2")
KIMG = {"stylegan": 160, "stylegan2": 160}  # the bundled lengths (ProGAN's: 7 phases of phase_kimg, 280 kimg)


@dataclass
class Config:
    """A progressive or style-based GAN; every field can be overridden with --field=value."""
    model: str = "stylegan2"         # "progan", "stylegan" or "stylegan2"
    dataset: str = "fashion-styles"  # "fashion-styles" (data.STYLE_PROTOCOL) or a folder of images
    image_size: int = 32
    image_channels: int = 3
    channels: str = "128,128,64,32"  # feature maps per resolution from 4 px up; its length sets the output size
    latent_dim: int = 128            # z size (ProGAN: 64)
    w_dim: int = 128                 # StyleGAN's w size
    batch_size: int = 32
    kimg: int | None = None          # real images shown to D, in thousands; None = KIMG[model] (ProGAN: every
                                     # phase once)
    phase_kimg: int = 40             # ProGAN: length of each fade-in and each stable phase (the paper: 800)
    lr: float | None = None          # None = the paper's (1e-3; StyleGAN2 2.5e-3)
    r1_gamma: float | None = None    # None = 10 (StyleGAN) / 0.01 (StyleGAN2 at 32 px: NVlabs' CIFAR-10 setting)
    r1_every: int = 16               # StyleGAN2's lazy R1 interval (D steps)
    pl_weight: float = 2.0           # StyleGAN2's path-length weight
    pl_every: int = 4                # ... and its interval (G steps)
    mixing: float = 0.9              # style-mixing probability
    ada: bool = False                # StyleGAN2-ADA's adaptive augmentation
    ada_target: float = S.ADA_TARGET
    ada_kimg: float = 100.0          # images (thousands) for p to go 0 -> 1 at full speed
    subset: int | None = None        # train on the first N images of a seeded shuffle (ADA's limited-data setting)
    ema_decay: float = 0.998         # per step: a half-life of ~10 kimg at batch 32, NVlabs' ema_kimg
    seed: int = 0
    out_dir: str | None = None       # None = runs/<model>[-ada][-<subset>]-<dataset>
    export_dir: str | None = None
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
        widths = self.channel_list()
        if S.resolutions(widths)[-1] != self.image_size:
            raise SystemExit(f"--channels has {len(widths)} entries (4 ... {S.resolutions(widths)[-1]} px) but "
                             f"--image_size={self.image_size}")
        if self.kimg is None:
            self.kimg = KIMG[self.model] if self.model != "progan" else self.phase_kimg * (2 * len(widths) - 1)
        if self.out_dir is None:
            tag = "-ada" if self.ada else ""
            tag += f"-{self.subset // 1000}k" if self.subset else ""
            self.out_dir = f"runs/{self.model}{tag}-{Path(self.dataset).name}"

    def channel_list(self) -> tuple[int, ...]:
        return common.int_list(self.channels, "channels")


def build(cfg: Config):
    widths = cfg.channel_list()
    if cfg.model == "progan":
        return (S.ProGANGenerator(cfg.latent_dim, widths, cfg.image_channels),
                S.ProGANDiscriminator(widths, cfg.image_channels))
    if cfg.model == "stylegan":
        return (S.StyleGAN(cfg.latent_dim, cfg.w_dim, 8, widths, cfg.image_channels),
                S.ProGANDiscriminator(widths, cfg.image_channels))
    return (S.StyleGAN2(cfg.latent_dim, cfg.w_dim, 8, widths, cfg.image_channels),
            S.ResidualDiscriminator(widths, cfg.image_channels))


def optimizers(cfg: Config, G, D):
    lr = cfg.lr or (2.5e-3 if cfg.model == "stylegan2" else 1e-3)
    if cfg.model != "stylegan2":
        return (torch.optim.Adam(G.parameters(), lr, betas=(0.0, 0.99)),
                torch.optim.Adam(D.parameters(), lr, betas=(0.0, 0.99)))

    def lazy(every: int) -> dict:  # StyleGAN2 Appendix B: the optimiser sees the regulariser every `every` steps
        ratio = every / (every + 1)
        return {"lr": lr * ratio, "betas": (0.0, 0.99 ** ratio)}

    return torch.optim.Adam(G.parameters(), **lazy(cfg.pl_every)), torch.optim.Adam(D.parameters(), **lazy(cfg.r1_every))


def progan_phase(cfg: Config, kimg: float) -> tuple[int, float]:
    """(stage, alpha) after `kimg` thousand images: phase 0 = 4 px stable, then (fade-in, stable) per stage."""
    phase = min(int(kimg // cfg.phase_kimg), 2 * len(cfg.channel_list()) - 2)
    stage = (phase + 1) // 2
    fading = phase % 2 == 1
    alpha = (kimg - phase * cfg.phase_kimg) / cfg.phase_kimg if fading else 1.0
    return stage, min(alpha, 1.0)


def shrink(images: torch.Tensor, stage: int, alpha: float) -> torch.Tensor:
    """Real images at a ProGAN stage: average-pooled to its resolution, and faded in as the generator is."""
    size = 4 * 2 ** stage
    x = F.adaptive_avg_pool2d(images, size)
    if alpha < 1 and stage > 0:
        x = torch.lerp(F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest"), x, alpha)
    return x


PANELS = [[("d_loss", "D loss"), ("g_loss", "G loss")], [("d_real", "D(x)"), ("d_fake", "D(G(z))")],
          [("p", "ADA p"), ("r_t", "r_t"), ("alpha", "fade-in alpha"), ("penalty", "R1 / GP"), ("pl", "path length")]]


def main(cfg: Config) -> torch.nn.Module:
    torch.manual_seed(cfg.seed)
    G, D = build(cfg)
    opt_g, opt_d = optimizers(cfg, G, D)
    replay_z = torch.randn(16, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed))
    # ADA's controller; without --ada it only measures r_t (D's overfitting), so the pair of runs can be compared
    controller = S.AdaptiveAugment(cfg.ada_target, cfg.ada_kimg) if cfg.model != "progan" else None
    state = {"pl_mean": torch.zeros(()), "ada": controller.state_dict() if controller else {}, "snapshots": {}}

    now = {"step": 0}  # the step being trained: replay frames are taken right after it

    def replay(g):
        z = replay_z.to(run.device)
        if cfg.model != "progan":
            return g(z, noise_mode="const")
        stage, alpha = progan_phase(cfg, run.kimg(now["step"]))
        return F.interpolate(g(z, alpha, stage), size=cfg.image_size, mode="nearest")

    run = common.TrainingRun(cfg, {"G": G, "D": D}, {"G": opt_g, "D": opt_d}, cfg.batch_size, replay=replay,
                             state=state, panels=PANELS)
    if controller and run.state["ada"]:  # {} in a resume file written before r_t was measured without ADA
        controller.load_state_dict(run.state["ada"])
    dataset = data.training_set(cfg.dataset, cfg.image_size, cfg.image_channels, cfg.batch_size, cfg.fake_data,
                                cfg.seed)
    if cfg.subset:
        keep = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(cfg.seed + 1))[:cfg.subset]
        dataset = torch.utils.data.Subset(dataset, keep.tolist())
    G, D = run.nets["G"], run.nets["D"]
    raw_g = run.accelerator.unwrap_model(G)
    gamma = cfg.r1_gamma if cfg.r1_gamma is not None else (10.0 if cfg.model == "stylegan" else 0.01)

    def augment(x: torch.Tensor) -> torch.Tensor:
        return S.ada_augment(x, controller.p, run.rng) if cfg.ada else x

    for step in run.steps():
        now["step"] = step
        real = common.real_batch(dataset, cfg.batch_size, cfg.seed, step, run.rank, run.world).to(run.device)
        z1, z2 = common.latents(cfg.seed, step, 2 * cfg.batch_size, cfg.latent_dim)[run.rank::run.world].chunk(2)
        z1, z2 = z1.to(run.device), z2.to(run.device)
        stats = {}
        if cfg.model == "progan":
            stage, alpha = progan_phase(cfg, run.kimg(step))
            real = shrink(real, stage, alpha)

            def critic(x):
                return D(x, alpha)

            fake = G(z1, alpha, stage)
            real_scores, fake_scores = critic(real), critic(fake.detach())
            penalty = gradient_penalty(critic, real, fake, 10.0, run.rng)
            d_loss = fake_scores.mean() - real_scores.mean() + penalty + S.drift_penalty(real_scores)
            stats = {"alpha": alpha + stage}
        else:
            with torch.no_grad():
                fake = G(z1, mix_z=z2, cutoff=S.mixing_cutoff(raw_g.num_ws, cfg.mixing, run.rng))
            fake_scores = D(augment(fake))
            lazy = cfg.model == "stylegan2"
            if not lazy or step % cfg.r1_every == 0:
                penalty, real_scores = r1_penalty(lambda x: D(augment(x)), real, gamma)
                penalty = penalty * (cfg.r1_every if lazy else 1)
            else:
                real_scores, penalty = D(augment(real)), torch.zeros(())
            d_loss = d_loss_nonsaturating(real_scores, fake_scores) + penalty
            if controller:
                controller.observe(real_scores)
                stats = {"p": controller.p, "r_t": controller.r_t} if cfg.ada else {"r_t": controller.r_t}
        run.optimizers["D"].zero_grad(set_to_none=True)
        run.accelerator.backward(d_loss)
        run.optimizers["D"].step()

        # G step
        if cfg.model == "progan":
            g_loss = -critic(G(z1, alpha, stage)).mean()
        else:
            fake, ws = G(z1, mix_z=z2, cutoff=S.mixing_cutoff(raw_g.num_ws, cfg.mixing, run.rng), return_ws=True)
            g_loss = g_loss_nonsaturating(D(augment(fake)))
            with torch.no_grad():  # StyleGAN's tracked average of w, the centre of the truncation trick
                raw_g.w_avg.lerp_(ws[:, 0].mean(0), 1 - 0.995)
            if cfg.model == "stylegan2" and cfg.pl_weight > 0 and step % cfg.pl_every == 0:
                half = max(1, len(z1) // 2)  # the paper's pl_batch_shrink 2
                pl_images, pl_ws = G(z1[:half], return_ws=True)
                pl, run.state["pl_mean"] = S.path_length_penalty(pl_ws, pl_images, run.state["pl_mean"],
                                                                 generator=run.rng)
                g_loss = g_loss + pl * cfg.pl_weight * cfg.pl_every
            if cfg.model == "stylegan2":
                stats["pl"] = float(run.state["pl_mean"])  # every step: each curve needs a value in every record
        run.optimizers["G"].zero_grad(set_to_none=True)
        run.accelerator.backward(g_loss)
        run.optimizers["G"].step()
        if controller:
            run.state["ada"] = controller.state_dict()
        if cfg.model == "progan" and (progan_phase(cfg, run.kimg(step + 1))[0] > stage or step + 1 == run.total_steps):
            # the stage ends with this step: keep the EMA generator as it is now (the one update below is negligible)
            run.state["snapshots"][str(stage)] = copy.deepcopy(run.ema.state_dict())
        run.log(step, d_loss=d_loss.item(), g_loss=g_loss.item(), d_real=real_scores.mean().item(),
                d_fake=fake_scores.mean().item(), penalty=float(penalty.detach()), **stats)

    export, folder, complete = run.finish(("D(x) (score)", "D(G(z)) (score)"), model=cfg.model, ada=cfg.ada)
    if cfg.model == "progan":
        export = progan_export(cfg, export, run.state["snapshots"])
        if run.accelerator.is_main_process:
            common.save_export(export, folder)
    if run.accelerator.is_main_process:
        metrics = None
        if cfg.evaluate and not cfg.fake_data and cfg.dataset == "fashion-styles" and complete:
            from train.evaluate import evaluate_generator, save_metrics

            metrics = evaluate_generator(export, cfg.dataset)
            save_metrics(metrics, folder)
        write_card(cfg, run, export, folder, metrics)
        run.publish(folder)
    return export


def progan_export(cfg: Config, final: S.ProGANGenerator, snapshots: dict) -> S.ProGAN:
    """The shipped ProGAN: stage s = the EMA generator at the end of stage s (only its first s + 1 blocks), the last
    stage = the final EMA generator. A stage the run did not reach keeps the final weights' layers."""
    model = S.ProGAN(cfg.latent_dim, cfg.channel_list(), cfg.image_channels)
    for s, stage in enumerate(model.stages):
        source = snapshots.get(str(s), final.state_dict()) if s < len(model.stages) - 1 else final.state_dict()
        own = stage.state_dict()
        stage.load_state_dict({k: source[k] for k in own})
    return model.eval().requires_grad_(False)


TITLES = {"progan": "ProGAN", "stylegan": "StyleGAN", "stylegan2": "StyleGAN2"}
PAPERS = {"progan": "Karras et al. 2018, arXiv:1710.10196", "stylegan": "Karras et al. 2019, arXiv:1812.04948",
          "stylegan2": "Karras et al. 2020, arXiv:1912.04958"}


def write_card(cfg: Config, run: common.TrainingRun, export, folder: Path, metrics: dict | None) -> None:
    title = TITLES[cfg.model] + ("-ADA" if cfg.ada else "")
    cls = type(export).__name__
    subset = f" on a {cfg.subset}-image subset" if cfg.subset else ""
    data_note = (f" ADA (Karras et al. 2020, arXiv:2006.06676): target r_t {cfg.ada_target}, ada_kimg {cfg.ada_kimg}; "
                 f"final p {run.state['ada'].get('p', 0):.3f}." if cfg.ada else "")
    if cfg.subset:
        data_note = (f" On {cfg.subset} images (the first of a seed-{cfg.seed + 1} shuffle): "
                    f"{run.kimg(run.step) * 1000 / cfg.subset:.0f} passes over them; the numbers are against the full "
                    f"test set, like every checkpoint's.") + data_note
    common.write_card(
        folder, title=f"{title} on {cfg.dataset}{subset}", tags=["gan", cfg.model, "genzoo"],
        summary=(f"The EMA generator of {title} ({PAPERS[cfg.model]}), {cfg.image_size}x{cfg.image_size} px, trained "
                 f"on {cfg.dataset}{subset} on a CPU; scaled down from the paper as models/stylegan.py says."),
        command=run.command("train.stylegan", Config, model=cfg.model), config=cfg,
        data=(data.STYLE_PROTOCOL if cfg.dataset == "fashion-styles" else cfg.dataset) if not cfg.fake_data
        else "random tensors", data_checksum=data.dataset_checksum(cfg.dataset, cfg.fake_data),
        wall_seconds=run.wall, metrics=metrics,
        usage=(f'import torch\nfrom models.stylegan import {cls}\nfrom models.hub import load_pretrained\n'
               f'G = load_pretrained({cls}, "{folder.name}", family="stylegan")\n'
               f'images = G(torch.randn(16, G.latent_dim))  # (16, 3, {cfg.image_size}, {cfg.image_size}) in [-1, 1]'),
        notes=(f"Trained for {run.step} steps of {cfg.batch_size} ({run.kimg(run.step):.0f} kimg).{data_note} The shipped "
               f"weights are an EMA (decay {cfg.ema_decay}) of G. Re-evaluate with `python -m train.evaluate "
               f"{folder.name} --family=stylegan --generator={cls} --dataset={cfg.dataset}`."))


if __name__ == "__main__":
    main(common.parse_config(Config))
