"""Train the AdaIN decoder (Huang & Belongie 2017, arXiv:1703.06868) for a fixed ImageNet encoder.

Reproduce the bundled checkpoint (EfficientNet-Lite0 features; ~36 min on the idle 2-core CPU this project trains on,
estimated below; the card records the measured time):
    python -m train.adain --export_dir=assets/checkpoints/adain-efficientnet
Continue a killed run where it stopped (bit for bit): add --resume (same --out_dir).
The paper's setting, on a GPU with MS-COCO and WikiArt on disk (and a VGG-19 decoder where VGG weights resolve,
see models.style.load_encoder):
    accelerate launch -m train.adain --encoder=vgg19 --content_dir=/data/coco/train2014 --style_dir=/data/wikiart \
        --crop_size=256 --resize_side=512 --batch_size=8 --lr=1e-4 --kimg=1280 --style_weight=10 \
        --export_dir=assets/checkpoints/adain-vgg19

Objective (the paper's section 6): t = AdaIN(f(c), f(s)) at the encoder's AdaIN layer, the decoder's output g(t),
content loss ||f(g(t)) - t||^2 at that layer, style loss on the channel means and standard deviations of f(g(t)) vs
f(s) at the encoder's adain_style_layers (relu1_1 .. relu4_1 for VGG; block1 .. block4 for EfficientNet-Lite0),
total = content + style_weight * style. Adam, batch 8 pairs, as in the paper; the encoder stays frozen.

Data. Without folders: content crops of the photos packaged with scikit-image and matplotlib (PACKAGED_CONTENT:
astronaut, cat, coffee, rocket, motorcycle, camera man, clock, coins, moon, Grace Hopper, ...), each drawn with a
random scale (short side 1-2x the crop), position, horizontal flip and a mild brightness/saturation jitter; and style
images made here: procedural textures (PROCEDURAL_STYLES: stripes, plaid, Voronoi "stained glass", marbled noise,
brush strokes, dots, colour fields, each with a random palette) plus, with probability `photo_style_share`, crops of
packaged texture photos (brick, grass, gravel recoloured with a palette, the IHC slide, the retina, the Hubble deep
field, the colour wheel). Every draw is a function of (seed, step), so --resume is bit-exact. With --content_dir /
--style_dir (any image folder, read recursively), images are resized to `resize_side` on their short side and
randomly cropped, the paper's pipeline (512 / 256 there).

Scaled down from the paper, for a CPU: crops of 128 px (the decoder is fully convolutional and is used at up to 512),
32 k content crops seen (the paper: 160k iterations x 8 = 1.28 M), packaged photos and procedural styles instead of
83k COCO photos x 80k WikiArt paintings; a higher learning rate for the short run. Length is measured in images seen
(kimg = thousands of content crops). Sizing, measured on the idle 2-core VM (AMD EPYC, 2 torch threads): a step of 8
pairs at 128 px takes 0.44 s (0.1 CPU-s of it making the batch), and an 80-step run of this script 0.9 min with its
start-up and replay, so ~0.5-0.6 s per step, 13-16 images/s: the default 32 kimg (4000 steps) takes ~33-40 min. The
loss fell from 20.7 to ~9 in those 80 steps. The card records the real wall time; --kimg=N scales it linearly.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch.nn import functional as F

from models.style import (ENCODERS, STYLE_LAYERS, AdaINDecoder, adain, adain_style_loss, adain_stylize,
                          content_loss, load_encoder, transfer_losses)
from train import common
from train.data import IMAGE_EXTENSIONS


@dataclass
class Config:
    """The AdaIN decoder for one frozen encoder; every field can be overridden with --field=value."""
    encoder: str = "efficientnet-lite0"  # "efficientnet-lite0" (offline) or "vgg19" (needs its ImageNet weights)
    content_dir: str | None = None   # folder of content photos (MS-COCO in the paper); None = the packaged photos
    style_dir: str | None = None     # folder of style images (WikiArt in the paper); None = procedural + photos
    crop_size: int = 128             # training crops, pixels (the paper: 256); a multiple of 8
    resize_side: int = 256           # folder images: short side before the random crop (the paper: 512)
    photo_style_share: float = 0.25  # packaged styles: share of texture photos among the procedural ones
    batch_size: int = 8              # content-style pairs per step (the paper: 8)
    lr: float = 5e-4                 # Adam learning rate (the paper: 1e-4 for 160k steps; a short CPU run needs more)
    lr_decay: float = 5e-5           # lr / (1 + lr_decay * step), the authors' code's schedule (theirs: 5e-5)
    style_weight: float = 2.0        # lambda: total = content + lambda * style (the paper: 10 for VGG features)
    style_layers: str = ""           # style-loss layers, comma-separated ("block2,block3,block4"); "" = the encoder's
                                     # adain_style_layers (block1..block4, like the paper's relu1_1..relu4_1)
    kimg: int = 32                   # training length in thousands of content crops seen (~36 min)
    ema_decay: float = 0.995         # EMA of the decoder weights per step; 0 ships the last iterate
    seed: int = 0                    # init, crops, styles and augmentation are functions of seed and step
    out_dir: str | None = None       # None = runs/adain-<encoder short name>
    export_dir: str | None = None    # where the checkpoint folder goes; None = <out_dir>/checkpoint
    resume: bool = False             # continue from <out_dir>/resume.pt if it exists
    save_every: int = 200            # steps between resume files
    replay_frames: int = 16          # stylised grids saved over training (the checkpoint's replay)
    evaluate: bool = True            # content/style losses on the fixed evaluation pairs in the card
    max_steps: int | None = None     # stop early (smoke tests); None = run to kimg
    fake_data: bool = False          # random tensors instead of photos and styles (smoke tests)
    device: str = "auto"             # "auto" (CUDA when present), "cpu" or "cuda"
    push_to_hub: str | None = None   # Hub repo id to push the export to

    def __post_init__(self):
        if self.encoder not in ENCODERS:
            raise SystemExit(f"--encoder must be one of {', '.join(ENCODERS)}; got {self.encoder!r}")
        if self.crop_size % 8 or self.crop_size < 16:
            raise SystemExit(f"--crop_size must be a multiple of 8 and at least 16; got {self.crop_size}")
        if self.resize_side < self.crop_size:
            raise SystemExit(f"--resize_side ({self.resize_side}) must be at least --crop_size ({self.crop_size})")
        unknown = set(self.style_layer_names()) - set(STYLE_LAYERS)
        if unknown:
            raise SystemExit(f"--style_layers: unknown {sorted(unknown)}; use some of {', '.join(STYLE_LAYERS)}")
        if not 0 <= self.photo_style_share <= 1:
            raise SystemExit(f"--photo_style_share must be in [0, 1]; got {self.photo_style_share}")
        if self.out_dir is None:
            self.out_dir = f"runs/{checkpoint_name(self.encoder)}"

    def style_layer_names(self) -> tuple[str, ...]:
        names = tuple(n.strip() for n in self.style_layers.split(",") if n.strip())
        return names or ENCODERS[self.encoder].adain_style_layers


def checkpoint_name(encoder: str) -> str:
    """adain-efficientnet (the bundled one), adain-vgg19."""
    return "adain-" + encoder.split("-")[0]


# ------------------------------------------------------------------------------------------------ packaged photos
# (module, function or file): scikit-image's bundled photos (no download) and matplotlib's sample photo.
PACKAGED_CONTENT = ["astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "motorcycle_right", "camera",
                    "clock", "coins", "moon", "grace_hopper", "immunohistochemistry", "hubble_deep_field"]
PACKAGED_STYLES = ["brick", "grass", "gravel", "immunohistochemistry", "retina", "hubble_deep_field", "colorwheel"]
GREY_TEXTURES = {"brick", "grass", "gravel"}  # recoloured with a random palette when drawn as styles


def _photo_file(name: str) -> Path:
    if name == "grace_hopper":
        import matplotlib.cbook

        return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    import skimage.data

    files = {"motorcycle_left": "motorcycle_left.png", "motorcycle_right": "motorcycle_right.png",
             "immunohistochemistry": "ihc.png", "hubble_deep_field": "hubble_deep_field.jpg",
             "colorwheel": "color.png", "retina": "retina.jpg", "rocket": "rocket.jpg", "clock": "clock_motion.png"}
    return Path(skimage.data.__file__).parent / files.get(name, f"{name}.png")


@cache
def packaged_photo(name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a packaged photo (grey ones replicated)."""
    path = _photo_file(name)
    if not path.exists():
        raise SystemExit(f"packaged photo {name} not found at {path}: pip install scikit-image==0.26.0 matplotlib")
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def data_checksum(cfg: Config) -> str:
    """sha256 over the packaged photo files (the procedural styles are code: the git commit identifies them)."""
    if cfg.fake_data:
        return "n/a"
    names = ([] if cfg.content_dir else PACKAGED_CONTENT) + ([] if cfg.style_dir else PACKAGED_STYLES)
    digest = hashlib.sha256()
    for name in sorted(set(names)):
        digest.update(hashlib.sha256(_photo_file(name).read_bytes()).hexdigest().encode())
    return digest.hexdigest() if names else "n/a"


# ------------------------------------------------------------------------------------------------ procedural styles
def palette(rng: np.random.Generator, k: int | None = None) -> np.ndarray:
    """k colours (k, 3) in [0, 1]: a random base hue with analogous or complementary companions, varied value and
    saturation, so palettes look designed rather than uniform noise."""
    import colorsys

    k = k or int(rng.integers(2, 6))
    base = rng.random()
    spread = rng.choice([0.08, 0.2, 0.5])  # analogous, triadic-ish, complementary
    colours = []
    for _ in range(k):
        h = (base + spread * rng.integers(-2, 3) + 0.05 * rng.standard_normal()) % 1
        colours.append(colorsys.hsv_to_rgb(h, rng.uniform(0.25, 1.0), rng.uniform(0.15, 1.0)))
    return np.array(colours)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    return x, y


def smooth_noise(rng: np.random.Generator, size: int, cells: int, octaves: int = 4) -> np.ndarray:
    """Multi-octave value noise (size, size) in about [0, 1]: random grids upsampled bicubically and summed."""
    out = np.zeros((size, size))
    amplitude, total = 1.0, 0.0
    for o in range(octaves):
        n = max(2, cells * 2 ** o)
        grid = torch.from_numpy(rng.random((1, 1, n, n)))
        up = F.interpolate(grid, size=(size, size), mode="bicubic", align_corners=False)[0, 0].numpy()
        out += amplitude * up
        total += amplitude
        amplitude *= 0.5
    out /= total
    return (out - out.min()) / max(out.max() - out.min(), 1e-8)


def _map_palette(values: np.ndarray, colours: np.ndarray, hard: bool) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) through the palette (bands if `hard`, else a smooth gradient)."""
    k = len(colours)
    if hard:
        return colours[np.clip((values * k).astype(int), 0, k - 1)]
    pos = values * (k - 1)
    i = np.clip(np.floor(pos).astype(int), 0, max(k - 2, 0))
    t = (pos - i)[..., None]
    return colours[i] * (1 - t) + colours[np.minimum(i + 1, k - 1)] * t


def style_stripes(rng, size):
    """Straight or wavy stripes at a random angle and period."""
    x, y = _grid(size)
    angle = rng.uniform(0, math.pi)
    u = x * math.cos(angle) + y * math.sin(angle)
    warp = rng.uniform(0, 0.15) * (smooth_noise(rng, size, 2, 2) - 0.5)
    period = rng.uniform(0.02, 0.2)
    return _map_palette(((u + warp) / period) % 1.0, palette(rng), hard=rng.random() < 0.6)


def style_plaid(rng, size):
    """Tartan: stripes in two directions, averaged."""
    x, y = _grid(size)
    colours = palette(rng)
    bands = [_map_palette(((c / rng.uniform(0.03, 0.15)) % 1.0), colours, hard=True) for c in (x, y)]
    return 0.5 * bands[0] + 0.5 * bands[1]


def style_cells(rng, size):
    """Voronoi cells ("stained glass"), a palette colour each, with dark leading between them."""
    n = int(rng.integers(12, 200))
    points = rng.random((n, 2))
    x, y = _grid(size)
    d = (x[..., None] - points[:, 0]) ** 2 + (y[..., None] - points[:, 1]) ** 2  # (S, S, n)
    order = np.sort(d, axis=-1)
    nearest = d.argmin(-1)
    colours = palette(rng)
    colours = colours[rng.integers(0, len(colours), n)]
    image = colours[nearest]
    edge = (np.sqrt(order[..., 1]) - np.sqrt(order[..., 0])) < rng.uniform(0.003, 0.02)
    image[edge] = image[edge] * rng.uniform(0.0, 0.3)
    return image


def style_marble(rng, size):
    """Marbled / turbulent noise: sin(frequency * coordinate + turbulence) through a palette."""
    x, y = _grid(size)
    noise = smooth_noise(rng, size, int(rng.integers(2, 8)))
    freq = rng.uniform(3, 20)
    angle = rng.uniform(0, math.pi)
    values = 0.5 + 0.5 * np.sin(freq * (x * math.cos(angle) + y * math.sin(angle)) * 2 * math.pi
                                + rng.uniform(2, 12) * noise)
    return _map_palette(values, palette(rng), hard=rng.random() < 0.3)


def style_strokes(rng, size):
    """Brush strokes: many short thick lines along a smooth orientation field, palette colours."""
    colours = (palette(rng) * 255).astype(int)
    image = Image.new("RGB", (size, size), tuple(int(c) for c in colours[0]))
    draw = ImageDraw.Draw(image)
    field = smooth_noise(rng, size, 2, 2) * 2 * math.pi * rng.uniform(0.5, 2)
    length, width = rng.uniform(0.03, 0.15) * size, int(rng.integers(2, max(3, size // 16)))
    for _ in range(int(rng.integers(150, 900))):
        cx, cy = rng.random(2) * size
        a = field[int(cy) % size, int(cx) % size] + 0.2 * rng.standard_normal()
        dx, dy = math.cos(a) * length / 2, math.sin(a) * length / 2
        colour = colours[rng.integers(len(colours))] + rng.integers(-25, 26, 3)
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=tuple(int(c) for c in np.clip(colour, 0, 255)),
                  width=width)
    return np.asarray(image, dtype=np.float64) / 255


def style_dots(rng, size):
    """Dots and circles of random sizes (pointillism, halftone) on a palette ground."""
    colours = (palette(rng) * 255).astype(int)
    image = Image.new("RGB", (size, size), tuple(int(c) for c in colours[0]))
    draw = ImageDraw.Draw(image)
    radius = rng.uniform(0.005, 0.06) * size
    for _ in range(int(rng.integers(100, 1500))):
        cx, cy = rng.random(2) * size
        r = radius * rng.uniform(0.5, 1.5)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(int(c) for c in colours[rng.integers(len(colours))]))
    return np.asarray(image, dtype=np.float64) / 255


def style_fields(rng, size):
    """Colour fields: a few soft-edged rectangles over a ground, with grain (a Rothko-like composition)."""
    colours = palette(rng)
    x, y = _grid(size)
    image = np.broadcast_to(colours[0], (size, size, 3)).copy()
    for c in colours[1:]:
        x0, y0 = rng.uniform(-0.2, 0.7, 2)
        w, h = rng.uniform(0.2, 0.8, 2)
        soft = rng.uniform(0.005, 0.05)
        inside = (1 / (1 + np.exp(-(x - x0) / soft)) * 1 / (1 + np.exp((x - x0 - w) / soft))
                  * 1 / (1 + np.exp(-(y - y0) / soft)) * 1 / (1 + np.exp((y - y0 - h) / soft)))[..., None]
        image = image * (1 - inside) + c * inside
    return image + rng.uniform(0, 0.08) * (rng.random((size, size, 1)) - 0.5)


PROCEDURAL_STYLES = {"stripes": style_stripes, "plaid": style_plaid, "cells": style_cells, "marble": style_marble,
                     "strokes": style_strokes, "dots": style_dots, "fields": style_fields}


def procedural_style(seed: int, size: int, kind: str | None = None) -> torch.Tensor:
    """One procedural style image (3, size, size) in [-1, 1], a pure function of (seed, size, kind); kind None = one
    of PROCEDURAL_STYLES chosen by the seed."""
    rng = np.random.default_rng(seed)
    kind = kind or list(PROCEDURAL_STYLES)[int(rng.integers(len(PROCEDURAL_STYLES)))]
    image = np.clip(PROCEDURAL_STYLES[kind](rng, size), 0, 1)
    return torch.from_numpy(image).permute(2, 0, 1).float() * 2 - 1


# ------------------------------------------------------------------------------------------------ crops
def random_crop(image: np.ndarray, size: int, rng: np.random.Generator, scale: tuple[float, float] = (1.0, 2.0),
                flip: bool = True, jitter: float = 0.0) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, size, size) in [-1, 1]: resized so the short side is size * U(scale), a random crop,
    a random horizontal flip, and a brightness / saturation jitter of +-`jitter`."""
    h, w = image.shape[:2]
    region = min(h, w) / rng.uniform(*scale)  # the crop's side in the photo's pixels: resize only what is kept
    left, top = rng.uniform(0, w - region), rng.uniform(0, h - region)
    im = Image.fromarray(image).resize((size, size), Image.BICUBIC, box=(left, top, left + region, top + region))
    x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255)
    x = x.permute(2, 0, 1)
    if flip and rng.random() < 0.5:
        x = x.flip(-1)
    if jitter:
        grey = x.mean(0, keepdim=True)
        x = (grey + (x - grey) * (1 + rng.uniform(-jitter, jitter))) * (1 + rng.uniform(-jitter, jitter))
    return x.clamp(0, 1) * 2 - 1


def folder_files(root: str) -> list[Path]:
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise SystemExit(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {root}")
    return files


def folder_crop(path: Path, cfg: Config, rng: np.random.Generator) -> torch.Tensor:
    """The paper's pipeline: short side resized to resize_side, a random crop_size crop."""
    with Image.open(path) as im:
        array = np.asarray(im.convert("RGB"))
    scale = cfg.resize_side / cfg.crop_size
    return random_crop(array, cfg.crop_size, rng, scale=(scale, scale), flip=False)


class PairSampler:
    """Content and style batches for step n: a pure function of (seed, step), so a resumed run sees the same data."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.content_files = folder_files(cfg.content_dir) if cfg.content_dir else None
        self.style_files = folder_files(cfg.style_dir) if cfg.style_dir else None

    def content(self, rng: np.random.Generator) -> torch.Tensor:
        if self.content_files:
            return folder_crop(self.content_files[int(rng.integers(len(self.content_files)))], self.cfg, rng)
        name = PACKAGED_CONTENT[int(rng.integers(len(PACKAGED_CONTENT)))]
        return random_crop(packaged_photo(name), self.cfg.crop_size, rng, jitter=0.15)

    def style(self, rng: np.random.Generator) -> torch.Tensor:
        size = self.cfg.crop_size
        if self.style_files:
            return folder_crop(self.style_files[int(rng.integers(len(self.style_files)))], self.cfg, rng)
        if rng.random() < self.cfg.photo_style_share:
            name = PACKAGED_STYLES[int(rng.integers(len(PACKAGED_STYLES)))]
            x = random_crop(packaged_photo(name), size, rng, scale=(1.0, 3.0))
            if name in GREY_TEXTURES:  # grey texture photo -> a palette's colours along its luminance
                colours = torch.from_numpy(palette(rng)).float()
                v = ((x.mean(0) + 1) / 2).numpy()
                x = torch.from_numpy(_map_palette(v, colours.numpy(), hard=False)).permute(2, 0, 1).float() * 2 - 1
            return x
        return procedural_style(int(rng.integers(2**62)), size)

    def batch(self, seed: int, step: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([seed, step])
        if self.cfg.fake_data:
            g = torch.Generator().manual_seed(int(rng.integers(2**62)))
            return tuple(torch.rand(n, 3, self.cfg.crop_size, self.cfg.crop_size, generator=g) * 2 - 1
                         for _ in range(2))
        return (torch.stack([self.content(rng) for _ in range(n)]), torch.stack([self.style(rng) for _ in range(n)]))


# ------------------------------------------------------------------------------------------------ evaluation
EVAL_CONTENT = ["chelsea", "coffee", "astronaut", "motorcycle_left"]
EVAL_STYLES = [("strokes", 11), ("cells", 12), ("marble", 13), ("dots", 14)]  # (kind, seed) procedural styles
EVAL_SIZE = 256


def centre_square(image: np.ndarray, size: int) -> torch.Tensor:
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    im = Image.fromarray(image[top:top + side, left:left + side]).resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.asarray(im, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1).contiguous()


def evaluation_pairs(size: int = EVAL_SIZE) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The fixed content photos (centre squares) and procedural styles of the card's numbers and bench/style.py."""
    contents = [centre_square(packaged_photo(n), size)[None] for n in EVAL_CONTENT]
    styles = [procedural_style(seed, size, kind)[None] for kind, seed in EVAL_STYLES]
    return contents, styles


EVAL_PROTOCOL = (f"{len(EVAL_CONTENT)} packaged content photos ({', '.join(EVAL_CONTENT)}; centre squares) x "
                 f"{len(EVAL_STYLES)} procedural styles ({', '.join(f'{k} seed {s}' for k, s in EVAL_STYLES)}), "
                 f"{EVAL_SIZE} px, alpha 1; losses under the encoder (models.style.transfer_losses): content = MSE at "
                 "its content layer, style_gram = Gatys' Gram loss over block1..5, style_meanstd = AdaIN's mean/std "
                 "loss over its AdaIN style layers; floor = the content photo itself as the output")


@torch.no_grad()
def evaluate(decoder: AdaINDecoder, encoder, device) -> dict:
    """Mean losses of the decoder's stylisations over the fixed pairs, and the same for the content image returned
    unchanged (the floor a stylisation must beat on the style losses)."""
    contents, styles = evaluation_pairs()
    sums = {"content": 0.0, "style_gram": 0.0, "style_meanstd": 0.0}
    floor = dict(sums)
    n = 0
    for c in contents:
        for s in styles:
            c_, s_ = c.to(device), s.to(device)
            out = adain_stylize(encoder, decoder, c_, [s_])
            for key, value in transfer_losses(encoder, out, c_, [s_]).items():
                sums[key] += value
            for key, value in transfer_losses(encoder, c_, c_, [s_]).items():
                floor[key] += value
            n += 1
    return {"protocol": EVAL_PROTOCOL, "values": {k: v / n for k, v in sums.items()},
            "floor": {k: v / n for k, v in floor.items()}}


# ------------------------------------------------------------------------------------------------ training
REPLAY_SIZE = 64
PANELS = [[("loss", "total"), ("content_loss", "content")], [("style_loss", "style (mean/std)")]]


def replay_function(cfg: Config, encoder):
    """16 tiles: 4 fixed contents, 4 fixed styles, then content i in style i and in style i + 1 (64 px, or the crop
    size if smaller)."""
    size = min(REPLAY_SIZE, cfg.crop_size)
    contents, styles = evaluation_pairs(size) if not cfg.fake_data else ([], [])
    if cfg.fake_data:
        g = torch.Generator().manual_seed(cfg.seed)
        contents = [torch.rand(1, 3, size, size, generator=g) * 2 - 1 for _ in range(4)]
        styles = [torch.rand(1, 3, size, size, generator=g) * 2 - 1 for _ in range(4)]

    def replay(decoder):
        device = next(decoder.parameters()).device
        outs = [adain_stylize(encoder, decoder, contents[i].to(device), [styles[(i + k) % 4].to(device)])
                for k in (0, 1) for i in range(4)]
        return torch.cat([torch.cat(contents).to(device), torch.cat(styles).to(device), *outs])
    return replay


def main(cfg: Config) -> AdaINDecoder:
    torch.manual_seed(cfg.seed)
    decoder = AdaINDecoder(cfg.encoder)
    optimizer = torch.optim.Adam(decoder.parameters(), cfg.lr)
    scheduler_lr = lambda step: cfg.lr / (1 + cfg.lr_decay * step)  # noqa: E731 - the authors' adjust_learning_rate
    encoder = load_encoder(cfg.encoder)
    sampler = PairSampler(cfg)
    run = common.TrainingRun(cfg, {"G": decoder}, {"G": optimizer}, cfg.batch_size, panels=PANELS,
                             replay=replay_function(cfg, encoder))
    encoder.to(run.device)
    spec = ENCODERS[cfg.encoder]
    layer, style_layers = spec.adain_layer, cfg.style_layer_names()
    wanted = tuple(dict.fromkeys((*style_layers, layer)))
    net = run.nets["G"]
    per_process = cfg.batch_size // run.world
    for step in run.steps():
        content, style = sampler.batch(cfg.seed, step, cfg.batch_size)
        sl = slice(run.rank * per_process, (run.rank + 1) * per_process)
        content, style = content[sl].to(run.device), style[sl].to(run.device)
        with torch.no_grad():
            f_s = encoder(style, wanted)
            t = adain(encoder(content, [layer])[layer], f_s[layer])  # the AdaIN target, (B, C, h, w)
        f_g = encoder(net(t), wanted)
        loss_c = content_loss(f_g[layer], t)
        loss_s = adain_style_loss(f_g, f_s, style_layers)
        loss = loss_c + cfg.style_weight * loss_s
        for group in run.optimizers["G"].param_groups:
            group["lr"] = scheduler_lr(step)
        run.optimizers["G"].zero_grad(set_to_none=True)
        run.accelerator.backward(loss)
        run.optimizers["G"].step()
        run.log(step, loss=loss.item(), content_loss=loss_c.item(), style_loss=loss_s.item())
    export, folder, complete = run.finish(("total", "content"), encoder=cfg.encoder)
    if run.accelerator.is_main_process:
        metrics = None
        if cfg.evaluate and not cfg.fake_data:
            from train.evaluate import save_metrics

            metrics = evaluate(export, encoder, run.device)
            save_metrics(metrics, folder)
            v, f = metrics["values"], metrics["floor"]
            print(f"evaluation: content {v['content']:.4f}, style mean/std {v['style_meanstd']:.4f} (content image "
                  f"as output: {f['style_meanstd']:.4f}), Gram {v['style_gram']:.4f} ({f['style_gram']:.4f})")
        write_card(cfg, run, folder, metrics, complete)
        run.publish(folder)
    return export


def write_card(cfg: Config, run, folder: Path, metrics: dict | None, complete: bool) -> None:
    spec = ENCODERS[cfg.encoder]
    data = (f"content: {cfg.content_dir or 'packaged photos (' + ', '.join(PACKAGED_CONTENT) + ')'}; styles: "
            + (cfg.style_dir or "procedural (" + ", ".join(PROCEDURAL_STYLES) + f") and, {cfg.photo_style_share:.0%}"
               " of them, packaged texture photos (" + ", ".join(PACKAGED_STYLES) + ")"))
    usage = ("from models.hub import load_pretrained\n"
             "from models.style import AdaINDecoder, adain_stylize, load_encoder\n"
             f'decoder = load_pretrained(AdaINDecoder, "{folder.name}", device="cpu", family="adain")\n'
             "encoder = load_encoder(decoder.encoder_name)\n"
             "image = adain_stylize(encoder, decoder, content, [style], alpha=1.0)  # (1, 3, H, W) in [-1, 1]")
    common.write_card(
        folder, title=f"AdaIN decoder for {spec.title} features", tags=["adain", "style-transfer", "genzoo"],
        summary=(f"The decoder of Huang & Belongie's AdaIN (arXiv:1703.06868) for the frozen {spec.title} encoder "
                 f"({spec.weights}); AdaIN at {spec.adain_layer} ({spec.native[spec.adain_layer]}), style loss on "
                 f"{', '.join(cfg.style_layer_names())}. Trained on a CPU; see models/style.py and train/adain.py."),
        command=run.command("train.adain", Config), config=cfg,
        data=data if not cfg.fake_data else "random tensors", data_checksum=data_checksum(cfg),
        wall_seconds=run.wall, metrics=metrics, usage=usage,
        notes=(f"Trained for {run.step} steps ({run.kimg(run.step):.1f} kimg of {cfg.crop_size}-px crops, batch "
               f"{cfg.batch_size}{'' if complete else ', stopped early'}), Adam lr {cfg.lr} with the authors' decay "
               f"{cfg.lr_decay}, style weight {cfg.style_weight}; the shipped weights are an EMA (decay "
               f"{cfg.ema_decay}); {sum(p.numel() for p in run.ema.parameters()) / 1e6:.2f} M parameters. The paper "
               "trains on MS-COCO x WikiArt for 160k steps of 8 pairs: this decoder saw packaged photos and "
               "procedural styles for a CPU budget, so its textures are simpler and it leaves more of the content's "
               "colour than the paper's."))


if __name__ == "__main__":
    main(common.parse_config(Config))
