"""Timing helpers shared by the benchmarks: medians of repeated runs, machine facts, JSON output."""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def median_seconds(fn, repeats: int = 20, warmup: int = 3, min_time: float = 0.05) -> float:
    """Median wall time of fn(); each sample loops until at least `min_time` has passed, so tiny calls still count."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        samples.append(elapsed / n)
    return statistics.median(samples)


def matmul_ceiling(threads: int, size: int = 2048, repeats: int = 15) -> dict[str, float]:
    """GFLOP/s of a size x size x size fp32 matrix product with `threads` threads, through each GEMM engine PyTorch
    ships: "mkl" (torch.matmul) and "onednn" (the same product as a 1x1 convolution over size pixels of a
    channels-last image). The larger is the practical peak that models are compared with: on some CPUs one engine
    is twice as fast as the other (this project's AMD EPYC VM: MKL ~200, oneDNN ~410 GFLOP/s), and a ceiling
    from the slower one would let a model run at "more than 100 %" of it."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    image = torch.randn(1, size, size // 32, 32).contiguous(memory_format=torch.channels_last)  # size pixels
    filters = b.reshape(size, size, 1, 1)
    flops = 2 * size**3 / 1e9
    with torch.inference_mode():
        return {"mkl": flops / median_seconds(lambda: a @ b, repeats=repeats),
                "onednn": flops / median_seconds(lambda: torch.nn.functional.conv2d(image, filters), repeats=repeats)}


def machine() -> dict:
    from train.common import hardware

    return {"hardware": hardware(), "torch": torch.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d %H:%M")}


def write(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return path
