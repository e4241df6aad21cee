"""The evaluation table of every bundled unconditional generator, plus the real-vs-real floor.

    python -m bench.evaluation      # prints, writes bench/results/evaluation.json (about 1 min per model)
"""

from __future__ import annotations

import time

from bench.common import machine, write
from models.dcgan import Generator
from models.hub import load_pretrained
from train.evaluate import evaluate_generator, table

# (checkpoint, generator class, dataset): what the evaluation covers as families land.
MODELS = [("dcgan-mnist", Generator, "mnist")]


def main() -> dict:
    rows = {}
    for name, cls, dataset in MODELS:
        start = time.time()
        metrics = evaluate_generator(load_pretrained(cls, name, device="cpu"), dataset)
        metrics["seconds"] = time.time() - start
        print(f"== {name}\n{table(metrics)}\n")
        rows[name] = metrics
    write("evaluation", {"machine": machine(), "models": rows})
    return rows


if __name__ == "__main__":
    main()
