"""Convert an official Wav2Lip / SyncNet checkpoint (github.com/Rudrabha/Wav2Lip, `.pth`) into a genzoo checkpoint
folder (config.json + model.safetensors + model card) that models.hub.load_pretrained and the Wav2Lip tab load.

    python -m train.convert_wav2lip wav2lip_gan.pth assets/checkpoints/wav2lip-official
    python -m train.convert_wav2lip lipsync_expert.pth assets/checkpoints/syncnet-official
    python -m train.convert_wav2lip wav2lip_gan.pth runs/wav2lip-official --push_to_hub=me/wav2lip-official

The file is read with torch.load(weights_only=True): tensors, numbers and dicts only, so a crafted file cannot run
code. Which network it holds (generator, expert, quality discriminator) and its width are read off the keys and the
first layer's shape. The key names are the official ones (models/wav2lip.py keeps that layout), so the mapping is
one to one; the official code feeds OpenCV's BGR images, ours RGB, so the colour channels of the first layer's
input (and of the generator's output layer) are reordered: converted(rgb) == official(bgr) for every input.

The official weights were trained on LRS2 and are for research / non-commercial use only (LRS2's licence and the
Wav2Lip repository's terms). Their card says so, and the Wav2Lip tab repeats it when they are selected.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from models import wav2lip as W
from train import common

LICENCE_NOTE = ("Converted from the official Wav2Lip release (github.com/Rudrabha/Wav2Lip), trained on LRS2: for "
                "research and non-commercial use only (the LRS2 licence and the Wav2Lip repository's terms).")

# (class, key of the first layer, its paper width (output channels at width 1))
KINDS = {
    "wav2lip": (W.Wav2Lip, "face_encoder_blocks.0.0.conv_block.0.weight", 16),
    "syncnet": (W.SyncNet, "face_encoder.0.conv_block.0.weight", 32),
    "discriminator": (W.Wav2LipDiscriminator, "face_encoder_blocks.0.0.conv_block.0.weight", 32),
}


def official_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of an official checkpoint ({"state_dict": ...} or a bare state dict), without DataParallel's
    "module." prefix."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    state = saved.get("state_dict", saved) if isinstance(saved, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SystemExit(f"{path}: not a Wav2Lip/SyncNet checkpoint (expected a dict of tensors under 'state_dict')")
    return {k.removeprefix("module."): v for k, v in state.items()}


def identify(state: dict[str, torch.Tensor]) -> tuple[str, float]:
    """(kind, width) of a state dict from its keys and first-layer shape."""
    if "face_encoder.0.conv_block.0.weight" in state:
        kind = "syncnet"
    elif "binary_pred.0.weight" in state:
        kind = "discriminator"
    elif "output_block.1.weight" in state:
        kind = "wav2lip"
    else:
        raise SystemExit("unrecognised checkpoint: none of the Wav2Lip, SyncNet_color or Wav2Lip_disc_qual layers")
    _, key, paper_channels = KINDS[kind]
    return kind, state[key].shape[0] / paper_channels


def bgr_to_rgb(state: dict[str, torch.Tensor], kind: str) -> dict[str, torch.Tensor]:
    """Reorder colour channels so the network takes (and the generator gives) RGB where the official one had BGR."""
    state = dict(state)
    first = KINDS[kind][1]
    w = state[first]
    groups = w.shape[1] // 3  # 5 stacked frames (expert), masked + reference (generator), 1 (discriminator)
    order = torch.tensor([3 * g + c for g in range(groups) for c in (2, 1, 0)])
    state[first] = w[:, order].contiguous()
    if kind == "wav2lip":  # the output 1x1 conv writes B, G, R
        for key in ("output_block.1.weight", "output_block.1.bias"):
            state[key] = state[key].flip(0).contiguous()
    return state


def convert(path: Path, folder: Path) -> torch.nn.Module:
    state = official_state_dict(Path(path))
    kind, width = identify(state)
    cls = KINDS[kind][0]
    model = cls(width=width)
    expected = model.state_dict()
    missing, unexpected = expected.keys() - state.keys(), state.keys() - expected.keys()
    # BatchNorm's num_batches_tracked is absent from checkpoints of old torch versions: the module's own 0 stands
    missing = {k for k in missing if not k.endswith("num_batches_tracked")}
    if missing or unexpected:
        raise SystemExit(f"{path}: layout differs from the official {kind}: missing {sorted(missing)[:5]}, "
                         f"unexpected {sorted(unexpected)[:5]}")
    model.load_state_dict(bgr_to_rgb(state, kind), strict=False)
    common.save_export(model.eval(), folder)
    (Path(folder) / "README.md").write_text(
        f"---\nlibrary_name: genzoo\nlicense: other\ntags:\n- wav2lip\n- {kind}\n---\n\n"
        f"# Official {kind} weights (width {width:g}), converted\n\n{LICENCE_NOTE}\n\n"
        f"- Command: `python -m train.convert_wav2lip {Path(path).name} {folder}`\n"
        f"- Conversion: the official keys one to one; colour channels reordered from BGR to RGB.\n\n"
        f"```python\nfrom models.hub import load_pretrained\nfrom models.wav2lip import {cls.__name__}\n"
        f"model = load_pretrained({cls.__name__}, {str(folder)!r})\n```\n")
    return model


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--push_to_hub=")]
    push = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--push_to_hub=")), None)
    if len(args) != 2:
        raise SystemExit("usage: python -m train.convert_wav2lip OFFICIAL.pth OUTPUT_FOLDER [--push_to_hub=user/repo]")
    common.require_hub_token(push)
    convert(Path(args[0]), Path(args[1]))
    print(f"converted into {args[1]}")
    if push:
        print(common.push_folder(Path(args[1]), push))
