"""The leaderboard: every bundled checkpoint that samples images, with the shared kit's numbers side by side.

    python -m train.leaderboard                 # writes assets/leaderboard.json (what the Compare tab shows)
    python -m train.leaderboard --out=x.json

One row per checkpoint that some tab serves (each tab's `samplers()`), in the order of the tabs: FD, KID,
precision, recall, class coverage and confidence from its metrics.json (the kit's protocol, computed when it was
trained or by `python -m train.evaluate`), test NLL where the model defines one, parameters (counted from
model.safetensors), training wall time and hardware (from its model card), and sampling time per image measured
now, on this machine: the median of 3 timed draws of 16 samples after one warm-up draw (one draw of one sample for
the slow samplers, PixelCNN++). The real-vs-real floor of
each dataset is a row of its own. Every other bundled checkpoint (translators, style transfer, lip sync, the kit's
judges), which samples nothing from noise, gets a row in "others": its model card's title, parameters, training
time and the headline numbers of its own protocol (its metrics.json). Nothing here retrains or re-evaluates:
rebuild after any checkpoint changes.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

import torch

from models.hub import CHECKPOINTS, ROOT, checkpoint_folder

OUT = ROOT / "assets" / "leaderboard.json"
TIMING_SAMPLES, TIMING_REPEATS = 16, 3
OTHER_NUMBERS = 6  # headline numbers per other checkpoint, in its metrics.json's order (the card has all)
METRICS = ("FD", "KIDx1000", "precision", "recall", "class_min_fraction", "class_max_fraction", "confident_fraction",
           "nll_nats", "bits_per_dim")


def parameters(folder: Path) -> int:
    """Parameter count from the safetensors header (no model is built; buffers such as BatchNorm statistics count
    too, as they are part of what ships)."""
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        return sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())


def training_record(folder: Path) -> dict:
    """Wall time (minutes) and hardware as the model card states them ("Wall time: 8.9 min on <hardware>")."""
    card = folder / "README.md"
    match = re.search(r"Wall time: ([\d.]+) min on (.+)", card.read_text()) if card.exists() else None
    return {"train_minutes": float(match.group(1)), "train_hardware": match.group(2).strip()} if match else {}


def other_row(folder: Path) -> dict:
    """A checkpoint that no unconditional sampler serves: what it is and its own numbers, from its folder."""
    card = folder / "README.md"
    title = re.search(r"^# (.+)$", card.read_text(), re.MULTILINE) if card.exists() else None
    metrics = json.loads((folder / "metrics.json").read_text()) if (folder / "metrics.json").exists() else {}
    headline = {k: v for k, v in metrics.get("values", {}).items()
                if isinstance(v, (int, float)) and not k.endswith("_std")}
    return {"checkpoint": folder.name, "model": title.group(1).strip() if title else folder.name,
            "parameters": parameters(folder), **training_record(folder),
            "protocol": metrics.get("protocol", "").split(";")[0],
            "numbers": dict(list(headline.items())[:OTHER_NUMBERS])}


def sampling_ms(sampler) -> float:
    n, repeats = (1, 1) if sampler.slow else (TIMING_SAMPLES, TIMING_REPEATS)  # PixelCNN++: ~25 s per image
    sampler.sample(0, n)  # warm-up: lazy loading, allocator, oneDNN primitive caches
    times = []
    for seed in range(1, repeats + 1):
        start = time.perf_counter()
        sampler.sample(seed, n)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) / n


def build(tabs=None) -> dict:
    """The leaderboard as a dict (see the module docstring); `tabs` defaults to the app's demos.TABS."""
    if tabs is None:
        import demos

        tabs = demos.TABS
    rows, floors, protocols = [], {}, {}
    for tab in tabs:
        if not hasattr(tab, "samplers"):  # tabs that serve no image checkpoint (Compare)
            continue
        for name, sampler in tab.samplers().items():
            folder = checkpoint_folder(name)
            path = folder / "metrics.json"
            metrics = json.loads(path.read_text()) if path.exists() else {}
            values = metrics.get("values", {})
            if metrics.get("floor"):
                floors.setdefault(sampler.dataset, metrics["floor"])
                protocols.setdefault(sampler.dataset, metrics["protocol"].split(";")[0])
            row = {"checkpoint": name, "model": sampler.title, "family": sampler.family, "dataset": sampler.dataset,
                   "conditional": not sampler.unconditional, "parameters": parameters(folder),
                   "sampling_ms_per_image": round(sampling_ms(sampler), 3), **training_record(folder)}
            row.update({k: values[k] for k in METRICS if k in values})
            rows.append(row)
            print(f"{name:<28} FD {row.get('FD', float('nan')):8.2f}  {row['sampling_ms_per_image']:9.3f} ms/image")
    sampled = {row["checkpoint"] for row in rows}
    others = [other_row(folder) for folder in sorted(CHECKPOINTS.iterdir())
              if (folder / "model.safetensors").exists() and folder.name not in sampled]
    return {"protocols": protocols, "floors": floors, "rows": rows, "others": others,
            "torch_threads": torch.get_num_threads(),
            "timing": f"median of {TIMING_REPEATS} draws of {TIMING_SAMPLES} samples after one warm-up, "
                      f"{torch.get_num_threads()} torch threads, default device"}


def main(argv: list[str]) -> dict:
    options = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    board = build()
    out = Path(options.get("out", OUT))
    out.write_text(json.dumps(board, indent=1))
    print(f"wrote {out} ({len(board['rows'])} sampling checkpoints, {len(board['others'])} others)")
    return board


if __name__ == "__main__":
    main(sys.argv[1:])
