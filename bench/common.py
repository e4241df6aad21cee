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


def matmul_ceiling(threads: int, size: int = 2048, repeats: int = 15) -> float:
    """GFLOP/s of a square fp32 matmul with `threads` threads: the practical peak the models are compared with."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    seconds = median_seconds(lambda: a @ b, repeats=repeats)
    return 2 * size**3 / seconds / 1e9


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
