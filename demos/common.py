"""The few helpers every tab needs: limits, seeds, tensor -> PIL, grids, animations, input checks."""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageDraw

# Every input is bounded by one of these; the messages quote them. Enforced server-side, whatever the UI allows.
MAX_SEED = 2**31 - 1
MAX_SAMPLES = 64             # images per request
MAX_INTERPOLATION_STEPS = 32  # frames in an interpolation strip / animation
MAX_ARITHMETIC_PICKS = 8     # samples averaged per term of A - B + C
MAX_UPLOAD_BYTES = 20 * 2**20  # one uploaded file; gradio refuses larger ones before any tab sees them
MAX_UPLOAD_PIXELS = 4096 ** 2  # an uploaded image's width x height; larger ones are refused before decoding
UPLOAD_IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")  # what PIL may decode from an upload
TEMP_FOLDER = "genzoo-outputs"  # under the system's temporary folder: GIFs and plots the app returns
TEMP_MAX_AGE_S = 15 * 60       # ... deleted once older than this (gradio serves its own cached copy meanwhile)
DISPLAY_SCALE = 4            # 28-px digits are shown 4x larger (nearest neighbour: every pixel stays visible)


def gr_error(message: str) -> Exception:
    """A gr.Error when gradio is importable (the app), a ValueError otherwise (scripts, tests of pure functions)."""
    try:
        import gradio as gr

        return gr.Error(message)
    except ImportError:  # pragma: no cover - gradio is a requirement of the app
        return ValueError(message)


def check_int(value, name: str, low: int, high: int) -> int:
    """An integer in [low, high] from whatever a client sent (float, str, None), or a clear error."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise gr_error(f"{name} must be a whole number between {low} and {high}; got {value!r}") from None
    if not math.isfinite(number) or number != int(number) or not low <= number <= high:
        raise gr_error(f"{name} must be a whole number between {low} and {high}; got {value!r}")
    return int(number)


def check_float(value, name: str, low: float, high: float) -> float:
    """A finite number in [low, high] from whatever a client sent, or a clear error (NaN and inf are refused)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        raise gr_error(f"{name} must be a number between {low} and {high}; got {value!r}")
    return number


def check_seed(value, name: str = "Seed") -> int:
    return check_int(value, name, 0, MAX_SEED)


def latents(seed: int, n: int, latent_dim: int) -> torch.Tensor:
    """The first n of MAX_SAMPLES latents for `seed`, from a per-request generator (never the global RNG).

    Always drawing MAX_SAMPLES makes sample i of a seed the same whatever the count asked for, so a sample seen in a
    grid can be picked again by (seed, index).
    """
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(MAX_SAMPLES, latent_dim, generator=generator)[:n]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) in [-1, 1] -> (B, H, W, C) uint8."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def to_pil(image: torch.Tensor, scale: int = 1) -> Image.Image:
    """One (C, H, W) image in [-1, 1] -> PIL, optionally enlarged with nearest neighbour."""
    array = to_uint8(image[None])[0]
    pil = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    return pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST) if scale > 1 else pil


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2, scale: int = 1,
               labels: list[str] | None = None) -> Image.Image:
    """(B, C, H, W) in [-1, 1] -> one PIL grid, `nrow` images per row, optional small labels in the corners."""
    b, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(b))
    rows = math.ceil(b / nrow)
    array = to_uint8(images)
    canvas = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), 40, dtype=np.uint8)
    for i in range(b):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        canvas[y:y + h, x:x + w] = array[i]
    grid = Image.fromarray(canvas[..., 0] if c == 1 else canvas)
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    if labels:
        grid = grid.convert("RGB")
        draw = ImageDraw.Draw(grid)
        for i, text in enumerate(labels[:b]):
            r, col = divmod(i, nrow)
            x, y = (padding + col * (w + padding)) * scale + 2, (padding + r * (h + padding)) * scale + 1
            draw.text((x, y), text, fill=(255, 200, 0))
    return grid


def caption(image: Image.Image, text: str) -> Image.Image:
    """`image` with a caption bar above it (a gallery's captions are not part of a downloaded image)."""
    out = Image.new("RGB", (image.width, image.height + 14), (40, 40, 40))
    out.paste(image.convert("RGB"), (0, 14))
    ImageDraw.Draw(out).text((3, 1), text, fill=(255, 200, 0))
    return out


def temporary_file(suffix: str) -> str:
    """A fresh path in genzoo's own temporary folder for a file the app returns (gradio copies it into its cache and
    serves the copy). Files older than TEMP_MAX_AGE_S are deleted on every call, so a long-running Space does not
    fill its disk with GIFs and plots; the name is random, never derived from anything a user sent."""
    folder = Path(tempfile.gettempdir()) / TEMP_FOLDER
    folder.mkdir(exist_ok=True)
    now = time.time()
    for old in folder.iterdir():
        try:
            if now - old.stat().st_mtime > TEMP_MAX_AGE_S:
                old.unlink()
        except OSError:  # another request removed it first
            pass
    handle = tempfile.NamedTemporaryFile(suffix=suffix, prefix="genzoo-", dir=folder, delete=False)
    handle.close()
    return handle.name


def save_animation(frames: list[Image.Image], duration_ms: int = 80, boomerang: bool = True) -> str:
    """Frames -> an animated GIF in a temporary file (see temporary_file)."""
    if boomerang:
        frames = frames + frames[-2:0:-1]  # there and back, so the loop has no jump
    path = temporary_file(".gif")
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return path


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (White 2016, "Sampling Generative Networks"): stays on the Gaussian's shell, where
    linear interpolation would pass through the low-norm middle that G never saw."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    t = t[:, None]
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def parse_indices(text, name: str, count: int) -> list[int]:
    """'3, 7 12' -> [3, 7, 12]: sample numbers from a grid of `count`, at most MAX_ARITHMETIC_PICKS of them."""
    if not isinstance(text, str) or not text.strip():
        raise gr_error(f"{name}: type one or more sample numbers from the grid (0 to {count - 1}), e.g. '3, 7'")
    parts = text.replace(",", " ").split()
    if len(parts) > MAX_ARITHMETIC_PICKS:
        raise gr_error(f"{name}: at most {MAX_ARITHMETIC_PICKS} samples per term; got {len(parts)}")
    indices = []
    for part in parts:
        if not part.isdigit() or int(part) >= count:
            raise gr_error(f"{name}: {part[:20]!r} is not a sample number of the grid; use numbers 0 to {count - 1}")
        indices.append(int(part))
    return indices


def open_upload(value) -> Image.Image:
    """What an image input delivered -> an RGBA PIL image, or a gr.Error that says what is allowed.

    Accepts PIL images, numpy arrays and Sketchpad/ImageEditor dicts (their composite). Files never reach this far:
    demos.uploads' components check them before gradio decodes them."""
    if isinstance(value, dict):  # gr.Sketchpad / ImageEditor value: the composite of background and strokes
        value = value.get("composite") or value.get("background")
    if value is None:
        raise gr_error("Draw a digit or upload an image (PNG or JPEG) first")
    if isinstance(value, np.ndarray):
        value = Image.fromarray(value)
    if not isinstance(value, Image.Image):
        raise gr_error(f"Expected an image (PNG or JPEG); got {type(value).__name__}")
    if value.width * value.height > MAX_UPLOAD_PIXELS:
        raise gr_error(f"Image too large: {value.width}x{value.height}; at most {MAX_UPLOAD_PIXELS:,} pixels "
                       f"(e.g. 4096x4096)")
    if value.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit / float grey: PIL has no direct RGBA conversion
        grey = np.nan_to_num(np.asarray(value, dtype=np.float64))
        value = Image.fromarray((grey * 255 / max(grey.max(), 1)).clip(0, 255).astype(np.uint8))
    return value.convert("RGBA")


ALLOWED_UPLOAD = (f"upload a {', '.join(UPLOAD_IMAGE_FORMATS)} image of at most {MAX_UPLOAD_BYTES // 2**20} MB and "
                  f"{MAX_UPLOAD_PIXELS:,} pixels")


def check_image_file(path) -> None:
    """A gr.Error unless the file at `path` is non-empty, at most MAX_UPLOAD_BYTES, of an UPLOAD_IMAGE_FORMATS format
    and at most MAX_UPLOAD_PIXELS by its header: all decided before a single pixel is decoded."""
    path = Path(path)
    size = path.stat().st_size if path.is_file() else 0
    if size == 0:
        raise gr_error(f"The uploaded file is empty; {ALLOWED_UPLOAD}")
    if size > MAX_UPLOAD_BYTES:
        raise gr_error(f"The uploaded file is {size / 2**20:.1f} MB; {ALLOWED_UPLOAD}")
    try:
        with Image.open(path) as image:  # reads the header only
            fmt, (width, height) = image.format, image.size
    except Exception as error:  # whatever a decoder raises on hostile bytes: the file failed, not the app
        raise gr_error(f"Not an image file ({type(error).__name__}); {ALLOWED_UPLOAD}") from None
    if fmt not in UPLOAD_IMAGE_FORMATS:
        raise gr_error(f"{fmt} files are not accepted; {ALLOWED_UPLOAD}")
    if width * height > MAX_UPLOAD_PIXELS or min(width, height) < 1:
        raise gr_error(f"An image of {width}x{height} pixels is not accepted; {ALLOWED_UPLOAD}")


def digit_from_image(image, size: int = 28, box: int | None = None) -> torch.Tensor:
    """A drawing or upload of any size and mode -> (1, 1, size, size) intensities in [0, 1], MNIST's way round.

    Transparent areas count as paper; dark ink on light paper (judged by the border) is inverted to MNIST's light ink
    on black; an image that is not already size x size has its ink's bounding box scaled into a `box`-pixel square
    (default: 20 px per 28, as MNIST's digits were made) and centred. Takes whatever open_upload takes; a blank image
    gets a gr.Error."""
    rgba = open_upload(image)
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    grey = np.asarray(Image.alpha_composite(paper, rgba).convert("L"), dtype=np.float32) / 255
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 0.5:  # dark ink on light paper -> MNIST's light ink on black
        grey = 1 - grey
    if grey.shape != (size, size):
        ink = np.argwhere(grey > 0.15)
        if len(ink) == 0:
            raise gr_error("The image is blank: draw or upload a digit (light strokes on dark, or dark on light)")
        (top, left), (bottom, right) = ink.min(0), ink.max(0) + 1
        crop = Image.fromarray((grey[top:bottom, left:right] * 255).astype(np.uint8))
        box = box or round(20 * size / 28)
        scale = box / max(crop.size)
        crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))), Image.LANCZOS)
        canvas = Image.new("L", (size, size), 0)
        canvas.paste(crop, ((size - crop.width) // 2, (size - crop.height) // 2))
        grey = np.asarray(canvas, dtype=np.float32) / 255
    elif grey.max() <= 0.15:
        raise gr_error("The image is blank: draw or upload a digit (light strokes on dark, or dark on light)")
    return torch.from_numpy(grey.copy())[None, None]


def resolvable(names, family: str) -> tuple[str, ...]:
    """The checkpoints among `names` that resolve (Hub, HF cache or bundled), in their order; `family` is the trainer
    that makes them (for models.hub's error). Tabs cache the answer: it is asked once per process."""
    from models.hub import checkpoint_folder

    found = []
    for name in names:
        try:
            checkpoint_folder(name, family)
            found.append(name)
        except FileNotFoundError:
            pass
    return tuple(found)


@dataclass(frozen=True)
class Sampler:
    """How the Compare tab and the leaderboard draw from one checkpoint. Each tab's `samplers()` returns
    {checkpoint name: Sampler} for the checkpoints that resolve, so those two never need to know a family's API."""
    sample: Callable[[int, int], torch.Tensor]  # (seed, n <= MAX_SAMPLES) -> (n, C, H, W) in [-1, 1], on the CPU
    title: str                                  # what the model is, for captions ("WGAN-GP", "VAE, 32-d latent")
    family: str                                 # the tab it belongs to, e.g. "GAN objectives"
    dataset: str = "mnist"                      # what it was trained on: one Compare row shows one dataset
    unconditional: bool = True                  # False: sample i is asked for class i % 10 (or its caption/code)
    slow: bool = False                          # seconds per image (PixelCNN++): Compare leaves it out, the
                                                # leaderboard times one image instead of 16


def replay_frames(folder: Path) -> list[tuple[Image.Image, float]]:
    """The sample grids a trainer saved over training (replay.png, one grid per row) with the kimg of each
    (training.json's replay_kimg); [] where the checkpoint has none."""
    folder = Path(folder)
    if not (folder / "replay.png").exists() or not (folder / "training.json").exists():
        return []
    kimg = json.loads((folder / "training.json").read_text()).get("replay_kimg") or []
    if not kimg:
        return []
    strip = Image.open(folder / "replay.png")
    h = strip.height // len(kimg)
    return [(strip.crop((0, i * h, strip.width, (i + 1) * h)), k) for i, k in enumerate(kimg)]
