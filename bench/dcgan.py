"""DCGAN generator throughput on this machine, against a 2-thread matmul ceiling measured in the same run.

    python -m bench.dcgan        # prints a table, writes bench/results/dcgan.json

Targets (Foundation issue): >= 75 % of the ceiling at batch 64, >= 35 % at batch 1. The ceiling is the faster of
PyTorch's two GEMM engines on a 2048^3 fp32 product (bench.common.matmul_ceiling; both are recorded).
FLOPs are counted by torch.utils.flop_counter on the paper's module (2 FLOPs per multiply-add); both the paper's
module ("eager", oneDNN transposed convolutions) and the form the app serves ("fused", models.dcgan.FusedGenerator)
are timed. This VM's speed drifts by tens of percent within a minute, so the ceiling and the models are measured
in interleaved rounds and each ratio is the median over rounds of (model GFLOP/s) / (ceiling GFLOP/s) of that round.
"""

from __future__ import annotations

import statistics

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.common import machine, matmul_ceiling, median_seconds, write
from models.dcgan import Generator
from models.hub import load_pretrained

THREADS = 2
BATCHES = (1, 64)
ROUNDS = 9


def flops(model: torch.nn.Module, z: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(z)
    return counter.get_total_flops()


def main() -> dict:
    torch.set_num_threads(THREADS)
    G = load_pretrained(Generator, "dcgan-mnist", device="cpu")
    variants = {"eager": G, "fused": G.fuse()}
    latents = {batch: torch.randn(batch, G.latent_dim) for batch in BATCHES}
    work = {batch: flops(G, z) for batch, z in latents.items()}  # the model's FLOPs, however they are computed
    engines, seconds = [], {(v, b): [] for v in variants for b in BATCHES}
    for _ in range(ROUNDS):
        engines.append(matmul_ceiling(THREADS, repeats=5))
        for (name, batch), times in seconds.items():
            with torch.inference_mode():
                times.append(median_seconds(lambda: variants[name](latents[batch]), repeats=5, warmup=2))
    ceilings = [max(round_.values()) for round_ in engines]
    rows = []
    for (name, batch), times in seconds.items():
        ratios = [work[batch] / t / 1e9 / c for t, c in zip(times, ceilings)]
        t = statistics.median(times)
        rows.append({"variant": name, "batch": batch, "ms_per_batch": 1000 * t, "samples_per_s": batch / t,
                     "gflop_per_batch": work[batch] / 1e9, "gflops": work[batch] / t / 1e9,
                     "fraction_of_ceiling": statistics.median(ratios), "fraction_per_round": ratios})
    result = {"machine": machine(), "rounds": ROUNDS, "matmul_ceiling_gflops": statistics.median(ceilings),
              "matmul_ceiling_per_round": ceilings, "engines_per_round": engines,
              "targets": {"batch64_fraction": 0.75, "batch1_fraction": 0.35}, "rows": rows}
    print(f"matmul ceiling ({THREADS} threads, 2048^3 fp32, the faster engine): "
          f"median {statistics.median(ceilings):.1f} GFLOP/s over {ROUNDS} rounds (min {min(ceilings):.1f}, max {max(ceilings):.1f}); medians per engine: "
          + ", ".join(f"{k} {statistics.median(r[k] for r in engines):.1f}" for k in engines[0]))
    print(f"{'variant':>8}{'batch':>6}{'ms/batch':>11}{'samples/s':>11}{'GFLOP/s':>9}{'of ceiling':>12}")
    for r in rows:
        print(f"{r['variant']:>8}{r['batch']:>6}{r['ms_per_batch']:>11.2f}{r['samples_per_s']:>11.0f}"
              f"{r['gflops']:>9.1f}{100 * r['fraction_of_ceiling']:>11.0f}%")
    write("dcgan", result)
    return result


if __name__ == "__main__":
    main()
