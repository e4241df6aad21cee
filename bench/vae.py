"""VAE sampler throughput: z ~ N(0, I) -> decoder -> Bernoulli means, at batch 1 and 64.

    OMP_NUM_THREADS=2 python -m bench.vae     # prints a table, writes bench/results/vae.json

Times the bundled vae-mnist (and vae2d-mnist) when present, else a randomly initialised VAE of train/vae.py's
default size (the timing depends on the architecture only; the JSON says which was timed). Threads: whatever torch
uses in this process (OMP_NUM_THREADS), recorded in the result. One sample is one decoder pass: the sampler is a
single forward call, where the PixelCNN tab's sampler makes one per pixel.
"""

from __future__ import annotations

import torch

from bench.common import machine, median_seconds, write
from models.hub import load_pretrained
from models.vae import VAE

BATCHES = (1, 64)


def models() -> dict[str, tuple[torch.nn.Module, str]]:
    from train.vae import Config

    out = {}
    for name in ("vae-mnist", "vae2d-mnist"):
        try:
            out[name] = (load_pretrained(VAE, name, device="cpu"), "bundled checkpoint")
        except FileNotFoundError:
            pass
    if "vae-mnist" not in out:
        cfg = Config()
        torch.manual_seed(0)
        out["vae-mnist"] = (VAE(cfg.latent_dim, cfg.hidden_channels, cfg.hidden_features, cfg.image_size).eval(),
                            "random weights, train/vae.py's default size (checkpoint not bundled)")
    return out


def main() -> dict:
    rows = []
    for name, (vae, source) in models().items():
        for batch in BATCHES:
            z = torch.randn(batch, vae.latent_dim)
            with torch.inference_mode():
                t = median_seconds(lambda: vae(z), repeats=15, warmup=3)
            rows.append({"model": name, "source": source, "batch": batch, "ms_per_batch": 1000 * t,
                         "samples_per_s": batch / t,
                         "parameters": sum(p.numel() for p in vae.parameters())})
    result = {"machine": machine(), "rows": rows}
    print(f"{'model':>12}{'batch':>6}{'ms/batch':>11}{'samples/s':>12}  source")
    for r in rows:
        print(f"{r['model']:>12}{r['batch']:>6}{r['ms_per_batch']:>11.3f}{r['samples_per_s']:>12.0f}  {r['source']}")
    write("vae", result)
    return result


if __name__ == "__main__":
    main()
