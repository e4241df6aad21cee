"""PixelCNN, Gated PixelCNN and PixelCNN++: exact-likelihood autoregressive image models, and one raster sampler.

Papers:
- van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural Networks", 2016 (arXiv:1601.06759): the
  PixelCNN, masked convolutions (mask A for the first layer: a pixel never sees itself; mask B after it), residual
  blocks (2h -> 1x1 -> h -> 3x3 mask B -> h -> 1x1 -> 2h, ReLUs, figure 5), two 1x1 ReLU layers and a sigmoid
  output for binary MNIST (81.30 nats in its table 4).
- van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu, "Conditional Image Generation with PixelCNN
  Decoders", 2016 (arXiv:1606.05328): the Gated PixelCNN. A vertical stack (everything above) and a horizontal
  stack (the row so far) replace the masked kernel, which removes the PixelCNN's blind spot; tanh(W_f x) *
  sigmoid(W_g x) gates; a class label adds a learned bias V^T h to both halves of every gate (its eq. 4).
- Salimans, Karpathy, Chen & Kingma, "PixelCNN++", 2017 (arXiv:1701.05517): a discretized logistic mixture
  likelihood (its eq. 2, with the edge cases at 0 and 255), down-shifted and down-right-shifted convolutions,
  gated ResNet blocks with concatenated ELUs, downsampling with skip connections (a U-Net of two streams).

Scaled down, for 28x28 single-channel data on a CPU (train/pixelcnn.py gives each bundled model's size and length):
the PixelCNN and Gated PixelCNN have a few layers of 32-64 channels instead of 15 layers of 128+; the PixelCNN++
has 1 gated ResNet per resolution instead of 5, 32 filters instead of 160, no weight normalisation (Adam copes at
this size), no dropout by default, and a mixture of 5 logistics over one grey channel (the paper's RGB channel
coupling has nothing to couple).

Conventions. Binary models (`PixelCNN`, `GatedPixelCNN`) take {0, 1} images (B, 1, H, W) and return Bernoulli
logits (B, 1, H, W); `PixelCNNpp` takes 8-bit images in [-1, 1] (value k / 127.5 - 1) and returns mixture
parameters (B, 3K, H, W). Every model's output at pixel (r, c) depends only on the pixels before it in raster order,
and every model has `nll(x)` (nats per image), `nll_map(x)` (nats per pixel), `image_size` and `likelihood`.

`sample(model, n, ...)` draws in raster order from any such model, including models.pixelrnn's: a model may offer
`raster_cache(n, labels)` (an object whose `step(x, r, c)` returns pixel (r, c)'s parameters having computed only
what changed since the previous pixel); otherwise the sampler re-runs forward() on the rows up to the current one.
"""

from __future__ import annotations

import math

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn import functional as F

HUB_KWARGS = dict(library_name="genzoo", tags=["pixelcnn", "autoregressive", "unconditional-image-generation"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")


# ------------------------------------------------------------------------------------------------ likelihoods
def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x | sigmoid(logits)) per pixel, nats: the sigmoid output of the PixelRNN paper's MNIST models."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none")


def discretized_logistic_mixture_log_prob(x: torch.Tensor, params: torch.Tensor, num_bins: int = 256) -> torch.Tensor:
    """log P(x) per pixel (B, 1, H, W) under PixelCNN++'s discretized mixture of logistics (Salimans et al., eq. 2).

    x: (B, 1, H, W) on the grid k / 127.5 - 1 (k = 0..255); params: (B, 3K, H, W) = mixture logits, means, log
    scales. Bin k has mass sigma((x + 1/255 - mu) / s) - sigma((x - 1/255 - mu) / s), except at the edges: value 0
    takes all the mass below (-inf, -1 + 1/255] and value 255 all the mass above, so the 256 bins sum to exactly 1.
    Where a bin's mass underflows (< 1e-5) the density at its centre times the bin width stands in, as in the paper's
    code, so the log never sees 0.
    """
    logits, means, log_scales = params.chunk(3, 1)  # each (B, K, H, W)
    log_scales = log_scales.clamp(min=-7.0)  # the paper's floor: a scale below e^-7 is finer than a bin anyway
    centred = x - means
    inv_scale = torch.exp(-log_scales)
    half_bin = 1.0 / (num_bins - 1)
    plus = inv_scale * (centred + half_bin)
    minus = inv_scale * (centred - half_bin)
    log_cdf_plus = plus - F.softplus(plus)            # log sigma(plus): the mass of value 0, everything below
    log_one_minus_cdf_minus = -F.softplus(minus)      # log(1 - sigma(minus)): the mass of value 255, everything above
    bin_mass = torch.sigmoid(plus) - torch.sigmoid(minus)
    middle = inv_scale * centred
    log_pdf_centre = middle - log_scales - 2.0 * F.softplus(middle)
    log_bin = torch.where(bin_mass > 1e-5, torch.log(bin_mass.clamp(min=1e-12)),
                          log_pdf_centre - math.log((num_bins - 1) / 2))
    edge = 1.0 - half_bin  # halfway between the last two grid values: robust to float rounding of x
    log_component = torch.where(x < -edge, log_cdf_plus, torch.where(x > edge, log_one_minus_cdf_minus, log_bin))
    return torch.logsumexp(log_component + F.log_softmax(logits, 1), 1, keepdim=True)


def draw_bernoulli(logits: torch.Tensor, uniforms: torch.Tensor, temperature: float) -> torch.Tensor:
    """x ~ Bernoulli(sigmoid(logits / T)) by inverse CDF of the given uniforms (first column of `uniforms`)."""
    return (uniforms[:, 0] < torch.sigmoid(logits[:, 0] / temperature)).to(logits.dtype)


def draw_logistic_mixture(params: torch.Tensor, uniforms: torch.Tensor, temperature: float) -> torch.Tensor:
    """One value per row of params (n, 3K), on the 8-bit grid in [-1, 1]: a component from softmax(logits / T) with
    uniforms[:, 0], then a logistic of scale s * T by inverse CDF with uniforms[:, 1], clamped and rounded to a bin."""
    logits, means, log_scales = params.chunk(3, 1)
    cumulative = torch.softmax(logits / temperature, 1).cumsum(1)
    k = (uniforms[:, :1] > cumulative).sum(1, keepdim=True).clamp(max=logits.shape[1] - 1)
    mean, scale = means.gather(1, k)[:, 0], torch.exp(log_scales.gather(1, k)[:, 0].clamp(min=-7.0)) * temperature
    u = uniforms[:, 1].clamp(1e-5, 1 - 1e-5)
    value = (mean + scale * (torch.log(u) - torch.log1p(-u))).clamp(-1.0, 1.0)
    return torch.round((value + 1) * 127.5) / 127.5 - 1  # the same float as data.to_tensor's k / 127.5 - 1


# ------------------------------------------------------------------------------------------------ PixelCNN
def causal_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """(k, k) 0/1 mask: all rows above the centre, and left of the centre in its row, plus the centre for mask B.
    One colour channel, so the paper's R -> G -> B channel groups do not arise."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    mask = torch.zeros(kernel_size, kernel_size)
    centre = kernel_size // 2
    mask[:centre] = 1
    mask[centre, :centre + (mask_type == "B")] = 1
    return mask


class MaskedConv2d(nn.Conv2d):
    """A k x k 'same' convolution whose weights are multiplied by a causal mask (A: no centre tap; B: centre tap)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.mask_type = mask_type
        # Not persistent: a function of the config, so checkpoints hold learned weights only
        self.register_buffer("mask", causal_mask(kernel_size, mask_type), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)

    def at(self, padded: torch.Tensor, r: int, c: int) -> torch.Tensor:
        """Output (B, C_out) at pixel (r, c) alone, from an input padded by k // 2 on every side: what a raster
        sampler computes per pixel instead of the whole map."""
        k = self.kernel_size[0]
        patch = padded[:, :, r:r + k, c:c + k].reshape(padded.shape[0], -1)  # (B, C_in * k * k)
        return F.linear(patch, (self.weight * self.mask).flatten(1), self.bias)


class ResidualBlock(nn.Module):
    """The PixelCNN block of the PixelRNN paper's figure 5: 2h -> ReLU, 1x1 -> h -> ReLU, 3x3 mask B -> h -> ReLU,
    1x1 -> 2h, added to the input."""

    def __init__(self, hidden_channels: int):
        super().__init__()
        h = hidden_channels
        self.reduce = nn.Conv2d(2 * h, h, 1)
        self.conv = MaskedConv2d(h, h, 3, "B")
        self.expand = nn.Conv2d(h, 2 * h, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.conv(F.relu(self.reduce(F.relu(x))))
        return x + self.expand(F.relu(t))


def _linear_1x1(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution applied to per-pixel feature vectors (B, C_in) -> (B, C_out)."""
    return F.linear(x, conv.weight.flatten(1), conv.bias)


class PixelCNN(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """{0, 1} image (B, 1, H, W) -> Bernoulli logits (B, 1, H, W); logit (r, c) depends only on pixels before it."""

    likelihood = "bernoulli"

    def __init__(
        self,
        hidden_channels: int = 32,   # h: the residual stream is 2h wide, the 3x3 mask-B convs h (the paper: h = 128+)
        num_layers: int = 8,         # residual blocks after the 7x7 mask-A conv (the paper's MNIST model: ~15 layers)
        output_channels: int = 64,   # width of the two 1x1 ReLU layers before the logits
        image_size: int = 28,        # side in pixels; fully convolutional, this is what it was trained on
    ):
        super().__init__()
        self.image_size, self.num_classes = image_size, 0
        h = hidden_channels
        self.input_conv = MaskedConv2d(1, 2 * h, 7, "A")  # (B, 1, H, W) -> (B, 2h, H, W), never sees x_rc
        self.blocks = nn.ModuleList(ResidualBlock(h) for _ in range(num_layers))
        self.head1 = nn.Conv2d(2 * h, output_channels, 1)  # 1x1 convolutions mix channels only: causality kept
        self.head2 = nn.Conv2d(output_channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.input_conv(x)
        for block in self.blocks:
            features = block(features)
        return self.head2(F.relu(self.head1(F.relu(features))))  # (B, 2h, H, W) -> (B, 1, H, W) logits

    def nll_map(self, x: torch.Tensor) -> torch.Tensor:
        """-log p(x_rc | x_<rc) in nats, (B, 1, H, W), for x in {0, 1}."""
        return bernoulli_nll(self(x), x)

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """-log p(x) in nats per image, (B,): exact, the sum of the per-pixel conditionals."""
        return self.nll_map(x).flatten(1).sum(1)

    def raster_cache(self, n: int, labels: torch.Tensor | None = None) -> "PixelCNNCache":
        return PixelCNNCache(self, n)


class PixelCNNCache:
    """Sampling state of a PixelCNN: every masked conv's input map, filled in raster order, so pixel (r, c) costs one
    position per layer instead of a whole image (the caching of Ramachandran et al. 2017, arXiv:1704.06001, at the
    granularity of one pixel). Exact: when (r, c) is computed, every position its kernels read is already final."""

    def __init__(self, model: PixelCNN, n: int):
        p = next(model.parameters())
        s = model.image_size
        self.model = model
        self.x = p.new_zeros(n, 1, s + 6, s + 6)  # the image, padded by 3 for the 7x7 kernel
        self.inner = [p.new_zeros(n, b.conv.in_channels, s + 2, s + 2) for b in model.blocks]  # 3x3 inputs, pad 1

    def step(self, x: torch.Tensor, r: int, c: int) -> torch.Tensor:
        """Logits (n, 1) of pixel (r, c); `x` (n, 1, S, S) holds the image, final at every pixel before (r, c)."""
        m = self.model
        if c == 0 and r > 0:
            self.x[:, :, r + 2, 3:-3] = x[:, :, r - 1]  # the finished row above
        self.x[:, :, r + 3, 3:3 + c] = x[:, :, r, :c]
        a = m.input_conv.at(self.x, r, c)  # (n, 2h)
        for block, buffer in zip(m.blocks, self.inner):
            buffer[:, :, r + 1, c + 1] = F.relu(_linear_1x1(block.reduce, F.relu(a)))
            t = F.relu(block.conv.at(buffer, r, c))
            a = a + _linear_1x1(block.expand, t)
        return _linear_1x1(m.head2, F.relu(_linear_1x1(m.head1, F.relu(a))))


# ------------------------------------------------------------------------------------------------ Gated PixelCNN
def gate(t: torch.Tensor) -> torch.Tensor:
    """tanh(f) * sigmoid(g), the two halves of the channel dimension: the Gated PixelCNN's activation (eq. 2)."""
    f, g = t.chunk(2, 1)
    return torch.tanh(f) * torch.sigmoid(g)


def down_shift(x: torch.Tensor) -> torch.Tensor:
    """Move a map one row down (zeros into the top row): row r then holds what row r - 1 computed. The vertical
    stack at row r has seen the whole of row r (future pixels too); after this shift the horizontal stack gets only
    rows above, which is what removes the blind spot without breaking causality."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


class GatedLayer(nn.Module):
    """One layer of the two stacks (the paper's figure 2). Vertical: a (k//2 + 1) x k convolution over rows r - k//2
    .. r. Horizontal: a 1 x (k//2 + 1) convolution over columns c - k//2 .. c (mask A in the first layer: without c),
    plus the down-shifted vertical features through a 1x1, gated, a 1x1, and a residual connection (after the first)."""

    def __init__(self, in_channels: int, channels: int, kernel_size: int, first: bool, num_classes: int):
        super().__init__()
        k, p = kernel_size, channels
        self.k, self.first = k, first
        self.vertical = nn.Conv2d(in_channels, 2 * p, (k // 2 + 1, k))
        self.horizontal = nn.Conv2d(in_channels, 2 * p, (1, k // 2 + 1))
        mask = torch.ones(1, k // 2 + 1)
        if first:
            mask[0, -1] = 0  # mask A: the first layer must not see the pixel it predicts
        self.register_buffer("horizontal_mask", mask, persistent=False)
        self.vertical_to_horizontal = nn.Conv2d(2 * p, 2 * p, 1)
        self.horizontal_out = nn.Conv2d(p, p, 1)
        # V^T h of eq. 4: one bias per class for the 2p pre-activations of each stack
        self.label_bias = nn.Embedding(num_classes, 4 * p) if num_classes else None

    def forward(self, v: torch.Tensor, h: torch.Tensor, labels: torch.Tensor | None):
        k = self.k
        v_pre = self.vertical(F.pad(v, (k // 2, k // 2, k // 2, 0)))  # (B, C, H, W) -> (B, 2p, H, W)
        h_pre = F.conv2d(F.pad(h, (k // 2, 0, 0, 0)), self.horizontal.weight * self.horizontal_mask,
                         self.horizontal.bias)
        h_pre = h_pre + self.vertical_to_horizontal(down_shift(v_pre))
        if self.label_bias is not None:
            v_bias, h_bias = self.label_bias(labels)[:, :, None, None].chunk(2, 1)
            v_pre, h_pre = v_pre + v_bias, h_pre + h_bias
        h_out = self.horizontal_out(gate(h_pre))
        return gate(v_pre), h_out if self.first else h + h_out


class GatedPixelCNN(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """{0, 1} image (B, 1, H, W) [+ class labels (B,)] -> Bernoulli logits (B, 1, H, W), without a blind spot."""

    likelihood = "bernoulli"

    def __init__(
        self,
        hidden_channels: int = 32,   # p: channels of each stack (its gates have 2p pre-activations)
        num_layers: int = 8,         # gated layers, the first with mask A (the paper: 15 for CIFAR-10 and ImageNet)
        kernel_size: int = 3,        # k of the layers after the first: vertical (k//2 + 1) x k, horizontal 1 x (k//2 + 1)
        first_kernel_size: int = 7,  # k of the first layer (the PixelCNN's 7x7 mask-A receptive field)
        output_channels: int = 64,   # width of the two 1x1 ReLU layers before the logits
        num_classes: int = 10,       # class-conditional on this many labels; 0 = unconditional
        image_size: int = 28,        # side in pixels; fully convolutional, this is what it was trained on
    ):
        super().__init__()
        self.image_size, self.num_classes = image_size, num_classes
        self.layers = nn.ModuleList(
            GatedLayer(1 if i == 0 else hidden_channels, hidden_channels, first_kernel_size if i == 0 else kernel_size,
                       i == 0, num_classes) for i in range(num_layers))
        self.head1 = nn.Conv2d(hidden_channels, output_channels, 1)
        self.head2 = nn.Conv2d(output_channels, 1, 1)

    def _labels(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
        if self.num_classes and labels is None:
            raise ValueError("this GatedPixelCNN is class-conditional: pass labels (B,) in [0, num_classes)")
        return labels.to(x.device).long() if self.num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        labels = self._labels(x, labels)
        v = h = x
        for layer in self.layers:
            v, h = layer(v, h, labels)
        return self.head2(F.relu(self.head1(F.relu(h))))  # only the horizontal stack reaches the output

    def nll_map(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(x_rc | x_<rc[, y]) in nats, (B, 1, H, W). A conditional model without labels uses each image's most
        likely class, argmax_y p(x | y)."""
        if self.num_classes and labels is None:
            labels = self.class_nll(x).argmin(1)
        return bernoulli_nll(self(x, labels), x)

    def class_nll(self, x: torch.Tensor) -> torch.Tensor:
        """-log p(x | y) for every class y, (B, num_classes): one forward pass per class."""
        ys = torch.arange(self.num_classes, device=x.device)
        return torch.stack([bernoulli_nll(self(x, y.expand(len(x))), x).flatten(1).sum(1) for y in ys], 1)

    def nll(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(x) in nats per image (B,). With labels: -log p(x | y). A conditional model without labels gives the
        exact marginal -log sum_y p(y) p(x | y) under a uniform p(y), the number comparable to unconditional models."""
        if self.num_classes and labels is None:
            return math.log(self.num_classes) - torch.logsumexp(-self.class_nll(x), 1)
        return bernoulli_nll(self(x, labels), x).flatten(1).sum(1)

    def raster_cache(self, n: int, labels: torch.Tensor | None = None) -> "GatedCache":
        return GatedCache(self, n, labels)


class GatedCache:
    """Sampling state of a Gated PixelCNN. The vertical stack of row r - 1 is computed once, when that row is
    finished (it reads whole rows); the horizontal stack, per pixel, at one position per layer. Exact."""

    def __init__(self, model: GatedPixelCNN, n: int, labels: torch.Tensor | None):
        p = next(model.parameters())
        s = model.image_size
        self.model = model
        labels = model._labels(p, labels)
        self.biases = [layer.label_bias(labels).chunk(2, 1) if layer.label_bias is not None
                       else (p.new_zeros(1, layer.vertical.out_channels),) * 2
                       for layer in model.layers]  # (v bias, h bias), each (n or 1, 2p)
        # vertical-stack inputs, padded k//2 above and on both sides: layer 0 reads the image, layer i > 0 layer i-1
        self.v_in = [p.new_zeros(n, layer.vertical.in_channels, s + layer.k // 2, s + 2 * (layer.k // 2))
                     for layer in model.layers]
        # horizontal-stack inputs of the current row, padded k//2 on the left
        self.h_in = [p.new_zeros(n, layer.horizontal.in_channels, 1, s + layer.k // 2) for layer in model.layers]
        # each layer's contribution of the row above to the horizontal stack: V->H(down_shift(v_pre)) at row 0
        self.from_above = [layer.vertical_to_horizontal.bias[None, :, None].expand(n, -1, s) for layer in model.layers]

    def _vertical_row(self, x: torch.Tensor, r: int) -> None:
        """The vertical stack's row r in every layer, from the finished image row r; sets the from_above maps."""
        first = self.model.layers[0]
        self.v_in[0][:, :, r + first.k // 2, first.k // 2:first.k // 2 + x.shape[-1]] = x[:, :, r]
        for i, layer in enumerate(self.model.layers):
            k = layer.k
            rows = self.v_in[i][:, :, r:r + k // 2 + 1]  # input rows r - k//2 .. r
            v_pre = layer.vertical(rows)[:, :, 0]  # (n, 2p, W)
            self.from_above[i] = _linear_1x1(layer.vertical_to_horizontal, v_pre.transpose(1, 2)).transpose(1, 2)
            if i + 1 < len(self.model.layers):
                nxt = self.model.layers[i + 1].k // 2
                self.v_in[i + 1][:, :, r + nxt, nxt:-nxt or None] = gate(v_pre + self.biases[i][0][:, :, None])

    def step(self, x: torch.Tensor, r: int, c: int) -> torch.Tensor:
        """Logits (n, 1) of pixel (r, c); `x` (n, 1, S, S) holds the image, final at every pixel before (r, c)."""
        layers = self.model.layers
        if c == 0:
            if r > 0:
                self._vertical_row(x, r - 1)
            for buffer in self.h_in:
                buffer.zero_()
        k0 = layers[0].k // 2
        self.h_in[0][:, :, 0, k0:k0 + c] = x[:, :, r, :c]
        h = None
        for i, layer in enumerate(layers):
            k = layer.k // 2
            patch = self.h_in[i][:, :, 0, c:c + k + 1].reshape(len(x), -1)  # columns c - k//2 .. c
            h_pre = F.linear(patch, (layer.horizontal.weight * layer.horizontal_mask).flatten(1), layer.horizontal.bias)
            h_pre = h_pre + self.from_above[i][:, :, c] + self.biases[i][1]
            h_out = _linear_1x1(layer.horizontal_out, gate(h_pre))
            h = h_out if layer.first else self.h_in[i][:, :, 0, c + k] + h_out
            if i + 1 < len(layers):
                self.h_in[i + 1][:, :, 0, c + layers[i + 1].k // 2] = h
        m = self.model
        return _linear_1x1(m.head2, F.relu(_linear_1x1(m.head1, F.relu(h))))


# ------------------------------------------------------------------------------------------------ PixelCNN++
def concat_elu(x: torch.Tensor) -> torch.Tensor:
    """ELU of x and of -x side by side (PixelCNN++'s nonlinearity): both signs carry information, 2C channels."""
    return F.elu(torch.cat([x, -x], 1))


class DownShiftedConv2d(nn.Module):
    """A (kh, kw) convolution padded so output (r, c) sees input rows r - kh + 1 .. r, columns c - kw//2 .. c + kw//2
    (PixelCNN++'s down_shifted_conv2d); with `shift` the output moves one row down, so it sees rows above only."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size=(2, 3), stride: int = 1, shift: bool = False):
        super().__init__()
        self.kernel_size, self.shift = kernel_size, shift
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size
        x = self.conv(F.pad(x, ((kw - 1) // 2, (kw - 1) // 2, kh - 1, 0)))
        return down_shift(x) if self.shift else x


class DownRightShiftedConv2d(nn.Module):
    """A (kh, kw) convolution seeing rows r - kh + 1 .. r and columns c - kw + 1 .. c (PixelCNN++'s
    down_right_shifted_conv2d); with `shift` the output moves one column right, so it sees columns left of c only."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size=(2, 2), stride: int = 1, shift: bool = False):
        super().__init__()
        self.kernel_size, self.shift = kernel_size, shift
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size
        x = self.conv(F.pad(x, (kw - 1, 0, kh - 1, 0)))
        return F.pad(x, (1, 0, 0, 0))[..., :-1] if self.shift else x


class DownShiftedDeconv2d(nn.Module):
    """x2 upsampling that keeps the down-shifted receptive field (PixelCNN++'s down_shifted_deconv2d)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size=(2, 3)):
        super().__init__()
        self.kernel_size = kernel_size
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, 2, output_padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size
        x = self.deconv(x)  # (B, C, h, w) -> (B, C, 2h + kh - 1, 2w + kw - 1), cropped back to (2h, 2w)
        return x[:, :, :x.shape[2] - kh + 1, (kw - 1) // 2:x.shape[3] - (kw - 1) // 2]


class DownRightShiftedDeconv2d(nn.Module):
    """x2 upsampling that keeps the down-right-shifted receptive field (PixelCNN++'s down_right_shifted_deconv2d)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size=(2, 2)):
        super().__init__()
        self.kernel_size = kernel_size
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, 2, output_padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size
        x = self.deconv(x)
        return x[:, :, :x.shape[2] - kh + 1, :x.shape[3] - kw + 1]


class GatedResnet(nn.Module):
    """PixelCNN++'s gated ResNet block: x + a * sigmoid(b), [a, b] = conv(concat_elu(conv(concat_elu(x)) + skip))."""

    def __init__(self, channels: int, conv, skip_inputs: int = 0, dropout: float = 0.0):
        super().__init__()
        self.conv_in = conv(2 * channels, channels)
        self.skip = nn.Conv2d(2 * skip_inputs * channels, channels, 1) if skip_inputs else None
        self.dropout = nn.Dropout2d(dropout) if dropout else nn.Identity()
        self.conv_out = conv(2 * channels, 2 * channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        t = self.conv_in(concat_elu(x))
        if skip is not None:
            t = t + self.skip(concat_elu(skip))  # the other stream, or the up pass's features at this depth
        a, b = self.conv_out(self.dropout(concat_elu(t))).chunk(2, 1)
        return x + a * torch.sigmoid(b)


class PixelCNNpp(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """8-bit grey image in [-1, 1] (B, 1, H, W) -> discretized logistic mixture parameters (B, 3K, H, W)."""

    likelihood = "logistic_mixture"

    def __init__(
        self,
        hidden_channels: int = 32,   # filters of both streams at every resolution (the paper: 160)
        num_resnets: int = 1,        # gated ResNet blocks per resolution in the up pass; +1 in the down pass (paper: 5)
        num_mixtures: int = 5,       # logistic components per pixel (the paper: 10, for RGB)
        dropout: float = 0.0,        # dropout inside the blocks (the paper: 0.5 on CIFAR-10; this model underfits)
        image_size: int = 28,        # side in pixels, divisible by 4 (two x2 downsamplings: 28 -> 14 -> 7)
    ):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be divisible by 4 (two x2 downsamplings), got {image_size}")
        self.image_size, self.num_classes, self.num_mixtures = image_size, 0, num_mixtures
        self.row_multiple = 4  # forward on a prefix of rows is exact when it keeps the stride-2 grid: a multiple of 4
        f, n = hidden_channels, num_resnets
        down = lambda i, o: DownShiftedConv2d(i, o)  # noqa: E731 - the "u" stream: everything above
        down_right = lambda i, o: DownRightShiftedConv2d(i, o)  # noqa: E731 - the "ul" stream: above and to the left
        # the input gets a channel of ones, so zero padding (outside the image) differs from black pixels
        self.u_init = DownShiftedConv2d(2, f, (2, 3), shift=True)
        self.ul_init_above = DownShiftedConv2d(2, f, (1, 3), shift=True)
        self.ul_init_left = DownRightShiftedConv2d(2, f, (2, 1), shift=True)
        self.up_u = nn.ModuleList(nn.ModuleList(GatedResnet(f, down, 0, dropout) for _ in range(n)) for _ in range(3))
        self.up_ul = nn.ModuleList(nn.ModuleList(GatedResnet(f, down_right, 1, dropout) for _ in range(n))
                                   for _ in range(3))
        self.downsize_u = nn.ModuleList(DownShiftedConv2d(f, f, (2, 3), stride=2) for _ in range(2))
        self.downsize_ul = nn.ModuleList(DownRightShiftedConv2d(f, f, (2, 2), stride=2) for _ in range(2))
        self.down_u = nn.ModuleList(nn.ModuleList(GatedResnet(f, down, 1, dropout) for _ in range(n + (i > 0)))
                                    for i in range(3))
        self.down_ul = nn.ModuleList(nn.ModuleList(GatedResnet(f, down_right, 2, dropout) for _ in range(n + (i > 0)))
                                     for i in range(3))
        self.upsize_u = nn.ModuleList(DownShiftedDeconv2d(f, f) for _ in range(2))
        self.upsize_ul = nn.ModuleList(DownRightShiftedDeconv2d(f, f) for _ in range(2))
        self.out = nn.Conv2d(f, 3 * num_mixtures, 1)  # mixture logits, means, log scales

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x, torch.ones_like(x)], 1)
        u_list = [self.u_init(x)]
        ul_list = [self.ul_init_above(x) + self.ul_init_left(x)]
        for i in range(3):  # up pass: 28 -> 14 -> 7, every intermediate kept for the down pass
            for block_u, block_ul in zip(self.up_u[i], self.up_ul[i]):
                u_list.append(block_u(u_list[-1]))
                ul_list.append(block_ul(ul_list[-1], u_list[-1]))
            if i < 2:
                u_list.append(self.downsize_u[i](u_list[-1]))
                ul_list.append(self.downsize_ul[i](ul_list[-1]))
        u, ul = u_list.pop(), ul_list.pop()
        for i in range(3):  # down pass: 7 -> 14 -> 28, consuming the up pass's maps in reverse
            for block_u, block_ul in zip(self.down_u[i], self.down_ul[i]):
                u = block_u(u, u_list.pop())
                ul = block_ul(ul, torch.cat([u, ul_list.pop()], 1))
            if i < 2:
                u, ul = self.upsize_u[i](u), self.upsize_ul[i](ul)
        return self.out(F.elu(ul))

    def nll_map(self, x: torch.Tensor) -> torch.Tensor:
        """-log P(x_rc | x_<rc) in nats, (B, 1, H, W), for 8-bit x in [-1, 1]."""
        return -discretized_logistic_mixture_log_prob(x, self(x))

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """-log P(x) in nats per image, (B,); bits/dim = nll / (H * W * ln 2)."""
        return self.nll_map(x).flatten(1).sum(1)


# ------------------------------------------------------------------------------------------------ sampling
class PrefixCache:
    """The sampler's fallback for a model without `raster_cache`: forward() on the rows up to the current one
    (rounded up to `model.row_multiple`, default 1). Exact for any raster-causal model whose forward works on fewer
    rows: output row r never depends on rows below it."""

    def __init__(self, model: nn.Module, labels: torch.Tensor | None):
        self.model, self.labels = model, labels
        self.multiple = getattr(model, "row_multiple", 1)
        self.out = None

    def step(self, x: torch.Tensor, r: int, c: int) -> torch.Tensor:
        rows = min(x.shape[2], -(-(r + 1) // self.multiple) * self.multiple)
        prefix = x[:, :, :rows]
        out = self.model(prefix) if self.labels is None else self.model(prefix, self.labels)
        return out[:, :, r, c]


@torch.inference_mode()
def sample(model: nn.Module, n: int, generator: torch.Generator | None = None, temperature: float = 1.0,
           labels: torch.Tensor | None = None, given: torch.Tensor | None = None,
           known_mask: torch.Tensor | None = None, callback=None) -> torch.Tensor:
    """n images (n, 1, S, S) drawn pixel by pixel in raster order: {0, 1} for Bernoulli models, the 8-bit grid in
    [-1, 1] for PixelCNN++. All n samples share every pass.

    temperature > 0 divides the logits (and multiplies the logistic scales): < 1 sharper, > 1 noisier.
    labels (n,) for a class-conditional model. given (1 or n, 1, S, S) with known_mask (same shape, bool): those
    pixels are copied, never drawn, and the rest is drawn conditioned on them (completion).
    callback(r, x) after each finished row r, with the partial image (for streaming; see also sample_rows).
    The uniforms are one CPU draw of (n, 2, S, S) from `generator`, so a seed gives the same images on any device
    and whatever the model's speed-ups.
    """
    for r, x in sample_rows(model, n, generator, temperature, labels, given, known_mask):
        if callback is not None:
            callback(r, x)
    return x


@torch.inference_mode()
def sample_rows(model: nn.Module, n: int, generator: torch.Generator | None = None, temperature: float = 1.0,
                labels: torch.Tensor | None = None, given: torch.Tensor | None = None,
                known_mask: torch.Tensor | None = None):
    """`sample` as a generator: yields (r, x) after each finished row r; x is the canvas itself (rows > r still
    hold zeros or the given pixels), so copy it to keep it. The last yield holds the finished images."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    weight = next(model.parameters())
    device, dtype, s = weight.device, weight.dtype, model.image_size
    uniforms = torch.rand(n, 2, s, s, generator=generator).to(device, dtype)
    x = torch.zeros(n, 1, s, s, device=device, dtype=dtype)
    known = None
    if given is not None:
        known = known_mask.to(device).bool().expand(n, 1, s, s)
        x = torch.where(known, given.to(device, dtype).expand(n, 1, s, s), x)
    if labels is not None:
        labels = labels.to(device).long()
    cache = model.raster_cache(n, labels) if hasattr(model, "raster_cache") else PrefixCache(model, labels)
    likelihood = getattr(model, "likelihood", "bernoulli")
    draw = draw_logistic_mixture if likelihood == "logistic_mixture" else draw_bernoulli
    for r in range(s):
        for c in range(s):
            params = cache.step(x, r, c)  # (n, P): pixel (r, c)'s distribution given everything before it
            drawn = draw(params, uniforms[:, :, r, c], temperature)
            x[:, 0, r, c] = drawn if known is None else torch.where(known[:, 0, r, c], x[:, 0, r, c], drawn)
        yield r, x
