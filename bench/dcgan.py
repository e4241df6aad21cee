"""DCGAN generator throughput on this machine, against a 2-thread matmul ceiling measured in the same run.

    python -m bench.dcgan        # prints a table, writes bench/results/dcgan.json

Targets (Foundation issue): >= 75 % of the ceiling at batch 64, >= 35 % at batch 1.
FLOPs are counted by torch.utils.flop_counter on the exact module that is timed (2 FLOPs per multiply-add).
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.common import machine, matmul_ceiling, median_seconds, write
from models.dcgan import Generator
from models.hub import load_pretrained

THREADS = 2
BATCHES = (1, 64)


def flops(model: torch.nn.Module, z: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(z)
    return counter.get_total_flops()


def main() -> dict:
    torch.set_num_threads(THREADS)
    G = load_pretrained(Generator, "dcgan-mnist", device="cpu")
    ceiling = matmul_ceiling(THREADS)
    rows = []
    for batch in BATCHES:
        z = torch.randn(batch, G.latent_dim)
        with torch.inference_mode():
            seconds = median_seconds(lambda: G(z))
        work = flops(G, z)
        gflops = work / seconds / 1e9
        rows.append({"batch": batch, "ms_per_batch": 1000 * seconds, "samples_per_s": batch / seconds,
                     "gflop_per_batch": work / 1e9, "gflops": gflops, "fraction_of_ceiling": gflops / ceiling})
    ceiling_after = matmul_ceiling(THREADS)  # the machine is noisy: bracket the model timings
    result = {"machine": machine(), "matmul_ceiling_gflops": ceiling, "matmul_ceiling_after_gflops": ceiling_after,
              "targets": {"batch64_fraction": 0.75, "batch1_fraction": 0.35}, "rows": rows}
    print(f"matmul ceiling ({THREADS} threads, 2048^2 fp32): {ceiling:.1f} GFLOP/s (after: {ceiling_after:.1f})")
    print(f"{'batch':>6}{'ms/batch':>11}{'samples/s':>11}{'GFLOP/s':>9}{'of ceiling':>12}")
    for r in rows:
        print(f"{r['batch']:>6}{r['ms_per_batch']:>11.2f}{r['samples_per_s']:>11.0f}{r['gflops']:>9.1f}"
              f"{100 * r['fraction_of_ceiling']:>11.0f}%")
    write("dcgan", result)
    return result


if __name__ == "__main__":
    main()
