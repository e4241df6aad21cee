"""Train the DCGAN generator that the app bundles (assets/checkpoints/dcgan-mnist).

Reproduce the bundled checkpoint (about 65 min on 2 idle CPU cores; 2400 kimg of 32-px MNIST):
    python -m train.dcgan --export_dir=assets/checkpoints/dcgan-mnist
Continue a killed run where it stopped (bit for bit):
    python -m train.dcgan --export_dir=assets/checkpoints/dcgan-mnist --resume
Paper scale on a GPU with a folder of real images (e.g. LSUN bedrooms or CelebA), pushed to the Hub:
    accelerate launch -m train.dcgan --dataset=/data/celeba --image_size=64 --image_channels=3 \
        --g_channels=128 --d_channels=128 --kimg=20000 --out_dir=runs/dcgan-celeba --push_to_hub=me/dcgan-celeba

Settings from Radford et al. 2015: Adam, lr 2e-4, beta1 0.5, batch 128, N(0, 0.02) init, the non-saturating loss.
Added (and said so in the card): an EMA of G's weights is what ships, with BatchNorm statistics recomputed for the
averaged weights, because a single GAN iterate is noisy and the average is a better generator (Yazici et al. 2019);
and the learning rate decays linearly to 0 over the last 900 kimg (pix2pix's schedule; `--lr_decay_kimg=0` keeps the
paper's constant rate). Run length and decay, measured on the bundled model (same networks and seed): 1000 kimg at a
constant rate FD 2.36 / 82.1 % confident samples; 1600 kimg decayed over the last 600, FD 1.78 / 83.3 %; 2400 kimg
decayed over the last 900 (the defaults), FD 1.26 / 83.8 %.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from models.dcgan import Discriminator, Generator, d_loss_nonsaturating, g_loss_nonsaturating
from train import common, data


@dataclass
class Config:
    """DCGAN on MNIST; every field can be overridden with --field=value."""
    dataset: str = "mnist"          # "mnist", "fashion-mnist" or a folder of images (class sub-folders allowed)
    image_size: int = 32            # pixels; 32 = MNIST padded by 2 (three doublings from 4x4, as the paper's G), 64 for faces
    image_channels: int = 1         # 1 = grayscale, 3 = RGB (image folders)
    latent_dim: int = 100           # z size ("nz")
    uniform_noise: bool = False     # G sees U(-1, 1) noise, the paper's Z (models.dcgan.gaussian_to_uniform). Not the
                                    # default: at 992 kimg it had 79 % of samples confident (2000-sample probe), the
                                    # N(0, I) run 82 % at 1000 kimg
    g_channels: int = 64            # G width at its last hidden resolution ("ngf"). 128 (1600 kimg): 83.8 % confident,
                                    # FD 1.45, no better than 64 at 2400 kimg for 3.2x the parameters
    d_channels: int = 64            # D width at its first resolution ("ndf"); as wide as G, as in the paper
    batch_size: int = 128           # the paper's mini-batch size (split across processes under accelerate)
    lr: float = 2e-4                # Adam learning rate, both networks (paper)
    beta1: float = 0.5              # Adam beta1; 0.9 "resulted in training oscillation and instability" (paper)
    beta2: float = 0.999            # Adam beta2
    kimg: int = 2400                # training length in thousands of real images shown to D (2400 = 40 MNIST epochs)
    lr_decay_kimg: int = 900        # decay both lrs linearly to 0 over the last this many kimg; 0 = constant (paper)
    g_steps: int = 1                # G updates per D update (same z); 2 is DCGAN-tensorflow's (carpedm20) way of keeping
                                    # D from winning outright, not the paper's. 2 at 1600 kimg (decay 600): 84.4 %
                                    # confident, FD 1.47; 1: 83.3 %, FD 1.78 (1.5x the time per image)
    ema_decay: float = 0.999        # EMA of G's weights per step; 0 ships the last iterate
    label_smoothing: float = 0.0    # one-sided (Salimans et al. 2016): D's target for real images is 1 - this. 0.1 at
                                    # 1600 kimg (decay 600): 82.5 % confident, FD 2.00; without: 83.3 %, FD 1.78
    seed: int = 0                   # everything (init, data order, z) is a function of seed and step
    out_dir: str = "runs/dcgan-mnist"  # resume file, sample grids, loss curves, history
    export_dir: str | None = None   # where the final checkpoint folder goes; None = <out_dir>/checkpoint
    resume: bool = False            # continue from <out_dir>/resume.pt if it exists
    save_every: int = 250           # steps between resume files
    sample_every: int = 500         # steps between sample grids (the training replay)
    evaluate: bool = True           # run the evaluation kit on the export and put the numbers in the card
    max_steps: int | None = None    # stop early (smoke tests); None = run to kimg
    fake_data: bool = False         # random tensors instead of a dataset (smoke tests)
    device: str = "auto"            # "auto" (CUDA when present), "cpu" or "cuda"
    push_to_hub: str | None = None  # Hub repo id to push the export to, e.g. "me/dcgan-mnist"


PANELS = [[("d_loss", "D loss"), ("g_loss", "G loss")], [("d_real", "D(x)"), ("d_fake", "D(G(z))")]]


def save_samples(generator: Generator, cfg: Config, step: int, history: list[dict], out_dir: Path) -> None:
    """A grid of the same 64 latents at every call (the replay) and the loss curves so far."""
    from demos.common import image_grid  # the same grid the app shows

    z = torch.randn(64, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed))
    device = next(generator.parameters()).device
    with torch.inference_mode():
        images = generator(z.to(device)).cpu()
    (out_dir / "samples").mkdir(parents=True, exist_ok=True)
    image_grid(images, nrow=8).save(out_dir / "samples" / f"step{step:06d}.png")
    common.plot_history(history, out_dir / "losses.png", PANELS)


def main(cfg: Config) -> Generator:
    from accelerate import Accelerator

    common.require_hub_token(cfg.push_to_hub)
    accelerator = Accelerator(cpu=cfg.device == "cpu")
    if cfg.device == "cuda" and accelerator.device.type != "cuda":
        raise SystemExit("--device=cuda but no CUDA device is available")
    out_dir = Path(cfg.out_dir)
    resume_path = out_dir / "resume.pt"
    dataset = data.training_set(cfg.dataset, cfg.image_size, cfg.image_channels, cfg.batch_size, cfg.fake_data,
                                cfg.seed)

    torch.manual_seed(cfg.seed)
    G = Generator(cfg.latent_dim, cfg.g_channels, cfg.image_channels, cfg.image_size, cfg.uniform_noise)
    D = Discriminator(cfg.d_channels, cfg.image_channels, cfg.image_size)
    G_ema = copy.deepcopy(G).requires_grad_(False)
    opt_g = torch.optim.Adam(G.parameters(), cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), cfg.lr, betas=(cfg.beta1, cfg.beta2))
    step, history, wall = 0, [], 0.0
    if cfg.resume and resume_path.exists():
        state = common.load_resume(resume_path)
        for module, key in ((G, "G"), (D, "D"), (G_ema, "G_ema"), (opt_g, "opt_g"), (opt_d, "opt_d")):
            module.load_state_dict(state[key])
        step, history, wall = state["step"], state["history"], state["wall_seconds"]
        accelerator.print(f"resumed from {resume_path} at step {step}")
    G, D, opt_g, opt_d = accelerator.prepare(G, D, opt_g, opt_d)
    G_ema.to(accelerator.device)

    total_steps = cfg.kimg * 1000 // cfg.batch_size
    last_step = min(total_steps, cfg.max_steps) if cfg.max_steps is not None else total_steps
    rank, world = accelerator.process_index, accelerator.num_processes

    def save_state():
        if accelerator.is_main_process:
            common.save_resume(resume_path, {
                "step": step, "history": history, "wall_seconds": wall + time.time() - start,
                "G": accelerator.unwrap_model(G).state_dict(), "D": accelerator.unwrap_model(D).state_dict(),
                "G_ema": G_ema.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()})

    from tqdm import tqdm

    start = time.time()
    progress = tqdm(range(step, last_step), initial=step, total=last_step, disable=not accelerator.is_main_process)
    decay_steps = cfg.lr_decay_kimg * 1000 // cfg.batch_size
    for step in progress:
        common.linear_decay((opt_g, opt_d), cfg.lr, step, total_steps, decay_steps)
        real = common.real_batch(dataset, cfg.batch_size, cfg.seed, step, rank, world).to(accelerator.device)
        z = common.latents(cfg.seed, step, cfg.batch_size, cfg.latent_dim)[rank::world].to(accelerator.device)

        # D step: maximise log D(x) + log(1 - D(G(z))); real and fake in separate batches, as in the paper's code,
        # so BatchNorm never mixes their statistics.
        fake = G(z)
        real_logits, fake_logits = D(real), D(fake.detach())
        d_loss = d_loss_nonsaturating(real_logits, fake_logits, 1 - cfg.label_smoothing)
        opt_d.zero_grad(set_to_none=True)
        accelerator.backward(d_loss)
        opt_d.step()

        # G step: the non-saturating loss, through the D just updated (again on the same z, through the updated
        # G, when g_steps > 1).
        for i in range(cfg.g_steps):
            g_loss = g_loss_nonsaturating(D(fake if i == 0 else G(z)))
            opt_g.zero_grad(set_to_none=True)
            accelerator.backward(g_loss)
            opt_g.step()
        common.update_ema(G_ema, accelerator.unwrap_model(G), cfg.ema_decay if step > 0 else 0.0)

        if step % 10 == 0:
            history.append({"step": step, "kimg": (step + 1) * cfg.batch_size / 1000, "d_loss": d_loss.item(),
                            "g_loss": g_loss.item(), "d_real": torch.sigmoid(real_logits).mean().item(),
                            "d_fake": torch.sigmoid(fake_logits).mean().item()})
            progress.set_postfix(d=f"{d_loss.item():.3f}", g=f"{g_loss.item():.3f}")
        done = step + 1
        if accelerator.is_main_process and (done % cfg.sample_every == 0 or done == last_step):
            save_samples(common.recalibrate_batchnorm(G_ema, cfg.latent_dim), cfg, done, history, out_dir)
        if done % cfg.save_every == 0 or done == last_step:
            step = done
            save_state()
    step = last_step
    wall_seconds = wall + time.time() - start

    export = common.recalibrate_batchnorm(G_ema, cfg.latent_dim)
    if accelerator.is_main_process:
        export_dir = Path(cfg.export_dir) if cfg.export_dir else out_dir / "checkpoint"
        common.save_export(export, export_dir)
        (out_dir / "history.json").write_text(json.dumps(history))
        metrics = None
        if cfg.evaluate and not cfg.fake_data and cfg.dataset in ("mnist", "fashion-mnist") and step == total_steps:
            from train.evaluate import evaluate_generator, save_metrics

            metrics = evaluate_generator(export, cfg.dataset)
            save_metrics(metrics, export_dir)
        command = "python -m train.dcgan " + " ".join(
            f"--{k}={v}" for k, v in asdict(cfg).items() if v != getattr(Config, k) and k not in ("resume",))
        common.write_card(
            export_dir, title=f"DCGAN on {cfg.dataset}", tags=["gan", "dcgan", "genzoo"],
            summary=("The EMA generator of a DCGAN (Radford et al. 2015, arXiv:1511.06434), "
                     f"{cfg.image_size}x{cfg.image_size} px, trained on {cfg.dataset} on a CPU. "
                     "Scaled down from the paper's 64x64 network; see models/dcgan.py."),
            command=command.strip(), config=cfg, data=cfg.dataset if not cfg.fake_data else "random tensors",
            data_checksum=data.dataset_checksum(cfg.dataset, cfg.fake_data),
            wall_seconds=wall_seconds, metrics=metrics,
            usage=(f'import torch\nfrom models.dcgan import Generator\nfrom models.hub import load_pretrained\n'
                   f'G = load_pretrained(Generator, "{export_dir.name}")\n'
                   f'images = G(torch.randn(16, G.latent_dim))  # (16, {cfg.image_channels}, {cfg.image_size}, '
                   f'{cfg.image_size}) in [-1, 1]'),
            notes=(f"Trained for {step} steps ({step * cfg.batch_size / 1000:.0f} kimg); learning rate "
                   + (f"constant, then decayed linearly to 0 over the last {cfg.lr_decay_kimg} kimg"
                      if cfg.lr_decay_kimg else "constant")
                   + f". The shipped weights are an EMA (decay {cfg.ema_decay}) of G with BatchNorm statistics "
                   "recomputed over 4096 latents."))
        if cfg.push_to_hub:
            print(common.push_folder(export_dir, cfg.push_to_hub))
        accelerator.print(f"exported to {export_dir} after {wall_seconds / 60:.1f} min")
    return export


if __name__ == "__main__":
    main(common.parse_config(Config))
