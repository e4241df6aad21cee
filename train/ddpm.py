"""Train the DDPM that the app bundles (assets/checkpoints/ddpm-mnist): the simple epsilon loss of Ho et al. 2020.

Reproduce the bundled checkpoint (2 CPU cores; the card gives the measured wall time, about 35 min of training and
6 min of evaluation; 200 kimg on one contended core gave FD 31 with 40 % eights, too short to ship):
    python -m train.ddpm --export_dir=assets/checkpoints/ddpm-mnist
Continue a killed run where it stopped (bit for bit): add --resume (same --out_dir).
Closer to the paper on a GPU (its CIFAR-10 U-Net is 128, 256, 256, 256 at 32 px with 2 blocks and dropout 0.1):
    accelerate launch -m train.ddpm --dataset=/data/cifar10 --image_size=32 --image_channels=3 \
        --block_out_channels=128,256,256,256 --layers_per_block=2 --norm_num_groups=32 --dropout=0.1 --lr=2e-4 \
        --warmup_steps=5000 --ema_decay=0.9999 --kimg=100000 --out_dir=runs/ddpm-cifar10

Training (Ho et al. algorithm 1): for each image a timestep t ~ U{0, ..., T-1} and noise eps ~ N(0, I), both drawn
from the run's per-step generator (a function of (seed, step), so --resume is bit-exact), x_t from diffusers'
DDPMScheduler.add_noise, and the mean squared error of the predicted noise. Adam with gradient norms clipped to 1,
as the paper's code. Changed for a 30-minute CPU run, each said so in the card:
- learning rate 1e-3 instead of 2e-4: a 0.7 M-parameter U-Net at batch 128 is stable there and gets to digits in
  a few thousand steps where 2e-4 needs several times more; linear warm-up over the first 200 steps (the paper:
  5000 of its 800k) and a linear decay to 0 at the last step, so the final iterates are quiet;
- EMA decay 0.999 instead of 0.9999: 0.9999 averages over ~10k steps, three times this whole run, so the shipped
  weights would still remember the untrained network; 0.999 (half-life ~700 steps, ~90 kimg) averages the last
  fifth or so of the run, where the decaying learning rate has already lowered the noise of the iterates.
The evaluation kit samples with `default_steps` deterministic DDIM steps (eta = 0): 20, recorded in the card.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from models.ddpm import DDPM
from train import common, data


@dataclass
class Config:
    """DDPM (epsilon prediction, L_simple) on MNIST; every field can be overridden with --field=value."""
    dataset: str = "mnist"          # "mnist", "fashion-mnist" or a folder of images (class sub-folders allowed)
    image_size: int = 28            # pixels; 28 = MNIST as it is (a 3-resolution U-Net: 28 -> 14 -> 7)
    image_channels: int = 1         # 1 = grayscale, 3 = RGB (image folders)
    block_out_channels: str = "16,32,64"  # U-Net width per resolution, comma-separated (paper: 128,256,256,256)
    layers_per_block: int = 1       # ResNet blocks per resolution going down (paper: 2)
    attention: bool = True          # self-attention at the lowest resolution and in the middle block
    norm_num_groups: int = 8        # GroupNorm groups (paper: 32)
    dropout: float = 0.0            # dropout in the ResNet blocks (paper: 0.1 on CIFAR-10)
    num_train_timesteps: int = 1000  # T (paper)
    beta_schedule: str = "linear"   # "linear" 1e-4 -> 0.02 (paper) or "squaredcos_cap_v2"
    eval_steps: int = 20            # DDIM steps of the exported model's forward(z): what the evaluation kit uses
    batch_size: int = 128           # images per step (paper: 128)
    lr: float = 1e-3                # Adam learning rate after warm-up (paper: 2e-4; see the docstring)
    warmup_steps: int = 200         # linear warm-up from 0 (paper: 5000)
    grad_clip: float = 1.0          # max global gradient norm (the paper's code); 0 = no clipping
    kimg: int = 400                 # training length in thousands of images (400 = 6.7 MNIST epochs, 3125 steps)
    ema_decay: float = 0.999        # EMA of the weights per step (paper: 0.9999 over 800k steps); 0 ships the last
    seed: int = 0                   # init, data order, timesteps and noise are functions of seed and step
    out_dir: str = "runs/ddpm-mnist"  # resume file, replay grids, loss curve, history
    export_dir: str | None = None   # where the checkpoint folder goes; None = <out_dir>/checkpoint
    resume: bool = False            # continue from <out_dir>/resume.pt if it exists
    save_every: int = 250           # steps between resume files
    replay_frames: int = 12         # sample grids over training (16 samples, eval_steps DDIM steps, same noise)
    evaluate: bool = True           # run the evaluation kit on the export (MNIST / Fashion-MNIST, full-length runs)
    max_steps: int | None = None    # stop early (smoke tests); None = run to kimg
    fake_data: bool = False         # random tensors instead of a dataset (smoke tests)
    device: str = "auto"            # "auto" (CUDA when present), "cpu" or "cuda"
    push_to_hub: str | None = None  # Hub repo id to push the export to, e.g. "me/ddpm-mnist"

    def widths(self) -> tuple[int, ...]:
        try:
            widths = tuple(int(w) for w in self.block_out_channels.split(","))
        except ValueError:
            raise SystemExit(f"--block_out_channels expects comma-separated integers, got "
                             f"{self.block_out_channels!r}") from None
        if not widths or min(widths) < 1:
            raise SystemExit(f"--block_out_channels expects positive widths, got {self.block_out_channels!r}")
        return widths


PANELS = [[("loss", "L_simple (train)")], [("lr", "learning rate")]]


def build(cfg: Config) -> DDPM:
    try:
        return DDPM(image_size=cfg.image_size, image_channels=cfg.image_channels, block_out_channels=cfg.widths(),
                    layers_per_block=cfg.layers_per_block, attention=cfg.attention,
                    norm_num_groups=cfg.norm_num_groups, dropout=cfg.dropout,
                    num_train_timesteps=cfg.num_train_timesteps, beta_schedule=cfg.beta_schedule,
                    default_steps=cfg.eval_steps)
    except ValueError as error:  # a bad size / width / schedule: say so before any work, as a command-line error
        raise SystemExit(str(error)) from None


def learning_rate(cfg: Config, step: int, total_steps: int) -> float:
    """Linear warm-up, then linear decay to 0 at the last step: a function of the step, so resumes are exact."""
    warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps > 0 else 1.0
    return cfg.lr * warm * max(0.0, 1 - step / total_steps)


def replay_function(cfg: Config, model: DDPM):
    """16 samples from the same noise at every frame, with the evaluation's DDIM steps."""
    shape = (16, model.image_channels, model.image_size, model.image_size)
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(cfg.seed))

    def replay(ema: DDPM) -> torch.Tensor:
        return ema.sample(noise.to(next(ema.parameters()).device), cfg.eval_steps)
    return replay


def main(cfg: Config) -> DDPM:
    torch.manual_seed(cfg.seed)
    model = build(cfg)
    optimizer = torch.optim.Adam(model.parameters(), cfg.lr)
    run = common.TrainingRun(cfg, {"G": model}, {"G": optimizer}, cfg.batch_size, panels=PANELS,
                             replay=replay_function(cfg, model))
    dataset = data.training_set(cfg.dataset, cfg.image_size, cfg.image_channels, cfg.batch_size, cfg.fake_data,
                                cfg.seed)
    wrapped, ddpm = run.nets["G"], run.accelerator.unwrap_model(run.nets["G"])
    for step in run.steps():
        lr = learning_rate(cfg, step, run.total_steps)
        for group in run.optimizers["G"].param_groups:
            group["lr"] = lr
        x0 = common.real_batch(dataset, cfg.batch_size, cfg.seed, step, run.rank, run.world).to(run.device)
        # Timesteps and noise from the step's generator; each process its own stream under accelerate (the same
        # stream on every process would give each one's images the same t and eps).
        draws = run.rng if run.world == 1 else torch.Generator().manual_seed(
            int(torch.randint(2**62, (1,), generator=run.rng)) + run.rank)
        loss = ddpm.loss(x0, draws, denoiser=wrapped)
        run.optimizers["G"].zero_grad(set_to_none=True)
        run.accelerator.backward(loss)
        if cfg.grad_clip > 0:
            run.accelerator.clip_grad_norm_(wrapped.parameters(), cfg.grad_clip)
        run.optimizers["G"].step()
        run.log(step, loss=loss.item(), lr=lr)
    export, folder, complete = run.finish(("L_simple", "learning rate"), model="ddpm", eval_steps=cfg.eval_steps)
    if run.accelerator.is_main_process:
        metrics = None
        if cfg.evaluate and not cfg.fake_data and cfg.dataset in ("mnist", "fashion-mnist") and complete:
            from train.evaluate import evaluate_generator, save_metrics, table

            metrics = evaluate_generator(export, cfg.dataset)
            save_metrics(metrics, folder)
            print(table(metrics))
        write_card(cfg, run, folder, metrics)
        run.publish(folder)
    return export


def write_card(cfg: Config, run, folder: Path, metrics: dict | None) -> None:
    parameters = sum(p.numel() for p in run.ema.parameters())
    common.write_card(
        folder, title=f"DDPM on {cfg.dataset}", tags=["diffusion", "ddpm", "ddim", "genzoo"],
        summary=("The EMA weights of a denoising diffusion model (Ho et al. 2020, arXiv:2006.11239): a diffusers "
                 f"UNet2DModel predicting the noise, {cfg.image_size}x{cfg.image_size} px, {cfg.dataset}, trained on a "
                 "CPU; sampled with DDIM (Song et al. 2021, arXiv:2010.02502) or the DDPM ancestral sampler. Scaled "
                 "down from the paper's CIFAR-10 network; see models/ddpm.py."),
        command=run.command("train.ddpm", Config), config=cfg,
        data=cfg.dataset if not cfg.fake_data else "random tensors",
        data_checksum=data.dataset_checksum(cfg.dataset, cfg.fake_data),
        wall_seconds=run.wall, metrics=metrics,
        usage=('import torch\nfrom models.ddpm import DDPM\nfrom models.hub import load_pretrained\n'
               f'model = load_pretrained(DDPM, "{folder.name}", device="cpu")\n'
               f'noise = torch.randn(16, {cfg.image_channels}, {cfg.image_size}, {cfg.image_size})\n'
               'images = model.sample(noise, steps=50)  # DDIM, eta = 0; steps=1000: the DDPM ancestral sampler\n'
               f'images = model(torch.randn(16, model.latent_dim))  # the kit: {cfg.eval_steps} DDIM steps'),
        notes=(f"Trained for {run.step} steps ({run.kimg(run.step):.0f} kimg, batch {cfg.batch_size}) with L_simple, "
               f"Adam at lr {cfg.lr} (linear warm-up over {cfg.warmup_steps} steps, linear decay to 0), gradient "
               f"norm clipped to {cfg.grad_clip}; the shipped weights are an EMA (decay {cfg.ema_decay}) of the "
               f"iterates; {parameters / 1e6:.2f} M parameters. **The kit's samples are drawn with {cfg.eval_steps} "
               f"deterministic DDIM steps (eta = 0)** from the protocol's latents reshaped to x_T; more steps (or the "
               f"1000-step ancestral sampler) cost proportionally more and are not what these numbers measure. "
               f"Noise schedule: {cfg.beta_schedule}, T = {cfg.num_train_timesteps}. Re-evaluate with "
               f"`python -m train.evaluate {folder.name} --family=ddpm --generator=DDPM`. "
               f"Length: {run.kimg(run.step):.0f} kimg ({run.kimg(run.step) / 60:.1f} MNIST epochs), what fitted "
               f"beside the other trainings on a 2-core CPU; the paper trained 800k steps at batch 128 (~100 M "
               f"images), so this baseline is far from converged (see the Quality table): a longer run (--kimg) is "
               f"the first thing to try."))


if __name__ == "__main__":
    main(common.parse_config(Config))
