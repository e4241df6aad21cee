"""DCGAN generator throughput on this machine, against a 2-thread matmul ceiling measured in the same run.

    python -m bench.dcgan        # prints a table, writes bench/results/dcgan.json

Targets (Foundation issue): >= 75 % of the ceiling at batch 64, >= 35 % at batch 1. The ceiling is the faster of
PyTorch's two GEMM engines on a 2048^3 fp32 product (bench.common.matmul_ceiling; both are recorded).
FLOPs are counted by torch.utils.flop_counter on the paper's module (2 FLOPs per multiply-add); both the paper's
module ("eager", oneDNN transposed convolutions) and the form the app serves ("fused", models.dcgan.FusedGenerator)
are timed. This VM's speed drifts by tens of percent within a minute, so the ceiling and the models are measured
in interleaved rounds and each ratio is the median over rounds of (model GFLOP/s) / (ceiling GFLOP/s) of that round.
Each round also times batch 1's GEMMs alone (gemm_seconds): the sum of the fastest way to run each bounds the
fraction any forward built on them can reach ("batch1_gemm_floor" in the JSON).
"""

from __future__ import annotations

import statistics

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.common import machine, matmul_ceiling, median_seconds, write
from models.dcgan import Generator, onednn_linear, onednn_packed
from models.hub import load_pretrained

THREADS = 2
BATCHES = (1, 64)
ROUNDS = 9


def flops(model: torch.nn.Module, z: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(z)
    return counter.get_total_flops()


def gemm_shapes(fused, batch: int) -> list[tuple[int, int, int]]:
    """(rows, inner, columns) of each GEMM in one forward of the fused generator at `batch`."""
    shapes, size = [(batch, fused.w0.shape[1], fused.w0.shape[0])], fused.start
    for j, (stride, padding, k) in enumerate(fused.shapes):
        columns, inner = getattr(fused, f"w{j + 1}").shape
        shapes.append((batch * size * size, inner, columns))
        size = (size - 1) * stride - 2 * padding + k
    return shapes


def gemm_seconds(rows: int, inner: int, columns: int) -> dict[str, float]:
    """One GEMM of this shape alone, through each way PyTorch can run it on a CPU: F.linear (MKL), the transposed
    product W x^T (MKL again, which at a handful of rows streams the weights better), a 1x1 convolution on a
    channels-last image (oneDNN) and oneDNN's linear on weights pre-packed once (what the fused generator runs)."""
    a, w = torch.randn(rows, inner), torch.randn(columns, inner)
    image, filters, a_t = a.view(1, rows, 1, inner).permute(0, 3, 1, 2), w[:, :, None, None], a.t().contiguous()
    packed = onednn_packed(w)
    ways = {"linear": lambda: torch.nn.functional.linear(a, w), "transposed": lambda: torch.mm(w, a_t),
            "conv1x1": lambda: torch.nn.functional.conv2d(image, filters)}
    if packed is not None:
        ways["packed"] = lambda: onednn_linear(a, packed)
    with torch.inference_mode():
        return {name: median_seconds(fn, repeats=5, warmup=2) for name, fn in ways.items()}


def main() -> dict:
    torch.set_num_threads(THREADS)
    G = load_pretrained(Generator, "dcgan-mnist", device="cpu")
    variants = {"eager": G, "fused": G.fuse()}
    latents = {batch: torch.randn(batch, G.latent_dim) for batch in BATCHES}
    work = {batch: flops(G, z) for batch, z in latents.items()}  # the model's FLOPs, however they are computed
    engines, seconds = [], {(v, b): [] for v in variants for b in BATCHES}
    # Batch 1's floor: the sum over its GEMMs of the fastest way to run each, alone. No col2im, activation or
    # dispatch is in it, so no implementation built on these GEMMs reaches a larger fraction of the ceiling.
    shapes, floors, per_gemm = gemm_shapes(variants["fused"], 1), [], []
    for _ in range(ROUNDS):
        engines.append(matmul_ceiling(THREADS, repeats=5))
        for (name, batch), times in seconds.items():
            with torch.inference_mode():
                times.append(median_seconds(lambda: variants[name](latents[batch]), repeats=5, warmup=2))
        per_gemm.append([gemm_seconds(*shape) for shape in shapes])
        floors.append(sum(min(ways.values()) for ways in per_gemm[-1]))
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
              "targets": {"batch64_fraction": 0.75, "batch1_fraction": 0.35}, "rows": rows,
              "batch1_gemm_floor": {
                  "ms": 1000 * statistics.median(floors),
                  "fraction_bound": statistics.median(work[1] / t / 1e9 / c for t, c in zip(floors, ceilings)),
                  "gemms": [{"rows": m, "inner": k, "columns": n,
                             **{f"{way}_us": 1e6 * statistics.median(r[i][way] for r in per_gemm) for way in per_gemm[0][i]}}
                            for i, (m, k, n) in enumerate(shapes)]}}
    print(f"matmul ceiling ({THREADS} threads, 2048^3 fp32, the faster engine): "
          f"median {statistics.median(ceilings):.1f} GFLOP/s over {ROUNDS} rounds (min {min(ceilings):.1f}, max {max(ceilings):.1f}); medians per engine: "
          + ", ".join(f"{k} {statistics.median(r[k] for r in engines):.1f}" for k in engines[0]))
    print(f"{'variant':>8}{'batch':>6}{'ms/batch':>11}{'samples/s':>11}{'GFLOP/s':>9}{'of ceiling':>12}")
    for r in rows:
        print(f"{r['variant']:>8}{r['batch']:>6}{r['ms_per_batch']:>11.2f}{r['samples_per_s']:>11.0f}"
              f"{r['gflops']:>9.1f}{100 * r['fraction_of_ceiling']:>11.0f}%")
    floor = result["batch1_gemm_floor"]
    print(f"batch 1, its {len(shapes)} GEMMs alone (the fastest way each): {floor['ms']:.3f} ms, so at most "
          f"{100 * floor['fraction_bound']:.0f}% of the ceiling for any forward built on them; per GEMM (us):")
    for g in floor["gemms"]:
        print(f"  {g['rows']:>5} x {g['inner']:>4} x {g['columns']:>5}: "
              + ", ".join(f"{k[:-3]} {v:.1f}" for k, v in g.items() if k.endswith("_us")))
    write("dcgan", result)
    return result


if __name__ == "__main__":
    main()
