"""Progressive and style-based GANs: ProGAN, StyleGAN, StyleGAN2 and StyleGAN2-ADA's adaptive augmentation.

Papers (the lecture's order):
- ProGAN: Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved Quality, Stability, and
  Variation", 2018 (arXiv:1710.10196). Growing 4 -> 8 -> 16 -> 32 with a fade-in alpha, pixel norm, equalised
  learning rate, minibatch standard deviation, WGAN-GP loss with the epsilon-drift term.
- StyleGAN: Karras, Laine & Aila, "A Style-Based Generator Architecture for Generative Adversarial Networks", 2019
  (arXiv:1812.04948). 8-layer mapping z -> w (learning rate x0.01), learned constant input, AdaIN after every
  convolution, per-layer noise with learned per-channel scales, style-mixing regularisation, truncation psi around
  the tracked w average. Its discriminator is ProGAN's.
- StyleGAN2: Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", 2020 (arXiv:1912.04958). Weight
  modulation/demodulation instead of AdaIN (no more droplets), skip-connection generator, residual discriminator,
  lazy R1 and path-length regularisation.
- StyleGAN2-ADA: Karras et al., "Training Generative Adversarial Networks with Limited Data", 2020
  (arXiv:2006.06676). Differentiable augmentations of everything D sees, applied with probability p, which the
  overfitting heuristic r_t = E[sign(D(x_real))] steers towards a target of 0.6.

Layers follow NVlabs' official code (stylegan2-ada-pytorch): equalised learning rate by scaling weights at run time,
leaky ReLU with gain sqrt(2), [1, 3, 3, 1] FIR filters for up/down-sampling, written here in plain torch (`upfirdn2d`)
instead of custom CUDA ops, so the same file runs on a CPU, a GPU or a Space.

Scaled down: 32-px RGB images (data.STYLE_PROTOCOL) and 32-128 channels instead of 512 at up to 1024 px, a 128-d
z and w, so each model trains in well under an hour on 2 CPU cores; StyleGAN and StyleGAN2 train at 32 px from the
start (StyleGAN2's own choice; StyleGAN grew progressively like ProGAN). Every mechanism is present.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn import functional as F

HUB_KWARGS = dict(library_name="genzoo", tags=["gan", "stylegan", "unconditional-image-generation"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")
SQRT2 = math.sqrt(2)


# ---------------------------------------------------------------------------------------------------------- layers
def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (0.2) with gain sqrt(2), so activations keep unit variance through the equalised layers."""
    return F.leaky_relu(x, 0.2) * SQRT2


def pixel_norm(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """ProGAN's pixelwise feature normalisation: each pixel's feature vector scaled to unit RMS."""
    return x * torch.rsqrt(x.pow(2).mean(dim, keepdim=True) + eps)


class EqualLinear(nn.Module):
    """ProGAN's equalised learning rate: weights drawn N(0, 1) and scaled by He's constant at *run time*, so Adam's
    per-parameter step sizes act equally on every layer. `lr_multiplier` (StyleGAN's mapping: 0.01) slows a layer
    down by the same trick."""

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_multiplier: float = 1.0,
                 activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)) / lr_multiplier)
        self.weight_gain, self.bias_gain, self.activation = lr_multiplier / math.sqrt(in_features), lr_multiplier, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return lrelu(x) if self.activation else x


class EqualConv2d(nn.Module):
    """A convolution with the equalised learning rate; `down=True` blurs and halves the resolution after it (as
    NVlabs' conv2d_resample: FIR filter, then the strided convolution)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: bool = False, down: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.activation, self.down, self.padding = activation, down, kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.weight_gain
        if self.down:  # blur with a 1-px wider footprint, then a stride-2 conv without padding
            x = upfirdn2d(x, fir_kernel(x), pad=(self.padding + 1, self.padding + 1))
            x = F.conv2d(x, w, self.bias, stride=2)
        else:
            x = F.conv2d(x, w, self.bias, padding=self.padding)
        return lrelu(x) if self.activation else x


def fir_kernel(like: torch.Tensor, taps=(1.0, 3.0, 3.0, 1.0)) -> torch.Tensor:
    """The separable [1, 3, 3, 1] low-pass filter of ProGAN/StyleGAN, normalised to sum 1."""
    k = torch.tensor(taps, dtype=like.dtype, device=like.device)
    k = torch.outer(k, k)
    return k / k.sum()


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0),
              gain: float = 1.0) -> torch.Tensor:
    """NVlabs' upfirdn2d in plain torch: zero-insertion upsampling by `up`, padding (before, after) on both axes,
    a depthwise FIR filter, then keeping every `down`-th pixel. (B, C, H, W) -> (B, C, H', W')."""
    b, c, h, w = x.shape
    if up > 1:  # (B, C, H, W) -> (B, C, H*up, W*up) with zeros between the samples
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(b, c, h * up, w * up)
    x = F.pad(x, (pad[0], pad[1], pad[0], pad[1]))
    weight = (kernel * gain).flip((0, 1))[None, None].expand(c, 1, *kernel.shape)
    x = F.conv2d(x, weight.to(x.dtype), groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def upsample2d(x: torch.Tensor) -> torch.Tensor:
    """x2 with the [1, 3, 3, 1] filter (gain 4 restores the energy of the inserted zeros): (B, C, H, W) -> 2H, 2W."""
    return upfirdn2d(x, fir_kernel(x), up=2, pad=(2, 1), gain=4)


def downsample2d(x: torch.Tensor) -> torch.Tensor:
    """/2 with the same filter: (B, C, H, W) -> (B, C, H/2, W/2)."""
    return upfirdn2d(x, fir_kernel(x), down=2, pad=(1, 1))


class MinibatchStdDev(nn.Module):
    """ProGAN's minibatch standard deviation: the feature std over groups of `group_size` samples, averaged to one
    extra feature map, so D can see a lack of variety (mode collapse) in a batch."""

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = min(self.group_size, b)
        while b % g:  # the batch must split into equal groups
            g -= 1
        y = x.reshape(g, -1, c, h, w)
        y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean((1, 2, 3))          # (B/g,)
        y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)                        # (B, 1, H, W)
        return torch.cat([x, y], 1)


def resolutions(channels: tuple[int, ...] | list[int]) -> list[int]:
    """The resolutions of a channel list: 4, 8, 16, ... one per entry."""
    return [4 * 2 ** i for i in range(len(channels))]


# ---------------------------------------------------------------------------------------------------------- ProGAN
class ProGANGenerator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """ProGAN's G, grown one resolution per stage: stage s outputs 4 * 2^s px. (B, latent_dim) -> (B, C, R, R)."""

    def __init__(self, latent_dim: int = 64, channels: tuple[int, ...] = (128, 128, 64, 32), image_channels: int = 3):
        super().__init__()
        self.latent_dim, self.num_stages = latent_dim, len(channels)
        c0 = channels[0]
        # 4x4: z -> dense (the paper's 4x4 transposed conv of a 1x1 input) -> conv 3x3
        self.dense = EqualLinear(latent_dim, c0 * 16, activation=True)
        self.blocks = nn.ModuleList([EqualConv2d(c0, c0, 3, activation=True)])
        for c_in, c_out in zip(channels[:-1], channels[1:]):  # nearest x2, then two 3x3 convs
            self.blocks.append(nn.ModuleList([EqualConv2d(c_in, c_out, 3, activation=True),
                                              EqualConv2d(c_out, c_out, 3, activation=True)]))
        self.to_rgb = nn.ModuleList([EqualConv2d(c, image_channels, 1) for c in channels])

    def features(self, z: torch.Tensor, stage: int) -> list[torch.Tensor]:
        """The feature maps of stages 0..stage, each pixel-normalised (the paper's G normalises after every conv)."""
        h = pixel_norm(self.dense(pixel_norm(z)).view(len(z), -1, 4, 4))
        h = pixel_norm(self.blocks[0](h))
        out = [h]
        for block in self.blocks[1:stage + 1]:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            for conv in block:
                h = pixel_norm(conv(h))
            out.append(h)
        return out

    def forward(self, z: torch.Tensor, alpha: float = 1.0, stage: int | None = None) -> torch.Tensor:
        """At `stage` (default: the last) with fade-in `alpha`: (1 - alpha) x the previous stage's image upsampled
        (nearest, as the paper) + alpha x the new block's image. alpha = 1: the new block alone."""
        stage = self.num_stages - 1 if stage is None else stage
        h = self.features(z, stage)
        image = self.to_rgb[stage](h[-1])
        if alpha < 1 and stage > 0:
            previous = F.interpolate(self.to_rgb[stage - 1](h[-2]), scale_factor=2, mode="nearest")
            image = torch.lerp(previous, image, alpha)
        return image


class ProGAN(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """What ships: the EMA generator as it was at the end of each stage (stages[s] makes 4 * 2^s px), so the tab can
    replay the growth and each fade-in; stages[-1] is the final model and `forward` samples from it."""

    def __init__(
        self,
        latent_dim: int = 64,                        # z size (512 in the paper)
        channels: tuple[int, ...] = (128, 128, 64, 32),  # feature maps at 4, 8, 16, 32 px (512 ... 16 in the paper)
        image_channels: int = 3,
    ):
        super().__init__()
        self.latent_dim, self.image_size = latent_dim, resolutions(channels)[-1]
        self.stages = nn.ModuleList([ProGANGenerator(latent_dim, tuple(channels[:s + 1]), image_channels)
                                     for s in range(len(channels))])

    def forward(self, z: torch.Tensor, stage: int = -1, alpha: float = 1.0) -> torch.Tensor:
        return self.stages[stage](z, alpha)


class ProGANDiscriminator(nn.Module):
    """ProGAN's D (also StyleGAN's): from-RGB at the current stage, blocks of two 3x3 convs and a blur-free 2x2
    average pool, minibatch stddev, then 3x3 conv, 4x4 dense and the score. (B, C, R, R) -> (B,)."""

    def __init__(self, channels: tuple[int, ...] = (128, 128, 64, 32), image_channels: int = 3,
                 mbstd_group: int = 4):
        super().__init__()
        self.num_stages = len(channels)
        self.from_rgb = nn.ModuleList([EqualConv2d(image_channels, c, 1, activation=True) for c in channels])
        self.blocks = nn.ModuleList([None])  # stage 0 has no down block: its epilogue is the 4x4 head
        for c_in, c_out in zip(channels[1:], channels[:-1]):  # block s: (c_s, R) -> (c_{s-1}, R/2)
            self.blocks.append(nn.ModuleList([EqualConv2d(c_in, c_in, 3, activation=True),
                                              EqualConv2d(c_in, c_out, 3, activation=True)]))
        c0 = channels[0]
        self.mbstd = MinibatchStdDev(mbstd_group)
        self.head = nn.Sequential(EqualConv2d(c0 + 1, c0, 3, activation=True), nn.Flatten(),
                                  EqualLinear(c0 * 16, c0, activation=True), EqualLinear(c0, 1))

    def forward(self, x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        stage = int(math.log2(x.shape[-1])) - 2
        h = self.from_rgb[stage](x)
        for s in range(stage, 0, -1):
            for conv in self.blocks[s]:
                h = conv(h)
            h = F.avg_pool2d(h, 2)
            if s == stage and alpha < 1:  # fade-in: blend with the previous stage's from-RGB of the pooled image
                h = torch.lerp(self.from_rgb[stage - 1](F.avg_pool2d(x, 2)), h, alpha)
        return self.head(self.mbstd(h)).flatten()


def drift_penalty(real_scores: torch.Tensor, epsilon: float = 1e-3) -> torch.Tensor:
    """ProGAN's epsilon-drift term (section A.1): keeps the critic's scores near 0, epsilon * E D(x)^2."""
    return epsilon * real_scores.pow(2).mean()


# ---------------------------------------------------------------------------------------------------------- StyleGAN
class MappingNetwork(nn.Module):
    """z -> w: pixel norm, then `num_layers` equalised dense layers at 0.01 x the learning rate (StyleGAN's f)."""

    def __init__(self, latent_dim: int, w_dim: int, num_layers: int = 8, lr_multiplier: float = 0.01):
        super().__init__()
        dims = [latent_dim] + [w_dim] * num_layers
        self.net = nn.Sequential(*[EqualLinear(a, b, lr_multiplier=lr_multiplier, activation=True)
                                   for a, b in zip(dims[:-1], dims[1:])])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_norm(z))


class NoiseInjection(nn.Module):
    """Per-pixel Gaussian noise with a learned per-channel scale (StyleGAN's B), zero at initialisation."""

    def __init__(self, channels: int, resolution: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))  # noise_mode="const"

    def forward(self, x: torch.Tensor, noise_mode: str = "random", generator: torch.Generator | None = None):
        if noise_mode == "none":
            return x
        if noise_mode == "const":
            noise = self.noise_const
        else:
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], generator=generator).to(x)
        return x + self.weight * noise


class AdaIN(nn.Module):
    """Adaptive instance normalisation (StyleGAN eq. 1): each channel normalised, then scaled and shifted by the
    style y = A(w); the scale's bias starts at 1 so an untrained style is the identity."""

    def __init__(self, channels: int, w_dim: int):
        super().__init__()
        self.scale = EqualLinear(w_dim, channels, bias_init=1.0)
        self.shift = EqualLinear(w_dim, channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = F.instance_norm(x)
        return x * self.scale(w)[:, :, None, None] + self.shift(w)[:, :, None, None]


class StyleLayer(nn.Module):
    """conv (after a blurred x2 upsampling where `up`) -> noise -> bias + leaky ReLU -> AdaIN(w)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.conv = EqualConv2d(in_channels, out_channels, 3, bias=False)
        self.noise = NoiseInjection(out_channels, resolution)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.adain = AdaIN(out_channels, w_dim)
        self.up = up

    def forward(self, x, w, noise_mode="random", generator=None, keep: list | None = None):
        if self.up:
            x = upsample2d(x)
        x = self.noise(self.conv(x), noise_mode, generator)
        x = lrelu(x + self.bias[:, None, None])
        if keep is not None:  # the feature maps before normalisation: where StyleGAN's droplets show
            keep.append(x)
        return self.adain(x, w)


class StyleGenerator(nn.Module):
    """What StyleGAN and StyleGAN2 share: the mapping network, the tracked w average, truncation, style mixing and
    `num_ws` per-layer styles. Subclasses build the synthesis network and implement `synthesis(ws, ...)`."""

    latent_dim: int
    num_ws: int

    def _init_mapping(self, latent_dim: int, w_dim: int, mapping_layers: int) -> None:
        self.latent_dim, self.w_dim = latent_dim, w_dim
        self.mapping = MappingNetwork(latent_dim, w_dim, mapping_layers)
        self.register_buffer("w_avg", torch.zeros(w_dim))  # tracked during training, the centre of truncation

    def map(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """z (B, latent_dim) -> w (B, w_dim), truncated towards w_avg: w_avg + psi (w - w_avg). psi = 0: w_avg."""
        w = self.mapping(z)
        return torch.lerp(self.w_avg.to(w.dtype), w, psi) if psi != 1 else w

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """(B, w_dim) -> (B, num_ws, w_dim): the same style for every layer."""
        return w[:, None].expand(-1, self.num_ws, -1)

    def forward(self, z: torch.Tensor, psi: float = 1.0, noise_mode: str = "random",
                generator: torch.Generator | None = None, mix_z: torch.Tensor | None = None,
                cutoff: int | None = None, return_ws: bool = False):
        """z (B, latent_dim) -> image (B, C, R, R). Training passes `mix_z` and `cutoff` for style mixing (layers from
        `cutoff` on take mix_z's w) and `return_ws` for the path-length penalty; all in one call, so the step runs
        through the (possibly distributed) module's forward."""
        ws = self.broadcast(self.map(z, psi))
        if mix_z is not None and cutoff is not None:
            ws = style_mix(ws, self.broadcast(self.map(mix_z, psi)), cutoff)
        images = self.synthesis(ws, noise_mode, generator)
        return (images, ws) if return_ws else images


def style_mix(ws_a: torch.Tensor, ws_b: torch.Tensor, start: int, stop: int | None = None) -> torch.Tensor:
    """Styles of A with layers [start, stop) taken from B (StyleGAN section 3.1): coarse = the first layers (4-8 px:
    pose, shape), middle (16 px), fine (32 px: colour, texture). (B, num_ws, w_dim) each."""
    out = ws_a.clone()
    out[:, start:stop] = ws_b[:, start:stop]
    return out


def mixing_cutoff(num_ws: int, probability: float, generator: torch.Generator) -> int | None:
    """Style-mixing regularisation (StyleGAN section 3.1): with `probability`, the layer at which a training batch
    switches from w1 to w2, so the network cannot assume adjacent styles are correlated; None = no mixing."""
    if float(torch.rand((), generator=generator)) < probability:
        return int(torch.randint(1, num_ws, (), generator=generator))
    return None


class StyleGAN(StyleGenerator, PyTorchModelHubMixin, **HUB_KWARGS):
    """StyleGAN's G: mapping z -> w, then a learned 4x4 constant through AdaIN style layers (two per resolution),
    noise into every layer, and one to-RGB at the end. (B, latent_dim) -> (B, C, R, R)."""

    def __init__(
        self,
        latent_dim: int = 128,                      # z size (512 in the paper)
        w_dim: int = 128,                           # w size (512)
        mapping_layers: int = 8,                    # depth of the mapping network (the paper's 8)
        channels: tuple[int, ...] = (128, 128, 64, 32),  # feature maps at 4, 8, 16, 32 px
        image_channels: int = 3,
    ):
        super().__init__()
        self._init_mapping(latent_dim, w_dim, mapping_layers)
        self.image_size, self.num_ws = resolutions(channels)[-1], 2 * len(channels)
        self.const = nn.Parameter(torch.ones(1, channels[0], 4, 4))
        # the 4x4 "first layer" is the constant + noise + AdaIN (no conv), as in the paper's Figure 1(b)
        self.const_noise = NoiseInjection(channels[0], 4)
        self.const_bias = nn.Parameter(torch.zeros(channels[0]))
        self.const_adain = AdaIN(channels[0], w_dim)
        layers = [StyleLayer(channels[0], channels[0], w_dim, 4)]
        for (c_in, c_out), res in zip(zip(channels[:-1], channels[1:]), resolutions(channels)[1:]):
            layers += [StyleLayer(c_in, c_out, w_dim, res, up=True), StyleLayer(c_out, c_out, w_dim, res)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = EqualConv2d(channels[-1], image_channels, 1)

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "random", generator: torch.Generator | None = None,
                  keep: list | None = None) -> torch.Tensor:
        """(B, num_ws, w_dim) -> image; `keep` collects each layer's pre-AdaIN feature maps."""
        x = self.const.expand(len(ws), -1, -1, -1)
        x = lrelu(self.const_noise(x, noise_mode, generator) + self.const_bias[:, None, None])
        x = self.const_adain(x, ws[:, 0])
        for i, layer in enumerate(self.layers, start=1):
            x = layer(x, ws[:, i], noise_mode, generator, keep)
        return self.to_rgb(x)


# ---------------------------------------------------------------------------------------------------------- StyleGAN2
def modulate(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True) -> torch.Tensor:
    """StyleGAN2 eq. 1-3: per-sample weights w'_ijk = s_i w_ijk, demodulated to unit L2 norm per output channel
    (w'' = w' / sqrt(sum_ik w'^2 + eps)). weight (O, I, k, k), styles (B, I) -> (B, O, I, k, k)."""
    w = weight[None] * styles[:, None, :, None, None]
    if demodulate:
        w = w * torch.rsqrt(w.pow(2).sum((2, 3, 4), keepdim=True) + 1e-8)
    return w


class ModulatedConv2d(nn.Module):
    """A convolution whose weights are modulated by the style s = A(w) and (optionally) demodulated. Run as NVlabs'
    non-fused path: scale the input channels by s, convolve with the shared weights, scale the output channels by
    the demodulation coefficients; equal to convolving with `modulate(...)`'s per-sample weights (a test checks),
    and on a CPU several times faster than the grouped convolution. `up`: blurred x2 upsampling first."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int, demodulate: bool = True,
                 up: bool = False):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.demodulate, self.up, self.padding = demodulate, up, kernel_size // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        weight, styles = self.weight * self.weight_gain, self.affine(w)       # (O, I, k, k), (B, I)
        if self.up:
            x = upsample2d(x)
        x = F.conv2d(x * styles[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:  # sum_ik (s_i w_oik)^2 = s^2 . sum_k w_oik^2, per sample and output channel
            x = x * torch.rsqrt(styles.pow(2) @ weight.pow(2).sum((2, 3)).T + 1e-8)[:, :, None, None]
        return x


class SynthesisLayer(nn.Module):
    """StyleGAN2's layer: modulated conv -> noise -> bias -> leaky ReLU (no normalisation of the activations)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False,
                 demodulate: bool = True):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, demodulate, up)
        self.noise = NoiseInjection(out_channels, resolution)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x, w, noise_mode="random", generator=None, keep: list | None = None):
        x = lrelu(self.noise(self.conv(x, w), noise_mode, generator) + self.bias[:, None, None])
        if keep is not None:
            keep.append(x)
        return x


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation (StyleGAN2's tRGB), plus a bias."""

    def __init__(self, in_channels: int, image_channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, image_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(image_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[:, None, None]


class StyleGAN2(StyleGenerator, PyTorchModelHubMixin, **HUB_KWARGS):
    """StyleGAN2's G ("skip" architecture, config E/F): the constant, two modulated layers per resolution (one at
    4 px), and a to-RGB at every resolution whose outputs are upsampled and summed. (B, latent_dim) -> image."""

    def __init__(
        self,
        latent_dim: int = 128,                      # z size (512 in the paper)
        w_dim: int = 128,                           # w size (512)
        mapping_layers: int = 8,                    # depth of the mapping network
        channels: tuple[int, ...] = (128, 128, 64, 32),  # feature maps at 4, 8, 16, 32 px
        image_channels: int = 3,
        demodulate: bool = True,                    # False: modulation only (the ablation that brings droplets back)
    ):
        super().__init__()
        self._init_mapping(latent_dim, w_dim, mapping_layers)
        res = resolutions(channels)
        self.image_size = res[-1]
        self.const = nn.Parameter(torch.randn(1, channels[0], 4, 4))
        self.layers = nn.ModuleList([SynthesisLayer(channels[0], channels[0], w_dim, 4, demodulate=demodulate)])
        self.to_rgb = nn.ModuleList([ToRGB(channels[0], image_channels, w_dim)])
        for c_in, c_out, r in zip(channels[:-1], channels[1:], res[1:]):
            self.layers.extend([SynthesisLayer(c_in, c_out, w_dim, r, up=True, demodulate=demodulate),
                                SynthesisLayer(c_out, c_out, w_dim, r, demodulate=demodulate)])
            self.to_rgb.append(ToRGB(c_out, image_channels, w_dim))
        # NVlabs' indexing: the block at each resolution reads its convs' ws and one more for its to-RGB, and the
        # next block starts at that to-RGB's index: 1 + 2 per further resolution, + the last to-RGB.
        self.num_ws = len(self.layers) + 1

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "random", generator: torch.Generator | None = None,
                  keep: list | None = None) -> torch.Tensor:
        x = self.layers[0](self.const.expand(len(ws), -1, -1, -1), ws[:, 0], noise_mode, generator, keep)
        image = self.to_rgb[0](x, ws[:, 1])
        for i, to_rgb in enumerate(self.to_rgb[1:]):
            first = 1 + 2 * i
            x = self.layers[first](x, ws[:, first], noise_mode, generator, keep)
            x = self.layers[first + 1](x, ws[:, first + 1], noise_mode, generator, keep)
            image = upsample2d(image) + to_rgb(x, ws[:, first + 2])
        return image


class ResidualDiscriminator(nn.Module):
    """StyleGAN2's residual D: from-RGB, then per resolution two 3x3 convs (the second blurs and halves) plus a
    1x1 down-sampled skip, summed with 1/sqrt(2); minibatch stddev, 3x3 conv, dense, score. (B, C, R, R) -> (B,)."""

    def __init__(self, channels: tuple[int, ...] = (128, 128, 64, 32), image_channels: int = 3,
                 mbstd_group: int = 4):
        super().__init__()
        self.from_rgb = EqualConv2d(image_channels, channels[-1], 1, activation=True)
        blocks = []
        for c_in, c_out in zip(channels[:0:-1], channels[-2::-1]):  # 32 px -> 4 px
            blocks.append(nn.ModuleDict({"conv0": EqualConv2d(c_in, c_in, 3, activation=True),
                                         "conv1": EqualConv2d(c_in, c_out, 3, activation=True, down=True),
                                         "skip": EqualConv2d(c_in, c_out, 1, bias=False, down=True)}))
        self.blocks = nn.ModuleList(blocks)
        c0 = channels[0]
        self.mbstd = MinibatchStdDev(mbstd_group)
        self.head = nn.Sequential(EqualConv2d(c0 + 1, c0, 3, activation=True), nn.Flatten(),
                                  EqualLinear(c0 * 16, c0, activation=True), EqualLinear(c0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.from_rgb(x)
        for block in self.blocks:
            h = (block["skip"](h) + block["conv1"](block["conv0"](h))) / SQRT2
        return self.head(self.mbstd(h)).flatten()


def path_length_penalty(ws: torch.Tensor, images: torch.Tensor, pl_mean: torch.Tensor,
                        decay: float = 0.01, generator: torch.Generator | None = None):
    """StyleGAN2 eq. 4: E (||J_w^T y||_2 - a)^2 with y ~ N(0, I)/sqrt(pixels) and a the running mean of the lengths,
    so a fixed-size step in w gives a fixed-magnitude change in the image. Returns (penalty, the updated mean)."""
    noise = torch.randn(images.shape, generator=generator).to(images) / math.sqrt(images.shape[2] * images.shape[3])
    grad, = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    lengths = grad.pow(2).sum(2).mean(1).sqrt()
    new_mean = pl_mean.lerp(lengths.mean().detach(), decay)
    return (lengths - new_mean).pow(2).mean(), new_mean


# ---------------------------------------------------------------------------------------------------------- ADA
ADA_TARGET = 0.6  # the paper's r_t target


def _rotation(angle: torch.Tensor) -> torch.Tensor:
    c, s, z, o = angle.cos(), angle.sin(), torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack([torch.stack([c, -s, z], 1), torch.stack([s, c, z], 1), torch.stack([z, z, o], 1)], 1)


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    z, o = torch.zeros_like(sx), torch.ones_like(sx)
    return torch.stack([torch.stack([sx, z, z], 1), torch.stack([z, sy, z], 1), torch.stack([z, z, o], 1)], 1)


def _translation(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    z, o = torch.zeros_like(tx), torch.ones_like(tx)
    return torch.stack([torch.stack([o, z, tx], 1), torch.stack([z, o, ty], 1), torch.stack([z, z, o], 1)], 1)


def ada_augment(images: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """ADA's "bgc" pipeline (Karras et al. 2020, Appendix B), each transform applied with probability p per image,
    all differentiable so G learns through them: pixel blitting (x-flip, 90-degree rotations, integer translation
    up to 1/8 of the image), general geometry (isotropic scale lognormal(0, 0.2 ln 2), rotation, anisotropic scale,
    fractional translation std 0.125) as one affine resampling with reflection padding, and colour (brightness
    N(0, 0.2), contrast lognormal(0, 0.5 ln 2), luma flip, hue rotation, saturation lognormal(0, ln 2)) as one
    4x4 colour matrix. p = 0 returns the input unchanged."""
    if p <= 0:
        return images
    b, c, h, w = images.shape

    def chance() -> torch.Tensor:  # (B,) 1 where this transform applies to the image
        return (torch.rand(b, generator=generator) < p).float()

    def normal() -> torch.Tensor:
        return torch.randn(b, generator=generator)

    # geometry in normalised coordinates [-1, 1] (y down), output -> input, composed right to left
    m = torch.eye(3).repeat(b, 1, 1)
    flip = 1 - 2 * (chance() * torch.randint(2, (b,), generator=generator)).float()
    m = m @ _scale(flip, torch.ones(b))
    quarter = chance() * torch.randint(4, (b,), generator=generator)
    m = m @ _rotation(quarter * (math.pi / 2))
    shift = (torch.rand(b, 2, generator=generator) * 2 - 1) * 0.125 * chance()[:, None]
    size = torch.tensor([w, h], dtype=torch.float32)
    m = m @ _translation(*(torch.round(shift * size) * 2 / size).T)  # whole pixels; one pixel = 2/size
    iso = torch.exp2(normal() * 0.2 * chance())
    m = m @ _scale(iso, iso)
    p_rot = 1 - math.sqrt(1 - p)  # the paper splits rotation in two so its total probability stays p

    def rotation() -> torch.Tensor:
        applies = (torch.rand(b, generator=generator) < p_rot).float()
        return _rotation(applies * (torch.rand(b, generator=generator) * 2 - 1) * math.pi)

    m = m @ rotation()
    aniso = torch.exp2(normal() * 0.2 * chance())
    m = m @ _scale(aniso, 1 / aniso)
    m = m @ rotation()
    fraction = torch.randn(b, 2, generator=generator) * 0.125 * 2 * chance()[:, None]  # x2: [-1, 1] spans the image
    m = m @ _translation(*fraction.T)
    if not torch.allclose(m, torch.eye(3).expand_as(m)):
        grid = F.affine_grid(m[:, :2].to(images), (b, c, h, w), align_corners=False)  # theta maps output -> input
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # colour: a 4x4 matrix on (r, g, b, 1); luma axis v = (1, 1, 1)/sqrt(3)
    v = torch.tensor([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3)
    eye = torch.eye(4).repeat(b, 1, 1)
    colour = eye.clone()
    brightness = normal() * 0.2 * chance()
    colour = _colour_translate(brightness) @ colour
    contrast = torch.exp2(normal() * 0.5 * chance())
    colour = _colour_scale(contrast) @ colour
    luma_flip = chance() * torch.randint(2, (b,), generator=generator)
    colour = (eye - 2 * torch.outer(v, v)[None] * luma_flip[:, None, None]) @ colour
    if c == 3:
        hue = (torch.rand(b, generator=generator) * 2 - 1) * math.pi * chance()
        colour = _rotate_around(v[:3], hue) @ colour
        saturation = torch.exp2(normal() * 1.0 * chance())
        vv = torch.outer(v[:3], v[:3])[None]
        saturate = eye.clone()
        saturate[:, :3, :3] = vv + (torch.eye(3) - vv) * saturation[:, None, None]
        colour = saturate @ colour
    if not torch.allclose(colour, eye):
        colour = colour.to(images)
        rgb = images.expand(-1, 3, -1, -1) if c == 1 else images  # grey: the matrix acts on (g, g, g)
        rgb = torch.einsum("bij,bjhw->bihw", colour[:, :3, :3], rgb) + colour[:, :3, 3, None, None]
        images = rgb.mean(1, keepdim=True) if c == 1 else rgb
    return images


def _colour_translate(t: torch.Tensor) -> torch.Tensor:
    m = torch.eye(4).repeat(len(t), 1, 1)
    m[:, :3, 3] = t[:, None]
    return m


def _colour_scale(s: torch.Tensor) -> torch.Tensor:
    m = torch.eye(4).repeat(len(s), 1, 1)
    m[:, [0, 1, 2], [0, 1, 2]] = s[:, None]
    return m


def _rotate_around(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' rotation by `angle` around the unit 3-vector `axis`, as 4x4 matrices (B, 4, 4)."""
    k = torch.tensor([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    r = (torch.eye(3) + angle.sin()[:, None, None] * k + (1 - angle.cos())[:, None, None] * (k @ k))
    m = torch.eye(4).repeat(len(angle), 1, 1)
    m[:, :3, :3] = r
    return m


class AdaptiveAugment:
    """ADA's controller: accumulates sign(D(x_real)) and every `interval` steps moves p by
    sign(r_t - target) * (images since the last update) / (ada_kimg * 1000), clamped to [0, 1); r_t > target
    means D is overconfident on real images, i.e. overfitting, so p rises."""

    def __init__(self, target: float = ADA_TARGET, ada_kimg: float = 500.0, interval: int = 4, p: float = 0.0):
        self.target, self.ada_kimg, self.interval, self.p = target, ada_kimg, interval, p
        self.signs, self.count, self.steps, self.r_t = 0.0, 0, 0, 0.0

    def observe(self, real_logits: torch.Tensor) -> None:
        self.signs += float(real_logits.detach().sign().sum())
        self.count += real_logits.numel()
        self.steps += 1
        if self.steps % self.interval == 0:
            self.r_t = self.signs / max(self.count, 1)
            step = np.sign(self.r_t - self.target) * self.count / (self.ada_kimg * 1000)
            self.p = float(min(max(self.p + step, 0.0), 1.0))
            self.signs, self.count = 0.0, 0

    def state_dict(self) -> dict:
        return {"p": self.p, "signs": self.signs, "count": self.count, "steps": self.steps, "r_t": self.r_t}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.signs, self.count = state["p"], state["signs"], state["count"]
        self.steps, self.r_t = state["steps"], state["r_t"]
