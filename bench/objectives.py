"""Training cost of each GAN objective on this CPU: same generator, same batch, only the objective differs.

    python -m bench.objectives      # prints a table, writes bench/results/objectives.json

One "step" is what train/objectives.py does per generator update: n_critic critic updates (each on a fresh real
batch) and one G update. Images/s counts real images shown to the critic, the unit the trainers' kimg counts, so
the rows are directly "minutes per 100 kimg". The slowdown column is relative to the non-saturating DCGAN-backbone
baseline (LSGAN's critic: BatchNorm, one D step), so the cost of a gradient penalty or spectral norm is visible.
Objectives are measured in interleaved rounds (this VM's speed drifts) and each figure is a median over rounds.
"""

from __future__ import annotations

import statistics
import time

import torch

from bench.common import machine, write
from train import objectives as T

THREADS = 2
ROUNDS = 3
STEPS = 4  # timed G steps per objective per round, after one warm-up step


def setup(name: str):
    cfg = T.Config(objective=name)
    torch.manual_seed(0)
    G, D = T.build(cfg)
    opt_g, opt_d = T.optimizers(cfg, G, D)
    n = T.OBJECTIVES[name].n_critic
    shape = (cfg.batch_size, cfg.image_channels, cfg.image_size, cfg.image_size)
    reals = [torch.rand(shape) * 2 - 1 for _ in range(n)]
    zs = [torch.randn(cfg.batch_size, cfg.latent_dim) for _ in range(n)]
    state, g = {"k": 0.0}, torch.Generator().manual_seed(0)
    step = lambda: T.train_step(cfg, G, D, opt_g, opt_d, reals, zs, state, g)  # noqa: E731
    step()  # warm-up: allocations, oneDNN kernel selection
    return cfg, step


def main() -> dict:
    torch.set_num_threads(THREADS)
    runs = {name: setup(name) for name in T.OBJECTIVES}
    per_image = {name: [] for name in runs}
    for _ in range(ROUNDS):
        for name, (cfg, step) in runs.items():
            start = time.perf_counter()
            for _ in range(STEPS):
                step()
            images = STEPS * cfg.batch_size * T.OBJECTIVES[name].n_critic
            per_image[name].append((time.perf_counter() - start) / images)
    base = statistics.median(per_image["lsgan"])
    rows = []
    for name, times in per_image.items():
        t = statistics.median(times)
        cfg = runs[name][0]
        rows.append({"objective": name, "critic": T.OBJECTIVES[name].critic, "n_critic": T.OBJECTIVES[name].n_critic,
                     "image_size": cfg.image_size, "batch": cfg.batch_size, "images_per_s": 1 / t,
                     "minutes_per_100_kimg": t * 100_000 / 60, "slowdown_vs_lsgan": t / base,
                     "per_round_images_per_s": [1 / x for x in times]})
    print(f"{'objective':>18}{'critic':>12}{'n_critic':>9}{'images/s':>10}{'min/100 kimg':>14}{'vs LSGAN':>10}")
    for r in rows:
        print(f"{r['objective']:>18}{r['critic']:>12}{r['n_critic']:>9}{r['images_per_s']:>10.0f}"
              f"{r['minutes_per_100_kimg']:>14.1f}{r['slowdown_vs_lsgan']:>9.2f}x")
    result = {"machine": machine(), "rounds": ROUNDS, "steps_per_round": STEPS, "rows": rows}
    write("objectives", result)
    return result


if __name__ == "__main__":
    main()
