"""Style transfer speed (and, where the AdaIN decoder is bundled, quality) on this machine: AdaIN vs Gatys et al.

    python -m bench.style            # prints tables, writes bench/results/style.json
    python -m bench.style --quick    # fewer timed iterations, no quality pairs (what a busy machine can run)
    python -m bench.style --note="two trainings shared the cores"   # a remark stored in the JSON

Speed (genzoo issue 6 targets: AdaIN 512 px <= 2 s; Gatys 256 px, 300 iterations <= 60 s; speed-up >= 100x at equal
size). One AdaIN image = the whole forward pass the tab runs (encode the content and the style, AdaIN, decode), under
torch.no_grad, median of repeated runs; reported as images/s. Gatys = seconds per L-BFGS iteration and per Adam step
(each is one forward and backward pass of the encoder over the content and style layers; L-BFGS without line search,
as Gatys et al.), timed over `iterations` after 2 warm-up iterations, then x300 for the issue's figure. Every
figure also comes as this process's CPU seconds, which stay meaningful when other jobs share the cores. Both with the
offline encoder, EfficientNet-Lite0; the decoder is the bundled adain-efficientnet where it exists, else an untrained
one of train/adain.py's default size (speed depends on the architecture only; the JSON says which).

Quality (only with the bundled decoder): the first 2 x 2 of train/adain.py's evaluation pairs at 256 px, AdaIN vs
Gatys (L-BFGS, 300 iterations from the content), each scored by models.style.transfer_losses under the same encoder.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from bench.common import machine, write
from models.hub import load_pretrained
from models.style import AdaINDecoder, adain_stylize, gatys, load_encoder, transfer_losses
from train import adain as trainer

SIZES = (256, 512)
GATYS_ITERATIONS = 300  # the fixed length
TARGETS = {"adain_512_seconds": 2.0, "gatys_256_300_seconds": 60.0, "speedup_at_equal_size": 100.0}


def decoder() -> tuple[AdaINDecoder, str]:
    try:
        return load_pretrained(AdaINDecoder, "adain-efficientnet", device="cpu", family="adain"), "bundled checkpoint"
    except FileNotFoundError:
        torch.manual_seed(0)
        return AdaINDecoder().eval().requires_grad_(False), "untrained, train/adain.py's default size (not bundled)"


def pair(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    contents, styles = trainer.evaluation_pairs(size)
    return contents[0], styles[0]


def seconds(fn, repeats: int, warmup: int = 1) -> tuple[float, float]:
    """(median wall seconds per call, CPU seconds per call of this process): the CPU figure stays meaningful when
    other jobs share the cores (wall / CPU then shows how much of the machine this process got)."""
    for _ in range(warmup):
        fn()
    walls, cpu = [], time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls), (time.process_time() - cpu) / repeats


def gatys_seconds_per_iteration(encoder, content, style, optimizer: str, iterations: int) -> tuple[float, float]:
    """(median wall, CPU) seconds per iteration over `iterations` iterations after 2 warm-up iterations."""
    run = gatys(encoder, content, style, 2 + iterations, optimizer=optimizer, every=1)
    return seconds(lambda: next(run), iterations, warmup=2)


def quality(encoder, dec) -> list[dict]:
    contents, styles = trainer.evaluation_pairs(256)
    rows = []
    for ci, c in enumerate(contents[:2]):
        for si, s in enumerate(styles[:2]):
            out = adain_stylize(encoder, dec, c, [s])
            start = time.perf_counter()
            *_, last = gatys(encoder, c, s, GATYS_ITERATIONS, every=GATYS_ITERATIONS)
            gatys_s = time.perf_counter() - start
            name = f"{trainer.EVAL_CONTENT[ci]} x {trainer.EVAL_STYLES[si][0]}"
            rows.append({"pair": name, "adain": transfer_losses(encoder, out, c, [s]),
                         "gatys": transfer_losses(encoder, last.image, c, [s]), "gatys_seconds": gatys_s,
                         "content_as_output": transfer_losses(encoder, c, c, [s])})
    return rows


def main(quick: bool = False, note: str = "") -> dict:
    encoder = load_encoder("efficientnet-lite0")
    dec, source = decoder()
    iterations = 6 if quick else 30
    speed = []
    for size in SIZES:
        c, s = pair(size)
        adain_s, adain_cpu = seconds(lambda: adain_stylize(encoder, dec, c, [s]), 3 if quick else 9)
        row = {"size": size, "adain_seconds": adain_s, "adain_images_per_s": 1 / adain_s,
               "adain_cpu_seconds": adain_cpu}
        for optimizer in ("lbfgs", "adam"):
            wall, cpu = gatys_seconds_per_iteration(encoder, c, s, optimizer, iterations)
            row[f"gatys_{optimizer}_seconds_per_iteration"] = wall
            row[f"gatys_{optimizer}_cpu_seconds_per_iteration"] = cpu
        row["gatys_300_seconds"] = GATYS_ITERATIONS * row["gatys_lbfgs_seconds_per_iteration"]
        row["speedup_300_iterations"] = row["gatys_300_seconds"] / adain_s
        speed.append(row)
    by_size = {r["size"]: r for r in speed}
    measured = {"adain_512_seconds": by_size[512]["adain_seconds"],
                "gatys_256_300_seconds": by_size[256]["gatys_300_seconds"],
                "speedup_at_equal_size": min(r["speedup_300_iterations"] for r in speed)}
    result = {"machine": machine(), "encoder": encoder.title, "decoder": source, "timed_gatys_iterations": iterations,
              "speed": speed, "targets": TARGETS, "measured": measured,
              "met": {k: (measured[k] >= v if k.startswith("speedup") else measured[k] <= v)
                      for k, v in TARGETS.items()}, "note": note}
    print(f"encoder {encoder.title}; decoder: {source}; threads {torch.get_num_threads()}")
    print(f"{'size':>5}{'AdaIN s':>10}{'(CPU s)':>9}{'AdaIN img/s':>13}{'L-BFGS s/it':>13}{'(CPU s)':>9}"
          f"{'Adam s/it':>11}{'(CPU s)':>9}{'Gatys 300 s':>13}{'speed-up':>10}")
    for r in speed:
        print(f"{r['size']:>5}{r['adain_seconds']:>10.3f}{r['adain_cpu_seconds']:>9.3f}{r['adain_images_per_s']:>13.2f}"
              f"{r['gatys_lbfgs_seconds_per_iteration']:>13.3f}{r['gatys_lbfgs_cpu_seconds_per_iteration']:>9.3f}"
              f"{r['gatys_adam_seconds_per_iteration']:>11.3f}{r['gatys_adam_cpu_seconds_per_iteration']:>9.3f}"
              f"{r['gatys_300_seconds']:>13.1f}{r['speedup_300_iterations']:>9.0f}x")
    for key, target in TARGETS.items():
        print(f"  {key}: {measured[key]:.3g} (target {'>=' if key.startswith('speedup') else '<='} {target:g}): "
              f"{'met' if result['met'][key] else 'NOT met'}")
    if source == "bundled checkpoint" and not quick:
        result["quality"] = quality(encoder, dec)
        result["quality_protocol"] = ("256 px, first 2 contents x first 2 styles of train.adain's evaluation pairs; "
                                      f"AdaIN alpha 1 vs Gatys L-BFGS {GATYS_ITERATIONS} iterations from the "
                                      "content, the encoder's default weights; losses: models.style.transfer_losses")
        print(f"{'pair':>22}{'output':>20}{'content':>10}{'Gram':>10}{'mean/std':>10}")
        for r in result["quality"]:
            for method in ("adain", "gatys", "content_as_output"):
                v = r[method]
                print(f"{r['pair']:>22}{method:>20}{v['content']:>10.4f}{v['style_gram']:>10.4f}"
                      f"{v['style_meanstd']:>10.4f}")
    else:
        result["quality"] = None
        result["quality_note"] = "needs the bundled adain-efficientnet decoder and a run without --quick"
    write("style", result)
    return result


if __name__ == "__main__":
    notes = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--note=")]
    main(quick="--quick" in sys.argv[1:], note=notes[0] if notes else "")
