"""What every trainer shares: config parsing, the resume file, checkpoint folders, model cards and Hub pushes."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import types
import typing
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------------------- config
def _convert(text: str, annotation, name: str):
    """'--key=value' text -> the field's type. Handles int/float/str/bool and `X | None`."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        if text.lower() in {"none", "null", ""}:
            return None
        annotation = next(a for a in args if a is not type(None))
    if annotation is bool:
        if text.lower() in {"1", "true", "yes", "on"}:
            return True
        if text.lower() in {"0", "false", "no", "off"}:
            return False
        raise SystemExit(f"--{name} expects true or false, got {text!r}")
    try:
        return annotation(text)
    except ValueError:
        raise SystemExit(f"--{name} expects {annotation.__name__}, got {text!r}") from None


def int_list(text: str, name: str) -> tuple[int, ...]:
    """'128,128,64' -> (128, 128, 64): the channel lists trainers take as one --option."""
    try:
        return tuple(int(c) for c in text.split(","))
    except ValueError:
        raise SystemExit(f"--{name} must be comma-separated integers, got {text!r}") from None


def parse_config(config_cls, argv: list[str] | None = None):
    """`--key=value`, `--key value` or bare `--flag` (booleans) over a dataclass's defaults; dashes = underscores."""
    argv = sys.argv[1:] if argv is None else argv
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    hints = typing.get_type_hints(config_cls)
    overrides, i = {}, 0
    while i < len(argv):
        arg = argv[i]
        if arg in {"-h", "--help"}:
            print(config_cls.__doc__ or "")
            for name, f in fields.items():
                print(f"  --{name}={f.default!r}")
            raise SystemExit(0)
        if not arg.startswith("--"):
            raise SystemExit(f"unexpected argument {arg!r}; use --key=value")
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        if key not in fields:
            raise SystemExit(f"unknown option --{key}; known: {', '.join('--' + k for k in fields)}")
        if not eq:
            if hints[key] is bool:
                value = "true"
            elif i + 1 < len(argv):
                i, value = i + 1, argv[i + 1]
            else:
                raise SystemExit(f"--{key} needs a value")
        overrides[key] = _convert(value, hints[key], key)
        i += 1
    return config_cls(**overrides)


# ---------------------------------------------------------------------------------------------------------- resume
def save_resume(path: Path, state: dict) -> None:
    """Write the resume file atomically: a kill -9 mid-write leaves the previous file intact, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def save_export(model, folder: Path) -> None:
    """model.save_pretrained(folder), atomically per file: the files are written into a temporary sibling folder and
    then renamed over the old ones (weights first), so a kill -9 mid-export leaves the previous config.json and
    model.safetensors in place, never half of a file that load_pretrained would then try to read."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        model.save_pretrained(tmp)
        for name in sorted(os.listdir(tmp), key=lambda n: n != "model.safetensors"):
            os.replace(tmp / name, folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def store_float16(folder: Path) -> int:
    """Rewrite a checkpoint's model.safetensors with its float32 tensors in float16, atomically; returns the bytes
    saved. Loading needs no change: load_state_dict copies into the module's own float32 tensors. For the bundle's
    largest checkpoints, whose outputs move by ~1e-3 (their cards say so and hold metrics re-measured on the stored
    weights): `python -m train.common float16 assets/checkpoints/<name> ...`."""
    from safetensors.torch import load_file, save_file

    path = Path(folder) / "model.safetensors"
    before = path.stat().st_size
    tensors = {k: v.half() if v.dtype == torch.float32 else v for k, v in load_file(path).items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, tmp, metadata={"format": "pt"})
    os.replace(tmp, path)
    return before - path.stat().st_size


def load_resume(path: Path) -> dict:
    """Our own resume file; weights_only=True even so, so a swapped file cannot execute code."""
    return torch.load(path, map_location="cpu", weights_only=True)


# ---------------------------------------------------------------------------------------------------------- facts
def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "models", "train"], cwd=ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def hardware() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} torch threads, no GPU"


# ---------------------------------------------------------------------------------------------------------- cards
def metrics_markdown(metrics: dict) -> str:
    """The evaluation kit's result dict as a model-card section: the protocol first, then one row per number."""
    lines = [f"Protocol: {metrics['protocol']}", "", "| metric | value | real-vs-real floor |", "|---|---|---|"]
    floor = metrics.get("floor", {})
    for key, value in metrics["values"].items():
        ref = floor.get(key)
        lines.append(f"| {key} | {_fmt(value)} | {_fmt(ref) if ref is not None else ''} |")
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return " ".join(_fmt(v) for v in value)
    return str(value)


def write_card(folder: Path, *, title: str, summary: str, command: str, config, data: str, data_checksum: str,
               wall_seconds: float, usage: str, metrics: dict | None = None, tags: list[str] = (), notes: str = "") -> None:
    """README.md of a checkpoint folder: how it was made (command, config, seed, commit, data, time, hardware) and how
    good it is (metrics with their protocol). This is also the Hub model card."""
    config_json = json.dumps(dataclasses.asdict(config), indent=2)
    front = "\n".join(["---", "library_name: genzoo", "license: mit", "tags:"] + [f"- {t}" for t in tags] + ["---"])
    text = f"""{front}

# {title}

{summary}

## How it was made
- Command: `{command}`
- Seed: {config.seed}
- Git commit: `{git_commit()}`
- Data: {data} (sha256 of the files: `{data_checksum}`)
- Wall time: {wall_seconds / 60:.1f} min on {hardware()}
- Date: {datetime.date.today().isoformat()}, torch {torch.__version__}

Config:
```json
{config_json}
```

## Quality
{metrics_markdown(metrics) if metrics else "Not evaluated yet: `python -m train.evaluate " + folder.name + "`"}

{notes}

## Use
```python
{usage}
```
"""
    (folder / "README.md").write_text(text)


# ---------------------------------------------------------------------------------------------------------- hub
def require_hub_token(repo_id: str | None) -> None:
    """Fail before training, not after an hour of it, when a push is asked for without credentials."""
    if not repo_id:
        return
    from huggingface_hub import get_token

    from models.hub import checked_repo_id

    try:
        checked_repo_id(repo_id)
    except ValueError as error:
        raise SystemExit(f"--push_to_hub: {error}. Nothing was trained.") from None

    if get_token() is None:
        raise SystemExit(f"--push_to_hub={repo_id} needs a Hugging Face token: run `huggingface-cli login` or set "
                         "HF_TOKEN (a token with write access). Nothing was trained.")


def push_folder(folder: Path, repo_id: str) -> str:
    """Upload exactly the checkpoint folder (config.json, model.safetensors, README.md card, metrics)."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message="genzoo: upload checkpoint")
    return str(info)


# ---------------------------------------------------------------------------------------------------------- GAN loops
# What every adversarial trainer (train/dcgan.py, train/objectives.py, ...) does the same way: data order and latents
# as functions of (seed, step) so a resumed run is bit-identical, the EMA generator, and the training curves.

def real_batch(dataset, batch_size: int, seed: int, step: int, rank: int = 0, world: int = 1, labels: bool = False):
    """The images of batch number `step` (with `labels`: the tuple of all the dataset's tensors, images first): a
    per-epoch permutation seeded by (seed, epoch), so a resumed run sees the same data; under accelerate each process
    takes its slice."""
    per_epoch = len(dataset) // batch_size
    epoch, i = divmod(step, per_epoch)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    index = order[i * batch_size:(i + 1) * batch_size][rank::world]
    if isinstance(dataset, torch.utils.data.TensorDataset):
        tensors = tuple(t[index] for t in dataset.tensors)  # images, labels and any per-image extras
    else:
        items = [dataset[int(j)] for j in index]
        second = [y for _, y in items]  # labels, or the other image of a pair (data.PairedFolder)
        tensors = (torch.stack([x for x, _ in items]),
                   torch.stack(second) if torch.is_tensor(second[0]) else torch.tensor(second))
    return tensors if labels else tensors[0]


def latents(seed: int, step: int, n: int, dim: int) -> torch.Tensor:
    """z ~ N(0, I) for `step`, independent of everything that happened before it."""
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed * 1_000_003 + step + 1))


def linear_decay(optimizers, lr: float, step: int, total_steps: int, decay_steps: int) -> float:
    """Set every param group's learning rate to `lr`, decayed linearly to 0 over the last `decay_steps` of
    `total_steps` (pix2pix/CycleGAN's schedule; 0 = constant). A function of the step alone, so a resumed run gets
    the same rates as an uninterrupted one. Returns the rate set."""
    rate = lr * min(1.0, (total_steps - step) / max(1, decay_steps))
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = rate
    return rate


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


@torch.no_grad()
def recalibrate_batchnorm(generator: torch.nn.Module, latent_dim: int, batches: int = 16, batch_size: int = 256,
                          seed: int = 12345, inputs=None) -> torch.nn.Module:
    """An eval-mode copy of `generator` whose BatchNorm running statistics are exact averages for *its* weights.

    The EMA weights never ran in train mode, so the running statistics copied from the raw G do not match them.
    A generator without BatchNorm comes back unchanged (as an eval-mode copy). `inputs(n, torch_generator)` gives the
    forward arguments of a batch when they are not just z ~ N(0, I) (labels, codes, images).
    """
    out = copy.deepcopy(generator).train()
    norms = [m for m in out.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if norms:
        device = next(out.parameters()).device
        g = torch.Generator().manual_seed(seed)
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
        for _ in range(batches):
            args = inputs(batch_size, g) if inputs else (torch.randn(batch_size, latent_dim, generator=g),)
            out(*(a.to(device) for a in args))
        for m in norms:
            m.momentum = 0.1  # back to the constructor's default so the saved module is an ordinary one
    return out.eval().requires_grad_(False)


def moving_average(values, window: int) -> torch.Tensor:
    """Running mean of `window` consecutive values (of all of them if fewer): the trend under a noisy log, one point
    per full window, so it lines up with the last len(result) x values."""
    values = torch.as_tensor(values, dtype=torch.float64)
    return values.unfold(0, min(window, len(values)), 1).mean(1)


def plot_history(history: list[dict], path: Path, panels: list[list[tuple[str, str]]]) -> None:
    """Training curves: one axis per panel, one (raw, smoothed) line pair per (history key, label) present."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [[(k, label) for k, label in panel if history and k in history[0]] for panel in panels]
    panels = [p for p in panels if p]
    if not panels:
        return
    kimg = [h["kimg"] for h in history]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for ax, keys in zip(axes[0], panels):
        for key, label in keys:
            values = [h[key] for h in history]
            smooth = moving_average(values, 20)
            line, = ax.plot(kimg, values, alpha=0.25)
            ax.plot(kimg[len(kimg) - len(smooth):], smooth, color=line.get_color(), label=label)
        ax.set_xlabel("kimg")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


class TrainingRun:
    """The part of a trainer's main() that does not depend on its networks or losses.

        run = TrainingRun(cfg, {"G": G, "D": D}, {"G": opt_g, "D": opt_d}, images_per_step=64, replay=sample16)
        for step in run.steps():                    # resumes, seeds each step, shows progress
            ...losses with run.nets["G"], run.nets["D"], run.rng...
            run.log(step, d_loss=..., g_loss=...)   # the curves (every 10th step)
        export, folder, complete = run.finish()     # EMA generator with BatchNorm recalibrated, saved with records

    nets["G"] is the network that ships: a GAN's generator, or the one model of a likelihood trainer (VAE, PixelCNN,
    DDPM: `{"G": model}`, one optimiser), whose weight average is what their papers evaluate too (PixelCNN++'s
    Polyak averaging, DDPM's EMA). It keeps an EMA copy of nets["G"] (what ships), writes the resume file atomically
    every `cfg.save_every` steps (networks, EMA, optimisers, step, history, wall time and the trainer's `state` dict,
    e.g. BEGAN's k_t), saves a replay frame `cfg.replay_frames` times over training (none when replay is None, e.g.
    for a scoring network such as Wav2Lip's expert), and runs unchanged under `accelerate launch`.
    cfg needs: seed, kimg, max_steps, save_every, replay_frames, ema_decay, out_dir, export_dir, resume, device,
    push_to_hub; and latent_dim, bn_batches where G has BatchNorm.
    """

    def __init__(self, cfg, nets: dict, optimizers: dict, images_per_step: int, replay, state: dict | None = None,
                 panels: list | None = None, inputs=None):
        from accelerate import Accelerator

        require_hub_token(cfg.push_to_hub)  # before any work, not after an hour of it
        self.cfg, self.replay, self.panels, self.inputs = cfg, replay, panels or [], inputs
        self.accelerator = Accelerator(cpu=cfg.device == "cpu")
        if cfg.device == "cuda" and self.accelerator.device.type != "cuda":
            raise SystemExit("--device=cuda but no CUDA device is available")
        self.device, self.out_dir = self.accelerator.device, Path(cfg.out_dir)
        self.resume_path = self.out_dir / "resume.pt"
        self.ema = copy.deepcopy(nets["G"]).requires_grad_(False)
        self.step, self.history, self.wall, self.state = 0, [], 0.0, state if state is not None else {}
        if cfg.resume and self.resume_path.exists():
            saved = load_resume(self.resume_path)
            for key, module in {**nets, **{f"opt_{k}": o for k, o in optimizers.items()}, "ema": self.ema}.items():
                module.load_state_dict(saved[key])
            self.step, self.history, self.wall = saved["step"], saved["history"], saved["wall_seconds"]
            self.state.update(saved["state"])
            self.accelerator.print(f"resumed from {self.resume_path} at step {self.step}")
        prepared = self.accelerator.prepare(*nets.values(), *optimizers.values())
        self.nets = dict(zip(nets, prepared[:len(nets)]))
        self.optimizers = dict(zip(optimizers, prepared[len(nets):]))
        self.ema.to(self.device)
        self.images_per_step = images_per_step
        self.total_steps = cfg.kimg * 1000 // images_per_step
        self.last_step = min(self.total_steps, cfg.max_steps) if cfg.max_steps is not None else self.total_steps
        self.rank, self.world = self.accelerator.process_index, self.accelerator.num_processes
        self.rng = torch.Generator()

    def kimg(self, step: int) -> float:
        return step * self.images_per_step / 1000

    def steps(self):
        """The remaining step numbers. Every random draw of a step (global RNG: dropout; `self.rng`: penalty points)
        is a function of (seed, step), so a resumed run is bit-identical to an uninterrupted one."""
        from tqdm import tqdm

        cfg, start = self.cfg, time.time()
        replay_every = max(1, self.total_steps // max(cfg.replay_frames, 1))
        progress = tqdm(range(self.step, self.last_step), initial=self.step, total=self.last_step,
                        disable=not self.accelerator.is_main_process)
        for step in progress:
            torch.manual_seed(cfg.seed * 7_919 + step)
            self.rng.manual_seed(cfg.seed * 15_485_863 + step)
            yield step
            # Warm-up (TensorFlow's ExponentialMovingAverage num_updates rule): a short run, e.g. WGAN's few G
            # steps, would otherwise ship an average still dominated by the random initial weights.
            decay = min(cfg.ema_decay, (1 + step) / (10 + step))
            update_ema(self.ema, self.accelerator.unwrap_model(self.nets["G"]), decay)
            if self.history and self.history[-1]["step"] == step:
                progress.set_postfix({k: f"{v:.3f}" for k, v in self.history[-1].items() if k.endswith("loss")})
            done = step + 1
            if self.replay and self.accelerator.is_main_process and (done % replay_every == 0
                                                                     or done == self.last_step):
                self.save_replay_frame(done)
            if done % cfg.save_every == 0 or done == self.last_step:
                self.step, elapsed = done, time.time() - start
                self.save_state(self.wall + elapsed)
        self.wall += time.time() - start
        self.step = self.last_step

    def log(self, step: int, **numbers) -> None:
        if step % 10 == 0:
            self.history.append({"step": step, "kimg": self.kimg(step + 1),
                                 **{k: float(v) for k, v in numbers.items()}})

    def exported(self) -> torch.nn.Module:
        """The EMA generator in eval mode, its BatchNorm statistics re-estimated for its own weights. With
        ema_decay 0 the export is the last iterate, whose running statistics were tracked for exactly its weights."""
        if self.cfg.ema_decay == 0:
            return copy.deepcopy(self.ema).eval().requires_grad_(False)
        return recalibrate_batchnorm(self.ema, getattr(self.cfg, "latent_dim", 0), getattr(self.cfg, "bn_batches", 16),
                                     inputs=self.inputs)

    def save_replay_frame(self, step: int) -> None:
        from demos.common import image_grid  # the same grids the app shows

        with torch.inference_mode():
            images = self.replay(self.exported()).cpu()
        (self.out_dir / "replay").mkdir(parents=True, exist_ok=True)
        image_grid(images, nrow=4).save(self.out_dir / "replay" / f"step{step:06d}.png")
        plot_history(self.history, self.out_dir / "losses.png", self.panels)

    def save_state(self, wall_seconds: float) -> None:
        if not self.accelerator.is_main_process:
            return
        unwrap = self.accelerator.unwrap_model
        save_resume(self.resume_path, {
            "step": self.step, "history": self.history, "wall_seconds": wall_seconds, "state": self.state,
            "ema": self.ema.state_dict(), **{k: unwrap(m).state_dict() for k, m in self.nets.items()},
            **{f"opt_{k}": o.state_dict() for k, o in self.optimizers.items()}})

    def finish(self, labels: tuple[str, str] = ("D(x)", "D(G(z))"), **record) -> tuple[torch.nn.Module, Path, bool]:
        """Export: (the EMA generator, its checkpoint folder, whether the run reached kimg). On the main process the
        folder gets the weights, training.json (curves, at most 400 points; `record` adds keys) and replay.png."""
        export = self.exported()
        folder = Path(self.cfg.export_dir) if self.cfg.export_dir else self.out_dir / "checkpoint"
        if self.accelerator.is_main_process:
            from PIL import Image

            save_export(export, folder)
            (self.out_dir / "history.json").write_text(json.dumps(self.history))
            frames = sorted((self.out_dir / "replay").glob("step*.png"))
            training = {"labels": labels, "history": self.history[::max(1, len(self.history) // 400)],
                        "replay_kimg": [self.kimg(int(f.stem[4:])) for f in frames], **record}
            (folder / "training.json").write_text(json.dumps(training))
            if frames:
                images = [Image.open(f) for f in frames]
                strip = Image.new(images[0].mode, (images[0].width, images[0].height * len(images)))
                for i, im in enumerate(images):
                    strip.paste(im, (0, i * im.height))
                strip.save(folder / "replay.png", optimize=True)
        return export, folder, self.step == self.total_steps

    def publish(self, folder: Path) -> None:
        """The end of every trainer: push the finished folder to --push_to_hub (if given) and say where it is."""
        if self.cfg.push_to_hub:
            print(push_folder(folder, self.cfg.push_to_hub))
        self.accelerator.print(f"exported to {folder} after {self.wall / 60:.1f} min")

    def command(self, module: str, config_cls, **fixed) -> str:
        """The command line that reproduces this run: the module plus every option that differs from its default."""
        defaults = config_cls(**fixed)
        options = [f"--{k}={v}" for k, v in fixed.items()]
        options += [f"--{k}={v}" for k, v in dataclasses.asdict(self.cfg).items()
                    if k not in fixed and k != "resume" and v != getattr(defaults, k)]
        return " ".join([f"python -m {module}", *options])


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "float16":
        raise SystemExit("usage: python -m train.common float16 CHECKPOINT_FOLDER [...]")
    for name in sys.argv[2:]:
        print(f"{name}: {store_float16(Path(name)) / 1e6:.1f} MB saved")
