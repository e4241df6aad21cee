"""DCGAN: an all-convolutional generator and discriminator.

Paper: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional Generative
Adversarial Networks", 2015 (arXiv:1511.06434).

What the paper prescribes and this file keeps:
- no pooling and no fully connected hidden layers: fractionally strided convolutions upsample in G, strided
  convolutions downsample in D; z is "projected and reshaped" by a transposed convolution from 1x1;
- BatchNorm in both networks, except G's output layer and D's input layer;
- ReLU in G with a tanh output, LeakyReLU(0.2) in D;
- weights initialised from N(0, 0.02) (BatchNorm scales from N(1, 0.02)).

Scaled down: the paper's 64x64 LSUN/faces network starts from 4x4x1024. Here the start resolution is chosen so the
image size is reached by doublings (28 = 7*2*2, 32 = 4*2*2*2, 64 = 4*2^4), and `hidden_channels` is the width at
the last hidden resolution, doubling at each halving (the paper's model is `hidden_channels=128, image_size=64`).
The bundled MNIST model uses 32 px (MNIST padded by 2) and width 64 in both networks (G 4x4x256 -> 8x8x128
-> 16x16x64 -> 32x32x1, 1.1 M parameters); training settings are in train/dcgan.py.
"""

from __future__ import annotations

import functools

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

HUB_KWARGS = dict(library_name="genzoo", tags=["gan", "dcgan", "unconditional-image-generation"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")


def doublings(image_size: int) -> tuple[int, int]:
    """(start resolution <= 7, number of x2 steps) with start * 2**steps == image_size."""
    start, steps = image_size, 0
    while start > 7 and start % 2 == 0:
        start, steps = start // 2, steps + 1
    if start > 7 or steps < 1:
        raise ValueError(f"image_size must be (a number <= 7) * 2**k with k >= 1, e.g. 28, 32, 64; got {image_size}")
    return start, steps


def dcgan_init(module: nn.Module) -> None:
    """The paper's initialisation: every weight from N(0, 0.02); BatchNorm scale from N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def gaussian_to_uniform(z: torch.Tensor) -> torch.Tensor:
    """erf(z / sqrt 2) = 2 Phi(z) - 1, which is exactly U(-1, 1) for z ~ N(0, 1): a generator can see the uniform
    noise of the DCGAN and InfoGAN papers while every genzoo sampler keeps drawing z ~ N(0, I) (seeds, slerp and the
    kit's protocol latents stay as they are)."""
    return torch.special.erf(z * 0.5**0.5)


class Generator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """z (B, latent_dim) -> image (B, image_channels, image_size, image_size) in [-1, 1]."""

    def __init__(
        self,
        latent_dim: int = 100,      # z size; "nz" in the paper's code; samplers draw z ~ N(0, I)
        hidden_channels: int = 64,  # width at the last hidden resolution ("ngf"); doubles at each halving
        image_channels: int = 1,    # 1 for MNIST-like data, 3 for RGB
        image_size: int = 28,       # output side in pixels: 28, 32, 64, ...
        uniform_noise: bool = False,  # G sees U(-1, 1) noise, the paper's Z (gaussian_to_uniform of the sampled z)
    ):
        super().__init__()
        self.latent_dim, self.image_channels, self.image_size = latent_dim, image_channels, image_size
        self.uniform_noise = uniform_noise
        start, steps = doublings(image_size)
        channels = hidden_channels * 2 ** (steps - 1)
        # "Project and reshape" as a transposed conv from 1x1: (B, latent_dim, 1, 1) -> (B, C, start, start)
        layers = [nn.ConvTranspose2d(latent_dim, channels, start, 1, 0, bias=False), nn.BatchNorm2d(channels), nn.ReLU(True)]
        for _ in range(steps - 1):
            # (B, C, s, s) -> (B, C/2, 2s, 2s); no bias: BatchNorm's shift replaces it
            layers += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(channels // 2), nn.ReLU(True)]
            channels //= 2
        # Output layer: no BatchNorm (the paper: it caused sample oscillation), tanh to [-1, 1]
        layers += [nn.ConvTranspose2d(channels, image_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.uniform_noise:
            z = gaussian_to_uniform(z)
        return self.net(z[:, :, None, None])  # (B, latent_dim) -> (B, image_channels, image_size, image_size)

    def fuse(self) -> "FusedGenerator":
        """An inference-only copy with BatchNorm folded and GEMM + col2im layers (see FusedGenerator)."""
        if self.training:
            raise RuntimeError("fuse() uses BatchNorm's running statistics: call .eval() first")
        return FusedGenerator(self)


class Discriminator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """image (B, image_channels, image_size, image_size) -> real/fake logit (B,). The mirror image of Generator."""

    def __init__(
        self,
        hidden_channels: int = 64,  # width at the first (highest) resolution ("ndf"); doubles at each halving
        image_channels: int = 1,    # 1 for MNIST-like data, 3 for RGB
        image_size: int = 28,       # input side in pixels
    ):
        super().__init__()
        start, steps = doublings(image_size)
        channels = hidden_channels
        # Input layer: no BatchNorm (the paper), so D sees the raw statistics of real and fake batches
        layers = [nn.Conv2d(image_channels, channels, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(steps - 1):
            # (B, C, 2s, 2s) -> (B, 2C, s, s)
            layers += [nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(channels * 2), nn.LeakyReLU(0.2, True)]
            channels *= 2
        layers += [nn.Conv2d(channels, 1, start, 1, 0)]  # (B, C, start, start) -> (B, 1, 1, 1): one logit
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def d_loss_nonsaturating(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                         real_target: float = 1.0) -> torch.Tensor:
    """Goodfellow et al. 2014's discriminator loss: -log D(x) - log(1 - D(G(z))), on logits for stability.

    real_target < 1 is one-sided label smoothing (Salimans et al. 2016, sec. 3.4): D is asked for e.g. 0.9 on real
    images, so it stops pushing their logits to infinity; fakes keep target 0, because smoothing them too would move
    the optimal D towards wherever G already puts mass.
    """
    real = real_target * nn.functional.softplus(-real_logits) + (1 - real_target) * nn.functional.softplus(real_logits)
    return real.mean() + nn.functional.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss -log D(G(z)) that DCGAN trains with (strong gradients early on)."""
    return nn.functional.softplus(-fake_logits).mean()


class FusedGenerator(nn.Module):
    """Inference-only form of a trained `Generator`, with the same outputs up to float rounding.

    A transposed convolution *is* a GEMM (every input pixel times the kernel gives that pixel's k x k output patch)
    followed by col2im (each output pixel sums the patch entries that land on it). Three exact rewrites let the CPU
    spend its time in one matrix multiply per layer, without PyTorch's slow `F.fold`:
    - each eval-mode BatchNorm is folded into the transposed convolution before it (scale the weights, add a bias);
    - activations stay channels-last and flat, (B*H*W, C), and each layer's GEMM writes a table with one row of C_out
      values per (input pixel, tap);
    - col2im is one `embedding_bag` (sum mode) over that table: output pixel (oy, ox) is the bag of the rows with
      oy = stride*i + ky - padding (and the same in x), so crop and patch sum are one multithreaded pass that writes
      the next layer's input contiguously; bias and activation follow in place.
    The first layer, from a 1x1 input, is a plain linear map (bias and ReLU fused into it).
    On a CPU the GEMMs run on weights pre-packed once into oneDNN's blocked layout (`mkldnn._reorder_linear_weight`,
    what torch.compile's CPU backend does): given the plain (k*k*C_out, C_in) matrix, oneDNN reorders it on every
    call, and MKL's `F.linear` is 2-3x slower at the 16 to 64 rows a GEMM has at one sample (bench/dcgan.py times each
    way per GEMM; the whole forward went from 0.39 to 0.20 ms per sample). Elsewhere (CUDA, another dtype, a build
    without oneDNN) the same matrices go to `F.linear`.
    Built by `Generator.fuse()`; never saved (the checkpoint stays the paper's module).
    """

    def __init__(self, generator: Generator):
        super().__init__()
        layers, folded = list(generator.net), []
        for i, layer in enumerate(layers):
            if not isinstance(layer, nn.ConvTranspose2d):
                continue
            weight = layer.weight.detach()  # (C_in, C_out, k, k)
            bias = layer.bias.detach() if layer.bias is not None else weight.new_zeros(weight.shape[1])
            following = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(following, nn.BatchNorm2d):
                scale = following.weight.detach() / torch.sqrt(following.running_var + following.eps)
                weight = weight * scale[None, :, None, None]
                bias = (bias - following.running_mean) * scale + following.bias.detach()
            folded.append((weight, bias, layer.stride[0], layer.padding[0]))
        weight, bias, _, _ = folded[0]
        c_in, self.start_channels, self.start, _ = weight.shape
        # (latent, C, s, s) -> rows ordered (y, x, C): the linear map's output is channels-last already
        self.register_buffer("w0", weight.permute(2, 3, 1, 0).reshape(-1, c_in).contiguous())
        self.register_buffer("b0", bias.repeat(self.start**2).contiguous())  # per output element, (y, x, C) order
        self.shapes = []  # (stride, padding, k) per upsampling layer
        for j, (weight, bias, stride, padding) in enumerate(folded[1:]):
            c_in, c_out, k, _ = weight.shape
            # rows ordered (ky, kx, C_out): the GEMM's output columns, viewed as (k*k, C_out), are the col2im table
            self.register_buffer(f"w{j + 1}", weight.permute(2, 3, 1, 0).reshape(k * k * c_out, c_in).contiguous())
            self.register_buffer(f"b{j + 1}", bias.contiguous())
            self.shapes.append((stride, padding, k))
        self.packed = [onednn_packed(getattr(self, f"w{j}")) for j in range(len(self.shapes) + 1)]
        self.latent_dim, self.uniform_noise = generator.latent_dim, generator.uniform_noise

    def gemm(self, x: torch.Tensor, j: int, bias: torch.Tensor | None = None, relu: bool = False) -> torch.Tensor:
        """x (rows, C_in) @ w_j^T (+ bias, then ReLU if asked), on the packed copy where there is one for x."""
        packed = self.packed[j]
        if packed is not None and x.device.type == "cpu" and x.dtype == torch.float32:
            return onednn_linear(x, packed, bias, relu)
        y = nn.functional.linear(x, getattr(self, f"w{j}"), bias)
        return y.relu_() if relu else y

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        if self.uniform_noise:
            z = gaussian_to_uniform(z)
        # (B, latent) -> channels-last (B*s*s, C)
        x, h = self.gemm(z.contiguous(), 0, self.b0, relu=True).view(-1, self.start_channels), self.start
        for j, (stride, padding, k) in enumerate(self.shapes):
            bias = getattr(self, f"b{j + 1}")
            # (B*H*W, C_in) -> table of (B*H*W*k*k, C_out): row ((b*H + i)*W + j)*k*k + ky*k + kx is tap (ky, kx)
            table = self.gemm(x, j + 1).view(-1, bias.shape[0])
            indices, offsets = col2im_bags(h, k, stride, padding, b, z.device)
            h = (h - 1) * stride - 2 * padding + k
            x = nn.functional.embedding_bag(indices, table, offsets, mode="sum").add_(bias)
            x = x.relu_() if j + 1 < len(self.shapes) else x.tanh_()
        return x.view(b, h, h, -1).permute(0, 3, 1, 2)  # (B, C, H, W), as the paper's module returns


def onednn_packed(weight: torch.Tensor) -> torch.Tensor | None:
    """`weight` (out, in) reordered once into oneDNN's blocked GEMM layout (an opaque mkldnn tensor that
    `mkldnn._linear_pointwise` takes in place of the dense matrix), or None where there is no such path: not on a CPU,
    not float32, or a PyTorch build without oneDNN or without this private op (inductor's; checked, not assumed)."""
    if weight.device.type != "cpu" or weight.dtype != torch.float32 or not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._reorder_linear_weight(weight)
    except (AttributeError, RuntimeError):
        return None


def onednn_linear(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None = None,
                  relu: bool = False) -> torch.Tensor:
    """x (rows, in) @ W^T (+ bias, then ReLU if asked) with W as `onednn_packed` returned it."""
    return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "relu" if relu else "none", [], "")


@functools.lru_cache(maxsize=32)
def col2im_bags(size: int, kernel: int, stride: int, padding: int, batch: int,
                device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices, offsets) of the `embedding_bag` that is a transposed convolution's col2im, for `batch` samples of
    size x size inputs: output pixel (oy, ox) of sample b sums the table rows ((b*size + i)*size + j)*k*k + ky*k + kx
    with oy = stride*i + ky - padding and ox = stride*j + kx - padding. Built once per layer shape and batch size
    (a few ms), then cached."""
    out = (size - 1) * stride - 2 * padding + kernel
    taps = [[(i, o + padding - stride * i) for i in range(size) if 0 <= o + padding - stride * i < kernel]
            for o in range(out)]  # per output row: (input row, kernel row)
    per_pixel = [[((i * size + j) * kernel + ky) * kernel + kx for i, ky in taps[oy] for j, kx in taps[ox]]
                 for oy in range(out) for ox in range(out)]
    lengths = torch.tensor([len(bag) for bag in per_pixel])
    one = torch.tensor([row for bag in per_pixel for row in bag])
    indices = (one + torch.arange(batch)[:, None] * (size * size * kernel * kernel)).flatten()  # sample b: b tables on
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.repeat(batch).cumsum(0)[:-1]])
    return indices.to(device), offsets.to(device)
