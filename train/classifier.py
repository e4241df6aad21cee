"""Train the evaluation kit's classifiers (assets/checkpoints/classifier-mnist, classifier-fashion-mnist).

Reproduce the bundled checkpoints (about 4 and 10 min on 2 CPU cores):
    python -m train.classifier --export_dir=assets/checkpoints/classifier-mnist
    python -m train.classifier --dataset=fashion-mnist --epochs=12 --export_dir=assets/checkpoints/classifier-fashion-mnist

Targets (issue: evaluation kit): test accuracy >= 99.0 % on MNIST and >= 91 % on Fashion-MNIST.
Augmentation: random shifts of up to 2 px (both sets) and horizontal flips (Fashion-MNIST only: a flipped digit is
not the same digit). Adam with a one-cycle learning rate schedule.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from models.classifier import Classifier
from train import common, data


@dataclass
class Config:
    """Classifier for the evaluation kit; every field can be overridden with --field=value."""
    dataset: str = "mnist"       # "mnist" or "fashion-mnist"
    hidden_channels: int = 32    # first block's width
    feature_dim: int = 128       # evaluation feature size
    epochs: int = 4              # passes over the 60k training images
    batch_size: int = 128
    lr: float = 3e-3             # peak of the one-cycle schedule
    weight_decay: float = 5e-4   # decoupled (AdamW)
    seed: int = 0
    out_dir: str = "runs/classifier"
    export_dir: str | None = None  # None = <out_dir>/checkpoint
    max_steps: int | None = None   # smoke tests
    fake_data: bool = False        # random tensors instead of a dataset (smoke tests)
    device: str = "auto"           # "auto", "cpu" or "cuda"


def augment(x: torch.Tensor, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 2 px (pad 2, random crop), and random horizontal flips if `flip`."""
    b, _, h, w = x.shape
    padded = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2, b), generator=generator)
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        out[mask] = out[mask].flip(-1)
    return out


@torch.no_grad()
def accuracy(model: Classifier, images: torch.Tensor, labels: torch.Tensor, device) -> float:
    model.eval()
    correct = sum((model(images[i:i + 1000].to(device)).argmax(1).cpu() == labels[i:i + 1000]).sum().item()
                  for i in range(0, len(images), 1000))
    return correct / len(images)


def main(cfg: Config) -> Classifier:
    device = torch.device("cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    if cfg.fake_data:
        g = torch.Generator().manual_seed(cfg.seed)
        x_train, y_train = torch.rand(256, 1, 28, 28, generator=g) * 2 - 1, torch.randint(0, 10, (256,), generator=g)
        x_test, y_test = x_train[:64], y_train[:64]
    else:
        loader = data.mnist if cfg.dataset == "mnist" else data.fashion_mnist
        (x_train, y_train), (x_test, y_test) = loader("train"), loader("test")
    torch.manual_seed(cfg.seed)
    model = Classifier(1, 28, 10, cfg.hidden_channels, cfg.feature_dim).to(device)
    opt = torch.optim.AdamW(model.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
    per_epoch = len(x_train) // cfg.batch_size
    total = per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, per_epoch * cfg.epochs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=max(total, 2))
    g = torch.Generator().manual_seed(cfg.seed)
    start, step = time.time(), 0
    from tqdm import tqdm

    progress = tqdm(total=total)
    while step < total:
        order = torch.randperm(len(x_train), generator=g)
        for i in range(per_epoch):
            if step >= total:
                break
            idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            x = augment(x_train[idx], cfg.dataset == "fashion-mnist", g).to(device)
            model.train()
            # No label smoothing: the kit reads confidences (>= 0.9), which smoothing would cap near 0.91.
            loss = F.cross_entropy(model(x), y_train[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            progress.update()
            progress.set_postfix(loss=f"{loss.item():.3f}")
    progress.close()
    model.eval().requires_grad_(False)
    test_acc = accuracy(model, x_test, y_test, device)
    wall = time.time() - start
    export_dir = Path(cfg.export_dir) if cfg.export_dir else Path(cfg.out_dir) / "checkpoint"
    common.save_export(model.cpu(), export_dir)
    metrics = {"protocol": f"top-1 accuracy on the {len(x_test)} {cfg.dataset} test images, no augmentation",
               "values": {"test_accuracy": test_acc}}
    (export_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    command = "python -m train.classifier " + " ".join(
        f"--{k}={v}" for k, v in vars(cfg).items() if v != getattr(Config, k))
    common.write_card(
        export_dir, title=f"Evaluation classifier for {cfg.dataset}", tags=["image-classification", "genzoo"],
        summary=("The shared feature extractor of genzoo's evaluation kit (models/classifier.py): its 128-d "
                 "penultimate features feed Fréchet distance, KID and precision/recall; its probabilities give class "
                 "histograms and confidence."),
        command=command.strip(), config=cfg, data=cfg.dataset if not cfg.fake_data else "random tensors",
        data_checksum=data.dataset_checksum(cfg.dataset, cfg.fake_data), wall_seconds=wall,
        metrics=metrics, usage=(f'from models.classifier import Classifier\nfrom models.hub import load_pretrained\n'
                                f'clf = load_pretrained(Classifier, "{export_dir.name}")'))
    print(f"test accuracy {test_acc:.4f}; exported to {export_dir} after {wall / 60:.1f} min")
    return model


if __name__ == "__main__":
    main(common.parse_config(Config))
