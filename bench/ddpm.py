"""Sampling speed of the DDPM: 16 samples with 10 and 50 DDIM steps and the 1000-step DDPM ancestral sampler.

    python -m bench.ddpm            # 2 threads; prints a table, writes bench/results/ddpm.json
    python -m bench.ddpm --quick    # 1 thread, one run per setting (what the helper that wrote this could run)

A diffusion sampler pays one U-Net pass per step for the whole batch, so time is linear in the steps and the
samples/s of 1000 steps is ~1/100 of 10 steps'; what DDIM buys is the step count, not a cheaper step. The model is
the bundled checkpoint where it exists, else an untrained one of train/ddpm.py's default size (speed does not
depend on the weights). Also timed: one training step at the trainer's batch size (forward, backward, Adam), the
figure the bundled run's length was planned with.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from bench.common import machine, write
from models.ddpm import DDPM
from train import ddpm as trainer

N = 16
STEPS = (10, 50, 1000)


def model() -> DDPM:
    from models.hub import load_pretrained

    try:
        return load_pretrained(DDPM, "ddpm-mnist", device="cpu")
    except FileNotFoundError:
        torch.manual_seed(0)
        return trainer.build(trainer.Config()).eval().requires_grad_(False)


def time_sampling(m: DDPM, steps: int, repeats: int) -> float:
    """Median seconds for N samples with `steps` steps (DDIM eta 0 below T, the DDPM sampler at T)."""
    noise = torch.randn(N, m.image_channels, m.image_size, m.image_size, generator=torch.Generator().manual_seed(0))
    times = []
    with torch.inference_mode():
        m.sample(noise, 2)  # warm-up: first-call allocations
        for _ in range(repeats):
            start = time.perf_counter()
            m.sample(noise, steps, generator=torch.Generator().manual_seed(1))
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_training_step(cfg: trainer.Config, steps: int = 4) -> float:
    """Seconds per training step at cfg.batch_size: L_simple forward, backward, gradient clipping, Adam."""
    torch.manual_seed(0)
    m = trainer.build(cfg).train()
    opt = torch.optim.Adam(m.parameters(), cfg.lr)
    x0 = torch.rand(cfg.batch_size, cfg.image_channels, cfg.image_size, cfg.image_size) * 2 - 1
    g = torch.Generator().manual_seed(0)

    def step():
        loss = m.loss(x0, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), cfg.grad_clip)
        opt.step()
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main(argv: list[str]) -> dict:
    quick = "--quick" in argv
    threads = 1 if quick else 2
    torch.set_num_threads(threads)
    m = model()
    parameters = sum(p.numel() for p in m.parameters())
    rows = []
    for steps in STEPS:
        repeats = 1 if quick or steps == 1000 else 3
        seconds = time_sampling(m, steps, repeats)
        sampler = "DDPM ancestral" if steps == m.num_train_timesteps else "DDIM, eta 0"
        rows.append({"steps": steps, "sampler": sampler, "seconds_for_16": seconds, "samples_per_s": N / seconds,
                     "ms_per_image_step": 1000 * seconds / (N * steps), "repeats": repeats})
        print(f"{steps:>5} steps ({sampler:>14}): {seconds:8.2f} s for {N} -> {N / seconds:8.2f} samples/s "
              f"({1000 * seconds / (N * steps):.2f} ms per image-step)", flush=True)
    cfg = trainer.Config()
    train_seconds = time_training_step(cfg)
    print(f"training step, batch {cfg.batch_size}: {train_seconds:.2f} s -> {cfg.batch_size / train_seconds:.0f} img/s "
          f"({cfg.kimg} kimg = {cfg.kimg * 1000 / (cfg.batch_size / train_seconds) / 60:.0f} min at this speed)")
    result = {"machine": machine(), "threads": threads, "samples": N, "image_size": m.image_size,
              "parameters": parameters, "block_out_channels": list(m.unet.config.block_out_channels),
              "rows": rows, "training": {"batch_size": cfg.batch_size, "seconds_per_step": train_seconds,
                                         "images_per_s": cfg.batch_size / train_seconds}}
    write("ddpm", result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
