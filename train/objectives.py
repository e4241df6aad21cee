"""Train one generator per GAN objective, on the same backbone and data, for the "GAN objectives" tab.

Reproduce a bundled checkpoint (the card of each gives its exact command and wall time):
    python -m train.objectives --objective=lsgan --export_dir=assets/checkpoints/lsgan-mnist
Objectives (see OBJECTIVES below and models/objectives.py for the papers):
    gan-minimax gan-nonsaturating lsgan wgan wgan-gp dragan sngan r1 ebgan began
Continue a killed run bit for bit:  add --resume (same --out_dir).
A folder of real images, on a GPU, pushed to the Hub:
    accelerate launch -m train.objectives --objective=wgan-gp --dataset=/data/celeba --image_size=64 \
        --image_channels=3 --g_channels=128 --d_channels=128 --kimg=20000 --push_to_hub=me/wgan-gp-celeba

Only the objective changes between runs: the generator (DCGAN's; the MLP of Goodfellow et al. for the two
"gan-*" objectives), data order, latents, batch size, training length and EMA are the same. Each objective keeps
what its paper prescribes for its discriminator and optimiser (BatchNorm or not, Adam or RMSProp, learning rate,
n_critic): those are part of the objective as the lecture presents it, and the table below cites them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from models import objectives as O
from train import common, data


@dataclass(frozen=True)
class Objective:
    """How one objective trains: its discriminator, the optimiser its paper used, and critic steps per G step."""
    title: str
    paper: str
    critic: str                     # "mlp", "autoencoder", or a Critic norm: "batch", "layer", "spectral", "none"
    lr: float
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1               # D steps per G step
    rmsprop: bool = False           # WGAN's optimiser ("momentum based optimizers ... performed worse")


OBJECTIVES = {
    "gan-minimax": Objective("GAN, minimax", "Goodfellow et al. 2014, arXiv:1406.2661", "mlp", 2e-4),
    "gan-nonsaturating": Objective("GAN, non-saturating", "Goodfellow et al. 2014, arXiv:1406.2661", "mlp", 2e-4),
    "lsgan": Objective("LSGAN", "Mao et al. 2017, arXiv:1611.04076", "batch", 2e-4),
    "wgan": Objective("WGAN (weight clipping)", "Arjovsky et al. 2017, arXiv:1701.07875", "batch", 5e-5,
                      n_critic=5, rmsprop=True),
    "wgan-gp": Objective("WGAN-GP", "Gulrajani et al. 2017, arXiv:1704.00028", "layer", 1e-4, (0.0, 0.9), n_critic=5),
    # DRAGAN: layer norm, as WGAN-GP, whose settings the paper reuses. Without normalisation DCGAN's N(0, 0.02) init
    # gives D ~0 input gradients, the penalty (10 at step 0) dominated, and G collapsed (recall 0 at 300 kimg).
    "dragan": Objective("DRAGAN", "Kodali et al. 2017, arXiv:1705.07215", "layer", 1e-4, (0.5, 0.9)),
    "sngan": Objective("SN-GAN (hinge)", "Miyato et al. 2018, arXiv:1802.05957", "spectral", 2e-4),
    "r1": Objective("GAN + R1", "Mescheder et al. 2018, arXiv:1801.04406", "none", 1e-4, (0.0, 0.9)),
    "ebgan": Objective("EBGAN", "Zhao et al. 2017, arXiv:1609.03126", "autoencoder", 2e-4),
    # BEGAN: 2e-4 (the paper's 1e-4, with gamma 0.5 and its ELU auto-encoder without normalisation, collapsed
    # DCGAN's BatchNorm generator onto one image within 300 steps here; see build() and Config.began_gamma)
    "began": Objective("BEGAN", "Berthelot et al. 2017, arXiv:1703.10717", "autoencoder", 2e-4),
}


@dataclass
class Config:
    """One GAN objective on MNIST; every field can be overridden with --field=value."""
    objective: str = "lsgan"        # a key of OBJECTIVES
    dataset: str = "mnist"          # "mnist", "fashion-mnist" or a folder of images
    image_size: int | None = None   # None = 28 for the MLP GAN (the paper's), 32 (padded MNIST) for the DCGAN backbone
    image_channels: int = 1
    latent_dim: int = 100           # z size, N(0, I)
    g_channels: int = 32            # DCGAN generator width at its last hidden resolution (half dcgan-mnist's, so ten
    d_channels: int = 32            # objectives train on 2 CPU cores: 2.3-2.8x the images/s of width 64)
    batch_size: int = 64            # WGAN's and WGAN-GP's batch size, used for every objective
    lr: float | None = None         # None = the objective's paper value (OBJECTIVES)
    kimg: int | None = None         # real images shown to D, in thousands (n_critic batches per G step); None = 300,
                                    # 600 for the MLP GAN (7x cheaper per image; at 300 kimg one class had 19.5 %)
    ema_decay: float = 0.999        # EMA of G's weights per G step; 0 ships the last iterate
    bn_batches: int = 16            # batches of 256 latents that re-estimate BatchNorm statistics for the EMA G
    clip: float = 0.01              # WGAN: weight clipping bound c
    penalty_weight: float = 10.0    # lambda of WGAN-GP and DRAGAN
    r1_gamma: float = 10.0          # gamma of R1
    ebgan_margin: float = 1.0       # EBGAN's margin m, in units of the per-pixel mean squared error
    ebgan_pt_weight: float = 0.1    # EBGAN's pulling-away term weight (paper: 0.1)
    began_gamma: float = 1.0        # BEGAN's diversity ratio gamma = E L(G(z)) / E L(x), in [0, 1]; higher = more
                                    # diverse. 0.5 (the paper's faces) collapsed here (one class 100 % at 38 kimg)
    began_lambda_k: float = 1e-3    # BEGAN's proportional gain for k_t
    code_dim: int | None = None     # auto-encoder discriminators' code size; None = 64 (EBGAN) / 16 (BEGAN: with
                                    # 64 D auto-encoded real digits so well, L(x) 0.07, that L(G(z)) never fell
                                    # below gamma L(x), k_t stayed 0 and G collapsed onto one digit; at 16 k_t
                                    # rises to 0.09 and the ten classes stay at 5-15 %; the paper: 64 for faces)
    seed: int = 0
    out_dir: str | None = None      # None = runs/<objective>-<dataset>
    export_dir: str | None = None   # None = <out_dir>/checkpoint
    resume: bool = False
    save_every: int = 250           # G steps between resume files
    replay_frames: int = 24         # sample grids saved over training (the tab's replay)
    evaluate: bool = True
    max_steps: int | None = None    # stop after this many G steps (smoke tests)
    fake_data: bool = False
    device: str = "auto"
    push_to_hub: str | None = None

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise SystemExit(f"--objective must be one of {', '.join(OBJECTIVES)}; got {self.objective!r}")
        if self.image_size is None:
            self.image_size = 28 if OBJECTIVES[self.objective].critic == "mlp" else 32
        if self.kimg is None:
            self.kimg = 600 if OBJECTIVES[self.objective].critic == "mlp" else 300
        if self.code_dim is None:
            self.code_dim = 16 if self.objective == "began" else 64
        if self.out_dir is None:
            self.out_dir = f"runs/{self.objective}-{Path(self.dataset).name}"


# ----------------------------------------------------------------------------------------------------- networks
def build(cfg: Config) -> tuple[torch.nn.Module, torch.nn.Module]:
    spec = OBJECTIVES[cfg.objective]
    size, channels = cfg.image_size, cfg.image_channels
    if spec.critic == "mlp":
        return O.MLPGenerator(cfg.latent_dim, 1200, channels, size), O.MLPDiscriminator(channels, size)
    G = O.Generator(cfg.latent_dim, cfg.g_channels, channels, size)
    if spec.critic == "autoencoder":
        # EBGAN: the paper's MNIST auto-encoder (BatchNorm, leaky ReLU). BEGAN: the paper's ELUs, plus BatchNorm: its
        # plain ELU auto-encoder reconstructs any image, so DCGAN's generator collapsed onto the one image it
        # reconstructed best before k_t could react (measured: 100 % one class after 300 steps, with lambda_k 1e-3
        # or 1e-2 and gamma 0.5 or 1). With BatchNorm a collapsed batch reconstructs badly, as in EBGAN.
        norm, activation = ("batch", "leaky") if cfg.objective == "ebgan" else ("batch", "elu")
        return G, O.AutoencoderCritic(cfg.d_channels, channels, size, cfg.code_dim, norm, activation)
    return G, O.Critic(cfg.d_channels, channels, size, spec.critic)


def optimizers(cfg: Config, G, D) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    spec = OBJECTIVES[cfg.objective]
    lr = cfg.lr or spec.lr
    if spec.rmsprop:
        return torch.optim.RMSprop(G.parameters(), lr), torch.optim.RMSprop(D.parameters(), lr)
    return torch.optim.Adam(G.parameters(), lr, betas=spec.betas), torch.optim.Adam(D.parameters(), lr, betas=spec.betas)


# ------------------------------------------------------------------------------------------------------- losses
# Each returns (loss, numbers for the curves). `state` carries BEGAN's k_t between steps.

def d_step_loss(cfg: Config, D, real, fake, state: dict, g: torch.Generator) -> tuple[torch.Tensor, dict]:
    name = cfg.objective
    if name in ("ebgan", "began"):
        p = 2 if name == "ebgan" else 1
        real_error = O.reconstruction_energy(real, D(real)[0], p)
        fake_error = O.reconstruction_energy(fake, D(fake)[0], p)
        stats = {"d_real": real_error.mean().item(), "d_fake": fake_error.mean().item()}
        if name == "ebgan":
            return O.d_loss_ebgan(real_error, fake_error, cfg.ebgan_margin), stats
        loss = O.d_loss_began(real_error, fake_error, state["k"])
        state["k"], stats["m_global"] = O.began_update(state["k"], stats["d_real"], stats["d_fake"],
                                                       cfg.began_gamma, cfg.began_lambda_k)
        return loss, {**stats, "k": state["k"]}

    penalty = None
    if name == "r1":
        penalty, real_out = O.r1_penalty(D, real, cfg.r1_gamma)
    else:
        real_out = D(real)
    fake_out = D(fake)
    if name in ("gan-minimax", "gan-nonsaturating", "dragan", "r1"):
        loss = O.d_loss_minimax(real_out, fake_out) if name == "gan-minimax" else O.d_loss_nonsaturating(real_out, fake_out)
        stats = {"d_real": torch.sigmoid(real_out).mean().item(), "d_fake": torch.sigmoid(fake_out).mean().item()}
    else:
        loss = {"lsgan": O.d_loss_lsgan, "wgan": O.d_loss_wasserstein, "wgan-gp": O.d_loss_wasserstein,
                "sngan": O.d_loss_hinge}[name](real_out, fake_out)
        stats = {"d_real": real_out.mean().item(), "d_fake": fake_out.mean().item()}
    if name in ("wgan", "wgan-gp"):
        stats["wasserstein"] = O.wasserstein_estimate(real_out, fake_out)
    if name == "wgan-gp":
        penalty = O.gradient_penalty(D, real, fake, cfg.penalty_weight, generator=g)
    elif name == "dragan":
        penalty = O.dragan_penalty(D, real, cfg.penalty_weight, generator=g)
    if penalty is not None:
        stats["penalty"] = penalty.item()
        loss = loss + penalty
    return loss, stats


def g_step_loss(cfg: Config, D, fake) -> torch.Tensor:
    name = cfg.objective
    if name == "ebgan":
        reconstruction, codes = D(fake)
        return O.g_loss_ebgan(O.reconstruction_energy(fake, reconstruction, 2), codes, cfg.ebgan_pt_weight)
    if name == "began":
        return O.g_loss_began(O.reconstruction_energy(fake, D(fake)[0], 1))
    out = D(fake)
    if name == "gan-minimax":
        return O.g_loss_minimax(out)
    if name in ("gan-nonsaturating", "dragan", "r1"):
        return O.g_loss_nonsaturating(out)
    return {"lsgan": O.g_loss_lsgan, "wgan": O.g_loss_wasserstein, "wgan-gp": O.g_loss_wasserstein,
            "sngan": O.g_loss_hinge}[name](out)


PANELS = [[("d_loss", "D loss"), ("g_loss", "G loss")], [("d_real", "D(x)"), ("d_fake", "D(G(z))")],
          [("wasserstein", "Wasserstein estimate"), ("m_global", "M_global"), ("k", "k_t"), ("penalty", "penalty")]]


def output_labels(objective: str) -> tuple[str, str]:
    """What the D(x) / D(G(z)) curves hold for this objective (probabilities, scores or energies)."""
    if objective in ("ebgan", "began"):
        return "reconstruction error of x", "reconstruction error of G(z)"
    if objective in ("gan-minimax", "gan-nonsaturating", "dragan", "r1"):
        return "D(x) (probability)", "D(G(z)) (probability)"
    return "D(x) (score)", "D(G(z)) (score)"


# ------------------------------------------------------------------------------------------------------- training
def train_step(cfg: Config, G, D, opt_g, opt_d, reals: list, zs: list, state: dict, g: torch.Generator,
               backward=torch.Tensor.backward) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """n_critic critic steps (one per (real, z) batch), then one G step on the last critic step's fakes."""
    for i, (real, z) in enumerate(zip(reals, zs)):
        last = i == len(reals) - 1
        with torch.set_grad_enabled(last):  # only the last fakes feed the G step: no graph for the others
            fake = G(z)
        d_loss, stats = d_step_loss(cfg, D, real, fake.detach(), state, g)
        opt_d.zero_grad(set_to_none=True)
        backward(d_loss)
        opt_d.step()
        if cfg.objective == "wgan":
            O.clip_weights(D, cfg.clip)  # Algorithm 1, line 7
    g_loss = g_step_loss(cfg, D, fake)  # through the D just updated
    opt_g.zero_grad(set_to_none=True)
    backward(g_loss)
    opt_g.step()
    return d_loss, g_loss, stats


def main(cfg: Config) -> torch.nn.Module:
    spec = OBJECTIVES[cfg.objective]
    torch.manual_seed(cfg.seed)
    G, D = build(cfg)
    opt_g, opt_d = optimizers(cfg, G, D)
    replay_z = torch.randn(16, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed))
    run = common.TrainingRun(cfg, {"G": G, "D": D}, {"G": opt_g, "D": opt_d}, cfg.batch_size * spec.n_critic,
                                replay=lambda g: g(replay_z.to(run.device)), state={"k": 0.0}, panels=PANELS)
    dataset = data.training_set(cfg.dataset, cfg.image_size, cfg.image_channels, cfg.batch_size, cfg.fake_data,
                                cfg.seed)
    if spec.critic == "mlp" and run.step == 0:
        every = max(1, len(dataset) // 10_000)  # the mean image of (up to) 10k evenly spaced training images
        mean = torch.stack([dataset[i][0] for i in range(0, len(dataset), every)]).mean(0)
        run.accelerator.unwrap_model(run.nets["G"]).init_output_bias(mean.to(run.device))
    G, D = run.nets["G"], run.nets["D"]
    for step in run.steps():
        batches = [step * spec.n_critic + i for i in range(spec.n_critic)]  # n_critic fresh real batches per G step
        reals = [common.real_batch(dataset, cfg.batch_size, cfg.seed, b, run.rank, run.world).to(run.device)
                 for b in batches]
        zs = [common.latents(cfg.seed, b, cfg.batch_size, cfg.latent_dim)[run.rank::run.world].to(run.device)
              for b in batches]
        d_loss, g_loss, stats = train_step(cfg, G, D, run.optimizers["G"], run.optimizers["D"], reals, zs, run.state,
                                           run.rng, run.accelerator.backward)
        run.log(step, d_loss=d_loss.item(), g_loss=g_loss.item(), **stats)
    export, folder, complete = run.finish(output_labels(cfg.objective), objective=cfg.objective)
    if run.accelerator.is_main_process:
        metrics = None
        if cfg.evaluate and not cfg.fake_data and cfg.dataset in ("mnist", "fashion-mnist") and complete:
            from train.evaluate import evaluate_generator, save_metrics

            metrics = evaluate_generator(export, cfg.dataset)
            save_metrics(metrics, folder)
        cls, lr = type(export).__name__, cfg.lr or spec.lr
        common.write_card(
            folder, title=f"{spec.title} on {cfg.dataset}", tags=["gan", cfg.objective, "genzoo"],
            summary=(f"The EMA generator of a GAN trained with the {spec.title} objective ({spec.paper}), "
                     f"{cfg.image_size}x{cfg.image_size} px, {cfg.dataset}, on a CPU. Same generator, data, batch and "
                     "length as every other objective in genzoo's GAN objectives tab; see models/objectives.py."),
            command=run.command("train.objectives", Config, objective=cfg.objective), config=cfg,
            data=cfg.dataset if not cfg.fake_data else "random tensors",
            data_checksum=data.dataset_checksum(cfg.dataset, cfg.fake_data),
            wall_seconds=run.wall, metrics=metrics,
            usage=(f'import torch\nfrom models.objectives import {cls}\nfrom models.hub import load_pretrained\n'
                   f'G = load_pretrained({cls}, "{folder.name}", family="objectives")\n'
                   f'images = G(torch.randn(16, G.latent_dim))  # (16, {cfg.image_channels}, {cfg.image_size}, '
                   f'{cfg.image_size}) in [-1, 1]'),
            notes=(f"Trained for {run.step} generator steps ({run.kimg(run.step):.0f} kimg; {spec.n_critic} critic "
                   f"step(s) per G step, learning rate {lr}, {'RMSProp' if spec.rmsprop else f'Adam {spec.betas}'}). "
                   f"The shipped weights are an EMA (decay {cfg.ema_decay}) of G. `training.json` and `replay.png` "
                   "hold the training curves and the sample grids over training that the app replays. Re-evaluate "
                   f"with `python -m train.evaluate {folder.name} --family=objectives --generator={cls}`."))
        run.publish(folder)
    return export


if __name__ == "__main__":
    main(common.parse_config(Config))
