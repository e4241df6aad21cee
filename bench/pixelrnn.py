"""Row LSTM PixelRNN on this CPU: sampler samples/s, training images/s, test-NLL images/s.

    python -m bench.pixelrnn              # prints a table, writes bench/results/pixelrnn.json
    python -m bench.pixelrnn --threads=1  # the same with one torch thread

The model is the bundled pixelrnn-mnist when it is there, else an untrained RowLSTM of train/pixelrnn.py's default
size (speed does not depend on the weights; the JSON says which). Two samplers draw the same kind of images:
- "row": RowLSTM.sample, which recomputes only the current row per pixel from the rows' cached LSTM states
  (H*(W+1) one-row passes);
- "full forward": any raster-order sampler that calls forward(x) once per pixel (H*W whole-image passes), the way
  models.pixelcnn.sample serves every model with a per-pixel-logits forward. Its cost per pixel does not depend on
  the pixel, so it is timed over the first FULL_ROWS rows and scaled to the image (stated in the JSON);
- "models.pixelcnn.sample": the app's shared sampler, when it exists; it finds RowLSTM.raster_cache and so does
  the row sampler's work (timed end to end).
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from bench.common import machine, median_seconds, write
from models.pixelrnn import RowLSTM
from train import pixelrnn as T

THREADS = 2
FULL_ROWS = 2      # rows of the full-forward sampler that are timed
REPEATS = 3


def model_under_test() -> tuple[RowLSTM, str]:
    from models.hub import load_pretrained

    try:
        return load_pretrained(RowLSTM, "pixelrnn-mnist", device="cpu"), "bundled pixelrnn-mnist"
    except FileNotFoundError:
        cfg = T.Config()
        torch.manual_seed(0)
        model = RowLSTM(cfg.hidden_channels, cfg.num_layers, cfg.output_channels, cfg.image_size).eval()
        return model, "untrained RowLSTM of the trainer's default size (not bundled yet)"


@torch.no_grad()
def full_forward_rows(model: RowLSTM, n: int, rows: int, generator: torch.Generator) -> torch.Tensor:
    """The generic raster-order sampler, stopped after `rows` rows: one whole-image forward per pixel."""
    s = model.image_size
    x = torch.zeros(n, 1, s, s)
    for r in range(rows):
        for c in range(s):
            p = torch.sigmoid(model(x)[:, 0, r, c])
            x[:, 0, r, c] = (torch.rand(n, generator=generator) < p).float()
    return x


def main(threads: int = THREADS) -> dict:
    torch.set_num_threads(threads)
    model, which = model_under_test()
    s = model.image_size
    rows = []
    for n in (1, 16):
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            model.sample(n, torch.Generator().manual_seed(0))
            times.append(time.perf_counter() - start)
        t = statistics.median(times)
        rows.append({"sampler": "row (RowLSTM.sample)", "n": n, "seconds": t, "samples_per_s": n / t})
    start = time.perf_counter()
    full_forward_rows(model, 16, FULL_ROWS, torch.Generator().manual_seed(0))
    t = (time.perf_counter() - start) * s / FULL_ROWS
    rows.append({"sampler": f"full forward per pixel (timed {FULL_ROWS} rows, scaled x{s / FULL_ROWS:g})", "n": 16,
                 "seconds": t, "samples_per_s": 16 / t})
    try:
        from models.pixelcnn import sample as generic_sample
    except ImportError:
        generic_sample = None
    if generic_sample is not None:
        start = time.perf_counter()
        generic_sample(model, 16, torch.Generator().manual_seed(0), 1.0)
        t = time.perf_counter() - start
        rows.append({"sampler": "models.pixelcnn.sample (via raster_cache)", "n": 16, "seconds": t,
                     "samples_per_s": 16 / t})

    cfg = T.Config()
    train_model = RowLSTM(cfg.hidden_channels, cfg.num_layers, cfg.output_channels, cfg.image_size)
    optimizer = torch.optim.Adam(train_model.parameters(), cfg.lr)
    x = (torch.rand(cfg.batch_size, 1, s, s) < 0.2).float()

    def train_step():
        loss = train_model.nll(x).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step_seconds = median_seconds(train_step, repeats=5, warmup=1, min_time=0)
    test = (torch.rand(500, 1, s, s) < 0.2).float()
    with torch.inference_mode():
        eval_seconds = median_seconds(lambda: model.nll(test), repeats=3, warmup=1, min_time=0)
    result = {"machine": {**machine(), "threads": threads}, "model": which, "image_size": s, "samplers": rows,
              "train": {"batch_size": cfg.batch_size, "seconds_per_step": step_seconds,
                        "images_per_s": cfg.batch_size / step_seconds,
                        "minutes_per_100_kimg": 100_000 / (cfg.batch_size / step_seconds) / 60},
              "test_nll": {"batch": 500, "images_per_s": 500 / eval_seconds}}
    print(f"{which}; {threads} torch thread(s)")
    print(f"{'sampler':<58}{'n':>4}{'seconds':>10}{'samples/s':>11}")
    for r in rows:
        print(f"{r['sampler']:<58}{r['n']:>4}{r['seconds']:>10.2f}{r['samples_per_s']:>11.2f}")
    print(f"training: {result['train']['images_per_s']:.0f} images/s at batch {cfg.batch_size} "
          f"({result['train']['minutes_per_100_kimg']:.1f} min per 100 kimg); "
          f"test NLL: {result['test_nll']['images_per_s']:.0f} images/s")
    write("pixelrnn" if threads == THREADS else f"pixelrnn-{threads}threads", result)
    return result


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a.startswith("--threads=")]
    main(int(args[0].split("=")[1]) if args else THREADS)
