"""BigGAN, scaled: a class-conditional GAN with every trick of Brock, Donahue & Simonyan, "Large Scale GAN Training for
High Fidelity Natural Image Synthesis", 2019 (arXiv:1809.11096).

- Conditional BatchNorm whose gains and biases are linear in [shared class embedding, this block's z chunk]: one
  embedding shared by all blocks, and a hierarchical latent (z split into one chunk for the 4x4 input and one per
  block), so z reaches every resolution directly.
- Self-attention (Zhang et al. 2019, SAGAN, arXiv:1805.08318) at one resolution in G and D.
- Spectral normalisation in G and D (one power iteration per forward pass), hinge loss, a projection discriminator
  (Miyato & Koyama 2018, arXiv:1802.05637), orthogonal regularisation of G's weights (the paper's variant: only the
  off-diagonal of W^T W is pushed to 0), an EMA of G's weights with "standing" BatchNorm statistics, and the
  truncation trick (z drawn from a normal truncated to |z_i| <= threshold, re-sampling what falls outside).

Scaled down: 32-px images (the paper's CIFAR-10 layout: three residual up-blocks from 4x4), a 64-d z and 32-d shared
embedding instead of 120 and 128, widths 128/128/64 instead of 4 x 256 at 32 px, so it trains on 2 CPU cores.
"""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

HUB_KWARGS = dict(library_name="genzoo", tags=["gan", "biggan", "class-conditional-image-generation"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")


def sn(module: nn.Module) -> nn.Module:
    """Spectral normalisation, BigGAN's in G and D alike (eps 1e-6 as the reference code)."""
    return spectral_norm(module, eps=1e-6)


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine; gain = 1 + W_g c and bias = W_b c from the condition c (BigGAN's ccbn)."""

    def __init__(self, channels: int, condition_dim: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain, self.bias = sn(nn.Linear(condition_dim, channels, bias=False)), sn(nn.Linear(condition_dim, channels, bias=False))

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gain, bias = 1 + self.gain(condition), self.bias(condition)
        return self.norm(x) * gain[:, :, None, None] + bias[:, :, None, None]


class SelfAttention(nn.Module):
    """SAGAN's attention: theta (C/8) attends over max-pooled phi (C/8) and g (C/2), output o (back to C), added with
    a learned gamma that starts at 0 so the block starts as the identity."""

    def __init__(self, channels: int):
        super().__init__()
        self.theta = sn(nn.Conv2d(channels, channels // 8, 1, bias=False))
        self.phi = sn(nn.Conv2d(channels, channels // 8, 1, bias=False))
        self.g = sn(nn.Conv2d(channels, channels // 2, 1, bias=False))
        self.o = sn(nn.Conv2d(channels // 2, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        theta = self.theta(x).flatten(2)                                  # (B, C/8, HW)
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)                     # (B, C/8, HW/4)
        g = F.max_pool2d(self.g(x), 2).flatten(2)                         # (B, C/2, HW/4)
        attention = torch.softmax(theta.transpose(1, 2) @ phi, -1)        # (B, HW, HW/4)
        o = (g @ attention.transpose(1, 2)).view(b, c // 2, h, w)
        return x + self.gamma * self.o(o)


class GBlock(nn.Module):
    """BigGAN's residual up-block: CBN-ReLU-up-conv3x3-CBN-ReLU-conv3x3, skip = up-conv1x1."""

    def __init__(self, in_channels: int, out_channels: int, condition_dim: int):
        super().__init__()
        self.bn1, self.bn2 = ConditionalBatchNorm(in_channels, condition_dim), ConditionalBatchNorm(out_channels, condition_dim)
        self.conv1 = sn(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.conv2 = sn(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip = sn(nn.Conv2d(in_channels, out_channels, 1))

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, condition)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), condition)))
        return h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))


class BigGAN(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """(z (B, latent_dim), labels (B,)) -> images (B, C, 32, 32) in [-1, 1]."""

    def __init__(
        self,
        latent_dim: int = 64,            # z size, split into len(channels) equal chunks (hierarchical latent; 120)
        num_classes: int = 10,
        shared_dim: int = 32,            # the shared class embedding (128 in the paper)
        channels: tuple[int, ...] = (128, 128, 128, 64),  # at 4, 8, 16, 32 px (4 x 256 for CIFAR in the paper)
        attention_resolution: int = 16,  # where self-attention sits; 0 = none
        image_channels: int = 3,
    ):
        super().__init__()
        num_blocks = len(channels) - 1
        if latent_dim % (num_blocks + 1):
            raise ValueError(f"latent_dim {latent_dim} must split into {num_blocks + 1} equal chunks")
        self.latent_dim, self.num_classes, self.image_size = latent_dim, num_classes, 4 * 2 ** num_blocks
        self.chunk = latent_dim // (num_blocks + 1)
        self.shared = nn.Embedding(num_classes, shared_dim)
        self.linear = sn(nn.Linear(self.chunk, channels[0] * 16))
        self.blocks = nn.ModuleList([GBlock(a, b, shared_dim + self.chunk) for a, b in zip(channels[:-1], channels[1:])])
        self.attention = nn.ModuleDict({str(i): SelfAttention(c) for i, c in enumerate(channels[1:])
                                        if 8 * 2 ** i == attention_resolution})
        self.output = nn.Sequential(nn.BatchNorm2d(channels[-1]), nn.ReLU(),
                                    sn(nn.Conv2d(channels[-1], image_channels, 3, padding=1)), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                class_embedding: torch.Tensor | None = None) -> torch.Tensor:
        """`class_embedding` (B, shared_dim) in place of the labels' rows of the shared embedding: a blend of two
        classes' rows morphs one class into the other (the tab's between-class interpolation)."""
        chunks = z.split(self.chunk, 1)
        shared = self.shared(labels) if class_embedding is None else class_embedding
        h = self.linear(chunks[0]).view(len(z), -1, 4, 4)               # (B, C0, 4, 4)
        for i, (block, chunk) in enumerate(zip(self.blocks, chunks[1:])):
            h = block(h, torch.cat([shared, chunk], 1))                   # (B, C_i, R, R) -> (B, C_i+1, 2R, 2R)
            if str(i) in self.attention:
                h = self.attention[str(i)](h)
        return self.output(h)


class DBlock(nn.Module):
    """BigGAN's residual down-block (ReLU-conv3x3-ReLU-conv3x3-avgpool, skip conv1x1-avgpool); the first block skips
    its first ReLU, so D does not throw away the image's negative half."""

    def __init__(self, in_channels: int, out_channels: int, first: bool = False, down: bool = True):
        super().__init__()
        self.conv1 = sn(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.conv2 = sn(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip = sn(nn.Conv2d(in_channels, out_channels, 1))
        self.first, self.down = first, down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        skip = self.skip(x)
        if self.down:
            h, skip = F.avg_pool2d(h, 2), F.avg_pool2d(skip, 2)
        return h + skip


class ProjectionDiscriminator(nn.Module):
    """BigGAN's D: residual down-blocks 32 -> 16 -> 8 -> 4 (+ one at 4), attention at 16 px, ReLU, global sum
    pooling, then psi(h) + <embed(y), h> (the projection discriminator). (images, labels) -> scores (B,)."""

    def __init__(self, channels: tuple[int, ...] = (64, 128, 128, 128), num_classes: int = 10,
                 attention_resolution: int = 16, image_channels: int = 3, image_size: int = 32):
        super().__init__()
        widths = (image_channels,) + tuple(channels)
        blocks, size = [], image_size
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            down = size > 4  # the last block(s) stay at 4x4
            blocks.append(DBlock(a, b, first=i == 0, down=down))
            if down and size // 2 == attention_resolution:
                blocks.append(SelfAttention(b))
            size //= 2 if down else 1
        self.blocks = nn.Sequential(*blocks)
        self.linear = sn(nn.Linear(channels[-1], 1))
        self.embed = sn(nn.Embedding(num_classes, channels[-1]))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.blocks(x)).sum((2, 3))                            # (B, C): global sum pooling
        return self.linear(h).flatten() + (self.embed(labels) * h).sum(1)


def orthogonal_regularization(module: nn.Module, beta: float = 1e-4) -> torch.Tensor:
    """BigGAN eq. 3: beta * ||W^T W (1 - I)||_F^2 summed over G's weight matrices (conv kernels flattened per output
    channel); embeddings, gains and biases excluded, as in the paper's code. Spectral-normalised weights are
    regularised before normalisation (the parameter itself)."""
    total = torch.zeros(())
    for name, p in module.named_parameters():
        if p.ndim < 2 or "shared" in name or "gain" in name or "bias" in name:
            continue
        w = p.flatten(1)
        gram = w @ w.T
        total = total + (gram * (1 - torch.eye(len(w), device=w.device))).pow(2).sum()
    return beta * total.to(next(module.parameters()).device)


def truncated_latents(n: int, dim: int, threshold: float | None, generator: torch.Generator | None = None):
    """z ~ N(0, I) truncated to |z_i| <= threshold by re-sampling the values outside (BigGAN section 3.1); None or
    inf = no truncation. Smaller thresholds trade variety for fidelity."""
    z = torch.randn(n, dim, generator=generator)
    if threshold is None or threshold == float("inf"):
        return z
    if threshold <= 0:
        raise ValueError(f"truncation threshold must be > 0, got {threshold}")
    for _ in range(100):
        outside = z.abs() > threshold
        if not outside.any():
            break
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
    return z.clamp(-threshold, threshold)
