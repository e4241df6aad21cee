"""Sampling speed of the PixelCNN family: 16 samples of 28x28, every sampler, on this machine.

    python -m bench.pixelcnn            # prints a table, writes bench/results/pixelcnn.json
    python -m bench.pixelcnn --quick    # 1 thread, fewer repeats (what the helper that wrote this could run)

Target (issue 4): 16 PixelCNN samples of 28x28 in <= 10 s on this CPU. A raster sampler makes 784 sequential
decisions; what differs is the work per decision:
- "naive": forward() on the whole image per pixel (the definition; timed on a few rows and scaled to 28);
- "prefix": forward() on the rows up to the current one (models.pixelcnn.PrefixCache, what PixelCNN++ uses);
- "cached": the models' raster caches, one position per layer per pixel (PixelCNN), plus one vertical-stack row per
  image row (Gated PixelCNN); exact, tested against the naive sampler in tests/test_pixelcnn.py.
All run under torch.inference_mode with all 16 samples batched per pass. The models are the bundled checkpoints
where they exist, else untrained ones of the trainers' default sizes (speed does not depend on the weights).
"""

from __future__ import annotations

import sys
import time

import torch

from bench.common import machine, write
from models import pixelcnn as P
from train import pixelcnn as trainer

N, SIZE = 16, 28
TARGET_SECONDS = 10.0


def model(kind: str) -> torch.nn.Module:
    from models.hub import load_pretrained

    name = f"{trainer.CHECKPOINT_NAMES[kind]}-mnist"
    try:
        return load_pretrained(trainer.MODELS[kind], name, device="cpu")
    except FileNotFoundError:
        torch.manual_seed(0)
        return trainer.build(trainer.Config(model=kind)).eval().requires_grad_(False)


def timed_rows(m, cache, rows, labels) -> float:
    """Seconds for the given rows of a raster pass (every pixel of each), scaled to the whole image."""
    draw = P.draw_logistic_mixture if m.likelihood == "logistic_mixture" else P.draw_bernoulli
    x, u = torch.zeros(N, 1, SIZE, SIZE), torch.rand(N, 2, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        start = time.perf_counter()
        for r in rows:
            for c in range(SIZE):
                x[:, 0, r, c] = draw(cache.step(x, r, c), u[:, :, r, c], 1.0)
    return (time.perf_counter() - start) * SIZE / len(rows)


class FullImage:
    """The naive sampler's step: forward() on the whole canvas for every pixel."""

    def __init__(self, m, labels):
        self.m, self.labels = m, labels

    def step(self, x, r, c):
        return (self.m(x) if self.labels is None else self.m(x, self.labels))[:, :, r, c]


def main(argv: list[str]) -> dict:
    quick = "--quick" in argv
    threads = 1 if quick else 2
    torch.set_num_threads(threads)
    rows = []
    for kind in ("pixelcnn", "gated", "pixelcnnpp"):
        m = model(kind)
        labels = torch.arange(N) % 10 if getattr(m, "num_classes", 0) else None
        samplers = {"naive": (FullImage(m, labels), [3, 13, 23]),  # a few evenly spaced rows, scaled to 28
                    "prefix": (P.PrefixCache(m, labels), [3, 11, 19, 27])}  # rows 4k+3: the prefix's average cost
        if hasattr(m, "raster_cache"):
            samplers["cached"] = (None, None)
        for name, (cache, sample_rows) in samplers.items():
            if name == "cached":
                start = time.perf_counter()
                P.sample(m, N, torch.Generator().manual_seed(0), labels=labels)  # the real thing, end to end
                seconds, how = time.perf_counter() - start, "full run"
            else:
                seconds, how = timed_rows(m, cache, sample_rows, labels), f"rows {sample_rows} scaled to {SIZE}"
            rows.append({"model": kind, "sampler": name, "seconds_for_16": seconds, "samples_per_s": N / seconds,
                         "measured": how, "parameters": sum(p.numel() for p in m.parameters())})
            print(f"{kind:>11} {name:>7}: {seconds:8.2f} s for {N} -> {N / seconds:7.3f} samples/s ({how})", flush=True)
    best = min(r["seconds_for_16"] for r in rows if r["model"] == "pixelcnn")
    result = {"machine": machine(), "threads": threads, "samples": N, "image_size": SIZE,
              "target": {"pixelcnn_seconds_for_16": TARGET_SECONDS, "met": best <= TARGET_SECONDS}, "rows": rows}
    write("pixelcnn", result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
