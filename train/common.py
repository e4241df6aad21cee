"""What every trainer shares: config parsing, the resume file, checkpoint folders, model cards and Hub pushes."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
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
